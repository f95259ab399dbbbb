#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/upgrade/stage.sh, run by tests/lifecycle/guest/init
# in the root upgraded from Debian 12 to 13, booted with Debian 13's
# kernel: the modules DKMS built there load through the root's own
# modprobe (Debian 13's kmod), core_lkm cannot be removed while
# client_lkm uses it, and both unload.  The step names modprobe.sh uses
# are the same here, so the host judges them as the lifecycle stage does
# (expect_modprobe_works); the refused rmmod adds rmmod-core and
# still-loaded.  Prints a block per step (tests/lib/guest/lib.sh).
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh

# Mark the boot messages as seen.
kmsg_new >/dev/null

step uname 'uname -r'
step kmod-version 'kmod --version'
step modprobe 'modprobe client_lkm'
step loaded lkm_loaded
step lsmod lsmod
step kmsg-load kmsg_new
step rmmod-core 'rmmod core_lkm'
step still-loaded lkm_loaded
step modprobe-r 'modprobe -r client_lkm'
step unloaded lkm_loaded
step kmsg-unload kmsg_new
