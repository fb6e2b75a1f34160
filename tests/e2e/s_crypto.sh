#!/bin/bash
# Gossip encryption on a real network: 10 daemons sealing every datagram
# with one keyring, under 20 % loss, converge and share keys; a plaintext
# host seeded with them never becomes a member anywhere (its datagrams are
# refused and counted); the key is rotated on every node while the cluster
# runs (install, use, remove) and the cluster stays whole; a killed node is
# still detected dead.
. "$(dirname "$0")/lib.sh"
N=10
e2e_init
net_up $((N + 1))
KEY1=$("$CHITCHATCTL" keygen) || fail "keygen"
for i in $(seq 1 $N); do
	(umask 077; printf '["%s"]\n' "$KEY1" >"$WORK/kr$i") || fail "keyring of n$i"
	loss_on $i 20 || fail "nft loss rule on host $i"
done
for i in $(seq 1 $N); do node_start "$i" "" --encryption on --keyring "$WORK/kr$i"; done
say "$N sealed daemons started, 20 % loss on each"
wait_for 90 "every node sees $N live, sealed" check live all all
for i in 2 7; do ctl $i set "sealed/k$i" "v$i" >/dev/null || fail "set on n$i"; done
for i in 2 7; do wait_for 60 "n$i's key reached all" check key all $i "sealed/k$i" "v$i"; done

# a host without the key, seeded with n1..n3: never a member
node_start $((N + 1))
say "plaintext n$((N + 1)) started"
sleep 5
check absent 1-$N $((N + 1)) "${NODE_GEN[$((N + 1))]}" || fail "the plaintext node got in"
check live $((N + 1)) $((N + 1)) || fail "the plaintext node learned members"
refused=0
for i in 1 2 3; do refused=$((refused + $(metric $i gossip_plaintext_refused_total))); done
[ "$refused" -gt 0 ] || fail "the seeds counted no refused plaintext datagram"
say "the seeds refused $refused plaintext datagrams"
node_kill $((N + 1)) KILL

# rotation with the cluster running: each step on every node before the next
KEY2=$("$CHITCHATCTL" keygen) || fail "keygen"
OLD_ID=$(ctl 1 keyring list | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["key_id"])')
for i in $(seq 1 $N); do ctl $i keyring install "$KEY2" >/dev/null || fail "install on n$i"; done
for i in $(seq 1 $N); do ctl $i keyring use "$KEY2" >/dev/null || fail "use on n$i"; done
for i in $(seq 1 $N); do ctl $i keyring remove "$OLD_ID" >/dev/null || fail "remove on n$i"; done
say "key rotated on every node"
wait_for 30 "still $N live after the rotation" check live all 1-$N
for i in $(seq 1 $N); do
	grep -q "$KEY1" "$WORK/kr$i" && fail "n$i's keyring file still holds the old key"
	grep -q "$KEY2" "$WORK/kr$i" || fail "n$i's keyring file lacks the new key"
done
ctl 4 set sealed/after rotated >/dev/null || fail "set on n4"
wait_for 60 "a key written after the rotation reached all" check key all 4 sealed/after rotated
dead=0
for i in $(seq 1 $N); do dead=$((dead + $(metric $i dead_nodes))); done
[ "$dead" -eq 0 ] || fail "$dead dead views after the rotation"

node_kill $N KILL
say "n$N killed"
wait_for 60 "n$N detected dead by all others" check dead 1-$((N - 1)) $N
pass
