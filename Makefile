# facepipe - top-level Makefile.
#   make            build every stage into bin/ and run the default job (see README)
#   make build      build only
#   make deps       install the Debian packages the project needs (safe to run twice)
#   make test       C unit tests + Bats suite
# Pipelines (filter, tasks, report) live in pipelines/*.mk and are included below.

SHELL := /bin/bash
.DEFAULT_GOAL := default

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=gnu11 -Wall -Wextra -pthread -Icommon -MMD -MP
DARKNET_INC := /usr/lib/darknet/include
DARKNET_LIB := /usr/lib/darknet
LDLIBS  := -lgsl -lopenblas -lpng -ljpeg -lz -lm -lpthread
LDLIBS += -llinear -lstdc++
# Stages that link libdarknet (it is not on the default library path).
DARKNET_STAGES := train-cnn extract-features
DARKNET_LDLIBS := -L$(DARKNET_LIB) -Wl,-rpath,$(DARKNET_LIB) -ldarknet -rdynamic

BUILD   := build
COMMON_SRC := $(filter-out common/dn_%.c,$(wildcard common/*.c))
# Darknet-dependent library code (common/dn_*.c): linked only into the Darknet stages.
DN_OBJ     := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard common/dn_*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
STAGE_SRC  := $(wildcard stages/*.c)
STAGES     := $(STAGE_SRC:stages/%.c=bin/%)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC   := $(wildcard tests/tools/*.c)
TOOL_BIN   := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
LIBFP      := $(BUILD)/libfp.a

# Stamp files (pipelines/*.mk): a rule that depends on FORCE runs every time, writes the new
# content to stdin of $(call replace_if_changed,FILE), and FILE is replaced only when that
# differs - so FILE's time, which make compares, changes exactly when its content does.
replace_if_changed = cat > $(1).tmp && { if cmp -s $(1).tmp $(1); then rm -f $(1).tmp; else mv $(1).tmp $(1); fi; }
.PHONY: FORCE
FORCE:

# Shell, for pipelines/*.mk: v = the weights of the CNN $$net (a model.weights) that never saw
# the validation rows, for whatever reports on them or was made from them: val-model.weights
# beside it (train-cnn --val-model; the network a refit=1 cfg retrained on the training and
# validation rows was chosen before that), else $$net itself, trained before val-model.weights
# was kept and so without refit. When a refitted network's val-model.weights is gone, v is
# empty and why says so.
val_weights_sh = v=$$(dirname $$net)/val-model.weights; why=; [ -f $$v ] || v=$$net; \
	if [ $$v = $$net ] && grep -qx 'refit=1' $$net.cfg 2>/dev/null; then \
	why="$$(dirname $$net)/val-model.weights: missing, and $$net was refitted on the validation rows"; v=; fi

.PHONY: default build deps bench-deps test unit bats clean
.SECONDARY:
build: $(STAGES) $(TOOL_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(DARKNET_INC) -c $< -o $@

$(LIBFP): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

bin/%: $(BUILD)/obj/stages/%.o $(LIBFP)
	@mkdir -p bin
	$(CC) $(CFLAGS) $< $(if $(filter $*,$(DARKNET_STAGES)),$(DN_OBJ)) $(LIBFP) -o $@ $(LDLIBS) $(if $(filter $*,$(DARKNET_STAGES)),$(DARKNET_LDLIBS))
$(DARKNET_STAGES:%=bin/%) $(BUILD)/tests/test_dn: $(DN_OBJ)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBFP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(if $(filter test_dn,$*),$(DN_OBJ)) $(LIBFP) -o $@ $(LDLIBS) $(if $(filter test_dn,$*),$(DARKNET_LDLIBS))

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(LIBFP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(LIBFP) -o $@ $(LDLIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- dependencies (Debian packages) ----
DEB_PACKAGES := build-essential libgsl-dev libopenblas-dev libpng-dev zlib1g-dev \
	libjpeg62-turbo-dev darknet liblinear-dev bats gnuplot-nox python3-numpy file chromium groff-base
# The peers bench/ compares against (not needed to build, run or test).
BENCH_PACKAGES := python3-sklearn python3-torch python3-pil r-cran-rtsne
deps bench-deps: PKGS = $(DEB_PACKAGES)
bench-deps: PKGS += $(BENCH_PACKAGES)
deps bench-deps:
	@missing=$$(for p in $(PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	else echo "deps: all Debian packages present"; fi

# ---- tests ----
test: unit bats

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || fail=1; done; exit $$fail

bats: build
	bats tests/bats

clean:
	rm -rf $(BUILD) bin

-include $(wildcard pipelines/*.mk)

# The default job: build everything, filter the dataset (DATA, default: the built-in
# generated one), then the fast methods (raw-pixel SVM and transfer SVM) for every task, or
# every method for `task=NAME`.
default: build
	$(MAKE) filter
	$(MAKE) $(if $(task),cnn svm transfer,svm transfer)
	@$(MAKE) -s summary
	@$(MAKE) -s report

# Everything on a dataset (make all DATA=path/to/amls): the filter, the CNN of every task
# (first: transfer then uses its codes), both SVM methods, the summary and the report.
.PHONY: all
all: build
	$(MAKE) filter
	$(MAKE) cnn
	$(MAKE) svm transfer
	@$(MAKE) -s summary
	@$(MAKE) -s report
