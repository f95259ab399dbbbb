#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The developer tools that install what they lack (tests/install-deps,
# make demo) wait for another apt or dpkg instead of stopping at "Could
# not get lock", and say who holds the lock when it never frees.  The
# lock is a scratch dpkg database's (a copy of this machine's status),
# held by a python3 fcntl lock as apt and dpkg take it, so nothing here
# touches the machine's own package state.
#
# And the kernel choices of tests/kernel-matrix, make demo and make bench
# follow the host's release: run on a Debian 13 host, they pick Debian
# 13's kernels.  That host is a chroot into a fresh copy of the cached
# Debian 13 minbase root (tests/lib/debian-root.sh) whose own apt has
# Debian 13's package lists (those of tests/lib/releases.sh's trixie apt
# state, copied in), with a copy of this tree.
set -eu
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/../lib/apt.sh"
. "$(dirname "$0")/../lib/kernels.sh"
. "$(dirname "$0")/../lib/releases.sh"
. "$(dirname "$0")/../lib/debian-root.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-tools.XXXXXX")
holder=
cleanup() {
	[ -z "$holder" ] || kill "$holder" 2>/dev/null || true
	remove_root "$work"
}
trap cleanup EXIT
LKM_STACK_DPKG_ADMINDIR=$work/dpkg
export LKM_STACK_DPKG_ADMINDIR
mkdir -p "$LKM_STACK_DPKG_ADMINDIR"
cp /var/lib/dpkg/status "$LKM_STACK_DPKG_ADMINDIR/status"
# A package this machine has: installing it again needs the lock, then
# finds nothing to do.
PACKAGE=kmod

# hold_lock SECONDS: hold the scratch database's frontend lock that long,
# in the background ($holder); returns once it is held.
hold_lock() {
	python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "w")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[1] + ".held", "w").close()
time.sleep(float(sys.argv[2]))
' "$LKM_STACK_DPKG_ADMINDIR/lock-frontend" "$1" &
	holder=$!
	while [ ! -e "$LKM_STACK_DPKG_ADMINDIR/lock-frontend.held" ]; do
		sleep 0.1
	done
}

release_lock() {
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	holder=
	rm -f "$LKM_STACK_DPKG_ADMINDIR/lock-frontend.held"
}

# A lock released after 4 s: apt waits for it, says so, and goes on.
check_waits_for_lock() {
	hold_lock 4
	start=$(date +%s)
	status=0
	out=$(LKM_STACK_APT_LOCK_TIMEOUT=60 apt_get_waiting install -y -q \
		"$PACKAGE" 2>&1) || status=$?
	took=$(($(date +%s) - start))
	release_lock
	expect_eq "tools: apt_get_waiting goes on once the lock frees" 0 \
		"$status"
	expect_match "tools: apt_get_waiting says whose lock it waits for" \
		"^waiting up to 60 s for dpkg's lock, held by process [0-9]+ \\(python3\\)" \
		"$out"
	expect_match "tools: apt_get_waiting waited for the lock (3-59 s)" \
		'^([3-9]|[1-5][0-9])$' "$took"
}

# A lock that outlasts the timeout: one error line names its holder.
check_names_holder() {
	hold_lock 60
	status=0
	out=$(LKM_STACK_APT_LOCK_TIMEOUT=2 apt_get_waiting install -y -q \
		"$PACKAGE" 2>&1) || status=$?
	pid=$holder
	release_lock
	expect_match "tools: apt_get_waiting fails when the lock never frees" \
		'^[1-9][0-9]*$' "$status"
	expect_match "tools: ... in one line naming the process that holds it" \
		"^error: dpkg's lock is still held by process $pid \\(python3\\) after 2 s" \
		"$out"
}

# Every apt-get run of the tools that install goes through the wrapper.
check_tools_use_wrapper() {
	for tool in tests/install-deps tests/demo/demo; do
		# Messages in double quotes may name apt-get; commands may not.
		expect_eq "tools: $tool runs apt-get only through apt_get_waiting" "" \
			"$(sed 's/"[^"]*"//g; s/#.*//' "$top/$tool" | grep -nE \
				'(^|[;&|[:space:]])apt-get[[:space:]]+(-[^[:space:]]+[[:space:]]+)*(install|update|upgrade|remove|purge)' ||
				true)"
	done
}

# tests/kernel-matrix --releases looks every release up with its own apt
# state; for bookworm it must agree with the host's apt, which
# install-deps installs the headers from.
check_matrix_per_release() {
	status=0
	releases=$("$top/tests/kernel-matrix" --releases 2>&1) || status=$?
	expect_eq "tools: kernel-matrix --releases exits 0" 0 "$status"
	for release in bookworm trixie sid; do
		expect_match "tools: kernel-matrix --releases has a $release amd64 kernel" \
			"^$release [^ ]+-amd64\$" \
			"$(printf '%s\n' "$releases" | grep -v -- '-\(cloud\|rt\)-amd64$')"
	done
	expect_eq "tools: its bookworm matrix is the one install-deps installs" \
		"$("$top/tests/kernel-matrix" | sort)" \
		"$(printf '%s\n' "$releases" | sed -n 's/^bookworm //p' | sort)"
}

# dkms_autoinstall_setting RELEASE: what RELEASE's dkms package sets
# autoinstall_all_kernels to in /etc/dkms/framework.conf.d/, or "unset".
dkms_autoinstall_setting() {
	_archives=$LKM_STACK_CACHE/apt/$1/cache/archives
	(cd "$_archives" && release_apt "$1" apt-get download -q dkms) \
		>/dev/null 2>&1 || { echo "cannot download $1's dkms"; return; }
	_deb=$(find "$_archives" -name 'dkms_*_all.deb' | sort -V | tail -n 1)
	_conf=$(dpkg-deb --fsys-tarfile "$_deb" |
		tar -xOf - --wildcards './etc/dkms/framework.conf.d/*' 2>/dev/null |
		sed -n 's/^autoinstall_all_kernels=//p' | tr -d '"')
	echo "${_conf:-unset} (dkms $(dpkg-deb -f "$_deb" Version))"
}

# README's table of what each release's stock DKMS hook builds for.
check_readme_dkms_table() {
	expect_match "tools: bookworm's dkms leaves autoinstall_all_kernels unset (README: running and newest kernel only)" \
		'^unset \(dkms 3\.0\.' "$(dkms_autoinstall_setting bookworm)"
	for release in trixie sid; do
		expect_match "tools: $release's dkms sets autoinstall_all_kernels=yes (README)" \
			'^yes \(dkms 3\.2\.' "$(dkms_autoinstall_setting "$release")"
	done
}

# trixie_host: a fresh copy of the cached trixie minbase root in
# $work/trixie, as a Debian 13 host whose apt knows Debian 13's packages:
# the trixie apt state's sources and lists (tests/lib/releases.sh) in its
# own /etc/apt and /var/lib/apt/lists; this tree's tests/ and VERSION in
# /tmp/tree; and in /tmp/cache (its LKM_STACK_CACHE) copies of the apt
# states of every release, so that the tools' look-ups of the other
# releases need no download.  False, the failure recorded, without one.
trixie_host() {
	_th=$work/trixie
	for _th_release in $RELEASES; do
		if ! release_update "$_th_release"; then
			fail "tools: on Debian 13: $_th_release's apt state" \
				"apt-get update succeeds" "it failed (see above)"
			return 1
		fi
	done
	if ! _th_base=$(DEBIAN_ROOT_SUITE=trixie debian_base_tarball); then
		fail "tools: on Debian 13: a trixie root" "the cached minbase root" \
			"debootstrap failed (see above)"
		return 1
	fi
	unpack_root "$_th_base" "$_th"
	_th_state=$LKM_STACK_CACHE/apt/trixie
	rm -f "$_th/etc/apt/sources.list"
	cp "$_th_state/sources.list.d/debian.sources" "$_th/etc/apt/sources.list.d/"
	find "$_th_state/lists" -maxdepth 1 -type f -name '*_*' \
		-exec cp {} "$_th/var/lib/apt/lists/" \;
	mkdir -p "$_th/tmp/tree" "$_th/tmp/cache"
	cp -R "$top/tests" "$top/VERSION" "$_th/tmp/tree/"
	cp -a "$LKM_STACK_CACHE/apt" "$_th/tmp/cache/"
}

# on_trixie COMMAND: the shell COMMAND run in /tmp/tree of the trixie
# host, as root, with its own LKM_STACK_CACHE; its output and errors.
on_trixie() {
	in_root "$work/trixie" env LKM_STACK_CACHE=/tmp/cache \
		LKM_STACK_TOP=/tmp/tree sh -c "cd /tmp/tree && $1" 2>&1
}

# expect_all_deb13 NAME LINES: LINES, one kernel release a line, are
# there and each a Debian 13 kernel (6.12.N+deb13 in a flavour).
expect_all_deb13() {
	if [ -z "$2" ]; then
		fail "$1" "Debian 13 kernels, one a line" "nothing"
	else
		expect_eq "$1" "" "$(printf '%s\n' "$2" |
			grep -vE '^6\.12\.[0-9]+\+deb13-(amd64|cloud-amd64|rt-amd64)$' || true)"
	fi
}

# check_kernels_on_trixie: on the Debian 13 host, tests/kernel-matrix,
# --previous, lifecycle_kernels, make demo's and make bench's kernel
# choice are Debian 13's, and the ones the trixie apt state names on this
# host (release_matrix, release_kernels, lifecycle_kernels_of).
check_kernels_on_trixie() {
	trixie_host || return 0
	_tk=tools:\ on\ Debian\ 13
	expect_eq "$_tk: the root says VERSION_CODENAME=trixie" trixie \
		"$(sed -n 's/^VERSION_CODENAME=//p' "$work/trixie/etc/os-release")"
	want_matrix=$(release_matrix trixie | sort)
	want_newest=$(printf '%s\n' "$want_matrix" | grep -E -- '\+deb13-amd64$')
	want_previous=$(release_kernels trixie amd64 | tail -n 2 | head -n 1)
	want_lifecycle=$(lifecycle_kernels_of trixie)

	status=0
	matrix=$(on_trixie tests/kernel-matrix) || status=$?
	expect_eq "$_tk: tests/kernel-matrix exits 0" 0 "$status"
	expect_all_deb13 "$_tk: tests/kernel-matrix prints Debian 13 kernels only" \
		"$matrix"
	expect_eq "$_tk: tests/kernel-matrix is trixie's matrix (amd64, cloud-amd64, rt-amd64)" \
		"$want_matrix" "$(printf '%s\n' "$matrix" | sort)"

	status=0
	previous=$(on_trixie 'tests/kernel-matrix --previous') || status=$?
	expect_eq "$_tk: tests/kernel-matrix --previous exits 0" 0 "$status"
	expect_all_deb13 "$_tk: tests/kernel-matrix --previous is a Debian 13 kernel" \
		"$previous"
	expect_eq "$_tk: tests/kernel-matrix --previous is the second-newest 6.12+deb13 amd64, not the newest" \
		"$want_previous (newest $want_newest)" "$previous (newest $want_newest)"

	expect_eq "$_tk: lifecycle_kernels (OLD UPGRADE NEW, from this host's apt) is lifecycle_kernels_of trixie" \
		"$want_lifecycle" \
		"$(on_trixie '. tests/lib/kernels.sh && lifecycle_kernels')"

	status=0
	demo=$(on_trixie 'tests/demo/demo --print-kernel') || status=$?
	expect_eq "$_tk: make demo's kernel (tests/demo/demo --print-kernel) is the newest 6.12+deb13 amd64" \
		"$want_newest (status 0)" "$demo (status $status)"
	expect_all_deb13 "$_tk: make demo boots a Debian 13 kernel" "$demo"

	status=0
	bench=$(on_trixie 'tests/bench/bench --print-kernels') || status=$?
	expect_eq "$_tk: tests/bench/bench --print-kernels exits 0" 0 "$status"
	expect_eq "$_tk: make bench's DKMS table is on lifecycle_kernels_of trixie's OLD and NEW" \
		"$(echo "$want_lifecycle" | awk '{ print $1, $3 }')" \
		"$(printf '%s\n' "$bench" | sed -n 's/^dkms //p' | paste -sd' ' -)"
	expect_all_deb13 "$_tk: make bench's DKMS table's kernels are Debian 13's" \
		"$(printf '%s\n' "$bench" | sed -n 's/^dkms //p')"
	guests=$(printf '%s\n' "$bench" | sed -n 's/^guest //p')
	expect_eq "$_tk: make bench's guests: trixie's matrix first" \
		"$want_matrix" "$(printf '%s\n' "$guests" | head -n 3 | sort)"
	expect_all_deb13 "$_tk: ... all of them Debian 13 kernels" \
		"$(printf '%s\n' "$guests" | head -n 3)"
	expect_match "$_tk: make bench's guests: then a Debian 12 and a sid amd64 kernel" \
		'^6\.(1\.0-[0-9]+|12\.[0-9]+\+deb12)-amd64 [0-9.]+\+deb14-amd64$' \
		"$(printf '%s\n' "$guests" | tail -n +4 | paste -sd' ' -)"
}

# check_kernels_on_this_host: the same choices on this host are its own
# release's, and make bench has a row for each other release's newest
# amd64 kernel; judged against tests/kernel-matrix --releases as
# check_matrix_per_release left it in $releases.
check_kernels_on_this_host() {
	_th=tools:\ on\ this\ $(host_release)\ host
	_th_matrix=$(printf '%s\n' "$releases" | sed -n "s/^$(host_release) //p")
	_th_series=$(release_series "$(host_release)")
	expect_eq "$_th: make demo's kernel (tests/demo/demo --print-kernel) is the newest ${_th_series%% *} amd64" \
		"$(printf '%s\n' "$_th_matrix" |
			grep -E "^$(series_pattern "${_th_series%% *}")-amd64\$")" \
		"$("$top/tests/demo/demo" --print-kernel 2>&1)"
	status=0
	bench=$("$top/tests/bench/bench" --print-kernels 2>&1) || status=$?
	expect_eq "$_th: tests/bench/bench --print-kernels exits 0" 0 "$status"
	_th_others=
	for release in $(other_releases); do
		_th_others="$_th_others $(printf '%s\n' "$releases" |
			sed -n "s/^$release //p" | grep -vE -- '-(cloud|rt)-amd64$' |
			tail -n 1)"
	done
	_th_n=$(printf '%s\n' "$_th_matrix" | wc -l)
	_th_guests=$(printf '%s\n' "$bench" | sed -n 's/^guest //p')
	expect_eq "$_th: make bench's guests: this host's matrix, then each other release's newest amd64 kernel" \
		"$(printf '%s\n' "$_th_matrix" | sort | paste -sd' ' -) |$_th_others" \
		"$(printf '%s\n' "$_th_guests" | head -n "$_th_n" | sort |
			paste -sd' ' -) | $(printf '%s\n' "$_th_guests" |
			tail -n +"$((_th_n + 1))" | paste -sd' ' -)"
	expect_eq "$_th: make bench's DKMS table has two kernels of this host's release" \
		"2 $(host_release)" \
		"$(printf '%s\n' "$bench" | sed -n 's/^dkms //p' | while read -r k; do
			kernel_release_of "$k"; done | sort | uniq -c | awk '{ print $1, $2 }')"
}

section "tools: the kernel matrix of each Debian release"
check_matrix_per_release
check_readme_dkms_table

section "tools: the kernels the tools pick follow the host's release"
check_kernels_on_this_host
check_kernels_on_trixie

section "tools: waiting for dpkg's lock"
check_waits_for_lock
check_names_holder
check_tools_use_wrapper

[ "${LKM_STACK_SUITE:-}" ] || summary
