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

struct tar_entry {                  /* small fields first: one-byte offsets in x86 code */
	int type;                       /* TAR_* */
	int unsafe;                     /* TAR_UNSAFE_* */
	mode_t mode;                    /* permission bits with setuid/setgid/sticky */
	uid_t uid;
	gid_t gid;
	uint64_t size;                  /* content bytes (0 for all but regular files) */
	struct timespec mtime;
	unsigned devmajor, devminor;
	unsigned nxattr;
	char path[MINIRUN_MAX_PATH];    /* normalised: no "/", "./", "//" or trailing "/";
					 * "" is the archive's root */
	char link[MINIRUN_MAX_PATH];    /* symlink target as stored; hardlink target normalised */
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
		util_scopyn(e->path + n, sizeof e->path - n, (const char *)h, 100);
	}
	if (!(ov & TAR_OV_LINK))
		util_scopyn(e->link, sizeof e->link, (const char *)h + 157, 100);
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
	util_close(cwd);
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
	struct timespec dtimes[2];
	char *buf;
	uint64_t size;
	int plain;                      /* cp: names are names (no whiteouts), and a folder
					 * and a non-folder never replace each other */
	char dpath[MINIRUN_MAX_PATH];   /* last: the fields above at one-byte offsets */
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
			util_close(tfd);
			return mr_err_set(err, MR_EUNSAFE, "hardlink target %s is not a file of this "
					  "layer", e->link);
		}
	}
	rc = tar_create(x->dfd, base, fmt[e->type - '0'] | 0600, tfd, tname ? tname : e->link,
			makedev(e->devmajor, e->devminor), &fd, err);
	util_close(tfd);
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
		fd = fs_open_dir(x->dfd, base);
		if (fd < 0)
			return mr_err_sys(err, "open");
	}
	rc = tar_x_meta(x->dfd, base, fd, e, err);
	util_close(fd);
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
	/* the small fields first (one-byte offsets in x86-64 code) */
	uint64_t size;
	int rc;                         /* 1 until the helper has finished */
	int hashing;                    /* digest is wanted */
	int busy;                       /* one side is updating digest */
	unsigned hashed;                /* slots fed into digest so far */
	unsigned nslots;                /* the ring: nslots of slot bytes */
	size_t slot;
	struct mr_err err;              /* the helper's result */
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
	struct tar_w_seen *seen;        /* files with several links written so far */
	size_t nseen;
	char path[MINIRUN_MAX_PATH];    /* the entry being written */
	char link[MINIRUN_MAX_PATH];    /* its symlink target (here, not on a stack that
					 * grows with the depth of the tree) */
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
			util_close(dup);
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
	util_close(fd);
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
	util_close(dfd);
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
	} else if ((sfd = fs_open_dir(lfd, name)) < 0) {
		mr_err_sys(err, "open");
	} else if ((rc = tar_create(tfd, name, S_IFDIR | 0700, -1, NULL, 0, NULL, err)) >= 0) {
		/* A folder: overlay shows the merge of the layers' folders unless
		 * this one is opaque; its owner, mode and times are this layer's. */
		struct fs_mount_key key;
		dfd = fs_open_dir(tfd, name);
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
	util_close(sfd);
	util_close(dfd);
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
		util_close(fd);
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
		util_close(fd);
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
