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

static void test_util(void)
{
	struct mr_err err;
	struct mr_buf b = { 0 };
	uint64_t v;
	char s[80], big[600];
	time_t t;
	struct timespec ts = { 86400 * 365, 5 };

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

	util_human_size(0, s, sizeof s);
	CHECK(!strcmp(s, "0B"));
	util_human_size(4261000, s, sizeof s);
	CHECK(!strcmp(s, "4.26MB"));

	CHECK(mr_err_set(&err, EINVAL, "entry %s: bad", "x") == -1);
	CHECK(mr_err_ctx(&err, "layer %d", 3) == -1);
	CHECK(!strcmp(err.msg, "layer 3: entry x: bad") && err.code == EINVAL);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	mr_err_set(&err, 1, "%s", big);
	mr_err_ctx(&err, "ctx");
	CHECK(strlen(err.msg) == sizeof err.msg - 1 && !strncmp(err.msg, "ctx: aaa", 8));
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
