#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The release artefacts: the source tarball, the .deb and the .rpm hold
# what they should and declare the right dependencies and scripts.
# (lintian and rpmlint judge them in the lint stage.)
set -eu
. "$(dirname "$0")/lib/report.sh"
. "$(dirname "$0")/lib/scratch.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-packages.XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$(cat "$LKM_STACK_TOP/VERSION")
srcdir=usr/src/lkm-stack-$version

# The files a DKMS source tree needs, as paths relative to it.
DKMS_TREE_FILES="dkms.conf Makefile VERSION src/Kbuild src/kernel.mk
src/include/lkm_stack.h src/core/Kbuild src/core/core_lkm.c
src/client/Kbuild src/client/client_lkm.c"

check_tarball() {
	tarball=$work/tree/dist/lkm-stack-$version.tar.gz
	expect_success "make dist" make -C "$work/tree" dist
	list=$(tar -tzf "$tarball")
	for f in $DKMS_TREE_FILES debian/control rpm/lkm-stack-dkms.spec LICENSE; do
		expect_in_list "tarball has $f" "lkm-stack-$version/$f" "$list"
	done
	expect_no_match "tarball has no build products" \
		'\.(o|ko|mod|cmd)$|Module\.symvers' "$list"
}

check_deb() {
	deb=$work/tree/dist/lkm-stack-dkms_${version}_all.deb
	expect_success "make deb" make -C "$work/tree" deb
	expect_eq "deb Package" lkm-stack-dkms "$(dpkg-deb -f "$deb" Package)"
	expect_eq "deb Architecture" all "$(dpkg-deb -f "$deb" Architecture)"
	expect_match "deb Depends on dkms" '(^|, )dkms( |,|$)' \
		"$(dpkg-deb -f "$deb" Depends)"
	expect_match "deb Recommends kernel headers" 'linux-headers' \
		"$(dpkg-deb -f "$deb" Recommends)"
	list=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's,^\./,,')
	for f in $DKMS_TREE_FILES; do
		expect_in_list "deb installs /$srcdir/$f" "$srcdir/$f" "$list"
	done
	dpkg-deb -e "$deb" "$work/control"
	expect_match "deb postinst builds for every installed kernel" \
		'^[[:space:]]*/usr/lib/lkm-stack/dkms-install-all-kernels' \
		"$(cat "$work/control/postinst")"
	# shellcheck disable=SC2016 # matches prerm's literal $DKMS_NAME
	expect_match "deb prerm removes the version from all kernels" \
		'dkms remove -m \$DKMS_NAME -v \$DKMS_VERSION --all' \
		"$(cat "$work/control/prerm")"
	expect_match "deb prerm names lkm-stack $version" \
		"^DKMS_VERSION=$version\$" "$(cat "$work/control/prerm")"
}

check_rpm() {
	rpmfile=$work/tree/dist/lkm-stack-dkms-$version-1.noarch.rpm
	expect_success "make rpm" make -C "$work/tree" rpm
	expect_in_list "rpm Requires dkms" dkms \
		"$(rpm -qp --requires "$rpmfile" 2>/dev/null)"
	expect_eq "rpm is noarch" noarch "$(rpm -qp --qf '%{ARCH}' "$rpmfile" 2>/dev/null)"
	list=$(rpm -qpl "$rpmfile" 2>/dev/null)
	for f in $DKMS_TREE_FILES; do
		expect_in_list "rpm installs /$srcdir/$f" "/$srcdir/$f" "$list"
	done
	scripts=$(rpm -qp --scripts "$rpmfile" 2>/dev/null)
	expect_match "rpm %preun removes the version from all kernels" \
		"dkms remove -m lkm-stack -v $version --all" "$scripts"
	expect_match "rpm %posttrans builds for every installed kernel" \
		"dkms-install-all-kernels $version" "$scripts"
}

check_dpkg_buildpackage_in_tree() {
	mkdir -p "$work/inplace"
	scratch_tree "$work/inplace/lkm-stack"
	expect_success "dpkg-buildpackage -us -uc -b in the tree" \
		sh -c "cd '$work/inplace/lkm-stack' && dpkg-buildpackage -us -uc -b"
	expect_success "... leaves ../lkm-stack-dkms_${version}_all.deb" \
		test -f "$work/inplace/lkm-stack-dkms_${version}_all.deb"
}

section "packages: source tarball, .deb and .rpm"
scratch_tree "$work/tree"
check_tarball
check_deb
check_rpm
check_dpkg_buildpackage_in_tree

[ "${LKM_STACK_SUITE:-}" ] || summary
