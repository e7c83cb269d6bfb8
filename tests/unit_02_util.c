/* Unit tests: [02] UTIL. */

/* [05] The rounds minirun runs (SHA-NI, ARMv8 SHA2 or BearSSL's) against
 * BearSSL's whole sha256, for every length up to a few blocks fed in odd
 * pieces, and a long buffer. */
static void tu_digest(void)
{
	static unsigned char buf[70000];
	static const size_t more[] = { 1000, 4109, 65543, sizeof buf };
	uint64_t seed = 7;
	size_t len, i, bad = 0, n = 0;
	const char *how = "BearSSL";
#if defined(__x86_64__)
	if (digest_have_ni())
		how = "SHA-NI";
#elif defined(__aarch64__)
	if (digest_have_ce())
		how = "ARMv8 SHA2";
#endif
	for (i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)((seed = seed * 6364136223846793005ull + 1) >> 56);
	for (i = 0; i < 301 + sizeof more / sizeof *more; i++) {
		br_sha256_context bc;
		struct digest_ctx c;
		unsigned char sum[32];
		char want[MR_DIGEST_LEN + 1], got[MR_DIGEST_LEN + 1];
		size_t off = 0, piece = 1;
		len = i < 301 ? i : more[i - 301];
		br_sha256_init(&bc);
		br_sha256_update(&bc, buf, len);
		br_sha256_out(&bc, sum);
		memcpy(want, "sha256:", 7);
		util_hex(sum, 32, want + 7);
		digest_init(&c);
		while (off < len) {
			size_t k = piece < len - off ? piece : len - off;
			digest_update(&c, buf + off, k);
			off += k;
			piece = piece * 5 % 263 + 1;
		}
		digest_finish(&c, got);
		bad += strcmp(want, got) != 0;
		n++;
	}
	CHECK(bad == 0 && n == 305);
	printf("  sha256 rounds: %s\n", how);
}

static int unit_int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The stand-ins for musl's gmtime_r, sysconf, faccessat and unsetenv
 * answer as libc does. */
static void test_util_libc_standins(void)
{
	static const long long times[] = {
		0, 1, -1, 59, 60, 86399, 86400, 951782400 /* 2000-02-29 */, 951868800,
		1709164800 /* 2024-02-29 */, 2147483647, 2147483648LL, 4102444800LL /* 2100-01-01 */,
		-86400, -2208988800LL /* 1900-01-01 */, 253402300799LL /* 9999-12-31 23:59:59 */,
		1796300000, 1700000000,
	};
	size_t i;
	int same = 1;
	unsigned long long x = 88172645463325252ULL;
	char *env[] = { "A=1", "MINIRUN_SEALED=1", "MINIRUN_SEALEDX=2", "B=3", NULL }, **old = environ;
	struct stat sb;
	for (i = 0; i < sizeof times / sizeof times[0] + 20000; i++) {
		struct tm a, b;
		time_t t;
		if (i < sizeof times / sizeof times[0]) {
			t = (time_t)times[i];
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			t = (time_t)(x % 8000000000ULL) - 2000000000;
		}
		util_gmtime(&t, &a);
		gmtime_r(&t, &b);
		if (a.tm_year != b.tm_year || a.tm_mon != b.tm_mon || a.tm_mday != b.tm_mday ||
		    a.tm_hour != b.tm_hour || a.tm_min != b.tm_min || a.tm_sec != b.tm_sec ||
		    a.tm_wday != b.tm_wday || a.tm_yday != b.tm_yday) {
			if (same)
				fprintf(stderr, "gmtime %lld: %d-%d-%d %d:%d:%d w%d y%d, libc %d-%d-%d %d:%d:%d w%d y%d\n",
					(long long)t, a.tm_year, a.tm_mon, a.tm_mday, a.tm_hour, a.tm_min, a.tm_sec,
					a.tm_wday, a.tm_yday, b.tm_year, b.tm_mon, b.tm_mday, b.tm_hour, b.tm_min,
					b.tm_sec, b.tm_wday, b.tm_yday);
			same = 0;
		}
	}
	CHECK(same);
	CHECK(util_ncpu() == sysconf(_SC_NPROCESSORS_ONLN));
	CHECK(util_mem_total() == (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE));
	CHECK(UTIL_CLK_TCK == sysconf(_SC_CLK_TCK));
	CHECK(util_exists_at(AT_FDCWD, "/proc/self/exe", AT_SYMLINK_NOFOLLOW) &&
	      util_exists_at(AT_FDCWD, "/", 0) && !util_exists_at(AT_FDCWD, "/nonexistent-x", 0));
	CHECK(lstat("/proc/self/fd/0", &sb) == 0);
	environ = env;
	util_env_drop("MINIRUN_SEALED");
	CHECK(!strcmp(env[0], "A=1") && !strcmp(env[1], "MINIRUN_SEALEDX=2") && !strcmp(env[2], "B=3") &&
	      env[3] == NULL && !getenv("MINIRUN_SEALED") && getenv("MINIRUN_SEALEDX"));
	environ = old;
}

/* minirun's strto* follow musl, which sets EINVAL when no digit was read; glibc
 * (the sanitizer build) leaves errno alone then, so there only the value and
 * the end pointer of a conversion that read nothing are compared. */
static int unit_errno_differs(int libc_errno, int own_errno, const char *libc_end, const char *input)
{
#ifdef __GLIBC__
	if (libc_end == input && libc_errno == 0 && own_errno == EINVAL)
		return 0;
#else
	(void)libc_end, (void)input;
#endif
	return libc_errno != own_errno;
}

#include <fnmatch.h>
/* util_glob against libc's fnmatch with FNM_PATHNAME (Go's path.Match rules:
 * '*' and '?' and classes never match '/'). */
static void test_util_glob(void)
{
	static const char *const pats[] = { "busybox", "busy*", "*box", "b?sybox", "*",
		"library/*", "*/busybox", "[a-c]usybox", "[^a-c]usybox", "b\\usybox", "bu**x",
		"lib*", "l*/b*", "", "x[", "[]a]", "*:*", "my?box" };
	static const char *const names[] = { "busybox", "library/busybox", "abox", "", "lib/box",
		"cusybox", "dusybox", "busy/box", "my/box", "mybox", "latest", "a:b" };
	size_t i, j, neq = 0;
	for (i = 0; i < sizeof pats / sizeof pats[0]; i++)
		for (j = 0; j < sizeof names / sizeof names[0]; j++)
			if (util_glob(pats[i], names[j]) != (fnmatch(pats[i], names[j], FNM_PATHNAME) == 0)) {
				fprintf(stderr, "  glob differs from fnmatch: %s on %s\n", pats[i], names[j]);
				neq++;
			}
	CHECK(neq == 0);
	CHECK(util_glob("busy*", "busybox") && !util_glob("busy*", "busy/box"));
	CHECK(util_glob("*/busybox", "library/busybox") && !util_glob("[a-c]usybox", "dusybox"));
}

static void test_util(void)
{
	struct mr_err err;
	struct mr_buf b = { 0 };
	test_util_glob();
	uint64_t v;
	char s[80], big[600];
	time_t t;
	struct timespec ts = { 86400 * 365, 5 };
	test_util_libc_standins();

	CHECK(util_parse_size("512", &v) == 0 && v == 512);
	CHECK(util_parse_size("64k", &v) == 0 && v == 65536);
	CHECK(util_parse_size("64KB", &v) == 0 && v == 65536);
	CHECK(util_parse_size("128m", &v) == 0 && v == 128u << 20);
	CHECK(util_parse_size("1g", &v) == 0 && v == 1u << 30);
	CHECK(util_parse_size("", &v) < 0);
	CHECK(util_parse_size("12x", &v) < 0);
	CHECK(util_parse_size("-1", &v) < 0);
	CHECK(util_parse_size("99999999999999999999g", &v) < 0);
	CHECK(util_parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX);
	CHECK(util_parse_u64("18446744073709551616", &v) < 0);

	/* util_scopy truncates as snprintf "%s" does; util_one_of matches whole words. */
	util_scopy(s, 4, "abcdef");
	CHECK(!strcmp(s, "abc"));
	util_scopy(s, sizeof s, "ab");
	CHECK(!strcmp(s, "ab"));
	util_scopy(s, 1, "ab");
	CHECK(s[0] == 0);
	util_scopyn(s, sizeof s, "abcdef", 3);
	CHECK(!strcmp(s, "abc"));
	util_scopyn(s, 3, "abcdef", 5);
	CHECK(!strcmp(s, "ab"));
	util_scopyn(s, sizeof s, "ab", 64);
	CHECK(!strcmp(s, "ab"));
	CHECK(util_one_of("dev", "rw\0nodev\0dev"));
	CHECK(util_one_of("rw", "rw\0nodev\0dev"));
	CHECK(!util_one_of("de", "rw\0nodev\0dev"));
	CHECK(!util_one_of("", "rw\0nodev"));
	CHECK(util_one_of("1", "true\0yes\0" "1"));
	CHECK(!util_one_of("001", "true\0yes\0" "1"));

	/* minirun's formatter against libc's, conversion by conversion. */
#define SAME_AS_LIBC(...) do { \
		char want_[96], got_[96]; \
		int wn_ = snprintf(want_, sizeof want_, __VA_ARGS__); \
		int gn_ = mr_snprintf(got_, sizeof got_, __VA_ARGS__); \
		CHECK(wn_ == gn_ && !strcmp(want_, got_)); \
		if (strcmp(want_, got_)) \
			fprintf(stderr, "  libc \"%s\", minirun \"%s\"\n", want_, got_); \
	} while (0)
	SAME_AS_LIBC("plain");
	SAME_AS_LIBC("%s|%5s|%-5s|%.2s|%.*s|%-*s|", "abc", "ab", "ab", "abc", 2, "xyz", 4, "q");
	SAME_AS_LIBC("%d %d %i % d %+d %05d %-5d| %.3d %3.0d", 0, -42, 7, 5, 5, -42, 42, 7, 0);
	SAME_AS_LIBC("%u %x %X %o %02x %04lx %08llx", 4000000000u, 255u, 255u, 8u, 10u, 0xabcUL, 1ULL);
	SAME_AS_LIBC("%ld %lu %lld %llu", LONG_MIN, ULONG_MAX, LLONG_MIN, ULLONG_MAX);
	SAME_AS_LIBC("%zu %zd %jd %ju %td", (size_t)-1, (ssize_t)-3, INTMAX_MIN, UINTMAX_MAX, (ptrdiff_t)-9);
	SAME_AS_LIBC("%hd %hu %hhd %hhu", 70000, 70000, 300, 300);
	SAME_AS_LIBC("%c%c%% %5c %-3c|", 'a', 'b', 'c', 'd');
	SAME_AS_LIBC("%p %p", (void *)0x1234, (void *)&err);
	SAME_AS_LIBC("%" PRIu64 " %" PRId64 " %" PRIx64 " %0*" PRIu64, UINT64_MAX, INT64_MIN, (uint64_t)48879, 4, (uint64_t)5);
	SAME_AS_LIBC("%s", "a string longer than the buffer: 0123456789012345678901234567890123456789"
		     "0123456789012345678901234567890123456789");
	CHECK(mr_snprintf(NULL, 0, "%s-%d", "abc", 12) == 6);
	CHECK(mr_snprintf(s, 4, "%s", "abcdef") == 6 && !strcmp(s, "abc"));
	CHECK(mr_snprintf(s, 1, "x") == 1 && s[0] == 0);
	{
		char *a = NULL;
		CHECK(mr_asprintf(&a, "%s=%u", "k", 12u) == 4 && a && !strcmp(a, "k=12"));
		free(a);
	}
	{
		static const char *const nums[] = { "0", "42", "  -17x", "+9", "0x1F", "0X", "017", "-0x10",
			"18446744073709551615", "18446744073709551616", "-1", "9223372036854775807",
			"9223372036854775808", "-9223372036854775808", "-9223372036854775809", "", "zz", "4294967296" };
		static const int bases[] = { 0, 10, 16, 8 };
		int base_i, neq = 0, arr[] = { 5, 3, 9, 1, 3, 0, 7 };
		size_t k;
		for (k = 0; k < sizeof nums / sizeof nums[0]; k++)
			for (base_i = 0; base_i < 4; base_i++) {
				char *e1, *e2;
				int base = bases[base_i], er1, er2;
				unsigned long long u1, u2;
				long long i1, i2;
				unsigned long ul1, ul2;
				long l1, l2;
				errno = 0; u1 = strtoull(nums[k], &e1, base); er1 = errno;
				errno = 0; u2 = util_strtou(nums[k], &e2, base, ULLONG_MAX); er2 = errno;
				neq += u1 != u2 || e1 != e2 || unit_errno_differs(er1, er2, e1, nums[k]);
				errno = 0; i1 = strtoll(nums[k], &e1, base); er1 = errno;
				errno = 0; i2 = util_strtoi(nums[k], &e2, base, LLONG_MIN, LLONG_MAX); er2 = errno;
				neq += i1 != i2 || e1 != e2 || unit_errno_differs(er1, er2, e1, nums[k]);
				errno = 0; ul1 = strtoul(nums[k], &e1, base); er1 = errno;
				errno = 0; ul2 = (unsigned long)util_strtou(nums[k], &e2, base, ULONG_MAX); er2 = errno;
				neq += ul1 != ul2 || e1 != e2 || unit_errno_differs(er1, er2, e1, nums[k]);
				errno = 0; l1 = strtol(nums[k], &e1, base); er1 = errno;
				errno = 0; l2 = (long)util_strtoi(nums[k], &e2, base, LONG_MIN, LONG_MAX); er2 = errno;
				neq += l1 != l2 || e1 != e2 || unit_errno_differs(er1, er2, e1, nums[k]);
				if (neq)
					fprintf(stderr, "  strto* differ from libc on \"%s\" base %d\n", nums[k], base), neq = 0,
						unit_failed++;
			}
		CHECK(util_strtoi("123", NULL, 10, INT_MIN, INT_MAX) == 123);
		util_sort(arr, 7, sizeof arr[0], unit_int_cmp);
		CHECK(arr[0] == 0 && arr[1] == 1 && arr[2] == 3 && arr[3] == 3 && arr[4] == 5 && arr[6] == 9);
		CHECK(util_strstr("hello world", "o w") && !strcmp(util_strstr("hello world", "o w"), "o world"));
		CHECK(util_strstr("abc", "") && !util_strstr("abc", "abcd") && !util_strstr("", "a"));
	}
	cli_bytes_size(0, s, sizeof s);
	CHECK(!strcmp(s, "0B"));
	cli_bytes_size(512, s, sizeof s);
	CHECK(!strcmp(s, "512B"));
	cli_bytes_size(1536, s, sizeof s);
	CHECK(!strcmp(s, "1.5KiB"));
	cli_bytes_size(3 * 1048576 + 123456, s, sizeof s);          /* %.4g of 3.11773681640625 */
	CHECK(!strcmp(s, "3.118MiB"));
	cli_bytes_size((uint64_t)1023 * 1048576 + 1048000, s, sizeof s);
	CHECK(!strcmp(s, "1024MiB"));
	cli_bytes_size((uint64_t)123456789, s, sizeof s);           /* 117.737... */
	CHECK(!strcmp(s, "117.7MiB"));
	cli_percent(1, 3, s, sizeof s);
	CHECK(!strcmp(s, "33.33%"));
	cli_percent(5, 0, s, sizeof s);
	CHECK(!strcmp(s, "0.00%"));

	util_human_size(0, s, sizeof s);
	CHECK(!strcmp(s, "0B"));
	util_human_size(4261000, s, sizeof s);
	CHECK(!strcmp(s, "4.26MB"));
	util_human_size(4261000, s, 4);         /* cut as snprintf cuts the whole */
	CHECK(!strcmp(s, "4.2"));
	util_human_size(999, s, sizeof s);
	CHECK(!strcmp(s, "999B"));
	util_human_ago(time(NULL) - 7200, s, sizeof s);
	CHECK(!strcmp(s, "2 hours ago"));
	util_human_ago(time(NULL) - 7200, s, 6);
	CHECK(!strcmp(s, "2 hou"));

	CHECK(mr_err_set(&err, EINVAL, "entry %s: bad", "x") == -1);
	CHECK(mr_err_ctx(&err, "layer %d", 3) == -1);
	CHECK(!strcmp(err.msg, "layer 3: entry x: bad") && err.code == EINVAL);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	mr_err_set(&err, 1, "%s", big);
	mr_err_ctx(&err, "ctx");
	CHECK(strlen(err.msg) == sizeof err.msg - 1 && !strncmp(err.msg, "ctx: aaa", 8));
	/* A context longer than 255 bytes is cut there, the message after it too. */
	mr_err_set(&err, 1, "%s", "msg");
	mr_err_ctx(&err, "%.300s", big);
	CHECK(strlen(err.msg) == 255 + 5 && !strcmp(err.msg + 255, ": msg"));
	mr_err_ctx(&err, "%.300s", big);
	CHECK(strlen(err.msg) == sizeof err.msg - 1 && !strncmp(err.msg + 255, ": aaa", 5));
	errno = ENOENT;
	mr_err_sys(&err, "open %s", "f");
	CHECK(err.code == ENOENT && strstr(err.msg, "open f: ") == err.msg);

	mr_buf_printf(&b, "%s", big);
	mr_buf_printf(&b, "%d", 42);
	CHECK(b.len == sizeof big + 1 && !strcmp(b.data + sizeof big - 1, "42"));
	mr_buf_free(&b);

	util_time_rfc3339(&ts, s, sizeof s);
	CHECK(!strcmp(s, "1971-01-01T00:00:00.000000005Z"));
	CHECK(util_parse_rfc3339(s, &t) == 0 && t == 86400 * 365);
	CHECK(util_parse_rfc3339("1971-01-01T02:00:00+02:00", &t) == 0 && t == 86400 * 365);
	CHECK(util_parse_rfc3339("garbage", &t) < 0);
	CHECK(mr_digest_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	CHECK(mr_digest_valid("sha256:E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") < 0);
	CHECK(mr_digest_valid("sha256:../../../../etc/passwd") < 0);
	CHECK(mr_digest_valid("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") < 0);
	CHECK(mr_digest_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550") < 0);
	mr_digest_buf("", 0, s);
	CHECK(!strcmp(s, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	tu_digest();
}
