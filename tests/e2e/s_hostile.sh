#!/bin/bash
# A hostile host on the network sends random and truncated datagrams and
# SYNs of another cluster at a high rate to every daemon: the cluster keeps
# converging (no false death, a new key still reaches everyone, a killed
# node is still detected), and every daemon counted the garbage.
. "$(dirname "$0")/lib.sh"
N=20
RATE=${E2E_HOSTILE_RATE:-5000}	# datagrams per second, over all daemons
DURATION=120			# at most: stopped once the checks are done
e2e_init
[ -x "$HOSTILE" ] || fail "$HOSTILE missing (make tests)"
net_up $N
host_add $((N + 1))		# the hostile host
nodes_start $N
wait_for 60 "every node sees $N live" check live all all
targets=()
for i in $(seq 1 $N); do targets+=("$(ip_of $i):$PORT"); done
ip netns exec "$(ns_of $((N + 1)))" "$HOSTILE" "$RATE" "$DURATION" "$CLUSTER" "${targets[@]}" \
	>"$WORK/hostile.out" 2>&1 &
hostile=$!
BG_PIDS+=("$hostile")
say "hostile host sending $RATE datagrams/s"
sleep 3
kill -0 $hostile 2>/dev/null || { cat "$WORK/hostile.out"; fail "the hostile sender stopped early"; }
for i in 4 16; do ctl $i set under-attack "yes-$i" >/dev/null || fail "set on n$i"; done
for i in 4 16; do wait_for 30 "n$i's new key reached all under attack" check key all $i under-attack "yes-$i"; done
wait_for 10 "all $N still live everywhere under attack" check live all all
node_kill 9 KILL
say "n9 killed under attack"
wait_for 60 "n9 detected dead by the others under attack" check dead all 9
node_start 9 $((NODE_GEN[9] + 1000))
wait_for 60 "n9's new generation joined under attack" check live all all
wait_for 30 "every view equal under attack" check equal all
bad=""
for i in $(seq 1 $N); do
	d=$(metric $i gossip_decode_errors_total)
	c=$(metric $i gossip_cluster_mismatches_total)
	[ "$d" -gt 0 ] && [ "$c" -gt 0 ] || bad="$bad n$i(decode $d, mismatch $c)"
	[ $i -eq 1 ] && say "n1 counted $d undecodable datagrams and $c SYNs of another cluster"
done
[ -z "$bad" ] || fail "garbage not counted on:$bad"
kill -0 $hostile 2>/dev/null || fail "the attack ended before the checks (raise DURATION)"
kill -TERM $hostile
wait "$hostile"
sed "s|^|  [$SCEN] |" "$WORK/hostile.out"
pass
