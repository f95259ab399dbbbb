# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Fault injection for tests/faults/stage.sh: SIGKILL a maintainer script
# running in a chroot, and everything it started, at the moment a trigger
# says a point of its work has been reached.  The watcher runs on the
# host, beside the apt-get it interrupts, and only reads the root's files
# and the host's process table, so the package under test runs unchanged.

# canonical_dir DIR: DIR with every symlink resolved, as the kernel shows
# a process's root (/proc/PID/root).
canonical_dir() {
	(cd "$1" && pwd -P)
}

# script_pid ROOT PATTERN: the pid of a process chrooted into ROOT (a
# canonical path) whose command line contains PATTERN, e.g. the
# postinst's path; nothing if none runs.  The oldest such process: the
# script itself, not a child that inherited its command line.  One find
# over /proc, not a command per process: it runs every 50 ms on a busy
# machine.
script_pid() {
	find /proc -mindepth 2 -maxdepth 2 -name root -lname "$1" 2>/dev/null |
		while read -r _sp_link; do
			_sp_proc=${_sp_link%/root}
			# (a process that ended meanwhile has no cmdline)
			{ tr '\0' ' ' <"$_sp_proc/cmdline"; } 2>/dev/null |
				grep -qF -- "$2" || continue
			echo "${_sp_proc#/proc/}"
		done | sort -n | head -n 1
}

# process_tree PID: PID and all its descendants, one pid a line.
process_tree() {
	ps -e -o pid=,ppid= | awk -v top="$1" '
		{ parent[$1] = $2 }
		END {
			want[top] = 1
			do {
				grew = 0
				for (p in parent)
					if (!(p in want) && (parent[p] in want)) {
						want[p] = 1
						grew = 1
					}
			} while (grew)
			for (p in want) if (p in parent) print p
		}' | sort -n
}

# kill_process_tree PID: SIGKILL PID and everything under it at once, as
# the OOM killer or a kill -9 would, and print "killed PID: COMMAND" for
# each.  The tree is stopped first and listed again until no new process
# appears, so a child forked while the list was made is not left running
# on its own.
kill_process_tree() {
	_kpt_pids=$(process_tree "$1")
	while :; do
		# shellcheck disable=SC2086 # one pid a word
		kill -STOP $_kpt_pids 2>/dev/null || true
		_kpt_again=$(process_tree "$1")
		[ "$_kpt_again" != "$_kpt_pids" ] || break
		_kpt_pids=$_kpt_again
	done
	for _kpt_pid in $_kpt_pids; do
		printf 'killed %s: %s\n' "$_kpt_pid" \
			"$({ tr '\0' ' ' <"/proc/$_kpt_pid/cmdline"; } 2>/dev/null | cut -c1-160)"
	done
	# shellcheck disable=SC2086 # one pid a word
	kill -KILL $_kpt_pids 2>/dev/null || true
}

# script_runs PID PATTERN: PID is (still) a process whose command line
# contains PATTERN.
script_runs() {
	{ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -qF -- "$2"
}

# kill_when ROOT PATTERN TRIGGER LOG [TIMEOUT]: watch ROOT every 20 ms,
# for up to TIMEOUT seconds (default 300), until TRIGGER (a function and
# its arguments, split at spaces) succeeds; then kill the tree of the
# process of ROOT matching PATTERN (script_pid).  LOG gets
# "trigger: " and what TRIGGER printed (the observation that fired it), the
# killed processes, and "state: " lines from the function fault_state
# if the caller defines one (what was on disk once they were dead); or
# "missed: ..." when no such process ran as the trigger fired, or the
# time ran out.  Run it in the background, and end it when the command
# it watches has ended.  The windows are short (DKMS's post_install
# and depmod take a fraction of a second), so the script is looked up
# before its trigger fires, and TRIGGER runs in this shell: it should
# test files only, with builtins where it can.
kill_when() {
	_kw_root=$(canonical_dir "$1")
	_kw_left=$((${5:-300} * 50))
	_kw_pid=
	: >"$4"
	while [ "$_kw_left" -gt 0 ]; do
		if [ -z "$_kw_pid" ] || ! script_runs "$_kw_pid" "$2"; then
			_kw_pid=$(script_pid "$_kw_root" "$2")
		fi
		# shellcheck disable=SC2086 # TRIGGER is a function and its words
		if [ -n "$_kw_pid" ] && $3 >"$4.why"; then
			_kw_killed=$(kill_process_tree "$_kw_pid")
			{
				printf 'trigger: %s\n' "$(cat "$4.why")"
				printf '%s\n' "$_kw_killed"
				if command -v fault_state >/dev/null 2>&1; then
					fault_state | sed 's/^/state: /'
				fi
			} >>"$4"
			rm -f "$4.why"
			return 0
		fi
		sleep 0.02
		_kw_left=$((_kw_left - 1))
	done
	rm -f "$4.why"
	echo "missed: no trigger within ${5:-300}s" >>"$4"
	return 1
}
