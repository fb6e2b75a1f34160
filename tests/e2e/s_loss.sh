#!/bin/bash
# 30 % random loss of gossip datagrams into every host (nftables numgen):
# the cluster still converges, keys still propagate, a killed node is
# detected dead.
. "$(dirname "$0")/lib.sh"
N=20
LOSS=30
e2e_init
net_up $N
for i in $(seq 1 $N); do loss_on $i $LOSS || fail "nft loss rule on host $i"; done
say "$LOSS % loss on every host's gossip input"
nodes_start $N
wait_for 90 "every node sees $N live under loss" check live all all
for i in 2 11 19; do ctl $i set "lossy/k$i" "v$i" >/dev/null || fail "set on n$i"; done
for i in 2 11 19; do wait_for 60 "n$i's key reached all under loss" check key all $i "lossy/k$i" "v$i"; done
wait_for 60 "every view equal under loss" check equal all
# the rules really drop: the first host's counter of the drop rule moved
dropped=$(hnft 1 list chain inet e2e input | sed -n 's/.*packets \([0-9]*\).*/\1/p' | head -n 1)
[ "${dropped:-0}" -gt 0 ] || fail "host 1's loss rule dropped nothing"
say "host 1 dropped $dropped gossip datagrams so far"
node_kill $N KILL
say "n$N killed"
wait_for 60 "n$N detected dead by all others under loss" check dead 1-$((N - 1)) $N
wait_for 30 "the others still see each other live" check live all 1-$((N - 1))
# a second round of writes, after the death, still under loss
for i in 3 8 15; do ctl $i set "lossy/after" "a$i" >/dev/null || fail "set on n$i"; done
for i in 3 8 15; do wait_for 60 "n$i's second key reached all under loss" check key all $i lossy/after "a$i"; done
wait_for 30 "no false death: the 19 still live everywhere" check live all 1-$((N - 1))
pass
