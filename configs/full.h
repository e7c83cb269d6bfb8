/* Preset "full": every feature (`make CONFIG=full`, the default).
 * Budget (issue 15): 448 KiB stripped on x86_64. Sizes: README, "Presets". */
#define MINIRUN_PRESET "full"
#define MINIRUN_WITH_PULL 1
#define MINIRUN_WITH_TLS 1
#define MINIRUN_WITH_ZSTD 1
#define MINIRUN_WITH_GZIP 1
#define MINIRUN_WITH_OVERLAY 1
#define MINIRUN_WITH_NET 1
#define MINIRUN_WITH_CGROUPS 1
#define MINIRUN_WITH_SECCOMP 1
#define MINIRUN_WITH_SECCOMP_PROFILE 1
#define MINIRUN_WITH_INIT 1
#define MINIRUN_WITH_OCI 1
#define MINIRUN_WITH_FORMAT 1
#define MINIRUN_WITH_STATS 1
#define MINIRUN_WITH_HELP 1
#define MINIRUN_WITH_HISTORY 1
#define MINIRUN_WITH_CP 1
#define MINIRUN_WITH_PRUNE 1
