# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# The sanitizer test kernel: Debian's linux-source-6.12 built small for
# QEMU with KASAN, UBSAN, kmemleak, lockdep, debugobjects and list
# debugging, module signing and MODVERSIONS (tests/lib/sanitizer-kernel.config),
# trusting a DKMS-style test signing certificate.  Built once and cached
# under $LKM_STACK_CACHE/sanitizer-kernel/<source version>-<config hash>/:
#
#   build/                  the O= tree: KDIR= for out-of-tree modules,
#                           scripts/sign-file, arch/x86/boot/bzImage
#   kernelrelease           the kernel's release string (uname -r)
#   image/                  laid out like Debian's image packages for
#                           tests/lib/vm.sh: boot/vmlinuz-KVER,
#                           boot/config-KVER, lib/modules/KVER/modules.*
#
# and the signing key next to it, in sanitizer-kernel/mok/ (mok.key,
# mok.pub in DER as DKMS keeps them, mok.pem for the kernel's keyring).
#
# Needs tests/lib/kernels.sh and tests/lib/scratch.sh sourced first.

SANITIZER_SOURCE=/usr/src/linux-source-6.12.tar.xz
SANITIZER_FRAGMENT=$LKM_STACK_TOP/tests/lib/sanitizer-kernel.config

# sanitizer_mok_dir: print the directory of the test signing key pair,
# generating it the way DKMS generates its MOK key on first use.
sanitizer_mok_dir() {
	_mok=$LKM_STACK_CACHE/sanitizer-kernel/mok
	if [ ! -f "$_mok/mok.pem" ]; then
		mkdir -p "$_mok"
		openssl req -new -x509 -nodes -days 36500 -newkey rsa:2048 \
			-subj "/CN=lkm-stack test DKMS signing key/" \
			-keyout "$_mok/mok.key" -outform DER -out "$_mok/mok.pub" \
			2>/dev/null
		openssl x509 -inform DER -in "$_mok/mok.pub" -out "$_mok/mok.pem.tmp"
		mv "$_mok/mok.pem.tmp" "$_mok/mok.pem"
	fi
	echo "$_mok"
}

# signed_copy SRC-DIR DEST-DIR SIGN-FILE: copy every module (*.ko) under
# SRC-DIR (e.g. a matrix_build directory, or one of its trees) to the same
# path under DEST-DIR, emptied first, and sign each copy with the test
# key, as DKMS signs what it builds with its MOK key; SIGN-FILE is the
# scripts/sign-file of the kernel the modules were built for.  The one
# way the stages make signed modules: SRC-DIR, shared by the run's later
# stages, stays as it was.  Fails if SRC-DIR has no module or one does
# not sign.
signed_copy() {
	_mok=$(sanitizer_mok_dir)
	rm -rf "$2"
	mkdir -p "$2"
	_kos=$(cd "$1" && find . -name '*.ko' | LC_ALL=C sort)
	if [ -z "$_kos" ]; then
		echo "signed_copy: no module under $1" >&2
		return 1
	fi
	for _ko in $_kos; do
		mkdir -p "$2/${_ko%/*}"
		cp "$1/$_ko" "$2/$_ko" &&
			"$3" sha256 "$_mok/mok.key" "$_mok/mok.pub" "$2/$_ko" ||
			return 1
	done
}

# sanitizer_cache_key: the source package version and a hash of what
# configures the kernel (the fragment and the trusted certificate).
sanitizer_cache_key() {
	_version=$(dpkg-query -W -f '${Version}' linux-source-6.12)
	_hash=$(cat "$SANITIZER_FRAGMENT" "$(sanitizer_mok_dir)/mok.pem" |
		sha256sum | cut -c1-12)
	echo "$_version-$_hash"
}

# unpack_sanitizer_source DIR: unpack linux-source-6.12 into DIR/src.
unpack_sanitizer_source() {
	[ -f "$1/src/Makefile" ] && return 0
	if [ ! -f "$SANITIZER_SOURCE" ]; then
		echo "no $SANITIZER_SOURCE: install linux-source-6.12" >&2
		return 1
	fi
	echo "sanitizer kernel: unpacking $SANITIZER_SOURCE ..." >&2
	rm -rf "$1/src.tmp"
	mkdir -p "$1/src.tmp"
	tar -xJf "$SANITIZER_SOURCE" -C "$1/src.tmp" --strip-components=1
	mv "$1/src.tmp" "$1/src"
}

# configure_sanitizer_kernel DIR: tinyconfig plus our fragment plus the
# trusted certificate, then check every option of the fragment stuck
# (merge_config.sh only warns about those that did not).
configure_sanitizer_kernel() {
	printf 'CONFIG_SYSTEM_TRUSTED_KEYS="%s"\n' \
		"$(sanitizer_mok_dir)/mok.pem" >"$1/trusted.config"
	echo "sanitizer kernel: configuring (log: $1/config.log)" >&2
	make -C "$1/src" O="$1/build" tinyconfig >"$1/config.log" 2>&1
	(cd "$1/src" && scripts/kconfig/merge_config.sh -O "$1/build" \
		"$1/build/.config" "$SANITIZER_FRAGMENT" "$1/trusted.config") \
		>>"$1/config.log" 2>&1
	_missing=$(grep -hE '^(CONFIG_|# CONFIG_.* is not set)' \
		"$SANITIZER_FRAGMENT" "$1/trusted.config" |
		grep -vxFf "$1/build/.config" || true)
	if [ -n "$_missing" ]; then
		printf 'sanitizer kernel: options the configuration refused:\n%s\n' \
			"$_missing" >&2
		return 1
	fi
}

# show_build_progress START: read make's output, print a line every 500
# compiled files with the seconds since START.
show_build_progress() {
	_n=0
	while IFS= read -r _line; do
		case $_line in
		"  CC "*)
			_n=$((_n + 1))
			[ $((_n % 500)) -ne 0 ] ||
				echo "sanitizer kernel: $_n files compiled" \
					"($(($(date +%s) - $1))s)" >&2
			;;
		esac
	done
}

# compile_sanitizer_kernel DIR: build bzImage and what "make M=" needs.
compile_sanitizer_kernel() {
	_start=$(date +%s)
	echo "sanitizer kernel: compiling with $(nproc) jobs (log: $1/build.log)" >&2
	rm -f "$1/build.status"
	{
		make -C "$1/src" O="$1/build" -j"$(nproc)" all modules_prepare \
			2>&1
		echo $? >"$1/build.status"
	} | tee "$1/build.log" | show_build_progress "$_start"
	if [ "$(cat "$1/build.status")" != 0 ]; then
		tail -n 40 "$1/build.log" >&2
		echo "sanitizer kernel: build failed" >&2
		return 1
	fi
	make -s -C "$1/src" O="$1/build" kernelrelease >"$1/kernelrelease"
	echo "sanitizer kernel: built $(cat "$1/kernelrelease") in" \
		"$(($(date +%s) - _start))s" >&2
}

# stage_sanitizer_image DIR: lay the built kernel out in DIR/image.
stage_sanitizer_image() {
	_kver=$(cat "$1/kernelrelease")
	_modules=$1/image/lib/modules/$_kver
	mkdir -p "$1/image/boot" "$_modules"
	cp "$1/build/arch/x86/boot/bzImage" "$1/image/boot/vmlinuz-$_kver"
	cp "$1/build/.config" "$1/image/boot/config-$_kver"
	for _file in modules.builtin modules.builtin.modinfo modules.order; do
		cp "$1/build/$_file" "$_modules/"
	done
}

# sanitizer_kernel_dir: print the cache directory of the sanitizer kernel
# (see the top of this file), building it first if it is not there.
sanitizer_kernel_dir() {
	_dir=$LKM_STACK_CACHE/sanitizer-kernel/$(sanitizer_cache_key)
	mkdir -p "$_dir/build"
	# One build at a time: a second test run waits for the first's.
	(
		flock 9
		[ -f "$_dir/done" ] && exit 0
		unpack_sanitizer_source "$_dir" &&
			configure_sanitizer_kernel "$_dir" &&
			compile_sanitizer_kernel "$_dir" &&
			stage_sanitizer_image "$_dir" &&
			touch "$_dir/done"
	) 9>"$_dir/lock" || return 1
	echo "$_dir"
}
