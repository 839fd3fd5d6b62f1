#!/usr/bin/env python3
"""Gossip mode, simulated: vigil_sim against the cluster size, and a plot.

Runs the simulator (tests/sim/vigil_sim) once per cluster size N with
--format json, the same flags otherwise (default: 30 simulated seconds after
a 5 s warm-up from a cold start, 2 nodes killed at once, 2 % loss, 1-5 ms
latency, probe interval 500 ms, heartbeat timeout 2 s, gossip every 200 ms),
and draws two panels against N on a log axis:

  left   detection time, kill -> NodeStale at every survivor: p50, p95, max
         (ms), with the targets (p95 <= 4 s at N = 200, <= 6 s at N = 5,000);
  right  messages per node per second after the warm-up, with bytes per node
         per second (estimated) on a second axis.

Prints a Markdown table (the one in docs/BENCHMARKS.md, "Gossip mode,
simulated") with the exact command of each row, and writes the raw results
as JSON (--json) so that --replot can redraw without running again.

Usage (from the repository root, after building vigil_sim):
  python3 tests/bench/plot_sim.py [--sim build/bin/vigil_sim]
      [--sizes 10,50,100,200,500,1000,2000,5000] [--seconds 30] [--kill 2]
      [--loss 0.02] [--seed 1] [--json sim-gossip.json]
      [--png docs/sim-gossip.png]
  python3 tests/bench/plot_sim.py --replot sim-gossip.json --png out.png

Needs python3-matplotlib. N = 5,000 takes about a minute and 6 GB of memory.
"""

import argparse
import json
import subprocess
import sys


def command(args, n):
    return [
        args.sim, "--nodes", str(n), "--seconds", str(args.seconds),
        "--kill", str(args.kill), "--loss", str(args.loss), "--seed",
        str(args.seed), "--format", "json"
    ]


def run(args):
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        cmd = command(args, n)
        print("running:", " ".join(cmd), file=sys.stderr, flush=True)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        row = json.loads(out.stdout)
        row["command"] = " ".join(cmd)
        rows.append(row)
        print("  ", out.stdout.strip(), file=sys.stderr, flush=True)
    return rows


def table(rows):
    lines = [
        "| N | detection p50 / p95 / max | pairs undetected | false `NodeStale` "
        "| msgs per node per s | bytes per node per s (est.) | all heard after "
        "| suspicion min / max | wall time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        d = r["detection_ms"]
        heard = f'{r["all_heard_ms"] / 1000:.1f} s' if r["all_heard_ms"] >= 0 else "not all"
        lines.append(
            f'| {r["nodes"]:,} | {d["p50"] / 1000:.1f} / {d["p95"] / 1000:.1f} / '
            f'{d["max"] / 1000:.1f} s | {r["undetected"]} | {r["false_stale"]} '
            f'| {r["messages_per_node_s"]:.2f} | {r["bytes_per_node_s"]:,.0f} | {heard} '
            f'| {r["suspicion_min_ms"] / 1000:.2f} / {r["suspicion_max_ms"] / 1000:.1f} s '
            f'| {r["wall_s"]:.1f} s |')
    return "\n".join(lines)


def plot(rows, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [r["nodes"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, style in (("p50", "o-"), ("p95", "s-"), ("max", "^--")):
        left.plot(ns, [r["detection_ms"][key] / 1000 for r in rows], style, label=key)
    left.plot([200], [4], "rv", markersize=9, label="target p95 (N = 200, 5,000)")
    left.plot([5000], [6], "rv", markersize=9)
    left.set_xscale("log")
    left.set_ylim(bottom=0)
    left.set_xlabel("nodes N (log)")
    left.set_ylabel("kill -> NodeStale at every survivor (s)")
    left.set_title("Detection")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)

    right.plot(ns, [r["messages_per_node_s"] for r in rows], "o-", color="C0",
               label="messages")
    right.set_xscale("log")
    right.set_ylim(bottom=0)
    right.set_xlabel("nodes N (log)")
    right.set_ylabel("messages per node per s", color="C0")
    right.set_title("Traffic after the warm-up")
    right.grid(True, which="both", alpha=0.3)
    bytes_axis = right.twinx()
    bytes_axis.plot(ns, [r["bytes_per_node_s"] for r in rows], "s--", color="C1",
                    label="bytes (est.)")
    bytes_axis.set_ylim(bottom=0)
    bytes_axis.set_ylabel("bytes per node per s (estimated)", color="C1")
    r0 = rows[0]
    fig.suptitle(f'vigil gossip mode, simulated: {r0["killed"]} killed, '
                 f'{r0["loss"] * 100:g} % loss, 1-5 ms latency, probe 500 ms, '
                 f'timeout 2 s, {r0["seconds"]} s after a 5 s warm-up', fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print("wrote", png, file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sim", default="build/bin/vigil_sim")
    p.add_argument("--sizes", default="10,50,100,200,500,1000,2000,5000")
    p.add_argument("--seconds", type=int, default=30)
    p.add_argument("--kill", type=int, default=2)
    p.add_argument("--loss", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", default="sim-gossip.json", help="raw results, written")
    p.add_argument("--png", default="docs/sim-gossip.png")
    p.add_argument("--replot", metavar="JSON", help="plot saved results, run nothing")
    args = p.parse_args()
    if args.replot:
        with open(args.replot) as f:
            rows = json.load(f)
    else:
        rows = run(args)
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    print(table(rows))
    plot(rows, args.png)


if __name__ == "__main__":
    main()
