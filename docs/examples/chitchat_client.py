#!/usr/bin/env python3
"""chitchat_client.py: a small client for chitchatd's control socket.

Python 3 standard library only (socket, json). The protocol is JSON-RPC 2.0,
one compact JSON object per line, on a Unix-domain socket; see docs/API.md.

As a library:

    from chitchat_client import ChitchatClient

    with ChitchatClient("/run/chitchatd/chitchatd.sock") as cc:
        print(cc.call("info")["counts"])
        cc.call("set", key="service/web", value="10.0.0.5:8080")
        for kind, data in cc.subscribe("keys", prefix="service/"):
            print(kind, data)          # ("snapshot", [...]) first, then
                                       # ("key_changed", {...}) ...

As a command:

    chitchat_client.py [-s SOCKET] info | members | metrics
    chitchat_client.py [-s SOCKET] get KEY [NODE_ID] | keys [PREFIX]
    chitchat_client.py [-s SOCKET] set KEY VALUE | delete KEY
    chitchat_client.py [-s SOCKET] watch [PREFIX] | watch-members
    chitchat_client.py [-s SOCKET] demo     (sets, watches and deletes a key)
"""

import collections
import itertools
import json
import os
import socket
import sys

PROTOCOL = 1
DEFAULT_SOCKET = os.environ.get("CHITCHATD_SOCKET", "/run/chitchatd/chitchatd.sock")


class ChitchatError(Exception):
    """A JSON-RPC error returned by the daemon (code, message, data)."""

    def __init__(self, code, message, data=None):
        super().__init__("%s (%d)%s" % (message, code,
                         ": %s" % data["reason"] if data and "reason" in data else ""))
        self.code = code
        self.message = message
        self.data = data or {}


class ChitchatClient:
    """One connection to chitchatd. Not thread-safe: one user at a time."""

    def __init__(self, path=DEFAULT_SOCKET, timeout=10.0, client="chitchat_client.py"):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.ids = itertools.count(1)
        # notifications read while waiting for a reply, in arrival order
        self.pending = collections.deque()
        self.server = self.call("hello", protocol=PROTOCOL, client=client)

    def close(self):
        self.file.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _send(self, msg):
        line = json.dumps(msg, separators=(",", ":"), ensure_ascii=False)
        self.sock.sendall(line.encode("utf-8") + b"\n")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("chitchatd closed the connection")
        return json.loads(line)

    def call(self, method, **params):
        """Calls method with params (by name); returns the result or raises ChitchatError."""
        rid = next(self.ids)
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            msg = self._read()
            if "id" not in msg:                 # a notification: keep it for later
                self.pending.append(msg)
                continue
            if msg["id"] != rid:
                continue
            if "error" in msg:
                err = msg["error"]
                raise ChitchatError(err["code"], err["message"], err.get("data"))
            return msg["result"]

    def notify(self, method, **params):
        """Sends a JSON-RPC notification: no id, no reply, errors are not reported."""
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def notifications(self):
        """Yields (method, params) for every notification, forever."""
        while True:
            msg = self.pending.popleft() if self.pending else self._read()
            if "method" not in msg:
                continue
            if msg["method"] == "lagged":
                p = msg.get("params", {})
                raise ChitchatError(p.get("code", -32006), p.get("message", "lagged"), p)
            yield msg["method"], msg.get("params", {})

    def subscribe(self, topic="keys", prefix=""):
        """Generator: ("snapshot", [...]) first, then (method, params) of this subscription.

        Methods: "key_changed" and "keys_reset" for topic "keys",
        "member_changed" for topic "members". Raises ChitchatError if the
        daemon drops us for not reading fast enough ("lagged"): reconnect
        and subscribe again to resynchronise.
        """
        if topic == "keys":
            res = self.call("subscribe", topic=topic, prefix=prefix)
        else:
            res = self.call("subscribe", topic=topic)
        sid = res["subscription"]
        yield "snapshot", res["snapshot"]
        for method, params in self.notifications():
            if params.get("subscription") == sid:
                yield method, params


def _print(obj):
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def _demo(cc):
    """Sets a key, watches its prefix, changes and deletes it; checks what comes back."""
    prefix = "demo/%d/" % os.getpid()
    key = prefix + "greeting"
    cc.call("set", key=key, value="hello")
    watch = cc.subscribe("keys", prefix=prefix)
    kind, snapshot = next(watch)
    assert kind == "snapshot" and [e["value"] for e in snapshot] == ["hello"], snapshot
    cc.call("set", key=key, value="bonjour")
    cc.call("delete_after_ttl", key=key)
    cc.call("delete", key=key)
    seen = []
    for _, params in itertools.islice(watch, 3):
        seen.append((params["event"], params["value"]))
        print("%-10s %s = %r (version %d, node %s)" % (params["event"], params["key"],
              params["value"], params["version"], params["node_id"]))
    assert seen == [("set", "bonjour"), ("ttl_marked", "bonjour"), ("deleted", "")], seen
    try:
        cc.call("get", key=key)
        raise AssertionError("the key is still there")
    except ChitchatError as e:
        assert e.code == -32000, e
    print("demo: ok")


def main(argv):
    path = DEFAULT_SOCKET
    if len(argv) >= 2 and argv[0] == "-s":
        path, argv = argv[1], argv[2:]
    if not argv:
        print(__doc__.split("As a command:")[1].strip(), file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    watching = cmd in ("watch", "watch-members")
    try:
        with ChitchatClient(path, timeout=None if watching else 10.0) as cc:
            if cmd == "info":
                _print(cc.call("info"))
            elif cmd == "members":
                _print(cc.call("members")["members"])
            elif cmd == "metrics":
                print(cc.call("metrics")["text"], end="")
            elif cmd == "get" and len(args) in (1, 2):
                params = {"key": args[0]}
                if len(args) == 2:
                    params["node"] = args[1]
                _print(cc.call("get", **params))
            elif cmd == "keys" and len(args) <= 1:
                _print(cc.call("keys", prefix=args[0] if args else "")["entries"])
            elif cmd == "set" and len(args) == 2:
                _print(cc.call("set", key=args[0], value=args[1]))
            elif cmd == "delete" and len(args) == 1:
                _print(cc.call("delete", key=args[0]))
            elif watching:
                topic = "members" if cmd == "watch-members" else "keys"
                for kind, data in cc.subscribe(topic, prefix=args[0] if args else ""):
                    print(json.dumps({kind: data}, ensure_ascii=False), flush=True)
            elif cmd == "demo":
                _demo(cc)
            else:
                print("chitchat_client.py: bad command: %s" % " ".join(argv), file=sys.stderr)
                return 2
    except ChitchatError as e:
        print("chitchat_client.py: %s" % e, file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as e:
        print("chitchat_client.py: %s: %s" % (path, e), file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
