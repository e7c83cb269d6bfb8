/*
 * minirun.c - a daemonless container runtime for embedded Linux, in one file.
 *
 * GENERATED FILE: made by `make amalgamate` (scripts/amalgamate.py) from the
 * parts in src/. Do not edit it: edit the part named in its banner, then
 * run `make amalgamate`. It is committed because it is what embedded users
 * take: this file and minirun.h build minirun in any build system.
 *
 * Build: see the Makefile (static, musl, -Os, section GC). Public API and feature
 * flags: minirun.h. Tests: tests/unit.c includes this file with MINIRUN_NO_MAIN.
 *
 * Table of contents (parts in dependency order; search for "BEGIN src/"):
 *   [00]  PRELUDE    feature macros, includes, libc parts replaced by minirun's own  (src/00_prelude.c)
 *   [01]  COMPAT     syscalls musl lacks, kernel interfaces  (src/01_compat.c)
 *   [02]  UTIL       errors, buffers, strings; printf, malloc, qsort/strto* of its own  (src/02_util.c)
 *   [03]  FS         fds, paths resolved inside a root, atomic files, safe removal  (src/03_fs.c)
 *   [04]  JSON       reader (arena DOM) and writer  (src/04_json.c)
 *   [05]  DIGEST     sha256 (SHA-NI, else BearSSL's rounds), digest strings  (src/05_digest.c)
 *   [06]  STREAM     pull-based readers: files, hashing, gzip, zstd, limits  (src/06_stream.c)
 *   [07]  TAR        tar reader and writer, layer extraction, whiteouts, flattening  (src/07_tar.c)
 *   [08]  STORE      store layout, lock, temporaries, metadata files  (src/08_store.c)
 *   [09]  IMAGE      references, manifests, platforms, load, images, rmi, unpack  (src/09_image.c)
 *   [10]  VOLUME     named and anonymous volumes  (src/10_volume.c)
 *   [11]  MOUNTS     volumes, bind mounts and tmpfs inside a container  (src/11_mounts.c)
 *   [12]  HTTP       name lookup (hosts, DNS), HTTP/1.1 client over TCP and BearSSL TLS  (src/12_http.c)
 *   [13]  PULL       registry client, auth, pull  (src/13_pull.c)
 *   [14]  CONTAINER  the spec, records, names, state, image defaults  (src/14_container.c)
 *   [14b] CHECK      verify the whole store, repair what nothing uses  (src/14b_check.c)
 *   [15]  ROOTFS     overlay or copy roots, /dev, /proc, /sys, /etc files, pivot_root  (src/15_rootfs.c)
 *   [16]  ISOLATE    capabilities, seccomp, users, cgroups, no_new_privs, descriptors, exec  (src/16_isolate.c)
 *   [17]  MONITOR    starting a container, its owner process, logs, restarts  (src/17_monitor.c)
 *   [18]  EXEC       another process in a running container; cp in and out  (src/18_exec.c)
 *   [19]  NET        bridge, veth, addresses, networks, masquerade, published ports  (src/19_net.c)
 *   [19b] SPEC       front ends fill the container spec, one back end creates it  (src/19b_spec.c)
 *   [20]  BOOT       declarative containers, up, down, init as PID 1  (src/20_boot.c)
 *   [20b] OCI        runc's command line for containerd, Docker and k3s (bundles, config.json)  (src/20b_oci.c)
 *   [20c] TEMPLATES  the subset of Go's text/template that --format users write  (src/20c_tmpl.c)
 *   [21]  CLI        argument parsing, usage, commands  (src/21_cli.c)
 *   [99]  MAIN       mr_main (global options, the command table), and main unless MINIRUN_NO_MAIN  (src/99_main.c)
 */
/* ======================== BEGIN src/00_prelude.c ======================== */
#line 1 "src/00_prelude.c"
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
/* ======================== END src/00_prelude.c ======================== */

/* ======================== BEGIN src/01_compat.c ======================== */
#line 1 "src/01_compat.c"
/* ==== [01] COMPAT: syscalls musl lacks, kernel interfaces ====
 * musl 1.2.3 has no wrappers for openat2, statx (mount ids) or close_range; they
 * are called directly. Each wrapper reports ENOSYS on kernels without the call
 * so callers can fall back. */

#ifndef RESOLVE_NO_XDEV
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#endif

struct compat_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

/* Remembered after the first ENOSYS so the fallback is not retried each time. */
static int compat_no_openat2;

static int compat_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
#ifdef SYS_openat2
	if (!compat_no_openat2) {
		struct compat_open_how how = { (uint64_t)(unsigned)flags, mode, resolve };
		long r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
		if (r >= 0 || errno != ENOSYS)
			return (int)r;
		compat_no_openat2 = 1;
	}
#else
	(void)dirfd; (void)path; (void)flags; (void)mode; (void)resolve;
#endif
	errno = ENOSYS;
	return -1;
}

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
/* Only the fields minirun reads; the kernel writes a 256-byte struct statx. */
struct compat_statx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, pad1;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	uint64_t times[8];
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t stx_mnt_id;
	uint64_t spare[13];
};

/* Mount id of an fd (or of name in dirfd), 0 when the kernel cannot tell:
 * callers then compare st_dev, which misses bind mounts of the same
 * filesystem. statx (5.8+) first; then name_to_handle_at, which reports the
 * mount id even when the handle does not fit (kernels since 2.6.39; also
 * where statx claims a mount id but writes 0, as qemu-user 7.2 does). */
static uint64_t compat_mount_id(int dirfd, const char *name)
{
	struct compat_statx sx;
	struct { unsigned int bytes; int type; } handle = { 0, 0 };
	int flags = AT_SYMLINK_NOFOLLOW | (name && *name ? 0 : AT_EMPTY_PATH);
	int mnt = 0;
	memset(&sx, 0, sizeof sx);
	if (syscall(SYS_statx, dirfd, name && *name ? name : "", flags, STATX_MNT_ID, &sx) == 0 &&
	    (sx.stx_mask & STATX_MNT_ID) && sx.stx_mnt_id)
		return sx.stx_mnt_id;
	if ((syscall(SYS_name_to_handle_at, dirfd, name && *name ? name : "", &handle, &mnt,
		     flags & AT_EMPTY_PATH) == 0 || errno == EOVERFLOW) && mnt > 0)
		return (uint64_t)mnt;
	return 0;
}

static int compat_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}
/* ======================== END src/01_compat.c ======================== */

/* ======================== BEGIN src/02_util.c ======================== */
#line 1 "src/02_util.c"
/* ==== [02] UTIL: errors, buffers, strings; printf, malloc, qsort/strto* of its own ====
 * Errors follow STYLE.md: functions return 0 or -1 and fill a caller-owned
 * struct mr_err; callers prefix context on the way up, so the final message
 * reads "load busybox.tar: layer sha256:ab..: entry etc/passwd: reason". */

/* see minirun.h */
int mr_err_set(struct mr_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

/* see minirun.h */
int mr_err_sys(struct mr_err *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t n;
	if (!err)
		return -1;
	err->code = saved;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof err->msg - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

/* see minirun.h */
int mr_err_ctx(struct mr_err *err, const char *fmt, ...)
{
	char prefix[256];
	size_t plen, keep;
	va_list ap;
	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	/* Shift the message right by "prefix: " (truncating its end). */
	keep = sizeof err->msg - 1 - (plen + 2);
	err->msg[sizeof err->msg - 1] = 0;
	if (strlen(err->msg) < keep)
		keep = strlen(err->msg);
	memmove(err->msg + plen + 2, err->msg, keep);
	err->msg[plen + 2 + keep] = 0;
	memcpy(err->msg, prefix, plen);
	err->msg[plen] = ':';
	err->msg[plen + 1] = ' ';
	return -1;
}

/* Print "Error: <msg>" the way Docker's CLI does. */
static void util_print_err(const struct mr_err *err)
{
	fprintf(stderr, "Error: %s\n", err->msg[0] ? err->msg : "unknown error");
}

/* Fatal allocation failure: the CLI is a short process; there is nothing
 * sensible to undo, so say so and leave with minirun's own exit code. */
static void util_oom(void)
{
	static const char msg[] = "minirun: out of memory\n";
	if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */ }
	_exit(125);
}

static void *util_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		util_oom();
	return p;
}

static void *util_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		util_oom();
	return p;
}

static void *util_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		util_oom();
	return p;
}

static char *util_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = util_xmalloc(n);
	memcpy(p, s, n);
	return p;
}

static char *util_xstrndup(const char *s, size_t n)
{
	char *p = util_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* see minirun.h */
int mr_buf_append(struct mr_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = util_xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = 0;
	return 0;
}

/* see minirun.h */
int mr_buf_printf(struct mr_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char small[256];
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof small)
		return mr_buf_append(b, small, (size_t)n);
	mr_buf_append(b, NULL, 0);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = b->len + (size_t)n + 1;
		b->data = util_xrealloc(b->data, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* see minirun.h */
void mr_buf_free(struct mr_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int util_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int util_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Copy with truncation check: -1 when src does not fit. */
static int util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (n >= size)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Parse a non-negative decimal integer that must fill the whole string. */
static int util_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (*s < '0' || *s > '9' || v > UINT64_MAX / 10 ||
		    (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Docker's size syntax: 512, 64k, 64kb, 128m, 1g (binary units, case-insensitive). */
static int util_parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t n = 0;
	uint64_t v, mul = 1;
	while (s[n] >= '0' && s[n] <= '9' && n < sizeof num - 1) {
		num[n] = s[n];
		n++;
	}
	num[n] = 0;
	if (!n || util_parse_u64(num, &v))
		return -1;
	switch (tolower((unsigned char)s[n])) {
	case 0: break;
	case 'b': mul = 1; n++; break;
	case 'k': mul = 1ull << 10; n++; break;
	case 'm': mul = 1ull << 20; n++; break;
	case 'g': mul = 1ull << 30; n++; break;
	default: return -1;
	}
	if (mul > 1 && tolower((unsigned char)s[n]) == 'b')
		n++;
	if (s[n] || (v && mul > UINT64_MAX / v))
		return -1;
	*out = v * mul;
	return 0;
}

/* A fixed-point number with `decimals` digits after the point, trailing
 * zeros dropped ("12.5", "3"): what %g would print, without pulling the
 * floating-point printf of libc (about 5 KB) into a small binary. */
static void util_fmt_fixed(uint64_t scaled, int decimals, char *out, size_t size)
{
	uint64_t div = 1;
	int i;
	char frac[8];
	for (i = 0; i < decimals; i++)
		div *= 10;
	snprintf(frac, sizeof frac, "%0*" PRIu64, decimals, decimals ? scaled % div : 0);
	for (i = decimals; i > 0 && frac[i - 1] == '0'; i--)
		frac[i - 1] = 0;
	snprintf(out, size, "%" PRIu64 "%s%s", scaled / div, frac[0] && decimals ? "." : "",
		 decimals ? frac : "");
}

/* Human size like Docker's: "4.26MB", "27.6kB", "512B" (decimal units, three
 * significant digits). */
static void util_human_size(uint64_t n, char *out, size_t size)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	uint64_t unit = 1, milli;
	int u = 0, decimals;
	char num[32];
	while (n / unit >= 1000 && u < 5) {
		unit *= 1000;
		u++;
	}
	if (u == 0) {
		snprintf(out, size, "%" PRIu64 "B", n);
		return;
	}
	milli = n / (unit / 1000);          /* the value in thousandths of the unit */
	decimals = milli >= 100000 ? 0 : milli >= 10000 ? 1 : 2;
	if (decimals == 0)
		milli = (milli + 500) / 1000;
	else if (decimals == 1)
		milli = (milli + 50) / 100;
	else
		milli = (milli + 5) / 10;
	util_fmt_fixed(milli, decimals, num, sizeof num);
	snprintf(out, size, "%s%s", num, units[u]);
}

/* Docker's units.HumanDuration, used for "Up 5 seconds" and "3 hours ago". */
static void util_human_duration(long d, char *out, size_t size)
{
	static const struct { long limit, unit; const char *name, *about; } steps[] = {
		{ 60, 1, "second", NULL }, { 2 * 60, 60, "minute", "About a minute" },
		{ 3600, 60, "minute", NULL }, { 2 * 3600, 3600, "hour", "About an hour" },
		{ 48 * 3600, 3600, "hour", NULL }, { 14 * 86400L, 86400, "day", NULL },
		{ 60 * 86400L, 7 * 86400L, "week", NULL }, { 730 * 86400L, 30 * 86400L, "month", NULL },
		{ LONG_MAX, 365 * 86400L, "year", NULL },
	};
	size_t i;
	if (d < 1) {
		snprintf(out, size, "Less than a second");
		return;
	}
	for (i = 0; d >= steps[i].limit; i++) {}
	if (steps[i].about)
		snprintf(out, size, "%s", steps[i].about);
	else
		snprintf(out, size, "%ld %s%s", d / steps[i].unit, steps[i].name,
			 d / steps[i].unit == 1 ? "" : "s");
}

/* Docker's "x ago" for CREATED columns. */
static void util_human_ago(time_t then, char *out, size_t size)
{
	char d[48];
	util_human_duration((long)(time(NULL) - then), d, sizeof d);
	snprintf(out, size, "%s ago", d);
}

/* RFC 3339 with nanoseconds in UTC, as Docker prints times in inspect. */
static void util_time_rfc3339(const struct timespec *ts, char *out, size_t size)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	gmtime_r(&t, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", (tm.tm_year + 1900) % 10000,
		 (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100, (int)(ts->tv_nsec % 1000000000));
}

/* Digits at s: exactly n of them, as a number; -1 if not digits. */
static int util_digits(const char *s, int n)
{
	int v = 0, i;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): timegm without musl's time-zone code (about 3 KB). */
static long util_days_from_civil(long y, int m, int d)
{
	long era, yoe, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + doe - 719468;
}

/* gmtime_r: the inverse of util_days_from_civil (Hinnant's civil_from_days),
 * for the fields minirun prints (no tm_isdst, zone or offset: UTC). */
static struct tm *util_gmtime(const time_t *t, struct tm *tm)
{
	long long secs = (long long)*t, days = secs / 86400, rem = secs % 86400, era, doe, yoe, y, doy, mp;
	if (rem < 0)
		rem += 86400, days--;
	memset(tm, 0, sizeof *tm);
	tm->tm_hour = (int)(rem / 3600);
	tm->tm_min = (int)(rem / 60 % 60);
	tm->tm_sec = (int)(rem % 60);
	tm->tm_wday = (int)((days % 7 + 11) % 7);           /* 1970-01-01 was a Thursday */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	y += tm->tm_mon <= 1;
	tm->tm_year = (int)(y - 1900);
	tm->tm_yday = (int)(days - 719468 - util_days_from_civil(y, 1, 1));
	return tm;
}

/* What minirun asks sysconf (whose table costs 0.5 KB): the CPUs this
 * process may run on (musl's _SC_NPROCESSORS_ONLN counts the same), and the
 * memory of the machine. Clock ticks in /proc are USER_HZ, 100 on Linux. */
#define UTIL_CLK_TCK 100
static long util_ncpu(void)
{
	unsigned long set[16];
	long n = syscall(SYS_sched_getaffinity, 0, sizeof set, set), i, count = 0;
	for (i = 0; i < n / (long)sizeof set[0]; i++)
		count += __builtin_popcountl(set[i]);
	return count > 0 ? count : 1;
}

static uint64_t util_mem_total(void)
{
	struct sysinfo si;
	return sysinfo(&si) == 0 ? (uint64_t)si.totalram * (si.mem_unit ? si.mem_unit : 1) : 0;
}

/* A Go duration as Docker takes them ("30s", "1m30s", "1.5h", "500ms"): one
 * or more numbers (a fraction allowed), each with its unit (ns, us, ms, s,
 * m, h); nanoseconds. -1 if malformed. */
static int util_parse_duration(const char *s, int64_t *ns)
{
	static const struct { char u[3]; int64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000LL },
		{ "m", 60000000000LL }, { "h", 3600000000000LL },
	};
	int64_t total = 0;
	if (!*s)
		return -1;
	while (*s) {
		int64_t whole = 0, frac = 0, scale = 1;
		size_t i, k;
		const char *start = s;
		for (; *s >= '0' && *s <= '9' && whole < 100000000000LL; s++)
			whole = whole * 10 + (*s - '0');
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++)
				if (scale < 1000000000LL)
					frac = frac * 10 + (*s - '0'), scale *= 10;
		if (s == start || (*start == '.' && s == start + 1))
			return -1;
		for (k = strspn(s, "nusmh"), i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strlen(units[i].u) == k && !strncmp(s, units[i].u, k))
				break;
		if (i == sizeof units / sizeof units[0])
			return -1;
		total += whole * units[i].ns + frac * (units[i].ns / scale);
		s += k;
	}
	*ns = total;
	return 0;
}

/* Does path exist at dfd (flags: 0 or AT_SYMLINK_NOFOLLOW)? fstatat, not
 * faccessat: musl's emulates flags it cannot pass with a forked child. */
static int util_exists_at(int dfd, const char *path, int flags)
{
	struct stat sb;
	return fstatat(dfd, path, &sb, flags) == 0;
}

/* Remove NAME=... from the environment in place (unsetenv without musl's
 * environment bookkeeping, which setenv and putenv drag in). */
static void util_env_drop(const char *name)
{
	size_t n = strlen(name);
	char **r, **w;
	for (r = w = environ; r && *r; r++)
		if (strncmp(*r, name, n) || (*r)[n] != '=')
			*w++ = *r;
	if (w)
		*w = NULL;
}

/* Parse RFC 3339 ("2024-01-02T03:04:05.123Z", offsets allowed) to seconds. */
static int util_parse_rfc3339(const char *s, time_t *out)
{
	int year, mon, day, hour, min, sec, off = 0;
	const char *p;
	if (!s || strlen(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	year = util_digits(s, 4);
	mon = util_digits(s + 5, 2);
	day = util_digits(s + 8, 2);
	hour = util_digits(s + 11, 2);
	min = util_digits(s + 14, 2);
	sec = util_digits(s + 17, 2);
	if (year < 0 || mon < 1 || mon > 12 || day < 0 || day > 31 || hour < 0 || min < 0 || sec < 0)
		return -1;
	p = s + 19;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++) {}
	if ((*p == '+' || *p == '-') && util_digits(p + 1, 2) >= 0 && p[3] == ':' &&
	    util_digits(p + 4, 2) >= 0)
		off = (*p == '-' ? -1 : 1) * (util_digits(p + 1, 2) * 3600 + util_digits(p + 4, 2) * 60);
	*out = (time_t)util_days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec - off;
	return 0;
}

/* Small scanners for the fixed, self-written formats minirun reads back
 * (state files, /proc lines): not sscanf, whose implementation with its
 * float scanner costs about 10 KB in a static binary. */

/* The next blank-separated word at *p into out; -1 at the end or if it does
 * not fit. */
static int util_word(const char **p, char *out, size_t size)
{
	const char *s = *p;
	size_t n = 0;
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	while (s[n] && s[n] != ' ' && s[n] != '\t' && s[n] != '\n')
		n++;
	if (!n || n >= size)
		return -1;
	memcpy(out, s, n);
	out[n] = 0;
	*p = s + n;
	return 0;
}

/* The next word as an unsigned number in base 10 or 16 (or a leading '-'
 * for signed use through util_word_i64). */
static int util_word_u64(const char **p, uint64_t *v, int base)
{
	char w[32], *end;
	if (util_word(p, w, sizeof w) < 0 || w[0] == '-')
		return -1;
	errno = 0;
	*v = strtoull(w, &end, base);
	return *end || errno ? -1 : 0;
}

static int util_word_int(const char **p, int *v)
{
	char w[16], *end;
	long x;
	if (util_word(p, w, sizeof w) < 0)
		return -1;
	x = strtol(w, &end, 10);
	if (*end || x < INT_MIN || x > INT_MAX)
		return -1;
	*v = (int)x;
	return 0;
}

/* Random bytes from the kernel (ids, names); never blocks after boot. */
static int util_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n) {
		long r = syscall(SYS_getrandom, p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void util_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = 0;
}

/* Go's path.Match, which Docker's reference filter uses: '*' is any run of
 * characters but '/', '?' one such character, [a-z] and [^x] classes, '\\'
 * quotes. Not fnmatch: musl's is 2 KB for flags minirun never passes.
 * 1 on a match; a malformed pattern matches nothing. */
static int util_glob(const char *pat, const char *s)
{
	for (; *pat; pat++, s++) {
		if (*pat == '*') {
			while (pat[1] == '*')
				pat++;
			for (;; s++) {
				if (util_glob(pat + 1, s))
					return 1;
				if (!*s || *s == '/')
					return 0;
			}
		}
		if (!*s || *s == '/') {
			if (*pat != *s)
				return 0;
			continue;
		}
		if (*pat == '[') {
			int neg = pat[1] == '^', hit = 0;
			const char *p = pat + 1 + neg;
			if (*p == ']')
				return 0;
			for (; *p && *p != ']'; p++) {
				char lo = *p == '\\' && p[1] ? *++p : *p, hi = lo;
				if (p[1] == '-' && p[2] && p[2] != ']') {
					p += 2;
					hi = *p == '\\' && p[1] ? *++p : *p;
				}
				hit |= *s >= lo && *s <= hi;
			}
			if (!*p || hit == neg)
				return 0;
			pat = p;
		} else if (*pat == '?') {
			continue;
		} else {
			if (*pat == '\\' && pat[1])
				pat++;
			if (*pat != *s)
				return 0;
		}
	}
	return !*s;
}

/* Write all of buf, retrying on EINTR and short writes. */
static int util_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- Formatted output without libc's stdio (see the note after the
 * #includes). One formatter writes into a string or a buffered file. */

/* Append n bytes to a string (truncating, counting all) or a file buffer
 * (flushing when full; big writes go straight out). */
static void util_out(struct mr_file *f, const char *s, size_t n)
{
	f->total += n;
	if (f->fd < 0) {
		size_t at = f->total - n;
		if (at < f->cap)
			memcpy(f->buf + at, s, n < f->cap - at ? n : f->cap - at);
		return;
	}
	while (n > 0) {
		size_t k = f->cap - f->len;
		if (f->len == 0 && n >= f->cap) {
			util_write_all(f->fd, s, n);
			return;
		}
		if (k == 0) {
			mr_fflush(f);
			continue;
		}
		if (k > n)
			k = n;
		memcpy(f->buf + f->len, s, k);
		f->len += k;
		s += k;
		n -= k;
	}
}

static void util_out_fill(struct mr_file *f, char c, size_t n)
{
	char chunk[16];
	memset(chunk, c, sizeof chunk);
	for (; n > sizeof chunk; n -= sizeof chunk)
		util_out(f, chunk, sizeof chunk);
	util_out(f, chunk, n);
}

static void util_vformat(struct mr_file *f, const char *fmt, va_list ap)
{
	while (*fmt) {
		char digits[24];
		const char *s = digits, *prefix = "";
		size_t n = strcspn(fmt, "%"), zeros = 0, pad, width = 0;
		int left = 0, zero = 0, prec = -1, base = 10, is_signed = 0;
		char plus = 0, size = 0, conv;
		unsigned long long u = 0;
		if (n > 0) {
			util_out(f, fmt, n);
			fmt += n;
			continue;
		}
		for (fmt++; *fmt && strchr("-0 +#", *fmt); fmt++)
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				zero = 1;
			else if (*fmt != '#')
				plus = *fmt;
		if (*fmt == '*') {
			int w = va_arg(ap, int);
			left |= w < 0;
			width = w < 0 ? -(size_t)w : (size_t)w;
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (size_t)(*fmt - '0');
		if (*fmt == '.') {
			prec = 0;
			if (*++fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			for (; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		}
		/* Lengths: 'H' hh, 'h', 'l', 'L' ll (and j), 'z' (and t). */
		for (; *fmt && strchr("hlLjzt", *fmt); fmt++)
			size = *fmt == 'j' ? 'L' : *fmt == 't' ? 'z' :
			       *fmt == size && size == 'h' ? 'H' : *fmt == size && size == 'l' ? 'L' : *fmt;
		conv = *fmt ? *fmt++ : 0;
		switch (conv) {
		case 'd': case 'i': {
			long long v = size == 'l' ? va_arg(ap, long) : size == 'L' ? va_arg(ap, long long) :
				      size == 'z' ? (long long)va_arg(ap, ssize_t) : (long long)va_arg(ap, int);
			if (size == 'h')
				v = (short)v;
			else if (size == 'H')
				v = (signed char)v;
			is_signed = 1;
			u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;
			prefix = v < 0 ? "-" : plus == '+' ? "+" : plus == ' ' ? " " : "";
			break;
		}
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			prefix = "0x";
			base = 16;
			break;
		case 'o': case 'u': case 'x': case 'X':
			u = size == 'l' ? va_arg(ap, unsigned long) : size == 'L' ? va_arg(ap, unsigned long long) :
			    size == 'z' ? va_arg(ap, size_t) : va_arg(ap, unsigned);
			if (size == 'h')
				u = (unsigned short)u;
			else if (size == 'H')
				u = (unsigned char)u;
			base = conv == 'o' ? 8 : conv == 'u' ? 10 : 16;
			break;
		case 'c':
			digits[0] = (char)va_arg(ap, int);
			n = 1;
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			n = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
			break;
		default:                                  /* "%%", or one minirun never uses */
			digits[0] = '%';
			digits[1] = conv;
			n = conv == '%' || !conv ? 1 : 2;
			break;
		}
		if (conv == 'p' || conv == 'o' || conv == 'u' || conv == 'x' || conv == 'X' || is_signed) {
			const char *set = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
			char *d = digits + sizeof digits;
			do
				*--d = set[u % (unsigned)base];
			while (u /= (unsigned)base);
			s = d;
			n = (size_t)(digits + sizeof digits - d);
			if (prec == 0 && n == 1 && *d == '0')
				n = 0;
			if (prec >= 0 && (size_t)prec > n)
				zeros = (size_t)prec - n;
			else if (zero && !left && prec < 0 && width > strlen(prefix) + n)
				zeros = width - strlen(prefix) - n;
		}
		pad = width > strlen(prefix) + zeros + n ? width - strlen(prefix) - zeros - n : 0;
		if (!left)
			util_out_fill(f, ' ', pad);
		util_out(f, prefix, strlen(prefix));
		util_out_fill(f, '0', zeros);
		util_out(f, s, n);
		if (left)
			util_out_fill(f, ' ', pad);
	}
}

static int mr_vsnprintf(char *out, size_t size, const char *fmt, va_list ap)
{
	struct mr_file s = { -1, 0, 0, size ? size - 1 : 0, 0, out };
	util_vformat(&s, fmt, ap);
	if (size)
		out[s.total < s.cap ? s.total : s.cap] = 0;
	return s.total > INT_MAX ? -1 : (int)s.total;
}

static int mr_snprintf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = mr_vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n;
}

static int mr_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = mr_vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(*out = malloc((size_t)n + 1)))
		return -1;
	va_start(ap, fmt);
	mr_vsnprintf(*out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return n;
}

/* stdout at exit (stderr never holds anything between calls): a
 * destructor, which exit() runs as atexit handlers are, without atexit's
 * table and the allocator musl keeps for it (1 KB). */
static void __attribute__((destructor)) util_flush_stdout(void)
{
	mr_fflush(stdout);
}

/* see the note after the #includes */
static int mr_fflush(struct mr_file *f)
{
	int r = 0;
	if (!f) {
		mr_fflush(stderr);
		return mr_fflush(stdout);
	}
	if (f->len > 0)
		r = util_write_all(f->fd, f->buf, f->len);
	f->len = 0;
	return r;
}

/* The end of one call: stderr and terminals see it now; anything else
 * waits for a full buffer, fflush or exit, as with stdio. Returns the
 * call's byte count. */
static int util_out_done(struct mr_file *f)
{
	size_t n = f->total;
	if (f->line < 0)
		f->line = (signed char)(isatty(f->fd) == 1);
	if (f->line)
		mr_fflush(f);
	f->total = 0;
	return n > INT_MAX ? INT_MAX : (int)n;
}

static int mr_vfprintf(struct mr_file *f, const char *fmt, va_list ap)
{
	util_vformat(f, fmt, ap);
	return util_out_done(f);
}

static int mr_fprintf(struct mr_file *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	util_vformat(f, fmt, ap);
	va_end(ap);
	return util_out_done(f);
}

static int mr_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	util_vformat(stdout, fmt, ap);
	va_end(ap);
	return util_out_done(stdout);
}

static size_t mr_fwrite(const void *p, size_t size, size_t n, struct mr_file *f)
{
	util_out(f, p, size * n);
	util_out_done(f);
	return n;
}

static int mr_fputs(const char *s, struct mr_file *f)
{
	return (int)mr_fwrite(s, strlen(s), 1, f) - 1;
}

static int mr_fputc(int c, struct mr_file *f)
{
	char ch = (char)c;
	mr_fwrite(&ch, 1, 1, f);
	return (unsigned char)c;
}

/* ---- Memory: a small allocator in place of musl's mallocng (about 9 KB of
 * code). Blocks of up to 64 KiB come in power-of-two classes carved from
 * 256 KiB mappings and go back to per-class free lists for reuse (never to
 * the kernel: a CLI run is short, and the monitor's needs are steady); larger
 * ones are mappings of their own (mremap grows them, munmap frees them). A
 * 16-byte header before each block holds its class size, or its mapping's
 * length with the low bit set, and keeps the 16-byte alignment malloc owes.
 * A spinlock makes it safe for threads. These are the real malloc, free,
 * calloc and realloc of the binary (musl's and the libraries' calls land
 * here too), the only global names besides mr_* and main.
 * MINIRUN_LIBC_MALLOC leaves them out: the sanitizer and fuzzer builds need
 * libc's allocator, which ASan replaces with its own checked one. */
#ifndef MINIRUN_LIBC_MALLOC

#define MEM_MAX_SMALL ((size_t)64 << 10)
#define MEM_CHUNK ((size_t)256 << 10)

struct mem_head {
	size_t size;                  /* class size, or mapping length | 1 */
	size_t unused;                /* keeps blocks 16-byte aligned */
};

static struct mem_head *mem_free_list[17];     /* by log2 of the class size */
static char *mem_bump, *mem_bump_end;          /* unused rest of the last chunk */
static int mem_lock;

static void mem_acquire(void)
{
	while (__atomic_exchange_n(&mem_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void mem_release(void)
{
	__atomic_store_n(&mem_lock, 0, __ATOMIC_RELEASE);
}

static void *mem_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* A block of at least n bytes, its header returned. */
static struct mem_head *mem_alloc(size_t n)
{
	struct mem_head *h;
	size_t size = 16;
	unsigned shift = 4;
	if (n > MEM_MAX_SMALL - sizeof *h) {
		size = (n + sizeof *h + 4095) & ~(size_t)4095;
		if (size < n || !(h = mem_map(size))) {
			errno = ENOMEM;
			return NULL;
		}
		h->size = size | 1;
		return h;
	}
	while (size < n + sizeof *h)
		size <<= 1, shift++;
	mem_acquire();
	if ((h = mem_free_list[shift]) != NULL) {
		mem_free_list[shift] = *(struct mem_head **)(h + 1);
	} else {
		if ((size_t)(mem_bump_end - mem_bump) < size) {
			char *chunk = mem_map(MEM_CHUNK);
			if (!chunk) {
				mem_release();
				errno = ENOMEM;
				return NULL;
			}
			mem_bump = chunk;
			mem_bump_end = chunk + MEM_CHUNK;
		}
		h = (struct mem_head *)mem_bump;
		mem_bump += size;
		h->size = size;
	}
	mem_release();
	return h;
}

void *malloc(size_t n)
{
	struct mem_head *h = mem_alloc(n);
	return h ? h + 1 : NULL;
}

void free(void *p)
{
	struct mem_head *h = (struct mem_head *)p - 1;
	if (!p)
		return;
	if (h->size & 1) {
		munmap(h, h->size & ~(size_t)1);
		return;
	}
	mem_acquire();
	*(struct mem_head **)p = mem_free_list[__builtin_ctzl(h->size)];
	mem_free_list[__builtin_ctzl(h->size)] = h;
	mem_release();
}

void *calloc(size_t count, size_t size)
{
	struct mem_head *h;
	if (size && count > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if (!(h = mem_alloc(count * size)))
		return NULL;
	if (!(h->size & 1))                 /* fresh mappings are zero already */
		memset(h + 1, 0, count * size);
	return h + 1;
}

void *realloc(void *p, size_t n)
{
	struct mem_head *h = (struct mem_head *)p - 1;
	size_t room;
	void *q;
	if (!p)
		return malloc(n);
	room = (h->size & ~(size_t)1) - sizeof *h;
	if (n <= room)
		return p;
	if ((h->size & 1) && n < SIZE_MAX - 8192) {
		size_t len = (n + sizeof *h + 4095) & ~(size_t)4095;
		q = mremap(h, h->size & ~(size_t)1, len, MREMAP_MAYMOVE);
		if (q == MAP_FAILED) {
			errno = ENOMEM;
			return NULL;
		}
		((struct mem_head *)q)->size = len | 1;
		return (struct mem_head *)q + 1;
	}
	if (!(q = malloc(n)))
		return NULL;
	memcpy(q, p, room);
	free(p);
	return q;
}
#endif /* MINIRUN_LIBC_MALLOC */

/* ---- Small stand-ins for libc's qsort, strto* and strstr (see the note
 * after the #includes). */

static void util_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	/* Ciura's gaps, extended by x2.25: about n^1.3 comparisons. */
	static const unsigned short gaps[] = { 17961, 7983, 3548, 1577, 701, 301, 132, 57, 23, 10, 4, 1 };
	char *a = base;
	size_t g, i, j, k;
	for (g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
		for (i = gaps[g]; i < n; i++)
			for (j = i; j >= gaps[g] && cmp(a + (j - gaps[g]) * size, a + j * size) > 0; j -= gaps[g])
				for (k = 0; k < size; k++) {
					char t = a[(j - gaps[g]) * size + k];
					a[(j - gaps[g]) * size + k] = a[j * size + k];
					a[j * size + k] = t;
				}
}

/* The magnitude and sign of a number as strtoull reads it (leading space,
 * sign, 0x for base 16 or 0, leading 0 for base 0); *over when it exceeds
 * the type's largest magnitude `max`. */
static unsigned long long util_strto(const char *s, char **end, int base, unsigned long long max,
				     int *neg, int *over)
{
	const char *p = s;
	unsigned long long v = 0;
	int any = 0;
	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	*neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 32) == 'x' && isxdigit((unsigned char)p[2]))
		p += 2, base = 16;
	else if (base == 0)
		base = *p == '0' ? 8 : 10;
	for (*over = 0;; p++, any = 1) {
		unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0') :
			     (*p | 32) >= 'a' && (*p | 32) <= 'z' ? (unsigned)((*p | 32) - 'a' + 10) : 99;
		if (d >= (unsigned)base)
			break;
		if (v > (max - d) / (unsigned)base)
			*over = 1;
		else
			v = v * (unsigned)base + d;
	}
	if (end)
		*end = (char *)(any ? p : s);
	if (*over || !any)                      /* musl's errno when nothing was read */
		errno = *over ? ERANGE : EINVAL;
	return v;
}

static unsigned long long util_strtou(const char *s, char **end, int base, unsigned long long max)
{
	int neg, over;
	unsigned long long v = util_strto(s, end, base, max, &neg, &over);
	return over ? max : neg ? (0 - v) & max : v;
}

static long long util_strtoi(const char *s, char **end, int base, long long min, long long max)
{
	int neg, over;
	unsigned long long v = util_strto(s, end, base, (unsigned long long)max + 1, &neg, &over);
	if (!over && !neg && v > (unsigned long long)max)
		over = 1, errno = ERANGE;
	if (over)
		return neg ? min : max;
	return neg ? (long long)(0 - v) : (long long)v;
}

static char *util_strstr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncmp(hay, needle, n))
			return (char *)hay;
	return *needle ? NULL : (char *)hay;
}

/* Read up to n bytes, retrying on EINTR; short only at end of file. */
static ssize_t util_read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}
/* ======================== END src/02_util.c ======================== */

/* ======================== BEGIN src/03_fs.c ======================== */
#line 1 "src/03_fs.c"
/* ==== [03] FS: fds, paths resolved inside a root, atomic files, safe removal ====
 * Three rules of the store live here (DESIGN.md): Contained (paths from archives,
 * `cp` and mount targets are resolved as if the root were "/"), Atomic (files
 * appear by rename after fsync), and Never crosses a mount while deleting. */

/* Split off the first component of *path (skipping slashes); returns its length
 * and advances *path past it, or 0 at the end. */
static size_t fs_next_component(const char **path, const char **comp)
{
	const char *p = *path;
	size_t n = 0;
	while (*p == '/')
		p++;
	*comp = p;
	while (p[n] && p[n] != '/')
		n++;
	*path = p + n;
	return n;
}

static int fs_is_last(const char *rest)
{
	while (*rest == '/')
		rest++;
	return *rest == 0;
}

/* Re-open a resolved relative path (known to hold only directories, no "..",
 * no symlinks) from the root; O_NOFOLLOW on every step, so a component swapped
 * for a symlink meanwhile fails instead of leading outside. */
static int fs_reopen_resolved(int rootfd, const char *resolved)
{
	const char *p = resolved, *comp;
	size_t n;
	int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	char name[NAME_MAX + 1];
	while (cur >= 0 && (n = fs_next_component(&p, &comp)) > 0) {
		int next;
		memcpy(name, comp, n);
		name[n] = 0;
		next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(cur);
		cur = next;
	}
	return cur;
}

/* The component walk behind mr_open_in_root when openat2 is missing, and behind
 * mr_mkdir_in_root always: it emulates RESOLVE_IN_ROOT ("..", absolute symlinks
 * and relative symlinks are all clamped at the root). With `mkdirs`, missing
 * folders are created and the final fd is the last folder. */
static int fs_walk_in_root(int rootfd, const char *path, int flags, mode_t mode,
			   int mkdirs, struct mr_err *err)
{
	char *todo = NULL, *resolved = NULL;
	const char *p, *comp;
	char name[NAME_MAX + 1];
	int cur = -1, links = 0, result = -1;
	size_t n, todo_size = 2 * MINIRUN_MAX_PATH;

	if (strlen(path) >= MINIRUN_MAX_PATH)
		return mr_err_set(err, ENAMETOOLONG, "path %.64s...: too long", path);
	todo = util_xmalloc(todo_size);
	resolved = util_xmalloc(MINIRUN_MAX_PATH);
	snprintf(todo, todo_size, "%s", path);
	resolved[0] = 0;
	cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0) {
		mr_err_sys(err, "open root");
		goto out;
	}
	p = todo;
	while ((n = fs_next_component(&p, &comp)) > 0) {
		int last = fs_is_last(p);
		struct stat st;
		if (n > NAME_MAX) {
			mr_err_set(err, ENAMETOOLONG, "path %s: component too long", path);
			goto out;
		}
		memcpy(name, comp, n);
		name[n] = 0;
		if (!strcmp(name, "."))
			goto maybe_final;
		if (!strcmp(name, "..")) {
			char *slash = strrchr(resolved, '/');
			if (slash)
				*slash = 0;
			else
				resolved[0] = 0;
			close(cur);
			cur = fs_reopen_resolved(rootfd, resolved);
			if (cur < 0) {
				mr_err_sys(err, "path %s", path);
				goto out;
			}
			goto maybe_final;
		}
		if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
		    (!last || !(flags & O_NOFOLLOW))) {
			char target[MINIRUN_MAX_PATH];
			ssize_t tl = readlinkat(cur, name, target, sizeof target - 1);
			size_t restlen = strlen(p);
			if (tl < 0) {
				mr_err_sys(err, "path %s: readlink %s", path, name);
				goto out;
			}
			target[tl] = 0;
			if (++links > MINIRUN_MAX_SYMLINKS) {
				mr_err_set(err, ELOOP, "path %s: too many levels of symbolic links", path);
				goto out;
			}
			if ((size_t)tl + restlen + 2 > todo_size) {
				mr_err_set(err, ENAMETOOLONG, "path %s: too long after symlinks", path);
				goto out;
			}
			/* Splice the link target in front of what is left to walk. */
			memmove(todo + tl + 1, p, restlen + 1);
			memcpy(todo, target, (size_t)tl);
			todo[tl] = '/';
			p = todo;
			if (target[0] == '/') {
				resolved[0] = 0;
				close(cur);
				cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
				if (cur < 0) {
					mr_err_sys(err, "open root");
					goto out;
				}
			}
			continue;
		}
		if (!last || mkdirs) {
			int next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0 && errno == ENOENT && mkdirs) {
				if (mkdirat(cur, name, mode) < 0 && errno != EEXIST) {
					mr_err_sys(err, "create folder %s in %s", name, path);
					goto out;
				}
				next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			}
			if (next < 0) {
				mr_err_sys(err, "path %s: %s", path, name);
				goto out;
			}
			close(cur);
			cur = next;
			if (strlen(resolved) + n + 2 > MINIRUN_MAX_PATH) {
				mr_err_set(err, ENAMETOOLONG, "path %s: too long", path);
				goto out;
			}
			if (resolved[0])
				strcat(resolved, "/");
			strcat(resolved, name);
			goto maybe_final;
		}
		/* The last component, not a symlink to follow: open it without
		 * following, so a symlink swapped in after the check fails. */
		result = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		if (result < 0)
			mr_err_sys(err, "open %s", path);
		goto out;
maybe_final:
		if (fs_is_last(p))
			break;
	}
	/* The path ended on a folder (the root itself, ".", ".." or mkdirs). */
	if (mkdirs || (flags & O_PATH)) {
		result = cur;
		cur = -1;
	} else {
		result = openat(cur, ".", flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW), mode);
		if (result < 0)
			mr_err_sys(err, "open %s", path);
	}
out:
	if (cur >= 0)
		close(cur);
	free(todo);
	free(resolved);
	return result;
}

/* see minirun.h */
int mr_open_in_root(int rootfd, const char *path, int flags, mode_t mode, struct mr_err *err)
{
	int fd = compat_openat2(rootfd, *path ? path : ".", flags | O_CLOEXEC,
				(flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
				RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd >= 0)
		return fd;
	if (errno != ENOSYS)
		return mr_err_sys(err, "open %s", path);
	return fs_walk_in_root(rootfd, path, flags, mode, 0, err);
}

/* see minirun.h */
int mr_mkdir_in_root(int rootfd, const char *path, mode_t mode, struct mr_err *err)
{
	return fs_walk_in_root(rootfd, path, O_PATH | O_DIRECTORY, mode, 1, err);
}

/* see minirun.h */
int mr_fsync_dir(int dirfd, struct mr_err *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		mr_err_sys(err, "fsync folder");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* see minirun.h */
int mr_write_atomic(int dirfd, const char *name, const void *data, size_t len,
		    mode_t mode, struct mr_err *err)
{
	char tmp[NAME_MAX + 1];
	int fd;
	if (snprintf(tmp, sizeof tmp, ".tmp.%d.%.200s", (int)getpid(), name) >= (int)sizeof tmp)
		return mr_err_set(err, ENAMETOOLONG, "write %s: name too long", name);
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return mr_err_sys(err, "write %s", name);
	if (util_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		mr_err_sys(err, "write %s", name);
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		mr_err_sys(err, "write %s: rename", name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return mr_fsync_dir(dirfd, err);
}

/* see minirun.h */
int mr_read_file(int dirfd, const char *name, struct mr_buf *buf, size_t max, struct mr_err *err)
{
	char chunk[4096];
	ssize_t r;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mr_err_sys(err, "read %s", name);
	buf->len = 0;
	mr_buf_append(buf, NULL, 0);
	while ((r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			mr_err_sys(err, "read %s", name);
			close(fd);
			return -1;
		}
		if (buf->len + (size_t)r > max) {
			close(fd);
			return mr_err_set(err, EFBIG, "read %s: larger than %zu bytes", name, max);
		}
		mr_buf_append(buf, chunk, (size_t)r);
	}
	close(fd);
	return 0;
}

/* Identity of the mount a folder fd is on: the mount id where statx reports it
 * (bind mounts of the same filesystem differ there), else the device. */
struct fs_mount_key {
	uint64_t mnt_id;
	dev_t dev;
};

static int fs_mount_key(int fd, struct fs_mount_key *key)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	key->dev = st.st_dev;
	key->mnt_id = compat_mount_id(fd, NULL);
	return 0;
}

static int fs_same_mount(const struct fs_mount_key *a, const struct fs_mount_key *b)
{
	if (a->mnt_id && b->mnt_id)
		return a->mnt_id == b->mnt_id;
	return a->dev == b->dev;
}

/* One pass over the folder fd: unlink every entry that is not a folder, and
 * stop at the first folder, its name copied to `sub` (sub[0] == 0: none
 * left). */
static int fs_unlink_files(int fd, const char *where, char sub[NAME_MAX + 1], struct mr_err *err)
{
	DIR *d;
	struct dirent *de;
	int rc = 0, dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	sub[0] = 0;
	if (dupfd < 0 || !(d = fdopendir(dupfd))) {
		if (dupfd >= 0)
			close(dupfd);
		return mr_err_sys(err, "remove %s", where);
	}
	/* A dup shares the offset: start from the top whoever read it before. */
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno == EISDIR || errno == EPERM) {
			snprintf(sub, NAME_MAX + 1, "%s", de->d_name);
			break;
		}
		rc = mr_err_sys(err, "remove %s/%s", where, de->d_name);
		break;
	}
	closedir(d);
	return rc;
}

/* Open the sub-folder `name` of fd to delete inside it: never through a
 * symlink, never onto another mount (openat2 refuses any mount crossing,
 * bind mounts of the same filesystem too, where the kernel has it). */
static int fs_open_sub(int fd, const char *name, const struct fs_mount_key *top, const char *where,
		       struct mr_err *err)
{
	struct fs_mount_key key;
	int sub = compat_openat2(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0,
				 RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS);
	if (sub < 0 && errno != EXDEV)
		sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0 && errno != EXDEV)
		return mr_err_sys(err, "remove %s/%s", where, name);
	if (sub < 0 || fs_mount_key(sub, &key) < 0 || !fs_same_mount(&key, top)) {
		if (sub >= 0)
			close(sub);
		return mr_err_set(err, EXDEV, "remove %s/%s: another filesystem is mounted there; "
				  "refusing to delete through a mount", where, name);
	}
	return sub;
}

/* Remove everything inside the open folder fd (not the folder itself),
 * whatever the depth, with a fixed number of descriptors: one folder is open
 * at a time; going down records the folder left (device, inode, and the
 * name to remove on the way back), going up opens ".." and checks it is that
 * folder, so a folder moved meanwhile stops the removal instead of leading
 * it elsewhere. Memory grows with the depth (a name per level), descriptors
 * do not. */
static int fs_empty_dir(int fd, const struct fs_mount_key *top, const char *where,
			struct mr_err *err)
{
	struct fs_level { dev_t dev; ino_t ino; size_t name; } *lv = NULL;
	struct mr_buf names = { 0 };
	size_t n = 0, cap = 0;
	char sub[NAME_MAX + 1];
	struct stat sb;
	int rc = 0, cur = fcntl(fd, F_DUPFD_CLOEXEC, 3), next;
	if (cur < 0)
		return mr_err_sys(err, "remove %s", where);
	for (;;) {
		rc = fs_unlink_files(cur, where, sub, err);
		if (rc < 0)
			break;
		if (sub[0]) {
			/* down into the first folder left */
			if (fstat(cur, &sb) < 0) {
				rc = mr_err_sys(err, "remove %s", where);
				break;
			}
			next = fs_open_sub(cur, sub, top, where, err);
			if (next < 0) {
				rc = -1;
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				lv = util_xrealloc(lv, cap * sizeof *lv);
			}
			lv[n].dev = sb.st_dev;
			lv[n].ino = sb.st_ino;
			lv[n++].name = names.len;
			mr_buf_append(&names, sub, strlen(sub) + 1);
			close(cur);
			cur = next;
			continue;
		}
		if (n == 0)
			break;                  /* the top folder is empty */
		/* up, then remove the folder just emptied */
		next = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (next < 0 || fstat(next, &sb) < 0 || sb.st_dev != lv[n - 1].dev ||
		    sb.st_ino != lv[n - 1].ino) {
			if (next >= 0)
				close(next);
			rc = mr_err_set(err, ESTALE, "remove %s: a folder moved while it was being "
					"removed", where);
			break;
		}
		close(cur);
		cur = next;
		n--;
		if (unlinkat(cur, names.data + lv[n].name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
			rc = mr_err_sys(err, "remove %s/%s", where, names.data + lv[n].name);
			break;
		}
		names.len = lv[n].name;
	}
	close(cur);
	free(lv);
	mr_buf_free(&names);
	return rc;
}

/* Fail, naming it, if anything under the open folder fd is another mount
 * (checked before a removal that must not half-happen). Any depth with a
 * fixed number of descriptors, as fs_empty_dir: one folder open at a time,
 * the place in each folder above kept as a telldir() cookie. */
static int fs_check_no_mounts(int fd, const struct fs_mount_key *top, const char *where,
			      int depth, struct mr_err *err)
{
	struct fs_pos { dev_t dev; ino_t ino; long at; } *lv = NULL;
	size_t n = 0, cap = 0;
	long at = -1;
	int rc = 0, cur = fcntl(fd, F_DUPFD_CLOEXEC, 3), dupfd, sub;
	struct stat sb;
	(void)depth;
	if (cur < 0)
		return mr_err_sys(err, "%s", where);
	for (;;) {
		DIR *d;
		struct dirent *de;
		sub = -1;
		dupfd = fcntl(cur, F_DUPFD_CLOEXEC, 3);
		if (dupfd < 0 || !(d = fdopendir(dupfd))) {
			if (dupfd >= 0)
				close(dupfd);
			rc = mr_err_sys(err, "%s", where);
			break;
		}
		if (at >= 0)
			seekdir(d, at);
		else
			rewinddir(d);
		while (rc == 0 && sub < 0 && (de = readdir(d)) != NULL) {
			struct fs_mount_key key;
			if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
				/* a file bind-mounted here has another mount id too */
				uint64_t id = compat_mount_id(cur, de->d_name);
				if (id && top->mnt_id && id != top->mnt_id)
					rc = mr_err_set(err, EXDEV, "%s/%s: another filesystem is mounted "
							"there", where, de->d_name);
				continue;
			}
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			sub = openat(cur, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;
			if (fs_mount_key(sub, &key) < 0 || !fs_same_mount(&key, top)) {
				rc = mr_err_set(err, EXDEV, "%s/%s: another filesystem is mounted there",
						where, de->d_name);
				close(sub);
				sub = -1;
			}
		}
		at = sub >= 0 ? telldir(d) : -1;
		closedir(d);
		if (rc < 0)
			break;
		if (sub >= 0) {
			/* down, remembering where to go on in this folder */
			if (fstat(cur, &sb) < 0) {
				close(sub);
				rc = mr_err_sys(err, "%s", where);
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				lv = util_xrealloc(lv, cap * sizeof *lv);
			}
			lv[n].dev = sb.st_dev;
			lv[n].ino = sb.st_ino;
			lv[n++].at = at;
			close(cur);
			cur = sub;
			at = -1;
			continue;
		}
		if (n == 0)
			break;
		sub = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0 || fstat(sub, &sb) < 0 || sb.st_dev != lv[n - 1].dev ||
		    sb.st_ino != lv[n - 1].ino) {
			if (sub >= 0)
				close(sub);
			rc = mr_err_set(err, ESTALE, "%s: a folder moved while it was being checked",
					where);
			break;
		}
		close(cur);
		cur = sub;
		at = lv[--n].at;
	}
	close(cur);
	free(lv);
	return rc;
}

/* see minirun.h */
int mr_remove_tree(int dirfd, const char *name, struct mr_err *err)
{
	struct fs_mount_key parent, key;
	int fd, rc;
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return mr_err_sys(err, "remove %s", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mr_err_sys(err, "remove %s", name);
	if (fs_mount_key(dirfd, &parent) < 0 || fs_mount_key(fd, &key) < 0) {
		close(fd);
		return mr_err_sys(err, "remove %s", name);
	}
	if (!fs_same_mount(&parent, &key)) {
		close(fd);
		return mr_err_set(err, EXDEV, "remove %s: it is a mount point; refusing to "
				  "delete through a mount", name);
	}
	rc = fs_empty_dir(fd, &key, name, err);
	close(fd);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return mr_err_sys(err, "remove %s", name);
	return rc;
}
/* ======================== END src/03_fs.c ======================== */

/* ======================== BEGIN src/04_json.c ======================== */
#line 1 "src/04_json.c"
/* ==== [04] JSON: reader (arena DOM) and writer ====
 * The reader is strict RFC 8259 (UTF-8 checked, surrogates paired, no leading
 * zeros, nothing after the top value) and iterative: an explicit stack of
 * MINIRUN_MAX_JSON_DEPTH containers, so hostile nesting cannot blow the C stack.
 * A first pass counts the values, so one allocation holds every node and every
 * decoded string: the document costs a bounded multiple of its size and
 * mr_json_free is one free(). Errors give the 0-based offset of the bad byte.
 * The writer prints what Go's encoding/json prints (Docker's output): same
 * escapes (<, >, & too), same MarshalIndent layout. */

static const char json_lit[3][6] = { "null", "false", "true" }; /* enum order */
/* Escapes as pairs of (letter after the backslash, byte it stands for). */
static const char json_esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";

struct json_parser {
	const unsigned char *s;
	size_t pos, len;
	struct mr_json *nodes;
	size_t nused, ncap;
	char *chars;            /* next free byte for decoded strings */
	struct mr_err *err;
};

static int json_fail(struct json_parser *p, const char *what)
{
	if (p->pos >= p->len)
		what = "unexpected end of input";
	return mr_err_set(p->err, MR_EINVAL_INPUT, "invalid JSON at byte %zu: %s", p->pos, what);
}

/* Upper bound of the values: each but the root follows a '[', '{' or ',' that
 * is outside strings. The parser only allocates within the valid prefix it has
 * read, where this scan and the parser agree on what is inside a string; the
 * scan stops where the parser must stop (too deep, after the top container, a
 * ',' at the top), so hostile input cannot inflate the allocation. */
static size_t json_count(const unsigned char *s, size_t len)
{
	size_t i, n = 1;
	int in_str = 0, depth = 0;
	for (i = 0; i < len; i++) {
		unsigned c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > MINIRUN_MAX_JSON_DEPTH)
				break;
			n++;
		} else if (c == ']' || c == '}') {
			if (--depth <= 0)
				break;
		} else if (c == ',') {
			if (!depth)
				break;
			n++;
		}
	}
	return n;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if invalid:
 * overlong forms, surrogates and code points above U+10FFFF are refused. */
static size_t json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, need, i;
	if (c < 0x80)
		return 1;
	need = c < 0xc2 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : c < 0xf5 ? 3 : 0;
	if (!need || n <= need)
		return 0;
	cp = c & (0x3fu >> need);
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
	    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need + 1;
}

static char *json_put_utf8(char *d, unsigned cp)
{
	static const unsigned char lead[] = { 0, 0xc0, 0xe0, 0xf0 };
	int n = cp < 0x80 ? 0 : cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
	*d++ = (char)(lead[n] | cp >> (6 * n));
	while (n--)
		*d++ = (char)(0x80 | (cp >> (6 * n) & 0x3f));
	return d;
}

/* The 4 hex digits at s[i..i+3] as a number, -1 if absent or not hex. */
static long json_hex4(const struct json_parser *p, size_t i)
{
	long v = 0;
	size_t k;
	if (i > p->len || p->len - i < 4)
		return -1;
	for (k = i; k < i + 4; k++) {
		unsigned c = p->s[k];
		if (c - '0' < 10)
			c -= '0';
		else if ((c | 32) - 'a' < 6)
			c = (c | 32) - 'a' + 10;
		else
			return -1;
		v = v << 4 | c;
	}
	return v;
}

/* One escape at p->pos (on the backslash), decoded to *d. Errors point at the
 * backslash. Surrogates must come as a high/low pair of \u escapes. */
static int json_escape(struct json_parser *p, char **d)
{
	size_t i = p->pos + 1;
	long cp, lo;
	const char *m;
	if (i >= p->len)
		return json_fail(p, "invalid escape");
	if (p->s[i] != 'u') {
		for (m = json_esc; *m && *m != (char)p->s[i]; m += 2) {}
		if (!*m)
			return json_fail(p, "invalid escape");
		*(*d)++ = m[1];
		p->pos = i + 1;
		return 0;
	}
	cp = json_hex4(p, i + 1);
	if (cp < 0)
		return json_fail(p, "invalid \\u escape");
	i += 5;
	if (cp >= 0xd800 && cp < 0xe000) {
		if (cp >= 0xdc00 || i + 1 >= p->len || p->s[i] != '\\' || p->s[i + 1] != 'u' ||
		    (lo = json_hex4(p, i + 2)) < 0xdc00 || lo >= 0xe000)
			return json_fail(p, "unpaired UTF-16 surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		i += 6;
	}
	*d = json_put_utf8(*d, (unsigned)cp);
	p->pos = i;
	return 0;
}

/* The string at p->pos (on its quote), decoded and NUL-terminated into the
 * arena. Decoding never grows: the result and its NUL fit in the source bytes. */
static int json_string(struct json_parser *p, const char **out, size_t *outlen)
{
	char *d = p->chars;
	size_t n;
	*out = d;
	p->pos++;
	for (;;) {
		unsigned c;
		if (p->pos >= p->len)
			return json_fail(p, "unterminated string");
		c = p->s[p->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return json_fail(p, "control character in string");
		if (c == '\\') {
			if (json_escape(p, &d))
				return -1;
			continue;
		}
		n = json_utf8_len(p->s + p->pos, p->len - p->pos);
		if (!n)
			return json_fail(p, "invalid UTF-8 in string");
		memcpy(d, p->s + p->pos, n);
		d += n;
		p->pos += n;
	}
	p->pos++;
	*outlen = (size_t)(d - *out);
	*d++ = 0;
	p->chars = d;
	return 0;
}

static size_t json_digits(const struct json_parser *p, size_t *i)
{
	size_t start = *i;
	while (*i < p->len && (unsigned)(p->s[*i] - '0') < 10)
		(*i)++;
	return *i - start;
}

/* A literal or a number. Numbers keep their source text (so integers beyond
 * 2^53 survive a round trip) and its value as a double. */
/* The value of a number already checked against the grammar. Exact for
 * integers up to 2^53 (sizes, counts); other values are close enough for
 * minirun, which keeps the source text for anything it writes back. Not
 * strtod: that brings libc's decimal float scanner (about 5 KB). */
static double json_number_value(const char *s)
{
	double v = 0, scale = 1;
	int neg = *s == '-', exp = 0, eneg = 0;
	if (neg)
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++) {
			scale /= 10;
			v += (*s - '0') * scale;
		}
	if (*s == 'e' || *s == 'E') {
		s++;
		eneg = *s == '-';
		if (*s == '-' || *s == '+')
			s++;
		for (; *s >= '0' && *s <= '9' && exp < 400; s++)
			exp = exp * 10 + (*s - '0');
		while (exp-- > 0)
			v = eneg ? v / 10 : v * 10;
	}
	return neg ? -v : v;
}

static int json_scalar(struct json_parser *p, struct mr_json *v, int c)
{
	size_t i = p->pos, n;
	for (n = 0; n < 3; n++) {
		size_t l = strlen(json_lit[n]);
		if (c != json_lit[n][0])
			continue;
		if (p->len - i < l || memcmp(p->s + i, json_lit[n], l))
			return json_fail(p, "invalid literal");
		v->type = (enum mr_json_type)n;
		p->pos += l;
		return 0;
	}
	if (c != '-' && (c < '0' || c > '9'))
		return json_fail(p, "expected a value");
	if (c == '-')
		i++;
	if (i < p->len && p->s[i] == '0')
		i++;
	else if (!json_digits(p, &i))
		goto bad;
	if (i < p->len && p->s[i] == '.' && (++i, !json_digits(p, &i)))
		goto bad;
	if (i < p->len && (p->s[i] | 32) == 'e') {
		i++;
		if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (!json_digits(p, &i))
			goto bad;
	}
	v->type = MR_JSON_NUMBER;
	v->str = p->chars;
	v->len = i - p->pos;
	memcpy(p->chars, p->s + p->pos, v->len);
	p->chars[v->len] = 0;
	p->chars += v->len + 1;
	v->num = json_number_value(v->str);
	p->pos = i;
	return 0;
bad:
	p->pos = i;
	return json_fail(p, "invalid number");
}

static int json_ws(struct json_parser *p)
{
	for (; p->pos < p->len; p->pos++) {
		unsigned char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return c;
	}
	return -1;
}

/* The whole document, without recursion: stack[] holds the open containers
 * and tail[] where each one's next item is linked. */
static int json_parse_doc(struct json_parser *p, struct mr_json **root)
{
	struct mr_json *stack[MINIRUN_MAX_JSON_DEPTH], **tail[MINIRUN_MAX_JSON_DEPTH];
	struct mr_json *v, *up;
	int depth = 0, c;

	for (;;) {
		c = json_ws(p);
		if (p->nused == p->ncap)
			return json_fail(p, "too many values"); /* cannot happen: json_count */
		v = &p->nodes[p->nused++];
		memset(v, 0, sizeof *v);
		up = depth ? stack[depth - 1] : NULL;
		if (!up) {
			*root = v;
		} else {
			*tail[depth - 1] = v;
			tail[depth - 1] = &v->next;
			up->count++;
		}
		if (up && up->type == MR_JSON_OBJECT) {
			if (c != '"')
				return json_fail(p, "expected a string as object key");
			if (json_string(p, &v->key, &v->key_len))
				return -1;
			if (json_ws(p) != ':')
				return json_fail(p, "expected ':' after object key");
			p->pos++;
			c = json_ws(p);
		}
		if (c == '{' || c == '[') {
			if (depth == MINIRUN_MAX_JSON_DEPTH)
				return mr_err_set(p->err, MR_EINVAL_INPUT, "invalid JSON at byte %zu: "
						  "nested deeper than %d levels", p->pos,
						  MINIRUN_MAX_JSON_DEPTH);
			v->type = c == '{' ? MR_JSON_OBJECT : MR_JSON_ARRAY;
			stack[depth] = v;
			tail[depth++] = &v->child;
			p->pos++;
			if (json_ws(p) != c + 2) /* '}' and ']' follow '{' and '[' by 2 */
				continue;
			p->pos++;
			depth--;
		} else if (c == '"') {
			v->type = MR_JSON_STRING;
			if (json_string(p, &v->str, &v->len))
				return -1;
		} else if (json_scalar(p, v, c)) {
			return -1;
		}
		/* After a value: close containers until a ',' or the end. */
		for (;;) {
			c = json_ws(p);
			if (!depth) {
				if (c >= 0)
					return json_fail(p, "unexpected data after the top-level value");
				return 0;
			}
			if (c == ',') {
				p->pos++;
				break;
			}
			if (stack[depth - 1]->type == MR_JSON_OBJECT ? c != '}' : c != ']')
				return json_fail(p, stack[depth - 1]->type == MR_JSON_OBJECT ?
						 "expected ',' or '}' in object" :
						 "expected ',' or ']' in array");
			p->pos++;
			depth--;
		}
	}
}

/* see minirun.h */
int mr_json_parse(struct mr_json_doc *doc, const char *text, size_t len, struct mr_err *err)
{
	struct json_parser p = { (const unsigned char *)text, 0, len, NULL, 0, 0, NULL, err };
	doc->root = NULL;
	doc->arena = NULL;
	if (len > MINIRUN_MAX_JSON)
		return mr_err_set(err, MR_EINVAL_INPUT, "JSON document too large: %zu bytes (limit %zu)",
				  len, (size_t)MINIRUN_MAX_JSON);
	/* Nodes, then strings: each decoded string with its NUL fits in its quoted
	 * source, each number's text plus NUL in its source plus one per node. */
	p.ncap = json_count(p.s, len);
	p.nodes = malloc(p.ncap * (sizeof(struct mr_json) + 1) + len);
	if (!p.nodes)
		return mr_err_set(err, ENOMEM, "JSON document of %zu bytes: out of memory", len);
	p.chars = (char *)(p.nodes + p.ncap);
	doc->arena = p.nodes;
	if (json_parse_doc(&p, &doc->root)) {
		mr_json_free(doc);
		return -1;
	}
	return 0;
}

/* see minirun.h */
void mr_json_free(struct mr_json_doc *doc)
{
	free(doc->arena);
	doc->arena = NULL;
	doc->root = NULL;
}

/* see minirun.h */
const struct mr_json *mr_json_get(const struct mr_json *obj, const char *key)
{
	const struct mr_json *c, *found = NULL;
	size_t n = strlen(key);
	if (!obj || obj->type != MR_JSON_OBJECT)
		return NULL;
	/* The last duplicate wins, as in Go's encoding/json (what Docker uses). */
	for (c = obj->child; c; c = c->next)
		if (c->key_len == n && !memcmp(c->key, key, n))
			found = c;
	return found;
}

/* see minirun.h */
const char *mr_json_str(const struct mr_json *v)
{
	return v && v->type == MR_JSON_STRING ? v->str : NULL;
}

/* see minirun.h */
const struct mr_json *mr_json_at(const struct mr_json *arr, size_t i)
{
	const struct mr_json *c;
	if (!arr || arr->type != MR_JSON_ARRAY)
		return NULL;
	for (c = arr->child; c && i; c = c->next)
		i--;
	return c;
}

/* ---- writer ---- */

static void json_w_put(struct mr_jw *w, const char *s, size_t n)
{
	if (mr_buf_append(w->out, s, n))
		w->failed = 1;
}

static void json_w_newline(struct mr_jw *w)
{
	int n = w->indent * w->depth;
	json_w_put(w, "\n", 1);
	for (; n > 0; n -= 16)
		json_w_put(w, "                ", n < 16 ? (size_t)n : 16);
}

/* Before a key or a value: a comma after a sibling, then in pretty mode a new
 * line; nothing right after a key (its ':' is already out). */
static void json_w_pre(struct mr_jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->need_comma[w->depth])
		json_w_put(w, ",", 1);
	w->need_comma[w->depth] = 1;
	if (w->indent && w->depth)
		json_w_newline(w);
}

static void json_w_open(struct mr_jw *w, const char *c)
{
	json_w_pre(w);
	if (w->depth >= MINIRUN_MAX_JSON_DEPTH) {
		w->failed = 1;
		return;
	}
	json_w_put(w, c, 1);
	w->need_comma[++w->depth] = 0;
}

/* An empty container closes on the same line: {} and [] as Go prints them. */
static void json_w_close(struct mr_jw *w, const char *c)
{
	if (w->depth <= 0) {
		w->failed = 1;
		return;
	}
	if (w->need_comma[w->depth--] && w->indent)
		json_w_newline(w);
	json_w_put(w, c, 1);
}

/* A quoted string escaped as Go's encoding/json does: \" \\ \b \f \n \r \t,
 * other controls and the HTML-unsafe < > & as \u00xx, U+2028/9 as \u202x,
 * each byte of invalid UTF-8 as \ufffd; all else passes through. */
static void json_w_quoted(struct mr_jw *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start = 0, k;
	char esc[8];
	json_w_put(w, "\"", 1);
	while (i < n) {
		unsigned c = s[i];
		long u = -1;
		const char *m;
		k = 1;
		if (c >= 0x80) {
			k = json_utf8_len(s + i, n - i);
			if (!k) {
				k = 1;
				u = 0xfffd;
			} else if (c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8) {
				u = 0x2000 + (s[i + 2] - 0x80); /* U+2028, U+2029 */
			}
		} else if (c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&') {
			u = c;
		}
		if (u >= 0) {
			json_w_put(w, str + start, i - start);
			for (m = json_esc; *m && (unsigned char)m[1] != u; m += 2) {}
			if (*m)
				snprintf(esc, sizeof esc, "\\%c", *m);
			else
				snprintf(esc, sizeof esc, "\\u%04lx", u);
			json_w_put(w, esc, strlen(esc));
			start = i + k;
		}
		i += k;
	}
	json_w_put(w, str + start, n - start);
	json_w_put(w, "\"", 1);
}

static void json_w_raw(struct mr_jw *w, const char *s, size_t n)
{
	json_w_pre(w);
	json_w_put(w, s, n);
}

static void json_w_lit(struct mr_jw *w, int i)
{
	json_w_raw(w, json_lit[i], strlen(json_lit[i]));
}

static void json_w_keyn(struct mr_jw *w, const char *key, size_t n)
{
	json_w_pre(w);
	json_w_quoted(w, key, n);
	json_w_put(w, ": ", w->indent ? 2 : 1);
	w->after_key = 1;
}

/* see minirun.h */
void mr_jw_init(struct mr_jw *w, struct mr_buf *out, int indent)
{
	memset(w, 0, sizeof *w);
	w->out = out;
	w->indent = indent;
}

/* see minirun.h */
void mr_jw_obj(struct mr_jw *w)
{
	json_w_open(w, "{");
}

/* see minirun.h */
void mr_jw_obj_end(struct mr_jw *w)
{
	json_w_close(w, "}");
}

/* see minirun.h */
void mr_jw_arr(struct mr_jw *w)
{
	json_w_open(w, "[");
}

/* see minirun.h */
void mr_jw_arr_end(struct mr_jw *w)
{
	json_w_close(w, "]");
}

/* see minirun.h */
void mr_jw_key(struct mr_jw *w, const char *key)
{
	json_w_keyn(w, key, strlen(key));
}

/* see minirun.h */
void mr_jw_str(struct mr_jw *w, const char *s)
{
	if (!s)
		mr_jw_null(w);
	else
		mr_jw_strn(w, s, strlen(s));
}

/* see minirun.h */
void mr_jw_strn(struct mr_jw *w, const char *s, size_t n)
{
	json_w_pre(w);
	json_w_quoted(w, s, n);
}

/* see minirun.h */
void mr_jw_int(struct mr_jw *w, long long v)
{
	char b[24];
	json_w_raw(w, b, (size_t)snprintf(b, sizeof b, "%lld", v));
}

/* see minirun.h */
void mr_jw_bool(struct mr_jw *w, int v)
{
	json_w_lit(w, v ? MR_JSON_TRUE : MR_JSON_FALSE);
}

/* see minirun.h */
void mr_jw_null(struct mr_jw *w)
{
	json_w_lit(w, MR_JSON_NULL);
}

/* see minirun.h */
void mr_jw_value(struct mr_jw *w, const struct mr_json *v)
{
	const struct mr_json *c;
	int obj;
	if (!v || v->type <= MR_JSON_TRUE) {
		json_w_lit(w, v ? (int)v->type : MR_JSON_NULL);
		return;
	}
	if (v->type == MR_JSON_NUMBER || v->type == MR_JSON_STRING) {
		if (v->type == MR_JSON_NUMBER)
			json_w_raw(w, v->str, v->len);
		else
			mr_jw_strn(w, v->str, v->len);
		return;
	}
	obj = v->type == MR_JSON_OBJECT;
	json_w_open(w, obj ? "{" : "[");
	if (w->failed) /* also what bounds this recursion: opening fails past the depth limit */
		return;
	for (c = v->child; c; c = c->next) {
		if (obj)
			json_w_keyn(w, c->key, c->key_len);
		mr_jw_value(w, c);
	}
	json_w_close(w, obj ? "}" : "]");
}
/* ======================== END src/04_json.c ======================== */

/* ======================== BEGIN src/05_digest.c ======================== */
#line 1 "src/05_digest.c"
/* ==== [05] DIGEST: sha256 (SHA-NI, else BearSSL's rounds), digest strings ====
 * Only sha256 is accepted: it is what every registry and archive writer uses,
 * and a digest is validated before it is ever used as a path. */

/* see minirun.h */
int mr_digest_valid(const char *s)
{
	int i;
	if (!s || strncmp(s, "sha256:", 7) != 0)
		return -1;
	for (i = 0; i < 64; i++) {
		char c = s[7 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
	}
	return s[71] == 0 ? 0 : -1;
}

/* SHA-256 over whole layers is the largest CPU cost of a load (BearSSL's
 * portable rounds run at ~140 MB/s here). On x86-64 CPUs with the SHA
 * extensions and arm64 CPUs with the ARMv8 SHA2 instructions the rounds run
 * in hardware (measured on x86-64: a 457 MiB gzip load from 9.3 s to 5.7 s);
 * elsewhere BearSSL's round function does the work. */
void br_sha2small_round(const unsigned char *buf, uint32_t *val);

struct digest_ctx {
	uint32_t h[8];
	unsigned char buf[64];
	uint64_t count;
};

#if defined(__x86_64__) || defined(__aarch64__)
static const uint32_t digest_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
#endif

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* Four rounds per step with sha256rnds2, the message schedule four words
 * ahead with sha256msg1/msg2 (Intel's SHA extensions). */
__attribute__((target("sha,sse4.1")))
static void digest_blocks_ni(uint32_t h[8], const unsigned char *p, size_t n)
{
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);
	__m128i st1 = _mm_loadu_si128((const __m128i *)&h[4]);
	__m128i st0;
	tmp = _mm_shuffle_epi32(tmp, 0xB1);          /* CDAB */
	st1 = _mm_shuffle_epi32(st1, 0x1B);          /* EFGH */
	st0 = _mm_alignr_epi8(tmp, st1, 8);          /* ABEF */
	st1 = _mm_blend_epi16(st1, tmp, 0xF0);       /* CDGH */
	for (; n; n--, p += 64) {
		__m128i save0 = st0, save1 = st1, w[4];
		int i;
		/* Unrolled, so w[] lives in registers: at -Os the schedule went
		 * through the stack and the rounds ran at half speed (330 against
		 * 600 MB/s here), for about 600 bytes of code. */
#pragma GCC unroll 4
		for (i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
#pragma GCC unroll 16
		for (i = 0; i < 16; i++) {
			__m128i m = _mm_add_epi32(w[i & 3],
						  _mm_loadu_si128((const __m128i *)&digest_k[4 * i]));
			st1 = _mm_sha256rnds2_epu32(st1, st0, m);
			if (i < 12) {
				__m128i next = _mm_add_epi32(_mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]),
							     _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				w[i & 3] = _mm_sha256msg2_epu32(next, w[(i + 3) & 3]);
			}
			st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(m, 0x0E));
		}
		st0 = _mm_add_epi32(st0, save0);
		st1 = _mm_add_epi32(st1, save1);
	}
	tmp = _mm_shuffle_epi32(st0, 0x1B);          /* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xB1);          /* DCHG */
	st0 = _mm_blend_epi16(tmp, st1, 0xF0);       /* DCBA */
	st1 = _mm_alignr_epi8(st1, tmp, 8);          /* ABEF */
	_mm_storeu_si128((__m128i *)&h[0], st0);
	_mm_storeu_si128((__m128i *)&h[4], st1);
}

static int digest_have_ni(void)
{
	static int have = -1;
	unsigned a, b, c, d;
	if (have < 0)
		have = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 29 & 1) &&
		       __get_cpuid(1, &a, &b, &c, &d) && (c >> 19 & 1);
	return have;
}
#endif

#if defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>

/* Four rounds per step with sha256h/sha256h2, the schedule four words ahead
 * with sha256su0/su1 (ARMv8 cryptographic extension); unrolled like the x86
 * one so that w[] stays in registers. */
__attribute__((target("+crypto")))
static void digest_blocks_ce(uint32_t h[8], const unsigned char *p, size_t n)
{
	uint32x4_t s0 = vld1q_u32(&h[0]), s1 = vld1q_u32(&h[4]);
	for (; n; n--, p += 64) {
		uint32x4_t a = s0, b = s1, w[4], t, a0;
		int i;
#pragma GCC unroll 4
		for (i = 0; i < 4; i++)
			w[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * i)));
#pragma GCC unroll 16
		for (i = 0; i < 16; i++) {
			t = vaddq_u32(w[i & 3], vld1q_u32(&digest_k[4 * i]));
			if (i < 12)
				w[i & 3] = vsha256su1q_u32(vsha256su0q_u32(w[i & 3], w[(i + 1) & 3]),
							   w[(i + 2) & 3], w[(i + 3) & 3]);
			a0 = a;
			a = vsha256hq_u32(a, b, t);
			b = vsha256h2q_u32(b, a0, t);
		}
		s0 = vaddq_u32(s0, a);
		s1 = vaddq_u32(s1, b);
	}
	vst1q_u32(&h[0], s0);
	vst1q_u32(&h[4], s1);
}

static int digest_have_ce(void)
{
	static int have = -1;
	if (have < 0)
		have = (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0;
	return have;
}
#endif

static void digest_blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
#if defined(__x86_64__)
	if (digest_have_ni()) {
		digest_blocks_ni(h, p, n);
		return;
	}
#endif
#if defined(__aarch64__)
	if (digest_have_ce()) {
		digest_blocks_ce(h, p, n);
		return;
	}
#endif
	for (; n; n--, p += 64)
		br_sha2small_round(p, h);
}

static void digest_init(struct digest_ctx *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(c->h, iv, sizeof iv);
	c->count = 0;
}

static void digest_update(struct digest_ctx *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t used = (size_t)(c->count & 63);
	c->count += len;
	if (used) {
		size_t take = 64 - used < len ? 64 - used : len;
		memcpy(c->buf + used, p, take);
		p += take;
		len -= take;
		if (used + take < 64)
			return;
		digest_blocks(c->h, c->buf, 1);
	}
	if (len >= 64) {
		digest_blocks(c->h, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	memcpy(c->buf, p, len);
}

static void digest_finish(struct digest_ctx *c, char out[MR_DIGEST_LEN + 1])
{
	unsigned char sum[32];
	uint64_t bits = c->count * 8;
	size_t used = (size_t)(c->count & 63);
	int i;
	c->buf[used++] = 0x80;
	if (used > 56) {
		memset(c->buf + used, 0, 64 - used);
		digest_blocks(c->h, c->buf, 1);
		used = 0;
	}
	memset(c->buf + used, 0, 56 - used);
	for (i = 0; i < 8; i++)
		c->buf[63 - i] = (unsigned char)(bits >> (8 * i));
	digest_blocks(c->h, c->buf, 1);
	for (i = 0; i < 32; i++)
		sum[i] = (unsigned char)(c->h[i / 4] >> (24 - 8 * (i % 4)));
	memcpy(out, "sha256:", 7);
	util_hex(sum, 32, out + 7);
}

/* see minirun.h */
void mr_digest_buf(const void *data, size_t len, char out[MR_DIGEST_LEN + 1])
{
	struct digest_ctx ctx;
	digest_init(&ctx);
	digest_update(&ctx, data, len);
	digest_finish(&ctx, out);
}

/* The 64 hex digits of a valid digest (used for file names: no ':' which
 * overlayfs takes as a lowerdir separator). */
static const char *digest_hex(const char *digest)
{
	return digest + 7;
}
/* ======================== END src/05_digest.c ======================== */

/* ======================== BEGIN src/06_stream.c ======================== */
#line 1 "src/06_stream.c"
/* ==== [06] STREAM: pull-based readers: files, hashing, gzip, zstd, limits ====
 * A stream is one read function at the start of a caller-allocated struct; each
 * concrete stream wraps a parent, so a layer is read in one pass as
 *   archive entry -> hash (digest) -> decompress -> hash (diff_id) -> tar reader
 * with bounded memory: only the decompressor allocates (its state and a 64 KiB
 * input buffer), freed by stream_decomp_end. */

struct stream {
	/* Read up to n bytes: > 0 bytes read, 0 at the end, -1 on error (err set). */
	ssize_t (*read)(struct stream *s, void *buf, size_t n, struct mr_err *err);
};

static ssize_t stream_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	return s->read(s, buf, n, err);
}

/* Read n bytes unless the stream ends first: the count (short only at the end)
 * or -1. */
static ssize_t stream_read_full(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = s->read(s, (char *)buf + got, n - got, err);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Read and discard n bytes (an early end is an error), or everything up to
 * the end when n is UINT64_MAX (so hashes cover every byte). */
static int stream_skip(struct stream *s, uint64_t n, struct mr_err *err)
{
	char buf[8192];
	while (n) {
		ssize_t r = s->read(s, buf, n < sizeof buf ? (size_t)n : sizeof buf, err);
		if (r < 0)
			return -1;
		if (r == 0)
			return n == UINT64_MAX ? 0 :
				mr_err_set(err, MR_EINVAL_INPUT, "unexpected end of data");
		if (n != UINT64_MAX)
			n -= (uint64_t)r;
	}
	return 0;
}

/* ---- A file descriptor ---- */
struct stream_fd {
	struct stream s;
	int fd;
	uint64_t count;         /* bytes read so far (progress) */
};

static ssize_t stream_fd_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct stream_fd *f = (struct stream_fd *)s;
	for (;;) {
		ssize_t r = read(f->fd, buf, n);
		if (r >= 0) {
			f->count += (uint64_t)r;
			return r;
		}
		if (errno != EINTR)
			return mr_err_sys(err, "read");
	}
}

static void stream_fd_init(struct stream_fd *f, int fd)
{
	f->s.read = stream_fd_read;
	f->fd = fd;
	f->count = 0;
}

/* ---- sha256 of everything that passes through ---- */
struct stream_hash {
	struct stream s;
	struct stream *parent;
	struct digest_ctx ctx;
	uint64_t count;
};

static ssize_t stream_hash_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct stream_hash *h = (struct stream_hash *)s;
	ssize_t r = h->parent->read(h->parent, buf, n, err);
	if (r > 0) {
		digest_update(&h->ctx, buf, (size_t)r);
		h->count += (uint64_t)r;
	}
	return r;
}

static void stream_hash_init(struct stream_hash *h, struct stream *parent)
{
	h->s.read = stream_hash_read;
	h->parent = parent;
	digest_init(&h->ctx);
	h->count = 0;
}

/* "sha256:<hex>" of the bytes read so far. */
static void stream_hash_digest(struct stream_hash *h, char out[MR_DIGEST_LEN + 1])
{
	digest_finish(&h->ctx, out);
}

/* ---- Exactly `left` bytes of a parent (a tar entry's content) ---- */
struct stream_limit {
	struct stream s;
	struct stream *parent;
	uint64_t left;
};

static ssize_t stream_limit_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct stream_limit *l = (struct stream_limit *)s;
	ssize_t r;
	if (!l->left)
		return 0;
	r = l->parent->read(l->parent, buf, n < l->left ? n : (size_t)l->left, err);
	if (r == 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "unexpected end of data (%" PRIu64
				  " bytes missing)", l->left);
	if (r > 0)
		l->left -= (uint64_t)r;
	return r;
}

static void stream_limit_init(struct stream_limit *l, struct stream *parent, uint64_t size)
{
	l->s.read = stream_limit_read;
	l->parent = parent;
	l->left = size;
}

/* ---- Decompression: gzip or zstd by their magic bytes, else plain ---- */
enum { STREAM_AUTO, STREAM_PLAIN, STREAM_GZIP, STREAM_ZSTD };
#define STREAM_BUF (64u << 10)

struct stream_decomp {
	struct stream s;
	struct stream *parent;
	int format;             /* STREAM_*: known after the first read */
	int ended;              /* the last gzip member / zstd frame is complete */
	int nocheck;            /* skip the format's own checksum (stream_decomp_digested) */
	int eof;                /* the parent has ended */
	unsigned char *in;      /* compressed input, STREAM_BUF bytes */
	size_t pos, len;
#if MINIRUN_WITH_GZIP
	z_stream z;
	int zinit;
#endif
#if MINIRUN_WITH_ZSTD
	ZSTD_DStream *zd;
#endif
};

static int decomp_fill(struct stream_decomp *d, size_t want, struct mr_err *err)
{
	while (d->len - d->pos < want && !d->eof) {
		ssize_t r;
		if (d->pos == d->len)
			d->pos = d->len = 0;
		r = d->parent->read(d->parent, d->in + d->len, STREAM_BUF - d->len, err);
		if (r < 0)
			return -1;
		d->eof = r == 0;
		d->len += (size_t)r;
	}
	return 0;
}

/* ---- the formats: gzip (zlib), zstd; each built in or a stub that says
 * it is not, so that its data gets a clear error rather than garbage ---- */

#if MINIRUN_WITH_GZIP
static int decomp_gzip_start(struct stream_decomp *d, struct mr_err *err)
{
	if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK)
		return mr_err_set(err, ENOMEM, "gzip: cannot initialise");
	d->zinit = 1;
	if (d->nocheck)
		inflateValidate(&d->z, 0);
	return 0;
}

static ssize_t decomp_gzip_step(struct stream_decomp *d, void *buf, size_t n, struct mr_err *err)
{
	size_t got;
	int rc;
	d->z.next_in = d->in + d->pos;
	d->z.avail_in = (uInt)(d->len - d->pos);
	d->z.next_out = buf;
	d->z.avail_out = n > (1u << 30) ? 1u << 30 : (uInt)n;
	got = d->z.avail_out;
	rc = inflate(&d->z, Z_NO_FLUSH);
	got -= d->z.avail_out;
	d->pos = d->len - d->z.avail_in;
	if (rc == Z_STREAM_END)
		d->ended = 1;
	else if (rc != Z_OK && rc != Z_BUF_ERROR)
		return mr_err_set(err, MR_EINVAL_INPUT, "gzip: %s", d->z.msg ? d->z.msg : "corrupt data");
	return (ssize_t)got;
}

/* gzip members may follow each other (pigz, cat a.gz b.gz). */
static int decomp_gzip_next(struct stream_decomp *d, struct mr_err *err)
{
	if (d->in[d->pos] != 0x1f)
		return mr_err_set(err, MR_EINVAL_INPUT, "trailing garbage after gzip data");
	inflateReset(&d->z);
	return 0;
}

static void decomp_gzip_end(struct stream_decomp *d)
{
	if (d->zinit)
		inflateEnd(&d->z);
	d->zinit = 0;
}
#else
static int decomp_gzip_start(struct stream_decomp *d, struct mr_err *err)
{
	(void)d;
	return mr_err_set(err, MR_EDISABLED, "gzip: built without MINIRUN_WITH_GZIP");
}
static ssize_t decomp_gzip_step(struct stream_decomp *d, void *buf, size_t n, struct mr_err *err)
{
	(void)buf; (void)n;
	return decomp_gzip_start(d, err);         /* never reached: start failed */
}

static int decomp_gzip_next(struct stream_decomp *d, struct mr_err *err)
{
	return decomp_gzip_start(d, err);
}

static void decomp_gzip_end(struct stream_decomp *d)
{
	(void)d;
}
#endif

#if MINIRUN_WITH_ZSTD
static int decomp_zstd_start(struct stream_decomp *d, struct mr_err *err)
{
	d->zd = ZSTD_createDStream();
	if (!d->zd)
		return mr_err_set(err, ENOMEM, "zstd: cannot initialise");
	if (d->nocheck)
		ZSTD_DCtx_setParameter(d->zd, ZSTD_d_forceIgnoreChecksum, ZSTD_d_ignoreChecksum);
	return 0;
}

static ssize_t decomp_zstd_step(struct stream_decomp *d, void *buf, size_t n, struct mr_err *err)
{
	size_t pos0 = d->pos;
	ZSTD_inBuffer zin = { d->in, d->len, d->pos };
	ZSTD_outBuffer zout = { buf, n, 0 };
	size_t rc = ZSTD_decompressStream(d->zd, &zout, &zin);
	if (ZSTD_isError(rc))
		return mr_err_set(err, MR_EINVAL_INPUT, "zstd: %s", ZSTD_getErrorName(rc));
	d->pos = zin.pos;
	/* 0: a frame is complete and flushed; only meaningful after progress,
	 * as a call without input only returns a hint. */
	if (zout.pos || d->pos != pos0)
		d->ended = rc == 0;
	return (ssize_t)zout.pos;
}

static void decomp_zstd_end(struct stream_decomp *d)
{
	ZSTD_freeDStream(d->zd);
	d->zd = NULL;
}
#else
static int decomp_zstd_start(struct stream_decomp *d, struct mr_err *err)
{
	(void)d;
	return mr_err_set(err, MR_EDISABLED, "zstd: built without MINIRUN_WITH_ZSTD");
}
static ssize_t decomp_zstd_step(struct stream_decomp *d, void *buf, size_t n, struct mr_err *err)
{
	(void)buf; (void)n;
	return decomp_zstd_start(d, err);         /* never reached: start failed */
}

static void decomp_zstd_end(struct stream_decomp *d)
{
	(void)d;
}
#endif

/* The formats by their magic bytes, STREAM_GZIP first. The step of each
 * (bytes made from d->in into buf, 0 for none yet; d->pos and d->ended
 * moved) is called directly, which lets it be inlined: through this table it
 * cost 128 bytes more (router preset, stripped). */
static const struct decomp_format {
	unsigned char nmagic, magic[4];
	int (*start)(struct stream_decomp *d, struct mr_err *err);
} decomp_formats[] = {
	{ 2, { 0x1f, 0x8b }, decomp_gzip_start },
	{ 4, { 0x28, 0xb5, 0x2f, 0xfd }, decomp_zstd_start },
};

/* Look at the magic bytes and set up the decompressor. */
static int decomp_start(struct stream_decomp *d, struct mr_err *err)
{
	size_t i;
	if (decomp_fill(d, 4, err))
		return -1;
	d->format = STREAM_PLAIN;
	for (i = 0; i < sizeof decomp_formats / sizeof *decomp_formats; i++) {
		const struct decomp_format *f = &decomp_formats[i];
		if (d->len >= f->nmagic && !memcmp(d->in, f->magic, f->nmagic)) {
			if (f->start(d, err) < 0)
				return -1;
			d->format = STREAM_GZIP + (int)i;
			break;
		}
	}
	return 0;
}

static ssize_t decomp_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct stream_decomp *d = (struct stream_decomp *)s;
	if (d->format == STREAM_AUTO && decomp_start(d, err))
		return -1;
	if (d->format == STREAM_PLAIN) {
		size_t k = d->len - d->pos;
		if (!k)
			return d->parent->read(d->parent, buf, n, err);
		k = k < n ? k : n;
		memcpy(buf, d->in + d->pos, k);
		d->pos += k;
		return (ssize_t)k;
	}
	for (;;) {
		int gzip = d->format == STREAM_GZIP;
		size_t pos0;
		ssize_t got;
		if (decomp_fill(d, 1, err))
			return -1;
		if (d->ended) {
			if (d->pos == d->len)
				return 0;
			if (gzip && decomp_gzip_next(d, err) < 0)   /* zstd: frames just follow */
				return -1;
			d->ended = 0;
		}
		pos0 = d->pos;
		got = gzip ? decomp_gzip_step(d, buf, n, err) : decomp_zstd_step(d, buf, n, err);
		if (got)
			return got;
		if (d->pos == pos0 && d->pos == d->len)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s data truncated", gzip ? "gzip" : "zstd");
		if (d->pos == pos0)
			return mr_err_set(err, MR_EINVAL_INPUT, "corrupt compressed data");
	}
}

/* Decompress parent if it starts with gzip or zstd magic bytes, else pass it
 * through. Trailing garbage and truncated input are errors. Always pair with
 * stream_decomp_end (also after an error). */
static int stream_decomp_init(struct stream_decomp *d, struct stream *parent, struct mr_err *err)
{
	memset(d, 0, sizeof *d);
	d->s.read = decomp_read;
	d->parent = parent;
	d->in = util_xmalloc(STREAM_BUF);
	(void)err;
	return 0;
}

/* The caller checks a sha256 of the decompressed bytes (a layer's diff_id),
 * which makes the format's own checksum of the same bytes redundant: skip it.
 * Measured on a 364 MB layer: zstd's XXH64 took 40% of the small decoder's
 * time (1.84 s -> 1.10 s), zlib's CRC-32 (byte-wise here, see scripts/deps.sh)
 * about 5% of inflating (2.09 s -> 2.01 s). Call before the first read. */
static void stream_decomp_digested(struct stream_decomp *d)
{
	d->nocheck = 1;
}

static void stream_decomp_end(struct stream_decomp *d)
{
	decomp_gzip_end(d);                   /* each safe when unused or run twice */
	decomp_zstd_end(d);
	free(d->in);
	d->in = NULL;
}
/* ======================== END src/06_stream.c ======================== */

/* ======================== BEGIN src/07_tar.c ======================== */
#line 1 "src/07_tar.c"
/* ==== [07] TAR: tar reader and writer, layer extraction, whiteouts, flattening ====
 * The reader takes ustar, GNU (long names, base-256 numbers), pax (per entry
 * and global) and v7 headers from a stream, with bounded memory: long names up
 * to MINIRUN_MAX_PATH, pax headers up to TAR_MAX_PAX. Layers are hostile input:
 * extraction creates every entry relative to the layer folder's fd, walking
 * parents with O_NOFOLLOW, and refuses ".." or absolute paths, parents that are
 * symlinks and hardlinks leaving the layer, naming the entry. Whiteouts are
 * stored the overlayfs way (0/0 character devices, trusted.overlay.opaque=y) so
 * a layer folder is directly a lowerdir; tar_apply_layer_dir flattens such
 * folders onto a root for `image unpack` and the copy driver. */

#define TAR_MAX_PAX (64u << 10)        /* pax header bytes per entry */
#define TAR_MAX_XATTRS 32
#define TAR_MAX_SIZE (1ull << 44)      /* 16 TiB: anything larger is corrupt */

enum {
	TAR_REG = '0', TAR_LINK = '1', TAR_SYMLINK = '2', TAR_CHR = '3', TAR_BLK = '4',
	TAR_DIR = '5', TAR_FIFO = '6'
};
/* tar_entry.unsafe bits */
#define TAR_UNSAFE_PATH 1              /* absolute or with ".." (kept as in the archive) */
#define TAR_UNSAFE_LINK 2              /* the same for a hardlink's target */

struct tar_xattr {
	const char *name;
	const char *value;      /* points into the reader's pax buffer */
	size_t len;
};

struct tar_entry {
	char path[MINIRUN_MAX_PATH];    /* normalised: no "/", "./", "//" or trailing "/";
					 * "" is the archive's root */
	char link[MINIRUN_MAX_PATH];    /* symlink target as stored; hardlink target normalised */
	int type;                       /* TAR_* */
	int unsafe;                     /* TAR_UNSAFE_* */
	mode_t mode;                    /* permission bits with setuid/setgid/sticky */
	uid_t uid;
	gid_t gid;
	uint64_t size;                  /* content bytes (0 for all but regular files) */
	struct timespec mtime;
	unsigned devmajor, devminor;
	unsigned nxattr;
	struct tar_xattr xattr[TAR_MAX_XATTRS];
};

struct tar_reader {
	struct stream_limit data;       /* the current entry's content */
	struct stream *in;
	uint64_t pad;                   /* zero padding after the content */
	char *pax;                      /* pax headers of the current entry */
	size_t paxlen;
	const char *bad;                /* deferred error, reported with the entry's name */
	int gset;                       /* fields set by pax global headers (TAR_OV_*) */
	uid_t guid;
	gid_t ggid;
	struct timespec gmtime;
};

/* Fields an extended header set, so the ustar header does not override them. */
enum { TAR_OV_PATH = 1, TAR_OV_LINK = 2, TAR_OV_SIZE = 4, TAR_OV_UID = 8, TAR_OV_GID = 16,
       TAR_OV_MTIME = 32 };

static void tar_reader_init(struct tar_reader *r, struct stream *in)
{
	memset(r, 0, sizeof *r);
	stream_limit_init(&r->data, in, 0);
	r->in = in;
}

static void tar_reader_end(struct tar_reader *r)
{
	free(r->pax);
	r->pax = NULL;
}

/* The current entry's content as a stream (unread bytes are skipped by the
 * next tar_next). */
static struct stream *tar_data_stream(struct tar_reader *r)
{
	return &r->data.s;
}

/* A numeric header field: octal (space or NUL padded) or GNU base-256. */
static int tar_num(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	if (f[0] & 0x80) {
		if (f[0] & 0x40)                /* negative */
			return -1;
		for (v = f[0] & 0x3f, i = 1; i < n; i++) {
			if (v >> 55)
				return -1;
			v = v << 8 | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i])
			return -1;
	*out = v;
	return 0;
}

/* Both checksum variants: unsigned (POSIX) and signed (old Sun and GNU tars). */
static int tar_cksum_ok(const unsigned char *h)
{
	uint64_t want;
	unsigned long u = 0;
	long s = 0;
	int i;
	if (tar_num(h + 148, 8, &want))
		return 0;
	for (i = 0; i < 512; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : h[i];
		u += c;
		s += (signed char)c;
	}
	return want == u || (long)want == s;
}

/* Absolute, or a ".." component anywhere. */
static int tar_unsafe(const char *p)
{
	if (*p == '/')
		return 1;
	for (;;) {
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2]))
			return 1;
		p = strchr(p, '/');
		if (!p)
			return 0;
		p++;
	}
}

/* Drop empty and "." components in place ("./a//b/" -> "a/b", "./" -> ""). */
static void tar_norm(char *p)
{
	char *w = p;
	const char *r = p;
	while (*r) {
		const char *c = r;
		size_t n;
		while (*r && *r != '/')
			r++;
		n = (size_t)(r - c);
		if (n && !(n == 1 && *c == '.')) {
			if (w != p)
				*w++ = '/';
			memmove(w, c, n);
			w += n;
		}
		if (*r)
			r++;
	}
	*w = 0;
}

/* 0 unless the path is unsafe (then it is left as it is, for the message). */
static int tar_clean(char *p)
{
	if (tar_unsafe(p))
		return 1;
	tar_norm(p);
	return 0;
}

/* Seconds with an optional fraction ("1700000000.123456789", "-1.5"). */
static int tar_parse_time(const char *s, struct timespec *ts)
{
	int neg = *s == '-', digits = 0;
	uint64_t sec = 0;
	long ns = 0;
	s += neg;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (sec > (uint64_t)INT64_MAX / 10)
			return -1;
		sec = sec * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			if (digits < 9)
				ns = ns * 10 + (*s - '0'), digits++;
	if (*s)
		return -1;
	while (digits++ < 9)
		ns *= 10;
	ts->tv_sec = neg ? -(time_t)sec : (time_t)sec;
	ts->tv_nsec = ns;
	if (neg && ns) {
		ts->tv_sec--;
		ts->tv_nsec = 1000000000 - ns;
	}
	return 0;
}

static int tar_parse_id(const char *s, uint32_t *out)
{
	uint64_t v;
	/* (uid_t)-1 would mean "leave unchanged" to chown. */
	if (util_parse_u64(s, &v) || v >= UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Decode base64 in place (padding optional); the decoded length or -1. */
static ssize_t tar_unbase64(char *s, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	unsigned acc = 0, bits = 0;
	for (i = 0; i < n && s[i] != '='; i++) {
		const char *v = memchr(b64, s[i], 64);
		if (!v)
			return -1;
		acc = acc << 6 | (unsigned)(v - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			s[o++] = (char)(acc >> bits);
		}
	}
	return (ssize_t)o;
}

static int tar_xdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 32;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode %XX escapes in place (libarchive's xattr names). */
static void tar_unurl(char *s)
{
	char *w = s;
	for (; *s; s++) {
		int hi, lo;
		if (*s == '%' && (hi = tar_xdigit(s[1])) >= 0 && (lo = tar_xdigit(s[2])) >= 0) {
			*w++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

static void tar_add_xattr(struct tar_reader *r, struct tar_entry *e, const char *name,
			  const char *val, size_t len)
{
	unsigned i;
	for (i = 0; i < e->nxattr && strcmp(e->xattr[i].name, name); i++) {}
	if (i == TAR_MAX_XATTRS) {
		r->bad = "too many extended attributes";
		return;
	}
	if (!*name || strlen(name) > 255) {
		r->bad = "bad extended attribute name";
		return;
	}
	e->xattr[i].name = name;
	e->xattr[i].value = val;
	e->xattr[i].len = len;
	if (i == e->nxattr)
		e->nxattr++;
}

/* One pax record (key and value NUL-terminated in the buffer). Problems are
 * kept in r->bad and reported once the entry's name is known. */
static void tar_pax_record(struct tar_reader *r, struct tar_entry *e, int *ov, char *k,
			   char *v, size_t vlen, int global)
{
	uint64_t n;
	uint32_t id;
	int bit = 0;
	if (util_starts_with(k, "GNU.sparse.")) {
		r->bad = "sparse files are not supported";
	} else if (!strcmp(k, "path") || !strcmp(k, "linkpath")) {
		char *dst = k[0] == 'p' ? e->path : e->link;
		if (global)
			return;
		if (vlen >= MINIRUN_MAX_PATH || strlen(v) != vlen) {
			r->bad = "bad pax path";
			return;
		}
		memcpy(dst, v, vlen + 1);
		bit = k[0] == 'p' ? TAR_OV_PATH : TAR_OV_LINK;
	} else if (!strcmp(k, "size")) {
		if (util_parse_u64(v, &n) || n > TAR_MAX_SIZE)
			r->bad = "bad pax size";
		else if (!global)
			e->size = n, bit = TAR_OV_SIZE;
	} else if (!strcmp(k, "uid") || !strcmp(k, "gid")) {
		if (tar_parse_id(v, &id)) {
			r->bad = "bad pax uid or gid";
		} else if (k[0] == 'u') {
			e->uid = id, bit = TAR_OV_UID;
		} else {
			e->gid = id, bit = TAR_OV_GID;
		}
	} else if (!strcmp(k, "mtime")) {
		if (tar_parse_time(v, &e->mtime))
			r->bad = "bad pax mtime";
		else
			bit = TAR_OV_MTIME;
	} else if (global) {
		return;
	} else if (util_starts_with(k, "SCHILY.xattr.")) {
		tar_add_xattr(r, e, k + 13, v, vlen);
	} else if (util_starts_with(k, "LIBARCHIVE.xattr.")) {
		ssize_t m = tar_unbase64(v, vlen);
		tar_unurl(k + 17);
		if (m < 0)
			r->bad = "bad pax xattr value";
		else
			tar_add_xattr(r, e, k + 17, v, (size_t)m);
	}
	*ov |= bit;
	if (global) {
		r->gset |= bit;
		if (bit == TAR_OV_UID)
			r->guid = e->uid;
		if (bit == TAR_OV_GID)
			r->ggid = e->gid;
		if (bit == TAR_OV_MTIME)
			r->gmtime = e->mtime;
	}
}

/* Records "<len> <key>=<value>\n" of a pax header of n bytes at p. */
static void tar_pax(struct tar_reader *r, struct tar_entry *e, int *ov, char *p, size_t n,
		    int global)
{
	while (n && !r->bad) {
		size_t len = 0, i = 0;
		char *eq;
		while (i < n && p[i] >= '0' && p[i] <= '9' && len <= n)
			len = len * 10 + (size_t)(p[i++] - '0');
		if (!i || i >= n || p[i] != ' ' || len > n || len < i + 3 || p[len - 1] != '\n' ||
		    !(eq = memchr(p + i + 1, '=', len - i - 2))) {
			r->bad = "malformed pax header";
			return;
		}
		*eq = 0;
		p[len - 1] = 0;
		tar_pax_record(r, e, ov, p + i + 1, eq + 1, (size_t)(p + len - 1 - (eq + 1)), global);
		p += len;
		n -= len;
	}
}

/* Read n bytes of a metadata entry (long name, pax) and its padding. */
static int tar_read_meta(struct tar_reader *r, char *dst, uint64_t n, struct mr_err *err)
{
	ssize_t got = stream_read_full(r->in, dst, (size_t)n, err);
	if (got < 0)
		return -1;
	if ((uint64_t)got < n)
		return mr_err_set(err, MR_EINVAL_INPUT, "unexpected end of data");
	dst[n] = 0;
	return stream_skip(r->in, -n & 511, err);
}

static int tar_zero(const unsigned char *h)
{
	int i;
	for (i = 0; i < 512 && !h[i]; i++) {}
	return i == 512;
}

/* Fill e from a ustar/GNU/v7 header (fields not set by pax). */
static void tar_header(struct tar_reader *r, struct tar_entry *e, const unsigned char *h, int ov)
{
	uint64_t v[7];
	static const unsigned short off[7] = { 100, 108, 116, 124, 136, 329, 337 };
	static const unsigned char len[7] = { 8, 8, 8, 12, 12, 8, 8 };
	int i, ustar = !memcmp(h + 257, "ustar", 5);
	int posix = ustar && h[262] == 0;       /* GNU keeps other fields after the name */
	for (i = 0; i < 7; i++)
		if ((i < 5 || ustar) && tar_num(h + off[i], len[i], &v[i]))
			r->bad = "bad numeric field in header";
		else if (i >= 5 && !ustar)
			v[i] = 0;
	if (!(ov & TAR_OV_PATH)) {
		size_t n = 0;
		if (posix && h[345]) {
			n = strnlen((const char *)h + 345, 155);
			memcpy(e->path, h + 345, n);
			e->path[n++] = '/';
		}
		memcpy(e->path + n, h, strnlen((const char *)h, 100));
		e->path[n + strnlen((const char *)h, 100)] = 0;
	}
	if (!(ov & TAR_OV_LINK)) {
		memcpy(e->link, h + 157, strnlen((const char *)h + 157, 100));
		e->link[strnlen((const char *)h + 157, 100)] = 0;
	}
	if (v[1] >= UINT32_MAX || v[2] >= UINT32_MAX || v[3] > TAR_MAX_SIZE ||
	    v[4] > INT64_MAX || v[5] > 0xfff || v[6] > 0xfffff)
		r->bad = "bad numeric field in header";
	e->mode = (mode_t)v[0] & 07777;
	if (!(ov & TAR_OV_UID))
		e->uid = (uid_t)v[1];
	if (!(ov & TAR_OV_GID))
		e->gid = (gid_t)v[2];
	if (!(ov & TAR_OV_SIZE))
		e->size = v[3];
	if (!(ov & TAR_OV_MTIME)) {
		e->mtime.tv_sec = (time_t)v[4];
		e->mtime.tv_nsec = 0;
	}
	e->devmajor = (unsigned)v[5];
	e->devminor = (unsigned)v[6];
}

/* Next entry: 1, 0 at the end of the archive, -1 on error. The end is two
 * zero blocks, or the stream ending on a block boundary (umoci writes layers
 * without the end blocks). Errors name the entry. */
static int tar_next(struct tar_reader *r, struct tar_entry *e, struct mr_err *err)
{
	unsigned char h[512];
	int ov, type, meta = 0, slash;
	ssize_t got;
	uint64_t size;

	if (stream_skip(r->in, r->data.left, err))
		goto fail;
	if (r->pad) {
		/* umoci insert ends a layer right after the last file's data,
		 * without padding or end blocks: an end there is the end. */
		unsigned char pad[512];
		got = stream_read_full(r->in, pad, (size_t)r->pad, err);
		if (got < 0)
			goto fail;
		if ((uint64_t)got < r->pad) {
			r->data.left = r->pad = 0;
			goto end;
		}
	}
	r->data.left = r->pad = 0;
	r->paxlen = 0;
	r->bad = NULL;
	e->nxattr = 0;
	e->uid = r->guid;
	e->gid = r->ggid;
	e->mtime = r->gmtime;
	ov = r->gset;
	for (;;) {
		got = stream_read_full(r->in, h, 512, err);
		if (got < 0)
			goto fail;
		if (got == 0 && !meta)
			goto end;
		if (got < 512)
			goto truncated;
		if (tar_zero(h)) {
			got = stream_read_full(r->in, h, 512, err);
			if (got < 0)
				goto fail;
			if (got == 0 || (got == 512 && tar_zero(h)))
				goto end;
			mr_err_set(err, MR_EINVAL_INPUT, "lone zero block in tar archive");
			goto fail;
		}
		if (!tar_cksum_ok(h)) {
			char name[101];
			size_t i;
			for (i = 0; i < 100 && h[i]; i++)
				name[i] = h[i] >= ' ' && h[i] < 127 ? (char)h[i] : '?';
			name[i] = 0;
			mr_err_set(err, MR_EINVAL_INPUT, "entry %s: bad tar header checksum", name);
			goto fail;
		}
		type = h[156];
		meta = 1;
		if (tar_num(h + 124, 12, &size) || size > TAR_MAX_SIZE)
			size = UINT64_MAX;
		if (type == 'L' || type == 'K') {
			if (size >= MINIRUN_MAX_PATH) {
				mr_err_set(err, MR_EINVAL_INPUT, "GNU long name longer than %d bytes",
					   MINIRUN_MAX_PATH - 1);
				goto fail;
			}
			if (tar_read_meta(r, type == 'L' ? e->path : e->link, size, err))
				goto fail;
			ov |= type == 'L' ? TAR_OV_PATH : TAR_OV_LINK;
		} else if (type == 'x' || type == 'g') {
			if (size >= TAR_MAX_PAX - r->paxlen) {
				mr_err_set(err, MR_EINVAL_INPUT, "pax header larger than %u bytes",
					   TAR_MAX_PAX);
				goto fail;
			}
			if (!r->pax)
				r->pax = util_xmalloc(TAR_MAX_PAX);
			if (tar_read_meta(r, r->pax + r->paxlen, size, err))
				goto fail;
			tar_pax(r, e, &ov, r->pax + r->paxlen, (size_t)size, type == 'g');
			/* xattr values of an 'x' header point into the buffer: keep it. */
			if (type == 'x')
				r->paxlen += (size_t)size + 1;
			if (type == 'g' && r->bad) {
				mr_err_set(err, MR_EINVAL_INPUT, "pax global header: %s", r->bad);
				goto fail;
			}
		} else {
			break;
		}
	}
	tar_header(r, e, h, ov);
	slash = util_ends_with(e->path, "/");
	e->unsafe = tar_clean(e->path) ? TAR_UNSAFE_PATH : 0;
	switch (type) {
	case 0:
	case '0':
	case '7':
		/* Old archives mark folders with a trailing slash only. */
		type = TAR_REG;
		if (h[156] == 0 && slash)
			type = TAR_DIR;
		break;
	case TAR_LINK:
		if (tar_clean(e->link))
			e->unsafe |= TAR_UNSAFE_LINK;
		break;
	case TAR_SYMLINK: case TAR_CHR: case TAR_BLK: case TAR_DIR: case TAR_FIFO:
		break;
	case 'S':
		r->bad = "sparse files are not supported";
		break;
	default:
		if (!r->bad) {
			mr_err_set(err, MR_EINVAL_INPUT, type > ' ' && type < 127 ?
				   "entry %s: unsupported entry type '%c'" :
				   "entry %s: unsupported entry type %d", e->path[0] ? e->path : ".", type);
			goto fail;
		}
	}
	if (r->bad) {
		mr_err_set(err, MR_EINVAL_INPUT, "entry %s: %s", e->path[0] ? e->path : ".", r->bad);
		goto fail;
	}
	e->type = type;
	/* Like Go's archive/tar (Docker), only regular files carry content. */
	if (type != TAR_REG)
		e->size = 0;
	stream_limit_init(&r->data, r->in, e->size);
	r->pad = -e->size & 511;
	return 1;
truncated:
	mr_err_set(err, MR_EINVAL_INPUT, "unexpected end of data in tar header");
fail:
	tar_reader_end(r);
	return -1;
end:
	tar_reader_end(r);
	return 0;
}

/* ---- Helpers shared by extraction and flattening ---- */
#define TAR_BUF (64u << 10)

/* Open folder `path` (bytes i to n, normalised; dirfd is the folder of its
 * first i bytes) without ever following a symlink. With create, missing
 * folders are made (0755) and their parent keeps its times. Errors name the
 * parent at fault. */
static int tar_walk(int dirfd, const char *path, size_t i, size_t n, int create,
		    struct mr_err *err)
{
	char name[NAME_MAX + 1];
	size_t j;
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3), next;
	const int fl = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	while (fd >= 0 && i < n) {
		struct stat st;
		for (j = i; j < n && path[j] != '/'; j++) {}
		if (j - i > NAME_MAX) {
			close(fd);
			return mr_err_set(err, ENAMETOOLONG, "name too long");
		}
		memcpy(name, path + i, j - i);
		name[j - i] = 0;
		next = openat(fd, name, fl);
		if (next < 0 && errno == ENOENT && create && !fstat(fd, &st) &&
		    (!mkdirat(fd, name, 0755) || errno == EEXIST)) {
			struct timespec ts[2] = { st.st_atim, st.st_mtim };
			futimens(fd, ts);
			next = openat(fd, name, fl);
		}
		if (next < 0) {
			if ((errno == ENOTDIR || errno == ELOOP) &&
			    !fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW))
				mr_err_set(err, MR_EUNSAFE, "parent %.*s is %s", (int)j, path,
					   S_ISLNK(st.st_mode) ? "a symlink" : "not a folder");
			else
				mr_err_sys(err, "parent %.*s", (int)j, path);
			close(fd);
			return -1;
		}
		close(fd);
		fd = next;
		i = j + 1;
	}
	if (fd < 0)
		return mr_err_sys(err, "open folder");
	return fd;
}

/* Make way for `name` in dfd: what an earlier entry left there goes (a folder
 * with everything in it, never crossing a mount), except that a folder stays
 * when keep_dir (1 is returned then). */
static int tar_make_way(int dfd, const char *name, int keep_dir, struct mr_err *err)
{
	struct stat st;
	if (keep_dir && !fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode))
		return 1;
	return mr_remove_tree(dfd, name, err);
}

/* Create `name` in dfd, replacing an earlier object: a hardlink to `target` in
 * tfd when tfd >= 0, else by mode's type: a regular file opened into *fd, a
 * folder (1 when one was already there), a symlink to target, a device or
 * FIFO. Permissions are set later (after chown, which clears setuid bits). */
static int tar_create(int dfd, const char *name, mode_t mode, int tfd, const char *target,
		      dev_t rdev, int *fd, struct mr_err *err)
{
	int again, rc;
	for (again = 0;; again = 1) {
		if (tfd >= 0)
			rc = linkat(tfd, target, dfd, name, 0);
		else if (S_ISREG(mode))
			rc = *fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
					  0600);
		else if (S_ISDIR(mode))
			rc = mkdirat(dfd, name, 0700);
		else if (S_ISLNK(mode))
			rc = symlinkat(target, dfd, name);
		else
			rc = mknodat(dfd, name, mode, rdev);
		if (rc >= 0)
			return 0;
		if (errno != EEXIST || again)
			return mr_err_sys(err, "create");
		rc = tar_make_way(dfd, name, S_ISDIR(mode) && tfd < 0, err);
		if (rc)
			return rc;
	}
}

/* xattr calls on `name` in dfd without following it: there is no *xattrat
 * call before Linux 6.13, and a device or FIFO must not be opened, so the l*
 * call runs from inside dfd. set, else get (key) or list (key NULL). */
static ssize_t tar_xattr_at(int dfd, const char *name, int set, const char *key, void *val,
			    size_t len)
{
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), e;
	ssize_t r = -1;
	if (cwd >= 0 && !fchdir(dfd))
		r = set ? lsetxattr(name, key, val, len, 0) :
		    key ? lgetxattr(name, key, val, len) : llistxattr(name, val, len);
	e = errno;
	if (cwd >= 0 && fchdir(cwd)) { /* nothing better to do */ }
	if (cwd >= 0)
		close(cwd);
	errno = e;
	return r;
}

/* Set one xattr on fd (when >= 0) or name in dfd. Overlay's own attributes
 * from an archive would change what the layer hides: never taken. */
static int tar_setxattr(int dfd, const char *name, int fd, const char *key, const void *val,
			size_t len, struct mr_err *err)
{
	if (util_starts_with(key, "trusted.overlay.") || util_starts_with(key, "user.overlay."))
		return 0;
	if (!(fd >= 0 ? fsetxattr(fd, key, val, len, 0) :
	      tar_xattr_at(dfd, name, 1, key, (void *)val, len)))
		return 0;
	/* As Docker: a filesystem without xattrs, user.* on a symlink. */
	if (errno == ENOTSUP || errno == EPERM)
		return 0;
	return mr_err_sys(err, "set xattr %s", key);
}

/* Owner, then mode (chown clears setuid bits); symlinks have no mode. */
static int tar_own(int dfd, const char *name, int fd, uid_t uid, gid_t gid, mode_t mode,
		   struct mr_err *err)
{
	if (fd >= 0 ? fchown(fd, uid, gid) : fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW))
		return mr_err_sys(err, "chown");
	if (S_ISLNK(mode))
		return 0;
	/* name was just created here by us, so fchmodat cannot follow a symlink */
	/* the raw call: musl's fchmodat carries an emulation of flags not used */
	if (fd >= 0 ? fchmod(fd, mode & 07777) : syscall(SYS_fchmodat, dfd, name, mode & 07777))
		return mr_err_sys(err, "chmod");
	return 0;
}

static int tar_times(int dfd, const char *name, int fd, const struct timespec ts[2],
		     struct mr_err *err)
{
	if (fd >= 0 ? futimens(fd, ts) : utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW))
		return mr_err_sys(err, "set times");
	return 0;
}

/* ---- Extracting a layer ----
 * Entries are created in the open folder of the previous entry when they
 * share it (tar lists folders together), so deep trees cost one openat per
 * entry. A folder's times change while children are added: they are taken
 * when it becomes the current folder and put back when it stops being it. */
struct tar_x {
	int root;
	int dfd;                        /* current folder, -1 none */
	size_t dlen;
	char dpath[MINIRUN_MAX_PATH];
	struct timespec dtimes[2];
	char *buf;
	uint64_t size;
	int plain;                      /* cp: names are names (no whiteouts), and a folder
					 * and a non-folder never replace each other */
};

static void tar_x_leave(struct tar_x *x)
{
	if (x->dfd < 0)
		return;
	futimens(x->dfd, x->dtimes);
	close(x->dfd);
	x->dfd = -1;
}

static int tar_x_dir(struct tar_x *x, const char *path, size_t n, struct mr_err *err)
{
	struct stat st;
	size_t skip = 0;
	int fd, from = x->root;
	if (x->dfd >= 0 && n >= x->dlen && !memcmp(path, x->dpath, x->dlen) &&
	    (n == x->dlen || !x->dlen || path[x->dlen] == '/')) {
		if (n == x->dlen)
			return 0;
		from = x->dfd;
		skip = x->dlen ? x->dlen + 1 : 0;
	}
	fd = tar_walk(from, path, skip, n, 1, err);
	tar_x_leave(x);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st)) {
		close(fd);
		return mr_err_sys(err, "stat");
	}
	x->dtimes[0] = st.st_atim;
	x->dtimes[1] = st.st_mtim;
	x->dfd = fd;
	x->dlen = n;
	memcpy(x->dpath, path, n);
	return 0;
}

static int tar_x_meta(int dfd, const char *name, int fd, const struct tar_entry *e,
		      struct mr_err *err)
{
	struct timespec ts[2] = { e->mtime, e->mtime };
	unsigned i;
	if (tar_own(dfd, name, fd, e->uid, e->gid, e->type == TAR_SYMLINK ? S_IFLNK : e->mode, err))
		return -1;
	/* after chown, which drops security.capability */
	for (i = 0; i < e->nxattr; i++)
		if (tar_setxattr(dfd, name, fd, e->xattr[i].name, e->xattr[i].value,
				 e->xattr[i].len, err))
			return -1;
	return tar_times(dfd, name, fd, ts, err);
}

/* .wh..wh..opq marks the folder opaque, .wh.NAME becomes a 0/0 character
 * device NAME (overlayfs whiteouts); other .wh..wh.* are aufs bookkeeping. */
static int tar_x_whiteout(struct tar_x *x, const char *name, struct mr_err *err)
{
	if (!strcmp(name, ".wh..opq"))
		return fsetxattr(x->dfd, "trusted.overlay.opaque", "y", 1, 0) ?
			mr_err_sys(err, "mark folder opaque") : 0;
	if (util_starts_with(name, ".wh."))
		return 0;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return mr_err_set(err, MR_EUNSAFE, "bad whiteout name");
	return tar_create(x->dfd, name, S_IFCHR, -1, NULL, 0, NULL, err) < 0 ? -1 : 0;
}

static int tar_x_entry(struct tar_x *x, struct tar_reader *r, struct tar_entry *e,
		       struct mr_err *err)
{
	static const mode_t fmt[] = { S_IFREG, 0, S_IFLNK, S_IFCHR, S_IFBLK, S_IFDIR, S_IFIFO };
	char *base = strrchr(e->path, '/'), *tname = NULL;
	int fd = -1, tfd = -1, rc;
	ssize_t n;
	struct stat st;

	if (e->unsafe & TAR_UNSAFE_PATH)
		return mr_err_set(err, MR_EUNSAFE, "path is absolute or has \"..\"");
	if (e->unsafe)
		return mr_err_set(err, MR_EUNSAFE, "hardlink target %s leaves the layer", e->link);
	if (tar_x_dir(x, e->path, base ? (size_t)(base - e->path) : 0, err))
		return -1;
	base = base ? base + 1 : e->path;
	if (!*base) {
		/* The root: only a folder entry, which gives it owner, mode, times. */
		if (e->type != TAR_DIR)
			return mr_err_set(err, MR_EUNSAFE, "the layer's root can only be a folder");
		x->dtimes[0] = x->dtimes[1] = e->mtime;
		return tar_x_meta(-1, NULL, x->dfd, e, err);
	}
	if (util_starts_with(base, ".wh.") && !x->plain)
		return tar_x_whiteout(x, base + 4, err);
	if (x->plain && !fstatat(x->dfd, base, &st, AT_SYMLINK_NOFOLLOW) &&
	    !S_ISDIR(st.st_mode) != (e->type != TAR_DIR))
		return mr_err_set(err, EEXIST, "cannot overwrite a %sfolder with a %sfolder",
				  S_ISDIR(st.st_mode) ? "" : "non-", S_ISDIR(st.st_mode) ? "non-" : "");
	if (e->type == TAR_LINK) {
		/* Only to a non-folder of this layer, found without following. */
		tname = strrchr(e->link, '/');
		tfd = tar_walk(x->root, e->link, 0, tname ? (size_t)(tname - e->link) : 0, 0, err);
		tname = tname ? tname + 1 : e->link;
		if (tfd < 0 || fstatat(tfd, tname, &st, AT_SYMLINK_NOFOLLOW) || S_ISDIR(st.st_mode)) {
			if (tfd >= 0)
				close(tfd);
			return mr_err_set(err, MR_EUNSAFE, "hardlink target %s is not a file of this "
					  "layer", e->link);
		}
	}
	rc = tar_create(x->dfd, base, fmt[e->type - '0'] | 0600, tfd, tname ? tname : e->link,
			makedev(e->devmajor, e->devminor), &fd, err);
	if (tfd >= 0)
		close(tfd);
	if (rc < 0 || e->type == TAR_LINK)
		return rc < 0 ? -1 : 0;
	if (e->type == TAR_REG) {
		while ((n = stream_read(&r->data.s, x->buf, TAR_BUF, err)) > 0)
			if (util_write_all(fd, x->buf, (size_t)n)) {
				n = mr_err_sys(err, "write");
				break;
			}
		x->size += e->size;
		if (n < 0) {
			close(fd);
			return -1;
		}
	} else if (e->type == TAR_DIR) {
		fd = openat(x->dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return mr_err_sys(err, "open");
	}
	rc = tar_x_meta(x->dfd, base, fd, e, err);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Extract the layer tar `in` into the empty folder dirfd in overlay format;
 * *size gets the bytes of its regular files. `in` is read to its end, so
 * digests computed around it cover every byte. No fsync: the caller syncs
 * the filesystem once before renaming the layer into place. In this process
 * (tar_extract_layer may hand the extracting to a helper). */
static int tar_extract_here(struct stream *in, int dirfd, uint64_t *size, struct mr_err *err)
{
	struct tar_reader r;
	struct tar_entry *e = util_xmalloc(sizeof *e);
	struct tar_x *x = util_xmalloc(sizeof *x);
	int rc;
	x->root = dirfd;
	x->dfd = -1;
	x->size = 0;
	x->plain = 0;
	x->buf = util_xmalloc(TAR_BUF);
	tar_reader_init(&r, in);
	while ((rc = tar_next(&r, e, err)) > 0) {
		if (tar_x_entry(x, &r, e, err)) {
			rc = mr_err_ctx(err, "entry %s", e->path[0] ? e->path : ".");
			break;
		}
	}
	tar_x_leave(x);
	tar_reader_end(&r);
	if (rc == 0)
		rc = stream_skip(in, UINT64_MAX, err);
	*size = x->size;
	free(x->buf);
	free(x);
	free(e);
	return rc;
}

/* ---- Extracting on a second CPU ----
 * Reading and decompressing a layer (the `in` chain), hashing the tar (the
 * diff_id) and creating its files (syscalls) each take a good part of a load:
 * with two CPUs or more a forked helper extracts while this process keeps
 * reading, like `zstd -dc | tar -x`, and the diff_id is computed by whichever
 * side would otherwise wait. The tar bytes go through a ring of slots in
 * shared memory, not a pipe, so they are not copied through the kernel; a
 * SOCK_SEQPACKET pair carries one message per slot each way: "slot filled
 * with n bytes" (0: the end, -1: reading failed, stop), and back "slot free".
 * The digest is fed slot by slot in order, by one side at a time (a flag in
 * the shared page); a slot is given back only once hashed. The stream chain
 * (its other digests, a TLS connection...) stays in this process; the helper
 * only extracts and hashes, and reports through the shared page. It dies
 * with its parent (PR_SET_PDEATHSIG) and holds the flock of the temporary
 * folder while it lives, so a store cleaner never removes a folder that it
 * still writes into. */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#define TAR_RING_MAX 64
#define TAR_RING_HEAD 4096              /* the shared page, then the slots */
/* A ring of 1 MiB. zstd load of a 457 MiB image, medians of 5 (two sets):
 * 512 KiB 2.40 s, 1 MiB 2.35 / 2.18 s, 2 MiB 2.19 / 2.14 s, the pipeline
 * 2.31 / 2.21 s; 1 MiB keeps the peak RSS lower (zstd 10.0 MiB against 11.0,
 * gzip 1.6 against 2.6, the goal for gzip being 4). */
struct tar_ring_conf {
	int split;                      /* 0: always extract in this process */
	unsigned slots;                 /* tests make the ring small to stress it */
	size_t slot;
};
static const struct tar_ring_conf tar_ring_default = { 1, 8, 128u << 10 };

struct tar_ring_shared {
	struct mr_err err;              /* the helper's result */
	uint64_t size;
	int rc;                         /* 1 until the helper has finished */
	int hashing;                    /* digest is wanted */
	int busy;                       /* one side is updating digest */
	unsigned hashed;                /* slots fed into digest so far */
	unsigned nslots;                /* the ring: nslots of slot bytes */
	size_t slot;
	uint32_t len[TAR_RING_MAX];     /* bytes in each slot */
	struct digest_ctx digest;
};

static unsigned char *tar_ring_at(struct tar_ring_shared *sh, unsigned seq)
{
	return (unsigned char *)sh + TAR_RING_HEAD + (size_t)(seq % sh->nslots) * sh->slot;
}

/* Feed slots (in order) into the digest up to slot `upto` (excluded). With
 * wait, until done (the other side may hold the flag for a slot's time);
 * else at most one slot and only if the flag is free: 1 if one was hashed. */
static int tar_ring_hash(struct tar_ring_shared *sh, unsigned upto, int wait)
{
	unsigned h;
	while (sh->hashing && (h = __atomic_load_n(&sh->hashed, __ATOMIC_ACQUIRE)) < upto) {
		if (__atomic_exchange_n(&sh->busy, 1, __ATOMIC_ACQUIRE)) {
			if (!wait)
				return 0;
			sched_yield();
			continue;
		}
		for (h = sh->hashed; h < upto; h++) {
			digest_update(&sh->digest, tar_ring_at(sh, h), sh->len[h % sh->nslots]);
			__atomic_store_n(&sh->hashed, h + 1, __ATOMIC_RELEASE);
			if (!wait)
				break;
		}
		__atomic_store_n(&sh->busy, 0, __ATOMIC_RELEASE);
		if (!wait)
			return 1;
	}
	return 0;
}

/* The helper's view: a stream over the slots. */
struct tar_ring {
	struct stream s;
	int sock;
	struct tar_ring_shared *sh;
	unsigned seq;           /* slot being read */
	size_t pos, len;
	int held, end;          /* slot seq is held (to be hashed, given back); the end is reached */
};

static int tar_ring_send(int sock, int32_t msg)
{
	while (send(sock, &msg, sizeof msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* A message: 1, 0 when the other side has gone, -1 on error (EAGAIN with
 * MSG_DONTWAIT in flags). */
static int tar_ring_recv(int sock, int32_t *msg, int flags)
{
	ssize_t r;
	while ((r = recv(sock, msg, sizeof *msg, flags)) < 0)
		if (errno != EINTR)
			return -1;
	return r == (ssize_t)sizeof *msg ? 1 : 0;
}

static ssize_t tar_ring_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct tar_ring *g = (struct tar_ring *)s;
	int32_t msg;
	if (g->pos == g->len) {
		if (g->end)
			return 0;
		if (g->held) {
			tar_ring_hash(g->sh, g->seq + 1, 1);
			g->held = 0;
			g->seq++;
			/* Fails once the parent has sent the end and stopped
			 * listening: the messages sent before still arrive. */
			tar_ring_send(g->sock, 1);
		}
		if (tar_ring_recv(g->sock, &msg, 0) <= 0)
			return mr_err_set(err, EPIPE, "extraction ring: the reading process has gone");
		if (msg < 0 || (size_t)msg > g->sh->slot)
			return mr_err_set(err, ECANCELED, "extraction stopped: reading the layer failed");
		if (msg == 0) {
			g->end = 1;
			return 0;
		}
		g->held = 1;
		g->pos = 0;
		g->len = (size_t)msg;
	}
	if (n > g->len - g->pos)
		n = g->len - g->pos;
	memcpy(buf, tar_ring_at(g->sh, g->seq) + g->pos, n);
	g->pos += n;
	return (ssize_t)n;
}

/* The helper: extract from the ring, finish the digest, report, exit. */
static void tar_ring_helper(int sock, struct tar_ring_shared *sh, int dirfd, pid_t parent)
{
	struct tar_ring g;
	memset(&g, 0, sizeof g);
	g.s.read = tar_ring_read;
	g.sock = sock;
	g.sh = sh;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(1);
	if (tar_extract_here(&g.s, dirfd, &sh->size, &sh->err) == 0) {
		tar_ring_hash(sh, g.seq + (unsigned)g.held, 1);
		sh->rc = 0;
	} else {
		sh->rc = -1;
	}
	_exit(0);       /* not exit: the parent's stdio buffers are not ours to flush */
}

/* Feed the ring from `in` until its end, the helper's end, or an error;
 * hash slots ahead of the helper instead of waiting for a free one. 0 when
 * all of `in` went through; -1 when reading failed (err set), -2 when the
 * helper stopped first. */
static int tar_ring_feed(struct stream *in, int sock, struct tar_ring_shared *sh,
			 struct mr_err *err)
{
	unsigned seq = 0, avail = sh->nslots;
	int32_t msg;
	for (;;) {
		ssize_t n;
		while (!avail) {
			int r = tar_ring_recv(sock, &msg, MSG_DONTWAIT);
			if (r < 0 && errno == EAGAIN && tar_ring_hash(sh, seq, 0))
				continue;
			if (r < 0 && errno == EAGAIN)
				r = tar_ring_recv(sock, &msg, 0);
			if (r <= 0)
				return -2;
			avail++;
		}
		n = stream_read_full(in, tar_ring_at(sh, seq), sh->slot, err);
		if (n < 0) {
			tar_ring_send(sock, -1);
			return -1;
		}
		if (n > 0) {
			sh->len[seq % sh->nslots] = (uint32_t)n;
			if (tar_ring_send(sock, (int32_t)n) < 0)
				return -2;
			seq++;
			avail--;
		}
		if ((size_t)n < sh->slot)
			return tar_ring_send(sock, 0) < 0 ? -2 : 0;
	}
}

/* tar_extract_here with the extracting done by a helper process; 1 when the
 * helper cannot be started (nothing read yet: extract here). */
static int tar_extract_split(struct stream *in, int dirfd, struct digest_ctx *hash,
			     uint64_t *size, const struct tar_ring_conf *ring, struct mr_err *err)
{
	unsigned nslots = ring->slots < TAR_RING_MAX ? ring->slots : TAR_RING_MAX;
	size_t maplen = TAR_RING_HEAD + (size_t)nslots * ring->slot;
	struct tar_ring_shared *sh;
	int sv[2], fed, status = 0;
	pid_t pid, parent = getpid();
	sh = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		munmap(sh, maplen);
		return 1;
	}
	sh->rc = 1;
	sh->nslots = nslots;
	sh->slot = ring->slot;
	if (hash) {
		sh->hashing = 1;
		sh->digest = *hash;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		tar_ring_helper(sv[1], sh, dirfd, parent);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		munmap(sh, maplen);
		return 1;
	}
	fed = tar_ring_feed(in, sv[0], sh, err);
	/* Not close: closing with "slot free" messages unread would make the
	 * helper's next recv fail (ECONNRESET) before it has read the end. */
	shutdown(sv[0], SHUT_WR);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
	close(sv[0]);
	if (fed == -1) {
		/* reading failed: that error, whatever the helper made of the stop */
	} else if (sh->rc == 0 && fed == 0) {
		*size = sh->size;
		if (hash)
			*hash = sh->digest;
	} else if (sh->rc < 0) {
		*err = sh->err;
		fed = -1;
	} else {
		mr_err_set(err, ECHILD, "extraction helper %s %d", WIFSIGNALED(status) ?
			   "killed by signal" : "exited with", WIFSIGNALED(status) ?
			   WTERMSIG(status) : WEXITSTATUS(status));
		fed = -1;
	}
	munmap(sh, maplen);
	return fed < 0 ? -1 : 0;
}

/* Extract the layer tar `in` into the empty folder dirfd (see
 * tar_extract_here), feeding every byte of it into hash when not NULL; with
 * a helper process on a second CPU when there is one. */
static int tar_extract_layer_ring(struct stream *in, int dirfd, struct digest_ctx *hash,
				  uint64_t *size, const struct tar_ring_conf *ring, struct mr_err *err)
{
	struct stream_hash h;
	int rc;
	if (ring->split && util_ncpu() > 1 &&
	    (rc = tar_extract_split(in, dirfd, hash, size, ring, err)) <= 0)
		return rc;
	if (!hash)
		return tar_extract_here(in, dirfd, size, err);
	stream_hash_init(&h, in);
	h.ctx = *hash;
	rc = tar_extract_here(&h.s, dirfd, size, err);
	*hash = h.ctx;
	return rc;
}

static int tar_extract_layer_hashed(struct stream *in, int dirfd, struct digest_ctx *hash,
				    uint64_t *size, struct mr_err *err)
{
	return tar_extract_layer_ring(in, dirfd, hash, size, &tar_ring_default, err);
}

static int tar_extract_layer(struct stream *in, int dirfd, uint64_t *size, struct mr_err *err)
{
	return tar_extract_layer_hashed(in, dirfd, NULL, size, err);
}

#include <sys/statfs.h>

/* ---- Writing a tar (cp) ----
 * ustar headers, with a pax header first when a name or link target does not
 * fit in 100 bytes, and GNU base-256 for numbers too large for octal (GNU tar
 * and tar_next read both). The tree is read through folder fds, each entry
 * opened with O_NOFOLLOW and checked once open: a symlink is stored as a
 * symlink, never followed, whatever is swapped meanwhile. Sockets are
 * skipped; a file with several links inside the tree is stored once, its
 * other names as hard links to the first (as docker cp and GNU tar do). */
struct tar_w_seen {
	dev_t dev;
	ino_t ino;
	char *name;                     /* the first name it was written under */
};

struct tar_w {
	int out;
	char *buf;                      /* TAR_BUF bytes */
	char path[MINIRUN_MAX_PATH];    /* the entry being written */
	char link[MINIRUN_MAX_PATH];    /* its symlink target (here, not on a stack that
					 * grows with the depth of the tree) */
	struct tar_w_seen *seen;        /* files with several links written so far */
	size_t nseen;
};

/* Frees the writer and what it remembered. */
static void tar_w_free(struct tar_w *w)
{
	size_t i;
	for (i = 0; i < w->nseen; i++)
		free(w->seen[i].name);
	free(w->seen);
	free(w->buf);
	free(w);
}

/* A file with several links: the name it was first written under, or NULL
 * (then it is remembered under w->path). */
static const char *tar_w_hardlink(struct tar_w *w, const struct stat *st)
{
	size_t i;
	for (i = 0; i < w->nseen; i++)
		if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
			return w->seen[i].name;
	if (!(w->nseen & (w->nseen + 1)))     /* 0, 1, 3, 7...: grow to 1, 2, 4, 8... */
		w->seen = util_xrealloc(w->seen, (w->nseen + 1) * 2 * sizeof *w->seen);
	w->seen[w->nseen].dev = st->st_dev;
	w->seen[w->nseen].ino = st->st_ino;
	w->seen[w->nseen++].name = util_xstrdup(w->path);
	return NULL;
}

static void tar_w_num(unsigned char *f, size_t n, uint64_t v)
{
	size_t i;
	if (v >> (3 * (n - 1))) {
		for (i = n; i-- > 1; v >>= 8)
			f[i] = (unsigned char)v;
		f[0] = 0x80;
	} else {
		snprintf((char *)f, n, "%0*" PRIo64, (int)(n - 1), v);
	}
}

/* One header block, then the content when data is given (a pax header's). */
static int tar_w_block(struct tar_w *w, const char *name, int type, const struct stat *st,
		       uint64_t size, const char *link, const struct mr_buf *data, struct mr_err *err)
{
	unsigned char *h = (unsigned char *)w->buf;
	unsigned sum = 0, i;
	int dev = type == TAR_CHR || type == TAR_BLK;
	memset(h, 0, 1024);
	memcpy(h, name, strnlen(name, 100));
	tar_w_num(h + 100, 8, st->st_mode & 07777);
	tar_w_num(h + 108, 8, st->st_uid);
	tar_w_num(h + 116, 8, st->st_gid);
	tar_w_num(h + 124, 12, size);
	tar_w_num(h + 136, 12, st->st_mtim.tv_sec > 0 ? (uint64_t)st->st_mtim.tv_sec : 0);
	h[156] = (unsigned char)type;
	memcpy(h + 157, link, strnlen(link, 100));
	memcpy(h + 257, "ustar\0" "00", 8);
	tar_w_num(h + 329, 8, dev ? major(st->st_rdev) : 0);
	tar_w_num(h + 337, 8, dev ? minor(st->st_rdev) : 0);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	if (util_write_all(w->out, h, 512) ||
	    (data && (util_write_all(w->out, data->data, data->len) ||
		      util_write_all(w->out, h + 512, -data->len & 511))))
		return mr_err_sys(err, "write");
	return 0;
}

/* A pax record "<len> key=value\n", whose length counts its own digits. */
static void tar_w_pax(struct mr_buf *b, const char *key, const char *val, size_t vlen)
{
	size_t n = strlen(key) + vlen + 3, d = 1, p = 10;
	while (n + d >= p)
		d++, p *= 10;
	mr_buf_printf(b, "%zu %s=", n + d, key);
	mr_buf_append(b, val, vlen);
	mr_buf_append(b, "\n", 1);
}

/* The header of w->path; a file's security.capability (fd >= 0) goes into
 * the pax header, the one xattr docker cp keeps. */
static int tar_w_header(struct tar_w *w, int type, const struct stat *st, uint64_t size,
			const char *link, int fd, struct mr_err *err)
{
	char name[MINIRUN_MAX_PATH + 2], cap[256];
	size_t n = (size_t)snprintf(name, sizeof name, "%s%s", w->path[0] ? w->path : ".",
				    type == TAR_DIR ? "/" : "");
	ssize_t cn = type == TAR_REG ? fgetxattr(fd, "security.capability", cap, sizeof cap) : -1;
	if (n > 100 || strlen(link) > 100 || cn > 0) {
		struct mr_buf b = { 0 };
		int rc;
		if (n > 100)
			tar_w_pax(&b, "path", name, n);
		if (strlen(link) > 100)
			tar_w_pax(&b, "linkpath", link, strlen(link));
		if (cn > 0)
			tar_w_pax(&b, "SCHILY.xattr.security.capability", cap, (size_t)cn);
		rc = tar_w_block(w, "././@PaxHeader", 'x', st, b.len, "", &b, err);
		mr_buf_free(&b);
		if (rc)
			return -1;
	}
	return tar_w_block(w, name, type, st, size, link, NULL, err);
}

/* The object `name` in the folder dfd ("." for dfd itself), as w->path. */
static int tar_w_tree(struct tar_w *w, int dfd, const char *name, struct mr_err *err)
{
	struct stat st;
	char *link = w->link;
	int fd = -1, rc = -1, type;
	link[0] = 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return mr_err_sys(err, "%s", w->path);
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
			mr_err_set(err, fd < 0 ? errno : EAGAIN, "%s: %s", w->path,
				   fd < 0 ? strerror(errno) : "changed while read");
			goto out;
		}
	} else if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dfd, name, link, sizeof w->link - 1);
		if (n < 0) {
			mr_err_sys(err, "%s", w->path);
			goto out;
		}
		link[n] = 0;
	} else if (S_ISSOCK(st.st_mode)) {
		return 0;
	}
	type = S_ISREG(st.st_mode) ? TAR_REG : S_ISDIR(st.st_mode) ? TAR_DIR :
	       S_ISLNK(st.st_mode) ? TAR_SYMLINK : S_ISCHR(st.st_mode) ? TAR_CHR :
	       S_ISBLK(st.st_mode) ? TAR_BLK : TAR_FIFO;
	if (type == TAR_REG && st.st_nlink > 1) {
		const char *first = tar_w_hardlink(w, &st);
		if (first) {
			rc = tar_w_header(w, TAR_LINK, &st, 0, first, -1, err);
			goto out;
		}
	}
	if (tar_w_header(w, type, &st, type == TAR_REG ? (uint64_t)st.st_size : 0, link, fd, err))
		goto out;
	if (type == TAR_REG) {
		uint64_t left = (uint64_t)st.st_size;
		while (left) {
			size_t want = left < TAR_BUF ? (size_t)left : TAR_BUF;
			ssize_t r = util_read_full(fd, w->buf, want);
			if (r < 0) {
				mr_err_sys(err, "read %s", w->path);
				goto out;
			}
			/* a file that shrank while read: zeros, as GNU tar does */
			memset(w->buf + r, 0, want - (size_t)r);
			if (util_write_all(w->out, w->buf, want)) {
				mr_err_sys(err, "write");
				goto out;
			}
			left -= want;
		}
		memset(w->buf, 0, 512);
		if (util_write_all(w->out, w->buf, -(uint64_t)st.st_size & 511)) {
			mr_err_sys(err, "write");
			goto out;
		}
	} else if (type == TAR_DIR) {
		size_t plen = strlen(w->path);
		int dup;
		DIR *d;
		struct dirent *de;
		struct statfs sf;
		/* what the kernel shows in a running container's /proc and /sys is
		 * no file to copy (Docker's view has them unmounted): the folder only */
		rc = 0;
		if (!fstatfs(fd, &sf) && (sf.f_type == 0x9fa0 || sf.f_type == 0x62656572))
			goto out;
		dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		d = dup >= 0 ? fdopendir(dup) : NULL;
		if (!d) {
			if (dup >= 0)
				close(dup);
			rc = mr_err_sys(err, "read %s", w->path);
			goto out;
		}
		while (!rc && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (plen + strlen(de->d_name) + 2 > sizeof w->path) {
				rc = mr_err_set(err, ENAMETOOLONG, "%s/%s: path too long", w->path,
						de->d_name);
				break;
			}
			snprintf(w->path + plen, sizeof w->path - plen, "%s%s", plen ? "/" : "",
				 de->d_name);
			rc = tar_w_tree(w, fd, de->d_name, err);
			w->path[plen] = 0;
		}
		closedir(d);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- Flattening layer folders onto a root ---- */
#define TAR_APPLY_LINK 1        /* hardlink files from the layer instead of copying them:
				 * only for read-only results (they share the store's inodes) */

struct tar_ino {
	dev_t dev;              /* (an overlay mount shows files of several filesystems) */
	ino_t ino;
	size_t off;             /* 1 + offset of the first copy's path in names */
};

struct tar_apply {
	int flags;
	int troot;
	dev_t dev;              /* the layer's filesystem: never left */
	char *buf;              /* 2 * TAR_BUF: xattr names and values, symlink targets */
	struct tar_ino *ino;    /* files with several links already copied */
	size_t nino, cap;
	struct mr_buf names;
	char path[MINIRUN_MAX_PATH];
};

/* The slot of an inode (open addressing; grows at half full). */
static struct tar_ino *tar_ino_slot(struct tar_apply *a, dev_t dev, ino_t ino)
{
	size_t i;
	if ((a->nino + 1) * 2 > a->cap) {
		struct tar_ino *old = a->ino;
		size_t j, n = a->cap;
		a->cap = n ? 2 * n : 64;
		a->ino = util_xcalloc(a->cap, sizeof *a->ino);
		for (j = 0; j < n; j++)
			if (old[j].off)
				*tar_ino_slot(a, old[j].dev, old[j].ino) = old[j];
		free(old);
	}
	for (i = (size_t)(ino ^ dev) & (a->cap - 1);
	     a->ino[i].off && (a->ino[i].ino != ino || a->ino[i].dev != dev);
	     i = (i + 1) & (a->cap - 1)) {}
	return &a->ino[i];
}

static int tar_opaque(int fd)
{
	char v;
	return fgetxattr(fd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
}

/* Owner, mode, xattrs (but overlay's) and times of the layer's object
 * (sfd, or name in lfd) onto the target's (dfd, or name in tfd). */
static int tar_apply_meta(struct tar_apply *a, int lfd, const char *name, int sfd, int tfd,
			  int dfd, const struct stat *st, struct mr_err *err)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	char *k, *v = a->buf + TAR_BUF;
	ssize_t n, vn;
	if (tar_own(tfd, name, dfd, st->st_uid, st->st_gid, st->st_mode, err))
		return -1;
	n = sfd >= 0 ? flistxattr(sfd, a->buf, TAR_BUF) : tar_xattr_at(lfd, name, 0, NULL, a->buf,
								       TAR_BUF);
	if (n < 0 && errno != ENOTSUP)
		return mr_err_sys(err, "list xattrs");
	for (k = a->buf; n > 0 && k < a->buf + n; k += strlen(k) + 1) {
		vn = sfd >= 0 ? fgetxattr(sfd, k, v, TAR_BUF) : tar_xattr_at(lfd, name, 0, k, v, TAR_BUF);
		if (vn < 0)
			return mr_err_sys(err, "get xattr %s", k);
		if (tar_setxattr(tfd, name, dfd, k, v, (size_t)vn, err))
			return -1;
	}
	return tar_times(tfd, name, dfd, ts, err);
}

static int tar_apply_dir(struct tar_apply *a, int lfd, int tfd, size_t plen, struct mr_err *err);

/* A regular file: a link to its first copy, to the layer's file, or a copy. */
static int tar_apply_file(struct tar_apply *a, int lfd, int tfd, const char *name,
			  const struct stat *st, struct mr_err *err)
{
	struct tar_ino *slot = st->st_nlink > 1 ? tar_ino_slot(a, st->st_dev, st->st_ino) : NULL;
	int sfd, dfd = -1, rc;
	if (slot && slot->off) {
		const char *first = a->names.data + slot->off - 1, *b = strrchr(first, '/');
		int pfd = tar_walk(a->troot, first, 0, b ? (size_t)(b - first) : 0, 0, err);
		if (pfd < 0)
			return -1;
		rc = tar_create(tfd, name, 0, pfd, b ? b + 1 : first, 0, NULL, err);
		close(pfd);
		return rc;
	}
	if ((a->flags & TAR_APPLY_LINK) && !tar_create(tfd, name, 0, lfd, name, 0, NULL, err))
		return 0;
	if ((a->flags & TAR_APPLY_LINK) && errno != EXDEV && errno != EPERM && errno != EMLINK)
		return -1;
	sfd = openat(lfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return mr_err_sys(err, "open");
	rc = tar_create(tfd, name, S_IFREG | 0600, -1, NULL, 0, &dfd, err);
	while (!rc) {
		ssize_t n = util_read_full(sfd, a->buf, TAR_BUF);
		if (n <= 0 || util_write_all(dfd, a->buf, (size_t)n))
			rc = n ? mr_err_sys(err, "copy") : 1;
	}
	rc = rc > 0 ? 0 : rc;
	if (!rc)
		rc = tar_apply_meta(a, lfd, name, sfd, tfd, dfd, st, err);
	if (!rc && slot) {
		slot->dev = st->st_dev;
		slot->ino = st->st_ino;
		slot->off = a->names.len + 1;
		a->nino++;
		mr_buf_append(&a->names, a->path, strlen(a->path) + 1);
	}
	close(sfd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* One object of the layer (a->path names it) onto the target. */
static int tar_apply_one(struct tar_apply *a, int lfd, int tfd, const char *name,
			 struct mr_err *err)
{
	struct stat st;
	int sfd = -1, dfd = -1, rc = -1;
	ssize_t n;
	if (fstatat(lfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		mr_err_sys(err, "stat");
	} else if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
		rc = mr_remove_tree(tfd, name, err);            /* whiteout */
	} else if (S_ISREG(st.st_mode)) {
		rc = tar_apply_file(a, lfd, tfd, name, &st, err);
	} else if (S_ISLNK(st.st_mode)) {
		n = readlinkat(lfd, name, a->buf, MINIRUN_MAX_PATH);
		if (n < 0 || n >= MINIRUN_MAX_PATH) {
			mr_err_sys(err, "readlink");
		} else {
			a->buf[n] = 0;
			rc = tar_create(tfd, name, S_IFLNK, -1, a->buf, 0, NULL, err);
			if (!rc)
				rc = tar_apply_meta(a, lfd, name, -1, tfd, -1, &st, err);
		}
	} else if (!S_ISDIR(st.st_mode)) {
		if (S_ISSOCK(st.st_mode))
			return 0;
		rc = tar_create(tfd, name, (st.st_mode & S_IFMT) | 0600, -1, NULL, st.st_rdev, NULL, err);
		if (!rc)
			rc = tar_apply_meta(a, lfd, name, -1, tfd, -1, &st, err);
	} else if (st.st_dev != a->dev) {
		mr_err_set(err, EXDEV, "a mount point inside the layer");
	} else if ((sfd = openat(lfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		mr_err_sys(err, "open");
	} else if ((rc = tar_create(tfd, name, S_IFDIR | 0700, -1, NULL, 0, NULL, err)) >= 0) {
		/* A folder: overlay shows the merge of the layers' folders unless
		 * this one is opaque; its owner, mode and times are this layer's. */
		struct fs_mount_key key;
		dfd = openat(tfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			rc = mr_err_sys(err, "open");
		else if (rc == 1 && tar_opaque(sfd) &&
			 (fs_mount_key(dfd, &key) || fs_empty_dir(dfd, &key, a->path, err)))
			rc = -1;
		else if ((rc = tar_apply_dir(a, sfd, dfd, strlen(a->path), err)) == 0)
			rc = tar_apply_meta(a, lfd, name, sfd, tfd, dfd, &st, err);
		else
			rc = -2;        /* named deeper down */
	}
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	if (rc == -1)
		mr_err_ctx(err, "entry %s", a->path);
	return rc < 0 ? -2 : 0;
}

static int tar_apply_dir(struct tar_apply *a, int lfd, int tfd, size_t plen, struct mr_err *err)
{
	struct dirent *de;
	int rc = 0, fd = fcntl(lfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		mr_err_sys(err, "entry %s: read folder", plen ? a->path : ".");
		return -2;
	}
	rewinddir(d);   /* the offset is shared with lfd, which may have been read */
	while (!rc && (de = readdir(d))) {
		size_t n = strlen(de->d_name), at = plen ? plen + 1 : 0;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (at + n >= MINIRUN_MAX_PATH) {
			rc = mr_err_set(err, ENAMETOOLONG, "entry %s/%s: path too long", a->path,
					de->d_name);
			break;
		}
		if (plen)
			a->path[plen] = '/';
		memcpy(a->path + at, de->d_name, n + 1);
		rc = tar_apply_one(a, lfd, tfd, de->d_name, err);
		a->path[plen] = 0;
	}
	closedir(d);
	return rc;
}

/* Apply the overlay-format layer folder layerfd onto the folder targetfd the
 * way overlayfs would show it above what is there: whiteouts remove (never
 * following symlinks, never crossing a mount), opaque folders hide what was
 * below, an object of another type replaces what was there; files are copied
 * (hardlinks inside the layer kept) or, with TAR_APPLY_LINK, hardlinked. */
static int tar_apply_layer_dir(int layerfd, int targetfd, int flags, struct mr_err *err)
{
	struct tar_apply *a;
	struct fs_mount_key key;
	struct stat st;
	int rc = -1, fd;
	if (fstat(layerfd, &st))
		return mr_err_sys(err, "layer folder");
	if (tar_opaque(layerfd)) {
		/* a fresh fd: fs_empty_dir reads from the fd's current offset */
		fd = openat(targetfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = fd < 0 || fs_mount_key(fd, &key) ? mr_err_sys(err, "open target") :
			fs_empty_dir(fd, &key, ".", err);
		if (fd >= 0)
			close(fd);
		if (rc)
			return mr_err_ctx(err, "entry .");
	}
	a = util_xcalloc(1, sizeof *a);
	a->flags = flags;
	a->troot = targetfd;
	a->dev = st.st_dev;
	a->buf = util_xmalloc(2 * TAR_BUF);
	rc = tar_apply_dir(a, layerfd, targetfd, 0, err) ? -1 :
		tar_apply_meta(a, layerfd, NULL, layerfd, -1, targetfd, &st, err) ?
		mr_err_ctx(err, "entry .") : 0;
	free(a->ino);
	mr_buf_free(&a->names);
	free(a->buf);
	free(a);
	return rc;
}
/* ======================== END src/07_tar.c ======================== */

/* ======================== BEGIN src/08_store.c ======================== */
#line 1 "src/08_store.c"
/* ==== [08] STORE: store layout, lock, temporaries, metadata files ====
 * root/lock            flock()ed while metadata changes (short critical sections)
 * root/tmp/mr-NAME     work folders; each is flock()ed by the process using it,
 *                      so a folder whose lock can be taken belongs to a dead
 *                      process and is removed at the next start. Only names
 *                      minirun makes are ever removed there (STORE_TMP_PREFIX,
 *                      and the fixed patterns of older versions).
 * root/layers/HEX/     one extracted layer (overlay format), HEX = diff_id hex
 * root/marks/HEX      the layer's completion mark, written (and fsynced) after
 *                      the layer is in place and before any record names it;
 *                      a store without marks/ predates them (image_layer_ok)
 * root/gc.intent       a collection was started: the next command finishes it
 * root/blobs/sha256/HEX  manifests, indexes and configs as received
 * root/images.json     image records and tags, rewritten atomically
 * root/containers/ID/  container config, upper/, work/, rootfs/, log
 * root/volumes/NAME/   volume metadata, data in _data/
 * rundir/ID/           runtime state, lost on reboot as it should be */

static const char *const store_dirs[] = {
	"tmp", "layers", "blobs", "blobs/sha256", "containers", "volumes",
};

/* ".tmp.PID.NAME" is what mr_write_atomic writes before its rename: left
 * behind only when PID was killed, or the power was cut. Some writers (a
 * monitor saving a container's state) do not hold the store lock, so the
 * file of a live PID is left alone, unless it was written before this boot
 * (after a reboot its PID may be someone else's). */
static int store_dead_temp(int dfd, const char *name)
{
	struct timespec now, up;
	struct stat sb;
	long pid;
	char *end;
	if (!util_starts_with(name, ".tmp."))
		return 0;
	pid = strtol(name + 5, &end, 10);
	if (end == name + 5 || *end != '.' || pid <= 0)
		return 1;   /* not ours by its name, yet in our folders: a temporary */
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 1;
	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_BOOTTIME, &up);
	return fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	       sb.st_mtime < now.tv_sec - up.tv_sec - 1;
}

static void store_clean_dead_temps(int dfd, int all)
{
	DIR *d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3));
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d)) != NULL)
		if (all ? util_starts_with(de->d_name, ".tmp.") : store_dead_temp(dfd, de->d_name))
			unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

/* The same in a folder of the store, and in every container's folder. */
static void store_clean_dead_temps_in(struct mr_store *st, const char *dir, int per_entry)
{
	DIR *d;
	struct dirent *de;
	int fd = openat(st->rootfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	store_clean_dead_temps(fd, 0);
	if (per_entry && (d = fdopendir(fcntl(fd, F_DUPFD_CLOEXEC, 3))) != NULL) {
		while ((de = readdir(d)) != NULL) {
			int sub;
			if (de->d_name[0] == '.')
				continue;
			sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				store_clean_dead_temps(sub, 0);
				close(sub);
			}
		}
		closedir(d);
	}
	close(fd);
}


#define STORE_TMP_PREFIX "mr-"

/* Did minirun make this tmp/ entry? Its own prefix, or a name of an older
 * version: PREFIX-<12 hex> (layer, volume, rm-volume, probe, ctr) or
 * rm-<64 hex> (a container being removed). Anything else is left alone. */
static int store_tmp_ours(const char *name)
{
	static const char *const old[] = { "layer-", "volume-", "rm-volume-", "probe-", "ctr-",
					   "rm-" };
	size_t i, n;
	if (util_starts_with(name, STORE_TMP_PREFIX))
		return 1;
	for (i = 0; i < sizeof old / sizeof old[0]; i++) {
		if (!util_starts_with(name, old[i]))
			continue;
		n = strlen(name + strlen(old[i]));
		if ((n == 12 || (i == 5 && n == 64)) &&
		    strspn(name + strlen(old[i]), "0123456789abcdef") == n)
			return 1;
	}
	return 0;
}

/* Say once that tmp/ holds something minirun did not make (it stays): the
 * names already reported are kept in tmp/.mr-reported. */
static void store_report_foreign(int tmpfd, const char *root, const char *name)
{
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	const char *p;
	size_t n = strlen(name);
	int fd;
	if (mr_read_file(tmpfd, ".mr-reported", &b, 65536, &ignored) == 0)
		for (p = b.data; p && p < b.data + b.len; p = memchr(p, '\n', b.data + b.len - p),
		     p = p ? p + 1 : NULL)
			if ((size_t)(b.data + b.len - p) > n && !memcmp(p, name, n) && p[n] == '\n') {
				mr_buf_free(&b);
				return;
			}
	mr_buf_free(&b);
	fprintf(stderr, "WARNING: store %s: tmp/%s was not made by minirun: left alone\n", root,
		name);
	fd = openat(tmpfd, ".mr-reported", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd >= 0) {
		/* write, not dprintf: musl's dprintf links a second stdio path */
		if (util_write_all(fd, name, n) == 0)
			util_write_all(fd, "\n", 1);
		close(fd);
	}
}

/* Remove tmp/ entries of minirun's whose owner died, and ".tmp.PID.*" files
 * that an atomic write left when its writer was killed. */
static void store_clean_temps(struct mr_store *st)
{
	struct mr_err ignored;
	DIR *d;
	struct dirent *de;
	int tmpfd = openat(st->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd >= 0 && (d = fdopendir(tmpfd)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			int fd;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
			    !strcmp(de->d_name, ".mr-reported"))
				continue;
			if (!store_tmp_ours(de->d_name)) {
				store_report_foreign(tmpfd, st->root, de->d_name);
				continue;
			}
			fd = openat(tmpfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
				mr_remove_tree(tmpfd, de->d_name, &ignored);
			if (fd >= 0)
				close(fd);
		}
		closedir(d);
	} else if (tmpfd >= 0) {
		close(tmpfd);
	}
	/* the root's writers (images.json, gc.intent) hold the lock, as we do */
	store_clean_dead_temps(st->rootfd, 1);
	store_clean_dead_temps_in(st, "networks", 0);
	store_clean_dead_temps_in(st, "blobs/sha256", 0);
	store_clean_dead_temps_in(st, "marks", 0);
	store_clean_dead_temps_in(st, "volumes", 1);
	store_clean_dead_temps_in(st, "containers", 1);
}

/* A store whose layers/ holds nothing yet gets marks/, which says that every
 * layer in it carries a completion mark; stores made before marks existed
 * keep working without (their layers were published the old way). */
static void store_stamp_marks(struct mr_store *st)
{
	struct mr_err ignored;
	struct dirent *de;
	int empty = 1, fd;
	DIR *d;
	if (util_exists_at(st->rootfd, "marks", AT_SYMLINK_NOFOLLOW))
		return;
	fd = openat(st->rootfd, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (empty && (de = readdir(d)) != NULL)
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	if (empty && mkdirat(st->rootfd, "marks", 0700) == 0)
		mr_fsync_dir(st->rootfd, &ignored);
}

static int store_mkdir_p(const char *path, struct mr_err *err)
{
	char buf[MINIRUN_MAX_PATH];
	char *p;
	if (util_strlcpy(buf, path, sizeof buf) < 0)
		return mr_err_set(err, ENAMETOOLONG, "store %s: path too long", path);
	for (p = buf + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, 0711) < 0 && errno != EEXIST)
				return mr_err_sys(err, "store %s: cannot create %s", path, buf);
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* A folder that holds things and is not a store (no lock file) is refused:
 * the store deletes what it finds in its tmp/ and .tmp.* files, so `--root
 * /var` must not turn /var into one. An empty or new folder becomes a store.
 * The lock file is the first thing a new store gets (mr_store_open), so a
 * store whose creation was killed half way is still taken for one. */
static int store_check_foreign(int rootfd, const char *root, struct mr_err *err)
{
	struct stat a;
	struct dirent *de;
	char first[NAME_MAX + 1] = "";
	DIR *d;
	if (fstatat(rootfd, "lock", &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(a.st_mode))
		return 0;
	d = fdopendir(fcntl(rootfd, F_DUPFD_CLOEXEC, 3));
	if (!d)
		return mr_err_sys(err, "store %s", root);
	while ((de = readdir(d)) != NULL && !first[0])
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			snprintf(first, sizeof first, "%s", de->d_name);
	closedir(d);
	if (!first[0])
		return 0;
	return mr_err_set(err, ENOTEMPTY, "store %s: not a minirun store and not empty (it holds "
			  "%s); give --root (or MINIRUN_ROOT) an empty or new folder, or an existing "
			  "store", root, first);
}

/* see minirun.h */
int mr_store_open(struct mr_store *st, const char *root, const char *rundir, struct mr_err *err)
{
	size_t i;
	memset(st, 0, sizeof *st);
	st->rootfd = st->lockfd = -1;
	if (root[0] != '/')
		return mr_err_set(err, EINVAL, "store %s: must be an absolute path", root);
	if (util_strlcpy(st->root, root, sizeof st->root) < 0 ||
	    util_strlcpy(st->rundir, rundir, sizeof st->rundir) < 0)
		return mr_err_set(err, ENAMETOOLONG, "store %s: path too long", root);
	if (store_mkdir_p(root, err) < 0)
		return -1;
	st->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->rootfd < 0)
		return mr_err_sys(err, "store %s", root);
	if (store_check_foreign(st->rootfd, root, err) < 0)
		goto fail;
	st->lockfd = openat(st->rootfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (st->lockfd < 0) {
		mr_err_sys(err, "store %s: lock file", root);
		goto fail;
	}
	for (i = 0; i < sizeof store_dirs / sizeof store_dirs[0]; i++)
		if (mkdirat(st->rootfd, store_dirs[i], 0700) < 0 && errno != EEXIST) {
			mr_err_sys(err, "store %s: cannot create %s", root, store_dirs[i]);
			goto fail;
		}
	if (mr_store_lock(st, err) < 0)
		goto fail;
	store_clean_temps(st);
	store_stamp_marks(st);
	mr_store_unlock(st);
	return 0;
fail:
	mr_store_close(st);
	return -1;
}

/* see minirun.h */
void mr_store_close(struct mr_store *st)
{
	if (st->lockfd >= 0)
		close(st->lockfd);
	if (st->rootfd >= 0)
		close(st->rootfd);
	st->lockfd = st->rootfd = -1;
	st->locked = 0;
}

/* see minirun.h */
int mr_store_lock(struct mr_store *st, struct mr_err *err)
{
	if (st->locked++)
		return 0;
	while (flock(st->lockfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			st->locked = 0;
			return mr_err_sys(err, "store %s: lock", st->root);
		}
	}
	return 0;
}

/* see minirun.h */
void mr_store_unlock(struct mr_store *st)
{
	if (st->locked && --st->locked == 0)
		flock(st->lockfd, LOCK_UN);
}

/* see minirun.h */
int mr_store_mktemp(struct mr_store *st, const char *prefix, char *name_out, size_t size,
		    struct mr_err *err)
{
	unsigned char rnd[6];
	char hex[13], name[NAME_MAX + 1];
	int tmpfd, fd;
	if (util_random(rnd, sizeof rnd) < 0)
		return mr_err_sys(err, "random");
	util_hex(rnd, sizeof rnd, hex);
	snprintf(name, sizeof name, STORE_TMP_PREFIX "%.64s-%s", prefix, hex);
	if (snprintf(name_out, size, "tmp/%s", name) >= (int)size)
		return mr_err_set(err, ENAMETOOLONG, "temporary name too long");
	/* Under the store lock, so the cleaner never sees the folder unlocked. */
	if (mr_store_lock(st, err) < 0)
		return -1;
	fd = -1;
	tmpfd = openat(st->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd < 0 || mkdirat(tmpfd, name, 0700) < 0 ||
	    (fd = openat(tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    flock(fd, LOCK_EX | LOCK_NB) < 0) {
		mr_err_sys(err, "store %s/tmp/%s", st->root, name);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (tmpfd >= 0)
		close(tmpfd);
	mr_store_unlock(st);
	return fd;
}
/* ======================== END src/08_store.c ======================== */

/* ======================== BEGIN src/09_image.c ======================== */
#line 1 "src/09_image.c"
/* ==== [09] IMAGE: references, manifests, platforms, load, images, rmi, unpack ==== */

/* The platform this binary was built for, in OCI terms (GOARCH names). */
static const char *image_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__mips__) && defined(__MIPSEL__)
	return "mipsle";
#elif defined(__mips__)
	return "mips";
#elif defined(__i386__)
	return "386";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
	return "ppc64le";
#else
	return "unknown";
#endif
}

static const char *image_host_variant(void)
{
#if defined(__aarch64__)
	return "v8";
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7
	return "v7";
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH == 6
	return "v6";
#elif defined(__arm__)
	return "v5";
#else
	return "";
#endif
}

/* "amd64" or "arm/v7" as `version` prints it; returns out. */
static const char *image_host_platform(char *out, size_t size)
{
	const char *v = image_host_variant();
	snprintf(out, size, "%s%s%s", image_host_arch(),
		 *v && strcmp(image_host_arch(), "arm64") ? "/" : "",
		 strcmp(image_host_arch(), "arm64") ? v : "");
	return out;
}

/* ---- Platforms ----
 * An index lists one manifest per platform; the host's is chosen like Docker
 * does: same os and architecture, and for arm the best variant not newer than
 * the host's (v8 -> v7 -> v6 -> v5). */

struct image_platform {
	char os[16], arch[16], variant[8];
};

static void image_platform_host(struct image_platform *p)
{
	snprintf(p->os, sizeof p->os, "linux");
	snprintf(p->arch, sizeof p->arch, "%s", image_host_arch());
	snprintf(p->variant, sizeof p->variant, "%s", image_host_variant());
}

/* "linux/arm/v7", "linux/amd64", "arm64" (os defaults to linux). */
static int image_platform_parse(const char *s, struct image_platform *p, struct mr_err *err)
{
	char buf[64], *parts[3] = { 0 };
	int n = 0;
	char *tok, *save = NULL;
	if (util_strlcpy(buf, s, sizeof buf) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid platform %s", s);
	for (tok = strtok_r(buf, "/", &save); tok && n < 3; tok = strtok_r(NULL, "/", &save))
		parts[n++] = tok;
	if (!n || tok)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid platform %s: expected os/arch[/variant]", s);
	memset(p, 0, sizeof *p);
	if (n == 1) {
		snprintf(p->os, sizeof p->os, "linux");
		snprintf(p->arch, sizeof p->arch, "%s", parts[0]);
	} else {
		snprintf(p->os, sizeof p->os, "%s", parts[0]);
		snprintf(p->arch, sizeof p->arch, "%s", parts[1]);
		if (n == 3)
			snprintf(p->variant, sizeof p->variant, "%s", parts[2]);
	}
	if (!strcmp(p->arch, "x86_64") || !strcmp(p->arch, "x86-64"))
		snprintf(p->arch, sizeof p->arch, "amd64");
	if (!strcmp(p->arch, "aarch64"))
		snprintf(p->arch, sizeof p->arch, "arm64");
	if (!strcmp(p->arch, "armhf"))
		snprintf(p->arch, sizeof p->arch, "arm");
	return 0;
}

/* How well a descriptor's platform suits `want`: 0 = not at all, higher is
 * better (an exact variant beats an older one). */
static int image_platform_score(const struct mr_json *plat, const struct image_platform *want)
{
	const char *os = mr_json_str(mr_json_get(plat, "os"));
	const char *arch = mr_json_str(mr_json_get(plat, "architecture"));
	const char *variant = mr_json_str(mr_json_get(plat, "variant"));
	int want_v, have_v;
	if (!os || !arch || strcmp(os, want->os) || strcmp(arch, want->arch))
		return 0;
	if (!variant || !*variant)
		return 1;
	if (!*want->variant)
		return strcmp(want->arch, "arm") ? 2 : 1;
	if (!strcmp(variant, want->variant))
		return 10;
	/* arm variants: v5 < v6 < v7 < v8; take the newest one not newer. */
	if (variant[0] != 'v' || want->variant[0] != 'v')
		return 0;
	have_v = atoi(variant + 1);
	want_v = atoi(want->variant + 1);
	return have_v < want_v ? 2 + have_v : 0;
}

/* ---- References ----
 * Names are kept the way Docker shows them: "busybox:latest" for
 * docker.io/library/busybox, "user/app:1" for docker.io/user/app,
 * "host:5000/app:1" otherwise. */

/* One path component of Docker's grammar: [a-z0-9]+ joined by ".", "_",
 * "__" or a run of "-" (upper case allowed here: the caller says "must be
 * lowercase" about it). */
static int image_ref_component(const char *p, size_t n)
{
	size_t i = 0, run;
	while (i < n) {
		if (!isalnum((unsigned char)p[i]))
			return 0;
		while (i < n && isalnum((unsigned char)p[i]))
			i++;
		if (i == n)
			return 1;
		run = strspn(p + i, p[i] == '-' ? "-" : p[i] == '_' ? "_" : ".");
		if (i + run > n)
			run = n - i;
		if (!strchr("._-", p[i]) || (p[i] == '.' && run > 1) || (p[i] == '_' && run > 2))
			return 0;
		i += run;
		if (i == n)
			return 0;                  /* a separator ends the component */
	}
	return 0;
}

/* Docker's reference grammar (distribution/reference):
 *   [host[:port]/]path-component[/path-component...][:tag][@sha256:hex]
 * host: components of [A-Za-z0-9-] (not starting or ending with '-') joined
 * by '.', or [IPv6]; the first part is a host when it has '.' or ':', is
 * "localhost", or has upper case (as docker decides); tag
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a name of at most 255 bytes. Every
 * reference that enters (tag, pull, load, run, boot files) is checked here
 * first: "../../x" or "x:../../y" never become names. */
static int image_ref_check(const char *in, struct mr_err *err)
{
	const char *at = strchr(in, '@'), *end = at ? at : in + strlen(in), *p, *slash, *colon = NULL;
	const char *remote = in, *c;
	size_t n;
	int upper = 0;
	if (at && mr_digest_valid(at + 1) < 0)
		goto bad;
	for (p = in; p < end; p++)
		if (*p == '/')
			colon = NULL;
		else if (*p == ':')
			colon = p;
	if (colon) {
		n = (size_t)(end - colon - 1);
		if (!n || n > 128 || !(isalnum((unsigned char)colon[1]) || colon[1] == '_'))
			goto bad;
		for (p = colon + 1; p < end; p++)
			if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
				goto bad;
		end = colon;
	}
	if (end == in || end - in > 255)
		goto bad;
	slash = memchr(in, '/', (size_t)(end - in));
	if (slash) {
		for (p = in; p < slash && !(isupper((unsigned char)*p) || strchr(".:", *p)); p++) {}
		if (p < slash || (slash - in == 9 && !memcmp(in, "localhost", 9))) {
			/* the registry host[:port] */
			const char *hend = memchr(in, ':', (size_t)(slash - in)) ?
					   memchr(in, ':', (size_t)(slash - in)) : slash;
			if (in[0] == '[') {
				const char *rb = memchr(in, ']', (size_t)(slash - in));
				if (!rb || rb == in + 1 || strspn(in + 1, "0123456789abcdefABCDEF:.") <
				    (size_t)(rb - in - 1))
					goto bad;
				hend = rb + 1;
				if (hend < slash && *hend != ':')
					goto bad;
			} else {
				for (p = in; p < hend; p = c + 1) {
					c = memchr(p, '.', (size_t)(hend - p)) ? memchr(p, '.', (size_t)(hend - p)) : hend;
					if (c == p || p[0] == '-' || c[-1] == '-')
						goto bad;
					for (; p < c; p++)
						if (!isalnum((unsigned char)*p) && *p != '-')
							goto bad;
					if (c == hend)
						break;
				}
			}
			if (hend < slash) {
				n = (size_t)(slash - hend - 1);
				if (!n || strspn(hend + 1, "0123456789") < n)
					goto bad;
			}
			remote = slash + 1;
		}
	}
	for (p = remote; p <= end; p = c + 1) {
		c = memchr(p, '/', (size_t)(end - p)) ? memchr(p, '/', (size_t)(end - p)) : end;
		if (!image_ref_component(p, (size_t)(c - p)))
			goto bad;
		if (c == end)
			break;
	}
	for (p = remote; p < end; p++)
		upper |= isupper((unsigned char)*p);
	if (upper)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: repository name "
				  "(%s%.*s) must be lowercase", remote == in && !memchr(in, '/',
				  (size_t)(end - in)) ? "library/" : "", (int)(end - remote), remote);
	return 0;
bad:
	return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %.300s", in);
}

static int image_ref_normalize(const char *in, char *out, size_t size, struct mr_err *err)
{
	const char *name = in, *slash, *colon, *at;
	size_t i, n;
	if (image_ref_check(in, err) < 0)
		return -1;
	if (util_starts_with(name, "docker.io/"))
		name += 10;
	else if (util_starts_with(name, "index.docker.io/"))
		name += 16;
	if (name != in && util_starts_with(name, "library/") && !strchr(name + 8, '/'))
		name += 8;
	if (!*name || strlen(name) >= size - 8)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %s", in);
	for (i = 0; name[i]; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(isalnum(c) || strchr("._-/:@", c)) || (isupper(c) && !strchr(name, '/')))
			return mr_err_set(err, MR_EINVAL_INPUT,
					  "invalid reference format: %s (repository name must be "
					  "lowercase)", in);
	}
	at = strchr(name, '@');
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	n = strlen(name);
	if (at) {
		if (mr_digest_valid(at + 1) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %s "
					  "(bad digest)", in);
		snprintf(out, size, "%s", name);
	} else if (colon && (!slash || colon > slash)) {
		if (colon[1] == 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %s", in);
		snprintf(out, size, "%s", name);
	} else {
		snprintf(out, size, "%.*s:latest", (int)n, name);
	}
	return 0;
}

/* ---- The image records (root/images.json) ----
 * { "images": [ { "id", "manifest", "layers": [hex...], "sizes": [n...],
 *                 "size", "created", "loaded" } ],
 *   "tags": { "busybox:latest": "sha256:..." } }
 * Rewritten atomically under the store lock. Layers are stored by diff_id
 * hex (no ':' so a layer folder can be an overlay lowerdir). */

struct image_rec {
	char id[MR_DIGEST_LEN + 1];         /* sha256 of the config = the image ID */
	char manifest[MR_DIGEST_LEN + 1];   /* the manifest's digest */
	char created[40];                   /* from the config */
	char loaded[40];
	size_t nlayers;
	char (*layers)[65];                 /* diff_id hex, base layer first */
	uint64_t *sizes;                    /* bytes of each extracted layer */
	uint64_t size;
};

struct image_tag {
	char *name;
	char id[MR_DIGEST_LEN + 1];
};

struct image_db {
	struct image_rec *recs;
	size_t nrecs;
	struct image_tag *tags;
	size_t ntags;
};

static void image_db_free(struct image_db *db)
{
	size_t i;
	for (i = 0; i < db->nrecs; i++) {
		free(db->recs[i].layers);
		free(db->recs[i].sizes);
	}
	for (i = 0; i < db->ntags; i++)
		free(db->tags[i].name);
	free(db->recs);
	free(db->tags);
	memset(db, 0, sizeof *db);
}

static struct image_rec *image_db_add(struct image_db *db)
{
	struct image_rec *r;
	db->recs = util_xrealloc(db->recs, (db->nrecs + 1) * sizeof *db->recs);
	r = &db->recs[db->nrecs++];
	memset(r, 0, sizeof *r);
	return r;
}

static void image_db_set_tag(struct image_db *db, const char *name, const char *id)
{
	size_t i;
	for (i = 0; i < db->ntags; i++)
		if (!strcmp(db->tags[i].name, name))
			break;
	if (i == db->ntags) {
		db->tags = util_xrealloc(db->tags, (db->ntags + 1) * sizeof *db->tags);
		db->tags[db->ntags++].name = util_xstrdup(name);
	}
	snprintf(db->tags[i].id, sizeof db->tags[i].id, "%s", id);
}

static void image_db_del_tag(struct image_db *db, size_t i)
{
	free(db->tags[i].name);
	memmove(&db->tags[i], &db->tags[i + 1], (db->ntags - i - 1) * sizeof *db->tags);
	db->ntags--;
}

static void image_db_del_rec(struct image_db *db, size_t i)
{
	free(db->recs[i].layers);
	free(db->recs[i].sizes);
	memmove(&db->recs[i], &db->recs[i + 1], (db->nrecs - i - 1) * sizeof *db->recs);
	db->nrecs--;
}

static int image_db_read(struct mr_store *st, struct image_db *db, struct mr_err *err)
{
	struct mr_buf buf = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *v, *t;
	int rc = -1;
	memset(db, 0, sizeof *db);
	if (mr_read_file(st->rootfd, "images.json", &buf, MINIRUN_MAX_JSON, err) < 0) {
		if (err->code == ENOENT)
			rc = 0;
		goto out;
	}
	if (mr_json_parse(&doc, buf.data, buf.len, err) < 0) {
		mr_err_ctx(err, "%s/images.json", st->root);
		goto out;
	}
	for (v = mr_json_get(doc.root, "images") ? mr_json_get(doc.root, "images")->child : NULL;
	     v; v = v->next) {
		struct image_rec *r = image_db_add(db);
		const struct mr_json *l = mr_json_get(v, "layers"), *s = mr_json_get(v, "sizes");
		const char *id = mr_json_str(mr_json_get(v, "id"));
		const char *man = mr_json_str(mr_json_get(v, "manifest"));
		size_t i;
		if (!id || mr_digest_valid(id) < 0 || !l || l->type != MR_JSON_ARRAY) {
			mr_err_set(err, MR_EINVAL_INPUT, "%s/images.json: damaged image record",
				   st->root);
			goto out;
		}
		snprintf(r->id, sizeof r->id, "%s", id);
		snprintf(r->manifest, sizeof r->manifest, "%s", man ? man : "");
		snprintf(r->created, sizeof r->created, "%s",
			 mr_json_str(mr_json_get(v, "created")) ? mr_json_str(mr_json_get(v, "created")) : "");
		snprintf(r->loaded, sizeof r->loaded, "%s",
			 mr_json_str(mr_json_get(v, "loaded")) ? mr_json_str(mr_json_get(v, "loaded")) : "");
		r->nlayers = l->count;
		r->layers = util_xcalloc(l->count, sizeof *r->layers);
		r->sizes = util_xcalloc(l->count, sizeof *r->sizes);
		for (i = 0, t = l->child; t; t = t->next, i++) {
			const struct mr_json *sz = mr_json_at(s, i);
			if (!mr_json_str(t) || t->len != 64) {
				mr_err_set(err, MR_EINVAL_INPUT, "%s/images.json: damaged layer list",
					   st->root);
				goto out;
			}
			memcpy(r->layers[i], t->str, 65);
			r->sizes[i] = sz && sz->type == MR_JSON_NUMBER ? (uint64_t)sz->num : 0;
			r->size += r->sizes[i];
		}
	}
	for (t = mr_json_get(doc.root, "tags") ? mr_json_get(doc.root, "tags")->child : NULL; t;
	     t = t->next)
		if (mr_json_str(t) && mr_digest_valid(t->str) == 0)
			image_db_set_tag(db, t->key, t->str);
	rc = 0;
out:
	mr_json_free(&doc);
	mr_buf_free(&buf);
	if (rc < 0)
		image_db_free(db);
	return rc;
}

static int image_db_write(struct mr_store *st, const struct image_db *db, struct mr_err *err)
{
	struct mr_buf buf = { 0 };
	struct mr_jw w;
	size_t i, j;
	int rc;
	mr_jw_init(&w, &buf, 1);
	mr_jw_obj(&w);
	mr_jw_key(&w, "images");
	mr_jw_arr(&w);
	for (i = 0; i < db->nrecs; i++) {
		const struct image_rec *r = &db->recs[i];
		mr_jw_obj(&w);
		mr_jw_key(&w, "id");
		mr_jw_str(&w, r->id);
		mr_jw_key(&w, "manifest");
		mr_jw_str(&w, r->manifest);
		mr_jw_key(&w, "created");
		mr_jw_str(&w, r->created);
		mr_jw_key(&w, "loaded");
		mr_jw_str(&w, r->loaded);
		mr_jw_key(&w, "layers");
		mr_jw_arr(&w);
		for (j = 0; j < r->nlayers; j++)
			mr_jw_str(&w, r->layers[j]);
		mr_jw_arr_end(&w);
		mr_jw_key(&w, "sizes");
		mr_jw_arr(&w);
		for (j = 0; j < r->nlayers; j++)
			mr_jw_int(&w, (long long)r->sizes[j]);
		mr_jw_arr_end(&w);
		mr_jw_obj_end(&w);
	}
	mr_jw_arr_end(&w);
	mr_jw_key(&w, "tags");
	mr_jw_obj(&w);
	for (i = 0; i < db->ntags; i++) {
		mr_jw_key(&w, db->tags[i].name);
		mr_jw_str(&w, db->tags[i].id);
	}
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	mr_buf_append(&buf, "\n", 1);
	rc = mr_write_atomic(st->rootfd, "images.json", buf.data, buf.len, 0600, err);
	mr_buf_free(&buf);
	return rc;
}

static struct image_rec *image_db_by_id(struct image_db *db, const char *id)
{
	size_t i;
	for (i = 0; i < db->nrecs; i++)
		if (!strcmp(db->recs[i].id, id))
			return &db->recs[i];
	return NULL;
}

/* Find an image by name[:tag], name@digest, full ID or unique ID prefix. */
static struct image_rec *image_db_find(struct image_db *db, const char *ref, struct mr_err *err)
{
	char name[512];
	struct image_rec *found = NULL;
	const char *hex = util_starts_with(ref, "sha256:") ? ref + 7 : ref;
	size_t i, hexlen = strlen(hex);
	struct mr_err ignored;
	if (image_ref_normalize(ref, name, sizeof name, &ignored) == 0) {
		const char *at = strchr(name, '@');
		for (i = 0; i < db->ntags; i++)
			if (!at && !strcmp(db->tags[i].name, name))
				return image_db_by_id(db, db->tags[i].id);
		if (at)
			for (i = 0; i < db->nrecs; i++)
				if (!strcmp(db->recs[i].manifest, at + 1))
					return &db->recs[i];
	}
	if (hexlen >= 1 && hexlen <= 64 && strspn(hex, "0123456789abcdef") == hexlen) {
		for (i = 0; i < db->nrecs; i++) {
			if (strncmp(db->recs[i].id + 7, hex, hexlen))
				continue;
			if (found) {
				mr_err_set(err, MR_EINVAL_INPUT, "image ID prefix %s is ambiguous", ref);
				return NULL;
			}
			found = &db->recs[i];
		}
		if (found)
			return found;
	}
	/* a name no image can carry: say so, as docker does */
	if (image_ref_check(ref, err) < 0)
		return NULL;
	mr_err_set(err, MR_ENOTFOUND, "No such image: %s", ref);
	return NULL;
}

/* Size of a layer as recorded by any image that has it (0 if none). */
static int image_db_layer_size(const struct image_db *db, const char *hex, uint64_t *size)
{
	size_t i, j;
	for (i = 0; i < db->nrecs; i++)
		for (j = 0; j < db->recs[i].nlayers; j++)
			if (!strcmp(db->recs[i].layers[j], hex)) {
				*size = db->recs[i].sizes[j];
				return 0;
			}
	return -1;
}

/* ---- Layer completion marks and collection ----
 * marks/HEX ("sha256:HEX SIZE\n") is written and fsynced, with its folder,
 * after layers/HEX is renamed into place (and layers/ fsynced) and before
 * images.json names the layer: a layer folder without its mark is a commit
 * cut short (by a kill or a power cut) and is never used. In a store made
 * before marks existed (no marks/) an unmarked layer that a record names is
 * trusted: it was published by a rename after syncfs; `check --repair` marks
 * those. The marks live apart so that layers/ holds only layer folders. */

static int image_marks_kept(struct mr_store *st)
{
	return util_exists_at(st->rootfd, "marks", AT_SYMLINK_NOFOLLOW);
}

/* Is layers/HEX a complete layer? */
static int image_layer_ok(struct mr_store *st, const char *hex)
{
	char path[96];
	snprintf(path, sizeof path, "layers/%.64s", hex);
	if (!util_exists_at(st->rootfd, path, AT_SYMLINK_NOFOLLOW))
		return 0;
	snprintf(path, sizeof path, "marks/%.64s", hex);
	return util_exists_at(st->rootfd, path, AT_SYMLINK_NOFOLLOW) || !image_marks_kept(st);
}

static int image_layer_mark(struct mr_store *st, const char *hex, uint64_t size,
			    struct mr_err *err)
{
	char name[80], text[112];
	int n = snprintf(text, sizeof text, "sha256:%.64s %llu\n", hex, (unsigned long long)size);
	int rc, fd = openat(st->rootfd, "marks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mr_err_sys(err, "store %s/marks", st->root);
	snprintf(name, sizeof name, "%.64s", hex);
	rc = mr_write_atomic(fd, name, text, (size_t)n, 0600, err);
	close(fd);
	return rc;
}

/* Take layers/NAME out of the store: its mark first (so it is never taken
 * for complete again), then the folder renamed into tmp/ where, unlocked, a
 * killed removal is finished by the next start. */
static void image_layer_drop(struct mr_store *st, int layersfd, const char *name)
{
	char mark[80], trash[NAME_MAX + 1];
	unsigned char rnd[4];
	char hex[9];
	struct mr_err ignored;
	int tmpfd;
	snprintf(mark, sizeof mark, "marks/%.64s", name);
	unlinkat(st->rootfd, mark, 0);
	if (util_random(rnd, sizeof rnd) < 0)
		memset(rnd, 0, sizeof rnd);
	util_hex(rnd, sizeof rnd, hex);
	snprintf(trash, sizeof trash, STORE_TMP_PREFIX "gc-%.12s-%s", name, hex);
	tmpfd = openat(st->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd >= 0 && renameat(layersfd, name, tmpfd, trash) == 0)
		mr_remove_tree(tmpfd, trash, &ignored);
	else
		mr_remove_tree(layersfd, name, &ignored);
	if (tmpfd >= 0)
		close(tmpfd);
}

/* Record that a collection is due before the records change (store lock
 * held): if the command is killed between writing images.json and removing
 * what it released, the next command that opens the store finishes it. */
static int image_gc_intend(struct mr_store *st, struct mr_err *err)
{
	return mr_write_atomic(st->rootfd, "gc.intent", "gc\n", 3, 0600, err);
}

static int image_rec_uses(const struct image_rec *r, const char *name)
{
	size_t j;
	for (j = 0; j < r->nlayers; j++)
		if (!strcmp(r->layers[j], name))
			return 1;
	return 0;
}

/* Docker's chain ID of an image's layer i (the layer and everything under
 * it): the first layer's diff_id, then sha256 of "parent-chain diff_id".
 * rmi prints the chain IDs it releases, as Docker does. */
static void image_chain_id(const struct image_rec *r, size_t i, char out[MR_DIGEST_LEN + 1])
{
	char buf[2 * (MR_DIGEST_LEN + 1)];
	size_t k;
	snprintf(out, MR_DIGEST_LEN + 1, "sha256:%s", r->layers[0]);
	for (k = 1; k <= i; k++) {
		snprintf(buf, sizeof buf, "%s sha256:%s", out, r->layers[k]);
		mr_digest_buf(buf, strlen(buf), out);
	}
}

/* Delete an image record, printing what Docker's rmi prints: the image, then
 * each layer chain no other image holds, top first. */
static void image_db_delete(struct image_db *db, struct image_rec *r)
{
	char chain[MR_DIGEST_LEN + 1];
	size_t i, j, shared = 0;
	printf("Deleted: %s\n", r->id);
	/* the deepest chain another image also has: it and all below stay */
	for (j = 0; j < db->nrecs; j++) {
		const struct image_rec *o = &db->recs[j];
		size_t k;
		if (o == r)
			continue;
		for (k = 0; k < r->nlayers && k < o->nlayers && !strcmp(r->layers[k], o->layers[k]); k++)
			;
		if (k > shared)
			shared = k;
	}
	for (i = r->nlayers; i-- > shared;) {
		image_chain_id(r, i, chain);
		printf("Deleted: %s\n", chain);
	}
	image_db_del_rec(db, (size_t)(r - db->recs));
}

/* Remove layers and blobs that no image record refers to: what a load killed
 * between renaming its layers and writing images.json left behind, and what
 * rmi released. Called with the store lock held (loads commit under it, so a
 * layer cannot be between its rename and its record while we look). */
static void image_gc(struct mr_store *st, const struct image_db *db)
{
	static const char *const dirs[] = { "layers", "marks", "blobs/sha256" };
	struct mr_err ignored;
	size_t k, i;
	for (k = 0; k < 3; k++) {
		int dfd = openat(st->rootfd, dirs[k], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = dfd >= 0 ? fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3)) : NULL;
		struct dirent *de;
		if (!d) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			int used = 0;
			if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
				continue;
			for (i = 0; i < db->nrecs && !used; i++) {
				const struct image_rec *r = &db->recs[i];
				if (k < 2)
					used = image_rec_uses(r, de->d_name);
				else
					used = !strcmp(r->id + 7, de->d_name) ||
					       (r->manifest[0] && !strcmp(r->manifest + 7, de->d_name));
			}
			if (used)
				continue;
			if (k == 0 && de->d_name[0] != '.')
				image_layer_drop(st, dfd, de->d_name);
			else
				mr_remove_tree(dfd, de->d_name, &ignored);
		}
		closedir(d);
		close(dfd);
	}
	unlinkat(st->rootfd, "gc.intent", 0);
}

/* A collection cut short by a kill or a power cut: finish it (called when a
 * command opens the store; costs one stat when there is nothing to do). */
static void image_gc_resume(struct mr_store *st)
{
	struct image_db db;
	struct mr_err ignored;
	if (!util_exists_at(st->rootfd, "gc.intent", AT_SYMLINK_NOFOLLOW) ||
	    mr_store_lock(st, &ignored) < 0)
		return;
	if (util_exists_at(st->rootfd, "gc.intent", AT_SYMLINK_NOFOLLOW) &&
	    image_db_read(st, &db, &ignored) == 0) {
		image_gc(st, &db);
		image_db_free(&db);
	}
	mr_store_unlock(st);
}

/* ---- Loading: archives and OCI layout folders ----
 * One pass over the input, whatever its order: `docker save` writes its
 * manifest.json last, so every entry that looks like a layer is decompressed,
 * hashed and extracted into its own temporary folder as it streams by, and
 * small JSON entries are kept in memory. Once the input ends the manifests
 * say which of them form the image; digests are checked, then everything is
 * committed under the store lock (layers renamed into place, blobs and
 * images.json written atomically). Anything not referenced is discarded. */

struct image_blob {
	char *path;                          /* entry path in the archive */
	char digest[MR_DIGEST_LEN + 1];      /* sha256 of the entry's bytes */
	uint64_t bytes;                      /* size of the entry */
	int is_layer;
	/* layers */
	char diff_id[MR_DIGEST_LEN + 1];
	char tmpname[128];                   /* tmp/layer-... relative to rootfd */
	int tmpfd;                           /* holds the temporary folder's flock */
	uint64_t unpacked;
	double secs;                         /* extraction time, for the message */
	int report;                          /* extracted by load: commit says what it did */
	char *failure;                       /* extraction error, reported if used */
	/* metadata */
	struct mr_buf data;
};

struct image_load {
	struct mr_store *st;
	struct image_platform platform;
	const char *source;                  /* file, folder or "stdin" for messages */
	int quiet, tty;
	struct image_blob **blobs;           /* each allocated alone: pointers stay valid */
	size_t nblobs;
	size_t meta_bytes;                   /* memory held by metadata entries */
	int dirfd;                           /* OCI layout folder, else -1 */
	struct stream_fd dir_blob;           /* the layout folder's blob being read */
	/* A source of blobs by digest, read on demand (a layout folder, a
	 * registry): opens one blob as a stream and says its size (or
	 * UINT64_MAX when unknown); `close_blob` ends it. NULL for archives,
	 * whose blobs were all taken while scanning. */
	int (*open_blob)(struct image_load *ld, const char *digest, struct stream **in,
			 uint64_t *size, struct mr_err *err);
	void (*close_blob)(struct image_load *ld);
	void *source_ctx;
	struct image_db *stored;             /* layers already in the store (on demand only) */
};

#define IMAGE_MAX_BLOBS 4096
#define IMAGE_MAX_META (16u << 20)

static void image_load_free(struct image_load *ld)
{
	size_t i;
	struct mr_err ignored;
	for (i = 0; i < ld->nblobs; i++) {
		struct image_blob *b = ld->blobs[i];
		if (b->tmpfd >= 0) {
			mr_remove_tree(ld->st->rootfd, b->tmpname, &ignored);
			close(b->tmpfd);
		}
		free(b->path);
		free(b->failure);
		mr_buf_free(&b->data);
		free(b);
	}
	free(ld->blobs);
	ld->blobs = NULL;
	ld->nblobs = 0;
}

/* A stream that first returns bytes already read (a peek), then its parent. */
struct image_peeked {
	struct stream s;
	struct stream *parent;
	const unsigned char *head;
	size_t len, pos;
};

static ssize_t image_peeked_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct image_peeked *p = (struct image_peeked *)s;
	if (p->pos < p->len) {
		size_t k = p->len - p->pos < n ? p->len - p->pos : n;
		memcpy(buf, p->head + p->pos, k);
		p->pos += k;
		return (ssize_t)k;
	}
	return p->parent->read(p->parent, buf, n, err);
}

/* Read until the end, discarding (so hashes cover every byte). */
static int image_drain(struct stream *s, struct mr_err *err)
{
	char buf[16384];
	ssize_t r;
	while ((r = s->read(s, buf, sizeof buf, err)) > 0) {}
	return r < 0 ? -1 : 0;
}

static void image_progress(struct image_load *ld, const char *what, const char *id,
			   uint64_t bytes, double secs)
{
	char size[32], rate[32], secs_str[32];
	if (ld->quiet)
		return;
	if (ld->tty)
		printf("\r\033[K");
	util_human_size(bytes, size, sizeof size);
	util_human_size(secs > 0.001 ? (uint64_t)((double)bytes / secs) : bytes * 1000, rate,
			sizeof rate);
	util_fmt_fixed((uint64_t)(secs * 100 + 0.5), 2, secs_str, sizeof secs_str);
	printf("%s %.12s: %s in %ss (%s/s)\n", what, id, size, secs_str, rate);
	fflush(stdout);
}

static double image_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* On a terminal, a live line per layer: bytes read and the rate, redrawn at
 * most ten times a second (one line per layer otherwise, when it is done). */
struct image_meter {
	struct stream s;
	struct stream *parent;
	const char *id;
	uint64_t bytes;
	double start, shown;
};

static ssize_t image_meter_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct image_meter *m = (struct image_meter *)s;
	ssize_t r = m->parent->read(m->parent, buf, n, err);
	double now;
	if (r <= 0)
		return r;
	m->bytes += (uint64_t)r;
	now = image_now();
	if (now - m->shown >= 0.1) {
		char size[32], rate[32];
		m->shown = now;
		util_human_size(m->bytes, size, sizeof size);
		util_human_size((uint64_t)((double)m->bytes / (now - m->start + 1e-9)), rate,
				sizeof rate);
		printf("\r\033[KLoading layer %.12s: %s (%s/s)", m->id, size, rate);
		fflush(stdout);
	}
	return r;
}

/* Decompress, hash and extract one layer from `in` into a new temporary
 * folder. The compressed digest covers the bytes as stored, the diff_id the
 * uncompressed tar; both are checked by the caller before anything is kept. */
static int image_extract_layer(struct image_load *ld, struct stream *in, struct image_blob *b,
			       struct mr_err *err)
{
	struct stream_hash compressed, plain;
	struct stream_decomp dec;
	struct image_meter meter;
	int rc = -1;
	double t0 = image_now();
	if (ld->tty && !ld->quiet) {
		meter.s.read = image_meter_read;
		meter.parent = in;
		/* "blobs/sha256/HEX" or "HEX.tar" or "ID/layer.tar": show the hex */
		meter.id = strrchr(b->path, '/') && strcmp(strrchr(b->path, '/'), "/layer.tar") ?
			   strrchr(b->path, '/') + 1 : b->path;
		meter.bytes = 0;
		meter.start = meter.shown = t0;
		in = &meter.s;
	}
	stream_hash_init(&compressed, in);
	if (stream_decomp_init(&dec, &compressed.s, err) < 0)
		return -1;
	stream_decomp_digested(&dec);   /* the diff_id is checked (image_check_layers) */
	stream_hash_init(&plain, &dec.s);
	b->tmpfd = mr_store_mktemp(ld->st, "layer", b->tmpname, sizeof b->tmpname, err);
	if (b->tmpfd < 0)
		goto out;
	/* plain's digest is fed by the extraction (maybe on another CPU);
	 * plain itself then only sees the end of dec. */
	if (tar_extract_layer_hashed(&dec.s, b->tmpfd, &plain.ctx, &b->unpacked, err) < 0 ||
	    image_drain(&plain.s, err) < 0 || image_drain(&compressed.s, err) < 0)
		goto out;
	stream_hash_digest(&compressed, b->digest);
	stream_hash_digest(&plain, b->diff_id);
	b->bytes = compressed.count;
	b->is_layer = 1;
	/* Said at commit time, when it is known whether the store already had
	 * it: "Loading layer" only for a layer the load adds, as Docker. */
	b->secs = image_now() - t0;
	b->report = 1;
	if (ld->tty && !ld->quiet) {
		printf("\r\033[K");
		fflush(stdout);
	}
	rc = 0;
out:
	stream_decomp_end(&dec);
	return rc;
}

static struct image_blob *image_blob_new(struct image_load *ld, const char *path,
					 struct mr_err *err)
{
	struct image_blob *b;
	if (ld->nblobs >= IMAGE_MAX_BLOBS) {
		mr_err_set(err, MR_EINVAL_INPUT, "more than %d entries", IMAGE_MAX_BLOBS);
		return NULL;
	}
	ld->blobs = util_xrealloc(ld->blobs, (ld->nblobs + 1) * sizeof *ld->blobs);
	b = ld->blobs[ld->nblobs++] = util_xcalloc(1, sizeof *b);
	b->tmpfd = -1;
	b->path = util_xstrdup(path);
	return b;
}

/* Read a small entry fully into b->data, hashing it. */
static int image_keep_meta(struct image_load *ld, struct stream *in, struct image_blob *b,
			   struct mr_err *err)
{
	char chunk[8192];
	ssize_t r;
	while ((r = in->read(in, chunk, sizeof chunk, err)) > 0) {
		if (b->data.len + (size_t)r > MINIRUN_MAX_JSON ||
		    ld->meta_bytes + (size_t)r > IMAGE_MAX_META)
			return mr_err_set(err, MR_EINVAL_INPUT, "entry %s: metadata larger than %u bytes",
					  b->path, MINIRUN_MAX_JSON);
		mr_buf_append(&b->data, chunk, (size_t)r);
		ld->meta_bytes += (size_t)r;
	}
	if (r < 0)
		return -1;
	mr_digest_buf(b->data.data, b->data.len, b->digest);
	b->bytes = b->data.len;
	return 0;
}

/* JSON (metadata) or a layer? Layers are tar (a file name first, or zero
 * blocks for an empty layer), gzip or zstd; metadata starts with '{' or '['. */
static int image_looks_like_json(const unsigned char *head, size_t n)
{
	size_t i = 0;
	while (i < n && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t'))
		i++;
	return i < n && (head[i] == '{' || head[i] == '[');
}

/* One regular entry of an archive (or one blob of a layout folder). */
static int image_take_entry(struct image_load *ld, const char *path, struct stream *in,
			    uint64_t size, struct mr_err *err)
{
	unsigned char head[512];
	size_t n = 0;
	struct image_peeked peek;
	struct image_blob *b;
	while (n < sizeof head && (uint64_t)n < size) {
		ssize_t r = in->read(in, head + n, sizeof head - n, err);
		if (r < 0)
			return mr_err_ctx(err, "entry %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b = image_blob_new(ld, path, err);
	if (!b)
		return -1;
	peek.s.read = image_peeked_read;
	peek.parent = in;
	peek.head = head;
	peek.len = n;
	peek.pos = 0;
	if (size <= MINIRUN_MAX_JSON && image_looks_like_json(head, n))
		return image_keep_meta(ld, &peek.s, b, err) < 0 ? mr_err_ctx(err, "entry %s", path) : 0;
	if (image_looks_like_json(head, n)) {
		/* metadata over the limit: say so if a manifest refers to it (not
		 * "digest mismatch": it was never read) */
		char why[128];
		snprintf(why, sizeof why, "too large: %" PRIu64 " bytes (a manifest, config or index "
			 "is at most %u bytes)", size, MINIRUN_MAX_JSON);
		b->failure = util_xstrdup(why);
		return 0;
	}
	if (image_extract_layer(ld, &peek.s, b, err) < 0) {
		/* Maybe not a layer at all (a stray file): remember why, fail only
		 * if a manifest refers to it. The rest of the entry is skipped by
		 * the outer tar reader. */
		b->failure = util_xstrdup(err->msg);
		return 0;
	}
	return 0;
}

static struct image_blob *image_blob_by_path(struct image_load *ld, const char *path)
{
	size_t i;
	while (util_starts_with(path, "./"))
		path += 2;
	for (i = 0; i < ld->nblobs; i++)
		if (!strcmp(ld->blobs[i]->path, path))
			return ld->blobs[i];
	return NULL;
}

/* A blob named by digest: blobs/sha256/HEX in an archive, or read on demand
 * from a layout folder. The digest was validated before it reaches here. */
static struct image_blob *image_blob_by_digest(struct image_load *ld, const char *digest,
					       int want_layer, struct mr_err *err);

/* Parse a kept metadata blob. */
static int image_blob_json(struct image_blob *b, struct mr_json_doc *doc, struct mr_err *err)
{
	if (b->is_layer || b->failure)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: %s", b->path,
				  b->failure && !b->is_layer && util_starts_with(b->failure, "too large") ?
				  b->failure : "not a JSON document");
	if (mr_json_parse(doc, b->data.data, b->data.len, err) < 0)
		return mr_err_ctx(err, "%s", b->path);
	return 0;
}

/* What one image of the input resolved to, ready to commit. */
struct image_found {
	struct image_blob *config;
	struct image_blob *manifest;         /* NULL for docker-archive: synthesized */
	struct image_blob **layers;
	size_t nlayers;
	char **names;                        /* normalized tags */
	size_t nnames;
};

static void image_found_free(struct image_found *f)
{
	size_t i;
	for (i = 0; i < f->nnames; i++)
		free(f->names[i]);
	free(f->names);
	free(f->layers);
	memset(f, 0, sizeof *f);
}

static int image_found_name(struct image_found *f, const char *name, struct mr_err *err)
{
	char norm[512];
	struct mr_err bad;
	(void)err;
	/* a name the archive gives is input like any other: a bad one leaves the
	 * image untagged, with a word about it */
	if (image_ref_normalize(name, norm, sizeof norm, &bad) < 0) {
		fprintf(stderr, "WARNING: ignoring the image name \"%.300s\" (%s): the image is "
			"loaded untagged\n", name, bad.msg);
		return 0;
	}
	if (strchr(norm, '@'))
		return 0;  /* digest references do not name a tag */
	f->names = util_xrealloc(f->names, (f->nnames + 1) * sizeof *f->names);
	f->names[f->nnames++] = util_xstrdup(norm);
	return 0;
}

/* Check that layer i's extracted diff_id is the one the config declares. */
static int image_check_layers(struct image_found *f, struct mr_err *err)
{
	struct mr_json_doc cfg = { 0 };
	const struct mr_json *ids;
	size_t i;
	int rc = -1;
	if (image_blob_json(f->config, &cfg, err) < 0)
		return -1;
	ids = mr_json_get(mr_json_get(cfg.root, "rootfs"), "diff_ids");
	if (!ids || ids->type != MR_JSON_ARRAY || ids->count != f->nlayers) {
		mr_err_set(err, MR_EVERIFY, "config %.19s: rootfs.diff_ids lists %zu layers, "
			   "the manifest %zu", f->config->digest, ids ? ids->count : 0, f->nlayers);
		goto out;
	}
	for (i = 0; i < f->nlayers; i++) {
		const char *want = mr_json_str(mr_json_at(ids, i));
		struct image_blob *l = f->layers[i];
		if (l->failure) {
			mr_err_set(err, MR_EINVAL_INPUT, "layer %s: %s", l->path, l->failure);
			goto out;
		}
		if (!want || mr_digest_valid(want) < 0) {
			mr_err_set(err, MR_EINVAL_INPUT, "config %.19s: invalid diff_id %zu",
				   f->config->digest, i);
			goto out;
		}
		if (strcmp(want, l->diff_id)) {
			mr_err_set(err, MR_EVERIFY, "layer %s: diff_id mismatch: config says %s, "
				   "content is %s", l->path, want, l->diff_id);
			goto out;
		}
	}
	rc = 0;
out:
	mr_json_free(&cfg);
	return rc;
}

/* docker-archive: manifest.json = [{"Config": "x.json", "RepoTags": [..],
 * "Layers": ["id/layer.tar" | "blobs/sha256/HEX"]}]. */
static int image_resolve_docker(struct image_load *ld, struct image_blob *mf,
				struct image_found **out, size_t *nout, struct mr_err *err)
{
	struct mr_json_doc doc = { 0 };
	const struct mr_json *item;
	int rc = -1;
	if (image_blob_json(mf, &doc, err) < 0)
		return -1;
	if (doc.root->type != MR_JSON_ARRAY || !doc.root->count) {
		mr_err_set(err, MR_EINVAL_INPUT, "manifest.json: expected a non-empty array");
		goto out;
	}
	for (item = doc.root->child; item; item = item->next) {
		const char *cfg = mr_json_str(mr_json_get(item, "Config"));
		const struct mr_json *layers = mr_json_get(item, "Layers"), *l, *t;
		struct image_found *f;
		if (!cfg || !layers || layers->type != MR_JSON_ARRAY ||
		    layers->count > MINIRUN_MAX_LAYERS) {
			mr_err_set(err, MR_EINVAL_INPUT, "manifest.json: entry without Config or "
				   "Layers (or more than %d layers)", MINIRUN_MAX_LAYERS);
			goto out;
		}
		*out = util_xrealloc(*out, (*nout + 1) * sizeof **out);
		f = &(*out)[(*nout)++];
		memset(f, 0, sizeof *f);
		f->config = image_blob_by_path(ld, cfg);
		if (!f->config) {
			mr_err_set(err, MR_EINVAL_INPUT, "manifest.json: config %s is not in the archive", cfg);
			goto out;
		}
		if (f->config->failure && !f->config->is_layer) {
			mr_err_set(err, MR_EINVAL_INPUT, "config %s: %s", cfg, f->config->failure);
			goto out;
		}
		f->layers = util_xcalloc(layers->count, sizeof *f->layers);
		for (l = layers->child; l; l = l->next) {
			const char *p = mr_json_str(l);
			struct image_blob *b = p ? image_blob_by_path(ld, p) : NULL;
			if (!b) {
				mr_err_set(err, MR_EINVAL_INPUT, "manifest.json: layer %s is not in the "
					   "archive", p ? p : "(not a string)");
				goto out;
			}
			f->layers[f->nlayers++] = b;
		}
		for (t = mr_json_get(item, "RepoTags") ? mr_json_get(item, "RepoTags")->child : NULL;
		     t; t = t->next)
			if (mr_json_str(t) && image_found_name(f, t->str, err) < 0)
				goto out;
		/* The config's file name is its digest in both docker save forms
		 * ("HEX.json" or "blobs/sha256/HEX"): check it when it says so. */
		{
			const char *base = strrchr(cfg, '/') ? strrchr(cfg, '/') + 1 : cfg;
			if (strspn(base, "0123456789abcdef") == 64 &&
			    strncmp(base, f->config->digest + 7, 64)) {
				mr_err_set(err, MR_EVERIFY, "config %s: digest mismatch (content is %s)",
					   cfg, f->config->digest);
				goto out;
			}
		}
		if (image_check_layers(f, err) < 0)
			goto out;
	}
	rc = 0;
out:
	mr_json_free(&doc);
	return rc;
}

static int image_is_index_type(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
		      !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

static int image_is_manifest_type(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.oci.image.manifest.v1+json") ||
		      !strcmp(mt, "application/vnd.docker.distribution.manifest.v2+json"));
}

/* Layer media types minirun can unpack: plain, gzip and zstd tar, OCI and
 * Docker names, including the non-distributable and foreign variants. */
static int image_is_layer_type(const char *mt)
{
	static const char *const prefixes[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.docker.image.rootfs.foreign.diff.tar",
	};
	size_t i;
	if (!mt)
		return 1;  /* Docker's schema 2 always has one; tolerate its absence */
	for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]);
		if (!strncmp(mt, prefixes[i], n) &&
		    (!mt[n] || !strcmp(mt + n, "+gzip") || !strcmp(mt + n, "+zstd") ||
		     !strcmp(mt + n, ".gzip")))
			return 1;
	}
	return 0;
}

/* A descriptor's digest, validated before it is used to find a file. */
static const char *image_desc_digest(const struct mr_json *desc, const char *what,
				     struct mr_err *err)
{
	const char *d = mr_json_str(mr_json_get(desc, "digest"));
	if (!d || mr_digest_valid(d) < 0) {
		mr_err_set(err, MR_EINVAL_INPUT, "%s: invalid or missing digest %.80s", what,
			   d ? d : "");
		return NULL;
	}
	return d;
}

/* A descriptor's size must be the blob's (digests alone would let a
 * manifest lie about sizes that progress and quotas rely on). */
static int image_check_size(const struct mr_json *desc, const struct image_blob *b,
			    struct mr_err *err)
{
	const struct mr_json *size = mr_json_get(desc, "size");
	if (size && (size->type != MR_JSON_NUMBER || size->num < 0 ||
		     (uint64_t)size->num != b->bytes))
		return mr_err_set(err, MR_EVERIFY, "blob %s: size %s in the manifest, %" PRIu64
				  " bytes in the archive", b->digest, size->str ? size->str : "?",
				  b->bytes);
	return 0;
}

/* A layer the store already has (by the diff_id its config declares), for
 * sources read on demand: a placeholder blob stands for it, so it is neither
 * fetched nor extracted again. */
static struct image_blob *image_stored_layer(struct image_load *ld, const struct mr_json *desc,
					     const struct mr_json *diff_id)
{
	struct image_blob *b;
	struct mr_err ignored;
	const struct mr_json *size = mr_json_get(desc, "size");
	uint64_t unpacked;
	char path[96];
	if (!ld->stored || !mr_json_str(diff_id) || mr_digest_valid(diff_id->str) < 0 ||
	    image_db_layer_size(ld->stored, digest_hex(diff_id->str), &unpacked) < 0)
		return NULL;
	snprintf(path, sizeof path, "layers/%s", digest_hex(diff_id->str));
	if (!image_layer_ok(ld->st, digest_hex(diff_id->str)))
		return NULL;
	b = image_blob_new(ld, path, &ignored);
	if (!b)
		return NULL;
	b->is_layer = 1;
	snprintf(b->digest, sizeof b->digest, "%s", mr_json_str(mr_json_get(desc, "digest")));
	snprintf(b->diff_id, sizeof b->diff_id, "%s", diff_id->str);
	b->bytes = size && size->type == MR_JSON_NUMBER ? (uint64_t)size->num : 0;
	b->unpacked = unpacked;
	if (!ld->quiet)
		printf("%.12s: Already exists\n", digest_hex(b->diff_id));
	return b;
}

/* One OCI/Docker manifest (by digest) into an image_found. */
static int image_resolve_manifest(struct image_load *ld, const char *digest,
				  struct image_found *f, struct mr_err *err)
{
	struct mr_json_doc doc = { 0 }, cfg = { 0 };
	const struct mr_json *layers, *l;
	const char *cd;
	int rc = -1;
	f->manifest = image_blob_by_digest(ld, digest, 0, err);
	if (!f->manifest || image_blob_json(f->manifest, &doc, err) < 0)
		return -1;
	cd = image_desc_digest(mr_json_get(doc.root, "config"), "manifest config", err);
	layers = mr_json_get(doc.root, "layers");
	if (!cd)
		goto out;
	if (!layers || layers->type != MR_JSON_ARRAY || layers->count > MINIRUN_MAX_LAYERS) {
		mr_err_set(err, MR_EINVAL_INPUT, "manifest %.19s: no layer list (or more than %d)",
			   digest, MINIRUN_MAX_LAYERS);
		goto out;
	}
	f->config = image_blob_by_digest(ld, cd, 0, err);
	if (!f->config || image_check_size(mr_json_get(doc.root, "config"), f->config, err) < 0)
		goto out;
	f->layers = util_xcalloc(layers->count, sizeof *f->layers);
	if (ld->open_blob && image_blob_json(f->config, &cfg, err) < 0)
		goto out;
	for (l = layers->child; l; l = l->next) {
		const char *ld_digest = image_desc_digest(l, "manifest layer", err);
		const char *mt = mr_json_str(mr_json_get(l, "mediaType"));
		struct image_blob *b;
		if (!ld_digest)
			goto out;
		if (!image_is_layer_type(mt)) {
			mr_err_set(err, MR_EINVAL_INPUT, "layer %.19s: unsupported media type %s",
				   ld_digest, mt);
			goto out;
		}
		if (ld->open_blob && (b = image_stored_layer(ld, l, mr_json_at(mr_json_get(
				mr_json_get(cfg.root, "rootfs"), "diff_ids"), f->nlayers))) != NULL) {
			f->layers[f->nlayers++] = b;  /* in the store: not fetched again */
			continue;
		}
		b = image_blob_by_digest(ld, ld_digest, 1, err);
		if (!b || image_check_size(l, b, err) < 0)
			goto out;
		f->layers[f->nlayers++] = b;
	}
	rc = image_check_layers(f, err);
out:
	mr_json_free(&cfg);
	mr_json_free(&doc);
	return rc;
}

/* Pick the manifest for the wanted platform from an index; `digest_out` gets
 * its digest. Nested indexes are followed (bounded). */
static int image_pick_from_index(struct image_load *ld, const struct mr_json *manifests,
				 char *digest_out, int depth, struct mr_err *err)
{
	const struct mr_json *m, *best = NULL;
	int best_score = 0;
	if (!manifests || manifests->type != MR_JSON_ARRAY || !manifests->count)
		return mr_err_set(err, MR_EINVAL_INPUT, "index: no manifests");
	for (m = manifests->child; m; m = m->next) {
		const struct mr_json *plat = mr_json_get(m, "platform");
		int score = plat ? image_platform_score(plat, &ld->platform) : 0;
		if (!plat && manifests->count == 1)
			score = 1;  /* a single manifest without platform: take it */
		if (score > best_score) {
			best = m;
			best_score = score;
		}
	}
	if (!best)
		return mr_err_set(err, MR_ENOTFOUND, "no image for platform %s/%s%s%s in the index",
				  ld->platform.os, ld->platform.arch, *ld->platform.variant ? "/" : "",
				  ld->platform.variant);
	{
		const char *d = image_desc_digest(best, "index entry", err);
		const char *mt = mr_json_str(mr_json_get(best, "mediaType"));
		if (!d)
			return -1;
		if (image_is_index_type(mt)) {
			struct mr_json_doc doc = { 0 };
			struct image_blob *b;
			int rc;
			if (depth > 4)
				return mr_err_set(err, MR_EINVAL_INPUT, "index nested too deep");
			b = image_blob_by_digest(ld, d, 0, err);
			if (!b || image_blob_json(b, &doc, err) < 0)
				return -1;
			rc = image_pick_from_index(ld, mr_json_get(doc.root, "manifests"), digest_out,
						   depth + 1, err);
			mr_json_free(&doc);
			return rc;
		}
		snprintf(digest_out, MR_DIGEST_LEN + 1, "%s", d);
	}
	return 0;
}

/* Name of an OCI index entry: containerd's full name annotation, else the
 * OCI ref name; a ref name that is only a tag takes the repository from the
 * source's file name (busybox.tar + "latest" -> busybox:latest). */
static int image_oci_name(struct image_load *ld, const struct mr_json *desc,
			  struct image_found *f, struct mr_err *err)
{
	const struct mr_json *ann = mr_json_get(desc, "annotations");
	const char *full = mr_json_str(mr_json_get(ann, "io.containerd.image.name"));
	const char *ref = mr_json_str(mr_json_get(ann, "org.opencontainers.image.ref.name"));
	char name[512], repo[256];
	const char *base;
	size_t n;
	if (full)
		return image_found_name(f, full, err);
	if (!ref)
		return 0;
	if (strchr(ref, '/') || strchr(ref, ':'))
		return image_found_name(f, ref, err);
	if (!ld->source || !strcmp(ld->source, "stdin"))
		return 0;
	base = strrchr(ld->source, '/') ? strrchr(ld->source, '/') + 1 : ld->source;
	if (!*base) /* "dir/" */
		return 0;
	n = strcspn(base, ".");
	snprintf(repo, sizeof repo, "%.*s", (int)n, base);
	for (n = 0; repo[n]; n++)
		repo[n] = (char)tolower((unsigned char)repo[n]);
	snprintf(name, sizeof name, "%s:%s", repo, ref);
	return image_found_name(f, name, err);
}

/* oci-archive / layout: index.json lists manifests (or indexes). Entries
 * with the same ref name are one image; each descriptor is resolved for the
 * wanted platform. */
static int image_resolve_oci(struct image_load *ld, struct image_blob *idx,
			     struct image_found **out, size_t *nout, struct mr_err *err)
{
	struct mr_json_doc doc = { 0 };
	const struct mr_json *m, *manifests;
	int rc = -1;
	if (image_blob_json(idx, &doc, err) < 0)
		return -1;
	manifests = mr_json_get(doc.root, "manifests");
	if (!manifests || manifests->type != MR_JSON_ARRAY || !manifests->count) {
		mr_err_set(err, MR_EINVAL_INPUT, "index.json: no manifests");
		goto out;
	}
	/* Top-level entries with platforms form one multi-platform image. */
	for (m = manifests->child; m && manifests->count > 1; m = m->next)
		if (mr_json_get(m, "platform")) {
			char digest[MR_DIGEST_LEN + 1];
			const struct mr_json *chosen = manifests->child;
			struct image_found *f;
			if (image_pick_from_index(ld, manifests, digest, 0, err) < 0)
				goto out;
			for (m = manifests->child; m; m = m->next)
				if (mr_json_str(mr_json_get(m, "digest")) &&
				    !strcmp(mr_json_str(mr_json_get(m, "digest")), digest))
					chosen = m;
			*out = util_xcalloc(1, sizeof **out);
			*nout = 1;
			f = *out;
			rc = image_oci_name(ld, chosen, f, err) < 0 ||
			     image_resolve_manifest(ld, digest, f, err) < 0 ? -1 : 0;
			goto out;
		}
	for (m = manifests->child; m; m = m->next) {
		const char *mt = mr_json_str(mr_json_get(m, "mediaType"));
		char digest[MR_DIGEST_LEN + 1];
		struct image_found *f;
		const char *d = image_desc_digest(m, "index.json entry", err);
		if (!d)
			goto out;
		if (image_is_index_type(mt)) {
			struct mr_json_doc sub = { 0 };
			struct image_blob *b = image_blob_by_digest(ld, d, 0, err);
			int r = -1;
			if (b && image_blob_json(b, &sub, err) == 0)
				r = image_pick_from_index(ld, mr_json_get(sub.root, "manifests"),
							  digest, 1, err);
			mr_json_free(&sub);
			if (r < 0)
				goto out;
		} else if (!mt || image_is_manifest_type(mt)) {
			snprintf(digest, sizeof digest, "%s", d);
		} else {
			mr_err_set(err, MR_EINVAL_INPUT, "index.json: unsupported media type %s", mt);
			goto out;
		}
		*out = util_xrealloc(*out, (*nout + 1) * sizeof **out);
		f = &(*out)[(*nout)++];
		memset(f, 0, sizeof *f);
		if (image_oci_name(ld, m, f, err) < 0 || image_resolve_manifest(ld, digest, f, err) < 0)
			goto out;
	}
	if (!*nout)
		mr_err_set(err, MR_ENOTFOUND, "no image for platform %s/%s%s%s in %s",
			   ld->platform.os, ld->platform.arch, *ld->platform.variant ? "/" : "",
			   ld->platform.variant, ld->source);
	else
		rc = 0;
out:
	mr_json_free(&doc);
	return rc;
}

static struct image_blob *image_blob_by_digest(struct image_load *ld, const char *digest,
					       int want_layer, struct mr_err *err)
{
	char path[96];
	struct image_blob *b;
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(digest));
	b = image_blob_by_path(ld, path);
	if (!b && ld->open_blob) {
		struct stream *in;
		uint64_t size;
		int rc;
		if (ld->open_blob(ld, digest, &in, &size, err) < 0)
			return NULL;
		rc = image_take_entry(ld, path, in, size, err);
		ld->close_blob(ld);
		if (rc < 0)
			return NULL;
		b = ld->blobs[ld->nblobs - 1];
	}
	if (!b) {
		mr_err_set(err, MR_EINVAL_INPUT, "blob %s is not in %s", digest, ld->source);
		return NULL;
	}
	if (b->failure && (want_layer || !b->is_layer)) {
		mr_err_set(err, MR_EINVAL_INPUT, "%s %s: %s", want_layer ? "layer" : "blob", digest,
			   b->failure);
		return NULL;
	}
	if (want_layer && !b->is_layer) {
		mr_err_set(err, MR_EINVAL_INPUT, "layer %s: not a tar archive", digest);
		return NULL;
	}
	if (strcmp(b->digest, digest)) {
		mr_err_set(err, MR_EVERIFY, "blob %s: digest mismatch (content is %s)", digest,
			   b->digest);
		return NULL;
	}
	return b;
}

/* Blobs of an OCI layout folder: blobs/sha256/HEX, regular files only. */
static int image_dir_open_blob(struct image_load *ld, const char *digest, struct stream **in,
			       uint64_t *size, struct mr_err *err)
{
	struct stream_fd *src = &ld->dir_blob;
	char path[96];
	struct stat sb;
	int fd;
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(digest));
	fd = openat(ld->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mr_err_sys(err, "%s/%s", ld->source, path);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return mr_err_set(err, MR_EINVAL_INPUT, "%s/%s: not a regular file", ld->source, path);
	}
	stream_fd_init(src, fd);
	*in = &src->s;
	*size = (uint64_t)sb.st_size;
	ld->source_ctx = src;
	return 0;
}

static void image_dir_close_blob(struct image_load *ld)
{
	struct stream_fd *src = ld->source_ctx;
	close(src->fd);
}

/* The manifest that a docker-archive lacks, so every stored image has one
 * (schema 2, as `docker save` of a pulled image would refer to). */
static void image_synth_manifest(struct image_found *f, struct mr_buf *out)
{
	struct mr_jw w;
	size_t i;
	mr_jw_init(&w, out, 3);
	mr_jw_obj(&w);
	mr_jw_key(&w, "schemaVersion");
	mr_jw_int(&w, 2);
	mr_jw_key(&w, "mediaType");
	mr_jw_str(&w, "application/vnd.docker.distribution.manifest.v2+json");
	mr_jw_key(&w, "config");
	mr_jw_obj(&w);
	mr_jw_key(&w, "mediaType");
	mr_jw_str(&w, "application/vnd.docker.container.image.v1+json");
	mr_jw_key(&w, "size");
	mr_jw_int(&w, (long long)f->config->bytes);
	mr_jw_key(&w, "digest");
	mr_jw_str(&w, f->config->digest);
	mr_jw_obj_end(&w);
	mr_jw_key(&w, "layers");
	mr_jw_arr(&w);
	for (i = 0; i < f->nlayers; i++) {
		const struct image_blob *l = f->layers[i];
		int plain = !strcmp(l->digest, l->diff_id);
		mr_jw_obj(&w);
		mr_jw_key(&w, "mediaType");
		mr_jw_str(&w, plain ? "application/vnd.docker.image.rootfs.diff.tar"
				    : "application/vnd.docker.image.rootfs.diff.tar.gzip");
		mr_jw_key(&w, "size");
		mr_jw_int(&w, (long long)l->bytes);
		mr_jw_key(&w, "digest");
		mr_jw_str(&w, l->digest);
		mr_jw_obj_end(&w);
	}
	mr_jw_arr_end(&w);
	mr_jw_obj_end(&w);
}

static int image_write_blob(struct mr_store *st, const char *digest, const void *data, size_t len,
			    struct mr_err *err)
{
	int dfd = openat(st->rootfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;
	if (dfd < 0)
		return mr_err_sys(err, "store %s/blobs/sha256", st->root);
	rc = util_exists_at(dfd, digest_hex(digest), AT_SYMLINK_NOFOLLOW) ? 0 :
	     mr_write_atomic(dfd, digest_hex(digest), data, len, 0600, err);
	close(dfd);
	return rc;
}

/* Docker's words when a loaded tag moves off another image (which keeps
 * its data, untagged). */
static void image_say_retag(const struct image_load *ld, const struct image_db *db,
			    const char *name, const char *id)
{
	size_t i;
	if (ld->quiet)
		return;
	for (i = 0; i < db->ntags; i++)
		if (!strcmp(db->tags[i].name, name) && strcmp(db->tags[i].id, id))
			printf("The image %s already exists, renaming the old one with ID %s "
			       "to empty string\n", name, db->tags[i].id);
}

/* Make the found images visible: layers renamed into layers/HEX (or dropped
 * when the store has them), blobs written, records and tags updated; all of
 * it under the store lock, after one syncfs so the renames publish data that
 * is on disk. */
static int image_commit(struct image_load *ld, struct image_found *found, size_t nfound,
			struct mr_err *err)
{
	struct mr_store *st = ld->st;
	struct image_db db;
	struct timespec now;
	size_t i, j;
	int rc = -1, layersfd = -1;
	if (syncfs(st->rootfd) < 0)
		return mr_err_sys(err, "sync store %s", st->root);
	if (mr_store_lock(st, err) < 0)
		return -1;
	if (image_db_read(st, &db, err) < 0)
		goto unlock;
	if (image_gc_intend(st, err) < 0)
		goto out;
	layersfd = openat(st->rootfd, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (layersfd < 0) {
		mr_err_sys(err, "store %s/layers", st->root);
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < nfound; i++) {
		struct image_found *f = &found[i];
		struct image_rec *r;
		struct mr_json_doc cfg = { 0 };
		struct mr_buf synth = { 0 };
		const char *created;
		for (j = 0; j < f->nlayers; j++) {
			struct image_blob *l = f->layers[j];
			const char *hex = digest_hex(l->diff_id);
			if (image_layer_ok(st, hex)) {
				/* already stored (by this load or an earlier one) */
				if (l->report && !ld->quiet)
					printf("%.12s: Already exists\n", digest_hex(l->diff_id));
				l->report = 0;
				continue;
			}
			if (l->tmpfd < 0) {
				/* skipped as stored, then removed by an rmi meanwhile */
				mr_err_set(err, MR_ENOTFOUND, "layer %s was removed from the store "
					   "during the load; try again", l->diff_id);
				goto out;
			}
			if (util_exists_at(layersfd, hex, AT_SYMLINK_NOFOLLOW))
				image_layer_drop(st, layersfd, hex);   /* a commit cut short */
			if (renameat(st->rootfd, l->tmpname, layersfd, hex) < 0 ||
			    mr_fsync_dir(layersfd, err) < 0) {
				mr_err_sys(err, "store layer %s", l->diff_id);
				goto out;
			}
			if (image_marks_kept(st) && image_layer_mark(st, hex, l->unpacked, err) < 0)
				goto out;
			close(l->tmpfd);
			l->tmpfd = -1;
			if (l->report)
				image_progress(ld, "Loading layer", l->diff_id + 7, l->unpacked, l->secs);
			l->report = 0;
		}
		if (image_write_blob(st, f->config->digest, f->config->data.data,
				     f->config->data.len, err) < 0)
			goto out;
		if (!f->manifest) {
			char digest[MR_DIGEST_LEN + 1];
			image_synth_manifest(f, &synth);
			mr_digest_buf(synth.data, synth.len, digest);
			rc = image_write_blob(st, digest, synth.data, synth.len, err);
			mr_buf_free(&synth);
			if (rc < 0)
				goto out;
			rc = -1;
			r = image_db_by_id(&db, f->config->digest);
			if (!r)
				r = image_db_add(&db);
			snprintf(r->manifest, sizeof r->manifest, "%s", digest);
		} else {
			if (image_write_blob(st, f->manifest->digest, f->manifest->data.data,
					     f->manifest->data.len, err) < 0)
				goto out;
			r = image_db_by_id(&db, f->config->digest);
			if (!r)
				r = image_db_add(&db);
			snprintf(r->manifest, sizeof r->manifest, "%s", f->manifest->digest);
		}
		snprintf(r->id, sizeof r->id, "%s", f->config->digest);
		util_time_rfc3339(&now, r->loaded, sizeof r->loaded);
		if (mr_json_parse(&cfg, f->config->data.data, f->config->data.len, err) < 0)
			goto out;
		created = mr_json_str(mr_json_get(cfg.root, "created"));
		snprintf(r->created, sizeof r->created, "%s", created ? created : "");
		mr_json_free(&cfg);
		free(r->layers);
		free(r->sizes);
		r->nlayers = f->nlayers;
		r->layers = util_xcalloc(f->nlayers, sizeof *r->layers);
		r->sizes = util_xcalloc(f->nlayers, sizeof *r->sizes);
		r->size = 0;
		for (j = 0; j < f->nlayers; j++) {
			memcpy(r->layers[j], digest_hex(f->layers[j]->diff_id), 65);
			r->sizes[j] = f->layers[j]->unpacked;
			r->size += r->sizes[j];
		}
		for (j = 0; j < f->nnames; j++) {
			image_say_retag(ld, &db, f->names[j], r->id);
			image_db_set_tag(&db, f->names[j], r->id);
		}
	}
	if (image_db_write(st, &db, err) < 0)
		goto out;
	image_gc(st, &db);
	rc = 0;
out:
	if (layersfd >= 0)
		close(layersfd);
	image_db_free(&db);
unlock:
	mr_store_unlock(st);
	return rc;
}

/* Walk an archive (tar, possibly gzip/zstd as a whole) taking every entry. */
static int image_scan_archive(struct image_load *ld, struct stream *in, struct mr_err *err)
{
	struct tar_reader tr;
	struct tar_entry e;
	int r;
	tar_reader_init(&tr, in);
	while ((r = tar_next(&tr, &e, err)) > 0) {
		if (e.type != TAR_REG)
			continue;
		if (image_take_entry(ld, e.path, tar_data_stream(&tr), e.size, err) < 0) {
			tar_reader_end(&tr);
			return -1;
		}
	}
	return r;
}

/* Load everything from a file, stdin or an OCI layout folder. */
static int image_load(struct image_load *ld, int fd, struct mr_err *err)
{
	struct image_db stored = { 0 };
	struct image_found *found = NULL;
	struct image_blob *mf, *idx;
	size_t nfound = 0, i, j;
	int rc = -1;
	if (ld->dirfd < 0) {
		struct stream_fd src;
		struct stream_decomp dec;
		stream_fd_init(&src, fd);
		if (stream_decomp_init(&dec, &src.s, err) < 0)
			return mr_err_ctx(err, "load %s", ld->source);
		rc = image_scan_archive(ld, &dec.s, err);
		stream_decomp_end(&dec);
		if (rc < 0) {
			mr_err_ctx(err, "load %s", ld->source);
			goto out;
		}
		rc = -1;
		mf = image_blob_by_path(ld, "manifest.json");
		idx = image_blob_by_path(ld, "index.json");
	} else {
		struct stream_fd src;
		int ifd = openat(ld->dirfd, "index.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (image_db_read(ld->st, &stored, err) == 0)
			ld->stored = &stored;
		mf = NULL;
		if (ifd < 0) {
			mr_err_sys(err, "load %s: index.json", ld->source);
			goto out;
		}
		stream_fd_init(&src, ifd);
		idx = image_blob_new(ld, "index.json", err);
		if (!idx || image_keep_meta(ld, &src.s, idx, err) < 0) {
			close(ifd);
			mr_err_ctx(err, "load %s", ld->source);
			goto out;
		}
		close(ifd);
	}
	if (mf)
		rc = image_resolve_docker(ld, mf, &found, &nfound, err);
	else if (idx)
		rc = image_resolve_oci(ld, idx, &found, &nfound, err);
	else
		rc = mr_err_set(err, MR_EINVAL_INPUT, "no manifest.json or index.json: not a "
				"docker or OCI image archive");
	if (rc < 0 || (rc = image_commit(ld, found, nfound, err)) < 0) {
		mr_err_ctx(err, "load %s", ld->source);
		goto out;
	}
	for (i = 0; i < nfound && !ld->quiet; i++) {
		for (j = 0; j < found[i].nnames; j++)
			printf("Loaded image: %s\n", found[i].names[j]);
		if (!found[i].nnames)
			printf("Loaded image ID: %s\n", found[i].config->digest);
	}
out:
	for (i = 0; i < nfound; i++)
		image_found_free(&found[i]);
	free(found);
	image_load_free(ld);
	image_db_free(&stored);
	ld->stored = NULL;
	return rc;
}
/* ======================== END src/09_image.c ======================== */

/* ======================== BEGIN src/10_volume.c ======================== */
#line 1 "src/10_volume.c"
/* ==== [10] VOLUME: named and anonymous volumes ====
 * root/volumes/NAME/_data is what containers mount; root/volumes/NAME/meta.json
 * holds CreatedAt, Labels and whether the volume is anonymous (made for an
 * image VOLUME or `-v /path`, removed with its container by `rm -v`/`--rm`).
 * A volume appears by one rename of a folder prepared under tmp/, under the
 * store lock, so a kill leaves no half volume. Its data is never copied: a
 * container mounts it; the one copy is the image's content filling a new,
 * empty volume on first use. */

struct volume_info {
	char name[256];
	char created[40];
	int anonymous;
	struct mr_json_doc meta;       /* Labels come from here */
};

/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
static int volume_name_valid(const char *name)
{
	size_t i, n = strlen(name);
	if (n < 2 || n > 255 || !isalnum((unsigned char)name[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return 0;
	return 1;
}

static int volume_dirfd(struct mr_store *st, struct mr_err *err)
{
	int fd = openat(st->rootfd, "volumes", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		mr_err_sys(err, "store %s/volumes", st->root);
	return fd;
}

static int volume_exists(struct mr_store *st, const char *name)
{
	char path[300];
	snprintf(path, sizeof path, "volumes/%s/_data", name);
	return volume_name_valid(name) && util_exists_at(st->rootfd, path, AT_SYMLINK_NOFOLLOW);
}

/* Where containers mount it. */
static int volume_data_path(struct mr_store *st, const char *name, char *out, size_t size)
{
	return snprintf(out, size, "%s/volumes/%s/_data", st->root, name) < (int)size ? 0 : -1;
}

/* Create NAME (a random 64-hex name when NULL or empty, written back into
 * name_out). An existing name is not an error: *created tells. Labels are
 * "K=V" strings. */
static int volume_create(struct mr_store *st, const char *name, const char *const *labels,
			 size_t nlabels, int anonymous, char *name_out, size_t out_size,
			 int *created, struct mr_err *err)
{
	char tmpname[128], vname[256];
	struct mr_buf meta = { 0 };
	struct mr_jw w;
	struct timespec now;
	char when[40];
	size_t i;
	int tmpfd = -1, volfd = -1, rc = -1;
	*created = 0;
	if (!name || !*name) {
		unsigned char rnd[32];
		if (util_random(rnd, sizeof rnd) < 0)
			return mr_err_sys(err, "volume name");
		util_hex(rnd, sizeof rnd, vname);
	} else if (!volume_name_valid(name)) {
		return mr_err_set(err, MR_EINVAL_INPUT, "create %s: \"%s\" includes invalid characters "
				  "for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
				  "allowed. If you intended to pass a host directory, use absolute "
				  "path", name, name);
	} else {
		snprintf(vname, sizeof vname, "%s", name);
	}
	if (name_out)
		snprintf(name_out, out_size, "%s", vname);
	for (i = 0; i < nlabels; i++)
		if (!*labels[i] || labels[i][0] == '=')
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid label '%s'", labels[i]);
	if (volume_exists(st, vname))
		return 0;
	tmpfd = mr_store_mktemp(st, "volume", tmpname, sizeof tmpname, err);
	if (tmpfd < 0)
		return -1;
	if (mkdirat(tmpfd, "_data", 0755) < 0) {
		mr_err_sys(err, "create volume %s", vname);
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec = 0;
	util_time_rfc3339(&now, when, sizeof when);
	/* Docker prints CreatedAt with seconds and an offset. */
	snprintf(when + 19, sizeof when - 19, "Z");
	mr_jw_init(&w, &meta, 0);
	mr_jw_obj(&w);
	mr_jw_key(&w, "CreatedAt");
	mr_jw_str(&w, when);
	mr_jw_key(&w, "Anonymous");
	mr_jw_bool(&w, anonymous);
	mr_jw_key(&w, "Labels");
	mr_jw_obj(&w);
	for (i = 0; i < nlabels; i++) {
		const char *eq = strchr(labels[i], '=');
		char key[256];
		snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - labels[i]) : 255, labels[i]);
		mr_jw_key(&w, key);
		mr_jw_str(&w, eq ? eq + 1 : "");
	}
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	/* A named volume is made durable (fsync of its record and of the folder
	 * it lands in). An anonymous one lives and dies with its container
	 * (often a --rm one) and would pay three fsyncs, ~11 ms on this
	 * machine's disk, on every run of an image with a VOLUME: it is only
	 * made atomic (the whole folder appears by rename), and a record lost to
	 * a power cut reads as an anonymous volume without metadata. */
	if (anonymous) {
		int fd = openat(tmpfd, "meta.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || util_write_all(fd, meta.data, meta.len) < 0) {
			mr_err_sys(err, "create volume %s: meta.json", vname);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
	} else if (mr_write_atomic(tmpfd, "meta.json", meta.data, meta.len, 0600, err) < 0) {
		goto out;
	}
	if (mr_store_lock(st, err) < 0)
		goto out;
	volfd = volume_dirfd(st, err);
	if (volfd >= 0) {
		if (renameat(st->rootfd, tmpname, volfd, vname) == 0) {
			*created = 1;
			rc = anonymous ? 0 : mr_fsync_dir(volfd, err);
		} else if (errno == EEXIST || errno == ENOTEMPTY) {
			rc = 0;  /* made by someone else meanwhile: same outcome */
		} else {
			mr_err_sys(err, "create volume %s", vname);
		}
		close(volfd);
	}
	mr_store_unlock(st);
out:
	if (!*created) {
		struct mr_err ignored;
		mr_remove_tree(st->rootfd, tmpname, &ignored);
	}
	close(tmpfd);
	mr_buf_free(&meta);
	return rc;
}

static int volume_read(struct mr_store *st, const char *name, struct volume_info *vi,
		       struct mr_err *err)
{
	char path[300];
	struct mr_buf buf = { 0 };
	const char *created;
	memset(vi, 0, sizeof *vi);
	if (!volume_exists(st, name))
		return mr_err_set(err, MR_ENOTFOUND, "No such volume: %s", name);
	snprintf(vi->name, sizeof vi->name, "%s", name);
	snprintf(path, sizeof path, "volumes/%s/meta.json", name);
	if (mr_read_file(st->rootfd, path, &buf, 65536, err) < 0 ||
	    mr_json_parse(&vi->meta, buf.data, buf.len, err) < 0) {
		/* A volume without readable metadata is still a volume. */
		mr_buf_free(&buf);
		return 0;
	}
	created = mr_json_str(mr_json_get(vi->meta.root, "CreatedAt"));
	snprintf(vi->created, sizeof vi->created, "%s", created ? created : "");
	vi->anonymous = mr_json_get(vi->meta.root, "Anonymous") &&
			mr_json_get(vi->meta.root, "Anonymous")->type == MR_JSON_TRUE;
	mr_buf_free(&buf);
	return 0;
}

/* Remove a volume's folder (volume_remove checked that no container uses
 * it). The rename first makes it vanish at once; the data goes after, never
 * crossing a mount. */
static int volume_remove_dir(struct mr_store *st, const char *name, struct mr_err *err)
{
	char tmpname[128];
	int volfd, tmpfd, rc;
	tmpfd = mr_store_mktemp(st, "rm-volume", tmpname, sizeof tmpname, err);
	if (tmpfd < 0)
		return -1;
	volfd = volume_dirfd(st, err);
	rc = volfd < 0 ? -1 : 0;
	if (rc == 0) {
		/* Refuse before anything moves if a mount is inside: the volume
		 * must stay whole when its removal cannot complete. */
		struct fs_mount_key top;
		int vfd = openat(volfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (vfd < 0 || fs_mount_key(vfd, &top) < 0)
			rc = mr_err_sys(err, "remove volume %s", name);
		else
			rc = fs_check_no_mounts(vfd, &top, name, 0, err);
		if (vfd >= 0)
			close(vfd);
		if (rc < 0)
			mr_err_ctx(err, "remove volume");
	}
	if (rc == 0 && renameat(volfd, name, tmpfd, "v") < 0)
		rc = mr_err_sys(err, "remove volume %s", name);
	if (volfd >= 0)
		close(volfd);
	if (rc == 0)
		rc = mr_remove_tree(tmpfd, "v", err);
	if (rc == 0)
		rc = mr_remove_tree(st->rootfd, tmpname, err);
	close(tmpfd);
	return rc;
}

/* Bytes under a folder as Docker counts them (for prune and system df): the
 * sizes of everything but folders; never follows symlinks; hard links
 * counted once per folder walk is not worth the memory here. */
static uint64_t volume_du(int dirfd, int depth)
{
	DIR *d;
	struct dirent *de;
	uint64_t total = 0;
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || depth > 256 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(sb.st_mode))
			total += (uint64_t)sb.st_size;
		if (S_ISDIR(sb.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				total += volume_du(sub, depth + 1);
				close(sub);
			}
		}
	}
	closedir(d);
	return total;
}

/* volume_du of a folder of the store (0 when it is missing). */
static uint64_t store_du(struct mr_store *st, const char *path)
{
	int fd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	uint64_t bytes = fd >= 0 ? volume_du(fd, 0) : 0;
	if (fd >= 0)
		close(fd);
	return bytes;
}

static int volume_cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every volume name, sorted (for ls and prune). */
static int volume_list(struct mr_store *st, char ***names, size_t *count, struct mr_err *err)
{
	int fd = volume_dirfd(st, err);
	DIR *d;
	struct dirent *de;
	*names = NULL;
	*count = 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!volume_name_valid(de->d_name) || !volume_exists(st, de->d_name))
			continue;
		*names = util_xrealloc(*names, (*count + 1) * sizeof **names);
		(*names)[(*count)++] = util_xstrdup(de->d_name);
	}
	closedir(d);
	qsort(*names, *count, sizeof **names, volume_cmp_names);
	return 0;
}

static void volume_free_names(char **names, size_t count)
{
	size_t i;
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* Containers (running or stopped) that mount a volume; fills `who` with
 * their ids as Docker prints them ("[id1 id2]" without brackets) and returns
 * how many. */
static int container_users_of_volume(struct mr_store *st, const char *name, char *who,
				     size_t size)
{
	/* Every container record (running or not) lists its mounts in
	 * HostConfig.Mounts, as mount_write_json wrote them. */
	int dfd = openat(st->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	size_t len = 0;
	int users = 0;
	if (size)
		who[0] = 0;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		char path[128];
		struct mr_buf buf = { 0 };
		struct mr_json_doc doc = { 0 };
		struct mr_err ignored;
		const struct mr_json *m;
		int uses = 0;
		if (strlen(de->d_name) != 64 || strspn(de->d_name, "0123456789abcdef") != 64)
			continue;
		snprintf(path, sizeof path, "%s/config.json", de->d_name);
		if (mr_read_file(dfd, path, &buf, MINIRUN_MAX_JSON, &ignored) == 0 &&
		    mr_json_parse(&doc, buf.data, buf.len, &ignored) == 0) {
			m = mr_json_get(mr_json_get(doc.root, "HostConfig"), "Mounts");
			for (m = m ? m->child : NULL; m && !uses; m = m->next) {
				const char *type = mr_json_str(mr_json_get(m, "Type"));
				const char *vol = mr_json_str(mr_json_get(m, "Name"));
				uses = type && vol && !strcmp(type, "volume") && !strcmp(vol, name);
			}
		}
		mr_json_free(&doc);
		mr_buf_free(&buf);
		if (!uses)
			continue;
		if (len + 68 < size) {
			len += (size_t)snprintf(who + len, size - len, "%s%s", users ? ", " : "",
						de->d_name);
		}
		users++;
	}
	closedir(d);
	return users;
}

/* Remove a volume that no container (running or stopped) uses. The rule
 * holds for every caller (volume rm and prune, rm -v, --rm, a failed run):
 * checked under the store lock, so that no container can be created with
 * it meanwhile; -f does not lift it (Docker's rule). */
static int volume_remove(struct mr_store *st, const char *name, struct mr_err *err)
{
	char who[512];
	int rc;
	if (mr_store_lock(st, err) < 0)
		return -1;
	if (!volume_exists(st, name))
		rc = mr_err_set(err, MR_ENOTFOUND, "No such volume: %s", name);
	else if (container_users_of_volume(st, name, who, sizeof who) > 0)
		rc = mr_err_set(err, MR_EINUSE, "remove %s: volume is in use - [%s]", name, who);
	else
		rc = volume_remove_dir(st, name, err);
	mr_store_unlock(st);
	return rc;
}
/* ======================== END src/10_volume.c ======================== */

/* ======================== BEGIN src/11_mounts.c ======================== */
#line 1 "src/11_mounts.c"
/* ==== [11] MOUNTS: volumes, bind mounts and tmpfs inside a container ====
 * Docker's three syntaxes (-v, --mount, --tmpfs) parse into one mount_spec.
 * Before the container starts, mount_prepare creates what must exist (a named
 * volume, a missing host folder for -v); inside the container's mount
 * namespace, before pivot_root, mount_apply resolves every target inside the
 * container's root (a symlink in the image cannot point a mount at the host)
 * and mounts onto the resolved fd through /proc/self/fd, so the path cannot
 * be swapped between the check and the mount. Nothing is ever copied but a
 * new, empty volume's first filling from the image. */

enum { MOUNT_VOLUME, MOUNT_BIND, MOUNT_TMPFS };

struct mount_spec {
	int type;
	char source[MINIRUN_MAX_PATH];  /* volume name or host path; "" for tmpfs */
	char target[MINIRUN_MAX_PATH];  /* absolute, inside the container */
	int readonly;
	int nocopy;                     /* do not fill a new volume from the image */
	int anonymous;                  /* removed with the container (rm -v, --rm) */
	int created;                    /* the volume was made for this container now */
	int from_v;                     /* came from -v (kept in HostConfig.Binds) */
	unsigned long propagation;      /* MS_PRIVATE, MS_SLAVE, MS_SHARED (| MS_REC) */
	char mode[32];                  /* the -v options as given, for inspect */
	char tmpfs_opts[128];           /* size=..,mode=.. */
};

static const struct { const char *name; unsigned long flags; } mount_propagations[] = {
	{ "rprivate", MS_PRIVATE | MS_REC }, { "private", MS_PRIVATE },
	{ "rslave", MS_SLAVE | MS_REC }, { "slave", MS_SLAVE },
	{ "rshared", MS_SHARED | MS_REC }, { "shared", MS_SHARED },
};

static const char *mount_propagation_name(unsigned long flags)
{
	size_t i;
	for (i = 0; i < sizeof mount_propagations / sizeof mount_propagations[0]; i++)
		if (mount_propagations[i].flags == flags)
			return mount_propagations[i].name;
	return "rprivate";
}

static int mount_set_propagation(struct mount_spec *m, const char *name)
{
	size_t i;
	for (i = 0; i < sizeof mount_propagations / sizeof mount_propagations[0]; i++)
		if (!strcmp(mount_propagations[i].name, name)) {
			m->propagation = mount_propagations[i].flags;
			return 0;
		}
	return -1;
}

/* An absolute path cleaned as Go's path.Clean does (Docker cleans a mount
 * destination before its checks): "//", "/./" and "x/.." go, ".." above the
 * root stays at the root, no trailing "/". `out` has at least strlen(in)+2. */
static void mount_clean(const char *in, char *out)
{
	size_t len = 0, n;
	const char *p = in;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "/");
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[--len] != '/') {}
		} else {
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
	}
	if (!len)
		out[len++] = '/';
	out[len] = 0;
}

static const char *const mount_type_names[] = { "volume", "bind", "tmpfs" };

/* The destination, cleaned first, then checked: relative paths and "/"
 * (also spelt "/..", "//", "/./x/..") are refused with Docker's words. m->type
 * must be known. */
static int mount_target_ok(struct mount_spec *m, const char *target, const char *arg,
			   struct mr_err *err)
{
	char clean[MINIRUN_MAX_PATH + 2];
	if (target[0] != '/')
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid mount config for %s: mount path "
				  "must be absolute", arg);
	if (strlen(target) >= MINIRUN_MAX_PATH)
		return mr_err_set(err, ENAMETOOLONG, "invalid mount config for %s: path too long", arg);
	mount_clean(target, clean);
	if (!strcmp(clean, "/"))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid mount config for type \"%s\": invalid "
				  "specification: destination can't be '/'", mount_type_names[m->type]);
	if (util_strlcpy(m->target, clean, sizeof m->target) < 0)
		return mr_err_set(err, ENAMETOOLONG, "invalid mount config for %s: path too long", arg);
	return 0;
}

/* `-v [SOURCE:]TARGET[:OPTIONS]`. */
static int mount_parse_v(const char *arg, struct mount_spec *m, struct mr_err *err)
{
	char buf[2 * MINIRUN_MAX_PATH], *parts[3] = { 0 }, *p, *opt, *save = NULL;
	int n = 0;
	memset(m, 0, sizeof *m);
	m->propagation = MS_PRIVATE | MS_REC;
	m->from_v = 1;
	if (util_strlcpy(buf, arg, sizeof buf) < 0 || !*arg)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid volume specification: '%s'", arg);
	for (p = buf; n < 3; n++) {
		parts[n] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = 0;
	}
	if (p || n == 3)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid volume specification: '%s'", arg);
	n++;
	if (n == 1) {
		m->type = MOUNT_VOLUME;
		m->anonymous = 1;
		return mount_target_ok(m, parts[0], arg, err);
	}
	if (n == 2 && parts[1][0] != '/') {
		/* "/target:ro": an anonymous volume with options */
		parts[2] = parts[1];
		parts[1] = parts[0];
		parts[0] = NULL;
		m->anonymous = 1;
	}
	if (!parts[0]) {
		m->type = MOUNT_VOLUME;
	} else if (parts[0][0] == '/') {
		m->type = MOUNT_BIND;
		snprintf(m->source, sizeof m->source, "%s", parts[0]);
	} else if (volume_name_valid(parts[0])) {
		m->type = MOUNT_VOLUME;
		snprintf(m->source, sizeof m->source, "%s", parts[0]);
	} else {
		return mr_err_set(err, MR_EINVAL_INPUT, "create %s: \"%s\" includes invalid characters "
				  "for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. "
				  "If you intended to pass a host directory, use absolute path", parts[0],
				  parts[0]);
	}
	if (mount_target_ok(m, parts[1], arg, err) < 0)
		return -1;
	if (parts[2]) {
		snprintf(m->mode, sizeof m->mode, "%s", parts[2]);
		for (opt = strtok_r(parts[2], ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
			if (!strcmp(opt, "ro"))
				m->readonly = 1;
			else if (!strcmp(opt, "rw"))
				m->readonly = 0;
			else if (!strcmp(opt, "nocopy") && m->type == MOUNT_VOLUME)
				m->nocopy = 1;
			else if (!strcmp(opt, "z") || !strcmp(opt, "Z") || !strcmp(opt, "consistent") ||
				 !strcmp(opt, "cached") || !strcmp(opt, "delegated"))
				continue;  /* SELinux labels and macOS hints: nothing to do */
			else if (m->type == MOUNT_BIND && mount_set_propagation(m, opt) == 0)
				continue;
			else
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid mode: %s", opt);
		}
	}
	return 0;
}

static int mount_bool(const char *v)
{
	return !v || !strcmp(v, "1") || !strcmp(v, "true");
}

/* `--mount type=volume|bind|tmpfs,source=..,target=..,readonly,...`. */
static int mount_parse_mount(const char *arg, struct mount_spec *m, struct mr_err *err)
{
	char buf[2 * MINIRUN_MAX_PATH], *kv, *save = NULL;
	const char *target = NULL;
	int have_type = 0;
	memset(m, 0, sizeof *m);
	m->propagation = MS_PRIVATE | MS_REC;
	if (util_strlcpy(buf, arg, sizeof buf) < 0)
		return mr_err_set(err, ENAMETOOLONG, "invalid argument for --mount: too long");
	for (kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (v)
			*v++ = 0;
		if (!strcmp(kv, "type") && v) {
			have_type = 1;
			if (!strcmp(v, "volume"))
				m->type = MOUNT_VOLUME;
			else if (!strcmp(v, "bind"))
				m->type = MOUNT_BIND;
			else if (!strcmp(v, "tmpfs"))
				m->type = MOUNT_TMPFS;
			else
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for "
						  "\"--mount\" flag: unsupported mount type: %s", arg, v);
		} else if ((!strcmp(kv, "source") || !strcmp(kv, "src")) && v) {
			snprintf(m->source, sizeof m->source, "%s", v);
		} else if ((!strcmp(kv, "target") || !strcmp(kv, "destination") ||
			    !strcmp(kv, "dst")) && v) {
			target = v;
		} else if (!strcmp(kv, "readonly") || !strcmp(kv, "ro")) {
			m->readonly = mount_bool(v);
		} else if (!strcmp(kv, "volume-nocopy")) {
			m->nocopy = mount_bool(v);
		} else if (!strcmp(kv, "bind-propagation") && v) {
			if (mount_set_propagation(m, v) < 0)
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid bind-propagation: %s", v);
		} else if (!strcmp(kv, "tmpfs-size") && v) {
			uint64_t size;
			if (util_parse_size(v, &size) < 0)
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid tmpfs-size: %s", v);
			snprintf(m->tmpfs_opts + strlen(m->tmpfs_opts),
				 sizeof m->tmpfs_opts - strlen(m->tmpfs_opts), "%ssize=%" PRIu64,
				 *m->tmpfs_opts ? "," : "", size);
		} else if (!strcmp(kv, "tmpfs-mode") && v) {
			if (strspn(v, "01234567") != strlen(v) || !*v || strlen(v) > 4)
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid tmpfs-mode: %s", v);
			snprintf(m->tmpfs_opts + strlen(m->tmpfs_opts),
				 sizeof m->tmpfs_opts - strlen(m->tmpfs_opts), "%smode=%s",
				 *m->tmpfs_opts ? "," : "", v);
		} else if (!strcmp(kv, "consistency") || !strcmp(kv, "volume-driver") ||
			   !strcmp(kv, "volume-label") || !strcmp(kv, "bind-nonrecursive")) {
			continue;
		} else {
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for \"--mount\" "
					  "flag: unexpected key '%s' in '%s'", arg, kv, arg);
		}
	}
	if (!have_type)
		m->type = MOUNT_VOLUME;
	if (target && mount_target_ok(m, target, arg, err) < 0)
		return -1;
	if (!m->target[0])
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for \"--mount\" "
				  "flag: target is required", arg);
	if (m->type == MOUNT_BIND && m->source[0] != '/')
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for \"--mount\" "
				  "flag: bind source must be an absolute path", arg);
	if (m->type == MOUNT_VOLUME && !m->source[0])
		m->anonymous = 1;
	if (m->type == MOUNT_VOLUME && m->source[0] && !volume_name_valid(m->source))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid volume name: %s", m->source);
	if (m->type == MOUNT_TMPFS && m->source[0])
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for \"--mount\" "
				  "flag: source is not supported for tmpfs mounts", arg);
	return 0;
}

/* `--tmpfs /path[:size=64m,mode=1777,...]`. */
static int mount_parse_tmpfs(const char *arg, struct mount_spec *m, struct mr_err *err)
{
	const char *colon = strchr(arg, ':');
	char target[MINIRUN_MAX_PATH];
	memset(m, 0, sizeof *m);
	m->type = MOUNT_TMPFS;
	snprintf(target, sizeof target, "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
	if (mount_target_ok(m, target, arg, err) < 0)
		return -1;
	if (colon) {
		char opts[128], *o, *save = NULL;
		snprintf(opts, sizeof opts, "%s", colon + 1);
		for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			uint64_t size;
			if (!strcmp(o, "ro"))
				m->readonly = 1;
			else if (util_starts_with(o, "size=") && util_parse_size(o + 5, &size) == 0)
				snprintf(m->tmpfs_opts + strlen(m->tmpfs_opts),
					 sizeof m->tmpfs_opts - strlen(m->tmpfs_opts), "%ssize=%" PRIu64,
					 *m->tmpfs_opts ? "," : "", size);
			else if (util_starts_with(o, "mode=") && strspn(o + 5, "01234567") == strlen(o + 5))
				snprintf(m->tmpfs_opts + strlen(m->tmpfs_opts),
					 sizeof m->tmpfs_opts - strlen(m->tmpfs_opts), "%s%s",
					 *m->tmpfs_opts ? "," : "", o);
			else if (!strcmp(o, "rw") || !strcmp(o, "noexec") || !strcmp(o, "exec") ||
				 !strcmp(o, "nosuid") || !strcmp(o, "nodev") || !strcmp(o, "suid") ||
				 !strcmp(o, "dev"))
				continue;  /* applied as flags in mount_apply */
			else
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid tmpfs option \"%s\" in %s",
						  o, arg);
		}
		snprintf(m->mode, sizeof m->mode, "%.31s", colon + 1);
	}
	return 0;
}

/* Before the container exists: make the named volume (or an anonymous one
 * with a fresh name), check or create the host path of a bind. */
static int mount_prepare(struct mr_store *st, struct mount_spec *m, struct mr_err *err)
{
	struct stat sb;
	if (m->type == MOUNT_VOLUME) {
		char name[256];
		if (volume_create(st, m->source[0] ? m->source : NULL, NULL, 0, m->anonymous, name,
				  sizeof name, &m->created, err) < 0)
			return -1;
		snprintf(m->source, sizeof m->source, "%s", name);
		return 0;
	}
	if (m->type != MOUNT_BIND)
		return 0;
	if (stat(m->source, &sb) == 0)
		return 0;
	if (errno != ENOENT || !m->from_v)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid mount config for type \"bind\": bind "
				  "source path does not exist: %s", m->source);
	/* -v creates a missing host folder, as Docker does. */
	{
		char path[MINIRUN_MAX_PATH], *p;
		snprintf(path, sizeof path, "%s", m->source);
		for (p = path + 1;; p++) {
			if (*p == '/' || !*p) {
				char c = *p;
				*p = 0;
				if (mkdir(path, 0755) < 0 && errno != EEXIST)
					return mr_err_sys(err, "create bind source %s", path);
				*p = c;
				if (!c)
					break;
			}
		}
	}
	return 0;
}

/* The host path a mount comes from. */
static int mount_source_path(struct mr_store *st, const struct mount_spec *m, char *out,
			     size_t size)
{
	if (m->type == MOUNT_VOLUME)
		return volume_data_path(st, m->source, out, size);
	return snprintf(out, size, "%s", m->source) < (int)size ? 0 : -1;
}

/* Fill a new, empty volume with what the image has at the target (owner and
 * mode kept), once, as Docker does; `nocopy` skips it. rootfd is the
 * container's assembled root, before any mount is applied. */
static int mount_copy_up(struct mr_store *st, int rootfd, const struct mount_spec *m,
			 struct mr_err *err)
{
	char path[MINIRUN_MAX_PATH];
	int src, dst, rc;
	if (m->type != MOUNT_VOLUME || !m->created || m->nocopy)
		return 0;
	src = mr_open_in_root(rootfd, m->target, O_RDONLY | O_DIRECTORY, 0, err);
	if (src < 0)
		return 0;  /* nothing at that path in the image: nothing to copy */
	if (mount_source_path(st, m, path, sizeof path) < 0 ||
	    (dst = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		close(src);
		return mr_err_sys(err, "volume %s", m->source);
	}
	rc = tar_apply_layer_dir(src, dst, 0, err);
	close(src);
	close(dst);
	return rc < 0 ? mr_err_ctx(err, "copy %s into volume %s", m->target, m->source) : 0;
}

/* ---- mounting inside a root, through /proc/self/fd ---- */

static void mount_fdpath(char *out, size_t size, int fd)
{
	snprintf(out, size, "/proc/self/fd/%d", fd);
}

/* Open `path` in the new root: kind 'd' a folder (created when missing), 'f'
 * a file (created when missing), 'x' whatever exists (-1, errno ENOENT, when
 * it does not). */
static int mount_open_in(int rootfd, const char *path, int kind, struct mr_err *err)
{
	if (kind == 'd')
		return mr_mkdir_in_root(rootfd, path, 0755, err);
	if (kind == 'f') {
		int fd = mr_open_in_root(rootfd, path, O_PATH, 0, err);
		if (fd >= 0 || err->code != ENOENT)
			return fd;
		{
			/* its folder first: /etc may be missing in a tiny image */
			char dir[MINIRUN_MAX_PATH];
			const char *slash = strrchr(path, '/');
			if (slash && slash != path) {
				snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
				fd = mr_mkdir_in_root(rootfd, dir, 0755, err);
				if (fd < 0)
					return -1;
				close(fd);
			}
		}
		return mr_open_in_root(rootfd, path, O_RDONLY | O_CREAT, 0644, err);
	}
	return mr_open_in_root(rootfd, path, O_PATH, 0, err);
}

/* Mount onto `path` inside the new root. With MS_BIND|MS_RDONLY the bind is
 * made first and then remounted read-only through a fresh fd of the new
 * mount (the first fd still names what lies under it). */
static int mount_in_root(int rootfd, const char *path, int kind, const char *src,
			   const char *type, unsigned long flags, const char *data, struct mr_err *err)
{
	char target[40];
	int fd = mount_open_in(rootfd, path, kind, err), rc;
	if (fd < 0)
		return mr_err_ctx(err, "mount %s", path);
	mount_fdpath(target, sizeof target, fd);
	rc = mount(src, target, type, (flags & MS_BIND) ? (flags & (MS_BIND | MS_REC)) : flags, data);
	close(fd);
	if (rc < 0)
		return mr_err_sys(err, "mount %s on %s", type ? type : src, path);
	if ((flags & MS_BIND) && (flags & ~(MS_BIND | MS_REC))) {
		fd = mr_open_in_root(rootfd, path, O_PATH, 0, err);
		if (fd < 0)
			return mr_err_ctx(err, "remount %s", path);
		mount_fdpath(target, sizeof target, fd);
		rc = mount(NULL, target, NULL, MS_REMOUNT | (flags & ~MS_REC), NULL);
		close(fd);
		if (rc < 0)
			return mr_err_sys(err, "remount %s read-only", path);
	}
	return 0;
}

/* Is word one of the comma-separated options of opts? */
static int mount_opt_has(const char *opts, const char *word)
{
	size_t n = strlen(word);
	const char *p;
	for (p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, word, n) && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

/* Inside the container's mount namespace, before pivot_root: mount m at its
 * target resolved inside rootfd (nodev: without a device cgroup). */
static int mount_apply(struct mr_store *st, int rootfd, const struct mount_spec *m, int nodev,
		       struct mr_err *err)
{
	char src[MINIRUN_MAX_PATH], at[40];
	/* Docker's flags: binds and volumes none of their own (read-only with
	 * :ro), tmpfs rw,nosuid,nodev,noexec; nodev on all without a device
	 * policy */
	unsigned long ro = (m->readonly ? MS_RDONLY : 0) | (nodev ? MS_NODEV : 0);
	struct stat sb;
	int fd, rc;
	if (m->type == MOUNT_TMPFS)
		return mount_in_root(rootfd, m->target, 'd', "tmpfs", "tmpfs",
				     MS_NOSUID | MS_NODEV | (mount_opt_has(m->mode, "exec") ? 0 : MS_NOEXEC) |
				     (m->readonly ? MS_RDONLY : 0), m->tmpfs_opts, err);
	if (mount_source_path(st, m, src, sizeof src) < 0 || stat(src, &sb) < 0)
		return mr_err_sys(err, "mount %s on %s", m->source, m->target);
	if (mount_in_root(rootfd, m->target, S_ISDIR(sb.st_mode) ? 'd' : 'f', src, NULL,
			  MS_BIND | MS_REC | ro, NULL, err) < 0)
		return -1;
	fd = mr_open_in_root(rootfd, m->target, O_PATH, 0, err);
	if (fd < 0)
		return -1;
	mount_fdpath(at, sizeof at, fd);
	rc = mount(NULL, at, NULL, m->propagation ? m->propagation : (MS_PRIVATE | MS_REC), NULL);
	close(fd);
	return rc < 0 ? mr_err_sys(err, "mount %s on %s: propagation", m->source, m->target) : 0;
}

/* The record of a mount in a container's config, and `inspect`'s Mounts
 * entry (Docker's shape). */
static void mount_write_json(struct mr_jw *w, struct mr_store *st, const struct mount_spec *m,
			     int for_inspect)
{
	char src[MINIRUN_MAX_PATH];
	static const char *const types[] = { "volume", "bind", "tmpfs" };
	mr_jw_obj(w);
	mr_jw_key(w, "Type");
	mr_jw_str(w, types[m->type]);
	if (m->type == MOUNT_VOLUME) {
		mr_jw_key(w, "Name");
		mr_jw_str(w, m->source);
	}
	mr_jw_key(w, "Source");
	if (m->type == MOUNT_TMPFS)
		mr_jw_str(w, "");
	else if (mount_source_path(st, m, src, sizeof src) == 0)
		mr_jw_str(w, src);
	else
		mr_jw_str(w, "");
	mr_jw_key(w, "Destination");
	mr_jw_str(w, m->target);
	if (m->type == MOUNT_VOLUME) {
		mr_jw_key(w, "Driver");
		mr_jw_str(w, "local");
	}
	mr_jw_key(w, "Mode");
	mr_jw_str(w, m->type == MOUNT_VOLUME && !m->mode[0] ? "z" : m->mode);
	mr_jw_key(w, "RW");
	mr_jw_bool(w, !m->readonly);
	mr_jw_key(w, "Propagation");
	mr_jw_str(w, m->type == MOUNT_BIND ? mount_propagation_name(m->propagation) : "");
	if (!for_inspect) {
		mr_jw_key(w, "Anonymous");
		mr_jw_bool(w, m->anonymous);
		mr_jw_key(w, "NoCopy");
		mr_jw_bool(w, m->nocopy);
		mr_jw_key(w, "FromV");
		mr_jw_bool(w, m->from_v);
		mr_jw_key(w, "TmpfsOptions");
		mr_jw_str(w, m->tmpfs_opts);
	}
	mr_jw_obj_end(w);
}

static int mount_read_json(const struct mr_json *v, struct mount_spec *m, struct mr_err *err)
{
	const char *type = mr_json_str(mr_json_get(v, "Type"));
	const char *name = mr_json_str(mr_json_get(v, "Name"));
	const char *src = mr_json_str(mr_json_get(v, "Source"));
	const char *dst = mr_json_str(mr_json_get(v, "Destination"));
	const char *mode = mr_json_str(mr_json_get(v, "Mode"));
	const char *prop = mr_json_str(mr_json_get(v, "Propagation"));
	const char *tmpfs = mr_json_str(mr_json_get(v, "TmpfsOptions"));
	memset(m, 0, sizeof *m);
	if (!type || !dst || dst[0] != '/')
		return mr_err_set(err, MR_EINVAL_INPUT, "damaged mount record");
	m->type = !strcmp(type, "volume") ? MOUNT_VOLUME : !strcmp(type, "bind") ? MOUNT_BIND :
		  MOUNT_TMPFS;
	snprintf(m->target, sizeof m->target, "%s", dst);
	if (m->type == MOUNT_VOLUME) {
		if (!name || !volume_name_valid(name))
			return mr_err_set(err, MR_EINVAL_INPUT, "damaged mount record: volume name");
		snprintf(m->source, sizeof m->source, "%s", name);
	} else if (m->type == MOUNT_BIND) {
		if (!src || src[0] != '/')
			return mr_err_set(err, MR_EINVAL_INPUT, "damaged mount record: bind source");
		snprintf(m->source, sizeof m->source, "%s", src);
	}
	snprintf(m->mode, sizeof m->mode, "%s", mode && strcmp(mode, "z") ? mode : "");
	m->readonly = mr_json_get(v, "RW") && mr_json_get(v, "RW")->type == MR_JSON_FALSE;
	m->anonymous = mr_json_get(v, "Anonymous") && mr_json_get(v, "Anonymous")->type == MR_JSON_TRUE;
	m->nocopy = mr_json_get(v, "NoCopy") && mr_json_get(v, "NoCopy")->type == MR_JSON_TRUE;
	m->from_v = mr_json_get(v, "FromV") && mr_json_get(v, "FromV")->type == MR_JSON_TRUE;
	m->propagation = MS_PRIVATE | MS_REC;
	if (prop && *prop)
		mount_set_propagation(m, prop);
	snprintf(m->tmpfs_opts, sizeof m->tmpfs_opts, "%s", tmpfs ? tmpfs : "");
	return 0;
}
/* ======================== END src/11_mounts.c ======================== */

/* ======================== BEGIN src/12_http.c ======================== */
#line 1 "src/12_http.c"
/* ==== [12] HTTP: name lookup (hosts, DNS), HTTP/1.1 client over TCP and BearSSL TLS ====
 * What a registry pull needs and no more: one connection at a time (a pull is
 * sequential, and one TLS engine is 17 KB of buffers), reused while requests
 * go to the same scheme, host and port (keep-alive); bounded response heads;
 * bodies (Content-Length, chunked, or up to the close) as a `struct stream`,
 * so a blob goes from the socket through the hashes into the extractor
 * without being stored. Timeouts on connect and on every read and write.
 * TLS: TLS 1.2 with ECDHE and AES-GCM or ChaCha20-Poly1305 (what registries,
 * CDNs and Go's TLS server offer), the chain checked against the CA bundle
 * plus Docker-style certs.d folders, and the host name (or IP address, which
 * BearSSL itself does not check) matched against the server certificate. */

#if MINIRUN_WITH_PULL
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

/* Where TLS trust comes from and where credentials live, unless MINIRUN_CA_FILE,
 * MINIRUN_CERTS_D or MINIRUN_AUTH_FILE say otherwise. */
#ifndef MINIRUN_DEFAULT_CA_FILE
#define MINIRUN_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#endif
#ifndef MINIRUN_DEFAULT_CONF
#define MINIRUN_DEFAULT_CONF "/etc/minirun"
#endif

#define HTTP_RBUF 8192                 /* read buffer; also the longest header line */
#define HTTP_MAX_HEAD (64u << 10)      /* all header lines of one response */
#define HTTP_URL_MAX 4096              /* signed CDN redirects run to 2 KB */

struct http_url {
	int tls;
	char host[256];                /* name or address, no IPv6 brackets */
	char port[6];
	char path[HTTP_URL_MAX];       /* path and query */
};

struct http_resp {
	int status;
	int close;                     /* the server closes after this response */
	int chunked;
	uint64_t length;               /* Content-Length, or UINT64_MAX */
	char location[HTTP_URL_MAX];
	char auth[1024];               /* WWW-Authenticate */
	char type[128];                /* Content-Type */
	char range[128];               /* Content-Range */
};

struct http_tls;

struct http_conn {
	int fd;                        /* -1 when closed */
	int tls;
	char host[256], port[6];
	int timeout;                   /* seconds for connect and each read/write */
	const char *ca_file;           /* --ca-file: replaces the CA bundle (as
					* MINIRUN_CA_FILE does); NULL: the default */
	int eof;                       /* the peer closed (TLS reports it as an I/O error) */
	int sys_errno;                 /* errno of the last socket failure */
	unsigned char rbuf[HTTP_RBUF];
	size_t rpos, rlen;
	struct http_tls *t;            /* allocated at the first https connection */
};

/* ---- base64 (basic auth, config.json's "auth", PEM) ---- */
static const char http_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* out must hold 4 * ((n + 2) / 3) + 1 bytes. */
static void http_b64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i;
	for (i = 0; i + 2 < n; i += 3, out += 4) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[0] = http_b64[v >> 18];
		out[1] = http_b64[(v >> 12) & 63];
		out[2] = http_b64[(v >> 6) & 63];
		out[3] = http_b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		out[0] = http_b64[v >> 18];
		out[1] = http_b64[(v >> 12) & 63];
		out[2] = i + 1 < n ? http_b64[(v >> 6) & 63] : '=';
		out[3] = '=';
		out += 4;
	}
	*out = 0;
}

/* Decode standard base64, blanks and line ends skipped, padding optional;
 * -1 on a bad character or when the result does not fit in size - 1 bytes.
 * The result is NUL-terminated; out may be in (decoding in place). */
static int http_b64_decode(const char *in, void *outp, size_t size, size_t *outlen)
{
	unsigned char *out = outp;
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;
	for (; *in && *in != '='; in++) {
		const char *c = memchr(http_b64, *in, 64);
		if (strchr(" \t\r\n", *in))
			continue;
		if (!c)
			return -1;
		acc = acc << 6 | (uint32_t)(c - http_b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= size)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	while (*in == '=' || (*in && strchr(" \t\r\n", *in)))
		in++;
	if (*in)
		return -1;
	out[n] = 0;
	*outlen = n;
	return 0;
}

/* Parse an absolute http(s) URL. User information ("user@host") is refused:
 * credentials never travel in URLs. */
static int http_url_parse(const char *s, struct http_url *u, struct mr_err *err)
{
	const char *p, *end, *hend, *rest;
	size_t n;
	for (p = s; *p; p++)  /* it ends up in a request line: no blanks, no controls */
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid character in URL %.200s", s);
	if (util_starts_with(s, "https://"))
		u->tls = 1, p = s + 8;
	else if (util_starts_with(s, "http://"))
		u->tls = 0, p = s + 7;
	else
		return mr_err_set(err, MR_EINVAL_INPUT, "unsupported URL %.200s", s);
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)))
		return mr_err_set(err, MR_EINVAL_INPUT, "URL with user information refused: %.200s", s);
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(end - p));
		if (!hend)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid URL %.200s", s);
		p++;
		rest = hend + 1;
	} else {
		hend = memchr(p, ':', (size_t)(end - p));
		if (!hend)
			hend = end;
		rest = hend;
	}
	n = (size_t)(hend - p);
	if (!n || n >= sizeof u->host)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid host in URL %.200s", s);
	memcpy(u->host, p, n);
	u->host[n] = 0;
	if (*rest == ':') {
		size_t k = (size_t)(end - rest - 1);
		uint64_t port;
		char num[8];
		if (!k || k > 5)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid port in URL %.200s", s);
		memcpy(num, rest + 1, k);
		num[k] = 0;
		if (util_parse_u64(num, &port) < 0 || !port || port > 65535)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid port in URL %.200s", s);
		snprintf(u->port, sizeof u->port, "%u", (unsigned)port);
	} else if (rest != end) {
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid URL %.200s", s);
	} else {
		snprintf(u->port, sizeof u->port, "%s", u->tls ? "443" : "80");
	}
	n = strcspn(end, "#");
	if (n + 2 > sizeof u->path)
		return mr_err_set(err, MR_EINVAL_INPUT, "URL too long: %.200s", s);
	snprintf(u->path, sizeof u->path, "%s%.*s", *end == '/' ? "" : "/", (int)n, end);
	return 0;
}

/* A Location header against the URL it answers: absolute, scheme-relative
 * ("//host/x") or an absolute path. */
static int http_url_resolve(const struct http_url *base, const char *loc, struct http_url *out,
			    struct mr_err *err)
{
	char abs[HTTP_URL_MAX + 16];
	if (loc[0] == '/' && loc[1] == '/') {
		snprintf(abs, sizeof abs, "%s:%s", base->tls ? "https" : "http", loc);
		return http_url_parse(abs, out, err);
	}
	if (loc[0] == '/') {
		*out = *base;
		if (strlen(loc) >= sizeof out->path)
			return mr_err_set(err, MR_EINVAL_INPUT, "redirect too long");
		snprintf(out->path, sizeof out->path, "%.*s", (int)strcspn(loc, "#"), loc);
		return 0;
	}
	return http_url_parse(loc, out, err);
}

/* "host", "host:port" or "[v6]:port" as the Host header wants it. */
static void http_hostport(const char *host, const char *port, int tls, char *out, size_t size)
{
	int v6 = strchr(host, ':') != NULL;
	int dflt = !strcmp(port, tls ? "443" : "80");
	snprintf(out, size, "%s%s%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "", dflt ? "" : ":",
		 dflt ? "" : port);
}

static void http_close(struct http_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rpos = c->rlen = 0;
}

/* A socket failure as an error naming the peer; a timeout reads as one. */
static int http_sys_fail(struct http_conn *c, int e, struct mr_err *err)
{
	errno = e == EAGAIN || e == EWOULDBLOCK ? ETIMEDOUT : e ? e : ECONNRESET;
	return mr_err_sys(err, "%s:%s", c->host, c->port);
}

/* TLS ([12] below; stubs when built without it: http_connect refuses
 * https first) */
static int tls_start(struct http_conn *c, struct mr_err *err);
static ssize_t tls_read(struct http_conn *c, void *buf, size_t n, struct mr_err *err);
static int tls_write(struct http_conn *c, const void *buf, size_t n, struct mr_err *err);
static void tls_free(struct http_conn *c);

/* ---- Name lookup: an address literal, /etc/hosts, then DNS over UDP to
 * the nameservers of /etc/resolv.conf (A and AAAA; "search" domains for names
 * with fewer dots than ndots; its timeout and attempts). This is what a
 * registry client needs of getaddrinfo, whose static copy costs about 13 KB
 * with the stdio and number scanners it brings along. Addresses come in the
 * order found, IPv4 answers first; http_connect tries them in turn. */

/* inet_pton for AF_INET and AF_INET6 (musl's is 0.8 KB): dotted quads of
 * decimal parts without leading zeros; eight hex groups, one "::" standing
 * for the zero groups it hides, a dotted quad allowed as the last 32 bits.
 * 1 when parsed, 0 when not. */
static int util_inet_pton(int af, const char *s, unsigned char *out)
{
	unsigned char b[16];
	int n = 0, gap = -1, i;
	if (af == AF_INET) {
		for (i = 0; i < 4; i++) {
			int v = 0, d = 0;
			for (; *s >= '0' && *s <= '9' && d < 4; s++, d++)
				v = v * 10 + (*s - '0');
			if (!d || d > 3 || v > 255 || (d > 1 && s[-d] == '0') || *s != (i < 3 ? '.' : 0))
				return 0;
			b[i] = (unsigned char)v;
			s++;
		}
		memcpy(out, b, 4);
		return 1;
	}
	if (af != AF_INET6)
		return 0;
	if (s[0] == ':' && s[1] != ':')
		return 0;
	while (n < 16) {
		unsigned v = 0;
		int d = 0;
		if (s[0] == ':' && s[1] == ':' && gap < 0) {
			gap = n;
			s += 2;
			if (!*s)
				break;
			continue;
		}
		if (strchr(s, ':') == NULL && strchr(s, '.') && n <= 12) {
			if (util_inet_pton(AF_INET, s, b + n) != 1)
				return 0;
			n += 4;
			s += strlen(s);
			break;
		}
		for (; d < 5 && isxdigit((unsigned char)*s); s++, d++)
			v = v * 16 + (unsigned)(*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10);
		if (!d || d > 4)
			return 0;
		b[n++] = (unsigned char)(v >> 8);
		b[n++] = (unsigned char)v;
		if (!*s)
			break;
		if (*s != ':' || (s[1] == ':' && gap >= 0) || (!s[1]))
			return 0;
		if (s[1] != ':')
			s++;
	}
	if (*s || (gap < 0 && n != 16) || (gap >= 0 && n > 14))
		return 0;
	memset(out, 0, 16);
	if (gap < 0) {
		memcpy(out, b, 16);
	} else {
		memcpy(out, b, (size_t)gap);
		memcpy(out + 16 - (n - gap), b + gap, (size_t)(n - gap));
	}
	return 1;
}

#define DNS_MAX_ADDRS 8

struct dns_addr {
	int family;                    /* AF_INET or AF_INET6 */
	unsigned char ip[16];
};

struct dns_conf {
	struct dns_addr server[3];
	int servers, ndots, timeout, attempts;
	char search[256];              /* space-separated domains */
};

struct dns_result {
	struct dns_addr addr[DNS_MAX_ADDRS];
	int n;
};

static void dns_add(struct dns_result *r, int family, const void *ip)
{
	if (r->n >= DNS_MAX_ADDRS)
		return;
	r->addr[r->n].family = family;
	memcpy(r->addr[r->n].ip, ip, family == AF_INET ? 4 : 16);
	r->n++;
}

/* A literal IPv4 or IPv6 address: added, and 1 returned. */
static int dns_literal(const char *s, struct dns_result *r)
{
	unsigned char ip[16];
	if (util_inet_pton(AF_INET, s, ip) == 1)
		dns_add(r, AF_INET, ip);
	else if (util_inet_pton(AF_INET6, s, ip) == 1)
		dns_add(r, AF_INET6, ip);
	else
		return 0;
	return 1;
}

/* Calls fn with the words of each line of a small text file (comments
 * after '#' dropped); missing files have no lines. */
static void dns_each_line(const char *path, void (*fn)(char words[][256], int n, void *ctx), void *ctx)
{
	struct mr_buf text = { 0 };
	struct mr_err ignored;
	const char *p;
	if (mr_read_file(AT_FDCWD, path, &text, 64 << 10, &ignored) < 0)
		return;
	for (p = text.data; p && *p;) {
		const char *nl = strchr(p, '\n'), *w;
		char line[512], words[8][256];
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		int n = 0;
		snprintf(line, sizeof line, "%.*s", (int)len, p);
		line[strcspn(line, "#;")] = 0;
		for (w = line; n < 8 && util_word(&w, words[n], sizeof words[n]) == 0; n++)
			;
		if (n > 0)
			fn(words, n, ctx);
		p = nl ? nl + 1 : NULL;
	}
	mr_buf_free(&text);
}

struct dns_hosts_ctx {
	const char *host;
	struct dns_result *r;
};

static void dns_hosts_line(char words[][256], int n, void *ctx)
{
	struct dns_hosts_ctx *h = ctx;
	int i;
	for (i = 1; i < n; i++)
		if (!strcasecmp(words[i], h->host)) {
			dns_literal(words[0], h->r);
			return;
		}
}

static void dns_conf_line(char words[][256], int n, void *ctx)
{
	struct dns_conf *conf = ctx;
	int i;
	if (!strcmp(words[0], "nameserver") && n > 1 && conf->servers < 3) {
		struct dns_result one = { .n = 0 };
		if (dns_literal(words[1], &one))
			conf->server[conf->servers++] = one.addr[0];
	} else if ((!strcmp(words[0], "search") || !strcmp(words[0], "domain")) && n > 1) {
		conf->search[0] = 0;
		for (i = 1; i < n; i++)
			snprintf(conf->search + strlen(conf->search), sizeof conf->search - strlen(conf->search),
				 "%s%s", i > 1 ? " " : "", words[i]);
	} else if (!strcmp(words[0], "options")) {
		for (i = 1; i < n; i++) {
			int *v = !strncmp(words[i], "ndots:", 6) ? &conf->ndots :
				 !strncmp(words[i], "timeout:", 8) ? &conf->timeout :
				 !strncmp(words[i], "attempts:", 9) ? &conf->attempts : NULL;
			if (v)
				*v = atoi(strchr(words[i], ':') + 1);
		}
	}
}

/* A query for name and type (1 A, 28 AAAA) into q (at least 300 bytes):
 * its length, or 0 when the name cannot be one. */
static size_t dns_query(unsigned char *q, uint16_t id, const char *name, int type)
{
	size_t at = 12;
	const char *label = name;
	memset(q, 0, 12);
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[2] = 1;                                  /* recursion desired */
	q[5] = 1;                                  /* one question */
	while (*label) {
		size_t len = strcspn(label, ".");
		if (len == 0 || len > 63 || at + len + 6 > 268)
			return 0;
		q[at++] = (unsigned char)len;
		memcpy(q + at, label, len);
		at += len;
		label += len + (label[len] == '.');
	}
	q[at++] = 0;
	q[at++] = 0;
	q[at++] = (unsigned char)type;
	q[at++] = 0;
	q[at++] = 1;                               /* class IN */
	return at;
}

/* Skips a (possibly compressed) name at *at; -1 past the end. */
static int dns_skip_name(const unsigned char *m, size_t len, size_t *at)
{
	while (*at < len) {
		unsigned char c = m[*at];
		if (c >= 0xc0) {
			*at += 2;
			return *at <= len ? 0 : -1;
		}
		*at += 1 + (size_t)c;
		if (c == 0)
			return 0;
	}
	return -1;
}

/* The addresses in an answer to query id: 0 with the answer's A/AAAA records
 * added (none for a name that does not exist), -1 when it is not one. */
static int dns_answer(const unsigned char *m, size_t len, uint16_t id, struct dns_result *r)
{
	size_t at = 12;
	int count;
	if (len < 12 || m[0] != (id >> 8) || m[1] != (id & 255) || !(m[2] & 0x80) ||
	    ((m[3] & 15) != 0 && (m[3] & 15) != 3) || m[5] != 1 || m[4] != 0)
		return -1;
	if (dns_skip_name(m, len, &at) < 0 || (at += 4) > len)
		return -1;
	for (count = m[6] << 8 | m[7]; count > 0; count--) {
		int type;
		size_t rdlen;
		if (dns_skip_name(m, len, &at) < 0 || at + 10 > len)
			return -1;
		type = m[at] << 8 | m[at + 1];
		rdlen = (size_t)(m[at + 8] << 8 | m[at + 9]);
		at += 10;
		if (at + rdlen > len)
			return -1;
		if ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16))
			dns_add(r, type == 1 ? AF_INET : AF_INET6, m + at);
		at += rdlen;
	}
	return 0;
}

static socklen_t dns_sockaddr(const struct dns_addr *a, int port, struct sockaddr_in6 *sa)
{
	memset(sa, 0, sizeof *sa);
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		memcpy(&in->sin_addr, a->ip, 4);
		return sizeof *in;
	}
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons((uint16_t)port);
	memcpy(&sa->sin6_addr, a->ip, 16);
	return sizeof *sa;
}

/* Asks the nameservers about one name (A and AAAA at once): 0 with the
 * addresses added (none if it does not exist), -1 when none answered. */
static int dns_ask(const struct dns_conf *conf, const char *name, struct dns_result *r)
{
	int attempt, s;
	for (attempt = 0; attempt < conf->attempts; attempt++)
		for (s = 0; s < conf->servers; s++) {
			unsigned char q[2][300], m[1232];
			size_t qlen[2];
			struct sockaddr_in6 sa;
			uint16_t id[2];
			int fd, got = 0, ok = 0, k;
			socklen_t salen = dns_sockaddr(&conf->server[s], 53, &sa);
			struct dns_result v4 = { .n = 0 }, v6 = { .n = 0 };
			if (util_random(id, sizeof id) < 0 ||
			    !(qlen[0] = dns_query(q[0], id[0], name, 1)) || !(qlen[1] = dns_query(q[1], id[1], name, 28)))
				return -1;
			fd = socket(conf->server[s].family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&sa, salen) < 0 ||
			    send(fd, q[0], qlen[0], 0) < 0 || send(fd, q[1], qlen[1], 0) < 0) {
				if (fd >= 0)
					close(fd);
				continue;
			}
			while (got < 2) {
				struct pollfd pfd = { fd, POLLIN, 0 };
				ssize_t n;
				if (poll(&pfd, 1, conf->timeout * 1000) <= 0 || (n = recv(fd, m, sizeof m, 0)) < 0)
					break;
				for (k = 0; k < 2; k++)
					if (!(got & (1 << k)) && dns_answer(m, (size_t)n, id[k], k ? &v6 : &v4) == 0)
						got |= 1 << k, ok++;
			}
			close(fd);
			if (ok == 2) {
				for (k = 0; k < v4.n; k++)
					dns_add(r, AF_INET, v4.addr[k].ip);
				for (k = 0; k < v6.n; k++)
					dns_add(r, AF_INET6, v6.addr[k].ip);
				return 0;
			}
		}
	return -1;
}

/* The addresses of host: 0, or -1 with err naming the host and why. */
static int dns_lookup(const char *host, const char *hosts_file, const char *resolv_file,
		      struct dns_result *r, struct mr_err *err)
{
	struct dns_conf conf = { .ndots = 1, .timeout = 5, .attempts = 2 };
	struct dns_hosts_ctx h = { host, r };
	const char *p, *dot;
	char name[512], domain[256];
	int dots = 0, answered = 0;
	r->n = 0;
	if (!*host)
		return mr_err_set(err, ENXIO, "lookup: empty host name");
	if (dns_literal(host, r))
		return 0;
	dns_each_line(hosts_file, dns_hosts_line, &h);
	if (r->n)
		return 0;
	dns_each_line(resolv_file, dns_conf_line, &conf);
	if (!conf.servers) {                       /* the resolvers' default */
		conf.servers = 1;
		conf.server[0].family = AF_INET;
		memcpy(conf.server[0].ip, "\177\0\0\1", 4);
	}
	conf.timeout = conf.timeout < 1 ? 1 : conf.timeout > 30 ? 30 : conf.timeout;
	conf.attempts = conf.attempts < 1 ? 1 : conf.attempts > 5 ? 5 : conf.attempts;
	for (dot = host; (dot = strchr(dot, '.')) != NULL; dot++)
		dots++;
	/* Short names try the search domains first, then the name itself. */
	for (p = conf.search; dots < conf.ndots && host[strlen(host) - 1] != '.' &&
	     util_word(&p, domain, sizeof domain) == 0;) {
		snprintf(name, sizeof name, "%s.%s", host, domain);
		if (dns_ask(&conf, name, r) == 0 && (answered = 1, r->n))
			return 0;
	}
	if (dns_ask(&conf, host, r) == 0 && (answered = 1, r->n))
		return 0;
	return mr_err_set(err, answered ? ENXIO : EAGAIN, "lookup %s: %s", host,
			  answered ? "no such host" : "no answer from the nameservers in /etc/resolv.conf");
}

static int http_connect(struct http_conn *c, const struct http_url *u, struct mr_err *err)
{
	struct dns_result addrs;
	struct timeval tv;
	int i, rc, fd = -1, saved = ECONNREFUSED;
	http_close(c);
	snprintf(c->host, sizeof c->host, "%s", u->host);
	snprintf(c->port, sizeof c->port, "%s", u->port);
	c->tls = u->tls;
	c->eof = c->sys_errno = 0;
	if (!MINIRUN_WITH_TLS && u->tls)
		return mr_err_set(err, MR_EDISABLED, "https://%s:%s: built without MINIRUN_WITH_TLS",
				  u->host, u->port);
	if (dns_lookup(u->host, "/etc/hosts", "/etc/resolv.conf", &addrs, err) < 0)
		return -1;
	for (i = 0; i < addrs.n; i++) {
		struct pollfd pfd;
		struct sockaddr_in6 sa;
		socklen_t len = sizeof saved, salen = dns_sockaddr(&addrs.addr[i], atoi(u->port), &sa);
		fd = socket(addrs.addr[i].family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, (struct sockaddr *)&sa, salen) == 0)
			break;
		saved = errno;
		if (saved == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			rc = poll(&pfd, 1, c->timeout * 1000);
			saved = rc == 0 ? ETIMEDOUT : rc < 0 ? errno : 0;
			if (!saved && getsockopt(fd, SOL_SOCKET, SO_ERROR, &saved, &len) < 0)
				saved = errno;
			if (!saved)
				break;
		}
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		errno = saved;
		return mr_err_sys(err, "connect to %s:%s", u->host, u->port);
	}
	/* Blocking from now on, each read and write bounded by the timeout. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	tv.tv_sec = c->timeout;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	c->fd = fd;
	if (c->tls && tls_start(c, err) < 0) {
		http_close(c);
		return -1;
	}
	return 0;
}

/* Socket reads and writes; 0 from a read is the peer's close. */
static ssize_t http_sock_read(struct http_conn *c, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = read(c->fd, buf, n);
		if (r > 0)
			return r;
		if (r == 0)
			c->eof = 1;
		else if (errno == EINTR)
			continue;
		else
			c->sys_errno = errno;
		return r;
	}
}

static int http_sock_write(struct http_conn *c, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			c->sys_errno = errno;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t http_raw_read(struct http_conn *c, void *buf, size_t n, struct mr_err *err)
{
	ssize_t r;
	if (c->tls)
		return tls_read(c, buf, n, err);
	r = http_sock_read(c, buf, n);
	return r < 0 ? http_sys_fail(c, c->sys_errno, err) : r;
}

static int http_raw_write(struct http_conn *c, const void *buf, size_t n, struct mr_err *err)
{
	if (c->tls)
		return tls_write(c, buf, n, err);
	return http_sock_write(c, buf, n) < 0 ? http_sys_fail(c, c->sys_errno, err) : 0;
}

/* More bytes into the read buffer: the count, 0 at the peer's close. */
static ssize_t http_fill(struct http_conn *c, struct mr_err *err)
{
	ssize_t r;
	if (c->rpos == c->rlen)
		c->rpos = c->rlen = 0;
	if (c->rpos && c->rlen == sizeof c->rbuf) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	r = http_raw_read(c, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen, err);
	if (r > 0)
		c->rlen += (size_t)r;
	return r;
}

/* One CRLF (or LF) terminated line without its end; lines longer than the
 * read buffer are refused. */
static int http_line(struct http_conn *c, char *line, size_t size, struct mr_err *err)
{
	for (;;) {
		unsigned char *nl = memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos);
		ssize_t r;
		if (nl) {
			size_t n = (size_t)(nl - (c->rbuf + c->rpos));
			if (n >= size)
				return mr_err_set(err, MR_EINVAL_INPUT, "%s: HTTP header line too long",
						  c->host);
			memcpy(line, c->rbuf + c->rpos, n);
			if (n && line[n - 1] == '\r')
				n--;
			line[n] = 0;
			c->rpos += (size_t)(nl - (c->rbuf + c->rpos)) + 1;
			return 0;
		}
		if (c->rlen - c->rpos >= size - 1 || (c->rpos == 0 && c->rlen == sizeof c->rbuf))
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: HTTP header line too long", c->host);
		r = http_fill(c, err);
		if (r < 0)
			return -1;
		if (r == 0)
			return mr_err_set(err, ECONNRESET, "%s:%s: connection closed by the server",
					  c->host, c->port);
	}
}

/* Case-insensitive "Name:" prefix; returns the value with blanks trimmed. */
static char *http_header_value(char *line, const char *name)
{
	size_t n = strlen(name);
	char *v, *e;
	if (strncasecmp(line, name, n) || line[n] != ':')
		return NULL;
	for (v = line + n + 1; *v == ' ' || *v == '\t'; v++) {}
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--) {}
	*e = 0;
	return v;
}

static int http_copy_header(char *dst, size_t size, const char *v, const char *name,
			    struct mr_err *err)
{
	if (util_strlcpy(dst, v, size) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "HTTP header %s too long", name);
	return 0;
}

/* Status line and headers of one response (1xx interim responses skipped). */
static int http_read_head(struct http_conn *c, struct http_resp *r, struct mr_err *err)
{
	char line[HTTP_RBUF];
	size_t total = 0;
	int interim = 0, minor;
	char *v;
again:
	r->status = 0;
	r->close = r->chunked = 0;
	r->length = UINT64_MAX;
	r->location[0] = r->auth[0] = r->type[0] = r->range[0] = 0;
	if (http_line(c, line, sizeof line, err) < 0)
		return -1;
	if (strncmp(line, "HTTP/1.", 7) || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
	    util_digits(line + 9, 3) < 100 || (line[12] && line[12] != ' '))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s:%s: not an HTTP/1.x response: %.60s",
				  c->host, c->port, line);
	minor = line[7] - '0';
	r->status = util_digits(line + 9, 3);
	r->close = minor == 0;
	for (;;) {
		if (http_line(c, line, sizeof line, err) < 0)
			return -1;
		if (!line[0])
			break;
		total += strlen(line) + 2;
		if (total > HTTP_MAX_HEAD)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: HTTP response head larger than %u bytes",
					  c->host, HTTP_MAX_HEAD);
		if ((v = http_header_value(line, "content-length"))) {
			uint64_t n;
			if (util_parse_u64(v, &n) < 0 || (r->length != UINT64_MAX && r->length != n))
				return mr_err_set(err, MR_EINVAL_INPUT, "%s: bad Content-Length %.40s",
						  c->host, v);
			r->length = n;
		} else if ((v = http_header_value(line, "transfer-encoding"))) {
			size_t n = strlen(v);
			r->chunked = n >= 7 && !strcasecmp(v + n - 7, "chunked");
			if (!r->chunked)
				return mr_err_set(err, MR_EINVAL_INPUT, "%s: unsupported "
						  "Transfer-Encoding %.40s", c->host, v);
		} else if ((v = http_header_value(line, "connection"))) {
			if (strcasestr(v, "close"))
				r->close = 1;
			else if (minor == 0 && strcasestr(v, "keep-alive"))
				r->close = 0;
		} else if ((v = http_header_value(line, "location"))) {
			if (http_copy_header(r->location, sizeof r->location, v, "Location", err) < 0)
				return -1;
		} else if ((v = http_header_value(line, "www-authenticate"))) {
			/* Several challenges: keep the first Bearer, else the first. */
			if ((!r->auth[0] || strncasecmp(r->auth, "bearer ", 7)) &&
			    http_copy_header(r->auth, sizeof r->auth, v, "WWW-Authenticate", err) < 0)
				return -1;
		} else if ((v = http_header_value(line, "content-type"))) {
			snprintf(r->type, sizeof r->type, "%s", v);
		} else if ((v = http_header_value(line, "content-range"))) {
			snprintf(r->range, sizeof r->range, "%s", v);
		}
	}
	if (r->status < 200 && r->status != 101 && ++interim < 8)
		goto again;
	if (r->chunked)
		r->length = UINT64_MAX;
	return 0;
}

/* ---- Response bodies as streams ---- */
enum { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED, HTTP_BODY_CLOSE };

struct http_body {
	struct stream s;
	struct http_conn *c;
	int mode;
	int done;                      /* the whole body was read */
	int keep;                      /* the connection may serve the next request */
	int crlf;                      /* chunked: a CRLF ends the previous chunk */
	uint64_t left;                 /* LENGTH: bytes left; CHUNKED: left in this chunk */
	uint64_t count;                /* bytes returned so far */
};

/* The size line of the next chunk (extensions ignored); the last chunk's
 * trailers are read and dropped. */
static int http_chunk_start(struct http_body *b, struct mr_err *err)
{
	char line[HTTP_RBUF];
	uint64_t size = 0;
	int digits = 0;
	const char *p;
	if (b->crlf) {
		if (http_line(b->c, line, sizeof line, err) < 0)
			return -1;
		if (line[0])
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: bad chunked encoding", b->c->host);
	}
	if (http_line(b->c, line, sizeof line, err) < 0)
		return -1;
	for (p = line; isxdigit((unsigned char)*p); p++) {
		if (++digits > 15)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: chunk too large", b->c->host);
		size = size * 16 + (uint64_t)(isdigit((unsigned char)*p) ? *p - '0' :
					      (tolower((unsigned char)*p) - 'a' + 10));
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (!digits || (*p && *p != ';'))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: bad chunk size line %.40s", b->c->host,
				  line);
	b->left = size;
	b->crlf = 1;
	if (size)
		return 0;
	do {            /* trailers, up to the empty line */
		if (http_line(b->c, line, sizeof line, err) < 0)
			return -1;
	} while (line[0]);
	b->done = 1;
	return 0;
}

static ssize_t http_body_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct http_body *b = (struct http_body *)s;
	struct http_conn *c = b->c;
	ssize_t r;
	size_t take = n;
	if (b->done || !n)
		return 0;
	if (b->mode == HTTP_BODY_CHUNKED && !b->left) {
		if (http_chunk_start(b, err) < 0)
			return -1;
		if (b->done)
			return 0;
	}
	if (b->mode != HTTP_BODY_CLOSE && take > b->left)
		take = (size_t)b->left;
	if (c->rpos < c->rlen) {
		r = (ssize_t)(c->rlen - c->rpos < take ? c->rlen - c->rpos : take);
		memcpy(buf, c->rbuf + c->rpos, (size_t)r);
		c->rpos += (size_t)r;
	} else {
		/* Large reads go straight to the caller's buffer. */
		r = http_raw_read(c, buf, take, err);
		if (r < 0)
			return -1;
	}
	if (r == 0) {
		if (b->mode == HTTP_BODY_CLOSE) {
			b->done = 1;
			return 0;
		}
		return mr_err_set(err, ECONNRESET, "%s:%s: connection closed after %" PRIu64
				  " bytes of the response", c->host, c->port, b->count);
	}
	b->count += (uint64_t)r;
	if (b->mode != HTTP_BODY_CLOSE) {
		b->left -= (uint64_t)r;
		if (b->mode == HTTP_BODY_LENGTH && !b->left)
			b->done = 1;
	}
	return r;
}

static void http_body_init(struct http_body *b, struct http_conn *c, const struct http_resp *r,
			   int head)
{
	memset(b, 0, sizeof *b);
	b->s.read = http_body_read;
	b->c = c;
	b->keep = !r->close;
	if (head || r->status == 204 || r->status == 304 || r->status < 200) {
		b->mode = HTTP_BODY_NONE;
		b->done = 1;
	} else if (r->chunked) {
		b->mode = HTTP_BODY_CHUNKED;
	} else if (r->length != UINT64_MAX) {
		b->mode = HTTP_BODY_LENGTH;
		b->left = r->length;
		b->done = !r->length;
	} else {
		b->mode = HTTP_BODY_CLOSE;
		b->keep = 0;
	}
}

/* Done with a response: the connection stays for the next request only
 * when its body was read to the end and the server keeps it open. */
static void http_body_end(struct http_body *b)
{
	if (!b->done || !b->keep)
		http_close(b->c);
}

/* Read a (small) body into buf, at most max bytes; the rest is dropped
 * (and the connection with it). */
static int http_body_slurp(struct http_body *b, struct mr_buf *buf, size_t max, struct mr_err *err)
{
	char chunk[4096];
	ssize_t r;
	while ((r = http_body_read(&b->s, chunk, sizeof chunk, err)) > 0) {
		if (buf->len + (size_t)r > max) {
			http_body_end(b);
			return mr_err_set(err, EFBIG, "%s: response larger than %zu bytes", b->c->host, max);
		}
		mr_buf_append(buf, chunk, (size_t)r);
	}
	if (r < 0) {
		http_close(b->c);
		return -1;
	}
	http_body_end(b);
	return 0;
}

/* Send one request and read the response's head, on the open connection
 * when it goes to the same place (once more on a fresh one if the server had
 * closed it meanwhile, as servers do with idle connections). `headers`: extra
 * header lines, each ending in CRLF. */
static int http_request(struct http_conn *c, const char *method, const struct http_url *u,
			const char *headers, struct http_resp *r, struct http_body *b,
			struct mr_err *err)
{
	struct mr_buf req = { 0 };
	char host[280];
	int attempt, rc = -1;
	http_hostport(u->host, u->port, u->tls, host, sizeof host);
	mr_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: minirun/" MINIRUN_VERSION
		      "\r\n%s\r\n", method, u->path, host, headers ? headers : "");
	for (attempt = 0; attempt < 2 && rc < 0; attempt++) {
		int reused = c->fd >= 0 && c->tls == u->tls && !strcmp(c->host, u->host) &&
			     !strcmp(c->port, u->port);
		if (!reused && http_connect(c, u, err) < 0)
			break;
		c->eof = c->sys_errno = 0;
		if (http_raw_write(c, req.data, req.len, err) == 0 && http_read_head(c, r, err) == 0) {
			rc = 0;
			break;
		}
		http_close(c);
		if (!reused)
			break;
	}
	mr_buf_free(&req);
	if (rc == 0)
		http_body_init(b, c, r, !strcmp(method, "HEAD"));
	return rc;
}

/* ---- TLS (BearSSL) ---- */
#if MINIRUN_WITH_TLS

struct tls_anchors {
	br_x509_trust_anchor *ta;
	size_t n, cap;
};

/* Client context, X.509 engine, our wrapper around it (IP address check),
 * trust anchors and the record buffer, allocated once per process. */
struct http_tls {
	br_ssl_client_context sc;
	br_x509_minimal_context xc;
	const br_x509_class *vtable;   /* the wrapper: what the engine calls */
	br_sslio_context io;
	struct tls_anchors anchors;    /* the bundle's first, then the host's certs.d */
	size_t nbundle;
	int bundle_loaded;
	char bundle_err[200];          /* why the bundle gave nothing */
	char extra_for[280];           /* host whose certs.d anchors are loaded */
	unsigned char ip[16];          /* the host is an IP address: check iPAddress SANs */
	size_t iplen;
	unsigned ncerts;
	size_t eelen;                  /* the end-entity certificate, kept for that check */
	int ee_over;
	unsigned char ee[8192];
	/* Input records of up to 16 KB, output records of 512 bytes (requests
	 * are small): half the RAM of BR_SSL_BUFSIZE_BIDI. */
	unsigned char buf[BR_SSL_BUFSIZE_INPUT + 512 + 85];
};

/* ---- Trust anchors ----
 * Certificates of a PEM file (the system bundle, a certs.d ca.crt) become
 * trust anchors: subject DN (as encoded) and public key, copied into one
 * allocation (dn.data, all there is to free). A short DER walk does this
 * instead of BearSSL's PEM and X.509 decoders (5 KB). Every anchor counts as
 * a CA: a bundle holds only CAs, and a self-signed registry certificate put
 * into certs.d then validates itself, as it does with Docker. */

/* The element at *p: tag, content and its length; *p moves past it. */
static int tls_der(const unsigned char **p, const unsigned char *end, int *tag,
		   const unsigned char **val, size_t *len)
{
	const unsigned char *q = *p;
	size_t n, k;
	if (end - q < 2)
		return -1;
	*tag = q[0];
	n = q[1];
	q += 2;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k < 1 || k > 3 || (size_t)(end - q) < k)
			return -1;
		for (n = 0; k; k--)
			n = n << 8 | *q++;
	}
	if ((size_t)(end - q) < n)
		return -1;
	*val = q;
	*len = n;
	*p = q + n;
	return 0;
}

/* Step into the SEQUENCE at *p: its content becomes [*p, *end). */
static int tls_der_enter(const unsigned char **p, const unsigned char **end)
{
	const unsigned char *v;
	size_t n;
	int tag;
	if (tls_der(p, *end, &tag, &v, &n) < 0 || (tag != 0x30 && tag != 0xa3))
		return -1;
	*p = v;
	*end = v + n;
	return 0;
}

/* INTEGER content without its leading zero bytes. */
static int tls_der_uint(const unsigned char **p, const unsigned char *end,
			const unsigned char **v, size_t *n)
{
	int tag;
	if (tls_der(p, end, &tag, v, n) < 0 || tag != 0x02)
		return -1;
	while (*n > 1 && !**v)
		(*v)++, (*n)--;
	return 0;
}

static void tls_add_anchor(struct tls_anchors *a, const unsigned char *cert, size_t len)
{
	static const unsigned char rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
	static const unsigned char ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
	static const unsigned char curves[3][9] = {  /* length, OID: P-256, P-384, P-521 */
		{ 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 },
		{ 5, 0x2b, 0x81, 0x04, 0x00, 0x22 }, { 5, 0x2b, 0x81, 0x04, 0x00, 0x23 },
	};
	const unsigned char *p = cert, *end = cert + len, *dn = NULL, *v, *q, *qe, *oid, *n, *e = NULL;
	size_t vlen, olen, nlen, elen = 0, dnlen = 0, i;
	br_x509_trust_anchor *ta;
	unsigned char *mem;
	int tag = 0, curve = 0;
	if (tls_der_enter(&p, &end) < 0 || tls_der_enter(&p, &end) < 0)  /* cert, tbs */
		return;
	/* [0] version, serial, signature, issuer, validity, subject, spki */
	for (i = 0; i < 7; i++) {
		const unsigned char *start = p;
		if (tls_der(&p, end, &tag, &v, &vlen) < 0)
			return;
		if (i == 0 && tag != 0xa0)
			i++;  /* a v1 certificate: no version */
		if (i == 5)
			dn = start, dnlen = (size_t)(p - start);
	}
	/* SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { alg, params }, BIT STRING } */
	if (tag != 0x30)
		return;
	p = v;
	end = v + vlen;
	if (tls_der(&p, end, &tag, &v, &vlen) < 0 || tag != 0x30)
		return;
	q = v;
	qe = v + vlen;
	if (tls_der(&q, qe, &tag, &oid, &olen) < 0 || tag != 0x06)
		return;
	if (olen == sizeof ec && !memcmp(oid, ec, olen)) {
		if (tls_der(&q, qe, &tag, &v, &vlen) < 0 || tag != 0x06)
			return;
		for (i = 0; i < 3; i++)
			if (vlen == curves[i][0] && !memcmp(v, curves[i] + 1, vlen))
				curve = BR_EC_secp256r1 + (int)i;
		if (!curve)
			return;
	} else if (olen != sizeof rsa || memcmp(oid, rsa, olen)) {
		return;  /* another key type (Ed25519...): skipped */
	}
	if (tls_der(&p, end, &tag, &n, &nlen) < 0 || tag != 0x03 || nlen < 2 || n[0])
		return;
	n++;
	nlen--;
	if (!curve) {  /* RSAPublicKey: SEQUENCE { modulus, exponent } */
		q = n;
		qe = n + nlen;
		if (tls_der_enter(&q, &qe) < 0 || tls_der_uint(&q, qe, &n, &nlen) < 0 ||
		    tls_der_uint(&q, qe, &e, &elen) < 0)
			return;
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->ta = util_xrealloc(a->ta, a->cap * sizeof *a->ta);
	}
	ta = &a->ta[a->n++];
	memset(ta, 0, sizeof *ta);
	mem = util_xmalloc(dnlen + nlen + elen);
	memcpy(mem, dn, dnlen);
	memcpy(mem + dnlen, n, nlen);
	if (elen)
		memcpy(mem + dnlen + nlen, e, elen);
	ta->dn.data = mem;
	ta->dn.len = dnlen;
	ta->flags = BR_X509_TA_CA;
	if (curve) {
		ta->pkey.key_type = BR_KEYTYPE_EC;
		ta->pkey.key.ec.curve = curve;
		ta->pkey.key.ec.q = mem + dnlen;
		ta->pkey.key.ec.qlen = nlen;
	} else {
		ta->pkey.key_type = BR_KEYTYPE_RSA;
		ta->pkey.key.rsa.n = mem + dnlen;
		ta->pkey.key.rsa.nlen = nlen;
		ta->pkey.key.rsa.e = mem + dnlen + nlen;
		ta->pkey.key.rsa.elen = elen;
	}
}

/* Every "CERTIFICATE" block of a PEM file, decoded in place. */
static int tls_load_pem(struct tls_anchors *a, int dirfd, const char *path, struct mr_err *err)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----", endm[] = "-----END CERTIFICATE-----";
	struct mr_buf buf = { 0 };
	char *p, *stop;
	if (mr_read_file(dirfd, path, &buf, 8u << 20, err) < 0) {
		mr_buf_free(&buf);
		return -1;
	}
	for (p = buf.data; p && (p = strstr(p, begin)) != NULL; p = stop + sizeof endm - 1) {
		size_t n;
		p += sizeof begin - 1;
		stop = strstr(p, endm);
		if (!stop)
			break;
		*stop = 0;
		if (http_b64_decode(p, p, (size_t)(stop - p) + 1, &n) == 0)
			tls_add_anchor(a, (unsigned char *)p, n);
	}
	mr_buf_free(&buf);
	return 0;
}

static void tls_anchors_truncate(struct tls_anchors *a, size_t n)
{
	while (a->n > n)
		free((void *)a->ta[--a->n].dn.data);
}

/* Docker's certs.d: every *.crt in DIR/HOST:PORT/ (and DIR/HOST/ for 443)
 * is an extra CA for that registry. */
static int tls_load_certs_d(struct http_tls *t, const char *host, const char *port,
			    struct mr_err *err)
{
	const char *base = getenv("MINIRUN_CERTS_D");
	char dir[MINIRUN_MAX_PATH], name[280];
	int pass;
	if (!base || !*base)
		base = MINIRUN_DEFAULT_CONF "/certs.d";
	for (pass = 0; pass < 2; pass++) {
		DIR *d;
		struct dirent *de;
		int dfd;
		if (pass == 0)
			http_hostport(host, port, 0, name, sizeof name);
		else if (!strcmp(port, "443"))
			http_hostport(host, "80", 0, name, sizeof name);  /* no port */
		else
			break;
		snprintf(dir, sizeof dir, "%s/%s", base, name);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			continue;
		}
		while ((de = readdir(d)) != NULL)
			if (util_ends_with(de->d_name, ".crt") &&
			    tls_load_pem(&t->anchors, dirfd(d), de->d_name, err) < 0) {
				closedir(d);
				return mr_err_ctx(err, "%s", dir);
			}
		closedir(d);
	}
	return 0;
}

/* The anchors for one server: the bundle (loaded once), plus its certs.d. */
static int tls_anchors_for(struct http_tls *t, const char *host, const char *port,
			   const char *ca_file, struct mr_err *err)
{
	char key[280];
	if (!t->bundle_loaded) {
		const char *path = ca_file ? ca_file : getenv("MINIRUN_CA_FILE");
		struct mr_err e2;
		if (!path || !*path)
			path = MINIRUN_DEFAULT_CA_FILE;
		if (tls_load_pem(&t->anchors, AT_FDCWD, path, &e2) < 0)
			snprintf(t->bundle_err, sizeof t->bundle_err, "%s", e2.msg);
		else if (!t->anchors.n)
			snprintf(t->bundle_err, sizeof t->bundle_err, "%s: no certificates", path);
		t->nbundle = t->anchors.n;
		t->bundle_loaded = 1;
	}
	snprintf(key, sizeof key, "%s:%s", host, port);
	if (strcmp(key, t->extra_for)) {
		tls_anchors_truncate(&t->anchors, t->nbundle);
		t->extra_for[0] = 0;
		if (tls_load_certs_d(t, host, port, err) < 0)
			return -1;
		snprintf(t->extra_for, sizeof t->extra_for, "%s", key);
	}
	if (!t->anchors.n)
		return mr_err_set(err, MR_EVERIFY, "%s: no trusted CA certificates (%s; set "
				  "MINIRUN_CA_FILE or add certs.d/%s/ca.crt)", host, t->bundle_err, key);
	return 0;
}

/* ---- Host names that are IP addresses ----
 * BearSSL matches the server name against dNSName entries only; for an
 * address the end-entity certificate's iPAddress entries are checked here,
 * after BearSSL validated the chain. A minimal DER walk: Certificate ->
 * tbsCertificate -> [3] extensions -> subjectAltName -> GeneralNames. */

static int tls_cert_has_ip(const unsigned char *cert, size_t len, const unsigned char *ip,
			   size_t iplen)
{
	static const unsigned char san_oid[] = { 0x55, 0x1d, 0x11 };
	const unsigned char *p = cert, *end = cert + len, *v, *e2;
	size_t n;
	int tag;
	if (tls_der(&p, end, &tag, &v, &n) < 0 || tag != 0x30)
		return 0;
	p = v;
	end = v + n;
	if (tls_der(&p, end, &tag, &v, &n) < 0 || tag != 0x30)      /* tbsCertificate */
		return 0;
	p = v;
	end = v + n;
	while (p < end) {
		if (tls_der(&p, end, &tag, &v, &n) < 0)
			return 0;
		if (tag != 0xa3)
			continue;
		p = v;
		end = v + n;
		if (tls_der(&p, end, &tag, &v, &n) < 0 || tag != 0x30)  /* Extensions */
			return 0;
		p = v;
		end = v + n;
		while (p < end) {
			const unsigned char *q, *oid;
			size_t olen;
			if (tls_der(&p, end, &tag, &v, &n) < 0 || tag != 0x30)
				return 0;
			q = v;
			e2 = v + n;
			if (tls_der(&q, e2, &tag, &oid, &olen) < 0 || tag != 0x06 ||
			    olen != sizeof san_oid || memcmp(oid, san_oid, olen))
				continue;
			if (tls_der(&q, e2, &tag, &v, &n) < 0)
				return 0;
			if (tag == 0x01 && tls_der(&q, e2, &tag, &v, &n) < 0)  /* critical */
				return 0;
			if (tag != 0x04)
				return 0;
			q = v;
			e2 = v + n;
			if (tls_der(&q, e2, &tag, &v, &n) < 0 || tag != 0x30)  /* GeneralNames */
				return 0;
			q = v;
			e2 = v + n;
			while (q < e2) {
				if (tls_der(&q, e2, &tag, &v, &n) < 0)
					return 0;
				if (tag == 0x87 && n == iplen && !memcmp(v, ip, n))
					return 1;
			}
			return 0;
		}
		return 0;
	}
	return 0;
}

#define TLS_OF(ctx) ((struct http_tls *)(void *)((char *)(ctx) - offsetof(struct http_tls, vtable)))

static void tls_x_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct http_tls *t = TLS_OF(ctx);
	t->ncerts = 0;
	t->eelen = 0;
	t->ee_over = 0;
	t->xc.vtable->start_chain(&t->xc.vtable, server_name);
}

static void tls_x_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct http_tls *t = TLS_OF(ctx);
	t->ncerts++;
	t->xc.vtable->start_cert(&t->xc.vtable, length);
}

static void tls_x_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct http_tls *t = TLS_OF(ctx);
	if (t->ncerts == 1 && t->iplen) {
		if (len > sizeof t->ee - t->eelen)
			t->ee_over = 1;
		else
			memcpy(t->ee + t->eelen, buf, len), t->eelen += len;
	}
	t->xc.vtable->append(&t->xc.vtable, buf, len);
}

static void tls_x_end_cert(const br_x509_class **ctx)
{
	struct http_tls *t = TLS_OF(ctx);
	t->xc.vtable->end_cert(&t->xc.vtable);
}

static unsigned tls_x_end_chain(const br_x509_class **ctx)
{
	struct http_tls *t = TLS_OF(ctx);
	unsigned r = t->xc.vtable->end_chain(&t->xc.vtable);
	if (r == 0 && t->iplen && (t->ee_over || !tls_cert_has_ip(t->ee, t->eelen, t->ip, t->iplen)))
		r = BR_ERR_X509_BAD_SERVER_NAME;
	return r;
}

static const br_x509_pkey *tls_x_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct http_tls *t = (const struct http_tls *)(const void *)
		((const char *)ctx - offsetof(struct http_tls, vtable));
	return t->xc.vtable->get_pkey(&t->xc.vtable, usages);
}

static const br_x509_class tls_x509_vtable = {
	sizeof(struct http_tls), tls_x_start_chain, tls_x_start_cert, tls_x_append,
	tls_x_end_cert, tls_x_end_chain, tls_x_get_pkey,
};

/* BearSSL's low-level I/O: -1 for an error or the peer's close (told apart
 * by c->eof when the error is reported). */
static int tls_sock_read(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t r = http_sock_read(ctx, buf, len);
	return r > 0 ? (int)r : -1;
}

static int tls_sock_write(void *ctx, const unsigned char *buf, size_t len)
{
	struct http_conn *c = ctx;
	ssize_t w;
	for (;;) {
		w = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (w >= 0)
			return (int)w;
		if (errno != EINTR) {
			c->sys_errno = errno;
			return -1;
		}
	}
}

/* The client profile: TLS 1.2 only, ECDHE key exchange with ECDSA or RSA
 * certificates, ChaCha20-Poly1305 first (fast without AES instructions, as on
 * most routers) then AES-GCM; P-256/384/521 and RSA through the shared i31
 * big-integer code. br_ssl_client_init_full would add TLS 1.0/1.1, static
 * RSA and ECDH, CBC, CCM and 3DES: tens of KB no registry needs. */
static void tls_profile(struct http_tls *t)
{
	static const uint16_t suites[] = {
		BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	};
	static const br_hash_class *const hashes[] = {
		&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
	};
	br_ssl_engine_context *eng = &t->sc.eng;
	size_t i;
	br_ssl_client_zero(&t->sc);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_x509_minimal_init(&t->xc, &br_sha256_vtable, t->anchors.ta, t->anchors.n);
	br_ssl_engine_set_suites(eng, suites, sizeof suites / sizeof suites[0]);
	br_ssl_engine_set_ec(eng, &br_ec_prime_i31);
	br_ssl_engine_set_ecdsa(eng, &br_ecdsa_i31_vrfy_asn1);
	br_ssl_engine_set_rsavrfy(eng, &br_rsa_i31_pkcs1_vrfy);
	br_x509_minimal_set_rsa(&t->xc, &br_rsa_i31_pkcs1_vrfy);
	br_x509_minimal_set_ecdsa(&t->xc, &br_ec_prime_i31, &br_ecdsa_i31_vrfy_asn1);
	for (i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
		int id = (int)((hashes[i]->desc >> BR_HASHDESC_ID_OFF) & BR_HASHDESC_ID_MASK);
		br_ssl_engine_set_hash(eng, id, hashes[i]);
		br_x509_minimal_set_hash(&t->xc, id, hashes[i]);
	}
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	/* One implementation each, constant-time and portable (the defaults
	 * would add AES-NI, PCLMUL and SSE2 variants with their fallbacks:
	 * 6 KB on x86_64 for speed a pull does not need). */
	br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
	br_ssl_engine_set_chacha20(eng, &br_chacha20_ct_run);
	br_ssl_engine_set_gcm(eng, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable);
#if UINTPTR_MAX > 0xffffffffu
	br_ssl_engine_set_poly1305(eng, &br_poly1305_ctmul_run);
	br_ssl_engine_set_aes_ctr(eng, &br_aes_ct64_ctr_vtable);
	br_ssl_engine_set_ghash(eng, &br_ghash_ctmul64);
#else
	br_ssl_engine_set_poly1305(eng, &br_poly1305_ctmul_run);
	br_ssl_engine_set_aes_ctr(eng, &br_aes_ct_ctr_vtable);
	br_ssl_engine_set_ghash(eng, &br_ghash_ctmul);
#endif
	t->vtable = &tls_x509_vtable;
	br_ssl_engine_set_x509(eng, &t->vtable);
	br_ssl_engine_set_buffer(eng, t->buf, sizeof t->buf, 1);
}

static int tls_start(struct http_conn *c, struct mr_err *err)
{
	struct http_tls *t = c->t;
	unsigned char seed[32];
	if (!t)
		t = c->t = util_xcalloc(1, sizeof *t);
	if (tls_anchors_for(t, c->host, c->port, c->ca_file, err) < 0)
		return -1;
	tls_profile(t);
	t->iplen = util_inet_pton(AF_INET, c->host, t->ip) == 1 ? 4 :
		   util_inet_pton(AF_INET6, c->host, t->ip) == 1 ? 16 : 0;
	if (util_random(seed, sizeof seed) == 0)
		br_ssl_engine_inject_entropy(&t->sc.eng, seed, sizeof seed);
	/* No SNI for an address (RFC 6066); BearSSL checks names, we check addresses. */
	if (!br_ssl_client_reset(&t->sc, t->iplen ? NULL : c->host, 0))
		return mr_err_set(err, EPROTO, "%s: TLS set-up failed (BearSSL error %d)", c->host,
				  br_ssl_engine_last_error(&t->sc.eng));
	br_sslio_init(&t->io, &t->sc.eng, tls_sock_read, c, tls_sock_write, c);
	return 0;
}

/* Why the engine stopped, in the words Go (and so Docker) uses. */
static int tls_fail(struct http_conn *c, struct mr_err *err)
{
	int e = br_ssl_engine_last_error(&c->t->sc.eng);
	const char *why = NULL;
	switch (e) {
	case BR_ERR_OK:
	case BR_ERR_IO:
		if (c->eof)
			return mr_err_set(err, ECONNRESET, "%s:%s: connection closed by the server",
					  c->host, c->port);
		return http_sys_fail(c, c->sys_errno, err);
	case BR_ERR_X509_NOT_TRUSTED:
		why = "certificate signed by unknown authority";
		break;
	case BR_ERR_X509_BAD_SERVER_NAME:
		return mr_err_set(err, MR_EVERIFY, "%s:%s: tls: failed to verify certificate: x509: "
				  "certificate is not valid for %s", c->host, c->port, c->host);
	case BR_ERR_X509_EXPIRED:
		why = "certificate has expired or is not yet valid (is the system clock right?)";
		break;
	case BR_ERR_X509_NOT_CA:
		why = "a certificate of the chain is not a CA";
		break;
	case BR_ERR_X509_BAD_SIGNATURE:
		why = "bad certificate signature";
		break;
	case BR_ERR_X509_WEAK_PUBLIC_KEY:
		why = "public key too weak";
		break;
	case BR_ERR_X509_FORBIDDEN_KEY_USAGE:
		why = "key usage forbids TLS server use";
		break;
	case BR_ERR_X509_UNSUPPORTED:
	case BR_ERR_X509_WRONG_KEY_TYPE:
		why = "unsupported certificate algorithm";
		break;
	}
	if (why)
		return mr_err_set(err, MR_EVERIFY, "%s:%s: tls: failed to verify certificate: x509: %s",
				  c->host, c->port, why);
	if (e >= BR_ERR_X509_OK && e <= BR_ERR_X509_NOT_TRUSTED)
		return mr_err_set(err, MR_EVERIFY, "%s:%s: tls: failed to verify certificate: x509: "
				  "invalid certificate (BearSSL error %d)", c->host, c->port, e);
	if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT)
		return mr_err_set(err, EPROTO, "%s:%s: tls: the server sent alert %d (handshake "
				  "failure: no common cipher suite or TLS 1.2?)", c->host, c->port,
				  e - BR_ERR_RECV_FATAL_ALERT);
	if (e == BR_ERR_UNSUPPORTED_VERSION || e == BR_ERR_BAD_VERSION || e == BR_ERR_BAD_LENGTH ||
	    e == BR_ERR_UNKNOWN_TYPE)
		return mr_err_set(err, EPROTO, "%s:%s: tls: not a TLS 1.2 server (a plain HTTP "
				  "registry needs --insecure-registry %s:%s)", c->host, c->port, c->host,
				  c->port);
	return mr_err_set(err, EPROTO, "%s:%s: tls: error %d (BearSSL)", c->host, c->port, e);
}

static ssize_t tls_read(struct http_conn *c, void *buf, size_t n, struct mr_err *err)
{
	int r = br_sslio_read(&c->t->io, buf, n > INT_MAX ? INT_MAX : n);
	if (r > 0)
		return r;
	/* A close_notify, or a plain close: the caller knows from the body
	 * framing whether that was the end. */
	if (br_ssl_engine_current_state(&c->t->sc.eng) == BR_SSL_CLOSED &&
	    (br_ssl_engine_last_error(&c->t->sc.eng) == BR_ERR_OK ||
	     (br_ssl_engine_last_error(&c->t->sc.eng) == BR_ERR_IO && c->eof)))
		return 0;
	return tls_fail(c, err);
}

static int tls_write(struct http_conn *c, const void *buf, size_t n, struct mr_err *err)
{
	if (br_sslio_write_all(&c->t->io, buf, n) < 0 || br_sslio_flush(&c->t->io) < 0)
		return tls_fail(c, err);
	return 0;
}

/* The connection's TLS context and its anchors. */
static void tls_free(struct http_conn *c)
{
	if (c->t) {
		tls_anchors_truncate(&c->t->anchors, 0);
		free(c->t->anchors.ta);
		free(c->t);
		c->t = NULL;
	}
}
#else /* !MINIRUN_WITH_TLS: never reached (http_connect refuses https) */
static int tls_start(struct http_conn *c, struct mr_err *err)
{
	return mr_err_set(err, MR_EDISABLED, "https://%s:%s: built without MINIRUN_WITH_TLS",
			  c->host, c->port);
}

static ssize_t tls_read(struct http_conn *c, void *buf, size_t n, struct mr_err *err)
{
	(void)buf; (void)n;
	return tls_start(c, err);
}

static int tls_write(struct http_conn *c, const void *buf, size_t n, struct mr_err *err)
{
	(void)buf; (void)n;
	return tls_start(c, err);
}

static void tls_free(struct http_conn *c)
{
	(void)c;
}
#endif /* MINIRUN_WITH_TLS */

#endif /* MINIRUN_WITH_PULL */
/* ======================== END src/12_http.c ======================== */

/* ======================== BEGIN src/13_pull.c ======================== */
#line 1 "src/13_pull.c"
/* ==== [13] PULL: registry client, auth, pull ====
 * The distribution API over the HTTP client: manifests by tag or digest (the
 * four OCI and Docker types), an index resolved to the wanted platform with
 * the load code's rules, then config and layers read through the load code's
 * pluggable blob source, so each layer streams from the socket through both
 * hashes into its temporary folder and is checked before the commit. Nothing
 * is stored that was not verified; a kill leaves the store as it was.
 * Auth: the bearer token flow (anonymous, or with the stored credentials) and
 * HTTP basic; tokens are kept per scope and fetched again when one expires.
 * A connection lost in the middle of a blob resumes with a Range request from
 * the byte reached; failed requests are retried with back-off. */

#if MINIRUN_WITH_PULL

#define PULL_TRIES 5                   /* attempts per request or blob */
#define PULL_MAX_REDIRECTS 5

static const char pull_accept[] =
	"Accept: application/vnd.oci.image.index.v1+json, "
	"application/vnd.oci.image.manifest.v1+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json, "
	"application/vnd.docker.distribution.manifest.v2+json\r\n";

/* ---- References, the way Docker parses them ----
 * busybox -> docker.io/library/busybox:latest; a first component with '.' or
 * ':' or "localhost" is a registry host; name@sha256:... pulls by digest. */
struct pull_ref {
	char domain[256];              /* docker.io, ghcr.io, 127.0.0.1:5000 */
	char repo[256];                /* library/busybox */
	char tag[129];                 /* empty when pulling by digest */
	char digest[MR_DIGEST_LEN + 1];
	int default_tag;               /* no tag was given: "latest" */
};

static int pull_repo_valid(const char *s)
{
	const char *p = s;
	if (!*s)
		return 0;
	while (*p) {
		/* component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
			return 0;
		while (*p && *p != '/') {
			if (islower((unsigned char)*p) || isdigit((unsigned char)*p)) {
				p++;
				continue;
			}
			if (*p == '.' || (*p == '_' && p[1] != '_'))
				p++;
			else if (*p == '_')
				p += 2;
			else if (*p == '-')
				while (*p == '-')
					p++;
			else
				return 0;
			if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
				return 0;
		}
		if (*p == '/' && !*++p)
			return 0;
	}
	return 1;
}

static int pull_ref_parse(const char *in, struct pull_ref *r, struct mr_err *err)
{
	char name[512];
	const char *at, *slash, *colon, *rest;
	size_t n, i;
	memset(r, 0, sizeof *r);
	if (image_ref_check(in, err) < 0)
		return -1;
	at = strchr(in, '@');
	n = at ? (size_t)(at - in) : strlen(in);
	if (!n || n >= sizeof name)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %.200s", in);
	memcpy(name, in, n);
	name[n] = 0;
	if (at) {
		if (mr_digest_valid(at + 1) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %.200s "
					  "(only sha256 digests)", in);
		snprintf(r->digest, sizeof r->digest, "%s", at + 1);
	}
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	if (colon && (!slash || colon > slash)) {
		const char *t = colon + 1;
		size_t tl = strlen(t);
		if (!tl || tl > 128 || !(isalnum((unsigned char)*t) || *t == '_'))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %.200s", in);
		for (i = 0; i < tl; i++)
			if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %.200s", in);
		if (!at)
			snprintf(r->tag, sizeof r->tag, "%s", t);
		name[colon - name] = 0;
	} else if (!at) {
		snprintf(r->tag, sizeof r->tag, "latest");
		r->default_tag = 1;
	}
	slash = strchr(name, '/');
	rest = name;
	if (slash && (memchr(name, '.', (size_t)(slash - name)) ||
		      memchr(name, ':', (size_t)(slash - name)) ||
		      !strncmp(name, "localhost/", 10))) {
		snprintf(r->domain, sizeof r->domain, "%.*s", (int)(slash - name), name);
		rest = slash + 1;
		for (i = 0; r->domain[i]; i++)
			if (!isalnum((unsigned char)r->domain[i]) && !strchr(".-:[]", r->domain[i]))
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %.200s", in);
	} else {
		snprintf(r->domain, sizeof r->domain, "docker.io");
	}
	if (!strcmp(r->domain, "index.docker.io"))
		snprintf(r->domain, sizeof r->domain, "docker.io");
	if (!strcmp(r->domain, "docker.io") && !strchr(rest, '/'))
		snprintf(r->repo, sizeof r->repo, "library/%s", rest);
	else if (util_strlcpy(r->repo, rest, sizeof r->repo) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %.200s", in);
	if (!pull_repo_valid(r->repo))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %.200s%s", in,
				  strpbrk(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ?
				  " (repository name must be lowercase)" : "");
	return 0;
}

/* Docker's short form of the repository: busybox, user/app, host:5000/app. */
static void pull_ref_familiar(const struct pull_ref *r, char *out, size_t size)
{
	if (strcmp(r->domain, "docker.io"))
		snprintf(out, size, "%s/%s", r->domain, r->repo);
	else if (util_starts_with(r->repo, "library/") && !strchr(r->repo + 8, '/'))
		snprintf(out, size, "%s", r->repo + 8);
	else
		snprintf(out, size, "%s", r->repo);
}

/* "busybox:latest" or "busybox@sha256:..." (full = 1: with docker.io/). */
static void pull_ref_name(const struct pull_ref *r, int full, char *out, size_t size)
{
	char fam[600];
	if (full)
		snprintf(fam, sizeof fam, "%s/%s", r->domain, r->repo);
	else
		pull_ref_familiar(r, fam, sizeof fam);
	snprintf(out, size, "%s%s%s", fam, r->digest[0] ? "@" : ":", r->digest[0] ? r->digest : r->tag);
}

/* Is host[:port] in a comma-separated list (--insecure-registry and
 * MINIRUN_INSECURE_REGISTRIES)? Plain HTTP is used only for those. */
static int pull_in_list(const char *list, const char *domain)
{
	size_t n = strlen(domain);
	while (list && *list) {
		size_t k = strcspn(list, ", ");
		if (k == n && !strncmp(list, domain, n))
			return 1;
		list += k;
		list += strspn(list, ", ");
	}
	return 0;
}

/* ---- WWW-Authenticate: Bearer realm="...",service="...",scope="..." ---- */
enum { PULL_AUTH_NONE, PULL_AUTH_BASIC, PULL_AUTH_BEARER };

struct pull_challenge {
	int scheme;
	char realm[1024], service[256], scope[512];
};

static int pull_parse_challenge(const char *h, struct pull_challenge *ch)
{
	const char *p = h;
	size_t n;
	memset(ch, 0, sizeof *ch);
	while (*p == ' ')
		p++;
	n = strcspn(p, " ");
	if (n == 6 && !strncasecmp(p, "bearer", 6))
		ch->scheme = PULL_AUTH_BEARER;
	else if (n == 5 && !strncasecmp(p, "basic", 5))
		ch->scheme = PULL_AUTH_BASIC;
	else
		return -1;
	p += n;
	for (;;) {
		char key[32], val[1024];
		size_t k = 0, v = 0;
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (*p && *p != '=' && *p != ',' && *p != ' ') {
			if (k + 1 < sizeof key)
				key[k++] = (char)tolower((unsigned char)*p);
			p++;
		}
		key[k] = 0;
		if (*p != '=')
			continue;  /* a bare token (token68): nothing we use */
		p++;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (v + 1 >= sizeof val)
					return -1;
				val[v++] = *p;
			}
			if (*p != '"')
				return -1;
			p++;
		} else {
			for (; *p && *p != ',' && *p != ' '; p++) {
				if (v + 1 >= sizeof val)
					return -1;
				val[v++] = *p;
			}
		}
		val[v] = 0;
		if (!strcmp(key, "realm") && util_strlcpy(ch->realm, val, sizeof ch->realm) < 0)
			return -1;
		if (!strcmp(key, "service") && util_strlcpy(ch->service, val, sizeof ch->service) < 0)
			return -1;
		if (!strcmp(key, "scope") && util_strlcpy(ch->scope, val, sizeof ch->scope) < 0)
			return -1;
	}
	return ch->scheme == PULL_AUTH_BEARER && !ch->realm[0] ? -1 : 0;
}

/* Append s percent-encoded (RFC 3986 unreserved characters kept). */
static void pull_urlenc(struct mr_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-._~", c))
			mr_buf_append(b, s, 1);
		else
			mr_buf_printf(b, "%%%02X", c);
	}
}

/* ---- Credentials: Docker's config.json shape, {"auths": {KEY: {"auth":
 * base64("user:password")}}}, in a file only root reads (0600). ---- */

static const char *pull_auth_file(void)
{
	const char *p = getenv("MINIRUN_AUTH_FILE");
	return p && *p ? p : MINIRUN_DEFAULT_CONF "/auth.json";
}

/* The key Docker uses: Docker Hub's historical URL, else host[:port]. */
static const char *pull_auth_key(const char *domain)
{
	return strcmp(domain, "docker.io") ? domain : "https://index.docker.io/v1/";
}

/* Does a config.json key name this registry? Keys may carry a scheme and a
 * path ("https://index.docker.io/v1/", "https://host:5000"). */
static int pull_auth_key_matches(const char *key, const char *domain)
{
	size_t n;
	if (util_starts_with(key, "https://"))
		key += 8;
	else if (util_starts_with(key, "http://"))
		key += 7;
	n = strcspn(key, "/");
	if (!strcmp(domain, "docker.io"))
		return (n == 15 && !strncmp(key, "index.docker.io", 15)) ||
		       (n == 9 && !strncmp(key, "docker.io", 9)) ||
		       (n == 20 && !strncmp(key, "registry-1.docker.io", 20));
	return n == strlen(domain) && !strncmp(key, domain, n);
}

/* The first member of config.json's "auths" object (NULL if none). */
static const struct mr_json *pull_auths(const struct mr_json_doc *doc)
{
	const struct mr_json *a = mr_json_get(doc->root, "auths");
	return a && a->type == MR_JSON_OBJECT ? a->child : NULL;
}

/* The stored "auth" for a registry (malloc'd), or NULL. A file that cannot
 * be read or parsed is an error: pulling anonymously instead would hide it. */
static int pull_creds_get(const char *domain, char **out, struct mr_err *err)
{
	struct mr_buf buf = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *a;
	const char *path = pull_auth_file();
	*out = NULL;
	if (mr_read_file(AT_FDCWD, path, &buf, 1u << 20, err) < 0) {
		mr_buf_free(&buf);
		return err->code == ENOENT ? 0 : -1;
	}
	if (mr_json_parse(&doc, buf.data, buf.len, err) < 0) {
		mr_buf_free(&buf);
		return mr_err_ctx(err, "%s", path);
	}
	for (a = pull_auths(&doc); a; a = a->next) {
		const char *auth = mr_json_str(mr_json_get(a, "auth"));
		if (auth && *auth && pull_auth_key_matches(a->key, domain)) {
			*out = util_xstrdup(auth);
			break;
		}
	}
	mr_json_free(&doc);
	mr_buf_free(&buf);
	return 0;
}

/* Store (auth != NULL) or remove the credentials of a registry, keeping
 * everything else in the file; written atomically, mode 0600. *found says
 * whether the registry had credentials before. */
static int pull_creds_set(const char *domain, const char *auth, int *found, struct mr_err *err)
{
	struct mr_buf buf = { 0 }, out = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *m, *a;
	struct mr_jw w;
	char dir[MINIRUN_MAX_PATH];
	const char *path = pull_auth_file(), *base;
	int dfd = -1, rc = -1;
	*found = 0;
	if (mr_read_file(AT_FDCWD, path, &buf, 1u << 20, err) < 0) {
		if (err->code != ENOENT)
			goto out;
	} else if (mr_json_parse(&doc, buf.data, buf.len, err) < 0) {
		mr_err_ctx(err, "%s", path);
		goto out;
	}
	mr_jw_init(&w, &out, 1);
	mr_jw_obj(&w);
	mr_jw_key(&w, "auths");
	mr_jw_obj(&w);
	for (a = pull_auths(&doc); a; a = a->next) {
		if (pull_auth_key_matches(a->key, domain)) {
			*found = 1;
			continue;
		}
		mr_jw_key(&w, a->key);
		mr_jw_value(&w, a);
	}
	if (auth) {
		mr_jw_key(&w, pull_auth_key(domain));
		mr_jw_obj(&w);
		mr_jw_key(&w, "auth");
		mr_jw_str(&w, auth);
		mr_jw_obj_end(&w);
	}
	mr_jw_obj_end(&w);
	for (m = doc.root && doc.root->type == MR_JSON_OBJECT ? doc.root->child : NULL; m; m = m->next)
		if (strcmp(m->key, "auths")) {
			mr_jw_key(&w, m->key);
			mr_jw_value(&w, m);
		}
	mr_jw_obj_end(&w);
	mr_buf_append(&out, "\n", 1);
	if (!auth && !*found) {
		rc = 0;
		goto out;
	}
	snprintf(dir, sizeof dir, "%s", path);
	base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : path;
	if (strrchr(dir, '/')) {
		*strrchr(dir, '/') = 0;
		if (!dir[0])
			snprintf(dir, sizeof dir, "/");
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			mr_err_sys(err, "%s", dir);
			goto out;
		}
	} else {
		snprintf(dir, sizeof dir, ".");
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		mr_err_sys(err, "%s", dir);
		goto out;
	}
	rc = mr_write_atomic(dfd, base, out.data, out.len, 0600, err);
	if (rc < 0)
		mr_err_ctx(err, "%s", path);
out:
	if (dfd >= 0)
		close(dfd);
	mr_json_free(&doc);
	mr_buf_free(&buf);
	mr_buf_free(&out);
	return rc;
}

/* ---- The registry client ---- */
struct pull_desc {
	char digest[MR_DIGEST_LEN + 1];
	uint64_t size;
	int layer;
	int fetched;                   /* downloaded by this pull (not in the store) */
};

struct pull {
	struct mr_store *st;
	struct pull_ref ref;
	struct http_url reg;           /* scheme, host and port of the registry */
	struct http_conn conn;
	struct http_resp resp;
	struct http_body body;
	char *basic;                   /* stored "auth" (base64 of user:password) */
	int use_basic;                 /* the registry asked for basic auth */
	int login;                     /* `login`: tokens without a repository scope */
	const char *insecure;          /* --insecure-registry list */
	char *scope, *token;           /* the bearer token and the scope it is for */
	struct image_load ld;
	int quiet, tty;
	FILE *out;                     /* progress: stdout for pull, stderr for run */
	struct pull_desc *descs;       /* config and layers of the manifest being pulled */
	size_t ndescs;
	uint64_t rate, rated;          /* --limit-rate (bytes/s, 0: none); bytes so far */
	double rate_t0;                /* when the first limited byte came */
	/* The blob being read */
	struct stream s;
	struct pull_desc *cur;
	char path[96];
	uint64_t got;
	int tries;
	size_t nblobs_before;
	double shown;
	/* A manifest read by digest while resolving an index */
	struct mr_buf mbuf;
	size_t mpos;
};

static int pull_retryable(const struct mr_err *err)
{
	switch (err->code) {
	case ECONNRESET: case ECONNREFUSED: case ECONNABORTED: case ETIMEDOUT: case EPIPE:
	case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN: case EAGAIN: case EIO:
		return 1;
	}
	return 0;
}

/* 1, 2, 4, 8 seconds between attempts. */
static void pull_backoff(struct pull *p, int attempt)
{
	struct timespec ts = { 1L << (attempt > 4 ? 3 : attempt - 1), 0 };
	http_close(&p->conn);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

/* The registry's error list ({"errors":[{"code","message"}]}) as Docker
 * shows it: "manifest unknown: manifest unknown". */
static void pull_registry_message(const struct mr_buf *body, char *out, size_t size)
{
	struct mr_json_doc doc = { 0 };
	struct mr_err ignored;
	const struct mr_json *e;
	out[0] = 0;
	if (!body->len || mr_json_parse(&doc, body->data, body->len, &ignored) < 0)
		return;
	e = mr_json_at(mr_json_get(doc.root, "errors"), 0);
	if (mr_json_str(mr_json_get(e, "code"))) {
		char code[64];
		size_t i;
		snprintf(code, sizeof code, "%s", mr_json_str(mr_json_get(e, "code")));
		for (i = 0; code[i]; i++)
			code[i] = code[i] == '_' ? ' ' : (char)tolower((unsigned char)code[i]);
		snprintf(out, size, "%s: %.200s", code,
			 mr_json_str(mr_json_get(e, "message")) ? mr_json_str(mr_json_get(e, "message")) : "");
	} else if (mr_json_str(mr_json_get(doc.root, "details"))) {  /* token servers */
		snprintf(out, size, "%.200s", mr_json_str(mr_json_get(doc.root, "details")));
	}
	mr_json_free(&doc);
}

/* An unexpected status as an error: 404 -> MR_ENOTFOUND, 429 and 5xx ->
 * EAGAIN (retried), 401/403 -> EACCES. */
static int pull_status_error(struct pull *p, const struct http_url *u, struct mr_err *err)
{
	struct mr_buf body = { 0 };
	struct mr_err ignored;
	char msg[300];
	int st = p->resp.status;
	int code = st == 404 ? MR_ENOTFOUND : st == 429 || st >= 500 ? EAGAIN :
		   st == 401 || st == 403 ? EACCES : MR_EINVAL_INPUT;
	http_body_slurp(&p->body, &body, 16u << 10, &ignored);
	pull_registry_message(&body, msg, sizeof msg);
	mr_buf_free(&body);
	if (msg[0])
		return mr_err_set(err, code, "%s", msg);
	return mr_err_set(err, code, "%s:%s: unexpected HTTP status %d", u->host, u->port, st);
}

static int pull_same_origin(const struct http_url *a, const struct http_url *b)
{
	return a->tls == b->tls && !strcmp(a->host, b->host) && !strcmp(a->port, b->port);
}

/* The "user" part of the stored credentials (the token server's account). */
static void pull_basic_user(const char *basic, char *user, size_t size)
{
	size_t n;
	user[0] = 0;
	if (basic && http_b64_decode(basic, user, size, &n) == 0)
		user[strcspn(user, ":")] = 0;
	else
		user[0] = 0;
}

/* Fetch a bearer token from the challenge's realm for its scope (or ours),
 * with the stored credentials when there are any. */
static int pull_get_token(struct pull *p, const struct pull_challenge *ch, struct mr_err *err)
{
	struct mr_buf url = { 0 }, hdr = { 0 }, body = { 0 };
	struct mr_json_doc doc = { 0 };
	struct http_url u;
	char scope[512], user[256];
	const char *tok, *sc;
	int rc = -1;
	if (ch->scope[0])
		snprintf(scope, sizeof scope, "%s", ch->scope);
	else if (!p->login)
		snprintf(scope, sizeof scope, "repository:%s:pull", p->ref.repo);
	else
		scope[0] = 0;
	mr_buf_printf(&url, "%s%c", ch->realm, strchr(ch->realm, '?') ? '&' : '?');
	if (ch->service[0]) {
		mr_buf_printf(&url, "service=");
		pull_urlenc(&url, ch->service);
	}
	/* Several scopes are separated by spaces: one parameter each. */
	for (sc = scope; *sc; sc += strspn(sc, " ")) {
		char one[512];
		size_t n = strcspn(sc, " ");
		snprintf(one, sizeof one, "%.*s", (int)n, sc);
		mr_buf_printf(&url, "&scope=");
		pull_urlenc(&url, one);
		sc += n;
	}
	pull_basic_user(p->basic, user, sizeof user);
	if (user[0]) {
		mr_buf_printf(&url, "&account=");
		pull_urlenc(&url, user);
		mr_buf_printf(&hdr, "Authorization: Basic %s\r\n", p->basic);
	}
	if (http_url_parse(url.data, &u, err) < 0)
		goto out;
	if (!u.tls && !pull_same_origin(&u, &p->reg)) {
		/* Credentials and tokens in clear only to a host listed as insecure. */
		char hp[280];
		snprintf(hp, sizeof hp, "%s:%s", u.host, u.port);
		if (!pull_in_list(p->insecure, hp) &&
		    !pull_in_list(getenv("MINIRUN_INSECURE_REGISTRIES"), hp)) {
			mr_err_set(err, EACCES, "token server %s: plain HTTP refused (not an "
				   "insecure registry)", hp);
			goto out;
		}
	}
	if (http_request(&p->conn, "GET", &u, hdr.len ? hdr.data : "", &p->resp, &p->body, err) < 0)
		goto out;
	if (p->resp.status != 200) {
		int st = p->resp.status;
		pull_status_error(p, &u, err);
		if (st == 401 || st == 403)
			mr_err_set(err, EACCES, "unauthorized: %s", user[0] ?
				   "incorrect username or password" : "authentication required");
		goto out;
	}
	if (http_body_slurp(&p->body, &body, 64u << 10, err) < 0 ||
	    mr_json_parse(&doc, body.data, body.len, err) < 0)
		goto out;
	tok = mr_json_str(mr_json_get(doc.root, "token"));
	if (!tok || !*tok)
		tok = mr_json_str(mr_json_get(doc.root, "access_token"));
	if (!tok || !*tok || strpbrk(tok, "\r\n")) {
		mr_err_set(err, MR_EINVAL_INPUT, "token server %s: no token in the answer", u.host);
		goto out;
	}
	free(p->token);
	free(p->scope);
	p->token = util_xstrdup(tok);
	p->scope = util_xstrdup(scope);
	rc = 0;
out:
	if (rc < 0)
		mr_err_ctx(err, "get token from %s", ch->realm);
	mr_json_free(&doc);
	mr_buf_free(&body);
	mr_buf_free(&url);
	mr_buf_free(&hdr);
	return rc;
}

/* A 401 from the registry: answer its challenge (once per request). */
static int pull_authorize(struct pull *p, const char *header, int sent, struct mr_err *err)
{
	struct pull_challenge ch;
	if (!header[0] || pull_parse_challenge(header, &ch) < 0)
		return mr_err_set(err, EACCES, "%s: unauthorized, with no usable WWW-Authenticate "
				  "challenge", p->ref.domain);
	if (ch.scheme == PULL_AUTH_BASIC) {
		if (!p->basic)
			return mr_err_set(err, EACCES, "%s: no basic auth credentials (minirun login %s)",
					  p->ref.domain, p->ref.domain);
		if (sent)
			return mr_err_set(err, EACCES, "%s: unauthorized: incorrect username or password",
					  p->ref.domain);
		p->use_basic = 1;
		return 0;
	}
	return pull_get_token(p, &ch, err);
}

/* One GET to the registry (path under /v2/<repo>/, or "/v2/" itself when
 * path is NULL): credentials for the registry only, redirects followed
 * without them, a 401 answered once. On success the response is 200 or 206
 * and p->body is ready. */
static int pull_open_once(struct pull *p, const char *path, const char *accept, uint64_t from,
			  struct mr_err *err)
{
	struct http_url u = p->reg;
	struct mr_buf hdr = { 0 };
	int redirects = 0, authed = 0, rc = -1;
	if (path)
		snprintf(u.path, sizeof u.path, "/v2/%s/%s", p->ref.repo, path);
	else
		snprintf(u.path, sizeof u.path, "/v2/");
	for (;;) {
		int to_reg = pull_same_origin(&u, &p->reg), sent = 0, st;
		hdr.len = 0;
		mr_buf_append(&hdr, NULL, 0);
		if (accept)
			mr_buf_printf(&hdr, "%s", accept);
		if (from)
			mr_buf_printf(&hdr, "Range: bytes=%" PRIu64 "-\r\n", from);
		if (to_reg && p->use_basic && p->basic)
			mr_buf_printf(&hdr, "Authorization: Basic %s\r\n", p->basic), sent = 1;
		else if (to_reg && p->token)
			mr_buf_printf(&hdr, "Authorization: Bearer %s\r\n", p->token), sent = 1;
		if (http_request(&p->conn, "GET", &u, hdr.data, &p->resp, &p->body, err) < 0)
			goto out;
		st = p->resp.status;
		if (st == 200 || st == 206) {
			rc = 0;
			goto out;
		}
		if ((st == 301 || st == 302 || st == 303 || st == 307 || st == 308) &&
		    p->resp.location[0]) {
			struct http_url next;
			struct mr_buf drop = { 0 };
			struct mr_err ignored;
			http_body_slurp(&p->body, &drop, 64u << 10, &ignored);
			mr_buf_free(&drop);
			if (++redirects > PULL_MAX_REDIRECTS) {
				mr_err_set(err, MR_EINVAL_INPUT, "%s: too many redirects", u.host);
				goto out;
			}
			if (http_url_resolve(&u, p->resp.location, &next, err) < 0)
				goto out;
			if (u.tls && !next.tls) {
				mr_err_set(err, EACCES, "%s: redirect from https to plain HTTP refused "
					   "(%s)", u.host, next.host);
				goto out;
			}
			u = next;
			continue;
		}
		if (st == 401 && to_reg && !authed++) {
			char challenge[sizeof p->resp.auth];
			struct mr_buf drop = { 0 };
			struct mr_err ignored;
			snprintf(challenge, sizeof challenge, "%s", p->resp.auth);
			http_body_slurp(&p->body, &drop, 64u << 10, &ignored);
			mr_buf_free(&drop);
			if (pull_authorize(p, challenge, sent, err) < 0)
				goto out;
			continue;
		}
		pull_status_error(p, &u, err);
		goto out;
	}
out:
	mr_buf_free(&hdr);
	return rc;
}

static int pull_open(struct pull *p, const char *path, const char *accept, struct mr_err *err)
{
	int attempt;
	for (attempt = 1;; attempt++) {
		if (pull_open_once(p, path, accept, 0, err) == 0)
			return 0;
		if (attempt >= PULL_TRIES || !pull_retryable(err))
			return -1;
		pull_backoff(p, attempt);
	}
}

/* A manifest or index (by tag or digest) into out, retried as a whole. */
static int pull_get_manifest(struct pull *p, const char *ref, struct mr_buf *out, struct mr_err *err)
{
	char path[200];
	int attempt;
	snprintf(path, sizeof path, "manifests/%s", ref);
	for (attempt = 1;; attempt++) {
		out->len = 0;
		if (pull_open_once(p, path, pull_accept, 0, err) == 0 &&
		    http_body_slurp(&p->body, out, MINIRUN_MAX_JSON, err) == 0)
			return 0;
		if (attempt >= PULL_TRIES || !pull_retryable(err))
			break;
		pull_backoff(p, attempt);
	}
	if (err->code == MR_ENOTFOUND) {
		char fam[600], msg[sizeof err->msg];
		snprintf(msg, sizeof msg, "%s", err->msg);
		pull_ref_familiar(&p->ref, fam, sizeof fam);
		mr_err_set(err, MR_ENOTFOUND, "manifest for %s%s%s not found: %s", fam,
			   strchr(ref, ':') ? "@" : ":", ref, msg);
	} else if (err->code == EACCES && !p->login && !strstr(err->msg, "no basic auth")) {
		char fam[600];
		pull_ref_familiar(&p->ref, fam, sizeof fam);
		mr_err_ctx(err, "pull access denied for %s, repository does not exist or may require "
			   "'minirun login'", fam);
	}
	return -1;
}

/* ---- Blobs: the load code's pluggable source ---- */

static void pull_meter(struct pull *p, int force)
{
	double now = image_now();
	char got[32], size[32];
	if (!p->tty || p->quiet || !p->cur || !p->cur->layer || (!force && now - p->shown < 0.1))
		return;
	p->shown = now;
	util_human_size(p->got, got, sizeof got);
	util_human_size(p->cur->size, size, sizeof size);
	fprintf(p->out, "\r\033[K%.12s: Downloading  %s/%s", digest_hex(p->cur->digest), got, size);
	fflush(p->out);
}

static void pull_say(struct pull *p, const char *digest, const char *what)
{
	if (p->quiet)
		return;
	fprintf(p->out, "%s%.12s: %s\n", p->tty ? "\r\033[K" : "", digest_hex(digest), what);
	fflush(p->out);
}

/* Start (or resume, from p->got) the current blob. A server that ignores
 * the Range answers 200: the bytes already passed on are skipped. */
static int pull_blob_start(struct pull *p, struct mr_err *err)
{
	uint64_t start = 0;
	if (pull_open_once(p, p->path, NULL, p->got, err) < 0)
		return -1;
	if (p->resp.status == 206) {
		const char *r = p->resp.range;
		uint64_t v = 0;
		if (strncmp(r, "bytes ", 6))
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: 206 without a Content-Range", p->conn.host);
		for (r += 6; *r >= '0' && *r <= '9' && v < UINT64_MAX / 10; r++)
			v = v * 10 + (uint64_t)(*r - '0');
		if (v != p->got || *r != '-')
			return mr_err_set(err, MR_EINVAL_INPUT, "%s: resumed at the wrong offset (%s)",
					  p->conn.host, p->resp.range);
		return 0;
	}
	while (start < p->got) {
		char buf[16384];
		uint64_t want = p->got - start;
		ssize_t r = http_body_read(&p->body.s, buf, want < sizeof buf ? (size_t)want : sizeof buf, err);
		if (r <= 0)
			return r < 0 ? -1 : mr_err_set(err, ECONNRESET, "%s: blob shorter on retry",
						       p->conn.host);
		start += (uint64_t)r;
	}
	return 0;
}

/* --limit-rate: sleep while the bytes read so far are ahead of rate x time
 * (the socket's buffers then fill and TCP slows the sender down: a device on
 * a thin link keeps the rest of it). Over the whole pull, retries included. */
static void pull_pace(struct pull *p, uint64_t got)
{
	double now = image_now(), due;
	if (!p->rate)
		return;
	if (!p->rated)
		p->rate_t0 = now;
	p->rated += got;
	due = p->rate_t0 + (double)p->rated / (double)p->rate;
	if (due > now) {
		struct timespec t;
		t.tv_sec = (time_t)(due - now);
		t.tv_nsec = (long)((due - now - (double)t.tv_sec) * 1e9);
		while (nanosleep(&t, &t) < 0 && errno == EINTR) {}
	}
}

static ssize_t pull_blob_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct pull *p = (struct pull *)(void *)((char *)s - offsetof(struct pull, s));
	for (;;) {
		uint64_t left = p->cur->size - p->got;
		ssize_t r;
		if (!left)
			return 0;  /* never more than the descriptor says */
		if (p->rate && n > p->rate / 8 + 1)
			n = (size_t)(p->rate / 8 + 1);   /* short reads: an even pace */
		r = http_body_read(&p->body.s, buf, n < left ? n : (size_t)left, err);
		if (r == 0)
			r = mr_err_set(err, ECONNRESET, "%s: blob ended after %" PRIu64 " of %" PRIu64
				       " bytes", p->conn.host, p->got, p->cur->size);
		if (r > 0) {
			p->got += (uint64_t)r;
			pull_pace(p, (uint64_t)r);
			pull_meter(p, 0);
			return r;
		}
		for (;;) {
			if (!pull_retryable(err) || ++p->tries >= PULL_TRIES)
				return mr_err_ctx(err, "blob %.19s", p->cur->digest);
			if (p->cur->layer && !p->quiet) {
				char msg[64];
				snprintf(msg, sizeof msg, "Retrying in %d second%s", 1 << (p->tries - 1),
					 p->tries > 1 ? "s" : "");
				pull_say(p, p->cur->digest, msg);
			}
			pull_backoff(p, p->tries);
			if (pull_blob_start(p, err) == 0)
				break;
		}
	}
}

/* A manifest fetched while resolving a (nested) index, as a stream. */
static ssize_t pull_mem_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct pull *p = (struct pull *)(void *)((char *)s - offsetof(struct pull, s));
	size_t k = p->mbuf.len - p->mpos < n ? p->mbuf.len - p->mpos : n;
	(void)err;
	memcpy(buf, p->mbuf.data + p->mpos, k);
	p->mpos += k;
	return (ssize_t)k;
}

static struct pull_desc *pull_desc_find(struct pull *p, const char *digest)
{
	size_t i;
	for (i = 0; i < p->ndescs; i++)
		if (!strcmp(p->descs[i].digest, digest))
			return &p->descs[i];
	return NULL;
}

static int pull_open_blob(struct image_load *ld, const char *digest, struct stream **in,
			  uint64_t *size, struct mr_err *err)
{
	struct pull *p = ld->source_ctx;
	p->cur = pull_desc_find(p, digest);
	p->nblobs_before = ld->nblobs;
	if (!p->cur) {
		/* Not a config or layer: a manifest or index an index points to. */
		if (pull_get_manifest(p, digest, &p->mbuf, err) < 0)
			return -1;
		p->mpos = 0;
		p->s.read = pull_mem_read;
		*in = &p->s;
		*size = p->mbuf.len;
		return 0;
	}
	snprintf(p->path, sizeof p->path, "blobs/%s", digest);
	p->got = 0;
	p->tries = 0;
	p->shown = image_now();
	for (;;) {
		if (pull_blob_start(p, err) == 0)
			break;
		if (!pull_retryable(err) || ++p->tries >= PULL_TRIES)
			return mr_err_ctx(err, "blob %.19s", digest);
		pull_backoff(p, p->tries);
	}
	p->s.read = pull_blob_read;
	*in = &p->s;
	*size = p->cur->size;
	return 0;
}

static void pull_close_blob(struct image_load *ld)
{
	struct pull *p = ld->source_ctx;
	struct image_blob *b = ld->nblobs > p->nblobs_before ? ld->blobs[ld->nblobs - 1] : NULL;
	if (!p->cur)
		return;
	http_body_end(&p->body);
	if (p->cur->layer && b && !b->failure && !strcmp(b->digest, p->cur->digest)) {
		pull_say(p, p->cur->digest, "Verifying Checksum");
		pull_say(p, p->cur->digest, "Download complete");
		p->cur->fetched = 1;
	}
	p->cur = NULL;
}

/* ---- Pulling one image ---- */

/* Register a manifest read from the registry as a blob of the load; pulled
 * by digest, its content must hash to it. */
static struct image_blob *pull_add_manifest(struct pull *p, struct mr_buf *body, const char *want,
					    struct mr_err *err)
{
	char digest[MR_DIGEST_LEN + 1], path[96];
	struct image_blob *b;
	mr_digest_buf(body->data, body->len, digest);
	if (want && strcmp(digest, want)) {
		mr_err_set(err, MR_EVERIFY, "manifest %s: digest mismatch (content is %s)", want, digest);
		return NULL;
	}
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(digest));
	b = image_blob_by_path(&p->ld, path);
	if (b)
		return b;
	b = image_blob_new(&p->ld, path, err);
	if (!b)
		return NULL;
	b->data = *body;
	memset(body, 0, sizeof *body);
	snprintf(b->digest, sizeof b->digest, "%s", digest);
	b->bytes = b->data.len;
	p->ld.meta_bytes += b->data.len;
	return b;
}

static const char *pull_media_type(const struct mr_json *root)
{
	const char *mt = mr_json_str(mr_json_get(root, "mediaType"));
	const struct mr_json *v = mr_json_get(root, "schemaVersion");
	if (v && v->type == MR_JSON_NUMBER && v->num == 1)
		return "application/vnd.docker.distribution.manifest.v1+json (schema 1)";
	if (mt)
		return mt;
	if (mr_json_get(root, "manifests"))
		return "application/vnd.oci.image.index.v1+json";
	return "application/vnd.oci.image.manifest.v1+json";
}

/* One descriptor (config or layer) of the manifest, for open_blob. */
static int pull_add_desc(struct pull *p, const struct mr_json *desc, int layer, struct mr_err *err)
{
	const char *d = image_desc_digest(desc, "manifest descriptor", err);
	const struct mr_json *size = mr_json_get(desc, "size");
	struct pull_desc *dd = &p->descs[p->ndescs];
	if (!d)
		return -1;
	if (!size || size->type != MR_JSON_NUMBER || size->num < 0 || size->num > 1e15)
		return mr_err_set(err, MR_EINVAL_INPUT, "manifest: descriptor %.19s without a valid "
				  "size", d);
	snprintf(dd->digest, sizeof dd->digest, "%s", d);
	dd->size = (uint64_t)size->num;
	dd->layer = layer;
	p->ndescs++;
	return 0;
}

/* The config and layer descriptors of a manifest (descs[0] is the config). */
static int pull_read_descs(struct pull *p, const struct mr_json *root, struct mr_err *err)
{
	const struct mr_json *layers = mr_json_get(root, "layers"), *l;
	if (!layers || layers->type != MR_JSON_ARRAY || layers->count > MINIRUN_MAX_LAYERS)
		return mr_err_set(err, MR_EINVAL_INPUT, "manifest: no layer list (or more than %d "
				  "layers)", MINIRUN_MAX_LAYERS);
	p->descs = util_xcalloc(layers->count + 1, sizeof *p->descs);
	if (pull_add_desc(p, mr_json_get(root, "config"), 0, err) < 0)
		return -1;
	for (l = layers->child; l; l = l->next)
		if (pull_add_desc(p, l, 1, err) < 0)
			return -1;
	return 0;
}

/* The config from the store when an image there has it (a second pull of
 * the same image downloads nothing but its manifest). */
static void pull_config_from_store(struct pull *p, const char *digest, struct image_db *db)
{
	struct mr_buf data = { 0 };
	struct mr_err ignored;
	struct image_blob *b;
	char path[96], d[MR_DIGEST_LEN + 1];
	if (!image_db_by_id(db, digest))
		return;
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(digest));
	if (mr_read_file(p->st->rootfd, path, &data, MINIRUN_MAX_JSON, &ignored) < 0) {
		mr_buf_free(&data);
		return;
	}
	mr_digest_buf(data.data, data.len, d);
	if (strcmp(d, digest) || !(b = image_blob_new(&p->ld, path, &ignored))) {
		mr_buf_free(&data);
		return;
	}
	b->data = data;
	snprintf(b->digest, sizeof b->digest, "%s", d);
	b->bytes = data.len;
}

/* Is layer i (by the config's diff_ids) in the store? As image_stored_layer decides. */
static int pull_layer_stored(struct pull *p, const struct mr_json *diff_ids, size_t i)
{
	const char *id = mr_json_str(mr_json_at(diff_ids, i));
	uint64_t size;
	if (!id || mr_digest_valid(id) < 0 || !p->ld.stored ||
	    image_db_layer_size(p->ld.stored, digest_hex(id), &size) < 0)
		return 0;
	return image_layer_ok(p->st, digest_hex(id));
}

/* Fetch the config (unless stored) and say, per layer, whether it is
 * already there or will be pulled. */
static int pull_announce(struct pull *p, struct mr_err *err)
{
	struct mr_json_doc cfg = { 0 };
	const struct mr_json *ids;
	struct image_blob *b;
	size_t i, stored = 0, nl = p->ndescs - 1;
	pull_config_from_store(p, p->descs[0].digest, p->ld.stored);
	b = image_blob_by_digest(&p->ld, p->descs[0].digest, 0, err);
	if (!b || image_blob_json(b, &cfg, err) < 0)
		return -1;
	ids = mr_json_get(mr_json_get(cfg.root, "rootfs"), "diff_ids");
	for (i = 0; i < nl; i++)
		stored += (size_t)pull_layer_stored(p, ids, i);
	/* A complete image says nothing per layer (as Docker). */
	for (i = 0; i < nl && stored < nl; i++)
		pull_say(p, p->descs[i + 1].digest,
			 pull_layer_stored(p, ids, i) ? "Already exists" : "Pulling fs layer");
	mr_json_free(&cfg);
	return 0;
}

/* Has the tag (or, by digest, the store) already got this image? Docker's
 * "Image is up to date" against "Downloaded newer image". */
static int pull_up_to_date(struct pull *p, const struct image_found *f, const char *name)
{
	struct image_db db;
	struct mr_err ignored;
	size_t i;
	int same = 0;
	if (image_db_read(p->st, &db, &ignored) < 0)
		return 0;
	for (i = 0; i < db.nrecs && p->ref.digest[0]; i++)
		same |= !strcmp(db.recs[i].id, f->config->digest) &&
			!strcmp(db.recs[i].manifest, f->manifest->digest);
	for (i = 0; i < db.ntags && !p->ref.digest[0]; i++)
		same |= !strcmp(db.tags[i].name, name) && !strcmp(db.tags[i].id, f->config->digest);
	image_db_free(&db);
	return same;
}

/* How image_pull is called: `pull` prints on stdout and ends with the full
 * name; `run` (a missing image) wants the progress on stderr, as Docker. */
struct pull_opts {
	const char *platform;          /* "os/arch[/variant]"; NULL: the host's */
	const char *insecure;          /* host:port list allowed over plain HTTP */
	const char *ca_file;           /* --ca-file (NULL: $MINIRUN_CA_FILE or the system's) */
	int quiet;                     /* no progress (with print_name: only the name) */
	int print_name;                /* end with "docker.io/library/busybox:latest" */
	FILE *out;                     /* progress; NULL: stdout */
	uint64_t rate;                 /* download limit, bytes/s (0: none) */
};

static void pull_free(struct pull *p)
{
	http_close(&p->conn);
	tls_free(&p->conn);
	free(p->basic);
	free(p->scope);
	free(p->token);
	free(p->descs);
	mr_buf_free(&p->mbuf);
}

/* Where the registry is: Docker Hub's API host, https unless listed as
 * insecure. */
static int pull_setup(struct pull *p, const char *insecure, const char *ca_file,
		      struct mr_err *err)
{
	char url[300];
	const char *t = getenv("MINIRUN_PULL_TIMEOUT");
	uint64_t secs = 30;
	int plain = pull_in_list(insecure, p->ref.domain) ||
		    pull_in_list(getenv("MINIRUN_INSECURE_REGISTRIES"), p->ref.domain);
	p->insecure = insecure;
	if (t && *t && (util_parse_u64(t, &secs) < 0 || !secs || secs > 3600))
		return mr_err_set(err, MR_EINVAL_INPUT, "MINIRUN_PULL_TIMEOUT=%s: expected seconds", t);
	p->conn.fd = -1;
	p->conn.timeout = (int)secs;
	p->conn.ca_file = ca_file;
	snprintf(url, sizeof url, "%s://%s/", plain ? "http" : "https",
		 strcmp(p->ref.domain, "docker.io") ? p->ref.domain : "registry-1.docker.io");
	if (http_url_parse(url, &p->reg, err) < 0)
		return -1;
	return pull_creds_get(p->ref.domain, &p->basic, err);
}

/* The manifest for the reference (an index resolved to the platform's). */
static struct image_blob *pull_resolve(struct pull *p, char *top_digest, struct mr_err *err)
{
	struct mr_buf body = { 0 };
	struct mr_json_doc doc = { 0 };
	struct image_blob *b;
	char digest[MR_DIGEST_LEN + 1];
	const char *mt;
	if (pull_get_manifest(p, p->ref.digest[0] ? p->ref.digest : p->ref.tag, &body, err) < 0)
		return NULL;
	b = pull_add_manifest(p, &body, p->ref.digest[0] ? p->ref.digest : NULL, err);
	mr_buf_free(&body);
	if (!b || image_blob_json(b, &doc, err) < 0)
		return NULL;
	snprintf(top_digest, MR_DIGEST_LEN + 1, "%s", b->digest);
	mt = pull_media_type(doc.root);
	if (image_is_index_type(mt)) {
		int rc = image_pick_from_index(&p->ld, mr_json_get(doc.root, "manifests"), digest, 0, err);
		mr_json_free(&doc);
		if (rc < 0 || pull_get_manifest(p, digest, &body, err) < 0)
			return NULL;
		b = pull_add_manifest(p, &body, digest, err);
		mr_buf_free(&body);
		if (!b || image_blob_json(b, &doc, err) < 0)
			return NULL;
		mt = pull_media_type(doc.root);
	}
	if (!image_is_manifest_type(mt)) {
		mr_err_set(err, MR_EINVAL_INPUT, "unsupported manifest type %.100s", mt);
		b = NULL;
	} else if (pull_read_descs(p, doc.root, err) < 0) {
		b = NULL;
	}
	mr_json_free(&doc);
	return b;
}

/* Pull REF (Docker's reference syntax) into the store, printing Docker's
 * progress lines to o->out. o may be NULL: the host's platform, progress on
 * stdout. What `run` calls for an image that is not in the store. */
static int image_pull(struct mr_store *st, const char *ref, const struct pull_opts *o,
		      struct mr_err *err)
{
	static const struct pull_opts none;
	struct pull *p = util_xcalloc(1, sizeof *p);
	struct image_db stored = { 0 };
	struct image_found found;
	struct image_blob *m;
	char top[MR_DIGEST_LEN + 1], name[600], full[600];
	size_t i;
	int rc = -1, fresh;
	if (!o)
		o = &none;
	memset(&found, 0, sizeof found);
	p->st = st;
	p->quiet = o->quiet;
	p->rate = o->rate;
	p->out = o->out ? o->out : stdout;
	p->tty = isatty(fileno(p->out));
	p->ld.st = st;
	p->ld.dirfd = -1;
	p->ld.source = ref;
	p->ld.quiet = 1;  /* the load code's own lines; ours are Docker's */
	p->ld.open_blob = pull_open_blob;
	p->ld.close_blob = pull_close_blob;
	p->ld.source_ctx = p;
	p->conn.fd = -1;
	if (pull_ref_parse(ref, &p->ref, err) < 0)
		goto out;
	image_platform_host(&p->ld.platform);
	if (o->platform && image_platform_parse(o->platform, &p->ld.platform, err) < 0)
		goto out;
	if (pull_setup(p, o->insecure, o->ca_file, err) < 0)
		goto out;
	if (image_db_read(st, &stored, err) < 0)
		goto out;
	p->ld.stored = &stored;
	if (!p->quiet) {
		if (p->ref.default_tag)
			fprintf(p->out, "Using default tag: latest\n");
		fprintf(p->out, "%s: Pulling from %s\n", p->ref.digest[0] ? p->ref.digest : p->ref.tag,
			p->ref.repo);
		fflush(p->out);
	}
	if (!(m = pull_resolve(p, top, err)) || pull_announce(p, err) < 0 ||
	    image_resolve_manifest(&p->ld, m->digest, &found, err) < 0)
		goto out;
	for (i = 1; i < p->ndescs; i++)
		if (p->descs[i].fetched)
			pull_say(p, p->descs[i].digest, "Pull complete");
	pull_ref_name(&p->ref, 0, name, sizeof name);
	pull_ref_name(&p->ref, 1, full, sizeof full);
	if (image_found_name(&found, name, err) < 0)
		goto out;
	fresh = !pull_up_to_date(p, &found, name);
	if (image_commit(&p->ld, &found, 1, err) < 0)
		goto out;
	if (!p->quiet)
		fprintf(p->out, "Digest: %s\nStatus: %s for %s\n", top,
			fresh ? "Downloaded newer image" : "Image is up to date", name);
	if (o->print_name)
		fprintf(p->out, "%s\n", full);
	fflush(p->out);
	rc = 0;
out:
	if (rc < 0) {
		if (p->tty && !p->quiet)
			fprintf(p->out, "\r\033[K");
		fflush(p->out);
		/* Messages that name the image already stand alone (as Docker's). */
		if (!util_starts_with(err->msg, "invalid reference") &&
		    !util_starts_with(err->msg, "manifest for ") &&
		    !util_starts_with(err->msg, "pull access denied"))
			mr_err_ctx(err, "pull %s", ref);
	}
	image_found_free(&found);
	image_load_free(&p->ld);
	image_db_free(&stored);
	pull_free(p);
	free(p);
	return rc;
}

/* `login`: check the credentials against the registry (its /v2/ with basic
 * auth, or a token from its token server), then store them. */
static int pull_login(const char *server, const char *user, const char *pass,
		      const struct pull_opts *o, struct mr_err *err)
{
	struct pull *p = util_xcalloc(1, sizeof *p);
	struct mr_buf up = { 0 };
	p->conn.fd = -1;
	char domain[256];
	const char *s = server;
	int rc = -1, found;
	size_t n;
	if (util_starts_with(s, "https://"))
		s += 8;
	else if (util_starts_with(s, "http://"))
		s += 7;
	n = strcspn(s, "/");
	snprintf(domain, sizeof domain, "%.*s", (int)n, s);
	if (!n || !strcmp(domain, "index.docker.io") || !strcmp(domain, "registry-1.docker.io"))
		snprintf(domain, sizeof domain, "docker.io");
	snprintf(p->ref.domain, sizeof p->ref.domain, "%s", domain);
	p->login = 1;
	if (pull_setup(p, o->insecure, o->ca_file, err) < 0)
		goto out;
	free(p->basic);
	mr_buf_printf(&up, "%s:%s", user, pass);
	p->basic = util_xmalloc(4 * ((up.len + 2) / 3) + 1);
	http_b64_encode(up.data, up.len, p->basic);
	if (pull_open(p, NULL, NULL, err) < 0)
		goto out;
	http_body_end(&p->body);
	rc = pull_creds_set(domain, p->basic, &found, err);
out:
	if (rc < 0 && err->code == EACCES && !strstr(err->msg, "no basic auth"))
		mr_err_set(err, EACCES, "unauthorized: incorrect username or password");
	if (rc < 0)
		mr_err_ctx(err, "login %s", domain);
	if (up.data)
		memset(up.data, 0, up.len);
	mr_buf_free(&up);
	pull_free(p);
	free(p);
	return rc;
}

#else /* !MINIRUN_WITH_PULL */

struct pull_opts {
	const char *platform;
	const char *insecure;
	const char *ca_file;
	int quiet;
	int print_name;
	FILE *out;
	uint64_t rate;
};

static int image_pull(struct mr_store *st, const char *ref, const struct pull_opts *o,
		      struct mr_err *err)
{
	(void)st; (void)ref; (void)o;
	return mr_err_set(err, MR_EDISABLED, "pull: built without MINIRUN_WITH_PULL");
}
#endif /* MINIRUN_WITH_PULL */
/* ======================== END src/13_pull.c ======================== */

/* ======================== BEGIN src/14_container.c ======================== */
#line 1 "src/14_container.c"
/* ==== [14] CONTAINER: the spec, records, names, state, image defaults ====
 * root/containers/ID/config.json  the resolved run configuration: written once by
 *                                  create (atomically, under the store lock with
 *                                  the name claim), rewritten only by rename
 * root/containers/ID/state.json   last start and exit (exit code, times, OOM,
 *                                  restart count): survives a reboot, so that a
 *                                  container shows "Exited" and `start` works
 * root/containers/ID/{upper,work,rootfs,log*,hosts,hostname,resolv.conf}
 * root/containers/.names/NAME     symlink to ID: names are unique by symlinkat()
 * rundir/ID/lock   write-locked (an OFD lock) by the container's monitor (or the
 *                  foreground CLI) for its whole life: a free lock means
 *                  nothing runs it; others test it without taking it
 * rundir/ID/state  "pid starttime monitor status" of the live container
 * rundir/ID/stop   a user asked it to stop: the restart policy must not apply
 * A record is visible only once complete: it is built in tmp/ and renamed into
 * containers/ after its name is claimed, all under the store lock. */

#define CTR_ID_LEN 64
#define CTR_NAME_MAX 128
#define CTR_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CTR_LOG_MAX_SIZE (1u << 20)   /* flash friendly: 1 MiB per file... */
#define CTR_LOG_MAX_FILE 2            /* ...and one rotated file */

/* A NULL-terminated list of strings (v is NULL while empty). */
struct ctr_list {
	const char **v;
	size_t n;
};

/* The container spec: everything a container is. Three front ends fill it:
 * `run`/`create` flags merged with the image config and boot declarations
 * (both through struct ctr_opts and spec_from_opts [19b]), and OCI bundles;
 * one back end checks, records and creates it (spec_create [19b]), and [17]
 * starts it. The groups follow the OCI runtime-spec config.json. A field a
 * front end needs goes in its group, with its default in ctr_init, its free in
 * ctr_free when it owns memory, and a ctr_fields row when config.json must keep
 * it. Strings point into doc/img (a loaded record, the image config), into the
 * front end's input (which outlives the spec), or into `owned`. */
struct ctr {
	/* the record */
	char id[CTR_ID_LEN + 1];
	char name[CTR_NAME_MAX];
	char created[40];
	char image[MR_DIGEST_LEN + 1];     /* image ID */
	const char *image_ref;             /* as the user wrote it (ps IMAGE column) */
	/* process: args, env, cwd, user, terminal */
	struct ctr_list entrypoint, cmd, env;
	const char *workdir, *user;
	struct ctr_list group_add;         /* --group-add as given */
	unsigned char tty, interactive, init;
	/* process: capabilities, rlimits, no_new_privs */
	struct ctr_list cap_add, cap_drop;
	struct ctr_list ulimits;           /* --ulimit as NAME=SOFT:HARD (numbers, -1 unlimited) */
	unsigned char privileged, no_new_privs;
	/* root: the image's layers under one writable layer */
	struct ctr_list layers;            /* diff_id hex, base first (from the image) */
	char driver[8];                    /* "overlay" or "copy" */
	unsigned char readonly;
	/* mounts */
	struct mount_spec *mnt;            /* volumes, binds, tmpfs ([11]) */
	size_t nmnt;
	struct ctr_list volumes_from;      /* --volumes-from as given (its mounts are in mnt) */
	int64_t shm_size;                  /* /dev/shm, bytes (0: 64 MiB) */
	/* namespaces: "host" shares the host's, NULL/"" a private one */
	const char *ipc_mode, *uts_mode, *pid_mode;
	const char *hostname;
	/* network: mode, and net.conf (published ports, --add-host, --dns; [19]) */
	const char *network;
	struct mr_buf net_conf;
	/* resources (cgroups) */
	int64_t memory, memory_swap, nano_cpus, pids_limit;
	/* devices */
	struct ctr_list devices;           /* --device as HOST:CONTAINER:PERMS */
	struct ctr_list device_rules;      /* --device-cgroup-rule as given */
	/* sysctl */
	struct ctr_list sysctls;           /* --sysctl KEY=VALUE */
	/* seccomp and the other security options */
	struct ctr_list security_opt;
	/* health */
	struct ctr_list health_test;       /* ["CMD-SHELL", cmd] or ["CMD", arg...]; none: off */
	int64_t health_interval, health_timeout, health_start;   /* ns; 0: Docker's default */
	int health_retries;                /* 0: 3 */
	/* lifecycle: restart, stop, removal, logs */
	const char *restart, *stop_signal;
	int restart_max, stop_timeout;     /* stop_timeout < 0: default (10 s) */
	unsigned char auto_remove;
	uint64_t log_max_size;
	int log_max_file;
	int log_ram;                       /* logs in rundir/ID (tmpfs), not on the store's flash */
	/* labels */
	struct ctr_list labels;
	int net_default;                   /* no --network: inspect says "default" (Docker) */
	struct ctr_list exposed;           /* Config.ExposedPorts: "80/tcp" (image's and -p's) */
	/* what the strings point into */
	struct mr_json_doc doc, img;
	struct ctr_list owned;
};

/* What a front end asks for, as written: the flags of `run`/`create`, or the
 * keys of a boot declaration. spec_from_opts ([19b]) merges it with the image
 * config by Docker's rules into the spec; NULL or empty: not given. The spec
 * may point into it: it must outlive the spec. */
struct ctr_opts {
	const char *image;                 /* IMAGE as written */
	const char **args;                 /* COMMAND [ARG...] after the image */
	int nargs;
	const char *name, *entrypoint, *workdir, *user, *hostname, *restart, *stop_signal;
	const char *stop_timeout, *memory, *memory_swap, *cpus, *pids_limit, *network;
	struct ctr_list env, env_file, label, cap_add, cap_drop, security_opt, log_opt;
	struct ctr_list volume, mount, tmpfs, volumes_from, publish, add_host, dns;
	struct ctr_list device, device_rule, sysctl, ulimit, group_add, network_alias;
	const char *ipc, *uts, *shm_size, *pid;
	const char *pull;                  /* --pull: always, missing (default), never */
	const char *health_cmd, *health_interval, *health_timeout, *health_start, *health_retries;
	int no_healthcheck;
	int detach, rm, interactive, tty, read_only, init, privileged, publish_all;
};

/* Persisted state of the last start and exit (state.json). */
struct ctr_state {
	int running;                      /* started and no exit recorded since */
	int exit_code, oom_killed, restart_count, stopped_by_user;
	char started[40], finished[40];
	char error[160];
};

enum ctr_status { CTR_CREATED, CTR_RUNNING, CTR_RESTARTING, CTR_EXITED };

/* What `ps` and `inspect` show: the persisted state and the live one. */
struct ctr_info {
	enum ctr_status status;
	struct ctr_state st;
	pid_t pid, monitor;
	unsigned long long pid_start;
	char health[12];                   /* running with a health check: its Status */
};

static void ctr_list_add(struct ctr_list *l, const char *s)
{
	l->v = util_xrealloc(l->v, (l->n + 2) * sizeof *l->v);
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

static void ctr_list_free(struct ctr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Keep an allocated string for the life of the record. */
static const char *ctr_own(struct ctr *c, char *s)
{
	ctr_list_add(&c->owned, s);
	return s;
}

static void ctr_free(struct ctr *c)
{
	size_t i;
	for (i = 0; i < c->owned.n; i++)
		free((char *)c->owned.v[i]);
	ctr_list_free(&c->owned);
	ctr_list_free(&c->entrypoint);
	ctr_list_free(&c->cmd);
	ctr_list_free(&c->env);
	ctr_list_free(&c->labels);
	ctr_list_free(&c->cap_add);
	ctr_list_free(&c->cap_drop);
	ctr_list_free(&c->security_opt);
	ctr_list_free(&c->volumes_from);
	ctr_list_free(&c->devices);
	ctr_list_free(&c->device_rules);
	ctr_list_free(&c->sysctls);
	ctr_list_free(&c->ulimits);
	ctr_list_free(&c->group_add);
	ctr_list_free(&c->health_test);
	ctr_list_free(&c->exposed);
	free(c->mnt);
	c->mnt = NULL;
	c->nmnt = 0;
	ctr_list_free(&c->layers);
	mr_buf_free(&c->net_conf);
	mr_json_free(&c->doc);
	mr_json_free(&c->img);
}

static void ctr_init(struct ctr *c)
{
	memset(c, 0, sizeof *c);
	c->stop_timeout = -1;
	c->restart = "no";
	c->network = "bridge";
	c->stop_signal = "SIGTERM";
	c->log_max_size = CTR_LOG_MAX_SIZE;
	c->log_max_file = CTR_LOG_MAX_FILE;
	c->workdir = c->user = c->hostname = "";
}

/* ---- pure helpers (unit-tested) ---- */

/* Length of the key of "K=V" (or of "K"). */
static size_t ctr_env_keylen(const char *kv)
{
	return strcspn(kv, "=");
}

/* Value of key in an environment list, or NULL. */
static const char *ctr_env_get(const struct ctr_list *env, const char *key)
{
	size_t i, n = strlen(key);
	for (i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], key, n) && env->v[i][n] == '=')
			return env->v[i] + n + 1;
	return NULL;
}

/* Set "K=V": replace K in place where it is (Docker keeps the image's order),
 * else append. */
static void ctr_env_set(struct ctr_list *env, const char *kv)
{
	size_t i, n = ctr_env_keylen(kv);
	for (i = 0; i < env->n; i++)
		if (ctr_env_keylen(env->v[i]) == n && !strncmp(env->v[i], kv, n)) {
			env->v[i] = kv;
			return;
		}
	ctr_list_add(env, kv);
}

static int ctr_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Config.ExposedPorts: the keys of obj ("80/tcp": {}), or one port (obj
 * NULL: port/proto), each once. The keys stay in their JSON document. */
static void ctr_exposed_add(struct ctr *c, const struct mr_json *obj, unsigned port, char proto)
{
	const struct mr_json *e;
	char key[16];
	size_t i;
	if (!obj) {
		snprintf(key, sizeof key, "%u/%s", port, proto == 'u' ? "udp" : "tcp");
		for (i = 0; i < c->exposed.n && strcmp(c->exposed.v[i], key); i++) {}
		if (i == c->exposed.n)
			ctr_list_add(&c->exposed, ctr_own(c, util_xstrdup(key)));
		qsort(c->exposed.v, c->exposed.n, sizeof *c->exposed.v, ctr_strcmp_p);
		return;
	}
	for (e = obj->type == MR_JSON_OBJECT ? obj->child : NULL; e; e = e->next) {
		for (i = 0; i < c->exposed.n && strcmp(c->exposed.v[i], e->key); i++) {}
		if (i == c->exposed.n && e->key_len < sizeof key)
			ctr_list_add(&c->exposed, e->key);
	}
	/* in Go's order (a map's keys, sorted) */
	qsort(c->exposed.v, c->exposed.n, sizeof *c->exposed.v, ctr_strcmp_p);
}

/* Docker's Config.Env: the user's values (--env-file, then -e) first, then
 * those of the image (arr) that they do not set. */
static void ctr_env_merge_image(struct ctr_list *env, const struct mr_json *arr)
{
	const struct mr_json *e;
	size_t user = env->n, i, n;
	for (e = arr && arr->type == MR_JSON_ARRAY ? arr->child : NULL; e; e = e->next) {
		if (!mr_json_str(e))
			continue;
		n = ctr_env_keylen(e->str);
		for (i = 0; i < user; i++)
			if (ctr_env_keylen(env->v[i]) == n && !strncmp(env->v[i], e->str, n))
				break;
		if (i == user)
			ctr_list_add(env, e->str);
	}
}

/* One -e value: "K=V" as is; "K" takes the caller's value, and is dropped
 * when the caller has none (Docker's rule). Returns -1 on an empty key. */
static int ctr_env_add_arg(struct ctr *c, const char *arg)
{
	const char *v;
	size_t n = ctr_env_keylen(arg);
	if (n == 0)
		return -1;
	if (arg[n] == '=') {
		ctr_env_set(&c->env, arg);
		return 0;
	}
	v = getenv(arg);
	if (v) {
		char *kv = util_xmalloc(n + strlen(v) + 2);
		sprintf(kv, "%s=%s", arg, v);
		ctr_env_set(&c->env, ctr_own(c, kv));
	}
	return 0;
}

/* --env-file: one K=V or K per line; blank lines and # comments skipped;
 * leading blanks of a line ignored, the value kept verbatim. */
static int ctr_env_file(struct ctr *c, const char *path, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	char *p, *line;
	if (mr_read_file(AT_FDCWD, path, &b, 1u << 20, err) < 0)
		return mr_err_ctx(err, "env file");
	ctr_own(c, b.data);
	for (p = b.data; p && *p; p = line) {
		char *nl = strchr(p, '\n');
		line = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		if (nl && nl > p && nl[-1] == '\r')
			nl[-1] = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		if (strcspn(p, " \t") < ctr_env_keylen(p))
			return mr_err_set(err, MR_EINVAL_INPUT, "env file %s: variable '%s' contains "
					  "whitespaces", path, p);
		if (ctr_env_add_arg(c, p) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "env file %s: no variable name "
					  "in '%s'", path, p);
	}
	return 0;
}

/* Docker's command rules: --entrypoint replaces the image's Entrypoint ("" =
 * none) and drops the image's Cmd; arguments after the image replace Cmd. */
static void ctr_command_merge(struct ctr_list *ep, struct ctr_list *cmd,
			      const struct ctr_list *img_ep, const struct ctr_list *img_cmd,
			      const char *ep_flag, const char **args, int nargs)
{
	size_t i;
	int k;
	if (ep_flag) {
		if (*ep_flag)
			ctr_list_add(ep, ep_flag);
	} else {
		for (i = 0; i < img_ep->n; i++)
			ctr_list_add(ep, img_ep->v[i]);
	}
	if (nargs > 0) {
		for (k = 0; k < nargs; k++)
			ctr_list_add(cmd, args[k]);
	} else if (!ep_flag) {
		for (i = 0; i < img_cmd->n; i++)
			ctr_list_add(cmd, img_cmd->v[i]);
	}
}

/* Docker's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' allowed). */
static int ctr_name_valid(const char *name)
{
	size_t i;
	if (*name == '/')
		name++;
	if (strlen(name) < 2 || strlen(name) >= CTR_NAME_MAX || !isalnum((unsigned char)name[0]))
		return 0;
	for (i = 1; name[i]; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return 0;
	return 1;
}

/* Signal by name ("SIGTERM", "term", "RTMIN+3") or number; 0 if unknown. */
static int ctr_signal_parse(const char *s)
{
	static const struct { char name[7]; unsigned char num; } sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
		{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "IOT", SIGABRT }, { "BUS", SIGBUS },
		{ "FPE", SIGFPE }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
		{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
		{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
		{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU },
		{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
		{ "WINCH", SIGWINCH }, { "IO", SIGIO }, { "POLL", SIGIO }, { "PWR", SIGPWR },
		{ "SYS", SIGSYS },
	};
	char up[16];
	size_t i;
	uint64_t n;
	if (util_parse_u64(s, &n) == 0)
		return n > 0 && n < (uint64_t)_NSIG ? (int)n : 0;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (i = 0; s[i] && i < sizeof up - 1; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	up[i] = 0;
	if (!strncmp(up, "RTMIN", 5) || !strncmp(up, "RTMAX", 5)) {
		int base = up[4] == 'N' ? SIGRTMIN : SIGRTMAX, off = 0;
		if (up[5] == '+' || up[5] == '-') {
			if (util_parse_u64(up + 6, &n) < 0 || n > 64)
				return 0;
			off = up[5] == '+' ? (int)n : -(int)n;
		} else if (up[5]) {
			return 0;
		}
		return base + off >= SIGRTMIN && base + off <= SIGRTMAX ? base + off : 0;
	}
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (!strcmp(up, sigs[i].name))
			return sigs[i].num;
	return 0;
}

/* --restart: no | always | unless-stopped | on-failure[:N]. */
static int ctr_restart_parse(const char *s, const char **name, int *max)
{
	uint64_t n = 0;
	*max = 0;
	if (!strcmp(s, "no") || !strcmp(s, "always") || !strcmp(s, "unless-stopped")) {
		*name = s;
		return 0;
	}
	if (!strncmp(s, "on-failure", 10) && (!s[10] || (s[10] == ':' &&
	    util_parse_u64(s + 11, &n) == 0 && n <= INT_MAX))) {
		*name = "on-failure";
		*max = (int)n;
		return 0;
	}
	return -1;
}

/* Should the monitor start the container again after this exit? */
static int ctr_restart_wanted(const struct ctr *c, int exit_code, int restarts, int stopped)
{
	if (stopped || !strcmp(c->restart, "no"))
		return 0;
	if (!strcmp(c->restart, "on-failure"))
		return exit_code != 0 && (c->restart_max == 0 || restarts < c->restart_max);
	return 1;
}

/* Docker's back-off: 100 ms doubling up to one minute, back to 100 ms after the
 * container stayed up 10 s. */
static unsigned ctr_backoff_next(unsigned prev_ms, unsigned long ran_ms)
{
	if (ran_ms >= 10000 || prev_ms == 0)
		return 100;
	return prev_ms >= 30000 ? 60000 : prev_ms * 2;
}

/* --cpus 1.5 -> 1500000000 nano CPUs. */
static int ctr_cpus_parse(const char *s, int64_t *nano)
{
	uint64_t whole = 0, frac = 0, scale = 1000000000;
	const char *dot = strchr(s, '.');
	char buf[24];
	if (strlen(s) >= sizeof buf)
		return -1;
	snprintf(buf, sizeof buf, "%.*s", dot ? (int)(dot - s) : (int)strlen(s), s);
	if ((buf[0] && util_parse_u64(buf, &whole) < 0) || (!buf[0] && !dot) || whole > 1000000)
		return -1;
	if (dot) {
		const char *p = dot + 1;
		if (!*p && !buf[0])
			return -1;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			scale /= 10;
			frac += (uint64_t)(*p - '0') * scale;
			if (!scale)
				return -1;
		}
	}
	*nano = (int64_t)(whole * 1000000000u + frac);
	return 0;
}

/* The STATUS column: "Up 5 seconds", "Exited (0) 3 seconds ago", "Created". */
static void ctr_status_string(const struct ctr_info *ci, time_t now, char *out, size_t size)
{
	char d[48];
	time_t t = 0;
	switch (ci->status) {
	case CTR_RUNNING:
		util_parse_rfc3339(ci->st.started, &t);
		util_human_duration((long)(now - t), d, sizeof d);
		snprintf(out, size, "Up %s%s%s%s", d, ci->health[0] ? " (" : "",
			 !strcmp(ci->health, "starting") ? "health: starting" : ci->health,
			 ci->health[0] ? ")" : "");
		return;
	case CTR_RESTARTING:
	case CTR_EXITED:
		util_parse_rfc3339(ci->st.finished, &t);
		util_human_duration((long)(now - t), d, sizeof d);
		snprintf(out, size, "%s (%d) %s ago", ci->status == CTR_EXITED ? "Exited" :
			 "Restarting", ci->st.exit_code, d);
		return;
	default:
		snprintf(out, size, "Created");
	}
}

static const char *ctr_status_name(enum ctr_status s)
{
	static const char names[][11] = { "created", "running", "restarting", "exited" };
	return names[s];
}

/* One line of /etc/passwd or /etc/group split at ':' (a bounded copy). */
struct ctr_pwline {
	char buf[512];
	char *f[7];
	size_t nf;
};

/* Split the line at p; returns the start of the next line or NULL. */
static const char *ctr_pw_line(const char *p, struct ctr_pwline *l)
{
	const char *end = strchr(p, '\n');
	size_t n = end ? (size_t)(end - p) : strlen(p);
	char *q;
	l->nf = 0;
	if (n < sizeof l->buf && *p != '#') {
		memcpy(l->buf, p, n);
		l->buf[n] = 0;
		for (q = l->buf, l->f[l->nf++] = q; l->nf < 7 && (q = strchr(q, ':')); )
			*q++ = 0, l->f[l->nf++] = q;
	}
	return end ? end + 1 : NULL;
}

/* Numeric id field: -1 if not a number. */
static long ctr_pw_id(const char *s)
{
	uint64_t v;
	return util_parse_u64(s, &v) == 0 && v <= 0xfffffffeu ? (long)v : -1;
}

/* Is `user` in the comma-separated member list? */
static int ctr_pw_member(const char *members, const char *user)
{
	size_t n = strlen(user);
	while (*members) {
		size_t k = strcspn(members, ",");
		if (k == n && !strncmp(members, user, n))
			return 1;
		members += k + (members[k] == ',');
	}
	return 0;
}

/* The identity a process runs as, from -u / the image's User. */
struct ctr_ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[32];
	size_t ngroups;
	char home[256];
};

/* Resolve "user[:group]" (names or numbers) against the container's passwd
 * and group texts (NULL: no such file). runc's rules: a numeric uid needs no
 * entry (gid 0, home /); a name must exist; supplementary groups are those
 * listing the user's name. */
static int ctr_ids_resolve(const char *spec, const char *passwd, const char *group,
			   struct ctr_ids *ids, struct mr_err *err)
{
	char user[256], name[256] = "";
	const char *colon = strchr(spec, ':'), *gspec = colon ? colon + 1 : NULL, *p;
	struct ctr_pwline l;
	long id;
	int found = 0;
	memset(ids, 0, sizeof *ids);
	snprintf(user, sizeof user, "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	snprintf(ids->home, sizeof ids->home, "/");
	if (!user[0])
		snprintf(user, sizeof user, "0");
	id = ctr_pw_id(user);
	if (id < 0 && strspn(user, "0123456789") == strlen(user))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid user %s: out of range", user);
	for (p = passwd; p && *p && !found; ) {
		p = ctr_pw_line(p, &l);
		if (l.nf < 4 || ctr_pw_id(l.f[2]) < 0 ||
		    (id < 0 ? strcmp(l.f[0], user) : ctr_pw_id(l.f[2]) != id))
			continue;
		found = 1;
		ids->uid = (uid_t)ctr_pw_id(l.f[2]);
		ids->gid = ctr_pw_id(l.f[3]) < 0 ? 0 : (gid_t)ctr_pw_id(l.f[3]);
		if (l.nf >= 6 && l.f[5][0])
			snprintf(ids->home, sizeof ids->home, "%s", l.f[5]);
		snprintf(name, sizeof name, "%s", l.f[0]);
	}
	if (!found && id < 0)
		return mr_err_set(err, MR_ENOTFOUND, "unable to find user %s: no matching entries "
				  "in passwd file", user);
	if (!found)
		ids->uid = (uid_t)id;
	if (gspec && *gspec) {
		long gid = ctr_pw_id(gspec);
		if (gid < 0 && strspn(gspec, "0123456789") == strlen(gspec))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid group %s: out of range", gspec);
		for (p = group, found = gid >= 0; p && *p && !found; ) {
			p = ctr_pw_line(p, &l);
			if (l.nf >= 3 && !strcmp(l.f[0], gspec) && ctr_pw_id(l.f[2]) >= 0)
				gid = ctr_pw_id(l.f[2]), found = 1;
		}
		if (!found)
			return mr_err_set(err, MR_ENOTFOUND, "unable to find group %s: no matching "
					  "entries in group file", gspec);
		ids->gid = (gid_t)gid;
	}
	/* the primary group first among the supplementary ones, as runc sets
	 * them (Docker: `id` says groups=0(root), groups=1234(app),2345(extra)) */
	ids->groups[ids->ngroups++] = ids->gid;
	for (p = group; name[0] && p && *p && ids->ngroups < 32; ) {
		size_t k;
		int dup = 0;
		p = ctr_pw_line(p, &l);
		if (l.nf < 4 || ctr_pw_id(l.f[2]) < 0 || !ctr_pw_member(l.f[3], name))
			continue;
		for (k = 0; k < ids->ngroups; k++)
			dup |= ids->groups[k] == (gid_t)ctr_pw_id(l.f[2]);
		if (!dup)
			ids->groups[ids->ngroups++] = (gid_t)ctr_pw_id(l.f[2]);
	}
	return 0;
}

/* Does the container share the host's namespace of this mode (--pid host,
 * --ipc host, --uts host)? Records without the field: a private one. */
static int ctr_ns_host(const char *mode)
{
	return mode && !strcmp(mode, "host");
}

/* --group-add: numbers as they are, names from the container's group file;
 * added to the groups of the user (run and exec). */
static int ctr_ids_add_groups(const struct ctr_list *add, const char *group, struct ctr_ids *ids,
			      struct mr_err *err)
{
	size_t i, k;
	for (i = 0; i < add->n; i++) {
		long gid = ctr_pw_id(add->v[i]);
		const char *p;
		struct ctr_pwline l;
		int dup = 0;
		for (p = group; gid < 0 && p && *p; ) {
			p = ctr_pw_line(p, &l);
			if (l.nf >= 3 && !strcmp(l.f[0], add->v[i]) && ctr_pw_id(l.f[2]) >= 0)
				gid = ctr_pw_id(l.f[2]);
		}
		if (gid < 0)
			return mr_err_set(err, MR_ENOTFOUND, "Unable to find group %s: no matching "
					  "entries in group file", add->v[i]);
		for (k = 0; k < ids->ngroups; k++)
			dup |= ids->groups[k] == (gid_t)gid;
		if (dup)
			continue;
		if (ids->ngroups >= sizeof ids->groups / sizeof ids->groups[0])
			return mr_err_set(err, MR_EINVAL_INPUT, "--group-add: more than %zu groups",
					  sizeof ids->groups / sizeof ids->groups[0]);
		ids->groups[ids->ngroups++] = (gid_t)gid;
	}
	return 0;
}

/* --sysctl KEY=VALUE: only what lives in the container's own namespaces, as
 * Docker and runc allow (IPC: kernel.msg*, sem, shm*, fs.mqueue.*; UTS:
 * kernel.domainname; network: net.*), and not in a namespace shared with
 * the host. Keys take dots or slashes, never "..". */
static int ctr_sysctl_check(const char *kv, int net_host, int ipc_host, struct mr_err *err)
{
	static const char ipc[] = "kernel.msgmax\0kernel.msgmnb\0kernel.msgmni\0kernel.sem\0"
		"kernel.shmall\0kernel.shmmax\0kernel.shmmni\0kernel.shm_rmid_forced\0";
	const char *eq = strchr(kv, '='), *n;
	char key[128];
	size_t i, len = eq ? (size_t)(eq - kv) : 0;
	int is_ipc = 0;
	if (!eq || !len || len >= sizeof key || !eq[1])
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for \"--sysctl\" "
				  "flag: sysctl must be in the format KEY=VALUE", kv);
	for (i = 0; i < len; i++) {
		key[i] = kv[i] == '/' ? '.' : kv[i];
		if (!isalnum((unsigned char)kv[i]) && !strchr("._-/", kv[i]))
			break;
	}
	key[len] = 0;
	if (i < len || key[0] == '.' || key[len - 1] == '.' || strstr(key, ".."))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid sysctl key \"%.*s\"", (int)len, kv);
	for (n = ipc; *n && !is_ipc; n += strlen(n) + 1)
		is_ipc = !strcmp(key, n);
	is_ipc |= util_starts_with(key, "fs.mqueue.");
	if (is_ipc && ipc_host)
		return mr_err_set(err, MR_EINVAL_INPUT, "sysctl \"%s\" not allowed in host IPC "
				  "namespace", key);
	if (util_starts_with(key, "net.") && net_host)
		return mr_err_set(err, MR_EINVAL_INPUT, "sysctl \"%s\" not allowed in host network "
				  "namespace", key);
	if (!is_ipc && !util_starts_with(key, "net.") && strcmp(key, "kernel.domainname"))
		return mr_err_set(err, MR_EINVAL_INPUT, "sysctl \"%s\" is not in a separate kernel "
				  "namespace", key);
	return 0;
}

/* The resources --ulimit knows, as Docker names them. */
static const struct { char name[12]; int res; } ctr_rlimits[] = {
	{ "as", RLIMIT_AS }, { "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA }, { "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC }, { "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
};

/* --ulimit NAME=SOFT[:HARD] (-1: unlimited). Returns the resource, or -1. */
static int ctr_ulimit_parse(const char *s, long long *soft, long long *hard, struct mr_err *err)
{
	const char *eq = strchr(s, '='), *colon;
	char *end;
	size_t i;
	int res = -1;
	for (i = 0; eq && i < sizeof ctr_rlimits / sizeof ctr_rlimits[0]; i++)
		if (strlen(ctr_rlimits[i].name) == (size_t)(eq - s) &&
		    !strncmp(s, ctr_rlimits[i].name, (size_t)(eq - s)))
			res = ctr_rlimits[i].res;
	if (!eq)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid ulimit argument: %s", s);
	if (res < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid ulimit type: %.*s", (int)(eq - s), s);
	colon = strchr(eq + 1, ':');
	errno = 0;
	*soft = strtoll(eq + 1, &end, 10);
	if (end == eq + 1 || (colon ? end != colon : *end != 0) || errno || *soft < -1)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid ulimit argument: %s", s);
	*hard = *soft;
	if (colon) {
		*hard = strtoll(colon + 1, &end, 10);
		if (end == colon + 1 || *end || errno || *hard < -1)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid ulimit argument: %s", s);
	}
	if (*hard != -1 && (*soft == -1 || *soft > *hard))
		return mr_err_set(err, MR_EINVAL_INPUT, "ulimit soft limit must be less than or "
				  "equal to hard limit: %lld > %lld", *soft, *hard);
	return res;
}

/* ---- devices: --device and --device-cgroup-rule ----
 * The device policy is a list of allow rules in the cgroup v1 devices.allow
 * syntax ("c 1:3 rwm"); everything else is refused. Docker's default lets a
 * container make any node (m) but open only the harmless ones; --device adds
 * a host node (bound into the container) with its own rule. */
#define DEV_M 1                            /* the cgroup BPF hook's access bits */
#define DEV_R 2
#define DEV_W 4
#define DEV_MAX 64                         /* --device entries per container */

struct dev_rule {
	char type;                         /* 'a', 'b' or 'c' */
	int major, minor;                  /* -1: any */
	unsigned char access;              /* DEV_* */
};

/* A --device entry, resolved on the host at each start (a USB serial adapter
 * may come back under other numbers). */
struct dev_node {
	struct dev_rule rule;
	char host[256], path[256];         /* path: in the container */
};

/* runc's and Docker's defaults: mknod of anything; null, zero, full, random,
 * urandom, tty, console, ptmx and the pty slaves. */
static const struct dev_rule dev_default_rules[] = {
	{ 'c', -1, -1, DEV_M }, { 'b', -1, -1, DEV_M },
	{ 'c', 1, 3, 7 }, { 'c', 1, 5, 7 }, { 'c', 1, 7, 7 }, { 'c', 1, 8, 7 }, { 'c', 1, 9, 7 },
	{ 'c', 5, 0, 7 }, { 'c', 5, 1, 7 }, { 'c', 5, 2, 7 }, { 'c', 136, -1, 7 },
};

/* "rwm", "r", "mw": each letter once. */
static int dev_access_parse(const char *s, unsigned char *out)
{
	unsigned char a = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned char bit = *s == 'r' ? DEV_R : *s == 'w' ? DEV_W : *s == 'm' ? DEV_M : 0;
		if (!bit || (a & bit))
			return -1;
		a |= bit;
	}
	*out = a;
	return 0;
}

/* The letters of access bits, in "rwm" order; out has room for 4. */
static char *dev_access_str(unsigned char a, char *out)
{
	char *p = out;
	if (a & DEV_R)
		*p++ = 'r';
	if (a & DEV_W)
		*p++ = 'w';
	if (a & DEV_M)
		*p++ = 'm';
	*p = 0;
	return out;
}

/* "c 1:3 rwm", "a *:* m", "b 8:* rw". */
static int dev_rule_parse(const char *s, struct dev_rule *r)
{
	int i, *num[2];
	num[0] = &r->major;
	num[1] = &r->minor;
	if ((s[0] != 'a' && s[0] != 'b' && s[0] != 'c') || s[1] != ' ')
		return -1;
	r->type = s[0];
	s += 2;
	for (i = 0; i < 2; i++) {
		long v = -1;
		if (*s == '*') {
			s++;
		} else {
			if (*s < '0' || *s > '9')
				return -1;
			for (v = 0; *s >= '0' && *s <= '9'; s++)
				if ((v = v * 10 + (*s - '0')) > 0xfffff)
					return -1;
		}
		*num[i] = (int)v;
		if (*s++ != (i ? ' ' : ':'))
			return -1;
	}
	return dev_access_parse(s, &r->access);
}

/* --device HOST[:CONTAINER][:PERMS], as Docker splits it: a middle part that
 * is a valid mode is the mode. The host node is looked up (symlinks followed,
 * as /dev/serial/by-id/... are). */
static int dev_resolve(const char *spec, struct dev_node *n, struct mr_err *err)
{
	char buf[520], *part[3] = { buf, NULL, NULL };
	const char *perms = "rwm";
	struct stat sb;
	size_t k = 0;
	char *p;
	if (strlen(spec) >= sizeof buf)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid device specification: %.64s...", spec);
	strcpy(buf, spec);
	for (p = buf; (p = strchr(p, ':')) != NULL; *p++ = 0)
		if (++k > 2)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid device specification: %s", spec);
		else
			part[k] = p + 1;
	if (k == 2)
		perms = part[2];
	if (k >= 1 && dev_access_parse(part[1], &n->rule.access) == 0)
		perms = part[1], part[1] = NULL;
	if (dev_access_parse(perms, &n->rule.access) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "bad mode specified: %s", perms);
	if (!part[1] || !*part[1])
		part[1] = part[0];
	if (part[0][0] != '/' || part[1][0] != '/')
		return mr_err_set(err, MR_EINVAL_INPUT, "%s is not an absolute path",
				  part[0][0] != '/' ? part[0] : part[1]);
	if (strlen(part[0]) >= sizeof n->host || strlen(part[1]) >= sizeof n->path)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid device specification: %s", spec);
	strcpy(n->host, part[0]);
	strcpy(n->path, part[1]);
	if (stat(n->host, &sb) < 0)
		return mr_err_set(err, errno, "error gathering device information while adding "
				  "custom device \"%s\": %s", n->host, strerror(errno));
	if (!S_ISCHR(sb.st_mode) && !S_ISBLK(sb.st_mode))
		return mr_err_set(err, MR_EINVAL_INPUT, "error gathering device information while "
				  "adding custom device \"%s\": not a device node", n->host);
	n->rule.type = S_ISCHR(sb.st_mode) ? 'c' : 'b';
	n->rule.major = (int)major(sb.st_rdev);
	n->rule.minor = (int)minor(sb.st_rdev);
	return 0;
}

/* The allow rules of a container: Docker's defaults, one per --device, then
 * the --device-cgroup-rule ones (checked by run). malloc'ed. */
static struct dev_rule *dev_policy_rules(const struct ctr *c, const struct dev_node *nodes,
					 size_t nn, size_t *count)
{
	size_t nd = sizeof dev_default_rules / sizeof dev_default_rules[0], n = nd, i;
	struct dev_rule *r = util_xcalloc(nd + nn + c->device_rules.n, sizeof *r);
	memcpy(r, dev_default_rules, sizeof dev_default_rules);
	for (i = 0; i < nn; i++)
		r[n++] = nodes[i].rule;
	for (i = 0; i < c->device_rules.n; i++)
		if (dev_rule_parse(c->device_rules.v[i], &r[n]) == 0)
			n++;
	*count = n;
	return r;
}

/* ---- names ---- */

/* Docker-like "adjective_name" (a short list: the names only need to be
 * memorable; a collision takes another draw). */
static void ctr_name_generate(char *out, size_t size)
{
	static const char adj[] =
		"brave calm clever eager fancy gentle happy jolly keen kind lucky merry "
		"nifty proud quick quiet sharp shy silly sleepy smart sunny swift witty ";
	static const char noun[] =
		"ada babbage bohr curie darwin dijkstra euler fermi galileo hopper kepler "
		"knuth lovelace maxwell newton noether pascal ritchie shannon tesla thompson "
		"turing wozniak yonath ";
	unsigned char r[2];
	const char *a = adj, *n = noun;
	unsigned i, ka, kn;
	if (util_random(r, 2) < 0)
		r[0] = (unsigned char)getpid(), r[1] = (unsigned char)time(NULL);
	ka = r[0] % 24;
	kn = r[1] % 24;
	for (i = 0; i < ka; i++)
		a = strchr(a, ' ') + 1;
	for (i = 0; i < kn; i++)
		n = strchr(n, ' ') + 1;
	snprintf(out, size, "%.*s_%.*s", (int)strcspn(a, " "), a, (int)strcspn(n, " "), n);
}

static int ctr_dir(struct mr_store *st, const char *id, struct mr_err *err)
{
	char path[16 + CTR_ID_LEN];
	int fd;
	snprintf(path, sizeof path, "containers/%s", id);
	fd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mr_err_sys(err, "container %.12s", id);
	return fd;
}

static int ctr_names_dir(struct mr_store *st)
{
	mkdirat(st->rootfd, "containers/.names", 0700);
	return openat(st->rootfd, "containers/.names", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		      O_CLOEXEC);
}

static int ctr_is_id(const char *s)
{
	return strlen(s) == CTR_ID_LEN && strspn(s, "0123456789abcdef") == CTR_ID_LEN;
}

/* Which container holds `name`? A link whose container is gone, or whose
 * config names another (a rename cut short), is stale: 0 and id[0] = 0. */
static int ctr_name_owner(struct mr_store *st, int namesfd, const char *name, char *id)
{
	char path[32 + CTR_ID_LEN], cfgname[CTR_NAME_MAX + 16];
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	ssize_t n = readlinkat(namesfd, name, id, CTR_ID_LEN + 1);
	if (n != CTR_ID_LEN) {
		id[0] = 0;
		return 0;
	}
	id[CTR_ID_LEN] = 0;
	snprintf(path, sizeof path, "containers/%s/config.json", id);
	/* the record starts {"Id":"ID","Name":"NAME" (ctr_config_json) */
	snprintf(cfgname, sizeof cfgname, "\",\"Name\":\"%s\"", name);
	if (!ctr_is_id(id) || mr_read_file(st->rootfd, path, &b, 1u << 20, &ignored) < 0 ||
	    b.len < 7 + CTR_ID_LEN || strncmp(b.data + 7 + CTR_ID_LEN, cfgname, strlen(cfgname)))
		id[0] = 0;
	mr_buf_free(&b);
	return 0;
}

/* Claim `name` for id (store lock held). */
static int ctr_name_claim(struct mr_store *st, const char *name, const char *id,
			  struct mr_err *err)
{
	char owner[CTR_ID_LEN + 2];
	int fd = ctr_names_dir(st), rc = 0;
	if (fd < 0)
		return mr_err_sys(err, "%s/containers/.names", st->root);
	if (symlinkat(id, fd, name) < 0) {
		if (errno != EEXIST) {
			rc = mr_err_sys(err, "container name %s", name);
		} else {
			ctr_name_owner(st, fd, name, owner);
			if (owner[0] && strcmp(owner, id))
				rc = mr_err_set(err, MR_EEXIST, "Conflict. The container name \"/%s\" is "
						"already in use by container \"%s\". You have to remove "
						"(or rename) that container to be able to reuse that name.",
						name, owner);
			else if (!owner[0] && (unlinkat(fd, name, 0) < 0 || symlinkat(id, fd, name) < 0))
				rc = mr_err_sys(err, "container name %s", name);
		}
	}
	close(fd);
	return rc;
}

static void ctr_name_release(struct mr_store *st, const char *name, const char *id)
{
	char owner[CTR_ID_LEN + 2];
	int fd = ctr_names_dir(st);
	if (fd < 0)
		return;
	if (readlinkat(fd, name, owner, sizeof owner) == CTR_ID_LEN && !strncmp(owner, id, CTR_ID_LEN))
		unlinkat(fd, name, 0);
	close(fd);
}

/* Find a container by full ID, name, or unique ID prefix (Docker's order). */
static int ctr_find(struct mr_store *st, const char *ref, char *id, struct mr_err *err)
{
	int fd, found = 0;
	DIR *d;
	struct dirent *de;
	size_t n = strlen(ref);
	if (*ref == '/')
		ref++, n--;
	if (ctr_is_id(ref) && (fd = ctr_dir(st, ref, err)) >= 0) {
		close(fd);
		memcpy(id, ref, CTR_ID_LEN + 1);
		return 0;
	}
	if (ctr_name_valid(ref) && (fd = ctr_names_dir(st)) >= 0) {
		ctr_name_owner(st, fd, ref, id);
		close(fd);
		if (id[0])
			return 0;
	}
	if (n && n < CTR_ID_LEN && strspn(ref, "0123456789abcdef") == n &&
	    (fd = openat(st->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0 &&
	    (d = fdopendir(fd)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (ctr_is_id(de->d_name) && !strncmp(de->d_name, ref, n)) {
				if (found++) {
					closedir(d);
					return mr_err_set(err, MR_EINVAL_INPUT, "multiple containers "
							  "found with provided prefix: %s", ref);
				}
				memcpy(id, de->d_name, CTR_ID_LEN + 1);
			}
		closedir(d);
		if (found)
			return 0;
	}
	return mr_err_set(err, MR_ENOTFOUND, "No such container: %s", ref);
}

/* ---- config.json ---- */

static void ctr_jw_list(struct mr_jw *w, const char *key, const struct ctr_list *l, int null_empty)
{
	size_t i;
	mr_jw_key(w, key);
	if (!l->n && null_empty) {
		mr_jw_null(w);
		return;
	}
	mr_jw_arr(w);
	for (i = 0; i < l->n; i++)
		mr_jw_str(w, l->v[i]);
	mr_jw_arr_end(w);
}

/* A "k=v" list as a JSON object (Labels, Sysctls). */
static void ctr_jw_kv(struct mr_jw *w, const char *name, const struct ctr_list *l)
{
	size_t i;
	mr_jw_key(w, name);
	mr_jw_obj(w);
	for (i = 0; i < l->n; i++) {
		size_t k = ctr_env_keylen(l->v[i]);
		char key[256];
		snprintf(key, sizeof key, "%.*s", (int)k, l->v[i]);
		mr_jw_key(w, key);
		mr_jw_str(w, l->v[i][k] ? l->v[i] + k + 1 : "");
	}
	mr_jw_obj_end(w);
}

static void ctr_jw_int(struct mr_jw *w, const char *key, long long v)
{
	mr_jw_key(w, key);
	mr_jw_int(w, v);
}

static void ctr_jw_str(struct mr_jw *w, const char *key, const char *v)
{
	mr_jw_key(w, key);
	mr_jw_str(w, v);
}

static void ctr_jw_bool(struct mr_jw *w, const char *key, int v)
{
	mr_jw_key(w, key);
	mr_jw_bool(w, v);
}

/* The record, in Docker's inspect names so that inspect is mostly a copy. */
/* The plain fields of Config (obj 0) and HostConfig (obj 1), by Docker's
 * names: one table for config.json (both ways) and for inspect. */
enum { CF_STR, CF_BOOL, CF_LIST, CF_LISTN, CF_I64, CF_U64, CF_INT };
struct ctr_field {
	char key[18];
	unsigned char type, obj;
	unsigned short off;
};
#define CF(k, t, o, m) { k, t, o, (unsigned short)offsetof(struct ctr, m) }
static const struct ctr_field ctr_fields[] = {
	CF("Hostname", CF_STR, 0, hostname), CF("User", CF_STR, 0, user),
	CF("Tty", CF_BOOL, 0, tty), CF("OpenStdin", CF_BOOL, 0, interactive),
	CF("Env", CF_LIST, 0, env), CF("Cmd", CF_LISTN, 0, cmd),
	CF("Entrypoint", CF_LISTN, 0, entrypoint), CF("WorkingDir", CF_STR, 0, workdir),
	CF("StopSignal", CF_STR, 0, stop_signal),
	CF("NetworkMode", CF_STR, 1, network), CF("AutoRemove", CF_BOOL, 1, auto_remove),
	CF("CapAdd", CF_LISTN, 1, cap_add), CF("CapDrop", CF_LISTN, 1, cap_drop),
	CF("Privileged", CF_BOOL, 1, privileged), CF("ReadonlyRootfs", CF_BOOL, 1, readonly),
	CF("SecurityOpt", CF_LISTN, 1, security_opt), CF("Init", CF_BOOL, 1, init),
	CF("VolumesFrom", CF_LISTN, 1, volumes_from),
	CF("DeviceCgroupRules", CF_LISTN, 1, device_rules), CF("GroupAdd", CF_LISTN, 1, group_add),
	CF("IpcMode", CF_STR, 1, ipc_mode), CF("UTSMode", CF_STR, 1, uts_mode),
	CF("PidMode", CF_STR, 1, pid_mode),
	CF("ShmSize", CF_I64, 1, shm_size),
	CF("Memory", CF_I64, 1, memory), CF("MemorySwap", CF_I64, 1, memory_swap),
	CF("NanoCpus", CF_I64, 1, nano_cpus), CF("PidsLimit", CF_I64, 1, pids_limit),
	CF("LogMaxSize", CF_U64, 1, log_max_size), CF("LogMaxFile", CF_INT, 1, log_max_file),
	CF("LogRam", CF_INT, 1, log_ram), CF("NetDefault", CF_INT, 1, net_default),
};

/* inspect leaves out minirun's own fields (the log limits: LogConfig). */
static void ctr_fields_write(struct mr_jw *w, const struct ctr *c, int obj, int inspect)
{
	size_t i;
	for (i = 0; i < sizeof ctr_fields / sizeof ctr_fields[0]; i++) {
		const struct ctr_field *f = &ctr_fields[i];
		const void *p = (const char *)c + f->off;
		if (f->obj != obj || (inspect && f->type >= CF_U64))
			continue;
		/* inspect shows Docker's words for what the record leaves implicit */
		if (inspect && p == (const void *)&c->network && c->net_default) {
			ctr_jw_str(w, f->key, "default");
			continue;
		}
		if (inspect && p == (const void *)&c->shm_size && !c->shm_size) {
			ctr_jw_int(w, f->key, 64LL << 20);
			continue;
		}
		if (inspect && p == (const void *)&c->init && !c->init)
			continue;                  /* Docker: absent unless --init */
		if (inspect && p == (const void *)&c->pids_limit && c->pids_limit <= 0) {
			mr_jw_key(w, f->key);      /* Docker: null when unlimited */
			mr_jw_null(w);
			continue;
		}
		switch (f->type) {
		case CF_STR: ctr_jw_str(w, f->key, *(const char *const *)p); break;
		case CF_BOOL: ctr_jw_bool(w, f->key, *(const unsigned char *)p); break;
		case CF_I64: ctr_jw_int(w, f->key, *(const int64_t *)p); break;
		case CF_U64: ctr_jw_int(w, f->key, (long long)*(const uint64_t *)p); break;
		case CF_INT: ctr_jw_int(w, f->key, *(const int *)p); break;
		default: ctr_jw_list(w, f->key, p, f->type == CF_LISTN);
		}
	}
	if (obj == 0) {
		if (c->exposed.n) {        /* Docker leaves it out when empty */
			mr_jw_key(w, "ExposedPorts");
			mr_jw_obj(w);
			for (i = 0; i < c->exposed.n; i++) {
				mr_jw_key(w, c->exposed.v[i]);
				mr_jw_obj(w);
				mr_jw_obj_end(w);
			}
			mr_jw_obj_end(w);
		}
		ctr_jw_kv(w, "Labels", &c->labels);
		if (c->health_test.n) {
			mr_jw_key(w, "Healthcheck");
			mr_jw_obj(w);
			ctr_jw_list(w, "Test", &c->health_test, 0);
			ctr_jw_int(w, "Interval", c->health_interval);
			ctr_jw_int(w, "Timeout", c->health_timeout);
			ctr_jw_int(w, "StartPeriod", c->health_start);
			ctr_jw_int(w, "Retries", c->health_retries);
			mr_jw_obj_end(w);
		}
		if (c->stop_timeout >= 0)
			ctr_jw_int(w, "StopTimeout", c->stop_timeout);
	} else {
		if (!inspect || c->sysctls.n)      /* Docker: absent when empty */
			ctr_jw_kv(w, "Sysctls", &c->sysctls);
		mr_jw_key(w, "Ulimits");
		mr_jw_arr(w);
		for (i = 0; i < c->ulimits.n; i++) {
			/* NAME=SOFT:HARD, made so by run */
			const char *u = c->ulimits.v[i], *eq = strchr(u, '='), *colon = strchr(u, ':');
			mr_jw_obj(w);
			mr_jw_key(w, "Name");
			mr_jw_strn(w, u, (size_t)(eq - u));
			ctr_jw_int(w, "Hard", strtoll(colon + 1, NULL, 10));
			ctr_jw_int(w, "Soft", strtoll(eq + 1, NULL, 10));
			mr_jw_obj_end(w);
		}
		mr_jw_arr_end(w);
		mr_jw_key(w, "Devices");
		mr_jw_arr(w);
		for (i = 0; i < c->devices.n; i++) {
			/* HOST:CONTAINER:PERMS, made so by run (paths without ':') */
			const char *a = c->devices.v[i], *b = strchr(a, ':'), *e = strrchr(a, ':');
			mr_jw_obj(w);
			mr_jw_key(w, "PathOnHost");
			mr_jw_strn(w, a, (size_t)(b - a));
			mr_jw_key(w, "PathInContainer");
			mr_jw_strn(w, b + 1, (size_t)(e - b - 1));
			ctr_jw_str(w, "CgroupPermissions", e + 1);
			mr_jw_obj_end(w);
		}
		mr_jw_arr_end(w);
		mr_jw_key(w, "RestartPolicy");
		mr_jw_obj(w);
		ctr_jw_str(w, "Name", c->restart);
		ctr_jw_int(w, "MaximumRetryCount", c->restart_max);
		mr_jw_obj_end(w);
	}
}

/* The record, in Docker's inspect names so that inspect is mostly a copy. */
static void ctr_config_json(struct mr_store *st, const struct ctr *c, struct mr_buf *out)
{
	struct mr_jw w;
	size_t i;
	mr_jw_init(&w, out, 0);
	mr_jw_obj(&w);
	ctr_jw_str(&w, "Id", c->id);
	ctr_jw_str(&w, "Name", c->name);
	ctr_jw_str(&w, "Created", c->created);
	ctr_jw_str(&w, "Image", c->image);
	ctr_jw_str(&w, "ImageRef", c->image_ref);
	ctr_jw_str(&w, "Driver", c->driver);
	ctr_jw_list(&w, "Layers", &c->layers, 0);
	mr_jw_key(&w, "Config");
	mr_jw_obj(&w);
	ctr_fields_write(&w, c, 0, 0);
	mr_jw_obj_end(&w);
	mr_jw_key(&w, "HostConfig");
	mr_jw_obj(&w);
	ctr_fields_write(&w, c, 1, 0);
	mr_jw_key(&w, "Mounts");
	mr_jw_arr(&w);
	for (i = 0; i < c->nmnt; i++)
		mount_write_json(&w, st, &c->mnt[i], 0);
	mr_jw_arr_end(&w);
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	mr_buf_append(out, "\n", 1);
}

static void ctr_json_list(const struct mr_json *arr, struct ctr_list *l)
{
	const struct mr_json *v;
	for (v = arr && arr->type == MR_JSON_ARRAY ? arr->child : NULL; v; v = v->next)
		if (mr_json_str(v))
			ctr_list_add(l, v->str);
}

/* Object of strings -> "k=v" list (Labels, Sysctls). */
static void ctr_json_kv(struct ctr *c, const struct mr_json *obj, struct ctr_list *out)
{
	const struct mr_json *v;
	for (v = obj && obj->type == MR_JSON_OBJECT ? obj->child : NULL; v; v = v->next)
		if (mr_json_str(v)) {
			char *kv = util_xmalloc(v->key_len + v->len + 2);
			sprintf(kv, "%s=%s", v->key, v->str);
			ctr_list_add(out, ctr_own(c, kv));
		}
}

static const char *ctr_json_s(const struct mr_json *o, const char *key, const char *dflt)
{
	const char *s = mr_json_str(mr_json_get(o, key));
	return s ? s : dflt;
}

static long long ctr_json_i(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_NUMBER ? (long long)v->num : 0;
}

static int ctr_json_b(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_TRUE;
}

/* A Healthcheck object (the record's, or an image's) into the container's
 * fields; ["NONE"] or no test: none. */
static void ctr_health_read(struct ctr *c, const struct mr_json *h)
{
	ctr_list_free(&c->health_test);
	ctr_json_list(mr_json_get(h, "Test"), &c->health_test);
	if (c->health_test.n && !strcmp(c->health_test.v[0], "NONE"))
		ctr_list_free(&c->health_test);
	c->health_interval = ctr_json_i(h, "Interval");
	c->health_timeout = ctr_json_i(h, "Timeout");
	c->health_start = ctr_json_i(h, "StartPeriod");
	c->health_retries = (int)ctr_json_i(h, "Retries");
}

/* Load containers/ID/config.json. */
static int ctr_load(struct mr_store *st, const char *id, struct ctr *c, struct mr_err *err)
{
	char path[32 + CTR_ID_LEN];
	struct mr_buf b = { 0 };
	const struct mr_json *r, *cfg, *hc, *rp;
	size_t i;
	ctr_init(c);
	snprintf(path, sizeof path, "containers/%s/config.json", id);
	if (mr_read_file(st->rootfd, path, &b, MINIRUN_MAX_JSON, err) < 0) {
		if (err->code == ENOENT)
			mr_err_set(err, MR_ENOTFOUND, "No such container: %.12s", id);
		mr_buf_free(&b);
		return -1;
	}
	if (mr_json_parse(&c->doc, b.data, b.len, err) < 0) {
		mr_buf_free(&b);
		return mr_err_ctx(err, "container %.12s: config.json", id);
	}
	mr_buf_free(&b);
	r = c->doc.root;
	cfg = mr_json_get(r, "Config");
	hc = mr_json_get(r, "HostConfig");
	rp = mr_json_get(hc, "RestartPolicy");
	if (!cfg || !hc || !ctr_is_id(ctr_json_s(r, "Id", "")) ||
	    mr_digest_valid(ctr_json_s(r, "Image", "")) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "container %.12s: damaged config.json", id);
	snprintf(c->id, sizeof c->id, "%s", ctr_json_s(r, "Id", ""));
	snprintf(c->name, sizeof c->name, "%s", ctr_json_s(r, "Name", ""));
	snprintf(c->created, sizeof c->created, "%s", ctr_json_s(r, "Created", ""));
	snprintf(c->image, sizeof c->image, "%s", ctr_json_s(r, "Image", ""));
	snprintf(c->driver, sizeof c->driver, "%s", ctr_json_s(r, "Driver", "overlay"));
	c->image_ref = ctr_json_s(r, "ImageRef", c->image);
	ctr_json_list(mr_json_get(r, "Layers"), &c->layers);
	for (i = 0; i < c->layers.n; i++)
		if (!ctr_is_id(c->layers.v[i]))
			return mr_err_set(err, MR_EINVAL_INPUT, "container %.12s: damaged layer list "
					  "in config.json", id);
	for (i = 0; i < sizeof ctr_fields / sizeof ctr_fields[0]; i++) {
		const struct ctr_field *f = &ctr_fields[i];
		const struct mr_json *o = f->obj ? hc : cfg, *v = mr_json_get(o, f->key);
		void *p = (char *)c + f->off;
		switch (f->type) {
		case CF_STR:
			if (mr_json_str(v))
				*(const char **)p = v->str;
			break;
		case CF_BOOL: *(unsigned char *)p = (unsigned char)ctr_json_b(o, f->key); break;
		case CF_I64: *(int64_t *)p = ctr_json_i(o, f->key); break;
		case CF_U64: *(uint64_t *)p = (uint64_t)ctr_json_i(o, f->key); break;
		case CF_INT: *(int *)p = (int)ctr_json_i(o, f->key); break;
		default: ctr_json_list(v, p);
		}
	}
	ctr_json_kv(c, mr_json_get(cfg, "Labels"), &c->labels);
	ctr_json_kv(c, mr_json_get(hc, "Sysctls"), &c->sysctls);
	ctr_exposed_add(c, mr_json_get(cfg, "ExposedPorts"), 0, 0);
	ctr_health_read(c, mr_json_get(cfg, "Healthcheck"));
	{
		const struct mr_json *u = mr_json_get(hc, "Ulimits");
		for (u = u && u->type == MR_JSON_ARRAY ? u->child : NULL; u; u = u->next) {
			char *v = util_xmalloc(80);
			snprintf(v, 80, "%.20s=%lld:%lld", ctr_json_s(u, "Name", "?"),
				 ctr_json_i(u, "Soft"), ctr_json_i(u, "Hard"));
			ctr_list_add(&c->ulimits, ctr_own(c, v));
		}
	}
	{
		const struct mr_json *d = mr_json_get(hc, "Devices");
		for (d = d && d->type == MR_JSON_ARRAY ? d->child : NULL; d; d = d->next) {
			const char *h = ctr_json_s(d, "PathOnHost", ""), *in = ctr_json_s(d, "PathInContainer", "");
			const char *perm = ctr_json_s(d, "CgroupPermissions", "rwm");
			char *v = util_xmalloc(strlen(h) + strlen(in) + strlen(perm) + 3);
			sprintf(v, "%s:%s:%s", h, in, perm);
			ctr_list_add(&c->devices, ctr_own(c, v));
		}
	}
	c->stop_timeout = mr_json_get(cfg, "StopTimeout") ? (int)ctr_json_i(cfg, "StopTimeout") : -1;
	c->restart = ctr_json_s(rp, "Name", "no");
	c->restart_max = (int)ctr_json_i(rp, "MaximumRetryCount");
	{
		const struct mr_json *m = mr_json_get(hc, "Mounts");
		for (m = m && m->type == MR_JSON_ARRAY ? m->child : NULL; m; m = m->next) {
			c->mnt = util_xrealloc(c->mnt, (c->nmnt + 1) * sizeof *c->mnt);
			if (mount_read_json(m, &c->mnt[c->nmnt], err) < 0)
				return mr_err_ctx(err, "container %.12s: config.json", id);
			c->nmnt++;
		}
	}
	for (i = 0; i < c->security_opt.n; i++)
		if (!strcmp(c->security_opt.v[i], "no-new-privileges") ||
		    !strcmp(c->security_opt.v[i], "no-new-privileges:true") ||
		    !strcmp(c->security_opt.v[i], "no-new-privileges=true"))
			c->no_new_privs = 1;
	return 0;
}

/* Atomic replace of a small file; `sync` = fsync the data and the folder
 * first (durable records); without it only the atomicity is kept (records of
 * --rm containers, start stamps: losing one to a power cut is harmless). */
static int ctr_write_file(int dirfd, const char *name, const void *data, size_t len, int sync,
			  struct mr_err *err)
{
	char tmp[NAME_MAX + 1];
	int fd;
	if (sync)
		return mr_write_atomic(dirfd, name, data, len, 0600, err);
	snprintf(tmp, sizeof tmp, ".tmp.%d.%.200s", (int)getpid(), name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return mr_err_sys(err, "write %s", name);
	if (util_write_all(fd, data, len) < 0) {
		mr_err_sys(err, "write %s", name);
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		mr_err_sys(err, "write %s", name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

static int ctr_save(struct mr_store *st, const struct ctr *c, int dirfd, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	int rc, fd = dirfd >= 0 ? dirfd : ctr_dir(st, c->id, err);
	if (fd < 0)
		return -1;
	ctr_config_json(st, c, &b);
	rc = ctr_write_file(fd, "config.json", b.data, b.len, !c->auto_remove, err);
	mr_buf_free(&b);
	if (dirfd < 0)
		close(fd);
	return rc;
}

/* ---- state.json and the live state ---- */

static void ctr_now(char *out, size_t size)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	util_time_rfc3339(&ts, out, size);
}

static int ctr_state_read(struct mr_store *st, const char *id, struct ctr_state *s)
{
	char path[32 + CTR_ID_LEN];
	struct mr_buf b = { 0 };
	struct mr_json_doc doc = { 0 };
	struct mr_err ignored;
	int rc = -1;
	memset(s, 0, sizeof *s);
	snprintf(path, sizeof path, "containers/%s/state.json", id);
	if (mr_read_file(st->rootfd, path, &b, 65536, &ignored) == 0 &&
	    mr_json_parse(&doc, b.data, b.len, &ignored) == 0) {
		const struct mr_json *r = doc.root;
		s->running = ctr_json_b(r, "Running");
		s->exit_code = (int)ctr_json_i(r, "ExitCode");
		s->oom_killed = ctr_json_b(r, "OOMKilled");
		s->restart_count = (int)ctr_json_i(r, "RestartCount");
		s->stopped_by_user = ctr_json_b(r, "StoppedByUser");
		snprintf(s->started, sizeof s->started, "%s", ctr_json_s(r, "StartedAt", ""));
		snprintf(s->finished, sizeof s->finished, "%s", ctr_json_s(r, "FinishedAt", ""));
		snprintf(s->error, sizeof s->error, "%s", ctr_json_s(r, "Error", ""));
		rc = 0;
	}
	mr_json_free(&doc);
	mr_buf_free(&b);
	return rc;
}

static int ctr_state_write(struct mr_store *st, const char *id, const struct ctr_state *s,
			   int sync, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	struct mr_jw w;
	int rc, fd = ctr_dir(st, id, err);
	if (fd < 0)
		return -1;
	mr_jw_init(&w, &b, 0);
	mr_jw_obj(&w);
	ctr_jw_bool(&w, "Running", s->running);
	ctr_jw_int(&w, "ExitCode", s->exit_code);
	ctr_jw_bool(&w, "OOMKilled", s->oom_killed);
	ctr_jw_int(&w, "RestartCount", s->restart_count);
	ctr_jw_bool(&w, "StoppedByUser", s->stopped_by_user);
	ctr_jw_str(&w, "StartedAt", s->started);
	ctr_jw_str(&w, "FinishedAt", s->finished);
	ctr_jw_str(&w, "Error", s->error);
	mr_jw_obj_end(&w);
	rc = ctr_write_file(fd, "state.json", b.data, b.len, sync, err);
	mr_buf_free(&b);
	close(fd);
	return rc;
}

/* Start time of a process (clock ticks since boot, /proc/PID/stat field 22):
 * a pid with another start time is another process. 0 if gone (or a zombie). */
static unsigned long long ctr_pid_start(pid_t pid)
{
	char path[32], buf[512], *p;
	unsigned long long v = 0;
	int fd, i;
	ssize_t n;
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = util_read_full(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* a zombie has exited: only its parent's wait is missing */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	/* after ")": state is field 3; starttime is field 22 */
	for (i = 2; p && i < 22; i++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

/* rundir/ID (created on demand) as an fd. */
static int ctr_rundir(struct mr_store *st, const char *id, int create)
{
	char path[MINIRUN_MAX_PATH + 80];
	snprintf(path, sizeof path, "%s/%s", st->rundir, id);
	if (create && mkdir(path, 0700) < 0 && errno == ENOENT) {
		/* rundir itself is made on first use: it lives on tmpfs */
		char *slash;
		for (slash = path + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
			*slash = 0;
			mkdir(path, 0711);
			*slash = '/';
		}
		mkdir(path, 0700);
	}
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Live state line: "pid start monitor status\n" (status 'r' running, 'R'
 * waiting to restart, 's' starting). */
struct ctr_rt {
	pid_t pid, monitor;
	unsigned long long start;
	char status;
};

static int ctr_rt_read(int rfd, struct ctr_rt *rt)
{
	char buf[128];
	int fd = openat(rfd, "state", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;
	int pid = 0, mon = 0;
	memset(rt, 0, sizeof *rt);
	if (fd < 0)
		return -1;
	n = util_read_full(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	{
		const char *q = buf;
		uint64_t start;
		char status[4];
		if (util_word_int(&q, &pid) < 0 || util_word_u64(&q, &start, 10) < 0 ||
		    util_word_int(&q, &mon) < 0 || util_word(&q, status, sizeof status) < 0 ||
		    status[1])
			return -1;
		rt->start = start;
		rt->status = status[0];
	}
	rt->pid = pid;
	rt->monitor = mon;
	return 0;
}

static void ctr_rt_write(int rfd, const struct ctr_rt *rt)
{
	char buf[96];
	struct mr_err ignored;
	int n = snprintf(buf, sizeof buf, "%d %llu %d %c\n", (int)rt->pid, rt->start,
			 (int)rt->monitor, rt->status);
	ctr_write_file(rfd, "state", buf, (size_t)n, 0, &ignored);
}

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#endif

/* The owner lock: an OFD lock (Linux 3.15), like flock() owned by the open
 * file (a clone of the owner shares it until its exec), but testable with
 * F_OFD_GETLK without taking it: looking at a container (ps, wait, exec)
 * never makes a concurrent start fail. 0 taken, -1 with errno (EAGAIN: held). */
static int ctr_lock_take(int fd, int wait)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
}

/* Is the owner lock of rundir/ID held (a monitor or foreground CLI alive)? */
static int ctr_monitor_alive(int rfd)
{
	struct flock fl;
	int fd = openat(rfd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC), alive = 0;
	if (fd < 0)
		return 0;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		alive = 1;
	close(fd);
	return alive;
}

static void ctr_info_get(struct mr_store *st, const char *id, struct ctr_info *ci)
{
	int rfd = ctr_rundir(st, id, 0);
	struct ctr_rt rt;
	memset(ci, 0, sizeof *ci);
	ctr_state_read(st, id, &ci->st);
	if (rfd >= 0 && ctr_monitor_alive(rfd) && ctr_rt_read(rfd, &rt) == 0) {
		ci->monitor = rt.monitor;
		if (rt.status == 'R') {
			ci->status = CTR_RESTARTING;
		} else if (rt.pid > 0 && ctr_pid_start(rt.pid) == rt.start) {
			char buf[64] = "";
			int fd = openat(rfd, "health.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			ci->status = CTR_RUNNING;
			ci->pid = rt.pid;
			ci->pid_start = rt.start;
			/* written by the owner, "Status" first: {"Status":"healthy",... */
			if (fd >= 0) {
				ssize_t n = read(fd, buf, sizeof buf - 1);
				buf[n > 0 ? n : 0] = 0;
				close(fd);
			}
			if (!strncmp(buf, "{\"Status\":\"", 11))
				snprintf(ci->health, sizeof ci->health, "%.*s", (int)strcspn(buf + 11, "\""),
					 buf + 11);
		} else {
			/* between an exit and its record: report the last known */
			ci->status = ci->st.running ? CTR_RUNNING : ci->st.finished[0] ?
				     CTR_EXITED : CTR_CREATED;
		}
	} else if (ci->st.running) {
		/* Started, but nothing owns it any more: its monitor was killed or
		 * the machine rebooted. Docker shows such containers as exited 255. */
		ci->status = CTR_EXITED;
		ci->st.exit_code = 255;
		if (!ci->st.finished[0])
			snprintf(ci->st.finished, sizeof ci->st.finished, "%s", ci->st.started);
	} else {
		ci->status = ci->st.finished[0] ? CTR_EXITED : CTR_CREATED;
	}
	if (rfd >= 0)
		close(rfd);
}

/* Containers that use an image, running and stopped apart (rmi's conflicts
 * differ: a running user cannot be forced away, a stopped one can): how many
 * of each and the first one's short ID. */
struct ctr_image_users {
	int running, stopped;
	char running_who[16], stopped_who[16];
};

static void container_image_users(struct mr_store *st, const char *image_id,
				  struct ctr_image_users *u)
{
	int fd = openat(st->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char want[MR_DIGEST_LEN + 16];
	memset(u, 0, sizeof *u);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(want, sizeof want, "\"Image\":\"%s\"", image_id);
	while ((de = readdir(d)) != NULL) {
		char path[32 + CTR_ID_LEN];
		struct mr_buf b = { 0 };
		struct mr_err ignored;
		struct ctr_info ci;
		if (!ctr_is_id(de->d_name))
			continue;
		snprintf(path, sizeof path, "%s/config.json", de->d_name);
		if (mr_read_file(fd, path, &b, MINIRUN_MAX_JSON, &ignored) == 0 && strstr(b.data, want)) {
			ctr_info_get(st, de->d_name, &ci);
			if (ci.status == CTR_RUNNING || ci.status == CTR_RESTARTING) {
				if (!u->running++)
					snprintf(u->running_who, sizeof u->running_who, "%.12s", de->d_name);
			} else if (!u->stopped++) {
				snprintf(u->stopped_who, sizeof u->stopped_who, "%.12s", de->d_name);
			}
		}
		mr_buf_free(&b);
	}
	closedir(d);
}

/* How many containers use the image; the first one's short ID goes to who. */
static int container_users_of_image(struct mr_store *st, const char *image_id, char *who,
				    size_t size)
{
	struct ctr_image_users u;
	container_image_users(st, image_id, &u);
	snprintf(who, size, "%s", u.running ? u.running_who : u.stopped_who);
	return u.running + u.stopped;
}

/* ---- the run/create front end: the image config and the flags into the spec ----
 * Docker's merge rules, one group of the spec per function, each checking
 * what it takes; spec_from_opts ([19b]) calls them in order. */

/* The image (by name, ID or prefix) and its config into c->img; its layers. */
static int ctr_spec_image(struct mr_store *st, const char *ref, struct ctr *c, struct mr_err *err)
{
	struct image_db db = { 0 };
	struct image_rec *r;
	struct mr_buf b = { 0 };
	size_t i;
	int rc = -1;
	char path[96];
	if (image_db_read(st, &db, err) < 0 || !(r = image_db_find(&db, ref, err)))
		goto out;
	snprintf(c->image, sizeof c->image, "%s", r->id);
	c->image_ref = ref;
	for (i = 0; i < r->nlayers; i++)
		ctr_list_add(&c->layers, ctr_own(c, util_xstrdup(r->layers[i])));
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(r->id));
	if (mr_read_file(st->rootfd, path, &b, MINIRUN_MAX_JSON, err) < 0 ||
	    mr_json_parse(&c->img, b.data, b.len, err) < 0) {
		mr_err_ctx(err, "image %.19s: config", r->id);
		goto out;
	}
	rc = 0;
out:
	mr_buf_free(&b);
	image_db_free(&db);
	return rc;
}

/* A new random ID; the name asked for, or a generated one. */
static int ctr_spec_identity(struct ctr *c, const char *name, struct mr_err *err)
{
	unsigned char rnd[32];
	if (name && !ctr_name_valid(name))
		return mr_err_set(err, MR_EINVAL_INPUT, "Invalid container name (%s), only "
				  "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
	if (util_random(rnd, sizeof rnd) < 0)
		return mr_err_sys(err, "random");
	util_hex(rnd, sizeof rnd, c->id);
	if (name)
		snprintf(c->name, sizeof c->name, "%s", *name == '/' ? name + 1 : name);
	else
		ctr_name_generate(c->name, sizeof c->name);
	return 0;
}

/* process: command, environment, working directory, user, terminal. */
static int ctr_spec_process(struct ctr *c, const struct ctr_opts *o, const struct mr_json *cfg,
			    struct mr_err *err)
{
	struct ctr_list img_ep = { 0 }, img_cmd = { 0 };
	size_t i;
	ctr_json_list(mr_json_get(cfg, "Entrypoint"), &img_ep);
	ctr_json_list(mr_json_get(cfg, "Cmd"), &img_cmd);
	ctr_command_merge(&c->entrypoint, &c->cmd, &img_ep, &img_cmd, o->entrypoint, o->args,
			  o->nargs);
	ctr_list_free(&img_ep);
	ctr_list_free(&img_cmd);
	if (!c->entrypoint.n && !c->cmd.n)
		return mr_err_set(err, MR_EINVAL_INPUT, "No command specified");
	for (i = 0; i < o->env_file.n; i++)
		if (ctr_env_file(c, o->env_file.v[i], err) < 0)
			return -1;
	for (i = 0; i < o->env.n; i++)
		if (ctr_env_add_arg(c, o->env.v[i]) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid environment variable: %s",
					  o->env.v[i]);
	/* the image's variables after the flags' (Docker's Config.Env order) */
	ctr_env_merge_image(&c->env, mr_json_get(cfg, "Env"));
	c->workdir = o->workdir ? o->workdir : ctr_json_s(cfg, "WorkingDir", "");
	if (*c->workdir && *c->workdir != '/')
		return mr_err_set(err, MR_EINVAL_INPUT, "the working directory '%s' is invalid, it "
				  "needs to be an absolute path", c->workdir);
	c->user = o->user ? o->user : ctr_json_s(cfg, "User", "");
	for (i = 0; i < o->group_add.n; i++)
		ctr_list_add(&c->group_add, o->group_add.v[i]);
	c->tty = (unsigned char)(o->tty > 0);
	c->interactive = (unsigned char)(o->interactive > 0);
	c->init = (unsigned char)(o->init > 0);
	return 0;
}

/* namespaces: UTS (and the host name), IPC, PID; /dev/shm; sysctls (which
 * must belong to a namespace the container has of its own). */
static int ctr_spec_namespaces(struct ctr *c, const struct ctr_opts *o, struct mr_err *err)
{
	const char *hostname = o->hostname;
	uint64_t v;
	size_t i;
	if (o->uts && *o->uts && strcmp(o->uts, "host"))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid UTS mode: %s (host, or none for a "
				  "private one)", o->uts);
	if (o->uts && !strcmp(o->uts, "host")) {
		char host[65] = "";
		if (hostname)
			return mr_err_set(err, MR_EINVAL_INPUT, "Conflicting options: hostname and "
					  "the UTS mode");
		gethostname(host, sizeof host - 1);
		c->uts_mode = "host";
		hostname = ctr_own(c, util_xstrdup(host));
	} else {
		c->uts_mode = "";
	}
	/* --network host: the host's name (Docker), else the short ID */
	if (!hostname && o->network && !strcmp(o->network, "host")) {
		char host[65] = "";
		gethostname(host, sizeof host - 1);
		hostname = ctr_own(c, util_xstrdup(host));
	}
	c->hostname = hostname ? hostname : ctr_own(c, util_xstrndup(c->id, 12));
	if (!*c->hostname || strlen(c->hostname) > 64)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid hostname \"%s\"", c->hostname);
	if (o->ipc && strcmp(o->ipc, "host") && strcmp(o->ipc, "private") &&
	    strcmp(o->ipc, "shareable"))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid IPC mode: %s (host, private or "
				  "shareable)", o->ipc);
	c->ipc_mode = o->ipc ? o->ipc : "private";
	if (o->pid && *o->pid && strcmp(o->pid, "host"))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid PID mode: %s (host, or none for a "
				  "private one)", o->pid);
	c->pid_mode = o->pid && *o->pid ? "host" : "";
	if (o->shm_size) {
		if (util_parse_size(o->shm_size, &v) < 0 || v == 0 || v > ((uint64_t)1 << 40))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid size: '%s'", o->shm_size);
		c->shm_size = (int64_t)v;
	}
	for (i = 0; i < o->sysctl.n; i++) {
		if (ctr_sysctl_check(o->sysctl.v[i], o->network && !strcmp(o->network, "host"),
				     !strcmp(c->ipc_mode, "host"), err) < 0)
			return -1;
		ctr_env_set(&c->sysctls, o->sysctl.v[i]);
	}
	return 0;
}

/* resources: memory, swap, CPUs, processes; rlimits. */
static int ctr_spec_resources(struct ctr *c, const struct ctr_opts *o, struct mr_err *err)
{
	uint64_t v;
	size_t i;
	if (o->memory) {
		if (util_parse_size(o->memory, &v) < 0 || v > INT64_MAX)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --memory %s", o->memory);
		if (v && v < 6u << 20)
			return mr_err_set(err, MR_EINVAL_INPUT, "Minimum memory limit allowed is 6MB");
		c->memory = (int64_t)v;
	}
	if (o->memory_swap) {
		if (!strcmp(o->memory_swap, "-1"))
			c->memory_swap = -1;
		else if (util_parse_size(o->memory_swap, &v) < 0 || v > INT64_MAX)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --memory-swap %s", o->memory_swap);
		else
			c->memory_swap = (int64_t)v;
		if (!c->memory)
			return mr_err_set(err, MR_EINVAL_INPUT, "You should always set the Memory limit "
					  "when using Memoryswap limit, see usage");
		if (c->memory_swap > 0 && c->memory_swap < c->memory)
			return mr_err_set(err, MR_EINVAL_INPUT, "Minimum memoryswap limit should be "
					  "larger than memory limit, see usage");
	}
	if (o->cpus) {
		long ncpu = util_ncpu();
		if (ctr_cpus_parse(o->cpus, &c->nano_cpus) < 0 ||
		    (c->nano_cpus && (c->nano_cpus < 10000000 || c->nano_cpus > ncpu * 1000000000LL)))
			return mr_err_set(err, MR_EINVAL_INPUT, "Range of CPUs is from 0.01 to %ld.00, "
					  "as there are only %ld CPUs available", ncpu, ncpu);
	}
	if (o->pids_limit) {
		long long n = strtoll(o->pids_limit, NULL, 10);
		if (util_parse_u64(o->pids_limit + (*o->pids_limit == '-'), &v) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --pids-limit %s", o->pids_limit);
		c->pids_limit = n > 0 ? n : 0;
	}
	for (i = 0; i < o->ulimit.n; i++) {
		long long soft = 0, hard = 0;
		const char *eq = strchr(o->ulimit.v[i], '=');
		char *norm;
		if (ctr_ulimit_parse(o->ulimit.v[i], &soft, &hard, err) < 0)
			return -1;
		norm = util_xmalloc(80);
		snprintf(norm, 80, "%.*s=%lld:%lld", (int)(eq - o->ulimit.v[i]), o->ulimit.v[i],
			 soft, hard);
		ctr_env_set(&c->ulimits, ctr_own(c, norm));
	}
	return 0;
}

/* capabilities, devices, seccomp and the other security options. */
static int ctr_spec_security(struct ctr *c, const struct ctr_opts *o, struct mr_err *err)
{
	size_t i;
	for (i = 0; i < o->cap_add.n; i++)
		ctr_list_add(&c->cap_add, o->cap_add.v[i]);
	for (i = 0; i < o->cap_drop.n; i++)
		ctr_list_add(&c->cap_drop, o->cap_drop.v[i]);
	c->privileged = (unsigned char)(o->privileged > 0);
	c->readonly = (unsigned char)(o->read_only > 0);
	if (o->device.n > DEV_MAX)
		return mr_err_set(err, MR_EINVAL_INPUT, "too many --device: at most %d", DEV_MAX);
	for (i = 0; i < o->device.n; i++) {
		struct dev_node dn;
		char acc[4], *spec;
		if (dev_resolve(o->device.v[i], &dn, err) < 0)
			return -1;
		spec = util_xmalloc(strlen(dn.host) + strlen(dn.path) + 6);
		sprintf(spec, "%s:%s:%s", dn.host, dn.path, dev_access_str(dn.rule.access, acc));
		ctr_list_add(&c->devices, ctr_own(c, spec));
	}
	for (i = 0; i < o->device_rule.n; i++) {
		struct dev_rule rule;
		if (dev_rule_parse(o->device_rule.v[i], &rule) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid device cgroup format '%s'",
					  o->device_rule.v[i]);
		ctr_list_add(&c->device_rules, o->device_rule.v[i]);
	}
	for (i = 0; i < o->security_opt.n; i++) {
		const char *s = o->security_opt.v[i];
		if (!strcmp(s, "no-new-privileges") || !strcmp(s, "no-new-privileges:true") ||
		    !strcmp(s, "no-new-privileges=true"))
			c->no_new_privs = 1;
		else if (!strncmp(s, "seccomp", 7) && strcmp(s + 7, "=unconfined") &&
			 strcmp(s + 7, ":unconfined"))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --security-opt: \"%s\": "
					  "minirun has Docker's default seccomp profile built in, or "
					  "none with seccomp=unconfined (profiles from files are not "
					  "supported)", s);
		else if (strcmp(s, "no-new-privileges:false") && strcmp(s, "no-new-privileges=false") &&
			 strncmp(s, "seccomp", 7) && strncmp(s, "apparmor", 8) && strncmp(s, "label", 5))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --security-opt: \"%s\"", s);
		ctr_list_add(&c->security_opt, s);
	}
	return 0;
}

/* health: the image's HEALTHCHECK, each --health-* flag replacing its part,
 * --no-healthcheck none (Docker's rules). */
static int ctr_spec_health(struct ctr *c, const struct ctr_opts *o, const struct mr_json *cfg,
			   struct mr_err *err)
{
	const char *const vals[] = { o->health_interval, o->health_timeout, o->health_start };
	int64_t *const dst[] = { &c->health_interval, &c->health_timeout, &c->health_start };
	static const char *const names[] = { "interval", "timeout", "start-period" };
	uint64_t retries;
	size_t i;
	if (o->no_healthcheck) {
		if (o->health_cmd)
			return mr_err_set(err, MR_EINVAL_INPUT, "--no-healthcheck conflicts with "
					  "--health-* options");
		return 0;
	}
	ctr_health_read(c, mr_json_get(cfg, "Healthcheck"));
	if (o->health_cmd) {
		ctr_list_free(&c->health_test);
		ctr_list_add(&c->health_test, "CMD-SHELL");
		ctr_list_add(&c->health_test, o->health_cmd);
	}
	for (i = 0; i < 3; i++)
		if (vals[i] && (util_parse_duration(vals[i], dst[i]) < 0 ||
				(*dst[i] != 0 && *dst[i] < 1000000)))
			return mr_err_set(err, MR_EINVAL_INPUT, "--health-%s: invalid duration %s "
					  "(30s, 1m30s; at least 1ms)", names[i], vals[i]);
	if (o->health_retries) {
		if (util_parse_u64(o->health_retries, &retries) < 0 || retries > 1000)
			return mr_err_set(err, MR_EINVAL_INPUT, "--health-retries: invalid number %s",
					  o->health_retries);
		c->health_retries = (int)retries;
	}
	return 0;
}

/* One --log-opt (or boot key `log`): Docker's json-file max-size and
 * max-file, and location=ram|store; several may share one value, separated
 * by commas ("max-size=64k,max-file=2,location=ram"). */
static int ctr_log_opts(struct ctr *c, const char *opts, struct mr_err *err)
{
	char one[128];
	const char *s = opts;
	uint64_t v;
	while (*s) {
		size_t n = strcspn(s, ",");
		snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), s);
		if (!strncmp(one, "max-size=", 9) && util_parse_size(one + 9, &v) == 0 && v >= 4096) {
			c->log_max_size = v;
		} else if (!strncmp(one, "max-file=", 9) && util_parse_u64(one + 9, &v) == 0 &&
			   v >= 1 && v <= 100) {
			c->log_max_file = (int)v;
		} else if (!strcmp(one, "location=ram") || !strcmp(one, "location=store")) {
			c->log_ram = one[9] == 'r';
		} else {
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid log opt '%s' (max-size=SIZE of "
					  "at least 4k, max-file=1..100, location=ram|store)", one);
		}
		s += n + (s[n] == ',');
	}
	return 0;
}

/* lifecycle: stop signal and timeout, restart policy, --rm, log limits;
 * labels (the image's, then the flags'). */
static int ctr_spec_lifecycle(struct ctr *c, const struct ctr_opts *o, const struct mr_json *cfg,
			      struct mr_err *err)
{
	uint64_t v;
	size_t i;
	ctr_json_kv(c, mr_json_get(cfg, "Labels"), &c->labels);
	for (i = 0; i < o->label.n; i++)
		ctr_env_set(&c->labels, o->label.v[i]);
	c->stop_signal = o->stop_signal ? o->stop_signal : ctr_json_s(cfg, "StopSignal", "SIGTERM");
	if (ctr_spec_health(c, o, cfg, err) < 0)
		return -1;
	if (!ctr_signal_parse(c->stop_signal))
		return mr_err_set(err, MR_EINVAL_INPUT, "Invalid signal: %s", c->stop_signal);
	if (o->stop_timeout) {
		if (util_parse_u64(o->stop_timeout, &v) < 0 || v > 1000000)
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid --stop-timeout %s",
					  o->stop_timeout);
		c->stop_timeout = (int)v;
	}
	if (o->restart && ctr_restart_parse(o->restart, &c->restart, &c->restart_max) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid restart policy format: %s",
				  o->restart);
	if (o->rm && strcmp(c->restart, "no"))
		return mr_err_set(err, MR_EINVAL_INPUT, "Conflicting options: --restart and --rm");
	c->auto_remove = (unsigned char)(o->rm > 0);
	for (i = 0; i < o->log_opt.n; i++)
		if (ctr_log_opts(c, o->log_opt.v[i], err) < 0)
			return -1;
	return 0;
}

/* `--volumes-from CONTAINER[:ro|:rw]`: append that container's volumes and
 * bind mounts (not its tmpfs), in its mode unless :ro or :rw says otherwise.
 * They are recorded in our own mounts, so `volume rm` names us too. */
static int ctr_volumes_from(struct mr_store *st, const char *arg, struct mount_spec **from,
			    size_t *nfrom, struct mr_err *err)
{
	char ref[CTR_NAME_MAX + 8], id[CTR_ID_LEN + 1], *colon;
	struct ctr src;
	size_t i;
	int ro = -1, rc;
	snprintf(ref, sizeof ref, "%s", arg);
	if ((colon = strchr(ref, ':')) != NULL) {
		if (strcmp(colon + 1, "ro") && strcmp(colon + 1, "rw"))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid mode: %s", colon + 1);
		ro = colon[2] == 'o';
		*colon = 0;
	}
	ctr_init(&src);
	rc = ctr_find(st, ref, id, err) < 0 || ctr_load(st, id, &src, err) < 0 ? -1 : 0;
	for (i = 0; rc == 0 && i < src.nmnt; i++) {
		struct mount_spec *m;
		if (src.mnt[i].type == MOUNT_TMPFS)
			continue;
		*from = util_xrealloc(*from, (*nfrom + 1) * sizeof **from);
		m = &(*from)[(*nfrom)++];
		*m = src.mnt[i];
		m->from_v = 0;
		if (ro >= 0) {
			m->readonly = ro;
			snprintf(m->mode, sizeof m->mode, "%s", ro ? "ro" : "rw");
		}
	}
	ctr_free(&src);
	return rc;
}

/* mounts: -v, --mount, --tmpfs, then --volumes-from for targets not taken
 * yet, then an anonymous volume for each VOLUME of the image that no mount
 * covers. Parsed only: ctr_mounts_prepare creates what they need. */
static int ctr_spec_mounts(struct mr_store *st, const struct ctr_opts *o, struct ctr *c,
			   const struct mr_json *cfg, struct mr_err *err)
{
	const struct mr_json *v = mr_json_get(cfg, "Volumes");
	struct mount_spec *from = NULL;
	size_t i, j, nfrom = 0, k = o->volume.n + o->mount.n + o->tmpfs.n, n = k;
	int rc = 0;
	for (i = 0; i < o->volumes_from.n && rc == 0; i++) {
		rc = ctr_volumes_from(st, o->volumes_from.v[i], &from, &nfrom, err);
		ctr_list_add(&c->volumes_from, o->volumes_from.v[i]);
	}
	for (v = v && v->type == MR_JSON_OBJECT ? v->child : NULL; v; v = v->next)
		n++;
	c->mnt = util_xcalloc(n + nfrom, sizeof *c->mnt);
	for (i = 0; i < k + nfrom && rc == 0; i++) {
		struct mount_spec *m = &c->mnt[c->nmnt];
		if (i < o->volume.n)
			rc = mount_parse_v(o->volume.v[i], m, err);
		else if (i < o->volume.n + o->mount.n)
			rc = mount_parse_mount(o->mount.v[i - o->volume.n], m, err);
		else if (i < k)
			rc = mount_parse_tmpfs(o->tmpfs.v[i - o->volume.n - o->mount.n], m, err);
		else
			*m = from[i - k];
		for (j = 0; j < c->nmnt; j++)
			if (!strcmp(c->mnt[j].target, m->target))
				break;
		if (rc == 0 && j < c->nmnt && i < k)
			rc = mr_err_set(err, MR_EINVAL_INPUT, "Duplicate mount point: %s", m->target);
		else if (rc == 0 && j == c->nmnt)
			c->nmnt++;  /* a mount of our own wins over --volumes-from's */
	}
	free(from);
	if (rc < 0)
		return -1;
	for (v = mr_json_get(cfg, "Volumes"), v = v && v->type == MR_JSON_OBJECT ? v->child : NULL;
	     v; v = v->next) {
		struct mount_spec *m = &c->mnt[c->nmnt];
		for (j = 0; j < c->nmnt; j++)
			if (!strcmp(c->mnt[j].target, v->key))
				break;
		if (j < c->nmnt || v->key[0] != '/' || strlen(v->key) >= sizeof m->target)
			continue;
		memset(m, 0, sizeof *m);
		m->type = MOUNT_VOLUME;
		m->anonymous = 1;
		m->propagation = MS_PRIVATE | MS_REC;
		/* the image's VOLUME is cleaned and checked like -v's ("/.." is "/") */
		if (mount_target_ok(m, v->key, v->key, err) < 0)
			return -1;
		for (j = 0; j < c->nmnt; j++)
			if (!strcmp(c->mnt[j].target, m->target))
				break;
		if (j < c->nmnt)
			continue;
		c->nmnt++;
	}
	return 0;
}

/* Remove the volumes made for a container that was not created. */
static void ctr_mounts_undo(struct mr_store *st, struct ctr *c, size_t n)
{
	struct mr_err ignored;
	size_t i;
	for (i = 0; i < n && i < c->nmnt; i++)
		if (c->mnt[i].type == MOUNT_VOLUME && c->mnt[i].created)
			volume_remove(st, c->mnt[i].source, &ignored);
}

/* Named volumes are created (and filled from the image later), missing -v
 * host folders too ([11] mount_prepare); on failure nothing stays. */
static int ctr_mounts_prepare(struct mr_store *st, struct ctr *c, struct mr_err *err)
{
	size_t i;
	for (i = 0; i < c->nmnt; i++)
		if (mount_prepare(st, &c->mnt[i], err) < 0) {
			ctr_mounts_undo(st, c, i);
			c->nmnt = 0;
			return -1;
		}
	return 0;
}
/* ======================== END src/14_container.c ======================== */

/* ======================== BEGIN src/14b_check.c ======================== */
#line 1 "src/14b_check.c"
/* ==== [14b] CHECK: verify the whole store, repair what nothing uses ====
 * `minirun check [--repair]` and init at boot. Under the store lock (so no
 * load or rmi commits while we look) it checks: images.json parses; every
 * tag names a record; every record's config and manifest blobs exist and
 * match their digests; every layer a record or a container uses is complete
 * (folder and completion mark); container records parse and name an image
 * the store has; name links point at their container; volumes have _data and
 * readable metadata; network files parse; no temporary is left; no layer or
 * blob is unreferenced. One line per problem on stdout, then a summary line.
 * What the store opening does for every command (temporaries of dead
 * processes, a collection cut short) is done before the check, so the check
 * sees the store as the next command will.
 * Repair levels: CHECK_GARBAGE removes temporaries, unreferenced layers and
 * blobs, marks without layers, stale name links (init at boot); CHECK_REPAIR
 * also drops tags to nothing and image records that are broken and that no
 * container uses, rewrites damaged volume metadata and marks the trusted
 * layers of a store made before marks existed. Never a volume's data, never
 * a layer or image that a container uses. */

enum { CHECK_REPORT, CHECK_GARBAGE, CHECK_REPAIR };

struct check {
	struct mr_store *st;
	int repair;
	const char *prefix;             /* put before every line ("" or init's) */
	unsigned problems, fixed;
	unsigned nimages, nlayers, nblobs, nctrs, nvols, nnets, legacy;
	struct image_db db;
	int db_ok, db_dirty;
	char (*used)[65];               /* layers containers use (diff_id hex) */
	size_t nused;
	char (*imgs)[MR_DIGEST_LEN + 1];  /* images containers use */
	size_t nimgs;
};

static void check_line(struct check *ck, int fixed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void check_line(struct check *ck, int fixed, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (fixed) {
		ck->fixed++;
		printf("%sremoved %s\n", ck->prefix, msg);
	} else {
		ck->problems++;
		printf("%s%s\n", ck->prefix, msg);
	}
}

/* A problem that the current repair level may fix: report it, and say
 * whether to fix it. */
static int check_found(struct check *ck, int level, const char *what)
{
	if (ck->repair >= level)
		return 1;
	check_line(ck, 0, "%s", what);
	return 0;
}

/* After a repair: "removed WHAT", or WHAT stays a problem. */
static void check_done(struct check *ck, int rc, const char *what)
{
	check_line(ck, rc == 0, "%s%s", what, rc == 0 ? "" : " (could not be removed)");
}

static int check_is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int check_ctr_uses_layer(const struct check *ck, const char *hex)
{
	size_t i;
	for (i = 0; i < ck->nused; i++)
		if (!strcmp(ck->used[i], hex))
			return 1;
	return 0;
}

static int check_ctr_uses_image(const struct check *ck, const char *id)
{
	size_t i;
	for (i = 0; i < ck->nimgs; i++)
		if (!strcmp(ck->imgs[i], id))
			return 1;
	return 0;
}

static int check_rec_uses_layer(const struct check *ck, const char *hex)
{
	size_t i;
	for (i = 0; ck->db_ok && i < ck->db.nrecs; i++)
		if (image_rec_uses(&ck->db.recs[i], hex))
			return 1;
	return 0;
}

/* Iterate a store folder: fn(ck, dfd, name) for every entry but . and .. */
static void check_each(struct check *ck, const char *dir,
		       void (*fn)(struct check *, int, const char *))
{
	int dfd = openat(ck->st->rootfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3)) : NULL;
	struct dirent *de;
	if (!d) {
		if (dfd >= 0 || errno != ENOENT)
			check_line(ck, 0, "%s: cannot read the folder", dir);
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			fn(ck, dfd, de->d_name);
	closedir(d);
	close(dfd);
}

/* A ".tmp.*" file an atomic write left (the writer was killed). */
static int check_temp(struct check *ck, int dfd, const char *dir, const char *name)
{
	struct mr_err ignored;
	char what[300];
	if (!util_starts_with(name, ".tmp."))
		return 0;
	if (!store_dead_temp(dfd, name))
		return 1;   /* its writer is at work */
	snprintf(what, sizeof what, "%s/%s: temporary file left behind", dir, name);
	if (check_found(ck, CHECK_GARBAGE, what))
		check_done(ck, mr_remove_tree(dfd, name, &ignored), what);
	return 1;
}

/* ---- containers (first: what they use must never be repaired away) ---- */

static void check_ctr_files(struct check *ck, int dfd, const char *name)
{
	check_temp(ck, dfd, "containers/<id>", name);
}

static void check_container(struct check *ck, int dfd, const char *name)
{
	struct ctr c;
	struct mr_err err;
	char path[32 + CTR_ID_LEN];
	size_t i;
	if (!strcmp(name, ".names") || check_temp(ck, dfd, "containers", name))
		return;
	if (!ctr_is_id(name)) {
		check_line(ck, 0, "containers/%s: not a container record (left alone)", name);
		return;
	}
	ck->nctrs++;
	snprintf(path, sizeof path, "containers/%s", name);
	check_each(ck, path, check_ctr_files);
	if (ctr_load(ck->st, name, &c, &err) < 0) {
		check_line(ck, 0, "container %.12s: %s", name, err.msg);
		ctr_free(&c);
		return;
	}
	ck->imgs = util_xrealloc(ck->imgs, (ck->nimgs + 1) * sizeof *ck->imgs);
	snprintf(ck->imgs[ck->nimgs++], sizeof *ck->imgs, "%s", c.image);
	if (ck->db_ok && !image_db_by_id(&ck->db, c.image))
		check_line(ck, 0, "container %.12s (%s): image %.19s is not in the store", name,
			   c.name, c.image);
	for (i = 0; i < c.layers.n; i++) {
		ck->used = util_xrealloc(ck->used, (ck->nused + 1) * sizeof *ck->used);
		snprintf(ck->used[ck->nused++], sizeof *ck->used, "%s", c.layers.v[i]);
		if (!image_layer_ok(ck->st, c.layers.v[i]))
			check_line(ck, 0, "container %.12s (%s): layer sha256:%.12s is missing or "
				   "incomplete", name, c.name, c.layers.v[i]);
	}
	ctr_free(&c);
}

static void check_name(struct check *ck, int dfd, const char *name)
{
	char id[CTR_ID_LEN + 2], what[300];
	ctr_name_owner(ck->st, dfd, name, id);
	if (id[0])
		return;
	/* Not a problem: rm drops the record first, then the name, so a kill
	 * between leaves a link that ctr_name_owner takes for a free name. */
	snprintf(what, sizeof what, "container name %s: links to no container", name);
	if (ck->repair >= CHECK_GARBAGE)
		check_done(ck, unlinkat(dfd, name, 0), what);
	else
		printf("%snote: %s (a free name; --repair removes the link)\n", ck->prefix, what);
}

/* ---- images, blobs and layers ---- */

/* Does blobs/sha256/HEX exist and hash to its name? NULL or what is wrong. */
static const char *check_blob(struct check *ck, const char *digest)
{
	struct mr_buf b = { 0 };
	struct mr_err err;
	char path[96], got[MR_DIGEST_LEN + 1];
	const char *why = NULL;
	if (mr_digest_valid(digest) < 0)
		return "is not a valid digest";
	snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(digest));
	if (mr_read_file(ck->st->rootfd, path, &b, MINIRUN_MAX_JSON, &err) < 0) {
		why = err.code == ENOENT ? "is missing" : "cannot be read";
	} else {
		mr_digest_buf(b.data, b.len, got);
		if (strcmp(got, digest))
			why = "does not match its digest";
	}
	mr_buf_free(&b);
	return why;
}

/* What is wrong with a record, in `why` (empty when nothing). */
static void check_record(struct check *ck, const struct image_rec *r, char *why, size_t size)
{
	const char *w;
	size_t j;
	why[0] = 0;
	if ((w = check_blob(ck, r->id)) != NULL) {
		snprintf(why, size, "config %s", w);
		return;
	}
	if (!r->manifest[0] || (w = check_blob(ck, r->manifest)) != NULL) {
		snprintf(why, size, "manifest %s", r->manifest[0] ? w : "is not recorded");
		return;
	}
	for (j = 0; j < r->nlayers; j++)
		if (!image_layer_ok(ck->st, r->layers[j])) {
			snprintf(why, size, "layer sha256:%.12s is %s", r->layers[j],
				 util_exists_at(ck->st->rootfd, "layers", 0) ? "missing or incomplete" :
				 "missing");
			return;
		}
}

static void check_images(struct check *ck)
{
	char why[160], what[400], tags[200];
	size_t i, j;
	for (i = ck->db.ntags; i-- > 0;) {
		if (image_db_by_id(&ck->db, ck->db.tags[i].id))
			continue;
		snprintf(what, sizeof what, "tag %s: names image %.19s, which has no record",
			 ck->db.tags[i].name, ck->db.tags[i].id);
		if (check_found(ck, CHECK_REPAIR, what)) {
			check_line(ck, 1, "%s", what);
			image_db_del_tag(&ck->db, i);
			ck->db_dirty = 1;
		}
	}
	for (i = ck->db.nrecs; i-- > 0;) {
		const struct image_rec *r = &ck->db.recs[i];
		ck->nimages++;
		check_record(ck, r, why, sizeof why);
		if (!why[0])
			continue;
		tags[0] = 0;
		for (j = 0; j < ck->db.ntags; j++)
			if (!strcmp(ck->db.tags[j].id, r->id) && strlen(tags) < 100)
				snprintf(tags + strlen(tags), sizeof tags - strlen(tags), "%s%s",
					 tags[0] ? ", " : " (", ck->db.tags[j].name);
		if (tags[0])
			snprintf(tags + strlen(tags), sizeof tags - strlen(tags), ")");
		snprintf(what, sizeof what, "image %.19s%s: %s", r->id, tags, why);
		if (check_ctr_uses_image(ck, r->id)) {
			check_line(ck, 0, "%s (a container uses it: not repaired)", what);
			continue;
		}
		if (!check_found(ck, CHECK_REPAIR, what))
			continue;
		check_line(ck, 1, "%s", what);
		for (j = ck->db.ntags; j-- > 0;)
			if (!strcmp(ck->db.tags[j].id, r->id))
				image_db_del_tag(&ck->db, j);
		image_db_del_rec(&ck->db, i);
		ck->db_dirty = 1;
	}
}

static void check_layer_entry(struct check *ck, int dfd, const char *name)
{
	char what[200], path[96];
	struct mr_err err;
	if (check_temp(ck, dfd, "layers", name))
		return;
	if (!check_is_hex64(name)) {
		check_line(ck, 0, "layers/%s: not a layer (left alone)", name);
		return;
	}
	ck->nlayers++;
	if (ck->db_ok && !check_rec_uses_layer(ck, name) && !check_ctr_uses_layer(ck, name)) {
		snprintf(what, sizeof what, "layer sha256:%.12s: no image or container uses it", name);
		if (check_found(ck, CHECK_GARBAGE, what)) {
			image_layer_drop(ck->st, dfd, name);
			check_done(ck, util_exists_at(dfd, name, AT_SYMLINK_NOFOLLOW) ? -1 : 0, what);
		}
		return;
	}
	snprintf(path, sizeof path, "marks/%s", name);
	if (!image_marks_kept(ck->st) && !util_exists_at(ck->st->rootfd, path, AT_SYMLINK_NOFOLLOW))
		ck->legacy++;
	(void)err;
}

/* marks/HEX: its layer is there, and the mark names it. */
static void check_mark_entry(struct check *ck, int dfd, const char *name)
{
	char what[200], path[96];
	struct mr_buf b = { 0 };
	struct mr_err err;
	if (check_temp(ck, dfd, "marks", name))
		return;
	if (!check_is_hex64(name)) {
		check_line(ck, 0, "marks/%s: not a mark (left alone)", name);
		return;
	}
	snprintf(path, sizeof path, "layers/%s", name);
	if (!util_exists_at(ck->st->rootfd, path, AT_SYMLINK_NOFOLLOW)) {
		snprintf(what, sizeof what, "marks/%.12s: a mark without its layer", name);
		if (check_found(ck, CHECK_GARBAGE, what))
			check_done(ck, unlinkat(dfd, name, 0), what);
	} else {
		snprintf(path, sizeof path, "sha256:%s ", name);
		if (mr_read_file(dfd, name, &b, 256, &err) < 0 || strncmp(b.data, path, strlen(path)))
			check_line(ck, 0, "layer sha256:%.12s: damaged completion mark", name);
	}
	mr_buf_free(&b);
}

/* An old store's trusted layers get their marks (written in marks.new,
 * which becomes marks/ once complete, so a kill leaves the store old). */
static void check_mark_old_store(struct check *ck, struct mr_err *err)
{
	DIR *d = NULL;
	struct dirent *de;
	int fd = openat(ck->st->rootfd, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int mfd = -1, rc = -1;
	unsigned n = 0;
	mr_remove_tree(ck->st->rootfd, "marks.new", err);
	if (fd < 0 || mkdirat(ck->st->rootfd, "marks.new", 0700) < 0 ||
	    (mfd = openat(ck->st->rootfd, "marks.new", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			  O_CLOEXEC)) < 0 || !(d = fdopendir(fd)))
		goto out;
	fd = -1;
	while ((de = readdir(d)) != NULL) {
		char text[80];
		int len = snprintf(text, sizeof text, "sha256:%.64s 0\n", de->d_name);
		if (!check_is_hex64(de->d_name))
			continue;
		if (mr_write_atomic(mfd, de->d_name, text, (size_t)len, 0600, err) < 0)
			goto out;
		n++;
	}
	if (renameat(ck->st->rootfd, "marks.new", ck->st->rootfd, "marks") == 0 &&
	    mr_fsync_dir(ck->st->rootfd, err) == 0)
		rc = 0;
out:
	if (d)
		closedir(d);
	if (fd >= 0)
		close(fd);
	if (mfd >= 0)
		close(mfd);
	if (rc == 0)
		printf("%smarked %u layers stored before completion marks existed\n", ck->prefix, n);
	else
		check_line(ck, 0, "marks: cannot mark the layers of this old store");
}

static void check_blob_entry(struct check *ck, int dfd, const char *name)
{
	char what[200];
	struct mr_err ignored;
	size_t i;
	int used = !ck->db_ok;
	if (check_temp(ck, dfd, "blobs/sha256", name))
		return;
	ck->nblobs++;
	for (i = 0; ck->db_ok && i < ck->db.nrecs && !used; i++)
		used = !strcmp(ck->db.recs[i].id + 7, name) || !strcmp(ck->db.recs[i].manifest + 7, name);
	if (used)
		return;   /* checked with its record */
	snprintf(what, sizeof what, "blob sha256:%.12s: no image uses it", name);
	if (check_found(ck, CHECK_GARBAGE, what))
		check_done(ck, mr_remove_tree(dfd, name, &ignored), what);
}

/* ---- volumes, networks, temporaries ---- */

static void check_volume(struct check *ck, int dfd, const char *name)
{
	struct mr_buf b = { 0 };
	struct mr_json_doc doc = { 0 };
	struct mr_err err = { 0 };
	char path[300];
	int bad;
	if (check_temp(ck, dfd, "volumes", name))
		return;
	ck->nvols++;
	if (!volume_name_valid(name)) {
		check_line(ck, 0, "volumes/%s: not a volume name (left alone)", name);
		return;
	}
	snprintf(path, sizeof path, "%s/_data", name);
	if (!util_exists_at(dfd, path, AT_SYMLINK_NOFOLLOW)) {
		check_line(ck, 0, "volume %s: no _data folder", name);
		return;
	}
	snprintf(path, sizeof path, "%s/meta.json", name);
	bad = mr_read_file(dfd, path, &b, 65536, &err) < 0 ||
	      mr_json_parse(&doc, b.data, b.len, &err) < 0 || !doc.root ||
	      doc.root->type != MR_JSON_OBJECT;
	/* An anonymous volume's metadata is not fsynced (10_volume.c): after a
	 * power cut it may be missing or empty, and it reads as anonymous. */
	if (bad && check_is_hex64(name) && (err.code == ENOENT || b.len == 0))
		bad = 0;
	if (bad) {
		char what[400];
		snprintf(what, sizeof what, "volume %s: damaged meta.json (%s)", name, err.msg);
		if (check_found(ck, CHECK_REPAIR, what)) {
			struct timespec now;
			char created[40], meta[160];
			int n;
			clock_gettime(CLOCK_REALTIME, &now);
			util_time_rfc3339(&now, created, sizeof created);
			n = snprintf(meta, sizeof meta, "{\"CreatedAt\":\"%s\",\"Anonymous\":%s,"
				     "\"Labels\":{}}\n", created, check_is_hex64(name) ? "true" : "false");
			snprintf(path, sizeof path, "%s", name);
			{
				int vfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (vfd >= 0 && mr_write_atomic(vfd, "meta.json", meta, (size_t)n, 0600,
								&err) == 0) {
					ck->fixed++;
					printf("%srewrote the metadata of volume %s (its data is "
					       "untouched)\n", ck->prefix, name);
				} else {
					check_line(ck, 0, "%s", what);
				}
				if (vfd >= 0)
					close(vfd);
			}
		}
	}
	mr_json_free(&doc);
	mr_buf_free(&b);
}

static void check_network(struct check *ck, int dfd, const char *name)
{
	struct mr_buf b = { 0 };
	struct mr_json_doc doc = { 0 };
	struct mr_err err = { 0 };
	if (check_temp(ck, dfd, "networks", name))
		return;
	ck->nnets++;
	if (mr_read_file(dfd, name, &b, 65536, &err) < 0 ||
	    mr_json_parse(&doc, b.data, b.len, &err) < 0 ||
	    !mr_json_str(mr_json_get(doc.root, "Name")))
		check_line(ck, 0, "network networks/%s: damaged (%s)", name,
			   err.msg[0] ? err.msg : "no Name");
	mr_json_free(&doc);
	mr_buf_free(&b);
}

static void check_root_entry(struct check *ck, int dfd, const char *name)
{
	struct mr_err ignored;
	if (!strcmp(name, "gc.intent"))
		check_line(ck, 0, "gc.intent: a collection was not finished");
	else if (!strcmp(name, "marks.new") &&
		 check_found(ck, CHECK_GARBAGE, "marks.new: marking of an old store cut short"))
		check_done(ck, mr_remove_tree(dfd, name, &ignored), "marks.new");
	else
		check_temp(ck, dfd, "", name);
}

/* tmp/ entries whose lock can be taken belong to no live process. */
static void check_tmp_entry(struct check *ck, int dfd, const char *name)
{
	struct mr_err ignored;
	char what[300];
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int dead = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
	if (fd >= 0)
		close(fd);
	if (!dead)
		return;
	snprintf(what, sizeof what, "tmp/%s: temporary left behind", name);
	if (check_found(ck, CHECK_GARBAGE, what))
		check_done(ck, mr_remove_tree(dfd, name, &ignored), what);
}

/* Check (and repair up to `repair`) the store. 0 when nothing is wrong any
 * more, else the number of problems left. */
static int check_store(struct mr_store *st, int repair, const char *prefix, struct mr_err *err)
{
	struct check ck;
	struct mr_err dberr;
	struct timespec t0, t1;
	int rc;
	memset(&ck, 0, sizeof ck);
	ck.st = st;
	ck.repair = repair;
	ck.prefix = prefix;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mr_store_lock(st, err) < 0)
		return -1;
	ck.db_ok = image_db_read(st, &ck.db, &dberr) == 0;
	if (!ck.db_ok)
		check_line(&ck, 0, "images.json: %s (nothing is collected while it is damaged)",
			   dberr.msg);
	check_each(&ck, ".", check_root_entry);
	check_each(&ck, "tmp", check_tmp_entry);
	check_each(&ck, "containers", check_container);
	check_each(&ck, "containers/.names", check_name);
	if (ck.db_ok)
		check_images(&ck);
	if (ck.db_ok && ck.db_dirty && (image_gc_intend(st, err) < 0 ||
					image_db_write(st, &ck.db, err) < 0))
		check_line(&ck, 0, "images.json: cannot write the repaired records: %s", err->msg);
	check_each(&ck, "layers", check_layer_entry);
	check_each(&ck, "marks", check_mark_entry);
	check_each(&ck, "blobs/sha256", check_blob_entry);
	check_each(&ck, "volumes", check_volume);
	check_each(&ck, "networks", check_network);
	if (ck.db_dirty)
		unlinkat(st->rootfd, "gc.intent", 0);
	if (ck.legacy && repair >= CHECK_REPAIR && ck.problems == 0)
		check_mark_old_store(&ck, err);
	else if (ck.legacy)
		printf("%snote: %u layers were stored before completion marks existed; "
		       "`check --repair` marks them\n", prefix, ck.legacy);
	mr_store_unlock(st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%s%s: %u images, %u layers, %u blobs, %u containers, %u volumes, %u networks; "
	       "%u problems%s, %u repaired (%ld ms)\n", prefix, st->root, ck.nimages, ck.nlayers,
	       ck.nblobs, ck.nctrs, ck.nvols, ck.nnets, ck.problems,
	       repair ? " left" : "", ck.fixed,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	if (ck.db_ok)
		image_db_free(&ck.db);
	free(ck.used);
	free(ck.imgs);
	rc = (int)ck.problems;
	return rc;
}
/* ======================== END src/14b_check.c ======================== */

/* ======================== BEGIN src/15_rootfs.c ======================== */
#line 1 "src/15_rootfs.c"
/* ==== [15] ROOTFS: overlay or copy roots, /dev, /proc, /sys, /etc files, pivot_root ====
 * The overlay (or the copy driver's bind mount) is mounted by the container's
 * first process inside its own new mount namespace: nothing a container uses is
 * ever mounted in the host's namespace, so a killed monitor or a reboot leaves
 * nothing mounted, and `rm` only deletes folders. Every mount target is
 * resolved inside the new root (mr_open_in_root) and handed to mount(2) as
 * /proc/self/fd/N, the very object that was checked: a symlink in an image
 * (/dev -> /host/dev) cannot redirect a mount outside the container. */

#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <termios.h>
#include <net/if.h>
#include <linux/capability.h>
#include <linux/magic.h>

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

/* Everything one start of a container needs, in the parent and in the child
 * (the child has a copy: it is a clone of the parent). */
struct ctr_spawn {
	struct mr_store *st;
	struct ctr *c;
	char dir[MINIRUN_MAX_PATH];        /* root/containers/ID */
	int sync;                          /* socket to the other side */
	int stdio[3];                      /* the container's stdin, stdout, stderr */
	int rootfd;                        /* child: the new root (O_PATH) */
	int pty;                           /* parent: pty master (-t) */
	int pty_slave;                     /* child */
	int exe_fd;                        /* child: minirun's own binary (identity) */
	pid_t pid;
	uint64_t caps;                     /* allowed capabilities */
	int cg_fds[8];                     /* exec: cgroup.procs to join (-1: none) */
	int is_exec;
	struct dev_node *devs;             /* --device, resolved */
	size_t ndevs;
	struct dev_rule *rules;            /* the device policy (NULL: --privileged) */
	size_t nrules;
	int nodev;                         /* no device cgroup: mount all but /dev nodev */
	int netns_fd;                      /* --network container:NAME: its netns, opened
					    * by the parent (net_prepare), joined by the
					    * child; -1: none */
};

/* ---- driver choice ---- */

/* Can overlayfs mount here with an upper folder on the store? Probed once per
 * boot in a throw-away mount namespace (a forked child), remembered in
 * rundir/driver: overlay missing from the kernel, or refusing the store's
 * filesystem as upper (a router whose root is itself overlay), means the
 * copy driver. MINIRUN_STORAGE_DRIVER=copy|overlay forces one. */
#if MINIRUN_WITH_OVERLAY
static const char *rootfs_driver(struct mr_store *st)
{
	char path[MINIRUN_MAX_PATH + 16], name[64], opts[512], cached[16] = "";
	const char *force = getenv("MINIRUN_STORAGE_DRIVER");
	struct mr_err ignored;
	struct statfs sf;
	int fd, tfd, status = 1;
	pid_t pid;
	if (force && (!strcmp(force, "copy") || !strcmp(force, "overlay")))
		return !strcmp(force, "copy") ? "copy" : "overlay";
	snprintf(path, sizeof path, "%s/driver", st->rundir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, cached, sizeof cached - 1);
		close(fd);
		if (n > 0) {
			cached[n] = 0;
			return !strncmp(cached, "overlay", 7) ? "overlay" : "copy";
		}
	}
	if (fstatfs(st->rootfd, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC)
		goto out;
	tfd = mr_store_mktemp(st, "probe", name, sizeof name, &ignored);
	if (tfd < 0)
		return "copy";
	if (mkdirat(tfd, "l", 0755) || mkdirat(tfd, "u", 0755) || mkdirat(tfd, "w", 0755) ||
	    mkdirat(tfd, "m", 0755)) {
		close(tfd);
		return "copy";
	}
	snprintf(opts, sizeof opts, "lowerdir=%s/%s/l,upperdir=%s/%s/u,workdir=%s/%s/w",
		 st->root, name, st->root, name, st->root, name);
	snprintf(path, sizeof path, "%s/%s/m", st->root, name);
	pid = fork();
	if (pid == 0) {
		_exit(unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		      mount("overlay", path, "overlay", 0, opts) == 0 ? 0 : 1);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
	mr_remove_tree(st->rootfd, name, &ignored);
	close(tfd);
out:
	fd = ctr_rundir(st, "", 1);
	if (fd >= 0) {
		ctr_write_file(fd, "driver", status == 0 ? "overlay\n" : "copy\n", status == 0 ? 8 : 5,
			       0, &ignored);
		close(fd);
	}
	return status == 0 ? "overlay" : "copy";
}
#else
static const char *rootfs_driver(struct mr_store *st)
{
	(void)st;
	return "copy";                      /* built without MINIRUN_WITH_OVERLAY */
}
#endif

/* The lowerdir option: layers top first. Absolute paths when they fit in
 * the one page mount(2) accepts; else short relative links l/N made at
 * create time (what Docker's overlay2 does), relative to the container's
 * folder, where the child changes directory before mounting. */
static int rootfs_overlay_opts(const struct ctr_spawn *sp, const struct ctr_list *layers,
			       struct mr_buf *out)
{
	size_t i;
	char init[MINIRUN_MAX_PATH + 16];
	int has_init;
	snprintf(init, sizeof init, "%s/init", sp->dir);
	has_init = access(init, F_OK) == 0;     /* records made before it: none */
	out->len = 0;
	mr_buf_printf(out, "lowerdir=");
	if (has_init)
		mr_buf_printf(out, "%s:", init);
	for (i = layers->n; i-- > 0;)
		mr_buf_printf(out, "%s/layers/%s%s", sp->st->root, layers->v[i], i ? ":" : "");
	mr_buf_printf(out, ",upperdir=%s/upper,workdir=%s/work", sp->dir, sp->dir);
	/* the same choice at create (no init yet: the folder is a temporary)
	 * as at start */
	if (out->len + (has_init ? 0 : strlen(init) + 1) < 4000)
		return 0;
	out->len = 0;
	mr_buf_printf(out, "lowerdir=%s", has_init ? "init:" : "");
	for (i = layers->n; i-- > 0;)
		mr_buf_printf(out, "l/%zu%s", i, i ? ":" : "");
	mr_buf_printf(out, ",upperdir=upper,workdir=work");
	return 1;
}

/* Create the container's root at `create`: overlay folders (and the short
 * links for long layer lists), or the copy driver's flattened tree. */
static int rootfs_create(struct mr_store *st, struct ctr *c, const struct ctr_list *layers,
			 int dirfd, struct mr_err *err)
{
	size_t i;
	int rfd, rc = 0;
	if (mkdirat(dirfd, "rootfs", 0755) < 0)
		return mr_err_sys(err, "create rootfs");
	if (!strcmp(c->driver, "overlay")) {
		struct ctr_spawn sp;
		struct mr_buf opts = { 0 };
		/* init: Docker's init layer, under the image's, so that the
		 * container's own layer (its size, diff) starts empty: the
		 * /etc/mtab -> /proc/mounts link that programs expect */
		if (mkdirat(dirfd, "upper", 0755) < 0 || mkdirat(dirfd, "work", 0700) < 0 ||
		    mkdirat(dirfd, "init", 0755) < 0 || mkdirat(dirfd, "init/etc", 0755) < 0 ||
		    symlinkat("/proc/mounts", dirfd, "init/etc/mtab") < 0)
			return mr_err_sys(err, "create overlay folders");
		/* overlay shows the top layer's folder: init/etc takes the image's
		 * /etc owner, mode and times, so that only the link is new */
		for (i = layers->n; i-- > 0;) {
			char path[128];
			struct stat sb;
			snprintf(path, sizeof path, "layers/%s/etc", layers->v[i]);
			if (fstatat(st->rootfd, path, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode))
				continue;
			{
				struct timespec ts[2] = { sb.st_atim, sb.st_mtim };
				if (fchownat(dirfd, "init/etc", sb.st_uid, sb.st_gid, 0) < 0 ||
				    fchmodat(dirfd, "init/etc", sb.st_mode & 07777, 0) < 0 ||
				    utimensat(dirfd, "init/etc", ts, 0) < 0)
					return mr_err_sys(err, "create overlay folders: init/etc");
			}
			break;
		}
		memset(&sp, 0, sizeof sp);
		sp.st = st;
		snprintf(sp.dir, sizeof sp.dir, "%s/containers/%s", st->root, c->id);
		if (rootfs_overlay_opts(&sp, layers, &opts)) {
			if (mkdirat(dirfd, "l", 0700) < 0)
				rc = mr_err_sys(err, "create layer links");
			for (i = 0; !rc && i < layers->n; i++) {
				char target[128], name[24];
				snprintf(target, sizeof target, "../../../layers/%s", layers->v[i]);
				snprintf(name, sizeof name, "l/%zu", i);
				if (symlinkat(target, dirfd, name) < 0)
					rc = mr_err_sys(err, "create layer link %s", name);
			}
		}
		mr_buf_free(&opts);
		return rc;
	}
	/* copy driver: hardlinks into the store's layers would let a container
	 * change the image in place, so files are copied, except for read-only
	 * roots where sharing the inodes is safe */
	rfd = openat(dirfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0)
		return mr_err_sys(err, "open rootfs");
	for (i = 0; !rc && i < layers->n; i++) {
		char path[96];
		int lfd;
		snprintf(path, sizeof path, "layers/%s", layers->v[i]);
		lfd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (lfd < 0) {
			rc = mr_err_sys(err, "layer sha256:%.12s", layers->v[i]);
			break;
		}
		rc = tar_apply_layer_dir(lfd, rfd, c->readonly ? TAR_APPLY_LINK : 0, err);
		if (rc < 0)
			mr_err_ctx(err, "copy layer sha256:%.12s", layers->v[i]);
		close(lfd);
	}
	close(rfd);
	return rc;
}

/* ---- /etc/hosts, /etc/hostname, /etc/resolv.conf (kept in the container's
 * folder, bind-mounted over the image's) ---- */

/* The host's resolv.conf without loopback name servers, which cannot answer
 * inside another network namespace; Docker's fallback when none is left. */
static void rootfs_resolv_conf(const char *host, struct mr_buf *out)
{
	const char *p = host;
	int servers = 0;
	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p + 1) : strlen(p);
		const char *q = p;
		while (*q == ' ' || *q == '\t')
			q++;
		if (!strncmp(q, "nameserver", 10) && (q[10] == ' ' || q[10] == '\t')) {
			q += 10;
			while (*q == ' ' || *q == '\t')
				q++;
			if (!strncmp(q, "127.", 4) || !strncmp(q, "::1", 3)) {
				p += n;
				continue;
			}
			servers++;
		}
		mr_buf_append(out, p, n);
		if (!end && n)
			mr_buf_append(out, "\n", 1);
		p += n;
	}
	if (!servers)
		mr_buf_printf(out, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

/* Written in place: nothing reads them before the container starts (and a
 * rename would leave a restarted container's bind mount on the old file). */
static int rootfs_put(int dirfd, const char *name, const struct mr_buf *b, struct mr_err *err)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || util_write_all(fd, b->data ? b->data : "", b->len) < 0) {
		mr_err_sys(err, "write %s", name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int rootfs_etc_files(struct ctr_spawn *sp, int dirfd, struct mr_err *err)
{
	struct mr_buf b = { 0 }, host = { 0 };
	struct mr_err ignored;
	const struct ctr *c = sp->c;
	int host_net = !strcmp(c->network, "host"), rc;
	mr_buf_printf(&b, "%s\n", c->hostname);
	rc = rootfs_put(dirfd, "hostname", &b, err);
	b.len = 0;
	if (host_net && mr_read_file(AT_FDCWD, "/etc/hosts", &host, 1u << 20, &ignored) == 0) {
		mr_buf_append(&b, host.data, host.len);
	} else {
		mr_buf_printf(&b, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
			      "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
			      "ff02::2\tip6-allrouters\n");
	}
	if (!rc)
		rc = rootfs_put(dirfd, "hosts", &b, err);
	b.len = 0;
	host.len = 0;
	if (mr_read_file(AT_FDCWD, "/etc/resolv.conf", &host, 1u << 20, &ignored) < 0)
		mr_buf_append(&host, "", 0);
	if (host_net)
		mr_buf_append(&b, host.data, host.len);
	else
		rootfs_resolv_conf(host.data, &b);
	if (!rc)
		rc = rootfs_put(dirfd, "resolv.conf", &b, err);
	mr_buf_free(&b);
	mr_buf_free(&host);
	return rc;
}

/* ---- in the child, before pivot_root ---- */

/* The root itself: overlay (layers + the container's upper), or a bind
 * mount of the copy driver's folder onto itself (pivot_root needs a mount). */
static int rootfs_mount_root(struct ctr_spawn *sp, const struct ctr_list *layers,
			     struct mr_err *err)
{
	char rootfs[MINIRUN_MAX_PATH + 16];
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", sp->dir);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return mr_err_sys(err, "make mounts private");
	if (!strcmp(sp->c->driver, "overlay")) {
		struct mr_buf opts = { 0 };
		int rel = rootfs_overlay_opts(sp, layers, &opts), rc;
		if (rel && chdir(sp->dir) < 0) {
			mr_buf_free(&opts);
			return mr_err_sys(err, "chdir %s", sp->dir);
		}
		rc = mount("overlay", rootfs, "overlay", 0, opts.data);
		mr_buf_free(&opts);
		if (rc < 0)
			return mr_err_sys(err, "mount overlay root (%zu layers)", layers->n);
	} else if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
		return mr_err_sys(err, "bind root %s", rootfs);
	}
	if (sp->nodev && mount(NULL, rootfs, NULL, MS_REMOUNT | MS_BIND | MS_NODEV, NULL) < 0)
		return mr_err_sys(err, "remount the root nodev");
	sp->rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sp->rootfd < 0)
		return mr_err_sys(err, "open root %s", rootfs);
	return 0;
}

static int rootfs_mount_proc_sys(struct ctr_spawn *sp, struct mr_err *err)
{
	unsigned long ro = sp->c->privileged ? 0 : MS_RDONLY;
	if (mount_in_root(sp->rootfd, "proc", 'd', "proc", "proc",
			    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0)
		return -1;
	if (mount_in_root(sp->rootfd, "sys", 'd', "sysfs", "sysfs",
			    MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, NULL, err) < 0) {
		/* sysfs refuses a mount from a network namespace we do not own
		 * in some set-ups; a bind of the host's is Docker's fallback */
		if (mount_in_root(sp->rootfd, "sys", 'd', "/sys", NULL,
				    MS_BIND | MS_REC | MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* /dev/shm: a tmpfs of --shm-size (64 MiB by default), or the host's with
 * --ipc host (shared memory is the IPC namespace's). */
static int rootfs_mount_shm(struct ctr_spawn *sp, struct mr_err *err)
{
	char opts[48];
	if (ctr_ns_host(sp->c->ipc_mode))
		return mount_in_root(sp->rootfd, "dev/shm", 'd', "/dev/shm", NULL, MS_BIND | MS_REC,
				     NULL, err);
	snprintf(opts, sizeof opts, "mode=1777,size=%lldk",
		 (long long)((sp->c->shm_size ? sp->c->shm_size : 64LL << 20) + 1023) / 1024);
	return mount_in_root(sp->rootfd, "dev/shm", 'd', "shm", "tmpfs",
			     MS_NOSUID | MS_NODEV | MS_NOEXEC, opts, err);
}

/* A private /dev: a tmpfs with the usual nodes (made with mknod, or bound
 * from the host's where mknod is not allowed), its own devpts instance,
 * /dev/shm and /dev/mqueue. */
static int rootfs_mount_dev(struct ctr_spawn *sp, struct mr_err *err)
{
	static const struct { char name[8]; unsigned char maj, min; } nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 },
		{ "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const char links[] =
		"fd\0/proc/self/fd\0stdin\0/proc/self/fd/0\0stdout\0/proc/self/fd/1\0"
		"stderr\0/proc/self/fd/2\0ptmx\0pts/ptmx\0";
	const char *p;
	size_t i;
	int dev;
	if (mount_in_root(sp->rootfd, "dev", 'd', "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME |
			    (sp->nodev ? MS_NODEV : 0), "mode=755,size=65536k", err) < 0)
		return -1;
	dev = mr_open_in_root(sp->rootfd, "dev", O_PATH | O_DIRECTORY, 0, err);
	if (dev < 0)
		return mr_err_ctx(err, "open /dev");
	for (i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		/* nodev /dev: the host's nodes, each on a mount of its own */
		if (!sp->nodev && mknodat(dev, nodes[i].name, S_IFCHR | 0666,
					  makedev(nodes[i].maj, nodes[i].min)) == 0)
			continue;
		{
			char src[16], path[16];
			snprintf(src, sizeof src, "/dev/%s", nodes[i].name);
			snprintf(path, sizeof path, "dev/%s", nodes[i].name);
			if (mount_in_root(sp->rootfd, path, 'f', src, NULL, MS_BIND, NULL, err) < 0) {
				close(dev);
				return -1;
			}
		}
	}
	for (p = links; *p; p += strlen(p) + 1, p += strlen(p) + 1)
		if (symlinkat(p + strlen(p) + 1, dev, p) < 0) {
			close(dev);
			return mr_err_sys(err, "symlink /dev/%s", p);
		}
	/* only where the kernel has /proc/kcore (runc's rule): never dangling */
	if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0) {
		close(dev);
		return mr_err_sys(err, "symlink /dev/core");
	}
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0 ||
	    mkdirat(dev, "mqueue", 0755) < 0) {
		close(dev);
		return mr_err_sys(err, "create /dev folders");
	}
	close(dev);
	if (mount_in_root(sp->rootfd, "dev/pts", 'd', "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
			    "newinstance,ptmxmode=0666,mode=0620,gid=5", err) < 0 ||
	    rootfs_mount_shm(sp, err) < 0 ||
	    mount_in_root(sp->rootfd, "dev/mqueue", 'd', "mqueue", "mqueue",
			    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0)
		return -1;
	return 0;
}

/* -t: a pty of the container's own devpts instance (so `tty` inside names a
 * /dev/pts entry that exists there); the master goes to the parent over the
 * sync socket, the slave becomes /dev/console and the process's stdio. */
static int rootfs_pty(struct ctr_spawn *sp, struct mr_err *err)
{
	char path[24], target[40], src[40];
	int ptmx, unlock = 0, n = 0, cfd;
	ptmx = mr_open_in_root(sp->rootfd, "dev/pts/ptmx", O_RDWR | O_NOCTTY, 0, err);
	if (ptmx < 0)
		return mr_err_ctx(err, "open the pty master");
	if (ioctl(ptmx, TIOCSPTLCK, &unlock) < 0 || ioctl(ptmx, TIOCGPTN, &n) < 0) {
		close(ptmx);
		return mr_err_sys(err, "unlock the pty");
	}
	snprintf(path, sizeof path, "dev/pts/%d", n);
	sp->pty_slave = mr_open_in_root(sp->rootfd, path, O_RDWR | O_NOCTTY, 0, err);
	if (sp->pty_slave < 0) {
		close(ptmx);
		return mr_err_ctx(err, "open the pty");
	}
	sp->pty = ptmx;
	cfd = mount_open_in(sp->rootfd, "dev/console", 'f', err);
	if (cfd < 0)
		return mr_err_ctx(err, "create /dev/console");
	mount_fdpath(target, sizeof target, cfd);
	mount_fdpath(src, sizeof src, sp->pty_slave);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0) {
		close(cfd);
		return mr_err_sys(err, "bind /dev/console");
	}
	close(cfd);
	return 0;
}

/* Docker's masked paths (hidden behind /dev/null or an empty read-only
 * tmpfs) and read-only paths of /proc and /sys; none with --privileged.
 * (inspect lists them too: HostConfig.MaskedPaths, ReadonlyPaths) */
static const char rootfs_masked[] =
	"proc/asound\0proc/acpi\0proc/kcore\0proc/keys\0proc/latency_stats\0"
	"proc/timer_list\0proc/timer_stats\0proc/sched_debug\0proc/scsi\0"
	"sys/firmware\0sys/devices/virtual/powercap\0";
static const char rootfs_readonly[] =
	"proc/bus\0proc/fs\0proc/irq\0proc/sys\0proc/sysrq-trigger\0";

static int rootfs_mask(struct ctr_spawn *sp, struct mr_err *err)
{
	const char *masked = rootfs_masked, *readonly = rootfs_readonly;
	const char *p;
	struct mr_err ignored;
	if (sp->c->privileged)
		return 0;
	for (p = masked; *p; p += strlen(p) + 1) {
		struct stat stb;
		int fd = mr_open_in_root(sp->rootfd, p, O_PATH | O_NOFOLLOW, 0, &ignored);
		char target[40];
		int rc;
		if (fd < 0)
			continue;
		mount_fdpath(target, sizeof target, fd);
		rc = fstat(fd, &stb) < 0 ? -1 : S_ISDIR(stb.st_mode) ?
			mount("tmpfs", target, "tmpfs", MS_RDONLY, "size=0") :
			mount("/dev/null", target, NULL, MS_BIND, NULL);
		close(fd);
		if (rc < 0)
			return mr_err_sys(err, "mask /%s", p);
	}
	for (p = readonly; *p; p += strlen(p) + 1) {
		int fd = mr_open_in_root(sp->rootfd, p, O_PATH | O_NOFOLLOW, 0, &ignored);
		char src[40];
		if (fd < 0)
			continue;
		mount_fdpath(src, sizeof src, fd);
		if (mount_in_root(sp->rootfd, p, 'x', src, NULL, MS_BIND | MS_REC | MS_RDONLY |
				    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* /etc/hosts, hostname, resolv.conf (read-only with --read-only, as in
 * Docker), and /etc/mtab -> /proc/mounts where the image has none (Docker
 * makes that link in the container's layer). */
static int rootfs_etc_binds(struct ctr_spawn *sp, struct mr_err *err)
{
	static const char files[] = "hosts\0hostname\0resolv.conf\0";
	unsigned long ro = sp->c->readonly ? MS_RDONLY : 0;
	const char *f;
	struct stat sb;
	int etc = mr_open_in_root(sp->rootfd, "etc", O_PATH | O_DIRECTORY, 0, err);
	if (etc >= 0) {
		if (fstatat(etc, "mtab", &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
		    symlinkat("/proc/mounts", etc, "mtab") < 0 && errno != EROFS) {
			close(etc);
			return mr_err_sys(err, "symlink /etc/mtab");
		}
		close(etc);
	}
	for (f = files; *f; f += strlen(f) + 1) {
		char src[MINIRUN_MAX_PATH + 32], path[32];
		snprintf(src, sizeof src, "%s/%s", sp->dir, f);
		snprintf(path, sizeof path, "etc/%s", f);
		if (mount_in_root(sp->rootfd, path, 'f', src, NULL, MS_BIND | ro, NULL, err) < 0) {
			/* a dangling symlink there (resolv.conf -> ../run/..., whose
			 * folder is missing): the image's choice, leave it */
			if (err->code == ENOENT || err->code == ENOTDIR)
				continue;
			return -1;
		}
	}
	return 0;
}

/* Volumes, binds and tmpfs of the container ([11] mount_apply). A volume
 * that is still empty first gets what the image has at its path (Docker's
 * copy-up), before anything is mounted over that path. */
static int rootfs_user_mounts(struct ctr_spawn *sp, struct mr_err *err)
{
	const struct ctr *c = sp->c;
	size_t i;
	for (i = 0; i < c->nmnt; i++) {
		struct mount_spec m = c->mnt[i];
		char path[MINIRUN_MAX_PATH];
		DIR *d;
		struct dirent *de;
		int empty = 1;
		if (m.type != MOUNT_VOLUME || m.nocopy ||
		    mount_source_path(sp->st, &m, path, sizeof path) < 0 || !(d = opendir(path)))
			continue;
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = 0;
		closedir(d);
		m.created = empty;
		if (mount_copy_up(sp->st, sp->rootfd, &m, err) < 0)
			return -1;
	}
	for (i = 0; i < c->nmnt; i++)
		if (mount_apply(sp->st, sp->rootfd, &c->mnt[i], sp->nodev, err) < 0)
			return -1;
	return 0;
}

/* --device: the host's node bound at its path in the container (a mount of
 * its own: not nodev even when everything else is). */
static int rootfs_devices(struct ctr_spawn *sp, struct mr_err *err)
{
	size_t i;
	for (i = 0; i < sp->ndevs; i++)
		if (mount_in_root(sp->rootfd, sp->devs[i].path + 1, 'f', sp->devs[i].host, NULL,
				  MS_BIND, NULL, err) < 0)
			return mr_err_ctx(err, "--device %s", sp->devs[i].host);
	return 0;
}

/* Switch to the new root and detach the old one (runc's pivot_root(".", ".")
 * trick: no put_old folder is needed). */
static int rootfs_pivot(struct ctr_spawn *sp, struct mr_err *err)
{
	if (fchdir(sp->rootfd) < 0)
		return mr_err_sys(err, "chdir to the new root");
	if (compat_pivot_root(".", ".") < 0)
		return mr_err_sys(err, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return mr_err_sys(err, "detach the old root");
	if (chdir("/") < 0)
		return mr_err_sys(err, "chdir /");
	if (sp->c->readonly && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
				     (sp->nodev ? MS_NODEV : 0), NULL) < 0)
		return mr_err_sys(err, "remount the root read-only");
	return 0;
}
/* ======================== END src/15_rootfs.c ======================== */

/* ======================== BEGIN src/16_isolate.c ======================== */
#line 1 "src/16_isolate.c"
/* ==== [16] ISOLATE: capabilities, seccomp, users, cgroups, no_new_privs, descriptors, exec ====
 * The last steps before a container's process becomes its program, in crun's
 * order: identity (uid, gid, groups from the image's own /etc/passwd and
 * /etc/group, read inside the new root), capabilities (bounding set dropped,
 * then capset), no_new_privs, every descriptor above 2 marked close-on-exec,
 * then execve of the program found on the container's PATH. */

/* Capability names by number (CAP_ prefix left out), packed. */
static const char isolate_cap_names[] =
	"CHOWN\0DAC_OVERRIDE\0DAC_READ_SEARCH\0FOWNER\0FSETID\0KILL\0SETGID\0SETUID\0"
	"SETPCAP\0LINUX_IMMUTABLE\0NET_BIND_SERVICE\0NET_BROADCAST\0NET_ADMIN\0NET_RAW\0"
	"IPC_LOCK\0IPC_OWNER\0SYS_MODULE\0SYS_RAWIO\0SYS_CHROOT\0SYS_PTRACE\0SYS_PACCT\0"
	"SYS_ADMIN\0SYS_BOOT\0SYS_NICE\0SYS_RESOURCE\0SYS_TIME\0SYS_TTY_CONFIG\0MKNOD\0"
	"LEASE\0AUDIT_WRITE\0AUDIT_CONTROL\0SETFCAP\0MAC_OVERRIDE\0MAC_ADMIN\0SYSLOG\0"
	"WAKE_ALARM\0BLOCK_SUSPEND\0AUDIT_READ\0PERFMON\0BPF\0CHECKPOINT_RESTORE\0";
#define ISOLATE_CAP_COUNT 41

/* Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
 * SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
#define ISOLATE_CAPS_DEFAULT ((1ull << 0) | (1ull << 1) | (1ull << 3) | (1ull << 4) | \
	(1ull << 5) | (1ull << 6) | (1ull << 7) | (1ull << 8) | (1ull << 10) | (1ull << 13) | \
	(1ull << 18) | (1ull << 27) | (1ull << 29) | (1ull << 31))
#define ISOLATE_CAPS_ALL ((1ull << ISOLATE_CAP_COUNT) - 1)

/* "NET_ADMIN", "cap_net_admin", "ALL" -> bit number, 64 for ALL, -1 unknown. */
static int isolate_cap_parse(const char *s)
{
	const char *n = isolate_cap_names;
	int i;
	if (!strncasecmp(s, "CAP_", 4))
		s += 4;
	if (!strcasecmp(s, "ALL"))
		return 64;
	for (i = 0; *n; i++, n += strlen(n) + 1)
		if (!strcasecmp(s, n))
			return i;
	return -1;
}

/* moby's TweakCapabilities: --privileged is everything; an added ALL is
 * everything but the dropped; a dropped ALL leaves only the added; else the
 * defaults minus the dropped plus the added. */
static int isolate_caps_resolve(const struct ctr *c, uint64_t *out, struct mr_err *err)
{
	uint64_t add = 0, drop = 0;
	size_t i;
	for (i = 0; i < c->cap_add.n + c->cap_drop.n; i++) {
		const char *s = i < c->cap_add.n ? c->cap_add.v[i] : c->cap_drop.v[i - c->cap_add.n];
		int b = isolate_cap_parse(s);
		if (b < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "unknown capability: \"%s\"", s);
		*(i < c->cap_add.n ? &add : &drop) |= b == 64 ? (1ull << 63) : 1ull << b;
	}
	if (c->privileged)
		*out = ISOLATE_CAPS_ALL;
	else if (add >> 63)
		*out = ISOLATE_CAPS_ALL & ~drop;
	else if (drop >> 63)
		*out = add;
	else
		*out = (ISOLATE_CAPS_DEFAULT & ~drop) | add;
	*out &= ISOLATE_CAPS_ALL;
	return 0;
}

/* The bounding set, before the user changes (dropping needs CAP_SETPCAP):
 * afterwards no execve can regain a capability. */
static int isolate_caps_bound(uint64_t caps, struct mr_err *err)
{
	int cap, r;
	for (cap = 0; cap < 64; cap++) {
		r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (r < 0)
			break;
		if (r == 1 && !((caps >> cap) & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return mr_err_sys(err, "drop capability %d from the bounding set", cap);
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}

/* The process's own sets, after the user changes. A non-root user had them
 * cleared by setuid and execve grants it nothing (no file capabilities):
 * Docker's behaviour. Root keeps the allowed ones it still holds (a host may
 * lack some, as this one lacks CAP_SYS_RESOURCE). */
static int isolate_caps_apply(uint64_t caps, struct mr_err *err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	uint64_t have;
	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return mr_err_sys(err, "get capabilities");
	have = (uint64_t)data[0].permitted | (uint64_t)data[1].permitted << 32;
	caps &= have;
	memset(data, 0, sizeof data);
	data[0].effective = data[0].permitted = (uint32_t)caps;
	data[1].effective = data[1].permitted = (uint32_t)(caps >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return mr_err_sys(err, "set capabilities");
	return 0;
}

#if MINIRUN_WITH_SECCOMP
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* ---- seccomp: Docker's default profile, as what it refuses ----
 * Docker's profile allows a list of about 350 calls and refuses the rest with
 * EPERM; some refused ones come back with a capability (mount with
 * CAP_SYS_ADMIN, reboot with CAP_SYS_BOOT...). The same effect is built here
 * as a short deny list, from the calls the kernel headers name for this
 * arch, skipping those whose capability the container holds: new calls the
 * kernel adds later are allowed rather than refused (Docker refuses them), a
 * choice for a runtime that may outlive its kernel's headers. Also as
 * Docker: clone with namespace flags refused without CAP_SYS_ADMIN (clone3
 * answers ENOSYS so that libcs fall back to clone), personality only with
 * the harmless values, other arches' calls (and x86-64's x32 numbering)
 * refused. `--privileged` and `--security-opt seccomp=unconfined` go
 * without it. */

struct seccomp_deny {
	short nr;
	signed char cap;                   /* the capability that lifts it; -1 none */
};

#define SECCOMP_DENY(name, cap) { SYS_##name, cap },
static const struct seccomp_deny seccomp_denied[] = {
#ifdef SYS_acct
	SECCOMP_DENY(acct, CAP_SYS_PACCT)
#endif
	SECCOMP_DENY(add_key, -1) SECCOMP_DENY(keyctl, -1) SECCOMP_DENY(request_key, -1)
	SECCOMP_DENY(bpf, CAP_SYS_ADMIN) SECCOMP_DENY(fanotify_init, CAP_SYS_ADMIN)
	SECCOMP_DENY(perf_event_open, CAP_SYS_ADMIN) SECCOMP_DENY(quotactl, CAP_SYS_ADMIN)
	SECCOMP_DENY(mount, CAP_SYS_ADMIN) SECCOMP_DENY(umount2, CAP_SYS_ADMIN)
	SECCOMP_DENY(pivot_root, CAP_SYS_ADMIN) SECCOMP_DENY(unshare, CAP_SYS_ADMIN)
	SECCOMP_DENY(setns, CAP_SYS_ADMIN) SECCOMP_DENY(swapon, CAP_SYS_ADMIN)
	SECCOMP_DENY(swapoff, CAP_SYS_ADMIN) SECCOMP_DENY(name_to_handle_at, CAP_SYS_ADMIN)
	SECCOMP_DENY(open_by_handle_at, CAP_DAC_READ_SEARCH) SECCOMP_DENY(syslog, CAP_SYSLOG)
	SECCOMP_DENY(lookup_dcookie, CAP_SYS_ADMIN)
#ifdef SYS_fsopen
	SECCOMP_DENY(fsopen, CAP_SYS_ADMIN) SECCOMP_DENY(fsconfig, CAP_SYS_ADMIN)
	SECCOMP_DENY(fsmount, CAP_SYS_ADMIN) SECCOMP_DENY(fspick, CAP_SYS_ADMIN)
	SECCOMP_DENY(move_mount, CAP_SYS_ADMIN) SECCOMP_DENY(open_tree, CAP_SYS_ADMIN)
#endif
#ifdef SYS_mount_setattr
	SECCOMP_DENY(mount_setattr, CAP_SYS_ADMIN)
#endif
#ifdef SYS_umount
	SECCOMP_DENY(umount, CAP_SYS_ADMIN)
#endif
	SECCOMP_DENY(init_module, CAP_SYS_MODULE) SECCOMP_DENY(finit_module, CAP_SYS_MODULE)
	SECCOMP_DENY(delete_module, CAP_SYS_MODULE)
	SECCOMP_DENY(reboot, CAP_SYS_BOOT) SECCOMP_DENY(kexec_load, CAP_SYS_BOOT)
#ifdef SYS_kexec_file_load
	SECCOMP_DENY(kexec_file_load, CAP_SYS_BOOT)
#endif
	/* 32-bit arches name the time calls by their time_t width */
#ifdef SYS_settimeofday
	SECCOMP_DENY(settimeofday, CAP_SYS_TIME)
#endif
#ifdef SYS_settimeofday_time32
	SECCOMP_DENY(settimeofday_time32, CAP_SYS_TIME)
#endif
#ifdef SYS_clock_settime
	SECCOMP_DENY(clock_settime, CAP_SYS_TIME)
#endif
#ifdef SYS_clock_settime32
	SECCOMP_DENY(clock_settime32, CAP_SYS_TIME)
#endif
#ifdef SYS_clock_settime64
	SECCOMP_DENY(clock_settime64, CAP_SYS_TIME)
#endif
#ifdef SYS_clock_adjtime
	SECCOMP_DENY(clock_adjtime, CAP_SYS_TIME)
#endif
#ifdef SYS_clock_adjtime64
	SECCOMP_DENY(clock_adjtime64, CAP_SYS_TIME)
#endif
#ifdef SYS_stime
	SECCOMP_DENY(stime, CAP_SYS_TIME)
#endif
	SECCOMP_DENY(kcmp, CAP_SYS_PTRACE) SECCOMP_DENY(process_vm_readv, CAP_SYS_PTRACE)
	SECCOMP_DENY(process_vm_writev, CAP_SYS_PTRACE)
#ifdef SYS_iopl
	SECCOMP_DENY(iopl, CAP_SYS_RAWIO) SECCOMP_DENY(ioperm, CAP_SYS_RAWIO)
#endif
	SECCOMP_DENY(mbind, CAP_SYS_NICE) SECCOMP_DENY(set_mempolicy, CAP_SYS_NICE)
	SECCOMP_DENY(get_mempolicy, CAP_SYS_NICE) SECCOMP_DENY(move_pages, CAP_SYS_NICE)
	SECCOMP_DENY(userfaultfd, -1)
#ifdef SYS_io_uring_setup
	SECCOMP_DENY(io_uring_setup, -1) SECCOMP_DENY(io_uring_enter, -1)
	SECCOMP_DENY(io_uring_register, -1)
#endif
#ifdef SYS_create_module
	SECCOMP_DENY(create_module, -1)
#endif
#ifdef SYS_get_kernel_syms
	SECCOMP_DENY(get_kernel_syms, -1)
#endif
#ifdef SYS_query_module
	SECCOMP_DENY(query_module, -1)
#endif
#ifdef SYS_nfsservctl
	SECCOMP_DENY(nfsservctl, -1)
#endif
#ifdef SYS_uselib
	SECCOMP_DENY(uselib, -1)
#endif
#ifdef SYS_sysfs
	SECCOMP_DENY(sysfs, -1)
#endif
#ifdef SYS__sysctl
	SECCOMP_DENY(_sysctl, -1)
#endif
#ifdef SYS_ustat
	SECCOMP_DENY(ustat, -1)
#endif
#ifdef SYS_vm86
	SECCOMP_DENY(vm86, -1)
#endif
#ifdef SYS_vm86old
	SECCOMP_DENY(vm86old, -1)
#endif
};

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__) && !defined(__ARMEB__)
#define SECCOMP_ARCH AUDIT_ARCH_ARM
#elif defined(__mips__) && defined(__MIPSEL__) && _MIPS_SIM == _ABIO32
#define SECCOMP_ARCH AUDIT_ARCH_MIPSEL
#elif defined(__i386__)
#define SECCOMP_ARCH AUDIT_ARCH_I386
#endif

#define SECCOMP_NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
			  CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)
/* The low 32 bits of a 64-bit argument (these arches are little-endian). */
#define SECCOMP_ARG0 offsetof(struct seccomp_data, args[0])

/* Instructions at most: 4 to load and check the arch and number, one per
 * denied call, 17 for the argument checks, jumps and verdicts. */
#define SECCOMP_PROG_MAX (sizeof seccomp_denied / sizeof seccomp_denied[0] + 24)

/* The filter for a container holding caps, built into prog (room for
 * SECCOMP_PROG_MAX): its length in instructions, 0 if it cannot be built. */
static unsigned short isolate_seccomp_build(uint64_t caps, struct sock_filter *prog)
{
	static const uint32_t personas[] = { 0, 8, 0x20000, 0x20008, 0xffffffff };
	enum { DENY, ENOSYS_, ALLOW, CLONE, PERSONALITY };
	unsigned short n = 0, jump[SECCOMP_PROG_MAX];
	unsigned char label[sizeof jump / sizeof jump[0]];
	unsigned short at[5], nj = 0, i;
	int admin = (caps >> CAP_SYS_ADMIN) & 1;
#define STMT(code, k) (prog[n++] = (struct sock_filter)BPF_STMT(code, k))
#define JUMP_TO(code, k, target) (jump[nj] = n, label[nj++] = target, \
				  prog[n++] = (struct sock_filter)BPF_JUMP(code, k, 0, 0))
	STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0);
	n++;
	STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	JUMP_TO(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, DENY);          /* x32 */
#endif
	for (i = 0; i < sizeof seccomp_denied / sizeof seccomp_denied[0]; i++)
		if (seccomp_denied[i].cap < 0 || !((caps >> seccomp_denied[i].cap) & 1))
			JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)seccomp_denied[i].nr, DENY);
	JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, SYS_personality, PERSONALITY);
	if (!admin) {
		JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, CLONE);
#ifdef SYS_clone3
		JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, ENOSYS_);
#endif
	}
	JUMP_TO(BPF_JMP | BPF_JA, 0, ALLOW);
	/* BPF jumps only forward: the argument checks, then the verdicts. */
	at[CLONE] = n;
	STMT(BPF_LD | BPF_W | BPF_ABS, SECCOMP_ARG0);
	JUMP_TO(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_NS_FLAGS, DENY);
	JUMP_TO(BPF_JMP | BPF_JA, 0, ALLOW);
	at[PERSONALITY] = n;
	STMT(BPF_LD | BPF_W | BPF_ABS, SECCOMP_ARG0);
	for (i = 0; i < sizeof personas / sizeof personas[0]; i++)
		JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, personas[i], ALLOW);
	JUMP_TO(BPF_JMP | BPF_JA, 0, DENY);
	at[ALLOW] = n;
	STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	at[DENY] = n;
	STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	at[ENOSYS_] = n;
	STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	/* Conditional jumps go forward by jt (at most 255); "ja" by k. */
	for (i = 0; i < nj; i++) {
		unsigned short from = jump[i], offset = (unsigned short)(at[label[i]] - from - 1);
		if (at[label[i]] <= from)
			return 0;
		if (BPF_OP(prog[from].code) == BPF_JA)
			prog[from].k = offset;
		else if (offset > 255)
			return 0;                  /* cannot happen with this table (unit-tested) */
		else
			prog[from].jt = (unsigned char)offset;
	}
#undef STMT
#undef JUMP_TO
	return n;
}

/* Installs the filter in the calling process (the container's first one,
 * before its capabilities shrink: no no_new_privs needed then). */
static int isolate_seccomp(const struct ctr *c, uint64_t caps, struct mr_err *err)
{
	struct sock_filter prog[SECCOMP_PROG_MAX];
	struct sock_fprog fprog = { 0, prog };
	size_t i;
	if (c->privileged)
		return 0;
	for (i = 0; i < c->security_opt.n; i++)
		if (!strcmp(c->security_opt.v[i], "seccomp=unconfined") ||
		    !strcmp(c->security_opt.v[i], "seccomp:unconfined"))
			return 0;
	fprog.len = isolate_seccomp_build(caps, prog);
	if (!fprog.len)
		return mr_err_set(err, EINVAL, "seccomp: the filter does not fit BPF's forward jumps");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0)
		return mr_err_sys(err, "seccomp: install the default profile (kernel without "
				  "CONFIG_SECCOMP_FILTER? --security-opt seccomp=unconfined runs without it)");
	return 0;
}
#else
static int isolate_seccomp(const struct ctr *c, uint64_t caps, struct mr_err *err)
{
	(void)c; (void)caps; (void)err;
	return 0;
}
#endif

/* Read a small file of the container (its /etc/passwd) without leaving the
 * root; NULL when missing. */
static char *isolate_read_in_root(int rootfd, const char *path)
{
	struct mr_err ignored;
	struct mr_buf b = { 0 };
	int fd = mr_open_in_root(rootfd, path, O_RDONLY, 0, &ignored);
	char chunk[4096];
	ssize_t n;
	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof chunk)) > 0 && b.len < (4u << 20))
		mr_buf_append(&b, chunk, (size_t)n);
	close(fd);
	if (!b.data)
		mr_buf_append(&b, "", 0);
	return b.data;
}

/* The 32-bit id calls where an arch also has 16-bit ones (arm, i386). */
#ifdef SYS_setresuid32
#define ISOLATE_SYS_SETRESUID SYS_setresuid32
#define ISOLATE_SYS_SETRESGID SYS_setresgid32
#define ISOLATE_SYS_SETGROUPS SYS_setgroups32
#else
#define ISOLATE_SYS_SETRESUID SYS_setresuid
#define ISOLATE_SYS_SETRESGID SYS_setresgid
#define ISOLATE_SYS_SETGROUPS SYS_setgroups
#endif

/* uid, gid and groups of -u / the image's User and --group-add, from the
 * container's files. */
static int isolate_user(int rootfd, const char *spec, const struct ctr_list *add,
			struct ctr_ids *ids, struct mr_err *err)
{
	char *passwd = isolate_read_in_root(rootfd, "etc/passwd");
	char *group = isolate_read_in_root(rootfd, "etc/group");
	int rc = ctr_ids_resolve(spec, passwd, group, ids, err);
	if (rc == 0)
		rc = ctr_ids_add_groups(add, group, ids, err);
	free(passwd);
	free(group);
	if (rc < 0)
		return -1;
	/* raw calls: this process has one thread, and musl's wrappers bring
	 * the machinery that changes the ids of every thread (__synccall) */
	if (syscall(ISOLATE_SYS_SETGROUPS, ids->ngroups, ids->groups) < 0)
		return mr_err_sys(err, "setgroups");
	if (syscall(ISOLATE_SYS_SETRESGID, ids->gid, ids->gid, ids->gid) < 0)
		return mr_err_sys(err, "setgid %u", (unsigned)ids->gid);
	if (syscall(ISOLATE_SYS_SETRESUID, ids->uid, ids->uid, ids->uid) < 0)
		return mr_err_sys(err, "setuid %u", (unsigned)ids->uid);
	return 0;
}

/* --sysctl: written through /proc/sys from inside the container's
 * namespaces (net and IPC parameters follow the writer's namespaces), before
 * the container's own /proc is mounted read-only. A key with a slash is a
 * path as it is (an interface named eth0.100); else dots are slashes. */
static int isolate_sysctls(const struct ctr *c, struct mr_err *err)
{
	size_t i, k;
	for (i = 0; i < c->sysctls.n; i++) {
		const char *kv = c->sysctls.v[i], *eq = strchr(kv, '=');
		char path[160];
		int fd, slash = memchr(kv, '/', (size_t)(eq - kv)) != NULL;
		snprintf(path, sizeof path, "/proc/sys/%.*s", (int)(eq - kv), kv);
		for (k = 10; path[k] && !slash; k++)
			if (path[k] == '.')
				path[k] = '/';
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || util_write_all(fd, eq + 1, strlen(eq + 1)) < 0) {
			mr_err_sys(err, "--sysctl %s", kv);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* --ulimit, before the capabilities go (a hard limit above the current one
 * needs CAP_SYS_RESOURCE). Raw prlimit64: one thread, no synccall. */
static int isolate_ulimits(const struct ctr *c, struct mr_err *err)
{
	size_t i;
	for (i = 0; i < c->ulimits.n; i++) {
		long long soft, hard;
		struct rlimit rl;
		int res = ctr_ulimit_parse(c->ulimits.v[i], &soft, &hard, err);
		if (res < 0)
			return -1;
		rl.rlim_cur = soft < 0 ? RLIM_INFINITY : (rlim_t)soft;
		rl.rlim_max = hard < 0 ? RLIM_INFINITY : (rlim_t)hard;
		if (syscall(SYS_prlimit64, 0, res, &rl, NULL) < 0)
			return mr_err_sys(err, "--ulimit %s", c->ulimits.v[i]);
	}
	return 0;
}

/* The working folder, resolved inside the root (never through a magic link
 * such as /proc/self/fd/N: CVE-2024-21626) and created when missing, as
 * Docker does. */
static int isolate_workdir(int rootfd, const char *dir, int create, struct mr_err *err)
{
	int fd = mr_open_in_root(rootfd, *dir ? dir : "/", O_PATH | O_DIRECTORY, 0, err);
	/* run makes a missing one (Docker does); exec fails with runc's words */
	if (fd < 0 && err->code == ENOENT && !create)
		return mr_err_set(err, ENOENT, "chdir to cwd (\"%s\") set in config.json failed: "
				  "no such file or directory", dir);
	if (fd < 0 && err->code == ENOENT)
		fd = mr_mkdir_in_root(rootfd, dir, 0755, err);
	if (fd < 0)
		return mr_err_ctx(err, "working directory %s", dir);
	if (fchdir(fd) < 0) {
		close(fd);
		return mr_err_sys(err, "chdir to working directory %s", dir);
	}
	close(fd);
	return 0;
}

/* Nothing of minirun's may reach the program: every descriptor above 2 is
 * marked close-on-exec (the sync socket already is: its closing at exec is
 * the success signal). close_range() where the kernel has it. */
static int isolate_cloexec_all(struct mr_err *err)
{
	DIR *d;
	struct dirent *de;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) == 0)
		return 0;
#endif
	d = opendir("/proc/self/fd");
	if (!d)
		return mr_err_sys(err, "list descriptors");
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name);
		if (fd > 2 && fd != dirfd(d))
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	closedir(d);
	return 0;
}

/* Close every descriptor above 2, or above keep when keep > 2 (a process
 * that stays minirun code: the --init reaper, a monitor). */
static void isolate_close_all(int keep)
{
	DIR *d;
	struct dirent *de;
	int fds[64], n = 0, i;
#ifdef SYS_close_range
	if (keep < 3 && syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
	if (keep >= 3 && syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0 &&
	    syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
		return;
#endif
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d)) != NULL && n < 64) {
		int fd = atoi(de->d_name);
		if (fd > 2 && fd != keep && fd != dirfd(d))
			fds[n++] = fd;
	}
	if (d)
		closedir(d);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

static int isolate_loopback(struct mr_err *err)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;
	if (s < 0)
		return mr_err_sys(err, "socket for lo");
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		rc = mr_err_sys(err, "lo flags");
	ifr.ifr_flags |= IFF_UP;
	if (!rc && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		rc = mr_err_sys(err, "bring lo up");
	close(s);
	return rc;
}

/* Same file as minirun's own binary? (CVE-2019-5736: a container whose
 * command is /proc/self/exe would otherwise run the host's minirun binary,
 * whose /proc/PID/exe other processes of the container could then open and,
 * once it exits, rewrite.) */
static int isolate_is_self(int exe_fd, const char *path)
{
	struct stat a, b;
	return exe_fd >= 0 && fstat(exe_fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* execve the program as Docker does: a name with '/' as is, else the first
 * match on the container's PATH (not minirun's). Returns only on failure:
 * 127 not found, 126 found but not runnable, with err set as Docker words it. */
static int isolate_exec(int exe_fd, char *const argv[], char *const envp[], struct mr_err *err)
{
	const char *file = argv[0], *path = NULL, *p;
	char cand[MINIRUN_MAX_PATH];
	int eacces = 0, i;
	for (i = 0; envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	if (!file || !*file)
		return mr_err_set(err, ENOENT, "exec: \"\": executable file not found in $PATH"), 127;
	if (strchr(file, '/')) {
		struct stat sb;
		if (stat(file, &sb) < 0) {
			int e = errno;
			/* Go's wording, as Docker prints it */
			mr_err_set(err, e, "exec: \"%s\": stat %s: %s", file, file,
				   e == ENOENT ? "no such file or directory" : e == ENOTDIR ?
				   "not a directory" : strerror(e));
			return e == ENOENT || e == ENOTDIR ? 127 : 126;
		}
		if (isolate_is_self(exe_fd, file))
			return mr_err_set(err, EPERM, "exec: \"%s\": refusing to run the runtime's own "
					  "binary in a container", file), 126;
		execve(file, argv, envp);
		return mr_err_set(err, errno, "exec: \"%s\": %s", file,
				  errno == EACCES ? "permission denied" : strerror(errno)), 126;
	}
	for (p = path ? path : CTR_DEFAULT_PATH; ; p += strcspn(p, ":") + 1) {
		size_t n = strcspn(p, ":");
		struct stat sb;
		if (n + strlen(file) + 2 < sizeof cand) {
			snprintf(cand, sizeof cand, "%.*s%s%s", (int)n, p, n ? "/" : "", file);
			if (stat(cand, &sb) == 0 && S_ISREG(sb.st_mode)) {
				if (isolate_is_self(exe_fd, cand))
					return mr_err_set(err, EPERM, "exec: \"%s\": refusing to run the "
							  "runtime's own binary in a container", file), 126;
				execve(cand, argv, envp);
				if (errno != ENOENT)
					eacces = errno;
			}
		}
		if (!p[n])
			break;
	}
	if (eacces)
		return mr_err_set(err, eacces, "exec: \"%s\": %s", file, eacces == EACCES ?
				  "permission denied" : strerror(eacces)), 126;
	return mr_err_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", file), 127;
}

/* ---- cgroups ----
 * v2 (/sys/fs/cgroup is cgroup2): /sys/fs/cgroup/minirun/ID with the cpu,
 * memory and pids controllers enabled down to it.
 * v1 and hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified owning no
 * controller we need): unified/minirun/ID to track the processes, and
 * CTRL/minirun/ID only for the controllers a limit needs (memory, cpu, pids).
 * Why not always all of them: moving a process into a cgroup (a write to
 * cgroup.procs) waits for an RCU grace period, 5-10 ms here, the largest cost
 * of a start; a cgroup2 folder is entered at birth instead (clone3 with
 * CLONE_INTO_CGROUP), for free. `stats` and `top` read the processes
 * themselves where a controller is missing. */

#include <linux/bpf.h>

#define CG_ROOT "/sys/fs/cgroup"
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

/* 2 = unified, 1 = v1 (maybe hybrid), 0 = no cgroups mounted. */
static int cg_version(void)
{
	static int v = -1;
	struct statfs sf;
	if (v >= 0)
		return v;
	v = 0;
	if (statfs(CG_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		v = 2;
	else if ((statfs(CG_ROOT "/memory", &sf) == 0 || statfs(CG_ROOT "/pids", &sf) == 0) &&
		 sf.f_type == CGROUP_SUPER_MAGIC)
		v = 1;
	return v;
}

static int cg_is_mounted(const char *hier)
{
	char path[64];
	struct statfs sf;
	snprintf(path, sizeof path, CG_ROOT "/%s", hier);
	return statfs(path, &sf) == 0 && (sf.f_type == CGROUP_SUPER_MAGIC ||
					  (!strcmp(hier, "unified") && sf.f_type == CGROUP2_SUPER_MAGIC));
}

/* The cgroup2 hierarchy containers get a folder in: "" (v2), "unified" (the
 * tracking one of a hybrid), or NULL when there is none. */
static const char *cg_v2_hier(void)
{
	int v = cg_version();
	return v == 2 ? "" : v == 1 && cg_is_mounted("unified") ? "unified" : NULL;
}

/* Path of the container's folder in a hierarchy ("" for v2). */
static void cg_path(char *out, size_t size, const char *hier, const char *id, const char *file)
{
	snprintf(out, size, CG_ROOT "%s%s/minirun%s%s%s%s", *hier ? "/" : "", hier, id ? "/" : "",
		 id ? id : "", file ? "/" : "", file ? file : "");
}

static int cg_write(const char *hier, const char *id, const char *file, const char *val,
		    struct mr_err *err)
{
	char path[160];
	int fd;
	cg_path(path, sizeof path, hier, id, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || util_write_all(fd, val, strlen(val)) < 0) {
		mr_err_sys(err, "cgroup %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Read the value after "key " in a cgroup file (or the first number when key
 * is NULL); 0 on success. */
static int cg_read_u64(const char *hier, const char *id, const char *file, const char *key,
		       uint64_t *out)
{
	char path[160], buf[4096], *p;
	int fd;
	ssize_t n;
	cg_path(path, sizeof path, hier, id, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = util_read_full(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = buf;
	if (key) {
		size_t k = strlen(key);
		for (; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (!strncmp(p, key, k) && p[k] == ' ')
				break;
		if (!p)
			return -1;
		p += k + 1;
	}
	if (!strncmp(p, "max", 3)) {
		*out = UINT64_MAX;
		return 0;
	}
	*out = strtoull(p, NULL, 10);
	return 0;
}

#if MINIRUN_WITH_CGROUPS
/* The hierarchies a container may have folders in (v1): controller folders,
 * then the tracking one. */
static const char cg_v1_dirs[] = "memory\0cpu\0cpuacct\0pids\0devices\0unified\0";

/* ---- devices: the policy in the kernel ----
 * On cgroup2 (v2, and the tracking hierarchy of a hybrid) a program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE on the container's folder, as crun and runc do:
 * in place before the first process is born into the folder, no cgroup move
 * (the v1 devices controller would cost one, 5-10 ms), and `exec`ed
 * processes join it. v1 alone: the devices controller. */

/* The program: r2 = type, r3 = access, r4 = major, r5 = minor; then per rule
 * the tests that jump to the next rule when they fail, and "return 1"; last
 * "return 0". */
static size_t dev_bpf_program(const struct dev_rule *r, size_t n, struct bpf_insn *p)
{
	size_t k = 0, i;
#define DEV_INSN(c, d, sr, o, im) \
	(p[k].code = (c), p[k].dst_reg = (d), p[k].src_reg = (sr), p[k].off = (short)(o), \
	 p[k].imm = (im), k++)
	DEV_INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0);     /* access_type */
	DEV_INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0);
	DEV_INSN(BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 16);  /* access: upper half */
	DEV_INSN(BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff); /* type: lower half */
	DEV_INSN(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0);     /* major */
	DEV_INSN(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0);     /* minor */
	for (i = 0; i < n; i++) {
		size_t next = k + 2 + (r[i].type != 'a') + (r[i].access != 7 ? 3 : 0) +
			      (r[i].major >= 0) + (r[i].minor >= 0);
		if (r[i].type != 'a')
			DEV_INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, next - k - 1,
				 r[i].type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
		if (r[i].access != 7) {       /* a bit asked for that the rule lacks */
			DEV_INSN(BPF_ALU64 | BPF_MOV | BPF_X, 0, 3, 0, 0);
			DEV_INSN(BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, ~r[i].access & 7);
			DEV_INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, next - k - 1, 0);
		}
		if (r[i].major >= 0)
			DEV_INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, next - k - 1, r[i].major);
		if (r[i].minor >= 0)
			DEV_INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, next - k - 1, r[i].minor);
		DEV_INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
		DEV_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	DEV_INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
	DEV_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
#undef DEV_INSN
	return k;
}

/* The program of these rules, loaded into the kernel: its fd, or -1. */
static int dev_bpf_load(const struct dev_rule *r, size_t n)
{
	struct bpf_insn *prog = util_xcalloc(8 + 10 * n, sizeof *prog);
	union bpf_attr a;
	int fd;
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insn_cnt = (uint32_t)dev_bpf_program(r, n, prog);
	a.insns = (uint64_t)(uintptr_t)prog;
	a.license = (uint64_t)(uintptr_t)"GPL";
	fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
	free(prog);
	return fd;
}

/* Load the program and attach it to a cgroup2 folder (with ALLOW_MULTI: a
 * program above, systemd's, still has its say). The folder keeps it. */
static int dev_bpf_attach(const char *dir, const struct dev_rule *r, size_t n, struct mr_err *err)
{
	union bpf_attr a;
	int pfd = dev_bpf_load(r, n), dfd, rc = -1;
	if (pfd < 0)
		return mr_err_sys(err, "device policy: load the BPF program");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	memset(&a, 0, sizeof a);
	a.target_fd = (uint32_t)dfd;
	a.attach_bpf_fd = (uint32_t)pfd;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (dfd < 0 || syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof a) < 0)
		mr_err_sys(err, "device policy: attach to %s", dir);
	else
		rc = 0;
	if (dfd >= 0)
		close(dfd);
	close(pfd);
	return rc;
}

/* v1: devices.deny "a", then one devices.allow line per rule. */
static int dev_v1_apply(const char *id, const struct dev_rule *r, size_t n, struct mr_err *err)
{
	char path[160], line[48];
	size_t i;
	cg_path(path, sizeof path, "devices", NULL, NULL);
	mkdir(path, 0755);
	cg_path(path, sizeof path, "devices", id, NULL);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return mr_err_sys(err, "cgroup %s", path);
	if (cg_write("devices", id, "devices.deny", "a", err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		char num[2][12], acc[4];
		int j, v[2];
		v[0] = r[i].major;
		v[1] = r[i].minor;
		for (j = 0; j < 2; j++)
			if (v[j] < 0)
				strcpy(num[j], "*");
			else
				snprintf(num[j], sizeof num[j], "%d", v[j]);
		snprintf(line, sizeof line, "%c %s:%s %s", r[i].type, num[0], num[1],
			 dev_access_str(r[i].access, acc));
		if (cg_write("devices", id, "devices.allow", line, err) < 0)
			return -1;
	}
	return 0;
}

/* What holds the device policy here (for info): the default program is
 * loaded (not attached) to see whether the kernel takes it. */
static const char *dev_policy_kind(void)
{
	int fd = cg_v2_hier() ? dev_bpf_load(dev_default_rules, sizeof dev_default_rules /
					     sizeof dev_default_rules[0]) : -1;
	if (fd >= 0) {
		close(fd);
		return "cgroup2 BPF program";
	}
	if (cg_version() == 1 && cg_is_mounted("devices"))
		return "cgroup v1 devices controller";
	return "none: roots, volumes and binds mounted nodev";
}

/* The container's device policy, on cgroup2 if there is one, else on the v1
 * devices controller. 1 when neither is available (the caller then mounts
 * nodev), 0 when in place. */
static int dev_policy_apply(const char *id, const struct dev_rule *r, size_t n)
{
	char path[160];
	struct mr_err ignored;
	const char *h = cg_v2_hier();
	if (h) {
		cg_path(path, sizeof path, h, id, NULL);
		if (dev_bpf_attach(path, r, n, &ignored) == 0)
			return 0;
	}
	if (cg_version() == 1 && cg_is_mounted("devices") && dev_v1_apply(id, r, n, &ignored) == 0)
		return 0;
	return 1;
}

/* Does the container need a folder in v1 hierarchy h? */
static int cg_v1_wanted(const struct ctr *c, const char *h)
{
	switch (h[0]) {
	case 'm': return c->memory != 0;
	case 'p': return c->pids_limit > 0;
	case 'u': return 1;
	default: return !strcmp(h, "cpu") && c->nano_cpus != 0;
	}
}

/* v2: make the controllers we use available to minirun/ and its children. */
static void cg_v2_enable(void)
{
	static const char ctrls[] = "cpu\0memory\0pids\0";
	char avail[256] = "", path[64];
	const char *c;
	struct mr_err ignored;
	int fd = open(CG_ROOT "/cgroup.controllers", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, avail, sizeof avail - 1);
		avail[n > 0 ? n : 0] = 0;
		close(fd);
	}
	for (c = ctrls; *c; c += strlen(c) + 1) {
		char val[16];
		if (!strstr(avail, c))
			continue;
		snprintf(val, sizeof val, "+%s", c);
		snprintf(path, sizeof path, CG_ROOT "/cgroup.subtree_control");
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, val, strlen(val)) < 0) { /* already on, or not allowed */ }
			close(fd);
		}
		cg_write("", NULL, "cgroup.subtree_control", val, &ignored);
	}
}

/* Create the container's cgroups, put the device policy (rules, none for
 * --privileged) in place and write its limits. A limit whose controller is
 * missing is an error naming it. 1 when the device policy could not be put
 * in place (the caller mounts nodev instead), else 0, or -1. */
static int cg_create(const struct ctr *c, const struct dev_rule *rules, size_t nrules,
		     struct mr_err *err)
{
	char path[160], val[64];
	const char *h;
	uint64_t memsw = 0;
	int v = cg_version(), nodev = 0;
	if (v == 0) {
		if (c->memory || c->nano_cpus || c->pids_limit > 0)
			return mr_err_set(err, ENOTSUP, "resource limits need cgroups, and no cgroup "
					  "filesystem is mounted at " CG_ROOT);
		return rules != NULL;
	}
	if (c->memory) {
		memsw = c->memory_swap > 0 ? (uint64_t)c->memory_swap :
			c->memory_swap < 0 ? UINT64_MAX : 2 * (uint64_t)c->memory;
	}
	if (v == 2) {
		cg_path(path, sizeof path, "", NULL, NULL);
		mkdir(path, 0755);
		cg_v2_enable();
		cg_path(path, sizeof path, "", c->id, NULL);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return mr_err_sys(err, "cgroup %s", path);
		if (rules)
			nodev = dev_policy_apply(c->id, rules, nrules);
		if (c->memory) {
			snprintf(val, sizeof val, "%lld", (long long)c->memory);
			if (cg_write("", c->id, "memory.max", val, err) < 0)
				return mr_err_ctx(err, "--memory: the memory controller is not available");
			if (memsw == UINT64_MAX)
				snprintf(val, sizeof val, "max");
			else
				snprintf(val, sizeof val, "%llu", (unsigned long long)(memsw - (uint64_t)c->memory));
			cg_write("", c->id, "memory.swap.max", val, err);
		}
		if (c->nano_cpus) {
			snprintf(val, sizeof val, "%lld 100000", (long long)(c->nano_cpus / 10000));
			if (cg_write("", c->id, "cpu.max", val, err) < 0)
				return mr_err_ctx(err, "--cpus: the cpu controller is not available");
		}
		if (c->pids_limit > 0) {
			snprintf(val, sizeof val, "%lld", (long long)c->pids_limit);
			if (cg_write("", c->id, "pids.max", val, err) < 0)
				return mr_err_ctx(err, "--pids-limit: the pids controller is not available");
		}
		return nodev;
	}
	for (h = cg_v1_dirs; *h; h += strlen(h) + 1) {
		if (!cg_v1_wanted(c, h) || !cg_is_mounted(h))
			continue;
		cg_path(path, sizeof path, h, NULL, NULL);
		mkdir(path, 0755);
		cg_path(path, sizeof path, h, c->id, NULL);
		/* cpu and cpuacct are often one hierarchy under two names */
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return mr_err_sys(err, "cgroup %s", path);
	}
	if (rules)
		nodev = dev_policy_apply(c->id, rules, nrules);
	if (c->memory) {
		if (!cg_is_mounted("memory"))
			return mr_err_set(err, ENOTSUP, "--memory: the memory cgroup controller is not "
					  "mounted (" CG_ROOT "/memory)");
		snprintf(val, sizeof val, "%lld", (long long)c->memory);
		if (cg_write("memory", c->id, "memory.limit_in_bytes", val, err) < 0)
			return -1;
		snprintf(val, sizeof val, "%lld", memsw == UINT64_MAX ? -1LL : (long long)memsw);
		cg_path(path, sizeof path, "memory", c->id, "memory.memsw.limit_in_bytes");
		if (access(path, F_OK) == 0) {
			if (cg_write("memory", c->id, "memory.memsw.limit_in_bytes", val, err) < 0)
				return -1;
		} else if (c->memory_swap) {
			fprintf(stderr, "WARNING: Your kernel does not support swap limit capabilities "
				"or the cgroup is not mounted. Memory limited without swap.\n");
		}
	}
	if (c->nano_cpus) {
		if (!cg_is_mounted("cpu"))
			return mr_err_set(err, ENOTSUP, "--cpus: the cpu cgroup controller is not "
					  "mounted (" CG_ROOT "/cpu)");
		snprintf(val, sizeof val, "%lld", (long long)(c->nano_cpus / 10000));
		if (cg_write("cpu", c->id, "cpu.cfs_period_us", "100000", err) < 0 ||
		    cg_write("cpu", c->id, "cpu.cfs_quota_us", val, err) < 0)
			return -1;
	}
	if (c->pids_limit > 0) {
		if (!cg_is_mounted("pids"))
			return mr_err_set(err, ENOTSUP, "--pids-limit: the pids cgroup controller is "
					  "not mounted (" CG_ROOT "/pids)");
		snprintf(val, sizeof val, "%lld", (long long)c->pids_limit);
		if (cg_write("pids", c->id, "pids.max", val, err) < 0)
			return -1;
	}
	return nodev;
}

/* Open the cgroup.procs files of the container (to join: write "0", or a
 * pid). Returns how many. */
static int cg_open_procs(const char *id, int *fds, int max)
{
	char path[160];
	const char *h;
	int n = 0;
	if (cg_version() == 2) {
		cg_path(path, sizeof path, "", id, "cgroup.procs");
		if ((fds[0] = open(path, O_WRONLY | O_CLOEXEC)) >= 0)
			n = 1;
		return n;
	}
	for (h = cg_v1_dirs; *h && n < max; h += strlen(h) + 1) {
		cg_path(path, sizeof path, h, id, "cgroup.procs");
		if ((fds[n] = open(path, O_WRONLY | O_CLOEXEC)) >= 0)
			n++;
	}
	return n;
}

/* The container's cgroup2 folder (v2, or the tracking one of a hybrid) as
 * an fd for clone3's CLONE_INTO_CGROUP; -1 if there is none. */
static int cg_v2_fd(const char *id)
{
	char path[160];
	const char *h = cg_v2_hier();
	if (!h)
		return -1;
	cg_path(path, sizeof path, h, id, NULL);
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Move pid into the container's cgroups (but the cgroup2 one when clone3
 * already placed it there). */
static int cg_attach(const char *id, pid_t pid, int in_v2, struct mr_err *err)
{
	char path[160], val[16];
	const char *h;
	int rc = 0, v = cg_version();
	snprintf(val, sizeof val, "%d", (int)pid);
	for (h = v == 2 ? "" : cg_v1_dirs; v && !rc; h += strlen(h) + 1) {
		int fd;
		if (!(in_v2 && (v == 2 || !strcmp(h, "unified")))) {
			cg_path(path, sizeof path, h, id, "cgroup.procs");
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0 && util_write_all(fd, val, strlen(val)) < 0)
				rc = mr_err_sys(err, "join cgroup %s", path);
			if (fd >= 0)
				close(fd);
		}
		if (v == 2 || !h[strlen(h) + 1])
			break;
	}
	return rc;
}

/* --pid host: the processes the init leaves behind (nothing ends them with
 * a PID namespace) are killed through the tracking cgroup: cgroup.kill
 * (5.14), else SIGKILL to each pid listed, until none is left. */
static void cg_kill_rest(const char *id)
{
	char path[160], buf[4096];
	struct mr_err ignored;
	int round, fd;
	const char *h = cg_v2_hier();
	if (!h || cg_write(h, id, "cgroup.kill", "1", &ignored) == 0)
		return;
	cg_path(path, sizeof path, h, id, "cgroup.procs");
	for (round = 0; round < 50; round++) {
		ssize_t n;
		char *p;
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return;
		n = util_read_full(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			return;
		buf[n] = 0;
		for (p = buf; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
			if (atoi(p) > 1)
				kill(atoi(p), SIGKILL);
		usleep(2000);
	}
}

/* Did the kernel's OOM killer act in the container's cgroup? */
static int cg_oom_killed(const char *id)
{
	uint64_t n = 0;
	if (cg_version() == 2)
		return cg_read_u64("", id, "memory.events", "oom_kill", &n) == 0 && n > 0;
	return cg_read_u64("memory", id, "memory.oom_control", "oom_kill", &n) == 0 && n > 0;
}

/* Remove the container's cgroups (its processes are exiting: retry a busy
 * folder for a little while). */
static void cg_remove(const char *id)
{
	char path[160];
	const char *h;
	int v = cg_version(), tries;
	if (v == 0)
		return;
	for (h = v == 2 ? "" : cg_v1_dirs; ; h += strlen(h) + 1) {
		cg_path(path, sizeof path, h, id, NULL);
		for (tries = 0; rmdir(path) < 0 && errno == EBUSY && tries < 200; tries++)
			usleep(1000);
		if (v == 2 || !h[strlen(h) + 1])
			break;
	}
}

/* /sys/fs/cgroup in the container, read-only (read-write with --privileged),
 * as Docker 20.10 shows it, so that programs read their limits there (JVMs,
 * Go and Node runtimes): v2, cgroup2 mounted from inside the container's
 * cgroup namespace, whose root is the container's own folder; v1 and hybrid
 * (where Docker keeps the host's cgroup namespace): a tmpfs holding, at its
 * name, a read-only bind of each hierarchy's folder of the container (memory
 * with --memory, cpu with --cpus, pids with --pids-limit, unified on a
 * hybrid: Docker shows every hierarchy, minirun makes only these folders). */
static int cg_mount_in(const struct ctr_spawn *sp, struct mr_err *err)
{
	unsigned long ro = sp->c->privileged ? 0 : MS_RDONLY, fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char src[160], at[40];
	const char *h;
	struct stat sb;
	int v = cg_version();
	if (v == 2)
		return mount_in_root(sp->rootfd, "sys/fs/cgroup", 'd', "cgroup", "cgroup2", fl | ro,
				     NULL, err);
	if (v == 0)
		return 0;
	if (mount_in_root(sp->rootfd, "sys/fs/cgroup", 'd', "tmpfs", "tmpfs", fl, "mode=755", err) < 0)
		return -1;
	/* the tmpfs itself stays writable, as Docker 20.10's (seen on this
	 * hybrid host with a private dockerd) */
	for (h = cg_v1_dirs; *h; h += strlen(h) + 1) {
		cg_path(src, sizeof src, h, sp->c->id, NULL);
		if (!cg_is_mounted(h) || stat(src, &sb) < 0)
			continue;
		snprintf(at, sizeof at, "sys/fs/cgroup/%s", h);
		if (mount_in_root(sp->rootfd, at, 'd', src, NULL, MS_BIND | fl | ro, NULL, err) < 0)
			return -1;
	}
	return 0;
}
#else
static int cg_mount_in(const struct ctr_spawn *sp, struct mr_err *err)
{
	(void)sp; (void)err;
	return 0;
}
static int cg_create(const struct ctr *c, const struct dev_rule *rules, size_t nrules,
		     struct mr_err *err)
{
	(void)nrules;
	if (c->memory || c->nano_cpus || c->pids_limit > 0)
		return mr_err_set(err, MR_EDISABLED, "resource limits: built without "
				  "MINIRUN_WITH_CGROUPS");
	return rules != NULL;
}
static int cg_open_procs(const char *id, int *fds, int max)
{
	(void)id; (void)fds; (void)max;
	return 0;
}
static int cg_v2_fd(const char *id)
{
	(void)id;
	return -1;
}
static int cg_attach(const char *id, pid_t pid, int in_v2, struct mr_err *err)
{
	(void)id; (void)pid; (void)in_v2; (void)err;
	return 0;
}
static int cg_oom_killed(const char *id)
{
	(void)id;
	return 0;
}
static void cg_kill_rest(const char *id)
{
	(void)id;
}
static const char *dev_policy_kind(void)
{
	return "none (built without MINIRUN_WITH_CGROUPS): roots, volumes and binds mounted nodev";
}
static void cg_remove(const char *id)
{
	(void)id;
}
#endif

/* The processes of a container: its tracking cgroup (it holds `exec`ed
 * processes too), else every process in the init's PID namespace. Returns a
 * malloc'ed array. */
static pid_t *cg_pids(const char *id, pid_t init, size_t *count)
{
	char path[160], buf[4096], ns[64], other[64];
	const char *h = cg_v2_hier() ? cg_v2_hier() : "pids";
	pid_t *pids = NULL;
	size_t n = 0;
	int fd;
	ssize_t r;
	char *p;
	struct mr_buf b = { 0 };
	cg_path(path, sizeof path, h, id, "cgroup.procs");
	fd = cg_version() ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	while (fd >= 0 && (r = read(fd, buf, sizeof buf)) > 0)
		mr_buf_append(&b, buf, (size_t)r);
	if (fd >= 0)
		close(fd);
	for (p = b.data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		pids = util_xrealloc(pids, (n + 1) * sizeof *pids);
		pids[n++] = (pid_t)atoi(p);
	}
	mr_buf_free(&b);
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)init);
	if (!n && init > 0 && (r = readlink(path, ns, sizeof ns - 1)) > 0) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		ns[r] = 0;
		while (d && (de = readdir(d)) != NULL) {
			ssize_t k;
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof path, "/proc/%s/ns/pid", de->d_name);
			k = readlink(path, other, sizeof other - 1);
			if (k == r && !memcmp(ns, other, (size_t)k)) {
				pids = util_xrealloc(pids, (n + 1) * sizeof *pids);
				pids[n++] = (pid_t)atoi(de->d_name);
			}
		}
		if (d)
			closedir(d);
	}
	*count = n;
	return pids;
}
/* ======================== END src/16_isolate.c ======================== */

/* ======================== BEGIN src/17_monitor.c ======================== */
#line 1 "src/17_monitor.c"
/* ==== [17] MONITOR: starting a container, its owner process, logs, restarts ====
 * A container always has exactly one owner, the process that cloned its init
 * and holds rundir/ID/lock: the CLI itself for a foreground `run`/`start -a`
 * (its output relayed through pipes or a pty, and logged), else a monitor: the same
 * binary re-executed (`__monitor`, a small fresh address space), double-forked
 * and setsid, which logs the container's output, records its exit and applies
 * the restart policy. The init gets PR_SET_PDEATHSIG SIGKILL: an owner killed
 * with SIGKILL takes its container down with it, and the next look at the
 * container finds the lock free and shows it exited.
 *
 * CVE-2019-5736 (overwriting the runtime through /proc/PID/exe): every
 * command that puts a process into a container (run, start, restart, exec,
 * cp, up, init, the monitor, hence health checks) first re-executes itself
 * from a sealed memfd copy of minirun ([18] exec_sealed_self, called by
 * mr_main), so the init, a clone of its owner, and anything a hostile image
 * reaches through /proc/self/exe (#! line, ELF interpreter) or /proc/PID/exe
 * is that copy: read-only, never the host's file. Besides, the init is
 * non-dumpable and invisible to others until it execs, and a command that
 * resolves to minirun itself is refused. */

#define CTR_LOG_CHUNK 4096

/* The few functions a monitor runs while it idles for days, kept together
 * (the default linker script groups .text.hot.*): the kernel maps code 64 KiB
 * around each fault, so scattered code would make the whole binary resident. */
#define CTR_HOT __attribute__((section(".text.hot.minirun_monitor")))

/* Signals seen by the owner (set by the handler, consumed by the loop). */
static volatile sig_atomic_t ctr_sig[_NSIG];

static CTR_HOT void ctr_on_signal(int sig)
{
	if (sig > 0 && sig < _NSIG)
		ctr_sig[sig] = 1;
}

/* Signals an owner handles: they are blocked outside ppoll(), so none is
 * lost between a check and the wait. `old` receives the mask to wait with. */
static void ctr_signals_catch(sigset_t *old)
{
	static const unsigned char sigs[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
					      SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP };
	struct sigaction sa;
	sigset_t set;
	size_t i;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctr_on_signal;
	sigemptyset(&set);
	for (i = 0; i < sizeof sigs; i++) {
		sigaddset(&set, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &set, old);
	signal(SIGPIPE, SIG_IGN);
}

static int ctr_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 125;
}

/* ---- the sync protocol (SOCK_SEQPACKET pair) ----
 * parent -> child: 'g' + window size once the child is in its cgroups;
 * child -> parent: 't' + SCM_RIGHTS (the pty master, with -t), then either
 * nothing (the socket closes when execve succeeds) or 'e' + exit code + error. */
struct ctr_msg {
	char kind;
	unsigned char code;
	struct winsize ws;
	char text[sizeof(((struct mr_err *)0)->msg)];
};

static void __attribute__((noreturn)) ctr_child_fail(struct ctr_spawn *sp, int code,
						      const struct mr_err *err)
{
	struct ctr_msg m;
	memset(&m, 0, sizeof m);
	m.kind = 'e';
	m.code = (unsigned char)code;
	snprintf(m.text, sizeof m.text, "%s", err->msg);
	if (send(sp->sync, &m, offsetof(struct ctr_msg, text) + strlen(m.text) + 1, MSG_NOSIGNAL) < 0) {
		/* the parent is gone: nobody to tell */
	}
	_exit(code);
}

static int ctr_send_fd(int sock, int fd)
{
	char kind = 't';
	struct iovec iov = { &kind, 1 };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr msg;
	memset(&msg, 0, sizeof msg);
	memset(&u, 0, sizeof u);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof u.buf;
	u.h.cmsg_level = SOL_SOCKET;
	u.h.cmsg_type = SCM_RIGHTS;
	u.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&u.h), &fd, sizeof fd);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* The argv (Entrypoint + Cmd) and environment of the program. HOSTNAME,
 * TERM (with -t), HOME (from passwd) and PATH are added as Docker does when
 * the configuration does not set them. */
static char **ctr_argv(const struct ctr *c, const struct ctr_list *extra_cmd)
{
	const struct ctr_list *cmd = extra_cmd ? extra_cmd : &c->cmd;
	char **v = util_xcalloc(c->entrypoint.n + cmd->n + 1, sizeof *v);
	size_t i, n = 0;
	for (i = 0; !extra_cmd && i < c->entrypoint.n; i++)
		v[n++] = (char *)c->entrypoint.v[i];
	for (i = 0; i < cmd->n; i++)
		v[n++] = (char *)cmd->v[i];
	return v;
}

static char **ctr_envp(const struct ctr *c, const struct ctr_list *extra, int tty, const char *home)
{
	struct ctr_list env = { 0 };
	size_t i;
	char *s;
	/* Docker's order: PATH, HOSTNAME, TERM, then Config.Env replacing
	 * those in place or appended */
	ctr_list_add(&env, "PATH=" CTR_DEFAULT_PATH);
	s = util_xmalloc(strlen(c->hostname) + 10);
	sprintf(s, "HOSTNAME=%s", c->hostname);
	ctr_list_add(&env, s);
	if (tty)
		ctr_list_add(&env, "TERM=xterm");
	for (i = 0; i < c->env.n; i++)
		ctr_env_set(&env, c->env.v[i]);
	for (i = 0; extra && i < extra->n; i++)
		ctr_env_set(&env, extra->v[i]);
	if (!ctr_env_get(&env, "HOME")) {
		s = util_xmalloc(strlen(home) + 6);
		sprintf(s, "HOME=%s", home);
		ctr_list_add(&env, s);
	}
	return (char **)env.v;
}

/* --init: PID 1 stays minirun code that reaps orphans, passes signals on to
 * the program and leaves with its status (tini's contract: 128+N after a
 * signal). */
static volatile pid_t ctr_reaper_child;

static void ctr_reaper_forward(int sig)
{
	if (ctr_reaper_child > 0)
		kill(ctr_reaper_child, sig);
}

static void __attribute__((noreturn)) ctr_reaper(pid_t child)
{
	struct sigaction sa;
	int s, status;
	pid_t p;
	ctr_reaper_child = child;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctr_reaper_forward;
	for (s = 1; s < _NSIG; s++)
		if (s != SIGCHLD && s != SIGKILL && s != SIGSTOP && s != SIGTTOU && s != SIGTTIN)
			sigaction(s, &sa, NULL);
	for (;;) {
		p = wait(&status);
		if (p == child)
			_exit(ctr_exit_code(status));
		if (p < 0 && errno == ECHILD)
			_exit(125);
	}
}

/* --init: the reaper is PID 1 of the container, and /proc/1/cmdline is
 * world-readable there: it showed the owner's command line (the store and
 * run folders, the container id). The argument area is overwritten with
 * "init" once the program is forked (its argv still points there) and shrunk
 * to it where PR_SET_MM is allowed (CAP_SYS_RESOURCE, rarely kept); else the
 * rest of the area reads as zeros: still no host path. */
static void ctr_reaper_hide_args(void)
{
	static const char name[] = "init";
	char buf[1024], *p;
	unsigned long start = 0, end = 0;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC), i;
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* after "pid (comm)", field 3 is the state; arg_start is field 48 */
	for (i = 2; p && i < 48; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		return;
	/* strtoul, not sscanf: scanf would link musl's float parser (32 KB) */
	start = strtoul(p + 1, &p, 10);
	end = strtoul(p, NULL, 10);
	if (end <= start || end - start < sizeof name)
		return;
	memset((void *)start, 0, end - start);
	memcpy((void *)start, name, sizeof name);
	prctl(PR_SET_MM, PR_SET_MM_ARG_END, start + sizeof name, 0, 0);
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

/* Steps in the child after the rootfs: identity, capabilities, descriptors,
 * exec. Shared with `exec` ([18]). Returns only on failure (exit code). */
static int ctr_child_finish(struct ctr_spawn *sp, const char *user, const char *workdir,
			    const struct ctr_list *cmd, const struct ctr_list *env_extra,
			    struct mr_err *err)
{
	const struct ctr *c = sp->c;
	struct ctr_ids ids;
	char **argv, **envp;
	if (isolate_workdir(sp->rootfd, workdir, !sp->is_exec, err) < 0)
		return sp->is_exec ? 126 : 125;       /* Docker's code for exec -w /missing */
	if (isolate_ulimits(c, err) < 0)
		return 125;
	if (!sp->is_exec && c->readonly &&
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | (sp->nodev ? MS_NODEV : 0),
		  NULL) < 0)
		return mr_err_sys(err, "remount the root read-only"), 125;
	umask(022);
	if (isolate_seccomp(c, sp->caps, err) < 0 || isolate_caps_bound(sp->caps, err) < 0 ||
	    isolate_user(sp->rootfd, user, &c->group_add, &ids, err) < 0)
		return 125;
	if (isolate_caps_apply(sp->caps, err) < 0)
		return 125;
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return mr_err_sys(err, "set no_new_privs"), 125;
	argv = ctr_argv(c, cmd);
	envp = ctr_envp(c, env_extra, sp->pty_slave >= 0, ids.home);
	if (isolate_cloexec_all(err) < 0)
		return 125;
	if (c->init && !sp->is_exec) {
		pid_t pid = fork();
		if (pid < 0)
			return mr_err_sys(err, "fork the program under --init"), 125;
		if (pid > 0) {
			/* the reaper stays: nothing of minirun's may stay open in it,
			 * nothing of the host shows in its command line */
			isolate_close_all(-1);
			ctr_reaper_hide_args();
			ctr_reaper(pid);
		}
		setpgid(0, 0);
		if (sp->pty_slave >= 0) {
			signal(SIGTTOU, SIG_IGN);
			tcsetpgrp(0, getpid());
			signal(SIGTTOU, SIG_DFL);
		}
	}
	return isolate_exec(sp->exe_fd, argv, envp, err);
}

/* networking, [19] */
static int net_prepare(struct ctr_spawn *sp, struct mr_err *err);
static int net_child_join(const struct ctr_spawn *sp, struct mr_err *err);
static int net_start(struct ctr_spawn *sp, struct mr_err *err);
static void net_stop(struct mr_store *st, const char *id);

/* The container's first process: a linear list of named steps (crun's
 * style); the first failure is reported to the parent and ends it. */
static void __attribute__((noreturn)) ctr_child(struct ctr_spawn *sp)
{
	struct mr_err err;
	struct ctr_msg go;
	struct sigaction sa;
	sigset_t none;
	const struct ctr *c = sp->c;
	int s, i, code = 125;
	memset(&err, 0, sizeof err);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < _NSIG; s++)
		sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (recv(sp->sync, &go, sizeof go, 0) < 1 || go.kind != 'g')
		_exit(125);
	setsid();
	if (net_child_join(sp, &err) < 0)
		goto fail;
	umask(0);
	/* joined to its cgroups by the parent: make them its cgroup root */
	if (unshare(CLONE_NEWCGROUP) < 0 && errno != EINVAL) {
		mr_err_sys(&err, "cgroup namespace");
		goto fail;
	}
	if (isolate_sysctls(c, &err) < 0)
		goto fail;
	if (rootfs_mount_root(sp, &c->layers, &err) < 0 ||
	    rootfs_mount_proc_sys(sp, &err) < 0 ||
	    cg_mount_in(sp, &err) < 0 ||
	    rootfs_mount_dev(sp, &err) < 0)
		goto fail;
	if (c->tty) {
		if (rootfs_pty(sp, &err) < 0)
			goto fail;
		if (ctr_send_fd(sp->sync, sp->pty) < 0) {
			mr_err_sys(&err, "pass the pty");
			goto fail;
		}
		close(sp->pty);
		if (go.ws.ws_row)
			ioctl(sp->pty_slave, TIOCSWINSZ, &go.ws);
	}
	if (rootfs_user_mounts(sp, &err) < 0 || rootfs_devices(sp, &err) < 0 ||
	    rootfs_etc_binds(sp, &err) < 0 || rootfs_mask(sp, &err) < 0)
		goto fail;
	if (!ctr_ns_host(c->uts_mode) && sethostname(c->hostname, strlen(c->hostname)) < 0) {
		mr_err_sys(&err, "set hostname %s", c->hostname);
		goto fail;
	}
	if (strcmp(c->network, "host") && isolate_loopback(&err) < 0)
		goto fail;
	if (rootfs_pivot(sp, &err) < 0)
		goto fail;
	if (sp->pty_slave >= 0) {
		if (ioctl(sp->pty_slave, TIOCSCTTY, 0) < 0) {
			mr_err_sys(&err, "controlling terminal");
			goto fail;
		}
		for (i = 0; i < 3; i++)
			sp->stdio[i] = sp->pty_slave;
	}
	for (i = 0; i < 3; i++)
		if ((sp->stdio[i] == i ? fcntl(i, F_SETFD, 0) : dup2(sp->stdio[i], i)) < 0) {
			mr_err_sys(&err, "set up stdio");
			goto fail;
		}
	code = ctr_child_finish(sp, c->user, c->workdir, NULL, NULL, &err);
fail:
	mr_err_ctx(&err, "start container %s", c->name);
	ctr_child_fail(sp, code, &err);
}

/* Receive the child's report: 0 once it exec'ed; else its exit code with
 * err set. The pty master, if any, lands in sp->pty. */
static int ctr_spawn_wait(struct ctr_spawn *sp, struct mr_err *err)
{
	struct ctr_msg m;
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
	for (;;) {
		struct iovec iov = { &m, sizeof m };
		struct msghdr msg;
		ssize_t n;
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof u.buf;
		n = recvmsg(sp->sync, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return 0;
		if (n < 0)
			return mr_err_sys(err, "container %s: start", sp->c->name), 125;
		if (m.kind == 't') {
			struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
			if (h && h->cmsg_type == SCM_RIGHTS)
				memcpy(&sp->pty, CMSG_DATA(h), sizeof(int));
			continue;
		}
		m.text[sizeof m.text - 1] = 0;
		mr_err_set(err, MR_EINVAL_INPUT, "%s", n > (ssize_t)offsetof(struct ctr_msg, text) ?
			   m.text : "container start failed");
		return m.code ? m.code : 125;
	}
}

/* clone(2) as a fork: no stack of its own, the child runs on a copy of this
 * one. clone3 first, to be born in the container's cgroup2 folder
 * (CLONE_INTO_CGROUP, 5.7+: no migration, see [16]); the raw clone else (its
 * argument order differs between arches only for the arguments left 0).
 * musl's cached thread id is stale in the child: it calls nothing that uses
 * it (raise, pthread). Closes cgfd. */
static long ctr_clone(int flags, int cgfd, int *in_v2)
{
	long pid;
#ifdef SYS_clone3
	if (cgfd >= 0) {
		struct {
			uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
				 tls, set_tid, set_tid_size, cgroup;
		} args;
		memset(&args, 0, sizeof args);
		args.flags = (uint64_t)(unsigned)flags | 0x200000000ULL; /* CLONE_INTO_CGROUP */
		args.exit_signal = SIGCHLD;
		args.cgroup = (uint64_t)cgfd;
		pid = syscall(SYS_clone3, &args, sizeof args);
		if (pid >= 0 || (errno != ENOSYS && errno != EINVAL && errno != E2BIG)) {
			if (pid != 0)
				close(cgfd);
			*in_v2 = pid > 0;
			return pid;
		}
	}
#endif
	if (cgfd >= 0)
		close(cgfd);
	pid = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
	return pid;
}

static int ctr_spawn_start(struct ctr_spawn *sp, struct mr_err *err);

/* Start the container's first process. 0, or the exit code to report (125
 * minirun's failure, 126/127 the command's) with err set. The --device nodes
 * are looked up at each start, and the device policy made from them. */
static int ctr_spawn(struct ctr_spawn *sp, struct mr_err *err)
{
	struct ctr *c = sp->c;
	int code = 0;
	sp->devs = c->devices.n ? util_xcalloc(c->devices.n, sizeof *sp->devs) : NULL;
	for (sp->ndevs = 0; sp->ndevs < c->devices.n && !code; sp->ndevs++)
		if (dev_resolve(c->devices.v[sp->ndevs], &sp->devs[sp->ndevs], err) < 0)
			code = 125;
	if (!code && !c->privileged)
		sp->rules = dev_policy_rules(c, sp->devs, sp->ndevs, &sp->nrules);
	if (!code)
		code = ctr_spawn_start(sp, err);
	free(sp->devs);
	free(sp->rules);
	sp->devs = NULL;
	sp->rules = NULL;
	return code;
}

static int ctr_spawn_start(struct ctr_spawn *sp, struct mr_err *err)
{
	struct ctr *c = sp->c;
	struct ctr_msg go;
	int sv[2], dirfd, code, flags, in_v2 = 0;
	long pid;
	sp->pty = sp->pty_slave = -1;
	snprintf(sp->dir, sizeof sp->dir, "%s/containers/%s", sp->st->root, c->id);
	dirfd = ctr_dir(sp->st, c->id, err);
	if (dirfd < 0)
		return 125;
	code = rootfs_etc_files(sp, dirfd, err);
	close(dirfd);
	if (code < 0 || isolate_caps_resolve(c, &sp->caps, err) < 0)
		return 125;
	if (ctr_ns_host(c->pid_mode))
		cg_kill_rest(c->id);          /* left by a monitor killed with SIGKILL */
	cg_remove(c->id);
	sp->nodev = cg_create(c, sp->rules, sp->nrules, err);
	if (sp->nodev < 0) {
		cg_remove(c->id);
		return 125;
	}
	if (sp->nodev)
		fprintf(stderr, "WARNING: no device cgroup (cgroup2 with BPF, or the v1 devices "
			"controller): %s is mounted nodev but for the nodes of /dev\n", c->name);
	if (net_prepare(sp, err) < 0) {
		cg_remove(c->id);
		return 125;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		if (sp->netns_fd >= 0)
			close(sp->netns_fd);
		cg_remove(c->id);
		return mr_err_sys(err, "socketpair"), 125;
	}
	sp->exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	flags = CLONE_NEWNS;
	if (!ctr_ns_host(c->pid_mode))
		flags |= CLONE_NEWPID;
	if (!ctr_ns_host(c->uts_mode))
		flags |= CLONE_NEWUTS;
	if (!ctr_ns_host(c->ipc_mode))
		flags |= CLONE_NEWIPC;
	if (strcmp(c->network, "host") && strncmp(c->network, "container:", 10))
		flags |= CLONE_NEWNET;
	pid = ctr_clone(flags, cg_v2_fd(c->id), &in_v2);
	if (pid == 0) {
		close(sv[0]);
		sp->sync = sv[1];
		ctr_child(sp);
	}
	close(sv[1]);
	if (sp->exe_fd >= 0)
		close(sp->exe_fd);
	if (sp->netns_fd >= 0)
		close(sp->netns_fd);
	if (pid < 0) {
		close(sv[0]);
		cg_remove(c->id);
		return mr_err_sys(err, "container %s: clone", c->name), 125;
	}
	sp->pid = (pid_t)pid;
	sp->sync = sv[0];
	memset(&go, 0, sizeof go);
	go.kind = 'g';
	if (c->tty && ioctl(0, TIOCGWINSZ, &go.ws) < 0)
		ioctl(1, TIOCGWINSZ, &go.ws);
	if (cg_attach(c->id, sp->pid, in_v2, err) < 0 || net_start(sp, err) < 0) {
		code = 125;
	} else if (send(sv[0], &go, offsetof(struct ctr_msg, text), MSG_NOSIGNAL) < 0) {
		code = (mr_err_sys(err, "container %s: start", c->name), 125);
	} else {
		code = ctr_spawn_wait(sp, err);
	}
	close(sv[0]);
	if (code) {
		kill(sp->pid, SIGKILL);
		while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR) {}
		if (sp->pty >= 0)
			close(sp->pty);
		sp->pty = -1;
		cg_remove(c->id);
		net_stop(sp->st, c->id);
	}
	return code;
}

/* ---- logs ----
 * containers/ID/log: one record per line, "TIME SDATA\n": TIME RFC 3339 with
 * nanoseconds, then a space, S 'o'/'e' for a complete stdout/stderr line (DATA,
 * right after it, is the line without its newline) or 'O'/'E' for a piece
 * without newline. Compact, no
 * escaping, and `logs` renders exactly what the container wrote. Rotated to
 * log.1... when it would pass max-size; max-file files in all. */
struct ctr_log {
	int dirfd, fd, max_file;
	uint64_t size, max;
};

static CTR_HOT void ctr_log_rotate(struct ctr_log *l)
{
	char from[16], to[16];
	int i;
	if (l->max_file <= 1) {
		if (ftruncate(l->fd, 0) == 0)
			l->size = 0;
		return;
	}
	for (i = l->max_file - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof from, "log");
		else
			snprintf(from, sizeof from, "log.%d", i - 1);
		snprintf(to, sizeof to, "log.%d", i);
		renameat(l->dirfd, from, l->dirfd, to);
	}
	close(l->fd);
	l->fd = openat(l->dirfd, "log", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	l->size = 0;
}

/* location=ram logs live in rundir/ID: gone with the container. */
static void ctr_log_remove(int rfd, const struct ctr *c)
{
	char name[16];
	int i;
	if (!c->log_ram)
		return;
	unlinkat(rfd, "log", 0);
	for (i = 1; i < (c->log_max_file > 0 ? c->log_max_file : CTR_LOG_MAX_FILE); i++) {
		snprintf(name, sizeof name, "log.%d", i);
		unlinkat(rfd, name, 0);
	}
}

static int ctr_log_open(struct ctr_log *l, int dirfd, const struct ctr *c)
{
	struct stat sb;
	l->dirfd = dirfd;
	l->max = c->log_max_size ? c->log_max_size : CTR_LOG_MAX_SIZE;
	l->max_file = c->log_max_file > 0 ? c->log_max_file : CTR_LOG_MAX_FILE;
	l->fd = openat(dirfd, "log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	l->size = l->fd >= 0 && fstat(l->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	return l->fd;
}

/* util_time_rfc3339 without stdio, gmtime or tables (Howard Hinnant's
 * civil_from_days): "2024-01-02T03:04:05.123456789Z". */
static CTR_HOT size_t ctr_log_stamp(char *out)
{
	struct timespec ts;
	long z, era, doe, yoe, doy, mp, v[7];
	int w, i, k;
	char *p = out;
	clock_gettime(CLOCK_REALTIME, &ts);
	z = (long)(ts.tv_sec / 86400) + 719468;
	v[5] = (long)(ts.tv_sec % 86400);
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	v[2] = doy - (153 * mp + 2) / 5 + 1;
	v[1] = mp < 10 ? mp + 3 : mp - 9;
	v[0] = yoe + era * 400 + (v[1] <= 2);
	v[3] = v[5] / 3600;
	v[4] = v[5] / 60 % 60;
	v[5] %= 60;
	v[6] = ts.tv_nsec;
	for (i = 0; i < 7; i++) {
		w = i == 0 ? 4 : i == 6 ? 9 : 2;
		for (k = w; k-- > 0; v[i] /= 10)
			p[k] = (char)('0' + v[i] % 10);
		p += w;
		*p++ = i < 2 ? '-' : i == 2 ? 'T' : i < 5 ? ':' : i == 5 ? '.' : 'Z';
	}
	return (size_t)(p - out);
}

/* Write out the records of one chunk of output: each line (or the piece
 * without newline at the end) gets its header; no copy, one writev for up
 * to 32 records. */
static CTR_HOT void ctr_log_write(struct ctr_log *l, char stream, const char *data, size_t len)
{
	char head[2][40], nlc = '\n';      /* not a literal: .rodata is a page of its own */
	struct iovec iov[96];
	size_t hl = ctr_log_stamp(head[0]), n, k = 0, sum = 0;
	int i;
	head[0][hl] = ' ';
	for (i = 0; i < (int)hl + 1; i++)
		head[1][i] = head[0][i];
	head[0][hl + 1] = stream;
	head[1][hl + 1] = (char)(stream - 32);
	while (len) {
		int nl;
		for (n = 0; n < len && data[n] != '\n'; n++) {}
		nl = n < len;
		if (k + 3 > sizeof iov / sizeof iov[0] || (l->size && l->size + sum + hl + 3 + n > l->max)) {
			if (k && writev(l->fd, iov, (int)k) > 0)
				l->size += sum;
			k = sum = 0;
			if (l->size && l->size + hl + 3 + n > l->max)
				ctr_log_rotate(l);
		}
		iov[k].iov_base = head[!nl];
		iov[k++].iov_len = hl + 2;
		iov[k].iov_base = (void *)data;
		iov[k++].iov_len = n;
		iov[k].iov_base = &nlc;
		iov[k++].iov_len = 1;
		sum += hl + 3 + n;
		data += n + (size_t)nl;
		len -= n + (size_t)nl;
	}
	if (k && writev(l->fd, iov, (int)k) > 0)
		l->size += sum;
}

/* ---- the owner ---- */

/* ---- health checks ----
 * The owner runs them: every interval a child `minirun exec ID CMD` (the
 * same binary, so the check meets the container exactly as `exec` does),
 * killed at the timeout. Its output comes back through a pipe the owner
 * reads: the first 4 KiB are kept and the rest read and dropped, as Docker
 * does, and the check (a process of the container, chosen by the image)
 * never holds a host file it could fill or fallocate. What Docker
 * shows (Status, FailingStreak, the last 5 results) goes to
 * rundir/ID/health.json for ps and inspect. */
#define HEALTH_LOG 5
#define HEALTH_OUT 4096                    /* Docker's maxOutputLen */
struct ctr_health {
	pid_t pid;                         /* the check running, 0: none */
	int fd;                            /* read end of its output pipe, -1: none */
	size_t len;                        /* bytes of out kept so far */
	char out[HEALTH_OUT + 1];
	int64_t due, deadline, born;       /* monotonic ns */
	int streak, timed_out, nlog;
	const char *status;                /* "starting", "healthy", "unhealthy" */
	char began[40];
	struct { char start[40], end[40], out[HEALTH_OUT + 1]; int code; } log[HEALTH_LOG];
};

struct ctr_owner {
	struct mr_store *st;
	struct ctr *c;
	struct ctr_spawn sp;
	int rfd, lockfd, dirfd;
	int detached, attach_stdin;
	int out, errp;                     /* monitor: the container's stdout/stderr */
	struct ctr_state state;
	struct timespec up;                /* monotonic start, for the back-off reset */
	struct ctr_log log;
	sigset_t waitmask;
	struct termios saved;
	int raw, trim;
	struct ctr_health *health;         /* NULL: no health check */
};

/* Docker's defaults for what a Healthcheck leaves at 0: 30 s, 3 retries. */
static int64_t ctr_health_ns(int64_t v)
{
	return v ? v : 30000000000LL;
}

static int ctr_health_retries(const struct ctr *c)
{
	return c->health_retries ? c->health_retries : 3;
}

static int64_t ctr_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void ctr_health_write(int rfd, const struct ctr_health *h)
{
	struct mr_buf b = { 0 };
	struct mr_jw w;
	struct mr_err ignored;
	int i;
	mr_jw_init(&w, &b, 0);
	mr_jw_obj(&w);
	ctr_jw_str(&w, "Status", h->status);
	ctr_jw_int(&w, "FailingStreak", h->streak);
	mr_jw_key(&w, "Log");
	mr_jw_arr(&w);
	for (i = 0; i < h->nlog; i++) {
		mr_jw_obj(&w);
		ctr_jw_str(&w, "Start", h->log[i].start);
		ctr_jw_str(&w, "End", h->log[i].end);
		ctr_jw_int(&w, "ExitCode", h->log[i].code);
		ctr_jw_str(&w, "Output", h->log[i].out);
		mr_jw_obj_end(&w);
	}
	mr_jw_arr_end(&w);
	mr_jw_obj_end(&w);
	if (!w.failed)
		ctr_write_file(rfd, "health.json", b.data, b.len, 0, &ignored);
	mr_buf_free(&b);
}

/* Start a check: the child becomes `minirun exec ID ...`. */
static void ctr_health_spawn(struct ctr_owner *o, struct ctr_health *h)
{
	const struct ctr *c = o->c;
	int shell = !strcmp(c->health_test.v[0], "CMD-SHELL");
	char **argv = util_xcalloc(c->health_test.n + 10, sizeof *argv);
	size_t n = 0, i;
	sigset_t none;
	int p[2];
	argv[n++] = "minirun";
	argv[n++] = "--root";
	argv[n++] = o->st->root;
	argv[n++] = "--run-dir";
	argv[n++] = o->st->rundir;
	argv[n++] = "exec";
	argv[n++] = (char *)c->id;
	if (shell) {
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
	}
	for (i = 1; i < c->health_test.n; i++)
		argv[n++] = (char *)c->health_test.v[i];
	ctr_now(h->began, sizeof h->began);
	h->timed_out = 0;
	h->deadline = ctr_mono_ns() + ctr_health_ns(c->health_timeout);
	h->len = 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(argv);
		h->due = ctr_mono_ns() + ctr_health_ns(c->health_interval);
		return;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	h->pid = fork();
	if (h->pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(125);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		isolate_close_all(-1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(p[1]);
	if (h->pid < 0) {
		h->pid = 0;
		close(p[0]);
	} else {
		h->fd = p[0];
	}
	free(argv);
}

/* Read what the check wrote: kept up to HEALTH_OUT bytes, the rest dropped
 * (read all the same, so a chatty check never blocks). At the end of the
 * output, or with `last` (the check ended), the pipe is closed. */
static void ctr_health_drain(struct ctr_health *h, int last)
{
	char drop[4096];
	ssize_t n;
	while (h->fd >= 0) {
		if (h->len < HEALTH_OUT)
			n = read(h->fd, h->out + h->len, HEALTH_OUT - h->len);
		else
			n = read(h->fd, drop, sizeof drop);
		if (n > 0 && h->len < HEALTH_OUT)
			h->len += (size_t)n;
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !last)
			return;
		close(h->fd);
		h->fd = -1;
	}
}

/* A check ended (status from waitpid): Docker's rules. Exit 0 healthy;
 * anything else a failure, counted unless inside the start period before
 * the first success; Retries failures in a row: unhealthy. */
static void ctr_health_done(struct ctr_owner *o, struct ctr_health *h, int status)
{
	const struct ctr *c = o->c;
	int code = h->timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1, i;
	int64_t now = ctr_mono_ns();
	if (h->nlog == HEALTH_LOG)
		memmove(&h->log[0], &h->log[1], sizeof h->log[0] * (HEALTH_LOG - 1)), h->nlog--;
	i = h->nlog++;
	snprintf(h->log[i].start, sizeof h->log[i].start, "%s", h->began);
	ctr_now(h->log[i].end, sizeof h->log[i].end);
	h->log[i].code = code;
	ctr_health_drain(h, 1);
	memcpy(h->log[i].out, h->out, h->len);
	h->log[i].out[h->len] = 0;
	if (h->timed_out) {
		long long t = ctr_health_ns(c->health_timeout) / 1000000;
		snprintf(h->log[i].out, sizeof h->log[i].out, "Health check exceeded timeout (%lld%s)",
			 t % 1000 ? t : t / 1000, t % 1000 ? "ms" : "s");
	}
	if (code == 0) {
		h->streak = 0;
		h->status = "healthy";
	} else if (strcmp(h->status, "starting") || now - h->born >= c->health_start) {
		if (++h->streak >= ctr_health_retries(c))
			h->status = "unhealthy";
	}
	h->pid = 0;
	h->due = now + ctr_health_ns(c->health_interval);
	ctr_health_write(o->rfd, h);
}

/* Before each wait: start a check that is due, kill one past its timeout;
 * the time to the next of those, for ppoll. */
static struct timespec *ctr_health_tick(struct ctr_owner *o, struct timespec *ts)
{
	struct ctr_health *h = o->health;
	int64_t now = ctr_mono_ns(), next;
	if (!h)
		return NULL;
	if (!h->pid && now >= h->due)
		ctr_health_spawn(o, h);
	if (h->pid && now >= h->deadline) {
		/* SIGTERM first: the exec client hands it to the command in the
		 * container; a second later SIGKILL to the client */
		kill(h->pid, h->timed_out ? SIGKILL : SIGTERM);
		h->deadline = now + 1000000000LL;
		h->timed_out = 1;
	}
	next = (h->pid ? h->deadline : h->due) - now;
	if (next < 1000000)
		next = 1000000;
	ts->tv_sec = (time_t)(next / 1000000000);
	ts->tv_nsec = (long)(next % 1000000000);
	return ts;
}

/* The container started: checks begin an interval later, "starting". */
static void ctr_health_begin(struct ctr_owner *o)
{
	struct ctr_health *h;
	if (!o->c->health_test.n || o->health || o->sp.is_exec)
		return;
	h = o->health = util_xcalloc(1, sizeof *h);
	h->fd = -1;
	h->born = ctr_mono_ns();
	h->due = h->born + ctr_health_ns(o->c->health_interval);
	h->status = "starting";
	ctr_health_write(o->rfd, h);
}

/* The container ended: a check still running is killed, the state goes. */
static void ctr_health_end(struct ctr_owner *o)
{
	if (!o->health)
		return;
	if (o->health->pid) {
		kill(o->health->pid, SIGKILL);
		while (waitpid(o->health->pid, NULL, 0) < 0 && errno == EINTR) {}
	}
	if (o->health->fd >= 0)
		close(o->health->fd);
	unlinkat(o->rfd, "health.json", 0);
	free(o->health);
	o->health = NULL;
}


/* Take the container: its rundir lock (exclusive, for the owner's life). */
static int ctr_owner_take(struct ctr_owner *o, int block, struct mr_err *err)
{
	o->rfd = ctr_rundir(o->st, o->c->id, 1);
	if (o->rfd < 0)
		return mr_err_sys(err, "container %s: run folder", o->c->name);
	o->lockfd = openat(o->rfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (o->lockfd < 0)
		return mr_err_sys(err, "container %s: lock", o->c->name);
	while (ctr_lock_take(o->lockfd, block) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EACCES)
			return mr_err_set(err, MR_EINUSE, "container %s is already running", o->c->name);
		return mr_err_sys(err, "container %s: lock", o->c->name);
	}
	/* it may have been removed while we waited */
	o->dirfd = ctr_dir(o->st, o->c->id, err);
	if (o->dirfd < 0)
		return mr_err_set(err, MR_ENOTFOUND, "No such container: %s", o->c->name);
	ctr_state_read(o->st, o->c->id, &o->state);
	return 0;
}

static void ctr_disown(struct ctr_owner *o)
{
	if (o->dirfd >= 0)
		close(o->dirfd);
	if (o->lockfd >= 0)
		close(o->lockfd);
	if (o->rfd >= 0)
		close(o->rfd);
	o->dirfd = o->lockfd = o->rfd = -1;
}

static void ctr_raw_restore(struct ctr_owner *o)
{
	if (o->raw)
		tcsetattr(0, TCSADRAIN, &o->saved);
	o->raw = 0;
}

/* Start one run of the container. 0 or an exit code (err set). */
static int ctr_owner_start(struct ctr_owner *o, struct mr_err *err)
{
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, devnull, code;
	struct ctr_rt rt;
	struct mr_err ignored;
	memset(&o->sp, 0, sizeof o->sp);
	o->sp.st = o->st;
	o->sp.c = o->c;
	o->out = o->errp = -1;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return mr_err_sys(err, "/dev/null"), 125;
	/* pipes in the foreground too: every container is logged, as in Docker */
	if (!o->c->tty && (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) {
		close(devnull);
		return mr_err_sys(err, "pipe"), 125;
	}
	o->sp.stdio[0] = !o->detached && o->attach_stdin ? 0 : devnull;
	o->sp.stdio[1] = out[1] >= 0 ? out[1] : devnull;
	o->sp.stdio[2] = errp[1] >= 0 ? errp[1] : devnull;
	unlinkat(o->rfd, "stop", 0);
	code = ctr_spawn(&o->sp, err);
	close(devnull);
	if (out[1] >= 0)
		close(out[1]), close(errp[1]);
	if (code) {
		if (out[0] >= 0)
			close(out[0]), close(errp[0]);
		return code;
	}
	o->out = out[0];
	o->errp = errp[0];
	if (o->out >= 0) {
		fcntl(o->out, F_SETFL, O_NONBLOCK);
		fcntl(o->errp, F_SETFL, O_NONBLOCK);
	}
	rt.pid = o->sp.pid;
	rt.start = ctr_pid_start(o->sp.pid);
	rt.monitor = getpid();
	rt.status = 'r';
	ctr_rt_write(o->rfd, &rt);
	o->state.running = 1;
	o->state.exit_code = 0;
	o->state.oom_killed = 0;
	o->state.error[0] = 0;
	ctr_now(o->state.started, sizeof o->state.started);
	ctr_state_write(o->st, o->c->id, &o->state, 0, &ignored);
	clock_gettime(CLOCK_MONOTONIC, &o->up);
	if (!o->detached && o->sp.pty >= 0 && o->attach_stdin && isatty(0) &&
	    tcgetattr(0, &o->saved) == 0) {
		struct termios raw = o->saved;
		cfmakeraw(&raw);
		o->raw = tcsetattr(0, TCSADRAIN, &raw) == 0;
	}
	return 0;
}

/* Copy what is readable on fd to its destination; -1 at its end. */
static CTR_HOT int ctr_owner_pump(struct ctr_owner *o, int fd, char stream)
{
	char buf[CTR_LOG_CHUNK];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	if (fd == 0)
		return util_write_all(o->sp.pty, buf, (size_t)n) < 0 ? -1 : 0;
	if (o->log.fd >= 0)
		ctr_log_write(&o->log, stream, buf, (size_t)n);
	/* a foreground run relays too; a reader gone (`| head`): the pipe is
	 * closed, so the container meets EPIPE as if it wrote there itself */
	if (!o->detached && util_write_all(stream == 'e' ? 2 : 1, buf, (size_t)n) < 0)
		return -1;
	return 0;
}

/* Pass signals on (a foreground CLI is a proxy for the container, like
 * docker's sig-proxy); a monitor asked to stop stops its container. */
static CTR_HOT void ctr_owner_signals(struct ctr_owner *o)
{
	int s;
	for (s = 1; s < _NSIG; s++) {
		if (!ctr_sig[s] || s == SIGCHLD)
			continue;
		ctr_sig[s] = 0;
		if (s == SIGWINCH) {
			struct winsize ws;
			if (o->sp.pty >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
				ioctl(o->sp.pty, TIOCSWINSZ, &ws);
			continue;
		}
		if (o->detached && (s == SIGTERM || s == SIGINT)) {
			int fd = openat(o->rfd, "stop", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (fd >= 0)
				close(fd);
			s = ctr_signal_parse(o->c->stop_signal);
			if (!s)
				s = SIGTERM;
		} else if (o->detached) {
			continue;
		}
		if (o->sp.pid > 0)
			kill(o->sp.pid, s);
	}
}

/* The read-only segment (code and constants) of this binary: the mapping
 * of /proc/self/maps that holds this very function. */
static uintptr_t ctr_text_start, ctr_text_end;

static void ctr_monitor_text(void)
{
	char buf[4096];
	uintptr_t here = (uintptr_t)ctr_monitor_text;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? util_read_full(fd, buf, sizeof buf - 1) : -1;
	char *p;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		unsigned long a, b;
		char *dash;
		a = strtoul(p, &dash, 16);
		b = *dash == '-' ? strtoul(dash + 1, NULL, 16) : 0;
		if (*dash == '-' && a <= here && here < b) {
			ctr_text_start = a;
			ctr_text_end = b;
		}
	}
}

/* Give back what only the set-up used: pages of code and constants (mapped
 * again from the page cache if ever needed) and the stack below what the
 * loop uses. Called from the loop itself, so that nothing outside CTR_HOT
 * runs afterwards. */
static CTR_HOT void ctr_monitor_trim(void)
{
	char here;
	uintptr_t sp = ((uintptr_t)&here & ~(uintptr_t)4095) - 4 * 4096, p;
	if (ctr_text_end > ctr_text_start)
		madvise((void *)ctr_text_start, ctr_text_end - ctr_text_start, MADV_DONTNEED);
	/* page by page: below the mapped stack the calls just fail */
	for (p = sp; p > sp - 32 * 4096; p -= 4096)
		madvise((void *)p, 4096, MADV_DONTNEED);
}

/* Wait for the container's init to end, relaying its output meanwhile.
 * Returns its wait status. */
static CTR_HOT int ctr_owner_wait(struct ctr_owner *o)
{
	int status = 0, in = o->sp.pty >= 0 && !o->detached && o->attach_stdin ? 0 : -1;
	int a = o->sp.pty >= 0 ? o->sp.pty : o->out, b = o->sp.pty >= 0 ? -1 : o->errp, done = 0;
	nfds_t i;
	if (o->trim)
		ctr_monitor_trim();
	ctr_health_begin(o);
	for (;;) {
		struct pollfd pf[4];
		struct timespec hts;
		nfds_t n = 0;
		/* a check due starts here, before its pipe is polled */
		struct timespec *to = done ? NULL : ctr_health_tick(o, &hts);
		int hfd = o->health && !done ? o->health->fd : -1;
		if (a >= 0)
			pf[n].fd = a, pf[n++].events = POLLIN;
		if (b >= 0)
			pf[n].fd = b, pf[n++].events = POLLIN;
		if (in >= 0 && !done)
			pf[n].fd = in, pf[n++].events = POLLIN;
		if (hfd >= 0)
			pf[n].fd = hfd, pf[n++].events = POLLIN;
		if (done) {
			/* drain what is left, without waiting for writers that
			 * survive the init (there are none: the namespace died) */
			struct timespec ts = { 0, 200000000 };
			if (!n || ppoll(pf, n, &ts, &o->waitmask) <= 0)
				break;
		} else if (ppoll(pf, n, to, &o->waitmask) <= 0) {
			pf[0].revents = pf[1].revents = pf[2].revents = pf[3].revents = 0;
		}
		ctr_owner_signals(o);
		if (!done && ctr_sig[SIGCHLD]) {
			pid_t p;
			int st;
			ctr_sig[SIGCHLD] = 0;
			while ((p = waitpid(-1, &st, WNOHANG)) > 0)
				if (p == o->sp.pid)
					done = 1, status = st;
				else if (o->health && p == o->health->pid)
					ctr_health_done(o, o->health, st);
			if (done) {
				ctr_health_end(o);
				if (ctr_ns_host(o->c->pid_mode))
					cg_kill_rest(o->c->id);
				continue;
			}
		}
		/* stdout before stderr when both are ready: the order in which
		 * a program mostly writes them (`logs` then keeps it) */
		for (i = 0; i < n; i++) {
			int fd = pf[i].fd;
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (fd == hfd) {
				if (o->health)
					ctr_health_drain(o->health, 0);
				continue;
			}
			if (ctr_owner_pump(o, fd, fd == b ? 'e' : 'o') < 0) {
				if (fd == in)
					in = -1;
				else if (fd == a)
					a = -1;
				else
					b = -1;
				if (fd == o->out || fd == o->errp) {
					close(fd);
					*(fd == o->out ? &o->out : &o->errp) = -1;
				}
			}
		}
	}
	ctr_raw_restore(o);
	return status;
}

/* Record an exit: state.json (durable unless --rm), cgroups removed. */
static void ctr_owner_exited(struct ctr_owner *o, int status)
{
	struct mr_err ignored;
	o->state.running = 0;
	o->state.exit_code = ctr_exit_code(status);
	o->state.oom_killed = cg_oom_killed(o->c->id);
	o->state.stopped_by_user = util_exists_at(o->rfd, "stop", 0);
	ctr_now(o->state.finished, sizeof o->state.finished);
	cg_remove(o->c->id);
	net_stop(o->st, o->c->id);
	if (o->out >= 0)
		close(o->out);
	if (o->errp >= 0)
		close(o->errp);
	if (o->sp.pty >= 0)
		close(o->sp.pty);
	o->out = o->errp = o->sp.pty = -1;
	unlinkat(o->rfd, "state", 0);
	/* an --rm container's record goes next: nothing to keep */
	if (!o->c->auto_remove)
		ctr_state_write(o->st, o->c->id, &o->state, 1, &ignored);
}

static void ctr_owner_failed(struct ctr_owner *o, int code, const struct mr_err *err)
{
	struct mr_err ignored;
	o->state.running = 0;
	o->state.exit_code = code;
	snprintf(o->state.error, sizeof o->state.error, "%s", err->msg);
	ctr_now(o->state.finished, sizeof o->state.finished);
	ctr_state_write(o->st, o->c->id, &o->state, !o->c->auto_remove, &ignored);
}

/* Remove a stopped container (its owner lock held by the caller, or free):
 * the record disappears by one rename into tmp/ under the store lock (the
 * cleaner removes it if we die), then its folders are deleted without ever
 * crossing a mount. */
static int ctr_remove(struct mr_store *st, const struct ctr *c, struct mr_err *err)
{
	char tmp[32 + CTR_ID_LEN], path[MINIRUN_MAX_PATH + 96];
	int fd, rfd, rc = 0;
	cg_remove(c->id);
	net_stop(st, c->id);
	snprintf(path, sizeof path, "%s/containers/%s/rootfs", st->root, c->id);
	umount2(path, MNT_DETACH);
	snprintf(tmp, sizeof tmp, "tmp/" STORE_TMP_PREFIX "rm-%s", c->id);
	snprintf(path, sizeof path, "containers/%s", c->id);
	if (mr_store_lock(st, err) < 0)
		return -1;
	fd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 ||
	    renameat(st->rootfd, path, st->rootfd, tmp) < 0) {
		rc = mr_err_sys(err, "remove container %s", c->name);
	} else {
		ctr_name_release(st, c->name, c->id);
		/* durable before rm returns: the power-cut test saw acknowledged
		 * removals come back (a --rm record was never durable: no fsync) */
		if (!c->auto_remove) {
			int cfd = openat(st->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (cfd >= 0) {
				fsync(cfd);
				close(cfd);
			}
		}
	}
	mr_store_unlock(st);
	if (!rc)
		rc = mr_remove_tree(st->rootfd, tmp, err);
	if (fd >= 0)
		close(fd);
	rfd = ctr_rundir(st, c->id, 0);
	if (rfd >= 0) {
		unlinkat(rfd, "state", 0);
		unlinkat(rfd, "stop", 0);
		unlinkat(rfd, "lock", 0);
		ctr_log_remove(rfd, c);
		close(rfd);
		snprintf(path, sizeof path, "%s/%s", st->rundir, c->id);
		rmdir(path);
	}
	return rc;
}

/* `rm -v`, `--rm`: the container's anonymous volumes go with it, unless
 * another container uses one too (volume_remove refuses). */
static void ctr_remove_volumes(struct mr_store *st, const struct ctr *c)
{
	struct mr_err err;
	size_t i;
	for (i = 0; i < c->nmnt; i++)
		if (c->mnt[i].type == MOUNT_VOLUME && c->mnt[i].anonymous &&
		    volume_remove(st, c->mnt[i].source, &err) < 0 && err.code != MR_ENOTFOUND &&
		    err.code != MR_EINUSE)
			util_print_err(&err);
}

/* The monitor: runs, logs and restarts the container until it stops for
 * good. report >= 0: tell the CLI how the first start went ("0" or "CODE
 * message"). delay_ms > 0: a restart handed over by a foreground run. */
static int ctr_monitor(struct mr_store *st, struct ctr *c, int report, unsigned delay_ms,
		       int restarts)
{
	struct ctr_owner o;
	struct mr_err err;
	unsigned backoff = delay_ms;
	int code, status;
	memset(&o, 0, sizeof o);
	memset(&err, 0, sizeof err);
	o.st = st;
	o.c = c;
	o.detached = 1;
	o.dirfd = o.lockfd = o.rfd = -1;
	ctr_signals_catch(&o.waitmask);
	if (ctr_owner_take(&o, delay_ms > 0, &err) < 0) {
		code = err.code == MR_EINUSE ? 0 : 125;
		goto report;
	}
	/* location=ram: rundir/ID is on tmpfs, so a chatty container does not
	 * wear the flash the store is on (the logs are gone after a reboot) */
	if (ctr_log_open(&o.log, c->log_ram ? o.rfd : o.dirfd, c) < 0) {
		code = (mr_err_sys(&err, "container %s: log", c->name), 125);
		goto report;
	}
	o.state.restart_count = restarts;
	for (;;) {
		if (backoff && report < 0) {
			struct ctr_rt rt = { 0, 0, getpid(), 'R' };
			struct timespec ts = { backoff / 1000, (long)(backoff % 1000) * 1000000 };
			ctr_rt_write(o.rfd, &rt);
			while (ppoll(NULL, 0, &ts, &o.waitmask) < 0 && !ctr_sig[SIGTERM] && !ctr_sig[SIGINT]) {}
			if (ctr_sig[SIGTERM] || ctr_sig[SIGINT] || util_exists_at(o.rfd, "stop", 0))
				break;
		}
		code = ctr_owner_start(&o, &err);
		if (report >= 0) {
			char msg[sizeof err.msg + 8];
			int n = snprintf(msg, sizeof msg, "%d %s", code, code ? err.msg : "");
			if (util_write_all(report, msg, (size_t)n) < 0) { /* the CLI is gone */ }
			close(report);
			report = -1;
			if (code) {
				ctr_owner_failed(&o, code, &err);
				break;
			}
			ctr_monitor_text();
			o.trim = 1;
		}
		if (code) {
			/* a restart that fails counts as an exit of that code */
			ctr_owner_failed(&o, code, &err);
			status = code << 8;
			backoff = ctr_backoff_next(backoff, 0);
		} else {
			struct timespec now;
			status = ctr_owner_wait(&o);
			ctr_owner_exited(&o, status);
			clock_gettime(CLOCK_MONOTONIC, &now);
			backoff = ctr_backoff_next(backoff, (unsigned long)(now.tv_sec - o.up.tv_sec) * 1000);
		}
		if (!ctr_restart_wanted(c, ctr_exit_code(status), o.state.restart_count,
					o.state.stopped_by_user || ctr_sig[SIGTERM]))
			break;
		o.state.restart_count++;
	}
	if (c->auto_remove) {
		if (ctr_remove(st, c, &err) < 0)
			ctr_log_write(&o.log, 'e', err.msg, strlen(err.msg));
		else
			ctr_remove_volumes(st, c);
	}
	if (o.log.fd >= 0)
		close(o.log.fd);
	ctr_disown(&o);
	return 0;
report:
	if (report >= 0) {
		char msg[sizeof err.msg + 8];
		int n = snprintf(msg, sizeof msg, "%d %s", code, err.msg);
		if (util_write_all(report, msg, (size_t)n) < 0) { /* the CLI is gone */ }
		close(report);
	}
	ctr_disown(&o);
	return code;
}

/* Fork a monitor for the container (double fork, new session, minirun
 * re-executed as `__monitor` so that it carries none of this process's
 * memory) and wait for its report on the first start. 0 or an exit code. */
static int ctr_start_detached(struct mr_store *st, struct ctr *c, unsigned delay_ms, int restarts,
			      struct mr_err *err)
{
	int p[2], code = 125;
	pid_t pid;
	char buf[sizeof err->msg + 16];
	ssize_t n;
	if (pipe2(p, O_CLOEXEC) < 0)
		return mr_err_sys(err, "pipe"), 125;
	pid = fork();
	if (pid == 0) {
		char fdstr[16], delay[16], rs[16];
		char *argv[] = { "minirun", "--root", st->root, "--run-dir", st->rundir, "__monitor",
				 c->id, fdstr, delay, rs, NULL };
		int nul = open("/dev/null", O_RDWR);
		setsid();
		if (fork() != 0)
			_exit(0);
		if (nul >= 0) {
			dup2(nul, 0), dup2(nul, 1), dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
		snprintf(fdstr, sizeof fdstr, "%d", delay_ms ? -1 : p[1]);
		snprintf(delay, sizeof delay, "%u", delay_ms);
		snprintf(rs, sizeof rs, "%d", restarts);
		/* a daemon: nothing of the caller's (a pipe of a test harness, a
		 * terminal) stays open in it */
		isolate_close_all(delay_ms ? -1 : p[1]);
		if (!delay_ms)
			fcntl(p[1], F_SETFD, 0);
		execv("/proc/self/exe", argv);
		_exit(125);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return mr_err_sys(err, "fork a monitor"), 125;
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
	if (delay_ms) {
		close(p[0]);
		return 0;
	}
	n = util_read_full(p[0], buf, sizeof buf - 1);
	close(p[0]);
	if (n <= 0)
		return mr_err_set(err, ECHILD, "container %s: its monitor died before starting it",
				  c->name), 125;
	buf[n] = 0;
	code = atoi(buf);
	if (code)
		mr_err_set(err, MR_EINVAL_INPUT, "%s", strchr(buf, ' ') ? strchr(buf, ' ') + 1 : buf);
	return code;
}

/* Foreground run (`run` without -d, `start -a`): this process owns the
 * container. Returns the container's exit code (or 125/126/127). */
static int ctr_run_attached(struct mr_store *st, struct ctr *c, int attach_stdin, struct mr_err *err)
{
	struct ctr_owner o;
	int code, status, restart;
	memset(&o, 0, sizeof o);
	o.st = st;
	o.c = c;
	o.attach_stdin = attach_stdin;
	o.dirfd = o.lockfd = o.rfd = o.log.fd = -1;
	ctr_signals_catch(&o.waitmask);
	if (ctr_owner_take(&o, 0, err) < 0) {
		ctr_disown(&o);
		return 125;
	}
	if (ctr_log_open(&o.log, o.dirfd, c) < 0) {
		mr_err_sys(err, "container %s: log", c->name);
		ctr_disown(&o);
		return 125;
	}
	code = ctr_owner_start(&o, err);
	if (code) {
		close(o.log.fd);
		ctr_owner_failed(&o, code, err);
		if (c->auto_remove) {
			struct mr_err ignored;
			if (ctr_remove(st, c, &ignored) == 0)
				ctr_remove_volumes(st, c);
		}
		ctr_disown(&o);
		return code;
	}
	status = ctr_owner_wait(&o);
	close(o.log.fd);
	ctr_owner_exited(&o, status);
	code = o.state.exit_code;
	restart = ctr_restart_wanted(c, code, 0, o.state.stopped_by_user);
	if (c->auto_remove) {
		if (ctr_remove(st, c, err) < 0)
			util_print_err(err);
		else
			ctr_remove_volumes(st, c);
	}
	ctr_disown(&o);
	sigprocmask(SIG_SETMASK, &o.waitmask, NULL);
	/* the restart policy goes on in the background, as Docker's daemon does */
	if (restart && ctr_start_detached(st, c, 100, 1, err) != 0)
		util_print_err(err);
	return code;
}

/* Create a container from its resolved configuration: the folder is made
 * under tmp/ (removed by the next store open if we die), then, under the
 * store lock, its name is claimed and it is renamed into containers/.
 * A generated name that is taken is drawn again. */
static int ctr_create(struct mr_store *st, struct ctr *c, int explicit_name, struct mr_err *err)
{
	char tmp[64], path[32 + CTR_ID_LEN];
	int tfd, rc, tries = 0, cfd;
	tfd = mr_store_mktemp(st, "ctr", tmp, sizeof tmp, err);
	if (tfd < 0)
		return -1;
	rc = rootfs_create(st, c, &c->layers, tfd, err);
	if (!rc)
		rc = ctr_save(st, c, tfd, err);
	if (!rc && c->net_conf.len)
		rc = ctr_write_file(tfd, "net.conf", c->net_conf.data, c->net_conf.len,
				    !c->auto_remove, err);
	if (rc < 0) {
		mr_err_ctx(err, "create container");
		goto fail;
	}
	if (mr_store_lock(st, err) < 0)
		goto fail;
	while ((rc = ctr_name_claim(st, c->name, c->id, err)) < 0 && !explicit_name &&
	       err->code == MR_EEXIST && tries++ < 32) {
		ctr_name_generate(c->name, sizeof c->name);
		if (tries > 8) {
			size_t n = strlen(c->name);
			snprintf(c->name + n, sizeof c->name - n, "%d", tries);
		}
		if (ctr_save(st, c, tfd, err) < 0)
			break;
	}
	snprintf(path, sizeof path, "containers/%s", c->id);
	if (!rc && renameat(st->rootfd, tmp, st->rootfd, path) < 0) {
		rc = mr_err_sys(err, "create container %s", c->name);
		ctr_name_release(st, c->name, c->id);
	}
	mr_store_unlock(st);
	if (rc < 0)
		goto fail;
	if (!c->auto_remove && (cfd = openat(st->rootfd, "containers", O_RDONLY | O_DIRECTORY |
					     O_CLOEXEC)) >= 0) {
		mr_fsync_dir(cfd, err);
		close(cfd);
	}
	close(tfd);
	return 0;
fail:
	{
		struct mr_err ignored;
		mr_remove_tree(st->rootfd, tmp, &ignored);
	}
	close(tfd);
	return -1;
}
/* ======================== END src/17_monitor.c ======================== */

/* ======================== BEGIN src/18_exec.c ======================== */
#line 1 "src/18_exec.c"
/* ==== [18] EXEC: another process in a running container; cp in and out ====
 * `exec` joins the namespaces of the container's init (one setns() on a
 * pidfd where the kernel has it, else the files of /proc/PID/ns), forks so that the new
 * process is inside its PID namespace, joins its cgroups, then takes the same
 * last steps as the init ([17] ctr_child_finish): user, capabilities,
 * no_new_privs, descriptors, exec on the container's PATH.
 * Unlike the init's, this process is visible to the container before it
 * execs; like every command that enters a container, `exec` runs from a
 * sealed memfd copy of minirun: /proc/PID/exe then names a copy nobody can
 * write (CVE-2019-5736). */

/* Is this process already running from a sealed copy (a memfd whose write,
 * grow, shrink and seal seals are set)? Then /proc/self/exe names a file no
 * one can change, and re-executing it stays sealed. */
static int exec_self_sealed(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), seals;
	const int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
	if (fd < 0)
		return 0;
	seals = fcntl(fd, F_GET_SEALS);
	close(fd);
	return seals >= 0 && (seals & want) == want;
}

/* Was minirun loaded as the ELF interpreter of another program (a hostile
 * image's binary naming /proc/self/exe as its interpreter)? Then it was
 * mapped from the sealed copy already, and /proc/self/exe is that program,
 * not minirun: copying it would be wrong. The kernel's AT_PHDR points at the
 * main program's headers, ours only when we are the program. */
static int exec_is_interpreter(void)
{
	extern const ElfW(Ehdr) __ehdr_start __attribute__((weak));
	const ElfW(Ehdr) *eh = &__ehdr_start;
	return eh && getauxval(AT_PHDR) != (unsigned long)eh + eh->e_phoff;
}

/* Re-execute this command from a sealed in-memory copy of the binary, as runc
 * does (CVE-2019-5736): every process minirun puts into a container is then a
 * clone of that copy, so /proc/PID/exe, #!/proc/self/exe and an ELF whose
 * interpreter is /proc/self/exe all reach a file nobody can write, never the
 * host's binary. Done once: a sealed process (and what it re-executes through
 * /proc/self/exe: monitors, health checks) keeps the same copy. Returns only
 * when that is impossible (no memfd: pre-3.17 kernels), leaving non-dumpable
 * and the entrypoint check as the protection. */
static void exec_sealed_self(char **argv)
{
	char buf[16384];
	int src, mfd;
	ssize_t n;
	if (!argv || !argv[0] || exec_is_interpreter() || exec_self_sealed())
		return;
	src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	mfd = src < 0 ? -1 : memfd_create("minirun", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd >= 0) {
		/* sendfile copies in the kernel (one call for the whole binary);
		 * read/write where it cannot */
		while ((n = sendfile(mfd, src, NULL, 1 << 30)) > 0) {}
		if (n < 0 && lseek(mfd, 0, SEEK_END) == 0)
			while ((n = read(src, buf, sizeof buf)) > 0)
				if (util_write_all(mfd, buf, (size_t)n) < 0)
					break;
		if (n < 0) {
			close(mfd);
			mfd = -1;
		}
	}
	if (src >= 0)
		close(src);
	if (mfd < 0 || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
			     F_SEAL_SEAL) < 0) {
		if (mfd >= 0)
			close(mfd);
		return;
	}
	fexecve(mfd, argv, environ);
	close(mfd);
}

/* setns into every namespace of the running init, checking that the pid is
 * still that process once a handle on it is held. Then into the container's
 * root: setns(CLONE_NEWNS) leaves us at the root of the namespace's root
 * mount, which is the container's root only when minirun's own root was its
 * namespace's root. Under a chroot (a build root, a fresh-check) the
 * container's pivot_root moved the chroot's mount, not the namespace's root,
 * and we would land in the host's "/" of the container's namespace. */
static int exec_join(pid_t pid, unsigned long long start, struct mr_err *err)
{
	static const char names[] = "cgroup\0ipc\0uts\0net\0pid\0mnt\0";
	static const int types[] = { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
				     CLONE_NEWPID, CLONE_NEWNS };
	int fds[6], i, rc = 0, rootfd;
	const char *n;
	char path[48];
	snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return mr_err_sys(err, "root of pid %d", (int)pid);
#ifdef SYS_pidfd_open
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		if (ctr_pid_start(pid) != start) {
			close(pfd);
			rc = mr_err_set(err, ESRCH, "the container stopped");
			goto out;
		}
		i = setns(pfd, CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
			  CLONE_NEWPID | CLONE_NEWNS);
		close(pfd);
		if (i == 0)
			goto out;
		/* EINVAL: a kernel before 5.8 takes only namespace fds */
	}
#endif
	for (i = 0, n = names; *n; i++, n += strlen(n) + 1) {
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, n);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (ctr_pid_start(pid) != start)
		rc = mr_err_set(err, ESRCH, "the container stopped");
	for (i = 0, n = names; *n; i++, n += strlen(n) + 1) {
		if (!rc && fds[i] < 0 && (i || errno != ENOENT))
			rc = mr_err_sys(err, "namespace %s of pid %d", n, (int)pid);
		if (!rc && fds[i] >= 0 && setns(fds[i], types[i]) < 0)
			rc = mr_err_sys(err, "join namespace %s", n);
		if (fds[i] >= 0)
			close(fds[i]);
	}
out:
	if (!rc && (fchdir(rootfd) < 0 || chroot(".") < 0))
		rc = mr_err_sys(err, "enter the root of pid %d", (int)pid);
	close(rootfd);
	return rc;
}

struct exec_opts {
	const char *user, *workdir;
	struct ctr_list env, cmd;
	int detach, interactive, tty, privileged;
};

/* Run opts->cmd in the running container c (init pid, start time). Returns
 * the command's exit code, or 125/126/127 with err set. */
static int exec_run(struct mr_store *st, struct ctr *c, pid_t pid, unsigned long long start,
		    const struct exec_opts *opts, struct mr_err *err)
{
	struct ctr_owner o;
	int sv[2], cgfds[8], ncg, devnull, code = 0, i;
	pid_t child;
	memset(&o, 0, sizeof o);
	o.st = st;
	o.c = c;
	o.dirfd = o.lockfd = o.rfd = o.out = o.errp = -1;
	o.attach_stdin = opts->interactive;
	o.sp.st = st;
	o.sp.c = c;
	o.sp.is_exec = 1;
	o.sp.pty = o.sp.pty_slave = -1;
	c->init = 0;
	c->tty = (unsigned char)opts->tty;
	if (isolate_caps_resolve(c, &o.sp.caps, err) < 0)
		return 125;
	if (opts->privileged)
		o.sp.caps = ISOLATE_CAPS_ALL;
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* before setns: the container's /proc has no "self" for this process */
	o.sp.exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	ncg = cg_open_procs(c->id, cgfds, 8);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || exec_join(pid, start, err) < 0) {
		code = 125;
		goto out;
	}
	o.sp.rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (opts->tty) {
		int unlock = 0, n = 0;
		char path[24];
		o.sp.pty = mr_open_in_root(o.sp.rootfd, "dev/pts/ptmx", O_RDWR | O_NOCTTY, 0, err);
		if (o.sp.pty < 0 || ioctl(o.sp.pty, TIOCSPTLCK, &unlock) < 0 ||
		    ioctl(o.sp.pty, TIOCGPTN, &n) < 0) {
			if (o.sp.pty < 0)
				mr_err_ctx(err, "pty");
			else
				mr_err_sys(err, "pty");
			code = 125;
			goto out;
		}
		snprintf(path, sizeof path, "dev/pts/%d", n);
		o.sp.pty_slave = mr_open_in_root(o.sp.rootfd, path, O_RDWR | O_NOCTTY, 0, err);
		if (o.sp.pty_slave < 0) {
			code = 125;
			goto out;
		}
		{
			struct winsize ws;
			if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0)
				ioctl(o.sp.pty, TIOCSWINSZ, &ws);
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		code = (mr_err_sys(err, "socketpair"), 125);
		goto out;
	}
	ctr_signals_catch(&o.waitmask);
	child = fork();
	if (child == 0) {
		struct sigaction sa;
		sigset_t none;
		int s;
		close(sv[0]);
		o.sp.sync = sv[1];
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		for (s = 1; s < _NSIG; s++)
			sigaction(s, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (i = 0; i < ncg; i++)
			if (write(cgfds[i], "0", 1) < 0) { /* a vanished cgroup: stay outside */ }
		setsid();
		if (o.sp.pty_slave >= 0) {
			if (ioctl(o.sp.pty_slave, TIOCSCTTY, 0) < 0)
				mr_err_sys(err, "controlling terminal"), ctr_child_fail(&o.sp, 125, err);
			for (i = 0; i < 3; i++)
				dup2(o.sp.pty_slave, i);
		} else {
			if (!opts->interactive || opts->detach)
				dup2(devnull, 0);
			if (opts->detach)
				dup2(devnull, 1), dup2(devnull, 2);
		}
		code = ctr_child_finish(&o.sp, opts->user, opts->workdir, &opts->cmd, &opts->env, err);
		mr_err_ctx(err, "exec in container %s", c->name);
		ctr_child_fail(&o.sp, code, err);
	}
	close(sv[1]);
	if (o.sp.pty_slave >= 0)
		close(o.sp.pty_slave);
	o.sp.pty_slave = -1;
	if (child < 0) {
		close(sv[0]);
		code = (mr_err_sys(err, "fork"), 125);
		goto out;
	}
	o.sp.pid = child;
	o.sp.sync = sv[0];
	{
		int pty = o.sp.pty;
		code = ctr_spawn_wait(&o.sp, err);
		o.sp.pty = pty;
	}
	close(sv[0]);
	if (code) {
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
		goto out;
	}
	if (opts->detach)
		goto out;
	if (o.sp.pty >= 0 && opts->interactive && isatty(0) && tcgetattr(0, &o.saved) == 0) {
		struct termios raw = o.saved;
		cfmakeraw(&raw);
		o.raw = tcsetattr(0, TCSADRAIN, &raw) == 0;
	}
	code = ctr_exit_code(ctr_owner_wait(&o));
out:
	for (i = 0; i < ncg; i++)
		close(cgfds[i]);
	if (devnull >= 0)
		close(devnull);
	if (o.sp.pty >= 0)
		close(o.sp.pty);
	if (o.sp.pty_slave >= 0)
		close(o.sp.pty_slave);
	return code;
}
/* ---- cp: files in and out of a container ----
 * The container's side of a copy runs in a child that sees the container's
 * files as the container does: the mount namespace of a running container
 * (joined as exec joins it), or, for a stopped one, a private namespace where
 * its root, volumes and binds are mounted as at start, gone with the child.
 * The two sides speak tar over a pipe: the source writes the object under
 * its last name (or the folder's contents for "SRC/."), the destination
 * extracts it with the layer extractor's hostile-safe code ([07]), renamed
 * by Docker's rules. Container paths are resolved inside the root fd
 * (RESOLVE_IN_ROOT) and everything after that works on fds. */

struct cp_opts {
	const char *ctr;                /* the container's name, for messages */
	int archive, follow;            /* -a, -L */
	uid_t uid;                      /* owner of what is written without -a */
	gid_t gid;
};

/* path in the container's root (rootfd >= 0) or on the host. */
static int cp_open(int rootfd, const char *path, int flags, struct mr_err *err)
{
	int fd;
	if (rootfd >= 0)
		return mr_open_in_root(rootfd, path, flags, 0, err);
	fd = open(*path ? path : ".", flags | O_CLOEXEC);
	return fd < 0 ? mr_err_sys(err, "%s", path) : fd;
}

/* The folder of path (no trailing slash), opened; *base its last name. */
static int cp_parent(int rootfd, char *path, const char **base, struct mr_err *err)
{
	char *slash = strrchr(path, '/');
	int fd;
	if (!slash) {
		*base = path;
		return cp_open(rootfd, ".", O_RDONLY | O_DIRECTORY, err);
	}
	*base = slash + 1;
	*slash = 0;
	fd = cp_open(rootfd, slash == path ? "/" : path, O_RDONLY | O_DIRECTORY, err);
	*slash = '/';
	return fd;
}

/* Drop trailing slashes (1 when there were some). */
static int cp_strip(char *p)
{
	size_t n = strlen(p);
	int slash = 0;
	while (n > 1 && p[n - 1] == '/')
		p[--n] = 0, slash = 1;
	return slash;
}

/* The source side: src as a tar on out (its contents for "/.", the root,
 * "." or ".."), -L following symlinks of its last name (inside the root). */
static int cp_send(int rootfd, const char *src, const struct cp_opts *o, int out,
		   struct mr_err *err)
{
	char p[MINIRUN_MAX_PATH], t[MINIRUN_MAX_PATH];
	struct tar_w *w = util_xcalloc(1, sizeof *w);
	struct stat st;
	const char *base;
	int pfd = -1, rc = -1, links = 0, slash, contents;
	ssize_t n;
	if (util_strlcpy(p, src, sizeof p) < 0) {
		mr_err_set(err, ENAMETOOLONG, "%s: path too long", src);
		goto out;
	}
	slash = cp_strip(p);
	for (;;) {
		/* never ".." from a folder fd: the root's would be outside */
		base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
		contents = !*base || !strcmp(base, ".") || !strcmp(base, "..");
		if (!links)
			snprintf(w->path, sizeof w->path, "%s", contents ? "" : base);
		pfd = contents ? cp_open(rootfd, p, O_RDONLY | O_DIRECTORY, err) :
		      cp_parent(rootfd, p, &base, err);
		if (contents)
			base = ".";
		if (pfd < 0 || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW)) {
			if (pfd >= 0 || err->code == ENOENT) {
				if (rootfd >= 0)
					mr_err_set(err, ENOENT, "Could not find the file %s in container %s",
						   src, o->ctr);
				else
					mr_err_set(err, ENOENT, "lstat %s: no such file or directory", src);
			}
			goto out;
		}
		/* "LINK/" means the folder it points to, as with -L */
		if ((!o->follow && !slash) || !S_ISLNK(st.st_mode))
			break;
		n = readlinkat(pfd, base, t, sizeof t - 1);
		if (n <= 0 || ++links > MINIRUN_MAX_SYMLINKS) {
			mr_err_set(err, ELOOP, "%s: cannot follow the symbolic link", src);
			goto out;
		}
		t[n] = 0;
		/* the target replaces the last name (or the whole path) */
		if (t[0] == '/' || !strrchr(p, '/'))
			snprintf(p, sizeof p, "%s", t);
		else
			snprintf(strrchr(p, '/') + 1, sizeof p - (size_t)(strrchr(p, '/') + 1 - p), "%s", t);
		cp_strip(p);
		close(pfd);
	}
	if (slash && !S_ISDIR(st.st_mode)) {
		mr_err_set(err, ENOTDIR, "%s: not a directory", src);
		goto out;
	}
	w->out = out;
	w->buf = util_xmalloc(TAR_BUF);
	rc = tar_w_tree(w, pfd, base, err);
	memset(w->buf, 0, 1024);
	if (!rc && util_write_all(out, w->buf, 1024))
		rc = mr_err_sys(err, "write");
out:
	if (pfd >= 0)
		close(pfd);
	tar_w_free(w);
	return rc;
}

/* The first name of path, from, becomes to ("" from: to is put in front). */
static int cp_rebase(char *path, const char *from, const char *to)
{
	char t[MINIRUN_MAX_PATH];
	size_t fl = strlen(from);
	if (strncmp(path, from, fl) || (fl && path[fl] && path[fl] != '/') ||
	    snprintf(t, sizeof t, "%s%s%s", to, !fl && *path ? "/" : "", path + fl) >= (int)sizeof t)
		return -1;
	memcpy(path, t, strlen(t) + 1);
	return 0;
}

/* The destination side: the tar on in, extracted at dst by Docker's rules:
 * into dst when it is a folder, else as dst (a file replaced, a folder
 * created); its first entry tells a folder from a file. raw (`cp -`): the
 * archive as it is, into the folder dst. */
static int cp_receive(int rootfd, const char *dst, const struct cp_opts *o, int raw, int in,
		      struct mr_err *err)
{
	char p[MINIRUN_MAX_PATH], from[MINIRUN_MAX_PATH];
	const char *to = NULL;
	struct stream_fd sf;
	struct stream_decomp dec;       /* `cp -` takes gzip and zstd too, as Docker does */
	struct tar_reader r;
	struct tar_entry *e = util_xmalloc(sizeof *e);
	struct tar_x *x = util_xcalloc(1, sizeof *x);
	int rc = -1, slash;
	x->root = x->dfd = -1;
	x->plain = 1;
	x->buf = util_xmalloc(TAR_BUF);
	stream_fd_init(&sf, in);
	stream_decomp_init(&dec, &sf.s, err);
	tar_reader_init(&r, &dec.s);
	if (util_strlcpy(p, dst, sizeof p) < 0) {
		mr_err_set(err, ENAMETOOLONG, "%s: path too long", dst);
		goto out;
	}
	slash = cp_strip(p);
	if (raw && (x->root = cp_open(rootfd, p, O_RDONLY | O_DIRECTORY, err)) < 0)
		goto out;
	while ((rc = tar_next(&r, e, err)) > 0) {
		if (x->root < 0) {
			int isdir = e->type == TAR_DIR;
			snprintf(from, sizeof from, "%s", e->path);
			x->root = cp_open(rootfd, p, O_RDONLY | O_DIRECTORY, err);
			rc = -1;
			if (x->root < 0 && err->code != ENOENT && err->code != ENOTDIR)
				goto out;
			if (x->root < 0 && slash) {
				mr_err_set(err, err->code, err->code == ENOENT ? "%s: no such directory" :
					   "%s: not a directory", dst);
				goto out;
			}
			if (x->root < 0 && isdir && err->code == ENOTDIR) {
				mr_err_set(err, ENOTDIR, "cannot copy a directory onto the file %s", dst);
				goto out;
			}
			if (x->root < 0 && (x->root = cp_parent(rootfd, p, &to, err)) < 0)
				goto out;
			if (to && (!*to || !strcmp(to, ".") || !strcmp(to, ".."))) {
				mr_err_set(err, EINVAL, "%s: not a name to copy to", dst);
				goto out;
			}
		}
		rc = -1;
		if (to && (cp_rebase(e->path, from, to) || (e->type == TAR_LINK && cp_rebase(e->link, from, to)))) {
			mr_err_set(err, MR_EINVAL_INPUT, "entry %s: outside %s", e->path, from);
			break;
		}
		if (!o->archive) {
			e->uid = o->uid;
			e->gid = o->gid;
		}
		if (tar_x_entry(x, &r, e, err)) {
			mr_err_ctx(err, "copy %s", e->path[0] ? e->path : ".");
			break;
		}
	}
	tar_x_leave(x);
	if (rc == 0)
		rc = stream_skip(&dec.s, UINT64_MAX, err);
out:
	tar_reader_end(&r);
	stream_decomp_end(&dec);
	if (x->root >= 0)
		close(x->root);
	free(x->buf);
	free(x);
	free(e);
	return rc;
}

/* Copy src to dst, one of them in c (to_ctr: dst). Returns the exit code
 * (0, or 125 after printing the error). */
static int cp_run(struct mr_store *st, struct ctr *c, const char *src, const char *dst,
		  int to_ctr, const struct cp_opts *o, struct mr_err *err)
{
	struct ctr_owner ow;
	struct ctr_info ci;
	int pfd[2], rc = 0, status = 0, code = 125, in = !strcmp(src, "-"), out = !strcmp(dst, "-");
	pid_t child;
	memset(&ow, 0, sizeof ow);
	ow.st = st;
	ow.c = c;
	ow.dirfd = ow.lockfd = ow.rfd = -1;
	ctr_info_get(st, c->id, &ci);
	/* stopped: keep it so (a start would mount the same upper folder) */
	if (ci.status != CTR_RUNNING && ctr_owner_take(&ow, 0, err) < 0 &&
	    (ctr_info_get(st, c->id, &ci), ci.status != CTR_RUNNING))
		goto fail;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		mr_err_sys(err, "pipe");
		goto fail;
	}
	signal(SIGPIPE, SIG_IGN);
	child = fork();
	if (child == 0) {
		struct ctr_spawn sp;
		char root[MINIRUN_MAX_PATH + 64];
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		/* the host side gave up: end quietly, it says why */
		signal(SIGPIPE, SIG_DFL);
		close(pfd[to_ctr ? 1 : 0]);
		memset(&sp, 0, sizeof sp);
		sp.st = st;
		sp.c = c;
		snprintf(sp.dir, sizeof sp.dir, "%s/containers/%s", st->root, c->id);
		snprintf(root, sizeof root, "%s/rootfs", sp.dir);
		if (ci.status == CTR_RUNNING) {
			/* its root is ours now; -1 would mean "the host" below */
			if (!(rc = exec_join(ci.pid, ci.pid_start, err)) &&
			    (sp.rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
				rc = mr_err_sys(err, "open the container's root");
		} else if (unshare(CLONE_NEWNS) < 0) {
			rc = mr_err_sys(err, "mount namespace");
		} else if (!(rc = rootfs_mount_root(&sp, &c->layers, err)) &&
			   !(rc = rootfs_user_mounts(&sp, err)) && c->readonly &&
			   mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
			rc = mr_err_sys(err, "remount the root read-only");
		}
		if (!rc)
			rc = to_ctr ? cp_receive(sp.rootfd, dst, o, in, in ? 0 : pfd[0], err) :
			     cp_send(sp.rootfd, src, o, out ? 1 : pfd[1], err);
		if (rc && !util_starts_with(err->msg, "Could not find"))
			mr_err_ctx(err, "container %s", o->ctr);
		if (rc)
			util_print_err(err);
		_exit(rc ? 125 : 0);
	}
	close(pfd[to_ctr ? 0 : 1]);
	if (child < 0)
		rc = mr_err_sys(err, "fork");
	else if (to_ctr && !in)
		rc = cp_send(-1, src, o, pfd[1], err);
	else if (!to_ctr && !out)
		rc = cp_receive(-1, dst, o, 0, pfd[0], err);
	close(pfd[to_ctr ? 1 : 0]);
	if (child > 0) {
		/* the host's source failed: end the other side before it takes the
		 * cut archive for an error of its own */
		if (rc && to_ctr)
			kill(child, SIGKILL);
		while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
		if (WIFEXITED(status) && WEXITSTATUS(status)) {
			code = WEXITSTATUS(status);        /* the child said why */
			goto out;
		}
		if (!rc && !WIFEXITED(status))
			rc = mr_err_set(err, EINTR, "copy: killed by signal %d", WTERMSIG(status));
	}
	if (!rc) {
		code = 0;
		goto out;
	}
fail:
	util_print_err(err);
out:
	ctr_disown(&ow);
	return code;
}
/* ======================== END src/18_exec.c ======================== */

/* ======================== BEGIN src/19_net.c ======================== */
#line 1 "src/19_net.c"
/* ==== [19] NET: bridge, veth, addresses, networks, masquerade, published ports ====
 * --network bridge (the default): one Linux bridge minirun0 holding the
 * gateway address (10.88.0.1/16 unless MINIRUN_SUBNET or root/network.json
 * say otherwise), and per running container a veth pair: mr<short id> on the
 * bridge, eth0 in the container with the lowest free address and a default
 * route. `network create NAME` networks work the same on a bridge of their
 * own, mr-<id12>. Outgoing traffic is masqueraded by table ip minirun
 * (nf_tables) and ip_forward is set. All of it through rtnetlink and
 * nfnetlink from minirun itself, no ip/nft/iptables programs.
 * root/network.json  {"Subnet":..., "Containers":{ID:IP}}: addresses of the
 *                    running containers, changed under the store lock only
 * root/networks/ID.json  a created network: the same plus Name, Id, Created,
 *                    Gateway
 * containers/ID/net.conf  what run was asked: "p tcp HOSTIP HOSTPORT PORT",
 *                    "h NAME IP" (--add-host), "d IP" (--dns), "a NAME"
 *                    (--network-alias)
 * rundir/ID/net      "IP PREFIX GW MAC PROXYPID PROXYSTART" then the "p" lines
 *                    with the host ports actually bound (PROXYPID 0: DNAT)
 * Published ports are DNATed by the same table (the kernel forwards, as
 * Docker without its userland proxy); the monitor keeps the host ports bound
 * meanwhile. Where nf_tables cannot (or MINIRUN_USERLAND_PROXY=1) a small
 * proxy process per container (a child of its monitor) serves them: TCP
 * through splice(), UDP by one connected socket per client. Either way the
 * ports are bound before the container runs, so a busy port fails the start.
 * A bridge and its rules go away with the last container on it. */

#include <netinet/in.h>
#include <poll.h>

#define NET_BRIDGE "minirun0"
#define NET_SUBNET "10.88.0.0/16"
#define NET_MAX_PORTS 32
#define NET_UDP_SESSIONS 32
#define NET_RELAY_PIPE (1 << 20)

struct net_port {
	char proto;                       /* 't' or 'u' */
	uint32_t hip;                     /* host address, host order */
	uint16_t hport, cport;            /* hport 0: any free port */
};

/* A network (see "networks" below). */
struct net_def {
	char name[64], id[65], bridge[16], file[80];
	const char *driver;               /* "bridge", "host" or "null" */
	uint32_t net, gw;
	int prefix, ctrs;                 /* ctrs: running containers on it */
};


static void net_ip_str(uint32_t ip, char *out)
{
	sprintf(out, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static int net_ip_parse(const char *s, size_t n, uint32_t *ip)
{
	uint32_t v = 0, part = 0;
	size_t i, digits = 0, dots = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] >= '0' && s[i] <= '9' && digits < 3) {
			part = part * 10 + (uint32_t)(s[i] - '0');
			digits++;
		} else if ((i == n || s[i] == '.') && digits && part <= 255) {
			v = v << 8 | part;
			part = 0;
			digits = 0;
			if (i < n && ++dots > 3)
				return -1;
		} else {
			return -1;
		}
	}
	if (dots != 3)
		return -1;
	*ip = v;
	return 0;
}

/* "a.b.c.d/n" -> network (host bits cleared) and prefix 8..30. */
static int net_cidr_parse(const char *s, uint32_t *net, int *prefix)
{
	const char *sl = strchr(s, '/');
	char *end;
	long p;
	if (!sl || net_ip_parse(s, (size_t)(sl - s), net) < 0)
		return -1;
	p = strtol(sl + 1, &end, 10);
	if (*end || end == sl + 1 || p < 8 || p > 30)
		return -1;
	*prefix = (int)p;
	*net &= ~0u << (32 - p);
	return 0;
}

/* Parse one -p: [IP:][HOSTPORT:]PORT[/tcp|/udp]. */
static int net_port_parse(const char *s, struct net_port *p, struct mr_err *err)
{
	const char *slash = strchr(s, '/'), *c1, *c2, *ps;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char *end;
	unsigned long v;
	memset(p, 0, sizeof *p);
	p->proto = 't';
	if (slash && !strcmp(slash, "/udp"))
		p->proto = 'u';
	else if (slash && strcmp(slash, "/tcp"))
		goto bad;
	c2 = memrchr(s, ':', n);
	c1 = c2 ? memchr(s, ':', (size_t)(c2 - s)) : NULL;
	if (c1 && net_ip_parse(s, (size_t)(c1 - s), &p->hip) < 0)
		goto bad;
	ps = c1 ? c1 + 1 : s;
	if (c2 && c2 > ps) {
		v = strtoul(ps, &end, 10);
		if (end != c2 || v < 1 || v > 65535)
			goto bad;
		p->hport = (uint16_t)v;
	}
	ps = c2 ? c2 + 1 : s;
	v = strtoul(ps, &end, 10);
	if (end != s + n || end == ps || v < 1 || v > 65535 || *ps == '-' || *ps == '+')
		goto bad;
	p->cport = (uint16_t)v;
	return 0;
bad:
	return mr_err_set(err, MR_EINVAL_INPUT, "invalid publish spec '%s' (expected "
			  "[IP:][HOSTPORT:]PORT[/tcp|/udp])", s);
}

static void net_port_fmt(const struct net_port *p, struct mr_buf *b)
{
	char ip[16];
	net_ip_str(p->hip, ip);
	mr_buf_printf(b, "p %s %s %u %u\n", p->proto == 'u' ? "udp" : "tcp", ip, p->hport, p->cport);
}

/* One "p ..." line back. */
static int net_port_line(const char *l, struct net_port *p)
{
	char tag[4], proto[4], ip[16];
	uint64_t hp, cp;
	if (util_word(&l, tag, sizeof tag) < 0 || strcmp(tag, "p") ||
	    util_word(&l, proto, sizeof proto) < 0 || util_word(&l, ip, sizeof ip) < 0 ||
	    util_word_u64(&l, &hp, 10) < 0 || util_word_u64(&l, &cp, 10) < 0 ||
	    net_ip_parse(ip, strlen(ip), &p->hip) < 0 || hp > 65535 || cp > 65535)
		return -1;
	p->proto = proto[0];
	p->hport = (uint16_t)hp;
	p->cport = (uint16_t)cp;
	return 0;
}

/* The next line of a text (at its end: the terminating NUL). */
static const char *net_next(const char *l)
{
	l += strcspn(l, "\n");
	return l + (*l == '\n');
}

/* A network of the bridge driver (default or created): not host, none or
 * container:. */
static int net_bridged(const char *network)
{
	return strcmp(network, "host") && strcmp(network, "none") && strncmp(network, "container:", 10);
}

#if MINIRUN_WITH_NET
static int net_find(struct mr_store *st, const char *ref, struct net_def *d, struct mr_err *err);
#else
static int net_find(struct mr_store *st, const char *ref, struct net_def *d, struct mr_err *err)
{
	(void)st; (void)d;
	return mr_err_set(err, MR_ENOTFOUND, "network %s not found", ref);   /* only bridge */
}
#endif

/* --network VALUE of run/create. */
static int net_mode(struct mr_store *st, struct ctr *c, const char *v, struct mr_err *err)
{
	char id[CTR_ID_LEN + 1], *s;
	if (!strcmp(v, "default") || !strcmp(v, "bridge")) {
		if (!MINIRUN_WITH_NET && !strcmp(v, "bridge"))
			return mr_err_set(err, MR_EINVAL_INPUT, "network bridge: built without "
					  "MINIRUN_WITH_NET");
		c->network = "bridge";
	} else if (!strcmp(v, "host") || !strcmp(v, "none")) {
		c->network = v;
	} else if (!strncmp(v, "container:", 10)) {
		if (ctr_find(st, v + 10, id, err) < 0)
			return mr_err_ctx(err, "network %s", v);
		s = util_xmalloc(CTR_ID_LEN + 12);
		sprintf(s, "container:%s", id);
		c->network = ctr_own(c, s);
	} else {
		struct net_def d;
		if (net_find(st, v, &d, err) < 0)
			return -1;
		/* the record keeps the name, as Docker's NetworkMode does */
		c->network = ctr_own(c, util_xstrdup(d.name));
	}
	return 0;
}

/* A host port that cannot be bound now will not be at start either: check
 * at create, so that run leaves nothing behind. */
static int net_port_free(const struct net_port *p, struct mr_err *err)
{
	struct sockaddr_in a;
	int one = 1, rc = 0, fd = socket(AF_INET, (p->proto == 'u' ? SOCK_DGRAM : SOCK_STREAM) |
					 SOCK_CLOEXEC, 0);
	char ip[16];
	if (fd < 0)
		return mr_err_sys(err, "socket");
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(p->hport);
	a.sin_addr.s_addr = htonl(p->hip);
	if (p->proto == 't')
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		net_ip_str(p->hip, ip);
		if (errno == EADDRINUSE)
			rc = mr_err_set(err, MR_EINUSE, "Bind for %s:%u failed: port is already "
					"allocated", ip, p->hport);
		else
			rc = mr_err_sys(err, "Bind for %s:%u failed", ip, p->hport);
	}
	close(fd);
	return rc;
}

/* run/create: -p, -P (the image's ExposedPorts), --add-host, --dns into the
 * spec's net.conf, checked ([17] ctr_create records it). */
static int net_run_opts(struct ctr *c, const char **pub, size_t npub, int all,
			const char **hosts, size_t nhosts, const char **dns, size_t ndns,
			const char **alias, size_t nalias, const struct mr_json *cfg,
			struct mr_err *err)
{
	struct mr_buf *b = &c->net_conf;
	struct net_port p;
	const struct mr_json *e;
	size_t i, n = 0;
	uint32_t ip;
	b->len = 0;
	if (npub || all) {
		if (!MINIRUN_WITH_NET)
			return mr_err_set(err, MR_EINVAL_INPUT, "publish: built without MINIRUN_WITH_NET");
		if (!net_bridged(c->network))
			fprintf(stderr, "WARNING: Published ports are discarded when using %s "
				"network mode\n", c->network);
	}
	for (i = 0; i < npub; i++, n++) {
		if (n >= NET_MAX_PORTS)
			return mr_err_set(err, MR_EINVAL_INPUT, "too many published ports");
		if (net_port_parse(pub[i], &p, err) < 0)
			return -1;
		ctr_exposed_add(c, NULL, p.cport, p.proto);
		if (p.hport && net_bridged(c->network) && net_port_free(&p, err) < 0)
			return -1;
		net_port_fmt(&p, b);
	}
	if (mr_json_get(cfg, "ExposedPorts"))
		ctr_exposed_add(c, mr_json_get(cfg, "ExposedPorts"), 0, 0);
	e = all ? mr_json_get(cfg, "ExposedPorts") : NULL;
	for (e = e && e->type == MR_JSON_OBJECT ? e->child : NULL; e; e = e->next, n++) {
		if (n >= NET_MAX_PORTS)
			return mr_err_set(err, MR_EINVAL_INPUT, "too many published ports");
		if (e->key_len > 20 || net_port_parse(e->key, &p, err) < 0)
			return -1;
		p.hport = 0;
		net_port_fmt(&p, b);
	}
	for (i = 0; i < nhosts; i++) {
		const char *s = hosts[i], *col = strchr(s, ':');
		if (!col || col == s || strpbrk(s, " \t\n") ||
		    (strcmp(col + 1, "host-gateway") && net_ip_parse(col + 1, strlen(col + 1), &ip) < 0))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for "
					  "\"--add-host\" flag: invalid IP address", s);
		mr_buf_printf(b, "h %.*s %s\n", (int)(col - s), s, col + 1);
	}
	for (i = 0; i < ndns; i++) {
		if (net_ip_parse(dns[i], strlen(dns[i]), &ip) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s is not an ip address",
					  dns[i]);
		mr_buf_printf(b, "d %s\n", dns[i]);
	}
	/* names of a created network only (Docker's rule) */
	if (nalias && (!net_bridged(c->network) || !strcmp(c->network, "bridge")))
		return mr_err_set(err, MR_EINVAL_INPUT, "network-scoped alias is supported only "
				  "for containers in user defined networks");
	for (i = 0; i < nalias; i++) {
		if (!*alias[i] || strpbrk(alias[i], " \t\n#"))
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid network alias \"%s\"", alias[i]);
		mr_buf_printf(b, "a %s\n", alias[i]);
	}
	return 0;
}

/* Child side of --network container:NAME: enter its namespace (opened by
 * net_prepare in the parent, before the clone). */
static int net_child_join(const struct ctr_spawn *sp, struct mr_err *err)
{
	if (sp->netns_fd >= 0 && setns(sp->netns_fd, CLONE_NEWNET) < 0)
		return mr_err_sys(err, "join the network namespace");
	return 0;
}

/* Before the clone: open the netns of the container to share. */
static int net_prepare(struct ctr_spawn *sp, struct mr_err *err)
{
	const struct ctr *c = sp->c;
	struct ctr_info ci;
	char path[48];
	sp->netns_fd = -1;
	if (strncmp(c->network, "container:", 10))
		return 0;
	ctr_info_get(sp->st, c->network + 10, &ci);
	if (ci.status != CTR_RUNNING || ci.pid <= 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "cannot join network of a non running "
				  "container: %.12s", c->network + 10);
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)ci.pid);
	sp->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (sp->netns_fd < 0)
		return mr_err_sys(err, "open %s", path);
	return 0;
}

/* Read containers/ID/net.conf (empty when absent). */
static void net_conf_read(struct ctr_spawn *sp, struct mr_buf *b)
{
	struct mr_err ignored;
	char path[MINIRUN_MAX_PATH + 16];
	snprintf(path, sizeof path, "%s/net.conf", sp->dir);
	b->len = 0;
	if (mr_read_file(AT_FDCWD, path, b, 1u << 16, &ignored) < 0 || !b->data)
		mr_buf_append(b, "", 0);
}

/* The block of names of the containers on a created network, at the end of
 * each one's hosts file (see net_names_sync). */
#define NET_NAMES_MARK "# minirun: containers on network "

/* Cut b (a hosts file) before the block of names. */
static void net_names_cut(struct mr_buf *b)
{
	const char *m = b->data ? strstr(b->data, NET_NAMES_MARK) : NULL;
	if (m && (m == b->data || m[-1] == '\n')) {
		b->len = (size_t)(m - b->data);
		b->data[b->len] = 0;
	}
}

/* --add-host, --dns and the container's own address into the files that
 * rootfs_etc_files wrote (bind-mounted by the child after 'g'). */
static int net_etc(struct ctr_spawn *sp, const char *conf, const char *myip, const char *gw,
		   struct mr_err *err)
{
	struct mr_buf b = { 0 };
	const char *l;
	int dirfd, rc = 0, dns = 0;
	char path[MINIRUN_MAX_PATH + 16];
	snprintf(path, sizeof path, "%s/hosts", sp->dir);
	if (mr_read_file(AT_FDCWD, path, &b, 1u << 20, err) < 0)
		return -1;
	net_names_cut(&b);
	for (l = conf; *l; l = net_next(l)) {
		char tag[4], name[256], ip[40];
		const char *q = l;
		if (util_word(&q, tag, sizeof tag) == 0 && !strcmp(tag, "h") &&
		    util_word(&q, name, sizeof name) == 0 && util_word(&q, ip, sizeof ip) == 0)
			mr_buf_printf(&b, "%s\t%s\n", strcmp(ip, "host-gateway") ? ip : gw, name);
		dns |= l[0] == 'd';
	}
	if (myip)
		mr_buf_printf(&b, "%s\t%s\n", myip, sp->c->hostname);
	dirfd = ctr_dir(sp->st, sp->c->id, err);
	if (dirfd < 0) {
		mr_buf_free(&b);
		return -1;
	}
	/* in place and 0644 (rootfs_put): a non-root process reads them, as
	 * in Docker, and a running container's bind mount holds the inode */
	rc = rootfs_put(dirfd, "hosts", &b, err);
	if (!rc && dns) {
		b.len = 0;
		for (l = conf; *l; l = net_next(l))
			if (l[0] == 'd')
				mr_buf_printf(&b, "nameserver %.*s\n", (int)strcspn(l + 2, "\n"), l + 2);
		rc = rootfs_put(dirfd, "resolv.conf", &b, err);
	}
	close(dirfd);
	mr_buf_free(&b);
	return rc;
}

#if MINIRUN_WITH_NET
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/veth.h>

/* ---- rtnetlink: one request, one acknowledgement ---- */

struct nl_msg {
	union {
		struct nlmsghdr h;
		char buf[512];                /* every request here is far smaller */
	};
};

static void *nl_tail(struct nlmsghdr *h)
{
	return (char *)h + NLMSG_ALIGN(h->nlmsg_len);
}

static void nl_init(struct nl_msg *m, int type, int flags, const void *hdr, size_t len)
{
	memset(m, 0, sizeof *m);
	m->h.nlmsg_type = (unsigned short)type;
	m->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	m->h.nlmsg_len = (unsigned)(NLMSG_HDRLEN + len);
	memcpy(NLMSG_DATA(&m->h), hdr, len);
}

static struct rtattr *nl_attr(struct nlmsghdr *h, int type, const void *data, size_t len)
{
	struct rtattr *a = nl_tail(h);
	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nl_attr_u32(struct nlmsghdr *h, int type, uint32_t v)
{
	nl_attr(h, type, &v, 4);
}

/* Close a nest opened by nl_attr(h, type, NULL, 0). */
static void nl_nest_end(struct nlmsghdr *h, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)nl_tail(h) - (char *)a);
}

/* Send and wait for the ack: 0 or -errno. */
static int nl_talk(int fd, struct nlmsghdr *h)
{
	static unsigned seq;
	char buf[1024];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	h->nlmsg_seq = ++seq;
	if (sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *r = (struct nlmsghdr *)buf;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (; NLMSG_OK(r, (size_t)n); r = NLMSG_NEXT(r, n))
			if (r->nlmsg_seq == seq && r->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
	}
}

static int nl_open(void)
{
	return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

static int nl_link_up(int fd, int index)
{
	struct nl_msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index,
				 .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	nl_init(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
	return nl_talk(fd, &m.h);
}

static int nl_link_del(int fd, const char *name)
{
	struct nl_msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	nl_init(&m, RTM_DELLINK, 0, &ifi, sizeof ifi);
	nl_attr(&m.h, IFLA_IFNAME, name, strlen(name) + 1);
	return nl_talk(fd, &m.h);
}

static int nl_addr_add(int fd, int index, uint32_t ip, int prefix)
{
	struct nl_msg m;
	struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix,
				 .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)index };
	uint32_t a = htonl(ip), bc = htonl(ip | ~(~0u << (32 - prefix)));
	nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
	nl_attr(&m.h, IFA_LOCAL, &a, 4);
	nl_attr(&m.h, IFA_ADDRESS, &a, 4);
	nl_attr(&m.h, IFA_BROADCAST, &bc, 4);
	return nl_talk(fd, &m.h);
}

static int nl_route_default(int fd, int index, uint32_t gw)
{
	struct nl_msg m;
	struct rtmsg r = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN,
			   .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE,
			   .rtm_type = RTN_UNICAST };
	uint32_t g = htonl(gw);
	nl_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &r, sizeof r);
	nl_attr(&m.h, RTA_GATEWAY, &g, 4);
	nl_attr_u32(&m.h, RTA_OIF, (uint32_t)index);
	return nl_talk(fd, &m.h);
}

/* A bridge port that may send a frame back where it came from: with
 * br_netfilter loaded, a container's packet to its own published port is
 * DNATed on the bridge and must go back out of its own port. */
static int nl_hairpin(int fd, int index)
{
	struct nl_msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = index };
	struct rtattr *pi;
	uint8_t on = 1;
	nl_init(&m, RTM_SETLINK, 0, &ifi, sizeof ifi);
	pi = nl_attr(&m.h, IFLA_PROTINFO | NLA_F_NESTED, NULL, 0);
	nl_attr(&m.h, IFLA_BRPORT_MODE, &on, 1);
	nl_nest_end(&m.h, pi);
	return nl_talk(fd, &m.h);
}

static int net_fail(struct mr_err *err, int rc, const char *what, const char *missing)
{
	if (rc == -EOPNOTSUPP && missing)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: the kernel lacks %s", what, missing);
	errno = -rc;
	return mr_err_sys(err, "%s", what);
}

/* The bridge with the gateway address, up. Returns its index. */
static int net_bridge(int fd, const char *name, uint32_t gw, int prefix, struct mr_err *err)
{
	struct nl_msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *li;
	int rc, index;
	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
	nl_attr(&m.h, IFLA_IFNAME, name, strlen(name) + 1);
	li = nl_attr(&m.h, IFLA_LINKINFO, NULL, 0);
	nl_attr(&m.h, IFLA_INFO_KIND, "bridge", 6);
	nl_nest_end(&m.h, li);
	rc = nl_talk(fd, &m.h);
	if (rc < 0 && rc != -EEXIST)
		return net_fail(err, rc, "create bridge", "bridge support (CONFIG_BRIDGE)");
	index = (int)if_nametoindex(name);
	if (!index)
		return mr_err_sys(err, "bridge %s", name);
	rc = nl_addr_add(fd, index, gw, prefix);
	if (rc < 0 && rc != -EEXIST)
		return net_fail(err, rc, "address of the bridge", NULL);
	rc = nl_link_up(fd, index);
	if (rc < 0)
		return net_fail(err, rc, "bring the bridge up", NULL);
	return index;
}

/* veth pair: host end on the bridge and up, the peer created right inside
 * the container's namespace as eth0 (no name clash with the host's). */
static int net_veth(int fd, const char *host, int br, pid_t pid, const unsigned char *mac,
		    struct mr_err *err)
{
	struct nl_msg m;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	struct ifinfomsg peer = { .ifi_family = AF_UNSPEC };
	struct rtattr *li, *data, *pa;
	int rc;
	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
	nl_attr(&m.h, IFLA_IFNAME, host, strlen(host) + 1);
	nl_attr_u32(&m.h, IFLA_MASTER, (uint32_t)br);
	li = nl_attr(&m.h, IFLA_LINKINFO, NULL, 0);
	nl_attr(&m.h, IFLA_INFO_KIND, "veth", 4);
	data = nl_attr(&m.h, IFLA_INFO_DATA, NULL, 0);
	pa = nl_attr(&m.h, VETH_INFO_PEER, &peer, sizeof peer);
	nl_attr(&m.h, IFLA_IFNAME, "eth0", 5);
	nl_attr_u32(&m.h, IFLA_NET_NS_PID, (uint32_t)pid);
	nl_attr(&m.h, IFLA_ADDRESS, mac, 6);
	nl_nest_end(&m.h, pa);
	nl_nest_end(&m.h, data);
	nl_nest_end(&m.h, li);
	rc = nl_talk(fd, &m.h);
	if (rc < 0)
		return net_fail(err, rc, "create veth pair", "veth support (CONFIG_VETH)");
	return 0;
}

/* eth0 inside: address, up, default route. The monitor steps into the
 * namespace for the socket only (it is single-threaded), then back. */
static int net_inside(pid_t pid, uint32_t ip, int prefix, uint32_t gw, struct mr_err *err)
{
	char path[48];
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), ns, fd = -1, rc = 0, index = 0;
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
		rc = mr_err_sys(err, "enter the container's network namespace");
		goto out;
	}
	fd = nl_open();
	index = (int)if_nametoindex("eth0");
	if (setns(self, CLONE_NEWNET) < 0) {
		/* cannot happen short of a kernel bug; never serve in the wrong one */
		mr_err_sys(err, "leave the container's network namespace");
		_exit(125);
	}
	if (fd < 0 || !index) {
		rc = mr_err_sys(err, "eth0 in the container");
		goto out;
	}
	if ((rc = nl_addr_add(fd, index, ip, prefix)) < 0 || (rc = nl_link_up(fd, index)) < 0 ||
	    (rc = nl_route_default(fd, index, gw)) < 0)
		rc = net_fail(err, rc, "configure eth0 in the container", NULL);
out:
	if (fd >= 0)
		close(fd);
	if (ns >= 0)
		close(ns);
	if (self >= 0)
		close(self);
	return rc;
}

/* ---- networks: the default bridge, host, none and `network create`'s ----
 * A bridge network is a file under the store lock: network.json for the
 * default one (bridge minirun0), networks/ID.json for the others (bridge
 * mr-<id12>) with Name, Id, Created, Subnet, Gateway; both hold Containers,
 * {ID: address} of the running containers on it. */

static void net_subnet(const struct mr_json *root, uint32_t *net, int *prefix)
{
	const char *s = getenv("MINIRUN_SUBNET"), *f = mr_json_str(mr_json_get(root, "Subnet"));
	const struct mr_json *ctrs = mr_json_get(root, "Containers");
	/* while containers use the bridge its subnet stays */
	if (f && ctrs && ctrs->count && net_cidr_parse(f, net, prefix) == 0)
		return;
	if (s && net_cidr_parse(s, net, prefix) == 0)
		return;
	if (f && net_cidr_parse(f, net, prefix) == 0)
		return;
	net_cidr_parse(NET_SUBNET, net, prefix);
}

/* The three built-in networks have fixed IDs: sha256 of their names. */
static void net_def_builtin(struct net_def *d, const char *name, const char *driver)
{
	char dg[MR_DIGEST_LEN + 1];
	memset(d, 0, sizeof *d);
	mr_digest_buf(name, strlen(name), dg);
	snprintf(d->id, sizeof d->id, "%s", digest_hex(dg));
	snprintf(d->name, sizeof d->name, "%s", name);
	d->driver = driver;
}

/* A bridge network from its file (root: its JSON, NULL when absent). */
static void net_def_fill(struct net_def *d, const char *file, const struct mr_json *root)
{
	const char *gw = mr_json_str(mr_json_get(root, "Gateway"));
	const struct mr_json *c = mr_json_get(root, "Containers");
	if (!strcmp(file, "network.json")) {
		net_def_builtin(d, "bridge", "bridge");
		snprintf(d->bridge, sizeof d->bridge, NET_BRIDGE);
		net_subnet(root, &d->net, &d->prefix);
	} else {
		memset(d, 0, sizeof *d);
		d->driver = "bridge";
		snprintf(d->name, sizeof d->name, "%s", mr_json_str(mr_json_get(root, "Name")) ?: "");
		snprintf(d->id, sizeof d->id, "%s", mr_json_str(mr_json_get(root, "Id")) ?: "");
		snprintf(d->bridge, sizeof d->bridge, "mr-%.12s", d->id);
		if (net_cidr_parse(mr_json_str(mr_json_get(root, "Subnet")) ?: "", &d->net, &d->prefix) < 0)
			d->prefix = 0;        /* unusable: never allocated from */
	}
	snprintf(d->file, sizeof d->file, "%s", file);
	if (!gw || net_ip_parse(gw, strlen(gw), &d->gw) < 0)
		d->gw = d->net + 1;
	d->ctrs = c ? (int)c->count : 0;
}

typedef int (*net_fn)(struct mr_store *st, struct net_def *d, void *arg);

/* A network's file, read and parsed (doc empty when absent or broken). */
static void net_read(struct mr_store *st, const char *file, struct mr_buf *b,
		     struct mr_json_doc *doc)
{
	struct mr_err ignored;
	if (mr_read_file(st->rootfd, file, b, MINIRUN_MAX_JSON, &ignored) < 0 ||
	    mr_json_parse(doc, b->data, b->len, &ignored) < 0)
		memset(doc, 0, sizeof *doc);
}

/* A network's file, atomically: network.json in the store's root, the
 * others in networks/. */
static int net_write(struct mr_store *st, const char *file, const struct mr_buf *b,
		     struct mr_err *err)
{
	const char *base = strchr(file, '/');
	int dfd = base ? openat(st->rootfd, "networks", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : st->rootfd;
	int rc;
	if (dfd < 0)
		return mr_err_sys(err, "networks folder");
	rc = mr_write_atomic(dfd, base ? base + 1 : file, b->data, b->len, 0600, err);
	if (base)
		close(dfd);
	return rc;
}

static int net_each_file(struct mr_store *st, const char *file, net_fn fn, void *arg)
{
	struct mr_buf b = { 0 };
	struct mr_json_doc doc = { 0 };
	struct net_def d;
	int rc;
	net_read(st, file, &b, &doc);
	net_def_fill(&d, file, doc.root);
	rc = fn(st, &d, arg);
	mr_json_free(&doc);
	mr_buf_free(&b);
	return rc;
}

/* Each network: bridge, host, none, then the created ones. Stops at the
 * first nonzero answer of fn and returns it. */
static int net_each(struct mr_store *st, net_fn fn, void *arg)
{
	static const char *const builtin[] = { "host", "host", "none", "null" };
	struct net_def d;
	struct dirent *de;
	DIR *dir;
	int rc = net_each_file(st, "network.json", fn, arg), i, fd;
	char file[80];
	for (i = 0; !rc && i < 4; i += 2) {
		net_def_builtin(&d, builtin[i], builtin[i + 1]);
		rc = fn(st, &d, arg);
	}
	fd = rc ? -1 : openat(st->rootfd, "networks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir && fd >= 0)
		close(fd);
	while (!rc && dir && (de = readdir(dir)) != NULL) {
		/* only ID.json: not the temporaries of an atomic write */
		if (strlen(de->d_name) != 69 || strcmp(de->d_name + 64, ".json"))
			continue;
		snprintf(file, sizeof file, "networks/%s", de->d_name);
		rc = net_each_file(st, file, fn, arg);
	}
	if (dir)
		closedir(dir);
	return rc;
}

struct net_match {
	const char *ref;
	struct net_def *out;
	int found;
};

/* A name matches at once; an ID prefix only if no name does. */
static int net_match_one(struct mr_store *st, struct net_def *d, void *arg)
{
	struct net_match *m = arg;
	size_t n = strlen(m->ref);
	int name = !strcmp(d->name, m->ref);
	(void)st;
	if (name || (n >= 3 && !m->found && !strncmp(d->id, m->ref, n))) {
		*m->out = *d;
		m->found = 1;
	}
	return name;
}

/* A network by name or ID (prefix). */
static int net_find(struct mr_store *st, const char *ref, struct net_def *d, struct mr_err *err)
{
	struct net_match m = { ref, d, 0 };
	net_each(st, net_match_one, &m);
	if (!m.found)
		return mr_err_set(err, MR_ENOTFOUND, "network %s not found", ref);
	return 0;
}

/* ---- NAT: table ip minirun through nf_tables netlink ----
 * Per bridge network in use, at postrouting (nat, srcnat)
 * `ip saddr SUBNET oifname != BRIDGE masquerade` and the two masquerades
 * published ports need (nft_net_rules), a guard chain (filter, raw); per
 * port published by DNAT, the same rule at prerouting and output (nat,
 * dstnat): `fib daddr type local tcp dport 8000 dnat to 10.88.0.2:80`.
 * The table is rebuilt whole in one batch (add table, delete table, add
 * again with its chains and rules) whenever a container takes or gives
 * back an address or publishes ports, under the store lock (few files to
 * read; a flushed ruleset heals at the next start): the kernel applies a
 * batch atomically, so there is never a moment without the rules of the
 * containers still running, and no rule handles to remember. No accepting
 * forward chain: the forward hook accepts by default, and an accept in our
 * table cannot override another table's drop (each base chain must accept),
 * so it would change nothing; the forward chain "isolate" only drops
 * (traffic from one network to another, see nft_net_rules). The kernel loads
 * nf_tables, nft_chain_nat, nft_masq, nft_nat, nft_fib_ipv4 and nft_ct itself
 * on the first request for them (request_module), so no modprobe here. */

#define NFT_TABLE "minirun"
#define NFT_CHAIN "postrouting"
#define NFT_MAX_NETS 32
/* one batch: 4 rules (1.5 KB) per network, 2 (0.9 KB) per published port,
 * over 90 ports in all; below netlink's default send buffer. Each network
 * and each port is added only with NFT_ROOM left. */
#define NFT_BATCH (128 << 10)
#define NFT_ROOM 2048

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

struct nft_batch {
	union {
		struct nlmsghdr first;
		char buf[NFT_BATCH];
	};
	struct nlmsghdr *h;
	unsigned seq;
};

/* Start the next message of the batch. */
static void nft_msg(struct nft_batch *b, int type, int flags)
{
	struct nfgenmsg g = { .nfgen_family = 2 /* NFPROTO_IPV4 */, .version = NFNETLINK_V0 };
	b->h = b->h ? (struct nlmsghdr *)nl_tail(b->h) : &b->first;
	if (type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END) {
		g.nfgen_family = AF_UNSPEC;
		g.res_id = htons(NFNL_SUBSYS_NFTABLES);
	} else {
		type |= NFNL_SUBSYS_NFTABLES << 8;
		flags |= NLM_F_ACK;
	}
	memset(b->h, 0, NLMSG_HDRLEN + sizeof g);
	b->h->nlmsg_type = (unsigned short)type;
	b->h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	b->h->nlmsg_len = NLMSG_HDRLEN + sizeof g;
	b->h->nlmsg_seq = ++b->seq;
	memcpy(NLMSG_DATA(b->h), &g, sizeof g);
	if (type != NFNL_MSG_BATCH_BEGIN && type != NFNL_MSG_BATCH_END)
		nl_attr(b->h, NFTA_TABLE_NAME, NFT_TABLE, sizeof NFT_TABLE);
}

static struct rtattr *nft_nest(struct nlmsghdr *h, int type)
{
	return nl_attr(h, type | NLA_F_NESTED, NULL, 0);
}

/* nf_tables numbers are big-endian. */
static void nft_u32(struct nlmsghdr *h, int type, uint32_t v)
{
	nl_attr_u32(h, type, htonl(v));
}

/* Attribute type holding NFTA_DATA_VALUE data. */
static void nft_data(struct nlmsghdr *h, int type, const void *data, size_t len)
{
	struct rtattr *a = nft_nest(h, type);
	nl_attr(h, NFTA_DATA_VALUE, data, len);
	nl_nest_end(h, a);
}

/* One expression: its name, then pairs of (attribute, u32); a cmp's data
 * goes after, through nft_data, before nft_expr_end. */
static struct rtattr *nft_expr(struct nlmsghdr *h, const char *name, const uint32_t *kv, int n,
			       struct rtattr **data)
{
	struct rtattr *e = nft_nest(h, NFTA_LIST_ELEM);
	nl_attr(h, NFTA_EXPR_NAME, name, strlen(name) + 1);
	*data = nft_nest(h, NFTA_EXPR_DATA);
	for (; n > 0; n--, kv += 2)
		nft_u32(h, (int)kv[0], kv[1]);
	return e;
}

static void nft_expr_end(struct nlmsghdr *h, struct rtattr *e, struct rtattr *data)
{
	nl_nest_end(h, data);
	nl_nest_end(h, e);
}

/* cmp reg 1 OP data */
static void nft_cmp(struct nlmsghdr *h, uint32_t op, const void *data, size_t len)
{
	const uint32_t kv[] = { NFTA_CMP_SREG, NFT_REG_1, NFTA_CMP_OP, op };
	struct rtattr *d, *e = nft_expr(h, "cmp", kv, 2, &d);
	nft_data(h, NFTA_CMP_DATA, data, len);
	nft_expr_end(h, e, d);
}

/* Start a rule of chain; its expressions go inside the nest returned. */
static struct rtattr *nft_rule(struct nft_batch *b, const char *chain)
{
	nft_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	nl_attr(b->h, NFTA_RULE_CHAIN, chain, strlen(chain) + 1);
	return nft_nest(b->h, NFTA_RULE_EXPRESSIONS);
}

/* An expression with only u32 attributes. */
static void nft_plain(struct nlmsghdr *h, const char *name, const uint32_t *kv, int n)
{
	struct rtattr *data, *e = nft_expr(h, name, kv, n, &data);
	nft_expr_end(h, e, data);
}

/* ip saddr (off 12) or daddr (off 16) in NET/PREFIX */
static void nft_ip(struct nlmsghdr *h, uint32_t off, uint32_t net, int prefix)
{
	const uint32_t payload[] = { NFTA_PAYLOAD_DREG, NFT_REG_1, NFTA_PAYLOAD_BASE,
		NFT_PAYLOAD_NETWORK_HEADER, NFTA_PAYLOAD_OFFSET, off, NFTA_PAYLOAD_LEN, 4 };
	static const uint32_t bitwise[] = { NFTA_BITWISE_SREG, NFT_REG_1, NFTA_BITWISE_DREG,
		NFT_REG_1, NFTA_BITWISE_LEN, 4 };
	uint32_t mask = htonl(~0u << (32 - prefix)), zero = 0, v = htonl(net);
	struct rtattr *e, *data;
	nft_plain(h, "payload", payload, 4);
	if (prefix < 32) {
		e = nft_expr(h, "bitwise", bitwise, 3, &data);
		nft_data(h, NFTA_BITWISE_MASK, &mask, 4);
		nft_data(h, NFTA_BITWISE_XOR, &zero, 4);
		nft_expr_end(h, e, data);
	}
	nft_cmp(h, NFT_CMP_EQ, &v, 4);
}

/* meta KEY OP value (iifname/oifname: the 16 bytes of a name) */
static void nft_meta(struct nlmsghdr *h, uint32_t key, uint32_t op, const void *v, size_t len)
{
	const uint32_t meta[] = { NFTA_META_DREG, NFT_REG_1, NFTA_META_KEY, key };
	nft_plain(h, "meta", meta, 2);
	nft_cmp(h, op, v, len);
}

static void nft_ifname(struct nlmsghdr *h, uint32_t key, uint32_t op, const char *name)
{
	char ifname[16] = { 0 };
	memcpy(ifname, name, strlen(name));
	nft_meta(h, key, op, ifname, sizeof ifname);
}

/* ct status & dnat OP 0: NEQ for connections DNATed (a published port), EQ
 * for the others. */
static void nft_ct_dnat(struct nlmsghdr *h, uint32_t op)
{
	static const uint32_t ct[] = { NFTA_CT_DREG, NFT_REG_1, NFTA_CT_KEY, NFT_CT_STATUS };
	static const uint32_t bitwise[] = { NFTA_BITWISE_SREG, NFT_REG_1, NFTA_BITWISE_DREG,
		NFT_REG_1, NFTA_BITWISE_LEN, 4 };
	uint32_t mask = 1u << 5, zero = 0;   /* IPS_DST_NAT; ct status: host order */
	struct rtattr *e, *data;
	nft_plain(h, "ct", ct, 2);
	e = nft_expr(h, "bitwise", bitwise, 3, &data);
	nft_data(h, NFTA_BITWISE_MASK, &mask, 4);
	nft_data(h, NFTA_BITWISE_XOR, &zero, 4);
	nft_expr_end(h, e, data);
	nft_cmp(h, op, &zero, 4);
}

/* The verdict drop, ending a rule. */
static void nft_drop(struct nlmsghdr *h)
{
	static const uint32_t drop[] = { NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT };
	struct rtattr *e, *data, *imm, *verdict;
	e = nft_expr(h, "immediate", drop, 1, &data);
	imm = nft_nest(h, NFTA_IMMEDIATE_DATA);
	verdict = nft_nest(h, NFTA_DATA_VERDICT);
	nft_u32(h, NFTA_VERDICT_CODE, 0);   /* NF_DROP */
	nl_nest_end(h, verdict);
	nl_nest_end(h, imm);
	nft_expr_end(h, e, data);
}

/* postrouting: ip saddr NET/PREFIX oifname OP BRIDGE [ct status dnat] masquerade */
static void nft_masq(struct nft_batch *b, uint32_t net, int prefix, uint32_t op,
		     const char *bridge, int dnat)
{
	struct rtattr *list = nft_rule(b, NFT_CHAIN);
	nft_ip(b->h, 12, net, prefix);
	nft_ifname(b->h, NFT_META_OIFNAME, op, bridge);
	if (dnat)
		nft_ct_dnat(b->h, NFT_CMP_NEQ);
	nft_plain(b->h, "masq", NULL, 0);
	nl_nest_end(b->h, list);
}

/* A network's rules: its masquerade out; the hairpin (a container reaching
 * a published port through a host address: without the masquerade the
 * answer would go straight back over the bridge, not un-NATed); the
 * masquerade of 127.0.0.1 DNATed into the bridge (route_localnet); and the
 * guard that route_localnet needs (CVE-2020-8558): nothing arriving from
 * the bridge may reach 127.0.0.0/8, i.e. the host's localhost-only
 * services. The guard runs at raw priority, before conntrack un-NATs the
 * answers to 127.0.0.1, which still carry the bridge's address there. */
static void nft_net_rules(struct nft_batch *b, const struct net_def *d)
{
	struct rtattr *list;
	int k;
	nft_masq(b, d->net, d->prefix, NFT_CMP_NEQ, d->bridge, 0);
	nft_masq(b, d->net, d->prefix, NFT_CMP_EQ, d->bridge, 1);
	nft_masq(b, 0x7f000000, 8, NFT_CMP_EQ, d->bridge, 0);
	list = nft_rule(b, "guard");
	nft_ifname(b->h, NFT_META_IIFNAME, NFT_CMP_EQ, d->bridge);
	nft_ip(b->h, 16, 0x7f000000, 8);
	nft_drop(b->h);
	nl_nest_end(b->h, list);
	/* Networks are isolated from each other, as Docker's are: what this
	 * bridge forwards to another of minirun's bridges (minirun0, or one
	 * named "mr-*") is dropped, unless it was DNATed: a published port
	 * stays reachable from every network, like any service of the host.
	 * `iifname BR oifname != BR oifname "mr-*"|"minirun0" ct status & dnat == 0 drop` */
	for (k = 0; k < 2; k++) {
		list = nft_rule(b, "isolate");
		nft_ifname(b->h, NFT_META_IIFNAME, NFT_CMP_EQ, d->bridge);
		nft_ifname(b->h, NFT_META_OIFNAME, NFT_CMP_NEQ, d->bridge);
		if (k == 0)
			nft_meta(b->h, NFT_META_OIFNAME, NFT_CMP_EQ, "mr-", 3);    /* a prefix */
		else
			nft_ifname(b->h, NFT_META_OIFNAME, NFT_CMP_EQ, NET_BRIDGE);
		nft_ct_dnat(b->h, NFT_CMP_EQ);
		nft_drop(b->h);
		nl_nest_end(b->h, list);
	}
}

/* CHAIN: (ip daddr HOSTIP | fib daddr type local) meta l4proto P
 * th dport HOSTPORT dnat to IP:PORT */
static void nft_dnat(struct nft_batch *b, const char *chain, const struct net_port *p, uint32_t ip)
{
	static const uint32_t fib[] = { NFTA_FIB_DREG, NFT_REG_1, NFTA_FIB_RESULT,
		NFT_FIB_RESULT_ADDRTYPE, NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR };
	static const uint32_t dport[] = { NFTA_PAYLOAD_DREG, NFT_REG_1, NFTA_PAYLOAD_BASE,
		NFT_PAYLOAD_TRANSPORT_HEADER, NFTA_PAYLOAD_OFFSET, 2, NFTA_PAYLOAD_LEN, 2 };
	static const uint32_t nat[] = { NFTA_NAT_TYPE, NFT_NAT_DNAT, NFTA_NAT_FAMILY, 2,
		NFTA_NAT_REG_ADDR_MIN, NFT_REG_1, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2 };
	uint32_t local = RTN_LOCAL, a = htonl(ip);     /* fib's answer: host order */
	uint16_t hport = htons(p->hport), cport = htons(p->cport);
	uint8_t proto = p->proto == 'u' ? IPPROTO_UDP : IPPROTO_TCP;
	uint32_t reg[] = { NFTA_IMMEDIATE_DREG, NFT_REG_1 };
	struct rtattr *e, *data, *list = nft_rule(b, chain);
	if (p->hip) {
		nft_ip(b->h, 16, p->hip, 32);
	} else {
		nft_plain(b->h, "fib", fib, 3);
		nft_cmp(b->h, NFT_CMP_EQ, &local, 4);
	}
	nft_meta(b->h, NFT_META_L4PROTO, NFT_CMP_EQ, &proto, 1);
	nft_plain(b->h, "payload", dport, 4);
	nft_cmp(b->h, NFT_CMP_EQ, &hport, 2);
	e = nft_expr(b->h, "immediate", reg, 1, &data);
	nft_data(b->h, NFTA_IMMEDIATE_DATA, &a, 4);
	nft_expr_end(b->h, e, data);
	reg[1] = NFT_REG_2;
	e = nft_expr(b->h, "immediate", reg, 1, &data);
	nft_data(b->h, NFTA_IMMEDIATE_DATA, &cport, 2);
	nft_expr_end(b->h, e, data);
	nft_plain(b->h, "nat", nat, 4);
	nl_nest_end(b->h, list);
}

struct nft_nets {
	struct net_def d[NFT_MAX_NETS];
	int n;
};

static int nft_collect(struct mr_store *st, struct net_def *d, void *arg)
{
	struct nft_nets *a = arg;
	(void)st;
	if (d->ctrs && d->prefix && a->n < NFT_MAX_NETS)
		a->d[a->n++] = *d;
	return 0;
}

/* Send the batch; 0 or the first error (-errno) the kernel answers. */
static int nft_send(struct nft_batch *b)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	unsigned last = b->seq - 1;       /* the last message before BATCH_END */
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER), rc = 0, done = 0;
	size_t len = (size_t)((char *)nl_tail(b->h) - b->buf);
	if (fd < 0)
		return -errno;
	if (sendto(fd, b->buf, len, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
		rc = -errno;
	while (!rc && !done) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *r = (struct nlmsghdr *)buf;
		if (n < 0 && errno != EINTR)
			rc = -errno;
		for (; n > 0 && NLMSG_OK(r, (size_t)n) && !rc && !done; r = NLMSG_NEXT(r, n))
			if (r->nlmsg_type == NLMSG_ERROR) {
				rc = ((struct nlmsgerr *)NLMSG_DATA(r))->error;
				done = r->nlmsg_seq == last;
			}
	}
	close(fd);
	return rc;
}

static int nft_full(struct nft_batch *b)
{
	return (char *)nl_tail(b->h) - b->buf > NFT_BATCH - NFT_ROOM;
}

/* rundir/ID/net's first line: address, proxy pid and its start time. */
static int net_rt_head(const char *q, char ip[16], int *pid, uint64_t *start)
{
	char skip[24];
	return util_word(&q, ip, 16) < 0 || util_word(&q, skip, sizeof skip) < 0 ||
	       util_word(&q, skip, sizeof skip) < 0 || util_word(&q, skip, sizeof skip) < 0 ||
	       util_word_int(&q, pid) < 0 || util_word_u64(&q, start, 10) < 0 ? -1 : 0;
}

/* DNAT rules of the containers on network d whose ports no proxy serves
 * (rundir/ID/net), each at its address on d: a stale file left by a
 * killed monitor names an address d no longer gives it. -ENOSPC when the
 * batch is full. */
static int nft_ports(struct nft_batch *b, struct mr_store *st, const struct net_def *d)
{
	struct mr_buf nb = { 0 }, rb = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *e;
	struct mr_err ignored;
	struct net_port p;
	const char *l;
	char ip[16];
	uint64_t start;
	uint32_t addr;
	int rfd, proxy, rc = 0;
	net_read(st, d->file, &nb, &doc);
	e = mr_json_get(doc.root, "Containers");
	for (e = e ? e->child : NULL; e && !rc; e = e->next) {
		rfd = e->str && strlen(e->key) == CTR_ID_LEN ? ctr_rundir(st, e->key, 0) : -1;
		if (rfd < 0)
			continue;
		if (mr_read_file(rfd, "net", &rb, 1u << 16, &ignored) == 0 && rb.data &&
		    net_rt_head(rb.data, ip, &proxy, &start) == 0 && !proxy && !strcmp(ip, e->str) &&
		    net_ip_parse(ip, strlen(ip), &addr) == 0)
			for (l = net_next(rb.data); *l && !rc; l = net_next(l)) {
				if (net_port_line(l, &p) < 0)
					continue;
				if (nft_full(b)) {
					rc = -ENOSPC;
				} else {
					nft_dnat(b, "prerouting", &p, addr);
					nft_dnat(b, "output", &p, addr);
				}
			}
		close(rfd);
	}
	mr_json_free(&doc);
	mr_buf_free(&nb);
	mr_buf_free(&rb);
	return rc;
}

/* A base chain of the table. */
static void nft_chain(struct nft_batch *b, const char *name, uint32_t hook, int prio,
		      const char *type)
{
	struct rtattr *h;
	nft_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	nl_attr(b->h, NFTA_CHAIN_NAME, name, strlen(name) + 1);
	h = nft_nest(b->h, NFTA_CHAIN_HOOK);
	nft_u32(b->h, NFTA_HOOK_HOOKNUM, hook);
	nft_u32(b->h, NFTA_HOOK_PRIORITY, (uint32_t)prio);
	nl_nest_end(b->h, h);
	nl_attr(b->h, NFTA_CHAIN_TYPE, type, strlen(type) + 1);
}

/* Rebuild table ip minirun for the bridge networks in use and the ports
 * published by DNAT (store locked). */
static int nft_sync(struct mr_store *st, const char *what, struct mr_err *err)
{
	static struct nft_batch b;        /* 128 KiB: not on the stack */
	struct nft_nets nets;
	int i, rc = 0;
	b.h = NULL;
	b.seq = 0;
	nets.n = 0;
	net_each(st, nft_collect, &nets);
	nft_msg(&b, NFNL_MSG_BATCH_BEGIN, 0);
	/* NFTA_TABLE_NAME, NFTA_CHAIN_TABLE and NFTA_RULE_TABLE are all 1:
	 * nft_msg names the table in every message */
	nft_msg(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nft_msg(&b, NFT_MSG_DELTABLE, 0);
	if (nets.n) {
		nft_msg(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
		/* hooks: NF_INET_PRE_ROUTING 0, LOCAL_OUT 3, POST_ROUTING 4;
		 * priorities: raw -300, dstnat -100, srcnat 100 */
		nft_chain(&b, NFT_CHAIN, 4, 100, "nat");
		nft_chain(&b, "prerouting", 0, -100, "nat");
		nft_chain(&b, "output", 3, -100, "nat");
		nft_chain(&b, "guard", 0, -300, "filter");
		nft_chain(&b, "isolate", 2, 0, "filter");     /* NF_INET_FORWARD */
	}
	for (i = 0; i < nets.n && !rc; i++) {
		if (nft_full(&b))
			rc = -ENOSPC;
		else
			nft_net_rules(&b, &nets.d[i]);
		if (!rc)
			rc = nft_ports(&b, st, &nets.d[i]);
	}
	if (!rc) {
		nft_msg(&b, NFNL_MSG_BATCH_END, 0);
		rc = nft_send(&b);
	}
	if (rc >= 0)
		return 0;
	errno = -rc;
	return mr_err_sys(err, "network %s: %s", what, rc == -ENOENT || rc == -EOPNOTSUPP ||
			  rc == -EPROTONOSUPPORT ? "kernel has no nf_tables (masquerade, DNAT)" :
			  rc == -ENOSPC ? "too many published ports for one batch" :
			  "nf_tables rules");
}

/* ---- names on a created network ----
 * Docker answers container names, NAME.NETWORK, the short ID and
 * --network-alias aliases on user-defined networks (not on the default
 * bridge) from a DNS server in its daemon. minirun has no daemon: each start
 * and stop of a container on such a network rewrites, under the store lock,
 * the block of names at the end of the hosts file of every running container
 * on it (in place: the file is bind-mounted, a rename would leave the
 * container reading the old one). No process, no memory; a container
 * started again at another address is seen at once, as the start rewrites
 * every block. */

/* "IP\tNAME NAME.NETWORK ALIAS... SHORTID" of each container in ctrs. */
static void net_names_block(struct mr_store *st, const struct net_def *d,
			    const struct mr_json *ctrs, struct mr_buf *out)
{
	const struct mr_json *e;
	struct mr_buf conf = { 0 };
	struct mr_err ignored;
	for (e = ctrs ? ctrs->child : NULL; e; e = e->next) {
		struct ctr c;
		const char *l;
		int fd;
		memset(&c, 0, sizeof c);
		if (!e->str || ctr_load(st, e->key, &c, &ignored) < 0) {
			ctr_free(&c);
			continue;
		}
		mr_buf_printf(out, "%s\t%s %s.%s", e->str, c.name, c.name, d->name);
		conf.len = 0;
		fd = ctr_dir(st, e->key, &ignored);
		if (fd >= 0 && mr_read_file(fd, "net.conf", &conf, 1u << 16, &ignored) == 0 && conf.data)
			for (l = conf.data; *l; l = net_next(l))
				if (l[0] == 'a' && l[1] == ' ')
					mr_buf_printf(out, " %.*s", (int)strcspn(l + 2, "\n"), l + 2);
		if (fd >= 0)
			close(fd);
		mr_buf_printf(out, " %.12s\n", e->key);
		ctr_free(&c);
	}
	mr_buf_free(&conf);
}

/* Rewrite the block of names in the hosts file of each container on the
 * created network d (nothing for the default bridge, as in Docker). */
static void net_names_sync(struct mr_store *st, const struct net_def *d)
{
	struct mr_buf b = { 0 }, block = { 0 }, hosts = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *ctrs, *e;
	struct mr_err ignored;
	if (strncmp(d->file, "networks/", 9) || mr_store_lock(st, &ignored) < 0)
		return;
	net_read(st, d->file, &b, &doc);
	ctrs = mr_json_get(doc.root, "Containers");
	net_names_block(st, d, ctrs, &block);
	for (e = ctrs ? ctrs->child : NULL; e; e = e->next) {
		int fd = ctr_dir(st, e->key, &ignored);
		if (fd < 0)
			continue;
		if (mr_read_file(fd, "hosts", &hosts, 1u << 20, &ignored) == 0 && hosts.data) {
			net_names_cut(&hosts);
			mr_buf_printf(&hosts, NET_NAMES_MARK "%s\n", d->name);
			mr_buf_append(&hosts, block.data ? block.data : "", block.len);
			rootfs_put(fd, "hosts", &hosts, &ignored);
		}
		close(fd);
	}
	mr_store_unlock(st);
	mr_json_free(&doc);
	mr_buf_free(&b);
	mr_buf_free(&block);
	mr_buf_free(&hosts);
}

/* A container renamed: the blocks of its network name it anew (Docker's
 * DNS answers the new name at once). */
static void net_names_update(struct mr_store *st, const char *network)
{
	struct net_def d;
	struct mr_err ignored;
	if (net_bridged(network) && strcmp(network, "bridge") && net_find(st, network, &d, &ignored) == 0)
		net_names_sync(st, &d);
}

/* ---- address allocation: the network's file under the store lock ---- */

/* Allocate (ip != NULL: lowest free for id) or release id on network d
 * (its file; filled from it). Returns the number of containers left
 * holding an address, -2 when id held none, or -1. */
static int net_alloc(struct mr_store *st, struct net_def *d, const char *id, uint32_t *ip,
		     struct mr_err *err)
{
	struct mr_buf b = { 0 }, out = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *e, *ctrs;
	struct mr_jw w;
	struct mr_err fw;
	uint32_t cand, used, bcast;
	int rc = -1, left = 0, taken;
	char s[16], cidr[20], file[sizeof d->file];
	if (mr_store_lock(st, err) < 0)
		return -1;
	snprintf(file, sizeof file, "%s", d->file);   /* net_def_fill clears d */
	net_read(st, file, &b, &doc);
	net_def_fill(d, file, doc.root);
	ctrs = mr_json_get(doc.root, "Containers");
	bcast = d->net | ~(~0u << (32 - d->prefix));
	if (ip && (!d->prefix || (!doc.root && strcmp(d->name, "bridge")))) {
		mr_err_set(err, MR_ENOTFOUND, "network %s not found", d->name);
		goto out;
	}
	if (ip) {
		for (cand = d->net + 1; cand < bcast; cand++) {
			taken = cand == d->gw;
			for (e = ctrs ? ctrs->child : NULL; e && !taken; e = e->next)
				taken = e->str && net_ip_parse(e->str, e->len, &used) == 0 &&
					used == cand && strcmp(e->key, id);
			if (!taken)
				break;
		}
		if (cand >= bcast) {
			mr_err_set(err, MR_EINVAL_INPUT, "network %s: no free address left in the "
				   "subnet", d->name);
			goto out;
		}
		*ip = cand;
	}
	for (e = ctrs ? ctrs->child : NULL; !ip && e && strcmp(e->key, id); e = e->next) {}
	if (!ip && !e) {
		rc = -2;                  /* held nothing: nothing to write */
		goto out;
	}
	mr_jw_init(&w, &out, 0);
	mr_jw_obj(&w);
	mr_jw_key(&w, "Subnet");
	net_ip_str(d->net, s);
	snprintf(cidr, sizeof cidr, "%s/%d", s, d->prefix);
	mr_jw_str(&w, cidr);
	/* a created network's Name, Id, Created, Gateway stay as they are */
	for (e = doc.root ? doc.root->child : NULL; e; e = e->next)
		if (e->type == MR_JSON_STRING && strcmp(e->key, "Subnet")) {
			mr_jw_key(&w, e->key);
			mr_jw_str(&w, e->str);
		}
	mr_jw_key(&w, "Containers");
	mr_jw_obj(&w);
	for (e = ctrs ? ctrs->child : NULL; e; e = e->next)
		if (strcmp(e->key, id) && e->str) {
			mr_jw_key(&w, e->key);
			mr_jw_str(&w, e->str);
			left++;
		}
	if (ip) {
		net_ip_str(*ip, s);
		mr_jw_key(&w, id);
		mr_jw_str(&w, s);
		left++;
	}
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	if (w.failed || net_write(st, file, &out, err) < 0)
		goto out;
	rc = left;
	if (!ip)                          /* a start syncs after its hosts file */
		net_names_sync(st, d);
	/* Without nf_tables (many embedded kernels) a warning, not a failure:
	 * containers still reach this host, each other and their published
	 * ports, which is what such devices mostly want; Docker refuses to start
	 * without iptables instead. */
	if (nft_sync(st, d->name, &fw) < 0 && ip)
		fprintf(stderr, "WARNING: %s; containers reach this host and each other, nothing "
			"beyond it\n", fw.msg);
out:
	mr_store_unlock(st);
	mr_json_free(&doc);
	mr_buf_free(&b);
	mr_buf_free(&out);
	return rc;
}

/* ---- published ports: DNAT, or the proxy ----
 * Where nf_tables does NAT, table ip minirun DNATs each published port
 * (nft_ports) and the kernel forwards the bytes: no process copies them.
 * The monitor then keeps the host ports bound (TCP listening, never
 * accepting: DNAT takes every packet before a socket sees it) so that no
 * other program can take them while the container runs, as Docker does;
 * rundir/ID/net says proxy pid 0. Elsewhere (a kernel without nf_tables
 * NAT, or MINIRUN_USERLAND_PROXY=1) a proxy process serves them. */

static struct {
	int fd[NET_MAX_PORTS], n;
} net_held;                               /* the monitor's bound host ports */

static void net_sysctl(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		util_write_all(fd, "1\n", 2);
		close(fd);
	}
}

/* Rebuild the rules with this container's ports in (its rundir/ID/net
 * written, no proxy). */
static int net_dnat(struct mr_store *st, const char *name)
{
	struct mr_err e;
	int rc = mr_store_lock(st, &e);
	if (rc == 0) {
		rc = nft_sync(st, name, &e);
		mr_store_unlock(st);
	}
	if (rc < 0)
		fprintf(stderr, "WARNING: %s; published ports of %s go through the userland "
			"proxy\n", e.msg, name);
	return rc;
}

/* The destination port of a CTA_TUPLE_ORIG if it is UDP, else -1. */
static int net_ct_udp_dport(struct rtattr *orig)
{
	struct rtattr *t, *p;
	int tl, pl, proto = -1, dport = -1;
	for (t = RTA_DATA(orig), tl = (int)RTA_PAYLOAD(orig); RTA_OK(t, tl); t = RTA_NEXT(t, tl)) {
		if ((t->rta_type & NLA_TYPE_MASK) != CTA_TUPLE_PROTO)
			continue;
		for (p = RTA_DATA(t), pl = (int)RTA_PAYLOAD(t); RTA_OK(p, pl); p = RTA_NEXT(p, pl)) {
			if ((p->rta_type & NLA_TYPE_MASK) == CTA_PROTO_NUM)
				proto = *(uint8_t *)RTA_DATA(p);
			else if ((p->rta_type & NLA_TYPE_MASK) == CTA_PROTO_DST_PORT)
				dport = ntohs(*(uint16_t *)RTA_DATA(p));
		}
	}
	return proto == IPPROTO_UDP ? dport : -1;
}

/* Forget the conntrack entries of the UDP host ports just published, as
 * Docker does: a client that kept sending (syslog, DNS, a sensor) before the
 * rules were in, or to the container's old address, owns an entry that
 * would bypass the new DNAT for as long as it keeps sending. The entries are
 * dumped, and those whose original tuple is UDP to one of the ports deleted
 * by that tuple. Best effort: conntrack may not even be loaded. */
static void net_ct_flush(const struct net_port *ports, int n)
{
	enum { CT_MAX = 256 };
	struct nfgenmsg g = { AF_INET, NFNETLINK_V0, 0 };
	struct nl_msg m;
	struct rtattr *hits[CT_MAX];
	static char buf[16384];
	int fd, i, k, nhits = 0, udp = 0, done = 0;
	for (i = 0; i < n; i++)
		udp |= ports[i].proto == 'u';
	if (!udp || (fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER)) < 0)
		return;
	nl_init(&m, NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET, NLM_F_DUMP, &g, sizeof g);
	m.h.nlmsg_flags &= (unsigned short)~NLM_F_ACK;
	if (send(fd, &m.h, m.h.nlmsg_len, 0) < 0)
		done = 1;
	while (!done) {
		ssize_t len = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			break;
		for (; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof g));
			int alen = (int)h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof g));
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				done = 1;
			if (done || h->nlmsg_type != (NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW))
				continue;
			for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				int dport = (a->rta_type & NLA_TYPE_MASK) == CTA_TUPLE_ORIG ?
					    net_ct_udp_dport(a) : -1;
				for (k = 0; dport >= 0 && k < n && nhits < CT_MAX; k++)
					if (ports[k].proto == 'u' && ports[k].hport == dport &&
					    a->rta_len <= 200) {
						hits[nhits] = util_xmalloc(a->rta_len);
						memcpy(hits[nhits++], a, a->rta_len);
						break;
					}
			}
		}
	}
	for (i = 0; i < nhits; i++) {
		nl_init(&m, NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE, 0, &g, sizeof g);
		nl_attr(&m.h, hits[i]->rta_type, RTA_DATA(hits[i]), RTA_PAYLOAD(hits[i]));
		nl_talk(fd, &m.h);
		free(hits[i]);
	}
	close(fd);
}

static void net_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* One TCP connection, both directions through a pipe with splice(): the
 * data never enters user space. */
static void __attribute__((noreturn)) net_relay(int a, uint32_t ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(ip) };
	int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), src[2], dst[2], p[2][2], eof[2] = { 0, 0 };
	size_t pend[2] = { 0, 0 };
	int i;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (b < 0 || connect(b, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    pipe2(p[0], O_CLOEXEC) < 0 || pipe2(p[1], O_CLOEXEC) < 0)
		_exit(1);
	/* 1 MiB pipes (the default is 64 KiB): far fewer splices and polls per
	 * byte; an unprivileged limit (pipe-max-size) only keeps the default */
	for (i = 0; i < 2; i++)
		fcntl(p[i][1], F_SETPIPE_SZ, NET_RELAY_PIPE);
	net_nonblock(a);
	net_nonblock(b);
	src[0] = dst[1] = a;
	src[1] = dst[0] = b;
	/* splice while anything moves; poll only when both sides would block */
	while (!(eof[0] && eof[1] && !pend[0] && !pend[1])) {
		struct pollfd pf[4];
		int moved = 0;
		for (i = 0; i < 2; i++) {
			ssize_t n;
			if (!eof[i] && !pend[i]) {
				n = splice(src[i], NULL, p[i][1], NULL, NET_RELAY_PIPE,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0) {
					pend[i] += (size_t)n;
					moved = 1;
				} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
					eof[i] = 1;
					shutdown(dst[i], SHUT_WR);
				}
			}
			if (pend[i]) {
				n = splice(p[i][0], NULL, dst[i], NULL, pend[i],
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0) {
					pend[i] -= (size_t)n;
					moved = 1;
				} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
					_exit(0);
				}
			}
		}
		if (moved)
			continue;
		for (i = 0; i < 2; i++) {
			pf[i].fd = !eof[i] && !pend[i] ? src[i] : -1;
			pf[i].events = POLLIN;
			pf[2 + i].fd = pend[i] ? dst[i] : -1;
			pf[2 + i].events = POLLOUT;
		}
		if (!(eof[0] && eof[1] && !pend[0] && !pend[1]) && poll(pf, 4, -1) < 0 &&
		    errno != EINTR)
			_exit(1);
	}
	_exit(0);
}

struct net_udp {
	struct sockaddr_in peer;
	int fd, port;                     /* port: index of the listener */
	time_t last;
};

static void net_udp_in(const struct net_port *ports, int *lfd, int i, uint32_t ip,
		       struct net_udp *u)
{
	char buf[65536];
	struct sockaddr_in from, to = { .sin_family = AF_INET };
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(lfd[i], buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	int k, old = 0;
	if (n < 0)
		return;
	for (k = 0; k < NET_UDP_SESSIONS; k++) {
		if (u[k].fd >= 0 && u[k].port == i && u[k].peer.sin_port == from.sin_port &&
		    u[k].peer.sin_addr.s_addr == from.sin_addr.s_addr)
			break;
		if (u[k].fd < 0 || (u[old].fd >= 0 && u[k].last < u[old].last))
			old = k;
	}
	if (k == NET_UDP_SESSIONS) {
		k = old;
		if (u[k].fd >= 0)
			close(u[k].fd);
		to.sin_port = htons(ports[i].cport);
		to.sin_addr.s_addr = htonl(ip);
		u[k].fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (u[k].fd < 0)
			return;
		if (connect(u[k].fd, (struct sockaddr *)&to, sizeof to) < 0) {
			close(u[k].fd);
			u[k].fd = -1;
			return;
		}
		u[k].peer = from;
		u[k].port = i;
	}
	u[k].last = time(NULL);
	send(u[k].fd, buf, (size_t)n, MSG_DONTWAIT);
}

static void __attribute__((noreturn)) net_proxy(const struct net_port *ports, int *lfd, int n,
						uint32_t ip)
{
	struct net_udp u[NET_UDP_SESSIONS];
	struct pollfd pf[NET_MAX_PORTS + NET_UDP_SESSIONS];
	char buf[65536];
	int i, k, fd;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_NAME, "minirun-proxy", 0, 0, 0);
	signal(SIGCHLD, SIG_IGN);     /* connection handlers reap themselves */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (i = 0; fd >= 0 && i < 3; i++)
		dup2(fd, i);
	/* nothing of the monitor's: a report pipe held open here would keep
	 * `run -d` waiting for its end */
	for (fd = 3; fd < 4096; fd++) {
		for (i = 0; i < n && lfd[i] != fd; i++) {}
		if (i == n)
			close(fd);
	}
	for (k = 0; k < NET_UDP_SESSIONS; k++)
		u[k].fd = -1;
	for (;;) {
		for (i = 0; i < n; i++) {
			pf[i].fd = lfd[i];
			pf[i].events = POLLIN;
		}
		for (k = 0; k < NET_UDP_SESSIONS; k++) {
			pf[n + k].fd = u[k].fd;
			pf[n + k].events = POLLIN;
		}
		if (poll(pf, (nfds_t)(n + NET_UDP_SESSIONS), -1) < 0)
			continue;
		for (i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (ports[i].proto == 'u') {
				net_udp_in(ports, lfd, i, ip, u);
				continue;
			}
			fd = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd < 0)
				continue;
			fcntl(fd, F_SETFL, 0);
			if (fork() == 0) {
				for (k = 0; k < n; k++)
					close(lfd[k]);
				net_relay(fd, ip, ports[i].cport);
			}
			close(fd);
		}
		for (k = 0; k < NET_UDP_SESSIONS; k++) {
			ssize_t r;
			if (u[k].fd < 0 || !pf[n + k].revents)
				continue;
			r = recv(u[k].fd, buf, sizeof buf, MSG_DONTWAIT);
			if (r >= 0)
				sendto(lfd[u[k].port], buf, (size_t)r, MSG_DONTWAIT,
				       (struct sockaddr *)&u[k].peer, sizeof u[k].peer);
		}
	}
}

/* Bind every published port (a free one for HOSTPORT 0, written back). */
static int net_listen(struct net_port *ports, int *lfd, int n, struct mr_err *err)
{
	int i, one = 1;
	for (i = 0; i < n; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(ports[i].hport),
					 .sin_addr.s_addr = htonl(ports[i].hip) };
		socklen_t al = sizeof a;
		char ip[16];
		lfd[i] = socket(AF_INET, (ports[i].proto == 'u' ? SOCK_DGRAM : SOCK_STREAM) |
				SOCK_CLOEXEC, 0);
		if (lfd[i] < 0)
			return mr_err_sys(err, "socket");
		if (ports[i].proto == 't')
			setsockopt(lfd[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(lfd[i], (struct sockaddr *)&a, sizeof a) < 0) {
			net_ip_str(ports[i].hip, ip);
			if (errno == EADDRINUSE)
				return mr_err_set(err, MR_EINUSE, "Bind for %s:%u failed: port is "
						  "already allocated", ip, ports[i].hport);
			return mr_err_sys(err, "Bind for %s:%u failed", ip, ports[i].hport);
		}
		if (ports[i].proto == 't' && listen(lfd[i], 128) < 0)
			return mr_err_sys(err, "listen");
		getsockname(lfd[i], (struct sockaddr *)&a, &al);
		ports[i].hport = ntohs(a.sin_port);
	}
	return 0;
}

static void net_veth_name(const char *id, char *out)
{
	sprintf(out, "mr%.12s", id);
}

static void net_mac(uint32_t ip, unsigned char *mac)
{
	mac[0] = 0x02, mac[1] = 0x42;
	mac[2] = (unsigned char)(ip >> 24), mac[3] = (unsigned char)(ip >> 16);
	mac[4] = (unsigned char)(ip >> 8), mac[5] = (unsigned char)ip;
}

static void net_link_gone(const char *name)
{
	int fd = nl_open();
	if (fd >= 0) {
		nl_link_del(fd, name);
		close(fd);
	}
}

/* Release id's address on network d; after its last container the bridge
 * goes (net_alloc has already taken its rule out). */
static int net_release(struct mr_store *st, struct net_def *d, void *id)
{
	struct mr_err ignored;
	if (d->file[0] && net_alloc(st, d, id, NULL, &ignored) == 0)
		net_link_gone(d->bridge);
	return 0;
}

/* ---- network create and inspect ---- */

struct net_overlap {
	uint32_t net;
	int prefix;
	const char *name;
};

/* 2: the name is taken; 1: the subnets overlap. */
static int net_overlaps(struct mr_store *st, struct net_def *d, void *arg)
{
	struct net_overlap *o = arg;
	int p = d->prefix < o->prefix ? d->prefix : o->prefix;
	(void)st;
	if (!strcmp(d->name, o->name))
		return 2;
	return d->prefix && !((d->net ^ o->net) >> (32 - p));
}

static void net_jw_str(struct mr_jw *w, const char *key, const char *v)
{
	mr_jw_key(w, key);
	mr_jw_str(w, v);
}

/* networks/ID.json; without a subnet the first free 10.N.0.0/16 above the
 * default bridge's. The new ID goes to id. */
static int net_create(struct mr_store *st, const char *name, const char *subnet,
		      const char *gateway, char id[65], struct mr_err *err)
{
	struct net_overlap o = { 0, 16, name };
	struct mr_buf out = { 0 };
	struct mr_jw w;
	struct timespec now;
	unsigned char rnd[32];
	char s[16], cidr[20], created[48], file[80];
	uint32_t gw, k = 89;
	int rc = -1, clash;
	if (!ctr_name_valid(name))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid network name \"%s\": only "
				  "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
	if (subnet && net_cidr_parse(subnet, &o.net, &o.prefix) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid subnet %s (expected "
				  "a.b.c.d/8 to /30)", subnet);
	if (mr_store_lock(st, err) < 0)
		return -1;
	for (;; k++) {
		if (!subnet)
			o.net = 10u << 24 | k << 16;
		clash = net_each(st, net_overlaps, &o);
		if (clash == 2) {
			mr_err_set(err, MR_EEXIST, "network with name %s already exists", name);
			goto out;
		}
		if (!clash)
			break;
		if (subnet || k == 255) {
			mr_err_set(err, MR_EINVAL_INPUT, "Pool overlaps with other one on this address space");
			goto out;
		}
	}
	gw = o.net + 1;
	if (gateway && (net_ip_parse(gateway, strlen(gateway), &gw) < 0 || gw <= o.net ||
			gw >= (o.net | ~(~0u << (32 - o.prefix))))) {
		mr_err_set(err, MR_EINVAL_INPUT, "no matching subnet for gateway %s", gateway);
		goto out;
	}
	if (util_random(rnd, sizeof rnd) < 0) {
		mr_err_sys(err, "random");
		goto out;
	}
	util_hex(rnd, sizeof rnd, id);
	clock_gettime(CLOCK_REALTIME, &now);
	util_time_rfc3339(&now, created, sizeof created);
	net_ip_str(o.net, s);
	snprintf(cidr, sizeof cidr, "%s/%d", s, o.prefix);
	net_ip_str(gw, s);
	mr_jw_init(&w, &out, 0);
	mr_jw_obj(&w);
	net_jw_str(&w, "Subnet", cidr);
	net_jw_str(&w, "Name", name);
	net_jw_str(&w, "Id", id);
	net_jw_str(&w, "Created", created);
	net_jw_str(&w, "Gateway", s);
	mr_jw_key(&w, "Containers");
	mr_jw_obj(&w);
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	snprintf(file, sizeof file, "networks/%s.json", id);
	if (mkdirat(st->rootfd, "networks", 0700) < 0 && errno != EEXIST)
		mr_err_sys(err, "networks folder");
	else if (!w.failed)
		rc = net_write(st, file, &out, err);
out:
	mr_store_unlock(st);
	mr_buf_free(&out);
	return rc;
}

/* One network as `network inspect` shows it, Docker's shape. */
static void net_inspect_one(struct mr_store *st, const struct net_def *d, struct mr_jw *w)
{
	struct mr_buf b = { 0 };
	struct mr_json_doc doc = { 0 };
	const struct mr_json *e;
	char s[16], v[24];
	unsigned char m[6];
	uint32_t ip;
	if (d->file[0])
		net_read(st, d->file, &b, &doc);
	mr_jw_obj(w);
	net_jw_str(w, "Name", d->name);
	net_jw_str(w, "Id", d->id);
	net_jw_str(w, "Created", mr_json_str(mr_json_get(doc.root, "Created")) ?: "0001-01-01T00:00:00Z");
	net_jw_str(w, "Scope", "local");
	net_jw_str(w, "Driver", d->driver);
	mr_jw_key(w, "EnableIPv6");
	mr_jw_bool(w, 0);
	mr_jw_key(w, "IPAM");
	mr_jw_obj(w);
	net_jw_str(w, "Driver", "default");
	mr_jw_key(w, "Config");
	mr_jw_arr(w);
	if (d->file[0]) {
		mr_jw_obj(w);
		net_ip_str(d->net, s);
		snprintf(v, sizeof v, "%s/%d", s, d->prefix);
		net_jw_str(w, "Subnet", v);
		net_ip_str(d->gw, s);
		net_jw_str(w, "Gateway", s);
		mr_jw_obj_end(w);
	}
	mr_jw_arr_end(w);
	mr_jw_obj_end(w);
	mr_jw_key(w, "Containers");
	mr_jw_obj(w);
	e = mr_json_get(doc.root, "Containers");
	for (e = e ? e->child : NULL; e; e = e->next) {
		struct ctr c;
		struct mr_err ignored;
		if (!e->str || net_ip_parse(e->str, e->len, &ip) < 0)
			continue;
		mr_jw_key(w, e->key);
		mr_jw_obj(w);
		memset(&c, 0, sizeof c);
		net_jw_str(w, "Name", ctr_load(st, e->key, &c, &ignored) == 0 ? c.name : "");
		ctr_free(&c);
		net_mac(ip, m);
		snprintf(v, sizeof v, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
		net_jw_str(w, "MacAddress", v);
		snprintf(v, sizeof v, "%s/%d", e->str, d->prefix);
		net_jw_str(w, "IPv4Address", v);
		net_jw_str(w, "IPv6Address", "");
		mr_jw_obj_end(w);
	}
	mr_jw_obj_end(w);
	/* Docker's last two keys: no driver options or labels are kept */
	mr_jw_key(w, "Options");
	mr_jw_obj(w);
	mr_jw_obj_end(w);
	mr_jw_key(w, "Labels");
	mr_jw_obj(w);
	mr_jw_obj_end(w);
	mr_jw_obj_end(w);
	mr_json_free(&doc);
	mr_buf_free(&b);
}

/* Undo net_start: proxy, veth, address (and the bridge after the last).
 * Safe to call many times, from the monitor or from rm. */
static void net_stop(struct mr_store *st, const char *id)
{
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	char name[20], ip[16];
	int rfd = ctr_rundir(st, id, 0), fd, pid = 0;
	uint64_t start = 0;
	while (net_held.n > 0)
		close(net_held.fd[--net_held.n]);
	if (rfd >= 0) {
		if (mr_read_file(rfd, "net", &b, 1u << 16, &ignored) == 0 && b.data &&
		    net_rt_head(b.data, ip, &pid, &start) == 0 && pid > 0 &&
		    ctr_pid_start(pid) == start)
			kill(pid, SIGKILL);
		unlinkat(rfd, "net", 0);
		close(rfd);
	}
	mr_buf_free(&b);
	net_veth_name(id, name);
	fd = nl_open();
	if (fd >= 0) {
		nl_link_del(fd, name);
		close(fd);
	}
	net_each(st, net_release, (void *)id);
}

/* Parent side of the start, between the clone and the child's go: address,
 * veth, routes, published ports; /etc/hosts and resolv.conf. The child is
 * waiting, so the network is complete before its program runs. */
static int net_start(struct ctr_spawn *sp, struct mr_err *err)
{
	const struct ctr *c = sp->c;
	struct mr_buf conf = { 0 }, rt = { 0 };
	struct net_port ports[NET_MAX_PORTS];
	struct net_def d;
	int lfd[NET_MAX_PORTS], n = 0, i, fd = -1, br, rc = -1, rfd;
	uint32_t ip = 0;
	unsigned char mac[6];
	char host[20], ips[16], gws[16], path[64];
	const char *l;
	pid_t proxy = 0;
	net_conf_read(sp, &conf);
	if (!net_bridged(c->network)) {
		rc = net_etc(sp, conf.data, NULL, "", err);
		mr_buf_free(&conf);
		return rc;
	}
	for (l = conf.data; *l && n < NET_MAX_PORTS; l = net_next(l))
		if (net_port_line(l, &ports[n]) == 0)
			lfd[n++] = -1;
	if (net_find(sp->st, c->network, &d, err) < 0 || net_alloc(sp->st, &d, c->id, &ip, err) < 0)
		goto out;
	net_ip_str(ip, ips);
	net_ip_str(d.gw, gws);
	net_veth_name(c->id, host);
	net_mac(ip, mac);
	fd = nl_open();
	if (fd < 0) {
		mr_err_sys(err, "netlink");
		goto out;
	}
	nl_link_del(fd, host);            /* left by a killed monitor */
	if ((br = net_bridge(fd, d.bridge, d.gw, d.prefix, err)) < 0 ||
	    net_veth(fd, host, br, sp->pid, mac, err) < 0 ||
	    net_inside(sp->pid, ip, d.prefix, d.gw, err) < 0)
		goto out;
	net_sysctl("/proc/sys/net/ipv4/ip_forward");
	/* 127.0.0.1:HOSTPORT DNATed into the bridge (the guard rule keeps
	 * the containers off the host's 127.0.0.0/8) */
	snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/route_localnet", d.bridge);
	net_sysctl(path);
	if (net_etc(sp, conf.data, ips, gws, err) < 0 || net_listen(ports, lfd, n, err) < 0)
		goto out;
	net_names_sync(sp->st, &d);
	/* the mappings with proxy 0 first: DNAT's rules are made from them */
	for (;;) {
		rt.len = 0;
		mr_buf_printf(&rt, "%s %d %s %02x:%02x:%02x:%02x:%02x:%02x %d %llu\n", ips,
			      d.prefix, gws, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
			      (int)proxy, proxy ? ctr_pid_start(proxy) : 0ULL);
		for (i = 0; i < n; i++)
			net_port_fmt(&ports[i], &rt);
		rfd = ctr_rundir(sp->st, c->id, 1);
		rc = rfd < 0 ? mr_err_sys(err, "run folder") :
			ctr_write_file(rfd, "net", rt.data, rt.len, 0, err);
		if (rfd >= 0)
			close(rfd);
		if (rc < 0 || !n || proxy)
			break;
		if (!(l = getenv("MINIRUN_USERLAND_PROXY"), l && !strcmp(l, "1")) &&
		    net_dnat(sp->st, c->name) == 0) {
			nl_hairpin(fd, (int)if_nametoindex(host));
			net_ct_flush(ports, n);
			for (i = 0; i < n && net_held.n < NET_MAX_PORTS; i++) {
				net_held.fd[net_held.n++] = lfd[i];
				lfd[i] = -1;
			}
			break;
		}
		proxy = fork();
		if (proxy == 0)
			net_proxy(ports, lfd, n, ip);
		if (proxy < 0) {
			rc = mr_err_sys(err, "fork the port proxy");
			break;
		}
	}
out:
	for (i = 0; i < n; i++)
		if (lfd[i] >= 0)
			close(lfd[i]);
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		if (proxy > 0)
			kill(proxy, SIGKILL);
		if (ip)
			net_stop(sp->st, c->id);
		mr_err_ctx(err, "network of %s", c->name);
	}
	mr_buf_free(&conf);
	mr_buf_free(&rt);
	return rc;
}

#else /* !MINIRUN_WITH_NET */

static void net_names_update(struct mr_store *st, const char *network)
{
	(void)st, (void)network;
}

static void net_stop(struct mr_store *st, const char *id)
{
	(void)st, (void)id;
}

static int net_start(struct ctr_spawn *sp, struct mr_err *err)
{
	struct mr_buf conf = { 0 };
	int rc;
	net_conf_read(sp, &conf);
	rc = net_etc(sp, conf.data, NULL, "", err);
	mr_buf_free(&conf);
	return rc;
}

#endif /* MINIRUN_WITH_NET */

/* The live mappings of a container (rundir/ID/net), for port and inspect. */
static int net_rt_read(struct mr_store *st, const char *id, struct mr_buf *b)
{
	struct mr_err ignored;
	int rfd = ctr_rundir(st, id, 0), rc;
	b->len = 0;
	if (rfd < 0)
		return -1;
	rc = mr_read_file(rfd, "net", b, 1u << 16, &ignored);
	close(rfd);
	return rc < 0 || !b->data ? -1 : 0;
}

/* inspect: NetworkSettings' address fields and Ports. */
static void net_inspect(struct mr_store *st, const struct ctr *c, int running, struct mr_jw *w)
{
	struct mr_buf b = { 0 };
	char ip[16] = "", gw[16] = "", mac[20] = "", hp[8];
	int prefix = 0;
	const char *l;
	const char *q = NULL;
	if (!running || net_rt_read(st, c->id, &b) < 0 || !(q = b.data) ||
	    util_word(&q, ip, sizeof ip) < 0 || util_word_int(&q, &prefix) < 0 ||
	    util_word(&q, gw, sizeof gw) < 0 || util_word(&q, mac, sizeof mac) < 0) {
		ip[0] = gw[0] = mac[0] = 0;
		prefix = 0;
	}
	mr_jw_key(w, "Ports");
	mr_jw_obj(w);
	for (l = ip[0] ? strchr(b.data, '\n') : NULL; l && *++l; l = strchr(l, '\n')) {
		struct net_port p;
		char key[16], hip[16];
		if (net_port_line(l, &p) < 0)
			break;
		snprintf(key, sizeof key, "%u/%s", p.cport, p.proto == 'u' ? "udp" : "tcp");
		net_ip_str(p.hip, hip);
		snprintf(hp, sizeof hp, "%u", p.hport);
		mr_jw_key(w, key);
		mr_jw_arr(w);
		mr_jw_obj(w);
		mr_jw_key(w, "HostIp");
		mr_jw_str(w, hip);
		mr_jw_key(w, "HostPort");
		mr_jw_str(w, hp);
		mr_jw_obj_end(w);
		mr_jw_arr_end(w);
	}
	mr_jw_obj_end(w);
	mr_jw_key(w, "Gateway");
	mr_jw_str(w, gw);
	mr_jw_key(w, "IPAddress");
	mr_jw_str(w, ip);
	mr_jw_key(w, "IPPrefixLen");
	mr_jw_int(w, prefix);
	mr_jw_key(w, "MacAddress");
	mr_jw_str(w, mac);
	mr_buf_free(&b);
}

/* A network's ID by name (empty when unknown or built without networking). */
#if MINIRUN_WITH_NET
static void net_id_of(struct mr_store *st, const char *name, char *id, size_t size)
{
	struct net_def d;
	struct mr_err ignored;
	snprintf(id, size, "%s", net_find(st, name, &d, &ignored) == 0 ? d.id : "");
}
#else
static void net_id_of(struct mr_store *st, const char *name, char *id, size_t size)
{
	(void)st;
	(void)name;
	snprintf(id, size, "%s", "");
}
#endif

/* inspect: NetworkSettings.Networks, one endpoint as Docker shows it; the
 * address fields only while running, Aliases (the short ID) on networks
 * users create. EndpointID: derived from the container and network IDs
 * (there is no daemon to keep a random one). */
static void net_inspect_networks(struct mr_store *st, const struct ctr *c, int running,
				 struct mr_jw *w)
{
	struct mr_buf b = { 0 };
	char ip[16] = "", gw[16] = "", mac[20] = "", nid[65], ep[MR_DIGEST_LEN + 1], buf[160];
	int prefix = 0, user = strcmp(c->network, "bridge") && net_bridged(c->network);
	const char *q = NULL;
	mr_jw_key(w, "Networks");
	mr_jw_obj(w);
	if (!strncmp(c->network, "container:", 10)) {
		mr_jw_obj_end(w);
		return;
	}
	if (!running || net_rt_read(st, c->id, &b) < 0 || !(q = b.data) ||
	    util_word(&q, ip, sizeof ip) < 0 || util_word_int(&q, &prefix) < 0 ||
	    util_word(&q, gw, sizeof gw) < 0 || util_word(&q, mac, sizeof mac) < 0) {
		ip[0] = gw[0] = mac[0] = 0;
		prefix = 0;
	}
	net_id_of(st, c->network, nid, sizeof nid);
	snprintf(buf, sizeof buf, "%s %s", c->id, nid);
	mr_digest_buf(buf, strlen(buf), ep);
	mr_jw_key(w, c->network);
	mr_jw_obj(w);
	mr_jw_key(w, "IPAMConfig");
	mr_jw_null(w);
	mr_jw_key(w, "Links");
	mr_jw_null(w);
	mr_jw_key(w, "Aliases");
	if (user) {
		mr_jw_arr(w);
		snprintf(buf, sizeof buf, "%.12s", c->id);
		mr_jw_str(w, buf);
		mr_jw_arr_end(w);
	} else {
		mr_jw_null(w);
	}
	mr_jw_key(w, "NetworkID");
	mr_jw_str(w, nid);
	mr_jw_key(w, "EndpointID");
	mr_jw_str(w, running ? ep + 7 : "");
	mr_jw_key(w, "Gateway");
	mr_jw_str(w, gw);
	mr_jw_key(w, "IPAddress");
	mr_jw_str(w, ip);
	mr_jw_key(w, "IPPrefixLen");
	mr_jw_int(w, prefix);
	mr_jw_key(w, "IPv6Gateway");
	mr_jw_str(w, "");
	mr_jw_key(w, "GlobalIPv6Address");
	mr_jw_str(w, "");
	mr_jw_key(w, "GlobalIPv6PrefixLen");
	mr_jw_int(w, 0);
	mr_jw_key(w, "MacAddress");
	mr_jw_str(w, mac);
	mr_jw_key(w, "DriverOpts");
	mr_jw_null(w);
	mr_jw_obj_end(w);
	mr_jw_obj_end(w);
	mr_buf_free(&b);
}

struct cli;
static int cmd_port(struct cli *cl, int argc, char **argv);   /* [24] */
/* ======================== END src/19_net.c ======================== */

/* ======================== BEGIN src/19b_spec.c ======================== */
#line 1 "src/19b_spec.c"
/* ==== [19b] SPEC: front ends fill the container spec, one back end creates it ====
 * The spec is struct ctr ([14]). `run`/`create` and boot declarations ([21])
 * hand a struct ctr_opts to spec_from_opts, which merges it with the image
 * config by Docker's rules ([14] ctr_spec_*, [19] net_mode, net_run_opts); the
 * OCI runtime mode fills the spec from a bundle. spec_create checks a spec,
 * prepares its mounts and records the container; [17] starts it
 * (ctr_start_detached for `run -d`, `start` and boot; ctr_run_attached). */

/* The run/create front end: a new container's spec from the image and the
 * options. Nothing is made yet: an error leaves the store as it was. */
static int spec_from_opts(struct mr_store *st, const struct ctr_opts *o, struct ctr *c,
			  struct mr_err *err)
{
	const struct mr_json *cfg;
	ctr_init(c);
	if (!MINIRUN_WITH_CGROUPS && (o->memory || o->memory_swap || o->cpus || o->pids_limit))
		return mr_err_set(err, ENOTSUP, "resource limits: built without "
				  "MINIRUN_WITH_CGROUPS");
	if (ctr_spec_identity(c, o->name, err) < 0 || ctr_spec_image(st, o->image, c, err) < 0)
		return -1;
	cfg = mr_json_get(c->img.root, "config");
	if (ctr_spec_process(c, o, cfg, err) < 0 || ctr_spec_namespaces(c, o, err) < 0 ||
	    ctr_spec_lifecycle(c, o, cfg, err) < 0 || ctr_spec_resources(c, o, err) < 0 ||
	    ctr_spec_security(c, o, err) < 0)
		return -1;
	c->net_default = !o->network || !strcmp(o->network, "default");
	if (o->network && net_mode(st, c, o->network, err) < 0)
		return -1;
	if (net_run_opts(c, o->publish.v, o->publish.n, o->publish_all, o->add_host.v,
			 o->add_host.n, o->dns.v, o->dns.n, o->network_alias.v,
			 o->network_alias.n, cfg, err) < 0)
		return -1;
	return ctr_spec_mounts(st, o, c, cfg, err);
}

/* Checks that hold whoever filled the spec. */
static int spec_check(const struct ctr *c, struct mr_err *err)
{
	uint64_t caps;
	if (isolate_caps_resolve(c, &caps, err) < 0)
		return -1;
	if (ctr_ns_host(c->pid_mode) && (!MINIRUN_WITH_CGROUPS || !cg_v2_hier()))
		return mr_err_set(err, ENOTSUP, "--pid host: needs a cgroup2 hierarchy to find "
				  "the container's processes (none mounted%s)",
				  MINIRUN_WITH_CGROUPS ? "" : ", or built without MINIRUN_WITH_CGROUPS");
	return 0;
}

/* The back end: check the spec, make its volumes and folders, record the
 * container (its name claimed: `named` = the user chose it, so a clash is an
 * error rather than a reason to pick another). On failure nothing stays. */
static int spec_create(struct mr_store *st, struct ctr *c, int named, struct mr_err *err)
{
	if (spec_check(c, err) < 0 || ctr_mounts_prepare(st, c, err) < 0)
		return -1;
	snprintf(c->driver, sizeof c->driver, "%s", rootfs_driver(st));
	ctr_now(c->created, sizeof c->created);
	if (ctr_create(st, c, named, err) < 0) {
		ctr_mounts_undo(st, c, c->nmnt);
		return -1;
	}
	return 0;
}
/* ======================== END src/19b_spec.c ======================== */

/* ======================== BEGIN src/20_boot.c ======================== */
#line 1 "src/20_boot.c"
/* ==== [20] BOOT: declarative containers, up, down, init as PID 1 ====
 * One file per container, DIR/NAME.conf (default /etc/minirun/containers, or
 * $MINIRUN_CONFIG_DIR): `key = value` lines, '#' comments. This section parses
 * and orders the declarations and does PID 1's chores (mounts, power off);
 * `up`, `down` and `init` themselves are in [21]. A declaration's keys are
 * the options of `run -d` (struct ctr_opts): its containers go through the
 * same spec and back end ([19b]). A container made by `up` carries the labels
 * minirun.boot=1, minirun.boot.dir=DIR and minirun.boot.hash=<sha256 of the
 * normalized declaration>: an unchanged declaration leaves it alone. */
#if MINIRUN_WITH_INIT
#include <sys/prctl.h>
#include <sys/reboot.h>

#define BOOT_DEFAULT_DIR "/etc/minirun/containers"
#define BOOT_MAX_FILE (64u << 10)

enum boot_kind { BOOT_STR, BOOT_LIST, BOOT_BOOL, BOOT_NUM };

/* A declaration: its keys are the options of `run -d` (o, handed to
 * spec_from_opts as they are), but for archive, depends_on and order, and
 * the entrypoint and command (words, split when the container starts). */
struct boot_decl {
	char name[CTR_NAME_MAX];
	char file[MINIRUN_MAX_PATH];
	char hash[MR_DIGEST_LEN + 1];
	char *text;                        /* the file, cut into keys and values */
	const char *archive, *command, *entrypoint;
	struct ctr_opts o;
	struct ctr_list depends_on;
	/* updates: how the image is kept current (not part of the hash: changing
	 * them does not replace the container) */
	const char *pull, *pull_interval, *pull_rate, *rollout_wait;
	int64_t interval_ns, wait_ns;      /* parsed pull_interval, rollout_wait */
	uint64_t rate;                     /* parsed pull_rate, bytes/s */
	int ok, placed;
	long order;
};

static const struct boot_key {
	const char *name;
	unsigned char kind;
	unsigned short off;
} boot_keys[] = {
#define BK(n, k, f) { n, k, offsetof(struct boot_decl, f) }
	BK("image", BOOT_STR, o.image), BK("archive", BOOT_STR, archive),
	BK("command", BOOT_STR, command), BK("entrypoint", BOOT_STR, entrypoint),
	BK("env", BOOT_LIST, o.env), BK("volume", BOOT_LIST, o.volume),
	BK("mount", BOOT_LIST, o.mount), BK("tmpfs", BOOT_LIST, o.tmpfs),
	BK("port", BOOT_LIST, o.publish), BK("label", BOOT_LIST, o.label),
	BK("network", BOOT_STR, o.network), BK("restart", BOOT_STR, o.restart),
	BK("memory", BOOT_STR, o.memory), BK("cpus", BOOT_STR, o.cpus),
	BK("pids_limit", BOOT_STR, o.pids_limit), BK("user", BOOT_STR, o.user),
	BK("workdir", BOOT_STR, o.workdir), BK("hostname", BOOT_STR, o.hostname),
	BK("stop_timeout", BOOT_STR, o.stop_timeout), BK("stop_signal", BOOT_STR, o.stop_signal),
	BK("read_only", BOOT_BOOL, o.read_only), BK("init", BOOT_BOOL, o.init),
	BK("depends_on", BOOT_LIST, depends_on), BK("order", BOOT_NUM, order),
	BK("device", BOOT_LIST, o.device), BK("sysctl", BOOT_LIST, o.sysctl),
	BK("ulimit", BOOT_LIST, o.ulimit), BK("group_add", BOOT_LIST, o.group_add),
	BK("shm_size", BOOT_STR, o.shm_size), BK("health_cmd", BOOT_STR, o.health_cmd),
	BK("health_interval", BOOT_STR, o.health_interval),
	BK("health_timeout", BOOT_STR, o.health_timeout),
	BK("health_retries", BOOT_STR, o.health_retries), BK("log", BOOT_LIST, o.log_opt),
	BK("network_alias", BOOT_LIST, o.network_alias),
	BK("pull", BOOT_STR, pull), BK("pull_interval", BOOT_STR, pull_interval),
	BK("pull_rate", BOOT_STR, pull_rate), BK("rollout_wait", BOOT_STR, rollout_wait),
#undef BK
};

static void boot_decl_free(struct boot_decl *d)
{
	free(d->text);
	ctr_list_free(&d->o.env);
	ctr_list_free(&d->o.volume);
	ctr_list_free(&d->o.mount);
	ctr_list_free(&d->o.tmpfs);
	ctr_list_free(&d->o.publish);
	ctr_list_free(&d->o.label);
	ctr_list_free(&d->depends_on);
	ctr_list_free(&d->o.device);
	ctr_list_free(&d->o.sysctl);
	ctr_list_free(&d->o.ulimit);
	ctr_list_free(&d->o.group_add);
	ctr_list_free(&d->o.log_opt);
	ctr_list_free(&d->o.network_alias);
	memset(d, 0, sizeof *d);
}

static char *boot_trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && strchr(" \t\r", e[-1]))
		*--e = 0;
	return s;
}

/* Store one `key = value` (line `ln`) into d; the normalized form goes to norm. */
static int boot_set(struct boot_decl *d, char *key, char *val, int ln, struct mr_buf *norm,
		    struct mr_err *err)
{
	const struct boot_key *k;
	char *p = (char *)d;
	uint64_t u;
	for (k = boot_keys; k < boot_keys + sizeof boot_keys / sizeof *boot_keys; k++)
		if (!strcmp(k->name, key))
			break;
	if (k == boot_keys + sizeof boot_keys / sizeof *boot_keys)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: unknown key '%s'", d->file, ln, key);
	if (!*val && k->kind != BOOT_STR)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key '%s': empty value", d->file, ln, key);
	switch (k->kind) {
	case BOOT_STR:
		if (*(const char **)(p + k->off))
			return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key '%s': given twice",
					  d->file, ln, key);
		*(const char **)(p + k->off) = val;
		break;
	case BOOT_LIST:
		if (!strcmp(key, "depends_on")) {
			/* names separated by blanks or commas */
			char *s = val, *w;
			while ((w = strsep(&s, " ,\t")) != NULL) {
				const char *cond = strchr(w, ':');
				if (cond && strcmp(cond, ":healthy"))
					return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key 'depends_on': "
							  "unknown condition '%s' (NAME or NAME:healthy)",
							  d->file, ln, cond + 1);
				if (*w)
					ctr_list_add(&d->depends_on, w);
			}
		} else {
			ctr_list_add((struct ctr_list *)(p + k->off), val);
		}
		break;
	case BOOT_BOOL:
		if (!strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1"))
			*(int *)(p + k->off) = 1;
		else if (strcmp(val, "false") && strcmp(val, "no") && strcmp(val, "0"))
			return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key '%s': not a boolean: %s",
					  d->file, ln, key, val);
		break;
	case BOOT_NUM:
		if (util_parse_u64(val, &u) < 0 || u > 1000000)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: key '%s': not a number: %s",
					  d->file, ln, key, val);
		d->order = (long)u;
		break;
	}
	if (strncmp(key, "pull", 4) && strcmp(key, "rollout_wait"))
		mr_buf_printf(norm, "%s=%s\n", key, val);
	return 0;
}

/* A duration: Docker's ("30s", "1h") or a number of seconds. */
static int boot_duration(const char *s, int64_t *ns)
{
	uint64_t u;
	if (util_parse_u64(s, &u) == 0 && u <= 100000000) {
		*ns = (int64_t)u * 1000000000LL;
		return 0;
	}
	return util_parse_duration(s, ns);
}

/* The update keys: pull = never|missing|always, pull_interval (init's timer
 * for always), pull_rate (bytes/s), rollout_wait (how long a new container
 * without a health check must stay up to be kept). */
static int boot_check_update(struct boot_decl *d, struct mr_err *err)
{
	if (d->pull && strcmp(d->pull, "never") && strcmp(d->pull, "missing") &&
	    strcmp(d->pull, "always"))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'pull': '%s' is not never, missing "
				  "or always", d->file, d->pull);
	if (d->pull_interval && (boot_duration(d->pull_interval, &d->interval_ns) < 0 ||
				 d->interval_ns < 1000000000LL))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'pull_interval': not a duration of "
				  "at least 1s: %s", d->file, d->pull_interval);
	if (d->pull_interval && (!d->pull || strcmp(d->pull, "always")))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'pull_interval' needs pull = always",
				  d->file);
	if (d->pull_rate && (util_parse_size(d->pull_rate, &d->rate) < 0 || d->rate < 1024))
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'pull_rate': not a size per second "
				  "of at least 1k: %s", d->file, d->pull_rate);
	if (d->rollout_wait && boot_duration(d->rollout_wait, &d->wait_ns) < 0)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'rollout_wait': not a duration: %s",
				  d->file, d->rollout_wait);
	return 0;
}

/* Parse the text of DIR/NAME.conf (taken over by d). */
static int boot_parse(struct boot_decl *d, char *text, struct mr_err *err)
{
	struct mr_buf norm;
	char *s, *line;
	const char *pol;
	int ln = 0, rc = -1, max;
	memset(&norm, 0, sizeof norm);
	d->text = text;
	mr_buf_printf(&norm, "name=%s\n", d->name);
	for (s = text; (line = strsep(&s, "\n")) != NULL;) {
		char *eq, *key;
		ln++;
		line = boot_trim(line);
		if (!*line || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			mr_err_set(err, MR_EINVAL_INPUT, "%s:%d: expected 'key = value', got: %.40s",
				   d->file, ln, line);
			goto out;
		}
		*eq = 0;
		key = boot_trim(line);
		if (boot_set(d, key, boot_trim(eq + 1), ln, &norm, err) < 0)
			goto out;
	}
	if (!d->o.image || !*d->o.image) {
		mr_err_set(err, MR_EINVAL_INPUT, "%s: missing key 'image'", d->file);
		goto out;
	}
	if (d->o.restart && ctr_restart_parse(d->o.restart, &pol, &max) < 0) {
		mr_err_set(err, MR_EINVAL_INPUT, "%s: key 'restart': invalid restart policy: %s",
			   d->file, d->o.restart);
		goto out;
	}
	if (boot_check_update(d, err) < 0)
		goto out;
	mr_digest_buf(norm.data, norm.len, d->hash);
	d->ok = 1;
	rc = 0;
out:
	mr_buf_free(&norm);
	return rc;
}

/* Split a command: a JSON array of strings, or shell-like words ('...', "...",
 * backslash). The words are allocated into `own` (freed by the caller). */
static int boot_words(const char *s, struct ctr_list *out, struct ctr_list *own, struct mr_err *err)
{
	char *w;
	size_t n;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '[') {
		struct mr_json_doc doc;
		const struct mr_json *v;
		if (mr_json_parse(&doc, s, strlen(s), err) < 0)
			return -1;
		if (doc.root->type != MR_JSON_ARRAY) {
			mr_json_free(&doc);
			return mr_err_set(err, MR_EINVAL_INPUT, "not a JSON array of strings");
		}
		for (v = doc.root->child; v; v = v->next) {
			if (!mr_json_str(v)) {
				mr_json_free(&doc);
				return mr_err_set(err, MR_EINVAL_INPUT, "not a JSON array of strings");
			}
			w = util_xstrdup(mr_json_str(v));
			ctr_list_add(own, w);
			ctr_list_add(out, w);
		}
		mr_json_free(&doc);
		return 0;
	}
	while (*s) {
		char q = 0;
		w = util_xmalloc(strlen(s) + 1);
		ctr_list_add(own, w);
		for (n = 0; *s && (q || (*s != ' ' && *s != '\t')); s++) {
			if (q && *s == q)
				q = 0;
			else if (!q && (*s == '\'' || *s == '"'))
				q = *s;
			else if (*s == '\\' && q != '\'' && s[1])
				w[n++] = *++s;
			else
				w[n++] = *s;
		}
		if (q)
			return mr_err_set(err, MR_EINVAL_INPUT, "unterminated quote");
		w[n] = 0;
		ctr_list_add(out, w);
		while (*s == ' ' || *s == '\t')
			s++;
	}
	return 0;
}

static int boot_decl_cmp(const void *a, const void *b)
{
	const struct boot_decl *x = a, *y = b;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The declaration of a name; a depends_on word counts up to its ":healthy". */
static struct boot_decl *boot_find(struct boot_decl *d, size_t n, const char *name)
{
	size_t i, len = strcspn(name, ":");
	for (i = 0; i < n; i++)
		if (!strncmp(d[i].name, name, len) && !d[i].name[len])
			return &d[i];
	return NULL;
}

/* Start order: by `order`, then each after what it depends_on, then by name.
 * Fills idx[] with n indexes; a cycle is broken (with a warning) at the first
 * declaration in (order, name). */
static void boot_order(struct boot_decl *d, size_t n, size_t *idx)
{
	size_t k = 0, i, j;
	qsort(d, n, sizeof *d, boot_decl_cmp);
	for (i = 0; i < n; i++)
		d[i].placed = 0;
	while (k < n) {
		size_t pick = n;
		for (i = 0; i < n && pick == n; i++) {
			if (d[i].placed)
				continue;
			for (j = 0; j < d[i].depends_on.n; j++) {
				struct boot_decl *dep = boot_find(d, n, d[i].depends_on.v[j]);
				if (dep && !dep->placed && dep != &d[i])
					break;
			}
			if (j == d[i].depends_on.n)
				pick = i;
		}
		if (pick == n) {
			for (pick = 0; d[pick].placed; pick++) {}
			fprintf(stderr, "minirun: %s: dependency cycle, starting it anyway\n",
				d[pick].file);
		}
		d[pick].placed = 1;
		idx[k++] = pick;
	}
}

/* Read every DIR/NAME.conf. Malformed ones are reported and kept with ok = 0
 * (their container is neither started nor removed). Returns the count, -1 if
 * DIR cannot be read. */
static ssize_t boot_load_dir(const char *dir, struct boot_decl **out, int *bad, struct mr_err *err)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	struct boot_decl *d = NULL;
	size_t n = 0;
	*bad = 0;
	if (!dp)
		return mr_err_sys(err, "boot folder %s", dir);
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);
		struct boot_decl *x;
		struct mr_err e;
		struct mr_buf text = { 0 };
		if (len <= 5 || de->d_name[0] == '.' || !util_ends_with(de->d_name, ".conf"))
			continue;
		d = util_xrealloc(d, (n + 1) * sizeof *d);
		x = &d[n++];
		memset(x, 0, sizeof *x);
		snprintf(x->name, sizeof x->name, "%.*s", (int)(len - 5), de->d_name);
		snprintf(x->file, sizeof x->file, "%s/%s", dir, de->d_name);
		e.msg[0] = 0;
		if (!ctr_name_valid(x->name)) {
			mr_err_set(&e, MR_EINVAL_INPUT, "%s: invalid container name '%s'", x->file, x->name);
		} else if (mr_read_file(AT_FDCWD, x->file, &text, BOOT_MAX_FILE, &e) == 0) {
			mr_buf_append(&text, "", 1);
			boot_parse(x, text.data, &e);
		} else {
			mr_buf_free(&text);
		}
		if (!x->ok) {
			fprintf(stderr, "minirun: %s\n", e.msg);
			(*bad)++;
		}
	}
	closedir(dp);
	*out = d;
	return (ssize_t)n;
}

/* ---- PID 1 ---- */

#if MINIRUN_WITH_CGROUPS
/* Make the controllers containers' limits use available in the subtree they
 * get folders in (/sys/fs/cgroup/minirun), once at boot: `info` then shows
 * them, and the first `run --memory` finds them on. */
static void boot_cgroups(void)
{
	if (cg_version() != 2)
		return;
	mkdir(CG_ROOT "/minirun", 0755);
	cg_v2_enable();
}
#else
static void boot_cgroups(void)
{
}
#endif

/* Mount what a bare initramfs lacks; only as PID 1 (on a running system /tmp
 * may be a plain folder that must not be hidden under a tmpfs). */
static void boot_mounts(void)
{
	static const struct { const char *dir, *type, *opts; } m[] = {
		{ "/proc", "proc", NULL }, { "/sys", "sysfs", NULL },
		{ "/dev", "devtmpfs", "mode=0755" }, { "/run", "tmpfs", "mode=0755" },
		{ "/tmp", "tmpfs", "mode=1777" }, { "/sys/fs/cgroup", "cgroup2", NULL },
	};
	char up[32];
	struct stat parent, st;
	size_t i;
	for (i = 0; i < sizeof m / sizeof *m; i++) {
		mkdir(m[i].dir, 0755);
		/* A folder on its parent's device is not a mount point yet. The
		 * parent, not "/": /sys/fs/cgroup is a folder of the sysfs just
		 * mounted, whose device differs from the root's. */
		snprintf(up, sizeof up, "%s/..", m[i].dir);
		if (stat(m[i].dir, &st) == 0 && stat(up, &parent) == 0 && st.st_dev != parent.st_dev)
			continue;
		if (mount(m[i].type, m[i].dir, m[i].type, MS_NOSUID | (i == 2 ? 0 : MS_NODEV),
			  m[i].opts) < 0)
			fprintf(stderr, "minirun: init: mount %s: %s\n", m[i].dir, strerror(errno));
	}
	boot_cgroups();
}

/* pivot_root(2) refuses the initramfs' rootfs (the first mount has no parent
 * to move it under), and every container start pivots. So PID 1 on a ramfs or
 * tmpfs root first stands on a recursive bind mount of "/" moved over "/", as
 * switch_root moves a new root there: same files, nothing copied, no memory
 * spent, and the mounts made so far come along. The folder that held the bind
 * is removed again. Harmless on a tmpfs that already is a proper mount. */
static void boot_leave_rootfs(void)
{
	static const char spot[] = "/.minirun-root";
	struct statfs sf;
	if (statfs("/", &sf) < 0 || (sf.f_type != RAMFS_MAGIC && sf.f_type != TMPFS_MAGIC))
		return;
	if (mkdir(spot, 0700) < 0 && errno != EEXIST)
		goto fail;
	if (mount("/", spot, NULL, MS_BIND | MS_REC, NULL) < 0)
		goto fail;
	if (chdir(spot) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0) {
		int e = errno;
		if (chdir("/") == 0)
			umount2(spot, MNT_DETACH);
		errno = e;
		goto fail;
	}
	if (chdir("/") < 0)
		goto fail;
	rmdir(spot);
	printf("minirun: init: / is the initramfs: running on a bind mount of it\n");
	return;
fail:
	fprintf(stderr, "minirun: init: %s: %s (containers cannot pivot_root from the "
		"initramfs)\n", spot, strerror(errno));
	rmdir(spot);
}

/* Reap every exited child; returns 1 if `watch` was among them. */
static int boot_reap(pid_t watch, int *status)
{
	int s, hit = 0;
	pid_t p;
	while ((p = waitpid(-1, &s, WNOHANG)) > 0)
		if (p == watch) {
			hit = 1;
			if (status)
				*status = s;
		}
	return hit;
}

/* The end of PID 1: everything else gets TERM, then KILL; sync; power off. */
static void __attribute__((noreturn)) boot_halt(int cmd)
{
	int i;
	kill(-1, SIGTERM);
	for (i = 0; i < 20; i++) {
		struct timespec t = { 0, 100000000L };
		boot_reap(0, NULL);
		if (kill(-1, 0) < 0 && errno == ESRCH)
			break;
		nanosleep(&t, NULL);
	}
	kill(-1, SIGKILL);
	boot_reap(0, NULL);
	sync();
	printf("minirun: init: %s\n", cmd == (int)RB_AUTOBOOT ? "rebooting" : "powering off");
	fflush(stdout);
	reboot(cmd);
	for (;;)
		pause();
}
#endif /* MINIRUN_WITH_INIT */
/* ======================== END src/20_boot.c ======================== */

/* ======================== BEGIN src/20b_oci.c ======================== */
#line 1 "src/20b_oci.c"
/* ==== [20b] OCI: runc's command line for containerd, Docker and k3s (bundles, config.json) ====
 * When minirun is called as runc (argv[0] named runc, or runc's global flags
 * --log, --log-format, --systemd-cgroup, --debug) it runs OCI bundles: a
 * folder with a runtime-spec 1.0.2 config.json and a root filesystem.
 * State lives in --root R (containerd: /run/containerd/runc/NAMESPACE):
 *   R/ID/state.json  id, pid and its start time, bundle, rootfs, created,
 *                    cgroup path, annotations (written once by create)
 *   R/ID/exec.fifo   runc's create/start split: the init, fully set up, blocks
 *                    opening it for writing; `start` reads it, the init execs
 * create leaves no process of its own: the init is reparented to the caller
 * (containerd's shim is a subreaper), as with runc. Set-up follows the same
 * named steps as minirun's own containers ([15]-[17]) and reuses their
 * helpers (mounts through /proc/self/fd, isolate_exec, signal names); the
 * paths come from config.json instead of the store. */

#if MINIRUN_WITH_OCI
#include <poll.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/capability.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

/* Global flags, as runc takes them. */
struct oci_g {
	const char *root, *log, *log_format;
	int debug, systemd;
	int logfd;
};

/* A parsed config.json (or process.json for exec) and what it points into. */
struct oci_cfg {
	struct mr_json_doc doc;
	const struct mr_json *root, *process, *lnx, *res;
	char bundle[MINIRUN_MAX_PATH], rootfs[MINIRUN_MAX_PATH];
};

/* The record of a container: R/ID/state.json. */
struct oci_rec {
	struct mr_json_doc doc;
	const char *id, *bundle, *rootfs, *created, *cgroup;
	const struct mr_json *annotations;
	pid_t pid;
	unsigned long long start;
};

/* ---- logging: JSON lines to --log, errors also to stderr ---- */

static void oci_log(struct oci_g *g, const char *level, const char *msg)
{
	struct mr_buf b = { 0 };
	struct mr_jw w;
	struct timespec ts;
	char t[48];
	if (!strcmp(level, "error"))
		fprintf(stderr, "%s\n", msg);
	if (g->logfd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	util_time_rfc3339(&ts, t, sizeof t);
	if (g->log_format && !strcmp(g->log_format, "text")) {
		mr_buf_printf(&b, "time=\"%s\" level=%s msg=\"%s\"\n", t, level, msg);
	} else {
		mr_jw_init(&w, &b, 0);
		mr_jw_obj(&w);
		mr_jw_key(&w, "level");
		mr_jw_str(&w, level);
		mr_jw_key(&w, "msg");
		mr_jw_str(&w, msg);
		mr_jw_key(&w, "time");
		mr_jw_str(&w, t);
		mr_jw_obj_end(&w);
		mr_buf_append(&b, "\n", 1);
	}
	if (b.data && util_write_all(g->logfd, b.data, b.len) < 0) {
		/* nowhere left to report it */
	}
	mr_buf_free(&b);
}

static int oci_fail(struct oci_g *g, struct mr_err *err)
{
	oci_log(g, "error", err->msg);
	return 1;
}

static void oci_warn(struct oci_g *g, const char *what, const char *arg)
{
	char msg[256];
	snprintf(msg, sizeof msg, "%s %s ignored", what, arg);
	oci_log(g, "warning", msg);
}

/* ---- small JSON readers ---- */

static const char *oci_s(const struct mr_json *o, const char *key)
{
	return mr_json_str(mr_json_get(o, key));
}

static int oci_has(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_NUMBER;
}

/* A number that is there and not 0: runc writes nothing for a 0 (Docker
 * sends "weight": 0 for a controller the host may lack). */
static int oci_nz(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_NUMBER && v->num != 0;
}

static long long oci_i(const struct mr_json *o, const char *key, long long dflt)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_NUMBER ? util_strtoi(v->str, NULL, 10, LLONG_MIN, LLONG_MAX) :
	       dflt;
}

static int oci_b(const struct mr_json *o, const char *key)
{
	const struct mr_json *v = mr_json_get(o, key);
	return v && v->type == MR_JSON_TRUE;
}

/* A NULL-terminated array of the strings of a JSON array (malloc'ed). */
static char **oci_strv(const struct mr_json *arr)
{
	size_t n = arr && arr->type == MR_JSON_ARRAY ? arr->count : 0, i = 0;
	char **v = util_xcalloc(n + 1, sizeof *v);
	const struct mr_json *it;
	for (it = n ? arr->child : NULL; it; it = it->next)
		if (it->type == MR_JSON_STRING)
			v[i++] = (char *)it->str;
	return v;
}

static int oci_read_json(const char *path, struct mr_json_doc *doc, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	int rc;
	if (!strcmp(path, "-")) {
		char chunk[4096];
		ssize_t n;
		while ((n = read(0, chunk, sizeof chunk)) > 0 && b.len < MINIRUN_MAX_JSON)
			mr_buf_append(&b, chunk, (size_t)n);
		rc = 0;
	} else {
		rc = mr_read_file(AT_FDCWD, path, &b, MINIRUN_MAX_JSON, err);
	}
	if (rc == 0 && mr_json_parse(doc, b.data ? b.data : "", b.len, err) < 0)
		rc = mr_err_ctx(err, "%s", path);
	mr_buf_free(&b);
	return rc < 0 ? -1 : 0;
}

static int oci_cap_known(const struct mr_json *caps, struct mr_err *err);
static int oci_rlimit_type(const char *t);

/* What must fail at create rather than at start: a version other than 1.x,
 * an unknown capability or rlimit. */
static int oci_cfg_check(const struct mr_json *root, struct mr_err *err)
{
	const char *v = oci_s(root, "ociVersion");
	const struct mr_json *proc = mr_json_get(root, "process"), *it;
	if (!v || strncmp(v, "1.", 2) || !isdigit((unsigned char)v[2]))
		return mr_err_set(err, MR_EINVAL_INPUT, "config.json: unsupported ociVersion \"%s\"",
				  v ? v : "");
	if (oci_cap_known(mr_json_get(proc, "capabilities"), err) < 0)
		return -1;
	for (it = mr_json_get(proc, "rlimits") ? mr_json_get(proc, "rlimits")->child : NULL; it;
	     it = it->next)
		if (oci_rlimit_type(oci_s(it, "type")) < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "config.json: unknown rlimit type \"%s\"",
					  oci_s(it, "type") ? oci_s(it, "type") : "");
	return 0;
}

static int oci_cfg_load(const char *bundle, struct oci_cfg *cfg, struct mr_err *err)
{
	char path[MINIRUN_MAX_PATH + 16];
	const char *rp;
	memset(cfg, 0, sizeof *cfg);
	if (!realpath(*bundle ? bundle : ".", cfg->bundle))
		return mr_err_sys(err, "bundle %s", bundle);
	snprintf(path, sizeof path, "%s/config.json", cfg->bundle);
	if (oci_read_json(path, &cfg->doc, err) < 0)
		return -1;
	cfg->root = cfg->doc.root;
	cfg->process = mr_json_get(cfg->root, "process");
	cfg->lnx = mr_json_get(cfg->root, "linux");
	cfg->res = mr_json_get(cfg->lnx, "resources");
	rp = oci_s(mr_json_get(cfg->root, "root"), "path");
	if (!rp || !*rp)
		return mr_err_set(err, MR_EINVAL_INPUT, "config.json: root.path is missing");
	snprintf(path, sizeof path, "%s%s%s", rp[0] == '/' ? "" : cfg->bundle, rp[0] == '/' ? "" : "/",
		 rp);
	if (!realpath(path, cfg->rootfs))
		return mr_err_sys(err, "root %s", path);
	if (!cfg->process || !mr_json_get(cfg->process, "args"))
		return mr_err_set(err, MR_EINVAL_INPUT, "config.json: process.args is missing");
	return oci_cfg_check(cfg->root, err);
}

/* ---- records ---- */

static int oci_id_ok(const char *id)
{
	size_t i;
	if (!id || !*id || strlen(id) > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return 0;
	for (i = 0; id[i]; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_+-.", id[i]))
			return 0;
	return 1;
}

static void oci_path(char *out, size_t size, const struct oci_g *g, const char *id, const char *f)
{
	snprintf(out, size, "%s/%s%s%s", g->root, id, f ? "/" : "", f ? f : "");
}

static int oci_rec_load(struct oci_g *g, const char *id, struct oci_rec *r, struct mr_err *err)
{
	char path[MINIRUN_MAX_PATH];
	const struct mr_json *o;
	memset(r, 0, sizeof *r);
	if (!oci_id_ok(id))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid container id: \"%s\"", id ? id : "");
	oci_path(path, sizeof path, g, id, "state.json");
	if (access(path, F_OK) < 0)
		return mr_err_set(err, MR_ENOTFOUND, "container does not exist: %s", id);
	if (oci_read_json(path, &r->doc, err) < 0)
		return -1;
	o = r->doc.root;
	r->id = oci_s(o, "id");
	r->bundle = oci_s(o, "bundle");
	r->rootfs = oci_s(o, "rootfs");
	r->created = oci_s(o, "created");
	r->cgroup = oci_s(o, "cgroup");
	r->annotations = mr_json_get(o, "annotations");
	r->pid = (pid_t)oci_i(o, "pid", 0);
	r->start = (unsigned long long)oci_i(o, "start", 0);
	if (!r->id || !r->bundle || !r->cgroup) {
		mr_json_free(&r->doc);
		return mr_err_set(err, MR_EINVAL_INPUT, "container %s: damaged state.json", id);
	}
	return 0;
}

/* ---- cgroups: the container's folder at cgroupsPath in every hierarchy ----
 * v1 (and the hybrid layout of this kind of host): each controller mounted
 * under /sys/fs/cgroup gets the folder, plus the cgroup2 "unified" one; v2:
 * one folder. A value goes to the hierarchy named by its file's prefix. */

static void oci_cg_dir(char *out, size_t size, const char *hier, const char *cg)
{
	snprintf(out, size, CG_ROOT "%s%s%s", *hier ? "/" : "", hier, cg);
}

/* The hierarchies: "" alone on v2; else the cgroup mounts under CG_ROOT. */
static char **oci_cg_hiers(void)
{
	char **v = util_xcalloc(2, sizeof *v);
	size_t n = 0;
	DIR *d;
	struct dirent *de;
	if (cg_version() == 2) {
		v[0] = util_xstrdup("");
		return v;
	}
	d = opendir(CG_ROOT);
	while (d && (de = readdir(d)) != NULL) {
		struct stat sb;
		char p[300];
		snprintf(p, sizeof p, CG_ROOT "/%s", de->d_name);
		if (de->d_name[0] == '.' || lstat(p, &sb) < 0 || !S_ISDIR(sb.st_mode) ||
		    !cg_is_mounted(de->d_name))
			continue;
		v = util_xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = util_xstrdup(de->d_name);
		v[n] = NULL;
	}
	if (d)
		closedir(d);
	return v;
}

static void oci_strv_free(char **v)
{
	size_t i;
	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The cgroup path from cgroupsPath: absolute as is; "slice:prefix:name"
 * (--systemd-cgroup) as systemd would place it; empty or relative: under
 * /minirun-oci. */
static void oci_cg_path(const struct oci_cfg *cfg, const char *id, int systemd, char *out,
			size_t size)
{
	const char *p = oci_s(cfg->lnx, "cgroupsPath");
	const char *c1 = p ? strchr(p, ':') : NULL, *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (systemd && c2)
		snprintf(out, size, "/%.*s/%.*s-%s.scope", (int)(c1 - p), c1 == p ? "system.slice" : p,
			 (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
	else if (p && p[0] == '/')
		snprintf(out, size, "%s", p);
	else
		snprintf(out, size, "/minirun-oci/%s", p && *p ? p : id);
}

/* Write val into FILE of the container's cgroup; the hierarchy is the
 * file's prefix on v1 ("memory.max" -> memory), the single one on v2. */
static int oci_cg_set(const char *cg, const char *file, const char *val, struct mr_err *err)
{
	char path[MINIRUN_MAX_PATH], hier[32];
	int fd;
	if (cg_version() == 2)
		hier[0] = 0;
	else
		snprintf(hier, sizeof hier, "%.*s", (int)strcspn(file, "."), file);
	oci_cg_dir(path, sizeof path, hier, cg);
	snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || util_write_all(fd, val, strlen(val)) < 0) {
		mr_err_sys(err, "cgroup: write %s to %s", val, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int oci_cg_setn(const char *cg, const char *file, long long v, struct mr_err *err)
{
	char s[24];
	snprintf(s, sizeof s, "%lld", v);
	return oci_cg_set(cg, file, s, err);
}

/* Copy cpuset.cpus/mems from the parent: a new v1 cpuset folder starts
 * empty and refuses tasks. */
static void oci_cg_cpuset_fill(const char *dir)
{
	static const char files[] = "cpuset.cpus\0cpuset.mems\0";
	const char *f;
	for (f = files; *f; f += strlen(f) + 1) {
		char path[MINIRUN_MAX_PATH + 16], buf[256];
		int fd;
		ssize_t n;
		snprintf(path, sizeof path, "%s/%s", dir, f);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : util_read_full(fd, buf, sizeof buf);
		if (fd >= 0)
			close(fd);
		if (n > 1)
			continue;
		snprintf(path, sizeof path, "%.*s/../%s", (int)strlen(dir), dir, f);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : util_read_full(fd, buf, sizeof buf);
		if (fd >= 0)
			close(fd);
		snprintf(path, sizeof path, "%s/%s", dir, f);
		if (n > 0 && (fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
			if (util_write_all(fd, buf, (size_t)n) < 0) {
				/* the start reports what the kernel refuses */
			}
			close(fd);
		}
	}
}

/* mkdir -p of the folder in every hierarchy (cpuset filled level by level;
 * on v2 the controllers enabled down to it). */
static int oci_cg_create(const char *cg, struct mr_err *err)
{
	char **h = oci_cg_hiers();
	size_t i;
	int rc = 0;
	for (i = 0; h[i] && !rc; i++) {
		char dir[MINIRUN_MAX_PATH], *s;
		oci_cg_dir(dir, sizeof dir, h[i], cg);
		for (s = dir + strlen(CG_ROOT) + 1 + strlen(h[i]); s; s = strchr(s + 1, '/')) {
			*s = 0;
			if (*dir && mkdir(dir, 0755) < 0 && errno != EEXIST) {
				rc = mr_err_sys(err, "cgroup: create %s", dir);
				break;
			}
			if (!strcmp(h[i], "cpuset") && s > dir + strlen(CG_ROOT "/cpuset"))
				oci_cg_cpuset_fill(dir);
			if (!*h[i] && strchr(s + 1, '/')) {
				char sub[MINIRUN_MAX_PATH + 32];
				int fd;
				snprintf(sub, sizeof sub, "%s/cgroup.subtree_control", dir);
				fd = open(sub, O_WRONLY | O_CLOEXEC);
				if (fd >= 0) {
					static const char ctl[] = "+cpu\0+cpuset\0+memory\0+pids\0+io\0+hugetlb\0";
					const char *c;
					for (c = ctl; *c; c += strlen(c) + 1)
						if (write(fd, c, strlen(c)) < 0) {
							/* a controller the kernel lacks */
						}
					close(fd);
				}
			}
			*s = '/';
		}
		if (!rc && mkdir(dir, 0755) < 0 && errno != EEXIST)
			rc = mr_err_sys(err, "cgroup: create %s", dir);
		if (!rc && !strcmp(h[i], "cpuset"))
			oci_cg_cpuset_fill(dir);
	}
	oci_strv_free(h);
	return rc;
}

/* Move pid into the folder of every hierarchy. */
static int oci_cg_enter(const char *cg, pid_t pid, struct mr_err *err)
{
	char **h = oci_cg_hiers();
	size_t i;
	int rc = 0;
	for (i = 0; h[i] && !rc; i++) {
		char path[MINIRUN_MAX_PATH + 16], s[16];
		int fd;
		oci_cg_dir(path, sizeof path, h[i], cg);
		strcat(path, "/cgroup.procs");
		snprintf(s, sizeof s, "%d", (int)pid);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || util_write_all(fd, s, strlen(s)) < 0)
			rc = mr_err_sys(err, "cgroup: join %s", path);
		if (fd >= 0)
			close(fd);
	}
	oci_strv_free(h);
	return rc;
}

/* The pids of the container's cgroup (every process, exec'ed ones too). */
static pid_t *oci_cg_pids(const char *cg, size_t *count)
{
	char path[MINIRUN_MAX_PATH], *p;
	const char *h = cg_version() == 2 ? "" : cg_is_mounted("pids") ? "pids" : "memory";
	struct mr_buf b = { 0 };
	pid_t *pids = NULL;
	size_t n = 0;
	struct mr_err ignored;
	oci_cg_dir(path, sizeof path - 16, h, cg);
	strcat(path, "/cgroup.procs");
	if (mr_read_file(AT_FDCWD, path, &b, 1 << 20, &ignored) < 0)
		mr_buf_free(&b);
	for (p = b.data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		pids = util_xrealloc(pids, (n + 1) * sizeof *pids);
		pids[n++] = (pid_t)atoi(p);
	}
	mr_buf_free(&b);
	*count = n;
	return pids;
}

/* The container's folder; and minirun's own parent of default paths once
 * it is empty (a caller's parent, /default or /docker, is the caller's). */
static void oci_cg_remove(const char *cg)
{
	char **h = oci_cg_hiers();
	size_t i;
	for (i = 0; h[i]; i++) {
		char dir[MINIRUN_MAX_PATH];
		oci_cg_dir(dir, sizeof dir, h[i], cg);
		if (rmdir(dir) == 0 && util_starts_with(cg, "/minirun-oci/")) {
			oci_cg_dir(dir, sizeof dir, h[i], "/minirun-oci");
			rmdir(dir);
		}
	}
	oci_strv_free(h);
}

/* "FROZEN"/"THAWED": the v1 freezer, the cgroup2 folder's cgroup.freeze
 * (v2, and the hybrid's unified one when there is no v1 freezer). */
static int oci_cg_freeze(const char *cg, int freeze, struct mr_err *err)
{
	char path[MINIRUN_MAX_PATH];
	int i;
	if (cg_version() == 1 && cg_is_mounted("freezer")) {
		if (oci_cg_set(cg, "freezer.state", freeze ? "FROZEN" : "THAWED", err) < 0)
			return -1;
		for (i = 0; i < 1000 && freeze; i++) {
			struct mr_buf b = { 0 };
			oci_cg_dir(path, sizeof path - 16, "freezer", cg);
			strcat(path, "/freezer.state");
			if (mr_read_file(AT_FDCWD, path, &b, 64, err) < 0)
				return -1;
			if (b.data && !strncmp(b.data, "FROZEN", 6)) {
				mr_buf_free(&b);
				return 0;
			}
			mr_buf_free(&b);
			usleep(1000);
		}
		return 0;
	}
	oci_cg_dir(path, sizeof path - 16, cg_version() == 2 ? "" : "unified", cg);
	strcat(path, "/cgroup.freeze");
	{
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || util_write_all(fd, freeze ? "1" : "0", 1) < 0) {
			if (fd >= 0)
				close(fd);
			return mr_err_sys(err, "cgroup: %s", path);
		}
		close(fd);
	}
	return 0;
}

static int oci_cg_frozen(const char *cg)
{
	char path[MINIRUN_MAX_PATH];
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	int v1 = cg_version() == 1 && cg_is_mounted("freezer"), rc;
	oci_cg_dir(path, sizeof path - 16, v1 ? "freezer" : cg_version() == 2 ? "" : "unified", cg);
	strcat(path, v1 ? "/freezer.state" : "/cgroup.events");
	if (mr_read_file(AT_FDCWD, path, &b, 4096, &ignored) < 0 || !b.data) {
		mr_buf_free(&b);
		return 0;
	}
	rc = v1 ? !strncmp(b.data, "FROZEN", 6) || !strncmp(b.data, "FREEZING", 8) :
	     util_strstr(b.data, "frozen 1") != NULL;
	mr_buf_free(&b);
	return rc;
}

/* "major:minor" of a weightDevice / throttle entry. */
static void oci_devnum(const struct mr_json *d, char *out, size_t size)
{
	snprintf(out, size, "%lld:%lld", oci_i(d, "major", 0), oci_i(d, "minor", 0));
}

/* The v1 device controller from linux.resources.devices: deny all, then the
 * rules in order, then runc's always-allowed nodes (null, zero, full,
 * random, urandom, tty, ptmx, pts, console). */
static int oci_cg_devices(const char *cg, const struct mr_json *devs, const struct mr_json *extra,
			  struct mr_err *err)
{
	static const char always[] = "c 1:3 rwm\0c 1:5 rwm\0c 1:7 rwm\0c 1:8 rwm\0c 1:9 rwm\0"
		"c 5:0 rwm\0c 5:1 rwm\0c 5:2 rwm\0c 136:* rwm\0c 10:200 rwm\0";
	const struct mr_json *d;
	const char *a;
	if (cg_version() != 1 || !cg_is_mounted("devices"))
		return 0;
	if (oci_cg_set(cg, "devices.deny", "a", err) < 0)
		return -1;
	for (d = devs && devs->type == MR_JSON_ARRAY ? devs->child : NULL; d; d = d->next) {
		char rule[96], maj[24] = "*", min[24] = "*";
		const char *type = oci_s(d, "type"), *acc = oci_s(d, "access");
		if (oci_has(d, "major"))
			snprintf(maj, sizeof maj, "%lld", oci_i(d, "major", 0));
		if (oci_has(d, "minor"))
			snprintf(min, sizeof min, "%lld", oci_i(d, "minor", 0));
		if (!type || !*type || !strcmp(type, "a"))
			snprintf(rule, sizeof rule, "a");
		else
			snprintf(rule, sizeof rule, "%s %s:%s %s", type, maj, min, acc && *acc ? acc : "rwm");
		if (oci_cg_set(cg, oci_b(d, "allow") ? "devices.allow" : "devices.deny", rule, err) < 0)
			return -1;
	}
	for (a = always; *a; a += strlen(a) + 1)
		if (oci_cg_set(cg, "devices.allow", a, err) < 0)
			return -1;
	/* the nodes of linux.devices are the container's own (runc allows them) */
	for (d = extra && extra->type == MR_JSON_ARRAY ? extra->child : NULL; d; d = d->next) {
		char rule[96];
		const char *type = oci_s(d, "type");
		snprintf(rule, sizeof rule, "%c %lld:%lld rwm", type && type[0] == 'b' ? 'b' : 'c',
			 oci_i(d, "major", 0), oci_i(d, "minor", 0));
		if (oci_cg_set(cg, "devices.allow", rule, err) < 0)
			return -1;
	}
	return 0;
}

/* linux.resources (config.json at create, stdin of `update`) into the
 * container's cgroup. */
static int oci_cg_resources(const char *cg, const struct mr_json *r, const struct mr_json *devices,
			    struct mr_err *err)
{
	const struct mr_json *m = mr_json_get(r, "memory"), *cpu = mr_json_get(r, "cpu");
	const struct mr_json *pids = mr_json_get(r, "pids"), *bio = mr_json_get(r, "blockIO");
	const struct mr_json *net = mr_json_get(r, "network"), *it, *kv;
	int v2 = cg_version() == 2;
	const char *s;
	char val[128];
	if (!r)
		return 0;
	if (devices && oci_cg_devices(cg, mr_json_get(r, "devices"), mr_json_get(devices, "devices"),
				      err) < 0)
		return -1;
	if (oci_nz(m, "limit") && oci_cg_set(cg, v2 ? "memory.max" : "memory.limit_in_bytes",
					      oci_i(m, "limit", 0) < 0 ? (v2 ? "max" : "-1") :
					      mr_json_get(m, "limit")->str, err) < 0)
		return -1;
	if (oci_nz(m, "reservation") && oci_cg_set(cg, v2 ? "memory.low" :
				"memory.soft_limit_in_bytes", mr_json_get(m, "reservation")->str, err) < 0)
		return -1;
	if (oci_nz(m, "swap")) {
		long long sw = oci_i(m, "swap", 0);
		if (v2 && sw > 0 && oci_nz(m, "limit"))
			sw -= oci_i(m, "limit", 0);
		if (oci_cg_setn(cg, v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes", sw, err) < 0)
			return -1;
	}
	if (!v2 && oci_nz(m, "kernel") && oci_cg_set(cg, "memory.kmem.limit_in_bytes",
						    mr_json_get(m, "kernel")->str, err) < 0)
		return -1;
	if (!v2 && oci_nz(m, "kernelTCP") && oci_cg_set(cg, "memory.kmem.tcp.limit_in_bytes",
						       mr_json_get(m, "kernelTCP")->str, err) < 0)
		return -1;
	if (!v2 && oci_has(m, "swappiness") && oci_i(m, "swappiness", 0) >= 0 &&
	    oci_i(m, "swappiness", 0) <= 100 &&
	    oci_cg_set(cg, "memory.swappiness", mr_json_get(m, "swappiness")->str, err) < 0)
		return -1;
	if (!v2 && oci_b(m, "disableOOMKiller") && oci_cg_set(cg, "memory.oom_control", "1", err) < 0)
		return -1;
	if (oci_nz(cpu, "shares")) {
		long long sh = oci_i(cpu, "shares", 0);
		if (oci_cg_setn(cg, v2 ? "cpu.weight" : "cpu.shares",
				v2 ? 1 + ((sh - 2) * 9999) / 262142 : sh, err) < 0)
			return -1;
	}
	if (!v2 && oci_nz(cpu, "period") &&
	    oci_cg_set(cg, "cpu.cfs_period_us", mr_json_get(cpu, "period")->str, err) < 0)
		return -1;
	if (!v2 && oci_nz(cpu, "quota") &&
	    oci_cg_set(cg, "cpu.cfs_quota_us", mr_json_get(cpu, "quota")->str, err) < 0)
		return -1;
	if (v2 && (oci_nz(cpu, "quota") || oci_nz(cpu, "period"))) {
		long long q = oci_i(cpu, "quota", -1);
		char qs[24];
		snprintf(qs, sizeof qs, "%lld", q);
		snprintf(val, sizeof val, "%s %lld", q > 0 ? qs : "max", oci_i(cpu, "period", 100000));
		if (oci_cg_set(cg, "cpu.max", val, err) < 0)
			return -1;
	}
	if (!v2 && oci_nz(cpu, "realtimePeriod") &&
	    oci_cg_set(cg, "cpu.rt_period_us", mr_json_get(cpu, "realtimePeriod")->str, err) < 0)
		return -1;
	if (!v2 && oci_nz(cpu, "realtimeRuntime") &&
	    oci_cg_set(cg, "cpu.rt_runtime_us", mr_json_get(cpu, "realtimeRuntime")->str, err) < 0)
		return -1;
	if ((s = oci_s(cpu, "cpus")) && *s && oci_cg_set(cg, "cpuset.cpus", s, err) < 0)
		return -1;
	if ((s = oci_s(cpu, "mems")) && *s && oci_cg_set(cg, "cpuset.mems", s, err) < 0)
		return -1;
	if (oci_nz(pids, "limit") && oci_cg_set(cg, "pids.max", oci_i(pids, "limit", 0) <= 0 ? "max" :
					       mr_json_get(pids, "limit")->str, err) < 0)
		return -1;
	if (oci_nz(bio, "weight") && oci_cg_set(cg, v2 ? "io.bfq.weight" : "blkio.weight",
					       mr_json_get(bio, "weight")->str, err) < 0)
		return -1;
	if (!v2 && oci_nz(bio, "leafWeight") && oci_cg_set(cg, "blkio.leaf_weight",
						       mr_json_get(bio, "leafWeight")->str, err) < 0)
		return -1;
	for (it = mr_json_get(bio, "weightDevice") ? mr_json_get(bio, "weightDevice")->child : NULL;
	     it; it = it->next) {
		char dn[48];
		oci_devnum(it, dn, sizeof dn);
		if (oci_nz(it, "weight")) {
			snprintf(val, sizeof val, "%s %lld", dn, oci_i(it, "weight", 0));
			if (oci_cg_set(cg, v2 ? "io.bfq.weight" : "blkio.weight_device", val, err) < 0)
				return -1;
		}
		if (!v2 && oci_nz(it, "leafWeight")) {
			snprintf(val, sizeof val, "%s %lld", dn, oci_i(it, "leafWeight", 0));
			if (oci_cg_set(cg, "blkio.leaf_weight_device", val, err) < 0)
				return -1;
		}
	}
	{
		static const char thr[] = "throttleReadBpsDevice\0blkio.throttle.read_bps_device\0rbps\0"
			"throttleWriteBpsDevice\0blkio.throttle.write_bps_device\0wbps\0"
			"throttleReadIOPSDevice\0blkio.throttle.read_iops_device\0riops\0"
			"throttleWriteIOPSDevice\0blkio.throttle.write_iops_device\0wiops\0";
		const char *t;
		for (t = thr; *t; t += strlen(t) + 1, t += strlen(t) + 1, t += strlen(t) + 1) {
			const char *file = t + strlen(t) + 1, *key = file + strlen(file) + 1;
			for (it = mr_json_get(bio, t) ? mr_json_get(bio, t)->child : NULL; it; it = it->next) {
				char dn[48];
				oci_devnum(it, dn, sizeof dn);
				if (v2)
					snprintf(val, sizeof val, "%s %s=%lld", dn, key, oci_i(it, "rate", 0));
				else
					snprintf(val, sizeof val, "%s %lld", dn, oci_i(it, "rate", 0));
				if (oci_cg_set(cg, v2 ? "io.max" : file, val, err) < 0)
					return -1;
			}
		}
	}
	for (it = mr_json_get(r, "hugepageLimits") ? mr_json_get(r, "hugepageLimits")->child : NULL;
	     it; it = it->next) {
		char file[64];
		snprintf(file, sizeof file, "hugetlb.%s.%s", oci_s(it, "pageSize") ? oci_s(it, "pageSize") :
			 "", v2 ? "max" : "limit_in_bytes");
		if (oci_cg_setn(cg, file, oci_i(it, "limit", 0), err) < 0)
			return -1;
	}
	if (!v2 && oci_nz(net, "classID") &&
	    oci_cg_set(cg, "net_cls.classid", mr_json_get(net, "classID")->str, err) < 0)
		return -1;
	for (it = mr_json_get(net, "priorities") ? mr_json_get(net, "priorities")->child : NULL;
	     it && !v2; it = it->next) {
		snprintf(val, sizeof val, "%s %lld", oci_s(it, "name") ? oci_s(it, "name") : "",
			 oci_i(it, "priority", 0));
		if (oci_cg_set(cg, "net_prio.ifpriomap", val, err) < 0)
			return -1;
	}
	kv = mr_json_get(r, "unified");
	for (it = kv && kv->type == MR_JSON_OBJECT ? kv->child : NULL; it; it = it->next) {
		char path[MINIRUN_MAX_PATH];
		int fd;
		if (strchr(it->key, '/') || it->key[0] == '.' || it->type != MR_JSON_STRING)
			return mr_err_set(err, MR_EINVAL_INPUT, "unified: bad key %s", it->key);
		if (!v2 && !cg_is_mounted("unified"))
			return mr_err_set(err, MR_EINVAL_INPUT, "unified resources need cgroup2");
		oci_cg_dir(path, sizeof path - 256, v2 ? "" : "unified", cg);
		snprintf(path + strlen(path), 256, "/%s", it->key);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || util_write_all(fd, it->str, it->len) < 0) {
			if (fd >= 0)
				close(fd);
			return mr_err_sys(err, "cgroup: write %s", path);
		}
		close(fd);
	}
	return 0;
}

/* ---- hooks: the state on stdin, a timeout, in the runtime's namespaces ---- */

static void oci_state_json(const struct oci_rec *r, const char *id, const char *bundle,
			   const char *status, pid_t pid, const struct mr_json *ann, int indent,
			   struct mr_buf *out)
{
	struct mr_jw w;
	mr_jw_init(&w, out, indent);
	mr_jw_obj(&w);
	mr_jw_key(&w, "ociVersion");
	mr_jw_str(&w, "1.0.2");
	mr_jw_key(&w, "id");
	mr_jw_str(&w, id);
	mr_jw_key(&w, "pid");
	mr_jw_int(&w, pid);
	mr_jw_key(&w, "status");
	mr_jw_str(&w, status);
	mr_jw_key(&w, "bundle");
	mr_jw_str(&w, bundle);
	if (r) {
		mr_jw_key(&w, "rootfs");
		mr_jw_str(&w, r->rootfs);
		mr_jw_key(&w, "created");
		mr_jw_str(&w, r->created);
		mr_jw_key(&w, "owner");
		mr_jw_str(&w, "");
	}
	mr_jw_key(&w, "annotations");
	if (ann && ann->type == MR_JSON_OBJECT)
		mr_jw_value(&w, ann);
	else {
		mr_jw_obj(&w);
		mr_jw_obj_end(&w);
	}
	mr_jw_obj_end(&w);
}

/* Run the hooks of one kind in order. warn != NULL (poststart, poststop):
 * a failure is a warning in the log and the next hook still runs. */
static int oci_hooks(const struct mr_json *hooks, const char *kind, const struct mr_buf *state,
		     struct oci_g *warn, struct mr_err *err)
{
	const struct mr_json *h, *arr = mr_json_get(hooks, kind);
	for (h = arr && arr->type == MR_JSON_ARRAY ? arr->child : NULL; h; h = h->next) {
		const char *path = oci_s(h, "path");
		char **argv = oci_strv(mr_json_get(h, "args")), **envp = oci_strv(mr_json_get(h, "env"));
		long long timeout = oci_i(h, "timeout", 0);
		int p[2], status = 0;
		pid_t pid;
		char *dflt[2] = { (char *)path, NULL };
		if (!path || pipe2(p, O_CLOEXEC) < 0) {
			free(argv);
			free(envp);
			return mr_err_set(err, MR_EINVAL_INPUT, "%s hook: no path", kind);
		}
		/* a hook that leaves without reading its stdin must not kill us */
		signal(SIGPIPE, SIG_IGN);
		pid = fork();
		if (pid == 0) {
			signal(SIGPIPE, SIG_DFL);
			dup2(p[0], 0);
			execve(path, argv[0] ? argv : dflt, envp);
			_exit(127);
		}
		close(p[0]);
		if (pid > 0 && util_write_all(p[1], state->data, state->len) < 0) {
			/* a hook that does not read its stdin */
		}
		close(p[1]);
		free(argv);
		free(envp);
		if (pid < 0)
			return mr_err_sys(err, "%s hook %s", kind, path);
		for (timeout = timeout > 0 ? timeout * 100 : -1; ; timeout--) {
			pid_t r = waitpid(pid, &status, timeout < 0 ? 0 : WNOHANG);
			if (r == pid)
				break;
			if (r < 0 && errno != EINTR)
				return mr_err_sys(err, "%s hook %s", kind, path);
			if (timeout == 0) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				mr_err_set(err, ETIMEDOUT, "%s hook %s: timeout", kind, path);
				if (!warn)
					return -1;
				oci_log(warn, "warning", err->msg);
				status = 0;
				break;
			}
			if (r == 0)
				usleep(10000);
		}
		if (WIFEXITED(status) && !WEXITSTATUS(status))
			continue;
		mr_err_set(err, MR_EINVAL_INPUT, "%s hook %s: exit status %d", kind, path,
			   ctr_exit_code(status));
		if (!warn)
			return -1;
		oci_log(warn, "warning", err->msg);
	}
	return 0;
}

/* ---- the container's init ---- */

/* Parent <-> init messages on the SEQPACKET pair. parent: 'g' (go, with the
 * console size), 'a' (hooks ran); init: 't' + SCM_RIGHTS pty master, 'h'
 * (run prestart/createRuntime now), 'r' (ready, blocking on exec.fifo),
 * 'e' + text (failed). */
struct oci_msg {
	char kind;
	char text[sizeof(((struct mr_err *)0)->msg)];
};

struct oci_init {
	struct oci_cfg *cfg;
	struct oci_g *g;
	const char *id;
	int sync, fifo, rootfd, pty, user_ns, cgroup_ns;
	const char *cg;
	unsigned cons_w, cons_h;
};

static int oci_send(int sock, char kind, const char *text)
{
	struct oci_msg m;
	memset(&m, 0, sizeof m);
	m.kind = kind;
	if (text)
		snprintf(m.text, sizeof m.text, "%s", text);
	return send(sock, &m, 1 + (text ? strlen(m.text) + 1 : 0), MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static const struct { char name[9]; int flag; } oci_ns_names[] = {
	{ "user", CLONE_NEWUSER }, { "pid", CLONE_NEWPID }, { "network", CLONE_NEWNET },
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "mount", CLONE_NEWNS },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

static int oci_ns_flag(const char *type)
{
	size_t i;
	for (i = 0; type && i < sizeof oci_ns_names / sizeof oci_ns_names[0]; i++)
		if (!strcmp(type, oci_ns_names[i].name))
			return oci_ns_names[i].flag;
	return 0;
}

/* Join the namespaces given by path (kind: CLONE_NEWPID only in the parent,
 * every other one in the init). */
static int oci_ns_join(const struct mr_json *lnx, int pid_only, struct mr_err *err)
{
	const struct mr_json *ns = mr_json_get(lnx, "namespaces"), *it;
	for (it = ns && ns->type == MR_JSON_ARRAY ? ns->child : NULL; it; it = it->next) {
		const char *path = oci_s(it, "path");
		int flag = oci_ns_flag(oci_s(it, "type")), fd;
		if (!path || !*path || (flag == CLONE_NEWPID) != pid_only)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return mr_err_sys(err, "namespace %s", path);
		if (setns(fd, flag) < 0) {
			close(fd);
			return mr_err_sys(err, "join namespace %s", path);
		}
		close(fd);
	}
	return 0;
}

/* Mount options: flags, propagation, data for the filesystem. */
static void oci_mount_opts(const struct mr_json *opts, unsigned long *flags, unsigned long *prop,
			   unsigned long *clear, struct mr_buf *data)
{
	static const struct { char name[14]; unsigned char clear; unsigned long flag; } fl[] = {
		{ "ro", 0, MS_RDONLY }, { "rw", 1, MS_RDONLY }, { "nosuid", 0, MS_NOSUID },
		{ "suid", 1, MS_NOSUID }, { "nodev", 0, MS_NODEV }, { "dev", 1, MS_NODEV },
		{ "noexec", 0, MS_NOEXEC }, { "exec", 1, MS_NOEXEC }, { "sync", 0, MS_SYNCHRONOUS },
		{ "async", 1, MS_SYNCHRONOUS }, { "remount", 0, MS_REMOUNT },
		{ "mand", 0, MS_MANDLOCK }, { "nomand", 1, MS_MANDLOCK }, { "dirsync", 0, MS_DIRSYNC },
		{ "noatime", 0, MS_NOATIME }, { "atime", 1, MS_NOATIME },
		{ "nodiratime", 0, MS_NODIRATIME }, { "diratime", 1, MS_NODIRATIME },
		{ "bind", 0, MS_BIND }, { "rbind", 0, MS_BIND | MS_REC },
		{ "relatime", 0, MS_RELATIME }, { "norelatime", 1, MS_RELATIME },
		{ "strictatime", 0, MS_STRICTATIME }, { "nostrictatime", 1, MS_STRICTATIME },
		{ "defaults", 0, 0 },
	};
	const struct mr_json *o;
	*flags = *prop = *clear = 0;
	for (o = opts && opts->type == MR_JSON_ARRAY ? opts->child : NULL; o; o = o->next) {
		size_t i;
		int found = 0;
		struct mount_spec ms;
		if (o->type != MR_JSON_STRING)
			continue;
		for (i = 0; i < sizeof fl / sizeof fl[0] && !found; i++)
			if (!strcmp(o->str, fl[i].name)) {
				found = 1;
				if (fl[i].clear) {
					*flags &= ~fl[i].flag;
					*clear |= fl[i].flag;
				} else {
					*flags |= fl[i].flag;
				}
			}
		if (!found && (!strcmp(o->str, "unbindable") || !strcmp(o->str, "runbindable"))) {
			*prop |= MS_UNBINDABLE | (o->str[0] == 'r' ? MS_REC : 0);
			found = 1;
		}
		if (!found && mount_set_propagation(&ms, o->str) == 0) {
			*prop |= ms.propagation;
			found = 1;
		}
		if (!found && strncmp(o->str, "tmpcopyup", 9) && strncmp(o->str, "idmap", 5)) {
			if (data->len)
				mr_buf_append(data, ",", 1);
			mr_buf_append(data, o->str, o->len);
		}
	}
}

/* v1 hierarchies (and cgroup2) at DEST: a tmpfs with one mount per
 * hierarchy showing the container's own folder as its root: a fresh mount
 * in a cgroup namespace, else (as runc) a bind of the host's folder. */
static int oci_mount_cgroup(struct oci_init *in, const char *dest, unsigned long flags,
			    struct mr_err *err)
{
	int rootfd = in->rootfd;
	char **h, path[MINIRUN_MAX_PATH];
	size_t i;
	int rc = 0;
	if (cg_version() == 2)
		return mount_in_root(rootfd, dest, 'd', "cgroup2", "cgroup2", flags, NULL, err);
	if (mount_in_root(rootfd, dest, 'd', "tmpfs", "tmpfs", flags & ~MS_RDONLY, "mode=755", err) < 0)
		return -1;
	h = oci_cg_hiers();
	for (i = 0; h[i] && !rc; i++) {
		int unified = !strcmp(h[i], "unified");
		snprintf(path, sizeof path, "%s/%s", dest, h[i]);
		if (!in->cgroup_ns) {
			char src[MINIRUN_MAX_PATH];
			oci_cg_dir(src, sizeof src, h[i], in->cg);
			rc = mount_in_root(rootfd, path, 'd', src, NULL, MS_BIND | flags, NULL, err);
		} else if (!strcmp(h[i], "systemd"))
			rc = mount_in_root(rootfd, path, 'd', "cgroup", "cgroup", flags, "none,name=systemd",
					   err);
		else
			rc = mount_in_root(rootfd, path, 'd', unified ? "cgroup2" : "cgroup",
					   unified ? "cgroup2" : "cgroup", flags, unified ? NULL : h[i], err);
	}
	oci_strv_free(h);
	if (!rc && (flags & MS_RDONLY) &&
	    mount_in_root(rootfd, dest, 'x', NULL, NULL, MS_REMOUNT | flags, "mode=755", err) < 0)
		rc = -1;
	return rc;
}

static int oci_mounts(struct oci_init *in, struct mr_err *err)
{
	const struct mr_json *mnts = mr_json_get(in->cfg->root, "mounts"), *m;
	for (m = mnts && mnts->type == MR_JSON_ARRAY ? mnts->child : NULL; m; m = m->next) {
		const char *dest = oci_s(m, "destination"), *type = oci_s(m, "type");
		const char *src = oci_s(m, "source");
		unsigned long flags, prop, clear;
		struct mr_buf data = { 0 };
		char srcp[MINIRUN_MAX_PATH + 8];
		int rc, kind = 'd';
		if (!dest || dest[0] != '/')
			return mr_err_set(err, MR_EINVAL_INPUT, "mount destination %s: not absolute",
					  dest ? dest : "(none)");
		oci_mount_opts(mr_json_get(m, "options"), &flags, &prop, &clear, &data);
		if (type && !strcmp(type, "bind"))
			flags |= MS_BIND;
		if (src && src[0] != '/' && (flags & MS_BIND)) {
			snprintf(srcp, sizeof srcp, "%s/%s", in->cfg->bundle, src);
			src = srcp;
		}
		if (flags & MS_BIND) {
			struct stat sb;
			if (!src || stat(src, &sb) < 0) {
				mr_buf_free(&data);
				return mr_err_sys(err, "mount %s: source %s", dest, src ? src : "");
			}
			kind = S_ISDIR(sb.st_mode) ? 'd' : 'f';
			rc = mount_in_root(in->rootfd, dest + 1, kind, src, NULL, flags, NULL, err);
		} else if (type && !strcmp(type, "cgroup")) {
			rc = oci_mount_cgroup(in, dest + 1, flags, err);
		} else {
			rc = mount_in_root(in->rootfd, dest + 1, 'd', src ? src : type, type, flags,
					   data.data, err);
			/* sysfs in a network namespace we do not own: bind the host's */
			if (rc < 0 && type && !strcmp(type, "sysfs"))
				rc = mount_in_root(in->rootfd, dest + 1, 'd', "/sys", NULL,
						   MS_BIND | MS_REC | flags, NULL, err);
		}
		mr_buf_free(&data);
		if (rc < 0)
			return -1;
		if (prop) {
			int fd = mr_open_in_root(in->rootfd, dest + 1, O_PATH, 0, err);
			char at[40];
			if (fd < 0)
				return -1;
			mount_fdpath(at, sizeof at, fd);
			rc = mount(NULL, at, NULL, prop, NULL);
			close(fd);
			if (rc < 0)
				return mr_err_sys(err, "mount %s: propagation", dest);
		}
	}
	return 0;
}

/* The nodes runc always makes (bound from the host's where mknod is not
 * allowed: a user namespace), the /dev links, then linux.devices. */
static int oci_devices(struct oci_init *in, struct mr_err *err)
{
	static const struct { char name[8]; unsigned char maj, min; } nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 },
		{ "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const char links[] = "fd\0/proc/self/fd\0stdin\0/proc/self/fd/0\0"
		"stdout\0/proc/self/fd/1\0stderr\0/proc/self/fd/2\0ptmx\0pts/ptmx\0";
	const struct mr_json *devs = mr_json_get(in->cfg->lnx, "devices"), *d;
	const char *p;
	size_t i;
	int dev = mr_open_in_root(in->rootfd, "dev", O_PATH | O_DIRECTORY, 0, err);
	if (dev < 0)
		return 0;
	for (d = devs && devs->type == MR_JSON_ARRAY ? devs->child : NULL; d; d = d->next) {
		const char *path = oci_s(d, "path"), *type = oci_s(d, "type");
		mode_t mode = (mode_t)oci_i(d, "fileMode", 0666) & 07777;
		dev_t num = makedev((unsigned)oci_i(d, "major", 0), (unsigned)oci_i(d, "minor", 0));
		char dir[MINIRUN_MAX_PATH];
		const char *slash;
		int dfd;
		if (!path || path[0] != '/' || !type)
			continue;
		slash = strrchr(path, '/');
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
		dfd = mr_mkdir_in_root(in->rootfd, *dir ? dir : "/", 0755, err);
		if (dfd < 0) {
			close(dev);
			return mr_err_ctx(err, "device %s", path);
		}
		unlinkat(dfd, slash + 1, 0);
		mode |= type[0] == 'b' ? S_IFBLK : type[0] == 'p' ? S_IFIFO : S_IFCHR;
		if (mknodat(dfd, slash + 1, mode, num) < 0) {
			char target[MINIRUN_MAX_PATH];
			close(dfd);
			if (!in->user_ns) {
				close(dev);
				return mr_err_sys(err, "device %s", path);
			}
			snprintf(target, sizeof target, "%s", path + 1);
			if (mount_in_root(in->rootfd, target, 'f', path, NULL, MS_BIND, NULL, err) < 0) {
				close(dev);
				return -1;
			}
			continue;
		}
		if (fchownat(dfd, slash + 1, (uid_t)oci_i(d, "uid", 0), (gid_t)oci_i(d, "gid", 0), 0) < 0 ||
		    fchmodat(dfd, slash + 1, mode & 07777, 0) < 0) {
			close(dfd);
			close(dev);
			return mr_err_sys(err, "device %s", path);
		}
		close(dfd);
	}
	for (i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		char src[16], path[16];
		struct stat sb;
		if (fstatat(dev, nodes[i].name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (!in->user_ns && mknodat(dev, nodes[i].name, S_IFCHR | 0666,
					    makedev(nodes[i].maj, nodes[i].min)) == 0) {
			fchmodat(dev, nodes[i].name, 0666, 0);
			continue;
		}
		snprintf(src, sizeof src, "/dev/%s", nodes[i].name);
		snprintf(path, sizeof path, "dev/%s", nodes[i].name);
		if (mount_in_root(in->rootfd, path, 'f', src, NULL, MS_BIND, NULL, err) < 0) {
			close(dev);
			return -1;
		}
	}
	for (p = links; *p; p += strlen(p) + 1, p += strlen(p) + 1)
		if (symlinkat(p + strlen(p) + 1, dev, p) < 0 && errno != EEXIST) {
			close(dev);
			return mr_err_sys(err, "symlink /dev/%s", p);
		}
	{
		struct stat sb;
		if (fstatat(in->rootfd, "proc/kcore", &sb, 0) == 0)
			symlinkat("/proc/kcore", dev, "core");
	}
	close(dev);
	return 0;
}

/* A pty of the container's devpts; the slave becomes /dev/console. */
static int oci_pty(struct oci_init *in, int *slave, struct mr_err *err)
{
	char path[24], target[40], src[40];
	int ptmx, unlock = 0, n = 0, cfd;
	ptmx = mr_open_in_root(in->rootfd, "dev/pts/ptmx", O_RDWR | O_NOCTTY, 0, err);
	if (ptmx < 0)
		ptmx = mr_open_in_root(in->rootfd, "dev/ptmx", O_RDWR | O_NOCTTY, 0, err);
	if (ptmx < 0)
		return mr_err_ctx(err, "open the pty master");
	if (ioctl(ptmx, TIOCSPTLCK, &unlock) < 0 || ioctl(ptmx, TIOCGPTN, &n) < 0) {
		close(ptmx);
		return mr_err_sys(err, "unlock the pty");
	}
	snprintf(path, sizeof path, "dev/pts/%d", n);
	*slave = mr_open_in_root(in->rootfd, path, O_RDWR | O_NOCTTY, 0, err);
	if (*slave < 0) {
		close(ptmx);
		return mr_err_ctx(err, "open the pty");
	}
	if (in->cons_w) {
		struct winsize ws = { (unsigned short)in->cons_h, (unsigned short)in->cons_w, 0, 0 };
		ioctl(*slave, TIOCSWINSZ, &ws);
	}
	in->pty = ptmx;
	cfd = mount_open_in(in->rootfd, "dev/console", 'f', err);
	if (cfd < 0)
		return mr_err_ctx(err, "create /dev/console");
	mount_fdpath(target, sizeof target, cfd);
	mount_fdpath(src, sizeof src, *slave);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0) {
		close(cfd);
		return mr_err_sys(err, "bind /dev/console");
	}
	close(cfd);
	return 0;
}

static int oci_mask(struct oci_init *in, struct mr_err *err)
{
	const struct mr_json *it;
	struct mr_err ignored;
	for (it = mr_json_get(in->cfg->lnx, "maskedPaths") ? mr_json_get(in->cfg->lnx, "maskedPaths")->child
	     : NULL; it; it = it->next) {
		struct stat sb;
		char target[40];
		int fd, rc;
		if (it->type != MR_JSON_STRING || it->str[0] != '/')
			continue;
		fd = mr_open_in_root(in->rootfd, it->str + 1, O_PATH | O_NOFOLLOW, 0, &ignored);
		if (fd < 0)
			continue;
		mount_fdpath(target, sizeof target, fd);
		rc = fstat(fd, &sb) < 0 ? -1 : S_ISDIR(sb.st_mode) ?
			mount("tmpfs", target, "tmpfs", MS_RDONLY, "size=0") :
			mount("/dev/null", target, NULL, MS_BIND, NULL);
		close(fd);
		if (rc < 0)
			return mr_err_sys(err, "mask %s", it->str);
	}
	for (it = mr_json_get(in->cfg->lnx, "readonlyPaths") ?
	     mr_json_get(in->cfg->lnx, "readonlyPaths")->child : NULL; it; it = it->next) {
		int fd;
		char src[40];
		if (it->type != MR_JSON_STRING || it->str[0] != '/')
			continue;
		fd = mr_open_in_root(in->rootfd, it->str + 1, O_PATH | O_NOFOLLOW, 0, &ignored);
		if (fd < 0)
			continue;
		mount_fdpath(src, sizeof src, fd);
		if (mount_in_root(in->rootfd, it->str + 1, 'x', src, NULL, MS_BIND | MS_REC | MS_RDONLY |
				  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

static int oci_sysctls(const struct mr_json *lnx, struct mr_err *err)
{
	const struct mr_json *s = mr_json_get(lnx, "sysctl"), *it;
	for (it = s && s->type == MR_JSON_OBJECT ? s->child : NULL; it; it = it->next) {
		char path[256];
		size_t k;
		int fd;
		if (it->type != MR_JSON_STRING || strstr(it->key, ".."))
			return mr_err_set(err, MR_EINVAL_INPUT, "sysctl %s: bad value", it->key);
		snprintf(path, sizeof path, "/proc/sys/%s", it->key);
		for (k = 10; path[k]; k++)
			if (path[k] == '.')
				path[k] = '/';
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || util_write_all(fd, it->str, it->len) < 0) {
			if (fd >= 0)
				close(fd);
			return mr_err_sys(err, "sysctl %s", it->key);
		}
		close(fd);
	}
	return 0;
}

static uint64_t oci_capset(const struct mr_json *caps, const char *set, struct oci_g *g)
{
	const struct mr_json *arr = mr_json_get(caps, set), *it;
	uint64_t v = 0;
	for (it = arr && arr->type == MR_JSON_ARRAY ? arr->child : NULL; it; it = it->next) {
		int b = it->type == MR_JSON_STRING ? isolate_cap_parse(it->str) : -1;
		if (b >= 0 && b < 64)
			v |= 1ull << b;
		else if (g)
			oci_warn(g, "unknown capability", it->str ? it->str : "?");
	}
	return v;
}

static const char oci_rlimit_names[] =
	"CPU\0FSIZE\0DATA\0STACK\0CORE\0RSS\0NPROC\0NOFILE\0MEMLOCK\0AS\0LOCKS\0SIGPENDING\0"
	"MSGQUEUE\0NICE\0RTPRIO\0RTTIME\0";

/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE, -1 when unknown. */
static int oci_rlimit_type(const char *t)
{
	const char *n = oci_rlimit_names;
	int res;
	if (!t || strncmp(t, "RLIMIT_", 7))
		return -1;
	for (res = 0; *n; res++, n += strlen(n) + 1)
		if (!strcmp(t + 7, n))
			return res;
	return -1;
}

static int oci_cap_known(const struct mr_json *caps, struct mr_err *err)
{
	const struct mr_json *set, *it;
	for (set = caps && caps->type == MR_JSON_OBJECT ? caps->child : NULL; set; set = set->next)
		for (it = set->type == MR_JSON_ARRAY ? set->child : NULL; it; it = it->next) {
			int b = it->type == MR_JSON_STRING ? isolate_cap_parse(it->str) : -1;
			if (b < 0 || b >= 64)
				return mr_err_set(err, MR_EINVAL_INPUT, "config.json: unknown capability "
						  "\"%s\" in %s", it->str ? it->str : "", set->key);
		}
	return 0;
}

/* linux.seccomp: does the profile restrict anything? (its compiler is not
 * written yet: a restricting profile is approximated by minirun's own
 * Docker-default filter, [16] isolate_seccomp, with a warning) */
static int oci_seccomp_wanted(const struct mr_json *lnx)
{
	const char *d = oci_s(mr_json_get(lnx, "seccomp"), "defaultAction");
	return d && strcmp(d, "SCMP_ACT_ALLOW") && strcmp(d, "SCMP_ACT_LOG");
}

/* The last steps of the init and of exec: limits, working folder, seccomp,
 * user, capabilities, no_new_privs; then exec. Returns only on failure. */
static int oci_process_exec(const struct mr_json *proc, int seccomp, struct oci_g *g,
			    struct mr_err *err)
{
	const struct mr_json *user = mr_json_get(proc, "user"), *caps = mr_json_get(proc, "capabilities");
	const struct mr_json *it, *ag = mr_json_get(user, "additionalGids");
	uid_t uid = (uid_t)oci_i(user, "uid", 0);
	gid_t gid = (gid_t)oci_i(user, "gid", 0), groups[64];
	uint64_t bnd, eff, prm, inh, amb;
	size_t ng = 0;
	char **argv, **envp;
	const char *cwd = oci_s(proc, "cwd");
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	int cap;
	for (it = mr_json_get(proc, "rlimits") ? mr_json_get(proc, "rlimits")->child : NULL; it;
	     it = it->next) {
		const char *t = oci_s(it, "type");
		struct rlimit rl;
		int res = oci_rlimit_type(t);
		if (res < 0)
			return mr_err_set(err, MR_EINVAL_INPUT, "rlimit %s: unknown", t ? t : "");
		rl.rlim_cur = (rlim_t)oci_i(it, "soft", 0);
		rl.rlim_max = (rlim_t)oci_i(it, "hard", 0);
		if (syscall(SYS_prlimit64, 0, res, &rl, NULL) < 0)
			return mr_err_sys(err, "rlimit %s", t);
	}
	if (oci_has(proc, "oomScoreAdj")) {
		char s[24];
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		snprintf(s, sizeof s, "%lld", oci_i(proc, "oomScoreAdj", 0));
		if (fd < 0 || util_write_all(fd, s, strlen(s)) < 0) {
			if (fd >= 0)
				close(fd);
			return mr_err_sys(err, "oomScoreAdj");
		}
		close(fd);
	}
	if (oci_s(proc, "apparmorProfile") && *oci_s(proc, "apparmorProfile") && g)
		oci_warn(g, "no AppArmor here: apparmorProfile", oci_s(proc, "apparmorProfile"));
	if (oci_s(proc, "selinuxLabel") && *oci_s(proc, "selinuxLabel") && g)
		oci_warn(g, "no SELinux here: selinuxLabel", oci_s(proc, "selinuxLabel"));
	if (cwd && *cwd && chdir(cwd) < 0)
		return mr_err_sys(err, "cwd %s", cwd);
	for (it = ag && ag->type == MR_JSON_ARRAY ? ag->child : NULL; it && ng < 64; it = it->next)
		groups[ng++] = (gid_t)util_strtoi(it->str, NULL, 10, 0, UINT_MAX);
	bnd = oci_capset(caps, "bounding", g);
	eff = oci_capset(caps, "effective", g);
	prm = oci_capset(caps, "permitted", g);
	inh = oci_capset(caps, "inheritable", g);
	amb = oci_capset(caps, "ambient", g);
	for (cap = 0; cap < 64; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (r < 0)
			break;
		if (r == 1 && !((bnd >> cap) & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return mr_err_sys(err, "drop capability %d from the bounding set", cap);
	}
	if (seccomp) {
		/* installed while CAP_SYS_ADMIN is still held (no no_new_privs needed);
		 * calls are refused or lifted by the container's bounding set */
		struct ctr dummy;
		ctr_init(&dummy);
		if (isolate_seccomp(&dummy, bnd, err) < 0)
			return -1;
	}
	prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	if (syscall(ISOLATE_SYS_SETGROUPS, ng, groups) < 0 && errno != EPERM)
		return mr_err_sys(err, "setgroups");
	if (syscall(ISOLATE_SYS_SETRESGID, gid, gid, gid) < 0)
		return mr_err_sys(err, "setgid %u", (unsigned)gid);
	if (syscall(ISOLATE_SYS_SETRESUID, uid, uid, uid) < 0)
		return mr_err_sys(err, "setuid %u", (unsigned)uid);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (oci_has(user, "umask"))
		umask((mode_t)oci_i(user, "umask", 022) & 0777);
	else
		umask(022);
	memset(data, 0, sizeof data);
	data[0].effective = (uint32_t)eff;
	data[1].effective = (uint32_t)(eff >> 32);
	data[0].permitted = (uint32_t)prm;
	data[1].permitted = (uint32_t)(prm >> 32);
	data[0].inheritable = (uint32_t)inh;
	data[1].inheritable = (uint32_t)(inh >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return mr_err_sys(err, "set capabilities");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* as runc: an ambient capability that is not also inheritable and
	 * permitted is left out rather than failing the start */
	for (cap = 0; cap < 64; cap++)
		if ((amb >> cap) & 1)
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
	if (oci_b(proc, "noNewPrivileges") && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return mr_err_sys(err, "no_new_privs");
	if (isolate_cloexec_all(err) < 0)
		return -1;
	argv = oci_strv(mr_json_get(proc, "args"));
	envp = oci_strv(mr_json_get(proc, "env"));
	return isolate_exec(-1, argv, envp, err) ? -1 : -1;
}

static int oci_personality(const struct mr_json *lnx, struct mr_err *err)
{
	const struct mr_json *p = mr_json_get(lnx, "personality");
	const char *d = oci_s(p, "domain");
	if (!d)
		return 0;
	if (strcmp(d, "LINUX") && strcmp(d, "LINUX32"))
		return mr_err_set(err, MR_EINVAL_INPUT, "personality %s: unknown", d);
	if (personality(strcmp(d, "LINUX32") ? PER_LINUX : PER_LINUX32) < 0)
		return mr_err_sys(err, "personality %s", d);
	return 0;
}

static unsigned long oci_propagation(const char *s, unsigned long dflt)
{
	struct mount_spec ms;
	if (s && !strcmp(s, "unbindable"))
		return MS_UNBINDABLE;
	if (s && !strcmp(s, "runbindable"))
		return MS_UNBINDABLE | MS_REC;
	if (!s || !*s || mount_set_propagation(&ms, s) < 0)
		return dflt;
	return ms.propagation;
}

/* pivot_root refuses a new root whose parent mount is shared (with
 * rootfsPropagation "shared"): make that mount private, as runc does. */
static int oci_parent_private(const char *path, struct mr_err *err)
{
	struct mr_buf b = { 0 };
	char best[MINIRUN_MAX_PATH] = "/", *line;
	size_t bl = 1;
	if (mr_read_file(AT_FDCWD, "/proc/self/mountinfo", &b, 4u << 20, err) < 0)
		return -1;
	for (line = b.data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char mp[MINIRUN_MAX_PATH];
		const char *p = line;
		int i;
		size_t l;
		for (i = 0; i < 4 && p; i++)
			p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
		if (!p)
			continue;
		l = strcspn(p, " ");
		if (l >= sizeof mp)
			continue;
		memcpy(mp, p, l);
		mp[l] = 0;
		if (l > bl && !strncmp(path, mp, l) && (path[l] == '/' || !path[l])) {
			memcpy(best, mp, l + 1);
			bl = l;
		}
	}
	mr_buf_free(&b);
	if (mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
		return mr_err_sys(err, "make %s private", best);
	return 0;
}

/* The init: a linear list of named steps; the first failure is reported
 * to the parent ('e') and ends it. */
static void __attribute__((noreturn)) oci_init_run(struct oci_init *in)
{
	struct mr_err err;
	struct oci_msg m;
	const struct mr_json *lnx = in->cfg->lnx, *proc = in->cfg->process;
	const char *s;
	int slave = -1, i, fd;
	char fifo[40];
	memset(&err, 0, sizeof err);
	if (recv(in->sync, &m, sizeof m, 0) < 1 || m.kind != 'g')
		_exit(1);
	if (in->user_ns && (syscall(ISOLATE_SYS_SETRESGID, 0, 0, 0) < 0 ||
			    syscall(ISOLATE_SYS_SETRESUID, 0, 0, 0) < 0)) {
		mr_err_sys(&err, "become root of the user namespace");
		goto fail;
	}
	if (oci_ns_join(lnx, 0, &err) < 0)
		goto fail;
	for (fd = 0, m.kind = 0; mr_json_get(lnx, "namespaces") &&
	     (size_t)fd < mr_json_get(lnx, "namespaces")->count; fd++) {
		const struct mr_json *ns = mr_json_at(mr_json_get(lnx, "namespaces"), (size_t)fd);
		if (oci_ns_flag(oci_s(ns, "type")) != CLONE_NEWCGROUP)
			continue;
		in->cgroup_ns = 1;
		if (!oci_s(ns, "path") && unshare(CLONE_NEWCGROUP) < 0) {
			mr_err_sys(&err, "cgroup namespace");
			goto fail;
		}
	}
	if (oci_sysctls(lnx, &err) < 0)
		goto fail;
	/* the root: rootfsPropagation (default rslave) for everything, the
	 * rootfs a mount of its own for pivot_root */
	if (mount(NULL, "/", NULL, oci_propagation(oci_s(lnx, "rootfsPropagation"), MS_SLAVE | MS_REC) |
		  MS_REC, NULL) < 0 || oci_parent_private(in->cfg->rootfs, &err) < 0 ||
	    mount(in->cfg->rootfs, in->cfg->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
		mr_err_sys(&err, "mount the root %s", in->cfg->rootfs);
		goto fail;
	}
	in->rootfd = open(in->cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (in->rootfd < 0) {
		mr_err_sys(&err, "open the root %s", in->cfg->rootfs);
		goto fail;
	}
	if (oci_mounts(in, &err) < 0 || oci_devices(in, &err) < 0)
		goto fail;
	if (oci_b(proc, "terminal")) {
		if (oci_pty(in, &slave, &err) < 0)
			goto fail;
		if (ctr_send_fd(in->sync, in->pty) < 0) {
			mr_err_sys(&err, "pass the pty");
			goto fail;
		}
		close(in->pty);
	}
	if (oci_mask(in, &err) < 0)
		goto fail;
	if ((s = oci_s(in->cfg->root, "hostname")) && *s && sethostname(s, strlen(s)) < 0) {
		mr_err_sys(&err, "hostname %s", s);
		goto fail;
	}
	if ((s = oci_s(in->cfg->root, "domainname")) && *s && setdomainname(s, strlen(s)) < 0) {
		mr_err_sys(&err, "domainname %s", s);
		goto fail;
	}
	/* prestart / createRuntime run in the parent now; createContainer here */
	if (oci_send(in->sync, 'h', NULL) < 0 || recv(in->sync, &m, sizeof m, 0) < 1) {
		mr_err_set(&err, EPIPE, "hooks: the runtime is gone");
		goto fail;
	}
	if (m.kind != 'a')
		_exit(1);
	if (mr_json_get(in->cfg->root, "hooks")) {
		struct mr_buf st = { 0 };
		oci_state_json(NULL, in->id, in->cfg->bundle, "created", getpid(),
			       mr_json_get(in->cfg->root, "annotations"), 0, &st);
		i = oci_hooks(mr_json_get(in->cfg->root, "hooks"), "createContainer", &st, NULL, &err);
		mr_buf_free(&st);
		if (i < 0)
			goto fail;
	}
	/* the old root turns slave before it is detached: with a shared
	 * rootfsPropagation the detach would reach the host's mounts */
	if (fchdir(in->rootfd) < 0 || compat_pivot_root(".", ".") < 0 ||
	    mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		mr_err_sys(&err, "pivot_root into %s", in->cfg->rootfs);
		goto fail;
	}
	if ((s = oci_s(lnx, "rootfsPropagation")) && *s &&
	    mount(NULL, "/", NULL, oci_propagation(s, MS_PRIVATE | MS_REC), NULL) < 0) {
		mr_err_sys(&err, "rootfsPropagation %s", s);
		goto fail;
	}
	if (oci_b(mr_json_get(in->cfg->root, "root"), "readonly") &&
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
		mr_err_sys(&err, "remount the root read-only");
		goto fail;
	}
	setsid();
	if (slave >= 0) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0) {
			mr_err_sys(&err, "controlling terminal");
			goto fail;
		}
		for (i = 0; i < 3; i++)
			dup2(slave, i);
		if (slave > 2)
			close(slave);
	}
	if (oci_personality(lnx, &err) < 0)
		goto fail;
	if (oci_s(lnx, "mountLabel") && *oci_s(lnx, "mountLabel"))
		oci_warn(in->g, "no SELinux here: mountLabel", oci_s(lnx, "mountLabel"));
	if (oci_seccomp_wanted(lnx))
		oci_warn(in->g, "seccomp: config.json's profile is approximated by minirun's Docker-default "
			 "filter (calls refused unless the bounding set lifts them); its", "syscalls");
	if (mr_json_get(lnx, "intelRdt"))
		oci_warn(in->g, "no Intel RDT here:", "intelRdt");
	/* ready: the parent leaves; we wait for `start` on exec.fifo */
	snprintf(fifo, sizeof fifo, "/proc/self/fd/%d", in->fifo);
	if (oci_send(in->sync, 'r', NULL) < 0)
		_exit(1);
	fd = open(fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(1);
	close(fd);
	close(in->fifo);
	if (mr_json_get(in->cfg->root, "hooks")) {
		struct mr_buf st = { 0 };
		oci_state_json(NULL, in->id, in->cfg->bundle, "running", getpid(),
			       mr_json_get(in->cfg->root, "annotations"), 0, &st);
		i = oci_hooks(mr_json_get(in->cfg->root, "hooks"), "startContainer", &st, NULL, &err);
		mr_buf_free(&st);
		if (i < 0) {
			fprintf(stderr, "%s\n", err.msg);
			_exit(1);
		}
	}
	oci_process_exec(proc, oci_seccomp_wanted(lnx), NULL, &err);
	fprintf(stderr, "%s\n", err.msg);
	_exit(err.code == ENOENT ? 127 : 126);
fail:
	oci_send(in->sync, 'e', err.msg);
	_exit(1);
}

/* ---- create ---- */

static int oci_console_send(const char *sock, int fd, struct mr_err *err)
{
	struct sockaddr_un sa;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr msg;
	char name[] = "/dev/ptmx";
	struct iovec iov = { name, sizeof name - 1 };
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (s < 0 || strlen(sock) >= sizeof sa.sun_path)
		return mr_err_set(err, EINVAL, "console socket %s: bad path", sock);
	memcpy(sa.sun_path, sock, strlen(sock));
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(s);
		return mr_err_sys(err, "console socket %s", sock);
	}
	memset(&msg, 0, sizeof msg);
	memset(&u, 0, sizeof u);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof u.buf;
	u.h.cmsg_level = SOL_SOCKET;
	u.h.cmsg_type = SCM_RIGHTS;
	u.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&u.h), &fd, sizeof fd);
	if (sendmsg(s, &msg, MSG_NOSIGNAL) < 0)
		rc = mr_err_sys(err, "console socket %s: send", sock);
	close(s);
	return rc;
}

/* Written as runc does (a temporary renamed over it); dirfd: the folder
 * the path is relative to (exec writes it from inside the container's
 * mount namespace, through a folder opened before). */
static int oci_write_pidfile(int dirfd, const char *path, pid_t pid, struct mr_err *err)
{
	char tmp[MINIRUN_MAX_PATH + 8], s[16];
	int fd;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	snprintf(s, sizeof s, "%d", (int)pid);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || util_write_all(fd, s, strlen(s)) < 0 || close(fd) < 0 ||
	    renameat(dirfd, tmp, dirfd, path) < 0)
		return mr_err_sys(err, "pid file %s", path);
	return 0;
}

static int oci_id_maps(pid_t pid, const struct mr_json *lnx, struct mr_err *err)
{
	static const char keys[] = "uidMappings\0gidMappings\0";
	const char *k;
	for (k = keys; *k; k += strlen(k) + 1) {
		const struct mr_json *arr = mr_json_get(lnx, k), *it;
		struct mr_buf b = { 0 };
		char path[48];
		int fd;
		for (it = arr && arr->type == MR_JSON_ARRAY ? arr->child : NULL; it; it = it->next)
			mr_buf_printf(&b, "%lld %lld %lld\n", oci_i(it, "containerID", 0),
				      oci_i(it, "hostID", 0), oci_i(it, "size", 0));
		if (!b.len)
			continue;
		snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, k[0] == 'u' ? "uid_map" : "gid_map");
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || util_write_all(fd, b.data, b.len) < 0) {
			mr_buf_free(&b);
			if (fd >= 0)
				close(fd);
			return mr_err_sys(err, "write %s", path);
		}
		close(fd);
		mr_buf_free(&b);
	}
	return 0;
}

struct oci_create_opts {
	const char *bundle, *pid_file, *console;
	int no_pivot, detach;
};

/* create: the record, the cgroup, the init set up and blocked on
 * exec.fifo. *pid_out: the init (a child of this process). */
static int oci_create(struct oci_g *g, const char *id, const struct oci_create_opts *o,
		      pid_t *pid_out, struct mr_err *err)
{
	struct oci_cfg cfg;
	struct oci_init in;
	struct oci_msg m;
	char dir[MINIRUN_MAX_PATH], path[MINIRUN_MAX_PATH + 16], cg[MINIRUN_MAX_PATH];
	const struct mr_json *ns, *it;
	int sv[2] = { -1, -1 }, flags = CLONE_NEWNS, rc = -1, made_dir = 0, made_cg = 0;
	long pid = -1;
	if (!oci_id_ok(id))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid container id: \"%s\"", id ? id : "");
	if (oci_cfg_load(o->bundle ? o->bundle : ".", &cfg, err) < 0) {
		mr_json_free(&cfg.doc);
		return -1;
	}
	memset(&in, 0, sizeof in);
	in.cfg = &cfg;
	in.g = g;
	in.id = id;
	in.pty = in.fifo = in.rootfd = -1;
	in.cons_w = (unsigned)oci_i(mr_json_get(cfg.process, "consoleSize"), "width", 0);
	in.cons_h = (unsigned)oci_i(mr_json_get(cfg.process, "consoleSize"), "height", 0);
	ns = mr_json_get(cfg.lnx, "namespaces");
	for (it = ns && ns->type == MR_JSON_ARRAY ? ns->child : NULL; it; it = it->next) {
		int f = oci_ns_flag(oci_s(it, "type"));
		if (!f) {
			mr_err_set(err, MR_EINVAL_INPUT, "namespace type %s: unknown",
				   oci_s(it, "type") ? oci_s(it, "type") : "(none)");
			goto out;
		}
		if (!oci_s(it, "path") || !*oci_s(it, "path")) {
			if (f != CLONE_NEWCGROUP)
				flags |= f;
		}
	}
	in.user_ns = !!(flags & CLONE_NEWUSER);
	if (oci_b(cfg.process, "terminal") && !o->console && !o->detach) {
		/* runc run in the foreground with a terminal: ours */
	} else if (oci_b(cfg.process, "terminal") && !o->console) {
		mr_err_set(err, MR_EINVAL_INPUT, "cannot allocate tty if runc will detach without "
			   "setting console socket");
		goto out;
	}
	{
		/* mkdir -p, as runc: containerd names a folder per namespace */
		char p[MINIRUN_MAX_PATH], *s;
		snprintf(p, sizeof p, "%s/", g->root);
		for (s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
			*s = 0;
			if (mkdir(p, 0711) < 0 && errno != EEXIST) {
				mr_err_sys(err, "state folder %s", p);
				goto out;
			}
			*s = '/';
		}
	}
	oci_path(dir, sizeof dir, g, id, NULL);
	if (mkdir(dir, 0711) < 0) {
		if (errno == EEXIST)
			mr_err_set(err, MR_EEXIST, "container with id exists: %s", id);
		else
			mr_err_sys(err, "state folder %s", dir);
		goto out;
	}
	made_dir = 1;
	snprintf(path, sizeof path, "%s/exec.fifo", dir);
	if (mkfifo(path, 0622) < 0 || chmod(path, 0622) < 0 ||
	    (in.fifo = open(path, O_PATH | O_CLOEXEC)) < 0) {
		mr_err_sys(err, "exec fifo %s", path);
		goto out;
	}
	oci_cg_path(&cfg, id, g->systemd, cg, sizeof cg);
	in.cg = cg;
	if (oci_cg_create(cg, err) < 0)
		goto out;
	made_cg = 1;
	if (oci_cg_resources(cg, cfg.res, cfg.lnx ? cfg.lnx : cfg.root, err) < 0)
		goto out;
	if (oci_ns_join(cfg.lnx, 1, err) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		mr_err_sys(err, "socketpair");
		goto out;
	}
	fflush(stdout);
	pid = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		close(sv[0]);
		in.sync = sv[1];
		oci_init_run(&in);
	}
	close(sv[1]);
	sv[1] = -1;
	if (pid < 0) {
		mr_err_sys(err, "clone the container's init");
		goto out;
	}
	if ((in.user_ns && oci_id_maps((pid_t)pid, cfg.lnx, err) < 0) ||
	    oci_cg_enter(cg, (pid_t)pid, err) < 0)
		goto out;
	if (oci_send(sv[0], 'g', NULL) < 0) {
		mr_err_sys(err, "start the init");
		goto out;
	}
	for (;;) {
		union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
		struct iovec iov = { &m, sizeof m };
		struct msghdr msg;
		ssize_t n;
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof u.buf;
		n = recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			mr_err_set(err, EPIPE, "container init exited before it was ready");
			goto out;
		}
		if (m.kind == 't') {
			struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
			int fd = -1;
			if (h && h->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(h), sizeof fd);
			if (o->console && oci_console_send(o->console, fd, err) < 0) {
				close(fd);
				goto out;
			}
			if (!o->console)
				in.pty = fd;
			else
				close(fd);
		} else if (m.kind == 'h') {
			struct mr_buf st = { 0 };
			int hrc;
			oci_state_json(NULL, id, cfg.bundle, "created", (pid_t)pid,
				       mr_json_get(cfg.root, "annotations"), 0, &st);
			hrc = oci_hooks(mr_json_get(cfg.root, "hooks"), "prestart", &st, NULL, err);
			if (hrc == 0)
				hrc = oci_hooks(mr_json_get(cfg.root, "hooks"), "createRuntime", &st, NULL, err);
			mr_buf_free(&st);
			if (hrc < 0 || oci_send(sv[0], 'a', NULL) < 0)
				goto out;
		} else if (m.kind == 'r') {
			break;
		} else {
			m.text[sizeof m.text - 1] = 0;
			mr_err_set(err, MR_EINVAL_INPUT, "%s", n > 1 ? m.text : "container init failed");
			goto out;
		}
	}
	{
		struct mr_buf b = { 0 };
		struct mr_jw w;
		struct timespec ts;
		char t[48];
		int dfd;
		clock_gettime(CLOCK_REALTIME, &ts);
		util_time_rfc3339(&ts, t, sizeof t);
		mr_jw_init(&w, &b, 0);
		mr_jw_obj(&w);
		mr_jw_key(&w, "id");
		mr_jw_str(&w, id);
		mr_jw_key(&w, "pid");
		mr_jw_int(&w, pid);
		mr_jw_key(&w, "start");
		mr_jw_int(&w, (long long)ctr_pid_start((pid_t)pid));
		mr_jw_key(&w, "bundle");
		mr_jw_str(&w, cfg.bundle);
		mr_jw_key(&w, "rootfs");
		mr_jw_str(&w, cfg.rootfs);
		mr_jw_key(&w, "created");
		mr_jw_str(&w, t);
		mr_jw_key(&w, "cgroup");
		mr_jw_str(&w, cg);
		mr_jw_key(&w, "annotations");
		if (mr_json_get(cfg.root, "annotations"))
			mr_jw_value(&w, mr_json_get(cfg.root, "annotations"));
		else
			mr_jw_null(&w);
		mr_jw_key(&w, "seccomp");
		mr_jw_bool(&w, oci_seccomp_wanted(cfg.lnx));
		mr_jw_key(&w, "hooks");
		if (mr_json_get(cfg.root, "hooks"))
			mr_jw_value(&w, mr_json_get(cfg.root, "hooks"));
		else
			mr_jw_null(&w);
		mr_jw_obj_end(&w);
		dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
		rc = dfd < 0 ? mr_err_sys(err, "open %s", dir) :
		     mr_write_atomic(dfd, "state.json", b.data, b.len, 0644, err);
		if (dfd >= 0)
			close(dfd);
		mr_buf_free(&b);
		if (rc < 0)
			goto out;
	}
	if (o->pid_file && (rc = oci_write_pidfile(AT_FDCWD, o->pid_file, (pid_t)pid, err)) < 0)
		goto out;
	*pid_out = (pid_t)pid;
	rc = in.pty >= 0 ? in.pty : 0;
	in.pty = -1;
out:
	if (rc < 0) {
		if (pid > 0) {
			kill((pid_t)pid, SIGKILL);
			waitpid((pid_t)pid, NULL, 0);
		}
		if (made_cg)
			oci_cg_remove(cg);
		if (made_dir) {
			snprintf(path, sizeof path, "%s/exec.fifo", dir);
			unlink(path);
			snprintf(path, sizeof path, "%s/state.json", dir);
			unlink(path);
			rmdir(dir);
		}
	}
	if (sv[0] >= 0)
		close(sv[0]);
	if (in.fifo >= 0)
		close(in.fifo);
	if (in.pty >= 0)
		close(in.pty);
	mr_json_free(&cfg.doc);
	return rc;
}

/* ---- status ---- */

static const char *oci_status(struct oci_g *g, const struct oci_rec *r)
{
	char path[MINIRUN_MAX_PATH];
	if (!r->pid || ctr_pid_start(r->pid) != r->start)
		return "stopped";
	oci_path(path, sizeof path, g, r->id, "exec.fifo");
	if (access(path, F_OK) == 0)
		return "created";
	return oci_cg_frozen(r->cgroup) ? "paused" : "running";
}

/* ---- commands ---- */

/* runc's flags: --name VALUE, --name=VALUE, -name (Go's flag package
 * takes one dash too). spec: "name\0" entries, a leading ':' for those
 * taking a value, short aliases after a '|' ("bundle|b"). */
struct oci_args {
	const char *val[12];
	int set[12];
	char **pos;
	int npos;
};

static int oci_parse(int argc, char **argv, const char *const *names, struct oci_args *a,
		     struct mr_err *err)
{
	int i, k;
	memset(a, 0, sizeof *a);
	a->pos = util_xcalloc((size_t)argc + 1, sizeof *a->pos);
	for (i = 0; i < argc; i++) {
		const char *s = argv[i], *eq;
		size_t len;
		if (s[0] != '-' || !s[1] || a->npos) {
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (!strcmp(s, "--")) {
			for (i++; i < argc; i++)
				a->pos[a->npos++] = argv[i];
			break;
		}
		s += s[1] == '-' ? 2 : 1;
		eq = strchr(s, '=');
		len = eq ? (size_t)(eq - s) : strlen(s);
		for (k = 0; names[k]; k++) {
			const char *n = names[k] + (names[k][0] == ':'), *bar = strchr(n, '|');
			size_t nl = bar ? (size_t)(bar - n) : strlen(n);
			if ((nl == len && !strncmp(n, s, len)) ||
			    (bar && strlen(bar + 1) == len && !strncmp(bar + 1, s, len)))
				break;
		}
		if (!names[k]) {
			free(a->pos);
			return mr_err_set(err, MR_EINVAL_INPUT, "flag provided but not defined: -%.*s",
					  (int)len, s);
		}
		a->set[k] = 1;
		if (names[k][0] == ':') {
			if (eq)
				a->val[k] = eq + 1;
			else if (i + 1 < argc)
				a->val[k] = argv[++i];
			else {
				free(a->pos);
				return mr_err_set(err, MR_EINVAL_INPUT, "flag needs an argument: -%s", s);
			}
		} else if (eq) {
			a->set[k] = strcmp(eq + 1, "false") != 0;
		}
	}
	return 0;
}

static int oci_need_id(struct oci_args *a, const char *cmd, struct mr_err *err)
{
	if (a->npos < 1)
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: container id cannot be empty", cmd);
	return 0;
}

static int oci_cmd_start_id(struct oci_g *g, const char *id, struct mr_err *err);
static int oci_delete_id(struct oci_g *g, const char *id, int force, struct mr_err *err);

static int oci_cmd_create(struct oci_g *g, int argc, char **argv, int run)
{
	static const char *const names[] = { ":bundle|b", ":pid-file", ":console-socket", "no-pivot",
					     "no-new-keyring", ":preserve-fds", "detach|d",
					     "keep", "no-subreaper", NULL };
	struct oci_args a;
	struct oci_create_opts o;
	struct mr_err err;
	pid_t pid = 0;
	int rc, status, pty;
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0 || oci_need_id(&a, "create", &err) < 0)
		return oci_fail(g, &err);
	memset(&o, 0, sizeof o);
	o.bundle = a.val[0];
	o.pid_file = a.val[1];
	o.console = a.val[2];
	o.detach = !run || a.set[6];
	pty = oci_create(g, a.pos[0], &o, &pid, &err);
	if (pty < 0) {
		free(a.pos);
		return oci_fail(g, &err);
	}
	if (!run) {
		free(a.pos);
		return 0;
	}
	{
		rc = oci_cmd_start_id(g, a.pos[0], &err);
	}
	if (rc < 0) {
		free(a.pos);
		return oci_fail(g, &err);
	}
	if (a.set[6]) {
		free(a.pos);
		return 0;
	}
	/* foreground: relay the pty if we own it, wait, then delete */
	if (pty > 0) {
		char buf[4096];
		struct pollfd p[2] = { { 0, POLLIN, 0 }, { pty, POLLIN, 0 } };
		for (;;) {
			ssize_t n;
			if (poll(p, 2, -1) < 0 && errno != EINTR)
				break;
			if (p[0].revents & POLLIN) {
				n = read(0, buf, sizeof buf);
				if (n <= 0)
					p[0].fd = -1;
				else if (util_write_all(pty, buf, (size_t)n) < 0)
					break;
			}
			if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
				n = read(pty, buf, sizeof buf);
				if (n <= 0 || util_write_all(1, buf, (size_t)n) < 0)
					break;
			}
		}
		close(pty);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = 0;
			break;
		}
	oci_delete_id(g, a.pos[0], 1, &err);
	free(a.pos);
	return ctr_exit_code(status);
}

static int oci_cmd_start_id(struct oci_g *g, const char *id, struct mr_err *err)
{
	struct oci_rec r;
	char path[MINIRUN_MAX_PATH], c;
	const char *st;
	struct pollfd p;
	int fd, rc = 0, n;
	if (oci_rec_load(g, id, &r, err) < 0)
		return -1;
	st = oci_status(g, &r);
	if (strcmp(st, "created")) {
		mr_json_free(&r.doc);
		return mr_err_set(err, MR_EINVAL_INPUT, strcmp(st, "stopped") ?
				  "cannot start an already running container" :
				  "cannot start a container that has stopped");
	}
	oci_path(path, sizeof path, g, id, "exec.fifo");
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		mr_json_free(&r.doc);
		return mr_err_sys(err, "open %s", path);
	}
	p.fd = fd;
	p.events = POLLIN;
	/* the init opens its end once it is ready: wait for its byte, or its end */
	for (;;) {
		n = poll(&p, 1, 100);
		if (n > 0 && read(fd, &c, 1) == 1)
			break;
		if (ctr_pid_start(r.pid) != r.start) {
			rc = mr_err_set(err, ESRCH, "container %s: its init is gone", id);
			break;
		}
	}
	/* then its end closes at execve (close-on-exec): the program runs when
	 * `start` returns (a signal sent right after reaches the program) */
	for (n = 0; rc == 0 && n < 50; n++) {
		p.revents = 0;
		if (poll(&p, 1, 100) > 0 && read(fd, &c, 1) <= 0)
			break;
		if (ctr_pid_start(r.pid) != r.start)
			break;
	}
	close(fd);
	unlink(path);
	if (rc == 0 && mr_json_get(r.doc.root, "hooks")) {
		struct mr_buf s = { 0 };
		oci_state_json(&r, id, r.bundle, "running", r.pid, r.annotations, 0, &s);
		oci_hooks(mr_json_get(r.doc.root, "hooks"), "poststart", &s, g, err);
		mr_buf_free(&s);
	}
	mr_json_free(&r.doc);
	return rc;
}

static int oci_cmd_start(struct oci_g *g, int argc, char **argv)
{
	static const char *const names[] = { NULL };
	struct oci_args a;
	struct mr_err err;
	int rc;
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0 || oci_need_id(&a, "start", &err) < 0)
		return oci_fail(g, &err);
	rc = oci_cmd_start_id(g, a.pos[0], &err);
	free(a.pos);
	return rc < 0 ? oci_fail(g, &err) : 0;
}

static int oci_cmd_state(struct oci_g *g, int argc, char **argv)
{
	static const char *const names[] = { NULL };
	struct oci_args a;
	struct oci_rec r;
	struct mr_err err;
	struct mr_buf b = { 0 };
	const char *st;
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0 || oci_need_id(&a, "state", &err) < 0)
		return oci_fail(g, &err);
	if (oci_rec_load(g, a.pos[0], &r, &err) < 0) {
		free(a.pos);
		return oci_fail(g, &err);
	}
	st = oci_status(g, &r);
	oci_state_json(&r, r.id, r.bundle, st, strcmp(st, "stopped") ? r.pid : 0, r.annotations, 2, &b);
	printf("%s\n", b.data);
	mr_buf_free(&b);
	mr_json_free(&r.doc);
	free(a.pos);
	return 0;
}

/* Signal the init (or every process of the cgroup with --all). */
static int oci_cmd_kill(struct oci_g *g, int argc, char **argv)
{
	static const char *const names[] = { "all|a", ":pid|p", NULL };
	struct oci_args a;
	struct oci_rec r;
	struct mr_err err;
	const char *st;
	int sig, rc = 0;
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0 || oci_need_id(&a, "kill", &err) < 0)
		return oci_fail(g, &err);
	sig = ctr_signal_parse(a.npos > 1 ? a.pos[1] : "TERM");
	if (!sig) {
		mr_err_set(&err, MR_EINVAL_INPUT, "unknown signal \"%s\"", a.pos[1]);
		free(a.pos);
		return oci_fail(g, &err);
	}
	if (oci_rec_load(g, a.pos[0], &r, &err) < 0) {
		free(a.pos);
		return oci_fail(g, &err);
	}
	st = oci_status(g, &r);
	if (a.set[0]) {
		size_t n, i;
		pid_t *p = oci_cg_pids(r.cgroup, &n);
		if (sig == SIGKILL && !strcmp(st, "paused"))
			oci_cg_freeze(r.cgroup, 0, &err);
		for (i = 0; i < n; i++)
			kill(p[i], sig);
		free(p);
	} else if (!strcmp(st, "stopped")) {
		rc = mr_err_set(&err, ESRCH, "container not running");
	} else if (kill(r.pid, sig) < 0) {
		rc = mr_err_sys(&err, "kill %d", (int)r.pid);
	}
	mr_json_free(&r.doc);
	free(a.pos);
	return rc < 0 ? oci_fail(g, &err) : 0;
}

static int oci_delete_id(struct oci_g *g, const char *id, int force, struct mr_err *err)
{
	struct oci_rec r;
	char path[MINIRUN_MAX_PATH];
	const char *st;
	int i;
	if (oci_rec_load(g, id, &r, err) < 0) {
		char dir[MINIRUN_MAX_PATH];
		if (err->code == MR_ENOTFOUND && oci_id_ok(id)) {
			/* a half-made state folder (create killed): nothing runs */
			oci_path(dir, sizeof dir, g, id, "exec.fifo");
			unlink(dir);
			oci_path(dir, sizeof dir, g, id, NULL);
			rmdir(dir);
		}
		return force && err->code == MR_ENOTFOUND ? 0 : -1;
	}
	st = oci_status(g, &r);
	if (!force && strcmp(st, "stopped") && strcmp(st, "created")) {
		mr_json_free(&r.doc);
		return mr_err_set(err, MR_EINUSE, "cannot delete container %s that is not stopped: %s",
				  id, st);
	}
	if (strcmp(st, "stopped")) {
		size_t n, k;
		pid_t *p;
		oci_cg_freeze(r.cgroup, 0, err);
		kill(r.pid, SIGKILL);
		p = oci_cg_pids(r.cgroup, &n);
		for (k = 0; k < n; k++)
			kill(p[k], SIGKILL);
		free(p);
		for (i = 0; i < 500 && ctr_pid_start(r.pid) == r.start; i++) {
			waitpid(r.pid, NULL, WNOHANG);
			usleep(10000);
		}
	}
	for (i = 0; i < 100; i++) {
		size_t n;
		pid_t *p = oci_cg_pids(r.cgroup, &n);
		free(p);
		if (!n)
			break;
		usleep(10000);
	}
	oci_cg_remove(r.cgroup);
	if (mr_json_get(r.doc.root, "hooks")) {
		struct mr_buf s = { 0 };
		struct mr_err herr;
		oci_state_json(&r, id, r.bundle, "stopped", 0, r.annotations, 0, &s);
		oci_hooks(mr_json_get(r.doc.root, "hooks"), "poststop", &s, g, &herr);
		mr_buf_free(&s);
	}
	oci_path(path, sizeof path, g, id, "exec.fifo");
	unlink(path);
	oci_path(path, sizeof path, g, id, "state.json");
	unlink(path);
	oci_path(path, sizeof path, g, id, NULL);
	rmdir(path);
	mr_json_free(&r.doc);
	return 0;
}

static int oci_cmd_delete(struct oci_g *g, int argc, char **argv)
{
	static const char *const names[] = { "force|f", NULL };
	struct oci_args a;
	struct mr_err err;
	int rc;
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0 || oci_need_id(&a, "delete", &err) < 0)
		return oci_fail(g, &err);
	rc = oci_delete_id(g, a.pos[0], a.set[0], &err);
	free(a.pos);
	return rc < 0 ? oci_fail(g, &err) : 0;
}

static int oci_cmd_ps(struct oci_g *g, int argc, char **argv)
{
	static const char *const names[] = { ":format|f", NULL };
	struct oci_args a;
	struct oci_rec r;
	struct mr_err err;
	pid_t *p;
	size_t n, i;
	int json;
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0 || oci_need_id(&a, "ps", &err) < 0)
		return oci_fail(g, &err);
	json = a.val[0] && !strcmp(a.val[0], "json");
	if (oci_rec_load(g, a.pos[0], &r, &err) < 0) {
		free(a.pos);
		return oci_fail(g, &err);
	}
	p = oci_cg_pids(r.cgroup, &n);
	printf(json ? "[" : "PID\n");
	for (i = 0; i < n; i++)
		printf(json ? "%s%d" : "%s%d\n", json && i ? "," : "", (int)p[i]);
	printf(json ? "]\n" : "");
	free(p);
	mr_json_free(&r.doc);
	free(a.pos);
	return 0;
}

static int oci_cmd_pause(struct oci_g *g, int argc, char **argv, int freeze)
{
	static const char *const names[] = { NULL };
	struct oci_args a;
	struct oci_rec r;
	struct mr_err err;
	int rc;
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0 || oci_need_id(&a, "pause", &err) < 0)
		return oci_fail(g, &err);
	if (oci_rec_load(g, a.pos[0], &r, &err) < 0) {
		free(a.pos);
		return oci_fail(g, &err);
	}
	rc = !strcmp(oci_status(g, &r), "stopped") ?
	     mr_err_set(&err, ESRCH, "container not running") : oci_cg_freeze(r.cgroup, freeze, &err);
	mr_json_free(&r.doc);
	free(a.pos);
	return rc < 0 ? oci_fail(g, &err) : 0;
}

static int oci_cmd_update(struct oci_g *g, int argc, char **argv)
{
	static const char *const names[] = { ":resources|r", ":memory", ":memory-swap", ":pids-limit",
					     ":cpu-shares", ":cpu-quota", ":cpu-period", ":cpuset-cpus",
					     ":cpuset-mems", ":memory-reservation", ":blkio-weight", NULL };
	static const char keys[] = "memory.limit\0memory.swap\0pids.limit\0cpu.shares\0cpu.quota\0"
		"cpu.period\0cpu.cpus\0cpu.mems\0memory.reservation\0blockIO.weight\0";
	struct oci_args a;
	struct oci_rec r;
	struct mr_err err;
	struct mr_json_doc doc = { 0 };
	int rc = 0, k;
	const char *key;
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0 || oci_need_id(&a, "update", &err) < 0)
		return oci_fail(g, &err);
	if (oci_rec_load(g, a.pos[0], &r, &err) < 0) {
		free(a.pos);
		return oci_fail(g, &err);
	}
	if (a.val[0])
		rc = oci_read_json(a.val[0], &doc, &err);
	if (rc == 0 && doc.root)
		rc = oci_cg_resources(r.cgroup, doc.root, NULL, &err);
	/* the flag forms: one small resources document each */
	for (k = 1, key = keys; rc == 0 && *key; k++, key += strlen(key) + 1) {
		struct mr_json_doc one = { 0 };
		struct mr_buf b = { 0 };
		const char *dot = strchr(key, '.');
		int str = !strcmp(dot + 1, "cpus") || !strcmp(dot + 1, "mems");
		if (!a.val[k])
			continue;
		mr_buf_printf(&b, "{\"%.*s\":{\"%s\":%s%s%s}}", (int)(dot - key), key, dot + 1,
			      str ? "\"" : "", a.val[k], str ? "\"" : "");
		rc = mr_json_parse(&one, b.data, b.len, &err);
		if (rc == 0)
			rc = oci_cg_resources(r.cgroup, one.root, NULL, &err);
		mr_json_free(&one);
		mr_buf_free(&b);
	}
	mr_json_free(&doc);
	mr_json_free(&r.doc);
	free(a.pos);
	return rc < 0 ? oci_fail(g, &err) : 0;
}

/* exec: join the init's namespaces and cgroup, fork (the child is inside
 * the PID namespace), then the same last steps as the init. */
static int oci_cmd_exec(struct oci_g *g, int argc, char **argv)
{
	static const char *const names[] = { ":process|p", ":console-socket", "detach|d", ":pid-file",
					     "tty|t", ":cwd", ":env|e", ":user|u", "no-new-privs",
					     ":preserve-fds", ":process-label", ":apparmor", NULL };
	static const char nsn[] = "user\0cgroup\0ipc\0uts\0net\0pid\0time\0mnt\0";
	struct oci_args a;
	struct oci_rec r;
	struct mr_err err;
	struct mr_json_doc doc = { 0 };
	const struct mr_json *proc;
	const char *n;
	int fds[8], nfd = 0, i, p[2] = { -1, -1 }, cons = -1, status, rc = 1, cwd, rootfd = -1;
	char rootp[32];
	pid_t pid;
	memset(&err, 0, sizeof err);
	cwd = -1;
	if (oci_parse(argc, argv, names, &a, &err) < 0 || oci_need_id(&a, "exec", &err) < 0)
		return oci_fail(g, &err);
	if (oci_rec_load(g, a.pos[0], &r, &err) < 0) {
		free(a.pos);
		return oci_fail(g, &err);
	}
	if (!strcmp(oci_status(g, &r), "stopped")) {
		mr_err_set(&err, ESRCH, "cannot exec in a stopped container");
		goto out;
	}
	if (a.val[0]) {
		if (oci_read_json(a.val[0], &doc, &err) < 0)
			goto out;
		proc = doc.root;
	} else {
		/* runc exec ID ARGS: config.json's process with other args */
		struct mr_buf b = { 0 };
		struct mr_jw w;
		mr_jw_init(&w, &b, 0);
		mr_jw_obj(&w);
		mr_jw_key(&w, "args");
		mr_jw_arr(&w);
		for (i = 1; i < a.npos; i++)
			mr_jw_str(&w, a.pos[i]);
		mr_jw_arr_end(&w);
		mr_jw_key(&w, "env");
		mr_jw_arr(&w);
		mr_jw_str(&w, "PATH=" CTR_DEFAULT_PATH);
		mr_jw_arr_end(&w);
		mr_jw_key(&w, "cwd");
		mr_jw_str(&w, a.val[5] ? a.val[5] : "/");
		mr_jw_key(&w, "terminal");
		mr_jw_bool(&w, a.set[4]);
		mr_jw_obj_end(&w);
		i = mr_json_parse(&doc, b.data, b.len, &err);
		mr_buf_free(&b);
		if (i < 0 || a.npos < 2) {
			if (i == 0)
				mr_err_set(&err, MR_EINVAL_INPUT, "exec: args must not be empty");
			goto out;
		}
		proc = doc.root;
	}
	if (oci_b(proc, "terminal") && !a.val[1] && a.set[2]) {
		mr_err_set(&err, MR_EINVAL_INPUT, "cannot allocate tty if runc will detach without "
			   "setting console socket");
		goto out;
	}
	if (oci_b(proc, "terminal") && a.val[1]) {
		struct sockaddr_un sa;
		memset(&sa, 0, sizeof sa);
		sa.sun_family = AF_UNIX;
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", a.val[1]);
		cons = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (cons < 0 || connect(cons, (struct sockaddr *)&sa, sizeof sa) < 0) {
			mr_err_sys(&err, "console socket %s", a.val[1]);
			goto out;
		}
	}
	if (oci_cg_enter(r.cgroup, getpid(), &err) < 0)
		goto out;
	/* the pid file is a host path: keep its folder at hand */
	if (a.val[3]) {
		char dir[MINIRUN_MAX_PATH];
		const char *slash = strrchr(a.val[3], '/');
		snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - a.val[3]) : 1,
			 slash ? (slash == a.val[3] ? "/" : a.val[3]) : ".");
		if ((cwd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
			mr_err_sys(&err, "pid file folder %s", dir);
			goto out;
		}
		a.val[3] = slash ? slash + 1 : a.val[3];
	}
	for (n = nsn; *n; n += strlen(n) + 1) {
		char path[64], self[64], a1[64], a2[64];
		ssize_t l1, l2;
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)r.pid, n);
		l1 = readlink(path, a1, sizeof a1 - 1);
		snprintf(self, sizeof self, "/proc/self/ns/%s", n);
		l2 = readlink(self, a2, sizeof a2 - 1);
		if (l1 < 0 || (l1 == l2 && !memcmp(a1, a2, (size_t)l1)))
			continue;
		fds[nfd] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[nfd] < 0) {
			mr_err_sys(&err, "open %s", path);
			goto out;
		}
		nfd++;
	}
	/* The container's root, opened before joining: setns(CLONE_NEWNS) leaves
	 * us at the root of the namespace's root mount, which under a chroot is
	 * not the container's root (as exec_join in [18]). */
	snprintf(rootp, sizeof rootp, "/proc/%d/root", (int)r.pid);
	if ((rootfd = open(rootp, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		mr_err_sys(&err, "root of pid %d", (int)r.pid);
		goto out;
	}
	if (ctr_pid_start(r.pid) != r.start) {
		mr_err_set(&err, ESRCH, "the container stopped");
		goto out;
	}
	for (i = 0; i < nfd; i++)
		if (setns(fds[i], 0) < 0) {
			mr_err_sys(&err, "join a namespace of the container");
			goto out;
		}
	if (pipe2(p, O_CLOEXEC) < 0) {
		mr_err_sys(&err, "pipe");
		goto out;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		setsid();
		if (fchdir(rootfd) < 0 || chroot(".") < 0) {
			mr_err_sys(&err, "enter the root of pid %d", (int)r.pid);
			goto child_fail;
		}
		if (cons >= 0) {
			int ptmx = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), unlock = 0, num = 0,
			    slave = -1;
			char sp[32];
			const struct mr_json *cs = mr_json_get(proc, "consoleSize");
			if (ptmx < 0)
				ptmx = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
			if (ptmx >= 0 && ioctl(ptmx, TIOCSPTLCK, &unlock) == 0 &&
			    ioctl(ptmx, TIOCGPTN, &num) == 0) {
				snprintf(sp, sizeof sp, "/dev/pts/%d", num);
				slave = open(sp, O_RDWR | O_NOCTTY | O_CLOEXEC);
			}
			if (slave < 0 || ctr_send_fd(cons, ptmx) < 0) {
				mr_err_sys(&err, "exec: the pty");
				goto child_fail;
			}
			if (cs) {
				struct winsize ws = { (unsigned short)oci_i(cs, "height", 0),
						      (unsigned short)oci_i(cs, "width", 0), 0, 0 };
				ioctl(slave, TIOCSWINSZ, &ws);
			}
			ioctl(slave, TIOCSCTTY, 0);
			for (i = 0; i < 3; i++)
				dup2(slave, i);
		}
		oci_process_exec(proc, oci_b(r.doc.root, "seccomp"), NULL, &err);
child_fail:
		if (write(p[1], err.msg, strlen(err.msg)) < 0) {
			/* the parent is gone */
		}
		_exit(err.code == ENOENT ? 127 : 126);
	}
	close(p[1]);
	p[1] = -1;
	if (pid < 0) {
		mr_err_sys(&err, "fork");
		goto out;
	}
	{
		ssize_t k = read(p[0], err.msg, sizeof err.msg - 1);
		if (k > 0) {
			err.msg[k] = 0;
			waitpid(pid, NULL, 0);
			goto out;
		}
	}
	if (a.val[3] && oci_write_pidfile(cwd, a.val[3], pid, &err) < 0)
		goto out;
	if (a.set[2]) {
		rc = 0;
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = 0;
			break;
		}
	rc = ctr_exit_code(status);
	err.msg[0] = 0;
out:
	for (i = 0; i < nfd; i++)
		close(fds[i]);
	if (rootfd >= 0)
		close(rootfd);
	if (cwd >= 0)
		close(cwd);
	if (p[0] >= 0)
		close(p[0]);
	if (cons >= 0)
		close(cons);
	mr_json_free(&doc);
	mr_json_free(&r.doc);
	free(a.pos);
	if (rc == 1 && err.msg[0])
		return oci_fail(g, &err);
	return rc;
}

static int oci_cmd_list(struct oci_g *g, int argc, char **argv)
{
	static const char *const names[] = { ":format|f", "quiet|q", NULL };
	struct oci_args a;
	struct mr_err err;
	DIR *d;
	struct dirent *de;
	int json, first = 1;
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0)
		return oci_fail(g, &err);
	json = a.val[0] && !strcmp(a.val[0], "json");
	d = opendir(g->root);
	if (json)
		printf("[");
	else if (!a.set[1])
		printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
		       "OWNER");
	while (d && (de = readdir(d)) != NULL) {
		struct oci_rec r;
		const char *st;
		if (de->d_name[0] == '.' || oci_rec_load(g, de->d_name, &r, &err) < 0)
			continue;
		st = oci_status(g, &r);
		if (json) {
			struct mr_buf b = { 0 };
			oci_state_json(&r, r.id, r.bundle, st, strcmp(st, "stopped") ? r.pid : 0,
				       r.annotations, 0, &b);
			printf("%s%s", first ? "" : ",", b.data);
			mr_buf_free(&b);
		} else if (a.set[1]) {
			printf("%s\n", r.id);
		} else {
			printf("%-12s %-8d %-10s %-40s %-30s %s\n", r.id,
			       strcmp(st, "stopped") ? (int)r.pid : 0, st, r.bundle, r.created, "root");
		}
		first = 0;
		mr_json_free(&r.doc);
	}
	if (d)
		closedir(d);
	if (json)
		printf(first ? "null\n" : "]\n");
	free(a.pos);
	return 0;
}

/* events --stats: one stats record from the cgroup (the shim reads cgroups
 * itself; this is for people). */
static int oci_cmd_events(struct oci_g *g, int argc, char **argv)
{
	static const char *const names[] = { "stats", ":interval", NULL };
	struct oci_args a;
	struct oci_rec r;
	struct mr_err err;
	uint64_t mem = 0, lim = 0, cpu = 0;
	size_t n;
	pid_t *p;
	int v2 = cg_version() == 2;
	char path[MINIRUN_MAX_PATH];
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0 || oci_need_id(&a, "events", &err) < 0)
		return oci_fail(g, &err);
	if (oci_rec_load(g, a.pos[0], &r, &err) < 0) {
		free(a.pos);
		return oci_fail(g, &err);
	}
	/* cg_read_u64 reads CG_ROOT/HIER/minirun/ID: point it at our folder */
	snprintf(path, sizeof path, "..%s", r.cgroup);
	cg_read_u64(v2 ? "" : "memory", path, v2 ? "memory.current" : "memory.usage_in_bytes", NULL,
		    &mem);
	cg_read_u64(v2 ? "" : "memory", path, v2 ? "memory.max" : "memory.limit_in_bytes", NULL, &lim);
	if (v2)
		cg_read_u64("", path, "cpu.stat", "usage_usec", &cpu), cpu *= 1000;
	else
		cg_read_u64("cpuacct", path, "cpuacct.usage", NULL, &cpu);
	p = oci_cg_pids(r.cgroup, &n);
	free(p);
	printf("{\"type\":\"stats\",\"id\":\"%s\",\"data\":{\"cpu\":{\"usage\":{\"total\":%llu}},"
	       "\"memory\":{\"usage\":{\"usage\":%llu,\"limit\":%llu}},\"pids\":{\"current\":%zu}}}\n",
	       r.id, (unsigned long long)cpu, (unsigned long long)mem, (unsigned long long)lim, n);
	mr_json_free(&r.doc);
	free(a.pos);
	return 0;
}

/* runc spec's default config.json (rootless variant left out). */
static const char oci_default_spec[] =
	"{\n\t\"ociVersion\": \"1.0.2\",\n\t\"process\": {\n\t\t\"terminal\": true,\n"
	"\t\t\"user\": {\"uid\": 0, \"gid\": 0},\n\t\t\"args\": [\"sh\"],\n"
	"\t\t\"env\": [\"PATH=" CTR_DEFAULT_PATH "\", \"TERM=xterm\"],\n\t\t\"cwd\": \"/\",\n"
	"\t\t\"capabilities\": {\n"
	"\t\t\t\"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"\t\t\t\"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"\t\t\t\"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"\t\t\t\"ambient\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]\n\t\t},\n"
	"\t\t\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],\n"
	"\t\t\"noNewPrivileges\": true\n\t},\n"
	"\t\"root\": {\"path\": \"rootfs\", \"readonly\": true},\n\t\"hostname\": \"runc\",\n"
	"\t\"mounts\": [\n"
	"\t\t{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
	"\t\t{\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": "
	"[\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
	"\t\t{\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\", \"options\": "
	"[\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", \"gid=5\"]},\n"
	"\t\t{\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\", \"options\": "
	"[\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},\n"
	"\t\t{\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\", "
	"\"options\": [\"nosuid\", \"noexec\", \"nodev\"]},\n"
	"\t\t{\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", \"options\": "
	"[\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},\n"
	"\t\t{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\", "
	"\"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}\n\t],\n"
	"\t\"linux\": {\n\t\t\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},\n"
	"\t\t\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"}, "
	"{\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],\n"
	"\t\t\"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\", "
	"\"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\", "
	"\"/sys/firmware\", \"/proc/scsi\"],\n"
	"\t\t\"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", "
	"\"/proc/sysrq-trigger\"]\n\t}\n}\n";

static int oci_cmd_spec(struct oci_g *g, int argc, char **argv)
{
	static const char *const names[] = { ":bundle|b", "rootless", NULL };
	struct oci_args a;
	struct mr_err err;
	char path[MINIRUN_MAX_PATH];
	int fd;
	memset(&err, 0, sizeof err);
	if (oci_parse(argc, argv, names, &a, &err) < 0)
		return oci_fail(g, &err);
	snprintf(path, sizeof path, "%s/config.json", a.val[0] ? a.val[0] : ".");
	free(a.pos);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || util_write_all(fd, oci_default_spec, sizeof oci_default_spec - 1) < 0) {
		mr_err_sys(&err, "File %s", path);
		if (fd >= 0)
			close(fd);
		return oci_fail(g, &err);
	}
	close(fd);
	return 0;
}

static int oci_cmd_features(void)
{
	static const char *const keys[] = { "namespaces", "user\0pid\0network\0ipc\0uts\0mount\0cgroup\0time\0",
		"mountOptions", "ro\0rw\0nosuid\0suid\0nodev\0dev\0noexec\0exec\0sync\0async\0remount\0"
		"mand\0nomand\0dirsync\0noatime\0atime\0nodiratime\0diratime\0bind\0rbind\0relatime\0"
		"norelatime\0strictatime\0nostrictatime\0private\0rprivate\0shared\0rshared\0slave\0"
		"rslave\0unbindable\0runbindable\0defaults\0",
		"hooks", "prestart\0createRuntime\0createContainer\0startContainer\0poststart\0poststop\0",
		NULL };
	struct mr_buf b = { 0 };
	struct mr_jw w;
	size_t k;
	const char *s;
	mr_jw_init(&w, &b, 4);
	mr_jw_obj(&w);
	mr_jw_key(&w, "ociVersionMin");
	mr_jw_str(&w, "1.0.0");
	mr_jw_key(&w, "ociVersionMax");
	mr_jw_str(&w, "1.0.2");
	for (k = 0; keys[k]; k += 2) {
		if (k == 2) {
			mr_jw_key(&w, "linux");
			mr_jw_obj(&w);
		}
		mr_jw_key(&w, keys[k]);
		mr_jw_arr(&w);
		for (s = keys[k + 1]; *s; s += strlen(s) + 1)
			mr_jw_str(&w, s);
		mr_jw_arr_end(&w);
		if (k == 2)
			mr_jw_obj_end(&w);
	}
	mr_jw_key(&w, "annotations");
	mr_jw_obj(&w);
	mr_jw_key(&w, "org.opencontainers.runc.version");
	mr_jw_str(&w, "minirun " MINIRUN_VERSION);
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	printf("%s\n", b.data);
	mr_buf_free(&b);
	return 0;
}

static int oci_main(int argc, char **argv)
{
	static const char *const names[] = { ":root", ":log", ":log-format", "systemd-cgroup", "debug",
					     ":criu", ":rootless", "version|v", "help|h", NULL };
	struct oci_g g;
	struct oci_args a;
	struct mr_err err;
	const char *cmd;
	int rc = 1, cargc, i;
	char **cargv;
	memset(&g, 0, sizeof g);
	memset(&err, 0, sizeof err);
	g.logfd = -1;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *s = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		if (!strchr(s, '=') && (!strcmp(s, "root") || !strcmp(s, "log") || !strcmp(s, "log-format") ||
					!strcmp(s, "criu") || !strcmp(s, "rootless")))
			i++;
	}
	if (oci_parse(i < argc ? i - 1 : argc - 1, argv + 1, names, &a, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	free(a.pos);
	g.root = a.val[0] ? a.val[0] : "/run/runc";
	g.log = a.val[1];
	g.log_format = a.val[2];
	g.systemd = a.set[3];
	g.debug = a.set[4];
	if (g.log && *g.log)
		g.logfd = open(g.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (a.set[7]) {
		printf("runc version %s (minirun %s)\ncommit: minirun-%s\nspec: 1.0.2\n", MINIRUN_VERSION,
		       MINIRUN_VERSION, MINIRUN_VERSION);
		return 0;
	}
	cmd = i < argc ? argv[i] : "help";
	cargc = i < argc ? argc - i - 1 : 0;
	cargv = argv + i + 1;
	if (!strcmp(cmd, "create"))
		rc = oci_cmd_create(&g, cargc, cargv, 0);
	else if (!strcmp(cmd, "run"))
		rc = oci_cmd_create(&g, cargc, cargv, 1);
	else if (!strcmp(cmd, "start"))
		rc = oci_cmd_start(&g, cargc, cargv);
	else if (!strcmp(cmd, "state"))
		rc = oci_cmd_state(&g, cargc, cargv);
	else if (!strcmp(cmd, "kill"))
		rc = oci_cmd_kill(&g, cargc, cargv);
	else if (!strcmp(cmd, "delete"))
		rc = oci_cmd_delete(&g, cargc, cargv);
	else if (!strcmp(cmd, "ps"))
		rc = oci_cmd_ps(&g, cargc, cargv);
	else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume"))
		rc = oci_cmd_pause(&g, cargc, cargv, cmd[0] == 'p');
	else if (!strcmp(cmd, "update"))
		rc = oci_cmd_update(&g, cargc, cargv);
	else if (!strcmp(cmd, "exec"))
		rc = oci_cmd_exec(&g, cargc, cargv);
	else if (!strcmp(cmd, "list"))
		rc = oci_cmd_list(&g, cargc, cargv);
	else if (!strcmp(cmd, "events"))
		rc = oci_cmd_events(&g, cargc, cargv);
	else if (!strcmp(cmd, "spec"))
		rc = oci_cmd_spec(&g, cargc, cargv);
	else if (!strcmp(cmd, "features"))
		rc = oci_cmd_features();
	else if (!strcmp(cmd, "help") || a.set[8]) {
		printf("minirun %s in runc mode: create, start, run, state, kill, delete, ps, pause, "
		       "resume, update, exec, list, events, spec, features\n", MINIRUN_VERSION);
		rc = 0;
	} else {
		mr_err_set(&err, MR_EINVAL_INPUT, "No help topic for '%s'", cmd);
		rc = oci_fail(&g, &err);
	}
	fflush(stdout);
	if (g.logfd >= 0)
		close(g.logfd);
	return rc;
}

#else
static int oci_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "minirun: runc mode: built without MINIRUN_WITH_OCI\n");
	return 125;
}
#endif

/* Is this runc's command line? argv[0] named runc, or one of runc's own
 * global flags before the command. */
static int oci_wanted(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	int i;
	base = base ? base + 1 : argc > 0 ? argv[0] : "";
	if (!strcmp(base, "runc"))
		return 1;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		if (util_starts_with(a, "log") || !strcmp(a, "systemd-cgroup") || !strcmp(a, "debug") ||
		    util_starts_with(a, "criu") || util_starts_with(a, "rootless"))
			return 1;
		if (!strcmp(a, "root") || !strcmp(a, "log") || !strcmp(a, "log-format"))
			i++;
	}
	return 0;
}
/* ======================== END src/20b_oci.c ======================== */

/* ======================== BEGIN src/20c_tmpl.c ======================== */
#line 1 "src/20c_tmpl.c"
/* ==== [20c] TEMPLATES: the subset of Go's text/template that --format users write ==== */

/* Docker's --format runs Go's text/template over the object. minirun runs
 * it over the object's JSON, which Docker also falls back to: fields
 * (.A.B, $, $var), pipelines (|), range (with $k, $v :=), if/else/end,
 * {{- -}} trimming, and the functions people use: json, index, len, join,
 * split, upper, lower, title, printf, print, println, eq, ne, lt, le, gt,
 * ge, not, and, or. Values print as Go prints them (map[k:v], [a b]).
 * Everything is evaluated straight from the template text; blocks are
 * skipped by scanning to their `end`. */

#define TMPL_MAX_VARS 8
#define TMPL_MAX_ITEMS 256

struct tmpl_val {
	const struct mr_json *j;             /* a JSON value, or NULL for a computed one */
	const char *s;                       /* computed: text (owned by the context) */
	char t;                              /* computed: 's' string, 'i' number, 'b' bool, 'n' nil */
};

struct tmpl_item {                       /* the template cut into text and actions */
	const char *p;
	size_t n;
	int action;
};

struct tmpl {
	const char *src;
	struct tmpl_item it[TMPL_MAX_ITEMS];
	size_t nit;
	struct { char name[32]; struct tmpl_val v; } var[TMPL_MAX_VARS];
	size_t nvar;
	char **owned;                        /* computed strings, freed at the end */
	size_t nowned;
	char err[240];
	const char *col;                     /* where an error points, if not at its token */
	int parse_err;                       /* 1: the template is malformed (Docker: exit 64) */
	struct mr_json_doc tmp;              /* split's results */
};

static const char *tmpl_own(struct tmpl *t, char *s)
{
	t->owned = util_xrealloc(t->owned, (t->nowned + 1) * sizeof *t->owned);
	return t->owned[t->nowned++] = s;
}

static struct tmpl_val tmpl_str(struct tmpl *t, const char *s, size_t n, char type)
{
	struct tmpl_val v = { NULL, NULL, type };
	char *c = util_xmalloc(n + 1);
	memcpy(c, s, n);
	c[n] = 0;
	v.s = tmpl_own(t, c);
	return v;
}

static int tmpl_fail(struct tmpl *t, const char *at, size_t atn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int tmpl_fail(struct tmpl *t, const char *at, size_t atn, const char *fmt, ...)
{
	va_list ap;
	int k;
	if (t->err[0])
		return -1;
	k = snprintf(t->err, sizeof t->err, "template: :1:%d: executing \"\" at <%.*s>: ",
		     (int)((t->col ? t->col : at) - t->src), (int)atn, at);
	va_start(ap, fmt);
	vsnprintf(t->err + k, sizeof t->err - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

static int tmpl_parse_fail(struct tmpl *t, const char *msg)
{
	if (!t->err[0])
		snprintf(t->err, sizeof t->err, "template: :1: %s", msg);
	t->parse_err = 1;
	return -1;
}

/* Go's truth: false, 0, nil and empty things are false. */
static int tmpl_true(const struct tmpl_val *v)
{
	const struct mr_json *j = v->j;
	if (!j)
		return v->t == 'b' ? v->s[0] == 't' : v->t == 'i' ? json_number_value(v->s) != 0 :
		       v->t == 's' ? v->s[0] != 0 : 0;
	switch (j->type) {
	case MR_JSON_TRUE: return 1;
	case MR_JSON_NUMBER: return j->num != 0;
	case MR_JSON_STRING: return j->len != 0;
	case MR_JSON_ARRAY: case MR_JSON_OBJECT: return j->count != 0;
	default: return 0;
	}
}

static int tmpl_is_struct(const struct mr_json *o);

static int tmpl_key_cmp(const void *a, const void *b)
{
	const struct mr_json *x = *(const struct mr_json *const *)a, *y = *(const struct mr_json *const *)b;
	return strcmp(x->key, y->key);
}

/* Go's %v: map[k:v ...] with sorted keys, [a b], <no value> for nothing. */
static void tmpl_print_json(const struct mr_json *j, struct mr_buf *out)
{
	const struct mr_json *c, **keys;
	size_t i, n = 0;
	switch (j ? j->type : MR_JSON_NULL) {
	case MR_JSON_STRING: case MR_JSON_NUMBER: mr_buf_append(out, j->str, j->len); break;
	case MR_JSON_TRUE: mr_buf_append(out, "true", 4); break;
	case MR_JSON_FALSE: mr_buf_append(out, "false", 5); break;
	case MR_JSON_ARRAY:
		mr_buf_append(out, "[", 1);
		for (c = j->child; c; c = c->next) {
			if (c != j->child)
				mr_buf_append(out, " ", 1);
			tmpl_print_json(c, out);
		}
		mr_buf_append(out, "]", 1);
		break;
	case MR_JSON_OBJECT:
		keys = util_xcalloc(j->count + 1, sizeof *keys);
		for (c = j->child; c; c = c->next)
			keys[n++] = c;
		qsort(keys, n, sizeof *keys, tmpl_key_cmp);
		mr_buf_append(out, "map[", 4);
		for (i = 0; i < n; i++) {
			mr_buf_printf(out, "%s%s:", i ? " " : "", keys[i]->key);
			tmpl_print_json(keys[i], out);
		}
		mr_buf_append(out, "]", 1);
		free(keys);
		break;
	default: mr_buf_append(out, "<no value>", 10); break;
	}
}

/* Go's json of the typed object: a struct's fields in order, a map's keys
 * sorted. */
static void tmpl_json(struct mr_jw *w, const struct mr_json *j)
{
	const struct mr_json *c, **keys;
	size_t i, n = 0;
	if (j->type == MR_JSON_ARRAY) {
		mr_jw_arr(w);
		for (c = j->child; c; c = c->next)
			tmpl_json(w, c);
		mr_jw_arr_end(w);
		return;
	}
	if (j->type != MR_JSON_OBJECT) {
		mr_jw_value(w, j);
		return;
	}
	keys = util_xcalloc(j->count + 1, sizeof *keys);
	for (c = j->child; c; c = c->next)
		keys[n++] = c;
	if (!tmpl_is_struct(j))
		qsort(keys, n, sizeof *keys, tmpl_key_cmp);
	mr_jw_obj(w);
	for (i = 0; i < n; i++) {
		mr_jw_key(w, keys[i]->key);
		tmpl_json(w, keys[i]);
	}
	mr_jw_obj_end(w);
	free(keys);
}

static void tmpl_print(const struct tmpl_val *v, struct mr_buf *out)
{
	if (v->j || v->t == 'n')
		tmpl_print_json(v->j, out);
	else
		mr_buf_printf(out, "%s", v->s);
}

/* The text of a scalar (strings unquoted), for comparisons and functions. */
static const char *tmpl_text(struct tmpl *t, const struct tmpl_val *v)
{
	struct mr_buf b = { 0 };
	if (!v->j)
		return v->t == 'n' ? "" : v->s;
	if (v->j->type == MR_JSON_STRING || v->j->type == MR_JSON_NUMBER)
		return tmpl_str(t, v->j->str, v->j->len, 's').s;
	tmpl_print(v, &b);
	mr_buf_append(&b, "", 0);
	return tmpl_own(t, b.data);
}

static int tmpl_is_num(const struct tmpl_val *v)
{
	return v->j ? v->j->type == MR_JSON_NUMBER : v->t == 'i';
}

static int tmpl_is_str(const struct tmpl_val *v)
{
	return v->j ? v->j->type == MR_JSON_STRING : v->t == 's';
}

/* A Docker struct's fields start upper case; a map's keys are the user's. A
 * missing field of a struct is an error, a missing key of a map prints
 * <no value> (Docker runs the typed object first). */
static int tmpl_is_struct(const struct mr_json *o)
{
	const struct mr_json *c;
	if (!o->child)
		return 0;
	for (c = o->child; c; c = c->next)
		if (!c->key_len || !isupper((unsigned char)c->key[0]))
			return 0;
	return 1;
}

/* .A.B.C from v; p..end is the chain. */
static int tmpl_fields(struct tmpl *t, struct tmpl_val *v, const char *p, const char *end)
{
	const char *chain = p;
	while (p < end && *p == '.') {
		const char *f = p + 1;
		size_t n = 0;
		char key[128];
		const struct mr_json *j;
		while (f + n < end && f[n] != '.')
			n++;
		p = f + n;
		if (!n)
			continue;
		snprintf(key, sizeof key, "%.*s", (int)n, f);
		if (!v->j || v->j->type != MR_JSON_OBJECT) {
			if (!v->j || v->j->type == MR_JSON_NULL) {
				v->j = NULL;
				v->t = 'n';
				continue;
			}
			t->col = f - 1;
			return tmpl_fail(t, chain, (size_t)(end - chain), "can't evaluate field %s in type %s", key,
					 v->j->type == MR_JSON_ARRAY ? "[]interface {}" : "string");
		}
		j = mr_json_get(v->j, key);
		if (!j && tmpl_is_struct(v->j) && isupper((unsigned char)key[0])) {
			t->col = f - 1;
			return tmpl_fail(t, chain, (size_t)(end - chain), "map has no entry for key \"%s\"", key);
		}
		v->j = j;
		v->t = 'n';
	}
	return 0;
}

struct tmpl_args {
	struct tmpl_val v[16];
	const char *at[16];
	size_t n;
};

static int tmpl_pipeline(struct tmpl *t, const struct tmpl_val *dot, const char *p, const char *end,
			 struct tmpl_val *res);

static const char *tmpl_skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* One operand at p: its value and where it ends. */
static int tmpl_operand(struct tmpl *t, const struct tmpl_val *dot, const char **pp, const char *end,
			struct tmpl_val *v)
{
	const char *p = *pp, *q = p;
	size_t i;
	if (*p == '"' || *p == '`') {
		struct mr_buf b = { 0 };
		char quote = *p;
		for (q = p + 1; q < end && *q != quote; q++) {
			if (quote == '"' && *q == '\\' && q + 1 < end) {
				q++;
				mr_buf_append(&b, *q == 'n' ? "\n" : *q == 't' ? "\t" : q, 1);
			} else {
				mr_buf_append(&b, q, 1);
			}
		}
		if (q >= end)
			return tmpl_parse_fail(t, "unterminated quoted string");
		mr_buf_append(&b, "", 0);
		v->j = NULL;
		v->t = 's';
		v->s = tmpl_own(t, b.data ? b.data : util_xstrdup(""));
		*pp = q + 1;
		return 0;
	}
	if (*p == '(') {
		int depth = 0;
		for (q = p; q < end; q++) {
			depth += (*q == '(') - (*q == ')');
			if (!depth)
				break;
		}
		if (q >= end)
			return tmpl_parse_fail(t, "unclosed left paren");
		if (tmpl_pipeline(t, dot, p + 1, q, v) < 0)
			return -1;
		/* (pipeline).Field */
		for (p = q = q + 1; q < end && !strchr(" \t\n\r|()", *q); q++) {}
		*pp = q;
		return tmpl_fields(t, v, p, q);
	}
	while (q < end && !strchr(" \t\n\r|()", *q))
		q++;
	*pp = q;
	if (*p == '.') {
		*v = *dot;
		return q == p + 1 ? 0 : tmpl_fields(t, v, p, q);
	}
	if (*p == '$') {
		size_t n = strcspn(p, ". \t\n|)");
		if (p + n > q)
			n = (size_t)(q - p);
		for (i = t->nvar; i-- > 0;)
			if (strlen(t->var[i].name) == n && !strncmp(t->var[i].name, p, n))
				break;
		if (i == (size_t)-1) {
			char msg[64];
			snprintf(msg, sizeof msg, "undefined variable \"%.*s\"", (int)n, p);
			return tmpl_parse_fail(t, msg);
		}
		*v = t->var[i].v;
		return tmpl_fields(t, v, p + n, q);
	}
	if ((*p >= '0' && *p <= '9') || *p == '-') {
		*v = tmpl_str(t, p, (size_t)(q - p), 'i');
		return 0;
	}
	if ((q - p == 4 && !strncmp(p, "true", 4)) || (q - p == 5 && !strncmp(p, "false", 5))) {
		*v = tmpl_str(t, p, (size_t)(q - p), 'b');
		return 0;
	}
	if (q - p == 3 && !strncmp(p, "nil", 3)) {
		v->j = NULL;
		v->t = 'n';
		return 0;
	}
	{
		char msg[96];
		snprintf(msg, sizeof msg, "function \"%.*s\" not defined", (int)(q - p), p);
		return tmpl_parse_fail(t, msg);
	}
}

/* printf with Go's verbs that matter here: %s %v %d %q %T %%, widths. */
static void tmpl_printf(struct tmpl *t, const struct tmpl_args *a, struct mr_buf *out)
{
	const char *f = tmpl_text(t, &a->v[0]);
	size_t k = 1;
	for (; *f; f++) {
		char spec[16], verb;
		size_t sn = strspn(f + 1, "-+ 0123456789.");
		struct mr_buf v = { 0 };
		if (*f != '%' || sn > 8) {
			mr_buf_append(out, f, 1);
			continue;
		}
		verb = f[1 + sn];
		if (verb == '%') {
			mr_buf_append(out, "%", 1);
			f += 1 + sn;
			continue;
		}
		if (k >= a->n) {
			mr_buf_printf(out, "%%!%c(MISSING)", verb);
			f += 1 + sn;
			continue;
		}
		snprintf(spec, sizeof spec, "%%%.*s", (int)sn, f + 1);
		if (verb == 'T') {
			const struct tmpl_val *x = &a->v[k];
			int ty = x->j ? (int)x->j->type : -1;
			mr_buf_printf(&v, "%s", ty == MR_JSON_STRING || (!x->j && x->t == 's') ? "string" :
				      ty == MR_JSON_NUMBER || (!x->j && x->t == 'i') ? "int" :
				      ty == MR_JSON_TRUE || ty == MR_JSON_FALSE || (!x->j && x->t == 'b') ?
				      "bool" : ty == MR_JSON_ARRAY ? "[]interface {}" :
				      ty == MR_JSON_OBJECT ? "map[string]interface {}" : "<nil>");
		} else if (verb == 'q') {
			struct mr_jw w;
			mr_jw_init(&w, &v, 0);
			mr_jw_str(&w, tmpl_text(t, &a->v[k]));
		} else {
			tmpl_print(&a->v[k], &v);
		}
		mr_buf_append(&v, "", 0);
		{
			/* the width of %-10s / %5d: pad left or right */
			const char *w = spec + 1 + strspn(spec + 1, "-+ 0");
			int width = atoi(w), left = memchr(spec, '-', strlen(spec)) != NULL;
			int pad = width > (int)strlen(v.data) ? width - (int)strlen(v.data) : 0;
			if (!left)
				mr_buf_printf(out, "%*s", pad, "");
			mr_buf_printf(out, "%s", v.data);
			if (left)
				mr_buf_printf(out, "%*s", pad, "");
		}
		mr_buf_free(&v);
		k++;
		f += 1 + sn;
	}
}

static int tmpl_cmp(struct tmpl *t, const struct tmpl_val *x, const struct tmpl_val *y)
{
	if (tmpl_is_num(x) && tmpl_is_num(y)) {
		/* json_number_value, not strtod (libc's float scanner: 5 KB) */
		double a = json_number_value(tmpl_text(t, x)), b = json_number_value(tmpl_text(t, y));
		return a < b ? -1 : a > b;
	}
	return strcmp(tmpl_text(t, x), tmpl_text(t, y));
}

/* Call function name with its arguments. */
static int tmpl_call(struct tmpl *t, const char *name, size_t nl, const char *at,
		     struct tmpl_args *a, struct tmpl_val *res)
{
	struct mr_buf out = { 0 };
	const struct mr_json *j = a->n ? a->v[0].j : NULL, *c;
	size_t i;
#define TMPL_IS(s) (nl == sizeof s - 1 && !strncmp(name, s, nl))
	if (!a->n && !TMPL_IS("print") && !TMPL_IS("println")) {
		char msg[96];
		snprintf(msg, sizeof msg, "wrong number of args for %.*s: want at least 1 got 0",
			 (int)nl, name);
		return tmpl_fail(t, at, nl, "%s", msg);
	}
	if (TMPL_IS("json")) {
		struct mr_jw w;
		mr_jw_init(&w, &out, 0);
		if (j)
			tmpl_json(&w, j);
		else if (a->v[0].t == 's')
			mr_jw_str(&w, a->v[0].s);
		else
			mr_buf_printf(&out, "%s", a->v[0].t == 'n' ? "null" : a->v[0].s);
	} else if (TMPL_IS("index")) {
		struct tmpl_val v = a->v[0];
		for (i = 1; i < a->n; i++) {
			const char *k = tmpl_text(t, &a->v[i]);
			if (v.j && v.j->type == MR_JSON_OBJECT) {
				v.j = mr_json_get(v.j, k);
			} else if (v.j && v.j->type == MR_JSON_ARRAY) {
				long n = atol(k);
				for (c = v.j->child; c && n > 0; c = c->next, n--) {}
				if (!c)
					return tmpl_fail(t, at, nl, "error calling index: index out of "
							 "range: %s", k);
				v.j = c;
			} else {
				return tmpl_fail(t, at, nl, "error calling index: can't index item of "
						 "type %s", v.j ? "string" : "<nil>");
			}
			v.t = 'n';
		}
		*res = v;
		return 0;
	} else if (TMPL_IS("len")) {
		if (!j || (j->type != MR_JSON_ARRAY && j->type != MR_JSON_OBJECT &&
			   j->type != MR_JSON_STRING)) {
			if (!j && a->v[0].t == 's') {
				mr_buf_printf(&out, "%zu", strlen(a->v[0].s));
				goto text_int;
			}
			return tmpl_fail(t, at, nl, "error calling len: len of %s",
					 j ? "type float64" : "nil pointer");
		}
		mr_buf_printf(&out, "%zu", j->type == MR_JSON_STRING ? j->len : j->count);
text_int:
		mr_buf_append(&out, "", 0);
		res->j = NULL;
		res->t = 'i';
		res->s = tmpl_own(t, out.data);
		return 0;
	} else if (TMPL_IS("join")) {
		const char *sep = a->n > 1 ? tmpl_text(t, &a->v[1]) : "";
		for (c = j && j->type == MR_JSON_ARRAY ? j->child : NULL; c; c = c->next) {
			struct tmpl_val e = { c, NULL, 'n' };
			mr_buf_printf(&out, "%s%s", c == j->child ? "" : sep, tmpl_text(t, &e));
		}
	} else if (TMPL_IS("split")) {
		/* a JSON array built as text and parsed into the context's doc */
		const char *s = tmpl_text(t, &a->v[0]), *sep = a->n > 1 ? tmpl_text(t, &a->v[1]) : "";
		struct mr_jw w;
		struct mr_err e;
		size_t sl = strlen(sep);
		mr_jw_init(&w, &out, 0);
		mr_jw_arr(&w);
		while (sl) {
			const char *x = strstr(s, sep);
			if (!x)
				break;
			mr_jw_strn(&w, s, (size_t)(x - s));
			s = x + sl;
		}
		mr_jw_str(&w, s);
		mr_jw_arr_end(&w);
		mr_json_free(&t->tmp);
		if (mr_json_parse(&t->tmp, out.data, out.len, &e) < 0) {
			mr_buf_free(&out);
			return tmpl_fail(t, at, nl, "%s", e.msg);
		}
		tmpl_own(t, out.data);   /* the document points into it */
		res->j = t->tmp.root;
		return 0;
	} else if (TMPL_IS("upper") || TMPL_IS("lower") || TMPL_IS("title")) {
		const char *s = tmpl_text(t, &a->v[0]);
		for (i = 0; s[i]; i++) {
			int ch = (unsigned char)s[i];
			ch = name[0] == 'u' || (name[0] == 't' && (!i || s[i - 1] == ' ')) ? toupper(ch) :
			     name[0] == 'l' ? tolower(ch) : ch;
			mr_buf_append(&out, (char *)&ch, 1);
		}
	} else if (TMPL_IS("printf")) {
		tmpl_printf(t, a, &out);
	} else if (TMPL_IS("print") || TMPL_IS("println")) {
		for (i = 0; i < a->n; i++) {
			/* Go: println always spaces, print only between non-strings */
			if (i && (name[5] == 'l' || (!tmpl_is_str(&a->v[i - 1]) && !tmpl_is_str(&a->v[i]))))
				mr_buf_append(&out, " ", 1);
			tmpl_print(&a->v[i], &out);
		}
		if (name[5] == 'l')
			mr_buf_append(&out, "\n", 1);
	} else if (TMPL_IS("eq") || TMPL_IS("ne")) {
		int eq = a->n > 1 ? 0 : 1;
		for (i = 1; i < a->n; i++)
			eq |= !tmpl_cmp(t, &a->v[0], &a->v[i]);
		mr_buf_printf(&out, "%s", eq == (name[0] == 'e') ? "true" : "false");
		goto text_bool;
	} else if (TMPL_IS("lt") || TMPL_IS("le") || TMPL_IS("gt") || TMPL_IS("ge")) {
		int r = a->n > 1 ? tmpl_cmp(t, &a->v[0], &a->v[1]) : 0;
		int ok = name[0] == 'l' ? (name[1] == 't' ? r < 0 : r <= 0) : (name[1] == 't' ? r > 0 : r >= 0);
		mr_buf_printf(&out, "%s", ok ? "true" : "false");
		goto text_bool;
	} else if (TMPL_IS("not")) {
		mr_buf_printf(&out, "%s", tmpl_true(&a->v[0]) ? "false" : "true");
		goto text_bool;
	} else if (TMPL_IS("and") || TMPL_IS("or")) {
		/* the first false (and) or true (or) argument, else the last */
		for (i = 0; i + 1 < a->n && tmpl_true(&a->v[i]) == (name[0] == 'a'); i++) {}
		*res = a->v[i];
		return 0;
	} else {
		char msg[96];
		snprintf(msg, sizeof msg, "function \"%.*s\" not defined", (int)nl, name);
		return tmpl_parse_fail(t, msg);
	}
#undef TMPL_IS
	mr_buf_append(&out, "", 0);
	res->j = NULL;
	res->t = 's';
	res->s = tmpl_own(t, out.data);
	return 0;
text_bool:
	mr_buf_append(&out, "", 0);
	res->j = NULL;
	res->t = 'b';
	res->s = tmpl_own(t, out.data);
	return 0;
}

/* cmd ( '|' cmd )*: the value of each command is the last argument of the next. */
static int tmpl_pipeline(struct tmpl *t, const struct tmpl_val *dot, const char *p, const char *end,
			 struct tmpl_val *res)
{
	int have = 0;
	struct tmpl_val prev = { NULL, NULL, 'n' };
	for (;;) {
		struct tmpl_args a;
		const char *name = NULL, *at;
		size_t nl = 0;
		p = tmpl_skip_ws(p, end);
		at = p;
		if (p >= end)
			return tmpl_parse_fail(t, "missing value for command");
		if (isalpha((unsigned char)*p) && strncmp(p, "true", 4) && strncmp(p, "false", 5) &&
		    strncmp(p, "nil", 3)) {
			name = p;
			while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
				p++;
			nl = (size_t)(p - name);
		}
		a.n = 0;
		for (;;) {
			p = tmpl_skip_ws(p, end);
			if (p >= end || *p == '|')
				break;
			if (a.n == 15)
				return tmpl_parse_fail(t, "too many arguments");
			a.at[a.n] = p;
			if (tmpl_operand(t, dot, &p, end, &a.v[a.n]) < 0)
				return -1;
			a.n++;
		}
		if (have && a.n < 16)
			a.v[a.n++] = prev;
		if (name) {
			if (tmpl_call(t, name, nl, at, &a, &prev) < 0)
				return -1;
		} else if (a.n == 1) {
			prev = a.v[0];
		} else if (a.n == 0) {
			return tmpl_parse_fail(t, "missing value for command");
		} else {
			return tmpl_fail(t, at, 1, "can't give argument to non-function %.*s",
					 (int)strcspn(at, " "), at);
		}
		have = 1;
		if (p >= end)
			break;
		p++;   /* '|' */
	}
	*res = prev;
	return 0;
}

/* The keyword an action starts with: if, else, end, range, or none (0). */
static int tmpl_keyword(const struct tmpl_item *it, const char **rest)
{
	static const char *const kw[] = { "if", "else", "end", "range", "with" };
	size_t i, n;
	const char *p = tmpl_skip_ws(it->p, it->p + it->n);
	for (i = 0; i < 5; i++) {
		n = strlen(kw[i]);
		if ((size_t)(it->p + it->n - p) >= n && !strncmp(p, kw[i], n) &&
		    (p + n == it->p + it->n || p[n] == ' ')) {
			*rest = p + n;
			return "iEerw"[i];
		}
	}
	*rest = p;
	return 0;
}

/* Run items from i until the end/else of this level; returns the index of
 * that end/else (or nit), -1 on error. skip: only find the end. */
static long tmpl_block(struct tmpl *t, size_t i, const struct tmpl_val *dot, int skip,
		       struct mr_buf *out)
{
	for (; i < t->nit; i++) {
		const struct tmpl_item *it = &t->it[i];
		const char *rest, *end = it->p + it->n;
		struct tmpl_val v;
		int k;
		long j;
		if (!it->action) {
			if (!skip)
				mr_buf_append(out, it->p, it->n);
			continue;
		}
		k = tmpl_keyword(it, &rest);
		if (k == 'e' || k == 'E')
			return (long)i;
		if (!k) {
			if (skip)
				continue;
			if (tmpl_skip_ws(rest, end) == end)
				return tmpl_parse_fail(t, "missing value for command");
			/* {{$x := pipeline}} */
			if (*rest == '$' && strstr(rest, ":=") && strstr(rest, ":=") < end) {
				const char *as = strstr(rest, ":=");
				if (t->nvar == TMPL_MAX_VARS)
					return tmpl_parse_fail(t, "too many variables");
				if (tmpl_pipeline(t, dot, as + 2, end, &t->var[t->nvar].v) < 0)
					return -1;
				snprintf(t->var[t->nvar].name, sizeof t->var[0].name, "%.*s",
					 (int)strcspn(rest, " :"), rest);
				t->nvar++;
				continue;
			}
			if (tmpl_pipeline(t, dot, rest, end, &v) < 0)
				return -1;
			tmpl_print(&v, out);
			continue;
		}
		/* if / range / with: the pipeline, then the block, maybe an else */
		{
			const char *pipe = rest, *assign = NULL;
			char kname[32] = "", vname[32] = "";
			size_t nvar = t->nvar;
			int truth = 0;
			if (k == 'r' && (assign = strstr(rest, ":=")) != NULL && assign < end) {
				/* $v := or $k, $v := */
				const char *s = tmpl_skip_ws(rest, assign), *comma = memchr(s, ',', (size_t)(assign - s));
				if (comma) {
					snprintf(kname, sizeof kname, "%.*s", (int)strcspn(s, " ,"), s);
					s = tmpl_skip_ws(comma + 1, assign);
				}
				snprintf(vname, sizeof vname, "%.*s", (int)strcspn(s, " :"), s);
				pipe = assign + 2;
			}
			if (skip) {
				v.j = NULL, v.t = 'n';
			} else {
				if (tmpl_skip_ws(pipe, end) == end) {
					char msg[48];
					snprintf(msg, sizeof msg, "missing value for %s",
						 k == 'i' ? "if" : k == 'r' ? "range" : "with");
					return tmpl_parse_fail(t, msg);
				}
				if (tmpl_pipeline(t, dot, pipe, end, &v) < 0)
					return -1;
			}
			truth = !skip && tmpl_true(&v);
			if (k == 'r' && truth && v.j && (v.j->type == MR_JSON_ARRAY || v.j->type == MR_JSON_OBJECT)) {
				const struct mr_json *c, **keys = util_xcalloc(v.j->count + 1, sizeof *keys);
				size_t n = 0, idx;
				for (c = v.j->child; c; c = c->next)
					keys[n++] = c;
				if (v.j->type == MR_JSON_OBJECT)   /* Go ranges over a map in key order */
					qsort(keys, n, sizeof *keys, tmpl_key_cmp);
				j = (long)i;
				for (idx = 0; idx < n; idx++) {
					struct tmpl_val e = { keys[idx], NULL, 'n' };
					t->nvar = nvar;
					if ((kname[0] || vname[0]) && nvar + 2 <= TMPL_MAX_VARS) {
						if (kname[0]) {
							char num[24];
							snprintf(t->var[t->nvar].name, sizeof t->var[0].name, "%s", kname);
							if (v.j->type == MR_JSON_OBJECT) {
								t->var[t->nvar++].v = tmpl_str(t, keys[idx]->key,
									keys[idx]->key_len, 's');
							} else {
								snprintf(num, sizeof num, "%zu", idx);
								t->var[t->nvar++].v = tmpl_str(t, num, strlen(num), 'i');
							}
						}
						snprintf(t->var[t->nvar].name, sizeof t->var[0].name, "%s", vname);
						t->var[t->nvar++].v = e;
					}
					j = tmpl_block(t, i + 1, &e, 0, out);
					if (j < 0) {
						free(keys);
						return -1;
					}
				}
				free(keys);
				t->nvar = nvar;
				if (!n)
					truth = 0;
				else
					truth = 1;
				if (n) {
					/* skip a possible else branch */
					if (j < (long)t->nit && tmpl_keyword(&t->it[j], &rest) == 'E')
						j = tmpl_block(t, (size_t)j + 1, dot, 1, out);
					if (j < 0 || j >= (long)t->nit)
						return j < 0 ? -1 : tmpl_parse_fail(t, "unexpected EOF");
					i = (size_t)j;
					continue;
				}
			} else if (k == 'r' && truth) {
				return tmpl_fail(t, pipe, (size_t)(end - pipe), "range can't iterate over %s",
						 tmpl_text(t, &v));
			}
			if (k == 'w' && truth) {
				j = tmpl_block(t, i + 1, &v, 0, out);
			} else {
				j = tmpl_block(t, i + 1, dot, skip || !truth || k == 'r', out);
			}
			if (j < 0)
				return -1;
			if (j < (long)t->nit && tmpl_keyword(&t->it[j], &rest) == 'E') {
				/* else: runs when the first branch did not */
				j = tmpl_block(t, (size_t)j + 1, dot, skip || truth, out);
				if (j < 0)
					return -1;
			}
			if (j >= (long)t->nit)
				return tmpl_parse_fail(t, "unexpected EOF");
			t->nvar = nvar;
			i = (size_t)j;
		}
	}
	return (long)i;
}

/* Cut the template into items: text (with \t \n escapes kept as Docker's
 * shell users type them) and actions ({{- and -}} trim the text beside). */
static int tmpl_scan(struct tmpl *t, const char *fmt)
{
	const char *p = fmt;
	t->src = fmt;
	while (*p) {
		const char *open = strstr(p, "{{"), *close;
		size_t n = open ? (size_t)(open - p) : strlen(p);
		int ltrim = open && open[2] == '-' && (open[3] == ' ' || open[3] == '\t' || open[3] == '\n');
		if (t->nit + 2 >= TMPL_MAX_ITEMS)
			return tmpl_parse_fail(t, "template too long");
		if (ltrim)
			while (n && strchr(" \t\r\n", p[n - 1]))
				n--;
		if (n)
			t->it[t->nit++] = (struct tmpl_item){ p, n, 0 };
		if (!open)
			break;
		close = strstr(open + 2, "}}");
		if (!close)
			return tmpl_parse_fail(t, "unclosed action");
		{
			const char *a = open + 2 + (ltrim ? 2 : 0), *b = close;
			int rtrim = b - a >= 2 && b[-1] == '-' && (b[-2] == ' ' || b[-2] == '\t' || b[-2] == '\n');
			if (rtrim)
				b -= 2;
			t->it[t->nit++] = (struct tmpl_item){ a, (size_t)(b - a), 1 };
			p = close + 2;
			if (rtrim)
				while (*p && strchr(" \t\r\n", *p))
					p++;
		}
	}
	return 0;
}

/* Render fmt over root into out. Returns 0, -1 when executing failed, -2
 * when the template is malformed; msg gets Docker's text after "template
 * parsing error: " (Docker exits 1 for the first, 64 for the second). */
static int tmpl_render(const char *fmt, const struct mr_json *root, struct mr_buf *out,
		       char *msg, size_t msgsize)
{
	struct tmpl *t = util_xcalloc(1, sizeof *t);
	struct tmpl_val dot = { root, NULL, 'n' };
	long end;
	size_t i;
	int rc = 0;
	char *src = util_xstrdup(fmt), *d = src;
	const char *q;
	/* Docker's formats take \t and \n typed in the shell as tab and newline */
	for (q = fmt; *q; q++)
		*d++ = q[0] == '\\' && (q[1] == 't' || q[1] == 'n') ? (++q, *q == 't' ? '\t' : '\n') : *q;
	*d = 0;
	fmt = tmpl_own(t, src);
	snprintf(t->var[0].name, sizeof t->var[0].name, "$");
	t->var[0].v = dot;
	t->nvar = 1;
	if (tmpl_scan(t, fmt) < 0) {
		rc = -2;
	} else if ((end = tmpl_block(t, 0, &dot, 0, out)) < 0) {
		rc = t->parse_err ? -2 : -1;
	} else if ((size_t)end < t->nit) {
		const char *rest;
		tmpl_parse_fail(t, tmpl_keyword(&t->it[end], &rest) == 'e' ? "unexpected {{end}}" :
				"unexpected {{else}}");
		rc = -2;
	}
	snprintf(msg, msgsize, "%s", t->err);
	for (i = 0; i < t->nowned; i++)
		free(t->owned[i]);
	free(t->owned);
	mr_json_free(&t->tmp);
	free(t);
	mr_buf_append(out, "", 0);
	if (out->len)
		out->len--;
	return rc;
}
/* ======================== END src/20c_tmpl.c ======================== */

/* ======================== BEGIN src/21_cli.c ======================== */
#line 1 "src/21_cli.c"
/* ==== [21] CLI: argument parsing, usage, commands ====
 * Docker's command line: `minirun [OPTIONS] COMMAND [ARG...]`, flags parsed per
 * command from a small table (short and long names, `--flag=value`, `--flag
 * value`, combined short booleans such as `-it`, repeated flags collected in
 * order). Every command returns its exit code; minirun's own failures are 125
 * with one line on stderr naming the object and the reason. */

#define CLI_EXIT_FAIL 125

struct cli_flag {
	const char *names;        /* "q|quiet": short and/or long, '|' between */
	int has_value;            /* takes an argument */
	const char **value;       /* last value (has_value) */
	int *set;                 /* counts occurrences (booleans) */
	struct ctr_list *list;    /* every value, in order (repeatable flags) */
	const char *help;         /* one line for --help */
};

struct cli {
	const char *root;         /* --root / MINIRUN_ROOT */
	const char *rundir;       /* --run-dir / MINIRUN_RUNDIR */
	struct mr_store store;
	int store_open;
	const char *cmd;          /* "images", "volume rm"... for messages */
	char cmd_buf[64];         /* cmd of a management command ("volume rm") */
	struct mr_err err;
	int usage_args;           /* the failure was a wrong number of arguments */
	int flag_error;           /* a flag did not parse (Docker: 125) */
};

struct cli_command {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *summary;
};

/* Does `name` (without dashes) match one of "a|all"? */
static int cli_flag_matches(const char *names, const char *name, size_t len)
{
	const char *p = names;
	while (*p) {
		size_t n = strcspn(p, "|");
		if (n == len && !memcmp(p, name, n))
			return 1;
		p += n;
		if (*p == '|')
			p++;
	}
	return 0;
}

static const struct cli_flag *cli_find_flag(const struct cli_flag *flags, const char *name,
					    size_t len)
{
	for (; flags && flags->names; flags++)
		if (cli_flag_matches(flags->names, name, len))
			return flags;
	return NULL;
}

static int cli_fail(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cli_fail(struct cli *c, const char *fmt, ...)
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

static void cli_apply(const struct cli_flag *f, const char *value)
{
	if (f->value)
		*f->value = value;
	if (f->list)
		ctr_list_add(f->list, value);
	if (f->set)
		(*f->set)++;
}

static void cli_usage(const char *cmd, const char *usage, const struct cli_flag *flags)
{
	const struct cli_flag *f;
	printf("\nUsage:  minirun %s %s\n", cmd, usage);
	if (flags && flags->names) {
		printf("\nOptions:\n");
		for (f = flags; f->names; f++) {
			char left[64];
			const char *bar = strchr(f->names, '|');
			if (bar && bar - f->names == 1)
				snprintf(left, sizeof left, "-%c, --%s%s", f->names[0], bar + 1,
					 f->has_value ? " value" : "");
			else
				snprintf(left, sizeof left, "    --%s%s", f->names,
					 f->has_value ? " value" : "");
			printf("  %-28s %s\n", left, f->help ? f->help : "");
		}
	}
}

/* Parse flags of one command. `interspersed`: flags may follow positional
 * arguments (`rm web -f`); otherwise the first positional ends the flags
 * (`run IMAGE CMD -x` passes -x to CMD). Positionals are compacted to the
 * front of argv; their count is returned, or -1 after printing the error.
 * `--help` prints usage and returns -2. */
static int cli_parse(struct cli *c, int argc, char **argv, const struct cli_flag *flags,
		     int interspersed, const char *usage)
{
	int i, npos = 0, only_pos = 0;
	for (i = 0; i < argc; i++) {
		char *a = argv[i];
		const struct cli_flag *f;
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
			cli_usage(c->cmd, usage, flags);
			return -2;
		}
		if (a[1] == '-') {
			char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			f = cli_find_flag(flags, a + 2, len);
			if (!f || len == 1)
				return cli_fail(c, "unknown flag: --%.*s", (int)len, a + 2);
			if (f->has_value) {
				if (!eq && i + 1 >= argc)
					return cli_fail(c, "flag needs an argument: --%.*s", (int)len, a + 2);
				cli_apply(f, eq ? eq + 1 : argv[++i]);
			} else {
				if (eq)
					return cli_fail(c, "flag --%.*s takes no value", (int)len, a + 2);
				cli_apply(f, NULL);
			}
			continue;
		}
		/* Short flags, possibly combined: -it, -e K=V, -eK=V. */
		for (a++; *a; a++) {
			f = cli_find_flag(flags, a, 1);
			if (!f)
				return cli_fail(c, "unknown shorthand flag: '%c' in -%s", *a, argv[i] + 1);
			if (f->has_value) {
				if (a[1]) {
					cli_apply(f, a[1] == '=' ? a + 2 : a + 1);
				} else {
					if (i + 1 >= argc)
						return cli_fail(c, "flag needs an argument: '%c' in -%s",
								*a, argv[i] + 1);
					cli_apply(f, argv[++i]);
				}
				break;
			}
			cli_apply(f, NULL);
		}
	}
	return npos;
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
	static const char keep[] = "run\0exec\0start\0attach\0init\0up\0down\0";
	const char *k;
	if (rc != CLI_EXIT_FAIL)
		return rc;
	if (c->usage_args)
		return 1;
	if (c->cmd[0] && strcmp(c->cmd, cmd) && util_starts_with(c->cmd, "container "))
		cmd = c->cmd + 10;
	for (k = keep; *k; k += strlen(k) + 1)
		if (!strcmp(cmd, k))
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

static void cli_print_features(void)
{
	static const struct { const char *name; int on; } features[] = {
		{ "pull", MINIRUN_WITH_PULL }, { "tls", MINIRUN_WITH_TLS },
		{ "zstd", MINIRUN_WITH_ZSTD }, { "gzip", MINIRUN_WITH_GZIP },
		{ "overlay", MINIRUN_WITH_OVERLAY }, { "net", MINIRUN_WITH_NET },
		{ "cgroups", MINIRUN_WITH_CGROUPS }, { "seccomp", MINIRUN_WITH_SECCOMP },
		{ "init", MINIRUN_WITH_INIT }, { "oci", MINIRUN_WITH_OCI },
	};
	size_t i;
	for (i = 0; i < sizeof features / sizeof features[0]; i++)
		printf("%s%c%s", i ? " " : "", features[i].on ? '+' : '-', features[i].name);
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
	static const struct cli_flag flags[] = { { 0 } };
	char plat[32];
	int n = cli_parse(c, argc, argv, flags, 1, "");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 0, 0) < 0)
		return CLI_EXIT_FAIL;
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

static void cli_main_usage(void)
{
	const struct cli_command *cmd;
	printf("\nUsage:  minirun [OPTIONS] COMMAND\n\n"
	       "A daemonless container runtime for embedded Linux\n\n"
	       "Options:\n"
	       "      --root string      Store folder (default \"%s\", or $MINIRUN_ROOT)\n"
	       "      --run-dir string   Runtime state folder (default \"%s\", or $MINIRUN_RUNDIR)\n"
	       "  -v, --version          Print version information and quit\n\n"
	       "Commands:\n", MINIRUN_DEFAULT_ROOT, MINIRUN_DEFAULT_RUNDIR);
	for (cmd = cli_commands; cmd->name; cmd++)
		if (cmd->summary)
			printf("  %-10s  %s\n", cmd->name, cmd->summary);
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
		for (s = subs; s->name; s++)
			printf("  %-10s  %s\n", s->name, s->summary);
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
				printf("%s\n", cell);
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

/* Render one object (kv pairs, n of them) into out; 0, or the exit code. */
static int cli_fmt_render(struct cli_fmt *f, const char *const *kv, size_t n, struct mr_buf *out)
{
	struct mr_buf js = { 0 };
	struct mr_json_doc doc = { 0 };
	struct mr_jw w;
	struct mr_err err;
	char msg[256];
	size_t i;
	int rc;
	mr_jw_init(&w, &js, 0);
	mr_jw_obj(&w);
	for (i = 0; i < n; i++) {
		mr_jw_key(&w, kv[2 * i]);
		mr_jw_str(&w, kv[2 * i + 1]);
	}
	mr_jw_obj_end(&w);
	if (mr_json_parse(&doc, js.data, js.len, &err) < 0) {
		mr_buf_free(&js);
		return 1;
	}
	rc = tmpl_render(f->fmt, doc.root, out, msg, sizeof msg);
	if (rc < 0)
		fprintf(stderr, "%s\n", msg);
	mr_json_free(&doc);
	mr_buf_free(&js);
	return rc == 0 ? 0 : rc == -2 ? 64 : 1;
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
	const char *kv[48], *h;
	size_t n = 0;
	struct mr_buf out = { 0 };
	for (h = f->heads; *h && n < 24; h += strlen(h) + 1, h += strlen(h) + 1, n++) {
		kv[2 * n] = h;
		kv[2 * n + 1] = h + strlen(h) + 1;
	}
	if (cli_fmt_render(f, kv, n, &out) == 0 && out.data)
		cli_fmt_add(f, out.data);
	mr_buf_free(&out);
}

static int cli_fmt_row(struct cli_fmt *f, const char *const *kv, size_t n)
{
	struct mr_buf out = { 0 };
	if (f->rc)
		return f->rc;
	if (f->table && !f->t.nrows)
		cli_fmt_header(f);
	f->rc = cli_fmt_render(f, kv, n, &out);
	if (!f->rc && f->table)
		cli_fmt_add(f, out.data ? out.data : (char *)"");
	else if (!f->rc)
		printf("%s\n", out.data ? out.data : "");
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
	struct cli_flag flags[] = {
		{ "i|input", 1, &input, NULL, NULL, "Read from tar archive file, instead of STDIN" },
		{ "dir", 1, &dir, NULL, NULL, "Load an OCI layout folder" },
		{ "platform", 1, &platform, NULL, NULL, "Platform to load from a multi-platform image" },
		{ "q|quiet", 0, NULL, &quiet, NULL, "Suppress the load output" },
		{ 0 },
	};
	struct image_load ld;
	struct stat stbuf;
	int n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS] [PATH]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 0, 1) < 0)
		return CLI_EXIT_FAIL;
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
	struct cli_flag flags[] = {
		{ "a|all", 0, NULL, &all, NULL, "Show all images" },
		{ "q|quiet", 0, NULL, &quiet, NULL, "Only show image IDs" },
		{ "no-trunc", 0, NULL, &no_trunc, NULL, "Don't truncate output" },
		{ "format", 1, &format, NULL, NULL, "Pretty-print images using a Go template" },
		{ "f|filter", 1, NULL, NULL, &filters, "Filter output based on conditions provided" },
		{ 0 },
	};
	struct cli_fmt fm;
	struct img_filter fx;
	struct mr_store *st;
	struct image_db db;
	struct cli_table t = { 5, 0, NULL, { 0 }, 0 };
	static const char *const head[] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" };
	size_t i, j;
	int n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS] [REPOSITORY[:TAG]]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 0, 1) < 0 || !(st = cli_store(c)))
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
				printf("%s\n", id);
				continue;
			}
			if (format) {
				char at[48];
				const char *kv[] = { "Repository", repo, "Tag", tag, "ID", id,
						     "CreatedSince", created, "CreatedAt", at, "Size", size,
						     "Digest", "<none>", "Containers", "N/A",
						     "VirtualSize", size, "SharedSize", "N/A",
						     "UniqueSize", "N/A" };
				cli_created_at(r->created, at, sizeof at);
				if (cli_fmt_row(&fm, kv, sizeof kv / sizeof kv[0] / 2))
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
	static const struct { const char *key; int kind; } fields[] = {
		{ "Hostname", 's' }, { "Domainname", 's' }, { "User", 's' },
		{ "AttachStdin", 'b' }, { "AttachStdout", 'b' }, { "AttachStderr", 'b' },
		{ "ExposedPorts", 'o' }, { "Tty", 'b' }, { "OpenStdin", 'b' }, { "StdinOnce", 'b' },
		{ "Env", 'n' }, { "Cmd", 'n' }, { "Healthcheck", 'o' }, { "Image", 's' }, { "Volumes", 'n' },
		{ "WorkingDir", 's' }, { "Entrypoint", 'n' }, { "OnBuild", 'n' }, { "Labels", 'n' },
		{ "StopSignal", 'o' },
	};
	size_t i;
	mr_jw_obj(w);
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const struct mr_json *v = mr_json_get(cfg, fields[i].key);
		if (!v && fields[i].kind == 'o')
			continue;
		mr_jw_key(w, fields[i].key);
		if (v)
			mr_jw_value(w, v);
		else if (fields[i].kind == 's')
			mr_jw_str(w, "");
		else if (fields[i].kind == 'b')
			mr_jw_bool(w, 0);
		else
			mr_jw_null(w);
	}
	mr_jw_obj_end(w);
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
	mr_jw_key(w, "Id");
	mr_jw_str(w, r->id);
	mr_jw_key(w, "RepoTags");
	mr_jw_arr(w);
	for (i = 0; i < db->ntags; i++)
		if (!strcmp(db->tags[i].id, r->id))
			mr_jw_str(w, db->tags[i].name);
	mr_jw_arr_end(w);
	mr_jw_key(w, "RepoDigests");
	mr_jw_arr(w);
	mr_jw_arr_end(w);
	mr_jw_key(w, "Parent");
	mr_jw_str(w, "");
	mr_jw_key(w, "Comment");
	v = mr_json_get(cfg.root, "comment");
	mr_jw_str(w, mr_json_str(v) ? v->str : "");
	mr_jw_key(w, "Created");
	mr_jw_str(w, r->created);
	mr_jw_key(w, "DockerVersion");
	v = mr_json_get(cfg.root, "docker_version");
	mr_jw_str(w, mr_json_str(v) ? v->str : "");
	mr_jw_key(w, "Author");
	v = mr_json_get(cfg.root, "author");
	mr_jw_str(w, mr_json_str(v) ? v->str : "");
	mr_jw_key(w, "Config");
	cli_inspect_image_config(w, mr_json_get(cfg.root, "config"));
	mr_jw_key(w, "Architecture");
	v = mr_json_get(cfg.root, "architecture");
	mr_jw_str(w, mr_json_str(v) ? v->str : "");
	if ((v = mr_json_get(cfg.root, "variant")) && mr_json_str(v)) {
		mr_jw_key(w, "Variant");
		mr_jw_str(w, v->str);
	}
	mr_jw_key(w, "Os");
	v = mr_json_get(cfg.root, "os");
	mr_jw_str(w, mr_json_str(v) ? v->str : "");
	mr_jw_key(w, "Size");
	mr_jw_int(w, (long long)r->size);
	mr_jw_key(w, "GraphDriver");
	mr_jw_obj(w);
	mr_jw_key(w, "Data");
	mr_jw_obj(w);
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
	mr_jw_key(w, "Name");
	mr_jw_str(w, "overlay");
	mr_jw_obj_end(w);
	mr_jw_key(w, "RootFS");
	mr_jw_obj(w);
	mr_jw_key(w, "Type");
	mr_jw_str(w, "layers");
	mr_jw_key(w, "Layers");
	mr_jw_arr(w);
	for (i = 0; i < r->nlayers; i++) {
		char d[MR_DIGEST_LEN + 1];
		snprintf(d, sizeof d, "sha256:%s", r->layers[i]);
		mr_jw_str(w, d);
	}
	mr_jw_arr_end(w);
	mr_jw_obj_end(w);
	mr_jw_key(w, "Metadata");
	mr_jw_obj(w);
	mr_jw_key(w, "LastTagTime");
	mr_jw_str(w, r->loaded);
	mr_jw_obj_end(w);
	mr_jw_obj_end(w);
	mr_json_free(&cfg);
	mr_buf_free(&buf);
	return 0;
}

static int cmd_image_inspect(struct cli *c, int argc, char **argv)
{
	const char *format = NULL;
	struct cli_flag flags[] = {
		{ "f|format", 1, &format, NULL, NULL, "Format the output using the given Go template" },
		{ 0 },
	};
	struct mr_store *st;
	struct image_db db;
	struct mr_buf out = { 0 };
	struct mr_jw w, one;
	int i, k, rc = 0;
	int n = cli_parse(c, argc, argv, flags, 1, "IMAGE [IMAGE...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 1, -1) < 0 || !(st = cli_store(c)))
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
		printf("%s\n", out.data);
	mr_buf_free(&out);
	image_db_free(&db);
	return rc;
}

static int cmd_tag(struct cli *c, int argc, char **argv)
{
	struct cli_flag flags[] = { { 0 } };
	struct mr_store *st;
	struct image_db db;
	struct image_rec *r;
	char name[512], src[512];
	struct mr_err ignored;
	int rc = CLI_EXIT_FAIL;
	int n = cli_parse(c, argc, argv, flags, 1, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 2, 2) < 0)
		return CLI_EXIT_FAIL;
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
	int force = 0, i, rc = 0;
	struct cli_flag flags[] = {
		{ "f|force", 0, NULL, &force, NULL, "Force removal of the image" },
		{ "no-prune", 0, NULL, NULL, NULL, "Do not delete untagged parents" },
		{ 0 },
	};
	struct mr_store *st;
	struct image_db db;
	int n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS] IMAGE [IMAGE...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 1, -1) < 0 || !(st = cli_store(c)) || mr_store_lock(st, &c->err) < 0)
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
	struct cli_flag flags[] = {
		{ "a|all", 0, NULL, &all, NULL, "Remove all unused images, not just dangling ones" },
		{ "f|force", 0, NULL, &force, NULL, "Do not prompt for confirmation" },
		{ "filter", 1, NULL, NULL, &filters, "Provide filter values (e.g. \"until=<timestamp>\")" },
		{ 0 },
	};
	struct img_filter fx;
	struct mr_store *st;
	struct image_db db;
	uint64_t reclaimed = 0;
	char size[32], who[64];
	size_t i, j;
	int n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 0, 0) < 0)
		return CLI_EXIT_FAIL;
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
	struct cli_flag flags[] = { { 0 } };
	struct mr_store *st;
	struct image_db db;
	struct image_rec *r;
	int rc = CLI_EXIT_FAIL, target = -1;
	size_t i;
	int n = cli_parse(c, argc, argv, flags, 1, "IMAGE DIR");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 2, 2) < 0 || !(st = cli_store(c)))
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
	struct cli_flag flags[] = {
		{ "q|quiet", 0, NULL, &quiet, NULL, "Only show image IDs" },
		{ "no-trunc", 0, NULL, &no_trunc, NULL, "Don't truncate output" },
		{ "format", 1, &format, NULL, NULL, "Pretty-print images using a Go template" },
		{ 0 },
	};
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
	int np = cli_parse(c, argc, argv, flags, 1, "[OPTIONS] IMAGE");
	if (np < 0)
		return np == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, np, 1, 1) < 0 || !(st = cli_store(c)))
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
			printf("%s\n", id);
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
			const char *kv[] = { "ID", id, "CreatedSince", since, "CreatedAt", created_at,
					     "CreatedBy", byc, "Size", size, "Comment", comment ? comment : "" };
			if ((rc = cli_fmt_row(&fm, kv, 6)) != 0)
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
		{ "history", cmd_history, "Show the history of an image" },
		{ "inspect", cmd_image_inspect, "Display detailed information on one or more images" },
		{ "load", cmd_load, "Load an image from a tar archive or STDIN" },
		{ "ls", cmd_images, "List images" },
		{ "prune", cmd_image_prune, "Remove unused images" },
		{ "rm", cmd_rmi, "Remove one or more images" },
		{ "tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE" },
		{ "unpack", cmd_image_unpack, "Write an image's flattened root filesystem to a folder" },
		{ NULL, NULL, NULL },
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

/* Make sure 0, 1 and 2 are open: a container's stdio must never be one of
 * minirun's own descriptors. */
static void cli_std_fds(void)
{
	int fd;
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2) {}
	if (fd > 2)
		close(fd);
}

static int run_parse(struct cli *cl, struct ctr_opts *o, int argc, char **argv, int is_run)
{
	struct cli_flag flags[] = {
		{ "d|detach", 0, NULL, &o->detach, NULL, "Run in the background, print the ID" },
		{ "name", 1, &o->name, NULL, NULL, "Assign a name to the container" },
		{ "rm", 0, NULL, &o->rm, NULL, "Remove the container when it exits" },
		{ "pull", 1, &o->pull, NULL, NULL,
		  "Pull image before running (\"always\"|\"missing\"|\"never\")" },
		{ "e|env", 1, NULL, NULL, &o->env, "Set environment variables" },
		{ "env-file", 1, NULL, NULL, &o->env_file, "Read environment variables from a file" },
		{ "w|workdir", 1, &o->workdir, NULL, NULL, "Working directory in the container" },
		{ "u|user", 1, &o->user, NULL, NULL, "User: name|uid[:group|gid]" },
		{ "entrypoint", 1, &o->entrypoint, NULL, NULL, "Replace the image's ENTRYPOINT" },
		{ "h|hostname", 1, &o->hostname, NULL, NULL, "Container host name" },
		{ "i|interactive", 0, NULL, &o->interactive, NULL, "Keep STDIN open" },
		{ "t|tty", 0, NULL, &o->tty, NULL, "Allocate a pseudo-TTY" },
		{ "read-only", 0, NULL, &o->read_only, NULL, "Read-only root filesystem" },
		{ "init", 0, NULL, &o->init, NULL, "Run an init that forwards signals and reaps" },
		{ "l|label", 1, NULL, NULL, &o->label, "Set meta data on a container" },
		{ "stop-signal", 1, &o->stop_signal, NULL, NULL, "Signal to stop the container" },
		{ "stop-timeout", 1, &o->stop_timeout, NULL, NULL, "Seconds before stop kills" },
		{ "restart", 1, &o->restart, NULL, NULL, "no|on-failure[:N]|always|unless-stopped" },
		{ "m|memory", 1, &o->memory, NULL, NULL, "Memory limit" },
		{ "memory-swap", 1, &o->memory_swap, NULL, NULL, "Memory plus swap limit (-1: unlimited)" },
		{ "cpus", 1, &o->cpus, NULL, NULL, "Number of CPUs" },
		{ "pids-limit", 1, &o->pids_limit, NULL, NULL, "Most processes (-1: unlimited)" },
		{ "cap-add", 1, NULL, NULL, &o->cap_add, "Add Linux capabilities" },
		{ "cap-drop", 1, NULL, NULL, &o->cap_drop, "Drop Linux capabilities" },
		{ "privileged", 0, NULL, &o->privileged, NULL, "Every capability and device, no masks" },
		{ "device", 1, NULL, NULL, &o->device, "Add a host device: HOST[:CONTAINER][:rwm]" },
		{ "device-cgroup-rule", 1, NULL, NULL, &o->device_rule, "Allow devices: 'c 42:* rmw'" },
		{ "sysctl", 1, NULL, NULL, &o->sysctl, "Namespaced kernel parameter: KEY=VALUE" },
		{ "ulimit", 1, NULL, NULL, &o->ulimit, "Resource limit: NAME=SOFT[:HARD]" },
		{ "group-add", 1, NULL, NULL, &o->group_add, "Additional group to join" },
		{ "ipc", 1, &o->ipc, NULL, NULL, "IPC namespace: private or host" },
		{ "pid", 1, &o->pid, NULL, NULL, "PID namespace: host, or a private one" },
		{ "health-cmd", 1, &o->health_cmd, NULL, NULL, "Command to run to check health" },
		{ "health-interval", 1, &o->health_interval, NULL, NULL, "Time between checks (30s)" },
		{ "health-timeout", 1, &o->health_timeout, NULL, NULL, "Longest a check may run (30s)" },
		{ "health-start-period", 1, &o->health_start, NULL, NULL, "Failures not counted (0s)" },
		{ "health-retries", 1, &o->health_retries, NULL, NULL, "Failures to be unhealthy (3)" },
		{ "no-healthcheck", 0, NULL, &o->no_healthcheck, NULL, "Disable any HEALTHCHECK" },
		{ "uts", 1, &o->uts, NULL, NULL, "UTS namespace: host, or a private one" },
		{ "shm-size", 1, &o->shm_size, NULL, NULL, "Size of /dev/shm (default 64m)" },
		{ "security-opt", 1, NULL, NULL, &o->security_opt, "Security Options" },
		{ "log-opt", 1, NULL, NULL, &o->log_opt, "max-size=SIZE, max-file=N, location=ram|store" },
		{ "network|net", 1, &o->network, NULL, NULL, "bridge, host, none, container:NAME" },
		{ "p|publish", 1, NULL, NULL, &o->publish, "Publish a port: [IP:]HOSTPORT:PORT" },
		{ "P|publish-all", 0, NULL, &o->publish_all, NULL, "Publish the exposed ports" },
		{ "add-host", 1, NULL, NULL, &o->add_host, "Add host:ip to /etc/hosts" },
		{ "dns", 1, NULL, NULL, &o->dns, "Set custom DNS servers" },
		{ "network-alias", 1, NULL, NULL, &o->network_alias, "Add a network-scoped alias" },
		{ "v|volume", 1, NULL, NULL, &o->volume, "Bind mount a volume" },
		{ "mount", 1, NULL, NULL, &o->mount, "type=volume|bind|tmpfs,..." },
		{ "tmpfs", 1, NULL, NULL, &o->tmpfs, "Mount a tmpfs directory" },
		{ "volumes-from", 1, NULL, NULL, &o->volumes_from, "Mount the volumes of CONTAINER[:ro|:rw]" },
		{ 0 },
	};
	int n, i;
	memset(o, 0, sizeof *o);
	if (!is_run)
		flags[0].names = "detach-unused";
	/* Docker's -h is --hostname here, not --help: rewrite it among the flags
	 * (those before the image) */
	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const struct cli_flag *f;
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "-h")) {
			argv[i] = "--hostname";
			i++;
			continue;
		}
		if (a[1] == '-') {
			f = strchr(a, '=') ? NULL : cli_find_flag(flags, a + 2, strlen(a + 2));
		} else {
			size_t k = strlen(a) - 1;
			f = cli_find_flag(flags, a + k, 1);
			while (--k >= 1)        /* a value glued to an earlier letter: -eX=1 */
				if (cli_find_flag(flags, a + k, 1) && cli_find_flag(flags, a + k, 1)->has_value)
					f = NULL;
		}
		if (f && f->has_value)
			i++;
	}
	n = cli_parse(cl, argc, argv, flags, 0, "[OPTIONS] IMAGE [COMMAND] [ARG...]");
	if (n < 0)
		return n;
	if (cli_nargs(cl, n, 1, -1) < 0)
		return -1;
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
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	cli_std_fds();
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
			printf("%s\n", c.id);
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
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (run_pull(cl, &o, o.image) < 0) {
		util_print_err(&cl->err);
		return CLI_EXIT_FAIL;
	}
	if (run_create(cl, &o, &c) < 0) {
		util_print_err(&cl->err);
		ctr_free(&c);
		return CLI_EXIT_FAIL;
	}
	printf("%s\n", c.id);
	ctr_free(&c);
	return 0;
}

static int cmd_start(struct cli *cl, int argc, char **argv)
{
	int attach = 0, interactive = 0, i, rc = 0;
	struct cli_flag flags[] = {
		{ "a|attach", 0, NULL, &attach, NULL, "Attach STDOUT/STDERR, forward signals" },
		{ "i|interactive", 0, NULL, &interactive, NULL, "Attach container's STDIN" },
		{ 0 },
	};
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS] CONTAINER [CONTAINER...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, -1) < 0)
		return CLI_EXIT_FAIL;
	if ((attach || interactive) && n > 1) {
		fprintf(stderr, "Error: you cannot start and attach multiple containers at once\n");
		return CLI_EXIT_FAIL;
	}
	cli_std_fds();
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
				printf("%s\n", argv[i]);
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
			printf("%s\n", argv[i]);
		}
		ctr_free(&c);
	}
	return rc;
}

/* Wait until pid (with its start time) is gone; 0 if it went within ms
 * (ms < 0: no limit). */
static int ctr_wait_pid(pid_t pid, unsigned long long start, long ms)
{
	long waited = 0, step = 2;
	while (ctr_pid_start(pid) == start) {
		struct timespec t = { 0, step * 1000000L };
		if (ms >= 0 && waited >= ms)
			return -1;
		nanosleep(&t, NULL);
		waited += step;
		if (step < 64)
			step *= 2;
	}
	return 0;
}

/* Wait until nothing owns the container (its owner recorded the exit),
 * looking at the lock without taking it (see ctr_lock_take). */
static void ctr_wait_owner(struct mr_store *st, const char *id)
{
	int rfd = ctr_rundir(st, id, 0);
	long step = 2;
	if (rfd < 0)
		return;
	while (ctr_monitor_alive(rfd)) {
		struct timespec t = { 0, step * 1000000L };
		nanosleep(&t, NULL);
		if (step < 50)
			step *= 2;
	}
	close(rfd);
}

/* Docker's stop: the stop signal, SIGKILL after the timeout; the restart
 * policy does not apply to a container stopped by the user. */
static int ctr_stop(struct mr_store *st, struct ctr *c, long timeout, int sig, struct mr_err *err)
{
	struct ctr_info ci;
	int rfd, fd;
	ctr_info_get(st, c->id, &ci);
	if (ci.status != CTR_RUNNING && ci.status != CTR_RESTARTING)
		return 0;
	rfd = ctr_rundir(st, c->id, 0);
	if (rfd < 0)
		return 0;
	fd = openat(rfd, "stop", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	close(rfd);
	if (ci.status == CTR_RESTARTING) {
		if (ci.monitor > 0)
			kill(ci.monitor, SIGTERM);
	} else if (ci.pid > 0) {
		if (!sig)
			sig = ctr_signal_parse(c->stop_signal);
		if (timeout < 0)
			timeout = c->stop_timeout >= 0 ? c->stop_timeout : 10;
		if (kill(ci.pid, sig ? sig : SIGTERM) < 0 && errno != ESRCH)
			return mr_err_sys(err, "stop container %s", c->name);
		if (ctr_wait_pid(ci.pid, ci.pid_start, timeout * 1000) < 0) {
			kill(ci.pid, SIGKILL);
			ctr_wait_pid(ci.pid, ci.pid_start, -1);
		}
	}
	ctr_wait_owner(st, c->id);
	return 0;
}

static int cmd_stop_restart(struct cli *cl, int argc, char **argv, int restart)
{
	const char *t = NULL, *s = NULL;
	struct cli_flag flags[] = {
		{ "t|time|timeout", 1, &t, NULL, NULL, "Seconds before SIGKILL" },
		{ "s|signal", 1, &s, NULL, NULL, "Signal to send to the container" },
		{ 0 },
	};
	uint64_t v = 0;
	int i, rc = 0, sig = 0;
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS] CONTAINER [CONTAINER...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, -1) < 0)
		return CLI_EXIT_FAIL;
	if (t && util_parse_u64(t, &v) < 0 && strcmp(t, "-1")) {
		cli_fail(cl, "invalid argument \"%s\" for \"-t, --time\" flag", t);
		return CLI_EXIT_FAIL;
	}
	if (s && !(sig = ctr_signal_parse(s))) {
		fprintf(stderr, "Error: Invalid signal: %s\n", s);
		return CLI_EXIT_FAIL;
	}
	cli_std_fds();
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
			printf("%s\n", argv[i]);
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
	struct cli_flag flags[] = {
		{ "s|signal", 1, &s, NULL, NULL, "Signal to send to the container" },
		{ 0 },
	};
	int i, rc = 0, sig;
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS] CONTAINER [CONTAINER...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, -1) < 0)
		return CLI_EXIT_FAIL;
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
				printf("%s\n", argv[i]);
			}
		}
		ctr_free(&c);
	}
	return rc;
}

static int cmd_rm(struct cli *cl, int argc, char **argv)
{
	int force = 0, volumes = 0, i, rc = 0;
	struct cli_flag flags[] = {
		{ "f|force", 0, NULL, &force, NULL, "Kill a running container first" },
		{ "v|volumes", 0, NULL, &volumes, NULL, "Remove its anonymous volumes" },
		{ 0 },
	};
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS] CONTAINER [CONTAINER...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, -1) < 0)
		return CLI_EXIT_FAIL;
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
			printf("%s\n", argv[i]);
		}
		ctr_disown(&o);
		ctr_free(&c);
	}
	return rc;
}

static int cmd_wait(struct cli *cl, int argc, char **argv)
{
	struct cli_flag flags[] = { { 0 } };
	int i, rc = 0;
	int n = cli_parse(cl, argc, argv, flags, 1, "CONTAINER [CONTAINER...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, -1) < 0)
		return CLI_EXIT_FAIL;
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
	struct cli_flag flags[] = {
		{ "f|follow", 0, NULL, &follow, NULL, "Follow log output" },
		{ "n|tail", 1, &tail, NULL, NULL, "Lines from the end" },
		{ "t|timestamps", 0, NULL, &ts, NULL, "Show timestamps" },
		{ "since", 1, &since, NULL, NULL, "Logs since a time (2026-11-29T10:00:00Z) or for 10m" },
		{ "until", 1, &until, NULL, NULL, "Logs before a time, or 10m ago" },
		{ 0 },
	};
	struct logs_out o;
	struct logs_file *f;
	struct ctr c;
	uint64_t n_tail = 0, *ends;
	int *fds;
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS] CONTAINER");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, 1) < 0)
		return CLI_EXIT_FAIL;
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
	ctr_jw_str(w, key, t && *t ? t : "0001-01-01T00:00:00Z");
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
	ctr_jw_str(w, "Runtime", "runc");
	/* minirun gives every container its own cgroup namespace */
	ctr_jw_str(w, "CgroupnsMode", "private");
	mr_jw_key(w, "ConsoleSize");
	mr_jw_arr(w);
	mr_jw_int(w, 0);
	mr_jw_int(w, 0);
	mr_jw_arr_end(w);
	mr_jw_key(w, "Dns");
	mr_jw_arr(w);
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
	mr_jw_key(w, "PortBindings");
	mr_jw_obj(w);
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
			ctr_jw_str(w, "HostIp", p.hip ? ip : "");
			ctr_jw_str(w, "HostPort", p.hport ? hp : "");
			mr_jw_obj_end(w);
		}
		mr_jw_arr_end(w);
	}
	mr_jw_obj_end(w);
	mr_buf_free(&b);
}

static void cli_inspect_ctr(struct cli *cl, struct mr_jw *w, struct ctr *c)
{
	struct ctr_info ci;
	char path[MINIRUN_MAX_PATH + 96], mem[32];
	const char *dir = cl->store.root;
	size_t i;
	ctr_info_get(&cl->store, c->id, &ci);
	mr_jw_obj(w);
	ctr_jw_str(w, "Id", c->id);
	ctr_jw_str(w, "Created", c->created);
	mr_jw_key(w, "Path");
	mr_jw_str(w, c->entrypoint.n ? c->entrypoint.v[0] : c->cmd.n ? c->cmd.v[0] : "");
	mr_jw_key(w, "Args");
	mr_jw_arr(w);
	for (i = 1; i < c->entrypoint.n + c->cmd.n; i++)
		mr_jw_str(w, i < c->entrypoint.n ? c->entrypoint.v[i] : c->cmd.v[i - c->entrypoint.n]);
	mr_jw_arr_end(w);
	mr_jw_key(w, "State");
	mr_jw_obj(w);
	ctr_jw_str(w, "Status", ctr_status_name(ci.status));
	ctr_jw_bool(w, "Running", ci.status == CTR_RUNNING);
	ctr_jw_bool(w, "Paused", 0);
	ctr_jw_bool(w, "Restarting", ci.status == CTR_RESTARTING);
	ctr_jw_bool(w, "OOMKilled", ci.st.oom_killed);
	ctr_jw_bool(w, "Dead", 0);
	ctr_jw_int(w, "Pid", ci.status == CTR_RUNNING ? ci.pid : 0);
	ctr_jw_int(w, "ExitCode", ci.st.exit_code);
	ctr_jw_str(w, "Error", ci.st.error);
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
	ctr_jw_str(w, "Image", c->image);
	snprintf(path, sizeof path, "%s/containers/%s/resolv.conf", dir, c->id);
	ctr_jw_str(w, "ResolvConfPath", path);
	snprintf(path, sizeof path, "%s/containers/%s/hostname", dir, c->id);
	ctr_jw_str(w, "HostnamePath", path);
	snprintf(path, sizeof path, "%s/containers/%s/hosts", dir, c->id);
	ctr_jw_str(w, "HostsPath", path);
	snprintf(path, sizeof path, "%s/containers/%s/log", dir, c->id);
	ctr_jw_str(w, "LogPath", path);
	snprintf(path, sizeof path, "/%s", c->name);
	ctr_jw_str(w, "Name", path);
	ctr_jw_int(w, "RestartCount", ci.st.restart_count);
	ctr_jw_str(w, "Driver", c->driver);
	ctr_jw_str(w, "Platform", "linux");
	mr_jw_key(w, "HostConfig");
	mr_jw_obj(w);
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
	mr_jw_key(w, "LogConfig");
	mr_jw_obj(w);
	ctr_jw_str(w, "Type", "local");
	mr_jw_key(w, "Config");
	mr_jw_obj(w);
	snprintf(mem, sizeof mem, "%llu", (unsigned long long)c->log_max_size);
	ctr_jw_str(w, "max-size", mem);
	snprintf(mem, sizeof mem, "%d", c->log_max_file);
	ctr_jw_str(w, "max-file", mem);
	if (c->log_ram)
		ctr_jw_str(w, "location", "ram");
	mr_jw_obj_end(w);
	mr_jw_obj_end(w);
	cli_port_bindings(&cl->store, c, w);
	ctr_fields_write(w, c, 1, 1);
	cli_inspect_host_rest(cl, w, c);
	mr_jw_obj_end(w);
	mr_jw_key(w, "GraphDriver");
	mr_jw_obj(w);
	mr_jw_key(w, "Data");
	mr_jw_obj(w);
	if (!strcmp(c->driver, "overlay")) {
		struct mr_buf lower = { 0 };
		for (i = c->layers.n; i-- > 0;)
			mr_buf_printf(&lower, "%s%s/layers/%s", lower.len ? ":" : "", dir, c->layers.v[i]);
		ctr_jw_str(w, "LowerDir", lower.data ? lower.data : "");
		mr_buf_free(&lower);
	}
	snprintf(path, sizeof path, "%s/containers/%s/rootfs", dir, c->id);
	ctr_jw_str(w, "MergedDir", path);
	if (!strcmp(c->driver, "overlay")) {
		snprintf(path, sizeof path, "%s/containers/%s/upper", dir, c->id);
		ctr_jw_str(w, "UpperDir", path);
		snprintf(path, sizeof path, "%s/containers/%s/work", dir, c->id);
		ctr_jw_str(w, "WorkDir", path);
	}
	mr_jw_obj_end(w);
	ctr_jw_str(w, "Name", c->driver);
	mr_jw_obj_end(w);
	mr_jw_key(w, "Mounts");
	mr_jw_arr(w);
	for (i = 0; i < c->nmnt; i++)
		mount_write_json(w, &cl->store, &c->mnt[i], 1);
	mr_jw_arr_end(w);
	mr_jw_key(w, "Config");
	mr_jw_obj(w);
	ctr_fields_write(w, c, 0, 1);
	ctr_jw_str(w, "Domainname", "");
	ctr_jw_bool(w, "AttachStdin", c->interactive);
	ctr_jw_bool(w, "AttachStdout", 1);
	ctr_jw_bool(w, "AttachStderr", 1);
	ctr_jw_bool(w, "StdinOnce", c->interactive);
	ctr_jw_str(w, "Image", c->image_ref);
	mr_jw_key(w, "Volumes");
	mr_jw_null(w);
	mr_jw_key(w, "OnBuild");
	mr_jw_null(w);
	mr_jw_obj_end(w);
	mr_jw_key(w, "NetworkSettings");
	mr_jw_obj(w);
	ctr_jw_str(w, "Bridge", "");
	ctr_jw_str(w, "SandboxID", "");
	if (ci.status == CTR_RUNNING)
		snprintf(path, sizeof path, "/proc/%d/ns/net", (int)ci.pid);
	else
		path[0] = 0;
	ctr_jw_str(w, "SandboxKey", path);
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
	if (rc != -2)
		printf("%s\n", out.data ? out.data : "");
	fflush(stdout);
	if (rc < 0)
		fprintf(stderr, "template parsing error: %s\n", msg);
	mr_json_free(&doc);
	mr_buf_free(&out);
	return rc == 0 ? 0 : rc == -2 ? 64 : 1;
}

/* `inspect`: a container first, then an image, as Docker resolves names. */
static int cmd_inspect(struct cli *cl, int argc, char **argv)
{
	const char *type = NULL, *format = NULL;
	struct cli_flag flags[] = {
		{ "type", 1, &type, NULL, NULL, "container or image" },
		{ "f|format", 1, &format, NULL, NULL, "Go-like template" },
		{ 0 },
	};
	struct mr_store *st;
	struct image_db db;
	struct mr_buf out = { 0 };
	struct mr_jw w;
	int i, k, rc = 0, dbok;
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS] NAME|ID [NAME|ID...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, -1) < 0 || !(st = cli_store(cl)))
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
		printf("%s\n", out.data);
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

struct ps_row {
	struct ctr c;
	struct ctr_info ci;
	int image_gone;                   /* its reference names another image now, or none */
	struct mr_store *st;
	char size[48];                     /* ps -s: "6B (virtual 1.98MB)", else "" */
};

static int ps_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ps_row *)b)->c.created, ((const struct ps_row *)a)->c.created);
}

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
static void ps_ports(const struct ps_row *r, struct mr_buf *out)
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

/* Value of one --format field ({{.Names}}), or -1 if unknown. */
static int ps_field(const struct ps_row *r, const char *f, const char *arg, int no_trunc,
		    struct mr_buf *out)
{
	char buf[96];
	time_t created = 0, now = time(NULL);
	size_t i;
	util_parse_rfc3339(r->c.created, &created);
	if (!strcmp(f, "ID")) {
		mr_buf_printf(out, "%.*s", no_trunc ? CTR_ID_LEN : 12, r->c.id);
	} else if (!strcmp(f, "Names")) {
		mr_buf_printf(out, "%s", r->c.name);
	} else if (!strcmp(f, "Image")) {
		/* Docker: the image's ID once its name went (rmi, a new tag) */
		if (r->image_gone)
			mr_buf_printf(out, "%.*s", no_trunc ? MR_DIGEST_LEN : 12,
				      no_trunc ? r->c.image : r->c.image + 7);
		else
			mr_buf_printf(out, "%s", r->c.image_ref);
	} else if (!strcmp(f, "Command")) {
		ps_command(&r->c, no_trunc, out);
	} else if (!strcmp(f, "CreatedAt")) {
		struct tm tm;
		gmtime_r(&created, &tm);
		mr_buf_printf(out, "%04d-%02d-%02d %02d:%02d:%02d +0000 UTC", tm.tm_year + 1900,
			      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	} else if (!strcmp(f, "RunningFor")) {
		util_human_duration((long)(now - created), buf, sizeof buf);
		mr_buf_printf(out, "%s ago", buf);
	} else if (!strcmp(f, "Status")) {
		ctr_status_string(&r->ci, now, buf, sizeof buf);
		mr_buf_printf(out, "%s", buf);
	} else if (!strcmp(f, "State")) {
		mr_buf_printf(out, "%s", ctr_status_name(r->ci.status));
	} else if (!strcmp(f, "Labels")) {
		for (i = 0; i < r->c.labels.n; i++)
			mr_buf_printf(out, "%s%s", i ? "," : "", r->c.labels.v[i]);
	} else if (!strcmp(f, "Label")) {
		for (i = 0; arg && i < r->c.labels.n; i++)
			if (ctr_env_keylen(r->c.labels.v[i]) == strlen(arg) &&
			    !strncmp(r->c.labels.v[i], arg, strlen(arg)) && r->c.labels.v[i][strlen(arg)])
				mr_buf_printf(out, "%s", r->c.labels.v[i] + strlen(arg) + 1);
	} else if (!strcmp(f, "Networks")) {
		mr_buf_printf(out, "%s", r->c.network);
	} else if (!strcmp(f, "Size")) {
		mr_buf_printf(out, "%s", r->size[0] ? r->size : "0B");
	} else if (!strcmp(f, "Ports")) {
		if (r->ci.status == CTR_RUNNING)
			ps_ports(r, out);
	} else if (strcmp(f, "Mounts") && strcmp(f, "LocalVolumes")) {
		return -1;
	}
	mr_buf_append(out, "", 0);
	return 0;
}

static const char *ps_header(const char *f)
{
	static const char map[] =
		"ID\0CONTAINER ID\0Names\0NAMES\0Image\0IMAGE\0Command\0COMMAND\0CreatedAt\0CREATED AT\0"
		"RunningFor\0CREATED\0Status\0STATUS\0State\0STATE\0Labels\0LABELS\0Label\0LABEL\0"
		"Networks\0NETWORKS\0Size\0SIZE\0Ports\0PORTS\0Mounts\0MOUNTS\0LocalVolumes\0LOCAL VOLUMES\0";
	const char *p;
	for (p = map; *p; p += strlen(p) + 1, p += strlen(p) + 1)
		if (!strcmp(p, f))
			return p + strlen(p) + 1;
	return f;
}

/* Render a Go-style template ({{.Field}}, {{.Label "k"}}, \t \n escapes);
 * row NULL renders the header. -1 (message printed) on an unknown field. */
static int ps_render(const char *fmt, const struct ps_row *r, int no_trunc, struct mr_buf *out)
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

/* The keys of `ps --filter KEY=VALUE`. */
static const char ps_filter_keys[] = "id\0name\0status\0label\0ancestor\0exited\0health\0";

static int ps_filter_known(const char *f)
{
	const char *k;
	for (k = ps_filter_keys; *k; k += strlen(k) + 1)
		if (util_starts_with(f, k) && f[strlen(k)] == '=')
			return 1;
	return 0;
}

/* --filter: same key ORs, different keys AND (Docker's rule). */
static int ps_match(const struct ps_row *r, const struct ctr_list *filters)
{
	const char *k;
	for (k = ps_filter_keys; *k; k += strlen(k) + 1) {
		size_t i, kl = strlen(k);
		int any = 0, hit = 0;
		for (i = 0; i < filters->n; i++) {
			const char *f = filters->v[i], *v = f + kl + 1;
			if (strncmp(f, k, kl) || f[kl] != '=')
				continue;
			any = 1;
			if (!strcmp(k, "id")) {
				hit |= !strncmp(r->c.id, v, strlen(v));
			} else if (!strcmp(k, "name")) {
				char pat[CTR_NAME_MAX];
				size_t pl;
				int head = *v == '^';
				snprintf(pat, sizeof pat, "%s", v + head);
				pl = strlen(pat);
				if (pl && pat[pl - 1] == '$')
					pat[--pl] = 0, hit |= head ? !strcmp(r->c.name, pat) :
						util_ends_with(r->c.name, pat);
				else
					hit |= head ? util_starts_with(r->c.name, pat) :
						strstr(r->c.name, pat) != NULL;
			} else if (!strcmp(k, "status")) {
				hit |= !strcmp(v, ctr_status_name(r->ci.status));
			} else if (!strcmp(k, "label")) {
				size_t j;
				for (j = 0; j < r->c.labels.n; j++)
					hit |= strchr(v, '=') ? !strcmp(r->c.labels.v[j], v) :
						ctr_env_keylen(r->c.labels.v[j]) == strlen(v) &&
						!strncmp(r->c.labels.v[j], v, strlen(v));
			} else if (!strcmp(k, "ancestor")) {
				hit |= !strcmp(r->c.image_ref, v) || !strncmp(r->c.image + 7, v, strlen(v)) ||
				       !strcmp(r->c.image, v);
			} else if (!strcmp(k, "exited")) {
				hit |= r->ci.status == CTR_EXITED && r->ci.st.exit_code == atoi(v);
			} else {                  /* health: healthy, unhealthy, starting, none */
				hit |= !strcmp(v, r->ci.health[0] ? r->ci.health : "none");
			}
		}
		if (any && !hit)
			return 0;
	}
	return 1;
}

/* Without -a, Docker lists only running containers whatever the filters,
 * except that a status filter widens the list to every state
 * (`ps -q -f name=db` is empty while db is stopped). */
static int ps_wants_stopped(const struct ctr_list *filters)
{
	size_t i;
	for (i = 0; i < filters->n; i++)
		if (util_starts_with(filters->v[i], "status="))
			return 1;
	return 0;
}

/* Bytes of the files under a folder as Docker counts a layer: apparent
 * sizes of everything but folders, on its own filesystem. */
static uint64_t ps_du(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	uint64_t sum = 0;
	struct stat top;
	if (!d) {
		close(dirfd);
		return 0;
	}
	fstat(dirfd, &top);
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || sb.st_dev != top.st_dev)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				sum += ps_du(fd);
		} else {
			sum += (uint64_t)sb.st_size;
		}
	}
	closedir(d);
	return sum;
}

/* ps -s: each container's writable layer and, virtual, with its image. */
static void ps_sizes(struct mr_store *st, struct ps_row *rows, size_t count)
{
	struct image_db db;
	struct mr_err ignored;
	size_t i;
	if (image_db_read(st, &db, &ignored) < 0)
		memset(&db, 0, sizeof db);
	for (i = 0; i < count; i++) {
		char path[48 + CTR_ID_LEN], a[24], b[24];
		const struct image_rec *r = image_db_by_id(&db, rows[i].c.image);
		int fd;
		uint64_t rw = 0;
		snprintf(path, sizeof path, "containers/%s/%s", rows[i].c.id,
			 strcmp(rows[i].c.driver, "overlay") ? "rootfs" : "upper");
		fd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			rw = ps_du(fd);
		util_human_size(rw, a, sizeof a);
		util_human_size(rw + (r ? r->size : 0), b, sizeof b);
		snprintf(rows[i].size, sizeof rows[i].size, "%s (virtual %s)", a, b);
	}
	image_db_free(&db);
}

/* Every container of the store, newest first. */
static struct ps_row *ps_list(struct mr_store *st, size_t *count)
{
	int fd = openat(st->rootfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	struct ps_row *rows = NULL;
	size_t n = 0;
	struct mr_err ignored;
	struct image_db db = { 0 };
	const struct image_rec *img;
	int have_db = image_db_read(st, &db, &ignored) == 0;
	if (!d && fd >= 0)
		close(fd);
	while (d && (de = readdir(d)) != NULL) {
		if (!ctr_is_id(de->d_name))
			continue;
		rows = util_xrealloc(rows, (n + 1) * sizeof *rows);
		if (ctr_load(st, de->d_name, &rows[n].c, &ignored) < 0) {
			ctr_free(&rows[n].c);
			continue;
		}
		ctr_info_get(st, de->d_name, &rows[n].ci);
		img = have_db ? image_db_find(&db, rows[n].c.image_ref, &ignored) : NULL;
		rows[n].image_gone = have_db && (!img || strcmp(img->id, rows[n].c.image));
		rows[n].st = st;
		rows[n].size[0] = 0;
		n++;
	}
	if (d)
		closedir(d);
	image_db_free(&db);
	if (n)
		qsort(rows, n, sizeof *rows, ps_cmp);
	*count = n;
	return rows;
}

static int cmd_ps(struct cli *cl, int argc, char **argv)
{
	int all = 0, quiet = 0, no_trunc = 0, latest = 0, rc = 0, size = 0;
	const char *format = NULL, *last = NULL;
	struct ctr_list filters = { 0 };
	struct cli_flag flags[] = {
		{ "a|all", 0, NULL, &all, NULL, "Show all containers" },
		{ "q|quiet", 0, NULL, &quiet, NULL, "Only display container IDs" },
		{ "no-trunc", 0, NULL, &no_trunc, NULL, "Don't truncate output" },
		{ "f|filter", 1, NULL, NULL, &filters, "Filter: name, id, status, label, ancestor, exited, health" },
		{ "format", 1, &format, NULL, NULL, "Go-like template" },
		{ "l|latest", 0, NULL, &latest, NULL, "Show the last created" },
		{ "n|last", 1, &last, NULL, NULL, "Show the n last created" },
		{ "s|size", 0, NULL, &size, NULL, "Display total file sizes" },
		{ 0 },
	};
	struct mr_store *st;
	struct ps_row *rows;
	struct cli_table t = { 7, 0, NULL, { 0 }, 0 };
	struct mr_buf line = { 0 };
	size_t i, count, shown = 0, limit = (size_t)-1;
	int table = 0;
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 0, 0) < 0 || !(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	for (i = 0; i < filters.n; i++)
		if (!ps_filter_known(filters.v[i])) {
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
	rows = ps_list(st, &count);
	if (size || (format && strstr(format, ".Size")))
		ps_sizes(st, rows, count);
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
		struct ps_row *r = &rows[i];
		if (!all && r->ci.status != CTR_RUNNING && r->ci.status != CTR_RESTARTING &&
		    !ps_wants_stopped(&filters))
			continue;
		if (!ps_match(r, &filters))
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
				printf("%s\n", b.data);
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
	for (i = 0; i < count; i++)
		ctr_free(&rows[i].c);
	free(rows);
	free(filters.v);
	mr_buf_free(&line);
	return rc;
}

/* ---- top, stats ---- */

/* Fields of /proc/PID/stat after the command name (field 3 = index 0). */
static int proc_stat_fields(pid_t pid, unsigned long long *f, int max)
{
	char path[32], buf[1024], *p;
	int fd, i = 0;
	ssize_t n;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = util_read_full(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || !(p = strrchr((buf[n] = 0, buf), ')')))
		return -1;
	for (p += 2; i < max && *p; i++) {
		f[i] = *p >= '0' && *p <= '9' ? strtoull(p, NULL, 10) : (unsigned long long)*p;
		p += strcspn(p, " ");
		p += *p == ' ';
	}
	return i;
}

static int cmd_top(struct cli *cl, int argc, char **argv)
{
	struct cli_flag flags[] = { { 0 } };
	static const char *const head[] = { "UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD" };
	struct cli_table t = { 8, 0, NULL, { 0 }, 0 };
	struct ctr c;
	struct ctr_info ci;
	pid_t *pids;
	size_t count, i;
	long hz = UTIL_CLK_TCK;
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
	int n = cli_parse(cl, argc, argv, flags, 0, "CONTAINER [ps OPTIONS]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, -1) < 0)
		return CLI_EXIT_FAIL;
	/* ps options (Docker hands them to the host's ps; minirun knows the
	 * common ones): -e/-f/-ef change nothing, -o/-eo LIST picks columns */
	for (k = 1; k < n; k++) {
		const char *a = argv[k], *list = NULL;
		if (!strcmp(a, "-e") || !strcmp(a, "-f") || !strcmp(a, "-ef") || !strcmp(a, "-A"))
			continue;
		if (!strcmp(a, "-o") || !strcmp(a, "-eo") || !strcmp(a, "-Ao") || !strcmp(a, "-efo"))
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
		unsigned long long f[20];
		char uid[24] = "?", ppid[24], pid[24], cpu[8], stime[16], tty[16], tm[24];
		char path[48], buf[4096], comm[32] = "", nuid[24] = "?";
		struct mr_buf cmd = { 0 };
		const char *row[11], *out[12];
		struct tm lt, ln;
		time_t started;
		unsigned long long secs;
		ssize_t r;
		int fd;
		if (proc_stat_fields(pids[i], f, 20) < 20)
			continue;
		snprintf(path, sizeof path, "/proc/%d/status", (int)pids[i]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			char *u;
			r = util_read_full(fd, buf, sizeof buf - 1);
			close(fd);
			buf[r > 0 ? r : 0] = 0;
			if ((u = strstr(buf, "\nUid:")) != NULL) {
				long v = strtol(u + 5, NULL, 10);
				snprintf(nuid, sizeof nuid, "%ld", v);
				if (v == 0)
					snprintf(uid, sizeof uid, "root");
				else
					snprintf(uid, sizeof uid, "%ld", v);
			}
		}
		snprintf(pid, sizeof pid, "%d", (int)pids[i]);
		snprintf(ppid, sizeof ppid, "%llu", f[1]);
		secs = (f[11] + f[12]) / (unsigned long long)hz;
		started = boot + (time_t)(f[19] / (unsigned long long)hz);
		snprintf(cpu, sizeof cpu, "%llu", now > started ?
			 (f[11] + f[12]) * 100 / (unsigned long long)hz / (unsigned long long)(now - started) : 0);
		/* UTC: no time zone code in the binary for one column */
		gmtime_r(&started, &lt);
		gmtime_r(&now, &ln);
		if (lt.tm_yday == ln.tm_yday && lt.tm_year == ln.tm_year)
			snprintf(stime, sizeof stime, "%02d:%02d", lt.tm_hour, lt.tm_min);
		else
			snprintf(stime, sizeof stime, "%.3s%02d", "JanFebMarAprMayJunJulAugSepOctNovDec" +
				 3 * (lt.tm_mon % 12), lt.tm_mday);
		if ((f[4] >> 8 & 0xfff) == 136)
			snprintf(tty, sizeof tty, "pts/%llu", (f[4] & 0xff) | ((f[4] >> 12) & 0xfff00));
		else
			snprintf(tty, sizeof tty, "?");
		snprintf(tm, sizeof tm, "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60, secs % 60);
		snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pids[i]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			while ((r = read(fd, buf, sizeof buf)) > 0)
				mr_buf_append(&cmd, buf, (size_t)r);
			close(fd);
		}
		for (r = 0; cmd.data && (size_t)r + 1 < cmd.len; r++)
			if (!cmd.data[r])
				cmd.data[r] = ' ';
		snprintf(path, sizeof path, "/proc/%d/comm", (int)pids[i]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			r = read(fd, comm, sizeof comm - 1);
			close(fd);
			comm[r > 0 ? r - 1 : 0] = 0;
		}
		if (!cmd.len)
			mr_buf_printf(&cmd, "[%s]", comm);
		row[0] = uid; row[1] = pid; row[2] = ppid; row[3] = cpu; row[4] = stime;
		row[5] = tty; row[6] = tm; row[7] = cmd.data ? cmd.data : "";
		row[8] = ""; row[9] = comm; row[10] = nuid;
		for (k = 0; k < nsel; k++)
			out[k] = row[sel[k]];
		cli_table_add(&t, nsel ? out : row);
		mr_buf_free(&cmd);
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
	uint64_t whole = n, unit = 1, scale;
	int u = 0, decimals;
	char num[32];
	while (whole >= 1024 && u < 4)
		whole /= 1024, unit *= 1024, u++;
	/* four significant digits: as many decimals as the whole part leaves */
	decimals = whole < 10 ? 3 : whole < 100 ? 2 : whole < 1000 ? 1 : 0;
	scale = decimals == 3 ? 1000 : decimals == 2 ? 100 : decimals == 1 ? 10 : 1;
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

struct stats_sample {
	uint64_t cpu_ns, mem, limit, pids, rx, tx;
	struct timespec at;
};

/* One sample: from the container's cgroups where it has the controller,
 * else summed over its processes (CPU ticks, resident pages). */
static void stats_sample(const struct ctr *c, pid_t pid, struct stats_sample *s)
{
	uint64_t v = 0, inactive = 0, cpu = UINT64_MAX, mem = UINT64_MAX;
	char path[48], buf[4096], *p;
	int fd, v2 = cg_version() == 2, hz = UTIL_CLK_TCK;
	uint64_t total = util_mem_total();
	pid_t *pids;
	size_t i, n;
	ssize_t r;
	memset(s, 0, sizeof s[0]);
	clock_gettime(CLOCK_MONOTONIC, &s->at);
	if (cg_read_u64(v2 ? "" : "unified", c->id, "cpu.stat", "usage_usec", &v) == 0)
		cpu = v * 1000;
	else if (cg_read_u64("cpuacct", c->id, "cpuacct.usage", NULL, &v) == 0)
		cpu = v;
	if (cg_read_u64(v2 ? "" : "memory", c->id, v2 ? "memory.current" : "memory.usage_in_bytes",
			NULL, &v) == 0) {
		cg_read_u64(v2 ? "" : "memory", c->id, "memory.stat", v2 ? "inactive_file" :
			    "total_inactive_file", &inactive);
		mem = v > inactive ? v - inactive : v;
		cg_read_u64(v2 ? "" : "memory", c->id, v2 ? "memory.max" : "memory.limit_in_bytes",
			    NULL, &s->limit);
	}
	if (!s->limit || s->limit > total)
		s->limit = total;
	pids = cg_pids(c->id, pid, &n);
	if (cg_read_u64(v2 ? "" : "pids", c->id, "pids.current", NULL, &s->pids) < 0)
		s->pids = n;
	for (i = 0; i < n && (cpu == UINT64_MAX || mem == UINT64_MAX); i++) {
		unsigned long long f[13];
		if (cpu == UINT64_MAX && proc_stat_fields(pids[i], f, 13) == 13)
			s->cpu_ns += (f[11] + f[12]) * 1000000000ULL / (unsigned long long)hz;
		snprintf(path, sizeof path, "/proc/%d/statm", (int)pids[i]);
		if (mem == UINT64_MAX && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			r = util_read_full(fd, buf, sizeof buf - 1);
			close(fd);
			buf[r > 0 ? r : 0] = 0;
			p = strchr(buf, ' ');
			if (p)
				s->mem += strtoull(p + 1, NULL, 10) * (uint64_t)getpagesize();
		}
	}
	free(pids);
	if (cpu != UINT64_MAX)
		s->cpu_ns = cpu;
	if (mem != UINT64_MAX)
		s->mem = mem;
	snprintf(path, sizeof path, "/proc/%d/net/dev", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd >= 0 ? util_read_full(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[r > 0 ? r : 0] = 0;
	for (p = strchr(buf, '\n'); p && (p = strchr(p + 1, '\n')) != NULL;) {
		unsigned long long f[9];
		char *colon = strchr(p, ':');
		const char *name = p + 1 + strspn(p + 1, " ");
		if (!colon || !strncmp(name, "lo:", 3))
			continue;
		const char *q = colon + 1;
		int k;
		for (k = 0; k < 9; k++) {
			uint64_t field;
			if (util_word_u64(&q, &field, 10) < 0)
				break;
			f[k] = field;
		}
		if (k == 9) {
			s->rx += f[0];
			s->tx += f[8];
		}
	}
}

static int cmd_stats(struct cli *cl, int argc, char **argv)
{
	int no_stream = 0, all = 0, no_trunc = 0;
	const char *format = NULL;
	struct cli_flag flags[] = {
		{ "no-stream", 0, NULL, &no_stream, NULL, "One sample, no refresh" },
		{ "a|all", 0, NULL, &all, NULL, "Show all containers" },
		{ "no-trunc", 0, NULL, &no_trunc, NULL, "Do not truncate output" },
		{ "format", 1, &format, NULL, NULL, "Pretty-print images using a Go template" },
		{ 0 },
	};
	static const char heads[] = "Container\0CONTAINER\0Name\0NAME\0ID\0CONTAINER ID\0"
		"CPUPerc\0CPU %\0MemUsage\0MEM USAGE / LIMIT\0MemPerc\0MEM %\0NetIO\0NET I/O\0"
		"BlockIO\0BLOCK I/O\0PIDs\0PIDS\0";
	struct cli_fmt fm;
	static const char *const head[] = { "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT",
					    "MEM %", "NET I/O", "BLOCK I/O", "PIDS" };
	struct mr_store *st;
	struct ps_row *rows;
	struct stats_sample *a, *b;
	unsigned char *keep;
	size_t count, i;
	int k, rc = 0;
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS] [CONTAINER...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	rows = ps_list(st, &count);
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
				stats_sample(&rows[i].c, rows[i].ci.pid, &a[i]);
		usleep(no_stream ? 250000 : 1000000);
		if (format)
			cli_fmt_init(&fm, format, heads);
		else
			cli_table_add(&t, head);
		for (i = 0; i < count; i++) {
			char id[72], cpu[16], mem[48], memp[16], net[48], pids[24], x[16], y[16];
			const char *row[8];
			uint64_t dt;
			if (!keep[i])
				continue;
			if (rows[i].ci.status == CTR_RUNNING) {
				stats_sample(&rows[i].c, rows[i].ci.pid, &b[i]);
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
			} else {
				snprintf(cpu, sizeof cpu, "0.00%%");
				snprintf(mem, sizeof mem, "0B / 0B");
				snprintf(memp, sizeof memp, "0.00%%");
				snprintf(net, sizeof net, "0B / 0B");
				snprintf(pids, sizeof pids, "0");
			}
			snprintf(id, sizeof id, "%.*s", no_trunc ? CTR_ID_LEN : 12, rows[i].c.id);
			row[0] = id; row[1] = rows[i].c.name; row[2] = cpu; row[3] = mem;
			row[4] = memp; row[5] = net; row[6] = "0B / 0B"; row[7] = pids;
			if (format) {
				const char *kv[] = { "Container", n ? rows[i].c.name : id, "Name",
						     rows[i].c.name, "ID", id, "CPUPerc", cpu, "MemUsage", mem,
						     "MemPerc", memp, "NetIO", net, "BlockIO", "0B / 0B",
						     "PIDs", pids };
				if (!no_stream && !fm.t.nrows && !fm.table)
					printf("\033[2J\033[H");
				cli_fmt_row(&fm, kv, 9);
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
	for (i = 0; i < count; i++)
		ctr_free(&rows[i].c);
	free(rows);
	return rc;
}

/* ---- rename, prune ---- */

/* Give container c a new name under the store lock: the new name claimed
 * first, the record saved, then the old name released and the network's
 * hosts files told (rename and boot's rollouts). */
static int cli_rename_ctr(struct mr_store *st, struct ctr *c, const char *name, struct mr_err *err)
{
	char old[CTR_NAME_MAX];
	int rc = -1;
	snprintf(old, sizeof old, "%s", c->name);
	if (mr_store_lock(st, err) < 0)
		return -1;
	if (ctr_name_claim(st, name, c->id, err) == 0) {
		snprintf(c->name, sizeof c->name, "%s", name);
		if (ctr_save(st, c, -1, err) == 0) {
			ctr_name_release(st, old, c->id);
			net_names_update(st, c->network);
			rc = 0;
		} else {
			ctr_name_release(st, name, c->id);
			snprintf(c->name, sizeof c->name, "%s", old);
		}
	}
	mr_store_unlock(st);
	return rc;
}

static int cmd_rename(struct cli *cl, int argc, char **argv)
{
	struct cli_flag flags[] = { { 0 } };
	struct ctr c;
	const char *name;
	int rc = CLI_EXIT_FAIL;
	int n = cli_parse(cl, argc, argv, flags, 1, "CONTAINER NEW_NAME");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 2, 2) < 0)
		return CLI_EXIT_FAIL;
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
	rc = cli_rename_ctr(&cl->store, &c, name, &cl->err) < 0 ? CLI_EXIT_FAIL : 0;
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
	struct cli_flag flags[] = {
		{ "f|force", 0, NULL, &force, NULL, "Do not prompt for confirmation" },
		{ "filter", 1, NULL, NULL, &filters, "Filter: label=..." },
		{ 0 },
	};
	struct mr_store *st;
	struct ps_row *rows;
	size_t count, i;
	uint64_t reclaimed = 0;
	char size[32];
	int any = 0;
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 0, 0) < 0)
		return CLI_EXIT_FAIL;
	if (!force && !cli_confirm("all stopped containers"))
		return 0;
	if (!(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	rows = ps_list(st, &count);
	for (i = 0; i < count; i++) {
		struct ctr_owner o;
		int dfd;
		if ((rows[i].ci.status != CTR_EXITED && rows[i].ci.status != CTR_CREATED) ||
		    !ps_match(&rows[i], &filters))
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
				printf("%s\n", rows[i].c.id);
				reclaimed += du;
			} else {
				util_print_err(&cl->err);
			}
		}
		ctr_disown(&o);
	}
	util_human_size(reclaimed, size, sizeof size);
	printf("%sTotal reclaimed space: %s\n", any ? "\n" : "", size);
	for (i = 0; i < count; i++)
		ctr_free(&rows[i].c);
	free(rows);
	free(filters.v);
	return 0;
}

/* ---- exec ---- */

static int cmd_exec(struct cli *cl, int argc, char **argv)
{
	struct exec_opts o;
	struct ctr_list env = { 0 }, env_file = { 0 };
	struct cli_flag flags[] = {
		{ "d|detach", 0, NULL, &o.detach, NULL, "Run in the background" },
		{ "i|interactive", 0, NULL, &o.interactive, NULL, "Keep STDIN open" },
		{ "t|tty", 0, NULL, &o.tty, NULL, "Allocate a pseudo-TTY" },
		{ "e|env", 1, NULL, NULL, &env, "Set environment variables" },
		{ "env-file", 1, NULL, NULL, &env_file, "Read environment variables from a file" },
		{ "w|workdir", 1, &o.workdir, NULL, NULL, "Working directory in the container" },
		{ "u|user", 1, &o.user, NULL, NULL, "User: name|uid[:group|gid]" },
		{ "privileged", 0, NULL, &o.privileged, NULL, "Every capability" },
		{ 0 },
	};
	struct ctr c, tmp;
	struct ctr_info ci;
	size_t i;
	int k, rc;
	int n;
	memset(&o, 0, sizeof o);
	n = cli_parse(cl, argc, argv, flags, 0, "[OPTIONS] CONTAINER COMMAND [ARG...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 2, -1) < 0)
		return CLI_EXIT_FAIL;
	if (o.tty && o.interactive && !isatty(0)) {
		fprintf(stderr, "the input device is not a TTY\n");
		return CLI_EXIT_FAIL;
	}
	cli_std_fds();
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
	struct cli_flag flags[] = {
		{ "a|archive", 0, NULL, &o.archive, NULL, "Archive mode (copy all uid/gid information)" },
		{ "L|follow-link", 0, NULL, &o.follow, NULL, "Always follow symbol link in SRC_PATH" },
		{ "q|quiet", 0, NULL, &quiet, NULL, "Suppress progress output (there is none)" },
		{ 0 },
	};
	char *sc, *dc;
	const char *src, *dst;
	struct ctr c;
	memset(&o, 0, sizeof o);
	n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
		      "       minirun cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 2, 2) < 0)
		return CLI_EXIT_FAIL;
	src = cli_cp_arg(argv[0], &sc);
	dst = cli_cp_arg(argv[1], &dc);
	if (sc && dc)
		/* Docker prints these alone and exits 1 */
		return fprintf(stderr, "copying between containers is not supported\n"), 1;
	if (!sc && !dc)
		return fprintf(stderr, "must specify at least one container source\n"), 1;
	if (!*(sc ? dst : src))
		return cli_fail(cl, "filepath cannot be empty"), CLI_EXIT_FAIL;
	cli_std_fds();
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
	struct cli_flag flags[] = { { 0 } };
	struct mr_store *st;
	struct ps_row *rows;
	struct image_db db = { 0 };
	struct utsname u;
	size_t count, i, running = 0, stopped = 0;
	char mem[32];
	const char *driver;
	int v, n = cli_parse(cl, argc, argv, flags, 1, "");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 0, 0) < 0 || !(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	rows = ps_list(st, &count);
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
		{ "cp", cmd_cp, "Copy files/folders between a container and the local filesystem" },
		{ "create", cmd_create, "Create a new container" },
		{ "exec", cmd_exec, "Execute a command in a running container" },
		{ "inspect", cmd_container_inspect, "Display detailed information on one or more containers" },
		{ "kill", cmd_kill, "Kill one or more running containers" },
		{ "logs", cmd_logs, "Fetch the logs of a container" },
		{ "ls", cmd_ps, "List containers" },
		{ "port", cmd_port, "List port mappings or a specific mapping for the container" },
		{ "prune", cmd_container_prune, "Remove all stopped containers" },
		{ "rename", cmd_rename, "Rename a container" },
		{ "restart", cmd_restart, "Restart one or more containers" },
		{ "rm", cmd_rm, "Remove one or more containers" },
		{ "run", cmd_run, "Create and run a new container from an image" },
		{ "start", cmd_start, "Start one or more stopped containers" },
		{ "stats", cmd_stats, "Display a live stream of container(s) resource usage statistics" },
		{ "stop", cmd_stop, "Stop one or more running containers" },
		{ "top", cmd_top, "Display the running processes of a container" },
		{ "wait", cmd_wait, "Block until one or more containers stop, then print their exit codes" },
		{ NULL, NULL, NULL },
	};
	return cli_subcommand(cl, "container", subs, argc, argv);
}
/* ---- [21] CLI: volume commands (create, ls, inspect, rm, prune) ---- */

static int cmd_volume_create(struct cli *c, int argc, char **argv)
{
	struct ctr_list labels = { 0 };
	const char *name = NULL, *driver = NULL;
	struct cli_flag flags[] = {
		{ "d|driver", 1, &driver, NULL, NULL, "Specify volume driver name (only \"local\")" },
		{ "label", 1, NULL, NULL, &labels, "Set metadata for a volume" },
		{ "name", 1, &name, NULL, NULL, "Specify volume name" },
		{ 0 },
	};
	struct mr_store *st;
	char out[256];
	int created, rc = CLI_EXIT_FAIL;
	int n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS] [VOLUME]");
	if (n < 0)
		goto out;
	if (cli_nargs(c, n, 0, 1) < 0)
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
	printf("%s\n", out);
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
	struct cli_flag flags[] = {
		{ "f|filter", 1, NULL, NULL, &filters, "Provide filter values (e.g. \"dangling=true\")" },
		{ "q|quiet", 0, NULL, &quiet, NULL, "Only display volume names" },
		{ "format", 1, &format, NULL, NULL, "Pretty-print volumes using a Go template" },
		{ 0 },
	};
	static const char heads[] = "Name\0VOLUME NAME\0Driver\0DRIVER\0Scope\0SCOPE\0"
		"Mountpoint\0MOUNTPOINT\0Labels\0LABELS\0Links\0LINKS\0Size\0SIZE\0";
	struct cli_fmt fm;
	struct mr_store *st;
	char **names = NULL;
	size_t count = 0, i;
	struct cli_table t = { 2, 0, NULL, { 0 }, 0 };
	static const char *const head[] = { "DRIVER", "VOLUME NAME" };
	int n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS]");
	if (n < 0 || cli_nargs(c, n, 0, 0) < 0 || !(st = cli_store(c)))
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
			printf("%s\n", names[i]);
		} else if (format) {
			char mp[MINIRUN_MAX_PATH];
			const char *kv[] = { "Name", names[i], "Driver", "local", "Scope", "local",
					     "Mountpoint", mp, "Labels", "", "Links", "N/A", "Size", "N/A" };
			snprintf(mp, sizeof mp, "%s/volumes/%s/_data", c->root, names[i]);
			if (cli_fmt_row(&fm, kv, 7))
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
	mr_jw_key(w, "CreatedAt");
	mr_jw_str(w, vi->created);
	mr_jw_key(w, "Driver");
	mr_jw_str(w, "local");
	mr_jw_key(w, "Labels");
	if (labels && labels->count)
		mr_jw_value(w, labels);
	else
		mr_jw_null(w);
	mr_jw_key(w, "Mountpoint");
	volume_data_path(st, vi->name, path, sizeof path);
	mr_jw_str(w, path);
	mr_jw_key(w, "Name");
	mr_jw_str(w, vi->name);
	mr_jw_key(w, "Options");
	mr_jw_null(w);
	mr_jw_key(w, "Scope");
	mr_jw_str(w, "local");
	mr_jw_obj_end(w);
}

static int cmd_volume_inspect(struct cli *c, int argc, char **argv)
{
	const char *format = NULL;
	struct cli_flag flags[] = {
		{ "f|format", 1, &format, NULL, NULL, "Format the output using the given Go template" },
		{ 0 },
	};
	struct mr_store *st;
	struct mr_buf out = { 0 };
	struct mr_jw w, one;
	int i, k, rc = 0;
	int n = cli_parse(c, argc, argv, flags, 1, "VOLUME [VOLUME...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 1, -1) < 0 || !(st = cli_store(c)))
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
		printf("%s\n", out.data);
	mr_buf_free(&out);
	return rc;
}

static int cmd_volume_rm(struct cli *c, int argc, char **argv)
{
	int force = 0, i, rc = 0;
	struct cli_flag flags[] = {
		{ "f|force", 0, NULL, &force, NULL, "Do not fail when a volume does not exist" },
		{ 0 },
	};
	struct mr_store *st;
	int n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS] VOLUME [VOLUME...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 1, -1) < 0 || !(st = cli_store(c)))
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
			printf("%s\n", argv[i]);
		}
		mr_store_unlock(st);
	}
	return rc;
}

static int cmd_volume_prune(struct cli *c, int argc, char **argv)
{
	int force = 0, all = 0;
	struct ctr_list filters = { 0 };
	struct cli_flag flags[] = {
		{ "a|all", 0, NULL, &all, NULL, "Remove all unused volumes, not just anonymous ones" },
		{ "filter", 1, NULL, NULL, &filters, "Provide filter values (e.g. \"label=<label>\")" },
		{ "f|force", 0, NULL, &force, NULL, "Do not prompt for confirmation" },
		{ 0 },
	};
	struct mr_store *st;
	char **names = NULL, size[32];
	size_t count = 0, i;
	uint64_t reclaimed = 0;
	int deleted = 0, rc = CLI_EXIT_FAIL;
	int n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS]");
	if (n < 0 || cli_nargs(c, n, 0, 0) < 0)
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
		printf("%s\n", names[i]);
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
		{ "create", cmd_volume_create, "Create a volume" },
		{ "inspect", cmd_volume_inspect, "Display detailed information on one or more volumes" },
		{ "ls", cmd_volume_ls, "List volumes" },
		{ "prune", cmd_volume_prune, "Remove unused local volumes" },
		{ "rm", cmd_volume_rm, "Remove one or more volumes" },
		{ NULL, NULL, NULL },
	};
	return cli_subcommand(c, "volume", subs, argc, argv);
}

/* ---- [21] CLI: system (df, prune) ---- */

/* Was layer j of image record i counted already (an earlier record, or an
 * earlier position of the same one, has it)? */
static int df_layer_seen(const struct image_db *db, size_t i, size_t j)
{
	size_t p, q;
	for (p = 0; p <= i; p++)
		for (q = 0; q < (p < i ? db->recs[p].nlayers : j); q++)
			if (!strcmp(db->recs[p].layers[q], db->recs[i].layers[j]))
				return 1;
	return 0;
}

/* Does another image record than i have layer j of record i (its SHARED
 * SIZE in `system df -v`)? */
static int df_layer_shared(const struct image_db *db, size_t i, size_t j)
{
	size_t k, q;
	for (k = 0; k < db->nrecs; k++)
		for (q = 0; k != i && q < db->recs[k].nlayers; q++)
			if (!strcmp(db->recs[k].layers[q], db->recs[i].layers[j]))
				return 1;
	return 0;
}

static int df_layer_used(const struct ps_row *rows, size_t count, const char *hex)
{
	size_t k, j;
	for (k = 0; k < count; k++)
		for (j = 0; j < rows[k].c.layers.n; j++)
			if (!strcmp(rows[k].c.layers.v[j], hex))
				return 1;
	return 0;
}

/* A row of `system df`: "Images  2  1  160MB  26.3MB (16%)". */
static void df_row(struct cli_table *t, const char *type, size_t total, size_t active,
		   uint64_t size, uint64_t reclaim)
{
	char n[24], a[24], sz[32], r[48];
	const char *row[5] = { type, n, a, sz, r };
	snprintf(n, sizeof n, "%zu", total);
	snprintf(a, sizeof a, "%zu", active);
	util_human_size(size, sz, sizeof sz);
	util_human_size(reclaim, r, sizeof r);
	if (size)
		snprintf(r + strlen(r), sizeof r - strlen(r), " (%d%%)", (int)(reclaim * 100 / size));
	cli_table_add(t, row);
}

/* `system df -v`: Docker's three tables. An image's SHARED SIZE is what its
 * layers share with other images, UNIQUE SIZE the rest; a container's SIZE
 * is its writable layer; a volume's LINKS the containers that mount it. */
static void df_verbose(struct mr_store *st, const struct image_db *db, const struct ps_row *rows,
		       size_t count, char **names, size_t nvol)
{
	static const char *const ih[] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE",
					  "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS" };
	static const char *const ch[] = { "CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES",
					  "SIZE", "CREATED", "STATUS", "NAMES" };
	static const char *const vh[] = { "VOLUME NAME", "LINKS", "SIZE" };
	struct cli_table t = { 8, 0, NULL, { 0 }, 0 };
	char a[5][64], repo[256], path[300], who[80];
	const char *row[8];
	time_t now = time(NULL), when;
	size_t i, j;
	cli_table_add(&t, ih);
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
			if (df_layer_shared(db, i, j))
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
		cli_table_add(&t, row);
	}
	printf("Images space usage:\n\n");
	cli_table_print(&t);
	memset(&t, 0, sizeof t);
	t.ncols = 8;
	cli_table_add(&t, ch);
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
		cli_table_add(&t, row);
		mr_buf_free(&cmd);
	}
	printf("\nContainers space usage:\n\n");
	cli_table_print(&t);
	memset(&t, 0, sizeof t);
	t.ncols = 3;
	cli_table_add(&t, vh);
	for (i = 0; i < nvol; i++) {
		int links = container_users_of_volume(st, names[i], who, sizeof who);
		snprintf(path, sizeof path, "volumes/%s/_data", names[i]);
		snprintf(a[0], sizeof a[0], "%d", links > 0 ? links : 0);
		util_human_size(store_du(st, path), a[1], sizeof a[1]);
		row[0] = names[i], row[1] = a[0], row[2] = a[1];
		cli_table_add(&t, row);
	}
	printf("\nLocal Volumes space usage:\n\n");
	cli_table_print(&t);
	printf("\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE   CREATED   LAST USED   "
	       "USAGE     SHARED\n");
}

/* `system df`, Docker's rows. Images: every layer once however many images
 * share it, reclaimable the layers no container's image has; containers: the
 * writable layer, reclaimable when not running; volumes: their data,
 * reclaimable when no container (running or not) mounts them. */
static int cmd_system_df(struct cli *cl, int argc, char **argv)
{
	static const char *const head[] = { "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE" };
	struct cli_table t = { 5, 0, NULL, { 0 }, 0 };
	struct mr_store *st;
	struct image_db db;
	struct ps_row *rows;
	char **names = NULL, path[300], who[80];
	size_t count, nvol = 0, i, j, active;
	uint64_t size, reclaim;
	int verbose = 0;
	struct cli_flag flags[] = {
		{ "v|verbose", 0, NULL, &verbose, NULL, "Show detailed information on space usage" },
		{ 0 },
	};
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 0, 0) < 0 || !(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	if (image_db_read(st, &db, &cl->err) < 0) {
		util_print_err(&cl->err);
		return CLI_EXIT_FAIL;
	}
	rows = ps_list(st, &count);
	if (verbose) {
		if (volume_list(st, &names, &nvol, &cl->err) < 0)
			util_print_err(&cl->err);
		df_verbose(st, &db, rows, count, names, nvol);
		goto done;
	}
	cli_table_add(&t, head);
	for (i = active = 0, size = reclaim = 0; i < db.nrecs; i++) {
		for (j = 0; j < count && strcmp(rows[j].c.image, db.recs[i].id); j++) {}
		active += j < count;
		for (j = 0; j < db.recs[i].nlayers; j++)
			if (!df_layer_seen(&db, i, j)) {
				size += db.recs[i].sizes[j];
				if (!df_layer_used(rows, count, db.recs[i].layers[j]))
					reclaim += db.recs[i].sizes[j];
			}
	}
	df_row(&t, "Images", db.nrecs, active, size, reclaim);
	for (i = active = 0, size = reclaim = 0; i < count; i++) {
		uint64_t du;
		snprintf(path, sizeof path, "containers/%s/%s", rows[i].c.id,
			 strcmp(rows[i].c.driver, "overlay") ? "rootfs" : "upper");
		du = store_du(st, path);
		size += du;
		if (rows[i].ci.status == CTR_RUNNING || rows[i].ci.status == CTR_RESTARTING)
			active++;
		else
			reclaim += du;
	}
	df_row(&t, "Containers", count, active, size, reclaim);
	if (volume_list(st, &names, &nvol, &cl->err) < 0)
		util_print_err(&cl->err);
	for (i = active = 0, size = reclaim = 0; i < nvol; i++) {
		uint64_t du;
		snprintf(path, sizeof path, "volumes/%s/_data", names[i]);
		du = store_du(st, path);
		size += du;
		if (container_users_of_volume(st, names[i], who, sizeof who) > 0)
			active++;
		else
			reclaim += du;
	}
	df_row(&t, "Local Volumes", nvol, active, size, reclaim);
	df_row(&t, "Build Cache", 0, 0, 0, 0);
	cli_table_print(&t);
done:
	for (i = 0; i < count; i++)
		ctr_free(&rows[i].c);
	free(rows);
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
	struct cli_flag flags[] = {
		{ "a|all", 0, NULL, &all, NULL, "Remove all unused images not just dangling ones" },
		{ "volumes", 0, NULL, &volumes, NULL, "Prune anonymous volumes" },
		{ "f|force", 0, NULL, &force, NULL, "Do not prompt for confirmation" },
		{ 0 },
	};
	char f[] = "-f", a[] = "-a", *args[] = { f, a, NULL };
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 0, 0) < 0)
		return CLI_EXIT_FAIL;
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
	struct cli_flag flags[] = {
		{ "repair", 0, NULL, &repair, NULL, "Remove what is incomplete or unreferenced "
		  "(never a volume's data, never what a container uses)" },
		{ 0 },
	};
	struct mr_store *st;
	int n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 0, 0) < 0 || !(st = cli_store(c)))
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
		{ "df", cmd_system_df, "Show minirun disk usage" },
		{ "prune", cmd_system_prune, "Remove unused data" },
		{ NULL, NULL, NULL },
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
	struct cli_flag flags[] = {
		{ "platform", 1, &o.platform, NULL, NULL, "Set platform if server is multi-platform capable" },
		{ "limit-rate", 1, &rate, NULL, NULL, "Download at most RATE bytes/s (100k, 1m)" },
		{ "q|quiet", 0, NULL, &quiet, NULL, "Suppress verbose output" },
		{ "insecure-registry", 1, NULL, NULL, &insecure,
		  "Registry (host:port) to reach over plain HTTP (also $MINIRUN_INSECURE_REGISTRIES)" },
		{ "ca-file", 1, &o.ca_file, NULL, NULL,
		  "CA bundle instead of " MINIRUN_DEFAULT_CA_FILE " (also $MINIRUN_CA_FILE)" },
		{ 0 },
	};
	int n;
	memset(&o, 0, sizeof o);
	n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS] NAME[:TAG|@DIGEST]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 1, 1) < 0 || !(st = cli_store(c)))
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
	struct cli_flag flags[] = {
		{ "u|username", 1, &user, NULL, NULL, "Username" },
		{ "p|password", 1, &pass, NULL, NULL, "Password" },
		{ "password-stdin", 0, NULL, &from_stdin, NULL, "Take the password from stdin" },
		{ "insecure-registry", 1, NULL, NULL, &insecure, "The registry speaks plain HTTP" },
		{ "ca-file", 1, &po.ca_file, NULL, NULL, "CA bundle instead of the system's" },
		{ 0 },
	};
	int n;
	memset(&po, 0, sizeof po);
	n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS] [SERVER]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 0, 1) < 0)
		return CLI_EXIT_FAIL;
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
	struct cli_flag flags[] = { { 0 } };
	struct pull_ref r;
	int found, n = cli_parse(c, argc, argv, flags, 1, "[SERVER]");
	const char *s;
	size_t len;
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 0, 1) < 0)
		return CLI_EXIT_FAIL;
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
	int n = cli_parse(cl, argc, argv, NULL, 0, "CONTAINER [PRIVATE_PORT[/PROTO]]"), found = 0;
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, 2) < 0 || cli_ctr(cl, argv[0], &c) < 0)
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
	struct ps_row *rows = ps_list(st, &n);
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
	struct cli_flag flags[] = {
		{ "f|force", 0, NULL, NULL, NULL, "Do not prompt for confirmation" },
		{ 0 },
	};
	struct mr_store *st;
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS]"), count = 0;
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 0, 0) < 0 || !(st = cli_store(cl)) || mr_store_lock(st, &cl->err) < 0)
		return CLI_EXIT_FAIL;
	net_each(st, cli_net_prune_one, &count);
	/* and the masquerade rules of networks nobody uses any more */
	nft_sync(st, "prune", &cl->err);
	mr_store_unlock(st);
	return 0;
}

static int cmd_network_rm(struct cli *cl, int argc, char **argv)
{
	struct cli_flag flags[] = {
		{ "f|force", 0, NULL, NULL, NULL, "Do not error if the network does not exist" },
		{ 0 },
	};
	struct mr_store *st;
	struct net_def d;
	int i, rc = 0, n = cli_parse(cl, argc, argv, flags, 1, "NETWORK [NETWORK...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, -1) < 0 || !(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	for (i = 0; i < n; i++) {
		/* under the lock: no container starts on it meanwhile */
		if (mr_store_lock(st, &cl->err) < 0 || net_find(st, argv[i], &d, &cl->err) < 0 ||
		    cli_net_remove(st, &d, 0, &cl->err) < 0) {
			util_print_err(&cl->err);
			rc = 1;
		} else {
			printf("%s\n", argv[i]);
		}
		mr_store_unlock(st);
	}
	return rc;
}

static int cmd_network_inspect(struct cli *cl, int argc, char **argv)
{
	const char *format = NULL;
	struct cli_flag flags[] = {
		{ "f|format", 1, &format, NULL, NULL, "Format the output using the given Go template" },
		{ 0 },
	};
	struct mr_store *st;
	struct mr_buf out = { 0 };
	struct mr_jw w, one;
	struct net_def d;
	int i, k, rc = 0, n = cli_parse(cl, argc, argv, flags, 1, "NETWORK [NETWORK...]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, -1) < 0 || !(st = cli_store(cl)))
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
		printf("%s\n", out.data);
	mr_buf_free(&out);
	return rc;
}

struct cli_net_ls {
	struct cli_table t;
	int quiet, no_trunc;
	struct cli_fmt *fm;
};

static int cli_net_ls_row(struct mr_store *st, struct net_def *d, void *arg)
{
	struct cli_net_ls *l = arg;
	char id[65];
	const char *row[4] = { id, d->name, d->driver, "local" };
	(void)st;
	snprintf(id, sizeof id, "%.*s", l->no_trunc ? 64 : 12, d->id);
	if (l->quiet) {
		printf("%s\n", id);
	} else if (l->fm) {
		const char *kv[] = { "ID", id, "Name", d->name, "Driver", d->driver, "Scope", "local",
				     "IPv6", "false", "Internal", "false", "Labels", "", "CreatedAt", "" };
		cli_fmt_row(l->fm, kv, 8);
	} else {
		cli_table_add(&l->t, row);
	}
	return 0;
}

static int cmd_network_ls(struct cli *cl, int argc, char **argv)
{
	static const char *const head[] = { "NETWORK ID", "NAME", "DRIVER", "SCOPE" };
	struct cli_net_ls l = { { 4, 0, NULL, { 0 }, 0 }, 0, 0, NULL };
	const char *format = NULL;
	struct cli_fmt fm;
	struct cli_flag flags[] = {
		{ "no-trunc", 0, NULL, &l.no_trunc, NULL, "Do not truncate the output" },
		{ "q|quiet", 0, NULL, &l.quiet, NULL, "Only display network IDs" },
		{ "format", 1, &format, NULL, NULL, "Pretty-print networks using a Go template" },
		{ 0 },
	};
	struct mr_store *st;
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 0, 0) < 0 || !(st = cli_store(cl)))
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
	struct cli_flag flags[] = {
		{ "d|driver", 1, &driver, NULL, NULL, "Driver to manage the Network (only \"bridge\")" },
		{ "gateway", 1, &gateway, NULL, NULL, "IPv4 Gateway for the master subnet" },
		{ "subnet", 1, &subnet, NULL, NULL, "Subnet in CIDR format" },
		{ 0 },
	};
	struct mr_store *st;
	char id[65];
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS] NETWORK");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 1, 1) < 0 || !(st = cli_store(cl)))
		return CLI_EXIT_FAIL;
	if (driver && strcmp(driver, "bridge"))
		mr_err_set(&cl->err, MR_EINVAL_INPUT, "plugin \"%s\" not found", driver);
	else if (net_create(st, argv[0], subnet, gateway, id, &cl->err) == 0)
		return printf("%s\n", id), 0;
	util_print_err(&cl->err);
	return CLI_EXIT_FAIL;
}

static int cmd_network(struct cli *cl, int argc, char **argv)
{
	static const struct cli_command subs[] = {
		{ "create", cmd_network_create, "Create a network" },
		{ "inspect", cmd_network_inspect, "Display detailed information on one or more networks" },
		{ "ls", cmd_network_ls, "List networks" },
		{ "prune", cmd_network_prune, "Remove all unused networks" },
		{ "rm", cmd_network_rm, "Remove one or more networks" },
		{ NULL, NULL, NULL },
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

/* Value of label `key` of a container, or NULL. */
static const char *boot_label(const struct ctr *c, const char *key)
{
	size_t i, k = strlen(key);
	for (i = 0; i < c->labels.n; i++)
		if (!strncmp(c->labels.v[i], key, k) && c->labels.v[i][k] == '=')
			return c->labels.v[i] + k + 1;
	return NULL;
}

static const char *boot_name(const struct ctr *c)
{
	return c->name[0] == '/' ? c->name + 1 : c->name;
}

/* Made by `up` from a file of this folder? */
static int boot_managed(const struct ctr *c, const char *dir)
{
	const char *b = boot_label(c, "minirun.boot"), *d = boot_label(c, "minirun.boot.dir");
	return b && !strcmp(b, "1") && d && !strcmp(d, dir);
}

/* Load the declared archive (a file or an OCI layout folder) when the image
 * is not in the store. */
static int boot_image(struct cli *cl, struct boot_decl *d)
{
	struct image_db db;
	struct image_load ld;
	struct mr_err ignored;
	struct stat sb;
	int have, fd = -1, rc = -1;
	if (image_db_read(&cl->store, &db, &ignored) < 0)
		memset(&db, 0, sizeof db);
	have = image_db_find(&db, d->o.image, &ignored) != NULL;
	image_db_free(&db);
	if (have || !d->archive)
		return 0;
	printf("minirun: %s: loading %s\n", d->name, d->archive);
	fflush(stdout);
	memset(&ld, 0, sizeof ld);
	ld.st = &cl->store;
	ld.source = d->archive;
	ld.quiet = 1;
	ld.dirfd = -1;
	image_platform_host(&ld.platform);
	if (stat(d->archive, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		ld.dirfd = open(d->archive, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ld.open_blob = image_dir_open_blob;
		ld.close_blob = image_dir_close_blob;
	} else {
		fd = open(d->archive, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 && ld.dirfd < 0)
		mr_err_sys(&cl->err, "load %s", d->archive);
	else
		rc = image_load(&ld, fd, &cl->err);
	if (rc < 0)
		util_print_err(&cl->err);
	if (fd >= 0)
		close(fd);
	if (ld.dirfd >= 0)
		close(ld.dirfd);
	return rc;
}

/* Start a declared container: its options (with the boot labels, and its
 * entrypoint and command split into words) into the spec, then the same back
 * end and start as `run -d`. */
static int boot_start(struct cli *cl, struct boot_decl *d, const char *dir)
{
	struct ctr_opts *o = &d->o;
	struct ctr_list args = { 0 }, own = { 0 };
	struct ctr c;
	size_t i, nep = 0, nlabels = o->label.n;
	int rc = -1;
	if (boot_image(cl, d) < 0)
		return -1;
	ctr_init(&c);
	cli_std_fds();
	for (i = 0; i < 3; i++) {
		char *lab;
		if (asprintf(&lab, i == 0 ? "minirun.boot=1" : i == 1 ? "minirun.boot.dir=%s" :
			     "minirun.boot.hash=%s", i == 1 ? dir : d->hash) < 0)
			util_oom();
		ctr_list_add(&own, lab);
		ctr_list_add(&o->label, lab);
	}
	o->name = d->name;
	if (d->entrypoint && boot_words(d->entrypoint, &args, &own, &cl->err) < 0) {
		fprintf(stderr, "minirun: %s: key 'entrypoint': %s\n", d->file, cl->err.msg);
		goto out;
	}
	nep = args.n;
	if (d->command && boot_words(d->command, &args, &own, &cl->err) < 0) {
		fprintf(stderr, "minirun: %s: key 'command': %s\n", d->file, cl->err.msg);
		goto out;
	}
	/* the entrypoint's program replaces the image's; the rest of it leads
	 * the command, as with `run --entrypoint PROG IMAGE ARG...` */
	o->entrypoint = d->entrypoint ? nep ? args.v[0] : "" : NULL;
	o->args = nep ? args.v + 1 : args.v;
	o->nargs = (int)(args.n - (nep ? 1 : 0));
	if (spec_from_opts(&cl->store, o, &c, &cl->err) < 0 ||
	    spec_create(&cl->store, &c, 1, &cl->err) < 0 ||
	    ctr_start_detached(&cl->store, &c, 0, 0, &cl->err) != 0)
		util_print_err(&cl->err);
	else
		rc = 0;
out:
	ctr_free(&c);
	o->label.n = nlabels;          /* the boot labels were ours */
	if (o->label.v)
		o->label.v[nlabels] = NULL;
	o->args = NULL;
	o->nargs = 0;
	for (i = 0; i < own.n; i++)
		free((char *)own.v[i]);
	ctr_list_free(&own);
	ctr_list_free(&args);
	return rc;
}

/* Stop until its monitor is gone: a container that keeps exiting under a
 * restart policy has a monitor in its back-off, or between an exit and the
 * restart decision, whose state a single look can miss (5 s at most). */
static void boot_stop(struct cli *cl, struct ctr *c)
{
	struct ctr_rt rt;
	int i, rfd, alive = 1;
	for (i = 0; i < 50 && alive; i++) {
		struct timespec t = { 0, 100000000L };
		if (ctr_stop(&cl->store, c, -1, 0, &cl->err) < 0)
			util_print_err(&cl->err);
		rfd = ctr_rundir(&cl->store, c->id, 0);
		if (rfd < 0)
			return;
		alive = ctr_monitor_alive(rfd);
		if (alive) {
			int fd = openat(rfd, "stop", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (fd >= 0)
				close(fd);
			if (ctr_rt_read(rfd, &rt) == 0 && rt.monitor > 0 && rt.status == 'R')
				kill(rt.monitor, SIGTERM);
			nanosleep(&t, NULL);
		}
		close(rfd);
	}
}

/* Stop (the container's own stop signal and timeout) and remove. */
static int boot_remove(struct cli *cl, struct ctr *c)
{
	struct ctr_owner o;
	struct ctr_info ci;
	int rc = 0;
	boot_stop(cl, c);
	ctr_info_get(&cl->store, c->id, &ci);
	printf("minirun: stopped %s (exit code %d)\n", boot_name(c), ci.st.exit_code);
	fflush(stdout);
	memset(&o, 0, sizeof o);
	o.st = &cl->store;
	o.c = c;
	o.dirfd = o.lockfd = o.rfd = -1;
	if (ctr_owner_take(&o, 1, &cl->err) < 0 || ctr_remove(&cl->store, c, &cl->err) < 0) {
		util_print_err(&cl->err);
		rc = -1;
	}
	ctr_disown(&o);
	return rc;
}

static struct ps_row *boot_row(struct ps_row *r, size_t n, const char *name)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!strcmp(boot_name(&r[i].c), name))
			return &r[i];
	return NULL;
}

static void boot_free(struct boot_decl *d, size_t n, struct ps_row *r, size_t nr, size_t *idx)
{
	size_t i;
	for (i = 0; i < n; i++)
		boot_decl_free(&d[i]);
	for (i = 0; i < nr; i++)
		ctr_free(&r[i].c);
	free(d);
	free(r);
	free(idx);
}

/* depends_on = NAME:healthy (compose's condition: service_healthy): before
 * starting `who`, wait until NAME's health check says healthy, for as long as
 * the check could take to decide (start period + (interval + timeout) x
 * (retries + 1), plus 5 s). 0, or -1 (unhealthy, stopped, no such container,
 * or no decision in time) with the reason printed. */
static int boot_wait_healthy(struct cli *cl, const char *who, const char *dep)
{
	char name[CTR_NAME_MAX], id[CTR_ID_LEN + 1];
	struct ctr c;
	struct ctr_info ci;
	int64_t limit, waited;
	const char *why = NULL;
	snprintf(name, sizeof name, "%.*s", (int)strcspn(dep, ":"), dep);
	ctr_init(&c);
	if (ctr_find(&cl->store, name, id, &cl->err) < 0 || ctr_load(&cl->store, id, &c, &cl->err) < 0) {
		fprintf(stderr, "minirun: %s: depends on %s: %s\n", who, name, cl->err.msg);
		ctr_free(&c);
		return -1;
	}
	if (!c.health_test.n) {
		fprintf(stderr, "minirun: %s: %s has no health check: not waited for\n", who, name);
		ctr_free(&c);
		return 0;
	}
	limit = c.health_start + (ctr_health_ns(c.health_interval) + ctr_health_ns(c.health_timeout)) *
		(ctr_health_retries(&c) + 1) + 5000000000LL;
	ctr_free(&c);
	printf("minirun: %s: waiting for %s to be healthy\n", who, name);
	fflush(stdout);
	for (waited = 0; !why; waited += 100000000) {
		struct timespec t = { 0, 100000000L };
		ctr_info_get(&cl->store, id, &ci);
		if (!strcmp(ci.health, "healthy"))
			return 0;
		why = !strcmp(ci.health, "unhealthy") ? "is unhealthy" :
		      ci.status != CTR_RUNNING && ci.status != CTR_RESTARTING ? "is not running" :
		      waited > limit ? "did not become healthy in time" : NULL;
		nanosleep(&t, NULL);
	}
	fprintf(stderr, "minirun: %s: dependency %s %s\n", who, name, why);
	return -1;
}

/* Every NAME:healthy of x's depends_on healthy (or waited for in vain). */
static int boot_deps_healthy(struct cli *cl, const struct boot_decl *x)
{
	size_t j;
	for (j = 0; j < x->depends_on.n; j++) {
		const char *c = strchr(x->depends_on.v[j], ':');
		if (c && boot_wait_healthy(cl, x->name, x->depends_on.v[j]) < 0)
			return -1;
	}
	return 0;
}

/* ---- updates: fetch, replace, keep the new container only if it is good ----
 * store/boot/NAME.rollout  an update under way: the old container's ID,
 *   written and synced before the old container is stopped and renamed
 *   NAME.prev; removed once the new one is kept (NAME.prev removed) or the
 *   old one is back under its name. The next `up` after a power cut or a
 *   SIGKILL finds it and puts the old container back before anything else:
 *   one of the two runs afterwards, never none.
 * store/boot/NAME.refused  "IMAGE_ID HASH" of a rolled-back update: not tried
 *   again until the tag moves to another image or the declaration changes.
 *   The rolled-back container carries the label minirun.boot.refused=IMAGE_ID
 *   (ps --format '{{.Labels}}', inspect). The previous image stays in use by
 *   NAME.prev until the new container is kept, so no prune can take it. */

static int boot_statedir(struct cli *cl)
{
	mkdirat(cl->store.rootfd, "boot", 0700);
	return openat(cl->store.rootfd, "boot", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The ID of the container of exactly this name, or "". */
static void boot_id_of(struct cli *cl, const char *name, char *id)
{
	int fd = ctr_names_dir(&cl->store);
	id[0] = 0;
	if (fd >= 0) {
		ctr_name_owner(&cl->store, fd, name, id);
		close(fd);
	}
}

/* The image ID a reference names in the store; -1 (id "") if none. */
static int boot_image_id(struct cli *cl, const char *ref, char *id)
{
	struct image_db db;
	struct image_rec *r;
	struct mr_err ignored;
	id[0] = 0;
	if (image_db_read(&cl->store, &db, &ignored) < 0)
		return -1;
	r = image_db_find(&db, ref, &ignored);
	if (r)
		snprintf(id, MR_DIGEST_LEN + 1, "%s", r->id);
	image_db_free(&db);
	return r ? 0 : -1;
}

static int boot_is_refused(int sfd, const char *name, const char *image, const char *hash)
{
	char file[CTR_NAME_MAX + 16], want[2 * MR_DIGEST_LEN + 4];
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	int hit;
	snprintf(file, sizeof file, "%s.refused", name);
	if (mr_read_file(sfd, file, &b, 512, &ignored) < 0)
		return 0;
	snprintf(want, sizeof want, "%s %s\n", image, hash);
	hit = b.len == strlen(want) && !memcmp(b.data, want, b.len);
	mr_buf_free(&b);
	return hit;
}

/* Bring the image in as `pull` says: never (the archive when the image is
 * missing), missing (pull when it is not in the store), always (pull: the
 * tag may have moved). A failed pull keeps what the store has. */
static void boot_fetch(struct cli *cl, struct boot_decl *d)
{
	char id[MR_DIGEST_LEN + 1];
	struct pull_opts po;
	struct mr_store *st = cli_store(cl);
	int have = boot_image_id(cl, d->o.image, id) == 0;
	if (!st || !d->pull || !strcmp(d->pull, "never") || (have && !strcmp(d->pull, "missing")))
		return;
	printf("minirun: %s: pulling %s\n", d->name, d->o.image);
	fflush(stdout);
	memset(&po, 0, sizeof po);
	po.quiet = 1;
	po.rate = d->rate;
	po.insecure = getenv("MINIRUN_INSECURE_REGISTRIES");
	if (image_pull(st, d->o.image, &po, &cl->err) < 0)
		fprintf(stderr, "minirun: %s: pull of %s failed: %s%s\n", d->name, d->o.image,
			cl->err.msg, have ? " (the image in the store stays)" : "");
}

static int boot_rename(struct cli *cl, const char *id, const char *name)
{
	struct ctr c;
	int rc;
	ctr_init(&c);
	rc = ctr_load(&cl->store, id, &c, &cl->err) < 0 ? -1 : cli_rename_ctr(&cl->store, &c, name, &cl->err);
	if (rc < 0)
		fprintf(stderr, "minirun: rename %.12s to %s: %s\n", id, name, cl->err.msg);
	ctr_free(&c);
	return rc;
}

/* Load a container by ID and stop + remove it, or start it. */
static int boot_by_id(struct cli *cl, const char *id, int start)
{
	struct ctr c;
	int rc = -1;
	ctr_init(&c);
	if (ctr_load(&cl->store, id, &c, &cl->err) == 0)
		rc = start ? (ctr_start_detached(&cl->store, &c, 0, 0, &cl->err) ? -1 : 0) :
			     boot_remove(cl, &c);
	if (rc < 0 && start)
		util_print_err(&cl->err);
	ctr_free(&c);
	return rc;
}

/* Say on the container which image was refused (replacing an older say). */
static void boot_mark_refused(struct cli *cl, const char *id, const char *image)
{
	struct ctr c;
	struct mr_err ignored;
	char *lab = NULL;
	size_t i, j;
	ctr_init(&c);
	if (ctr_load(&cl->store, id, &c, &ignored) == 0 &&
	    asprintf(&lab, "minirun.boot.refused=%s", image) > 0) {
		for (i = j = 0; i < c.labels.n; i++)
			if (strncmp(c.labels.v[i], "minirun.boot.refused=", 21))
				c.labels.v[j++] = c.labels.v[i];
		c.labels.n = j;
		ctr_list_add(&c.labels, lab);
		if (mr_store_lock(&cl->store, &ignored) == 0) {
			ctr_save(&cl->store, &c, -1, &ignored);
			mr_store_unlock(&cl->store);
		}
	}
	ctr_free(&c);
	free(lab);
}

/* Is the new container good? With a health check: healthy before the
 * check could have decided (start period + (interval + timeout) x
 * (retries + 1), plus 5 s); without: running and never restarted for
 * rollout_wait. 0, or -1 with the reason in why. */
static int boot_verdict(struct cli *cl, const struct boot_decl *d, char *why, size_t size)
{
	char id[CTR_ID_LEN + 1];
	struct ctr c;
	struct ctr_info ci;
	int64_t limit, waited;
	int health;
	boot_id_of(cl, d->name, id);
	ctr_init(&c);
	if (!id[0] || ctr_load(&cl->store, id, &c, &cl->err) < 0) {
		snprintf(why, size, "was not created");
		ctr_free(&c);
		return -1;
	}
	health = c.health_test.n > 0;
	limit = health ? c.health_start + (ctr_health_ns(c.health_interval) +
		ctr_health_ns(c.health_timeout)) * (ctr_health_retries(&c) + 1) + 5000000000LL :
		d->wait_ns;
	ctr_free(&c);
	if (health)
		printf("minirun: %s: waiting for the new container's health check\n", d->name);
	else
		printf("minirun: %s: checking that the new container stays up for %llds\n", d->name,
		       (long long)(d->wait_ns / 1000000000LL));
	fflush(stdout);
	for (waited = 0;; waited += 100000000) {
		struct timespec t = { 0, 100000000L };
		ctr_info_get(&cl->store, id, &ci);
		if (ci.status != CTR_RUNNING || ci.st.restart_count > 0) {
			snprintf(why, size, "stopped (exit code %d)", ci.st.exit_code);
			return -1;
		}
		if (health && !strcmp(ci.health, "healthy"))
			return 0;
		if (health && !strcmp(ci.health, "unhealthy")) {
			snprintf(why, size, "is unhealthy");
			return -1;
		}
		if (waited >= limit) {
			if (!health)
				return 0;
			snprintf(why, size, "did not become healthy in time");
			return -1;
		}
		nanosleep(&t, NULL);
	}
}

/* Replace `old` by a container of the declaration (image `image`): keep
 * the new one if it is good, else bring the old one back and refuse the
 * image. 0 updated, -1 rolled back or failed. */
static int boot_rollout(struct cli *cl, struct boot_decl *x, struct ctr *old, const char *dir,
			const char *image, int sfd)
{
	char prev[CTR_NAME_MAX + 8], jfile[CTR_NAME_MAX + 16], line[CTR_ID_LEN + 2], why[160] = "";
	char nid[CTR_ID_LEN + 1], rfile[CTR_NAME_MAX + 16], rec[2 * MR_DIGEST_LEN + 4];
	struct mr_err err;
	snprintf(prev, sizeof prev, "%s.prev", x->name);
	snprintf(jfile, sizeof jfile, "%s.rollout", x->name);
	snprintf(line, sizeof line, "%s\n", old->id);
	if (mr_write_atomic(sfd, jfile, line, strlen(line), 0600, &err) < 0) {
		util_print_err(&err);
		return -1;
	}
	printf("minirun: %s: stopping the old container (kept as %s until the new one is good)\n",
	       x->name, prev);
	fflush(stdout);
	if (ctr_stop(&cl->store, old, -1, 0, &err) < 0)
		util_print_err(&err);
	if (boot_rename(cl, old->id, prev) < 0) {
		boot_by_id(cl, old->id, 1);
		unlinkat(sfd, jfile, 0);
		return -1;
	}
	if (boot_deps_healthy(cl, x) < 0 || boot_start(cl, x, dir) < 0)
		snprintf(why, sizeof why, "did not start");
	else
		boot_verdict(cl, x, why, sizeof why);
	if (!why[0]) {
		boot_by_id(cl, old->id, 0);
		unlinkat(sfd, jfile, 0);
		mr_fsync_dir(sfd, &err);
		printf("minirun: %s: updated to image %.19s\n", x->name, image);
		return 0;
	}
	/* roll back: the new one goes, the old one comes back under its name */
	boot_id_of(cl, x->name, nid);
	if (nid[0] && strcmp(nid, old->id))
		boot_by_id(cl, nid, 0);
	boot_rename(cl, old->id, x->name);
	snprintf(rfile, sizeof rfile, "%s.refused", x->name);
	snprintf(rec, sizeof rec, "%s %s\n", image, x->hash);
	if (mr_write_atomic(sfd, rfile, rec, strlen(rec), 0600, &err) < 0)
		util_print_err(&err);
	boot_mark_refused(cl, old->id, image);
	boot_by_id(cl, old->id, 1);
	unlinkat(sfd, jfile, 0);
	mr_fsync_dir(sfd, &err);
	fprintf(stderr, "minirun: %s: the new container %s: rolled back to the previous container "
		"(image %.19s); image %.19s refused until the tag or the declaration changes\n",
		x->name, why, old->image, image);
	return -1;
}

/* An update cut short (power cut, SIGKILL of `up`): the old container back
 * under its name, the new one (not confirmed) removed. */
static void boot_recover(struct cli *cl, const char *name, int sfd)
{
	char jfile[CTR_NAME_MAX + 16], prev[CTR_NAME_MAX + 8];
	char pid[CTR_ID_LEN + 1], nid[CTR_ID_LEN + 1];
	struct mr_err ignored;
	snprintf(jfile, sizeof jfile, "%s.rollout", name);
	if (!util_exists_at(sfd, jfile, AT_SYMLINK_NOFOLLOW))
		return;
	snprintf(prev, sizeof prev, "%s.prev", name);
	boot_id_of(cl, prev, pid);
	if (pid[0]) {
		boot_id_of(cl, name, nid);
		if (nid[0] && strcmp(nid, pid))
			boot_by_id(cl, nid, 0);
		boot_rename(cl, pid, name);
		printf("minirun: %s: an update was cut short: the previous container is back\n", name);
	}
	unlinkat(sfd, jfile, 0);
	mr_fsync_dir(sfd, &ignored);
}

/* Bring the store in line with the folder. 0, or 1 if anything failed. */
static int boot_up(struct cli *cl, const char *dir)
{
	struct boot_decl *d = NULL;
	struct ps_row *rows, *r;
	size_t nr, i, *idx;
	ssize_t n;
	int bad, rc = 0, sfd;
	if (!cli_store(cl))
		return CLI_EXIT_FAIL;
	n = boot_load_dir(dir, &d, &bad, &cl->err);
	if (n < 0) {
		util_print_err(&cl->err);
		return CLI_EXIT_FAIL;
	}
	rc = bad ? 1 : 0;
	idx = util_xmalloc(((size_t)n + 1) * sizeof *idx);
	boot_order(d, (size_t)n, idx);
	sfd = boot_statedir(cl);
	for (i = 0; i < (size_t)n && sfd >= 0; i++)
		if (d[i].ok)
			boot_recover(cl, d[i].name, sfd);
	rows = ps_list(&cl->store, &nr);
	/* declarations that went away */
	for (i = 0; i < nr; i++)
		if (boot_managed(&rows[i].c, dir) && !boot_find(d, (size_t)n, boot_name(&rows[i].c))) {
			printf("minirun: %s: no declaration any more, removing\n", boot_name(&rows[i].c));
			if (boot_remove(cl, &rows[i].c) < 0)
				rc = 1;
		}
	for (i = 0; i < (size_t)n; i++) {
		struct boot_decl *x = &d[idx[i]];
		char img[MR_DIGEST_LEN + 1];
		const char *h;
		int same;
		if (!x->ok)
			continue;
		boot_fetch(cl, x);
		boot_image_id(cl, x->o.image, img);
		r = boot_row(rows, nr, x->name);
		if (r && !boot_managed(&r->c, dir)) {
			fprintf(stderr, "minirun: %s: container %s exists and was not made by `up` "
				"from %s: left alone\n", x->file, x->name, dir);
			rc = 1;
			continue;
		}
		h = r ? boot_label(&r->c, "minirun.boot.hash") : NULL;
		same = r && h && !strcmp(h, x->hash) && (!img[0] || !strcmp(img, r->c.image));
		if (r && !same && sfd >= 0 && boot_is_refused(sfd, x->name, img, x->hash)) {
			printf("minirun: %s: image %.19s was rolled back before: refused until the tag "
			       "or the declaration changes\n", x->name, img);
			same = 1;
		}
		if (same) {
			if (r->ci.status == CTR_RUNNING || r->ci.status == CTR_RESTARTING) {
				printf("minirun: %s: up to date\n", x->name);
			} else if (boot_deps_healthy(cl, x) < 0) {
				fprintf(stderr, "minirun: %s: not started\n", x->name);
				rc = 1;
			} else if (ctr_start_detached(&cl->store, &r->c, 0, 0, &cl->err) != 0) {
				util_print_err(&cl->err);
				rc = 1;
			} else {
				printf("minirun: %s: started\n", x->name);
			}
			continue;
		}
		if (r && sfd >= 0) {
			printf("minirun: %s: %s, replacing\n", x->name, h && !strcmp(h, x->hash) ?
			       "new image for its tag" : "declaration changed");
			fflush(stdout);
			if (boot_rollout(cl, x, &r->c, dir, img, sfd) < 0)
				rc = 1;
			continue;
		}
		if (r) {
			printf("minirun: %s: declaration changed, replacing\n", x->name);
			if (boot_remove(cl, &r->c) < 0) {
				rc = 1;
				continue;
			}
		}
		if (boot_deps_healthy(cl, x) < 0 || boot_start(cl, x, dir) < 0) {
			fprintf(stderr, "minirun: %s: not started\n", x->name);
			rc = 1;
		} else {
			printf("minirun: %s: started\n", x->name);
		}
		fflush(stdout);
	}
	fflush(stdout);
	if (sfd >= 0)
		close(sfd);
	boot_free(d, (size_t)n, rows, nr, idx);
	return rc;
}

/* Stop and remove what `up` made from this folder, in reverse start order. */
static int boot_down(struct cli *cl, const char *dir)
{
	struct boot_decl *d = NULL;
	struct ps_row *rows, *r;
	size_t nr, i, *idx;
	ssize_t n;
	int bad, rc = 0;
	if (!cli_store(cl))
		return CLI_EXIT_FAIL;
	n = boot_load_dir(dir, &d, &bad, &cl->err);
	if (n < 0)
		n = 0;   /* the folder is gone: still stop what it made */
	idx = util_xmalloc(((size_t)n + 1) * sizeof *idx);
	boot_order(d, (size_t)n, idx);
	rows = ps_list(&cl->store, &nr);
	for (i = (size_t)n; i-- > 0;) {
		r = boot_row(rows, nr, d[idx[i]].name);
		if (r && boot_managed(&r->c, dir)) {
			if (boot_remove(cl, &r->c) < 0)
				rc = 1;
			r->c.labels.n = 0;   /* done */
		}
	}
	for (i = 0; i < nr; i++)
		if (boot_managed(&rows[i].c, dir) && boot_remove(cl, &rows[i].c) < 0)
			rc = 1;
	boot_free(d, (size_t)n, rows, nr, idx);
	return rc;
}

/* Run up or down in a child, reaping whatever else ends meanwhile (PID 1
 * adopts every orphan); a shutdown signal is remembered in *want. */
static int boot_child(struct cli *cl, const char *dir, int up, const sigset_t *mask,
		      const sigset_t *old, int *want)
{
	int status = 0;
	pid_t pid;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return up ? boot_up(cl, dir) : boot_down(cl, dir);
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, old, NULL);
		exit(up ? boot_up(cl, dir) : boot_down(cl, dir));
	}
	for (;;) {
		struct timespec t = { 1, 0 };
		int sig = sigtimedwait(mask, NULL, &t);
		if (sig == SIGUSR2 || (sig > 0 && sig != SIGCHLD && sig != SIGHUP))
			*want = sig == SIGUSR2 ? (int)RB_AUTOBOOT : *want ? *want : (int)RB_POWER_OFF;
		if (boot_reap(pid, &status))
			return WIFEXITED(status) ? WEXITSTATUS(status) : CLI_EXIT_FAIL;
	}
}

static void boot_nop(int sig)
{
	(void)sig;
}

/* init's update timer: the shortest pull_interval of the declarations (0:
 * none). Their errors are said by `up`, not here. */
static int64_t boot_pull_every(const char *dir)
{
	struct boot_decl *d = NULL;
	struct mr_err ignored;
	int64_t every = 0;
	ssize_t n, i;
	int bad, err2 = fcntl(2, F_DUPFD_CLOEXEC, 3), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0)
		dup2(null, 2);
	n = boot_load_dir(dir, &d, &bad, &ignored);
	if (err2 >= 0) {
		dup2(err2, 2);
		close(err2);
	}
	if (null >= 0)
		close(null);
	for (i = 0; i < n; i++)
		if (d[i].ok && d[i].interval_ns && (!every || d[i].interval_ns < every))
			every = d[i].interval_ns;
	for (i = 0; i < n; i++)
		boot_decl_free(&d[i]);
	free(d);
	return every;
}

static int64_t boot_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmd_init(struct cli *cl, int argc, char **argv)
{
	int do_reboot = 0, want = 0, rc;
	int64_t every, last;
	struct cli_flag flags[] = {
		{ "reboot", 0, NULL, &do_reboot, NULL, "Reboot instead of powering off at shutdown" },
		{ 0 },
	};
	int n = cli_parse(cl, argc, argv, flags, 1, "[OPTIONS] [DIR]"), pid1 = getpid() == 1;
	const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD };
	struct sigaction sa;
	sigset_t mask, old;
	const char *dir;
	size_t i;
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 0, 1) < 0)
		return CLI_EXIT_FAIL;
	dir = boot_dir(n, argv);
	if (pid1) {
		boot_leave_rootfs();
		boot_mounts();
		/* ctrl-alt-del becomes SIGINT to us instead of an instant reboot */
		reboot(RB_DISABLE_CAD);
		setsid();
	} else {
		/* orphaned monitors come to us, as they would to PID 1 */
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	}
	cli_std_fds();
	/* PID 1 gets no signal it has no handler for: catch, block, wait. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = boot_nop;
	sigemptyset(&mask);
	for (i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&mask, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &mask, &old);
	/* A power cut may have hit the last writes: say what the store is like
	 * and collect only what nothing uses before the containers start. */
	if (cli_store(cl) && check_store(&cl->store, CHECK_GARBAGE, "minirun: init: check: ",
					 &cl->err) < 0)
		util_print_err(&cl->err);
	fflush(stdout);
	printf("minirun: init: starting containers from %s\n", dir);
	boot_child(cl, dir, 1, &mask, &old, &want);
	every = boot_pull_every(dir);
	last = boot_now_ns();
	if (every)
		printf("minirun: init: looking for new images every %llds\n",
		       (long long)(every / 1000000000LL));
	while (!want) {
		struct timespec t = { 5, 0 };
		int sig;
		if (every && last + every - boot_now_ns() < 5000000000LL) {
			int64_t left = last + every - boot_now_ns();
			t.tv_sec = left > 0 ? (time_t)(left / 1000000000LL) : 0;
			t.tv_nsec = left > 0 ? (long)(left % 1000000000LL) : 1;
		}
		sig = sigtimedwait(&mask, NULL, &t);
		if (sig == SIGUSR2) {
			want = (int)RB_AUTOBOOT;
		} else if (sig == SIGHUP || (every && boot_now_ns() >= last + every)) {
			/* re-read the declarations, pull what says always */
			boot_child(cl, dir, 1, &mask, &old, &want);
			every = boot_pull_every(dir);
			last = boot_now_ns();
		} else if (sig > 0 && sig != SIGCHLD) {
			want = do_reboot ? (int)RB_AUTOBOOT : (int)RB_POWER_OFF;
		}
		boot_reap(0, NULL);
	}
	printf("minirun: init: stopping containers\n");
	rc = boot_child(cl, dir, 0, &mask, &old, &want);
	if (pid1)
		boot_halt(want);
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("minirun: init: done\n");
	return rc;
}

static int cmd_up_down(struct cli *cl, int argc, char **argv, int up)
{
	struct cli_flag flags[] = { { 0 } };
	int n = cli_parse(cl, argc, argv, flags, 1, "[DIR]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(cl, n, 0, 1) < 0)
		return CLI_EXIT_FAIL;
	cli_std_fds();
	return up ? boot_up(cl, boot_dir(n, argv)) : boot_down(cl, boot_dir(n, argv));
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
	{ "__monitor", cmd_monitor, NULL },
	{ "check", cmd_check, "Verify the store; --repair removes what nothing uses" },
	{ "container", cmd_container, "Manage containers" },
	{ "cp", cmd_cp, "Copy files/folders between a container and the local filesystem" },
	{ "create", cmd_create, "Create a new container" },
	{ "down", cmd_down, "Stop and remove the containers that up started" },
	{ "exec", cmd_exec, "Execute a command in a running container" },
	{ "help", cmd_help, NULL },
	{ "history", cmd_history, "Show the history of an image" },
	{ "image", cmd_image, "Manage images" },
	{ "images", cmd_images, "List images" },
	{ "info", cmd_info, "Display system-wide information" },
	{ "init", cmd_init, "Run as PID 1: mounts, up, reap, down and power off on SIGTERM" },
	{ "inspect", cmd_inspect, "Return low-level information on containers or images" },
	{ "kill", cmd_kill, "Kill one or more running containers" },
	{ "load", cmd_load, "Load an image from a tar archive, STDIN or an OCI layout folder" },
	{ "login", cmd_login, "Log in to a registry" },
	{ "logout", cmd_logout, "Log out from a registry" },
	{ "logs", cmd_logs, "Fetch the logs of a container" },
	{ "network", cmd_network, "Manage networks" },
	{ "port", cmd_port, "List port mappings of a container" },
	{ "ps", cmd_ps, "List containers" },
	{ "pull", cmd_pull, "Download an image from a registry" },
	{ "rename", cmd_rename, "Rename a container" },
	{ "restart", cmd_restart, "Restart one or more containers" },
	{ "rm", cmd_rm, "Remove one or more containers" },
	{ "rmi", cmd_rmi, "Remove one or more images" },
	{ "run", cmd_run, "Create and run a new container from an image" },
	{ "start", cmd_start, "Start one or more stopped containers" },
	{ "stats", cmd_stats, "Display a live stream of container(s) resource usage statistics" },
	{ "stop", cmd_stop, "Stop one or more running containers" },
	{ "system", cmd_system, "Manage minirun" },
	{ "tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE" },
	{ "top", cmd_top, "Display the running processes of a container" },
	{ "up", cmd_up, "Start the containers declared in /etc/minirun/containers" },
	{ "version", cmd_version, "Show the minirun version and compiled-in features" },
	{ "volume", cmd_volume, "Manage volumes" },
	{ "wait", cmd_wait, "Block until one or more containers stop, then print their exit codes" },
	{ NULL, NULL, NULL },
};
/* ======================== END src/21_cli.c ======================== */

/* ======================== BEGIN src/99_main.c ======================== */
#line 1 "src/99_main.c"
/* ==== [99] MAIN: mr_main (global options, the command table), and main unless MINIRUN_NO_MAIN ==== */

/* Commands that put processes into containers (directly, through a monitor,
 * a restart, a health check, boot files): they run from a sealed copy of
 * minirun ([18] exec_sealed_self). `container` takes the same words. */
static int main_needs_seal(int argc, char **argv, int i)
{
	static const char *const words[] = { "run", "start", "restart", "exec", "cp", "__monitor",
					      "init", "up", NULL };
	size_t k;
	if (!strcmp(argv[i], "container") && i + 1 < argc)
		i++;
	for (k = 0; words[k]; k++)
		if (!strcmp(argv[i], words[k]))
			return 1;
	return 0;
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
/* ======================== END src/99_main.c ======================== */
