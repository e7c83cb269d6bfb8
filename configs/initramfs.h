/* Preset "initramfs": containers started at boot from archives already in the
 * image (`load`, OCI layout folders), gzip layers, overlay or copy roots,
 * cgroup limits, boot mode as PID 1. No registry client, no TLS, no zstd (its
 * decoder alone is a quarter of the budget), no bridge networking, no seccomp;
 * nor Go templates in --format, `stats`/`top`/`system df`, `history`, `cp`,
 * the `prune` commands and the --help texts.
 * Budget (issue 15): 256 KiB stripped on x86_64. Sizes: README, "Presets". */
#define MINIRUN_PRESET "initramfs"
#define MINIRUN_WITH_PULL 0
#define MINIRUN_WITH_TLS 0
#define MINIRUN_WITH_ZSTD 0
#define MINIRUN_WITH_GZIP 1
#define MINIRUN_WITH_OVERLAY 1
#define MINIRUN_WITH_NET 0
#define MINIRUN_WITH_CGROUPS 1
#define MINIRUN_WITH_SECCOMP 0
#define MINIRUN_WITH_SECCOMP_PROFILE 0
#define MINIRUN_WITH_INIT 1
#define MINIRUN_WITH_OCI 0
#define MINIRUN_WITH_FORMAT 0
#define MINIRUN_WITH_STATS 0
#define MINIRUN_WITH_HELP 0
#define MINIRUN_WITH_HISTORY 0
#define MINIRUN_WITH_CP 0
#define MINIRUN_WITH_PRUNE 0
