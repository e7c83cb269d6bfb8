/* libFuzzer target for section [16b] SECCOMP: a profile's JSON in, compiled
 * for every arch's table (SECCOMP_ALL_ARCHES).
 * Build: make build/fuzz/seccomp (or `make fuzz`, which runs every target).
 * Properties: the compiler never crashes; it fails with a message, or gives a
 * program the kernel would take: 1 to 4096 instructions, only the opcodes it
 * emits, loads aligned inside seccomp_data, every jump forward and inside the
 * program, the last instruction a return. */
#define MINIRUN_NO_MAIN
#define SECCOMP_ALL_ARCHES 1
#ifndef MINIRUN_C
#define MINIRUN_C "../../minirun.c"
#endif
#include MINIRUN_C

static void fz_check(const struct seccomp_prog *p)
{
	unsigned i;
	if (!p->len || p->len > 4096 || BPF_CLASS(p->insn[p->len - 1].code) != BPF_RET)
		__builtin_trap();
	for (i = 0; i < p->len; i++) {
		const struct sock_filter *f = &p->insn[i];
		unsigned left = p->len - i - 1;
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k % 4 || f->k >= sizeof(struct seccomp_data))
				__builtin_trap();
			break;
		case BPF_ALU | BPF_AND | BPF_K:
		case BPF_RET | BPF_K:
			break;
		case BPF_JMP | BPF_JA:
			if (f->k >= left)
				__builtin_trap();
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_K:
			if (f->jt >= left || f->jf >= left)
				__builtin_trap();
			break;
		default:
			__builtin_trap();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int arches[] = { 0, 1, 3, 4, 5 };
	struct mr_json_doc doc;
	struct mr_err err;
	struct seccomp_prog p;
	size_t i;
	if (mr_json_parse(&doc, (const char *)data, size, &err) < 0)
		return 0;
	for (i = 0; i < sizeof arches / sizeof arches[0]; i++) {
		if (seccomp_compile(doc.root, arches[i], size & 1 ? ~0ull : 0, (int)(size & 2), &p, &err) == 0)
			fz_check(&p);
		else if (!err.msg[0] || p.insn)
			__builtin_trap();
		seccomp_prog_free(&p);
	}
	mr_json_free(&doc);
	return 0;
}
