/* ==== [21] CLI: argument parsing, usage, commands ====
 * Docker's command line: `minirun [OPTIONS] COMMAND [ARG...]`, flags parsed per
 * command from one string of flag entries (short and long names,
 * `--flag=value`, `--flag value`, combined short booleans such as `-it`,
 * repeated flags collected in order). Every command returns its exit code; minirun's own failures are 125
 * with one line on stderr naming the object and the reason. */

#define CLI_EXIT_FAIL 125

/* A command's flags are one string (smaller than a table of structs filled
 * at run time: that cost 25 bytes of code per flag, 37 with its help; a
 * store passed as an argument costs 6 to 9). One entry per flag, made by
 * CLI_FLAG: a kind ('=' takes a value, '+' takes a value each time and
 * keeps them all, none: a boolean that counts), the names ("q|quiet":
 * short and/or long, '|' between), with MINIRUN_WITH_HELP a tab and the
 * line --help prints, then "\0". cli_parse takes the stores after the
 * string, one per entry and in the same order, as printf takes its values:
 * const char ** for '=', struct ctr_list * for '+', int * for a boolean,
 * NULL for a flag this command does not offer (create has no --detach). */
#define CLI_FLAG(names, help) names CLI_HELP(help) "\0"
#define CLI_TAKES_VALUE(e) (*(e) == '=' || *(e) == '+')
#define CLI_MAX_FLAGS 64   /* run has the most (53); unit_21_cli checks */

struct cli {                    /* in order of use: one-byte offsets in x86 code */
	const char *root;         /* --root / MINIRUN_ROOT */
	const char *rundir;       /* --run-dir / MINIRUN_RUNDIR */
	const char *cmd;          /* "images", "volume rm"... for messages */
	int store_open;
	int usage_args;           /* the failure was a wrong number of arguments */
	int flag_error;           /* a flag did not parse (Docker: 125) */
	struct mr_err err;
	char cmd_buf[64];         /* cmd of a management command ("volume rm") */
	struct mr_store store;
};

/* A command of a table: its name, then its --help summary after a "\0" in the
 * same string (a pointer less per command); CLI_HIDDEN: left out of the list. */
struct cli_command {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
};
#define CLI_CMD(name, summary) name "\0" CLI_SUMMARY(summary)
#define CLI_HIDDEN(name) name "\0\1"

/* The one-line texts of `--help` (MINIRUN_WITH_HELP): each flag's and each
 * command's. Off, `--help` lists the names alone; the usage lines stay (error
 * messages quote them); a command's summary stays "" (CLI_HIDDEN, not
 * NULL, leaves a command out of the list). */
#if MINIRUN_WITH_HELP
#define CLI_HELP(text) "\t" text
#define CLI_SUMMARY(text) text
#else
#define CLI_HELP(text) ""
#define CLI_SUMMARY(text) ""
#endif

/* Does `name` (without dashes) match one of "a|all" (up to a tab)? */
static int cli_flag_matches(const char *names, const char *name, size_t len)
{
	const char *p = names;
	while (*p && *p != '\t') {
		size_t n = strcspn(p, "|\t");
		if (n == len && !memcmp(p, name, n))
			return 1;
		p += n;
		if (*p == '|')
			p++;
	}
	return 0;
}

/* The entry of `flags` that `name` names, among those offered (store NULL:
 * all), or NULL; *k its index. */
static const char *cli_find_flag(const char *flags, void *const *store, const char *name,
				 size_t len, size_t *k)
{
	size_t i;
	for (i = 0; *flags; flags += strlen(flags) + 1, i++)
		if ((!store || store[i]) &&
		    cli_flag_matches(flags + CLI_TAKES_VALUE(flags), name, len)) {
			if (k)
				*k = i;
			return flags;
		}
	return NULL;
}

static int cli_fail(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
UTIL_VA_ONLY static int cli_fail(struct cli *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "Error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nSee 'minirun %s --help'.\n", c->cmd);
	c->flag_error = 1;
	return -1;
}

/* A line of output (the one call is smaller than printf's at each place). */
static void cli_println(const char *s)
{
	printf("%s\n", s);
}

static void cli_apply(const char *f, void *store, const char *value)
{
	if (*f == '=')
		*(const char **)store = value;
	else if (*f == '+')
		ctr_list_add(store, value);
	else
		(*(int *)store)++;
}

static void cli_usage(const char *cmd, const char *usage, const char *flags,
		      void *const *store)
{
	size_t i;
	printf("\nUsage:  minirun %s %s\n", cmd, usage);
	if (*flags)
		printf("\nOptions:\n");
	for (i = 0; *flags; flags += strlen(flags) + 1, i++) {
		char left[64];
		const char *names = flags + CLI_TAKES_VALUE(flags);
		const char *help = names + strcspn(names, "\t"), *bar = strchr(names, '|');
		int len = (int)(help - names);
		help += *help != 0;
		if (!store[i])
			continue;
		if (bar && bar - names == 1)
			snprintf(left, sizeof left, "-%c, --%.*s%s", names[0], len - 2, bar + 1,
				 CLI_TAKES_VALUE(flags) ? " value" : "");
		else
			snprintf(left, sizeof left, "    --%.*s%s", len, names,
				 CLI_TAKES_VALUE(flags) ? " value" : "");
		printf(*help ? "  %-28s %s\n" : "  %s\n", left, help);
	}
}

/* Check the number of positional arguments like Docker ("requires at least 1
 * argument"). */
static int cli_nargs(struct cli *c, int n, int min, int max)
{
	c->usage_args = n < min || (max >= 0 && n > max);
	if (n < min)
		return cli_fail(c, "\"minirun %s\" requires %s %d argument%s.", c->cmd,
				max == min ? "exactly" : "at least", min, min == 1 ? "" : "s");
	if (max >= 0 && n > max)
		return cli_fail(c, "\"minirun %s\" accepts %s %d argument%s.", c->cmd,
				max == min ? "exactly" : "at most", max, max == 1 ? "" : "s");
	return 0;
}

/* The positional arguments a command takes, for cli_parse: at least min, at
 * most max (-1: any number); `interspersed`: flags may follow them (`rm web
 * -f`); otherwise the first positional ends the flags (`run IMAGE CMD -x`
 * passes -x to CMD). One int, so that a call passes it in one register. */
#define CLI_ARGS(min, max, interspersed) ((min) | ((max) + 1) << 8 | (interspersed) << 16)

/* Parse the flags of one command: `flags` is a string of CLI_FLAG entries,
 * the stores follow it (see CLI_FLAG); `args` is CLI_ARGS(...). Positionals
 * are compacted to the front of argv; their count is returned, or -1 after
 * printing the error (a flag, or the number of positionals: cli_nargs).
 * `--help` prints usage and returns -2. */
#define CLI_PARSE_EXIT(n) (((n) + 2) * CLI_EXIT_FAIL)   /* n < 0: -1 -> 125, -2 -> 0 */
static int cli_parse(struct cli *c, int argc, char **argv, int args, const char *usage,
		     const char *flags, ...)
{
	void *store[CLI_MAX_FLAGS];
	int i, npos = 0, only_pos = 0, interspersed = args >> 16;
	size_t k = 0;
	const char *f;
	va_list ap;
	va_start(ap, flags);
	for (f = flags; *f && k < CLI_MAX_FLAGS; f += strlen(f) + 1)
		store[k++] = va_arg(ap, void *);
	va_end(ap);
	for (i = 0; i < argc; i++) {
		char *a = argv[i];
		if (only_pos || a[0] != '-' || !a[1]) {
			argv[npos++] = a;
			if (!interspersed)
				only_pos = 1;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cli_usage(c->cmd, usage, flags, store);
			return -2;
		}
		if (a[1] == '-') {
			char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			f = cli_find_flag(flags, store, a + 2, len, &k);
			if (!f || len == 1)
				return cli_fail(c, "unknown flag: --%.*s", (int)len, a + 2);
			if (CLI_TAKES_VALUE(f)) {
				if (!eq && i + 1 >= argc)
					return cli_fail(c, "flag needs an argument: --%.*s", (int)len, a + 2);
				cli_apply(f, store[k], eq ? eq + 1 : argv[++i]);
			} else {
				if (eq)
					return cli_fail(c, "flag --%.*s takes no value", (int)len, a + 2);
				cli_apply(f, store[k], NULL);
			}
			continue;
		}
		/* Short flags, possibly combined: -it, -e K=V, -eK=V. */
		for (a++; *a; a++) {
			f = cli_find_flag(flags, store, a, 1, &k);
			if (!f)
				return cli_fail(c, "unknown shorthand flag: '%c' in -%s", *a, argv[i] + 1);
			if (CLI_TAKES_VALUE(f)) {
				if (a[1]) {
					cli_apply(f, store[k], a[1] == '=' ? a + 2 : a + 1);
				} else {
					if (i + 1 >= argc)
						return cli_fail(c, "flag needs an argument: '%c' in -%s",
								*a, argv[i] + 1);
					cli_apply(f, store[k], argv[++i]);
				}
				break;
			}
			cli_apply(f, store[k], NULL);
		}
	}
	if (cli_nargs(c, npos, args & 0xff, (args >> 8 & 0xff) - 1) < 0)
		return -1;
	return npos;
}

/* Docker's exit codes when the CLI itself fails (checked command by command
 * against Docker 20.10, tests/docker-compare/scenarios "exit-codes-*"):
 *   a flag that does not parse                        125, every command
 *   run: anything that keeps the container from running  125
 *   run, exec, start -a: the container's command      its own code; run: 126
 *     not executable, 127 not found; exec: 126 for both
 *   wrong number of arguments, unknown command        1
 *   every other failure of every other command: no such container, image,
 *   volume or network, a conflict, a bad value, exec in a stopped container,
 *   kill -s BAD, create, load...                      1
 * Commands return CLI_EXIT_FAIL for their own failures; this maps it. exec
 * and start map their own failures themselves (their container's code may
 * be 125). minirun's boot commands keep 125. */
static int cli_exit_code(const struct cli *c, const char *cmd, int rc)
{
	if (rc != CLI_EXIT_FAIL)
		return rc;
	if (c->usage_args)
		return 1;
	if (c->cmd[0] && strcmp(c->cmd, cmd) && util_starts_with(c->cmd, "container "))
		cmd = c->cmd + 10;
	if (util_one_of(cmd, "run\0exec\0start\0attach\0init\0up\0down"))
		return rc;
	/* a flag error: cli_fail printed "See '... --help'" and left usage_args 0 */
	return c->flag_error ? rc : 1;
}

/* Open the store on first use (most commands need it, `version` does not). */
static struct mr_store *cli_store(struct cli *c)
{
	char rundir[MINIRUN_MAX_PATH];
	if (c->store_open)
		return &c->store;
	if (c->rundir) {
		snprintf(rundir, sizeof rundir, "%s", c->rundir);
	} else if (!strcmp(c->root, MINIRUN_DEFAULT_ROOT)) {
		snprintf(rundir, sizeof rundir, "%s", MINIRUN_DEFAULT_RUNDIR);
	} else {
		/* Another store gets its own run folder, still on /run (tmpfs):
		 * runtime state must not survive a reboot. */
		char digest[MR_DIGEST_LEN + 1];
		mr_digest_buf(c->root, strlen(c->root), digest);
		snprintf(rundir, sizeof rundir, "%s/%.12s", MINIRUN_DEFAULT_RUNDIR, digest + 7);
	}
	if (mr_store_open(&c->store, c->root, rundir, &c->err) < 0) {
		util_print_err(&c->err);
		return NULL;
	}
	c->store_open = 1;
	image_gc_resume(&c->store);
	return &c->store;
}

/* The name of a disabled feature's flag, for "built without" messages. */
static int cli_disabled(const char *cmd, const char *flag)
{
	fprintf(stderr, "minirun: %s: built without MINIRUN_WITH_%s\n", cmd, flag);
	return CLI_EXIT_FAIL;
}

/* Commands a preset can leave out: the command tables name them through
 * CLI_<FLAG>(fn), which is fn, or else a stub that says "built without
 * MINIRUN_WITH_<FLAG>"; nothing then refers to fn's code. STATS: `stats`,
 * `top`, `system df`; HISTORY: `history`; CP: `cp`; PRUNE: the five
 * `prune` commands. */
#define CLI_STUB(FLAG) \
	static int cmd_no_##FLAG(struct cli *c, int argc, char **argv) \
	{ (void)argc; (void)argv; return cli_disabled(c->cmd, #FLAG); }
#if MINIRUN_WITH_STATS
#define CLI_STATS(fn) fn
#else
#define CLI_STATS(fn) cmd_no_STATS
CLI_STUB(STATS)
#endif
#if MINIRUN_WITH_HISTORY
#define CLI_HISTORY(fn) fn
#else
#define CLI_HISTORY(fn) cmd_no_HISTORY
CLI_STUB(HISTORY)
#endif
#if MINIRUN_WITH_CP
#define CLI_CP(fn) fn
#else
#define CLI_CP(fn) cmd_no_CP
CLI_STUB(CP)
#endif
#if MINIRUN_WITH_PRUNE
#define CLI_PRUNE(fn) fn
#else
#define CLI_PRUNE(fn) cmd_no_PRUNE
CLI_STUB(PRUNE)
#endif

static void cli_print_features(void)
{
	/* names and MINIRUN_WITH_* values in the same order */
	static const char names[] = "pull\0tls\0zstd\0gzip\0overlay\0net\0cgroups\0seccomp\0"
		"seccomp-profile\0init\0oci\0format\0stats\0help\0history\0cp\0prune\0";
	static const unsigned char on[] = {
		MINIRUN_WITH_PULL, MINIRUN_WITH_TLS, MINIRUN_WITH_ZSTD, MINIRUN_WITH_GZIP,
		MINIRUN_WITH_OVERLAY, MINIRUN_WITH_NET, MINIRUN_WITH_CGROUPS, MINIRUN_WITH_SECCOMP,
		MINIRUN_WITH_SECCOMP_PROFILE, MINIRUN_WITH_INIT, MINIRUN_WITH_OCI,
		MINIRUN_WITH_FORMAT, MINIRUN_WITH_STATS, MINIRUN_WITH_HELP, MINIRUN_WITH_HISTORY,
		MINIRUN_WITH_CP, MINIRUN_WITH_PRUNE,
	};
	const char *p;
	size_t i;
	for (i = 0, p = names; *p; p += strlen(p) + 1, i++)
		printf("%s%c%s", i ? " " : "", on[i] ? '+' : '-', p);
	printf("\n");
}

/* The versions of the compression libraries built in (`version`). */
#if MINIRUN_WITH_GZIP
static const char *cli_zlib_version(void) { return zlibVersion(); }
#else
static const char *cli_zlib_version(void) { return ""; }
#endif
#if MINIRUN_WITH_ZSTD
static const char *cli_zstd_version(void) { return ZSTD_versionString(); }
#else
static const char *cli_zstd_version(void) { return ""; }
#endif

static int cmd_version(struct cli *c, int argc, char **argv)
{
	char plat[32];
	int n = cli_parse(c, argc, argv, CLI_ARGS(0, 0, 1), "", "");
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	printf("minirun version %s\n", MINIRUN_VERSION);
	printf("Preset:     %s\n", MINIRUN_PRESET);
	printf("Features:   ");
	cli_print_features();
	printf("Libraries:  musl");
#ifdef MINIRUN_BEARSSL_VERSION
	printf(", BearSSL %s", MINIRUN_BEARSSL_VERSION);
#else
	printf(", BearSSL");
#endif
	if (MINIRUN_WITH_GZIP)
		printf(", zlib %s", cli_zlib_version());
	if (MINIRUN_WITH_ZSTD)
		printf(", zstd %s", cli_zstd_version());
	printf("\nPlatform:   linux/%s\n", image_host_platform(plat, sizeof plat));
	return 0;
}

static const struct cli_command cli_commands[];

/* The "Commands:" lines of --help. */
static void cli_list_commands(const struct cli_command *cmd)
{
	for (; cmd->name; cmd++) {
		const char *summary = cmd->name + strlen(cmd->name) + 1;
		if (*summary != '\1')
			printf(*summary ? "  %-10s  %s\n" : "  %s\n", cmd->name, summary);
	}
}

static void cli_main_usage(void)
{
	printf("\nUsage:  minirun [OPTIONS] COMMAND\n\n"
	       "A daemonless container runtime for embedded Linux\n\n"
	       "Options:\n"
	       "      --root string      Store folder (default \"%s\", or $MINIRUN_ROOT)\n"
	       "      --run-dir string   Runtime state folder (default \"%s\", or $MINIRUN_RUNDIR)\n"
	       "  -v, --version          Print version information and quit\n\n"
	       "Commands:\n", MINIRUN_DEFAULT_ROOT, MINIRUN_DEFAULT_RUNDIR);
	cli_list_commands(cli_commands);
	printf("\nRun 'minirun COMMAND --help' for more information on a command.\n");
}

static int cmd_help(struct cli *c, int argc, char **argv)
{
	(void)c; (void)argc; (void)argv;
	cli_main_usage();
	return 0;
}

/* Management commands (`image ls`, `volume rm`): dispatch on the second word. */
static int cli_subcommand(struct cli *c, const char *group, const struct cli_command *subs,
			  int argc, char **argv)
{
	const struct cli_command *s;
	if (argc == 0 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		printf("\nUsage:  minirun %s COMMAND\n\nCommands:\n", group);
		cli_list_commands(subs);
		printf("\nRun 'minirun %s COMMAND --help' for more information on a command.\n", group);
		return argc == 0 ? CLI_EXIT_FAIL : 0;
	}
	for (s = subs; s->name; s++)
		if (!strcmp(s->name, argv[0]))
			break;
	if (!s->name) {
		fprintf(stderr, "minirun: '%s %s' is not a minirun command.\nSee 'minirun %s --help'\n",
			group, argv[0], group);
		return CLI_EXIT_FAIL;
	}
	snprintf(c->cmd_buf, sizeof c->cmd_buf, "%s %s", group, s->name);
	c->cmd = c->cmd_buf;
	return s->run(c, argc - 1, argv + 1);
}

/* ---- [21] CLI: image commands (load, images, image inspect, tag, rmi, prune, unpack) ---- */

/* A table printed like Docker's tabwriter: columns padded to the widest cell
 * plus three spaces, at least minw wide (Docker's formatter: 10; top: 20;
 * 0 means 10). Cells are collected first, then printed. */
struct cli_table {
	size_t ncols, nrows;
	char **cells;
	size_t width[12];
	size_t minw;
};

static void cli_table_add(struct cli_table *t, const char *const *row)
{
	size_t i;
	t->cells = util_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
	for (i = 0; i < t->ncols; i++) {
		size_t n = strlen(row[i]);
		t->cells[t->nrows * t->ncols + i] = util_xstrdup(row[i]);
		if (n > t->width[i])
			t->width[i] = n;
	}
	t->nrows++;
}

static void cli_table_print(struct cli_table *t)
{
	size_t r, i;
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const char *cell = t->cells[r * t->ncols + i];
			size_t wd = t->width[i] + 3, minw = t->minw ? t->minw : 10;
			if (i + 1 < t->ncols)
				printf("%-*s", (int)(wd > minw ? wd : minw), cell);
			else
				cli_println(cell);
			free(t->cells[r * t->ncols + i]);
		}
	}
	free(t->cells);
}

static int cli_inspect_format(const char *fmt, const char *json, size_t len);

/* --format of a list command: the template ([20c]) over each row, an
 * object of Docker's field names with string values (kv: name, value
 * pairs). "table ..." adds the header (heads: "Field\0HEADER\0...\0") and
 * aligns the tab-separated cells as Docker's tabwriter. */
struct cli_fmt {
	const char *fmt, *heads;
	int table, rc;
	struct cli_table t;
};

static void cli_fmt_init(struct cli_fmt *f, const char *fmt, const char *heads)
{
	memset(f, 0, sizeof *f);
	f->heads = heads;
	f->table = util_starts_with(fmt, "table");
	f->fmt = fmt + (f->table ? 5 : 0);
	while (f->table && *f->fmt == ' ')
		f->fmt++;
}

/* Render one object into out: its values in the order of f->heads' keys
 * (vals NULL: the headers, for a table's first row); 0, or the exit code. */
static int cli_fmt_render(struct cli_fmt *f, const char *const *vals, struct mr_buf *out)
{
	const char *kv[48], *h;
	size_t n = 0;
	char msg[256];
	int rc;
	/* (without MINIRUN_WITH_FORMAT the renderer only says so) */
	for (h = f->heads; MINIRUN_WITH_FORMAT && *h && n < 24;
	     h += strlen(h) + 1, h += strlen(h) + 1, n++) {
		kv[2 * n] = h;
		kv[2 * n + 1] = vals ? vals[n] : h + strlen(h) + 1;
	}
	rc = tmpl_render_kv(f->fmt, kv, n, out, msg, sizeof msg);
	if (rc < 0)
		fprintf(stderr, "%s%s\n", rc == -3 ? "minirun: " : "", msg);
	return rc == 0 ? 0 : rc == -2 ? 64 : rc == -3 ? CLI_EXIT_FAIL : 1;
}

/* Cells of a rendered row, split at its tabs, into the table. */
static void cli_fmt_add(struct cli_fmt *f, char *line)
{
	const char *cells[12];
	size_t k;
	char *p = line;
	if (!f->t.ncols) {
		f->t.ncols = 1;
		for (k = 0; line[k]; k++)
			f->t.ncols += line[k] == '\t';
		if (f->t.ncols > 12)
			f->t.ncols = 12;
	}
	for (k = 0; k < f->t.ncols; k++) {
		cells[k] = p ? p : "";
		p = p ? strchr(p, '\t') : NULL;
		if (p)
			*p++ = 0;
	}
	cli_table_add(&f->t, cells);
}

static void cli_fmt_header(struct cli_fmt *f)
{
	struct mr_buf out = { 0 };
	int rc = cli_fmt_render(f, NULL, &out);
	if (rc == 0 && out.data)
		cli_fmt_add(f, out.data);
	else if (rc == CLI_EXIT_FAIL)   /* not built in: said once */
		f->rc = rc;
	mr_buf_free(&out);
}

/* One object: its values in the order of f->heads' keys. */
static int cli_fmt_row(struct cli_fmt *f, const char *const *vals)
{
	struct mr_buf out = { 0 };
	if (f->rc)
		return f->rc;
	if (f->table && !f->t.nrows)
		cli_fmt_header(f);
	if (f->rc)
		return f->rc;
	f->rc = cli_fmt_render(f, vals, &out);
	if (!f->rc && f->table)
		cli_fmt_add(f, out.data ? out.data : (char *)"");
	else if (!f->rc)
		cli_println(out.data ? out.data : "");
	mr_buf_free(&out);
	return f->rc;
}

static int cli_fmt_end(struct cli_fmt *f)
{
	if (f->table && !f->t.nrows && !f->rc)
		cli_fmt_header(f);
	if (f->table)
		cli_table_print(&f->t);
	return f->rc;
}

static int cmd_load(struct cli *c, int argc, char **argv)
{
	const char *input = NULL, *dir = NULL, *platform = NULL;
	int quiet = 0, fd = 0, rc;
	static const char flags[] =
		CLI_FLAG("=i|input", "Read from tar archive file, instead of STDIN")
		CLI_FLAG("=dir", "Load an OCI layout folder")
		CLI_FLAG("=platform", "Platform to load from a multi-platform image")
		CLI_FLAG("q|quiet", "Suppress the load output");
	struct image_load ld;
	struct stat stbuf;
	int n = cli_parse(c, argc, argv, CLI_ARGS(0, 1, 1), "[OPTIONS] [PATH]", flags, &input, &dir,
			&platform, &quiet);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	memset(&ld, 0, sizeof ld);
	ld.dirfd = -1;
	ld.quiet = quiet;
	ld.tty = isatty(1);
	if (n == 1 && !input && !dir)
		input = argv[0];
	if (platform) {
		if (image_platform_parse(platform, &ld.platform, &c->err) < 0)
			goto fail;
	} else {
		image_platform_host(&ld.platform);
	}
	if (input && !dir && stat(input, &stbuf) == 0 && S_ISDIR(stbuf.st_mode))
		dir = input, input = NULL;
	ld.source = dir ? dir : input ? input : "stdin";
	if (!input && !dir && isatty(0)) {
		fprintf(stderr, "Error: requested load from stdin, but stdin is empty (a terminal)\n");
		return CLI_EXIT_FAIL;
	}
	if (dir) {
		ld.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ld.dirfd < 0) {
			mr_err_sys(&c->err, "load %s", dir);
			goto fail;
		}
		ld.open_blob = image_dir_open_blob;
		ld.close_blob = image_dir_close_blob;
	} else if (input) {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			/* Docker's client prints Go's error alone */
			fprintf(stderr, "open %s: no such file or directory\n", input);
			return CLI_EXIT_FAIL;
		}
		if (fd < 0) {
			mr_err_sys(&c->err, "load %s", input);
			goto fail;
		}
	}
	ld.st = cli_store(c);
	if (!ld.st) {
		rc = CLI_EXIT_FAIL;
		goto close;
	}
	rc = image_load(&ld, fd, &c->err) < 0 ? -1 : 0;
	if (rc < 0)
		util_print_err(&c->err);
	rc = rc < 0 ? CLI_EXIT_FAIL : 0;
close:
	if (fd > 0)
		close(fd);
	if (ld.dirfd >= 0)
		close(ld.dirfd);
	return rc;
fail:
	util_print_err(&c->err);
	if (fd > 0)
		close(fd);
	return CLI_EXIT_FAIL;
}

/* Split "repo:tag" for the REPOSITORY and TAG columns. */
static void cli_split_tag(const char *name, char *repo, size_t rsize, const char **tag)
{
	const char *colon = strrchr(name, ':');
	const char *slash = strrchr(name, '/');
	if (colon && (!slash || colon > slash)) {
		snprintf(repo, rsize, "%.*s", (int)(colon - name), name);
		*tag = colon + 1;
	} else {
		snprintf(repo, rsize, "%s", name);
		*tag = "<none>";
	}
}

static const char cli_images_heads[] =
	"Repository\0REPOSITORY\0Tag\0TAG\0ID\0IMAGE ID\0CreatedSince\0CREATED\0"
	"CreatedAt\0CREATED AT\0Size\0SIZE\0Digest\0DIGEST\0Containers\0CONTAINERS\0"
	"VirtualSize\0VIRTUAL SIZE\0SharedSize\0SHARED SIZE\0UniqueSize\0UNIQUE SIZE\0";

/* Docker's CreatedAt of list formats: "2024-05-01 10:00:00 +0000 UTC". */
static void cli_created_at(const char *rfc3339, char *out, size_t size)
{
	time_t when = 0;
	struct tm tm;
	util_parse_rfc3339(rfc3339, &when);
	gmtime_r(&when, &tm);
	snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d +0000 UTC", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* images --filter and image prune --filter, Docker's keys: dangling,
 * reference (a glob on the name or name:tag), label (KEY or KEY=VALUE),
 * before and since (another image's creation), until (prune: a duration or
 * a time). Same keys OR, different keys AND. */
struct img_filter {
	const struct ctr_list *f;
	time_t before, since, until;
};

static int img_filter_init(struct cli *c, struct image_db *db, const struct ctr_list *f,
			   const char *keys, struct img_filter *x)
{
	size_t i;
	memset(x, 0, sizeof *x);
	x->f = f;
	for (i = 0; i < f->n; i++) {
		const char *v = strchr(f->v[i], '='), *k;
		size_t kl = v ? (size_t)(v - f->v[i]) : strlen(f->v[i]);
		int known = 0;
		for (k = keys; *k && v; k += strlen(k) + 1)
			known |= strlen(k) == kl && !strncmp(k, f->v[i], kl);
		if (!known) {
			fprintf(stderr, "Error: Invalid filter '%.*s'\n", (int)kl, f->v[i]);
			return -1;
		}
		v++;
		if (util_starts_with(f->v[i], "before=") || util_starts_with(f->v[i], "since=")) {
			struct image_rec *r = image_db_find(db, v, &c->err);
			time_t when = 0;
			if (!r) {
				util_print_err(&c->err);
				return -1;
			}
			util_parse_rfc3339(r->created, &when);
			*(f->v[i][0] == 'b' ? &x->before : &x->since) = when;
		} else if (util_starts_with(f->v[i], "until=")) {
			int64_t ns;
			if (util_parse_duration(v, &ns) == 0)
				x->until = time(NULL) - (time_t)(ns / 1000000000);
			else if (util_parse_rfc3339(v, &x->until) < 0 && !(x->until = atol(v))) {
				fprintf(stderr, "Error: invalid filter 'until=%s'\n", v);
				return -1;
			}
		}
	}
	return 0;
}

/* Does the image's config carry the label (KEY or KEY=VALUE)? */
static int img_has_label(struct mr_store *st, const struct image_rec *r, const char *want)
{
	struct mr_buf b = { 0 };
	struct mr_json_doc doc = { 0 };
	struct mr_err ignored;
	const struct mr_json *l;
	char path[96], key[256];
	const char *eq = strchr(want, '=');
	int hit = 0;
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(r->id));
	snprintf(key, sizeof key, "%.*s", (int)(eq ? (size_t)(eq - want) : strlen(want)), want);
	if (mr_read_file(st->rootfd, path, &b, MINIRUN_MAX_JSON, &ignored) == 0 &&
	    mr_json_parse(&doc, b.data, b.len, &ignored) == 0) {
		l = mr_json_get(mr_json_get(mr_json_get(doc.root, "config"), "Labels"), key);
		hit = l && (!eq || (l->str && !strcmp(l->str, eq + 1)));
	}
	mr_json_free(&doc);
	mr_buf_free(&b);
	return hit;
}

/* The image-level filters (tag NULL) or the reference filter of one tag. */
static int img_filter_match(struct mr_store *st, const struct img_filter *x,
			    const struct image_rec *r, int tagged, const char *tag)
{
	static const char keys[] = "dangling\0label\0before\0since\0until\0reference\0";
	const char *k;
	time_t when = 0;
	util_parse_rfc3339(r->created, &when);
	for (k = keys; *k; k += strlen(k) + 1) {
		size_t i, kl = strlen(k);
		int any = 0, hit = 0;
		if ((tag != NULL) != !strcmp(k, "reference"))
			continue;
		for (i = 0; i < x->f->n; i++) {
			const char *v = x->f->v[i] + kl + 1;
			if (strncmp(x->f->v[i], k, kl) || x->f->v[i][kl] != '=')
				continue;
			any = 1;
			if (k[0] == 'd')
				hit |= !strcmp(v, "true") ? !tagged : tagged;
			else if (k[0] == 'l')
				hit |= img_has_label(st, r, v);
			else if (k[0] == 'b')
				hit |= when < x->before;
			else if (k[0] == 's')
				hit |= when > x->since;
			else if (k[0] == 'u')
				hit |= when < x->until;
			else {
				char repo[256];
				const char *t;
				cli_split_tag(tag, repo, sizeof repo, &t);
				hit |= util_glob(v, repo) || util_glob(v, tag);
			}
		}
		if (any && !hit)
			return 0;
	}
	return 1;
}

static int cmd_images(struct cli *c, int argc, char **argv)
{
	int quiet = 0, no_trunc = 0, all = 0;
	const char *format = NULL;
	struct ctr_list filters = { 0 };
	static const char flags[] =
		CLI_FLAG("a|all", "Show all images")
		CLI_FLAG("q|quiet", "Only show image IDs")
		CLI_FLAG("no-trunc", "Don't truncate output")
		CLI_FLAG("=format", "Pretty-print images using a Go template")
		CLI_FLAG("+f|filter", "Filter output based on conditions provided");
	struct cli_fmt fm;
	struct img_filter fx;
	struct mr_store *st;
	struct image_db db;
	struct cli_table t = { 5, 0, NULL, { 0 }, 0 };
	static const char *const head[] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" };
	size_t i, j;
	int n = cli_parse(c, argc, argv, CLI_ARGS(0, 1, 1), "[OPTIONS] [REPOSITORY[:TAG]]", flags,
			&all, &quiet, &no_trunc, &format, &filters);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(c)))
		return CLI_EXIT_FAIL;
	if (image_db_read(st, &db, &c->err) < 0) {
		util_print_err(&c->err);
		return CLI_EXIT_FAIL;
	}
	if (img_filter_init(c, &db, &filters, "dangling\0reference\0label\0before\0since\0", &fx) < 0) {
		image_db_free(&db);
		free(filters.v);
		return 1;
	}
	if (format)
		cli_fmt_init(&fm, format, cli_images_heads);
	if (!quiet && !format)
		cli_table_add(&t, head);
	/* Newest first, like Docker. */
	for (i = db.nrecs; i-- > 0;) {
		const struct image_rec *r = &db.recs[i];
		char id[72], created[48], size[32], repo[256];
		const char *tag;
		time_t when = 0;
		int tagged = 0;
		snprintf(id, sizeof id, "%s", no_trunc ? r->id : r->id + 7);
		if (!no_trunc)
			id[12] = 0;
		if (util_parse_rfc3339(r->created, &when) == 0)
			util_human_ago(when, created, sizeof created);
		else
			snprintf(created, sizeof created, "N/A");
		util_human_size(r->size, size, sizeof size);
		for (j = 0; j < db.ntags && strcmp(db.tags[j].id, r->id); j++) {}
		if (!img_filter_match(st, &fx, r, j < db.ntags, NULL))
			continue;
		for (j = 0; j <= db.ntags; j++) {
			const char *row[5];
			if (j < db.ntags && strcmp(db.tags[j].id, r->id))
				continue;
			if (j == db.ntags && tagged)
				break;
			if (!img_filter_match(st, &fx, r, 1, j < db.ntags ? db.tags[j].name : "")) {
				tagged = 1;   /* a tag left out is no reason for a <none> row */
				continue;
			}
			if (j < db.ntags) {
				if (n == 1) {
					char want[512];
					struct mr_err ignored;
					cli_split_tag(db.tags[j].name, repo, sizeof repo, &tag);
					if (strcmp(argv[0], repo) && (image_ref_normalize(argv[0], want,
						sizeof want, &ignored) < 0 || strcmp(want, db.tags[j].name)))
						continue;
				}
				cli_split_tag(db.tags[j].name, repo, sizeof repo, &tag);
				tagged = 1;
			} else {
				if (n == 1)
					break;
				snprintf(repo, sizeof repo, "<none>");
				tag = "<none>";
			}
			if (quiet) {
				cli_println(id);
				continue;
			}
			if (format) {
				char at[48];
				const char *vals[] = { repo, tag, id, created, at, size, "<none>",
							"N/A", size, "N/A", "N/A" };
				cli_created_at(r->created, at, sizeof at);
				if (cli_fmt_row(&fm, vals))
					break;
				continue;
			}
			row[0] = repo; row[1] = tag; row[2] = id; row[3] = created; row[4] = size;
			cli_table_add(&t, row);
		}
	}
	(void)all;
	cli_table_print(&t);
	image_db_free(&db);
	free(filters.v);
	return format ? cli_fmt_end(&fm) : 0;
}

/* Copy the runtime config of an image the way Docker's inspect shows it:
 * every field present, null where the image has none. */
static void cli_inspect_image_config(struct mr_jw *w, const struct mr_json *cfg)
{
	/* kind, then name: s "" when missing, b false, n null, o left out */
	static const char fields[] = "sHostname\0sDomainname\0sUser\0bAttachStdin\0bAttachStdout\0"
		"bAttachStderr\0oExposedPorts\0bTty\0bOpenStdin\0bStdinOnce\0nEnv\0nCmd\0"
		"oHealthcheck\0sImage\0nVolumes\0sWorkingDir\0nEntrypoint\0nOnBuild\0nLabels\0"
		"oStopSignal\0";
	const char *f;
	mr_jw_obj(w);
	for (f = fields; *f; f += strlen(f) + 1) {
		const struct mr_json *v = mr_json_get(cfg, f + 1);
		if (!v && *f == 'o')
			continue;
		mr_jw_key(w, f + 1);
		if (v)
			mr_jw_value(w, v);
		else if (*f == 's')
			mr_jw_str(w, "");
		else if (*f == 'b')
			mr_jw_bool(w, 0);
		else
			mr_jw_null(w);
	}
	mr_jw_obj_end(w);
}

/* "Key": the config's string `name`, or "" (Docker's inspect has every key). */
static void cli_jw_cfg_str(struct mr_jw *w, const char *key, const struct mr_json *cfg,
			   const char *name)
{
	const struct mr_json *v = mr_json_get(cfg, name);
	json_kstr(w, key, mr_json_str(v) ? v->str : "");
}

static int cli_inspect_image(struct cli *c, struct mr_jw *w, struct image_db *db,
			     const struct image_rec *r)
{
	struct mr_buf buf = { 0 };
	struct mr_json_doc cfg = { 0 };
	char path[96];
	size_t i;
	const struct mr_json *v;
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(r->id));
	if (mr_read_file(c->store.rootfd, path, &buf, MINIRUN_MAX_JSON, &c->err) < 0 ||
	    mr_json_parse(&cfg, buf.data, buf.len, &c->err) < 0) {
		mr_buf_free(&buf);
		return mr_err_ctx(&c->err, "image %.19s: config", r->id);
	}
	mr_jw_obj(w);
	json_kstr(w, "Id", r->id);
	json_karr(w, "RepoTags");
	for (i = 0; i < db->ntags; i++)
		if (!strcmp(db->tags[i].id, r->id))
			mr_jw_str(w, db->tags[i].name);
	mr_jw_arr_end(w);
	json_karr(w, "RepoDigests");
	mr_jw_arr_end(w);
	json_kstr(w, "Parent", "");
	cli_jw_cfg_str(w, "Comment", cfg.root, "comment");
	json_kstr(w, "Created", r->created);
	cli_jw_cfg_str(w, "DockerVersion", cfg.root, "docker_version");
	cli_jw_cfg_str(w, "Author", cfg.root, "author");
	mr_jw_key(w, "Config");
	cli_inspect_image_config(w, mr_json_get(cfg.root, "config"));
	cli_jw_cfg_str(w, "Architecture", cfg.root, "architecture");
	if ((v = mr_json_get(cfg.root, "variant")) && mr_json_str(v)) {
		json_kstr(w, "Variant", v->str);
	}
	cli_jw_cfg_str(w, "Os", cfg.root, "os");
	json_kint(w, "Size", (long long)r->size);
	json_kobj(w, "GraphDriver");
	json_kobj(w, "Data");
	mr_jw_key(w, "LowerDir");
	{
		struct mr_buf lower = { 0 };
		for (i = r->nlayers; i-- > 0;)
			mr_buf_printf(&lower, "%s%s/layers/%s", lower.len ? ":" : "", c->store.root,
				      r->layers[i]);
		mr_jw_str(w, lower.data ? lower.data : "");
		mr_buf_free(&lower);
	}
	mr_jw_obj_end(w);
	json_kstr(w, "Name", "overlay");
	mr_jw_obj_end(w);
	json_kobj(w, "RootFS");
	json_kstr(w, "Type", "layers");
	json_karr(w, "Layers");
	for (i = 0; i < r->nlayers; i++) {
		char d[MR_DIGEST_LEN + 1];
		snprintf(d, sizeof d, "sha256:%s", r->layers[i]);
		mr_jw_str(w, d);
	}
	mr_jw_arr_end(w);
	mr_jw_obj_end(w);
	json_kobj(w, "Metadata");
	json_kstr(w, "LastTagTime", r->loaded);
	mr_jw_obj_end(w);
	mr_jw_obj_end(w);
	mr_json_free(&cfg);
	mr_buf_free(&buf);
	return 0;
}

static int cmd_image_inspect(struct cli *c, int argc, char **argv)
{
	const char *format = NULL;
	static const char flags[] =
		CLI_FLAG("=f|format", "Format the output using the given Go template");
	struct mr_store *st;
	struct image_db db;
	struct mr_buf out = { 0 };
	struct mr_jw w, one;
	int i, k, rc = 0;
	int n = cli_parse(c, argc, argv, CLI_ARGS(1, -1, 1), "IMAGE [IMAGE...]", flags, &format);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(c)))
		return CLI_EXIT_FAIL;
	if (image_db_read(st, &db, &c->err) < 0) {
		util_print_err(&c->err);
		return CLI_EXIT_FAIL;
	}
	mr_jw_init(&w, &out, 4);
	mr_jw_arr(&w);
	for (i = 0; i < n; i++) {
		struct image_rec *r = image_db_find(&db, argv[i], &c->err);
		if (format) {
			out.len = 0;
			mr_jw_init(&one, &out, 0);
		}
		if (!r || cli_inspect_image(c, format ? &one : &w, &db, r) < 0) {
			if (format)   /* Docker: an empty line for it, then the error */
				printf("\n"), fflush(stdout);
			util_print_err(&c->err);
			rc = 1;
		} else if (format && (k = cli_inspect_format(format, out.data, out.len)) != 0) {
			rc = k;
		}
	}
	mr_jw_arr_end(&w);
	if (!format)
		cli_println(out.data);
	mr_buf_free(&out);
	image_db_free(&db);
	return rc;
}

static int cmd_tag(struct cli *c, int argc, char **argv)
{
	struct mr_store *st;
	struct image_db db;
	struct image_rec *r;
	char name[512], src[512];
	struct mr_err ignored;
	int rc = CLI_EXIT_FAIL;
	int n = cli_parse(c, argc, argv, CLI_ARGS(2, 2, 1), "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
			"");
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (image_ref_check(argv[1], &c->err) < 0) {
		/* docker's words (its client checks the name) */
		fprintf(stderr, "Error parsing reference: \"%s\" is not a valid repository/tag: %s\n",
			argv[1], strstr(c->err.msg, "lowercase") ? c->err.msg : "invalid reference format");
		return CLI_EXIT_FAIL;
	}
	if (image_ref_normalize(argv[1], name, sizeof name, &c->err) < 0 || strchr(name, '@')) {
		if (strchr(name, '@'))
			mr_err_set(&c->err, MR_EINVAL_INPUT, "refusing to create a tag with a digest reference");
		util_print_err(&c->err);
		return CLI_EXIT_FAIL;
	}
	if (!(st = cli_store(c)) || mr_store_lock(st, &c->err) < 0)
		return CLI_EXIT_FAIL;
	if (image_db_read(st, &db, &c->err) == 0) {
		r = image_db_find(&db, argv[0], &c->err);
		if (!r && c->err.code == MR_ENOTFOUND &&
		    image_ref_normalize(argv[0], src, sizeof src, &ignored) == 0)
			/* Docker names the reference it looked for: nosuch:latest */
			mr_err_set(&c->err, MR_ENOTFOUND, "No such image: %s", src);
		if (r) {
			image_db_set_tag(&db, name, r->id);
			if (image_db_write(st, &db, &c->err) == 0)
				rc = 0;
		}
		image_db_free(&db);
	}
	mr_store_unlock(st);
	if (rc)
		util_print_err(&c->err);
	return rc;
}

/* Remove one image reference (rmi), by Docker's rules. By name: untag that
 * name only; the image goes with its last tag, and the last tag of an image
 * a container uses is refused unless forced. By ID: every tag goes with the
 * image; refused while a container runs it (even forced), or, unforced,
 * while it has several tags or a stopped container uses it. Forced past a
 * container, the image stays untagged so that the container keeps its
 * layers. Returns 0, or -1 with err set. */
static int image_remove(struct mr_store *st, struct image_db *db, const char *ref, int force,
			struct mr_err *err)
{
	struct image_rec *r = image_db_find(db, ref, err);
	struct ctr_image_users u;
	char name[512];
	size_t i, ntags = 0;
	int by_tag = 0;
	struct mr_err ignored;
	if (!r)
		return -1;
	for (i = 0; i < db->ntags; i++)
		ntags += !strcmp(db->tags[i].id, r->id);
	if (image_ref_normalize(ref, name, sizeof name, &ignored) == 0)
		for (i = 0; i < db->ntags; i++)
			if (!strcmp(db->tags[i].name, name))
				by_tag = 1;
	container_image_users(st, r->id, &u);
	if (by_tag) {
		if (!force && ntags == 1 && (u.running || u.stopped))
			return mr_err_set(err, MR_EINUSE, "conflict: unable to remove repository "
					  "reference \"%s\" (must force) - container %s is using its "
					  "referenced image %.12s", ref,
					  u.running ? u.running_who : u.stopped_who, r->id + 7);
		for (i = db->ntags; i-- > 0;)
			if (!strcmp(db->tags[i].name, name)) {
				printf("Untagged: %s\n", name);
				image_db_del_tag(db, i);
			}
		if (ntags == 1 && !u.running && !u.stopped)
			image_db_delete(db, r);
		return 0;
	}
	if (u.running)
		return mr_err_set(err, MR_EINUSE, "conflict: unable to delete %.12s (cannot be forced) "
				  "- image is being used by running container %s", r->id + 7,
				  u.running_who);
	if (!force && ntags > 1)
		return mr_err_set(err, MR_EINUSE, "conflict: unable to delete %.12s (must be forced) "
				  "- image is referenced in multiple repositories", r->id + 7);
	if (!force && u.stopped)
		return mr_err_set(err, MR_EINUSE, "conflict: unable to delete %.12s (must be forced) "
				  "- image is being used by stopped container %s", r->id + 7,
				  u.stopped_who);
	for (;;) {
		/* in name order, as Docker lists an image's references */
		size_t first = db->ntags;
		for (i = 0; i < db->ntags; i++)
			if (!strcmp(db->tags[i].id, r->id) &&
			    (first == db->ntags || strcmp(db->tags[i].name, db->tags[first].name) < 0))
				first = i;
		if (first == db->ntags)
			break;
		printf("Untagged: %s\n", db->tags[first].name);
		image_db_del_tag(db, first);
	}
	if (!u.stopped)
		image_db_delete(db, r);
	return 0;
}

static int cmd_rmi(struct cli *c, int argc, char **argv)
{
	int force = 0, no_prune = 0, i, rc = 0;   /* no-prune: untagged parents stay anyway */
	static const char flags[] =
		CLI_FLAG("f|force", "Force removal of the image")
		CLI_FLAG("no-prune", "Do not delete untagged parents");
	struct mr_store *st;
	struct image_db db;
	int n = cli_parse(c, argc, argv, CLI_ARGS(1, -1, 1), "[OPTIONS] IMAGE [IMAGE...]", flags,
			&force, &no_prune);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(c)) || mr_store_lock(st, &c->err) < 0)
		return CLI_EXIT_FAIL;
	if (image_db_read(st, &db, &c->err) < 0) {
		util_print_err(&c->err);
		mr_store_unlock(st);
		return CLI_EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		if (image_remove(st, &db, argv[i], force, &c->err) < 0) {
			util_print_err(&c->err);
			/* Docker: -f forgives a missing image (error shown, exit 0) */
			if (!force || c->err.code != MR_ENOTFOUND)
				rc = 1;
		}
	if (image_gc_intend(st, &c->err) < 0 || image_db_write(st, &db, &c->err) < 0) {
		util_print_err(&c->err);
		rc = CLI_EXIT_FAIL;
	} else {
		image_gc(st, &db);
	}
	image_db_free(&db);
	mr_store_unlock(st);
	return rc;
}

/* Docker's confirmation prompt; -f skips it. */
static int cli_confirm(const char *what)
{
	char answer[16];
	printf("WARNING! This will remove %s.\nAre you sure you want to continue? [y/N] ", what);
	fflush(stdout);
	if (read(0, answer, 1) != 1)
		return 0;
	return answer[0] == 'y' || answer[0] == 'Y';
}

static int cmd_image_prune(struct cli *c, int argc, char **argv)
{
	int force = 0, all = 0;
	struct ctr_list filters = { 0 };
	static const char flags[] =
		CLI_FLAG("a|all", "Remove all unused images, not just dangling ones")
		CLI_FLAG("f|force", "Do not prompt for confirmation")
		CLI_FLAG("+filter", "Provide filter values (e.g. \"until=<timestamp>\")");
	struct img_filter fx;
	struct mr_store *st;
	struct image_db db;
	uint64_t reclaimed = 0;
	char size[32], who[64];
	size_t i, j;
	int n = cli_parse(c, argc, argv, CLI_ARGS(0, 0, 1), "[OPTIONS]", flags, &all, &force,
			&filters);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!force && !cli_confirm(all ? "all images without at least one container associated to them"
				       : "all dangling images"))
		return 0;
	if (!(st = cli_store(c)) || mr_store_lock(st, &c->err) < 0 ||
	    image_db_read(st, &db, &c->err) < 0) {
		util_print_err(&c->err);
		free(filters.v);
		return CLI_EXIT_FAIL;
	}
	if (img_filter_init(c, &db, &filters, "until\0label\0", &fx) < 0) {
		image_db_free(&db);
		free(filters.v);
		return 1;
	}
	for (i = db.nrecs; i-- > 0;) {
		int tagged = 0;
		for (j = 0; j < db.ntags; j++)
			tagged |= !strcmp(db.tags[j].id, db.recs[i].id);
		if ((tagged && !all) || container_users_of_image(st, db.recs[i].id, who, sizeof who) ||
		    !img_filter_match(st, &fx, &db.recs[i], tagged, NULL))
			continue;
		if (!reclaimed)
			printf("Deleted Images:\n");
		for (j = db.ntags; j-- > 0;)
			if (!strcmp(db.tags[j].id, db.recs[i].id)) {
				printf("untagged: %s\n", db.tags[j].name);
				image_db_del_tag(&db, j);
			}
		printf("deleted: %s\n", db.recs[i].id);
		reclaimed += db.recs[i].size ? db.recs[i].size : 1;
		image_db_del_rec(&db, i);
	}
	if (image_gc_intend(st, &c->err) < 0 || image_db_write(st, &db, &c->err) < 0) {
		util_print_err(&c->err);
		image_db_free(&db);
		return CLI_EXIT_FAIL;
	}
	image_gc(st, &db);
	image_db_free(&db);
	free(filters.v);
	util_human_size(reclaimed, size, sizeof size);
	printf("%sTotal reclaimed space: %s\n", reclaimed ? "\n" : "", reclaimed ? size : "0B");
	return 0;
}

/* `image unpack IMAGE DIR`: the flattened root filesystem, whiteouts applied,
 * as `umoci unpack` writes its rootfs. DIR must not exist or be empty. */
static int cmd_image_unpack(struct cli *c, int argc, char **argv)
{
	struct mr_store *st;
	struct image_db db;
	struct image_rec *r;
	int rc = CLI_EXIT_FAIL, target = -1;
	size_t i;
	int n = cli_parse(c, argc, argv, CLI_ARGS(2, 2, 1), "IMAGE DIR", "");
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(c)))
		return CLI_EXIT_FAIL;
	if (image_db_read(st, &db, &c->err) < 0) {
		util_print_err(&c->err);
		return CLI_EXIT_FAIL;
	}
	if (!(r = image_db_find(&db, argv[0], &c->err)))
		goto out;
	if (mkdir(argv[1], 0755) < 0 && errno != EEXIST) {
		mr_err_sys(&c->err, "unpack %s", argv[1]);
		goto out;
	}
	target = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (target < 0) {
		mr_err_sys(&c->err, "unpack %s", argv[1]);
		goto out;
	}
	{
		DIR *d = fdopendir(fcntl(target, F_DUPFD_CLOEXEC, 3));
		struct dirent *de;
		int empty = 1;
		while (d && (de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = 0;
		if (d)
			closedir(d);
		if (!empty) {
			mr_err_set(&c->err, EEXIST, "unpack %s: folder is not empty", argv[1]);
			goto out;
		}
	}
	for (i = 0; i < r->nlayers; i++) {
		char path[96];
		int lfd;
		snprintf(path, sizeof path, "layers/%s", r->layers[i]);
		lfd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (lfd < 0) {
			mr_err_sys(&c->err, "unpack %s: layer sha256:%s", argv[0], r->layers[i]);
			goto out;
		}
		if (tar_apply_layer_dir(lfd, target, 0, &c->err) < 0) {
			close(lfd);
			mr_err_ctx(&c->err, "unpack %s: layer sha256:%.12s", argv[0], r->layers[i]);
			goto out;
		}
		close(lfd);
	}
	rc = 0;
out:
	if (target >= 0)
		close(target);
	if (rc)
		util_print_err(&c->err);
	image_db_free(&db);
	return rc;
}

/* `history IMAGE`: the config's history, newest first, as Docker prints it:
 * the image's ID on the top row and <missing> below, each entry's layer size
 * (0B for an empty_layer), CREATED BY cut to 45 characters. */
static int cmd_history(struct cli *c, int argc, char **argv)
{
	int quiet = 0, no_trunc = 0, rc = 1;
	const char *format = NULL;
	static const char flags[] =
		CLI_FLAG("q|quiet", "Only show image IDs")
		CLI_FLAG("no-trunc", "Don't truncate output")
		CLI_FLAG("=format", "Pretty-print images using a Go template");
	static const char *const head[] = { "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" };
	static const char heads[] = "ID\0IMAGE\0CreatedSince\0CREATED\0CreatedAt\0CREATED AT\0"
		"CreatedBy\0CREATED BY\0Size\0SIZE\0Comment\0COMMENT\0";
	struct cli_table t = { 5, 0, NULL, { 0 }, 0 };
	struct cli_fmt fm;
	struct mr_store *st;
	struct image_db db;
	struct image_rec *r;
	struct mr_buf b = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *h, *e, **rows = NULL;
	struct mr_err ignored;
	char path[96], name[512];
	size_t n = 0, i, layer;
	int np = cli_parse(c, argc, argv, CLI_ARGS(1, 1, 1), "[OPTIONS] IMAGE", flags, &quiet,
			&no_trunc, &format);
	if (np < 0)
		return CLI_PARSE_EXIT(np);
	if (!(st = cli_store(c)))
		return CLI_EXIT_FAIL;
	if (image_db_read(st, &db, &c->err) < 0) {
		util_print_err(&c->err);
		return 1;
	}
	if (!(r = image_db_find(&db, argv[0], &c->err))) {
		if (c->err.code == MR_ENOTFOUND &&
		    image_ref_normalize(argv[0], name, sizeof name, &ignored) == 0)
			mr_err_set(&c->err, MR_ENOTFOUND, "No such image: %s", name);
		util_print_err(&c->err);
		goto out;
	}
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(r->id));
	if (mr_read_file(st->rootfd, path, &b, MINIRUN_MAX_JSON, &c->err) < 0 ||
	    mr_json_parse(&doc, b.data, b.len, &c->err) < 0) {
		util_print_err(&c->err);
		goto out;
	}
	h = mr_json_get(doc.root, "history");
	rows = util_xcalloc((h && h->type == MR_JSON_ARRAY ? h->count : 0) + 1, sizeof *rows);
	for (e = h && h->type == MR_JSON_ARRAY ? h->child : NULL; e; e = e->next)
		rows[n++] = e;
	if (format)
		cli_fmt_init(&fm, format, heads);
	else if (!quiet)
		cli_table_add(&t, head);
	/* sizes: the layers in order, one per entry that is not an empty layer */
	for (layer = 0, i = 0; i < n; i++)
		layer += !mr_json_get(rows[i], "empty_layer") ||
			 mr_json_get(rows[i], "empty_layer")->type != MR_JSON_TRUE;
	rc = 0;
	for (i = n; i-- > 0;) {
		const struct mr_json *el = mr_json_get(rows[i], "empty_layer");
		const char *by = mr_json_str(mr_json_get(rows[i], "created_by"));
		const char *at = mr_json_str(mr_json_get(rows[i], "created"));
		const char *comment = mr_json_str(mr_json_get(rows[i], "comment"));
		char id[72], since[48], size[24], byc[256], created_at[48];
		uint64_t bytes = 0;
		time_t when = 0;
		if (!el || el->type != MR_JSON_TRUE) {
			layer--;
			bytes = layer < r->nlayers ? r->sizes[layer] : 0;
		}
		if (i + 1 == n)
			snprintf(id, sizeof id, "%.*s", no_trunc ? 71 : 12, no_trunc ? r->id : r->id + 7);
		else
			snprintf(id, sizeof id, "<missing>");
		if (quiet) {
			cli_println(id);
			continue;
		}
		util_parse_rfc3339(at ? at : "", &when);
		util_human_ago(when, since, sizeof since);
		util_human_size(bytes, size, sizeof size);
		snprintf(byc, sizeof byc, "%s", by ? by : "");
		while (strchr(byc, '\t'))
			*strchr(byc, '\t') = ' ';
		if (!no_trunc && strlen(byc) > 45)
			snprintf(byc + 44, sizeof byc - 44, "\xe2\x80\xa6");
		snprintf(created_at, sizeof created_at, "%s", at ? at : "");
		if (format) {
			const char *vals[] = { id, since, created_at, byc, size,
						comment ? comment : "" };
			if ((rc = cli_fmt_row(&fm, vals)) != 0)
				break;
		} else {
			const char *row[5] = { id, since, byc, size, comment ? comment : "" };
			cli_table_add(&t, row);
		}
	}
	if (format && !rc)
		rc = cli_fmt_end(&fm);
	cli_table_print(&t);
out:
	free(rows);
	mr_json_free(&doc);
	mr_buf_free(&b);
	image_db_free(&db);
	return rc;
}

/* `image SUBCOMMAND`: Docker's management command form. */
static int cmd_image(struct cli *c, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		{ CLI_CMD("history", "Show the history of an image"), CLI_HISTORY(cmd_history) },
		{ CLI_CMD("inspect", "Display detailed information on one or more images"),
		  cmd_image_inspect },
		{ CLI_CMD("load", "Load an image from a tar archive or STDIN"), cmd_load },
		{ CLI_CMD("ls", "List images"), cmd_images },
		{ CLI_CMD("prune", "Remove unused images"), CLI_PRUNE(cmd_image_prune) },
		{ CLI_CMD("rm", "Remove one or more images"), cmd_rmi },
		{ CLI_CMD("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
		  cmd_tag },
		{ CLI_CMD("unpack", "Write an image's flattened root filesystem to a folder"),
		  cmd_image_unpack },
		{ NULL, NULL },
	};
	return cli_subcommand(c, "image", subs, argc, argv);
}

/* ---- [21] CLI: container commands (run, create, start, stop, ps, logs, exec, ...) ---- */

/* Open the store and find a container; prints the error. */
static int cli_ctr(struct cli *cl, const char *ref, struct ctr *c)
{
	char id[CTR_ID_LEN + 1];
	struct mr_store *st = cli_store(cl);
	ctr_init(c);
	if (!st)
		return -1;
	if (ctr_find(st, ref, id, &cl->err) < 0 || ctr_load(st, id, c, &cl->err) < 0) {
		util_print_err(&cl->err);
		ctr_free(c);
		return -1;
	}
	return 0;
}

/* The flags of run and create. create offers -d as --detach-unused (as
 * minirun always did: a container it creates stays stopped). */
static const char run_flags[] =
	CLI_FLAG("d|detach", "Run in the background, print the ID")
	CLI_FLAG("detach-unused", "Run in the background, print the ID")
	CLI_FLAG("=name", "Assign a name to the container")
	CLI_FLAG("rm", "Remove the container when it exits")
	CLI_FLAG("=pull", "Pull image before running (\"always\"|\"missing\"|\"never\")")
	CLI_FLAG("+e|env", "Set environment variables")
	CLI_FLAG("+env-file", "Read environment variables from a file")
	CLI_FLAG("=w|workdir", "Working directory in the container")
	CLI_FLAG("=u|user", "User: name|uid[:group|gid]")
	CLI_FLAG("=entrypoint", "Replace the image's ENTRYPOINT")
	CLI_FLAG("=h|hostname", "Container host name")
	CLI_FLAG("i|interactive", "Keep STDIN open")
	CLI_FLAG("t|tty", "Allocate a pseudo-TTY")
	CLI_FLAG("read-only", "Read-only root filesystem")
	CLI_FLAG("init", "Run an init that forwards signals and reaps")
	CLI_FLAG("+l|label", "Set meta data on a container")
	CLI_FLAG("=stop-signal", "Signal to stop the container")
	CLI_FLAG("=stop-timeout", "Seconds before stop kills")
	CLI_FLAG("=restart", "no|on-failure[:N]|always|unless-stopped")
	CLI_FLAG("=m|memory", "Memory limit")
	CLI_FLAG("=memory-swap", "Memory plus swap limit (-1: unlimited)")
	CLI_FLAG("=cpus", "Number of CPUs")
	CLI_FLAG("=pids-limit", "Most processes (-1: unlimited)")
	CLI_FLAG("+cap-add", "Add Linux capabilities")
	CLI_FLAG("+cap-drop", "Drop Linux capabilities")
	CLI_FLAG("privileged", "Every capability and device, no masks")
	CLI_FLAG("+device", "Add a host device: HOST[:CONTAINER][:rwm]")
	CLI_FLAG("+device-cgroup-rule", "Allow devices: 'c 42:* rmw'")
	CLI_FLAG("+sysctl", "Namespaced kernel parameter: KEY=VALUE")
	CLI_FLAG("+ulimit", "Resource limit: NAME=SOFT[:HARD]")
	CLI_FLAG("+group-add", "Additional group to join")
	CLI_FLAG("=ipc", "IPC namespace: private or host")
	CLI_FLAG("=pid", "PID namespace: host, or a private one")
	CLI_FLAG("=health-cmd", "Command to run to check health")
	CLI_FLAG("=health-interval", "Time between checks (30s)")
	CLI_FLAG("=health-timeout", "Longest a check may run (30s)")
	CLI_FLAG("=health-start-period", "Failures not counted (0s)")
	CLI_FLAG("=health-retries", "Failures to be unhealthy (3)")
	CLI_FLAG("no-healthcheck", "Disable any HEALTHCHECK")
	CLI_FLAG("=uts", "UTS namespace: host, or a private one")
	CLI_FLAG("=shm-size", "Size of /dev/shm (default 64m)")
	CLI_FLAG("+security-opt", "Security Options")
	CLI_FLAG("+log-opt", "max-size=SIZE, max-file=N, location=ram|store")
	CLI_FLAG("=network|net", "bridge, host, none, container:NAME")
	CLI_FLAG("+p|publish", "Publish a port: [IP:]HOSTPORT:PORT")
	CLI_FLAG("P|publish-all", "Publish the exposed ports")
	CLI_FLAG("+add-host", "Add host:ip to /etc/hosts")
	CLI_FLAG("+dns", "Set custom DNS servers")
	CLI_FLAG("+network-alias", "Add a network-scoped alias")
	CLI_FLAG("+v|volume", "Bind mount a volume")
	CLI_FLAG("+mount", "type=volume|bind|tmpfs,...")
	CLI_FLAG("+tmpfs", "Mount a tmpfs directory")
	CLI_FLAG("+volumes-from", "Mount the volumes of CONTAINER[:ro|:rw]");

static int run_parse(struct cli *cl, struct ctr_opts *o, int argc, char **argv, int is_run)
{
	int n, i;
	memset(o, 0, sizeof *o);
	/* Docker's -h is --hostname here, not --help: rewrite it among the flags
	 * (those before the image) */
	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *f, *a = argv[i];
		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "-h")) {
			argv[i] = "--hostname";
			i++;
			continue;
		}
		if (a[1] == '-') {
			f = strchr(a, '=') ? NULL :
			    cli_find_flag(run_flags, NULL, a + 2, strlen(a + 2), NULL);
		} else {
			size_t k = strlen(a) - 1;
			const char *g;
			f = cli_find_flag(run_flags, NULL, a + k, 1, NULL);
			while (--k >= 1)        /* a value glued to an earlier letter: -eX=1 */
				if ((g = cli_find_flag(run_flags, NULL, a + k, 1, NULL)) &&
				    CLI_TAKES_VALUE(g))
					f = NULL;
		}
		if (f && CLI_TAKES_VALUE(f))
			i++;
	}
	n = cli_parse(cl, argc, argv, CLI_ARGS(1, -1, 0), "[OPTIONS] IMAGE [COMMAND] [ARG...]",
			run_flags, is_run ? &o->detach : NULL, is_run ? NULL : &o->detach, &o->name,
			&o->rm, &o->pull, &o->env, &o->env_file, &o->workdir, &o->user,
			&o->entrypoint, &o->hostname, &o->interactive, &o->tty, &o->read_only,
			&o->init, &o->label, &o->stop_signal, &o->stop_timeout, &o->restart,
			&o->memory, &o->memory_swap, &o->cpus, &o->pids_limit, &o->cap_add,
			&o->cap_drop, &o->privileged, &o->device, &o->device_rule, &o->sysctl,
			&o->ulimit, &o->group_add, &o->ipc, &o->pid, &o->health_cmd,
			&o->health_interval, &o->health_timeout, &o->health_start,
			&o->health_retries, &o->no_healthcheck, &o->uts, &o->shm_size,
			&o->security_opt, &o->log_opt, &o->network, &o->publish, &o->publish_all,
			&o->add_host, &o->dns, &o->network_alias, &o->volume, &o->mount, &o->tmpfs,
			&o->volumes_from);
	if (n < 0)
		return n;
	o->image = argv[0];
	o->args = (const char **)argv + 1;
	o->nargs = n - 1;
	if (o->tty && o->interactive && !o->detach && is_run && !isatty(0))
		return cli_fail(cl, "the input device is not a TTY");
	return n;
}

/* Create a container from the flags: the spec ([19b] spec_from_opts), then
 * the one back end (spec_create). */
static int run_create(struct cli *cl, const struct ctr_opts *o, struct ctr *c)
{
	struct mr_store *st = cli_store(cl);
	if (!st) {
		ctr_init(c);
		return -1;
	}
	if (spec_from_opts(st, o, c, &cl->err) < 0)
		return -1;
	return spec_create(st, c, o->name != NULL, &cl->err);
}

/* --pull, as Docker's client does it before creating: always pulls first;
 * missing (the default) pulls when the image is not in the store, saying
 * so; never leaves it to create ("No such image"). Other values are taken
 * as Docker 20.10 takes them: as never. The pull's progress goes to stderr;
 * its failure is the error. */
static int run_pull(struct cli *cl, const struct ctr_opts *o, const char *ref)
{
	const char *mode = o->pull ? o->pull : "missing";
	struct mr_store *st = cli_store(cl);
	struct image_db db;
	struct pull_opts po;
	struct mr_err ignored;
	char name[512];
	int have;
	if (!st)
		return -1;
	if (strcmp(mode, "always") && strcmp(mode, "missing"))
		return 0;
	if (image_db_read(st, &db, &ignored) < 0)
		memset(&db, 0, sizeof db);
	have = image_db_find(&db, ref, &ignored) != NULL;
	image_db_free(&db);
	if (have && strcmp(mode, "always"))
		return 0;
	if (!have)
		fprintf(stderr, "Unable to find image '%s' locally\n",
			image_ref_normalize(ref, name, sizeof name, &ignored) == 0 ? name : ref);
	memset(&po, 0, sizeof po);
	po.out = stderr;
	po.insecure = getenv("MINIRUN_INSECURE_REGISTRIES");
	return image_pull(st, ref, &po, &cl->err);
}

static int cmd_run(struct cli *cl, int argc, char **argv)
{
	struct ctr_opts o;
	struct ctr c;
	int n = run_parse(cl, &o, argc, argv, 1), rc;
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	util_std_fds();
	ctr_init(&c);
	if (run_pull(cl, &o, o.image) < 0 || run_create(cl, &o, &c) < 0) {
		/* Docker's run: "docker: <error>." and a pointer to the help */
		fprintf(stderr, "minirun: Error: %s.\nSee 'minirun run --help'.\n", cl->err.msg);
		ctr_free(&c);
		return CLI_EXIT_FAIL;
	}
	if (o.detach) {
		rc = ctr_start_detached(&cl->store, &c, 0, 0, &cl->err);
		if (rc)
			util_print_err(&cl->err);
		else
			cli_println(c.id);
	} else {
		fflush(stdout);
		rc = ctr_run_attached(&cl->store, &c, o.interactive, &cl->err);
		if (rc >= 125 && cl->err.msg[0] && rc <= 127)
			util_print_err(&cl->err);
	}
	ctr_free(&c);
	return rc;
}

static int cmd_create(struct cli *cl, int argc, char **argv)
{
	struct ctr_opts o;
	struct ctr c;
	int n = run_parse(cl, &o, argc, argv, 0);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (run_pull(cl, &o, o.image) < 0) {
		util_print_err(&cl->err);
		return CLI_EXIT_FAIL;
	}
	if (run_create(cl, &o, &c) < 0) {
		util_print_err(&cl->err);
		ctr_free(&c);
		return CLI_EXIT_FAIL;
	}
	cli_println(c.id);
	ctr_free(&c);
	return 0;
}

static int cmd_start(struct cli *cl, int argc, char **argv)
{
	int attach = 0, interactive = 0, i, rc = 0;
	static const char flags[] =
		CLI_FLAG("a|attach", "Attach STDOUT/STDERR, forward signals")
		CLI_FLAG("i|interactive", "Attach container's STDIN");
	int n = cli_parse(cl, argc, argv, CLI_ARGS(1, -1, 1), "[OPTIONS] CONTAINER [CONTAINER...]",
			flags, &attach, &interactive);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if ((attach || interactive) && n > 1) {
		fprintf(stderr, "Error: you cannot start and attach multiple containers at once\n");
		return CLI_EXIT_FAIL;
	}
	util_std_fds();
	for (i = 0; i < n; i++) {
		struct ctr c;
		struct ctr_info ci;
		int code;
		if (cli_ctr(cl, argv[i], &c) < 0) {
			rc = 1;
			continue;
		}
		ctr_info_get(&cl->store, c.id, &ci);
		if (ci.status == CTR_RUNNING || ci.status == CTR_RESTARTING) {
			if (!attach)
				cli_println(argv[i]);
			ctr_free(&c);
			continue;
		}
		if (attach || interactive) {
			fflush(stdout);
			cl->err.msg[0] = 0;
			rc = ctr_run_attached(&cl->store, &c, interactive, &cl->err);
			if (rc >= 125 && rc <= 127 && cl->err.msg[0]) {
				util_print_err(&cl->err);
				rc = 1;   /* Docker: start's own failures exit 1 */
			}
		} else if ((code = ctr_start_detached(&cl->store, &c, 0, 0, &cl->err)) != 0) {
			util_print_err(&cl->err);
			rc = code == CLI_EXIT_FAIL ? 1 : code;
		} else {
			cli_println(argv[i]);
		}
		ctr_free(&c);
	}
	return rc;
}

static int cmd_stop_restart(struct cli *cl, int argc, char **argv, int restart)
{
	const char *t = NULL, *s = NULL;
	static const char flags[] =
		CLI_FLAG("=t|time|timeout", "Seconds before SIGKILL")
		CLI_FLAG("=s|signal", "Signal to send to the container");
	uint64_t v = 0;
	int i, rc = 0, sig = 0;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(1, -1, 1), "[OPTIONS] CONTAINER [CONTAINER...]",
			flags, &t, &s);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (t && util_parse_u64(t, &v) < 0 && strcmp(t, "-1")) {
		cli_fail(cl, "invalid argument \"%s\" for \"-t, --time\" flag", t);
		return CLI_EXIT_FAIL;
	}
	if (s && !(sig = ctr_signal_parse(s))) {
		fprintf(stderr, "Error: Invalid signal: %s\n", s);
		return CLI_EXIT_FAIL;
	}
	util_std_fds();
	for (i = 0; i < n; i++) {
		struct ctr c;
		if (cli_ctr(cl, argv[i], &c) < 0) {
			rc = 1;
			continue;
		}
		if (ctr_stop(&cl->store, &c, t && strcmp(t, "-1") ? (long)v : -1, sig, &cl->err) < 0 ||
		    (restart && ctr_start_detached(&cl->store, &c, 0, 0, &cl->err) != 0)) {
			util_print_err(&cl->err);
			rc = 1;
		} else {
			cli_println(argv[i]);
		}
		ctr_free(&c);
	}
	return rc;
}

static int cmd_stop(struct cli *cl, int argc, char **argv)
{
	return cmd_stop_restart(cl, argc, argv, 0);
}

static int cmd_restart(struct cli *cl, int argc, char **argv)
{
	return cmd_stop_restart(cl, argc, argv, 1);
}

static int cmd_kill(struct cli *cl, int argc, char **argv)
{
	const char *s = "KILL";
	static const char flags[] =
		CLI_FLAG("=s|signal", "Signal to send to the container");
	int i, rc = 0, sig;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(1, -1, 1), "[OPTIONS] CONTAINER [CONTAINER...]",
			flags, &s);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(sig = ctr_signal_parse(s))) {
		fprintf(stderr, "Error: Invalid signal: %s\n", s);
		return CLI_EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		struct ctr c;
		struct ctr_info ci;
		if (cli_ctr(cl, argv[i], &c) < 0) {
			rc = 1;
			continue;
		}
		ctr_info_get(&cl->store, c.id, &ci);
		if (ci.status != CTR_RUNNING) {
			fprintf(stderr, "Error: cannot kill container: %s: container %s is not running\n",
				argv[i], c.id);
			rc = 1;
		} else {
			/* a container killed by its user is not restarted (the
			 * stop signal, TERM, INT, KILL); other signals are messages */
			if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT ||
			    sig == ctr_signal_parse(c.stop_signal)) {
				int rfd = ctr_rundir(&cl->store, c.id, 0), fd;
				if (rfd >= 0) {
					fd = openat(rfd, "stop", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
					if (fd >= 0)
						close(fd);
					close(rfd);
				}
			}
			if (kill(ci.pid, sig) < 0) {
				fprintf(stderr, "Error: kill %s: %s\n", argv[i], strerror(errno));
				rc = 1;
			} else {
				cli_println(argv[i]);
			}
		}
		ctr_free(&c);
	}
	return rc;
}

static int cmd_rm(struct cli *cl, int argc, char **argv)
{
	int force = 0, volumes = 0, i, rc = 0;
	static const char flags[] =
		CLI_FLAG("f|force", "Kill a running container first")
		CLI_FLAG("v|volumes", "Remove its anonymous volumes");
	int n = cli_parse(cl, argc, argv, CLI_ARGS(1, -1, 1), "[OPTIONS] CONTAINER [CONTAINER...]",
			flags, &force, &volumes);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	for (i = 0; i < n; i++) {
		struct ctr c;
		struct ctr_owner o;
		if (cli_ctr(cl, argv[i], &c) < 0) {
			/* Docker: -f forgives a missing container (error shown, exit 0) */
			if (!force || cl->err.code != MR_ENOTFOUND)
				rc = 1;
			continue;
		}
		memset(&o, 0, sizeof o);
		o.st = &cl->store;
		o.c = &c;
		o.dirfd = o.lockfd = o.rfd = -1;
		if (ctr_owner_take(&o, 0, &cl->err) < 0 && force && cl->err.code == MR_EINUSE) {
			ctr_disown(&o);
			ctr_stop(&cl->store, &c, 0, SIGKILL, &cl->err);
			ctr_owner_take(&o, 1, &cl->err);
		}
		if (o.dirfd < 0) {
			if (cl->err.code == MR_EINUSE)
				fprintf(stderr, "Error: cannot remove container \"/%s\": container is "
					"running: stop the container before removing or force remove\n",
					c.name);
			else
				util_print_err(&cl->err);
			rc = 1;
		} else if (ctr_remove(&cl->store, &c, &cl->err) < 0) {
			util_print_err(&cl->err);
			rc = 1;
		} else {
			if (volumes)
				ctr_remove_volumes(&cl->store, &c);
			cli_println(argv[i]);
		}
		ctr_disown(&o);
		ctr_free(&c);
	}
	return rc;
}

static int cmd_wait(struct cli *cl, int argc, char **argv)
{
	int i, rc = 0;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(1, -1, 1), "CONTAINER [CONTAINER...]", "");
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	for (i = 0; i < n; i++) {
		struct ctr c;
		struct ctr_info ci;
		if (cli_ctr(cl, argv[i], &c) < 0) {
			rc = 1;
			continue;
		}
		ctr_wait_owner(&cl->store, c.id);
		ctr_info_get(&cl->store, c.id, &ci);
		printf("%d\n", ci.st.exit_code);
		fflush(stdout);
		ctr_free(&c);
	}
	return rc;
}

/* ---- logs ---- */

/* A line reader over one log file (records are at most one chunk long). */
struct logs_file {
	int fd;
	size_t pos, len;
	uint64_t left;                     /* bytes still to read from fd */
	char buf[3 * CTR_LOG_CHUNK];
};

/* Next complete record (NUL-terminated, without its newline) or NULL. */
static char *logs_next(struct logs_file *f)
{
	char *nl;
	for (;;) {
		ssize_t n;
		nl = memchr(f->buf + f->pos, '\n', f->len - f->pos);
		if (nl) {
			char *line = f->buf + f->pos;
			*nl = 0;
			f->pos = (size_t)(nl - f->buf) + 1;
			return line;
		}
		if (f->pos) {
			memmove(f->buf, f->buf + f->pos, f->len - f->pos);
			f->len -= f->pos;
			f->pos = 0;
		}
		if (f->len == sizeof f->buf)
			f->len = 0;     /* not a record: skip it */
		n = read(f->fd, f->buf + f->len, sizeof f->buf - f->len < f->left ?
			 sizeof f->buf - f->len : (size_t)f->left);
		if (n <= 0)
			return NULL;
		f->len += (size_t)n;
		f->left -= (uint64_t)n;
	}
}

struct logs_out {
	long long skip;          /* complete lines still to skip (--tail) */
	int timestamps, at_start;
	long long lines;
	char since[40], until[40];   /* record times, "" for no bound */
};

/* --since/--until in Docker's forms: a duration back from now ("10m",
 * "1h30m", "45s"), Unix seconds ("1732890000"), or RFC 3339 ("2026-11-29",
 * "2026-11-29T15:00:00Z", offsets allowed); written as a record's time (RFC
 * 3339, nanoseconds, UTC) so that records compare with it as strings. */
static int logs_time_arg(const char *s, char *out, size_t size)
{
	struct timespec ts = { 0, 0 };
	char day[32];
	time_t t;
	int64_t total = 0;
	const char *p = s;
	if (strlen(s) == 10 && s[4] == '-')
		snprintf(day, sizeof day, "%sT00:00:00Z", s), s = day;
	if (util_parse_rfc3339(s, &t) == 0) {
		int i, scale = 100000000;
		ts.tv_sec = t;
		for (i = 20; s[19] == '.' && s[i] >= '0' && s[i] <= '9' && scale; i++, scale /= 10)
			ts.tv_nsec += (s[i] - '0') * scale;
	} else if (*p >= '0' && *p <= '9' && strspn(p, "0123456789.") == strlen(p)) {
		ts.tv_sec = (time_t)strtoll(p, NULL, 10);
	} else {
		if (util_parse_duration(p, &total) < 0)
			return -1;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec -= (time_t)(total / 1000000000);
	}
	util_time_rfc3339(&ts, out, size);
	return 0;
}

/* Print (or count, with out == NULL) one record. */
static void logs_record(struct logs_out *o, const char *rec, int count_only)
{
	const char *sp = strchr(rec, ' ');
	char s;
	FILE *f;
	if (!sp || !sp[1])
		return;
	if ((o->since[0] && strncmp(rec, o->since, (size_t)(sp - rec)) < 0) ||
	    (o->until[0] && strncmp(rec, o->until, (size_t)(sp - rec)) >= 0))
		return;
	s = sp[1];
	if (count_only) {
		o->lines += s == 'o' || s == 'e';
		return;
	}
	if (o->skip > 0) {
		o->skip -= s == 'o' || s == 'e';
		return;
	}
	f = s == 'e' || s == 'E' ? stderr : stdout;
	/* stdout is buffered: flushed when the stream changes, so that a
	 * terminal or a 2>&1 reader sees the records in their order */
	if (f != stdout)
		fflush(stdout);
	if (o->timestamps && o->at_start)
		fprintf(f, "%.*s ", (int)(sp - rec), rec);
	fputs(sp + 2, f);
	o->at_start = s == 'o' || s == 'e';
	if (o->at_start)
		fputc('\n', f);
}

static int logs_open(int dirfd, int i)
{
	char name[16];
	if (i == 0)
		snprintf(name, sizeof name, "log");
	else
		snprintf(name, sizeof name, "log.%d", i);
	return openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* The folder a container's log files are in: rundir/ID for location=ram,
 * else its store folder. -1 on error; -2 when a RAM log's folder is gone (a
 * reboot): no logs, not an error. */
static int logs_dir(struct cli *cl, const struct ctr *c)
{
	int fd;
	if (!c->log_ram)
		return ctr_dir(&cl->store, c->id, &cl->err);
	fd = ctr_rundir(&cl->store, c->id, 0);
	return fd >= 0 ? fd : -2;
}

static int cmd_logs(struct cli *cl, int argc, char **argv)
{
	const char *tail = NULL, *since = NULL, *until = NULL;
	int follow = 0, ts = 0, dirfd, i, pass, nfiles;
	static const char flags[] =
		CLI_FLAG("f|follow", "Follow log output")
		CLI_FLAG("=n|tail", "Lines from the end")
		CLI_FLAG("t|timestamps", "Show timestamps")
		CLI_FLAG("=since", "Logs since a time (2026-11-29T10:00:00Z) or for 10m")
		CLI_FLAG("=until", "Logs before a time, or 10m ago");
	struct logs_out o;
	struct logs_file *f;
	struct ctr c;
	uint64_t n_tail = 0, *ends;
	int *fds;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(1, 1, 1), "[OPTIONS] CONTAINER", flags, &follow,
			&tail, &ts, &since, &until);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (tail && strcmp(tail, "all") && util_parse_u64(tail, &n_tail) < 0) {
		fprintf(stderr, "Error: invalid value for --tail: %s\n", tail);
		return CLI_EXIT_FAIL;
	}
	memset(&o, 0, sizeof o);
	if ((since && logs_time_arg(since, o.since, sizeof o.since) < 0) ||
	    (until && logs_time_arg(until, o.until, sizeof o.until) < 0)) {
		fprintf(stderr, "Error: invalid value for --%s: %s (a time such as "
			"2026-11-29T10:00:00Z, Unix seconds, or a duration such as 10m)\n",
			since && !o.since[0] ? "since" : "until", since && !o.since[0] ? since : until);
		return CLI_EXIT_FAIL;
	}
	if (cli_ctr(cl, argv[0], &c) < 0)
		return CLI_EXIT_FAIL;
	dirfd = logs_dir(cl, &c);
	if (dirfd == -1) {
		util_print_err(&cl->err);
		ctr_free(&c);
		return CLI_EXIT_FAIL;
	}
	if (dirfd == -2) {
		ctr_free(&c);
		return 0;
	}
	o.timestamps = ts;
	o.at_start = 1;
	f = util_xmalloc(sizeof *f);
	nfiles = c.log_max_file > 0 ? c.log_max_file : CTR_LOG_MAX_FILE;
	/* with --tail, a counting pass first; the printing pass reads the same
	 * files (kept open: a rotation between the passes renames, it does not
	 * change them) up to where the count stopped, so lines the container
	 * writes meanwhile never make more than N */
	fds = util_xcalloc((size_t)nfiles, sizeof *fds);
	ends = util_xcalloc((size_t)nfiles, sizeof *ends);
	for (i = 0; i < nfiles; i++)
		fds[i] = -1;
	/* oldest first: log.N-1 ... log.1, log */
	for (pass = tail && strcmp(tail, "all") ? 0 : 1; pass < 2; pass++) {
		if (pass == 1 && tail && strcmp(tail, "all"))
			o.skip = o.lines > (long long)n_tail ? o.lines - (long long)n_tail : 0;
		for (i = nfiles - 1; i >= 0; i--) {
			char *rec;
			off_t at;
			if (fds[i] < 0)
				fds[i] = logs_open(dirfd, i);
			f->fd = fds[i];
			f->pos = f->len = 0;
			f->left = pass == 1 && tail && strcmp(tail, "all") ? ends[i] : UINT64_MAX;
			if (f->fd < 0 || lseek(f->fd, 0, SEEK_SET) < 0)
				continue;
			while ((rec = logs_next(f)) != NULL)
				logs_record(&o, rec, pass == 0);
			at = lseek(f->fd, 0, SEEK_CUR);
			ends[i] = at > 0 ? (uint64_t)at : 0;
			if (pass == 1 && (i || !follow)) {
				close(f->fd);
				fds[i] = -1;
			}
		}
	}
	f->left = UINT64_MAX;
	free(fds);
	free(ends);
	fflush(stdout);
	fflush(stderr);
	if (follow) {
		struct stat a, b;
		struct ctr_info ci;
		if (f->fd < 0)
			f->fd = logs_open(dirfd, 0);
		for (;;) {
			char *rec;
			int alive;
			ctr_info_get(&cl->store, c.id, &ci);
			alive = ci.status == CTR_RUNNING || ci.status == CTR_RESTARTING;
			while (f->fd >= 0 && (rec = logs_next(f)) != NULL)
				logs_record(&o, rec, 0);
			fflush(stdout);
			fflush(stderr);
			/* rotated: finish the old file, go on with the new one */
			if (fstatat(dirfd, "log", &b, 0) == 0 &&
			    (f->fd < 0 || (fstat(f->fd, &a) == 0 && a.st_ino != b.st_ino))) {
				if (f->fd >= 0)
					close(f->fd);
				f->fd = logs_open(dirfd, 0);
				f->pos = f->len = 0;
				continue;
			}
			if (!alive)
				break;
			usleep(100000);
		}
		if (f->fd >= 0)
			close(f->fd);
	}
	free(f);
	close(dirfd);
	ctr_free(&c);
	return 0;
}

/* ---- inspect ---- */

static void cli_jw_time(struct mr_jw *w, const char *key, const char *t)
{
	json_kstr(w, key, t && *t ? t : "0001-01-01T00:00:00Z");
}

/* The rest of Docker 20.10's HostConfig keys, with its values for what
 * minirun does not offer (--dns and --add-host from net.conf). */
static void cli_inspect_host_rest(struct cli *cl, struct mr_jw *w, const struct ctr *c)
{
	/* kind, then name: s "", 0 zero, a [], n null, f false */
	static const char keys[] = "sContainerIDFile\0sVolumeDriver\0sCgroup\0sUsernsMode\0"
		"sIsolation\0sCgroupParent\0sCpusetCpus\0sCpusetMems\0" "0OomScoreAdj\0"
		"0CpuShares\0" "0BlkioWeight\0" "0CpuPeriod\0" "0CpuQuota\0" "0CpuRealtimePeriod\0"
		"0CpuRealtimeRuntime\0" "0MemoryReservation\0" "0CpuCount\0" "0CpuPercent\0"
		"0IOMaximumIOps\0" "0IOMaximumBandwidth\0aDnsOptions\0aDnsSearch\0"
		"aBlkioWeightDevice\0aBlkioDeviceReadBps\0aBlkioDeviceWriteBps\0"
		"aBlkioDeviceReadIOps\0aBlkioDeviceWriteIOps\0nLinks\0nDeviceRequests\0"
		"nMemorySwappiness\0fOomKillDisable\0fPublishAllPorts\0";
	const char *k, *l, *const lists[2] = { rootfs_masked, rootfs_readonly };
	struct mr_buf conf = { 0 };
	struct mr_err ignored;
	int fd = ctr_dir(&cl->store, c->id, &ignored), hosts = 0, i;
	char v[300];
	if (fd < 0 || mr_read_file(fd, "net.conf", &conf, 1u << 16, &ignored) < 0 || !conf.data)
		mr_buf_append(&conf, "", 0);
	if (fd >= 0)
		close(fd);
	for (k = keys; *k; k += strlen(k) + 1) {
		mr_jw_key(w, k + 1);
		if (*k == 's')
			mr_jw_str(w, "");
		else if (*k == '0')
			mr_jw_int(w, 0);
		else if (*k == 'f')
			mr_jw_bool(w, 0);
		else if (*k == 'n')
			mr_jw_null(w);
		else
			mr_jw_arr(w), mr_jw_arr_end(w);
	}
	json_kstr(w, "Runtime", "runc");
	/* minirun gives every container its own cgroup namespace */
	json_kstr(w, "CgroupnsMode", "private");
	json_karr(w, "ConsoleSize");
	mr_jw_int(w, 0);
	mr_jw_int(w, 0);
	mr_jw_arr_end(w);
	json_karr(w, "Dns");
	for (l = conf.data; *l; l = net_next(l))
		if (l[0] == 'd' && l[1] == ' ')
			mr_jw_strn(w, l + 2, strcspn(l + 2, "\n"));
	mr_jw_arr_end(w);
	mr_jw_key(w, "ExtraHosts");
	for (l = conf.data; *l; l = net_next(l))
		hosts += l[0] == 'h' && l[1] == ' ';
	if (!hosts)
		mr_jw_null(w);
	else
		mr_jw_arr(w);
	for (l = conf.data; hosts && *l; l = net_next(l)) {
		char name[256], ip[40];
		const char *q = l + 2;
		if (l[0] == 'h' && l[1] == ' ' && util_word(&q, name, sizeof name) == 0 &&
		    util_word(&q, ip, sizeof ip) == 0) {
			snprintf(v, sizeof v, "%s:%s", name, ip);
			mr_jw_str(w, v);
		}
	}
	if (hosts)
		mr_jw_arr_end(w);
	/* the paths rootfs_mask hides and makes read-only; none with --privileged */
	for (i = 0; i < 2; i++) {
		mr_jw_key(w, i ? "ReadonlyPaths" : "MaskedPaths");
		if (c->privileged) {
			mr_jw_null(w);
			continue;
		}
		mr_jw_arr(w);
		for (k = lists[i]; *k; k += strlen(k) + 1) {
			snprintf(v, sizeof v, "/%s", k);
			mr_jw_str(w, v);
		}
		mr_jw_arr_end(w);
	}
	mr_buf_free(&conf);
}

/* HostConfig.PortBindings from the container's recorded -p/-P (net.conf), as
 * Docker keeps them: "80/tcp": [{"HostIp": "", "HostPort": "8000"}], an
 * empty HostIp for all addresses and an empty HostPort for "any free". */
static int cli_strcmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void cli_port_bindings(struct mr_store *st, const struct ctr *c, struct mr_jw *w)
{
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	char path[32 + CTR_ID_LEN], keys[NET_MAX_PORTS][16], key[16], ip[16], hp[8];
	const char *l;
	struct net_port p;
	size_t n = 0, i, k;
	snprintf(path, sizeof path, "containers/%s/net.conf", c->id);
	if (mr_read_file(st->rootfd, path, &b, 1u << 16, &ignored) < 0 || !b.data)
		mr_buf_append(&b, "", 0);
	/* a Go map: keys sorted, each once, its bindings in given order */
	for (l = b.data; *l && n < NET_MAX_PORTS; l = net_next(l)) {
		if (net_port_line(l, &p) < 0)
			continue;
		snprintf(key, sizeof key, "%u/%s", p.cport, p.proto == 'u' ? "udp" : "tcp");
		for (i = 0; i < n && strcmp(keys[i], key); i++) {}
		if (i == n)
			memcpy(keys[n++], key, sizeof key);
	}
	qsort(keys, n, sizeof keys[0], cli_strcmp);
	json_kobj(w, "PortBindings");
	for (k = 0; k < n; k++) {
		mr_jw_key(w, keys[k]);
		mr_jw_arr(w);
		for (l = b.data; *l; l = net_next(l)) {
			if (net_port_line(l, &p) < 0)
				continue;
			snprintf(key, sizeof key, "%u/%s", p.cport, p.proto == 'u' ? "udp" : "tcp");
			if (strcmp(key, keys[k]))
				continue;
			net_ip_str(p.hip, ip);
			snprintf(hp, sizeof hp, "%u", p.hport);
			mr_jw_obj(w);
			json_kstr(w, "HostIp", p.hip ? ip : "");
			json_kstr(w, "HostPort", p.hport ? hp : "");
			mr_jw_obj_end(w);
		}
		mr_jw_arr_end(w);
	}
	mr_jw_obj_end(w);
	mr_buf_free(&b);
}

/* "Key": "ROOT/containers/ID/leaf", a file of the container in the store. */
static void cli_jw_ctr_path(struct mr_jw *w, const char *key, const char *root, const char *id,
			    const char *leaf)
{
	char path[MINIRUN_MAX_PATH + 96];
	snprintf(path, sizeof path, "%s/containers/%s/%s", root, id, leaf);
	json_kstr(w, key, path);
}

static void cli_inspect_ctr(struct cli *cl, struct mr_jw *w, struct ctr *c)
{
	static const char paths[] = "ResolvConfPath\0resolv.conf\0HostnamePath\0hostname\0"
		"HostsPath\0hosts\0LogPath\0log\0";
	struct ctr_info ci;
	char path[MINIRUN_MAX_PATH + 96], mem[32];
	const char *dir = cl->store.root, *k;
	size_t i;
	ctr_info_get(&cl->store, c->id, &ci);
	mr_jw_obj(w);
	json_kstr(w, "Id", c->id);
	json_kstr(w, "Created", c->created);
	json_kstr(w, "Path", c->entrypoint.n ? c->entrypoint.v[0] : c->cmd.n ? c->cmd.v[0] : "");
	json_karr(w, "Args");
	for (i = 1; i < c->entrypoint.n + c->cmd.n; i++)
		mr_jw_str(w, i < c->entrypoint.n ? c->entrypoint.v[i] : c->cmd.v[i - c->entrypoint.n]);
	mr_jw_arr_end(w);
	json_kobj(w, "State");
	json_kstr(w, "Status", ctr_status_name(ci.status));
	json_kbool(w, "Running", ci.status == CTR_RUNNING);
	json_kbool(w, "Paused", 0);
	json_kbool(w, "Restarting", ci.status == CTR_RESTARTING);
	json_kbool(w, "OOMKilled", ci.st.oom_killed);
	json_kbool(w, "Dead", 0);
	json_kint(w, "Pid", ci.status == CTR_RUNNING ? ci.pid : 0);
	json_kint(w, "ExitCode", ci.st.exit_code);
	json_kstr(w, "Error", ci.st.error);
	cli_jw_time(w, "StartedAt", ci.st.started);
	cli_jw_time(w, "FinishedAt", ci.status == CTR_RUNNING ? "" : ci.st.finished);
	if (ci.health[0]) {
		struct mr_buf hb = { 0 };
		struct mr_json_doc hd = { 0 };
		struct mr_err ignored;
		int rfd = ctr_rundir(&cl->store, c->id, 0);
		if (rfd >= 0 && mr_read_file(rfd, "health.json", &hb, 262144, &ignored) == 0 &&
		    mr_json_parse(&hd, hb.data, hb.len, &ignored) == 0) {
			mr_jw_key(w, "Health");
			mr_jw_value(w, hd.root);
		}
		if (rfd >= 0)
			close(rfd);
		mr_json_free(&hd);
		mr_buf_free(&hb);
	}
	mr_jw_obj_end(w);
	json_kstr(w, "Image", c->image);
	for (k = paths; *k; k += strlen(k) + 1, k += strlen(k) + 1)
		cli_jw_ctr_path(w, k, dir, c->id, k + strlen(k) + 1);
	snprintf(path, sizeof path, "/%s", c->name);
	json_kstr(w, "Name", path);
	json_kint(w, "RestartCount", ci.st.restart_count);
	json_kstr(w, "Driver", c->driver);
	json_kstr(w, "Platform", "linux");
	json_kobj(w, "HostConfig");
	mr_jw_key(w, "Binds");
	for (i = 0; i < c->nmnt && !c->mnt[i].from_v; i++) {}
	if (i == c->nmnt) {
		mr_jw_null(w);
	} else {
		mr_jw_arr(w);
		for (i = 0; i < c->nmnt; i++)
			if (c->mnt[i].from_v) {
				snprintf(path, sizeof path, "%s:%s%s%s", c->mnt[i].source, c->mnt[i].target,
					 c->mnt[i].mode[0] ? ":" : "", c->mnt[i].mode);
				mr_jw_str(w, path);
			}
		mr_jw_arr_end(w);
	}
	json_kobj(w, "LogConfig");
	json_kstr(w, "Type", "local");
	json_kobj(w, "Config");
	snprintf(mem, sizeof mem, "%llu", (unsigned long long)c->log_max_size);
	json_kstr(w, "max-size", mem);
	snprintf(mem, sizeof mem, "%d", c->log_max_file);
	json_kstr(w, "max-file", mem);
	if (c->log_ram)
		json_kstr(w, "location", "ram");
	mr_jw_obj_end(w);
	mr_jw_obj_end(w);
	cli_port_bindings(&cl->store, c, w);
	ctr_fields_write(w, c, 1, 1);
	cli_inspect_host_rest(cl, w, c);
	mr_jw_obj_end(w);
	json_kobj(w, "GraphDriver");
	json_kobj(w, "Data");
	if (!strcmp(c->driver, "overlay")) {
		struct mr_buf lower = { 0 };
		for (i = c->layers.n; i-- > 0;)
			mr_buf_printf(&lower, "%s%s/layers/%s", lower.len ? ":" : "", dir, c->layers.v[i]);
		json_kstr(w, "LowerDir", lower.data ? lower.data : "");
		mr_buf_free(&lower);
	}
	cli_jw_ctr_path(w, "MergedDir", dir, c->id, "rootfs");
	if (!strcmp(c->driver, "overlay")) {
		cli_jw_ctr_path(w, "UpperDir", dir, c->id, "upper");
		cli_jw_ctr_path(w, "WorkDir", dir, c->id, "work");
	}
	mr_jw_obj_end(w);
	json_kstr(w, "Name", c->driver);
	mr_jw_obj_end(w);
	json_karr(w, "Mounts");
	for (i = 0; i < c->nmnt; i++)
		mount_write_json(w, &cl->store, &c->mnt[i], 1);
	mr_jw_arr_end(w);
	json_kobj(w, "Config");
	ctr_fields_write(w, c, 0, 1);
	json_kstr(w, "Domainname", "");
	json_kbool(w, "AttachStdin", c->interactive);
	json_kbool(w, "AttachStdout", 1);
	json_kbool(w, "AttachStderr", 1);
	json_kbool(w, "StdinOnce", c->interactive);
	json_kstr(w, "Image", c->image_ref);
	json_kstr(w, "Volumes", NULL);
	json_kstr(w, "OnBuild", NULL);
	mr_jw_obj_end(w);
	json_kobj(w, "NetworkSettings");
	json_kstr(w, "Bridge", "");
	json_kstr(w, "SandboxID", "");
	if (ci.status == CTR_RUNNING)
		snprintf(path, sizeof path, "/proc/%d/ns/net", (int)ci.pid);
	else
		path[0] = 0;
	json_kstr(w, "SandboxKey", path);
	net_inspect(&cl->store, c, ci.status == CTR_RUNNING, w);
	net_inspect_networks(&cl->store, c, ci.status == CTR_RUNNING, w);
	mr_jw_obj_end(w);
	mr_jw_obj_end(w);
}

/* `inspect --format`: the template ([20c]) over the object's JSON. Docker
 * prints what was rendered and a newline even when executing fails, then
 * "template parsing error: ..." (exit 1; a malformed template: 64). */
static int cli_inspect_format(const char *fmt, const char *json, size_t len)
{
	struct mr_json_doc doc = { 0 };
	struct mr_err err;
	struct mr_buf out = { 0 };
	char msg[256];
	int rc;
	if (mr_json_parse(&doc, json, len, &err) < 0) {
		util_print_err(&err);
		return 1;
	}
	rc = tmpl_render(fmt, doc.root, &out, msg, sizeof msg);
	if (rc > -2)
		cli_println(out.data ? out.data : "");
	fflush(stdout);
	if (rc < 0)
		fprintf(stderr, "%s%s\n", rc == -3 ? "minirun: " : "template parsing error: ", msg);
	mr_json_free(&doc);
	mr_buf_free(&out);
	return rc == 0 ? 0 : rc == -2 ? 64 : rc == -3 ? CLI_EXIT_FAIL : 1;
}

/* `inspect`: a container first, then an image, as Docker resolves names. */
static int cmd_inspect(struct cli *cl, int argc, char **argv)
{
	const char *type = NULL, *format = NULL;
	static const char flags[] =
		CLI_FLAG("=type", "container or image")
		CLI_FLAG("=f|format", "Go-like template");
	struct mr_store *st;
	struct image_db db;
	struct mr_buf out = { 0 };
	struct mr_jw w;
	int i, k, rc = 0, dbok;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(1, -1, 1), "[OPTIONS] NAME|ID [NAME|ID...]",
			flags, &type, &format);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	dbok = image_db_read(st, &db, &cl->err) == 0;
	mr_jw_init(&w, &out, 4);
	mr_jw_arr(&w);
	for (i = 0; i < n; i++) {
		char id[CTR_ID_LEN + 1];
		struct ctr c;
		struct image_rec *r;
		struct mr_jw one;
		struct mr_jw *jw = format ? &one : &w;
		if (format) {
			out.len = 0;
			mr_jw_init(&one, &out, 0);
		}
		if ((!type || !strcmp(type, "container")) && ctr_find(st, argv[i], id, &cl->err) == 0 &&
		    ctr_load(st, id, &c, &cl->err) == 0) {
			cli_inspect_ctr(cl, jw, &c);
			ctr_free(&c);
		} else if ((!type || !strcmp(type, "image")) && dbok &&
			   (r = image_db_find(&db, argv[i], &cl->err)) != NULL) {
			if (cli_inspect_image(cl, jw, &db, r) < 0) {
				util_print_err(&cl->err);
				rc = 1;
				continue;
			}
		} else {
			fprintf(stderr, "Error: No such object: %s\n", argv[i]);
			rc = 1;
			continue;
		}
		if (format && (k = cli_inspect_format(format, out.data, out.len)) != 0) {
			rc = k;
			if (k == 64)
				break;
		}
	}
	mr_jw_arr_end(&w);
	if (!format)
		cli_println(out.data);
	mr_buf_free(&out);
	if (dbok)
		image_db_free(&db);
	return rc;
}

/* `container inspect` = `inspect --type container`. */
static int cmd_container_inspect(struct cli *cl, int argc, char **argv)
{
	char **v = util_xcalloc((size_t)argc + 2, sizeof *v);
	int rc;
	v[0] = "--type=container";
	memcpy(v + 1, argv, (size_t)argc * sizeof *v);
	rc = cmd_inspect(cl, argc + 1, v);
	free(v);
	return rc;
}

/* ---- ps ---- */

/* Docker's COMMAND cell: Path and Args, cut to 20 characters with an
 * ellipsis unless --no-trunc, quoted as Go's strconv.Quote does. */
static void ps_command(const struct ctr *c, int no_trunc, struct mr_buf *out)
{
	struct mr_buf cmd = { 0 };
	size_t i, runes = 0, cut = 0;
	for (i = 0; i < c->entrypoint.n + c->cmd.n; i++) {
		const char *a = i < c->entrypoint.n ? c->entrypoint.v[i] : c->cmd.v[i - c->entrypoint.n];
		/* Docker's daemon quotes an argument with a space in it: 'a b' */
		int q = i && strchr(a, ' ');
		mr_buf_printf(&cmd, "%s%s%s%s", i ? " " : "", q ? "'" : "", a, q ? "'" : "");
	}
	mr_buf_append(&cmd, "", 0);
	for (i = 0; i < cmd.len; i++)
		if (((unsigned char)cmd.data[i] & 0xc0) != 0x80 && ++runes == 20)
			cut = i;
	if (!no_trunc && runes > 20)
		cmd.len = cut, cmd.data[cut] = 0;
	mr_buf_append(out, "\"", 1);
	for (i = 0; i < cmd.len; i++) {
		if (cmd.data[i] == '"' || cmd.data[i] == '\\')
			mr_buf_append(out, "\\", 1);
		mr_buf_append(out, cmd.data + i, 1);
	}
	if (!no_trunc && runes > 20)
		mr_buf_append(out, "\xe2\x80\xa6", 3);
	mr_buf_append(out, "\"", 1);
	mr_buf_free(&cmd);
}

/* One run of ports mapped to themselves; first port in hport, last in cport. */
static void ps_port_group(struct mr_buf *out, const char *ip, const struct net_port *g)
{
	char range[16];
	if (g->hport == g->cport)
		snprintf(range, sizeof range, "%u", g->cport);
	else
		snprintf(range, sizeof range, "%u-%u", g->hport, g->cport);
	mr_buf_printf(out, "%s%s:%s->%s/%s", out->len ? ", " : "", ip, range, range,
		      g->proto == 'u' ? "udp" : "tcp");
}

static int ps_port_cmp(const void *a, const void *b)
{
	const struct net_port *x = a, *y = b;
	char ix[16], iy[16];
	int d;
	if (x->cport != y->cport)
		return x->cport < y->cport ? -1 : 1;
	net_ip_str(x->hip, ix);
	net_ip_str(y->hip, iy);
	if ((d = strcmp(ix, iy)) != 0)
		return d;
	if (x->hport != y->hport)
		return x->hport < y->hport ? -1 : 1;
	return (x->proto == 'u') - (y->proto == 'u');
}

/* Docker's PORTS cell (DisplayablePorts): sorted by container port, runs of
 * ports mapped to themselves grouped ("0.0.0.0:80-81->80-81/tcp"), other
 * mappings after them ("0.0.0.0:8000->80/tcp"), joined by ", ". */
static void ps_ports(const struct ctr_row *r, struct mr_buf *out)
{
	struct net_port ports[NET_MAX_PORTS], group[NET_MAX_PORTS];
	struct mr_buf b = { 0 }, maps = { 0 }, res = { 0 };
	size_t n = 0, ng = 0, i, g;
	const char *l;
	char ip[16];
	if (net_rt_read(r->st, r->c.id, &b) == 0)
		for (l = strchr(b.data, '\n'); l && *++l && n < NET_MAX_PORTS; l = strchr(l, '\n'))
			if (net_port_line(l, &ports[n]) == 0)
				n++;
	mr_buf_free(&b);
	qsort(ports, n, sizeof *ports, ps_port_cmp);
	/* group[g]: the first port of a run in hport; its last in cport */
	for (i = 0; i < n; i++) {
		const struct net_port *p = &ports[i];
		net_ip_str(p->hip, ip);
		if (p->hport != p->cport) {
			mr_buf_printf(&maps, "%s%s:%u->%u/%s", maps.len ? ", " : "", ip, p->hport,
				      p->cport, p->proto == 'u' ? "udp" : "tcp");
			continue;
		}
		for (g = 0; g < ng && (group[g].hip != p->hip || group[g].proto != p->proto); g++) {}
		if (g < ng && p->cport == group[g].cport + 1) {
			group[g].cport = p->cport;
			continue;
		}
		if (g < ng) {
			/* a gap: the finished run goes out now, a new one starts */
			net_ip_str(group[g].hip, ip);
			ps_port_group(&res, ip, &group[g]);
		} else {
			ng++;
		}
		group[g] = *p;
		group[g].hport = p->cport;
	}
	for (g = 0; g < ng; g++) {
		net_ip_str(group[g].hip, ip);
		ps_port_group(&res, ip, &group[g]);
	}
	if (maps.len)
		mr_buf_printf(&res, "%s%s", res.len ? ", " : "", maps.data);
	if (res.len)
		mr_buf_append(out, res.data, res.len);
	mr_buf_free(&maps);
	mr_buf_free(&res);
}

/* The fields of ps --format and their table headers, in pairs; PS_<field>
 * is a field's place (the lookup once, then a test per field, is smaller
 * than a strcmp per field). */
static const char ps_fields[] =
	"ID\0CONTAINER ID\0Names\0NAMES\0Image\0IMAGE\0Command\0COMMAND\0CreatedAt\0CREATED AT\0"
	"RunningFor\0CREATED\0Status\0STATUS\0State\0STATE\0Labels\0LABELS\0Label\0LABEL\0"
	"Networks\0NETWORKS\0Size\0SIZE\0Ports\0PORTS\0Mounts\0MOUNTS\0"
	"LocalVolumes\0LOCAL VOLUMES\0";
enum { PS_ID, PS_NAMES, PS_IMAGE, PS_COMMAND, PS_CREATED_AT, PS_RUNNING_FOR, PS_STATUS, PS_STATE,
       PS_LABELS, PS_LABEL, PS_NETWORKS, PS_SIZE, PS_PORTS, PS_MOUNTS, PS_LOCAL_VOLUMES, PS_NONE };

/* The pair of field f in ps_fields (its header after it), or NULL. */
static const char *ps_lookup(const char *f, int *k)
{
	const char *p;
	for (*k = 0, p = ps_fields; *p; p += strlen(p) + 1, p += strlen(p) + 1, ++*k)
		if (!strcmp(p, f))
			return p;
	return NULL;
}

/* Value of one --format field ({{.Names}}), or -1 if unknown. */
static int ps_field(const struct ctr_row *r, const char *f, const char *arg, int no_trunc,
		    struct mr_buf *out)
{
	char buf[96];
	time_t created = 0, now = time(NULL);
	size_t i;
	int k;
	ps_lookup(f, &k);
	util_parse_rfc3339(r->c.created, &created);
	if (k == PS_ID) {
		mr_buf_printf(out, "%.*s", no_trunc ? CTR_ID_LEN : 12, r->c.id);
	} else if (k == PS_NAMES) {
		mr_buf_printf(out, "%s", r->c.name);
	} else if (k == PS_IMAGE) {
		/* Docker: the image's ID once its name went (rmi, a new tag) */
		if (r->image_gone)
			mr_buf_printf(out, "%.*s", no_trunc ? MR_DIGEST_LEN : 12,
				      no_trunc ? r->c.image : r->c.image + 7);
		else
			mr_buf_printf(out, "%s", r->c.image_ref);
	} else if (k == PS_COMMAND) {
		ps_command(&r->c, no_trunc, out);
	} else if (k == PS_CREATED_AT) {
		struct tm tm;
		gmtime_r(&created, &tm);
		mr_buf_printf(out, "%04d-%02d-%02d %02d:%02d:%02d +0000 UTC", tm.tm_year + 1900,
			      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	} else if (k == PS_RUNNING_FOR) {
		util_human_duration((long)(now - created), buf, sizeof buf);
		mr_buf_printf(out, "%s ago", buf);
	} else if (k == PS_STATUS) {
		ctr_status_string(&r->ci, now, buf, sizeof buf);
		mr_buf_printf(out, "%s", buf);
	} else if (k == PS_STATE) {
		mr_buf_printf(out, "%s", ctr_status_name(r->ci.status));
	} else if (k == PS_LABELS) {
		for (i = 0; i < r->c.labels.n; i++)
			mr_buf_printf(out, "%s%s", i ? "," : "", r->c.labels.v[i]);
	} else if (k == PS_LABEL) {
		for (i = 0; arg && i < r->c.labels.n; i++)
			if (ctr_env_keylen(r->c.labels.v[i]) == strlen(arg) &&
			    !strncmp(r->c.labels.v[i], arg, strlen(arg)) && r->c.labels.v[i][strlen(arg)])
				mr_buf_printf(out, "%s", r->c.labels.v[i] + strlen(arg) + 1);
	} else if (k == PS_NETWORKS) {
		mr_buf_printf(out, "%s", r->c.network);
	} else if (k == PS_SIZE) {
		char a[24], b[24];
		util_human_size(r->size_rw, a, sizeof a);
		util_human_size(r->size_virtual, b, sizeof b);
		if (r->sized)
			mr_buf_printf(out, "%s (virtual %s)", a, b);
		else
			mr_buf_printf(out, "0B");
	} else if (k == PS_PORTS) {
		if (r->ci.status == CTR_RUNNING)
			ps_ports(r, out);
	} else if (k == PS_NONE) {   /* Mounts and LocalVolumes stay empty */
		return -1;
	}
	mr_buf_append(out, "", 0);
	return 0;
}

static const char *ps_header(const char *f)
{
	int k;
	const char *p = ps_lookup(f, &k);
	return p ? p + strlen(p) + 1 : f;
}

/* Render a Go-style template ({{.Field}}, {{.Label "k"}}, \t \n escapes);
 * row NULL renders the header. -1 (message printed) on an unknown field. */
static int ps_render(const char *fmt, const struct ctr_row *r, int no_trunc, struct mr_buf *out)
{
	const char *p = fmt;
	while (*p) {
		const char *open = strstr(p, "{{"), *close, *q;
		char field[64], arg[128];
		size_t n;
		for (q = p; q < (open ? open : p + strlen(p)); q++) {
			if (q[0] == '\\' && (q[1] == 't' || q[1] == 'n')) {
				mr_buf_append(out, q[1] == 't' ? "\t" : "\n", 1);
				q++;
			} else {
				mr_buf_append(out, q, 1);
			}
		}
		if (!open)
			break;
		close = strstr(open, "}}");
		if (!close) {
			fprintf(stderr, "Error: template: unclosed action in \"%s\"\n", fmt);
			return -1;
		}
		for (q = open + 2; *q == ' '; q++) {}
		if (*q != '.') {
			fprintf(stderr, "Error: template: unsupported action \"%.*s\"\n",
				(int)(close - open + 2), open);
			return -1;
		}
		n = strcspn(q + 1, " }");
		snprintf(field, sizeof field, "%.*s", (int)n, q + 1);
		arg[0] = 0;
		for (q += 1 + n; *q == ' '; q++) {}
		if (*q == '"')
			snprintf(arg, sizeof arg, "%.*s", (int)strcspn(q + 1, "\""), q + 1);
		if (!r)
			mr_buf_printf(out, "%s", ps_header(field));
		else if (ps_field(r, field, arg[0] ? arg : NULL, no_trunc, out) < 0) {
			fprintf(stderr, "Error: template: can't evaluate field %s\n", field);
			return -1;
		}
		p = close + 2;
	}
	mr_buf_append(out, "", 0);
	return 0;
}

/* Split a rendered table row at its tabs into n cells. */
static void ps_cells(char *p, const char **cells, size_t n)
{
	size_t k;
	for (k = 0; k < n; k++) {
		cells[k] = p ? p : "";
		p = p ? strchr(p, '\t') : NULL;
		if (p)
			*p++ = 0;
	}
}

static int cmd_ps(struct cli *cl, int argc, char **argv)
{
	int all = 0, quiet = 0, no_trunc = 0, latest = 0, rc = 0, size = 0;
	const char *format = NULL, *last = NULL;
	struct ctr_list filters = { 0 };
	static const char flags[] =
		CLI_FLAG("a|all", "Show all containers")
		CLI_FLAG("q|quiet", "Only display container IDs")
		CLI_FLAG("no-trunc", "Don't truncate output")
		CLI_FLAG("+f|filter", "Filter: name, id, status, label, ancestor, exited, health")
		CLI_FLAG("=format", "Go-like template")
		CLI_FLAG("l|latest", "Show the last created")
		CLI_FLAG("=n|last", "Show the n last created")
		CLI_FLAG("s|size", "Display total file sizes");
	struct mr_store *st;
	struct ctr_row *rows;
	struct cli_table t = { 7, 0, NULL, { 0 }, 0 };
	struct mr_buf line = { 0 };
	size_t i, count, shown = 0, limit = (size_t)-1;
	int table = 0;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(0, 0, 1), "[OPTIONS]", flags, &all, &quiet,
			&no_trunc, &filters, &format, &latest, &last, &size);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	for (i = 0; i < filters.n; i++)
		if (!ctr_filter_known(filters.v[i])) {
			fprintf(stderr, "Error: invalid filter '%s'\n", filters.v[i]);
			return CLI_EXIT_FAIL;
		}
	if (latest)
		limit = 1;
	if (last)
		limit = (size_t)atol(last);
	if (latest || last)
		all = 1;
	if (format && util_starts_with(format, "table")) {
		table = 1;
		format += 5;
		while (*format == ' ')
			format++;
	}
	rows = ctr_rows(st, &count);
	if (size || (format && strstr(format, ".Size")))
		ctr_rows_sizes(st, rows, count);
	if (!quiet && (!format || table)) {
		if (format) {
			if (ps_render(format, NULL, no_trunc, &line) < 0) {
				rc = CLI_EXIT_FAIL;
				goto out;
			}
		} else {
			static const char *const head[] = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
							    "STATUS", "PORTS", "NAMES", "SIZE" };
			t.ncols = size ? 8 : 7;
			cli_table_add(&t, head);
		}
	}
	if (format && table && !quiet) {
		/* the table's columns are the template's tab-separated cells */
		t.ncols = 1;
		for (i = 0; i < line.len; i++)
			t.ncols += line.data[i] == '\t';
		if (t.ncols > 12)
			t.ncols = 12;
	}
	for (i = 0; i < count && shown < limit; i++) {
		struct ctr_row *r = &rows[i];
		if (!all && r->ci.status != CTR_RUNNING && r->ci.status != CTR_RESTARTING &&
		    !ctr_filter_stopped(&filters))
			continue;
		if (!ctr_filter_match(r, &filters))
			continue;
		shown++;
		if (quiet) {
			printf("%.*s\n", no_trunc ? CTR_ID_LEN : 12, r->c.id);
		} else if (format) {
			struct mr_buf b = { 0 };
			if (ps_render(format, r, no_trunc, &b) < 0) {
				mr_buf_free(&b);
				rc = CLI_EXIT_FAIL;
				break;
			}
			if (!table) {
				cli_println(b.data);
			} else {
				const char *cells[12];
				if (!t.nrows) {
					ps_cells(line.data, cells, t.ncols);
					cli_table_add(&t, cells);
				}
				ps_cells(b.data, cells, t.ncols);
				cli_table_add(&t, cells);
			}
			mr_buf_free(&b);
		} else {
			struct mr_buf cells[8];
			const char *row[8];
			static const char fields[] = "ID\0Image\0Command\0RunningFor\0Status\0Ports\0Names\0"
						     "Size\0";
			const char *f = fields;
			size_t k;
			for (k = 0; k < t.ncols; k++, f += strlen(f) + 1) {
				memset(&cells[k], 0, sizeof cells[k]);
				ps_field(r, f, NULL, no_trunc, &cells[k]);
				row[k] = cells[k].data ? cells[k].data : "";
			}
			cli_table_add(&t, row);
			for (k = 0; k < t.ncols; k++)
				mr_buf_free(&cells[k]);
		}
	}
	if (table && !t.nrows && line.data) {
		/* only the header */
		const char *cells[12];
		ps_cells(line.data, cells, t.ncols);
		cli_table_add(&t, cells);
	}
	cli_table_print(&t);
out:
	ctr_rows_free(rows, count);
	free(filters.v);
	mr_buf_free(&line);
	return rc;
}

/* ---- top, stats ---- */

static int cmd_top(struct cli *cl, int argc, char **argv)
{
	static const char *const head[] = { "UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD" };
	struct cli_table t = { 8, 0, NULL, { 0 }, 0 };
	struct ctr c;
	struct ctr_info ci;
	pid_t *pids;
	size_t count, i;
	time_t now = time(NULL), boot = 0;
	struct timespec up;
	/* ps -o columns: name, header, index in the full row below (9: comm,
	 * 10: numeric uid) */
	static const struct { char name[8], head[8]; int col; } cols[] = {
		{ "uid", "UID", 10 }, { "user", "USER", 0 }, { "pid", "PID", 1 }, { "ppid", "PPID", 2 },
		{ "c", "C", 3 }, { "stime", "STIME", 4 }, { "tty", "TT", 5 }, { "time", "TIME", 6 },
		{ "args", "COMMAND", 7 }, { "command", "COMMAND", 7 }, { "cmd", "CMD", 7 },
		{ "comm", "COMMAND", 9 },
	};
	int sel[12], nsel = 0, k, has_pid = 1;
	const char *hsel[12];
	int n = cli_parse(cl, argc, argv, CLI_ARGS(1, -1, 0), "CONTAINER [ps OPTIONS]", "");
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	/* ps options (Docker hands them to the host's ps; minirun knows the
	 * common ones): -e/-f/-ef change nothing, -o/-eo LIST picks columns */
	for (k = 1; k < n; k++) {
		const char *a = argv[k], *list = NULL;
		if (util_one_of(a, "-e\0-f\0-ef\0-A"))
			continue;
		if (util_one_of(a, "-o\0-eo\0-Ao\0-efo"))
			list = k + 1 < n ? argv[++k] : "";
		else if (util_starts_with(a, "-o") || util_starts_with(a, "-eo"))
			list = a + (a[1] == 'o' ? 2 : 3);
		else if (util_starts_with(a, "--format="))
			list = a + 9;
		if (!list) {
			fprintf(stderr, "Error: unsupported ps option %s (minirun's top knows -e, -f, -o)\n", a);
			return 1;
		}
		while (*list && nsel < 12) {
			size_t l = strcspn(list, ", "), j;
			for (j = 0; j < sizeof cols / sizeof cols[0]; j++)
				if (strlen(cols[j].name) == l && !strncmp(cols[j].name, list, l))
					break;
			if (j == sizeof cols / sizeof cols[0]) {
				fprintf(stderr, "Error: unknown ps column %.*s\n", (int)l, list);
				return 1;
			}
			hsel[nsel] = cols[j].head;
			sel[nsel++] = cols[j].col;
			list += l + (list[l] != 0);
		}
	}
	for (k = 0, has_pid = !nsel; k < nsel; k++)
		has_pid |= sel[k] == 1;
	if (!has_pid) {
		fprintf(stderr, "Error: Couldn't find PID field in ps output\n");
		return 1;
	}
	if (cli_ctr(cl, argv[0], &c) < 0)
		return 1;
	ctr_info_get(&cl->store, c.id, &ci);
	if (ci.status != CTR_RUNNING) {
		fprintf(stderr, "Error: Container %s is not running\n", c.id);
		ctr_free(&c);
		return CLI_EXIT_FAIL;
	}
	clock_gettime(CLOCK_BOOTTIME, &up);
	boot = now - up.tv_sec;
	pids = cg_pids(c.id, ci.pid, &count);
	t.minw = 20;
	if (nsel)
		t.ncols = (size_t)nsel;
	cli_table_add(&t, nsel ? hsel : (const char **)head);
	for (i = 0; i < count; i++) {
		struct ctr_proc p;
		const char *row[11], *out[12];
		if (ctr_proc_read(pids[i], now, boot, &p) < 0)
			continue;
		row[0] = p.uid; row[1] = p.pid; row[2] = p.ppid; row[3] = p.cpu; row[4] = p.stime;
		row[5] = p.tty; row[6] = p.time; row[7] = p.cmd.data ? p.cmd.data : "";
		row[8] = ""; row[9] = p.comm; row[10] = p.nuid;
		for (k = 0; k < nsel; k++)
			out[k] = row[sel[k]];
		cli_table_add(&t, nsel ? out : row);
		mr_buf_free(&p.cmd);
	}
	cli_table_print(&t);
	free(pids);
	ctr_free(&c);
	return 0;
}

/* Docker's binary sizes ("1.5MiB": the value in its unit with %.4g) for
 * memory in stats, in integers: four significant digits, rounded. */
static void cli_bytes_size(uint64_t n, char *out, size_t size)
{
	static const char units[][4] = { "B", "KiB", "MiB", "GiB", "TiB" };
	uint64_t whole = n, unit = 1, scale = 1, lim;
	int u = 0, decimals = 0;
	char num[32];
	while (whole >= 1024 && u < 4)
		whole /= 1024, unit *= 1024, u++;
	/* four significant digits: as many decimals as the whole part leaves */
	for (lim = 1000; whole < lim && decimals < 3; lim /= 10)
		decimals++, scale *= 10;
	util_fmt_fixed(whole * scale + ((n % unit) * scale + unit / 2) / unit, decimals, num, sizeof num);
	snprintf(out, size, "%s%s", num, units[u]);
}

/* "12.34%" of part in whole, as Docker's stats prints percentages. */
static void cli_percent(uint64_t part, uint64_t whole, char *out, size_t size)
{
	uint64_t hundredths = whole ? (part * 10000 + whole / 2) / whole : 0;
	snprintf(out, size, "%llu.%02llu%%", (unsigned long long)(hundredths / 100),
		 (unsigned long long)(hundredths % 100));
}

static int cmd_stats(struct cli *cl, int argc, char **argv)
{
	int no_stream = 0, all = 0, no_trunc = 0;
	const char *format = NULL;
	static const char flags[] =
		CLI_FLAG("no-stream", "One sample, no refresh")
		CLI_FLAG("a|all", "Show all containers")
		CLI_FLAG("no-trunc", "Do not truncate output")
		CLI_FLAG("=format", "Pretty-print images using a Go template");
	static const char heads[] = "Container\0CONTAINER\0Name\0NAME\0ID\0CONTAINER ID\0"
		"CPUPerc\0CPU %\0MemUsage\0MEM USAGE / LIMIT\0MemPerc\0MEM %\0NetIO\0NET I/O\0"
		"BlockIO\0BLOCK I/O\0PIDs\0PIDS\0";
	struct cli_fmt fm;
	static const char *const head[] = { "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT",
					    "MEM %", "NET I/O", "BLOCK I/O", "PIDS" };
	struct mr_store *st;
	struct ctr_row *rows;
	struct ctr_sample *a, *b;
	unsigned char *keep;
	size_t count, i;
	int k, rc = 0;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(0, -1, 1), "[OPTIONS] [CONTAINER...]", flags,
			&no_stream, &all, &no_trunc, &format);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	rows = ctr_rows(st, &count);
	/* the containers asked for (or the running ones) */
	keep = util_xcalloc(count, 1);
	for (i = 0; i < count; i++) {
		keep[i] = (unsigned char)(n == 0 && (all || rows[i].ci.status == CTR_RUNNING));
		for (k = 0; k < n; k++) {
			char id[CTR_ID_LEN + 1];
			struct mr_err ignored;
			if (ctr_find(st, argv[k], id, &ignored) == 0 && !strcmp(id, rows[i].c.id))
				keep[i] = 1;
		}
	}
	for (k = 0; k < n; k++) {
		char id[CTR_ID_LEN + 1];
		if (ctr_find(st, argv[k], id, &cl->err) < 0) {
			util_print_err(&cl->err);
			rc = 1;
		}
	}
	a = util_xcalloc(count, sizeof *a);
	b = util_xcalloc(count, sizeof *b);
	for (;;) {
		struct cli_table t = { 8, 0, NULL, { 0 }, 0 };
		for (i = 0; i < count; i++)
			if (keep[i] && rows[i].ci.status == CTR_RUNNING)
				ctr_sample_take(&rows[i].c, rows[i].ci.pid, &a[i]);
		usleep(no_stream ? 250000 : 1000000);
		if (format)
			cli_fmt_init(&fm, format, heads);
		else
			cli_table_add(&t, head);
		for (i = 0; i < count; i++) {
			char id[72], cpu[16], mem[48], memp[16], net[48], pids[24], x[16], y[16];
			/* a stopped container's row: zeros */
			const char *row[8] = { id, rows[i].c.name, "0.00%", "0B / 0B", "0.00%", "0B / 0B",
					       "0B / 0B", "0" };
			uint64_t dt;
			if (!keep[i])
				continue;
			if (rows[i].ci.status == CTR_RUNNING) {
				ctr_sample_take(&rows[i].c, rows[i].ci.pid, &b[i]);
				dt = (uint64_t)((b[i].at.tv_sec - a[i].at.tv_sec) * 1000000000LL +
						(b[i].at.tv_nsec - a[i].at.tv_nsec));
				cli_percent(b[i].cpu_ns >= a[i].cpu_ns ? b[i].cpu_ns - a[i].cpu_ns : 0, dt,
					    cpu, sizeof cpu);
				cli_bytes_size(b[i].mem, x, sizeof x);
				cli_bytes_size(b[i].limit, y, sizeof y);
				snprintf(mem, sizeof mem, "%s / %s", x, y);
				cli_percent(b[i].mem, b[i].limit, memp, sizeof memp);
				util_human_size(b[i].rx, x, sizeof x);
				util_human_size(b[i].tx, y, sizeof y);
				snprintf(net, sizeof net, "%s / %s", x, y);
				snprintf(pids, sizeof pids, "%llu", (unsigned long long)b[i].pids);
				row[2] = cpu; row[3] = mem; row[4] = memp; row[5] = net; row[7] = pids;
			}
			snprintf(id, sizeof id, "%.*s", no_trunc ? CTR_ID_LEN : 12, rows[i].c.id);
			if (format) {
				const char *vals[] = { n ? rows[i].c.name : id, rows[i].c.name, id,
							row[2], row[3], row[4], row[5], row[6], row[7] };
				if (!no_stream && !fm.t.nrows && !fm.table)
					printf("\033[2J\033[H");
				cli_fmt_row(&fm, vals);
				continue;
			}
			cli_table_add(&t, row);
		}
		if (!no_stream && !format)
			printf("\033[2J\033[H");
		if (format && (rc = cli_fmt_end(&fm)) != 0)
			break;
		cli_table_print(&t);
		fflush(stdout);
		if (no_stream)
			break;
		for (i = 0; i < count; i++)
			ctr_info_get(st, rows[i].c.id, &rows[i].ci);
	}
	free(a);
	free(b);
	free(keep);
	ctr_rows_free(rows, count);
	return rc;
}

/* ---- rename, prune ---- */

static int cmd_rename(struct cli *cl, int argc, char **argv)
{
	struct ctr c;
	const char *name;
	int rc = CLI_EXIT_FAIL;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(2, 2, 1), "CONTAINER NEW_NAME", "");
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	name = argv[1][0] == '/' ? argv[1] + 1 : argv[1];
	if (!ctr_name_valid(name)) {
		fprintf(stderr, "Error: Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
			"are allowed\n", argv[1]);
		return CLI_EXIT_FAIL;
	}
	if (cli_ctr(cl, argv[0], &c) < 0)
		return CLI_EXIT_FAIL;
	if (!strcmp(c.name, name)) {
		fprintf(stderr, "Error: Renaming a container with the same name as its current name\n");
		ctr_free(&c);
		return CLI_EXIT_FAIL;
	}
	rc = ctr_rename(&cl->store, &c, name, &cl->err) < 0 ? CLI_EXIT_FAIL : 0;
	if (rc && cl->err.code == MR_EEXIST)
		/* Docker's two lines for a name in use */
		fprintf(stderr, "Error: Error when allocating new name: %s\n"
			"Error: failed to rename container named %s\n", cl->err.msg, argv[0]);
	else if (rc)
		util_print_err(&cl->err);
	ctr_free(&c);
	return rc;
}

/* Bytes used by a folder (its own filesystem only). */
static uint64_t cli_du(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	uint64_t sum = 0;
	if (!d) {
		close(dirfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		sum += (uint64_t)sb.st_blocks * 512;
		if (S_ISDIR(sb.st_mode)) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				sum += cli_du(fd);
		}
	}
	closedir(d);
	return sum;
}

static int cmd_container_prune(struct cli *cl, int argc, char **argv)
{
	int force = 0;
	struct ctr_list filters = { 0 };
	static const char flags[] =
		CLI_FLAG("f|force", "Do not prompt for confirmation")
		CLI_FLAG("+filter", "Filter: label=...");
	struct mr_store *st;
	struct ctr_row *rows;
	size_t count, i;
	uint64_t reclaimed = 0;
	char size[32];
	int any = 0;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(0, 0, 1), "[OPTIONS]", flags, &force, &filters);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!force && !cli_confirm("all stopped containers"))
		return 0;
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	rows = ctr_rows(st, &count);
	for (i = 0; i < count; i++) {
		struct ctr_owner o;
		int dfd;
		if ((rows[i].ci.status != CTR_EXITED && rows[i].ci.status != CTR_CREATED) ||
		    !ctr_filter_match(&rows[i], &filters))
			continue;
		memset(&o, 0, sizeof o);
		o.st = st;
		o.c = &rows[i].c;
		o.dirfd = o.lockfd = o.rfd = -1;
		if (ctr_owner_take(&o, 0, &cl->err) < 0) {
			ctr_disown(&o);
			continue;
		}
		dfd = fcntl(o.dirfd, F_DUPFD_CLOEXEC, 3);
		{
			uint64_t du = dfd >= 0 ? cli_du(dfd) : 0;
			if (ctr_remove(st, &rows[i].c, &cl->err) == 0) {
				if (!any++)
					printf("Deleted Containers:\n");
				cli_println(rows[i].c.id);
				reclaimed += du;
			} else {
				util_print_err(&cl->err);
			}
		}
		ctr_disown(&o);
	}
	util_human_size(reclaimed, size, sizeof size);
	printf("%sTotal reclaimed space: %s\n", any ? "\n" : "", size);
	ctr_rows_free(rows, count);
	free(filters.v);
	return 0;
}

/* ---- exec ---- */

static int cmd_exec(struct cli *cl, int argc, char **argv)
{
	struct exec_opts o;
	struct ctr_list env = { 0 }, env_file = { 0 };
	static const char flags[] =
		CLI_FLAG("d|detach", "Run in the background")
		CLI_FLAG("i|interactive", "Keep STDIN open")
		CLI_FLAG("t|tty", "Allocate a pseudo-TTY")
		CLI_FLAG("+e|env", "Set environment variables")
		CLI_FLAG("+env-file", "Read environment variables from a file")
		CLI_FLAG("=w|workdir", "Working directory in the container")
		CLI_FLAG("=u|user", "User: name|uid[:group|gid]")
		CLI_FLAG("privileged", "Every capability");
	struct ctr c, tmp;
	struct ctr_info ci;
	size_t i;
	int k, rc;
	int n;
	memset(&o, 0, sizeof o);
	n = cli_parse(cl, argc, argv, CLI_ARGS(2, -1, 0), "[OPTIONS] CONTAINER COMMAND [ARG...]",
			flags, &o.detach, &o.interactive, &o.tty, &env, &env_file, &o.workdir,
			&o.user, &o.privileged);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (o.tty && o.interactive && !isatty(0)) {
		fprintf(stderr, "the input device is not a TTY\n");
		return CLI_EXIT_FAIL;
	}
	util_std_fds();
	if (cli_ctr(cl, argv[0], &c) < 0)
		return 1;
	ctr_info_get(&cl->store, c.id, &ci);
	if (ci.status != CTR_RUNNING) {
		fprintf(stderr, "Error: Container %s is not running\n", c.id);
		ctr_free(&c);
		return 1;
	}
	/* -e and --env-file values, resolved the way `run` does */
	ctr_init(&tmp);
	for (i = 0; i < env_file.n; i++)
		if (ctr_env_file(&tmp, env_file.v[i], &cl->err) < 0) {
			util_print_err(&cl->err);
			ctr_free(&tmp);
			ctr_free(&c);
			return CLI_EXIT_FAIL;
		}
	for (i = 0; i < env.n; i++)
		ctr_env_add_arg(&tmp, env.v[i]);
	o.env = tmp.env;
	for (k = 1; k < n; k++)
		ctr_list_add(&o.cmd, argv[k]);
	if (!o.user)
		o.user = c.user;
	if (!o.workdir)
		o.workdir = c.workdir;
	fflush(stdout);
	cl->err.msg[0] = 0;
	rc = exec_run(&cl->store, &c, ci.pid, ci.pid_start, &o, &cl->err);
	if (rc >= 125 && rc <= 127 && cl->err.msg[0]) {
		util_print_err(&cl->err);
		/* Docker: 126 when the command cannot be run, found or not; 1
		 * when exec itself fails */
		rc = rc == 125 ? 1 : 126;
	}
	ctr_list_free(&o.cmd);
	ctr_free(&tmp);
	ctr_free(&c);
	free(env.v);
	free(env_file.v);
	return rc;
}

/* ---- cp ---- */

/* "CONTAINER:PATH" gives the container (*ctr) and the path after the colon;
 * anything else, or a path starting with "/" or "." (Docker's rule), is a
 * host path. */
static const char *cli_cp_arg(char *arg, char **ctr)
{
	char *colon = strchr(arg, ':');
	*ctr = NULL;
	if (arg[0] == '/' || arg[0] == '.' || !colon)
		return arg;
	*colon = 0;
	*ctr = arg;
	return colon + 1;
}

static int cmd_cp(struct cli *cl, int argc, char **argv)
{
	struct cp_opts o;
	int quiet = 0, n, rc;
	static const char flags[] =
		CLI_FLAG("a|archive", "Archive mode (copy all uid/gid information)")
		CLI_FLAG("L|follow-link", "Always follow symbol link in SRC_PATH")
		CLI_FLAG("q|quiet", "Suppress progress output (there is none)");
	char *sc, *dc;
	const char *src, *dst;
	struct ctr c;
	memset(&o, 0, sizeof o);
	n = cli_parse(cl, argc, argv, CLI_ARGS(2, 2, 1),
			"[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
			"       minirun cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
			flags, &o.archive, &o.follow, &quiet);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	src = cli_cp_arg(argv[0], &sc);
	dst = cli_cp_arg(argv[1], &dc);
	if (sc && dc)
		/* Docker prints these alone and exits 1 */
		return fprintf(stderr, "copying between containers is not supported\n"), 1;
	if (!sc && !dc)
		return fprintf(stderr, "must specify at least one container source\n"), 1;
	if (!*(sc ? dst : src))
		return cli_fail(cl, "filepath cannot be empty"), CLI_EXIT_FAIL;
	util_std_fds();
	if (cli_ctr(cl, sc ? sc : dc, &c) < 0)
		return CLI_EXIT_FAIL;
	o.ctr = c.name;
	o.uid = dc ? 0 : getuid();      /* Docker: the container's root, or the caller */
	o.gid = dc ? 0 : getgid();
	fflush(stdout);
	rc = cp_run(&cl->store, &c, src, dst, dc != NULL, &o, &cl->err);
	ctr_free(&c);
	return rc;
}

/* `__monitor ID REPORT_FD DELAY_MS RESTARTS` (internal: see ctr_start_detached). */
static int cmd_monitor(struct cli *cl, int argc, char **argv)
{
	struct ctr c;
	struct mr_store *st;
	int rc;
	if (argc != 4 || !ctr_is_id(argv[0]))
		return CLI_EXIT_FAIL;
	/* the report pipe must not reach the container */
	if (atoi(argv[1]) > 2)
		fcntl(atoi(argv[1]), F_SETFD, FD_CLOEXEC);
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	if (ctr_load(st, argv[0], &c, &cl->err) < 0) {
		int fd = atoi(argv[1]);
		if (fd > 2) {
			char msg[sizeof cl->err.msg + 8];
			int len = snprintf(msg, sizeof msg, "125 %s", cl->err.msg);
			if (write(fd, msg, (size_t)len) < 0) { /* the CLI is gone */ }
		}
		return CLI_EXIT_FAIL;
	}
	rc = ctr_monitor(st, &c, atoi(argv[1]), (unsigned)atoi(argv[2]), atoi(argv[3]));
	ctr_free(&c);
	return rc;
}

/* ---- info ---- */

static int cmd_info(struct cli *cl, int argc, char **argv)
{
	struct mr_store *st;
	struct ctr_row *rows;
	struct image_db db = { 0 };
	struct utsname u;
	size_t count, i, running = 0, stopped = 0;
	char mem[32];
	const char *driver;
	int v, n = cli_parse(cl, argc, argv, CLI_ARGS(0, 0, 1), "", "");
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	rows = ctr_rows(st, &count);
	for (i = 0; i < count; i++) {
		running += rows[i].ci.status == CTR_RUNNING;
		stopped += rows[i].ci.status == CTR_EXITED || rows[i].ci.status == CTR_CREATED;
		ctr_free(&rows[i].c);
	}
	free(rows);
	image_db_read(st, &db, &cl->err);
	driver = rootfs_driver(st);
	uname(&u);
	v = cg_version();
	printf("Client:\n Version:    %s\n Features:   ", MINIRUN_VERSION);
	cli_print_features();
	printf("\nServer:\n Containers: %zu\n  Running: %zu\n  Paused: 0\n  Stopped: %zu\n"
	       " Images: %zu\n Server Version: %s (daemonless)\n Storage Driver: %s\n",
	       count, running, stopped, db.nrecs, MINIRUN_VERSION, driver);
	printf("  Overlay compiled in: %s\n", MINIRUN_WITH_OVERLAY ? "yes" : "no");
	printf(" Logging Driver: local (max-size %uk, max-file %d by default)\n",
	       CTR_LOG_MAX_SIZE >> 10, CTR_LOG_MAX_FILE);
	printf(" Cgroup Driver: cgroupfs\n Cgroup Version: %s\n",
	       v == 2 ? "2" : v == 1 ? (cg_is_mounted("unified") ? "1 (hybrid: v1 controllers, "
					   "cgroup2 at " CG_ROOT "/unified for tracking)" : "1") : "none");
	printf(" Kernel Version: %s\n Operating System: %s\n OSType: linux\n Architecture: %s\n",
	       u.release, u.sysname, u.machine);
	printf(" CPUs: %ld\n", util_ncpu());
	util_human_size(util_mem_total(), mem, sizeof mem);
	printf(" Total Memory: %s\n Docker Root Dir: %s\n Run Dir: %s\n", mem, st->root, st->rundir);
	{
		int fd = open("/", O_PATH | O_CLOEXEC), o2;
		struct mr_err ignored;
		o2 = fd >= 0 ? compat_openat2(fd, ".", O_PATH, 0, RESOLVE_IN_ROOT) : -1;
		printf(" Kernel Features:\n  openat2: %s\n", o2 >= 0 ? "yes" : "no");
		if (o2 >= 0)
			close(o2);
		if (fd >= 0)
			close(fd);
		(void)ignored;
	}
#ifdef SYS_pidfd_open
	{
		int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
		printf("  pidfd: %s\n", pfd >= 0 ? "yes" : "no");
		if (pfd >= 0)
			close(pfd);
	}
#endif
	printf("  cgroup namespace: %s\n", access("/proc/self/ns/cgroup", F_OK) == 0 ? "yes" : "no");
	printf("  overlay filesystem: %s\n", !strcmp(driver, "overlay") ? "yes" : "no (copy driver)");
	printf("  device policy: %s\n", dev_policy_kind());
	image_db_free(&db);
	return 0;
}

/* `container SUBCOMMAND`: Docker's management command form. */
static int cmd_container(struct cli *cl, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		{ CLI_CMD("cp", "Copy files/folders between a container and the local filesystem"),
		  CLI_CP(cmd_cp) },
		{ CLI_CMD("create", "Create a new container"), cmd_create },
		{ CLI_CMD("exec", "Execute a command in a running container"), cmd_exec },
		{ CLI_CMD("inspect", "Display detailed information on one or more containers"),
		  cmd_container_inspect },
		{ CLI_CMD("kill", "Kill one or more running containers"), cmd_kill },
		{ CLI_CMD("logs", "Fetch the logs of a container"), cmd_logs },
		{ CLI_CMD("ls", "List containers"), cmd_ps },
		{ CLI_CMD("port", "List port mappings or a specific mapping for the container"),
		  cmd_port },
		{ CLI_CMD("prune", "Remove all stopped containers"),
		  CLI_PRUNE(cmd_container_prune) },
		{ CLI_CMD("rename", "Rename a container"), cmd_rename },
		{ CLI_CMD("restart", "Restart one or more containers"), cmd_restart },
		{ CLI_CMD("rm", "Remove one or more containers"), cmd_rm },
		{ CLI_CMD("run", "Create and run a new container from an image"), cmd_run },
		{ CLI_CMD("start", "Start one or more stopped containers"), cmd_start },
		{ CLI_CMD("stats", "Display a live stream of container(s) resource usage statistics"),
		  CLI_STATS(cmd_stats) },
		{ CLI_CMD("stop", "Stop one or more running containers"), cmd_stop },
		{ CLI_CMD("top", "Display the running processes of a container"),
		  CLI_STATS(cmd_top) },
		{ CLI_CMD("wait", "Block until one or more containers stop, then print their exit codes"),
		  cmd_wait },
		{ NULL, NULL },
	};
	return cli_subcommand(cl, "container", subs, argc, argv);
}
/* ---- [21] CLI: volume commands (create, ls, inspect, rm, prune) ---- */

static int cmd_volume_create(struct cli *c, int argc, char **argv)
{
	struct ctr_list labels = { 0 };
	const char *name = NULL, *driver = NULL;
	static const char flags[] =
		CLI_FLAG("=d|driver", "Specify volume driver name (only \"local\")")
		CLI_FLAG("+label", "Set metadata for a volume")
		CLI_FLAG("=name", "Specify volume name");
	struct mr_store *st;
	char out[256];
	int created, rc = CLI_EXIT_FAIL;
	int n = cli_parse(c, argc, argv, CLI_ARGS(0, 1, 1), "[OPTIONS] [VOLUME]", flags, &driver,
			&labels, &name);
	if (n < 0)
		goto out;
	if (n == 1 && name && strcmp(name, argv[0])) {
		cli_fail(c, "conflicting options: either specify --name or provide positional arg, not both");
		goto out;
	}
	if (n == 1)
		name = argv[0];
	if (driver && strcmp(driver, "local")) {
		mr_err_set(&c->err, MR_EINVAL_INPUT, "create %s: volume driver %s: only \"local\" "
			   "is built in", name ? name : "", driver);
		util_print_err(&c->err);
		goto out;
	}
	if (!(st = cli_store(c)))
		goto out;
	if (volume_create(st, name, labels.v, labels.n, 0, out, sizeof out, &created,
			  &c->err) < 0) {
		util_print_err(&c->err);
		goto out;
	}
	cli_println(out);
	rc = 0;
out:
	free(labels.v);
	return n == -2 ? 0 : rc;
}

/* --filter for volume ls: dangling=true|false, name=SUBSTRING, label=K[=V]. */
static int volume_matches(struct mr_store *st, const char *name, const struct ctr_list *filters,
			  struct mr_err *err)
{
	size_t i;
	for (i = 0; i < filters->n; i++) {
		const char *f = filters->v[i];
		char who[256];
		if (util_starts_with(f, "dangling=")) {
			int want = !strcmp(f + 9, "true") || !strcmp(f + 9, "1");
			int users = container_users_of_volume(st, name, who, sizeof who);
			if ((users == 0) != want)
				return 0;
		} else if (util_starts_with(f, "name=")) {
			if (!strstr(name, f + 5))
				return 0;
		} else if (util_starts_with(f, "label=")) {
			struct volume_info vi;
			const char *key = f + 6, *eq = strchr(key, '=');
			char k[256];
			const struct mr_json *v;
			int match;
			snprintf(k, sizeof k, "%.*s", eq ? (int)(eq - key) : 255, key);
			if (volume_read(st, name, &vi, err) < 0)
				return 0;
			v = mr_json_get(mr_json_get(vi.meta.root, "Labels"), k);
			match = v && (!eq || (mr_json_str(v) && !strcmp(v->str, eq + 1)));
			mr_json_free(&vi.meta);
			if (!match)
				return 0;
		} else {
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid filter '%s'", f);
		}
	}
	return 1;
}

static int cmd_volume_ls(struct cli *c, int argc, char **argv)
{
	struct ctr_list filters = { 0 };
	int quiet = 0, rc = CLI_EXIT_FAIL;
	const char *format = NULL;
	static const char flags[] =
		CLI_FLAG("+f|filter", "Provide filter values (e.g. \"dangling=true\")")
		CLI_FLAG("q|quiet", "Only display volume names")
		CLI_FLAG("=format", "Pretty-print volumes using a Go template");
	static const char heads[] = "Name\0VOLUME NAME\0Driver\0DRIVER\0Scope\0SCOPE\0"
		"Mountpoint\0MOUNTPOINT\0Labels\0LABELS\0Links\0LINKS\0Size\0SIZE\0";
	struct cli_fmt fm;
	struct mr_store *st;
	char **names = NULL;
	size_t count = 0, i;
	struct cli_table t = { 2, 0, NULL, { 0 }, 0 };
	static const char *const head[] = { "DRIVER", "VOLUME NAME" };
	int n = cli_parse(c, argc, argv, CLI_ARGS(0, 0, 1), "[OPTIONS]", flags, &filters, &quiet,
			&format);
	if (n < 0 || !(st = cli_store(c)))
		goto out;
	if (volume_list(st, &names, &count, &c->err) < 0) {
		util_print_err(&c->err);
		goto out;
	}
	if (format)
		cli_fmt_init(&fm, format, heads);
	if (!quiet && !format)
		cli_table_add(&t, head);
	for (i = 0; i < count; i++) {
		const char *row[2] = { "local", names[i] };
		int m = volume_matches(st, names[i], &filters, &c->err);
		if (m < 0) {
			util_print_err(&c->err);
			goto out;
		}
		if (!m)
			continue;
		if (quiet) {
			cli_println(names[i]);
		} else if (format) {
			char mp[MINIRUN_MAX_PATH];
			const char *vals[] = { names[i], "local", "local", mp, "", "N/A", "N/A" };
			snprintf(mp, sizeof mp, "%s/volumes/%s/_data", c->root, names[i]);
			if (cli_fmt_row(&fm, vals))
				break;
		} else {
			cli_table_add(&t, row);
		}
	}
	cli_table_print(&t);
	t.nrows = 0;
	rc = format ? cli_fmt_end(&fm) : 0;
out:
	if (t.nrows)
		cli_table_print(&t);
	volume_free_names(names, count);
	free(filters.v);
	return n == -2 ? 0 : rc;
}

static void volume_inspect_one(struct mr_store *st, struct mr_jw *w, struct volume_info *vi)
{
	char path[MINIRUN_MAX_PATH];
	const struct mr_json *labels = mr_json_get(vi->meta.root, "Labels");
	mr_jw_obj(w);
	json_kstr(w, "CreatedAt", vi->created);
	json_kstr(w, "Driver", "local");
	mr_jw_key(w, "Labels");
	if (labels && labels->count)
		mr_jw_value(w, labels);
	else
		mr_jw_null(w);
	mr_jw_key(w, "Mountpoint");
	volume_data_path(st, vi->name, path, sizeof path);
	mr_jw_str(w, path);
	json_kstr(w, "Name", vi->name);
	json_kstr(w, "Options", NULL);
	json_kstr(w, "Scope", "local");
	mr_jw_obj_end(w);
}

static int cmd_volume_inspect(struct cli *c, int argc, char **argv)
{
	const char *format = NULL;
	static const char flags[] =
		CLI_FLAG("=f|format", "Format the output using the given Go template");
	struct mr_store *st;
	struct mr_buf out = { 0 };
	struct mr_jw w, one;
	int i, k, rc = 0;
	int n = cli_parse(c, argc, argv, CLI_ARGS(1, -1, 1), "VOLUME [VOLUME...]", flags, &format);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(c)))
		return CLI_EXIT_FAIL;
	mr_jw_init(&w, &out, 4);
	mr_jw_arr(&w);
	for (i = 0; i < n; i++) {
		struct volume_info vi;
		if (volume_read(st, argv[i], &vi, &c->err) < 0) {
			util_print_err(&c->err);
			rc = 1;
			continue;
		}
		if (format) {
			out.len = 0;
			mr_jw_init(&one, &out, 0);
		}
		volume_inspect_one(st, format ? &one : &w, &vi);
		mr_json_free(&vi.meta);
		if (format && (k = cli_inspect_format(format, out.data, out.len)) != 0)
			rc = k;
	}
	mr_jw_arr_end(&w);
	if (!format)
		cli_println(out.data);
	mr_buf_free(&out);
	return rc;
}

static int cmd_volume_rm(struct cli *c, int argc, char **argv)
{
	int force = 0, i, rc = 0;
	static const char flags[] =
		CLI_FLAG("f|force", "Do not fail when a volume does not exist");
	struct mr_store *st;
	int n = cli_parse(c, argc, argv, CLI_ARGS(1, -1, 1), "[OPTIONS] VOLUME [VOLUME...]", flags,
			&force);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(c)))
		return CLI_EXIT_FAIL;
	for (i = 0; i < n; i++) {
		/* Under the lock: exists, then removed (if unused) at once. */
		if (mr_store_lock(st, &c->err) < 0) {
			util_print_err(&c->err);
			return CLI_EXIT_FAIL;
		}
		if (!volume_exists(st, argv[i])) {
			mr_store_unlock(st);
			if (force)
				continue;
			fprintf(stderr, "Error: No such volume: %s\n", argv[i]);
			rc = 1;
			continue;
		}
		if (volume_remove(st, argv[i], &c->err) < 0) {
			util_print_err(&c->err);
			rc = 1;
		} else {
			cli_println(argv[i]);
		}
		mr_store_unlock(st);
	}
	return rc;
}

static int cmd_volume_prune(struct cli *c, int argc, char **argv)
{
	int force = 0, all = 0;
	struct ctr_list filters = { 0 };
	static const char flags[] =
		CLI_FLAG("a|all", "Remove all unused volumes, not just anonymous ones")
		CLI_FLAG("+filter", "Provide filter values (e.g. \"label=<label>\")")
		CLI_FLAG("f|force", "Do not prompt for confirmation");
	struct mr_store *st;
	char **names = NULL, size[32];
	size_t count = 0, i;
	uint64_t reclaimed = 0;
	int deleted = 0, rc = CLI_EXIT_FAIL;
	int n = cli_parse(c, argc, argv, CLI_ARGS(0, 0, 1), "[OPTIONS]", flags, &all, &filters,
			&force);
	if (n < 0)
		goto out;
	if (!force && !cli_confirm(all ? "all local volumes not used by at least one container"
				       : "all anonymous local volumes not used by at least one container")) {
		rc = 0;
		goto out;
	}
	if (!(st = cli_store(c)) || mr_store_lock(st, &c->err) < 0 ||
	    volume_list(st, &names, &count, &c->err) < 0) {
		util_print_err(&c->err);
		goto out;
	}
	for (i = 0; i < count; i++) {
		struct volume_info vi;
		uint64_t bytes;
		char path[300];
		if (volume_read(st, names[i], &vi, &c->err) < 0)
			continue;
		mr_json_free(&vi.meta);
		if ((!all && !vi.anonymous) || volume_matches(st, names[i], &filters, &c->err) != 1)
			continue;
		snprintf(path, sizeof path, "volumes/%s/_data", names[i]);
		bytes = store_du(st, path);
		if (volume_remove(st, names[i], &c->err) < 0) {
			if (c->err.code != MR_EINUSE)   /* in use: not pruned, not an error */
				util_print_err(&c->err);
			continue;
		}
		if (!deleted++)
			printf("Deleted Volumes:\n");
		cli_println(names[i]);
		reclaimed += bytes;
	}
	mr_store_unlock(st);
	util_human_size(reclaimed, size, sizeof size);
	printf("%sTotal reclaimed space: %s\n", deleted ? "\n" : "", size);
	rc = 0;
out:
	volume_free_names(names, count);
	free(filters.v);
	return n == -2 ? 0 : rc;
}

static int cmd_volume(struct cli *c, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		{ CLI_CMD("create", "Create a volume"), cmd_volume_create },
		{ CLI_CMD("inspect", "Display detailed information on one or more volumes"),
		  cmd_volume_inspect },
		{ CLI_CMD("ls", "List volumes"), cmd_volume_ls },
		{ CLI_CMD("prune", "Remove unused local volumes"), CLI_PRUNE(cmd_volume_prune) },
		{ CLI_CMD("rm", "Remove one or more volumes"), cmd_volume_rm },
		{ NULL, NULL },
	};
	return cli_subcommand(c, "volume", subs, argc, argv);
}

/* ---- [21] CLI: system (df, prune) ---- */

/* A row of `system df`: "Images  2  1  160MB  26.3MB (16%)". */
static void df_row(struct cli_table *t, const char *type, const struct check_df *u)
{
	char n[24], a[24], sz[32], r[48];
	const char *row[5] = { type, n, a, sz, r };
	snprintf(n, sizeof n, "%zu", u->total);
	snprintf(a, sizeof a, "%zu", u->active);
	util_human_size(u->size, sz, sizeof sz);
	util_human_size(u->reclaim, r, sizeof r);
	if (u->size)
		snprintf(r + strlen(r), sizeof r - strlen(r), " (%d%%)", (int)(u->reclaim * 100 / u->size));
	cli_table_add(t, row);
}

/* `system df -v`: Docker's three tables. An image's SHARED SIZE is what its
 * layers share with other images, UNIQUE SIZE the rest; a container's SIZE
 * is its writable layer; a volume's LINKS the containers that mount it. */
static void df_verbose(struct mr_store *st, const struct image_db *db, const struct ctr_row *rows,
		       size_t count, char **names, size_t nvol)
{
	static const char *const ih[] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE",
					  "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS" };
	static const char *const ch[] = { "CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES",
					  "SIZE", "CREATED", "STATUS", "NAMES" };
	static const char *const vh[] = { "VOLUME NAME", "LINKS", "SIZE" };
	/* the three tables filled first, then printed by one loop */
	struct cli_table ts[3] = { { 8, 0, NULL, { 0 }, 0 }, { 8, 0, NULL, { 0 }, 0 },
				   { 3, 0, NULL, { 0 }, 0 } }, *t = ts;
	const char *title = "Images\0\nContainers\0\nLocal Volumes\0";
	char a[5][64], repo[256], path[300], who[80];
	const char *row[8];
	time_t now = time(NULL), when;
	size_t i, j;
	cli_table_add(t, ih);
	for (i = db->nrecs; i-- > 0;) {
		const struct image_rec *r = &db->recs[i];
		uint64_t shared = 0;
		size_t users = 0;
		const char *tag = "<none>";
		snprintf(repo, sizeof repo, "<none>");
		for (j = 0; j < db->ntags; j++)
			if (!strcmp(db->tags[j].id, r->id)) {
				cli_split_tag(db->tags[j].name, repo, sizeof repo, &tag);
				break;
			}
		for (j = 0; j < r->nlayers; j++)
			if (check_layer_shared(db, i, j))
				shared += r->sizes[j];
		for (j = 0; j < count; j++)
			users += !strcmp(rows[j].c.image, r->id);
		when = 0;
		util_parse_rfc3339(r->created, &when);
		util_human_ago(when, a[0], sizeof a[0]);
		util_human_size(r->size, a[1], sizeof a[1]);
		util_human_size(shared, a[2], sizeof a[2]);
		util_human_size(r->size - shared, a[3], sizeof a[3]);
		snprintf(a[4], sizeof a[4], "%zu", users);
		snprintf(path, sizeof path, "%.12s", r->id + 7);
		row[0] = repo, row[1] = tag, row[2] = path, row[3] = a[0], row[4] = a[1];
		row[5] = a[2], row[6] = a[3], row[7] = a[4];
		cli_table_add(t, row);
	}
	cli_table_add(++t, ch);
	for (i = 0; i < count; i++) {
		const struct ctr *c = &rows[i].c;
		struct mr_buf cmd = { 0 };
		size_t vols = 0;
		char id[13];
		for (j = 0; j < c->nmnt; j++)
			vols += c->mnt[j].type == MOUNT_VOLUME;
		ps_command(c, 0, &cmd);
		snprintf(id, sizeof id, "%.12s", c->id);
		snprintf(path, sizeof path, "containers/%s/%s", c->id,
			 strcmp(c->driver, "overlay") ? "rootfs" : "upper");
		snprintf(a[0], sizeof a[0], "%zu", vols);
		util_human_size(store_du(st, path), a[1], sizeof a[1]);
		when = 0;
		util_parse_rfc3339(c->created, &when);
		util_human_ago(when, a[2], sizeof a[2]);
		ctr_status_string(&rows[i].ci, now, a[3], sizeof a[3]);
		row[0] = id, row[1] = c->image_ref, row[2] = cmd.data ? cmd.data : "", row[3] = a[0];
		row[4] = a[1], row[5] = a[2], row[6] = a[3], row[7] = c->name;
		cli_table_add(t, row);
		mr_buf_free(&cmd);
	}
	cli_table_add(++t, vh);
	for (i = 0; i < nvol; i++) {
		int links = container_users_of_volume(st, names[i], who, sizeof who);
		snprintf(path, sizeof path, "volumes/%s/_data", names[i]);
		snprintf(a[0], sizeof a[0], "%d", links > 0 ? links : 0);
		util_human_size(store_du(st, path), a[1], sizeof a[1]);
		row[0] = names[i], row[1] = a[0], row[2] = a[1];
		cli_table_add(t, row);
	}
	for (t = ts; t < ts + 3; t++, title += strlen(title) + 1) {
		printf("%s space usage:\n\n", title);
		cli_table_print(t);
	}
	printf("\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE   CREATED   LAST USED   "
	       "USAGE     SHARED\n");
}

/* `system df`: Docker's rows, counted by check_df ([14b]). */
static int cmd_system_df(struct cli *cl, int argc, char **argv)
{
	static const char *const head[] = { "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE" };
	struct cli_table t = { 5, 0, NULL, { 0 }, 0 };
	struct mr_store *st;
	struct image_db db;
	struct ctr_row *rows;
	struct check_df u[4];
	char **names = NULL;
	size_t count, nvol = 0;
	int verbose = 0;
	static const char flags[] =
		CLI_FLAG("v|verbose", "Show detailed information on space usage");
	int n = cli_parse(cl, argc, argv, CLI_ARGS(0, 0, 1), "[OPTIONS]", flags, &verbose);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	if (image_db_read(st, &db, &cl->err) < 0) {
		util_print_err(&cl->err);
		return CLI_EXIT_FAIL;
	}
	rows = ctr_rows(st, &count);
	if (volume_list(st, &names, &nvol, &cl->err) < 0)
		util_print_err(&cl->err);
	if (verbose) {
		df_verbose(st, &db, rows, count, names, nvol);
	} else {
		const char *type = "Images\0Containers\0Local Volumes\0Build Cache\0";
		check_df(st, &db, rows, count, names, nvol, u);
		cli_table_add(&t, head);
		for (n = 0; n < 4; n++, type += strlen(type) + 1)
			df_row(&t, type, &u[n]);
		cli_table_print(&t);
	}
	ctr_rows_free(rows, count);
	volume_free_names(names, nvol);
	image_db_free(&db);
	return 0;
}

/* `system prune [-a] [--volumes] [-f]`: the stopped containers, then unused
 * images (dangling ones, all with -a), then with --volumes the anonymous
 * volumes no container uses: the three prune commands, in Docker's order. */
static int cmd_system_prune(struct cli *cl, int argc, char **argv)
{
	int force = 0, all = 0, volumes = 0, rc;
	static const char flags[] =
		CLI_FLAG("a|all", "Remove all unused images not just dangling ones")
		CLI_FLAG("volumes", "Prune anonymous volumes")
		CLI_FLAG("f|force", "Do not prompt for confirmation");
	char f[] = "-f", a[] = "-a", *args[] = { f, a, NULL };
	int n = cli_parse(cl, argc, argv, CLI_ARGS(0, 0, 1), "[OPTIONS]", flags, &all, &volumes,
			&force);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!force && !cli_confirm(volumes ? "all stopped containers, unused images and anonymous "
				   "volumes not used by at least one container" :
				   "all stopped containers and unused images"))
		return 0;
	rc = cmd_container_prune(cl, 1, args);
	rc |= cmd_image_prune(cl, 1 + all, args);
	if (volumes)
		rc |= cmd_volume_prune(cl, 1, args);
	return rc ? CLI_EXIT_FAIL : 0;
}

/* `check [--repair]`: exit 0 when the store is (now) consistent, 1 when
 * problems are left (each printed on its own line). */
static int cmd_check(struct cli *c, int argc, char **argv)
{
	int repair = 0, rc;
	static const char flags[] =
		CLI_FLAG("repair", "Remove what is incomplete or unreferenced "
			 "(never a volume's data, never what a container uses)");
	struct mr_store *st;
	int n = cli_parse(c, argc, argv, CLI_ARGS(0, 0, 1), "[OPTIONS]", flags, &repair);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(c)))
		return CLI_EXIT_FAIL;
	rc = check_store(st, repair ? CHECK_REPAIR : CHECK_REPORT, "", &c->err);
	if (rc < 0) {
		util_print_err(&c->err);
		return CLI_EXIT_FAIL;
	}
	return rc ? 1 : 0;
}

static int cmd_system(struct cli *c, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		{ CLI_CMD("df", "Show minirun disk usage"), CLI_STATS(cmd_system_df) },
		{ CLI_CMD("prune", "Remove unused data"), CLI_PRUNE(cmd_system_prune) },
		{ NULL, NULL },
	};
	return cli_subcommand(c, "system", subs, argc, argv);
}

/* ---- [21] CLI: registry commands (pull, login, logout) ---- */

#if MINIRUN_WITH_PULL
#include <termios.h>

/* Join a repeated flag's values with commas (the insecure registry list). */
static char *cli_join(const struct ctr_list *l)
{
	struct mr_buf b = { 0 };
	size_t i;
	mr_buf_append(&b, NULL, 0);
	for (i = 0; i < l->n; i++)
		mr_buf_printf(&b, "%s%s", i ? "," : "", l->v[i]);
	return b.data;
}

/* A line from the terminal, without echo when `secret` (passwords). */
static int cli_prompt(const char *what, int secret, char *out, size_t size)
{
	struct termios old, raw;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), rc = -1, quiet = 0;
	ssize_t n = 0;
	if (fd < 0)
		return -1;
	if (util_write_all(fd, what, strlen(what)) < 0)
		goto out;
	if (secret && tcgetattr(fd, &old) == 0) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)ECHO;
		quiet = tcsetattr(fd, TCSAFLUSH, &raw) == 0;
	}
	while ((size_t)n < size - 1) {
		ssize_t r = read(fd, out + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || out[n] == '\n')
			break;
		n++;
	}
	out[n] = 0;
	if (quiet) {
		tcsetattr(fd, TCSAFLUSH, &old);
		if (util_write_all(fd, "\n", 1) < 0) { /* only cosmetic */ }
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static int cmd_pull(struct cli *c, int argc, char **argv)
{
	struct ctr_list insecure = { 0 };
	struct pull_opts o;
	struct mr_store *st;
	const char *rate = NULL;
	char *list;
	int quiet = 0, rc;
	static const char flags[] =
		CLI_FLAG("=platform", "Set platform if server is multi-platform capable")
		CLI_FLAG("=limit-rate", "Download at most RATE bytes/s (100k, 1m)")
		CLI_FLAG("q|quiet", "Suppress verbose output")
		CLI_FLAG("+insecure-registry", "Registry (host:port) to reach over plain HTTP "
			 "(also $MINIRUN_INSECURE_REGISTRIES)")
		CLI_FLAG("=ca-file", "CA bundle instead of " MINIRUN_DEFAULT_CA_FILE
			 " (also $MINIRUN_CA_FILE)");
	int n;
	memset(&o, 0, sizeof o);
	n = cli_parse(c, argc, argv, CLI_ARGS(1, 1, 1), "[OPTIONS] NAME[:TAG|@DIGEST]", flags,
			&o.platform, &rate, &quiet, &insecure, &o.ca_file);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(c)))
		return CLI_EXIT_FAIL;
	o.quiet = quiet;
	o.print_name = 1;
	if (rate && (util_parse_size(rate, &o.rate) < 0 || o.rate < 1024)) {
		fprintf(stderr, "minirun: pull: invalid --limit-rate '%s' (a size per second, at least 1k)\n",
			rate);
		free(insecure.v);
		return CLI_EXIT_FAIL;
	}
	o.insecure = list = cli_join(&insecure);
	rc = image_pull(st, argv[0], &o, &c->err);
	if (rc < 0)
		util_print_err(&c->err);
	free(list);
	free(insecure.v);
	return rc < 0 ? CLI_EXIT_FAIL : 0;
}

/* `login [-u USER] [-p PASS | --password-stdin] [SERVER]` */
static int cmd_login(struct cli *c, int argc, char **argv)
{
	const char *user = NULL, *pass = NULL;
	struct pull_opts po;
	struct ctr_list insecure = { 0 };
	int from_stdin = 0, rc = CLI_EXIT_FAIL;
	char ubuf[256], pbuf[1024], *list = NULL;
	static const char flags[] =
		CLI_FLAG("=u|username", "Username")
		CLI_FLAG("=p|password", "Password")
		CLI_FLAG("password-stdin", "Take the password from stdin")
		CLI_FLAG("+insecure-registry", "The registry speaks plain HTTP")
		CLI_FLAG("=ca-file", "CA bundle instead of the system's");
	int n;
	memset(&po, 0, sizeof po);
	n = cli_parse(c, argc, argv, CLI_ARGS(0, 1, 1), "[OPTIONS] [SERVER]", flags, &user, &pass,
			&from_stdin, &insecure, &po.ca_file);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (pass && from_stdin)
		return cli_fail(c, "--password and --password-stdin are mutually exclusive"), CLI_EXIT_FAIL;
	if (from_stdin && !user)
		return cli_fail(c, "Must provide --username with --password-stdin"), CLI_EXIT_FAIL;
	if (pass)
		fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
	if (from_stdin) {
		ssize_t r = util_read_full(0, pbuf, sizeof pbuf - 1);
		if (r < 0) {
			mr_err_sys(&c->err, "read password from stdin");
			goto fail;
		}
		pbuf[r] = 0;
		pbuf[strcspn(pbuf, "\r\n")] = 0;
		pass = pbuf;
	}
	if ((!user || !pass) && !isatty(0)) {
		fprintf(stderr, "Error: Cannot perform an interactive login from a non TTY device\n");
		return CLI_EXIT_FAIL;
	}
	if (!user) {
		if (cli_prompt("Username: ", 0, ubuf, sizeof ubuf) < 0)
			goto tty;
		user = ubuf;
	}
	if (!pass) {
		if (cli_prompt("Password: ", 1, pbuf, sizeof pbuf) < 0)
			goto tty;
		pass = pbuf;
	}
	if (!*user || strchr(user, ':')) {
		mr_err_set(&c->err, MR_EINVAL_INPUT, "login: invalid username %s", user);
		goto fail;
	}
	po.insecure = list = cli_join(&insecure);
	if (pull_login(n ? argv[0] : "docker.io", user, pass, &po, &c->err) < 0)
		goto fail;
	printf("Login Succeeded\n");
	rc = 0;
	goto out;
tty:
	mr_err_sys(&c->err, "login: /dev/tty");
fail:
	util_print_err(&c->err);
out:
	memset(pbuf, 0, sizeof pbuf);
	free(list);
	free(insecure.v);
	return rc;
}

/* `logout [SERVER]` */
static int cmd_logout(struct cli *c, int argc, char **argv)
{
	struct pull_ref r;
	int found, n = cli_parse(c, argc, argv, CLI_ARGS(0, 1, 1), "[SERVER]", "");
	const char *s;
	size_t len;
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	s = n ? argv[0] : "docker.io";
	if (util_starts_with(s, "https://"))
		s += 8;
	else if (util_starts_with(s, "http://"))
		s += 7;
	len = strcspn(s, "/");
	snprintf(r.domain, sizeof r.domain, "%.*s", (int)len, s);
	if (!len || !strcmp(r.domain, "index.docker.io") || !strcmp(r.domain, "registry-1.docker.io"))
		snprintf(r.domain, sizeof r.domain, "docker.io");
	if (pull_creds_set(r.domain, NULL, &found, &c->err) < 0) {
		util_print_err(&c->err);
		return CLI_EXIT_FAIL;
	}
	printf(found ? "Removing login credentials for %s\n" : "Not logged in to %s\n",
	       pull_auth_key(r.domain));
	return 0;
}
#else /* !MINIRUN_WITH_PULL: the commands stay, and say why they cannot work */
static int cmd_pull(struct cli *c, int argc, char **argv)
{
	(void)c; (void)argc; (void)argv;
	return cli_disabled("pull", "PULL");
}

static int cmd_login(struct cli *c, int argc, char **argv)
{
	(void)c; (void)argc; (void)argv;
	return cli_disabled("login", "PULL");
}

static int cmd_logout(struct cli *c, int argc, char **argv)
{
	(void)c; (void)argc; (void)argv;
	return cli_disabled("logout", "PULL");
}
#endif /* MINIRUN_WITH_PULL */
/* ---- [21] CLI: port (networking, [19]) ---- */

/* port CONTAINER [PRIVATE_PORT[/PROTO]] */
static int cmd_port(struct cli *cl, int argc, char **argv)
{
	struct ctr c;
	struct mr_buf b = { 0 };
	const char *l;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(1, 2, 0), "CONTAINER [PRIVATE_PORT[/PROTO]]",
			""), found = 0;
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (cli_ctr(cl, argv[0], &c) < 0)
		return CLI_EXIT_FAIL;
	if (net_rt_read(&cl->store, c.id, &b) == 0)
		for (l = strchr(b.data, '\n'); l && *++l; l = strchr(l, '\n')) {
			struct net_port p;
			char hip[16], key[16];
			if (net_port_line(l, &p) < 0)
				break;
			snprintf(key, sizeof key, "%u/%s", p.cport, p.proto == 'u' ? "udp" : "tcp");
			if (n == 2 && strcmp(argv[1], key) &&
			    (strchr(argv[1], '/') || (unsigned)atoi(argv[1]) != p.cport || p.proto != 't'))
				continue;
			net_ip_str(p.hip, hip);
			if (n == 2)
				printf("%s:%u\n", hip, p.hport);
			else
				printf("%s -> %s:%u\n", key, hip, p.hport);
			found = 1;
		}
	mr_buf_free(&b);
	if (n == 2 && !found) {
		fprintf(stderr, "Error: No public port '%s' published for %s\n", argv[1], c.name);
		ctr_free(&c);
		return CLI_EXIT_FAIL;
	}
	ctr_free(&c);
	return 0;
}
/* ---- [21] CLI: network commands (create, ls, inspect, rm, prune; [19]) ---- */

#if MINIRUN_WITH_NET
/* How many containers (running or not) are on network name; the first
 * one's name into who. */
static int cli_net_users(struct mr_store *st, const char *name, char *who, size_t size)
{
	size_t n, i;
	int users = 0;
	struct ctr_row *rows = ctr_rows(st, &n);
	for (i = 0; i < n; i++) {
		if (!strcmp(rows[i].c.network, name) && !users++)
			snprintf(who, size, "%s", rows[i].c.name);
		ctr_free(&rows[i].c);
	}
	free(rows);
	return users;
}

/* rm (quiet 0) and prune (1): a created network nobody uses goes, file
 * and bridge; 1 when removed. Store locked. */
static int cli_net_remove(struct mr_store *st, struct net_def *d, int quiet, struct mr_err *err)
{
	char who[CTR_NAME_MAX + 1];
	if (!d->file[0] || !strcmp(d->file, "network.json"))
		return quiet ? 0 : mr_err_set(err, MR_EINVAL_INPUT, "%s is a pre-defined network "
					      "and cannot be removed", d->name);
	if (cli_net_users(st, d->name, who, sizeof who))
		return quiet ? 0 : mr_err_set(err, MR_EINUSE, "error while removing network: network "
					      "%s id %s is in use by container %s", d->name, d->id, who);
	if (unlinkat(st->rootfd, d->file, 0) < 0)
		return mr_err_sys(err, "remove network %s", d->name);
	net_link_gone(d->bridge);
	return 1;
}

static int cli_net_prune_one(struct mr_store *st, struct net_def *d, void *arg)
{
	struct mr_err ignored;
	if (cli_net_remove(st, d, 1, &ignored) == 1)
		printf("%s%s\n", (*(int *)arg)++ ? "" : "Deleted Networks:\n", d->name);
	else if (d->file[0] && !d->ctrs)
		net_link_gone(d->bridge);     /* the default one, left by a crash */
	return 0;
}

static int cmd_network_prune(struct cli *cl, int argc, char **argv)
{
	static const char flags[] =
		CLI_FLAG("f|force", "Do not prompt for confirmation");
	struct mr_store *st;
	int force = 0;   /* accepted as Docker's; there is no prompt */
	int n = cli_parse(cl, argc, argv, CLI_ARGS(0, 0, 1), "[OPTIONS]", flags, &force), count = 0;
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(cl)) || mr_store_lock(st, &cl->err) < 0)
		return CLI_EXIT_FAIL;
	net_each(st, cli_net_prune_one, &count);
	/* and the masquerade rules of networks nobody uses any more */
	nft_sync(st, "prune", &cl->err);
	mr_store_unlock(st);
	return 0;
}

static int cmd_network_rm(struct cli *cl, int argc, char **argv)
{
	static const char flags[] =
		CLI_FLAG("f|force", "Do not error if the network does not exist");
	struct mr_store *st;
	struct net_def d;
	int force = 0;   /* accepted as Docker's, not used */
	int i, rc = 0, n = cli_parse(cl, argc, argv, CLI_ARGS(1, -1, 1), "NETWORK [NETWORK...]",
			flags, &force);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	for (i = 0; i < n; i++) {
		/* under the lock: no container starts on it meanwhile */
		if (mr_store_lock(st, &cl->err) < 0 || net_find(st, argv[i], &d, &cl->err) < 0 ||
		    cli_net_remove(st, &d, 0, &cl->err) < 0) {
			util_print_err(&cl->err);
			rc = 1;
		} else {
			cli_println(argv[i]);
		}
		mr_store_unlock(st);
	}
	return rc;
}

static int cmd_network_inspect(struct cli *cl, int argc, char **argv)
{
	const char *format = NULL;
	static const char flags[] =
		CLI_FLAG("=f|format", "Format the output using the given Go template");
	struct mr_store *st;
	struct mr_buf out = { 0 };
	struct mr_jw w, one;
	struct net_def d;
	int i, k, rc = 0, n = cli_parse(cl, argc, argv, CLI_ARGS(1, -1, 1), "NETWORK [NETWORK...]",
			flags, &format);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	mr_jw_init(&w, &out, 4);
	mr_jw_arr(&w);
	for (i = 0; i < n; i++) {
		if (net_find(st, argv[i], &d, &cl->err) < 0) {
			util_print_err(&cl->err);
			rc = 1;
			continue;
		}
		if (format) {
			out.len = 0;
			mr_jw_init(&one, &out, 0);
		}
		net_inspect_one(st, &d, format ? &one : &w);
		if (format && (k = cli_inspect_format(format, out.data, out.len)) != 0)
			rc = k;
	}
	mr_jw_arr_end(&w);
	if (!format)
		cli_println(out.data);
	mr_buf_free(&out);
	return rc;
}

struct cli_net_ls {
	int quiet, no_trunc;
	struct cli_fmt *fm;
	struct cli_table t;             /* last: its widths are 96 bytes */
};

static int cli_net_ls_row(struct mr_store *st, struct net_def *d, void *arg)
{
	struct cli_net_ls *l = arg;
	char id[65];
	const char *row[4] = { id, d->name, d->driver, "local" };
	(void)st;
	snprintf(id, sizeof id, "%.*s", l->no_trunc ? 64 : 12, d->id);
	if (l->quiet) {
		cli_println(id);
	} else if (l->fm) {
		const char *vals[] = { id, d->name, d->driver, "local", "false", "false", "", "" };
		cli_fmt_row(l->fm, vals);
	} else {
		cli_table_add(&l->t, row);
	}
	return 0;
}

static int cmd_network_ls(struct cli *cl, int argc, char **argv)
{
	static const char *const head[] = { "NETWORK ID", "NAME", "DRIVER", "SCOPE" };
	struct cli_net_ls l = { .t = { 4, 0, NULL, { 0 }, 0 } };
	const char *format = NULL;
	struct cli_fmt fm;
	static const char flags[] =
		CLI_FLAG("no-trunc", "Do not truncate the output")
		CLI_FLAG("q|quiet", "Only display network IDs")
		CLI_FLAG("=format", "Pretty-print networks using a Go template");
	struct mr_store *st;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(0, 0, 1), "[OPTIONS]", flags, &l.no_trunc,
			&l.quiet, &format);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	if (format) {
		cli_fmt_init(&fm, format, "ID\0NETWORK ID\0Name\0NAME\0Driver\0DRIVER\0Scope\0SCOPE\0"
			     "IPv6\0IPV6\0Internal\0INTERNAL\0Labels\0LABELS\0CreatedAt\0CREATED\0");
		l.fm = &fm;
	}
	if (!l.quiet && !format)
		cli_table_add(&l.t, head);
	net_each(st, cli_net_ls_row, &l);
	cli_table_print(&l.t);
	return format ? cli_fmt_end(&fm) : 0;
}

static int cmd_network_create(struct cli *cl, int argc, char **argv)
{
	const char *subnet = NULL, *gateway = NULL, *driver = NULL;
	static const char flags[] =
		CLI_FLAG("=d|driver", "Driver to manage the Network (only \"bridge\")")
		CLI_FLAG("=gateway", "IPv4 Gateway for the master subnet")
		CLI_FLAG("=subnet", "Subnet in CIDR format");
	struct mr_store *st;
	char id[65];
	int n = cli_parse(cl, argc, argv, CLI_ARGS(1, 1, 1), "[OPTIONS] NETWORK", flags, &driver,
			&gateway, &subnet);
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	if (driver && strcmp(driver, "bridge"))
		mr_err_set(&cl->err, MR_EINVAL_INPUT, "plugin \"%s\" not found", driver);
	else if (net_create(st, argv[0], subnet, gateway, id, &cl->err) == 0)
		return cli_println(id), 0;
	util_print_err(&cl->err);
	return CLI_EXIT_FAIL;
}

static int cmd_network(struct cli *cl, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		{ CLI_CMD("create", "Create a network"), cmd_network_create },
		{ CLI_CMD("inspect", "Display detailed information on one or more networks"),
		  cmd_network_inspect },
		{ CLI_CMD("ls", "List networks"), cmd_network_ls },
		{ CLI_CMD("prune", "Remove all unused networks"), CLI_PRUNE(cmd_network_prune) },
		{ CLI_CMD("rm", "Remove one or more networks"), cmd_network_rm },
		{ NULL, NULL },
	};
	return cli_subcommand(cl, "network", subs, argc, argv);
}
#else
static int cmd_network(struct cli *cl, int argc, char **argv)
{
	(void)cl; (void)argc; (void)argv;
	return cli_disabled("network", "NET");
}
#endif /* MINIRUN_WITH_NET */
/* ---- [21] CLI: boot commands (up, down, init); see [20] BOOT ---- */

#if MINIRUN_WITH_INIT
static const char *boot_dir(int n, char **argv)
{
	const char *d = n ? argv[0] : getenv("MINIRUN_CONFIG_DIR");
	return d && *d ? d : BOOT_DEFAULT_DIR;
}

static int cmd_init(struct cli *cl, int argc, char **argv)
{
	int do_reboot = 0;
	static const char flags[] =
		CLI_FLAG("reboot", "Reboot instead of powering off at shutdown");
	int n = cli_parse(cl, argc, argv, CLI_ARGS(0, 1, 1), "[OPTIONS] [DIR]", flags,
			&do_reboot), pid1 = getpid() == 1;
	struct boot_run br;
	sigset_t mask, old;
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	boot_init_prepare(pid1, &mask, &old);
	br.st = cli_store(cl);
	return boot_init(&br, boot_dir(n, argv), do_reboot, pid1, &mask, &old);
}

static int cmd_up_down(struct cli *cl, int argc, char **argv, int up)
{
	struct boot_run br;
	int n = cli_parse(cl, argc, argv, CLI_ARGS(0, 1, 1), "[DIR]", "");
	if (n < 0)
		return CLI_PARSE_EXIT(n);
	util_std_fds();
	if (!(br.st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	return up ? boot_up(&br, boot_dir(n, argv)) : boot_down(&br, boot_dir(n, argv));
}

static int cmd_up(struct cli *cl, int argc, char **argv)
{
	return cmd_up_down(cl, argc, argv, 1);
}

static int cmd_down(struct cli *cl, int argc, char **argv)
{
	return cmd_up_down(cl, argc, argv, 0);
}
#else
static int cmd_up(struct cli *cl, int argc, char **argv)
{
	(void)cl; (void)argc; (void)argv;
	return cli_disabled("up", "INIT");
}

static int cmd_down(struct cli *cl, int argc, char **argv)
{
	(void)cl; (void)argc; (void)argv;
	return cli_disabled("down", "INIT");
}

static int cmd_init(struct cli *cl, int argc, char **argv)
{
	(void)cl; (void)argc; (void)argv;
	return cli_disabled("init", "INIT");
}
#endif /* MINIRUN_WITH_INIT */
/* The command table: every command, including those whose feature is compiled
 * out (they answer "built without ..."). */
static const struct cli_command cli_commands[] = {
	{ CLI_HIDDEN("__monitor"), cmd_monitor },
	{ CLI_CMD("check", "Verify the store; --repair removes what nothing uses"), cmd_check },
	{ CLI_CMD("container", "Manage containers"), cmd_container },
	{ CLI_CMD("cp", "Copy files/folders between a container and the local filesystem"),
	  CLI_CP(cmd_cp) },
	{ CLI_CMD("create", "Create a new container"), cmd_create },
	{ CLI_CMD("down", "Stop and remove the containers that up started"), cmd_down },
	{ CLI_CMD("exec", "Execute a command in a running container"), cmd_exec },
	{ CLI_HIDDEN("help"), cmd_help },
	{ CLI_CMD("history", "Show the history of an image"), CLI_HISTORY(cmd_history) },
	{ CLI_CMD("image", "Manage images"), cmd_image },
	{ CLI_CMD("images", "List images"), cmd_images },
	{ CLI_CMD("info", "Display system-wide information"), cmd_info },
	{ CLI_CMD("init", "Run as PID 1: mounts, up, reap, down and power off on SIGTERM"),
	  cmd_init },
	{ CLI_CMD("inspect", "Return low-level information on containers or images"), cmd_inspect },
	{ CLI_CMD("kill", "Kill one or more running containers"), cmd_kill },
	{ CLI_CMD("load", "Load an image from a tar archive, STDIN or an OCI layout folder"),
	  cmd_load },
	{ CLI_CMD("login", "Log in to a registry"), cmd_login },
	{ CLI_CMD("logout", "Log out from a registry"), cmd_logout },
	{ CLI_CMD("logs", "Fetch the logs of a container"), cmd_logs },
	{ CLI_CMD("network", "Manage networks"), cmd_network },
	{ CLI_CMD("port", "List port mappings of a container"), cmd_port },
	{ CLI_CMD("ps", "List containers"), cmd_ps },
	{ CLI_CMD("pull", "Download an image from a registry"), cmd_pull },
	{ CLI_CMD("rename", "Rename a container"), cmd_rename },
	{ CLI_CMD("restart", "Restart one or more containers"), cmd_restart },
	{ CLI_CMD("rm", "Remove one or more containers"), cmd_rm },
	{ CLI_CMD("rmi", "Remove one or more images"), cmd_rmi },
	{ CLI_CMD("run", "Create and run a new container from an image"), cmd_run },
	{ CLI_CMD("start", "Start one or more stopped containers"), cmd_start },
	{ CLI_CMD("stats", "Display a live stream of container(s) resource usage statistics"),
	  CLI_STATS(cmd_stats) },
	{ CLI_CMD("stop", "Stop one or more running containers"), cmd_stop },
	{ CLI_CMD("system", "Manage minirun"), cmd_system },
	{ CLI_CMD("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"), cmd_tag },
	{ CLI_CMD("top", "Display the running processes of a container"), CLI_STATS(cmd_top) },
	{ CLI_CMD("up", "Start the containers declared in /etc/minirun/containers"), cmd_up },
	{ CLI_CMD("version", "Show the minirun version and compiled-in features"), cmd_version },
	{ CLI_CMD("volume", "Manage volumes"), cmd_volume },
	{ CLI_CMD("wait", "Block until one or more containers stop, then print their exit codes"),
	  cmd_wait },
	{ NULL, NULL },
};
