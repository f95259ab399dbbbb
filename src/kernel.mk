# SPDX-License-Identifier: GPL-2.0
#
# Which kernel to build against, shared by every Makefile of the project.
#
#   KVER      kernel release to build for (default: the running kernel)
#   KDIR      its kbuild tree (default: /lib/modules/$(KVER)/build)
#   LKP_KSRC  if set in the environment, the kernel tree to build against
#             (an explicit KDIR= still wins)

KVER ?= $(shell uname -r)
ifneq ($(LKP_KSRC),)
KDIR ?= $(LKP_KSRC)
endif
KDIR ?= /lib/modules/$(KVER)/build

# A prerequisite of every target that runs kbuild: one line saying what
# to install instead of kbuild's "No such file or directory".
.PHONY: check-kdir
check-kdir:
	@test -f "$(KDIR)/Makefile" || { \
	  echo "error: no kernel build tree at $(KDIR): install linux-headers-$(KVER) (Debian/Ubuntu) or kernel-devel-$(KVER) (Fedora/RHEL), or set KDIR=<kernel build tree>" >&2; \
	  exit 1; }
