#!/usr/bin/env python3
"""Evaluates one end-state assertion of the e2e tests over a snapshot.

usage: check.py SNAPDIR MODE [ARGS...]

SNAPDIR (written by lib.sh's snapshot) holds, for each running node I,
nI.members (`chitchatctl --json members --all`), nI.keys (`keys --all
--deleted`), and nodes.txt ("I node_id generation running" for every node
started, running 1 or 0). Node lists are "all" (the running nodes), "3",
"1-10" or "1,4,7-9". A node J "means" the state (nJ, latest generation of J).

Modes (exit 0 when true, 1 with the reasons when not, 2 on a usage error
or a bug of this script: lib.sh's wait_for then fails at once):
  live ON EXPECT          on every node of ON, the live set (self and live)
                          is exactly EXPECT's current generations
  dead ON TARGETS         on every node of ON, every TARGET is dead or
                          scheduled
  absent ON NODE GEN      on every node of ON, no state (nNODE, GEN) at all
  notlive ON NODE GEN     on every node of ON, (nNODE, GEN) is not live
  key ON NODE KEY VALUE   on every node of ON, NODE's KEY is set to VALUE
                          (VALUE "-": KEY is not visible: absent or a tombstone)
  equal ON                on every node of ON, the visible entries of every
                          running node equal that node's own (key, value,
                          version, status), and no other state is live
  writes ON FILE          FILE lists writes ("W start_ms end_ms I key value")
                          and kills ("K ms I"); the last write of each key
                          made after I's last kill and before any later
                          one must be visible on every node of ON
  gced ON NODE KEYS...    on every node of ON, NODE's KEYS are neither
                          visible nor tombstones
"""
import json
import os
import sys


def nodelist(spec, running):
    if spec == "all":
        return sorted(running)
    out = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def load(snap):
    running, known = {}, {}
    with open(os.path.join(snap, "nodes.txt")) as f:
        for line in f:
            i, nid, gen, up = line.split()
            known[int(i)] = (nid, int(gen))
            if up == "1":
                running[int(i)] = (nid, int(gen))
    views = {}
    errors = []
    for i in running:
        try:
            with open(os.path.join(snap, "n%d.members" % i)) as f:
                members = json.load(f)["members"]
            with open(os.path.join(snap, "n%d.keys" % i)) as f:
                nodes = json.load(f)["nodes"]
        except (OSError, ValueError, KeyError) as e:
            err = ""
            try:
                with open(os.path.join(snap, "n%d.err" % i)) as f:
                    err = f.read().strip()
            except OSError:
                pass
            errors.append("n%d: unreadable snapshot (%s) %s" % (i, e, err))
            continue
        st = {}
        for m in members:
            st[(m["node_id"], int(m["generation"]))] = m["status"]
        kv = {}
        for n in nodes:
            nid = (n["node"]["node_id"], int(n["node"]["generation"]))
            kv[nid] = {e["key"]: (e["value"], e["version"], e["status"]) for e in n["entries"]}
        views[i] = (st, kv)
    return running, known, views, errors


def visible(entries):
    return {k: v for k, v in entries.items() if v[2] != "deleted"}


def main():
    snap, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    running, known, views, problems = load(snap)
    on = [i for i in nodelist(args[0], running) if i in views] if args else []
    if args and args[0] != "all":
        missing = [i for i in nodelist(args[0], running) if i not in running]
        if missing:
            problems.append("not running: %s" % missing)

    if mode == "live":
        want = {known[j] for j in nodelist(args[1], running)}
        for i in on:
            st = views[i][0]
            have = {n for n, s in st.items() if s in ("self", "live")}
            if have != want:
                problems.append("n%d: live %d, missing %s, extra %s" % (
                    i, len(have), sorted(x[0] for x in want - have),
                    sorted("%s/%d" % x for x in have - want)))
    elif mode == "dead":
        targets = [known[j] for j in nodelist(args[1], running)]
        for i in on:
            st = views[i][0]
            bad = [t[0] + ":" + st.get(t, "absent") for t in targets
                   if st.get(t) not in ("dead", "scheduled")]
            if bad:
                problems.append("n%d: not dead: %s" % (i, bad))
    elif mode in ("absent", "notlive"):
        target = ("n" + args[1], int(args[2]))
        for i in on:
            s = views[i][0].get(target)
            if mode == "absent" and s is not None:
                problems.append("n%d: %s/%d still held (%s)" % (i, target[0], target[1], s))
            if mode == "notlive" and s in ("live", "self"):
                problems.append("n%d: %s/%d still live" % (i, target[0], target[1]))
    elif mode == "key":
        j, key, value = int(args[1]), args[2], args[3]
        target = known[j]
        for i in on:
            e = views[i][1].get(target, {}).get(key)
            if value == "-":
                if e is not None and e[2] != "deleted":
                    problems.append("n%d: n%d's %s still there: %s" % (i, j, key, e))
            elif e is None or e[0] != value or e[2] != "set":
                problems.append("n%d: n%d's %s is %s, not %r" % (i, j, key, e, value))
    elif mode == "gced":
        target = known[int(args[1])]
        for i in on:
            kv = views[i][1].get(target, {})
            left = [k for k in args[2:] if k in kv]
            if left:
                problems.append("n%d: n%s still holds %s" % (i, args[1],
                                                            {k: kv[k] for k in left}))
    elif mode == "equal":
        own = {}
        for j, nid in running.items():
            if j in views:
                own[nid] = visible(views[j][1].get(nid, {}))
        for i in on:
            st, kv = views[i]
            for nid, mine in own.items():
                theirs = visible(kv.get(nid, {}))
                if theirs != mine:
                    diff = sorted(set(theirs.items()) ^ set(mine.items()))[:4]
                    problems.append("n%d's view of %s differs from the owner's (%d vs %d"
                                    " keys): %s" % (i, nid[0], len(theirs), len(mine), diff))
            extra = [n for n, s in st.items() if s in ("self", "live") and n not in own]
            if extra:
                problems.append("n%d: live states of no running node: %s" % (i, extra))
    elif mode == "writes":
        kills = {}
        writes = []
        with open(args[1]) as f:
            for line in f:
                p = line.rstrip("\n").split(" ", 5)
                if p[0] == "K":
                    kills.setdefault(int(p[2]), []).append(int(p[1]))
                elif p[0] == "W":
                    writes.append((int(p[1]), int(p[2]), int(p[3]), p[4], p[5]))
        last = {}
        for start, end, j, key, value in writes:
            ks = kills.get(j, [])
            if any(start <= k <= end for k in ks):
                continue            # ambiguous: raced with a kill
            if any(k > end for k in ks):
                continue            # lost with its generation, as it must be
            last[(j, key)] = value  # writes of one node are sequential
        for (j, key), value in sorted(last.items()):
            target = running[j]
            for i in on:
                e = views[i][1].get(target, {}).get(key)
                if e is None or e[0] != value:
                    problems.append("n%d: n%d's %s is %s, not %r" % (i, j, key, e, value))
        if not problems:
            print("writes: %d surviving keys checked on %d nodes" % (len(last), len(on)))
    else:
        print("check.py: unknown mode " + mode)
        return 2
    if problems:
        print("\n".join(problems[:20]))
        if len(problems) > 20:
            print("... %d more" % (len(problems) - 20))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # a bug of the test, not a state to wait for: exit 2
        import traceback
        traceback.print_exc()
        sys.exit(2)
