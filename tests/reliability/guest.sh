# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest script of tests/reliability/stage.sh, packed as /guest/main by
# tests/lib/vm.sh.  /guest/env sets what to run:
#
#   MODE=cycles        load/unload cycles, then bad input
#   MODE=race          the concurrent race (boot with two CPUs or more)
#   MODE=sig-enforce   only try to load modules the kernel must refuse
#   CYCLES, WARMUP     load/unload cycles measured, and run before measuring
#   RACE_SECONDS       how long the concurrent race runs
#   KMEMLEAK=1         scan for leaks after the stress (sanitizer kernel)
#   KERNEL_REPORTS     extended regex of the kernel log lines that start an
#                      oops, warning or sanitizer report (tests/lib/vm.sh's
#                      VM_KERNEL_TROUBLE)
#
# Every mode ends with the steps "reports" and "tainted", which the host's
# health check of the boot reads.
#
# /root holds core_lkm.ko and client_lkm.ko, /root/foreign/LABEL/core_lkm.ko
# builds for other kernels, /bin/modcycle the stress helper; the modules
# are also installed for modprobe.
# shellcheck source=/dev/null # packed by tests/lib/vm.sh
. /guest/lib.sh
# shellcheck source=/dev/null # written by tests/reliability/stage.sh
. /guest/env

# memory_in_use: unreclaimable slab and vmalloc (where module code and
# data live) in kB, after dropping what the kernel can give back:
# shrinking each slab cache also empties KASAN's quarantine of its freed
# objects.
memory_in_use() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for _shrink in /sys/kernel/slab/*/shrink; do
		echo 1 >"$_shrink"
	done
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

# klog_new: the kernel log since the last call, which empties the buffer
# so thousands of cycles cannot overflow it between two calls.
klog_new() {
	dmesg -c
}

# klog_reports: the oopses, warnings and sanitizer reports of the kernel
# log since the last call, each with what follows it.
klog_reports() {
	klog_new | grep -E -A 40 "$KERNEL_REPORTS"
}

# try_foreign_module LABEL: load /root/foreign/LABEL/core_lkm.ko, built
# for another kernel, and unload it again if the kernel took it.
try_foreign_module() {
	step "foreign-$1" insmod "/root/foreign/$1/core_lkm.ko"
	step "foreign-$1-log" klog_new
	step "foreign-$1-loaded" lkm_loaded
	if lkm_loaded | grep -q .; then
		step "foreign-$1-rmmod" rmmod core_lkm
	fi
}

cycles() {
	if [ "${KMEMLEAK:-0}" = 1 ]; then
		step kmemleak-start kmemleak_start
	fi
	step warmup modcycle cycle "$WARMUP" core_lkm.ko client_lkm.ko
	step memory-before memory_in_use
	step cycles modcycle cycle "$CYCLES" core_lkm.ko client_lkm.ko
	step memory-after memory_in_use
	step cycles-reports klog_reports
	if [ "${KMEMLEAK:-0}" = 1 ]; then
		step kmemleak kmemleak_scan
	fi

	step magic-wrong-core insmod core_lkm.ko
	step magic-wrong insmod client_lkm.ko magic=12345
	step magic-wrong-log klog_new
	step magic-wrong-loaded lkm_loaded
	step magic-wrong-rmmod 'rmmod client_lkm && rmmod core_lkm'
	step magic-abc-core insmod core_lkm.ko
	step magic-abc insmod client_lkm.ko magic=abc
	step magic-abc-log klog_new
	step magic-abc-loaded lkm_loaded
	step magic-abc-rmmod rmmod core_lkm

	echo 'options core_lkm fail_init=1' >/etc/modprobe.d/fail-init.conf
	step fail-init modprobe client_lkm
	rm /etc/modprobe.d/fail-init.conf
	step fail-init-log klog_new
	step fail-init-loaded lkm_loaded

	for _dir in /root/foreign/*; do
		try_foreign_module "${_dir##*/}"
	done

	step reports klog_reports
	step tainted cat /proc/sys/kernel/tainted
}

race() {
	if [ "${KMEMLEAK:-0}" = 1 ]; then
		step kmemleak-start kmemleak_start
	fi
	step race modcycle race "$RACE_SECONDS" core_lkm.ko client_lkm.ko
	step reports klog_reports
	if [ "${KMEMLEAK:-0}" = 1 ]; then
		step kmemleak kmemleak_scan
	fi
	step tainted cat /proc/sys/kernel/tainted
}

sig_enforce() {
	step sig-insmod insmod core_lkm.ko
	step sig-modprobe modprobe client_lkm
	step sig-log klog_new
	step sig-loaded lkm_loaded
	step reports klog_reports
	step tainted cat /proc/sys/kernel/tainted
}

mkdir -p /etc/modprobe.d
klog_new >/dev/null
case $MODE in
cycles) cycles ;;
race) race ;;
sig-enforce) sig_enforce ;;
esac
