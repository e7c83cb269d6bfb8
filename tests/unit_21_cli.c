/* Unit tests of [21] CLI: the flag parser (short, long, =value, combined,
 * repeated, interspersed or not, --, errors), the positional count and the
 * exit codes Docker gives, time arguments of logs, tags split, CreatedAt,
 * the tabwriter-like table and --format tables (their printed bytes), and
 * the ps filters the CLI hands to [14]. */

/* Run fn with fd 1 sent to a file; what minirun's own stdout printed, in out. */
static void unit_capture(void (*fn)(void *), void *arg, char *out, size_t size)
{
	char path[] = "/tmp/minirun-unit-out.XXXXXX";
	int fd = mkstemp(path), saved = dup(1);
	ssize_t n = 0;
	out[0] = 0;
	if (fd < 0 || saved < 0)
		return;
	fflush(stdout);
	dup2(fd, 1);
	fn(arg);
	mr_fflush(&mr_stdout_file);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
}

static void tcli_parse(void)
{
	const char *name = NULL, *user = NULL;
	int detach = 0, tty = 0, inter = 0, n;
	struct ctr_list env = { 0 };
	static const char flags[] = "d|detach\0t|tty\0i|interactive\0+e|env\0=name\0=u|user\0";
#define TFLAGS flags, &detach, &tty, &inter, &env, &name, &user
	struct cli cl;
	char *a1[] = { "-dit", "--name=web", "-e", "A=1", "-eB=2", "-e=C=3", "--env", "D=4",
		       "-u0", "busybox", "sh", "-c", "x" };
	memset(&cl, 0, sizeof cl);
	cl.cmd = "run";
	n = cli_parse(&cl, 13, a1, CLI_ARGS(0, -1, 0), "IMAGE", TFLAGS);
	/* the first positional ends the flags: -c goes to the command */
	CHECK(n == 4 && !strcmp(a1[0], "busybox") && !strcmp(a1[1], "sh") && !strcmp(a1[2], "-c") &&
	      !strcmp(a1[3], "x"));
	CHECK(detach == 1 && tty == 1 && inter == 1);
	CHECK(name && !strcmp(name, "web") && user && !strcmp(user, "0"));
	CHECK(env.n == 4 && !strcmp(env.v[0], "A=1") && !strcmp(env.v[1], "B=2") &&
	      !strcmp(env.v[2], "C=3") && !strcmp(env.v[3], "D=4"));
	ctr_list_free(&env);

	/* interspersed: flags after positionals (rm web -f); "--" ends them */
	{
		int force = 0;

		char *a2[] = { "web", "-f", "db", "--", "-f" };
		n = cli_parse(&cl, 5, a2, CLI_ARGS(0, -1, 1), "CONTAINER", "f|force\0", &force);
		CHECK(n == 3 && force == 1 && !strcmp(a2[0], "web") && !strcmp(a2[1], "db") &&
		      !strcmp(a2[2], "-f"));
	}
	/* errors: unknown long and short flags, a missing value, a value given
	 * to a boolean, a one-letter long flag; each marks a flag error (125) */
	{
		char *b1[] = { "--nope" }, *b2[] = { "-x" }, *b3[] = { "--name" },
		     *b4[] = { "--detach=1" }, *b5[] = { "--d" }, *b6[] = { "-de" };
		memset(&cl, 0, sizeof cl);
		cl.cmd = "run";
		CHECK(cli_parse(&cl, 1, b1, CLI_ARGS(0, -1, 0), "", TFLAGS) == -1 && cl.flag_error == 1);
		CHECK(cli_parse(&cl, 1, b2, CLI_ARGS(0, -1, 0), "", TFLAGS) == -1);
		CHECK(cli_parse(&cl, 1, b3, CLI_ARGS(0, -1, 0), "", TFLAGS) == -1);
		CHECK(cli_parse(&cl, 1, b4, CLI_ARGS(0, -1, 0), "", TFLAGS) == -1);
		CHECK(cli_parse(&cl, 1, b5, CLI_ARGS(0, -1, 0), "", TFLAGS) == -1);
		CHECK(cli_parse(&cl, 1, b6, CLI_ARGS(0, -1, 0), "", TFLAGS) == -1);
		ctr_list_free(&env);
	}
	/* "-" alone is a positional (stdin), as in `load -i -` */
	{
		char *a3[] = { "-" };
		CHECK(cli_parse(&cl, 1, a3, CLI_ARGS(0, -1, 1), "", TFLAGS) == 1 && !strcmp(a3[0], "-"));
	}
	/* a NULL store: a flag this command does not offer (create's -d) */
	{
		int d = 0, du = 0;
		char *a4[] = { "--detach-unused" }, *a5[] = { "-d" };
		const char *f2 = "d|detach\0detach-unused\0";
		CHECK(cli_parse(&cl, 1, a4, CLI_ARGS(0, -1, 1), "", f2, NULL, &du) == 0 && du == 1);
		CHECK(cli_parse(&cl, 1, a5, CLI_ARGS(0, -1, 1), "", f2, NULL, &du) == -1);
		CHECK(cli_parse(&cl, 1, a5, CLI_ARGS(0, -1, 1), "", f2, &d, NULL) == 0 && d == 1);
	}
	/* CLI_ARGS: the number of positionals is checked after the flags */
	{
		int f = 0;
#define A(min, max) CLI_ARGS(min, max, 1)
		char *a6[] = { "-f" }, *a7[] = { "a", "b", "-f" };
		memset(&cl, 0, sizeof cl);
		cl.cmd = "rm";
		CHECK(cli_parse(&cl, 1, a6, CLI_ARGS(1, -1, 1), "", "f\0", &f) == -1 &&
		      cl.usage_args == 1 && f == 1);
		memset(&cl, 0, sizeof cl);
		cl.cmd = "rm";
		CHECK(cli_parse(&cl, 3, a7, A(2, 2), "", "f\0", &f) == 2 && !cl.usage_args);
		CHECK(cli_parse(&cl, 3, a7, A(0, 1), "", "f\0", &f) == -1 && cl.usage_args);
#undef A
	}
	/* cli_parse keeps at most CLI_MAX_FLAGS stores: run has the most flags */
	{
		const char *e;
		size_t k = 0;
		for (e = run_flags; *e; e += strlen(e) + 1)
			k++;
		CHECK(k > 50 && k <= CLI_MAX_FLAGS);
	}
#undef TFLAGS
}

static void tcli_nargs_exit(void)
{
	struct cli cl;
	memset(&cl, 0, sizeof cl);
	cl.cmd = "rm";
	CHECK(cli_nargs(&cl, 1, 1, -1) == 0 && cl.usage_args == 0);
	CHECK(cli_nargs(&cl, 0, 1, -1) < 0 && cl.usage_args == 1);
	/* Docker: a wrong number of arguments is 1 for most commands */
	CHECK(cli_exit_code(&cl, "rm", CLI_EXIT_FAIL) == 1);
	CHECK(cli_nargs(&cl, 3, 0, 2) < 0 && cl.usage_args == 1);
	memset(&cl, 0, sizeof cl);
	cl.cmd = "rm";
	/* a failure of rm is 1, of run / exec / boot commands 125 */
	CHECK(cli_exit_code(&cl, "rm", CLI_EXIT_FAIL) == 1);
	cl.cmd = "run";
	CHECK(cli_exit_code(&cl, "run", CLI_EXIT_FAIL) == CLI_EXIT_FAIL);
	cl.cmd = "up";
	CHECK(cli_exit_code(&cl, "up", CLI_EXIT_FAIL) == CLI_EXIT_FAIL);
	cl.cmd = "container start";
	CHECK(cli_exit_code(&cl, "container", CLI_EXIT_FAIL) == CLI_EXIT_FAIL);
	/* a flag error keeps 125 whatever the command; other codes pass */
	cl.cmd = "images";
	cl.flag_error = 1;
	CHECK(cli_exit_code(&cl, "images", CLI_EXIT_FAIL) == CLI_EXIT_FAIL);
	CHECK(cli_exit_code(&cl, "images", 3) == 3 && cli_exit_code(&cl, "images", 0) == 0);
}

static void tcli_small(void)
{
	char repo[64], out[64];
	const char *tag;
	cli_split_tag("busybox:1.36", repo, sizeof repo, &tag);
	CHECK(!strcmp(repo, "busybox") && !strcmp(tag, "1.36"));
	/* a registry's port is not a tag */
	cli_split_tag("localhost:5000/app", repo, sizeof repo, &tag);
	CHECK(!strcmp(repo, "localhost:5000/app") && !strcmp(tag, "<none>"));
	cli_split_tag("localhost:5000/app:v2", repo, sizeof repo, &tag);
	CHECK(!strcmp(repo, "localhost:5000/app") && !strcmp(tag, "v2"));
	cli_created_at("2024-05-01T10:00:09.123456789Z", out, sizeof out);
	CHECK(!strcmp(out, "2024-05-01 10:00:09 +0000 UTC"));
	cli_created_at("2024-05-01T12:00:00+02:00", out, sizeof out);
	CHECK(!strcmp(out, "2024-05-01 10:00:00 +0000 UTC"));

	/* logs --since / --until: a date, a time with fractions, seconds since
	 * the epoch, a duration back from now; nonsense refused */
	CHECK(logs_time_arg("2024-05-01", out, sizeof out) == 0 && util_starts_with(out, "2024-05-01T00:00:00"));
	CHECK(logs_time_arg("2024-05-01T10:00:00.5Z", out, sizeof out) == 0 &&
	      util_starts_with(out, "2024-05-01T10:00:00.5"));
	CHECK(logs_time_arg("86400", out, sizeof out) == 0 && util_starts_with(out, "1970-01-02T00:00:00"));
	{
		char now[64];
		struct timespec ts;
		time_t t1, t2;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec -= 90 * 60;
		util_time_rfc3339(&ts, now, sizeof now);
		CHECK(logs_time_arg("1h30m", out, sizeof out) == 0 &&
		      util_parse_rfc3339(out, &t1) == 0 && util_parse_rfc3339(now, &t2) == 0 &&
		      t1 - t2 <= 2 && t2 - t1 <= 2);
	}
	CHECK(logs_time_arg("yesterday", out, sizeof out) < 0);
	CHECK(logs_time_arg("10x", out, sizeof out) < 0);
}

struct tcli_rows { const char *const *rows; size_t ncols, nrows, minw; };

static void tcli_table_run(void *arg)
{
	const struct tcli_rows *r = arg;
	struct cli_table t;
	size_t i;
	memset(&t, 0, sizeof t);
	t.ncols = r->ncols;
	t.minw = r->minw;
	for (i = 0; i < r->nrows; i++)
		cli_table_add(&t, r->rows + i * r->ncols);
	cli_table_print(&t);
}

static void tcli_fmt_run(void *arg)
{
	struct cli_fmt f;
	const char *const *fmt = arg;
	/* the values in the order of the heads' keys */
	const char *v1[] = { "abc", "web" }, *v2[] = { "d", "database" };
	cli_fmt_init(&f, fmt[0], "ID\0CONTAINER ID\0Name\0NAME\0");
	cli_fmt_row(&f, v1);
	cli_fmt_row(&f, v2);
	cli_fmt_end(&f);
}

static void tcli_tables(void)
{
	char out[1024];
	static const char *const rows[] = { "ID", "NAME", "STATUS", "abc", "a-long-name", "Up",
					    "d", "x", "Exited (0) 2 seconds ago" };
	struct tcli_rows r = { rows, 3, 3, 0 };
	/* each column the widest cell + 3, at least 10; the last one as is */
	unit_capture(tcli_table_run, &r, out, sizeof out);
	CHECK(!strcmp(out, "ID        NAME          STATUS\n"
			   "abc       a-long-name   Up\n"
			   "d         x             Exited (0) 2 seconds ago\n"));
	r.minw = 20;                        /* top's minimum */
	unit_capture(tcli_table_run, &r, out, sizeof out);
	CHECK(util_starts_with(out, "ID                  NAME                STATUS\n"));
	if (!MINIRUN_WITH_FORMAT) {
		UNIT_SKIP("--format templates (built without MINIRUN_WITH_FORMAT)");
	} else {
		/* --format: a plain template prints one line a row; "table" adds
		 * the header and aligns the tab-separated cells */
		const char *plain[] = { "{{.ID}}: {{.Name}}" }, *table[] = { "table {{.ID}}\t{{.Name}}" },
			   *bad[] = { "{{.Nope}}" };
		unit_capture(tcli_fmt_run, plain, out, sizeof out);
		CHECK(!strcmp(out, "abc: web\nd: database\n"));
		unit_capture(tcli_fmt_run, table, out, sizeof out);
		CHECK(!strcmp(out, "CONTAINER ID   NAME\nabc            web\nd              database\n"));
		unit_capture(tcli_fmt_run, bad, out, sizeof out);
		CHECK(!strcmp(out, ""));
	}
}

/* ps --filter: same keys OR, different keys AND; without -a only a status
 * filter shows stopped containers. */
static void tcli_ps_filters(void)
{
	struct ctr_row r;
	struct ctr_list f = { 0 };
	memset(&r, 0, sizeof r);
	ctr_init(&r.c);
	snprintf(r.c.id, sizeof r.c.id, "%s", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	snprintf(r.c.name, sizeof r.c.name, "web-1");
	ctr_list_add(&r.c.labels, "tier=front");
	r.ci.status = CTR_EXITED;
	r.ci.st.exit_code = 3;
	CHECK(ctr_filter_known("name=x") && ctr_filter_known("exited=0") && !ctr_filter_known("size=1") &&
	      !ctr_filter_known("name"));
	ctr_list_add(&f, "name=web");
	CHECK(ctr_filter_match(&r, &f));
	ctr_list_add(&f, "name=db");                 /* OR */
	CHECK(ctr_filter_match(&r, &f));
	ctr_list_add(&f, "exited=3");                /* AND */
	CHECK(ctr_filter_match(&r, &f));
	ctr_list_add(&f, "label=tier=back");
	CHECK(!ctr_filter_match(&r, &f));
	f.n = 0;
	ctr_list_add(&f, "name=^web$");
	CHECK(!ctr_filter_match(&r, &f));
	f.n = 0;
	ctr_list_add(&f, "name=^web-1$");
	CHECK(ctr_filter_match(&r, &f));
	f.n = 0;
	ctr_list_add(&f, "id=0123");
	ctr_list_add(&f, "label=tier");
	ctr_list_add(&f, "health=none");
	CHECK(ctr_filter_match(&r, &f) && !ctr_filter_stopped(&f));
	ctr_list_add(&f, "status=exited");
	CHECK(ctr_filter_match(&r, &f) && ctr_filter_stopped(&f));
	f.n = 0;
	ctr_list_add(&f, "status=running");
	CHECK(!ctr_filter_match(&r, &f));
	ctr_list_free(&f);
	ctr_list_free(&r.c.labels);
}

static void test_cli(void)
{
	tcli_parse();
	tcli_nargs_exit();
	tcli_small();
	tcli_tables();
	tcli_ps_filters();
}
