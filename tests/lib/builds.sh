# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# The W=1 builds of both modules for a kernel, made at most once per test
# run: the build stage checks what they produce (modinfo, symbol CRCs,
# installation) and the lint stage judges their warnings, so "make check"
# compiles each kernel's modules once, while either stage run on its own
# still builds what it needs.  Needs scratch.sh.
#
#   LKM_STACK_BUILDS  directory the builds are kept in: tests/run sets it
#                     for the whole run; a stage run alone sets it to a
#                     scratch directory of its own.
#
# Whoever runs make in these trees again passes W=1 too, so kbuild finds
# them up to date instead of recompiling them with other flags.

# matrix_build KVER [MAKE-ARG...]: print the directory holding KVER's
# builds, making them first (with the MAKE-ARGs, e.g. KDIR=) if this run
# has not:
#   onepass/  a scratch tree after "make KVER=KVER W=1" (the default target)
#   steps/    a scratch tree after "make -C src/core", then "-C src/client"
# with each build's output in onepass.log / steps.log and make's exit
# status in onepass.status / steps.status.  The two builds run side by
# side: each mostly waits on one compiler at a time.
matrix_build() {
	_dir=${LKM_STACK_BUILDS:?}/$1
	if [ ! -f "$_dir/onepass.status" ] || [ ! -f "$_dir/steps.status" ]; then
		echo "building both modules for $1 (W=1) ..." >&2
		rm -rf "$_dir"
		mkdir -p "$_dir"
		build_one_pass "$_dir" "$@" &
		build_step_by_step "$_dir" "$@" &
		wait
	fi
	echo "$_dir"
}

# build_one_pass DIR KVER [MAKE-ARG...]: matrix_build's onepass build.
build_one_pass() {
	_dir=$1 _kver=$2
	shift 2
	scratch_tree "$_dir/onepass"
	_status=0
	make -C "$_dir/onepass" KVER="$_kver" W=1 "$@" \
		>"$_dir/onepass.log" 2>&1 || _status=$?
	echo "$_status" >"$_dir/onepass.status"
}

# build_step_by_step DIR KVER [MAKE-ARG...]: matrix_build's steps build.
build_step_by_step() {
	_dir=$1 _kver=$2
	shift 2
	scratch_tree "$_dir/steps"
	_status=0
	{ make -C "$_dir/steps/src/core" KVER="$_kver" W=1 "$@" &&
		make -C "$_dir/steps/src/client" KVER="$_kver" W=1 "$@"; } \
		>"$_dir/steps.log" 2>&1 || _status=$?
	echo "$_status" >"$_dir/steps.status"
}

# build_succeeded DIR KIND: the KIND build ("onepass", "steps") that
# matrix_build made in DIR exited with status 0.
build_succeeded() {
	[ "$(cat "$1/$2.status")" = 0 ]
}
