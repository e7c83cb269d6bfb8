/* ==== [03] FS: fds, paths resolved inside a root, atomic files, safe removal ====
 * Three rules of the store live here (DESIGN.md): Contained (paths from archives,
 * `cp` and mount targets are resolved as if the root were "/"), Atomic (files
 * appear by rename after fsync), and Never crosses a mount while deleting. */

/* Open folder path in dfd, never through a symlink at its end. */
static int fs_open_dir(int dfd, const char *path)
{
	return openat(dfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Split off the first component of *path (skipping slashes); returns its length
 * and advances *path past it, or 0 at the end. */
static size_t fs_next_component(const char **path, const char **comp)
{
	const char *p = *path;
	size_t n = 0;
	while (*p == '/')
		p++;
	*comp = p;
	while (p[n] && p[n] != '/')
		n++;
	*path = p + n;
	return n;
}

static int fs_is_last(const char *rest)
{
	while (*rest == '/')
		rest++;
	return *rest == 0;
}

/* Re-open a resolved relative path (known to hold only directories, no "..",
 * no symlinks) from the root; O_NOFOLLOW on every step, so a component swapped
 * for a symlink meanwhile fails instead of leading outside. */
static int fs_reopen_resolved(int rootfd, const char *resolved)
{
	const char *p = resolved, *comp;
	size_t n;
	int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	char name[NAME_MAX + 1];
	while (cur >= 0 && (n = fs_next_component(&p, &comp)) > 0) {
		int next;
		memcpy(name, comp, n);
		name[n] = 0;
		next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(cur);
		cur = next;
	}
	return cur;
}

/* The component walk behind mr_open_in_root when openat2 is missing, and behind
 * mr_mkdir_in_root always: it emulates RESOLVE_IN_ROOT ("..", absolute symlinks
 * and relative symlinks are all clamped at the root). With `mkdirs`, missing
 * folders are created and the final fd is the last folder. */
static int fs_walk_in_root(int rootfd, const char *path, int flags, mode_t mode,
			   int mkdirs, struct mr_err *err)
{
	char *todo = NULL, *resolved = NULL;
	const char *p, *comp;
	char name[NAME_MAX + 1];
	int cur = -1, links = 0, result = -1;
	size_t n, todo_size = 2 * MINIRUN_MAX_PATH;

	if (strlen(path) >= MINIRUN_MAX_PATH)
		return mr_err_set(err, ENAMETOOLONG, "path %.64s...: too long", path);
	todo = util_xmalloc(todo_size);
	resolved = util_xmalloc(MINIRUN_MAX_PATH);
	snprintf(todo, todo_size, "%s", path);
	resolved[0] = 0;
	cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0) {
		mr_err_sys(err, "open root");
		goto out;
	}
	p = todo;
	while ((n = fs_next_component(&p, &comp)) > 0) {
		int last = fs_is_last(p);
		struct stat st;
		if (n > NAME_MAX) {
			mr_err_set(err, ENAMETOOLONG, "path %s: component too long", path);
			goto out;
		}
		memcpy(name, comp, n);
		name[n] = 0;
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			char *slash = strrchr(resolved, '/');
			if (slash)
				*slash = 0;
			else
				resolved[0] = 0;
			close(cur);
			cur = fs_reopen_resolved(rootfd, resolved);
			if (cur < 0) {
				mr_err_sys(err, "path %s", path);
				goto out;
			}
			continue;
		}
		if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
		    (!last || !(flags & O_NOFOLLOW))) {
			char target[MINIRUN_MAX_PATH];
			ssize_t tl = readlinkat(cur, name, target, sizeof target - 1);
			size_t restlen = strlen(p);
			if (tl < 0) {
				mr_err_sys(err, "path %s: readlink %s", path, name);
				goto out;
			}
			target[tl] = 0;
			if (++links > MINIRUN_MAX_SYMLINKS) {
				mr_err_set(err, ELOOP, "path %s: too many levels of symbolic links", path);
				goto out;
			}
			if ((size_t)tl + restlen + 2 > todo_size) {
				mr_err_set(err, ENAMETOOLONG, "path %s: too long after symlinks", path);
				goto out;
			}
			/* Splice the link target in front of what is left to walk. */
			memmove(todo + tl + 1, p, restlen + 1);
			memcpy(todo, target, (size_t)tl);
			todo[tl] = '/';
			p = todo;
			if (target[0] == '/') {
				resolved[0] = 0;
				close(cur);
				cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
				if (cur < 0) {
					mr_err_sys(err, "open root");
					goto out;
				}
			}
			continue;
		}
		if (!last || mkdirs) {
			int next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0 && errno == ENOENT && mkdirs) {
				if (mkdirat(cur, name, mode) < 0 && errno != EEXIST) {
					mr_err_sys(err, "create folder %s in %s", name, path);
					goto out;
				}
				next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			}
			if (next < 0) {
				mr_err_sys(err, "path %s: %s", path, name);
				goto out;
			}
			close(cur);
			cur = next;
			if (strlen(resolved) + n + 2 > MINIRUN_MAX_PATH) {
				mr_err_set(err, ENAMETOOLONG, "path %s: too long", path);
				goto out;
			}
			if (resolved[0])
				strcat(resolved, "/");
			strcat(resolved, name);
			continue;
		}
		/* The last component, not a symlink to follow: open it without
		 * following, so a symlink swapped in after the check fails. */
		result = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		if (result < 0)
			mr_err_sys(err, "open %s", path);
		goto out;
	}
	/* The path ended on a folder (the root itself, ".", ".." or mkdirs). */
	if (mkdirs || (flags & O_PATH)) {
		result = cur;
		cur = -1;
	} else {
		result = openat(cur, ".", flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW), mode);
		if (result < 0)
			mr_err_sys(err, "open %s", path);
	}
out:
	if (cur >= 0)
		close(cur);
	free(todo);
	free(resolved);
	return result;
}

/* see minirun.h */
int mr_open_in_root(int rootfd, const char *path, int flags, mode_t mode, struct mr_err *err)
{
	int fd = compat_openat2(rootfd, *path ? path : ".", flags | O_CLOEXEC,
				(flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
				RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd >= 0)
		return fd;
	if (errno != ENOSYS)
		return mr_err_sys(err, "open %s", path);
	return fs_walk_in_root(rootfd, path, flags, mode, 0, err);
}

/* see minirun.h */
int mr_mkdir_in_root(int rootfd, const char *path, mode_t mode, struct mr_err *err)
{
	return fs_walk_in_root(rootfd, path, O_PATH | O_DIRECTORY, mode, 1, err);
}

/* see minirun.h */
int mr_fsync_dir(int dirfd, struct mr_err *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		mr_err_sys(err, "fsync folder");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* see minirun.h */
int mr_write_atomic(int dirfd, const char *name, const void *data, size_t len,
		    mode_t mode, struct mr_err *err)
{
	char tmp[NAME_MAX + 1];
	int fd;
	if (snprintf(tmp, sizeof tmp, ".tmp.%d.%.200s", (int)getpid(), name) >= (int)sizeof tmp)
		return mr_err_set(err, ENAMETOOLONG, "write %s: name too long", name);
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return mr_err_sys(err, "write %s", name);
	if (util_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		mr_err_sys(err, "write %s", name);
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		mr_err_sys(err, "write %s: rename", name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return mr_fsync_dir(dirfd, err);
}

/* see minirun.h */
int mr_read_file(int dirfd, const char *name, struct mr_buf *buf, size_t max, struct mr_err *err)
{
	char chunk[4096];
	ssize_t r;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mr_err_sys(err, "read %s", name);
	buf->len = 0;
	mr_buf_append(buf, NULL, 0);
	while ((r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			mr_err_sys(err, "read %s", name);
			close(fd);
			return -1;
		}
		if (buf->len + (size_t)r > max) {
			close(fd);
			return mr_err_set(err, EFBIG, "read %s: larger than %zu bytes", name, max);
		}
		mr_buf_append(buf, chunk, (size_t)r);
	}
	close(fd);
	return 0;
}

/* Identity of the mount a folder fd is on: the mount id where statx reports it
 * (bind mounts of the same filesystem differ there), else the device. */
struct fs_mount_key {
	uint64_t mnt_id;
	dev_t dev;
};

static int fs_mount_key(int fd, struct fs_mount_key *key)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	key->dev = st.st_dev;
	key->mnt_id = compat_mount_id(fd, NULL);
	return 0;
}

static int fs_same_mount(const struct fs_mount_key *a, const struct fs_mount_key *b)
{
	if (a->mnt_id && b->mnt_id)
		return a->mnt_id == b->mnt_id;
	return a->dev == b->dev;
}

/* One pass over the folder fd: unlink every entry that is not a folder, and
 * stop at the first folder, its name copied to `sub` (sub[0] == 0: none
 * left). */
static int fs_unlink_files(int fd, const char *where, char sub[NAME_MAX + 1], struct mr_err *err)
{
	DIR *d;
	struct dirent *de;
	int rc = 0, dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	sub[0] = 0;
	if (dupfd < 0 || !(d = fdopendir(dupfd))) {
		if (dupfd >= 0)
			close(dupfd);
		return mr_err_sys(err, "remove %s", where);
	}
	/* A dup shares the offset: start from the top whoever read it before. */
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno == EISDIR || errno == EPERM) {
			snprintf(sub, NAME_MAX + 1, "%s", de->d_name);
			break;
		}
		rc = mr_err_sys(err, "remove %s/%s", where, de->d_name);
		break;
	}
	closedir(d);
	return rc;
}

/* Open the sub-folder `name` of fd to delete inside it: never through a
 * symlink, never onto another mount (openat2 refuses any mount crossing,
 * bind mounts of the same filesystem too, where the kernel has it). */
static int fs_open_sub(int fd, const char *name, const struct fs_mount_key *top, const char *where,
		       struct mr_err *err)
{
	struct fs_mount_key key;
	int sub = compat_openat2(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0,
				 RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS);
	if (sub < 0 && errno != EXDEV)
		sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0 && errno != EXDEV)
		return mr_err_sys(err, "remove %s/%s", where, name);
	if (sub < 0 || fs_mount_key(sub, &key) < 0 || !fs_same_mount(&key, top)) {
		if (sub >= 0)
			close(sub);
		return mr_err_set(err, EXDEV, "remove %s/%s: another filesystem is mounted there; "
				  "refusing to delete through a mount", where, name);
	}
	return sub;
}

/* Remove everything inside the open folder fd (not the folder itself),
 * whatever the depth, with a fixed number of descriptors: one folder is open
 * at a time; going down records the folder left (device, inode, and the
 * name to remove on the way back), going up opens ".." and checks it is that
 * folder, so a folder moved meanwhile stops the removal instead of leading
 * it elsewhere. Memory grows with the depth (a name per level), descriptors
 * do not. */
static int fs_empty_dir(int fd, const struct fs_mount_key *top, const char *where,
			struct mr_err *err)
{
	struct fs_level { dev_t dev; ino_t ino; size_t name; } *lv = NULL;
	struct mr_buf names = { 0 };
	size_t n = 0, cap = 0;
	char sub[NAME_MAX + 1];
	struct stat sb;
	int rc = 0, cur = fcntl(fd, F_DUPFD_CLOEXEC, 3), next;
	if (cur < 0)
		return mr_err_sys(err, "remove %s", where);
	for (;;) {
		rc = fs_unlink_files(cur, where, sub, err);
		if (rc < 0)
			break;
		if (sub[0]) {
			/* down into the first folder left */
			if (fstat(cur, &sb) < 0) {
				rc = mr_err_sys(err, "remove %s", where);
				break;
			}
			next = fs_open_sub(cur, sub, top, where, err);
			if (next < 0) {
				rc = -1;
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				lv = util_xrealloc(lv, cap * sizeof *lv);
			}
			lv[n].dev = sb.st_dev;
			lv[n].ino = sb.st_ino;
			lv[n++].name = names.len;
			mr_buf_append(&names, sub, strlen(sub) + 1);
			close(cur);
			cur = next;
			continue;
		}
		if (n == 0)
			break;                  /* the top folder is empty */
		/* up, then remove the folder just emptied */
		next = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (next < 0 || fstat(next, &sb) < 0 || sb.st_dev != lv[n - 1].dev ||
		    sb.st_ino != lv[n - 1].ino) {
			if (next >= 0)
				close(next);
			rc = mr_err_set(err, ESTALE, "remove %s: a folder moved while it was being "
					"removed", where);
			break;
		}
		close(cur);
		cur = next;
		n--;
		if (unlinkat(cur, names.data + lv[n].name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
			rc = mr_err_sys(err, "remove %s/%s", where, names.data + lv[n].name);
			break;
		}
		names.len = lv[n].name;
	}
	close(cur);
	free(lv);
	mr_buf_free(&names);
	return rc;
}

/* Fail, naming it, if anything under the open folder fd is another mount
 * (checked before a removal that must not half-happen). Any depth with a
 * fixed number of descriptors, as fs_empty_dir: one folder open at a time,
 * the place in each folder above kept as the telldir() cookie of the
 * sub-folder's entry and its inode. Going back, the entry at the cookie must
 * be that sub-folder; else (a cookie that does not round-trip: a 32-bit
 * process under qemu-user on a 64-bit kernel gets 64-bit ext4 hash offsets
 * cut to a long) the folder is read again from its start up to it. */
static int fs_check_no_mounts(int fd, const struct fs_mount_key *top, const char *where,
			      int depth, struct mr_err *err)
{
	struct fs_pos { dev_t dev; ino_t ino, child; long at; } *lv = NULL;
	size_t n = 0, cap = 0;
	long at = 0, pos;
	ino_t child = 0, back = 0;
	int rc = 0, cur = fcntl(fd, F_DUPFD_CLOEXEC, 3), dupfd, sub;
	struct stat sb;
	(void)depth;
	if (cur < 0)
		return mr_err_sys(err, "%s", where);
	for (;;) {
		DIR *d;
		struct dirent *de;
		sub = -1;
		dupfd = fcntl(cur, F_DUPFD_CLOEXEC, 3);
		if (dupfd < 0 || !(d = fdopendir(dupfd))) {
			if (dupfd >= 0)
				close(dupfd);
			rc = mr_err_sys(err, "%s", where);
			break;
		}
		if (back) {
			/* past the sub-folder just checked */
			seekdir(d, at);
			de = readdir(d);
			if (!de || de->d_ino != back) {
				rewinddir(d);
				while ((de = readdir(d)) != NULL && de->d_ino != back) {}
			}
			if (!de)
				rc = mr_err_set(err, ESTALE, "%s: a folder moved while it was being "
						"checked", where);
			back = 0;
		} else {
			rewinddir(d);
		}
		while (rc == 0 && sub < 0 && ((pos = telldir(d)), (de = readdir(d)) != NULL)) {
			struct fs_mount_key key;
			if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
				/* a file bind-mounted here has another mount id too */
				uint64_t id = compat_mount_id(cur, de->d_name);
				if (id && top->mnt_id && id != top->mnt_id)
					rc = mr_err_set(err, EXDEV, "%s/%s: another filesystem is mounted "
							"there", where, de->d_name);
				continue;
			}
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			sub = openat(cur, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;
			at = pos;
			child = de->d_ino;
			if (fs_mount_key(sub, &key) < 0 || !fs_same_mount(&key, top)) {
				rc = mr_err_set(err, EXDEV, "%s/%s: another filesystem is mounted there",
						where, de->d_name);
				close(sub);
				sub = -1;
			}
		}
		closedir(d);
		if (rc < 0)
			break;
		if (sub >= 0) {
			/* down, remembering where to go on in this folder */
			if (fstat(cur, &sb) < 0) {
				close(sub);
				rc = mr_err_sys(err, "%s", where);
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				lv = util_xrealloc(lv, cap * sizeof *lv);
			}
			lv[n].dev = sb.st_dev;
			lv[n].ino = sb.st_ino;
			lv[n].child = child;
			lv[n++].at = at;
			close(cur);
			cur = sub;
			continue;
		}
		if (n == 0)
			break;
		sub = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0 || fstat(sub, &sb) < 0 || sb.st_dev != lv[n - 1].dev ||
		    sb.st_ino != lv[n - 1].ino) {
			if (sub >= 0)
				close(sub);
			rc = mr_err_set(err, ESTALE, "%s: a folder moved while it was being checked",
					where);
			break;
		}
		close(cur);
		cur = sub;
		n--;
		at = lv[n].at;
		back = lv[n].child;
	}
	close(cur);
	free(lv);
	return rc;
}

/* see minirun.h */
int mr_remove_tree(int dirfd, const char *name, struct mr_err *err)
{
	struct fs_mount_key parent, key;
	int fd, rc;
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return mr_err_sys(err, "remove %s", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mr_err_sys(err, "remove %s", name);
	if (fs_mount_key(dirfd, &parent) < 0 || fs_mount_key(fd, &key) < 0) {
		close(fd);
		return mr_err_sys(err, "remove %s", name);
	}
	if (!fs_same_mount(&parent, &key)) {
		close(fd);
		return mr_err_set(err, EXDEV, "remove %s: it is a mount point; refusing to "
				  "delete through a mount", name);
	}
	rc = fs_empty_dir(fd, &key, name, err);
	close(fd);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return mr_err_sys(err, "remove %s", name);
	return rc;
}
