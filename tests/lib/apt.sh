# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# apt-get for the developer tools (install-deps, make demo) that install
# what they lack: on a real machine unattended-upgrades or another apt
# often holds dpkg's lock, and a plain apt-get stops at once with "Could
# not get lock".  Here apt waits for it (its DPkg::Lock::Timeout, with
# its own "Waiting for cache lock ... held by process N" lines), and if
# the lock never frees, one line says which process holds it.
#
#   LKM_STACK_APT_LOCK_TIMEOUT  seconds to wait for the lock (default 600)
#   LKM_STACK_DPKG_ADMINDIR     dpkg database whose lock counts (default
#                               /var/lib/dpkg; the tests use a scratch one)

# dpkg_lock_holder: "PID (COMMAND)" of the process holding dpkg's
# frontend lock, or nothing when it is free.
dpkg_lock_holder() {
	_lock=${LKM_STACK_DPKG_ADMINDIR:-/var/lib/dpkg}/lock-frontend
	lslocks --noheadings --raw --output PID,COMMAND,PATH 2>/dev/null |
		awk -v lock="$_lock" '$3 == lock { print $1 " (" $2 ")"; exit }'
}

# apt_get_waiting APT-GET-ARG...: apt-get, waiting for dpkg's lock.
apt_get_waiting() {
	_timeout=${LKM_STACK_APT_LOCK_TIMEOUT:-600}
	set -- -o "DPkg::Lock::Timeout=$_timeout" "$@"
	if [ -n "${LKM_STACK_DPKG_ADMINDIR:-}" ]; then
		set -- -o "Dir::State::status=$LKM_STACK_DPKG_ADMINDIR/status" "$@"
	fi
	_holder=$(dpkg_lock_holder)
	if [ -n "$_holder" ]; then
		echo "waiting up to ${_timeout} s for dpkg's lock, held by process $_holder ..." >&2
	fi
	_status=0
	DEBIAN_FRONTEND=noninteractive apt-get "$@" || _status=$?
	if [ "$_status" -ne 0 ]; then
		_holder=$(dpkg_lock_holder)
		if [ -n "$_holder" ]; then
			echo "error: dpkg's lock is still held by process $_holder after ${_timeout} s: let it finish (or stop it), then run this again" >&2
		fi
	fi
	return "$_status"
}
