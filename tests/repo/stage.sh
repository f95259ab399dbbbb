#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The signed repositories "make repo" builds, from the user's side
# (issue 17, items 1 and 2).  "make repo" runs in a scratch tree, with
# the throwaway test key it generates, and REPO_URL=file:///srv/lkm-stack-repo
# so that the .sources file it writes is the one the roots get; a 1.1
# ("make deb" in another scratch tree, set-version) is then published
# into the same repository with scripts/build-repo and the same key
# (REPO_KEY), a copy of the 1.0 repository kept.  On the host:
#
#   0  make repo names the packages of missing tools; every file is
#      there, InRelease verifies with gpgv against the exported key; the
#      republished Packages lists 1.0 and 1.1
#   5  the RPM side: repomd.xml.asc verifies with gpg against the exported
#      key (a changed repomd.xml does not); every .rpm passes rpm -K with
#      the key imported into a scratch rpm database, fails without it, and
#      a changed copy of a package fails
#
# Then in each release's root (LKM_STACK_REPO_RELEASES, default
# "bookworm trixie"), with two kernels of that release:
#
#   1  the 1.0 repository copied to /srv/lkm-stack-repo, its .sources
#      (Signed-By: the exported key) the only apt source: apt-get update
#      verifies it
#   2  apt-get install lkm-stack-dkms, by name: DKMS builds for both
#      kernels (the lifecycle stage's expect_installed)
#   3  the repository with 1.1: apt-get upgrade takes it, both kernels
#      have 1.1 and nothing of 1.0 is left in dkms status or under
#      /lib/modules
#   4  tampered copies: a Packages changed after signing (Hash Sum
#      mismatch), and a Release re-signed by another key (the key is
#      unknown, "is not signed"): apt-get update refuses each, and
#      nothing new is installed; the genuine one still verifies.  Each
#      refusal's output is kept in dist/repo-logs/
#   6  Debian's autopkgtest (issue 17, item 3), run by the host's
#      autopkgtest (5.28) against the source tarball and the .deb, its
#      testbed a fresh copy of the root through autopkgtest-virt-chroot
#      (the copy is thrown away after, hence --ignore-restrictions=
#      breaks-testbed): autodep8's dkms-autopkgtest passes, building for
#      both kernels, and finds that dkms cannot be removed under the
#      package; stacked-load, which loads modules, is skipped for want of
#      isolation-machine (a chroot shares the host's kernel: it runs in
#      the lifecycle stage's guests, step 7c).  Nothing is loaded: the
#      generic test only builds.  Its apt-get runs on the copy's own
#      download cache, not the shared one, whose lock it would otherwise
#      hold through the DKMS builds.  Its logs go to dist/repo-logs/
#   7  autopkgtest again, on a testbed that is a machine of its own: a
#      QEMU guest booted from an image of a cached root of the release
#      with Debian's default kernel and its headers (TESTBED_PACKAGES),
#      which autopkgtest-virt-ssh logs into (tests/repo/
#      autopkgtest-ssh-setup and guest/testbed-init).  stacked-load runs
#      there: autopkgtest installs the .deb, DKMS builds for the running
#      kernel, and every check the test prints is judged here, with its
#      summary and exit status.  Its log and the guest's serial console
#      go to dist/repo-logs/
#
# Debian 12's root is the lifecycle stage's cached one (dkms and two
# kernels, test_root_tarball: no root of its own); Debian 13's is a
# cached root named "repo" (dkms 3.2.2, apt 3.0) with the kernels the
# stacking stage's Debian 13 root has, whose packages the shared download
# cache then holds already.  The roots' Debian sources are set aside:
# apt sees only the repository, so nothing is downloaded and apt-get
# upgrade has nothing else to take (dkms, the one dependency, is in the
# root already).  The judges of the package's state (expect_installed,
# apt_step) are the lifecycle stage's, sourced with
# LKM_STACK_JUDGE_ONLY=1 as tests/upgrade/stage.sh does.
set -eu
LKM_STACK_JUDGE_ONLY=1
. "$(dirname "$0")/../lifecycle/stage.sh"
LKM_STACK_JUDGE_ONLY=
. "$LKM_STACK_TOP/tests/lib/releases.sh"

: "${LKM_STACK_REPO_RELEASES:=bookworm trixie}"
# The upgrade published into the repository: 1.0 becomes 1.1.
new_version=$(echo "$version" | awk -F. -v OFS=. '{ $NF = $NF + 1; print }')
# apt-get update's refusals are kept here for a look after the run.
logs=$LKM_STACK_TOP/dist/repo-logs
# Where the root has the repository, as the generated .sources names it.
REPO_IN_ROOT=/srv/lkm-stack-repo
# The version a tampered Packages offers: as long as new_version, so that
# apt's complaint is the hash's, not the size's.
FAKE_VERSION=$(echo "$new_version" | sed 's/[0-9]$/9/')

# files_missing DIR FILE...: those of FILEs not in DIR, on one line.
files_missing() {
	_dir=$1
	shift
	for _f in "$@"; do
		[ -s "$_dir/$_f" ] || printf '%s ' "$_f"
	done
}

# key_fingerprint GNUPGHOME: the fingerprint of the (one) secret key there.
key_fingerprint() {
	gpg --homedir "$1" --batch --with-colons --list-secret-keys 2>/dev/null |
		awk -F: '$1 == "fpr" { print $10; exit }'
}

# stop_agent GNUPGHOME: stop the gpg-agent gpg started for that home, if
# any (gpg starts one per home; each of this stage's homes is its own).
stop_agent() {
	[ ! -d "$1" ] || gpgconf --homedir "$1" --kill gpg-agent 2>/dev/null || true
}

prepare() {
	scratch_tree "$tree"
	if out=$(make -C "$tree" repo REPO_URL="file://$REPO_IN_ROOT" 2>&1); then
		pass "0: make repo"
	else
		give_up "0: make repo" "exit status 0" "$out"
	fi
	expect_match "0: make repo warns that its generated key is for testing only" \
		'^warning: signing with a throwaway key .*: for testing only' "$out"
	fpr=$(key_fingerprint "$key_home")
	[ -n "$fpr" ] || give_up "0: the test key" \
		"a secret key in $key_home" "none"
	echo "repository: $repo, signed by $fpr"
	cp -R "$repo" "$repo_v1"
	# The source package step 6 gives autopkgtest, unpacked once.
	mkdir -p "$work/src"
	tar -xzf "$tree/dist/lkm-stack-$version.tar.gz" -C "$work/src"

	scratch_tree "$tree_new"
	if ! out=$("$tree_new/scripts/set-version" "$new_version" \
		"Repository test upgrade." 2>&1 && make -C "$tree_new" deb 2>&1)
	then
		give_up "make deb ($new_version)" "the upgrade package built" "$out"
	fi
	# Published as a maintainer would: the packages of the new tree, into
	# the same repository, signed with the same key (REPO_KEY, from the
	# keyring make repo generated).
	if out=$(REPO_KEY=$fpr GNUPGHOME=$key_home \
		REPO_URL="file://$REPO_IN_ROOT" \
		"$tree/scripts/build-repo" "$tree_new/dist" "$repo" 2>&1); then
		pass "0: build-repo publishes $new_version with REPO_KEY"
	else
		give_up "0: build-repo publishes $new_version with REPO_KEY" \
			"exit status 0" "$out"
	fi
	stop_agent "$key_home"
	expect_eq "0: Packages lists lkm-stack-dkms $version and $new_version" \
		"$version $new_version" \
		"$(awk '/^Package:/ { p = $2 } /^Version:/ && p == "lkm-stack-dkms" { print $2 }' \
			"$repo/deb/Packages" | sort -V | paste -sd ' ')"
	make_tampered_copies
}

# prepare_root: $release's two kernels (kver_a, kver_b) and a fresh copy
# of its cached root with them; root_ready says whether there is one (if
# not, the failure is recorded).
prepare_root() {
	root_ready=
	find_root || return 0
	remove_root "$root_dir"
	overlay_root "$root_tarball" "$root_dir"
	echo "root: $root_tarball; $(in_root "$root_dir" dkms --version 2>&1)"
	root_ready=1
}

# find_root: the kernels and the cached root of prepare_root; false (the
# failure recorded) if there is none.
find_root() {
	case $release in
	bookworm)
		if ! kernels=$(lifecycle_kernels_of bookworm 2>"$work/kernels.err"); then
			fail "$release: kernels for the root" \
				"the three lifecycle_kernels_of bookworm known to apt" \
				"$(cat "$work/kernels.err")"
			return 1
		fi
		# shellcheck disable=SC2086 # three kernel releases
		set -- $kernels
		kver_a=$1 kver_b=$3
		;;
	trixie)
		# The stacking stage's two (tests/stacking/stage.sh).
		kver_a=$(release_kernels trixie amd64 | tail -n 2 | head -n 1)
		kver_b=$(release_kernels trixie cloud-amd64 | tail -n 1)
		;;
	*)
		fail "$release: kernels for the root" "bookworm or trixie" "$release"
		return 1
		;;
	esac
	if [ -z "$kver_a" ] || [ -z "$kver_b" ]; then
		fail "$release: kernels for the root" "two kernels known to apt" \
			"'$kver_a' '$kver_b' (run apt-get update)"
		return 1
	fi
	echo "kernels: $kver_a and $kver_b"
	case $release in
	bookworm) root_tarball=$(test_root_tarball "$kver_a" "$kver_b") ;;
	trixie)
		root_tarball=$(DEBIAN_ROOT_SUITE=trixie DEBIAN_ROOT_NAME=repo \
			DEBIAN_ROOT_DPKG_EXTRA=$(usr_lib_modules_dpkg_cfg) \
			debian_root_tarball dkms xz-utils \
			"linux-image-$kver_a" "linux-headers-$kver_a" \
			"linux-image-$kver_b" "linux-headers-$kver_b")
		;;
	esac || {
		fail "$release: Debian root" "a $release root with dkms and two kernels" \
			"debootstrap or apt-get failed (see above)"
		return 1
	}
}

# expect_tool_named NAME TOOL PACKAGE: build-repo, with TOOL missing from
# PATH, fails before writing anything with one line naming PACKAGE.
expect_tool_named() {
	bin=$work/bin-without-$2
	mkdir -p "$bin"
	# Every command of /usr/bin and /bin, less TOOL (where /bin is a link
	# to /usr/bin, cp refuses the second of each name: the same command).
	cp -s /usr/bin/* /bin/* "$bin/" 2>/dev/null || true
	rm -f "$bin/$2"
	if out=$(PATH=$bin "$tree/scripts/build-repo" "$tree/dist" \
		"$work/no-repo" 2>&1); then
		fail "$1" "build-repo fails" "it succeeded: $out"
	else
		expect_eq "$1" "error: make repo needs: apt-get install $3" "$out"
	fi
	expect_eq "$1: nothing written" "" "$(existing "$work/no-repo")"
}

step0_host() {
	expect_tool_named "0: without apt-ftparchive, build-repo names apt-utils" \
		apt-ftparchive apt-utils
	expect_tool_named "0: without createrepo_c, build-repo names createrepo-c" \
		createrepo_c createrepo-c
	expect_eq "0: the apt repository's files are there" "" \
		"$(files_missing "$repo/deb" InRelease Release Release.gpg Packages \
			Packages.gz "$deb" "lkm-stack-addon-dkms_${version}_all.deb")"
	expect_eq "0: the RPM repository's files are there" "" \
		"$(files_missing "$repo/rpm" repodata/repomd.xml \
			repodata/repomd.xml.asc "lkm-stack-dkms-$version-1.noarch.rpm")"
	expect_eq "0: the key and the client files are there" "" \
		"$(files_missing "$repo" lkm-stack-archive-keyring.gpg \
			lkm-stack-archive-keyring.asc lkm-stack.sources lkm-stack.repo)"
	expect_eq "0: no private key in the repository" "" \
		"$(find "$repo" -name '*.key' -o -name 'private-keys*' -o -name '*.kbx')"
	for signed in InRelease Release.gpg; do
		if [ "$signed" = InRelease ]; then
			set -- "$repo/deb/InRelease"
		else
			set -- "$repo/deb/Release.gpg" "$repo/deb/Release"
		fi
		out=$(gpgv --status-fd 1 --keyring "$repo/lkm-stack-archive-keyring.gpg" \
			"$@" 2>&1) || true
		expect_match "0: $signed verifies with gpgv against the exported key" \
			"^\\[GNUPG:\\] VALIDSIG $fpr " "$out"
	done
}

# put_repo_in_root DIR: DIR as the root's repository, replacing the one
# there (a copy: in_root unmounts whatever is mounted below the root).
put_repo_in_root() {
	rm -rf "$root_dir$REPO_IN_ROOT"
	mkdir -p "$root_dir$REPO_IN_ROOT"
	cp -R "$1/." "$root_dir$REPO_IN_ROOT/"
	# apt reads file: URIs as the _apt user.
	chmod -R a+rX "$root_dir$REPO_IN_ROOT"
}

# upgrade_summary N: a regex for apt-get's line saying it upgrades N
# packages and installs none: apt 2.6's (Debian 12) and apt 3.0's
# "Summary:" (Debian 13).
upgrade_summary() {
	echo "^$1 upgraded, 0 newly installed|^ *Upgrading: $1, Installing: 0,"
}

# candidate: apt's candidate version of lkm-stack-dkms in the root.
candidate() {
	in_root "$root_dir" apt-cache policy lkm-stack-dkms |
		sed -n 's/^ *Candidate: //p'
}

# installed_version: the version of lkm-stack-dkms dpkg has installed.
installed_version() {
	# shellcheck disable=SC2016 # a dpkg-query format, not the shell's
	in_root "$root_dir" dpkg-query -W -f '${Version}' lkm-stack-dkms 2>&1
}

step1_update() {
	# The repository, its key and its .sources, as the README tells users
	# to add them; the Debian sources set aside (see the top).
	put_repo_in_root "$repo_v1"
	mkdir -p "$root_dir/etc/apt/keyrings"
	cp "$repo/lkm-stack-archive-keyring.gpg" "$root_dir/etc/apt/keyrings/"
	cp "$repo/lkm-stack.sources" "$root_dir/etc/apt/sources.list.d/"
	mv "$root_dir/etc/apt/sources.list.d/debian.sources" \
		"$root_dir/etc/apt/debian.sources.set-aside"
	expect_match "$release 1: lkm-stack.sources has Signed-By: the exported key" \
		'^Signed-By: /etc/apt/keyrings/lkm-stack-archive-keyring\.gpg$' \
		"$(cat "$repo/lkm-stack.sources")"
	apt_step "$release 1: apt-get update" "$root_dir" update
	expect_match "$release 1: apt-get update reads the repository's InRelease" \
		"file:$(re "$REPO_IN_ROOT")/deb \\./ InRelease" "$apt_out"
	expect_no_match "$release 1: apt-get update has no warning or error" \
		'^(W|E|Err):' "$apt_out"
	expect_eq "$release 1: apt's candidate for lkm-stack-dkms" "$version" "$(candidate)"
}

step2_install() {
	apt_step "$release 2: apt-get install lkm-stack-dkms" "$root_dir" \
		install lkm-stack-dkms
	expect_eq "$release 2: lkm-stack-dkms $version is installed" "$version" \
		"$(installed_version)"
	expect_installed "$release 2" "$root_dir" "$version" "$kver_a" "$kver_b"
}

# lkm_module_versions: every core_lkm and client_lkm under the root's
# /lib/modules, with its version: "PATH VERSION" lines.
lkm_module_versions() {
	(cd "$root_dir" && find lib/modules/ -name 'core_lkm.ko*' -o \
		-name 'client_lkm.ko*') | sort | while read -r path; do
		echo "/$path $(modinfo -F version "$root_dir/$path" 2>&1)"
	done
}

step3_upgrade() {
	put_repo_in_root "$repo"
	apt_step "$release 3: apt-get update" "$root_dir" update
	apt_step "$release 3: apt-get upgrade" "$root_dir" upgrade
	expect_match "$release 3: apt-get upgrade upgrades lkm-stack-dkms" \
		"$(upgrade_summary 1)" "$apt_out"
	expect_eq "$release 3: lkm-stack-dkms $new_version is installed" "$new_version" \
		"$(installed_version)"
	expect_installed "$release 3" "$root_dir" "$new_version" "$kver_a" "$kver_b"
	versions=$(lkm_module_versions)
	if [ -z "$versions" ]; then
		fail "$release 3: every lkm-stack module under /lib/modules is $new_version" \
			"core_lkm and client_lkm under /lib/modules" "none"
	else
		expect_empty "$release 3: every lkm-stack module under /lib/modules is $new_version" \
			"$(printf '%s\n' "$versions" | grep -v " $(re "$new_version")\$" || true)"
	fi
	expect_eq "$release 3: the sources of $version are gone" "" \
		"$(existing "$root_dir/usr/src/lkm-stack-$version")"
}

# fake_upgrade DIR: change DIR/Packages (and Packages.gz) to offer
# lkm-stack-dkms FAKE_VERSION, as a mirror's attacker would.
fake_upgrade() {
	sed -i "s/^Version: $(re "$new_version")\$/Version: $FAKE_VERSION/" \
		"$1/deb/Packages"
	gzip -9 -n -c "$1/deb/Packages" >"$1/deb/Packages.gz"
}

# forget_lists: delete the root's package lists of the repository, as on
# a machine that has just added it.  apt fetches an index only when the
# Release's hash of it differs from the one it has, so a Packages changed
# behind an unchanged Release is only ever read by such a machine.
forget_lists() {
	rm -f "$root_dir"/var/lib/apt/lists/*"$(echo "$REPO_IN_ROOT" | tr / _)"_*
}

# expect_refused PREFIX HOW REGEX [LABEL]: apt-get update in the root,
# with a tampered repository in place, refuses it with a message matching
# REGEX, which the check names (or LABEL for it; its output stays in
# update_out), and nothing new is offered or
# installed.  HOW is "error": apt-get update fails, having no earlier
# lists of the repository to fall back on; or "warning": it exits 0 and
# says it keeps the previous lists, unchanged.
expect_refused() {
	status=0
	update_out=$(root_apt "$root_dir" update) || status=$?
	mkdir -p "$logs"
	printf '%s\n' "$update_out" >"$logs/$(echo "$1" | tr -c 'A-Za-z0-9.\n-' -).log"
	case $2 in
	error)
		if [ "$status" -ne 0 ]; then
			pass "$1: apt-get update fails"
		else
			fail "$1: apt-get update fails" "a non-zero exit status" \
				"status 0: $update_out"
		fi ;;
	warning)
		expect_match "$1: apt-get update keeps the previous lists" \
			'^W: .*The repository is not updated and the previous index files will be used' \
			"$update_out" ;;
	esac
	expect_match "$1: apt-get update says ${4:-$3}" "$3" "$update_out"
	out=$(root_apt "$root_dir" upgrade) || true
	expect_match "$1: apt-get upgrade installs nothing" \
		"$(upgrade_summary 0)" "$out"
	expect_eq "$1: apt's candidate is still $new_version" "$new_version" \
		"$(candidate)"
	expect_eq "$1: lkm-stack-dkms is still $new_version" "$new_version" \
		"$(installed_version)"
}

# make_tampered_copies: two copies of the repository with 1.1, each
# offering a fake FAKE_VERSION: tampered, whose Packages was changed
# after signing; and resigned, whose Release of the changed Packages
# another key signed (the attacker's whole repository, self-consistent,
# but not signed by the key apt trusts for it).  unknown_key: how apt
# names that key: gpgv (Debian 12) "NO_PUBKEY <its long id>", the
# fingerprint's last 16 digits; sqv (Debian 13's apt) "Missing key
# <its fingerprint>".
make_tampered_copies() {
	cp -R "$repo" "$tampered"
	fake_upgrade "$tampered"

	mkdir -m 700 "$other_home"
	gpg --homedir "$other_home" --batch --quiet --passphrase '' \
		--quick-generate-key "not the lkm-stack key" ed25519 sign never \
		>/dev/null 2>&1
	other=$(key_fingerprint "$other_home")
	cp -R "$repo" "$resigned"
	fake_upgrade "$resigned"
	rm -f "$resigned/deb/Release" "$resigned/deb/InRelease" \
		"$resigned/deb/Release.gpg"
	(cd "$resigned/deb" && apt-ftparchive release .) >"$work/Release"
	mv "$work/Release" "$resigned/deb/Release"
	gpg --homedir "$other_home" --batch --yes --quiet --clearsign \
		--output "$resigned/deb/InRelease" "$resigned/deb/Release"
	gpg --homedir "$other_home" --batch --yes --quiet --armor --detach-sign \
		--output "$resigned/deb/Release.gpg" "$resigned/deb/Release"
	stop_agent "$other_home"
	unknown_key="NO_PUBKEY $(printf '%s' "$other" | tail -c 16)|Missing key $other"
}

step4_tampered() {
	put_repo_in_root "$tampered"
	forget_lists
	expect_refused "$release 4a: Packages changed after signing, new machine" \
		error 'Hash Sum mismatch'

	# A machine with the genuine lists (4a left none: they come first)
	# is warned, and keeps them.
	put_repo_in_root "$repo"
	apt_step "$release 4b: (set-up) apt-get update from the genuine repository" \
		"$root_dir" update
	put_repo_in_root "$resigned"
	expect_refused "$release 4b: Release signed by another key" warning \
		"$unknown_key" "the other key's id"
	# A machine that has just added the repository: refused outright.
	forget_lists
	expect_refused "$release 4b: Release signed by another key, new machine" \
		error "$unknown_key" "the other key's id"
	expect_match "$release 4b: apt-get update says the repository is not signed" \
		"^E: The repository 'file:$(re "$REPO_IN_ROOT")/deb \\./ InRelease' is not signed" \
		"$update_out"

	put_repo_in_root "$repo"
	apt_step "$release 4: the genuine repository verifies again: apt-get update" \
		"$root_dir" update
	expect_no_match "$release 4: apt-get update has no warning or error" \
		'^(W|E|Err):' "$apt_out"
	expect_eq "$release 4: apt's candidate is $new_version again" "$new_version" \
		"$(candidate)"
}

# rpm_check RPM-ARG...: rpm with a scratch database and HOME (no
# ~/.rpmmacros), its output on stdout; fails as rpm does.
rpm_check() {
	HOME=$work/rpm-home rpm --dbpath "$rpmdb" "$@" 2>&1
}

# expect_rpm_signed PREFIX RPM: rpm -K passes for RPM with the key
# imported, and names the key: "Header V4 RSA/SHA512 Signature, key ID
# <its short id>: OK".
expect_rpm_signed() {
	if out=$(rpm_check -Kv "$2"); then
		expect_match "$1: rpm -K passes, signed by the exported key" \
			"Signature, key ID $(printf '%s' "$fpr" | tail -c 8 |
				tr 'A-F' 'a-f'): OK" "$out"
	else
		fail "$1: rpm -K passes, signed by the exported key" \
			"exit status 0" "status $?: $out"
	fi
}

step5_rpm() {
	verify_home=$work/verify-gnupg
	mkdir -m 700 "$verify_home"
	gpg --homedir "$verify_home" --batch --quiet \
		--import "$repo/lkm-stack-archive-keyring.asc" 2>/dev/null || true
	repomd=$repo/rpm/repodata/repomd.xml
	out=$(gpg --homedir "$verify_home" --batch --status-fd 1 \
		--verify "$repomd.asc" "$repomd" 2>&1) || true
	expect_match "5: repomd.xml.asc verifies with gpg against the exported key" \
		"^\\[GNUPG:\\] VALIDSIG $fpr " "$out"
	sed 's/<revision>/<revision>1/' "$repomd" >"$work/repomd.xml"
	if out=$(gpg --homedir "$verify_home" --batch --status-fd 1 \
		--verify "$repomd.asc" "$work/repomd.xml" 2>&1); then
		fail "5: a changed repomd.xml fails to verify" "BADSIG" "$out"
	else
		expect_match "5: a changed repomd.xml fails to verify" \
			'^\[GNUPG:\] BADSIG ' "$out"
	fi
	stop_agent "$verify_home"

	rpmdb=$work/rpmdb
	mkdir -p "$rpmdb" "$work/rpm-home"
	rpms=$(find "$repo/rpm" -maxdepth 1 -name '*.rpm' | sort)
	expect_eq "5: the RPM repository has both packages" \
		"lkm-stack-addon-dkms lkm-stack-dkms" \
		"$(for r in $rpms; do rpm -qp --qf '%{NAME}\n' "$r" 2>/dev/null; done |
			sort | paste -sd ' ')"
	first=$(printf '%s\n' "$rpms" | head -n 1)
	if out=$(rpm_check -K "$first"); then
		fail "5: rpm -K fails before the key is imported" "NOKEY" "$out"
	else
		expect_match "5: rpm -K fails before the key is imported" \
			'NOKEY|SIGNATURES NOT OK' "$out"
	fi
	expect_success "5: rpm --import lkm-stack-archive-keyring.asc" \
		rpm_check --import "$repo/lkm-stack-archive-keyring.asc"
	for r in $rpms; do
		expect_rpm_signed "5: ${r##*/}" "$r"
	done
	# One byte of the payload (at the end of the file) changed.
	cp "$first" "$work/changed.rpm"
	size=$(stat -c %s "$work/changed.rpm")
	printf 'X' | dd of="$work/changed.rpm" bs=1 seek=$((size - 64)) \
		conv=notrunc 2>/dev/null
	if out=$(rpm_check -K "$work/changed.rpm"); then
		fail "5: rpm -K fails for a changed copy of ${first##*/}" \
			"a non-zero exit status" "status 0: $out"
	else
		expect_match "5: rpm -K fails for a changed copy of ${first##*/}" \
			'NOT OK' "$out"
	fi
}

# step6_autopkgtest: autopkgtest on a fresh copy of the root, as the
# header says; its exit status, summary and the test's output judged.
step6_autopkgtest() {
	remove_root "$root_dir"
	overlay_root "$root_tarball" "$root_dir"
	rm -rf "$work/autopkgtest"
	mkdir -p "$logs"
	_at_status=0
	# shellcheck disable=SC2016 # expanded by that sh
	with_root_mounts "$root_dir" sh -c 'umount "$1/var/cache/apt/archives" &&
		exec autopkgtest --ignore-restrictions=breaks-testbed \
			--test-name=dkms-autopkgtest --summary-file="$2/summary" \
			--output-dir="$2" "$3" "$4" -- chroot "$1"' sh \
		"$root_dir" "$work/autopkgtest" "$tree/dist/$deb" \
		"$work/src/lkm-stack-$version" >"$logs/$release-autopkgtest.log" 2>&1 ||
		_at_status=$?
	_at_summary=$(cat "$work/autopkgtest/summary" 2>/dev/null || true)
	_at_out=$(cat "$work/autopkgtest/dkms-autopkgtest-stdout" 2>/dev/null || true)
	_at_err=$(cat "$work/autopkgtest/dkms-autopkgtest-stderr" 2>/dev/null || true)
	# 8: no test that is not superficial ran (dkms-autopkgtest is).
	expect_eq "$release 6: autopkgtest exits 8: only the superficial dkms-autopkgtest ran" \
		8 "$_at_status"
	expect_match "$release 6: autopkgtest: dkms-autopkgtest PASS" \
		'^dkms-autopkgtest +PASS' "$_at_summary"
	expect_match "$release 6: autopkgtest skips stacked-load on a chroot: it needs isolation-machine" \
		'^stacked-load +SKIP .*"isolation-machine"' "$_at_summary"
	for _at_kver in "$kver_a" "$kver_b"; do
		expect_match "$release 6: dkms-autopkgtest built and installed lkm-stack for $_at_kver" \
			"^I: PASS (lkm-stack/$(re "$version") )?$(re "$_at_kver")\$" "$_at_out"
	done
	expect_match "$release 6: dkms-autopkgtest cannot remove dkms: lkm-stack-dkms depends on it" \
		'^ lkm-stack-dkms depends on dkms' "$_at_err"
	remove_root "$root_dir"
}

# The testbed root of step 7: Debian's default kernel (the metapackages
# stacked-load's Depends names, so nothing is left to download), dkms,
# apt-utils (autopkgtest makes its local repository of the .deb with
# apt-ftparchive in the testbed), and what testbed-init needs to let
# autopkgtest-virt-ssh in.  A root of
# its own per release, named "autopkgtest", which keeps beside it the
# modules of the guest's network card that DEBIAN_ROOT_DPKG_CFG leaves
# out of every root.
TESTBED_PACKAGES="linux-image-amd64 linux-headers-amd64 dkms xz-utils
apt-utils openssh-server iproute2"
TESTBED_DPKG_INCLUDE="path-include=/lib/modules/*/kernel/drivers/net/virtio_net.ko*
path-include=/lib/modules/*/kernel/drivers/net/net_failover.ko*
path-include=/lib/modules/*/kernel/net/core/failover.ko*"

# testbed_root_tarball: the cached testbed root of $release.
testbed_root_tarball() {
	_tb_extra=$TESTBED_DPKG_INCLUDE
	case $release in
	bookworm) ;;
	*)
		_tb_extra="$(usr_lib_modules_dpkg_cfg)
$_tb_extra
$(echo "$TESTBED_DPKG_INCLUDE" | sed 's,=/lib/,=/usr/lib/,')"
		;;
	esac
	# shellcheck disable=SC2086 # a list of packages
	DEBIAN_ROOT_SUITE=$release DEBIAN_ROOT_NAME=autopkgtest \
		DEBIAN_ROOT_DPKG_EXTRA=$_tb_extra \
		debian_root_tarball $TESTBED_PACKAGES
}

# make_testbed DIR: the files tests/repo/autopkgtest-ssh-setup boots from
# DIR (see there): the testbed root with testbed-init and the key's
# public half, its Debian sources set aside (the guest has no way out:
# autopkgtest brings the .deb in its own local repository), as an image;
# its one kernel is printed.
make_testbed() {
	_mt_tarball=$(testbed_root_tarball) || return 1
	_mt_root=$work/testbed-root
	remove_root "$_mt_root"
	overlay_root "$_mt_tarball" "$_mt_root"
	rm -rf "$1"
	mkdir -p "$1"
	ssh-keygen -q -t ed25519 -N '' -C lkm-stack-testbed -f "$1/id" >&2 ||
		return 1
	install -d -m 700 "$_mt_root/root/.ssh"
	install -m 600 "$1/id.pub" "$_mt_root/root/.ssh/authorized_keys"
	mkdir -p "$_mt_root/lkm-test"
	cp "$LKM_STACK_TOP/tests/repo/guest/testbed-init" "$_mt_root/lkm-test/"
	mv "$_mt_root/etc/apt/sources.list.d/debian.sources" "$1/"
	_mt_kver=
	for _mt_vmlinuz in "$_mt_root"/boot/vmlinuz-*; do
		[ -z "$_mt_kver" ] || _mt_kver="$_mt_kver "
		_mt_kver="$_mt_kver${_mt_vmlinuz##*/vmlinuz-}"
	done
	case $_mt_kver in
	'' | *' '* | '*')
		echo "the testbed root's /boot has not one kernel: '$_mt_kver'" >&2
		return 1
		;;
	esac
	cp "$_mt_root/boot/vmlinuz-$_mt_kver" "$1/vmlinuz"
	cp "$_mt_root/boot/initrd.img-$_mt_kver" "$1/initrd.img"
	root_image "$_mt_root" "$1/testbed.img"
	remove_root "$_mt_root"
	echo "$_mt_kver"
}

# step7_autopkgtest_vm: autopkgtest's stacked-load in a machine-isolated
# testbed, as the header says; its exit status, summary and every check
# of the test's output judged.
step7_autopkgtest_vm() {
	_tb=$work/testbed
	if ! _tb_kver=$(make_testbed "$_tb" 2>"$work/testbed.err"); then
		fail "$release 7: the testbed image" \
			"the $release autopkgtest root as an image" \
			"$(tail -n 5 "$work/testbed.err")"
		return 0
	fi
	echo "testbed: $release, kernel $_tb_kver"
	mkdir -p "$logs"
	_tb_status=0
	timeout -k 10 1500 autopkgtest --test-name=stacked-load \
		--summary-file="$_tb/summary" --output-dir="$_tb/out" \
		"$tree/dist/$deb" "$work/src/lkm-stack-$version" -- \
		ssh -s "$LKM_STACK_TOP/tests/repo/autopkgtest-ssh-setup" \
		--timeout-ssh=600 -- "$_tb" >"$_tb/autopkgtest.out" 2>&1 ||
		_tb_status=$?
	# autopkgtest stops the guest through the script; a killed autopkgtest
	# does not.
	"$LKM_STACK_TOP/tests/repo/autopkgtest-ssh-setup" cleanup "$_tb"
	# Its whole log is the output directory's (on standard output it
	# prints the tests' output and the summary again).
	for _tb_log in out/log:log autopkgtest.out:out console.log:console; do
		cp "$_tb/${_tb_log%%:*}" \
			"$logs/$release-autopkgtest-qemu.${_tb_log#*:}" 2>/dev/null || true
	done
	_tb_summary=$(cat "$_tb/summary" 2>/dev/null || true)
	_tb_out=$(cat "$_tb/out/stacked-load-stdout" 2>/dev/null || true)
	expect_eq "$release 7: autopkgtest in a QEMU testbed exits 0 (every test passed)" \
		0 "$_tb_status"
	expect_match "$release 7: autopkgtest: stacked-load PASS" \
		'^stacked-load +PASS' "$_tb_summary"
	expect_match "$release 7: the testbed booted $_tb_kver, Debian's default kernel" \
		"^@@TESTBED ready: $(re "$_tb_kver")\$" \
		"$(tr -d '\r' <"$_tb/console.log" 2>/dev/null)"
	while IFS= read -r _tb_ok; do
		expect_match "$release 7: stacked-load: $_tb_ok" \
			"^ok: $(re "$_tb_ok")\$" "$_tb_out"
	done <<EOF
$(stacked_load_oks "$_tb_kver")
EOF
	rm -rf "$_tb"
}

clean_up() {
	[ -z "${work:-}" ] ||
		"$LKM_STACK_TOP/tests/repo/autopkgtest-ssh-setup" cleanup "$work/testbed"
	stop_agent "$key_home"
	stop_agent "$other_home"
	remove_root "$work"
}

main() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-repo.XXXXXX")
	tree=$work/tree
	tree_new=$work/tree-new
	repo=$tree/dist/repo
	repo_v1=$work/repo-$version
	tampered=$work/tampered-packages
	resigned=$work/tampered-key
	other_home=$work/other-gnupg
	root_dir=$work/root
	key_home=$tree/dist/repo-key
	# remove_root first unmounts what a killed chroot command left mounted.
	trap clean_up EXIT
	trap 'exit 1' HUP INT TERM

	section "repo: make repo, and its repositories from the user's side"
	timed repo "prepare (make repo, $new_version published)" prepare
	timed repo "0: on the host" step0_host
	timed repo "5: RPM signatures" step5_rpm
	for release in $LKM_STACK_REPO_RELEASES; do
		section "repo: $release"
		timed repo "$release: the root (cached)" prepare_root
		[ -n "$root_ready" ] || continue
		timed repo "$release 1: apt-get update" step1_update
		timed repo "$release 2: apt-get install by name" step2_install
		timed repo "$release 3: $new_version through apt-get upgrade" step3_upgrade
		timed repo "$release 4: tampered repositories" step4_tampered
		timed repo "$release 6: autopkgtest" step6_autopkgtest
		timed repo "$release 7: autopkgtest in QEMU" step7_autopkgtest_vm
	done
	timed repo "clean-up" clean_up

	[ "${LKM_STACK_SUITE:-}" ] || summary
}

[ -n "${LKM_STACK_JUDGE_ONLY:-}" ] || main
