/* Unit tests of [20] BOOT: declaration parsing, hashing, command words, order. */
static int t_boot_parse(struct boot_decl *d, const char *name, const char *text, struct mr_err *err)
{
	memset(d, 0, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", name);
	snprintf(d->file, sizeof d->file, "/c/%s.conf", name);
	err->msg[0] = 0;
	return boot_parse(d, util_xstrdup(text), err);
}

static void test_boot(void)
{
	struct boot_decl d, e, ds[4];
	struct mr_err err;
	struct ctr_list w = { 0 }, own = { 0 };
	size_t idx[4], i;
	char h[MR_DIGEST_LEN + 1];

	/* a full declaration */
	CHECK(t_boot_parse(&d, "web", "# c\n\n image = busybox \nenv=A=1\nenv = B = 2\n"
			   "volume = v:/data\nread_only = yes\norder = 7\ndepends_on = db, cache x\n"
			   "restart = on-failure:3\ncommand = echo '#not a comment'\r\n", &err) == 0);
	CHECK(d.ok && !strcmp(d.o.image, "busybox"));
	CHECK(d.o.env.n == 2 && !strcmp(d.o.env.v[0], "A=1") && !strcmp(d.o.env.v[1], "B = 2"));
	CHECK(d.o.read_only == 1 && d.order == 7 && d.o.volume.n == 1);
	CHECK(d.depends_on.n == 3 && !strcmp(d.depends_on.v[1], "cache") && !strcmp(d.depends_on.v[2], "x"));
	CHECK(!strcmp(d.command, "echo '#not a comment'"));
	CHECK(util_starts_with(d.hash, "sha256:"));
	snprintf(h, sizeof h, "%s", d.hash);
	boot_decl_free(&d);
	/* comments, blanks and spacing do not change the hash; a value does */
	CHECK(t_boot_parse(&d, "web", "image=busybox\n#x\nenv = A=1\n  env=B = 2\nvolume=v:/data\n"
			   "read_only=yes\norder=7\ndepends_on=db, cache x\nrestart=on-failure:3\n"
			   "command=echo '#not a comment'\n", &err) == 0);
	CHECK(!strcmp(d.hash, h));
	boot_decl_free(&d);
	/* network_alias (issue 17): a list, like --network-alias repeated */
	CHECK(t_boot_parse(&d, "web", "image=busybox\nnetwork = nn\nnetwork_alias = db\n"
			   "network_alias = cache\n", &err) == 0);
	CHECK(d.o.network_alias.n == 2 && !strcmp(d.o.network_alias.v[0], "db") &&
	      !strcmp(d.o.network_alias.v[1], "cache") && !strcmp(d.o.network, "nn"));
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "web2", "image=busybox\n", &err) == 0);
	CHECK(t_boot_parse(&e, "web3", "image=busybox\n", &err) == 0);
	CHECK(strcmp(d.hash, e.hash) != 0);   /* the name is part of it */
	boot_decl_free(&d);
	boot_decl_free(&e);

	/* malformed: file, line and key named */
	CHECK(t_boot_parse(&d, "a", "image = x\n\nbogus = 1\n", &err) < 0 && !d.ok);
	CHECK(strstr(err.msg, "/c/a.conf:3: unknown key 'bogus'") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\njust words\n", &err) < 0);
	CHECK(strstr(err.msg, "/c/a.conf:2: expected 'key = value'") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\nimage = y\n", &err) < 0);
	CHECK(strstr(err.msg, ":2: key 'image': given twice") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\nread_only = maybe\n", &err) < 0);
	CHECK(strstr(err.msg, ":2: key 'read_only': not a boolean") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\norder = -1\n", &err) < 0);
	CHECK(strstr(err.msg, "key 'order'") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\nenv =\n", &err) < 0);
	CHECK(strstr(err.msg, ":2: key 'env': empty value") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "command = true\n", &err) < 0);
	CHECK(strstr(err.msg, "missing key 'image'") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\nrestart = sometimes\n", &err) < 0);
	CHECK(strstr(err.msg, "key 'restart'") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "", &err) < 0);
	boot_decl_free(&d);

	/* update keys: parsed, checked, and not part of the hash */
	CHECK(t_boot_parse(&d, "u", "image = x\n", &err) == 0);
	CHECK(t_boot_parse(&e, "u", "image = x\npull = always\npull_interval = 1h\npull_rate = 100k\n"
			   "rollout_wait = 10\nlog = max-size=64k,location=ram\n", &err) == 0);
	CHECK(e.interval_ns == 3600000000000LL && e.rate == 102400 && e.wait_ns == 10000000000LL);
	CHECK(d.hash[0] && d.o.log_opt.n == 0 && e.o.log_opt.n == 1);
	boot_decl_free(&e);
	CHECK(t_boot_parse(&e, "u", "image = x\npull = always\npull_rate = 1m\n", &err) == 0);
	CHECK(!strcmp(d.hash, e.hash));   /* update keys do not replace the container */
	boot_decl_free(&e);
	CHECK(t_boot_parse(&e, "u", "image = x\nlog = max-file=3\n", &err) == 0);
	CHECK(strcmp(d.hash, e.hash));    /* log options do */
	boot_decl_free(&e);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\npull = sometimes\n", &err) < 0);
	CHECK(strstr(err.msg, "key 'pull': 'sometimes' is not never, missing or always") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\npull_interval = 1h\n", &err) < 0);
	CHECK(strstr(err.msg, "'pull_interval' needs pull = always") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\npull = always\npull_interval = 0\n", &err) < 0);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\npull_rate = 10\n", &err) < 0);
	CHECK(strstr(err.msg, "key 'pull_rate'") != NULL);
	boot_decl_free(&d);
	CHECK(t_boot_parse(&d, "a", "image = x\nrollout_wait = soon\n", &err) < 0);
	boot_decl_free(&d);

	/* --log-opt (and boot key log): comma-joined, location */
	{
		struct ctr c;
		ctr_init(&c);
		CHECK(ctr_log_opts(&c, "max-size=8k,max-file=3,location=ram", &err) == 0);
		CHECK(c.log_max_size == 8192 && c.log_max_file == 3 && c.log_ram == 1);
		CHECK(ctr_log_opts(&c, "location=store", &err) == 0 && c.log_ram == 0);
		CHECK(ctr_log_opts(&c, "max-size=4k,max-file=0", &err) < 0);
		CHECK(strstr(err.msg, "invalid log opt 'max-file=0'") != NULL);
		CHECK(ctr_log_opts(&c, "location=disk", &err) < 0);
		ctr_free(&c);
	}

	/* command words */
	CHECK(boot_words("  sh -c 'echo \"a b\"; x'  \"q\\\"x\" a\\ b ", &w, &own, &err) == 0);
	CHECK(w.n == 5 && !strcmp(w.v[0], "sh") && !strcmp(w.v[2], "echo \"a b\"; x"));
	CHECK(w.n == 5 && !strcmp(w.v[3], "q\"x") && !strcmp(w.v[4], "a b"));
	ctr_list_free(&w);
	CHECK(boot_words("[\"a b\", \"c\"]", &w, &own, &err) == 0 && w.n == 2 && !strcmp(w.v[0], "a b"));
	ctr_list_free(&w);
	CHECK(boot_words("'unterminated", &w, &own, &err) < 0);
	ctr_list_free(&w);
	CHECK(boot_words("[\"a\", 1]", &w, &own, &err) < 0);
	ctr_list_free(&w);
	CHECK(boot_words("[\"a\"", &w, &own, &err) < 0);
	ctr_list_free(&w);
	CHECK(boot_words("", &w, &own, &err) == 0 && w.n == 0);
	ctr_list_free(&w);
	for (i = 0; i < own.n; i++)
		free((char *)own.v[i]);
	ctr_list_free(&own);

	/* order: order number, then depends_on, then name; cycles broken */
	CHECK(t_boot_parse(&ds[0], "web", "image=x\ndepends_on=db\norder=1\n", &err) == 0);
	CHECK(t_boot_parse(&ds[1], "db", "image=x\norder=5\n", &err) == 0);
	CHECK(t_boot_parse(&ds[2], "aa", "image=x\norder=1\n", &err) == 0);
	CHECK(t_boot_parse(&ds[3], "zz", "image=x\ndepends_on=zz nothere\n", &err) == 0);
	boot_order(ds, 4, idx);
	CHECK(!strcmp(ds[idx[0]].name, "zz") && !strcmp(ds[idx[1]].name, "aa"));
	CHECK(!strcmp(ds[idx[2]].name, "db") && !strcmp(ds[idx[3]].name, "web"));
	for (i = 0; i < 4; i++)
		boot_decl_free(&ds[i]);
	CHECK(t_boot_parse(&ds[0], "a1", "image=x\ndepends_on=b1\n", &err) == 0);
	CHECK(t_boot_parse(&ds[1], "b1", "image=x\ndepends_on=a1\n", &err) == 0);
	boot_order(ds, 2, idx);   /* a cycle: warned, both placed once */
	CHECK(idx[0] != idx[1]);
	for (i = 0; i < 2; i++)
		boot_decl_free(&ds[i]);
}
