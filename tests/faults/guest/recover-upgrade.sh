#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of item 1c of tests/faults/stage.sh, the boot after the cut
# kernel upgrade: what dpkg says was left undone, the standard recovery
# command, and what it left.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh
# shellcheck disable=SC1091 # copied to /lkm-test/ by the faults stage
. /lkm-test/cut.sh

step upgrade-audit-before 'dpkg --audit'
step upgrade-recover 'dpkg --configure -a'
step upgrade-dkms-status 'dkms status'
step upgrade-modules 'find /lib/modules/ -name "*_lkm.ko*" | sort'
step upgrade-not-built modules_not_built
step upgrade-audit-after 'dpkg --audit'
