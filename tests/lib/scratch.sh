# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Scratch copies of the source tree, so tests never write build products
# into the working tree and can build for several kernels side by side.

# scratch_tree DIR: copy what building and packaging need into DIR.
scratch_tree() {
	mkdir -p "$1"
	# Through a file, not a pipe: a failing tar -c must fail the copy.
	tar -C "$LKM_STACK_TOP" -cf "$1.tar" \
		--exclude='*.o' --exclude='*.ko' --exclude='*.ko.*' \
		--exclude='.*.cmd' --exclude='.*.d' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude=Module.symvers \
		--exclude=modules.order \
		LICENSE README.md Makefile VERSION dkms.conf src debian rpm \
		scripts &&
		tar -xf "$1.tar" -C "$1" &&
		rm -f "$1.tar"
}

LKM_STACK_TOP=$(cd "$(dirname "$0")/.." && pwd)
export LKM_STACK_TOP
