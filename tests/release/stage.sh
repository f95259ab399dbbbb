#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The source release is a working project: unpack the tarball "make dist"
# makes into a scratch directory and run every target its "make help"
# lists there.  The release ships no tests/, so the targets that need it
# must say so in one line; the rest must do their job.  And nothing
# outside tests/ may source the harness.
set -eu
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/../lib/kernels.sh"
. "$(dirname "$0")/../lib/scratch.sh"
. "$(dirname "$0")/../lib/packages.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-release.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Under tests/run the tarball is the run's (lib/packages.sh); alone, this
# stage's own.
: "${LKM_STACK_BUILDS:=$work/builds}"
# dkms-install is tried as an unprivileged user, who must reach the tree.
chmod 755 "$work"
version=$(cat "$LKM_STACK_TOP/VERSION")
release=$work/unpacked/lkm-stack-$version
# The targets that need tests/ and must say that the release lacks it.
HARNESS_TARGETS="check check-quick lint demo bench"

# in_release MAKE-ARG...: make in the unpacked release, output and status
# in $out and $status.
in_release() {
	status=0
	out=$(make --no-print-directory -C "$release" "$@" 2>&1) || status=$?
}

# help_targets: the targets "make help" lists in the release, one a line.
help_targets() {
	make -s -C "$release" help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'
}

check_builds() {
	in_release KVER="$kver"
	expect_eq "release: make KVER=$kver (no target) exits 0" 0 "$status"
	for ko in src/core/core_lkm.ko src/client/client_lkm.ko; do
		expect_success "release: make leaves $ko" test -f "$release/$ko"
	done
}

check_clean() {
	in_release clean
	expect_eq "release: make clean exits 0" 0 "$status"
	expect_eq "release: make clean leaves no build product" "" \
		"$(find "$release/src" -name '*.ko' -o -name '*.o' \
			-o -name Module.symvers)"
}

check_install() {
	stage=$work/stage
	in_release all KVER="$kver"
	in_release install KVER="$kver" INSTALL_MOD_PATH="$stage"
	expect_eq "release: make install INSTALL_MOD_PATH=<stage> exits 0" 0 \
		"$status"
	expect_match "release: make install staged both modules" \
		'extra/client/client_lkm\.ko[^ ]*: extra/core/core_lkm\.ko' \
		"$(cat "$stage/lib/modules/$kver/modules.dep" 2>&1)"
}

check_uninstall() {
	in_release uninstall KVER="$kver" INSTALL_MOD_PATH="$stage"
	expect_eq "release: make uninstall exits 0" 0 "$status"
	expect_eq "release: make uninstall leaves no module" "" \
		"$(find "$stage" -name '*_lkm.ko*' 2>&1)"
}

# DKMS changes the machine (/usr/src, /lib/modules): the test only shows
# that the target starts its script, which refuses an unprivileged user.
check_dkms_target() {
	status=0
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
		make -C "$release" "$1" KVER="$kver" 2>&1) || status=$?
	expect_match "release: make $1 starts (as a user: one line asking for root)" \
		'^error: DKMS changes /usr/src and /lib/modules: run as root$' \
		"$out"
}

# The DKMS tree the packages install: the Makefile's DKMS_TREE_FILES,
# from a built tree, without build products.
check_dkms_tree() {
	in_release all KVER="$kver"
	in_release dkms-tree DKMS_TREE="$work/dkms-tree"
	expect_eq "release: make dkms-tree DKMS_TREE=<dir> exits 0" 0 "$status"
	# The tarball's files under each DKMS_TREE_FILES entry (a file, or
	# a directory and everything in it).
	_entries=$(makefile_var DKMS_TREE_FILES | tr ' ' '\n' |
		sed 's/[.]/\\./g; s,.*,^&(/.*[^/])?$,' | paste -sd '|')
	expect_eq "release: make dkms-tree copies the release's DKMS files, no build product" \
		"$(tar -tzf "$tarball" | sed -n "s,^lkm-stack-$version/,,p" |
			grep -E "$_entries" | sort)" \
		"$(cd "$work/dkms-tree" && find . -type f | sed 's,^\./,,' | sort)"
}

check_dist() {
	in_release dist
	expect_eq "release: make dist exits 0" 0 "$status"
	expect_eq "release: make dist in the release makes the same file list" \
		"$(tar -tzf "$tarball")" \
		"$(tar -tzf "$release/dist/lkm-stack-$version.tar.gz" 2>&1)"
}

check_deb() {
	in_release deb
	expect_eq "release: make deb exits 0" 0 "$status"
	expect_success "release: make deb leaves dist/lkm-stack-dkms_${version}_all.deb" \
		test -f "$release/dist/lkm-stack-dkms_${version}_all.deb"
	expect_success "release: make deb leaves examples/addon's lkm-stack-addon-dkms .deb" \
		sh -c "ls '$release'/dist/lkm-stack-addon-dkms_*_all.deb"
}

check_rpm() {
	in_release rpm
	expect_eq "release: make rpm exits 0" 0 "$status"
	expect_success "release: make rpm leaves dist/lkm-stack-dkms-$version-1.noarch.rpm" \
		test -f "$release/dist/lkm-stack-dkms-$version-1.noarch.rpm"
	expect_success "release: make rpm leaves examples/addon's lkm-stack-addon-dkms .rpm" \
		sh -c "ls '$release'/dist/lkm-stack-addon-dkms-*.noarch.rpm"
}

# make repo: both repositories, signed (with a throwaway key here).
check_repo() {
	in_release repo
	expect_eq "release: make repo exits 0" 0 "$status"
	for f in deb/InRelease deb/Release.gpg deb/Packages rpm/repodata/repomd.xml.asc; do
		expect_success "release: make repo leaves dist/repo/$f" \
			test -f "$release/dist/repo/$f"
	done
}

check_needs_harness() {
	in_release "$1"
	expect_eq "release: make $1 says in one line that tests/ is not shipped" \
		"status 2: make $1: this source release has no tests/; run it in a git checkout of lkm-stack" \
		"status $status: $(printf '%s\n' "$out" | grep -Ev '^make(\[[0-9]+\])?: \*\*\*')"
}

# check_target NAME: run the release's target NAME the way that fits it.
check_target() {
	case " $HARNESS_TARGETS " in
	*" $1 "*)
		check_needs_harness "$1"
		return
		;;
	esac
	case $1 in
	all) check_builds ;;
	clean) check_clean ;;
	install) check_install ;;
	uninstall) check_uninstall ;;
	dkms-install | dkms-remove) check_dkms_target "$1" ;;
	dkms-tree) check_dkms_tree ;;
	dist) check_dist ;;
	deb) check_deb ;;
	rpm) check_rpm ;;
	repo) check_repo ;;
	*) fail "release: make $1" "a test for every target make help lists" \
		"none for $1: add one to tests/release/stage.sh" ;;
	esac
}

# Files outside tests/ that source a file inside it: the product and the
# release must not depend on the harness.
check_nothing_sources_tests() {
	expect_eq "no file outside tests/ sources anything in tests/" "" \
		"$(cd "$LKM_STACK_TOP" && git ls-files | grep -v '^tests/' |
			while read -r f; do
				[ -f "$f" ] || continue
				grep -HnE '^[[:space:]]*(\.|source)[[:space:]].*tests/' "$f" ||
					true
			done)"
}

section "release: the tarball from make dist is a working project"
kver=$(kernel_matrix | head -n 1)
pkgs=$(built_packages)
if ! package_built "$pkgs" dist; then
	fail "release: make dist makes the tarball to test" "status 0" \
		"status $(cat "$pkgs/dist.status"): $(cat "$pkgs/dist.log")"
	[ "${LKM_STACK_SUITE:-}" ] || summary
	exit 1
fi
tarball=$pkgs/tree/dist/lkm-stack-$version.tar.gz
mkdir -p "$work/unpacked"
tar -xzf "$tarball" -C "$work/unpacked"
expect_eq "release: the tarball ships no tests/" "" \
	"$(tar -tzf "$tarball" | grep "^lkm-stack-$version/tests/" || true)"
targets=$(help_targets)
done_targets=
expect_match "release: make help lists the targets" '^all$' "$targets"
# Build first, so clean, install and uninstall have work to do.
for target in all clean install uninstall; do
	expect_in_list "release: make help lists $target" "$target" "$targets"
done
for target in all clean install uninstall $targets; do
	case " $done_targets " in
	*" $target "*) continue ;;
	esac
	done_targets="${done_targets:-} $target"
	check_target "$target"
done
check_nothing_sources_tests

[ "${LKM_STACK_SUITE:-}" ] || summary
