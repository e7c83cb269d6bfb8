/* ==== [16] ISOLATE: capabilities, seccomp, users, cgroups, no_new_privs, descriptors, exec ====
 * The last steps before a container's process becomes its program, in crun's
 * order: identity (uid, gid, groups from the image's own /etc/passwd and
 * /etc/group, read inside the new root), capabilities (bounding set dropped,
 * then capset), no_new_privs, every descriptor above 2 marked close-on-exec,
 * then execve of the program found on the container's PATH. */

/* Capability names by number (CAP_ prefix left out), packed. */
static const char isolate_cap_names[] =
	"CHOWN\0DAC_OVERRIDE\0DAC_READ_SEARCH\0FOWNER\0FSETID\0KILL\0SETGID\0SETUID\0"
	"SETPCAP\0LINUX_IMMUTABLE\0NET_BIND_SERVICE\0NET_BROADCAST\0NET_ADMIN\0NET_RAW\0"
	"IPC_LOCK\0IPC_OWNER\0SYS_MODULE\0SYS_RAWIO\0SYS_CHROOT\0SYS_PTRACE\0SYS_PACCT\0"
	"SYS_ADMIN\0SYS_BOOT\0SYS_NICE\0SYS_RESOURCE\0SYS_TIME\0SYS_TTY_CONFIG\0MKNOD\0"
	"LEASE\0AUDIT_WRITE\0AUDIT_CONTROL\0SETFCAP\0MAC_OVERRIDE\0MAC_ADMIN\0SYSLOG\0"
	"WAKE_ALARM\0BLOCK_SUSPEND\0AUDIT_READ\0PERFMON\0BPF\0CHECKPOINT_RESTORE\0";
#define ISOLATE_CAP_COUNT 41

/* Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
 * SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
#define ISOLATE_CAPS_DEFAULT ((1ull << 0) | (1ull << 1) | (1ull << 3) | (1ull << 4) | \
	(1ull << 5) | (1ull << 6) | (1ull << 7) | (1ull << 8) | (1ull << 10) | (1ull << 13) | \
	(1ull << 18) | (1ull << 27) | (1ull << 29) | (1ull << 31))
#define ISOLATE_CAPS_ALL ((1ull << ISOLATE_CAP_COUNT) - 1)

/* "NET_ADMIN", "cap_net_admin", "ALL" -> bit number, 64 for ALL, -1 unknown. */
static int isolate_cap_parse(const char *s)
{
	const char *n = isolate_cap_names;
	int i;
	if (!strncasecmp(s, "CAP_", 4))
		s += 4;
	if (!strcasecmp(s, "ALL"))
		return 64;
	for (i = 0; *n; i++, n += strlen(n) + 1)
		if (!strcasecmp(s, n))
			return i;
	return -1;
}

/* moby's TweakCapabilities: --privileged is everything; an added ALL is
 * everything but the dropped; a dropped ALL leaves only the added; else the
 * defaults minus the dropped plus the added. */
static int isolate_caps_resolve(const struct ctr *c, uint64_t *out, struct mr_err *err)
{
	uint64_t add = 0, drop = 0;
	size_t i;
	for (i = 0; i < c->cap_add.n + c->cap_drop.n; i++) {
		const char *s = i < c->cap_add.n ? c->cap_add.v[i] : c->cap_drop.v[i - c->cap_add.n];
		int b = isolate_cap_parse(s);
		if (b < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "unknown capability: \"%s\"", s);
		*(i < c->cap_add.n ? &add : &drop) |= b == 64 ? (1ull << 63) : 1ull << b;
	}
	if (c->privileged)
		*out = ISOLATE_CAPS_ALL;
	else if (add >> 63)
		*out = ISOLATE_CAPS_ALL & ~drop;
	else if (drop >> 63)
		*out = add;
	else
		*out = (ISOLATE_CAPS_DEFAULT & ~drop) | add;
	*out &= ISOLATE_CAPS_ALL;
	return 0;
}

/* The bounding set, before the user changes (dropping needs CAP_SETPCAP):
 * afterwards no execve can regain a capability. */
static int isolate_caps_bound(uint64_t caps, struct mr_err *err)
{
	int cap, r;
	for (cap = 0; cap < 64; cap++) {
		r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (r < 0)
			break;
		if (r == 1 && !((caps >> cap) & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return mr_err_sys(err, "drop capability %d from the bounding set", cap);
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}

/* The process's own sets, after the user changes. A non-root user had them
 * cleared by setuid and execve grants it nothing (no file capabilities):
 * Docker's behaviour. Root keeps the allowed ones it still holds (a host may
 * lack some, as this one lacks CAP_SYS_RESOURCE). */
static int isolate_caps_apply(uint64_t caps, struct mr_err *err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	uint64_t have;
	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return mr_err_sys(err, "get capabilities");
	have = (uint64_t)data[0].permitted | (uint64_t)data[1].permitted << 32;
	caps &= have;
	memset(data, 0, sizeof data);
	data[0].effective = data[0].permitted = (uint32_t)caps;
	data[1].effective = data[1].permitted = (uint32_t)(caps >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return mr_err_sys(err, "set capabilities");
	return 0;
}

#if MINIRUN_WITH_SECCOMP
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* ---- seccomp: Docker's default profile, as what it refuses ----
 * Docker's profile allows a list of about 350 calls and refuses the rest with
 * EPERM; some refused ones come back with a capability (mount with
 * CAP_SYS_ADMIN, reboot with CAP_SYS_BOOT...). The same effect is built here
 * as a short deny list, from the calls the kernel headers name for this
 * arch, skipping those whose capability the container holds: new calls the
 * kernel adds later are allowed rather than refused (Docker refuses them), a
 * choice for a runtime that may outlive its kernel's headers. Also as
 * Docker: clone with namespace flags refused without CAP_SYS_ADMIN (clone3
 * answers ENOSYS so that libcs fall back to clone), personality only with
 * the harmless values, other arches' calls (and x86-64's x32 numbering)
 * refused. `--privileged` and `--security-opt seccomp=unconfined` go
 * without it. */

struct seccomp_deny {
	short nr;
	signed char cap;                   /* the capability that lifts it; -1 none */
};

#define SECCOMP_DENY(name, cap) { SYS_##name, cap },
static const struct seccomp_deny seccomp_denied[] = {
#ifdef SYS_acct
	SECCOMP_DENY(acct, CAP_SYS_PACCT)
#endif
	SECCOMP_DENY(add_key, -1) SECCOMP_DENY(keyctl, -1) SECCOMP_DENY(request_key, -1)
	SECCOMP_DENY(bpf, CAP_SYS_ADMIN) SECCOMP_DENY(fanotify_init, CAP_SYS_ADMIN)
	SECCOMP_DENY(perf_event_open, CAP_SYS_ADMIN) SECCOMP_DENY(quotactl, CAP_SYS_ADMIN)
	SECCOMP_DENY(mount, CAP_SYS_ADMIN) SECCOMP_DENY(umount2, CAP_SYS_ADMIN)
	SECCOMP_DENY(pivot_root, CAP_SYS_ADMIN) SECCOMP_DENY(unshare, CAP_SYS_ADMIN)
	SECCOMP_DENY(setns, CAP_SYS_ADMIN) SECCOMP_DENY(swapon, CAP_SYS_ADMIN)
	SECCOMP_DENY(swapoff, CAP_SYS_ADMIN) SECCOMP_DENY(name_to_handle_at, CAP_SYS_ADMIN)
	SECCOMP_DENY(open_by_handle_at, CAP_DAC_READ_SEARCH) SECCOMP_DENY(syslog, CAP_SYSLOG)
	SECCOMP_DENY(lookup_dcookie, CAP_SYS_ADMIN)
#ifdef SYS_fsopen
	SECCOMP_DENY(fsopen, CAP_SYS_ADMIN) SECCOMP_DENY(fsconfig, CAP_SYS_ADMIN)
	SECCOMP_DENY(fsmount, CAP_SYS_ADMIN) SECCOMP_DENY(fspick, CAP_SYS_ADMIN)
	SECCOMP_DENY(move_mount, CAP_SYS_ADMIN) SECCOMP_DENY(open_tree, CAP_SYS_ADMIN)
#endif
#ifdef SYS_mount_setattr
	SECCOMP_DENY(mount_setattr, CAP_SYS_ADMIN)
#endif
#ifdef SYS_umount
	SECCOMP_DENY(umount, CAP_SYS_ADMIN)
#endif
	SECCOMP_DENY(init_module, CAP_SYS_MODULE) SECCOMP_DENY(finit_module, CAP_SYS_MODULE)
	SECCOMP_DENY(delete_module, CAP_SYS_MODULE)
	SECCOMP_DENY(reboot, CAP_SYS_BOOT) SECCOMP_DENY(kexec_load, CAP_SYS_BOOT)
#ifdef SYS_kexec_file_load
	SECCOMP_DENY(kexec_file_load, CAP_SYS_BOOT)
#endif
	/* 32-bit arches name the time calls by their time_t width */
#ifdef SYS_settimeofday
	SECCOMP_DENY(settimeofday, CAP_SYS_TIME)
#endif
#ifdef SYS_settimeofday_time32
	SECCOMP_DENY(settimeofday_time32, CAP_SYS_TIME)
#endif
#ifdef SYS_clock_settime
	SECCOMP_DENY(clock_settime, CAP_SYS_TIME)
#endif
#ifdef SYS_clock_settime32
	SECCOMP_DENY(clock_settime32, CAP_SYS_TIME)
#endif
#ifdef SYS_clock_settime64
	SECCOMP_DENY(clock_settime64, CAP_SYS_TIME)
#endif
#ifdef SYS_clock_adjtime
	SECCOMP_DENY(clock_adjtime, CAP_SYS_TIME)
#endif
#ifdef SYS_clock_adjtime64
	SECCOMP_DENY(clock_adjtime64, CAP_SYS_TIME)
#endif
#ifdef SYS_stime
	SECCOMP_DENY(stime, CAP_SYS_TIME)
#endif
	SECCOMP_DENY(kcmp, CAP_SYS_PTRACE) SECCOMP_DENY(process_vm_readv, CAP_SYS_PTRACE)
	SECCOMP_DENY(process_vm_writev, CAP_SYS_PTRACE)
#ifdef SYS_iopl
	SECCOMP_DENY(iopl, CAP_SYS_RAWIO) SECCOMP_DENY(ioperm, CAP_SYS_RAWIO)
#endif
	SECCOMP_DENY(mbind, CAP_SYS_NICE) SECCOMP_DENY(set_mempolicy, CAP_SYS_NICE)
	SECCOMP_DENY(get_mempolicy, CAP_SYS_NICE) SECCOMP_DENY(move_pages, CAP_SYS_NICE)
	SECCOMP_DENY(userfaultfd, -1)
#ifdef SYS_io_uring_setup
	SECCOMP_DENY(io_uring_setup, -1) SECCOMP_DENY(io_uring_enter, -1)
	SECCOMP_DENY(io_uring_register, -1)
#endif
#ifdef SYS_create_module
	SECCOMP_DENY(create_module, -1)
#endif
#ifdef SYS_get_kernel_syms
	SECCOMP_DENY(get_kernel_syms, -1)
#endif
#ifdef SYS_query_module
	SECCOMP_DENY(query_module, -1)
#endif
#ifdef SYS_nfsservctl
	SECCOMP_DENY(nfsservctl, -1)
#endif
#ifdef SYS_uselib
	SECCOMP_DENY(uselib, -1)
#endif
#ifdef SYS_sysfs
	SECCOMP_DENY(sysfs, -1)
#endif
#ifdef SYS__sysctl
	SECCOMP_DENY(_sysctl, -1)
#endif
#ifdef SYS_ustat
	SECCOMP_DENY(ustat, -1)
#endif
#ifdef SYS_vm86
	SECCOMP_DENY(vm86, -1)
#endif
#ifdef SYS_vm86old
	SECCOMP_DENY(vm86old, -1)
#endif
};

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__) && !defined(__ARMEB__)
#define SECCOMP_ARCH AUDIT_ARCH_ARM
#elif defined(__mips__) && defined(__MIPSEL__) && _MIPS_SIM == _ABIO32
#define SECCOMP_ARCH AUDIT_ARCH_MIPSEL
#elif defined(__i386__)
#define SECCOMP_ARCH AUDIT_ARCH_I386
#endif

#define SECCOMP_NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
			  CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)
/* The low 32 bits of a 64-bit argument (these arches are little-endian). */
#define SECCOMP_ARG0 offsetof(struct seccomp_data, args[0])

/* Instructions at most: 4 to load and check the arch and number, one per
 * denied call, 17 for the argument checks, jumps and verdicts. */
#define SECCOMP_PROG_MAX (sizeof seccomp_denied / sizeof seccomp_denied[0] + 24)

/* The filter for a container holding caps, built into prog (room for
 * SECCOMP_PROG_MAX): its length in instructions, 0 if it cannot be built. */
static unsigned short isolate_seccomp_build(uint64_t caps, struct sock_filter *prog)
{
	static const uint32_t personas[] = { 0, 8, 0x20000, 0x20008, 0xffffffff };
	enum { DENY, ENOSYS_, ALLOW, CLONE, PERSONALITY };
	unsigned short n = 0, jump[SECCOMP_PROG_MAX];
	unsigned char label[sizeof jump / sizeof jump[0]];
	unsigned short at[5], nj = 0, i;
	int admin = (caps >> CAP_SYS_ADMIN) & 1;
#define STMT(code, k) (prog[n++] = (struct sock_filter)BPF_STMT(code, k))
#define JUMP_TO(code, k, target) (jump[nj] = n, label[nj++] = target, \
				  prog[n++] = (struct sock_filter)BPF_JUMP(code, k, 0, 0))
	STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0);
	n++;
	STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	JUMP_TO(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, DENY);          /* x32 */
#endif
	for (i = 0; i < sizeof seccomp_denied / sizeof seccomp_denied[0]; i++)
		if (seccomp_denied[i].cap < 0 || !((caps >> seccomp_denied[i].cap) & 1))
			JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)seccomp_denied[i].nr, DENY);
	JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, SYS_personality, PERSONALITY);
	if (!admin) {
		JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, CLONE);
#ifdef SYS_clone3
		JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, ENOSYS_);
#endif
	}
	JUMP_TO(BPF_JMP | BPF_JA, 0, ALLOW);
	/* BPF jumps only forward: the argument checks, then the verdicts. */
	at[CLONE] = n;
	STMT(BPF_LD | BPF_W | BPF_ABS, SECCOMP_ARG0);
	JUMP_TO(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_NS_FLAGS, DENY);
	JUMP_TO(BPF_JMP | BPF_JA, 0, ALLOW);
	at[PERSONALITY] = n;
	STMT(BPF_LD | BPF_W | BPF_ABS, SECCOMP_ARG0);
	for (i = 0; i < sizeof personas / sizeof personas[0]; i++)
		JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, personas[i], ALLOW);
	JUMP_TO(BPF_JMP | BPF_JA, 0, DENY);
	at[ALLOW] = n;
	STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	at[DENY] = n;
	STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	at[ENOSYS_] = n;
	STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	/* Conditional jumps go forward by jt (at most 255); "ja" by k. */
	for (i = 0; i < nj; i++) {
		unsigned short from = jump[i], offset = (unsigned short)(at[label[i]] - from - 1);
		if (at[label[i]] <= from)
			return 0;
		if (BPF_OP(prog[from].code) == BPF_JA)
			prog[from].k = offset;
		else if (offset > 255)
			return 0;                  /* cannot happen with this table (unit-tested) */
		else
			prog[from].jt = (unsigned char)offset;
	}
#undef STMT
#undef JUMP_TO
	return n;
}

#endif

/* Read a small file of the container (its /etc/passwd) without leaving the
 * root; NULL when missing. */
static char *isolate_read_in_root(int rootfd, const char *path)
{
	struct mr_err ignored;
	struct mr_buf b = { 0 };
	int fd = mr_open_in_root(rootfd, path, O_RDONLY, 0, &ignored);
	char chunk[4096];
	ssize_t n;
	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof chunk)) > 0 && b.len < (4u << 20))
		mr_buf_append(&b, chunk, (size_t)n);
	close(fd);
	if (!b.data)
		mr_buf_append(&b, "", 0);
	return b.data;
}

/* The 32-bit id calls where an arch also has 16-bit ones (arm, i386). */
#ifdef SYS_setresuid32
#define ISOLATE_SYS_SETRESUID SYS_setresuid32
#define ISOLATE_SYS_SETRESGID SYS_setresgid32
#define ISOLATE_SYS_SETGROUPS SYS_setgroups32
#else
#define ISOLATE_SYS_SETRESUID SYS_setresuid
#define ISOLATE_SYS_SETRESGID SYS_setresgid
#define ISOLATE_SYS_SETGROUPS SYS_setgroups
#endif

/* uid, gid and groups of -u / the image's User and --group-add, from the
 * container's files. */
static int isolate_user(int rootfd, const char *spec, const struct ctr_list *add,
			struct ctr_ids *ids, struct mr_err *err)
{
	char *passwd = isolate_read_in_root(rootfd, "etc/passwd");
	char *group = isolate_read_in_root(rootfd, "etc/group");
	int rc = ctr_ids_resolve(spec, passwd, group, ids, err);
	if (rc == 0)
		rc = ctr_ids_add_groups(add, group, ids, err);
	free(passwd);
	free(group);
	if (rc < 0)
		return -1;
	/* raw calls: this process has one thread, and musl's wrappers bring
	 * the machinery that changes the ids of every thread (__synccall) */
	if (syscall(ISOLATE_SYS_SETGROUPS, ids->ngroups, ids->groups) < 0)
		return mr_err_sys(err, "setgroups");
	if (syscall(ISOLATE_SYS_SETRESGID, ids->gid, ids->gid, ids->gid) < 0)
		return mr_err_sys(err, "setgid %u", (unsigned)ids->gid);
	if (syscall(ISOLATE_SYS_SETRESUID, ids->uid, ids->uid, ids->uid) < 0)
		return mr_err_sys(err, "setuid %u", (unsigned)ids->uid);
	return 0;
}

/* --sysctl: written through /proc/sys from inside the container's
 * namespaces (net and IPC parameters follow the writer's namespaces), before
 * the container's own /proc is mounted read-only. A key with a slash is a
 * path as it is (an interface named eth0.100); else dots are slashes. */
static int isolate_sysctls(const struct ctr *c, struct mr_err *err)
{
	size_t i, k;
	for (i = 0; i < c->sysctls.n; i++) {
		const char *kv = c->sysctls.v[i], *eq = strchr(kv, '=');
		char path[160];
		int fd, slash = memchr(kv, '/', (size_t)(eq - kv)) != NULL;
		snprintf(path, sizeof path, "/proc/sys/%.*s", (int)(eq - kv), kv);
		for (k = 10; path[k] && !slash; k++)
			if (path[k] == '.')
				path[k] = '/';
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || util_write_all(fd, eq + 1, strlen(eq + 1)) < 0) {
			mr_err_sys(err, "--sysctl %s", kv);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* One limit of this process; RLIM_INFINITY (~0, as -1 casts) is none. Raw
 * prlimit64: one thread, no synccall. Also config.json's process.rlimits
 * ([20b]). */
static int isolate_rlimit(int res, unsigned long long soft, unsigned long long hard)
{
	struct rlimit rl;
	rl.rlim_cur = (rlim_t)soft;
	rl.rlim_max = (rlim_t)hard;
	return (int)syscall(SYS_prlimit64, 0, res, &rl, NULL);
}

/* --ulimit, before the capabilities go (a hard limit above the current one
 * needs CAP_SYS_RESOURCE). */
static int isolate_ulimits(const struct ctr *c, struct mr_err *err)
{
	size_t i;
	for (i = 0; i < c->ulimits.n; i++) {
		long long soft, hard;
		int res = ctr_ulimit_parse(c->ulimits.v[i], &soft, &hard, err);
		if (res < 0)
			return -1;
		if (isolate_rlimit(res, (unsigned long long)soft, (unsigned long long)hard) < 0)
			return mr_err_sys(err, "--ulimit %s", c->ulimits.v[i]);
	}
	return 0;
}

/* The working folder, resolved inside the root (never through a magic link
 * such as /proc/self/fd/N: CVE-2024-21626) and created when missing, as
 * Docker does. */
static int isolate_workdir(int rootfd, const char *dir, int create, struct mr_err *err)
{
	int fd = mr_open_in_root(rootfd, *dir ? dir : "/", O_PATH | O_DIRECTORY, 0, err);
	/* run makes a missing one (Docker does); exec fails with runc's words */
	if (fd < 0 && err->code == ENOENT && !create)
		return mr_err_set(err, ENOENT, "chdir to cwd (\"%s\") set in config.json failed: "
				  "no such file or directory", dir);
	if (fd < 0 && err->code == ENOENT)
		fd = mr_mkdir_in_root(rootfd, dir, 0755, err);
	if (fd < 0)
		return mr_err_ctx(err, "working directory %s", dir);
	if (fchdir(fd) < 0) {
		close(fd);
		return mr_err_sys(err, "chdir to working directory %s", dir);
	}
	close(fd);
	return 0;
}

/* Nothing of minirun's may reach the program: every descriptor above 2 is
 * marked close-on-exec (the sync socket already is: its closing at exec is
 * the success signal). close_range() where the kernel has it. */
static int isolate_cloexec_all(struct mr_err *err)
{
	DIR *d;
	struct dirent *de;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) == 0)
		return 0;
#endif
	d = opendir("/proc/self/fd");
	if (!d)
		return mr_err_sys(err, "list descriptors");
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name);
		if (fd > 2 && fd != dirfd(d))
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	closedir(d);
	return 0;
}

/* Close every descriptor above 2, or above keep when keep > 2 (a process
 * that stays minirun code: the --init reaper, a monitor). */
static void isolate_close_all(int keep)
{
	DIR *d;
	struct dirent *de;
	int fds[64], n = 0, i;
#ifdef SYS_close_range
	if (keep < 3 && syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
	if (keep >= 3 && syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0 &&
	    syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
		return;
#endif
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d)) != NULL && n < 64) {
		int fd = atoi(de->d_name);
		if (fd > 2 && fd != keep && fd != dirfd(d))
			fds[n++] = fd;
	}
	if (d)
		closedir(d);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

static int isolate_loopback(struct mr_err *err)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;
	if (s < 0)
		return mr_err_sys(err, "socket for lo");
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		rc = mr_err_sys(err, "lo flags");
	ifr.ifr_flags |= IFF_UP;
	if (!rc && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		rc = mr_err_sys(err, "bring lo up");
	close(s);
	return rc;
}

/* Same file as minirun's own binary? (CVE-2019-5736: a container whose
 * command is /proc/self/exe would otherwise run the host's minirun binary,
 * whose /proc/PID/exe other processes of the container could then open and,
 * once it exits, rewrite.) */
static int isolate_is_self(int exe_fd, const char *path)
{
	struct stat a, b;
	return exe_fd >= 0 && fstat(exe_fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* execve the program as Docker does: a name with '/' as is, else the first
 * match on the container's PATH (not minirun's). Returns only on failure:
 * 127 not found, 126 found but not runnable, with err set as Docker words it. */
static int isolate_exec(int exe_fd, char *const argv[], char *const envp[], struct mr_err *err)
{
	const char *file = argv[0], *path = NULL, *p;
	char cand[MINIRUN_MAX_PATH];
	int eacces = 0, i;
	for (i = 0; envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	if (!file || !*file)
		return mr_err_set(err, ENOENT, "exec: \"\": executable file not found in $PATH"), 127;
	if (strchr(file, '/')) {
		struct stat sb;
		if (stat(file, &sb) < 0) {
			int e = errno;
			/* Go's wording, as Docker prints it */
			mr_err_set(err, e, "exec: \"%s\": stat %s: %s", file, file,
				   e == ENOENT ? "no such file or directory" : e == ENOTDIR ?
				   "not a directory" : strerror(e));
			return e == ENOENT || e == ENOTDIR ? 127 : 126;
		}
		if (isolate_is_self(exe_fd, file))
			return mr_err_set(err, EPERM, "exec: \"%s\": refusing to run the runtime's own "
					  "binary in a container", file), 126;
		execve(file, argv, envp);
		return mr_err_set(err, errno, "exec: \"%s\": %s", file,
				  errno == EACCES ? "permission denied" : strerror(errno)), 126;
	}
	for (p = path ? path : CTR_DEFAULT_PATH; ; p += strcspn(p, ":") + 1) {
		size_t n = strcspn(p, ":");
		struct stat sb;
		if (n + strlen(file) + 2 < sizeof cand) {
			snprintf(cand, sizeof cand, "%.*s%s%s", (int)n, p, n ? "/" : "", file);
			if (stat(cand, &sb) == 0 && S_ISREG(sb.st_mode)) {
				if (isolate_is_self(exe_fd, cand))
					return mr_err_set(err, EPERM, "exec: \"%s\": refusing to run the "
							  "runtime's own binary in a container", file), 126;
				execve(cand, argv, envp);
				if (errno != ENOENT)
					eacces = errno;
			}
		}
		if (!p[n])
			break;
	}
	if (eacces)
		return mr_err_set(err, eacces, "exec: \"%s\": %s", file, eacces == EACCES ?
				  "permission denied" : strerror(eacces)), 126;
	return mr_err_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", file), 127;
}

/* ---- cgroups ----
 * v2 (/sys/fs/cgroup is cgroup2): /sys/fs/cgroup/minirun/ID with the cpu,
 * memory and pids controllers enabled down to it.
 * v1 and hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified owning no
 * controller we need): unified/minirun/ID to track the processes, and
 * CTRL/minirun/ID only for the controllers a limit needs (memory, cpu, pids).
 * Why not always all of them: moving a process into a cgroup (a write to
 * cgroup.procs) waits for an RCU grace period, 5-10 ms here, the largest cost
 * of a start; a cgroup2 folder is entered at birth instead (clone3 with
 * CLONE_INTO_CGROUP), for free. `stats` and `top` read the processes
 * themselves where a controller is missing. */

#include <linux/bpf.h>

#define CG_ROOT "/sys/fs/cgroup"
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

/* 2 = unified, 1 = v1 (maybe hybrid), 0 = no cgroups mounted. */
static int cg_version(void)
{
	static int v = -1;
	struct statfs sf;
	if (v >= 0)
		return v;
	v = 0;
	if (statfs(CG_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		v = 2;
	else if ((statfs(CG_ROOT "/memory", &sf) == 0 || statfs(CG_ROOT "/pids", &sf) == 0) &&
		 sf.f_type == CGROUP_SUPER_MAGIC)
		v = 1;
	return v;
}

static int cg_is_mounted(const char *hier)
{
	char path[64];
	struct statfs sf;
	snprintf(path, sizeof path, CG_ROOT "/%s", hier);
	return statfs(path, &sf) == 0 && (sf.f_type == CGROUP_SUPER_MAGIC ||
					  (!strcmp(hier, "unified") && sf.f_type == CGROUP2_SUPER_MAGIC));
}

/* The cgroup2 hierarchy containers get a folder in: "" (v2), "unified" (the
 * tracking one of a hybrid), or NULL when there is none. */
static const char *cg_v2_hier(void)
{
	int v = cg_version();
	return v == 2 ? "" : v == 1 && cg_is_mounted("unified") ? "unified" : NULL;
}

/* Path of the container's folder in a hierarchy ("" for v2). */
static void cg_path(char *out, size_t size, const char *hier, const char *id, const char *file)
{
	snprintf(out, size, CG_ROOT "%s%s/minirun%s%s%s%s", *hier ? "/" : "", hier, id ? "/" : "",
		 id ? id : "", file ? "/" : "", file ? file : "");
}

/* The folders minirun/ and minirun/ID of a hierarchy ("" for v2; one there
 * already is fine: cpu and cpuacct are often one hierarchy under two names);
 * path (160 bytes) receives the latter. */
static int cg_make(const char *hier, const char *id, char *path, struct mr_err *err)
{
	cg_path(path, 160, hier, NULL, NULL);
	mkdir(path, 0755);
	cg_path(path, 160, hier, id, NULL);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return mr_err_sys(err, "cgroup %s", path);
	return 0;
}

/* Write len bytes of val into the cgroup file at path; the error names
 * both. Also the OCI mode's, at its cgroupsPath ([20b]). */
static int cg_write_path(const char *path, const char *val, size_t len, struct mr_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || util_write_all(fd, val, len) < 0) {
		mr_err_sys(err, "cgroup: write %.*s to %s", (int)len, val, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int cg_write(const char *hier, const char *id, const char *file, const char *val,
		    struct mr_err *err)
{
	char path[160];
	cg_path(path, sizeof path, hier, id, file);
	return cg_write_path(path, val, strlen(val), err);
}

/* Read the value after "key " in a cgroup file (or the first number when key
 * is NULL); 0 on success. */
static int cg_read_u64(const char *hier, const char *id, const char *file, const char *key,
		       uint64_t *out)
{
	char path[160], buf[4096], *p;
	cg_path(path, sizeof path, hier, id, file);
	if (ctr_read_small(AT_FDCWD, path, 0, buf, sizeof buf) <= 0)
		return -1;
	p = buf;
	if (key) {
		size_t k = strlen(key);
		for (; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (!strncmp(p, key, k) && p[k] == ' ')
				break;
		if (!p)
			return -1;
		p += k + 1;
	}
	if (!strncmp(p, "max", 3)) {
		*out = UINT64_MAX;
		return 0;
	}
	*out = strtoull(p, NULL, 10);
	return 0;
}

/* Enable the controllers ctrls ("+cpu\0+pids\0") for the children of the
 * cgroup2 folder dir, one write each: one the kernel lacks, or one already
 * on, fails alone. Also the OCI mode's, down its cgroupsPath ([20b]). */
static void cg_enable(const char *dir, const char *ctrls)
{
	char path[MINIRUN_MAX_PATH + 32];
	int fd;
	snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	for (; fd >= 0 && *ctrls; ctrls += strlen(ctrls) + 1)
		if (write(fd, ctrls, strlen(ctrls)) < 0) {
			/* not there, or not allowed */
		}
	if (fd >= 0)
		close(fd);
}

#if MINIRUN_WITH_CGROUPS
/* The hierarchies a container may have folders in (v1): controller folders,
 * then the tracking one. */
static const char cg_v1_dirs[] = "memory\0cpu\0cpuacct\0pids\0devices\0unified\0";

/* ---- devices: the policy in the kernel ----
 * On cgroup2 (v2, and the tracking hierarchy of a hybrid) a program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE on the container's folder, as crun and runc do:
 * in place before the first process is born into the folder, no cgroup move
 * (the v1 devices controller would cost one, 5-10 ms), and `exec`ed
 * processes join it. v1 alone: the devices controller. */

/* The program: r2 = type, r3 = access, r4 = major, r5 = minor; then per rule
 * the tests that jump to the next rule when they fail, and "return 1" (or 0
 * for a deny rule): the first rule that matches decides; last "return 0". */
static size_t dev_bpf_program(const struct dev_rule *r, size_t n, struct bpf_insn *p)
{
	size_t k = 0, i;
#define DEV_INSN(c, d, sr, o, im) \
	(p[k].code = (c), p[k].dst_reg = (d), p[k].src_reg = (sr), p[k].off = (short)(o), \
	 p[k].imm = (im), k++)
	DEV_INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0);     /* access_type */
	DEV_INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0);
	DEV_INSN(BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 16);  /* access: upper half */
	DEV_INSN(BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff); /* type: lower half */
	DEV_INSN(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0);     /* major */
	DEV_INSN(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0);     /* minor */
	for (i = 0; i < n; i++) {
		size_t next = k + 2 + (r[i].type != 'a') + (r[i].access != 7 ? 3 : 0) +
			      (r[i].major >= 0) + (r[i].minor >= 0);
		if (r[i].type != 'a')
			DEV_INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, next - k - 1,
				 r[i].type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
		if (r[i].access != 7) {       /* a bit asked for that the rule lacks */
			DEV_INSN(BPF_ALU64 | BPF_MOV | BPF_X, 0, 3, 0, 0);
			DEV_INSN(BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, ~r[i].access & 7);
			DEV_INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, next - k - 1, 0);
		}
		if (r[i].major >= 0)
			DEV_INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, next - k - 1, r[i].major);
		if (r[i].minor >= 0)
			DEV_INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, next - k - 1, r[i].minor);
		DEV_INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, !r[i].deny);
		DEV_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		if (r[i].type == 'a' && r[i].access == 7 && r[i].major < 0 && r[i].minor < 0)
			return k;                 /* it matches all: what follows would be
						   * unreachable, which the verifier refuses */
	}
	DEV_INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
	DEV_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
#undef DEV_INSN
	return k;
}

/* The program of these rules, loaded into the kernel: its fd, or -1. */
static int dev_bpf_load(const struct dev_rule *r, size_t n)
{
	struct bpf_insn *prog = util_xcalloc(8 + 10 * n, sizeof *prog);
	union bpf_attr a;
	int fd;
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insn_cnt = (uint32_t)dev_bpf_program(r, n, prog);
	a.insns = (uint64_t)(uintptr_t)prog;
	a.license = (uint64_t)(uintptr_t)"GPL";
	fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
	free(prog);
	return fd;
}

/* Load the program and attach it to a cgroup2 folder (with ALLOW_MULTI: a
 * program above, systemd's, still has its say). The folder keeps it. */
static int dev_bpf_attach(const char *dir, const struct dev_rule *r, size_t n, struct mr_err *err)
{
	union bpf_attr a;
	int pfd = dev_bpf_load(r, n), dfd, rc = -1;
	if (pfd < 0)
		return mr_err_sys(err, "device policy: load the BPF program");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	memset(&a, 0, sizeof a);
	a.target_fd = (uint32_t)dfd;
	a.attach_bpf_fd = (uint32_t)pfd;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (dfd < 0 || syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof a) < 0)
		mr_err_sys(err, "device policy: attach to %s", dir);
	else
		rc = 0;
	if (dfd >= 0)
		close(dfd);
	close(pfd);
	return rc;
}

/* A rule as the v1 controller's devices.allow/deny take it: "c 1:3 rwm";
 * "a" for everything (the controller reads any "a" rule so, and resets its
 * list to allow or deny all). */
static void dev_v1_line(const struct dev_rule *r, char *line, size_t size)
{
	char num[2][12], acc[4];
	int j, v[2];
	v[0] = r->major;
	v[1] = r->minor;
	for (j = 0; j < 2; j++)
		if (v[j] < 0)
			strcpy(num[j], "*");
		else
			snprintf(num[j], sizeof num[j], "%d", v[j]);
	if (r->type == 'a' && v[0] < 0 && v[1] < 0 && r->access == (DEV_R | DEV_W | DEV_M))
		snprintf(line, size, "a");
	else
		snprintf(line, size, "%c %s:%s %s", r->type, num[0], num[1], dev_access_str(r->access, acc));
}

/* v1: devices.deny "a", then one devices.allow line per rule. */
static int dev_v1_apply(const char *id, const struct dev_rule *r, size_t n, struct mr_err *err)
{
	char path[160], line[48];
	size_t i;
	if (cg_make("devices", id, path, err) < 0)
		return -1;
	if (cg_write("devices", id, "devices.deny", "a", err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		dev_v1_line(&r[i], line, sizeof line);
		if (cg_write("devices", id, "devices.allow", line, err) < 0)
			return -1;
	}
	return 0;
}

/* What holds the device policy here (for info): the default program is
 * loaded (not attached) to see whether the kernel takes it. */
static const char *dev_policy_kind(void)
{
	int fd = cg_v2_hier() ? dev_bpf_load(dev_default_rules, sizeof dev_default_rules /
					     sizeof dev_default_rules[0]) : -1;
	if (fd >= 0) {
		close(fd);
		return "cgroup2 BPF program";
	}
	if (cg_version() == 1 && cg_is_mounted("devices"))
		return "cgroup v1 devices controller";
	return "none: roots, volumes and binds mounted nodev";
}

/* The container's device policy, on cgroup2 if there is one, else on the v1
 * devices controller. 1 when neither is available (the caller then mounts
 * nodev), 0 when in place. */
static int dev_policy_apply(const char *id, const struct dev_rule *r, size_t n)
{
	char path[160];
	struct mr_err ignored;
	const char *h = cg_v2_hier();
	if (h) {
		cg_path(path, sizeof path, h, id, NULL);
		if (dev_bpf_attach(path, r, n, &ignored) == 0)
			return 0;
	}
	if (cg_version() == 1 && cg_is_mounted("devices") && dev_v1_apply(id, r, n, &ignored) == 0)
		return 0;
	return 1;
}

/* Does the container need a folder in v1 hierarchy h? */
static int cg_v1_wanted(const struct ctr *c, const char *h)
{
	switch (h[0]) {
	case 'm': return c->memory != 0;
	case 'p': return c->pids_limit > 0;
	case 'u': return 1;
	default: return !strcmp(h, "cpu") && c->nano_cpus != 0;
	}
}

/* v2: make the controllers we use available to minirun/ and its children. */
static void cg_v2_enable(void)
{
	static const char ctrls[] = "+cpu\0+memory\0+pids\0";
	char path[64];
	cg_enable(CG_ROOT, ctrls);
	cg_path(path, sizeof path, "", NULL, NULL);
	cg_enable(path, ctrls);
}

/* v1: the controller a flag needs must be mounted. */
static int cg_v1_need(const char *flag, const char *ctrl, struct mr_err *err)
{
	if (cg_is_mounted(ctrl))
		return 0;
	return mr_err_set(err, ENOTSUP, "%s: the %s cgroup controller is not mounted (" CG_ROOT
			  "/%s)", flag, ctrl, ctrl);
}

/* v2: a limit the kernel refused names its controller. */
static int cg_v2_missing(const char *flag, const char *ctrl, struct mr_err *err)
{
	return mr_err_ctx(err, "%s: the %s controller is not available", flag, ctrl);
}

/* Create the container's cgroups, put the device policy (rules, none for
 * --privileged) in place and write its limits. A limit whose controller is
 * missing is an error naming it. 1 when the device policy could not be put
 * in place (the caller mounts nodev instead), else 0, or -1. */
static int cg_create(const struct ctr *c, const struct dev_rule *rules, size_t nrules,
		     struct mr_err *err)
{
	char path[160], val[64];
	const char *h;
	uint64_t memsw = 0;
	int v = cg_version(), nodev = 0;
	if (v == 0) {
		if (c->memory || c->nano_cpus || c->pids_limit > 0)
			return mr_err_set(err, ENOTSUP, "resource limits need cgroups, and no cgroup "
					  "filesystem is mounted at " CG_ROOT);
		return rules != NULL;
	}
	if (c->memory) {
		memsw = c->memory_swap > 0 ? (uint64_t)c->memory_swap :
			c->memory_swap < 0 ? UINT64_MAX : 2 * (uint64_t)c->memory;
	}
	if (v == 2) {
		cg_path(path, sizeof path, "", NULL, NULL);
		mkdir(path, 0755);
		cg_v2_enable();
		cg_path(path, sizeof path, "", c->id, NULL);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return mr_err_sys(err, "cgroup %s", path);
		if (rules)
			nodev = dev_policy_apply(c->id, rules, nrules);
		if (c->memory) {
			snprintf(val, sizeof val, "%lld", (long long)c->memory);
			if (cg_write("", c->id, "memory.max", val, err) < 0)
				return cg_v2_missing("--memory", "memory", err);
			if (memsw == UINT64_MAX)
				strcpy(val, "max");
			else
				snprintf(val, sizeof val, "%llu", (unsigned long long)(memsw - (uint64_t)c->memory));
			cg_write("", c->id, "memory.swap.max", val, err);
		}
		if (c->nano_cpus) {
			snprintf(val, sizeof val, "%lld 100000", (long long)(c->nano_cpus / 10000));
			if (cg_write("", c->id, "cpu.max", val, err) < 0)
				return cg_v2_missing("--cpus", "cpu", err);
		}
		if (c->pids_limit > 0) {
			snprintf(val, sizeof val, "%lld", (long long)c->pids_limit);
			if (cg_write("", c->id, "pids.max", val, err) < 0)
				return cg_v2_missing("--pids-limit", "pids", err);
		}
		return nodev;
	}
	for (h = cg_v1_dirs; *h; h += strlen(h) + 1) {
		if (cg_v1_wanted(c, h) && cg_is_mounted(h) && cg_make(h, c->id, path, err) < 0)
			return -1;
	}
	if (rules)
		nodev = dev_policy_apply(c->id, rules, nrules);
	if (c->memory) {
		if (cg_v1_need("--memory", "memory", err) < 0)
			return -1;
		snprintf(val, sizeof val, "%lld", (long long)c->memory);
		if (cg_write("memory", c->id, "memory.limit_in_bytes", val, err) < 0)
			return -1;
		snprintf(val, sizeof val, "%lld", memsw == UINT64_MAX ? -1LL : (long long)memsw);
		cg_path(path, sizeof path, "memory", c->id, "memory.memsw.limit_in_bytes");
		if (access(path, F_OK) == 0) {
			if (cg_write("memory", c->id, "memory.memsw.limit_in_bytes", val, err) < 0)
				return -1;
		} else if (c->memory_swap) {
			fprintf(stderr, "WARNING: Your kernel does not support swap limit capabilities "
				"or the cgroup is not mounted. Memory limited without swap.\n");
		}
	}
	if (c->nano_cpus) {
		if (cg_v1_need("--cpus", "cpu", err) < 0)
			return -1;
		snprintf(val, sizeof val, "%lld", (long long)(c->nano_cpus / 10000));
		if (cg_write("cpu", c->id, "cpu.cfs_period_us", "100000", err) < 0 ||
		    cg_write("cpu", c->id, "cpu.cfs_quota_us", val, err) < 0)
			return -1;
	}
	if (c->pids_limit > 0) {
		if (cg_v1_need("--pids-limit", "pids", err) < 0)
			return -1;
		snprintf(val, sizeof val, "%lld", (long long)c->pids_limit);
		if (cg_write("pids", c->id, "pids.max", val, err) < 0)
			return -1;
	}
	return nodev;
}

/* Open the cgroup.procs files of the container (to join: write "0", or a
 * pid). Returns how many. */
static int cg_open_procs(const char *id, int *fds, int max)
{
	char path[160];
	const char *h;
	int n = 0;
	if (cg_version() == 2) {
		cg_path(path, sizeof path, "", id, "cgroup.procs");
		if ((fds[0] = open(path, O_WRONLY | O_CLOEXEC)) >= 0)
			n = 1;
		return n;
	}
	for (h = cg_v1_dirs; *h && n < max; h += strlen(h) + 1) {
		cg_path(path, sizeof path, h, id, "cgroup.procs");
		if ((fds[n] = open(path, O_WRONLY | O_CLOEXEC)) >= 0)
			n++;
	}
	return n;
}

/* The container's cgroup2 folder (v2, or the tracking one of a hybrid) as
 * an fd for clone3's CLONE_INTO_CGROUP; -1 if there is none. */
static int cg_v2_fd(const char *id)
{
	char path[160];
	const char *h = cg_v2_hier();
	if (!h)
		return -1;
	cg_path(path, sizeof path, h, id, NULL);
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Move pid into the container's cgroups (but the cgroup2 one when clone3
 * already placed it there). */
static int cg_attach(const char *id, pid_t pid, int in_v2, struct mr_err *err)
{
	char path[160], val[16];
	const char *h;
	int rc = 0, v = cg_version();
	snprintf(val, sizeof val, "%d", (int)pid);
	for (h = v == 2 ? "" : cg_v1_dirs; v && !rc; h += strlen(h) + 1) {
		int fd;
		if (!(in_v2 && (v == 2 || !strcmp(h, "unified")))) {
			cg_path(path, sizeof path, h, id, "cgroup.procs");
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0 && util_write_all(fd, val, strlen(val)) < 0)
				rc = mr_err_sys(err, "join cgroup %s", path);
			if (fd >= 0)
				close(fd);
		}
		if (v == 2 || !h[strlen(h) + 1])
			break;
	}
	return rc;
}

/* --pid host: the processes the init leaves behind (nothing ends them with
 * a PID namespace) are killed through the tracking cgroup: cgroup.kill
 * (5.14), else SIGKILL to each pid listed, until none is left. */
static void cg_kill_rest(const char *id)
{
	char path[160], buf[4096];
	struct mr_err ignored;
	int round;
	const char *h = cg_v2_hier();
	if (!h || cg_write(h, id, "cgroup.kill", "1", &ignored) == 0)
		return;
	cg_path(path, sizeof path, h, id, "cgroup.procs");
	for (round = 0; round < 50; round++) {
		char *p;
		if (ctr_read_small(AT_FDCWD, path, 0, buf, sizeof buf) <= 0)
			return;
		for (p = buf; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
			if (atoi(p) > 1)
				kill(atoi(p), SIGKILL);
		usleep(2000);
	}
}

/* Did the kernel's OOM killer act in the container's cgroup? */
static int cg_oom_killed(const char *id)
{
	uint64_t n = 0;
	if (cg_version() == 2)
		return cg_read_u64("", id, "memory.events", "oom_kill", &n) == 0 && n > 0;
	return cg_read_u64("memory", id, "memory.oom_control", "oom_kill", &n) == 0 && n > 0;
}

/* Remove the container's cgroups (its processes are exiting: retry a busy
 * folder for a little while). */
static void cg_remove(const char *id)
{
	char path[160];
	const char *h;
	int v = cg_version(), tries;
	if (v == 0)
		return;
	for (h = v == 2 ? "" : cg_v1_dirs; ; h += strlen(h) + 1) {
		cg_path(path, sizeof path, h, id, NULL);
		for (tries = 0; rmdir(path) < 0 && errno == EBUSY && tries < 200; tries++)
			usleep(1000);
		if (v == 2 || !h[strlen(h) + 1])
			break;
	}
}

/* /sys/fs/cgroup in the container, read-only (read-write with --privileged),
 * as Docker 20.10 shows it, so that programs read their limits there (JVMs,
 * Go and Node runtimes): v2, cgroup2 mounted from inside the container's
 * cgroup namespace, whose root is the container's own folder; v1 and hybrid
 * (where Docker keeps the host's cgroup namespace): a tmpfs holding, at its
 * name, a read-only bind of each hierarchy's folder of the container (memory
 * with --memory, cpu with --cpus, pids with --pids-limit, unified on a
 * hybrid: Docker shows every hierarchy, minirun makes only these folders). */
static int cg_mount_in(const struct ctr_spawn *sp, struct mr_err *err)
{
	unsigned long ro = sp->c->privileged ? 0 : MS_RDONLY, fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char src[160], at[40];
	const char *h;
	struct stat sb;
	int v = cg_version();
	if (v == 2)
		return mount_in_root(sp->rootfd, "sys/fs/cgroup", 'd', "cgroup", "cgroup2", fl | ro,
				     NULL, err);
	if (v == 0)
		return 0;
	if (mount_in_root(sp->rootfd, "sys/fs/cgroup", 'd', "tmpfs", "tmpfs", fl, "mode=755", err) < 0)
		return -1;
	/* the tmpfs itself stays writable, as Docker 20.10's (seen on this
	 * hybrid host with a private dockerd) */
	for (h = cg_v1_dirs; *h; h += strlen(h) + 1) {
		cg_path(src, sizeof src, h, sp->c->id, NULL);
		if (!cg_is_mounted(h) || stat(src, &sb) < 0)
			continue;
		snprintf(at, sizeof at, "sys/fs/cgroup/%s", h);
		if (mount_in_root(sp->rootfd, at, 'd', src, NULL, MS_BIND | fl | ro, NULL, err) < 0)
			return -1;
	}
	return 0;
}
#else
static int cg_mount_in(const struct ctr_spawn *sp, struct mr_err *err)
{
	(void)sp; (void)err;
	return 0;
}
static int cg_create(const struct ctr *c, const struct dev_rule *rules, size_t nrules,
		     struct mr_err *err)
{
	(void)nrules;
	if (c->memory || c->nano_cpus || c->pids_limit > 0)
		return mr_err_set(err, MR_EDISABLED, "resource limits: built without "
				  "MINIRUN_WITH_CGROUPS");
	return rules != NULL;
}
static int cg_open_procs(const char *id, int *fds, int max)
{
	(void)id; (void)fds; (void)max;
	return 0;
}
static int cg_v2_fd(const char *id)
{
	(void)id;
	return -1;
}
static int cg_attach(const char *id, pid_t pid, int in_v2, struct mr_err *err)
{
	(void)id; (void)pid; (void)in_v2; (void)err;
	return 0;
}
static int cg_oom_killed(const char *id)
{
	(void)id;
	return 0;
}
static void cg_kill_rest(const char *id)
{
	(void)id;
}
static const char *dev_policy_kind(void)
{
	return "none (built without MINIRUN_WITH_CGROUPS): roots, volumes and binds mounted nodev";
}
static void cg_remove(const char *id)
{
	(void)id;
}
#endif

/* The pids in a cgroup.procs file (none when it cannot be read); malloc'ed.
 * Also the OCI mode's, at its cgroupsPath ([20b]). */
static pid_t *cg_procs(const char *path, size_t *count)
{
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	pid_t *pids = NULL;
	size_t n = 0;
	char *p;
	if (mr_read_file(AT_FDCWD, path, &b, 1 << 20, &ignored) < 0)
		mr_buf_free(&b);
	for (p = b.data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		pids = util_xrealloc(pids, (n + 1) * sizeof *pids);
		pids[n++] = (pid_t)atoi(p);
	}
	mr_buf_free(&b);
	*count = n;
	return pids;
}

/* The processes of a container: its tracking cgroup (it holds `exec`ed
 * processes too), else every process in the init's PID namespace. Returns a
 * malloc'ed array. */
static pid_t *cg_pids(const char *id, pid_t init, size_t *count)
{
	char path[160], ns[64], other[64];
	const char *h = cg_v2_hier() ? cg_v2_hier() : "pids";
	pid_t *pids = NULL;
	size_t n = 0;
	ssize_t r;
	cg_path(path, sizeof path, h, id, "cgroup.procs");
	if (cg_version())
		pids = cg_procs(path, &n);
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)init);
	if (!n && init > 0 && (r = readlink(path, ns, sizeof ns - 1)) > 0) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		ns[r] = 0;
		while (d && (de = readdir(d)) != NULL) {
			ssize_t k;
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof path, "/proc/%s/ns/pid", de->d_name);
			k = readlink(path, other, sizeof other - 1);
			if (k == r && !memcmp(ns, other, (size_t)k)) {
				pids = util_xrealloc(pids, (n + 1) * sizeof *pids);
				pids[n++] = (pid_t)atoi(de->d_name);
			}
		}
		if (d)
			closedir(d);
	}
	*count = n;
	return pids;
}
