/* Unit tests of sections [06] STREAM and [07] TAR. Run as root: devices,
 * chown and trusted.* xattrs need it. Tars are
 * built in memory by a small writer below; gzip, zstd, GNU tar and bsdtar make
 * the "real producer" inputs when they are installed (else "skipped"). */
/* tt_sh formats shell commands from tables of format strings. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

/* ---- An in-memory stream that returns at most `chunk` bytes per read ---- */
struct tt_mem {
	struct stream s;
	const unsigned char *p;
	size_t len, pos, chunk;
};

static ssize_t tt_mem_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct tt_mem *m = (struct tt_mem *)s;
	(void)err;
	if (n > m->len - m->pos)
		n = m->len - m->pos;
	if (m->chunk && n > m->chunk)
		n = m->chunk;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static void tt_mem_init(struct tt_mem *m, const void *p, size_t len, size_t chunk)
{
	m->s.read = tt_mem_read;
	m->p = p;
	m->len = len;
	m->pos = 0;
	m->chunk = chunk;
}

/* ---- A test-only tar writer ---- */
struct tt_hdr {
	const char *name, *link, *prefix;
	int type, fmt;                  /* fmt: 0 ustar, 1 GNU, 2 v7 */
	unsigned mode, maj, min;
	uint64_t uid, gid, size, mtime;
	int b256;                       /* uid as GNU base-256 */
	int cksum;                      /* 0 right, 1 wrong, 2 signed variant */
};

static void tt_b256(unsigned char *f, size_t n, uint64_t v)
{
	size_t i;
	memset(f, 0, n);
	f[0] = 0x80;
	for (i = 0; i < 8 && i < n - 1; i++)
		f[n - 1 - i] = (unsigned char)(v >> (8 * i));
}

static void tt_header(struct mr_buf *b, const struct tt_hdr *h)
{
	unsigned char k[512];
	char *c = (char *)k;
	unsigned long sum = 0;
	long ssum = 0;
	int i;
	memset(k, 0, sizeof k);
	strncpy(c, h->name, 100);
	snprintf(c + 100, 8, "%07o", h->mode);
	if (h->b256)
		tt_b256(k + 108, 8, h->uid);
	else
		snprintf(c + 108, 8, "%07llo", (unsigned long long)h->uid);
	snprintf(c + 116, 8, "%07llo", (unsigned long long)h->gid);
	if (h->size > 077777777777ull)
		tt_b256(k + 124, 12, h->size);
	else
		snprintf(c + 124, 12, "%011llo", (unsigned long long)h->size);
	snprintf(c + 136, 12, "%011llo", (unsigned long long)h->mtime);
	k[156] = (unsigned char)h->type;
	if (h->link)
		strncpy(c + 157, h->link, 100);
	if (h->fmt == 0)
		memcpy(k + 257, "ustar\0" "00", 8);
	else if (h->fmt == 1)
		memcpy(k + 257, "ustar  ", 8);
	if (h->fmt != 2) {
		strcpy(c + 265, "root");
		strcpy(c + 297, "root");
		snprintf(c + 329, 8, "%07o", h->maj);
		snprintf(c + 337, 8, "%07o", h->min);
		if (h->prefix)
			strncpy(c + 345, h->prefix, 155);
	}
	memset(k + 148, ' ', 8);
	for (i = 0; i < 512; i++) {
		sum += k[i];
		ssum += (signed char)k[i];
	}
	snprintf(c + 148, 7, "%06lo", h->cksum == 2 ? (unsigned long)ssum : sum + (h->cksum == 1));
	mr_buf_append(b, k, 512);
}

static void tt_data(struct mr_buf *b, const void *d, size_t n)
{
	static const char zero[512];
	mr_buf_append(b, d, n);
	mr_buf_append(b, zero, -n & 511);
}

/* An entry with content (regular files) or without. */
static void tt_ent(struct mr_buf *b, int type, const char *name, const char *link,
		   const char *content, unsigned mode)
{
	struct tt_hdr h = { 0 };
	h.name = name;
	h.link = link;
	h.type = type;
	h.mode = mode;
	h.mtime = 1600000000;
	h.size = content ? strlen(content) : 0;
	tt_header(b, &h);
	if (content)
		tt_data(b, content, strlen(content));
}

static void tt_file(struct mr_buf *b, const char *name, const char *content)
{
	tt_ent(b, '0', name, NULL, content, 0644);
}

static void tt_dir(struct mr_buf *b, const char *name)
{
	tt_ent(b, '5', name, NULL, NULL, 0755);
}

/* One pax record "<len> key=value\n". */
static void tt_rec(struct mr_buf *r, const char *key, const char *val, size_t vlen)
{
	size_t n = strlen(key) + vlen + 3, len = n;
	char num[24];
	for (;;) {
		size_t d = (size_t)snprintf(num, sizeof num, "%zu", len);
		if (d + n == len)
			break;
		len = d + n;
	}
	mr_buf_printf(r, "%zu %s=", len, key);
	mr_buf_append(r, val, vlen);
	mr_buf_append(r, "\n", 1);
}

static void tt_pax(struct mr_buf *b, int type, const struct mr_buf *rec)
{
	struct tt_hdr h = { 0 };
	h.name = "PaxHeaders.0/x";
	h.type = type;
	h.mode = 0644;
	h.size = rec->len;
	tt_header(b, &h);
	tt_data(b, rec->data, rec->len);
}

static void tt_pax1(struct mr_buf *b, const char *key, const char *val)
{
	struct mr_buf r = { 0 };
	tt_rec(&r, key, val, strlen(val));
	tt_pax(b, 'x', &r);
	mr_buf_free(&r);
}

static void tt_end(struct mr_buf *b)
{
	static const char zero[1024];
	mr_buf_append(b, zero, sizeof zero);
}

/* ---- Helpers ---- */
static char tt_base[64];        /* /tmp/minirun-tar.XXXXXX: layer/, sentinel/, ... */

static int tt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int tt_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Output of a shell command (for snapshots of trees). */
static void tt_out(struct mr_buf *out, const char *cmd)
{
	char chunk[4096];
	size_t n;
	FILE *f = popen(cmd, "r");
	out->len = 0;
	mr_buf_append(out, NULL, 0);
	if (!f)
		return;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		mr_buf_append(out, chunk, n);
	pclose(f);
}

static int tt_have(const char *tool)
{
	return tt_sh("command -v %s >/dev/null 2>&1", tool) == 0;
}

/* Snapshot of the sentinel folder outside the layer: names, types, modes,
 * owners, sizes, times, link counts and contents. */
static void tt_sentinel(struct mr_buf *out)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cd %s && find sentinel -printf '%%p %%y %%m %%U %%G %%s %%T@ %%C@ "
		 "%%n %%l\\n' | sort && cat sentinel/keep && getfattr -d -m - -R sentinel 2>/dev/null",
		 tt_base);
	tt_out(out, cmd);
}

/* Extract an in-memory tar into a fresh <base>/layer; the rc, err filled. */
static int tt_extract_once(const struct mr_buf *tar, size_t chunk,
			   const struct tar_ring_conf *ring, uint64_t *size, struct mr_err *err)
{
	char path[128];
	struct tt_mem m;
	int fd, rc;
	tt_sh("rm -rf %s/layer && mkdir %s/layer", tt_base, tt_base);
	snprintf(path, sizeof path, "%s/layer", tt_base);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	tt_mem_init(&m, tar->data, tar->len, chunk);
	memset(err, 0, sizeof *err);
	*size = 0;
	rc = tar_extract_layer_ring(&m.s, fd, NULL, size, ring, err);
	if (rc == 0 && m.pos != m.len)
		rc = 99;        /* the whole input must be read */
	close(fd);
	return rc;
}

/* Both ways: in this process, then through the helper process and a ring of
 * slots small enough to end inside headers and to go round: the same result
 * and the same error. The layer left is the helper's. */
static int tt_extract_n(const struct mr_buf *tar, size_t chunk, uint64_t *size,
			struct mr_err *err)
{
	static const struct tar_ring_conf here_conf = { 0, 0, 0 }, small = { 1, 3, 1000 };
	struct mr_err here;
	uint64_t sz_here, sz;
	int rc_here, rc;
	rc_here = tt_extract_once(tar, chunk, &here_conf, &sz_here, &here);
	rc = tt_extract_once(tar, chunk, &small, &sz, err);
	CHECK(rc == rc_here && (rc || sz == sz_here) && !strcmp(err->msg, here.msg));
	if (rc != rc_here || (!rc && sz != sz_here) || strcmp(err->msg, here.msg))
		printf("  in this process: %d %s; with a helper: %d %s\n", rc_here, here.msg, rc,
		       err->msg);
	if (size)
		*size = sz;
	return rc;
}

static int tt_extract(const struct mr_buf *tar, struct mr_err *err)
{
	return tt_extract_n(tar, 0, NULL, err);
}

static int tt_lstat(const char *rel, struct stat *st)
{
	char path[512];
	snprintf(path, sizeof path, "%s/layer/%s", tt_base, rel);
	return lstat(path, st);
}

static int tt_read(const char *dir, const char *rel, char *buf, size_t size)
{
	char path[512];
	ssize_t n;
	int fd;
	snprintf(path, sizeof path, "%s/%s/%s", tt_base, dir, rel);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static int tt_content(const char *rel, const char *want)
{
	char buf[4096];
	return tt_read("layer", rel, buf, sizeof buf) == 0 && !strcmp(buf, want);
}

static ssize_t tt_getx(const char *dir, const char *rel, const char *key, char *buf, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s/%s", tt_base, dir, rel);
	return lgetxattr(path, key, buf, n);
}

/* A hostile archive: extraction fails, the message names `entry` (and has
 * `why` when given), and nothing outside the layer changed. */
static int tt_hostile(const struct mr_buf *tar, const char *entry, const char *why)
{
	struct mr_buf before = { 0 }, after = { 0 };
	struct mr_err err;
	char want[600];
	int rc, ok;
	tt_sentinel(&before);
	rc = tt_extract(tar, &err);
	tt_sentinel(&after);
	snprintf(want, sizeof want, "entry %s", entry);
	ok = rc < 0 && strstr(err.msg, want) && (!why || strstr(err.msg, why)) &&
	     before.len > 0 && after.len == before.len && !memcmp(before.data, after.data, after.len);
	if (!ok)
		printf("  hostile %s: rc %d, msg <%s>, sentinel %s\n", entry, rc, err.msg,
		       after.len == before.len && !memcmp(before.data, after.data, after.len) ?
		       "same" : "CHANGED");
	mr_buf_free(&before);
	mr_buf_free(&after);
	return ok;
}

/* An archive that must extract and leave everything outside the layer alone. */
static int tt_harmless(const struct mr_buf *tar)
{
	struct mr_buf before = { 0 }, after = { 0 };
	struct mr_err err;
	int rc, ok;
	tt_sentinel(&before);
	rc = tt_extract(tar, &err);
	tt_sentinel(&after);
	ok = rc == 0 && after.len == before.len && !memcmp(before.data, after.data, after.len);
	if (!ok)
		printf("  harmless: rc %d, msg <%s>\n", rc, err.msg);
	mr_buf_free(&before);
	mr_buf_free(&after);
	return ok;
}

/* The reader alone over a buffer: entries into e (the last one), count. */
static int tt_scan(const struct mr_buf *tar, size_t chunk, struct tar_entry *e, int *count,
		   struct mr_err *err)
{
	struct tar_reader r;
	struct tt_mem m;
	int rc;
	tt_mem_init(&m, tar->data, tar->len, chunk);
	tar_reader_init(&r, &m.s);
	*count = 0;
	memset(err, 0, sizeof *err);
	while ((rc = tar_next(&r, e, err)) > 0)
		(*count)++;
	tar_reader_end(&r);
	return rc;
}

/* Error of scanning a tar: 1 when it fails with a message containing both. */
static int tt_scan_fails(const struct mr_buf *tar, const char *a, const char *b)
{
	static struct tar_entry e;
	struct mr_err err;
	int n, rc = tt_scan(tar, 0, &e, &n, &err);
	int ok = rc < 0 && strstr(err.msg, a) && (!b || strstr(err.msg, b));
	if (!ok)
		printf("  scan: rc %d, msg <%s>, want <%s> <%s>\n", rc, err.msg, a, b ? b : "");
	return ok;
}

/* ---- Streams ---- */
static void tt_streams(void)
{
	static const char abc_sha[] =
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	struct tt_mem m;
	struct stream_hash h;
	struct stream_limit l;
	struct stream_decomp d;
	struct mr_err err;
	char buf[64], dig[MR_DIGEST_LEN + 1];

	tt_mem_init(&m, "abc", 3, 1);
	stream_hash_init(&h, &m.s);
	CHECK(stream_read_full(&h.s, buf, sizeof buf, &err) == 3);
	stream_hash_digest(&h, dig);
	CHECK(!strcmp(dig, abc_sha) && h.count == 3 && !mr_digest_valid(dig));

	tt_mem_init(&m, "abcdef", 6, 0);
	stream_limit_init(&l, &m.s, 4);
	CHECK(stream_read_full(&l.s, buf, sizeof buf, &err) == 4 && !memcmp(buf, "abcd", 4));
	CHECK(stream_read(&l.s, buf, 1, &err) == 0);
	tt_mem_init(&m, "ab", 2, 0);
	stream_limit_init(&l, &m.s, 4);
	CHECK(stream_read_full(&l.s, buf, sizeof buf, &err) < 0 && strstr(err.msg, "2 bytes missing"));
	tt_mem_init(&m, "abcdef", 6, 0);
	CHECK(stream_skip(&m.s, 4, &err) == 0 && m.pos == 4);
	CHECK(stream_skip(&m.s, 4, &err) < 0 && strstr(err.msg, "unexpected end"));
	tt_mem_init(&m, "abcdef", 6, 0);
	CHECK(stream_skip(&m.s, UINT64_MAX, &err) == 0 && m.pos == 6);

	/* plain input passes through, even shorter than any magic */
	tt_mem_init(&m, "ab", 2, 1);
	CHECK(stream_decomp_init(&d, &m.s, &err) == 0);
	CHECK(stream_read_full(&d.s, buf, sizeof buf, &err) == 2 && !memcmp(buf, "ab", 2) &&
	      d.format == STREAM_PLAIN);
	stream_decomp_end(&d);
	tt_mem_init(&m, "", 0, 0);
	stream_decomp_init(&d, &m.s, &err);
	CHECK(stream_read(&d.s, buf, sizeof buf, &err) == 0);
	stream_decomp_end(&d);
	tt_mem_init(&m, "hello, plain world", 18, 3);
	stream_decomp_init(&d, &m.s, &err);
	CHECK(stream_read_full(&d.s, buf, sizeof buf, &err) == 18 && !memcmp(buf, "hello, plain world", 18));
	stream_decomp_end(&d);
	stream_decomp_end(&d);          /* twice is harmless */
}

/* Decompress a file through the stream, reading `out` chunks; the bytes
 * into res. */
static int tt_decomp_file(const char *path, size_t chunk, size_t outn, struct mr_buf *res,
			  int *format, struct mr_err *err)
{
	struct mr_buf in = { 0 };
	struct tt_mem m;
	struct stream_decomp d;
	char buf[70000];
	ssize_t r;
	int rc = -1;
	res->len = 0;
	mr_buf_append(res, NULL, 0);
	if (mr_read_file(AT_FDCWD, path, &in, 1u << 30, err))
		return -1;
	tt_mem_init(&m, in.data, in.len, chunk);
	stream_decomp_init(&d, &m.s, err);
	while ((r = stream_read(&d.s, buf, outn, err)) > 0)
		mr_buf_append(res, buf, (size_t)r);
	if (r == 0)
		rc = 0;
	*format = d.format;
	stream_decomp_end(&d);
	mr_buf_free(&in);
	return rc;
}

static void tt_compressed(const char *tool, int fmt)
{
	struct mr_buf orig = { 0 }, res = { 0 };
	struct mr_err err;
	char p[200], q[256];
	int f = -1, i;
	size_t chunks[][2] = { { 0, 65536 }, { 1, 7 }, { 4093, 1 }, { 0, 70000 } };
	if (!tt_have(tool)) {
		UNIT_SKIP("%s streams (no %s command)", tool, tool);
		return;
	}
	/* ~300 KB of half-compressible data, twice the input buffer */
	snprintf(p, sizeof p, "%s/data", tt_base);
	tt_sh("(seq 1 40000; head -c 100000 /dev/urandom) > %s", p);
	mr_read_file(AT_FDCWD, p, &orig, 1u << 30, &err);
	tt_sh("%s -c < %s > %s.1 && %s -c < /dev/null > %s.empty && printf more | %s -c > %s.2 && "
	      "cat %s.1 %s.2 > %s.multi", tool, p, p, tool, p, tool, p, p, p, p);
	if ((fmt == STREAM_GZIP && !MINIRUN_WITH_GZIP) || (fmt == STREAM_ZSTD && !MINIRUN_WITH_ZSTD)) {
		/* compiled out: the stream is refused, naming the flag */
		snprintf(q, sizeof q, "%s.1", p);
		CHECK(tt_decomp_file(q, 0, 65536, &res, &f, &err) < 0 && strstr(err.msg, "built without"));
		mr_buf_free(&orig);
		mr_buf_free(&res);
		return;
	}
	for (i = 0; i < 4; i++) {
		snprintf(q, sizeof q, "%s.1", p);
		CHECK(tt_decomp_file(q, chunks[i][0], chunks[i][1], &res, &f, &err) == 0 &&
		      res.len == orig.len && !memcmp(res.data, orig.data, orig.len) && f == fmt);
	}
	snprintf(q, sizeof q, "%s.empty", p);
	CHECK(tt_decomp_file(q, 0, 100, &res, &f, &err) == 0 && res.len == 0 && f == fmt);
	/* several members / frames */
	snprintf(q, sizeof q, "%s.multi", p);
	CHECK(tt_decomp_file(q, 1000, 65536, &res, &f, &err) == 0 && res.len == orig.len + 4 &&
	      !memcmp(res.data, orig.data, orig.len) && !memcmp(res.data + orig.len, "more", 4));
	/* truncated at several places */
	tt_sh("head -c 20000 %s.1 > %s.t1; head -c $(($(stat -c %%s %s.1) - 3)) %s.1 > %s.t2; "
	      "head -c 12 %s.1 > %s.t3", p, p, p, p, p, p, p);
	for (i = 1; i <= 3; i++) {
		snprintf(q, sizeof q, "%s.t%d", p, i);
		CHECK(tt_decomp_file(q, 0, 65536, &res, &f, &err) < 0 && strstr(err.msg, "truncated"));
		if (!strstr(err.msg, "truncated"))
			printf("  %s truncated %d: %s\n", tool, i, err.msg);
	}
	/* trailing garbage, trailing zeros, corruption in the middle */
	tt_sh("(cat %s.1; printf garbage) > %s.g1; (cat %s.1; head -c 600 /dev/zero) > %s.g2; "
	      "cp %s.1 %s.g3 && printf 'XXXXXXXXXXXXXXXX' | dd of=%s.g3 bs=1 seek=30000 conv=notrunc "
	      "2>/dev/null", p, p, p, p, p, p, p);
	for (i = 1; i <= 3; i++) {
		snprintf(q, sizeof q, "%s.g%d", p, i);
		CHECK(tt_decomp_file(q, 0, 65536, &res, &f, &err) < 0 &&
		      (!strncmp(err.msg, tool, 4) || strstr(err.msg, "trailing garbage")));
		if (strncmp(err.msg, tool, 4) && !strstr(err.msg, "trailing garbage"))
			printf("  %s garbage %d: %s\n", tool, i, err.msg);
	}
	mr_buf_free(&orig);
	mr_buf_free(&res);
}

/* ---- The reader ---- */
static void tt_reader(void)
{
	static struct tar_entry e;
	struct mr_buf b = { 0 }, r = { 0 };
	struct tar_reader rd;
	struct tt_mem m;
	struct mr_err err;
	struct tt_hdr h = { 0 };
	char buf[8192], longname[400], longlink[300];
	int n, i;
	size_t chunk;

	/* ustar basics, every chunking of the input */
	tt_ent(&b, '0', "./dir//a.txt", NULL, "hello", 04755);
	tt_ent(&b, '5', "./dir/sub/", NULL, NULL, 01777);
	tt_ent(&b, '2', "dir/sym", "../x/y", NULL, 0777);
	tt_ent(&b, '1', "dir/hard", "./dir//a.txt", NULL, 0644);
	h = (struct tt_hdr){ .name = "dev/null", .type = '3', .mode = 0666, .maj = 1, .min = 3 };
	tt_header(&b, &h);
	tt_ent(&b, '7', "contig", NULL, "c", 0600);
	tt_ent(&b, 0, "areg", NULL, "d", 0600);
	tt_ent(&b, '5', "./", NULL, NULL, 0755);
	tt_end(&b);
	for (chunk = 0; chunk < 600; chunk = chunk ? chunk * 7 : 1) {
		tt_mem_init(&m, b.data, b.len, chunk);
		tar_reader_init(&rd, &m.s);
		CHECK(tar_next(&rd, &e, &err) == 1 && !strcmp(e.path, "dir/a.txt") &&
		      e.type == TAR_REG && e.mode == 04755 && e.size == 5 &&
		      e.mtime.tv_sec == 1600000000 && !e.unsafe);
		CHECK(stream_read_full(tar_data_stream(&rd), buf, sizeof buf, &err) == 5 &&
		      !memcmp(buf, "hello", 5));
		CHECK(tar_next(&rd, &e, &err) == 1 && !strcmp(e.path, "dir/sub") &&
		      e.type == TAR_DIR && e.mode == 01777);
		CHECK(tar_next(&rd, &e, &err) == 1 && e.type == TAR_SYMLINK &&
		      !strcmp(e.link, "../x/y") && !e.unsafe);
		CHECK(tar_next(&rd, &e, &err) == 1 && e.type == TAR_LINK && !strcmp(e.link, "dir/a.txt"));
		CHECK(tar_next(&rd, &e, &err) == 1 && e.type == TAR_CHR && e.devmajor == 1 &&
		      e.devminor == 3 && e.mode == 0666);
		CHECK(tar_next(&rd, &e, &err) == 1 && e.type == TAR_REG && !strcmp(e.path, "contig"));
		CHECK(tar_next(&rd, &e, &err) == 1 && e.type == TAR_REG && !strcmp(e.path, "areg"));
		CHECK(tar_next(&rd, &e, &err) == 1 && e.type == TAR_DIR && !strcmp(e.path, ""));
		CHECK(tar_next(&rd, &e, &err) == 0);
		tar_reader_end(&rd);
	}

	/* unread content is skipped; no end blocks (umoci) is a clean end */
	b.len = 0;
	tt_file(&b, "one", "first content");
	tt_file(&b, "two", "second");
	CHECK(tt_scan(&b, 0, &e, &n, &err) == 0 && n == 2 && !strcmp(e.path, "two"));
	/* a lone zero block at the end is an end; followed by data it is not */
	mr_buf_append(&b, buf, 0);
	memset(buf, 0, 512);
	mr_buf_append(&b, buf, 512);
	CHECK(tt_scan(&b, 0, &e, &n, &err) == 0 && n == 2);
	tt_file(&b, "three", "x");
	CHECK(tt_scan_fails(&b, "lone zero block", NULL));

	/* ustar prefix, GNU long names and base-256, v7, signed checksum */
	b.len = 0;
	h = (struct tt_hdr){ .name = "file", .prefix = "p1/p2", .type = '0', .mode = 0644 };
	tt_header(&b, &h);
	memset(longname, 'n', sizeof longname);
	memcpy(longname, "deep/", 5);
	longname[sizeof longname - 1] = 0;
	memset(longlink, 'l', sizeof longlink);
	longlink[sizeof longlink - 1] = 0;
	h = (struct tt_hdr){ .name = "././@LongLink", .type = 'L', .fmt = 1,
			     .size = strlen(longname) + 1 };
	tt_header(&b, &h);
	tt_data(&b, longname, strlen(longname) + 1);
	h.type = 'K';
	h.size = strlen(longlink) + 1;
	tt_header(&b, &h);
	tt_data(&b, longlink, strlen(longlink) + 1);
	h = (struct tt_hdr){ .name = "truncated-name", .type = '2', .fmt = 1, .mode = 0777,
			     .uid = 3000000000u, .b256 = 1, .link = "short" };
	tt_header(&b, &h);
	h = (struct tt_hdr){ .name = "old/", .type = 0, .fmt = 2, .mode = 0755, .uid = 5 };
	tt_header(&b, &h);
	h = (struct tt_hdr){ .name = "caf\xe9", .type = '0', .mode = 0644, .cksum = 2 };
	tt_header(&b, &h);
	tt_end(&b);
	tt_mem_init(&m, b.data, b.len, 0);
	tar_reader_init(&rd, &m.s);
	CHECK(tar_next(&rd, &e, &err) == 1 && !strcmp(e.path, "p1/p2/file"));
	CHECK(tar_next(&rd, &e, &err) == 1 && !strcmp(e.path, longname) &&
	      !strcmp(e.link, longlink) && e.uid == 3000000000u && e.type == TAR_SYMLINK);
	CHECK(tar_next(&rd, &e, &err) == 1 && !strcmp(e.path, "old") && e.type == TAR_DIR &&
	      e.uid == 5);
	CHECK(tar_next(&rd, &e, &err) == 1 && !strcmp(e.path, "caf\xe9"));
	CHECK(tar_next(&rd, &e, &err) == 0);
	tar_reader_end(&rd);

	/* pax: every key, global headers, xattrs in both spellings */
	b.len = 0;
	r.len = 0;
	tt_rec(&r, "uid", "77", 2);
	tt_rec(&r, "comment", "global", 6);
	tt_pax(&b, 'g', &r);
	r.len = 0;
	memset(buf, 'p', 300);
	memcpy(buf, "pax/", 4);
	buf[300] = 0;
	tt_rec(&r, "path", buf, 300);
	tt_rec(&r, "linkpath", "/abs/target", 11);
	tt_rec(&r, "size", "3", 1);
	tt_rec(&r, "gid", "4000000000", 10);
	tt_rec(&r, "mtime", "1700000000.123456789123", 23);
	tt_rec(&r, "atime", "1.5", 3);
	tt_rec(&r, "uname", "who", 3);
	tt_rec(&r, "SCHILY.xattr.user.bin", "a\0b\nc", 5);
	tt_rec(&r, "LIBARCHIVE.xattr.user.%41b", "eHl6", 4);      /* "xyz" */
	tt_rec(&r, "SCHILY.xattr.user.Ab", "xyz", 3);            /* the same one again */
	tt_pax(&b, 'x', &r);
	h = (struct tt_hdr){ .name = "ignored", .type = '0', .mode = 0600, .size = 999, .uid = 5 };
	tt_header(&b, &h);
	tt_data(&b, "abc", 3);
	tt_pax1(&b, "mtime", "-1.25");
	tt_file(&b, "frac", "");
	tt_pax1(&b, "mtime", "7.05");
	tt_file(&b, "after", "z");
	tt_end(&b);
	tt_mem_init(&m, b.data, b.len, 5);
	tar_reader_init(&rd, &m.s);
	CHECK(tar_next(&rd, &e, &err) == 1 && !strcmp(e.path, buf) &&
	      !strcmp(e.link, "/abs/target") && e.size == 3 && e.uid == 77 &&
	      e.gid == 4000000000u && e.mtime.tv_sec == 1700000000 &&
	      e.mtime.tv_nsec == 123456789 && e.nxattr == 2);
	CHECK(e.nxattr == 2 && !strcmp(e.xattr[0].name, "user.bin") && e.xattr[0].len == 5 &&
	      !memcmp(e.xattr[0].value, "a\0b\nc", 5) && !strcmp(e.xattr[1].name, "user.Ab") &&
	      e.xattr[1].len == 3 && !memcmp(e.xattr[1].value, "xyz", 3));
	CHECK(stream_read_full(tar_data_stream(&rd), buf, sizeof buf, &err) == 3 &&
	      !memcmp(buf, "abc", 3));
	CHECK(tar_next(&rd, &e, &err) == 1 && !strcmp(e.path, "frac") && e.uid == 77 &&
	      e.mtime.tv_sec == -2 && e.mtime.tv_nsec == 750000000 && e.nxattr == 0);
	CHECK(tar_next(&rd, &e, &err) == 1 && !strcmp(e.path, "after") &&
	      e.mtime.tv_sec == 7 && e.mtime.tv_nsec == 50000000);
	CHECK(tar_next(&rd, &e, &err) == 0);
	tar_reader_end(&rd);

	/* normalisation and unsafe paths */
	{
		static const char *const in[][2] = {
			{ "./a//b/./c/", "a/b/c" }, { "./", "" }, { ".", "" }, { "..foo/x..", "..foo/x.." },
			{ "/etc/passwd", NULL }, { "a/../b", NULL }, { "..", NULL }, { "x/..", NULL },
			{ "../../x", NULL }, { "//x", NULL },
		};
		for (i = 0; i < (int)(sizeof in / sizeof in[0]); i++) {
			b.len = 0;
			tt_file(&b, in[i][0], "");
			CHECK(tt_scan(&b, 0, &e, &n, &err) == 0 && n == 1 &&
			      (in[i][1] ? !e.unsafe && !strcmp(e.path, in[i][1]) :
			       e.unsafe == TAR_UNSAFE_PATH && !strcmp(e.path, in[i][0])));
		}
		b.len = 0;
		tt_ent(&b, '1', "ok", "../../etc/shadow", NULL, 0644);
		CHECK(tt_scan(&b, 0, &e, &n, &err) == 0 && e.unsafe == TAR_UNSAFE_LINK);
		b.len = 0;
		tt_ent(&b, '2', "ok", "../../etc/shadow", NULL, 0644);
		CHECK(tt_scan(&b, 0, &e, &n, &err) == 0 && e.unsafe == 0);
	}

	/* malformed archives: errors name the entry */
	b.len = 0;
	h = (struct tt_hdr){ .name = "badsum", .type = '0', .cksum = 1 };
	tt_header(&b, &h);
	CHECK(tt_scan_fails(&b, "entry badsum", "checksum"));
	b.len = 0;
	mr_buf_append(&b, "garbage that is not a tar at all", 32);
	CHECK(tt_scan_fails(&b, "unexpected end", NULL));
	memset(buf, 0xff, 512);
	b.len = 0;
	mr_buf_append(&b, buf, 512);
	CHECK(tt_scan_fails(&b, "checksum", NULL));
	b.len = 0;
	tt_file(&b, "whole", "x");
	b.len -= 700;           /* inside the header */
	CHECK(tt_scan_fails(&b, "unexpected end", NULL));
	b.len = 0;
	h = (struct tt_hdr){ .name = "huge", .type = '0', .size = 1ull << 62 };
	tt_header(&b, &h);
	CHECK(tt_scan_fails(&b, "entry huge", "numeric"));
	b.len = 0;
	tt_ent(&b, 'Z', "odd", NULL, NULL, 0644);
	CHECK(tt_scan_fails(&b, "entry odd", "type 'Z'"));
	b.len = 0;
	tt_ent(&b, 'S', "sparse", NULL, NULL, 0644);
	CHECK(tt_scan_fails(&b, "entry sparse", "sparse"));
	b.len = 0;
	tt_pax1(&b, "GNU.sparse.major", "1");
	tt_file(&b, "gsparse", "");
	CHECK(tt_scan_fails(&b, "entry gsparse", "sparse"));
	{
		static const char *const bad[] = { "5 a=b\n", "abc", "3 a=b\n", "7 ab\n", "99 a=b\n",
						   "6 a=b ", " 6 a=b\n" };
		for (i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
			b.len = 0;
			r.len = 0;
			mr_buf_append(&r, bad[i], strlen(bad[i]));
			tt_pax(&b, 'x', &r);
			tt_file(&b, "paxbad", "");
			CHECK(tt_scan_fails(&b, "entry paxbad", "malformed pax"));
		}
	}
	b.len = 0;
	memset(buf, 'q', 5000);
	buf[5000] = 0;
	tt_pax1(&b, "path", buf);
	tt_file(&b, "toolong", "");
	CHECK(tt_scan_fails(&b, "entry toolong", "pax path"));
	b.len = 0;
	h = (struct tt_hdr){ .name = "././@LongLink", .type = 'L', .fmt = 1, .size = 5001 };
	tt_header(&b, &h);
	tt_data(&b, buf, 5001);
	tt_file(&b, "x", "");
	CHECK(tt_scan_fails(&b, "long name longer", NULL));
	b.len = 0;
	tt_pax1(&b, "uid", "4294967295");
	tt_file(&b, "uidmax", "");
	CHECK(tt_scan_fails(&b, "entry uidmax", "uid"));
	b.len = 0;
	r.len = 0;
	for (i = 0; i < 40; i++) {
		char k[64];
		snprintf(k, sizeof k, "SCHILY.xattr.user.n%d", i);
		tt_rec(&r, k, "v", 1);
	}
	tt_pax(&b, 'x', &r);
	tt_file(&b, "manyx", "");
	CHECK(tt_scan_fails(&b, "entry manyx", "too many"));
	b.len = 0;
	r.len = 0;
	{
		static char big[70000];
		memset(big, 'v', sizeof big);
		tt_rec(&r, "SCHILY.xattr.user.big", big, sizeof big);
	}
	tt_pax(&b, 'x', &r);
	tt_file(&b, "bigpax", "");
	CHECK(tt_scan_fails(&b, "pax header larger", NULL));
	b.len = 0;
	tt_pax1(&b, "LIBARCHIVE.xattr.user.x", "!!!!");
	tt_file(&b, "b64", "");
	CHECK(tt_scan_fails(&b, "entry b64", "xattr"));
	b.len = 0;
	tt_pax1(&b, "mtime", "12x");
	tt_file(&b, "badtime", "");
	CHECK(tt_scan_fails(&b, "entry badtime", "mtime"));
	b.len = 0;
	tt_pax1(&b, "path", "x");       /* a pax header and then nothing */
	CHECK(tt_scan_fails(&b, "unexpected end", NULL));
	/* content shorter than its size */
	b.len = 0;
	tt_file(&b, "short", "0123456789");
	b.len -= 512;
	mr_buf_append(&b, "01234", 5);
	tt_mem_init(&m, b.data, b.len, 0);
	tar_reader_init(&rd, &m.s);
	CHECK(tar_next(&rd, &e, &err) == 1 &&
	      stream_read_full(tar_data_stream(&rd), buf, sizeof buf, &err) < 0 &&
	      strstr(err.msg, "5 bytes missing"));
	tar_reader_end(&rd);
	mr_buf_free(&b);
	mr_buf_free(&r);
}

/* ---- Extraction ---- */
static void tt_extract_normal(void)
{
	static const unsigned char cap[20] = { 1, 0, 0, 2, 0, 0x20, 0 };   /* cap_net_raw+ep */
	struct mr_buf b = { 0 }, r = { 0 };
	struct mr_err err;
	struct tt_hdr h;
	struct stat st, st2;
	char v[64];
	uint64_t size = 0;
	size_t chunk;

	h = (struct tt_hdr){ .name = "./", .type = '5', .mode = 0751, .mtime = 1000, .uid = 3 };
	tt_header(&b, &h);
	h = (struct tt_hdr){ .name = "./d/", .type = '5', .mode = 0700, .mtime = 2000, .uid = 1000,
			     .gid = 1001 };
	tt_header(&b, &h);
	tt_rec(&r, "SCHILY.xattr.security.capability", (const char *)cap, sizeof cap);
	tt_rec(&r, "SCHILY.xattr.user.note", "hi", 2);
	tt_rec(&r, "SCHILY.xattr.trusted.overlay.opaque", "y", 1);
	tt_rec(&r, "SCHILY.xattr.trusted.overlay.redirect", "/etc", 4);
	tt_rec(&r, "mtime", "1234.5", 6);
	tt_pax(&b, 'x', &r);
	h = (struct tt_hdr){ .name = "d/ping", .type = '0', .mode = 04755, .uid = 1000, .gid = 1000,
			     .size = 4 };
	tt_header(&b, &h);
	tt_data(&b, "ping", 4);
	tt_ent(&b, '1', "d/ping2", "d/ping", NULL, 0);
	tt_ent(&b, '2', "d/sym", "/etc/passwd", NULL, 0777);
	h = (struct tt_hdr){ .name = "d/null", .type = '3', .mode = 0666, .maj = 1, .min = 3 };
	tt_header(&b, &h);
	h = (struct tt_hdr){ .name = "d/loop0", .type = '4', .mode = 0660, .maj = 7, .min = 0,
			     .gid = 6 };
	tt_header(&b, &h);
	h = (struct tt_hdr){ .name = "d/fifo", .type = '6', .mode = 0620, .mtime = 77 };
	tt_header(&b, &h);
	h = (struct tt_hdr){ .name = "d/sub/", .type = '5', .mode = 02775, .mtime = 3000 };
	tt_header(&b, &h);
	tt_file(&b, "d/sub/f", "in sub");
	tt_file(&b, "d/after", "back in d");            /* d's mtime must still be 2000 */
	tt_file(&b, "implicit/a/b/c", "parents made");
	tt_ent(&b, '0', "sticky", NULL, "", 01777);
	tt_end(&b);
	memset(v, 0, sizeof v);
	mr_buf_append(&b, v, 64);       /* junk after the end blocks is read (hashed) */
	for (chunk = 0; chunk < 2000; chunk = chunk ? chunk * 13 : 1) {
		CHECK(tt_extract_n(&b, chunk, &size, &err) == 0);
		if (err.msg[0])
			printf("  extract: %s\n", err.msg);
	}
	CHECK(size == 4 + 6 + 9 + 12);
	CHECK(!tt_lstat("", &st) && (st.st_mode & 07777) == 0751 && st.st_uid == 3 &&
	      st.st_mtime == 1000);
	CHECK(!tt_lstat("d", &st) && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700 &&
	      st.st_uid == 1000 && st.st_gid == 1001 && st.st_mtime == 2000);
	CHECK(!tt_lstat("d/ping", &st) && (st.st_mode & 07777) == 04755 && st.st_uid == 1000 &&
	      st.st_nlink == 2 && st.st_mtime == 1234 && st.st_mtim.tv_nsec == 500000000);
	CHECK(tt_content("d/ping", "ping"));
	CHECK(tt_getx("layer", "d/ping", "security.capability", v, sizeof v) == sizeof cap &&
	      !memcmp(v, cap, sizeof cap));
	CHECK(tt_getx("layer", "d/ping", "user.note", v, sizeof v) == 2 && !memcmp(v, "hi", 2));
	CHECK(tt_getx("layer", "d/ping", "trusted.overlay.opaque", v, sizeof v) < 0);
	CHECK(tt_getx("layer", "d/ping", "trusted.overlay.redirect", v, sizeof v) < 0);
	CHECK(!tt_lstat("d/ping2", &st2) && st2.st_ino == st.st_ino);
	CHECK(!tt_lstat("d/sym", &st) && S_ISLNK(st.st_mode) && st.st_mtime == 1600000000);
	CHECK(!tt_lstat("d/null", &st) && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) &&
	      (st.st_mode & 07777) == 0666);
	CHECK(!tt_lstat("d/loop0", &st) && S_ISBLK(st.st_mode) && st.st_rdev == makedev(7, 0) &&
	      st.st_gid == 6 && (st.st_mode & 07777) == 0660);
	CHECK(!tt_lstat("d/fifo", &st) && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0620 &&
	      st.st_mtime == 77);
	CHECK(!tt_lstat("d/sub", &st) && (st.st_mode & 07777) == 02775 && st.st_mtime == 3000);
	CHECK(tt_content("d/sub/f", "in sub") && tt_content("d/after", "back in d"));
	CHECK(!tt_lstat("implicit/a/b", &st) && S_ISDIR(st.st_mode) &&
	      tt_content("implicit/a/b/c", "parents made"));
	CHECK(!tt_lstat("sticky", &st) && (st.st_mode & 07777) == 01777);
	mr_buf_free(&b);
	mr_buf_free(&r);
}

static void tt_extract_replace(void)
{
	struct mr_buf b = { 0 };
	struct mr_err err;
	struct stat st;
	char v[8];
	/* later entries replace earlier ones, whatever the types */
	tt_file(&b, "a", "file");
	tt_dir(&b, "a");
	tt_file(&b, "a/in", "x");
	tt_dir(&b, "t");
	tt_file(&b, "t/deep/er", "x");
	tt_file(&b, "t", "now a file");
	tt_file(&b, "s", "file");
	tt_ent(&b, '2', "s", "target", NULL, 0777);
	tt_ent(&b, '2', "f", "../sentinel/keep", NULL, 0777);
	tt_file(&b, "f", "not through the symlink");
	tt_ent(&b, '2', "g", "../sentinel", NULL, 0777);
	tt_ent(&b, '5', "g", NULL, NULL, 0700);         /* chmod must not reach sentinel */
	tt_ent(&b, '5', "h", NULL, NULL, 0700);
	tt_file(&b, "h/kept", "kept");
	tt_ent(&b, '5', "h", NULL, NULL, 0750);         /* metadata only */
	tt_file(&b, "n", "x");
	tt_ent(&b, '3', "n", NULL, NULL, 0600);
	/* whiteouts */
	tt_file(&b, "w/gone", "x");
	tt_file(&b, "w/.wh.gone", "");
	tt_dir(&b, "w/tree");
	tt_file(&b, "w/tree/x", "x");
	tt_file(&b, "w/.wh.tree", "");
	tt_file(&b, ".wh.top", "");
	tt_file(&b, "o/.wh..wh..opq", "");
	tt_file(&b, "o/new", "x");
	tt_file(&b, "p/.wh..wh.plnk", "");
	tt_file(&b, ".wh..wh..opq", "");
	tt_end(&b);
	CHECK(tt_extract(&b, &err) == 0);
	if (err.msg[0])
		printf("  replace: %s\n", err.msg);
	CHECK(!tt_lstat("a", &st) && S_ISDIR(st.st_mode) && tt_content("a/in", "x"));
	CHECK(!tt_lstat("t", &st) && S_ISREG(st.st_mode) && tt_content("t", "now a file"));
	CHECK(!tt_lstat("s", &st) && S_ISLNK(st.st_mode));
	CHECK(tt_content("f", "not through the symlink") &&
	      tt_read("sentinel", "keep", v, sizeof v) == 0 && !strcmp(v, "orig"));
	CHECK(!tt_lstat("g", &st) && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	CHECK(!tt_lstat("h", &st) && (st.st_mode & 0777) == 0750 && tt_content("h/kept", "kept"));
	CHECK(!tt_lstat("n", &st) && S_ISCHR(st.st_mode));
	CHECK(!tt_lstat("w/gone", &st) && S_ISCHR(st.st_mode) && st.st_rdev == 0);
	CHECK(!tt_lstat("w/tree", &st) && S_ISCHR(st.st_mode) && st.st_rdev == 0);
	CHECK(!tt_lstat("top", &st) && S_ISCHR(st.st_mode) && st.st_rdev == 0);
	CHECK(tt_lstat(".wh.top", &st) < 0 && tt_lstat("w/.wh.gone", &st) < 0);
	CHECK(tt_getx("layer", "o", "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y' &&
	      tt_content("o/new", "x") && tt_lstat("o/.wh..wh..opq", &st) < 0);
	CHECK(tt_getx("layer", "", "trusted.overlay.opaque", v, sizeof v) == 1);
	CHECK(!tt_lstat("p", &st) && tt_lstat("p/.wh..wh.plnk", &st) < 0);
	mr_buf_free(&b);
}

static void tt_extract_hostile(void)
{
	struct mr_buf b = { 0 };
	char abs[256];
	struct tt_hdr h;

	tt_file(&b, "../sentinel/pwned", "x");
	CHECK(tt_hostile(&b, "../sentinel/pwned", "\"..\""));
	b.len = 0;
	snprintf(abs, sizeof abs, "%s/sentinel/pwned", tt_base);
	tt_file(&b, abs, "x");
	CHECK(tt_hostile(&b, abs, "absolute"));
	b.len = 0;
	tt_dir(&b, "ok");
	tt_file(&b, "ok/../../sentinel/keep", "x");
	CHECK(tt_hostile(&b, "ok/../../sentinel/keep", NULL));
	/* a symlink planted by an earlier entry as a parent */
	b.len = 0;
	tt_ent(&b, '2', "evil", "../sentinel", NULL, 0777);
	tt_file(&b, "evil/pwned", "x");
	CHECK(tt_hostile(&b, "evil/pwned", "parent evil is a symlink"));
	b.len = 0;
	snprintf(abs, sizeof abs, "%s/sentinel", tt_base);
	tt_dir(&b, "a");
	tt_ent(&b, '2', "a/evil", abs, NULL, 0777);
	tt_dir(&b, "a/evil/sub");
	CHECK(tt_hostile(&b, "a/evil/sub", "parent a/evil is a symlink"));
	b.len = 0;
	tt_ent(&b, '2', "evil", "../sentinel", NULL, 0777);
	tt_file(&b, "evil/.wh.keep", "");
	CHECK(tt_hostile(&b, "evil/.wh.keep", "symlink"));
	b.len = 0;
	tt_ent(&b, '2', "evil", "../sentinel", NULL, 0777);
	tt_file(&b, "evil/.wh..wh..opq", "");
	CHECK(tt_hostile(&b, "evil/.wh..wh..opq", "symlink"));
	b.len = 0;
	tt_ent(&b, '2', "evil", "../sentinel", NULL, 0777);
	tt_ent(&b, '1', "evil/keep2", "evil/keep", NULL, 0);
	CHECK(tt_hostile(&b, "evil/keep2", "symlink"));
	b.len = 0;
	tt_file(&b, "f", "x");
	tt_file(&b, "f/x", "x");
	CHECK(tt_hostile(&b, "f/x", "parent f is not a folder"));
	/* hardlinks: only to files of this layer, found without following */
	b.len = 0;
	tt_ent(&b, '1', "h", "../sentinel/keep", NULL, 0);
	CHECK(tt_hostile(&b, "h", "leaves the layer"));
	b.len = 0;
	snprintf(abs, sizeof abs, "%s/sentinel/keep", tt_base);
	tt_ent(&b, '1', "h", abs, NULL, 0);
	CHECK(tt_hostile(&b, "h", "leaves the layer"));
	b.len = 0;
	tt_ent(&b, '2', "evil", "../sentinel", NULL, 0777);
	tt_ent(&b, '1', "h", "evil/keep", NULL, 0);
	CHECK(tt_hostile(&b, "h", "not a file of this layer"));
	b.len = 0;
	tt_ent(&b, '2', "evil", "../sentinel/keep", NULL, 0777);
	tt_ent(&b, '1', "h", "evil", NULL, 0);          /* a link to the symlink itself: fine */
	tt_file(&b, "h", "replaced, not written through");
	CHECK(tt_harmless(&b));
	b.len = 0;
	tt_ent(&b, '1', "h", "nothing", NULL, 0);
	CHECK(tt_hostile(&b, "h", "not a file of this layer"));
	b.len = 0;
	tt_dir(&b, "dir");
	tt_ent(&b, '1', "h", "dir", NULL, 0);
	CHECK(tt_hostile(&b, "h", "not a file of this layer"));
	b.len = 0;
	tt_ent(&b, '1', "h", "./", NULL, 0);
	CHECK(tt_hostile(&b, "h", "not a file of this layer"));
	/* the root as anything but a folder */
	b.len = 0;
	tt_ent(&b, '2', ".", "../sentinel", NULL, 0777);
	CHECK(tt_hostile(&b, ".", "root"));
	b.len = 0;
	tt_ent(&b, '2', "./", "/", NULL, 0777);
	CHECK(tt_hostile(&b, ".", "root"));
	b.len = 0;
	tt_ent(&b, '0', "", NULL, "x", 0644);
	CHECK(tt_hostile(&b, ".", "root"));
	b.len = 0;
	tt_ent(&b, '1', "/", "x", NULL, 0);
	CHECK(tt_hostile(&b, "/", NULL));
	/* whiteouts of nothing or of the parent */
	b.len = 0;
	tt_file(&b, "a/.wh..", "");
	CHECK(tt_hostile(&b, "a/.wh..", "whiteout"));
	b.len = 0;
	tt_file(&b, "a/.wh...", "");
	CHECK(tt_hostile(&b, "a/.wh...", "whiteout"));
	b.len = 0;
	tt_file(&b, ".wh.", "");
	CHECK(tt_hostile(&b, ".wh.", "whiteout"));
	/* malformed archives */
	b.len = 0;
	tt_file(&b, "ok", "x");
	h = (struct tt_hdr){ .name = "bad", .type = '0', .size = 3, .cksum = 1 };
	tt_header(&b, &h);
	CHECK(tt_hostile(&b, "bad", "checksum"));
	b.len = 0;
	tt_file(&b, "cut", "0123456789");
	b.len -= 512;
	CHECK(tt_hostile(&b, "cut", "missing"));
	b.len = 0;
	tt_ent(&b, 'S', "sp", NULL, NULL, 0644);
	CHECK(tt_hostile(&b, "sp", "sparse"));
	b.len = 0;
	h = (struct tt_hdr){ .name = "huge", .type = '0', .size = 1ull << 50 };
	tt_header(&b, &h);
	CHECK(tt_hostile(&b, "huge", NULL));
	b.len = 0;
	h = (struct tt_hdr){ .name = "big", .type = '0', .size = 1ull << 40 };
	tt_header(&b, &h);
	tt_data(&b, "only this", 9);
	CHECK(tt_hostile(&b, "big", "missing"));
	mr_buf_free(&b);
}

/* Tar a folder with GNU tar or bsdtar, extract, compare. */
static void tt_real(void)
{
	static const char *const how[] = {
		"tar --xattrs --xattrs-include='*' --format=posix -cf %s/real.tar -C %s/src .",
		"tar --format=gnu -cf %s/real.tar -C %s/src .",
		"tar --format=ustar -cf %s/real.tar -C %s/src . 2>/dev/null",
		"bsdtar --xattrs --format=pax -cf %s/real.tar -C %s/src .",
		"tar --xattrs --xattrs-include='*' --format=posix -cf - -C %2$s/src . | gzip > %1$s/real.tar",
		"tar --xattrs --xattrs-include='*' --format=posix -cf - -C %2$s/src . | zstd -q > %1$s/real.tar",
	};
	static const char list[] =
		"cd %s/%s && find . -printf '%%p %%y %%m %%U %%G %%s %%l %%TY%%Tm%%Td%%TH%%TM%%TS %%n\\n' "
		"| sort && find . -type f -exec md5sum {} + | sort && "
		"find . -print0 | sort -z | xargs -0 getfattr -h -d -m - 2>/dev/null";
	struct mr_buf want = { 0 }, got = { 0 };
	struct mr_err err;
	char cmd[1024], path[256];
	static const struct tar_ring_conf small = { 1, 2, 3000 };
	size_t i;
	if (!tt_have("tar") || !tt_have("getfattr")) {
		UNIT_SKIP("real layers (no tar or getfattr)");
		return;
	}
	tt_sh("set -e; cd %s; mkdir -p src/etc/sub src/usr/bin src/empty && cd src && "
	      "printf 'root:x:0:0' > etc/passwd && seq 1 100000 > usr/bin/big && "
	      "printf tool > usr/bin/tool && ln usr/bin/tool usr/bin/tool2 && ln -s ../etc/passwd usr/pw && "
	      "ln -s /nowhere dangling && mknod dev-null c 1 3 && mknod blk b 7 1 && mkfifo fifo && "
	      "chown 1000:1000 usr/bin/tool && chmod 4755 usr/bin/tool && chmod 2755 etc/sub && "
	      "chmod 1777 empty && find . -exec touch -h -d @1100000000 {} + && setfattr -n user.comment -v hello etc/passwd && "
	      "setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= usr/bin/big && "
	      "touch -h -d '2001-02-03 04:05:06' usr/pw dangling && touch -d '2002-01-01' etc/sub etc usr/bin && "
	      "mkdir -p 'odd names/with spaces' && printf x > 'odd names/with spaces/f' && "
	      "mkdir -p long/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
	      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/"
	      "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc && "
	      "touch long/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
	      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/"
	      "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc/"
	      "file-with-a-rather-long-name-%s && touch -d '2003-01-01' . long odd\\ names",
	      tt_base, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	snprintf(cmd, sizeof cmd, list, tt_base, "src");
	tt_out(&want, cmd);
	for (i = 0; i < sizeof how / sizeof how[0]; i++) {
		struct stream_fd in;
		struct stream_decomp d;
		struct stream_hash hc, hp;
		char dig[MR_DIGEST_LEN + 1];
		int fd, lfd, rc;
		uint64_t size = 0;
		if ((strstr(how[i], "bsdtar") && !tt_have("bsdtar")) ||
		    (strstr(how[i], "zstd") && !tt_have("zstd"))) {
			UNIT_SKIP("%.40s (tool missing)", how[i]);
			continue;
		}
		if ((strstr(how[i], "zstd") && !MINIRUN_WITH_ZSTD) ||
		    (strstr(how[i], "gzip") && !MINIRUN_WITH_GZIP)) {
			UNIT_SKIP("%.40s (built without its decompressor)", how[i]);
			continue;
		}
		tt_sh(how[i], tt_base, tt_base);
		tt_sh("rm -rf %s/layer && mkdir %s/layer", tt_base, tt_base);
		snprintf(path, sizeof path, "%s/real.tar", tt_base);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof path, "%s/layer", tt_base);
		lfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		/* the pipeline the image code builds for a layer: the diff_id fed
		 * by the extraction (helper or not), through a ring that goes
		 * round every other time */
		stream_fd_init(&in, fd);
		stream_hash_init(&hc, &in.s);
		stream_decomp_init(&d, &hc.s, &err);
		stream_decomp_digested(&d);
		stream_hash_init(&hp, &d.s);
		rc = tar_extract_layer_ring(&d.s, lfd, &hp.ctx, &size, i % 2 ? &small :
					    &tar_ring_default, &err);
		CHECK(rc == 0);
		if (rc)
			printf("  %s: %s\n", how[i], err.msg);
		stream_hash_digest(&hp, dig);
		stream_decomp_end(&d);
		close(fd);
		close(lfd);
		CHECK(size > 588895);
		snprintf(cmd, sizeof cmd, list, tt_base, "layer");
		tt_out(&got, cmd);
		if (strstr(how[i], "ustar") || strstr(how[i], "gnu")) {
			/* ustar has no xattrs and no long names: tar --compare instead */
			CHECK(tt_sh("cd %s/layer && tar --compare -f %s/real.tar >/dev/null 2>&1",
				    tt_base, tt_base) == 0);
			continue;
		}
		CHECK(got.len == want.len && !memcmp(got.data, want.data, want.len));
		if (got.len != want.len || memcmp(got.data, want.data, want.len)) {
			FILE *f = fopen("/tmp/tt-want", "w"), *g = fopen("/tmp/tt-got", "w");
			printf("  %s: tree differs\n", how[i]);
			fwrite(want.data, 1, want.len, f);
			fwrite(got.data, 1, got.len, g);
			fclose(f);
			fclose(g);
			tt_sh("diff /tmp/tt-want /tmp/tt-got | head -40");
		}
		/* diff_id: the sha256 of the whole uncompressed tar */
		snprintf(cmd, sizeof cmd, "cd %s && (gzip -dc real.tar 2>/dev/null || zstd -dc real.tar "
			 "2>/dev/null || cat real.tar) | sha256sum | cut -c1-64", tt_base);
		tt_out(&got, cmd);
		CHECK(got.len >= 64 && !memcmp(got.data, dig + 7, 64));
	}
	mr_buf_free(&want);
	mr_buf_free(&got);
}

/* ---- Flattening layer folders ---- */
static int tt_mklayer(const char *name, void (*fill)(struct mr_buf *))
{
	struct mr_buf b = { 0 };
	struct mr_err err;
	int rc;
	fill(&b);
	tt_end(&b);
	rc = tt_extract(&b, &err);
	if (rc)
		printf("  layer %s: %s\n", name, err.msg);
	tt_sh("rm -rf %s/%s && mv %s/layer %s/%s", tt_base, name, tt_base, tt_base, name);
	mr_buf_free(&b);
	return rc;
}

static void tt_layer1(struct mr_buf *b)
{
	struct tt_hdr h = { .name = "usr/bin/tool", .type = '0', .mode = 04755, .uid = 7,
			    .size = 4, .mtime = 5 };
	tt_dir(b, "etc");
	tt_file(b, "etc/a", "a1");
	tt_file(b, "etc/b", "b1");
	tt_dir(b, "opt");
	tt_file(b, "opt/x/y", "y1");
	tt_dir(b, "usr/bin");
	tt_header(b, &h);
	tt_data(b, "tool", 4);
	tt_ent(b, '1', "usr/bin/tool2", "usr/bin/tool", NULL, 0);
	tt_ent(b, '2', "lnk", "etc/a", NULL, 0777);
	tt_file(b, "s", "file s");
	tt_dir(b, "rd");
	tt_file(b, "rd/inner", "x");
	tt_ent(b, '6', "fifo", NULL, NULL, 0600);
	tt_file(b, "d1/f", "f");
	tt_file(b, "d1/g", "g");
}

static void tt_layer2(struct mr_buf *b)
{
	struct mr_buf r = { 0 };
	tt_file(b, "etc/.wh.a", "");
	tt_file(b, "opt/.wh..wh..opq", "");
	tt_file(b, "opt/new", "new");
	tt_dir(b, "s");
	tt_file(b, "s/inner", "now a folder");
	tt_file(b, "rd", "now a file");
	tt_ent(b, '5', "lnk", NULL, NULL, 0711);
	tt_file(b, "d1/.wh.f", "");
	tt_file(b, ".wh.fifo", "");
	tt_file(b, ".wh.never-existed", "");
	tt_rec(&r, "SCHILY.xattr.user.l2", "two", 3);
	tt_pax(b, 'x', &r);
	tt_ent(b, '5', "etc", NULL, NULL, 0700);
	mr_buf_free(&r);
}

static void tt_apply(void)
{
	struct mr_err err;
	struct stat st, st2;
	char path[256], v[16];
	int l1, l2, t, rc, src, dst;
	struct mr_buf a = { 0 }, o = { 0 }, c = { 0 }, before = { 0 }, after = { 0 };
	CHECK(tt_mklayer("l1", tt_layer1) == 0 && tt_mklayer("l2", tt_layer2) == 0);
	/* the target: an earlier root with a symlink where l1 has a folder */
	tt_sh("cd %s && rm -rf target && mkdir -p target && ln -s ../sentinel target/usr && "
	      "ln -s ../sentinel target/etc", tt_base);
	tt_sentinel(&before);
	snprintf(path, sizeof path, "%s/l1", tt_base);
	l1 = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof path, "%s/l2", tt_base);
	l2 = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof path, "%s/target", tt_base);
	t = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = tar_apply_layer_dir(l1, t, 0, &err);
	CHECK(rc == 0);
	if (rc)
		printf("  apply l1: %s\n", err.msg);
	rc = tar_apply_layer_dir(l2, t, 0, &err);
	CHECK(rc == 0);
	if (rc)
		printf("  apply l2: %s\n", err.msg);
	tt_sentinel(&after);
	CHECK(before.len == after.len && !memcmp(before.data, after.data, after.len));
#define TT_T(p, st) (snprintf(path, sizeof path, "%s/target/%s", tt_base, p), lstat(path, st))
	CHECK(!TT_T("etc", &st) && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	CHECK(TT_T("etc/a", &st) < 0 && tt_read("target", "etc/b", v, sizeof v) == 0 &&
	      !strcmp(v, "b1"));
	CHECK(tt_getx("target", "etc", "user.l2", v, sizeof v) == 3);
	CHECK(TT_T("opt/x", &st) < 0 && tt_read("target", "opt/new", v, sizeof v) == 0);
	CHECK(tt_getx("target", "opt", "trusted.overlay.opaque", v, sizeof v) < 0);
	CHECK(!TT_T("s", &st) && S_ISDIR(st.st_mode) && tt_read("target", "s/inner", v, sizeof v) == 0);
	CHECK(!TT_T("rd", &st) && S_ISREG(st.st_mode));
	CHECK(!TT_T("lnk", &st) && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0711);
	CHECK(TT_T("d1/f", &st) < 0 && !TT_T("d1/g", &st) && TT_T("fifo", &st) < 0);
	CHECK(TT_T("never-existed", &st) < 0);
	CHECK(!TT_T("usr/bin/tool", &st) && !TT_T("usr/bin/tool2", &st2) && st.st_ino == st2.st_ino &&
	      (st.st_mode & 07777) == 04755 && st.st_uid == 7 && st.st_mtime == 5 &&
	      st.st_nlink == 2);
	CHECK(tt_getx("l1", "usr/bin/tool", "user.x", v, sizeof v) < 0);
	{       /* copies, not links to the store */
		struct stat ls;
		snprintf(path, sizeof path, "%s/l1/usr/bin/tool", tt_base);
		CHECK(!lstat(path, &ls) && ls.st_ino != st.st_ino);
	}

	/* the same two layers through overlayfs show the same tree */
	tt_sh("mkdir -p %s/mnt", tt_base);
	if (tt_sh("mount -t overlay overlay -o lowerdir=%s/l2:%s/l1 %s/mnt 2>/dev/null",
		  tt_base, tt_base, tt_base) == 0) {
		char cmd[512];
		static const char list[] = "cd %s/%s && find . -printf '%%p %%y %%m %%U %%G %%s %%l "
					   "%%TY%%Tm%%Td%%TH%%TM%%TS\\n' | sort && "
					   "find . -type f -exec md5sum {} + | sort";
		snprintf(cmd, sizeof cmd, list, tt_base, "mnt");
		tt_out(&o, cmd);
		snprintf(cmd, sizeof cmd, list, tt_base, "target");
		tt_out(&a, cmd);
		CHECK(o.len > 100 && a.len == o.len && !memcmp(a.data, o.data, o.len));
		/* the merged view itself as a source (volume copy-up does that) */
		snprintf(path, sizeof path, "%s/mnt", tt_base);
		src = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		tt_sh("rm -rf %s/copy && mkdir %s/copy", tt_base, tt_base);
		snprintf(path, sizeof path, "%s/copy", tt_base);
		dst = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = tar_apply_layer_dir(src, dst, TAR_APPLY_LINK, &err);
		CHECK(rc == 0);
		if (rc)
			printf("  copy-up: %s\n", err.msg);
		close(src);
		close(dst);
		tt_sh("umount %s/mnt", tt_base);
		snprintf(cmd, sizeof cmd, list, tt_base, "copy");
		tt_out(&c, cmd);
		CHECK(c.len == o.len && !memcmp(c.data, o.data, o.len));
		if (a.len != o.len || memcmp(a.data, o.data, o.len)) {
			FILE *f = fopen("/tmp/tt-ovl", "w"), *g = fopen("/tmp/tt-flat", "w");
			fwrite(o.data, 1, o.len, f);
			fwrite(a.data, 1, a.len, g);
			fclose(f);
			fclose(g);
			tt_sh("diff /tmp/tt-ovl /tmp/tt-flat | head -20");
		}
	} else {
		UNIT_SKIP("overlay comparison (cannot mount overlayfs here)");
	}

	/* hardlinks into the store when asked */
	tt_sh("rm -rf %s/target && mkdir %s/target", tt_base, tt_base);
	close(t);
	snprintf(path, sizeof path, "%s/target", tt_base);
	t = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = tar_apply_layer_dir(l1, t, TAR_APPLY_LINK, &err);
	CHECK(rc == 0);
	if (rc)
		printf("  apply link: %s\n", err.msg);
	{
		struct stat ls;
		snprintf(path, sizeof path, "%s/l1/usr/bin/tool", tt_base);
		CHECK(!lstat(path, &ls) && !TT_T("usr/bin/tool2", &st) && ls.st_ino == st.st_ino);
	}
	/* an opaque root empties the target */
	CHECK(fsetxattr(l2, "trusted.overlay.opaque", "y", 1, 0) == 0);
	CHECK(tar_apply_layer_dir(l2, t, 0, &err) == 0 && TT_T("usr", &st) < 0 &&
	      !TT_T("opt/new", &st));
	/* a mount inside the target's folder to be emptied is never crossed */
	tt_sh("mkdir -p %s/target/opt/m && mount -t tmpfs tmpfs %s/target/opt/m && "
	      "touch %s/target/opt/m/precious", tt_base, tt_base, tt_base);
	rc = tar_apply_layer_dir(l2, t, 0, &err);
	CHECK(rc < 0 && strstr(err.msg, "mount") && !TT_T("opt/m/precious", &st));
	tt_sh("umount %s/target/opt/m", tt_base);
#undef TT_T
	close(l1);
	close(l2);
	close(t);
	mr_buf_free(&a);
	mr_buf_free(&o);
	mr_buf_free(&c);
	mr_buf_free(&before);
	mr_buf_free(&after);
}

static int tt_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* A stream that fails after `left` bytes of its parent. */
struct tt_fail {
	struct stream s;
	struct stream *parent;
	size_t left;
};

static ssize_t tt_fail_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct tt_fail *f = (struct tt_fail *)s;
	ssize_t r;
	if (!f->left)
		return mr_err_set(err, EIO, "test: read failed");
	r = f->parent->read(f->parent, buf, n < f->left ? n : f->left, err);
	if (r > 0)
		f->left -= (size_t)r;
	return r;
}

/* The extraction helper and its ring: a layer of many files, large and
 * small, gives the same tree, size and diff_id in this process and through
 * rings of every shape (the reading side hashes ahead when the ring is
 * full, the helper otherwise); an error of the reading side after the ring
 * went round is the error reported, and nothing is left behind. */
static void tt_split(void)
{
	static const struct tar_ring_conf how[] = {
		{ 0, 0, 0 }, { 1, 2, 512 }, { 1, 3, 1000 }, { 1, 4, 8192 }, { 1, 16, 128u << 10 },
	};
	static const char list[] = "cd %s/layer && find . -mindepth 1 -printf '%%p %%y %%m %%s %%T@\n' | sort && "
				   "find . -type f -exec md5sum {} + | sort";
	size_t i, j;
	struct mr_buf b = { 0 }, first = { 0 }, got = { 0 };
	char want[MR_DIGEST_LEN + 1], dig[MR_DIGEST_LEN + 1], cmd[512], path[128];
	uint64_t total = 0, seed = 1;
	unsigned char *big = util_xmalloc(300000 + 40);
	struct mr_err err;

	for (i = 0; i < 300000 + 40; i++)
		big[i] = (unsigned char)((seed = seed * 6364136223846793005ull + 1) >> 56);
	for (i = 0; i < 40; i++) {
		char name[64];
		struct tt_hdr h = { 0 };
		size_t n = i == 20 ? 300000 : (i * 7919) % 5000;
		snprintf(name, sizeof name, "d%zu/", i % 4);
		if (i < 4)
			tt_dir(&b, name);
		snprintf(name, sizeof name, "d%zu/f%zu", i % 4, i);
		h.name = name;
		h.type = '0';
		h.mode = 0644;
		h.mtime = 1600000000 + i;
		h.size = n;
		tt_header(&b, &h);
		tt_data(&b, big + i, n);
		total += n;
	}
	tt_end(&b);
	mr_digest_buf(b.data, b.len, want);
	snprintf(path, sizeof path, "%s/layer", tt_base);
	snprintf(cmd, sizeof cmd, list, tt_base);
	for (i = 0; i < sizeof how / sizeof how[0]; i++) {
		struct digest_ctx ctx;
		struct tt_mem m;
		struct tt_fail f;
		uint64_t size = 0;
		int fd, rc;
		for (j = 0; j < 2; j++) {       /* whole, then reading fails */
			tt_sh("rm -rf %s/layer && mkdir %s/layer", tt_base, tt_base);
			fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			tt_mem_init(&m, b.data, b.len, j ? 0 : 777);
			f.s.read = tt_fail_read;
			f.parent = &m.s;
			f.left = j ? 100000 : SIZE_MAX;
			digest_init(&ctx);
			memset(&err, 0, sizeof err);
			rc = tar_extract_layer_ring(&f.s, fd, &ctx, &size, &how[i], &err);
			close(fd);
			if (j) {
				/* here, the entry being read names the place */
				CHECK(rc < 0 && util_ends_with(err.msg, "test: read failed"));
				if (rc >= 0 || !util_ends_with(err.msg, "test: read failed"))
					printf("  ring %zu: reading failed: %d %s\n", i, rc, err.msg);
				continue;
			}
			digest_finish(&ctx, dig);
			CHECK(rc == 0 && size == total && m.pos == m.len && !strcmp(dig, want));
			if (rc || strcmp(dig, want))
				printf("  ring %zu: %d %s %s\n", i, rc, err.msg, dig);
			tt_out(i ? &got : &first, cmd);
			if (i)
				CHECK(got.len == first.len && !memcmp(got.data, first.data, got.len));
		}
	}
	free(big);
	mr_buf_free(&b);
	mr_buf_free(&first);
	mr_buf_free(&got);
}

static void test_tar(void)
{
	int fds = tt_fds();
	snprintf(tt_base, sizeof tt_base, "/tmp/minirun-tar.XXXXXX");
	if (!mkdtemp(tt_base)) {
		CHECK(!"mkdtemp");
		return;
	}
	tt_sh("cd %s && mkdir -p sentinel/sub && printf orig > sentinel/keep && "
	      "chmod 0640 sentinel/keep && touch -d 2000-01-01 sentinel/sub sentinel/keep sentinel",
	      tt_base);
	tt_streams();
	tt_compressed("gzip", STREAM_GZIP);
	tt_compressed("zstd", STREAM_ZSTD);
	tt_reader();
	if (geteuid() != 0) {
		UNIT_SKIP("extraction tests (need root for devices, chown, trusted xattrs)");
	} else {
		tt_extract_normal();
		tt_extract_replace();
		tt_extract_hostile();
		tt_split();
		tt_real();
		tt_apply();
	}
	tt_sh("rm -rf --one-file-system %s", tt_base);
	CHECK(tt_fds() == fds);         /* no descriptor leaked */
}
