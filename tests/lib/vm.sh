# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# The guest round trip: boot a kernel in QEMU (TCG, serial console) with
# a small initramfs that holds busybox, Debian's dash as /bin/sh, the real
# kmod tools and our modules, run a guest script there and judge its
# results from the serial log.  This file boots and reads; it builds
# nothing: the modules come from the run's builds (matrix_build,
# tests/lib/builds.sh), signed copies of them from signed_copy
# (tests/lib/sanitizer-kernel.sh).  Needs tests/lib/report.sh and
# tests/lib/scratch.sh sourced first (and tests/lib/kernels.sh for the
# image packages, kernel_image_dir).
#
# A typical run (see tests/vm/stage.sh):
#
#   builds=$(matrix_build "$kver")              # -> onepass/, steps/
#   image=$(kernel_image_dir "$kver")           # -> boot/vmlinuz-$kver
#   vm_initramfs_init "$root" "$LKM_STACK_TOP/tests/vm/guest.sh"
#   vm_initramfs_add_file "$root" \
#           "$builds/onepass/src/core/core_lkm.ko" /root/core_lkm.ko
#   vm_initramfs_add_modules "$root" "$kver" "$image" \
#           "$builds/onepass/src/core/core_lkm.ko" ...
#   vm_initramfs_set_param "$root" cycles 200   # guest: guest_param cycles
#   vm_initramfs_pack "$root" "$work/initrd"
#   vm_boot "$image/boot/vmlinuz-$kver" "$work/initrd" "$log"
#   expect_step_status "$kver: modprobe works" "$log" some-step 0
#   expect_step_empty "$kver: nothing left" "$log" other-step
#   vm_expect_healthy "$kver" "$log" "$allowed" tainted-step kmsg-step
#
# Guest scripts source /guest/lib.sh (tests/lib/guest/lib.sh) and report
# with its step function; they read the kernel log with its kmsg_new
# (what is new since the last call) and kmsg_all (all of it, for the
# health check).  Checks read the serial log only through the strict
# readers at the end of this file (vm_step_output, vm_step_value and the
# expect_step_* checks built on them): a check whose step never ran, or
# ran into the guest's death, fails and says so; it never judges the
# empty text a missing step leaves.  tests/selftest/stage.sh proves it.
#
# Parameters reach a guest one way: the host sets each with
# vm_initramfs_set_param ROOT NAME VALUE (kept in the initramfs's
# /guest/params), and the guest reads it with guest_param NAME [DEFAULT]
# (tests/lib/guest/lib.sh).  A guest booted from a Debian root's disk
# instead (debian_root_boot, tests/lib/debian-root.sh) has no /guest:
# guest_param reads lkm_NAME=VALUE from its kernel command line there.
#
# The VM is tuned with these variables:
#
#   VM_MEM         guest memory (default 512M)
#   VM_SMP         guest CPUs (default 1: TCG runs one CPU fastest)
#   VM_TIMEOUT     seconds before the VM is killed (default 600)
#   VM_APPEND      extra kernel command line, after the defaults
#                  "console=ttyS0 panic=-1 quiet log_buf_len=4M" (so
#                  e.g. loglevel=7 brings the boot messages back)
#   VM_QEMU_ARGS   extra QEMU arguments, split at spaces (e.g. a -drive)
#   VM_PROGRESS    if non-empty, print a dot to stderr every 5 s of boot
#   VM_CUT_AT      a fixed string: once a line of the serial console
#                  contains it, kill QEMU at once (SIGKILL, no shutdown:
#                  a power cut); LOG then ends "@@VM-CUT <that line>"

# The kmod tools the guest gets; all are links to the one kmod binary.
VM_KMOD_TOOLS="modprobe insmod rmmod lsmod modinfo depmod"

# Taint flags (/proc/sys/kernel/tainted) our modules may set in a guest:
# O (out-of-tree, bit 12) and E (unsigned module, bit 13).
# shellcheck disable=SC2034 # used by the scripts that source this file
VM_TAINT_OUT_OF_TREE=$((1 << 12))
# shellcheck disable=SC2034 # used by the scripts that source this file
VM_TAINT_UNSIGNED=$((1 << 13))

# vm_initramfs_init ROOT GUEST-SCRIPT [USERLAND]: start an initramfs tree
# at ROOT (emptied first) with busybox, dash, the kmod tools and their
# libraries, the init of tests/lib/guest/ and GUEST-SCRIPT as the script
# it runs.  dash and kmod are this host's, or those of the Debian root
# USERLAND (a release root of tests/lib/release-roots.sh, e.g. trixie's
# kmod 34 for a trixie kernel), whose depmod vm_initramfs_add_modules
# then runs too (VM_INITRAMFS_USERLAND).
vm_initramfs_init() {
	rm -rf "$1"
	mkdir -p "$1/bin" "$1/sbin" "$1/proc" "$1/sys" "$1/dev" "$1/tmp" \
		"$1/root" "$1/guest"
	vm_initramfs_add_busybox "$1"
	VM_INITRAMFS_USERLAND=${3:-}
	if [ -n "$VM_INITRAMFS_USERLAND" ]; then
		vm_initramfs_add_binary "$1" --from "$VM_INITRAMFS_USERLAND" \
			kmod dash || return 1
	else
		vm_initramfs_add_binary "$1" "$(command -v kmod)" \
			"$(command -v dash)"
	fi
	ln -sf dash "$1/bin/sh"
	for _tool in $VM_KMOD_TOOLS; do
		ln -sf /bin/kmod "$1/sbin/$_tool"
	done
	vm_initramfs_add_file "$1" "$LKM_STACK_TOP/tests/lib/guest/init" /init 755
	vm_initramfs_add_file "$1" "$LKM_STACK_TOP/tests/lib/guest/lib.sh" \
		/guest/lib.sh 644
	vm_initramfs_add_file "$1" "$2" /guest/main 755
}

# vm_initramfs_add_busybox ROOT: busybox-static with a link for each of
# its applets, except sh and those the real kmod tools provide: busybox's
# shell runs its own applets before any program of the same name, so it
# would run busybox's insmod instead of kmod's.
vm_initramfs_add_busybox() {
	_busybox=/bin/busybox
	if ! "$_busybox" --list >/dev/null 2>&1 ||
		ldd "$_busybox" >/dev/null 2>&1; then
		echo "no static $_busybox: install busybox-static" >&2
		return 1
	fi
	cp "$_busybox" "$1/bin/busybox"
	for _applet in $("$_busybox" --list); do
		case " $VM_KMOD_TOOLS busybox sh " in
		*" $_applet "*) ;;
		*) ln -sf busybox "$1/bin/$_applet" ;;
		esac
	done
}

# vm_initramfs_add_binary ROOT [--from USERLAND] BINARY...: copy each
# BINARY to /bin/ and the shared libraries it needs (as ldd resolves them
# on this host) to the same paths in the initramfs.  A static BINARY
# needs none (ldd's "not a dynamic executable" is not shown).  With
# --from, BINARY (a name or a path) and its libraries are those of the
# root USERLAND, resolved by ldd and readlink there (release_root_run): a
# link in a root may point anywhere on this host if followed from here.
# The libraries a BINARY loads only when it needs them, which its ELF
# .note.dlopen names (kmod 34 does so for liblzma, which it needs to read
# xz-compressed modules), come along with theirs.
vm_initramfs_add_binary() {
	_root=$1
	shift
	if [ "${1:-}" = --from ]; then
		_from=$2
		shift 2
		# shellcheck disable=SC2016 # the root's shell expands them
		_pairs=$(release_root_run "$_from" "" /bin/sh -c '
			libs() {
				for lib in $(ldd "$1" 2>/dev/null | grep -oE "/[^ ]+"); do
					echo "$(readlink -f "$lib") $lib"
				done
			}
			for bin; do
				path=$(command -v "$bin") ||
					{ echo "no $bin in the root" >&2; exit 1; }
				echo "$(readlink -f "$path") /bin/${path##*/}"
				libs "$path"
				for so in $(grep -ao "\"soname\":\[[^]]*\]" "$path" |
					grep -oE "lib[^\"]+\.so[.0-9]*" | sort -u); do
					lib=/lib/x86_64-linux-gnu/$so
					[ -e "$lib" ] ||
						{ echo "no $so in the root (for $bin)" >&2; exit 1; }
					echo "$(readlink -f "$lib") $lib"
					libs "$lib"
				done
			done' sh "$@") || return 1
		printf '%s\n' "$_pairs" | while read -r _src _dest; do
			vm_initramfs_add_file "$_root" "$_from$_src" "$_dest" 755
		done
		return
	fi
	for _bin in "$@"; do
		vm_initramfs_add_file "$_root" "$_bin" "/bin/${_bin##*/}" 755
		for _lib in $(ldd "$_bin" 2>/dev/null | grep -oE '/[^ ]+'); do
			vm_initramfs_add_file "$_root" "$_lib" "$_lib" 755
		done
	done
}

# vm_initramfs_add_file ROOT SOURCE DEST [MODE]: copy SOURCE (following
# links) to the absolute path DEST in the initramfs.
vm_initramfs_add_file() {
	mkdir -p "$1$(dirname "$3")"
	cp -L "$2" "$1$3"
	chmod "${4:-644}" "$1$3"
}

# vm_initramfs_set_param ROOT NAME VALUE: hand the guest the parameter
# NAME (letters, digits, _) with VALUE (one line), which guest_param NAME
# of tests/lib/guest/lib.sh prints there.  They are kept in ROOT's
# /guest/params, one NAME=VALUE a line; setting NAME again replaces it.
vm_initramfs_set_param() {
	case $2 in
	'' | *[!A-Za-z0-9_]*)
		echo "vm_initramfs_set_param: not a parameter name: '$2'" >&2
		return 1 ;;
	esac
	case $3 in
	*'
'*)
		echo "vm_initramfs_set_param: $2: a value is one line" >&2
		return 1 ;;
	esac
	_params=$1/guest/params
	mkdir -p "$1/guest"
	touch "$_params"
	grep -v "^$2=" "$_params" >"$_params.new" || true
	printf '%s=%s\n' "$2" "$3" >>"$_params.new"
	mv "$_params.new" "$_params"
}

# vm_module_suffix IMAGE-DIR KVER: the suffix DKMS gives modules it
# installs for KVER (".ko.xz" when the kernel compresses its own modules
# with xz, as Debian's 6.12 kernels do; else ".ko"), judged from the
# image package's /boot/config-KVER.
vm_module_suffix() {
	if grep -qs '^CONFIG_MODULE_COMPRESS_XZ=y' "$1/boot/config-$2"; then
		echo .ko.xz
	else
		echo .ko
	fi
}

# vm_initramfs_add_modules ROOT KVER IMAGE-DIR MODULE.ko...: install the
# modules into /lib/modules/KVER/updates/dkms/ the way DKMS does
# (xz-compressed as DKMS and the kernel's modules_install compress, if
# vm_module_suffix says so), next to the kernel's modules.builtin files,
# and run depmod on the tree: this host's, or that of the USERLAND the
# initramfs's kmod came from (vm_initramfs_init).  IMAGE-DIR is laid out
# like the kernel's image package (kernel_image_dir), with its modules in
# lib/modules/KVER/ or, merged into /usr as from Debian 13 on,
# usr/lib/modules/KVER/; for a kernel built here, its boot/config-KVER and
# modules.builtin* may be missing.  The initramfs keeps them in
# /lib/modules/KVER/, where kmod looks (it is /usr/lib/modules/KVER/ on a
# merged-/usr system too).
vm_initramfs_add_modules() {
	_root=$1 _kver=$2 _image=$3
	shift 3
	_moddir=$_root/lib/modules/$_kver
	mkdir -p "$_moddir/updates/dkms"
	for _file in modules.builtin modules.builtin.modinfo modules.order; do
		for _from in "$_image/usr/lib/modules/$_kver" \
			"$_image/lib/modules/$_kver"; do
			if [ -f "$_from/$_file" ]; then
				cp "$_from/$_file" "$_moddir/"
				break
			fi
		done
	done
	for _ko in "$@"; do
		cp "$_ko" "$_moddir/updates/dkms/"
		# Plain xz defaults (CRC64, an 8 MiB dictionary) are more than
		# the kernel's own xz decoder takes: with kmod 34 handing the
		# file to the kernel (CONFIG_MODULE_DECOMPRESS), 6.12+deb13
		# and 7.x refuse it ("decompression failed with status 6").
		if [ "$(vm_module_suffix "$_image" "$_kver")" = .ko.xz ]; then
			xz --check=crc32 --lzma2=dict=1MiB -f \
				"$_moddir/updates/dkms/$(basename "$_ko")"
		fi
	done
	if [ -n "${VM_INITRAMFS_USERLAND:-}" ]; then
		release_root_run "$VM_INITRAMFS_USERLAND" "$_root" \
			depmod -b "$_root" "$_kver"
	else
		depmod -b "$_root" "$_kver"
	fi
}

# vm_initramfs_pack ROOT FILE: pack ROOT into an uncompressed newc cpio
# archive (unpacking it is faster under TCG than decompressing it).
vm_initramfs_pack() {
	(cd "$1" && find . | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) >"$2"
}

# vm_boot KERNEL INITRD LOG: boot KERNEL with INITRD under QEMU until the
# guest powers off, writing the serial console to LOG (without CRs).
# An empty INITRD boots without one (e.g. a disk given in VM_QEMU_ARGS
# and root= in VM_APPEND); an empty KERNEL boots the disk's own boot
# loader instead.  Returns QEMU's exit status, 124 if the VM ran into
# VM_TIMEOUT (137 if it then had to be killed); a non-zero status is also
# appended to LOG as "@@VM-EXIT <status>", for the readers below.
vm_boot() {
	_kernel=$1 _initrd=$2 _log=$3
	set --
	if [ -n "$_kernel" ]; then
		set -- -kernel "$_kernel" -append \
			"console=ttyS0 panic=-1 quiet log_buf_len=4M ${VM_APPEND:-}"
		[ -z "$_initrd" ] || set -- "$@" -initrd "$_initrd"
	fi
	# shellcheck disable=SC2086 # VM_QEMU_ARGS is a list of arguments
	timeout -k 10 "${VM_TIMEOUT:-600}" qemu-system-x86_64 \
		-nographic -no-reboot -nic none \
		-m "${VM_MEM:-512M}" -smp "${VM_SMP:-1}" "$@" \
		${VM_QEMU_ARGS:-} </dev/null >"$_log.raw" 2>&1 &
	_qemu=$!
	_cut=
	if [ -n "${VM_CUT_AT:-}" ]; then
		_cut=$(vm_cut_when_seen "$_qemu" "$_log.raw" "$VM_CUT_AT")
	elif [ -n "${VM_PROGRESS:-}" ]; then
		while sleep 5 && kill -0 "$_qemu" 2>/dev/null; do
			printf . >&2
		done
		echo >&2
	fi
	if wait "$_qemu"; then _status=0; else _status=$?; fi
	tr -d '\r' <"$_log.raw" >"$_log"
	rm -f "$_log.raw"
	[ "$_status" -eq 0 ] || echo "@@VM-EXIT $_status" >>"$_log"
	[ -z "$_cut" ] || printf '@@VM-CUT %s\n' "$_cut" >>"$_log"
	return "$_status"
}

# vm_cut_when_seen PID RAW-LOG STRING: while the timeout PID runs QEMU,
# look at RAW-LOG twice a second; once a line contains STRING, SIGKILL
# QEMU (PID's child) and print that line from STRING on (a guest's
# progress dots may precede it).  Nothing if it never showed.
vm_cut_when_seen() {
	while sleep 0.5 && kill -0 "$1" 2>/dev/null; do
		_vcw=$(tr -d '\r' <"$2" | awk -v s="$3" '
			index($0, s) { print substr($0, index($0, s)); exit }')
		[ -n "$_vcw" ] || continue
		pkill -KILL -P "$1" qemu-system-x86 || true
		printf '%s\n' "$_vcw"
		return 0
	done
}

# vm_guest_done LOG: the exit status of the guest script, or nothing if
# the guest never finished.
vm_guest_done() {
	sed -n 's/^@@GUEST-DONE //p' "$1"
}

# vm_guest_start_time LOG: seconds from kernel start to the guest script
# (the guest's uptime when init started it).  The firmware's terminal
# escapes may precede it on its line.
vm_guest_start_time() {
	sed -n 's/.*@@GUEST-START //p' "$1"
}


# Reading the serial log.  A step's block is complete when the log holds
# its "@@BEGIN NAME ..." line and, after it, its "@@END NAME STATUS" line.
# Checks judge a step's output only once its block is complete: through
# vm_step_output and vm_step_value, or the expect_step_* checks and
# vm_expect_healthy below, which fail naming the step and why it is
# missing (it never ran, or the guest died during it) instead of judging
# the empty text a missing block reads as.

# _vm_block_text LOG NAME: the lines between the first @@BEGIN NAME and
# the @@END NAME after it (to the end of LOG if there is none); nothing if
# there is no such block.  Unchecked: see vm_step_output.
_vm_block_text() {
	[ -f "$1" ] || return 0
	awk -v name="$2" '
		$1 == "@@END" && $2 == name && inside { exit }
		inside { print }
		$1 == "@@BEGIN" && $2 == name { inside = 1 }' "$1"
}

# vm_block LOG NAME: the unchecked text of step NAME, empty when the step
# is missing.  Only for tools that show or measure guest output
# (tests/demo/demo, tests/bench/bench); a check must never judge it:
# tests/selftest/stage.sh fails if a stage script calls it.
vm_block() {
	_vm_block_text "$@"
}

# vm_block_status LOG NAME: the exit status of the guest step NAME, or
# "missing" if the guest never finished it.
vm_block_status() {
	[ -f "$1" ] || { echo missing; return 0; }
	_status=$(awk -v name="$2" \
		'$1 == "@@END" && $2 == name { print $3; exit }' "$1")
	echo "${_status:-missing}"
}

# vm_block_command LOG NAME: the command line the guest step NAME ran.
vm_block_command() {
	[ -f "$1" ] || return 0
	awk -v name="$2" '$1 == "@@BEGIN" && $2 == name {
		sub(/^@@BEGIN [^ ]+ /, ""); print; exit }' "$1"
}

# vm_step_state LOG NAME: "complete", "unfinished" (an @@BEGIN NAME but
# no @@END NAME after it) or "absent" (no @@BEGIN NAME, or no LOG).
vm_step_state() {
	if [ ! -f "$1" ]; then
		echo absent
		return 0
	fi
	awk -v name="$2" '
		$1 == "@@BEGIN" && $2 == name { begun = 1 }
		begun && $1 == "@@END" && $2 == name { ended = 1; exit }
		END { print ended ? "complete" : begun ? "unfinished" : "absent" }' "$1"
}

# vm_guest_ending LOG [WHEN]: how the guest's run ended, as a phrase for
# reasons: "the guest finished (@@GUEST-DONE 0)", or "the guest ended
# early WHEN (...)" with what the log tells of why: the step it died in,
# a kernel panic, QEMU's time limit or exit status.
vm_guest_ending() {
	if [ ! -s "$1" ]; then
		echo "there is no serial log $1: the VM never ran or printed nothing"
		return 0
	fi
	_vge_done=$(vm_guest_done "$1" | tail -n 1)
	if [ -n "$_vge_done" ]; then
		echo "the guest finished (@@GUEST-DONE $_vge_done)"
		return 0
	fi
	_vge="no @@GUEST-DONE"
	grep -q '@@GUEST-START' "$1" ||
		_vge="$_vge, not even @@GUEST-START: the guest script never started"
	_vge_in=$(awk '
		$1 == "@@BEGIN" { open[$2] = 1; last = $2 }
		$1 == "@@END" { delete open[$2] }
		END { if (last in open) print last }' "$1")
	[ -z "$_vge_in" ] || _vge="$_vge; it died in step $_vge_in"
	_vge_panic=$(grep -m 1 'Kernel panic' "$1" || true)
	[ -z "$_vge_panic" ] || _vge="$_vge; the kernel panicked: $_vge_panic"
	_vge_exit=$(sed -n 's/^@@VM-EXIT //p' "$1" | tail -n 1)
	_vge_cut=$(sed -n 's/^@@VM-CUT //p' "$1" | tail -n 1)
	[ -z "$_vge_exit" ] || [ -z "$_vge_cut" ] || _vge_exit="cut"
	case $_vge_exit in
	'') ;;
	cut) _vge="$_vge; QEMU was killed on purpose (VM_CUT_AT, a power cut) at: $_vge_cut" ;;
	124 | 137)
		_vge="$_vge; QEMU was stopped at its time limit (VM_TIMEOUT, status $_vge_exit)" ;;
	*) _vge="$_vge; QEMU exited with status $_vge_exit" ;;
	esac
	echo "the guest ended early${2:+ $2} ($_vge)"
}

# vm_step_missing LOG NAME: why step NAME has no complete block in LOG,
# as one sentence (and, for a step the guest died in, its output so far).
vm_step_missing() {
	_vsm_ending=$(vm_guest_ending "$1" "before reaching it")
	case $(vm_step_state "$1" "$2") in
	complete)
		echo "step $2 is complete" ;;
	absent)
		case $_vsm_ending in
		"the guest finished"*)
			echo "step $2 never ran (no @@BEGIN $2 in the serial log), though $_vsm_ending: its guest script skipped it" ;;
		*)
			echo "step $2 never ran (no @@BEGIN $2 in the serial log): $_vsm_ending" ;;
		esac ;;
	unfinished)
		case $_vsm_ending in
		"the guest finished"*)
			echo "step $2 began but has no @@END $2 line, though $_vsm_ending (did its output not end in a newline?)" ;;
		*)
			echo "step $2 began but never finished (no @@END $2): the guest died or was cut off during it; $(vm_guest_ending "$1")"
			echo "its output so far:"
			_vm_block_text "$1" "$2" | tail -n 10 ;;
		esac ;;
	esac
}

# vm_step_output LOG NAME: the output of guest step NAME, and status 0,
# if its block is complete; otherwise, the reason (vm_step_missing) in
# its place, and status 1.
vm_step_output() {
	if [ "$(vm_step_state "$1" "$2")" = complete ]; then
		_vm_block_text "$1" "$2"
	else
		vm_step_missing "$1" "$2"
		return 1
	fi
}

# vm_step_value LOG NAME [FILTER [ARG...]]: vm_step_output, the output
# passed through the command FILTER ARG... (e.g. a function reading its
# standard input) when the block is complete.  The status says only
# whether it was: a FILTER that finds nothing still gives 0.
vm_step_value() {
	if ! _vsv_out=$(vm_step_output "$1" "$2"); then
		printf '%s\n' "$_vsv_out"
		return 1
	fi
	shift 2
	if [ $# -eq 0 ]; then
		[ -z "$_vsv_out" ] || printf '%s\n' "$_vsv_out"
	elif [ -n "$_vsv_out" ]; then
		printf '%s\n' "$_vsv_out" | "$@" || true
	else
		"$@" </dev/null || true
	fi
}

# vm_join_lines: a filter joining its input's lines with spaces.
vm_join_lines() {
	paste -sd' ' -
}

# _vm_fail_missing NAME STEP REASON: check NAME failed for want of STEP.
_vm_fail_missing() {
	fail "$1" "the guest's output of step $2" "$3"
}

# require_steps NAME LOG STEP...: 0 if every STEP's block is complete;
# else check NAME fails, naming each missing STEP and why, and 1.  For
# checks that combine several steps:
#   if require_steps "$n" "$log" before after; then ...judge...; fi
require_steps() {
	_rs_name=$1 _rs_log=$2
	shift 2
	_rs_missing='' _rs_why=''
	for _rs_step in "$@"; do
		[ "$(vm_step_state "$_rs_log" "$_rs_step")" != complete ] || continue
		_rs_missing="$_rs_missing${_rs_missing:+, }$_rs_step"
		_rs_why="$_rs_why${_rs_why:+
}$(vm_step_missing "$_rs_log" "$_rs_step")"
	done
	[ -n "$_rs_missing" ] || return 0
	_vm_fail_missing "$_rs_name" "$_rs_missing" "$_rs_why"
	return 1
}

# The checks on one step: each fails naming the step and why it is
# missing if its block is not complete, else judges its output (through
# FILTER ARG..., as vm_step_value, if given) as the check of
# tests/lib/report.sh of the same name does.
#
# _expect_step CHECK NAME LOG STEP ARG [FILTER [ARG...]]: CHECK (expect_eq,
# expect_match, expect_no_match) NAME ARG on the step's value, or the
# failure for want of the step.
_expect_step() {
	_xs_check=$1 _xs_name=$2 _xs_log=$3 _xs_step=$4 _xs_arg=$5
	shift 5
	if _xs_seen=$(vm_step_value "$_xs_log" "$_xs_step" "$@"); then
		"$_xs_check" "$_xs_name" "$_xs_arg" "$_xs_seen"
	else
		_vm_fail_missing "$_xs_name" "$_xs_step" "$_xs_seen"
	fi
}

# expect_step_eq NAME LOG STEP EXPECTED [FILTER [ARG...]]
expect_step_eq() { _expect_step expect_eq "$@"; }

# expect_step_match NAME LOG STEP EXTENDED-REGEX [FILTER [ARG...]]
expect_step_match() { _expect_step expect_match "$@"; }

# expect_step_no_match NAME LOG STEP EXTENDED-REGEX [FILTER [ARG...]]
expect_step_no_match() { _expect_step expect_no_match "$@"; }

# expect_step_empty NAME LOG STEP [FILTER [ARG...]]: the step printed
# nothing (e.g. no leak, no report, nothing loaded).
expect_step_empty() {
	_xs_name=$1 _xs_log=$2 _xs_step=$3
	shift 3
	if _xs_seen=$(vm_step_value "$_xs_log" "$_xs_step" "$@"); then
		expect_empty "$_xs_name" "$_xs_seen"
	else
		_vm_fail_missing "$_xs_name" "$_xs_step" "$_xs_seen"
	fi
}

# expect_step_status NAME LOG STEP 0|nonzero: the step's command exited
# as wanted; on failure its command line and output are shown.
expect_step_status() {
	if [ "$(vm_step_state "$2" "$3")" != complete ]; then
		_vm_fail_missing "$1" "$3" "$(vm_step_missing "$2" "$3")"
		return 0
	fi
	_xs_seen=$(vm_block_status "$2" "$3")
	case $4:$_xs_seen in
	0:0 | nonzero:[1-9]*) pass "$1" ;;
	*) fail "$1" "$(vm_block_command "$2" "$3") exits $4" \
		"exit status $_xs_seen: $(_vm_block_text "$2" "$3")" ;;
	esac
}

# Kernel health, judged on every boot.
#
# VM_KERNEL_TROUBLE: the kernel log lines that start an oops, a warning
# (lockdep and debugobjects report as warnings too), a sanitizer report
# (KASAN, UBSAN, kmemleak) or list corruption.  The union of what the vm
# and reliability stages looked for before they shared it.
VM_KERNEL_TROUBLE='Oops|BUG:|WARNING:|Call Trace|general protection|Kernel panic|KASAN|UBSAN|suspected memory leak|kmemleak:|possible (circular|recursive)|inconsistent lock|lockdep|ODEBUG|list_(add|del) corruption'
# VM_KERNEL_BENIGN: the only lines matching it that are no trouble: what
# the sanitizer kernel's kmemleak and RCU print once at boot (its whole
# kernel log is judged, not just what followed the boot).
VM_KERNEL_BENIGN='kmemleak: (Kernel memory leak detector initialized \(mem pool available: [0-9]+\)|Automatic memory scanning thread started)$|rcu:[[:space:]]+RCU lockdep checking is enabled\.$'

# vm_kernel_trouble: a filter printing the trouble lines of its input.
vm_kernel_trouble() {
	grep -E -- "$VM_KERNEL_TROUBLE" | grep -Ev -- "$VM_KERNEL_BENIGN" || true
}

# vm_taint_flags MASK: the letters of the taint flags set in MASK, each
# with its bit, e.g. "O(12) E(13)" (the kernel's tainted-kernels.rst).
vm_taint_flags() {
	echo "$1" | awk '{
		letters = "PFSRMBUDAWCIOELKXTNJ"; n = $1; out = ""
		for (bit = 0; n > 0; bit++) {
			if (n % 2) {
				letter = bit < length(letters) ? \
					substr(letters, bit + 1, 1) : "?"
				out = out (out == "" ? "" : " ") letter "(" bit ")"
			}
			n = int(n / 2)
		}
		print out == "" ? "none" : out
	}'
}

# expect_step_taint NAME LOG STEP ALLOWED-MASK: STEP printed
# /proc/sys/kernel/tainted, a number with no flag outside ALLOWED-MASK.
expect_step_taint() {
	if ! _xt_seen=$(vm_step_output "$2" "$3"); then
		_vm_fail_missing "$1" "$3" "$_xt_seen"
		return 0
	fi
	case $_xt_seen in
	'' | *[!0-9]*)
		fail "$1" "a number from /proc/sys/kernel/tainted" "'$_xt_seen'"
		return 0 ;;
	esac
	_xt_bad=$((_xt_seen & ~$4))
	if [ "$_xt_bad" -eq 0 ]; then
		pass "$1"
	else
		fail "$1" "no taint flag but $(vm_taint_flags "$4")" \
			"tainted=$_xt_seen: $(vm_taint_flags "$_xt_bad") as well"
	fi
}

# expect_no_kernel_trouble NAME LOG [STEP...]: no VM_KERNEL_TROUBLE line
# anywhere in LOG: the console, where a dying guest's last words are,
# and the output of every step, among them each STEP, which dumped the
# guest's kernel log and must be complete.
expect_no_kernel_trouble() {
	_xk_name=$1 _xk_log=$2
	shift 2
	if [ ! -s "$_xk_log" ]; then
		fail "$_xk_name" "a serial log to read" "$(vm_guest_ending "$_xk_log")"
		return 0
	fi
	require_steps "$_xk_name" "$_xk_log" "$@" || return 0
	_xk_seen=$(vm_kernel_trouble <"$_xk_log")
	if [ -z "$_xk_seen" ]; then
		pass "$_xk_name"
	else
		fail "$_xk_name" "no line matching /$VM_KERNEL_TROUBLE/" \
			"$(printf '%s\n' "$_xk_seen" | head -n 40)"
	fi
}

# vm_expect_healthy PREFIX LOG ALLOWED-TAINT TAINT-STEP KLOG-STEP
# [TAINT-NAME [TROUBLE-NAME]]: the health of one boot, as two checks:
# TAINT-STEP printed a taint value within ALLOWED-TAINT
# (expect_step_taint), and neither the console nor the guest's kernel log
# that KLOG-STEP printed (may be "": none) has a trouble line
# (expect_no_kernel_trouble).  The names default to "PREFIX: ...".
vm_expect_healthy() {
	expect_step_taint \
		"${6:-$1: taint flags only $(vm_taint_flags "$3")}" "$2" "$4" "$3"
	expect_no_kernel_trouble \
		"${7:-$1: no oops, BUG, WARNING, lockdep or sanitizer report in the kernel log or on the console}" \
		"$2" ${5:+"$5"}
}
