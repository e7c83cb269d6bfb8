/*
 * Unit tests: the whole of minirun.c is included (with MINIRUN_NO_MAIN), so
 * static functions are reachable. Each area's tests live in unit_<area>.c.
 * `make test-unit` builds and runs it; cross builds run it under qemu-user.
 * Run as root: the store and tar tests create devices, chown and mount; each
 * test works in its own folder under $TMPDIR and removes it. Ends with one
 * line "N passed, M failed, K skipped" and exits non-zero if anything failed
 * (a part that cannot run here is counted as skipped with its reason, UNIT_SKIP).
 * `unit AREA` runs one area only.
 */
#ifndef MINIRUN_NO_MAIN
#define MINIRUN_NO_MAIN 1
#endif
/* every arch's syscall table, for unit_16b_seccomp.c */
#define SECCOMP_ALL_ARCHES 1
#include "../minirun.c"

/* The tests use libc's stdio (fopen, popen, setvbuf); minirun's code keeps
 * its own formatter (see the note after minirun.c's #includes), which
 * test_util compares with libc's. */
#undef FILE
#undef stdout
#undef stderr
#undef fileno
#undef snprintf
#undef vsnprintf
#undef sprintf
#undef asprintf
#undef printf
#undef fprintf
#undef vfprintf
#undef fputs
#undef fputc
#undef fwrite
#undef fflush
#undef qsort
#undef strtoull
#undef strtoul
#undef strtoll
#undef strtol
#undef atoi
#undef atol
#undef strstr
#undef gmtime_r

static int unit_passed, unit_failed, unit_skipped;

#define CHECK(expr) do { \
	if (expr) { \
		unit_passed++; \
	} else { \
		unit_failed++; \
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #expr); \
	} \
} while (0)

/* A part of a test that cannot run here says so and why, and is counted:
 * it never passes silently. */
#define UNIT_SKIP(...) do { \
	unit_skipped++; \
	printf("  skipped: "); \
	printf(__VA_ARGS__); \
	printf("\n"); \
} while (0)

/* A fresh folder for one test: $TMPDIR/minirun-unit.XXXXXX. */
static char *unit_tmpdir(char *buf, size_t size)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	if ((size_t)snprintf(buf, size, "%s/minirun-unit.XXXXXX", base) >= size)
		return NULL;
	return mkdtemp(buf);
}

/* Remove a test folder with the code under test's own removal, which never
 * crosses a mount (so a failed test cannot make the clean-up reach out). */
static void unit_rmdir(const char *path)
{
	struct mr_err err;
	char parent[PATH_MAX], *slash;
	int fd;
	snprintf(parent, sizeof parent, "%s", path);
	slash = strrchr(parent, '/');
	if (!slash)
		return;
	*slash = 0;
	fd = open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (mr_remove_tree(fd, slash + 1, &err) < 0)
			fprintf(stderr, "unit: cleanup %s: %s\n", path, err.msg);
		close(fd);
	}
}

/* Create or replace a small file holding text. */
static int unit_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n = fd >= 0 ? write(fd, text, strlen(text)) : -1;
	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

#include "unit_02_util.c"
#include "unit_03_fs.c"
#include "unit_04_json.c"
#include "unit_07_tar.c"
#include "unit_09_image.c"
#include "unit_13_pull.c"
#include "unit_14_container.c"
#include "unit_15_rootfs.c"
#include "unit_16_isolate.c"
#include "unit_16b_seccomp.c"
#include "unit_18_exec.c"
#if MINIRUN_WITH_FORMAT
#include "unit_20c_tmpl.c"
#else
static void test_tmpl(void) { UNIT_SKIP("built without MINIRUN_WITH_FORMAT"); }
#endif
#if MINIRUN_WITH_NET
#include "unit_19_net.c"
#else
static void test_net(void) { UNIT_SKIP("built without MINIRUN_WITH_NET"); }
#endif
#if MINIRUN_WITH_INIT
#include "unit_20_boot.c"
#else
static void test_boot(void) { UNIT_SKIP("built without MINIRUN_WITH_INIT"); }
#endif
#include "unit_21_cli.c"
#if MINIRUN_WITH_OCI
#include "unit_20b_oci.c"
#else
static void test_oci(void) { printf("oci: skipped: built without MINIRUN_WITH_OCI\n"); }
#endif

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "util", test_util },
		{ "fs", test_fs },
		{ "store", test_store },
		{ "json", test_json },
		{ "tar", test_tar },
		{ "image", test_image },
		{ "pull", test_pull },
		{ "container", test_container },
		{ "rootfs", test_rootfs },
		{ "isolate", test_isolate },
		{ "seccomp", test_seccomp },
		{ "cp", test_cp },
		{ "tmpl", test_tmpl },
		{ "net", test_net },
		{ "boot", test_boot },
		{ "oci", test_oci },
		{ "cli", test_cli },
	};
	size_t i;
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		int failed = unit_failed, passed = unit_passed, skipped = unit_skipped;
		if (only && strcmp(only, tests[i].name))
			continue;
		tests[i].fn();
		/* An area whose checks all were skipped is not "ok". */
		if (unit_failed != failed)
			printf("%-8s FAILED\n", tests[i].name);
		else if (unit_passed == passed)
			printf("%-8s skipped\n", tests[i].name);
		else if (unit_skipped != skipped)
			printf("%-8s ok (%d skipped)\n", tests[i].name, unit_skipped - skipped);
		else
			printf("%-8s ok\n", tests[i].name);
	}
	printf("%d passed, %d failed, %d skipped\n", unit_passed, unit_failed, unit_skipped);
	return unit_failed ? 1 : 0;
}
