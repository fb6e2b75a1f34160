#!/bin/bash
# chitchatd's extensions on a real network, in a cluster where n8 runs with
# `--extensions none` (it acts as a node that does not know them, as a
# Rust peer would): a key set with --ttl expires on every node; n2's
# graceful leave is reported "left" by the extension nodes at once while n8
# keeps working; a killed node forced out with force-leave disappears from
# every extension node and stays out although n8 still gossips it.
. "$(dirname "$0")/lib.sh"
N=8
e2e_init
net_up $N
for i in $(seq 1 $((N - 1))); do node_start "$i"; done
node_start $N "" --extensions none
wait_for 60 "every node sees $N live" check live all all

# status of node J's member entry on node I ("" if absent)
status_on() {
	ctl "$1" members --all | python3 -c '
import json, sys
want = sys.argv[1]
data = json.load(sys.stdin)
for m in data["members"] if isinstance(data, dict) else data:
    if m["node_id"] == want:
        print(m["status"])' "n$2"
}

# status_is I J WANT: node J's status on node I is WANT ("": absent).
# wait_for needs a command that looks again at each try, not a value
# computed once when it is called.
status_is() { [ "$(status_on "$1" "$2")" = "$3" ]; }

# key expiry: set on n3 for 3 s, seen everywhere, then gone everywhere
"$CHITCHATCTL" --socket "$WORK/n3.sock" set ext/lease holder --ttl 3s >/dev/null || fail "set --ttl on n3"
wait_for 30 "n3's expiring key reached all" check key all 3 ext/lease holder
wait_for 30 "n3's key expired on every node" check key all 3 ext/lease -
[ "$(metric 3 keys_expired_total)" -eq 1 ] || fail "n3 counted no expiry"

# graceful leave of n2
"$CHITCHATCTL" --socket "$WORK/n2.sock" -t 10s leave >/dev/null || fail "leave on n2"
wait_gone=$((SECONDS + 10))
while kill -0 "${NODE_PID[2]}" 2>/dev/null; do
	[ $SECONDS -ge $wait_gone ] && fail "n2 did not exit after leave"
	sleep 0.1
done
wait "${NODE_PID[2]}"; rc=$?
[ $rc -eq 0 ] || fail "n2 exited $rc after leave"
NODE_PID[2]=""
say "n2 left and exited 0"
for i in 1 3 4 5 6 7; do
	wait_for 5 "n$i reports n2 left" status_is $i 2 left
done
wait_for 60 "n8 (no extensions) finds n2 dead by phi" check dead $N 2
ctl $N set ext/still-working yes >/dev/null || fail "set on n8"
wait_for 30 "n8 still shares keys" check key all $N ext/still-working yes

# force-leave of a killed node
node_kill 5 KILL
wait_for 60 "n5 detected dead" check dead all 5
ctl 1 force-leave n5 >/dev/null || fail "force-leave n5 on n1"
for i in 1 3 4 6 7; do
	wait_for 10 "n5 removed from n$i" status_is $i 5 ""
done
sleep 4	# 20 rounds: n8 still holds n5 and gossips it
for i in 1 3 4 6 7; do
	[ -z "$(status_on $i 5)" ] || fail "n5 came back on n$i"
done
[ -n "$(status_on $N 5)" ] || fail "n8 (no extensions) should still hold n5"
pass
