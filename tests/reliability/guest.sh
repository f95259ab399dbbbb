#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest script of tests/reliability/stage.sh, packed as /guest/main by
# tests/lib/vm.sh.  Its parameters (guest_param, tests/lib/guest/lib.sh)
# say what to run:
#
#   mode=cycles        load/unload cycles, then bad input
#   mode=race          the concurrent race (boot with two CPUs or more)
#   mode=sig-enforce   only try to load modules the kernel must refuse
#   cycles, warmup     load/unload cycles measured, and run before measuring
#   nobtf=1            the cycles run on /root/nobtf's copies of the modules
#                      (without BTF), then built_cycles on the modules as
#                      built (tests/reliability/stage.sh says why)
#   race_seconds       how long the concurrent race runs
#   kmemleak=1         scan for leaks after the stress (sanitizer kernel;
#                      default 0)
#   kernel_trouble     extended regex of the kernel log lines that start an
#                      oops, warning or sanitizer report (tests/lib/vm.sh's
#                      VM_KERNEL_TROUBLE)
#
# Every mode ends with the steps "reports" and "tainted", which the host's
# health check of the boot reads.
#
# /root holds core_lkm.ko and client_lkm.ko (with nobtf=1 also copies of
# them in /root/nobtf), /root/foreign/LABEL/core_lkm.ko builds for other
# kernels, /bin/modcycle the stress helper; the modules are also
# installed for modprobe.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck source=tests/lib/guest/lib.sh # packed by tests/lib/vm.sh
. /guest/lib.sh

MODE=$(guest_param mode)
KMEMLEAK=$(guest_param kmemleak 0)
KERNEL_TROUBLE=$(guest_param kernel_trouble)

# memory_in_use: unreclaimable slab and vmalloc (where module code and
# data live) in kB, after reclaim_memory.
memory_in_use() {
	reclaim_memory
	grep -E '^(SUnreclaim|VmallocUsed):' /proc/meminfo
	echo "modules: $(wc -l </proc/modules)"
}

# Forget the leaks kmemleak suspects from boot: only ours count.
kmemleak_start() {
	mount -t debugfs debugfs /sys/kernel/debug
	echo scan >/sys/kernel/debug/kmemleak
	echo clear >/sys/kernel/debug/kmemleak
}

# kmemleak reports objects unreferenced for 5 s over two scans.
kmemleak_scan() {
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak
}

# kmsg_reports: the oopses, warnings and sanitizer reports of the kernel
# log since the last kmsg_new, each with what follows it.
kmsg_reports() {
	kmsg_new | grep -E -A 40 "$KERNEL_TROUBLE"
}

# try_foreign_module LABEL: load /root/foreign/LABEL/core_lkm.ko, built
# for another kernel, and unload it again if the kernel took it.
try_foreign_module() {
	step "foreign-$1" insmod "/root/foreign/$1/core_lkm.ko"
	step "foreign-$1-log" kmsg_new
	step "foreign-$1-loaded" lkm_loaded
	if lkm_loaded | grep -q .; then
		step "foreign-$1-rmmod" rmmod core_lkm
	fi
}

cycles() {
	_cycles=$(guest_param cycles)
	_warmup=$(guest_param warmup)
	if [ "$KMEMLEAK" = 1 ]; then
		step kmemleak-start kmemleak_start
	fi
	_dir=.
	[ "$(guest_param nobtf 0)" = 0 ] || _dir=nobtf
	step warmup modcycle cycle "$_warmup" "$_dir/core_lkm.ko" \
		"$_dir/client_lkm.ko"
	step memory-before memory_in_use
	step cycles modcycle cycle "$_cycles" "$_dir/core_lkm.ko" \
		"$_dir/client_lkm.ko"
	step memory-after memory_in_use
	step cycles-reports kmsg_reports
	if [ "$_dir" = nobtf ]; then
		step built-warmup modcycle cycle "$_warmup" core_lkm.ko \
			client_lkm.ko
		step built-memory-before memory_in_use
		step built-cycles modcycle cycle "$(guest_param built_cycles)" \
			core_lkm.ko client_lkm.ko
		step built-memory-after memory_in_use
		step built-cycles-reports kmsg_reports
	fi
	if [ "$KMEMLEAK" = 1 ]; then
		step kmemleak kmemleak_scan
	fi

	step magic-wrong-core insmod core_lkm.ko
	step magic-wrong insmod client_lkm.ko magic=12345
	step magic-wrong-log kmsg_new
	step magic-wrong-loaded lkm_loaded
	step magic-wrong-rmmod 'rmmod client_lkm && rmmod core_lkm'
	step magic-abc-core insmod core_lkm.ko
	step magic-abc insmod client_lkm.ko magic=abc
	step magic-abc-log kmsg_new
	step magic-abc-loaded lkm_loaded
	step magic-abc-rmmod rmmod core_lkm

	echo 'options core_lkm fail_init=1' >/etc/modprobe.d/fail-init.conf
	step fail-init modprobe client_lkm
	rm /etc/modprobe.d/fail-init.conf
	step fail-init-log kmsg_new
	step fail-init-loaded lkm_loaded

	for _dir in /root/foreign/*; do
		try_foreign_module "${_dir##*/}"
	done

	step reports kmsg_reports
	step tainted cat /proc/sys/kernel/tainted
}

race() {
	if [ "$KMEMLEAK" = 1 ]; then
		step kmemleak-start kmemleak_start
	fi
	step race modcycle race "$(guest_param race_seconds)" core_lkm.ko \
		client_lkm.ko
	step reports kmsg_reports
	if [ "$KMEMLEAK" = 1 ]; then
		step kmemleak kmemleak_scan
	fi
	step tainted cat /proc/sys/kernel/tainted
}

sig_enforce() {
	step sig-insmod insmod core_lkm.ko
	step sig-modprobe modprobe client_lkm
	step sig-log kmsg_new
	step sig-loaded lkm_loaded
	step reports kmsg_reports
	step tainted cat /proc/sys/kernel/tainted
}

mkdir -p /etc/modprobe.d
# Mark the boot messages as seen.
kmsg_new >/dev/null
case $MODE in
cycles) cycles ;;
race) race ;;
sig-enforce) sig_enforce ;;
esac
