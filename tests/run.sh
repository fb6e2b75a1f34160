#!/bin/sh
# Runs every test binary of the given build directories and prints one
# closing line "N passed, N failed" over all of them (Check counts each
# test case). Exits non-zero if any test failed or a binary crashed.
# For the first build directory that is not a sanitizer build (*san*), it
# also runs the real-network fault tests once (tests/e2e/run.sh, which
# skips itself with a reason when the machine cannot run them; set
# CHITCHAT_E2E=0 to skip them) and adds each scenario to the counts; an e2e
# run without its closing "e2e: N passed, N failed" line counts as failed.
# The same first build directory also gets the fuzz smoke (tests/fuzz/run.sh:
# each libFuzzer target replays its regressions, then fuzzes for
# CHITCHAT_FUZZ_SECONDS, default 5) from CHITCHAT_FUZZ_BUILD (default
# DIR/fuzz, where make fuzz-build puts them); each target counts as one
# test. Targets not built are skipped with a reason; CHITCHAT_FUZZ=0 skips.
set -u
passed=0; failed=0; bad=0; e2e_done=0
e2e_dir=$(dirname "$0")/e2e
fuzz_dir=$(dirname "$0")/fuzz

run_fuzz() {
	if [ "${CHITCHAT_FUZZ:-1}" = 0 ]; then
		echo "fuzz: skipped: CHITCHAT_FUZZ=0" >&2
		return
	fi
	fz_out=$(mktemp)
	nice -n 10 sh "$fuzz_dir/run.sh" "${CHITCHAT_FUZZ_BUILD:-$1/fuzz}" \
	    "${CHITCHAT_FUZZ_SECONDS:-5}" >"$fz_out" 2>&1
	rc=$?
	cat "$fz_out" >&2
	line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' "$fz_out" | tail -n 1)
	skipped=$(grep -c '^fuzz: skipped: ' "$fz_out")
	rm -f "$fz_out"
	if [ -n "$line" ]; then
		n=$(echo "$line" | sed -E 's/^fuzz: ([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
		passed=$((passed + n)); failed=$((failed + f))
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && bad=$((bad + 1))
	elif [ "$skipped" -gt 0 ] && [ "$rc" -eq 0 ]; then
		:
	else
		echo "run: $fuzz_dir/run.sh: no fuzz summary (exit $rc)" >&2
		bad=$((bad + 1))
	fi
}

run_e2e() {
	if [ "${CHITCHAT_E2E:-1}" = 0 ]; then
		echo "e2e: skipped: CHITCHAT_E2E=0" >&2
		return
	fi
	e2e_out=$(mktemp); e2e_rc=$(mktemp)
	{ bash "$e2e_dir/run.sh" "$1" 2>&1; echo $? >"$e2e_rc"; } | tee "$e2e_out" >&2
	rc=$(cat "$e2e_rc"); rc=${rc:-1}
	rm -f "$e2e_rc"
	line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed$' "$e2e_out" | tail -n 1)
	skipped=$(grep -c '^e2e: skipped: ' "$e2e_out")
	rm -f "$e2e_out"
	if [ -n "$line" ]; then
		n=$(echo "$line" | sed -E 's/^e2e: ([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
		passed=$((passed + n)); failed=$((failed + f))
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && bad=$((bad + 1))
	elif [ "$skipped" -gt 0 ] && [ "$rc" -eq 0 ]; then
		:
	else
		echo "run: $e2e_dir/run.sh: no e2e summary (exit $rc)" >&2
		bad=$((bad + 1))
	fi
}

for dir in "$@"; do
	for t in "$dir"/tests/unit/check_* "$dir"/tests/sim/check_* "$dir"/tests/daemon/check_*; do
		[ -x "$t" ] || continue
		case "$t" in *.d|*.o) continue;; esac
		out=$(CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120} "$t" 2>&1); rc=$?
		printf '%s\n' "$out" | grep -v '^[^:]*:[0-9]*:P:' >&2
		line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
		if [ -z "$line" ]; then
			echo "run: $t: no Check summary (exit $rc)" >&2
			bad=$((bad + 1)); continue
		fi
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		passed=$((passed + n - f - e)); failed=$((failed + f + e))
		[ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ] && bad=$((bad + 1))
	done
	case "$dir" in
	*san*) ;;
	*) [ "$e2e_done" -eq 0 ] && { e2e_done=1; run_e2e "$dir"; run_fuzz "$dir"; } ;;
	esac
done
failed=$((failed + bad))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
