#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/demo/demo (make demo): the original walkthrough, one step block
# (see lib.sh) per command a user would type, in /root, which holds
# core_lkm.ko and client_lkm.ko as "make" left them.  The same modules
# are installed under /lib/modules/$(uname -r)/updates/dkms/ as DKMS
# would install them.  tests/demo/demo shows and judges the blocks.
#
# No "set -e": a command that fails is part of the walkthrough.
set -u
# shellcheck disable=SC1091 # packed as /guest/lib.sh by tests/lib/vm.sh
. /guest/lib.sh

step d1-insmod-core 'insmod core_lkm.ko'
step d1-lsmod 'lsmod | grep lkm'

step d2-insmod-client 'insmod client_lkm.ko'
step d2-lsmod 'lsmod | grep lkm'
step d2-dmesg "dmesg | grep 'lkm: loaded'"

step d3-rmmod-core 'rmmod core_lkm'

step d4-rmmod-client 'rmmod client_lkm'
step d4-rmmod-core 'rmmod core_lkm'
step d4-lsmod 'lsmod | grep lkm'

step d5-insmod-client 'insmod client_lkm.ko'
step d5-dmesg "dmesg | grep 'Unknown symbol'"

# shellcheck disable=SC2016 # the guest expands it; shown as typed
step d6-ls 'ls /lib/modules/$(uname -r)/updates/dkms/'
step d6-depmod 'depmod'
step d6-modprobe 'modprobe client_lkm'
step d6-lsmod 'lsmod | grep lkm'
step d6-modprobe-r 'modprobe -r client_lkm'
step d6-lsmod-after 'lsmod | grep lkm'
