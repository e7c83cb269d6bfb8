/* ==== [19b] SPEC: front ends fill the container spec, one back end creates it ====
 * The spec is struct ctr ([14]). `run`/`create` and boot declarations ([21])
 * hand a struct ctr_opts to spec_from_opts, which merges it with the image
 * config by Docker's rules ([14] ctr_spec_*, [19] net_mode, net_run_opts); the
 * OCI runtime mode fills the same spec from a bundle's config.json
 * (spec_from_bundle [20b]: the process, root, hostname and sysctl go in the
 * fields above, the rest in struct ctr_oci). spec_create checks a spec,
 * prepares its mounts and records the container; [17] starts it
 * (ctr_start_detached for `run -d`, `start` and boot; ctr_run_attached). */

/* What a bundle says that the Docker-shaped fields of struct ctr cannot: its
 * mounts, devices, namespaces and process are the runtime-spec's own (a root
 * folder rather than image layers, mounts with every option, namespaces
 * joined by path, exact capability sets). Filled by spec_from_bundle [20b];
 * every array and string is owned by the spec (ctr_own) or points into its
 * doc (config.json). The args, env, cwd, terminal, noNewPrivileges,
 * hostname, root.readonly and sysctl of config.json are in struct ctr. */
struct ctr_oci_mount {
	const char *dest, *type, *src;     /* src: a bind's relative source resolved in the bundle */
	unsigned long flags, prop;         /* mount flags; propagation to apply after */
	const char *data;                  /* the filesystem's options, NULL: none */
};

struct ctr_oci_dev {
	const char *path;
	char type;                         /* 'c', 'b', 'u' or 'p' */
	unsigned major, minor;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

struct ctr_oci_rlimit {
	const char *name;                  /* "RLIMIT_NOFILE" */
	int res;                           /* RLIMIT_NOFILE */
	unsigned long long soft, hard;
};

struct ctr_oci_ns {
	int flag;                          /* CLONE_NEW* */
	const char *path;                  /* joined, e.g. /proc/PID/ns/net */
};

/* linux.resources, from config.json or `update`: the numbers by their index
 * in [20b]'s oci_res_keys (memory limit, cpu shares...; `set` has a bit for
 * each given and not 0, as runc writes nothing for a 0), the cpuset strings,
 * and the lists as given (devices rules, blockIO's weightDevice and
 * throttles, hugepageLimits, network priorities, unified). */
struct ctr_oci_res {
	int given;                         /* there was a resources object */
	unsigned set;
	int disable_oom;
	const char *cpus, *mems;
	const struct mr_json *devices, *blkio, *hugepages, *priorities, *unified;
	long long v[16];                   /* last: the fields above at one-byte offsets */
};

struct ctr_oci {
	const char *bundle, *rootfs;       /* absolute, resolved */
	/* process (config.json, or exec's process.json) */
	uid_t uid;
	gid_t gid, *groups;                /* additionalGids */
	size_t ngroups;
	int umask;                         /* -1: 022 */
	/* namespaces: ns_any has a bit per type listed, ns_new those made new;
	 * without CLONE_NEWNS the container stays in the caller's mount
	 * namespace (chroot, its mounts under the root undone by delete) */
	int ns_any, ns_new;
	struct ctr_oci_ns *ns_join;
	size_t nns_join;
	struct ctr_oci_dev *dev;           /* linux.devices */
	size_t ndev;
	struct ctr_oci_rlimit *rlimits;
	size_t nrlimits;
	unsigned cons_w, cons_h;
	/* seccomp: linux.seccomp as given, compiled by [16b] in the init and in
	 * exec (kept in the state record for exec) */
	const struct mr_json *seccomp;
	/* hooks and annotations: as given (also kept in the state record) */
	const struct mr_json *hooks;
	/* the fields above are the most used (one-byte offsets in x86-64 code) */
	int oom_set;
	long long oom_score_adj;
	uint64_t cap_bnd, cap_eff, cap_prm, cap_inh, cap_amb;
	const char *apparmor, *selinux;    /* accepted, with a warning */
	const char *uid_map, *gid_map;     /* text for /proc/PID/{uid,gid}_map, NULL: none */
	/* root and mounts */
	const char *rootfs_propagation, *mount_label, *domainname;
	struct ctr_oci_mount *mnt;
	size_t nmnt;
	const char **masked, **readonly_paths;   /* NULL-terminated */
	int personality;                   /* -1: as it is, else PER_LINUX or PER_LINUX32 */
	int intel_rdt;                     /* given: ignored with a warning */
	/* cgroup: cgroupsPath, and linux.resources (written by oci_cg_resources) */
	const char *cgroups_path;
	struct ctr_oci_res res;
	const struct mr_json *annotations; /* as given (also kept in the state record) */
};

/* The run/create front end: a new container's spec from the image and the
 * options. Nothing is made yet: an error leaves the store as it was. */
static int spec_from_opts(struct mr_store *st, const struct ctr_opts *o, struct ctr *c,
			  struct mr_err *err)
{
	const struct mr_json *cfg;
	ctr_init(c);
	if (!MINIRUN_WITH_CGROUPS && (o->memory || o->memory_swap || o->cpus || o->pids_limit))
		return mr_err_set(err, ENOTSUP, "resource limits: built without "
				  "MINIRUN_WITH_CGROUPS");
	if (ctr_spec_identity(c, o->name, err) < 0 || ctr_spec_image(st, o->image, c, err) < 0)
		return -1;
	cfg = mr_json_get(c->img.root, "config");
	if (ctr_spec_process(c, o, cfg, err) < 0 || ctr_spec_namespaces(c, o, err) < 0 ||
	    ctr_spec_lifecycle(c, o, cfg, err) < 0 || ctr_spec_resources(c, o, err) < 0 ||
	    ctr_spec_security(c, o, err) < 0)
		return -1;
	c->net_default = !o->network || !strcmp(o->network, "default");
	if (o->network && net_mode(st, c, o->network, err) < 0)
		return -1;
	if (net_run_opts(c, o->publish.v, o->publish.n, o->publish_all, o->add_host.v,
			 o->add_host.n, o->dns.v, o->dns.n, o->network_alias.v,
			 o->network_alias.n, cfg, err) < 0)
		return -1;
	return ctr_spec_mounts(st, o, c, cfg, err);
}

/* Checks that hold whoever filled the spec. */
static int spec_check(const struct ctr *c, struct mr_err *err)
{
	uint64_t caps;
	if (isolate_caps_resolve(c, &caps, err) < 0)
		return -1;
	if (ctr_ns_host(c->pid_mode) && (!MINIRUN_WITH_CGROUPS || !cg_v2_hier()))
		return mr_err_set(err, ENOTSUP, "--pid host: needs a cgroup2 hierarchy to find "
				  "the container's processes (none mounted%s)",
				  MINIRUN_WITH_CGROUPS ? "" : ", or built without MINIRUN_WITH_CGROUPS");
	return 0;
}

/* The back end: check the spec, make its volumes and folders, record the
 * container (its name claimed: `named` = the user chose it, so a clash is an
 * error rather than a reason to pick another). On failure nothing stays. */
static int spec_create(struct mr_store *st, struct ctr *c, int named, struct mr_err *err)
{
	if (spec_check(c, err) < 0 || ctr_mounts_prepare(st, c, err) < 0)
		return -1;
	util_scopy(c->driver, sizeof c->driver, rootfs_driver(st));
	ctr_now(c->created, sizeof c->created);
	if (ctr_create(st, c, named, err) < 0) {
		ctr_mounts_undo(st, c, c->nmnt);
		return -1;
	}
	return 0;
}

/* ---- rename (rename, and boot's rollouts) ---- */

/* Give container c a new name under the store lock: the new name claimed
 * first, the record saved, then the old name released and the network's
 * hosts files told (rename and boot's rollouts). */
static int ctr_rename(struct mr_store *st, struct ctr *c, const char *name, struct mr_err *err)
{
	char old[CTR_NAME_MAX];
	int rc = -1;
	util_scopy(old, sizeof old, c->name);
	if (mr_store_lock(st, err) < 0)
		return -1;
	if (ctr_name_claim(st, name, c->id, err) == 0) {
		util_scopy(c->name, sizeof c->name, name);
		if (ctr_save(st, c, -1, err) == 0) {
			ctr_name_release(st, old, c->id);
			net_names_update(st, c->network);
			rc = 0;
		} else {
			ctr_name_release(st, name, c->id);
			util_scopy(c->name, sizeof c->name, old);
		}
	}
	mr_store_unlock(st);
	return rc;
}
