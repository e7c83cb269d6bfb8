/* Unit tests of [20b] OCI: runc's command line, flags, config checks, mount
 * options, cgroup paths. */
static int t_oci_json(struct mr_json_doc *doc, const char *text)
{
	struct mr_err err;
	return mr_json_parse(doc, text, strlen(text), &err);
}

#if MINIRUN_WITH_CGROUPS
/* linux.resources.devices: the rules in the v1 order (a later entry
 * overrides), the same decisions from the cgroup2 program (last rule
 * first), and that program in the kernel on a cgroup2 folder of the host. */
static void t_oci_devices(void)
{
	struct mr_json_doc doc;
	struct mr_err err;
	struct ctr_oci o;
	struct dev_rule *r, *rev;
	struct bpf_insn prog[400];
	size_t n = 0, len, i;
	const char *v2 = cg_v2_hier();
	char dir[MINIRUN_MAX_PATH];
	memset(&o, 0, sizeof o);
	CHECK(t_oci_json(&doc, "[{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":11,\"access\":\"rw\"},"
			 "{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":11,\"access\":\"w\"},"
			 "{\"allow\":true,\"type\":\"b\",\"major\":8,\"access\":\"r\"}]") == 0);
	r = oci_dev_rules(doc.root, &o, &n, &err);
	CHECK(r && n == 14 && r[0].type == 'a' && r[0].deny && !r[1].deny && r[2].deny &&
	      r[2].access == DEV_W && r[3].type == 'b' && r[3].minor == -1);
	if (r) {
		char line[48];
		dev_v1_line(&r[0], line, sizeof line);
		CHECK(!strcmp(line, "a"));
		dev_v1_line(&r[2], line, sizeof line);
		CHECK(!strcmp(line, "c 1:11 w"));
		{
			/* runc's always-allowed nodes ([14]'s defaults and tun), in order */
			static const char always[] = "c 1:3 rwm\0c 1:5 rwm\0c 1:7 rwm\0c 1:8 rwm\0"
				"c 1:9 rwm\0c 5:0 rwm\0c 5:1 rwm\0c 5:2 rwm\0c 136:* rwm\0c 10:200 rwm\0";
			const char *want = always;
			int same = 1;
			for (i = 4; i < n && *want; i++, want += strlen(want) + 1) {
				dev_v1_line(&r[i], line, sizeof line);
				same &= !strcmp(line, want) && !r[i].deny;
			}
			CHECK(same && !*want && i == n);
		}
		rev = util_xcalloc(n, sizeof *rev);
		for (i = 0; i < n; i++)
			rev[i] = r[n - 1 - i];
		len = dev_bpf_program(rev, n, prog);
		CHECK(unit_ebpf_run(prog, len, 'c', 1, 11, DEV_R) == 1);    /* allowed by the first entry */
		CHECK(unit_ebpf_run(prog, len, 'c', 1, 11, DEV_W) == 0);    /* the later deny wins */
		CHECK(unit_ebpf_run(prog, len, 'c', 1, 3, DEV_W) == 1);     /* /dev/null, always */
		CHECK(unit_ebpf_run(prog, len, 'b', 8, 1, DEV_R) == 1);
		CHECK(unit_ebpf_run(prog, len, 'b', 8, 1, DEV_W) == 0);
		CHECK(unit_ebpf_run(prog, len, 'c', 4, 1, DEV_R) == 0);     /* denied by default */
		free(rev);
	}
	mr_json_free(&doc);
	CHECK(t_oci_json(&doc, "[{\"allow\":true,\"type\":\"x\"}]") == 0);
	CHECK(oci_dev_rules(doc.root, &o, &n, &err) == NULL && strstr(err.msg, "devices"));
	mr_json_free(&doc);
	/* in the kernel: a child in a cgroup2 folder with the program reads
	 * /dev/kmsg but may not open it for writing; /dev/null stays writable */
	if (geteuid() != 0 || !v2) {
		UNIT_SKIP("device program in the kernel (needs root and a cgroup2 hierarchy)");
	} else if (r) {
		pid_t pid;
		int st = -1;
		snprintf(dir, sizeof dir, CG_ROOT "%s%s/minirun-unit-dev-%d", *v2 ? "/" : "", v2, (int)getpid());
		CHECK(mkdir(dir, 0755) == 0);
		if (oci_dev_bpf(dir, r, n, &err) < 0) {
			UNIT_SKIP("device program not attached here (%s)", err.msg);
		} else if ((pid = fork()) == 0) {
			char p[MINIRUN_MAX_PATH + 20], me[16];
			int fd, rc = 0;
			snprintf(p, sizeof p, "%s/cgroup.procs", dir);
			snprintf(me, sizeof me, "%d", (int)getpid());
			fd = open(p, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, me, strlen(me)) < 0)
				_exit(10);
			close(fd);
			if ((fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
				rc |= 1;
			else
				close(fd);
			if ((fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC)) >= 0 || errno != EPERM)
				rc |= 2;
			if (fd >= 0)
				close(fd);
			if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
				rc |= 4;
			else
				close(fd);
			_exit(rc);
		} else {
			waitpid(pid, &st, 0);
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
		CHECK(rmdir(dir) == 0);
	}
	free(r);
}
#else
static void t_oci_devices(void)
{
}
#endif

static void test_oci(void)
{
	static const char names[] = ":bundle|b\0force|f\0:pid-file\0";
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
	CHECK(oci_id_check("abc-1_2.3+x", &err) == 0 && oci_id_check("", &err) < 0 &&
	      oci_id_check("..", &err) < 0 && oci_id_check(NULL, &err) < 0);
	CHECK(oci_id_check("a/b", &err) < 0 && !strcmp(err.msg, "invalid container id: \"a/b\""));

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
	{
		/* each name of the namespace and mount option lists has its bits */
		const char *n;
		size_t k = 0, m = 0;
		for (n = oci_ns_names; *n; n += strlen(n) + 1)
			k++;
		for (n = oci_mount_names; *n; n += strlen(n) + 1)
			m++;
		CHECK(k == sizeof oci_ns_flags / sizeof oci_ns_flags[0] && oci_ns_flag("time") == CLONE_NEWTIME &&
		      oci_ns_flag("network") == CLONE_NEWNET && !oci_ns_flag("net") && !oci_ns_flag(NULL));
		CHECK(m == sizeof oci_mount_bits / sizeof oci_mount_bits[0]);
	}
	/* "defaults" is no data; propagation options add up; the rest is data */
	CHECK(t_oci_json(&doc, "[\"defaults\",\"runbindable\",\"private\",\"tmpcopyup\",\"x=1\"]") == 0);
	oci_mount_opts(doc.root, &flags, &prop, &clear, &data);
	CHECK(!flags && !clear && prop == (MS_UNBINDABLE | MS_REC | MS_PRIVATE));
	CHECK(data.data && !strcmp(data.data, "x=1"));
	mr_buf_free(&data);
	mr_json_free(&doc);
	CHECK(oci_propagation("unbindable", 0) == MS_UNBINDABLE && oci_propagation(NULL, 3) == 3 &&
	      oci_propagation("ro", 5) == 5 && oci_propagation("rslave", 0) == (MS_SLAVE | MS_REC));
	CHECK(oci_propagation("runbindable", 0) == (MS_UNBINDABLE | MS_REC) &&
	      oci_propagation("shared", 0) == MS_SHARED && oci_propagation("", 7) == 7);

	/* cgroup paths: absolute as is, systemd's slice:prefix:name, default */
	oci_cg_path("/default/c1", "c1", 0, cg, sizeof cg);
	CHECK(!strcmp(cg, "/default/c1"));
	oci_cg_path("system.slice:docker:abc", "abc", 1, cg, sizeof cg);
	CHECK(!strcmp(cg, "/system.slice/docker-abc.scope"));
	oci_cg_path(NULL, "c9", 0, cg, sizeof cg);
	CHECK(!strcmp(cg, "/minirun-oci/c9"));
	oci_cg_path("rel/x", "c9", 0, cg, sizeof cg);
	CHECK(!strcmp(cg, "/minirun-oci/rel/x"));
	oci_cg_path("", "c8", 0, cg, sizeof cg);
	CHECK(!strcmp(cg, "/minirun-oci/c8"));

	/* seccomp: linux.seccomp compiled ([16b]); none without one */
	{
		struct seccomp_prog sp;
		CHECK(t_oci_json(&doc, "{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\"}}") == 0);
		CHECK(oci_seccomp(mr_json_get(doc.root, "seccomp"), 0, &sp, &err) == 0 && sp.len > 2);
		seccomp_prog_free(&sp);
		mr_json_free(&doc);
		CHECK(t_oci_json(&doc, "{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_BOGUS\"}}") == 0);
		CHECK(oci_seccomp(mr_json_get(doc.root, "seccomp"), 0, &sp, &err) < 0 &&
		      strstr(err.msg, "SCMP_ACT_BOGUS"));
		mr_json_free(&doc);
		CHECK(t_oci_json(&doc, "{}") == 0);
		CHECK(oci_seccomp(mr_json_get(doc.root, "seccomp"), 0, &sp, &err) == 0 && sp.len == 0);
		mr_json_free(&doc);
	}

	/* the front end: config.json into the spec, read once */
	{
		struct ctr c;
		struct ctr_oci *o = oci_spec_init(&c);
		o->bundle = "/b";
		CHECK(t_oci_json(&c.doc, "{\"ociVersion\":\"1.0.2\",\"hostname\":\"h\","
				 "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
				 "\"process\":{\"terminal\":true,\"args\":[\"sh\",\"-c\",\"x\"],"
				 "\"env\":[\"A=1\"],\"cwd\":\"/w\",\"noNewPrivileges\":true,"
				 "\"user\":{\"uid\":5,\"gid\":6,\"umask\":63,\"additionalGids\":[7,8]},"
				 "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\"],"
				 "\"ambient\":[\"CAP_KILL\"]},\"consoleSize\":{\"width\":80,\"height\":24},"
				 "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20}],"
				 "\"oomScoreAdj\":-5},"
				 "\"mounts\":[{\"destination\":\"/d\",\"type\":\"bind\",\"source\":\"src\","
				 "\"options\":[\"ro\",\"rprivate\"]},{\"destination\":\"/t\",\"type\":\"tmpfs\","
				 "\"options\":[\"nosuid\",\"size=1k\"]}],"
				 "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"uts\"},"
				 "{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}],"
				 "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],"
				 "\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":3,"
				 "\"fileMode\":420},{\"path\":\"rel\",\"type\":\"c\"}],"
				 "\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],"
				 "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"cgroupsPath\":\"/cg\","
				 "\"personality\":{\"domain\":\"LINUX32\"},"
				 "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\"}}}") == 0);
		CHECK(spec_oci_fill(&c, &err) == 0);
		CHECK(c.cmd.n == 3 && !strcmp(c.cmd.v[2], "x") && c.env.n == 1 && !strcmp(c.workdir, "/w"));
		CHECK(c.tty && c.no_new_privs && c.readonly && !strcmp(c.hostname, "h"));
		CHECK(o->uid == 5 && o->gid == 6 && o->umask == 63 && o->ngroups == 2 && o->groups[1] == 8);
		CHECK(o->cap_bnd == ((1ull << 5) | (1ull << 0)) && o->cap_amb == (1ull << 5) && !o->cap_eff);
		CHECK(o->cons_w == 80 && o->cons_h == 24 && o->oom_set && o->oom_score_adj == -5);
		CHECK(o->nrlimits == 1 && o->rlimits[0].res == RLIMIT_NOFILE && o->rlimits[0].soft == 10 &&
		      o->rlimits[0].hard == 20);
		CHECK(o->nmnt == 2 && !strcmp(o->mnt[0].src, "/b/src") && (o->mnt[0].flags & MS_BIND) &&
		      (o->mnt[0].flags & MS_RDONLY) && o->mnt[0].prop == (MS_PRIVATE | MS_REC));
		CHECK(o->mnt[1].data && !strcmp(o->mnt[1].data, "size=1k") && (o->mnt[1].flags & MS_NOSUID));
		CHECK(o->ns_new == (CLONE_NEWPID | CLONE_NEWUTS) && !(o->ns_any & CLONE_NEWNS));
		CHECK(o->nns_join == 1 && o->ns_join[0].flag == CLONE_NEWNET &&
		      !strcmp(o->ns_join[0].path, "/proc/1/ns/net"));
		CHECK(o->uid_map && !strcmp(o->uid_map, "0 1000 10\n") && !o->gid_map);
		CHECK(o->ndev == 1 && o->dev[0].minor == 3 && o->dev[0].mode == 0644);
		CHECK(o->masked[0] && !strcmp(o->masked[0], "/proc/kcore") && !o->masked[1]);
		CHECK(o->readonly_paths[0] && !strcmp(o->readonly_paths[0], "/proc/sys"));
		CHECK(c.sysctls.n == 1 && !strcmp(c.sysctls.v[0], "net.ipv4.ip_forward=1"));
		CHECK(!strcmp(o->cgroups_path, "/cg") && o->personality == PER_LINUX32);
		CHECK(o->seccomp && o->seccomp->type == MR_JSON_OBJECT);
		ctr_free(&c);
	}
	{
		/* refused before anything is made */
		static const char *const refused[] = {
			"{\"ociVersion\":\"1.0.2\",\"process\":{}}", "args",
			"{\"ociVersion\":\"invalid\",\"process\":{\"args\":[\"a\"]}}", "ociVersion",
			"{\"process\":{\"args\":[\"a\"]}}", "ociVersion",
			"{\"ociVersion\":\"1.0.0\",\"process\":{\"args\":[\"a\"],\"capabilities\":"
			"{\"ambient\":[\"CAP_TEST\"]}}}", "CAP_TEST",
			"{\"ociVersion\":\"1.0.0\",\"process\":{\"args\":[\"a\"],\"rlimits\":"
			"[{\"type\":\"RLIMIT_TEST\"}]}}", "RLIMIT_TEST",
			"{\"ociVersion\":\"1.0.2\",\"hostname\":\"h\",\"process\":{\"args\":[\"a\"]}}", "UTS",
			"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"a\"]},\"mounts\":"
			"[{\"destination\":\"rel\"}]}", "not absolute",
			"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"a\"]},\"linux\":"
			"{\"namespaces\":[{\"type\":\"nope\"}]}}", "nope",
			"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"a\"]},\"linux\":"
			"{\"sysctl\":{\"a..b\":\"1\"}}}", "sysctl",
			"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"a\"]},\"linux\":"
			"{\"personality\":{\"domain\":\"X\"}}}", "personality",
			NULL };
		size_t k;
		for (k = 0; refused[k]; k += 2) {
			struct ctr c;
			oci_spec_init(&c)->bundle = "/b";
			CHECK(t_oci_json(&c.doc, refused[k]) == 0);
			CHECK(spec_oci_fill(&c, &err) < 0 && strstr(err.msg, refused[k + 1]));
			ctr_free(&c);
		}
	}

	{
		/* linux.resources: what is given and not 0 (swappiness: 0..100) */
		struct ctr_oci_res res;
		CHECK(t_oci_json(&doc, "{\"memory\":{\"limit\":-1,\"reservation\":0,\"swappiness\":0},"
				 "\"cpu\":{\"shares\":1024,\"quota\":0,\"cpus\":\"0-1\"},\"pids\":{\"limit\":5},"
				 "\"blockIO\":{\"weight\":500},\"hugepageLimits\":[]}") == 0);
		oci_res_parse(&res, doc.root);
		CHECK(res.given && res.v[OCI_MEM_LIMIT] == -1 && res.v[OCI_CPU_SHARES] == 1024 &&
		      res.v[OCI_PIDS] == 5 && res.v[OCI_BIO_WEIGHT] == 500);
		CHECK(res.set == (1u << OCI_MEM_LIMIT | 1u << OCI_MEM_SWAPPINESS | 1u << OCI_CPU_SHARES |
				  1u << OCI_PIDS | 1u << OCI_BIO_WEIGHT));
		CHECK(res.cpus && !strcmp(res.cpus, "0-1") && !res.mems && res.hugepages && res.blkio);
		mr_json_free(&doc);
		CHECK(t_oci_json(&doc, "{\"memory\":{\"swappiness\":101}}") == 0);
		oci_res_parse(&res, doc.root);
		CHECK(res.given && !res.set);
		mr_json_free(&doc);
		oci_res_parse(&res, NULL);
		CHECK(!res.given && !res.set);
	}
	t_oci_devices();
	{
		/* `spec`: the text the binary writes is oci_default_spec */
		char text[OCI_DEFAULT_SPEC_LEN + 1];
		CHECK(oci_spec_text(text, &err) == 0 && !strcmp(text, oci_default_spec));
	}
}
