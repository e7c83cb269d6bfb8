/* ==== [11] MOUNTS: volumes, bind mounts and tmpfs inside a container ====
 * Docker's three syntaxes (-v, --mount, --tmpfs) parse into one mount_spec.
 * Before the container starts, mount_prepare creates what must exist (a named
 * volume, a missing host folder for -v); inside the container's mount
 * namespace, before pivot_root, mount_apply resolves every target inside the
 * container's root (a symlink in the image cannot point a mount at the host)
 * and mounts onto the resolved fd through /proc/self/fd, so the path cannot
 * be swapped between the check and the mount. Nothing is ever copied but a
 * new, empty volume's first filling from the image. */

enum { MOUNT_VOLUME, MOUNT_BIND, MOUNT_TMPFS };

struct mount_spec {                 /* small fields first: one-byte offsets in x86 code */
	int type;
	int readonly;
	int nocopy;                     /* do not fill a new volume from the image */
	int anonymous;                  /* removed with the container (rm -v, --rm) */
	int created;                    /* the volume was made for this container now */
	int from_v;                     /* came from -v (kept in HostConfig.Binds) */
	unsigned long propagation;      /* MS_PRIVATE, MS_SLAVE, MS_SHARED (| MS_REC) */
	char mode[32];                  /* the -v options as given, for inspect */
	char tmpfs_opts[128];           /* size=..,mode=.. */
	char source[MINIRUN_MAX_PATH];  /* volume name or host path; "" for tmpfs */
	char target[MINIRUN_MAX_PATH];  /* absolute, inside the container */
};

static const struct { const char *name; unsigned long flags; } mount_propagations[] = {
	{ "rprivate", MS_PRIVATE | MS_REC }, { "private", MS_PRIVATE },
	{ "rslave", MS_SLAVE | MS_REC }, { "slave", MS_SLAVE },
	{ "rshared", MS_SHARED | MS_REC }, { "shared", MS_SHARED },
};

static const char *mount_propagation_name(unsigned long flags)
{
	size_t i;
	for (i = 0; i < sizeof mount_propagations / sizeof mount_propagations[0]; i++)
		if (mount_propagations[i].flags == flags)
			return mount_propagations[i].name;
	return "rprivate";
}

static int mount_set_propagation(struct mount_spec *m, const char *name)
{
	size_t i;
	for (i = 0; i < sizeof mount_propagations / sizeof mount_propagations[0]; i++)
		if (!strcmp(mount_propagations[i].name, name)) {
			m->propagation = mount_propagations[i].flags;
			return 0;
		}
	return -1;
}

/* An absolute path cleaned as Go's path.Clean does (Docker cleans a mount
 * destination before its checks): "//", "/./" and "x/.." go, ".." above the
 * root stays at the root, no trailing "/". `out` has at least strlen(in)+2. */
static void mount_clean(const char *in, char *out)
{
	size_t len = 0, n;
	const char *p = in;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "/");
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[--len] != '/') {}
		} else {
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
	}
	if (!len)
		out[len++] = '/';
	out[len] = 0;
}

static const char *const mount_type_names[] = { "volume", "bind", "tmpfs" };

/* The destination, cleaned first, then checked: relative paths and "/"
 * (also spelt "/..", "//", "/./x/..") are refused with Docker's words. m->type
 * must be known. */
static int mount_target_ok(struct mount_spec *m, const char *target, const char *arg,
			   struct mr_err *err)
{
	char clean[MINIRUN_MAX_PATH + 2];
	if (target[0] != '/')
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid mount config for %s: mount path "
				  "must be absolute", arg);
	if (strlen(target) >= MINIRUN_MAX_PATH)
		return mr_err_set(err, ENAMETOOLONG, "invalid mount config for %s: path too long", arg);
	mount_clean(target, clean);
	if (!strcmp(clean, "/"))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid mount config for type \"%s\": invalid "
				  "specification: destination can't be '/'", mount_type_names[m->type]);
	if (util_strlcpy(m->target, clean, sizeof m->target) < 0)
		return mr_err_set(err, ENAMETOOLONG, "invalid mount config for %s: path too long", arg);
	return 0;
}

/* `-v [SOURCE:]TARGET[:OPTIONS]`. */
static int mount_parse_v(const char *arg, struct mount_spec *m, struct mr_err *err)
{
	char buf[2 * MINIRUN_MAX_PATH], *parts[3] = { 0 }, *p, *opt, *save = NULL;
	int n = 0;
	memset(m, 0, sizeof *m);
	m->propagation = MS_PRIVATE | MS_REC;
	m->from_v = 1;
	if (util_strlcpy(buf, arg, sizeof buf) < 0 || !*arg)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid volume specification: '%s'", arg);
	for (p = buf; n < 3; n++) {
		parts[n] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = 0;
	}
	if (p || n == 3)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid volume specification: '%s'", arg);
	n++;
	if (n == 1) {
		m->type = MOUNT_VOLUME;
		m->anonymous = 1;
		return mount_target_ok(m, parts[0], arg, err);
	}
	if (n == 2 && parts[1][0] != '/') {
		/* "/target:ro": an anonymous volume with options */
		parts[2] = parts[1];
		parts[1] = parts[0];
		parts[0] = NULL;
		m->anonymous = 1;
	}
	if (!parts[0]) {
		m->type = MOUNT_VOLUME;
	} else if (parts[0][0] == '/') {
		m->type = MOUNT_BIND;
		util_scopy(m->source, sizeof m->source, parts[0]);
	} else if (volume_name_valid(parts[0])) {
		m->type = MOUNT_VOLUME;
		util_scopy(m->source, sizeof m->source, parts[0]);
	} else {
		return mr_err_set(err, MR_EINVAL_INPUT, "create %s: \"%s\" includes invalid characters "
				  "for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. "
				  "If you intended to pass a host directory, use absolute path", parts[0],
				  parts[0]);
	}
	if (mount_target_ok(m, parts[1], arg, err) < 0)
		return -1;
	if (parts[2]) {
		util_scopy(m->mode, sizeof m->mode, parts[2]);
		for (opt = strtok_r(parts[2], ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
			if (!strcmp(opt, "ro"))
				m->readonly = 1;
			else if (!strcmp(opt, "rw"))
				m->readonly = 0;
			else if (!strcmp(opt, "nocopy") && m->type == MOUNT_VOLUME)
				m->nocopy = 1;
			else if (util_one_of(opt, "z\0Z\0consistent\0cached\0delegated"))
				continue;  /* SELinux labels and macOS hints: nothing to do */
			else if (m->type == MOUNT_BIND && mount_set_propagation(m, opt) == 0)
				continue;
			else
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid mode: %s", opt);
		}
	}
	return 0;
}

/* One more tmpfs option: key and v, or key and size when v is NULL. */
static void mount_tmpfs_add(struct mount_spec *m, const char *key, const char *v, uint64_t size)
{
	size_t n = strlen(m->tmpfs_opts);
	const char *sep = n ? "," : "";
	if (v)
		snprintf(m->tmpfs_opts + n, sizeof m->tmpfs_opts - n, "%s%s%s", sep, key, v);
	else
		snprintf(m->tmpfs_opts + n, sizeof m->tmpfs_opts - n, "%s%s%" PRIu64, sep, key, size);
}

static int mount_bool(const char *v)
{
	return !v || !strcmp(v, "1") || !strcmp(v, "true");
}

/* `--mount type=volume|bind|tmpfs,source=..,target=..,readonly,...`. */
static int mount_parse_mount(const char *arg, struct mount_spec *m, struct mr_err *err)
{
	char buf[2 * MINIRUN_MAX_PATH], *kv, *save = NULL;
	const char *target = NULL, *why = NULL;
	int have_type = 0;
	memset(m, 0, sizeof *m);
	m->propagation = MS_PRIVATE | MS_REC;
	if (util_strlcpy(buf, arg, sizeof buf) < 0)
		return mr_err_set(err, ENAMETOOLONG, "invalid argument for --mount: too long");
	for (kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (v)
			*v++ = 0;
		if (!strcmp(kv, "type") && v) {
			have_type = 1;
			if (!strcmp(v, "volume"))
				m->type = MOUNT_VOLUME;
			else if (!strcmp(v, "bind"))
				m->type = MOUNT_BIND;
			else if (!strcmp(v, "tmpfs"))
				m->type = MOUNT_TMPFS;
			else
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for "
						  "\"--mount\" flag: unsupported mount type: %s", arg, v);
		} else if ((!strcmp(kv, "source") || !strcmp(kv, "src")) && v) {
			util_scopy(m->source, sizeof m->source, v);
		} else if (util_one_of(kv, "target\0destination\0dst") && v) {
			target = v;
		} else if (!strcmp(kv, "readonly") || !strcmp(kv, "ro")) {
			m->readonly = mount_bool(v);
		} else if (!strcmp(kv, "volume-nocopy")) {
			m->nocopy = mount_bool(v);
		} else if (!strcmp(kv, "bind-propagation") && v) {
			if (mount_set_propagation(m, v) < 0)
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid bind-propagation: %s", v);
		} else if (!strcmp(kv, "tmpfs-size") && v) {
			uint64_t size;
			if (util_parse_size(v, &size) < 0)
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid tmpfs-size: %s", v);
			mount_tmpfs_add(m, "size=", NULL, size);
		} else if (!strcmp(kv, "tmpfs-mode") && v) {
			if (strspn(v, "01234567") != strlen(v) || !*v || strlen(v) > 4)
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid tmpfs-mode: %s", v);
			mount_tmpfs_add(m, "mode=", v, 0);
		} else if (util_one_of(kv, "consistency\0volume-driver\0volume-label\0"
				       "bind-nonrecursive")) {
			continue;
		} else {
			return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for \"--mount\" "
					  "flag: unexpected key '%s' in '%s'", arg, kv, arg);
		}
	}
	if (!have_type)
		m->type = MOUNT_VOLUME;
	if (target && mount_target_ok(m, target, arg, err) < 0)
		return -1;
	if (!m->target[0])
		why = "target is required";
	else if (m->type == MOUNT_BIND && m->source[0] != '/')
		why = "bind source must be an absolute path";
	else if (m->type == MOUNT_VOLUME && m->source[0] && !volume_name_valid(m->source))
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid volume name: %s", m->source);
	else if (m->type == MOUNT_TMPFS && m->source[0])
		why = "source is not supported for tmpfs mounts";
	if (why)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid argument \"%s\" for \"--mount\" "
				  "flag: %s", arg, why);
	m->anonymous = m->type == MOUNT_VOLUME && !m->source[0];
	return 0;
}

/* `--tmpfs /path[:size=64m,mode=1777,...]`. */
static int mount_parse_tmpfs(const char *arg, struct mount_spec *m, struct mr_err *err)
{
	const char *colon = strchr(arg, ':');
	char target[MINIRUN_MAX_PATH];
	memset(m, 0, sizeof *m);
	m->type = MOUNT_TMPFS;
	util_scopyn(target, sizeof target, arg, colon ? (size_t)(colon - arg) : strlen(arg));
	if (mount_target_ok(m, target, arg, err) < 0)
		return -1;
	if (colon) {
		char opts[128], *o, *save = NULL;
		util_scopy(opts, sizeof opts, colon + 1);
		for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			uint64_t size;
			if (!strcmp(o, "ro"))
				m->readonly = 1;
			else if (util_starts_with(o, "size=") && util_parse_size(o + 5, &size) == 0)
				mount_tmpfs_add(m, "size=", NULL, size);
			else if (util_starts_with(o, "mode=") && strspn(o + 5, "01234567") == strlen(o + 5))
				mount_tmpfs_add(m, "", o, 0);
			else if (util_one_of(o, "rw\0noexec\0exec\0nosuid\0nodev\0suid\0dev"))
				continue;  /* applied as flags in mount_apply */
			else
				return mr_err_set(err, MR_EINVAL_INPUT, "invalid tmpfs option \"%s\" in %s",
						  o, arg);
		}
		util_scopyn(m->mode, sizeof m->mode, colon + 1, 31);
	}
	return 0;
}

/* Before the container exists: make the named volume (or an anonymous one
 * with a fresh name), check or create the host path of a bind. */
static int mount_prepare(struct mr_store *st, struct mount_spec *m, struct mr_err *err)
{
	struct stat sb;
	if (m->type == MOUNT_VOLUME) {
		char name[256];
		if (volume_create(st, m->source[0] ? m->source : NULL, NULL, 0, m->anonymous, name,
				  sizeof name, &m->created, err) < 0)
			return -1;
		util_scopy(m->source, sizeof m->source, name);
		return 0;
	}
	if (m->type != MOUNT_BIND)
		return 0;
	if (stat(m->source, &sb) == 0)
		return 0;
	if (errno != ENOENT || !m->from_v)
		return mr_err_set(err, MR_EINVAL_INPUT, "invalid mount config for type \"bind\": bind "
				  "source path does not exist: %s", m->source);
	/* -v creates a missing host folder, as Docker does. */
	{
		char path[MINIRUN_MAX_PATH], *p;
		util_scopy(path, sizeof path, m->source);
		for (p = path + 1;; p++) {
			if (*p == '/' || !*p) {
				char c = *p;
				*p = 0;
				if (mkdir(path, 0755) < 0 && errno != EEXIST)
					return mr_err_sys(err, "create bind source %s", path);
				*p = c;
				if (!c)
					break;
			}
		}
	}
	return 0;
}

/* The host path a mount comes from. */
static int mount_source_path(struct mr_store *st, const struct mount_spec *m, char *out,
			     size_t size)
{
	if (m->type == MOUNT_VOLUME)
		return volume_data_path(st, m->source, out, size);
	return snprintf(out, size, "%s", m->source) < (int)size ? 0 : -1;
}

/* Fill a new, empty volume with what the image has at the target (owner and
 * mode kept), once, as Docker does; `nocopy` skips it. rootfd is the
 * container's assembled root, before any mount is applied. */
static int mount_copy_up(struct mr_store *st, int rootfd, const struct mount_spec *m,
			 struct mr_err *err)
{
	char path[MINIRUN_MAX_PATH];
	int src, dst, rc;
	if (m->type != MOUNT_VOLUME || !m->created || m->nocopy)
		return 0;
	src = mr_open_in_root(rootfd, m->target, O_RDONLY | O_DIRECTORY, 0, err);
	if (src < 0)
		return 0;  /* nothing at that path in the image: nothing to copy */
	if (mount_source_path(st, m, path, sizeof path) < 0 ||
	    (dst = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		close(src);
		return mr_err_sys(err, "volume %s", m->source);
	}
	rc = tar_apply_layer_dir(src, dst, 0, err);
	close(src);
	close(dst);
	return rc < 0 ? mr_err_ctx(err, "copy %s into volume %s", m->target, m->source) : 0;
}

/* ---- mounting inside a root, through /proc/self/fd ---- */

static void mount_fdpath(char *out, size_t size, int fd)
{
	snprintf(out, size, "/proc/self/fd/%d", fd);
}

/* Open `path` in the new root: kind 'd' a folder (created when missing), 'f'
 * a file (created when missing), 'x' whatever exists (-1, errno ENOENT, when
 * it does not). */
static int mount_open_in(int rootfd, const char *path, int kind, struct mr_err *err)
{
	if (kind == 'd')
		return mr_mkdir_in_root(rootfd, path, 0755, err);
	if (kind == 'f') {
		int fd = mr_open_in_root(rootfd, path, O_PATH, 0, err);
		if (fd >= 0 || err->code != ENOENT)
			return fd;
		{
			/* its folder first: /etc may be missing in a tiny image */
			char dir[MINIRUN_MAX_PATH];
			const char *slash = strrchr(path, '/');
			if (slash && slash != path) {
				util_scopyn(dir, sizeof dir, path, (size_t)(slash - path));
				fd = mr_mkdir_in_root(rootfd, dir, 0755, err);
				if (fd < 0)
					return -1;
				close(fd);
			}
		}
		return mr_open_in_root(rootfd, path, O_RDONLY | O_CREAT, 0644, err);
	}
	return mr_open_in_root(rootfd, path, O_PATH, 0, err);
}

/* Mount onto `path` inside the new root. With MS_BIND|MS_RDONLY the bind is
 * made first and then remounted read-only through a fresh fd of the new
 * mount (the first fd still names what lies under it). */
static int mount_in_root(int rootfd, const char *path, int kind, const char *src,
			   const char *type, unsigned long flags, const char *data, struct mr_err *err)
{
	char target[40];
	int fd = mount_open_in(rootfd, path, kind, err), rc;
	if (fd < 0)
		return mr_err_ctx(err, "mount %s", path);
	mount_fdpath(target, sizeof target, fd);
	rc = mount(src, target, type, (flags & MS_BIND) ? (flags & (MS_BIND | MS_REC)) : flags, data);
	close(fd);
	if (rc < 0)
		return mr_err_sys(err, "mount %s on %s", type ? type : src, path);
	if ((flags & MS_BIND) && (flags & ~(MS_BIND | MS_REC))) {
		fd = mr_open_in_root(rootfd, path, O_PATH, 0, err);
		if (fd < 0)
			return mr_err_ctx(err, "remount %s", path);
		mount_fdpath(target, sizeof target, fd);
		rc = mount(NULL, target, NULL, MS_REMOUNT | (flags & ~MS_REC), NULL);
		close(fd);
		if (rc < 0)
			return mr_err_sys(err, "remount %s read-only", path);
	}
	return 0;
}

/* Is word one of the comma-separated options of opts? */
static int mount_opt_has(const char *opts, const char *word)
{
	size_t n = strlen(word);
	const char *p;
	for (p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, word, n) && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

/* Inside the container's mount namespace, before pivot_root: mount m at its
 * target resolved inside rootfd (nodev: without a device cgroup). */
static int mount_apply(struct mr_store *st, int rootfd, const struct mount_spec *m, int nodev,
		       struct mr_err *err)
{
	char src[MINIRUN_MAX_PATH], at[40];
	/* Docker's flags: binds and volumes none of their own (read-only with
	 * :ro), tmpfs rw,nosuid,nodev,noexec; nodev on all without a device
	 * policy */
	unsigned long ro = (m->readonly ? MS_RDONLY : 0) | (nodev ? MS_NODEV : 0);
	struct stat sb;
	int fd, rc;
	if (m->type == MOUNT_TMPFS)
		return mount_in_root(rootfd, m->target, 'd', "tmpfs", "tmpfs",
				     MS_NOSUID | MS_NODEV | (mount_opt_has(m->mode, "exec") ? 0 : MS_NOEXEC) |
				     (m->readonly ? MS_RDONLY : 0), m->tmpfs_opts, err);
	if (mount_source_path(st, m, src, sizeof src) < 0 || stat(src, &sb) < 0)
		return mr_err_sys(err, "mount %s on %s", m->source, m->target);
	if (mount_in_root(rootfd, m->target, S_ISDIR(sb.st_mode) ? 'd' : 'f', src, NULL,
			  MS_BIND | MS_REC | ro, NULL, err) < 0)
		return -1;
	fd = mr_open_in_root(rootfd, m->target, O_PATH, 0, err);
	if (fd < 0)
		return -1;
	mount_fdpath(at, sizeof at, fd);
	rc = mount(NULL, at, NULL, m->propagation ? m->propagation : (MS_PRIVATE | MS_REC), NULL);
	close(fd);
	return rc < 0 ? mr_err_sys(err, "mount %s on %s: propagation", m->source, m->target) : 0;
}

/* The record of a mount in a container's config, and `inspect`'s Mounts
 * entry (Docker's shape). */
static void mount_write_json(struct mr_jw *w, struct mr_store *st, const struct mount_spec *m,
			     int for_inspect)
{
	char src[MINIRUN_MAX_PATH];
	static const char *const types[] = { "volume", "bind", "tmpfs" };
	mr_jw_obj(w);
	json_kstr(w, "Type", types[m->type]);
	if (m->type == MOUNT_VOLUME) {
		json_kstr(w, "Name", m->source);
	}
	mr_jw_key(w, "Source");
	if (m->type == MOUNT_TMPFS)
		mr_jw_str(w, "");
	else if (mount_source_path(st, m, src, sizeof src) == 0)
		mr_jw_str(w, src);
	else
		mr_jw_str(w, "");
	json_kstr(w, "Destination", m->target);
	if (m->type == MOUNT_VOLUME) {
		json_kstr(w, "Driver", "local");
	}
	json_kstr(w, "Mode", m->type == MOUNT_VOLUME && !m->mode[0] ? "z" : m->mode);
	json_kbool(w, "RW", !m->readonly);
	json_kstr(w, "Propagation",
		  m->type == MOUNT_BIND ? mount_propagation_name(m->propagation) : "");
	if (!for_inspect) {
		json_kbool(w, "Anonymous", m->anonymous);
		json_kbool(w, "NoCopy", m->nocopy);
		json_kbool(w, "FromV", m->from_v);
		json_kstr(w, "TmpfsOptions", m->tmpfs_opts);
	}
	mr_jw_obj_end(w);
}

static int mount_read_json(const struct mr_json *v, struct mount_spec *m, struct mr_err *err)
{
	const char *type = json_get_str(v, "Type");
	const char *name = json_get_str(v, "Name");
	const char *src = json_get_str(v, "Source");
	const char *dst = json_get_str(v, "Destination");
	const char *mode = json_get_str(v, "Mode");
	const char *prop = json_get_str(v, "Propagation");
	const char *tmpfs = json_get_str(v, "TmpfsOptions");
	memset(m, 0, sizeof *m);
	if (!type || !dst || dst[0] != '/')
		return mr_err_set(err, MR_EINVAL_INPUT, "damaged mount record");
	m->type = !strcmp(type, "volume") ? MOUNT_VOLUME : !strcmp(type, "bind") ? MOUNT_BIND :
		  MOUNT_TMPFS;
	util_scopy(m->target, sizeof m->target, dst);
	if (m->type == MOUNT_VOLUME) {
		if (!name || !volume_name_valid(name))
			return mr_err_set(err, MR_EINVAL_INPUT, "damaged mount record: volume name");
		util_scopy(m->source, sizeof m->source, name);
	} else if (m->type == MOUNT_BIND) {
		if (!src || src[0] != '/')
			return mr_err_set(err, MR_EINVAL_INPUT, "damaged mount record: bind source");
		util_scopy(m->source, sizeof m->source, src);
	}
	util_scopy(m->mode, sizeof m->mode, mode && strcmp(mode, "z") ? mode : "");
	m->readonly = json_type(v, "RW") == MR_JSON_FALSE;
	m->anonymous = json_type(v, "Anonymous") == MR_JSON_TRUE;
	m->nocopy = json_type(v, "NoCopy") == MR_JSON_TRUE;
	m->from_v = json_type(v, "FromV") == MR_JSON_TRUE;
	m->propagation = MS_PRIVATE | MS_REC;
	if (prop && *prop)
		mount_set_propagation(m, prop);
	util_scopy(m->tmpfs_opts, sizeof m->tmpfs_opts, tmpfs ? tmpfs : "");
	return 0;
}
