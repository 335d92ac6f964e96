# report.mk - `make report`: the filter's result and every task x method's figures in one
# Markdown file and one self-contained HTML page (pipelines/report.sh, docs/report.md).
#
#   make report DATA=...        write $(FILTER_OUT)/report/report.md and report.html, print
#                               their paths
#   make report-check DATA=...  render report.html in headless Chromium, check every image
#
# The report shows what exists (a stage that has not run is "not run"); it never runs the
# filter or trains anything itself. So the artifacts it reads are not make prerequisites
# (their own rules would rebuild them when, say, a stage binary is newer); instead
# inputs.txt lists them with their size and modification time, is rewritten only when that
# list differs, and the report depends on it: a changed, new or deleted artifact rebuilds
# the report, an unchanged set does nothing.

REPORT_DIR := $(FILTER_OUT)/report
# Shell globs, expanded when the recipe runs (so `make filter svm report` sees the new files).
REPORT_GLOBS := $(addprefix $(FILTER_OUT)/,filtered.csv noise.csv clusters.csv find-noise.log \
	elbow.png tsne.png sheet-removed.png sheet-cluster-*.png tasks/*/split/split.txt) \
	$(addprefix $(FILTER_OUT)/tasks/*/*/,metrics.csv confusion.csv groups.csv run.csv curves.csv curves.png features.txt) \
	$(DATA)/attribute_list.csv

.PHONY: report report-check

report: $(REPORT_DIR)/report.md $(REPORT_DIR)/report.html
	@echo $(REPORT_DIR)/report.md
	@echo $(REPORT_DIR)/report.html

report-check: $(REPORT_DIR)/report.html
	pipelines/report.sh --check $<

# Visited every time (phony prerequisite); its time changes only with its content.
$(REPORT_DIR)/inputs.txt: FORCE
	@mkdir -p $(@D)
	@shopt -s nullglob; files=($(REPORT_GLOBS)); \
	{ [ $${#files[@]} -eq 0 ] || stat -c '%n %s %.9Y' "$${files[@]}"; } | $(call replace_if_changed,$@)

$(REPORT_DIR)/report.md $(REPORT_DIR)/report.html &: $(REPORT_DIR)/inputs.txt pipelines/report.sh
	pipelines/report.sh $(if $(wildcard $(DATA)/attribute_list.csv),--labels $(DATA)/attribute_list.csv) \
	  --data $(DATA) --tasks "$(TASKS)" --methods "$(METHODS)" -o $(REPORT_DIR) $(FILTER_OUT)
