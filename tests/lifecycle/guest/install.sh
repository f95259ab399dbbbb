#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/lifecycle/stage.sh: install the package on a running
# system, as a user would, from the .deb the host put in /lkm-test/.  The
# guest has no network: everything the package needs is installed
# already, and recommended packages are not asked for.  Prints a block
# per step (tests/lib/guest/lib.sh); the host judges them.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh

step install-uname 'uname -r'
step install \
	'apt-get install -y -q --no-install-recommends /lkm-test/lkm-stack-dkms_*_all.deb'
step dkms-status 'dkms status'
step modules 'find /lib/modules/ -name "*_lkm.ko*" | sort'
