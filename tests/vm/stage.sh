#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runtime checks in real Debian kernels: for each kernel, build both
# modules from the working tree, boot the kernel's image package in QEMU
# once, and run every scenario of the original walkthrough there
# (tests/vm/guest.sh), then judge the guest's results here.  Then the
# same on the sanitizer kernel (tests/lib/sanitizer-kernel.sh), booted
# with module.sig_enforce=1 and our modules signed with the key it trusts.
#
#   LKM_STACK_KERNELS="kver..."  Debian kernels to boot, of any release
#                                (default: vm_kernels of
#                                tests/lib/kernels.sh: Debian 12's amd64
#                                6.1 and 6.12, the newest Debian 13 amd64
#                                and sid's amd64)
#   LKM_STACK_SANITIZER=0        leave the sanitizer kernel out (a local
#                                run; it is said so, and nothing passes
#                                for it)
#
# Every check reads the guest through the strict readers of
# tests/lib/vm.sh.  tests/selftest/stage.sh sources this file with
# LKM_STACK_JUDGE_ONLY=1 (nothing runs then) and judges throwaway logs
# with judge_kernel, the very checks below.
set -eu
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/../lib/kernels.sh"
. "$(dirname "$0")/../lib/scratch.sh"
. "$(dirname "$0")/../lib/builds.sh"
. "$(dirname "$0")/../lib/vm.sh"
. "$(dirname "$0")/../lib/sanitizer-kernel.sh"

version=$(cat "$LKM_STACK_TOP/VERSION")

# Loading and unloading the stack this many times (the guest reads the
# number with guest_param cycles) may leave at most this much more slab
# memory in use: a leak of 640 bytes a cycle would show, while the few kB
# that per-CPU and RCU-freed objects add or take between two samples do
# not.
CYCLES=200
SLAB_TOLERANCE_KB=128
# Each modprobe costs seconds on the sanitizer kernel under emulation;
# tests/reliability/stage.sh cycles it a thousand times without modprobe.
SANITIZER_CYCLES=20


# Mostly for the 200 modprobe cycles, each kernel takes 1.5-3 minutes of
# CPU under TCG: all six kernels of Debian 12's matrix took 10.5 CPU
# minutes, more than this stage's share of CI, so by default only the
# amd64 flavour of each release is booted (vm_kernels,
# tests/lib/kernels.sh; LKM_STACK_KERNELS names others).

# is_number TEXT: TEXT is a decimal number.
is_number() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	*) return 0 ;;
	esac
}

# Filters (tests/lib/vm.sh's vm_step_value) deriving values from a step's
# output on their standard input.
#
# loaded_values MODULE: "EXP_INT SKEY" as MODULE logged them when it
# loaded, from a step's kernel log lines; a note if it did not.
loaded_values() {
	_values=$(sed -En "s/.*$1: loaded: exp_int=([0-9]+) skey=(0x[0-9a-f]+).*/\\1 \\2/p")
	echo "${_values:-($1 logged no values)}"
}

# lkm_events: the modules' load and unload messages in order, on one line.
lkm_events() {
	grep -oE '(core|client)_lkm: (loaded|unloaded)' | vm_join_lines
}

# insmod_order: the modules "modprobe --show-depends" would insmod, in
# order, on one line.
insmod_order() {
	sed -n 's|^insmod .*/||p' | tr -d ' ' | vm_join_lines
}

# file_names: the last path component of each line, on one line.
file_names() {
	sed 's|.*/||' | vm_join_lines
}

# without_timing: the lines of modprobe_cycles's report but its "in N s".
without_timing() {
	grep -v '^in ' || true
}

# The checks of one boot: each takes the kernel release KVER and the
# serial log LOG of its boot first, then what else it judges by, and
# keeps its own variables local.

# check_modprobe_pulls_core KVER LOG SUFFIX (vm_module_suffix's)
check_modprobe_pulls_core() {
	local kver="$1" log="$2" suffix="$3"
	expect_step_status "$kver: 1 modprobe client_lkm succeeds (installed as *$suffix)" \
		"$log" s1-modprobe 0
	expect_step_eq "$kver: 1 modprobe loaded client_lkm and core_lkm" \
		"$log" s1-loaded "client_lkm core_lkm" vm_join_lines
	expect_step_eq "$kver: 1 modules.dep has modprobe load core_lkm first" \
		"$log" s1-show-depends "core_lkm$suffix client_lkm$suffix" \
		insmod_order
	expect_step_eq "$kver: 1 the kernel initialised core_lkm before client_lkm" \
		"$log" s1-kmsg "core_lkm: loaded client_lkm: loaded" lkm_events
}

# check_lsmod_refcounts KVER LOG
check_lsmod_refcounts() {
	local kver="$1" log="$2"
	expect_step_match "$kver: 2 lsmod: core_lkm used by 1, client_lkm" \
		"$log" s2-lsmod '^core_lkm +[0-9]+ +1 client_lkm *$'
	expect_step_match "$kver: 2 lsmod: client_lkm used by 0" \
		"$log" s2-lsmod '^client_lkm +[0-9]+ +0 *$'
}

# check_client_got_core_values KVER LOG
check_client_got_core_values() {
	local kver="$1" log="$2" core
	expect_step_match "$kver: 3 core_lkm logged exp_int=200 and a non-zero key" \
		"$log" s1-kmsg '^200 0x0*[1-9a-f]' loaded_values core_lkm
	# (if s1-kmsg is missing, this check fails on that, not on $core)
	core=$(vm_step_value "$log" s1-kmsg loaded_values core_lkm) || true
	expect_step_eq "$kver: 3 client_lkm logged the exp_int and key core_lkm has" \
		"$log" s1-kmsg "$core" loaded_values client_lkm
}

# check_core_pinned KVER LOG
check_core_pinned() {
	local kver="$1" log="$2"
	expect_step_status "$kver: 4 rmmod core_lkm refused while client_lkm is loaded" \
		"$log" s4-rmmod-core nonzero
	expect_step_match "$kver: 4 rmmod says core_lkm is in use by: client_lkm" \
		"$log" s4-rmmod-core 'in use by: client_lkm'
	expect_step_eq "$kver: 4 both modules stay loaded" \
		"$log" s4-loaded "client_lkm core_lkm" vm_join_lines
}

# check_modprobe_r_removes_both KVER LOG
check_modprobe_r_removes_both() {
	local kver="$1" log="$2"
	expect_step_status "$kver: 5 modprobe -r client_lkm succeeds" "$log" \
		s5-modprobe-r 0
	expect_step_empty "$kver: 5 modprobe -r removed both modules" \
		"$log" s5-loaded
	expect_step_eq "$kver: 5 the kernel unloaded client_lkm, then core_lkm" \
		"$log" s5-kmsg "client_lkm: unloaded core_lkm: unloaded" lkm_events
}

# check_client_alone_refused KVER LOG
check_client_alone_refused() {
	local kver="$1" log="$2" sym
	expect_step_status "$kver: 6 insmod client_lkm.ko without core_lkm refused" \
		"$log" s6-insmod-client nonzero
	expect_step_match "$kver: 6 insmod says Unknown symbol in module" \
		"$log" s6-insmod-client 'Unknown symbol in module'
	for sym in exp_int get_skey; do
		expect_step_match "$kver: 6 kernel log: Unknown symbol $sym (err -2)" \
			"$log" s6-kmsg "client_lkm: Unknown symbol $sym \\(err -2\\)"
	done
	expect_step_empty "$kver: 6 nothing stays loaded" "$log" s6-loaded
}

# check_step_by_step KVER LOG
check_step_by_step() {
	local kver="$1" log="$2"
	expect_step_status "$kver: 7 insmod core_lkm.ko" "$log" s7-insmod-core 0
	expect_step_status "$kver: 7 then insmod client_lkm.ko" "$log" \
		s7-insmod-client 0
	expect_step_status "$kver: 7 then rmmod client_lkm" "$log" \
		s7-rmmod-client 0
	expect_step_status "$kver: 7 then rmmod core_lkm" "$log" s7-rmmod-core 0
	expect_step_eq "$kver: 7 the kernel saw them in that order" "$log" s7-kmsg \
		"core_lkm: loaded client_lkm: loaded client_lkm: unloaded core_lkm: unloaded" \
		lkm_events
}

# check_separate_builds KVER LOG
check_separate_builds() {
	local kver="$1" log="$2" core
	expect_step_status "$kver: 8 separately built core_lkm.ko loads" "$log" \
		s8-insmod-core 0
	expect_step_status "$kver: 8 separately built client_lkm.ko loads on it" \
		"$log" s8-insmod-client 0
	expect_step_eq "$kver: 8 both loaded" "$log" s8-loaded \
		"client_lkm core_lkm" vm_join_lines
	expect_step_status "$kver: 8 both unload" "$log" s8-rmmod 0
	expect_step_no_match "$kver: 8 no symbol version complaints in the kernel log" \
		"$log" s8-kmsg 'disagrees about version of symbol|no symbol version'
	core=$(vm_step_value "$log" s8-kmsg loaded_values core_lkm) || true
	expect_step_eq "$kver: 8 client_lkm got core_lkm's values" \
		"$log" s8-kmsg "$core" loaded_values client_lkm
}

# check_modinfo KVER LOG SUFFIX
check_modinfo() {
	local kver="$1" log="$2" suffix="$3"
	expect_step_eq "$kver: 9 modinfo finds both installed as *$suffix" \
		"$log" s9-filename "client_lkm$suffix core_lkm$suffix" file_names
	expect_step_eq "$kver: 9 modinfo: client_lkm depends on core_lkm" \
		"$log" s9-depends core_lkm
	expect_step_eq "$kver: 9 modinfo: both versions are $version" \
		"$log" s9-version "$version $version" vm_join_lines
}

# taint_names MASK: the letters of the taint flags in MASK, as the checks
# name them ("O and E").
taint_names() {
	vm_taint_flags "$1" | sed 's/([0-9]*)//g; s/ / and /g'
}

# check_kernel_health KVER LOG ALLOWED-TAINT
check_kernel_health() {
	local kver="$1" log="$2" allowed="$3" name tainted
	name="$kver: 10 taint flags only $(taint_names "$allowed")"
	# The value in the name, when there is one (the check reads it
	# strictly).
	if tainted=$(vm_step_output "$log" s10-tainted) &&
		is_number "$tainted"; then
		name="$name (tainted=$tainted)"
	fi
	expect_step_match "$kver: 10 the guest dumped its kernel log" \
		"$log" s10-dmesg 'Linux version'
	# The console also holds what a guest that died could not dump.
	vm_expect_healthy "$kver: 10" "$log" "$allowed" \
		s10-tainted s10-dmesg "$name" \
		"$kver: 10 no Oops, BUG, WARNING or sanitizer report in the kernel log or on the console"
}

# check_cycles KVER LOG CYCLES
check_cycles() {
	local kver="$1" log="$2" cycles="$3" name result before after
	name="$kver: 11 $cycles modprobe/modprobe -r cycles succeed"
	if result=$(vm_step_output "$log" s11-cycles); then
		name="$name ($(printf '%s\n' "$result" | sed -n 's/^in //p'))"
	fi
	expect_step_eq "$name" "$log" s11-cycles \
		"$cycles of $cycles cycles succeeded" without_timing
	name="$kver: 11 the module list is back where it started"
	if require_steps "$name" "$log" s11-modules-before s11-modules-after; then
		expect_eq "$name" "$(vm_step_output "$log" s11-modules-before)" \
			"$(vm_step_output "$log" s11-modules-after)"
	fi
	name="$kver: 11 Slab back where it started"
	require_steps "$name" "$log" s11-slab-before s11-slab-after || return 0
	before=$(vm_step_output "$log" s11-slab-before)
	after=$(vm_step_output "$log" s11-slab-after)
	if is_number "$before" && is_number "$after" &&
		[ "$((after - before))" -le "$SLAB_TOLERANCE_KB" ]; then
		pass "$name (${before} kB -> ${after} kB)"
	else
		fail "$name" "at most $SLAB_TOLERANCE_KB kB more than '$before' kB" \
			"'$after' kB"
	fi
}

# check_guest_finished KVER LOG TIMEOUT QEMU-STATUS: the guest script ran
# to its end and the VM shut down within TIMEOUT seconds.
check_guest_finished() {
	local kver="$1" log="$2" timeout="$3" status="$4" seen
	seen="guest status $(vm_guest_done "$log"), QEMU status $status"
	[ "$status" -ne 124 ] || seen="$seen (killed after $timeout s)"
	if [ "$seen" = "guest status 0, QEMU status 0" ]; then
		pass "$kver: the guest ran every scenario and shut down"
	else
		fail "$kver: the guest ran every scenario and shut down" \
			"guest status 0, QEMU status 0" \
			"$seen; the serial console ended with:
$(tail -n 15 "$log")"
	fi
}

# judge_kernel KVER LOG SUFFIX CYCLES TIMEOUT ALLOWED-TAINT QEMU-STATUS:
# every check of the serial log LOG of a boot of KVER, whose modules were
# installed as *SUFFIX, which cycled them CYCLES times, was given TIMEOUT
# seconds, may show the taint flags ALLOWED-TAINT, and ended with
# QEMU-STATUS.
judge_kernel() {
	check_guest_finished "$1" "$2" "$5" "$7"
	check_modprobe_pulls_core "$1" "$2" "$3"
	check_lsmod_refcounts "$1" "$2"
	check_client_got_core_values "$1" "$2"
	check_core_pinned "$1" "$2"
	check_modprobe_r_removes_both "$1" "$2"
	check_client_alone_refused "$1" "$2"
	check_step_by_step "$1" "$2"
	check_separate_builds "$1" "$2"
	check_modinfo "$1" "$2" "$3"
	check_cycles "$1" "$2" "$4"
	check_kernel_health "$1" "$2" "$6"
}

# modules_built KVER BUILDS: both of matrix_build's builds in BUILDS
# (lib/builds.sh) succeeded; else the check of the build fails, showing
# why.
modules_built() {
	if build_succeeded "$2" onepass && build_succeeded "$2" steps; then
		return 0
	fi
	fail "$1: build the modules for the VM" "both builds succeed" \
		"$(tail -n 20 "$2/onepass.log" "$2/steps.log")"
	return 1
}

# pack_initramfs KVER IMAGE-DIR BUILDS CYCLES: the guest tree of
# tests/vm/guest.sh with the modules of BUILDS, packed to
# $work/KVER/initrd; the guest runs CYCLES load/unload cycles.  A kernel
# of another release than this host's gets that release's kmod and dash
# (from its root, tests/lib/release-roots.sh), as on a system running it.
pack_initramfs() {
	local root="$work/$1/root" build m userland=
	if ! kernel_builds_on_host "$1"; then
		userland=$(release_root_headers "$1") || return 1
		echo "$1: the guest gets $(release_root_run "$userland" "" kmod --version |
			head -n 1) and dash from the $(kernel_release_of "$1") root"
	fi
	vm_initramfs_init "$root" "$LKM_STACK_TOP/tests/vm/guest.sh" \
		"$userland" || return 1
	for build in onepass steps; do
		for m in core client; do
			vm_initramfs_add_file "$root" \
				"$3/$build/src/$m/${m}_lkm.ko" \
				"/root/$build/${m}_lkm.ko"
		done
	done
	vm_initramfs_add_modules "$root" "$1" "$2" \
		"$3/onepass/src/core/core_lkm.ko" \
		"$3/onepass/src/client/client_lkm.ko"
	# The guest runs as many cycles as check 11 expects.
	vm_initramfs_set_param "$root" cycles "$4"
	vm_initramfs_pack "$root" "$work/$1/initrd"
}

# lsmod_size LOG MODULE: its Size column in the guest's lsmod.
lsmod_size() {
	local lsmod
	if lsmod=$(vm_step_output "$1" s2-lsmod); then
		printf '%s\n' "$lsmod" | awk -v m="$2" '$1 == m { print $2 }'
	else
		echo '?'
	fi
}

# test_debian_kernel KVER: every scenario on a Debian kernel, or the
# reason it cannot boot.
test_debian_kernel() {
	local kver="$1" image builds
	section "vm: $kver"
	if ! image=$(kernel_image_dir "$kver"); then
		fail "$kver: fetch the kernel's image package" \
			"the package downloads" "apt-get download failed"
		return 1
	fi
	if ! ensure_headers "$kver"; then
		fail "$kver: headers" "linux-headers-$kver installed" \
			"not installable"
		return 1
	fi
	builds=$(matrix_build "$kver")
	modules_built "$kver" "$builds" || return 1
	test_kernel "$kver" "$image" "$builds" "$CYCLES" "" 512M 600 \
		$((VM_TAINT_OUT_OF_TREE | VM_TAINT_UNSIGNED))
}

# test_sanitizer_kernel: the same on the sanitizer kernel, booted with
# module.sig_enforce=1 and our modules signed with the key it trusts, as
# DKMS signs them on a Secure Boot system whose owner enrolled its key.
test_sanitizer_kernel() {
	local dir kver builds
	section "vm: the sanitizer kernel"
	if ! dir=$(sanitizer_kernel_dir); then
		fail "sanitizer kernel builds" "a bzImage" "see above"
		return 1
	fi
	kver=$(cat "$dir/kernelrelease")
	builds=$(matrix_build "$kver" KDIR="$dir/build")
	modules_built "$kver" "$builds" || return 1
	if ! signed_copy "$builds" "$work/signed" \
		"$dir/build/scripts/sign-file"; then
		fail "$kver: sign the modules with the test key" "sign-file succeeds" \
			"see above"
		return 1
	fi
	# KASAN needs room for its shadow memory and quarantine; the kernel
	# trusts the modules' signature: no E taint.
	test_kernel "$kver" "$dir/image" "$work/signed" "$SANITIZER_CYCLES" \
		module.sig_enforce=1 1G 1800 "$VM_TAINT_OUT_OF_TREE"
}

# test_kernel KVER IMAGE-DIR BUILDS CYCLES BOOT-ARGS MEMORY TIMEOUT
# ALLOWED-TAINT: boot KVER's image (laid out as kernel_image_dir's) with
# the modules of BUILDS (matrix_build's layout) once, with BOOT-ARGS on
# its command line, MEMORY and TIMEOUT seconds, and judge every scenario.
test_kernel() {
	local kver="$1" image="$2" builds="$3" cycles="$4" boot_args="$5" \
		memory="$6" timeout="$7" allowed_taint="$8" suffix log status start
	pack_initramfs "$kver" "$image" "$builds" "$cycles"
	suffix=$(vm_module_suffix "$image" "$kver")
	log=$work/$kver/serial.log
	echo "booting $kver; one boot runs every scenario (a dot every 5 s) ..."
	start=$(date +%s)
	if VM_PROGRESS=1 VM_APPEND=$boot_args VM_MEM=$memory \
		VM_TIMEOUT=$timeout vm_boot "$image/boot/vmlinuz-$kver" \
		"$work/$kver/initrd" "$log"; then
		status=0
	else
		status=$?
	fi
	judge_kernel "$kver" "$log" "$suffix" "$cycles" "$timeout" \
		"$allowed_taint" "$status"
	printf '%s: userspace after %s s, all results after %s s (wall); lsmod Size: core_lkm %s, client_lkm %s\n' \
		"$kver" "$(vm_guest_start_time "$log")" "$(($(date +%s) - start))" \
		"$(lsmod_size "$log" core_lkm)" "$(lsmod_size "$log" client_lkm)"
}

main() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-vm.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	# Under tests/run the build stage has already built the modules.
	: "${LKM_STACK_BUILDS:=$work/builds}"

	section "vm: the walkthrough in Debian kernels under QEMU"
	if ! kernels=$(vm_kernels); then
		fail "vm: the kernels to boot (vm_kernels)" \
			"Debian 12's, Debian 13's and sid's amd64 kernels" \
			"the look-up failed (see above); booting: ${kernels:-none}"
	fi
	for debian_kver in $kernels; do
		kernel_start=$(date +%s)
		test_debian_kernel "$debian_kver" || true
		printf '(%s took %s s with download and builds)\n' "$debian_kver" \
			"$(($(date +%s) - kernel_start))"
	done
	if [ "${LKM_STACK_SANITIZER:-1}" = 0 ]; then
		section "vm: the sanitizer kernel"
		echo "LEFT OUT: the sanitizer kernel (LKM_STACK_SANITIZER=0); none of its checks ran"
	else
		kernel_start=$(date +%s)
		test_sanitizer_kernel || true
		printf '(the sanitizer kernel took %s s with its modules)\n' \
			"$(($(date +%s) - kernel_start))"
	fi

	[ "${LKM_STACK_SUITE:-}" ] || summary
}

[ -n "${LKM_STACK_JUDGE_ONLY:-}" ] || main
