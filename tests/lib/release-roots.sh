# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Build roots of the Debian releases other than this host's (Debian 13
# "trixie" and sid on a Debian 12 host): each kernel's modules are built
# with its own release's compiler (gcc-14 for 6.12+deb13, gcc-16 for sid's
# 7.x), and the vm stage takes its release's own kmod and dash from there.
# Needs tests/lib/kernels.sh and LKM_STACK_TOP (tests/lib/scratch.sh);
# sources tests/lib/releases.sh and tests/lib/debian-root.sh.
#
# One root per release and test run: the cached root tarball
# (debian_root_tarball, named "build") with build-essential, kmod,
# xz-utils and the headers of the release's matrix kernels (which bring
# their images along in trixie), copied on first use into
# $LKM_STACK_BUILDS/roots/RELEASE (link_root: its /usr hard-linked to the
# tree unpacked once in the cache; builds only read it) and used by every
# stage of the run.
#
# Commands run in a root through release_root_run, in a mount namespace
# of their own: its /proc, private /dev and bind mounts exist only there
# and end with the command however it ends, so nothing is ever mounted
# under a root in this host's namespace, and deleting the run's builds
# (rm -rf "$LKM_STACK_BUILDS", as tests/run does) cannot reach through a
# mount into the host's /dev or a cache.  release_roots_remove checks
# that all the same.

if ! command -v release_matrix >/dev/null 2>&1; then
	# shellcheck source=tests/lib/releases.sh
	. "$LKM_STACK_TOP/tests/lib/releases.sh"
fi
if ! command -v debian_root_tarball >/dev/null 2>&1; then
	# shellcheck source=tests/lib/debian-root.sh
	. "$LKM_STACK_TOP/tests/lib/debian-root.sh"
fi

# What a release root holds besides its kernels' headers: the compiler
# and make (build-essential; the headers pull in the kernel's own gcc),
# and what make install runs (depmod, xz).
RELEASE_ROOT_PACKAGES="build-essential kmod xz-utils"
# What a build root leaves out (DEBIAN_ROOT_DPKG_EXTRA): the kernels'
# modules and images, which trixie's headers bring along but no build
# reads, and documentation: all that was half of its 1.2 GB unpacked.
RELEASE_ROOT_DPKG_EXTRA="path-exclude=/usr/lib/modules/*/kernel/*
path-exclude=/lib/modules/*/kernel/*
path-exclude=/boot/vmlinuz-*
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/locale/*"

# release_root_run ROOT DIRS COMMAND...: run COMMAND in a chroot into ROOT
# with /proc, a private /dev (root_mount_dev) and each directory of DIRS
# (space-separated absolute paths, "" for none) bound at the same path
# inside, all in a mount namespace of its own (see above).  A clean
# environment, as with_root_mounts gives.
release_root_run() {
	_rrr_root=$1 _rrr_dirs=$2
	shift 2
	# shellcheck disable=SC2016 # the inner shell expands them
	unshare --mount --propagation private -- /bin/sh -c '
		set -eu
		root=$1 dirs=$2
		shift 2
		. "$LKM_STACK_TOP/tests/lib/kernels.sh"
		. "$LKM_STACK_TOP/tests/lib/debian-root.sh"
		mount -t proc proc "$root/proc"
		root_mount_dev "$root"
		bound=
		for dir in $dirs; do
			# One bind for a directory and those inside it.
			case " $bound " in *" $dir "*) continue ;; esac
			inside=
			for b in $bound; do
				case $dir in "$b"/*) inside=1 ;; esac
			done
			[ -z "$inside" ] || continue
			mkdir -p "$root$dir"
			mount --bind "$dir" "$root$dir"
			bound="$bound $dir"
		done
		exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
			chroot "$root" "$@"' sh "$_rrr_root" "$_rrr_dirs" "$@"
}

# release_root RELEASE: print the directory of this run's copy of
# RELEASE's build root, making the cached tarball (cold: a debootstrap
# and the packages) and unpacking it on first use in the run.  One maker
# at a time (flock): release_roots_prefetch may be at it already.
release_root() {
	_rr=${LKM_STACK_BUILDS:?}/roots/$1
	if [ ! -f "$_rr.ready" ]; then
		mkdir -p "$LKM_STACK_BUILDS/roots"
		(flock 9 && _release_root_make "$1" "$_rr") 9>"$_rr.lock" ||
			return 1
	fi
	echo "$_rr"
}

# _release_root_make RELEASE DIR: release_root's work, holding its lock.
_release_root_make() {
	[ ! -f "$2.ready" ] || return 0
	_rr_kernels=$(release_matrix_of "$1") || return 1
	# shellcheck disable=SC2046,SC2086 # lists of package names
	_rr_tarball=$(DEBIAN_ROOT_SUITE=$1 DEBIAN_ROOT_NAME=build
		DEBIAN_ROOT_DPKG_EXTRA=$RELEASE_ROOT_DPKG_EXTRA
		debian_root_tarball $RELEASE_ROOT_PACKAGES \
			$(printf 'linux-headers-%s\n' $_rr_kernels)) || {
		echo "error: no $1 build root (see above)" >&2
		return 1
	}
	if [ -e "$2" ]; then
		remove_root "$2" || return 1
	fi
	_rr_start=$(date +%s)
	link_root "$_rr_tarball" "$2" || return 1
	touch "$2.ready"
	echo "copied the $1 build root ($(du -sh "$_rr_tarball" | cut -f1) cached) into $2 in $(($(date +%s) - _rr_start)) s" >&2
}

# release_roots_prefetch KVER...: make the roots the kernels of other
# releases among KVERs need in the background, while the caller goes on
# with this host's kernels (an unpack is mostly the disk's work).  The
# caller waits for its children before deleting LKM_STACK_BUILDS.
release_roots_prefetch() {
	_rrp=
	for _rrp_kver; do
		! kernel_builds_on_host "$_rrp_kver" || continue
		_rrp_release=$(kernel_release_of "$_rrp_kver")
		case " $_rrp " in
		*" $_rrp_release "*) ;;
		*) _rrp="$_rrp $_rrp_release" ;;
		esac
	done
	[ -n "$_rrp" ] || return 0
	(
		for _rrp_release in $_rrp; do
			release_root "$_rrp_release" >/dev/null || true
		done
	) &
}

# release_root_headers KVER: print the directory of the run's root of
# KVER's release, with KVER's headers in it: those of the release's
# matrix are there from the cached root; another kernel of the release
# (named in LKM_STACK_KERNELS) has them installed into this run's copy.
release_root_headers() {
	_rrh_release=$(kernel_release_of "$1")
	if [ -z "$_rrh_release" ]; then
		echo "error: $1 belongs to no Debian release known here" >&2
		return 1
	fi
	_rrh_root=$(release_root "$_rrh_release") || return 1
	if [ ! -f "$_rrh_root/usr/src/linux-headers-$1/Makefile" ]; then
		echo "installing linux-headers-$1 into the $_rrh_release root ..." >&2
		release_root_run "$_rrh_root" "" apt-get -y -q -o Dpkg::Use-Pty=0 \
			--no-install-recommends install "linux-headers-$1" >&2 || {
			echo "error: linux-headers-$1 does not install in $_rrh_release" >&2
			return 1
		}
	fi
	echo "$_rrh_root"
}

# release_roots_remove BUILDS: delete the roots under BUILDS/roots/ (a
# directory matrix_build uses as LKM_STACK_BUILDS), refusing, as
# remove_root does, while anything is mounted below one.
release_roots_remove() {
	[ -d "$1/roots" ] || return 0
	for _rrm in "$1"/roots/*; do
		[ -d "$_rrm" ] || continue
		rm -f "$_rrm.ready"
		remove_root "$_rrm" || return 1
	done
}
