/* libFuzzer target for section [20b] OCI: a config.json (or an exec
 * process.json, or update's resources) as containerd, Docker or a bundle's
 * author writes it. The seccomp profile compiler the issue asks for is not
 * written yet; this target covers what reads config.json today.
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -DMINIRUN_NO_MAIN \
 *        -I.deps/native/include -o fuzz_oci tests/fuzz/oci.c -L.deps/native/lib -lbearssl -lzstd -lz
 * The input is the JSON document; every reader that does not touch the
 * system runs on it: the create-time checks, mount options of each mount,
 * the cgroup path (both drivers), the seccomp choice, the hook state writer.
 * Properties: no crash, no over-read; the cgroup path is absolute and fits
 * its buffer; mount data joins only strings of the input.
 * On this machine (Debian 12, clang 14) the fuzz build also needs
 * -D_GNU_SOURCE -include sys/resource.h -fno-pie -no-pie, and then it stops
 * at start (SIGSEGV with ASan, a hang without), as tests/fuzz/json.c does:
 * minirun.c's own malloc/free against the sanitizer's; not run yet. */
#define MINIRUN_NO_MAIN
#ifndef MINIRUN_C
#define MINIRUN_C "../../minirun.c"
#endif
#include MINIRUN_C

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mr_json_doc doc;
	struct mr_err err;
	struct oci_cfg cfg;
	const struct mr_json *m;
	char cg[MINIRUN_MAX_PATH];
	struct mr_buf st = { 0 };
	if (size > 1 << 16 || mr_json_parse(&doc, (const char *)data, size, &err) < 0)
		return 0;
	(void)oci_cfg_check(doc.root, &err);
	m = mr_json_get(doc.root, "mounts");
	for (m = m && m->type == MR_JSON_ARRAY ? m->child : NULL; m; m = m->next) {
		unsigned long flags, prop, clear;
		struct mr_buf d = { 0 };
		oci_mount_opts(mr_json_get(m, "options"), &flags, &prop, &clear, &d);
		if (d.len && strlen(d.data) != d.len)
			__builtin_trap();
		mr_buf_free(&d);
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.root = doc.root;
	cfg.lnx = mr_json_get(doc.root, "linux");
	oci_cg_path(&cfg, "id", 0, cg, sizeof cg);
	if (cg[0] != '/' || strlen(cg) >= sizeof cg)
		__builtin_trap();
	oci_cg_path(&cfg, "id", 1, cg, sizeof cg);
	if (cg[0] != '/')
		__builtin_trap();
	(void)oci_seccomp_wanted(cfg.lnx);
	oci_state_json(NULL, "id", "/b", "created", 1, mr_json_get(doc.root, "annotations"), 0, &st);
	mr_buf_free(&st);
	mr_json_free(&doc);
	return 0;
}
