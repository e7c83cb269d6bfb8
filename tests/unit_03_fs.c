/* Unit tests: [03] FS and [08] STORE, hostile cases included. Every hostile
 * path aims at a sentinel folder made by the test, never at system files. */

static int fs_read_text(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* Resolution inside a root; run once with openat2 and once with the
 * component walk. */
static void test_fs_resolve(const char *dir, const char *sentinel)
{
	struct mr_err err;
	char path[PATH_MAX], text[64], link[PATH_MAX];
	int root, fd;

	snprintf(path, sizeof path, "%s/root", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/root/etc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/root/etc/passwd", dir);
	unit_write(path, "inside");
	snprintf(path, sizeof path, "%s/root/to-slash", dir);
	symlink("/", path);
	snprintf(path, sizeof path, "%s/root/to-etc", dir);
	symlink("/etc", path);
	snprintf(path, sizeof path, "%s/root/up", dir);
	symlink("../../../../../../etc", path);
	snprintf(path, sizeof path, "%s/root/loop", dir);
	symlink("loop", path);
	snprintf(path, sizeof path, "%s/root/to-sentinel", dir);
	symlink(sentinel, path);
	snprintf(link, sizeof link, "%s/pwned", sentinel);
	snprintf(path, sizeof path, "%s/root/to-sentinel-file", dir);
	symlink(link, path);
	snprintf(path, sizeof path, "%s/root", dir);
	root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(root >= 0);

	{
		static const char *const inside[] = {
			"etc/passwd", "/etc/passwd", "../../../../etc/passwd", "to-slash/etc/passwd",
			"to-slash/../../etc/passwd", "to-etc/passwd", "up/passwd", "./etc/../etc/passwd",
			"to-slash/to-slash/to-etc/passwd",
		};
		size_t i;
		for (i = 0; i < sizeof inside / sizeof inside[0]; i++) {
			fd = mr_open_in_root(root, inside[i], O_RDONLY, 0, &err);
			CHECK(fd >= 0 && fs_read_text(fd, text, sizeof text) == 0 &&
			      !strcmp(text, "inside"));
			if (fd < 0)
				fprintf(stderr, "  path %s: %s\n", inside[i], err.msg);
			else
				close(fd);
		}
	}
	fd = mr_open_in_root(root, "loop", O_RDONLY, 0, &err);
	CHECK(fd < 0 && err.code == ELOOP);
	/* Creating through symlinks aimed outside stays inside (or fails). */
	fd = mr_open_in_root(root, "to-sentinel-file", O_WRONLY | O_CREAT, 0644, &err);
	if (fd >= 0)
		close(fd);
	fd = mr_open_in_root(root, "to-sentinel/pwned", O_WRONLY | O_CREAT, 0644, &err);
	if (fd >= 0)
		close(fd);
	CHECK(access(link, F_OK) < 0);
	/* The root itself, and O_NOFOLLOW on a final symlink. */
	fd = mr_open_in_root(root, "/", O_RDONLY | O_DIRECTORY, 0, &err);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	fd = mr_open_in_root(root, "to-slash", O_RDONLY | O_NOFOLLOW, 0, &err);
	CHECK(fd < 0);
	/* mkdir through a symlink to "/" creates inside the root. */
	fd = mr_mkdir_in_root(root, "to-slash/made/deeper", 0755, &err);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof path, "%s/root/made/deeper", dir);
	CHECK(access(path, F_OK) == 0);
	fd = mr_mkdir_in_root(root, "to-sentinel/escape", 0755, &err);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof path, "%s/escape", sentinel);
	CHECK(access(path, F_OK) < 0);
	close(root);
}

static void test_fs(void)
{
	struct mr_err err;
	char dir[PATH_MAX], sentinel[PATH_MAX], path[PATH_MAX], text[64];
	struct mr_buf buf = { 0 };
	int dfd, fd;

	if (!unit_tmpdir(dir, sizeof dir) || !unit_tmpdir(sentinel, sizeof sentinel)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/keep", sentinel);
	unit_write(path, "sentinel");

	test_fs_resolve(dir, sentinel);
	compat_no_openat2 = 1;
	unit_rmdir(strcat(strcpy(path, dir), "/root"));
	test_fs_resolve(dir, sentinel);
	compat_no_openat2 = 0;

	/* Atomic writes: content, replacement, no temporary left. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(mr_write_atomic(dfd, "meta.json", "{}", 2, 0600, &err) == 0);
	CHECK(mr_write_atomic(dfd, "meta.json", "{\"a\":1}", 7, 0600, &err) == 0);
	CHECK(mr_read_file(dfd, "meta.json", &buf, 100, &err) == 0 && !strcmp(buf.data, "{\"a\":1}"));
	CHECK(mr_read_file(dfd, "meta.json", &buf, 3, &err) < 0 && err.code == EFBIG);
	CHECK(mr_read_file(dfd, "missing", &buf, 3, &err) < 0 && err.code == ENOENT);
	{
		DIR *d = opendir(dir);
		struct dirent *de;
		int temps = 0;
		while (d && (de = readdir(d)) != NULL)
			temps += util_starts_with(de->d_name, ".tmp.");
		if (d)
			closedir(d);
		CHECK(temps == 0);
	}
	/* An atomic write never follows a symlink planted at its temporary. */
	snprintf(path, sizeof path, "%s/.tmp.%d.x", dir, (int)getpid());
	snprintf(text, sizeof text, "%s", "");
	{
		char target[PATH_MAX];
		snprintf(target, sizeof target, "%s/keep", sentinel);
		symlink(target, path);
	}
	CHECK(mr_write_atomic(dfd, "x", "new", 3, 0600, &err) == 0);
	snprintf(path, sizeof path, "%s/keep", sentinel);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && fs_read_text(fd, text, sizeof text) == 0 && !strcmp(text, "sentinel"));
	if (fd >= 0)
		close(fd);

	/* Removal: symlinks are removed, not followed. */
	snprintf(path, sizeof path, "%s/tree", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/tree/a", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/tree/a/file", dir);
	unit_write(path, "x");
	snprintf(path, sizeof path, "%s/tree/a/out", dir);
	symlink(sentinel, path);
	snprintf(path, sizeof path, "%s/tree/mnt", dir);
	mkdir(path, 0755);
	/* A bind mount of the sentinel inside: refused, sentinel intact. */
	if (mount(sentinel, path, NULL, MS_BIND, NULL) == 0) {
		CHECK(mr_remove_tree(dfd, "tree", &err) < 0 && err.code == EXDEV);
		CHECK(strstr(err.msg, "mount") != NULL);
		snprintf(path, sizeof path, "%s/keep", sentinel);
		CHECK(access(path, F_OK) == 0);
		snprintf(path, sizeof path, "%s/tree/mnt", dir);
		CHECK(umount2(path, MNT_DETACH) == 0);
		/* A file bind mount is refused as well. */
		snprintf(path, sizeof path, "%s/tree/a/filemnt", dir);
		unit_write(path, "");
		snprintf(text, sizeof text, "%s", "");
		{
			char src[PATH_MAX];
			snprintf(src, sizeof src, "%s/keep", sentinel);
			if (mount(src, path, NULL, MS_BIND, NULL) == 0) {
				CHECK(mr_remove_tree(dfd, "tree", &err) < 0);
				CHECK(access(src, F_OK) == 0);
				umount2(path, MNT_DETACH);
			}
		}
	} else {
		UNIT_SKIP("bind-mount removal test: mount: %s", strerror(errno));
	}
	CHECK(mr_remove_tree(dfd, "tree", &err) == 0);
	snprintf(path, sizeof path, "%s/tree", dir);
	CHECK(access(path, F_OK) < 0);
	snprintf(path, sizeof path, "%s/keep", sentinel);
	CHECK(access(path, F_OK) == 0);
	CHECK(mr_remove_tree(dfd, "does-not-exist", &err) == 0);
	/* Any depth with a few descriptors (issue 16): 3000 levels, fd limit 16. */
	{
		struct rlimit old, low;
		int i, cur = openat(dfd, ".", O_RDONLY | O_DIRECTORY), nx;
		mkdirat(cur, "deep", 0755);
		for (i = 0; i < 3000 && cur >= 0; i++) {
			nx = openat(cur, i ? "d" : "deep", O_RDONLY | O_DIRECTORY);
			close(cur);
			cur = nx;
			if (cur >= 0 && i < 2999)
				mkdirat(cur, "d", 0755);
			if (cur >= 0 && i % 100 == 0) {
				int f = openat(cur, "f", O_WRONLY | O_CREAT, 0644);
				if (f >= 0)
					close(f);
			}
		}
		CHECK(cur >= 0);
		if (cur >= 0)
			close(cur);
		getrlimit(RLIMIT_NOFILE, &old);
		low.rlim_cur = 16;
		low.rlim_max = old.rlim_max;
		CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
		{
			/* the mount check before a volume's removal walks it too */
			struct fs_mount_key key;
			int top = openat(dfd, "deep", O_RDONLY | O_DIRECTORY);
			CHECK(top >= 0 && fs_mount_key(top, &key) == 0 &&
			      fs_check_no_mounts(top, &key, "deep", 0, &err) == 0);
			snprintf(path, sizeof path, "%s/deep/d/d/d", dir);
			if (top >= 0 && mount(sentinel, path, NULL, MS_BIND, NULL) == 0) {
				CHECK(fs_check_no_mounts(top, &key, "deep", 0, &err) < 0 &&
				      err.code == EXDEV);
				umount2(path, MNT_DETACH);
			}
			if (top >= 0)
				close(top);
		}
		CHECK(mr_remove_tree(dfd, "deep", &err) == 0);
		setrlimit(RLIMIT_NOFILE, &old);
		snprintf(path, sizeof path, "%s/deep", dir);
		CHECK(access(path, F_OK) < 0);
	}
	/* A symlink to a folder: the link goes, the folder stays. */
	snprintf(path, sizeof path, "%s/dirlink", dir);
	symlink(sentinel, path);
	CHECK(mr_remove_tree(dfd, "dirlink", &err) == 0);
	snprintf(path, sizeof path, "%s/keep", sentinel);
	CHECK(access(path, F_OK) == 0);

	close(dfd);
	mr_buf_free(&buf);
	unit_rmdir(dir);
	unit_rmdir(sentinel);
}

static void test_store(void)
{
	struct mr_err err;
	struct mr_store st;
	char dir[PATH_MAX], root[PATH_MAX], run[PATH_MAX], path[PATH_MAX], name[128], dead_tmp[PATH_MAX];
	int fd, dead;

	if (!unit_tmpdir(dir, sizeof dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(root, sizeof root, "%s/store/nested", dir);
	snprintf(run, sizeof run, "%s/run", dir);
	CHECK(mr_store_open(&st, root, run, &err) == 0);
	snprintf(path, sizeof path, "%s/layers", root);
	CHECK(access(path, F_OK) == 0);
	CHECK(mr_store_open(&st, "relative/path", run, &err) < 0);
	/* A folder holding files that is not a store is refused, untouched. */
	{
		char foreign[PATH_MAX];
		snprintf(foreign, sizeof foreign, "%s/foreign", dir);
		mkdir(foreign, 0755);
		snprintf(path, sizeof path, "%s/foreign/tmp", dir);
		mkdir(path, 0755);
		snprintf(path, sizeof path, "%s/foreign/tmp/notes.txt", dir);
		unit_write(path, "x");
		CHECK(mr_store_open(&st, foreign, run, &err) < 0 && strstr(err.msg, "not a minirun store"));
		CHECK(access(path, F_OK) == 0);
		snprintf(path, sizeof path, "%s/foreign/lock", dir);
		CHECK(access(path, F_OK) < 0);
		snprintf(path, sizeof path, "%s/empty", dir);
		mkdir(path, 0755);
		CHECK(mr_store_open(&st, path, run, &err) == 0);
		mr_store_close(&st);
	}

	CHECK(mr_store_open(&st, root, run, &err) == 0);
	fd = mr_store_mktemp(&st, "layer", name, sizeof name, &err);
	CHECK(fd >= 0 && util_starts_with(name, "tmp/mr-layer-"));
	/* A temporary whose owner is gone (no lock held) and a stale atomic
	 * temporary are cleaned at the next open; a live one stays, and so does
	 * anything minirun did not make (issue 16: --root /var emptied /var/tmp). */
	snprintf(path, sizeof path, "%s/tmp/mr-dead-owner", root);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/tmp/mr-dead-owner/file", root);
	unit_write(path, "x");
	{
		/* an atomic write's temporary of a writer that was killed: a
		 * PID that no longer runs (a live writer's file is kept) */
		pid_t gone = fork();
		if (gone == 0)
			_exit(0);
		waitpid(gone, NULL, 0);
		snprintf(dead_tmp, sizeof dead_tmp, "%s/.tmp.%d.images.json", root, (int)gone);
	}
	unit_write(dead_tmp, "half");
	snprintf(path, sizeof path, "%s/tmp/rm-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", root);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/tmp/notes.txt", root);
	unit_write(path, "mine");
	snprintf(path, sizeof path, "%s/tmp/layer-x", root);
	mkdir(path, 0700);
	{
		struct mr_store st2;
		CHECK(mr_store_open(&st2, root, run, &err) == 0);
		mr_store_close(&st2);
	}
	snprintf(path, sizeof path, "%s/tmp/mr-dead-owner", root);
	dead = access(path, F_OK);
	CHECK(dead < 0);
	CHECK(access(dead_tmp, F_OK) < 0);
	snprintf(path, sizeof path, "%s/tmp/rm-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", root);
	CHECK(access(path, F_OK) < 0);          /* an older version's name: cleaned */
	snprintf(path, sizeof path, "%s/tmp/notes.txt", root);
	CHECK(access(path, F_OK) == 0);
	snprintf(path, sizeof path, "%s/tmp/layer-x", root);
	CHECK(access(path, F_OK) == 0);
	/* Outside the root, a writer may work without the store lock: a live
	 * PID's temporary stays, unless written before this boot (its PID is
	 * someone else's now); a dead PID's goes. */
	{
		struct mr_store st3;
		struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
		snprintf(path, sizeof path, "%s/blobs/sha256/.tmp.1.live", root);
		unit_write(path, "x");
		snprintf(path, sizeof path, "%s/blobs/sha256/.tmp.1.before-boot", root);
		unit_write(path, "x");
		utimensat(AT_FDCWD, path, old, 0);
		snprintf(path, sizeof path, "%s/blobs/sha256/.tmp.999999999.dead", root);
		unit_write(path, "x");
		CHECK(mr_store_open(&st3, root, run, &err) == 0);
		mr_store_close(&st3);
		snprintf(path, sizeof path, "%s/blobs/sha256/.tmp.1.live", root);
		CHECK(access(path, F_OK) == 0);
		unlink(path);
		snprintf(path, sizeof path, "%s/blobs/sha256/.tmp.1.before-boot", root);
		CHECK(access(path, F_OK) < 0);
		snprintf(path, sizeof path, "%s/blobs/sha256/.tmp.999999999.dead", root);
		CHECK(access(path, F_OK) < 0);
	}
	snprintf(path, sizeof path, "%s/%s", root, name);
	CHECK(access(path, F_OK) == 0);
	close(fd);
	/* The lock is exclusive between processes. */
	CHECK(mr_store_lock(&st, &err) == 0);
	{
		pid_t pid = fork();
		if (pid == 0) {
			int lfd = openat(st.rootfd, "lock", O_RDWR);
			_exit(flock(lfd, LOCK_EX | LOCK_NB) == 0 ? 1 : 0);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	mr_store_unlock(&st);
	mr_store_close(&st);
	/* A store that cannot be written: one clear error. */
	snprintf(path, sizeof path, "%s/ro", dir);
	mkdir(path, 0755);
	if (mount("none", path, "tmpfs", MS_RDONLY, "size=64k") == 0) {
		snprintf(root, sizeof root, "%s/ro/store", dir);
		CHECK(mr_store_open(&st, root, run, &err) < 0 && err.code == EROFS &&
		      strstr(err.msg, "Read-only") != NULL);
		umount2(path, MNT_DETACH);
	} else {
		UNIT_SKIP("read-only store test: mount: %s", strerror(errno));
	}
	unit_rmdir(dir);
}
