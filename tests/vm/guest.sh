#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/vm/stage.sh: runs every scenario in one boot and prints a
# block per step (see lib.sh); tests/vm/stage.sh judges them.  The modules are
# installed for modprobe under /lib/modules/$(uname -r)/updates/dkms/, and
# as plain files for insmod in /root/onepass/ (one kbuild pass) and
# /root/steps/ (make -C src/core, then make -C src/client).
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # packed as /guest/lib.sh by tests/lib/vm.sh
. /guest/lib.sh

# How many load/unload cycles check 11 runs: tests/vm/stage.sh hands the
# guest its number.
CYCLES=$(guest_param cycles)

# modprobe_cycles N: load and unload the stack N times; print how many
# cycles succeeded, how long they took, and the first errors if any
# failed.
modprobe_cycles() {
	_ok=0
	_start=$(cut -d' ' -f1 /proc/uptime)
	: >/tmp/cycles.err
	for _i in $(seq "$1"); do
		if modprobe client_lkm 2>>/tmp/cycles.err &&
			modprobe -r client_lkm 2>>/tmp/cycles.err; then
			_ok=$((_ok + 1))
		fi
	done
	echo "$_ok of $1 cycles succeeded"
	echo "in $(awk -v s="$_start" '{ print $1 - s }' /proc/uptime) s"
	head -n 5 /tmp/cycles.err
}

# slab_kb: kernel slab memory in kB after reclaim_memory.
slab_kb() {
	reclaim_memory
	awk '$1 == "Slab:" { print $2 }' /proc/meminfo
}

# Mark the boot messages as seen.
kmsg_new >/dev/null

# 1-3: the packaged way, then what lsmod and the modules' logs say.
step s1-modprobe 'modprobe client_lkm'
step s1-loaded lkm_loaded
step s1-show-depends 'modprobe --show-depends client_lkm'
step s1-kmsg kmsg_new
step s2-lsmod lsmod

# 4: core_lkm is pinned by its user.
step s4-rmmod-core 'rmmod core_lkm'
step s4-loaded lkm_loaded

# 5: modprobe -r removes the unused dependency too.
step s5-modprobe-r 'modprobe -r client_lkm'
step s5-loaded lkm_loaded
step s5-kmsg kmsg_new

# 6: the client alone cannot resolve its symbols.
step s6-insmod-client 'insmod onepass/client_lkm.ko'
step s6-loaded lkm_loaded
step s6-kmsg kmsg_new

# 7: the walkthrough's manual order.
step s7-insmod-core 'insmod onepass/core_lkm.ko'
step s7-insmod-client 'insmod onepass/client_lkm.ko'
step s7-rmmod-client 'rmmod client_lkm'
step s7-rmmod-core 'rmmod core_lkm'
step s7-kmsg kmsg_new

# 8: modules from two separate kbuild runs.
step s8-insmod-core 'insmod steps/core_lkm.ko'
step s8-insmod-client 'insmod steps/client_lkm.ko'
step s8-loaded lkm_loaded
step s8-rmmod 'rmmod client_lkm && rmmod core_lkm'
step s8-kmsg kmsg_new

# 9: modinfo reads the installed (possibly compressed) modules.
step s9-filename 'modinfo -n client_lkm core_lkm'
step s9-depends 'modinfo -F depends client_lkm'
step s9-version 'modinfo -F version core_lkm client_lkm'

# 11: repeated load/unload leaves the kernel as it found it.
step s11-modules-before 'cat /proc/modules'
step s11-slab-before slab_kb
step s11-cycles "modprobe_cycles $CYCLES"
step s11-modules-after 'cat /proc/modules'
step s11-slab-after slab_kb

# 10: kernel health after everything else.
step s10-tainted 'cat /proc/sys/kernel/tainted'
step s10-dmesg kmsg_all
