# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Named checks with a running tally.  Every test stage sources this file;
# each check prints one PASS/FAIL line as it runs, a failure says what was
# expected and what was seen, and summary() prints "N passed, N failed".
#
# When tests/run drives several stages it sets LKM_STACK_RESULTS to one
# file, so the final summary counts every stage.
#
#   LKM_STACK_CHECKS=<extended regex>  judge and report only the checks
#       whose names match (e.g. '6\.12.*: 4 ' for scenario 4 on the 6.12
#       kernels); the others still run but are counted as skipped, never
#       as passed, and the summary says how many.

if [ -z "${LKM_STACK_RESULTS:-}" ]; then
	LKM_STACK_RESULTS=$(mktemp "${TMPDIR:-/tmp}/lkm-stack-results.XXXXXX")
	_owns_results=1
fi
export LKM_STACK_RESULTS

# selected NAME: the check NAME is one LKM_STACK_CHECKS asks for (all are,
# without it); otherwise it is recorded as skipped.
selected() {
	if [ -z "${LKM_STACK_CHECKS:-}" ] ||
		printf '%s\n' "$1" | grep -Eq -- "$LKM_STACK_CHECKS"; then
		return 0
	fi
	printf 'skip %s\n' "$1" >>"$LKM_STACK_RESULTS"
	return 1
}

pass() {
	selected "$1" || return 0
	printf 'PASS: %s\n' "$1"
	printf 'pass %s\n' "$1" >>"$LKM_STACK_RESULTS"
}

# fail NAME EXPECTED SEEN
fail() {
	selected "$1" || return 0
	printf 'FAIL: %s\n' "$1"
	printf '      expected: %s\n' "$2"
	printf '      seen:     %s\n' "$3" | sed '2,$s/^/                /'
	printf 'fail %s\n' "$1" >>"$LKM_STACK_RESULTS"
}

# expect_eq NAME EXPECTED SEEN
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "$2" "$3"; fi
}

# expect_match NAME EXTENDED-REGEX TEXT: TEXT has a line matching the regex
expect_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		pass "$1"
	else
		fail "$1" "a line matching /$2/" "$3"
	fi
}

# expect_in_list NAME ITEM LIST: LIST (one entry a line) has ITEM, exactly
expect_in_list() {
	if printf '%s\n' "$3" | grep -qxF -- "$2"; then
		pass "$1"
	else
		fail "$1" "an entry '$2'" "$3"
	fi
}

# expect_no_match NAME EXTENDED-REGEX TEXT: no line of TEXT matches
expect_no_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		fail "$1" "no line matching /$2/" \
			"$(printf '%s\n' "$3" | grep -E -- "$2")"
	else
		pass "$1"
	fi
}

# expect_empty NAME TEXT: TEXT is empty (e.g. a list of leaks or errors)
expect_empty() {
	if [ -z "$2" ]; then
		pass "$1"
	else
		fail "$1" "nothing" "$2"
	fi
}

# expect_success NAME COMMAND...: the command exits 0 (its output is shown
# on failure)
expect_success() {
	_name=$1
	shift
	if _out=$("$@" 2>&1); then
		pass "$_name"
	else
		fail "$_name" "exit status 0 from: $*" "status $?: $_out"
	fi
}

# Print the tally of every check recorded so far; fail if any failed.
summary() {
	_passed=$(grep -c '^pass ' "$LKM_STACK_RESULTS" || true)
	_failed=$(grep -c '^fail ' "$LKM_STACK_RESULTS" || true)
	_skipped=$(grep -c '^skip ' "$LKM_STACK_RESULTS" || true)
	if [ "$_failed" -gt 0 ]; then
		echo "Failed checks:"
		sed -n 's/^fail /  /p' "$LKM_STACK_RESULTS"
	fi
	if [ "$_skipped" -gt 0 ]; then
		echo "$_passed passed, $_failed failed, $_skipped skipped"
	else
		echo "$_passed passed, $_failed failed"
	fi
	[ -z "${_owns_results:-}" ] || rm -f "$LKM_STACK_RESULTS"
	[ "$_failed" -eq 0 ] && [ "$_passed" -gt 0 ]
}

# Print a stage or section heading.
section() {
	printf '\n=== %s\n' "$*"
}

# timed PREFIX TITLE FUNCTION: the heading "PREFIX TITLE", FUNCTION, and
# how long it took.  The time is added to step_times too, one
# "  NNNs  TITLE" line each, for a stage that lists them at its end.
step_times=
timed() {
	section "$1 $2"
	_timed_start=$(date +%s)
	"$3"
	_timed_took=$(($(date +%s) - _timed_start))
	printf '(%s %s took %ss)\n' "$1" "$2" "$_timed_took"
	step_times="$step_times$(printf '  %5ss  %s' "$_timed_took" "$2")
"
}
