#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The developer tools that install what they lack (tests/install-deps,
# make demo) wait for another apt or dpkg instead of stopping at "Could
# not get lock", and say who holds the lock when it never frees.  The
# lock is a scratch dpkg database's (a copy of this machine's status),
# held by a python3 fcntl lock as apt and dpkg take it, so nothing here
# touches the machine's own package state.
set -eu
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/../lib/apt.sh"
. "$(dirname "$0")/../lib/kernels.sh"
. "$(dirname "$0")/../lib/releases.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-tools.XXXXXX")
holder=
cleanup() {
	[ -z "$holder" ] || kill "$holder" 2>/dev/null || true
	rm -rf "$work"
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

section "tools: the kernel matrix of each Debian release"
check_matrix_per_release
check_readme_dkms_table

section "tools: waiting for dpkg's lock"
check_waits_for_lock
check_names_holder
check_tools_use_wrapper

[ "${LKM_STACK_SUITE:-}" ] || summary
