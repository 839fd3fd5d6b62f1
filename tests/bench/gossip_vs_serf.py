#!/usr/bin/env python3
"""vigil and serf side by side, N agents each, in a private network namespace
(vigil on 127.0.0.x, serf on 127.0.1.x), default settings for both (vigil:
500 ms interval, 2 s timeout, cluster.dissemination = auto, i.e. a full mesh
up to 32 members and gossip above; serf: the lan profile, encrypted as vigil
is). For each N it reports:

  - idle CPU per agent (% of one core), from /proc/<pid>/stat over --idle s;
  - bytes sent per agent per second over the same window (nftables counters
    on the namespace's output, by source subnet: serf's TCP push-pull counts);
  - convergence: from `vigil node set` (serf: `serf event`) at one agent to
    the moment each other agent's hook (serf: event handler) ran; p50/p95/max;
    for vigil also to the moment each agent had it (the event's "at", set
    when the daemon applied the change: hook processes queue for the CPU);
  - detection: from SIGKILL of one agent to NodeStale (serf: member-failed)
    at every survivor; p50/p95/max, and how many never saw it; for vigil
    also to the NodeStale event's "at";
  - false NodeStale (serf: member-failed of an agent not killed).
With --loss P, every UDP datagram in the namespace is dropped with
probability P % for the whole run (--idle s of it count false stales).

Needs root, iproute2, nftables and the serf command (Debian `serf`); exits 77
otherwise. Usage:
  tests/bench/gossip_vs_serf.py --vigil build/bin/vigil [--nodes 10,50] [--idle 20]
      [--loss 0] [--out build/bench/gossip_vs_serf.json] [--only vigil|serf]
"""
import argparse
import base64
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

SERF_KEY = base64.b64encode(bytes(range(32))).decode()
TICK = os.sysconf("SC_CLK_TCK")

VIGIL_HOOK = """#!/bin/sh
ev=$(cat)
case "$ev" in
  *bench_mark*) echo "$(date +%s.%N) mark $ev" >> "$1/marks" ;;
  *'"kind":"NodeStale"'*) echo "$(date +%s.%N) stale $ev" >> "$1/marks" ;;
esac
"""
SERF_HANDLER = """#!/bin/sh
ev=$(cat)
case "$SERF_EVENT" in
  user) echo "$(date +%s.%N) mark" >> "$SERF_TAG_DIR/marks" ;;
  member-failed) echo "$(date +%s.%N) stale $ev" >> "$SERF_TAG_DIR/marks" ;;
esac
"""


def pct(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q * len(s) + 0.5)) - 1))]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wait_until(pred, timeout, interval=0.5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def is_mark(line):
    return line.split(" ", 2)[1:2] == ["mark"]


def event_at(line):
    """The "at" of the event JSON that ends a hook's mark line, in s since
    the epoch (the daemon's wall clock when it published the event)."""
    ev = json.loads(line.split(" ", 2)[2])
    return datetime.datetime.strptime(ev["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def log_time(line):
    """The wall-clock time (s) of a daemon log line "2026-12-01T03:59:25.126Z n1 ...", 0 when none."""
    try:
        stamp = line.split(" ", 1)[0].rstrip("Z")
        return datetime.datetime.fromisoformat(stamp).replace(tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return 0.0


def marks(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n") for line in f]
    except FileNotFoundError:
        return []


class Counters:
    """nftables byte counters on the namespace's output, by source subnet."""

    def __init__(self, ns):
        self.ns = ns
        ns.nft("add table inet bench")
        ns.nft("add chain inet bench out { type filter hook output priority 0; policy accept; }")
        for net in ("127.0.0.0/24", "127.0.1.0/24"):
            ns.nft("add rule inet bench out ip saddr %s counter" % net)

    def bytes(self):
        out = json.loads(self.ns.exec("nft", "-j", "list", "chain", "inet", "bench", "out"))
        result = {}
        for item in out["nftables"]:
            rule = item.get("rule")
            if not rule:
                continue
            net = rule["expr"][0]["match"]["right"]["prefix"]["addr"]
            for e in rule["expr"]:
                if "counter" in e:
                    result[net] = e["counter"]["bytes"]
        return result


def run_vigil(ns, n, vigil, idle, counters, workdir):
    os.environ["VIGIL_BIN"] = os.path.abspath(vigil)
    from vigil_cluster import Cluster, write_private
    hook = os.path.join(workdir, "vigil_hook.sh")
    with open(hook, "w") as f:
        f.write(VIGIL_HOOK)
    os.chmod(hook, 0o755)
    c = Cluster("bench%d" % n, size=n, interval="500ms", timeout="2s", netns=ns, log_level="warn")
    try:
        c.start_all()

        def converged():
            for node in (c.nodes[0], c.nodes[-1], c.nodes[n // 2]):
                ds = c.status(node)
                if len(ds["node"]) != n or any(p["state"] != "alive" for p in ds["peers"].values()):
                    return False
            return True
        if not wait_until(converged, 180):
            raise RuntimeError("vigil N=%d did not converge" % n)
        time.sleep(10)  # the burst of the start settles
        pids = [c.procs[x].pid for x in c.nodes]
        idle_from = time.time()
        b0, t0 = counters.bytes().get("127.0.0.0", 0), time.monotonic()
        cpu0 = [cpu_seconds(p) for p in pids]
        time.sleep(idle)
        cpu1 = [cpu_seconds(p) for p in pids]
        b1, t1 = counters.bytes().get("127.0.0.0", 0), time.monotonic()
        cpu = statistics.mean(100 * (b - a) / (t1 - t0) for a, b in zip(cpu0, cpu1))
        bps = (b1 - b0) / (t1 - t0) / n
        # False stales of the idle window, from the daemons' logs: no hook
        # runs in it, so that forks do not starve the agents being measured.
        idle_false = sum(1 for x in c.nodes for line in c.log(x).splitlines()
                         if " NodeStale " in line and idle_from <= log_time(line) <= time.time())
        # The marking hook comes by a live reload after the idle window: at
        # the start it would run N - 1 times per node (every document
        # arriving), N^2 processes.
        c.hooks = {"bench": {"events": ["NodeStale", "NodeDataUpdated"],
                             "command": lambda node, var: [hook, var]}}
        for x in c.nodes:
            write_private(c.config_path(x), c.config_text(x))
            res = c.cli(x, "daemon", "reload")
            if res.returncode != 0:
                raise RuntimeError("reload of %s: %s" % (x, res.stderr))
        time.sleep(5)
        mode = c.hb(c.nodes[0]).get("dissemination", {}).get("mode", "mesh")
        # Convergence of one change.
        start = time.time()
        c.cli(c.nodes[0], "node", "set", "data.bench_mark=1")

        def seen():
            return sum(1 for x in c.nodes[1:] if any(is_mark(m) for m in marks(os.path.join(c.var_dir(x), "marks"))))
        wait_until(lambda: seen() == n - 1, 30, 0.2)
        conv, conv_seen = [], []
        for x in c.nodes[1:]:
            ms = [m for m in marks(os.path.join(c.var_dir(x), "marks")) if is_mark(m)]
            if ms:
                conv.append(float(ms[0].split()[0]) - start)
                conv_seen.append(event_at(ms[0]) - start)
        dead = [x for x in c.nodes if c.procs[x].poll() is not None]
        if dead:
            raise RuntimeError("vigil agents exited: %s; %s" % (dead, c.log(dead[0])[-2000:]))
        # Detection of one SIGKILL.
        victim = c.nodes[n // 2]
        kill_at = time.time()
        c.kill(victim)
        survivors = [x for x in c.nodes if x != victim]

        def stale_of(x):
            return [m for m in marks(os.path.join(c.var_dir(x), "marks")) if " stale " in m]
        wait_until(lambda: all(any('"node":"%s"' % victim in m for m in stale_of(x)) for x in survivors), 40)
        det, det_seen, false = [], [], 0
        for x in survivors:
            hits = [m for m in stale_of(x) if '"node":"%s"' % victim in m]
            hit = [float(m.split()[0]) for m in hits]
            det_seen += [event_at(m) - kill_at for m in hits[:1]]
            wrong = [m for m in stale_of(x) if '"node":"%s"' % victim not in m]
            if wrong and false == 0:
                print("false stale at %s: %s" % (x, wrong[0][:300]), file=sys.stderr)
            false += len(wrong)
            if hit:
                det.append(hit[0] - kill_at)
        dead = [x for x in survivors if c.procs[x].poll() is not None]
        if dead:
            raise RuntimeError("vigil agents exited: %s; %s" % (dead, c.log(dead[0])[-3000:]))
        if false:
            wrong = sorted({m.split('"node":"')[1].split('"')[0] for x in survivors for m in stale_of(x)
                            if '"node":"%s"' % victim not in m})
            print("falsely stale: %s; log of %s:\n%s" % (wrong, wrong[0], c.log(wrong[0])[-4000:]),
                  file=sys.stderr)
        return {"mode": mode, "cpu_pct": cpu, "bytes_per_s": bps, "convergence_s": conv,
                "convergence_seen_s": conv_seen, "detection_seen_s": det_seen,
                "detection_s": det, "undetected": len(survivors) - len(det),
                "false_stale": idle_false, "false_stale_after_idle": false}
    finally:
        c.close()


def run_serf(ns, n, idle, counters, workdir):
    handler = os.path.join(workdir, "serf_handler.sh")
    with open(handler, "w") as f:
        f.write(SERF_HANDLER)
    os.chmod(handler, 0o755)
    procs, dirs = [], []
    addr = lambda i: "127.0.1.%d" % (i + 1)  # noqa: E731
    try:
        for i in range(n):
            d = os.path.join(workdir, "s%d" % (i + 1))
            os.makedirs(d, exist_ok=True)
            dirs.append(d)
            args = ns.prefix() + ["serf", "agent", "-node=s%d" % (i + 1), "-bind=%s:7946" % addr(i),
                                  "-rpc-addr=%s:7373" % addr(i), "-encrypt=%s" % SERF_KEY,
                                  "-event-handler=%s" % handler, "-tag", "dir=%s" % d,
                                  "-log-level=warn"]
            if i > 0:
                args.append("-join=%s:7946" % addr(0))
            with open(os.path.join(d, "serf.log"), "w") as log:
                procs.append(subprocess.Popen(args, stdout=log, stderr=log))
            if i == 0:
                time.sleep(1)

        def members(i):
            res = subprocess.run(ns.prefix() + ["serf", "members", "-rpc-addr=%s:7373" % addr(i), "-status=alive"],
                                 capture_output=True, text=True)
            return len(res.stdout.splitlines())
        if not wait_until(lambda: all(members(i) == n for i in (0, n // 2, n - 1)), 300, 2):
            raise RuntimeError("serf N=%d did not converge: alive members seen %s" % (
                n, [members(i) for i in (0, n // 2, n - 1)]))
        time.sleep(5)
        b0, t0 = counters.bytes().get("127.0.1.0", 0), time.monotonic()
        cpu0 = [cpu_seconds(p.pid) for p in procs]
        time.sleep(idle)
        cpu1 = [cpu_seconds(p.pid) for p in procs]
        b1, t1 = counters.bytes().get("127.0.1.0", 0), time.monotonic()
        cpu = statistics.mean(100 * (b - a) / (t1 - t0) for a, b in zip(cpu0, cpu1))
        bps = (b1 - b0) / (t1 - t0) / n
        start = time.time()
        subprocess.run(ns.prefix() + ["serf", "event", "-rpc-addr=%s:7373" % addr(0), "bench_mark", "1"],
                       capture_output=True)

        def got(i):
            return [float(m.split()[0]) for m in marks(os.path.join(dirs[i], "marks")) if is_mark(m)]
        wait_until(lambda: all(got(i) for i in range(1, n)), 30, 0.2)
        conv = [got(i)[0] - start for i in range(1, n) if got(i)]
        victim = n // 2
        kill_at = time.time()
        procs[victim].kill()
        procs[victim].wait()
        survivors = [i for i in range(n) if i != victim]

        def stale(i):
            return [m for m in marks(os.path.join(dirs[i], "marks")) if " stale " in m]
        name = "s%d" % (victim + 1)
        wait_until(lambda: all(any(name in m for m in stale(i)) for i in survivors), 60)
        det, false = [], 0
        for i in survivors:
            hit = [float(m.split()[0]) for m in stale(i) if name in m]
            false += len([m for m in stale(i) if name not in m])
            if hit:
                det.append(hit[0] - kill_at)
        return {"mode": "serf lan", "cpu_pct": cpu, "bytes_per_s": bps, "convergence_s": conv,
                "detection_s": det, "undetected": len(survivors) - len(det), "false_stale": false}
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def summary(r):
    out = dict(r)
    for k in ("convergence_s", "detection_s", "convergence_seen_s", "detection_seen_s"):
        if k not in r:
            continue
        v = r[k]
        out[k] = {"p50": pct(v, 0.5), "p95": pct(v, 0.95), "max": max(v) if v else None, "n": len(v)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--nodes", default="10,50")
    ap.add_argument("--idle", type=float, default=20)
    ap.add_argument("--loss", type=int, default=0)
    ap.add_argument("--only", choices=("vigil", "serf"))
    ap.add_argument("--out")
    args = ap.parse_args()
    if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"):
        print("skipped: needs root, iproute2 and nftables for a private network namespace")
        sys.exit(77)
    if args.only != "vigil" and not shutil.which("serf"):
        print("skipped: needs the serf command (Debian package serf)")
        sys.exit(77)
    from netns import NetNS
    results = []
    for n in [int(x) for x in args.nodes.split(",")]:
        for system in ("vigil", "serf"):
            if args.only and system != args.only:
                continue
            ns = NetNS("bench")
            workdir = tempfile.mkdtemp(prefix="vigil-bench-")
            try:
                if args.loss:
                    ns.loss(args.loss)
                counters = Counters(ns)
                r = (run_vigil(ns, n, args.vigil, args.idle, counters, workdir) if system == "vigil"
                     else run_serf(ns, n, args.idle, counters, workdir))
                r = summary(r)
                r.update({"system": system, "nodes": n, "loss_pct": args.loss})
                results.append(r)
                print(json.dumps(r), flush=True)
            finally:
                ns.close()
                if not os.environ.get("BENCH_KEEP"):
                    shutil.rmtree(workdir, ignore_errors=True)
    print("\n| N | system | mode | idle CPU per agent | bytes/s per agent | convergence p95 (hook / seen) "
          "| detection p50 / p95 (hook) | detection p95 (seen) | undetected | false stale |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        f = lambda v: "-" if v is None else "%.2f s" % v  # noqa: E731
        seen = lambda k: f(r[k]["p95"]) if k in r else "-"  # noqa: E731
        print("| %d | %s | %s | %.2f %% | %.0f | %s / %s | %s / %s | %s | %d | %d |" % (
            r["nodes"], r["system"], r["mode"], r["cpu_pct"], r["bytes_per_s"],
            f(r["convergence_s"]["p95"]), seen("convergence_seen_s"), f(r["detection_s"]["p50"]),
            f(r["detection_s"]["p95"]), seen("detection_seen_s"), r["undetected"], r["false_stale"]))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
