# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Real Debian roots for the package tests: built with debootstrap, cached
# as tarballs, used through chroot and booted from an ext4 image under
# QEMU.  Needs tests/lib/kernels.sh (LKM_STACK_CACHE) and, for
# debian_root_boot, tests/lib/vm.sh sourced first.
#
# The suite is DEBIAN_ROOT_SUITE when a function is called: bookworm
# unless the caller sets it (trixie, sid), at any time before a call.
# Its apt sources are the mirrors this host's apt uses for its own
# release, with the suite's names.
#
# Cache layout under $LKM_STACK_CACHE/debian-root/:
#   archives/                 every .deb apt or debootstrap downloaded
#   base-<key>.tar.zst        the bookworm minbase root
#   root-<key>.tar.zst        the bookworm minbase root plus the packages
#                             asked for
#   <suite>/base-<key>.tar.zst, <suite>/root-<key>.tar.zst
#                             the same for each other suite
#   <suite>/root-<name>-<key>.tar.zst
#                             a root of DEBIAN_ROOT_NAME=<name>
#   <...>/<tarball>.tree      a root unpacked once for link_root
# A key is a hash of the apt sources, the package set, the ISO week (so
# the roots pick up security updates once a week) and DEBIAN_ROOT_RECIPE,
# which a change to how the roots are made must bump.  Pruning a suite's
# old roots leaves the other suites' alone, and a named root's pruning
# only the old roots of its name: a stage whose package set differs from
# another's names its root, so that the two do not prune each other's.

: "${DEBIAN_ROOT_SUITE:=bookworm}"
DEBIAN_ROOT_CACHE=$LKM_STACK_CACHE/debian-root
DEBIAN_ROOT_ARCHIVES=$DEBIAN_ROOT_CACHE/archives
DEBIAN_ROOT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# The ISO week the cached roots belong to.
DEBIAN_ROOT_WEEK=$(date -u +%G-w%V)
DEBIAN_ROOT_RECIPE=1

# debian_root_cache: the directory holding DEBIAN_ROOT_SUITE's cached
# roots: bookworm's where they were before there were other suites.
debian_root_cache() {
	case $DEBIAN_ROOT_SUITE in
	bookworm) echo "$DEBIAN_ROOT_CACHE" ;;
	*) echo "$DEBIAN_ROOT_CACHE/$DEBIAN_ROOT_SUITE" ;;
	esac
}

# host_suite: the release this host runs (bookworm on Debian 12).
host_suite() {
	sed -n 's/^VERSION_CODENAME=//p' /etc/os-release
}

# debian_root_sources: deb822 apt sources for the root: each repository
# this host's apt uses for its release, its -updates and its -security
# (bookworm, bookworm-updates and bookworm-security on Debian 12), with
# the components the host uses, for the same three of DEBIAN_ROOT_SUITE;
# sid has neither -updates nor -security.
debian_root_sources() {
	# shellcheck disable=SC2016 # apt's format fields, not the shell's
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Created-By: Packages' | sort -u |
		awk -v host="$(host_suite)" -v suite="$DEBIAN_ROOT_SUITE" \
			-v keyring="$DEBIAN_ROOT_KEYRING" '
		$2 == host || $2 == host "-updates" || $2 == host "-security" {
			$2 = suite substr($2, length(host) + 1)
			if ((suite == "sid" || suite == "unstable") && $2 != suite)
				next
			if (!($1 in suites)) order[n++] = $1
			if (index(" " suites[$1] " ", " " $2 " ") == 0)
				suites[$1] = suites[$1] (suites[$1] ? " " : "") $2
			if (index(" " comps[$1] " ", " " $3 " ") == 0)
				comps[$1] = comps[$1] (comps[$1] ? " " : "") $3
		}
		END {
			for (i = 0; i < n; i++) {
				if (i) print ""
				print "Types: deb"
				print "URIs: " order[i]
				print "Suites: " suites[order[i]]
				print "Components: " comps[order[i]]
				print "Signed-By: " keyring
			}
		}'
}

# debian_root_mirror: the repository this host gets its release itself
# from (bookworm, not its -updates or -security), which debootstraps
# DEBIAN_ROOT_SUITE.
debian_root_mirror() {
	# shellcheck disable=SC2016 # apt's format fields, not the shell's
	apt-get indextargets --format '$(REPO_URI) $(RELEASE)' \
		'Created-By: Packages' |
		awk -v host="$(host_suite)" '$2 == host { print $1; exit }'
}

# debian_root_key TEXT...: a short cache key for a root made from TEXT,
# this host's sources and the current week.
debian_root_key() {
	{
		debian_root_sources
		echo "$DEBIAN_ROOT_WEEK $DEBIAN_ROOT_RECIPE $*"
	} |
		sha256sum | cut -c1-16
}

# mounts_under DIR [below]: the mount points at or below DIR (only those
# below it, with "below"), deepest first.
mounts_under() {
	awk -v dir="$1" -v below="${2:-}" '
		(below == "" && $2 == dir) || index($2, dir "/") == 1 { print $2 }' \
		/proc/mounts | sort -r
}

# root_mount ROOT: mount what a chroot into ROOT needs (proc, sys, its
# own dev, see root_mount_dev) and the download cache as its apt archive,
# so packages installed in any copy of the root are downloaded only once.
root_mount() {
	mkdir -p "$DEBIAN_ROOT_ARCHIVES/partial"
	mount -t proc proc "$1/proc"
	mount -t sysfs sysfs "$1/sys"
	root_mount_dev "$1"
	mount --bind "$DEBIAN_ROOT_ARCHIVES" "$1/var/cache/apt/archives"
}

# root_mount_dev ROOT: ROOT's /dev, a tmpfs holding only the device nodes
# packages and tools use (the kernel's numbers and modes for them), its
# own instance of devpts for pseudo-terminals, and the /proc/self/fd
# links.  Never the host's /dev bound in: deleting a root whose mounts
# were lost once deleted the host's device nodes through it.
root_mount_dev() {
	mount -t tmpfs -o mode=0755,nosuid,size=1m lkm-stack-dev "$1/dev"
	mknod -m 0666 "$1/dev/null" c 1 3
	mknod -m 0666 "$1/dev/zero" c 1 5
	mknod -m 0666 "$1/dev/full" c 1 7
	mknod -m 0666 "$1/dev/random" c 1 8
	mknod -m 0666 "$1/dev/urandom" c 1 9
	mknod -m 0666 "$1/dev/tty" c 5 0
	mkdir -m 0755 "$1/dev/pts"
	# gid 5: the tty group, fixed in Debian's base-passwd.
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 \
		devpts "$1/dev/pts"
	ln -s pts/ptmx "$1/dev/ptmx"
	ln -s /proc/self/fd "$1/dev/fd"
	ln -s /proc/self/fd/0 "$1/dev/stdin"
	ln -s /proc/self/fd/1 "$1/dev/stdout"
	ln -s /proc/self/fd/2 "$1/dev/stderr"
}

# root_umount DIR [below]: unmount everything mounted at or below DIR
# (ROOT/dev and its devpts among them; only below it, with "below"):
# lazily if a mount is still busy, so that nothing stays mounted.
root_umount() {
	for _mnt in $(mounts_under "$1" "${2:-}"); do
		umount "$_mnt" 2>/dev/null || umount -l "$_mnt"
	done
}

# remove_root DIR: delete a root copy (and DIR.upper, overlay_root's
# upper layer), but never while something is mounted below it: rm would
# go into the host's /dev or the download cache.  --one-file-system
# guards /dev, /proc and /sys once more.
remove_root() {
	root_umount "$1"
	if [ -n "$(mounts_under "$1")" ]; then
		echo "not removing $1: still mounted: $(mounts_under "$1")" >&2
		return 1
	fi
	rm -rf --one-file-system "$1" "$1.upper"
}

# with_root_mounts ROOT COMMAND...: run COMMAND (on the host, with a
# clean environment) while ROOT has what a chroot needs mounted.  The
# caller's EXIT trap should run root_umount too, for a command that is
# killed.
with_root_mounts() {
	_root=$1
	shift
	root_mount "$_root"
	_status=0
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@" || _status=$?
	# Below ROOT only: ROOT may be a mount point itself (a disk image's
	# file system, faults item 1), which is its caller's to unmount.
	root_umount "$_root" below
	return "$_status"
}

# package_status ROOT PACKAGE: dpkg's status of PACKAGE in ROOT, e.g.
# "install ok installed"; nothing if dpkg does not know it.
package_status() {
	# shellcheck disable=SC2016 # a dpkg-query format, not the shell's
	in_root "$1" dpkg-query -W -f '${Status}' "$2" 2>/dev/null || true
}

# in_root ROOT COMMAND...: run COMMAND in a chroot into ROOT.
in_root() {
	with_root_mounts "$1" chroot "$@"
}

# How long an apt-get in a root waits for the shared download cache
# (seconds): see root_apt_waiting.
: "${DEBIAN_ROOT_CACHE_LOCK_WAIT:=900}"

# root_apt_waiting ROOT LOG APT-GET-ARG...: apt-get in ROOT, its output in
# LOG.  Every root has the one download cache, DEBIAN_ROOT_ARCHIVES, as
# its /var/cache/apt/archives, and apt-get does not wait for that
# directory's lock as it does for dpkg's: while an apt-get in another
# root holds it (another stage's, run at the same time), this one is
# retried every 10 s for up to DEBIAN_ROOT_CACHE_LOCK_WAIT seconds, and
# the time it waited is printed.
root_apt_waiting() {
	_raw_root=$1 _raw_log=$2
	shift 2
	_raw_waited=0
	while :; do
		_raw_status=0
		in_root "$_raw_root" apt-get "$@" >"$_raw_log" 2>&1 ||
			_raw_status=$?
		if [ "$_raw_status" -eq 0 ] ||
			[ "$_raw_waited" -ge "$DEBIAN_ROOT_CACHE_LOCK_WAIT" ] ||
			! grep -q 'Could not get lock /var/cache/apt/archives/lock' \
				"$_raw_log"
		then
			break
		fi
		[ "$_raw_waited" -gt 0 ] ||
			echo "waiting for the download cache: $(grep -m 1 -o 'It is held by .*' "$_raw_log")"
		sleep 10
		_raw_waited=$((_raw_waited + 10))
	done
	[ "$_raw_waited" -eq 0 ] ||
		echo "(waited ${_raw_waited}s for the download cache's lock)"
	return "$_raw_status"
}

# root_apt_local ROOT LOG APT-GET-ARG...: apt-get in ROOT for what needs
# no download (local .debs, removals, packages apt-get --download-only
# fetched), its output in LOG.  Without apt's locks: for a root that is
# the caller's own copy, where the download cache's lock, which every
# root shares (DEBIAN_ROOT_ARCHIVES), would otherwise be held through
# minutes of DKMS builds, stalling any other stage's apt-get meanwhile.
root_apt_local() {
	_ral_root=$1 _ral_log=$2
	shift 2
	in_root "$_ral_root" apt-get -y -q -o Dpkg::Use-Pty=0 \
		-o Debug::NoLocking=true --no-install-recommends "$@" \
		>"$_ral_log" 2>&1
}

# root_apt ROOT APT-GET-ARG...: apt-get in ROOT, without questions or
# recommended packages, waiting for the download cache as
# root_apt_waiting does: all of apt-get's output on stdout once it ends,
# the waiting on stderr.
root_apt() {
	_ra_root=$1
	shift
	_ra_log=$(mktemp "${TMPDIR:-/tmp}/lkm-stack-root-apt.XXXXXX") ||
		return 1
	_ra_status=0
	root_apt_waiting "$_ra_root" "$_ra_log" -y -q -o Dpkg::Use-Pty=0 \
		--no-install-recommends "$@" >&2 || _ra_status=$?
	cat "$_ra_log"
	rm -f "$_ra_log"
	return "$_ra_status"
}

# save_root ROOT TARBALL: pack ROOT (nothing mounted) atomically.
save_root() {
	tar --zstd -C "$1" --numeric-owner --xattrs -cf "$2.tmp" .
	mv "$2.tmp" "$2"
}

# unpack_root TARBALL ROOT: a fresh copy of a cached root.
unpack_root() {
	mkdir -p "$2"
	tar --zstd -C "$2" --numeric-owner --xattrs -xf "$1"
}

# root_tree TARBALL: TARBALL unpacked once into TARBALL.tree beside it,
# for the copies link_root and overlay_root make; prints its path.
# Nothing is ever written or mounted under a tree: only its copies are
# used.  Two stages asking at once unpack it once, the second waiting.
root_tree() {
	_rt_tree=${1%.tar.zst}.tree
	if [ ! -d "$_rt_tree" ]; then
		(
			flock 9 || exit 1
			[ ! -d "$_rt_tree" ] || exit 0
			rm -rf --one-file-system "$_rt_tree.tmp"
			unpack_root "$1" "$_rt_tree.tmp" &&
				mv "$_rt_tree.tmp" "$_rt_tree"
		) 9>"$_rt_tree.lock" || return 1
		# The trees of pruned tarballs go with them, but for one that is
		# an overlay's lower layer still (another stage's root, made
		# before the tarball it came from was remade): its files would
		# vanish under that root.  A later run deletes it.
		for _rt_old in "${_rt_tree%/*}"/*.tree; do
			[ ! -f "${_rt_old%.tree}.tar.zst" ] || continue
			grep -qF "lowerdir=$_rt_old," /proc/mounts ||
				rm -rf --one-file-system "$_rt_old" "$_rt_old.lock"
		done
	fi
	echo "$_rt_tree"
}

# link_root TARBALL ROOT: a copy of a cached root that costs a second or
# two instead of a full unpack (45 s for a Debian 13 build root on this
# disk, once per run): ROOT hard-links the /usr of TARBALL's tree
# (root_tree; nearly all of a root) and copies the rest.  Only for roots
# that read /usr, or change it through dpkg, which writes a new file and
# renames it over the old one (the tree keeps the old): a write into a
# /usr file in place would reach the cache.  overlay_root has no such
# limit.
link_root() {
	_lr_tree=$(root_tree "$1") || return 1
	mkdir -p "$2"
	chmod --reference="$_lr_tree" "$2"
	# Hard links need one file system (a tmpfs /tmp is another): else a
	# plain copy, still without the unpack.
	_lr_link=-l
	[ "$(stat -c %d "$_lr_tree")" = "$(stat -c %d "$2")" ] || _lr_link=
	for _lr_top in "$_lr_tree"/* "$_lr_tree"/.[!.]*; do
		[ -e "$_lr_top" ] || [ -L "$_lr_top" ] || continue
		case ${_lr_top##*/} in
		usr) cp -a $_lr_link "$_lr_top" "$2/" ;;
		*) cp -a "$_lr_top" "$2/" ;;
		esac || return 1
	done
}

# overlay_root TARBALL ROOT: a fresh copy of a cached root, written to as
# freely as an unpacked one, for the cost of a mount: an overlay on ROOT
# whose lower layer is TARBALL's tree (root_tree) and whose upper layer,
# ROOT.upper, takes every change (a file is copied up before it is
# written, so the tree never changes).  An unpack took 9 s of a 2-core
# machine's time for each of the 20 roots of the faults stage.
# remove_root unmounts ROOT and deletes ROOT.upper.  Where the host's
# kernel has no overlay file system registered (/proc/filesystems), a
# full unpack_root instead: mounting one would load a module into the
# host's kernel.  So too where the mount fails (an upper layer on a file
# system overlay cannot use, such as one without the xattrs it needs),
# with a line saying why: ROOT would be left an empty directory.
overlay_root() {
	if ! grep -qw overlay /proc/filesystems; then
		unpack_root "$1" "$2"
		return
	fi
	_or_tree=$(root_tree "$1") || return 1
	mkdir -p "$2" "$2.upper/data" "$2.upper/work"
	if ! _or_err=$(mount -t overlay overlay \
		-o "lowerdir=$_or_tree,upperdir=$2.upper/data,workdir=$2.upper/work" \
		"$2" 2>&1); then
		echo "overlay_root: mounting an overlay on $2 failed ($_or_err): unpacking $1 there instead" >&2
		rm -rf --one-file-system "$2.upper"
		unpack_root "$1" "$2"
	fi
}

# prune_cache PATTERN KEEP: delete DEBIAN_ROOT_SUITE's cached roots
# matching PATTERN except KEEP (older weeks or package sets).
prune_cache() {
	for _old in "$(debian_root_cache)"/$1; do
		[ "$_old" = "$2" ] || rm -f "$_old"
	done
}

# dpkg options for the root: no fsync per file (much faster; a test root
# need not survive a power cut), and none of the kernels' driver, sound
# and network modules but the virtio disk's.  A QEMU guest loads no
# others, and every depmod (DKMS runs one per kernel) reads all modules
# of a kernel: under TCG that took minutes per kernel, and the root and
# its disk image are a third of the size.
DEBIAN_ROOT_DPKG_CFG="force-unsafe-io
path-exclude=/lib/modules/*/kernel/drivers/*
path-include=/lib/modules/*/kernel/drivers/block/*
path-include=/lib/modules/*/kernel/drivers/virtio/*
path-exclude=/lib/modules/*/kernel/sound/*
path-exclude=/lib/modules/*/kernel/net/*"
# More dpkg options a caller may set for its roots (part of their key,
# which stays as it was without them), e.g. to leave out what a root that
# only builds never reads.
: "${DEBIAN_ROOT_DPKG_EXTRA:=}"

# configure_root ROOT: apt sources (package lists kept compressed), the
# dpkg options above, no services started by packages (policy-rc.d), and
# small initrds that hold just what a QEMU guest booting from a virtio
# disk needs (they build and boot faster).
configure_root() {
	debian_root_sources >"$1/etc/apt/sources.list.d/debian.sources"
	rm -f "$1/etc/apt/sources.list"
	echo 'Acquire::GzipIndexes "true";' \
		>"$1/etc/apt/apt.conf.d/50lkm-stack-test"
	# sid's Release file often outlives its Valid-Until date in the
	# archive this machine reaches (as tests/lib/releases.sh says): sid
	# alone is allowed that.
	case $DEBIAN_ROOT_SUITE in
	sid | unstable)
		echo 'Acquire::Check-Valid-Until "false";' \
			>>"$1/etc/apt/apt.conf.d/50lkm-stack-test" ;;
	esac
	printf '%s\n' "$DEBIAN_ROOT_DPKG_CFG" ${DEBIAN_ROOT_DPKG_EXTRA:+"$DEBIAN_ROOT_DPKG_EXTRA"} \
		>"$1/etc/dpkg/dpkg.cfg.d/lkm-stack-test"
	printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
	chmod 755 "$1/usr/sbin/policy-rc.d"
	mkdir -p "$1/etc/initramfs-tools/conf.d"
	echo MODULES=list >"$1/etc/initramfs-tools/conf.d/lkm-stack-test"
	mkdir -p "$1/usr/share/initramfs-tools/modules.d"
	printf '%s\n' virtio_pci virtio_blk ext4 \
		>"$1/usr/share/initramfs-tools/modules.d/lkm-stack-test"
}

# debian_base_tarball: the cached minbase root (debootstrapped on first
# use); prints its path.
debian_base_tarball() {
	mkdir -p "$DEBIAN_ROOT_ARCHIVES/partial" "$(debian_root_cache)"
	_tarball=$(debian_root_cache)/base-$(debian_root_key minbase).tar.zst
	if [ ! -f "$_tarball" ]; then
		(
			flock 9 || exit 1
			[ -f "$_tarball" ] || make_base_tarball "$_tarball"
		) 9>"$_tarball.lock" || return 1
	fi
	echo "$_tarball"
}

# make_base_tarball TARBALL: debootstrap DEBIAN_ROOT_SUITE (minbase) and
# pack it as TARBALL.  Callers hold TARBALL.lock: two stages running side
# by side (tests/run's lanes) may ask for the same root at once, and the
# second one waits for the first one's instead of making it again into
# the same TARBALL.tmp.
make_base_tarball() {
	_tarball=$1
	_dir=$(mktemp -d "$(debian_root_cache)/base.XXXXXX")
	chmod 755 "$_dir"
	echo "debootstrap $DEBIAN_ROOT_SUITE (minbase) ..." >&2
	if ! debootstrap --variant=minbase \
		--cache-dir="$DEBIAN_ROOT_ARCHIVES" \
		"$DEBIAN_ROOT_SUITE" "$_dir" "$(debian_root_mirror)" >&2; then
		remove_root "$_dir"
		echo "debootstrap failed" >&2
		return 1
	fi
	# The download cache has the .debs; apt-get update gets the lists.
	rm -rf "$_dir"/var/lib/apt/lists/* \
		"$_dir"/var/cache/apt/archives/*.deb
	save_root "$_dir" "$_tarball"
	remove_root "$_dir"
	prune_cache 'base-*.tar.zst' "$_tarball"
}

# debian_root_tarball PACKAGE...: the cached root with PACKAGEs installed
# on top of the minbase root (after an apt-get update); prints its path.
# With DEBIAN_ROOT_NAME set, the root of that name (see the layout above).
debian_root_tarball() {
	_base=$(debian_base_tarball) || return 1
	_rootname=${DEBIAN_ROOT_NAME:+$DEBIAN_ROOT_NAME-}
	_tarball=$(debian_root_cache)/root-$_rootname$(debian_root_key \
		"$*${DEBIAN_ROOT_DPKG_EXTRA:+ $DEBIAN_ROOT_DPKG_EXTRA}").tar.zst
	if [ ! -f "$_tarball" ]; then
		(
			flock 9 || exit 1
			[ -f "$_tarball" ] || make_root_tarball "$_tarball" "$@"
		) 9>"$_tarball.lock" || return 1
	fi
	echo "$_tarball"
}

# make_root_tarball TARBALL PACKAGE...: the minbase root ($_base) with
# PACKAGEs installed, packed as TARBALL; callers hold TARBALL.lock (see
# make_base_tarball).
make_root_tarball() {
	_tarball=$1
	shift
	_dir=$(mktemp -d "$(debian_root_cache)/root.XXXXXX")
	chmod 755 "$_dir"
	unpack_root "$_base" "$_dir"
	configure_root "$_dir"
	echo "installing in the root: $* ..." >&2
	if ! { root_apt "$_dir" update && root_apt "$_dir" install "$@"; } >&2
	then
		remove_root "$_dir"
		echo "installing $* in the root failed" >&2
		return 1
	fi
	save_root "$_dir" "$_tarball"
	remove_root "$_dir"
	# The key's 16 hex digits: an unnamed root prunes no named one.
	prune_cache "root-$_rootname????????????????.tar.zst" "$_tarball"
}

# root_image ROOT IMAGE: an ext4 file system image holding ROOT (nothing
# mounted in it), with room for DKMS builds and a package install in the
# guest.
root_image() {
	_mb=$(($(du -sm "$1" | cut -f1) + 768))
	rm -f "$2"
	truncate -s "${_mb}M" "$2"
	mkfs.ext4 -q -F -L lkm-root -d "$1" "$2"
}

# root_add_guest_scripts ROOT FILE...: copy the guest side of a test to
# ROOT's /lkm-test/, with tests/lib/guest/lib.sh, whose step helper the
# guest scripts report with.
root_add_guest_scripts() {
	_root=$1
	shift
	mkdir -p "$_root/lkm-test"
	cp "$LKM_STACK_TOP/tests/lib/guest/lib.sh" "$@" "$_root/lkm-test/"
}

# debian_root_boot IMAGE ROOT KVER LOG TESTS: boot IMAGE (made from ROOT)
# under QEMU with KVER's kernel and initrd from ROOT's /boot, the image as
# the root file system on a virtio disk and ROOT's /lkm-test/init as PID
# 1, which runs the guest scripts TESTS (comma-separated names of
# /lkm-test/NAME.sh).  The serial console goes to LOG; see vm_boot for the
# status and the VM_* tuning variables.
debian_root_boot() {
	VM_QEMU_ARGS="-drive file=$1,format=raw,if=virtio" \
		VM_APPEND="root=/dev/vda rw init=/lkm-test/init lkm_test=$5" \
		vm_boot "$2/boot/vmlinuz-$3" "$2/boot/initrd.img-$3" "$4"
}

# usr_lib_modules_dpkg_cfg: the root's dpkg path rules for the kernels'
# modules, for /usr/lib/modules, where Debian 13's kernel packages put
# them (the rules of DEBIAN_ROOT_DPKG_CFG name /lib/modules).
usr_lib_modules_dpkg_cfg() {
	printf '%s\n' "$DEBIAN_ROOT_DPKG_CFG" |
		sed -n 's,^\(path-[a-z]*=\)/lib/modules/,\1/usr/lib/modules/,p'
}

# test_root_tarball OLD-KVER NEW-KVER: the cached root of
# DEBIAN_ROOT_SUITE with dkms, openssl, and the image and headers of two
# kernels, that the lifecycle test and "make bench" share (and in
# bookworm the upgrade, faults and repo stages; in trixie the stacking
# stage).  One package set per suite, so neither prunes the other's root.
# A root of another suite than bookworm also has xz-utils and the dpkg
# path rules for /usr/lib/modules, and is named "stacking", the stage
# that made it first (the name is part of the cached tarball's).
test_root_tarball() {
	case $DEBIAN_ROOT_SUITE in
	bookworm)
		debian_root_tarball dkms openssl \
			"linux-image-$1" "linux-headers-$1" \
			"linux-image-$2" "linux-headers-$2" ;;
	*)
		DEBIAN_ROOT_NAME=stacking \
			DEBIAN_ROOT_DPKG_EXTRA=$(usr_lib_modules_dpkg_cfg) \
			debian_root_tarball dkms openssl xz-utils \
			"linux-image-$1" "linux-headers-$1" \
			"linux-image-$2" "linux-headers-$2" ;;
	esac
}
