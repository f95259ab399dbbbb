#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of item 1a of tests/faults/stage.sh, the boot after its
# first power cut: what dpkg says was left undone, then the standard
# recovery command, itself cut once DKMS has installed a kernel's modules
# and runs depmod for it (item 1b's point, in a recovery).  Not meant to
# end: see cut_during.  The next boot runs recover.sh.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh
# shellcheck disable=SC1091 # copied to /lkm-test/ by the faults stage
. /lkm-test/cut.sh

step audit-before 'dpkg --audit'
step dkms-status-before 'dkms status'
cut_during announce_depmod recover 'dpkg --configure -a'
