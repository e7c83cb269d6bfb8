/* ==== [20] BOOT: declarative containers, up, down, init as PID 1 ====
 * One file per container, DIR/NAME.conf (default /etc/minirun/containers, or
 * $MINIRUN_CONFIG_DIR): `key = value` lines, '#' comments. This section parses
 * and orders the declarations and does PID 1's chores (mounts, power off);
 * `up`, `down` and `init` themselves are in [21]. A declaration's keys are
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
	char name[CTR_NAME_MAX];
	char file[MINIRUN_MAX_PATH];
	char hash[MR_DIGEST_LEN + 1];
	char *text;                        /* the file, cut into keys and values */
	const char *archive, *command, *entrypoint;
	struct ctr_opts o;
	struct ctr_list depends_on;
	/* updates: how the image is kept current (not part of the hash: changing
	 * them does not replace the container) */
	const char *pull, *pull_interval, *pull_rate, *rollout_wait;
	int64_t interval_ns, wait_ns;      /* parsed pull_interval, rollout_wait */
	uint64_t rate;                     /* parsed pull_rate, bytes/s */
	int ok, placed;
	long order;
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

static void boot_decl_free(struct boot_decl *d)
{
	free(d->text);
	ctr_list_free(&d->o.env);
	ctr_list_free(&d->o.volume);
	ctr_list_free(&d->o.mount);
	ctr_list_free(&d->o.tmpfs);
	ctr_list_free(&d->o.publish);
	ctr_list_free(&d->o.label);
	ctr_list_free(&d->depends_on);
	ctr_list_free(&d->o.device);
	ctr_list_free(&d->o.sysctl);
	ctr_list_free(&d->o.ulimit);
	ctr_list_free(&d->o.group_add);
	ctr_list_free(&d->o.log_opt);
	ctr_list_free(&d->o.network_alias);
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
	uint64_t u;
	for (k = boot_keys; k < boot_keys + sizeof boot_keys / sizeof *boot_keys; k++)
		if (!strcmp(k->name, key))
			break;
	if (k == boot_keys + sizeof boot_keys / sizeof *boot_keys)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: unknown key '%s'", d->file, ln, key);
	if (!*val && k->kind != BOOT_STR)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key '%s': empty value", d->file, ln, key);
	switch (k->kind) {
	case BOOT_STR:
		if (*(const char **)(p + k->off))
			return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key '%s': given twice",
					  d->file, ln, key);
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
		if (!strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1"))
			*(int *)(p + k->off) = 1;
		else if (strcmp(val, "false") && strcmp(val, "no") && strcmp(val, "0"))
			return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key '%s': not a boolean: %s",
					  d->file, ln, key, val);
		break;
	case BOOT_NUM:
		if (util_parse_u64(val, &u) < 0 || u > 1000000)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key '%s': not a number: %s",
					  d->file, ln, key, val);
		d->order = (long)u;
		break;
	}
	if (strncmp(key, "pull", 4) && strcmp(key, "rollout_wait"))
		mr_buf_printf(norm, "%s=%s\n", key, val);
	return 0;
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
	if (d->pull && strcmp(d->pull, "never") && strcmp(d->pull, "missing") &&
	    strcmp(d->pull, "always"))
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
		snprintf(x->name, sizeof x->name, "%.*s", (int)(len - 5), de->d_name);
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
#endif /* MINIRUN_WITH_INIT */
