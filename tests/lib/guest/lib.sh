#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest-side helpers for every guest script: those packed into an
# initramfs by tests/lib/vm.sh (source /guest/lib.sh) and those copied
# into a Debian root by tests/lib/debian-root.sh (source /lkm-test/lib.sh).
# Each step prints one block, which the host reads with the strict readers
# of tests/lib/vm.sh (vm_step_output, expect_step_*):
#
#   @@BEGIN <name> <command line as a user would type it>
#   <its standard output and error>
#   @@END <name> <exit status>
#
# A block without its @@END (the guest died during the step) or missing
# altogether (the step never ran) fails every check that reads it.
set -u

# Where these helpers keep their state: a place every boot starts empty
# (/run is a tmpfs on a Debian root; all of an initramfs is in memory).
GUEST_STATE=/run/lkm-guest

# step NAME COMMAND-LINE: run COMMAND-LINE in a subshell (it may use the
# functions of this file) and print its block.
step() {
	_name=$1
	shift
	printf '@@BEGIN %s %s\n' "$_name" "$*"
	if (eval "$*") 2>&1; then _status=0; else _status=$?; fi
	printf '@@END %s %s\n' "$_name" "$_status"
}

# guest_param NAME [DEFAULT]: the value of the parameter NAME the host
# handed this guest, else DEFAULT; with neither, a complaint on standard
# error and status 1.  The one way parameters reach a guest (see
# tests/lib/vm.sh): an initramfs holds them in /guest/params, one
# NAME=VALUE a line (vm_initramfs_set_param); a guest booted from a
# Debian root, which has no /guest, finds them on the kernel command
# line as lkm_NAME=VALUE (debian_root_boot).
guest_param() {
	if _gp_value=$(guest_params | awk -v name="$1" '
		index($0, name "=") == 1 {
			print substr($0, length(name) + 2); found = 1; exit }
		END { exit !found }'); then
		printf '%s\n' "$_gp_value"
	elif [ $# -ge 2 ]; then
		printf '%s\n' "$2"
	else
		echo "guest_param: the host handed this guest no parameter $1" >&2
		return 1
	fi
}

# guest_params: every parameter, as NAME=VALUE lines.
guest_params() {
	if [ -f /guest/params ]; then
		cat /guest/params
	else
		tr ' ' '\n' </proc/cmdline | sed -n 's/^lkm_//p'
	fi
}

# kmsg_new: the kernel log lines added since the last call (the first
# call prints all of it).  It reads and clears the kernel's buffer
# (dmesg -c), so thousands of module loads between two calls cannot
# overflow it, and keeps what it read for kmsg_all.
kmsg_new() {
	mkdir -p "$GUEST_STATE"
	dmesg -c >"$GUEST_STATE/kmsg.new"
	cat "$GUEST_STATE/kmsg.new" >>"$GUEST_STATE/kmsg.read"
	cat "$GUEST_STATE/kmsg.new"
}

# kmsg_all: the whole kernel log since boot, as kmsg_new has read it,
# after reading what is new (a plain dmesg shows only that after a
# dmesg -c in busybox, yet all of the buffer again in util-linux).
kmsg_all() {
	kmsg_new >/dev/null
	cat "$GUEST_STATE/kmsg.read"
}

# reclaim_memory: drop what the kernel can give back before memory is
# measured: the page and dentry caches, and what each slab cache can
# shrink (which also empties KASAN's quarantine of freed objects), so
# only memory someone holds is counted.
reclaim_memory() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for _shrink in /sys/kernel/slab/*/shrink; do
		echo 1 >"$_shrink"
	done
}

# lkm_loaded: the names of the loaded lkm-stack modules, as /proc/modules
# lists them (newest first), one a line.
lkm_loaded() {
	grep -E '^(core|client)_lkm ' /proc/modules | cut -d' ' -f1
}
