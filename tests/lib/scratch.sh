# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Scratch copies of the source tree, so tests never write build products
# into the working tree and can build for several kernels side by side.

# scratch_tree DIR: copy what building and packaging need into DIR.
scratch_tree() {
	mkdir -p "$1"
	(cd "$LKM_STACK_TOP" &&
		tar --exclude='*.o' --exclude='*.ko' --exclude='*.ko.*' \
			--exclude='.*.cmd' --exclude='*.mod' --exclude='*.mod.c' \
			--exclude=Module.symvers --exclude=modules.order \
			-cf - LICENSE README.md Makefile VERSION dkms.conf src \
			debian rpm scripts) | tar -xf - -C "$1"
}

LKM_STACK_TOP=$(cd "$(dirname "$0")/.." && pwd)
export LKM_STACK_TOP
