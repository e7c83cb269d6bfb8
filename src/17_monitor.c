/* ==== [17] MONITOR: starting a container, its owner process, logs, restarts ====
 * A container always has exactly one owner, the process that cloned its init
 * and holds rundir/ID/lock: the CLI itself for a foreground `run`/`start -a`
 * (its output relayed through pipes or a pty, and logged), else a monitor: the same
 * binary re-executed (`__monitor`, a small fresh address space), double-forked
 * and setsid, which logs the container's output, records its exit and applies
 * the restart policy. The init gets PR_SET_PDEATHSIG SIGKILL: an owner killed
 * with SIGKILL takes its container down with it, and the next look at the
 * container finds the lock free and shows it exited.
 *
 * CVE-2019-5736 (overwriting the runtime through /proc/PID/exe): every
 * command that puts a process into a container (run, start, restart, exec,
 * cp, up, init, the monitor, hence health checks) first re-executes itself
 * from a sealed memfd copy of minirun ([18] exec_sealed_self, called by
 * mr_main), so the init, a clone of its owner, and anything a hostile image
 * reaches through /proc/self/exe (#! line, ELF interpreter) or /proc/PID/exe
 * is that copy: read-only, never the host's file. Besides, the init is
 * non-dumpable and invisible to others until it execs, and a command that
 * resolves to minirun itself is refused. */

#define CTR_LOG_CHUNK 4096

/* The few functions a monitor runs while it idles for days, kept together
 * (the default linker script groups .text.hot.*): the kernel maps code 64 KiB
 * around each fault, so scattered code would make the whole binary resident. */
#define CTR_HOT __attribute__((section(".text.hot.minirun_monitor")))

/* Signals seen by the owner (set by the handler, consumed by the loop). */
static volatile sig_atomic_t ctr_sig[_NSIG];

static CTR_HOT void ctr_on_signal(int sig)
{
	if (sig > 0 && sig < _NSIG)
		ctr_sig[sig] = 1;
}

/* Signals an owner handles: they are blocked outside ppoll(), so none is
 * lost between a check and the wait. `old` receives the mask to wait with. */
static void ctr_signals_catch(sigset_t *old)
{
	static const unsigned char sigs[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
					      SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP };
	struct sigaction sa;
	sigset_t set;
	size_t i;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctr_on_signal;
	sigemptyset(&set);
	for (i = 0; i < sizeof sigs; i++) {
		sigaddset(&set, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &set, old);
	signal(SIGPIPE, SIG_IGN);
}

/* Every signal back to its default and unblocked: a new container process
 * (the init, an exec) inherits nothing of the owner's handling. */
static void ctr_signals_default(void)
{
	struct sigaction sa;
	sigset_t none;
	int s;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < _NSIG; s++)
		sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int ctr_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 125;
}

/* ---- the sync protocol (SOCK_SEQPACKET pair) ----
 * parent -> child: 'g' + window size once the child is in its cgroups;
 * child -> parent: 't' + SCM_RIGHTS (the pty master, with -t), then either
 * nothing (the socket closes when execve succeeds) or 'e' + exit code + error. */
struct ctr_msg {
	char kind;
	unsigned char code;
	struct winsize ws;
	char text[sizeof(((struct mr_err *)0)->msg)];
};

static void __attribute__((noreturn)) ctr_child_fail(struct ctr_spawn *sp, int code,
						      const struct mr_err *err)
{
	struct ctr_msg m;
	memset(&m, 0, sizeof m);
	m.kind = 'e';
	m.code = (unsigned char)code;
	util_scopy(m.text, sizeof m.text, err->msg);
	if (send(sp->sync, &m, offsetof(struct ctr_msg, text) + strlen(m.text) + 1, MSG_NOSIGNAL) < 0) {
		/* the parent is gone: nobody to tell */
	}
	_exit(code);
}

static int ctr_send_fd(int sock, int fd)
{
	char kind = 't';
	struct iovec iov = { &kind, 1 };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr msg;
	memset(&msg, 0, sizeof msg);
	memset(&u, 0, sizeof u);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof u.buf;
	u.h.cmsg_level = SOL_SOCKET;
	u.h.cmsg_type = SCM_RIGHTS;
	u.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&u.h), &fd, sizeof fd);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* One message of the sync socket into m (size bytes); the fd of a 't'
 * message (SCM_RIGHTS) into *fd. Returns recvmsg's count: 0 when the other
 * end closed. Also the OCI init's protocol ([20b]). */
static ssize_t ctr_recv(int sock, void *m, size_t size, int *fd)
{
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
	for (;;) {
		struct iovec iov = { m, size };
		struct msghdr msg;
		struct cmsghdr *h;
		ssize_t n;
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof u.buf;
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		h = n > 0 && *(char *)m == 't' ? CMSG_FIRSTHDR(&msg) : NULL;
		if (h && h->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(h), sizeof(int));
		return n;
	}
}

/* The argv (Entrypoint + Cmd) and environment of the program. HOSTNAME,
 * TERM (with -t), HOME (from passwd) and PATH are added as Docker does when
 * the configuration does not set them. */
static char **ctr_argv(const struct ctr *c, const struct ctr_list *extra_cmd)
{
	const struct ctr_list *cmd = extra_cmd ? extra_cmd : &c->cmd;
	char **v = util_xcalloc(c->entrypoint.n + cmd->n + 1, sizeof *v);
	size_t i, n = 0;
	for (i = 0; !extra_cmd && i < c->entrypoint.n; i++)
		v[n++] = (char *)c->entrypoint.v[i];
	for (i = 0; i < cmd->n; i++)
		v[n++] = (char *)cmd->v[i];
	return v;
}

static char **ctr_envp(const struct ctr *c, const struct ctr_list *extra, int tty, const char *home)
{
	struct ctr_list env = { 0 };
	size_t i;
	/* Docker's order: PATH, HOSTNAME, TERM, then Config.Env replacing
	 * those in place or appended */
	ctr_list_add(&env, "PATH=" CTR_DEFAULT_PATH);
	ctr_list_add(&env, ctr_strf("HOSTNAME=%s", c->hostname));
	if (tty)
		ctr_list_add(&env, "TERM=xterm");
	for (i = 0; i < c->env.n; i++)
		ctr_env_set(&env, c->env.v[i]);
	for (i = 0; extra && i < extra->n; i++)
		ctr_env_set(&env, extra->v[i]);
	if (!ctr_env_get(&env, "HOME")) {
		ctr_list_add(&env, ctr_strf("HOME=%s", home));
	}
	return (char **)env.v;
}

/* --init: PID 1 stays minirun code that reaps orphans, passes signals on to
 * the program and leaves with its status (tini's contract: 128+N after a
 * signal). */
static volatile pid_t ctr_reaper_child;

static void ctr_reaper_forward(int sig)
{
	if (ctr_reaper_child > 0)
		kill(ctr_reaper_child, sig);
}

static void __attribute__((noreturn)) ctr_reaper(pid_t child)
{
	struct sigaction sa;
	int s, status;
	pid_t p;
	ctr_reaper_child = child;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctr_reaper_forward;
	for (s = 1; s < _NSIG; s++)
		if (s != SIGCHLD && s != SIGKILL && s != SIGSTOP && s != SIGTTOU && s != SIGTTIN)
			sigaction(s, &sa, NULL);
	for (;;) {
		p = wait(&status);
		if (p == child)
			_exit(ctr_exit_code(status));
		if (p < 0 && errno == ECHILD)
			_exit(125);
	}
}

/* --init: the reaper is PID 1 of the container, and /proc/1/cmdline is
 * world-readable there: it showed the owner's command line (the store and
 * run folders, the container id). The argument area is overwritten with
 * "init" once the program is forked (its argv still points there) and shrunk
 * to it where PR_SET_MM is allowed (CAP_SYS_RESOURCE, rarely kept); else the
 * rest of the area reads as zeros: still no host path. */
static void ctr_reaper_hide_args(void)
{
	static const char name[] = "init";
	char buf[1024], *p;
	unsigned long start = 0, end = 0;
	int i;
	ctr_read_small(AT_FDCWD, "/proc/self/stat", 0, buf, sizeof buf);
	p = strrchr(buf, ')');
	/* after "pid (comm)", field 3 is the state; arg_start is field 48 */
	for (i = 2; p && i < 48; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		return;
	/* strtoul, not sscanf: scanf would link musl's float parser (32 KB) */
	start = strtoul(p + 1, &p, 10);
	end = strtoul(p, NULL, 10);
	if (end <= start || end - start < sizeof name)
		return;
	memset((void *)start, 0, end - start);
	memcpy((void *)start, name, sizeof name);
	prctl(PR_SET_MM, PR_SET_MM_ARG_END, start + sizeof name, 0, 0);
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

/* Steps in the child after the rootfs: identity, capabilities, descriptors,
 * exec. Shared with `exec` ([18]). Returns only on failure (exit code). */
static int ctr_child_finish(struct ctr_spawn *sp, const char *user, const char *workdir,
			    const struct ctr_list *cmd, const struct ctr_list *env_extra,
			    struct mr_err *err)
{
	const struct ctr *c = sp->c;
	struct ctr_ids ids;
	char **argv, **envp;
	if (isolate_workdir(sp->rootfd, workdir, !sp->is_exec, err) < 0)
		return sp->is_exec ? 126 : 125;       /* Docker's code for exec -w /missing */
	if (isolate_ulimits(c, err) < 0)
		return 125;
	if (!sp->is_exec && c->readonly &&
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | (sp->nodev ? MS_NODEV : 0),
		  NULL) < 0)
		return mr_err_sys(err, "remount the root read-only"), 125;
	umask(022);
	/* seccomp where runc puts it: without no_new_privs while CAP_SYS_ADMIN is
	 * still held, so the user and capability changes below are filtered too;
	 * with it, just before exec (below), so a profile may refuse what they use */
	if ((!c->no_new_privs && isolate_seccomp(c, sp->caps, err) < 0) ||
	    isolate_caps_bound(sp->caps, err) < 0 ||
	    isolate_user(sp->rootfd, user, &c->group_add, &ids, err) < 0)
		return 125;
	if (isolate_caps_apply(sp->caps, err) < 0)
		return 125;
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return mr_err_sys(err, "set no_new_privs"), 125;
	argv = ctr_argv(c, cmd);
	envp = ctr_envp(c, env_extra, sp->pty_slave >= 0, ids.home);
	if (isolate_cloexec_all(err) < 0 || (c->no_new_privs && isolate_seccomp(c, sp->caps, err) < 0))
		return 125;
	if (c->init && !sp->is_exec) {
		pid_t pid = fork();
		if (pid < 0)
			return mr_err_sys(err, "fork the program under --init"), 125;
		if (pid > 0) {
			/* the reaper stays: nothing of minirun's may stay open in it,
			 * nothing of the host shows in its command line */
			isolate_close_all(-1);
			ctr_reaper_hide_args();
			ctr_reaper(pid);
		}
		setpgid(0, 0);
		if (sp->pty_slave >= 0) {
			signal(SIGTTOU, SIG_IGN);
			tcsetpgrp(0, getpid());
			signal(SIGTTOU, SIG_DFL);
		}
	}
	return isolate_exec(sp->exe_fd, argv, envp, err);
}

/* networking, [19] */
static int net_prepare(struct ctr_spawn *sp, struct mr_err *err);
static int net_child_join(const struct ctr_spawn *sp, struct mr_err *err);
static int net_start(struct ctr_spawn *sp, struct mr_err *err);
static void net_stop(struct mr_store *st, const char *id);

/* The container's first process: a linear list of named steps (crun's
 * style); the first failure is reported to the parent and ends it. */
static void __attribute__((noreturn)) ctr_child(struct ctr_spawn *sp)
{
	struct mr_err err;
	struct ctr_msg go;
	const struct ctr *c = sp->c;
	int i, code = 125;
	memset(&err, 0, sizeof err);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	ctr_signals_default();
	if (recv(sp->sync, &go, sizeof go, 0) < 1 || go.kind != 'g')
		_exit(125);
	setsid();
	if (net_child_join(sp, &err) < 0)
		goto fail;
	umask(0);
	/* joined to its cgroups by the parent: make them its cgroup root */
	if (unshare(CLONE_NEWCGROUP) < 0 && errno != EINVAL) {
		mr_err_sys(&err, "cgroup namespace");
		goto fail;
	}
	if (isolate_sysctls(c, &err) < 0)
		goto fail;
	if (rootfs_mount_root(sp, &c->layers, &err) < 0 ||
	    rootfs_mount_proc_sys(sp, &err) < 0 ||
	    cg_mount_in(sp, &err) < 0 ||
	    rootfs_mount_dev(sp, &err) < 0)
		goto fail;
	if (c->tty) {
		if (rootfs_pty(sp, &err) < 0)
			goto fail;
		if (ctr_send_fd(sp->sync, sp->pty) < 0) {
			mr_err_sys(&err, "pass the pty");
			goto fail;
		}
		close(sp->pty);
		if (go.ws.ws_row)
			ioctl(sp->pty_slave, TIOCSWINSZ, &go.ws);
	}
	if (rootfs_user_mounts(sp, &err) < 0 || rootfs_devices(sp, &err) < 0 ||
	    rootfs_etc_binds(sp, &err) < 0 || rootfs_mask(sp, &err) < 0)
		goto fail;
	if (!ctr_ns_host(c->uts_mode) && sethostname(c->hostname, strlen(c->hostname)) < 0) {
		mr_err_sys(&err, "set hostname %s", c->hostname);
		goto fail;
	}
	if (strcmp(c->network, "host") && isolate_loopback(&err) < 0)
		goto fail;
	if (rootfs_pivot(sp, &err) < 0)
		goto fail;
	if (sp->pty_slave >= 0) {
		if (ioctl(sp->pty_slave, TIOCSCTTY, 0) < 0) {
			mr_err_sys(&err, "controlling terminal");
			goto fail;
		}
		for (i = 0; i < 3; i++)
			sp->stdio[i] = sp->pty_slave;
	}
	for (i = 0; i < 3; i++)
		if ((sp->stdio[i] == i ? fcntl(i, F_SETFD, 0) : dup2(sp->stdio[i], i)) < 0) {
			mr_err_sys(&err, "set up stdio");
			goto fail;
		}
	code = ctr_child_finish(sp, c->user, c->workdir, NULL, NULL, &err);
fail:
	mr_err_ctx(&err, "start container %s", c->name);
	ctr_child_fail(sp, code, &err);
}

/* Receive the child's report: 0 once it exec'ed; else its exit code with
 * err set. The pty master, if any, lands in sp->pty. */
static int ctr_spawn_wait(struct ctr_spawn *sp, struct mr_err *err)
{
	struct ctr_msg m;
	for (;;) {
		ssize_t n = ctr_recv(sp->sync, &m, sizeof m, &sp->pty);
		if (n == 0)
			return 0;
		if (n < 0)
			return mr_err_sys(err, "container %s: start", sp->c->name), 125;
		if (m.kind == 't')
			continue;
		m.text[sizeof m.text - 1] = 0;
		mr_err_set(err, MR_EINVAL_INPUT, "%s", n > (ssize_t)offsetof(struct ctr_msg, text) ?
			   m.text : "container start failed");
		return m.code ? m.code : 125;
	}
}

/* clone(2) as a fork: no stack of its own, the child runs on a copy of this
 * one. clone3 first, to be born in the container's cgroup2 folder
 * (CLONE_INTO_CGROUP, 5.7+: no migration, see [16]); the raw clone else (its
 * argument order differs between arches only for the arguments left 0).
 * musl's cached thread id is stale in the child: it calls nothing that uses
 * it (raise, pthread). Closes cgfd. */
static long ctr_clone(int flags, int cgfd, int *in_v2)
{
	long pid;
#ifdef SYS_clone3
	if (cgfd >= 0) {
		struct {
			uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
				 tls, set_tid, set_tid_size, cgroup;
		} args;
		memset(&args, 0, sizeof args);
		args.flags = (uint64_t)(unsigned)flags | 0x200000000ULL; /* CLONE_INTO_CGROUP */
		args.exit_signal = SIGCHLD;
		args.cgroup = (uint64_t)cgfd;
		pid = syscall(SYS_clone3, &args, sizeof args);
		if (pid >= 0 || (errno != ENOSYS && errno != EINVAL && errno != E2BIG)) {
			if (pid != 0)
				close(cgfd);
			*in_v2 = pid > 0;
			return pid;
		}
	}
#endif
	if (cgfd >= 0)
		close(cgfd);
	pid = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
	return pid;
}

static int ctr_spawn_start(struct ctr_spawn *sp, struct mr_err *err);

/* Start the container's first process. 0, or the exit code to report (125
 * minirun's failure, 126/127 the command's) with err set. The --device nodes
 * are looked up at each start, and the device policy made from them. */
static int ctr_spawn(struct ctr_spawn *sp, struct mr_err *err)
{
	struct ctr *c = sp->c;
	int code = 0;
	sp->devs = c->devices.n ? util_xcalloc(c->devices.n, sizeof *sp->devs) : NULL;
	for (sp->ndevs = 0; sp->ndevs < c->devices.n && !code; sp->ndevs++)
		if (dev_resolve(c->devices.v[sp->ndevs], &sp->devs[sp->ndevs], err) < 0)
			code = 125;
	if (!code && !c->privileged)
		sp->rules = dev_policy_rules(c, sp->devs, sp->ndevs, &sp->nrules);
	if (!code)
		code = ctr_spawn_start(sp, err);
	free(sp->devs);
	free(sp->rules);
	sp->devs = NULL;
	sp->rules = NULL;
	return code;
}

static int ctr_spawn_start(struct ctr_spawn *sp, struct mr_err *err)
{
	struct ctr *c = sp->c;
	struct ctr_msg go;
	int sv[2], dirfd, code, flags, in_v2 = 0;
	long pid;
	sp->pty = sp->pty_slave = -1;
	dirfd = ctr_dir(sp->st, c->id, err);
	if (dirfd < 0)
		return 125;
	code = rootfs_etc_files(sp, dirfd, err);
	close(dirfd);
	if (code < 0 || isolate_caps_resolve(c, &sp->caps, err) < 0)
		return 125;
	if (ctr_ns_host(c->pid_mode))
		cg_kill_rest(c->id);          /* left by a monitor killed with SIGKILL */
	cg_remove(c->id);
	sp->nodev = cg_create(c, sp->rules, sp->nrules, err);
	if (sp->nodev < 0)
		goto fail;
	if (sp->nodev)
		fprintf(stderr, "WARNING: no device cgroup (cgroup2 with BPF, or the v1 devices "
			"controller): %s is mounted nodev but for the nodes of /dev\n", c->name);
	if (net_prepare(sp, err) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		mr_err_sys(err, "socketpair");
		if (sp->netns_fd >= 0)
			close(sp->netns_fd);
		goto fail;
	}
	sp->exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	flags = CLONE_NEWNS;
	if (!ctr_ns_host(c->pid_mode))
		flags |= CLONE_NEWPID;
	if (!ctr_ns_host(c->uts_mode))
		flags |= CLONE_NEWUTS;
	if (!ctr_ns_host(c->ipc_mode))
		flags |= CLONE_NEWIPC;
	if (strcmp(c->network, "host") && strncmp(c->network, "container:", 10))
		flags |= CLONE_NEWNET;
	pid = ctr_clone(flags, cg_v2_fd(c->id), &in_v2);
	if (pid == 0) {
		close(sv[0]);
		sp->sync = sv[1];
		ctr_child(sp);
	}
	close(sv[1]);
	if (sp->exe_fd >= 0)
		close(sp->exe_fd);
	if (sp->netns_fd >= 0)
		close(sp->netns_fd);
	if (pid < 0) {
		mr_err_sys(err, "container %s: clone", c->name);
		close(sv[0]);
		goto fail;
	}
	sp->pid = (pid_t)pid;
	sp->sync = sv[0];
	memset(&go, 0, sizeof go);
	go.kind = 'g';
	if (c->tty && ioctl(0, TIOCGWINSZ, &go.ws) < 0)
		ioctl(1, TIOCGWINSZ, &go.ws);
	if (cg_attach(c->id, sp->pid, in_v2, err) < 0 || net_start(sp, err) < 0) {
		code = 125;
	} else if (send(sv[0], &go, offsetof(struct ctr_msg, text), MSG_NOSIGNAL) < 0) {
		code = (mr_err_sys(err, "container %s: start", c->name), 125);
	} else {
		code = ctr_spawn_wait(sp, err);
	}
	close(sv[0]);
	if (code) {
		kill(sp->pid, SIGKILL);
		while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR) {}
		if (sp->pty >= 0)
			close(sp->pty);
		sp->pty = -1;
		cg_remove(c->id);
		net_stop(sp->st, c->id);
	}
	return code;
fail:
	cg_remove(c->id);
	return 125;
}

/* ---- logs ----
 * containers/ID/log: one record per line, "TIME SDATA\n": TIME RFC 3339 with
 * nanoseconds, then a space, S 'o'/'e' for a complete stdout/stderr line (DATA,
 * right after it, is the line without its newline) or 'O'/'E' for a piece
 * without newline. Compact, no
 * escaping, and `logs` renders exactly what the container wrote. Rotated to
 * log.1... when it would pass max-size; max-file files in all. */
struct ctr_log {
	int dirfd, fd, max_file;
	uint64_t size, max;
};

static CTR_HOT void ctr_log_rotate(struct ctr_log *l)
{
	char from[16], to[16];
	int i;
	if (l->max_file <= 1) {
		if (ftruncate(l->fd, 0) == 0)
			l->size = 0;
		return;
	}
	for (i = l->max_file - 1; i >= 1; i--) {
		if (i == 1)
			strcpy(from, "log");
		else
			snprintf(from, sizeof from, "log.%d", i - 1);
		snprintf(to, sizeof to, "log.%d", i);
		renameat(l->dirfd, from, l->dirfd, to);
	}
	close(l->fd);
	l->fd = openat(l->dirfd, "log", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	l->size = 0;
}

/* location=ram logs live in rundir/ID: gone with the container. */
static void ctr_log_remove(int rfd, const struct ctr *c)
{
	char name[16];
	int i;
	if (!c->log_ram)
		return;
	unlinkat(rfd, "log", 0);
	for (i = 1; i < (c->log_max_file > 0 ? c->log_max_file : CTR_LOG_MAX_FILE); i++) {
		snprintf(name, sizeof name, "log.%d", i);
		unlinkat(rfd, name, 0);
	}
}

static int ctr_log_open(struct ctr_log *l, int dirfd, const struct ctr *c)
{
	struct stat sb;
	l->dirfd = dirfd;
	l->max = c->log_max_size ? c->log_max_size : CTR_LOG_MAX_SIZE;
	l->max_file = c->log_max_file > 0 ? c->log_max_file : CTR_LOG_MAX_FILE;
	l->fd = openat(dirfd, "log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	l->size = l->fd >= 0 && fstat(l->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	return l->fd;
}

/* util_time_rfc3339 without stdio, gmtime or tables (Howard Hinnant's
 * civil_from_days): "2024-01-02T03:04:05.123456789Z". */
static CTR_HOT size_t ctr_log_stamp(char *out)
{
	struct timespec ts;
	long z, era, doe, yoe, doy, mp, v[7];
	int w, i, k;
	char *p = out;
	clock_gettime(CLOCK_REALTIME, &ts);
	z = (long)(ts.tv_sec / 86400) + 719468;
	v[5] = (long)(ts.tv_sec % 86400);
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	v[2] = doy - (153 * mp + 2) / 5 + 1;
	v[1] = mp < 10 ? mp + 3 : mp - 9;
	v[0] = yoe + era * 400 + (v[1] <= 2);
	v[3] = v[5] / 3600;
	v[4] = v[5] / 60 % 60;
	v[5] %= 60;
	v[6] = ts.tv_nsec;
	for (i = 0; i < 7; i++) {
		w = i == 0 ? 4 : i == 6 ? 9 : 2;
		for (k = w; k-- > 0; v[i] /= 10)
			p[k] = (char)('0' + v[i] % 10);
		p += w;
		*p++ = i < 2 ? '-' : i == 2 ? 'T' : i < 5 ? ':' : i == 5 ? '.' : 'Z';
	}
	return (size_t)(p - out);
}

/* Write out the records of one chunk of output: each line (or the piece
 * without newline at the end) gets its header; no copy, one writev for up
 * to 32 records. */
static CTR_HOT void ctr_log_write(struct ctr_log *l, char stream, const char *data, size_t len)
{
	char head[2][40], nlc = '\n';      /* not a literal: .rodata is a page of its own */
	struct iovec iov[96];
	size_t hl = ctr_log_stamp(head[0]), n, k = 0, sum = 0;
	int i;
	head[0][hl] = ' ';
	for (i = 0; i < (int)hl + 1; i++)
		head[1][i] = head[0][i];
	head[0][hl + 1] = stream;
	head[1][hl + 1] = (char)(stream - 32);
	while (len) {
		int nl;
		for (n = 0; n < len && data[n] != '\n'; n++) {}
		nl = n < len;
		if (k + 3 > sizeof iov / sizeof iov[0] || (l->size && l->size + sum + hl + 3 + n > l->max)) {
			if (k && writev(l->fd, iov, (int)k) > 0)
				l->size += sum;
			k = sum = 0;
			if (l->size && l->size + hl + 3 + n > l->max)
				ctr_log_rotate(l);
		}
		iov[k].iov_base = head[!nl];
		iov[k++].iov_len = hl + 2;
		iov[k].iov_base = (void *)data;
		iov[k++].iov_len = n;
		iov[k].iov_base = &nlc;
		iov[k++].iov_len = 1;
		sum += hl + 3 + n;
		data += n + (size_t)nl;
		len -= n + (size_t)nl;
	}
	if (k && writev(l->fd, iov, (int)k) > 0)
		l->size += sum;
}

/* ---- the owner ---- */

/* ---- health checks ----
 * The owner runs them: every interval a child `minirun exec ID CMD` (the
 * same binary, so the check meets the container exactly as `exec` does),
 * killed at the timeout. Its output comes back through a pipe the owner
 * reads: the first 4 KiB are kept and the rest read and dropped, as Docker
 * does, and the check (a process of the container, chosen by the image)
 * never holds a host file it could fill or fallocate. What Docker
 * shows (Status, FailingStreak, the last 5 results) goes to
 * rundir/ID/health.json for ps and inspect. */
#define HEALTH_LOG 5
#define HEALTH_OUT 4096                    /* Docker's maxOutputLen */
struct ctr_health {
	pid_t pid;                         /* the check running, 0: none */
	int fd;                            /* read end of its output pipe, -1: none */
	size_t len;                        /* bytes of out kept so far */
	int64_t due, deadline, born;       /* monotonic ns */
	int streak, timed_out, nlog;
	const char *status;                /* "starting", "healthy", "unhealthy" */
	char began[40];
	char out[HEALTH_OUT + 1];          /* after the small fields (short offsets) */
	struct { char start[40], end[40], out[HEALTH_OUT + 1]; int code; } log[HEALTH_LOG];
};

/* Small fields first, the large ones last: most uses are then at one-byte
 * offsets in x86-64 code (sp's own large dir is at its end). */
struct ctr_owner {
	struct mr_store *st;
	struct ctr *c;
	int rfd, lockfd, dirfd;
	int detached, attach_stdin;
	int out, errp;                     /* monitor: the container's stdout/stderr */
	int raw, trim;
	struct ctr_health *health;         /* NULL: no health check */
	struct ctr_spawn sp;
	struct ctr_log log;
	struct timespec up;                /* monotonic start, for the back-off reset */
	struct ctr_state state;
	sigset_t waitmask;
	struct termios saved;
};

/* Docker's defaults for what a Healthcheck leaves at 0: 30 s, 3 retries.
 * Out of line: the 64-bit constant takes 10 bytes of code at each use. */
static __attribute__((noinline)) int64_t ctr_health_ns(int64_t v)
{
	return v ? v : 30000000000LL;
}

static int ctr_health_retries(const struct ctr *c)
{
	return c->health_retries ? c->health_retries : 3;
}

static int64_t ctr_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void ctr_health_write(int rfd, const struct ctr_health *h)
{
	struct mr_buf b = { 0 };
	struct mr_jw w;
	struct mr_err ignored;
	int i;
	mr_jw_init(&w, &b, 0);
	mr_jw_obj(&w);
	json_kstr(&w, "Status", h->status);
	json_kint(&w, "FailingStreak", h->streak);
	mr_jw_key(&w, "Log");
	mr_jw_arr(&w);
	for (i = 0; i < h->nlog; i++) {
		mr_jw_obj(&w);
		json_kstr(&w, "Start", h->log[i].start);
		json_kstr(&w, "End", h->log[i].end);
		json_kint(&w, "ExitCode", h->log[i].code);
		json_kstr(&w, "Output", h->log[i].out);
		mr_jw_obj_end(&w);
	}
	mr_jw_arr_end(&w);
	mr_jw_obj_end(&w);
	if (!w.failed)
		ctr_write_file(rfd, "health.json", b.data, b.len, 0, &ignored);
	mr_buf_free(&b);
}

/* Start a check: the child becomes `minirun exec ID ...`. */
static void ctr_health_spawn(struct ctr_owner *o, struct ctr_health *h)
{
	const struct ctr *c = o->c;
	int shell = !strcmp(c->health_test.v[0], "CMD-SHELL");
	char **argv = util_xcalloc(c->health_test.n + 10, sizeof *argv);
	size_t n = 0, i;
	sigset_t none;
	int p[2];
	argv[n++] = "minirun";
	argv[n++] = "--root";
	argv[n++] = o->st->root;
	argv[n++] = "--run-dir";
	argv[n++] = o->st->rundir;
	argv[n++] = "exec";
	argv[n++] = (char *)c->id;
	if (shell) {
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
	}
	for (i = 1; i < c->health_test.n; i++)
		argv[n++] = (char *)c->health_test.v[i];
	ctr_now(h->began, sizeof h->began);
	h->timed_out = 0;
	h->deadline = ctr_mono_ns() + ctr_health_ns(c->health_timeout);
	h->len = 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(argv);
		h->due = ctr_mono_ns() + ctr_health_ns(c->health_interval);
		return;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	h->pid = fork();
	if (h->pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(125);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		isolate_close_all(-1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(p[1]);
	if (h->pid < 0) {
		h->pid = 0;
		close(p[0]);
	} else {
		h->fd = p[0];
	}
	free(argv);
}

/* Read what the check wrote: kept up to HEALTH_OUT bytes, the rest dropped
 * (read all the same, so a chatty check never blocks). At the end of the
 * output, or with `last` (the check ended), the pipe is closed. */
static void ctr_health_drain(struct ctr_health *h, int last)
{
	char drop[4096];
	ssize_t n;
	while (h->fd >= 0) {
		if (h->len < HEALTH_OUT)
			n = read(h->fd, h->out + h->len, HEALTH_OUT - h->len);
		else
			n = read(h->fd, drop, sizeof drop);
		if (n > 0 && h->len < HEALTH_OUT)
			h->len += (size_t)n;
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !last)
			return;
		close(h->fd);
		h->fd = -1;
	}
}

/* A check ended (status from waitpid): Docker's rules. Exit 0 healthy;
 * anything else a failure, counted unless inside the start period before
 * the first success; Retries failures in a row: unhealthy. */
static void ctr_health_done(struct ctr_owner *o, struct ctr_health *h, int status)
{
	const struct ctr *c = o->c;
	int code = h->timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1, i;
	int64_t now = ctr_mono_ns();
	if (h->nlog == HEALTH_LOG)
		memmove(&h->log[0], &h->log[1], sizeof h->log[0] * (HEALTH_LOG - 1)), h->nlog--;
	i = h->nlog++;
	util_scopy(h->log[i].start, sizeof h->log[i].start, h->began);
	ctr_now(h->log[i].end, sizeof h->log[i].end);
	h->log[i].code = code;
	ctr_health_drain(h, 1);
	memcpy(h->log[i].out, h->out, h->len);
	h->log[i].out[h->len] = 0;
	if (h->timed_out) {
		long long t = ctr_health_ns(c->health_timeout) / 1000000;
		snprintf(h->log[i].out, sizeof h->log[i].out, "Health check exceeded timeout (%lld%s)",
			 t % 1000 ? t : t / 1000, t % 1000 ? "ms" : "s");
	}
	if (code == 0) {
		h->streak = 0;
		h->status = "healthy";
	} else if (strcmp(h->status, "starting") || now - h->born >= c->health_start) {
		if (++h->streak >= ctr_health_retries(c))
			h->status = "unhealthy";
	}
	h->pid = 0;
	h->due = now + ctr_health_ns(c->health_interval);
	ctr_health_write(o->rfd, h);
}

/* Before each wait: start a check that is due, kill one past its timeout;
 * the time to the next of those, for ppoll. */
static struct timespec *ctr_health_tick(struct ctr_owner *o, struct timespec *ts)
{
	struct ctr_health *h = o->health;
	int64_t now = ctr_mono_ns(), next;
	if (!h)
		return NULL;
	if (!h->pid && now >= h->due)
		ctr_health_spawn(o, h);
	if (h->pid && now >= h->deadline) {
		/* SIGTERM first: the exec client hands it to the command in the
		 * container; a second later SIGKILL to the client */
		kill(h->pid, h->timed_out ? SIGKILL : SIGTERM);
		h->deadline = now + 1000000000LL;
		h->timed_out = 1;
	}
	next = (h->pid ? h->deadline : h->due) - now;
	if (next < 1000000)
		next = 1000000;
	ts->tv_sec = (time_t)(next / 1000000000);
	ts->tv_nsec = (long)(next % 1000000000);
	return ts;
}

/* The container started: checks begin an interval later, "starting". */
static void ctr_health_begin(struct ctr_owner *o)
{
	struct ctr_health *h;
	if (!o->c->health_test.n || o->health || o->sp.is_exec)
		return;
	h = o->health = util_xcalloc(1, sizeof *h);
	h->fd = -1;
	h->born = ctr_mono_ns();
	h->due = h->born + ctr_health_ns(o->c->health_interval);
	h->status = "starting";
	ctr_health_write(o->rfd, h);
}

/* The container ended: a check still running is killed, the state goes. */
static void ctr_health_end(struct ctr_owner *o)
{
	if (!o->health)
		return;
	if (o->health->pid) {
		kill(o->health->pid, SIGKILL);
		while (waitpid(o->health->pid, NULL, 0) < 0 && errno == EINTR) {}
	}
	if (o->health->fd >= 0)
		close(o->health->fd);
	unlinkat(o->rfd, "health.json", 0);
	free(o->health);
	o->health = NULL;
}


/* An owner of c that holds nothing yet: no folder, lock, pipe or log. */
static void ctr_owner_init(struct ctr_owner *o, struct mr_store *st, struct ctr *c)
{
	memset(o, 0, sizeof *o);
	o->st = st;
	o->c = c;
	o->dirfd = o->lockfd = o->rfd = o->out = o->errp = o->log.fd = -1;
}

/* Take the container: its rundir lock (exclusive, for the owner's life). */
static int ctr_owner_take(struct ctr_owner *o, int block, struct mr_err *err)
{
	o->rfd = ctr_rundir(o->st, o->c->id, 1);
	if (o->rfd < 0)
		return mr_err_sys(err, "container %s: run folder", o->c->name);
	o->lockfd = openat(o->rfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (o->lockfd < 0)
		return mr_err_sys(err, "container %s: lock", o->c->name);
	while (ctr_lock_take(o->lockfd, block) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EACCES)
			return mr_err_set(err, MR_EINUSE, "container %s is already running", o->c->name);
		return mr_err_sys(err, "container %s: lock", o->c->name);
	}
	/* it may have been removed while we waited */
	o->dirfd = ctr_dir(o->st, o->c->id, err);
	if (o->dirfd < 0)
		return mr_err_set(err, MR_ENOTFOUND, "No such container: %s", o->c->name);
	ctr_state_read(o->st, o->c->id, &o->state);
	return 0;
}

static void ctr_disown(struct ctr_owner *o)
{
	if (o->dirfd >= 0)
		close(o->dirfd);
	if (o->lockfd >= 0)
		close(o->lockfd);
	if (o->rfd >= 0)
		close(o->rfd);
	o->dirfd = o->lockfd = o->rfd = -1;
}

static void ctr_raw_restore(struct ctr_owner *o)
{
	if (o->raw)
		tcsetattr(0, TCSADRAIN, &o->saved);
	o->raw = 0;
}

/* A foreground owner with a pty and stdin attached puts its terminal in raw
 * mode (ctr_raw_restore undoes it). */
static void ctr_raw_enter(struct ctr_owner *o)
{
	if (!o->detached && o->sp.pty >= 0 && o->attach_stdin && isatty(0) &&
	    tcgetattr(0, &o->saved) == 0) {
		struct termios raw = o->saved;
		cfmakeraw(&raw);
		o->raw = tcsetattr(0, TCSADRAIN, &raw) == 0;
	}
}

/* Start one run of the container. 0 or an exit code (err set). */
static int ctr_owner_start(struct ctr_owner *o, struct mr_err *err)
{
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, devnull, code;
	struct ctr_rt rt;
	struct mr_err ignored;
	ctr_spawn_init(&o->sp, o->st, o->c);
	o->out = o->errp = -1;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return mr_err_sys(err, "/dev/null"), 125;
	/* pipes in the foreground too: every container is logged, as in Docker */
	if (!o->c->tty && (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) {
		close(devnull);
		return mr_err_sys(err, "pipe"), 125;
	}
	o->sp.stdio[0] = !o->detached && o->attach_stdin ? 0 : devnull;
	o->sp.stdio[1] = out[1] >= 0 ? out[1] : devnull;
	o->sp.stdio[2] = errp[1] >= 0 ? errp[1] : devnull;
	unlinkat(o->rfd, "stop", 0);
	code = ctr_spawn(&o->sp, err);
	close(devnull);
	if (out[1] >= 0)
		close(out[1]), close(errp[1]);
	if (code) {
		if (out[0] >= 0)
			close(out[0]), close(errp[0]);
		return code;
	}
	o->out = out[0];
	o->errp = errp[0];
	if (o->out >= 0) {
		fcntl(o->out, F_SETFL, O_NONBLOCK);
		fcntl(o->errp, F_SETFL, O_NONBLOCK);
	}
	rt.pid = o->sp.pid;
	rt.start = ctr_pid_start(o->sp.pid);
	rt.monitor = getpid();
	rt.status = 'r';
	ctr_rt_write(o->rfd, &rt);
	o->state.running = 1;
	o->state.exit_code = 0;
	o->state.oom_killed = 0;
	o->state.error[0] = 0;
	ctr_now(o->state.started, sizeof o->state.started);
	ctr_state_write(o->st, o->c->id, &o->state, 0, &ignored);
	clock_gettime(CLOCK_MONOTONIC, &o->up);
	ctr_raw_enter(o);
	return 0;
}

/* Copy what is readable on fd to its destination; -1 at its end. */
static CTR_HOT int ctr_owner_pump(struct ctr_owner *o, int fd, char stream)
{
	char buf[CTR_LOG_CHUNK];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	if (fd == 0)
		return util_write_all(o->sp.pty, buf, (size_t)n) < 0 ? -1 : 0;
	if (o->log.fd >= 0)
		ctr_log_write(&o->log, stream, buf, (size_t)n);
	/* a foreground run relays too; a reader gone (`| head`): the pipe is
	 * closed, so the container meets EPIPE as if it wrote there itself */
	if (!o->detached && util_write_all(stream == 'e' ? 2 : 1, buf, (size_t)n) < 0)
		return -1;
	return 0;
}

/* Pass signals on (a foreground CLI is a proxy for the container, like
 * docker's sig-proxy); a monitor asked to stop stops its container. */
static CTR_HOT void ctr_owner_signals(struct ctr_owner *o)
{
	int s;
	for (s = 1; s < _NSIG; s++) {
		if (!ctr_sig[s] || s == SIGCHLD)
			continue;
		ctr_sig[s] = 0;
		if (s == SIGWINCH) {
			struct winsize ws;
			if (o->sp.pty >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
				ioctl(o->sp.pty, TIOCSWINSZ, &ws);
			continue;
		}
		if (o->detached && (s == SIGTERM || s == SIGINT)) {
			ctr_stop_mark(o->rfd);
			s = ctr_signal_parse(o->c->stop_signal);
			if (!s)
				s = SIGTERM;
		} else if (o->detached) {
			continue;
		}
		if (o->sp.pid > 0)
			kill(o->sp.pid, s);
	}
}

/* The read-only segment (code and constants) of this binary: the mapping
 * of /proc/self/maps that holds this very function. */
static uintptr_t ctr_text_start, ctr_text_end;

static void ctr_monitor_text(void)
{
	char buf[4096];
	uintptr_t here = (uintptr_t)ctr_monitor_text;
	char *p;
	ctr_read_small(AT_FDCWD, "/proc/self/maps", 0, buf, sizeof buf);
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		unsigned long a, b;
		char *dash;
		a = strtoul(p, &dash, 16);
		b = *dash == '-' ? strtoul(dash + 1, NULL, 16) : 0;
		if (*dash == '-' && a <= here && here < b) {
			ctr_text_start = a;
			ctr_text_end = b;
		}
	}
}

/* Give back what only the set-up used: pages of code and constants (mapped
 * again from the page cache if ever needed) and the stack below what the
 * loop uses. Called from the loop itself, so that nothing outside CTR_HOT
 * runs afterwards. */
static CTR_HOT void ctr_monitor_trim(void)
{
	char here;
	uintptr_t sp = ((uintptr_t)&here & ~(uintptr_t)4095) - 4 * 4096, p;
	if (ctr_text_end > ctr_text_start)
		madvise((void *)ctr_text_start, ctr_text_end - ctr_text_start, MADV_DONTNEED);
	/* page by page: below the mapped stack the calls just fail */
	for (p = sp; p > sp - 32 * 4096; p -= 4096)
		madvise((void *)p, 4096, MADV_DONTNEED);
}

/* Wait for the container's init to end, relaying its output meanwhile.
 * Returns its wait status. */
static CTR_HOT int ctr_owner_wait(struct ctr_owner *o)
{
	int status = 0, in = o->sp.pty >= 0 && !o->detached && o->attach_stdin ? 0 : -1;
	int a = o->sp.pty >= 0 ? o->sp.pty : o->out, b = o->sp.pty >= 0 ? -1 : o->errp, done = 0;
	nfds_t i;
	if (o->trim)
		ctr_monitor_trim();
	ctr_health_begin(o);
	for (;;) {
		struct pollfd pf[4];
		struct timespec hts;
		nfds_t n = 0;
		/* a check due starts here, before its pipe is polled */
		struct timespec *to = done ? NULL : ctr_health_tick(o, &hts);
		int hfd = o->health && !done ? o->health->fd : -1;
		if (a >= 0)
			pf[n].fd = a, pf[n++].events = POLLIN;
		if (b >= 0)
			pf[n].fd = b, pf[n++].events = POLLIN;
		if (in >= 0 && !done)
			pf[n].fd = in, pf[n++].events = POLLIN;
		if (hfd >= 0)
			pf[n].fd = hfd, pf[n++].events = POLLIN;
		if (done) {
			/* drain what is left, without waiting for writers that
			 * survive the init (there are none: the namespace died) */
			struct timespec ts = { 0, 200000000 };
			if (!n || ppoll(pf, n, &ts, &o->waitmask) <= 0)
				break;
		} else if (ppoll(pf, n, to, &o->waitmask) <= 0) {
			pf[0].revents = pf[1].revents = pf[2].revents = pf[3].revents = 0;
		}
		ctr_owner_signals(o);
		if (!done && ctr_sig[SIGCHLD]) {
			pid_t p;
			int st;
			ctr_sig[SIGCHLD] = 0;
			while ((p = waitpid(-1, &st, WNOHANG)) > 0)
				if (p == o->sp.pid)
					done = 1, status = st;
				else if (o->health && p == o->health->pid)
					ctr_health_done(o, o->health, st);
			if (done) {
				ctr_health_end(o);
				if (ctr_ns_host(o->c->pid_mode))
					cg_kill_rest(o->c->id);
				continue;
			}
		}
		/* stdout before stderr when both are ready: the order in which
		 * a program mostly writes them (`logs` then keeps it) */
		for (i = 0; i < n; i++) {
			int fd = pf[i].fd;
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (fd == hfd) {
				if (o->health)
					ctr_health_drain(o->health, 0);
				continue;
			}
			if (ctr_owner_pump(o, fd, fd == b ? 'e' : 'o') < 0) {
				if (fd == in)
					in = -1;
				else if (fd == a)
					a = -1;
				else
					b = -1;
				if (fd == o->out || fd == o->errp) {
					close(fd);
					*(fd == o->out ? &o->out : &o->errp) = -1;
				}
			}
		}
	}
	ctr_raw_restore(o);
	return status;
}

/* Record an exit: state.json (durable unless --rm), cgroups removed. */
static void ctr_owner_exited(struct ctr_owner *o, int status)
{
	struct mr_err ignored;
	o->state.running = 0;
	o->state.exit_code = ctr_exit_code(status);
	o->state.oom_killed = cg_oom_killed(o->c->id);
	o->state.stopped_by_user = util_exists_at(o->rfd, "stop", 0);
	ctr_now(o->state.finished, sizeof o->state.finished);
	cg_remove(o->c->id);
	net_stop(o->st, o->c->id);
	if (o->out >= 0)
		close(o->out);
	if (o->errp >= 0)
		close(o->errp);
	if (o->sp.pty >= 0)
		close(o->sp.pty);
	o->out = o->errp = o->sp.pty = -1;
	unlinkat(o->rfd, "state", 0);
	/* an --rm container's record goes next: nothing to keep */
	if (!o->c->auto_remove)
		ctr_state_write(o->st, o->c->id, &o->state, 1, &ignored);
}

static void ctr_owner_failed(struct ctr_owner *o, int code, const struct mr_err *err)
{
	struct mr_err ignored;
	o->state.running = 0;
	o->state.exit_code = code;
	util_scopy(o->state.error, sizeof o->state.error, err->msg);
	ctr_now(o->state.finished, sizeof o->state.finished);
	ctr_state_write(o->st, o->c->id, &o->state, !o->c->auto_remove, &ignored);
}

/* Remove a stopped container (its owner lock held by the caller, or free):
 * the record disappears by one rename into tmp/ under the store lock (the
 * cleaner removes it if we die), then its folders are deleted without ever
 * crossing a mount. */
static int ctr_remove(struct mr_store *st, const struct ctr *c, struct mr_err *err)
{
	char tmp[32 + CTR_ID_LEN], path[MINIRUN_MAX_PATH + 96];
	int fd, rfd, rc = 0;
	cg_remove(c->id);
	net_stop(st, c->id);
	snprintf(path, sizeof path, "%s/containers/%s/rootfs", st->root, c->id);
	umount2(path, MNT_DETACH);
	snprintf(tmp, sizeof tmp, "tmp/" STORE_TMP_PREFIX "rm-%s", c->id);
	snprintf(path, sizeof path, "containers/%s", c->id);
	if (mr_store_lock(st, err) < 0)
		return -1;
	fd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 ||
	    renameat(st->rootfd, path, st->rootfd, tmp) < 0) {
		rc = mr_err_sys(err, "remove container %s", c->name);
	} else {
		ctr_name_release(st, c->name, c->id);
		/* durable before rm returns: the power-cut test saw acknowledged
		 * removals come back (a --rm record was never durable: no fsync) */
		if (!c->auto_remove) {
			int cfd = ctr_containers_dir(st);
			if (cfd >= 0) {
				fsync(cfd);
				close(cfd);
			}
		}
	}
	mr_store_unlock(st);
	if (!rc)
		rc = mr_remove_tree(st->rootfd, tmp, err);
	if (fd >= 0)
		close(fd);
	rfd = ctr_rundir(st, c->id, 0);
	if (rfd >= 0) {
		unlinkat(rfd, "state", 0);
		unlinkat(rfd, "stop", 0);
		unlinkat(rfd, "lock", 0);
		ctr_log_remove(rfd, c);
		close(rfd);
		snprintf(path, sizeof path, "%s/%s", st->rundir, c->id);
		rmdir(path);
	}
	return rc;
}

/* `rm -v`, `--rm`: the container's anonymous volumes go with it, unless
 * another container uses one too (volume_remove refuses). */
static void ctr_remove_volumes(struct mr_store *st, const struct ctr *c)
{
	struct mr_err err;
	size_t i;
	for (i = 0; i < c->nmnt; i++)
		if (c->mnt[i].type == MOUNT_VOLUME && c->mnt[i].anonymous &&
		    volume_remove(st, c->mnt[i].source, &err) < 0 && err.code != MR_ENOTFOUND &&
		    err.code != MR_EINUSE)
			util_print_err(&err);
}

/* A --rm container goes with its anonymous volumes. */
static int ctr_remove_auto(struct mr_store *st, const struct ctr *c, struct mr_err *err)
{
	int rc = ctr_remove(st, c, err);
	if (rc == 0)
		ctr_remove_volumes(st, c);
	return rc;
}

/* The monitor: runs, logs and restarts the container until it stops for
 * good. report >= 0: tell the CLI how the first start went ("0" or "CODE
 * message"). delay_ms > 0: a restart handed over by a foreground run. */
static int ctr_monitor(struct mr_store *st, struct ctr *c, int report, unsigned delay_ms,
		       int restarts)
{
	struct ctr_owner o;
	struct mr_err err;
	unsigned backoff = delay_ms;
	int code, status;
	ctr_owner_init(&o, st, c);
	memset(&err, 0, sizeof err);
	o.detached = 1;
	ctr_signals_catch(&o.waitmask);
	if (ctr_owner_take(&o, delay_ms > 0, &err) < 0) {
		code = err.code == MR_EINUSE ? 0 : 125;
		goto report;
	}
	/* location=ram: rundir/ID is on tmpfs, so a chatty container does not
	 * wear the flash the store is on (the logs are gone after a reboot) */
	if (ctr_log_open(&o.log, c->log_ram ? o.rfd : o.dirfd, c) < 0) {
		code = (mr_err_sys(&err, "container %s: log", c->name), 125);
		goto report;
	}
	o.state.restart_count = restarts;
	for (;;) {
		if (backoff && report < 0) {
			struct ctr_rt rt = { 0, 0, getpid(), 'R' };
			struct timespec ts = { backoff / 1000, (long)(backoff % 1000) * 1000000 };
			ctr_rt_write(o.rfd, &rt);
			while (ppoll(NULL, 0, &ts, &o.waitmask) < 0 && !ctr_sig[SIGTERM] && !ctr_sig[SIGINT]) {}
			if (ctr_sig[SIGTERM] || ctr_sig[SIGINT] || util_exists_at(o.rfd, "stop", 0))
				break;
		}
		code = ctr_owner_start(&o, &err);
		if (report >= 0) {
			char msg[sizeof err.msg + 8];
			int n = snprintf(msg, sizeof msg, "%d %s", code, code ? err.msg : "");
			if (util_write_all(report, msg, (size_t)n) < 0) { /* the CLI is gone */ }
			close(report);
			report = -1;
			if (code) {
				ctr_owner_failed(&o, code, &err);
				break;
			}
			ctr_monitor_text();
			o.trim = 1;
		}
		if (code) {
			/* a restart that fails counts as an exit of that code */
			ctr_owner_failed(&o, code, &err);
			status = code << 8;
			backoff = ctr_backoff_next(backoff, 0);
		} else {
			struct timespec now;
			status = ctr_owner_wait(&o);
			ctr_owner_exited(&o, status);
			clock_gettime(CLOCK_MONOTONIC, &now);
			backoff = ctr_backoff_next(backoff, (unsigned long)(now.tv_sec - o.up.tv_sec) * 1000);
		}
		if (!ctr_restart_wanted(c, ctr_exit_code(status), o.state.restart_count,
					o.state.stopped_by_user || ctr_sig[SIGTERM]))
			break;
		o.state.restart_count++;
	}
	if (c->auto_remove && ctr_remove_auto(st, c, &err) < 0)
		ctr_log_write(&o.log, 'e', err.msg, strlen(err.msg));
	if (o.log.fd >= 0)
		close(o.log.fd);
	ctr_disown(&o);
	return 0;
report:
	if (report >= 0) {
		char msg[sizeof err.msg + 8];
		int n = snprintf(msg, sizeof msg, "%d %s", code, err.msg);
		if (util_write_all(report, msg, (size_t)n) < 0) { /* the CLI is gone */ }
		close(report);
	}
	ctr_disown(&o);
	return code;
}

/* Fork a monitor for the container (double fork, new session, minirun
 * re-executed as `__monitor` so that it carries none of this process's
 * memory) and wait for its report on the first start. 0 or an exit code. */
static int ctr_start_detached(struct mr_store *st, struct ctr *c, unsigned delay_ms, int restarts,
			      struct mr_err *err)
{
	int p[2], code = 125;
	pid_t pid;
	char buf[sizeof err->msg + 16];
	ssize_t n;
	if (pipe2(p, O_CLOEXEC) < 0)
		return mr_err_sys(err, "pipe"), 125;
	pid = fork();
	if (pid == 0) {
		char fdstr[16], delay[16], rs[16];
		char *argv[] = { "minirun", "--root", st->root, "--run-dir", st->rundir, "__monitor",
				 c->id, fdstr, delay, rs, NULL };
		int nul = open("/dev/null", O_RDWR);
		setsid();
		if (fork() != 0)
			_exit(0);
		if (nul >= 0) {
			dup2(nul, 0), dup2(nul, 1), dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
		snprintf(fdstr, sizeof fdstr, "%d", delay_ms ? -1 : p[1]);
		snprintf(delay, sizeof delay, "%u", delay_ms);
		snprintf(rs, sizeof rs, "%d", restarts);
		/* a daemon: nothing of the caller's (a pipe of a test harness, a
		 * terminal) stays open in it */
		isolate_close_all(delay_ms ? -1 : p[1]);
		if (!delay_ms)
			fcntl(p[1], F_SETFD, 0);
		execv("/proc/self/exe", argv);
		_exit(125);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return mr_err_sys(err, "fork a monitor"), 125;
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
	if (delay_ms) {
		close(p[0]);
		return 0;
	}
	n = util_read_full(p[0], buf, sizeof buf - 1);
	close(p[0]);
	if (n <= 0)
		return mr_err_set(err, ECHILD, "container %s: its monitor died before starting it",
				  c->name), 125;
	buf[n] = 0;
	code = atoi(buf);
	if (code)
		mr_err_set(err, MR_EINVAL_INPUT, "%s", strchr(buf, ' ') ? strchr(buf, ' ') + 1 : buf);
	return code;
}

/* Foreground run (`run` without -d, `start -a`): this process owns the
 * container. Returns the container's exit code (or 125/126/127). */
static int ctr_run_attached(struct mr_store *st, struct ctr *c, int attach_stdin, struct mr_err *err)
{
	struct ctr_owner o;
	int code, status, restart;
	ctr_owner_init(&o, st, c);
	o.attach_stdin = attach_stdin;
	ctr_signals_catch(&o.waitmask);
	if (ctr_owner_take(&o, 0, err) < 0) {
		ctr_disown(&o);
		return 125;
	}
	if (ctr_log_open(&o.log, o.dirfd, c) < 0) {
		mr_err_sys(err, "container %s: log", c->name);
		ctr_disown(&o);
		return 125;
	}
	code = ctr_owner_start(&o, err);
	if (code) {
		close(o.log.fd);
		ctr_owner_failed(&o, code, err);
		if (c->auto_remove) {
			struct mr_err ignored;
			ctr_remove_auto(st, c, &ignored);
		}
		ctr_disown(&o);
		return code;
	}
	status = ctr_owner_wait(&o);
	close(o.log.fd);
	ctr_owner_exited(&o, status);
	code = o.state.exit_code;
	restart = ctr_restart_wanted(c, code, 0, o.state.stopped_by_user);
	if (c->auto_remove && ctr_remove_auto(st, c, err) < 0)
		util_print_err(err);
	ctr_disown(&o);
	sigprocmask(SIG_SETMASK, &o.waitmask, NULL);
	/* the restart policy goes on in the background, as Docker's daemon does */
	if (restart && ctr_start_detached(st, c, 100, 1, err) != 0)
		util_print_err(err);
	return code;
}

/* Create a container from its resolved configuration: the folder is made
 * under tmp/ (removed by the next store open if we die), then, under the
 * store lock, its name is claimed and it is renamed into containers/.
 * A generated name that is taken is drawn again. */
static int ctr_create(struct mr_store *st, struct ctr *c, int explicit_name, struct mr_err *err)
{
	char tmp[64], path[32 + CTR_ID_LEN];
	int tfd, rc, tries = 0, cfd;
	tfd = mr_store_mktemp(st, "ctr", tmp, sizeof tmp, err);
	if (tfd < 0)
		return -1;
	rc = rootfs_create(st, c, &c->layers, tfd, err);
	if (!rc)
		rc = ctr_save(st, c, tfd, err);
	if (!rc && c->net_conf.len)
		rc = ctr_write_file(tfd, "net.conf", c->net_conf.data, c->net_conf.len,
				    !c->auto_remove, err);
	if (rc < 0) {
		mr_err_ctx(err, "create container");
		goto fail;
	}
	if (mr_store_lock(st, err) < 0)
		goto fail;
	while ((rc = ctr_name_claim(st, c->name, c->id, err)) < 0 && !explicit_name &&
	       err->code == MR_EEXIST && tries++ < 32) {
		ctr_name_generate(c->name, sizeof c->name);
		if (tries > 8) {
			size_t n = strlen(c->name);
			snprintf(c->name + n, sizeof c->name - n, "%d", tries);
		}
		if (ctr_save(st, c, tfd, err) < 0)
			break;
	}
	snprintf(path, sizeof path, "containers/%s", c->id);
	if (!rc && renameat(st->rootfd, tmp, st->rootfd, path) < 0) {
		rc = mr_err_sys(err, "create container %s", c->name);
		ctr_name_release(st, c->name, c->id);
	}
	mr_store_unlock(st);
	if (rc < 0)
		goto fail;
	if (!c->auto_remove && (cfd = ctr_containers_dir(st)) >= 0) {
		mr_fsync_dir(cfd, err);
		close(cfd);
	}
	close(tfd);
	return 0;
fail:
	{
		struct mr_err ignored;
		mr_remove_tree(st->rootfd, tmp, &ignored);
	}
	close(tfd);
	return -1;
}

/* ---- measuring a running container (top, stats) ---- */

/* Fields of /proc/PID/stat after the command name (field 3 = index 0). */
static int ctr_proc_stat(pid_t pid, unsigned long long *f, int max)
{
	char buf[1024], *p;
	int i = 0;
	if (ctr_read_proc(pid, "stat", buf, sizeof buf) <= 0 || !(p = strrchr(buf, ')')))
		return -1;
	for (p += 2; i < max && *p; i++) {
		f[i] = *p >= '0' && *p <= '9' ? strtoull(p, NULL, 10) : (unsigned long long)*p;
		p += strcspn(p, " ");
		p += *p == ' ';
	}
	return i;
}

struct ctr_sample {
	uint64_t cpu_ns, mem, limit, pids, rx, tx;
	struct timespec at;
};

/* One sample: from the container's cgroups where it has the controller,
 * else summed over its processes (CPU ticks, resident pages). */
static void ctr_sample_take(const struct ctr *c, pid_t pid, struct ctr_sample *s)
{
	uint64_t v = 0, inactive = 0, cpu = UINT64_MAX, mem = UINT64_MAX;
	char buf[4096], *p;
	int v2 = cg_version() == 2, hz = UTIL_CLK_TCK;
	uint64_t total = util_mem_total();
	pid_t *pids;
	size_t i, n;
	memset(s, 0, sizeof s[0]);
	clock_gettime(CLOCK_MONOTONIC, &s->at);
	if (cg_read_u64(v2 ? "" : "unified", c->id, "cpu.stat", "usage_usec", &v) == 0)
		cpu = v * 1000;
	else if (cg_read_u64("cpuacct", c->id, "cpuacct.usage", NULL, &v) == 0)
		cpu = v;
	if (cg_read_u64(v2 ? "" : "memory", c->id, v2 ? "memory.current" : "memory.usage_in_bytes",
			NULL, &v) == 0) {
		cg_read_u64(v2 ? "" : "memory", c->id, "memory.stat", v2 ? "inactive_file" :
			    "total_inactive_file", &inactive);
		mem = v > inactive ? v - inactive : v;
		cg_read_u64(v2 ? "" : "memory", c->id, v2 ? "memory.max" : "memory.limit_in_bytes",
			    NULL, &s->limit);
	}
	if (!s->limit || s->limit > total)
		s->limit = total;
	pids = cg_pids(c->id, pid, &n);
	if (cg_read_u64(v2 ? "" : "pids", c->id, "pids.current", NULL, &s->pids) < 0)
		s->pids = n;
	for (i = 0; i < n && (cpu == UINT64_MAX || mem == UINT64_MAX); i++) {
		unsigned long long f[13];
		if (cpu == UINT64_MAX && ctr_proc_stat(pids[i], f, 13) == 13)
			s->cpu_ns += (f[11] + f[12]) * 1000000000ULL / (unsigned long long)hz;
		if (mem == UINT64_MAX && ctr_read_proc(pids[i], "statm", buf, sizeof buf) >= 0) {
			p = strchr(buf, ' ');
			if (p)
				s->mem += strtoull(p + 1, NULL, 10) * (uint64_t)getpagesize();
		}
	}
	free(pids);
	if (cpu != UINT64_MAX)
		s->cpu_ns = cpu;
	if (mem != UINT64_MAX)
		s->mem = mem;
	ctr_read_proc(pid, "net/dev", buf, sizeof buf);
	for (p = strchr(buf, '\n'); p && (p = strchr(p + 1, '\n')) != NULL;) {
		unsigned long long f[9];
		char *colon = strchr(p, ':');
		const char *name = p + 1 + strspn(p + 1, " ");
		if (!colon || !strncmp(name, "lo:", 3))
			continue;
		const char *q = colon + 1;
		int k;
		for (k = 0; k < 9; k++) {
			uint64_t field;
			if (util_word_u64(&q, &field, 10) < 0)
				break;
			f[k] = field;
		}
		if (k == 9) {
			s->rx += f[0];
			s->tx += f[8];
		}
	}
}
/* One process of a container as `top` shows it (ps -ef's columns). */
struct ctr_proc {
	struct mr_buf cmd;                 /* its command line (the caller frees it) */
	char uid[24], nuid[24], pid[24], ppid[24], cpu[8], stime[16], tty[16], time[24], comm[32];
};

/* Process pid's columns (now: the time, boot: when the system booted);
 * -1 if it is gone. */
static int ctr_proc_read(pid_t pid, time_t now, time_t boot, struct ctr_proc *p)
{
	unsigned long long f[20];
	char path[48], buf[4096];
	long hz = UTIL_CLK_TCK;
	struct tm lt, ln;
	time_t started;
	unsigned long long secs;
	ssize_t r;
	int fd;
	memset(p, 0, sizeof *p);
	p->uid[0] = p->nuid[0] = '?';
	if (ctr_proc_stat(pid, f, 20) < 20)
		return -1;
	if (ctr_read_proc(pid, "status", buf, sizeof buf) >= 0) {
		char *u;
		if ((u = strstr(buf, "\nUid:")) != NULL) {
			long v = strtol(u + 5, NULL, 10);
			snprintf(p->nuid, sizeof p->nuid, "%ld", v);
			if (v == 0)
				strcpy(p->uid, "root");
			else
				snprintf(p->uid, sizeof p->uid, "%ld", v);
		}
	}
	snprintf(p->pid, sizeof p->pid, "%d", (int)pid);
	snprintf(p->ppid, sizeof p->ppid, "%llu", f[1]);
	secs = (f[11] + f[12]) / (unsigned long long)hz;
	started = boot + (time_t)(f[19] / (unsigned long long)hz);
	snprintf(p->cpu, sizeof p->cpu, "%llu", now > started ?
		 (f[11] + f[12]) * 100 / (unsigned long long)hz / (unsigned long long)(now - started) : 0);
	/* UTC: no time zone code in the binary for one column */
	gmtime_r(&started, &lt);
	gmtime_r(&now, &ln);
	if (lt.tm_yday == ln.tm_yday && lt.tm_year == ln.tm_year)
		snprintf(p->stime, sizeof p->stime, "%02d:%02d", lt.tm_hour, lt.tm_min);
	else
		snprintf(p->stime, sizeof p->stime, "%.3s%02d", "JanFebMarAprMayJunJulAugSepOctNovDec" +
			 3 * (lt.tm_mon % 12), lt.tm_mday);
	if ((f[4] >> 8 & 0xfff) == 136)
		snprintf(p->tty, sizeof p->tty, "pts/%llu", (f[4] & 0xff) | ((f[4] >> 12) & 0xfff00));
	else
		strcpy(p->tty, "?");
	snprintf(p->time, sizeof p->time, "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60, secs % 60);
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		while ((r = read(fd, buf, sizeof buf)) > 0)
			mr_buf_append(&p->cmd, buf, (size_t)r);
		close(fd);
	}
	for (r = 0; p->cmd.data && (size_t)r + 1 < p->cmd.len; r++)
		if (!p->cmd.data[r])
			p->cmd.data[r] = ' ';
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		r = read(fd, p->comm, sizeof p->comm - 1);
		close(fd);
		p->comm[r > 0 ? r - 1 : 0] = 0;
	}
	if (!p->cmd.len)
		mr_buf_printf(&p->cmd, "[%s]", p->comm);
	return 0;
}
