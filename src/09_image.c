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
	util_scopy(p->os, sizeof p->os, "linux");
	util_scopy(p->arch, sizeof p->arch, image_host_arch());
	util_scopy(p->variant, sizeof p->variant, image_host_variant());
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
		util_scopy(p->os, sizeof p->os, "linux");
		util_scopy(p->arch, sizeof p->arch, parts[0]);
	} else {
		util_scopy(p->os, sizeof p->os, parts[0]);
		util_scopy(p->arch, sizeof p->arch, parts[1]);
		if (n == 3)
			util_scopy(p->variant, sizeof p->variant, parts[2]);
	}
	if (!strcmp(p->arch, "x86_64") || !strcmp(p->arch, "x86-64"))
		util_scopy(p->arch, sizeof p->arch, "amd64");
	if (!strcmp(p->arch, "aarch64"))
		util_scopy(p->arch, sizeof p->arch, "arm64");
	if (!strcmp(p->arch, "armhf"))
		util_scopy(p->arch, sizeof p->arch, "arm");
	return 0;
}

/* How well a descriptor's platform suits `want`: 0 = not at all, higher is
 * better (an exact variant beats an older one). */
static int image_platform_score(const struct mr_json *plat, const struct image_platform *want)
{
	const char *os = json_get_str(plat, "os");
	const char *arch = json_get_str(plat, "architecture");
	const char *variant = json_get_str(plat, "variant");
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
	const char *name = in, *slash, *colon, *at, *why = "";
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
		goto bad;
	for (i = 0; name[i]; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(isalnum(c) || strchr("._-/:@", c)) || (isupper(c) && !strchr(name, '/'))) {
			why = " (repository name must be lowercase)";
			goto bad;
		}
	}
	at = strchr(name, '@');
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	n = strlen(name);
	if (at) {
		if (mr_digest_valid(at + 1) < 0) {
			why = " (bad digest)";
			goto bad;
		}
		util_scopy(out, size, name);
	} else if (colon && (!slash || colon > slash)) {
		if (colon[1] == 0)
			goto bad;
		util_scopy(out, size, name);
	} else {
		snprintf(out, size, "%.*s:latest", (int)n, name);
	}
	return 0;
bad:
	return mr_err_set(err, MR_EINVAL_INPUT, "invalid reference format: %s%s", in, why);
}

/* ---- The image records (root/images.json) ----
 * { "images": [ { "id", "manifest", "layers": [hex...], "sizes": [n...],
 *                 "size", "created", "loaded" } ],
 *   "tags": { "busybox:latest": "sha256:..." } }
 * Rewritten atomically under the store lock. Layers are stored by diff_id
 * hex (no ':' so a layer folder can be an overlay lowerdir). */

struct image_rec {                      /* small fields first: one-byte offsets in x86 code */
	size_t nlayers;
	char (*layers)[65];                 /* diff_id hex, base layer first */
	uint64_t *sizes;                    /* bytes of each extracted layer */
	uint64_t size;
	char id[MR_DIGEST_LEN + 1];         /* sha256 of the config = the image ID */
	char manifest[MR_DIGEST_LEN + 1];   /* the manifest's digest */
	char created[40];                   /* from the config */
	char loaded[40];
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
	util_scopy(db->tags[i].id, sizeof db->tags[i].id, id);
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
	for (v = json_first(doc.root, "images"); v; v = v->next) {
		struct image_rec *r = image_db_add(db);
		const struct mr_json *l = mr_json_get(v, "layers"), *s = mr_json_get(v, "sizes");
		const char *id = json_get_str(v, "id");
		const char *man = json_get_str(v, "manifest");
		size_t i;
		if (!id || mr_digest_valid(id) < 0 || !l || l->type != MR_JSON_ARRAY) {
			mr_err_set(err, MR_EINVAL_INPUT, "%s/images.json: damaged image record",
				   st->root);
			goto out;
		}
		util_scopy(r->id, sizeof r->id, id);
		util_scopy(r->manifest, sizeof r->manifest, man ? man : "");
		util_scopy(r->created, sizeof r->created,
			 json_get_str(v, "created") ?: "");
		util_scopy(r->loaded, sizeof r->loaded,
			 json_get_str(v, "loaded") ?: "");
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
	for (t = json_first(doc.root, "tags"); t; t = t->next)
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
	json_karr(&w, "images");
	for (i = 0; i < db->nrecs; i++) {
		const struct image_rec *r = &db->recs[i];
		mr_jw_obj(&w);
		json_kstr(&w, "id", r->id);
		json_kstr(&w, "manifest", r->manifest);
		json_kstr(&w, "created", r->created);
		json_kstr(&w, "loaded", r->loaded);
		json_karr(&w, "layers");
		for (j = 0; j < r->nlayers; j++)
			mr_jw_str(&w, r->layers[j]);
		mr_jw_arr_end(&w);
		json_karr(&w, "sizes");
		for (j = 0; j < r->nlayers; j++)
			mr_jw_int(&w, (long long)r->sizes[j]);
		mr_jw_arr_end(&w);
		mr_jw_obj_end(&w);
	}
	mr_jw_arr_end(&w);
	json_kobj(&w, "tags");
	for (i = 0; i < db->ntags; i++)
		json_kstr(&w, db->tags[i].name, db->tags[i].id);
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
	int rc, fd = fs_open_dir(st->rootfd, "marks");
	if (fd < 0)
		return mr_err_sys(err, "store %s/marks", st->root);
	util_scopyn(name, sizeof name, hex, 64);
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
	tmpfd = fs_open_dir(st->rootfd, "tmp");
	if (tmpfd >= 0 && renameat(layersfd, name, tmpfd, trash) == 0)
		mr_remove_tree(tmpfd, trash, &ignored);
	else
		mr_remove_tree(layersfd, name, &ignored);
	util_close(tmpfd);
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
		int dfd = fs_open_dir(st->rootfd, dirs[k]);
		DIR *d = dfd >= 0 ? fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3)) : NULL;
		struct dirent *de;
		if (!d) {
			util_close(dfd);
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
	/* the small fields first (one-byte offsets in x86-64 code), the
	 * strings after */
	char *path;                          /* entry path in the archive */
	uint64_t bytes;                      /* size of the entry */
	int is_layer;
	/* layers */
	int tmpfd;                           /* holds the temporary folder's flock */
	uint64_t unpacked;
	double secs;                         /* extraction time, for the message */
	int report;                          /* extracted by load: commit says what it did */
	char *failure;                       /* extraction error, reported if used */
	/* metadata */
	struct mr_buf data;
	char digest[MR_DIGEST_LEN + 1];      /* sha256 of the entry's bytes */
	char diff_id[MR_DIGEST_LEN + 1];     /* layers */
	char tmpname[128];                   /* tmp/layer-... relative to rootfd */
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
		const char *cfg = json_get_str(item, "Config");
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
		for (t = json_first(item, "RepoTags"); t; t = t->next)
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
	const char *d = json_get_str(desc, "digest");
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
	util_scopy(b->digest, sizeof b->digest, json_get_str(desc, "digest"));
	util_scopy(b->diff_id, sizeof b->diff_id, diff_id->str);
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
		const char *mt = json_get_str(l, "mediaType");
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

static int image_pick_from_blob(struct image_load *ld, const char *d, char *digest_out,
				int depth, struct mr_err *err);

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
		const char *mt = json_get_str(best, "mediaType");
		if (!d)
			return -1;
		if (image_is_index_type(mt)) {
			if (depth > 4)
				return mr_err_set(err, MR_EINVAL_INPUT, "index nested too deep");
			return image_pick_from_blob(ld, d, digest_out, depth + 1, err);
		}
		util_scopy(digest_out, MR_DIGEST_LEN + 1, d);
	}
	return 0;
}

/* image_pick_from_index on the manifests of the index in blob d. */
static int image_pick_from_blob(struct image_load *ld, const char *d, char *digest_out,
				int depth, struct mr_err *err)
{
	struct mr_json_doc doc = { 0 };
	struct image_blob *b = image_blob_by_digest(ld, d, 0, err);
	int rc = -1;
	if (b && image_blob_json(b, &doc, err) == 0)
		rc = image_pick_from_index(ld, mr_json_get(doc.root, "manifests"), digest_out,
					   depth, err);
	mr_json_free(&doc);
	return rc;
}

/* Name of an OCI index entry: containerd's full name annotation, else the
 * OCI ref name; a ref name that is only a tag takes the repository from the
 * source's file name (busybox.tar + "latest" -> busybox:latest). */
static int image_oci_name(struct image_load *ld, const struct mr_json *desc,
			  struct image_found *f, struct mr_err *err)
{
	const struct mr_json *ann = mr_json_get(desc, "annotations");
	const char *full = json_get_str(ann, "io.containerd.image.name");
	const char *ref = json_get_str(ann, "org.opencontainers.image.ref.name");
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
	util_scopyn(repo, sizeof repo, base, n);
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
				if (json_get_str(m, "digest") &&
				    !strcmp(json_get_str(m, "digest"), digest))
					chosen = m;
			*out = util_xcalloc(1, sizeof **out);
			*nout = 1;
			f = *out;
			rc = image_oci_name(ld, chosen, f, err) < 0 ||
			     image_resolve_manifest(ld, digest, f, err) < 0 ? -1 : 0;
			goto out;
		}
	for (m = manifests->child; m; m = m->next) {
		const char *mt = json_get_str(m, "mediaType");
		char digest[MR_DIGEST_LEN + 1];
		struct image_found *f;
		const char *d = image_desc_digest(m, "index.json entry", err);
		if (!d)
			goto out;
		if (image_is_index_type(mt)) {
			if (image_pick_from_blob(ld, d, digest, 1, err) < 0)
				goto out;
		} else if (!mt || image_is_manifest_type(mt)) {
			util_scopy(digest, sizeof digest, d);
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
	json_kint(&w, "schemaVersion", 2);
	json_kstr(&w, "mediaType", "application/vnd.docker.distribution.manifest.v2+json");
	json_kobj(&w, "config");
	json_kstr(&w, "mediaType", "application/vnd.docker.container.image.v1+json");
	json_kint(&w, "size", (long long)f->config->bytes);
	json_kstr(&w, "digest", f->config->digest);
	mr_jw_obj_end(&w);
	json_karr(&w, "layers");
	for (i = 0; i < f->nlayers; i++) {
		const struct image_blob *l = f->layers[i];
		int plain = !strcmp(l->digest, l->diff_id);
		mr_jw_obj(&w);
		json_kstr(&w, "mediaType", plain ? "application/vnd.docker.image.rootfs.diff.tar"
				    : "application/vnd.docker.image.rootfs.diff.tar.gzip");
		json_kint(&w, "size", (long long)l->bytes);
		json_kstr(&w, "digest", l->digest);
		mr_jw_obj_end(&w);
	}
	mr_jw_arr_end(&w);
	mr_jw_obj_end(&w);
}

static int image_write_blob(struct mr_store *st, const char *digest, const void *data, size_t len,
			    struct mr_err *err)
{
	int dfd = fs_open_dir(st->rootfd, "blobs/sha256");
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
	layersfd = fs_open_dir(st->rootfd, "layers");
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
		const struct mr_buf *m;
		char digest[MR_DIGEST_LEN + 1];
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
		/* a docker-archive has no manifest blob: one is made, as Docker does */
		if (!f->manifest) {
			image_synth_manifest(f, &synth);
			mr_digest_buf(synth.data, synth.len, digest);
			m = &synth;
		} else {
			util_scopy(digest, sizeof digest, f->manifest->digest);
			m = &f->manifest->data;
		}
		rc = image_write_blob(st, digest, m->data, m->len, err);
		mr_buf_free(&synth);
		if (rc < 0)
			goto out;
		rc = -1;
		r = image_db_by_id(&db, f->config->digest);
		if (!r)
			r = image_db_add(&db);
		util_scopy(r->manifest, sizeof r->manifest, digest);
		util_scopy(r->id, sizeof r->id, f->config->digest);
		util_time_rfc3339(&now, r->loaded, sizeof r->loaded);
		if (mr_json_parse(&cfg, f->config->data.data, f->config->data.len, err) < 0)
			goto out;
		created = json_get_str(cfg.root, "created");
		util_scopy(r->created, sizeof r->created, created ? created : "");
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
	util_close(layersfd);
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
