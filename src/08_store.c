/* ==== [08] STORE: store layout, lock, temporaries, metadata files ====
 * root/lock            flock()ed while metadata changes (short critical sections)
 * root/tmp/mr-NAME     work folders; each is flock()ed by the process using it,
 *                      so a folder whose lock can be taken belongs to a dead
 *                      process and is removed at the next start. Only names
 *                      minirun makes are ever removed there (STORE_TMP_PREFIX,
 *                      and the fixed patterns of older versions).
 * root/layers/HEX/     one extracted layer (overlay format), HEX = diff_id hex
 * root/marks/HEX      the layer's completion mark, written (and fsynced) after
 *                      the layer is in place and before any record names it;
 *                      a store without marks/ predates them (image_layer_ok)
 * root/gc.intent       a collection was started: the next command finishes it
 * root/blobs/sha256/HEX  manifests, indexes and configs as received
 * root/images.json     image records and tags, rewritten atomically
 * root/containers/ID/  container config, upper/, work/, rootfs/, log
 * root/volumes/NAME/   volume metadata, data in _data/
 * rundir/ID/           runtime state, lost on reboot as it should be */

static const char *const store_dirs[] = {
	"tmp", "layers", "blobs", "blobs/sha256", "containers", "volumes",
};

/* ".tmp.PID.NAME" is what mr_write_atomic writes before its rename: left
 * behind only when PID was killed, or the power was cut. Some writers (a
 * monitor saving a container's state) do not hold the store lock, so the
 * file of a live PID is left alone, unless it was written before this boot
 * (after a reboot its PID may be someone else's). */
static int store_dead_temp(int dfd, const char *name)
{
	struct timespec now, up;
	struct stat sb;
	long pid;
	char *end;
	if (!util_starts_with(name, ".tmp."))
		return 0;
	pid = strtol(name + 5, &end, 10);
	if (end == name + 5 || *end != '.' || pid <= 0)
		return 1;   /* not ours by its name, yet in our folders: a temporary */
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 1;
	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_BOOTTIME, &up);
	return fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	       sb.st_mtime < now.tv_sec - up.tv_sec - 1;
}

static void store_clean_dead_temps(int dfd, int all)
{
	DIR *d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3));
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d)) != NULL)
		if (all ? util_starts_with(de->d_name, ".tmp.") : store_dead_temp(dfd, de->d_name))
			unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

/* The same in a folder of the store, and in every container's folder. */
static void store_clean_dead_temps_in(struct mr_store *st, const char *dir, int per_entry)
{
	DIR *d;
	struct dirent *de;
	int fd = openat(st->rootfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	store_clean_dead_temps(fd, 0);
	if (per_entry && (d = fdopendir(fcntl(fd, F_DUPFD_CLOEXEC, 3))) != NULL) {
		while ((de = readdir(d)) != NULL) {
			int sub;
			if (de->d_name[0] == '.')
				continue;
			sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				store_clean_dead_temps(sub, 0);
				close(sub);
			}
		}
		closedir(d);
	}
	close(fd);
}


#define STORE_TMP_PREFIX "mr-"

/* Did minirun make this tmp/ entry? Its own prefix, or a name of an older
 * version: PREFIX-<12 hex> (layer, volume, rm-volume, probe, ctr) or
 * rm-<64 hex> (a container being removed). Anything else is left alone. */
static int store_tmp_ours(const char *name)
{
	static const char *const old[] = { "layer-", "volume-", "rm-volume-", "probe-", "ctr-",
					   "rm-" };
	size_t i, n;
	if (util_starts_with(name, STORE_TMP_PREFIX))
		return 1;
	for (i = 0; i < sizeof old / sizeof old[0]; i++) {
		if (!util_starts_with(name, old[i]))
			continue;
		n = strlen(name + strlen(old[i]));
		if ((n == 12 || (i == 5 && n == 64)) &&
		    strspn(name + strlen(old[i]), "0123456789abcdef") == n)
			return 1;
	}
	return 0;
}

/* Say once that tmp/ holds something minirun did not make (it stays): the
 * names already reported are kept in tmp/.mr-reported. */
static void store_report_foreign(int tmpfd, const char *root, const char *name)
{
	struct mr_buf b = { 0 };
	struct mr_err ignored;
	const char *p;
	size_t n = strlen(name);
	int fd;
	if (mr_read_file(tmpfd, ".mr-reported", &b, 65536, &ignored) == 0)
		for (p = b.data; p && p < b.data + b.len; p = memchr(p, '\n', b.data + b.len - p),
		     p = p ? p + 1 : NULL)
			if ((size_t)(b.data + b.len - p) > n && !memcmp(p, name, n) && p[n] == '\n') {
				mr_buf_free(&b);
				return;
			}
	mr_buf_free(&b);
	fprintf(stderr, "WARNING: store %s: tmp/%s was not made by minirun: left alone\n", root,
		name);
	fd = openat(tmpfd, ".mr-reported", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd >= 0) {
		/* write, not dprintf: musl's dprintf links a second stdio path */
		if (util_write_all(fd, name, n) == 0)
			util_write_all(fd, "\n", 1);
		close(fd);
	}
}

/* Remove tmp/ entries of minirun's whose owner died, and ".tmp.PID.*" files
 * that an atomic write left when its writer was killed. */
static void store_clean_temps(struct mr_store *st)
{
	struct mr_err ignored;
	DIR *d;
	struct dirent *de;
	int tmpfd = openat(st->rootfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd >= 0 && (d = fdopendir(tmpfd)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			int fd;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
			    !strcmp(de->d_name, ".mr-reported"))
				continue;
			if (!store_tmp_ours(de->d_name)) {
				store_report_foreign(tmpfd, st->root, de->d_name);
				continue;
			}
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
	/* the root's writers (images.json, gc.intent) hold the lock, as we do */
	store_clean_dead_temps(st->rootfd, 1);
	store_clean_dead_temps_in(st, "networks", 0);
	store_clean_dead_temps_in(st, "blobs/sha256", 0);
	store_clean_dead_temps_in(st, "marks", 0);
	store_clean_dead_temps_in(st, "volumes", 1);
	store_clean_dead_temps_in(st, "containers", 1);
}

/* A store whose layers/ holds nothing yet gets marks/, which says that every
 * layer in it carries a completion mark; stores made before marks existed
 * keep working without (their layers were published the old way). */
static void store_stamp_marks(struct mr_store *st)
{
	struct mr_err ignored;
	struct dirent *de;
	int empty = 1, fd;
	DIR *d;
	if (util_exists_at(st->rootfd, "marks", AT_SYMLINK_NOFOLLOW))
		return;
	fd = openat(st->rootfd, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (empty && (de = readdir(d)) != NULL)
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	if (empty && mkdirat(st->rootfd, "marks", 0700) == 0)
		mr_fsync_dir(st->rootfd, &ignored);
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

/* A folder that holds things and is not a store (no lock file) is refused:
 * the store deletes what it finds in its tmp/ and .tmp.* files, so `--root
 * /var` must not turn /var into one. An empty or new folder becomes a store.
 * The lock file is the first thing a new store gets (mr_store_open), so a
 * store whose creation was killed half way is still taken for one. */
static int store_check_foreign(int rootfd, const char *root, struct mr_err *err)
{
	struct stat a;
	struct dirent *de;
	char first[NAME_MAX + 1] = "";
	DIR *d;
	if (fstatat(rootfd, "lock", &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(a.st_mode))
		return 0;
	d = fdopendir(fcntl(rootfd, F_DUPFD_CLOEXEC, 3));
	if (!d)
		return mr_err_sys(err, "store %s", root);
	while ((de = readdir(d)) != NULL && !first[0])
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			snprintf(first, sizeof first, "%s", de->d_name);
	closedir(d);
	if (!first[0])
		return 0;
	return mr_err_set(err, ENOTEMPTY, "store %s: not a minirun store and not empty (it holds "
			  "%s); give --root (or MINIRUN_ROOT) an empty or new folder, or an existing "
			  "store", root, first);
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
	if (store_check_foreign(st->rootfd, root, err) < 0)
		goto fail;
	st->lockfd = openat(st->rootfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (st->lockfd < 0) {
		mr_err_sys(err, "store %s: lock file", root);
		goto fail;
	}
	for (i = 0; i < sizeof store_dirs / sizeof store_dirs[0]; i++)
		if (mkdirat(st->rootfd, store_dirs[i], 0700) < 0 && errno != EEXIST) {
			mr_err_sys(err, "store %s: cannot create %s", root, store_dirs[i]);
			goto fail;
		}
	if (mr_store_lock(st, err) < 0)
		goto fail;
	store_clean_temps(st);
	store_stamp_marks(st);
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
	snprintf(name, sizeof name, STORE_TMP_PREFIX "%.64s-%s", prefix, hex);
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
