#!/bin/sh
# Runs every test binary of the given build directories and prints one
# closing line "N passed, N failed" over all of them (Check counts each
# test case). Exits non-zero if any test failed or a binary crashed.
set -u
passed=0; failed=0; bad=0
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
done
failed=$((failed + bad))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
