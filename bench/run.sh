#!/bin/sh
# Runs the engine benchmark and records its output, with the context needed
# to compare runs, in bench/results/latest.md.
#
#   sh bench/run.sh [build-dir] [engine_bench options, e.g. --quick]
#
# The build directory defaults to "build" (binary: <build>/bench/engine_bench).
set -eu

build=${1:-build}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/bench/engine_bench
out=$here/results/latest.md

if [ ! -x "$bin" ]; then
	echo "run.sh: $bin not found; build it with: make $bin" >&2
	exit 1
fi

rev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null) || rev=uncommitted
if [ "$rev" != uncommitted ] && [ -n "$(git -C "$here/.." status --porcelain 2>/dev/null)" ]; then
	rev="$rev (uncommitted changes)"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu" ] || cpu=$(uname -p)

mkdir -p "$here/results"
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT INT TERM
{
	echo "# engine benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "- revision: $rev"
	echo "- system: $(uname -srm), $(nproc) CPUs, $cpu"
	echo "- command: $bin $*"
	echo
	"$bin" "$@"
} >"$tmp"
mv "$tmp" "$out"
trap - EXIT INT TERM
cat "$out"
