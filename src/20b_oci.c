/* ==== [20b] OCI: runc's command line for containerd, Docker and k3s (bundles, config.json) ====
 * When minirun is called as runc (argv[0] named runc, or runc's global flags
 * --log, --log-format, --systemd-cgroup, --debug) it runs OCI bundles: a
 * folder with a runtime-spec 1.0.2 config.json and a root filesystem.
 * State lives in --root R (containerd: /run/containerd/runc/NAMESPACE):
 *   R/ID/state.json  id, pid and its start time, bundle, rootfs, created,
 *                    cgroup path, annotations (written once by create)
 *   R/ID/exec.fifo   runc's create/start split: the init, fully set up, blocks
 *                    opening it for writing; `start` reads it, the init execs
 *   R/ID/rootmnt     "MNTID ROOTFS": a container without a mount namespace
 *                    mounts in the caller's; written before its init mounts
 *                    anything, so that delete undoes them even after a
 *                    create that was killed
 * create leaves no process of its own: the init is reparented to the caller
 * (containerd's shim is a subreaper), as with runc. config.json is read
 * once, by create, into the container spec (spec_from_bundle: struct ctr and
 * its struct ctr_oci [19b]); the init and exec work from the spec. Set-up
 * follows the same named steps as minirun's own containers ([15]-[17]) and
 * reuses their helpers (mounts through /proc/self/fd, the pty, masked paths,
 * sysctl, the bounding set, seccomp, isolate_exec, signal names); the paths
 * come from the bundle instead of the store. */

#if MINIRUN_WITH_OCI
#include <poll.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/capability.h>

/* Global flags, as runc takes them. */
struct oci_g {
	const char *root, *log, *log_format;
	int debug, systemd;
	int logfd;
};

/* The record of a container: R/ID/state.json. */
struct oci_rec {
	struct mr_json_doc doc;
	const char *id, *bundle, *rootfs, *created, *cgroup;
	const struct mr_json *annotations;
	pid_t pid;
	unsigned long long start;
};

/* ---- logging: JSON lines to --log, errors also to stderr ---- */

static void oci_log(struct oci_g *g, const char *level, const char *msg)
{
	struct mr_buf b = { 0 };
	struct mr_jw w;
	struct timespec ts;
	char t[48];
	if (!strcmp(level, "error"))
		fprintf(stderr, "%s\n", msg);
	if (g->logfd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	util_time_rfc3339(&ts, t, sizeof t);
	if (g->log_format && !strcmp(g->log_format, "text")) {
		mr_buf_printf(&b, "time=\"%s\" level=%s msg=\"%s\"\n", t, level, msg);
	} else {
		mr_jw_init(&w, &b, 0);
		mr_jw_obj(&w);
		json_kstr(&w, "level", level);
		json_kstr(&w, "msg", msg);
		json_kstr(&w, "time", t);
		mr_jw_obj_end(&w);
		mr_buf_append(&b, "\n", 1);
	}
	if (b.data && util_write_all(g->logfd, b.data, b.len) < 0) {
		/* nowhere left to report it */
	}
	mr_buf_free(&b);
}

static int oci_fail(struct oci_g *g, struct mr_err *err)
{
	oci_log(g, "error", err->msg);
	return 1;
}

static void oci_warn(struct oci_g *g, const char *what, const char *arg)
{
	char msg[256];
	snprintf(msg, sizeof msg, "%s %s ignored", what, arg);
	oci_log(g, "warning", msg);
}

/* ---- small JSON readers ---- */

static const char *oci_s(const struct mr_json *o, const char *key)
{
	return mr_json_str(mr_json_get(o, key));
}

/* A string, or dflt when it is not there. */
static const char *oci_sd(const struct mr_json *o, const char *key, const char *dflt)
{
	const char *s = oci_s(o, key);
	return s ? s : dflt;
}

/* The first element of the array (or member of the object) at key. */
static const struct mr_json *oci_first(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v ? v->child : NULL;
}

static int oci_has(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_NUMBER;
}

/* A number that is there and not 0: runc writes nothing for a 0 (Docker
 * sends "weight": 0 for a controller the host may lack). */
static int oci_nz(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_NUMBER && v->num != 0;
}

static long long oci_i(const struct mr_json *o, const char *key, long long dflt)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_NUMBER ? util_strtoi(v->str, NULL, 10, LLONG_MIN, LLONG_MAX) :
	       dflt;
}

static int oci_b(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_TRUE;
}

/* A NULL-terminated array of the strings of a JSON array (malloc'ed). */
static char **oci_strv(const struct mr_json *arr)
{
	size_t n = arr && arr->type == MR_JSON_ARRAY ? arr->count : 0, i = 0;
	char **v = util_xcalloc(n + 1, sizeof *v);
	const struct mr_json *it;
	for (it = n ? arr->child : NULL; it; it = it->next)
		if (it->type == MR_JSON_STRING)
			v[i++] = (char *)it->str;
	return v;
}

/* The string s into the file at path (relative to dirfd), opened with
 * flags | O_WRONLY | O_CLOEXEC (mode 0644 if made); -1 with errno. */
static int oci_write_str(int dirfd, const char *path, int flags, const char *s)
{
	int fd = openat(dirfd, path, flags | O_WRONLY | O_CLOEXEC, 0644), e;
	if (fd < 0)
		return -1;
	if (util_write_all(fd, s, strlen(s)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

static int oci_read_json(const char *path, struct mr_json_doc *doc, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	int rc;
	if (!strcmp(path, "-")) {
		char chunk[4096];
		ssize_t n;
		while ((n = read(0, chunk, sizeof chunk)) > 0 && b.len < MINIRUN_MAX_JSON)
			mr_buf_append(&b, chunk, (size_t)n);
		rc = 0;
	} else {
		rc = mr_read_file(AT_FDCWD, path, &b, MINIRUN_MAX_JSON, err);
	}
	if (rc == 0 && mr_json_parse(doc, b.data ? b.data : "", b.len, err) < 0)
		rc = mr_err_ctx(err, "%s", path);
	mr_buf_free(&b);
	return rc < 0 ? -1 : 0;
}

/* ---- records ---- */

/* 0 for an id runc takes, else -1 with err. */
static int oci_id_check(const char *id, struct mr_err *err)
{
	size_t i;
	if (!id || !*id || strlen(id) > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		goto bad;
	for (i = 0; id[i]; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_+-.", id[i]))
			goto bad;
	return 0;
bad:
	return mr_err_set(err, MR_EINVAL_INPUT, "invalid container id: \"%s\"", id ? id : "");
}

static void oci_path(char *out, size_t size, const struct oci_g *g, const char *id, const char *f)
{
	snprintf(out, size, "%s/%s%s%s", g->root, id, f ? "/" : "", f ? f : "");
}

static int oci_rec_load(struct oci_g *g, const char *id, struct oci_rec *r, struct mr_err *err)
{
	char path[MINIRUN_MAX_PATH];
	const struct mr_json *o;
	memset(r, 0, sizeof *r);
	if (oci_id_check(id, err) < 0)
		return -1;
	oci_path(path, sizeof path, g, id, "state.json");
	if (access(path, F_OK) < 0)
		return mr_err_set(err, MR_ENOTFOUND, "container does not exist: %s", id);
	if (oci_read_json(path, &r->doc, err) < 0)
		return -1;
	o = r->doc.root;
	r->id = oci_s(o, "id");
	r->bundle = oci_s(o, "bundle");
	r->rootfs = oci_s(o, "rootfs");
	r->created = oci_s(o, "created");
	r->cgroup = oci_s(o, "cgroup");
	r->annotations = mr_json_get(o, "annotations");
	r->pid = (pid_t)oci_i(o, "pid", 0);
	r->start = (unsigned long long)oci_i(o, "start", 0);
	if (!r->id || !r->bundle || !r->cgroup) {
		mr_json_free(&r->doc);
		return mr_err_set(err, MR_EINVAL_INPUT, "container %s: damaged state.json", id);
	}
	return 0;
}

/* ---- cgroups: the container's folder at cgroupsPath in every hierarchy ----
 * v1 (and the hybrid layout of this kind of host): each controller mounted
 * under /sys/fs/cgroup gets the folder, plus the cgroup2 "unified" one; v2:
 * one folder. A value goes to the hierarchy named by its file's prefix. */

static void oci_cg_dir(char *out, size_t size, const char *hier, const char *cg)
{
	snprintf(out, size, CG_ROOT "%s%s%s", *hier ? "/" : "", hier, cg);
}

/* The hierarchies: "" alone on v2; else the cgroup mounts under CG_ROOT. */
static char **oci_cg_hiers(void)
{
	char **v = util_xcalloc(2, sizeof *v);
	size_t n = 0;
	DIR *d;
	struct dirent *de;
	if (cg_version() == 2) {
		v[0] = util_xstrdup("");
		return v;
	}
	d = opendir(CG_ROOT);
	while (d && (de = readdir(d)) != NULL) {
		struct stat sb;
		char p[300];
		snprintf(p, sizeof p, CG_ROOT "/%s", de->d_name);
		if (de->d_name[0] == '.' || lstat(p, &sb) < 0 || !S_ISDIR(sb.st_mode) ||
		    !cg_is_mounted(de->d_name))
			continue;
		v = util_xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = util_xstrdup(de->d_name);
		v[n] = NULL;
	}
	if (d)
		closedir(d);
	return v;
}

static void oci_strv_free(char **v)
{
	size_t i;
	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The cgroup path from cgroupsPath: absolute as is; "slice:prefix:name"
 * (--systemd-cgroup) as systemd would place it; empty or relative: under
 * /minirun-oci. */
static void oci_cg_path(const char *p, const char *id, int systemd, char *out, size_t size)
{
	const char *c1 = p ? strchr(p, ':') : NULL, *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (systemd && c2)
		snprintf(out, size, "/%.*s/%.*s-%s.scope", (int)(c1 - p), c1 == p ? "system.slice" : p,
			 (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
	else
		snprintf(out, size, "%s%s", p && p[0] == '/' ? "" : "/minirun-oci/", p && *p ? p : id);
}

/* Write val into FILE of the container's cgroup; the hierarchy is the
 * file's prefix on v1 ("memory.max" -> memory), the single one on v2. */
static int oci_cg_set(const char *cg, const char *file, const char *val, struct mr_err *err)
{
	char path[MINIRUN_MAX_PATH];
	int v1 = cg_version() != 2;
	snprintf(path, sizeof path, CG_ROOT "%s%.*s%s/%s", v1 ? "/" : "",
		 v1 ? (int)strcspn(file, ".") : 0, file, cg, file);
	return cg_write_path(path, val, strlen(val), err);
}

static int oci_cg_setn(const char *cg, const char *file, long long v, struct mr_err *err)
{
	char s[24];
	snprintf(s, sizeof s, "%lld", v);
	return oci_cg_set(cg, file, s, err);
}

/* Copy cpuset.cpus/mems from the parent: a new v1 cpuset folder starts
 * empty and refuses tasks. */
static void oci_cg_cpuset_fill(const char *dir)
{
	static const char files[] = "cpuset.cpus\0cpuset.mems\0";
	const char *f;
	for (f = files; *f; f += strlen(f) + 1) {
		char path[MINIRUN_MAX_PATH + 16], up[MINIRUN_MAX_PATH + 16];
		struct mr_buf b = { 0 };
		struct mr_err ignored;
		snprintf(path, sizeof path, "%s/%s", dir, f);
		snprintf(up, sizeof up, "%s/../%s", dir, f);
		/* the start reports what the kernel refuses */
		if ((mr_read_file(AT_FDCWD, path, &b, 256, &ignored) < 0 || b.len <= 1) &&
		    mr_read_file(AT_FDCWD, up, &b, 256, &ignored) == 0 && b.len)
			cg_write_path(path, b.data, b.len, &ignored);
		mr_buf_free(&b);
	}
}

/* What the container's folder needs in every hierarchy: OCI_CG_MAKE
 * mkdir -p (cpuset filled level by level; on v2 the controllers enabled
 * down to it), OCI_CG_ENTER pid moved in, OCI_CG_REMOVE removed, and
 * minirun's own parent of default paths once it is empty (a caller's
 * parent, /default or /docker, is the caller's): then returns how many
 * folders are still busy. */
enum { OCI_CG_MAKE, OCI_CG_ENTER, OCI_CG_REMOVE };
static int oci_cg_each(const char *cg, int op, pid_t pid, struct mr_err *err)
{
	char **h = oci_cg_hiers();
	size_t i;
	int rc = 0;
	for (i = 0; h[i] && rc >= 0; i++) {
		char dir[MINIRUN_MAX_PATH + 16], *s;
		oci_cg_dir(dir, MINIRUN_MAX_PATH, h[i], cg);
		if (op == OCI_CG_ENTER) {
			char n[16];
			strcat(dir, "/cgroup.procs");
			snprintf(n, sizeof n, "%d", (int)pid);
			rc = cg_write_path(dir, n, strlen(n), err);
		} else if (op == OCI_CG_REMOVE) {
			if (rmdir(dir) < 0) {
				rc += errno == EBUSY;
			} else if (util_starts_with(cg, "/minirun-oci/")) {
				oci_cg_dir(dir, sizeof dir, h[i], "/minirun-oci");
				rmdir(dir);
			}
		} else {
			for (s = dir + strlen(CG_ROOT) + 1 + strlen(h[i]); s; s = strchr(s + 1, '/')) {
				*s = 0;
				if (*dir && mkdir(dir, 0755) < 0 && errno != EEXIST) {
					rc = mr_err_sys(err, "cgroup: create %s", dir);
					break;
				}
				if (!strcmp(h[i], "cpuset") && s > dir + strlen(CG_ROOT "/cpuset"))
					oci_cg_cpuset_fill(dir);
				if (!*h[i] && strchr(s + 1, '/'))
					cg_enable(dir, "+cpu\0+cpuset\0+memory\0+pids\0+io\0+hugetlb\0");
				*s = '/';
			}
			if (!rc && mkdir(dir, 0755) < 0 && errno != EEXIST)
				rc = mr_err_sys(err, "cgroup: create %s", dir);
			if (!rc && !strcmp(h[i], "cpuset"))
				oci_cg_cpuset_fill(dir);
		}
	}
	oci_strv_free(h);
	return rc;
}

/* The pids of the container's cgroup (every process, exec'ed ones too). */
static pid_t *oci_cg_pids(const char *cg, size_t *count)
{
	char path[MINIRUN_MAX_PATH];
	const char *h = cg_version() == 2 ? "" : cg_is_mounted("pids") ? "pids" : "memory";
	oci_cg_dir(path, sizeof path - 16, h, cg);
	strcat(path, "/cgroup.procs");
	return cg_procs(path, count);
}

/* The container's freezer file: v1's freezer hierarchy (returns 1) where
 * it is mounted, else its cgroup2 folder's (v2, or the hybrid's unified
 * one). */
static int oci_cg_freezer(const char *cg, const char *v1file, const char *v2file, char *path)
{
	int v1 = cg_version() == 1 && cg_is_mounted("freezer");
	oci_cg_dir(path, MINIRUN_MAX_PATH - 16, v1 ? "freezer" : cg_version() == 2 ? "" : "unified", cg);
	strcat(path, v1 ? v1file : v2file);
	return v1;
}

/* "FROZEN"/"THAWED" (v1, then waiting for FROZEN), or cgroup.freeze. */
static int oci_cg_freeze(const char *cg, int freeze, struct mr_err *err)
{
	char path[MINIRUN_MAX_PATH];
	int i;
	if (!oci_cg_freezer(cg, "/freezer.state", "/cgroup.freeze", path))
		return cg_write_path(path, freeze ? "1" : "0", 1, err);
	if (cg_write_path(path, freeze ? "FROZEN" : "THAWED", 6, err) < 0)
		return -1;
	for (i = 0; i < 1000 && freeze; i++) {
		struct mr_buf b = { 0 };
		if (mr_read_file(AT_FDCWD, path, &b, 64, err) < 0)
			return -1;
		if (b.data && !strncmp(b.data, "FROZEN", 6)) {
			mr_buf_free(&b);
			return 0;
		}
		mr_buf_free(&b);
		usleep(1000);
	}
	return 0;
}

static int oci_cg_frozen(const char *cg)
{
	char path[MINIRUN_MAX_PATH];
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	int v1 = oci_cg_freezer(cg, "/freezer.state", "/cgroup.events", path), rc;
	if (mr_read_file(AT_FDCWD, path, &b, 4096, &ignored) < 0 || !b.data) {
		mr_buf_free(&b);
		return 0;
	}
	rc = v1 ? !strncmp(b.data, "FROZEN", 6) || !strncmp(b.data, "FREEZING", 8) :
	     util_strstr(b.data, "frozen 1") != NULL;
	mr_buf_free(&b);
	return rc;
}

/* "major:minor" of a weightDevice / throttle entry. */
static void oci_devnum(const struct mr_json *d, char *out, size_t size)
{
	snprintf(out, size, "%lld:%lld", oci_i(d, "major", 0), oci_i(d, "minor", 0));
}

/* linux.resources.devices as rules in the order the v1 controller takes
 * them: deny all, the entries in order (a later one overrides an earlier
 * one), then runc's always-allowed nodes (null, zero, full, random, urandom,
 * tty, console, ptmx, pts, tun) and the nodes of linux.devices (the
 * container's own). malloc'ed, *n rules; NULL with err on a bad entry. */
static struct dev_rule *oci_dev_rules(const struct mr_json *devs, const struct ctr_oci *o, size_t *n,
				      struct mr_err *err)
{
	/* the always-allowed: [14]'s defaults after their two mknod rules */
	const size_t na = sizeof dev_default_rules / sizeof dev_default_rules[0] - 2;
	const struct mr_json *d, *list = devs && devs->type == MR_JSON_ARRAY ? devs->child : NULL;
	struct dev_rule *r;
	size_t k = 1, i;
	for (d = list; d; d = d->next)
		k++;
	r = util_xcalloc(k + na + 1 + o->ndev, sizeof *r);
	r[0].type = 'a';
	r[0].major = r[0].minor = -1;
	r[0].access = DEV_R | DEV_W | DEV_M;
	r[0].deny = 1;
	for (k = 1, d = list; d; d = d->next, k++) {
		const char *type = oci_s(d, "type"), *acc = oci_s(d, "access");
		r[k].type = type && *type ? *type : 'a';
		r[k].major = (int)oci_i(d, "major", -1);   /* -1: any */
		r[k].minor = (int)oci_i(d, "minor", -1);
		r[k].deny = !oci_b(d, "allow");
		if ((r[k].type != 'a' && r[k].type != 'b' && r[k].type != 'c') || (type && type[0] && type[1]) ||
		    dev_access_parse(acc && *acc ? acc : "rwm", &r[k].access) < 0) {
			free(r);
			return mr_err_set(err, MR_EINVAL_INPUT, "linux.resources.devices: bad entry "
					  "(type %s, access %s)", type ? type : "", acc ? acc : ""), NULL;
		}
	}
	memcpy(&r[k], dev_default_rules + 2, na * sizeof *r);
	k += na;
	r[k].type = 'c';           /* tun */
	r[k].major = 10;
	r[k].minor = 200;
	r[k++].access = DEV_R | DEV_W | DEV_M;
	for (i = 0; i < o->ndev; i++, k++) {
		r[k].type = o->dev[i].type == 'b' ? 'b' : 'c';
		r[k].major = (int)o->dev[i].major;
		r[k].minor = (int)o->dev[i].minor;
		r[k].access = DEV_R | DEV_W | DEV_M;
	}
	*n = k;
	return r;
}

/* The same rules as a cgroup2 device program on folder dir: the kernel's
 * program decides on the first rule that matches, so the last rule comes
 * first. */
static int oci_dev_bpf(const char *dir, const struct dev_rule *r, size_t n, struct mr_err *err)
{
	struct dev_rule *rev = util_xcalloc(n, sizeof *rev);
	size_t i;
	int rc;
	for (i = 0; i < n; i++)
		rev[i] = r[n - 1 - i];
	rc = dev_bpf_attach(dir, rev, n, err);
	free(rev);
	return rc;
}

/* The device policy of linux.resources.devices: the v1 devices controller
 * where it is mounted, else a device program on the cgroup2 folder (v2, or
 * the unified hierarchy of a hybrid layout), as runc does. */
static int oci_cg_devices(const char *cg, const struct mr_json *devs, const struct ctr_oci *o,
			  struct mr_err *err)
{
	const char *v2 = cg_v2_hier();
	int v1 = cg_version() == 1 && cg_is_mounted("devices"), rc = 0;
	struct dev_rule *r;
	size_t n, i;
	if (!v1 && !v2)
		return 0;
	if ((r = oci_dev_rules(devs, o, &n, err)) == NULL)
		return -1;
	if (v1) {
		for (i = 0; i < n && !rc; i++) {
			char line[48];
			dev_v1_line(&r[i], line, sizeof line);
			rc = oci_cg_set(cg, r[i].deny ? "devices.deny" : "devices.allow", line, err);
		}
	} else {
		char dir[MINIRUN_MAX_PATH];
		oci_cg_dir(dir, sizeof dir, v2, cg);
		rc = oci_dev_bpf(dir, r, n, err);
	}
	free(r);
	return rc;
}

/* The numbers of linux.resources: where config.json has them, and the
 * file each goes to on v1 and on v2 ("": not there). In the order runc
 * writes them (a memory limit before the swap one). */
enum {
	OCI_MEM_LIMIT, OCI_MEM_RESERVATION, OCI_MEM_SWAP, OCI_MEM_KERNEL, OCI_MEM_KTCP,
	OCI_MEM_SWAPPINESS, OCI_CPU_SHARES, OCI_CPU_PERIOD, OCI_CPU_QUOTA, OCI_CPU_RTPERIOD,
	OCI_CPU_RTRUNTIME, OCI_PIDS, OCI_BIO_WEIGHT, OCI_BIO_LEAF, OCI_NET_CLASSID, OCI_RES_N
};
/* Each: its group ("": the one before) and key, the v1 file, the v2
 * file; strings one after the other (a table of fixed-size fields was half
 * padding). */
static const char oci_res_keys[] =
	"memory\0limit\0memory.limit_in_bytes\0memory.max\0"
	"\0reservation\0memory.soft_limit_in_bytes\0memory.low\0"
	"\0swap\0memory.memsw.limit_in_bytes\0memory.swap.max\0"
	"\0kernel\0memory.kmem.limit_in_bytes\0\0"
	"\0kernelTCP\0memory.kmem.tcp.limit_in_bytes\0\0"
	"\0swappiness\0memory.swappiness\0\0"
	"cpu\0shares\0cpu.shares\0cpu.weight\0"
	"\0period\0cpu.cfs_period_us\0\0"
	"\0quota\0cpu.cfs_quota_us\0\0"
	"\0realtimePeriod\0cpu.rt_period_us\0\0"
	"\0realtimeRuntime\0cpu.rt_runtime_us\0\0"
	"pids\0limit\0pids.max\0pids.max\0"
	"blockIO\0weight\0blkio.weight\0io.bfq.weight\0"
	"\0leafWeight\0blkio.leaf_weight\0\0"
	"network\0classID\0net_cls.classid\0";

/* The string n strings after p, in a list of '\0'-ended strings. */
static const char *oci_strs_skip(const char *p, int n)
{
	for (; n > 0; n--)
		p += strlen(p) + 1;
	return p;
}

/* linux.resources (config.json, or `update`'s input) into the spec's form. */
static void oci_res_parse(struct ctr_oci_res *r, const struct mr_json *j)
{
	const char *p = oci_res_keys;
	const struct mr_json *g = NULL;
	int i;
	memset(r, 0, sizeof *r);
	r->given = j != NULL;
	for (i = 0; i < OCI_RES_N; i++, p = oci_strs_skip(p, 4)) {
		const char *k = oci_strs_skip(p, 1);
		if (*p)
			g = mr_json_get(j, p);
		/* swappiness 0 means something; it is written only within 0..100
		 * (one not there reads as -1) */
		if (i == OCI_MEM_SWAPPINESS ? (unsigned long long)oci_i(g, k, -1) > 100 : !oci_nz(g, k))
			continue;
		r->v[i] = oci_i(g, k, 0);
		r->set |= 1u << i;
	}
	r->disable_oom = oci_b(mr_json_get(j, "memory"), "disableOOMKiller");
	r->cpus = oci_s(mr_json_get(j, "cpu"), "cpus");
	r->mems = oci_s(mr_json_get(j, "cpu"), "mems");
	r->devices = mr_json_get(j, "devices");
	r->blkio = mr_json_get(j, "blockIO");
	r->hugepages = mr_json_get(j, "hugepageLimits");
	r->priorities = mr_json_get(mr_json_get(j, "network"), "priorities");
	r->unified = mr_json_get(j, "unified");
}

/* linux.resources into the container's cgroup (at create with the spec o,
 * for the device rules; `update`: o NULL). */
static int oci_cg_resources(const char *cg, const struct ctr_oci_res *r, const struct ctr_oci *o,
			    struct mr_err *err)
{
	const struct mr_json *bio = r->blkio, *it;
	const char *p = oci_res_keys;
	int v2 = cg_version() == 2, i;
	char val[128];
	if (!r->given)
		return 0;
	if (o && oci_cg_devices(cg, r->devices, o, err) < 0)
		return -1;
	for (i = 0; i < OCI_RES_N; i++, p = oci_strs_skip(p, 4)) {
		const char *file = oci_strs_skip(p, v2 ? 3 : 2);
		long long x = r->v[i];
		if (!((r->set >> i) & 1) || !*file)
			continue;
		if (i == OCI_MEM_SWAP && v2 && x > 0 && ((r->set >> OCI_MEM_LIMIT) & 1))
			x -= r->v[OCI_MEM_LIMIT];
		if (i == OCI_CPU_SHARES && v2)
			x = 1 + ((x - 2) * 9999) / 262142;
		snprintf(val, sizeof val, "%lld", x);
		if (oci_cg_set(cg, file, (i == OCI_MEM_LIMIT && x < 0) || (i == OCI_PIDS && x <= 0) ?
			       v2 ? "max" : "-1" : val, err) < 0)
			return -1;
	}
	if (!v2 && r->disable_oom && oci_cg_set(cg, "memory.oom_control", "1", err) < 0)
		return -1;
	if (v2 && (r->set & (1u << OCI_CPU_QUOTA | 1u << OCI_CPU_PERIOD))) {
		char qs[24] = "max";
		if (((r->set >> OCI_CPU_QUOTA) & 1) && r->v[OCI_CPU_QUOTA] > 0)
			snprintf(qs, sizeof qs, "%lld", r->v[OCI_CPU_QUOTA]);
		snprintf(val, sizeof val, "%s %lld", qs, (r->set >> OCI_CPU_PERIOD) & 1 ?
			 r->v[OCI_CPU_PERIOD] : 100000);
		if (oci_cg_set(cg, "cpu.max", val, err) < 0)
			return -1;
	}
	if ((r->cpus && *r->cpus && oci_cg_set(cg, "cpuset.cpus", r->cpus, err) < 0) ||
	    (r->mems && *r->mems && oci_cg_set(cg, "cpuset.mems", r->mems, err) < 0))
		return -1;
	{
		/* blockIO's lists: the list and its number's key, the v1 file, the
		 * v2 one ("": none) and its key ("": a weight, no 0 written) */
		static const char bl[] =
			"weightDevice\0weight\0blkio.weight_device\0io.bfq.weight\0\0"
			"weightDevice\0leafWeight\0blkio.leaf_weight_device\0\0\0"
			"throttleReadBpsDevice\0rate\0blkio.throttle.read_bps_device\0io.max\0rbps=\0"
			"throttleWriteBpsDevice\0rate\0blkio.throttle.write_bps_device\0io.max\0wbps=\0"
			"throttleReadIOPSDevice\0rate\0blkio.throttle.read_iops_device\0io.max\0riops=\0"
			"throttleWriteIOPSDevice\0rate\0blkio.throttle.write_iops_device\0io.max\0wiops=\0";
		const char *t;
		for (t = bl; *t; t = oci_strs_skip(t, 5)) {
			const char *key = oci_strs_skip(t, 1), *file = oci_strs_skip(t, v2 ? 3 : 2);
			const char *pre = oci_strs_skip(t, 4);
			for (it = oci_first(bio, t); it; it = it->next) {
				char dn[48];
				if (!*file || (!*pre && !oci_nz(it, key)))
					continue;
				oci_devnum(it, dn, sizeof dn);
				snprintf(val, sizeof val, "%s %s%lld", dn, v2 ? pre : "", oci_i(it, key, 0));
				if (oci_cg_set(cg, file, val, err) < 0)
					return -1;
			}
		}
	}
	for (it = r->hugepages ? r->hugepages->child : NULL; it; it = it->next) {
		char file[64];
		snprintf(file, sizeof file, "hugetlb.%s.%s", oci_sd(it, "pageSize", ""),
			 v2 ? "max" : "limit_in_bytes");
		if (oci_cg_setn(cg, file, oci_i(it, "limit", 0), err) < 0)
			return -1;
	}
	for (it = r->priorities ? r->priorities->child : NULL; it && !v2; it = it->next) {
		snprintf(val, sizeof val, "%s %lld", oci_sd(it, "name", ""), oci_i(it, "priority", 0));
		if (oci_cg_set(cg, "net_prio.ifpriomap", val, err) < 0)
			return -1;
	}
	for (it = r->unified && r->unified->type == MR_JSON_OBJECT ? r->unified->child : NULL; it;
	     it = it->next) {
		char path[MINIRUN_MAX_PATH];
		if (strchr(it->key, '/') || it->key[0] == '.' || it->type != MR_JSON_STRING)
			return mr_err_set(err, MR_EINVAL_INPUT, "unified: bad key %s", it->key);
		if (!v2 && !cg_is_mounted("unified"))
			return mr_err_set(err, MR_EINVAL_INPUT, "unified resources need cgroup2");
		oci_cg_dir(path, sizeof path - 256, v2 ? "" : "unified", cg);
		snprintf(path + strlen(path), 256, "/%s", it->key);
		if (cg_write_path(path, it->str, it->len, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- hooks: the state on stdin, a timeout, in the runtime's namespaces ---- */

/* "key": the JSON value as given, or null. */
static void oci_jw_json(struct mr_jw *w, const char *key, const struct mr_json *v)
{
	mr_jw_key(w, key);
	if (v)
		mr_jw_value(w, v);
	else
		mr_jw_null(w);
}

/* The state of the container: from its record r, or (create's hooks) from
 * the spec o; a stopped one has pid 0. */
static void oci_state_json(const struct oci_rec *r, const struct ctr_oci *o, const char *id,
			   const char *status, pid_t pid, int indent, struct mr_buf *out)
{
	const struct mr_json *ann = r ? r->annotations : o->annotations;
	struct mr_jw w;
	mr_jw_init(&w, out, indent);
	mr_jw_obj(&w);
	json_kstr(&w, "ociVersion", "1.0.2");
	json_kstr(&w, "id", id);
	json_kint(&w, "pid", strcmp(status, "stopped") ? pid : 0);
	json_kstr(&w, "status", status);
	json_kstr(&w, "bundle", r ? r->bundle : o->bundle);
	if (r) {
		json_kstr(&w, "rootfs", r->rootfs);
		json_kstr(&w, "created", r->created);
		json_kstr(&w, "owner", "");
	}
	mr_jw_key(&w, "annotations");
	if (ann && ann->type == MR_JSON_OBJECT)
		mr_jw_value(&w, ann);
	else {
		mr_jw_obj(&w);
		mr_jw_obj_end(&w);
	}
	mr_jw_obj_end(&w);
}

/* Run the hooks of one kind in order. warn != NULL (poststart, poststop):
 * a failure is a warning in the log and the next hook still runs. */
static int oci_hooks(const struct mr_json *hooks, const char *kind, const struct mr_buf *state,
		     struct oci_g *warn, struct mr_err *err)
{
	const struct mr_json *h, *arr = mr_json_get(hooks, kind);
	for (h = arr && arr->type == MR_JSON_ARRAY ? arr->child : NULL; h; h = h->next) {
		const char *path = oci_s(h, "path");
		char **argv, **envp;
		long long timeout = oci_i(h, "timeout", 0);
		int p[2], status = 0;
		pid_t pid;
		char *dflt[2] = { (char *)path, NULL };
		if (!path || pipe2(p, O_CLOEXEC) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s hook: no path", kind);
		argv = oci_strv(mr_json_get(h, "args"));
		envp = oci_strv(mr_json_get(h, "env"));
		/* a hook that leaves without reading its stdin must not kill us */
		signal(SIGPIPE, SIG_IGN);
		pid = fork();
		if (pid == 0) {
			signal(SIGPIPE, SIG_DFL);
			dup2(p[0], 0);
			execve(path, argv[0] ? argv : dflt, envp);
			_exit(127);
		}
		close(p[0]);
		if (pid > 0 && util_write_all(p[1], state->data, state->len) < 0) {
			/* a hook that does not read its stdin */
		}
		close(p[1]);
		free(argv);
		free(envp);
		if (pid < 0)
			return mr_err_sys(err, "%s hook %s", kind, path);
		for (timeout = timeout > 0 ? timeout * 100 : -1; ; timeout--) {
			pid_t r = waitpid(pid, &status, timeout < 0 ? 0 : WNOHANG);
			if (r == pid)
				break;
			if (r < 0 && errno != EINTR)
				return mr_err_sys(err, "%s hook %s", kind, path);
			if (timeout == 0) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				mr_err_set(err, ETIMEDOUT, "%s hook %s: timeout", kind, path);
				if (!warn)
					return -1;
				oci_log(warn, "warning", err->msg);
				status = 0;
				break;
			}
			if (r == 0)
				usleep(10000);
		}
		if (WIFEXITED(status) && !WEXITSTATUS(status))
			continue;
		mr_err_set(err, MR_EINVAL_INPUT, "%s hook %s: exit status %d", kind, path,
			   ctr_exit_code(status));
		if (!warn)
			return -1;
		oci_log(warn, "warning", err->msg);
	}
	return 0;
}

/* The hooks of the kinds listed ("a\0b\0", a kind only when the one
 * before passed), with the state on their stdin: hooks and state from the
 * record r, or (create) from the spec o. */
static int oci_hooks_run(const char *kinds, const struct oci_rec *r, const struct ctr_oci *o,
			 const char *id, const char *status, pid_t pid, struct oci_g *warn,
			 struct mr_err *err)
{
	const struct mr_json *hooks = r ? mr_json_get(r->doc.root, "hooks") : o->hooks;
	struct mr_buf st = { 0 };
	int rc = 0;
	if (!hooks)
		return 0;
	oci_state_json(r, o, id, status, pid, 0, &st);
	for (; *kinds && rc == 0; kinds += strlen(kinds) + 1)
		rc = oci_hooks(hooks, kinds, &st, warn, err);
	mr_buf_free(&st);
	return rc;
}

/* ---- the container's init ---- */

/* Parent <-> init messages on the SEQPACKET pair. parent: 'g' (go, with the
 * console size), 'a' (hooks ran); init: 't' + SCM_RIGHTS pty master, 'h'
 * (run prestart/createRuntime now), 'r' (ready, blocking on exec.fifo),
 * 'e' + text (failed). */
struct oci_msg {
	char kind;
	char text[sizeof(((struct mr_err *)0)->msg)];
};

struct oci_init {
	const struct ctr *c;               /* the spec, c->oci its bundle's part */
	struct oci_g *g;
	const char *id;
	int sync, fifo, rootfd, pty;
	const char *cg;
};

static int oci_send(int sock, char kind, const char *text)
{
	struct oci_msg m;
	memset(&m, 0, sizeof m);
	m.kind = kind;
	if (text)
		snprintf(m.text, sizeof m.text, "%s", text);
	return send(sock, &m, 1 + (text ? strlen(m.text) + 1 : 0), MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* The namespace types (`features` lists them), each one's flag beside. */
static const char oci_ns_names[] = "user\0pid\0network\0ipc\0uts\0mount\0cgroup\0time\0";
static const int oci_ns_flags[] = {
	CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNS,
	CLONE_NEWCGROUP, CLONE_NEWTIME,
};

static int oci_ns_flag(const char *type)
{
	const char *n = oci_ns_names;
	size_t i;
	for (i = 0; type && *n; n += strlen(n) + 1, i++)
		if (!strcmp(type, n))
			return oci_ns_flags[i];
	return 0;
}

/* Join the namespaces given by path (kind: CLONE_NEWPID only in the parent,
 * every other one in the init). */
static int oci_ns_join(const struct ctr_oci *o, int pid_only, struct mr_err *err)
{
	size_t i;
	for (i = 0; i < o->nns_join; i++) {
		const char *path = o->ns_join[i].path;
		int flag = o->ns_join[i].flag, fd;
		if ((flag == CLONE_NEWPID) != pid_only)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return mr_err_sys(err, "namespace %s", path);
		if (setns(fd, flag) < 0) {
			close(fd);
			return mr_err_sys(err, "join namespace %s", path);
		}
		close(fd);
	}
	return 0;
}

/* The mount options `features` lists: those that are flags, then the
 * propagation ones; oci_mount_bits has each one's bits (OCI_MNT_CLEAR:
 * the option takes them away; OCI_MNT_PROP: propagation). */
static const char oci_mount_names[] = "ro\0rw\0nosuid\0suid\0nodev\0dev\0noexec\0exec\0sync\0"
	"async\0remount\0mand\0nomand\0dirsync\0noatime\0atime\0nodiratime\0diratime\0bind\0"
	"rbind\0relatime\0norelatime\0strictatime\0nostrictatime\0defaults\0"
	"private\0rprivate\0shared\0rshared\0slave\0rslave\0unbindable\0runbindable\0";
#define OCI_MNT_CLEAR 0x80000000u
#define OCI_MNT_PROP 0x40000000u
static const unsigned oci_mount_bits[] = {
	MS_RDONLY, MS_RDONLY | OCI_MNT_CLEAR, MS_NOSUID, MS_NOSUID | OCI_MNT_CLEAR,
	MS_NODEV, MS_NODEV | OCI_MNT_CLEAR, MS_NOEXEC, MS_NOEXEC | OCI_MNT_CLEAR,
	MS_SYNCHRONOUS, MS_SYNCHRONOUS | OCI_MNT_CLEAR, MS_REMOUNT, MS_MANDLOCK,
	MS_MANDLOCK | OCI_MNT_CLEAR, MS_DIRSYNC, MS_NOATIME, MS_NOATIME | OCI_MNT_CLEAR,
	MS_NODIRATIME, MS_NODIRATIME | OCI_MNT_CLEAR, MS_BIND, MS_BIND | MS_REC,
	MS_RELATIME, MS_RELATIME | OCI_MNT_CLEAR, MS_STRICTATIME, MS_STRICTATIME | OCI_MNT_CLEAR, 0,
	OCI_MNT_PROP | MS_PRIVATE, OCI_MNT_PROP | MS_PRIVATE | MS_REC, OCI_MNT_PROP | MS_SHARED,
	OCI_MNT_PROP | MS_SHARED | MS_REC, OCI_MNT_PROP | MS_SLAVE, OCI_MNT_PROP | MS_SLAVE | MS_REC,
	OCI_MNT_PROP | MS_UNBINDABLE, OCI_MNT_PROP | MS_UNBINDABLE | MS_REC,
};

/* The bits of the mount option s, 0 if it is none of them. */
static unsigned oci_mount_opt(const char *s)
{
	const char *n = oci_mount_names;
	size_t i;
	for (i = 0; s && i < sizeof oci_mount_bits / sizeof oci_mount_bits[0]; n += strlen(n) + 1, i++)
		if (!strcmp(s, n))
			return oci_mount_bits[i];
	return 0;
}

/* A propagation name's flags ("private" ... "runbindable"); dflt when
 * there is none or it is not one. */
static unsigned long oci_propagation(const char *s, unsigned long dflt)
{
	unsigned bits = oci_mount_opt(s);
	return bits & OCI_MNT_PROP ? bits & ~OCI_MNT_PROP : dflt;
}

/* Mount options: flags, propagation, data for the filesystem. */
static void oci_mount_opts(const struct mr_json *opts, unsigned long *flags, unsigned long *prop,
			   unsigned long *clear, struct mr_buf *data)
{
	const struct mr_json *o;
	*flags = *prop = *clear = 0;
	for (o = opts && opts->type == MR_JSON_ARRAY ? opts->child : NULL; o; o = o->next) {
		unsigned bits;
		if (o->type != MR_JSON_STRING)
			continue;
		bits = oci_mount_opt(o->str);
		if (bits & OCI_MNT_PROP) {
			*prop |= bits & ~OCI_MNT_PROP;
		} else if (bits & OCI_MNT_CLEAR) {
			*flags &= ~(unsigned long)(bits & ~OCI_MNT_CLEAR);
			*clear |= bits & ~OCI_MNT_CLEAR;
		} else if (bits || !strcmp(o->str, "defaults")) {
			*flags |= bits;
		} else if (strncmp(o->str, "tmpcopyup", 9) && strncmp(o->str, "idmap", 5)) {
			if (data->len)
				mr_buf_append(data, ",", 1);
			mr_buf_append(data, o->str, o->len);
		}
	}
}

/* v1 hierarchies (and cgroup2) at DEST: a tmpfs with one mount per
 * hierarchy showing the container's own folder as its root: a fresh mount
 * in a cgroup namespace, else (as runc) a bind of the host's folder. */
static int oci_mount_cgroup(struct oci_init *in, const char *dest, unsigned long flags,
			    struct mr_err *err)
{
	int rootfd = in->rootfd;
	char **h, path[MINIRUN_MAX_PATH];
	size_t i;
	int rc = 0;
	if (cg_version() == 2)
		return mount_in_root(rootfd, dest, 'd', "cgroup2", "cgroup2", flags, NULL, err);
	if (mount_in_root(rootfd, dest, 'd', "tmpfs", "tmpfs", flags & ~MS_RDONLY, "mode=755", err) < 0)
		return -1;
	h = oci_cg_hiers();
	for (i = 0; h[i] && !rc; i++) {
		int unified = !strcmp(h[i], "unified");
		snprintf(path, sizeof path, "%s/%s", dest, h[i]);
		if (!(in->c->oci->ns_any & CLONE_NEWCGROUP)) {
			char src[MINIRUN_MAX_PATH];
			oci_cg_dir(src, sizeof src, h[i], in->cg);
			rc = mount_in_root(rootfd, path, 'd', src, NULL, MS_BIND | flags, NULL, err);
		} else if (!strcmp(h[i], "systemd"))
			rc = mount_in_root(rootfd, path, 'd', "cgroup", "cgroup", flags, "none,name=systemd",
					   err);
		else
			rc = mount_in_root(rootfd, path, 'd', unified ? "cgroup2" : "cgroup",
					   unified ? "cgroup2" : "cgroup", flags, unified ? NULL : h[i], err);
	}
	oci_strv_free(h);
	if (!rc && (flags & MS_RDONLY) &&
	    mount_in_root(rootfd, dest, 'x', NULL, NULL, MS_REMOUNT | flags, "mode=755", err) < 0)
		rc = -1;
	return rc;
}

static int oci_mounts(struct oci_init *in, struct mr_err *err)
{
	const struct ctr_oci *o = in->c->oci;
	size_t i;
	for (i = 0; i < o->nmnt; i++) {
		const struct ctr_oci_mount *m = &o->mnt[i];
		int rc;
		if (m->flags & MS_BIND) {
			struct stat sb;
			if (!m->src || stat(m->src, &sb) < 0)
				return mr_err_sys(err, "mount %s: source %s", m->dest, m->src ? m->src : "");
			rc = mount_in_root(in->rootfd, m->dest + 1, S_ISDIR(sb.st_mode) ? 'd' : 'f', m->src,
					   NULL, m->flags, NULL, err);
		} else if (m->type && !strcmp(m->type, "cgroup")) {
			rc = oci_mount_cgroup(in, m->dest + 1, m->flags, err);
		} else {
			rc = mount_in_root(in->rootfd, m->dest + 1, 'd', m->src ? m->src : m->type, m->type,
					   m->flags, m->data, err);
			/* sysfs in a network namespace we do not own: bind the host's */
			if (rc < 0 && m->type && !strcmp(m->type, "sysfs"))
				rc = mount_in_root(in->rootfd, m->dest + 1, 'd', "/sys", NULL,
						   MS_BIND | MS_REC | m->flags, NULL, err);
		}
		if (rc < 0)
			return -1;
		if (m->prop) {
			int fd = mr_open_in_root(in->rootfd, m->dest + 1, O_PATH, 0, err);
			char at[40];
			if (fd < 0)
				return -1;
			mount_fdpath(at, sizeof at, fd);
			rc = mount(NULL, at, NULL, m->prop, NULL);
			close(fd);
			if (rc < 0)
				return mr_err_sys(err, "mount %s: propagation", m->dest);
		}
	}
	return 0;
}

/* The nodes runc always makes (bound from the host's where mknod is not
 * allowed: a user namespace), the /dev links, then linux.devices. */
static int oci_devices(struct oci_init *in, struct mr_err *err)
{
	const struct ctr_oci *o = in->c->oci;
	int user_ns = o->ns_new & CLONE_NEWUSER;
	size_t i;
	int dev, rc;
	for (i = 0; i < o->ndev; i++) {
		const char *path = o->dev[i].path, *slash = strrchr(path, '/');
		char type = o->dev[i].type, dir[MINIRUN_MAX_PATH];
		mode_t mode = o->dev[i].mode;
		int dfd;
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
		dfd = mr_mkdir_in_root(in->rootfd, *dir ? dir : "/", 0755, err);
		if (dfd < 0)
			return mr_err_ctx(err, "device %s", path);
		unlinkat(dfd, slash + 1, 0);
		mode |= type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
		if (mknodat(dfd, slash + 1, mode, makedev(o->dev[i].major, o->dev[i].minor)) < 0) {
			close(dfd);
			if (!user_ns)
				return mr_err_sys(err, "device %s", path);
			if (mount_in_root(in->rootfd, path + 1, 'f', path, NULL, MS_BIND, NULL, err) < 0)
				return -1;
			continue;
		}
		if (fchownat(dfd, slash + 1, o->dev[i].uid, o->dev[i].gid, 0) < 0 ||
		    fchmodat(dfd, slash + 1, mode & 07777, 0) < 0) {
			close(dfd);
			return mr_err_sys(err, "device %s", path);
		}
		close(dfd);
	}
	dev = mr_open_in_root(in->rootfd, "dev", O_PATH | O_DIRECTORY, 0, err);
	if (dev < 0)
		return 0;
	rc = rootfs_dev_nodes(in->rootfd, dev, user_ns, err);
	close(dev);
	return rc;
}

/* A pty of the container's devpts, the slave its /dev/console ([15]
 * rootfs_pty), at consoleSize. */
static int oci_pty(struct oci_init *in, int *slave, struct mr_err *err)
{
	struct ctr_spawn sp;
	memset(&sp, 0, sizeof sp);
	sp.rootfd = in->rootfd;
	sp.pty = sp.pty_slave = -1;
	if (rootfs_pty(&sp, err) < 0)
		return -1;
	in->pty = sp.pty;
	*slave = sp.pty_slave;
	if (in->c->oci->cons_w) {
		struct winsize ws = { (unsigned short)in->c->oci->cons_h,
				      (unsigned short)in->c->oci->cons_w, 0, 0 };
		ioctl(*slave, TIOCSWINSZ, &ws);
	}
	return 0;
}

/* maskedPaths and readonlyPaths, as [15] does Docker's. */
static int oci_mask(struct oci_init *in, struct mr_err *err)
{
	const struct ctr_oci *o = in->c->oci;
	const char *const *p;
	for (p = o->masked; *p; p++)
		if ((*p)[0] == '/' && rootfs_mask_one(in->rootfd, *p + 1, err) < 0)
			return -1;
	for (p = o->readonly_paths; *p; p++)
		if ((*p)[0] == '/' && rootfs_ro_one(in->rootfd, *p + 1, err) < 0)
			return -1;
	return 0;
}

/* One capability set (checked by oci_cap_known). */
static uint64_t oci_capset(const struct mr_json *caps, const char *set)
{
	const struct mr_json *arr = mr_json_get(caps, set), *it;
	uint64_t v = 0;
	for (it = arr && arr->type == MR_JSON_ARRAY ? arr->child : NULL; it; it = it->next) {
		int b = it->type == MR_JSON_STRING ? isolate_cap_parse(it->str) : -1;
		if (b >= 0 && b < 64)
			v |= 1ull << b;
	}
	return v;
}

/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE, -1 when unknown: [14]'s table of
 * --ulimit's names, whose numbers are the arch's (MIPS numbers NOFILE, AS,
 * RSS, NPROC and MEMLOCK otherwise than the generic order). */
static int oci_rlimit_type(const char *t)
{
	size_t i;
	if (!t || strncmp(t, "RLIMIT_", 7))
		return -1;
	for (i = 0; i < sizeof ctr_rlimits / sizeof ctr_rlimits[0]; i++)
		if (!strcasecmp(t + 7, ctr_rlimits[i].name))
			return ctr_rlimits[i].res;
	return -1;
}

static int oci_cap_known(const struct mr_json *caps, struct mr_err *err)
{
	const struct mr_json *set, *it;
	for (set = caps && caps->type == MR_JSON_OBJECT ? caps->child : NULL; set; set = set->next)
		for (it = set->type == MR_JSON_ARRAY ? set->child : NULL; it; it = it->next) {
			int b = it->type == MR_JSON_STRING ? isolate_cap_parse(it->str) : -1;
			if (b < 0 || b >= 64)
				return mr_err_set(err, MR_EINVAL_INPUT, "config.json: unknown capability "
						  "\"%s\" in %s", it->str ? it->str : "", set->key);
		}
	return 0;
}

/* linux.seccomp compiled ([16b]) before the process starts, so that a bad
 * profile fails `create` or `exec`; none (len 0) without one. */
static int oci_seccomp(const struct mr_json *prof, uint64_t bounding, struct seccomp_prog *sp,
		       struct mr_err *err)
{
	memset(sp, 0, sizeof *sp);
	if (!prof || prof->type != MR_JSON_OBJECT)
		return 0;
	return seccomp_compile(prof, SECCOMP_NATIVE, bounding, seccomp_has_log(), sp, err);
}

/* The last steps of the init and of exec, from the spec: limits, working
 * folder, bounding set, seccomp, user, capabilities, no_new_privs; then
 * exec. Returns only on failure. */
static int oci_process_exec(const struct ctr *c, const struct seccomp_prog *sp, struct mr_err *err)
{
	static const char *const none[] = { NULL };
	const struct ctr_oci *o = c->oci;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	size_t i;
	int cap;
	for (i = 0; i < o->nrlimits; i++)
		if (isolate_rlimit(o->rlimits[i].res, o->rlimits[i].soft, o->rlimits[i].hard) < 0)
			return mr_err_sys(err, "rlimit %s", o->rlimits[i].name);
	if (o->oom_set) {
		char s[24];
		snprintf(s, sizeof s, "%lld", o->oom_score_adj);
		if (oci_write_str(AT_FDCWD, "/proc/self/oom_score_adj", 0, s) < 0)
			return mr_err_sys(err, "oomScoreAdj");
	}
	if (*c->workdir && chdir(c->workdir) < 0)
		return mr_err_sys(err, "cwd %s", c->workdir);
	if (isolate_caps_bound(o->cap_bnd, err) < 0)
		return -1;
	/* runc's order: without no_new_privs the filter goes in while
	 * CAP_SYS_ADMIN is still held; with it, as late as possible (below) */
	if (sp->len && !c->no_new_privs && seccomp_install(sp, err) < 0)
		return -1;
	prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	if (syscall(ISOLATE_SYS_SETGROUPS, o->ngroups, o->groups) < 0 && errno != EPERM)
		return mr_err_sys(err, "setgroups");
	if (syscall(ISOLATE_SYS_SETRESGID, o->gid, o->gid, o->gid) < 0)
		return mr_err_sys(err, "setgid %u", (unsigned)o->gid);
	if (syscall(ISOLATE_SYS_SETRESUID, o->uid, o->uid, o->uid) < 0)
		return mr_err_sys(err, "setuid %u", (unsigned)o->uid);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	umask(o->umask < 0 ? 022 : (mode_t)o->umask);
	memset(data, 0, sizeof data);
	data[0].effective = (uint32_t)o->cap_eff;
	data[1].effective = (uint32_t)(o->cap_eff >> 32);
	data[0].permitted = (uint32_t)o->cap_prm;
	data[1].permitted = (uint32_t)(o->cap_prm >> 32);
	data[0].inheritable = (uint32_t)o->cap_inh;
	data[1].inheritable = (uint32_t)(o->cap_inh >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return mr_err_sys(err, "set capabilities");
	/* as runc: an ambient capability that is not also inheritable and
	 * permitted is left out rather than failing the start (the ambient set
	 * was cleared with the bounding one) */
	for (cap = 0; cap < 64; cap++)
		if ((o->cap_amb >> cap) & 1)
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return mr_err_sys(err, "no_new_privs");
	if (isolate_cloexec_all(err) < 0)
		return -1;
	if (sp->len && c->no_new_privs && seccomp_install(sp, err) < 0)
		return -1;
	return isolate_exec(-1, (char *const *)(c->cmd.v ? c->cmd.v : none),
			    (char *const *)(c->env.v ? c->env.v : none), err) ? -1 : -1;
}

/* pivot_root refuses a new root whose parent mount is shared (with
 * rootfsPropagation "shared"): make that mount private, as runc does. */
static int oci_parent_private(const char *path, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	char best[MINIRUN_MAX_PATH] = "/", *line;
	size_t bl = 1;
	if (mr_read_file(AT_FDCWD, "/proc/self/mountinfo", &b, 4u << 20, err) < 0)
		return -1;
	for (line = b.data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char mp[MINIRUN_MAX_PATH];
		const char *p = line;
		int i;
		size_t l;
		for (i = 0; i < 4 && p; i++)
			p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
		if (!p)
			continue;
		l = strcspn(p, " ");
		if (l >= sizeof mp)
			continue;
		memcpy(mp, p, l);
		mp[l] = 0;
		if (l > bl && !strncmp(path, mp, l) && (path[l] == '/' || !path[l])) {
			memcpy(best, mp, l + 1);
			bl = l;
		}
	}
	mr_buf_free(&b);
	if (mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
		return mr_err_sys(err, "make %s private", best);
	return 0;
}

/* ---- the front end: a bundle's config.json into the container spec ---- */

/* Memory the spec owns (freed by ctr_free). */
static void *oci_own(struct ctr *c, void *p)
{
	ctr_list_add(&c->owned, p);
	return p;
}

/* n + 1 zeroed elements, owned by the spec. */
static void *oci_own_array(struct ctr *c, const struct mr_json *arr, size_t size)
{
	return oci_own(c, util_xcalloc((arr ? arr->count : 0) + 1, size));
}

/* An empty spec with its bundle part. */
static struct ctr_oci *oci_spec_init(struct ctr *c)
{
	ctr_init(c);
	c->oci = oci_own(c, util_xcalloc(1, sizeof *c->oci));
	c->oci->umask = c->oci->personality = -1;
	return c->oci;
}

#define OCI_EACH(it, arr, kind) \
	for (it = (arr) && (arr)->type == (kind) ? (arr)->child : NULL; it; it = it->next)

/* The strings of a JSON array onto l. */
static void oci_list_add(struct ctr_list *l, const struct mr_json *arr)
{
	const struct mr_json *it;
	OCI_EACH(it, arr, MR_JSON_ARRAY)
		if (it->type == MR_JSON_STRING)
			ctr_list_add(l, it->str);
}

/* process: of config.json, or exec's process.json. */
static int spec_oci_process(struct ctr *c, const struct mr_json *proc, struct mr_err *err)
{
	struct ctr_oci *o = c->oci;
	const struct mr_json *user = mr_json_get(proc, "user"), *caps = mr_json_get(proc, "capabilities");
	const struct mr_json *cs = mr_json_get(proc, "consoleSize"), *arr, *it;
	if (oci_cap_known(caps, err) < 0)
		return -1;
	oci_list_add(&c->cmd, mr_json_get(proc, "args"));
	oci_list_add(&c->env, mr_json_get(proc, "env"));
	c->workdir = oci_sd(proc, "cwd", "");
	c->tty = (unsigned char)oci_b(proc, "terminal");
	c->no_new_privs = (unsigned char)oci_b(proc, "noNewPrivileges");
	o->cons_w = (unsigned)oci_i(cs, "width", 0);
	o->cons_h = (unsigned)oci_i(cs, "height", 0);
	o->uid = (uid_t)oci_i(user, "uid", 0);
	o->gid = (gid_t)oci_i(user, "gid", 0);
	if (oci_has(user, "umask"))
		o->umask = (int)(oci_i(user, "umask", 022) & 0777);
	arr = mr_json_get(user, "additionalGids");
	o->groups = oci_own_array(c, arr, sizeof *o->groups);
	OCI_EACH(it, arr, MR_JSON_ARRAY)
		if (it->type == MR_JSON_NUMBER)
			o->groups[o->ngroups++] = (gid_t)util_strtoi(it->str, NULL, 10, 0, UINT_MAX);
	o->cap_bnd = oci_capset(caps, "bounding");
	o->cap_eff = oci_capset(caps, "effective");
	o->cap_prm = oci_capset(caps, "permitted");
	o->cap_inh = oci_capset(caps, "inheritable");
	o->cap_amb = oci_capset(caps, "ambient");
	arr = mr_json_get(proc, "rlimits");
	o->rlimits = oci_own_array(c, arr, sizeof *o->rlimits);
	OCI_EACH(it, arr, MR_JSON_ARRAY) {
		struct ctr_oci_rlimit *rl = &o->rlimits[o->nrlimits++];
		rl->name = oci_sd(it, "type", "");
		if ((rl->res = oci_rlimit_type(rl->name)) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "config.json: unknown rlimit type \"%s\"",
					  rl->name);
		rl->soft = (unsigned long long)oci_i(it, "soft", 0);
		rl->hard = (unsigned long long)oci_i(it, "hard", 0);
	}
	o->oom_set = oci_has(proc, "oomScoreAdj");
	o->oom_score_adj = oci_i(proc, "oomScoreAdj", 0);
	o->apparmor = oci_s(proc, "apparmorProfile");
	o->selinux = oci_s(proc, "selinuxLabel");
	return 0;
}

/* linux.uidMappings / gidMappings as /proc/PID/uid_map text. */
static const char *oci_idmap(struct ctr *c, const struct mr_json *arr)
{
	struct mr_buf b = { 0 };
	const struct mr_json *it;
	OCI_EACH(it, arr, MR_JSON_ARRAY)
		mr_buf_printf(&b, "%lld %lld %lld\n", oci_i(it, "containerID", 0), oci_i(it, "hostID", 0),
			      oci_i(it, "size", 0));
	return b.len ? oci_own(c, b.data) : NULL;
}

/* mounts: options parsed, a bind's relative source found in the bundle. */
static int spec_oci_mounts(struct ctr *c, const struct mr_json *arr, struct mr_err *err)
{
	struct ctr_oci *o = c->oci;
	const struct mr_json *it;
	o->mnt = oci_own_array(c, arr, sizeof *o->mnt);
	OCI_EACH(it, arr, MR_JSON_ARRAY) {
		struct ctr_oci_mount *m = &o->mnt[o->nmnt++];
		struct mr_buf data = { 0 };
		unsigned long clear;
		m->dest = oci_s(it, "destination");
		m->type = oci_s(it, "type");
		m->src = oci_s(it, "source");
		if (!m->dest || m->dest[0] != '/')
			return mr_err_set(err, MR_EINVAL_INPUT, "mount destination %s: not absolute",
					  m->dest ? m->dest : "(none)");
		oci_mount_opts(mr_json_get(it, "options"), &m->flags, &m->prop, &clear, &data);
		m->data = data.len ? oci_own(c, data.data) : NULL;
		if (m->type && !strcmp(m->type, "bind"))
			m->flags |= MS_BIND;
		if (m->src && m->src[0] != '/' && (m->flags & MS_BIND)) {
			size_t n = strlen(o->bundle) + strlen(m->src) + 2;
			char *p = oci_own(c, util_xmalloc(n));
			snprintf(p, n, "%s/%s", o->bundle, m->src);
			m->src = p;
		}
	}
	return 0;
}

/* linux: namespaces, id maps, devices, masked paths, sysctl... */
static int spec_oci_linux(struct ctr *c, const struct mr_json *lnx, struct mr_err *err)
{
	struct ctr_oci *o = c->oci;
	const struct mr_json *arr, *it;
	const char *s;
	arr = mr_json_get(lnx, "namespaces");
	o->ns_join = oci_own_array(c, arr, sizeof *o->ns_join);
	OCI_EACH(it, arr, MR_JSON_ARRAY) {
		int f = oci_ns_flag(oci_s(it, "type"));
		if (!f)
			return mr_err_set(err, MR_EINVAL_INPUT, "namespace type %s: unknown",
					  oci_sd(it, "type", "(none)"));
		o->ns_any |= f;
		if ((s = oci_s(it, "path")) && *s) {
			o->ns_join[o->nns_join].flag = f;
			o->ns_join[o->nns_join++].path = s;
		} else {
			o->ns_new |= f;
		}
	}
	o->uid_map = oci_idmap(c, mr_json_get(lnx, "uidMappings"));
	o->gid_map = oci_idmap(c, mr_json_get(lnx, "gidMappings"));
	arr = mr_json_get(lnx, "devices");
	o->dev = oci_own_array(c, arr, sizeof *o->dev);
	OCI_EACH(it, arr, MR_JSON_ARRAY) {
		struct ctr_oci_dev *d = &o->dev[o->ndev];
		d->path = oci_s(it, "path");
		s = oci_s(it, "type");
		if (!d->path || d->path[0] != '/' || !s || !*s)
			continue;
		d->type = s[0];
		d->major = (unsigned)oci_i(it, "major", 0);
		d->minor = (unsigned)oci_i(it, "minor", 0);
		d->mode = (mode_t)oci_i(it, "fileMode", 0666) & 07777;
		d->uid = (uid_t)oci_i(it, "uid", 0);
		d->gid = (gid_t)oci_i(it, "gid", 0);
		o->ndev++;
	}
	o->masked = oci_own(c, oci_strv(mr_json_get(lnx, "maskedPaths")));
	o->readonly_paths = oci_own(c, oci_strv(mr_json_get(lnx, "readonlyPaths")));
	/* KEY=VALUE, as --sysctl gives them to isolate_sysctls */
	OCI_EACH(it, mr_json_get(lnx, "sysctl"), MR_JSON_OBJECT) {
		size_t n = strlen(it->key) + it->len + 2;
		char *kv;
		if (it->type != MR_JSON_STRING || strstr(it->key, ".."))
			return mr_err_set(err, MR_EINVAL_INPUT, "sysctl %s: bad value", it->key);
		kv = oci_own(c, util_xmalloc(n));
		snprintf(kv, n, "%s=%s", it->key, it->str);
		ctr_list_add(&c->sysctls, kv);
	}
	o->rootfs_propagation = oci_s(lnx, "rootfsPropagation");
	o->mount_label = oci_s(lnx, "mountLabel");
	if ((s = oci_s(mr_json_get(lnx, "personality"), "domain"))) {
		o->personality = !strcmp(s, "LINUX32") ? PER_LINUX32 : !strcmp(s, "LINUX") ? PER_LINUX : -1;
		if (o->personality < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "personality %s: unknown", s);
	}
	o->intel_rdt = mr_json_get(lnx, "intelRdt") != NULL;
	o->cgroups_path = oci_s(lnx, "cgroupsPath");
	oci_res_parse(&o->res, mr_json_get(lnx, "resources"));
	o->seccomp = mr_json_get(lnx, "seccomp");
	return 0;
}

/* config.json, read into c->doc, into the spec: what create must refuse is
 * refused here, before anything is made. */
static int spec_oci_fill(struct ctr *c, struct mr_err *err)
{
	const struct mr_json *root = c->doc.root, *proc = mr_json_get(root, "process");
	const char *v = oci_s(root, "ociVersion");
	if (!proc || !mr_json_get(proc, "args"))
		return mr_err_set(err, MR_EINVAL_INPUT, "config.json: process.args is missing");
	/* a version other than 1.x; spec_oci_process refuses an unknown
	 * capability or rlimit */
	if (!v || strncmp(v, "1.", 2) || !isdigit((unsigned char)v[2]))
		return mr_err_set(err, MR_EINVAL_INPUT, "config.json: unsupported ociVersion \"%s\"",
				  v ? v : "");
	if (spec_oci_process(c, proc, err) < 0 ||
	    spec_oci_mounts(c, mr_json_get(root, "mounts"), err) < 0 ||
	    spec_oci_linux(c, mr_json_get(root, "linux"), err) < 0)
		return -1;
	c->hostname = oci_sd(root, "hostname", "");
	c->readonly = (unsigned char)oci_b(mr_json_get(root, "root"), "readonly");
	c->oci->domainname = oci_s(root, "domainname");
	c->oci->hooks = mr_json_get(root, "hooks");
	c->oci->annotations = mr_json_get(root, "annotations");
	/* as runc: sethostname would change the caller's */
	if (*c->hostname && !(c->oci->ns_any & CLONE_NEWUTS))
		return mr_err_set(err, MR_EINVAL_INPUT, "config.json: a hostname needs the "
				  "container's own UTS namespace");
	return 0;
}

/* The OCI front end: a bundle's config.json, read once, into a new spec
 * (ctr_free it, also on failure). */
static int spec_from_bundle(const char *bundle, struct ctr *c, struct mr_err *err)
{
	struct ctr_oci *o = oci_spec_init(c);
	char path[MINIRUN_MAX_PATH + 16], *res;
	const char *rp;
	if (!(res = realpath(*bundle ? bundle : ".", NULL)))
		return mr_err_sys(err, "bundle %s", bundle);
	o->bundle = oci_own(c, res);
	snprintf(path, sizeof path, "%s/config.json", o->bundle);
	if (oci_read_json(path, &c->doc, err) < 0)
		return -1;
	rp = oci_s(mr_json_get(c->doc.root, "root"), "path");
	if (!rp || !*rp)
		return mr_err_set(err, MR_EINVAL_INPUT, "config.json: root.path is missing");
	snprintf(path, sizeof path, "%s%s%s", rp[0] == '/' ? "" : o->bundle, rp[0] == '/' ? "" : "/",
		 rp);
	if (!(res = realpath(path, NULL)))
		return mr_err_sys(err, "root %s", path);
	o->rootfs = oci_own(c, res);
	return spec_oci_fill(c, err);
}

/* ---- the container's mounts in the caller's mount namespace ---- */

/* The id of the (top) mount at path, -1 if unknown. */
static int oci_mnt_id(const char *path)
{
	char fi[40];
	struct mr_buf b = { 0 };
	struct mr_err e;
	const char *p;
	int id = -1, fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(fi, sizeof fi, "/proc/self/fdinfo/%d", fd);
	if (mr_read_file(AT_FDCWD, fi, &b, 4096, &e) == 0 && b.data && (p = strstr(b.data, "mnt_id:")))
		id = atoi(p + 7);
	close(fd);
	mr_buf_free(&b);
	return id;
}

/* Without a mount namespace of its own the container's mounts sit on a
 * bind of its root in the caller's namespace: detach that bind and all
 * below it, down to the mount the root was before create (base). */
static void oci_root_undo(const char *rootfs, int base)
{
	int i, id;
	for (i = 0; i < 8 && (id = oci_mnt_id(rootfs)) >= 0 && id != base; i++)
		if (umount2(rootfs, MNT_DETACH) < 0)
			break;
}

/* Undo what R/ID/rootmnt says, then remove it. */
static void oci_root_undo_id(struct oci_g *g, const char *id)
{
	char path[MINIRUN_MAX_PATH], *end;
	struct mr_buf b = { 0 };
	struct mr_err e;
	long base;
	oci_path(path, sizeof path, g, id, "rootmnt");
	if (mr_read_file(AT_FDCWD, path, &b, MINIRUN_MAX_PATH + 16, &e) == 0 && b.data &&
	    (base = strtol(b.data, &end, 10)) >= 0 && *end == ' ')
		oci_root_undo(end + 1, (int)base);
	mr_buf_free(&b);
	unlink(path);
}

/* The state folder R/ID and what may be in it (the mounts rootmnt names
 * undone first). */
static void oci_dir_remove(struct oci_g *g, const char *id)
{
	static const char files[] = "exec.fifo\0state.json\0";
	char path[MINIRUN_MAX_PATH];
	const char *f;
	oci_root_undo_id(g, id);
	for (f = files; *f; f += strlen(f) + 1) {
		oci_path(path, sizeof path, g, id, f);
		unlink(path);
	}
	oci_path(path, sizeof path, g, id, NULL);
	rmdir(path);
}

/* The init: a linear list of named steps; the first failure is reported
 * to the parent ('e') and ends it. Without a mount namespace of its own
 * (none in config.json: the caller's, as runc) the root is a private bind
 * in the caller's namespace, entered with chroot. */
static void __attribute__((noreturn)) oci_init_run(struct oci_init *in)
{
	struct mr_err err;
	struct oci_msg m;
	const struct ctr *c = in->c;
	const struct ctr_oci *o = c->oci;
	int own_mnt = o->ns_any & CLONE_NEWNS, slave = -1, i, fd;
	struct seccomp_prog sp;
	const char *s;
	char fifo[40];
	memset(&err, 0, sizeof err);
	if (recv(in->sync, &m, sizeof m, 0) < 1 || m.kind != 'g')
		_exit(1);
	if ((o->ns_new & CLONE_NEWUSER) && (syscall(ISOLATE_SYS_SETRESGID, 0, 0, 0) < 0 ||
					    syscall(ISOLATE_SYS_SETRESUID, 0, 0, 0) < 0)) {
		mr_err_sys(&err, "become root of the user namespace");
		goto fail;
	}
	if (oci_ns_join(o, 0, &err) < 0)
		goto fail;
	if ((o->ns_new & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) {
		mr_err_sys(&err, "cgroup namespace");
		goto fail;
	}
	if (isolate_sysctls(c, &err) < 0)
		goto fail;
	/* the root: in its own namespace, rootfsPropagation (default rslave)
	 * for everything and the rootfs a mount of its own for pivot_root */
	if ((own_mnt && (mount(NULL, "/", NULL, oci_propagation(o->rootfs_propagation,
								 MS_SLAVE | MS_REC) | MS_REC, NULL) < 0 ||
			 oci_parent_private(o->rootfs, &err) < 0)) ||
	    mount(o->rootfs, o->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    (!own_mnt && mount(NULL, o->rootfs, NULL, MS_PRIVATE | MS_REC, NULL) < 0)) {
		mr_err_sys(&err, "mount the root %s", o->rootfs);
		goto fail;
	}
	in->rootfd = open(o->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (in->rootfd < 0) {
		mr_err_sys(&err, "open the root %s", o->rootfs);
		goto fail;
	}
	if (oci_mounts(in, &err) < 0 || oci_devices(in, &err) < 0)
		goto fail;
	if (c->tty) {
		if (oci_pty(in, &slave, &err) < 0)
			goto fail;
		if (ctr_send_fd(in->sync, in->pty) < 0) {
			mr_err_sys(&err, "pass the pty");
			goto fail;
		}
		close(in->pty);
	}
	if (oci_mask(in, &err) < 0)
		goto fail;
	if (*c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0) {
		mr_err_sys(&err, "hostname %s", c->hostname);
		goto fail;
	}
	if ((s = o->domainname) && *s && setdomainname(s, strlen(s)) < 0) {
		mr_err_sys(&err, "domainname %s", s);
		goto fail;
	}
	/* prestart / createRuntime run in the parent now; createContainer here */
	if (oci_send(in->sync, 'h', NULL) < 0 || recv(in->sync, &m, sizeof m, 0) < 1) {
		mr_err_set(&err, EPIPE, "hooks: the runtime is gone");
		goto fail;
	}
	if (m.kind != 'a')
		_exit(1);
	if (oci_hooks_run("createContainer\0", NULL, o, in->id, "created", getpid(), NULL, &err) < 0)
		goto fail;
	/* the old root turns slave before it is detached: with a shared
	 * rootfsPropagation the detach would reach the host's mounts */
	if (fchdir(in->rootfd) < 0 ||
	    (own_mnt ? compat_pivot_root(".", ".") < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC,
								 NULL) < 0 ||
	     umount2(".", MNT_DETACH) < 0 : chroot(".") < 0) || chdir("/") < 0) {
		mr_err_sys(&err, "%s into %s", own_mnt ? "pivot_root" : "chroot", o->rootfs);
		goto fail;
	}
	if ((s = o->rootfs_propagation) && *s &&
	    mount(NULL, "/", NULL, oci_propagation(s, MS_PRIVATE | MS_REC), NULL) < 0) {
		mr_err_sys(&err, "rootfsPropagation %s", s);
		goto fail;
	}
	if (c->readonly && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
		mr_err_sys(&err, "remount the root read-only");
		goto fail;
	}
	setsid();
	if (slave >= 0) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0) {
			mr_err_sys(&err, "controlling terminal");
			goto fail;
		}
		for (i = 0; i < 3; i++)
			dup2(slave, i);
		if (slave > 2)
			close(slave);
	}
	if (o->personality >= 0 && personality((unsigned long)o->personality) < 0) {
		mr_err_sys(&err, "personality");
		goto fail;
	}
	if (o->mount_label && *o->mount_label)
		oci_warn(in->g, "no SELinux here: mountLabel", o->mount_label);
	if (o->apparmor && *o->apparmor)
		oci_warn(in->g, "no AppArmor here: apparmorProfile", o->apparmor);
	if (o->selinux && *o->selinux)
		oci_warn(in->g, "no SELinux here: selinuxLabel", o->selinux);
	if (oci_seccomp(o->seccomp, o->cap_bnd, &sp, &err) < 0)
		goto fail;
	if (o->intel_rdt)
		oci_warn(in->g, "no Intel RDT here:", "intelRdt");
	/* ready: the parent leaves; we wait for `start` on exec.fifo */
	snprintf(fifo, sizeof fifo, "/proc/self/fd/%d", in->fifo);
	if (oci_send(in->sync, 'r', NULL) < 0)
		_exit(1);
	fd = open(fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(1);
	/* fd stays open: it closes at execve, when `start` may return */
	close(in->fifo);
	if (oci_hooks_run("startContainer\0", NULL, o, in->id, "running", getpid(), NULL, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		_exit(1);
	}
	oci_process_exec(c, &sp, &err);
	fprintf(stderr, "%s\n", err.msg);
	_exit(err.code == ENOENT ? 127 : 126);
fail:
	oci_send(in->sync, 'e', err.msg);
	_exit(1);
}

/* ---- create ---- */

/* A connection to --console-socket, where the pty master goes
 * (ctr_send_fd: SCM_RIGHTS); -1 on failure. */
static int oci_console_connect(const char *sock, struct mr_err *err)
{
	struct sockaddr_un sa;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (s >= 0)
			close(s);
		return mr_err_sys(err, "console socket %s", sock);
	}
	return s;
}

/* Written as runc does (a temporary renamed over it); dirfd: the folder
 * the path is relative to (exec writes it from inside the container's
 * mount namespace, through a folder opened before). */
static int oci_write_pidfile(int dirfd, const char *path, pid_t pid, struct mr_err *err)
{
	char tmp[MINIRUN_MAX_PATH + 8], s[16];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	snprintf(s, sizeof s, "%d", (int)pid);
	if (oci_write_str(dirfd, tmp, O_CREAT | O_TRUNC, s) < 0 ||
	    renameat(dirfd, tmp, dirfd, path) < 0)
		return mr_err_sys(err, "pid file %s", path);
	return 0;
}

static int oci_id_maps(pid_t pid, const struct ctr_oci *o, struct mr_err *err)
{
	int k;
	for (k = 0; k < 2; k++) {
		const char *map = k ? o->gid_map : o->uid_map;
		char path[48];
		if (!map)
			continue;
		snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, k ? "gid_map" : "uid_map");
		if (oci_write_str(AT_FDCWD, path, 0, map) < 0)
			return mr_err_sys(err, "write %s", path);
	}
	return 0;
}

struct oci_create_opts {
	const char *bundle, *pid_file, *console;
	int no_pivot, detach;
};

/* create: the record, the cgroup, the init set up and blocked on
 * exec.fifo. *pid_out: the init (a child of this process). */
static int oci_create(struct oci_g *g, const char *id, const struct oci_create_opts *o,
		      pid_t *pid_out, struct mr_err *err)
{
	struct ctr c;
	struct ctr_oci *co = NULL;
	struct oci_init in;
	struct oci_msg m;
	char dir[MINIRUN_MAX_PATH], path[MINIRUN_MAX_PATH + 16], cg[MINIRUN_MAX_PATH];
	int sv[2] = { -1, -1 }, rc = -1, made_dir = 0, made_cg = 0;
	long pid = -1;
	if (oci_id_check(id, err) < 0)
		return -1;
	memset(&in, 0, sizeof in);
	in.pty = in.fifo = in.rootfd = -1;
	if (spec_from_bundle(o->bundle ? o->bundle : ".", &c, err) < 0)
		goto out;
	co = c.oci;
	in.c = &c;
	in.g = g;
	in.id = id;
	if (c.tty && !o->console && !o->detach) {
		/* runc run in the foreground with a terminal: ours */
	} else if (c.tty && !o->console) {
		mr_err_set(err, MR_EINVAL_INPUT, "cannot allocate tty if runc will detach without "
			   "setting console socket");
		goto out;
	}
	{
		/* mkdir -p, as runc: containerd names a folder per namespace */
		char p[MINIRUN_MAX_PATH], *s;
		snprintf(p, sizeof p, "%s/", g->root);
		for (s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
			*s = 0;
			if (mkdir(p, 0711) < 0 && errno != EEXIST) {
				mr_err_sys(err, "state folder %s", p);
				goto out;
			}
			*s = '/';
		}
	}
	oci_path(dir, sizeof dir, g, id, NULL);
	if (mkdir(dir, 0711) < 0) {
		if (errno == EEXIST)
			mr_err_set(err, MR_EEXIST, "container with id exists: %s", id);
		else
			mr_err_sys(err, "state folder %s", dir);
		goto out;
	}
	made_dir = 1;
	if (!(co->ns_any & CLONE_NEWNS)) {
		/* the caller's mount namespace: the root's mount now, kept */
		char line[MINIRUN_MAX_PATH + 16];
		snprintf(path, sizeof path, "%s/rootmnt", dir);
		snprintf(line, sizeof line, "%d %s", oci_mnt_id(co->rootfs), co->rootfs);
		if (oci_write_str(AT_FDCWD, path, O_CREAT | O_EXCL, line) < 0) {
			mr_err_sys(err, "write %s", path);
			goto out;
		}
	}
	snprintf(path, sizeof path, "%s/exec.fifo", dir);
	if (mkfifo(path, 0622) < 0 || chmod(path, 0622) < 0 ||
	    (in.fifo = open(path, O_PATH | O_CLOEXEC)) < 0) {
		mr_err_sys(err, "exec fifo %s", path);
		goto out;
	}
	oci_cg_path(co->cgroups_path, id, g->systemd, cg, sizeof cg);
	in.cg = cg;
	if (oci_cg_each(cg, OCI_CG_MAKE, 0, err) < 0)
		goto out;
	made_cg = 1;
	if (oci_cg_resources(cg, &co->res, co, err) < 0 || oci_ns_join(co, 1, err) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		mr_err_sys(err, "socketpair");
		goto out;
	}
	fflush(stdout);
	pid = syscall(SYS_clone, (unsigned long)(co->ns_new & ~CLONE_NEWCGROUP) | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		close(sv[0]);
		in.sync = sv[1];
		oci_init_run(&in);
	}
	close(sv[1]);
	sv[1] = -1;
	if (pid < 0) {
		mr_err_sys(err, "clone the container's init");
		goto out;
	}
	if (((co->ns_new & CLONE_NEWUSER) && oci_id_maps((pid_t)pid, co, err) < 0) ||
	    oci_cg_each(cg, OCI_CG_ENTER, (pid_t)pid, err) < 0)
		goto out;
	if (oci_send(sv[0], 'g', NULL) < 0) {
		mr_err_sys(err, "start the init");
		goto out;
	}
	for (;;) {
		int fd = -1;
		ssize_t n = ctr_recv(sv[0], &m, sizeof m, &fd);
		if (n <= 0) {
			mr_err_set(err, EPIPE, "container init exited before it was ready");
			goto out;
		}
		if (m.kind == 't') {
			if (o->console) {
				int cs = oci_console_connect(o->console, err);
				if (cs < 0 || ctr_send_fd(cs, fd) < 0) {
					if (cs >= 0) {
						close(cs);
						mr_err_sys(err, "console socket %s: send", o->console);
					}
					close(fd);
					goto out;
				}
				close(cs);
			}
			if (!o->console)
				in.pty = fd;
			else
				close(fd);
		} else if (m.kind == 'h') {
			if (oci_hooks_run("prestart\0createRuntime\0", NULL, co, id, "created",
					  (pid_t)pid, NULL, err) < 0 || oci_send(sv[0], 'a', NULL) < 0)
				goto out;
		} else if (m.kind == 'r') {
			break;
		} else {
			m.text[sizeof m.text - 1] = 0;
			mr_err_set(err, MR_EINVAL_INPUT, "%s", n > 1 ? m.text : "container init failed");
			goto out;
		}
	}
	{
		struct mr_buf b = { 0 };
		struct mr_jw w;
		struct timespec ts;
		char t[48];
		int dfd;
		clock_gettime(CLOCK_REALTIME, &ts);
		util_time_rfc3339(&ts, t, sizeof t);
		mr_jw_init(&w, &b, 0);
		mr_jw_obj(&w);
		json_kstr(&w, "id", id);
		json_kint(&w, "pid", pid);
		json_kint(&w, "start", (long long)ctr_pid_start((pid_t)pid));
		json_kstr(&w, "bundle", co->bundle);
		json_kstr(&w, "rootfs", co->rootfs);
		json_kstr(&w, "created", t);
		json_kstr(&w, "cgroup", cg);
		oci_jw_json(&w, "annotations", co->annotations);
		oci_jw_json(&w, "seccomp", co->seccomp);   /* exec compiles it again */
		oci_jw_json(&w, "hooks", co->hooks);
		mr_jw_obj_end(&w);
		dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
		rc = dfd < 0 ? mr_err_sys(err, "open %s", dir) :
		     mr_write_atomic(dfd, "state.json", b.data, b.len, 0644, err);
		if (dfd >= 0)
			close(dfd);
		mr_buf_free(&b);
		if (rc < 0)
			goto out;
	}
	if (o->pid_file && (rc = oci_write_pidfile(AT_FDCWD, o->pid_file, (pid_t)pid, err)) < 0)
		goto out;
	*pid_out = (pid_t)pid;
	rc = in.pty >= 0 ? in.pty : 0;
	in.pty = -1;
out:
	if (rc < 0) {
		if (pid > 0) {
			kill((pid_t)pid, SIGKILL);
			waitpid((pid_t)pid, NULL, 0);
		}
		if (made_cg)
			oci_cg_each(cg, OCI_CG_REMOVE, 0, NULL);
		if (made_dir)
			oci_dir_remove(g, id);
	}
	if (sv[0] >= 0)
		close(sv[0]);
	if (in.fifo >= 0)
		close(in.fifo);
	if (in.pty >= 0)
		close(in.pty);
	ctr_free(&c);
	return rc;
}

/* ---- status ---- */

static const char *oci_status(struct oci_g *g, const struct oci_rec *r)
{
	char path[MINIRUN_MAX_PATH];
	if (!r->pid || ctr_pid_start(r->pid) != r->start)
		return "stopped";
	oci_path(path, sizeof path, g, r->id, "exec.fifo");
	if (access(path, F_OK) == 0)
		return "created";
	return oci_cg_frozen(r->cgroup) ? "paused" : "running";
}

/* ---- commands ---- */

/* runc's flags: --name VALUE, --name=VALUE, -name (Go's flag package
 * takes one dash too). spec: "name\0" entries, a leading ':' for those
 * taking a value, short aliases after a '|' ("bundle|b"). */
struct oci_args {
	char **pos;                 /* first: one-byte offsets in x86-64 code */
	int npos;
	const char *cmd;            /* the command's name, as typed */
	const char *val[12];
	int set[12];
};

static int oci_parse(int argc, char **argv, const char *names, struct oci_args *a,
		     struct mr_err *err)
{
	const char *name;
	int i, k;
	memset(a, 0, sizeof *a);
	a->pos = util_xcalloc((size_t)argc + 1, sizeof *a->pos);
	for (i = 0; i < argc; i++) {
		const char *s = argv[i], *eq;
		size_t len;
		if (s[0] != '-' || !s[1] || a->npos) {
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (!strcmp(s, "--")) {
			for (i++; i < argc; i++)
				a->pos[a->npos++] = argv[i];
			break;
		}
		s += s[1] == '-' ? 2 : 1;
		eq = strchr(s, '=');
		len = eq ? (size_t)(eq - s) : strlen(s);
		for (k = 0, name = names; *name; name += strlen(name) + 1, k++) {
			const char *n = name + (name[0] == ':'), *bar = strchr(n, '|');
			size_t nl = bar ? (size_t)(bar - n) : strlen(n);
			if ((nl == len && !strncmp(n, s, len)) ||
			    (bar && strlen(bar + 1) == len && !strncmp(bar + 1, s, len)))
				break;
		}
		/* unknown, or the last argument and wanting a value (len: all of s) */
		if (!*name || (name[0] == ':' && !eq && i + 1 >= argc)) {
			free(a->pos);
			return mr_err_set(err, MR_EINVAL_INPUT, *name ? "flag needs an argument: -%.*s" :
					  "flag provided but not defined: -%.*s", (int)len, s);
		}
		a->set[k] = 1;
		if (name[0] == ':') {
			a->val[k] = eq ? eq + 1 : argv[++i];
		} else if (eq) {
			a->set[k] = strcmp(eq + 1, "false") != 0;
		}
	}
	return 0;
}

static int oci_cmd_start_id(struct oci_g *g, const char *id, struct mr_err *err);
static int oci_delete_id(struct oci_g *g, const char *id, int force, struct mr_err *err);

/* create, and run (create, start, then in the foreground wait and delete). */
static int oci_cmd_create(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	struct oci_create_opts o;
	int run = a->cmd[0] == 'r', status, pty;
	pid_t pid = 0;
	(void)r;
	memset(&o, 0, sizeof o);
	o.bundle = a->val[0];
	o.pid_file = a->val[1];
	o.console = a->val[2];
	o.detach = !run || a->set[6];
	pty = oci_create(g, a->pos[0], &o, &pid, err);
	if (pty < 0 || !run)
		return pty < 0 ? -1 : 0;
	if (oci_cmd_start_id(g, a->pos[0], err) < 0)
		return -1;
	if (a->set[6])
		return 0;
	/* foreground: relay the pty if we own it, wait, then delete */
	if (pty > 0) {
		char buf[4096];
		struct pollfd p[2] = { { 0, POLLIN, 0 }, { pty, POLLIN, 0 } };
		for (;;) {
			ssize_t n;
			if (poll(p, 2, -1) < 0 && errno != EINTR)
				break;
			if (p[0].revents & POLLIN) {
				n = read(0, buf, sizeof buf);
				if (n <= 0)
					p[0].fd = -1;
				else if (util_write_all(pty, buf, (size_t)n) < 0)
					break;
			}
			if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
				n = read(pty, buf, sizeof buf);
				if (n <= 0 || util_write_all(1, buf, (size_t)n) < 0)
					break;
			}
		}
		close(pty);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = 0;
			break;
		}
	oci_delete_id(g, a->pos[0], 1, err);
	return ctr_exit_code(status);
}

static int oci_cmd_start_id(struct oci_g *g, const char *id, struct mr_err *err)
{
	struct oci_rec r;
	char path[MINIRUN_MAX_PATH], c;
	const char *st;
	struct pollfd p;
	int fd, rc = 0, n;
	if (oci_rec_load(g, id, &r, err) < 0)
		return -1;
	st = oci_status(g, &r);
	if (strcmp(st, "created")) {
		mr_json_free(&r.doc);
		return mr_err_set(err, MR_EINVAL_INPUT, strcmp(st, "stopped") ?
				  "cannot start an already running container" :
				  "cannot start a container that has stopped");
	}
	oci_path(path, sizeof path, g, id, "exec.fifo");
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		mr_json_free(&r.doc);
		return mr_err_sys(err, "open %s", path);
	}
	p.fd = fd;
	p.events = POLLIN;
	/* the init opens its end once it is ready: wait for its byte, or its end */
	for (;;) {
		n = poll(&p, 1, 100);
		if (n > 0 && read(fd, &c, 1) == 1)
			break;
		if (ctr_pid_start(r.pid) != r.start) {
			rc = mr_err_set(err, ESRCH, "container %s: its init is gone", id);
			break;
		}
	}
	/* then its end closes at execve (close-on-exec): the program runs when
	 * `start` returns (a signal sent right after reaches the program) */
	for (n = 0; rc == 0 && n < 50; n++) {
		p.revents = 0;
		if (poll(&p, 1, 100) > 0 && read(fd, &c, 1) <= 0)
			break;
		if (ctr_pid_start(r.pid) != r.start)
			break;
	}
	close(fd);
	unlink(path);
	if (rc == 0)
		oci_hooks_run("poststart\0", &r, NULL, id, "running", r.pid, g, err);
	mr_json_free(&r.doc);
	return rc;
}

static int oci_cmd_start(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	(void)r;
	return oci_cmd_start_id(g, a->pos[0], err);
}

static int oci_cmd_state(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	const char *st = oci_status(g, r);
	(void)a;
	(void)err;
	oci_state_json(r, NULL, r->id, st, r->pid, 2, &b);
	printf("%s\n", b.data);
	mr_buf_free(&b);
	return 0;
}

/* Signal the init (or every process of the cgroup with --all); the
 * signal is checked before the record is read. */
static int oci_cmd_kill(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	const char *st;
	int sig = ctr_signal_parse(a->npos > 1 ? a->pos[1] : "TERM"), rc = 0;
	if (!sig)
		return mr_err_set(err, MR_EINVAL_INPUT, "unknown signal \"%s\"", a->pos[1]);
	if (oci_rec_load(g, a->pos[0], r, err) < 0)
		return -1;
	st = oci_status(g, r);
	if (a->set[0]) {
		size_t n, i;
		pid_t *p = oci_cg_pids(r->cgroup, &n);
		if (sig == SIGKILL && !strcmp(st, "paused"))
			oci_cg_freeze(r->cgroup, 0, err);
		for (i = 0; i < n; i++)
			kill(p[i], sig);
		free(p);
	} else if (!strcmp(st, "stopped")) {
		rc = mr_err_set(err, ESRCH, "container not running");
	} else if (kill(r->pid, sig) < 0) {
		rc = mr_err_sys(err, "kill %d", (int)r->pid);
	}
	return rc;
}

static int oci_delete_id(struct oci_g *g, const char *id, int force, struct mr_err *err)
{
	struct oci_rec r;
	const char *st;
	int i;
	if (oci_rec_load(g, id, &r, err) < 0) {
		/* a half-made state folder (create killed): nothing runs (the
		 * id was checked: a bad one is MR_EINVAL_INPUT) */
		if (err->code == MR_ENOTFOUND)
			oci_dir_remove(g, id);
		return force && err->code == MR_ENOTFOUND ? 0 : -1;
	}
	st = oci_status(g, &r);
	if (!force && strcmp(st, "stopped") && strcmp(st, "created")) {
		mr_json_free(&r.doc);
		return mr_err_set(err, MR_EINUSE, "cannot delete container %s that is not stopped: %s",
				  id, st);
	}
	if (strcmp(st, "stopped")) {
		size_t n, k;
		pid_t *p;
		oci_cg_freeze(r.cgroup, 0, err);
		kill(r.pid, SIGKILL);
		p = oci_cg_pids(r.cgroup, &n);
		for (k = 0; k < n; k++)
			kill(p[k], SIGKILL);
		free(p);
		for (i = 0; i < 500 && ctr_pid_start(r.pid) == r.start; i++) {
			waitpid(r.pid, NULL, WNOHANG);
			usleep(10000);
		}
	}
	for (i = 0; i < 100; i++) {
		size_t n;
		pid_t *p = oci_cg_pids(r.cgroup, &n);
		free(p);
		if (!n)
			break;
		usleep(10000);
	}
	/* a process moved out of the pids hierarchy (the suite's
	 * delete_only_create_resources) may still be in the others, a zombie
	 * until its reaper collects it */
	for (i = 0; i < 100 && oci_cg_each(r.cgroup, OCI_CG_REMOVE, 0, NULL) > 0; i++)
		usleep(10000);
	oci_root_undo_id(g, id);
	{
		struct mr_err herr;
		oci_hooks_run("poststop\0", &r, NULL, id, "stopped", 0, g, &herr);
	}
	oci_dir_remove(g, id);   /* rootmnt is gone already */
	mr_json_free(&r.doc);
	return 0;
}

static int oci_cmd_delete(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	(void)r;
	return oci_delete_id(g, a->pos[0], a->set[0], err);
}

static int oci_cmd_ps(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	size_t n, i;
	pid_t *p = oci_cg_pids(r->cgroup, &n);
	int json = a->val[0] && !strcmp(a->val[0], "json");
	(void)g;
	(void)err;
	printf(json ? "[" : "PID\n");
	for (i = 0; i < n; i++)
		printf(json ? "%s%d" : "%s%d\n", json && i ? "," : "", (int)p[i]);
	printf(json ? "]\n" : "");
	free(p);
	return 0;
}

/* pause, and resume */
static int oci_cmd_pause(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	return !strcmp(oci_status(g, r), "stopped") ? mr_err_set(err, ESRCH, "container not running") :
	       oci_cg_freeze(r->cgroup, a->cmd[0] == 'p', err);
}

/* update: linux.resources from --resources FILE (or -), then the flag
 * forms over it, into the spec's form, written at once. */
static const char oci_update_flags[] = ":resources|r\0:memory\0:memory-swap\0:pids-limit\0"
	":cpu-shares\0:cpu-quota\0:cpu-period\0:cpuset-cpus\0:cpuset-mems\0:memory-reservation\0"
	":blkio-weight\0";

static int oci_cmd_update(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	/* each flag's number in oci_res_keys; -1 cpus, -2 mems */
	static const signed char idx[] = { OCI_MEM_LIMIT, OCI_MEM_SWAP, OCI_PIDS, OCI_CPU_SHARES,
					   OCI_CPU_QUOTA, OCI_CPU_PERIOD, -1, -2, OCI_MEM_RESERVATION,
					   OCI_BIO_WEIGHT };
	struct mr_json_doc doc = { 0 };
	struct ctr_oci_res res;
	int rc = 0, k;
	(void)g;
	if (a->val[0])
		rc = oci_read_json(a->val[0], &doc, err);
	oci_res_parse(&res, doc.root);
	for (k = 0; rc == 0 && k < (int)sizeof idx; k++) {
		const char *v = a->val[k + 1];
		char *end;
		long long x;
		if (!v)
			continue;
		res.given = 1;
		if (idx[k] < 0) {
			*(idx[k] == -1 ? &res.cpus : &res.mems) = v;
			continue;
		}
		x = util_strtoi(v, &end, 10, LLONG_MIN, LLONG_MAX);
		if (end == v || *end) {
			rc = mr_err_set(err, MR_EINVAL_INPUT, "update --%s %s: not a number",
					oci_strs_skip(oci_update_flags, k + 1) + 1, v);
			break;
		}
		res.v[idx[k]] = x;
		res.set = x ? res.set | 1u << idx[k] : res.set & ~(1u << idx[k]);
	}
	if (rc == 0)
		rc = oci_cg_resources(r->cgroup, &res, NULL, err);
	mr_json_free(&doc);
	return rc;
}

/* exec: join the init's namespaces and cgroup, fork (the child is inside
 * the PID namespace), then the same last steps as the init. */
static int oci_cmd_exec(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	struct ctr c;
	struct seccomp_prog scp;
	int i, p[2] = { -1, -1 }, cons = -1, status, rc = 1, cwd;
	pid_t pid;
	cwd = -1;
	oci_spec_init(&c);
	if (!strcmp(oci_status(g, r), "stopped")) {
		mr_err_set(err, ESRCH, "cannot exec in a stopped container");
		goto out;
	}
	/* the process into the spec: process.json, or runc exec ID ARGS */
	if (a->val[0]) {
		if (oci_read_json(a->val[0], &c.doc, err) < 0 || spec_oci_process(&c, c.doc.root, err) < 0)
			goto out;
	} else {
		if (a->npos < 2) {
			mr_err_set(err, MR_EINVAL_INPUT, "exec: args must not be empty");
			goto out;
		}
		for (i = 1; i < a->npos; i++)
			ctr_list_add(&c.cmd, a->pos[i]);
		ctr_list_add(&c.env, "PATH=" CTR_DEFAULT_PATH);
		c.workdir = a->val[5] ? a->val[5] : "/";
		c.tty = (unsigned char)a->set[4];
	}
	c.oci->seccomp = mr_json_get(r->doc.root, "seccomp");
	if (c.tty && !a->val[1] && a->set[2]) {
		mr_err_set(err, MR_EINVAL_INPUT, "cannot allocate tty if runc will detach without "
			   "setting console socket");
		goto out;
	}
	if (c.tty && a->val[1] && (cons = oci_console_connect(a->val[1], err)) < 0)
		goto out;
	if (oci_cg_each(r->cgroup, OCI_CG_ENTER, getpid(), err) < 0)
		goto out;
	/* the pid file is a host path: keep its folder at hand */
	if (a->val[3]) {
		char dir[MINIRUN_MAX_PATH];
		const char *slash = strrchr(a->val[3], '/');
		snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - a->val[3]) : 1,
			 slash ? (slash == a->val[3] ? "/" : a->val[3]) : ".");
		if ((cwd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
			mr_err_sys(err, "pid file folder %s", dir);
			goto out;
		}
		a->val[3] = slash ? slash + 1 : a->val[3];
	}
	/* the chroot too: the child's, and ours while we wait */
	if (exec_join(r->pid, r->start, 1, err) < 0)
		goto out;
	if (pipe2(p, O_CLOEXEC) < 0) {
		mr_err_sys(err, "pipe");
		goto out;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		setsid();
		if (cons >= 0) {
			int ptmx, slave;
			if (rootfs_pty_open(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), &ptmx, &slave,
					    err) < 0)
				goto child_fail;
			if (ctr_send_fd(cons, ptmx) < 0) {
				mr_err_sys(err, "exec: pass the pty");
				goto child_fail;
			}
			if (c.oci->cons_w) {
				struct winsize ws = { (unsigned short)c.oci->cons_h,
						      (unsigned short)c.oci->cons_w, 0, 0 };
				ioctl(slave, TIOCSWINSZ, &ws);
			}
			ioctl(slave, TIOCSCTTY, 0);
			for (i = 0; i < 3; i++)
				dup2(slave, i);
		}
		if (oci_seccomp(c.oci->seccomp, c.oci->cap_bnd, &scp, err) == 0)
			oci_process_exec(&c, &scp, err);
child_fail:
		if (write(p[1], err->msg, strlen(err->msg)) < 0) {
			/* the parent is gone */
		}
		_exit(err->code == ENOENT ? 127 : 126);
	}
	close(p[1]);
	p[1] = -1;
	if (pid < 0) {
		mr_err_sys(err, "fork");
		goto out;
	}
	{
		ssize_t k = read(p[0], err->msg, sizeof err->msg - 1);
		if (k > 0) {
			err->msg[k] = 0;
			waitpid(pid, NULL, 0);
			goto out;
		}
	}
	if (a->val[3] && oci_write_pidfile(cwd, a->val[3], pid, err) < 0)
		goto out;
	if (a->set[2]) {
		rc = 0;
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = 0;
			break;
		}
	rc = ctr_exit_code(status);
	err->msg[0] = 0;
out:
	if (cwd >= 0)
		close(cwd);
	if (p[0] >= 0)
		close(p[0]);
	if (cons >= 0)
		close(cons);
	ctr_free(&c);
	return rc == 1 && err->msg[0] ? -1 : rc;
}

static int oci_cmd_list(struct oci_g *g, struct oci_args *a, struct oci_rec *unused, struct mr_err *err)
{
	DIR *d = opendir(g->root);
	struct dirent *de;
	int json = a->val[0] && !strcmp(a->val[0], "json"), first = 1;
	(void)unused;
	if (json)
		printf("[");
	else if (!a->set[1])
		printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
		       "OWNER");
	while (d && (de = readdir(d)) != NULL) {
		struct oci_rec r;
		const char *st;
		if (de->d_name[0] == '.' || oci_rec_load(g, de->d_name, &r, err) < 0)
			continue;
		st = oci_status(g, &r);
		if (json) {
			struct mr_buf b = { 0 };
			oci_state_json(&r, NULL, r.id, st, r.pid, 0, &b);
			printf("%s%s", first ? "" : ",", b.data);
			mr_buf_free(&b);
		} else if (a->set[1]) {
			printf("%s\n", r.id);
		} else {
			printf("%-12s %-8d %-10s %-40s %-30s root\n", r.id,
			       strcmp(st, "stopped") ? (int)r.pid : 0, st, r.bundle, r.created);
		}
		first = 0;
		mr_json_free(&r.doc);
	}
	if (d)
		closedir(d);
	if (json)
		printf(first ? "null\n" : "]\n");
	return 0;
}

/* events --stats: one stats record from the cgroup (the shim reads cgroups
 * itself; this is for people). */
static int oci_cmd_events(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	uint64_t mem = 0, lim = 0, cpu = 0;
	size_t n;
	pid_t *p;
	int v2 = cg_version() == 2;
	char path[MINIRUN_MAX_PATH];
	(void)g;
	(void)a;
	(void)err;
	/* cg_read_u64 reads CG_ROOT/HIER/minirun/ID: point it at our folder */
	snprintf(path, sizeof path, "..%s", r->cgroup);
	cg_read_u64(v2 ? "" : "memory", path, v2 ? "memory.current" : "memory.usage_in_bytes", NULL,
		    &mem);
	cg_read_u64(v2 ? "" : "memory", path, v2 ? "memory.max" : "memory.limit_in_bytes", NULL, &lim);
	if (v2)
		cg_read_u64("", path, "cpu.stat", "usage_usec", &cpu), cpu *= 1000;
	else
		cg_read_u64("cpuacct", path, "cpuacct.usage", NULL, &cpu);
	p = oci_cg_pids(r->cgroup, &n);
	free(p);
	printf("{\"type\":\"stats\",\"id\":\"%s\",\"data\":{\"cpu\":{\"usage\":{\"total\":%llu}},"
	       "\"memory\":{\"usage\":{\"usage\":%llu,\"limit\":%llu}},\"pids\":{\"current\":%zu}}}\n",
	       r->id, (unsigned long long)cpu, (unsigned long long)mem, (unsigned long long)lim, n);
	return 0;
}

/* runc spec's default config.json (rootless variant left out). With
 * MINIRUN_WITH_GZIP the binary carries the deflated copy below instead
 * (1,300 bytes less); the unit tests have both and compare them. */
#if !MINIRUN_WITH_GZIP || defined(MINIRUN_NO_MAIN)
static const char oci_default_spec[] =
	"{\n\t\"ociVersion\": \"1.0.2\",\n\t\"process\": {\n\t\t\"terminal\": true,\n"
	"\t\t\"user\": {\"uid\": 0, \"gid\": 0},\n\t\t\"args\": [\"sh\"],\n"
	"\t\t\"env\": [\"PATH=" CTR_DEFAULT_PATH "\", \"TERM=xterm\"],\n\t\t\"cwd\": \"/\",\n"
	"\t\t\"capabilities\": {\n"
	"\t\t\t\"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"\t\t\t\"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"\t\t\t\"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"\t\t\t\"ambient\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]\n\t\t},\n"
	"\t\t\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],\n"
	"\t\t\"noNewPrivileges\": true\n\t},\n"
	"\t\"root\": {\"path\": \"rootfs\", \"readonly\": true},\n\t\"hostname\": \"runc\",\n"
	"\t\"mounts\": [\n"
	"\t\t{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
	"\t\t{\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": "
	"[\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
	"\t\t{\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\", \"options\": "
	"[\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", \"gid=5\"]},\n"
	"\t\t{\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\", \"options\": "
	"[\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},\n"
	"\t\t{\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\", "
	"\"options\": [\"nosuid\", \"noexec\", \"nodev\"]},\n"
	"\t\t{\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", \"options\": "
	"[\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},\n"
	"\t\t{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\", "
	"\"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}\n\t],\n"
	"\t\"linux\": {\n\t\t\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},\n"
	"\t\t\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"}, "
	"{\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],\n"
	"\t\t\"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\", "
	"\"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\", "
	"\"/sys/firmware\", \"/proc/scsi\"],\n"
	"\t\t\"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", "
	"\"/proc/sysrq-trigger\"]\n\t}\n}\n";
#endif
#if MINIRUN_WITH_GZIP
/* BEGIN generated by scripts/gen-oci-spec.py: oci_default_spec, raw deflate.
 * Do not edit; rerun the script. */
#define OCI_DEFAULT_SPEC_LEN 2055
static const unsigned char oci_default_spec_z[739] = {
	165,85,93,111,218,48,20,125,134,95,81,249,153,53,180,27,
	32,85,226,161,107,153,134,70,25,98,172,123,152,42,100,156,
	75,176,72,236,212,118,8,20,241,223,119,109,7,18,218,245,
	99,235,11,248,30,199,231,158,251,225,235,109,189,70,36,227,
	183,160,52,151,130,92,156,144,179,211,230,233,57,105,32,158,
	42,201,64,107,4,183,245,90,141,24,80,9,23,52,70,219,
	168,12,26,22,203,52,40,187,79,50,30,226,127,179,113,66,
	34,191,218,185,125,170,34,123,254,55,209,11,114,231,16,16,
	43,7,140,46,39,95,187,65,166,85,16,75,70,227,64,207,
	184,184,168,216,7,179,220,112,11,111,226,15,65,95,147,222,
	248,166,187,182,194,10,118,150,91,231,36,32,222,162,41,157,
	241,152,27,14,251,40,106,100,38,51,17,114,17,57,21,87,
	151,163,233,229,207,235,254,100,250,107,220,159,244,44,167,133,
	190,245,7,131,253,122,216,155,76,63,247,135,215,211,31,189,
	241,109,255,170,231,61,97,32,243,57,48,195,87,240,94,162,
	212,230,213,24,8,223,75,68,147,25,7,97,254,159,6,89,
	124,217,84,204,81,146,171,220,150,152,77,106,99,36,227,65,
	255,6,249,134,223,191,244,7,142,112,65,149,213,124,214,60,
	255,132,150,150,115,83,88,59,95,12,33,135,144,143,20,95,
	241,24,34,87,1,219,55,117,231,131,40,41,141,235,156,148,
	154,133,165,183,192,92,91,94,5,52,148,34,222,20,7,220,
	231,11,169,141,160,137,19,162,50,193,92,131,38,88,74,175,
	18,221,109,73,8,218,96,131,154,162,145,3,219,191,150,111,
	31,192,222,214,50,83,172,68,92,200,79,79,135,176,170,30,
	54,73,234,213,149,167,15,144,76,237,41,223,232,66,106,123,
	23,236,135,70,113,102,144,16,85,163,153,200,16,186,157,86,
	203,109,241,7,232,182,91,173,143,237,37,185,123,222,127,144,
	26,93,213,128,80,129,148,34,74,236,239,42,132,132,53,184,
	176,5,228,92,104,67,5,115,122,82,147,172,157,166,102,187,
	221,62,8,108,182,207,155,196,223,226,110,235,69,109,122,145,
	188,146,159,226,139,87,117,201,34,213,78,192,89,167,211,249,
	151,20,37,247,25,100,80,85,82,34,165,148,18,123,155,154,
	231,60,234,205,81,65,208,124,18,244,30,122,115,216,74,190,
	228,46,152,235,128,69,74,102,105,213,113,137,148,158,75,236,
	237,174,33,62,244,167,147,81,175,217,171,75,98,46,178,245,
	126,238,43,240,62,220,8,181,253,198,253,26,71,3,141,99,
	153,227,114,78,99,13,200,65,89,241,96,16,149,39,100,231,
	195,34,246,222,234,148,30,78,29,238,35,234,218,53,78,74,
	64,128,201,165,90,30,131,60,101,199,64,134,237,126,4,184,
	49,112,12,21,185,40,6,81,66,245,18,194,17,14,26,159,
	19,55,25,2,202,82,110,3,47,44,109,223,133,210,94,50,
	169,160,98,130,175,188,183,48,107,32,216,102,138,183,201,84,
	96,155,74,53,141,185,54,143,177,71,31,106,182,128,112,26,
	194,44,139,28,232,234,204,85,146,211,170,79,205,52,47,222,
	181,253,72,124,28,195,44,171,176,206,43,107,174,238,43,68,
	85,237,104,168,251,15,56,155,162,8,223,110,156,249,187,250,
	174,254,7,
};
/* END generated */

/* The default config.json inflated into out (room for
 * OCI_DEFAULT_SPEC_LEN + 1); -1 if it does not inflate. */
static int oci_spec_text(char *out, struct mr_err *err)
{
	z_stream z;
	int rc;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
		return mr_err_set(err, ENOMEM, "spec: cannot initialise zlib");
	z.next_in = (unsigned char *)oci_default_spec_z;
	z.avail_in = sizeof oci_default_spec_z;
	z.next_out = (unsigned char *)out;
	z.avail_out = OCI_DEFAULT_SPEC_LEN;
	rc = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	out[OCI_DEFAULT_SPEC_LEN - z.avail_out] = 0;
	return rc == Z_STREAM_END ? 0 : mr_err_set(err, EINVAL, "spec: the default config.json is damaged");
}
#else
static int oci_spec_text(char *out, struct mr_err *err)
{
	(void)err;
	memcpy(out, oci_default_spec, sizeof oci_default_spec);
	return 0;
}
#define OCI_DEFAULT_SPEC_LEN (sizeof oci_default_spec - 1)
#endif

static int oci_cmd_spec(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	char path[MINIRUN_MAX_PATH], text[OCI_DEFAULT_SPEC_LEN + 1];
	(void)g;
	(void)r;
	snprintf(path, sizeof path, "%s/config.json", a->val[0] ? a->val[0] : ".");
	if (oci_spec_text(text, err) < 0)
		return -1;
	if (oci_write_str(AT_FDCWD, path, O_CREAT | O_EXCL, text) < 0)
		return mr_err_sys(err, "File %s", path);
	return 0;
}

/* "key": [the strings of a "a\0b\0" list] */
static void oci_jw_strs(struct mr_jw *w, const char *key, const char *s)
{
	mr_jw_key(w, key);
	mr_jw_arr(w);
	for (; *s; s += strlen(s) + 1)
		mr_jw_str(w, s);
	mr_jw_arr_end(w);
}

/* features: its flags are not read (runc's are none). */
static int oci_cmd_features(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	struct mr_jw w;
	(void)g;
	(void)a;
	(void)r;
	(void)err;
	mr_jw_init(&w, &b, 4);
	mr_jw_obj(&w);
	json_kstr(&w, "ociVersionMin", "1.0.0");
	json_kstr(&w, "ociVersionMax", "1.0.2");
	/* the tables the parsers use */
	oci_jw_strs(&w, "namespaces", oci_ns_names);
	mr_jw_key(&w, "linux");
	mr_jw_obj(&w);
	oci_jw_strs(&w, "mountOptions", oci_mount_names);
	mr_jw_obj_end(&w);
	oci_jw_strs(&w, "hooks", "prestart\0createRuntime\0createContainer\0startContainer\0poststart\0"
		    "poststop\0");
	mr_jw_key(&w, "annotations");
	mr_jw_obj(&w);
	json_kstr(&w, "org.opencontainers.runc.version", "minirun " MINIRUN_VERSION);
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	printf("%s\n", b.data);
	mr_buf_free(&b);
	return 0;
}

/* The commands. need: OCI_ID an id first; OCI_REC its record loaded too;
 * OCI_PREV the entry before's flags, and its name in messages (runc says
 * "create" for run, "pause" for resume). names: oci_parse's list; NULL:
 * flags not read. */
enum { OCI_ID = 1, OCI_REC = 2, OCI_PREV = 4 };
static const struct oci_cmd {
	char name[9];
	unsigned char need;
	const char *names;
	int (*run)(struct oci_g *g, struct oci_args *a, struct oci_rec *r, struct mr_err *err);
} oci_cmds[] = {
	{ "create", OCI_ID, ":bundle|b\0:pid-file\0:console-socket\0no-pivot\0no-new-keyring\0"
	  ":preserve-fds\0detach|d\0keep\0no-subreaper\0", oci_cmd_create },
	{ "run", OCI_ID | OCI_PREV, NULL, oci_cmd_create },
	{ "start", OCI_ID, "", oci_cmd_start },
	{ "state", OCI_ID | OCI_REC, "", oci_cmd_state },
	{ "kill", OCI_ID, "all|a\0:pid|p\0", oci_cmd_kill },
	{ "delete", OCI_ID, "force|f\0", oci_cmd_delete },
	{ "ps", OCI_ID | OCI_REC, ":format|f\0", oci_cmd_ps },
	{ "pause", OCI_ID | OCI_REC, "", oci_cmd_pause },
	{ "resume", OCI_ID | OCI_REC | OCI_PREV, NULL, oci_cmd_pause },
	{ "update", OCI_ID | OCI_REC, oci_update_flags, oci_cmd_update },
	{ "exec", OCI_ID | OCI_REC, ":process|p\0:console-socket\0detach|d\0:pid-file\0tty|t\0:cwd\0"
	  ":env|e\0:user|u\0no-new-privs\0:preserve-fds\0:process-label\0:apparmor\0", oci_cmd_exec },
	{ "list", 0, ":format|f\0quiet|q\0", oci_cmd_list },
	{ "events", OCI_ID | OCI_REC, "stats\0:interval\0", oci_cmd_events },
	{ "spec", 0, ":bundle|b\0rootless\0", oci_cmd_spec },
	{ "features", 0, NULL, oci_cmd_features },
};

/* One command: its flags, its id and record as it needs them, its body
 * (< 0: failed, err says why; else the exit code). */
static int oci_cmd_do(struct oci_g *g, const struct oci_cmd *k, int argc, char **argv)
{
	const struct oci_cmd *named = k->need & OCI_PREV ? k - 1 : k;
	struct oci_args a;
	struct oci_rec r;
	struct mr_err err;
	int rc = 0;
	memset(&err, 0, sizeof err);
	memset(&a, 0, sizeof a);
	memset(&r, 0, sizeof r);
	if (named->names && oci_parse(argc, argv, named->names, &a, &err) < 0)
		return oci_fail(g, &err);
	a.cmd = k->name;
	if ((k->need & OCI_ID) && a.npos < 1)
		rc = mr_err_set(&err, MR_EINVAL_INPUT, "%s: container id cannot be empty", named->name);
	else if (k->need & OCI_REC)
		rc = oci_rec_load(g, a.pos[0], &r, &err);
	if (rc == 0)
		rc = k->run(g, &a, &r, &err);
	mr_json_free(&r.doc);
	free(a.pos);
	return rc < 0 ? oci_fail(g, &err) : rc;
}

static int oci_main(int argc, char **argv)
{
	static const char names[] = ":root\0:log\0:log-format\0systemd-cgroup\0debug\0:criu\0"
		":rootless\0version|v\0help|h\0";
	struct oci_g g;
	struct oci_args a;
	struct mr_err err;
	const char *cmd;
	int rc = 1;
	size_t k;
	memset(&g, 0, sizeof g);
	memset(&err, 0, sizeof err);
	g.logfd = -1;
	/* the global flags; the command and its arguments are the positionals
	 * (oci_parse reads no flag after the first one) */
	if (oci_parse(argc - 1, argv + 1, names, &a, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	g.root = a.val[0] ? a.val[0] : "/run/runc";
	g.log = a.val[1];
	g.log_format = a.val[2];
	g.systemd = a.set[3];
	g.debug = a.set[4];
	if (g.log && *g.log)
		g.logfd = open(g.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (a.set[7]) {
		printf("runc version %s (minirun %s)\ncommit: minirun-%s\nspec: 1.0.2\n", MINIRUN_VERSION,
		       MINIRUN_VERSION, MINIRUN_VERSION);
		free(a.pos);
		return 0;
	}
	cmd = a.npos ? a.pos[0] : "help";
	for (k = 0; k < sizeof oci_cmds / sizeof oci_cmds[0] && strcmp(cmd, oci_cmds[k].name); k++)
		;
	if (k < sizeof oci_cmds / sizeof oci_cmds[0])
		rc = oci_cmd_do(&g, &oci_cmds[k], a.npos - 1, a.pos + 1);
	else if (!strcmp(cmd, "help") || a.set[8]) {
		printf("minirun %s in runc mode: create, start, run, state, kill, delete, ps, pause, "
		       "resume, update, exec, list, events, spec, features\n", MINIRUN_VERSION);
		rc = 0;
	} else {
		mr_err_set(&err, MR_EINVAL_INPUT, "No help topic for '%s'", cmd);
		rc = oci_fail(&g, &err);
	}
	fflush(stdout);
	if (g.logfd >= 0)
		close(g.logfd);
	free(a.pos);
	return rc;
}

#else
static int oci_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "minirun: runc mode: built without MINIRUN_WITH_OCI\n");
	return 125;
}
#endif

/* Is this runc's command line? argv[0] named runc, or one of runc's own
 * global flags before the command. */
static int oci_wanted(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	int i;
	base = base ? base + 1 : argc > 0 ? argv[0] : "";
	if (!strcmp(base, "runc"))
		return 1;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		if (util_starts_with(a, "log") || !strcmp(a, "systemd-cgroup") || !strcmp(a, "debug") ||
		    util_starts_with(a, "criu") || util_starts_with(a, "rootless"))
			return 1;
		if (!strcmp(a, "root"))   /* the one taking a value not caught above */
			i++;
	}
	return 0;
}
