/* ==== [18] EXEC: another process in a running container; cp in and out ====
 * `exec` joins the namespaces of the container's init (one setns() on a
 * pidfd where the kernel has it, else the files of /proc/PID/ns), forks so that the new
 * process is inside its PID namespace, joins its cgroups, then takes the same
 * last steps as the init ([17] ctr_child_finish): user, capabilities,
 * no_new_privs, descriptors, exec on the container's PATH.
 * Unlike the init's, this process is visible to the container before it
 * execs; like every command that enters a container, `exec` runs from a
 * sealed memfd copy of minirun: /proc/PID/exe then names a copy nobody can
 * write (CVE-2019-5736). */

/* Is this process already running from a sealed copy (a memfd whose write,
 * grow, shrink and seal seals are set)? Then /proc/self/exe names a file no
 * one can change, and re-executing it stays sealed. */
static int exec_self_sealed(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), seals;
	const int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
	if (fd < 0)
		return 0;
	seals = fcntl(fd, F_GET_SEALS);
	close(fd);
	return seals >= 0 && (seals & want) == want;
}

/* Was minirun loaded as the ELF interpreter of another program (a hostile
 * image's binary naming /proc/self/exe as its interpreter)? Then it was
 * mapped from the sealed copy already, and /proc/self/exe is that program,
 * not minirun: copying it would be wrong. The kernel's AT_PHDR points at the
 * main program's headers, ours only when we are the program. */
static int exec_is_interpreter(void)
{
	extern const ElfW(Ehdr) __ehdr_start __attribute__((weak));
	const ElfW(Ehdr) *eh = &__ehdr_start;
	return eh && getauxval(AT_PHDR) != (unsigned long)eh + eh->e_phoff;
}

/* Re-execute this command from a sealed in-memory copy of the binary, as runc
 * does (CVE-2019-5736): every process minirun puts into a container is then a
 * clone of that copy, so /proc/PID/exe, #!/proc/self/exe and an ELF whose
 * interpreter is /proc/self/exe all reach a file nobody can write, never the
 * host's binary. Done once: a sealed process (and what it re-executes through
 * /proc/self/exe: monitors, health checks) keeps the same copy. Returns only
 * when that is impossible (no memfd: pre-3.17 kernels), leaving non-dumpable
 * and the entrypoint check as the protection. */
static void exec_sealed_self(char **argv)
{
	char buf[16384];
	int src, mfd;
	ssize_t n;
	if (!argv || !argv[0] || exec_is_interpreter() || exec_self_sealed())
		return;
	src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	mfd = src < 0 ? -1 : memfd_create("minirun", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd >= 0) {
		/* sendfile copies in the kernel (one call for the whole binary);
		 * read/write where it cannot */
		while ((n = sendfile(mfd, src, NULL, 1 << 30)) > 0) {}
		if (n < 0 && lseek(mfd, 0, SEEK_END) == 0)
			while ((n = read(src, buf, sizeof buf)) > 0)
				if (util_write_all(mfd, buf, (size_t)n) < 0)
					break;
		if (n < 0) {
			close(mfd);
			mfd = -1;
		}
	}
	if (src >= 0)
		close(src);
	if (mfd < 0 || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
			     F_SEAL_SEAL) < 0) {
		if (mfd >= 0)
			close(mfd);
		return;
	}
	fexecve(mfd, argv, environ);
	close(mfd);
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

/* setns into every namespace of the running init (with all, the OCI mode's
 * exec ([20b]), the user and time ones too), checking that the pid is still
 * that process once a handle on it is held. Then into the container's root:
 * setns(CLONE_NEWNS) leaves us at the root of the namespace's root mount,
 * which is the container's root only when minirun's own root was its
 * namespace's root. Under a chroot (a build root, a fresh-check) the
 * container's pivot_root moved the chroot's mount, not the namespace's root,
 * and we would land in the host's "/" of the container's namespace. */
static int exec_join(pid_t pid, unsigned long long start, int all, struct mr_err *err)
{
	static const char names[] = "user\0time\0cgroup\0ipc\0uts\0net\0pid\0mnt\0";
	static const int types[] = { CLONE_NEWUSER, CLONE_NEWTIME, CLONE_NEWCGROUP, CLONE_NEWIPC,
				     CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWNS };
	int fds[8], i, rc = 0, rootfd;
	const char *n;
	char path[48];
	snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return mr_err_sys(err, "root of pid %d", (int)pid);
#ifdef SYS_pidfd_open
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		if (ctr_pid_start(pid) != start) {
			close(pfd);
			rc = mr_err_set(err, ESRCH, "the container stopped");
			goto out;
		}
		i = setns(pfd, CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
			  CLONE_NEWPID | CLONE_NEWNS | (all ? CLONE_NEWUSER | CLONE_NEWTIME : 0));
		close(pfd);
		if (i == 0)
			goto out;
		/* EINVAL: a kernel before 5.8 takes only namespace fds; the
		 * user namespace is ours (it cannot be joined again) */
	}
#endif
	for (i = 0, n = names; *n; i++, n += strlen(n) + 1) {
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, n);
		fds[i] = all || i > 1 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		/* user, time, cgroup: the kernel may lack that kind */
		if (fds[i] < 0 && i > 2 && !rc)
			rc = mr_err_sys(err, "namespace %s of pid %d", n, (int)pid);
	}
	if (!rc && ctr_pid_start(pid) != start)
		rc = mr_err_set(err, ESRCH, "the container stopped");
	for (i = 0, n = names; *n; i++, n += strlen(n) + 1) {
		if (!rc && fds[i] >= 0 && setns(fds[i], types[i]) < 0 && (i || errno != EINVAL))
			rc = mr_err_sys(err, "join namespace %s", n);
		if (fds[i] >= 0)
			close(fds[i]);
	}
out:
	if (!rc && (fchdir(rootfd) < 0 || chroot(".") < 0))
		rc = mr_err_sys(err, "enter the root of pid %d", (int)pid);
	close(rootfd);
	return rc;
}

struct exec_opts {
	const char *user, *workdir;
	struct ctr_list env, cmd;
	int detach, interactive, tty, privileged;
};

/* Run opts->cmd in the running container c (init pid, start time). Returns
 * the command's exit code, or 125/126/127 with err set. */
static int exec_run(struct mr_store *st, struct ctr *c, pid_t pid, unsigned long long start,
		    const struct exec_opts *opts, struct mr_err *err)
{
	struct ctr_owner o;
	int sv[2], cgfds[8], ncg, devnull, code = 0, i;
	pid_t child;
	/* no log: an exec's output goes to the caller only */
	ctr_owner_init(&o, st, c);
	o.attach_stdin = opts->interactive;
	ctr_spawn_init(&o.sp, st, c);
	o.sp.is_exec = 1;
	o.sp.pty = o.sp.pty_slave = -1;
	c->init = 0;
	c->tty = (unsigned char)opts->tty;
	if (isolate_caps_resolve(c, &o.sp.caps, err) < 0)
		return 125;
	if (opts->privileged)
		o.sp.caps = ISOLATE_CAPS_ALL;
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* before setns: the container's /proc has no "self" for this process */
	o.sp.exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	ncg = cg_open_procs(c->id, cgfds, 8);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || exec_join(pid, start, 0, err) < 0) {
		code = 125;
		goto out;
	}
	o.sp.rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (opts->tty) {
		if (rootfs_pty_open(o.sp.rootfd, &o.sp.pty, &o.sp.pty_slave, err) < 0) {
			code = 125;
			goto out;
		}
		{
			struct winsize ws;
			if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0)
				ioctl(o.sp.pty, TIOCSWINSZ, &ws);
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		code = (mr_err_sys(err, "socketpair"), 125);
		goto out;
	}
	ctr_signals_catch(&o.waitmask);
	child = fork();
	if (child == 0) {
		close(sv[0]);
		o.sp.sync = sv[1];
		ctr_signals_default();
		for (i = 0; i < ncg; i++)
			if (write(cgfds[i], "0", 1) < 0) { /* a vanished cgroup: stay outside */ }
		setsid();
		if (o.sp.pty_slave >= 0) {
			if (ioctl(o.sp.pty_slave, TIOCSCTTY, 0) < 0)
				mr_err_sys(err, "controlling terminal"), ctr_child_fail(&o.sp, 125, err);
			for (i = 0; i < 3; i++)
				dup2(o.sp.pty_slave, i);
		} else {
			if (!opts->interactive || opts->detach)
				dup2(devnull, 0);
			if (opts->detach)
				dup2(devnull, 1), dup2(devnull, 2);
		}
		code = ctr_child_finish(&o.sp, opts->user, opts->workdir, &opts->cmd, &opts->env, err);
		mr_err_ctx(err, "exec in container %s", c->name);
		ctr_child_fail(&o.sp, code, err);
	}
	close(sv[1]);
	if (o.sp.pty_slave >= 0)
		close(o.sp.pty_slave);
	o.sp.pty_slave = -1;
	if (child < 0) {
		close(sv[0]);
		code = (mr_err_sys(err, "fork"), 125);
		goto out;
	}
	o.sp.pid = child;
	o.sp.sync = sv[0];
	{
		int pty = o.sp.pty;
		code = ctr_spawn_wait(&o.sp, err);
		o.sp.pty = pty;
	}
	close(sv[0]);
	if (code) {
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
		goto out;
	}
	if (opts->detach)
		goto out;
	ctr_raw_enter(&o);               /* attach_stdin is -i */
	code = ctr_exit_code(ctr_owner_wait(&o));
out:
	for (i = 0; i < ncg; i++)
		close(cgfds[i]);
	if (devnull >= 0)
		close(devnull);
	if (o.sp.pty >= 0)
		close(o.sp.pty);
	if (o.sp.pty_slave >= 0)
		close(o.sp.pty_slave);
	return code;
}
/* ---- cp: files in and out of a container ----
 * The container's side of a copy runs in a child that sees the container's
 * files as the container does: the mount namespace of a running container
 * (joined as exec joins it), or, for a stopped one, a private namespace where
 * its root, volumes and binds are mounted as at start, gone with the child.
 * The two sides speak tar over a pipe: the source writes the object under
 * its last name (or the folder's contents for "SRC/."), the destination
 * extracts it with the layer extractor's hostile-safe code ([07]), renamed
 * by Docker's rules. Container paths are resolved inside the root fd
 * (RESOLVE_IN_ROOT) and everything after that works on fds. */

struct cp_opts {
	const char *ctr;                /* the container's name, for messages */
	int archive, follow;            /* -a, -L */
	uid_t uid;                      /* owner of what is written without -a */
	gid_t gid;
};

/* path in the container's root (rootfd >= 0) or on the host. */
static int cp_open(int rootfd, const char *path, int flags, struct mr_err *err)
{
	int fd;
	if (rootfd >= 0)
		return mr_open_in_root(rootfd, path, flags, 0, err);
	fd = open(*path ? path : ".", flags | O_CLOEXEC);
	return fd < 0 ? mr_err_sys(err, "%s", path) : fd;
}

/* The folder of path (no trailing slash), opened; *base its last name. */
static int cp_parent(int rootfd, char *path, const char **base, struct mr_err *err)
{
	char *slash = strrchr(path, '/');
	int fd;
	if (!slash) {
		*base = path;
		return cp_open(rootfd, ".", O_RDONLY | O_DIRECTORY, err);
	}
	*base = slash + 1;
	*slash = 0;
	fd = cp_open(rootfd, slash == path ? "/" : path, O_RDONLY | O_DIRECTORY, err);
	*slash = '/';
	return fd;
}

/* Drop trailing slashes (1 when there were some). */
static int cp_strip(char *p)
{
	size_t n = strlen(p);
	int slash = 0;
	while (n > 1 && p[n - 1] == '/')
		p[--n] = 0, slash = 1;
	return slash;
}

/* The source side: src as a tar on out (its contents for "/.", the root,
 * "." or ".."), -L following symlinks of its last name (inside the root). */
static int cp_send(int rootfd, const char *src, const struct cp_opts *o, int out,
		   struct mr_err *err)
{
	char p[MINIRUN_MAX_PATH], t[MINIRUN_MAX_PATH];
	struct tar_w *w = util_xcalloc(1, sizeof *w);
	struct stat st;
	const char *base;
	int pfd = -1, rc = -1, links = 0, slash, contents;
	ssize_t n;
	if (util_strlcpy(p, src, sizeof p) < 0) {
		mr_err_set(err, ENAMETOOLONG, "%s: path too long", src);
		goto out;
	}
	slash = cp_strip(p);
	for (;;) {
		/* never ".." from a folder fd: the root's would be outside */
		base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
		contents = !*base || !strcmp(base, ".") || !strcmp(base, "..");
		if (!links)
			util_scopy(w->path, sizeof w->path, contents ? "" : base);
		pfd = contents ? cp_open(rootfd, p, O_RDONLY | O_DIRECTORY, err) :
		      cp_parent(rootfd, p, &base, err);
		if (contents)
			base = ".";
		if (pfd < 0 || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW)) {
			if (pfd >= 0 || err->code == ENOENT) {
				if (rootfd >= 0)
					mr_err_set(err, ENOENT, "Could not find the file %s in container %s",
						   src, o->ctr);
				else
					mr_err_set(err, ENOENT, "lstat %s: no such file or directory", src);
			}
			goto out;
		}
		/* "LINK/" means the folder it points to, as with -L */
		if ((!o->follow && !slash) || !S_ISLNK(st.st_mode))
			break;
		n = readlinkat(pfd, base, t, sizeof t - 1);
		if (n <= 0 || ++links > MINIRUN_MAX_SYMLINKS) {
			mr_err_set(err, ELOOP, "%s: cannot follow the symbolic link", src);
			goto out;
		}
		t[n] = 0;
		/* the target replaces the last name (or the whole path) */
		if (t[0] == '/' || !strrchr(p, '/'))
			util_scopy(p, sizeof p, t);
		else
			util_scopy(strrchr(p, '/') + 1, sizeof p - (size_t)(strrchr(p, '/') + 1 - p), t);
		cp_strip(p);
		close(pfd);
	}
	if (slash && !S_ISDIR(st.st_mode)) {
		mr_err_set(err, ENOTDIR, "%s: not a directory", src);
		goto out;
	}
	w->out = out;
	w->buf = util_xmalloc(TAR_BUF);
	rc = tar_w_tree(w, pfd, base, err);
	memset(w->buf, 0, 1024);
	if (!rc && util_write_all(out, w->buf, 1024))
		rc = mr_err_sys(err, "write");
out:
	if (pfd >= 0)
		close(pfd);
	tar_w_free(w);
	return rc;
}

/* The first name of path, from, becomes to ("" from: to is put in front). */
static int cp_rebase(char *path, const char *from, const char *to)
{
	char t[MINIRUN_MAX_PATH];
	size_t fl = strlen(from);
	if (strncmp(path, from, fl) || (fl && path[fl] && path[fl] != '/') ||
	    snprintf(t, sizeof t, "%s%s%s", to, !fl && *path ? "/" : "", path + fl) >= (int)sizeof t)
		return -1;
	memcpy(path, t, strlen(t) + 1);
	return 0;
}

/* The destination side: the tar on in, extracted at dst by Docker's rules:
 * into dst when it is a folder, else as dst (a file replaced, a folder
 * created); its first entry tells a folder from a file. raw (`cp -`): the
 * archive as it is, into the folder dst. */
static int cp_receive(int rootfd, const char *dst, const struct cp_opts *o, int raw, int in,
		      struct mr_err *err)
{
	char p[MINIRUN_MAX_PATH], from[MINIRUN_MAX_PATH];
	const char *to = NULL;
	struct stream_fd sf;
	struct stream_decomp dec;       /* `cp -` takes gzip and zstd too, as Docker does */
	struct tar_reader r;
	struct tar_entry *e = util_xmalloc(sizeof *e);
	struct tar_x *x = util_xcalloc(1, sizeof *x);
	int rc = -1, slash;
	x->root = x->dfd = -1;
	x->plain = 1;
	x->buf = util_xmalloc(TAR_BUF);
	stream_fd_init(&sf, in);
	stream_decomp_init(&dec, &sf.s, err);
	tar_reader_init(&r, &dec.s);
	if (util_strlcpy(p, dst, sizeof p) < 0) {
		mr_err_set(err, ENAMETOOLONG, "%s: path too long", dst);
		goto out;
	}
	slash = cp_strip(p);
	if (raw && (x->root = cp_open(rootfd, p, O_RDONLY | O_DIRECTORY, err)) < 0)
		goto out;
	while ((rc = tar_next(&r, e, err)) > 0) {
		if (x->root < 0) {
			int isdir = e->type == TAR_DIR;
			util_scopy(from, sizeof from, e->path);
			x->root = cp_open(rootfd, p, O_RDONLY | O_DIRECTORY, err);
			rc = -1;
			if (x->root < 0 && err->code != ENOENT && err->code != ENOTDIR)
				goto out;
			if (x->root < 0 && slash) {
				mr_err_set(err, err->code, err->code == ENOENT ? "%s: no such directory" :
					   "%s: not a directory", dst);
				goto out;
			}
			if (x->root < 0 && isdir && err->code == ENOTDIR) {
				mr_err_set(err, ENOTDIR, "cannot copy a directory onto the file %s", dst);
				goto out;
			}
			if (x->root < 0 && (x->root = cp_parent(rootfd, p, &to, err)) < 0)
				goto out;
			if (to && (!*to || !strcmp(to, ".") || !strcmp(to, ".."))) {
				mr_err_set(err, EINVAL, "%s: not a name to copy to", dst);
				goto out;
			}
		}
		rc = -1;
		if (to && (cp_rebase(e->path, from, to) || (e->type == TAR_LINK && cp_rebase(e->link, from, to)))) {
			mr_err_set(err, MR_EINVAL_INPUT, "entry %s: outside %s", e->path, from);
			break;
		}
		if (!o->archive) {
			e->uid = o->uid;
			e->gid = o->gid;
		}
		if (tar_x_entry(x, &r, e, err)) {
			mr_err_ctx(err, "copy %s", e->path[0] ? e->path : ".");
			break;
		}
	}
	tar_x_leave(x);
	if (rc == 0)
		rc = stream_skip(&dec.s, UINT64_MAX, err);
out:
	tar_reader_end(&r);
	stream_decomp_end(&dec);
	if (x->root >= 0)
		close(x->root);
	free(x->buf);
	free(x);
	free(e);
	return rc;
}

/* Copy src to dst, one of them in c (to_ctr: dst). Returns the exit code
 * (0, or 125 after printing the error). */
static int cp_run(struct mr_store *st, struct ctr *c, const char *src, const char *dst,
		  int to_ctr, const struct cp_opts *o, struct mr_err *err)
{
	struct ctr_owner ow;
	struct ctr_info ci;
	int pfd[2], rc = 0, status = 0, code = 125, in = !strcmp(src, "-"), out = !strcmp(dst, "-");
	pid_t child;
	ctr_owner_init(&ow, st, c);
	ctr_info_get(st, c->id, &ci);
	/* stopped: keep it so (a start would mount the same upper folder) */
	if (ci.status != CTR_RUNNING && ctr_owner_take(&ow, 0, err) < 0 &&
	    (ctr_info_get(st, c->id, &ci), ci.status != CTR_RUNNING))
		goto fail;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		mr_err_sys(err, "pipe");
		goto fail;
	}
	signal(SIGPIPE, SIG_IGN);
	child = fork();
	if (child == 0) {
		struct ctr_spawn sp;
		char root[MINIRUN_MAX_PATH + 64];
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		/* the host side gave up: end quietly, it says why */
		signal(SIGPIPE, SIG_DFL);
		close(pfd[to_ctr ? 1 : 0]);
		ctr_spawn_init(&sp, st, c);
		snprintf(root, sizeof root, "%s/rootfs", sp.dir);
		if (ci.status == CTR_RUNNING) {
			/* its root is ours now; -1 would mean "the host" below */
			if (!(rc = exec_join(ci.pid, ci.pid_start, 0, err)) &&
			    (sp.rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
				rc = mr_err_sys(err, "open the container's root");
		} else if (unshare(CLONE_NEWNS) < 0) {
			rc = mr_err_sys(err, "mount namespace");
		} else if (!(rc = rootfs_mount_root(&sp, &c->layers, err)) &&
			   !(rc = rootfs_user_mounts(&sp, err)) && c->readonly &&
			   mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
			rc = mr_err_sys(err, "remount the root read-only");
		}
		if (!rc)
			rc = to_ctr ? cp_receive(sp.rootfd, dst, o, in, in ? 0 : pfd[0], err) :
			     cp_send(sp.rootfd, src, o, out ? 1 : pfd[1], err);
		if (rc && !util_starts_with(err->msg, "Could not find"))
			mr_err_ctx(err, "container %s", o->ctr);
		if (rc)
			util_print_err(err);
		_exit(rc ? 125 : 0);
	}
	close(pfd[to_ctr ? 0 : 1]);
	if (child < 0)
		rc = mr_err_sys(err, "fork");
	else if (to_ctr && !in)
		rc = cp_send(-1, src, o, pfd[1], err);
	else if (!to_ctr && !out)
		rc = cp_receive(-1, dst, o, 0, pfd[0], err);
	close(pfd[to_ctr ? 1 : 0]);
	if (child > 0) {
		/* the host's source failed: end the other side before it takes the
		 * cut archive for an error of its own */
		if (rc && to_ctr)
			kill(child, SIGKILL);
		while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
		if (WIFEXITED(status) && WEXITSTATUS(status)) {
			code = WEXITSTATUS(status);        /* the child said why */
			goto out;
		}
		if (!rc && !WIFEXITED(status))
			rc = mr_err_set(err, EINTR, "copy: killed by signal %d", WTERMSIG(status));
	}
	if (!rc) {
		code = 0;
		goto out;
	}
fail:
	util_print_err(err);
out:
	ctr_disown(&ow);
	return code;
}
