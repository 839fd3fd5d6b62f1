#!/usr/bin/env python3
"""Valid heartbeats one vigil daemon applies per CPU second.

One daemon, n1, is configured with 100 more members (n2..n101, mesh
dissemination, default timings) that never run: vigil-forge plays them all
(`--kind heartbeats`), each with its own boot and seq, sealed with the
cluster key by the real Sealer, round-robin, at a given total rate, from
another CPU than n1's. Each member first sends a full document, and again
every second; then every heartbeat is, by --heartbeats:
  pings   a ping: liveness and the gen vector;
  data    a patch carrying the next change of its /data/x, applied and
          published as a NodeDataUpdated event;
  labels  a patch carrying the next change of its /labels/x, applied and
          published as NodeDataUpdated and NodeStatusLabelsUpdated.

For each rate the script reports what n1 took in (authenticated datagrams of
those members, from `hb status`), what it dropped (its own counters and the
kernel's at its socket), its CPU time (/proc/<pid>/schedstat), the heartbeats
applied per CPU second, and the NodeStale lines of its log while the members
were sending (none may appear). A heartbeat counts as applied when n1
authenticated it and counted no drop of any kind for it: with no kernel drop
and no resync ("gap or bad delta" in the log), every patch's delta applied.
A run with either is reported as overloaded, and its applied count is not
given: after a gap a member's patches wait for its next full.

n1 runs no hook, webhook, NATS export or events client: the events of a
change are counted (vigil_events_total) but not built, as in any daemon where
no one takes them (EventBus::skip_unwanted). A consumer of NodeDataUpdated
adds the cost of building its event, and its own.

Usage:
  tests/bench/receive_rate.py --vigil build/bin/vigil --forge build/bin/vigil-forge
      [--rates 50000,100000,150000] [--seconds 8] [--heartbeats pings,data,labels]
      [--json FILE]
Python 3 standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import vigil_cluster  # noqa: E402
from cluster_bench import read_schedstat, udp_socket_counters  # noqa: E402

MEMBERS = 100


def received_from_members(hb):
    return sum(peer["received_datagrams"] for p in hb["paths"] for peer in p["peers"].values())


def dropped_total(hb):
    return sum(hb["dropped"].values())


def log_lines(c, what):
    return [line for line in c.log("n1").splitlines() if what in line]


def check_changed_field(c, kind):
    """n1's copy of n2's document changed where --heartbeats says, and only
    there: a run measures the path it names."""
    doc = c.status("n1")["node"]["n2"]
    x = {"data": doc["data"]["x"], "labels": doc["labels"]["x"]}
    for field in ("data", "labels"):
        if (x[field] != "0") != (field == kind):
            raise SystemExit("--heartbeats %s: n1 holds data.x = %r, labels.x = %r"
                             % (kind, x["data"], x["labels"]))


def run_rate(c, forge, rate, seconds, kind, log):
    pid = c.procs["n1"].pid
    addr, port = c.addr("n1"), c.port
    hb0 = c.hb("n1")
    stale0 = len(log_lines(c, " NodeStale "))
    resync0 = len(log_lines(c, "gap or bad delta"))
    kdrop0 = udp_socket_counters(pid, addr, port)["drops"]
    cpu0, t0 = read_schedstat(pid)[0], time.monotonic()
    cmd = [forge, "--to", "%s:%d" % (addr, port), "--kind", "heartbeats",
           "--cluster", c.cluster_name, "--secret", c.secret, "--sender", "n",
           "--senders", str(MEMBERS), "--rate", str(rate), "--seconds", str(seconds),
           "--delta", "0" if kind == "pings" else "1",
           "--field", "data" if kind == "data" else "labels", "--ack", "1000000"]
    if (os.cpu_count() or 1) >= 2:
        cmd = ["taskset", "-c", "1"] + cmd
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
    sent = int(out[1])
    time.sleep(0.3)  # n1 drains its socket
    cpu1, t1 = read_schedstat(pid)[0], time.monotonic()
    hb1 = c.hb("n1")
    stale = len(log_lines(c, " NodeStale ")) - stale0  # before the members go quiet
    check_changed_field(c, kind)
    resync = len(log_lines(c, "gap or bad delta")) - resync0
    kdrop = udp_socket_counters(pid, addr, port)["drops"] - kdrop0
    received = received_from_members(hb1) - received_from_members(hb0)
    dropped = dropped_total(hb1) - dropped_total(hb0)
    cpu_s = (cpu1 - cpu0) / 1e9
    # A kernel drop leaves a gap: the member's next patches wait for its next
    # full, so what n1 took in is no longer what it applied.
    overloaded = kdrop > 0 or resync > 0
    applied = None if overloaded else received - dropped
    r = {"heartbeats": kind, "rate": rate, "seconds": seconds, "sent": sent,
         "received": received, "dropped_by_n1": dropped, "kernel_drops": kdrop,
         "applied": applied, "cpu_s": round(cpu_s, 3),
         "cpu_pct": round(100 * cpu_s / (t1 - t0), 1),
         "applied_per_s": round(applied / seconds) if applied is not None else None,
         "applied_per_cpu_s": round(applied / cpu_s) if applied is not None and cpu_s else None,
         "node_stale": stale, "resyncs": resync, "overloaded": overloaded}
    what = ("applied %d/s on %.0f%% of a core: %d per CPU second"
            % (r["applied_per_s"], r["cpu_pct"], r["applied_per_cpu_s"] or 0)
            if not overloaded else "OVERLOADED (kernel drops or resyncs: applied not counted), "
            "%.0f%% of a core" % r["cpu_pct"])
    log("  %s at %6d/s: sent %d, n1 received %d, dropped %d (kernel %d), %s; NodeStale %d, "
        "resyncs %d" % (kind.ljust(6), rate, sent, received, dropped, kdrop, what, stale,
                        resync))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--forge", required=True)
    ap.add_argument("--rates", default="50000,100000,150000")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--heartbeats", default="pings,data,labels")
    ap.add_argument("--json")
    args = ap.parse_args()
    vigil_cluster.VIGIL = os.path.abspath(args.vigil)
    forge = os.path.abspath(args.forge)

    def log(msg):
        print(msg, flush=True)

    c = vigil_cluster.Cluster("recvrate", size=MEMBERS + 1, interval="500ms", timeout="2s",
                              cluster_name="recvrate", dissemination="mesh", log_level="info")
    results = []
    try:
        c.start("n1")  # returns once its API answers
        if (os.cpu_count() or 1) >= 2:
            subprocess.run(["taskset", "-a", "-p", "-c", "0", str(c.procs["n1"].pid)],
                           check=True, capture_output=True)
        log("n1 (pid %d) with %d simulated members; forge on CPU 1"
            % (c.procs["n1"].pid, MEMBERS))
        for kind in args.heartbeats.split(","):
            if kind not in ("pings", "data", "labels"):
                raise SystemExit("--heartbeats: pings, data or labels, not %r" % kind)
            for rate in [int(r) for r in args.rates.split(",")]:
                results.append(run_rate(c, forge, rate, args.seconds, kind, log))
                time.sleep(3.0)  # the members go stale; the next run brings them back
    finally:
        c.close()
    for kind in dict.fromkeys(r["heartbeats"] for r in results):
        rows = [r for r in results if r["heartbeats"] == kind and not r["overloaded"]]
        best = max((r["applied_per_cpu_s"] for r in rows), default=None)
        stale = sum(r["node_stale"] for r in results if r["heartbeats"] == kind)
        log("%s: best %s applied per CPU second without overload (target >= 150000), "
            "NodeStale %d" % (kind, best, stale))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
