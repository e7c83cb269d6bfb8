/* Unit tests of [14] CONTAINER, [15] ROOTFS, [16] ISOLATE, [17] MONITOR and the
 * container CLI's pure parts: env merging, Entrypoint/Cmd rules, names,
 * signals, restart policy and back-off, CPUs, durations and ps status
 * strings, passwd/group resolution (hostile texts too), capabilities,
 * resolv.conf filtering, the log format with rotation and its reader, ps
 * templates, and records in a real store (create, find, rename, state). */

static void t_ctr_env(void)
{
	struct ctr c;
	ctr_init(&c);
	ctr_list_add(&c.env, "PATH=/bin");
	ctr_list_add(&c.env, "A=1");
	ctr_env_set(&c.env, "A=2");
	CHECK(c.env.n == 2 && !strcmp(c.env.v[1], "A=2"));      /* replaced in place */
	ctr_env_set(&c.env, "AB=3");                              /* a longer key is another */
	CHECK(c.env.n == 3 && !strcmp(ctr_env_get(&c.env, "A"), "2"));
	CHECK(!strcmp(ctr_env_get(&c.env, "AB"), "3") && !ctr_env_get(&c.env, "B"));
	ctr_env_set(&c.env, "EMPTY=");
	CHECK(ctr_env_get(&c.env, "EMPTY") && !*ctr_env_get(&c.env, "EMPTY"));
	setenv("T_CTR_FROM_CALLER", "v=w", 1);
	unsetenv("T_CTR_MISSING");
	CHECK(ctr_env_add_arg(&c, "T_CTR_FROM_CALLER") == 0);
	CHECK(!strcmp(ctr_env_get(&c.env, "T_CTR_FROM_CALLER"), "v=w"));
	CHECK(ctr_env_add_arg(&c, "T_CTR_MISSING") == 0 && !ctr_env_get(&c.env, "T_CTR_MISSING"));
	CHECK(ctr_env_add_arg(&c, "=x") < 0 && ctr_env_add_arg(&c, "") < 0);
	CHECK(ctr_env_keylen("K=V=W") == 1 && ctr_env_keylen("KEY") == 3);
	ctr_free(&c);
}

/* Issue 17: Docker's Config.Env order (the user's first, then the image's
 * they do not set), the process's (PATH, HOSTNAME, TERM, then Config.Env),
 * Config.ExposedPorts (image's and -p's, once, sorted), image inspect's
 * Healthcheck after Cmd. */
static void t_ctr_docker_order(void)
{
	struct ctr c;
	struct mr_json_doc img = { 0 }, cfg = { 0 };
	struct mr_err err;
	struct mr_buf b = { 0 };
	struct mr_jw w;
	char **envp;
	static const char env[] = "[\"PATH=/img/bin\",\"A=img\",\"B=img\"]";
	static const char ports[] = "{\"8080/tcp\":{},\"53/udp\":{}}";
	static const char conf[] = "{\"Cmd\":[\"sh\"],\"Healthcheck\":{\"Test\":[\"NONE\"]},\"Env\":[]}";
	ctr_init(&c);
	CHECK(mr_json_parse(&img, env, sizeof env - 1, &err) == 0);
	ctr_list_add(&c.env, "B=user");
	ctr_list_add(&c.env, "C=user");
	ctr_env_merge_image(&c.env, img.root);
	CHECK(c.env.n == 4 && !strcmp(c.env.v[0], "B=user") && !strcmp(c.env.v[1], "C=user") &&
	      !strcmp(c.env.v[2], "PATH=/img/bin") && !strcmp(c.env.v[3], "A=img"));
	c.hostname = "h1";
	envp = ctr_envp(&c, NULL, 1, "/root");
	CHECK(envp && !strcmp(envp[0], "PATH=/img/bin") && !strcmp(envp[1], "HOSTNAME=h1") &&
	      !strcmp(envp[2], "TERM=xterm") && !strcmp(envp[3], "B=user") &&
	      envp[6] && !strcmp(envp[6], "HOME=/root") && !envp[7]);
	free(envp);
	mr_json_free(&img);
	CHECK(mr_json_parse(&img, ports, sizeof ports - 1, &err) == 0);
	ctr_exposed_add(&c, NULL, 8080, 't');
	ctr_exposed_add(&c, img.root, 0, 0);
	ctr_exposed_add(&c, NULL, 9, 'u');
	CHECK(c.exposed.n == 3 && !strcmp(c.exposed.v[0], "53/udp") &&
	      !strcmp(c.exposed.v[1], "8080/tcp") && !strcmp(c.exposed.v[2], "9/udp"));
	CHECK(mr_json_parse(&cfg, conf, sizeof conf - 1, &err) == 0);
	mr_jw_init(&w, &b, 0);
	cli_inspect_image_config(&w, cfg.root);
	CHECK(b.data && strstr(b.data, "\"Cmd\":[\"sh\"],\"Healthcheck\":{\"Test\":[\"NONE\"]},\"Image\""));
	mr_buf_free(&b);
	mr_json_free(&cfg);
	mr_json_free(&img);
	ctr_free(&c);
}

static void t_ctr_env_file(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct ctr c;
	struct mr_err err;
	if (!unit_tmpdir(dir, sizeof dir))
		return;
	snprintf(path, sizeof path, "%s/env", dir);
	ctr_init(&c);
	setenv("T_CTR_X", "fromenv", 1);
	CHECK(unit_write(path, "# comment\n\n  A=1\nB=two words\r\nT_CTR_X\nC==\n") == 0);
	CHECK(ctr_env_file(&c, path, &err) == 0);
	CHECK(c.env.n == 4 && !strcmp(ctr_env_get(&c.env, "A"), "1"));
	CHECK(!strcmp(ctr_env_get(&c.env, "B"), "two words"));   /* CR dropped */
	CHECK(!strcmp(ctr_env_get(&c.env, "T_CTR_X"), "fromenv") && !strcmp(ctr_env_get(&c.env, "C"), "="));
	CHECK(unit_write(path, "BAD KEY=1\n") == 0 && ctr_env_file(&c, path, &err) < 0);
	CHECK(strstr(err.msg, "whitespaces") != NULL);
	CHECK(unit_write(path, "=nokey\n") == 0 && ctr_env_file(&c, path, &err) < 0);
	snprintf(path, sizeof path, "%s/missing", dir);
	CHECK(ctr_env_file(&c, path, &err) < 0 && err.code == ENOENT);
	ctr_free(&c);
	unit_rmdir(dir);
}

static int t_ctr_list_is(const struct ctr_list *l, const char *joined)
{
	char buf[256] = "";
	size_t i;
	for (i = 0; i < l->n; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "|" : "", l->v[i]);
	return !strcmp(buf, joined);
}

static void t_ctr_command(void)
{
	struct ctr_list iep = { 0 }, icmd = { 0 }, ep = { 0 }, cmd = { 0 };
	const char *args[] = { "ls", "-l" };
	ctr_list_add(&iep, "/entry");
	ctr_list_add(&icmd, "default");
	/* image defaults */
	ctr_command_merge(&ep, &cmd, &iep, &icmd, NULL, NULL, 0);
	CHECK(t_ctr_list_is(&ep, "/entry") && t_ctr_list_is(&cmd, "default"));
	ctr_list_free(&ep), ctr_list_free(&cmd);
	/* arguments replace Cmd, keep Entrypoint */
	ctr_command_merge(&ep, &cmd, &iep, &icmd, NULL, args, 2);
	CHECK(t_ctr_list_is(&ep, "/entry") && t_ctr_list_is(&cmd, "ls|-l"));
	ctr_list_free(&ep), ctr_list_free(&cmd);
	/* --entrypoint drops the image's Cmd too */
	ctr_command_merge(&ep, &cmd, &iep, &icmd, "echo", NULL, 0);
	CHECK(t_ctr_list_is(&ep, "echo") && cmd.n == 0);
	ctr_list_free(&ep), ctr_list_free(&cmd);
	ctr_command_merge(&ep, &cmd, &iep, &icmd, "echo", args, 2);
	CHECK(t_ctr_list_is(&ep, "echo") && t_ctr_list_is(&cmd, "ls|-l"));
	ctr_list_free(&ep), ctr_list_free(&cmd);
	/* --entrypoint "" clears it */
	ctr_command_merge(&ep, &cmd, &iep, &icmd, "", args, 1);
	CHECK(ep.n == 0 && t_ctr_list_is(&cmd, "ls"));
	ctr_list_free(&ep), ctr_list_free(&cmd);
	ctr_list_free(&iep), ctr_list_free(&icmd);
	/* no Entrypoint, no Cmd: nothing (run refuses: No command specified) */
	ctr_command_merge(&ep, &cmd, &iep, &icmd, NULL, NULL, 0);
	CHECK(ep.n == 0 && cmd.n == 0 && ep.v == NULL);
}

static void t_ctr_small_parsers(void)
{
	const char *name;
	int max;
	int64_t nano;
	char buf[64];
	CHECK(ctr_name_valid("web") && ctr_name_valid("/web") && ctr_name_valid("a_b.c-d9"));
	CHECK(!ctr_name_valid("w") && !ctr_name_valid("-web") && !ctr_name_valid("we/b") &&
	      !ctr_name_valid("web!") && !ctr_name_valid("") && !ctr_name_valid("_x"));
	memset(buf, 'a', sizeof buf - 1);
	buf[sizeof buf - 1] = 0;
	CHECK(ctr_name_valid(buf));
	CHECK(ctr_signal_parse("SIGTERM") == SIGTERM && ctr_signal_parse("term") == SIGTERM);
	CHECK(ctr_signal_parse("9") == 9 && ctr_signal_parse("KILL") == SIGKILL);
	CHECK(ctr_signal_parse("SIGUSR1") == SIGUSR1 && ctr_signal_parse("winch") == SIGWINCH);
	CHECK(ctr_signal_parse("RTMIN+3") == SIGRTMIN + 3 && ctr_signal_parse("SIGRTMAX") == SIGRTMAX);
	CHECK(!ctr_signal_parse("RTMIN+99") && !ctr_signal_parse("NOPE") && !ctr_signal_parse("0") &&
	      !ctr_signal_parse("999") && !ctr_signal_parse("") && !ctr_signal_parse("SIG"));
	/* the first and last names of the packed table, and the aliases */
	CHECK(ctr_signal_parse("HUP") == SIGHUP && ctr_signal_parse("sys") == SIGSYS &&
	      ctr_signal_parse("IOT") == SIGABRT && ctr_signal_parse("POLL") == SIGIO &&
	      ctr_signal_parse("VTALRM") == SIGVTALRM && !ctr_signal_parse("HU"));
	/* util_scopy cuts to fit; ctr_read_small NUL-terminates, "" when missing */
	util_scopy(buf, 4, "abcdef");
	CHECK(!strcmp(buf, "abc"));
	CHECK(ctr_read_small(AT_FDCWD, "/proc/self/stat", 0, buf, 8) == 7 && strlen(buf) == 7);
	CHECK(ctr_read_small(AT_FDCWD, "/nonexistent/x", 0, buf, sizeof buf) < 0 && !buf[0]);
	CHECK(ctr_read_proc(getpid(), "stat", buf, sizeof buf) > 0 && atoi(buf) == (int)getpid());
	CHECK(ctr_restart_parse("no", &name, &max) == 0 && !strcmp(name, "no"));
	CHECK(ctr_restart_parse("always", &name, &max) == 0 && !strcmp(name, "always"));
	CHECK(ctr_restart_parse("unless-stopped", &name, &max) == 0);
	CHECK(ctr_restart_parse("on-failure", &name, &max) == 0 && max == 0 && !strcmp(name, "on-failure"));
	CHECK(ctr_restart_parse("on-failure:5", &name, &max) == 0 && max == 5);
	CHECK(ctr_restart_parse("on-failure:", &name, &max) < 0 && ctr_restart_parse("on-failure:x", &name, &max) < 0);
	CHECK(ctr_restart_parse("sometimes", &name, &max) < 0 && ctr_restart_parse("always:3", &name, &max) < 0);
	CHECK(ctr_cpus_parse("1.5", &nano) == 0 && nano == 1500000000);
	CHECK(ctr_cpus_parse("0.01", &nano) == 0 && nano == 10000000);
	CHECK(ctr_cpus_parse(".5", &nano) == 0 && nano == 500000000);
	CHECK(ctr_cpus_parse("2", &nano) == 0 && nano == 2000000000LL);
	CHECK(ctr_cpus_parse("0.000000001", &nano) == 0 && nano == 1);
	CHECK(ctr_cpus_parse("0.0000000001", &nano) < 0 && ctr_cpus_parse("abc", &nano) < 0);
	CHECK(ctr_cpus_parse("", &nano) < 0 && ctr_cpus_parse(".", &nano) < 0 && ctr_cpus_parse("1e3", &nano) < 0);
	CHECK(ctr_cpus_parse("-1", &nano) < 0 && ctr_cpus_parse("99999999999999999999", &nano) < 0);
}

static void t_ctr_restart(void)
{
	struct ctr c;
	ctr_init(&c);
	CHECK(!ctr_restart_wanted(&c, 1, 0, 0));                   /* "no" */
	c.restart = "always";
	CHECK(ctr_restart_wanted(&c, 0, 100, 0) && !ctr_restart_wanted(&c, 1, 0, 1));
	c.restart = "unless-stopped";
	CHECK(ctr_restart_wanted(&c, 0, 0, 0) && !ctr_restart_wanted(&c, 0, 0, 1));
	c.restart = "on-failure";
	CHECK(!ctr_restart_wanted(&c, 0, 0, 0) && ctr_restart_wanted(&c, 3, 1000, 0));
	c.restart_max = 2;
	CHECK(ctr_restart_wanted(&c, 3, 0, 0) && ctr_restart_wanted(&c, 3, 1, 0));
	CHECK(!ctr_restart_wanted(&c, 3, 2, 0) && !ctr_restart_wanted(&c, 137, 0, 1));
	/* back-off: 100 ms doubling up to a minute, reset after 10 s up */
	CHECK(ctr_backoff_next(0, 0) == 100 && ctr_backoff_next(100, 50) == 200);
	CHECK(ctr_backoff_next(200, 9999) == 400 && ctr_backoff_next(25600, 0) == 51200);
	CHECK(ctr_backoff_next(51200, 0) == 60000 && ctr_backoff_next(60000, 0) == 60000);
	CHECK(ctr_backoff_next(60000, 10000) == 100);
	ctr_free(&c);
}

static void t_ctr_status(void)
{
	struct ctr_info ci;
	char out[80];
	time_t now = 1700000000;
	struct timespec ts = { now - 5, 0 };
	util_human_duration(0, out, sizeof out);
	CHECK(!strcmp(out, "Less than a second"));
	util_human_duration(1, out, sizeof out);
	CHECK(!strcmp(out, "1 second"));
	util_human_duration(59, out, sizeof out);
	CHECK(!strcmp(out, "59 seconds"));
	util_human_duration(90, out, sizeof out);
	CHECK(!strcmp(out, "About a minute"));
	util_human_duration(45 * 60, out, sizeof out);
	CHECK(!strcmp(out, "45 minutes"));
	util_human_duration(3700, out, sizeof out);
	CHECK(!strcmp(out, "About an hour"));
	util_human_duration(5 * 3600, out, sizeof out);
	CHECK(!strcmp(out, "5 hours"));
	util_human_duration(3 * 86400, out, sizeof out);
	CHECK(!strcmp(out, "3 days"));
	util_human_duration(21 * 86400, out, sizeof out);
	CHECK(!strcmp(out, "3 weeks"));
	util_human_duration(400 * 86400L, out, sizeof out);
	CHECK(!strcmp(out, "13 months"));
	util_human_duration(3 * 365 * 86400L, out, sizeof out);
	CHECK(!strcmp(out, "3 years"));
	memset(&ci, 0, sizeof ci);
	ctr_status_string(&ci, now, out, sizeof out);
	CHECK(!strcmp(out, "Created"));
	ci.status = CTR_RUNNING;
	util_time_rfc3339(&ts, ci.st.started, sizeof ci.st.started);
	ctr_status_string(&ci, now, out, sizeof out);
	CHECK(!strcmp(out, "Up 5 seconds"));
	ci.status = CTR_EXITED;
	ci.st.exit_code = 137;
	ts.tv_sec = now - 3;
	util_time_rfc3339(&ts, ci.st.finished, sizeof ci.st.finished);
	ctr_status_string(&ci, now, out, sizeof out);
	CHECK(!strcmp(out, "Exited (137) 3 seconds ago"));
	ci.status = CTR_RESTARTING;
	ctr_status_string(&ci, now, out, sizeof out);
	CHECK(!strcmp(out, "Restarting (137) 3 seconds ago"));
	CHECK(!strcmp(ctr_status_name(CTR_EXITED), "exited") && !strcmp(ctr_status_name(CTR_CREATED), "created"));
}

static void t_ctr_users(void)
{
	static const char passwd[] =
		"root:x:0:0:root:/root:/bin/sh\n"
		"# a comment:x:5:5::/:\n"
		"broken line without colons\n"
		"short:x:77\n"
		"web:x:1000:1001:Web:/srv/web:/bin/sh\n"
		"big:x:4294967295:1:::\n"
		"neg:x:-1:1:::\n"
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false";     /* no newline at the end */
	static const char group[] =
		"root:x:0:\n"
		"staff:x:50:web,other\n"
		"webgrp:x:1001:\n"
		"audio:x:29:other,web\n"
		"dup:x:50:web\n"
		"bad:x:notanumber:web\n";
	struct ctr_ids ids;
	struct mr_err err;
	char longline[2000];
	CHECK(ctr_ids_resolve("", passwd, group, &ids, &err) == 0);
	CHECK(ids.uid == 0 && ids.gid == 0 && !strcmp(ids.home, "/root") && ids.ngroups == 1 &&
	      ids.groups[0] == 0);   /* the primary group too, as in Docker */
	CHECK(ctr_ids_resolve("web", passwd, group, &ids, &err) == 0);
	CHECK(ids.uid == 1000 && ids.gid == 1001 && !strcmp(ids.home, "/srv/web"));
	CHECK(ids.ngroups == 3 && ids.groups[0] == 1001 && ids.groups[1] == 50 && ids.groups[2] == 29);  /* dup 50 once */
	CHECK(ctr_ids_resolve("1000", passwd, group, &ids, &err) == 0 && ids.gid == 1001 && ids.ngroups == 3);
	CHECK(ctr_ids_resolve("web:staff", passwd, group, &ids, &err) == 0 && ids.uid == 1000 && ids.gid == 50);
	CHECK(ctr_ids_resolve("web:7", passwd, group, &ids, &err) == 0 && ids.gid == 7);
	CHECK(ctr_ids_resolve("4242:4343", passwd, group, &ids, &err) == 0);
	CHECK(ids.uid == 4242 && ids.gid == 4343 && !strcmp(ids.home, "/") && ids.ngroups == 1 &&
	      ids.groups[0] == 4343);
	CHECK(ctr_ids_resolve("4242", NULL, NULL, &ids, &err) == 0 && ids.gid == 0);
	CHECK(ctr_ids_resolve("nobody", passwd, group, &ids, &err) == 0 && ids.uid == 65534);
	CHECK(ctr_ids_resolve("ghost", passwd, group, &ids, &err) < 0 && strstr(err.msg, "unable to find user ghost"));
	CHECK(ctr_ids_resolve("root", NULL, NULL, &ids, &err) < 0);
	CHECK(ctr_ids_resolve("web:ghosts", passwd, group, &ids, &err) < 0 && strstr(err.msg, "unable to find group"));
	CHECK(ctr_ids_resolve("short", passwd, group, &ids, &err) < 0);           /* too few fields */
	CHECK(ctr_ids_resolve("big", passwd, group, &ids, &err) < 0);             /* uid out of range */
	CHECK(ctr_ids_resolve("99999999999999999999", passwd, group, &ids, &err) < 0);
	CHECK(ctr_ids_resolve("4294967295", passwd, group, &ids, &err) < 0 &&
	      !strcmp(err.msg, "invalid user 4294967295: out of range"));
	CHECK(ctr_ids_resolve("0:99999999999", passwd, group, &ids, &err) < 0 &&
	      !strcmp(err.msg, "invalid group 99999999999: out of range"));
	CHECK(ctr_ids_resolve("# a comment", passwd, group, &ids, &err) < 0);     /* comments skipped */
	/* a line longer than the parser's buffer is skipped, not overflowed */
	memset(longline, 'a', sizeof longline);
	memcpy(longline + sizeof longline - 20, ":x:5:5:::\nroot:x:0:0", 20);
	longline[sizeof longline - 1] = 0;
	ids.uid = ids.gid = 7;
	CHECK(ctr_ids_resolve("root", longline, NULL, &ids, &err) == 0 && ids.uid == 0 &&
	      ids.gid == 0);                                          /* the line after it is read */
	CHECK(ctr_pw_member("a,web,b", "web") && !ctr_pw_member("a,webx,b", "web") &&
	      !ctr_pw_member("", "web") && ctr_pw_member("web", "web") && !ctr_pw_member("we", "web"));
}

static void t_ctr_caps(void)
{
	struct ctr c;
	struct mr_err err;
	uint64_t caps;
	ctr_init(&c);
	CHECK(isolate_cap_parse("CHOWN") == 0 && isolate_cap_parse("cap_net_admin") == 12);
	CHECK(isolate_cap_parse("CAP_CHECKPOINT_RESTORE") == 40 && isolate_cap_parse("all") == 64);
	CHECK(isolate_cap_parse("NOPE") < 0 && isolate_cap_parse("") < 0 && isolate_cap_parse("CAP_") < 0);
	CHECK(isolate_caps_resolve(&c, &caps, &err) == 0 && caps == 0xa80425fbull);
	ctr_list_add(&c.cap_drop, "ALL");
	ctr_list_add(&c.cap_add, "NET_BIND_SERVICE");
	CHECK(isolate_caps_resolve(&c, &caps, &err) == 0 && caps == (1ull << 10));
	ctr_list_free(&c.cap_drop);
	ctr_list_free(&c.cap_add);
	ctr_list_add(&c.cap_add, "ALL");
	ctr_list_add(&c.cap_drop, "SYS_ADMIN");
	CHECK(isolate_caps_resolve(&c, &caps, &err) == 0 && caps == (ISOLATE_CAPS_ALL & ~(1ull << 21)));
	ctr_list_free(&c.cap_add);
	ctr_list_free(&c.cap_drop);
	ctr_list_add(&c.cap_drop, "chown");
	ctr_list_add(&c.cap_add, "sys_ptrace");
	CHECK(isolate_caps_resolve(&c, &caps, &err) == 0 && caps == ((0xa80425fbull & ~1ull) | (1ull << 19)));
	ctr_list_add(&c.cap_add, "BOGUS");
	CHECK(isolate_caps_resolve(&c, &caps, &err) < 0 && strstr(err.msg, "BOGUS"));
	c.privileged = 1;
	ctr_list_free(&c.cap_add);
	CHECK(isolate_caps_resolve(&c, &caps, &err) == 0 && caps == ISOLATE_CAPS_ALL);
	ctr_free(&c);
}

static void t_ctr_resolv(void)
{
	struct mr_buf b = { 0 };
	rootfs_resolv_conf("# x\nnameserver 127.0.0.53\nsearch lan\n  nameserver\t10.0.0.1\nnameserver ::1\noptions edns0", &b);
	CHECK(!strcmp(b.data, "# x\nsearch lan\n  nameserver\t10.0.0.1\noptions edns0\n"));
	b.len = 0;
	rootfs_resolv_conf("nameserver 127.0.0.1\n", &b);
	CHECK(!strcmp(b.data, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"));
	b.len = 0;
	rootfs_resolv_conf("", &b);
	CHECK(!strcmp(b.data, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"));
	b.len = 0;
	rootfs_resolv_conf("nameservers 1.1.1.1\n", &b);   /* not the keyword: kept, defaults added */
	CHECK(util_starts_with(b.data, "nameservers 1.1.1.1\nnameserver 8.8.8.8"));
	mr_buf_free(&b);
}

/* The log: records, partial lines, rotation, and reading back. */
static void t_ctr_log(void)
{
	char dir[PATH_MAX], stamp[40], big[CTR_LOG_CHUNK + 100];
	struct ctr c;
	struct ctr_log l;
	struct logs_file *f;
	struct stat sb;
	int dfd, lines = 0, ok = 1;
	char *rec;
	if (!unit_tmpdir(dir, sizeof dir))
		return;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ctr_init(&c);
	c.log_max_size = 4096;
	c.log_max_file = 3;
	CHECK(ctr_log_stamp(stamp) == 30 && stamp[4] == '-' && stamp[10] == 'T' && stamp[19] == '.' &&
	      stamp[29] == 'Z');
	CHECK(ctr_log_open(&l, dfd, &c) >= 0);
	ctr_log_write(&l, 'o', "one\ntwo\nthr", 11);
	ctr_log_write(&l, 'e', "err\n", 4);
	ctr_log_write(&l, 'o', "ee\n\n", 4);
	f = util_xcalloc(1, sizeof *f);
	f->left = UINT64_MAX;
	f->fd = openat(dfd, "log", O_RDONLY | O_CLOEXEC);
	rec = logs_next(f);
	CHECK(rec && !strcmp(rec + 31, "oone"));
	rec = logs_next(f);
	CHECK(rec && !strcmp(rec + 31, "otwo"));
	rec = logs_next(f);
	CHECK(rec && !strcmp(rec + 31, "Othr"));    /* a piece without newline */
	rec = logs_next(f);
	CHECK(rec && !strcmp(rec + 31, "eerr"));
	rec = logs_next(f);
	CHECK(rec && !strcmp(rec + 31, "oee"));
	rec = logs_next(f);
	CHECK(rec && !strcmp(rec + 31, "o"));       /* an empty line */
	CHECK(logs_next(f) == NULL);
	close(f->fd);
	/* a piece longer than a chunk is split, never lost */
	memset(big, 'x', sizeof big);
	ctr_log_write(&l, 'o', big, sizeof big);
	/* rotation: never a file over max-size, never more than max-file */
	for (lines = 0; lines < 2000; lines++) {
		char line[32];
		int n = snprintf(line, sizeof line, "line %d\n", lines);
		ctr_log_write(&l, 'o', line, (size_t)n);
	}
	close(l.fd);
	CHECK(fstatat(dfd, "log", &sb, 0) == 0 && sb.st_size <= 4096);
	CHECK(fstatat(dfd, "log.1", &sb, 0) == 0 && sb.st_size <= 4096);
	CHECK(fstatat(dfd, "log.2", &sb, 0) == 0 && sb.st_size <= 4096);
	CHECK(fstatat(dfd, "log.3", &sb, 0) < 0);
	/* the newest file ends with the last line, records are whole */
	f->fd = openat(dfd, "log", O_RDONLY | O_CLOEXEC);
	f->pos = f->len = 0;
	lines = 0;
	while ((rec = logs_next(f)) != NULL) {
		ok &= strlen(rec) > 31 && rec[30] == ' ' && (rec[31] == 'o' || rec[31] == 'O');
		if (strstr(rec, "line 1999"))
			lines = 1;
	}
	CHECK(ok && lines == 1);
	close(f->fd);
	/* max-file 1: the one file is truncated */
	c.log_max_file = 1;
	CHECK(ctr_log_open(&l, dfd, &c) >= 0);
	for (lines = 0; lines < 500; lines++)
		ctr_log_write(&l, 'e', "0123456789012345678901234567890123456789\n", 41);
	CHECK(fstat(l.fd, &sb) == 0 && sb.st_size <= 4096 && sb.st_size > 0);
	close(l.fd);
	free(f);
	close(dfd);
	ctr_free(&c);
	unit_rmdir(dir);
}

static void t_ctr_ps(void)
{
	struct ctr_row r;
	struct mr_buf b = { 0 };
	memset(&r, 0, sizeof r);
	ctr_init(&r.c);
	snprintf(r.c.id, sizeof r.c.id, "%s", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	snprintf(r.c.name, sizeof r.c.name, "web");
	r.c.image_ref = "busybox";
	ctr_list_add(&r.c.entrypoint, "/docker-entrypoint.sh");
	ctr_list_add(&r.c.cmd, "nginx");
	ctr_list_add(&r.c.labels, "tier=front");
	ctr_list_add(&r.c.labels, "k=a\"b");
	ps_command(&r.c, 0, &b);
	CHECK(!strcmp(b.data, "\"/docker-entrypoint.\xe2\x80\xa6\""));   /* 19 characters + … */
	b.len = 0;
	ps_command(&r.c, 1, &b);
	CHECK(!strcmp(b.data, "\"/docker-entrypoint.sh nginx\""));
	b.len = 0;
	CHECK(ps_render("{{.ID}} {{ .Names }}\\t{{.Image}}", &r, 0, &b) == 0);
	CHECK(!strcmp(b.data, "0123456789ab web\tbusybox"));
	b.len = 0;
	CHECK(ps_render("{{.Label \"tier\"}}|{{.Labels}}|{{.State}}", &r, 0, &b) == 0);
	CHECK(!strcmp(b.data, "front|tier=front,k=a\"b|created"));
	b.len = 0;
	CHECK(ps_render("{{.ID}}\\t{{.Status}}", NULL, 0, &b) == 0 && !strcmp(b.data, "CONTAINER ID\tSTATUS"));
	b.len = 0;
	CHECK(ps_render("{{.Nope}}", &r, 0, &b) < 0 && ps_render("{{.ID", &r, 0, &b) < 0);
	CHECK(ps_render("{{json .}}", &r, 0, &b) < 0);
	b.len = 0;
	CHECK(ps_render("plain", &r, 0, &b) == 0 && !strcmp(b.data, "plain"));
	mr_buf_free(&b);
	ctr_free(&r.c);
}

/* Records in a real store: create, find (ID, name, prefix), names unique,
 * rename, state, users of an image, removal. */
static void t_ctr_store(void)
{
	char dir[PATH_MAX], root[PATH_MAX + 8], run[PATH_MAX + 8], id[CTR_ID_LEN + 1], who[64];
	struct mr_store st;
	struct mr_err err;
	struct ctr c, d;
	struct ctr_state s;
	struct ctr_info ci;
	if (!unit_tmpdir(dir, sizeof dir))
		return;
	snprintf(root, sizeof root, "%s/root", dir);
	snprintf(run, sizeof run, "%s/run", dir);
	CHECK(mr_store_open(&st, root, run, &err) == 0);
	ctr_init(&c);
	snprintf(c.id, sizeof c.id, "%064d", 7);
	snprintf(c.name, sizeof c.name, "first");
	snprintf(c.image, sizeof c.image, "sha256:%064d", 1);
	snprintf(c.driver, sizeof c.driver, "copy");
	c.image_ref = "img";
	c.hostname = "h";
	ctr_list_add(&c.cmd, "true");
	ctr_list_add(&c.env, "A=1");
	ctr_list_add(&c.labels, "k=v");
	CHECK(ctr_create(&st, &c, 1, &err) == 0);
	CHECK(ctr_find(&st, "first", id, &err) == 0 && !strcmp(id, c.id));
	CHECK(ctr_find(&st, "/first", id, &err) == 0 && !strcmp(id, c.id));
	CHECK(ctr_find(&st, "0000000000000", id, &err) == 0 && !strcmp(id, c.id));
	CHECK(ctr_find(&st, c.id, id, &err) == 0);
	CHECK(ctr_find(&st, "second", id, &err) < 0 && err.code == MR_ENOTFOUND);
	CHECK(!strcmp(err.msg, "No such container: second"));
	CHECK(ctr_load(&st, c.id, &d, &err) == 0);
	CHECK(!strcmp(d.name, "first") && !strcmp(d.image_ref, "img") && d.cmd.n == 1 &&
	      !strcmp(ctr_env_get(&d.env, "A"), "1") && !strcmp(d.labels.v[0], "k=v") &&
	      !strcmp(d.driver, "copy") && d.stop_timeout == -1 && !strcmp(d.restart, "no"));
	ctr_free(&d);
	/* the same name again: a conflict naming the holder */
	ctr_init(&d);
	snprintf(d.id, sizeof d.id, "%064d", 8);
	snprintf(d.name, sizeof d.name, "first");
	snprintf(d.image, sizeof d.image, "sha256:%064d", 2);
	snprintf(d.driver, sizeof d.driver, "copy");
	d.image_ref = "img";
	d.hostname = "h";
	CHECK(ctr_create(&st, &d, 1, &err) < 0 && err.code == MR_EEXIST && strstr(err.msg, c.id));
	/* a generated name is drawn again */
	CHECK(ctr_create(&st, &d, 0, &err) == 0 && strcmp(d.name, "first") && ctr_name_valid(d.name));
	CHECK(ctr_find(&st, "0", id, &err) < 0 && strstr(err.msg, "multiple"));
	CHECK(container_users_of_image(&st, c.image, who, sizeof who) == 1 && !strcmp(who, "000000000000"));
	/* a stale name link (its container gone) is free again */
	CHECK(ctr_remove(&st, &c, &err) == 0);
	CHECK(ctr_find(&st, "first", id, &err) < 0);
	snprintf(c.id, sizeof c.id, "%064d", 9);
	CHECK(ctr_create(&st, &c, 1, &err) == 0);
	/* state: a start without exit whose owner is gone reads Exited (255) */
	memset(&s, 0, sizeof s);
	s.running = 1;
	snprintf(s.started, sizeof s.started, "2024-01-02T03:04:05.000000000Z");
	CHECK(ctr_state_write(&st, c.id, &s, 1, &err) == 0);
	ctr_info_get(&st, c.id, &ci);
	CHECK(ci.status == CTR_EXITED && ci.st.exit_code == 255);
	s.running = 0;
	s.exit_code = 3;
	s.oom_killed = 1;
	s.restart_count = 2;
	snprintf(s.finished, sizeof s.finished, "2024-01-02T03:04:06.000000000Z");
	snprintf(s.error, sizeof s.error, "boom");
	CHECK(ctr_state_write(&st, c.id, &s, 0, &err) == 0);
	ctr_info_get(&st, c.id, &ci);
	CHECK(ci.status == CTR_EXITED && ci.st.exit_code == 3);
	/* every field of state.json comes back */
	CHECK(ci.st.oom_killed == 1 && ci.st.restart_count == 2 && !ci.st.stopped_by_user &&
	      !strcmp(ci.st.started, s.started) && !strcmp(ci.st.finished, s.finished) &&
	      !strcmp(ci.st.error, "boom"));
	ctr_info_get(&st, d.id, &ci);
	CHECK(ci.status == CTR_CREATED);
	CHECK(ctr_remove(&st, &c, &err) == 0 && ctr_remove(&st, &d, &err) == 0);
	CHECK(container_users_of_image(&st, c.image, who, sizeof who) == 0);
	ctr_free(&c);
	ctr_free(&d);
	mr_store_close(&st);
	unit_rmdir(dir);
}

/* --volumes-from: the source's volumes and binds (not tmpfs) in its modes or
 * forced :ro/:rw; VolumesFrom kept in the record; system df's layer counting. */
static void t_ctr_volumes_from(void)
{
	char dir[PATH_MAX], root[PATH_MAX + 8], run[PATH_MAX + 8], who[80];
	struct mr_store st;
	struct mr_err err;
	struct mount_spec mnt[3], *from = NULL;
	struct ctr c, d;
	size_t nfrom = 0;
	struct image_db db;
	char layers[3][65] = { "a", "b", "c" }, layers2[2][65] = { "b", "b" }, layers3[1][65] = { "x" };
	uint64_t sizes[3] = { 1, 2, 3 };
	struct image_rec recs[3];
	if (!unit_tmpdir(dir, sizeof dir))
		return;
	snprintf(root, sizeof root, "%s/root", dir);
	snprintf(run, sizeof run, "%s/run", dir);
	CHECK(mr_store_open(&st, root, run, &err) == 0);
	CHECK(mount_parse_v("vfvol:/v", &mnt[0], &err) == 0);
	CHECK(mount_parse_v("/srv/site:/b:ro", &mnt[1], &err) == 0);
	CHECK(mount_parse_tmpfs("/t", &mnt[2], &err) == 0);
	ctr_init(&c);
	snprintf(c.id, sizeof c.id, "%064d", 5);
	snprintf(c.name, sizeof c.name, "source");
	snprintf(c.image, sizeof c.image, "sha256:%064d", 1);
	snprintf(c.driver, sizeof c.driver, "copy");
	c.image_ref = c.hostname = "h";
	c.mnt = mnt;
	c.nmnt = 3;
	ctr_list_add(&c.volumes_from, "other:ro");
	CHECK(ctr_create(&st, &c, 1, &err) == 0);
	CHECK(ctr_load(&st, c.id, &d, &err) == 0 && d.volumes_from.n == 1 &&
	      !strcmp(d.volumes_from.v[0], "other:ro") && d.nmnt == 3);
	ctr_free(&d);
	CHECK(ctr_volumes_from(&st, "source", &from, &nfrom, &err) == 0 && nfrom == 2);
	CHECK(nfrom == 2 && !strcmp(from[0].source, "vfvol") && !from[0].readonly &&
	      from[1].type == MOUNT_BIND && from[1].readonly && !from[1].from_v);
	CHECK(ctr_volumes_from(&st, "source:rw", &from, &nfrom, &err) == 0 && nfrom == 4 &&
	      !from[3].readonly);
	CHECK(ctr_volumes_from(&st, "source:ro", &from, &nfrom, &err) == 0 && nfrom == 6 &&
	      from[4].readonly && from[5].readonly);
	CHECK(ctr_volumes_from(&st, "source:xx", &from, &nfrom, &err) < 0 &&
	      !strcmp(err.msg, "invalid mode: xx") && nfrom == 6);
	CHECK(ctr_volumes_from(&st, "nosuch", &from, &nfrom, &err) < 0 &&
	      !strcmp(err.msg, "No such container: nosuch"));
	CHECK(container_users_of_volume(&st, "vfvol", who, sizeof who) == 1 && !strcmp(who, c.id));
	{
		/* the in-use rule is the volume code's, whoever calls it */
		char vname[80], want[160];
		int created = 0;
		CHECK(volume_create(&st, "vfvol", NULL, 0, 0, vname, sizeof vname, &created, &err) == 0 &&
		      created);
		snprintf(want, sizeof want, "remove vfvol: volume is in use - [%s]", c.id);
		CHECK(volume_remove(&st, "vfvol", &err) < 0 && err.code == MR_EINUSE &&
		      !strcmp(err.msg, want));
		CHECK(volume_exists(&st, "vfvol") && st.locked == 0);
		CHECK(volume_remove(&st, "nosuchvol", &err) < 0 && err.code == MR_ENOTFOUND);
	}
	free(from);
	c.mnt = NULL;
	c.nmnt = 0;
	CHECK(ctr_remove(&st, &c, &err) == 0);
	CHECK(volume_remove(&st, "vfvol", &err) == 0 && !volume_exists(&st, "vfvol"));
	ctr_free(&c);
	mr_store_close(&st);
	unit_rmdir(dir);
	/* a layer shared by two images, or twice in one, is counted once */
	memset(&db, 0, sizeof db);
	memset(recs, 0, sizeof recs);
	recs[0].nlayers = 3;
	recs[0].layers = layers;
	recs[0].sizes = sizes;
	recs[1].nlayers = 2;
	recs[1].layers = layers2;
	recs[1].sizes = sizes;
	db.recs = recs;
	db.nrecs = 2;
	CHECK(!check_layer_seen(&db, 0, 0) && !check_layer_seen(&db, 0, 2));
	CHECK(check_layer_seen(&db, 1, 0) && check_layer_seen(&db, 1, 1));
	/* shared with another image, whatever lies between them, once per layer */
	recs[2] = recs[1];
	recs[1].nlayers = 1;
	recs[1].layers = layers3;
	db.nrecs = 3;
	CHECK(!check_layer_shared(&db, 0, 0) && check_layer_shared(&db, 0, 1) && !check_layer_shared(&db, 0, 2));
	CHECK(!check_layer_shared(&db, 1, 0) && check_layer_shared(&db, 2, 0) && check_layer_shared(&db, 2, 1));
}

static void t_ctr_run_params(void)
{
	struct mr_err err;
	struct ctr_ids ids;
	struct ctr_list add = { 0 };
	long long soft, hard;
	static const char group[] = "root:x:0:\naudio:x:29:pi\ndialout:x:20:\n";
	CHECK(ctr_sysctl_check("net.ipv4.ip_forward=1", 0, 0, &err) == 0);
	CHECK(ctr_sysctl_check("net/ipv4/conf/eth0.100/rp_filter=0", 0, 0, &err) == 0);
	CHECK(ctr_sysctl_check("kernel.shmmax=1000", 0, 0, &err) == 0);
	CHECK(ctr_sysctl_check("fs.mqueue.msg_max=64", 0, 0, &err) == 0);
	CHECK(ctr_sysctl_check("kernel.domainname=x", 0, 0, &err) == 0);
	CHECK(ctr_sysctl_check("net.ipv4.ip_forward=1", 1, 0, &err) < 0 &&
	      strstr(err.msg, "not allowed in host network namespace"));
	CHECK(ctr_sysctl_check("kernel.sem=1 2 3 4", 0, 1, &err) < 0 &&
	      strstr(err.msg, "not allowed in host IPC namespace"));
	CHECK(ctr_sysctl_check("kernel.hostname=x", 0, 0, &err) < 0 &&
	      strstr(err.msg, "is not in a separate kernel namespace"));
	CHECK(ctr_sysctl_check("vm.swappiness=1", 0, 0, &err) < 0);
	CHECK(ctr_sysctl_check("net.ipv4.ip_forward", 0, 0, &err) < 0 && strstr(err.msg, "KEY=VALUE"));
	CHECK(ctr_sysctl_check("net.ipv4.ip_forward=", 0, 0, &err) < 0);
	CHECK(ctr_sysctl_check("net/../../kernel/x=1", 0, 0, &err) < 0 && strstr(err.msg, "invalid sysctl key"));
	CHECK(ctr_sysctl_check("net.ipv4 .x=1", 0, 0, &err) < 0);
	CHECK(ctr_ulimit_parse("nofile=1024:2048", &soft, &hard, &err) == RLIMIT_NOFILE &&
	      soft == 1024 && hard == 2048);
	CHECK(ctr_ulimit_parse("core=0", &soft, &hard, &err) == RLIMIT_CORE && soft == 0 && hard == 0);
	CHECK(ctr_ulimit_parse("memlock=-1:-1", &soft, &hard, &err) == RLIMIT_MEMLOCK && soft == -1);
	CHECK(ctr_ulimit_parse("nofile=10:5", &soft, &hard, &err) < 0 && strstr(err.msg, "10 > 5"));
	CHECK(ctr_ulimit_parse("nofile=-1:5", &soft, &hard, &err) < 0);
	CHECK(ctr_ulimit_parse("nofiles=1", &soft, &hard, &err) < 0 && strstr(err.msg, "invalid ulimit type: nofiles"));
	CHECK(ctr_ulimit_parse("nofile", &soft, &hard, &err) < 0 && strstr(err.msg, "invalid ulimit argument"));
	CHECK(ctr_ulimit_parse("nofile=1x", &soft, &hard, &err) < 0);
	CHECK(ctr_ulimit_parse("nofile=1:", &soft, &hard, &err) < 0);
	CHECK(ctr_ulimit_parse("nofile=:1", &soft, &hard, &err) < 0);
	{
		int64_t ns;
		struct ctr c;
		struct ctr_opts o;
		struct mr_json_doc img = { 0 }, none = { 0 };
		static const char cfg[] = "{\"Healthcheck\":{\"Test\":[\"CMD\",\"/bin/check\",\"-q\"],"
			"\"Interval\":5000000000,\"Timeout\":2000000000,\"Retries\":4}}";
		CHECK(util_parse_duration("30s", &ns) == 0 && ns == 30000000000LL);
		CHECK(util_parse_duration("1m30s", &ns) == 0 && ns == 90000000000LL);
		CHECK(util_parse_duration("1.5h", &ns) == 0 && ns == 5400000000000LL);
		CHECK(util_parse_duration("500ms", &ns) == 0 && ns == 500000000);
		CHECK(util_parse_duration("2us", &ns) == 0 && ns == 2000);
		CHECK(util_parse_duration("0.25s", &ns) == 0 && ns == 250000000);
		CHECK(util_parse_duration("", &ns) < 0 && util_parse_duration("5", &ns) < 0 &&
		      util_parse_duration("5x", &ns) < 0 && util_parse_duration("s", &ns) < 0 &&
		      util_parse_duration(".s", &ns) < 0 && util_parse_duration("1mm", &ns) < 0);
		CHECK(mr_json_parse(&img, cfg, sizeof cfg - 1, &err) == 0);
		CHECK(mr_json_parse(&none, "{\"Healthcheck\":{\"Test\":[\"NONE\"]}}", 33, &err) == 0);
		memset(&c, 0, sizeof c);
		memset(&o, 0, sizeof o);
		CHECK(ctr_spec_health(&c, &o, img.root, &err) == 0 && c.health_test.n == 3 &&
		      !strcmp(c.health_test.v[0], "CMD") && c.health_interval == 5000000000LL &&
		      c.health_timeout == 2000000000LL && c.health_retries == 4);
		o.health_cmd = "curl -f localhost";
		o.health_interval = "10s";
		o.health_retries = "1";
		CHECK(ctr_spec_health(&c, &o, img.root, &err) == 0 && c.health_test.n == 2 &&
		      !strcmp(c.health_test.v[0], "CMD-SHELL") && !strcmp(c.health_test.v[1], "curl -f localhost") &&
		      c.health_interval == 10000000000LL && c.health_timeout == 2000000000LL &&
		      c.health_retries == 1);
		memset(&o, 0, sizeof o);
		o.no_healthcheck = 1;
		ctr_list_free(&c.health_test);
		CHECK(ctr_spec_health(&c, &o, img.root, &err) == 0 && c.health_test.n == 0);
		memset(&o, 0, sizeof o);
		CHECK(ctr_spec_health(&c, &o, none.root, &err) == 0 && c.health_test.n == 0);
		o.health_timeout = "10";
		CHECK(ctr_spec_health(&c, &o, none.root, &err) < 0 && strstr(err.msg, "--health-timeout"));
		ctr_list_free(&c.health_test);
		mr_json_free(&img);
		mr_json_free(&none);
	}
	memset(&ids, 0, sizeof ids);
	ids.groups[ids.ngroups++] = 29;
	ctr_list_add(&add, "dialout");
	ctr_list_add(&add, "1234");
	ctr_list_add(&add, "audio");             /* already there: once */
	CHECK(ctr_ids_add_groups(&add, group, &ids, &err) == 0 && ids.ngroups == 3 &&
	      ids.groups[1] == 20 && ids.groups[2] == 1234);
	ctr_list_add(&add, "video");
	CHECK(ctr_ids_add_groups(&add, group, &ids, &err) < 0 &&
	      strstr(err.msg, "Unable to find group video"));
	CHECK(ctr_ids_add_groups(&add, NULL, &ids, &err) < 0);
	ctr_list_free(&add);
}

/* ---- devices ---- */

/* What the policy must answer: some rule covers the type, numbers and every
 * access bit asked for. */
static int unit_dev_allowed(const struct dev_rule *r, size_t n, char type, int maj, int min,
			    unsigned acc)
{
	size_t i;
	for (i = 0; i < n; i++)
		if ((r[i].type == 'a' || r[i].type == type) && (r[i].major < 0 || r[i].major == maj) &&
		    (r[i].minor < 0 || r[i].minor == min) && !(acc & ~(unsigned)r[i].access))
			return 1;
	return 0;
}

static void t_ctr_device_parsers(void)
{
	struct dev_rule r;
	struct dev_node n;
	struct mr_err err;
	char acc[4];
	unsigned char a;
	CHECK(dev_rule_parse("c 1:3 rwm", &r) == 0 && r.type == 'c' && r.major == 1 && r.minor == 3 &&
	      r.access == (DEV_R | DEV_W | DEV_M));
	CHECK(dev_rule_parse("a *:* m", &r) == 0 && r.type == 'a' && r.major == -1 && r.minor == -1 &&
	      r.access == DEV_M);
	CHECK(dev_rule_parse("b 8:* wr", &r) == 0 && r.type == 'b' && r.major == 8 && r.minor == -1 &&
	      r.access == (DEV_R | DEV_W));
	CHECK(dev_rule_parse("c 1048575:0 r", &r) == 0 && r.major == 1048575);
	CHECK(dev_rule_parse("c 1048576:0 r", &r) < 0);
	CHECK(dev_rule_parse("x 1:3 r", &r) < 0);
	CHECK(dev_rule_parse("c 1:3", &r) < 0);
	CHECK(dev_rule_parse("c 1:3 ", &r) < 0);
	CHECK(dev_rule_parse("c 1:3 rr", &r) < 0);
	CHECK(dev_rule_parse("c 1:3 rwx", &r) < 0);
	CHECK(dev_rule_parse("c 1-3 r", &r) < 0);
	CHECK(dev_rule_parse("c :3 r", &r) < 0);
	CHECK(dev_rule_parse("c1:3 r", &r) < 0);
	CHECK(dev_rule_parse("c 1:3  r", &r) < 0);
	CHECK(dev_access_parse("mrw", &a) == 0 && a == 7 && !strcmp(dev_access_str(a, acc), "rwm"));
	CHECK(dev_access_parse("", &a) < 0 && dev_access_parse("rwmr", &a) < 0);
	CHECK(!strcmp(dev_access_str(DEV_M, acc), "m") && !strcmp(dev_access_str(0, acc), ""));
	/* --device as Docker splits it */
	CHECK(dev_resolve("/dev/null", &n, &err) == 0 && !strcmp(n.host, "/dev/null") &&
	      !strcmp(n.path, "/dev/null") && n.rule.type == 'c' && n.rule.major == 1 &&
	      n.rule.minor == 3 && n.rule.access == 7);
	CHECK(dev_resolve("/dev/null:/dev/mynull", &n, &err) == 0 && !strcmp(n.path, "/dev/mynull") &&
	      n.rule.access == 7);
	CHECK(dev_resolve("/dev/null:r", &n, &err) == 0 && !strcmp(n.path, "/dev/null") &&
	      n.rule.access == DEV_R);
	CHECK(dev_resolve("/dev/null:/x:wm", &n, &err) == 0 && !strcmp(n.path, "/x") &&
	      n.rule.access == (DEV_W | DEV_M));
	CHECK(dev_resolve("/dev/null:rw:r", &n, &err) == 0 && !strcmp(n.path, "/dev/null") &&
	      n.rule.access == (DEV_R | DEV_W));
	CHECK(dev_resolve("/dev/null:/x:q", &n, &err) < 0 && strstr(err.msg, "bad mode specified: q"));
	CHECK(dev_resolve("/dev/null:x", &n, &err) < 0 && strstr(err.msg, "x is not an absolute path"));
	CHECK(dev_resolve("dev/null", &n, &err) < 0 && strstr(err.msg, "not an absolute path"));
	CHECK(dev_resolve("/dev/null:/a:r:w", &n, &err) < 0 && strstr(err.msg, "invalid device specification"));
	CHECK(dev_resolve("/nonexistent-device", &n, &err) < 0 && strstr(err.msg, "error gathering "
	      "device information while adding custom device \"/nonexistent-device\""));
	CHECK(dev_resolve("/tmp", &n, &err) < 0 && strstr(err.msg, "not a device node"));
}

#if MINIRUN_WITH_CGROUPS
/* Runs a device program the way the kernel's hook would, for one access. */
static int unit_ebpf_run(const struct bpf_insn *p, size_t len, char type, int maj, int min,
			 unsigned acc)
{
	uint32_t ctx[3];
	uint64_t reg[11] = { 0 };
	size_t pc = 0;
	ctx[0] = (uint32_t)(acc << 16 | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
	ctx[1] = (uint32_t)maj;
	ctx[2] = (uint32_t)min;
	while (pc < len) {
		const struct bpf_insn *i = &p[pc++];
		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			if (i->src_reg != 1 || i->off % 4 || i->off > 8 || i->imm)
				return -1;
			reg[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X: reg[i->dst_reg] = reg[i->src_reg]; break;
		case BPF_ALU64 | BPF_MOV | BPF_K: reg[i->dst_reg] = (uint64_t)(int64_t)i->imm; break;
		case BPF_ALU64 | BPF_RSH | BPF_K: reg[i->dst_reg] >>= i->imm; break;
		case BPF_ALU64 | BPF_AND | BPF_K: reg[i->dst_reg] &= (uint64_t)(int64_t)i->imm; break;
		case BPF_JMP | BPF_JNE | BPF_K:
			if (reg[i->dst_reg] != (uint64_t)(int64_t)i->imm)
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_EXIT: return (int)reg[0];
		default: return -1;
		}
	}
	return -2;                               /* ran off the end */
}

static void t_ctr_device_program(void)
{
	static const int majors[] = { 1, 4, 5, 8, 10, 136, 254 };
	static const int minors[] = { 0, 1, 2, 3, 5, 7, 8, 9, 11, 200 };
	struct ctr c;
	struct dev_node node;
	struct mr_err err;
	struct dev_rule *r;
	struct bpf_insn prog[400];
	size_t n, len, a, b, t, k;
	int same = 1, fd;
	union bpf_attr attr;
	static char log[16384];
	memset(&c, 0, sizeof c);
	CHECK(dev_resolve("/dev/null:/dev/x:r", &node, &err) == 0);
	node.rule.major = 254;                   /* as if it were a disk, read-only */
	node.rule.type = 'b';
	ctr_list_add(&c.device_rules, "c 10:* rw");
	ctr_list_add(&c.device_rules, "a 4:1 m");
	r = dev_policy_rules(&c, &node, 1, &n);
	CHECK(n == sizeof dev_default_rules / sizeof dev_default_rules[0] + 3);
	len = dev_bpf_program(r, n, prog);
	CHECK(len <= 8 + 10 * n);
	for (t = 0; t < 2; t++)
		for (a = 0; a < sizeof majors / sizeof *majors; a++)
			for (b = 0; b < sizeof minors / sizeof *minors; b++)
				for (k = 1; k < 8; k++)
					if (unit_ebpf_run(prog, len, t ? 'b' : 'c', majors[a], minors[b], (unsigned)k) !=
					    unit_dev_allowed(r, n, t ? 'b' : 'c', majors[a], minors[b], (unsigned)k))
						same = 0;
	CHECK(same);
	CHECK(unit_ebpf_run(prog, len, 'c', 1, 3, DEV_R | DEV_W) == 1);       /* /dev/null */
	CHECK(unit_ebpf_run(prog, len, 'c', 1, 11, DEV_W) == 0);              /* /dev/kmsg */
	CHECK(unit_ebpf_run(prog, len, 'c', 1, 11, DEV_M) == 1);              /* made, not opened */
	CHECK(unit_ebpf_run(prog, len, 'b', 254, 3, DEV_R) == 1);
	CHECK(unit_ebpf_run(prog, len, 'b', 254, 3, DEV_W) == 0);
	CHECK(unit_ebpf_run(prog, len, 'c', 136, 7, DEV_R | DEV_W) == 1);     /* a pty */
	CHECK(unit_ebpf_run(prog, len, 'c', 10, 200, DEV_R | DEV_W) == 1);
	/* no one rule covers mknod and open together: refused, as the kernel's
	 * v1 controller would (each access is asked on its own in practice) */
	CHECK(unit_ebpf_run(prog, len, 'c', 10, 200, DEV_M | DEV_W | DEV_R) == 0);
	/* the kernel's verifier takes it (as root, with BPF in the kernel) */
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insn_cnt = (uint32_t)len;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof log;
	attr.log_level = 1;
	fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
	if (fd >= 0) {
		CHECK(fd >= 0);
		close(fd);
	} else if (errno == EPERM || errno == ENOSYS) {
		UNIT_SKIP("device program not loaded into the kernel (%s)",
		       strerror(errno));
	} else {
		fprintf(stderr, "verifier: %s\n", log);
		CHECK(fd >= 0);
	}
	free(r);
	ctr_list_free(&c.device_rules);
}
#else
static void t_ctr_device_program(void)
{
}
#endif

#if MINIRUN_WITH_SECCOMP
/* Runs the filter the way the kernel would, for one call. */
static uint32_t unit_bpf_run(const struct sock_filter *prog, unsigned len, int nr, uint32_t arch, uint32_t arg0)
{
	uint32_t acc = 0;
	unsigned pc = 0;
	while (pc < len) {
		const struct sock_filter *f = &prog[pc++];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			acc = f->k == offsetof(struct seccomp_data, nr) ? (uint32_t)nr :
			      f->k == offsetof(struct seccomp_data, arch) ? arch :
			      f->k == offsetof(struct seccomp_data, args[0]) ? arg0 : 0xdeadbeef;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += acc == f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: pc += acc >= f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: pc += (acc & f->k) ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JA: pc += f->k; break;
		case BPF_RET | BPF_K: return f->k;
		default: return 0xffffffff;
		}
	}
	return 0xfffffffe;                       /* ran off the end: an invalid program */
}

static void test_container_seccomp(void)
{
	struct sock_filter prog[SECCOMP_PROG_MAX];
	unsigned len = isolate_seccomp_build(0, prog);
	const uint32_t allow = SECCOMP_RET_ALLOW, eperm = SECCOMP_RET_ERRNO | EPERM;
	CHECK(len > 40 && len <= sizeof prog / sizeof prog[0]);
	CHECK(unit_bpf_run(prog, len, SYS_getpid, SECCOMP_ARCH, 0) == allow);
	CHECK(unit_bpf_run(prog, len, SYS_read, SECCOMP_ARCH, 0) == allow);
	CHECK(unit_bpf_run(prog, len, SYS_add_key, SECCOMP_ARCH, 0) == eperm);
	CHECK(unit_bpf_run(prog, len, SYS_mount, SECCOMP_ARCH, 0) == eperm);
	CHECK(unit_bpf_run(prog, len, SYS_reboot, SECCOMP_ARCH, 0) == eperm);
	CHECK(unit_bpf_run(prog, len, SYS_clone, SECCOMP_ARCH, SIGCHLD) == allow);
	CHECK(unit_bpf_run(prog, len, SYS_clone, SECCOMP_ARCH, CLONE_NEWNET | SIGCHLD) == eperm);
	CHECK(unit_bpf_run(prog, len, SYS_personality, SECCOMP_ARCH, 0xffffffff) == allow);
	CHECK(unit_bpf_run(prog, len, SYS_personality, SECCOMP_ARCH, 0x0400000) == eperm);
	CHECK(unit_bpf_run(prog, len, SYS_getpid, SECCOMP_ARCH ^ 1, 0) == eperm);   /* another arch */
#ifdef SYS_clone3
	CHECK(unit_bpf_run(prog, len, SYS_clone3, SECCOMP_ARCH, 0) == (SECCOMP_RET_ERRNO | ENOSYS));
#endif
#if defined(__x86_64__)
	CHECK(unit_bpf_run(prog, len, SYS_getpid | 0x40000000, SECCOMP_ARCH, 0) == eperm);  /* x32 */
#endif
	len = isolate_seccomp_build((uint64_t)1 << CAP_SYS_ADMIN | (uint64_t)1 << CAP_SYS_BOOT, prog);
	CHECK(unit_bpf_run(prog, len, SYS_mount, SECCOMP_ARCH, 0) == allow);
	CHECK(unit_bpf_run(prog, len, SYS_reboot, SECCOMP_ARCH, 0) == allow);
	CHECK(unit_bpf_run(prog, len, SYS_clone, SECCOMP_ARCH, CLONE_NEWNET) == allow);
	CHECK(unit_bpf_run(prog, len, SYS_add_key, SECCOMP_ARCH, 0) == eperm);
	CHECK(unit_bpf_run(prog, len, SYS_init_module, SECCOMP_ARCH, 0) == eperm);
	len = isolate_seccomp_build(~(uint64_t)0, prog);
	CHECK(unit_bpf_run(prog, len, SYS_keyctl, SECCOMP_ARCH, 0) == eperm);
	CHECK(unit_bpf_run(prog, len, SYS_init_module, SECCOMP_ARCH, 0) == allow);
}
#else
static void test_container_seccomp(void)
{
}
#endif

/* The run/create front end group by group ([14] ctr_spec_*: Docker's merge
 * rules of the image config and the flags, and their errors) and the back
 * end's checks ([19b] spec_check). */
static void t_ctr_spec(void)
{
	static const char cfg[] = "{\"Entrypoint\":[\"/entry\"],\"Cmd\":[\"default\"],"
		"\"Env\":[\"PATH=/bin\",\"A=image\"],\"WorkingDir\":\"/srv\",\"User\":\"web\","
		"\"Labels\":{\"from\":\"image\",\"k\":\"image\"},\"StopSignal\":\"SIGQUIT\","
		"\"Volumes\":{\"/data\":{},\"/b\":{}}}";
	const char *args[] = { "ls", "-l" };
	struct mr_json_doc img = { 0 };
	struct mr_err err;
	struct ctr_opts o;
	struct ctr c;
	CHECK(mr_json_parse(&img, cfg, sizeof cfg - 1, &err) == 0);
	/* process: the image's defaults, the flags over them */
	ctr_init(&c);
	memset(&o, 0, sizeof o);
	o.args = args;
	o.nargs = 2;
	ctr_list_add(&o.env, "A=flag");
	ctr_list_add(&o.env, "B=2");
	CHECK(ctr_spec_process(&c, &o, img.root, &err) == 0);
	CHECK(t_ctr_list_is(&c.entrypoint, "/entry") && t_ctr_list_is(&c.cmd, "ls|-l"));
	/* Docker's Config.Env order: the flags' variables, then the image's they leave */
	CHECK(t_ctr_list_is(&c.env, "A=flag|B=2|PATH=/bin"));
	CHECK(!strcmp(c.workdir, "/srv") && !strcmp(c.user, "web"));
	ctr_free(&c);
	ctr_init(&c);
	o.workdir = "rel";
	CHECK(ctr_spec_process(&c, &o, img.root, &err) < 0 &&
	      strstr(err.msg, "the working directory 'rel' is invalid"));
	ctr_free(&c);
	ctr_list_free(&o.env);
	memset(&o, 0, sizeof o);
	o.entrypoint = "";                   /* no entrypoint, and the image's Cmd dropped */
	ctr_init(&c);
	CHECK(ctr_spec_process(&c, &o, img.root, &err) < 0 && !strcmp(err.msg, "No command specified"));
	ctr_free(&c);

	/* namespaces */
	ctr_init(&c);
	memset(&o, 0, sizeof o);
	snprintf(c.id, sizeof c.id, "%064d", 7);
	CHECK(ctr_spec_namespaces(&c, &o, &err) == 0 && !strcmp(c.hostname, "000000000000") &&
	      !strcmp(c.ipc_mode, "private") && !*c.pid_mode && !*c.uts_mode && c.shm_size == 0);
	o.uts = "host";
	o.hostname = "x";
	CHECK(ctr_spec_namespaces(&c, &o, &err) < 0 &&
	      !strcmp(err.msg, "Conflicting options: hostname and the UTS mode"));
	o.uts = "bad";
	CHECK(ctr_spec_namespaces(&c, &o, &err) < 0 && strstr(err.msg, "invalid UTS mode: bad"));
	o.uts = NULL;
	o.ipc = "none";
	CHECK(ctr_spec_namespaces(&c, &o, &err) < 0 && strstr(err.msg, "invalid IPC mode: none"));
	o.ipc = "host";
	o.pid = "container:x";
	CHECK(ctr_spec_namespaces(&c, &o, &err) < 0 && strstr(err.msg, "invalid PID mode: container:x"));
	o.pid = "host";
	o.shm_size = "0";
	CHECK(ctr_spec_namespaces(&c, &o, &err) < 0 && !strcmp(err.msg, "invalid size: '0'"));
	o.shm_size = "128m";
	ctr_list_add(&o.sysctl, "kernel.shm_rmid_forced=1");   /* an IPC sysctl with --ipc host */
	CHECK(ctr_spec_namespaces(&c, &o, &err) < 0);
	ctr_list_free(&o.sysctl);
	CHECK(ctr_spec_namespaces(&c, &o, &err) == 0 && !strcmp(c.hostname, "x") &&
	      !strcmp(c.pid_mode, "host") && !strcmp(c.ipc_mode, "host") &&
	      c.shm_size == 128 << 20);
	ctr_free(&c);

	/* resources */
	ctr_init(&c);
	memset(&o, 0, sizeof o);
	o.memory = "5m";
	CHECK(ctr_spec_resources(&c, &o, &err) < 0 && !strcmp(err.msg, "Minimum memory limit allowed is 6MB"));
	o.memory = "64m";
	o.memory_swap = "32m";
	CHECK(ctr_spec_resources(&c, &o, &err) < 0 && strstr(err.msg, "Minimum memoryswap limit"));
	o.memory_swap = "-1";
	o.cpus = "0.5";
	o.pids_limit = "-1";
	ctr_list_add(&o.ulimit, "nofile=10:20");
	CHECK(ctr_spec_resources(&c, &o, &err) == 0 && c.memory == 64 << 20 && c.memory_swap == -1 &&
	      c.nano_cpus == 500000000 && c.pids_limit == 0 && t_ctr_list_is(&c.ulimits, "nofile=10:20"));
	ctr_list_free(&o.ulimit);
	o.cpus = "100000";
	CHECK(ctr_spec_resources(&c, &o, &err) < 0 && strstr(err.msg, "Range of CPUs is from 0.01"));
	o.cpus = NULL;
	o.memory = NULL;
	c.memory = 0;
	o.memory_swap = "1g";
	CHECK(ctr_spec_resources(&c, &o, &err) < 0 && strstr(err.msg, "always set the Memory limit"));
	ctr_free(&c);

	/* capabilities, devices, security options */
	ctr_init(&c);
	memset(&o, 0, sizeof o);
	ctr_list_add(&o.cap_add, "NET_ADMIN");
	ctr_list_add(&o.security_opt, "no-new-privileges");
	ctr_list_add(&o.device_rule, "c 42:* rmw");
	o.read_only = 1;
	CHECK(ctr_spec_security(&c, &o, &err) == 0 && c.no_new_privs && c.readonly &&
	      t_ctr_list_is(&c.cap_add, "NET_ADMIN") && t_ctr_list_is(&c.device_rules, "c 42:* rmw"));
	CHECK(spec_check(&c, &err) == 0);
	ctr_list_add(&c.cap_add, "NOPE");
	CHECK(spec_check(&c, &err) < 0 && !strcmp(err.msg, "unknown capability: \"NOPE\""));
	ctr_free(&c);
	ctr_list_free(&o.security_opt);
	ctr_list_add(&o.security_opt, "seccomp=/my.json");
	ctr_init(&c);
	CHECK(ctr_spec_security(&c, &o, &err) < 0 &&
	      strstr(err.msg, MINIRUN_WITH_SECCOMP_PROFILE ? "opening seccomp profile (/my.json) failed" :
		     "built without MINIRUN_WITH_SECCOMP_PROFILE"));
	ctr_free(&c);
	ctr_list_free(&o.security_opt);
	ctr_list_free(&o.device_rule);
	ctr_list_add(&o.device_rule, "x 1:2 r");
	ctr_init(&c);
	CHECK(ctr_spec_security(&c, &o, &err) < 0 && !strcmp(err.msg, "invalid device cgroup format 'x 1:2 r'"));
	ctr_free(&c);
	ctr_list_free(&o.device_rule);
	ctr_list_free(&o.cap_add);

	/* lifecycle and labels */
	ctr_init(&c);
	memset(&o, 0, sizeof o);
	ctr_list_add(&o.label, "k=flag");
	CHECK(ctr_spec_lifecycle(&c, &o, img.root, &err) == 0 &&
	      t_ctr_list_is(&c.labels, "from=image|k=flag") && !strcmp(c.stop_signal, "SIGQUIT") &&
	      !strcmp(c.restart, "no") && !c.auto_remove && c.stop_timeout == -1);
	ctr_list_free(&o.label);
	ctr_free(&c);
	ctr_init(&c);
	o.restart = "always";
	o.rm = 1;
	CHECK(ctr_spec_lifecycle(&c, &o, img.root, &err) < 0 &&
	      !strcmp(err.msg, "Conflicting options: --restart and --rm"));
	ctr_free(&c);
	ctr_init(&c);
	o.rm = 0;
	o.restart = "on-failure:3";
	o.stop_timeout = "5";
	ctr_list_add(&o.log_opt, "max-file=3");
	CHECK(ctr_spec_lifecycle(&c, &o, img.root, &err) == 0 && !strcmp(c.restart, "on-failure") &&
	      c.restart_max == 3 && c.stop_timeout == 5 && c.log_max_file == 3);
	ctr_free(&c);
	ctr_init(&c);
	ctr_list_free(&o.log_opt);
	ctr_list_add(&o.log_opt, "max-size=1k");
	CHECK(ctr_spec_lifecycle(&c, &o, img.root, &err) < 0 && strstr(err.msg, "invalid log opt 'max-size=1k'"));
	ctr_list_free(&o.log_opt);
	ctr_free(&c);
	ctr_init(&c);
	o.stop_signal = "SIGNOPE";
	CHECK(ctr_spec_lifecycle(&c, &o, img.root, &err) < 0 && !strcmp(err.msg, "Invalid signal: SIGNOPE"));
	ctr_free(&c);

	/* mounts: the flags', then an anonymous volume per image VOLUME not covered */
	ctr_init(&c);
	memset(&o, 0, sizeof o);
	ctr_list_add(&o.volume, "/host:/b:ro");
	ctr_list_add(&o.tmpfs, "/t");
	CHECK(ctr_spec_mounts(NULL, &o, &c, img.root, &err) == 0 && c.nmnt == 3 &&
	      c.mnt[0].type == MOUNT_BIND && !strcmp(c.mnt[0].target, "/b") && c.mnt[0].readonly &&
	      c.mnt[1].type == MOUNT_TMPFS && c.mnt[2].type == MOUNT_VOLUME && c.mnt[2].anonymous &&
	      !strcmp(c.mnt[2].target, "/data"));
	ctr_free(&c);
	ctr_init(&c);
	ctr_list_free(&o.tmpfs);
	ctr_list_add(&o.tmpfs, "/b");
	CHECK(ctr_spec_mounts(NULL, &o, &c, img.root, &err) < 0 && !strcmp(err.msg, "Duplicate mount point: /b"));
	ctr_free(&c);
	ctr_list_free(&o.volume);
	ctr_list_free(&o.tmpfs);

	/* identity: a valid name kept (without its '/'), a bad one refused */
	ctr_init(&c);
	CHECK(ctr_spec_identity(&c, "/web-1", &err) == 0 && !strcmp(c.name, "web-1") && ctr_is_id(c.id));
	CHECK(ctr_spec_identity(&c, "-x", &err) < 0 && strstr(err.msg, "Invalid container name (-x)"));
	CHECK(ctr_spec_identity(&c, NULL, &err) == 0 && ctr_name_valid(c.name));
	ctr_free(&c);
	mr_json_free(&img);
}

/* run/create's flags into struct ctr_opts ([21] run_parse): lists in order,
 * -h is --hostname, the image and its arguments after the flags. */
static void t_cli_run_parse(void)
{
	struct cli cl;
	struct ctr_opts o;
	char *argv[] = { "-d", "-h", "box", "-e", "A=1", "--env=B=2", "-v", "/h:/c", "--label",
			 "x=y", "--name", "web", "--read-only", "busybox", "sh", "-c", "echo -h" };
	char *bad[] = { "--nope", "busybox" }, *noimage[] = { "-d" };
	int n;
	memset(&cl, 0, sizeof cl);
	cl.cmd = "run";
	n = run_parse(&cl, &o, (int)(sizeof argv / sizeof *argv), argv, 1);
	CHECK(n == 4 && o.detach == 1 && o.read_only == 1 && !strcmp(o.hostname, "box") &&
	      !strcmp(o.name, "web") && !strcmp(o.image, "busybox") && o.nargs == 3 &&
	      !strcmp(o.args[0], "sh") && !strcmp(o.args[2], "echo -h"));
	CHECK(t_ctr_list_is(&o.env, "A=1|B=2") && t_ctr_list_is(&o.volume, "/h:/c") &&
	      t_ctr_list_is(&o.label, "x=y") && o.publish.n == 0);
	ctr_list_free(&o.env);
	ctr_list_free(&o.volume);
	ctr_list_free(&o.label);
	CHECK(run_parse(&cl, &o, 2, bad, 1) < 0);                  /* unknown flag */
	CHECK(run_parse(&cl, &o, 1, noimage, 1) < 0);              /* no image */
	CHECK(cli_flag_matches("a|all", "all", 3) && cli_flag_matches("a|all", "a", 1) &&
	      !cli_flag_matches("a|all", "al", 2) && !cli_flag_matches("a|all", "alll", 4));
}

/* [17] MONITOR's pure helpers: exit codes as Docker reports them, the
 * argv of a start or an exec, the environment Docker completes; [16] cgroup
 * paths. */
static void t_ctr_monitor_helpers(void)
{
	struct ctr c;
	struct ctr_list extra = { 0 }, xcmd = { 0 };
	char **v, path[256];
	size_t n;
	CHECK(ctr_exit_code(3 << 8) == 3 && ctr_exit_code(SIGKILL) == 137 &&
	      ctr_exit_code(SIGTERM) == 143 && ctr_exit_code(0) == 0);
	ctr_init(&c);
	c.hostname = "box";
	ctr_list_add(&c.entrypoint, "/entry");
	ctr_list_add(&c.cmd, "a");
	ctr_list_add(&c.cmd, "b");
	v = ctr_argv(&c, NULL);
	CHECK(v && !strcmp(v[0], "/entry") && !strcmp(v[1], "a") && !strcmp(v[2], "b") && !v[3]);
	free(v);
	ctr_list_add(&xcmd, "sh");
	v = ctr_argv(&c, &xcmd);                     /* exec: its own command only */
	CHECK(v && !strcmp(v[0], "sh") && !v[1]);
	free(v);
	ctr_list_add(&c.env, "PATH=/x");
	ctr_list_add(&c.env, "A=1");
	ctr_list_add(&extra, "A=2");
	v = ctr_envp(&c, &extra, 1, "/root");
	for (n = 0; v && v[n]; n++) {}
	/* Docker's order: PATH, HOSTNAME, TERM (replaced in place), then the rest */
	CHECK(v && n == 5 && !strcmp(v[0], "PATH=/x") && !strcmp(v[1], "HOSTNAME=box") &&
	      !strcmp(v[2], "TERM=xterm") && !strcmp(v[3], "A=2") && !strcmp(v[4], "HOME=/root"));
	if (v) {
		free(v[1]);     /* HOSTNAME= and HOME= are made by ctr_envp */
		free(v[4]);
	}
	free(v);
	v = ctr_envp(&c, NULL, 0, "/");              /* no TERM without -t */
	for (n = 0; v && v[n]; n++) {}
	CHECK(v && n == 4 && !strcmp(v[2], "A=1") && !strcmp(v[3], "HOME=/"));
	if (v) {
		free(v[1]);
		free(v[3]);
	}
	free(v);
	ctr_list_free(&extra);
	ctr_list_free(&xcmd);
	ctr_free(&c);
	cg_path(path, sizeof path, "", "abc", "memory.max");
	CHECK(!strcmp(path, CG_ROOT "/minirun/abc/memory.max"));
	cg_path(path, sizeof path, "pids", NULL, NULL);
	CHECK(!strcmp(path, CG_ROOT "/pids/minirun"));
}

static void test_container(void)
{
	test_container_seccomp();
	t_ctr_env();
	t_ctr_docker_order();
	t_ctr_env_file();
	t_ctr_command();
	t_ctr_small_parsers();
	t_ctr_restart();
	t_ctr_status();
	t_ctr_users();
	t_ctr_caps();
	t_ctr_resolv();
	t_ctr_log();
	t_ctr_ps();
	t_ctr_store();
	t_ctr_volumes_from();
	t_ctr_device_parsers();
	t_ctr_run_params();
	t_ctr_device_program();
	t_ctr_spec();
	t_cli_run_parse();
	t_ctr_monitor_helpers();
}
