#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# "make demo" end to end: run tests/demo/demo non-interactively and check
# each step of its transcript for the outcome the walkthrough promises,
# from the guest's own output rather than the demo's verdicts.
set -eu
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/../lib/kernels.sh"
. "$(dirname "$0")/../lib/scratch.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/lkm-stack-demo-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
transcript=$work/demo.txt
P='^root@vm:~# '

# step_text N: the transcript of step N, from its heading to the next.
step_text() {
	awk -v n="$1" '/^--- Step / { inside = ($3 == n ":") } inside' \
		"$transcript"
}

# explained N: the line after step N's heading explains it in words.
check_explained() {
	expect_match "demo step $1: one sentence of explanation" \
		'^[A-Za-z][^#]{20,}\.$' "$(step_text "$1" | sed -n 2p)"
}

check_step1() {
	text=$(step_text 1)
	expect_match "demo step 1: insmod core_lkm.ko typed" \
		"${P}insmod core_lkm\\.ko\$" "$text"
	expect_match "demo step 1: lsmod shows core_lkm used by 0" \
		'^core_lkm +[0-9]+ +0 *$' "$text"
}

check_step2() {
	text=$(step_text 2)
	expect_match "demo step 2: insmod client_lkm.ko typed" \
		"${P}insmod client_lkm\\.ko\$" "$text"
	expect_match "demo step 2: lsmod shows client_lkm used by 0" \
		'^client_lkm +[0-9]+ +0 *$' "$text"
	expect_match "demo step 2: lsmod shows core_lkm used by 1 client_lkm" \
		'^core_lkm +[0-9]+ +1 client_lkm *$' "$text"
	core=$(printf '%s\n' "$text" |
		sed -n 's/.*core_lkm: loaded: \(exp_int=200 skey=0x[0-9a-f]*\)$/\1/p')
	expect_match "demo step 2: core_lkm logged its values" \
		'^exp_int=200 skey=0x' "$core"
	expect_match "demo step 2: client_lkm logged the same values" \
		"client_lkm: loaded: $core\$" "$text"
}

check_step3() {
	expect_match "demo step 3: rmmod core_lkm refused, in use by client_lkm" \
		'rmmod: ERROR: Module core_lkm is in use by: client_lkm' \
		"$(step_text 3)"
}

check_step4() {
	text=$(step_text 4)
	expect_eq "demo step 4: rmmod client_lkm, then rmmod core_lkm, then lsmod" \
		"rmmod client_lkm|rmmod core_lkm|lsmod | grep lkm" \
		"$(printf '%s\n' "$text" | sed -n "s/${P}//p" | paste -sd'|' -)"
	expect_no_match "demo step 4: no errors, nothing left loaded" \
		'ERROR|^(core|client)_lkm ' "$text"
}

check_step5() {
	text=$(step_text 5)
	expect_match "demo step 5: insmod client_lkm.ko alone: Unknown symbol in module" \
		'insmod: ERROR: could not insert module client_lkm\.ko: Unknown symbol in module' \
		"$text"
	for sym in exp_int get_skey; do
		expect_match "demo step 5: kernel log: Unknown symbol $sym (err -2)" \
			"client_lkm: Unknown symbol $sym \\(err -2\\)" "$text"
	done
}

check_step6() {
	text=$(step_text 6)
	expect_match "demo step 6: depmod typed" "${P}depmod\$" "$text"
	expect_match "demo step 6: modprobe client_lkm brings core_lkm in" \
		'^core_lkm +[0-9]+ +1 client_lkm *$' "$text"
	expect_no_match "demo step 6: after modprobe -r neither module is listed" \
		'^(core|client)_lkm ' \
		"$(printf '%s\n' "$text" | sed -n '/modprobe -r client_lkm$/,$p')"
}

# check_broken_step_named: in a copy of the tree whose client_lkm
# presents the wrong magic (so core_lkm refuses it the key), the demo
# must fail and name step 2, where the client's values are shown.
check_broken_step_named() {
	scratch_tree "$work/broken"
	cp -R "$LKM_STACK_TOP/tests" "$work/broken/"
	sed -i 's/^static int magic = LKM_STACK_MAGIC;$/static int magic;/' \
		"$work/broken/src/client/client_lkm.c"
	# Its module build goes to a cache of its own, so it does not evict
	# the good one; the kernel image is shared.
	mkdir -p "$work/cache"
	ln -s "$LKM_STACK_CACHE/kernels" "$work/cache/kernels"
	if out=$(LKM_STACK_CACHE=$work/cache DEMO_TRANSCRIPT=$work/broken.txt \
		"$work/broken/tests/demo/demo" </dev/null 2>&1); then
		status=0
	else
		status=$?
	fi
	expect_eq "demo: a step whose outcome is missing makes it fail" \
		"status 1, naming step 2" \
		"status $status, $(printf '%s\n' "$out" |
			sed -n 's/^Expected outcome not seen in step(s): *\(.*\)/naming step \1/p')"
}

section "demo: make demo's walkthrough in a VM"
start=$(date +%s)
if out=$(DEMO_TRANSCRIPT=$transcript "$LKM_STACK_TOP/tests/demo/demo" \
	</dev/null 2>&1); then
	pass "demo: make demo (tests/demo/demo) exits 0"
else
	fail "demo: make demo (tests/demo/demo) exits 0" "status 0" "status $?: $out"
fi
echo "(the demo took $(($(date +%s) - start)) s)"
if [ ! -s "$transcript" ]; then
	fail "demo: transcript written" "a transcript in $transcript" "none"
else
	for n in 1 2 3 4 5 6; do
		check_explained "$n"
		"check_step$n"
	done
	expect_match "demo: the demo's own verdict is that every step was seen" \
		'^Every step showed the expected outcome\.$' "$(cat "$transcript")"
fi
check_broken_step_named

[ "${LKM_STACK_SUITE:-}" ] || summary
