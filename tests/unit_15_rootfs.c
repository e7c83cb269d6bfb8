/* Unit tests of [15] ROOTFS: resolv.conf without loopback servers, the
 * container's hosts / hostname / resolv.conf files, the overlay options
 * (absolute, and the short l/N links past a page), a container's root made
 * by rootfs_create with both drivers and mounted by rootfs_mount_root (a
 * real overlay, skipped with the probe's reason where overlayfs cannot
 * mount), and Docker's masked and read-only paths over a small root. The
 * mounts happen in a child in its own mount namespace: nothing reaches the
 * host's. Uses ui_child from unit_16_isolate.c's helpers (included after
 * this file, so declared here). */

static int ui_child(int (*fn)(void *, char *), void *arg, char *res, int max);

struct tr_env {
	char dir[PATH_MAX];                /* the test folder */
	struct mr_store st;
	struct ctr c;
	struct ctr_list layers;
	char ctrdir[PATH_MAX + 64];
	int dirfd;                         /* the container's folder */
};

static const char tr_layer_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char tr_layer_b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static void tr_resolv(void)
{
	struct mr_buf b = { 0 };
	rootfs_resolv_conf("# made by hand\nnameserver 127.0.0.53\nnameserver 192.0.2.1\n"
			   "  nameserver ::1\noptions edns0\nsearch lan", &b);
	mr_buf_append(&b, "", 0);
	CHECK(b.data && !strcmp(b.data, "# made by hand\nnameserver 192.0.2.1\noptions edns0\n"
				"search lan\n"));
	b.len = 0;
	/* only loopback servers: Docker's fallback */
	rootfs_resolv_conf("nameserver 127.0.0.1\n", &b);
	mr_buf_append(&b, "", 0);
	CHECK(!strcmp(b.data, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"));
	b.len = 0;
	rootfs_resolv_conf(NULL, &b);
	mr_buf_append(&b, "", 0);
	CHECK(!strcmp(b.data, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"));
	mr_buf_free(&b);
}

static void tr_etc_files(struct tr_env *e)
{
	struct ctr_spawn sp;
	struct mr_buf b = { 0 }, host = { 0 };
	struct mr_err err;
	char link[PATH_MAX + 80];
	memset(&sp, 0, sizeof sp);
	sp.c = &e->c;
	e->c.hostname = "box1";
	e->c.network = "bridge";
	CHECK(rootfs_etc_files(&sp, e->dirfd, &err) == 0);
	CHECK(mr_read_file(e->dirfd, "hostname", &b, 4096, &err) == 0 && b.len == 5 &&
	      !memcmp(b.data, "box1\n", 5));
	b.len = 0;
	CHECK(mr_read_file(e->dirfd, "hosts", &b, 4096, &err) == 0 && b.len &&
	      util_starts_with(b.data, "127.0.0.1\tlocalhost\n"));
	b.len = 0;
	CHECK(mr_read_file(e->dirfd, "resolv.conf", &b, 4096, &err) == 0 && b.len);
	mr_buf_append(&b, "", 0);
	CHECK(!strstr(b.data, "nameserver 127.") && strstr(b.data, "nameserver "));
	/* --network host: the host's files as they are */
	e->c.network = "host";
	CHECK(rootfs_etc_files(&sp, e->dirfd, &err) == 0);
	b.len = 0;
	if (mr_read_file(AT_FDCWD, "/etc/hosts", &host, 1u << 20, &err) == 0) {
		CHECK(mr_read_file(e->dirfd, "hosts", &b, 1u << 20, &err) == 0 && b.len == host.len &&
		      (!b.len || !memcmp(b.data, host.data, b.len)));
	}
	/* written in place, never through a symlink the folder holds */
	snprintf(link, sizeof link, "%s/evil", e->dir);
	unit_write(link, "keep\n");
	CHECK(unlinkat(e->dirfd, "hostname", 0) == 0 && symlinkat(link, e->dirfd, "hostname") == 0);
	CHECK(rootfs_etc_files(&sp, e->dirfd, &err) < 0 && strstr(err.msg, "write hostname"));
	b.len = 0;
	CHECK(mr_read_file(AT_FDCWD, link, &b, 64, &err) == 0 && b.len == 5 && !memcmp(b.data, "keep\n", 5));
	unlinkat(e->dirfd, "hostname", 0);
	e->c.hostname = NULL;
	e->c.network = NULL;
	mr_buf_free(&b);
	mr_buf_free(&host);
}

static void tr_overlay_opts(struct tr_env *e)
{
	struct ctr_spawn sp;
	struct ctr_list many = { 0 };
	struct mr_buf b = { 0 }, want = { 0 };
	char names[60][65], path[PATH_MAX + 80];
	size_t i;
	memset(&sp, 0, sizeof sp);
	sp.st = &e->st;
	snprintf(sp.dir, sizeof sp.dir, "%s", e->ctrdir);
	/* layers bottom first in the list, top first in lowerdir */
	CHECK(rootfs_overlay_opts(&sp, &e->layers, &b) == 0);
	mr_buf_printf(&want, "lowerdir=%s/layers/%s:%s/layers/%s,upperdir=%s/upper,workdir=%s/work",
		      e->st.root, tr_layer_b, e->st.root, tr_layer_a, sp.dir, sp.dir);
	mr_buf_append(&b, "", 0);
	mr_buf_append(&want, "", 0);
	CHECK(b.data && !strcmp(b.data, want.data));
	/* with the init layer */
	snprintf(path, sizeof path, "%s/init", sp.dir);
	CHECK(mkdir(path, 0755) == 0);
	CHECK(rootfs_overlay_opts(&sp, &e->layers, &b) == 0);
	mr_buf_append(&b, "", 0);
	CHECK(util_starts_with(b.data, "lowerdir=") && !strncmp(b.data + 9, path, strlen(path)) &&
	      b.data[9 + strlen(path)] == ':');
	/* past a page: the short relative links, top first */
	for (i = 0; i < 60; i++) {
		snprintf(names[i], sizeof names[i], "%064zu", i);
		ctr_list_add(&many, names[i]);
	}
	CHECK(rootfs_overlay_opts(&sp, &many, &b) == 1);
	mr_buf_append(&b, "", 0);
	CHECK(util_starts_with(b.data, "lowerdir=init:l/59:l/58:") &&
	      util_ends_with(b.data, ":l/1:l/0,upperdir=upper,workdir=work") && b.len < 4000);
	rmdir(path);
	ctr_list_free(&many);
	mr_buf_free(&b);
	mr_buf_free(&want);
}

/* In a child in a new mount namespace: the overlay root mounted, the
 * layers and the init layer seen through it, writes landing in upper. */
static int tr_mount_child(void *arg, char *o)
{
	struct tr_env *e = arg;
	struct ctr_spawn sp;
	struct mr_err err;
	struct statfs sf;
	char path[PATH_MAX + 80], buf[16] = "";
	ssize_t n;
	int k = 0;
	if (unshare(CLONE_NEWNS) < 0) {
		o[k++] = 'S';
		return k;
	}
	memset(&sp, 0, sizeof sp);
	sp.st = &e->st;
	sp.c = &e->c;
	sp.rootfd = -1;
	snprintf(sp.dir, sizeof sp.dir, "%s", e->ctrdir);
	o[k++] = rootfs_mount_root(&sp, &e->layers, &err) == 0 ? '1' : '0';
	o[k++] = sp.rootfd >= 0 ? '1' : '0';
	snprintf(path, sizeof path, "%s/rootfs", e->ctrdir);
	o[k++] = statfs(path, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC ? '1' : '0';
	/* a from the lower layer, b from the upper one, which also hides a's x */
	snprintf(path, sizeof path, "%s/rootfs/etc/a", e->ctrdir);
	o[k++] = access(path, F_OK) == 0 ? '1' : '0';
	snprintf(path, sizeof path, "%s/rootfs/etc/x", e->ctrdir);
	n = readlink(path, buf, sizeof buf);
	o[k++] = access(path, F_OK) == 0 && n < 0 ? '1' : '0';
	{
		struct mr_buf b = { 0 };
		o[k++] = mr_read_file(AT_FDCWD, path, &b, 64, &err) == 0 && b.len == 2 &&
			 !memcmp(b.data, "B\n", 2) ? '1' : '0';
		mr_buf_free(&b);
	}
	/* the init layer's /etc/mtab link */
	snprintf(path, sizeof path, "%s/rootfs/etc/mtab", e->ctrdir);
	n = readlink(path, buf, sizeof buf - 1);
	o[k++] = n == 12 && !memcmp(buf, "/proc/mounts", 12) ? '1' : '0';
	/* a write goes to the container's own layer, never the image's */
	snprintf(path, sizeof path, "%s/rootfs/new", e->ctrdir);
	o[k++] = unit_write(path, "n\n") == 0 ? '1' : '0';
	snprintf(path, sizeof path, "%s/upper/new", e->ctrdir);
	o[k++] = access(path, F_OK) == 0 ? '1' : '0';
	snprintf(path, sizeof path, "%s/layers/%s/new", e->st.root, tr_layer_b);
	o[k++] = access(path, F_OK) < 0 ? '1' : '0';
	return k;
}

/* A small store with two layers: a has etc/a and etc/x, b has etc/x (B). */
static int tr_store(struct tr_env *e)
{
	char path[PATH_MAX + 160], root[PATH_MAX + 16], run[PATH_MAX + 16];
	struct mr_err err;
	snprintf(root, sizeof root, "%s/store", e->dir);
	snprintf(run, sizeof run, "%s/run", e->dir);
	if (mr_store_open(&e->st, root, run, &err) < 0) {
		fprintf(stderr, "unit: store: %s\n", err.msg);
		return -1;
	}
	snprintf(path, sizeof path, "%s/layers/%s", root, tr_layer_a);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/layers/%s/etc", root, tr_layer_a);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/layers/%s/etc/a", root, tr_layer_a);
	unit_write(path, "A\n");
	snprintf(path, sizeof path, "%s/layers/%s/etc/x", root, tr_layer_a);
	unit_write(path, "A\n");
	snprintf(path, sizeof path, "%s/layers/%s", root, tr_layer_b);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/layers/%s/etc", root, tr_layer_b);
	mkdir(path, 0710);
	snprintf(path, sizeof path, "%s/layers/%s/etc/x", root, tr_layer_b);
	unit_write(path, "B\n");
	ctr_list_add(&e->layers, tr_layer_a);
	ctr_list_add(&e->layers, tr_layer_b);
	return 0;
}

/* A container folder for driver d (its id: a hex digit repeated). */
static int tr_ctr(struct tr_env *e, const char *driver, char digit)
{
	char path[PATH_MAX + 80];
	if (e->dirfd >= 0)
		close(e->dirfd);
	memset(e->c.id, digit, CTR_ID_LEN);
	e->c.id[CTR_ID_LEN] = 0;
	snprintf(e->c.driver, sizeof e->c.driver, "%s", driver);
	snprintf(e->ctrdir, sizeof e->ctrdir, "%s/containers/%s", e->st.root, e->c.id);
	snprintf(path, sizeof path, "%s/containers", e->st.root);
	mkdir(path, 0700);
	mkdir(e->ctrdir, 0700);
	e->dirfd = open(e->ctrdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return e->dirfd;
}

static void tr_create(struct tr_env *e)
{
	struct mr_err err;
	struct stat a, b;
	char path[PATH_MAX + 160], lpath[PATH_MAX + 160], buf[32];
	ssize_t n;
	/* copy driver: the layers applied in order into rootfs, copied */
	CHECK(tr_ctr(e, "copy", '1') >= 0);
	CHECK(rootfs_create(&e->st, &e->c, &e->layers, e->dirfd, &err) == 0);
	snprintf(path, sizeof path, "%s/rootfs/etc/x", e->ctrdir);
	snprintf(lpath, sizeof lpath, "%s/layers/%s/etc/x", e->st.root, tr_layer_b);
	CHECK(stat(path, &a) == 0 && stat(lpath, &b) == 0 && a.st_ino != b.st_ino);
	{
		struct mr_buf t = { 0 };
		CHECK(mr_read_file(AT_FDCWD, path, &t, 64, &err) == 0 && t.len == 2 && !memcmp(t.data, "B\n", 2));
		mr_buf_free(&t);
	}
	snprintf(path, sizeof path, "%s/rootfs/etc/a", e->ctrdir);
	CHECK(access(path, F_OK) == 0);
	/* read-only: the layers' inodes shared (nothing can write them) */
	CHECK(tr_ctr(e, "copy", '2') >= 0);
	e->c.readonly = 1;
	CHECK(rootfs_create(&e->st, &e->c, &e->layers, e->dirfd, &err) == 0);
	e->c.readonly = 0;
	snprintf(path, sizeof path, "%s/rootfs/etc/x", e->ctrdir);
	CHECK(stat(path, &a) == 0 && a.st_ino == b.st_ino);
	/* a second create in the same folder fails: rootfs exists */
	CHECK(rootfs_create(&e->st, &e->c, &e->layers, e->dirfd, &err) < 0 &&
	      strstr(err.msg, "create rootfs"));
	/* overlay: upper, work, init/etc/mtab; init/etc takes the top /etc's mode */
	CHECK(tr_ctr(e, "overlay", '3') >= 0);
	CHECK(rootfs_create(&e->st, &e->c, &e->layers, e->dirfd, &err) == 0);
	CHECK(fstatat(e->dirfd, "upper", &a, 0) == 0 && S_ISDIR(a.st_mode));
	CHECK(fstatat(e->dirfd, "work", &a, 0) == 0 && (a.st_mode & 07777) == 0700);
	CHECK(fstatat(e->dirfd, "init/etc", &a, 0) == 0 && (a.st_mode & 07777) == 0710);
	n = readlinkat(e->dirfd, "init/etc/mtab", buf, sizeof buf - 1);
	CHECK(n == 12 && !memcmp(buf, "/proc/mounts", 12));
	CHECK(faccessat(e->dirfd, "l", F_OK, AT_SYMLINK_NOFOLLOW) < 0);   /* short list: no links */
	{
		/* mounted, in a child of its own mount namespace */
		const char *drv = rootfs_driver(&e->st);
		char res[64];
		int k, i;
		if (strcmp(drv, "overlay")) {
			UNIT_SKIP("overlay root: overlayfs cannot mount here (the driver probe says %s)", drv);
			return;
		}
		k = ui_child(tr_mount_child, e, res, sizeof res);
		if (k == 1 && res[0] == 'S') {
			UNIT_SKIP("overlay root: no new mount namespace here");
			return;
		}
		CHECK(k == 10);
		for (i = 0; i < k; i++) {
			if (res[i] != '1')
				fprintf(stderr, "  tr_mount_child: check %d failed\n", i);
			CHECK(res[i] == '1');
		}
	}
}

/* Docker's masks over a small root: a file behind /dev/null, a folder
 * behind an empty read-only tmpfs, /proc/sys read-only; none privileged. */
static int tr_mask_child(void *arg, char *o)
{
	struct tr_env *e = arg;
	struct ctr_spawn sp;
	struct mr_err err;
	struct stat sb;
	struct statfs sf;
	char root[PATH_MAX + 16], path[PATH_MAX + 64];
	int k = 0;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		o[k++] = 'S';
		return k;
	}
	snprintf(root, sizeof root, "%s/fake", e->dir);
	memset(&sp, 0, sizeof sp);
	sp.c = &e->c;
	sp.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	e->c.privileged = 1;
	o[k++] = rootfs_mask(&sp, &err) == 0 ? '1' : '0';
	snprintf(path, sizeof path, "%s/proc/kcore", root);
	o[k++] = stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? '1' : '0';
	e->c.privileged = 0;
	o[k++] = rootfs_mask(&sp, &err) == 0 ? '1' : '0';
	o[k++] = stat(path, &sb) == 0 && S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(1, 3) ? '1' : '0';
	snprintf(path, sizeof path, "%s/proc/acpi", root);
	o[k++] = statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC ? '1' : '0';
	snprintf(path, sizeof path, "%s/proc/acpi/secret", root);
	o[k++] = access(path, F_OK) < 0 && unit_write(path, "x") < 0 && errno == EROFS ? '1' : '0';
	snprintf(path, sizeof path, "%s/proc/sys/new", root);
	o[k++] = unit_write(path, "x") < 0 && errno == EROFS ? '1' : '0';
	/* a masked path the root lacks is no error, nothing made */
	snprintf(path, sizeof path, "%s/proc/keys", root);
	o[k++] = access(path, F_OK) < 0 ? '1' : '0';
	return k;
}

static void tr_mask(struct tr_env *e)
{
	char path[PATH_MAX + 64], res[32];
	int k, i;
	snprintf(path, sizeof path, "%s/fake", e->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fake/proc", e->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fake/proc/kcore", e->dir);
	unit_write(path, "core\n");
	snprintf(path, sizeof path, "%s/fake/proc/acpi", e->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/fake/proc/acpi/secret", e->dir);
	unit_write(path, "s\n");
	snprintf(path, sizeof path, "%s/fake/proc/sys", e->dir);
	mkdir(path, 0755);
	k = ui_child(tr_mask_child, e, res, sizeof res);
	if (k == 1 && res[0] == 'S') {
		UNIT_SKIP("masks: no new mount namespace here");
		return;
	}
	CHECK(k == 8);
	for (i = 0; i < k; i++) {
		if (res[i] != '1')
			fprintf(stderr, "  tr_mask_child: check %d failed\n", i);
		CHECK(res[i] == '1');
	}
	/* the host's namespace saw none of it */
	snprintf(path, sizeof path, "%s/fake/proc/acpi/secret", e->dir);
	CHECK(access(path, F_OK) == 0);
}

static void test_rootfs(void)
{
	struct tr_env e;
	memset(&e, 0, sizeof e);
	e.dirfd = -1;
	ctr_init(&e.c);
	tr_resolv();
	if (!unit_tmpdir(e.dir, sizeof e.dir) || tr_store(&e) < 0) {
		CHECK(0);
		return;
	}
	CHECK(tr_ctr(&e, "overlay", '0') >= 0);
	tr_etc_files(&e);
	tr_overlay_opts(&e);
	tr_create(&e);
	tr_mask(&e);
	if (e.dirfd >= 0)
		close(e.dirfd);
	ctr_list_free(&e.layers);
	mr_store_close(&e.st);
	unit_rmdir(e.dir);
}
