/* ==== [10] VOLUME: named and anonymous volumes ====
 * root/volumes/NAME/_data is what containers mount; root/volumes/NAME/meta.json
 * holds CreatedAt, Labels and whether the volume is anonymous (made for an
 * image VOLUME or `-v /path`, removed with its container by `rm -v`/`--rm`).
 * A volume appears by one rename of a folder prepared under tmp/, under the
 * store lock, so a kill leaves no half volume. Its data is never copied: a
 * container mounts it; the one copy is the image's content filling a new,
 * empty volume on first use. */

struct volume_info {
	int anonymous;                 /* first: one-byte offsets in x86-64 code */
	struct mr_json_doc meta;       /* Labels come from here */
	char name[256];
	char created[40];
};

/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
static int volume_name_valid(const char *name)
{
	size_t i, n = strlen(name);
	if (n < 2 || n > 255 || !isalnum((unsigned char)name[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return 0;
	return 1;
}

static int volume_dirfd(struct mr_store *st, struct mr_err *err)
{
	int fd = fs_open_dir(st->rootfd, "volumes");
	if (fd < 0)
		mr_err_sys(err, "store %s/volumes", st->root);
	return fd;
}

static int volume_exists(struct mr_store *st, const char *name)
{
	char path[300];
	snprintf(path, sizeof path, "volumes/%s/_data", name);
	return volume_name_valid(name) && util_exists_at(st->rootfd, path, AT_SYMLINK_NOFOLLOW);
}

/* Where containers mount it. */
static int volume_data_path(struct mr_store *st, const char *name, char *out, size_t size)
{
	return snprintf(out, size, "%s/volumes/%s/_data", st->root, name) < (int)size ? 0 : -1;
}

/* Create NAME (a random 64-hex name when NULL or empty, written back into
 * name_out). An existing name is not an error: *created tells. Labels are
 * "K=V" strings. */
static int volume_create(struct mr_store *st, const char *name, const char *const *labels,
			 size_t nlabels, int anonymous, char *name_out, size_t out_size,
			 int *created, struct mr_err *err)
{
	char tmpname[128], vname[256];
	struct mr_buf meta = { 0 };
	struct mr_jw w;
	struct timespec now;
	char when[40];
	size_t i;
	int tmpfd = -1, volfd = -1, rc = -1;
	*created = 0;
	if (!name || !*name) {
		unsigned char rnd[32];
		if (util_random(rnd, sizeof rnd) < 0)
			return mr_err_sys(err, "volume name");
		util_hex(rnd, sizeof rnd, vname);
	} else if (!volume_name_valid(name)) {
		return mr_err_set(err, MR_EINVAL_INPUT, "create %s: \"%s\" includes invalid characters "
				  "for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
				  "allowed. If you intended to pass a host directory, use absolute "
				  "path", name, name);
	} else {
		util_scopy(vname, sizeof vname, name);
	}
	if (name_out)
		util_scopy(name_out, out_size, vname);
	for (i = 0; i < nlabels; i++)
		if (!*labels[i] || labels[i][0] == '=')
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid label '%s'", labels[i]);
	if (volume_exists(st, vname))
		return 0;
	tmpfd = mr_store_mktemp(st, "volume", tmpname, sizeof tmpname, err);
	if (tmpfd < 0)
		return -1;
	if (mkdirat(tmpfd, "_data", 0755) < 0) {
		mr_err_sys(err, "create volume %s", vname);
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec = 0;
	util_time_rfc3339(&now, when, sizeof when);
	/* Docker prints CreatedAt with seconds and an offset. */
	util_scopy(when + 19, sizeof when - 19, "Z");
	mr_jw_init(&w, &meta, 0);
	mr_jw_obj(&w);
	json_kstr(&w, "CreatedAt", when);
	json_kbool(&w, "Anonymous", anonymous);
	json_kobj(&w, "Labels");
	for (i = 0; i < nlabels; i++) {
		const char *eq = strchr(labels[i], '=');
		char key[256];
		util_scopyn(key, sizeof key, labels[i], eq ? (size_t)(eq - labels[i]) : 255);
		json_kstr(&w, key, eq ? eq + 1 : "");
	}
	mr_jw_obj_end(&w);
	mr_jw_obj_end(&w);
	/* A named volume is made durable (fsync of its record and of the folder
	 * it lands in). An anonymous one lives and dies with its container
	 * (often a --rm one) and would pay three fsyncs, ~11 ms on this
	 * machine's disk, on every run of an image with a VOLUME: it is only
	 * made atomic (the whole folder appears by rename), and a record lost to
	 * a power cut reads as an anonymous volume without metadata. */
	if (anonymous) {
		int fd = openat(tmpfd, "meta.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || util_write_all(fd, meta.data, meta.len) < 0) {
			mr_err_sys(err, "create volume %s: meta.json", vname);
			util_close(fd);
			goto out;
		}
		close(fd);
	} else if (mr_write_atomic(tmpfd, "meta.json", meta.data, meta.len, 0600, err) < 0) {
		goto out;
	}
	if (mr_store_lock(st, err) < 0)
		goto out;
	volfd = volume_dirfd(st, err);
	if (volfd >= 0) {
		if (renameat(st->rootfd, tmpname, volfd, vname) == 0) {
			*created = 1;
			rc = anonymous ? 0 : mr_fsync_dir(volfd, err);
		} else if (errno == EEXIST || errno == ENOTEMPTY) {
			rc = 0;  /* made by someone else meanwhile: same outcome */
		} else {
			mr_err_sys(err, "create volume %s", vname);
		}
		close(volfd);
	}
	mr_store_unlock(st);
out:
	if (!*created) {
		struct mr_err ignored;
		mr_remove_tree(st->rootfd, tmpname, &ignored);
	}
	close(tmpfd);
	mr_buf_free(&meta);
	return rc;
}

static int volume_read(struct mr_store *st, const char *name, struct volume_info *vi,
		       struct mr_err *err)
{
	char path[300];
	struct mr_buf buf = { 0 };
	const char *created;
	memset(vi, 0, sizeof *vi);
	if (!volume_exists(st, name))
		return mr_err_set(err, MR_ENOTFOUND, "No such volume: %s", name);
	util_scopy(vi->name, sizeof vi->name, name);
	snprintf(path, sizeof path, "volumes/%s/meta.json", name);
	if (json_read_file(st->rootfd, path, 65536, &buf, &vi->meta, err) < 0) {
		/* A volume without readable metadata is still a volume. */
		mr_buf_free(&buf);
		return 0;
	}
	created = json_get_str(vi->meta.root, "CreatedAt");
	util_scopy(vi->created, sizeof vi->created, created ? created : "");
	vi->anonymous = mr_json_get(vi->meta.root, "Anonymous") &&
			mr_json_get(vi->meta.root, "Anonymous")->type == MR_JSON_TRUE;
	mr_buf_free(&buf);
	return 0;
}

/* Remove a volume's folder (volume_remove checked that no container uses
 * it). The rename first makes it vanish at once; the data goes after, never
 * crossing a mount. */
static int volume_remove_dir(struct mr_store *st, const char *name, struct mr_err *err)
{
	char tmpname[128];
	int volfd, tmpfd, rc;
	tmpfd = mr_store_mktemp(st, "rm-volume", tmpname, sizeof tmpname, err);
	if (tmpfd < 0)
		return -1;
	volfd = volume_dirfd(st, err);
	rc = volfd < 0 ? -1 : 0;
	if (rc == 0) {
		/* Refuse before anything moves if a mount is inside: the volume
		 * must stay whole when its removal cannot complete. */
		struct fs_mount_key top;
		int vfd = fs_open_dir(volfd, name);
		if (vfd < 0 || fs_mount_key(vfd, &top) < 0)
			rc = mr_err_sys(err, "remove volume %s", name);
		else
			rc = fs_check_no_mounts(vfd, &top, name, 0, err);
		util_close(vfd);
		if (rc < 0)
			mr_err_ctx(err, "remove volume");
	}
	if (rc == 0 && renameat(volfd, name, tmpfd, "v") < 0)
		rc = mr_err_sys(err, "remove volume %s", name);
	util_close(volfd);
	if (rc == 0)
		rc = mr_remove_tree(tmpfd, "v", err);
	if (rc == 0)
		rc = mr_remove_tree(st->rootfd, tmpname, err);
	close(tmpfd);
	return rc;
}

/* Bytes under a folder as Docker counts them (for prune and system df): the
 * sizes of everything but folders; never follows symlinks; hard links
 * counted once per folder walk is not worth the memory here. */
static uint64_t volume_du(int dirfd, int depth)
{
	DIR *d;
	struct dirent *de;
	uint64_t total = 0;
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || depth > 256 || !(d = fdopendir(fd))) {
		util_close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(sb.st_mode))
			total += (uint64_t)sb.st_size;
		if (S_ISDIR(sb.st_mode)) {
			int sub = fs_open_dir(dirfd, de->d_name);
			if (sub >= 0) {
				total += volume_du(sub, depth + 1);
				close(sub);
			}
		}
	}
	closedir(d);
	return total;
}

/* volume_du of a folder of the store (0 when it is missing). */
static uint64_t store_du(struct mr_store *st, const char *path)
{
	int fd = fs_open_dir(st->rootfd, path);
	uint64_t bytes = fd >= 0 ? volume_du(fd, 0) : 0;
	util_close(fd);
	return bytes;
}

static int volume_cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every volume name, sorted (for ls and prune). */
static int volume_list(struct mr_store *st, char ***names, size_t *count, struct mr_err *err)
{
	int fd = volume_dirfd(st, err);
	DIR *d;
	struct dirent *de;
	*names = NULL;
	*count = 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		util_close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!volume_name_valid(de->d_name) || !volume_exists(st, de->d_name))
			continue;
		*names = util_xrealloc(*names, (*count + 1) * sizeof **names);
		(*names)[(*count)++] = util_xstrdup(de->d_name);
	}
	closedir(d);
	qsort(*names, *count, sizeof **names, volume_cmp_names);
	return 0;
}

static void volume_free_names(char **names, size_t count)
{
	size_t i;
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* Containers (running or stopped) that mount a volume; fills `who` with
 * their ids as Docker prints them ("[id1 id2]" without brackets) and returns
 * how many. */
static int container_users_of_volume(struct mr_store *st, const char *name, char *who,
				     size_t size)
{
	/* Every container record (running or not) lists its mounts in
	 * HostConfig.Mounts, as mount_write_json wrote them. */
	int dfd = fs_open_dir(st->rootfd, "containers");
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	size_t len = 0;
	int users = 0;
	if (size)
		who[0] = 0;
	if (!d) {
		util_close(dfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		char path[128];
		struct mr_buf buf = { 0 };
		struct mr_json_doc doc = { 0 };
		struct mr_err ignored;
		const struct mr_json *m;
		int uses = 0;
		if (strlen(de->d_name) != 64 || strspn(de->d_name, "0123456789abcdef") != 64)
			continue;
		snprintf(path, sizeof path, "%s/config.json", de->d_name);
		if (json_read_file(dfd, path, MINIRUN_MAX_JSON, &buf, &doc, &ignored) == 0) {
			m = json_first(mr_json_get(doc.root, "HostConfig"), "Mounts");
			for (; m && !uses; m = m->next) {
				const char *type = json_get_str(m, "Type");
				const char *vol = json_get_str(m, "Name");
				uses = type && vol && !strcmp(type, "volume") && !strcmp(vol, name);
			}
		}
		mr_json_free(&doc);
		mr_buf_free(&buf);
		if (!uses)
			continue;
		if (len + 68 < size) {
			len += (size_t)snprintf(who + len, size - len, "%s%s", users ? ", " : "",
						de->d_name);
		}
		users++;
	}
	closedir(d);
	return users;
}

/* Remove a volume that no container (running or stopped) uses. The rule
 * holds for every caller (volume rm and prune, rm -v, --rm, a failed run):
 * checked under the store lock, so that no container can be created with
 * it meanwhile; -f does not lift it (Docker's rule). */
static int volume_remove(struct mr_store *st, const char *name, struct mr_err *err)
{
	char who[512];
	int rc;
	if (mr_store_lock(st, err) < 0)
		return -1;
	if (!volume_exists(st, name))
		rc = mr_err_set(err, MR_ENOTFOUND, "No such volume: %s", name);
	else if (container_users_of_volume(st, name, who, sizeof who) > 0)
		rc = mr_err_set(err, MR_EINUSE, "remove %s: volume is in use - [%s]", name, who);
	else
		rc = volume_remove_dir(st, name, err);
	mr_store_unlock(st);
	return rc;
}
