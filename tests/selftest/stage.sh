#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The harness's own test, with no VM and no kernel headers: every check
# that reads a guest must fail, and say what is missing, when the guest
# skipped the step, died during it or before it, and the health check
# must fail on a kernel warning or a bad taint; on a correct run they all
# pass.
#
# Throwaway guest scripts, run here with sh through the real step
# function of tests/lib/guest/lib.sh, only print fake outputs (they run no
# modprobe, touch nothing).  A stand-in qemu-system-x86_64 first on PATH
# "boots" them as tests/lib/guest/init would and prints it all as a serial
# console does, so the logs come through the real vm_boot.  The checks
# judging them are the stages' own: tests/vm/stage.sh's judge_kernel,
# tests/reliability/stage.sh's judge_cycles, judge_race and judge_sig_enforce,
# tests/lifecycle/stage.sh's check_boot and expect_modprobe_works, sourced
# with LKM_STACK_JUDGE_ONLY=1 (so nothing of the stage runs) in a
# subshell with its own results file.  This stage's own checks, named
# "selftest: ...", are about what those judgements recorded.  Last, one
# piece of tests/lib/debian-root.sh no stage reaches on a healthy host:
# overlay_root when its mount fails (a stand-in mount, nothing mounted).
#
# shellcheck disable=SC2031 # the stages the judges source in subshells
# set their own work and LKM_STACK_TOP; this file's are set once, first.
set -eu
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/../lib/scratch.sh"
. "$(dirname "$0")/../lib/vm.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The release the fake guests claim to run.
K=6.1.0-selftest-amd64

# The stand-in for QEMU: runs the guest script $SELFTEST_GUEST as the
# init would, between @@GUEST-START and, if SELFTEST_ENDING is "done"
# (the default), @@GUEST-DONE; "panic" ends with the kernel's panic
# instead, as when the guest's kernel dies.  Lines end in CRLF, as on a
# serial console, each written at once (a guest cut off at VM_TIMEOUT
# leaves what it printed).
mkdir -p "$work/bin"
cat >"$work/bin/qemu-system-x86_64" <<'EOF'
#!/bin/sh
{
	echo '[    0.000000] Linux version 6.1.0-selftest-amd64 (selftest@localhost) #1 SMP PREEMPT_DYNAMIC'
	echo '[    0.912345] Run /init as init process'
	echo '@@GUEST-START 0.93'
	sh "$SELFTEST_GUEST" 2>/dev/null
	status=$?
	case ${SELFTEST_ENDING:-done} in
	done)
		echo "@@GUEST-DONE $status"
		echo '[   12.345678] reboot: Restarting system' ;;
	panic)
		echo '[    9.876543] Kernel panic - not syncing: Fatal exception' ;;
	esac
} | while IFS= read -r line; do printf '%s\r\n' "$line"; done
EOF
chmod 755 "$work/bin/qemu-system-x86_64"

# What every throwaway guest script sources: the real step function, and
# fake NAME COMMAND-LINE, which is step NAME COMMAND-LINE unless NAME is
# $SELFTEST_SKIP (left out), $SELFTEST_DIE (the guest dies in it: killed
# after some output, no @@END) or $SELFTEST_HANG (it never returns).
cat >"$work/fake.sh" <<'EOF'
. "$SELFTEST_LIB"
fake() {
	case $1 in
	"${SELFTEST_SKIP:-}") ;;
	"${SELFTEST_DIE:-}") step "$1" "echo 'partial output'; kill -9 \$\$" ;;
	"${SELFTEST_HANG:-}") step "$1" "echo 'partial output'; exec sleep 60" ;;
	*) step "$@" ;;
	esac
}
# dmesg_dump: a kernel log, with a warning in it if SELFTEST_WARN is set.
dmesg_dump() {
	echo '[    0.000000] Linux version 6.1.0-selftest-amd64 (selftest@localhost) #1 SMP PREEMPT_DYNAMIC'
	echo '[    0.004000] kmemleak: Kernel memory leak detector initialized (mem pool available: 15488)'
	echo '[    0.004100] rcu: 	RCU lockdep checking is enabled.'
	echo '[    5.000000] core_lkm: loaded: exp_int=200 skey=0x5eed'
	if [ -n "${SELFTEST_WARN:-}" ]; then
		echo '[    5.100000] WARNING: CPU: 0 PID: 1 at kernel/module/main.c:2553 do_init_module+0x1f/0x230'
		echo '[    5.100001] Call Trace:'
	fi
}
EOF

# The guest side of tests/vm/stage.sh (tests/vm/guest.sh), faked: every step
# with the output a correct run prints.
cat >"$work/vm-guest.sh" <<'EOF'
. "$SELFTEST_FAKE"
d=/lib/modules/$SELFTEST_KVER/updates/dkms
fake s1-modprobe true
fake s1-loaded 'printf "client_lkm\ncore_lkm\n"'
fake s1-show-depends "printf 'insmod $d/core_lkm.ko \ninsmod $d/client_lkm.ko \n'"
fake s1-kmsg 'echo "[ 5.1] core_lkm: loaded: exp_int=200 skey=0x5eed"; echo "[ 5.2] client_lkm: loaded: exp_int=200 skey=0x5eed"'
fake s2-lsmod 'printf "Module  Size  Used by\nclient_lkm  12288  0\ncore_lkm  12288  1 client_lkm\n"'
fake s4-rmmod-core 'echo "rmmod: ERROR: Module core_lkm is in use by: client_lkm"; false'
fake s4-loaded 'printf "client_lkm\ncore_lkm\n"'
fake s5-modprobe-r true
fake s5-loaded true
fake s5-kmsg 'printf "[ 6.1] client_lkm: unloaded\n[ 6.2] core_lkm: unloaded\n"'
fake s6-insmod-client 'echo "insmod: ERROR: could not insert module onepass/client_lkm.ko: Unknown symbol in module"; false'
fake s6-loaded true
fake s6-kmsg 'echo "[ 7.1] client_lkm: Unknown symbol exp_int (err -2)"; echo "[ 7.2] client_lkm: Unknown symbol get_skey (err -2)"'
fake s7-insmod-core true
fake s7-insmod-client true
fake s7-rmmod-client true
fake s7-rmmod-core true
fake s7-kmsg 'printf "core_lkm: loaded: exp_int=200 skey=0x1\nclient_lkm: loaded: exp_int=200 skey=0x1\nclient_lkm: unloaded\ncore_lkm: unloaded\n"'
fake s8-insmod-core true
fake s8-insmod-client true
fake s8-loaded 'printf "client_lkm\ncore_lkm\n"'
fake s8-rmmod true
fake s8-kmsg 'printf "core_lkm: loaded: exp_int=200 skey=0x2\nclient_lkm: loaded: exp_int=200 skey=0x2\n"'
fake s9-filename "printf '$d/client_lkm.ko\n$d/core_lkm.ko\n'"
fake s9-depends 'echo core_lkm'
fake s9-version 'printf "%s\n%s\n" "$SELFTEST_VERSION" "$SELFTEST_VERSION"'
fake s11-modules-before 'echo "ext4 1 0 - Live 0x0"'
fake s11-slab-before 'echo 20000'
fake s11-cycles 'printf "3 of 3 cycles succeeded\nin 1.5 s\n"'
fake s11-modules-after 'echo "ext4 1 0 - Live 0x0"'
fake s11-slab-after 'echo 20010'
fake s10-tainted 'echo "${SELFTEST_TAINT:-12288}"'
fake s10-dmesg dmesg_dump
EOF

# The guest side of tests/reliability/stage.sh (tests/reliability/guest.sh), faked:
# the parts MODE names, in turn: cycles with a kmemleak scan (with
# SELFTEST_NOBTF=1 the cycles of a kernel whose modules carry .BTF.base:
# then 100 as built), race, sig-enforce; with ONE_CPU=1, CPU 1 offline
# for the cycles and online for the race, as in one boot of a kernel.
cat >"$work/reliability-guest.sh" <<'EOF'
. "$SELFTEST_FAKE"
reports() {
	[ -z "${SELFTEST_WARN:-}" ] || dmesg_dump | grep -A 1 WARNING
}
fake kmemleak-start true
for part in $MODE; do
case $part in
cycles)
	[ -z "${ONE_CPU:-}" ] || fake cpu1-offline 'echo 0'
	fake warmup 'echo "modcycle: cycles=50 ms=400"'
	fake memory-before 'printf "SUnreclaim:  10000 kB\nVmallocUsed:  5000 kB\nmodules: 3\n"'
	fake cycles 'echo "modcycle: cycles=1000 ms=8123"'
	fake memory-after 'printf "SUnreclaim:  10010 kB\nVmallocUsed:  5000 kB\nmodules: 3\n"'
	fake cycles-reports true
	if [ -n "${SELFTEST_NOBTF:-}" ]; then
		fake built-warmup 'echo "modcycle: cycles=50 ms=3000"'
		fake built-memory-before 'printf "SUnreclaim:  10010 kB\nVmallocUsed:  5000 kB\nmodules: 3\n"'
		fake built-cycles 'echo "modcycle: cycles=100 ms=6000"'
		fake built-memory-after 'printf "SUnreclaim:  10020 kB\nVmallocUsed:  5000 kB\nmodules: 3\n"'
		fake built-cycles-reports true
	fi
	fake kmemleak true
	fake magic-wrong-core true
	fake magic-wrong true
	fake magic-wrong-log 'echo "client_lkm: loaded: exp_int=200, get_skey() refused magic 0x3039 (skey=0)"'
	fake magic-wrong-loaded 'printf "client_lkm\ncore_lkm\n"'
	fake magic-wrong-rmmod true
	fake magic-abc-core true
	fake magic-abc 'echo "insmod: ERROR: could not insert module client_lkm.ko: Invalid parameters"; false'
	fake magic-abc-log "echo \"client_lkm: \\\`abc' invalid for parameter \\\`magic'\""
	fake magic-abc-loaded 'echo core_lkm'
	fake magic-abc-rmmod true
	fake fail-init 'echo "modprobe: ERROR: could not insert '"'core_lkm'"': Operation canceled"; false'
	fake fail-init-log 'echo "core_lkm: init failed on request (fail_init=1)"'
	fake fail-init-loaded true
	fake bad-input-reports true
	;;
race)
	[ -z "${ONE_CPU:-}" ] || fake cpu1-online 'echo 0-1'
	fake race 'printf "modcycle: race load client_lkm ok=120\nmodcycle: race unload core_lkm EAGAIN=30\nmodcycle: race load client_lkm ENOENT=5\nmodcycle: end state core_lkm=0 client_lkm=0\n"'
	fake race-reports true
	fake race-kmemleak true
	;;
sig-enforce)
	fake sig-enforce-on 'echo Y'
	fake sig-insmod 'echo "insmod: ERROR: could not insert module core_lkm.ko: Key was rejected by service"; false'
	fake sig-modprobe 'echo "modprobe: ERROR: could not insert '"'core_lkm'"': Key was rejected by service"; false'
	fake sig-log 'echo "Loading of module with unavailable key is rejected"'
	fake sig-loaded true
	;;
esac
done
fake reports reports
fake tainted 'echo "${SELFTEST_TAINT:-12288}"'
EOF

# The guest side of a lifecycle boot (tests/lifecycle/guest/modprobe.sh
# and the init's health steps), faked.
cat >"$work/lifecycle-guest.sh" <<'EOF'
. "$SELFTEST_FAKE"
fake uname 'echo "$SELFTEST_KVER"'
fake modprobe true
fake loaded 'printf "client_lkm\ncore_lkm\n"'
fake lsmod 'printf "Module  Size  Used by\nclient_lkm  12288  0\ncore_lkm  12288  1 client_lkm\n"'
fake kmsg-load 'echo "[ 5.2] client_lkm: loaded: exp_int=200 skey=0x5eed"'
fake modprobe-r true
fake unloaded true
fake kmsg-unload 'echo "[ 6.1] client_lkm: unloaded"'
# Step 7c's guest/dep8.sh: debian/tests/stacked-load's output; with
# SELFTEST_DEP8_FAIL set, core_lkm went although client_lkm used it.
dep8_output() {
	printf 'ok: %s\n' "modinfo: client_lkm for $SELFTEST_KVER depends on core_lkm" \
		"modprobe client_lkm" "lsmod: core_lkm is used by client_lkm"
	if [ -n "${SELFTEST_DEP8_FAIL:-}" ]; then
		echo "FAIL: rmmod core_lkm is refused: in use by: client_lkm: expected a refusal, seen: core_lkm was removed"
	else
		echo "ok: rmmod core_lkm is refused: in use by: client_lkm"
	fi
	printf 'ok: %s\n' "modprobe -r client_lkm" "neither module is loaded afterwards"
	[ -z "${SELFTEST_DEP8_FAIL:-}" ]
}
fake dep8-stacked-load dep8_output
fake dep8-stderr '[ -z "${SELFTEST_DEP8_FAIL:-}" ] || echo "stacked-load: rmmod core_lkm is refused: in use by: client_lkm failed"'
fake health-tainted 'echo "${SELFTEST_TAINT:-12288}"'
fake health-dmesg dmesg_dump
EOF

# boot_fake LOG GUEST [VAR=VALUE...]: "boot" the throwaway script GUEST
# with vm_boot and the stand-in QEMU, its serial log to LOG; the
# assignments (SELFTEST_*, VM_TIMEOUT, MODE) are exported to it.
boot_fake() {
	_log=$1 _guest=$2
	shift 2
	(
		for _assign in "$@"; do
			export "${_assign?}"
		done
		PATH=$work/bin:$PATH SELFTEST_GUEST=$_guest
		SELFTEST_FAKE=$work/fake.sh
		SELFTEST_LIB=$LKM_STACK_TOP/tests/lib/guest/lib.sh
		SELFTEST_KVER=$K SELFTEST_VERSION=$(cat "$LKM_STACK_TOP/VERSION")
		export PATH SELFTEST_GUEST SELFTEST_FAKE SELFTEST_LIB SELFTEST_KVER \
			SELFTEST_VERSION
		vm_boot "$work/vmlinuz-$K" "" "$_log"
	) || true
}

# judged CASE: check that the judging of CASE ran to its end (no shell
# error in a check); its output is in $work/CASE.out, the checks it
# recorded in $work/CASE.results.
judged() {
	expect_eq "selftest: $1: the stage's judging ran to its end" @@JUDGED \
		"$(tail -n 1 "$work/$1.out")"
}

# judge_vm CASE LOG: tests/vm/stage.sh's judge_kernel on LOG, as for a Debian
# kernel.
judge_vm() {
	: >"$work/$1.results"
	(
		LKM_STACK_RESULTS=$work/$1.results LKM_STACK_JUDGE_ONLY=1
		export LKM_STACK_RESULTS LKM_STACK_JUDGE_ONLY
		. "$(dirname "$0")/../vm/stage.sh"
		# As for a Debian kernel: .ko modules, 3 cycles, 2 s.
		judge_kernel "$K" "$2" .ko 3 2 \
			$((VM_TAINT_OUT_OF_TREE | VM_TAINT_UNSIGNED)) \
			"$(sed -n 's/^@@VM-EXIT //p' "$2" | grep . || echo 0)"
		echo @@JUDGED
	) >"$work/$1.out" 2>&1 || true
	judged "$1"
}

# judge_reliability CASE LOG MODE: tests/reliability/stage.sh's judging of a
# boot of MODE (cycles: with the kmemleak scan, and no foreign modules;
# cycles-nobtf: the same, on copies without BTF, then 100 as built; race;
# sig-enforce; one-boot: cycles, race and sig-enforce in one boot with
# CPU 1 offline for the cycles, as stress_kernel judges it), each
# judged as the stage judges a boot of it (health once a boot).
judge_reliability() {
	: >"$work/$1.results"
	(
		LKM_STACK_RESULTS=$work/$1.results LKM_STACK_JUDGE_ONLY=1
		export LKM_STACK_RESULTS LKM_STACK_JUDGE_ONLY
		. "$(dirname "$0")/../reliability/stage.sh"
		taint=$((VM_TAINT_OUT_OF_TREE | VM_TAINT_UNSIGNED))
		case $3 in
		cycles)
			check_guest_done "$K cycles" "$2" 0
			judge_cycles "$K" "$2" 1000 "$SLAB_TOLERANCE_KB" 1 \
				/dev/null /dev/null
			check_health "$K cycles" "$2" "$taint" ;;
		cycles-nobtf)
			check_guest_done "$K cycles" "$2" 0
			judge_cycles "$K" "$2" 1000 "$SLAB_TOLERANCE_KB" 1 \
				/dev/null /dev/null 100
			check_health "$K cycles" "$2" "$taint" ;;
		race)
			check_guest_done "$K race" "$2" 0
			judge_race "$K" "$2" 1
			check_health "$K race" "$2" "$taint" ;;
		sig-enforce)
			check_guest_done "$K sig_enforce=1" "$2" 0
			judge_sig_enforce "$K sig_enforce=1" "$2"
			check_health "$K sig_enforce=1" "$2" "$taint" ;;
		one-boot)
			check_guest_done "$K" "$2" 0
			check_cpu1 "$K" "$2" cpu1-offline 0
			judge_cycles "$K" "$2" 1000 "$SLAB_TOLERANCE_KB" 1 \
				/dev/null /dev/null
			check_cpu1 "$K" "$2" cpu1-online 1
			judge_race "$K" "$2" 1
			judge_sig_enforce "$K" "$2"
			check_health "$K" "$2" "$taint" ;;
		esac
		echo @@JUDGED
	) >"$work/$1.out" 2>&1 || true
	judged "$1"
}

# judge_lifecycle CASE LOG: tests/lifecycle/stage.sh's judging of a boot in
# its step 6, and of step 7c's autopkgtest (step 7's boot runs both).
judge_lifecycle() {
	: >"$work/$1.results"
	(
		LKM_STACK_RESULTS=$work/$1.results LKM_STACK_JUDGE_ONLY=1
		export LKM_STACK_RESULTS LKM_STACK_JUDGE_ONLY
		. "$(dirname "$0")/../lifecycle/stage.sh"
		guest_log=$2
		check_boot "6: $K"
		expect_modprobe_works "6: $K" "$K"
		L=lifecycle old_kver=$K
		step7c_autopkgtest
		echo @@JUDGED
	) >"$work/$1.out" 2>&1 || true
	judged "$1"
}

# results CASE pass|fail: the names of the checks of CASE that passed or
# failed, one a line.
results() {
	sed -n "s/^$2 //p" "$work/$1.results"
}

# failure CASE NAME: what the failed check NAME of CASE printed.
failure() {
	awk -v line="FAIL: $2" '
		$0 == line { shown = 1; print; next }
		shown && /^      / { print; next }
		shown { exit }' "$work/$1.out"
}

# expect_all_pass CASE WHAT: every check of CASE passed; and remember
# their number, which every other case of the stage must record too.
expect_all_pass() {
	_n=$(results "$1" pass | wc -l)
	expect_eq "selftest: $2: all $_n checks pass" "" \
		"$(results "$1" fail)"
	expect_match "selftest: $2: there are checks" '^[1-9][0-9]*$' "$_n"
	eval "checks_$3=$_n"
}

# expect_same_count CASE WHAT STAGE: CASE recorded as many checks as the
# correct run of STAGE did: a missing observation fails its checks,
# never drops them.
expect_same_count() {
	_want=''
	eval "_want=\$checks_$3"
	expect_eq "selftest: $2: still $_want checks, none dropped" "$_want" \
		"$(wc -l <"$work/$1.results" | tr -d ' ')"
}

# expect_failed CASE WHAT NAME...: exactly the checks NAME... of CASE
# failed.
expect_failed() {
	_case=$1 _what=$2
	shift 2
	expect_eq "selftest: $_what: only the checks that judge it fail" \
		"$(printf '%s\n' "$@" | sort)" "$(results "$_case" fail | sort)"
}

# expect_failure_says CASE WHAT NAME REGEX: the failure of check NAME of
# CASE has a line matching REGEX.
expect_failure_says() {
	_text=$(failure "$1" "$3")
	if [ -z "$_text" ]; then
		if results "$1" pass | grep -qxF -- "$3"; then
			_text="it passed"
		else
			_text="no such check"
		fi
		fail "selftest: $2: the check '$3' fails" "a FAIL line" "$_text"
		return 0
	fi
	expect_match "selftest: $2: its failure says /$4/" "$4" "$_text"
}

# expect_split CASE WHAT REGEX: the checks of CASE whose names match
# REGEX passed, all the others failed.
expect_split() {
	expect_eq "selftest: $2: the checks before the death pass" "" \
		"$(results "$1" fail | grep -E -- "$3" || true)"
	expect_eq "selftest: $2: every check from the death on fails" "" \
		"$(results "$1" pass | grep -Ev -- "$3" || true)"
}

# The unchecked reader stays out of the stages: they judge the guest only
# through the strict readers.  (This file reads it once, to show the
# trap.)
check_no_raw_reads() {
	expect_eq "selftest: no stage script judges the guest with the unchecked vm_block" "" \
		"$(_found=0
		for _stage in "$LKM_STACK_TOP"/tests/*/stage.sh; do
			[ -f "$_stage" ] || continue
			_found=$((_found + 1))
			[ "$_stage" = "$LKM_STACK_TOP/tests/selftest/stage.sh" ] ||
				grep -HnE '(^|[^_[:alnum:]])vm_block([^_[:alnum:]]|$)' \
					"$_stage" || true
		done
		# A glob that finds no stage must not pass for want of them.
		[ "$_found" -ge 10 ] ||
			echo "only $_found stage scripts under tests/*/stage.sh")"
}

# The one trouble pattern catches every kind of line either stage's
# pattern caught before they shared it, and the known boot lines that
# merely name a checker are no trouble.
check_trouble_pattern() {
	while IFS= read -r line; do
		expect_eq "selftest: trouble: $line" "$line" \
			"$(printf '%s\n' "$line" | vm_kernel_trouble)"
	done <<'EOF'
[   5.1] Oops: 0000 [#1] PREEMPT SMP NOPTI
[   5.1] BUG: unable to handle page fault for address: ffffffffc0a01000
[   5.1] BUG: KASAN: slab-use-after-free in client_lkm_init+0x2c/0x60
[   5.1] WARNING: CPU: 0 PID: 1 at kernel/module/main.c:2553 do_init_module+0x1f/0x230
[   5.1] Call Trace:
[   5.1] general protection fault, probably for non-canonical address 0xdead000000000100
[   5.1] Kernel panic - not syncing: Fatal exception
[   5.1] UBSAN: shift-out-of-bounds in src/core/core_lkm.c:42:10
[   5.1] ================== KASAN report
[   5.1] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)
[   5.1] kmemleak: Kernel memory leak detector disabled
[   5.1] WARNING: possible circular locking dependency detected
[   5.1] WARNING: possible recursive locking detected
[   5.1] WARNING: inconsistent lock state
[   5.1] INFO: lockdep is turned off.
[   5.1] ODEBUG: free active (active state 0) object: 0000000012345678 object type: timer_list
[   5.1] list_add corruption. prev->next should be next (ffff888003c1b3c8)
[   5.1] list_del corruption, ffff888003c1b3c8->next is LIST_POISON1
unreferenced object 0xffff888003c1b3c8 (size 64): suspected memory leak
EOF
	while IFS= read -r line; do
		expect_eq "selftest: no trouble: $line" "" \
			"$(printf '%s\n' "$line" | vm_kernel_trouble)"
	done <<'EOF'
[    0.004000] kmemleak: Kernel memory leak detector initialized (mem pool available: 15488)
[    1.200000] kmemleak: Automatic memory scanning thread started
[    0.004100] rcu: 	RCU lockdep checking is enabled.
[    5.000000] core_lkm: loaded: exp_int=200 skey=0x5eed
EOF
}

# The readers themselves, on one log with a complete, a skipped and an
# unfinished step.
check_readers() {
	_log=$work/readers.log
	{
		echo '@@GUEST-START 1.0'
		printf '@@BEGIN whole echo two lines\none\ntwo\n@@END whole 0\n'
		printf '@@BEGIN cut echo half\nhalf\n'
		echo '@@VM-EXIT 124'
	} >"$_log"
	expect_eq "selftest: vm_step_output prints a complete step's output" \
		"one two" "$(vm_step_output "$_log" whole | vm_join_lines)"
	if _out=$(vm_step_output "$_log" skipped); then _s=0; else _s=$?; fi
	expect_eq "selftest: vm_step_output fails for a step that never ran" 1 "$_s"
	expect_match "selftest: ... and says it never ran and the guest ended early" \
		'^step skipped never ran .*the guest ended early' "$_out"
	if _out=$(vm_step_output "$_log" cut); then _s=0; else _s=$?; fi
	expect_eq "selftest: vm_step_output fails for a step the guest died in" 1 "$_s"
	expect_match "selftest: ... and says the guest died during it, at QEMU's time limit" \
		'^step cut began but never finished .*died or was cut off during it.*time limit' \
		"$_out"
	# A power cut on purpose (VM_CUT_AT) is told apart from a time-out.
	{
		echo '@@GUEST-START 1.0'
		printf '@@BEGIN install apt-get install\n@@POWER-CUT-POINT here\n'
		echo '@@VM-EXIT 137'
		echo '@@VM-CUT @@POWER-CUT-POINT here'
	} >"$work/cut.log"
	if _out=$(vm_step_output "$work/cut.log" install); then _s=0; else _s=$?; fi
	expect_eq "selftest: vm_step_output fails for a step cut by a power cut" 1 "$_s"
	expect_match "selftest: ... and says QEMU was killed on purpose, and where" \
		'^step install began but never finished .*killed on purpose \(VM_CUT_AT, a power cut\) at: @@POWER-CUT-POINT here' \
		"$_out"
	if _out=$(vm_step_output "$work/no-such.log" whole); then _s=0; else _s=$?; fi
	expect_eq "selftest: vm_step_output fails when there is no log at all" 1 "$_s"
	expect_match "selftest: ... and says there is none" 'no serial log' "$_out"
}

section "selftest: the harness judges missing observations as failures"
check_no_raw_reads
check_trouble_pattern
check_readers

section "selftest: tests/vm/stage.sh's checks on throwaway logs"
G=$work/vm-guest.sh
boot_fake "$work/vm-ok.log" "$G"
expect_no_match "selftest: vm_boot leaves no CR in the serial log" \
	"$(printf '\r')" "$(cat "$work/vm-ok.log")"
judge_vm vm-ok "$work/vm-ok.log"
expect_all_pass vm-ok "vm, a correct run" vm

boot_fake "$work/vm-skip.log" "$G" SELFTEST_SKIP=s5-loaded
judge_vm vm-skip "$work/vm-skip.log"
expect_same_count vm-skip "vm, a skipped step" vm
expect_failed vm-skip "vm, a skipped step" "$K: 5 modprobe -r removed both modules"
expect_failure_says vm-skip "vm, a skipped step (expecting empty output)" \
	"$K: 5 modprobe -r removed both modules" \
	'step s5-loaded never ran .*its guest script skipped it'

boot_fake "$work/vm-died.log" "$G" SELFTEST_DIE=s7-insmod-client \
	SELFTEST_ENDING=panic
judge_vm vm-died "$work/vm-died.log"
expect_same_count vm-died "vm, a guest that dies" vm
expect_split vm-died "vm, a guest that dies in step s7-insmod-client" \
	"^$K: ([1-6] |7 insmod core_lkm\\.ko\$)"
expect_failure_says vm-died "vm, the step it died in" \
	"$K: 7 then insmod client_lkm.ko" \
	'step s7-insmod-client began but never finished .*the guest died'
expect_failure_says vm-died "vm, a later step" "$K: 8 both loaded" \
	'step s8-loaded never ran .*the guest ended early before reaching it .*Kernel panic'
expect_failure_says vm-died "vm, a later step expecting empty output" \
	"$K: 8 no symbol version complaints in the kernel log" \
	'step s8-kmsg never ran .*ended early'
expect_failure_says vm-died "vm, the health check" \
	"$K: 10 no Oops, BUG, WARNING or sanitizer report in the kernel log or on the console" \
	'step s10-dmesg never ran'

boot_fake "$work/vm-hang.log" "$G" SELFTEST_HANG=s11-cycles VM_TIMEOUT=2
judge_vm vm-hang "$work/vm-hang.log"
expect_same_count vm-hang "vm, a guest cut off at the time limit" vm
expect_failure_says vm-hang "vm, the step it hung in" \
	"$K: 11 3 modprobe/modprobe -r cycles succeed" \
	'step s11-cycles began but never finished .*QEMU was stopped at its time limit'
expect_failure_says vm-hang "vm, the guest's end" \
	"$K: the guest ran every scenario and shut down" 'QEMU status 124'

boot_fake "$work/vm-warn.log" "$G" SELFTEST_WARN=1
judge_vm vm-warn "$work/vm-warn.log"
expect_failed vm-warn "vm, a kernel warning" \
	"$K: 10 no Oops, BUG, WARNING or sanitizer report in the kernel log or on the console"
expect_failure_says vm-warn "vm, a kernel warning" \
	"$K: 10 no Oops, BUG, WARNING or sanitizer report in the kernel log or on the console" \
	'WARNING: CPU: 0 PID: 1 at kernel/module/main.c'

boot_fake "$work/vm-taint.log" "$G" SELFTEST_TAINT=12800
judge_vm vm-taint "$work/vm-taint.log"
expect_failed vm-taint "vm, a bad taint" \
	"$K: 10 taint flags only O and E (tainted=12800)"
expect_failure_says vm-taint "vm, a bad taint" \
	"$K: 10 taint flags only O and E (tainted=12800)" 'tainted=12800: W\(9\)'

section "selftest: tests/reliability/stage.sh's checks on throwaway logs"
G=$work/reliability-guest.sh
for mode in cycles race sig-enforce; do
	boot_fake "$work/rel-$mode.log" "$G" MODE=$mode
	judge_reliability "rel-$mode" "$work/rel-$mode.log" $mode
	expect_all_pass "rel-$mode" "reliability ($mode), a correct run" \
		"$(echo "rel_$mode" | tr - _)"
done
boot_fake "$work/rel-one-boot.log" "$G" MODE="cycles race sig-enforce" \
	ONE_CPU=1
judge_reliability rel-one-boot "$work/rel-one-boot.log" one-boot
expect_all_pass rel-one-boot "reliability (all parts in one boot), a correct run" \
	rel_one_boot
# CPU 1 never went offline: the cycles ran on two CPUs, which the
# one-boot judging must not take for one.
boot_fake "$work/rel-two-cpus.log" "$G" MODE="cycles race sig-enforce"
judge_reliability rel-two-cpus "$work/rel-two-cpus.log" one-boot
expect_same_count rel-two-cpus "reliability, CPU 1 never offline" rel_one_boot
expect_failed rel-two-cpus "reliability, CPU 1 never offline" \
	"$K: CPU 1 offline for the cycles and the bad input" \
	"$K: CPU 1 back online for the race"

boot_fake "$work/rel-nobtf.log" "$G" MODE=cycles SELFTEST_NOBTF=1
judge_reliability rel-nobtf "$work/rel-nobtf.log" cycles-nobtf
expect_all_pass rel-nobtf \
	"reliability (cycles without BTF, then as built), a correct run" rel_nobtf
boot_fake "$work/rel-nobtf-skip.log" "$G" MODE=cycles SELFTEST_NOBTF=1 \
	SELFTEST_SKIP=built-cycles
judge_reliability rel-nobtf-skip "$work/rel-nobtf-skip.log" cycles-nobtf
expect_same_count rel-nobtf-skip "reliability, skipped cycles as built" \
	rel_nobtf
expect_failed rel-nobtf-skip "reliability, skipped cycles as built" \
	"$K, as built: 100 load/unload cycles" \
	"$K, as built: every cycle completed"
# A Debian 12 guest's log (no built- steps) judged as a nobtf one fails
# every check of the cycles as built, with the stage's own tolerances.
rel=$LKM_STACK_TOP/tests/reliability/stage.sh
slab_kb=$(sed -n 's/^SLAB_TOLERANCE_KB=//p' "$rel")
vmalloc_kb=$(sed -n 's/^VMALLOC_TOLERANCE_KB=//p' "$rel")
judge_reliability rel-nobtf-none "$work/rel-cycles.log" cycles-nobtf
expect_failed rel-nobtf-none "reliability, no cycles as built at all" \
	"$K, as built: 100 load/unload cycles" \
	"$K, as built: every cycle completed" \
	"$K, as built: SUnreclaim back within $slab_kb kB" \
	"$K, as built: VmallocUsed back within $vmalloc_kb kB" \
	"$K, as built: module list back as before" \
	"$K, as built: no kernel reports during the cycles"

boot_fake "$work/rel-skip.log" "$G" MODE=cycles SELFTEST_SKIP=kmemleak
judge_reliability rel-skip "$work/rel-skip.log" cycles
expect_same_count rel-skip "reliability, a skipped kmemleak scan" rel_cycles
expect_eq "selftest: the trap: the unchecked vm_block reads the skipped kmemleak scan as empty" \
	"" "$(vm_block "$work/rel-skip.log" kmemleak)"
expect_failed rel-skip "reliability, a skipped kmemleak scan" \
	"$K cycles: kmemleak finds no leak"
expect_failure_says rel-skip "reliability, kmemleak finds no leak, with no scan" \
	"$K cycles: kmemleak finds no leak" \
	'step kmemleak never ran .*its guest script skipped it'

boot_fake "$work/rel-died.log" "$G" MODE=cycles SELFTEST_DIE=magic-abc \
	SELFTEST_ENDING=panic
judge_reliability rel-died "$work/rel-died.log" cycles
expect_same_count rel-died "reliability, a guest that dies" rel_cycles
expect_split rel-died "reliability, a guest that dies in step magic-abc" \
	"^$K: ([0-9]+ load/unload|every cycle|SUnreclaim|VmallocUsed|module list|no kernel reports during the cycles|client loads with|wrong magic)|^$K cycles: kmemleak"
expect_failure_says rel-died "reliability, the step it died in" \
	"$K: magic=abc refused (-EINVAL)" \
	'step magic-abc began but never finished .*the guest died'
expect_failure_says rel-died "reliability, a later step expecting empty output" \
	"$K: fail_init=1: nothing stays loaded" \
	'step fail-init-loaded never ran .*the guest ended early before reaching it .*Kernel panic'
expect_failure_says rel-died "reliability, no kernel reports, with no report" \
	"$K cycles: no kernel reports" 'step reports never ran .*ended early'

boot_fake "$work/rel-warn.log" "$G" MODE=cycles SELFTEST_WARN=1
judge_reliability rel-warn "$work/rel-warn.log" cycles
expect_failed rel-warn "reliability, a kernel warning" \
	"$K cycles: no kernel reports" \
	"$K cycles: no oops, warning or sanitizer report on the console"
expect_failure_says rel-warn "reliability, a kernel warning" \
	"$K cycles: no oops, warning or sanitizer report on the console" \
	'WARNING: CPU: 0 PID: 1 at kernel/module/main.c'

boot_fake "$work/rel-taint.log" "$G" MODE=cycles SELFTEST_TAINT=12800
judge_reliability rel-taint "$work/rel-taint.log" cycles
expect_failed rel-taint "reliability, a bad taint" \
	"$K cycles: taint flags only from our modules"
expect_failure_says rel-taint "reliability, a bad taint" \
	"$K cycles: taint flags only from our modules" 'tainted=12800: W\(9\)'

section "selftest: tests/lifecycle/stage.sh's checks of a boot on throwaway logs"
G=$work/lifecycle-guest.sh
boot_fake "$work/lc-ok.log" "$G"
judge_lifecycle lc-ok "$work/lc-ok.log"
expect_all_pass lc-ok "lifecycle, a correct boot" lc

boot_fake "$work/lc-skip.log" "$G" SELFTEST_SKIP=unloaded
judge_lifecycle lc-skip "$work/lc-skip.log"
expect_same_count lc-skip "lifecycle, a skipped step" lc
expect_failed lc-skip "lifecycle, a skipped step" \
	"6: $K: modprobe -r removed both modules"
expect_failure_says lc-skip "lifecycle, a skipped step expecting empty output" \
	"6: $K: modprobe -r removed both modules" 'step unloaded never ran'

boot_fake "$work/lc-died.log" "$G" SELFTEST_DIE=lsmod SELFTEST_ENDING=panic
judge_lifecycle lc-died "$work/lc-died.log"
expect_same_count lc-died "lifecycle, a guest that dies" lc
expect_split lc-died "lifecycle, a guest that dies in step lsmod" \
	"^6: $K: (running kernel|modprobe client_lkm succeeds|both modules are loaded)\$"
expect_failure_says lc-died "lifecycle, the step it died in" \
	"6: $K: lsmod shows core_lkm used by client_lkm" \
	'step lsmod began but never finished .*the guest died'

boot_fake "$work/lc-warn.log" "$G" SELFTEST_WARN=1 SELFTEST_TAINT=12800
judge_lifecycle lc-warn "$work/lc-warn.log"
expect_failed lc-warn "lifecycle, a kernel warning and a bad taint" \
	"6: $K: no oops, BUG, WARNING or sanitizer report in the kernel log or on the console" \
	"6: $K: taint flags only O and E"
expect_failure_says lc-warn "lifecycle, a kernel warning" \
	"6: $K: no oops, BUG, WARNING or sanitizer report in the kernel log or on the console" \
	'WARNING: CPU: 0 PID: 1 at kernel/module/main.c'

boot_fake "$work/lc-dep8.log" "$G" SELFTEST_DEP8_FAIL=1
judge_lifecycle lc-dep8 "$work/lc-dep8.log"
expect_same_count lc-dep8 "lifecycle, a failing autopkgtest" lc
expect_failed lc-dep8 "lifecycle, a failing autopkgtest" \
	"lifecycle 7c: autopkgtest debian/tests/stacked-load passes on $K" \
	"lifecycle 7c: stacked-load says: ok: rmmod core_lkm is refused: in use by: client_lkm" \
	"lifecycle 7c: stacked-load writes nothing to standard error"
expect_failure_says lc-dep8 "lifecycle, a failing autopkgtest's check" \
	"lifecycle 7c: stacked-load says: ok: rmmod core_lkm is refused: in use by: client_lkm" \
	'FAIL: rmmod core_lkm is refused: in use by: client_lkm: expected a refusal'

section "selftest: tests/lib/debian-root.sh's overlay_root when the overlay mount fails"
# A throwaway tarball for a root, and a mount that fails as it does for
# an upper layer on a file system overlay cannot use: the root must be
# unpacked instead, not left an empty directory, and go without trace.
mkdir -p "$work/ov/src/etc"
echo selftest >"$work/ov/src/etc/marker"
tar --zstd -C "$work/ov/src" -cf "$work/ov/root.tar.zst" .
(
	LKM_STACK_CACHE=$work/ov/cache
	. "$LKM_STACK_TOP/tests/lib/debian-root.sh"
	mount() {
		echo "mount: $work/ov/root: wrong fs type, bad option (selftest)" >&2
		return 32
	}
	said=$(overlay_root "$work/ov/root.tar.zst" "$work/ov/root" 2>&1) || true
	expect_match "selftest: overlay_root says why it unpacks instead" \
		'^overlay_root: mounting an overlay on .* failed \(mount: .*\(selftest\)\): unpacking ' \
		"$said"
	expect_eq "selftest: overlay_root's root has the tarball's files all the same" \
		selftest "$(cat "$work/ov/root/etc/marker" 2>&1)"
	unset -f mount
	remove_root "$work/ov/root"
	expect_empty "selftest: remove_root leaves nothing of that root" \
		"$(ls -d "$work/ov/root" "$work/ov/root.upper" 2>/dev/null)"
)

[ "${LKM_STACK_SUITE:-}" ] || summary
