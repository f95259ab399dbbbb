#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/lifecycle/stage.sh, step 7c: the package's own
# autopkgtest, debian/tests/stacked-load, run on this guest (a machine of
# its own, as its isolation-machine restriction asks) the way autopkgtest
# runs a test: as root, with AUTOPKGTEST_TMP and AUTOPKGTEST_ARTIFACTS
# set, its standard error kept apart (without allow-stderr, any output
# there fails the test).  Prints a block per step (tests/lib/guest/lib.sh);
# the host judges them.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh

tmp=$(mktemp -d)
mkdir "$tmp/tmp" "$tmp/artifacts"
step dep8-stacked-load "AUTOPKGTEST_TMP=$tmp/tmp AUTOPKGTEST_ARTIFACTS=$tmp/artifacts /lkm-test/stacked-load 2>$tmp/stderr"
step dep8-stderr "cat $tmp/stderr"
