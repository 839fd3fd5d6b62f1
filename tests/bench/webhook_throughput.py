#!/usr/bin/env python3
"""Webhook delivery throughput for one receiver on loopback, and the daemon's
CPU per delivered event.

One node (a one-member cluster) has one webhook that takes ClientSubscribed
events. With the receiver down, the script opens and closes N event streams
on the node's API socket: N ClientSubscribed events queue for the webhook.
Then a minimal HTTP receiver (asyncio, answers 200 at once, keeps the
connection open) starts, and the script times the drain: events delivered
per second, and the daemon's CPU seconds (utime + stime) per delivered event
over the drain. The receiver records every X-Vigil-Delivery; the report says
how many distinct ones came, and how many twice.

Usage: tests/bench/webhook_throughput.py --vigil build/bin/vigil [--events 5000]
       [--out build/bench/webhook_throughput.json]
"""
import argparse
import asyncio
import json
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Receiver:
    """HTTP/1.1 receiver in a thread: reads each request, answers 200."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.ids = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    async def _handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                    elif name.lower() == b"x-vigil-delivery":
                        self.ids.append(value.strip().decode())
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, self.host, self.port))
        self.ready.set()
        self.loop.run_forever()
        server.close()


def subscribe_once(sock_path):
    """One event stream opened and closed: a ClientSubscribed event."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    body = json.dumps({"filters": ["ZoneRecordUpdated"]}).encode()
    s.sendall(b"POST /v1/events HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--out")
    args = ap.parse_args()
    os.environ["VIGIL_BIN"] = os.path.abspath(args.vigil)
    from vigil_cluster import Cluster, wait_until
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = "http://127.0.0.1:%d/bench" % port
    c = Cluster("whbench", size=1, log_level="warn",
                extra=["[webhooks]", 'retry_min = "100ms"', 'retry_max = "200ms"'])
    try:
        c.start_all()
        res = c.cli("n1", "webhook", "add", url, "--filter", "ClientSubscribed")
        if res.returncode != 0:
            raise RuntimeError(res.stderr)
        sock = os.path.join(c.var_dir("n1"), "api.sock")
        t0 = time.monotonic()
        for _ in range(args.events):
            subscribe_once(sock)
        queue_s = time.monotonic() - t0

        def queued():
            out = json.loads(c.cli("n1", "webhook", "list", "--format", "json").stdout)
            return out["nodes"][0]["delivery"][0]["queued"]
        wait_until(lambda: queued() >= args.events, 30, 0.2)
        pid = c.procs["n1"].pid
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        rx = Receiver("127.0.0.1", port)
        if not wait_until(lambda: len(set(rx.ids)) >= args.events, 600, 0.01):
            raise RuntimeError("only %d of %d delivered" % (len(set(rx.ids)), args.events))
        wall, cpu = time.monotonic() - t0, cpu_seconds(pid) - cpu0
        result = {"events": args.events, "drain_s": round(wall, 3),
                  "events_per_s": round(args.events / wall, 1),
                  "cpu_us_per_event": round(1e6 * cpu / args.events, 1),
                  "distinct": len(set(rx.ids)), "duplicates": len(rx.ids) - len(set(rx.ids)),
                  "queueing_s": round(queue_s, 3)}
        print(json.dumps(result))
        if args.out:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        c.close()


if __name__ == "__main__":
    main()
