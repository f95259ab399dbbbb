# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# The release artefacts of this tree (the source tarball, the .deb and the
# .rpm), made at most once per test run: the packages stage checks them,
# the release stage unpacks the tarball, the lint stage judges the .deb
# and the .rpm and the lifecycle stage installs them, so "make check"
# builds each once, while a stage run on its own still builds what it
# needs.  Like tests/lib/builds.sh, whose LKM_STACK_BUILDS directory they
# are kept in.  Needs report.sh and scratch.sh.
#
# The checks about "make deb" and "make rpm" themselves (missing tools, a
# dpkg-buildpackage in the tree, the upgrade package of a higher version,
# Debian 13's own make deb) still run make in trees of their own.

# built_packages: print the directory holding this run's packages, making
# them first if this run has not:
#   tree/     a scratch tree after "make dist", "make deb" and "make rpm",
#             so tree/dist/ holds lkm-stack-VERSION.tar.gz,
#             lkm-stack-dkms_VERSION_all.deb and the .noarch.rpm, and
#             examples/addon's (lkm-stack-addon-dkms: .deb, .rpm, tarball)
# with each target's output in TARGET.log and make's exit status in
# TARGET.status (dist.*, deb.*, rpm.*).  The stages only read them.
built_packages() {
	_pkgs=${LKM_STACK_BUILDS:?}/packages
	# Under a lock: two stages in lanes side by side (tests/run) may
	# both ask first; the second waits for the first's packages.
	mkdir -p "${LKM_STACK_BUILDS:?}"
	exec 8>"$LKM_STACK_BUILDS/packages.lock"
	flock 8
	if [ ! -f "$_pkgs/rpm.status" ]; then
		echo "building the tarball, the .deb and the .rpm ..." >&2
		rm -rf "$_pkgs"
		mkdir -p "$_pkgs"
		scratch_tree "$_pkgs/tree"
		for _target in dist deb rpm; do
			_status=0
			make -C "$_pkgs/tree" "$_target" >"$_pkgs/$_target.log" 2>&1 ||
				_status=$?
			echo "$_status" >"$_pkgs/$_target.status"
		done
	fi
	exec 8>&-
	echo "$_pkgs"
}

# package_built DIR TARGET: "make TARGET" (dist, deb, rpm) exited 0 when
# built_packages made DIR.
package_built() {
	[ "$(cat "$1/$2.status")" = 0 ]
}

# expect_package_built NAME DIR TARGET: the check NAME that "make TARGET"
# of built_packages's DIR exited 0, failing as expect_success does (with
# make's status and output).
expect_package_built() {
	if package_built "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "exit status 0 from: make -C $2/tree $3" \
			"status $(cat "$2/$3.status"): $(cat "$2/$3.log")"
	fi
}
