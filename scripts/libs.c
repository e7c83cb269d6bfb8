/*
 * Which static libraries a preset links. The Makefile preprocesses this file
 * with the preset's flags (`cc -E -P`) and links the names after "lib:", so
 * derived flags and #error checks in minirun.h apply here too.
 */
#include "../minirun.h"
#if MINIRUN_WITH_ZSTD
lib: zstd
#endif
#if MINIRUN_WITH_GZIP
lib: z
#endif
/* sha256 for digests, and the TLS client when MINIRUN_WITH_TLS. */
lib: bearssl
