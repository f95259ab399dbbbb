#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/stacking/stage.sh: the three modules DKMS installed
# (core_lkm, client_lkm, and addon_lkm of the other package) stack on the
# running kernel, and the addon built against the core before its
# upgrade, which the host saved as /lkm-test/old-addon_lkm.ko*, is
# refused by the new core.  Prints a block per step
# (tests/lib/guest/lib.sh); the host judges them.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh

# stack_loaded: the names of the loaded modules of both packages, as
# /proc/modules lists them (newest first), one a line.  (lib.sh's
# lkm_loaded knows only core_lkm and client_lkm.)
stack_loaded() {
	grep -E '^(core|client|addon)_lkm ' /proc/modules | cut -d' ' -f1
}

# Mark the boot messages as seen.
kmsg_new >/dev/null

step uname 'uname -r'
step kmod-version 'modprobe --version'
step loaded-before stack_loaded
# The order modprobe loads them in, as modules.dep has it.
step show-depends 'modprobe --show-depends addon_lkm'
step modprobe-addon 'modprobe addon_lkm'
step loaded-addon stack_loaded
step kmsg-addon kmsg_new
step modprobe-client 'modprobe client_lkm'
step loaded-all stack_loaded
step lsmod lsmod
step rmmod-core 'rmmod core_lkm'
step still-loaded stack_loaded
step rmmod-addon 'rmmod addon_lkm'
kmsg_new >/dev/null
step old-addon 'ls /lkm-test/old-addon_lkm.ko*'
step insmod-old 'insmod /lkm-test/old-addon_lkm.ko*'
step kmsg-old kmsg_new
step loaded-after-old stack_loaded
step modprobe-r 'modprobe -r client_lkm core_lkm'
step unloaded stack_loaded
