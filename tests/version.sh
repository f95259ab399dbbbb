#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Every file that carries the package version agrees with VERSION.
set -eu
cd "$(dirname "$0")/.."
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

[ "${LKM_STACK_SUITE:-}" ] || summary
