#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Reliability and security of the pair, each kernel booted in QEMU:
#  - load/unload cycles through finit_module()/delete_module()
#    (tests/stress/modcycle.c), with slab and vmalloc memory back where
#    they were after them;
#  - a race of loaders, unloaders and sysfs readers on two CPUs, every
#    refusal carrying a documented errno and a consistent end state;
#  - bad input: a wrong and a malformed "magic", core_lkm's fail_init,
#    modules built for other kernels (the other series, another flavour,
#    the previous release), whose verdict must be modversions';
#  - a Debian kernel booted with module.sig_enforce=1 refusing modules
#    signed with a key it does not trust;
#  - all of it on the sanitizer kernel (tests/lib/sanitizer-kernel.sh:
#    KASAN, UBSAN, kmemleak, lockdep, ...) with module.sig_enforce=1 and
#    modules signed by the DKMS-style key it trusts, plus a kmemleak scan.
# Any oops, warning or sanitizer report fails, and is shown.
#
#   STRESS=1   10,000 cycles on the sanitizer kernel too, and a longer
#              race
set -eu
. "$(dirname "$0")/lib/report.sh"
. "$(dirname "$0")/lib/kernels.sh"
. "$(dirname "$0")/lib/scratch.sh"
. "$(dirname "$0")/lib/vm.sh"
. "$(dirname "$0")/lib/sanitizer-kernel.sh"

# Every unload waits for an RCU grace period.  Under emulation an idle
# grace period costs ~25 ms, ten times the work of a whole cycle, so the
# stress boots ask the kernel to expedite grace periods (force them
# instead of waiting for them): the same code paths run, and a cycle
# takes 6-9 ms instead of 50-60.  PREEMPT_RT kernels switch back to
# normal grace periods after boot unless told not to.
STRESS_APPEND='rcupdate.rcu_expedited=1 rcupdate.rcu_normal_after_boot=0'
CYCLES=10000
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
# cycles; a module's code leaked (a few pages) at once.
SLAB_TOLERANCE_KB=48
# On the sanitizer kernel, KASAN's stack depot and kmemleak's bookkeeping
# grow with the work done; kmemleak's scan is the exact check there.
SANITIZER_SLAB_TOLERANCE_KB=512
VMALLOC_TOLERANCE_KB=64
# Kernel log lines that start an oops, a warning or a sanitizer report.
KERNEL_REPORTS='BUG:|WARNING:|Oops|general protection|Kernel panic|KASAN|UBSAN|kmemleak:|possible (circular|recursive)|inconsistent lock|lockdep|ODEBUG|list_(add|del) corruption|Call Trace'

work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-reliability.XXXXXX")
trap 'rm -rf "$work"' EXIT
export VM_PROGRESS=1

# foreign_kernels KVER: the kernels whose modules KVER is given, as
# "LABEL KVER" lines: the other series, the other flavour of the same
# release, and for the newest amd64 kernels the previous release.
foreign_kernels() {
	case $1 in
	6.1.*) _series=6.1 _other_series=6.12 ;;
	*) _series=6.12 _other_series=6.1 ;;
	esac
	case $1 in
	*-rt-amd64) _other_flavour=amd64 ;;
	*) _other_flavour=rt-amd64 ;;
	esac
	echo "other-series $(newest_kernel $_other_series amd64)"
	echo "other-flavour $(newest_kernel $_series $_other_flavour)"
	if [ "$1" = "$(newest_kernel $_series amd64)" ]; then
		_previous=$(previous_kernel $_series amd64)
		[ -z "$_previous" ] || echo "previous-release $_previous"
	fi
}

build_modcycle() {
	if out=$(gcc -static -O2 -Wall -Wextra -Werror -o "$work/modcycle" \
		"$LKM_STACK_TOP/tests/stress/modcycle.c" 2>&1); then
		pass "modcycle builds (static)"
	else
		fail "modcycle builds (static)" "a static binary" "$out"
		return 1
	fi
}

# modules_for KVER [MAKE-ARG...]: print a scratch tree with both modules
# built for KVER, building it on first use.
modules_for() {
	_mods=$work/mods/$1
	if [ ! -f "$_mods/src/client/client_lkm.ko" ]; then
		vm_build_modules "$_mods" "$@" ||
			{ tail -n 20 "$_mods/build.log" >&2; return 1; }
	fi
	echo "$_mods"
}

# sign_modules SIGN-FILE MODS: sign both modules of scratch tree MODS with
# the DKMS-style test key.
sign_modules() {
	sanitizer_sign "$1" "$2/src/core/core_lkm.ko" \
		"$2/src/client/client_lkm.ko"
}

# pack_guest ROOT KVER IMAGE-DIR MODS FOREIGN ENV...: an initramfs for
# tests/stress/guest.sh with MODS's modules in /root and installed for
# modprobe, the core_lkm of each "LABEL KVER MODS" line of file FOREIGN
# in /root/foreign/LABEL, and the ENV assignments in /guest/env.
pack_guest() {
	_root=$1 _kver=$2 _image=$3 _mods=$4 _foreign=$5
	shift 5
	vm_initramfs_init "$_root" "$LKM_STACK_TOP/tests/stress/guest.sh"
	vm_initramfs_add_file "$_root" "$work/modcycle" /bin/modcycle 755
	vm_initramfs_add_file "$_root" "$_mods/src/core/core_lkm.ko" \
		/root/core_lkm.ko
	vm_initramfs_add_file "$_root" "$_mods/src/client/client_lkm.ko" \
		/root/client_lkm.ko
	while read -r _label _ _other; do
		vm_initramfs_add_file "$_root" "$_other/src/core/core_lkm.ko" \
			"/root/foreign/$_label/core_lkm.ko"
	done <"$_foreign"
	printf '%s\n' "$@" "KERNEL_REPORTS='$KERNEL_REPORTS'" >"$work/env"
	vm_initramfs_add_file "$_root" "$work/env" /guest/env
	vm_initramfs_add_modules "$_root" "$_kver" "$_image" \
		"$_mods/src/core/core_lkm.ko" "$_mods/src/client/client_lkm.ko"
	vm_initramfs_pack "$_root" "$_root.cpio"
}

# boot_guest NAME KERNEL INITRD LOG: boot, and check the guest script ran
# to its end.
boot_guest() {
	echo "booting $1 ..."
	_start=$(date +%s)
	_status=0
	vm_boot "$2" "$3" "$4" || _status=$?
	echo "($1: guest finished after $(($(date +%s) - _start))s)"
	if [ -n "$(vm_guest_done "$4")" ]; then
		pass "$1: guest ran to its end"
	else
		fail "$1: guest ran to its end" "@@GUEST-DONE in the serial log" \
			"QEMU status $_status; log ends: $(tail -n 30 "$4")"
		return 1
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

# one_line TEXT: TEXT's lines joined by spaces.
one_line() {
	printf '%s\n' "$1" | paste -sd' '
}

check_no_reports() {
	expect_eq "$1" "" "$2"
}

# check_cycles NAME LOG CYCLES SLAB-TOLERANCE-KB
check_cycles() {
	name=$1 log=$2 cycles=$3
	out=$(vm_block "$log" cycles)
	expect_eq "$name: $cycles load/unload cycles" 0 \
		"$(vm_block_status "$log" cycles)"
	expect_match "$name: every cycle completed" "cycles=$cycles " "$out"
	echo "($name: $(printf '%s\n' "$out" | grep -o 'cycles=.*'))"
	before=$(vm_block "$log" memory-before)
	after=$(vm_block "$log" memory-after)
	echo "($name: memory before: $(one_line "$before");" \
		"after: $(one_line "$after"))"
	for field in SUnreclaim VmallocUsed; do
		if [ $field = SUnreclaim ]; then
			tolerance=$4
		else
			tolerance=$VMALLOC_TOLERANCE_KB
		fi
		b=$(meminfo_kb "$before" $field)
		a=$(meminfo_kb "$after" $field)
		if [ -n "$a" ] && [ -n "$b" ] &&
			[ $((a - b)) -le "$tolerance" ]; then
			pass "$name: $field back within ${tolerance} kB"
		else
			fail "$name: $field back within ${tolerance} kB" \
				"at most $((b + tolerance)) kB" "${a:-?} kB (before: ${b:-?})"
		fi
	done
	expect_eq "$name: module list back as before" \
		"$(printf '%s\n' "$before" | grep modules:)" \
		"$(printf '%s\n' "$after" | grep modules:)"
	check_no_reports "$name: no kernel reports during the cycles" \
		"$(vm_block "$log" cycles-reports)"
}

check_race() {
	name=$1 log=$2
	out=$(vm_block "$log" race)
	printf '%s\n' "$out" | sed "s/^/($name) /"
	expect_eq "$name: race: every rule held" 0 \
		"$(vm_block_status "$log" race)"
	expect_no_match "$name: race: only documented refusals" UNEXPECTED \
		"$out"
	expect_match "$name: race: consistent end state, both unloaded" \
		'^modcycle: end state ' "$out"
	for what in "load client_lkm ok" "unload core_lkm EAGAIN" \
		"load client_lkm ENOENT"; do
		# shellcheck disable=SC2086 # WHAT splits into two words
		n=$(tally "$out" "race ${what% *}" ${what##* })
		if [ "$n" -gt 0 ]; then
			pass "$name: race: $what happened ($n times)"
		else
			fail "$name: race: $what happened" "at least once" "never"
		fi
	done
}

check_bad_magic() {
	name=$1 log=$2
	expect_eq "$name: client loads with a wrong magic" 0 \
		"$(vm_block_status "$log" magic-wrong)"
	expect_match "$name: wrong magic: client logs the refusal (skey=0)" \
		'client_lkm: loaded: exp_int=200, get_skey\(\) refused magic 0x3039 \(skey=0\)' \
		"$(vm_block "$log" magic-wrong-log)"
	expect_eq "$name: wrong magic: both loaded" "client_lkm core_lkm" \
		"$(one_line "$(vm_block "$log" magic-wrong-loaded)")"
	expect_eq "$name: wrong magic: both unload" 0 \
		"$(vm_block_status "$log" magic-wrong-rmmod)"
	expect_match "$name: magic=abc refused (-EINVAL)" 'Invalid (argument|parameters)' \
		"$(vm_block "$log" magic-abc)"
	expect_match "$name: magic=abc: the kernel says why" \
		"client_lkm: \`abc' invalid for parameter \`magic'" \
		"$(vm_block "$log" magic-abc-log)"
	expect_eq "$name: magic=abc: client not loaded" core_lkm \
		"$(one_line "$(vm_block "$log" magic-abc-loaded)")"
}

check_fail_init() {
	name=$1 log=$2
	vm_block "$log" fail-init | sed "s/^/($name) /"
	expect_match "$name: fail_init=1: modprobe client_lkm fails clearly" \
		"could not insert '(core|client)_lkm': Operation canceled" \
		"$(vm_block "$log" fail-init)"
	expect_match "$name: fail_init=1: core_lkm logs why" \
		'core_lkm: init failed on request \(fail_init=1\)' \
		"$(vm_block "$log" fail-init-log)"
	expect_eq "$name: fail_init=1: nothing stays loaded" "" \
		"$(vm_block "$log" fail-init-loaded)"
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
		expect_eq "$what: taken" 0 "$(vm_block_status "$log" "$block")"
		expect_eq "$what: loaded" core_lkm \
			"$(one_line "$(vm_block "$log" "$block-loaded")")"
		expect_eq "$what: unloads" 0 \
			"$(vm_block_status "$log" "$block-rmmod")"
		return
	fi
	# ENOEXEC when the version magic or struct module differ, EINVAL
	# when the CRC of a symbol it uses does.
	expect_match "$what: refused" 'Invalid module format|Invalid parameters' \
		"$(vm_block "$log" "$block")"
	out=$(vm_block "$log" "$block-log")
	echo "($what: the kernel says: $out)"
	expect_match "$what: the kernel says why" \
		'this_module section size|version magic|disagrees about version|no symbol version' \
		"$out"
	expect_eq "$what: nothing loaded" "" \
		"$(vm_block "$log" "$block-loaded")"
}

# check_health NAME LOG ALLOWED-TAINT: no reports in the kernel log or on
# the console, only allowed taint flags.
check_health() {
	check_no_reports "$1: no kernel reports" "$(vm_block "$2" reports)"
	expect_no_match "$1: no oops, warning or sanitizer report on the console" \
		"$KERNEL_REPORTS" \
		"$(sed -n '/^@@GUEST-START/,/^@@GUEST-DONE/p' "$2")"
	tainted=$(vm_block "$2" tainted)
	expect_eq "$1: taint flags only from our modules" 0 \
		"$(( ${tainted:-1} & ~$3 ))"
}

# check_kmemleak NAME LOG: kmemleak found nothing after the stress.
check_kmemleak() {
	check_no_reports "$1: kmemleak finds no leak" "$(vm_block "$2" kmemleak)"
}

# stress_kernel NAME KVER IMAGE-DIR MODS FOREIGN ALLOWED-TAINT
# [sanitizer]: boot KVER twice, with one CPU for the cycles and the bad
# input (a second CPU doubles a cycle's cost under emulation), with two
# for the race.  FOREIGN is pack_guest's.  The sanitizer kernel gets
# more memory for KASAN, is booted with module.sig_enforce=1 and scans
# for leaks.
stress_kernel() {
	name=$1 kver=$2 image=$3 mods=$4 foreign=$5 taint=$6
	kernel=$image/boot/vmlinuz-$kver root=$work/root-$kver
	mem=512M append=$STRESS_APPEND kmemleak=0 cycles=$CYCLES
	slab_tolerance=$SLAB_TOLERANCE_KB
	if [ "${7:-}" = sanitizer ]; then
		mem=1G append="$STRESS_APPEND module.sig_enforce=1" kmemleak=1
		cycles=$SANITIZER_CYCLES
		slab_tolerance=$SANITIZER_SLAB_TOLERANCE_KB
	fi
	pack_guest "$root" "$kver" "$image" "$mods" "$foreign" \
		MODE=cycles CYCLES="$cycles" WARMUP=$WARMUP KMEMLEAK=$kmemleak
	log=$work/$kver-cycles.log
	if VM_SMP=1 VM_MEM=$mem VM_APPEND=$append VM_TIMEOUT=3600 \
		boot_guest "$name cycles" "$kernel" "$root.cpio" "$log"; then
		check_cycles "$name" "$log" "$cycles" "$slab_tolerance"
		[ $kmemleak = 0 ] || check_kmemleak "$name cycles" "$log"
		check_bad_magic "$name" "$log"
		check_fail_init "$name" "$log"
		while read -r label fkver fmods; do
			check_foreign "$name" "$log" "$label" "$fkver" \
				"$mods/src/core/core_lkm.ko" \
				"$fmods/src/core/core_lkm.ko"
		done <"$foreign"
		check_health "$name cycles" "$log" "$taint"
	fi
	pack_guest "$root" "$kver" "$image" "$mods" /dev/null \
		MODE=race RACE_SECONDS=$RACE_SECONDS KMEMLEAK=$kmemleak
	log=$work/$kver-race.log
	if VM_SMP=2 VM_MEM=$mem VM_APPEND=$append \
		VM_TIMEOUT=$((RACE_SECONDS + 600)) \
		boot_guest "$name race" "$kernel" "$root.cpio" "$log"; then
		check_race "$name" "$log"
		[ $kmemleak = 0 ] || check_kmemleak "$name race" "$log"
		check_health "$name race" "$log" "$taint"
	fi
}

# stress_debian KVER: every stress and bad-input check on a Debian kernel.
stress_debian() {
	kver=$1
	section "stress and bad input: $kver"
	if ! image=$(kernel_image_dir "$kver") ||
		! mods=$(modules_for "$kver") ||
		! foreign_modules "$kver" >"$work/foreign-$kver"; then
		fail "$kver: kernel and modules ready" "image and builds" \
			"see above"
		return
	fi
	stress_kernel "$kver" "$kver" "$image" "$mods" "$work/foreign-$kver" \
		$((VM_TAINT_OUT_OF_TREE | VM_TAINT_UNSIGNED))
}

# foreign_modules KVER: the foreign_kernels of KVER with their builds, as
# "LABEL KVER MODS" lines.
foreign_modules() {
	foreign_kernels "$1" | while read -r _label _kver; do
		_mods=$(modules_for "$_kver" </dev/null) || return 1
		echo "$_label $_kver $_mods"
	done
}

# sig_enforce_debian KVER: KVER booted with module.sig_enforce=1 refuses
# our modules signed with a key it does not trust (DKMS's MOK, not
# enrolled), as Secure Boot users meet it.
sig_enforce_debian() {
	kver=$1
	section "signature enforcement: $kver"
	if ! image=$(kernel_image_dir "$kver") ||
		! mods=$(modules_for "$kver"); then
		fail "$kver: kernel and modules ready" "image and builds" \
			"see above"
		return
	fi
	signed=$work/signed-$kver
	rm -rf "$signed"
	cp -a "$mods" "$signed"
	sign_modules "/lib/modules/$kver/build/scripts/sign-file" "$signed"
	pack_guest "$work/root-sig-$kver" "$kver" "$image" "$signed" \
		"$signed" MODE=sig-enforce
	log=$work/sig-$kver.log
	VM_SMP=1 VM_MEM=512M VM_APPEND=module.sig_enforce=1 \
		boot_guest "$kver sig_enforce=1" \
		"$image/boot/vmlinuz-$kver" "$work/root-sig-$kver.cpio" "$log" ||
		return 0
	vm_block "$log" sig-insmod | sed "s/^/($kver sig_enforce=1) /"
	vm_block "$log" sig-modprobe | sed "s/^/($kver sig_enforce=1) /"
	expect_match "$kver sig_enforce=1: insmod refused" \
		'Key was rejected by service' "$(vm_block "$log" sig-insmod)"
	expect_match "$kver sig_enforce=1: modprobe client_lkm refused" \
		"could not insert '(core|client)_lkm': Key was rejected by service" \
		"$(vm_block "$log" sig-modprobe)"
	expect_match "$kver sig_enforce=1: the kernel says why" \
		'Loading of module with unavailable key is rejected' \
		"$(vm_block "$log" sig-log)"
	expect_eq "$kver sig_enforce=1: nothing loaded" "" \
		"$(vm_block "$log" sig-loaded)"
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
	debian=$(newest_kernel 6.12 amd64)
	if ! mods=$(modules_for "$kver" KDIR="$dir/build") ||
		! other=$(modules_for "$debian"); then
		fail "$kver: modules build" "both modules" "see above"
		return
	fi
	# Signed too, or the kernel would refuse it for its signature
	# before looking at its version.
	other_signed=$work/signed-$debian
	rm -rf "$other_signed"
	cp -a "$other" "$other_signed"
	sign_modules "$dir/build/scripts/sign-file" "$mods"
	sign_modules "$dir/build/scripts/sign-file" "$other_signed"
	echo "debian-build $debian $other_signed" >"$work/foreign-$kver"
	stress_kernel "$kver sig_enforce=1" "$kver" "$dir/image" "$mods" \
		"$work/foreign-$kver" $VM_TAINT_OUT_OF_TREE sanitizer
}

build_modcycle
for kver in $(kernel_matrix); do
	stress_debian "$kver"
done
sig_enforce_debian "$(newest_kernel 6.12 amd64)"
stress_sanitizer

[ "${LKM_STACK_SUITE:-}" ] || summary
