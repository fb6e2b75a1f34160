#!/bin/bash
# A partition into two halves, longer than death detection: each side marks
# the other dead. Heal: all live again, and keys written on both sides
# during the partition are everywhere.
. "$(dirname "$0")/lib.sh"
N=20
H=$((N / 2))
A="1-$H"
B="$((H + 1))-$N"
e2e_init
net_up $N
nodes_start $N
wait_for 60 "every node sees $N live" check live all all
ctl 2 set before a >/dev/null && ctl 15 set before b >/dev/null || fail "set before"
wait_for 30 "keys written before the partition everywhere" check key all 15 before b
for i in $(seq 1 $H); do cut_from $i $(seq $((H + 1)) $N) || fail "nft on host $i"; done
for i in $(seq $((H + 1)) $N); do cut_from $i $(seq 1 $H) || fail "nft on host $i"; done
say "partitioned: $A | $B"
wait_for 60 "side A marks all of B dead" check dead "$A" "$B"
wait_for 60 "side B marks all of A dead" check dead "$B" "$A"
wait_for 10 "side A's live set is A" check live "$A" "$A"
wait_for 10 "side B's live set is B" check live "$B" "$B"
# writes on both sides while partitioned, including overwrites
ctl 2 set before a2 >/dev/null && ctl 3 set during-a x >/dev/null || fail "set on A"
ctl 15 set before b2 >/dev/null && ctl 18 set during-b y >/dev/null || fail "set on B"
wait_for 30 "A's writes reached A" check key "$A" 3 during-a x
wait_for 30 "B's writes reached B" check key "$B" 18 during-b y
check key "$B" 3 during-a - >/dev/null || fail "A's write crossed the partition"
for i in $(seq 1 $N); do faults_clear $i; done
say "healed"
wait_for 60 "all $N live again everywhere" check live all all
wait_for 30 "n3's during-a everywhere" check key all 3 during-a x
wait_for 30 "n18's during-b everywhere" check key all 18 during-b y
wait_for 30 "n2's overwrite everywhere" check key all 2 before a2
wait_for 30 "n15's overwrite everywhere" check key all 15 before b2
wait_for 30 "every view equal" check equal all
pass
