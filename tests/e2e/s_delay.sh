#!/bin/bash
# Delay, jitter and reordering from tc netem on every host (needs the
# sch_netem qdisc: skipped with the reason when the kernel lacks it): the
# cluster converges, keys propagate, a killed node is detected dead.
. "$(dirname "$0")/lib.sh"
N=20
e2e_init
net_up $N
if ! netem_available; then
	echo "SKIP $SCEN: tc netem is not available on this kernel (no sch_netem): delay and reordering untested"
	exit 77
fi
for i in $(seq 1 $N); do
	ip netns exec "$(ns_of $i)" tc qdisc add dev eth0 root netem delay 60ms 40ms reorder 25% 50% ||
		fail "netem on host $i"
done
say "netem: 60 ms +- 40 ms delay, 25 % reordered, on every host"
nodes_start $N
wait_for 90 "every node sees $N live with delay and reordering" check live all all
for i in 3 10 17; do ctl $i set "slow/k$i" "v$i" >/dev/null || fail "set on n$i"; done
for i in 3 10 17; do wait_for 60 "n$i's key reached all" check key all $i "slow/k$i" "v$i"; done
wait_for 60 "every view equal" check equal all
node_kill $N KILL
wait_for 60 "n$N detected dead by all others" check dead 1-$((N - 1)) $N
wait_for 30 "no false death among the others" check live all 1-$((N - 1))
pass
