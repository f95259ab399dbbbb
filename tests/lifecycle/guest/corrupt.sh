#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/lifecycle/stage.sh, step 7b: a module damaged on
# disk (issue 16, item 5).  Cuts the installed core_lkm of the running
# kernel to half its size, as a crash in the middle of writing it
# would, asks modprobe for the client, then repairs it with the
# README's command and asks again.  Prints a block per step
# (tests/lib/guest/lib.sh); the host judges them.
#
# No "set -e": a failing step is a result to report, not a reason to stop.
set -u
# shellcheck disable=SC1091 # copied to /lkm-test/ by debian-root.sh
. /lkm-test/lib.sh

# truncate_core: core_lkm's file (as modules.dep names it) cut to half.
truncate_core() {
	_file=$(modinfo -n core_lkm) || return 1
	_size=$(stat -c %s "$_file")
	truncate -s "$((_size / 2))" "$_file" || return 1
	echo "$_file: $_size bytes cut to $(stat -c %s "$_file")"
}

# repair_command: the README's repair for the running kernel.
repair_command() {
	# shellcheck disable=SC2016 # a dpkg-query format, not the shell's
	echo "dkms install --force lkm-stack/$(dpkg-query -W -f '${Version}' \
		lkm-stack-dkms) -k $(uname -r)"
}

kmsg_new >/dev/null
step corrupt-file truncate_core
step corrupt-modprobe 'modprobe client_lkm'
step corrupt-kmsg kmsg_new
step corrupt-loaded lkm_loaded
step repair "$(repair_command)"
step repaired-modprobe 'modprobe client_lkm'
step repaired-loaded lkm_loaded
step repaired-modprobe-r 'modprobe -r client_lkm'
