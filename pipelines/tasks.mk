# tasks.mk - the five classification tasks, three methods each, on the filtered faces.
#
#   make task=smiling svm        raw-pixel linear SVM (C by random search + k-fold CV)
#   make task=smiling transfer   CNN codes (or, without a CNN, hand-crafted features) -> SVM
#   make task=smiling cnn        the custom CNN (Darknet), trained from scratch
#   make task=smiling            every method for that task;  make tasks: every task
#
# All outputs land under $(FILTER_OUT)/tasks/<task>/<method>/ (report.txt, metrics.csv,
# confusion.csv, predictions.csv in the original's format), so they are keyed by the
# filter's result: the same split (split/) is used by every method of a task. Every method
# dir also gets
#   run.csv      key,value: train_wall_s, train_cpu_s, predict_wall_s, predict_cpu_s (bash's
#                `time` around the training and the test-prediction commands; cpu = user +
#                system of every thread), val_accuracy (the final model on the validation
#                rows; the CNN: its best epoch's; an ensemble (CNN_MEMBERS): its mean
#                softmax's, training times summed; a refit=1 cfg: of the networks chosen
#                before the refit), test_accuracy, method, features
#   groups.csv   the test accuracy within each value of the EVAL_BY column of the filtered
#                labels (default human: photographs and cartoons apart; not for the task
#                EVAL_BY itself; EVAL_BY= for none), also at the end of report.txt
#   curves.csv   learning curves, and curves.png: the SVMs' n_train,train_accuracy,
#                val_accuracy (train-svm --learning-curve, the chosen C refitted on 10%, 20%,
#                ..., 100% of the training rows); the CNN's per epoch (train-cnn --curves)

TASKS      := smiling young eyeglasses human hair_color
METHODS    := svm transfer cnn
task       ?=
SVM_SIZE   ?= 32
SVM_ITER   ?= 10
SVM_FOLDS  ?= 3
CNN_SIZE   ?= $(SIZE)
# One cfg, or several (an ensemble of different networks, see CNN_MEMBERS).
CNN_CFG    ?= pipelines/cnn-aug.cfg
CNN_EPOCHS ?= 50
BACKBONE   ?=
WEIGHTS    ?=
TASKS_ROOT := $(FILTER_OUT)/tasks
EVAL_BY    ?= human

# CNN_MEMBERS=N: N networks per task, and the test rows (and `make predict`) by the mean of
# their softmax (train-cnn --predict with N --load). Network 1 is cnn/model.weights, seed
# SEED (the transfer method's codes come from it); network k >= 2 is cnn/member-k/, seed
# SEED + k - 1 (so SEED 1 and N 3 are the seeds 1, 2, 3 measured in docs/train-cnn.md).
# Network k trains the k-th cfg of CNN_CFG (taken round and round when N is larger), and N
# defaults to the number of cfgs: CNN_CFG="a.cfg b.cfg c.cfg" is an ensemble of three
# different networks. cnn/members.txt lists the networks of the ensemble (rewritten only
# when that list changes): pred.csv, run.csv and make predict follow it.
# docs/train-cnn.md, "Seeds and ensembles", has what each buys.
ifeq ($(strip $(CNN_CFG)),)
$(error CNN_CFG is empty: give one cfg or several, e.g. pipelines/cnn-aug.cfg)
endif
CNN_MEMBERS ?= $(words $(CNN_CFG))
ifeq ($(shell [ "$(CNN_MEMBERS)" -lt $(words $(CNN_CFG)) ] 2>/dev/null && echo fewer),fewer)
$(error CNN_MEMBERS $(CNN_MEMBERS) is fewer than the $(words $(CNN_CFG)) cfgs of CNN_CFG: one network per cfg at least)
endif
ifeq ($(shell [ "$(CNN_MEMBERS)" -ge 1 ] 2>/dev/null && [ "$(CNN_MEMBERS)" -le 16 ] && echo ok),)
$(error CNN_MEMBERS '$(CNN_MEMBERS)': expected a whole number of networks, 1 to 16)
endif
cnn_extra := $(if $(filter-out 1,$(CNN_MEMBERS)),$(shell seq 2 $(CNN_MEMBERS)))
# The cfg and the seed of network $(1).
cnn_cfg_of  = $(word $(shell expr \( $(1) - 1 \) % $(words $(CNN_CFG)) + 1),$(CNN_CFG))
cnn_seed_of = $(shell expr $(SEED) + $(1) - 1)
# The cfgs the networks train; just the one when they all train the same.
cnn_cfgs_used := $(if $(word 2,$(sort $(CNN_CFG))),$(CNN_CFG),$(firstword $(CNN_CFG)))
# Where network k lives under a task's cnn/ ("" for network 1, else member-k/), and every
# network's weights of task $(1).
cnn_sub    = $(if $(filter 1,$(1)),,member-$(1)/)
cnn_nets   = $(foreach k,1 $(cnn_extra),$(TASKS_ROOT)/$(1)/cnn/$(call cnn_sub,$(k))model.weights)

ifneq ($(task),)
ifeq ($(filter $(task),$(TASKS)),)
$(error unknown task '$(task)'; valid tasks: $(TASKS))
endif
endif
SELECTED := $(if $(task),$(task),$(TASKS))

.PHONY: svm transfer cnn tasks summary
# The time files are asked for by name: under .SECONDARY (Makefile) a missing file that only
# pattern rules mention is not remade, so a model whose train.time is gone would never be
# trained again. (Its run.csv, judged before, follows on the next make.)
svm:      $(foreach f,run.csv curves.png train.time predict.time,$(SELECTED:%=$(TASKS_ROOT)/%/svm/$(f)))
transfer: $(foreach f,run.csv curves.png train.time predict.time,$(SELECTED:%=$(TASKS_ROOT)/%/transfer/$(f)))
cnn:      $(foreach f,run.csv train.time predict.time $(cnn_extra:%=member-%/train.time),$(SELECTED:%=$(TASKS_ROOT)/%/cnn/$(f)))
tasks:    svm transfer cnn
	@$(MAKE) -s summary

# Test accuracy of every task and method trained so far.
summary:
	@echo "test accuracy ($(FILTER_OUT)/tasks):"
	@for t in $(SELECTED); do for m in $(METHODS); do \
	  f=$(TASKS_ROOT)/$$t/$$m/metrics.csv; [ -f $$f ] || continue; printf '%-11s %-9s accuracy %s\n' $$t $$m $$(grep '^accuracy,' $$f | cut -d, -f2); \
	done; done

# $(call timed,TIMEFILE,COMMAND,LOG): COMMAND, its stderr to LOG, under bash's `time`; when it
# succeeds "wall user system" (seconds) go to TIMEFILE by rename, else LOG is shown. The
# time files (train.time, predict.time) are targets of the rule that trains (or predicts)
# beside the model, so an SVM model without one is made again rather than reported without
# a time (a CNN's is recovered from its log, see below).
timed = TIMEFORMAT='%R %U %S'; { time $(2) 2> $(3); } 2> $(1).tmp.$$$$ && mv $(1).tmp.$$$$ $(1) || { rm -f $(1).tmp.$$$$; cat $(3) >&2; exit 1; }

# One split per task, shared by every method.
$(TASKS_ROOT)/%/split/.done: $(FILTERED) bin/split
	@mkdir -p $(@D)
	bin/split --labels $< --task $* --seed $(SEED) -o $(@D) 2> $(@D).log || { cat $(@D).log >&2; exit 1; }
	@touch $@

# ---- raw-pixel linear SVM ----
$(FILTER_DIR)/raw$(SVM_SIZE).npy: $(FILTER_DIR)/images.npy bin/extract-features
	bin/extract-features --method raw --size $(SVM_SIZE) $< -o $@

# train-svm's options for task $(1): the C search, seeded; training and validation rows.
svm_train_args = --task $(1) --balanced --seed $(SEED) --n-iter $(SVM_ITER) --folds $(SVM_FOLDS) \
	  --train $(TASKS_ROOT)/$(1)/split/train.csv --val $(TASKS_ROOT)/$(1)/split/val.csv

# $(call recipe,SETTINGS): recipe.txt of a model, the settings it was made with (the
# *_recipe lists), rewritten only when they change, so that a model follows its settings
# both ways (a file's date alone cannot tell that SVM_ITER=20 went back to 10, or CNN_CFG to
# a cfg older than the weights).
recipe = @mkdir -p $(@D); printf '%s\n' $(1) | $(call replace_if_changed,$@)
svm_recipe      = size=$(SVM_SIZE) n_iter=$(SVM_ITER) folds=$(SVM_FOLDS) seed=$(SEED)
transfer_recipe = n_iter=$(SVM_ITER) folds=$(SVM_FOLDS) seed=$(SEED)
codes_recipe    = layer=$(CNN_CODE_LAYER)
backbone_recipe = cfg=$(abspath $(BACKBONE)) weights=$(abspath $(WEIGHTS))
cnn_recipe      = cfg=$(abspath $(call cnn_cfg_of,$(1))) seed=$(call cnn_seed_of,$(1)) epochs=$(CNN_EPOCHS) size=$(CNN_SIZE)

$(TASKS_ROOT)/%/svm/recipe.txt: FORCE
	$(call recipe,$(svm_recipe))

$(TASKS_ROOT)/%/svm/model.txt $(TASKS_ROOT)/%/svm/train.time: $(FILTER_DIR)/raw$(SVM_SIZE).npy $(TASKS_ROOT)/%/split/.done $(TASKS_ROOT)/%/svm/recipe.txt bin/train-svm
	@mkdir -p $(@D)
	@$(call timed,$(@D)/train.time,bin/train-svm $(call svm_train_args,$*) \
	  --search-log $(@D)/search.csv --save $(@D)/model.txt $<,$(@D)/train.log)
	@echo "$*/svm: $$(grep -o 'training time.*' $(@D)/train.log)"

# ---- transfer: features -> SVM ----
# Features: a user's backbone (BACKBONE=cfg WEIGHTS=file) when given; else TRANSFER_FEATURES:
#   cnn   the penultimate (512-unit) layer of the CNN trained on the same training rows
#         (`make task=T transfer` then trains that CNN first);
#   hand  the hand-crafted features of the filter;
#   auto  (default) the CNN's codes when the task's CNN exists when make starts, else the
#         hand-crafted features - the fast default job needs no CNN.
# features.txt records which, and is rewritten only when that changes, so switching retrains.
CNN_CODE_LAYER    ?= -3
TRANSFER_FEATURES ?= auto
ifeq ($(filter $(TRANSFER_FEATURES),auto cnn hand),)
$(error unknown TRANSFER_FEATURES '$(TRANSFER_FEATURES)'; valid: auto cnn hand)
endif
transfer_source = $(if $(BACKBONE),backbone,$(if $(filter auto,$(TRANSFER_FEATURES)),$(if $(wildcard $(TASKS_ROOT)/$(1)/cnn/model.weights),cnn,hand),$(TRANSFER_FEATURES)))
transfer_features = $(if $(filter backbone,$(call transfer_source,$(1))),$(FILTER_DIR)/codes-$(notdir $(BACKBONE)).npy,$(if $(filter cnn,$(call transfer_source,$(1))),$(TASKS_ROOT)/$(1)/cnn/codes.npy,$(FILTER_DIR)/features.npy))
transfer_kind = $(if $(filter backbone,$(call transfer_source,$(1))),CNN codes of $(BACKBONE) + $(WEIGHTS),$(if $(filter cnn,$(call transfer_source,$(1))),CNN codes (layer $(CNN_CODE_LAYER)) of the custom CNN trained on this task's training rows,hand-crafted features ($(if $(filter hand,$(TRANSFER_FEATURES)),TRANSFER_FEATURES=hand,no CNN trained for this task yet and no BACKBONE given))))

$(FILTER_DIR)/codes-$(notdir $(BACKBONE)).recipe: FORCE
	$(call recipe,$(backbone_recipe))

$(FILTER_DIR)/codes-$(notdir $(BACKBONE)).npy: $(FILTER_DIR)/images.npy $(BACKBONE) $(WEIGHTS) $(FILTER_DIR)/codes-$(notdir $(BACKBONE)).recipe bin/extract-features
	bin/extract-features --cfg $(BACKBONE) $(if $(WEIGHTS),--weights $(WEIGHTS)) $< -o $@

$(TASKS_ROOT)/%/cnn/codes.recipe: FORCE
	$(call recipe,$(codes_recipe))

# The codes of the network chosen on the validation rows (before any refit on them: the
# transfer method reports its accuracy on those rows).
$(TASKS_ROOT)/%/cnn/codes.npy: $(TASKS_ROOT)/%/cnn/model.weights $(TASKS_ROOT)/%/cnn/codes.recipe $(CNN_IMAGES) bin/extract-features
	@net=$<; $(val_weights_or_stop); bin/extract-features --cfg $$v.cfg --weights $$v --layer $(CNN_CODE_LAYER) $(CNN_IMAGES) -o $@ 2> $(@D)/codes.log

.SECONDEXPANSION:
$(TASKS_ROOT)/%/transfer/features.txt: FORCE
	@mkdir -p $(@D)
	@echo "$(call transfer_kind,$*)" | $(call replace_if_changed,$@)

$(TASKS_ROOT)/%/transfer/recipe.txt: FORCE
	$(call recipe,$(transfer_recipe))

$(TASKS_ROOT)/%/transfer/model.txt $(TASKS_ROOT)/%/transfer/train.time: $$(call transfer_features,$$*) $(TASKS_ROOT)/%/transfer/features.txt $(TASKS_ROOT)/%/transfer/recipe.txt $(TASKS_ROOT)/%/split/.done bin/train-svm
	@mkdir -p $(@D)
	@$(call timed,$(@D)/train.time,bin/train-svm $(call svm_train_args,$*) \
	  --search-log $(@D)/search.csv --save $(@D)/model.txt $<,$(@D)/train.log)
	@echo "$*/transfer: $$(grep -o 'training time.*' $(@D)/train.log)"

# Predictions of an SVM model on the test rows, for both SVM methods.
$(TASKS_ROOT)/%/svm/pred.csv $(TASKS_ROOT)/%/svm/predict.time: $(TASKS_ROOT)/%/svm/model.txt $(FILTER_DIR)/raw$(SVM_SIZE).npy
	@$(call timed,$(@D)/predict.time,bin/train-svm --load $< --predict \
	  --ids $(TASKS_ROOT)/$*/split/test.csv -o $(@D)/pred.csv $(FILTER_DIR)/raw$(SVM_SIZE).npy,$(@D)/predict.log)

$(TASKS_ROOT)/%/transfer/pred.csv $(TASKS_ROOT)/%/transfer/predict.time: $(TASKS_ROOT)/%/transfer/model.txt $$(call transfer_features,$$*)
	@$(call timed,$(@D)/predict.time,bin/train-svm --load $< --predict \
	  --ids $(TASKS_ROOT)/$*/split/test.csv -o $(@D)/pred.csv $(call transfer_features,$*),$(@D)/predict.log)

# Learning curves of both SVM methods: the C that model.txt holds (its 17 digits give the
# very same double), refitted on growing stratified subsets of the training rows. A run of
# its own, so that the training time in run.csv is the training's alone.
$(TASKS_ROOT)/%/svm/curves.csv: $(TASKS_ROOT)/%/svm/model.txt $(FILTER_DIR)/raw$(SVM_SIZE).npy
	bin/train-svm $(call svm_train_args,$*) --c $$(sed -n 's/^C //p' $<) --learning-curve $@ \
	  $(FILTER_DIR)/raw$(SVM_SIZE).npy 2> $(@D)/curves.log || { cat $(@D)/curves.log >&2; exit 1; }

$(TASKS_ROOT)/%/transfer/curves.csv: $(TASKS_ROOT)/%/transfer/model.txt $$(call transfer_features,$$*)
	bin/train-svm $(call svm_train_args,$*) --c $$(sed -n 's/^C //p' $<) --learning-curve $@ \
	  $(call transfer_features,$*) 2> $(@D)/curves.log || { cat $(@D)/curves.log >&2; exit 1; }

$(TASKS_ROOT)/%/curves.png: $(TASKS_ROOT)/%/curves.csv
	@c=$$(sed -n 's/^C //p' $(@D)/model.txt | xargs printf '%.3g'); \
	gnuplot -e "set terminal pngcairo size 640,420; set output '$@.tmp'; set datafile separator ','; \
	  set title '$*: learning curve at C = $$c'; set xlabel 'training rows'; set ylabel 'accuracy'; \
	  set grid; set key bottom right; set yrange [:1.02]; \
	  plot '$<' skip 1 using 1:2 with linespoints pt 7 title 'on its training rows', \
	       '' skip 1 using 1:3 with linespoints pt 5 title 'on the validation rows'" && mv $@.tmp $@

# ---- the custom CNN ----
$(FILTER_DIR)/images$(CNN_SIZE).npy: $(DATA)/attribute_list.csv bin/decode | $(FILTER_DIR)/.dir
	bin/decode --skip-bad --size $(CNN_SIZE) --labels $< $(DATA)/images -o $@ 2> /dev/null

CNN_IMAGES := $(if $(filter $(CNN_SIZE),$(SIZE)),$(FILTER_DIR)/images.npy,$(FILTER_DIR)/images$(CNN_SIZE).npy)

# Training network $@ of task $(1) with seed $(2) and cfg $(3) (its own test predictions, on stdout, are
# not kept: pred.csv comes from the saved weights below, which also times the prediction).
# Its per-epoch log goes to train.log whatever FP_QUIET says. val-model.weights beside it: the
# network chosen on the validation rows (the same one unless the cfg says refit=1).
define cnn_train
@mkdir -p $(@D)
@$(call timed,$(@D)/train.time,env -u FP_QUIET bin/train-cnn --cfg $(3) --split $(TASKS_ROOT)/$(1)/split \
  --seed $(2) --epochs $(CNN_EPOCHS) -o $@ --val-model $(@D)/val-model.weights \
  --curves $(@D)/curves.csv --plot $(@D)/curves.png $< > /dev/null,$(@D)/train.log)
@echo "$(patsubst $(TASKS_ROOT)/%/model.weights,%,$@): $$(grep -o 'best epoch.*' $(@D)/train.log | cut -d';' -f1)"
endef

# Network k (1: cnn/, k >= 2: cnn/member-k/) of every task: its rules, its recipe.
define cnn_net_rules
$(TASKS_ROOT)/%/cnn/$(1)recipe.txt: FORCE
	$$(call recipe,$(4))

$(TASKS_ROOT)/%/cnn/$(1)model.weights: $(CNN_IMAGES) $(TASKS_ROOT)/%/split/.done $(2) $(TASKS_ROOT)/%/cnn/$(1)recipe.txt bin/train-cnn
	$$(call cnn_train,$$*,$(3),$(2))
endef
$(foreach k,1 $(cnn_extra),$(eval $(call cnn_net_rules,$(call cnn_sub,$(k)),$(call cnn_cfg_of,$(k)),$(call cnn_seed_of,$(k)),$(call cnn_recipe,$(k)))))

# The training recipe writes train.time right after the weights. A CNN trained before
# train.time existed, or killed between saving its weights and its last log line, gets its
# times from its train.log instead of hours of training again: the wall clock train-cnn
# printed ("N s in all") - or, when that line never came, the sum of its epochs' wall times
# (a lower bound: setup and the final test pass are missing) - and the CPU seconds of its
# epochs (a refit's included). (Any directory with model.weights: the CNN and its ensemble members.)
$(TASKS_ROOT)/%/train.time: $(TASKS_ROOT)/%/model.weights
	@[ -f $@ ] && [ $@ -nt $< ] || { awk '/ s in all/ { w = $$0; sub(/ s in all.*/, "", w); sub(/.* /, "", w) } \
	  /^train-cnn: (refit )?epoch .*cpu / { c = $$0; sub(/.*cpu /, "", c); cpu += c + 0 } \
	  /^train-cnn: epoch .*cpu / { e = $$0; sub(/.*, epoch /, "", e); ep += e + 0 } \
	  /^train-cnn: refit epoch .*cpu / { e = $$0; sub(/.*\| train /, "", e); ep += e + 0 } \
	  END { if (w == "") w = ep; if (w + 0 <= 0) exit 1; printf "%s %.2f 0\n", w, cpu }' $(@D)/train.log > $@.tmp && mv $@.tmp $@ \
	  || { rm -f $@.tmp; echo "$@: no times in $(@D)/train.log; remove $< to train again" >&2; exit 1; }; }

# Shell: val_weights_sh (Makefile), and the recipe stops when there is no such network.
val_weights_or_stop = $(val_weights_sh); [ -n "$$v" ] || { echo "$$why: remove it to train again" >&2; exit 1; }

$(TASKS_ROOT)/%/cnn/members.txt: FORCE
	@mkdir -p $(@D)
	@echo "$(patsubst $(TASKS_ROOT)/$*/cnn/%,%,$(call cnn_nets,$*))" | $(call replace_if_changed,$@)

# The test rows by the ensemble (one network: the network).
$(TASKS_ROOT)/%/cnn/pred.csv $(TASKS_ROOT)/%/cnn/predict.time: $(call cnn_nets,%) $(TASKS_ROOT)/%/cnn/members.txt $(CNN_IMAGES)
	@$(call timed,$(@D)/predict.time,bin/train-cnn --predict $(addprefix --load ,$(call cnn_nets,$*)) \
	  --split $(TASKS_ROOT)/$*/split --predictions $(@D)/pred.csv $(CNN_IMAGES),$(@D)/predict.log)

# An ensemble's validation rows (val-pred.csv), for the accuracy run.csv reports
# (val-ensemble.log, renamed into place only when it succeeded): by the networks as chosen on
# those rows, before any refit.
$(TASKS_ROOT)/%/cnn/val-ensemble.log: $(call cnn_nets,%) $(TASKS_ROOT)/%/cnn/members.txt $(CNN_IMAGES)
	@loads=; for net in $(call cnn_nets,$*); do $(val_weights_or_stop); loads="$$loads --load $$v"; done; \
	env -u FP_QUIET bin/train-cnn --predict $$loads \
	  --test $(TASKS_ROOT)/$*/split/val.csv --predictions $(@D)/val-pred.csv $(CNN_IMAGES) 2> $@.tmp \
	  && mv $@.tmp $@ || { cat $@.tmp >&2; rm -f $@.tmp; exit 1; }

# ---- reports (every method) ----
# (report_task: the task of a stem TASK/METHOD.) eval-by.txt follows EVAL_BY, so that
# changing it evaluates again (only that: evaluate takes milliseconds).
report_task = $(firstword $(subst /, ,$(1)))
$(TASKS_ROOT)/eval-by.txt: FORCE
	$(call recipe,by=$(EVAL_BY))

$(TASKS_ROOT)/%/report.txt: $(TASKS_ROOT)/%/pred.csv bin/evaluate $(TASKS_ROOT)/eval-by.txt $(if $(EVAL_BY),$(FILTERED))
	bin/evaluate --task $(call report_task,$*) --pred $< --truth $(TASKS_ROOT)/$(call report_task,$*)/split/test.csv \
	  $(if $(filter-out $(call report_task,$*),$(EVAL_BY)),--by $(EVAL_BY) --labels $(FILTERED)) -o $(@D) > /dev/null
	@echo "$(patsubst $(TASKS_ROOT)/%/report.txt,%,$@): accuracy $$(grep '^accuracy,' $(@D)/metrics.csv | cut -d, -f2)"

# ---- run.csv (every method) ----
# An ensemble's (CNN_MEMBERS > 1): the validation accuracy of the mean softmax; training
# times summed over its networks.
$(foreach t,$(TASKS),$(eval $(TASKS_ROOT)/$(t)/cnn/run.csv: $(if $(cnn_extra),$(TASKS_ROOT)/$(t)/cnn/val-ensemble.log) \
  $(foreach k,$(cnn_extra),$(TASKS_ROOT)/$(t)/cnn/member-$(k)/train.time)))
$(TASKS_ROOT)/%/run.csv: $(TASKS_ROOT)/%/report.txt $(TASKS_ROOT)/%/train.time $(TASKS_ROOT)/%/predict.time
	@m=$(notdir $*); times="$(@D)/train.time"; \
	if [ $$m = cnn ] && [ -n "$(cnn_extra)" ]; then \
	  va=$$(sed -n 's/.* test images, accuracy \([0-9.]*\),.*/\1/p' $(@D)/val-ensemble.log); \
	  times="$(@D)/train.time $(cnn_extra:%=$(@D)/member-%/train.time)"; \
	elif [ $$m = cnn ]; then \
	  va=$$(awk -F, 'NR > 1 && (NR == 2 || $$4 < best) { best = $$4; acc = $$5 } END { print acc }' $(@D)/curves.csv); \
	else \
	  va=$$(sed -n 's/^train-svm: validation accuracy \([0-9.]*\).*/\1/p' $(@D)/train.log); \
	fi; \
	case $$m in \
	  svm) f="raw pixels $(SVM_SIZE)x$(SVM_SIZE)x3 standardised" ;; \
	  cnn) f="pixels $(CNN_SIZE)x$(CNN_SIZE)x3 / 255 into $(cnn_cfgs_used)$(if $(cnn_extra), (ensemble of $(CNN_MEMBERS) networks; mean softmax))" ;; \
	  *) f=$$(tr ',' ';' < $(@D)/features.txt) ;; \
	esac; \
	te=$$(sed -n 's/^accuracy,//p' $(@D)/metrics.csv); \
	[ -n "$$va" ] && [ -n "$$te" ] || { echo "$@: no validation or test accuracy" >&2; exit 1; }; \
	awk -v va="$$va" -v te="$$te" -v m="$$m" -v f="$$f" -v pt="$(@D)/predict.time" \
	  'FILENAME != pt { tw += $$1; tc += $$2 + $$3 } FILENAME == pt { pw = $$1; pc = $$2 + $$3 } \
	   END { printf "train_wall_s,%.3f\ntrain_cpu_s,%.3f\npredict_wall_s,%.3f\npredict_cpu_s,%.3f\n", tw, tc, pw, pc; \
	         printf "val_accuracy,%s\ntest_accuracy,%s\nmethod,%s\nfeatures,%s\n", va, te, m, f }' \
	  $$times $(@D)/predict.time > $@.tmp && mv $@.tmp $@

# A model made before recipe.txt existed is adopted, not retrained: its stamp is written
# while make reads this file (here at its end, every setting defined; a stamp that a rule
# creates counts as changed, whatever its date), dated as the model: taken as made with
# today's settings - what make assumed then.
# $(call adopt,STAMP,MODEL,SETTINGS)
adopt = $(if $(wildcard $(2)),$(if $(wildcard $(1)),,$(shell printf '%s\n' $(3) > $(1).tmp && \
	touch -r $(2) $(1).tmp && mv $(1).tmp $(1) && echo "$(2): made before $(notdir $(1)) existed; taken as made with: $(3)" >&2)))
$(foreach t,$(TASKS),$(call adopt,$(TASKS_ROOT)/$(t)/svm/recipe.txt,$(TASKS_ROOT)/$(t)/svm/model.txt,$(svm_recipe)) \
  $(call adopt,$(TASKS_ROOT)/$(t)/transfer/recipe.txt,$(TASKS_ROOT)/$(t)/transfer/model.txt,$(transfer_recipe)) \
  $(call adopt,$(TASKS_ROOT)/$(t)/cnn/codes.recipe,$(TASKS_ROOT)/$(t)/cnn/codes.npy,$(codes_recipe)) \
  $(foreach k,1 $(cnn_extra),$(call adopt,$(TASKS_ROOT)/$(t)/cnn/$(call cnn_sub,$(k))recipe.txt,$(TASKS_ROOT)/$(t)/cnn/$(call cnn_sub,$(k))model.weights,$(call cnn_recipe,$(k)))))
$(if $(BACKBONE),$(call adopt,$(FILTER_DIR)/codes-$(notdir $(BACKBONE)).recipe,$(FILTER_DIR)/codes-$(notdir $(BACKBONE)).npy,$(backbone_recipe)))
