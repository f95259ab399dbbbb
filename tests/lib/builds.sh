# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# The W=1 builds of both modules for a kernel, made at most once per test
# run: the build stage checks what they produce (modinfo, symbol CRCs,
# installation) and the lint stage judges their warnings, so "make check"
# compiles each kernel's modules once, while either stage run on its own
# still builds what it needs.  Needs scratch.sh and kernels.sh.
#
# A kernel of another Debian release than this host's (Debian 13, sid)
# builds in this run's root of its release (tests/lib/release-roots.sh),
# with that release's compiler: kernel_make runs make there, with the
# build trees bound at their own paths, so that whoever reads a build
# (the build and lint stages, the vm stage) finds it where it would be
# for a kernel of this host's.
#
#   LKM_STACK_BUILDS  directory the builds are kept in: tests/run sets it
#                     for the whole run; a stage run alone sets it to a
#                     scratch directory of its own.
#
# Whoever runs make in these trees again passes W=1 too, so kbuild finds
# them up to date instead of recompiling them with other flags.

# shellcheck source=tests/lib/release-roots.sh
. "$LKM_STACK_TOP/tests/lib/release-roots.sh"

# kernel_make KVER MAKE-ARG...: make MAKE-ARGs (KVER=KVER among them) for
# kernel KVER: here, or in the root of KVER's release with
# $LKM_STACK_BUILDS and the directories of KERNEL_MAKE_DIRS (space-separated
# absolute paths, e.g. where a stage installs to) bound at their own paths.
kernel_make() {
	_km_kver=$1
	shift
	if kernel_builds_on_host "$_km_kver"; then
		make "$@"
		return
	fi
	_km_root=$(release_root_headers "$_km_kver") || return 1
	release_root_run "$_km_root" "$LKM_STACK_BUILDS ${KERNEL_MAKE_DIRS:-}" \
		make "$@"
}

# kernel_build_dir KVER: the path on this host of KVER's kbuild tree
# (/lib/modules/KVER/build, or its target in the root of KVER's release).
kernel_build_dir() {
	if kernel_builds_on_host "$1"; then
		echo "/lib/modules/$1/build"
		return
	fi
	_kbd_root=$(release_root_headers "$1") || return 1
	_kbd=$(release_root_run "$_kbd_root" "" readlink -f "/lib/modules/$1/build") ||
		return 1
	echo "$_kbd_root$_kbd"
}

# kernel_config KVER: the path on this host of KVER's kbuild configuration
# (include/config/auto.conf of its kbuild tree).
kernel_config() {
	_kc=$(kernel_build_dir "$1") || return 1
	echo "$_kc/include/config/auto.conf"
}

# matrix_build KVER [MAKE-ARG...]: print the directory holding KVER's
# builds, making them first (with the MAKE-ARGs, e.g. KDIR=) if this run
# has not:
#   onepass/  a scratch tree after "make KVER=KVER W=1" (the default target)
#   steps/    a scratch tree after "make -C src/core", then "-C src/client"
#   addon/    after onepass: the API scripts/lkm-stack-api saves from the
#             onepass build (addon/api/, as DKMS's POST_BUILD saves it),
#             and onepass/examples/addon built against it
# with each build's output in onepass.log / steps.log / addon.log and
# make's exit status in onepass.status / steps.status / addon.status.
# The steps build runs beside onepass-then-addon: each mostly waits on
# one compiler at a time.
matrix_build() {
	_dir=${LKM_STACK_BUILDS:?}/$1
	if [ ! -f "$_dir/onepass.status" ] || [ ! -f "$_dir/steps.status" ] ||
		[ ! -f "$_dir/addon.status" ]; then
		echo "building both modules for $1 (W=1) ..." >&2
		rm -rf "$_dir"
		mkdir -p "$_dir"
		# The root of another release, made before the two builds
		# share it.
		if ! kernel_builds_on_host "$1" &&
			! release_root_headers "$1" >/dev/null; then
			for _kind in onepass steps addon; do
				echo "no build root with the headers of $1 (see the stage's output)" \
					>"$_dir/$_kind.log"
				echo 1 >"$_dir/$_kind.status"
			done
		else
			{
				build_one_pass "$_dir" "$@"
				build_addon "$_dir" "$@"
			} &
			build_step_by_step "$_dir" "$@" &
			wait
		fi
	fi
	echo "$_dir"
}

# build_one_pass DIR KVER [MAKE-ARG...]: matrix_build's onepass build.
build_one_pass() {
	_dir=$1 _kver=$2
	shift 2
	scratch_tree "$_dir/onepass"
	_status=0
	kernel_make "$_kver" -C "$_dir/onepass" KVER="$_kver" W=1 "$@" \
		>"$_dir/onepass.log" 2>&1 || _status=$?
	echo "$_status" >"$_dir/onepass.status"
}

# build_addon DIR KVER [MAKE-ARG...]: matrix_build's addon build, after
# the onepass one.
build_addon() {
	_dir=$1 _kver=$2
	shift 2
	mkdir -p "$_dir/addon"
	_status=0
	{ (cd "$_dir/onepass" && scripts/lkm-stack-api save "$_dir/addon") &&
		kernel_make "$_kver" -C "$_dir/onepass/examples/addon" \
			KVER="$_kver" W=1 LKM_STACK_API="$_dir/addon/api" "$@"; } \
		>"$_dir/addon.log" 2>&1 || _status=$?
	echo "$_status" >"$_dir/addon.status"
}

# build_step_by_step DIR KVER [MAKE-ARG...]: matrix_build's steps build.
build_step_by_step() {
	_dir=$1 _kver=$2
	shift 2
	scratch_tree "$_dir/steps"
	_status=0
	{ kernel_make "$_kver" -C "$_dir/steps/src/core" KVER="$_kver" W=1 "$@" &&
		kernel_make "$_kver" -C "$_dir/steps/src/client" KVER="$_kver" \
			W=1 "$@"; } \
		>"$_dir/steps.log" 2>&1 || _status=$?
	echo "$_status" >"$_dir/steps.status"
}

# build_succeeded DIR KIND: the KIND build ("onepass", "steps") that
# matrix_build made in DIR exited with status 0.
build_succeeded() {
	[ "$(cat "$1/$2.status")" = 0 ]
}
