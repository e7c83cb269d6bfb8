/* ==== [02] UTIL: errors, buffers, strings; printf, malloc, qsort/strto* of its own ====
 * Errors follow STYLE.md: functions return 0 or -1 and fill a caller-owned
 * struct mr_err; callers prefix context on the way up, so the final message
 * reads "load busybox.tar: layer sha256:ab..: entry etc/passwd: reason". */

/* see minirun.h */
UTIL_VA_ONLY int mr_err_set(struct mr_err *err, int code, const char *fmt, ...)
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
UTIL_VA_ONLY int mr_err_sys(struct mr_err *err, const char *fmt, ...)
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

/* see minirun.h: the context (at most 255 bytes of it) goes in front of a
 * copy of the old message, which is cut at the end when both do not fit. */
UTIL_VA_FN int mr_err_ctx(struct mr_err *err, const char *fmt, ...)
{
	char old[sizeof err->msg];
	size_t plen;
	va_list ap;
	if (!err)
		return -1;
	err->msg[sizeof err->msg - 1] = 0;
	memcpy(old, err->msg, sizeof old);
	va_start(ap, fmt);
	vsnprintf(err->msg, 256, fmt, ap);
	va_end(ap);
	plen = strlen(err->msg);
	snprintf(err->msg + plen, sizeof err->msg - plen, ": %s", old);
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

/* Room for n more bytes and the NUL after them. */
static void util_buf_grow(struct mr_buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = util_xrealloc(b->data, cap);
		b->cap = cap;
	}
}

/* see minirun.h */
int mr_buf_append(struct mr_buf *b, const void *data, size_t len)
{
	util_buf_grow(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = 0;
	return 0;
}

/* see minirun.h: measured first, then formatted in place. */
UTIL_VA_ONLY int mr_buf_printf(struct mr_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	util_buf_grow(b, (size_t)n);
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

/* snprintf(dst, size, "%s", src) without the formatting: src truncated to
 * size - 1 bytes (size > 0). One call is 7 bytes smaller than snprintf's. */
static void util_scopy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* The same with at most n bytes of src ("%.*s"). */
static void util_scopyn(char *dst, size_t size, const char *src, size_t n)
{
	n = strnlen(src, n < size - 1 ? n : size - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Is s one of the words of list? A call instead of a strcmp per word.
 * util_one_of(s, "a\0b\0c") takes a literal and adds the empty word that
 * ends the list (the literal's own NUL ends only its last word). */
#define util_one_of(s, list) util_word_of(s, list "\0")
static int util_word_of(const char *s, const char *list)
{
	for (; *list; list += strlen(list) + 1)
		if (!strcmp(s, list))
			return 1;
	return 0;
}

/* Close fd if it is one (-1 stands for none all over minirun). */
static void util_close(int fd)
{
	if (fd >= 0)
		close(fd);
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
	static const char units[] = "bkmg";     /* 1, 2^10, 2^20, 2^30 */
	const char *u;
	size_t n = 0;
	uint64_t v = 0, mul = 1;
	for (; s[n] >= '0' && s[n] <= '9'; n++) {
		uint64_t d = (uint64_t)(s[n] - '0');
		if (n >= 31 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (!n)
		return -1;
	if (s[n]) {
		u = strchr(units, tolower((unsigned char)s[n++]));
		if (!u)
			return -1;
		mul = 1ull << (10 * (u - units));
		if (mul > 1 && tolower((unsigned char)s[n]) == 'b')
			n++;
	}
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
	size_t len;
	int u = 0, decimals;
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
	util_fmt_fixed(milli, decimals, out, size);
	len = strlen(out);
	snprintf(out + len, size - len, "%s", units[u]);
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
	size_t n;
	util_human_duration((long)(time(NULL) - then), out, size);
	n = strlen(out);
	snprintf(out + n, size - n, " ago");
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

/* Make sure 0, 1 and 2 are open: a container's stdio must never be one of
 * minirun's own descriptors. */
static void util_std_fds(void)
{
	int fd;
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2) {}
	if (fd > 2)
		close(fd);
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

/* Padding: n spaces, or n zeros when c is '0'. */
static void util_out_fill(struct mr_file *f, char c, size_t n)
{
	const char *chunk = c == '0' ? "0000000000000000" : "                ";
	for (; n > 16; n -= 16)
		util_out(f, chunk, 16);
	util_out(f, chunk, n);
}

/* The int-sized arguments (*, c, and the numbers up to int) come through
 * here rather than from a va_arg expanded at each place (30 bytes each;
 * noinline, or gcc expands it back); by pointer, as va_list may be an
 * array or a struct. */
static __attribute__((noinline)) unsigned util_arg_uint(va_list *ap)
{
	return va_arg(*ap, unsigned);
}

static void util_vformat(struct mr_file *f, const char *fmt, va_list ap)
{
	va_list args;
	va_copy(args, ap);
	while (*fmt) {
		char digits[24];
		const char *s = digits, *prefix = "";
		size_t n = strcspn(fmt, "%"), zeros = 0, pad, width = 0;
		int left = 0, zero = 0, prec = -1, base = 0, is_signed = 0;  /* base 0: not a number */
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
			int w = (int)util_arg_uint(&args);
			left |= w < 0;
			width = w < 0 ? -(size_t)w : (size_t)w;
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (size_t)(*fmt - '0');
		if (*fmt == '.') {
			prec = 0;
			if (*++fmt == '*') {
				prec = (int)util_arg_uint(&args);
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
		case 'd': case 'i': case 'o': case 'u': case 'x': case 'X': case 'p': {
			/* One va_arg per argument size, not per type: l, ll, z, j, t
			 * and p are all the size of long long on LP64 (on ILP32 l, z
			 * and p are the size of int), and a signed argument read as
			 * its unsigned twin keeps its bits. */
			size_t bytes = conv == 'p' ? sizeof(void *) : size == 'L' ? sizeof(long long) :
				       size == 'l' ? sizeof(long) : size == 'z' ? sizeof(size_t) : sizeof(int);
			is_signed = conv == 'd' || conv == 'i';
			if (bytes == sizeof(long long)) {
				u = va_arg(args, unsigned long long);
			} else {
				unsigned w = util_arg_uint(&args);
				if (size == 'h')
					w = is_signed ? (unsigned)(short)w : (unsigned short)w;
				else if (size == 'H')
					w = is_signed ? (unsigned)(signed char)w : (unsigned char)w;
				u = is_signed ? (unsigned long long)(long long)(int)w : w;
			}
			if (is_signed) {
				long long v = (long long)u;
				u = v < 0 ? -u : u;
				prefix = v < 0 ? "-" : plus == '+' ? "+" : plus == ' ' ? " " : "";
			} else if (conv == 'p') {
				prefix = "0x";
			}
			base = conv == 'o' ? 8 : conv == 'u' || is_signed ? 10 : 16;
			break;
		}
		case 'c':
			digits[0] = (char)util_arg_uint(&args);
			n = 1;
			break;
		case 's':
			s = va_arg(args, const char *);
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
		if (base) {
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
	va_end(args);
}

static int mr_vsnprintf(char *out, size_t size, const char *fmt, va_list ap)
{
	struct mr_file s = { -1, 0, 0, size ? size - 1 : 0, 0, out };
	util_vformat(&s, fmt, ap);
	if (size)
		out[s.total < s.cap ? s.total : s.cap] = 0;
	return s.total > INT_MAX ? -1 : (int)s.total;
}

UTIL_VA_ONLY static int mr_snprintf(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = mr_vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n;
}

UTIL_VA_ONLY static int mr_asprintf(char **out, const char *fmt, ...)
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

UTIL_VA_ONLY static int mr_fprintf(struct mr_file *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	util_vformat(f, fmt, ap);
	va_end(ap);
	return util_out_done(f);
}

UTIL_VA_ONLY static int mr_printf(const char *fmt, ...)
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
 * sign, 0x for base 16 or 0, leading 0 for base 0); `over` when it exceeds
 * the type's largest magnitude `max`. Returned in registers, not through
 * pointers (which cost each caller a stack canary). */
struct util_strto_res {
	unsigned long long v;
	int neg, over;
};

static struct util_strto_res util_strto(const char *s, char **end, int base, unsigned long long max)
{
	struct util_strto_res r = { 0, 0, 0 };
	const char *p = s;
	int any = 0;
	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	r.neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 32) == 'x' && isxdigit((unsigned char)p[2]))
		p += 2, base = 16;
	else if (base == 0)
		base = *p == '0' ? 8 : 10;
	for (;; p++, any = 1) {
		unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0') :
			     (*p | 32) >= 'a' && (*p | 32) <= 'z' ? (unsigned)((*p | 32) - 'a' + 10) : 99;
		if (d >= (unsigned)base)
			break;
		if (r.v > (max - d) / (unsigned)base)
			r.over = 1;
		else
			r.v = r.v * (unsigned)base + d;
	}
	if (end)
		*end = (char *)(any ? p : s);
	if (r.over || !any)                     /* musl's errno when nothing was read */
		errno = r.over ? ERANGE : EINVAL;
	return r;
}
static unsigned long long util_strtou(const char *s, char **end, int base, unsigned long long max)
{
	struct util_strto_res r = util_strto(s, end, base, max);
	return r.over ? max : r.neg ? (0 - r.v) & max : r.v;
}
static long long util_strtoi(const char *s, char **end, int base, long long min, long long max)
{
	struct util_strto_res r = util_strto(s, end, base, (unsigned long long)max + 1);
	if (!r.over && !r.neg && r.v > (unsigned long long)max)
		r.over = 1, errno = ERANGE;
	if (r.over)
		return r.neg ? min : max;
	return r.neg ? (long long)(0 - r.v) : (long long)r.v;
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
