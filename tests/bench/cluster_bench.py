#!/usr/bin/env python3
"""Cluster benchmarks: real vigil agents on loopback addresses (127.0.x.y).

For each cluster size N (default 3, 5, 10), with the default heartbeat
timings (interval 500ms, timeout 2s):

  convergence  `node set .labels.k=<run>` on one node (the writer rotates);
               a `node wait --filter .node.<writer>.labels.k=<run>` runs on
               every other node, started beforehand. Per run: the time from
               launching `node set` to the last of those waits exiting 0.
  idle cost    at the largest N, after convergence: CPU time (utime + stime
               from /proc/<pid>/stat) of every agent over a quiet window, as a
               percentage of one core, and VmRSS from /proc/<pid>/status.
  detection    a `node events --format json --filter NodeStale` stream on
               every survivor, then SIGKILL one agent (the victim rotates).
               Per survivor: the event's "at" (daemon wall clock, ms) minus
               the wall time just before the kill; per run: the max over the
               survivors. The victim is restarted and every node waits for
               `.peers.*.state=alive` before the next run.

Any NodeStale that is not about a killed agent is reported as a false stale
(from the event streams during detection runs, and from the agents' logs
during the convergence and idle phases).

Prints median and p95 (nearest rank) per N and a target verdict; --json FILE
writes everything, per-run samples included. Python 3 standard library only.
"""
import argparse
import datetime
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import vigil_cluster  # noqa: E402
from vigil_cluster import Cluster, EventStream  # noqa: E402

# Targets (the issue): detection p95 <= timeout + interval + slack;
# convergence p95; idle cost per agent at the largest N.
DETECTION_SLACK_MS = 250
CONVERGENCE_P95_MS = 300
IDLE_CPU_PCT = 1.0
IDLE_RSS_MIB = 20.0


def parse_duration_ms(text):
    for suffix, scale in (("ms", 1), ("s", 1000), ("m", 60000)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * scale
    raise ValueError("bad duration %r (expected e.g. 500ms, 2s)" % text)


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summarize(values):
    if not values:
        return {"n": 0}
    return {"n": len(values), "min_ms": round(min(values), 1),
            "median_ms": round(statistics.median(values), 1),
            "p95_ms": round(percentile(values, 95), 1), "max_ms": round(max(values), 1)}


def event_wall_seconds(at):
    """Seconds since the epoch of an event's "at" (RFC 3339, UTC, ms)."""
    t = datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


class TimedEventStream(EventStream):
    """An EventStream that also notes when each event line arrived."""

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            event["_rx_mono"] = time.monotonic()
            with self._lock:
                self.events.append(event)


class BenchCluster(Cluster):
    """The test harness cluster, with the daemon's default log level (info)."""

    def config_text(self, node):
        return super().config_text(node).replace('log_level = "debug"', 'log_level = "info"')

    def wait_all_alive(self, duration="30s"):
        bad = [n for n in self.nodes if not self.wait(n, ".peers.*.state=alive", duration)]
        if bad:
            raise RuntimeError("peers not all alive on %s" % ", ".join(bad))

    def stale_log_lines(self):
        out = []
        for node in self.nodes:
            for line in self.log(node).splitlines():
                if " NodeStale " in line:
                    out.append("%s: %s" % (node, line.strip()))
        return out


def run_convergence(c, runs, log):
    samples, set_ms, failures = [], [], []
    for i in range(runs):
        writer = c.nodes[i % len(c.nodes)]
        readers = [n for n in c.nodes if n != writer]
        value = "c%d" % i
        cond = ".node.%s.labels.k=%s" % (writer, value)
        procs, exits = {}, {}

        def watch(node, proc, exits):
            proc.wait()
            exits[node] = (time.monotonic(), proc.returncode)

        threads = []
        for n in readers:
            procs[n] = subprocess.Popen(
                [vigil_cluster.VIGIL, "--config", c.config_path(n), "node", "wait",
                 "--filter", cond, "--duration", "10s"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            t = threading.Thread(target=watch, args=(n, procs[n], exits), daemon=True)
            t.start()
            threads.append(t)
        time.sleep(0.5)  # every wait is registered with its daemon
        early = [n for n in readers if n in exits]
        t0 = time.monotonic()
        res = c.cli(writer, "node", "set", ".labels.k=%s" % value)
        set_ms.append((time.monotonic() - t0) * 1000)
        for t in threads:
            t.join(15)
        bad = [n for n in readers if n not in exits or exits[n][1] != 0 or n in early]
        if res.returncode != 0 or bad:
            failures.append({"run": i, "writer": writer, "set_rc": res.returncode,
                             "set_stderr": res.stderr.strip(), "failed_readers": bad})
            log("  convergence run %d: FAILED (%s)" % (i, failures[-1]))
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
                    p.wait()
            continue
        per_reader = {n: round((exits[n][0] - t0) * 1000, 1) for n in readers}
        latency = max(per_reader.values())
        samples.append(latency)
        log("  convergence run %2d: writer %-3s %7.1f ms (node set returned after %.1f ms)"
            % (i, writer, latency, set_ms[-1]))
    return {"samples_ms": [round(s, 1) for s in samples], "node_set_ms": summarize(set_ms),
            "failures": failures, **summarize(samples)}


def read_proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return int(fields[11]) + int(fields[12])


def read_proc_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def run_idle(c, seconds, log):
    time.sleep(2.0)  # let the last waits and commits settle
    hz = os.sysconf("SC_CLK_TCK")
    pids = {n: c.procs[n].pid for n in c.nodes}
    t0 = time.monotonic()
    ticks0 = {n: read_proc_cpu_ticks(p) for n, p in pids.items()}
    rss0 = {n: read_proc_kib(p, "VmRSS") for n, p in pids.items()}
    time.sleep(seconds)
    ticks1 = {n: read_proc_cpu_ticks(p) for n, p in pids.items()}
    elapsed = time.monotonic() - t0
    per_node = {}
    for n, p in pids.items():
        cpu_pct = (ticks1[n] - ticks0[n]) / hz / elapsed * 100.0
        rss = max(rss0[n], read_proc_kib(p, "VmRSS")) / 1024.0
        per_node[n] = {"cpu_pct": round(cpu_pct, 3), "rss_mib": round(rss, 2),
                       "hwm_mib": round(read_proc_kib(p, "VmHWM") / 1024.0, 2)}
    cpus = [v["cpu_pct"] for v in per_node.values()]
    rss = [v["rss_mib"] for v in per_node.values()]
    out = {"nodes": len(pids), "seconds": round(elapsed, 2), "clock_ticks_per_s": hz,
           "mean_cpu_pct": round(statistics.mean(cpus), 3), "max_cpu_pct": round(max(cpus), 3),
           "max_rss_mib": round(max(rss), 2), "mean_rss_mib": round(statistics.mean(rss), 2),
           "per_node": per_node}
    log("  idle over %.1f s: mean CPU %.3f%% of a core (max %.3f%%), RSS max %.2f MiB"
        % (elapsed, out["mean_cpu_pct"], out["max_cpu_pct"], out["max_rss_mib"]))
    return out


def run_detection(c, runs, log):
    samples, samples_rx, failures, false_stale = [], [], [], []
    for i in range(runs):
        victim = c.nodes[(i + 1) % len(c.nodes)]
        survivors = [n for n in c.nodes if n != victim]
        streams = {n: TimedEventStream(c, n, "NodeStale") for n in survivors}
        try:
            time.sleep(0.5)  # the subscriptions are live
            dead = [n for n, s in streams.items() if s.proc.poll() is not None]
            if dead:
                raise RuntimeError("event stream exited on %s" % ", ".join(dead))
            kill_wall, kill_mono = time.time(), time.monotonic()
            c.kill(victim)
            deadline = time.monotonic() + 15
            got = {}
            while time.monotonic() < deadline and len(got) < len(survivors):
                for n, s in streams.items():
                    if n not in got:
                        found = s.matching("NodeStale", node=victim)
                        if found:
                            got[n] = found[0]
                time.sleep(0.02)
            time.sleep(0.2)  # a little longer, to catch NodeStale about others
            for n, s in streams.items():
                for e in s.snapshot():
                    if e["labels"].get("node") != victim:
                        false_stale.append({"run": i, "observer": n, "event": {
                            k: v for k, v in e.items() if not k.startswith("_")}})
        finally:
            for s in streams.values():
                s.close()
        missing = [n for n in survivors if n not in got]
        if missing:
            failures.append({"run": i, "victim": victim, "no_event_on": missing})
            log("  detection run %d: victim %s: no NodeStale on %s" % (i, victim, missing))
        if got:
            at_ms = {n: (event_wall_seconds(e["at"]) - kill_wall) * 1000 for n, e in got.items()}
            rx_ms = {n: (e["_rx_mono"] - kill_mono) * 1000 for n, e in got.items()}
            if not missing:
                samples.append(max(at_ms.values()))
                samples_rx.append(max(rx_ms.values()))
            log("  detection run %2d: victim %-3s max %7.1f ms by event time, %7.1f ms by receipt"
                " (min %.1f)" % (i, victim, max(at_ms.values()), max(rx_ms.values()),
                                 min(at_ms.values())))
        c.start(victim)
        c.wait_all_alive()
    out = {"samples_ms": [round(s, 1) for s in samples],
           "by_receipt": {"samples_ms": [round(s, 1) for s in samples_rx], **summarize(samples_rx)},
           "failures": failures, "false_stale": false_stale, **summarize(samples)}
    return out


def hb_drops(c):
    out = {}
    for n in c.nodes:
        try:
            drops = {k: v for k, v in c.hb(n).get("dropped", {}).items() if v}
        except (AssertionError, ValueError) as e:
            drops = {"error": str(e)}
        if drops:
            out[n] = drops
    return out


def bench_size(n, args, log, idle):
    log("N=%d: starting %d agents (interval %s, timeout %s)" % (n, n, args.interval, args.timeout))
    c = BenchCluster("bench-n%d" % n, size=n, interval=args.interval, timeout=args.timeout,
                     cluster_name="bench%d" % n)
    result = {"nodes": n}
    try:
        t0 = time.monotonic()
        c.start_all()
        c.wait_all_alive()
        result["startup_to_all_alive_ms"] = round((time.monotonic() - t0) * 1000, 1)
        stale_before = len(c.stale_log_lines())
        result["convergence"] = run_convergence(c, args.converge_runs, log)
        if idle:
            result["idle"] = run_idle(c, args.idle_seconds, log)
        lines = c.stale_log_lines()
        result["false_stale_quiet_phases"] = lines[stale_before:]
        result["detection"] = run_detection(c, args.detect_runs, log)
        result["hb_drops"] = hb_drops(c)
    finally:
        c.close()
    return result


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def verdicts(results, args):
    interval, timeout = parse_duration_ms(args.interval), parse_duration_ms(args.timeout)
    detect_target = timeout + interval + DETECTION_SLACK_MS
    out = []
    for r in results:
        n = r["nodes"]
        d, cv = r.get("detection", {}), r.get("convergence", {})
        if d.get("n"):
            out.append(("detection p95 N=%d" % n, d["p95_ms"], "<= %.0f ms" % detect_target,
                        d["p95_ms"] <= detect_target and not d["failures"]))
        if cv.get("n"):
            out.append(("convergence p95 N=%d" % n, cv["p95_ms"], "<= %d ms" % CONVERGENCE_P95_MS,
                        cv["p95_ms"] <= CONVERGENCE_P95_MS and not cv["failures"]))
        if "idle" in r:
            idle = r["idle"]
            out.append(("idle CPU mean N=%d" % n, idle["mean_cpu_pct"], "<= %.1f %%" % IDLE_CPU_PCT,
                        idle["mean_cpu_pct"] <= IDLE_CPU_PCT))
            out.append(("idle RSS max N=%d" % n, idle["max_rss_mib"], "<= %.0f MiB" % IDLE_RSS_MIB,
                        idle["max_rss_mib"] <= IDLE_RSS_MIB))
        false = len(d.get("false_stale", [])) + len(r.get("false_stale_quiet_phases", []))
        out.append(("false NodeStale N=%d" % n, false, "= 0", false == 0))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", default=os.environ.get("VIGIL_BIN",
                                                      os.path.join(ROOT, "build", "bin", "vigil")),
                    help="vigil binary (default: $VIGIL_BIN or build/bin/vigil)")
    ap.add_argument("--sizes", default="3,5,10", help="cluster sizes, comma-separated")
    ap.add_argument("--detect-runs", type=int, default=10)
    ap.add_argument("--converge-runs", type=int, default=20)
    ap.add_argument("--idle-seconds", type=float, default=20.0)
    ap.add_argument("--interval", default="500ms", help="heartbeat interval (default: 500ms)")
    ap.add_argument("--timeout", default="2s", help="heartbeat timeout (default: 2s)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke check: N=3 only, 3 runs each, 5 s idle window")
    ap.add_argument("--json", metavar="FILE", help="write the summary as JSON")
    ap.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.detect_runs, args.converge_runs, args.idle_seconds = "3", 3, 3, 5.0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    vigil = os.path.abspath(args.vigil)
    if not os.access(vigil, os.X_OK):
        sys.exit("cluster_bench: no vigil binary at %s (build it, or pass --vigil)" % vigil)
    vigil_cluster.VIGIL = vigil

    def log(msg):
        print(msg, flush=True)

    # SIGTERM (e.g. from a timeout) unwinds through the clusters' cleanup.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    results = []
    for n in sizes:
        results.append(bench_size(n, args, log, idle=(n == max(sizes))))

    checks = verdicts(results, args)
    print()
    print("load average before %s, after %s (1/5/15 min; %d CPUs)"
          % (" ".join("%.2f" % x for x in load_before),
             " ".join("%.2f" % x for x in os.getloadavg()), os.cpu_count()))
    print("%-5s %-34s %-34s %s" % ("N", "detection ms (median / p95 / max)",
                                   "convergence ms (median / p95 / max)", "false stale"))
    for r in results:
        d, cv = r["detection"], r["convergence"]
        fmt = lambda s: ("%.0f / %.0f / %.0f" % (s["median_ms"], s["p95_ms"], s["max_ms"])
                         if s.get("n") else "-")
        false = len(d["false_stale"]) + len(r["false_stale_quiet_phases"])
        print("%-5d %-34s %-34s %d" % (r["nodes"], fmt(d) + " (%d runs)" % d["n"],
                                        fmt(cv) + " (%d runs)" % cv["n"], false))
    for r in results:
        if "idle" in r:
            i = r["idle"]
            print("idle N=%d over %.0f s: CPU mean %.3f%% / max %.3f%% of a core; RSS max %.2f MiB"
                  % (r["nodes"], i["seconds"], i["mean_cpu_pct"], i["max_cpu_pct"],
                     i["max_rss_mib"]))
    print()
    for name, value, target, ok in checks:
        print("%-26s %10s  target %-12s %s" % (name, value, target, "met" if ok else "MISSED"))
    failures = sum(len(r["detection"]["failures"]) + len(r["convergence"]["failures"])
                   for r in results)
    if args.json:
        summary = {
            "date": started.isoformat(timespec="seconds"),
            "machine": {"cpu_model": cpu_model(), "cpus": os.cpu_count(),
                        "kernel": platform.release(),
                        "loadavg_1_5_15_before": [round(x, 2) for x in load_before],
                        "loadavg_1_5_15_after": [round(x, 2) for x in os.getloadavg()]},
            "vigil": vigil,
            "settings": {"sizes": sizes, "detect_runs": args.detect_runs,
                         "converge_runs": args.converge_runs, "idle_seconds": args.idle_seconds,
                         "interval": args.interval, "timeout": args.timeout,
                         "percentile": "nearest rank"},
            "results": results,
            "targets": [{"name": n, "value": v, "target": t, "met": ok}
                        for n, v, t, ok in checks],
        }
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
        print("summary written to %s" % args.json)
    if failures:
        print("%d run(s) failed (see above)" % failures)
        return 1
    if args.fail_on_miss and not all(ok for *_, ok in checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
