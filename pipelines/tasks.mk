# tasks.mk - the five classification tasks, three methods each, on the filtered faces.
#
#   make task=smiling svm        raw-pixel linear SVM (C by random search + k-fold CV)
#   make task=smiling transfer   CNN codes (or, without a CNN, hand-crafted features) -> SVM
#   make task=smiling cnn        the custom CNN (Darknet), trained from scratch
#   make task=smiling            every method for that task;  make tasks: every task
#
# All outputs land under $(FILTER_OUT)/tasks/<task>/<method>/ (report.txt, metrics.csv,
# confusion.csv, predictions.csv in the original's format), so they are keyed by the
# filter's result: the same split (split/) is used by every method of a task.

TASKS      := smiling young eyeglasses human hair_color
METHODS    := svm transfer cnn
task       ?=
SVM_SIZE   ?= 32
SVM_ITER   ?= 10
SVM_FOLDS  ?= 3
CNN_SIZE   ?= $(SIZE)
CNN_CFG    ?= pipelines/cnn.cfg
CNN_EPOCHS ?= 30
BACKBONE   ?=
WEIGHTS    ?=
TASKS_ROOT := $(FILTER_OUT)/tasks

ifneq ($(task),)
ifeq ($(filter $(task),$(TASKS)),)
$(error unknown task '$(task)'; valid tasks: $(TASKS))
endif
endif
SELECTED := $(if $(task),$(task),$(TASKS))

.PHONY: svm transfer cnn tasks summary
svm:      $(SELECTED:%=$(TASKS_ROOT)/%/svm/report.txt)
transfer: $(SELECTED:%=$(TASKS_ROOT)/%/transfer/report.txt)
cnn:      $(SELECTED:%=$(TASKS_ROOT)/%/cnn/report.txt)
tasks:    svm transfer cnn
	@$(MAKE) -s summary

# Test accuracy of every task and method trained so far.
summary:
	@echo "test accuracy ($(FILTER_OUT)/tasks):"
	@for t in $(SELECTED); do for m in $(METHODS); do \
	  f=$(TASKS_ROOT)/$$t/$$m/metrics.csv; [ -f $$f ] || continue; printf '%-11s %-9s accuracy %s\n' $$t $$m $$(grep '^accuracy,' $$f | cut -d, -f2); \
	done; done

# One split per task, shared by every method.
$(TASKS_ROOT)/%/split/.done: $(FILTERED) bin/split
	@mkdir -p $(@D)
	bin/split --labels $< --task $* --seed $(SEED) -o $(@D) 2> $(@D).log || { cat $(@D).log >&2; exit 1; }
	@touch $@

# ---- raw-pixel linear SVM ----
$(FILTER_DIR)/raw$(SVM_SIZE).npy: $(FILTER_DIR)/images.npy bin/extract-features
	bin/extract-features --method raw --size $(SVM_SIZE) $< -o $@

$(TASKS_ROOT)/%/svm/model.txt: $(FILTER_DIR)/raw$(SVM_SIZE).npy $(TASKS_ROOT)/%/split/.done bin/train-svm
	@mkdir -p $(@D)
	bin/train-svm --task $* --balanced --seed $(SEED) --n-iter $(SVM_ITER) --folds $(SVM_FOLDS) \
	  --train $(TASKS_ROOT)/$*/split/train.csv --val $(TASKS_ROOT)/$*/split/val.csv \
	  --search-log $(@D)/search.csv --save $@ $< 2> $(@D)/train.log || { cat $(@D)/train.log >&2; exit 1; }

# ---- transfer: features -> SVM ----
# Features, in order of preference: a user's backbone (BACKBONE=cfg WEIGHTS=file); else the
# penultimate (512-unit) layer of the CNN that `make task=T cnn` trained on the same training
# rows, when it exists; else the hand-crafted features. features.txt records which.
CNN_CODE_LAYER ?= -3
transfer_features = $(if $(BACKBONE),$(FILTER_DIR)/codes-$(notdir $(BACKBONE)).npy,$(if $(wildcard $(TASKS_ROOT)/$(1)/cnn/model.weights),$(TASKS_ROOT)/$(1)/cnn/codes.npy,$(FILTER_DIR)/features.npy))
transfer_kind = $(if $(BACKBONE),CNN codes of $(BACKBONE) + $(WEIGHTS),$(if $(wildcard $(TASKS_ROOT)/$(1)/cnn/model.weights),CNN codes (layer $(CNN_CODE_LAYER)) of the custom CNN trained on this task's training rows,hand-crafted features (no CNN trained for this task yet and no BACKBONE given)))

$(FILTER_DIR)/codes-$(notdir $(BACKBONE)).npy: $(FILTER_DIR)/images.npy $(BACKBONE) $(WEIGHTS) bin/extract-features
	bin/extract-features --cfg $(BACKBONE) $(if $(WEIGHTS),--weights $(WEIGHTS)) $< -o $@

$(TASKS_ROOT)/%/cnn/codes.npy: $(TASKS_ROOT)/%/cnn/model.weights $(CNN_IMAGES) bin/extract-features
	bin/extract-features --cfg $<.cfg --weights $< --layer $(CNN_CODE_LAYER) $(CNN_IMAGES) -o $@ 2> $(@D)/codes.log

.SECONDEXPANSION:
$(TASKS_ROOT)/%/transfer/model.txt: $$(call transfer_features,$$*) $(TASKS_ROOT)/%/split/.done bin/train-svm
	@mkdir -p $(@D)
	@echo "$(call transfer_kind,$*)" > $(@D)/features.txt
	bin/train-svm --task $* --balanced --seed $(SEED) --n-iter $(SVM_ITER) --folds $(SVM_FOLDS) \
	  --train $(TASKS_ROOT)/$*/split/train.csv --val $(TASKS_ROOT)/$*/split/val.csv \
	  --search-log $(@D)/search.csv --save $@ $< 2> $(@D)/train.log || { cat $(@D)/train.log >&2; exit 1; }

# Predictions of an SVM model on the test rows, for both SVM methods.
$(TASKS_ROOT)/%/svm/pred.csv: $(TASKS_ROOT)/%/svm/model.txt $(FILTER_DIR)/raw$(SVM_SIZE).npy
	bin/train-svm --load $< --predict --ids $(TASKS_ROOT)/$*/split/test.csv -o $@ $(FILTER_DIR)/raw$(SVM_SIZE).npy

$(TASKS_ROOT)/%/transfer/pred.csv: $(TASKS_ROOT)/%/transfer/model.txt $$(call transfer_features,$$*)
	bin/train-svm --load $< --predict --ids $(TASKS_ROOT)/$*/split/test.csv -o $@ $(call transfer_features,$*)

# ---- the custom CNN ----
$(FILTER_DIR)/images$(CNN_SIZE).npy: $(DATA)/attribute_list.csv bin/decode | $(FILTER_DIR)/.dir
	bin/decode --skip-bad --size $(CNN_SIZE) --labels $< $(DATA)/images -o $@ 2> /dev/null

CNN_IMAGES := $(if $(filter $(CNN_SIZE),$(SIZE)),$(FILTER_DIR)/images.npy,$(FILTER_DIR)/images$(CNN_SIZE).npy)

$(TASKS_ROOT)/%/cnn/pred.csv: $(CNN_IMAGES) $(TASKS_ROOT)/%/split/.done $(CNN_CFG) bin/train-cnn
	@mkdir -p $(@D)
	bin/train-cnn --cfg $(CNN_CFG) --split $(TASKS_ROOT)/$*/split --seed $(SEED) --epochs $(CNN_EPOCHS) \
	  -o $(@D)/model.weights --curves $(@D)/curves.csv --plot $(@D)/curves.png \
	  --predictions $@.tmp $< 2> $(@D)/train.log && mv $@.tmp $@ || { cat $(@D)/train.log >&2; exit 1; }

$(TASKS_ROOT)/%/cnn/model.weights: $(TASKS_ROOT)/%/cnn/pred.csv ;

# ---- reports (every method) ----
$(TASKS_ROOT)/%/report.txt: $(TASKS_ROOT)/%/pred.csv bin/evaluate
	bin/evaluate --task $(firstword $(subst /, ,$(patsubst $(TASKS_ROOT)/%,%,$@))) --pred $< \
	  --truth $(TASKS_ROOT)/$(firstword $(subst /, ,$(patsubst $(TASKS_ROOT)/%,%,$@)))/split/test.csv -o $(@D) > /dev/null
	@echo "$(patsubst $(TASKS_ROOT)/%/report.txt,%,$@): accuracy $$(grep '^accuracy,' $(@D)/metrics.csv | cut -d, -f2)"
