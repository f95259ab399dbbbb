# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest-side helpers for guest scripts packed by tests/lib/vm.sh (source
# /guest/lib.sh).  Each step prints one block, which the host reads with
# the strict readers of tests/lib/vm.sh (vm_step_output, expect_step_*):
#
#   @@BEGIN <name> <command line as a user would type it>
#   <its standard output and error>
#   @@END <name> <exit status>
#
# A block without its @@END (the guest died during the step) or missing
# altogether (the step never ran) fails every check that reads it.

# step NAME COMMAND-LINE: run COMMAND-LINE in a subshell (it may use the
# functions of this file) and print its block.
step() {
	_name=$1
	shift
	printf '@@BEGIN %s %s\n' "$_name" "$*"
	if (eval "$*") 2>&1; then _status=0; else _status=$?; fi
	printf '@@END %s %s\n' "$_name" "$_status"
}

# kmsg_new: the kernel log lines added since the last call (the first
# call prints all of it).  The kernel command line sets log_buf_len large
# enough that counting lines is exact.
kmsg_new() {
	_seen=$(cat /tmp/kmsg.seen 2>/dev/null || echo 0)
	dmesg >/tmp/kmsg.now
	wc -l </tmp/kmsg.now >/tmp/kmsg.seen
	tail -n "+$((_seen + 1))" /tmp/kmsg.now
}

# lkm_loaded: the names of the loaded lkm-stack modules, as /proc/modules
# lists them (newest first), one a line.
lkm_loaded() {
	grep -E '^(core|client)_lkm ' /proc/modules | cut -d' ' -f1
}
