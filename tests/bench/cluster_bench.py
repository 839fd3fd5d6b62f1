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

Heartbeat paths and faults (need root, iproute2 and nftables; everything runs
in a private network namespace the script creates and removes):

  --paths unicast,multicast  one heartbeat path per listed type (multicast
               needs --netns: loopback multicast inside the namespace)
  --loss 0,10  repeat every size at each random UDP loss percentage (an
               nftables `numgen random` drop in the namespace, applied once
               every agent is alive)
  idle bytes   the idle phase also reads `hb status --format json` on every
               agent before and after the window: UDP payload bytes and
               datagrams sent and received per second, per path
               (--idle-sizes chooses the sizes that get an idle phase)
  flood        (--phases flood) a separate cluster of --flood-size agents
               with --paths (the first one unicast); vigil-forge processes
               (--flood-senders) flood n1's unicast port with garbage for
               --flood-seconds. Reports the
               drops n1 counted (hb status "dropped") per second of flood
               and per CPU second n1 used, the datagrams the kernel dropped
               at n1's full socket buffer (/proc/<pid>/net/udp), the peers'
               heartbeats n1 still received, and every NodeStale or
               HeartbeatStale during the flood and 3 s after it (none may
               happen).

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
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import vigil_cluster  # noqa: E402
from vigil_cluster import Cluster, EventStream, OTHER_SECRET  # noqa: E402
from netns import NetNS  # noqa: E402

# Targets (the issue): detection p95 <= timeout + interval + slack;
# convergence p95; idle cost per agent at the largest N.
DETECTION_SLACK_MS = 250
CONVERGENCE_P95_MS = 300
IDLE_CPU_PCT = 1.0
IDLE_RSS_MIB = 20.0
# Garbage a node drops on one core (wrong cluster id, bad tag).
GARBAGE_PER_CORE_S = 500000
# IPv4 + UDP headers per datagram, added to UDP payload bytes for the IP-level rate.
IP_UDP_HEADER_BYTES = 28
PHASES = ("convergence", "idle", "detection", "flood")
# vigil-forge invocations per sender spec: the drop reason each should cause.
FLOOD_SENDERS = {
    "bad-tag": "wrong-key with another secret, our cluster id: bad_tag",
    "bad-cluster": "wrong-key with --cluster other: bad_cluster",
    "random": "random bytes: malformed / bad_magic",
}


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


class BenchCluster(Cluster):
    """The test harness cluster, with the daemon's default log level (info).
    Takes the harness's `paths` (path specs) and `netns` (a NetNS) too."""

    def config_text(self, node):
        return super().config_text(node).replace('log_level = "debug"', 'log_level = "info"')

    def wait_all_alive(self, duration="30s"):
        bad = [n for n in self.nodes if not self.wait(n, ".peers.*.state=alive", duration)]
        if bad:
            raise RuntimeError("peers not all alive on %s" % ", ".join(bad))

    def stale_log_lines(self, what=" NodeStale "):
        out = []
        for node in self.nodes:
            for line in self.log(node).splitlines():
                if what in line:
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


def read_schedstat(pid):
    """(ns on a CPU, ns runnable but waiting for a CPU) of `pid`."""
    with open("/proc/%d/schedstat" % pid) as f:
        ran, waited = f.read().split()[:2]
    return int(ran), int(waited)


def read_proc_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def hb_snapshot(c):
    """`hb status --format json` of every agent, with the time it was read."""
    out = {}
    for n in c.nodes:
        t0 = time.monotonic()
        status = c.hb(n)
        out[n] = ((t0 + time.monotonic()) / 2, status)
    return out


def hb_traffic(before, after):
    """Per node and path: UDP payload bytes and datagrams sent and received
    per second between two hb_snapshot()s, and a mean over the nodes."""
    per_node, per_path = {}, {}
    for n, (t1, s1) in after.items():
        t0, s0 = before[n]
        dt = t1 - t0
        paths0 = {p["id"]: p for p in s0["paths"]}
        node = {}
        for p1 in s1["paths"]:
            p0 = paths0[p1["id"]]
            rates = {k + "_per_s": (p1[k] - p0[k]) / dt for k in
                     ("sent_bytes", "sent_datagrams", "received_bytes", "received_datagrams")}
            rates["type"] = p1["type"]
            node[p1["id"]] = rates
            agg = per_path.setdefault(p1["id"], {"type": p1["type"], "nodes": []})
            agg["nodes"].append(rates)
        per_node[n] = {pid: {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}
                       for pid, r in node.items()}
    summary = {}
    for pid, agg in per_path.items():
        rows = agg["nodes"]
        out = {"type": agg["type"]}
        for k in ("sent_bytes_per_s", "sent_datagrams_per_s", "received_bytes_per_s",
                  "received_datagrams_per_s"):
            vals = [r[k] for r in rows]
            out[k] = round(statistics.mean(vals), 1)
            out[k.replace("_per_s", "_per_s_max")] = round(max(vals), 1)
        sent_dg = sum(r["sent_datagrams_per_s"] for r in rows)
        out["mean_sent_datagram_bytes"] = (
            round(sum(r["sent_bytes_per_s"] for r in rows) / sent_dg, 1) if sent_dg else None)
        # With the IPv4 and UDP headers: what the interface carries, minus link framing.
        out["sent_ip_bytes_per_s"] = round(
            out["sent_bytes_per_s"] + IP_UDP_HEADER_BYTES * out["sent_datagrams_per_s"], 1)
        out["received_ip_bytes_per_s"] = round(
            out["received_bytes_per_s"] + IP_UDP_HEADER_BYTES * out["received_datagrams_per_s"], 1)
        summary[pid] = out
    return {"per_path": summary, "per_node": per_node}


def delivery(before, after):
    """Per path: the share of the datagrams sent that peers received (and
    authenticated) between two hb_snapshot()s taken with no restart between
    them. A unicast send is one copy to one peer; a multicast send is meant
    for every other agent."""
    n = len(after)
    sent, received, kinds = {}, {}, {}
    for node, (_, s1) in after.items():
        paths0 = {p["id"]: p for p in before[node][1]["paths"]}
        for p1 in s1["paths"]:
            p0 = paths0[p1["id"]]
            kinds[p1["id"]] = p1["type"]
            copies = (n - 1) if p1["type"] == "multicast" else 1
            sent[p1["id"]] = sent.get(p1["id"], 0) + copies * (
                p1["sent_datagrams"] - p0["sent_datagrams"])
            received[p1["id"]] = received.get(p1["id"], 0) + sum(
                peer["received_datagrams"] - p0["peers"][name]["received_datagrams"]
                for name, peer in p1["peers"].items())
    return {pid: {"type": kinds[pid], "expected": sent[pid], "received": received[pid],
                  "delivered_pct": round(100.0 * received[pid] / sent[pid], 2) if sent[pid] else None}
            for pid in sent}


def run_idle(c, seconds, log):
    time.sleep(2.0)  # let the last waits and commits settle
    hz = os.sysconf("SC_CLK_TCK")
    pids = {n: c.procs[n].pid for n in c.nodes}
    hb0 = hb_snapshot(c)
    t0 = time.monotonic()
    ticks0 = {n: read_proc_cpu_ticks(p) for n, p in pids.items()}
    rss0 = {n: read_proc_kib(p, "VmRSS") for n, p in pids.items()}
    time.sleep(seconds)
    ticks1 = {n: read_proc_cpu_ticks(p) for n, p in pids.items()}
    elapsed = time.monotonic() - t0
    hb1 = hb_snapshot(c)
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
           "per_node": per_node, "traffic": hb_traffic(hb0, hb1)}
    log("  idle over %.1f s: mean CPU %.3f%% of a core (max %.3f%%), RSS max %.2f MiB"
        % (elapsed, out["mean_cpu_pct"], out["max_cpu_pct"], out["max_rss_mib"]))
    for pid, t in out["traffic"]["per_path"].items():
        log("  idle traffic per node on %s (%s): sent %.0f B/s (%.2f datagrams/s of %s B),"
            " received %.0f B/s (%.2f datagrams/s)"
            % (pid, t["type"], t["sent_bytes_per_s"], t["sent_datagrams_per_s"],
               t["mean_sent_datagram_bytes"], t["received_bytes_per_s"],
               t["received_datagrams_per_s"]))
    return out


def run_detection(c, runs, log):
    samples, samples_rx, failures, false_stale = [], [], [], []
    for i in range(runs):
        victim = c.nodes[(i + 1) % len(c.nodes)]
        survivors = [n for n in c.nodes if n != victim]
        streams = {n: EventStream(c, n, "NodeStale") for n in survivors}
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


def hb_drops(c, expected=()):
    """Non-zero drop counters per agent, leaving out the reasons in `expected`
    (with several paths, the second copy of each datagram counts as replay)."""
    out = {}
    for n in c.nodes:
        try:
            drops = {k: v for k, v in c.hb(n).get("dropped", {}).items()
                     if v and k not in expected}
        except (AssertionError, ValueError) as e:
            drops = {"error": str(e)}
        if drops:
            out[n] = drops
    return out


def config_label(n, paths, loss):
    return "N=%d %s loss %d%%" % (n, "+".join(p["type"] for p in paths), loss)


def bench_size(n, args, log, idle, paths=None, loss=0, ns=None):
    paths = paths or [{"type": "unicast"}]
    label = config_label(n, paths, loss)
    log("%s: starting %d agents (interval %s, timeout %s%s)"
        % (label, n, args.interval, args.timeout, ", in netns %s" % ns.name if ns else ""))
    name = "bench-n%d" % n
    if [p["type"] for p in paths] != ["unicast"] or loss:
        name += "-%s-l%d" % ("".join(p["type"][0] for p in paths), loss)
    c = BenchCluster(name, size=n, interval=args.interval, timeout=args.timeout,
                     cluster_name="bench%d" % n, paths=paths, netns=ns)
    result = {"nodes": n, "paths": [p["type"] for p in paths], "loss_pct": loss,
              "netns": bool(ns), "label": label}
    phases = args.phase_list
    try:
        t0 = time.monotonic()
        c.start_all()
        c.wait_all_alive()
        result["startup_to_all_alive_ms"] = round((time.monotonic() - t0) * 1000, 1)
        if loss:
            ns.loss(loss)
        stale_before = len(c.stale_log_lines())
        hb_stale_before = len(c.stale_log_lines(" HeartbeatStale "))
        hb_before = hb_snapshot(c)
        if "convergence" in phases:
            result["convergence"] = run_convergence(c, args.converge_runs, log)
        if idle:
            result["idle"] = run_idle(c, args.idle_seconds, log)
        if "convergence" in phases or idle:
            result["delivery"] = delivery(hb_before, hb_snapshot(c))
            log("  datagrams delivered (convergence and idle phases): %s"
                % ", ".join("%s %.1f%%" % (k, v["delivered_pct"])
                            for k, v in result["delivery"].items()))
        result["false_stale_quiet_phases"] = c.stale_log_lines()[stale_before:]
        # With loss, one path to a live peer may go stale for a while; that
        # is allowed (the node stays alive while any path hears it).
        result["heartbeat_stale_quiet_phases"] = len(
            c.stale_log_lines(" HeartbeatStale ")[hb_stale_before:])
        if "detection" in phases:
            result["detection"] = run_detection(c, args.detect_runs, log)
        result["hb_drops"] = hb_drops(c, expected=("replay",) if len(paths) > 1 else ())
    finally:
        if loss:
            ns.heal()
        c.close()
    return result


# ---- garbage flood -----------------------------------------------------------

def udp_socket_counters(pid, addr, port):
    """rx_queue bytes and drops of the UDP socket bound to addr:port, seen
    from the network namespace of `pid` (/proc/<pid>/net/udp)."""
    want = "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(addr))[0], port)
    with open("/proc/%d/net/udp" % pid) as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == want:
                return {"rx_queue_bytes": int(fields[4].split(":")[1], 16),
                        "drops": int(fields[-1])}
    return {"rx_queue_bytes": 0, "drops": 0}


def udp_snmp(pid):
    """The Udp: line of /proc/<pid>/net/snmp (the namespace of `pid`)."""
    with open("/proc/%d/net/snmp" % pid) as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return dict(zip(rows[0][1:], (int(v) for v in rows[1][1:])))


def forge_command(kind, c, target, forge, pool=0):
    cmd = [forge, "--to", "%s:%d" % (c.addr(target), c.port), "--count", "1000000000",
           "--sender", c.nodes[1]]
    if pool:
        cmd += ["--pool", str(pool)]
    if kind == "bad-tag":
        return cmd + ["--kind", "wrong-key", "--cluster", c.cluster_name, "--secret", OTHER_SECRET]
    if kind == "bad-cluster":
        return cmd + ["--kind", "wrong-key", "--cluster", "other", "--secret", OTHER_SECRET]
    if kind == "random":
        return cmd + ["--kind", "random"]
    raise ValueError("unknown flood sender %r (one of %s)" % (kind, ", ".join(FLOOD_SENDERS)))


def path_status(hb, path_id):
    return next(p for p in hb["paths"] if p["id"] == path_id)


def run_flood(args, log, ns):
    """Floods one agent's unicast port with garbage while every agent
    heartbeats; see the module docstring."""
    n, seconds, senders = args.flood_size, args.flood_seconds, args.flood_sender_list
    log("flood: %d agents (%s), %d vigil-forge sender(s) (%s) at n1's unicast port for %.0f s"
        " (interval %s, timeout %s)"
        % (n, "+".join(p["type"] for p in args.path_specs), len(senders), ", ".join(senders),
           seconds, args.interval, args.timeout))
    c = BenchCluster("bench-flood", size=n, interval=args.interval, timeout=args.timeout,
                     cluster_name="benchflood", netns=ns, paths=args.path_specs)
    target, peers = c.nodes[0], c.nodes[1:]
    hz = os.sysconf("SC_CLK_TCK")
    procs, streams, profilers = [], {}, []
    result = {"nodes": n, "paths": [p["type"] for p in args.path_specs], "target": target,
              "senders": senders, "sender_pool": args.flood_pool, "seconds": seconds,
              "interval": args.interval, "timeout": args.timeout}
    try:
        c.start_all()
        c.wait_all_alive()
        pid = c.procs[target].pid
        pin = args.flood_pin and (os.cpu_count() or 1) >= 2
        sender_prefix = []
        if pin:
            # n1 alone on CPU 0 (all its threads), the senders on the others.
            subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)], check=True,
                           stdout=subprocess.DEVNULL)
            sender_prefix = ["taskset", "-c", "1-%d" % (os.cpu_count() - 1)]
        result["pinned"] = bool(pin)
        if args.flood_rt:
            # n1 runs SCHED_FIFO for the flood, so other work on its CPU does
            # not starve it: it gets the whole core (less the kernel's RT
            # throttling reserve) whenever it has datagrams to read.
            subprocess.run(["chrt", "-f", "-a", "-p", "1", str(pid)], check=True,
                           stdout=subprocess.DEVNULL)
        result["sched_fifo"] = bool(args.flood_rt)
        streams = {m: EventStream(c, m, "NodeStale", "HeartbeatStale") for m in c.nodes}
        time.sleep(0.5)  # the subscriptions are live
        log_lines_before = {m: len(c.log(m).splitlines()) for m in c.nodes}
        hb0 = c.hb(target)
        sock0, snmp0 = udp_socket_counters(pid, c.addr(target), c.port), udp_snmp(pid)
        ticks0 = read_proc_cpu_ticks(pid)
        sched0 = read_schedstat(pid)
        rss0 = read_proc_kib(pid, "VmRSS")
        if args.flood_perf:
            # Sampled call stacks and system call / context switch counts of
            # n1, from 1 s before the flood (the profilers attach) to its end.
            span = "%.1f" % (seconds + 1.0)
            profilers = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                         for cmd in (
                ["perf", "record", "-q", "-e", "cpu-clock", "-F", "997", "--call-graph", "dwarf",
                 "-p", str(pid), "-o", args.flood_perf + ".data", "--", "sleep", span],
                ["perf", "stat", "-e", "task-clock,context-switches,raw_syscalls:sys_enter,"
                 "syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait,"
                 "syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_sendto,"
                 "syscalls:sys_enter_timerfd_settime",
                 "-x", ",", "-o", args.flood_perf + ".stat", "-p", str(pid), "--", "sleep", span])]
            time.sleep(1.0)
            hb0 = c.hb(target)  # the flood's counters start here
            ticks0, sched0 = read_proc_cpu_ticks(pid), read_schedstat(pid)
        t0 = time.monotonic()
        for kind in senders:
            procs.append(subprocess.Popen(
                ns.prefix() + sender_prefix + forge_command(kind, c, target, args.forge,
                                                            args.flood_pool),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        samples = []
        while True:
            left = seconds - (time.monotonic() - t0)
            if left <= 0:
                break
            time.sleep(min(1.0, left))
            if time.monotonic() - t0 >= seconds:
                break
            ts = time.monotonic()
            h = c.hb(target)
            api_ms = (time.monotonic() - ts) * 1000
            u = path_status(h, "u1")
            samples.append({"t_s": round(ts - t0, 2), "api_ms": round(api_ms, 1),
                            "dropped": sum(h["dropped"].values()),
                            "kernel_drops": h.get("kernel_drops"),
                            "last_heard_ms": {p: u["peers"][p]["last_heard_ms"] for p in peers}})
        dead = [(p.args, p.returncode, p.stderr.read()) for p in procs if p.poll() is not None]
        sender_ticks = 0
        for p in procs:
            try:
                sender_ticks += read_proc_cpu_ticks(p.pid)
            except OSError:
                pass
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        t1 = time.monotonic()
        for p in profilers:
            p.wait()
        ticks1 = read_proc_cpu_ticks(pid)
        sched1 = read_schedstat(pid)
        hb1 = c.hb(target)
        if args.flood_rt:
            subprocess.run(["chrt", "-o", "-a", "-p", "0", str(pid)], check=True,
                           stdout=subprocess.DEVNULL)
        time.sleep(0.5)  # n1 drains what is left in its socket buffer
        hb2 = c.hb(target)
        sock2, snmp2 = udp_socket_counters(pid, c.addr(target), c.port), udp_snmp(pid)
        rss2 = read_proc_kib(pid, "VmRSS")
        time.sleep(3.0)  # NodeStale caused by the flood would show up by now
        elapsed = t1 - t0

        def drop_delta(a, b):
            return {k: b["dropped"][k] - a["dropped"][k] for k in b["dropped"]
                    if b["dropped"][k] - a["dropped"][k]}

        dropped = drop_delta(hb0, hb1)
        # With a second path, each heartbeat's second copy counts as replay:
        # not garbage.
        total = sum(v for k, v in dropped.items() if k != "replay")
        cpu_s = (ticks1 - ticks0) / hz
        u0, u2 = path_status(hb0, "u1"), path_status(hb2, "u1")
        read = u2["received_datagrams"] - u0["received_datagrams"]
        socket_drops = sock2["drops"] - sock0["drops"]
        hb_from = {p: path_status(hb1, "u1")["peers"][p]["received_datagrams"]
                   - u0["peers"][p]["received_datagrams"] for p in peers}
        expected_hb = elapsed / (parse_duration_ms(args.interval) / 1000.0)
        stale = {m: [{k: v for k, v in e.items() if not k.startswith("_")} for e in s.snapshot()]
                 for m, s in streams.items()}
        stalls = []
        for m in c.nodes:
            stalls += ["%s: %s" % (m, line) for line in
                       c.log(m).splitlines()[log_lines_before[m]:] if "stalled" in line]
        result.update({
            "flood_seconds": round(elapsed, 2),
            "dropped_by_reason": dropped,
            "dropped_total": total,
            "dropped_per_s": round(total / elapsed),
            "dropped_after_senders_stopped": sum(drop_delta(hb1, hb2).values()),
            "daemon_cpu_s": round(cpu_s, 2),
            "daemon_cpu_pct": round(cpu_s / elapsed * 100, 1),
            # From /proc/<pid>/schedstat: time n1 ran, and time it was
            # runnable but waited for a CPU (other work on the machine).
            "daemon_ran_ms": round((sched1[0] - sched0[0]) / 1e6),
            "daemon_runqueue_wait_ms": round((sched1[1] - sched0[1]) / 1e6),
            "dropped_per_cpu_s": round(total / cpu_s) if cpu_s else None,
            "senders_cpu_s": round(sender_ticks / hz, 2),
            "datagrams_read_by_daemon": read,
            "kernel_socket_drops": socket_drops,
            # The same drops as n1 itself counts them (SO_RXQ_OVFL); seen
            # with the next datagram read, so after the drain.
            "kernel_drops_reported_by_n1": hb2.get("kernel_drops", 0) - hb0.get("kernel_drops", 0),
            "offered_per_s": round((read + socket_drops) / elapsed),
            "udp_snmp_delta": {k: snmp2[k] - snmp0[k] for k in snmp2 if snmp2[k] - snmp0[k]},
            "heartbeats_received_from_peers": hb_from,
            "heartbeats_expected_per_peer": round(expected_hb, 1),
            "max_last_heard_ms": {p: max((s["last_heard_ms"][p] or 0) for s in samples)
                                  if samples else None for p in peers},
            "max_api_ms": max((s["api_ms"] for s in samples), default=None),
            "samples": samples,
            "rss_kib_before_after": [rss0, rss2],
            "stale_events": stale,
            "node_stale": sum(1 for evs in stale.values() for e in evs if e["kind"] == "NodeStale"),
            "heartbeat_stale": sum(1 for evs in stale.values() for e in evs
                                   if e["kind"] == "HeartbeatStale"),
            "stall_log_lines": stalls,
            "senders_exited_early": [{"args": a, "rc": rc, "stderr": err.strip()}
                                     for a, rc, err in dead],
        })
        log("  flood over %.1f s: n1 dropped %d datagrams = %d/s (%s); n1 used %.0f%% of a core"
            " = %s drops per CPU second"
            % (elapsed, total, result["dropped_per_s"],
               ", ".join("%s %d" % kv for kv in sorted(dropped.items())),
               result["daemon_cpu_pct"], result["dropped_per_cpu_s"]))
        log("  offered %d/s; n1 read %d datagrams, the kernel dropped %d at n1's full socket"
            " buffer (n1 counted %d); senders used %.1f CPU s; n1 ran %d ms and waited %d ms"
            " for a CPU"
            % (result["offered_per_s"], read, socket_drops,
               result["kernel_drops_reported_by_n1"], result["senders_cpu_s"],
               result["daemon_ran_ms"], result["daemon_runqueue_wait_ms"]))
        log("  heartbeats n1 received during the flood: %s (about %.0f expected per peer);"
            " max last heard %s ms; max hb status time %s ms"
            % (", ".join("%s %d" % kv for kv in sorted(hb_from.items())), expected_hb,
               result["max_last_heard_ms"], result["max_api_ms"]))
        log("  NodeStale events: %d, HeartbeatStale events: %d, local stall log lines: %d"
            % (result["node_stale"], result["heartbeat_stale"], len(stalls)))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            if p.stderr:
                p.stderr.close()
        for p in profilers:  # they stop by themselves after the flood
            try:
                p.wait(seconds + 30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for s in streams.values():
            s.close()
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


def verdicts(results, args, flood=None):
    interval, timeout = parse_duration_ms(args.interval), parse_duration_ms(args.timeout)
    detect_target = timeout + interval + DETECTION_SLACK_MS
    out = []
    for r in results:
        n = r.get("label", "N=%d" % r["nodes"])
        d, cv = r.get("detection", {}), r.get("convergence", {})
        if d.get("n"):
            out.append(("detection p95 %s" % n, d["p95_ms"], "<= %.0f ms" % detect_target,
                        d["p95_ms"] <= detect_target and not d["failures"]))
        if cv.get("n"):
            out.append(("convergence p95 %s" % n, cv["p95_ms"], "<= %d ms" % CONVERGENCE_P95_MS,
                        cv["p95_ms"] <= CONVERGENCE_P95_MS and not cv["failures"]))
        if "idle" in r:
            idle = r["idle"]
            out.append(("idle CPU mean %s" % n, idle["mean_cpu_pct"], "<= %.1f %%" % IDLE_CPU_PCT,
                        idle["mean_cpu_pct"] <= IDLE_CPU_PCT))
            out.append(("idle RSS max %s" % n, idle["max_rss_mib"], "<= %.0f MiB" % IDLE_RSS_MIB,
                        idle["max_rss_mib"] <= IDLE_RSS_MIB))
        false = len(d.get("false_stale", [])) + len(r.get("false_stale_quiet_phases", []))
        out.append(("false NodeStale %s" % n, false, "= 0", false == 0))
    if flood:
        out.append(("flood: n1 drops per CPU second", flood["dropped_per_cpu_s"],
                    ">= %d" % GARBAGE_PER_CORE_S,
                    (flood["dropped_per_cpu_s"] or 0) >= GARBAGE_PER_CORE_S))
        out.append(("flood: NodeStale", flood["node_stale"], "= 0", flood["node_stale"] == 0))
    return out


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", default=os.environ.get("VIGIL_BIN",
                                                      os.path.join(ROOT, "build", "bin", "vigil")),
                    help="vigil binary (default: $VIGIL_BIN or build/bin/vigil)")
    ap.add_argument("--forge", help="vigil-forge binary, for the flood phase"
                    " (default: beside the vigil binary)")
    ap.add_argument("--sizes", default="3,5,10", help="cluster sizes, comma-separated")
    ap.add_argument("--phases", default="convergence,idle,detection",
                    help="comma-separated, of: %s (default: convergence,idle,detection)"
                    % ",".join(PHASES))
    ap.add_argument("--detect-runs", type=int, default=10)
    ap.add_argument("--converge-runs", type=int, default=20)
    ap.add_argument("--idle-seconds", type=float, default=20.0)
    ap.add_argument("--idle-sizes", default="largest",
                    help="sizes that get an idle phase: 'largest' (default), 'all' or a list")
    ap.add_argument("--interval", default="500ms", help="heartbeat interval (default: 500ms)")
    ap.add_argument("--timeout", default="2s", help="heartbeat timeout (default: 2s)")
    ap.add_argument("--paths", default="unicast",
                    help="heartbeat paths per agent, one per listed type: unicast, multicast"
                    " (default: unicast)")
    ap.add_argument("--netns", action="store_true",
                    help="run the agents in a private network namespace (root; implied by"
                    " multicast, --loss and the flood phase)")
    ap.add_argument("--loss", default="0",
                    help="random UDP loss percentages, comma-separated; each size runs at each")
    ap.add_argument("--flood-seconds", type=float, default=10.0)
    ap.add_argument("--flood-size", type=int, default=3, help="agents in the flood cluster")
    ap.add_argument("--flood-senders", default="bad-tag,bad-cluster,bad-tag,bad-cluster",
                    help="one vigil-forge process per item, of: %s" % ", ".join(FLOOD_SENDERS))
    ap.add_argument("--flood-pool", type=int, default=0, metavar="P",
                    help="each sender builds P datagrams once and resends them with sendmmsg "
                         "(a faster flood; default 0: every datagram sealed afresh)")
    ap.add_argument("--flood-perf", metavar="PREFIX",
                    help="profile n1 during the flood: perf record into PREFIX.data, perf stat"
                    " (syscalls, context switches) into PREFIX.stat; slows n1 down")
    ap.add_argument("--flood-rt", action="store_true",
                    help="run n1 SCHED_FIFO during the flood (a core of its own on a busy"
                    " machine)")
    ap.add_argument("--no-flood-pin", dest="flood_pin", action="store_false",
                    help="do not pin n1 to CPU 0 and the senders to the other CPUs")
    ap.add_argument("--quick", action="store_true",
                    help="smoke check: N=3 only, 3 runs each, 5 s idle window, 3 s flood")
    ap.add_argument("--json", metavar="FILE", help="write the summary as JSON")
    ap.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.detect_runs, args.converge_runs, args.idle_seconds = "3", 3, 3, 5.0
        args.flood_seconds = min(args.flood_seconds, 3.0)
    args.size_list = [int(x) for x in args.sizes.split(",") if x]
    args.phase_list = [x for x in args.phases.split(",") if x]
    bad = [x for x in args.phase_list if x not in PHASES]
    if bad:
        ap.error("unknown phase(s) %s" % ", ".join(bad))
    args.path_specs = [{"type": t} for t in args.paths.split(",") if t]
    if not args.path_specs or any(p["type"] not in ("unicast", "multicast")
                                  for p in args.path_specs):
        ap.error("--paths: a comma-separated list of unicast and multicast")
    args.loss_list = [int(x) for x in args.loss.split(",") if x]
    if any(not 0 <= x < 100 for x in args.loss_list):
        ap.error("--loss: percentages 0..99")
    if "flood" in args.phase_list and args.path_specs[0]["type"] != "unicast":
        ap.error("--phases flood: the first of --paths must be unicast (its port is flooded)")
    args.flood_sender_list = [x for x in args.flood_senders.split(",") if x]
    if any(x not in FLOOD_SENDERS for x in args.flood_sender_list):
        ap.error("--flood-senders: items of %s" % ", ".join(FLOOD_SENDERS))
    if args.idle_sizes == "largest":
        args.idle_size_list = [max(args.size_list)] if args.size_list else []
    elif args.idle_sizes == "all":
        args.idle_size_list = list(args.size_list)
    else:
        args.idle_size_list = [int(x) for x in args.idle_sizes.split(",") if x]
    if "idle" not in args.phase_list:
        args.idle_size_list = []
    args.use_netns = (args.netns or any(x for x in args.loss_list) or "flood" in args.phase_list
                      or any(p["type"] == "multicast" for p in args.path_specs))
    return args


def fmt_ms(s):
    return ("%.0f / %.0f / %.0f" % (s["median_ms"], s["p95_ms"], s["max_ms"])
            if s.get("n") else "-")


def main():
    args = parse_args()
    vigil = os.path.abspath(args.vigil)
    if not os.access(vigil, os.X_OK):
        sys.exit("cluster_bench: no vigil binary at %s (build it, or pass --vigil)" % vigil)
    vigil_cluster.VIGIL = vigil
    args.forge = os.path.abspath(args.forge or os.path.join(os.path.dirname(vigil), "vigil-forge"))
    if "flood" in args.phase_list and not os.access(args.forge, os.X_OK):
        sys.exit("cluster_bench: no vigil-forge binary at %s (build it, or pass --forge)"
                 % args.forge)

    def log(msg):
        print(msg, flush=True)

    # SIGTERM (e.g. from a timeout) unwinds through the clusters' and the
    # namespace's cleanup.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    results, flood, ns = [], None, None
    try:
        if args.use_netns:
            try:
                ns = NetNS("bench")
            except unittest.SkipTest as e:
                sys.exit("cluster_bench: %s" % e)
            log("network namespace %s (loopback multicast on, nftables table inet vigil)"
                % ns.name)
        if any(p in args.phase_list for p in ("convergence", "idle", "detection")):
            for n in args.size_list:
                for loss in args.loss_list:
                    results.append(bench_size(n, args, log, idle=(n in args.idle_size_list),
                                              paths=args.path_specs, loss=loss, ns=ns))
        if "flood" in args.phase_list:
            flood = run_flood(args, log, ns)
    finally:
        if ns:
            ns.close()
    load_after = os.getloadavg()

    checks = verdicts(results, args, flood)
    print()
    print("load average before %s, after %s (1/5/15 min; %d CPUs)"
          % (" ".join("%.2f" % x for x in load_before),
             " ".join("%.2f" % x for x in load_after), os.cpu_count()))
    if any("detection" in r or "convergence" in r for r in results):
        print("%-34s %-34s %-34s %s" % ("configuration", "detection ms (median / p95 / max)",
                                        "convergence ms (median / p95 / max)", "false stale"))
    for r in results:
        if "detection" not in r and "convergence" not in r:
            continue
        d, cv = r.get("detection", {}), r.get("convergence", {})
        false = len(d.get("false_stale", [])) + len(r["false_stale_quiet_phases"])
        print("%-34s %-34s %-34s %d" % (r["label"], fmt_ms(d) + " (%d runs)" % d.get("n", 0),
                                        fmt_ms(cv) + " (%d runs)" % cv.get("n", 0), false))
    for r in results:
        if "idle" in r:
            i = r["idle"]
            print("idle %s over %.0f s: CPU mean %.3f%% / max %.3f%% of a core; RSS max %.2f MiB"
                  % (r["label"], i["seconds"], i["mean_cpu_pct"], i["max_cpu_pct"],
                     i["max_rss_mib"]))
            for pid, t in i["traffic"]["per_path"].items():
                print("  per node on %s (%s): sent %.0f B/s, received %.0f B/s (UDP payload);"
                      " %.0f / %.0f B/s with IP+UDP headers"
                      % (pid, t["type"], t["sent_bytes_per_s"], t["received_bytes_per_s"],
                         t["sent_ip_bytes_per_s"], t["received_ip_bytes_per_s"]))
    if flood:
        print("flood (%s%s) over %.1f s: n1 dropped %d/s at %.0f%% of a core = %s per CPU second;"
              " kernel socket drops %d; heartbeats from peers %s (about %.0f each expected);"
              " NodeStale %d, HeartbeatStale %d"
              % (", ".join(flood["senders"]), ", n1 SCHED_FIFO" if flood["sched_fifo"] else "",
                 flood["flood_seconds"], flood["dropped_per_s"],
                 flood["daemon_cpu_pct"], flood["dropped_per_cpu_s"],
                 flood["kernel_socket_drops"],
                 " ".join("%s %d" % kv for kv in sorted(flood["heartbeats_received_from_peers"].items())),
                 flood["heartbeats_expected_per_peer"], flood["node_stale"],
                 flood["heartbeat_stale"]))
    print()
    for name, value, target, ok in checks:
        print("%-44s %10s  target %-12s %s" % (name, value, target, "met" if ok else "MISSED"))
    failures = sum(len(r.get("detection", {}).get("failures", []))
                   + len(r.get("convergence", {}).get("failures", [])) for r in results)
    if args.json:
        summary = {
            "date": started.isoformat(timespec="seconds"),
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
            "machine": {"cpu_model": cpu_model(), "cpus": os.cpu_count(),
                        "kernel": platform.release(),
                        "loadavg_1_5_15_before": [round(x, 2) for x in load_before],
                        "loadavg_1_5_15_after": [round(x, 2) for x in load_after]},
            "vigil": vigil,
            "settings": {"sizes": args.size_list, "phases": args.phase_list,
                         "paths": [p["type"] for p in args.path_specs],
                         "loss_pct": args.loss_list, "netns": bool(ns),
                         "detect_runs": args.detect_runs,
                         "converge_runs": args.converge_runs, "idle_seconds": args.idle_seconds,
                         "idle_sizes": args.idle_size_list,
                         "interval": args.interval, "timeout": args.timeout,
                         "percentile": "nearest rank"},
            "results": results,
            "targets": [{"name": n, "value": v, "target": t, "met": ok}
                        for n, v, t, ok in checks],
        }
        if flood:
            summary["flood"] = flood
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
