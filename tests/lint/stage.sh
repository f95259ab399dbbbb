#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# "make lint": the judges the kernel and the distributions apply, each
# failing the stage on any finding:
#   - checkpatch: scripts/checkpatch.pl --strict --no-tree on src/**.[ch],
#     taken from Debian's linux-source-6.12 (cached)
#   - sparse: a C=2 kbuild run against the 6.1 and 6.12 amd64 headers
#   - W=1: compiler and modpost warnings of the W=1 builds for every
#     kernel of the matrix, Debian 12's, 13's and sid's, each built
#     with its release's compiler (once per run, tests/lib/builds.sh)
#   - lintian: the .deb "make deb" builds, and its source package: with
#     this host's lintian, and with Debian 13's (--pedantic) on those
#     built in a Debian 13 (trixie) root (cached, tests/lib/debian-root.sh)
#   - dkms: "dkms add" and "dkms build" of the package's tree print no
#     deprecation, with this host's dkms (3.0.10) and Debian 13's (3.2.2)
#   - rpmlint: the .rpm "make rpm" builds, and the spec
#   - shellcheck: every shell script in the repository
# and ends with one line per tool giving its count of findings.
set -eu
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/../lib/kernels.sh"
. "$(dirname "$0")/../lib/scratch.sh"
. "$(dirname "$0")/../lib/builds.sh"
. "$(dirname "$0")/../lib/packages.sh"
. "$(dirname "$0")/../lib/debian-root.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-lint.XXXXXX")
# remove_root unmounts what a killed chroot command left mounted first.
trap 'remove_root "$work"' EXIT
trap 'exit 1' HUP INT TERM
: "${LKM_STACK_BUILDS:=$work/builds}"
version=$(cat "$LKM_STACK_TOP/VERSION")
tally=$work/tally
: >"$tally"

TOOLS="checkpatch sparse W=1 lintian dkms rpmlint shellcheck"
LINUX_SOURCE=/usr/src/linux-source-6.12.tar.xz

# The Debian 13 root the trixie judges run in: its lintian, its dkms and
# the headers of its kernel (which bring the image and gcc-14), and what
# make deb and dpkg-source -b need there.
DEBIAN_ROOT_SUITE=trixie
TRIXIE_PACKAGES="lintian dkms linux-headers-amd64 build-essential debhelper
dh-dkms"
trixie=$work/trixie
# Where the trixie root has the packages: a scratch tree and the source
# package built from its tarball.
trixie_tree=/tmp/lkm-stack
trixie_source=/tmp/source
# Debian 13's lintian, failing on any tag it can show.
LINTIAN_PEDANTIC="--display-info --display-experimental --pedantic
--fail-on error,warning,info,pedantic,experimental"
# Debian Policy's releases as Debian 13's lintian knows them, for this
# host's lintian (lintian --include-dir reads data/ there first).
policy_data=$work/lintian-data

# How each tool's findings look in its output, one finding a line.
CHECKPATCH_FINDING=': (ERROR|WARNING|CHECK):'
SPARSE_FINDING=': (warning|error):'
W1_FINDING='warning:|WARNING:|error:|ERROR:'
LINTIAN_FINDING='^[EW]: '
LINTIAN_PEDANTIC_FINDING='^[EWIPX]: '
DKMS_FINDING='Deprecated'
RPMLINT_FINDING=': [EW]: '
SHELLCHECK_FINDING=':[0-9]+:[0-9]+: (error|warning|note):'

# judge TOOL NAME STATUS REGEX OUTPUT: count the lines of OUTPUT matching
# REGEX as findings of TOOL; the check NAME passes if there are none.  A
# run that failed without a finding counts as one, and shows all its
# output.
judge() {
	_seen=$(printf '%s\n' "$5" | grep -E -- "$4" || true)
	_findings=$(printf '%s' "$_seen" | grep -c '' || true)
	if [ "$3" -ne 0 ] && [ "$_findings" -eq 0 ]; then
		_findings=1
		_seen=$5
	fi
	echo "$1 $_findings" >>"$tally"
	if [ "$_findings" -eq 0 ]; then
		pass "$2"
	else
		fail "$2" "no findings and exit status 0" \
			"exit status $3, $_findings findings:
$_seen"
	fi
}

# lint_with TOOL NAME REGEX COMMAND...: run COMMAND and judge its output.
lint_with() {
	_tool=$1 _name=$2 _regex=$3
	shift 3
	_status=0
	_out=$("$@" 2>&1) || _status=$?
	judge "$_tool" "$_name" "$_status" "$_regex" "$_out"
}

# checkpatch_dir: print a directory holding scripts/checkpatch.pl and the
# data files it reads, extracted from the installed linux-source-6.12
# into the cache, under the package's version, on first use.
checkpatch_dir() {
	if [ ! -f "$LINUX_SOURCE" ]; then
		echo "no $LINUX_SOURCE: apt-get install linux-source-6.12" >&2
		return 1
	fi
	_version=$(dpkg-query -W -f '${Version}' linux-source-6.12)
	_dir=$LKM_STACK_CACHE/checkpatch/$_version
	if [ ! -f "$_dir/scripts/checkpatch.pl" ]; then
		echo "extracting checkpatch.pl from $LINUX_SOURCE ..." >&2
		rm -rf "$_dir.tmp"
		mkdir -p "$_dir.tmp"
		# --occurrence: stop reading the archive once all three are out.
		tar -xJf "$LINUX_SOURCE" -C "$_dir.tmp" --strip-components=1 \
			--occurrence \
			linux-source-6.12/scripts/checkpatch.pl \
			linux-source-6.12/scripts/spelling.txt \
			linux-source-6.12/scripts/const_structs.checkpatch
		rm -rf "$_dir"
		mv "$_dir.tmp" "$_dir"
	fi
	echo "$_dir"
}

# c_sources: the .c and .h files under src/, relative to the top.
c_sources() (
	cd "$LKM_STACK_TOP" && find src -name '*.[ch]' | sort
)

# checkpatch_sources: c_sources and examples/addon's, which is written to
# the same rules (it is the template for other packages' modules).
checkpatch_sources() (
	c_sources
	cd "$LKM_STACK_TOP" && find examples -name '*.[ch]' | sort
)

# run_checkpatch DIR: checkpatch.pl from DIR on checkpatch_sources, from
# the top so that its findings name the files as the repository does.
run_checkpatch() (
	cd "$LKM_STACK_TOP" &&
		checkpatch_sources | xargs -r -d '\n' perl "$1/scripts/checkpatch.pl" \
			--strict --no-tree --terse --show-types -f
)

lint_checkpatch() {
	section "lint: checkpatch --strict --no-tree on src/ and examples/"
	name="checkpatch --strict: $(checkpatch_sources | wc -l) C files under src/ and examples/"
	if ! dir=$(checkpatch_dir 2>"$work/checkpatch.err"); then
		judge checkpatch "$name" 1 "$CHECKPATCH_FINDING" \
			"$(cat "$work/checkpatch.err")"
		return
	fi
	expect_match "checkpatch: src/ has C files to check" '\.c$' \
		"$(c_sources)"
	lint_with checkpatch "$name" "$CHECKPATCH_FINDING" \
		run_checkpatch "$dir"
}

# checked_files OUTPUT: the names of the files a kbuild run's CHECK lines
# name, sorted onto one line.
checked_files() {
	printf '%s\n' "$1" | sed -n 's,^ *CHECK .*/,,p' | sort | paste -sd ' '
}

# c_files: the names of the .c files under src/, sorted onto one line.
c_files() {
	c_sources | sed -n 's,.*/\(.*\.c\)$,\1,p' | sort | paste -sd ' '
}

lint_sparse() {
	section "lint: sparse (kbuild C=2) against the sparse kernels' headers (one of each series)"
	if ! kvers=$(sparse_kernels 2>"$work/sparse-kernels.err"); then
		judge sparse "sparse: the sparse kernels" 1 "$SPARSE_FINDING" \
			"$(cat "$work/sparse-kernels.err")"
		return
	fi
	for kver in $kvers; do
		if ! ensure_headers "$kver"; then
			judge sparse "sparse $kver" 1 "$SPARSE_FINDING" \
				"no headers of $kver: run tests/install-deps"
			continue
		fi
		dir=$(matrix_build "$kver")
		# The tree is already built with W=1, so kbuild only runs
		# sparse: its output holds sparse's findings and nothing else.
		status=0
		out=$(make -C "$dir/onepass" all KVER="$kver" W=1 C=2 2>&1) ||
			status=$?
		judge sparse "sparse $kver" "$status" "$SPARSE_FINDING" "$out"
		expect_eq "sparse $kver: checked every .c file under src/" \
			"$(c_files)" "$(checked_files "$out")"
		# examples/addon, against the API saved from that build.
		status=0
		out=$(make -C "$dir/onepass/examples/addon" KVER="$kver" W=1 C=2 \
			LKM_STACK_API="$dir/addon/api" 2>&1) || status=$?
		judge sparse "sparse $kver: examples/addon" "$status" \
			"$SPARSE_FINDING" "$out"
		expect_eq "sparse $kver: checked addon_lkm.c" addon_lkm.c \
			"$(checked_files "$out")"
	done
}

lint_w1_builds() {
	section "lint: W=1 builds against every kernel of the matrix (Debian 12, Debian 13, sid)"
	if ! kvers=$(build_matrix 2>"$work/matrix.err"); then
		judge W=1 "W=1: the kernel matrix" 1 "$W1_FINDING" \
			"$kvers$(cat "$work/matrix.err")"
		return
	fi
	for kver in $kvers; do
		if ! ensure_headers "$kver"; then
			judge W=1 "W=1 $kver" 1 "$W1_FINDING" \
				"linux-headers-$kver is not installable"
			continue
		fi
		dir=$(matrix_build "$kver")
		expect_success "W=1 $kver: compiled with W=1's flags (-Wextra)" \
			grep -q -- -Wextra "$dir/onepass/src/core/.core_lkm.o.cmd"
		judge W=1 "W=1 $kver: one-pass build" \
			"$(cat "$dir/onepass.status")" "$W1_FINDING" \
			"$(cat "$dir/onepass.log")"
		judge W=1 "W=1 $kver: step-by-step build" \
			"$(cat "$dir/steps.status")" "$W1_FINDING" \
			"$(cat "$dir/steps.log")"
		judge W=1 "W=1 $kver: examples/addon's build" \
			"$(cat "$dir/addon.status")" "$W1_FINDING" \
			"$(cat "$dir/addon.log")"
	done
}

# uncommented FILE NAME: print, as NAME:LINE: TEXT, each line of FILE (a
# lintian overrides or rpmlint filter file) that no comment block right
# above it explains.
uncommented() {
	awk -v name="$2" '/^[[:space:]]*#/ { why = 1; next }
		/^[[:space:]]*$/ { why = 0; next }
		!why { print name ":" FNR ": " $0 }' "$1"
}

# judge_comments TOOL FILE...: each override in those of the files that
# exist says why.
judge_comments() {
	_tool=$1
	shift
	for _file in "$@"; do
		[ -f "$_file" ] || continue
		_rel=${_file#"$LKM_STACK_TOP"/}
		judge "$_tool" "$_tool: every override in $_rel says why" 0 . \
			"$(uncommented "$_file" "$_rel")"
	done
}

# build_source_package TARBALL DIR: unpack TARBALL (from "make dist") in
# DIR and build the Debian source package from it there.
build_source_package() {
	mkdir -p "$2"
	tar -xzf "$1" -C "$2"
	(cd "$2" && dpkg-source -b "lkm-stack-$version")
}

# host_lintian ARG...: this host's lintian, told Debian Policy's releases
# as Debian 13's lintian knows them (when lint_trixie found them): an
# older lintian calls a Standards-Version newer than it knows
# "newer-standards-version", and says to upgrade lintian.
host_lintian() {
	if [ -f "$policy_data/data/debian-policy/releases.json" ]; then
		lintian --include-dir "$policy_data" "$@"
	else
		lintian "$@"
	fi
}

lint_deb() {
	_policy=
	if [ -f "$policy_data/data/debian-policy/releases.json" ]; then
		_policy=", told Debian 13's list of Policy releases"
	fi
	section "lint: lintian $(lintian --print-version) (this host$_policy) on the .deb and the source package"
	expect_package_built "make deb (in a scratch tree)" "$pkgs" deb
	lint_with lintian "lintian lkm-stack-dkms_${version}_all.deb" \
		"$LINTIAN_FINDING" host_lintian --fail-on error,warning \
		"$pkgtree/dist/lkm-stack-dkms_${version}_all.deb"
	expect_success "dpkg-source -b (from the make dist tarball)" \
		build_source_package "$pkgtree/dist/lkm-stack-$version.tar.gz" \
		"$work/source"
	lint_with lintian "lintian lkm-stack_$version.dsc" \
		"$LINTIAN_FINDING" host_lintian --fail-on error,warning \
		"$work/source/lkm-stack_$version.dsc"
	lint_with lintian "lintian lkm-stack-addon-dkms_${addon_version}_all.deb" \
		"$LINTIAN_FINDING" host_lintian --fail-on error,warning \
		"$pkgtree/dist/lkm-stack-addon-dkms_${addon_version}_all.deb"
	judge_comments lintian "$LKM_STACK_TOP/debian/source/lintian-overrides" \
		"$LKM_STACK_TOP"/debian/*.lintian-overrides
}

# trixie_root: copy the cached trixie root (built on first use) into
# $trixie (link_root: make deb and lintian write outside /usr), saying
# how long that took; fails if it cannot be had.
trixie_root() {
	_started=$(date +%s)
	echo "Debian 13 root: $TRIXIE_PACKAGES" | paste -sd ' '
	# shellcheck disable=SC2086 # the list splits into package names
	if ! _tarball=$(debian_root_tarball $TRIXIE_PACKAGES \
		2>"$work/trixie-root.log"); then
		judge lintian "Debian 13 root with $(echo "$TRIXIE_PACKAGES" |
			paste -sd ' ')" 1 "$LINTIAN_PEDANTIC_FINDING" \
			"$(tail -n 30 "$work/trixie-root.log")"
		return 1
	fi
	_cached=$(date +%s)
	link_root "$_tarball" "$trixie"
	printf '(Debian 13 root: %ss to get %s, %ss to copy)\n' \
		"$((_cached - _started))" "$(basename "$_tarball")" \
		"$(($(date +%s) - _cached))"
}

# trixie_source_package: the source package from the tarball make deb
# left in the trixie root, built there.
trixie_source_package() {
	# shellcheck disable=SC2016 # expanded by that sh
	in_root "$trixie" sh -c 'mkdir -p "$1" && cd "$1" &&
		tar -xzf "$2" && dpkg-source -b "lkm-stack-$3"' sh \
		"$trixie_source" "$trixie_tree/dist/lkm-stack-$version.tar.gz" \
		"$version"
}

lint_trixie() {
	section "lint: lintian --pedantic (Debian 13) on the .deb and the source package"
	trixie_root || return 0
	scratch_tree "$trixie$trixie_tree"
	expect_success "Debian 13: make deb (in a scratch tree)" \
		in_root "$trixie" make -C "$trixie_tree" deb
	expect_success "Debian 13: dpkg-source -b (from the make dist tarball)" \
		trixie_source_package
	lintian_version=$(in_root "$trixie" lintian --print-version)
	# shellcheck disable=SC2086 # the options split into words
	lint_with lintian "lintian $lintian_version --pedantic lkm-stack-dkms_${version}_all.deb" \
		"$LINTIAN_PEDANTIC_FINDING" in_root "$trixie" lintian \
		$LINTIAN_PEDANTIC "$trixie_tree/dist/lkm-stack-dkms_${version}_all.deb"
	# shellcheck disable=SC2086 # the options split into words
	lint_with lintian "lintian $lintian_version --pedantic lkm-stack_$version.dsc" \
		"$LINTIAN_PEDANTIC_FINDING" in_root "$trixie" lintian \
		$LINTIAN_PEDANTIC "$trixie_source/lkm-stack_$version.dsc"
	# shellcheck disable=SC2086 # the options split into words
	lint_with lintian "lintian $lintian_version --pedantic lkm-stack-addon-dkms_${addon_version}_all.deb" \
		"$LINTIAN_PEDANTIC_FINDING" in_root "$trixie" lintian \
		$LINTIAN_PEDANTIC "$trixie_tree/dist/lkm-stack-addon-dkms_${addon_version}_all.deb"
	mkdir -p "$policy_data/data/debian-policy"
	cp "$trixie/usr/share/lintian/data/debian-policy/releases.json" \
		"$policy_data/data/debian-policy/"
}

# DKMS_ADD_BUILD VERSION KVER [DKMS-ARG...]: dkms add, then dkms build
# for KVER, of lkm-stack VERSION, as sh -c runs it.
# shellcheck disable=SC2016 # expanded by that sh
DKMS_ADD_BUILD='version=$1 kver=$2
shift 2
dkms add -m lkm-stack -v "$version" "$@" &&
	dkms build -m lkm-stack -v "$version" -k "$kver" "$@"'

# host_dkms_add_build DIR KVER SOURCETREE: DKMS_ADD_BUILD with this
# host's dkms and the sources in SOURCETREE, in a mount namespace of its
# own where DIR is /var/lib/dkms: DKMS neither reads nor changes this
# host's DKMS tree or its MOK key (it makes one on a first build).
host_dkms_add_build() {
	# shellcheck disable=SC2016 # expanded by that sh
	unshare --mount --propagation private sh -c \
		'mount --bind "$1" /var/lib/dkms && shift && sh -c "$@"' sh \
		"$1" "$DKMS_ADD_BUILD" sh "$version" "$2" --sourcetree "$3"
}

lint_dkms() {
	section "lint: dkms add + build of the package's tree, dkms 3.0.10 (this host) and 3.2.2 (Debian 13)"
	# Upstream dkms >= 3.1.8 (sid's) calls every CLEAN but CLEAN=true
	# deprecated; Debian 13's 3.2.2 keeps quiet about CLEAN.
	judge dkms "dkms.conf: CLEAN, if set, is true" 0 . \
		"$(grep -E '^[[:space:]]*CLEAN=' "$LKM_STACK_TOP/dkms.conf" |
			grep -Evx '[[:space:]]*CLEAN=("true"|true)' || true)"

	kver=$(dkms_lint_kernel)
	if [ -z "$kver" ] || ! ensure_headers "$kver"; then
		judge dkms "dkms $(dkms --version): add + build" 1 "$DKMS_FINDING" \
			"no headers of a 6.12 amd64 kernel: run scripts/install-deps"
	else
		mkdir -p "$work/dkms-host/tree"
		dpkg-deb -x "$pkgtree/dist/lkm-stack-dkms_${version}_all.deb" \
			"$work/dkms-host/package"
		lint_with dkms "$(dkms --version) (this host): add + build for $kver print no Deprecated line" \
			"$DKMS_FINDING" host_dkms_add_build "$work/dkms-host/tree" \
			"$kver" "$work/dkms-host/package/usr/src"
	fi

	[ -d "$trixie$trixie_tree" ] || return 0
	kver=$(find "$trixie/usr/src" -maxdepth 1 -name 'linux-headers-*-amd64' |
		sed 's,.*/linux-headers-,,' | sort -V | tail -n 1)
	in_root "$trixie" dpkg-deb -x \
		"$trixie_tree/dist/lkm-stack-dkms_${version}_all.deb" /
	lint_with dkms "$(in_root "$trixie" dkms --version) (Debian 13): add + build for $kver print no Deprecated line" \
		"$DKMS_FINDING" in_root "$trixie" sh -c "$DKMS_ADD_BUILD" \
		sh "$version" "$kver"
	expect_in_list "$(in_root "$trixie" dkms --version) (Debian 13): lkm-stack $version is built for $kver" \
		"lkm-stack/$version, $kver, $(uname -m): built" \
		"$(in_root "$trixie" dkms status -m lkm-stack 2>&1)"
}

lint_rpm() {
	section "lint: rpmlint on the .rpm and the spec"
	expect_package_built "make rpm (in a scratch tree)" "$pkgs" rpm
	lint_with rpmlint "rpmlint: the .rpm and lkm-stack-dkms.spec" \
		"$RPMLINT_FINDING" rpmlint \
		--rpmlintrc "$pkgtree/rpm/lkm-stack-dkms.rpmlintrc" \
		"$pkgtree/dist/lkm-stack-dkms-$version"-*.noarch.rpm \
		"$pkgtree/rpm/lkm-stack-dkms.spec"
	judge_comments rpmlint "$LKM_STACK_TOP/rpm/lkm-stack-dkms.rpmlintrc" \
		"$LKM_STACK_TOP/examples/addon/rpm/lkm-stack-addon-dkms.rpmlintrc"
	lint_with rpmlint "rpmlint: examples/addon's .rpm and lkm-stack-addon-dkms.spec" \
		"$RPMLINT_FINDING" rpmlint \
		--rpmlintrc "$pkgtree/examples/addon/rpm/lkm-stack-addon-dkms.rpmlintrc" \
		"$pkgtree/dist/lkm-stack-addon-dkms-$addon_version"-*.noarch.rpm \
		"$pkgtree/examples/addon/rpm/lkm-stack-addon-dkms.spec"
}

# is_shell_script FILE: FILE is named *.sh, or its first line is a #!
# that runs a shell or a directive telling shellcheck its shell.
is_shell_script() {
	case $1 in *.sh) return 0 ;; esac
	head -n 1 "$1" | grep -Eq \
		'^#!.*[/ ](ba|da)?sh([[:space:]]|$)|^# shellcheck shell='
}

# shell_scripts: the repository's shell scripts, tracked or new (and not
# ignored), relative to the top.
shell_scripts() (
	cd "$LKM_STACK_TOP"
	git ls-files --cached --others --exclude-standard |
		while IFS= read -r file; do
			if [ -f "$file" ] && is_shell_script "$file"; then
				echo "$file"
			fi
		done
)

# run_shellcheck: shellcheck on shell_scripts, from the top, where
# .shellcheckrc tells it to follow the files they source.
run_shellcheck() (
	cd "$LKM_STACK_TOP" && shell_scripts | xargs -r -d '\n' shellcheck -f gcc
)

lint_shellcheck() {
	section "lint: shellcheck on every shell script"
	scripts=$(shell_scripts)
	expect_match "shellcheck: the shell scripts are found (.ci/run among them)" \
		'^\.ci/run$' "$scripts"
	lint_with shellcheck \
		"shellcheck: $(printf '%s\n' "$scripts" | wc -l) shell scripts" \
		"$SHELLCHECK_FINDING" run_shellcheck
}

print_tally() {
	section "lint: findings per tool"
	for tool in $TOOLS; do
		awk -v tool="$tool" '$1 == tool { n += $2 }
			END { printf "%-11s %d findings\n", tool ":", n }' "$tally"
	done
}

lint_checkpatch
lint_sparse
lint_w1_builds
# The run's tarball, .deb and .rpm, made in a scratch tree (lib/packages.sh).
pkgs=$(built_packages)
pkgtree=$pkgs/tree
addon_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' \
	"$LKM_STACK_TOP/examples/addon/dkms.conf")
lint_trixie
lint_deb
lint_dkms
remove_root "$trixie"
lint_rpm
lint_shellcheck
print_tally

[ "${LKM_STACK_SUITE:-}" ] || summary
