#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of item 1c of tests/faults/stage.sh, the first boot: the
# configure phase of a kernel upgrade (the image and headers the host
# unpacked, as apt-get does before it configures) on a system with
# lkm-stack-dkms installed, cut once DKMS's kernel hook compiles our
# modules for the new kernel.  Not meant to end: see cut_during.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh
# shellcheck disable=SC1091 # copied to /lkm-test/ by the faults stage
. /lkm-test/cut.sh

cut_during 'announce_build 1' upgrade 'apt-get install -f -y -q --no-install-recommends'
