#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The release artefacts: the source tarball, the .deb and the .rpm hold
# what they should and declare the right dependencies and scripts.
# (lintian and rpmlint judge them in the lint stage.)  They are the run's
# (tests/lib/packages.sh), which later stages use too; the checks of make
# deb and make rpm failing for want of tools run in a tree of their own.
set -eu
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/../lib/scratch.sh"
. "$(dirname "$0")/../lib/packages.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-packages.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Under tests/run the packages are the run's; alone, this stage's own.
: "${LKM_STACK_BUILDS:=$work/builds}"
version=$(cat "$LKM_STACK_TOP/VERSION")
srcdir=usr/src/lkm-stack-$version

# The files a DKMS source tree needs, as paths relative to it.
DKMS_TREE_FILES="dkms.conf Makefile VERSION src/Kbuild src/kernel.mk
src/include/lkm_stack.h src/core/Kbuild src/core/core_lkm.c
src/client/Kbuild src/client/client_lkm.c scripts/lkm-stack-api"
# examples/addon's, in its own DKMS tree (/usr/src/lkm-stack-addon-VERSION).
ADDON_TREE_FILES="dkms.conf Kbuild Makefile addon_lkm.c"

check_tarball() {
	tarball=$pkgs/tree/dist/lkm-stack-$version.tar.gz
	expect_package_built "make dist" "$pkgs" dist
	list=$(tar -tzf "$tarball")
	for f in $DKMS_TREE_FILES debian/control debian/tests/control \
		debian/tests/stacked-load rpm/lkm-stack-dkms.spec LICENSE; do
		expect_in_list "tarball has $f" "lkm-stack-$version/$f" "$list"
	done
	expect_no_match "tarball has no build products" \
		'\.(o|ko|mod|cmd)$|Module\.symvers' "$list"
}

check_deb() {
	deb=$pkgs/tree/dist/lkm-stack-dkms_${version}_all.deb
	expect_package_built "make deb" "$pkgs" deb
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

# requires_for CONTEXT RPM: the names RPM requires for CONTEXT (post,
# preun, posttrans...: the parenthesis of Requires(CONTEXT)), one a line.
requires_for() {
	# shellcheck disable=SC2016 # an rpm query format, not the shell's
	rpm -qp --qf '[%{REQUIREFLAGS:deptype} %{REQUIRENAME}\n]' "$2" \
		2>/dev/null |
		awk -v context="$1" '{ n = split($1, c, ",")
			for (i = 1; i <= n; i++) if (c[i] == context) print $2 }'
}

# scriptlet NAME RPM: the body of RPM's scriptlet NAME (preuninstall,
# posttrans...) as rpm -qp --scripts prints it.
scriptlet() {
	rpm -qp --scripts "$2" 2>/dev/null |
		awk -v name="$1" '/^[a-z]+ scriptlet( \(using [^)]*\))?:$/ {
			on = ($1 == name); next } on'
}

# run_scriptlet SCRIPT ARG DKMS-STATUS: run SCRIPT with $1 = ARG (as rpm
# does) and a stand-in dkms on PATH that exits DKMS-STATUS; print its
# exit status and then each dkms command line it ran.
run_scriptlet() {
	_fake=$work/fake-dkms
	mkdir -p "$_fake"
	: >"$_fake/log"
	printf '#!/bin/sh\necho "dkms $*" >>"%s/log"\nexit %s\n' \
		"$_fake" "$3" >"$_fake/dkms"
	chmod 755 "$_fake/dkms"
	_status=0
	PATH=$_fake:$PATH sh -c "$1" scriptlet "$2" >/dev/null 2>&1 || _status=$?
	echo "exit $_status"
	cat "$_fake/log"
}

# check_rpm_scriptlet_dependencies RPM: the scriptlets' dkms is declared
# for each of them, and %preun tells an erase from an upgrade by $1 yet
# removes this version in both: on an upgrade its sources go next and the
# new package's %posttrans builds the new (or same, rebuilt) version.
check_rpm_scriptlet_dependencies() {
	for context in post posttrans preun; do
		expect_in_list "rpm Requires($context): dkms" dkms \
			"$(requires_for "$context" "$1")"
	done
	preun=$(scriptlet preuninstall "$1")
	expect_match "rpm %preun tests \$1 (0 = erase, 1 or more = upgrade)" \
		'(\[|test) .*"?\$\{?1\}?"? +-(eq|ne|gt|ge|lt|le) ' "$preun"
	removal="dkms remove -m lkm-stack -v $version --all"
	expect_eq "rpm %preun, erase (\$1 = 0): runs $removal" \
		"exit 0
$removal" "$(run_scriptlet "$preun" 0 0)"
	expect_eq "rpm %preun, upgrade (\$1 = 1): runs $removal" \
		"exit 0
$removal" "$(run_scriptlet "$preun" 1 0)"
	expect_eq "rpm %preun exits 0 when dkms remove fails" \
		"exit 0
$removal" "$(run_scriptlet "$preun" 0 1)"
}

check_rpm() {
	rpmfile=$pkgs/tree/dist/lkm-stack-dkms-$version-1.noarch.rpm
	expect_package_built "make rpm" "$pkgs" rpm
	expect_in_list "rpm Requires dkms" dkms \
		"$(rpm -qp --requires "$rpmfile" 2>/dev/null)"
	check_rpm_scriptlet_dependencies "$rpmfile"
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

# path_without DIR TOOL...: fill DIR with links to every command on PATH
# (the one PATH finds first) but TOOLs, for a PATH that lacks them.
path_without() {
	_dir=$1
	shift
	mkdir -p "$_dir"
	for _bindir in $(printf '%s' "$PATH" | tr ':' ' '); do
		for _cmd in "$_bindir"/*; do
			_name=${_cmd##*/}
			case " $* " in *" $_name "*) continue ;; esac
			if [ -x "$_cmd" ] && [ ! -e "$_dir/$_name" ]; then
				ln -s "$_cmd" "$_dir/$_name"
			fi
		done
	done
}

# error_lines OUTPUT: the lines of OUTPUT that report an error, but
# make's own note that a recipe failed.
error_lines() {
	printf '%s\n' "$1" | grep -i 'error' | grep -v '^make\(\[[0-9]*\]\)\{0,1\}: \*\*\*' ||
		true
}

# check_missing_tools_named: with nothing installed (a scratch dpkg
# database whose status file is empty, which build-deb reads through
# DPKG_ADMINDIR), make deb stops before dpkg-buildpackage with one line
# naming every package; without dpkg-dev's tools the line names dpkg-dev
# too; without rpmbuild, build-rpm names the package that has it.
check_missing_tools_named() {
	mkdir -p "$work/dpkg-empty"
	: >"$work/dpkg-empty/status"
	status=0
	out=$(DPKG_ADMINDIR=$work/dpkg-empty make -C "$work/tree" deb 2>&1) ||
		status=$?
	expect_eq "make deb, nothing installed: one error line names build-essential, debhelper, dh-dkms" \
		"error: building the .deb needs: apt-get install build-essential debhelper dh-dkms" \
		"$(error_lines "$out")"
	expect_no_match "make deb, nothing installed: dpkg-buildpackage does not start" \
		'dpkg-buildpackage|dpkg-source|dh ' "$out"
	expect_eq "make deb, nothing installed: make fails (status 2)" 2 "$status"

	path_without "$work/path-no-dpkg-dev" dpkg-buildpackage dpkg-checkbuilddeps
	out=$(PATH=$work/path-no-dpkg-dev DPKG_ADMINDIR=$work/dpkg-empty \
		make -C "$work/tree" deb 2>&1) || true
	expect_eq "make deb, nothing installed, no dpkg-dev tools: one error line names dpkg-dev too" \
		"error: building the .deb needs: apt-get install dpkg-dev build-essential debhelper dh-dkms" \
		"$(error_lines "$out")"

	path_without "$work/path-no-rpmbuild" rpmbuild
	status=0
	out=$(PATH=$work/path-no-rpmbuild "$work/tree/scripts/build-rpm" \
		"$pkgs/tree/dist/lkm-stack-$version.tar.gz" "$work/tree/dist" 2>&1) ||
		status=$?
	expect_eq "build-rpm without rpmbuild on PATH: one line names the package (Debian: rpm)" \
		"error: building the .rpm needs: apt-get install rpm (status 1)" \
		"$out (status $status)"
	# The spec's BuildRequires (without versions), and the Fedora
	# packages build-rpm checks for.
	build_requires=$(sed -n 's/^BuildRequires:[[:space:]]*//p' \
		"$work/tree/rpm/lkm-stack-dkms.spec" | tr ',' '\n' | awk 'NF { print $1 }')
	checked=$(sed -n '/^BUILD_TOOLS="/,/"$/p' "$work/tree/scripts/build-rpm" |
		tr -d '"' | awk '{ print $3 }')
	for package in $build_requires; do
		expect_in_list "build-rpm checks for the spec's BuildRequires: $package" \
			"$package" "$checked"
	done
}

# check_addon_packages: make deb and make rpm also leave examples/addon's
# packages in dist/: each installs the addon's DKMS tree, depends on the
# API level the core's package provides, builds through the core's helper
# and removes its version from DKMS.
check_addon_packages() {
	addon_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' \
		"$LKM_STACK_TOP/examples/addon/dkms.conf")
	addon_src=usr/src/lkm-stack-addon-$addon_version
	level=$(sed -n 's/^#define LKM_STACK_API_LEVEL \([0-9]*\)$/\1/p' \
		"$LKM_STACK_TOP/src/include/lkm_stack.h")
	core_deb=$pkgs/tree/dist/lkm-stack-dkms_${version}_all.deb
	core_rpm=$pkgs/tree/dist/lkm-stack-dkms-$version-1.noarch.rpm

	deb=$pkgs/tree/dist/lkm-stack-addon-dkms_${addon_version}_all.deb
	expect_success "make deb leaves lkm-stack-addon-dkms_${addon_version}_all.deb" \
		test -f "$deb"
	expect_match "deb lkm-stack-dkms Provides lkm-stack-api-$level" \
		"(^|, )lkm-stack-api-$level(,|\$)" "$(dpkg-deb -f "$core_deb" Provides)"
	expect_match "addon deb Depends on lkm-stack-api-$level" \
		"(^|, )lkm-stack-api-$level(,|\$)" "$(dpkg-deb -f "$deb" Depends 2>&1)"
	list=$(dpkg-deb -c "$deb" 2>&1 | awk '{ print $6 }' | sed 's,^\./,,')
	for f in $ADDON_TREE_FILES; do
		expect_in_list "addon deb installs /$addon_src/$f" "$addon_src/$f" "$list"
	done
	rm -rf "$work/addon-control"
	dpkg-deb -e "$deb" "$work/addon-control" 2>/dev/null || true
	expect_match "addon deb postinst builds through lkm-stack's helper" \
		'^[[:space:]]*/usr/lib/lkm-stack/dkms-install-all-kernels' \
		"$(cat "$work/addon-control/postinst" 2>&1)"
	# shellcheck disable=SC2016 # matches prerm's literal $DKMS_NAME
	expect_match "addon deb prerm removes its version from all kernels" \
		'dkms remove -m \$DKMS_NAME -v \$DKMS_VERSION --all' \
		"$(cat "$work/addon-control/prerm" 2>&1)"

	rpmfile=$pkgs/tree/dist/lkm-stack-addon-dkms-$addon_version-1.noarch.rpm
	expect_success "make rpm leaves lkm-stack-addon-dkms-$addon_version-1.noarch.rpm" \
		test -f "$rpmfile"
	expect_in_list "rpm lkm-stack-dkms Provides lkm-stack-api = $level" \
		"lkm-stack-api = $level" "$(rpm -qp --provides "$core_rpm" 2>/dev/null)"
	expect_in_list "addon rpm Requires lkm-stack-api = $level" \
		"lkm-stack-api = $level" "$(rpm -qp --requires "$rpmfile" 2>/dev/null)"
	expect_in_list "addon rpm Requires(posttrans): lkm-stack-api (its helper)" \
		lkm-stack-api "$(requires_for posttrans "$rpmfile")"
	expect_in_list "addon rpm Requires(preun): dkms" dkms \
		"$(requires_for preun "$rpmfile")"
	list=$(rpm -qpl "$rpmfile" 2>/dev/null)
	for f in $ADDON_TREE_FILES; do
		expect_in_list "addon rpm installs /$addon_src/$f" "/$addon_src/$f" "$list"
	done
	expect_eq "addon rpm %preun removes its version from all kernels" \
		"exit 0
dkms remove -m lkm-stack-addon -v $addon_version --all" \
		"$(run_scriptlet "$(scriptlet preuninstall "$rpmfile")" 0 0)"
	expect_match "addon rpm %posttrans builds through lkm-stack's helper" \
		"/lkm-stack/dkms-install-all-kernels lkm-stack-addon/$addon_version" \
		"$(scriptlet posttrans "$rpmfile")"
}

# check_example_outputs_left_out: what an example's own make deb left in
# its tree goes into no tarball, and make clean removes it.
check_example_outputs_left_out() {
	_tree=$work/example-outputs
	scratch_tree "$_tree"
	mkdir -p "$_tree/examples/addon/dist"
	: >"$_tree/examples/addon/dist/lkm-stack-addon-dkms_0_all.deb"
	expect_success "make dist with examples/addon/dist present" \
		make -s -C "$_tree" dist
	expect_no_match "tarball has no examples/addon/dist" 'examples/addon/dist' \
		"$(tar -tzf "$_tree/dist/lkm-stack-$version.tar.gz")"
	make -s -C "$_tree" clean
	expect_success "make clean removes examples/addon/dist" \
		test ! -e "$_tree/examples/addon/dist"
}

# The capabilities autopkgtest 5.28's virt servers declare: -qemu's (a
# machine of its own) and -unshare's (a chroot sharing the host's kernel).
QEMU_TESTBED_CAPS="isolation-machine reboot revert revert-full-system root-on-testbed"
UNSHARE_TESTBED_CAPS="revert revert-full-system root-on-testbed"

# dep8_plan CAPS: what autopkgtest would run of the tarball's tests on a
# testbed with CAPS (tests/packages/dep8-plan, autopkgtest's own parser).
dep8_plan() {
	# shellcheck disable=SC2086 # the capabilities split into words
	"$LKM_STACK_TOP/tests/packages/dep8-plan" "$work/src/lkm-stack-$version" $1 2>&1
}

# Issue 17, item 3: the source package declares Debian's generic DKMS
# test and adds the project's own; autopkgtest runs the latter only on a
# testbed that is a machine of its own.  (The guest of the lifecycle
# stage's step 7 runs debian/tests/stacked-load itself.)
check_autopkgtest_declared() {
	mkdir -p "$work/src"
	tar -xzf "$pkgs/tree/dist/lkm-stack-$version.tar.gz" -C "$work/src"
	_src=$work/src/lkm-stack-$version
	expect_eq "debian/control Testsuite" autopkgtest-pkg-dkms \
		"$(sed -n 's/^Testsuite: *//p' "$_src/debian/control")"
	expect_success "tarball's debian/tests/stacked-load is executable" \
		test -x "$_src/debian/tests/stacked-load"
	_plan=$(dep8_plan "$QEMU_TESTBED_CAPS")
	expect_in_list "autopkgtest on a QEMU testbed runs stacked-load, as root, machine-isolated, with lkm-stack-dkms" \
		"run stacked-load: restrictions isolation-machine needs-root; depends lkm-stack-dkms, linux-headers-amd64 [amd64] | linux-headers-generic" \
		"$_plan"
	expect_match "autopkgtest on a QEMU testbed runs autodep8's dkms-autopkgtest" \
		'^run dkms-autopkgtest: .*needs-root.*; depends dkms, linux-doc' "$_plan"
	_plan=$(dep8_plan "$UNSHARE_TESTBED_CAPS")
	expect_match "autopkgtest in a container skips stacked-load: it needs machine-level isolation" \
		'^skip stacked-load: .*"isolation-machine"' "$_plan"
	expect_match "autopkgtest in a container still runs dkms-autopkgtest (it only builds)" \
		'^run dkms-autopkgtest: ' "$_plan"
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
pkgs=$(built_packages)
# For make deb and build-rpm without the tools they need.
scratch_tree "$work/tree"
check_tarball
check_deb
check_autopkgtest_declared
check_rpm
check_addon_packages
check_example_outputs_left_out
check_missing_tools_named
check_dpkg_buildpackage_in_tree

[ "${LKM_STACK_SUITE:-}" ] || summary
