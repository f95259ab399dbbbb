# SPDX-License-Identifier: GPL-2.0
#
# lkm-stack: a stacked pair of out-of-tree kernel modules shipped via DKMS.
# Run "make help" for the targets; README.md documents each of them.

VERSION := $(shell cat VERSION)
SRC := $(CURDIR)/src
DIST := $(CURDIR)/dist
TARBALL := $(DIST)/lkm-stack-$(VERSION).tar.gz

# Files that make up a source release.
RELEASE_FILES := LICENSE README.md Makefile VERSION dkms.conf src debian \
	rpm scripts examples
# The DKMS source tree (/usr/src/lkm-stack-VERSION): what dkms.conf builds
# from, and this Makefile for whoever builds there by hand.  The one list
# debian/rules, the RPM spec, make dkms-install, the bench and the tests
# copy it by (make dkms-tree).
DKMS_TREE_FILES := dkms.conf Makefile VERSION src scripts/lkm-stack-api
# What kbuild leaves in src/: make clean deletes it, and no release, DKMS
# tree or test copy takes it along.  (.gitignore and the tests' scratch
# copies list the same; the version stage checks that they agree.)
BUILD_PRODUCTS := *.o *.ko *.ko.* *.mod *.mod.c .*.cmd .*.d Module.symvers \
	modules.order .tmp_versions
# What an example's own "make deb" or "make rpm" leaves in its tree: no
# release or copy of this tree takes it along either.
EXAMPLE_OUTPUTS := examples/*/dist
# tar options leaving them out.
NO_BUILD_PRODUCTS := $(foreach p,$(BUILD_PRODUCTS) $(EXAMPLE_OUTPUTS),--exclude='$(p)')

# Plain "make" builds both modules, as "make all" does.
.DEFAULT_GOAL := all

.PHONY: help
help:
	@echo "lkm-stack $(VERSION) - make targets:"
	@echo "  all           build core_lkm and client_lkm for KVER (default: running kernel); the default target"
	@echo "  clean         remove build products, dist/ and examples/*/dist/"
	@echo "  install       install both modules into /lib/modules/KVER/extra (signed if a key is given), run depmod"
	@echo "  uninstall     remove what 'install' installed, and its then empty directories; run depmod"
	@echo "  dkms-tree     copy the DKMS source tree to DKMS_TREE=<dir>"
	@echo "  dkms-install  add, build and install this tree through DKMS for KVER"
	@echo "  dkms-remove   remove this version from DKMS for every kernel"
	@echo "  dist          source tarball dist/lkm-stack-VERSION.tar.gz"
	@echo "  deb           Debian packages dist/lkm-stack-dkms_VERSION_all.deb and examples/addon's"
	@echo "  rpm           RPM packages dist/lkm-stack-dkms-VERSION-RELEASE.noarch.rpm and examples/addon's"
	@echo "  repo          signed apt and RPM repositories of those packages in dist/repo (REPO_KEY=<gpg key id>, REPO_URL=<where served>)"
	@echo "  check         the whole test suite (build matrix, packages, lint, VMs)"
	@echo "  check-quick   the stages that boot no VM, for every edit"
	@echo "  lint          checkpatch, sparse, W=1, lintian, rpmlint, shellcheck"
	@echo "  demo          replay the stacking walkthrough in a throwaway QEMU VM"
	@echo "  bench         measure build, footprint and load costs into dist/"
	@echo "Variables: KVER=<kernel release>  KDIR=<kernel build tree>  (or LKP_KSRC)"
	@echo "  install:   INSTALL_MOD_PATH=<staging root>  SIGN_KEY=<private key> SIGN_CERT=<X.509 certificate>"
	@echo "             (default: DKMS's MOK pair DKMS_MOK_DIR/mok.key, mok.pub; DKMS_MOK_DIR=$(DKMS_MOK_DIR))"

include src/kernel.mk

# One kbuild pass builds both modules (see src/Kbuild).
.PHONY: all
all: check-kdir
	$(MAKE) -C "$(KDIR)" M="$(SRC)" modules

# Works without kernel headers, unlike kbuild's own clean.
.PHONY: clean
clean:
	find src examples \( -false $(foreach p,$(BUILD_PRODUCTS),-o -name '$(p)') \) \
		-prune -exec rm -rf {} +
	rm -rf "$(DIST)" $(EXAMPLE_OUTPUTS)

# The modules "make" builds, as their paths under src/ without ".ko": the
# one list install and uninstall work from.  Each installs into the same
# path under extra/: src/core/core_lkm.ko as extra/core/core_lkm.ko.
MODULES := core/core_lkm client/client_lkm
# The names an installed module can have: as built, or compressed.
MODULE_SUFFIXES := .ko .ko.xz .ko.gz .ko.zst

# Where install puts them: INSTALL_MOD_PATH=<dir> stages them under <dir>
# instead of /.
MODDIR = $(INSTALL_MOD_PATH)/lib/modules/$(KVER)
INSTALL_DIRS = $(sort $(foreach m,$(MODULES),$(patsubst %/,%,$(dir $(MODDIR)/extra/$(m)))))

# Signing: SIGN_KEY=<private key> SIGN_CERT=<its X.509 certificate, PEM or
# DER>; with neither set, DKMS's machine owner key pair if it exists and
# we may read it.  The kernel's scripts/sign-file signs, with the hash its
# configuration names.
SIGN_KEY ?=
SIGN_CERT ?=
DKMS_MOK_DIR ?= /var/lib/dkms

# The kernel's configuration, and the value of one of its symbols
# (quotes stripped): $(call kconfig,CONFIG_MODULE_SIG_HASH) is "sha256".
KCONFIG = $(firstword $(wildcard $(KDIR)/include/config/auto.conf $(KDIR)/.config))
kconfig = $(if $(KCONFIG),$(shell sed -n 's/^$(1)=//p' "$(KCONFIG)" | tr -d '"'))

# How the kernel's configuration asks for modules to be compressed (XZ,
# GZIP, ZSTD or nothing), and the command for each, with the options the
# kernel's own modules_install uses.
COMPRESSION = $(firstword $(foreach c,XZ GZIP ZSTD,$(if $(filter y,$(call kconfig,CONFIG_MODULE_COMPRESS_$(c))),$(c))))
COMPRESS_XZ := xz --check=crc32 --lzma2=dict=1MiB -f
COMPRESS_GZIP := gzip -n -9 -f
COMPRESS_ZSTD := zstd -q -T0 --rm -f

UNSIGNED_NOTICE := notice: the modules ($(notdir $(MODULES))) are installed \
	unsigned: a kernel that enforces module signatures (Secure Boot, module.sig_enforce=1) \
	refuses to load them; to sign them, set SIGN_KEY=<private key> and \
	SIGN_CERT=<X.509 certificate>, or let DKMS create its MOK key pair in \
	$(DKMS_MOK_DIR) (see README.md, "Secure Boot")

# depmod for MODDIR.  A staging root lacks the kernel's own modules.order,
# modules.builtin and modules.builtin.modinfo, and depmod warns about each
# missing one; an empty one means the same to it (no load order, no
# built-in modules), so a staged depmod runs with empty stand-ins for the
# missing ones, deleted again when it is done.
KERNEL_MODULE_LISTS := modules.order modules.builtin modules.builtin.modinfo
RUN_DEPMOD = printf "  %-8s%s\n" DEPMOD "$(MODDIR)"; \
	if [ -z "$(INSTALL_MOD_PATH)" ]; then \
		depmod -a "$(KVER)"; \
	else \
		made=; \
		for f in $(KERNEL_MODULE_LISTS); do \
			[ -e "$(MODDIR)/$$f" ] || { : >"$(MODDIR)/$$f"; made="$$made $$f"; }; \
		done; \
		status=0; \
		depmod -b "$(INSTALL_MOD_PATH)" -a "$(KVER)" || status=$$?; \
		for f in $$made; do rm -f "$(MODDIR)/$$f"; done; \
		[ "$$status" -eq 0 ]; \
	fi

# Installs, signs (see SIGN_KEY above) and compresses each module itself,
# then runs depmod, rather than through kbuild's modules_install: on
# distribution headers that one tries to sign with a key they do not ship
# (CONFIG_MODULE_SIG_ALL) and skips depmod for want of System.map.
.PHONY: install
install: all
	@set -e; \
	key="$(SIGN_KEY)" cert="$(SIGN_CERT)" hash="$(call kconfig,CONFIG_MODULE_SIG_HASH)"; \
	signfile="$(KDIR)/scripts/sign-file" compression="$(COMPRESSION)"; \
	if [ -n "$$key$$cert" ]; then \
		if [ -z "$$key" ] || [ -z "$$cert" ]; then \
			echo "error: SIGN_KEY and SIGN_CERT go together: set both, or neither" >&2; \
			exit 1; \
		fi; \
		if [ -z "$$hash" ] || [ ! -x "$$signfile" ]; then \
			echo "error: kernel $(KVER) does not sign modules (no CONFIG_MODULE_SIG_HASH or $$signfile): unset SIGN_KEY and SIGN_CERT" >&2; \
			exit 1; \
		fi; \
	elif [ -r "$(DKMS_MOK_DIR)/mok.key" ] && [ -r "$(DKMS_MOK_DIR)/mok.pub" ] && \
		[ -n "$$hash" ] && [ -x "$$signfile" ]; then \
		key="$(DKMS_MOK_DIR)/mok.key" cert="$(DKMS_MOK_DIR)/mok.pub"; \
	fi; \
	for m in $(MODULES); do \
		ko="$(MODDIR)/extra/$$m.ko"; \
		for suffix in $(MODULE_SUFFIXES); do \
			rm -f "$(MODDIR)/extra/$$m$$suffix"; \
		done; \
		printf "  %-8s%s\n" INSTALL "$$ko"; \
		install -D -m 0644 "$(SRC)/$$m.ko" "$$ko"; \
		if [ -n "$$key" ]; then \
			printf "  %-8s%s\n" SIGN "$$ko ($$hash, $$cert)"; \
			"$$signfile" "$$hash" "$$key" "$$cert" "$$ko"; \
		fi; \
		if [ -n "$$compression" ]; then \
			printf "  %-8s%s\n" "$$compression" "$$ko"; \
			$(COMPRESS_$(COMPRESSION)) "$$ko"; \
		fi; \
	done; \
	$(RUN_DEPMOD); \
	if [ -z "$$key" ] && [ "$(call kconfig,CONFIG_MODULE_SIG)" = y ]; then \
		echo '$(UNSIGNED_NOTICE)'; \
	fi

# Removes every name a module can have been installed under, the
# directories that leaves empty, and updates depmod's files.
.PHONY: uninstall
uninstall:
	@set -e; \
	for m in $(MODULES); do \
		for suffix in $(MODULE_SUFFIXES); do \
			f="$(MODDIR)/extra/$$m$$suffix"; \
			if [ -e "$$f" ]; then printf "  %-8s%s\n" RM "$$f"; rm -f "$$f"; fi; \
		done; \
	done; \
	for d in $(INSTALL_DIRS) "$(MODDIR)/extra"; do \
		[ ! -d "$$d" ] || rmdir --ignore-fail-on-non-empty "$$d"; \
	done; \
	if [ -d "$(MODDIR)" ]; then $(RUN_DEPMOD); fi

# DKMS_TREE=<dir>: copy the DKMS source tree there, without build products.
.PHONY: dkms-tree
dkms-tree:
	@test -n "$(DKMS_TREE)" || { \
		echo "error: make dkms-tree needs DKMS_TREE=<directory>" >&2; exit 1; }
	install -d "$(DKMS_TREE)"
	tar -cf - $(NO_BUILD_PRODUCTS) $(DKMS_TREE_FILES) | \
		tar -xf - --no-same-owner -C "$(DKMS_TREE)"

.PHONY: dkms-install dkms-remove
dkms-install:
	scripts/dkms-from-tree install "$(KVER)"

dkms-remove:
	scripts/dkms-from-tree remove

.PHONY: dist
dist: $(TARBALL)
$(TARBALL): $(shell find $(RELEASE_FILES) -type f 2>/dev/null)
	mkdir -p "$(DIST)"
	tar --create --gzip --file "$@" --sort=name --owner=0 --group=0 \
		--mtime="@$$(stat -c %Y VERSION)" \
		--exclude-vcs $(NO_BUILD_PRODUCTS) \
		--transform='s,^,lkm-stack-$(VERSION)/,' $(RELEASE_FILES)

# Each also builds examples/addon's package (a module of another package
# built on core_lkm's exports; its own Makefile builds it) into dist/.
ADDON := examples/addon

.PHONY: deb
deb: $(TARBALL)
	scripts/build-deb "$(TARBALL)" "$(DIST)"
	$(MAKE) -C $(ADDON) deb DIST="$(DIST)"

.PHONY: rpm
rpm: $(TARBALL)
	scripts/build-rpm "$(TARBALL)" "$(DIST)"
	$(MAKE) -C $(ADDON) rpm DIST="$(DIST)"

# Signed apt and RPM repositories of the packages deb and rpm build, in
# REPO_DIR (scripts/build-repo says how, README.md "Publishing a
# repository" how to serve them).  REPO_KEY=<GnuPG key id> signs with
# the user's key; without it a throwaway test key is generated into
# dist/repo-key.  REPO_URL is where the repository will be served, for the
# .sources and .repo files it writes.
REPO_KEY ?=
REPO_URL ?=
REPO_DIR ?= $(DIST)/repo

.PHONY: repo
repo: deb rpm
	REPO_KEY="$(REPO_KEY)" REPO_URL="$(REPO_URL)" \
		scripts/build-repo "$(DIST)" "$(REPO_DIR)"

# The test suite, the demo and the bench live in tests/, which the source
# release (make dist) does not ship: there these targets say so in one
# line instead of failing on a missing file.
ifneq ($(wildcard tests/run),)
.PHONY: check check-quick lint demo bench
check:
	tests/run

check-quick:
	LKM_STACK_QUICK=1 tests/run --quick

lint:
	tests/lint/stage.sh

demo:
	tests/demo/demo

bench:
	tests/bench/bench
else
.PHONY: check check-quick lint demo bench
check check-quick lint demo bench:
	@echo "make $@: this source release has no tests/; run it in a git checkout of lkm-stack" >&2
	@exit 2
endif
