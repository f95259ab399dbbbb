#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of item 1 (1a, 1b and 1c) of tests/faults/stage.sh, the boot
# after the (last) power cut: what dpkg says was left undone, then the
# standard recovery command.  The host then reads the disk
# (expect_recovered) and, in 1a and 1b, this boot's modprobe.sh.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh

step audit-before 'dpkg --audit'
step dkms-status-before 'dkms status'
step recover 'dpkg --configure -a'
step dkms-status 'dkms status'
