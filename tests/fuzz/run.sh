#!/bin/sh
# Runs the libFuzzer targets of BUILD (make fuzz builds them into
# build/fuzz): each first replays its regression inputs
# (tests/fuzz/regressions/TARGET/*, crashes found once and fixed), then
# fuzzes from its seed corpus for SECONDS. Prints one line per target and a
# closing "fuzz: N passed, N failed" (tests/run.sh adds it to its counts),
# or "fuzz: skipped: REASON" when the targets are not built.
#   usage: sh tests/fuzz/run.sh BUILD SECONDS [TARGET...]
set -u
build=${1:?usage: run.sh BUILD SECONDS [TARGET...]}
seconds=${2:?usage: run.sh BUILD SECONDS [TARGET...]}
shift 2
here=$(dirname "$0")
targets=${*:-fuzz_decode fuzz_apply fuzz_ctl_line fuzz_catchup}
passed=0; failed=0
for t in $targets; do
	if [ ! -x "$build/$t" ]; then
		echo "fuzz: skipped: $build/$t not built (make fuzz-build; needs clang and its fuzzer runtime)"
		exit 0
	fi
done
sh "$here/seeds.sh" "$build/corpus" || { echo "fuzz: 0 passed, 1 failed"; exit 1; }
for t in $targets; do
	corpus=$build/corpus/$t
	log=$build/$t.log
	mkdir -p "$build/artifacts/$t"
	ok=1
	regs=$(ls "$here/regressions/$t/"* 2>/dev/null || true)
	if [ -n "$regs" ]; then
		# shellcheck disable=SC2086
		if ! "$build/$t" $regs >"$log.regressions" 2>&1; then
			echo "fuzz: $t: a regression input fails again (see $log.regressions)" >&2
			ok=0
		fi
	fi
	if [ $ok -eq 1 ]; then
		"$build/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" \
		    "$corpus" >"$log" 2>&1 || ok=0
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -n 1)
	if [ $ok -eq 1 ]; then
		passed=$((passed + 1))
		echo "fuzz: $t: ok, ${runs:-0} executions in ${seconds}s"
	else
		failed=$((failed + 1))
		echo "fuzz: $t: FAILED (log $log, inputs in $build/artifacts/$t/)"
		tail -n 30 "$log" >&2
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
