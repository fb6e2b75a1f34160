#!/bin/bash
# tests/e2e/run.sh [BUILD_DIR] [SCENARIO...]: the real-network fault tests.
# Runs every tests/e2e/s_*.sh (or the named ones: "partition" runs
# s_partition.sh) against BUILD_DIR's chitchatd and chitchatctl (default
# build), one after the other, each in network namespaces of its own.
# Prints one PASS/FAIL/SKIP line per scenario (a failed scenario's whole
# log too) and, last, "e2e: N passed, N failed". When the machine cannot run
# them (not root, no network namespaces, no nft or python3) it prints one
# "e2e: skipped: <reason>" line and exits 0. E2E_VERBOSE=1 streams every
# scenario's log; E2E_KEEP=1 keeps the daemons' logs of each run.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
case "$build" in /*) ;; *) build="$(pwd)/$build" ;; esac
export E2E_BUILD="$build"
SCENARIO_TIMEOUT=${E2E_TIMEOUT:-300}

skip() { echo "e2e: skipped: $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null || skip "no ip (iproute2)"
command -v nft >/dev/null || skip "no nft (nftables)"
command -v python3 >/dev/null || skip "no python3"
probe="cce2eprobe$$"
ip netns add "$probe" 2>/dev/null || skip "cannot create a network namespace (ip netns add failed)"
if ! ip netns exec "$probe" nft add table inet probe 2>/dev/null; then
	ip netns del "$probe"
	skip "nftables does not work inside a network namespace"
fi
ip netns del "$probe"
for f in chitchatd chitchatctl tests/e2e/hostile; do
	[ -x "$build/$f" ] || { echo "e2e: $build/$f missing (make all tests)"; echo "e2e: 0 passed, 1 failed"; exit 1; }
done

if [ $# -gt 0 ]; then
	scenarios=()
	for s in "$@"; do scenarios+=("$dir/s_${s#s_}.sh"); done
else
	scenarios=("$dir"/s_*.sh)
fi
passed=0; failed=0; skipped=0
t0=$SECONDS
for s in "${scenarios[@]}"; do
	name=$(basename "$s" .sh); name=${name#s_}
	if [ ! -f "$s" ]; then
		echo "FAIL $name: no such scenario ($s)"; failed=$((failed + 1)); continue
	fi
	log=$(mktemp)
	ts=$SECONDS
	if [ "${E2E_VERBOSE:-0}" = 1 ]; then
		timeout -k 10 "$SCENARIO_TIMEOUT" bash "$s" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
	else
		timeout -k 10 "$SCENARIO_TIMEOUT" bash "$s" >"$log" 2>&1; rc=$?
	fi
	if [ $rc -eq 0 ] && grep -q "^PASS $name" "$log"; then
		passed=$((passed + 1))
		grep "^PASS $name" "$log"
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1))
		grep "^SKIP" "$log" || echo "SKIP $name"
	else
		failed=$((failed + 1))
		[ "${E2E_VERBOSE:-0}" = 1 ] || sed 's/^/    /' "$log"
		[ $rc -eq 124 ] && echo "FAIL $name: killed after $SCENARIO_TIMEOUT s"
		grep -q "^FAIL $name" "$log" || echo "FAIL $name (exit $rc, $((SECONDS - ts)) s)"
		[ "${E2E_VERBOSE:-0}" = 1 ] || grep "^FAIL $name" "$log"
	fi
	rm -f "$log"
done
echo "e2e: $((SECONDS - t0)) s, $skipped skipped"
echo "e2e: $passed passed, $failed failed"
[ $failed -eq 0 ]
