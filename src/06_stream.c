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
#if MINIRUN_WITH_ZSTD
	ZSTD_DStream *zd;
#endif
#if MINIRUN_WITH_GZIP
	int zinit;
	z_stream z;             /* last: 112 bytes */
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

/* zstd's own names for its errors cost 2.2 KB (ZSTD_getErrorName keeps every
 * string of the library); a layer fails for one of few reasons, named here,
 * with zstd's code (zstd_errors.h) for the rest. */
static const char *decomp_zstd_why(ZSTD_ErrorCode e)
{
	switch (e) {
	case ZSTD_error_prefix_unknown:
		return "not zstd data";
	case ZSTD_error_frameParameter_windowTooLarge:
		return "the frame needs a window larger than allowed";
	case ZSTD_error_checksum_wrong:
		return "checksum mismatch";
	case ZSTD_error_memory_allocation:
		return "out of memory";
	default:
		return "corrupt data";
	}
}

static ssize_t decomp_zstd_step(struct stream_decomp *d, void *buf, size_t n, struct mr_err *err)
{
	size_t pos0 = d->pos;
	ZSTD_inBuffer zin = { d->in, d->len, d->pos };
	ZSTD_outBuffer zout = { buf, n, 0 };
	size_t rc = ZSTD_decompressStream(d->zd, &zout, &zin);
	if (ZSTD_isError(rc))
		return mr_err_set(err, MR_EINVAL_INPUT, "zstd: %s (error %d)",
				  decomp_zstd_why(ZSTD_getErrorCode(rc)), (int)ZSTD_getErrorCode(rc));
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
