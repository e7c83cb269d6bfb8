# minirun: one static, stripped binary built with musl from minirun.c.
#
#   make [CONFIG=full|router|initramfs] [ARCH=native|aarch64|armhf|mipsel]
#   make deps | test | test-unit | test-integration | oci-validation | size | flag-sizes
#   make check-symbols | check-static | presets | cross | bench | fresh-check | clean | distclean
#
# Outputs: build/<arch>/<preset>/minirun (and unit, minirun.o); `make` with
# ARCH=native also points ./minirun at the preset it built.
# Variables: ZSTD=small|fast (libzstd variant, see scripts/deps.sh),
# SSP=strong|regular|none (stack canaries),
# DEPS_CACHE=/dir (share built libraries between checkouts, keyed by the recipe),
# EXTRA_CFLAGS, EXTRA_LDFLAGS, V=1 (show commands), T=pattern (integration tests).

ARCH   ?= native
CONFIG ?= full
ZSTD   ?= small
CONFIG_DIR ?= configs
PRESETS := full router initramfs
CROSS_ARCHES := aarch64 armhf mipsel

# Budgets for the stripped x86_64 binary, in KiB (issue 15, replacing issue
# 2's router 256 and initramfs 128, which the measured floors showed cannot be
# met with the commands those devices need). `make size` fails over budget.
BUDGET_full := 448
BUDGET_router := 384
BUDGET_initramfs := 256

ifeq ($(ARCH),native)
  MUSL_CC := musl-gcc
  NM := nm
  RUN :=
  # The canary in the global __stack_chk_guard, as gcc does on arm and
  # mips, instead of %fs:0x28: a shorter load at each protected function
  # (x86_64: 1,600 bytes off full, 1,408 off the router). Same secret: musl's
  # start-up seeds the global from AT_RANDOM and copies it to the thread's
  # slot; minirun runs no threads.
  ifneq ($(filter x86_64 i%86,$(shell uname -m)),)
    SSP_GUARD := -mstack-protector-guard=global
    # Arrays of 32 bytes and more aligned as the ABI asks (16), not to 32 as
    # gcc does by default for code built by gcc 4.8 and older: nothing links
    # against this static binary. With --sort-section=alignment below: 992
    # bytes off full, 800 off the router (2026-12-08).
    ARCH_CFLAGS := -malign-data=abi
  endif
else ifeq ($(ARCH),aarch64)
  MUSL_CC := aarch64-linux-musl-gcc
  NM := aarch64-linux-gnu-nm
  RUN := qemu-aarch64-static
  # ld's default is 64 KiB pages, which pads the file; embedded arm64
  # kernels use 4 KiB pages.
  ARCH_LDFLAGS := -Wl,-z,max-page-size=4096
else ifeq ($(ARCH),armhf)
  MUSL_CC := arm-linux-musleabihf-gcc
  NM := arm-linux-gnueabihf-nm
  RUN := qemu-arm-static
else ifeq ($(ARCH),mipsel)
  MUSL_CC := mipsel-linux-musl-gcc
  NM := mipsel-linux-gnu-nm
  RUN := qemu-mipsel-static
else
  $(error ARCH=$(ARCH): use native, aarch64, armhf or mipsel)
endif
ifeq ($(wildcard $(CONFIG_DIR)/$(CONFIG).h),)
  $(error CONFIG=$(CONFIG): no $(CONFIG_DIR)/$(CONFIG).h (presets: $(PRESETS)))
endif
ifeq ($(origin CC),default)
  CC := $(MUSL_CC)
endif

# Built libraries: .deps/<arch>, or a cache shared by checkouts (CI) and keyed
# by the recipe, so that a change to scripts/deps.sh never reuses old builds.
ifneq ($(DEPS_CACHE),)
  DEPS := $(DEPS_CACHE)/$(shell sha256sum scripts/deps.sh | cut -c1-16)
else
  DEPS := .deps
endif
D := $(DEPS)/$(ARCH)
SRC_STAMP := $(DEPS)/src.stamp
DEPS_STAMP := $(DEPS)/$(ARCH).stamp

# Warnings are errors in every preset. Two are off: unused static functions
# (a helper may serve only the presets that enable its feature, and section GC
# drops it anyway) and format-truncation (a guess about path buffers; the code
# checks snprintf's result where truncation matters).
WARN := -Wall -Wextra -Wundef -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Werror -Wno-unused-function -Wno-format-truncation
# Size: -Oz (gcc 12: 4.7 KB smaller than -Os on the router preset, 5.1 KB on
# full; the hot loops, sha256 rounds and the decompressors, are in the
# libraries, built apart; a 1.1 GB `load` took the same CPU time, 1.05 s user
# against 1.07 s), one section per function and object so that --gc-sections drops
# what is unused; no unwind tables (C, nothing unwinds); non-PIE (static).
# -z noseparate-code saves the page of padding between headers and code;
# -z norelro -z common-page-size=64 let the data follow the code in the file
# instead of padding to a page (1-4 KB). RELRO gave nothing here: musl's static
# start-up never applies it (measured: those pages stay writable either way).
# -fno-optimize-sibling-calls: 2.1 KB smaller (full preset, x86_64), 0.6 KB
# of it without stack canaries: a tail call repeats the epilogue (canary
# check included) at its call site.
# The -fno-* of SHRINK are -Oz passes that grow this code (issue 15: 3,712
# bytes off the router, 4,800 off full, gcc 12, x86_64; what each saves, by
# dropping it alone from the set: expensive-optimizations 1,664,
# caller-saves 832, tree-tail-merge 512, if-conversion 320, jump-tables 256,
# partial-inlining 192, shrink-wrap 128, early-inlining, code-hoisting 64
# each). Three more measured on 2026-12-08 against the SHRINK above (each
# gcc -f flag of -Oz dropped alone, full preset, then together): loop
# invariants left in their loops (RTL's move-loop-invariants 576, tree's
# loop-im 448) and no dominator-based jump threading (tree-dominator-opts
# 448), 1,600 bytes together on full; the hot loops are in the libraries.
# Code generation only: what the program does is the same.
SHRINK := -fno-expensive-optimizations -fno-caller-saves -fno-jump-tables \
	-fno-shrink-wrap -fno-if-conversion -fno-early-inlining -fno-tree-tail-merge \
	-fno-partial-inlining -fno-code-hoisting \
	-fno-move-loop-invariants -fno-tree-loop-im -fno-tree-dominator-opts
OPT := -Oz -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -fno-pie -fno-ident -fno-optimize-sibling-calls $(SHRINK)
# Stack canaries: minirun runs as root and parses archives, JSON and HTTP from
# outside. strong costs 3.4% (13.7 KB of the router's 411 KB, measured
# 2026-12-07 against SSP=none), regular 2.5% (10.2 KB); SSP=none drops them
# (musl's static start-up seeds the canary from AT_RANDOM).
SSP ?= strong
ifeq ($(SSP),none)
  HARDEN := -fno-stack-protector
else ifeq ($(SSP),regular)
  HARDEN := -fstack-protector $(SSP_GUARD)
else
  HARDEN := -fstack-protector-strong $(SSP_GUARD)
endif
CFLAGS_ALL := -std=gnu11 $(OPT) $(ARCH_CFLAGS) $(HARDEN) $(WARN) -isystem $(D)/include -idirafter $(D)/kinclude \
	$(EXTRA_CFLAGS)
# --sort-section=alignment: sections of equal alignment together, less
# padding between them.
LDFLAGS_ALL := -static -no-pie -Wl,--gc-sections -Wl,--sort-section=alignment -Wl,-z,noseparate-code \
	-Wl,-z,norelro -Wl,-z,common-page-size=64 -Wl,--build-id=none \
	$(ARCH_LDFLAGS) $(EXTRA_LDFLAGS)

B := build/$(ARCH)
preset_defs = -DMINIRUN_CONFIG='"$(CONFIG_DIR)/$(1).h"'
# Libraries a preset needs: scripts/libs.c, preprocessed with the preset's
# flags, prints "lib: NAME" lines (evaluated by #if, so derived flags work).
preset_libs = $(patsubst zstd,$(if $(filter fast,$(ZSTD)),zstd-fast,zstd),\
	$(shell $(CC) -E -P -I. $(call preset_defs,$(1)) scripts/libs.c | sed -n 's/^lib: //p'))
link_libs = -L$(D)/lib $(addprefix -l,$(call preset_libs,$(1)))

ifeq ($(V),1)
  Q :=
  say := @true
else ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
  Q := @
  say := @true
else
  Q := @
  say := @printf '  %-8s %s\n'
endif

.PHONY: all amalgamate check-amalgamation check-parts test-asan fuzz deps test test-unit test-integration oci-validation powercut size flag-sizes check-symbols check-formats \
	check-static presets cross bench fresh-check clean distclean FORCE
.DELETE_ON_ERROR:

all: $(B)/$(CONFIG)/minirun
ifeq ($(ARCH),native)
	$(Q)ln -sfn $< minirun
endif

# ---- libraries -------------------------------------------------------------
# The source download has its own stamp: it must finish before any build
# starts (two arches building at once with make -j share it).
deps: $(DEPS_STAMP)

$(SRC_STAMP):
	$(say) DEPS "fetch sources"
	$(Q)scripts/deps.sh $(DEPS) fetch
	$(Q)touch $@

$(DEPS_STAMP): scripts/deps.sh | $(SRC_STAMP)
	$(say) DEPS $(D)
	$(Q)scripts/deps.sh $(DEPS) $(ARCH)
	$(Q)touch $@

# ---- the one file ----------------------------------------------------------
# People edit the parts in src/; minirun.c is made from them (and committed:
# it is what embedded users take). The rule runs when a part is newer, so a
# build never compiles a stale minirun.c; check-amalgamation (CI) fails when
# the committed file differs from what the parts make.
PARTS := $(sort $(wildcard src/[0-9][0-9]*_*.c))

# `make amalgamate` always runs the script (it rewrites minirun.c only when
# the text changes): a checkout or merge can leave minirun.c newer than parts
# it does not match.
amalgamate:
	$(Q)scripts/amalgamate.py
minirun.c: $(PARTS) scripts/amalgamate.py
	$(say) GEN $@
	$(Q)scripts/amalgamate.py $@

check-parts:
	$(Q)scripts/check-parts.py

check-amalgamation:
	$(Q)scripts/amalgamate.py - | cmp -s - minirun.c || \
		{ echo "check-amalgamation: minirun.c differs from what src/ makes (run make amalgamate and commit it)" >&2; exit 1; }
	@echo "check-amalgamation: minirun.c is what the $(words $(PARTS)) parts in src/ make"

# ---- binaries --------------------------------------------------------------
SOURCES := minirun.c minirun.h scripts/libs.c Makefile

$(B)/%/minirun: $(SOURCES) $(CONFIG_DIR)/%.h $(DEPS_STAMP)
	$(say) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) $(call preset_defs,$*) $(LDFLAGS_ALL) -s -o $@ minirun.c \
		$(call link_libs,$*)

# Unstripped object, for check-symbols.
$(B)/%/minirun.o: $(SOURCES) $(CONFIG_DIR)/%.h $(DEPS_STAMP)
	$(say) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) $(call preset_defs,$*) -c -o $@ minirun.c

# Unit tests include minirun.c (MINIRUN_NO_MAIN) to reach its static functions.
$(B)/%/unit: tests/unit.c $(wildcard tests/unit_*.c tests/unit*.h) $(SOURCES) $(CONFIG_DIR)/%.h $(DEPS_STAMP)
	$(say) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) -g $(call preset_defs,$*) -DMINIRUN_NO_MAIN \
		$(LDFLAGS_ALL) -o $@ tests/unit.c $(call link_libs,$*)

presets: $(foreach p,$(PRESETS),$(B)/$(p)/minirun)

cross: $(addprefix cross-,$(CROSS_ARCHES))
cross-%: FORCE
	$(Q)$(MAKE) --no-print-directory ARCH=$* presets

# ---- checks and tests ------------------------------------------------------
BIN := $(B)/$(CONFIG)/minirun

# The binary must be static and carry no glibc object (a glibc-built .a that
# slipped in leaves GLIBC_ version references or __*_chk calls).
define check_static
	$(Q)file -L $(1) | grep -q 'statically linked' || { echo "check-static: $(1) is not static" >&2; exit 1; }
	$(Q)! grep -qa -e 'GLIBC_2' -e '__memcpy_chk' $(1) || { echo "check-static: $(1) contains glibc code" >&2; exit 1; }
	@echo "check-static: $(1): static, no glibc"
endef

# Every global symbol minirun defines starts with mr_ (or is main, or one of
# the four allocator functions that replace libc's, see minirun.c [02]).
define check_symbols
	$(Q)for o in $(1); do \
		bad=$$($(NM) -g --defined-only $$o | awk '{print $$NF}' | \
			grep -v -x -e 'mr_.*' -e main -e malloc -e free -e calloc -e realloc); \
		if [ -n "$$bad" ]; then \
			echo "check-symbols: $$o: exported symbols without the mr_ prefix (make them static):" >&2; \
			echo "$$bad" | sed 's/^/  /' >&2; exit 1; \
		fi; \
		echo "check-symbols: $$o: $$($(NM) -g --defined-only $$o | wc -l) exported symbols: mr_*, main and malloc's four"; \
	done
endef

check-static: $(BIN)
	$(call check_static,$<)

check-symbols: $(foreach p,$(PRESETS),$(B)/$(p)/minirun.o)
	$(call check_symbols,$^)

# minirun's own formatter has no floating point (see minirun.c, after the
# #includes): a %f, %e or %g conversion in a format string would print
# wrongly, so none may appear (comments aside).
define check_formats
	$(Q)if grep -n '"[^"]*%[-+ 0#]*[0-9*]*\(\.[0-9*]*\)\?[lLhqjzt]*[fFeEgGaA][^"]*"' minirun.c; then \
		echo "check-formats: floating-point conversions above (minirun's printf has none)" >&2; exit 1; \
	else echo "check-formats: no floating-point conversions"; fi
endef

check-formats:
	$(call check_formats)

# Build everything first (in parallel with -j), then run in order; the
# integration tests run even when a unit test failed, and both decide. The
# aarch64 and armhf builds are what 73_qemu_arm boots. The unit tests run
# in every preset: what a flag compiles out must answer "built without".
test: $(BIN) $(foreach p,$(PRESETS),$(B)/$(p)/unit $(B)/$(p)/minirun.o)
	$(call check_static,$(BIN))
	$(call check_symbols,$(filter %.o,$^))
	$(call check_formats)
ifeq ($(ARCH),native)
	$(Q)scripts/check-parts.py
	$(Q)rc=0; $(B)/$(CONFIG)/unit || rc=1; \
	for p in $(filter-out $(CONFIG),$(PRESETS)); do echo "unit tests, preset $$p:"; \
		$(B)/$$p/unit >$(B)/$$p/unit.log 2>&1 || { cat $(B)/$$p/unit.log; rc=1; }; tail -n1 $(B)/$$p/unit.log; done; \
	$(MAKE) --no-print-directory test-asan || rc=1; \
	$(MAKE) --no-print-directory fuzz || rc=1; \
	for a in aarch64 armhf; do $(MAKE) --no-print-directory ARCH=$$a CONFIG=$(CONFIG) || rc=1; done; \
	tests/run-integration.sh $(abspath $(BIN)) $(T) || rc=1; \
	[ $$rc = 0 ] || { echo "test: FAILED (see above)" >&2; exit 1; }
else
	$(Q)$(RUN) $(B)/$(CONFIG)/unit
	@echo "test: integration tests need a native build (ARCH=native); unit tests ran under $(RUN)"
endif

# Under qemu-user (cross builds) every area runs, one at a time. fs and
# container hung here until fs_check_no_mounts stopped trusting telldir()
# cookies (cut to a long in 32-bit processes); oci failed on mipsel until
# OCI rlimit names took the arch's numbers from [14]'s --ulimit table.
QEMU_SKIP :=
UNIT_AREAS := util fs store json tar image pull container rootfs isolate seccomp cp net boot oci tmpl cli
test-unit: $(B)/$(CONFIG)/unit
ifeq ($(ARCH),native)
	$(Q)$(RUN) $<
else
	$(Q)cd /tmp && for a in $(filter-out $(QEMU_SKIP),$(UNIT_AREAS)); do \
		$(RUN) $(abspath $<) $$a >/tmp/unit-$(ARCH).log 2>&1; rc=$$?; \
		echo "$$a: $$(tail -1 /tmp/unit-$(ARCH).log)"; \
		[ $$rc = 0 ] || { cat /tmp/unit-$(ARCH).log; exit 1; }; done
	$(if $(QEMU_SKIP),@echo "test-unit: skipped under qemu-user: $(QEMU_SKIP) (see QEMU_SKIP in the Makefile; native make test runs them)")
endif

test-integration: $(BIN)
	$(Q)tests/run-integration.sh $(abspath $(BIN)) $(T)

# The OCI runtime-tools validation suite against the runc mode (built once
# outside the repository; about 2 minutes; T=name runs one test).
oci-validation: $(BIN)
	$(Q)tests/oci-validation.sh $(abspath $(BIN)) $(T)

# Power cuts under qemu (tests/powercut.py): 200 by default (`make test` runs
# 10), bounded by POWERCUT_MAX_SECONDS; prints cuts, inconsistent stores, lost
# acknowledged operations, hits per operation and time per cut.
POWERCUT_CUTS ?= 200
POWERCUT_MAX_SECONDS ?= 5400
powercut: $(BIN)
	$(Q)POWERCUT_CUTS=$(POWERCUT_CUTS) POWERCUT_MAX_SECONDS=$(POWERCUT_MAX_SECONDS) \
	TEST_TIMEOUT=$$(($(POWERCUT_MAX_SECONDS) + 600)) V=1 \
	tests/run-integration.sh $(abspath $(BIN)) 72_powercut

# Stripped size of every preset against its budget (budgets are for x86_64;
# other arches are printed for information), and its size after `xz -9e`
# (what it costs on a squashfs or a compressed initramfs). A native preset
# over budget is marked OVER and said on stderr; SIZE_STRICT=1 makes that fail
# the target (README, "Presets and sizes", says where each preset stands).
size: presets
	$(Q)for p in $(PRESETS); do echo "$$p $$(stat -c %s $(B)/$$p/minirun) $$(xz -9e -c $(B)/$$p/minirun | wc -c)"; done | \
	awk -v arch=$(ARCH) -v budgets="full=$(BUDGET_full) router=$(BUDGET_router) initramfs=$(BUDGET_initramfs)" ' \
		BEGIN { n = split(budgets, a, " "); for (i = 1; i <= n; i++) { split(a[i], kv, "="); lim[kv[1]] = kv[2] } \
			printf "%-10s %9s %8s %10s %9s  %s\n", "preset", "bytes", "KiB", "budget", "xz -9e", "(" arch ")" } \
		{ st = ($$2 <= lim[$$1] * 1024) ? "OK" : "OVER"; if (st == "OVER") over = 1; \
			printf "%-10s %9d %8.1f %6d KiB %9d  %s\n", $$1, $$2, $$2 / 1024, lim[$$1], $$3, st } \
		END { if (arch == "native" && over) { print "size: a preset is over its budget" > "/dev/stderr"; exit strict } }' \
		strict=$(if $(SIZE_STRICT),1,0)

# Stripped bytes each MINIRUN_WITH_* flag costs (full preset, one flag off).
flag-sizes: $(DEPS_STAMP)
	$(Q)scripts/flag-sizes.sh ARCH=$(ARCH) ZSTD=$(ZSTD)

# The unit tests built with glibc, AddressSanitizer and UBSan (libc's malloc,
# which ASan checks, instead of minirun's own: MINIRUN_LIBC_MALLOC), linked
# with Debian's own glibc builds of the three libraries.
ASAN_FLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -DMINIRUN_LIBC_MALLOC -I. -Wall -Wno-unused-function \
	-Wno-format-truncation
build/asan/unit: tests/unit.c $(wildcard tests/unit_*.c tests/unit*.h) $(SOURCES) $(CONFIG_DIR)/full.h
	$(say) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)gcc $(ASAN_FLAGS) -DMINIRUN_NO_MAIN $(call preset_defs,full) -o $@ tests/unit.c -lbearssl -lzstd -lz

test-asan: build/asan/unit
	$(Q)ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $<

# libFuzzer targets (tests/fuzz/*.c include minirun.c), built with clang and
# run FUZZ_TIME seconds each from their corpus folder (kept in build/, made
# anew each run); a crash fails the target and leaves its input in build/fuzz.
FUZZ_TIME ?= 20
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/*.c))
build/fuzz/%: tests/fuzz/%.c $(SOURCES) $(CONFIG_DIR)/full.h
	$(say) CLANG $@
	$(Q)mkdir -p $(@D)
	$(Q)clang -g -O1 -fsanitize=fuzzer,address,undefined -DMINIRUN_LIBC_MALLOC -Wno-string-plus-int \
		-DMINIRUN_C='"../../minirun.c"' $(call preset_defs,full) -I. -Wno-unused-function \
		-o $@ $< -lbearssl -lzstd -lz

fuzz: $(addprefix build/fuzz/,$(FUZZ_TARGETS))
	$(Q)for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus-$$t; \
		if (cd build/fuzz && ./$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			corpus-$$t >$$t.log 2>&1); then \
			echo "fuzz: $$t: $$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz/$$t.log) runs in $(FUZZ_TIME) s, no failure"; \
		else \
			grep -E -A12 '==[0-9]+==ERROR|runtime error|deadly signal' build/fuzz/$$t.log | head -40 >&2; \
			echo "fuzz: $$t FAILED (log and input in build/fuzz)" >&2; exit 1; \
		fi; \
	done

bench: $(BIN) $(foreach p,$(PRESETS),$(B)/$(p)/minirun)
	$(Q)if [ -x tests/bench/run.sh ]; then tests/bench/run.sh $(abspath $(BIN)); \
	else echo "bench: tests/bench/run.sh does not exist yet"; fi

# The README's two commands, verbatim, in a fresh Debian 12 root (debootstrap;
# cached in /var/cache/minirun-fresh). Takes a while: see scripts/fresh-check.sh.
fresh-check:
	$(Q)scripts/fresh-check.sh

clean:
	rm -rf build
	rm -f minirun

# Also the built libraries and their sources (not a DEPS_CACHE).
distclean: clean
	rm -rf .deps

FORCE:
