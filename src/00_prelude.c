/* ==== [00] PRELUDE: feature macros, includes, libc parts replaced by minirun's own ====
 * What every part needs: the system headers, minirun.h, and the declarations
 * of the small stand-ins for musl's generic pieces (printf, malloc, fork,
 * gmtime) that [02] UTIL defines. */
#define _GNU_SOURCE
#include "minirun.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>
#if MINIRUN_WITH_GZIP
#include <zlib.h>
#endif
#if MINIRUN_WITH_ZSTD
#define ZSTD_STATIC_LINKING_ONLY        /* ZSTD_d_forceIgnoreChecksum (static lib, pinned version) */
#include <zstd.h>
#include <zstd_errors.h>
#endif

/* libc's printf family and stdio are replaced by a small formatter in [02]
 * UTIL (util_vformat): musl's vfprintf with its float formatting, the FILE
 * machinery and its locks cost about 15 KB of a binary whose budget is
 * counted in KiB. The familiar names stay (gcc still checks every format
 * against its arguments); the conversions are those minirun uses: flags
 * "-0 +", width and precision (also "*"), lengths hh h l ll z j t and
 * d i u x X o c s p %. No floating point: `make check-formats` fails on a
 * %f, %e or %g in minirun.c. stdout is buffered (by line on a terminal) and
 * flushed at exit; stderr is written once per call. A file that includes
 * minirun.c (the unit tests) can #undef these names to get libc's back. */
/* The variadic entry points of the formatter and of the errors take no
 * floating point (see above), so on x86_64 gcc they are built without SSE:
 * their prologue then no longer spills the 8 vector argument registers
 * (40 bytes each). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define UTIL_VA_FN __attribute__((target("general-regs-only")))
#else
#define UTIL_VA_FN
#endif
/* -fstack-protector-strong puts a canary in every function with an array,
 * and a va_list is one; the wrappers that hold nothing else (no byte buffer
 * to overflow: the output goes to the caller's memory, under the caller's
 * canary) go without it. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define UTIL_VA_ONLY UTIL_VA_FN __attribute__((no_stack_protector))
#else
#define UTIL_VA_ONLY UTIL_VA_FN
#endif
struct mr_file {
	int fd;                 /* -1: a string (snprintf) */
	signed char line;       /* flush after each call: 1 yes, 0 no, -1 not yet known */
	size_t len;             /* bytes held in buf */
	size_t cap;             /* room in buf (a string: size - 1) */
	size_t total;           /* bytes produced by this call (a string: all of them) */
	char *buf;
};
static int mr_vsnprintf(char *out, size_t size, const char *fmt, va_list ap)
	__attribute__((format(__printf__, 3, 0)));
static int mr_snprintf(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int mr_asprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int mr_vfprintf(struct mr_file *f, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static int mr_fprintf(struct mr_file *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int mr_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int mr_fputs(const char *s, struct mr_file *f);
static int mr_fputc(int c, struct mr_file *f);
static size_t mr_fwrite(const void *p, size_t size, size_t n, struct mr_file *f);
static int mr_fflush(struct mr_file *f);
static char mr_stdout_buf[4096], mr_stderr_buf[1024];
static struct mr_file mr_stdout_file = { 1, -1, 0, sizeof mr_stdout_buf, 0, mr_stdout_buf };
static struct mr_file mr_stderr_file = { 2, 1, 0, sizeof mr_stderr_buf, 0, mr_stderr_buf };
#undef stdout
#undef stderr
#define FILE struct mr_file
#define stdout (&mr_stdout_file)
#define stderr (&mr_stderr_file)
#define fileno(f) ((f)->fd)
#define snprintf(...) mr_snprintf(__VA_ARGS__)
#define vsnprintf(...) mr_vsnprintf(__VA_ARGS__)
#define sprintf(out, ...) mr_snprintf(out, (size_t)-1, __VA_ARGS__)
#define asprintf(...) mr_asprintf(__VA_ARGS__)
#define printf(...) mr_printf(__VA_ARGS__)
#define fprintf(...) mr_fprintf(__VA_ARGS__)
#define vfprintf(...) mr_vfprintf(__VA_ARGS__)
#define fputs(...) mr_fputs(__VA_ARGS__)
#define fputc(...) mr_fputc(__VA_ARGS__)
#define fwrite(...) mr_fwrite(__VA_ARGS__)
#define fflush(...) mr_fflush(__VA_ARGS__)

/* Three more of libc's generic pieces give way to small ones ([02] UTIL):
 * qsort (musl's smoothsort; a shell sort suits minirun's short lists),
 * the strto* family (musl's scanner runs through FILE shims; bases 0, 8,
 * 10 and 16 with libc's end pointer, sign and ERANGE rules are enough), and
 * strstr (two-way matching; minirun searches short texts). */
#define qsort(...) util_sort(__VA_ARGS__)
#define strtoull(s, end, base) util_strtou(s, end, base, ULLONG_MAX)
#define strtoul(s, end, base) ((unsigned long)util_strtou(s, end, base, ULONG_MAX))
#define strtoll(s, end, base) util_strtoi(s, end, base, LLONG_MIN, LLONG_MAX)
#define strtol(s, end, base) ((long)util_strtoi(s, end, base, LONG_MIN, LONG_MAX))
#define atoi(s) ((int)util_strtoi(s, NULL, 10, INT_MIN, INT_MAX))
#define atol(s) ((long)util_strtoi(s, NULL, 10, LONG_MIN, LONG_MAX))
#define strstr(...) util_strstr(__VA_ARGS__)
/* fork is _Fork: minirun has one thread, no atfork handlers and neither
 * musl's stdio nor its malloc, which is all fork adds (with its lock on
 * thread creation: 1 KB of rwlock and timed-wait code). */
#define fork() _Fork()
/* And gmtime_r (musl's __secs_to_tm: 0.7 KB for minirun's UTC stamps). */
#define gmtime_r(t, tm) util_gmtime(t, tm)
static struct tm *util_gmtime(const time_t *t, struct tm *tm);
static void util_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
static unsigned long long util_strtou(const char *s, char **end, int base, unsigned long long max);
static long long util_strtoi(const char *s, char **end, int base, long long min, long long max);
static char *util_strstr(const char *hay, const char *needle);
