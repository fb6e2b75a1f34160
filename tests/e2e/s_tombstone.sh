#!/bin/bash
# A node cut off longer than the tombstone grace period while its peers
# delete keys: on its return it is behind the owner's garbage collection,
# is reset, and ends with the owner's state (the deleted keys gone on it).
. "$(dirname "$0")/lib.sh"
N=8
X=$N		# the node cut off
O=1		# the owner of the deleted keys
P=4		# a second owner
MFD_GRACE=3s
MFD_S=3
e2e_init
net_up $N
nodes_start $N
wait_for 60 "every node sees $N live" check live all all
for k in 1 2 3 4 5 6; do
	ctl $O set "d/$k" "v$k" >/dev/null || fail "set on n$O"
	ctl $P set "p/$k" "w$k" >/dev/null || fail "set on n$P"
done
wait_for 30 "n$O's keys reached all" check key all $O d/6 v6
wait_for 30 "n$P's keys reached all" check key all $P p/6 w6
resets0=$(metric $X gossip_resets_applied_total)
isolate $X
t_cut=$SECONDS
say "n$X cut off"
for k in 1 2 3 4; do ctl $O del "d/$k" >/dev/null || fail "del on n$O"; done
for k in 1 2; do ctl $P del "p/$k" >/dev/null || fail "del on n$P"; done
ctl $O set after 1 >/dev/null || fail "set after"
say "n$O deleted d/1..d/4, n$P deleted p/1 p/2 while n$X is away"
wait_for 30 "the deletions reached the others" check key 1-$((N - 1)) $O d/4 -
# past the grace period everywhere: the tombstones are purged
wait_for 30 "tombstones purged on every connected node" check gced 1-$((N - 1)) $O d/1 d/2 d/3 d/4
wait_for 30 "n$P's tombstones purged too" check gced 1-$((N - 1)) $P p/1 p/2
check key $X $O d/1 v1 >/dev/null || fail "n$X learned the deletion while cut off"
while [ $((SECONDS - t_cut)) -lt $((2 * MFD_S + 1)) ]; do sleep 0.2; done
faults_clear $X
say "n$X back after $((SECONDS - t_cut)) s (grace $MFD_GRACE)"
wait_for 60 "all $N live again everywhere" check live all all
wait_for 30 "the deleted keys are gone on n$X" check gced $X $O d/1 d/2 d/3 d/4
wait_for 30 "n$P's deleted keys are gone on n$X" check gced $X $P p/1 p/2
wait_for 30 "n$X holds n$O's new key" check key $X $O after 1
wait_for 30 "n$X's view equals every owner's state" check equal all
r=$(metric $X gossip_resets_applied_total)
[ "$r" -gt "$resets0" ] || fail "n$X applied no reset (resets_applied_total $resets0 -> $r)"
say "n$X applied $((r - resets0)) reset(s)"
pass
