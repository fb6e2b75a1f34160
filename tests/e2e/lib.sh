# tests/e2e/lib.sh: the harness of the real-network fault tests, sourced by
# every tests/e2e/s_*.sh scenario (bash). See docs/TESTING.md.
#
# Network: one switch namespace "$TAG-sw" holding bridge br0, and N host
# namespaces "$TAG-hI", each with lo up and eth0, one end of a veth pair
# whose other end (pI) is a port of br0. Addresses are 10.213.0.(10+I)/24,
# a subnet that exists only inside these namespaces (no route out, the
# host's own interfaces are never touched). TAG is cce2e<pid>: unique per
# run, and the prefix by which a later run recognises and removes what a
# killed run left behind (e2e_preclean).
#
# Daemons: one build/chitchatd per host namespace, node id nI, gossip on
# 10.213.0.(10+I):7280, control socket $WORK/nI.sock (Unix sockets live in
# the file system, so chitchatctl runs from the caller's namespace), log
# $WORK/nI.log. Faults are nftables rules in the hosts' table "inet e2e".
#
# Everything is torn down by e2e_teardown, installed as EXIT/INT/TERM trap
# by e2e_init: daemons and helpers killed by pid, namespaces deleted (with
# them the veths and the bridge), $WORK removed (kept when E2E_KEEP=1).

set -u

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${E2E_BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$E2E_DIR/../../$BUILD" ;; esac
CHITCHATD="$BUILD/chitchatd"
CHITCHATCTL="$BUILD/chitchatctl"
HOSTILE="$BUILD/tests/e2e/hostile"
CHECKPY="$E2E_DIR/check.py"

TAG="cce2e$$"
SUBNET=10.213.0
PORT=7280
SCEN=${SCEN:-$(basename "$0" .sh)}
SCEN=${SCEN#s_}
CLUSTER="e2e-$TAG"

# Test timing (docs/TESTING.md): fast gossip, phi 8, a short prior interval.
GOSSIP=${E2E_GOSSIP:-200ms}
PHI=8
INITIAL=500ms
DEAD_GRACE=60s
MFD_GRACE=1h

declare -a NODE_PID NODE_GEN
declare -a BG_PIDS=()
NHOSTS=0
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
T_START=$(now_ms)
elapsed() { local d=$(($(now_ms) - T_START)); printf '%d.%d' $((d / 1000)) $((d % 1000 / 100)); }
say() { printf '  [%s %6ss] %s\n' "$SCEN" "$(elapsed)" "$*"; }

fail() {
	say "FAIL: $*"
	echo "FAIL $SCEN: $*"
	exit 1
}

ip_of() { echo "$SUBNET.$((10 + $1))"; }
ns_of() { echo "$TAG-h$1"; }

# Remove namespaces and temp dirs of earlier runs whose process is gone.
e2e_preclean() {
	local ns pid p
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^cce2e[0-9]+-' || true); do
		pid=${ns#cce2e}; pid=${pid%%-*}
		if [ "$pid" != "$$" ] && ! kill -0 "$pid" 2>/dev/null; then
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			ip netns del "$ns" 2>/dev/null
		fi
	done
	for p in /tmp/cce2e.*; do
		[ -d "$p" ] || continue
		pid=${p#/tmp/cce2e.}; pid=${pid%%.*}
		kill -0 "$pid" 2>/dev/null || rm -rf "$p"
	done
}

e2e_teardown() {
	local rc=$? i p ns
	trap - EXIT INT TERM
	exec 2>/dev/null	# no "Killed" job notices
	for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for i in "${!NODE_PID[@]}"; do
		[ -n "${NODE_PID[$i]}" ] && kill -9 "${NODE_PID[$i]}" 2>/dev/null
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$TAG-" || true); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$rc" -ne 0 ] && [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		# the last lines of each daemon's log help with a failure
		for p in "$WORK"/n*.log; do
			[ -s "$p" ] || continue
			grep -E 'error|warn' "$p" | tail -n 3 | sed "s|^|  [$SCEN] $(basename "$p"): |"
		done
	fi
	if [ "${E2E_KEEP:-0}" = 1 ] && [ -n "${WORK:-}" ]; then
		echo "  [$SCEN] kept $WORK"
	elif [ -n "${WORK:-}" ]; then
		rm -rf "$WORK"
	fi
	exit "$rc"
}

e2e_init() {
	[ "$(id -u)" -eq 0 ] || { echo "SKIP $SCEN: needs root"; exit 77; }
	for f in "$CHITCHATD" "$CHITCHATCTL"; do
		[ -x "$f" ] || { echo "FAIL $SCEN: $f missing (make)"; exit 1; }
	done
	e2e_preclean
	WORK=$(mktemp -d "/tmp/cce2e.$$.XXXXXX")
	mkdir -p "$WORK/snap"
	trap e2e_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# net_up N: the switch and N hosts.
net_up() {
	local n=$1 i sw="$TAG-sw"
	ip netns add "$sw" || fail "ip netns add $sw"
	ip -n "$sw" link set lo up
	ip -n "$sw" link add br0 type bridge || fail "bridge"
	ip -n "$sw" link set br0 up
	for i in $(seq 1 "$n"); do host_add "$i"; done
}

host_add() {
	local i=$1 ns sw="$TAG-sw"
	ns=$(ns_of "$i")
	ip netns add "$ns" || fail "ip netns add $ns"
	ip -n "$sw" link add "p$i" type veth peer name eth0 netns "$ns" || fail "veth p$i"
	ip -n "$sw" link set "p$i" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$(ip_of "$i")/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip netns exec "$ns" nft -f - <<-EOF || fail "nft table in $ns"
	table inet e2e {
		chain input { type filter hook input priority 0; policy accept; }
		chain output { type filter hook output priority 0; policy accept; }
	}
	EOF
	[ "$i" -gt "$NHOSTS" ] && NHOSTS=$i
}

# nft inside host I.
hnft() { local i=$1; shift; ip netns exec "$(ns_of "$i")" nft "$@"; }

# node_start I [GENERATION [extra chitchatd args...]]
node_start() {
	local i=$1 gen s
	gen=${2:-$((1000 + $1))}
	shift; [ $# -gt 0 ] && shift
	local seeds=()
	for s in 1 2 3; do [ "$s" -ne "$i" ] && seeds+=(--seed "$(ip_of "$s"):$PORT"); done
	rm -f "$WORK/n$i.sock"
	ip netns exec "$(ns_of "$i")" "$CHITCHATD" --node-id "n$i" --cluster-id "$CLUSTER" \
		--listen "$(ip_of "$i"):$PORT" "${seeds[@]}" \
		--gossip-interval "$GOSSIP" --phi-threshold "$PHI" --initial-interval "$INITIAL" \
		--dead-node-grace-period "$DEAD_GRACE" \
		--marked-for-deletion-grace-period "$MFD_GRACE" \
		--generation "$gen" --control-socket "$WORK/n$i.sock" --log-level info "$@" \
		>>"$WORK/n$i.log" 2>&1 &
	NODE_PID[$i]=$!
	NODE_GEN[$i]=$gen
	# bounded wait for the control socket
	local deadline=$((SECONDS + 10))
	until [ -S "$WORK/n$i.sock" ]; do
		kill -0 "${NODE_PID[$i]}" 2>/dev/null || { tail -n 5 "$WORK/n$i.log"; fail "n$i exited at start"; }
		[ $SECONDS -ge $deadline ] && fail "n$i: no control socket after 10 s"
		sleep 0.05
	done
}

# node_kill I [SIGNAL]: kill and reap; KILL by default.
node_kill() {
	local i=$1 sig=${2:-KILL} pid=${NODE_PID[$1]} rc
	exec 3>&2 2>/dev/null	# no "Killed" job notice
	kill "-$sig" "$pid"
	local deadline=$((SECONDS + 10))
	# until it is a zombie (or gone), at most 10 s; then reap it
	while [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
		[ $SECONDS -ge $deadline ] && { kill -9 "$pid"; break; }
		sleep 0.05
	done
	wait "$pid"; rc=$?
	exec 2>&3 3>&-
	NODE_PID[$i]=""
	if [ "$sig" = TERM ] && [ "$rc" -ne 0 ]; then
		tail -n 5 "$WORK/n$i.log"
		fail "n$i exited with status $rc at SIGTERM"
	fi
}

nodes_start() { local i; for i in $(seq 1 "$1"); do node_start "$i"; done; }

# The live nodes (those with a running daemon), as "1 2 3 ...".
live_nodes() {
	local i out=""
	for i in "${!NODE_PID[@]}"; do
		[ -n "${NODE_PID[$i]}" ] && out="$out $i"
	done
	echo $out
}

assert_running() {
	local i
	for i in $(live_nodes); do
		kill -0 "${NODE_PID[$i]}" 2>/dev/null || { tail -n 20 "$WORK/n$i.log"; fail "daemon n$i died"; }
	done
}

# ctl I ARGS...: chitchatctl --json against node I.
ctl() { local i=$1; shift; "$CHITCHATCTL" --socket "$WORK/n$i.sock" --json -t 5s "$@"; }

# snapshot: every running node's members --all and keys --all --deleted
# into $WORK/snap (one file each, rewritten), plus a nodes.txt index of
# "I node_id generation running" over every node ever started.
snapshot() {
	local i
	rm -f "$WORK"/snap/*
	for i in "${!NODE_GEN[@]}"; do
		if [ -n "${NODE_PID[$i]}" ]; then
			ctl "$i" members --all >"$WORK/snap/n$i.members" 2>"$WORK/snap/n$i.err"
			ctl "$i" keys --all --deleted >"$WORK/snap/n$i.keys" 2>>"$WORK/snap/n$i.err"
			echo "$i n$i ${NODE_GEN[$i]} 1" >>"$WORK/snap/nodes.txt"
		else
			echo "$i n$i ${NODE_GEN[$i]} 0" >>"$WORK/snap/nodes.txt"
		fi
	done
}

# check MODE ARGS...: snapshot the running nodes and evaluate MODE (check.py).
check() { snapshot; python3 "$CHECKPY" "$WORK/snap" "$@"; }

# wait_for SECONDS WHAT CMD...: run CMD every 0.5 s until it succeeds; on
# timeout, print its last output and fail naming WHAT. Exit status 2 of CMD
# (usage error, a bug of check.py) fails at once.
wait_for() {
	local limit=$1 what=$2 t0=$SECONDS out rc
	shift 2
	while :; do
		assert_running
		out=$("$@" 2>&1); rc=$?
		if [ $rc -eq 0 ]; then
			say "ok: $what ($((SECONDS - t0)) s)"
			return 0
		fi
		if [ $rc -eq 2 ] || [ $((SECONDS - t0)) -ge "$limit" ]; then
			printf '%s\n' "$out" | head -n 30 | sed "s|^|  [$SCEN]   last: |"
			[ $rc -eq 2 ] && fail "$what: check error"
			fail "timed out after $limit s: $what"
		fi
		sleep 0.5
	done
}

# metric I NAME: a counter's value on node I (0 when absent).
metric() {
	"$CHITCHATCTL" --socket "$WORK/n$1.sock" -t 5s metrics 2>/dev/null |
		awk -v m="chitchatd_$2" '$1 == m { v = $2 } END { print v + 0 }'
}

# Faults, as nftables rules in the host's table.
loss_on() {	# loss_on I PERCENT: drop PERCENT % of gossip datagrams arriving at I
	hnft "$1" add rule inet e2e input udp dport $PORT numgen random mod 100 "<" "$2" counter drop
}
cut_from() {	# cut_from I J...: I drops everything from the hosts J...
	local i=$1 j set=""; shift
	for j in "$@"; do set="$set${set:+, }$(ip_of "$j")"; done
	hnft "$i" add rule inet e2e input ip saddr "{ $set }" drop
}
isolate() {	# isolate I: I neither receives nor sends gossip
	hnft "$1" add rule inet e2e input udp dport $PORT drop
	hnft "$1" add rule inet e2e output udp dport $PORT drop
}
faults_clear() {	# faults_clear I...: remove every rule
	local i
	for i in "$@"; do
		hnft "$i" flush chain inet e2e input
		hnft "$i" flush chain inet e2e output
	done
}

netem_available() {
	ip netns exec "$(ns_of 1)" tc qdisc add dev eth0 root netem delay 1ms 2>/dev/null || return 1
	ip netns exec "$(ns_of 1)" tc qdisc del dev eth0 root 2>/dev/null
	return 0
}

pass() {
	assert_running
	say "PASS"
	echo "PASS $SCEN ($(elapsed) s)"
	exit 0
}
