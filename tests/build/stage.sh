#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build both modules against every kernel of the matrix with W=1, in one
# kbuild pass and the step-by-step way, and check what modpost and modinfo
# say about them.  The lint stage judges the same builds' warnings.  The
# matrix (build_matrix, tests/lib/kernels.sh) is Debian 12's, built here,
# and Debian 13's and sid's, each built in a root of its release with
# that release's compiler (tests/lib/builds.sh); make install and
# uninstall run there too.
set -eu
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/../lib/kernels.sh"
. "$(dirname "$0")/../lib/scratch.sh"
. "$(dirname "$0")/../lib/builds.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-build.XXXXXX")
# The release roots of a run of this stage alone are in $work/builds;
# release_roots_remove refuses to delete one that has anything mounted.
# (wait: for release_roots_prefetch, below.)
trap 'wait; release_roots_remove "$work/builds" && rm -rf "$work"' EXIT
: "${LKM_STACK_BUILDS:=$work/builds}"
# make install stages and signs in $work: a release root sees it too.
KERNEL_MAKE_DIRS=$work
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

# check_one_pass_build KVER BUILDS (matrix_build's directory for KVER):
# matrix_build runs plain "make", so this is also the default target's test.
check_one_pass_build() {
	kver=$1 tree=$2/onepass
	if build_succeeded "$2" onepass; then
		pass "$kver: one-pass build (W=1)"
	else
		fail "$kver: one-pass build (W=1)" "make (no target) succeeds" \
			"$(cat "$2/onepass.log")"
	fi
	expect_eq "$kver: make (no target) leaves both .ko" \
		"src/client/client_lkm.ko
src/core/core_lkm.ko" \
		"$(cd "$tree" && ls src/core/core_lkm.ko src/client/client_lkm.ko 2>&1)"
	build_succeeded "$2" onepass || return 0
	check_modinfo "$kver" "$tree"
	check_compiler "$kver" "$tree"
}

# check_compiler KVER TREE: core_lkm.ko was compiled by the compiler KVER
# was built with: the one its configuration names (CONFIG_CC_VERSION_TEXT,
# less the program's name) is the one each object's .comment names.  For
# a kernel of Debian 13 or sid, that is its release's compiler.
check_compiler() {
	_config=$(kernel_config "$1") || _config=/dev/null
	_want=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\{0,1\}[^ ]* \(.*[^"]\)"\{0,1\}$/\1/p' \
		"$_config" 2>/dev/null)
	expect_eq "$1: built with the kernel's own compiler (${_want##* })" \
		"$_want" "$(readelf -p .comment "$2/src/core/core_lkm.ko" 2>&1 |
			sed -n 's/.*GCC: //p' | sort -u)"
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
	check_modversions "$kver" "$tree/src/core/Module.symvers" \
		"$tree/src/client/client_lkm.ko" client
}

# check_modversions KVER SYMVERS KO WHO: where KVER has CONFIG_MODVERSIONS,
# that core_lkm's Module.symvers SYMVERS gives each export a CRC and the
# module KO (WHO: "client", "addon") recorded the same one; where it has
# not (sid's 7.x), one line saying so, which passes only if the kernel's
# own configuration lacks it and KO carries no CRCs (no __versions
# section).
check_modversions() {
	kver=$1 symvers=$2 ko=$3 who=$4
	: "${symvers_of:=}"
	config=$(kernel_config "$kver") || config=
	if [ -z "$config" ] || ! grep -qx 'CONFIG_MODULES=y' "$config"; then
		fail "$kver: its kbuild configuration says whether it has CONFIG_MODVERSIONS" \
			"include/config/auto.conf with CONFIG_MODULES=y" \
			"${config:-no kbuild tree}: $(head -c 200 "$config" 2>&1)"
		return
	fi
	if ! grep -qx 'CONFIG_MODVERSIONS=y' "$config"; then
		case $who in
		client) why="the vm stage proves the separately built modules load" ;;
		*) why="a mismatch would go unnoticed there, so the core's package rebuilds $who on every core upgrade (README, \"Build your own module on core_lkm\")" ;;
		esac
		name="$kver: no CONFIG_MODVERSIONS: $who's symbol CRCs not compared (the kernel matches symbols by name); $why"
		# Its sections, as readelf reads them: .modinfo, but no
		# __versions (the CRCs modprobe --dump-modversions shows).
		sections=$(readelf -S -W "$ko" 2>&1 |
			grep -oE ' (\.modinfo|__versions) |[Ee]rror.*' | sort -u)
		expect_eq "$name" " .modinfo " "$sections"
		return
	fi
	for sym in exp_int get_skey; do
		crc=$(symvers_crc "$symvers" "$sym")
		expect_match "$kver: core_lkm's Module.symvers exports $sym${symvers_of:+ ($symvers_of)}" \
			'^0x[0-9a-f]{8}$' "$crc"
		expect_eq "$kver: $who's CRC for $sym matches core's export" \
			"$crc" "$(client_crc "$ko" "$sym")"
	done
}

# check_addon_build KVER BUILDS (matrix_build's directory for KVER): the
# API scripts/lkm-stack-api saved from the one-pass build, as DKMS's
# POST_BUILD does, and examples/addon built against it alone (W=1):
# modpost resolved addon_lkm's references from the saved Module.symvers,
# with core's CRCs.
check_addon_build() {
	kver=$1 api=$2/addon/api
	addon=$2/onepass/examples/addon/addon_lkm.ko
	if build_succeeded "$2" addon; then
		pass "$kver: examples/addon builds against the saved API (W=1)"
	else
		fail "$kver: examples/addon builds against the saved API (W=1)" \
			"lkm-stack-api save, then make -C examples/addon succeed" \
			"$(cat "$2/addon.log")"
		return
	fi
	expect_eq "$kver: lkm-stack-api save: Module.symvers, the header, VERSION" \
		"Module.symvers VERSION include/lkm_stack.h" \
		"$(for f in Module.symvers VERSION include/lkm_stack.h; do
			[ ! -f "$api/$f" ] || echo "$f"
		done | paste -sd ' ')"
	expect_eq "$kver: the saved VERSION" "$version" "$(cat "$api/VERSION" 2>&1)"
	expect_no_match "$kver: addon: modpost resolves addon_lkm's symbols" \
		'undefined!' "$(cat "$2/addon.log")"
	expect_eq "$kver: addon_lkm depends" core_lkm "$(modinfo -F depends "$addon" 2>&1)"
	expect_eq "$kver: addon_lkm records the core it was built against" \
		"$version" "$(modinfo -F lkm_stack_core "$addon" 2>&1)"
	symvers_of="the saved API" check_modversions "$kver" "$api/Module.symvers" \
		"$addon" addon
}

# A line of make's output that says error or warning, in any case.
ERROR_OR_WARNING='[Ee][Rr][Rr][Oo][Rr]|[Ww][Aa][Rr][Nn][Ii][Nn][Gg]'

# make_checked NAME MAKE-ARG...: a check NAME that make exits 0 (its output
# is shown on failure); the output, stdout and stderr, is left in
# $make_output for the checks that follow.  make runs where $kver's
# modules build (kernel_make, tests/lib/builds.sh).
make_checked() {
	_name=$1
	shift
	if make_output=$(kernel_make "$kver" "$@" 2>&1); then
		pass "$_name"
	else
		fail "$_name" "exit status 0 from: make $*" "status $?: $make_output"
	fi
}

# installed_tree MODDIR: every file and directory under MODDIR, relative to
# it, one a line, but the files depmod writes (modules.*, which does not
# include the kernel's own modules.order, modules.builtin and
# modules.builtin.modinfo that depmod only reads).
installed_tree() {
	[ -d "$1" ] || return 0
	(cd "$1" && find . -mindepth 1 \( ! -type f -o ! -name 'modules.*' \
		-o -name modules.order -o -name modules.builtin \
		-o -name modules.builtin.modinfo \) -print | sed 's,^\./,,' | sort)
}

# installed_suffix KVER: the name ending make install gives modules for
# KVER, as the kernel's configuration asks: .ko, .ko.xz, .ko.gz or .ko.zst.
installed_suffix() {
	_config=$(kernel_config "$1")
	if grep -qx 'CONFIG_MODULE_COMPRESS_XZ=y' "$_config"; then
		echo .ko.xz
	elif grep -qx 'CONFIG_MODULE_COMPRESS_GZIP=y' "$_config"; then
		echo .ko.gz
	elif grep -qx 'CONFIG_MODULE_COMPRESS_ZSTD=y' "$_config"; then
		echo .ko.zst
	else
		echo .ko
	fi
}

# test_signing_key: print the directory holding this run's throwaway
# signing key, key.pem, and its DER certificate, cert.der (CN
# lkm-stack-test), making them on first use.
test_signing_key() {
	_keys=$work/signing-key
	if [ ! -f "$_keys/cert.der" ]; then
		mkdir -p "$_keys"
		openssl req -new -x509 -newkey rsa:2048 -nodes \
			-subj /CN=lkm-stack-test/ -keyout "$_keys/key.pem" \
			-outform DER -out "$_keys/cert.der" >/dev/null 2>&1 ||
			echo "openssl cannot make a test key in $_keys" >&2
	fi
	echo "$_keys"
}

# make install / uninstall into a staging root (INSTALL_MOD_PATH), the
# way a user installs a hand-built tree, minus touching this machine.
# W=1, as the one-pass tree was built, installs that very build.  No key
# is given and DKMS_MOK_DIR names an empty directory, so this machine's
# own DKMS key (/var/lib/dkms/mok.*) is never used: the modules install
# unsigned, with one line saying so.
# check_staged_install KVER BUILDS (matrix_build's directory for KVER)
check_staged_install() {
	kver=$1 tree=$2/onepass stage=$work/$kver-stage
	moddir=$stage/lib/modules/$kver
	suffix=$(installed_suffix "$kver")
	mkdir -p "$work/no-dkms-key"
	make_checked "$kver: make install INSTALL_MOD_PATH=<stage>" \
		-C "$tree" install KVER="$kver" W=1 INSTALL_MOD_PATH="$stage" \
		SIGN_KEY= SIGN_CERT= DKMS_MOK_DIR="$work/no-dkms-key"
	expect_no_match "$kver: make install output has no error/warning line" \
		"$ERROR_OR_WARNING" "$make_output"
	expect_match "$kver: make install without a key says the modules are unsigned, what that means, what to set" \
		'^notice: .* unsigned: .*enforces module signatures \(Secure Boot.*SIGN_KEY=.*SIGN_CERT=' \
		"$make_output"
	expect_eq "$kver: make install says so in one line" 1 \
		"$(printf '%s\n' "$make_output" | grep -ci unsigned)"
	expect_eq "$kver: the staged tree is exactly the two modules" \
		"extra
extra/client
extra/client/client_lkm$suffix
extra/core
extra/core/core_lkm$suffix" "$(installed_tree "$moddir")"
	expect_match "$kver: modules.dep: extra/client depends on extra/core" \
		'^extra/client/client_lkm\.ko(\.xz)?: extra/core/core_lkm\.ko(\.xz)?$' \
		"$(cat "$moddir/modules.dep" 2>&1)"
	make_checked "$kver: make uninstall INSTALL_MOD_PATH=<stage>" \
		-C "$tree" uninstall KVER="$kver" INSTALL_MOD_PATH="$stage"
	expect_no_match "$kver: make uninstall output has no error/warning line" \
		"$ERROR_OR_WARNING" "$make_output"
	expect_eq "$kver: uninstall leaves no module behind" "" \
		"$(find "$moddir" -name '*_lkm.ko*' 2>&1)"
	expect_eq "$kver: uninstall leaves no directory behind, only depmod's modules.*" \
		"" "$(installed_tree "$moddir")"
}

# signer_of MODULE-FILE: the signer modinfo reads from it (kmod reads
# compressed modules too).
signer_of() {
	modinfo -F signer "$1" 2>&1
}

# make install with a key: SIGN_KEY and SIGN_CERT, then DKMS's MOK pair
# (DKMS_MOK_DIR) when no key is named, sign both modules with the kernel's
# sign-file, before compressing them.
# check_signed_install KVER BUILDS (matrix_build's directory for KVER)
check_signed_install() {
	kver=$1 tree=$2/onepass keys=$(test_signing_key)
	suffix=$(installed_suffix "$kver")
	stage=$work/$kver-signed-stage
	make_checked "$kver: make install SIGN_KEY=<key> SIGN_CERT=<cert>" \
		-C "$tree" install KVER="$kver" W=1 INSTALL_MOD_PATH="$stage" \
		SIGN_KEY="$keys/key.pem" SIGN_CERT="$keys/cert.der" \
		DKMS_MOK_DIR="$work/no-dkms-key"
	expect_no_match "$kver: make install SIGN_KEY=...: no error/warning line, no unsigned notice" \
		"$ERROR_OR_WARNING|unsigned" "$make_output"
	for m in core/core_lkm client/client_lkm; do
		expect_eq "$kver: SIGN_KEY=...: $(basename "$m") signer" lkm-stack-test \
			"$(signer_of "$stage/lib/modules/$kver/extra/$m$suffix")"
	done
	stage=$work/$kver-mok-stage
	mkdir -p "$work/dkms-key"
	cp "$keys/key.pem" "$work/dkms-key/mok.key"
	cp "$keys/cert.der" "$work/dkms-key/mok.pub"
	make_checked "$kver: make install with DKMS's MOK pair (DKMS_MOK_DIR)" \
		-C "$tree" install KVER="$kver" W=1 INSTALL_MOD_PATH="$stage" \
		SIGN_KEY= SIGN_CERT= DKMS_MOK_DIR="$work/dkms-key"
	expect_eq "$kver: DKMS's MOK pair: client_lkm signer" lkm-stack-test \
		"$(signer_of "$stage/lib/modules/$kver/extra/client/client_lkm$suffix")"
}

check_missing_headers_message() {
	out=$(make -C "$LKM_STACK_TOP" all KVER=0.0-no-such-kernel 2>&1) || true
	expect_match "missing headers: one line naming the package to install" \
		'^error: no kernel build tree at .*install linux-headers-0\.0-no-such-kernel' \
		"$out"
	out=$(make -C "$LKM_STACK_TOP" KVER=0.0-no-such-kernel 2>&1) || true
	expect_match "missing headers, make with no target: the same line" \
		'^error: no kernel build tree at .*install linux-headers-0\.0-no-such-kernel' \
		"$out"
}

section "build: every kernel of the matrix (Debian 12, Debian 13, sid), W=1"
if ! kernels=$(build_matrix 2>"$work/matrix.err"); then
	fail "the build matrix: every release's kernels" \
		"the kernels of Debian 12, Debian 13 and sid" \
		"$(cat "$work/matrix.err")"
fi
# Debian 12's kernels come first: meanwhile the Debian 13 and sid roots
# are unpacked.
# shellcheck disable=SC2086 # the list splits into kernel releases
release_roots_prefetch $kernels
for kver in $kernels; do
	if ! ensure_headers "$kver"; then
		fail "$kver: headers" "linux-headers-$kver installed" "not installable"
		continue
	fi
	builds=$(matrix_build "$kver")
	check_one_pass_build "$kver" "$builds"
	check_step_by_step_build "$kver" "$builds"
	check_addon_build "$kver" "$builds"
	check_staged_install "$kver" "$builds"
	check_signed_install "$kver" "$builds"
done
check_missing_headers_message

[ "${LKM_STACK_SUITE:-}" ] || summary
