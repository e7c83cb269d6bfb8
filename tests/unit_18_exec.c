/* Unit tests of `cp` ([07] the tar writer, [18] cp_send / cp_receive): the
 * writer's numbers and pax records, a tree written and read back by tar_next
 * (and by GNU tar when installed), Docker's renaming rules, and paths that
 * try to leave the root. Runs as root (chown, devices). Uses unit_tar.c's
 * tt_sh. */

static char tc_base[64];

static void tc_numbers(void)
{
	unsigned char f[12];
	uint64_t v;
	static const uint64_t vals[] = { 0, 7, 2097151, 2097152, 3000000, 8589934591ull,
					 8589934592ull, 1ull << 40 };
	size_t i;
	for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		tar_w_num(f, 8, vals[i]);
		CHECK(tar_num(f, 8, &v) == 0 && v == vals[i]);
		tar_w_num(f, 12, vals[i]);
		CHECK(tar_num(f, 12, &v) == 0 && v == vals[i]);
	}
	tar_w_num(f, 8, 0644);
	CHECK(!memcmp(f, "0000644", 8));
}

/* A pax record's length counts its own digits (9 -> 10 and 99 -> 100). */
static void tc_pax(void)
{
	size_t n, bad = 0;
	for (n = 0; n < 1100; n++) {
		struct mr_buf b = { 0 };
		char val[1200];
		memset(val, 'v', n);
		val[n] = 0;
		tar_w_pax(&b, "path", val, n);
		bad += (size_t)atoi(b.data) != b.len || b.data[b.len - 1] != '\n';
		mr_buf_free(&b);
	}
	CHECK(bad == 0);
}

/* Write `name` of folder dir with the writer into a file; fd at its start. */
static int tc_write(const char *dir, const char *name, const char *as)
{
	struct tar_w *w = util_xcalloc(1, sizeof *w);
	struct mr_err err;
	char path[128];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd, rc;
	snprintf(path, sizeof path, "%s/out.tar", tc_base);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	w->out = fd;
	w->buf = util_xmalloc(TAR_BUF);
	snprintf(w->path, sizeof w->path, "%s", as);
	rc = tar_w_tree(w, dfd, name, &err);
	memset(w->buf, 0, 1024);
	CHECK(rc == 0 && util_write_all(fd, w->buf, 1024) == 0);
	lseek(fd, 0, SEEK_SET);
	tar_w_free(w);
	close(dfd);
	return fd;
}

static void tc_roundtrip(void)
{
	char dir[128], lname[200];
	struct stream_fd sf;
	struct tar_reader r;
	struct tar_entry *e = util_xmalloc(sizeof *e);
	struct mr_err err;
	int fd, n = 0, seen = 0;
	memset(lname, 'n', 150);
	lname[150] = 0;
	snprintf(dir, sizeof dir, "%s/tree", tc_base);
	tt_sh("cd %s && mkdir -p tree/sub && printf data > tree/sub/f && chown 3000000:42 tree/sub/f && "
	      "chmod 4750 tree/sub/f && touch -d @1700000000 tree/sub/f && ln -s %s tree/sub/%s && "
	      "mkfifo tree/fifo && mknod tree/null c 1 3 && dd if=/dev/zero of=tree/big bs=1k count=70 "
	      "2>/dev/null", tc_base, lname, lname);
	fd = tc_write(dir, ".", "top");
	stream_fd_init(&sf, fd);
	tar_reader_init(&r, &sf.s);
	while (tar_next(&r, e, &err) > 0) {
		n++;
		if (!strcmp(e->path, "top"))
			seen |= e->type == TAR_DIR;
		if (!strcmp(e->path, "top/sub/f"))
			seen |= (e->type == TAR_REG && e->uid == 3000000 && e->gid == 42 && e->size == 4 &&
				 e->mode == 04750 && e->mtime.tv_sec == 1700000000) << 1;
		if (!strncmp(e->path, "top/sub/nnn", 11))
			seen |= (e->type == TAR_SYMLINK && strlen(e->path) == 158 &&
				 !strcmp(e->link, lname)) << 2;
		if (!strcmp(e->path, "top/fifo"))
			seen |= (e->type == TAR_FIFO) << 3;
		if (!strcmp(e->path, "top/null"))
			seen |= (e->type == TAR_CHR && e->devmajor == 1 && e->devminor == 3) << 4;
		if (!strcmp(e->path, "top/big")) {
			char buf[4096];
			ssize_t k;
			uint64_t total = 0;
			while ((k = stream_read(tar_data_stream(&r), buf, sizeof buf, &err)) > 0)
				total += (uint64_t)k;
			seen |= (e->size == 70 * 1024 && total == e->size) << 5;
		}
	}
	CHECK(n == 7);
	CHECK(seen == 63);
	tar_reader_end(&r);
	close(fd);
	free(e);
	if (tt_sh("command -v tar >/dev/null") == 0) {
		CHECK(tt_sh("cd %s && mkdir gnu && tar -C gnu -xpf out.tar && [ \"$(stat -c %%u:%%g:%%a gnu/top/sub/f)\" = "
			    "3000000:42:4750 ] && [ \"$(readlink gnu/top/sub/%s)\" = %s ]", tc_base, lname,
			    lname) == 0);
	} else {
		UNIT_SKIP("GNU tar is not installed");
	}
}

/* A deep tree: the writer's stack does not grow with path buffers. */
static void tc_deep(void)
{
	char dir[128];
	struct stream_fd sf;
	struct tar_reader r;
	struct tar_entry *e = util_xmalloc(sizeof *e);
	struct mr_err err;
	int fd, n = 0;
	snprintf(dir, sizeof dir, "%s/deep", tc_base);
	tt_sh("mkdir -p %s/$(printf 'd/%%.0s' $(seq 400))", dir);
	fd = tc_write(dir, "d", "d");
	stream_fd_init(&sf, fd);
	tar_reader_init(&r, &sf.s);
	while (tar_next(&r, e, &err) > 0)
		n++;
	CHECK(n == 400);
	tar_reader_end(&r);
	close(fd);
	free(e);
}

static void tc_rebase(void)
{
	char p[MINIRUN_MAX_PATH];
	strcpy(p, "etc/passwd");
	CHECK(cp_rebase(p, "etc", "out") == 0 && !strcmp(p, "out/passwd"));
	strcpy(p, "etc");
	CHECK(cp_rebase(p, "etc", "out") == 0 && !strcmp(p, "out"));
	strcpy(p, "");
	CHECK(cp_rebase(p, "", "new") == 0 && !strcmp(p, "new"));
	strcpy(p, "a/b");
	CHECK(cp_rebase(p, "", "new") == 0 && !strcmp(p, "new/a/b"));
	strcpy(p, "etcx/passwd");
	CHECK(cp_rebase(p, "etc", "out") < 0);
	strcpy(p, "other");
	CHECK(cp_rebase(p, "etc", "out") < 0);
}

/* cp_send from the host, cp_receive into a root folder (as the child does). */
static int tc_copy(const char *src, const char *dst, int follow, struct mr_err *err)
{
	struct cp_opts o;
	char path[128];
	int fd, rootfd, rc;
	memset(&o, 0, sizeof o);
	o.ctr = "unit";
	o.follow = follow;
	snprintf(path, sizeof path, "%s/stream.tar", tc_base);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	snprintf(path, sizeof path, "%s/root", tc_base);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	rc = cp_send(-1, src, &o, fd, err);
	lseek(fd, 0, SEEK_SET);
	if (!rc)
		rc = cp_receive(rootfd, dst, &o, 0, fd, err);
	close(fd);
	close(rootfd);
	return rc;
}

static void tc_rules(void)
{
	struct mr_err err;
	char s[256];
	tt_sh("cd %s && mkdir -p root/etc root/dest sentinel src/dir/sub && echo secret > sentinel/s && "
	      "echo f > src/file && echo d > src/dir/sub/d && ln -s / root/rootlink && "
	      "ln -s %s/sentinel root/abs && ln -s ../../../../../../../../..%s/sentinel root/up && "
	      "echo old > root/etc/file", tc_base, tc_base, tc_base);
#define SRC(x) (snprintf(s, sizeof s, "%s/src/%s", tc_base, x), s)
	CHECK(tc_copy(SRC("file"), "/dest/", 0, &err) == 0);
	CHECK(tt_sh("[ \"$(cat %s/root/dest/file)\" = f ]", tc_base) == 0);
	CHECK(tc_copy(SRC("file"), "dest/renamed", 0, &err) == 0);
	CHECK(tt_sh("[ \"$(cat %s/root/dest/renamed)\" = f ]", tc_base) == 0);
	CHECK(tc_copy(SRC("dir"), "/dest", 0, &err) == 0);
	CHECK(tt_sh("[ -f %s/root/dest/dir/sub/d ]", tc_base) == 0);
	CHECK(tc_copy(SRC("dir"), "/newdir", 0, &err) == 0);
	CHECK(tt_sh("[ -f %s/root/newdir/sub/d ] && [ ! -e %s/root/newdir/dir ]", tc_base, tc_base) == 0);
	CHECK(tc_copy(SRC("dir/."), "/etc", 0, &err) == 0);
	CHECK(tt_sh("[ -f %s/root/etc/sub/d ]", tc_base) == 0);
	CHECK(tc_copy(SRC("dir"), "/etc/file", 0, &err) < 0 && err.code == ENOTDIR);
	CHECK(tt_sh("[ \"$(cat %s/root/etc/file)\" = old ]", tc_base) == 0);
	CHECK(tc_copy(SRC("file"), "/nodir/", 0, &err) < 0 && err.code == ENOENT);
	CHECK(tc_copy(SRC("file/"), "/dest/x", 0, &err) < 0 && err.code == ENOTDIR);
	CHECK(tc_copy(SRC("nope"), "/dest/x", 0, &err) < 0 && strstr(err.msg, "lstat"));
	/* symlinks of the root that point out of it stay inside it */
	CHECK(tc_copy(SRC("file"), "/rootlink/", 0, &err) == 0);
	CHECK(tt_sh("[ -f %s/root/file ]", tc_base) == 0);
	CHECK(tc_copy(SRC("file"), "/abs/", 0, &err) < 0);
	CHECK(tc_copy(SRC("file"), "/up/x", 0, &err) < 0);
	CHECK(tc_copy(SRC("dir/."), "/up", 0, &err) < 0);
	CHECK(tc_copy(SRC("dir"), "/abs", 0, &err) < 0);
	CHECK(tt_sh("[ \"$(ls %s/sentinel)\" = s ]", tc_base) == 0);
#undef SRC
}

/* cp_send inside a root: a symlink out of it is never read through. */
static void tc_send_hostile(void)
{
	struct cp_opts o;
	struct mr_err err;
	char path[128];
	int fd, rootfd;
	memset(&o, 0, sizeof o);
	o.ctr = "unit";
	snprintf(path, sizeof path, "%s/root", tc_base);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK(cp_send(rootfd, "/abs/s", &o, fd, &err) < 0 && strstr(err.msg, "Could not find"));
	CHECK(cp_send(rootfd, "/up/s", &o, fd, &err) < 0);
	CHECK(cp_send(rootfd, "/up/.", &o, fd, &err) < 0);
	o.follow = 1;
	CHECK(cp_send(rootfd, "/abs", &o, fd, &err) < 0);
	CHECK(cp_send(rootfd, "/up", &o, fd, &err) < 0);
	CHECK(cp_send(rootfd, "/rootlink", &o, fd, &err) == 0);      /* the root itself */
	close(fd);
	close(rootfd);
}

static void test_cp(void)
{
	snprintf(tc_base, sizeof tc_base, "/tmp/minirun-cp.XXXXXX");
	if (!mkdtemp(tc_base)) {
		CHECK(!"mkdtemp");
		return;
	}
	tc_numbers();
	tc_pax();
	tc_rebase();
	if (geteuid() != 0) {
		UNIT_SKIP("cp tests that chown and make devices (need root)");
	} else {
		tc_roundtrip();
		tc_deep();
		tc_rules();
		tc_send_hostile();
	}
	tt_sh("rm -rf --one-file-system %s", tc_base);
}
