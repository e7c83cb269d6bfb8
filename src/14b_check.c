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
	int db_ok, db_dirty;
	char (*used)[65];               /* layers containers use (diff_id hex) */
	size_t nused;
	char (*imgs)[MR_DIGEST_LEN + 1];  /* images containers use */
	size_t nimgs;
	struct image_db db;             /* last: used as a whole (&ck->db) */
};

static void check_line(struct check *ck, int fixed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
UTIL_VA_FN static void check_line(struct check *ck, int fixed, const char *fmt, ...)
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
	int dfd = fs_open_dir(ck->st->rootfd, dir);
	DIR *d = dfd >= 0 ? fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3)) : NULL;
	struct dirent *de;
	if (!d) {
		if (dfd >= 0 || errno != ENOENT)
			check_line(ck, 0, "%s: cannot read the folder", dir);
		util_close(dfd);
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
	util_scopy(ck->imgs[ck->nimgs++], sizeof *ck->imgs, c.image);
	if (ck->db_ok && !image_db_by_id(&ck->db, c.image))
		check_line(ck, 0, "container %.12s (%s): image %.19s is not in the store", name,
			   c.name, c.image);
	for (i = 0; i < c.layers.n; i++) {
		ck->used = util_xrealloc(ck->used, (ck->nused + 1) * sizeof *ck->used);
		util_scopy(ck->used[ck->nused++], sizeof *ck->used, c.layers.v[i]);
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
			util_scopy(tags + strlen(tags), sizeof tags - strlen(tags), ")");
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
	int fd = fs_open_dir(ck->st->rootfd, "layers");
	int mfd = -1, rc = -1;
	unsigned n = 0;
	mr_remove_tree(ck->st->rootfd, "marks.new", err);
	if (fd < 0 || mkdirat(ck->st->rootfd, "marks.new", 0700) < 0 ||
	    (mfd = fs_open_dir(ck->st->rootfd, "marks.new")) < 0 || !(d = fdopendir(fd)))
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
	util_close(fd);
	util_close(mfd);
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
	bad = json_read_file(dfd, path, 65536, &b, &doc, &err) < 0 || !doc.root ||
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
			util_scopy(path, sizeof path, name);
			{
				int vfd = fs_open_dir(dfd, name);
				if (vfd >= 0 && mr_write_atomic(vfd, "meta.json", meta, (size_t)n, 0600,
								&err) == 0) {
					ck->fixed++;
					printf("%srewrote the metadata of volume %s (its data is "
					       "untouched)\n", ck->prefix, name);
				} else {
					check_line(ck, 0, "%s", what);
				}
				util_close(vfd);
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
	if (json_read_file(dfd, name, 65536, &b, &doc, &err) < 0 ||
	    !json_get_str(doc.root, "Name"))
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
	util_close(fd);
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

/* ---- space usage (system df) ---- */

/* Was layer j of image record i counted already (an earlier record, or an
 * earlier position of the same one, has it)? */
static int check_layer_seen(const struct image_db *db, size_t i, size_t j)
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
static int check_layer_shared(const struct image_db *db, size_t i, size_t j)
{
	size_t k, q;
	for (k = 0; k < db->nrecs; k++)
		for (q = 0; k != i && q < db->recs[k].nlayers; q++)
			if (!strcmp(db->recs[k].layers[q], db->recs[i].layers[j]))
				return 1;
	return 0;
}

static int check_layer_used(const struct ctr_row *rows, size_t count, const char *hex)
{
	size_t k, j;
	for (k = 0; k < count; k++)
		for (j = 0; j < rows[k].c.layers.n; j++)
			if (!strcmp(rows[k].c.layers.v[j], hex))
				return 1;
	return 0;
}
/* One row of `system df`: how many, how many in use, bytes, bytes that
 * removing what is not in use would give back. */
struct check_df {
	size_t total, active;
	uint64_t size, reclaim;
};

/* `system df`, Docker's rows: u[0] images (every layer once however many
 * images share it, reclaimable the layers no container's image has), u[1]
 * containers (the writable layer, reclaimable when not running), u[2]
 * volumes (their data, reclaimable when no container, running or not,
 * mounts them), u[3] the build cache (none). */
static void check_df(struct mr_store *st, const struct image_db *db, const struct ctr_row *rows,
		     size_t count, char **names, size_t nvol, struct check_df u[4])
{
	char path[300], who[80];
	size_t i, j;
	memset(u, 0, 4 * sizeof *u);
	u[0].total = db->nrecs;
	for (i = 0; i < db->nrecs; i++) {
		for (j = 0; j < count && strcmp(rows[j].c.image, db->recs[i].id); j++) {}
		u[0].active += j < count;
		for (j = 0; j < db->recs[i].nlayers; j++)
			if (!check_layer_seen(db, i, j)) {
				u[0].size += db->recs[i].sizes[j];
				if (!check_layer_used(rows, count, db->recs[i].layers[j]))
					u[0].reclaim += db->recs[i].sizes[j];
			}
	}
	u[1].total = count;
	for (i = 0; i < count; i++) {
		uint64_t du;
		snprintf(path, sizeof path, "containers/%s/%s", rows[i].c.id,
			 strcmp(rows[i].c.driver, "overlay") ? "rootfs" : "upper");
		du = store_du(st, path);
		u[1].size += du;
		if (rows[i].ci.status == CTR_RUNNING || rows[i].ci.status == CTR_RESTARTING)
			u[1].active++;
		else
			u[1].reclaim += du;
	}
	u[2].total = nvol;
	for (i = 0; i < nvol; i++) {
		uint64_t du;
		snprintf(path, sizeof path, "volumes/%s/_data", names[i]);
		du = store_du(st, path);
		u[2].size += du;
		if (container_users_of_volume(st, names[i], who, sizeof who) > 0)
			u[2].active++;
		else
			u[2].reclaim += du;
	}
}
