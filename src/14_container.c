/* ==== [14] CONTAINER: the spec, records, names, state, image defaults ====
 * root/containers/ID/config.json  the resolved run configuration: written once by
 *                                  create (atomically, under the store lock with
 *                                  the name claim), rewritten only by rename
 * root/containers/ID/state.json   last start and exit (exit code, times, OOM,
 *                                  restart count): survives a reboot, so that a
 *                                  container shows "Exited" and `start` works
 * root/containers/ID/{upper,work,rootfs,log*,hosts,hostname,resolv.conf}
 * root/containers/.names/NAME     symlink to ID: names are unique by symlinkat()
 * rundir/ID/lock   write-locked (an OFD lock) by the container's monitor (or the
 *                  foreground CLI) for its whole life: a free lock means
 *                  nothing runs it; others test it without taking it
 * rundir/ID/state  "pid starttime monitor status" of the live container
 * rundir/ID/stop   a user asked it to stop: the restart policy must not apply
 * A record is visible only once complete: it is built in tmp/ and renamed into
 * containers/ after its name is claimed, all under the store lock. */

#define CTR_ID_LEN 64
#define CTR_NAME_MAX 128
#define CTR_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CTR_LOG_MAX_SIZE (1u << 20)   /* flash friendly: 1 MiB per file... */
#define CTR_LOG_MAX_FILE 2            /* ...and one rotated file */

/* A NULL-terminated list of strings (v is NULL while empty). */
struct ctr_list {
	const char **v;
	size_t n;
};

struct ctr_oci;                     /* what only an OCI bundle says ([19b]) */

/* The container spec: everything a container is. Three front ends fill it:
 * `run`/`create` flags merged with the image config and boot declarations
 * (both through struct ctr_opts and spec_from_opts [19b]), and OCI bundles;
 * one back end checks, records and creates it (spec_create [19b]), and [17]
 * starts it. The groups follow the OCI runtime-spec config.json. A field a
 * front end needs goes in its group, with its default in ctr_init, its free in
 * ctr_free when it owns memory, and a ctr_fields row when config.json must keep
 * it. Strings point into doc/img (a loaded record, the image config), into the
 * front end's input (which outlives the spec), or into `owned`. */
struct ctr {
	/* the record */
	char id[CTR_ID_LEN + 1];
	/* the most used fields next: at offsets below 128 (one byte of
	 * displacement in x86-64 code, four beyond) */
	const char *network, *hostname;
	struct mount_spec *mnt;            /* volumes, binds, tmpfs ([11]) */
	size_t nmnt;
	struct ctr_oci *oci;               /* a bundle's extras (in owned); NULL: not from a bundle */
	unsigned char tty, interactive, init, privileged, no_new_privs, readonly, auto_remove;
	int64_t memory;                    /* resources: at the top */
	/* process: args, env, cwd, user, terminal */
	struct ctr_list entrypoint, cmd, env;
	const char *workdir, *user;
	struct ctr_list group_add;         /* --group-add as given */
	/* tty, interactive, init: at the top */
	/* process: capabilities, rlimits, no_new_privs */
	struct ctr_list cap_add, cap_drop;
	struct ctr_list ulimits;           /* --ulimit as NAME=SOFT:HARD (numbers, -1 unlimited) */
	/* privileged, no_new_privs: at the top */
	/* root: the image's layers under one writable layer */
	struct ctr_list layers;            /* diff_id hex, base first (from the image) */
	char driver[8];                    /* "overlay" or "copy" */
	/* readonly: at the top */
	/* mounts (mnt, nmnt: at the top) */
	struct ctr_list volumes_from;      /* --volumes-from as given (its mounts are in mnt) */
	int64_t shm_size;                  /* /dev/shm, bytes (0: 64 MiB) */
	/* namespaces: "host" shares the host's, NULL/"" a private one */
	const char *ipc_mode, *uts_mode, *pid_mode;
	/* hostname: at the top */
	/* network (mode: at the top), and net.conf (published ports, --add-host, --dns; [19]) */
	struct mr_buf net_conf;
	/* resources (cgroups) */
	int64_t memory_swap, nano_cpus, pids_limit;
	const char *image_ref;             /* as the user wrote it (ps IMAGE column) */
	/* devices */
	struct ctr_list devices;           /* --device as HOST:CONTAINER:PERMS */
	struct ctr_list device_rules;      /* --device-cgroup-rule as given */
	/* sysctl */
	struct ctr_list sysctls;           /* --sysctl KEY=VALUE */
	/* seccomp and the other security options */
	struct ctr_list security_opt;
	/* health */
	struct ctr_list health_test;       /* ["CMD-SHELL", cmd] or ["CMD", arg...]; none: off */
	int64_t health_interval, health_timeout, health_start;   /* ns; 0: Docker's default */
	int health_retries;                /* 0: 3 */
	/* lifecycle: restart, stop, removal, logs */
	const char *restart, *stop_signal;
	int restart_max, stop_timeout;     /* stop_timeout < 0: default (10 s) */
	/* auto_remove: at the top */
	uint64_t log_max_size;
	int log_max_file;
	int log_ram;                       /* logs in rundir/ID (tmpfs), not on the store's flash */
	/* labels */
	struct ctr_list labels;
	int net_default;                   /* no --network: inspect says "default" (Docker) */
	struct ctr_list exposed;           /* Config.ExposedPorts: "80/tcp" (image's and -p's) */
	/* oci: at the top */
	/* what the strings point into */
	struct mr_json_doc doc, img;
	struct ctr_list owned;
	/* the record's fixed strings last: long, and each used as a whole */
	char name[CTR_NAME_MAX];
	char created[40];
	char image[MR_DIGEST_LEN + 1];     /* image ID */
};

/* What a front end asks for, as written: the flags of `run`/`create`, or the
 * keys of a boot declaration. spec_from_opts ([19b]) merges it with the image
 * config by Docker's rules into the spec; NULL or empty: not given. The spec
 * may point into it: it must outlive the spec. */
struct ctr_opts {
	/* the most used first (short offsets in x86-64 code) */
	const char *network, *ipc, *pid, *pids_limit, *memory_swap, *uts, *memory;
	const char *image;                 /* IMAGE as written */
	const char **args;                 /* COMMAND [ARG...] after the image */
	int nargs;
	int detach, rm, interactive, tty, read_only, init, privileged, publish_all;
	int no_healthcheck;
	const char *name, *entrypoint, *workdir, *user, *hostname, *restart, *stop_signal;
	const char *stop_timeout, *cpus;
	struct ctr_list env, env_file, label, cap_add, cap_drop, security_opt, log_opt;
	struct ctr_list volume, mount, tmpfs, volumes_from, publish, add_host, dns;
	struct ctr_list device, device_rule, sysctl, ulimit, group_add, network_alias;
	const char *shm_size;
	const char *pull;                  /* --pull: always, missing (default), never */
	const char *health_cmd, *health_interval, *health_timeout, *health_start, *health_retries;
};

/* Persisted state of the last start and exit (state.json). */
struct ctr_state {
	int running;                      /* started and no exit recorded since */
	int exit_code, oom_killed, restart_count, stopped_by_user;
	char started[40], finished[40];
	char error[160];
};

enum ctr_status { CTR_CREATED, CTR_RUNNING, CTR_RESTARTING, CTR_EXITED };

/* What `ps` and `inspect` show: the persisted state and the live one. */
struct ctr_info {
	enum ctr_status status;
	pid_t pid, monitor;
	unsigned long long pid_start;
	char health[12];                   /* running with a health check: its Status */
	struct ctr_state st;               /* last: the fields above at short offsets */
};

static void ctr_list_add(struct ctr_list *l, const char *s)
{
	l->v = util_xrealloc(l->v, (l->n + 2) * sizeof *l->v);
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

/* Append the n strings of v. */
static void ctr_list_extend(struct ctr_list *l, const char *const *v, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		ctr_list_add(l, v[i]);
}

static void ctr_list_free(struct ctr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* A formatted string, malloc'ed (exits on lack of memory, as util_xmalloc). */
UTIL_VA_ONLY static char *ctr_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = util_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* Keep an allocated string for the life of the record. */
static __attribute__((noinline)) const char *ctr_own(struct ctr *c, char *s)
{
	ctr_list_add(&c->owned, s);
	return s;
}

/* The lists of struct ctr, freed in one loop (a list added to the struct
 * goes here too). */
#define CTR_L(m) (unsigned short)offsetof(struct ctr, m)
static const unsigned short ctr_lists[] = {
	CTR_L(owned), CTR_L(entrypoint), CTR_L(cmd), CTR_L(env), CTR_L(labels), CTR_L(cap_add),
	CTR_L(cap_drop), CTR_L(security_opt), CTR_L(volumes_from), CTR_L(devices),
	CTR_L(device_rules), CTR_L(sysctls), CTR_L(ulimits), CTR_L(group_add),
	CTR_L(health_test), CTR_L(exposed), CTR_L(layers),
};
#undef CTR_L

static void ctr_free(struct ctr *c)
{
	size_t i;
	for (i = 0; i < c->owned.n; i++)
		free((char *)c->owned.v[i]);
	for (i = 0; i < sizeof ctr_lists / sizeof ctr_lists[0]; i++)
		ctr_list_free((struct ctr_list *)((char *)c + ctr_lists[i]));
	free(c->mnt);
	c->mnt = NULL;
	c->nmnt = 0;
	mr_buf_free(&c->net_conf);
	mr_json_free(&c->doc);
	mr_json_free(&c->img);
}

static void ctr_init(struct ctr *c)
{
	memset(c, 0, sizeof *c);
	c->stop_timeout = -1;
	c->restart = "no";
	c->network = "bridge";
	c->stop_signal = "SIGTERM";
	c->log_max_size = CTR_LOG_MAX_SIZE;
	c->log_max_file = CTR_LOG_MAX_FILE;
	c->workdir = c->user = c->hostname = "";
}

/* ---- pure helpers (unit-tested) ---- */

/* Length of the key of "K=V" (or of "K"). */
static size_t ctr_env_keylen(const char *kv)
{
	return strcspn(kv, "=");
}

/* Value of key in an environment list, or NULL. */
static const char *ctr_env_get(const struct ctr_list *env, const char *key)
{
	size_t i, n = strlen(key);
	for (i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], key, n) && env->v[i][n] == '=')
			return env->v[i] + n + 1;
	return NULL;
}

/* Set "K=V": replace K in place where it is (Docker keeps the image's order),
 * else append. */
static void ctr_env_set(struct ctr_list *env, const char *kv)
{
	size_t i, n = ctr_env_keylen(kv);
	for (i = 0; i < env->n; i++)
		if (ctr_env_keylen(env->v[i]) == n && !strncmp(env->v[i], kv, n)) {
			env->v[i] = kv;
			return;
		}
	ctr_list_add(env, kv);
}

static int ctr_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Config.ExposedPorts: the keys of obj ("80/tcp": {}), or one port (obj
 * NULL: port/proto), each once. The keys stay in their JSON document. */
static void ctr_exposed_add(struct ctr *c, const struct mr_json *obj, unsigned port, char proto)
{
	const struct mr_json *e;
	char key[16];
	size_t i;
	if (!obj) {
		snprintf(key, sizeof key, "%u/%s", port, proto == 'u' ? "udp" : "tcp");
		for (i = 0; i < c->exposed.n && strcmp(c->exposed.v[i], key); i++) {}
		if (i == c->exposed.n)
			ctr_list_add(&c->exposed, ctr_own(c, util_xstrdup(key)));
		qsort(c->exposed.v, c->exposed.n, sizeof *c->exposed.v, ctr_strcmp_p);
		return;
	}
	for (e = obj->type == MR_JSON_OBJECT ? obj->child : NULL; e; e = e->next) {
		for (i = 0; i < c->exposed.n && strcmp(c->exposed.v[i], e->key); i++) {}
		if (i == c->exposed.n && e->key_len < sizeof key)
			ctr_list_add(&c->exposed, e->key);
	}
	/* in Go's order (a map's keys, sorted) */
	qsort(c->exposed.v, c->exposed.n, sizeof *c->exposed.v, ctr_strcmp_p);
}

/* Docker's Config.Env: the user's values (--env-file, then -e) first, then
 * those of the image (arr) that they do not set. */
static void ctr_env_merge_image(struct ctr_list *env, const struct mr_json *arr)
{
	const struct mr_json *e;
	size_t user = env->n, i, n;
	for (e = arr && arr->type == MR_JSON_ARRAY ? arr->child : NULL; e; e = e->next) {
		if (!mr_json_str(e))
			continue;
		n = ctr_env_keylen(e->str);
		for (i = 0; i < user; i++)
			if (ctr_env_keylen(env->v[i]) == n && !strncmp(env->v[i], e->str, n))
				break;
		if (i == user)
			ctr_list_add(env, e->str);
	}
}

/* One -e value: "K=V" as is; "K" takes the caller's value, and is dropped
 * when the caller has none (Docker's rule). Returns -1 on an empty key. */
static int ctr_env_add_arg(struct ctr *c, const char *arg)
{
	const char *v;
	size_t n = ctr_env_keylen(arg);
	if (n == 0)
		return -1;
	if (arg[n] == '=') {
		ctr_env_set(&c->env, arg);
		return 0;
	}
	v = getenv(arg);
	if (v) {
		ctr_env_set(&c->env, ctr_own(c, ctr_strf("%s=%s", arg, v)));
	}
	return 0;
}

/* --env-file: one K=V or K per line; blank lines and # comments skipped;
 * leading blanks of a line ignored, the value kept verbatim. */
static int ctr_env_file(struct ctr *c, const char *path, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	char *p, *line;
	if (mr_read_file(AT_FDCWD, path, &b, 1u << 20, err) < 0)
		return mr_err_ctx(err, "env file");
	ctr_own(c, b.data);
	for (p = b.data; p && *p; p = line) {
		char *nl = strchr(p, '\n');
		line = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		if (nl && nl > p && nl[-1] == '\r')
			nl[-1] = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		if (strcspn(p, " \t") < ctr_env_keylen(p))
			return mr_err_set(err, MR_EINVAL_INPUT, "env file %s: variable '%s' contains "
					  "whitespaces", path, p);
		if (ctr_env_add_arg(c, p) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "env file %s: no variable name "
					  "in '%s'", path, p);
	}
	return 0;
}

/* Docker's command rules: --entrypoint replaces the image's Entrypoint ("" =
 * none) and drops the image's Cmd; arguments after the image replace Cmd. */
static void ctr_command_merge(struct ctr_list *ep, struct ctr_list *cmd,
			      const struct ctr_list *img_ep, const struct ctr_list *img_cmd,
			      const char *ep_flag, const char **args, int nargs)
{
	if (ep_flag) {
		if (*ep_flag)
			ctr_list_add(ep, ep_flag);
	} else {
		ctr_list_extend(ep, img_ep->v, img_ep->n);
	}
	if (nargs > 0)
		ctr_list_extend(cmd, args, (size_t)nargs);
	else if (!ep_flag)
		ctr_list_extend(cmd, img_cmd->v, img_cmd->n);
}

/* Docker's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' allowed). */
static int ctr_name_valid(const char *name)
{
	size_t i;
	if (*name == '/')
		name++;
	if (strlen(name) < 2 || strlen(name) >= CTR_NAME_MAX || !isalnum((unsigned char)name[0]))
		return 0;
	for (i = 1; name[i]; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return 0;
	return 1;
}

/* Signal by name ("SIGTERM", "term", "RTMIN+3") or number; 0 if unknown. */
static int ctr_signal_parse(const char *s)
{
	/* the names packed, their numbers in the same order */
	static const char names[] = "HUP\0INT\0QUIT\0ILL\0TRAP\0ABRT\0IOT\0BUS\0FPE\0KILL\0"
		"USR1\0SEGV\0USR2\0PIPE\0ALRM\0TERM\0CHLD\0CONT\0STOP\0TSTP\0TTIN\0TTOU\0URG\0"
		"XCPU\0XFSZ\0VTALRM\0PROF\0WINCH\0IO\0POLL\0PWR\0SYS\0";
	static const unsigned char nums[] = {
		SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGABRT, SIGBUS, SIGFPE, SIGKILL,
		SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP,
		SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGIO,
		SIGPWR, SIGSYS,
	};
	const char *k;
	char up[16];
	size_t i;
	uint64_t n;
	if (util_parse_u64(s, &n) == 0)
		return n > 0 && n < (uint64_t)_NSIG ? (int)n : 0;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (i = 0; s[i] && i < sizeof up - 1; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	up[i] = 0;
	if (!strncmp(up, "RTMIN", 5) || !strncmp(up, "RTMAX", 5)) {
		int base = up[4] == 'N' ? SIGRTMIN : SIGRTMAX, off = 0;
		if (up[5] == '+' || up[5] == '-') {
			if (util_parse_u64(up + 6, &n) < 0 || n > 64)
				return 0;
			off = up[5] == '+' ? (int)n : -(int)n;
		} else if (up[5]) {
			return 0;
		}
		return base + off >= SIGRTMIN && base + off <= SIGRTMAX ? base + off : 0;
	}
	for (i = 0, k = names; *k; i++, k += strlen(k) + 1)
		if (!strcmp(up, k))
			return nums[i];
	return 0;
}

/* --restart: no | always | unless-stopped | on-failure[:N]. */
static int ctr_restart_parse(const char *s, const char **name, int *max)
{
	uint64_t n = 0;
	*max = 0;
	if (!strcmp(s, "no") || !strcmp(s, "always") || !strcmp(s, "unless-stopped")) {
		*name = s;
		return 0;
	}
	if (!strncmp(s, "on-failure", 10) && (!s[10] || (s[10] == ':' &&
	    util_parse_u64(s + 11, &n) == 0 && n <= INT_MAX))) {
		*name = "on-failure";
		*max = (int)n;
		return 0;
	}
	return -1;
}

/* Should the monitor start the container again after this exit? */
static int ctr_restart_wanted(const struct ctr *c, int exit_code, int restarts, int stopped)
{
	if (stopped || !strcmp(c->restart, "no"))
		return 0;
	if (!strcmp(c->restart, "on-failure"))
		return exit_code != 0 && (c->restart_max == 0 || restarts < c->restart_max);
	return 1;
}

/* Docker's back-off: 100 ms doubling up to one minute, back to 100 ms after the
 * container stayed up 10 s. */
static unsigned ctr_backoff_next(unsigned prev_ms, unsigned long ran_ms)
{
	if (ran_ms >= 10000 || prev_ms == 0)
		return 100;
	return prev_ms >= 30000 ? 60000 : prev_ms * 2;
}

/* --cpus 1.5 -> 1500000000 nano CPUs. */
static int ctr_cpus_parse(const char *s, int64_t *nano)
{
	uint64_t whole = 0, frac = 0, scale = 1000000000;
	const char *dot = strchr(s, '.');
	char buf[24];
	if (strlen(s) >= sizeof buf)
		return -1;
	snprintf(buf, sizeof buf, "%.*s", dot ? (int)(dot - s) : (int)strlen(s), s);
	if ((buf[0] && util_parse_u64(buf, &whole) < 0) || (!buf[0] && !dot) || whole > 1000000)
		return -1;
	if (dot) {
		const char *p = dot + 1;
		if (!*p && !buf[0])
			return -1;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			scale /= 10;
			frac += (uint64_t)(*p - '0') * scale;
			if (!scale)
				return -1;
		}
	}
	*nano = (int64_t)(whole * 1000000000u + frac);
	return 0;
}

/* The STATUS column: "Up 5 seconds", "Exited (0) 3 seconds ago", "Created". */
static void ctr_status_string(const struct ctr_info *ci, time_t now, char *out, size_t size)
{
	char d[48];
	time_t t = 0;
	switch (ci->status) {
	case CTR_RUNNING:
		util_parse_rfc3339(ci->st.started, &t);
		util_human_duration((long)(now - t), d, sizeof d);
		snprintf(out, size, "Up %s%s%s%s", d, ci->health[0] ? " (" : "",
			 !strcmp(ci->health, "starting") ? "health: starting" : ci->health,
			 ci->health[0] ? ")" : "");
		return;
	case CTR_RESTARTING:
	case CTR_EXITED:
		util_parse_rfc3339(ci->st.finished, &t);
		util_human_duration((long)(now - t), d, sizeof d);
		snprintf(out, size, "%s (%d) %s ago", ci->status == CTR_EXITED ? "Exited" :
			 "Restarting", ci->st.exit_code, d);
		return;
	default:
		snprintf(out, size, "Created");
	}
}

static const char *ctr_status_name(enum ctr_status s)
{
	static const char names[][11] = { "created", "running", "restarting", "exited" };
	return names[s];
}

/* One line of /etc/passwd or /etc/group split at ':' (a bounded copy). */
struct ctr_pwline {
	char *f[7];
	size_t nf;
	char buf[512];                     /* last: short offsets for the others */
};

/* Split the line at p; returns the start of the next line or NULL. */
static const char *ctr_pw_line(const char *p, struct ctr_pwline *l)
{
	const char *end = strchr(p, '\n');
	size_t n = end ? (size_t)(end - p) : strlen(p);
	char *q;
	l->nf = 0;
	if (n < sizeof l->buf && *p != '#') {
		memcpy(l->buf, p, n);
		l->buf[n] = 0;
		for (q = l->buf, l->f[l->nf++] = q; l->nf < 7 && (q = strchr(q, ':')); )
			*q++ = 0, l->f[l->nf++] = q;
	}
	return end ? end + 1 : NULL;
}

/* Numeric id field: -1 if not a number, -2 if a number out of range. */
static long ctr_pw_id(const char *s)
{
	uint64_t v;
	if (util_parse_u64(s, &v) == 0 && v <= 0xfffffffeu)
		return (long)v;
	return *s && strspn(s, "0123456789") == strlen(s) ? -2 : -1;
}

/* Is `user` in the comma-separated member list? */
static int ctr_pw_member(const char *members, const char *user)
{
	size_t n = strlen(user);
	while (*members) {
		size_t k = strcspn(members, ",");
		if (k == n && !strncmp(members, user, n))
			return 1;
		members += k + (members[k] == ',');
	}
	return 0;
}

/* The identity a process runs as, from -u / the image's User. */
struct ctr_ids {
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t groups[32];
	char home[256];
};

/* The gid of the group named name in a group text (NULL: none), or -1. */
static long ctr_pw_group(const char *group, const char *name)
{
	struct ctr_pwline l;
	const char *p;
	for (p = group; p && *p; ) {
		p = ctr_pw_line(p, &l);
		if (l.nf >= 3 && !strcmp(l.f[0], name) && ctr_pw_id(l.f[2]) >= 0)
			return ctr_pw_id(l.f[2]);
	}
	return -1;
}

/* Is gid among the supplementary groups already? */
static int ctr_ids_has(const struct ctr_ids *ids, long gid)
{
	size_t k;
	for (k = 0; k < ids->ngroups; k++)
		if (ids->groups[k] == (gid_t)gid)
			return 1;
	return 0;
}

/* Resolve "user[:group]" (names or numbers) against the container's passwd
 * and group texts (NULL: no such file). runc's rules: a numeric uid needs no
 * entry (gid 0, home /); a name must exist; supplementary groups are those
 * listing the user's name. */
static int ctr_ids_resolve(const char *spec, const char *passwd, const char *group,
			   struct ctr_ids *ids, struct mr_err *err)
{
	char user[256], name[256] = "";
	const char *colon = strchr(spec, ':'), *gspec = colon ? colon + 1 : NULL, *p;
	struct ctr_pwline l;
	long id;
	int found = 0;
	memset(ids, 0, sizeof *ids);
	snprintf(user, sizeof user, "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	strcpy(ids->home, "/");
	if (!user[0])
		strcpy(user, "0");
	id = ctr_pw_id(user);
	if (id == -2)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid user %s: out of range", user);
	for (p = passwd; p && *p && !found; ) {
		p = ctr_pw_line(p, &l);
		if (l.nf < 4 || ctr_pw_id(l.f[2]) < 0 ||
		    (id < 0 ? strcmp(l.f[0], user) : ctr_pw_id(l.f[2]) != id))
			continue;
		found = 1;
		ids->uid = (uid_t)ctr_pw_id(l.f[2]);
		ids->gid = ctr_pw_id(l.f[3]) < 0 ? 0 : (gid_t)ctr_pw_id(l.f[3]);
		if (l.nf >= 6 && l.f[5][0])
			util_scopy(ids->home, sizeof ids->home, l.f[5]);
		util_scopy(name, sizeof name, l.f[0]);
	}
	if (!found && id < 0)
		return mr_err_set(err, MR_ENOTFOUND, "unable to find user %s: no matching entries "
				  "in passwd file", user);
	if (!found)
		ids->uid = (uid_t)id;
	if (gspec && *gspec) {
		long gid = ctr_pw_id(gspec);
		if (gid == -2)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid group %s: out of range", gspec);
		if (gid < 0)
			gid = ctr_pw_group(group, gspec);
		if (gid < 0)
			return mr_err_set(err, MR_ENOTFOUND, "unable to find group %s: no matching "
					  "entries in group file", gspec);
		ids->gid = (gid_t)gid;
	}
	/* the primary group first among the supplementary ones, as runc sets
	 * them (Docker: `id` says groups=0(root), groups=1234(app),2345(extra)) */
	ids->groups[ids->ngroups++] = ids->gid;
	for (p = group; name[0] && p && *p && ids->ngroups < 32; ) {
		p = ctr_pw_line(p, &l);
		if (l.nf >= 4 && ctr_pw_id(l.f[2]) >= 0 && ctr_pw_member(l.f[3], name) &&
		    !ctr_ids_has(ids, ctr_pw_id(l.f[2])))
			ids->groups[ids->ngroups++] = (gid_t)ctr_pw_id(l.f[2]);
	}
	return 0;
}

/* Does the container share the host's namespace of this mode (--pid host,
 * --ipc host, --uts host)? Records without the field: a private one. */
static int ctr_ns_host(const char *mode)
{
	return mode && !strcmp(mode, "host");
}

/* --group-add: numbers as they are, names from the container's group file;
 * added to the groups of the user (run and exec). */
static int ctr_ids_add_groups(const struct ctr_list *add, const char *group, struct ctr_ids *ids,
			      struct mr_err *err)
{
	size_t i;
	for (i = 0; i < add->n; i++) {
		long gid = ctr_pw_id(add->v[i]);
		if (gid < 0)
			gid = ctr_pw_group(group, add->v[i]);
		if (gid < 0)
			return mr_err_set(err, MR_ENOTFOUND, "Unable to find group %s: no matching "
					  "entries in group file", add->v[i]);
		if (ctr_ids_has(ids, gid))
			continue;
		if (ids->ngroups >= sizeof ids->groups / sizeof ids->groups[0])
			return mr_err_set(err, MR_EINVAL_INPUT, "--group-add: more than %zu groups",
					  sizeof ids->groups / sizeof ids->groups[0]);
		ids->groups[ids->ngroups++] = (gid_t)gid;
	}
	return 0;
}

/* --sysctl KEY=VALUE: only what lives in the container's own namespaces, as
 * Docker and runc allow (IPC: kernel.msg*, sem, shm*, fs.mqueue.*; UTS:
 * kernel.domainname; network: net.*), and not in a namespace shared with
 * the host. Keys take dots or slashes, never "..". */
static int ctr_sysctl_check(const char *kv, int net_host, int ipc_host, struct mr_err *err)
{
	static const char ipc[] = "kernel.msgmax\0kernel.msgmnb\0kernel.msgmni\0kernel.sem\0"
		"kernel.shmall\0kernel.shmmax\0kernel.shmmni\0kernel.shm_rmid_forced\0";
	const char *eq = strchr(kv, '='), *n;
	char key[128];
	size_t i, len = eq ? (size_t)(eq - kv) : 0;
	int is_ipc = 0;
	if (!eq || !len || len >= sizeof key || !eq[1])
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for \"--sysctl\" "
				  "flag: sysctl must be in the format KEY=VALUE", kv);
	for (i = 0; i < len; i++) {
		key[i] = kv[i] == '/' ? '.' : kv[i];
		if (!isalnum((unsigned char)kv[i]) && !strchr("._-/", kv[i]))
			break;
	}
	key[len] = 0;
	if (i < len || key[0] == '.' || key[len - 1] == '.' || strstr(key, ".."))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid sysctl key \"%.*s\"", (int)len, kv);
	for (n = ipc; *n && !is_ipc; n += strlen(n) + 1)
		is_ipc = !strcmp(key, n);
	is_ipc |= util_starts_with(key, "fs.mqueue.");
	if (is_ipc && ipc_host)
		return mr_err_set(err, MR_EINVAL_INPUT, "sysctl \"%s\" not allowed in host IPC "
				  "namespace", key);
	if (util_starts_with(key, "net.") && net_host)
		return mr_err_set(err, MR_EINVAL_INPUT, "sysctl \"%s\" not allowed in host network "
				  "namespace", key);
	if (!is_ipc && !util_starts_with(key, "net.") && strcmp(key, "kernel.domainname"))
		return mr_err_set(err, MR_EINVAL_INPUT, "sysctl \"%s\" is not in a separate kernel "
				  "namespace", key);
	return 0;
}

/* The resources --ulimit knows, as Docker names them. */
static const struct { char name[12]; int res; } ctr_rlimits[] = {
	{ "as", RLIMIT_AS }, { "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA }, { "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC }, { "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
};

/* --ulimit NAME=SOFT[:HARD] (-1: unlimited). Returns the resource, or -1. */
static int ctr_ulimit_parse(const char *s, long long *soft, long long *hard, struct mr_err *err)
{
	const char *eq = strchr(s, '='), *colon;
	char *end;
	size_t i;
	int res = -1;
	for (i = 0; eq && i < sizeof ctr_rlimits / sizeof ctr_rlimits[0]; i++)
		if (strlen(ctr_rlimits[i].name) == (size_t)(eq - s) &&
		    !strncmp(s, ctr_rlimits[i].name, (size_t)(eq - s)))
			res = ctr_rlimits[i].res;
	if (!eq)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid ulimit argument: %s", s);
	if (res < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid ulimit type: %.*s", (int)(eq - s), s);
	colon = strchr(eq + 1, ':');
	errno = 0;
	*soft = strtoll(eq + 1, &end, 10);
	if (end == eq + 1 || (colon ? end != colon : *end != 0) || errno || *soft < -1)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid ulimit argument: %s", s);
	*hard = *soft;
	if (colon) {
		*hard = strtoll(colon + 1, &end, 10);
		if (end == colon + 1 || *end || errno || *hard < -1)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid ulimit argument: %s", s);
	}
	if (*hard != -1 && (*soft == -1 || *soft > *hard))
		return mr_err_set(err, MR_EINVAL_INPUT, "ulimit soft limit must be less than or "
				  "equal to hard limit: %lld > %lld", *soft, *hard);
	return res;
}

/* ---- devices: --device and --device-cgroup-rule ----
 * The device policy is a list of allow rules in the cgroup v1 devices.allow
 * syntax ("c 1:3 rwm"); everything else is refused. Docker's default lets a
 * container make any node (m) but open only the harmless ones; --device adds
 * a host node (bound into the container) with its own rule. */
#define DEV_M 1                            /* the cgroup BPF hook's access bits */
#define DEV_R 2
#define DEV_W 4
#define DEV_MAX 64                         /* --device entries per container */

struct dev_rule {
	int major, minor;                  /* -1: any */
	char type;                         /* 'a', 'b' or 'c' (after the ints: 12 bytes, not 16) */
	unsigned char access;              /* DEV_* */
	unsigned char deny;                /* a match refuses (OCI's "allow": false) */
};

/* A --device entry, resolved on the host at each start (a USB serial adapter
 * may come back under other numbers). */
struct dev_node {
	struct dev_rule rule;
	char host[256], path[256];         /* path: in the container */
};

/* runc's and Docker's defaults: mknod of anything; null, zero, full, random,
 * urandom, tty, console, ptmx and the pty slaves. */
static const struct dev_rule dev_default_rules[] = {
	{ -1, -1, 'c', DEV_M, 0 }, { -1, -1, 'b', DEV_M, 0 },
	{ 1, 3, 'c', 7, 0 }, { 1, 5, 'c', 7, 0 }, { 1, 7, 'c', 7, 0 }, { 1, 8, 'c', 7, 0 },
	{ 1, 9, 'c', 7, 0 }, { 5, 0, 'c', 7, 0 }, { 5, 1, 'c', 7, 0 }, { 5, 2, 'c', 7, 0 },
	{ 136, -1, 'c', 7, 0 },
};

/* "rwm", "r", "mw": each letter once. */
static int dev_access_parse(const char *s, unsigned char *out)
{
	unsigned char a = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned char bit = *s == 'r' ? DEV_R : *s == 'w' ? DEV_W : *s == 'm' ? DEV_M : 0;
		if (!bit || (a & bit))
			return -1;
		a |= bit;
	}
	*out = a;
	return 0;
}

/* The letters of access bits, in "rwm" order; out has room for 4. */
static char *dev_access_str(unsigned char a, char *out)
{
	char *p = out;
	if (a & DEV_R)
		*p++ = 'r';
	if (a & DEV_W)
		*p++ = 'w';
	if (a & DEV_M)
		*p++ = 'm';
	*p = 0;
	return out;
}

/* "c 1:3 rwm", "a *:* m", "b 8:* rw". */
static int dev_rule_parse(const char *s, struct dev_rule *r)
{
	int i, *num[2];
	num[0] = &r->major;
	num[1] = &r->minor;
	if ((s[0] != 'a' && s[0] != 'b' && s[0] != 'c') || s[1] != ' ')
		return -1;
	r->type = s[0];
	r->deny = 0;
	s += 2;
	for (i = 0; i < 2; i++) {
		long v = -1;
		if (*s == '*') {
			s++;
		} else {
			if (*s < '0' || *s > '9')
				return -1;
			for (v = 0; *s >= '0' && *s <= '9'; s++)
				if ((v = v * 10 + (*s - '0')) > 0xfffff)
					return -1;
		}
		*num[i] = (int)v;
		if (*s++ != (i ? ' ' : ':'))
			return -1;
	}
	return dev_access_parse(s, &r->access);
}

/* --device HOST[:CONTAINER][:PERMS], as Docker splits it: a middle part that
 * is a valid mode is the mode. The host node is looked up (symlinks followed,
 * as /dev/serial/by-id/... are). */
static int dev_resolve(const char *spec, struct dev_node *n, struct mr_err *err)
{
	char buf[520], *part[3] = { buf, NULL, NULL };
	const char *perms = "rwm";
	struct stat sb;
	size_t k = 0;
	char *p;
	if (strlen(spec) >= sizeof buf)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid device specification: %.64s...", spec);
	strcpy(buf, spec);
	for (p = buf; (p = strchr(p, ':')) != NULL; *p++ = 0)
		if (++k > 2)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid device specification: %s", spec);
		else
			part[k] = p + 1;
	if (k == 2)
		perms = part[2];
	if (k >= 1 && dev_access_parse(part[1], &n->rule.access) == 0)
		perms = part[1], part[1] = NULL;
	if (dev_access_parse(perms, &n->rule.access) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "bad mode specified: %s", perms);
	if (!part[1] || !*part[1])
		part[1] = part[0];
	if (part[0][0] != '/' || part[1][0] != '/')
		return mr_err_set(err, MR_EINVAL_INPUT, "%s is not an absolute path",
				  part[0][0] != '/' ? part[0] : part[1]);
	if (strlen(part[0]) >= sizeof n->host || strlen(part[1]) >= sizeof n->path)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid device specification: %s", spec);
	strcpy(n->host, part[0]);
	strcpy(n->path, part[1]);
	if (stat(n->host, &sb) < 0)
		return mr_err_set(err, errno, "error gathering device information while adding "
				  "custom device \"%s\": %s", n->host, strerror(errno));
	if (!S_ISCHR(sb.st_mode) && !S_ISBLK(sb.st_mode))
		return mr_err_set(err, MR_EINVAL_INPUT, "error gathering device information while "
				  "adding custom device \"%s\": not a device node", n->host);
	n->rule.type = S_ISCHR(sb.st_mode) ? 'c' : 'b';
	n->rule.deny = 0;
	n->rule.major = (int)major(sb.st_rdev);
	n->rule.minor = (int)minor(sb.st_rdev);
	return 0;
}

/* The allow rules of a container: Docker's defaults, one per --device, then
 * the --device-cgroup-rule ones (checked by run). malloc'ed. */
static struct dev_rule *dev_policy_rules(const struct ctr *c, const struct dev_node *nodes,
					 size_t nn, size_t *count)
{
	size_t nd = sizeof dev_default_rules / sizeof dev_default_rules[0], n = nd, i;
	struct dev_rule *r = util_xcalloc(nd + nn + c->device_rules.n, sizeof *r);
	memcpy(r, dev_default_rules, sizeof dev_default_rules);
	for (i = 0; i < nn; i++)
		r[n++] = nodes[i].rule;
	for (i = 0; i < c->device_rules.n; i++)
		if (dev_rule_parse(c->device_rules.v[i], &r[n]) == 0)
			n++;
	*count = n;
	return r;
}

/* ---- names ---- */

/* Docker-like "adjective_name" (a short list: the names only need to be
 * memorable; a collision takes another draw). */
static void ctr_name_generate(char *out, size_t size)
{
	static const char adj[] =
		"brave calm clever eager fancy gentle happy jolly keen kind lucky merry "
		"nifty proud quick quiet sharp shy silly sleepy smart sunny swift witty ";
	static const char noun[] =
		"ada babbage bohr curie darwin dijkstra euler fermi galileo hopper kepler "
		"knuth lovelace maxwell newton noether pascal ritchie shannon tesla thompson "
		"turing wozniak yonath ";
	unsigned char r[2];
	const char *a = adj, *n = noun;
	unsigned i, ka, kn;
	if (util_random(r, 2) < 0)
		r[0] = (unsigned char)getpid(), r[1] = (unsigned char)time(NULL);
	ka = r[0] % 24;
	kn = r[1] % 24;
	for (i = 0; i < ka; i++)
		a = strchr(a, ' ') + 1;
	for (i = 0; i < kn; i++)
		n = strchr(n, ' ') + 1;
	snprintf(out, size, "%.*s_%.*s", (int)strcspn(a, " "), a, (int)strcspn(n, " "), n);
}

static int ctr_dir(struct mr_store *st, const char *id, struct mr_err *err)
{
	char path[16 + CTR_ID_LEN];
	int fd;
	snprintf(path, sizeof path, "containers/%s", id);
	fd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mr_err_sys(err, "container %.12s", id);
	return fd;
}

/* The folder of all records (the caller closes it). */
static int ctr_containers_dir(struct mr_store *st)
{
	return openat(st->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int ctr_names_dir(struct mr_store *st)
{
	mkdirat(st->rootfd, "containers/.names", 0700);
	return openat(st->rootfd, "containers/.names", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		      O_CLOEXEC);
}

static int ctr_is_id(const char *s)
{
	return strlen(s) == CTR_ID_LEN && strspn(s, "0123456789abcdef") == CTR_ID_LEN;
}

/* Which container holds `name`? A link whose container is gone, or whose
 * config names another (a rename cut short), is stale: 0 and id[0] = 0. */
static int ctr_name_owner(struct mr_store *st, int namesfd, const char *name, char *id)
{
	char path[32 + CTR_ID_LEN], cfgname[CTR_NAME_MAX + 16];
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	ssize_t n = readlinkat(namesfd, name, id, CTR_ID_LEN + 1);
	if (n != CTR_ID_LEN) {
		id[0] = 0;
		return 0;
	}
	id[CTR_ID_LEN] = 0;
	snprintf(path, sizeof path, "containers/%s/config.json", id);
	/* the record starts {"Id":"ID","Name":"NAME" (ctr_config_json) */
	snprintf(cfgname, sizeof cfgname, "\",\"Name\":\"%s\"", name);
	if (!ctr_is_id(id) || mr_read_file(st->rootfd, path, &b, 1u << 20, &ignored) < 0 ||
	    b.len < 7 + CTR_ID_LEN || strncmp(b.data + 7 + CTR_ID_LEN, cfgname, strlen(cfgname)))
		id[0] = 0;
	mr_buf_free(&b);
	return 0;
}

/* Claim `name` for id (store lock held). */
static int ctr_name_claim(struct mr_store *st, const char *name, const char *id,
			  struct mr_err *err)
{
	char owner[CTR_ID_LEN + 2];
	int fd = ctr_names_dir(st), rc = 0;
	if (fd < 0)
		return mr_err_sys(err, "%s/containers/.names", st->root);
	if (symlinkat(id, fd, name) < 0) {
		if (errno != EEXIST) {
			rc = mr_err_sys(err, "container name %s", name);
		} else {
			ctr_name_owner(st, fd, name, owner);
			if (owner[0] && strcmp(owner, id))
				rc = mr_err_set(err, MR_EEXIST, "Conflict. The container name \"/%s\" is "
						"already in use by container \"%s\". You have to remove "
						"(or rename) that container to be able to reuse that name.",
						name, owner);
			else if (!owner[0] && (unlinkat(fd, name, 0) < 0 || symlinkat(id, fd, name) < 0))
				rc = mr_err_sys(err, "container name %s", name);
		}
	}
	close(fd);
	return rc;
}

static void ctr_name_release(struct mr_store *st, const char *name, const char *id)
{
	char owner[CTR_ID_LEN + 2];
	int fd = ctr_names_dir(st);
	if (fd < 0)
		return;
	if (readlinkat(fd, name, owner, sizeof owner) == CTR_ID_LEN && !strncmp(owner, id, CTR_ID_LEN))
		unlinkat(fd, name, 0);
	close(fd);
}

/* Find a container by full ID, name, or unique ID prefix (Docker's order). */
static int ctr_find(struct mr_store *st, const char *ref, char *id, struct mr_err *err)
{
	int fd, found = 0;
	DIR *d;
	struct dirent *de;
	size_t n = strlen(ref);
	if (*ref == '/')
		ref++, n--;
	if (ctr_is_id(ref) && (fd = ctr_dir(st, ref, err)) >= 0) {
		close(fd);
		memcpy(id, ref, CTR_ID_LEN + 1);
		return 0;
	}
	if (ctr_name_valid(ref) && (fd = ctr_names_dir(st)) >= 0) {
		ctr_name_owner(st, fd, ref, id);
		close(fd);
		if (id[0])
			return 0;
	}
	if (n && n < CTR_ID_LEN && strspn(ref, "0123456789abcdef") == n &&
	    (fd = ctr_containers_dir(st)) >= 0 &&
	    (d = fdopendir(fd)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (ctr_is_id(de->d_name) && !strncmp(de->d_name, ref, n)) {
				if (found++) {
					closedir(d);
					return mr_err_set(err, MR_EINVAL_INPUT, "multiple containers "
							  "found with provided prefix: %s", ref);
				}
				memcpy(id, de->d_name, CTR_ID_LEN + 1);
			}
		closedir(d);
		if (found)
			return 0;
	}
	return mr_err_set(err, MR_ENOTFOUND, "No such container: %s", ref);
}

/* --security-opt no-new-privileges, in its three spellings. */
static int ctr_opt_nnp(const char *s)
{
	return !strcmp(s, "no-new-privileges") || !strcmp(s, "no-new-privileges:true") ||
	       !strcmp(s, "no-new-privileges=true");
}

/* ---- config.json ---- */

static void ctr_jw_list(struct mr_jw *w, const char *key, const struct ctr_list *l, int null_empty)
{
	size_t i;
	mr_jw_key(w, key);
	if (!l->n && null_empty) {
		mr_jw_null(w);
		return;
	}
	mr_jw_arr(w);
	for (i = 0; i < l->n; i++)
		mr_jw_str(w, l->v[i]);
	mr_jw_arr_end(w);
}

/* A "k=v" list as a JSON object (Labels, Sysctls). */
static void ctr_jw_kv(struct mr_jw *w, const char *name, const struct ctr_list *l)
{
	size_t i;
	mr_jw_key(w, name);
	mr_jw_obj(w);
	for (i = 0; i < l->n; i++) {
		size_t k = ctr_env_keylen(l->v[i]);
		char key[256];
		snprintf(key, sizeof key, "%.*s", (int)k, l->v[i]);
		mr_jw_key(w, key);
		mr_jw_str(w, l->v[i][k] ? l->v[i] + k + 1 : "");
	}
	mr_jw_obj_end(w);
}

/* The record, in Docker's inspect names so that inspect is mostly a copy. */
/* The plain fields of Config (obj 0) and HostConfig (obj 1), by Docker's
 * names: one table for config.json (both ways) and for inspect. */
enum { CF_STR, CF_BOOL, CF_LIST, CF_LISTN, CF_I64, CF_U64, CF_INT };
/* One list, two tables made from it: the names packed in ctr_field_keys (in
 * the order of the rows of ctr_fields), so that no row pads a short name to
 * the longest one. */
#define CTR_FIELDS(F) \
	F("Hostname", CF_STR, 0, hostname) F("User", CF_STR, 0, user) \
	F("Tty", CF_BOOL, 0, tty) F("OpenStdin", CF_BOOL, 0, interactive) \
	F("Env", CF_LIST, 0, env) F("Cmd", CF_LISTN, 0, cmd) \
	F("Entrypoint", CF_LISTN, 0, entrypoint) F("WorkingDir", CF_STR, 0, workdir) \
	F("StopSignal", CF_STR, 0, stop_signal) \
	F("NetworkMode", CF_STR, 1, network) F("AutoRemove", CF_BOOL, 1, auto_remove) \
	F("CapAdd", CF_LISTN, 1, cap_add) F("CapDrop", CF_LISTN, 1, cap_drop) \
	F("Privileged", CF_BOOL, 1, privileged) F("ReadonlyRootfs", CF_BOOL, 1, readonly) \
	F("SecurityOpt", CF_LISTN, 1, security_opt) F("Init", CF_BOOL, 1, init) \
	F("VolumesFrom", CF_LISTN, 1, volumes_from) \
	F("DeviceCgroupRules", CF_LISTN, 1, device_rules) F("GroupAdd", CF_LISTN, 1, group_add) \
	F("IpcMode", CF_STR, 1, ipc_mode) F("UTSMode", CF_STR, 1, uts_mode) \
	F("PidMode", CF_STR, 1, pid_mode) \
	F("ShmSize", CF_I64, 1, shm_size) \
	F("Memory", CF_I64, 1, memory) F("MemorySwap", CF_I64, 1, memory_swap) \
	F("NanoCpus", CF_I64, 1, nano_cpus) F("PidsLimit", CF_I64, 1, pids_limit) \
	F("LogMaxSize", CF_U64, 1, log_max_size) F("LogMaxFile", CF_INT, 1, log_max_file) \
	F("LogRam", CF_INT, 1, log_ram) F("NetDefault", CF_INT, 1, net_default)
struct ctr_field {
	unsigned char type, obj;
	unsigned short off;
};
#define CF_KEY(k, t, o, m) k "\0"
#define CF_ROW(k, t, o, m) { t, o, offsetof(struct ctr, m) },
static const char ctr_field_keys[] = CTR_FIELDS(CF_KEY);
static const struct ctr_field ctr_fields[] = { CTR_FIELDS(CF_ROW) };
#undef CF_KEY
#undef CF_ROW

/* inspect leaves out minirun's own fields (the log limits: LogConfig). */
static void ctr_fields_write(struct mr_jw *w, const struct ctr *c, int obj, int inspect)
{
	const char *key = ctr_field_keys;
	size_t i;
	for (i = 0; i < sizeof ctr_fields / sizeof ctr_fields[0]; i++, key += strlen(key) + 1) {
		const struct ctr_field *f = &ctr_fields[i];
		const void *p = (const char *)c + f->off;
		if (f->obj != obj || (inspect && f->type >= CF_U64))
			continue;
		/* inspect shows Docker's words for what the record leaves implicit */
		if (inspect && p == (const void *)&c->network && c->net_default) {
			json_kstr(w, key, "default");
			continue;
		}
		if (inspect && p == (const void *)&c->shm_size && !c->shm_size) {
			json_kint(w, key, 64LL << 20);
			continue;
		}
		if (inspect && p == (const void *)&c->init && !c->init)
			continue;                  /* Docker: absent unless --init */
		if (inspect && p == (const void *)&c->pids_limit && c->pids_limit <= 0) {
			mr_jw_key(w, key);      /* Docker: null when unlimited */
			mr_jw_null(w);
			continue;
		}
		switch (f->type) {
		case CF_STR: json_kstr(w, key, *(const char *const *)p); break;
		case CF_BOOL: json_kbool(w, key, *(const unsigned char *)p); break;
		case CF_I64: json_kint(w, key, *(const int64_t *)p); break;
		case CF_U64: json_kint(w, key, (long long)*(const uint64_t *)p); break;
		case CF_INT: json_kint(w, key, *(const int *)p); break;
		default: ctr_jw_list(w, key, p, f->type == CF_LISTN);
		}
	}
	if (obj == 0) {
		if (c->exposed.n) {        /* Docker leaves it out when empty */
			mr_jw_key(w, "ExposedPorts");
			mr_jw_obj(w);
			for (i = 0; i < c->exposed.n; i++) {
				mr_jw_key(w, c->exposed.v[i]);
				mr_jw_obj(w);
				mr_jw_obj_end(w);
			}
			mr_jw_obj_end(w);
		}
		ctr_jw_kv(w, "Labels", &c->labels);
		if (c->health_test.n) {
			mr_jw_key(w, "Healthcheck");
			mr_jw_obj(w);
			ctr_jw_list(w, "Test", &c->health_test, 0);
			json_kint(w, "Interval", c->health_interval);
			json_kint(w, "Timeout", c->health_timeout);
			json_kint(w, "StartPeriod", c->health_start);
			json_kint(w, "Retries", c->health_retries);
			mr_jw_obj_end(w);
		}
		if (c->stop_timeout >= 0)
			json_kint(w, "StopTimeout", c->stop_timeout);
	} else {
		if (!inspect || c->sysctls.n)      /* Docker: absent when empty */
			ctr_jw_kv(w, "Sysctls", &c->sysctls);
		mr_jw_key(w, "Ulimits");
		mr_jw_arr(w);
		for (i = 0; i < c->ulimits.n; i++) {
			/* NAME=SOFT:HARD, made so by run */
			const char *u = c->ulimits.v[i], *eq = strchr(u, '='), *colon = strchr(u, ':');
			mr_jw_obj(w);
			mr_jw_key(w, "Name");
			mr_jw_strn(w, u, (size_t)(eq - u));
			json_kint(w, "Hard", strtoll(colon + 1, NULL, 10));
			json_kint(w, "Soft", strtoll(eq + 1, NULL, 10));
			mr_jw_obj_end(w);
		}
		mr_jw_arr_end(w);
		mr_jw_key(w, "Devices");
		mr_jw_arr(w);
		for (i = 0; i < c->devices.n; i++) {
			/* HOST:CONTAINER:PERMS, made so by run (paths without ':') */
			const char *a = c->devices.v[i], *b = strchr(a, ':'), *e = strrchr(a, ':');
			mr_jw_obj(w);
			mr_jw_key(w, "PathOnHost");
			mr_jw_strn(w, a, (size_t)(b - a));
			mr_jw_key(w, "PathInContainer");
			mr_jw_strn(w, b + 1, (size_t)(e - b - 1));
			json_kstr(w, "CgroupPermissions", e + 1);
			mr_jw_obj_end(w);
		}
		mr_jw_arr_end(w);
		mr_jw_key(w, "RestartPolicy");
		mr_jw_obj(w);
		json_kstr(w, "Name", c->restart);
		json_kint(w, "MaximumRetryCount", c->restart_max);
		mr_jw_obj_end(w);
	}
}

/* The record's own fixed-size strings, in config.json's order (ImageRef
 * comes between Image and Driver). */
static const struct { char key[8]; unsigned short off, size; } ctr_head[] = {
#define CH(k, m) { k, offsetof(struct ctr, m), sizeof(((struct ctr *)0)->m) }
	CH("Id", id), CH("Name", name), CH("Created", created), CH("Image", image),
	CH("Driver", driver),
#undef CH
};

/* The record, in Docker's inspect names so that inspect is mostly a copy. */
static void ctr_config_json(struct mr_store *st, const struct ctr *c, struct mr_buf *out)
{
	struct mr_jw w;
	size_t i;
	mr_jw_init(&w, out, 0);
	mr_jw_obj(&w);
	for (i = 0; i < 5; i++) {
		if (i == 4)
			json_kstr(&w, "ImageRef", c->image_ref);
		json_kstr(&w, ctr_head[i].key, (const char *)c + ctr_head[i].off);
	}
	ctr_jw_list(&w, "Layers", &c->layers, 0);
	mr_jw_key(&w, "Config");
	mr_jw_obj(&w);
	ctr_fields_write(&w, c, 0, 0);
	mr_jw_obj_end(&w);
	mr_jw_key(&w, "HostConfig");
	mr_jw_obj(&w);
	ctr_fields_write(&w, c, 1, 0);
	mr_jw_key(&w, "Mounts");
	mr_jw_arr(&w);
	for (i = 0; i < c->nmnt; i++)
		mount_write_json(&w, st, &c->mnt[i], 0);
	mr_jw_arr_end(&w);
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	mr_buf_append(out, "\n", 1);
}

static void ctr_json_list(const struct mr_json *arr, struct ctr_list *l)
{
	const struct mr_json *v;
	for (v = arr && arr->type == MR_JSON_ARRAY ? arr->child : NULL; v; v = v->next)
		if (mr_json_str(v))
			ctr_list_add(l, v->str);
}

/* Object of strings -> "k=v" list (Labels, Sysctls). */
static void ctr_json_kv(struct ctr *c, const struct mr_json *obj, struct ctr_list *out)
{
	const struct mr_json *v;
	for (v = obj && obj->type == MR_JSON_OBJECT ? obj->child : NULL; v; v = v->next)
		if (mr_json_str(v))
			ctr_list_add(out, ctr_own(c, ctr_strf("%s=%s", v->key, v->str)));
}

static const char *ctr_json_s(const struct mr_json *o, const char *key, const char *dflt)
{
	const char *s = mr_json_str(mr_json_get(o, key));
	return s ? s : dflt;
}

static long long ctr_json_i(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_NUMBER ? (long long)v->num : 0;
}

static int ctr_json_b(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_TRUE;
}

/* A Healthcheck object (the record's, or an image's) into the container's
 * fields; ["NONE"] or no test: none. */
static void ctr_health_read(struct ctr *c, const struct mr_json *h)
{
	ctr_list_free(&c->health_test);
	ctr_json_list(mr_json_get(h, "Test"), &c->health_test);
	if (c->health_test.n && !strcmp(c->health_test.v[0], "NONE"))
		ctr_list_free(&c->health_test);
	c->health_interval = ctr_json_i(h, "Interval");
	c->health_timeout = ctr_json_i(h, "Timeout");
	c->health_start = ctr_json_i(h, "StartPeriod");
	c->health_retries = (int)ctr_json_i(h, "Retries");
}

/* Load containers/ID/config.json. */
static int ctr_load(struct mr_store *st, const char *id, struct ctr *c, struct mr_err *err)
{
	char path[32 + CTR_ID_LEN];
	struct mr_buf b = { 0 };
	const struct mr_json *r, *cfg, *hc, *rp;
	const char *k;
	size_t i;
	ctr_init(c);
	snprintf(path, sizeof path, "containers/%s/config.json", id);
	if (mr_read_file(st->rootfd, path, &b, MINIRUN_MAX_JSON, err) < 0) {
		if (err->code == ENOENT)
			mr_err_set(err, MR_ENOTFOUND, "No such container: %.12s", id);
		mr_buf_free(&b);
		return -1;
	}
	if (mr_json_parse(&c->doc, b.data, b.len, err) < 0) {
		mr_buf_free(&b);
		return mr_err_ctx(err, "container %.12s: config.json", id);
	}
	mr_buf_free(&b);
	r = c->doc.root;
	cfg = mr_json_get(r, "Config");
	hc = mr_json_get(r, "HostConfig");
	rp = mr_json_get(hc, "RestartPolicy");
	if (!cfg || !hc || !ctr_is_id(ctr_json_s(r, "Id", "")) ||
	    mr_digest_valid(ctr_json_s(r, "Image", "")) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "container %.12s: damaged config.json", id);
	for (i = 0; i < 5; i++)
		util_scopy((char *)c + ctr_head[i].off, ctr_head[i].size,
			   ctr_json_s(r, ctr_head[i].key, i == 4 ? "overlay" : ""));
	c->image_ref = ctr_json_s(r, "ImageRef", c->image);
	ctr_json_list(mr_json_get(r, "Layers"), &c->layers);
	for (i = 0; i < c->layers.n; i++)
		if (!ctr_is_id(c->layers.v[i]))
			return mr_err_set(err, MR_EINVAL_INPUT, "container %.12s: damaged layer list "
					  "in config.json", id);
	for (i = 0, k = ctr_field_keys; i < sizeof ctr_fields / sizeof ctr_fields[0];
	     i++, k += strlen(k) + 1) {
		const struct ctr_field *f = &ctr_fields[i];
		const struct mr_json *o = f->obj ? hc : cfg, *v = mr_json_get(o, k);
		void *p = (char *)c + f->off;
		switch (f->type) {
		case CF_STR:
			if (mr_json_str(v))
				*(const char **)p = v->str;
			break;
		case CF_BOOL: *(unsigned char *)p = (unsigned char)ctr_json_b(o, k); break;
		case CF_I64: *(int64_t *)p = ctr_json_i(o, k); break;
		case CF_U64: *(uint64_t *)p = (uint64_t)ctr_json_i(o, k); break;
		case CF_INT: *(int *)p = (int)ctr_json_i(o, k); break;
		default: ctr_json_list(v, p);
		}
	}
	ctr_json_kv(c, mr_json_get(cfg, "Labels"), &c->labels);
	ctr_json_kv(c, mr_json_get(hc, "Sysctls"), &c->sysctls);
	ctr_exposed_add(c, mr_json_get(cfg, "ExposedPorts"), 0, 0);
	ctr_health_read(c, mr_json_get(cfg, "Healthcheck"));
	{
		const struct mr_json *u = mr_json_get(hc, "Ulimits");
		for (u = u && u->type == MR_JSON_ARRAY ? u->child : NULL; u; u = u->next) {
			ctr_list_add(&c->ulimits, ctr_own(c, ctr_strf("%.20s=%lld:%lld",
				     ctr_json_s(u, "Name", "?"), ctr_json_i(u, "Soft"),
				     ctr_json_i(u, "Hard"))));
		}
	}
	{
		const struct mr_json *d = mr_json_get(hc, "Devices");
		for (d = d && d->type == MR_JSON_ARRAY ? d->child : NULL; d; d = d->next) {
			const char *h = ctr_json_s(d, "PathOnHost", ""), *in = ctr_json_s(d, "PathInContainer", "");
			const char *perm = ctr_json_s(d, "CgroupPermissions", "rwm");
			ctr_list_add(&c->devices, ctr_own(c, ctr_strf("%s:%s:%s", h, in, perm)));
		}
	}
	c->stop_timeout = mr_json_get(cfg, "StopTimeout") ? (int)ctr_json_i(cfg, "StopTimeout") : -1;
	c->restart = ctr_json_s(rp, "Name", "no");
	c->restart_max = (int)ctr_json_i(rp, "MaximumRetryCount");
	{
		const struct mr_json *m = mr_json_get(hc, "Mounts");
		for (m = m && m->type == MR_JSON_ARRAY ? m->child : NULL; m; m = m->next) {
			c->mnt = util_xrealloc(c->mnt, (c->nmnt + 1) * sizeof *c->mnt);
			if (mount_read_json(m, &c->mnt[c->nmnt], err) < 0)
				return mr_err_ctx(err, "container %.12s: config.json", id);
			c->nmnt++;
		}
	}
	for (i = 0; i < c->security_opt.n; i++)
		if (ctr_opt_nnp(c->security_opt.v[i]))
			c->no_new_privs = 1;
	return 0;
}

/* Atomic replace of a small file; `sync` = fsync the data and the folder
 * first (durable records); without it only the atomicity is kept (records of
 * --rm containers, start stamps: losing one to a power cut is harmless). */
static int ctr_write_file(int dirfd, const char *name, const void *data, size_t len, int sync,
			  struct mr_err *err)
{
	char tmp[NAME_MAX + 1];
	int fd;
	if (sync)
		return mr_write_atomic(dirfd, name, data, len, 0600, err);
	snprintf(tmp, sizeof tmp, ".tmp.%d.%.200s", (int)getpid(), name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return mr_err_sys(err, "write %s", name);
	if (util_write_all(fd, data, len) < 0) {
		mr_err_sys(err, "write %s", name);
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		mr_err_sys(err, "write %s", name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

static int ctr_save(struct mr_store *st, const struct ctr *c, int dirfd, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	int rc, fd = dirfd >= 0 ? dirfd : ctr_dir(st, c->id, err);
	if (fd < 0)
		return -1;
	ctr_config_json(st, c, &b);
	rc = ctr_write_file(fd, "config.json", b.data, b.len, !c->auto_remove, err);
	mr_buf_free(&b);
	if (dirfd < 0)
		close(fd);
	return rc;
}

/* ---- state.json and the live state ---- */

static void ctr_now(char *out, size_t size)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	util_time_rfc3339(&ts, out, size);
}

/* The fields of state.json, in its order: ints (running, oom_killed and
 * stopped_by_user as JSON booleans) and the strings. */
static const struct { char key[14]; unsigned char type, off, size; } ctr_state_fields[] = {
#define CS(k, t, m) { k, t, offsetof(struct ctr_state, m), sizeof(((struct ctr_state *)0)->m) }
	CS("Running", CF_BOOL, running), CS("ExitCode", CF_INT, exit_code),
	CS("OOMKilled", CF_BOOL, oom_killed), CS("RestartCount", CF_INT, restart_count),
	CS("StoppedByUser", CF_BOOL, stopped_by_user), CS("StartedAt", CF_STR, started),
	CS("FinishedAt", CF_STR, finished), CS("Error", CF_STR, error),
#undef CS
};

static int ctr_state_read(struct mr_store *st, const char *id, struct ctr_state *s)
{
	char path[32 + CTR_ID_LEN];
	struct mr_buf b = { 0 };
	struct mr_json_doc doc = { 0 };
	struct mr_err ignored;
	size_t i;
	int rc = -1;
	memset(s, 0, sizeof *s);
	snprintf(path, sizeof path, "containers/%s/state.json", id);
	if (mr_read_file(st->rootfd, path, &b, 65536, &ignored) == 0 &&
	    mr_json_parse(&doc, b.data, b.len, &ignored) == 0) {
		for (i = 0; i < sizeof ctr_state_fields / sizeof ctr_state_fields[0]; i++) {
			const char *k = ctr_state_fields[i].key;
			char *p = (char *)s + ctr_state_fields[i].off;
			if (ctr_state_fields[i].type == CF_STR)
				util_scopy(p, ctr_state_fields[i].size, ctr_json_s(doc.root, k, ""));
			else if (ctr_state_fields[i].type == CF_BOOL)
				*(int *)p = ctr_json_b(doc.root, k);
			else
				*(int *)p = (int)ctr_json_i(doc.root, k);
		}
		rc = 0;
	}
	mr_json_free(&doc);
	mr_buf_free(&b);
	return rc;
}

static int ctr_state_write(struct mr_store *st, const char *id, const struct ctr_state *s,
			   int sync, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	struct mr_jw w;
	size_t i;
	int rc, fd = ctr_dir(st, id, err);
	if (fd < 0)
		return -1;
	mr_jw_init(&w, &b, 0);
	mr_jw_obj(&w);
	for (i = 0; i < sizeof ctr_state_fields / sizeof ctr_state_fields[0]; i++) {
		const char *p = (const char *)s + ctr_state_fields[i].off;
		mr_jw_key(&w, ctr_state_fields[i].key);
		if (ctr_state_fields[i].type == CF_STR)
			mr_jw_str(&w, p);
		else if (ctr_state_fields[i].type == CF_BOOL)
			mr_jw_bool(&w, *(const int *)p);
		else
			mr_jw_int(&w, *(const int *)p);
	}
	mr_jw_obj_end(&w);
	rc = ctr_write_file(fd, "state.json", b.data, b.len, sync, err);
	mr_buf_free(&b);
	close(fd);
	return rc;
}

/* A small file (at dirfd, opened with O_RDONLY | O_CLOEXEC | flags) into
 * buf, NUL-terminated: its length, or -1 (buf is "" then). */
static ssize_t ctr_read_small(int dirfd, const char *path, int flags, char *buf, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | flags);
	ssize_t n = fd < 0 ? -1 : util_read_full(fd, buf, size - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* /proc/PID/name of a process into buf, as ctr_read_small. */
static ssize_t ctr_read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[48];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	return ctr_read_small(AT_FDCWD, path, 0, buf, size);
}

/* Start time of a process (clock ticks since boot, /proc/PID/stat field 22):
 * a pid with another start time is another process. 0 if gone (or a zombie). */
static unsigned long long ctr_pid_start(pid_t pid)
{
	char buf[512], *p;
	unsigned long long v = 0;
	int i;
	if (pid <= 0)
		return 0;
	ctr_read_proc(pid, "stat", buf, sizeof buf);
	p = strrchr(buf, ')');
	/* a zombie has exited: only its parent's wait is missing */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	/* after ")": state is field 3; starttime is field 22 */
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

/* rundir/ID (created on demand) as an fd. */
static int ctr_rundir(struct mr_store *st, const char *id, int create)
{
	char path[MINIRUN_MAX_PATH + 80];
	snprintf(path, sizeof path, "%s/%s", st->rundir, id);
	if (create && mkdir(path, 0700) < 0 && errno == ENOENT) {
		/* rundir itself is made on first use: it lives on tmpfs */
		char *slash;
		for (slash = path + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
			*slash = 0;
			mkdir(path, 0711);
			*slash = '/';
		}
		mkdir(path, 0700);
	}
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Live state line: "pid start monitor status\n" (status 'r' running, 'R'
 * waiting to restart, 's' starting). */
struct ctr_rt {
	pid_t pid, monitor;
	unsigned long long start;
	char status;
};

static int ctr_rt_read(int rfd, struct ctr_rt *rt)
{
	char buf[128];
	int pid = 0, mon = 0;
	memset(rt, 0, sizeof *rt);
	if (ctr_read_small(rfd, "state", O_NOFOLLOW, buf, sizeof buf) <= 0)
		return -1;
	{
		const char *q = buf;
		uint64_t start;
		char status[4];
		if (util_word_int(&q, &pid) < 0 || util_word_u64(&q, &start, 10) < 0 ||
		    util_word_int(&q, &mon) < 0 || util_word(&q, status, sizeof status) < 0 ||
		    status[1])
			return -1;
		rt->start = start;
		rt->status = status[0];
	}
	rt->pid = pid;
	rt->monitor = mon;
	return 0;
}

static void ctr_rt_write(int rfd, const struct ctr_rt *rt)
{
	char buf[96];
	struct mr_err ignored;
	int n = snprintf(buf, sizeof buf, "%d %llu %d %c\n", (int)rt->pid, rt->start,
			 (int)rt->monitor, rt->status);
	ctr_write_file(rfd, "state", buf, (size_t)n, 0, &ignored);
}

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#endif

/* The owner lock: an OFD lock (Linux 3.15), like flock() owned by the open
 * file (a clone of the owner shares it until its exec), but testable with
 * F_OFD_GETLK without taking it: looking at a container (ps, wait, exec)
 * never makes a concurrent start fail. 0 taken, -1 with errno (EAGAIN: held). */
static int ctr_lock_take(int fd, int wait)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
}

/* Is the owner lock of rundir/ID held (a monitor or foreground CLI alive)? */
static int ctr_monitor_alive(int rfd)
{
	struct flock fl;
	int fd = openat(rfd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC), alive = 0;
	if (fd < 0)
		return 0;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		alive = 1;
	close(fd);
	return alive;
}

static void ctr_info_get(struct mr_store *st, const char *id, struct ctr_info *ci)
{
	int rfd = ctr_rundir(st, id, 0);
	struct ctr_rt rt;
	memset(ci, 0, sizeof *ci);
	ctr_state_read(st, id, &ci->st);
	if (rfd >= 0 && ctr_monitor_alive(rfd) && ctr_rt_read(rfd, &rt) == 0) {
		ci->monitor = rt.monitor;
		if (rt.status == 'R') {
			ci->status = CTR_RESTARTING;
		} else if (rt.pid > 0 && ctr_pid_start(rt.pid) == rt.start) {
			char buf[64];
			ci->status = CTR_RUNNING;
			ci->pid = rt.pid;
			ci->pid_start = rt.start;
			/* written by the owner, "Status" first: {"Status":"healthy",... */
			ctr_read_small(rfd, "health.json", O_NOFOLLOW, buf, sizeof buf);
			if (!strncmp(buf, "{\"Status\":\"", 11))
				snprintf(ci->health, sizeof ci->health, "%.*s", (int)strcspn(buf + 11, "\""),
					 buf + 11);
		} else {
			/* between an exit and its record: report the last known */
			ci->status = ci->st.running ? CTR_RUNNING : ci->st.finished[0] ?
				     CTR_EXITED : CTR_CREATED;
		}
	} else if (ci->st.running) {
		/* Started, but nothing owns it any more: its monitor was killed or
		 * the machine rebooted. Docker shows such containers as exited 255. */
		ci->status = CTR_EXITED;
		ci->st.exit_code = 255;
		if (!ci->st.finished[0])
			util_scopy(ci->st.finished, sizeof ci->st.finished, ci->st.started);
	} else {
		ci->status = ci->st.finished[0] ? CTR_EXITED : CTR_CREATED;
	}
	if (rfd >= 0)
		close(rfd);
}

/* Containers that use an image, running and stopped apart (rmi's conflicts
 * differ: a running user cannot be forced away, a stopped one can): how many
 * of each and the first one's short ID. */
struct ctr_image_users {
	int running, stopped;
	char running_who[16], stopped_who[16];
};

static void container_image_users(struct mr_store *st, const char *image_id,
				  struct ctr_image_users *u)
{
	int fd = ctr_containers_dir(st);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char want[MR_DIGEST_LEN + 16];
	memset(u, 0, sizeof *u);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(want, sizeof want, "\"Image\":\"%s\"", image_id);
	while ((de = readdir(d)) != NULL) {
		char path[32 + CTR_ID_LEN];
		struct mr_buf b = { 0 };
		struct mr_err ignored;
		struct ctr_info ci;
		if (!ctr_is_id(de->d_name))
			continue;
		snprintf(path, sizeof path, "%s/config.json", de->d_name);
		if (mr_read_file(fd, path, &b, MINIRUN_MAX_JSON, &ignored) == 0 && strstr(b.data, want)) {
			ctr_info_get(st, de->d_name, &ci);
			if (ci.status == CTR_RUNNING || ci.status == CTR_RESTARTING) {
				if (!u->running++)
					snprintf(u->running_who, sizeof u->running_who, "%.12s", de->d_name);
			} else if (!u->stopped++) {
				snprintf(u->stopped_who, sizeof u->stopped_who, "%.12s", de->d_name);
			}
		}
		mr_buf_free(&b);
	}
	closedir(d);
}

/* How many containers use the image; the first one's short ID goes to who. */
static int container_users_of_image(struct mr_store *st, const char *image_id, char *who,
				    size_t size)
{
	struct ctr_image_users u;
	container_image_users(st, image_id, &u);
	util_scopy(who, size, u.running ? u.running_who : u.stopped_who);
	return u.running + u.stopped;
}

/* ---- the run/create front end: the image config and the flags into the spec ----
 * Docker's merge rules, one group of the spec per function, each checking
 * what it takes; spec_from_opts ([19b]) calls them in order. */

/* The image (by name, ID or prefix) and its config into c->img; its layers. */
static int ctr_spec_image(struct mr_store *st, const char *ref, struct ctr *c, struct mr_err *err)
{
	struct image_db db = { 0 };
	struct image_rec *r;
	struct mr_buf b = { 0 };
	size_t i;
	int rc = -1;
	char path[96];
	if (image_db_read(st, &db, err) < 0 || !(r = image_db_find(&db, ref, err)))
		goto out;
	util_scopy(c->image, sizeof c->image, r->id);
	c->image_ref = ref;
	for (i = 0; i < r->nlayers; i++)
		ctr_list_add(&c->layers, ctr_own(c, util_xstrdup(r->layers[i])));
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(r->id));
	if (mr_read_file(st->rootfd, path, &b, MINIRUN_MAX_JSON, err) < 0 ||
	    mr_json_parse(&c->img, b.data, b.len, err) < 0) {
		mr_err_ctx(err, "image %.19s: config", r->id);
		goto out;
	}
	rc = 0;
out:
	mr_buf_free(&b);
	image_db_free(&db);
	return rc;
}

/* A new random ID; the name asked for, or a generated one. */
static int ctr_spec_identity(struct ctr *c, const char *name, struct mr_err *err)
{
	unsigned char rnd[32];
	if (name && !ctr_name_valid(name))
		return mr_err_set(err, MR_EINVAL_INPUT, "Invalid container name (%s), only "
				  "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
	if (util_random(rnd, sizeof rnd) < 0)
		return mr_err_sys(err, "random");
	util_hex(rnd, sizeof rnd, c->id);
	if (name)
		util_scopy(c->name, sizeof c->name, *name == '/' ? name + 1 : name);
	else
		ctr_name_generate(c->name, sizeof c->name);
	return 0;
}

/* process: command, environment, working directory, user, terminal. */
static int ctr_spec_process(struct ctr *c, const struct ctr_opts *o, const struct mr_json *cfg,
			    struct mr_err *err)
{
	struct ctr_list img_ep = { 0 }, img_cmd = { 0 };
	size_t i;
	ctr_json_list(mr_json_get(cfg, "Entrypoint"), &img_ep);
	ctr_json_list(mr_json_get(cfg, "Cmd"), &img_cmd);
	ctr_command_merge(&c->entrypoint, &c->cmd, &img_ep, &img_cmd, o->entrypoint, o->args,
			  o->nargs);
	ctr_list_free(&img_ep);
	ctr_list_free(&img_cmd);
	if (!c->entrypoint.n && !c->cmd.n)
		return mr_err_set(err, MR_EINVAL_INPUT, "No command specified");
	for (i = 0; i < o->env_file.n; i++)
		if (ctr_env_file(c, o->env_file.v[i], err) < 0)
			return -1;
	for (i = 0; i < o->env.n; i++)
		if (ctr_env_add_arg(c, o->env.v[i]) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid environment variable: %s",
					  o->env.v[i]);
	/* the image's variables after the flags' (Docker's Config.Env order) */
	ctr_env_merge_image(&c->env, mr_json_get(cfg, "Env"));
	c->workdir = o->workdir ? o->workdir : ctr_json_s(cfg, "WorkingDir", "");
	if (*c->workdir && *c->workdir != '/')
		return mr_err_set(err, MR_EINVAL_INPUT, "the working directory '%s' is invalid, it "
				  "needs to be an absolute path", c->workdir);
	c->user = o->user ? o->user : ctr_json_s(cfg, "User", "");
	ctr_list_extend(&c->group_add, o->group_add.v, o->group_add.n);
	c->tty = (unsigned char)(o->tty > 0);
	c->interactive = (unsigned char)(o->interactive > 0);
	c->init = (unsigned char)(o->init > 0);
	return 0;
}

/* namespaces: UTS (and the host name), IPC, PID; /dev/shm; sysctls (which
 * must belong to a namespace the container has of its own). */
static int ctr_spec_namespaces(struct ctr *c, const struct ctr_opts *o, struct mr_err *err)
{
	const char *hostname = o->hostname;
	int uts_host = o->uts && !strcmp(o->uts, "host");
	uint64_t v;
	size_t i;
	if (o->uts && *o->uts && !uts_host)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid UTS mode: %s (host, or none for a "
				  "private one)", o->uts);
	if (uts_host && hostname)
		return mr_err_set(err, MR_EINVAL_INPUT, "Conflicting options: hostname and "
				  "the UTS mode");
	c->uts_mode = uts_host ? "host" : "";
	/* --uts host or --network host: the host's name (Docker), else the short ID */
	if (!hostname && (uts_host || (o->network && !strcmp(o->network, "host")))) {
		char host[65] = "";
		gethostname(host, sizeof host - 1);
		hostname = ctr_own(c, util_xstrdup(host));
	}
	c->hostname = hostname ? hostname : ctr_own(c, util_xstrndup(c->id, 12));
	if (!*c->hostname || strlen(c->hostname) > 64)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid hostname \"%s\"", c->hostname);
	if (o->ipc && strcmp(o->ipc, "host") && strcmp(o->ipc, "private") &&
	    strcmp(o->ipc, "shareable"))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid IPC mode: %s (host, private or "
				  "shareable)", o->ipc);
	c->ipc_mode = o->ipc ? o->ipc : "private";
	if (o->pid && *o->pid && strcmp(o->pid, "host"))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid PID mode: %s (host, or none for a "
				  "private one)", o->pid);
	c->pid_mode = o->pid && *o->pid ? "host" : "";
	if (o->shm_size) {
		if (util_parse_size(o->shm_size, &v) < 0 || v == 0 || v > ((uint64_t)1 << 40))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid size: '%s'", o->shm_size);
		c->shm_size = (int64_t)v;
	}
	for (i = 0; i < o->sysctl.n; i++) {
		if (ctr_sysctl_check(o->sysctl.v[i], o->network && !strcmp(o->network, "host"),
				     !strcmp(c->ipc_mode, "host"), err) < 0)
			return -1;
		ctr_env_set(&c->sysctls, o->sysctl.v[i]);
	}
	return 0;
}

/* resources: memory, swap, CPUs, processes; rlimits. */
static int ctr_spec_resources(struct ctr *c, const struct ctr_opts *o, struct mr_err *err)
{
	uint64_t v;
	size_t i;
	if (o->memory) {
		if (util_parse_size(o->memory, &v) < 0 || v > INT64_MAX)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --memory %s", o->memory);
		if (v && v < 6u << 20)
			return mr_err_set(err, MR_EINVAL_INPUT, "Minimum memory limit allowed is 6MB");
		c->memory = (int64_t)v;
	}
	if (o->memory_swap) {
		if (!strcmp(o->memory_swap, "-1"))
			c->memory_swap = -1;
		else if (util_parse_size(o->memory_swap, &v) < 0 || v > INT64_MAX)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --memory-swap %s", o->memory_swap);
		else
			c->memory_swap = (int64_t)v;
		if (!c->memory)
			return mr_err_set(err, MR_EINVAL_INPUT, "You should always set the Memory limit "
					  "when using Memoryswap limit, see usage");
		if (c->memory_swap > 0 && c->memory_swap < c->memory)
			return mr_err_set(err, MR_EINVAL_INPUT, "Minimum memoryswap limit should be "
					  "larger than memory limit, see usage");
	}
	if (o->cpus) {
		long ncpu = util_ncpu();
		if (ctr_cpus_parse(o->cpus, &c->nano_cpus) < 0 ||
		    (c->nano_cpus && (c->nano_cpus < 10000000 || c->nano_cpus > ncpu * 1000000000LL)))
			return mr_err_set(err, MR_EINVAL_INPUT, "Range of CPUs is from 0.01 to %ld.00, "
					  "as there are only %ld CPUs available", ncpu, ncpu);
	}
	if (o->pids_limit) {
		long long n = strtoll(o->pids_limit, NULL, 10);
		if (util_parse_u64(o->pids_limit + (*o->pids_limit == '-'), &v) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --pids-limit %s", o->pids_limit);
		c->pids_limit = n > 0 ? n : 0;
	}
	for (i = 0; i < o->ulimit.n; i++) {
		long long soft = 0, hard = 0;
		const char *eq = strchr(o->ulimit.v[i], '=');
		if (ctr_ulimit_parse(o->ulimit.v[i], &soft, &hard, err) < 0)
			return -1;
		ctr_env_set(&c->ulimits, ctr_own(c, ctr_strf("%.*s=%lld:%lld",
			    (int)(eq - o->ulimit.v[i]), o->ulimit.v[i], soft, hard)));
	}
	return 0;
}

#if MINIRUN_WITH_SECCOMP_PROFILE
/* --security-opt seccomp=FILE: the profile is read now and kept as
 * "seccomp=" and its JSON (compacted), as Docker's client sends it: start
 * and restart use the stored text, inspect shows it in SecurityOpt. */
static int ctr_seccomp_file(struct ctr *c, const char *path, struct mr_err *err)
{
	struct mr_buf raw = { 0 }, out = { 0 };
	struct mr_json_doc doc;
	struct mr_jw w;
	char chunk[4096];
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && raw.len <= MINIRUN_MAX_JSON && (n = read(fd, chunk, sizeof chunk)) > 0)
		mr_buf_append(&raw, chunk, (size_t)n);
	if (fd < 0 || n < 0) {
		mr_err_sys(err, "opening seccomp profile (%s) failed", path);
		goto fail;
	}
	close(fd);
	fd = -1;
	if (mr_json_parse(&doc, raw.data ? raw.data : "", raw.len, err) < 0) {
		mr_err_ctx(err, "seccomp profile %s", path);
		goto fail;
	}
	mr_buf_append(&out, "seccomp=", 8);
	mr_jw_init(&w, &out, 0);
	mr_jw_value(&w, doc.root);
	mr_json_free(&doc);
	mr_buf_free(&raw);
	ctr_list_add(&c->security_opt, ctr_own(c, out.data));
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	mr_buf_free(&raw);
	return -1;
}
#else
static int ctr_seccomp_file(struct ctr *c, const char *path, struct mr_err *err)
{
	(void)c;
	return mr_err_set(err, MR_EINVAL_INPUT, "--security-opt seccomp=%s: built without "
			  "MINIRUN_WITH_SECCOMP_PROFILE", path);
}
#endif

/* capabilities, devices, seccomp and the other security options. */
static int ctr_spec_security(struct ctr *c, const struct ctr_opts *o, struct mr_err *err)
{
	size_t i;
	ctr_list_extend(&c->cap_add, o->cap_add.v, o->cap_add.n);
	ctr_list_extend(&c->cap_drop, o->cap_drop.v, o->cap_drop.n);
	c->privileged = (unsigned char)(o->privileged > 0);
	c->readonly = (unsigned char)(o->read_only > 0);
	if (o->device.n > DEV_MAX)
		return mr_err_set(err, MR_EINVAL_INPUT, "too many --device: at most %d", DEV_MAX);
	for (i = 0; i < o->device.n; i++) {
		struct dev_node dn;
		char acc[4];
		if (dev_resolve(o->device.v[i], &dn, err) < 0)
			return -1;
		ctr_list_add(&c->devices, ctr_own(c, ctr_strf("%s:%s:%s", dn.host, dn.path,
			     dev_access_str(dn.rule.access, acc))));
	}
	for (i = 0; i < o->device_rule.n; i++) {
		struct dev_rule rule;
		if (dev_rule_parse(o->device_rule.v[i], &rule) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid device cgroup format '%s'",
					  o->device_rule.v[i]);
		ctr_list_add(&c->device_rules, o->device_rule.v[i]);
	}
	for (i = 0; i < o->security_opt.n; i++) {
		const char *s = o->security_opt.v[i];
		if (ctr_opt_nnp(s))
			c->no_new_privs = 1;
		else if (!strncmp(s, "seccomp", 7) && (s[7] == '=' || s[7] == ':') &&
			 strcmp(s + 8, "unconfined") && s[8] != '{') {
			if (ctr_seccomp_file(c, s + 8, err) < 0)
				return -1;
			continue;
		} else if (strcmp(s, "no-new-privileges:false") && strcmp(s, "no-new-privileges=false") &&
			 strncmp(s, "seccomp", 7) && strncmp(s, "apparmor", 8) && strncmp(s, "label", 5))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --security-opt: \"%s\"", s);
		ctr_list_add(&c->security_opt, s);
	}
	return 0;
}

/* health: the image's HEALTHCHECK, each --health-* flag replacing its part,
 * --no-healthcheck none (Docker's rules). */
static int ctr_spec_health(struct ctr *c, const struct ctr_opts *o, const struct mr_json *cfg,
			   struct mr_err *err)
{
	const char *const vals[] = { o->health_interval, o->health_timeout, o->health_start };
	int64_t *const dst[] = { &c->health_interval, &c->health_timeout, &c->health_start };
	static const char *const names[] = { "interval", "timeout", "start-period" };
	uint64_t retries;
	size_t i;
	if (o->no_healthcheck) {
		if (o->health_cmd)
			return mr_err_set(err, MR_EINVAL_INPUT, "--no-healthcheck conflicts with "
					  "--health-* options");
		return 0;
	}
	ctr_health_read(c, mr_json_get(cfg, "Healthcheck"));
	if (o->health_cmd) {
		ctr_list_free(&c->health_test);
		ctr_list_add(&c->health_test, "CMD-SHELL");
		ctr_list_add(&c->health_test, o->health_cmd);
	}
	for (i = 0; i < 3; i++)
		if (vals[i] && (util_parse_duration(vals[i], dst[i]) < 0 ||
				(*dst[i] != 0 && *dst[i] < 1000000)))
			return mr_err_set(err, MR_EINVAL_INPUT, "--health-%s: invalid duration %s "
					  "(30s, 1m30s; at least 1ms)", names[i], vals[i]);
	if (o->health_retries) {
		if (util_parse_u64(o->health_retries, &retries) < 0 || retries > 1000)
			return mr_err_set(err, MR_EINVAL_INPUT, "--health-retries: invalid number %s",
					  o->health_retries);
		c->health_retries = (int)retries;
	}
	return 0;
}

/* One --log-opt (or boot key `log`): Docker's json-file max-size and
 * max-file, and location=ram|store; several may share one value, separated
 * by commas ("max-size=64k,max-file=2,location=ram"). */
static int ctr_log_opts(struct ctr *c, const char *opts, struct mr_err *err)
{
	char one[128];
	const char *s = opts;
	uint64_t v;
	while (*s) {
		size_t n = strcspn(s, ",");
		snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), s);
		if (!strncmp(one, "max-size=", 9) && util_parse_size(one + 9, &v) == 0 && v >= 4096) {
			c->log_max_size = v;
		} else if (!strncmp(one, "max-file=", 9) && util_parse_u64(one + 9, &v) == 0 &&
			   v >= 1 && v <= 100) {
			c->log_max_file = (int)v;
		} else if (!strcmp(one, "location=ram") || !strcmp(one, "location=store")) {
			c->log_ram = one[9] == 'r';
		} else {
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid log opt '%s' (max-size=SIZE of "
					  "at least 4k, max-file=1..100, location=ram|store)", one);
		}
		s += n + (s[n] == ',');
	}
	return 0;
}

/* lifecycle: stop signal and timeout, restart policy, --rm, log limits;
 * labels (the image's, then the flags'). */
static int ctr_spec_lifecycle(struct ctr *c, const struct ctr_opts *o, const struct mr_json *cfg,
			      struct mr_err *err)
{
	uint64_t v;
	size_t i;
	ctr_json_kv(c, mr_json_get(cfg, "Labels"), &c->labels);
	for (i = 0; i < o->label.n; i++)
		ctr_env_set(&c->labels, o->label.v[i]);
	c->stop_signal = o->stop_signal ? o->stop_signal : ctr_json_s(cfg, "StopSignal", "SIGTERM");
	if (ctr_spec_health(c, o, cfg, err) < 0)
		return -1;
	if (!ctr_signal_parse(c->stop_signal))
		return mr_err_set(err, MR_EINVAL_INPUT, "Invalid signal: %s", c->stop_signal);
	if (o->stop_timeout) {
		if (util_parse_u64(o->stop_timeout, &v) < 0 || v > 1000000)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --stop-timeout %s",
					  o->stop_timeout);
		c->stop_timeout = (int)v;
	}
	if (o->restart && ctr_restart_parse(o->restart, &c->restart, &c->restart_max) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid restart policy format: %s",
				  o->restart);
	if (o->rm && strcmp(c->restart, "no"))
		return mr_err_set(err, MR_EINVAL_INPUT, "Conflicting options: --restart and --rm");
	c->auto_remove = (unsigned char)(o->rm > 0);
	for (i = 0; i < o->log_opt.n; i++)
		if (ctr_log_opts(c, o->log_opt.v[i], err) < 0)
			return -1;
	return 0;
}

/* `--volumes-from CONTAINER[:ro|:rw]`: append that container's volumes and
 * bind mounts (not its tmpfs), in its mode unless :ro or :rw says otherwise.
 * They are recorded in our own mounts, so `volume rm` names us too. */
static int ctr_volumes_from(struct mr_store *st, const char *arg, struct mount_spec **from,
			    size_t *nfrom, struct mr_err *err)
{
	char ref[CTR_NAME_MAX + 8], id[CTR_ID_LEN + 1], *colon;
	struct ctr src;
	size_t i;
	int ro = -1, rc;
	util_scopy(ref, sizeof ref, arg);
	if ((colon = strchr(ref, ':')) != NULL) {
		if (strcmp(colon + 1, "ro") && strcmp(colon + 1, "rw"))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid mode: %s", colon + 1);
		ro = colon[2] == 'o';
		*colon = 0;
	}
	ctr_init(&src);
	rc = ctr_find(st, ref, id, err) < 0 || ctr_load(st, id, &src, err) < 0 ? -1 : 0;
	for (i = 0; rc == 0 && i < src.nmnt; i++) {
		struct mount_spec *m;
		if (src.mnt[i].type == MOUNT_TMPFS)
			continue;
		*from = util_xrealloc(*from, (*nfrom + 1) * sizeof **from);
		m = &(*from)[(*nfrom)++];
		*m = src.mnt[i];
		m->from_v = 0;
		if (ro >= 0) {
			m->readonly = ro;
			util_scopy(m->mode, sizeof m->mode, ro ? "ro" : "rw");
		}
	}
	ctr_free(&src);
	return rc;
}

/* The index of the mount at target among the container's, or nmnt. */
static size_t ctr_mnt_find(const struct ctr *c, const char *target)
{
	size_t j;
	for (j = 0; j < c->nmnt && strcmp(c->mnt[j].target, target); j++) {}
	return j;
}

/* mounts: -v, --mount, --tmpfs, then --volumes-from for targets not taken
 * yet, then an anonymous volume for each VOLUME of the image that no mount
 * covers. Parsed only: ctr_mounts_prepare creates what they need. */
static int ctr_spec_mounts(struct mr_store *st, const struct ctr_opts *o, struct ctr *c,
			   const struct mr_json *cfg, struct mr_err *err)
{
	const struct mr_json *v = mr_json_get(cfg, "Volumes");
	struct mount_spec *from = NULL;
	size_t i, j, nfrom = 0, k = o->volume.n + o->mount.n + o->tmpfs.n, n = k;
	int rc = 0;
	for (i = 0; i < o->volumes_from.n && rc == 0; i++) {
		rc = ctr_volumes_from(st, o->volumes_from.v[i], &from, &nfrom, err);
		ctr_list_add(&c->volumes_from, o->volumes_from.v[i]);
	}
	for (v = v && v->type == MR_JSON_OBJECT ? v->child : NULL; v; v = v->next)
		n++;
	c->mnt = util_xcalloc(n + nfrom, sizeof *c->mnt);
	for (i = 0; i < k + nfrom && rc == 0; i++) {
		struct mount_spec *m = &c->mnt[c->nmnt];
		if (i < o->volume.n)
			rc = mount_parse_v(o->volume.v[i], m, err);
		else if (i < o->volume.n + o->mount.n)
			rc = mount_parse_mount(o->mount.v[i - o->volume.n], m, err);
		else if (i < k)
			rc = mount_parse_tmpfs(o->tmpfs.v[i - o->volume.n - o->mount.n], m, err);
		else
			*m = from[i - k];
		j = ctr_mnt_find(c, m->target);
		if (rc == 0 && j < c->nmnt && i < k)
			rc = mr_err_set(err, MR_EINVAL_INPUT, "Duplicate mount point: %s", m->target);
		else if (rc == 0 && j == c->nmnt)
			c->nmnt++;  /* a mount of our own wins over --volumes-from's */
	}
	free(from);
	if (rc < 0)
		return -1;
	for (v = mr_json_get(cfg, "Volumes"), v = v && v->type == MR_JSON_OBJECT ? v->child : NULL;
	     v; v = v->next) {
		struct mount_spec *m = &c->mnt[c->nmnt];
		if (ctr_mnt_find(c, v->key) < c->nmnt || v->key[0] != '/' ||
		    strlen(v->key) >= sizeof m->target)
			continue;
		memset(m, 0, sizeof *m);
		m->type = MOUNT_VOLUME;
		m->anonymous = 1;
		m->propagation = MS_PRIVATE | MS_REC;
		/* the image's VOLUME is cleaned and checked like -v's ("/.." is "/") */
		if (mount_target_ok(m, v->key, v->key, err) < 0)
			return -1;
		if (ctr_mnt_find(c, m->target) == c->nmnt)
			c->nmnt++;
	}
	return 0;
}

/* Remove the volumes made for a container that was not created. */
static void ctr_mounts_undo(struct mr_store *st, struct ctr *c, size_t n)
{
	struct mr_err ignored;
	size_t i;
	for (i = 0; i < n && i < c->nmnt; i++)
		if (c->mnt[i].type == MOUNT_VOLUME && c->mnt[i].created)
			volume_remove(st, c->mnt[i].source, &ignored);
}

/* Named volumes are created (and filled from the image later), missing -v
 * host folders too ([11] mount_prepare); on failure nothing stays. */
static int ctr_mounts_prepare(struct mr_store *st, struct ctr *c, struct mr_err *err)
{
	size_t i;
	for (i = 0; i < c->nmnt; i++)
		if (mount_prepare(st, &c->mnt[i], err) < 0) {
			ctr_mounts_undo(st, c, i);
			c->nmnt = 0;
			return -1;
		}
	return 0;
}

/* ---- stopping and listing containers (stop, rm, ps, stats, system df, boot) ----
 * What the commands show is gathered here into struct ctr_row (the record
 * and its state); [21] only parses the options and prints. */

/* Wait until pid (with its start time) is gone; 0 if it went within ms
 * (ms < 0: no limit). */
static int ctr_wait_pid(pid_t pid, unsigned long long start, long ms)
{
	long waited = 0, step = 2;
	while (ctr_pid_start(pid) == start) {
		struct timespec t = { 0, step * 1000000L };
		if (ms >= 0 && waited >= ms)
			return -1;
		nanosleep(&t, NULL);
		waited += step;
		if (step < 64)
			step *= 2;
	}
	return 0;
}

/* Wait until nothing owns the container (its owner recorded the exit),
 * looking at the lock without taking it (see ctr_lock_take). */
static void ctr_wait_owner(struct mr_store *st, const char *id)
{
	int rfd = ctr_rundir(st, id, 0);
	long step = 2;
	if (rfd < 0)
		return;
	while (ctr_monitor_alive(rfd)) {
		struct timespec t = { 0, step * 1000000L };
		nanosleep(&t, NULL);
		if (step < 50)
			step *= 2;
	}
	close(rfd);
}

/* rundir/ID/stop: a user asked the container to stop (no restart). */
static void ctr_stop_mark(int rfd)
{
	int fd = openat(rfd, "stop", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

/* Docker's stop: the stop signal, SIGKILL after the timeout; the restart
 * policy does not apply to a container stopped by the user. */
static int ctr_stop(struct mr_store *st, struct ctr *c, long timeout, int sig, struct mr_err *err)
{
	struct ctr_info ci;
	int rfd;
	ctr_info_get(st, c->id, &ci);
	if (ci.status != CTR_RUNNING && ci.status != CTR_RESTARTING)
		return 0;
	rfd = ctr_rundir(st, c->id, 0);
	if (rfd < 0)
		return 0;
	ctr_stop_mark(rfd);
	close(rfd);
	if (ci.status == CTR_RESTARTING) {
		if (ci.monitor > 0)
			kill(ci.monitor, SIGTERM);
	} else if (ci.pid > 0) {
		if (!sig)
			sig = ctr_signal_parse(c->stop_signal);
		if (timeout < 0)
			timeout = c->stop_timeout >= 0 ? c->stop_timeout : 10;
		if (kill(ci.pid, sig ? sig : SIGTERM) < 0 && errno != ESRCH)
			return mr_err_sys(err, "stop container %s", c->name);
		if (ctr_wait_pid(ci.pid, ci.pid_start, timeout * 1000) < 0) {
			kill(ci.pid, SIGKILL);
			ctr_wait_pid(ci.pid, ci.pid_start, -1);
		}
	}
	ctr_wait_owner(st, c->id);
	return 0;
}

struct ctr_row {
	struct ctr c;
	int image_gone;                   /* its reference names another image now, or none */
	struct mr_store *st;
	int sized;                         /* ctr_rows_sizes filled the sizes */
	uint64_t size_rw, size_virtual;    /* writable layer; with its image */
	struct ctr_info ci;
};

static int ctr_row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ctr_row *)b)->c.created, ((const struct ctr_row *)a)->c.created);
}

/* The keys of `ps --filter KEY=VALUE`. */
static const char ctr_filter_keys[] = "id\0name\0status\0label\0ancestor\0exited\0health\0";

static int ctr_filter_known(const char *f)
{
	const char *k;
	for (k = ctr_filter_keys; *k; k += strlen(k) + 1)
		if (util_starts_with(f, k) && f[strlen(k)] == '=')
			return 1;
	return 0;
}

/* --filter: same key ORs, different keys AND (Docker's rule). */
static int ctr_filter_match(const struct ctr_row *r, const struct ctr_list *filters)
{
	const char *k;
	for (k = ctr_filter_keys; *k; k += strlen(k) + 1) {
		size_t i, kl = strlen(k);
		int any = 0, hit = 0;
		for (i = 0; i < filters->n; i++) {
			const char *f = filters->v[i], *v = f + kl + 1;
			if (strncmp(f, k, kl) || f[kl] != '=')
				continue;
			any = 1;
			if (!strcmp(k, "id")) {
				hit |= !strncmp(r->c.id, v, strlen(v));
			} else if (!strcmp(k, "name")) {
				char pat[CTR_NAME_MAX];
				size_t pl;
				int head = *v == '^';
				util_scopy(pat, sizeof pat, v + head);
				pl = strlen(pat);
				if (pl && pat[pl - 1] == '$')
					pat[--pl] = 0, hit |= head ? !strcmp(r->c.name, pat) :
						util_ends_with(r->c.name, pat);
				else
					hit |= head ? util_starts_with(r->c.name, pat) :
						strstr(r->c.name, pat) != NULL;
			} else if (!strcmp(k, "status")) {
				hit |= !strcmp(v, ctr_status_name(r->ci.status));
			} else if (!strcmp(k, "label")) {
				size_t j;
				for (j = 0; j < r->c.labels.n; j++)
					hit |= strchr(v, '=') ? !strcmp(r->c.labels.v[j], v) :
						ctr_env_keylen(r->c.labels.v[j]) == strlen(v) &&
						!strncmp(r->c.labels.v[j], v, strlen(v));
			} else if (!strcmp(k, "ancestor")) {
				hit |= !strcmp(r->c.image_ref, v) || !strncmp(r->c.image + 7, v, strlen(v)) ||
				       !strcmp(r->c.image, v);
			} else if (!strcmp(k, "exited")) {
				hit |= r->ci.status == CTR_EXITED && r->ci.st.exit_code == atoi(v);
			} else {                  /* health: healthy, unhealthy, starting, none */
				hit |= !strcmp(v, r->ci.health[0] ? r->ci.health : "none");
			}
		}
		if (any && !hit)
			return 0;
	}
	return 1;
}

/* Without -a, Docker lists only running containers whatever the filters,
 * except that a status filter widens the list to every state
 * (`ps -q -f name=db` is empty while db is stopped). */
static int ctr_filter_stopped(const struct ctr_list *filters)
{
	size_t i;
	for (i = 0; i < filters->n; i++)
		if (util_starts_with(filters->v[i], "status="))
			return 1;
	return 0;
}

/* Bytes of the files under a folder as Docker counts a layer: apparent
 * sizes of everything but folders, on its own filesystem. */
static uint64_t ctr_du(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	uint64_t sum = 0;
	struct stat top;
	if (!d) {
		close(dirfd);
		return 0;
	}
	fstat(dirfd, &top);
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || sb.st_dev != top.st_dev)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				sum += ctr_du(fd);
		} else {
			sum += (uint64_t)sb.st_size;
		}
	}
	closedir(d);
	return sum;
}

/* ps -s: each container's writable layer and, virtual, with its image. */
static void ctr_rows_sizes(struct mr_store *st, struct ctr_row *rows, size_t count)
{
	struct image_db db;
	struct mr_err ignored;
	size_t i;
	if (image_db_read(st, &db, &ignored) < 0)
		memset(&db, 0, sizeof db);
	for (i = 0; i < count; i++) {
		char path[48 + CTR_ID_LEN];
		const struct image_rec *r = image_db_by_id(&db, rows[i].c.image);
		int fd;
		uint64_t rw = 0;
		snprintf(path, sizeof path, "containers/%s/%s", rows[i].c.id,
			 strcmp(rows[i].c.driver, "overlay") ? "rootfs" : "upper");
		fd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			rw = ctr_du(fd);
		rows[i].sized = 1;
		rows[i].size_rw = rw;
		rows[i].size_virtual = rw + (r ? r->size : 0);
	}
	image_db_free(&db);
}

/* Every container of the store, newest first (free with ctr_rows_free). */
static struct ctr_row *ctr_rows(struct mr_store *st, size_t *count)
{
	int fd = ctr_containers_dir(st);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	struct ctr_row *rows = NULL;
	size_t n = 0;
	struct mr_err ignored;
	struct image_db db = { 0 };
	const struct image_rec *img;
	int have_db = image_db_read(st, &db, &ignored) == 0;
	if (!d && fd >= 0)
		close(fd);
	while (d && (de = readdir(d)) != NULL) {
		if (!ctr_is_id(de->d_name))
			continue;
		rows = util_xrealloc(rows, (n + 1) * sizeof *rows);
		if (ctr_load(st, de->d_name, &rows[n].c, &ignored) < 0) {
			ctr_free(&rows[n].c);
			continue;
		}
		ctr_info_get(st, de->d_name, &rows[n].ci);
		img = have_db ? image_db_find(&db, rows[n].c.image_ref, &ignored) : NULL;
		rows[n].image_gone = have_db && (!img || strcmp(img->id, rows[n].c.image));
		rows[n].st = st;
		rows[n].sized = 0;
		n++;
	}
	if (d)
		closedir(d);
	image_db_free(&db);
	if (n)
		qsort(rows, n, sizeof *rows, ctr_row_cmp);
	*count = n;
	return rows;
}
static void ctr_rows_free(struct ctr_row *rows, size_t count)
{
	size_t i;
	for (i = 0; i < count; i++)
		ctr_free(&rows[i].c);
	free(rows);
}
