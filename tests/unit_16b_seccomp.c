/* Unit tests of section [16b] SECCOMP: profiles compiled for every arch's
 * table (unit.c defines SECCOMP_ALL_ARCHES) and run in a small BPF
 * interpreter on made-up seccomp_data; then one profile against the kernel. */

#if MINIRUN_WITH_SECCOMP_PROFILE
enum { T_X86_64 = 0, T_X86 = 1, T_AARCH64 = 3, T_ARM = 4, T_MIPS = 5 };

/* The kernel's checks of a filter (every jump in range, loads aligned and
 * inside seccomp_data, ends in a return) and its run on one call: the
 * verdict, or 0xdead0000 + reason for a program the kernel would refuse. */
static uint32_t t_sc_run(const struct seccomp_prog *p, uint32_t arch, uint32_t nr, const uint64_t *args)
{
	struct seccomp_data d;
	uint32_t acc = 0;
	unsigned pc = 0;
	memset(&d, 0, sizeof d);
	d.arch = arch;
	d.nr = (int)nr;
	if (args)
		memcpy(d.args, args, sizeof d.args);
	if (!p->len || p->len > 4096 || BPF_CLASS(p->insn[p->len - 1].code) != BPF_RET)
		return 0xdead0001;
	while (pc < p->len) {
		const struct sock_filter *f = &p->insn[pc++];
		unsigned jump = 0;
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k % 4 || f->k >= sizeof d)
				return 0xdead0002;
			memcpy(&acc, (const char *)&d + f->k, 4);
			break;
		case BPF_ALU | BPF_AND | BPF_K: acc &= f->k; break;
		case BPF_JMP | BPF_JA: jump = f->k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: jump = acc == f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGT | BPF_K: jump = acc > f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: jump = acc >= f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: jump = (acc & f->k) ? f->jt : f->jf; break;
		case BPF_RET | BPF_K: return f->k;
		default: return 0xdead0003;
		}
		if (jump >= p->len - pc)
			return 0xdead0004;
		pc += jump;
	}
	return 0xdead0005;
}

/* Compile text for an arch: 0, or -1 with err. */
static int t_sc_compile(const char *text, int arch, uint64_t caps, struct seccomp_prog *p, struct mr_err *err)
{
	struct mr_json_doc doc;
	int rc;
	memset(p, 0, sizeof *p);
	if (mr_json_parse(&doc, text, strlen(text), err) < 0)
		return -1;
	rc = seccomp_compile(doc.root, arch, caps, 1, p, err);
	mr_json_free(&doc);
	return rc;
}

static uint32_t t_sc_nr(const char *name, int arch)
{
	return (uint32_t)seccomp_nr(name, arch);
}

/* The reference of each op, on 64 bits or on the low word. */
static int t_sc_ref(int op, uint64_t a, uint64_t v, uint64_t two, int wide)
{
	if (!wide)
		a = (uint32_t)a, v = (uint32_t)v, two = (uint32_t)two;
	switch (op) {
	case SECCOMP_OP_NE: return a != v;
	case SECCOMP_OP_LT: return a < v;
	case SECCOMP_OP_LE: return a <= v;
	case SECCOMP_OP_EQ: return a == v;
	case SECCOMP_OP_GE: return a >= v;
	case SECCOMP_OP_GT: return a > v;
	default: return (a & v) == two;
	}
}

static void test_seccomp_ops(void)
{
	static const char *ops[] = { "NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ" };
	static const uint64_t vals[] = { 0, 4, 5, 6, 0xffffffffu, 0x100000004ull, 0x100000005ull,
					 0x100000006ull, 0x200000000ull, 0x1ffffffffull, ~0ull };
	static const int arches[] = { T_X86_64, T_X86 };
	const uint32_t deny = SECCOMP_RET_ERRNO | 38;
	int op, bad = 0, ai;
	size_t i, j;
	char text[512];
	struct seccomp_prog p;
	struct mr_err err;
	for (op = 0; op < 7; op++)
		for (j = 0; j < 2; j++) {
			/* arg 3, a 64-bit value; MASKED_EQ: mask value, expected valueTwo */
			uint64_t v = j ? 0x100000005ull : 5, two = j ? 0x100000004ull : 4;
			snprintf(text, sizeof text, "{\"defaultAction\":\"SCMP_ACT_ALLOW\","
				 "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
				 "\"syscalls\":[{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\","
				 "\"errnoRet\":38,\"args\":[{\"index\":3,\"value\":%llu,\"valueTwo\":%llu,"
				 "\"op\":\"SCMP_CMP_%s\"}]}]}", (unsigned long long)v,
				 (unsigned long long)two, ops[op]);
			if (t_sc_compile(text, T_X86_64, 0, &p, &err) < 0) {
				printf("  %s: %s\n", ops[op], err.msg);
				bad++;
				continue;
			}
			for (ai = 0; ai < 2; ai++)
				for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
					uint64_t args[6] = { 0, 0, 0, vals[i], 0, 0 };
					int wide = arches[ai] == T_X86_64;
					uint32_t want = t_sc_ref(op, vals[i], v, two, wide) ? deny : SECCOMP_RET_ALLOW;
					uint32_t got = t_sc_run(&p, seccomp_arches[arches[ai]].audit,
								t_sc_nr("personality", arches[ai]), args);
					if (got != want) {
						printf("  SCMP_CMP_%s %#llx (%#llx) on %s: %#x, want %#x\n", ops[op],
						       (unsigned long long)vals[i], (unsigned long long)v,
						       seccomp_arches[arches[ai]].name, got, want);
						bad++;
					}
				}
			seccomp_prog_free(&p);
		}
	CHECK(bad == 0);
}

static void test_seccomp_rules(void)
{
	struct seccomp_prog p;
	struct mr_err err;
	uint64_t a[6] = { 0 };
	const uint32_t allow = SECCOMP_RET_ALLOW, x86_64 = AUDIT_ARCH_X86_64;
	static const int arches[] = { T_X86_64, T_X86, T_AARCH64, T_ARM, T_MIPS };
	size_t i;

	/* openat's number differs on each arch; the profile follows the arch */
	CHECK(t_sc_nr("openat", T_X86_64) == 257 && t_sc_nr("openat", T_X86) == 295 &&
	      t_sc_nr("openat", T_AARCH64) == 56 && t_sc_nr("openat", T_ARM) == 322 &&
	      t_sc_nr("openat", T_MIPS) == 4288);
	{
		const char *q = seccomp_names;
		char n[32], prev[32] = "";
		int sorted = 1, count = 0;
		while (seccomp_name_next(&q, n)) {
			sorted &= strcmp(prev, n) < 0;
			strcpy(prev, n);
			count++;
		}
		CHECK(sorted && count == SECCOMP_NAMES && !strcmp(prev, "writev"));
	}
	CHECK(seccomp_nr("open", T_AARCH64) == -1 && seccomp_nr("cacheflush", T_ARM) == 0x0f0002);
	for (i = 0; i < sizeof arches / sizeof arches[0]; i++) {
		int x = arches[i];
		uint32_t au = seccomp_arches[x].audit;
		CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
				   "{\"names\":[\"no_such_call\",\"openat\"],\"action\":\"SCMP_ACT_ERRNO\"},"
				   "{\"names\":[\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}",
				   x, 0, &p, &err) == 0);
		CHECK(t_sc_run(&p, au, t_sc_nr("openat", x), a) == (SECCOMP_RET_ERRNO | EPERM));
		CHECK(t_sc_run(&p, au, t_sc_nr("mkdirat", x), a) == (SECCOMP_RET_ERRNO | EACCES));
		CHECK(t_sc_run(&p, au, t_sc_nr("getpid", x), a) == allow);
		/* another arch (not listed): killed, libseccomp's "bad arch" */
		CHECK(t_sc_run(&p, au ^ 0x80000000, t_sc_nr("openat", x), a) == SECCOMP_RET_KILL_THREAD);
		seccomp_prog_free(&p);
	}
	/* aarch64's profile denies 56 (its openat), not x86_64's 257 */
	CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"openat\"],"
			   "\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}", T_AARCH64, 0, &p, &err) == 0);
	CHECK(t_sc_run(&p, AUDIT_ARCH_AARCH64, 56, a) == SECCOMP_RET_KILL_PROCESS);
	CHECK(t_sc_run(&p, AUDIT_ARCH_AARCH64, 257, a) == allow);
	seccomp_prog_free(&p);

	/* compat arches: x86 and x32 on x86_64 as listed (archMap, Docker's form) */
	CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":"
			   "\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]},"
			   "{\"architecture\":\"SCMP_ARCH_AARCH64\",\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],"
			   "\"syscalls\":[{\"names\":[\"getpid\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
			   T_X86_64, 0, &p, &err) == 0);
	CHECK(t_sc_run(&p, x86_64, 39, a) == allow && t_sc_run(&p, x86_64, 1, a) == allow);
	CHECK(t_sc_run(&p, x86_64, 2, a) == (SECCOMP_RET_ERRNO | EPERM));
	CHECK(t_sc_run(&p, AUDIT_ARCH_I386, 20, a) == allow);                 /* i386 getpid */
	CHECK(t_sc_run(&p, AUDIT_ARCH_I386, 39, a) == (SECCOMP_RET_ERRNO | EPERM));
	CHECK(t_sc_run(&p, x86_64, 39 | 0x40000000, a) == allow);              /* x32 getpid */
	CHECK(t_sc_run(&p, x86_64, 2 | 0x40000000, a) == (SECCOMP_RET_ERRNO | EPERM));
	CHECK(t_sc_run(&p, x86_64, 514 | 0x40000000, a) == (SECCOMP_RET_ERRNO | EPERM));
	CHECK(t_sc_run(&p, AUDIT_ARCH_ARM, 20, a) == SECCOMP_RET_KILL_THREAD); /* not this kernel's */
	seccomp_prog_free(&p);
	/* x86 not listed: its calls are killed; x32 not listed: killed too */
	CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\"]}",
			   T_X86_64, 0, &p, &err) == 0);
	CHECK(t_sc_run(&p, x86_64, 39, a) == allow);
	CHECK(t_sc_run(&p, AUDIT_ARCH_I386, 20, a) == SECCOMP_RET_KILL_THREAD);
	CHECK(t_sc_run(&p, x86_64, 39 | 0x40000000, a) == SECCOMP_RET_KILL_THREAD);
	CHECK(t_sc_run(&p, x86_64, 0xffffffff, a) == allow);   /* -1: the default, as libseccomp */
	seccomp_prog_free(&p);

	/* several rules for a name: the first that holds decides, in profile order;
	 * a rule with the default verdict adds nothing (runc) */
	CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
			   "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,"
			   "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]},"
			   "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\","
			   "\"args\":[{\"index\":0,\"value\":7,\"op\":\"SCMP_CMP_EQ\"}]},"
			   "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_TRAP\","
			   "\"args\":[{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_GE\"},"
			   "{\"index\":1,\"value\":9,\"op\":\"SCMP_CMP_EQ\"}]},"
			   "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":3},"
			   "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":4}]}",
			   T_X86_64, 0, &p, &err) == 0);
	a[0] = 1;
	CHECK(t_sc_run(&p, x86_64, 135, a) == (SECCOMP_RET_ERRNO | 1));
	a[0] = 5, a[1] = 9;
	CHECK(t_sc_run(&p, x86_64, 135, a) == SECCOMP_RET_TRAP);      /* both args hold */
	a[1] = 8;
	CHECK(t_sc_run(&p, x86_64, 135, a) == (SECCOMP_RET_ERRNO | 3));
	a[0] = 7;
	CHECK(t_sc_run(&p, x86_64, 135, a) == (SECCOMP_RET_ERRNO | 3)); /* ALLOW rule dropped */
	CHECK(t_sc_run(&p, x86_64, 39, a) == allow);
	seccomp_prog_free(&p);

	/* Docker's includes/excludes: caps from the bounding set, arches */
	{
		static const char prof[] = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
			"{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
			"{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
			"{\"names\":[\"arch_prctl\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"amd64\",\"x32\"]}},"
			"{\"names\":[\"write\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"arches\":[\"amd64\"]}},"
			"{\"names\":[\"read\"],\"action\":\"SCMP_ACT_LOG\",\"includes\":{\"minKernel\":\"3.10\"}},"
			"{\"names\":[\"close\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"99.0\"}}]}";
		const uint32_t no = SECCOMP_RET_ERRNO | EPERM;
		CHECK(t_sc_compile(prof, T_X86_64, 1ull << CAP_SYS_ADMIN, &p, &err) == 0);
		CHECK(t_sc_run(&p, x86_64, 165, a) == allow && t_sc_run(&p, x86_64, 39, a) == no);
		CHECK(t_sc_run(&p, x86_64, 158, a) == allow && t_sc_run(&p, x86_64, 1, a) == no);
		CHECK(t_sc_run(&p, x86_64, 0, a) == SECCOMP_RET_LOG && t_sc_run(&p, x86_64, 3, a) == no);
		seccomp_prog_free(&p);
		CHECK(t_sc_compile(prof, T_AARCH64, 0, &p, &err) == 0);
		CHECK(t_sc_run(&p, AUDIT_ARCH_AARCH64, 40, a) == no);          /* mount */
		CHECK(t_sc_run(&p, AUDIT_ARCH_AARCH64, 172, a) == allow);      /* getpid */
		CHECK(t_sc_run(&p, AUDIT_ARCH_AARCH64, 64, a) == allow);       /* write */
		seccomp_prog_free(&p);
	}

	/* flags; TRACE carries errnoRet; LOG where the kernel lacks it: an error (runc) */
	{
		struct mr_json_doc doc;
		static const char prof[] = "{\"defaultAction\":\"SCMP_ACT_LOG\",\"flags\":["
			"\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_TSYNC\"],\"syscalls\":[{\"names\":"
			"[\"read\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":5}]}";
		CHECK(mr_json_parse(&doc, prof, sizeof prof - 1, &err) == 0);
		CHECK(seccomp_compile(doc.root, T_X86_64, 0, 1, &p, &err) == 0 &&
		      p.flags == (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_TSYNC));
		CHECK(t_sc_run(&p, x86_64, 39, a) == SECCOMP_RET_LOG && t_sc_run(&p, x86_64, 0, a) == (SECCOMP_RET_TRACE | 5));
		seccomp_prog_free(&p);
		CHECK(seccomp_compile(doc.root, T_X86_64, 0, 0, &p, &err) < 0 && strstr(err.msg, "SCMP_ACT_LOG: this kernel cannot log"));
		mr_json_free(&doc);
	}

	/* errors name what they refuse */
	CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_NOPE\"}", T_X86_64, 0, &p, &err) < 0 &&
	      strstr(err.msg, "unknown action \"SCMP_ACT_NOPE\""));
	CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
			   "\"action\":\"SCMP_ACT_NOTIFY\"}]}", T_X86_64, 0, &p, &err) < 0 &&
	      strstr(err.msg, "SCMP_ACT_NOTIFY"));
	CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
			   "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_XX\"}]}]}",
			   T_X86_64, 0, &p, &err) < 0 && strstr(err.msg, "unknown op \"SCMP_CMP_XX\""));
	CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_Z80\"]}",
			   T_X86_64, 0, &p, &err) < 0 && strstr(err.msg, "unknown architecture \"SCMP_ARCH_Z80\""));
	CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_X\"]}",
			   T_X86_64, 0, &p, &err) < 0 && strstr(err.msg, "unknown flag \"SECCOMP_FILTER_FLAG_X\""));
	/* arches a profile may name that cannot run here are accepted */
	CHECK(t_sc_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_S390X\","
			   "\"SCMP_ARCH_PPC64LE\"]}", T_X86_64, 0, &p, &err) == 0);
	seccomp_prog_free(&p);
}

/* Every name of the table in one profile: long runs (> 255), trampolines
 * over many conditional blocks; and a profile beyond 4096 instructions. */
static void test_seccomp_big(void)
{
	struct mr_buf b = { 0 };
	struct seccomp_prog p;
	struct mr_err err;
	const char *q;
	char n[32];
	int bad = 0, x, i;
	static const int arches[] = { T_X86_64, T_X86, T_AARCH64, T_ARM, T_MIPS };
	mr_buf_printf(&b, "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
		      "\"architectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\",\"SCMP_ARCH_ARM\"],\"syscalls\":[");
	for (i = 0, q = seccomp_names; seccomp_name_next(&q, n); i++) {
		if (i % 40 == 7)      /* some with a condition: allowed when arg1 < 100 */
			mr_buf_printf(&b, "%s{\"names\":[\"%s\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":"
				      "[{\"index\":1,\"value\":100,\"op\":\"SCMP_CMP_LT\"}]}", i ? "," : "", n);
		else
			mr_buf_printf(&b, "%s{\"names\":[\"%s\"],\"action\":\"SCMP_ACT_%s\"}", i ? "," : "", n,
				      i % 3 ? "ALLOW" : "LOG");
	}
	mr_buf_printf(&b, "]}");
	for (x = 0; x < 5; x++) {
		int arch = arches[x];
		if (t_sc_compile(b.data, arch, 0, &p, &err) < 0) {
			printf("  %s: %s\n", seccomp_arches[arch].name, err.msg);
			bad++;
			continue;
		}
		if (arch == T_X86_64)
			printf("  %d names: %u instructions (x86_64 with x86 and x32)\n", SECCOMP_NAMES, p.len);
		for (i = 0, q = seccomp_names; seccomp_name_next(&q, n); i++) {
			uint64_t args[6] = { 0, 99, 0, 0, 0, 0 };
			long nr = seccomp_nr(n, arch);
			uint32_t want = i % 40 == 7 ? SECCOMP_RET_ALLOW : i % 3 ? SECCOMP_RET_ALLOW : SECCOMP_RET_LOG;
			uint32_t au = seccomp_arches[arch].audit;
			if (nr < 0)
				continue;
			if (t_sc_run(&p, au, (uint32_t)nr, args) != want)
				bad++;
			args[1] = 100;
			if (i % 40 == 7 && t_sc_run(&p, au, (uint32_t)nr, args) != (SECCOMP_RET_ERRNO | 1))
				bad++;
		}
		if (t_sc_run(&p, seccomp_arches[arch].audit, 0x3fff, NULL) != (SECCOMP_RET_ERRNO | 1))
			bad++;
		seccomp_prog_free(&p);
	}
	CHECK(bad == 0 && i == SECCOMP_NAMES);
	mr_buf_free(&b);
	/* 6 conditions on each of 467 names: more than the kernel takes */
	mr_buf_printf(&b, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[");
	for (i = 0, q = seccomp_names; seccomp_name_next(&q, n); i++)
		mr_buf_printf(&b, "%s{\"names\":[\"%s\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
			      "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_GT\"},{\"index\":1,\"value\":1,\"op\":\"SCMP_CMP_GT\"},"
			      "{\"index\":2,\"value\":1,\"op\":\"SCMP_CMP_GT\"},{\"index\":3,\"value\":1,\"op\":\"SCMP_CMP_GT\"},"
			      "{\"index\":4,\"value\":1,\"op\":\"SCMP_CMP_GT\"},{\"index\":5,\"value\":1,\"op\":\"SCMP_CMP_GT\"}]}",
			      i ? "," : "", n);
	mr_buf_printf(&b, "]}");
	CHECK(t_sc_compile(b.data, T_X86_64, 0, &p, &err) < 0 && err.code == E2BIG &&
	      strstr(err.msg, "more than 4096 BPF instructions"));
	mr_buf_free(&b);
}

/* A real profile in Docker's format (containers-common's: Docker's list,
 * ENOSYS as its default, includes/excludes by caps; Debian's package
 * golang-github-containers-common): it compiles for every arch, within the
 * kernel's limit, with its verdicts. */
static void test_seccomp_docker(void)
{
	static const char path[] = "/usr/share/containers/seccomp.json";
	static const int arches[] = { T_X86_64, T_AARCH64, T_ARM, T_MIPS };
	struct mr_buf b = { 0 };
	struct seccomp_prog p;
	struct mr_err err;
	uint64_t a[6] = { 0 };
	size_t i;
	if (mr_read_file(AT_FDCWD, path, &b, 1 << 20, &err) < 0) {
		UNIT_SKIP("Docker-format profile: %s missing (apt-get install golang-github-containers-common)", path);
		return;
	}
	for (i = 0; i < sizeof arches / sizeof arches[0]; i++) {
		int x = arches[i];
		uint32_t au = seccomp_arches[x].audit;
		const uint32_t enosys = SECCOMP_RET_ERRNO | 38;     /* the profile's number, on every arch */
		if (t_sc_compile(b.data, x, ISOLATE_CAPS_DEFAULT, &p, &err) < 0) {
			printf("  %s: %s\n", seccomp_arches[x].name, err.msg);
			CHECK(0);
			continue;
		}
		printf("  %s: %s: %u instructions\n", path, seccomp_arches[x].name, p.len);
		CHECK(t_sc_run(&p, au, t_sc_nr("read", x), a) == SECCOMP_RET_ALLOW);
		CHECK(t_sc_run(&p, au, t_sc_nr("openat", x), a) == SECCOMP_RET_ALLOW);
		CHECK(t_sc_run(&p, au, t_sc_nr("kexec_load", x), a) == (SECCOMP_RET_ERRNO | EPERM));
		CHECK(t_sc_run(&p, au, t_sc_nr("init_module", x), a) == (SECCOMP_RET_ERRNO | EPERM));
		CHECK(t_sc_run(&p, au, 4000 + 999, a) == enosys);                 /* not a call */
		a[0] = 0xffffffff;
		CHECK(t_sc_run(&p, au, t_sc_nr("personality", x), a) == SECCOMP_RET_ALLOW);
		a[0] = 0x0400000;
		CHECK(t_sc_run(&p, au, t_sc_nr("personality", x), a) == enosys);
		a[0] = 0;
		seccomp_prog_free(&p);
	}
	/* with CAP_SYS_MODULE, the profile's includes.caps lets init_module through */
	CHECK(t_sc_compile(b.data, T_X86_64, ISOLATE_CAPS_DEFAULT | 1ull << CAP_SYS_MODULE, &p, &err) == 0);
	CHECK(t_sc_run(&p, AUDIT_ARCH_X86_64, 175, a) == SECCOMP_RET_ALLOW);
	CHECK(t_sc_run(&p, AUDIT_ARCH_X86_64, 163, a) == (SECCOMP_RET_ERRNO | EPERM));   /* acct */
	seccomp_prog_free(&p);
	mr_buf_free(&b);
}

/* --security-opt seccomp=FILE: the file's JSON is stored, compacted */
static void test_seccomp_option(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct ctr c;
	struct ctr_opts o;
	struct mr_err err;
	FILE *f;
	if (!unit_tmpdir(dir, sizeof dir)) {
		UNIT_SKIP("seccomp option: no temporary folder");
		return;
	}
	snprintf(path, sizeof path, "%s/p.json", dir);
	f = fopen(path, "w");
	if (f) {
		fputs("{ \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [] }\n", f);
		fclose(f);
	}
	memset(&o, 0, sizeof o);
	ctr_init(&c);
	{
		char opt[PATH_MAX + 32];
		snprintf(opt, sizeof opt, "seccomp=%s", path);
		ctr_list_add(&o.security_opt, opt);
		CHECK(ctr_spec_security(&c, &o, &err) == 0 && c.security_opt.n == 1 &&
		      !strcmp(c.security_opt.v[0], "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[]}"));
		ctr_list_free(&o.security_opt);
	}
	ctr_free(&c);
	f = fopen(path, "w");
	if (f) {
		fputs("{ nope", f);
		fclose(f);
	}
	ctr_init(&c);
	{
		char opt[PATH_MAX + 32];
		snprintf(opt, sizeof opt, "seccomp:%s", path);
		ctr_list_add(&o.security_opt, opt);
		CHECK(ctr_spec_security(&c, &o, &err) < 0 && strstr(err.msg, "seccomp profile ") &&
		      strstr(err.msg, "invalid JSON"));
		ctr_list_free(&o.security_opt);
	}
	ctr_free(&c);
	unlink(path);
	unit_rmdir(dir);
}

/* The kernel runs a compiled profile: personality(0xffff) refused with
 * errno 38 (only that value), mkdirat with EACCES, the rest allowed. */
static void test_seccomp_kernel(void)
{
	static const char prof[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38,"
		"\"args\":[{\"index\":0,\"value\":65535,\"op\":\"SCMP_CMP_EQ\"}]},"
		"{\"names\":[\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}";
	struct seccomp_prog p;
	struct mr_err err;
	int status = -1;
	pid_t pid;
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
		UNIT_SKIP("seccomp against the kernel: prctl(PR_GET_SECCOMP) answers EINVAL (a kernel without seccomp, or qemu-user)");
		return;
	}
	if (SECCOMP_NATIVE < 0) {
		UNIT_SKIP("seccomp against the kernel: no table for this arch");
		return;
	}
	CHECK(seccomp_load(prof, 0, &p, &err) == 0);
	pid = fork();
	if (pid == 0) {
		int r = 0;
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (seccomp_install(&p, &err) < 0)
			_exit(100);
		errno = 0;
		if (syscall(SYS_personality, 0xffff) != -1 || errno != 38)
			r |= 1;
		if (syscall(SYS_personality, 0xffffffff) < 0)
			r |= 2;
		if (syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent-minirun/x", 0700) != -1 || errno != EACCES)
			r |= 4;
		if (syscall(SYS_getppid) <= 0)
			r |= 8;
		_exit(r);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	seccomp_prog_free(&p);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 100) {
		UNIT_SKIP("seccomp against the kernel: installing the filter failed (%s)", err.msg);
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		printf("  kernel: status %#x\n", status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_seccomp(void)
{
	test_seccomp_ops();
	test_seccomp_rules();
	test_seccomp_big();
	test_seccomp_docker();
	test_seccomp_option();
	test_seccomp_kernel();
}
#else
static void test_seccomp(void)
{
	UNIT_SKIP("built without MINIRUN_WITH_SECCOMP_PROFILE");
}
#endif
