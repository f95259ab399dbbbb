#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of "make bench" (run by tests/lib/guest/init; see tests/bench/bench).
# /root holds the uncompressed modules and the bench-only callcost_lkm.ko;
# modprobe finds the installed pair through modules.dep.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck source=tests/lib/guest/lib.sh # packed as /guest/lib.sh by tests/lib/vm.sh
. /guest/lib.sh

# How many get_skey() calls callcost_lkm times, and how often it runs.
CALLS=2000000
CALLCOST_RUNS=9
# Loads timed for each way of loading the pair.
LOAD_RUNS=100

callcost_runs() {
	insmod /root/core_lkm.ko || return
	i=0
	while [ "$i" -lt "$CALLCOST_RUNS" ]; do
		insmod /root/callcost_lkm.ko calls="$CALLS" &&
			rmmod callcost_lkm || return
		i=$((i + 1))
	done
	rmmod core_lkm
	dmesg | grep 'callcost_lkm: calls='
}

step footprint 'modprobe client_lkm && lsmod && modprobe -r client_lkm'
step load-modprobe "loadtime modprobe $LOAD_RUNS"
step load-finit "loadtime finit $LOAD_RUNS /root/core_lkm.ko /root/client_lkm.ko"
step callcost callcost_runs
