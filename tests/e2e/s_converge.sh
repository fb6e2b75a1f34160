#!/bin/bash
# 20 daemons converge; keys set on 5 of them reach all 20.
. "$(dirname "$0")/lib.sh"
N=20
e2e_init
net_up $N
nodes_start $N
say "$N daemons started"
wait_for 60 "every node sees $N live" check live all all
for i in 1 5 9 13 17; do
	ctl $i set "e2e/k$i" "v$i-$RANDOM" >/dev/null || fail "set on n$i"
done
for i in 1 5 9 13 17; do
	v=$("$CHITCHATCTL" --socket "$WORK/n$i.sock" get "e2e/k$i") || fail "get on n$i"
	wait_for 30 "n$i's e2e/k$i reached all $N" check key all $i "e2e/k$i" "$v"
done
# the same through chitchatctl's own reading of another node's key
v=$("$CHITCHATCTL" --socket "$WORK/n20.sock" get e2e/k5 --node n5) || fail "get --node on n20"
[ "$v" = "$(ctl 5 get e2e/k5 | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')" ] ||
	fail "n20 reads n5's e2e/k5 as $v"
wait_for 20 "every view equal" check equal all
pass
