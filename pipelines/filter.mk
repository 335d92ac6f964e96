# filter.mk - `make filter`: find and remove the noise (non-face) images.
#
#   decode -> extract-features -> pca -> tsne -> kmeans (elbow picks K) -> find-noise
#
# Variables: DATA (a folder with images/ and attribute_list.csv; default: the built-in
# generated dataset), SIZE (decode size, 64), SEED (1), K (clusters; default: from the
# elbow), NOISE_REF (an image id whose cluster is the noise, instead of the face-score rule),
# PCA_K (30), PERPLEXITY (30).
# Every intermediate is cached under build/filter/<data>/size<SIZE>-seed<SEED>/; a file is
# rebuilt when its inputs, the stage that makes it, or a parameter in its path change.
# Interrupted runs (kill -9 at any moment): every recipe writes temporaries named
# <file>.tmp.<pid> and renames them; a rule that makes several files renames its target
# last, so a target that exists and is newer than its inputs is always complete, with its
# companions beside it. A kill leaves at most some *.tmp.<pid> files, which the next
# successful `make filter` removes (only those whose process is gone).

DATA       ?= data/synth
SYNTH_N    ?= 1000
SEED       ?= 1
SIZE       ?= 64
PCA_K      ?= 30
PCA_OPTS   ?= --standardize
PERPLEXITY ?= 30
ELBOW      ?= 1..15
K          ?=
NOISE_REF  ?=

DATA_KEY   := $(subst /,_,$(patsubst /%,%,$(abspath $(DATA))))
FILTER_ROOT ?= build/filter
FILTER_DIR := $(FILTER_ROOT)/$(DATA_KEY)/size$(SIZE)-seed$(SEED)
K_TAG      := $(if $(K),k$(K),kauto)
FILTER_OUT := $(FILTER_DIR)/$(K_TAG)$(if $(NOISE_REF),-ref$(NOISE_REF))
CLUSTERS   := $(FILTER_DIR)/clusters-$(K_TAG).npy
FILTERED   := $(FILTER_OUT)/filtered.csv

.PHONY: filter filter-move filter-restore filter-clean

# $(call publish,STAGING,TARGET): move every file of the directory STAGING (which sits beside
# TARGET) next to TARGET, TARGET itself last, then remove STAGING. Each mv is a rename in one
# file system, so a kill at any moment leaves TARGET either absent or older than its inputs
# (make rebuilds it) or complete with every companion file in place.
publish = for f in $(1)/*; do [ "$$f" = $(1)/$(notdir $(2)) ] || mv -f "$$f" $(dir $(2)) || exit 1; done; \
	mv -f $(1)/$(notdir $(2)) $(2) && rmdir $(1)

# $(call tidy,DIR): remove the temporaries (*.tmp.<pid>, files or staging directories) that a
# killed run left under DIR. One whose process still runs belongs to a run in progress (say
# another make on the same data) and is kept; a reused pid only keeps a stale file longer.
# (Without /proc, which tells whether a pid runs, nothing is removed.)
tidy = if [ -d /proc/self ]; then find $(1) -name '*.tmp.[0-9]*' -prune | while read -r t; do \
	  p=$$(echo "$$t" | sed 's/.*\.tmp\.\([0-9]*\).*/\1/'); [ -d /proc/$$p ] || rm -rf "$$t"; done; fi

# The built-in dataset: generated once, deterministically.
data/synth/attribute_list.csv: | bin/synth
	bin/synth -q -n $(SYNTH_N) --seed 1 --force data/synth

$(FILTER_DIR)/.dir:
	@mkdir -p $(@D) && touch $@

$(FILTER_DIR)/images.npy: $(DATA)/attribute_list.csv bin/decode | $(FILTER_DIR)/.dir
	bin/decode --skip-bad --size $(SIZE) --labels $< $(DATA)/images -o $@ 2> $(FILTER_DIR)/decode.log || { cat $(FILTER_DIR)/decode.log >&2; exit 1; }
	@grep -h 'skipp' $(FILTER_DIR)/decode.log >&2 || true

$(FILTER_DIR)/features.npy: $(FILTER_DIR)/images.npy bin/extract-features
	bin/extract-features $< -o $@

$(FILTER_DIR)/pca.npy: $(FILTER_DIR)/features.npy bin/pca
	bin/pca $(PCA_OPTS) --seed $(SEED) --report $(FILTER_DIR)/pca-variance.csv $(PCA_K) $< > $@.tmp.$$$$ && mv $@.tmp.$$$$ $@

$(FILTER_DIR)/tsne.npy: $(FILTER_DIR)/pca.npy bin/tsne
	bin/tsne --seed $(SEED) --perplexity $(PERPLEXITY) $< > $@.tmp.$$$$ 2> $(FILTER_DIR)/tsne.log && mv $@.tmp.$$$$ $@ || { cat $(FILTER_DIR)/tsne.log >&2; exit 1; }
	@tail -1 $(FILTER_DIR)/tsne.log

$(FILTER_DIR)/elbow.csv: $(FILTER_DIR)/tsne.npy bin/kmeans
	bin/kmeans -q --elbow $(ELBOW) --seed $(SEED) $< > $@.tmp.$$$$ && mv $@.tmp.$$$$ $@

$(FILTER_DIR)/k-auto.txt: $(FILTER_DIR)/elbow.csv pipelines/elbow.awk
	awk -f pipelines/elbow.awk $< > $@.tmp.$$$$ && mv $@.tmp.$$$$ $@
	@echo "filter: the elbow of $< is at k = $$(cat $@)"

$(FILTER_DIR)/clusters-kauto.npy: $(FILTER_DIR)/k-auto.txt $(FILTER_DIR)/tsne.npy bin/kmeans
	bin/kmeans -q --seed $(SEED) $$(cat $<) $(FILTER_DIR)/tsne.npy > $@.tmp.$$$$ && mv $@.tmp.$$$$ $@

$(FILTER_DIR)/clusters-k%.npy: $(FILTER_DIR)/tsne.npy bin/kmeans
	bin/kmeans -q --seed $(SEED) $* $< > $@.tmp.$$$$ && mv $@.tmp.$$$$ $@

# find-noise writes filtered.csv, noise.csv and clusters.csv (each atomically, but one after
# the other, target first): it writes them into a staging directory, and they are moved out
# with the target last - see `publish`.
$(FILTERED): $(CLUSTERS) $(FILTER_DIR)/images.npy $(FILTER_DIR)/features.npy $(DATA)/attribute_list.csv bin/find-noise
	@mkdir -p $(@D)/find-noise.tmp.$$PPID
	bin/find-noise --images $(FILTER_DIR)/images.npy --features $(FILTER_DIR)/features.npy --clusters $< --labels $(DATA)/attribute_list.csv $(if $(NOISE_REF),--ref $(NOISE_REF)) -o $(@D)/find-noise.tmp.$$PPID \
	  2> $(@D)/find-noise.tmp.$$PPID/find-noise.log || { cat $(@D)/find-noise.tmp.$$PPID/find-noise.log >&2; rm -rf $(@D)/find-noise.tmp.$$PPID; exit 1; }
	@$(call publish,$(@D)/find-noise.tmp.$$PPID,$@)

# ---- plots a person can check ----
$(FILTER_OUT)/elbow.png: $(FILTER_DIR)/elbow.csv $(FILTERED)
	@k=$$(tail -n +2 $(FILTER_OUT)/clusters.csv | wc -l); \
	gnuplot -e "set terminal pngcairo size 640,420; set output '$@.tmp.$$$$'; set datafile separator ','; \
	  set title 'k-means on the t-SNE embedding: elbow (chosen k = $$k)'; set xlabel 'k'; set ylabel 'inertia'; \
	  set grid; set key off; set arrow from $$k, graph 0 to $$k, graph 1 nohead dt 2 lc rgb 'red'; \
	  plot '$<' skip 1 using 1:2 with linespoints pt 7 lc rgb '#1f77b4'" && mv $@.tmp.$$$$ $@

# id,x,y,cluster,removed: "removed" per image from noise.csv (find-noise's second and third
# looks may keep some images of a noise cluster, or remove some of a kept one). pipefail: a failing bin/mat fails the rule.
$(FILTER_OUT)/tsne.csv: $(FILTER_DIR)/tsne.npy $(CLUSTERS) $(FILTERED) bin/mat
	@set -o pipefail; bin/mat to-csv $(FILTER_DIR)/tsne.npy > $@.xy.tmp.$$$$ && \
	  bin/mat to-csv $(CLUSTERS) | cut -d, -f2 | paste -d, $@.xy.tmp.$$$$ - | \
	  awk -F, 'NR == FNR { if (FNR > 1) removed[$$1] = 1; next } FNR == 1 { print "id,x,y,cluster,removed"; next } { print $$0 "," ($$1 in removed) }' \
	  $(FILTER_OUT)/noise.csv - > $@.tmp.$$$$ && mv $@.tmp.$$$$ $@; s=$$?; rm -f $@.xy.tmp.$$$$; exit $$s

$(FILTER_OUT)/tsne.png: $(FILTER_OUT)/tsne.csv
	@k=$$(tail -n +2 $(FILTER_OUT)/clusters.csv | wc -l); \
	gnuplot -e "set terminal pngcairo size 760,600; set output '$@.tmp.$$$$'; set datafile separator ','; \
	  set title 't-SNE of the image features by k-means cluster; x = removed as noise'; \
	  set key outside right title 'cluster'; \
	  plot for [c=0:$$k-1] '$<' skip 1 using 2:(\$$4 == c ? \$$3 : NaN) with points pt 7 ps 0.5 title sprintf('%d', c), \
	       '' skip 1 using 2:(\$$5 == 1 ? \$$3 : NaN) with points pt 2 ps 0.6 lc rgb 'black' title 'removed'" && mv $@.tmp.$$$$ $@

$(FILTER_OUT)/sheets.done: $(FILTER_DIR)/images.npy $(CLUSTERS) $(FILTERED) bin/sheet bin/mat
	@rm -f $@ $(FILTER_OUT)/sheet-*.png
	bin/mat to-csv $(CLUSTERS) > $(FILTER_OUT)/clusters-by-id.csv.tmp.$$$$ && mv $(FILTER_OUT)/clusters-by-id.csv.tmp.$$$$ $(FILTER_OUT)/clusters-by-id.csv
	for c in $$(tail -n +2 $(FILTER_OUT)/clusters.csv | cut -d, -f1); do \
	  bin/sheet --ids $(FILTER_OUT)/clusters-by-id.csv --column id --where x0=$$c --max 100 $(FILTER_DIR)/images.npy -o $(FILTER_OUT)/sheet-cluster-$$c.png 2>/dev/null || exit 1; done
	bin/sheet --ids $(FILTER_OUT)/noise.csv --max 300 --cols 20 --thumb 32 $(FILTER_DIR)/images.npy -o $(FILTER_OUT)/sheet-removed.png 2>/dev/null
	touch $@

filter: $(FILTERED) $(FILTER_OUT)/elbow.png $(FILTER_OUT)/tsne.png $(FILTER_OUT)/sheets.done
	@cat $(FILTER_OUT)/find-noise.log
	@echo "filter: kept $$(($$(wc -l < $(FILTERED)) - 1)) images, removed $$(($$(wc -l < $(FILTER_OUT)/noise.csv) - 1)) -> $(FILTERED)"
	@echo "filter: plots and contact sheets in $(FILTER_OUT)/"
	@$(call tidy,$(FILTER_DIR))

filter-move: $(FILTERED)
	pipelines/noise-files.sh move $(DATA) $(FILTER_OUT)/noise.csv

filter-restore:
	pipelines/noise-files.sh restore $(DATA)

filter-clean:
	rm -rf $(FILTER_DIR)
