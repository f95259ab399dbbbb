#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Stacking across packages (issue 15): lkm-stack-addon-dkms, a DKMS
# package of its own, builds addon_lkm on core_lkm's exports through the
# files lkm-stack-dkms publishes for each kernel in /var/lib/lkm-stack/
# (Module.symvers, include/lkm_stack.h, VERSION), on the real dpkg, apt,
# dkms and kmod of two releases: a Debian 12 root (dkms 3.0.10: no
# BUILD_DEPENDS_REBUILD, the core's helper rebuilds the addon) and a
# Debian 13 root (dkms 3.2.2, which rebuilds it itself).  Each root has
# two kernels of its release; a third is installed in step 2:
#
#   bookworm  the lifecycle stage's cached root (test_root_tarball: the
#             previous 6.1 and the newest 6.12 amd64 kernel), then the
#             newest 6.1
#   trixie    the lifecycle stage's cached Debian 13 root (named
#             "stacking"; lifecycle_kernels_of trixie: the previous amd64
#             release and the newest cloud-amd64 one, whose image the
#             build root has downloaded already), then the newest amd64
#
# In each, in a chroot unless said otherwise:
#
#   1  both .debs in one apt-get install, and in a fresh copy one after
#      the other: every kernel has core_lkm, client_lkm and addon_lkm; on
#      a CONFIG_MODVERSIONS kernel the addon's CRCs of exp_int and
#      get_skey are those of the Module.symvers published for it; the
#      addon's make.log has no modpost "undefined!"
#   2  a new kernel: DKMS builds lkm-stack before lkm-stack-addon for it
#   3  a core upgrade (test-only 1.0.1: get_skey's parameter widened to
#      long, source compatible, a new CRC): every kernel's addon_lkm is
#      rebuilt against it
#   4  booted under QEMU on the new kernel: modprobe addon_lkm loads
#      core_lkm first, core_lkm is used by client_lkm and addon_lkm and
#      rmmod refuses it naming both, and the addon of step 1 (saved
#      before step 3) is refused by the new core: "disagrees about
#      version of symbol get_skey"
#   5  apt-get remove lkm-stack-dkms takes the addon with it (or refuses)
#      and dpkg stays sane; purging both leaves nothing behind
#   sid  (a root named "stacking" with sid's newest amd64 kernel, which
#      has no CONFIG_MODVERSIONS) 1's one transaction, 3, 5: the addon's
#      stamp proves the rebuild where the kernel would not notice
#   6  (bookworm only) the RPMs: rpm --root installs the core's, then the
#      addon's, whose scriptlets build it for all three kernels with the
#      root's dkms; erasing both leaves nothing behind
#
#   LKM_STACK_STACKING_RELEASES  the roots to run (default "bookworm trixie sid")
#   LKM_STACK_STACKING_SERIAL=1  run them one after the other, not side by
#                                side
#
# The two releases run side by side, each in roots of its own; each one's
# output is printed when it is done.  The judging of the core's state and
# of a boot is the lifecycle stage's (expect_installed,
# expect_nothing_left, check_boot), sourced with LKM_STACK_JUDGE_ONLY=1 as
# tests/upgrade/stage.sh does.  Every step prints its time.  The first
# run makes the Debian 13 root (about 2 minutes; it downloads the previous
# amd64 kernel) and downloads the newest 6.1 if no other stage has.
set -eu
LKM_STACK_JUDGE_ONLY=1
. "$(dirname "$0")/../lifecycle/stage.sh"
LKM_STACK_JUDGE_ONLY=
. "$(dirname "$0")/../lib/releases.sh"

core_deb=$deb
# examples/addon has a version of its own (its dkms.conf's).
addon_pkg_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' \
	"$LKM_STACK_TOP/examples/addon/dkms.conf")
addon_deb=lkm-stack-addon-dkms_${addon_pkg_version}_all.deb
# lifecycle's guest/ has the init every booted Debian root runs.
stacking_guest=$LKM_STACK_TOP/tests/stacking/guest
# The guests' serial consoles and apt's output are kept here for a look
# after the run.
logs=$LKM_STACK_TOP/dist/stacking-logs
# The guest's time box (seconds): one boot that loads modules.
BOOT_TIMEOUT=300

# apt_download ROOT LOG PACKAGE...: apt-get --download-only of PACKAGEs
# into the shared download cache, waiting for its lock while another
# root's apt-get holds it (root_apt_waiting); output in LOG.
apt_download() {
	_ad_root=$1 _ad_log=$2
	shift 2
	root_apt_waiting "$_ad_root" "$_ad_log" -y -q --download-only \
		--no-install-recommends install "$@"
}

# apt_step NAME ROOT APT-GET-ARG...: root_apt_local as a named check; its
# output stays in apt_out and in $logs/<release>-apt-<n>.log.
apt_step() {
	_as_name=$1 _as_root=$2
	shift 2
	apt_count=$((apt_count + 1))
	_as_log=$logs/$release-apt-$apt_count.log
	if root_apt_local "$_as_root" "$_as_log" "$@"; then
		pass "$_as_name"
	else
		fail "$_as_name" "apt-get $* succeeds" \
			"status $?; its output ends (all of it in $_as_log):
$(tail -n 40 "$_as_log")"
	fi
	apt_out=$(cat "$_as_log")
}

# addon_version ROOT: the DKMS version of lkm-stack-addon whose sources
# the package put in ROOT's /usr/src, or nothing.
addon_version() {
	for _av in "$1"/usr/src/lkm-stack-addon-*/dkms.conf; do
		[ -f "$_av" ] || continue
		_av=${_av%/dkms.conf}
		echo "${_av##*/lkm-stack-addon-}"
	done
}

# has_modversions ROOT KVER: KVER's kernel checks symbol CRCs
# (CONFIG_MODVERSIONS=y in ROOT's /boot/config-KVER).
has_modversions() {
	grep -qs '^CONFIG_MODVERSIONS=y$' "$(root_kernel_config "$1" "$2")"
}

# root_kernel_config ROOT KVER: KVER's configuration in ROOT: /boot's, or
# where sid's kernel packages put it (/usr/lib/modules/KVER/config).
root_kernel_config() {
	if [ -f "$1/boot/config-$2" ] || [ ! -f "$1/usr/lib/modules/$2/config" ]; then
		echo "$1/boot/config-$2"
	else
		echo "$1/usr/lib/modules/$2/config"
	fi
}

# crc_digits: a filter: the CRC in its first field ("0x0123abcd") as 8
# lower-case hex digits, so that a 0x%08x and a 0x%lx form compare.
crc_digits() {
	awk '{ s = tolower($1); sub(/^0x/, "", s)
		while (length(s) < 8) s = "0" s
		print s; exit }'
}

# symvers_crc FILE SYMBOL: SYMBOL's CRC in the Module.symvers FILE
# (crc_digits); nothing if FILE does not list it.
symvers_crc() {
	awk -v sym="$2" '$2 == sym' "$1" 2>/dev/null | crc_digits
}

# module_crc MODULE SYMBOL: the CRC MODULE (.ko or .ko.xz) was built
# with for SYMBOL, from its __versions (modprobe --dump-modversions), as
# symvers_crc prints it; nothing if it has none for SYMBOL.
module_crc() {
	modprobe --dump-modversions "$1" 2>/dev/null |
		awk -v sym="$2" '$2 == sym' | crc_digits
}

# expect_crc_equal NAME WHAT-A A WHAT-B B: the CRCs A (read from WHAT-A)
# and B (from WHAT-B) are the same, and there are two: an empty one
# fails, naming the side that lacks it.
expect_crc_equal() {
	if [ -z "$3" ] || [ -z "$5" ]; then
		fail "$1" "a CRC in $2 and the same in $4" \
			"'$3' in $2, '$5' in $4 (empty: none found)"
	elif [ "$3" = "$5" ]; then
		pass "$1"
	else
		fail "$1" "$5 (the CRC in $4)" "$3 (in $2)"
	fi
}

# expect_published PREFIX ROOT CORE-VERSION KVER: what lkm-stack-dkms
# publishes for KVER is there: Module.symvers listing core_lkm's two
# exports, the API header, and VERSION saying CORE-VERSION.
expect_published() {
	_ep_dir=$2/var/lib/lkm-stack/$4
	_ep_symvers=$(cat "$_ep_dir/Module.symvers" 2>&1 || true)
	for _ep_sym in exp_int get_skey; do
		expect_match "$1: $4: /var/lib/lkm-stack/$4/Module.symvers exports $_ep_sym" \
			"^0x[0-9a-fA-F]+[[:space:]]+${_ep_sym}[[:space:]]" "$_ep_symvers"
	done
	if [ -f "$_ep_dir/include/lkm_stack.h" ]; then
		pass "$1: $4: /var/lib/lkm-stack/$4/include/lkm_stack.h is there"
	else
		fail "$1: $4: /var/lib/lkm-stack/$4/include/lkm_stack.h is there" \
			"the API header" "$(ls -la "$_ep_dir" 2>&1)"
	fi
	expect_eq "$1: $4: /var/lib/lkm-stack/$4/VERSION says $3" "$3" \
		"$(cat "$_ep_dir/VERSION" 2>&1)"
}

# expect_addon_built PREFIX ROOT CORE-VERSION KVER...: for each KVER, the
# core published its API, DKMS lists lkm-stack-addon as installed, and
# addon_lkm is in place, built against CORE-VERSION (its modinfo stamp
# lkm_stack_core), needing core_lkm in modules.dep, with the CRCs of the
# published Module.symvers (on a MODVERSIONS kernel) and no "undefined!"
# in its make.log.
expect_addon_built() {
	_eab=$1 _eab_root=$2 _eab_core=$3
	shift 3
	_eab_ver=$(addon_version "$_eab_root")
	expect_match "$_eab: lkm-stack-addon's sources are in /usr/src" \
		'^[0-9][^ ]*$' "${_eab_ver:-none: $(ls "$_eab_root/usr/src")}"
	# (stderr has dkms's readelf warnings about the 6.12 headers)
	_eab_status=$(in_root "$_eab_root" dkms status -m lkm-stack-addon \
		2>/dev/null || echo "dkms status failed")
	for _eab_kver in "$@"; do
		expect_published "$_eab" "$_eab_root" "$_eab_core" "$_eab_kver"
		expect_match "$_eab: dkms status: lkm-stack-addon/$_eab_ver installed for $_eab_kver" \
			"^lkm-stack-addon/$(re "$_eab_ver"), $(re "$_eab_kver"), [^:]+: installed" \
			"$_eab_status"
		_eab_suffix=$(vm_module_suffix "$_eab_root" "$_eab_kver")
		_eab_path=$(module_path "$_eab_root" "$_eab_kver" addon_lkm)
		expect_eq "$_eab: $_eab_kver: DKMS installed addon_lkm$_eab_suffix" \
			"/lib/modules/$_eab_kver/updates/dkms/addon_lkm$_eab_suffix" \
			"$_eab_path"
		_eab_ko=$_eab_root$_eab_path
		expect_eq "$_eab: $_eab_kver: addon_lkm was built against lkm-stack $_eab_core (modinfo lkm_stack_core)" \
			"$_eab_core" "$(modinfo -F lkm_stack_core "$_eab_ko" 2>&1)"
		expect_match "$_eab: $_eab_kver: modules.dep: addon_lkm needs core_lkm" \
			'^updates/dkms/addon_lkm\.ko(\.xz)?: updates/dkms/core_lkm\.ko(\.xz)?$' \
			"$(cat "$_eab_root/lib/modules/$_eab_kver/modules.dep" 2>&1)"
		expect_addon_crcs "$_eab: $_eab_kver" "$_eab_root" "$_eab_kver" "$_eab_ko"
		_eab_log=$(echo "$_eab_root/var/lib/dkms/lkm-stack-addon/$_eab_ver/$_eab_kver"/*/log/make.log)
		if [ -f "$_eab_log" ]; then
			expect_no_match "$_eab: $_eab_kver: the addon's make.log has no modpost 'undefined!'" \
				'undefined!' "$(cat "$_eab_log")"
		else
			fail "$_eab: $_eab_kver: the addon's make.log has no modpost 'undefined!'" \
				"/var/lib/dkms/lkm-stack-addon/$_eab_ver/$_eab_kver/<arch>/log/make.log" \
				"no such file"
		fi
	done
}

# expect_addon_crcs PREFIX ROOT KVER MODULE: on a MODVERSIONS kernel, the
# CRCs MODULE holds for exp_int and get_skey are those of the
# Module.symvers published for KVER; on another, one line says there is
# nothing to compare.
expect_addon_crcs() {
	if [ ! -f "$(root_kernel_config "$2" "$3")" ]; then
		fail "$1: the kernel's configuration says whether it has MODVERSIONS" \
			"/boot/config-$3 or /usr/lib/modules/$3/config" "neither"
		return
	fi
	if ! has_modversions "$2" "$3"; then
		echo "($1: no CONFIG_MODVERSIONS: no CRCs to compare)"
		return
	fi
	for _eac_sym in exp_int get_skey; do
		expect_crc_equal "$1: addon_lkm's CRC of $_eac_sym is the published one" \
			"addon_lkm's __versions" "$(module_crc "$4" "$_eac_sym")" \
			"/var/lib/lkm-stack/$3/Module.symvers" \
			"$(symvers_crc "$2/var/lib/lkm-stack/$3/Module.symvers" "$_eac_sym")"
	done
}

# dkms_build_order LOG: the DKMS modules of both packages in the order
# apt's output LOG first names a build of theirs, one a line: dkms 3.0
# names a build by its tree, /var/lib/dkms/NAME/VERSION/build, dkms 3.2
# as "NAME/VERSION" in its autoinstall and build lines.
dkms_build_order() {
	grep -oE '(/var/lib/dkms/|[Mm]odule )lkm-stack(-addon)?/[0-9]' "$1" |
		sed -E 's,^(/var/lib/dkms/|[Mm]odule ),,; s,/[0-9]$,,' |
		awk '!seen[$0]++' || true
}

# mtime FILE: FILE's modification time in nanoseconds, or nothing.
mtime() {
	stat -c %.9Y "$1" 2>/dev/null | tr -d . || true
}

prepare_packages() {
	# The run's .debs (lib/packages.sh), both packages from make deb.
	pkgs=$(built_packages)
	package_built "$pkgs" deb ||
		give_up "make deb" "both packages built" \
			"make deb: $(cat "$pkgs/deb.log")"
	dist=$pkgs/tree/dist
	if [ ! -f "$dist/$addon_deb" ]; then
		# built_packages of a tree from before the addon was packaged
		# (or a run sharing one): make deb here.
		echo "the run's packages have no $addon_deb: make deb in a scratch tree"
		scratch_tree "$work/tree"
		if ! out=$(make -C "$work/tree" deb 2>&1); then
			give_up "make deb" "both packages built" "$out"
		fi
		dist=$work/tree/dist
	fi
	for file in "$core_deb" "$addon_deb"; do
		[ -f "$dist/$file" ] ||
			give_up "make deb leaves $file" "dist/$file" \
				"$(ls "$dist" 2>&1)"
	done
	# The test-only core upgrade: the same tree at $new_version, with
	# get_skey's parameter widened from int to long.  The callers' source
	# is unchanged (an int argument converts), but the function's type,
	# and so its CRC under MODVERSIONS, is not.
	scratch_tree "$work/tree-new"
	if ! out=$("$work/tree-new/scripts/set-version" "$new_version" \
		"Stacking test upgrade: get_skey takes a long." 2>&1 &&
		sed -i 's/u64 get_skey(int magic)/u64 get_skey(long magic)/' \
			"$work/tree-new/src/include/lkm_stack.h" \
			"$work/tree-new/src/core/core_lkm.c" 2>&1); then
		give_up "the $new_version tree" "set-version and the sed succeed" "$out"
	fi
	for file in src/include/lkm_stack.h src/core/core_lkm.c; do
		grep -q 'u64 get_skey(long magic)' "$work/tree-new/$file" ||
			give_up "the $new_version tree: $file declares get_skey(long magic)" \
				"the sed changed it" "$(grep -n get_skey "$work/tree-new/$file")"
	done
	if ! out=$(make -C "$work/tree-new" deb 2>&1); then
		give_up "make deb ($new_version)" "the upgrade package built" "$out"
	fi
	echo "packages: $core_deb, $addon_deb and $new_deb (get_skey(long))"
}

# select_kernels: the kernels of $release: kver_a and kver_b in its
# root, kver_new for step 2 (and the boot); and the root's tarball.
select_kernels() {
	case $release in
	bookworm | trixie)
		# shellcheck disable=SC2046 # three kernel releases
		set -- $(lifecycle_kernels_of "$release")
		kver_a=${1:-} kver_new=${2:-} kver_b=${3:-}
		;;
	sid)
		# One kernel: sid's newest amd64 (no CONFIG_MODVERSIONS).
		kver_a=$(release_kernels sid amd64 | tail -n 1)
		if [ -z "$kver_a" ]; then
			fail "$release: a kernel for the root" "sid's newest amd64 kernel known to apt" \
				"none (run apt-get update)"
			return 1
		fi
		echo "kernel: $kver_a"
		return 0
		;;
	esac
	if [ -z "$kver_a" ] || [ -z "$kver_b" ] || [ -z "$kver_new" ]; then
		fail "$release: kernels for the root" "three kernels of $release known to apt" \
			"'$kver_a' '$kver_b' '$kver_new' (run apt-get update)"
		return 1
	fi
	echo "kernels: $kver_a and $kver_b in the root, then $kver_new"
}

# cached_root: print the path of the cached root of $release with its two kernels, dkms
# and openssl (the lifecycle stage's for bookworm and trixie).
cached_root() {
	case $release in
	bookworm | trixie) test_root_tarball "$kver_a" "$kver_b" ;;
	sid)
		DEBIAN_ROOT_NAME=stacking \
			DEBIAN_ROOT_DPKG_EXTRA=$(usr_lib_modules_dpkg_cfg) \
			debian_root_tarball dkms openssl xz-utils \
			"linux-image-$kver_a" "linux-headers-$kver_a" ;;
	esac
}

prepare_root() {
	if ! root_tarball=$(cached_root); then
		fail "$release: Debian root" "a $release root with dkms and two kernels" \
			"debootstrap or apt-get failed (see above)"
		return 0
	fi
	overlay_root "$root_tarball" "$root_one"
	# sid runs step 1's one transaction only (see step_sid).
	[ "$release" = sid ] || overlay_root "$root_tarball" "$root_seq"
	echo "root: $root_tarball ($(du -sm "$root_one" | cut -f1) MB)"
	echo "its $(in_root "$root_one" dkms --version 2>&1)"
	for dir in "$root_one" "$root_seq"; do
		[ -d "$dir" ] || continue
		cp "$dist/$core_deb" "$dist/$addon_deb" \
			"$work/tree-new/dist/$new_deb" "$dir/tmp/"
	done
	root_ready=1
}

step1_install() {
	apt_step "$release 1: apt-get install ./$core_deb ./$addon_deb (one transaction)" \
		"$root_one" install "/tmp/$core_deb" "/tmp/$addon_deb"
	expect_installed "$release 1 (one transaction)" "$root_one" "$version" \
		"$kver_a" "$kver_b"
	expect_addon_built "$release 1 (one transaction)" "$root_one" "$version" \
		"$kver_a" "$kver_b"
	expect_dpkg_sane "$release 1 (one transaction)" "$root_one"

	apt_step "$release 1: apt-get install ./$core_deb (then the addon)" \
		"$root_seq" install "/tmp/$core_deb"
	apt_step "$release 1: apt-get install ./$addon_deb (after the core)" \
		"$root_seq" install "/tmp/$addon_deb"
	expect_installed "$release 1 (one after the other)" "$root_seq" \
		"$version" "$kver_a" "$kver_b"
	expect_addon_built "$release 1 (one after the other)" "$root_seq" \
		"$version" "$kver_a" "$kver_b"
	expect_dpkg_sane "$release 1 (one after the other)" "$root_seq"
	remove_root "$root_seq"
}

step2_new_kernel() {
	# The kernel's packages are fetched first (holding the shared
	# download cache's lock only for that), then installed without it.
	if ! apt_download "$root_one" "$logs/$release-download.log" \
		"linux-image-$kver_new" "linux-headers-$kver_new"; then
		fail "$release 2: apt-get --download-only linux-image-$kver_new linux-headers-$kver_new" \
			"it succeeds" "$(tail -n 40 "$logs/$release-download.log")"
	fi
	apt_step "$release 2: apt-get install linux-image-$kver_new linux-headers-$kver_new" \
		"$root_one" install "linux-image-$kver_new" "linux-headers-$kver_new"
	expect_eq "$release 2: apt's output shows DKMS building lkm-stack, then lkm-stack-addon, for $kver_new" \
		"lkm-stack lkm-stack-addon" \
		"$(dkms_build_order "$logs/$release-apt-$apt_count.log" | vm_join_lines)"
	core_log=$(echo "$root_one/var/lib/dkms/lkm-stack/$version/$kver_new"/*/log/make.log)
	addon_log=$(echo "$root_one/var/lib/dkms/lkm-stack-addon/$(addon_version "$root_one")/$kver_new"/*/log/make.log)
	core_done=$(mtime "$core_log")
	addon_done=$(mtime "$addon_log")
	if [ -n "$core_done" ] && [ -n "$addon_done" ] &&
		[ "$core_done" -lt "$addon_done" ]; then
		pass "$release 2: $kver_new: lkm-stack's make.log was done before lkm-stack-addon's"
	else
		fail "$release 2: $kver_new: lkm-stack's make.log was done before lkm-stack-addon's" \
			"both make.logs, the core's older" \
			"core $core_log: '$core_done'; addon $addon_log: '$addon_done' (ns)"
	fi
	expect_installed "$release 2" "$root_one" "$version" "$kver_new"
	expect_addon_built "$release 2" "$root_one" "$version" "$kver_new"
}

step3_core_upgrade() {
	# The addon of the boot kernel as built against $version, for step 4,
	# and each kernel's get_skey CRC before the upgrade.
	old_addon=/lkm-test/old-addon_lkm$(vm_module_suffix "$root_one" "$kver_new")
	mkdir -p "$root_one/lkm-test"
	cp "$root_one$(module_path "$root_one" "$kver_new" addon_lkm)" "$root_one$old_addon" ||
		fail "$release 3: save $kver_new's addon_lkm as $old_addon" \
			"a copy" "none (see step 2)"
	for kver in "$kver_a" "$kver_b" "$kver_new"; do
		echo "$kver $(symvers_crc "$root_one/var/lib/lkm-stack/$kver/Module.symvers" get_skey)"
	done >"$work/$release-old-crcs"

	apt_step "$release 3: apt-get install ./$new_deb (core upgrade, get_skey(long))" \
		"$root_one" install "/tmp/$new_deb"
	expect_rebuild_by_dkms_version "$release 3"
	expect_dpkg_sane "$release 3" "$root_one"
	expect_installed "$release 3" "$root_one" "$new_version" \
		"$kver_a" "$kver_b" "$kver_new"
	expect_addon_built "$release 3" "$root_one" "$new_version" \
		"$kver_a" "$kver_b" "$kver_new"
	for kver in "$kver_a" "$kver_b" "$kver_new"; do
		has_modversions "$root_one" "$kver" || continue
		old_crc=$(awk -v k="$kver" '$1 == k { print $2 }' "$work/$release-old-crcs")
		new_crc=$(symvers_crc "$root_one/var/lib/lkm-stack/$kver/Module.symvers" get_skey)
		if [ -n "$old_crc" ] && [ -n "$new_crc" ] && [ "$old_crc" != "$new_crc" ]; then
			pass "$release 3: $kver: get_skey's published CRC changed with the upgrade"
		else
			fail "$release 3: $kver: get_skey's published CRC changed with the upgrade" \
				"two CRCs that differ" "before '$old_crc', after '$new_crc'"
		fi
	done
	# What step 4 loads with the new core must be the old build.
	if has_modversions "$root_one" "$kver_new"; then
		expect_crc_equal "$release 3: $kver_new: the saved addon has the old get_skey CRC" \
			"$old_addon" "$(module_crc "$root_one$old_addon" get_skey)" \
			"the Module.symvers before the upgrade" \
			"$(awk -v k="$kver_new" '$1 == k { print $2 }' "$work/$release-old-crcs")"
	fi
}

step4_boot() {
	root_add_guest_scripts "$root_one" "$guest/init" "$stacking_guest/stacking.sh"
	started_image=$(date +%s)
	root_image "$root_one" "$image"
	echo "(image of $(du -m --apparent-size "$image" | cut -f1) MB took $(($(date +%s) - started_image))s)"
	boot_prefix="$release 4: $kver_new"
	VM_TIMEOUT=$BOOT_TIMEOUT boot_guest "$boot_prefix" "$image" "$root_one" \
		"$kver_new" stacking
	rm -f "$image"
	expect_step_eq "$boot_prefix: running kernel" "$guest_log" uname "$kver_new"
	expect_step_empty "$boot_prefix: none of the modules is loaded before" \
		"$guest_log" loaded-before
	expect_step_eq "$boot_prefix: modprobe --show-depends addon_lkm: core_lkm, then addon_lkm" \
		"$guest_log" show-depends "core_lkm addon_lkm" module_names
	expect_step_status "$boot_prefix: modprobe addon_lkm succeeds" "$guest_log" \
		modprobe-addon 0
	expect_step_eq "$boot_prefix: modprobe addon_lkm loaded core_lkm and addon_lkm" \
		"$guest_log" loaded-addon "addon_lkm core_lkm" sorted_line
	expect_step_eq "$boot_prefix: the kernel log has core_lkm loaded, then addon_lkm" \
		"$guest_log" kmsg-addon "core_lkm addon_lkm" load_order
	expect_step_match "$boot_prefix: addon_lkm got exp_int and a key from core_lkm" \
		"$guest_log" kmsg-addon \
		'addon_lkm: loaded: exp_int=200 skey=0x0*[1-9a-f]'
	expect_step_status "$boot_prefix: modprobe client_lkm succeeds" "$guest_log" \
		modprobe-client 0
	expect_step_eq "$boot_prefix: all three modules are loaded" "$guest_log" \
		loaded-all "addon_lkm client_lkm core_lkm" sorted_line
	expect_step_match "$boot_prefix: lsmod shows core_lkm used by 2: client_lkm and addon_lkm" \
		"$guest_log" lsmod \
		'^core_lkm +[0-9]+ +2 +(client_lkm,addon_lkm|addon_lkm,client_lkm)$'
	expect_step_status "$boot_prefix: rmmod core_lkm is refused" "$guest_log" \
		rmmod-core nonzero
	expect_step_match "$boot_prefix: rmmod core_lkm names both users" \
		"$guest_log" rmmod-core \
		'core_lkm is in use by: (client_lkm addon_lkm|addon_lkm client_lkm)$'
	expect_step_eq "$boot_prefix: all three are still loaded after it" \
		"$guest_log" still-loaded "addon_lkm client_lkm core_lkm" sorted_line
	expect_step_status "$boot_prefix: rmmod addon_lkm succeeds" "$guest_log" \
		rmmod-addon 0
	expect_step_eq "$boot_prefix: the addon built against $version is in the image" \
		"$guest_log" old-addon "$old_addon"
	expect_step_status "$boot_prefix: insmod of that old addon_lkm with the $new_version core is refused" \
		"$guest_log" insmod-old nonzero
	expect_step_match "$boot_prefix: the kernel log says addon_lkm disagrees about version of symbol get_skey" \
		"$guest_log" kmsg-old \
		'addon_lkm: disagrees about version of symbol get_skey$'
	expect_step_eq "$boot_prefix: the old addon is not loaded" "$guest_log" \
		loaded-after-old "client_lkm core_lkm" sorted_line
	expect_step_status "$boot_prefix: modprobe -r client_lkm core_lkm succeeds" \
		"$guest_log" modprobe-r 0
	expect_step_empty "$boot_prefix: nothing of them is left loaded" \
		"$guest_log" unloaded
}

# module_names: a filter: the module names (file names without .ko*) of
# the insmod lines of modprobe --show-depends, in order, on one line.
module_names() {
	sed -En 's,^insmod .*/([^/]+)\.ko(\.[a-z]+)?( .*)?$,\1,p' | vm_join_lines
}

# load_order: a filter: which of core_lkm and addon_lkm the kernel log
# says loaded, in the order it says so, on one line.
load_order() {
	sed -En 's/.*[] ](core_lkm|addon_lkm): loaded: .*/\1/p' | vm_join_lines
}

step5_remove_and_purge() {
	in_root "$root_one" dkms status >"$work/$release-dkms-before" 2>/dev/null || true
	apt_count=$((apt_count + 1))
	remove_log=$logs/$release-apt-$apt_count.log
	remove_status=0
	root_apt_local "$root_one" "$remove_log" remove lkm-stack-dkms || remove_status=$?
	core_state=$(package_status "$root_one" lkm-stack-dkms)
	addon_state=$(package_status "$root_one" lkm-stack-addon-dkms)
	echo "apt-get remove lkm-stack-dkms: status $remove_status; lkm-stack-dkms '$core_state', lkm-stack-addon-dkms '$addon_state'"
	expect_dpkg_sane "$release 5: after apt-get remove lkm-stack-dkms" "$root_one"
	if [ "$remove_status" -eq 0 ]; then
		expect_match "$release 5: apt-get remove lkm-stack-dkms removes lkm-stack-addon-dkms too" \
			'^Removing lkm-stack-addon-dkms ' "$(cat "$remove_log")"
		expect_no_match "$release 5: lkm-stack-dkms is removed" \
			' installed$' "$core_state"
		expect_no_match "$release 5: lkm-stack-addon-dkms is removed" \
			' installed$' "$addon_state"
		if dkms_left=$(in_root "$root_one" dkms status 2>/dev/null); then
			dkms_left=$(printf '%s\n' "$dkms_left" |
				grep -E '^lkm-stack(-addon)?/' || true)
		else
			dkms_left="dkms status failed: $dkms_left"
		fi
		expect_eq "$release 5: dkms status lists neither module" "" "$dkms_left"
		expect_eq "$release 5: no *_lkm module left under /lib/modules" "" \
			"$(find "$root_one/lib/modules/" -name '*_lkm.ko*' 2>&1)"
		expect_eq "$release 5: nothing published in /var/lib/lkm-stack for any kernel" "" \
			"$(existing "$root_one"/var/lib/lkm-stack/*/Module.symvers \
				"$root_one"/var/lib/lkm-stack/*/VERSION)"
	else
		# A refusal must leave both as they were.
		expect_eq "$release 5: apt-get remove refused: lkm-stack-dkms still installed" \
			"install ok installed" "$core_state"
		expect_eq "$release 5: apt-get remove refused: lkm-stack-addon-dkms still installed" \
			"install ok installed" "$addon_state"
		expect_eq "$release 5: apt-get remove refused: dkms status unchanged" \
			"$(cat "$work/$release-dkms-before")" \
			"$(in_root "$root_one" dkms status 2>/dev/null)"
	fi
	# Purge what dpkg still knows of the two: a removed package without
	# a postrm or conffiles (the addon's) is forgotten already.
	known=
	for package in lkm-stack-dkms lkm-stack-addon-dkms; do
		[ -z "$(package_status "$root_one" "$package")" ] ||
			known="$known $package"
	done
	# shellcheck disable=SC2086 # a list of package names
	apt_step "$release 5: apt-get purge${known:- (nothing left to purge)}" \
		"$root_one" purge $known
	expect_nothing_left "$release 5" "$root_one"
	expect_eq "$release 5: no /var/lib/lkm-stack" "" \
		"$(existing "$root_one/var/lib/lkm-stack")"
	expect_eq "$release 5: no /var/lib/dkms/lkm-stack*" "" \
		"$(existing "$root_one"/var/lib/dkms/lkm-stack*)"
	expect_eq "$release 5: no *_lkm module under /lib/modules" "" \
		"$(find "$root_one/lib/modules/" -name '*_lkm.ko*' 2>&1)"
	expect_dpkg_sane "$release 5: after the purge" "$root_one"
	expect_eq "$release 5: dpkg has forgotten both packages" "" \
		"$(package_status "$root_one" lkm-stack-dkms)$(package_status "$root_one" lkm-stack-addon-dkms)"
}

# step6_rpm: the addon's RPM scriptlets against the root's real dkms, as
# the lifecycle stage's step 9 runs the core's: rpm --root installs the
# core's .rpm, then the addon's (its %posttrans builds through the core's
# helper for every kernel), and erases both (their %preun remove them
# from DKMS).  In the root step 5 left with nothing of ours and three
# kernels.
step6_rpm() {
	core_rpm=$(echo "$dist/lkm-stack-dkms-$version"-*.noarch.rpm)
	addon_rpm=$(echo "$dist/lkm-stack-addon-dkms-$addon_pkg_version"-*.noarch.rpm)
	for file in "$core_rpm" "$addon_rpm"; do
		if [ ! -f "$file" ]; then
			fail "$release 6: make rpm left $(basename "$file")" "the file" \
				"$(ls "$dist" 2>&1)"
			return 0
		fi
	done
	rpm_step "$release 6: rpm --root -i --nodeps $(basename "$core_rpm")" \
		"$root_one" -i --nodeps "$core_rpm"
	rpm_step "$release 6: rpm --root -i --nodeps $(basename "$addon_rpm")" \
		"$root_one" -i --nodeps "$addon_rpm"
	expect_installed "$release 6 (RPM)" "$root_one" "$version" \
		"$kver_a" "$kver_b" "$kver_new"
	expect_addon_built "$release 6 (RPM)" "$root_one" "$version" \
		"$kver_a" "$kver_b" "$kver_new"
	rpm_step "$release 6: rpm --root -e lkm-stack-addon-dkms lkm-stack-dkms" \
		"$root_one" -e lkm-stack-addon-dkms lkm-stack-dkms
	expect_nothing_left "$release 6 (RPM)" "$root_one"
	expect_eq "$release 6 (RPM): no /var/lib/dkms/lkm-stack*" "" \
		"$(existing "$root_one"/var/lib/dkms/lkm-stack*)"
	expect_eq "$release 6 (RPM): no /var/lib/lkm-stack" "" \
		"$(existing "$root_one/var/lib/lkm-stack")"
}

# expect_rebuild_by_dkms_version PREFIX: the apt output of the last
# apt_step (the core upgrade) shows the addon rebuilt by what README.md
# says does it: dkms itself (BUILD_DEPENDS_REBUILD) on dkms 3.2, the
# core's helper on dkms 3.0.
expect_rebuild_by_dkms_version() {
	_erb_dkms=$(in_root "$root_one" dkms --version 2>&1)
	case $_erb_dkms in
	*[-\ ]3.0.*) _erb_line='^lkm-stack-addon: rebuilding for kernel' _erb_who="the core's helper" ;;
	*) _erb_line='^Rebuilding module lkm-stack-addon/' _erb_who="dkms (BUILD_DEPENDS_REBUILD)" ;;
	esac
	expect_match "$1: $_erb_dkms: the addon is rebuilt by $_erb_who" \
		"$_erb_line" "$(cat "$logs/$release-apt-$apt_count.log" 2>&1)"
}

# step_sid: on sid's kernel, which has no CONFIG_MODVERSIONS and so would
# not notice an addon built against another core, the package's rebuild
# is what protects: both packages installed in one transaction, then the
# core upgraded as in step 3; the addon's stamp (modinfo lkm_stack_core)
# shows it was rebuilt against the new core.  No boot: loading is proven
# on sid by the vm stage, and the kernel matches symbols by name there.
step_sid() {
	expect_eq "$release: $kver_a has no CONFIG_MODVERSIONS: a stale addon would load unnoticed, the stamp shows the rebuild" \
		"no" "$(if has_modversions "$root_one" "$kver_a"; then echo yes; else echo no; fi)"
	apt_step "$release 1: apt-get install ./$core_deb ./$addon_deb (one transaction)" \
		"$root_one" install "/tmp/$core_deb" "/tmp/$addon_deb"
	expect_installed "$release 1" "$root_one" "$version" "$kver_a"
	expect_addon_built "$release 1" "$root_one" "$version" "$kver_a"
	apt_step "$release 3: apt-get install ./$new_deb (core upgrade, get_skey(long))" \
		"$root_one" install "/tmp/$new_deb"
	expect_rebuild_by_dkms_version "$release 3"
	expect_dpkg_sane "$release 3" "$root_one"
	expect_installed "$release 3" "$root_one" "$new_version" "$kver_a"
	expect_addon_built "$release 3" "$root_one" "$new_version" "$kver_a"
}

# run_release RELEASE: steps 1-5 (and on bookworm, 6) in a root of
# RELEASE, sid's steps (step_sid, then 5) in a sid root; then the steps'
# times.
run_release() {
	release=$1
	DEBIAN_ROOT_SUITE=$release
	root_one=$work/$release-root
	root_seq=$work/$release-root-seq
	image=$work/$release-root.img
	apt_count=0
	step_times=
	section "stacking: lkm-stack-dkms and lkm-stack-addon-dkms in a Debian $release root"
	select_kernels || return 0
	root_ready=
	timed stacking "$release: prepare (a copy of the cached root)" prepare_root
	[ -n "$root_ready" ] || return 0
	if [ "$release" = sid ]; then
		timed stacking "$release: install, core upgrade" step_sid
		timed stacking "$release 5: remove and purge" step5_remove_and_purge
		remove_root "$root_one"
		echo "stacking $release: the steps' times:"
		printf '%s' "$step_times"
		return 0
	fi
	timed stacking "$release 1: both packages installed" step1_install
	timed stacking "$release 2: a new kernel" step2_new_kernel
	timed stacking "$release 3: core upgrade" step3_core_upgrade
	timed stacking "$release 4: boot $kver_new" step4_boot
	timed stacking "$release 5: remove and purge" step5_remove_and_purge
	# The RPM side once: its scriptlets and dkms behave alike in both.
	[ "$release" != bookworm ] || timed stacking "$release 6: the RPMs" step6_rpm
	remove_root "$root_one"
	echo "stacking $release: the steps' times:"
	printf '%s' "$step_times"
}

# finish_release RELEASE PID: wait for the child PID running RELEASE,
# print its output, and fail if it died before its end.
finish_release() {
	_fr_status=0
	wait "$2" || _fr_status=$?
	cat "$work/$1.out"
	[ "$_fr_status" -eq 0 ] ||
		fail "stacking $1: its steps run to their end" "exit status 0" \
			"status $_fr_status (its output is above)"
}

main() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-stacking.XXXXXX")
	releases=${LKM_STACK_STACKING_RELEASES:-bookworm trixie sid}
	pids=
	# remove_root first unmounts what a killed chroot command left mounted.
	trap 'remove_root "$work"' EXIT
	# shellcheck disable=SC2086 # a list of process ids
	trap '[ -z "$pids" ] || kill $pids 2>/dev/null; exit 1' HUP INT TERM
	# Under tests/run the packages are the run's; alone, this stage's own.
	: "${LKM_STACK_BUILDS:=$work/builds}"
	mkdir -p "$logs"
	step_times=

	section "stacking: a DKMS package built on core_lkm's exports (issue 15)"
	timed stacking "prepare (packages)" prepare_packages
	# The releases side by side, each in its own roots, its output kept
	# until it is done: most of a release's time is one core's (DKMS's
	# builds of two small modules, a boot under TCG), and the machine has
	# two.  LKM_STACK_STACKING_SERIAL=1 runs them one after the other.
	# Each runs in a child, with set -e, as the stage's steps always do.
	started_all=$(date +%s)
	for release in $releases; do
		run_release "$release" >"$work/$release.out" 2>&1 &
		pids="$pids $!"
		[ -z "${LKM_STACK_STACKING_SERIAL:-}" ] ||
			finish_release "$release" "$!"
	done
	if [ -z "${LKM_STACK_STACKING_SERIAL:-}" ]; then
		# shellcheck disable=SC2086 # a list of process ids
		set -- $pids
		for release in $releases; do
			finish_release "$release" "$1"
			shift
		done
	fi
	pids=
	if [ -n "${LKM_STACK_STACKING_SERIAL:-}" ]; then
		order="one after the other"
	else
		order="side by side"
	fi
	echo "(stacking: the releases took $(($(date +%s) - started_all))s, $order)"

	[ "${LKM_STACK_SUITE:-}" ] || summary
}

main
