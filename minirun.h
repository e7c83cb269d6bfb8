/*
 * minirun.h - public API, feature flags and limits of minirun, a daemonless
 * container runtime for embedded Linux in one static binary.
 *
 * Layout (see STYLE.md): 1. version, 2. optional user preset, 3. feature defaults
 * (the only place they are set) and limits, 4. derived flags and consistency
 * checks, 5. public types and prototypes.
 */
#ifndef MINIRUN_H
#define MINIRUN_H

/* ==== 1. Version ==== */
#define MINIRUN_VERSION "0.1.0"

/* ==== 2. Optional preset (a file in configs/, chosen by `make CONFIG=name`) ==== */
#ifdef MINIRUN_CONFIG
#include MINIRUN_CONFIG
#endif

#ifndef MINIRUN_PRESET
#define MINIRUN_PRESET "custom"
#endif

/* ==== 3. Feature defaults: 1 = compiled in, 0 = compiled out ====
 * Sizes are the growth of the stripped x86_64 binary, measured with `make size`
 * by toggling the one flag in the full preset (see README, "Feature flags"). */

/* Registry client: `pull`, `login`, `logout`, HTTP/1.1, bearer/basic auth,
 * with minirun's own name lookup (hosts, DNS). About 29 KB without TLS. */
#ifndef MINIRUN_WITH_PULL
#define MINIRUN_WITH_PULL 1
#endif

/* HTTPS for pulls through BearSSL (TLS 1.2 client, X.509 chain and host name
 * checks against the system CA bundle). The largest flag: about 52 KB with
 * minirun's BearSSL profile (ECDHE, AES-GCM, ChaCha20-Poly1305). */
#ifndef MINIRUN_WITH_TLS
#define MINIRUN_WITH_TLS 1
#endif

/* zstd-compressed layers (application/vnd.oci.image.layer.v1.tar+zstd).
 * Decompression-only libzstd: 31 KB minified with its sequence decoder
 * inlined (`make flag-sizes`), about 109 KB with the full-speed decoder
 * (`make ZSTD=fast`, 1.4x faster). */
#ifndef MINIRUN_WITH_ZSTD
#define MINIRUN_WITH_ZSTD 1
#endif

/* gzip-compressed layers and archives (zlib inflate only). 12 KB. */
#ifndef MINIRUN_WITH_GZIP
#define MINIRUN_WITH_GZIP 1
#endif

/* overlayfs root filesystems; without it the copy driver builds each root.
 * About 1 KB; the copy driver is always present as the fallback. */
#ifndef MINIRUN_WITH_OVERLAY
#define MINIRUN_WITH_OVERLAY 1
#endif

/* Bridge networking, veth pairs, published ports, `network` commands,
 * masquerading (rtnetlink, nf_tables netlink). Without it only
 * `--network host|none` work. About 24 KB (x86_64). */
#ifndef MINIRUN_WITH_NET
#define MINIRUN_WITH_NET 1
#endif

/* Resource limits through cgroup v2 and v1 (--memory, --cpus, --pids-limit),
 * `stats`, and the device policy (a cgroup BPF program, or the v1 devices
 * controller; without cgroups the roots are mounted nodev). About 6 KB. */
#ifndef MINIRUN_WITH_CGROUPS
#define MINIRUN_WITH_CGROUPS 1
#endif

/* Docker's default seccomp profile as a BPF filter built at start (a deny
 * list of the calls Docker refuses, lifted by the same capabilities; clone
 * with namespace flags, personality, other arches). Costs about 1.4 KB. */
#ifndef MINIRUN_WITH_SECCOMP
#define MINIRUN_WITH_SECCOMP 1
#endif

/* Seccomp profiles given as JSON: config.json's linux.seccomp (OCI runtime
 * mode) and `--security-opt seccomp=FILE`, compiled to BPF by minirun's own
 * compiler (no libseccomp) with the syscall tables of the arches the binary
 * runs. 10,744 bytes (x86_64, with its x86_64 and x86 tables; 2026-12-08).
 * Needs MINIRUN_WITH_SECCOMP. Off, seccomp=FILE and config.json's
 * linux.seccomp are refused, naming the flag. */
#ifndef MINIRUN_WITH_SECCOMP_PROFILE
#define MINIRUN_WITH_SECCOMP_PROFILE MINIRUN_WITH_SECCOMP
#endif

/* Boot mode: declarative container files, `up`, `down`, `init` as PID 1
 * (also straight on an initramfs). About 12 KB. */
#ifndef MINIRUN_WITH_INIT
#define MINIRUN_WITH_INIT 1
#endif

/* OCI runtime mode: runc's command line (create/start/exec/kill/delete/ps/
 * pause/update/...) on bundles with a runtime-spec config.json, so that
 * containerd, Docker and k3s can use minirun as their runc. 37,256 bytes
 * (full preset, x86_64, 2026-12-08). Needs MINIRUN_WITH_CGROUPS; off, a runc-style call answers "built without". */
#ifndef MINIRUN_WITH_OCI
#define MINIRUN_WITH_OCI 1
#endif

/* Go templates for --format (inspect, images, history, stats, volume and
 * network ls; `ps --format` has its own field-only renderer and stays):
 * range, if, pipelines, functions. About 12.7 KB. Off, --format answers
 * "built without MINIRUN_WITH_FORMAT". */
#ifndef MINIRUN_WITH_FORMAT
#define MINIRUN_WITH_FORMAT 1
#endif

/* `stats`, `top` and `system df` (a live view of the containers' cgroups,
 * their processes, the store's disk use). About 12 KB. Off, each answers
 * "built without MINIRUN_WITH_STATS". */
#ifndef MINIRUN_WITH_STATS
#define MINIRUN_WITH_STATS 1
#endif

/* `history` (`image history`): the layers an image was built from, as
 * Docker lists them. About 2 KB. */
#ifndef MINIRUN_WITH_HISTORY
#define MINIRUN_WITH_HISTORY 1
#endif

/* `cp`: files and folders between a container and the host, as tar
 * streams or paths. About 8 KB. */
#ifndef MINIRUN_WITH_CP
#define MINIRUN_WITH_CP 1
#endif

/* `container prune`, `image prune`, `volume prune`, `network prune`,
 * `system prune` (`rm`, `rmi`, `volume rm` and `check --repair` stay).
 * About 4.5 KB. */
#ifndef MINIRUN_WITH_PRUNE
#define MINIRUN_WITH_PRUNE 1
#endif

/* The one-line texts of `--help` for every flag and command. About 7.5 KB.
 * Off, `--help` lists the names alone (usage lines and errors stay). */
#ifndef MINIRUN_WITH_HELP
#define MINIRUN_WITH_HELP 1
#endif

/* Limits. Every input from outside is bounded by one of these. */
#ifndef MINIRUN_MAX_JSON
#define MINIRUN_MAX_JSON (1u << 20)   /* bytes of one manifest, config or index */
#endif
#ifndef MINIRUN_MAX_JSON_DEPTH
#define MINIRUN_MAX_JSON_DEPTH 64
#endif
#ifndef MINIRUN_MAX_LAYERS
#define MINIRUN_MAX_LAYERS 128        /* layers in one image */
#endif
#ifndef MINIRUN_MAX_PATH
#define MINIRUN_MAX_PATH 4096         /* one path inside an archive or a root */
#endif
#ifndef MINIRUN_MAX_SYMLINKS
#define MINIRUN_MAX_SYMLINKS 40       /* symlinks followed while resolving one path */
#endif
#ifndef MINIRUN_DEFAULT_ROOT
#define MINIRUN_DEFAULT_ROOT "/var/lib/minirun"
#endif
#ifndef MINIRUN_DEFAULT_RUNDIR
#define MINIRUN_DEFAULT_RUNDIR "/run/minirun"
#endif

/* ==== 4. Derived flags and consistency checks ==== */
#if MINIRUN_WITH_TLS && !MINIRUN_WITH_PULL
#error "MINIRUN_WITH_TLS needs MINIRUN_WITH_PULL (TLS is only used by the registry client)"
#endif
#if MINIRUN_WITH_SECCOMP_PROFILE && !MINIRUN_WITH_SECCOMP
#error "MINIRUN_WITH_SECCOMP_PROFILE needs MINIRUN_WITH_SECCOMP"
#endif
#if MINIRUN_WITH_PULL && !MINIRUN_WITH_GZIP
#error "MINIRUN_WITH_PULL needs MINIRUN_WITH_GZIP: registries serve gzip layers"
#endif
#if MINIRUN_WITH_OCI && !MINIRUN_WITH_CGROUPS
#error "MINIRUN_WITH_OCI needs MINIRUN_WITH_CGROUPS: runc's contract has cgroupsPath, resources, pause and the device policy"
#endif

/* ==== 5. Public types and prototypes ==== */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* An error: a code (an errno value, or one of MR_E*) and a message that callers
 * prefix with context on the way up. Fixed size, so failing never allocates. */
struct mr_err {
	int code;
	char msg[512];
};

/* Error codes beyond errno values. */
enum {
	MR_EINVAL_INPUT = 1000, /* malformed input: archive, JSON, flag */
	MR_ENOTFOUND,           /* no such image, container, volume */
	MR_EVERIFY,             /* digest or size mismatch */
	MR_EUNSAFE,             /* path escaping its root, hostile entry */
	MR_EDISABLED,           /* feature compiled out */
	MR_EINUSE,              /* object still used by another */
	MR_EEXIST,              /* name already taken */
};

/* Set err (code, formatted message); always returns -1 so callers can
 * `return mr_err_set(...)`. */
int mr_err_set(struct mr_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like mr_err_set with code = errno, appending ": strerror(errno)". */
int mr_err_sys(struct mr_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix the existing message with "context: ". Returns -1. */
int mr_err_ctx(struct mr_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A growable byte buffer (always NUL-terminated when len > 0 or after appends). */
struct mr_buf {
	char *data;
	size_t len, cap;
};
int mr_buf_append(struct mr_buf *b, const void *data, size_t len);
int mr_buf_printf(struct mr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mr_buf_free(struct mr_buf *b);

/* ---- JSON (section JSON) ---- */
enum mr_json_type {
	MR_JSON_NULL, MR_JSON_FALSE, MR_JSON_TRUE, MR_JSON_NUMBER,
	MR_JSON_STRING, MR_JSON_ARRAY, MR_JSON_OBJECT
};
/* One value of a parsed document. Object members and array items are a linked
 * list through `next`; a member's name is `key`. Strings are NUL-terminated
 * (and may contain NUL: use len). */
struct mr_json {
	enum mr_json_type type;
	const char *key;          /* member name when inside an object, else NULL */
	size_t key_len;
	const char *str;          /* MR_JSON_STRING: decoded UTF-8; NUMBER: source text */
	size_t len;
	double num;               /* MR_JSON_NUMBER */
	struct mr_json *child;    /* ARRAY / OBJECT: first item */
	size_t count;             /* ARRAY / OBJECT: number of items */
	struct mr_json *next;
};
/* A parsed document owns all its values in one arena. */
struct mr_json_doc {
	struct mr_json *root;
	void *arena;
};
/* Parse `len` bytes of JSON. Limits: MINIRUN_MAX_JSON bytes, MINIRUN_MAX_JSON_DEPTH
 * nesting. On error: -1 and a message with the byte offset. */
int mr_json_parse(struct mr_json_doc *doc, const char *text, size_t len, struct mr_err *err);
void mr_json_free(struct mr_json_doc *doc);
/* Member of an object by name (NULL if absent or v is not an object). */
const struct mr_json *mr_json_get(const struct mr_json *obj, const char *key);
/* String value or NULL if v is NULL or not a string. */
const char *mr_json_str(const struct mr_json *v);
/* Item i of an array or NULL. */
const struct mr_json *mr_json_at(const struct mr_json *arr, size_t i);

/* JSON writer over an mr_buf, with commas and indentation handled. indent = 0
 * writes compact JSON; > 0 pretty-prints with that many spaces (Docker's inspect
 * uses 4). */
struct mr_jw {
	struct mr_buf *out;
	int indent;
	int depth;
	unsigned char need_comma[MINIRUN_MAX_JSON_DEPTH + 1];
	unsigned char after_key;
	int failed;               /* set on allocation failure; checked at the end */
};
void mr_jw_init(struct mr_jw *w, struct mr_buf *out, int indent);
void mr_jw_obj(struct mr_jw *w);          /* { */
void mr_jw_obj_end(struct mr_jw *w);      /* } */
void mr_jw_arr(struct mr_jw *w);          /* [ */
void mr_jw_arr_end(struct mr_jw *w);      /* ] */
void mr_jw_key(struct mr_jw *w, const char *key);
void mr_jw_str(struct mr_jw *w, const char *s);        /* NULL writes null */
void mr_jw_strn(struct mr_jw *w, const char *s, size_t n);
void mr_jw_int(struct mr_jw *w, long long v);
void mr_jw_bool(struct mr_jw *w, int v);
void mr_jw_null(struct mr_jw *w);
/* Copy a parsed value (and everything below it) into the writer. */
void mr_jw_value(struct mr_jw *w, const struct mr_json *v);

/* ---- Digests (section DIGEST) ---- */
#define MR_DIGEST_LEN 71  /* "sha256:" + 64 hex */
/* 0 if s is exactly "sha256:" followed by 64 lowercase hex digits. */
int mr_digest_valid(const char *s);
/* sha256 of a buffer as "sha256:<hex>" into out[MR_DIGEST_LEN + 1]. */
void mr_digest_buf(const void *data, size_t len, char out[MR_DIGEST_LEN + 1]);

/* ---- Files, paths and folders (section FS) ---- */
/* Open `path` inside the folder `rootfd` as if rootfd were "/": "..", absolute
 * paths and symlinks (absolute or relative) never leave it. openat2 with
 * RESOLVE_IN_ROOT where the kernel has it, else a component-by-component walk
 * with O_NOFOLLOW. flags as for openat (O_CLOEXEC is added). */
int mr_open_in_root(int rootfd, const char *path, int flags, mode_t mode, struct mr_err *err);
/* Create every missing folder of `path` inside rootfd (resolved as above) and
 * return an O_DIRECTORY fd of the last one. */
int mr_mkdir_in_root(int rootfd, const char *path, mode_t mode, struct mr_err *err);
/* Write a file atomically: temporary in the same folder, fsync, rename over
 * `name`, fsync the folder. A crash leaves the old content or the new. */
int mr_write_atomic(int dirfd, const char *name, const void *data, size_t len,
		    mode_t mode, struct mr_err *err);
/* Read a whole (small) file into buf, at most max bytes. */
int mr_read_file(int dirfd, const char *name, struct mr_buf *buf, size_t max, struct mr_err *err);
/* Remove `name` in dirfd and everything under it, never following a symlink and
 * never descending into another mount (a bind mount inside is refused, with an
 * error naming it, and left untouched). */
int mr_remove_tree(int dirfd, const char *name, struct mr_err *err);
/* fsync a folder by fd. */
int mr_fsync_dir(int dirfd, struct mr_err *err);

/* ---- Store (section STORE) ---- */
struct mr_store {                   /* the ints first: one-byte offsets in x86 code */
	int rootfd;                     /* O_DIRECTORY fd of root */
	int lockfd;                     /* fd of root/lock, flock()ed while changing */
	int locked;
	char root[MINIRUN_MAX_PATH];    /* e.g. /var/lib/minirun */
	char rundir[MINIRUN_MAX_PATH];  /* e.g. /run/minirun */
};
/* Open (creating if needed) the store at root and its run folder; clean the
 * temporaries that a killed process left behind (under the lock). */
int mr_store_open(struct mr_store *st, const char *root, const char *rundir, struct mr_err *err);
void mr_store_close(struct mr_store *st);
/* Take / release the exclusive store lock (flock). Blocking. */
int mr_store_lock(struct mr_store *st, struct mr_err *err);
void mr_store_unlock(struct mr_store *st);
/* Make a fresh temporary folder under root/tmp; its path relative to rootfd goes
 * into name_out. Returns an O_DIRECTORY fd holding the folder's flock: keep it
 * open while the folder is in use; once its owner is gone (even by SIGKILL),
 * the next mr_store_open removes the folder. */
int mr_store_mktemp(struct mr_store *st, const char *prefix, char *name_out, size_t size,
		    struct mr_err *err);

/* ---- Command line ---- */
/* The whole CLI: returns the process exit code. */
int mr_main(int argc, char **argv);

#endif /* MINIRUN_H */
