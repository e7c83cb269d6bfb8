/* Preset "router": what a 16 MB-flash router wants. Pulls over TLS with gzip
 * and zstd layers, overlayfs, bridge networking, cgroup limits, boot mode;
 * no seccomp profile (its tables cost more than such a device gains).
 * Budget: 256 KiB stripped on x86_64. */
#define MINIRUN_PRESET "router"
#define MINIRUN_WITH_PULL 1
#define MINIRUN_WITH_TLS 1
#define MINIRUN_WITH_ZSTD 1
#define MINIRUN_WITH_GZIP 1
#define MINIRUN_WITH_OVERLAY 1
#define MINIRUN_WITH_NET 1
#define MINIRUN_WITH_CGROUPS 1
#define MINIRUN_WITH_SECCOMP 0
#define MINIRUN_WITH_INIT 1
