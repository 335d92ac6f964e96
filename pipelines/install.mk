# install.mk - `make install` / `make uninstall`: the stages, their manual pages and the
# networks, under PREFIX (default /usr/local), staged under DESTDIR when packaging.
#
#   make install                       bin/* -> /usr/local/bin, docs/man/*.1 -> share/man/man1
#   make install PREFIX=$HOME/.local   a user install
#   make install DESTDIR=/tmp/pkg      a staged install (for a package)
#   make uninstall [PREFIX=...]        removes exactly what install put there
#
# Every stage needs its page: a stage without docs/man/<stage>.1 stops the install ("No rule
# to make target"), and tests/bats/install.bats checks that each page lists every long option
# of the stage's --help. The Darknet cfgs go to $(PREFIX)/share/facepipe/ (train-cnn's
# default --cfg is the relative pipelines/cnn.cfg: outside the source tree, pass --cfg).

PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL_BIN  = $(DESTDIR)$(PREFIX)/bin
INSTALL_MAN  = $(DESTDIR)$(PREFIX)/share/man/man1
INSTALL_DATA = $(DESTDIR)$(PREFIX)/share/facepipe
MAN_PAGES   := $(STAGES:bin/%=docs/man/%.1)
INSTALL_CFG := pipelines/cnn.cfg pipelines/cnn-original.cfg pipelines/cnn-aug.cfg pipelines/cnn-aug-bn.cfg pipelines/cnn-aug-cos.cfg

.PHONY: install uninstall man

# Formats every page once, failing on any groff warning (install.bats does it per page too).
man: $(MAN_PAGES)
	@for p in $^; do w=$$(groff -man -ww -z $$p 2>&1); [ -z "$$w" ] || { echo "$$w" >&2; exit 1; }; done
	@echo "man: $(words $^) pages format without warnings"

install: $(STAGES) $(MAN_PAGES) $(INSTALL_CFG)
	install -d $(INSTALL_BIN) $(INSTALL_MAN) $(INSTALL_DATA)
	install -m 755 $(STAGES) $(INSTALL_BIN)/
	install -m 644 $(MAN_PAGES) $(INSTALL_MAN)/
	install -m 644 $(INSTALL_CFG) $(INSTALL_DATA)/

uninstall:
	rm -f $(STAGES:bin/%=$(INSTALL_BIN)/%) $(MAN_PAGES:docs/man/%=$(INSTALL_MAN)/%) \
	  $(INSTALL_CFG:pipelines/%=$(INSTALL_DATA)/%)
	@rmdir $(INSTALL_DATA) 2> /dev/null || true
