#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The upgrade from Debian 12 to Debian 13 with lkm-stack-dkms installed,
# as users make it: in a fresh copy of the lifecycle stage's cached
# bookworm root (tests/lib/debian-root.sh, test_root_tarball: dkms and
# two kernels, so no root is built here), in a chroot, then booted under
# QEMU:
#
#   1  bookworm: the linux-image-amd64 and linux-headers-amd64
#      metapackages (a third kernel, the newest 6.1), and apt-get install
#      of the .deb builds for the three kernels
#   2  the apt sources switched to trixie, trixie-updates and
#      trixie-security (the mirrors this host uses), apt-get update
#   3  apt-get full-upgrade, keeping changed configuration files: it
#      brings dkms 3.2 and, through the metapackages, a 6.12+deb13
#      kernel; dpkg is sane, DKMS built both modules for the new kernel,
#      and the Debian 12 kernels, their headers and their modules are
#      left as they were (the same files)
#   4  the upgraded root booted with the new kernel: modprobe client_lkm
#      (Debian 13's kmod) loads both, rmmod core_lkm is refused while
#      client_lkm uses it, the boot is healthy
#
# The judging of the package's state and of a boot is the lifecycle
# stage's (expect_installed, check_boot, expect_modprobe_works), and so
# are its apt_step and the run's .deb (built_packages, lib/packages.sh):
# sourced with LKM_STACK_JUDGE_ONLY=1 as tests/selftest/stage.sh does, so
# that nothing of that stage runs.  Every apt-get in the root waits while
# another stage's holds the shared download cache (root_apt_waiting,
# tests/lib/debian-root.sh).  Every step prints its time.  The first run
# downloads Debian 13's packages (about 170, 270 MB, for 129 upgraded and
# 38 new) into the shared download cache, DEBIAN_ROOT_ARCHIVES; Debian
# 13's package lists are fetched on every run.
set -eu
LKM_STACK_JUDGE_ONLY=1
. "$(dirname "$0")/../lifecycle/stage.sh"
LKM_STACK_JUDGE_ONLY=

# The guest's serial console is kept here for a look after the run, with
# the full-upgrade's output.
logs=$LKM_STACK_TOP/dist/upgrade-logs
# The guest's time box (seconds): one boot that loads modules.
BOOT_TIMEOUT=300

# What apt-get full-upgrade is given: no questions, no recommended
# packages (as every root of the suite), and the configuration files the
# tests changed kept as they are (dpkg asks otherwise).
FULL_UPGRADE="-y -q -o Dpkg::Use-Pty=0
	-o APT::Install-Recommends=false
	-o Dpkg::Options::=--force-confdef
	-o Dpkg::Options::=--force-confold
	full-upgrade"

# dkms_modules ROOT KVER: the lkm-stack modules in KVER's updates/dkms/,
# one path a line.
dkms_modules() {
	(cd "$1" && find "lib/modules/$2/" -path '*/updates/dkms/*' \
		-name '*_lkm.ko*' 2>/dev/null | sed 's,^,/,' | sort)
}

# module_sums ROOT KVER...: a sha256sum line for each of the lkm-stack
# modules of each KVER in ROOT, named by its path in ROOT.
module_sums() {
	_root=$1
	shift
	for _kver in "$@"; do
		for _path in $(dkms_modules "$_root" "$_kver"); do
			printf '%s  %s\n' \
				"$(sha256sum <"$_root$_path" | cut -d' ' -f1)" "$_path"
		done
	done
}

prepare() {
	# The lifecycle root's two kernels, and the newer one its
	# linux-image-amd64 brings (lifecycle_kernels, lib/kernels.sh).
	if ! kernels=$(lifecycle_kernels_of bookworm 2>"$work/kernels.err"); then
		give_up "kernels for the root" \
			"the three lifecycle_kernels_of bookworm known to apt" \
			"$(cat "$work/kernels.err")"
	fi
	# shellcheck disable=SC2086 # three kernel releases
	set -- $kernels
	old_kver=$1 meta_old_kver=$2 deb12_kver=$3
	# The run's .deb (lib/packages.sh), the one the lifecycle stage tests.
	pkgs=$(built_packages)
	package_built "$pkgs" deb ||
		give_up "make deb" "the package built" \
			"make deb: $(cat "$pkgs/deb.log")"
	dist=$pkgs/tree/dist
	if ! root_tarball=$(test_root_tarball "$old_kver" "$deb12_kver"); then
		give_up "Debian root" "a bookworm root with dkms and two kernels" \
			"debootstrap or apt-get failed (see above)"
	fi
	overlay_root "$root_tarball" "$root"
	echo "root: $root_tarball ($(du -sm "$root" | cut -f1) MB)"
	echo "its kernels: $old_kver $deb12_kver; linux-image-amd64 brings $meta_old_kver"
}

step1_bookworm() {
	apt_step "1: apt-get install linux-image-amd64 linux-headers-amd64" \
		"$root" install linux-image-amd64 linux-headers-amd64
	cp "$dist/$deb" "$root/tmp/"
	apt_step "1: apt-get install ./$deb" "$root" install "/tmp/$deb"
	echo "bookworm's $(in_root "$root" dkms --version)"
	expect_installed 1 "$root" "$version" \
		"$old_kver" "$meta_old_kver" "$deb12_kver"
	module_sums "$root" "$old_kver" "$meta_old_kver" "$deb12_kver" \
		>"$work/bookworm-modules.sha256"
}

step2_sources() {
	# Debian 13's kernel packages ship their modules under /usr/lib/modules,
	# where the root's dpkg path-exclude rules for /lib/modules do not
	# reach: the same rules for the new path, in this copy only (the cached
	# roots' recipe is unchanged).
	printf '%s\n' "$DEBIAN_ROOT_DPKG_CFG" |
		sed -n 's,^\(path-[a-z]*=\)/lib/modules/,\1/usr/lib/modules/,p' \
			>"$root/etc/dpkg/dpkg.cfg.d/lkm-stack-test-usr-lib"
	# What a user edits by hand: every bookworm suite renamed.  A subshell,
	# so the rest of the stage stays on bookworm.
	(DEBIAN_ROOT_SUITE=trixie && debian_root_sources) \
		>"$root/etc/apt/sources.list.d/debian.sources"
	sed -n 's/^\(URIs\|Suites\): /  &/p' \
		"$root/etc/apt/sources.list.d/debian.sources"
	expect_eq "2: the sources' suites are trixie, trixie-security and trixie-updates" \
		"trixie trixie-security trixie-updates" \
		"$(sed -n 's/^Suites: //p' "$root/etc/apt/sources.list.d/debian.sources" |
			tr ' ' '\n' | sort -u | vm_join_lines)"
	apt_step "2: apt-get update (Debian 13)" "$root" update
}

step3_full_upgrade() {
	mkdir -p "$logs"
	upgrade_log=$logs/full-upgrade.log
	# shellcheck disable=SC2086 # FULL_UPGRADE is a list of arguments
	if root_apt_waiting "$root" "$upgrade_log" $FULL_UPGRADE; then
		pass "3: apt-get full-upgrade exits 0"
	else
		fail "3: apt-get full-upgrade exits 0" "exit status 0" \
			"status $?; its output ends (all of it in $upgrade_log):
$(tail -n 40 "$upgrade_log")"
	fi
	grep -E '^[0-9]+ upgraded, |^Fetched ' "$upgrade_log" |
		sed 's/^/full-upgrade: /' || true
	expect_dpkg_sane 3 "$root"
	# shellcheck disable=SC2016 # a dpkg-query format, not the shell's
	expect_eq "3: lkm-stack-dkms is still installed, at $version" \
		"install ok installed $version" \
		"$(in_root "$root" dpkg-query -W -f '${Status} ${Version}' \
			lkm-stack-dkms 2>&1)"
	expect_match "3: /etc/os-release is Debian 13 (trixie)" \
		'^VERSION_CODENAME=trixie$' "$(cat "$root/etc/os-release")"
	expect_match "3: dkms --version is 3.2.x" '^dkms-3\.2\.[0-9]+' \
		"$(in_root "$root" dkms --version 2>&1)"
	# shellcheck disable=SC2016 # a dpkg-query format, not the shell's
	depends=$(in_root "$root" dpkg-query -W -f '${Depends}' \
		linux-image-amd64 2>&1 || true)
	new_kver=$(echo "$depends" |
		sed -En 's/^linux-image-([0-9][^ ,]*)( .*)?$/\1/p')
	expect_match "3: linux-image-amd64 depends on a 6.12+deb13 kernel" \
		'^6\.12\.[0-9]+\+deb13-amd64$' "${new_kver:-$depends}"
	expect_eq "3: linux-image-$new_kver is installed" \
		"install ok installed" "$(package_status "$root" "linux-image-$new_kver")"
	expect_eq "3: linux-headers-$new_kver is installed" \
		"install ok installed" "$(package_status "$root" "linux-headers-$new_kver")"
	# The Debian 12 kernels: full-upgrade leaves them installed, and their
	# modules as bookworm's dkms built them.
	for kver in "$old_kver" "$meta_old_kver" "$deb12_kver"; do
		expect_eq "3: linux-image-$kver is still installed" \
			"install ok installed" "$(package_status "$root" "linux-image-$kver")"
		expect_eq "3: linux-headers-$kver is still installed" \
			"install ok installed" "$(package_status "$root" "linux-headers-$kver")"
	done
	expect_installed 3 "$root" "$version" "$new_kver" \
		"$old_kver" "$meta_old_kver" "$deb12_kver"
	for kver in "$old_kver" "$meta_old_kver" "$deb12_kver"; do
		name="3: $kver: its modules are the files installed before the upgrade"
		before=$(grep -F "/lib/modules/$kver/" \
			"$work/bookworm-modules.sha256" || true)
		if [ -n "$before" ]; then
			expect_eq "$name" "$before" "$(module_sums "$root" "$kver")"
		else
			fail "$name" "their checksums, taken in step 1" "none were taken"
		fi
	done
	echo "the new kernel's modules: $(du -sm "$root/usr/lib/modules/$new_kver" | cut -f1) MB"
}

step4_boot() {
	if [ -z "$new_kver" ]; then
		fail "4: a Debian 13 kernel to boot" "the one linux-image-amd64 depends on" \
			"none (see step 3)"
		return
	fi
	root_add_guest_scripts "$root" "$guest/init" \
		"$LKM_STACK_TOP/tests/upgrade/guest.sh"
	started_image=$(date +%s)
	root_image "$root" "$work/root.img"
	echo "(image of $(du -m --apparent-size "$work/root.img" | cut -f1) MB took $(($(date +%s) - started_image))s)"
	VM_TIMEOUT=$BOOT_TIMEOUT boot_guest "4: $new_kver" \
		"$work/root.img" "$root" "$new_kver" guest
	expect_step_match "4: $new_kver: the guest's kmod is Debian 13's (kmod 34)" \
		"$guest_log" kmod-version '^kmod version 34(\.[0-9]+)*$'
	expect_modprobe_works "4: $new_kver" "$new_kver"
	expect_step_status "4: $new_kver: rmmod core_lkm is refused" \
		"$guest_log" rmmod-core nonzero
	expect_step_match "4: $new_kver: rmmod core_lkm says it is in use by client_lkm" \
		"$guest_log" rmmod-core 'core_lkm is in use by: client_lkm$'
	expect_step_eq "4: $new_kver: both modules are still loaded after it" \
		"$guest_log" still-loaded "client_lkm core_lkm" sorted_line
}

main() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-upgrade.XXXXXX")
	# remove_root first unmounts what a killed chroot command left mounted.
	trap 'remove_root "$work"' EXIT
	trap 'exit 1' HUP INT TERM
	# Under tests/run the package is the run's; alone, this stage's own.
	: "${LKM_STACK_BUILDS:=$work/builds}"
	root=$work/root
	step_times=

	section "upgrade: lkm-stack-dkms through Debian 12's upgrade to 13"
	timed upgrade "prepare (package, cached root)" prepare
	timed upgrade "1: bookworm with the package" step1_bookworm
	timed upgrade "2: sources switched to trixie" step2_sources
	timed upgrade "3: full-upgrade" step3_full_upgrade
	timed upgrade "4: boot the new kernel" step4_boot
	echo "upgrade: the steps' times:"
	printf '%s' "$step_times"

	[ "${LKM_STACK_SUITE:-}" ] || summary
}

main
