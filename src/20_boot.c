/* ==== [20] BOOT: declarative containers, up, down, init as PID 1 ====
 * One file per container, DIR/NAME.conf (default /etc/minirun/containers, or
 * $MINIRUN_CONFIG_DIR): `key = value` lines, '#' comments. This section parses
 * and orders the declarations, does PID 1's chores (mounts, power off) and
 * runs `up`, `down` and `init` ([21] parses their options). A declaration's keys are
 * the options of `run -d` (struct ctr_opts): its containers go through the
 * same spec and back end ([19b]). A container made by `up` carries the labels
 * minirun.boot=1, minirun.boot.dir=DIR and minirun.boot.hash=<sha256 of the
 * normalized declaration>: an unchanged declaration leaves it alone. */
#if MINIRUN_WITH_INIT
#include <sys/prctl.h>
#include <sys/reboot.h>

#define BOOT_DEFAULT_DIR "/etc/minirun/containers"
#define BOOT_MAX_FILE (64u << 10)

enum boot_kind { BOOT_STR, BOOT_LIST, BOOT_BOOL, BOOT_NUM };

/* A declaration: its keys are the options of `run -d` (o, handed to
 * spec_from_opts as they are), but for archive, depends_on and order, and
 * the entrypoint and command (words, split when the container starts). */
struct boot_decl {
	char *text;                        /* the file, cut into keys and values */
	const char *archive, *command, *entrypoint;
	/* updates: how the image is kept current (not part of the hash: changing
	 * them does not replace the container) */
	const char *pull, *pull_interval, *pull_rate, *rollout_wait;
	int64_t interval_ns, wait_ns;      /* parsed pull_interval, rollout_wait */
	uint64_t rate;                     /* parsed pull_rate, bytes/s */
	int ok, placed;
	long order;
	/* the small fields above at one-byte offsets, the options after */
	struct ctr_list depends_on;
	struct ctr_opts o;
	char name[CTR_NAME_MAX];           /* the arrays last: most fields at one-byte offsets */
	char file[MINIRUN_MAX_PATH];
	char hash[MR_DIGEST_LEN + 1];
};

static const struct boot_key {
	const char *name;
	unsigned char kind;
	unsigned short off;
} boot_keys[] = {
#define BK(n, k, f) { n, k, offsetof(struct boot_decl, f) }
	BK("image", BOOT_STR, o.image), BK("archive", BOOT_STR, archive),
	BK("command", BOOT_STR, command), BK("entrypoint", BOOT_STR, entrypoint),
	BK("env", BOOT_LIST, o.env), BK("volume", BOOT_LIST, o.volume),
	BK("mount", BOOT_LIST, o.mount), BK("tmpfs", BOOT_LIST, o.tmpfs),
	BK("port", BOOT_LIST, o.publish), BK("label", BOOT_LIST, o.label),
	BK("network", BOOT_STR, o.network), BK("restart", BOOT_STR, o.restart),
	BK("memory", BOOT_STR, o.memory), BK("cpus", BOOT_STR, o.cpus),
	BK("pids_limit", BOOT_STR, o.pids_limit), BK("user", BOOT_STR, o.user),
	BK("workdir", BOOT_STR, o.workdir), BK("hostname", BOOT_STR, o.hostname),
	BK("stop_timeout", BOOT_STR, o.stop_timeout), BK("stop_signal", BOOT_STR, o.stop_signal),
	BK("read_only", BOOT_BOOL, o.read_only), BK("init", BOOT_BOOL, o.init),
	BK("depends_on", BOOT_LIST, depends_on), BK("order", BOOT_NUM, order),
	BK("device", BOOT_LIST, o.device), BK("sysctl", BOOT_LIST, o.sysctl),
	BK("ulimit", BOOT_LIST, o.ulimit), BK("group_add", BOOT_LIST, o.group_add),
	BK("shm_size", BOOT_STR, o.shm_size), BK("health_cmd", BOOT_STR, o.health_cmd),
	BK("health_interval", BOOT_STR, o.health_interval),
	BK("health_timeout", BOOT_STR, o.health_timeout),
	BK("health_retries", BOOT_STR, o.health_retries), BK("log", BOOT_LIST, o.log_opt),
	BK("network_alias", BOOT_LIST, o.network_alias),
	BK("pull", BOOT_STR, pull), BK("pull_interval", BOOT_STR, pull_interval),
	BK("pull_rate", BOOT_STR, pull_rate), BK("rollout_wait", BOOT_STR, rollout_wait),
#undef BK
};

/* The lists are the BOOT_LIST keys' (boot_set fills no others). */
static void boot_decl_free(struct boot_decl *d)
{
	const struct boot_key *k;
	free(d->text);
	for (k = boot_keys; k < boot_keys + sizeof boot_keys / sizeof *boot_keys; k++)
		if (k->kind == BOOT_LIST)
			ctr_list_free((struct ctr_list *)((char *)d + k->off));
	memset(d, 0, sizeof *d);
}

static char *boot_trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && strchr(" \t\r", e[-1]))
		*--e = 0;
	return s;
}

/* Store one `key = value` (line `ln`) into d; the normalized form goes to norm. */
static int boot_set(struct boot_decl *d, char *key, char *val, int ln, struct mr_buf *norm,
		    struct mr_err *err)
{
	const struct boot_key *k;
	char *p = (char *)d;
	const char *why = NULL;
	uint64_t u;
	for (k = boot_keys; k < boot_keys + sizeof boot_keys / sizeof *boot_keys; k++)
		if (!strcmp(k->name, key))
			break;
	if (k == boot_keys + sizeof boot_keys / sizeof *boot_keys)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: unknown key '%s'", d->file, ln, key);
	if (!*val && k->kind != BOOT_STR) {
		why = "empty value";
		goto bad;
	}
	switch (k->kind) {
	case BOOT_STR:
		if (*(const char **)(p + k->off)) {
			why = "given twice";
			goto bad;
		}
		*(const char **)(p + k->off) = val;
		break;
	case BOOT_LIST:
		if (!strcmp(key, "depends_on")) {
			/* names separated by blanks or commas */
			char *s = val, *w;
			while ((w = strsep(&s, " ,\t")) != NULL) {
				const char *cond = strchr(w, ':');
				if (cond && strcmp(cond, ":healthy"))
					return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key 'depends_on': "
							  "unknown condition '%s' (NAME or NAME:healthy)",
							  d->file, ln, cond + 1);
				if (*w)
					ctr_list_add(&d->depends_on, w);
			}
		} else {
			ctr_list_add((struct ctr_list *)(p + k->off), val);
		}
		break;
	case BOOT_BOOL:
		if (util_one_of(val, "true\0yes\0" "1"))
			*(int *)(p + k->off) = 1;
		else if (!util_one_of(val, "false\0no\0" "0"))
			why = "not a boolean: ";
		break;
	case BOOT_NUM:
		if (util_parse_u64(val, &u) < 0 || u > 1000000)
			why = "not a number: ";
		else
			d->order = (long)u;
		break;
	}
	if (why)
		goto bad;
	if (strncmp(key, "pull", 4) && strcmp(key, "rollout_wait"))
		mr_buf_printf(norm, "%s=%s\n", key, val);
	return 0;
bad:    /* the value after the reasons that end in ": " */
	return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key '%s': %s%s", d->file, ln, key, why,
			  util_ends_with(why, " ") ? val : "");
}

/* A duration: Docker's ("30s", "1h") or a number of seconds. */
static int boot_duration(const char *s, int64_t *ns)
{
	uint64_t u;
	if (util_parse_u64(s, &u) == 0 && u <= 100000000) {
		*ns = (int64_t)u * 1000000000LL;
		return 0;
	}
	return util_parse_duration(s, ns);
}

/* The update keys: pull = never|missing|always, pull_interval (init's timer
 * for always), pull_rate (bytes/s), rollout_wait (how long a new container
 * without a health check must stay up to be kept). */
static int boot_check_update(struct boot_decl *d, struct mr_err *err)
{
	if (d->pull && !util_one_of(d->pull, "never\0missing\0always"))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'pull': '%s' is not never, missing "
				  "or always", d->file, d->pull);
	if (d->pull_interval && (boot_duration(d->pull_interval, &d->interval_ns) < 0 ||
				 d->interval_ns < 1000000000LL))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'pull_interval': not a duration of "
				  "at least 1s: %s", d->file, d->pull_interval);
	if (d->pull_interval && (!d->pull || strcmp(d->pull, "always")))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'pull_interval' needs pull = always",
				  d->file);
	if (d->pull_rate && (util_parse_size(d->pull_rate, &d->rate) < 0 || d->rate < 1024))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'pull_rate': not a size per second "
				  "of at least 1k: %s", d->file, d->pull_rate);
	if (d->rollout_wait && boot_duration(d->rollout_wait, &d->wait_ns) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'rollout_wait': not a duration: %s",
				  d->file, d->rollout_wait);
	return 0;
}

/* Parse the text of DIR/NAME.conf (taken over by d). */
static int boot_parse(struct boot_decl *d, char *text, struct mr_err *err)
{
	struct mr_buf norm;
	char *s, *line;
	const char *pol;
	int ln = 0, rc = -1, max;
	memset(&norm, 0, sizeof norm);
	d->text = text;
	mr_buf_printf(&norm, "name=%s\n", d->name);
	for (s = text; (line = strsep(&s, "\n")) != NULL;) {
		char *eq, *key;
		ln++;
		line = boot_trim(line);
		if (!*line || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: expected 'key = value', got: %.40s",
				   d->file, ln, line);
			goto out;
		}
		*eq = 0;
		key = boot_trim(line);
		if (boot_set(d, key, boot_trim(eq + 1), ln, &norm, err) < 0)
			goto out;
	}
	if (!d->o.image || !*d->o.image) {
		mr_err_set(err, MR_EINVAL_INPUT, "%s: missing key 'image'", d->file);
		goto out;
	}
	if (d->o.restart && ctr_restart_parse(d->o.restart, &pol, &max) < 0) {
		mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'restart': invalid restart policy: %s",
			   d->file, d->o.restart);
		goto out;
	}
	if (boot_check_update(d, err) < 0)
		goto out;
	mr_digest_buf(norm.data, norm.len, d->hash);
	d->ok = 1;
	rc = 0;
out:
	mr_buf_free(&norm);
	return rc;
}

/* Split a command: a JSON array of strings, or shell-like words ('...', "...",
 * backslash). The words are allocated into `own` (freed by the caller). */
static int boot_words(const char *s, struct ctr_list *out, struct ctr_list *own, struct mr_err *err)
{
	char *w;
	size_t n;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '[') {
		struct mr_json_doc doc;
		const struct mr_json *v;
		if (mr_json_parse(&doc, s, strlen(s), err) < 0)
			return -1;
		if (doc.root->type != MR_JSON_ARRAY) {
			mr_json_free(&doc);
			return mr_err_set(err, MR_EINVAL_INPUT, "not a JSON array of strings");
		}
		for (v = doc.root->child; v; v = v->next) {
			if (!mr_json_str(v)) {
				mr_json_free(&doc);
				return mr_err_set(err, MR_EINVAL_INPUT, "not a JSON array of strings");
			}
			w = util_xstrdup(mr_json_str(v));
			ctr_list_add(own, w);
			ctr_list_add(out, w);
		}
		mr_json_free(&doc);
		return 0;
	}
	while (*s) {
		char q = 0;
		w = util_xmalloc(strlen(s) + 1);
		ctr_list_add(own, w);
		for (n = 0; *s && (q || (*s != ' ' && *s != '\t')); s++) {
			if (q && *s == q)
				q = 0;
			else if (!q && (*s == '\'' || *s == '"'))
				q = *s;
			else if (*s == '\\' && q != '\'' && s[1])
				w[n++] = *++s;
			else
				w[n++] = *s;
		}
		if (q)
			return mr_err_set(err, MR_EINVAL_INPUT, "unterminated quote");
		w[n] = 0;
		ctr_list_add(out, w);
		while (*s == ' ' || *s == '\t')
			s++;
	}
	return 0;
}

static int boot_decl_cmp(const void *a, const void *b)
{
	const struct boot_decl *x = a, *y = b;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The declaration of a name; a depends_on word counts up to its ":healthy". */
static struct boot_decl *boot_find(struct boot_decl *d, size_t n, const char *name)
{
	size_t i, len = strcspn(name, ":");
	for (i = 0; i < n; i++)
		if (!strncmp(d[i].name, name, len) && !d[i].name[len])
			return &d[i];
	return NULL;
}

/* Start order: by `order`, then each after what it depends_on, then by name.
 * Fills idx[] with n indexes; a cycle is broken (with a warning) at the first
 * declaration in (order, name). */
static void boot_order(struct boot_decl *d, size_t n, size_t *idx)
{
	size_t k = 0, i, j;
	qsort(d, n, sizeof *d, boot_decl_cmp);
	for (i = 0; i < n; i++)
		d[i].placed = 0;
	while (k < n) {
		size_t pick = n;
		for (i = 0; i < n && pick == n; i++) {
			if (d[i].placed)
				continue;
			for (j = 0; j < d[i].depends_on.n; j++) {
				struct boot_decl *dep = boot_find(d, n, d[i].depends_on.v[j]);
				if (dep && !dep->placed && dep != &d[i])
					break;
			}
			if (j == d[i].depends_on.n)
				pick = i;
		}
		if (pick == n) {
			for (pick = 0; d[pick].placed; pick++) {}
			fprintf(stderr, "minirun: %s: dependency cycle, starting it anyway\n",
				d[pick].file);
		}
		d[pick].placed = 1;
		idx[k++] = pick;
	}
}

/* Read every DIR/NAME.conf. Malformed ones are reported and kept with ok = 0
 * (their container is neither started nor removed). Returns the count, -1 if
 * DIR cannot be read. */
static ssize_t boot_load_dir(const char *dir, struct boot_decl **out, int *bad, struct mr_err *err)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	struct boot_decl *d = NULL;
	size_t n = 0;
	*bad = 0;
	if (!dp)
		return mr_err_sys(err, "boot folder %s", dir);
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);
		struct boot_decl *x;
		struct mr_err e;
		struct mr_buf text = { 0 };
		if (len <= 5 || de->d_name[0] == '.' || !util_ends_with(de->d_name, ".conf"))
			continue;
		d = util_xrealloc(d, (n + 1) * sizeof *d);
		x = &d[n++];
		memset(x, 0, sizeof *x);
		util_scopyn(x->name, sizeof x->name, de->d_name, len - 5);
		snprintf(x->file, sizeof x->file, "%s/%s", dir, de->d_name);
		e.msg[0] = 0;
		if (!ctr_name_valid(x->name)) {
			mr_err_set(&e, MR_EINVAL_INPUT, "%s: invalid container name '%s'", x->file, x->name);
		} else if (mr_read_file(AT_FDCWD, x->file, &text, BOOT_MAX_FILE, &e) == 0) {
			mr_buf_append(&text, "", 1);
			boot_parse(x, text.data, &e);
		} else {
			mr_buf_free(&text);
		}
		if (!x->ok) {
			fprintf(stderr, "minirun: %s\n", e.msg);
			(*bad)++;
		}
	}
	closedir(dp);
	*out = d;
	return (ssize_t)n;
}

/* ---- PID 1 ---- */

#if MINIRUN_WITH_CGROUPS
/* Make the controllers containers' limits use available in the subtree they
 * get folders in (/sys/fs/cgroup/minirun), once at boot: `info` then shows
 * them, and the first `run --memory` finds them on. */
static void boot_cgroups(void)
{
	if (cg_version() != 2)
		return;
	mkdir(CG_ROOT "/minirun", 0755);
	cg_v2_enable();
}
#else
static void boot_cgroups(void)
{
}
#endif

/* Mount what a bare initramfs lacks; only as PID 1 (on a running system /tmp
 * may be a plain folder that must not be hidden under a tmpfs). */
static void boot_mounts(void)
{
	static const struct { const char *dir, *type, *opts; } m[] = {
		{ "/proc", "proc", NULL }, { "/sys", "sysfs", NULL },
		{ "/dev", "devtmpfs", "mode=0755" }, { "/run", "tmpfs", "mode=0755" },
		{ "/tmp", "tmpfs", "mode=1777" }, { "/sys/fs/cgroup", "cgroup2", NULL },
	};
	char up[32];
	struct stat parent, st;
	size_t i;
	for (i = 0; i < sizeof m / sizeof *m; i++) {
		mkdir(m[i].dir, 0755);
		/* A folder on its parent's device is not a mount point yet. The
		 * parent, not "/": /sys/fs/cgroup is a folder of the sysfs just
		 * mounted, whose device differs from the root's. */
		snprintf(up, sizeof up, "%s/..", m[i].dir);
		if (stat(m[i].dir, &st) == 0 && stat(up, &parent) == 0 && st.st_dev != parent.st_dev)
			continue;
		if (mount(m[i].type, m[i].dir, m[i].type, MS_NOSUID | (i == 2 ? 0 : MS_NODEV),
			  m[i].opts) < 0)
			fprintf(stderr, "minirun: init: mount %s: %s\n", m[i].dir, strerror(errno));
	}
	boot_cgroups();
}

/* pivot_root(2) refuses the initramfs' rootfs (the first mount has no parent
 * to move it under), and every container start pivots. So PID 1 on a ramfs or
 * tmpfs root first stands on a recursive bind mount of "/" moved over "/", as
 * switch_root moves a new root there: same files, nothing copied, no memory
 * spent, and the mounts made so far come along. The folder that held the bind
 * is removed again. Harmless on a tmpfs that already is a proper mount. */
static void boot_leave_rootfs(void)
{
	static const char spot[] = "/.minirun-root";
	struct statfs sf;
	if (statfs("/", &sf) < 0 || (sf.f_type != RAMFS_MAGIC && sf.f_type != TMPFS_MAGIC))
		return;
	if (mkdir(spot, 0700) < 0 && errno != EEXIST)
		goto fail;
	if (mount("/", spot, NULL, MS_BIND | MS_REC, NULL) < 0)
		goto fail;
	if (chdir(spot) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0) {
		int e = errno;
		if (chdir("/") == 0)
			umount2(spot, MNT_DETACH);
		errno = e;
		goto fail;
	}
	if (chdir("/") < 0)
		goto fail;
	rmdir(spot);
	printf("minirun: init: / is the initramfs: running on a bind mount of it\n");
	return;
fail:
	fprintf(stderr, "minirun: init: %s: %s (containers cannot pivot_root from the "
		"initramfs)\n", spot, strerror(errno));
	rmdir(spot);
}

/* Reap every exited child; returns 1 if `watch` was among them. */
static int boot_reap(pid_t watch, int *status)
{
	int s, hit = 0;
	pid_t p;
	while ((p = waitpid(-1, &s, WNOHANG)) > 0)
		if (p == watch) {
			hit = 1;
			if (status)
				*status = s;
		}
	return hit;
}

/* The end of PID 1: everything else gets TERM, then KILL; sync; power off. */
static void __attribute__((noreturn)) boot_halt(int cmd)
{
	int i;
	kill(-1, SIGTERM);
	for (i = 0; i < 20; i++) {
		struct timespec t = { 0, 100000000L };
		boot_reap(0, NULL);
		if (kill(-1, 0) < 0 && errno == ESRCH)
			break;
		nanosleep(&t, NULL);
	}
	kill(-1, SIGKILL);
	boot_reap(0, NULL);
	sync();
	printf("minirun: init: %s\n", cmd == (int)RB_AUTOBOOT ? "rebooting" : "powering off");
	fflush(stdout);
	reboot(cmd);
	for (;;)
		pause();
}
/* ---- up, down, init: the store brought in line with the declarations ----
 * [21] parses the options and opens the store; a failure here is printed
 * where it happens (one line naming the container or the file). */

/* What up, down and init work with: the open store (NULL: it could not be
 * opened, which the CLI said) and room for an error. */
struct boot_run {
	struct mr_store *st;
	struct mr_err err;
};

#define BOOT_EXIT_FAIL 125                 /* minirun's own failure, as [21]'s */

/* Value of label `key` of a container, or NULL. */
static const char *boot_label(const struct ctr *c, const char *key)
{
	size_t i, k = strlen(key);
	for (i = 0; i < c->labels.n; i++)
		if (!strncmp(c->labels.v[i], key, k) && c->labels.v[i][k] == '=')
			return c->labels.v[i] + k + 1;
	return NULL;
}

static const char *boot_name(const struct ctr *c)
{
	return c->name[0] == '/' ? c->name + 1 : c->name;
}

/* Made by `up` from a file of this folder? */
static int boot_managed(const struct ctr *c, const char *dir)
{
	const char *b = boot_label(c, "minirun.boot"), *d = boot_label(c, "minirun.boot.dir");
	return b && !strcmp(b, "1") && d && !strcmp(d, dir);
}

/* Load the declared archive (a file or an OCI layout folder) when the image
 * is not in the store. */
static int boot_image(struct boot_run *br, struct boot_decl *d)
{
	struct image_db db;
	struct image_load ld;
	struct mr_err ignored;
	struct stat sb;
	int have, fd = -1, rc = -1;
	if (image_db_read(br->st, &db, &ignored) < 0)
		memset(&db, 0, sizeof db);
	have = image_db_find(&db, d->o.image, &ignored) != NULL;
	image_db_free(&db);
	if (have || !d->archive)
		return 0;
	printf("minirun: %s: loading %s\n", d->name, d->archive);
	fflush(stdout);
	memset(&ld, 0, sizeof ld);
	ld.st = br->st;
	ld.source = d->archive;
	ld.quiet = 1;
	ld.dirfd = -1;
	image_platform_host(&ld.platform);
	if (stat(d->archive, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		ld.dirfd = open(d->archive, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ld.open_blob = image_dir_open_blob;
		ld.close_blob = image_dir_close_blob;
	} else {
		fd = open(d->archive, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 && ld.dirfd < 0)
		mr_err_sys(&br->err, "load %s", d->archive);
	else
		rc = image_load(&ld, fd, &br->err);
	if (rc < 0)
		util_print_err(&br->err);
	util_close(fd);
	util_close(ld.dirfd);
	return rc;
}

/* Start a declared container: its options (with the boot labels, and its
 * entrypoint and command split into words) into the spec, then the same back
 * end and start as `run -d`. */
static int boot_start(struct boot_run *br, struct boot_decl *d, const char *dir)
{
	struct ctr_opts *o = &d->o;
	struct ctr_list args = { 0 }, own = { 0 };
	struct ctr c;
	size_t i, nep = 0, nlabels = o->label.n;
	int rc = -1;
	if (boot_image(br, d) < 0)
		return -1;
	ctr_init(&c);
	util_std_fds();
	for (i = 0; i < 3; i++) {
		char *lab;
		if (asprintf(&lab, i == 0 ? "minirun.boot=1" : i == 1 ? "minirun.boot.dir=%s" :
			     "minirun.boot.hash=%s", i == 1 ? dir : d->hash) < 0)
			util_oom();
		ctr_list_add(&own, lab);
		ctr_list_add(&o->label, lab);
	}
	o->name = d->name;
	if (d->entrypoint && boot_words(d->entrypoint, &args, &own, &br->err) < 0) {
		fprintf(stderr, "minirun: %s: key 'entrypoint': %s\n", d->file, br->err.msg);
		goto out;
	}
	nep = args.n;
	if (d->command && boot_words(d->command, &args, &own, &br->err) < 0) {
		fprintf(stderr, "minirun: %s: key 'command': %s\n", d->file, br->err.msg);
		goto out;
	}
	/* the entrypoint's program replaces the image's; the rest of it leads
	 * the command, as with `run --entrypoint PROG IMAGE ARG...` */
	o->entrypoint = d->entrypoint ? nep ? args.v[0] : "" : NULL;
	o->args = nep ? args.v + 1 : args.v;
	o->nargs = (int)(args.n - (nep ? 1 : 0));
	if (spec_from_opts(br->st, o, &c, &br->err) < 0 ||
	    spec_create(br->st, &c, 1, &br->err) < 0 ||
	    ctr_start_detached(br->st, &c, 0, 0, &br->err) != 0)
		util_print_err(&br->err);
	else
		rc = 0;
out:
	ctr_free(&c);
	o->label.n = nlabels;          /* the boot labels were ours */
	if (o->label.v)
		o->label.v[nlabels] = NULL;
	o->args = NULL;
	o->nargs = 0;
	for (i = 0; i < own.n; i++)
		free((char *)own.v[i]);
	ctr_list_free(&own);
	ctr_list_free(&args);
	return rc;
}

/* Stop until its monitor is gone: a container that keeps exiting under a
 * restart policy has a monitor in its back-off, or between an exit and the
 * restart decision, whose state a single look can miss (5 s at most). */
static void boot_stop(struct boot_run *br, struct ctr *c)
{
	struct ctr_rt rt;
	int i, rfd, alive = 1;
	for (i = 0; i < 50 && alive; i++) {
		struct timespec t = { 0, 100000000L };
		if (ctr_stop(br->st, c, -1, 0, &br->err) < 0)
			util_print_err(&br->err);
		rfd = ctr_rundir(br->st, c->id, 0);
		if (rfd < 0)
			return;
		alive = ctr_monitor_alive(rfd);
		if (alive) {
			int fd = openat(rfd, "stop", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			util_close(fd);
			if (ctr_rt_read(rfd, &rt) == 0 && rt.monitor > 0 && rt.status == 'R')
				kill(rt.monitor, SIGTERM);
			nanosleep(&t, NULL);
		}
		close(rfd);
	}
}

/* Stop (the container's own stop signal and timeout) and remove. */
static int boot_remove(struct boot_run *br, struct ctr *c)
{
	struct ctr_owner o;
	struct ctr_info ci;
	int rc = 0;
	boot_stop(br, c);
	ctr_info_get(br->st, c->id, &ci);
	printf("minirun: stopped %s (exit code %d)\n", boot_name(c), ci.st.exit_code);
	fflush(stdout);
	memset(&o, 0, sizeof o);
	o.st = br->st;
	o.c = c;
	o.dirfd = o.lockfd = o.rfd = -1;
	if (ctr_owner_take(&o, 1, &br->err) < 0 || ctr_remove(br->st, c, &br->err) < 0) {
		util_print_err(&br->err);
		rc = -1;
	}
	ctr_disown(&o);
	return rc;
}

static struct ctr_row *boot_row(struct ctr_row *r, size_t n, const char *name)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!strcmp(boot_name(&r[i].c), name))
			return &r[i];
	return NULL;
}

static void boot_free(struct boot_decl *d, size_t n, struct ctr_row *r, size_t nr, size_t *idx)
{
	size_t i;
	for (i = 0; i < n; i++)
		boot_decl_free(&d[i]);
	for (i = 0; i < nr; i++)
		ctr_free(&r[i].c);
	free(d);
	free(r);
	free(idx);
}

/* How long a health check may take to decide: the start period, then
 * (interval + timeout) x (retries + 1), plus 5 s. */
static int64_t boot_health_limit(const struct ctr *c)
{
	return c->health_start + (ctr_health_ns(c->health_interval) +
		ctr_health_ns(c->health_timeout)) * (ctr_health_retries(c) + 1) + 5000000000LL;
}

/* depends_on = NAME:healthy (compose's condition: service_healthy): before
 * starting `who`, wait until NAME's health check says healthy, for as long as
 * the check could take to decide (start period + (interval + timeout) x
 * (retries + 1), plus 5 s). 0, or -1 (unhealthy, stopped, no such container,
 * or no decision in time) with the reason printed. */
static int boot_wait_healthy(struct boot_run *br, const char *who, const char *dep)
{
	char name[CTR_NAME_MAX], id[CTR_ID_LEN + 1];
	struct ctr c;
	struct ctr_info ci;
	int64_t limit, waited;
	const char *why = NULL;
	util_scopyn(name, sizeof name, dep, strcspn(dep, ":"));
	ctr_init(&c);
	if (ctr_find(br->st, name, id, &br->err) < 0 || ctr_load(br->st, id, &c, &br->err) < 0) {
		fprintf(stderr, "minirun: %s: depends on %s: %s\n", who, name, br->err.msg);
		ctr_free(&c);
		return -1;
	}
	if (!c.health_test.n) {
		fprintf(stderr, "minirun: %s: %s has no health check: not waited for\n", who, name);
		ctr_free(&c);
		return 0;
	}
	limit = boot_health_limit(&c);
	ctr_free(&c);
	printf("minirun: %s: waiting for %s to be healthy\n", who, name);
	fflush(stdout);
	for (waited = 0; !why; waited += 100000000) {
		struct timespec t = { 0, 100000000L };
		ctr_info_get(br->st, id, &ci);
		if (!strcmp(ci.health, "healthy"))
			return 0;
		why = !strcmp(ci.health, "unhealthy") ? "is unhealthy" :
		      ci.status != CTR_RUNNING && ci.status != CTR_RESTARTING ? "is not running" :
		      waited > limit ? "did not become healthy in time" : NULL;
		nanosleep(&t, NULL);
	}
	fprintf(stderr, "minirun: %s: dependency %s %s\n", who, name, why);
	return -1;
}

/* Every NAME:healthy of x's depends_on healthy (or waited for in vain). */
static int boot_deps_healthy(struct boot_run *br, const struct boot_decl *x)
{
	size_t j;
	for (j = 0; j < x->depends_on.n; j++) {
		const char *c = strchr(x->depends_on.v[j], ':');
		if (c && boot_wait_healthy(br, x->name, x->depends_on.v[j]) < 0)
			return -1;
	}
	return 0;
}

/* ---- updates: fetch, replace, keep the new container only if it is good ----
 * store/boot/NAME.rollout  an update under way: the old container's ID,
 *   written and synced before the old container is stopped and renamed
 *   NAME.prev; removed once the new one is kept (NAME.prev removed) or the
 *   old one is back under its name. The next `up` after a power cut or a
 *   SIGKILL finds it and puts the old container back before anything else:
 *   one of the two runs afterwards, never none.
 * store/boot/NAME.refused  "IMAGE_ID HASH" of a rolled-back update: not tried
 *   again until the tag moves to another image or the declaration changes.
 *   The rolled-back container carries the label minirun.boot.refused=IMAGE_ID
 *   (ps --format '{{.Labels}}', inspect). The previous image stays in use by
 *   NAME.prev until the new container is kept, so no prune can take it. */

static int boot_statedir(struct boot_run *br)
{
	mkdirat(br->st->rootfd, "boot", 0700);
	return fs_open_dir(br->st->rootfd, "boot");
}

/* The ID of the container of exactly this name, or "". */
static void boot_id_of(struct boot_run *br, const char *name, char *id)
{
	int fd = ctr_names_dir(br->st);
	id[0] = 0;
	if (fd >= 0) {
		ctr_name_owner(br->st, fd, name, id);
		close(fd);
	}
}

/* The image ID a reference names in the store; -1 (id "") if none. */
static int boot_image_id(struct boot_run *br, const char *ref, char *id)
{
	struct image_db db;
	struct image_rec *r;
	struct mr_err ignored;
	id[0] = 0;
	if (image_db_read(br->st, &db, &ignored) < 0)
		return -1;
	r = image_db_find(&db, ref, &ignored);
	if (r)
		util_scopy(id, MR_DIGEST_LEN + 1, r->id);
	image_db_free(&db);
	return r ? 0 : -1;
}

static int boot_is_refused(int sfd, const char *name, const char *image, const char *hash)
{
	char file[CTR_NAME_MAX + 16], want[2 * MR_DIGEST_LEN + 4];
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	int hit;
	snprintf(file, sizeof file, "%s.refused", name);
	if (mr_read_file(sfd, file, &b, 512, &ignored) < 0)
		return 0;
	snprintf(want, sizeof want, "%s %s\n", image, hash);
	hit = b.len == strlen(want) && !memcmp(b.data, want, b.len);
	mr_buf_free(&b);
	return hit;
}

/* Bring the image in as `pull` says: never (the archive when the image is
 * missing), missing (pull when it is not in the store), always (pull: the
 * tag may have moved). A failed pull keeps what the store has. */
static void boot_fetch(struct boot_run *br, struct boot_decl *d)
{
	char id[MR_DIGEST_LEN + 1];
	struct pull_opts po;
	struct mr_store *st = br->st;
	int have = boot_image_id(br, d->o.image, id) == 0;
	if (!st || !d->pull || !strcmp(d->pull, "never") || (have && !strcmp(d->pull, "missing")))
		return;
	printf("minirun: %s: pulling %s\n", d->name, d->o.image);
	fflush(stdout);
	memset(&po, 0, sizeof po);
	po.quiet = 1;
	po.rate = d->rate;
	po.insecure = getenv("MINIRUN_INSECURE_REGISTRIES");
	if (image_pull(st, d->o.image, &po, &br->err) < 0)
		fprintf(stderr, "minirun: %s: pull of %s failed: %s%s\n", d->name, d->o.image,
			br->err.msg, have ? " (the image in the store stays)" : "");
}

static int boot_rename(struct boot_run *br, const char *id, const char *name)
{
	struct ctr c;
	int rc;
	ctr_init(&c);
	rc = ctr_load(br->st, id, &c, &br->err) < 0 ? -1 : ctr_rename(br->st, &c, name, &br->err);
	if (rc < 0)
		fprintf(stderr, "minirun: rename %.12s to %s: %s\n", id, name, br->err.msg);
	ctr_free(&c);
	return rc;
}

/* Load a container by ID and stop + remove it, or start it. */
static int boot_by_id(struct boot_run *br, const char *id, int start)
{
	struct ctr c;
	int rc = -1;
	ctr_init(&c);
	if (ctr_load(br->st, id, &c, &br->err) == 0)
		rc = start ? (ctr_start_detached(br->st, &c, 0, 0, &br->err) ? -1 : 0) :
			     boot_remove(br, &c);
	if (rc < 0 && start)
		util_print_err(&br->err);
	ctr_free(&c);
	return rc;
}

/* Say on the container which image was refused (replacing an older say). */
static void boot_mark_refused(struct boot_run *br, const char *id, const char *image)
{
	struct ctr c;
	struct mr_err ignored;
	char *lab = NULL;
	size_t i, j;
	ctr_init(&c);
	if (ctr_load(br->st, id, &c, &ignored) == 0 &&
	    asprintf(&lab, "minirun.boot.refused=%s", image) > 0) {
		for (i = j = 0; i < c.labels.n; i++)
			if (strncmp(c.labels.v[i], "minirun.boot.refused=", 21))
				c.labels.v[j++] = c.labels.v[i];
		c.labels.n = j;
		ctr_list_add(&c.labels, lab);
		if (mr_store_lock(br->st, &ignored) == 0) {
			ctr_save(br->st, &c, -1, &ignored);
			mr_store_unlock(br->st);
		}
	}
	ctr_free(&c);
	free(lab);
}

/* Is the new container good? With a health check: healthy before the
 * check could have decided (start period + (interval + timeout) x
 * (retries + 1), plus 5 s); without: running and never restarted for
 * rollout_wait. 0, or -1 with the reason in why. */
static int boot_verdict(struct boot_run *br, const struct boot_decl *d, char *why, size_t size)
{
	char id[CTR_ID_LEN + 1];
	struct ctr c;
	struct ctr_info ci;
	int64_t limit, waited;
	int health;
	boot_id_of(br, d->name, id);
	ctr_init(&c);
	if (!id[0] || ctr_load(br->st, id, &c, &br->err) < 0) {
		util_scopy(why, size, "was not created");
		ctr_free(&c);
		return -1;
	}
	health = c.health_test.n > 0;
	limit = health ? boot_health_limit(&c) : d->wait_ns;
	ctr_free(&c);
	if (health)
		printf("minirun: %s: waiting for the new container's health check\n", d->name);
	else
		printf("minirun: %s: checking that the new container stays up for %llds\n", d->name,
		       (long long)(d->wait_ns / 1000000000LL));
	fflush(stdout);
	for (waited = 0;; waited += 100000000) {
		struct timespec t = { 0, 100000000L };
		ctr_info_get(br->st, id, &ci);
		if (ci.status != CTR_RUNNING || ci.st.restart_count > 0) {
			snprintf(why, size, "stopped (exit code %d)", ci.st.exit_code);
			return -1;
		}
		if (health && !strcmp(ci.health, "healthy"))
			return 0;
		if (health && !strcmp(ci.health, "unhealthy")) {
			util_scopy(why, size, "is unhealthy");
			return -1;
		}
		if (waited >= limit) {
			if (!health)
				return 0;
			util_scopy(why, size, "did not become healthy in time");
			return -1;
		}
		nanosleep(&t, NULL);
	}
}

/* Roll back: the container now named `name` (the new one) goes, the old
 * one (old_id) comes back under the name. */
static void boot_restore(struct boot_run *br, const char *name, const char *old_id)
{
	char nid[CTR_ID_LEN + 1];
	boot_id_of(br, name, nid);
	if (nid[0] && strcmp(nid, old_id))
		boot_by_id(br, nid, 0);
	boot_rename(br, old_id, name);
}

/* Replace `old` by a container of the declaration (image `image`): keep
 * the new one if it is good, else bring the old one back and refuse the
 * image. 0 updated, -1 rolled back or failed. */
static int boot_rollout(struct boot_run *br, struct boot_decl *x, struct ctr *old, const char *dir,
			const char *image, int sfd)
{
	char prev[CTR_NAME_MAX + 8], jfile[CTR_NAME_MAX + 16], line[CTR_ID_LEN + 2], why[160] = "";
	char rfile[CTR_NAME_MAX + 16], rec[2 * MR_DIGEST_LEN + 4];
	struct mr_err err;
	snprintf(prev, sizeof prev, "%s.prev", x->name);
	snprintf(jfile, sizeof jfile, "%s.rollout", x->name);
	snprintf(line, sizeof line, "%s\n", old->id);
	if (mr_write_atomic(sfd, jfile, line, strlen(line), 0600, &err) < 0) {
		util_print_err(&err);
		return -1;
	}
	printf("minirun: %s: stopping the old container (kept as %s until the new one is good)\n",
	       x->name, prev);
	fflush(stdout);
	if (ctr_stop(br->st, old, -1, 0, &err) < 0)
		util_print_err(&err);
	if (boot_rename(br, old->id, prev) < 0) {
		boot_by_id(br, old->id, 1);
		unlinkat(sfd, jfile, 0);
		return -1;
	}
	if (boot_deps_healthy(br, x) < 0 || boot_start(br, x, dir) < 0)
		util_scopy(why, sizeof why, "did not start");
	else
		boot_verdict(br, x, why, sizeof why);
	if (!why[0]) {
		boot_by_id(br, old->id, 0);
		unlinkat(sfd, jfile, 0);
		mr_fsync_dir(sfd, &err);
		printf("minirun: %s: updated to image %.19s\n", x->name, image);
		return 0;
	}
	boot_restore(br, x->name, old->id);
	snprintf(rfile, sizeof rfile, "%s.refused", x->name);
	snprintf(rec, sizeof rec, "%s %s\n", image, x->hash);
	if (mr_write_atomic(sfd, rfile, rec, strlen(rec), 0600, &err) < 0)
		util_print_err(&err);
	boot_mark_refused(br, old->id, image);
	boot_by_id(br, old->id, 1);
	unlinkat(sfd, jfile, 0);
	mr_fsync_dir(sfd, &err);
	fprintf(stderr, "minirun: %s: the new container %s: rolled back to the previous container "
		"(image %.19s); image %.19s refused until the tag or the declaration changes\n",
		x->name, why, old->image, image);
	return -1;
}

/* An update cut short (power cut, SIGKILL of `up`): the old container back
 * under its name, the new one (not confirmed) removed. */
static void boot_recover(struct boot_run *br, const char *name, int sfd)
{
	char jfile[CTR_NAME_MAX + 16], prev[CTR_NAME_MAX + 8];
	char pid[CTR_ID_LEN + 1];
	struct mr_err ignored;
	snprintf(jfile, sizeof jfile, "%s.rollout", name);
	if (!util_exists_at(sfd, jfile, AT_SYMLINK_NOFOLLOW))
		return;
	snprintf(prev, sizeof prev, "%s.prev", name);
	boot_id_of(br, prev, pid);
	if (pid[0]) {
		boot_restore(br, name, pid);
		printf("minirun: %s: an update was cut short: the previous container is back\n", name);
	}
	unlinkat(sfd, jfile, 0);
	mr_fsync_dir(sfd, &ignored);
}

/* Bring the store in line with the folder. 0, or 1 if anything failed. */
static int boot_up(struct boot_run *br, const char *dir)
{
	struct boot_decl *d = NULL;
	struct ctr_row *rows, *r;
	size_t nr, i, *idx;
	ssize_t n;
	int bad, rc = 0, sfd;
	if (!br->st)
		return BOOT_EXIT_FAIL;
	n = boot_load_dir(dir, &d, &bad, &br->err);
	if (n < 0) {
		util_print_err(&br->err);
		return BOOT_EXIT_FAIL;
	}
	rc = bad ? 1 : 0;
	idx = util_xmalloc(((size_t)n + 1) * sizeof *idx);
	boot_order(d, (size_t)n, idx);
	sfd = boot_statedir(br);
	for (i = 0; i < (size_t)n && sfd >= 0; i++)
		if (d[i].ok)
			boot_recover(br, d[i].name, sfd);
	rows = ctr_rows(br->st, &nr);
	/* declarations that went away */
	for (i = 0; i < nr; i++)
		if (boot_managed(&rows[i].c, dir) && !boot_find(d, (size_t)n, boot_name(&rows[i].c))) {
			printf("minirun: %s: no declaration any more, removing\n", boot_name(&rows[i].c));
			if (boot_remove(br, &rows[i].c) < 0)
				rc = 1;
		}
	for (i = 0; i < (size_t)n; i++) {
		struct boot_decl *x = &d[idx[i]];
		char img[MR_DIGEST_LEN + 1];
		const char *h;
		int same;
		if (!x->ok)
			continue;
		boot_fetch(br, x);
		boot_image_id(br, x->o.image, img);
		r = boot_row(rows, nr, x->name);
		if (r && !boot_managed(&r->c, dir)) {
			fprintf(stderr, "minirun: %s: container %s exists and was not made by `up` "
				"from %s: left alone\n", x->file, x->name, dir);
			rc = 1;
			continue;
		}
		h = r ? boot_label(&r->c, "minirun.boot.hash") : NULL;
		same = r && h && !strcmp(h, x->hash) && (!img[0] || !strcmp(img, r->c.image));
		if (r && !same && sfd >= 0 && boot_is_refused(sfd, x->name, img, x->hash)) {
			printf("minirun: %s: image %.19s was rolled back before: refused until the tag "
			       "or the declaration changes\n", x->name, img);
			same = 1;
		}
		if (same) {
			if (r->ci.status == CTR_RUNNING || r->ci.status == CTR_RESTARTING) {
				printf("minirun: %s: up to date\n", x->name);
			} else if (boot_deps_healthy(br, x) < 0) {
				fprintf(stderr, "minirun: %s: not started\n", x->name);
				rc = 1;
			} else if (ctr_start_detached(br->st, &r->c, 0, 0, &br->err) != 0) {
				util_print_err(&br->err);
				rc = 1;
			} else {
				printf("minirun: %s: started\n", x->name);
			}
			continue;
		}
		if (r && sfd >= 0) {
			printf("minirun: %s: %s, replacing\n", x->name, h && !strcmp(h, x->hash) ?
			       "new image for its tag" : "declaration changed");
			fflush(stdout);
			if (boot_rollout(br, x, &r->c, dir, img, sfd) < 0)
				rc = 1;
			continue;
		}
		if (r) {
			printf("minirun: %s: declaration changed, replacing\n", x->name);
			if (boot_remove(br, &r->c) < 0) {
				rc = 1;
				continue;
			}
		}
		if (boot_deps_healthy(br, x) < 0 || boot_start(br, x, dir) < 0) {
			fprintf(stderr, "minirun: %s: not started\n", x->name);
			rc = 1;
		} else {
			printf("minirun: %s: started\n", x->name);
		}
		fflush(stdout);
	}
	fflush(stdout);
	util_close(sfd);
	boot_free(d, (size_t)n, rows, nr, idx);
	return rc;
}

/* Stop and remove what `up` made from this folder, in reverse start order. */
static int boot_down(struct boot_run *br, const char *dir)
{
	struct boot_decl *d = NULL;
	struct ctr_row *rows, *r;
	size_t nr, i, *idx;
	ssize_t n;
	int bad, rc = 0;
	if (!br->st)
		return BOOT_EXIT_FAIL;
	n = boot_load_dir(dir, &d, &bad, &br->err);
	if (n < 0)
		n = 0;   /* the folder is gone: still stop what it made */
	idx = util_xmalloc(((size_t)n + 1) * sizeof *idx);
	boot_order(d, (size_t)n, idx);
	rows = ctr_rows(br->st, &nr);
	for (i = (size_t)n; i-- > 0;) {
		r = boot_row(rows, nr, d[idx[i]].name);
		if (r && boot_managed(&r->c, dir)) {
			if (boot_remove(br, &r->c) < 0)
				rc = 1;
			r->c.labels.n = 0;   /* done */
		}
	}
	for (i = 0; i < nr; i++)
		if (boot_managed(&rows[i].c, dir) && boot_remove(br, &rows[i].c) < 0)
			rc = 1;
	boot_free(d, (size_t)n, rows, nr, idx);
	return rc;
}

/* Run up or down in a child, reaping whatever else ends meanwhile (PID 1
 * adopts every orphan); a shutdown signal is remembered in *want. */
static int boot_child(struct boot_run *br, const char *dir, int up, const sigset_t *mask,
		      const sigset_t *old, int *want)
{
	int status = 0;
	pid_t pid;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return up ? boot_up(br, dir) : boot_down(br, dir);
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, old, NULL);
		exit(up ? boot_up(br, dir) : boot_down(br, dir));
	}
	for (;;) {
		struct timespec t = { 1, 0 };
		int sig = sigtimedwait(mask, NULL, &t);
		if (sig == SIGUSR2 || (sig > 0 && sig != SIGCHLD && sig != SIGHUP))
			*want = sig == SIGUSR2 ? (int)RB_AUTOBOOT : *want ? *want : (int)RB_POWER_OFF;
		if (boot_reap(pid, &status))
			return WIFEXITED(status) ? WEXITSTATUS(status) : BOOT_EXIT_FAIL;
	}
}

static void boot_nop(int sig)
{
	(void)sig;
}

/* init's update timer: the shortest pull_interval of the declarations (0:
 * none). Their errors are said by `up`, not here. */
static int64_t boot_pull_every(const char *dir)
{
	struct boot_decl *d = NULL;
	struct mr_err ignored;
	int64_t every = 0;
	ssize_t n, i;
	int bad, err2 = fcntl(2, F_DUPFD_CLOEXEC, 3), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0)
		dup2(null, 2);
	n = boot_load_dir(dir, &d, &bad, &ignored);
	if (err2 >= 0) {
		dup2(err2, 2);
		close(err2);
	}
	util_close(null);
	for (i = 0; i < n; i++)
		if (d[i].ok && d[i].interval_ns && (!every || d[i].interval_ns < every))
			every = d[i].interval_ns;
	for (i = 0; i < n; i++)
		boot_decl_free(&d[i]);
	free(d);
	return every;
}

static int64_t boot_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* init, before the store is opened: as PID 1 the mounts (the run folder is
 * on /run), ctrl-alt-del, a session; else the orphans come to us. Then 0-2
 * open and init's signals caught and blocked into *mask (the previous
 * mask in *old): PID 1 gets no signal it has no handler for. */
static void boot_init_prepare(int pid1, sigset_t *mask, sigset_t *old)
{
	const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD };
	struct sigaction sa;
	size_t i;
	if (pid1) {
		boot_leave_rootfs();
		boot_mounts();
		/* ctrl-alt-del becomes SIGINT to us instead of an instant reboot */
		reboot(RB_DISABLE_CAD);
		setsid();
	} else {
		/* orphaned monitors come to us, as they would to PID 1 */
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	}
	util_std_fds();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = boot_nop;
	sigemptyset(mask);
	for (i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(mask, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, mask, old);
}

/* init: up, then wait; SIGHUP or the update timer run up again, a shutdown
 * signal runs down and, as PID 1, powers off or reboots. */
static int boot_init(struct boot_run *br, const char *dir, int do_reboot, int pid1,
		     const sigset_t *maskp, const sigset_t *oldp)
{
	sigset_t mask = *maskp, old = *oldp;
	int want = 0, rc;
	int64_t every, last;
	/* A power cut may have hit the last writes: say what the store is like
	 * and collect only what nothing uses before the containers start. */
	if (br->st && check_store(br->st, CHECK_GARBAGE, "minirun: init: check: ", &br->err) < 0)
		util_print_err(&br->err);
	fflush(stdout);
	printf("minirun: init: starting containers from %s\n", dir);
	boot_child(br, dir, 1, &mask, &old, &want);
	every = boot_pull_every(dir);
	last = boot_now_ns();
	if (every)
		printf("minirun: init: looking for new images every %llds\n",
		       (long long)(every / 1000000000LL));
	while (!want) {
		struct timespec t = { 5, 0 };
		int sig;
		if (every && last + every - boot_now_ns() < 5000000000LL) {
			int64_t left = last + every - boot_now_ns();
			t.tv_sec = left > 0 ? (time_t)(left / 1000000000LL) : 0;
			t.tv_nsec = left > 0 ? (long)(left % 1000000000LL) : 1;
		}
		sig = sigtimedwait(&mask, NULL, &t);
		if (sig == SIGUSR2) {
			want = (int)RB_AUTOBOOT;
		} else if (sig == SIGHUP || (every && boot_now_ns() >= last + every)) {
			/* re-read the declarations, pull what says always */
			boot_child(br, dir, 1, &mask, &old, &want);
			every = boot_pull_every(dir);
			last = boot_now_ns();
		} else if (sig > 0 && sig != SIGCHLD) {
			want = do_reboot ? (int)RB_AUTOBOOT : (int)RB_POWER_OFF;
		}
		boot_reap(0, NULL);
	}
	printf("minirun: init: stopping containers\n");
	rc = boot_child(br, dir, 0, &mask, &old, &want);
	if (pid1)
		boot_halt(want);
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("minirun: init: done\n");
	return rc;
}
#endif /* MINIRUN_WITH_INIT */
