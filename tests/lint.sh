#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# "make lint": the judges the kernel and the distributions apply, each
# failing the stage on any finding:
#   - checkpatch: scripts/checkpatch.pl --strict --no-tree on src/**.[ch],
#     taken from Debian's linux-source-6.12 (cached)
#   - sparse: a C=2 kbuild run against the 6.1 and 6.12 amd64 headers
#   - W=1: compiler and modpost warnings of the W=1 builds for every
#     kernel of the matrix (built once per run, tests/lib/builds.sh)
#   - lintian: the .deb "make deb" builds, and its source package
#   - rpmlint: the .rpm "make rpm" builds, and the spec
#   - shellcheck: every shell script in the repository
# and ends with one line per tool giving its count of findings.
set -eu
. "$(dirname "$0")/lib/report.sh"
. "$(dirname "$0")/lib/kernels.sh"
. "$(dirname "$0")/lib/scratch.sh"
. "$(dirname "$0")/lib/builds.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-lint.XXXXXX")
trap 'rm -rf "$work"' EXIT
: "${LKM_STACK_BUILDS:=$work/builds}"
version=$(cat "$LKM_STACK_TOP/VERSION")
tally=$work/tally
: >"$tally"
# A scratch tree for "make deb" and "make rpm".
pkgtree=$work/packages

TOOLS="checkpatch sparse W=1 lintian rpmlint shellcheck"
LINUX_SOURCE=/usr/src/linux-source-6.12.tar.xz

# How each tool's findings look in its output, one finding a line.
CHECKPATCH_FINDING=': (ERROR|WARNING|CHECK):'
SPARSE_FINDING=': (warning|error):'
W1_FINDING='warning:|WARNING:|error:|ERROR:'
LINTIAN_FINDING='^[EW]: '
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

# run_checkpatch DIR: checkpatch.pl from DIR on c_sources, from the top
# so that its findings name the files as the repository does.
run_checkpatch() (
	cd "$LKM_STACK_TOP" &&
		c_sources | xargs -r -d '\n' perl "$1/scripts/checkpatch.pl" \
			--strict --no-tree --terse --show-types -f
)

lint_checkpatch() {
	section "lint: checkpatch --strict --no-tree on src/"
	name="checkpatch --strict: $(c_sources | wc -l) C files under src/"
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
	section "lint: sparse (kbuild C=2) against the 6.1 and 6.12 amd64 headers"
	for series in 6.1 6.12; do
		kver=$(newest_kernel "$series" amd64)
		if [ -z "$kver" ] || ! ensure_headers "$kver"; then
			judge sparse "sparse $series amd64" 1 "$SPARSE_FINDING" \
				"no headers of a $series amd64 kernel: run tests/install-deps"
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
	done
}

lint_w1_builds() {
	section "lint: W=1 builds against every kernel of the matrix"
	if ! kvers=$(kernel_matrix 2>&1); then
		judge W=1 "W=1: the kernel matrix" 1 "$W1_FINDING" "$kvers"
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

lint_deb() {
	section "lint: lintian on the .deb and the source package"
	expect_success "make deb (in a scratch tree)" make -C "$pkgtree" deb
	lint_with lintian "lintian lkm-stack-dkms_${version}_all.deb" \
		"$LINTIAN_FINDING" lintian --fail-on error,warning \
		"$pkgtree/dist/lkm-stack-dkms_${version}_all.deb"
	expect_success "dpkg-source -b (from the make dist tarball)" \
		build_source_package "$pkgtree/dist/lkm-stack-$version.tar.gz" \
		"$work/source"
	lint_with lintian "lintian lkm-stack_$version.dsc" \
		"$LINTIAN_FINDING" lintian --fail-on error,warning \
		"$work/source/lkm-stack_$version.dsc"
	judge_comments lintian "$LKM_STACK_TOP/debian/source/lintian-overrides" \
		"$LKM_STACK_TOP"/debian/*.lintian-overrides
}

lint_rpm() {
	section "lint: rpmlint on the .rpm and the spec"
	expect_success "make rpm (in a scratch tree)" make -C "$pkgtree" rpm
	lint_with rpmlint "rpmlint: the .rpm and lkm-stack-dkms.spec" \
		"$RPMLINT_FINDING" rpmlint \
		--rpmlintrc "$pkgtree/rpm/lkm-stack-dkms.rpmlintrc" \
		"$pkgtree/dist/lkm-stack-dkms-$version"-*.noarch.rpm \
		"$pkgtree/rpm/lkm-stack-dkms.spec"
	judge_comments rpmlint "$LKM_STACK_TOP/rpm/lkm-stack-dkms.rpmlintrc"
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
scratch_tree "$pkgtree"
lint_deb
lint_rpm
lint_shellcheck
print_tally

[ "${LKM_STACK_SUITE:-}" ] || summary
