#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Every file that carries the package version agrees with VERSION.
set -eu
. "$(dirname "$0")/../lib/scratch.sh"
cd "$LKM_STACK_TOP"
. tests/lib/report.sh

section "version: every carrier agrees with VERSION"
want=$(cat VERSION)
expect_eq "dkms.conf PACKAGE_VERSION" "$want" \
	"$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)"
expect_eq "debian/changelog newest entry" "$want" \
	"$(dpkg-parsechangelog -S Version)"
expect_eq "rpm spec Version" "$want" \
	"$(sed -n 's/^Version: *//p' rpm/lkm-stack-dkms.spec)"
expect_eq "rpm spec newest changelog entry" "$want" \
	"$(sed -n '/^%changelog/{n;s/.* - \([^ ]*\)-[0-9]*$/\1/p;q}' rpm/lkm-stack-dkms.spec)"
expect_eq "MODULE_VERSION (LKM_STACK_VERSION in the shared header)" "$want" \
	"$(sed -n 's/^#define LKM_STACK_VERSION "\(.*\)"$/\1/p' src/include/lkm_stack.h)"

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
