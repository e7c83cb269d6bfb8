/* ==== [15] ROOTFS: overlay or copy roots, /dev, /proc, /sys, /etc files, pivot_root ====
 * The overlay (or the copy driver's bind mount) is mounted by the container's
 * first process inside its own new mount namespace: nothing a container uses is
 * ever mounted in the host's namespace, so a killed monitor or a reboot leaves
 * nothing mounted, and `rm` only deletes folders. Every mount target is
 * resolved inside the new root (mr_open_in_root) and handed to mount(2) as
 * /proc/self/fd/N, the very object that was checked: a symlink in an image
 * (/dev -> /host/dev) cannot redirect a mount outside the container. */

#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <termios.h>
#include <net/if.h>
#include <linux/capability.h>
#include <linux/magic.h>

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

/* Everything one start of a container needs, in the parent and in the child
 * (the child has a copy: it is a clone of the parent). */
struct ctr_spawn {
	struct mr_store *st;
	struct ctr *c;
	int sync;                          /* socket to the other side */
	int stdio[3];                      /* the container's stdin, stdout, stderr */
	int rootfd;                        /* child: the new root (O_PATH) */
	int pty;                           /* parent: pty master (-t) */
	int pty_slave;                     /* child */
	int exe_fd;                        /* child: minirun's own binary (identity) */
	pid_t pid;
	int is_exec;
	int nodev;                         /* no device cgroup: mount all but /dev nodev */
	int netns_fd;                      /* --network container:NAME: its netns, opened
					    * by the parent (net_prepare), joined by the
					    * child; -1: none */
	uint64_t caps;                     /* allowed capabilities */
	struct dev_node *devs;             /* --device, resolved */
	size_t ndevs;
	struct dev_rule *rules;            /* the device policy (NULL: --privileged) */
	size_t nrules;
	/* the arrays last: the fields above are then at one-byte offsets in
	 * x86-64 code */
	int cg_fds[8];                     /* exec: cgroup.procs to join (-1: none) */
	char dir[MINIRUN_MAX_PATH];        /* root/containers/ID */
};

/* A spawn of container c of store st, nothing opened yet: its folder known. */
static void ctr_spawn_init(struct ctr_spawn *sp, struct mr_store *st, struct ctr *c)
{
	memset(sp, 0, sizeof *sp);
	sp->st = st;
	sp->c = c;
	snprintf(sp->dir, sizeof sp->dir, "%s/containers/%s", st->root, c->id);
}

/* ---- driver choice ---- */

/* Can overlayfs mount here with an upper folder on the store? Probed once per
 * boot in a throw-away mount namespace (a forked child), remembered in
 * rundir/driver: overlay missing from the kernel, or refusing the store's
 * filesystem as upper (a router whose root is itself overlay), means the
 * copy driver. MINIRUN_STORAGE_DRIVER=copy|overlay forces one. */
#if MINIRUN_WITH_OVERLAY
static const char *rootfs_driver(struct mr_store *st)
{
	char path[MINIRUN_MAX_PATH + 16], name[64], opts[512], cached[16];
	const char *force = getenv("MINIRUN_STORAGE_DRIVER"), *p;
	struct mr_err ignored;
	struct statfs sf;
	int fd, tfd, status = 1;
	pid_t pid;
	if (force && (!strcmp(force, "copy") || !strcmp(force, "overlay")))
		return !strcmp(force, "copy") ? "copy" : "overlay";
	snprintf(path, sizeof path, "%s/driver", st->rundir);
	if (ctr_read_small(AT_FDCWD, path, 0, cached, sizeof cached) > 0)
		return !strncmp(cached, "overlay", 7) ? "overlay" : "copy";
	if (fstatfs(st->rootfd, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC)
		goto out;
	tfd = mr_store_mktemp(st, "probe", name, sizeof name, &ignored);
	if (tfd < 0)
		return "copy";
	for (p = "l\0u\0w\0m\0"; *p; p += 2)
		if (mkdirat(tfd, p, 0755)) {
			close(tfd);
			return "copy";
		}
	snprintf(opts, sizeof opts, "lowerdir=%s/%s/l,upperdir=%s/%s/u,workdir=%s/%s/w",
		 st->root, name, st->root, name, st->root, name);
	snprintf(path, sizeof path, "%s/%s/m", st->root, name);
	pid = fork();
	if (pid == 0) {
		_exit(unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		      mount("overlay", path, "overlay", 0, opts) == 0 ? 0 : 1);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
	mr_remove_tree(st->rootfd, name, &ignored);
	close(tfd);
out:
	fd = ctr_rundir(st, "", 1);
	if (fd >= 0) {
		ctr_write_file(fd, "driver", status == 0 ? "overlay\n" : "copy\n", status == 0 ? 8 : 5,
			       0, &ignored);
		close(fd);
	}
	return status == 0 ? "overlay" : "copy";
}
#else
static const char *rootfs_driver(struct mr_store *st)
{
	(void)st;
	return "copy";                      /* built without MINIRUN_WITH_OVERLAY */
}
#endif

/* The lowerdir option: layers top first. Absolute paths when they fit in
 * the one page mount(2) accepts; else short relative links l/N made at
 * create time (what Docker's overlay2 does), relative to the container's
 * folder, where the child changes directory before mounting. */
static int rootfs_overlay_opts(const struct ctr_spawn *sp, const struct ctr_list *layers,
			       struct mr_buf *out)
{
	size_t i;
	char init[MINIRUN_MAX_PATH + 16];
	int has_init;
	snprintf(init, sizeof init, "%s/init", sp->dir);
	has_init = access(init, F_OK) == 0;     /* records made before it: none */
	out->len = 0;
	mr_buf_printf(out, "lowerdir=");
	if (has_init)
		mr_buf_printf(out, "%s:", init);
	for (i = layers->n; i-- > 0;)
		mr_buf_printf(out, "%s/layers/%s%s", sp->st->root, layers->v[i], i ? ":" : "");
	mr_buf_printf(out, ",upperdir=%s/upper,workdir=%s/work", sp->dir, sp->dir);
	/* the same choice at create (no init yet: the folder is a temporary)
	 * as at start */
	if (out->len + (has_init ? 0 : strlen(init) + 1) < 4000)
		return 0;
	out->len = 0;
	mr_buf_printf(out, "lowerdir=%s", has_init ? "init:" : "");
	for (i = layers->n; i-- > 0;)
		mr_buf_printf(out, "l/%zu%s", i, i ? ":" : "");
	mr_buf_printf(out, ",upperdir=upper,workdir=work");
	return 1;
}

/* Create the container's root at `create`: overlay folders (and the short
 * links for long layer lists), or the copy driver's flattened tree. */
static int rootfs_create(struct mr_store *st, struct ctr *c, const struct ctr_list *layers,
			 int dirfd, struct mr_err *err)
{
	size_t i;
	int rfd, rc = 0;
	if (mkdirat(dirfd, "rootfs", 0755) < 0)
		return mr_err_sys(err, "create rootfs");
	if (!strcmp(c->driver, "overlay")) {
		struct ctr_spawn sp;
		struct mr_buf opts = { 0 };
		const char *d;
		/* init: Docker's init layer, under the image's, so that the
		 * container's own layer (its size, diff) starts empty: the
		 * /etc/mtab -> /proc/mounts link that programs expect */
		for (d = "upper\0work\0init\0init/etc\0"; *d; d += strlen(d) + 1)
			if (mkdirat(dirfd, d, *d == 'w' ? 0700 : 0755) < 0)
				return mr_err_sys(err, "create overlay folders");
		if (symlinkat("/proc/mounts", dirfd, "init/etc/mtab") < 0)
			return mr_err_sys(err, "create overlay folders");
		/* overlay shows the top layer's folder: init/etc takes the image's
		 * /etc owner, mode and times, so that only the link is new */
		for (i = layers->n; i-- > 0;) {
			char path[128];
			struct stat sb;
			snprintf(path, sizeof path, "layers/%s/etc", layers->v[i]);
			if (fstatat(st->rootfd, path, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode))
				continue;
			{
				struct timespec ts[2] = { sb.st_atim, sb.st_mtim };
				if (fchownat(dirfd, "init/etc", sb.st_uid, sb.st_gid, 0) < 0 ||
				    fchmodat(dirfd, "init/etc", sb.st_mode & 07777, 0) < 0 ||
				    utimensat(dirfd, "init/etc", ts, 0) < 0)
					return mr_err_sys(err, "create overlay folders: init/etc");
			}
			break;
		}
		ctr_spawn_init(&sp, st, c);
		if (rootfs_overlay_opts(&sp, layers, &opts)) {
			if (mkdirat(dirfd, "l", 0700) < 0)
				rc = mr_err_sys(err, "create layer links");
			for (i = 0; !rc && i < layers->n; i++) {
				char target[128], name[24];
				snprintf(target, sizeof target, "../../../layers/%s", layers->v[i]);
				snprintf(name, sizeof name, "l/%zu", i);
				if (symlinkat(target, dirfd, name) < 0)
					rc = mr_err_sys(err, "create layer link %s", name);
			}
		}
		mr_buf_free(&opts);
		return rc;
	}
	/* copy driver: hardlinks into the store's layers would let a container
	 * change the image in place, so files are copied, except for read-only
	 * roots where sharing the inodes is safe */
	rfd = openat(dirfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0)
		return mr_err_sys(err, "open rootfs");
	for (i = 0; !rc && i < layers->n; i++) {
		char path[96];
		int lfd;
		snprintf(path, sizeof path, "layers/%s", layers->v[i]);
		lfd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (lfd < 0) {
			rc = mr_err_sys(err, "layer sha256:%.12s", layers->v[i]);
			break;
		}
		rc = tar_apply_layer_dir(lfd, rfd, c->readonly ? TAR_APPLY_LINK : 0, err);
		if (rc < 0)
			mr_err_ctx(err, "copy layer sha256:%.12s", layers->v[i]);
		close(lfd);
	}
	close(rfd);
	return rc;
}

/* ---- /etc/hosts, /etc/hostname, /etc/resolv.conf (kept in the container's
 * folder, bind-mounted over the image's) ---- */

/* The host's resolv.conf without loopback name servers, which cannot answer
 * inside another network namespace; Docker's fallback when none is left. */
static void rootfs_resolv_conf(const char *host, struct mr_buf *out)
{
	const char *p = host;
	int servers = 0;
	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p + 1) : strlen(p);
		const char *q = p;
		while (*q == ' ' || *q == '\t')
			q++;
		if (!strncmp(q, "nameserver", 10) && (q[10] == ' ' || q[10] == '\t')) {
			q += 10;
			while (*q == ' ' || *q == '\t')
				q++;
			if (!strncmp(q, "127.", 4) || !strncmp(q, "::1", 3)) {
				p += n;
				continue;
			}
			servers++;
		}
		mr_buf_append(out, p, n);
		if (!end && n)
			mr_buf_append(out, "\n", 1);
		p += n;
	}
	if (!servers)
		mr_buf_printf(out, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

/* Written in place: nothing reads them before the container starts (and a
 * rename would leave a restarted container's bind mount on the old file). */
static int rootfs_put(int dirfd, const char *name, const struct mr_buf *b, struct mr_err *err)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || util_write_all(fd, b->data ? b->data : "", b->len) < 0) {
		mr_err_sys(err, "write %s", name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int rootfs_etc_files(struct ctr_spawn *sp, int dirfd, struct mr_err *err)
{
	struct mr_buf b = { 0 }, host = { 0 };
	struct mr_err ignored;
	const struct ctr *c = sp->c;
	int host_net = !strcmp(c->network, "host"), rc;
	mr_buf_printf(&b, "%s\n", c->hostname);
	rc = rootfs_put(dirfd, "hostname", &b, err);
	b.len = 0;
	if (host_net && mr_read_file(AT_FDCWD, "/etc/hosts", &host, 1u << 20, &ignored) == 0) {
		mr_buf_append(&b, host.data, host.len);
	} else {
		mr_buf_printf(&b, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
			      "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
			      "ff02::2\tip6-allrouters\n");
	}
	if (!rc)
		rc = rootfs_put(dirfd, "hosts", &b, err);
	b.len = 0;
	host.len = 0;
	if (mr_read_file(AT_FDCWD, "/etc/resolv.conf", &host, 1u << 20, &ignored) < 0)
		mr_buf_append(&host, "", 0);
	if (host_net)
		mr_buf_append(&b, host.data, host.len);
	else
		rootfs_resolv_conf(host.data, &b);
	if (!rc)
		rc = rootfs_put(dirfd, "resolv.conf", &b, err);
	mr_buf_free(&b);
	mr_buf_free(&host);
	return rc;
}

/* ---- in the child, before pivot_root ---- */

/* The root itself: overlay (layers + the container's upper), or a bind
 * mount of the copy driver's folder onto itself (pivot_root needs a mount). */
static int rootfs_mount_root(struct ctr_spawn *sp, const struct ctr_list *layers,
			     struct mr_err *err)
{
	char rootfs[MINIRUN_MAX_PATH + 16];
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", sp->dir);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return mr_err_sys(err, "make mounts private");
	if (!strcmp(sp->c->driver, "overlay")) {
		struct mr_buf opts = { 0 };
		int rel = rootfs_overlay_opts(sp, layers, &opts), rc;
		if (rel && chdir(sp->dir) < 0) {
			mr_buf_free(&opts);
			return mr_err_sys(err, "chdir %s", sp->dir);
		}
		rc = mount("overlay", rootfs, "overlay", 0, opts.data);
		mr_buf_free(&opts);
		if (rc < 0)
			return mr_err_sys(err, "mount overlay root (%zu layers)", layers->n);
	} else if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
		return mr_err_sys(err, "bind root %s", rootfs);
	}
	if (sp->nodev && mount(NULL, rootfs, NULL, MS_REMOUNT | MS_BIND | MS_NODEV, NULL) < 0)
		return mr_err_sys(err, "remount the root nodev");
	sp->rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sp->rootfd < 0)
		return mr_err_sys(err, "open root %s", rootfs);
	return 0;
}

static int rootfs_mount_proc_sys(struct ctr_spawn *sp, struct mr_err *err)
{
	unsigned long ro = sp->c->privileged ? 0 : MS_RDONLY;
	if (mount_in_root(sp->rootfd, "proc", 'd', "proc", "proc",
			    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0)
		return -1;
	if (mount_in_root(sp->rootfd, "sys", 'd', "sysfs", "sysfs",
			    MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, NULL, err) < 0) {
		/* sysfs refuses a mount from a network namespace we do not own
		 * in some set-ups; a bind of the host's is Docker's fallback */
		if (mount_in_root(sp->rootfd, "sys", 'd', "/sys", NULL,
				    MS_BIND | MS_REC | MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* /dev/shm: a tmpfs of --shm-size (64 MiB by default), or the host's with
 * --ipc host (shared memory is the IPC namespace's). */
static int rootfs_mount_shm(struct ctr_spawn *sp, struct mr_err *err)
{
	char opts[48];
	if (ctr_ns_host(sp->c->ipc_mode))
		return mount_in_root(sp->rootfd, "dev/shm", 'd', "/dev/shm", NULL, MS_BIND | MS_REC,
				     NULL, err);
	snprintf(opts, sizeof opts, "mode=1777,size=%lldk",
		 (long long)((sp->c->shm_size ? sp->c->shm_size : 64LL << 20) + 1023) / 1024);
	return mount_in_root(sp->rootfd, "dev/shm", 'd', "shm", "tmpfs",
			     MS_NOSUID | MS_NODEV | MS_NOEXEC, opts, err);
}

/* The usual nodes of /dev (dev: its fd) and its links: made with mknod, or
 * bound from the host's where bind (a nodev /dev, a user namespace); what
 * is there already stays (an OCI bundle's own: [20b] uses it too). */
static int rootfs_dev_nodes(int rootfd, int dev, int bind, struct mr_err *err)
{
	static const struct { char name[8]; unsigned char maj, min; } nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 },
		{ "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const char links[] =
		"fd\0/proc/self/fd\0stdin\0/proc/self/fd/0\0stdout\0/proc/self/fd/1\0"
		"stderr\0/proc/self/fd/2\0ptmx\0pts/ptmx\0";
	const char *p;
	size_t i;
	for (i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		char src[16], path[16];
		struct stat sb;
		if (fstatat(dev, nodes[i].name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		/* not under the umask */
		if (!bind && mknodat(dev, nodes[i].name, S_IFCHR | 0666,
				     makedev(nodes[i].maj, nodes[i].min)) == 0) {
			fchmodat(dev, nodes[i].name, 0666, 0);
			continue;
		}
		/* each host node on a mount of its own */
		snprintf(src, sizeof src, "/dev/%s", nodes[i].name);
		snprintf(path, sizeof path, "dev/%s", nodes[i].name);
		if (mount_in_root(rootfd, path, 'f', src, NULL, MS_BIND, NULL, err) < 0)
			return -1;
	}
	for (p = links; *p; p += strlen(p) + 1, p += strlen(p) + 1)
		if (symlinkat(p + strlen(p) + 1, dev, p) < 0 && errno != EEXIST)
			return mr_err_sys(err, "symlink /dev/%s", p);
	/* only where the kernel has /proc/kcore (runc's rule): never dangling */
	if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0 &&
	    errno != EEXIST)
		return mr_err_sys(err, "symlink /dev/core");
	return 0;
}

/* A private /dev: a tmpfs with the usual nodes, its own devpts instance,
 * /dev/shm and /dev/mqueue. */
static int rootfs_mount_dev(struct ctr_spawn *sp, struct mr_err *err)
{
	const char *d;
	int dev;
	if (mount_in_root(sp->rootfd, "dev", 'd', "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME |
			    (sp->nodev ? MS_NODEV : 0), "mode=755,size=65536k", err) < 0)
		return -1;
	dev = mr_open_in_root(sp->rootfd, "dev", O_PATH | O_DIRECTORY, 0, err);
	if (dev < 0)
		return mr_err_ctx(err, "open /dev");
	if (rootfs_dev_nodes(sp->rootfd, dev, sp->nodev, err) < 0) {
		close(dev);
		return -1;
	}
	for (d = "pts\0shm\0mqueue\0"; *d; d += strlen(d) + 1)
		if (mkdirat(dev, d, *d == 's' ? 01777 : 0755) < 0) {
			mr_err_sys(err, "create /dev folders");
			close(dev);
			return -1;
		}
	close(dev);
	if (mount_in_root(sp->rootfd, "dev/pts", 'd', "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
			    "newinstance,ptmxmode=0666,mode=0620,gid=5", err) < 0 ||
	    rootfs_mount_shm(sp, err) < 0 ||
	    mount_in_root(sp->rootfd, "dev/mqueue", 'd', "mqueue", "mqueue",
			    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0)
		return -1;
	return 0;
}

/* A pty of the devpts instance at dev/pts of the root rootfd: *master and
 * *slave (on failure what was opened stays there, for the caller to
 * close). Also exec's ([18], [20b]). */
static int rootfs_pty_open(int rootfd, int *master, int *slave, struct mr_err *err)
{
	char path[24];
	int unlock = 0, n = 0;
	*master = mr_open_in_root(rootfd, "dev/pts/ptmx", O_RDWR | O_NOCTTY, 0, err);
	if (*master < 0)
		return mr_err_ctx(err, "open the pty master");
	if (ioctl(*master, TIOCSPTLCK, &unlock) < 0 || ioctl(*master, TIOCGPTN, &n) < 0)
		return mr_err_sys(err, "unlock the pty");
	snprintf(path, sizeof path, "dev/pts/%d", n);
	*slave = mr_open_in_root(rootfd, path, O_RDWR | O_NOCTTY, 0, err);
	return *slave < 0 ? mr_err_ctx(err, "open the pty") : 0;
}

/* -t: a pty of the container's own devpts instance (so `tty` inside names a
 * /dev/pts entry that exists there); the master goes to the parent over the
 * sync socket, the slave becomes /dev/console and the process's stdio. */
static int rootfs_pty(struct ctr_spawn *sp, struct mr_err *err)
{
	char target[40], src[40];
	int cfd;
	if (rootfs_pty_open(sp->rootfd, &sp->pty, &sp->pty_slave, err) < 0)
		return -1;
	cfd = mount_open_in(sp->rootfd, "dev/console", 'f', err);
	if (cfd < 0)
		return mr_err_ctx(err, "create /dev/console");
	mount_fdpath(target, sizeof target, cfd);
	mount_fdpath(src, sizeof src, sp->pty_slave);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0) {
		close(cfd);
		return mr_err_sys(err, "bind /dev/console");
	}
	close(cfd);
	return 0;
}

/* Docker's masked paths (hidden behind /dev/null or an empty read-only
 * tmpfs) and read-only paths of /proc and /sys; none with --privileged.
 * (inspect lists them too: HostConfig.MaskedPaths, ReadonlyPaths) */
static const char rootfs_masked[] =
	"proc/asound\0proc/acpi\0proc/kcore\0proc/keys\0proc/latency_stats\0"
	"proc/timer_list\0proc/timer_stats\0proc/sched_debug\0proc/scsi\0"
	"sys/firmware\0sys/devices/virtual/powercap\0";
static const char rootfs_readonly[] =
	"proc/bus\0proc/fs\0proc/irq\0proc/sys\0proc/sysrq-trigger\0";

/* Hide one path of the root (relative): /dev/null over a file, an empty
 * read-only tmpfs over a folder. Also OCI's maskedPaths ([20b]). */
static int rootfs_mask_one(int rootfd, const char *p, struct mr_err *err)
{
	struct stat stb;
	struct mr_err ignored;
	int fd = mr_open_in_root(rootfd, p, O_PATH | O_NOFOLLOW, 0, &ignored);
	char target[40];
	int rc;
	if (fd < 0)
		return 0;
	mount_fdpath(target, sizeof target, fd);
	rc = fstat(fd, &stb) < 0 ? -1 : S_ISDIR(stb.st_mode) ?
		mount("tmpfs", target, "tmpfs", MS_RDONLY, "size=0") :
		mount("/dev/null", target, NULL, MS_BIND, NULL);
	close(fd);
	return rc < 0 ? mr_err_sys(err, "mask /%s", p) : 0;
}

/* Make one path of the root read-only (a read-only bind of itself). Also
 * OCI's readonlyPaths ([20b]). */
static int rootfs_ro_one(int rootfd, const char *p, struct mr_err *err)
{
	struct mr_err ignored;
	int fd = mr_open_in_root(rootfd, p, O_PATH | O_NOFOLLOW, 0, &ignored), rc;
	char src[40];
	if (fd < 0)
		return 0;
	mount_fdpath(src, sizeof src, fd);
	rc = mount_in_root(rootfd, p, 'x', src, NULL, MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID |
			   MS_NODEV | MS_NOEXEC, NULL, err);
	close(fd);
	return rc;
}

static int rootfs_mask(struct ctr_spawn *sp, struct mr_err *err)
{
	const char *p;
	if (sp->c->privileged)
		return 0;
	for (p = rootfs_masked; *p; p += strlen(p) + 1)
		if (rootfs_mask_one(sp->rootfd, p, err) < 0)
			return -1;
	for (p = rootfs_readonly; *p; p += strlen(p) + 1)
		if (rootfs_ro_one(sp->rootfd, p, err) < 0)
			return -1;
	return 0;
}

/* /etc/hosts, hostname, resolv.conf (read-only with --read-only, as in
 * Docker), and /etc/mtab -> /proc/mounts where the image has none (Docker
 * makes that link in the container's layer). */
static int rootfs_etc_binds(struct ctr_spawn *sp, struct mr_err *err)
{
	static const char files[] = "hosts\0hostname\0resolv.conf\0";
	unsigned long ro = sp->c->readonly ? MS_RDONLY : 0;
	const char *f;
	struct stat sb;
	int etc = mr_open_in_root(sp->rootfd, "etc", O_PATH | O_DIRECTORY, 0, err);
	if (etc >= 0) {
		if (fstatat(etc, "mtab", &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
		    symlinkat("/proc/mounts", etc, "mtab") < 0 && errno != EROFS) {
			close(etc);
			return mr_err_sys(err, "symlink /etc/mtab");
		}
		close(etc);
	}
	for (f = files; *f; f += strlen(f) + 1) {
		char src[MINIRUN_MAX_PATH + 32], path[32];
		snprintf(src, sizeof src, "%s/%s", sp->dir, f);
		snprintf(path, sizeof path, "etc/%s", f);
		if (mount_in_root(sp->rootfd, path, 'f', src, NULL, MS_BIND | ro, NULL, err) < 0) {
			/* a dangling symlink there (resolv.conf -> ../run/..., whose
			 * folder is missing): the image's choice, leave it */
			if (err->code == ENOENT || err->code == ENOTDIR)
				continue;
			return -1;
		}
	}
	return 0;
}

/* Volumes, binds and tmpfs of the container ([11] mount_apply). A volume
 * that is still empty first gets what the image has at its path (Docker's
 * copy-up), before anything is mounted over that path. */
static int rootfs_user_mounts(struct ctr_spawn *sp, struct mr_err *err)
{
	const struct ctr *c = sp->c;
	size_t i;
	for (i = 0; i < c->nmnt; i++) {
		struct mount_spec m = c->mnt[i];
		char path[MINIRUN_MAX_PATH];
		DIR *d;
		struct dirent *de;
		int empty = 1;
		if (m.type != MOUNT_VOLUME || m.nocopy ||
		    mount_source_path(sp->st, &m, path, sizeof path) < 0 || !(d = opendir(path)))
			continue;
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = 0;
		closedir(d);
		m.created = empty;
		if (mount_copy_up(sp->st, sp->rootfd, &m, err) < 0)
			return -1;
	}
	for (i = 0; i < c->nmnt; i++)
		if (mount_apply(sp->st, sp->rootfd, &c->mnt[i], sp->nodev, err) < 0)
			return -1;
	return 0;
}

/* --device: the host's node bound at its path in the container (a mount of
 * its own: not nodev even when everything else is). */
static int rootfs_devices(struct ctr_spawn *sp, struct mr_err *err)
{
	size_t i;
	for (i = 0; i < sp->ndevs; i++)
		if (mount_in_root(sp->rootfd, sp->devs[i].path + 1, 'f', sp->devs[i].host, NULL,
				  MS_BIND, NULL, err) < 0)
			return mr_err_ctx(err, "--device %s", sp->devs[i].host);
	return 0;
}

/* Switch to the new root and detach the old one (runc's pivot_root(".", ".")
 * trick: no put_old folder is needed). */
static int rootfs_pivot(struct ctr_spawn *sp, struct mr_err *err)
{
	if (fchdir(sp->rootfd) < 0)
		return mr_err_sys(err, "chdir to the new root");
	if (compat_pivot_root(".", ".") < 0)
		return mr_err_sys(err, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return mr_err_sys(err, "detach the old root");
	if (chdir("/") < 0)
		return mr_err_sys(err, "chdir /");
	if (sp->c->readonly && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
				     (sp->nodev ? MS_NODEV : 0), NULL) < 0)
		return mr_err_sys(err, "remount the root read-only");
	return 0;
}
