# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel in QEMU (TCG, serial console) with a small initramfs that
# holds busybox, Debian's dash as /bin/sh, the real kmod tools and our
# modules, run a guest script
# there and read its results from the serial log.  Needs
# tests/lib/kernels.sh and tests/lib/scratch.sh sourced first.
#
# A typical run (see tests/vm.sh):
#
#   vm_build_modules "$work/mods" "$kver"          # -> src/*/*.ko there
#   vm_initramfs_init "$root" tests/guest/stack.sh
#   vm_initramfs_add_file "$root" "$work/mods/src/core/core_lkm.ko" \
#           /root/core_lkm.ko
#   vm_initramfs_add_modules "$root" "$kver" "$image_dir" \
#           "$work/mods/src/core/core_lkm.ko" ...
#   vm_initramfs_pack "$root" "$work/initrd"
#   vm_boot "$image_dir/boot/vmlinuz-$kver" "$work/initrd" "$work/log"
#   vm_block "$work/log" some-step; vm_block_status "$work/log" some-step
#
# Guest scripts source /guest/lib.sh (tests/guest/lib.sh) and report with
# its step function.  The VM is tuned with these variables:
#
#   VM_MEM         guest memory (default 512M)
#   VM_SMP         guest CPUs (default 1: TCG runs one CPU fastest)
#   VM_TIMEOUT     seconds before the VM is killed (default 600)
#   VM_APPEND      extra kernel command line, after the defaults
#                  "console=ttyS0 panic=-1 quiet log_buf_len=4M" (so
#                  e.g. loglevel=7 brings the boot messages back)
#   VM_QEMU_ARGS   extra QEMU arguments, split at spaces (e.g. a -drive)
#   VM_PROGRESS    if non-empty, print a dot to stderr every 5 s of boot

# The kmod tools the guest gets; all are links to the one kmod binary.
VM_KMOD_TOOLS="modprobe insmod rmmod lsmod modinfo depmod"

# Taint flags (/proc/sys/kernel/tainted) our modules may set in a guest:
# O (out-of-tree, bit 12) and E (unsigned module, bit 13).
# shellcheck disable=SC2034 # used by the scripts that source this file
VM_TAINT_OUT_OF_TREE=$((1 << 12))
# shellcheck disable=SC2034 # used by the scripts that source this file
VM_TAINT_UNSIGNED=$((1 << 13))

# vm_build_modules DIR KVER [MAKE-ARG...]: build both modules from the
# working tree in one kbuild pass, in a scratch copy at DIR, leaving
# DIR/src/core/core_lkm.ko and DIR/src/client/client_lkm.ko.  The make
# output goes to DIR/build.log.  MAKE-ARGs are passed on (e.g. KDIR=).
vm_build_modules() {
	_dir=$1 _kver=$2
	shift 2
	scratch_tree "$_dir"
	make -C "$_dir" all KVER="$_kver" "$@" >"$_dir/build.log" 2>&1
}

# vm_build_modules_separately DIR KVER [MAKE-ARG...]: the same, built the
# step-by-step way (make -C src/core, then make -C src/client).
vm_build_modules_separately() {
	_dir=$1 _kver=$2
	shift 2
	scratch_tree "$_dir"
	{
		make -C "$_dir/src/core" KVER="$_kver" "$@" &&
			make -C "$_dir/src/client" KVER="$_kver" "$@"
	} >"$_dir/build.log" 2>&1
}

# vm_initramfs_init ROOT GUEST-SCRIPT: start an initramfs tree at ROOT
# (emptied first) with busybox, dash, the kmod tools and their libraries,
# the init of tests/guest/ and GUEST-SCRIPT as the script it runs.
vm_initramfs_init() {
	rm -rf "$1"
	mkdir -p "$1/bin" "$1/sbin" "$1/proc" "$1/sys" "$1/dev" "$1/tmp" \
		"$1/root" "$1/guest"
	vm_initramfs_add_busybox "$1"
	vm_initramfs_add_binary "$1" "$(command -v kmod)" "$(command -v dash)"
	ln -sf dash "$1/bin/sh"
	for _tool in $VM_KMOD_TOOLS; do
		ln -sf /bin/kmod "$1/sbin/$_tool"
	done
	vm_initramfs_add_file "$1" "$LKM_STACK_TOP/tests/guest/init" /init 755
	vm_initramfs_add_file "$1" "$LKM_STACK_TOP/tests/guest/lib.sh" \
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

# vm_initramfs_add_binary ROOT BINARY...: copy each BINARY to /bin/ and
# the shared libraries it needs (as ldd resolves them on this host) to
# the same paths in the initramfs.  A static BINARY needs none (ldd's
# "not a dynamic executable" is not shown).
vm_initramfs_add_binary() {
	_root=$1
	shift
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
# (xz-compressed if vm_module_suffix says so), next to the kernel's
# modules.builtin files, and run depmod on the tree.  IMAGE-DIR is laid
# out like the kernel's image package (kernel_image_dir); for a kernel
# built here, its boot/config-KVER and lib/modules/KVER/modules.builtin*
# may be missing.
vm_initramfs_add_modules() {
	_root=$1 _kver=$2 _image=$3
	shift 3
	_moddir=$_root/lib/modules/$_kver
	mkdir -p "$_moddir/updates/dkms"
	for _file in modules.builtin modules.builtin.modinfo modules.order; do
		if [ -f "$_image/lib/modules/$_kver/$_file" ]; then
			cp "$_image/lib/modules/$_kver/$_file" "$_moddir/"
		fi
	done
	for _ko in "$@"; do
		cp "$_ko" "$_moddir/updates/dkms/"
		if [ "$(vm_module_suffix "$_image" "$_kver")" = .ko.xz ]; then
			xz -f "$_moddir/updates/dkms/$(basename "$_ko")"
		fi
	done
	depmod -b "$_root" "$_kver"
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
# VM_TIMEOUT.
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
	if [ -n "${VM_PROGRESS:-}" ]; then
		while sleep 5 && kill -0 "$_qemu" 2>/dev/null; do
			printf . >&2
		done
		echo >&2
	fi
	if wait "$_qemu"; then _status=0; else _status=$?; fi
	tr -d '\r' <"$_log.raw" >"$_log"
	rm -f "$_log.raw"
	return "$_status"
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

# vm_block LOG NAME: the output of the guest step NAME.
vm_block() {
	awk -v name="$2" '
		$1 == "@@END" && $2 == name { exit }
		inside { print }
		$1 == "@@BEGIN" && $2 == name { inside = 1 }' "$1"
}

# vm_block_status LOG NAME: the exit status of the guest step NAME, or
# "missing" if the guest never finished it.
vm_block_status() {
	_status=$(awk -v name="$2" \
		'$1 == "@@END" && $2 == name { print $3; exit }' "$1")
	echo "${_status:-missing}"
}

# vm_block_command LOG NAME: the command line the guest step NAME ran.
vm_block_command() {
	awk -v name="$2" '$1 == "@@BEGIN" && $2 == name {
		sub(/^@@BEGIN [^ ]+ /, ""); print; exit }' "$1"
}
