#!/usr/bin/env python3
"""Memory held for event-stream subscribers that never read.

One agent of a 2-node cluster (the peer is not started, so every event comes
from local changes) gets a 200 KB `.data.big` value; then 10 event streams
connect over the API socket and never read (each with a 4 KiB receive
buffer); then 200 label changes each publish NodeDataUpdated (with the whole
200 KB document) and NodeStatusLabelsUpdated. Reports the agent's VmRSS (MiB)
at start, after the big value, at its peak during the changes, and 2 s after
the streams closed. Target (docs/BENCHMARKS.md): the peak under 64 MiB, and
the last figure back near the one after the big value.

Usage: subscriber_memory.py [--vigil build/bin/vigil] [--json out.json]
"""
import argparse
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import vigil_cluster  # noqa: E402


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def request(sock_path, path, body):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock_path)
    data = json.dumps(body).encode()
    s.sendall(b"POST %s HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (path.encode(), len(data)) + data)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    if not out.startswith(b"HTTP/1.1 200"):
        raise RuntimeError("%s: %r" % (path, out[:200]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vigil", default="build/bin/vigil")
    ap.add_argument("--json")
    args = ap.parse_args()
    vigil_cluster.VIGIL = os.path.abspath(args.vigil)
    c = vigil_cluster.Cluster("submem", size=2)
    try:
        c.start("n1")
        pid = c.procs["n1"].pid
        sock_path = os.path.join(c.var_dir("n1"), "api.sock")
        figures = {"start": rss_mib(pid)}
        request(sock_path, "/v1/node/set", {"path": ".data.big", "value": "x" * 200_000})
        figures["after_big_value"] = rss_mib(pid)
        watcher = c.subscriptions("n1")
        mark = watcher.mark()
        streams = []
        for _ in range(10):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(sock_path)
            s.sendall(b"POST /v1/events HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
            streams.append(s)
        # Every stream subscribed: ten ClientSubscribed seen by the watcher.
        if not vigil_cluster.wait_until(lambda: watcher.mark() >= mark + 10, timeout=15):
            raise RuntimeError("the 10 streams were not subscribed")
        peak = 0.0
        for i in range(200):
            request(sock_path, "/v1/node/set", {"path": ".labels.l", "value": str(i)})
            peak = max(peak, rss_mib(pid))
        figures["peak"] = peak
        for s in streams:
            s.close()
        watcher.close()
        time.sleep(2)  # a settling window before the last reading
        figures["after_close"] = rss_mib(pid)
        for k, v in figures.items():
            print("%-16s %6.1f MiB" % (k, v))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(figures, f, indent=2)
        return 0 if figures["peak"] < 64 else 1
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
