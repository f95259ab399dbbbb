#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest script of tests/reliability/stage.sh, packed as /guest/main by
# tests/lib/vm.sh.  Its parameters (guest_param, tests/lib/guest/lib.sh)
# say what to run:
#
#   mode               the parts to run, in this order, space-separated:
#     cycles           load/unload cycles, then bad input
#     race             the concurrent race (needs two CPUs online)
#     sig-enforce      module.sig_enforce switched on, then only loads the
#                      kernel must refuse: last, since it cannot be undone
#   cycles, warmup     load/unload cycles measured, and run before measuring
#   nobtf=1            the cycles run on /root/nobtf's copies of the modules
#                      (without BTF), then built_cycles on the modules as
#                      built (tests/reliability/stage.sh says why)
#   one_cpu_cycles=1   the boot has two CPUs: CPU 1 goes offline for the
#                      cycles and the bad input and back online for the
#                      race (a second online CPU doubles a cycle's cost
#                      under emulation; a boot costs more than both)
#   race_seconds       how long the concurrent race runs
#   kmemleak=1         scan for leaks after the cycles and after the race
#                      (sanitizer kernel; default 0)
#   kernel_trouble     extended regex of the kernel log lines that start an
#                      oops, warning or sanitizer report (tests/lib/vm.sh's
#                      VM_KERNEL_TROUBLE)
#
# The boot ends with the steps "reports" and "tainted", which the host's
# health check of the boot reads.
#
# /root holds core_lkm.ko and client_lkm.ko (with nobtf=1 also copies of
# them in /root/nobtf; with sig-enforce, copies signed with a key the
# kernel does not trust in /root/signed, and those are the ones installed
# for modprobe), /root/foreign/LABEL/core_lkm.ko builds for other
# kernels, /bin/modcycle the stress helper.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck source=tests/lib/guest/lib.sh # packed by tests/lib/vm.sh
. /guest/lib.sh

MODE=$(guest_param mode)
KMEMLEAK=$(guest_param kmemleak 0)
ONE_CPU_CYCLES=$(guest_param one_cpu_cycles 0)
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

# set_cpu1_online 0|1: take CPU 1 offline or bring it back, and show
# which CPUs are online then.
set_cpu1_online() {
	echo "$1" >/sys/devices/system/cpu/cpu1/online &&
		cat /sys/devices/system/cpu/online
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
	if [ "$ONE_CPU_CYCLES" = 1 ]; then
		step cpu1-offline set_cpu1_online 0
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
	step bad-input-reports kmsg_reports
}

race() {
	if [ "$ONE_CPU_CYCLES" = 1 ]; then
		step cpu1-online set_cpu1_online 1
	fi
	step race modcycle race "$(guest_param race_seconds)" core_lkm.ko \
		client_lkm.ko
	step race-reports kmsg_reports
	if [ "$KMEMLEAK" = 1 ]; then
		step race-kmemleak kmemleak_scan
	fi
}

# The kernel lets module.sig_enforce go from off to on at run time (never
# back): the very switch the boot parameter sets, so one boot serves the
# stress with unsigned modules first and the refusals after it.
enforce_signatures() {
	echo 1 >/sys/module/module/parameters/sig_enforce &&
		cat /sys/module/module/parameters/sig_enforce
}

sig_enforce() {
	step sig-enforce-on enforce_signatures
	step sig-insmod insmod signed/core_lkm.ko
	step sig-modprobe modprobe client_lkm
	step sig-log kmsg_new
	step sig-loaded lkm_loaded
}

mkdir -p /etc/modprobe.d
# Mark the boot messages as seen.
kmsg_new >/dev/null
if [ "$KMEMLEAK" = 1 ]; then
	step kmemleak-start kmemleak_start
fi
for _part in $MODE; do
	case $_part in
	cycles) cycles ;;
	race) race ;;
	sig-enforce) sig_enforce ;;
	*) step "unknown-part-$_part" false ;;
	esac
done
step reports kmsg_reports
step tainted cat /proc/sys/kernel/tainted
