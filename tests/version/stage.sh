#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Every file that carries the package version agrees with VERSION.
set -eu
. "$(dirname "$0")/../lib/scratch.sh"
cd "$LKM_STACK_TOP"
. tests/lib/report.sh

# conf_value FILE VARIABLE: VARIABLE's quoted value in the dkms.conf FILE.
conf_value() {
	sed -n "s/^$2=\"\(.*\)\"\$/\1/p" "$1"
}

section "version: every carrier agrees with VERSION"
want=$(cat VERSION)
expect_eq "dkms.conf PACKAGE_VERSION" "$want" \
	"$(conf_value dkms.conf PACKAGE_VERSION)"
expect_eq "debian/changelog newest entry" "$want" \
	"$(dpkg-parsechangelog -S Version)"
expect_eq "rpm spec Version" "$want" \
	"$(sed -n 's/^Version: *//p' rpm/lkm-stack-dkms.spec)"
expect_eq "rpm spec newest changelog entry" "$want" \
	"$(sed -n '/^%changelog/{n;s/.* - \([^ ]*\)-[0-9]*$/\1/p;q}' rpm/lkm-stack-dkms.spec)"
expect_eq "MODULE_VERSION (LKM_STACK_VERSION in the shared header)" "$want" \
	"$(sed -n 's/^#define LKM_STACK_VERSION "\(.*\)"$/\1/p' src/include/lkm_stack.h)"

# examples/addon is a project of its own, with its own version: its
# carriers agree with its dkms.conf.
section "version: examples/addon's carriers agree with its dkms.conf"
addon=examples/addon
addon_want=$(conf_value $addon/dkms.conf PACKAGE_VERSION)
expect_match "addon dkms.conf has a PACKAGE_VERSION" '^[0-9]' "$addon_want"
expect_eq "addon debian/changelog newest entry" "$addon_want" \
	"$(dpkg-parsechangelog -l $addon/debian/changelog -S Version)"
expect_eq "addon rpm spec Version" "$addon_want" \
	"$(sed -n 's/^Version: *//p' $addon/rpm/lkm-stack-addon-dkms.spec)"
expect_eq "addon rpm spec newest changelog entry" "$addon_want" \
	"$(sed -n '/^%changelog/{n;s/.* - \([^ ]*\)-[0-9]*$/\1/p;q}' $addon/rpm/lkm-stack-addon-dkms.spec)"

# The API level other packages' modules depend on: one number in the
# shared header, which the packages provide and the addon requires.
section "version: the API level agrees with LKM_STACK_API_LEVEL"
level=$(sed -n 's/^#define LKM_STACK_API_LEVEL \([0-9][0-9]*\)$/\1/p' src/include/lkm_stack.h)
expect_match "lkm_stack.h defines LKM_STACK_API_LEVEL" '^[0-9]+$' "$level"
expect_eq "debian/control Provides" "lkm-stack-api-$level" \
	"$(sed -n 's/^Provides: *//p' debian/control)"
expect_eq "rpm spec Provides" "lkm-stack-api = $level" \
	"$(sed -n 's/^Provides: *//p' rpm/lkm-stack-dkms.spec)"
expect_match "addon debian/control Depends on it" \
	"(^|, )lkm-stack-api-$level(,|\$)" \
	"$(sed -n 's/^Depends: *//p' $addon/debian/control)"
expect_eq "addon rpm spec Requires and Requires(posttrans) it" \
	"lkm-stack-api = $level
lkm-stack-api = $level" \
	"$(sed -n 's/^Requires\(([a-z]*)\)\{0,1\}: *\(lkm-stack-api.*\)/\2/p' $addon/rpm/lkm-stack-addon-dkms.spec)"

# dkms.conf declares the kernels it is for (BUILD_EXCLUSIVE_KERNEL_MIN and
# _MAX); README.md quotes both, and nothing else of the kind.
section "version: README.md states dkms.conf's kernel range"
kmin=$(conf_value dkms.conf BUILD_EXCLUSIVE_KERNEL_MIN)
kmax=$(conf_value dkms.conf BUILD_EXCLUSIVE_KERNEL_MAX)
expect_match "dkms.conf has BUILD_EXCLUSIVE_KERNEL_MIN" '^[0-9]+\.[0-9]+$' "$kmin"
expect_match "dkms.conf has BUILD_EXCLUSIVE_KERNEL_MAX" '^[0-9]+\.[0-9]+$' "$kmax"
expect_eq "README.md: kernels from $kmin to $kmax" \
	"BUILD_EXCLUSIVE_KERNEL_MIN=\"$kmin\" BUILD_EXCLUSIVE_KERNEL_MAX=\"$kmax\"" \
	"$(grep -o 'BUILD_EXCLUSIVE_KERNEL_M[A-Z]*="[^"]*"' README.md | paste -sd ' ' -)"

# The Makefile keeps the list of kbuild's products (make clean, make dist,
# make dkms-tree and the tests' scratch copies use it); .gitignore must
# ignore every one of them.
section "version: the copies of the build-product list agree"
ignored=$(sed 's,/$,,' .gitignore)
set -f
for pattern in $(makefile_var BUILD_PRODUCTS); do
	expect_in_list ".gitignore ignores the Makefile's build product $pattern" \
		"$pattern" "$ignored"
done
set +f

[ "${LKM_STACK_SUITE:-}" ] || summary
