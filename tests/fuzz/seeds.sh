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
mkdir -p "$out/fuzz_decode" "$out/fuzz_apply" "$out/fuzz_ctl_line" "$out/fuzz_catchup"
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
# fuzz_catchup: catch-up streams (docs/CATCHUP.md) about node "a" (generation
# 1, 127.0.0.1:7280), as fuzz_catchup.c expects: a whole answer, short
# answers, and requests (which the target also serves)
python3 - "$out/fuzz_catchup" <<'PY'
import os, struct, sys
out = sys.argv[1]
def s(b): return struct.pack("<H", len(b)) + b
def node_id(name, gen=1, port=7280): return s(name) + struct.pack("<Q", gen) + b"\x04\x7f\x00\x00\x01" + struct.pack("<H", port)
def frame(body): return struct.pack("<I", len(body)) + body
MAGIC = b"ccup"
def header(status, hb=0, gc=0, mx=0): return frame(b"\x02" + MAGIC + bytes([1, status]) + struct.pack("<QQQ", hb, gc, mx))
def end(status, hb, gc, mx, n): return frame(b"\x04" + bytes([status]) + struct.pack("<QQQQ", hb, gc, mx, n))
def chunk(frm, gc, kvs):
    ops = b"\x00" + node_id(b"a") + struct.pack("<QQ", gc, frm)
    for k, v, ver, st in kvs:
        ops += b"\x01" + s(k) + s(v) + struct.pack("<Q", ver) + bytes([st])
    return frame(b"\x03" + b"\x02" + struct.pack("<H", len(ops)) + ops + b"\x00")   # one raw block, END
def request(cluster, name, gc, mx, version=1):
    return frame(b"\x01" + MAGIC + bytes([version]) + s(cluster) + node_id(name) + struct.pack("<QQ", gc, mx))
seeds = {
    "whole": header(0, 5, 3, 9) + chunk(0, 3, [(b"k1", b"v1", 4, 0), (b"k2", b"", 5, 1)])
             + chunk(5, 3, [(b"k3", b"x", 7, 2), (b"k4", b"v4", 9, 0)]) + end(0, 6, 3, 9, 4),
    "aborted": header(0, 5, 3, 9) + chunk(0, 3, [(b"k1", b"v1", 4, 0)]) + end(1, 6, 4, 9, 1),
    "up_to_date": header(2),
    "not_found": header(1),
    "request": request(b"fuzz", b"a", 0, 0),
    "request_up_to_date": request(b"fuzz", b"a", 3, 9),
    "request_other": request(b"other", b"a", 0, 0) + request(b"fuzz", b"b", 0, 0),
    "request_v2": request(b"fuzz", b"a", 0, 0, version=2),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
PY
