# predict.mk - `make predict IMAGES=dir`: label a folder of new images with the trained models.
#
#   make predict IMAGES=new/                  every task with a trained model
#   make predict IMAGES=new/ DATA=path/amls   the models trained on that dataset
#   make predict IMAGES=new/ task=smiling     one task
#   make predict IMAGES=new/ METHOD=cnn       force a method instead of the best one
#
# Writes $(FILTER_OUT)/predict/<IMAGES as a key>/task_N.csv in the AMLS assignment's format:
# the first line the expected accuracy (the test accuracy of the model used), then
# `file,prediction` per image, file as named in the folder (12.png), prediction as the
# label's own value (-1/1, or 0..5 for hair_color). N: 1 smiling, 2 young, 3 eyeglasses,
# 4 human, 5 hair_color. pred-<task>.csv beside it keeps the classifier's own output
# (class index and score). See docs/predict.md.
#
# Which model: of the methods trained for a task (svm, transfer, cnn), the one with the best
# *validation* accuracy; the test set stays an unbiased estimate of the model picked. Ties
# go to the first of svm, transfer, cnn (the cheapest). A method is not eligible when its
# report is older than its model, or (transfer on CNN codes) when the CNN was retrained
# after it: its accuracy would not be the model's. `make predict` never trains anything.
#
# Each method's features are made exactly as tasks.mk made them for training, from
# `decode --all IMAGES` at the same size: svm raw pixels at the model's size; transfer the
# features features.txt names (hand-crafted, the task CNN's codes, or a BACKBONE's);
# cnn the network itself. Everything is cached under the output folder and redone when the
# folder's files (names, sizes, times), the chosen model (its checksum) or a stage change.
#
# This file is read before tasks.mk (pipelines/*.mk are included in name order), so it
# uses only filter.mk's variables (FILTER_OUT, SIZE) at parse time.

IMAGES ?=
METHOD ?=
PREDICT_TASKS   := smiling young eyeglasses human hair_color
PREDICT_METHODS := svm transfer cnn
PREDICT_FROM    := $(FILTER_OUT)/tasks
PREDICT_KEY     := $(subst /,_,$(patsubst /%,%,$(abspath $(IMAGES))))$(if $(METHOD),-$(METHOD))
PREDICT_DIR     := $(FILTER_OUT)/predict/$(PREDICT_KEY)
PREDICT_SELECTED = $(if $(task),$(task),$(PREDICT_TASKS))

.PHONY: predict

# The assignment's task number: the position in PREDICT_TASKS.
predict_num = $(firstword $(foreach i,1 2 3 4 5,$(if $(filter $(1),$(word $(i),$(PREDICT_TASKS))),$(i))))

# ---- choosing the model (shell, run at parse time, only for `make predict`) ----
# Prints "METHOD VAL TEST KIND ARGS..." for the eligible method of task $(1) with the best
# validation accuracy, or nothing; why a trained method is not used goes to stderr. KIND:
#   raw S            svm on raw pixels S x S x 3 (from the model's feature count)
#   hand             transfer on hand-crafted features
#   codes LAYER S N  transfer on the codes of LAYER of the task CNN's network N (the one
#                    chosen on the validation rows, val_weights_sh), images at S (its input)
#   backbone CFG W   transfer on the codes of a user's network (W = weights, - for none)
#   cnn S            the CNN, images at S
# VAL comes from run.csv (val_accuracy) when there is one, else from the logs: train-svm's
# "validation accuracy" line; train-cnn's best epoch (the weights it saved), or the epoch of
# lowest validation loss in curves.csv. TEST is the first line of evaluate's predictions.csv.
define predict_select
T=$(1); D=$(PREDICT_FROM)/$(1); best=; bv=-1;
for m in $(or $(METHOD),$(PREDICT_METHODS)); do
  d=$$D/$$m; if [ $$m = cnn ]; then model=$$d/model.weights; else model=$$d/model.txt; fi;
  [ -f $$model ] || continue;
  no() { echo "predict: $$T/$$m is not used: $$*" >&2; };
  if [ ! -f $$d/predictions.csv ]; then no "it has no test report ($$d/predictions.csv; make task=$$T $$m)"; continue; fi;
  newer=; for f in $$model $$([ $$m = cnn ] && awk -v d=$$d '{ for (i = 1; i <= NF; i++) print d "/" $$i }' $$d/members.txt 2>/dev/null); do
    [ $$f -nt $$d/predictions.csv ] && newer=$$f; done;
  if [ -n "$$newer" ]; then no "its test report is older than $$newer (make task=$$T $$m)"; continue; fi;
  val=; [ -f $$d/run.csv ] && val=$$(awk -F, '$$1 == "val_accuracy" { print $$2 }' $$d/run.csv);
  if [ -z "$$val" ] && [ $$m = cnn ]; then
    val=$$(sed -n 's/.*best epoch .*val loss [^ ]* acc \([0-9.]*\).*/\1/p' $$d/train.log 2>/dev/null | tail -1);
    [ -n "$$val" ] || val=$$(awk -F, 'NR > 1 && (NR == 2 || $$4 < b) { b = $$4; a = $$5 } END { print a }' $$d/curves.csv 2>/dev/null);
  elif [ -z "$$val" ]; then
    val=$$(sed -n 's/.*validation accuracy \([0-9.]*\).*/\1/p' $$d/train.log 2>/dev/null | tail -1);
  fi;
  if [ -z "$$val" ]; then no "no validation accuracy in $$d (run.csv, train.log)"; continue; fi;
  test=$$(head -1 $$d/predictions.csv);
  case $$m in
  svm) n=$$(sed -n 's/^features //p' $$model);
       s=$$(awk -v n="$$n" 'BEGIN { s = int(sqrt(n / 3) + 0.5); if (s * s * 3 == n) print s }');
       if [ -z "$$s" ]; then no "$$n features are not S x S x 3 raw pixels"; continue; fi;
       kind="raw $$s";;
  transfer) f=$$(cat $$d/features.txt 2>/dev/null);
       case $$f in
       hand-crafted*) kind=hand;;
       "CNN codes (layer "*) l=$$(echo "$$f" | sed -n 's/^CNN codes (layer \([-0-9]*\)).*/\1/p'); net=$$D/cnn/model.weights; $(val_weights_sh);
            if [ -z "$$v" ]; then no "$$why: the network its codes came from is gone"; continue; fi; c=$$v;
            if [ ! -f $$c ] || [ ! -f $$c.cfg ]; then no "the CNN whose codes it was trained on is gone ($$c)"; continue; fi;
            if [ $$c -nt $$model ] || [ $$D/cnn/model.weights -nt $$model ]; then no "the CNN was retrained after it (make task=$$T transfer)"; continue; fi;
            kind="codes $$l $$(sed -n 's/^height=//p' $$c.cfg | head -1) $$c";;
       "CNN codes of "*) b=$$(echo "$$f" | sed 's/^CNN codes of //; s/ + .*//'); w=$$(echo "$$f" | sed -n 's/^CNN codes of .* + //p');
            if [ ! -f "$$b" ]; then no "its backbone $$b is not there"; continue; fi;
            kind="backbone $$b $${w:--}";;
       *) no "unknown features in $$d/features.txt"; continue;;
       esac;;
  cnn) kind="cnn $$(sed -n 's/^height=//p' $$model.cfg 2>/dev/null | head -1)";;
  esac;
  if awk -v a="$$val" -v b="$$bv" 'BEGIN { exit !(a + 0 > b + 0) }'; then best="$$m $$val $$test $$kind"; bv=$$val; fi;
done;
echo $$best
endef

ifneq ($(filter predict,$(MAKECMDGOALS)),)
ifeq ($(strip $(IMAGES)),)
$(error make predict needs IMAGES=DIR, a folder of images to label)
endif
ifeq ($(wildcard $(IMAGES)/.),)
$(error IMAGES=$(IMAGES) is not a directory)
endif
ifneq ($(METHOD),)
ifeq ($(filter $(METHOD),$(PREDICT_METHODS)),)
$(error unknown METHOD '$(METHOD)'; valid methods: $(PREDICT_METHODS))
endif
endif
$(foreach t,$(PREDICT_SELECTED),$(eval PREDICT_CHOICE_$(t) := $(shell $(call predict_select,$(t)))))
PREDICT_READY := $(strip $(foreach t,$(PREDICT_SELECTED),$(if $(PREDICT_CHOICE_$(t)),$(t))))
ifeq ($(PREDICT_READY),)
$(error no trained $(or $(METHOD),model) for $(if $(task),task $(task),any task) under $(PREDICT_FROM); train first (make DATA=$(DATA) $(if $(task),task=$(task) )$(or $(METHOD),svm)); see docs/predict.md)
endif
endif

# ---- the images, decoded as for training ----
$(PREDICT_DIR)/.dir:
	@mkdir -p $(@D) && touch $@

# The folder's listing (every file decode --all reads: name, size, modification time),
# rewritten only when it changes, so the decoded images are redone only then.
$(PREDICT_DIR)/files.txt: FORCE | $(PREDICT_DIR)/.dir
	@find -L $(IMAGES)/ -mindepth 1 -maxdepth 1 -type f ! -name '.*' -printf '%f\t%s\t%T@\n' | LC_ALL=C sort | $(call replace_if_changed,$@)

# id -> file name: decode's id is the name without its last extension.
$(PREDICT_DIR)/files.csv: $(PREDICT_DIR)/files.txt
	@awk -F'\t' '$$1 ~ /,/ { print "predict: " FILENAME ": a comma in the image name \"" $$1 "\" cannot go into a CSV" > "/dev/stderr"; bad = 1 } \
	  { id = $$1; sub(/\.[^.]*$$/, "", id); print id "," $$1 } END { exit bad }' $< > $@.tmp && mv $@.tmp $@

$(PREDICT_DIR)/images-s%.npy: $(PREDICT_DIR)/files.txt bin/decode
	bin/decode --skip-bad --size $* --all $(IMAGES) -o $@ 2> $(@:.npy=.log) || { cat $(@:.npy=.log) >&2; exit 1; }
	@grep -h 'skipp' $(@:.npy=.log) >&2 || true

# svm: raw pixels at the model's size, from the images decoded at SIZE (tasks.mk's raw$(SVM_SIZE).npy).
$(PREDICT_DIR)/raw-%.npy: $(PREDICT_DIR)/images-s$(SIZE).npy bin/extract-features
	bin/extract-features --method raw --size $* $< -o $@ 2> $(@:.npy=.log) || { cat $(@:.npy=.log) >&2; exit 1; }

# transfer without a CNN: the hand-crafted features (filter.mk's features.npy).
$(PREDICT_DIR)/hand.npy: $(PREDICT_DIR)/images-s$(SIZE).npy bin/extract-features
	bin/extract-features $< -o $@ 2> $(@:.npy=.log) || { cat $(@:.npy=.log) >&2; exit 1; }

# ---- per task: features, classifier, assignment format ----
predict_model = $(PREDICT_FROM)/$(1)/$(if $(filter cnn,$(2)),cnn/model.weights,$(2)/model.txt)
# The networks of task $(1)'s CNN: those its test report came from (cnn/members.txt, an
# ensemble when CNN_MEMBERS > 1), else the one network.
predict_cnn_nets = $(addprefix $(PREDICT_FROM)/$(1)/cnn/,$(or $(shell cat $(PREDICT_FROM)/$(1)/cnn/members.txt 2>/dev/null),model.weights))

# Inputs of task $(1) with choice $(2) (the words of predict_select).
predict_inputs = $(strip $(PREDICT_DIR)/files.csv $(PREDICT_DIR)/task_$(call predict_num,$(1)).choice \
  $(if $(filter raw,$(word 4,$(2))),$(PREDICT_DIR)/raw-$(word 5,$(2)).npy bin/train-svm) \
  $(if $(filter hand,$(word 4,$(2))),$(PREDICT_DIR)/hand.npy bin/train-svm) \
  $(if $(filter codes,$(word 4,$(2))),$(PREDICT_DIR)/images-s$(word 6,$(2)).npy bin/extract-features bin/train-svm) \
  $(if $(filter backbone,$(word 4,$(2))),$(PREDICT_DIR)/images-s$(SIZE).npy bin/extract-features bin/train-svm) \
  $(if $(filter cnn,$(word 4,$(2))),$(PREDICT_DIR)/images-s$(word 5,$(2)).npy bin/train-cnn))

# The command printing file_name,predicted,score for every image, as tasks.mk predicts.
predict_command = $(strip \
  $(if $(filter raw,$(word 4,$(2))),bin/train-svm --load $(PREDICT_FROM)/$(1)/svm/model.txt --predict $(PREDICT_DIR)/raw-$(word 5,$(2)).npy) \
  $(if $(filter hand,$(word 4,$(2))),bin/train-svm --load $(PREDICT_FROM)/$(1)/transfer/model.txt --predict $(PREDICT_DIR)/hand.npy) \
  $(if $(filter codes,$(word 4,$(2))),bin/extract-features --cfg $(word 7,$(2)).cfg \
    --weights $(word 7,$(2)) --layer $(word 5,$(2)) $(PREDICT_DIR)/images-s$(word 6,$(2)).npy \
    | bin/train-svm --load $(PREDICT_FROM)/$(1)/transfer/model.txt --predict) \
  $(if $(filter backbone,$(word 4,$(2))),bin/extract-features --cfg $(word 5,$(2)) $(if $(filter-out -,$(word 6,$(2))),--weights $(word 6,$(2))) \
    $(PREDICT_DIR)/images-s$(SIZE).npy | bin/train-svm --load $(PREDICT_FROM)/$(1)/transfer/model.txt --predict) \
  $(if $(filter cnn,$(word 4,$(2))),bin/train-cnn --predict $(addprefix --load ,$(call predict_cnn_nets,$(1))) \
    $(PREDICT_DIR)/images-s$(word 5,$(2)).npy))

# The files whose change means new predictions: the model (every network of a CNN
# ensemble), and the CNN behind CNN codes.
predict_watched = $(if $(filter cnn,$(word 1,$(2))),$(call predict_cnn_nets,$(1)),$(call predict_model,$(1),$(word 1,$(2)))) \
  $(if $(filter codes,$(word 4,$(2))),$(word 7,$(2))) \
  $(if $(filter backbone,$(word 4,$(2))),$(word 5,$(2)) $(filter-out -,$(word 6,$(2))))

# $(1) task, $(2) its choice. The .choice file holds the choice and the models' checksums and
# is rewritten only when they change (a retrained or newly chosen model).
define predict_task_rules
$(PREDICT_DIR)/task_$(call predict_num,$(1)).choice: FORCE | $(PREDICT_DIR)/.dir
	@set -o pipefail; { echo '$(2)'; cksum $(call predict_watched,$(1),$(2)); } | $(call replace_if_changed,$$@)

$(PREDICT_DIR)/task_$(call predict_num,$(1)).csv: $(call predict_inputs,$(1),$(2))
	set -o pipefail; $(call predict_command,$(1),$(2)) > $(PREDICT_DIR)/pred-$(1).csv.tmp 2> $(PREDICT_DIR)/pred-$(1).log \
	  && mv $(PREDICT_DIR)/pred-$(1).csv.tmp $(PREDICT_DIR)/pred-$(1).csv || { cat $(PREDICT_DIR)/pred-$(1).log >&2; exit 1; }
	@awk -F, -v acc='$(word 3,$(2))' -v binary=$(if $(filter hair_color,$(1)),0,1) -v pred=$(PREDICT_DIR)/pred-$(1).csv '\
	  FILENAME != pred { file[$$$$1] = $$$$2; next } \
	  FNR == 1 { if ($$$$0 != "file_name,predicted,score") { print pred ": unexpected header " $$$$0 > "/dev/stderr"; exit 1 } print acc; next } \
	  !($$$$1 in file) { print pred ":" FNR ": id " $$$$1 " is not a file of the folder" > "/dev/stderr"; exit 1 } \
	  { print file[$$$$1] "," (binary ? ($$$$2 == 1 ? 1 : -1) : $$$$2) }' $(PREDICT_DIR)/files.csv $(PREDICT_DIR)/pred-$(1).csv > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach t,$(PREDICT_READY),$(eval $(call predict_task_rules,$(t),$(PREDICT_CHOICE_$(t)))))

# One line per task: the model used and the file, or why there is none.
define predict_said
echo "predict: task_$(call predict_num,$(1)) ($(1)): $(word 1,$(PREDICT_CHOICE_$(1))) (validation accuracy \
$(word 2,$(PREDICT_CHOICE_$(1))), test $(word 3,$(PREDICT_CHOICE_$(1)))), \
$$(($$(wc -l < $(PREDICT_DIR)/task_$(call predict_num,$(1)).csv) - 1)) images -> $(PREDICT_DIR)/task_$(call predict_num,$(1)).csv";
endef
define predict_none
echo "predict: task_$(call predict_num,$(1)) ($(1)): no trained $(or $(METHOD),model) in $(PREDICT_FROM)/$(1); \
skipped (make task=$(1) $(or $(METHOD),svm))";
endef

predict: $(foreach t,$(PREDICT_READY),$(PREDICT_DIR)/task_$(call predict_num,$(t)).csv)
	@$(foreach t,$(PREDICT_SELECTED),$(if $(PREDICT_CHOICE_$(t)),$(call predict_said,$(t)),$(call predict_none,$(t))))
