# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Run a stage's per-kernel work side by side.  A QEMU guest with one CPU
# keeps one host core busy (TCG), so on two cores two such guests take
# the time of one; the checks stay in the order a sequential run prints
# them, because each job writes to a file of its own that is shown when
# its turn comes.  Checks record into LKM_STACK_RESULTS with one short
# append each, which does not interleave.
#
#   LKM_STACK_JOBS  how many jobs at a time (default: the number of CPUs,
#                   at most 2; 1 runs them one after the other)

# parallel_jobs: how many jobs run at a time.
parallel_jobs() {
	if [ -n "${LKM_STACK_JOBS:-}" ]; then
		echo "$LKM_STACK_JOBS"
	elif [ "$(nproc)" -ge 2 ]; then
		echo 2
	else
		echo 1
	fi
}

# in_parallel FUNCTION ARG...: run "FUNCTION ARG" for every ARG, at most
# parallel_jobs at a time (a new one starts as soon as any ends), and
# print each one's output (standard output and error) in the order of
# the ARGs, each as soon as it and those before it are done.  Returns
# non-zero if any job did.
in_parallel() {
	_ip_fn=$1
	shift
	_ip_dir=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-jobs.XXXXXX")
	_ip_max=$(parallel_jobs)
	_ip_total=$# _ip_started=0 _ip_shown=0 _ip_status=0
	while [ "$_ip_shown" -lt "$_ip_total" ]; do
		_ip_done=$(find "$_ip_dir" -name '*.status' | wc -l)
		if [ "$_ip_started" -lt "$_ip_total" ] &&
			[ $((_ip_started - _ip_done)) -lt "$_ip_max" ]; then
			_ip_started=$((_ip_started + 1))
			_parallel_start "$_ip_dir" "$_ip_started" "$_ip_fn" "$1"
			shift
			continue
		fi
		if [ -f "$_ip_dir/$((_ip_shown + 1)).status" ]; then
			_ip_shown=$((_ip_shown + 1))
			cat "$_ip_dir/$_ip_shown.out"
			[ "$(cat "$_ip_dir/$_ip_shown.status")" = 0 ] || _ip_status=1
			continue
		fi
		sleep 1
	done
	wait
	rm -rf "$_ip_dir"
	return "$_ip_status"
}

# _parallel_start DIR N FUNCTION ARG: job N of in_parallel, in the
# background; its output goes to DIR/N.out, then its status to DIR/N.status.
_parallel_start() {
	(
		# The job runs in a background subshell of its own, so that set -e
		# still holds in it: run as "FUNCTION ARG || ..." it would not.
		"$3" "$4" >"$1/$2.out" 2>&1 &
		_s=0
		wait "$!" || _s=$?
		echo "$_s" >"$1/$2.status.tmp"
		mv "$1/$2.status.tmp" "$1/$2.status"
	) &
}
