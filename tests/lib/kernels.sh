# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# The Debian kernels the project is tested against, and the cache their
# packages are kept in.
#
#   LKM_STACK_CACHE    download cache (default ~/.cache/lkm-stack)
#   LKM_STACK_KERNELS  space-separated kernel releases to test instead of
#                      the default matrix (those of any release:
#                      bookworm's, trixie's, sid's)
#
# This host's release's kernels come from this host's apt (kernel_matrix,
# as tests/install-deps installs their headers): Debian 12's on a Debian 12
# host, Debian 13's on a Debian 13 one (host_release).  The other
# releases' kernels come from an apt state of each release's own
# (tests/lib/releases.sh), built in a root of that release
# (tests/lib/release-roots.sh).

: "${LKM_STACK_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/lkm-stack}"
export LKM_STACK_CACHE

# host_release: the Debian release this host runs, VERSION_CODENAME in
# /etc/os-release: bookworm on Debian 12, trixie on Debian 13.
host_release() {
	sed -n 's/^VERSION_CODENAME=//p' /etc/os-release
}

# release_series RELEASE: the kernel series of RELEASE's test matrix,
# oldest first: 6.1 and 6.12 in bookworm, 6.12 in trixie.
release_series() {
	case $1 in
	bookworm) echo "6.1 6.12" ;;
	trixie) echo 6.12 ;;
	*) echo "release_series: no kernel series known for release '$1' (bookworm, trixie)" >&2
		return 1 ;;
	esac
}

# series_pattern SERIES [RELEASE]: an extended regex for the kernel
# releases of SERIES in RELEASE (this host's by default), without the
# flavour: 6.1.0-N and 6.12.N+deb12 in bookworm, 6.12.N+deb13 in trixie.
series_pattern() {
	case ${2:-$(host_release)}:$1 in
	bookworm:6.1) echo '6\.1\.0-[0-9]+' ;;
	bookworm:6.12) echo '6\.12\.[0-9]+\+deb12' ;;
	trixie:6.12) echo '6\.12\.[0-9]+\+deb13' ;;
	*) echo "no kernel series $1 in ${2:-$(host_release)}" >&2; return 1 ;;
	esac
}

# newest_kernel SERIES FLAVOUR: the newest release of a series of this
# host's release ("6.1", "6.12") in a flavour ("amd64", "cloud-amd64",
# "rt-amd64") that apt knows both images of, e.g. 6.1.0-56-amd64 on
# Debian 12, 6.12.118+deb13-amd64 on Debian 13: the unsigned one, which
# the tests boot, and the signed linux-image-KVER, which users and the
# tests' Debian roots install.  The archive publishes the signed one
# later (seen: 6.12.118+deb12 unsigned for a day without it), and a
# kernel users cannot install yet is not one to test.
newest_kernel() {
	_pattern=$(series_pattern "$1") || return 1
	apt-cache pkgnames linux-image-"$1" |
		sed -En "s/^linux-image-($_pattern-$2)(-unsigned)?\$/\\1/p" |
		sort | uniq -d | sort -V | tail -n 1
}

# kernel_matrix: one kernel release a line, the default test matrix of
# this host's release (from this host's apt) first by series, then by
# flavour, or LKM_STACK_KERNELS if set.
kernel_matrix() {
	if [ -n "${LKM_STACK_KERNELS:-}" ]; then
		# shellcheck disable=SC2086 # the list splits into releases
		printf '%s\n' $LKM_STACK_KERNELS
		return
	fi
	_km_series=$(release_series "$(host_release)") || return 1
	for _flavour in amd64 cloud-amd64 rt-amd64; do
		for _series in $_km_series; do
			_kver=$(newest_kernel "$_series" "$_flavour")
			if [ -z "$_kver" ]; then
				echo "no $_series $_flavour kernel of $(host_release) known to apt: run apt-get update" >&2
				return 1
			fi
			echo "$_kver"
		done
	done
}

# kernel_release_of KVER: the Debian release a kernel belongs to, from its
# name: bookworm (6.1.0-N-*, *+deb12-*), trixie (*+deb13-*) or sid
# (*+deb14-*); nothing for any other kernel (one built here, e.g. the
# sanitizer kernel).
kernel_release_of() {
	case $1 in
	6.1.0-[0-9]*-*amd64 | *+deb12-*) echo bookworm ;;
	*+deb13-*) echo trixie ;;
	*+deb14-*) echo sid ;;
	esac
}

# kernel_builds_on_host KVER: KVER's modules are built with this host's
# compiler and headers: it is a kernel of this host's own release, or of
# none known (a kernel built here).  Other releases' kernels build in a
# root of their release (tests/lib/release-roots.sh).
kernel_builds_on_host() {
	_kbh=$(kernel_release_of "$1")
	[ -z "$_kbh" ] || [ "$_kbh" = "$(host_release)" ]
}

# _need_releases: source tests/lib/releases.sh if the caller has not.
_need_releases() {
	command -v release_matrix >/dev/null 2>&1 && return 0
	# shellcheck source=tests/lib/releases.sh
	. "${LKM_STACK_TOP:?}/tests/lib/releases.sh"
}

# release_matrix_of RELEASE: release_matrix RELEASE (tests/lib/releases.sh),
# looked up once per test run: kept in $LKM_STACK_BUILDS when that is
# set, so that every stage of a run tests the same kernels.
release_matrix_of() {
	_need_releases || return 1
	if [ -z "${LKM_STACK_BUILDS:-}" ]; then
		release_matrix "$1"
		return
	fi
	_rmo=$LKM_STACK_BUILDS/matrix-$1
	if [ ! -s "$_rmo" ]; then
		mkdir -p "$LKM_STACK_BUILDS"
		release_matrix "$1" >"$_rmo.tmp" || { rm -f "$_rmo.tmp"; return 1; }
		mv "$_rmo.tmp" "$_rmo"
	fi
	cat "$_rmo"
}

# other_releases: the releases of RELEASES (tests/lib/releases.sh) other
# than this host's, oldest first: trixie and sid on a Debian 12 host,
# bookworm and sid on a Debian 13 one.
other_releases() {
	_need_releases || return 1
	_or_host=$(host_release)
	for _or in $RELEASES; do
		[ "$_or" = "$_or_host" ] || echo "$_or"
	done
}

# build_matrix: the kernels the build stage (and lint's W=1 judge) build
# for, one a line: this host's release's matrix (kernel_matrix), then the
# other releases' (the newest kernel of each series in amd64, cloud-amd64
# and rt-amd64), or LKM_STACK_KERNELS if set.  With LKM_STACK_QUICK=1
# (make check-quick) only the amd64 kernels the vm stage boots: the other
# flavours build from the same sources with the same compiler, and make
# check builds them all.
build_matrix() {
	if [ -n "${LKM_STACK_QUICK:-}" ] && [ -z "${LKM_STACK_KERNELS:-}" ]; then
		vm_kernels
		return
	fi
	kernel_matrix || return 1
	[ -z "${LKM_STACK_KERNELS:-}" ] || return 0
	_bm=$(other_releases) || return 1
	for _bm_release in $_bm; do
		release_matrix_of "$_bm_release" || return 1
	done
}

# vm_kernels: the kernels the vm stage boots by default, one a line: this
# host's release's amd64 kernels (on Debian 12 the 6.1 and the 6.12),
# then the newest amd64 kernel of each other release (on Debian 12,
# Debian 13's and sid's), or LKM_STACK_KERNELS if set.  Only amd64: each
# boot costs 1.5-3 CPU minutes under TCG, and the cloud and rt flavours
# build the same way (the build stage covers them).
vm_kernels() {
	if [ -n "${LKM_STACK_KERNELS:-}" ]; then
		kernel_matrix
		return
	fi
	_vmk=$(kernel_matrix) || return 1
	printf '%s\n' "$_vmk" | grep -vE -- '-(cloud|rt)-amd64$'
	other_releases_newest
}

# other_releases_newest: the newest amd64 kernel of each other release
# (other_releases), one a line: Debian 13's and sid's on Debian 12.
other_releases_newest() {
	_orn_releases=$(other_releases) || return 1
	for _orn_release in $_orn_releases; do
		_orn=$(release_matrix_of "$_orn_release") || return 1
		printf '%s\n' "$_orn" | grep -vE -- '-(cloud|rt)-amd64$' | tail -n 1
	done
}

# previous_kernel SERIES FLAVOUR: the second-newest release of a series
# of this host's release ("6.1") in a flavour ("amd64") that apt has both
# the image and the headers of, e.g. 6.1.0-55-amd64 when 6.1.0-56-amd64 is
# the newest.
previous_kernel() {
	_newest=$(newest_kernel "$1" "$2") || return 1
	_pk_pattern=$(series_pattern "$1") || return 1
	# The series' own releases before "-FLAVOUR": 6.1.0-55-amd64, not
	# 6.1.0-55-rt-amd64.
	apt-cache pkgnames "linux-headers-$1." |
		sed -En "s/^linux-headers-($_pk_pattern-$2)\$/\\1/p" | sort -V |
		while read -r _kver; do
			[ "$_kver" != "$_newest" ] &&
				apt-cache show "linux-image-$_kver" >/dev/null 2>&1 &&
				echo "$_kver"
		done | tail -n 1
}

# previous_kernels: the previous release of each series' amd64 kernel of
# this host's release, one a line: tests/reliability/stage.sh loads their
# modules into the newest (foreign_kernels' previous-release).
previous_kernels() {
	_pks=$(release_series "$(host_release)") || return 1
	for _pks_series in $_pks; do
		previous_kernel "$_pks_series" amd64
	done
}

# Kernels by role: a stage asks for the kernel of its role, and this is
# the one place that says which series and flavour that is.
#
# demo_kernel: what make demo boots by default (DEMO_KVER overrides): the
# newest amd64 kernel of this host's release's oldest series: the newest
# 6.1 on Debian 12, the newest 6.12+deb13 on Debian 13.
demo_kernel() {
	_dk=$(release_series "$(host_release)") || return 1
	newest_kernel "${_dk%% *}" amd64
}
# lifecycle_kernels: lifecycle_kernels_of this host's release: "OLD
# UPGRADE NEW" from this host's apt.  make bench shares the root of this
# host's release, so it uses OLD and NEW too.
lifecycle_kernels() {
	lifecycle_kernels_of "$(host_release)"
}
# lifecycle_kernels_of RELEASE: "OLD UPGRADE NEW": the two kernels of the
# lifecycle stage's root of RELEASE, OLD and NEW, and UPGRADE, the newer
# kernel its step 2 installs into it:
#
#   bookworm  OLD the previous 6.1 amd64 release, UPGRADE the newest 6.1
#             amd64, NEW the newest 6.12+deb12 amd64
#   trixie    OLD the previous 6.12+deb13 amd64 release, UPGRADE the
#             newest 6.12+deb13 amd64, NEW the newest 6.12+deb13
#             cloud-amd64 (one series: the root's second kernel is the
#             newest of another flavour, as in the stacking stage)
#
# From this host's apt for this host's release, else from RELEASE's own
# apt state (release_kernels, tests/lib/releases.sh), which has every
# release that RELEASE's archive still serves (trixie's previous kernels
# included).  The stacking, upgrade, faults and repo stages start from
# the same bookworm root.  All three or nothing: with one unknown to apt
# the line would shift the others into the wrong places, so this fails
# instead, saying on stderr what apt knows.
lifecycle_kernels_of() {
	_lk_series=$(release_series "$1") || return 1
	_lk_first=${_lk_series%% *} _lk_last=${_lk_series##* }
	if [ "$_lk_first" = "$_lk_last" ]; then
		_lk_new_flavour=cloud-amd64
	else
		_lk_new_flavour=amd64
	fi
	if [ "$1" = "$(host_release)" ]; then
		_lk_old=$(previous_kernel "$_lk_first" amd64) || return 1
		_lk_upgrade=$(newest_kernel "$_lk_first" amd64) || return 1
		_lk_new=$(newest_kernel "$_lk_last" "$_lk_new_flavour") || return 1
		_lk_apt="this host's apt (run apt-get update)"
	else
		_need_releases || return 1
		_lk_pattern=$(series_pattern "$_lk_first" "$1") || return 1
		_lk_list=$(release_kernels "$1" amd64) || return 1
		_lk_list=$(printf '%s\n' "$_lk_list" |
			grep -E "^$_lk_pattern-amd64\$" || true)
		# The second-newest of two or more; nothing with one.
		_lk_old=$(printf '%s\n' "$_lk_list" | tail -n 2 | sed -n '1{$!p;}')
		_lk_upgrade=$(printf '%s\n' "$_lk_list" | tail -n 1)
		_lk_pattern=$(series_pattern "$_lk_last" "$1") || return 1
		_lk_new=$(release_kernels "$1" "$_lk_new_flavour") || return 1
		_lk_new=$(printf '%s\n' "$_lk_new" |
			grep -E "^$_lk_pattern-$_lk_new_flavour\$" | tail -n 1 || true)
		_lk_apt="$1's apt state ($LKM_STACK_CACHE/apt/$1)"
	fi
	if [ -z "$_lk_old" ] || [ -z "$_lk_upgrade" ] || [ -z "$_lk_new" ]; then
		echo "lifecycle_kernels_of $1: the previous and the newest $_lk_first amd64 kernel and the newest $_lk_last $_lk_new_flavour one, as $_lk_apt knows them: '$_lk_old' '$_lk_upgrade' '$_lk_new'" >&2
		return 1
	fi
	echo "$_lk_old $_lk_upgrade $_lk_new"
}
# matrix_and_other_releases: this host's release's matrix (kernel_matrix:
# Debian 12's six on Debian 12), then the newest amd64 kernel of each
# other release (Debian 13's and sid's on Debian 12), one a line; or
# LKM_STACK_KERNELS if set.
matrix_and_other_releases() {
	kernel_matrix || return 1
	[ -n "${LKM_STACK_KERNELS:-}" ] || other_releases_newest
}
# bench_kernels: the kernels make bench measures in a guest, one boot
# each: matrix_and_other_releases.
bench_kernels() { matrix_and_other_releases; }
# reliability_kernels: the kernels the reliability stage stresses, one
# boot each (cycles, bad input, race): matrix_and_other_releases,
# every flavour of this host's release and each other release's newest
# amd64 kernel (the ones the vm stage boots).
reliability_kernels() { matrix_and_other_releases; }
# sig_enforce_kernel: this host's release's Debian kernel that refuses
# modules under module.sig_enforce, and whose sign-file signs for every
# release's.
sig_enforce_kernel() { newest_kernel 6.12 amd64; }
# sig_enforce_kernels: the Debian kernels whose reliability boot ends with
# module.sig_enforce switched on and our modules, signed with a key they
# do not trust, refused; one a line: sig_enforce_kernel, then the newest
# amd64 kernel of each other release; or LKM_STACK_KERNELS if set.
sig_enforce_kernels() {
	if [ -n "${LKM_STACK_KERNELS:-}" ]; then
		kernel_matrix
		return
	fi
	sig_enforce_kernel || return 1
	other_releases_newest
}
# foreign_kernels KVER: the kernels whose modules the reliability stage
# has KVER load, for the kernel's version checks to judge (most are
# refused), as "LABEL KVER" lines: other-series, the newest amd64 kernel
# of the other series; other-flavour, the newest kernel of KVER's series
# and release in another flavour (rt-amd64, or amd64 for an rt kernel);
# and for the newest amd64 kernel of a series, previous-release, its
# previous release (previous_kernel) if apt has one.  For a kernel of
# another release (Debian 13's, sid's on Debian 12) the other series is
# this host's oldest (6.1), and there is no previous-release: only the
# newest kernel of each release is in the build matrix.
foreign_kernels() {
	case $1 in
	6.1.*) _fk_series=6.1 _fk_other_series=6.12 ;;
	*) _fk_series=6.12 _fk_other_series=6.1 ;;
	esac
	case $(flavour_of "$1") in
	rt-amd64) _fk_other_flavour=amd64 ;;
	*) _fk_other_flavour=rt-amd64 ;;
	esac
	echo "other-series $(newest_kernel "$_fk_other_series" amd64)"
	if ! kernel_builds_on_host "$1"; then
		_fk=$(release_matrix_of "$(kernel_release_of "$1")") || return 1
		_fk=$(printf '%s\n' "$_fk" | grep -E -- "-$_fk_other_flavour\$" |
			tail -n 1)
		echo "other-flavour $_fk"
		return
	fi
	echo "other-flavour $(newest_kernel "$_fk_series" "$_fk_other_flavour")"
	if [ "$1" = "$(newest_kernel "$_fk_series" amd64)" ]; then
		_fk_previous=$(previous_kernel "$_fk_series" amd64)
		[ -z "$_fk_previous" ] || echo "previous-release $_fk_previous"
	fi
}
# sanitizer_debian_kernel: the Debian build of the sanitizer kernel's
# source (linux-source-6.12, tests/lib/sanitizer-kernel.sh), whose
# modules the reliability stage has the sanitizer kernel load: the same
# source built with another configuration, which its version checks
# must refuse.
sanitizer_debian_kernel() { newest_kernel 6.12 amd64; }
# sparse_kernels: the kernels sparse checks the sources against, one of
# each series of this host's release, one a line.
# Fails, saying so, when apt knows none of a series.
sparse_kernels() {
	_sks=$(release_series "$(host_release)") || return 1
	for _sk in $_sks; do
		_sk_kver=$(newest_kernel "$_sk" amd64) || return 1
		if [ -z "$_sk_kver" ]; then
			echo "no $_sk amd64 kernel known to apt: run apt-get update" >&2
			return 1
		fi
		echo "$_sk_kver"
	done
}
# dkms_lint_kernel: the kernel the lint stage has this host's dkms add and
# build the package's tree for: the newest series, whose headers make
# dkms's own checks (readelf, compression) do the most.
dkms_lint_kernel() { newest_kernel 6.12 amd64; }
# series_of KVER: the series of a kernel release: 6.1.0-57-amd64 is 6.1,
# 6.12.117+deb12-rt-amd64 6.12.
series_of() {
	echo "$1" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/'
}
# flavour_of KVER: its flavour: amd64, cloud-amd64 or rt-amd64.
flavour_of() {
	case $1 in
	*-cloud-amd64) echo cloud-amd64 ;;
	*-rt-amd64) echo rt-amd64 ;;
	*) echo amd64 ;;
	esac
}

# ensure_headers KVER: make sure /lib/modules/KVER/build exists, installing
# linux-headers-KVER with apt-get when we may.  For a kernel of another
# release, in this run's root of that release instead (release_root_headers,
# tests/lib/release-roots.sh, which tests/lib/builds.sh sources).
ensure_headers() {
	if ! kernel_builds_on_host "$1"; then
		release_root_headers "$1" >/dev/null
		return
	fi
	[ -f "/lib/modules/$1/build/Makefile" ] && return 0
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
		echo "missing headers for $1: install linux-headers-$1" >&2
		return 1
	fi
	echo "installing linux-headers-$1 ..."
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "linux-headers-$1" >/dev/null
}

# kernel_image_dir KVER: print a directory holding boot/vmlinuz-KVER,
# boot/config-KVER and the modules, lib/modules/KVER/ (usr/lib/modules/KVER/
# from Debian 13 on), from Debian's unsigned image package, downloading
# and unpacking it into the cache on first use.  A kernel of this host's
# release comes through this host's apt; one of another release through
# that release's apt state (release_image_packages, tests/lib/releases.sh:
# sid splits an image into linux-binary-, linux-modules- and linux-base-).
kernel_image_dir() {
	_dir="$LKM_STACK_CACHE/kernels/$1"
	if [ ! -f "$_dir/boot/vmlinuz-$1" ]; then
		_debs="$LKM_STACK_CACHE/debs"
		_release=$(kernel_release_of "$1")
		if kernel_builds_on_host "$1"; then
			_pkgs=linux-image-$1-unsigned
		else
			if ! _need_releases || ! release_update "$_release" ||
				! _pkgs=$(release_image_packages "$_release" "$1"); then
				echo "no image package of $1 in $_release" >&2
				return 1
			fi
		fi
		rm -rf "$_dir.tmp"
		mkdir -p "$_debs" "$_dir.tmp"
		for _pkg in $_pkgs; do
			echo "downloading $_pkg${_release:+ ($_release)} ..." >&2
			if kernel_builds_on_host "$1"; then
				(cd "$_debs" && apt-get download -q "$_pkg" >&2)
			else
				(cd "$_debs" &&
					release_apt "$_release" apt-get download -q "$_pkg" >&2)
			fi || { echo "cannot download $_pkg" >&2; return 1; }
			dpkg-deb -x "$_debs/${_pkg}_"*.deb "$_dir.tmp"
		done
		# sid's packages keep the kernel, its configuration and
		# System.map beside its modules, for its kernel-install hooks
		# to copy into /boot: link them where the others have them.
		for _file in vmlinuz config System.map; do
			_src=usr/lib/modules/$1/$_file
			if [ -f "$_dir.tmp/$_src" ] &&
				[ ! -e "$_dir.tmp/boot/$_file-$1" ]; then
				mkdir -p "$_dir.tmp/boot"
				ln -s "../$_src" "$_dir.tmp/boot/$_file-$1"
			fi
		done
		rm -rf "$_dir"
		mv "$_dir.tmp" "$_dir"
	fi
	echo "$_dir"
}
