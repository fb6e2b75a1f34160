#!/bin/sh
# Runs every benchmark and records the figures, with the context needed to
# compare runs, in bench/results/latest.md:
#
#   sh bench/run.sh [build-dir] [--quick] [engine_bench options]
#
#   engine   <build>/bench/engine_bench: simulator and per-handshake figures
#   rpc      <build>/bench/rpc_bench: the control socket of one daemon
#   cluster  bench/cluster.py: N chitchatd vs N Serf agents on loopback
#            (N = 10, 50, 100; 3 runs each), with the targets of
#            issue 6; Serf is left out if `serf` is not installed, byte
#            counts if nftables is not usable (needs root)
#   catchup  bench/catchup.py: time and gossip rounds for a new node to hold
#            a 4 MB state after a reset, with catch-up and with gossip alone
#            (3 runs each, about 20 s)
#
# --quick: engine --quick, rpc --quick, cluster N = 10 with one run and a 5 s
# idle window (about 30 s in all; the targets are then judged at N = 10). Each part has a time bound
# (timeout); a part that fails or overruns is reported as such and the others
# still run. The build directory defaults to "build".
set -u

build=${1:-build}
[ $# -gt 0 ] && shift
quick=""
if [ "${1:-}" = "--quick" ]; then quick=--quick; shift; fi
here=$(cd "$(dirname "$0")" && pwd)
out=$here/results/latest.md
py=/usr/bin/python3   # Debian's, for python3-msgpack
[ -x "$py" ] || py=python3

for b in engine_bench rpc_bench; do
	if [ ! -x "$build/bench/$b" ]; then
		echo "run.sh: $build/bench/$b not found; build it with: make $build/bench/$b" >&2
		exit 1
	fi
done

rev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null) || rev=uncommitted
if [ "$rev" != uncommitted ] && [ -n "$(git -C "$here/.." status --porcelain 2>/dev/null)" ]; then
	rev="$rev (uncommitted changes)"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu" ] || cpu=$(uname -p)
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)

mkdir -p "$here/results"
tmp=$(mktemp -d /tmp/ccbench-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -n "$quick" ]; then
	t_engine=300 t_rpc=120 t_cluster=600
	cluster_args="--sizes 10 --runs 1 --idle 5 --settle 1"
else
	t_engine=900 t_rpc=300 t_cluster=2400
	cluster_args="--sizes 10,50,100 --runs 3 --runs-large 3 --idle 20"
fi

start=$(date +%s)
part() { # name timeout command...: stdout to $tmp/name.md
	name=$1 limit=$2
	shift 2
	echo "run.sh: $name ($*), at most ${limit}s" >&2
	timeout -s TERM -k 10 "$limit" "$@" >"$tmp/$name.md"
	rc=$?
	if [ $rc -ne 0 ]; then
		printf '\n**%s: failed or timed out (exit %d)**; output so far above.\n' "$name" $rc >>"$tmp/$name.md"
	fi
}
# shellcheck disable=SC2086
part engine $t_engine "$build/bench/engine_bench" $quick "$@"
part rpc $t_rpc "$build/bench/rpc_bench" $quick --build "$build" --kv "$tmp/rpc.kv"
# shellcheck disable=SC2086
part cluster $t_cluster "$py" "$here/cluster.py" --build "$build" $cluster_args \
	--rpc-kv "$tmp/rpc.kv" --json "$here/results/cluster.json"
part catchup 180 "$py" "$here/catchup.py" --build "$build" --runs 3

{
	echo "# chitchatd benchmarks"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "- revision: $rev"
	echo "- system: $(uname -srm), $(nproc) CPUs, $cpu, $mem"
	echo "- command: sh bench/run.sh $build $quick $*"
	echo "- wall time: $(($(date +%s) - start)) s"
	echo
	cat "$tmp/cluster.md"
	echo
	cat "$tmp/catchup.md"
	echo
	cat "$tmp/rpc.md"
	echo
	cat "$tmp/engine.md"
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
