# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# The Debian kernels the project is tested against, and the cache their
# packages are kept in.
#
#   LKM_STACK_CACHE    download cache (default ~/.cache/lkm-stack)
#   LKM_STACK_KERNELS  space-separated kernel releases to test instead of
#                      the default matrix

: "${LKM_STACK_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/lkm-stack}"
export LKM_STACK_CACHE

# newest_kernel SERIES FLAVOUR: the newest release of a series ("6.1",
# "6.12") in a flavour ("amd64", "cloud-amd64", "rt-amd64") that apt
# knows an unsigned image of, e.g. 6.1.0-56-amd64.
newest_kernel() {
	case $1 in
	6.1) _pattern="6\.1\.0-[0-9]+-$2" ;;
	6.12) _pattern="6\.12\.[0-9]+\+deb12-$2" ;;
	*) echo "newest_kernel: unknown series $1" >&2; return 1 ;;
	esac
	apt-cache pkgnames linux-image-"$1" |
		sed -En "s/^linux-image-($_pattern)-unsigned\$/\\1/p" |
		sort -V | tail -n 1
}

# kernel_matrix: one kernel release a line, the default test matrix first
# by series, then by flavour, or LKM_STACK_KERNELS if set.
kernel_matrix() {
	if [ -n "${LKM_STACK_KERNELS:-}" ]; then
		# shellcheck disable=SC2086 # the list splits into releases
		printf '%s\n' $LKM_STACK_KERNELS
		return
	fi
	for _flavour in amd64 cloud-amd64 rt-amd64; do
		for _series in 6.1 6.12; do
			_kver=$(newest_kernel "$_series" "$_flavour")
			if [ -z "$_kver" ]; then
				echo "no $_series $_flavour kernel known to apt: run apt-get update" >&2
				return 1
			fi
			echo "$_kver"
		done
	done
}

# previous_kernel SERIES FLAVOUR: the second-newest release of a series
# ("6.1") in a flavour ("amd64") that apt has both the image and the
# headers of, e.g. 6.1.0-55-amd64 when 6.1.0-56-amd64 is the newest.
previous_kernel() {
	_newest=$(newest_kernel "$1" "$2") || return 1
	# A digit before "-FLAVOUR": 6.1.0-55-amd64, not 6.1.0-55-rt-amd64.
	apt-cache pkgnames "linux-headers-$1." |
		sed -n "s/^linux-headers-\\($1\\..*[0-9]-$2\\)\$/\\1/p" | sort -V |
		while read -r _kver; do
			[ "$_kver" != "$_newest" ] &&
				apt-cache show "linux-image-$_kver" >/dev/null 2>&1 &&
				echo "$_kver"
		done | tail -n 1
}

# previous_kernels: the previous release of each series' amd64 kernel, one
# a line: tests/reliability/stage.sh loads their modules into the newest.
previous_kernels() {
	previous_kernel 6.1 amd64
	previous_kernel 6.12 amd64
}

# Kernels by role: a stage asks for the kernel of its role, and this is
# the one place that says which series and flavour that is.
#
# demo_kernel: what make demo boots by default (DEMO_KVER overrides).
demo_kernel() { newest_kernel 6.1 amd64; }
# lifecycle_kernels: "OLD UPGRADE NEW": the lifecycle root's two kernels
# (OLD, the previous 6.1 amd64 release, and NEW, the newest 6.12 amd64)
# and the newer 6.1 that step 2 installs into it (UPGRADE).  make bench
# shares the root, so it uses OLD and NEW too.
lifecycle_kernels() {
	echo "$(previous_kernel 6.1 amd64) $(newest_kernel 6.1 amd64)" \
		"$(newest_kernel 6.12 amd64)"
}
# sig_enforce_kernel: the Debian kernel booted with module.sig_enforce=1.
sig_enforce_kernel() { newest_kernel 6.12 amd64; }
# sparse_kernels: the kernels sparse checks the sources against, one of
# each series, one a line.
sparse_kernels() {
	newest_kernel 6.1 amd64
	newest_kernel 6.12 amd64
}
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
# linux-headers-KVER with apt-get when we may.
ensure_headers() {
	[ -f "/lib/modules/$1/build/Makefile" ] && return 0
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
		echo "missing headers for $1: install linux-headers-$1" >&2
		return 1
	fi
	echo "installing linux-headers-$1 ..."
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "linux-headers-$1" >/dev/null
}

# kernel_image_dir KVER: print a directory holding boot/vmlinuz-KVER and
# lib/modules/KVER/ from Debian's unsigned image package, downloading and
# unpacking it into the cache on first use.
kernel_image_dir() {
	_dir="$LKM_STACK_CACHE/kernels/$1"
	if [ ! -f "$_dir/boot/vmlinuz-$1" ]; then
		_debs="$LKM_STACK_CACHE/debs"
		mkdir -p "$_debs" "$_dir.tmp"
		echo "downloading linux-image-$1-unsigned ..." >&2
		(cd "$_debs" && apt-get download -q "linux-image-$1-unsigned" >&2) ||
			{ echo "cannot download linux-image-$1-unsigned" >&2; return 1; }
		dpkg-deb -x "$_debs/linux-image-$1-unsigned_"*.deb "$_dir.tmp"
		rm -rf "$_dir"
		mv "$_dir.tmp" "$_dir"
	fi
	echo "$_dir"
}
