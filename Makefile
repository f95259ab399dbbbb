# SPDX-License-Identifier: GPL-2.0
#
# lkm-stack: a stacked pair of out-of-tree kernel modules shipped via DKMS.
# Run "make help" for the targets; README.md documents each of them.

VERSION := $(shell cat VERSION)
SRC := $(CURDIR)/src
DIST := $(CURDIR)/dist
TARBALL := $(DIST)/lkm-stack-$(VERSION).tar.gz

# Files that make up a source release, and so the DKMS source tree.
RELEASE_FILES := LICENSE README.md Makefile VERSION dkms.conf src debian \
	rpm scripts

.PHONY: help
help:
	@echo "lkm-stack $(VERSION) - make targets:"
	@echo "  all           build core_lkm and client_lkm for KVER (default: running kernel)"
	@echo "  clean         remove build products and dist/"
	@echo "  install       install both modules into /lib/modules/KVER/extra and run depmod"
	@echo "  uninstall     remove what 'install' installed and run depmod"
	@echo "  dkms-install  add, build and install this tree through DKMS for KVER"
	@echo "  dkms-remove   remove this version from DKMS for every kernel"
	@echo "  dist          source tarball dist/lkm-stack-VERSION.tar.gz"
	@echo "  deb           Debian package dist/lkm-stack-dkms_VERSION_all.deb"
	@echo "  rpm           RPM package dist/lkm-stack-dkms-VERSION-RELEASE.noarch.rpm"
	@echo "  check         the whole test suite (build matrix, packages, lint, VMs)"
	@echo "  lint          checkpatch, sparse, W=1, lintian, rpmlint, shellcheck"
	@echo "  demo          replay the stacking walkthrough in a throwaway QEMU VM"
	@echo "  bench         measure build, footprint and load costs into dist/"
	@echo "  check-quick   the stages that boot no VM, for every edit"
	@echo "Variables: KVER=<kernel release>  KDIR=<kernel build tree>  (or LKP_KSRC)"

include src/kernel.mk

# One kbuild pass builds both modules (see src/Kbuild).
.PHONY: all
all: check-kdir
	$(MAKE) -C "$(KDIR)" M="$(SRC)" modules

# Works without kernel headers, unlike kbuild's own clean.
.PHONY: clean
clean:
	find src \( -name '*.o' -o -name '*.ko' -o -name '*.ko.*' \
		-o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' -o -name '.*.d' \
		-o -name Module.symvers -o -name modules.order \) -delete
	rm -rf src/.tmp_versions "$(DIST)"

# INSTALL_MOD_PATH=<dir> installs into a staging root instead of /.
.PHONY: install
install: all
	$(MAKE) -C "$(KDIR)" M="$(SRC)" INSTALL_MOD_DIR=extra modules_install
	depmod -a $(if $(INSTALL_MOD_PATH),-b "$(INSTALL_MOD_PATH)") "$(KVER)"

.PHONY: uninstall
uninstall:
	rm -f $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/extra/core/core_lkm.ko* \
		$(INSTALL_MOD_PATH)/lib/modules/$(KVER)/extra/client/client_lkm.ko*
	depmod -a $(if $(INSTALL_MOD_PATH),-b "$(INSTALL_MOD_PATH)") "$(KVER)"

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
		--exclude-vcs --exclude='*.o' --exclude='*.ko' --exclude='*.cmd' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude=Module.symvers \
		--exclude=modules.order --exclude='.*.d' --exclude='*.ko.*' \
		--transform='s,^,lkm-stack-$(VERSION)/,' $(RELEASE_FILES)

.PHONY: deb
deb: $(TARBALL)
	scripts/build-deb "$(TARBALL)" "$(DIST)"

.PHONY: rpm
rpm: $(TARBALL)
	scripts/build-rpm "$(TARBALL)" "$(DIST)"

# The test suite, the demo and the bench live in tests/, which the source
# release (make dist) does not ship: there these targets say so in one
# line instead of failing on a missing file.
QUICK_STAGES := version selftest build packages lint release tools
ifneq ($(wildcard tests/run),)
.PHONY: check check-quick lint demo bench
check:
	tests/run

lint:
	tests/lint.sh

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
check-quick:
	tests/run $(QUICK_STAGES)

