/*
 * minirun.c - a daemonless container runtime for embedded Linux, in one file.
 *
 * Build: see the Makefile (static, musl, -Os, section GC). Public API and feature
 * flags: minirun.h. Tests: tests/unit.c includes this file with MINIRUN_NO_MAIN.
 *
 * Table of contents (sections in dependency order; search for "==== [NN]"):
 *   [01] COMPAT    syscalls musl lacks, kernel interfaces
 *   [02] UTIL      errors, logging, buffers, strings, parsing numbers and sizes
 *   [03] FS        fds, paths resolved inside a root, atomic files, safe removal
 *   [04] JSON      reader (arena DOM) and writer
 *   [05] DIGEST    sha256 (BearSSL), digest strings
 *   [06] STREAM    pull-based readers: files, hashing, gzip, zstd, limits
 *   [07] TAR       tar reader, layer extraction, whiteouts, flattening
 *   [08] STORE     store layout, lock, temporaries, metadata files
 *   [09] IMAGE     references, manifests, platforms, load, images, rmi, unpack
 *   [20] CLI       argument parsing, usage, commands
 *   [99] MAIN
 */
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
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
#include <zstd.h>
#endif

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

/* ==== [02] UTIL: errors, logging, buffers, strings ====
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

/* Docker's "x ago" for CREATED columns. */
static void util_human_ago(time_t then, char *out, size_t size)
{
	long d = (long)(time(NULL) - then);
	if (d < 1)
		snprintf(out, size, "Less than a second ago");
	else if (d < 60)
		snprintf(out, size, "%ld second%s ago", d, d == 1 ? "" : "s");
	else if (d < 3600)
		snprintf(out, size, "%ld minute%s ago", d / 60, d / 60 == 1 ? "" : "s");
	else if (d < 172800)
		snprintf(out, size, "%ld hour%s ago", d / 3600, d / 3600 == 1 ? "" : "s");
	else if (d < 86400L * 14)
		snprintf(out, size, "%ld days ago", d / 86400);
	else if (d < 86400L * 60)
		snprintf(out, size, "%ld weeks ago", d / (86400L * 7));
	else if (d < 86400L * 730)
		snprintf(out, size, "%ld months ago", d / (86400L * 30));
	else
		snprintf(out, size, "%ld years ago", d / (86400L * 365));
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

/* Parse RFC 3339 ("2024-01-02T03:04:05.123Z", offsets allowed) to seconds. */
static int util_parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm;
	int off = 0;
	const char *p;
	memset(&tm, 0, sizeof tm);
	if (!s || strlen(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	tm.tm_year = util_digits(s, 4) - 1900;
	tm.tm_mon = util_digits(s + 5, 2) - 1;
	tm.tm_mday = util_digits(s + 8, 2);
	tm.tm_hour = util_digits(s + 11, 2);
	tm.tm_min = util_digits(s + 14, 2);
	tm.tm_sec = util_digits(s + 17, 2);
	if (tm.tm_year < -1900 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 ||
	    tm.tm_min < 0 || tm.tm_sec < 0)
		return -1;
	p = s + 19;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++) {}
	if ((*p == '+' || *p == '-') && util_digits(p + 1, 2) >= 0 && p[3] == ':' &&
	    util_digits(p + 4, 2) >= 0)
		off = (*p == '-' ? -1 : 1) * (util_digits(p + 1, 2) * 3600 + util_digits(p + 4, 2) * 60);
	*out = timegm(&tm) - off;
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

/* Remove everything inside the open folder fd (not the folder itself). Each
 * sub-folder is opened with O_NOFOLLOW and checked to be on the same mount
 * before anything inside it is touched. */
static int fs_empty_dir(int fd, const struct fs_mount_key *top, const char *where,
			int depth, struct mr_err *err)
{
	DIR *d;
	struct dirent *de;
	int rc = 0, dupfd;
	if (depth > MINIRUN_MAX_PATH / 2)
		return mr_err_set(err, ELOOP, "remove %s: folders nested too deep", where);
	dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
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
		if (errno != EISDIR && errno != EPERM) {
			rc = mr_err_sys(err, "remove %s/%s", where, de->d_name);
			break;
		}
		{
			struct fs_mount_key key;
			/* openat2 refuses to cross any mount (bind mounts of the
			 * same filesystem too) where the kernel has it. */
			int sub = compat_openat2(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC, 0, RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS);
			if (sub < 0 && errno == EXDEV) {
				rc = mr_err_set(err, EXDEV,
						"remove %s/%s: another filesystem is mounted there; "
						"refusing to delete through a mount",
						where, de->d_name);
				break;
			}
			if (sub < 0)
				sub = openat(fd, de->d_name,
					     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = mr_err_sys(err, "remove %s/%s", where, de->d_name);
				break;
			}
			if (fs_mount_key(sub, &key) < 0 || !fs_same_mount(&key, top)) {
				close(sub);
				rc = mr_err_set(err, EXDEV,
						"remove %s/%s: another filesystem is mounted there; "
						"refusing to delete through a mount",
						where, de->d_name);
				break;
			}
			rc = fs_empty_dir(sub, top, where, depth + 1, err);
			close(sub);
			if (rc < 0)
				break;
			if (unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
				rc = mr_err_sys(err, "remove %s/%s", where, de->d_name);
				break;
			}
		}
	}
	closedir(d);
	return rc;
}

/* Fail, naming it, if anything under the open folder fd is another mount
 * (checked before a removal that must not half-happen). */
static int fs_check_no_mounts(int fd, const struct fs_mount_key *top, const char *where,
			      int depth, struct mr_err *err)
{
	DIR *d;
	struct dirent *de;
	int rc = 0, dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (depth > MINIRUN_MAX_PATH / 2)
		return mr_err_set(err, ELOOP, "%s: folders nested too deep", where);
	if (dupfd < 0 || !(d = fdopendir(dupfd))) {
		if (dupfd >= 0)
			close(dupfd);
		return mr_err_sys(err, "%s", where);
	}
	rewinddir(d);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct fs_mount_key key;
		int sub;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
			/* a file bind-mounted here has another mount id too */
			uint64_t id = compat_mount_id(fd, de->d_name);
			if (id && top->mnt_id && id != top->mnt_id)
				rc = mr_err_set(err, EXDEV, "%s/%s: another filesystem is mounted "
						"there", where, de->d_name);
			continue;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		if (fs_mount_key(sub, &key) < 0 || !fs_same_mount(&key, top))
			rc = mr_err_set(err, EXDEV, "%s/%s: another filesystem is mounted there",
					where, de->d_name);
		else
			rc = fs_check_no_mounts(sub, top, where, depth + 1, err);
		close(sub);
	}
	closedir(d);
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
	rc = fs_empty_dir(fd, &key, name, 0, err);
	close(fd);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return mr_err_sys(err, "remove %s", name);
	return rc;
}

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

/* ==== [05] DIGEST: sha256 (BearSSL), digest strings ====
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

static void digest_finish(br_sha256_context *ctx, char out[MR_DIGEST_LEN + 1])
{
	unsigned char sum[32];
	br_sha256_out(ctx, sum);
	memcpy(out, "sha256:", 7);
	util_hex(sum, 32, out + 7);
}

/* see minirun.h */
void mr_digest_buf(const void *data, size_t len, char out[MR_DIGEST_LEN + 1])
{
	br_sha256_context ctx;
	br_sha256_init(&ctx);
	br_sha256_update(&ctx, data, len);
	digest_finish(&ctx, out);
}

/* The 64 hex digits of a valid digest (used for file names: no ':' which
 * overlayfs takes as a lowerdir separator). */
static const char *digest_hex(const char *digest)
{
	return digest + 7;
}

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
	br_sha256_context ctx;
	uint64_t count;
};

static ssize_t stream_hash_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct stream_hash *h = (struct stream_hash *)s;
	ssize_t r = h->parent->read(h->parent, buf, n, err);
	if (r > 0) {
		br_sha256_update(&h->ctx, buf, (size_t)r);
		h->count += (uint64_t)r;
	}
	return r;
}

static void stream_hash_init(struct stream_hash *h, struct stream *parent)
{
	h->s.read = stream_hash_read;
	h->parent = parent;
	br_sha256_init(&h->ctx);
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

/* Look at the magic bytes and set up the decompressor. */
static int decomp_start(struct stream_decomp *d, struct mr_err *err)
{
	const unsigned char *m = d->in;
	if (decomp_fill(d, 4, err))
		return -1;
	d->format = STREAM_PLAIN;
	if (d->len >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
#if MINIRUN_WITH_GZIP
		if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK)
			return mr_err_set(err, ENOMEM, "gzip: cannot initialise");
		d->zinit = 1;
		d->format = STREAM_GZIP;
#else
		return mr_err_set(err, MR_EDISABLED, "gzip: built without MINIRUN_WITH_GZIP");
#endif
	} else if (d->len >= 4 && !memcmp(m, "\x28\xb5\x2f\xfd", 4)) {
#if MINIRUN_WITH_ZSTD
		d->zd = ZSTD_createDStream();
		if (!d->zd)
			return mr_err_set(err, ENOMEM, "zstd: cannot initialise");
		d->format = STREAM_ZSTD;
#else
		return mr_err_set(err, MR_EDISABLED, "zstd: built without MINIRUN_WITH_ZSTD");
#endif
	}
	return 0;
}

/* One decompression step from d->in into buf: bytes produced, *moved set when
 * anything was consumed or produced; -1 on corrupt data. */
static ssize_t decomp_step(struct stream_decomp *d, void *buf, size_t n, int *moved,
			   struct mr_err *err)
{
	size_t pos0 = d->pos, got = 0;
#if MINIRUN_WITH_GZIP
	if (d->format == STREAM_GZIP) {
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
			return mr_err_set(err, MR_EINVAL_INPUT, "gzip: %s",
					  d->z.msg ? d->z.msg : "corrupt data");
	}
#endif
#if MINIRUN_WITH_ZSTD
	if (d->format == STREAM_ZSTD) {
		ZSTD_inBuffer zin = { d->in, d->len, d->pos };
		ZSTD_outBuffer zout = { buf, n, 0 };
		size_t rc = ZSTD_decompressStream(d->zd, &zout, &zin);
		if (ZSTD_isError(rc))
			return mr_err_set(err, MR_EINVAL_INPUT, "zstd: %s", ZSTD_getErrorName(rc));
		d->pos = zin.pos;
		got = zout.pos;
		/* 0: a frame is complete and flushed; only meaningful after progress,
		 * as a call without input only returns a hint. */
		if (got || d->pos != pos0)
			d->ended = rc == 0;
	}
#endif
	*moved = got || d->pos != pos0;
	(void)buf;
	(void)n;
	return (ssize_t)got;
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
		ssize_t got;
		int moved = 0;
		if (decomp_fill(d, 1, err))
			return -1;
		if (d->ended) {
			if (d->pos == d->len)
				return 0;
#if MINIRUN_WITH_GZIP
			/* gzip members may follow each other (pigz, cat a.gz b.gz). */
			if (d->format == STREAM_GZIP) {
				if (d->in[d->pos] != 0x1f)
					return mr_err_set(err, MR_EINVAL_INPUT,
							  "trailing garbage after gzip data");
				inflateReset(&d->z);
			}
#endif
			d->ended = 0;
		}
		got = decomp_step(d, buf, n, &moved, err);
		if (got)
			return got;
		if (!moved && d->pos == d->len)
			return mr_err_set(err, MR_EINVAL_INPUT, "%s data truncated",
					  d->format == STREAM_GZIP ? "gzip" : "zstd");
		if (!moved)
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

static void stream_decomp_end(struct stream_decomp *d)
{
#if MINIRUN_WITH_GZIP
	if (d->zinit)
		inflateEnd(&d->z);
	d->zinit = 0;
#endif
#if MINIRUN_WITH_ZSTD
	ZSTD_freeDStream(d->zd);
	d->zd = NULL;
#endif
	free(d->in);
	d->in = NULL;
}
/* ==== [07] TAR: tar reader, layer extraction, whiteouts, flattening ====
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
	if (fd >= 0 ? fchmod(fd, mode & 07777) : fchmodat(dfd, name, mode & 07777, 0))
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
	if (util_starts_with(base, ".wh."))
		return tar_x_whiteout(x, base + 4, err);
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
 * the filesystem once before renaming the layer into place. */
static int tar_extract_layer(struct stream *in, int dirfd, uint64_t *size, struct mr_err *err)
{
	struct tar_reader r;
	struct tar_entry *e = util_xmalloc(sizeof *e);
	struct tar_x *x = util_xmalloc(sizeof *x);
	int rc;
	x->root = dirfd;
	x->dfd = -1;
	x->size = 0;
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
			 (fs_mount_key(dfd, &key) || fs_empty_dir(dfd, &key, a->path, 0, err)))
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
			fs_empty_dir(fd, &key, ".", 0, err);
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
/* ==== [08] STORE: store layout, lock, temporaries, metadata files ====
 * root/lock            flock()ed while metadata changes (short critical sections)
 * root/tmp/NAME        work folders; each is flock()ed by the process using it,
 *                      so a folder whose lock can be taken belongs to a dead
 *                      process and is removed at the next start
 * root/layers/HEX/     one extracted layer (overlay format), HEX = diff_id hex
 * root/blobs/sha256/HEX  manifests, indexes and configs as received
 * root/images.json     image records and tags, rewritten atomically
 * root/containers/ID/  container config, upper/, work/, rootfs/, log
 * root/volumes/NAME/   volume metadata, data in _data/
 * rundir/ID/           runtime state, lost on reboot as it should be */

static const char *const store_dirs[] = {
	"tmp", "layers", "blobs", "blobs/sha256", "containers", "volumes",
};

/* Remove tmp/ entries whose owner died, and ".tmp.*" files that an atomic
 * write left when it was killed (writers hold the store lock, and so do we). */
static void store_clean_temps(struct mr_store *st)
{
	struct mr_err ignored;
	DIR *d;
	struct dirent *de;
	int tmpfd = openat(st->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd >= 0 && (d = fdopendir(tmpfd)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			int fd;
			if (de->d_name[0] == '.')
				continue;
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
	d = fdopendir(fcntl(st->rootfd, F_DUPFD_CLOEXEC, 3));
	if (d) {
		while ((de = readdir(d)) != NULL)
			if (util_starts_with(de->d_name, ".tmp."))
				unlinkat(st->rootfd, de->d_name, 0);
		closedir(d);
	}
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
	for (i = 0; i < sizeof store_dirs / sizeof store_dirs[0]; i++)
		if (mkdirat(st->rootfd, store_dirs[i], 0700) < 0 && errno != EEXIST) {
			mr_err_sys(err, "store %s: cannot create %s", root, store_dirs[i]);
			goto fail;
		}
	st->lockfd = openat(st->rootfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (st->lockfd < 0) {
		mr_err_sys(err, "store %s: lock file", root);
		goto fail;
	}
	if (mr_store_lock(st, err) < 0)
		goto fail;
	store_clean_temps(st);
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
	snprintf(name, sizeof name, "%.64s-%s", prefix, hex);
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

/* "amd64" or "arm/v7" as `version` prints it. */
static const char *image_host_platform(void)
{
	static char buf[32];
	const char *v = image_host_variant();
	snprintf(buf, sizeof buf, "%s%s%s", image_host_arch(),
		 *v && strcmp(image_host_arch(), "arm64") ? "/" : "",
		 strcmp(image_host_arch(), "arm64") ? v : "");
	return buf;
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

static int image_ref_normalize(const char *in, char *out, size_t size, struct mr_err *err)
{
	const char *name = in, *slash, *colon, *at;
	size_t i, n;
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

/* Remove layers and blobs that no image record refers to: what a load killed
 * between renaming its layers and writing images.json left behind, and what
 * rmi released. Called with the store lock held (loads commit under it, so a
 * layer cannot be between its rename and its record while we look). */
static void image_gc(struct mr_store *st, const struct image_db *db)
{
	static const char *const dirs[] = { "layers", "blobs/sha256" };
	struct mr_err ignored;
	struct mr_buf blob = { 0 };
	size_t k, i, j;
	for (k = 0; k < 2; k++) {
		int dfd = openat(st->rootfd, dirs[k], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
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
				if (k == 0) {
					for (j = 0; j < r->nlayers && !used; j++)
						used = !strcmp(r->layers[j], de->d_name);
				} else {
					used = !strcmp(r->id + 7, de->d_name) ||
					       (r->manifest[0] && !strcmp(r->manifest + 7, de->d_name));
				}
			}
			if (!used)
				mr_remove_tree(dfd, de->d_name, &ignored);
		}
		closedir(d);
	}
	mr_buf_free(&blob);
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
	stream_hash_init(&plain, &dec.s);
	b->tmpfd = mr_store_mktemp(ld->st, "layer", b->tmpname, sizeof b->tmpname, err);
	if (b->tmpfd < 0)
		goto out;
	if (tar_extract_layer(&plain.s, b->tmpfd, &b->unpacked, err) < 0 ||
	    image_drain(&plain.s, err) < 0 || image_drain(&compressed.s, err) < 0)
		goto out;
	stream_hash_digest(&compressed, b->digest);
	stream_hash_digest(&plain, b->diff_id);
	b->bytes = compressed.count;
	b->is_layer = 1;
	image_progress(ld, "Loading layer", b->diff_id + 7, b->unpacked, image_now() - t0);
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
		return mr_err_set(err, MR_EINVAL_INPUT, "%s: not a JSON document", b->path);
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
	if (image_ref_normalize(name, norm, sizeof norm, err) < 0)
		return -1;
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
	if (faccessat(ld->st->rootfd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
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
		printf("%.12s: Already exists\n", digest_hex(b->digest));
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
	if (want_layer && b->failure) {
		mr_err_set(err, MR_EINVAL_INPUT, "layer %s: %s", digest, b->failure);
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
	static struct stream_fd src;
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
	stream_fd_init(&src, fd);
	*in = &src.s;
	*size = (uint64_t)sb.st_size;
	ld->source_ctx = &src;
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
	rc = faccessat(dfd, digest_hex(digest), F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? 0 :
	     mr_write_atomic(dfd, digest_hex(digest), data, len, 0600, err);
	close(dfd);
	return rc;
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
			if (faccessat(layersfd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
				continue;  /* already stored (by this load or an earlier one) */
			if (l->tmpfd < 0) {
				/* skipped as stored, then removed by an rmi meanwhile */
				mr_err_set(err, MR_ENOTFOUND, "layer %s was removed from the store "
					   "during the load; try again", l->diff_id);
				goto out;
			}
			if (renameat(st->rootfd, l->tmpname, layersfd, hex) < 0) {
				mr_err_sys(err, "store layer %s", l->diff_id);
				goto out;
			}
			close(l->tmpfd);
			l->tmpfd = -1;
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
		for (j = 0; j < f->nnames; j++)
			image_db_set_tag(&db, f->names[j], r->id);
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

/* ==== [09a] VOLUME: named and anonymous volumes ====
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
	return volume_name_valid(name) && faccessat(st->rootfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
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
				  "allowed", name, name);
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
	if (mr_write_atomic(tmpfd, "meta.json", meta.data, meta.len, 0600, err) < 0)
		goto out;
	if (mr_store_lock(st, err) < 0)
		goto out;
	volfd = volume_dirfd(st, err);
	if (volfd >= 0) {
		if (renameat(st->rootfd, tmpname, volfd, vname) == 0) {
			*created = 1;
			rc = mr_fsync_dir(volfd, err);
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

/* Remove a volume's folder (the caller checked that no container uses it).
 * The rename first makes it vanish at once; the data goes after, never
 * crossing a mount. */
static int volume_remove(struct mr_store *st, const char *name, struct mr_err *err)
{
	char tmpname[128];
	int volfd, tmpfd, rc;
	if (!volume_exists(st, name))
		return mr_err_set(err, MR_ENOTFOUND, "No such volume: %s", name);
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

/* Bytes used under a folder (for prune and system df); never crosses mounts
 * or follows symlinks; hard links counted once per folder walk is not worth
 * the memory here. */
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
		total += (uint64_t)sb.st_blocks * 512;
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
	/* placeholder: replaced once containers record their mounts */
	(void)st; (void)name; (void)who; (void)size;
	return 0;
}

/* ==== [09b] MOUNTS: volumes, bind mounts and tmpfs inside a container ====
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

static int mount_target_ok(struct mount_spec *m, const char *target, const char *arg,
			   struct mr_err *err)
{
	if (target[0] != '/')
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid mount config for %s: mount path "
				  "must be absolute", arg);
	if (!strcmp(target, "/"))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid mount config for %s: invalid "
				  "specification: destination can't be '/'", arg);
	if (util_strlcpy(m->target, target, sizeof m->target) < 0)
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
	if (mount_target_ok(m, parts[1], arg, err) < 0)
		return -1;
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
			if (mount_target_ok(m, v, arg, err) < 0)
				return -1;
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

/* Inside the container's mount namespace, before pivot_root: mount m at its
 * target resolved inside rootfd. */
static int mount_apply(struct mr_store *st, int rootfd, const struct mount_spec *m,
		       struct mr_err *err)
{
	char src[MINIRUN_MAX_PATH], at[64];
	struct stat sb;
	int tfd = -1, rc = -1;
	if (m->type == MOUNT_TMPFS) {
		tfd = mr_mkdir_in_root(rootfd, m->target, 0755, err);
		if (tfd < 0)
			return mr_err_ctx(err, "mount tmpfs on %s", m->target);
		snprintf(at, sizeof at, "/proc/self/fd/%d", tfd);
		if (mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV | (m->readonly ? MS_RDONLY : 0),
			  m->tmpfs_opts) < 0)
			mr_err_sys(err, "mount tmpfs on %s", m->target);
		else
			rc = 0;
		close(tfd);
		return rc;
	}
	if (mount_source_path(st, m, src, sizeof src) < 0 || stat(src, &sb) < 0)
		return mr_err_sys(err, "mount %s on %s", m->source, m->target);
	if (S_ISDIR(sb.st_mode)) {
		tfd = mr_mkdir_in_root(rootfd, m->target, 0755, err);
	} else {
		/* A file: its folder is made inside the root, the file created
		 * empty (never following a symlink planted there). */
		char parent[MINIRUN_MAX_PATH], *slash;
		int pfd;
		snprintf(parent, sizeof parent, "%s", m->target);
		slash = strrchr(parent, '/');
		*slash = 0;
		pfd = mr_mkdir_in_root(rootfd, parent[0] ? parent : "/", 0755, err);
		if (pfd >= 0) {
			int f = openat(pfd, slash + 1, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (f >= 0)
				close(f);
			tfd = openat(pfd, slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (tfd < 0)
				mr_err_sys(err, "mount target %s", m->target);
			close(pfd);
		}
	}
	if (tfd < 0)
		return mr_err_ctx(err, "mount %s", m->source);
	snprintf(at, sizeof at, "/proc/self/fd/%d", tfd);
	if (mount(src, at, NULL, MS_BIND | MS_REC, NULL) < 0) {
		mr_err_sys(err, "mount %s on %s", m->source, m->target);
		goto out;
	}
	close(tfd);
	/* Re-open: the path now leads to the mount just made. */
	tfd = mr_open_in_root(rootfd, m->target, O_PATH, 0, err);
	if (tfd < 0)
		goto out;
	snprintf(at, sizeof at, "/proc/self/fd/%d", tfd);
	if (m->readonly && mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
				 MS_NODEV, NULL) < 0) {
		mr_err_sys(err, "mount %s on %s read-only", m->source, m->target);
		goto out;
	}
	if (mount(NULL, at, NULL, m->propagation ? m->propagation : (MS_PRIVATE | MS_REC), NULL) < 0) {
		mr_err_sys(err, "mount %s on %s: propagation", m->source, m->target);
		goto out;
	}
	rc = 0;
out:
	if (tfd >= 0)
		close(tfd);
	return rc;
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

/* ==== [10] CONTAINER: lifecycle (placeholder until the containers land) ==== */

static int container_users_of_image(struct mr_store *st, const char *image_id, char *who,
				    size_t size)
{
	(void)st; (void)image_id; (void)who; (void)size;
	return 0;
}

/* ==== [20] CLI: argument parsing, usage, commands ====
 * Docker's command line: `minirun [OPTIONS] COMMAND [ARG...]`, flags parsed per
 * command from a small table (short and long names, `--flag=value`, `--flag
 * value`, combined short booleans such as `-it`, repeated flags collected in
 * order). Every command returns its exit code; minirun's own failures are 125
 * with one line on stderr naming the object and the reason. */

#define CLI_EXIT_FAIL 125

/* Repeated values of one flag (-e, -v, --label...), in command-line order. */
struct cli_list {
	const char **items;
	size_t count;
};

struct cli_flag {
	const char *names;        /* "q|quiet": short and/or long, '|' between */
	int has_value;            /* takes an argument */
	const char **value;       /* last value (has_value) */
	int *set;                 /* counts occurrences (booleans) */
	struct cli_list *list;    /* every value (repeatable flags) */
	const char *help;         /* one line for --help */
};

struct cli {
	const char *root;         /* --root / MINIRUN_ROOT */
	const char *rundir;       /* --run-dir / MINIRUN_RUNDIR */
	struct mr_store store;
	int store_open;
	const char *cmd;          /* "images", "volume rm"... for messages */
	struct mr_err err;
};

struct cli_command {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *summary;
};

static void cli_list_add(struct cli_list *l, const char *v)
{
	l->items = util_xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count++] = v;
}

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
	return -1;
}

static void cli_apply(const struct cli_flag *f, const char *value)
{
	if (f->value)
		*f->value = value;
	if (f->list)
		cli_list_add(f->list, value);
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
	if (n < min)
		return cli_fail(c, "\"minirun %s\" requires %s %d argument%s.", c->cmd,
				max == min ? "exactly" : "at least", min, min == 1 ? "" : "s");
	if (max >= 0 && n > max)
		return cli_fail(c, "\"minirun %s\" accepts %s %d argument%s.", c->cmd,
				max == min ? "exactly" : "at most", max, max == 1 ? "" : "s");
	return 0;
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
		{ "init", MINIRUN_WITH_INIT },
	};
	size_t i;
	for (i = 0; i < sizeof features / sizeof features[0]; i++)
		printf("%s%c%s", i ? " " : "", features[i].on ? '+' : '-', features[i].name);
	printf("\n");
}

static int cmd_version(struct cli *c, int argc, char **argv)
{
	static const struct cli_flag flags[] = { { 0 } };
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
#if MINIRUN_WITH_GZIP
	printf(", zlib %s", zlibVersion());
#endif
#if MINIRUN_WITH_ZSTD
	printf(", zstd %s", ZSTD_versionString());
#endif
	printf("\nPlatform:   linux/%s\n", image_host_platform());
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
	static char name[64];
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
	snprintf(name, sizeof name, "%s %s", group, s->name);
	c->cmd = name;
	return s->run(c, argc - 1, argv + 1);
}

/* ---- [20] CLI: image commands (load, images, image inspect, tag, rmi, prune, unpack) ---- */

/* A table printed like Docker's tabwriter: columns padded to the widest cell
 * plus three spaces. Cells are collected first, then printed. */
struct cli_table {
	size_t ncols, nrows;
	char **cells;
	size_t width[12];
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
			if (i + 1 < t->ncols)
				printf("%-*s", (int)(t->width[i] + 3), cell);
			else
				printf("%s\n", cell);
			free(t->cells[r * t->ncols + i]);
		}
	}
	free(t->cells);
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

static int cmd_images(struct cli *c, int argc, char **argv)
{
	int quiet = 0, no_trunc = 0, all = 0;
	struct cli_flag flags[] = {
		{ "a|all", 0, NULL, &all, NULL, "Show all images" },
		{ "q|quiet", 0, NULL, &quiet, NULL, "Only show image IDs" },
		{ "no-trunc", 0, NULL, &no_trunc, NULL, "Don't truncate output" },
		{ 0 },
	};
	struct mr_store *st;
	struct image_db db;
	struct cli_table t = { 5, 0, NULL, { 0 } };
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
	if (!quiet)
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
		for (j = 0; j <= db.ntags; j++) {
			const char *row[5];
			if (j < db.ntags && strcmp(db.tags[j].id, r->id))
				continue;
			if (j == db.ntags && tagged)
				break;
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
			row[0] = repo; row[1] = tag; row[2] = id; row[3] = created; row[4] = size;
			cli_table_add(&t, row);
		}
	}
	(void)all;
	cli_table_print(&t);
	image_db_free(&db);
	return 0;
}

/* Copy the runtime config of an image the way Docker's inspect shows it:
 * every field present, null where the image has none. */
static void cli_inspect_image_config(struct mr_jw *w, const struct mr_json *cfg)
{
	static const struct { const char *key; int kind; } fields[] = {
		{ "Hostname", 's' }, { "Domainname", 's' }, { "User", 's' },
		{ "AttachStdin", 'b' }, { "AttachStdout", 'b' }, { "AttachStderr", 'b' },
		{ "ExposedPorts", 'o' }, { "Tty", 'b' }, { "OpenStdin", 'b' }, { "StdinOnce", 'b' },
		{ "Env", 'n' }, { "Cmd", 'n' }, { "Image", 's' }, { "Volumes", 'n' },
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
	struct cli_flag flags[] = { { 0 } };
	struct mr_store *st;
	struct image_db db;
	struct mr_buf out = { 0 };
	struct mr_jw w;
	int i, rc = 0;
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
		if (!r || cli_inspect_image(c, &w, &db, r) < 0) {
			util_print_err(&c->err);
			rc = 1;
		}
	}
	mr_jw_arr_end(&w);
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
	char name[512];
	int rc = CLI_EXIT_FAIL;
	int n = cli_parse(c, argc, argv, flags, 1, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]");
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_FAIL;
	if (cli_nargs(c, n, 2, 2) < 0)
		return CLI_EXIT_FAIL;
	if (image_ref_normalize(argv[1], name, sizeof name, &c->err) < 0 || strchr(name, '@')) {
		if (strchr(name, '@'))
			mr_err_set(&c->err, MR_EINVAL_INPUT, "refusing to create a tag with a digest reference");
		util_print_err(&c->err);
		return CLI_EXIT_FAIL;
	}
	if (!(st = cli_store(c)) || mr_store_lock(st, &c->err) < 0)
		return CLI_EXIT_FAIL;
	if (image_db_read(st, &db, &c->err) == 0) {
		if ((r = image_db_find(&db, argv[0], &c->err)) != NULL) {
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

/* Remove one image reference (rmi): untag, and delete the image when no tag
 * and no container is left. Returns 0, or -1 with err set. */
static int image_remove(struct mr_store *st, struct image_db *db, const char *ref, int force,
			struct mr_err *err)
{
	struct image_rec *r = image_db_find(db, ref, err);
	char name[512], who[64];
	size_t i, ntags = 0, idx;
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
	if (!by_tag && ntags > 1 && !force)
		return mr_err_set(err, MR_EINUSE, "conflict: unable to delete %.12s (must be forced) "
				  "- image is referenced in multiple repositories", r->id + 7);
	if (container_users_of_image(st, r->id, who, sizeof who) > 0 && !(by_tag && ntags > 1)) {
		if (!force)
			return mr_err_set(err, MR_EINUSE, "conflict: unable to remove repository "
					  "reference \"%s\" (must force) - container %s is using its "
					  "referenced image %.12s", ref, who, r->id + 7);
		/* forced: untag only; the image stays for its containers */
		for (i = db->ntags; i-- > 0;)
			if (!strcmp(db->tags[i].id, r->id) && (!by_tag || !strcmp(db->tags[i].name, name))) {
				printf("Untagged: %s\n", db->tags[i].name);
				image_db_del_tag(db, i);
			}
		return 0;
	}
	for (i = db->ntags; i-- > 0;)
		if (!strcmp(db->tags[i].id, r->id) &&
		    (!by_tag || ntags == 1 || force || !strcmp(db->tags[i].name, name))) {
			printf("Untagged: %s\n", db->tags[i].name);
			image_db_del_tag(db, i);
			ntags--;
		}
	if (ntags == 0) {
		printf("Deleted: %s\n", r->id);
		idx = (size_t)(r - db->recs);
		image_db_del_rec(db, idx);
	}
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
			rc = 1;
		}
	if (image_db_write(st, &db, &c->err) < 0) {
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
	if (!fgets(answer, sizeof answer, stdin))
		return 0;
	return answer[0] == 'y' || answer[0] == 'Y';
}

static int cmd_image_prune(struct cli *c, int argc, char **argv)
{
	int force = 0, all = 0;
	struct cli_flag flags[] = {
		{ "a|all", 0, NULL, &all, NULL, "Remove all unused images, not just dangling ones" },
		{ "f|force", 0, NULL, &force, NULL, "Do not prompt for confirmation" },
		{ 0 },
	};
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
		return CLI_EXIT_FAIL;
	}
	for (i = db.nrecs; i-- > 0;) {
		int tagged = 0;
		for (j = 0; j < db.ntags; j++)
			tagged |= !strcmp(db.tags[j].id, db.recs[i].id);
		if ((tagged && !all) || container_users_of_image(st, db.recs[i].id, who, sizeof who))
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
	if (image_db_write(st, &db, &c->err) < 0) {
		util_print_err(&c->err);
		image_db_free(&db);
		return CLI_EXIT_FAIL;
	}
	image_gc(st, &db);
	image_db_free(&db);
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

/* `image SUBCOMMAND`: Docker's management command form. */
static int cmd_image(struct cli *c, int argc, char **argv)
{
	static const struct cli_command subs[] = {
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

/* ---- [20] CLI: volume commands (create, ls, inspect, rm, prune) ---- */

static int cmd_volume_create(struct cli *c, int argc, char **argv)
{
	struct cli_list labels = { 0 };
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
	if (volume_create(st, name, labels.items, labels.count, 0, out, sizeof out, &created,
			  &c->err) < 0) {
		util_print_err(&c->err);
		goto out;
	}
	printf("%s\n", out);
	rc = 0;
out:
	free(labels.items);
	return n == -2 ? 0 : rc;
}

/* --filter for volume ls: dangling=true|false, name=SUBSTRING, label=K[=V]. */
static int volume_matches(struct mr_store *st, const char *name, const struct cli_list *filters,
			  struct mr_err *err)
{
	size_t i;
	for (i = 0; i < filters->count; i++) {
		const char *f = filters->items[i];
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
	struct cli_list filters = { 0 };
	int quiet = 0, rc = CLI_EXIT_FAIL;
	struct cli_flag flags[] = {
		{ "f|filter", 1, NULL, NULL, &filters, "Provide filter values (e.g. \"dangling=true\")" },
		{ "q|quiet", 0, NULL, &quiet, NULL, "Only display volume names" },
		{ 0 },
	};
	struct mr_store *st;
	char **names = NULL;
	size_t count = 0, i;
	struct cli_table t = { 2, 0, NULL, { 0 } };
	static const char *const head[] = { "DRIVER", "VOLUME NAME" };
	int n = cli_parse(c, argc, argv, flags, 1, "[OPTIONS]");
	if (n < 0 || cli_nargs(c, n, 0, 0) < 0 || !(st = cli_store(c)))
		goto out;
	if (volume_list(st, &names, &count, &c->err) < 0) {
		util_print_err(&c->err);
		goto out;
	}
	if (!quiet)
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
		if (quiet)
			printf("%s\n", names[i]);
		else
			cli_table_add(&t, row);
	}
	cli_table_print(&t);
	t.nrows = 0;
	rc = 0;
out:
	if (t.nrows)
		cli_table_print(&t);
	volume_free_names(names, count);
	free(filters.items);
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
	struct cli_flag flags[] = { { 0 } };
	struct mr_store *st;
	struct mr_buf out = { 0 };
	struct mr_jw w;
	int i, rc = 0;
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
		volume_inspect_one(st, &w, &vi);
		mr_json_free(&vi.meta);
	}
	mr_jw_arr_end(&w);
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
		char who[512];
		/* Under the lock, so no container can start using it meanwhile. */
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
		if (container_users_of_volume(st, argv[i], who, sizeof who) > 0) {
			mr_store_unlock(st);
			fprintf(stderr, "Error: remove %s: volume is in use - [%s]\n", argv[i], who);
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
	struct cli_list filters = { 0 };
	struct cli_flag flags[] = {
		{ "a|all", 0, NULL, &all, NULL, "Remove all unused volumes, not just anonymous ones" },
		{ "filter", 1, NULL, NULL, &filters, "Provide filter values (e.g. \"label=<label>\")" },
		{ "f|force", 0, NULL, &force, NULL, "Do not prompt for confirmation" },
		{ 0 },
	};
	struct mr_store *st;
	char **names = NULL, size[32], who[512];
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
		uint64_t bytes = 0;
		int fd;
		char path[300];
		if (volume_read(st, names[i], &vi, &c->err) < 0)
			continue;
		mr_json_free(&vi.meta);
		if ((!all && !vi.anonymous) || container_users_of_volume(st, names[i], who, sizeof who) > 0 ||
		    volume_matches(st, names[i], &filters, &c->err) != 1)
			continue;
		snprintf(path, sizeof path, "volumes/%s/_data", names[i]);
		fd = openat(st->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			bytes = volume_du(fd, 0);
			close(fd);
		}
		if (volume_remove(st, names[i], &c->err) < 0) {
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
	free(filters.items);
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

static int cmd_pull(struct cli *c, int argc, char **argv)
{
	(void)c; (void)argc; (void)argv;
#if !MINIRUN_WITH_PULL
	return cli_disabled("pull", "PULL");
#else
	fprintf(stderr, "Error: pull: not implemented yet in this version\n");
	return CLI_EXIT_FAIL;
#endif
}

/* The command table: every command, including those whose feature is compiled
 * out (they answer "built without ..."). */
static const struct cli_command cli_commands[] = {
	{ "help", cmd_help, NULL },
	{ "image", cmd_image, "Manage images" },
	{ "images", cmd_images, "List images" },
	{ "inspect", cmd_image_inspect, "Return low-level information on images" },
	{ "load", cmd_load, "Load an image from a tar archive, STDIN or an OCI layout folder" },
	{ "pull", cmd_pull, "Download an image from a registry" },
	{ "rmi", cmd_rmi, "Remove one or more images" },
	{ "tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE" },
	{ "version", cmd_version, "Show the minirun version and compiled-in features" },
	{ "volume", cmd_volume, "Manage volumes" },
	{ NULL, NULL, NULL },
};

/* ==== [99] MAIN ==== */

/* see minirun.h */
int mr_main(int argc, char **argv)
{
	struct cli c;
	const struct cli_command *cmd;
	int i = 1, rc;
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
		return CLI_EXIT_FAIL;
	}
	c.cmd = cmd->name;
	rc = cmd->run(&c, argc - i - 1, argv + i + 1);
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
