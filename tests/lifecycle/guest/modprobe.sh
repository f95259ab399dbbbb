#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/lifecycle/stage.sh: the modules DKMS installed load and
# unload through modprobe on the running kernel.  Prints a block per
# step (tests/lib/guest/lib.sh); the host judges them.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh

# Mark the boot messages as seen.
kmsg_new >/dev/null

step uname 'uname -r'
step modprobe 'modprobe client_lkm'
step loaded lkm_loaded
step lsmod lsmod
step kmsg-load kmsg_new
step modprobe-r 'modprobe -r client_lkm'
step unloaded lkm_loaded
step kmsg-unload kmsg_new
