/* Unit tests of [16] ISOLATE (not its seccomp section, tested with the
 * container area): capability names and the bounding and process sets, the
 * user from the image's own passwd and group files, --ulimit, --sysctl, the
 * working folder resolved inside the root, descriptors marked or closed,
 * loopback up, the runtime's own binary refused, exec's 126/127, and cgroup
 * paths and reads on a real cgroup. Whatever changes the process runs in a
 * child (ui_child), whose checks come back as one byte each on its fd 1. */

/* Run fn(arg, out) in a forked child; its results (one byte per check,
 * '1' passed) into res. The number of results, or -1 if the child died. */
static int ui_child(int (*fn)(void *, char *), void *arg, char *res, int max)
{
	int p[2], status = 0, n = 0;
	ssize_t r;
	pid_t pid;
	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char out[64];
		int k;
		/* the results go out on fd 1: a test may close every fd above 2 */
		close(p[0]);
		if (dup2(p[1], 1) < 0)
			_exit(3);
		close(p[1]);
		k = fn(arg, out);
		if (write(1, out, (size_t)k) != k)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	while (n < max && (r = read(p[0], res + n, (size_t)(max - n))) > 0)
		n += (int)r;
	close(p[0]);
	waitpid(pid, &status, 0);
	return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? n : -1;
}

/* The child's results, checked here: each one a CHECK of its own. */
#define UI_CHECKS(fn, arg, count) do { \
	char res_[64]; \
	int n_ = ui_child(fn, arg, res_, (int)sizeof res_), i_; \
	CHECK(n_ == (count)); \
	for (i_ = 0; i_ < n_; i_++) { \
		if (res_[i_] != '1') \
			fprintf(stderr, "  %s: child check %d failed\n", #fn, i_); \
		CHECK(res_[i_] == '1'); \
	} \
} while (0)

static void ti_cap_names(void)
{
	const char *n;
	int count = 0;
	for (n = isolate_cap_names; *n; n += strlen(n) + 1)
		count++;
	CHECK(count == ISOLATE_CAP_COUNT);
	CHECK(isolate_cap_parse("NET_ADMIN") == CAP_NET_ADMIN);
	CHECK(isolate_cap_parse("cap_net_admin") == CAP_NET_ADMIN);
	CHECK(isolate_cap_parse("CAP_SYS_ADMIN") == CAP_SYS_ADMIN);
	CHECK(isolate_cap_parse("chown") == CAP_CHOWN);
	CHECK(isolate_cap_parse("CHECKPOINT_RESTORE") == 40 && isolate_cap_parse("BPF") == 39);
	CHECK(isolate_cap_parse("all") == 64 && isolate_cap_parse("CAP_ALL") == 64);
	CHECK(isolate_cap_parse("NET_ADMINX") < 0 && isolate_cap_parse("") < 0);
	/* Docker's default set, by name */
	CHECK(ISOLATE_CAPS_DEFAULT == ((1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) |
	      (1ull << CAP_FOWNER) | (1ull << CAP_FSETID) | (1ull << CAP_KILL) | (1ull << CAP_SETGID) |
	      (1ull << CAP_SETUID) | (1ull << CAP_SETPCAP) | (1ull << CAP_NET_BIND_SERVICE) |
	      (1ull << CAP_NET_RAW) | (1ull << CAP_SYS_CHROOT) | (1ull << CAP_MKNOD) |
	      (1ull << CAP_AUDIT_WRITE) | (1ull << CAP_SETFCAP)));
}

/* Bounding set and process sets cut to Docker's defaults. */
static int ti_caps_child(void *arg, char *o)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	struct mr_err err;
	int k = 0, had_chown = prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) == 1;
	(void)arg;
	o[k++] = isolate_caps_bound(ISOLATE_CAPS_DEFAULT, &err) == 0 ? '1' : '0';
	o[k++] = prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0 ? '1' : '0';
	o[k++] = prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) == 0 ? '1' : '0';
	o[k++] = prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) == had_chown ? '1' : '0';
	o[k++] = isolate_caps_apply(ISOLATE_CAPS_DEFAULT, &err) == 0 ? '1' : '0';
	memset(data, 0, sizeof data);
	syscall(SYS_capget, &hdr, data);
	o[k++] = !(data[0].effective & (1u << CAP_SYS_ADMIN)) &&
		 !(data[0].permitted & (1u << CAP_SYS_ADMIN)) ? '1' : '0';
	o[k++] = !!(data[0].effective & (1u << CAP_CHOWN)) == had_chown ? '1' : '0';
	/* gone for good: the bounding set cannot grow back */
	o[k++] = prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) < 0 ||
		 prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0 ? '1' : '0';
	return k;
}

struct ti_root { char dir[PATH_MAX]; int rootfd; };

/* -u app: ids from the root's own files (never the host's /etc). */
static int ti_user_child(void *arg, char *o)
{
	struct ti_root *r = arg;
	struct ctr_ids ids;
	struct ctr_list add = { 0 };
	struct mr_err err;
	gid_t groups[8];
	int k = 0, n, i, has2000 = 0, has3000 = 0;
	ctr_list_add(&add, "3000");
	o[k++] = isolate_user(r->rootfd, "app", &add, &ids, &err) == 0 ? '1' : '0';
	o[k++] = getuid() == 1000 && geteuid() == 1000 && getgid() == 1001 ? '1' : '0';
	n = getgroups(8, groups);
	for (i = 0; i < n; i++) {
		has2000 |= groups[i] == 2000;
		has3000 |= groups[i] == 3000;
	}
	o[k++] = has2000 && has3000 ? '1' : '0';
	o[k++] = !strcmp(ids.home, "/home/app") ? '1' : '0';
	ctr_list_free(&add);
	return k;
}

static int ti_user_missing_child(void *arg, char *o)
{
	struct ti_root *r = arg;
	struct ctr_ids ids;
	struct ctr_list add = { 0 };
	struct mr_err err;
	int k = 0;
	/* a name the image does not have is refused, the process unchanged */
	o[k++] = isolate_user(r->rootfd, "nobody-here", &add, &ids, &err) < 0 &&
		 strstr(err.msg, "nobody-here") ? '1' : '0';
	o[k++] = getuid() == 0 ? '1' : '0';
	/* a number needs no entry */
	o[k++] = isolate_user(r->rootfd, "4242:4343", &add, &ids, &err) == 0 &&
		 getuid() == 4242 && getgid() == 4343 ? '1' : '0';
	return k;
}

static int ti_ulimit_child(void *arg, char *o)
{
	struct ctr c;
	struct mr_err err;
	struct rlimit rl;
	int k = 0;
	(void)arg;
	ctr_init(&c);
	ctr_list_add(&c.ulimits, "nofile=100:200");
	ctr_list_add(&c.ulimits, "core=-1");
	o[k++] = isolate_ulimits(&c, &err) == 0 ? '1' : '0';
	o[k++] = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == 100 && rl.rlim_max == 200 ? '1' : '0';
	o[k++] = getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY ? '1' : '0';
	c.ulimits.n = 0;
	ctr_list_add(&c.ulimits, "bogus=1");
	o[k++] = isolate_ulimits(&c, &err) < 0 && strstr(err.msg, "bogus") ? '1' : '0';
	ctr_list_free(&c.ulimits);
	return k;
}

/* --sysctl in a new IPC namespace (its values are the namespace's own). */
static int ti_sysctl_child(void *arg, char *o)
{
	struct ctr c;
	struct mr_err err;
	char buf[32] = "";
	int k = 0, fd;
	(void)arg;
	if (unshare(CLONE_NEWIPC) < 0) {
		o[k++] = 'S';
		return k;
	}
	ctr_init(&c);
	ctr_list_add(&c.sysctls, "kernel.msgmax=12345");
	o[k++] = isolate_sysctls(&c, &err) == 0 ? '1' : '0';
	fd = open("/proc/sys/kernel/msgmax", O_RDONLY);
	if (fd >= 0) {
		if (read(fd, buf, sizeof buf - 1) < 0)
			buf[0] = 0;
		close(fd);
	}
	o[k++] = atoi(buf) == 12345 ? '1' : '0';
	c.sysctls.n = 0;
	ctr_list_add(&c.sysctls, "kernel.no_such_key=1");
	o[k++] = isolate_sysctls(&c, &err) < 0 && strstr(err.msg, "--sysctl kernel.no_such_key") ? '1' : '0';
	ctr_list_free(&c.sysctls);
	return k;
}

/* The working folder: created when missing (run), refused (exec), and a
 * symlink to / in the image leads to the root's folder, not the host's. */
static int ti_workdir_child(void *arg, char *o)
{
	struct ti_root *r = arg;
	struct mr_err err;
	char cwd[PATH_MAX], want[PATH_MAX + 16];
	int k = 0;
	o[k++] = isolate_workdir(r->rootfd, "/srv/app", 1, &err) == 0 ? '1' : '0';
	snprintf(want, sizeof want, "%s/srv/app", r->dir);
	o[k++] = getcwd(cwd, sizeof cwd) && !strcmp(cwd, want) ? '1' : '0';
	o[k++] = isolate_workdir(r->rootfd, "/no/such", 0, &err) < 0 && err.code == ENOENT &&
		 strstr(err.msg, "chdir to cwd") ? '1' : '0';
	o[k++] = isolate_workdir(r->rootfd, "/up/etc", 0, &err) == 0 ? '1' : '0';
	snprintf(want, sizeof want, "%s/etc", r->dir);
	o[k++] = getcwd(cwd, sizeof cwd) && !strcmp(cwd, want) ? '1' : '0';
	return k;
}

static int ti_fds_child(void *arg, char *o)
{
	int k = 0, a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
	struct mr_err err;
	(void)arg;
	o[k++] = a > 2 && b > 2 && !(fcntl(a, F_GETFD) & FD_CLOEXEC) ? '1' : '0';
	o[k++] = isolate_cloexec_all(&err) == 0 ? '1' : '0';
	o[k++] = (fcntl(a, F_GETFD) & FD_CLOEXEC) && (fcntl(b, F_GETFD) & FD_CLOEXEC) ? '1' : '0';
	/* 0-2 are the program's: left alone */
	o[k++] = !(fcntl(1, F_GETFD) & FD_CLOEXEC) ? '1' : '0';
	isolate_close_all(b);
	o[k++] = fcntl(a, F_GETFD) < 0 && errno == EBADF && fcntl(b, F_GETFD) >= 0 &&
		 fcntl(1, F_GETFD) >= 0 ? '1' : '0';
	isolate_close_all(-1);
	o[k++] = fcntl(b, F_GETFD) < 0 ? '1' : '0';
	return k;
}

static int ti_loopback_child(void *arg, char *o)
{
	struct ifreq ifr;
	struct mr_err err;
	int k = 0, s;
	(void)arg;
	if (unshare(CLONE_NEWNET) < 0) {
		o[k++] = 'S';
		return k;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	o[k++] = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP) ? '1' : '0';
	o[k++] = isolate_loopback(&err) == 0 ? '1' : '0';
	o[k++] = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) ? '1' : '0';
	close(s);
	return k;
}

/* exec: 127 for a missing program, 126 for one that cannot run or is
 * minirun itself (here a stand-in: bin/self, opened as exe_fd, reached by
 * a path or by its hard link bin/alias on PATH; /proc/self/exe is not used,
 * as qemu-user answers stat() on it with its own binary). */
static int ti_exec_child(void *arg, char *o)
{
	struct ti_root *r = arg;
	struct mr_err err;
	char pathenv[PATH_MAX + 32], self[PATH_MAX + 32], other[PATH_MAX + 32];
	char *argv_none[] = { "no-such-program", NULL }, *argv_noexec[] = { "script", NULL };
	char *argv_empty[] = { "", NULL }, *argv_abs[] = { "/no/such/file", NULL };
	char *argv_self[] = { self, NULL }, *argv_alias[] = { "alias", NULL };
	char *envp[] = { pathenv, NULL };
	int k = 0, exe;
	snprintf(pathenv, sizeof pathenv, "PATH=%s/bin", r->dir);
	snprintf(self, sizeof self, "%s/bin/self", r->dir);
	snprintf(other, sizeof other, "%s/bin/script", r->dir);
	exe = open(self, O_RDONLY | O_CLOEXEC);
	o[k++] = isolate_exec(exe, argv_none, envp, &err) == 127 &&
		 strstr(err.msg, "executable file not found in $PATH") ? '1' : '0';
	o[k++] = isolate_exec(exe, argv_noexec, envp, &err) == 126 &&
		 strstr(err.msg, "permission denied") ? '1' : '0';
	o[k++] = isolate_exec(exe, argv_empty, envp, &err) == 127 ? '1' : '0';
	o[k++] = isolate_exec(exe, argv_abs, envp, &err) == 127 &&
		 strstr(err.msg, "stat /no/such/file: no such file or directory") ? '1' : '0';
	o[k++] = isolate_exec(exe, argv_self, envp, &err) == 126 && err.code == EPERM ? '1' : '0';
	o[k++] = isolate_exec(exe, argv_alias, envp, &err) == 126 && err.code == EPERM ? '1' : '0';
	o[k++] = exe >= 0 && isolate_is_self(exe, self) && !isolate_is_self(exe, other) &&
		 !isolate_is_self(-1, self) ? '1' : '0';
	return k;
}

static int ti_exec_runs(void *arg, char *o)
{
	struct mr_err err;
	char *argv[] = { "sh", "-c", "printf 1; exit 7", NULL };
	char *envp[] = { "PATH=/nonexistent:/usr/bin:/bin", NULL };
	(void)arg;
	/* the program's stdout is the pipe to the parent */
	isolate_exec(-1, argv, envp, &err);
	o[0] = '0';
	return 1;
}

static void ti_exec(struct ti_root *r)
{
	int p[2], status = 0;
	char c = 0;
	pid_t pid;
	UI_CHECKS(ti_exec_child, r, 7);
	/* a program found on PATH (after a folder that does not exist) runs */
	if (pipe(p) < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char o[1];
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		ti_exec_runs(NULL, o);
		_exit(99);
	}
	close(p[1]);
	CHECK(read(p[0], &c, 1) == 1 && c == '1');
	close(p[0]);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

/* A real cgroup: a child moved into minirun/ID of the tracking hierarchy,
 * read back by cg_read_u64 and cg_pids, removed by cg_remove. */
static void ti_cgroups(void)
{
	char path[160], id[40], val[24];
	const char *h;
	uint64_t v = 0;
	pid_t pid, *pids;
	size_t n, i;
	int found = 0, made_top = 0;
	struct mr_err err;
	cg_path(path, sizeof path, "", "abc", "memory.max");
	CHECK(!strcmp(path, "/sys/fs/cgroup/minirun/abc/memory.max"));
	cg_path(path, sizeof path, "pids", "abc", NULL);
	CHECK(!strcmp(path, "/sys/fs/cgroup/pids/minirun/abc"));
	cg_path(path, sizeof path, "unified", NULL, NULL);
	CHECK(!strcmp(path, "/sys/fs/cgroup/unified/minirun"));
	if (!cg_version()) {
		UNIT_SKIP("cgroups: none mounted at /sys/fs/cgroup");
		return;
	}
	h = cg_v2_hier() ? cg_v2_hier() : "pids";
	if (!cg_is_mounted(*h ? h : "") && !cg_v2_hier()) {
		UNIT_SKIP("cgroups: no pids hierarchy");
		return;
	}
	snprintf(id, sizeof id, "unit-%d", (int)getpid());
	cg_path(path, sizeof path, h, NULL, NULL);
	made_top = mkdir(path, 0755) == 0;
	cg_path(path, sizeof path, h, id, NULL);
	if (mkdir(path, 0755) < 0) {
		UNIT_SKIP("cgroups: cannot make %s: %s", path, strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	snprintf(val, sizeof val, "%d", (int)pid);
	CHECK(cg_write(h, id, "cgroup.procs", val, &err) == 0);
	CHECK(cg_read_u64(h, id, "cgroup.procs", NULL, &v) == 0 && v == (uint64_t)pid);
	pids = cg_pids(id, pid, &n);
	for (i = 0; i < n; i++)
		found += pids[i] == pid;
	CHECK(n == 1 && found == 1);
	free(pids);
	CHECK(cg_write(h, id, "no-such-file", "1", &err) < 0 && strstr(err.msg, "no-such-file"));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (!*h || !strcmp(h, "unified")) {
		CHECK(cg_read_u64(h, id, "cgroup.stat", "nr_descendants", &v) == 0 && v == 0);
	}
	/* the dead child leaves the cgroup empty: removable */
	{
		int tries;
		for (tries = 0; rmdir(path) < 0 && errno == EBUSY && tries < 200; tries++)
			usleep(1000);
	}
	CHECK(access(path, F_OK) < 0);
	if (made_top) {
		cg_path(path, sizeof path, h, NULL, NULL);
		rmdir(path);
	}
}

static void test_isolate(void)
{
	struct ti_root r;
	char path[PATH_MAX + 32];
	int fd;
	ti_cap_names();
	UI_CHECKS(ti_caps_child, NULL, 8);
	if (!unit_tmpdir(r.dir, sizeof r.dir)) {
		CHECK(0);
		return;
	}
	/* a small image root: passwd and group, a bin folder, etc/ */
	snprintf(path, sizeof path, "%s/etc", r.dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/bin", r.dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/etc/passwd", r.dir);
	unit_write(path, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
	snprintf(path, sizeof path, "%s/etc/group", r.dir);
	unit_write(path, "root:x:0:\napp:x:1001:\nstaff:x:2000:root,app\nother:x:2001:root\n");
	snprintf(path, sizeof path, "%s/bin/script", r.dir);
	unit_write(path, "#!/bin/sh\nexit 0\n");   /* mode 0644: not runnable */
	snprintf(path, sizeof path, "%s/bin/self", r.dir);
	unit_write(path, "#!/bin/sh\nexit 0\n");
	chmod(path, 0755);
	{
		char alias[PATH_MAX + 32];
		snprintf(alias, sizeof alias, "%s/bin/alias", r.dir);
		CHECK(link(path, alias) == 0);
	}
	snprintf(path, sizeof path, "%s/up", r.dir);
	CHECK(symlink("/", path) == 0);
	r.rootfd = open(r.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(r.rootfd >= 0);
	{
		char *text = isolate_read_in_root(r.rootfd, "etc/passwd");
		CHECK(text && util_starts_with(text, "root:x:0:0:"));
		free(text);
		/* through the symlink to /: still the root's file */
		text = isolate_read_in_root(r.rootfd, "up/etc/group");
		CHECK(text && strstr(text, "staff:x:2000:root,app"));
		free(text);
		CHECK(isolate_read_in_root(r.rootfd, "etc/shadow") == NULL);
	}
	UI_CHECKS(ti_user_child, &r, 4);
	UI_CHECKS(ti_user_missing_child, &r, 3);
	UI_CHECKS(ti_ulimit_child, NULL, 4);
	{
		char res[8];
		int n = ui_child(ti_sysctl_child, NULL, res, sizeof res);
		if (n == 1 && res[0] == 'S')
			UNIT_SKIP("sysctl: no new IPC namespace here");
		else
			UI_CHECKS(ti_sysctl_child, NULL, 3);
	}
	UI_CHECKS(ti_workdir_child, &r, 5);
	UI_CHECKS(ti_fds_child, NULL, 6);
	{
		char res[8];
		int n = ui_child(ti_loopback_child, NULL, res, sizeof res);
		if (n == 1 && res[0] == 'S')
			UNIT_SKIP("loopback: no new network namespace here");
		else
			UI_CHECKS(ti_loopback_child, NULL, 3);
	}
	ti_exec(&r);
	ti_cgroups();
	fd = r.rootfd;
	if (fd >= 0)
		close(fd);
	unit_rmdir(r.dir);
}
