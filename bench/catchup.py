#!/usr/bin/python3
"""bench/catchup.py: time and gossip rounds for a new node to hold a large state,
with and without the catch-up side channel (docs/CATCHUP.md).

    python3 bench/catchup.py [--build DIR] [--keys 20000] [--value-size 200]
        [--runs 3] [--gossip-interval 100ms] [--grace 300ms]

Node A starts alone and gets --keys keys with random (hardly compressible)
values through its control socket, in JSON-RPC batches; then 100 of them are
deleted and A waits until its tombstones are garbage-collected, so its
last_gc_version is above 0 and any newcomer's replica of A is reset
(PROTOCOL.md §4.4, §4.5). Then, --runs times for each mode, a fresh node B
seeded with A starts, and the harness polls B's metrics every 10 ms until B
holds every key of A: the time from B's start and B's gossip rounds
(chitchatd_gossip_rounds_total) at that moment. Modes: B with every
extension ("catch-up"), and B with --extensions none ("gossip only", a node
without the feature). Prints a Markdown section; medians over the runs.
Every process started is killed (by pid) at exit; every wait is bounded.
"""
import argparse, json, os, random, signal, socket, statistics, string, subprocess
import sys, tempfile, time

CHILDREN = []


def cleanup(*_):
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
            p.wait()
    CHILDREN.clear()


def on_signal(sig, _frm):
    cleanup()
    sys.exit(128 + sig)


def free_port():
    """a port free for both UDP and TCP (catch-up listens on TCP too)"""
    while True:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            u.close()
            t.close()


class Ctl:
    def __init__(self, path, deadline=20):
        end = time.monotonic() + deadline
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > end:
                    raise
                time.sleep(0.02)
        self.s.settimeout(30)
        self.buf = b""
        self.seq = 0

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError("daemon closed the control socket")
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return json.loads(l)

    def call(self, method, params=None):
        self.seq += 1
        req = {"jsonrpc": "2.0", "id": self.seq, "method": method}
        if params is not None:
            req["params"] = params
        self.s.sendall((json.dumps(req) + "\n").encode())
        m = self.line()
        if "error" in m:
            raise RuntimeError("%s: %s" % (method, m["error"]))
        return m["result"]

    def batch(self, method, params_list):
        reqs = []
        for p in params_list:
            self.seq += 1
            reqs.append({"jsonrpc": "2.0", "id": self.seq, "method": method, "params": p})
        self.s.sendall((json.dumps(reqs) + "\n").encode())
        replies = self.line()
        bad = [r for r in replies if "error" in r]
        if bad:
            raise RuntimeError("%s: %s" % (method, bad[0]["error"]))

    def metrics(self):
        out = {}
        for l in self.call("metrics")["text"].splitlines():
            if l and not l.startswith("#"):
                k, v = l.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def close(self):
        self.s.close()


def start(build, tmp, name, args):
    port = free_port()
    sock = os.path.join(tmp, name + ".sock")
    log = open(os.path.join(tmp, name + ".log"), "w")
    argv = [os.path.join(build, "chitchatd"), "--node-id", name,
            "--listen", "127.0.0.1:%d" % port, "--control-socket", sock] + args
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    CHILDREN.append(p)
    return p, port, Ctl(sock)


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    CHILDREN.remove(p)


def load_a(ctl, keys, size, rng, grace_wait):
    alphabet = string.ascii_letters + string.digits + "+/=-_.:;,!?@#%&*()[]{}<>"
    params = []
    for i in range(keys):
        v = "".join(rng.choice(alphabet) for _ in range(size))
        params.append({"key": "bench/k%06d" % i, "value": v})
        if len(params) == 500:
            ctl.batch("set", params)
            params = []
    if params:
        ctl.batch("set", params)
    ctl.batch("delete", [{"key": "bench/k%06d" % i} for i in range(0, keys, keys // 100)])
    end = time.monotonic() + grace_wait
    while ctl.metrics()["chitchatd_gossip_keys_gced_total"] < 100:
        if time.monotonic() > end:
            raise RuntimeError("A's tombstones were not garbage-collected")
        time.sleep(0.05)


def one_run(build, tmp, name, a_port, want, extra, common, limit):
    t0 = time.monotonic()
    p, _, ctl = start(build, tmp, name, common + ["--seed", "127.0.0.1:%d" % a_port] + extra)
    try:
        while True:
            m = ctl.metrics()
            if m["chitchatd_cluster_keys"] >= want:
                return (time.monotonic() - t0, m["chitchatd_gossip_rounds_total"],
                        m["chitchatd_catchup_fetches_completed_total"])
            if time.monotonic() - t0 > limit:
                raise RuntimeError("%s did not get A's %d keys in %d s" % (name, want, limit))
            time.sleep(0.01)
    finally:
        ctl.close()
        stop(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--keys", type=int, default=20000)
    ap.add_argument("--value-size", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--gossip-interval", default="100ms")
    ap.add_argument("--grace", default="300ms")
    ap.add_argument("--limit", type=int, default=120, help="seconds per run at most")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rng = random.Random(7)
    tmp = tempfile.mkdtemp(prefix="ccbench-catchup.")
    cluster = "bench-catchup-%d" % os.getpid()
    common = ["--cluster-id", cluster, "--gossip-interval", a.gossip_interval,
              "--log-level", "info"]
    res = {"catch-up": [], "gossip only": []}
    try:
        pa, a_port, ca = start(a.build, tmp, "a", common + [
            "--marked-for-deletion-grace-period", a.grace])
        load_a(ca, a.keys, a.value_size, rng, 60)
        ma = ca.metrics()
        want = int(ma["chitchatd_keys"])
        state = int(ma["chitchatd_cluster_state_bytes"])
        seq = 0
        for _ in range(a.runs):
            for mode, extra in (("catch-up", []), ("gossip only", ["--extensions", "none"])):
                seq += 1
                res[mode].append(one_run(a.build, tmp, "b%d" % seq, a_port, want, extra,
                                         common, a.limit))
        served = int(ca.metrics()["chitchatd_catchup_requests_served_total"])
        ca.close()
        stop(pa)
    finally:
        cleanup()
        subprocess.run(["rm", "-rf", tmp])

    def med(mode, i):
        return statistics.median(r[i] for r in res[mode])

    def rng_(mode, i, fmt):
        xs = [r[i] for r in res[mode]]
        return ("%s..%s" % (fmt, fmt)) % (min(xs), max(xs))

    print("## catch-up (bench/catchup.py)")
    print()
    print("A new node B joins a node A holding %d keys of %d-byte random values "
          "(%d set, %d deleted and purged; %.1f MB of keys and values), whose "
          "last_gc_version is therefore above 0, so B's "
          "replica of A is reset on its first exchange. Loopback, gossip every %s; time "
          "from B's start until B holds every key of A, and B's gossip rounds by then. "
          "\"catch-up\": B fetches A's state over TCP after the reset; \"gossip only\": B "
          "started with `--extensions none` (refilled by gossip, one datagram per "
          "exchange). Median of %d runs (min..max)."
          % (want, a.value_size, a.keys, a.keys - want, state / 1e6, a.gossip_interval,
             a.runs))
    print()
    print("| B | time to full state, s | B's gossip rounds | catch-up fetches |")
    print("|---|---:|---:|---:|")
    for mode in ("catch-up", "gossip only"):
        print("| %s | %.2f (%s) | %d (%s) | %d |" % (
            mode, med(mode, 0), rng_(mode, 0, "%.2f"), med(mode, 1), rng_(mode, 1, "%d"),
            sum(r[2] for r in res[mode])))
    print()
    print("Ratio gossip only / catch-up: %.1fx the time, %.1fx the rounds; A served %d "
          "whole states." % (med("gossip only", 0) / med("catch-up", 0),
                             med("gossip only", 1) / max(1, med("catch-up", 1)), served))


if __name__ == "__main__":
    main()
