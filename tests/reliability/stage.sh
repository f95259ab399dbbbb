#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Reliability and security of the pair, each kernel booted in QEMU:
#  - load/unload cycles through finit_module()/delete_module()
#    (tests/reliability/modcycle.c), with slab and vmalloc memory back where
#    they were after them;
#  - a race of loaders, unloaders and sysfs readers on two CPUs, every
#    refusal carrying a documented errno and a consistent end state;
#  - bad input: a wrong and a malformed "magic", core_lkm's fail_init,
#    modules built for other kernels (the other series, another flavour,
#    the previous release), whose verdict must be modversions';
#  - a Debian kernel with module.sig_enforce switched on refusing modules
#    signed with a key it does not trust;
#  - all of it on the sanitizer kernel (tests/lib/sanitizer-kernel.sh:
#    KASAN, UBSAN, kmemleak, lockdep, ...) with module.sig_enforce=1 and
#    modules signed by the DKMS-style key it trusts, plus a kmemleak scan.
# One boot a kernel does all of it (stress_kernel): two CPUs, the second
# offline for the cycles, online for the race, and module.sig_enforce
# switched on last.  Any oops, warning or sanitizer report fails, and is
# shown.
#
#   STRESS=1   10,000 cycles on the sanitizer kernel too, and a longer
#              race
#   LKM_STACK_SANITIZER=0  leave the sanitizer kernel out (a local run; it
#              is said so, and nothing passes for it)
#
# Every check reads the guest through the strict readers of
# tests/lib/vm.sh: a step that never ran, or ran into the guest's death,
# fails each check of it.  tests/selftest/stage.sh sources this file with
# LKM_STACK_JUDGE_ONLY=1 (nothing runs then) and judges throwaway logs
# with the check_* functions below.
set -eu
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/../lib/kernels.sh"
. "$(dirname "$0")/../lib/scratch.sh"
. "$(dirname "$0")/../lib/builds.sh"
. "$(dirname "$0")/../lib/vm.sh"
. "$(dirname "$0")/../lib/sanitizer-kernel.sh"

# Every unload waits for an RCU grace period.  Under emulation an idle
# grace period costs ~25 ms, ten times the work of a whole cycle, so the
# stress boots ask the kernel to expedite grace periods (force them
# instead of waiting for them): the same code paths run, and a cycle
# takes 6-9 ms instead of 50-60.  PREEMPT_RT kernels switch back to
# normal grace periods after boot unless told not to.
STRESS_APPEND='rcupdate.rcu_expedited=1 rcupdate.rcu_normal_after_boot=0'
CYCLES=10000
# Where the modules carry .BTF.base (Debian 13's and sid's kernels), each
# load relocates their BTF against the kernel's, and under emulation that
# is most of a cycle: on 6.12.118+deb13, 68 ms a cycle as built against
# 16 ms without the BTF sections (300 cycles each, loaded host), so
# 10,000 would take ten minutes a kernel.  There the 10,000 cycles run on
# copies without BTF, which stress the same code of ours, and 1,000 more
# on the modules as built, whose 48 kB slab tolerance still catches a
# leak of 48 bytes a cycle, in the relocation too.
BUILT_CYCLES=1000
# The sanitizer kernel's instrumentation makes a cycle cost ~0.18 s (with
# the two signature checks): 10,000 took 28 minutes.
if [ -n "${STRESS:-}" ]; then
	SANITIZER_CYCLES=10000 RACE_SECONDS=300
else
	SANITIZER_CYCLES=1000 RACE_SECONDS=30
fi
WARMUP=50
# Memory the cycles may leave behind, in kB, as measured around them after
# a warm-up: a 64-byte object leaked a cycle would exceed it even at 1000
# cycles; a module's code leaked (a few pages) at once.  Longer runs may
# leave SLAB_BYTES_PER_CYCLE more a cycle (slab_tolerance_for): sid's
# 7.2.13 kernel's own slabs grew by 40 and 44 kB over 10,000 cycles of
# our modules, which allocate nothing per load, in two runs (2026-12-02;
# 20 kB less over 2,000) and by 8 kB in a third (2026-12-03); Debian
# 12's by -20 to +8 kB.  A flat 48 left a margin of 4 kB.  7 bytes a
# cycle (68 kB at 10,000) keeps every leak of the smallest slab object,
# 8 bytes, once a cycle over the line.
SLAB_TOLERANCE_KB=48
SLAB_BYTES_PER_CYCLE=7
# On the sanitizer kernel, KASAN's stack depot and kmemleak's bookkeeping
# grow with the work done; kmemleak's scan is the exact check there.
SANITIZER_SLAB_TOLERANCE_KB=512
VMALLOC_TOLERANCE_KB=64
# The guest reports the kernel log lines that start an oops, a warning or
# a sanitizer report: VM_KERNEL_TROUBLE (tests/lib/vm.sh).

# slab_tolerance_for CYCLES: the unreclaimable slab CYCLES may leave, in
# kB: SLAB_BYTES_PER_CYCLE a cycle, at least SLAB_TOLERANCE_KB.
slab_tolerance_for() {
	_stf=$(($1 * SLAB_BYTES_PER_CYCLE / 1024))
	[ "$_stf" -ge "$SLAB_TOLERANCE_KB" ] || _stf=$SLAB_TOLERANCE_KB
	echo "$_stf"
}

build_modcycle() {
	if out=$(gcc -static -O2 -Wall -Wextra -Werror -o "$work/modcycle" \
		"$LKM_STACK_TOP/tests/reliability/modcycle.c" 2>&1); then
		pass "modcycle builds (static)"
	else
		fail "modcycle builds (static)" "a static binary" "$out"
		return 1
	fi
}

# modules_for KVER [MAKE-ARG...]: print the scratch tree with both
# modules built for KVER in one kbuild pass: the run's build of them
# (matrix_build's onepass tree, lib/builds.sh), which the build and lint
# stages judged, made first if this run has none.  Trees shared with the
# run are only read: signed_copy signs copies.
modules_for() {
	_builds=$(matrix_build "$@") || return 1
	if ! build_succeeded "$_builds" onepass; then
		tail -n 20 "$_builds/onepass.log" >&2
		return 1
	fi
	echo "$_builds/onepass"
}

# pack_guest ROOT KVER IMAGE-DIR MODS FOREIGN NAME=VALUE...: an
# initramfs for tests/reliability/guest.sh with MODS's modules in /root
# and installed for modprobe (and, if $nobtf_mods names a tree, its
# modules in /root/nobtf; if $signed_mods does, its modules in
# /root/signed, and those installed for modprobe instead), the core_lkm
# of each "LABEL KVER MODS" line of file FOREIGN in /root/foreign/LABEL,
# and the guest parameters NAME (vm_initramfs_set_param),
# kernel_trouble among them.
pack_guest() {
	_root=$1 _kver=$2 _image=$3 _mods=$4 _foreign=$5
	shift 5
	vm_initramfs_init "$_root" "$LKM_STACK_TOP/tests/reliability/guest.sh"
	vm_initramfs_add_file "$_root" "$work/modcycle" /bin/modcycle 755
	vm_initramfs_add_file "$_root" "$_mods/src/core/core_lkm.ko" \
		/root/core_lkm.ko
	vm_initramfs_add_file "$_root" "$_mods/src/client/client_lkm.ko" \
		/root/client_lkm.ko
	while read -r _label _ _other; do
		vm_initramfs_add_file "$_root" "$_other/src/core/core_lkm.ko" \
			"/root/foreign/$_label/core_lkm.ko"
	done <"$_foreign"
	if [ -n "${nobtf_mods:-}" ]; then
		for _ko in core/core_lkm client/client_lkm; do
			vm_initramfs_add_file "$_root" "$nobtf_mods/src/$_ko.ko" \
				"/root/nobtf/${_ko#*/}.ko"
		done
	fi
	_installed=$_mods
	if [ -n "${signed_mods:-}" ]; then
		_installed=$signed_mods
		for _ko in core/core_lkm client/client_lkm; do
			vm_initramfs_add_file "$_root" "$signed_mods/src/$_ko.ko" \
				"/root/signed/${_ko#*/}.ko"
		done
	fi
	for _param in "$@"; do
		vm_initramfs_set_param "$_root" "${_param%%=*}" "${_param#*=}"
	done
	vm_initramfs_set_param "$_root" kernel_trouble "$VM_KERNEL_TROUBLE"
	vm_initramfs_add_modules "$_root" "$_kver" "$_image" \
		"$_installed/src/core/core_lkm.ko" \
		"$_installed/src/client/client_lkm.ko"
	vm_initramfs_pack "$_root" "$_root.cpio"
}

# boot_guest NAME KERNEL INITRD LOG: boot, and check the guest script ran
# to its end.  The checks of the log follow either way: each of a step
# the guest did not finish fails, saying so.
boot_guest() {
	echo "booting $1 ..."
	_start=$(date +%s)
	_status=0
	vm_boot "$2" "$3" "$4" || _status=$?
	echo "($1: guest finished after $(($(date +%s) - _start))s)"
	check_guest_done "$1" "$4" "$_status"
}

# check_guest_done NAME LOG QEMU-STATUS: the guest script ran to its end.
check_guest_done() {
	if [ -n "$(vm_guest_done "$2")" ]; then
		pass "$1: guest ran to its end"
	else
		fail "$1: guest ran to its end" "@@GUEST-DONE in the serial log" \
			"QEMU status $3; $(vm_guest_ending "$2"); log ends: $(tail -n 30 "$2")"
	fi
}

# meminfo_kb BLOCK FIELD: the value of FIELD in a memory_in_use block.
meminfo_kb() {
	printf '%s\n' "$1" | awk -v f="$2:" '$1 == f { print $2 }'
}

# tally COUNTS WHAT RESULT: how often modcycle counted RESULT for WHAT.
tally() {
	printf '%s\n' "$1" |
		sed -n "s/^modcycle: $2 $3=//p" | head -n 1 | grep . || echo 0
}

# check_cycles NAME LOG CYCLES SLAB-TOLERANCE-KB [STEP-PREFIX]: the
# cycles of the guest's steps PREFIXcycles, PREFIXmemory-before and so on
# (no prefix: the main cycles; "built-": nobtf's cycles as built).
check_cycles() {
	name=$1 log=$2 cycles=$3 p=${5:-}
	expect_step_status "$name: $cycles load/unload cycles" "$log" \
		"${p}cycles" 0
	expect_step_match "$name: every cycle completed" "$log" "${p}cycles" \
		"cycles=$cycles "
	echo "($name: $(vm_step_value "$log" "${p}cycles" grep -o 'cycles=.*'))"
	if [ "$(vm_step_state "$log" "${p}memory-before")" = complete ] &&
		[ "$(vm_step_state "$log" "${p}memory-after")" = complete ]; then
		before=$(vm_step_output "$log" "${p}memory-before")
		after=$(vm_step_output "$log" "${p}memory-after")
		echo "($name: memory before: $(printf '%s\n' "$before" | vm_join_lines);" \
			"after: $(printf '%s\n' "$after" | vm_join_lines))"
	fi
	for field in SUnreclaim VmallocUsed; do
		if [ $field = SUnreclaim ]; then
			tolerance=$4
		else
			tolerance=$VMALLOC_TOLERANCE_KB
		fi
		what="$name: $field back within ${tolerance} kB"
		require_steps "$what" "$log" "${p}memory-before" \
			"${p}memory-after" || continue
		b=$(meminfo_kb "$before" $field)
		a=$(meminfo_kb "$after" $field)
		if [ -n "$a" ] && [ -n "$b" ] &&
			[ $((a - b)) -le "$tolerance" ]; then
			pass "$what"
		else
			fail "$what" \
				"at most $((b + tolerance)) kB" "${a:-?} kB (before: ${b:-?})"
		fi
	done
	what="$name: module list back as before"
	if require_steps "$what" "$log" "${p}memory-before" \
		"${p}memory-after"; then
		expect_eq "$what" \
			"$(printf '%s\n' "$before" | grep modules:)" \
			"$(printf '%s\n' "$after" | grep modules:)"
	fi
	expect_step_empty "$name: no kernel reports during the cycles" "$log" \
		"${p}cycles-reports"
}

# check_cpu1 NAME LOG STEP ONLINE: the guest set CPU 1 offline (0) or
# online (1) in STEP, leaving CPU 0 alone or both online.
check_cpu1() {
	if [ "$4" = 0 ]; then
		_what="$1: CPU 1 offline for the cycles and the bad input"
		_cpus=0
	else
		_what="$1: CPU 1 back online for the race"
		_cpus=0-1
	fi
	expect_step_eq "$_what" "$2" "$3" "$_cpus"
}

check_race() {
	name=$1 log=$2
	vm_step_output "$log" race | sed "s/^/($name) /"
	expect_step_status "$name: race: every rule held" "$log" race 0
	expect_step_no_match "$name: race: only documented refusals" "$log" race \
		UNEXPECTED
	expect_step_match "$name: race: consistent end state, both unloaded" \
		"$log" race '^modcycle: end state '
	for what in "load client_lkm ok" "unload core_lkm EAGAIN" \
		"load client_lkm ENOENT"; do
		require_steps "$name: race: $what happened" "$log" race || continue
		# shellcheck disable=SC2086 # WHAT splits into two words
		n=$(tally "$(vm_step_output "$log" race)" "race ${what% *}" ${what##* })
		if [ "$n" -gt 0 ]; then
			pass "$name: race: $what happened ($n times)"
		else
			fail "$name: race: $what happened" "at least once" "never"
		fi
	done
}

check_bad_magic() {
	name=$1 log=$2
	expect_step_status "$name: client loads with a wrong magic" "$log" \
		magic-wrong 0
	expect_step_match "$name: wrong magic: client logs the refusal (skey=0)" \
		"$log" magic-wrong-log \
		'client_lkm: loaded: exp_int=200, get_skey\(\) refused magic 0x3039 \(skey=0\)'
	expect_step_eq "$name: wrong magic: both loaded" "$log" magic-wrong-loaded \
		"client_lkm core_lkm" vm_join_lines
	expect_step_status "$name: wrong magic: both unload" "$log" \
		magic-wrong-rmmod 0
	expect_step_match "$name: magic=abc refused (-EINVAL)" "$log" magic-abc \
		'Invalid (argument|parameters)'
	expect_step_match "$name: magic=abc: the kernel says why" "$log" \
		magic-abc-log "client_lkm: \`abc' invalid for parameter \`magic'"
	expect_step_eq "$name: magic=abc: client not loaded" "$log" \
		magic-abc-loaded core_lkm vm_join_lines
}

check_fail_init() {
	name=$1 log=$2
	vm_step_output "$log" fail-init | sed "s/^/($name) /"
	expect_step_match "$name: fail_init=1: modprobe client_lkm fails clearly" \
		"$log" fail-init \
		"could not insert '(core|client)_lkm': Operation canceled"
	expect_step_match "$name: fail_init=1: core_lkm logs why" "$log" \
		fail-init-log 'core_lkm: init failed on request \(fail_init=1\)'
	expect_step_empty "$name: fail_init=1: nothing stays loaded" "$log" \
		fail-init-loaded
}

# modversions_agree KO OTHER-KO: whether a kernel that takes KO takes
# OTHER-KO too, both built from our source, OTHER-KO for another kernel.
# With CONFIG_MODVERSIONS the kernel compares the version magic after the
# release ("SMP preempt mod_unload modversions") and the CRC of each
# symbol the module uses; the release itself does not matter.
modversions_agree() {
	[ "$(modinfo -F vermagic "$1" | cut -d' ' -f2-)" = \
		"$(modinfo -F vermagic "$2" | cut -d' ' -f2-)" ] &&
		[ "$(modprobe --dump-modversions "$1")" = \
			"$(modprobe --dump-modversions "$2")" ]
}

# check_foreign NAME LOG LABEL FOREIGN-KVER KO FOREIGN-KO: the kernel
# judged FOREIGN-KO, built for FOREIGN-KVER, as its version checks say
# it must.  Most builds are refused; one from an earlier release of the
# same kernel whose symbol versions did not change is taken, which is
# why an upgrade needs the rebuild more than the kernel's check does.
check_foreign() {
	name=$1 log=$2 block=foreign-$3
	what="$name: module built for $4 ($3)"
	if modversions_agree "$5" "$6"; then
		echo "($what: same version magic and symbol CRCs, so the kernel must take it)"
		expect_step_status "$what: taken" "$log" "$block" 0
		expect_step_eq "$what: loaded" "$log" "$block-loaded" core_lkm \
			vm_join_lines
		expect_step_status "$what: unloads" "$log" "$block-rmmod" 0
		return
	fi
	# ENOEXEC when the version magic or struct module differ, EINVAL
	# when the CRC of a symbol it uses does.
	expect_step_match "$what: refused" "$log" "$block" \
		'Invalid module format|Invalid parameters'
	echo "($what: the kernel says: $(vm_step_output "$log" "$block-log"))"
	expect_step_match "$what: the kernel says why" "$log" "$block-log" \
		'this_module section size|version magic|disagrees about version|no symbol version'
	expect_step_empty "$what: nothing loaded" "$log" "$block-loaded"
}

# check_health NAME LOG ALLOWED-TAINT: no reports in the kernel log (the
# guest's own search of it, step reports) or on the console (the whole
# serial log, every step's output in it), only allowed taint flags: once
# a boot, whatever parts it ran.
check_health() {
	expect_step_empty "$1: no kernel reports" "$2" reports
	vm_expect_healthy "$1" "$2" "$3" tainted reports \
		"$1: taint flags only from our modules" \
		"$1: no oops, warning or sanitizer report on the console"
}

# check_kmemleak NAME LOG: kmemleak found nothing after the stress.
check_kmemleak() {
	expect_step_empty "$1: kmemleak finds no leak" "$2" kmemleak
}

# judge_cycles NAME LOG CYCLES SLAB-TOLERANCE-KB KMEMLEAK(0|1) FOREIGN
# KO [BUILT-CYCLES]: every check of the guest's cycles part (the cycles
# and the bad input); FOREIGN and KO as check_foreign's (FOREIGN:
# /dev/null for none).  With BUILT-CYCLES the boot was a nobtf one
# (stress_kernel): CYCLES on the copies without BTF, then BUILT-CYCLES on
# the modules as built.
judge_cycles() {
	if [ -n "${8:-}" ]; then
		check_cycles "$1, copies without BTF" "$2" "$3" "$4"
		check_cycles "$1, as built" "$2" "$8" \
			"$(slab_tolerance_for "$8")" built-
	else
		check_cycles "$1" "$2" "$3" "$4"
	fi
	[ "$5" = 0 ] || check_kmemleak "$1 cycles" "$2"
	check_bad_magic "$1" "$2"
	check_fail_init "$1" "$2"
	while read -r label fkver fmods; do
		check_foreign "$1" "$2" "$label" "$fkver" "$7" \
			"$fmods/src/core/core_lkm.ko"
	done <"$6"
	expect_step_empty "$1: no kernel reports during the bad input" "$2" \
		bad-input-reports
}

# judge_race NAME LOG KMEMLEAK(0|1): every check of the guest's race part.
judge_race() {
	check_race "$1" "$2"
	expect_step_empty "$1: no kernel reports during the race" "$2" \
		race-reports
	[ "$3" = 0 ] || expect_step_empty "$1: race: kmemleak finds no leak" \
		"$2" race-kmemleak
}

# has_distilled_btf MODS: MODS's modules carry .BTF.base, the distilled
# base BTF that Debian 13's and sid's pahole writes (Debian 12's does not).
has_distilled_btf() {
	readelf -SW "$1/src/core/core_lkm.ko" | grep -q ' \.BTF\.base '
}

# strip_btf NAME MODS DIR: DIR/src/{core,client}/*.ko, copies of MODS's
# modules without .BTF and .BTF.base, checked.
strip_btf() {
	what="$1: copies of the modules without .BTF and .BTF.base"
	for _ko in core/core_lkm client/client_lkm; do
		mkdir -p "$3/src/${_ko%/*}"
		objcopy --remove-section=.BTF --remove-section=.BTF.base \
			"$2/src/$_ko.ko" "$3/src/$_ko.ko" || true
	done
	_seen=$(readelf -SW "$3/src/core/core_lkm.ko" \
		"$3/src/client/client_lkm.ko" 2>&1 | grep -E ' \.BTF|Error' || true)
	if [ -s "$3/src/core/core_lkm.ko" ] &&
		[ -s "$3/src/client/client_lkm.ko" ] && [ -z "$_seen" ]; then
		pass "$what"
	else
		fail "$what" "both modules, no .BTF section" "${_seen:-a module missing}"
	fi
}

# stress_kernel NAME KVER IMAGE-DIR MODS FOREIGN ALLOWED-TAINT CONFIG
# [sanitizer]: boot KVER with two CPUs, CPU 1 offline for the cycles and
# the bad input (a second online CPU doubles a cycle's cost under
# emulation) and online for the race; then, if $signed_mods names a tree
# of modules signed with a key KVER does not trust, module.sig_enforce
# switched on and those refused.  Where KVER's configuration CONFIG has
# no CPU hotplug, two boots instead: one CPU for the cycles (and the
# refusals), two for the race.  Modules with .BTF.base cycle as
# BUILT_CYCLES says.  FOREIGN is pack_guest's.  The sanitizer kernel
# gets more memory for KASAN, is booted with module.sig_enforce=1 and
# scans for leaks.
stress_kernel() {
	name=$1 kver=$2 image=$3 mods=$4 foreign=$5 taint=$6 config=$7
	kernel=$image/boot/vmlinuz-$kver root=$work/root-$kver
	mem=512M append=$STRESS_APPEND kmemleak=0 cycles=$CYCLES
	slab_tolerance=$(slab_tolerance_for "$cycles")
	if [ "${8:-}" = sanitizer ]; then
		mem=1G append="$STRESS_APPEND module.sig_enforce=1" kmemleak=1
		cycles=$SANITIZER_CYCLES
		slab_tolerance=$SANITIZER_SLAB_TOLERANCE_KB
	fi
	nobtf=0 nobtf_mods='' built_cycles=''
	if has_distilled_btf "$mods"; then
		nobtf=1 nobtf_mods=$work/nobtf-$kver built_cycles=$BUILT_CYCLES
		strip_btf "$name" "$mods" "$nobtf_mods"
	fi
	refusals=''
	[ -z "${signed_mods:-}" ] || refusals=sig-enforce
	set -- cycles="$cycles" warmup=$WARMUP \
		kmemleak=$kmemleak nobtf=$nobtf built_cycles="$built_cycles" \
		race_seconds=$RACE_SECONDS
	log=$work/$kver.log
	if grep -qx 'CONFIG_HOTPLUG_CPU=y' "$config"; then
		pack_guest "$root" "$kver" "$image" "$mods" "$foreign" "$@" \
			mode="cycles race $refusals" one_cpu_cycles=1
		VM_SMP=2 VM_MEM=$mem VM_APPEND=$append \
			VM_TIMEOUT=$((RACE_SECONDS + 3600)) \
			boot_guest "$name" "$kernel" "$root.cpio" "$log"
		check_cpu1 "$name" "$log" cpu1-offline 0
		judge_cycles "$name" "$log" "$cycles" "$slab_tolerance" \
			"$kmemleak" "$foreign" "$mods/src/core/core_lkm.ko" \
			"$built_cycles"
		check_cpu1 "$name" "$log" cpu1-online 1
		judge_race "$name" "$log" "$kmemleak"
		[ -z "$refusals" ] || judge_sig_enforce "$name" "$log"
		check_health "$name" "$log" "$taint"
		nobtf_mods='' signed_mods=''
		return
	fi
	echo "($name: $config has no CONFIG_HOTPLUG_CPU=y: the race gets a boot of its own)"
	pack_guest "$root" "$kver" "$image" "$mods" "$foreign" "$@" \
		mode="cycles $refusals"
	nobtf_mods='' signed_mods=''
	VM_SMP=1 VM_MEM=$mem VM_APPEND=$append VM_TIMEOUT=3600 \
		boot_guest "$name cycles" "$kernel" "$root.cpio" "$log"
	judge_cycles "$name" "$log" "$cycles" "$slab_tolerance" "$kmemleak" \
		"$foreign" "$mods/src/core/core_lkm.ko" "$built_cycles"
	[ -z "$refusals" ] || judge_sig_enforce "$name" "$log"
	check_health "$name cycles" "$log" "$taint"
	pack_guest "$root" "$kver" "$image" "$mods" /dev/null "$@" mode=race
	log=$work/$kver-race.log
	VM_SMP=2 VM_MEM=$mem VM_APPEND=$append \
		VM_TIMEOUT=$((RACE_SECONDS + 600)) \
		boot_guest "$name race" "$kernel" "$root.cpio" "$log"
	judge_race "$name" "$log" "$kmemleak"
	check_health "$name race" "$log" "$taint"
}

# stress_debian KVER: every stress and bad-input check on a Debian
# kernel, and the refusals under module.sig_enforce where KVER is one of
# sig_enforce_kernels: our modules signed with a key it does not trust
# (DKMS's MOK, not enrolled), as Secure Boot users meet it.
stress_debian() {
	kver=$1
	section "stress, bad input and signatures: $kver"
	if ! image=$(kernel_image_dir "$kver") ||
		! mods=$(modules_for "$kver") ||
		! foreign_modules "$kver" >"$work/foreign-$kver"; then
		fail "$kver: kernel and modules ready" "image and builds" \
			"see above"
		return
	fi
	signed_mods=''
	if printf '%s\n' "$sig_kvers" | grep -qxF "$kver"; then
		signed_mods=$work/signed-$kver
		# sign-file appends the same PKCS#7 signature for every
		# release's kernel; the other releases' copies, in their roots,
		# are linked against their own libssl, so this host's release's
		# signs for all.
		sign_kver=$kver
		kernel_builds_on_host "$kver" || sign_kver=$(sig_enforce_kernel)
		if ! signed_copy "$mods" "$signed_mods" \
			"/lib/modules/$sign_kver/build/scripts/sign-file"; then
			fail "$kver: kernel and modules ready" "modules signed" \
				"see above"
			return
		fi
	fi
	stress_kernel "$kver" "$kver" "$image" "$mods" "$work/foreign-$kver" \
		$((VM_TAINT_OUT_OF_TREE | VM_TAINT_UNSIGNED)) \
		"$image/boot/config-$kver"
}

# foreign_modules KVER: the foreign_kernels of KVER (tests/lib/kernels.sh)
# with their builds, as "LABEL KVER MODS" lines.
foreign_modules() {
	foreign_kernels "$1" | while read -r _label _kver; do
		_mods=$(modules_for "$_kver" </dev/null) || return 1
		echo "$_label $_kver $_mods"
	done
}

# judge_sig_enforce NAME LOG: every check of the guest's sig-enforce part.
judge_sig_enforce() {
	expect_step_eq "$1: module.sig_enforce switched on" "$2" \
		sig-enforce-on Y
	vm_step_output "$2" sig-insmod | sed "s/^/($1) /"
	vm_step_output "$2" sig-modprobe | sed "s/^/($1) /"
	expect_step_match "$1: insmod refused" "$2" sig-insmod \
		'Key was rejected by service'
	expect_step_match "$1: modprobe client_lkm refused" "$2" sig-modprobe \
		"could not insert '(core|client)_lkm': Key was rejected by service"
	expect_step_match "$1: the kernel says why" "$2" sig-log \
		'Loading of module with unavailable key is rejected'
	expect_step_empty "$1: nothing loaded" "$2" sig-loaded
}

# stress_sanitizer: the stress and bad input on the sanitizer kernel,
# booted with module.sig_enforce=1, our modules signed with the key it
# trusts; then a kmemleak scan.
stress_sanitizer() {
	section "stress and bad input: sanitizer kernel"
	start=$(date +%s)
	if ! dir=$(sanitizer_kernel_dir); then
		fail "sanitizer kernel builds" "a bzImage" "see above"
		return
	fi
	pass "sanitizer kernel builds ($(($(date +%s) - start))s)"
	kver=$(cat "$dir/kernelrelease")
	debian=$(sanitizer_debian_kernel)
	if ! mods=$(modules_for "$kver" KDIR="$dir/build") ||
		! other=$(modules_for "$debian"); then
		fail "$kver: modules build" "both modules" "see above"
		return
	fi
	# The Debian kernel's modules signed too, or the kernel would refuse
	# them for their signature before looking at their version.
	signed=$work/signed-$kver
	other_signed=$work/signed-$debian
	if ! signed_copy "$mods" "$signed" "$dir/build/scripts/sign-file" ||
		! signed_copy "$other" "$other_signed" \
			"$dir/build/scripts/sign-file"; then
		fail "$kver: modules build" "both modules, signed" "see above"
		return
	fi
	echo "debian-build $debian $other_signed" >"$work/foreign-$kver"
	signed_mods=''
	stress_kernel "$kver sig_enforce=1" "$kver" "$dir/image" "$signed" \
		"$work/foreign-$kver" $VM_TAINT_OUT_OF_TREE "$dir/build/.config" \
		sanitizer
}

main() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-reliability.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	export VM_PROGRESS=1
	# Under tests/run the build stage has already built the modules.
	: "${LKM_STACK_BUILDS:=$work/builds}"

	build_modcycle
	# The refusals ride on the stress boots: a kernel that is not among
	# them would go untested, which the check below would say.
	sig_kvers=$(sig_enforce_kernels)
	stress_kvers=$(reliability_kernels)
	for kver in $stress_kvers; do
		stress_debian "$kver"
	done
	for kver in $sig_kvers; do
		printf '%s\n' "$stress_kvers" | grep -qxF "$kver" ||
			fail "$kver: module.sig_enforce refusals" \
				"one of the reliability kernels" "not booted"
	done
	if [ "${LKM_STACK_SANITIZER:-1}" = 0 ]; then
		section "stress and bad input: sanitizer kernel"
		echo "LEFT OUT: the sanitizer kernel (LKM_STACK_SANITIZER=0); none of its checks ran"
	else
		stress_sanitizer
	fi

	[ "${LKM_STACK_SUITE:-}" ] || summary
}

[ -n "${LKM_STACK_JUDGE_ONLY:-}" ] || main
