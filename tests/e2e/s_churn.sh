#!/bin/bash
# Churn: 10 random restarts (SIGKILL or SIGTERM, then a new generation)
# while keys are being written on random nodes. Afterwards every view is
# equal: every node's replica of every running node's keys is that node's
# own state, no old generation is live, and every acknowledged write that
# was not lost with its generation is everywhere.
. "$(dirname "$0")/lib.sh"
N=20
RESTARTS=10
e2e_init
net_up $N
nodes_start $N
wait_for 60 "every node sees $N live" check live all all
OPS="$WORK/ops"
: >"$OPS"
(	# the writer: sequential writes to random nodes until told to stop
	seq=0
	while [ ! -e "$WORK/stop" ]; do
		i=$((RANDOM % N + 1)); seq=$((seq + 1))
		key="churn/$((seq % 7))"; value="$seq-n$i"
		t0=$(now_ms)
		if "$CHITCHATCTL" --socket "$WORK/n$i.sock" -t 2s set "$key" "$value" >/dev/null 2>&1; then
			echo "W $t0 $(now_ms) $i $key $value" >>"$OPS"
		fi
		sleep 0.02
	done
) &
writer=$!
BG_PIDS+=("$writer")
sleep 1
for r in $(seq 1 $RESTARTS); do
	i=$((RANDOM % N + 1))
	sig=KILL; [ $((r % 2)) -eq 0 ] && sig=TERM
	echo "K $(now_ms) $i" >>"$OPS"
	node_kill $i $sig
	node_start $i $((10000 + r * 100 + i))
	say "restart $r: n$i ($sig) -> generation ${NODE_GEN[$i]}"
	sleep 0.$((RANDOM % 9 + 1))
done
sleep 1
touch "$WORK/stop"
t0=$SECONDS
while kill -0 "$writer" 2>/dev/null; do
	[ $((SECONDS - t0)) -ge 15 ] && fail "the writer did not stop"
	sleep 0.1
done
say "$(grep -c '^W' "$OPS") writes acknowledged during the churn"
wait_for 90 "every node sees exactly the $N current generations live" check live all all
wait_for 60 "every view equal" check equal all
wait_for 30 "every surviving write everywhere" check writes all "$OPS"
pass
