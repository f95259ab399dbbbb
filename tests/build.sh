#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build both modules against every kernel of the matrix with W=1, in one
# kbuild pass and the step-by-step way, and check what modpost and modinfo
# say about them.  The lint stage judges the same builds' warnings.
set -eu
. "$(dirname "$0")/lib/report.sh"
. "$(dirname "$0")/lib/kernels.sh"
. "$(dirname "$0")/lib/scratch.sh"
. "$(dirname "$0")/lib/builds.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
: "${LKM_STACK_BUILDS:=$work/builds}"
version=$(cat "$LKM_STACK_TOP/VERSION")

check_modinfo() {
	kver=$1 dir=$2
	client=$dir/src/client/client_lkm.ko
	core=$dir/src/core/core_lkm.ko
	expect_eq "$kver: client_lkm depends" core_lkm \
		"$(modinfo -F depends "$client")"
	expect_eq "$kver: core_lkm depends on nothing" "" \
		"$(modinfo -F depends "$core")"
	for ko in "$core" "$client"; do
		m=$(basename "$ko" .ko)
		expect_eq "$kver: $m version" "$version" "$(modinfo -F version "$ko")"
		expect_eq "$kver: $m license" GPL "$(modinfo -F license "$ko")"
		expect_eq "$kver: $m vermagic release" "$kver" \
			"$(modinfo -F vermagic "$ko" | cut -d' ' -f1)"
	done
}

# CRC of SYMBOL in a Module.symvers file, e.g. 0x1234abcd.
symvers_crc() {
	awk -v s="$2" '$2 == s { print $1 }' "$1"
}

# CRC client_lkm.ko recorded for SYMBOL when it was built.
client_crc() {
	modprobe --dump-modversions "$1" | awk -v s="$2" '$2 == s { print $1 }'
}

# check_one_pass_build KVER BUILDS (matrix_build's directory for KVER)
check_one_pass_build() {
	kver=$1 tree=$2/onepass
	if build_succeeded "$2" onepass; then
		pass "$kver: one-pass build (W=1)"
	else
		fail "$kver: one-pass build (W=1)" "make all succeeds" \
			"$(cat "$2/onepass.log")"
		return
	fi
	check_modinfo "$kver" "$tree"
}

# check_step_by_step_build KVER BUILDS (matrix_build's directory for KVER)
check_step_by_step_build() {
	kver=$1 tree=$2/steps
	if build_succeeded "$2" steps; then
		pass "$kver: step-by-step build (src/core, then src/client)"
	else
		fail "$kver: step-by-step build (src/core, then src/client)" \
			"both makes succeed" "$(cat "$2/steps.log")"
		return
	fi
	expect_no_match "$kver: step-by-step: modpost resolves client_lkm's symbols" \
		'undefined!' "$(cat "$2/steps.log")"
	for sym in exp_int get_skey; do
		crc=$(symvers_crc "$tree/src/core/Module.symvers" "$sym")
		expect_match "$kver: core_lkm's Module.symvers exports $sym" \
			'^0x[0-9a-f]{8}$' "$crc"
		expect_eq "$kver: client's CRC for $sym matches core's export" \
			"$crc" "$(client_crc "$tree/src/client/client_lkm.ko" "$sym")"
	done
}

# make install / uninstall into a staging root (INSTALL_MOD_PATH), the
# way a user installs a hand-built tree, minus touching this machine.
# W=1, as the one-pass tree was built, installs that very build.
# check_staged_install KVER BUILDS (matrix_build's directory for KVER)
check_staged_install() {
	kver=$1 tree=$2/onepass stage=$work/$kver-stage
	moddir=$stage/lib/modules/$kver
	expect_success "$kver: make install INSTALL_MOD_PATH=<stage>" \
		make -C "$tree" install KVER="$kver" W=1 INSTALL_MOD_PATH="$stage"
	expect_match "$kver: modules.dep: extra/client depends on extra/core" \
		'^extra/client/client_lkm\.ko(\.xz)?: extra/core/core_lkm\.ko(\.xz)?$' \
		"$(cat "$moddir/modules.dep" 2>&1)"
	expect_success "$kver: make uninstall INSTALL_MOD_PATH=<stage>" \
		make -C "$tree" uninstall KVER="$kver" INSTALL_MOD_PATH="$stage"
	expect_eq "$kver: uninstall leaves no module behind" "" \
		"$(find "$moddir" -name '*_lkm.ko*' 2>&1)"
}

check_missing_headers_message() {
	out=$(make -C "$LKM_STACK_TOP" all KVER=0.0-no-such-kernel 2>&1) || true
	expect_match "missing headers: one line naming the package to install" \
		'^error: no kernel build tree at .*install linux-headers-0\.0-no-such-kernel' \
		"$out"
}

section "build: every kernel of the matrix, W=1"
for kver in $(kernel_matrix); do
	if ! ensure_headers "$kver"; then
		fail "$kver: headers" "linux-headers-$kver installed" "not installable"
		continue
	fi
	builds=$(matrix_build "$kver")
	check_one_pass_build "$kver" "$builds"
	check_step_by_step_build "$kver" "$builds"
	check_staged_install "$kver" "$builds"
done
check_missing_headers_message

[ "${LKM_STACK_SUITE:-}" ] || summary
