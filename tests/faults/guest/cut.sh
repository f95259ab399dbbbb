#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Sourced by item 1's guest scripts (tests/faults/stage.sh): the watcher
# that prints the line the host cuts the power at, @@POWER-CUT-POINT (see
# vm_cut_when_seen in tests/lib/vm.sh).

# kernel_of_build: the kernel DKMS's make.log is for, from its first
# line ("DKMS make.log for lkm-stack-1.0 for kernel K (x86_64)").
kernel_of_build() {
	sed -n '1s/.* for kernel \([^ ]*\) .*/\1/p' \
		/var/lib/dkms/lkm-stack/*/build/make.log 2>/dev/null
}

# compiler_runs: a C compiler is running (a cc1 process).
compiler_runs() {
	grep -qsx cc1 /proc/[0-9]*/comm
}

# announce_build N: wait until DKMS's make.log is for the Nth kernel it
# builds from now on and the compiler runs for it, then print the power
# cut's point.  Polls five times a second: a build takes a minute here.
# Run it in the background, right before the command to cut.
announce_build() {
	_ab_seen=
	_ab_count=0
	while sleep 0.2; do
		_ab_kernel=$(kernel_of_build)
		[ -n "$_ab_kernel" ] || continue
		case " $_ab_seen " in
		*" $_ab_kernel "*) ;;
		*)
			_ab_before=$_ab_seen
			_ab_seen="$_ab_seen $_ab_kernel"
			_ab_count=$((_ab_count + 1)) ;;
		esac
		if [ "$_ab_count" -eq "$1" ] && compiler_runs; then
			# On a line of its own: DKMS's progress dots end none.
			printf '\n'
			echo "@@POWER-CUT-POINT DKMS is compiling for kernel $_ab_kernel (kernel $1 of this command's builds; before it:${_ab_before:- none}): cc1 runs, make.log begins: $(head -n 1 /var/lib/dkms/lkm-stack/*/build/make.log)"
			return 0
		fi
	done
}

# depmod_runs: a depmod process runs (the root's is slow_depmod's
# script, which runs under that name while it sleeps, then execs kmod).
depmod_runs() {
	grep -qsx depmod /proc/[0-9]*/comm
}

# announce_depmod: wait until DKMS has marked a kernel installed (its
# kernel-KVER-ARCH link: the modules are copied into /lib/modules) and
# runs depmod for it, then print the power cut's point, with what that
# kernel's modules.dep says of client_lkm at that moment.  A kernel whose
# link was there when the watch began is not one this command installs
# (in a recovery: one the interrupted command finished, even if the
# recovery builds it again), so it is passed over.
announce_depmod() {
	_ad_before=$(echo /var/lib/dkms/lkm-stack/kernel-*)
	while sleep 0.2; do
		for _ad_link in /var/lib/dkms/lkm-stack/kernel-*-"$(uname -m)"; do
			[ -L "$_ad_link" ] || continue
			case " $_ad_before " in *" $_ad_link "*) continue ;; esac
			depmod_runs || continue
			_ad_kernel=${_ad_link#/var/lib/dkms/lkm-stack/kernel-}
			_ad_kernel=${_ad_kernel%-*}
			_ad_dep="does not list client_lkm yet"
			! grep -qs '^updates/dkms/client_lkm' \
				"/lib/modules/$_ad_kernel/modules.dep" ||
				_ad_dep="lists client_lkm already"
			printf '\n'
			echo "@@POWER-CUT-POINT DKMS runs depmod for kernel $_ad_kernel, its modules installed ($_ad_link -> $(readlink "$_ad_link")); its modules.dep $_ad_dep"
			return 0
		done
	done
}

# cut_during WATCHER STEP COMMAND: STEP runs COMMAND while WATCHER (one
# of the announce_ functions above, with its arguments) watches; if
# COMMAND ends first, the step cut-missed shows DKMS's state (the host
# then finds no cut).
cut_during() {
	# shellcheck disable=SC2086 # the watcher's name and its arguments
	$1 &
	_cd_watcher=$!
	step "$2" "$3"
	kill "$_cd_watcher" 2>/dev/null
	step cut-missed 'dkms status'
}
