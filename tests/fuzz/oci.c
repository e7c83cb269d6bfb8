/* libFuzzer target for part [20b] OCI: a config.json as containerd, Docker
 * or a bundle's author writes it, through the OCI front end into the
 * container spec (spec_oci_fill: the create-time checks, process, mounts,
 * linux), and what is derived from the spec without touching the system:
 * each mount's options, the cgroup path (both drivers), the seccomp profile
 * compiled ([16b]), the device rules of linux.resources, the state JSON.
 * Properties: no crash, no over-read (ASan, UBSan); mount data joins only
 * strings of the input; the cgroup path is absolute and fits its buffer; a
 * compiled filter ends in a return; the device rules start with "deny all".
 * Built and run by `make fuzz` (FUZZ_TIME seconds). */
#define MINIRUN_NO_MAIN
#ifndef MINIRUN_C
#define MINIRUN_C "../../minirun.c"
#endif
#include MINIRUN_C

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mr_err err;
	struct ctr c;
	struct ctr_oci *o;
	const struct mr_json *m;
	char cg[MINIRUN_MAX_PATH];
	struct mr_buf st = { 0 };
	if (size > 1 << 16)
		return 0;
	o = oci_spec_init(&c);
	o->bundle = "/b";
	if (mr_json_parse(&c.doc, (const char *)data, size, &err) < 0) {
		ctr_free(&c);
		return 0;
	}
	m = mr_json_get(c.doc.root, "mounts");
	for (m = m && m->type == MR_JSON_ARRAY ? m->child : NULL; m; m = m->next) {
		unsigned long flags, prop, clear;
		struct mr_buf d = { 0 };
		oci_mount_opts(mr_json_get(m, "options"), &flags, &prop, &clear, &d);
		if (d.len && strlen(d.data) != d.len)
			__builtin_trap();
		mr_buf_free(&d);
	}
	if (spec_oci_fill(&c, &err) == 0) {
		struct seccomp_prog sp;
		struct dev_rule *r;
		size_t n;
		oci_cg_path(o->cgroups_path, "id", 0, cg, sizeof cg);
		if (cg[0] != '/' || strlen(cg) >= sizeof cg)
			__builtin_trap();
		oci_cg_path(o->cgroups_path, "id", 1, cg, sizeof cg);
		if (cg[0] != '/')
			__builtin_trap();
		if (oci_seccomp(o->seccomp, o->cap_bnd, &sp, &err) == 0) {
			if (sp.len && BPF_CLASS(sp.insn[sp.len - 1].code) != BPF_RET)
				__builtin_trap();
			seccomp_prog_free(&sp);
		}
		if ((r = oci_dev_rules(o->res.devices, o, &n, &err)) != NULL) {
			if (!n || r[0].type != 'a' || !r[0].deny)
				__builtin_trap();
			free(r);
		}
		oci_state_json(NULL, o, "id", "created", 1, 0, &st);
		mr_buf_free(&st);
	}
	ctr_free(&c);
	return 0;
}
