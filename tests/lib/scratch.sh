# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Scratch copies of the source tree, so tests never write build products
# into the working tree and can build for several kernels side by side.

# The top of the source tree: tests/run exports it; a script run on its
# own finds it above its own directory (the one holding tests/run).
if [ -z "${LKM_STACK_TOP:-}" ]; then
	LKM_STACK_TOP=$(cd "$(dirname "$0")" &&
		while [ ! -f tests/run ] && [ "$PWD" != / ]; do cd ..; done &&
		[ -f tests/run ] && pwd) || {
		echo "error: no tests/run above $0: run it from a checkout of lkm-stack" >&2
		exit 1
	}
fi
export LKM_STACK_TOP

# makefile_var NAME: the value of the top-level Makefile's variable NAME,
# so that the tests copy the lists it keeps (RELEASE_FILES,
# BUILD_PRODUCTS, DKMS_TREE_FILES) instead of writing them again.
makefile_var() {
	# shellcheck disable=SC2016 # make's $($*), not the shell's
	make --no-print-directory -s -C "$LKM_STACK_TOP" \
		--eval='lkm-stack-print-%: ; @echo $($*)' "lkm-stack-print-$1"
}

# scratch_tree DIR: copy what building and packaging need (the files of
# a source release, less build products and the examples' dist/) into DIR.
scratch_tree() {
	mkdir -p "$1"
	set -f
	# shellcheck disable=SC2046 # one pattern or file name per word
	set -- "$1" $(for _p in $(makefile_var BUILD_PRODUCTS) \
		$(makefile_var EXAMPLE_OUTPUTS); do
		echo "--exclude=$_p"
	done) $(makefile_var RELEASE_FILES)
	set +f
	_dest=$1
	shift
	# Through a file, not a pipe: a failing tar -c must fail the copy.
	tar -C "$LKM_STACK_TOP" -cf "$_dest.tar" "$@" &&
		tar -xf "$_dest.tar" -C "$_dest" &&
		rm -f "$_dest.tar"
}
