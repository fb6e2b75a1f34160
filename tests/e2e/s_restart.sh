#!/bin/bash
# kill -9, then a restart with a new generation: the old generation leaves
# every live set (and, after the dead-node grace period, every node), the
# new one joins, and its keys replace the old ones.
. "$(dirname "$0")/lib.sh"
N=20
DEAD_GRACE=6s
e2e_init
net_up $N
nodes_start $N
wait_for 60 "every node sees $N live" check live all all
ctl 7 set role old >/dev/null && ctl 7 set only-old 1 >/dev/null || fail "set on n7"
wait_for 30 "n7's keys reached all" check key all 7 only-old 1
old=${NODE_GEN[7]}
node_kill 7 KILL
say "n7 (generation $old) killed with SIGKILL"
node_start 7 $((old + 1000)) --set role=new --set only-new=1
say "n7 restarted as generation ${NODE_GEN[7]}"
wait_for 60 "every node sees the new n7 live and not the old one" check live all all
wait_for 30 "n7's role is 'new' everywhere" check key all 7 role new
wait_for 30 "n7's only-new everywhere" check key all 7 only-new 1
v=$("$CHITCHATCTL" --socket "$WORK/n1.sock" get role --node n7) || fail "get --node n7 on n1"
[ "$v" = new ] || fail "n1: chitchatctl get role --node n7 says $v"
# the new generation's keys are only its own
wait_for 10 "only-old is no key of the new n7" check key all 7 only-old -
wait_for 30 "the old generation left every live set" check notlive all 7 "$old"
wait_for 30 "the old generation is forgotten everywhere (grace $DEAD_GRACE)" check absent all 7 "$old"
wait_for 20 "every view equal" check equal all
pass
