/* Unit tests of [20b] OCI: runc's command line, flags, config checks, mount
 * options, cgroup paths. */
static int t_oci_json(struct mr_json_doc *doc, const char *text)
{
	struct mr_err err;
	return mr_json_parse(doc, text, strlen(text), &err);
}

static void test_oci(void)
{
	static const char *const names[] = { ":bundle|b", "force|f", ":pid-file", NULL };
	char *argv1[] = { "/usr/bin/runc", "state", "x", NULL };
	char *argv2[] = { "minirun", "--root", "/r", "--log", "/l", "create", NULL };
	char *argv3[] = { "minirun", "--root", "/r", "ps", "-a", NULL };
	char *argv4[] = { "minirun", "--systemd-cgroup", "list", NULL };
	char *args[] = { "-b", "/bun", "--force", "--pid-file=/p", "id1", "extra", NULL };
	char *bad[] = { "--nope", "id", NULL };
	char *missing[] = { "--bundle", NULL };
	struct oci_args a;
	struct mr_err err;
	struct mr_json_doc doc;
	struct mr_buf data = { 0 };
	unsigned long flags, prop, clear;
	char cg[256];

	/* runc mode: by argv[0], or by runc's own global flags only */
	CHECK(oci_wanted(3, argv1) == 1);
	CHECK(oci_wanted(6, argv2) == 1);
	CHECK(oci_wanted(5, argv3) == 0);   /* minirun's --root, then its ps */
	CHECK(oci_wanted(3, argv4) == 1);

	/* flags: short aliases, --x=v, a bool, positionals in order */
	CHECK(oci_parse(6, args, names, &a, &err) == 0);
	CHECK(a.val[0] && !strcmp(a.val[0], "/bun") && a.set[1] && a.val[2] && !strcmp(a.val[2], "/p"));
	CHECK(a.npos == 2 && !strcmp(a.pos[0], "id1") && !strcmp(a.pos[1], "extra"));
	free(a.pos);
	CHECK(oci_parse(2, bad, names, &a, &err) < 0 && strstr(err.msg, "nope"));
	CHECK(oci_parse(1, missing, names, &a, &err) < 0 && strstr(err.msg, "argument"));

	/* ids */
	CHECK(oci_id_ok("abc-1_2.3+x") && !oci_id_ok("") && !oci_id_ok("..") && !oci_id_ok("a/b"));

	/* what create refuses before anything is made */
	CHECK(t_oci_json(&doc, "{\"ociVersion\":\"1.0.2\",\"process\":{\"capabilities\":"
			 "{\"bounding\":[\"CAP_KILL\"]},\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\"}]}}") == 0);
	CHECK(oci_cfg_check(doc.root, &err) == 0);
	mr_json_free(&doc);
	CHECK(t_oci_json(&doc, "{\"ociVersion\":\"invalid\"}") == 0);
	CHECK(oci_cfg_check(doc.root, &err) < 0 && strstr(err.msg, "ociVersion"));
	mr_json_free(&doc);
	CHECK(t_oci_json(&doc, "{\"ociVersion\":\"1.0.0\",\"process\":{\"capabilities\":"
			 "{\"ambient\":[\"CAP_TEST\"]}}}") == 0);
	CHECK(oci_cfg_check(doc.root, &err) < 0 && strstr(err.msg, "CAP_TEST"));
	mr_json_free(&doc);
	CHECK(t_oci_json(&doc, "{\"ociVersion\":\"1.0.0\",\"process\":{\"rlimits\":"
			 "[{\"type\":\"RLIMIT_TEST\"}]}}") == 0);
	CHECK(oci_cfg_check(doc.root, &err) < 0 && strstr(err.msg, "RLIMIT_TEST"));
	mr_json_free(&doc);
	CHECK(oci_rlimit_type("RLIMIT_NOFILE") == RLIMIT_NOFILE && oci_rlimit_type("NOFILE") < 0);

	/* mount options: flags, cleared flags, propagation, the rest as data */
	CHECK(t_oci_json(&doc, "[\"rbind\",\"ro\",\"nosuid\",\"rw\",\"rslave\",\"mode=755\","
			 "\"size=1k\",\"exec\"]") == 0);
	oci_mount_opts(doc.root, &flags, &prop, &clear, &data);
	CHECK((flags & (MS_BIND | MS_REC | MS_NOSUID)) == (MS_BIND | MS_REC | MS_NOSUID));
	CHECK(!(flags & MS_RDONLY) && (clear & MS_RDONLY) && (clear & MS_NOEXEC));
	CHECK(prop == (MS_SLAVE | MS_REC));
	CHECK(data.data && !strcmp(data.data, "mode=755,size=1k"));
	mr_buf_free(&data);
	mr_json_free(&doc);
	CHECK(oci_propagation("runbindable", 0) == (MS_UNBINDABLE | MS_REC) &&
	      oci_propagation("shared", 0) == MS_SHARED && oci_propagation("", 7) == 7);

	/* cgroup paths: absolute as is, systemd's slice:prefix:name, default */
	oci_cg_path("/default/c1", "c1", 0, cg, sizeof cg);
	CHECK(!strcmp(cg, "/default/c1"));
	oci_cg_path("system.slice:docker:abc", "abc", 1, cg, sizeof cg);
	CHECK(!strcmp(cg, "/system.slice/docker-abc.scope"));
	oci_cg_path(NULL, "c9", 0, cg, sizeof cg);
	CHECK(!strcmp(cg, "/minirun-oci/c9"));

	/* seccomp: only a profile that restricts something is enforced */
	CHECK(t_oci_json(&doc, "{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\"}}") == 0);
	CHECK(oci_seccomp_wanted(doc.root) == 1);
	mr_json_free(&doc);
	CHECK(t_oci_json(&doc, "{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\"}}") == 0);
	CHECK(oci_seccomp_wanted(doc.root) == 0);
	mr_json_free(&doc);
}
