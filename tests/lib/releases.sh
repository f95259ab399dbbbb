# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# Debian releases the project is tested on, each looked up with an apt
# state of its own under $LKM_STACK_CACHE/apt/<release>/, so that this
# machine's own apt sources are never changed and the look-ups work the
# same on a Debian 12 and a Debian 13 host.  Needs tests/lib/kernels.sh
# (LKM_STACK_CACHE).
#
#   release_apt RELEASE apt-cache|apt-get ARG...

# The releases, oldest first.
# shellcheck disable=SC2034 # read by the scripts that source this file
RELEASES="bookworm trixie sid"

# release_suites RELEASE: the suites apt reads for RELEASE: the release
# and its security updates (sid has none).
release_suites() {
	case $1 in
	bookworm) echo "bookworm bookworm-updates" ;;
	trixie | sid) echo "$1" ;;
	*) echo "release_suites: unknown release $1" >&2; return 1 ;;
	esac
}

# release_host_uri SUITE-SUFFIX: the archive URI this host's apt uses for
# bookworm ("") or bookworm-security ("-security"), or Debian's own.
release_host_uri() {
	# shellcheck disable=SC2016 # apt's format fields, not the shell's
	_uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' \
		'Created-By: Packages' 2>/dev/null |
		awk -v suite="bookworm$1" '$2 == suite { print $1; exit }')
	if [ -z "$_uri" ]; then
		case $1 in
		-security) _uri=http://deb.debian.org/debian-security/ ;;
		*) _uri=http://deb.debian.org/debian/ ;;
		esac
	fi
	echo "$_uri"
}

# release_sources RELEASE: deb822 apt sources for RELEASE.
release_sources() {
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
		"$(release_host_uri '')" "$(release_suites "$1")" \
		/usr/share/keyrings/debian-archive-keyring.gpg
	[ "$1" = sid ] && return 0
	printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
		"$(release_host_uri -security)" "$1" \
		/usr/share/keyrings/debian-archive-keyring.gpg
}

# release_apt RELEASE TOOL ARG...: run apt-cache or apt-get with
# RELEASE's own sources, lists and caches, on this host's architecture.
release_apt() {
	_release=$1 _tool=$2
	shift 2
	_state=$LKM_STACK_CACHE/apt/$_release
	set -- -o "Dir::State::Lists=$_state/lists" \
		-o "Dir::Etc::sourcelist=/dev/null" \
		-o "Dir::Etc::sourceparts=$_state/sources.list.d" \
		-o "Dir::Cache=$_state/cache" \
		-o "Dir::State::status=$_state/status" \
		-o "Dir::Etc::preferencesparts=$_state/preferences.d" \
		-o "APT::Get::List-Cleanup=true" "$@"
	# sid's Release file often outlives its Valid-Until date between two
	# publications of the archive this machine reaches; sid alone is
	# allowed that (a stale stable release would be an error).
	[ "$_release" != sid ] || set -- -o Acquire::Check-Valid-Until=false "$@"
	"$_tool" "$@"
}

# release_update RELEASE: fetch RELEASE's package lists into its own
# state, at most once every 6 hours (a stamp file says when), and again
# whenever this host's apt has updated its lists since: its own
# release's kernels must be the same in both.
release_update() {
	_state=$LKM_STACK_CACHE/apt/$1
	_stamp=$_state/updated
	if [ -f "$_stamp" ] &&
		[ -n "$(find "$_stamp" -mmin -360 -newer /var/lib/apt/lists \
			2>/dev/null)" ]; then
		return 0
	fi
	mkdir -p "$_state/lists/partial" "$_state/sources.list.d" \
		"$_state/cache/archives/partial" "$_state/preferences.d"
	: >"$_state/status"
	release_sources "$1" >"$_state/sources.list.d/debian.sources"
	echo "updating the package lists of $1 (apt state $_state) ..." >&2
	if ! release_apt "$1" apt-get -q update >"$_state/update.log" 2>&1; then
		cat "$_state/update.log" >&2
		echo "error: apt-get update for $1 failed" >&2
		return 1
	fi
	touch "$_stamp"
}

# release_kernel_pattern RELEASE: an extended regex for the releases of
# RELEASE's kernels, without the flavour.
release_kernel_pattern() {
	case $1 in
	bookworm) echo '(6\.1\.0-[0-9]+|6\.12\.[0-9]+\+deb12)' ;;
	trixie) echo '6\.12\.[0-9]+\+deb13' ;;
	sid) echo '[0-9]+\.[0-9]+(\.[0-9]+)?\+deb14' ;;
	*) echo "release_kernel_pattern: unknown release $1" >&2; return 1 ;;
	esac
}

# release_kernels RELEASE FLAVOUR: every kernel release of RELEASE in
# FLAVOUR (amd64, cloud-amd64, rt-amd64) that has headers and the image
# users install, linux-image-KVER (signed where the release has an
# unsigned one too, which the archive publishes later: newest_kernel in
# tests/lib/kernels.sh says why such a kernel is left out), oldest first.
release_kernels() {
	release_update "$1" || return 1
	_pattern=$(release_kernel_pattern "$1") || return 1
	release_apt "$1" apt-cache pkgnames linux- |
		sed -En "s/^linux-(headers|image)-($_pattern-$2)\$/\\1 \\2/p" |
		sort -u | awk '{ n[$2]++ } END { for (k in n) if (n[k] == 2) print k }' |
		sort -V
}

# release_image_package RELEASE KVER: the package holding KVER's kernel
# image: linux-image-KVER-unsigned where RELEASE has it, else
# linux-image-KVER.
release_image_package() {
	if release_apt "$1" apt-cache show "linux-image-$2-unsigned" \
		>/dev/null 2>&1; then
		echo "linux-image-$2-unsigned"
	else
		echo "linux-image-$2"
	fi
}

# release_image_packages RELEASE KVER: the packages that together hold
# KVER's image (the kernel, its configuration and its modules), one a
# line: release_image_package, and what it depends on of KVER's own (sid's
# linux-image-KVER holds nothing itself: it depends on linux-binary-KVER,
# linux-modules-KVER and linux-base-KVER).
release_image_packages() {
	_rip=$(release_image_package "$1" "$2")
	while :; do
		# shellcheck disable=SC2086 # a list of package names
		_rip_more=$({ printf '%s\n' $_rip
			release_apt "$1" apt-cache depends --no-recommends \
				--no-suggests --no-conflicts --no-breaks --no-replaces \
				--no-enhances $_rip 2>/dev/null |
				sed -n 's/^ *|\{0,1\}Depends: \([^<>]*\)$/\1/p' |
				grep -F -- "-$2" | grep -v '^linux-headers-'
		} | sort -u)
		[ "$_rip_more" != "$_rip" ] || break
		_rip=$_rip_more
	done
	printf '%s\n' "$_rip"
}

# release_matrix RELEASE: the test matrix of RELEASE, one kernel release
# a line: the newest kernel of each of its series (6.1 and 6.12 on
# bookworm, 6.12 on trixie, sid's 7.x) in each flavour.
release_matrix() {
	for _flavour in amd64 cloud-amd64 rt-amd64; do
		_kernels=$(release_kernels "$1" "$_flavour") || return 1
		if [ -z "$_kernels" ]; then
			echo "error: $1 has no $_flavour kernel with image and headers" >&2
			return 1
		fi
		printf '%s\n' "$_kernels" |
			awk '{ s = $0; sub(/^[0-9]+\.[0-9]+/, "", s)
				series = substr($0, 1, length($0) - length(s))
				newest[series] = $0 }
				END { for (k in newest) print newest[k] }' | sort -V
	done
}
