/* libFuzzer target for sections [06] STREAM and [07] TAR.
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -DMINIRUN_NO_MAIN \
 *        -no-pie -isystem .deps/native/include -o fuzz_tar tests/fuzz/tar.c \
 *        .deps/native/lib/libbearssl.a -lzstd -lz   (Debian zlib1g-dev, libzstd-dev)
 * (add -DFUZZ_TAR_EXTRACT, run as root, to extract every input into a fresh
 * folder beside a sentinel folder that must never change.)
 * Properties: the reader and the decompressor never crash, over-read or leak;
 * every entry has a normalised path (no "", "." or ".." component, no leading
 * or doubled "/") unless flagged unsafe; its content has exactly its size. */
#define MINIRUN_NO_MAIN
#ifndef MINIRUN_C
#define MINIRUN_C "../../minirun.c"
#endif
#include MINIRUN_C

struct fz_mem {
	struct stream s;
	const uint8_t *p;
	size_t len, pos, chunk;
};

static ssize_t fz_read(struct stream *s, void *buf, size_t n, struct mr_err *err)
{
	struct fz_mem *m = (struct fz_mem *)s;
	(void)err;
	if (n > m->len - m->pos)
		n = m->len - m->pos;
	if (n > m->chunk)
		n = m->chunk;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static void fz_check_path(const struct tar_entry *e)
{
	const char *p = e->path;
	if (e->unsafe & TAR_UNSAFE_PATH)
		return;
	if (*p == '/' || strstr(p, "//") || (*p && p[strlen(p) - 1] == '/'))
		__builtin_trap();
	for (;;) {
		if ((p[0] == '.' && (!p[1] || p[1] == '/')) ||
		    (p[0] == '.' && p[1] == '.' && (!p[2] || p[2] == '/')))
			__builtin_trap();
		p = strchr(p, '/');
		if (!p)
			break;
		p++;
	}
}

static void fz_reader(struct stream *in)
{
	static struct tar_entry e;
	struct tar_reader r;
	struct mr_err err;
	char buf[700];
	int i = 0;
	tar_reader_init(&r, in);
	while (tar_next(&r, &e, &err) > 0) {
		uint64_t got = 0;
		ssize_t n;
		fz_check_path(&e);
		if (e.nxattr > TAR_MAX_XATTRS || (e.type != TAR_REG && e.size))
			__builtin_trap();
		/* read every other entry's content, skip the others */
		if (i++ & 1)
			continue;
		while ((n = stream_read(tar_data_stream(&r), buf, sizeof buf, &err)) > 0)
			got += (uint64_t)n;
		if (n == 0 && got != e.size)
			__builtin_trap();
		if (n < 0)
			break;
	}
	tar_reader_end(&r);
}

#ifdef FUZZ_TAR_EXTRACT
static void fz_extract(struct stream *in)
{
	static char base[64];
	static struct stat before;
	struct stat after;
	struct mr_err err;
	uint64_t size;
	char cmd[160];
	int fd;
	if (!base[0]) {
		snprintf(base, sizeof base, "/tmp/fuzz-tar.XXXXXX");
		if (!mkdtemp(base))
			abort();
		snprintf(cmd, sizeof cmd, "mkdir %s/sentinel && touch %s/sentinel/keep", base, base);
		if (system(cmd))
			abort();
		snprintf(cmd, sizeof cmd, "%s/sentinel", base);
		stat(cmd, &before);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s/layer && mkdir %s/layer", base, base);
	if (system(cmd))
		abort();
	snprintf(cmd, sizeof cmd, "%s/layer", base);
	fd = open(cmd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	tar_extract_layer(in, fd, &size, &err);
	close(fd);
	snprintf(cmd, sizeof cmd, "%s/sentinel", base);
	if (stat(cmd, &after) || after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
	    after.st_mtime != before.st_mtime || after.st_nlink != before.st_nlink ||
	    after.st_mode != before.st_mode || after.st_uid != before.st_uid)
		__builtin_trap();
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_mem m = { { fz_read }, data, size, 0, size ? 1 + data[0] % 64 : 1 };
	struct stream_decomp d;
	struct mr_err err;
	char buf[4096];
	/* the raw bytes as a tar, in small reads */
	fz_reader(&m.s);
	/* the bytes through the decompressor (gzip, zstd or plain), then as a tar */
	m.pos = 0;
	m.chunk = 4096;
	stream_decomp_init(&d, &m.s, &err);
	while (stream_read(&d.s, buf, sizeof buf, &err) > 0) {}
	stream_decomp_end(&d);
	m.pos = 0;
	stream_decomp_init(&d, &m.s, &err);
	fz_reader(&d.s);
	stream_decomp_end(&d);
#ifdef FUZZ_TAR_EXTRACT
	m.pos = 0;
	fz_extract(&m.s);
#endif
	return 0;
}
