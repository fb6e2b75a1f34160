#!/bin/sh
# Writes the seed corpora of the fuzz targets under OUT (one directory per
# target), from the golden vectors of ../shared/vectors (CHITCHAT_VECTORS
# overrides) and from JSON-RPC request lines for the control socket. Raw
# files are generated, never committed. Idempotent.
#   usage: sh tests/fuzz/seeds.sh OUT
set -eu
out=${1:?usage: seeds.sh OUT}
here=$(dirname "$0")
vectors=${CHITCHAT_VECTORS:-$here/../../../shared/vectors}
mkdir -p "$out/fuzz_decode" "$out/fuzz_apply" "$out/fuzz_ctl_line"
python3 - "$vectors" "$out" <<'PY'
import glob, json, os, sys
vectors, out = sys.argv[1], sys.argv[2]
msgs = []
for path in sorted(glob.glob(os.path.join(vectors, "*.json"))):
    name = os.path.basename(path)[:-5]
    with open(path) as f:
        v = json.load(f)
    raw = bytes.fromhex(v["hex"])
    # every vector feeds the decoder; whole datagrams feed the engine too
    with open(os.path.join(out, "fuzz_decode", name), "wb") as f:
        f.write(raw)
    if name.startswith(("msg_", "hs_")):
        msgs.append(raw)
        with open(os.path.join(out, "fuzz_apply", name), "wb") as f:
            f.write(raw)
# multi-datagram inputs for fuzz_apply: the handshake, then everything
marker = b"\xff\xfe\xfd\xfc"
with open(os.path.join(out, "fuzz_apply", "seq_all"), "wb") as f:
    f.write(marker.join(msgs))
hs = [m for m in msgs]
with open(os.path.join(out, "fuzz_apply", "seq_twice"), "wb") as f:
    f.write(marker.join(hs[:3] + hs[:3]))
# flood commands (fuzz_apply.c): keys, bytes, and fake nodes, then a datagram
for name, cmd in (("flood_keys", b"\xa5\x00\x64\x00"), ("flood_bytes", b"\xa5\x01\x20\x10"),
                  ("flood_both", b"\xa5\x02\xff\x04"), ("flood_nodes", b"\xa6\x40\x01\x02")):
    with open(os.path.join(out, "fuzz_apply", name), "wb") as f:
        f.write(cmd + (msgs[0] if msgs else b""))
lines = [
    '{"jsonrpc":"2.0","id":1,"method":"hello","params":{"protocol":1,"client":"fuzz"}}',
    '{"jsonrpc":"2.0","id":2,"method":"info"}',
    '{"jsonrpc":"2.0","id":3,"method":"members","params":{"filter":"live"}}',
    '{"jsonrpc":"2.0","id":4,"method":"get","params":{"key":"k","node":"peer"}}',
    '{"jsonrpc":"2.0","id":5,"method":"get","params":{"key":"k","node":{"node_id":"peer","generation":1}}}',
    '{"jsonrpc":"2.0","id":6,"method":"keys","params":{"prefix":"","all":true}}',
    '{"jsonrpc":"2.0","id":7,"method":"set","params":{"key":"status","value":"ready"}}',
    '{"jsonrpc":"2.0","id":8,"method":"set","params":{"key":"lease","value":"x","ttl":true}}',
    '{"jsonrpc":"2.0","id":9,"method":"delete","params":{"key":"own"}}',
    '{"jsonrpc":"2.0","id":10,"method":"delete_after_ttl","params":{"key":"own"}}',
    '{"jsonrpc":"2.0","id":11,"method":"subscribe","params":{"topic":"keys","prefix":""}}',
    '{"jsonrpc":"2.0","id":12,"method":"subscribe","params":{"topic":"members"}}',
    '{"jsonrpc":"2.0","id":13,"method":"unsubscribe","params":{"subscription":1}}',
    '{"jsonrpc":"2.0","id":14,"method":"metrics"}',
    '[{"jsonrpc":"2.0","id":15,"method":"info"},{"jsonrpc":"2.0","method":"set","params":{"key":"a","value":"b"}}]',
    '{"jsonrpc":"2.0","id":16,"method":"nope"}',
    '{"jsonrpc":"2.0","id":17,"method":"keys_list"}',
    '{"jsonrpc":"2.0","id":18,"method":"keys_install","params":{"key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}',
    '{"jsonrpc":"2.0","id":19,"method":"keys_use","params":{"key":"0123456789abcdef"}}',
    '{"jsonrpc":"2.0","id":"s","method":"get","params":{"key":"\\u00e9"}}',
    '{"jsonrpc":"2.0","id":17,"method":"members","params":{"filter":"left"}}',
    '{"jsonrpc":"2.0","id":18,"method":"force_leave","params":{"node":"peer"}}',
    '{"jsonrpc":"2.0","id":19,"method":"leave"}',
    '{"jsonrpc":"2.0","id":20,"method":"set","params":{"key":"lock","value":"me","expires_in":"20ms"}}',
    '{"jsonrpc":"2.0","id":21,"method":"set","params":{"key":"own","value":"v","expires_in":15}}',
    '{"jsonrpc":"2.0","id":22,"method":"get","params":{"key":"lock"}}',
]
for i, l in enumerate(lines):
    with open(os.path.join(out, "fuzz_ctl_line", "line_%02d" % i), "w") as f:
        f.write(l + "\n")
with open(os.path.join(out, "fuzz_ctl_line", "session"), "w") as f:
    f.write("\n".join(lines) + "\n")
PY
