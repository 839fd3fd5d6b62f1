#!/usr/bin/env python3
"""Join and leave latency: real vigil agents on loopback addresses (127.0.x.y).

For each cluster size N (default 3 and 10), with the default heartbeat timings
(interval 500ms, timeout 2s): N members n1..nN, n1 with an [api] TLS listener
(the seed), and one more node n<N+1> started from a config without [cluster]
(standalone). Then, --runs times over the same joiner:

  join   a fresh `cluster token` from n1; one `node wait` per node, started
         beforehand and blocking until the condition holds:
           on each member   --filter .peers.<joiner>.state=alive
           on the joiner    --filter .peers.<m>.state=alive for every member m
         then `cluster join --token T --seed n1` on the joiner. Per run: the
         time from launching `cluster join` to the last of those waits
         exiting 0 (every node sees every other alive).
  leave  one `node wait --filter '.cluster.nodes.*!=<joiner>'` per member
         (the joiner is no longer a member there), and one
         `--filter .cluster.standalone=true` on the joiner; then
         `cluster leave` on the joiner. Per run: the time from launching
         `cluster leave` to the last member's wait exiting 0. Afterwards every
         member must list the joiner as `left` in `cluster members`.

A node that left joins again with a fresh token, so the runs alternate join,
leave, join... With --method poll, the waits are replaced by one thread per
node that reads GET /v1/status over the node's API socket every --poll-ms and
tests the same condition (a cross-check of the event-driven waits; the polls
load the daemons, so they are not the default).

Also reported: how long `cluster join` and `cluster leave` took to return,
the per-node times (the seed, the other members, the joiner), and every
NodeStale and HeartbeatStale the agents logged, up to the joiner's timeout
after the last leave (none may happen: a leave is not a failure).

Prints median and p95 (nearest rank) per N and the target verdict (join p95
< 1.5 s); --format json prints the summary as JSON instead, --json FILE also
writes it. Exits 0 when every run succeeded, 1 when one failed, 2 on a bad
argument or a missing vigil binary, 77 (skipped) without the openssl command
(the seed's TLS certificate is made with it). Python 3 standard library only.
Not a ctest test; tests/bench/run_all.sh runs it.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)
import vigil_cluster  # noqa: E402
from vigil_cluster import SKIP_EXIT, write_private  # noqa: E402
from cluster_bench import BenchCluster, cpu_model, parse_duration_ms, percentile  # noqa: E402

JOIN_P95_TARGET_MS = 1500
ADMIN_KEY = "bench-admin-key-0123456789abcdef-0123"
USER_KEY = "bench-user-key-0123456789abcdef-01234"
WAIT_DURATION_S = 10  # the bound of every wait (a run that exceeds it fails)


def summarize(values):
    if not values:
        return {"n": 0}
    return {"n": len(values), "min_ms": round(min(values), 1),
            "median_ms": round(statistics.median(values), 1),
            "p95_ms": round(percentile(values, 95), 1), "max_ms": round(max(values), 1)}


class JoinCluster(BenchCluster):
    """The bench cluster (log level info), whose joiner logs at info too."""

    def add_joiner(self, node):
        path = super().add_joiner(node)
        with open(path) as f:
            text = f.read()
        write_private(path, text.replace('log_level = "debug"', 'log_level = "info"'))
        return path


# ---- the two ways of timing "node X sees condition C" ------------------------

class WaitWatch:
    """`vigil node wait --filter C... --duration 10s` on one node, started now;
    records the monotonic time its process exited."""

    def __init__(self, c, node, conditions):
        args = [vigil_cluster.VIGIL, "--config", c.config_path(node), "node", "wait"]
        for cond in conditions:
            args += ["--filter", cond]
        args += ["--duration", "%ds" % WAIT_DURATION_S]
        self.node = node
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.exited = None  # (monotonic time, return code, stderr)
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        err = self.proc.stderr.read()
        self.proc.wait()
        self.exited = (time.monotonic(), self.proc.returncode, err.strip())

    def done_early(self):
        return self.exited is not None

    def finish(self, timeout):
        self.thread.join(timeout)
        if self.exited is None:
            self.proc.kill()
            self.thread.join(5)
        return self.exited


def http_get_json(sock_path, path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n" % path.encode())
        data = b""
        while True:
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = None
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                if length is not None and len(body) >= length:
                    break
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError("%s %s: %r" % (sock_path, path, head[:100]))
    return json.loads(body)


class PollWatch:
    """A thread that reads GET /v1/status of `node` every `period` s until
    `predicate(dataset)` holds; records the monotonic time it first held."""

    def __init__(self, c, node, predicate, period):
        self.node = node
        self.sock = os.path.join(c.var_dir(node), "api.sock")
        self.predicate, self.period = predicate, period
        self.exited = None
        self.stop = False
        self.early = self._holds()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _holds(self):
        try:
            return bool(self.predicate(http_get_json(self.sock, "/v1/status")))
        except (OSError, ValueError, RuntimeError):
            return False

    def _run(self):
        deadline = time.monotonic() + WAIT_DURATION_S + 5
        while not self.stop and time.monotonic() < deadline:
            if self._holds():
                self.exited = (time.monotonic(), 0, "")
                return
            time.sleep(self.period)
        self.exited = (time.monotonic(), 1, "poll: the condition did not hold in time")

    def done_early(self):
        return self.early

    def finish(self, timeout):
        self.thread.join(timeout)
        self.stop = True
        self.thread.join(5)
        return self.exited


def peer_alive(name):
    return lambda ds: ds.get("peers", {}).get(name, {}).get("state") == "alive"


def peers_alive(names):
    return lambda ds: all(ds.get("peers", {}).get(n, {}).get("state") == "alive" for n in names)


def not_member(name):
    return lambda ds: name not in ds.get("cluster", {}).get("nodes", [name])


def standalone(ds):
    return ds.get("cluster", {}).get("standalone") is True


# ---- one cluster size --------------------------------------------------------

def members_json(c, node):
    res = c.cli(node, "cluster", "members", "--format", "json")
    if res.returncode != 0:
        raise RuntimeError("%s: cluster members: exit %d: %s" % (node, res.returncode,
                                                                res.stderr.strip()))
    return json.loads(res.stdout)


def start_watches(c, specs, args):
    """specs: {node: (conditions for node wait, predicate for polling)}."""
    out = {}
    for node, (conditions, predicate) in specs.items():
        if args.method == "wait":
            out[node] = WaitWatch(c, node, conditions)
        else:
            out[node] = PollWatch(c, node, predicate, args.poll_ms / 1000.0)
    if args.method == "wait":
        time.sleep(args.arm_s)  # every wait is registered with its daemon
    return out


def collect(watches, t0, early):
    """{node: ms from t0} and a list of failures."""
    per_node, bad = {}, []
    for node, w in watches.items():
        got = w.finish(WAIT_DURATION_S + 5)
        if node in early:
            bad.append("%s: the condition held before the command" % node)
        elif got is None:
            bad.append("%s: the wait did not end" % node)
        elif got[1] != 0:
            bad.append("%s: exit %d: %s" % (node, got[1], got[2]))
        else:
            per_node[node] = round((got[0] - t0) * 1000, 1)
    return per_node, bad


def one_join(c, seed, joiner, members, api_addr, args):
    tok = c.cli(seed, "cluster", "token")
    if tok.returncode != 0:
        return None, {"error": "cluster token: exit %d: %s" % (tok.returncode, tok.stderr.strip())}
    token = tok.stdout.strip()
    specs = {m: ([".peers.%s.state=alive" % joiner], peer_alive(joiner)) for m in members}
    specs[joiner] = ([".peers.%s.state=alive" % m for m in members], peers_alive(members))
    watches = start_watches(c, specs, args)
    early = [n for n, w in watches.items() if w.done_early()]
    t0 = time.monotonic()
    res = c.cli(joiner, "cluster", "join", "--token", token, "--seed", api_addr,
                "--timeout", "%ds" % WAIT_DURATION_S)
    cli_ms = round((time.monotonic() - t0) * 1000, 1)
    per_node, bad = collect(watches, t0, early)
    run = {"cli_ms": cli_ms, "cli_rc": res.returncode, "per_node_ms": per_node}
    if res.returncode != 0:
        bad.insert(0, "cluster join: exit %d: %s" % (res.returncode, res.stderr.strip()))
    if bad:
        run["error"] = "; ".join(bad)
        return None, run
    run["latency_ms"] = max(per_node.values())
    return run["latency_ms"], run


def one_leave(c, joiner, members, args):
    specs = {m: [".cluster.nodes.*!=%s" % joiner] for m in members}
    specs = {m: (conds, not_member(joiner)) for m, conds in specs.items()}
    specs[joiner] = ([".cluster.standalone=true"], standalone)
    watches = start_watches(c, specs, args)
    early = [n for n, w in watches.items() if w.done_early()]
    t0 = time.monotonic()
    res = c.cli(joiner, "cluster", "leave")
    cli_ms = round((time.monotonic() - t0) * 1000, 1)
    per_node, bad = collect(watches, t0, early)
    run = {"cli_ms": cli_ms, "cli_rc": res.returncode, "per_node_ms": per_node}
    if res.returncode != 0:
        bad.insert(0, "cluster leave: exit %d: %s" % (res.returncode, res.stderr.strip()))
    # Every member lists it as left (checked after the timing).
    for m in members:
        try:
            state = members_json(c, m).get(joiner, {}).get("state")
        except (RuntimeError, ValueError) as e:
            state = "error: %s" % e
        if state != "left":
            bad.append("%s: cluster members shows %s as %r, not 'left'" % (m, joiner, state))
    if bad:
        run["error"] = "; ".join(bad)
        return None, run
    run["latency_ms"] = max(per_node[m] for m in members)
    return run["latency_ms"], run


def stale_lines(c):
    """Every NodeStale and HeartbeatStale the agents logged."""
    return ["%s: %s" % (n, line.strip()) for n in c.nodes for line in c.log(n).splitlines()
            if " NodeStale " in line or " HeartbeatStale " in line]


def bench_size(n, args, log):
    c = JoinCluster("bench-join-n%d" % n, size=n, interval=args.interval, timeout=args.timeout,
                    cluster_name="join%d" % n)
    seed, members, joiner = "n1", list(c.nodes), "n%d" % (n + 1)
    api_port = c.port + 50
    api_addr = "%s:%d" % (c.addr(seed), api_port)
    result = {"nodes": n, "joiner": joiner, "label": "N=%d" % n}
    joins, leaves, runs = [], [], []
    try:
        c.add_tls_api(seed, api_port, ADMIN_KEY, USER_KEY)
        log("N=%d: starting %d members and %s (interval %s, timeout %s)"
            % (n, n, joiner, args.interval, args.timeout))
        c.start_all()
        c.wait_all_alive()
        c.add_joiner(joiner)
        c.start(joiner)
        if not c.status(joiner)["cluster"]["standalone"]:
            raise RuntimeError("%s did not start standalone" % joiner)
        for i in range(args.runs):
            time.sleep(args.settle_s)
            lat, jrun = one_join(c, seed, joiner, members, api_addr, args)
            runs.append({"run": i, "join": jrun})
            if lat is None:
                log("  run %2d: join FAILED: %s" % (i, jrun["error"]))
                break
            joins.append(lat)
            others = [jrun["per_node_ms"][m] for m in members if m != seed]
            log("  run %2d: join  %7.1f ms (cluster join returned %6.1f ms; seed %6.1f,"
                " other members max %6.1f, %s %6.1f)"
                % (i, lat, jrun["cli_ms"], jrun["per_node_ms"][seed], max(others),
                   joiner, jrun["per_node_ms"][joiner]))
            time.sleep(args.settle_s)
            lat, lrun = one_leave(c, joiner, members, args)
            runs[-1]["leave"] = lrun
            if lat is None:
                log("  run %2d: leave FAILED: %s" % (i, lrun["error"]))
                break
            leaves.append(lat)
            log("  run %2d: leave %7.1f ms (cluster leave returned %6.1f ms; seed %6.1f,"
                " other members max %6.1f; %s standalone %6.1f)"
                % (i, lat, lrun["cli_ms"], lrun["per_node_ms"][seed],
                   max(lrun["per_node_ms"][m] for m in members if m != seed), joiner,
                   lrun["per_node_ms"].get(joiner, float("nan"))))
        # Past the joiner's heartbeat timeout after the last leave: a leave
        # that some member took for a failure would show as a NodeStale now.
        time.sleep(args.timeout_s + args.interval_s + 0.5)
    finally:
        result["stale"] = stale_lines(c)
        c.close()
    result["join"] = {"samples_ms": joins, "cli_ms": summarize([r["join"]["cli_ms"] for r in runs]),
                      **summarize(joins)}
    result["leave"] = {"samples_ms": leaves,
                       "cli_ms": summarize([r["leave"]["cli_ms"] for r in runs if "leave" in r]),
                       **summarize(leaves)}
    # The leaver's own dataset: standalone only after `cluster leave` returned?
    late = [r["leave"]["per_node_ms"][joiner] - r["leave"]["cli_ms"] for r in runs
            if "latency_ms" in r.get("leave", {})]
    result["leaver_standalone_after_cli"] = {
        "runs": len(late), "later_than_cli": sum(1 for x in late if x > 0),
        "max_ms_after_cli": round(max(late), 1) if late else None}
    result["failures"] = [dict(run=r["run"], **{k: v["error"] for k, v in r.items()
                                                 if isinstance(v, dict) and "error" in v})
                          for r in runs if any(isinstance(v, dict) and "error" in v
                                               for v in r.values())]
    result["runs"] = runs
    return result


# ---- main --------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", default=os.environ.get("VIGIL_BIN",
                                                      os.path.join(ROOT, "build", "bin", "vigil")),
                    help="vigil binary (default: $VIGIL_BIN or build/bin/vigil)")
    ap.add_argument("--sizes", default="3,10", help="member counts, comma-separated (default 3,10)")
    ap.add_argument("--runs", type=int, default=20, help="joins (and leaves) per size (default 20)")
    ap.add_argument("--interval", default="500ms", help="heartbeat interval (default: 500ms)")
    ap.add_argument("--timeout", default="2s", help="heartbeat timeout (default: 2s)")
    ap.add_argument("--method", choices=("wait", "poll"), default="wait",
                    help="wait: `node wait` processes (default); poll: GET /v1/status per node")
    ap.add_argument("--poll-ms", type=float, default=20.0, help="--method poll: period (20)")
    ap.add_argument("--arm-s", type=float, default=0.5,
                    help="seconds between starting the waits and the command (default 0.5)")
    ap.add_argument("--settle-s", type=float, default=1.0,
                    help="pause before each join and each leave (default 1.0)")
    ap.add_argument("--quick", action="store_true", help="smoke check: N=3, 3 runs")
    ap.add_argument("--format", choices=("table", "json"), default="table",
                    help="what to print at the end (default: table)")
    ap.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    ap.add_argument("--fail-on-miss", action="store_true", help="exit 1 when the target is missed")
    args = ap.parse_args(argv)
    try:
        args.interval_s = parse_duration_ms(args.interval) / 1000.0
        args.timeout_s = parse_duration_ms(args.timeout) / 1000.0
    except ValueError as e:
        ap.error(str(e))
    if args.quick:
        args.sizes, args.runs = "3", 3
    try:
        args.size_list = [int(x) for x in args.sizes.split(",") if x]
    except ValueError:
        ap.error("--sizes: a comma-separated list of numbers")
    if not args.size_list or any(x < 1 for x in args.size_list) or args.runs < 1:
        ap.error("--sizes and --runs must be positive")
    return args


def main():
    args = parse_args()
    vigil = os.path.abspath(args.vigil)
    if not os.access(vigil, os.X_OK):
        print("join_latency: no vigil binary at %s (build it, or pass --vigil)" % vigil,
              file=sys.stderr)
        return 2
    if shutil.which("openssl") is None:
        print("SKIP: join_latency needs the openssl command (the seed's TLS certificate)",
              file=sys.stderr)
        return SKIP_EXIT
    vigil_cluster.VIGIL = vigil
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # In JSON mode the progress lines go to stderr, so stdout is one document.
    out = sys.stderr if args.format == "json" else sys.stdout

    def log(msg):
        print(msg, file=out, flush=True)

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    results = [bench_size(n, args, log) for n in args.size_list]
    load_after = os.getloadavg()
    checks = [("join p95 N=%d" % r["nodes"], r["join"].get("p95_ms"),
               "< %d ms" % JOIN_P95_TARGET_MS,
               bool(r["join"].get("n")) and r["join"]["p95_ms"] < JOIN_P95_TARGET_MS
               and not r["failures"]) for r in results]
    summary = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "machine": {"cpu_model": cpu_model(), "cpus": os.cpu_count(),
                    "kernel": platform.release(),
                    "loadavg_1_5_15_before": [round(x, 2) for x in load_before],
                    "loadavg_1_5_15_after": [round(x, 2) for x in load_after]},
        "vigil": vigil,
        "settings": {"sizes": args.size_list, "runs": args.runs, "interval": args.interval,
                     "timeout": args.timeout, "method": args.method,
                     "poll_ms": args.poll_ms if args.method == "poll" else None,
                     "percentile": "nearest rank"},
        "results": results,
        "targets": [{"name": n, "value": v, "target": t, "met": ok} for n, v, t, ok in checks],
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    failures = sum(len(r["failures"]) for r in results)
    if args.format == "json":
        json.dump(summary, sys.stdout, indent=2)
        print()
    else:
        def fmt(s):
            return ("%.0f / %.0f / %.0f / %.0f" % (s["min_ms"], s["median_ms"], s["p95_ms"],
                                                   s["max_ms"]) if s.get("n") else "-")
        print()
        print("load average before %s, after %s (1/5/15 min; %d CPUs); method %s"
              % (" ".join("%.2f" % x for x in load_before),
                 " ".join("%.2f" % x for x in load_after), os.cpu_count(), args.method))
        print("%-6s %-5s %-34s %-34s %s" % ("N", "runs", "join ms (min / median / p95 / max)",
                                            "leave ms (min / median / p95 / max)",
                                            "stale events"))
        for r in results:
            print("%-6s %-5s %-34s %-34s %d" % (r["label"], "%d/%d" % (r["join"]["n"], args.runs),
                                                fmt(r["join"]), fmt(r["leave"]),
                                                len(r["stale"])))
        print("%-6s %-5s %-34s %-34s" % ("", "", "`cluster join` returned after",
                                         "`cluster leave` returned after"))
        for r in results:
            print("%-6s %-5s %-34s %-34s" % (r["label"], "", fmt(r["join"]["cli_ms"]),
                                             fmt(r["leave"]["cli_ms"])))
        print()
        for name, value, target, ok in checks:
            print("%-20s %10s ms  target %-10s %s" % (name, value, target,
                                                    "met" if ok else "MISSED"))
        for r in results:
            for f in r["failures"]:
                print("%s run %d failed: %s" % (r["label"], f["run"],
                                                "; ".join("%s: %s" % (k, v) for k, v in f.items()
                                                          if k != "run")))
            for line in r["stale"]:
                print("%s stale event: %s" % (r["label"], line))
            late = r["leaver_standalone_after_cli"]
            if late["later_than_cli"]:
                print("%s: the leaver's own status read standalone only after `cluster leave`"
                      " returned in %d of %d runs (up to %.0f ms after)"
                      % (r["label"], late["later_than_cli"], late["runs"],
                         late["max_ms_after_cli"]))
        if args.json:
            print("summary written to %s" % args.json)
    if failures:
        return 1
    if args.fail_on_miss and not all(ok for *_, ok in checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
