/* ==== [99] MAIN: mr_main (global options, the command table), and main unless MINIRUN_NO_MAIN ==== */

/* Commands that put processes into containers (directly, through a monitor,
 * a restart, a health check, boot files): they run from a sealed copy of
 * minirun ([18] exec_sealed_self). `container` takes the same words. */
static int main_needs_seal(int argc, char **argv, int i)
{
	if (!strcmp(argv[i], "container") && i + 1 < argc)
		i++;
	return util_one_of(argv[i], "run\0start\0restart\0exec\0cp\0__monitor\0init\0up");
}

/* see minirun.h */
int mr_main(int argc, char **argv)
{
	struct cli c;
	const struct cli_command *cmd;
	int i = 1, rc;
	/* containerd, Docker and k3s call their runtime with runc's words */
	if (oci_wanted(argc, argv))
		return oci_main(argc, argv);
	memset(&c, 0, sizeof c);
	/* Folders and files minirun makes get exactly the modes it asks for. */
	umask(022);
	c.root = getenv("MINIRUN_ROOT");
	if (!c.root || !*c.root)
		c.root = MINIRUN_DEFAULT_ROOT;
	c.rundir = getenv("MINIRUN_RUNDIR");
	if (c.rundir && !*c.rundir)
		c.rundir = NULL;
	c.cmd = "";
	/* Global options come before the command, as with docker. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = NULL;
		int is_root = util_starts_with(a, "--root"), is_run = util_starts_with(a, "--run-dir");
		if (is_root || is_run) {
			const char *eq = strchr(a, '=');
			if (eq)
				v = eq + 1;
			else if (a[is_root ? 6 : 9] == 0 && i + 1 < argc)
				v = argv[++i];
			else if (a[is_root ? 6 : 9] == 0)
				return fprintf(stderr, "Error: flag needs an argument: %s\n", a), CLI_EXIT_FAIL;
			else
				goto unknown;
			if (!*v)
				return fprintf(stderr, "Error: %s: empty path\n", a), CLI_EXIT_FAIL;
			*(is_root ? &c.root : &c.rundir) = v;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
			return cmd_version(&c, 0, argv);
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_main_usage();
			return 0;
		} else {
unknown:
			fprintf(stderr, "Error: unknown flag: %s\nSee 'minirun --help'.\n", a);
			return CLI_EXIT_FAIL;
		}
	}
	if (i >= argc && getpid() == 1) {
		/* the kernel's /init (or rdinit=) is minirun itself, with no words */
		exec_sealed_self(argv);
		c.cmd = "init";
		return cmd_init(&c, 0, argv + i);
	}
	if (i >= argc) {
		cli_main_usage();
		return 0;
	}
	for (cmd = cli_commands; cmd->name; cmd++)
		if (!strcmp(cmd->name, argv[i]))
			break;
	if (!cmd->name) {
		fprintf(stderr, "minirun: '%s' is not a minirun command.\nSee 'minirun --help'\n",
			argv[i]);
		return 1;   /* as Docker */
	}
	if (main_needs_seal(argc, argv, i))
		exec_sealed_self(argv);
	c.cmd = cmd->name;
	rc = cli_exit_code(&c, cmd->name, cmd->run(&c, argc - i - 1, argv + i + 1));
	if (c.store_open)
		mr_store_close(&c.store);
	fflush(stdout);
	return rc;
}

#ifndef MINIRUN_NO_MAIN
int main(int argc, char **argv)
{
	return mr_main(argc, argv);
}
#endif
