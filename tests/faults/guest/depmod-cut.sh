#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of item 1b of tests/faults/stage.sh, the first boot:
# "apt-get install" of the .deb the host put in /lkm-test/, as in 1a,
# cut once DKMS has installed the first kernel's modules and runs depmod
# for it.  Not meant to end: see cut_during.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh
# shellcheck disable=SC1091 # copied to /lkm-test/ by the faults stage
. /lkm-test/cut.sh

cut_during announce_depmod install \
	'apt-get install -y -q --no-install-recommends /lkm-test/lkm-stack-dkms_*_all.deb'
