# hardening.mk - fuzzing, the sanitizer build and the fuzz regression replays
# (docs/reliability.md).
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="image_png mat"]
#        libFuzzer (clang) on each target for FUZZ_SECONDS, nice'd; corpus kept in
#        build/fuzz/corpus/, crashes in build/fuzz/crashes/, a summary in build/fuzz/summary.txt
#   make fuzz-replay    the harnesses built with $(CC), run on tests/fuzz/regress/ (Bats does it)
#   make check-asan     everything built with -fsanitize=address,undefined in a copy of the
#                       tree (build/asan-tree), then the whole test suite; fails on any report
#   make hardening-deps the Debian packages `make fuzz` needs beyond `make deps` (clang, time)

.PHONY: fuzz fuzz-build fuzz-replay check-asan hardening-deps

FUZZ_TARGETS ?= image_png image_jpeg mat csv
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
# -O1 and frame pointers: readable stacks at a small cost in speed. Every UBSan finding aborts
# (no recovery), so it is a crash libFuzzer saves like any other.
# FUZZ_EXTRA_CFLAGS: e.g. -fno-sanitize=alignment, to fuzz past a known finding not yet fixed.
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Icommon \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(FUZZ_EXTRA_CFLAGS)
# Inputs are small; a run that takes 10 s or a 640 MB malloc is a finding (a time or memory
# bomb), not something to wait for.
FUZZ_RUN_FLAGS := -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=640 -max_len=65536 \
	-fork=$(FUZZ_JOBS) -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -print_final_stats=1

FUZZ_LIBS_image_png  := -lpng -ljpeg -lz -lm
FUZZ_LIBS_image_jpeg := -lpng -ljpeg -lz -lm
FUZZ_DEFS_image_png  := -DFZ_ONLY_PNG
FUZZ_DEFS_image_jpeg := -DFZ_ONLY_JPEG
FUZZ_SRC_image_png   := tests/fuzz/fuzz_image.c
FUZZ_SRC_image_jpeg  := tests/fuzz/fuzz_image.c
FUZZ_SRC_mat         := tests/fuzz/fuzz_mat.c
FUZZ_SRC_csv         := tests/fuzz/fuzz_csv.c
FUZZ_LIBS_mat        := -lm

# The library source a harness includes (unity build) and the header it depends on.
FUZZ_HDRS := tests/fuzz/fuzz.h tests/fuzz/fz_track.h common/err.h
FUZZ_LIB_SRC_image_png  := common/image.c common/image.h
FUZZ_LIB_SRC_image_jpeg := common/image.c common/image.h
FUZZ_LIB_SRC_mat        := common/mat.c common/mat.h
FUZZ_LIB_SRC_csv        := common/csv.c common/csv.h

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/bin/%)

# One rule per target (an eval'd template rather than .SECONDEXPANSION, which would change
# how every later rule of the build reads its prerequisites).
define FUZZ_RULE
$(FUZZ_DIR)/bin/$(1): $(FUZZ_SRC_$(1)) $(FUZZ_LIB_SRC_$(1)) tests/fuzz/fuzz_common.c common/err.c $(FUZZ_HDRS)
	@mkdir -p $$(@D)
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found; run 'make hardening-deps'" >&2; exit 1; }
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_DEFS_$(1)) $(FUZZ_SRC_$(1)) tests/fuzz/fuzz_common.c \
		common/err.c -o $$@ $(FUZZ_LIBS_$(1))
endef
$(foreach t,image_png image_jpeg mat csv,$(eval $(call FUZZ_RULE,$(t))))

# Seeds: regenerated on each run from the project's tools (tests/fuzz/seeds.sh).
$(FUZZ_DIR)/seeds.stamp: tests/fuzz/seeds.sh build $(BUILD)/fuzz-replay/mkseeds
	rm -rf $(FUZZ_DIR)/seeds
	tests/fuzz/seeds.sh $(FUZZ_DIR)/seeds
	@touch $@

# One libFuzzer run per target. The corpus (build/fuzz/corpus/T) grows across runs; seeds
# and the saved regressions are read-only extra inputs. Crashes land in build/fuzz/crashes/T/.
# Each run's executions, coverage and crash count are appended to build/fuzz/summary.txt.
fuzz: fuzz-build $(FUZZ_DIR)/seeds.stamp
	@for t in $(FUZZ_TARGETS); do \
	  seeds=$(FUZZ_DIR)/seeds/$${t}; \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/crashes/$$t $(FUZZ_DIR)/logs; \
	  reg=tests/fuzz/regress/$${t%%_*}; [ -d $$reg ] || reg=; \
	  log=$(FUZZ_DIR)/logs/$$t.log; \
	  before=$$(ls $(FUZZ_DIR)/crashes/$$t | wc -l); \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s (log: $$log)"; \
	  ( cd $(FUZZ_DIR)/crashes/$$t && exec nice -n 10 /usr/bin/time -f '%e s wall, %U s user, %S s sys' \
	      $(CURDIR)/$(FUZZ_DIR)/bin/$$t $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
	      -artifact_prefix=$(CURDIR)/$(FUZZ_DIR)/crashes/$$t/ \
	      $(CURDIR)/$(FUZZ_DIR)/corpus/$$t $(CURDIR)/$$seeds $${reg:+$(CURDIR)/$$reg} ) > $$log 2>&1 || true; \
	  after=$$(ls $(FUZZ_DIR)/crashes/$$t | wc -l); \
	  line=$$(grep -E '^#[0-9]+: cov' $$log | tail -1); \
	  printf '%s %s: %s; new crash files: %d; %s\n' "$$(date -u +%FT%TZ)" "$$t" \
	      "$${line:-no stats (see $$log)}" $$((after - before)) "$$(tail -1 $$log)" \
	      | tee -a $(FUZZ_DIR)/summary.txt; \
	done

# ---- replays: the same harnesses without libFuzzer, any compiler (check-asan: ASan+UBSan)
REPLAY_DIR  := $(BUILD)/fuzz-replay
REPLAY_BINS := $(REPLAY_DIR)/replay-image $(REPLAY_DIR)/replay-mat $(REPLAY_DIR)/replay-csv \
	$(REPLAY_DIR)/mkseeds

$(REPLAY_DIR)/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(REPLAY_DIR)/replay-%: $(REPLAY_DIR)/fuzz_%.o $(REPLAY_DIR)/fuzz_common.o $(REPLAY_DIR)/replay.o $(LIBFP)
	$(CC) $(CFLAGS) $(filter %.o,$^) $(LIBFP) -o $@ $(LDLIBS)

$(REPLAY_DIR)/mkseeds: $(REPLAY_DIR)/mkseeds.o $(LIBFP)
	$(CC) $(CFLAGS) $< $(LIBFP) -o $@ $(LDLIBS)

-include $(wildcard $(REPLAY_DIR)/*.d)

# The Bats suite replays the regressions (tests/bats/bombs.bats).
bats: $(REPLAY_BINS)

fuzz-replay: $(REPLAY_BINS)
	$(REPLAY_DIR)/replay-image tests/fuzz/regress/image
	$(REPLAY_DIR)/replay-mat tests/fuzz/regress/mat
	$(REPLAY_DIR)/replay-csv tests/fuzz/regress/csv

# ---- check-asan
# A copy of the source tree (no build/, bin/, .git, generated data) in build/asan-tree, built
# there with the sanitizers through OPT (the top Makefile appends its own flags to CFLAGS).
# The copy's build/ is kept between runs, so a second run only rebuilds what changed.
# --no-print-directory: -C would otherwise pass -w down to the tests' own `make -s -C` runs,
# whose output some tests compare.
# Reports go to files (log_path) rather than stderr, so tests that compare stderr are not
# confused by them; a report also makes the process exit with 86, which no test expects,
# and the run fails if any report file exists at the end. LeakSanitizer is off: a stage that
# dies leaves its buffers to the OS on purpose, and Darknet (not instrumented) never frees
# its networks; leaks of the harnesses are checked by the replays' own tracking instead.
ASAN_TREE := $(BUILD)/asan-tree
ASAN_CC   ?= $(CC)
# -O2 like the ordinary build: at -O1 gcc rounds some floating-point results differently in
# the last bit (measured: pca output within 4e-15), which t-SNE amplifies into another
# clustering, and the tests that pin the pipeline's exact results would then test another
# pipeline. With -O2 the sanitized stages give byte-identical outputs.
ASAN_OPT  := -O2 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
ASAN_LOGS := $(CURDIR)/$(ASAN_TREE)/sanitizer-logs
check-asan:
	@mkdir -p $(ASAN_TREE)
	@# objects built with other flags are rebuilt (make itself does not track flags)
	@if [ "$$(cat $(ASAN_TREE)/build/asan-flags 2>/dev/null)" != "$(ASAN_CC) $(ASAN_OPT)" ]; then \
	  rm -rf $(ASAN_TREE)/build $(ASAN_TREE)/bin; fi
	@find $(ASAN_TREE) -mindepth 1 -maxdepth 1 ! -name build ! -name bin -exec rm -rf {} +
	@tar --exclude=./build --exclude=./bin --exclude=./.git --exclude=./data/synth \
	    --exclude=./cache --exclude=./results -cf - . | tar -C $(ASAN_TREE) -xf -
	@rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	@echo "check-asan: building and testing in $(ASAN_TREE) with $(ASAN_OPT)"
	env -u CFLAGS $(MAKE) --no-print-directory -C $(ASAN_TREE) -j$$(nproc) CC=$(ASAN_CC) OPT="$(ASAN_OPT)" build
	@echo "$(ASAN_CC) $(ASAN_OPT)" > $(ASAN_TREE)/build/asan-flags
	env -u CFLAGS \
	  ASAN_OPTIONS=detect_leaks=0:exitcode=86:log_path=$(ASAN_LOGS)/asan:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86:log_path=$(ASAN_LOGS)/ubsan \
	  $(MAKE) --no-print-directory -C $(ASAN_TREE) CC=$(ASAN_CC) OPT="$(ASAN_OPT)" test
	@if ls $(ASAN_LOGS)/* >/dev/null 2>&1; then \
	  echo "check-asan: sanitizer reports:" >&2; cat $(ASAN_LOGS)/* >&2; exit 1; fi
	@echo "check-asan: clean (no AddressSanitizer or UndefinedBehaviorSanitizer report)"

# clang and its libFuzzer runtime (libclang-rt-14-dev on Debian 12); GNU time for the CPU figures.
hardening-deps:
	@missing=$$(for p in clang libclang-rt-14-dev time; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	else echo "hardening-deps: clang and libFuzzer present"; fi
