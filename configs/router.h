/* Preset "router": what a 16 MB-flash router wants. Pulls over TLS with gzip
 * and zstd layers, overlayfs, bridge networking, cgroup limits, Docker's
 * seccomp profile (1.4 KB: a device on a network wants it), boot mode.
 * Without Go templates in --format (`ps --format` keeps its field-only
 * renderer), `stats`/`top`/`system df`, `history` and the --help texts.
 * Budget (issue 15): 384 KiB stripped on x86_64. Sizes: README, "Presets". */
#define MINIRUN_PRESET "router"
#define MINIRUN_WITH_PULL 1
#define MINIRUN_WITH_TLS 1
#define MINIRUN_WITH_ZSTD 1
#define MINIRUN_WITH_GZIP 1
#define MINIRUN_WITH_OVERLAY 1
#define MINIRUN_WITH_NET 1
#define MINIRUN_WITH_CGROUPS 1
#define MINIRUN_WITH_SECCOMP 1
#define MINIRUN_WITH_SECCOMP_PROFILE 0
#define MINIRUN_WITH_INIT 1
#define MINIRUN_WITH_OCI 0
#define MINIRUN_WITH_FORMAT 0
#define MINIRUN_WITH_STATS 0
#define MINIRUN_WITH_HELP 0
#define MINIRUN_WITH_HISTORY 0
#define MINIRUN_WITH_CP 1
#define MINIRUN_WITH_PRUNE 1
