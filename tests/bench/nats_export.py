#!/usr/bin/env python3
"""NATS export: publish throughput through one daemon to one subscriber, and
the time from an event's publication (its "at") to its arrival at the
subscriber, p50 and p95.

One node (a one-member cluster) exports to a nats-server on 127.0.0.1; a
subscriber written here (raw socket, the NATS client protocol) takes
<prefix>.>. Events are made by opening and closing event streams on the
node's API socket (ClientSubscribed and ClientUnsubscribed, two per stream).
  - latency: with the export connected, streams are opened one after the
    other; each arrival's wall time minus the event's "at" (ms resolution);
  - throughput: with the server stopped, a backlog of --events events fills
    the buffer; the server restarts, the subscriber connects first, and the
    backlog's drain is timed at the subscriber (first to last arrival).
With --jetstream the server runs JetStream, the script creates a stream for
the subjects, and the export waits for each publish's ack.
Needs nats-server (exit 77 without it).

Usage: tests/bench/nats_export.py --vigil build/bin/vigil [--events 5000]
       [--latency-events 500] [--jetstream] [--out build/bench/nats_export.json]
"""
import argparse
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sub:
    """Subscribes to `subject`; records (arrival wall time, payload)."""

    def __init__(self, port, subject):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")
        self.file.readline()  # INFO
        self.got = []
        self.sock.sendall(b'CONNECT {"verbose":false}\r\nSUB %s 1\r\nPING\r\n' % subject.encode())
        assert self.file.readline().startswith(b"PONG")
        self.sock.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            while True:
                line = self.file.readline()
                if not line:
                    return
                op = line.split()
                if op and op[0] == b"PING":
                    self.sock.sendall(b"PONG\r\n")
                elif op and op[0] == b"MSG":
                    data = self.file.read(int(op[-1]) + 2)[:-2]
                    self.got.append((time.time(), data))
        except (OSError, ValueError):
            return


def stream_once(sock_path):
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


def at_seconds(at):
    return datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--latency-events", type=int, default=500)
    ap.add_argument("--jetstream", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args()
    server_bin = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not os.access(server_bin, os.X_OK):
        print("SKIP: needs nats-server", file=sys.stderr)
        sys.exit(77)
    os.environ["VIGIL_BIN"] = os.path.abspath(args.vigil)
    from vigil_cluster import Cluster, wait_until
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="vigil-nats-bench-")
    procs = []

    def start_server():
        js = ["-js", "-sd", os.path.join(tmp, "store")] if args.jetstream else []
        p = subprocess.Popen([server_bin, "-a", "127.0.0.1", "-p", str(port)] + js,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)

        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_until(up, 15, 0.01)
        return p

    c = Cluster("natsbench", size=1, log_level="warn",
                extra=["[export.nats]", 'url = "nats://127.0.0.1:%d"' % port,
                       "jetstream = %s" % ("true" if args.jetstream else "false"),
                       "buffer = %d" % max(10000, 2 * args.events + 100)])
    try:
        server = start_server()
        sub = Sub(port, "vigil.events.>")
        if args.jetstream:
            body = json.dumps({"name": "BENCH", "subjects": ["vigil.events.>"],
                               "storage": "file"}).encode()
            sub.sock.sendall(b"SUB _INBOX.bench 2\r\nPUB $JS.API.STREAM.CREATE.BENCH "
                             b"_INBOX.bench %d\r\n%s\r\n" % (len(body), body))
            wait_until(lambda: any(b'"config"' in d for _, d in sub.got), 15, 0.01)
            sub.got.clear()
        c.start_all()
        sock = os.path.join(c.var_dir("n1"), "api.sock")

        def status():
            return json.loads(c.cli("n1", "export", "status", "--format", "json").stdout)["nats"]
        wait_until(lambda: status()["connected"], 15, 0.05)
        # Latency: one stream at a time, so each event is published alone.
        mark = len(sub.got)
        for _ in range(args.latency_events // 2):
            stream_once(sock)
        wait_until(lambda: len(sub.got) - mark >= 2 * (args.latency_events // 2), 30, 0.01)
        lat = []
        for t, data in sub.got[mark:]:
            p = json.loads(data)
            if p["kind"] in ("ClientSubscribed", "ClientUnsubscribed"):
                lat.append(1000.0 * (t - at_seconds(p["at"])))
        # Throughput: a backlog drained after a restart of the server.
        server.terminate()
        server.wait()
        wait_until(lambda: not status()["connected"], 15, 0.05)
        for _ in range(args.events // 2):
            stream_once(sock)
        backlog = status()["buffered"]
        server = start_server()
        sub2 = Sub(port, "vigil.events.>")
        wait_until(lambda: status()["buffered"] == 0, 120, 0.05)
        wait_until(lambda: len(sub2.got) >= backlog, 30, 0.05)
        times = [t for t, _ in sub2.got]
        drain = times[-1] - times[0] if len(times) > 1 else float("nan")
        result = {"latency_events": len(lat),
                  "latency_ms_p50": round(pct(lat, 50), 2), "latency_ms_p95": round(pct(lat, 95), 2),
                  "backlog": backlog, "received": len(sub2.got),
                  "drain_s": round(drain, 4),
                  "events_per_s": round(len(sub2.got) / drain, 1) if drain > 0 else None,
                  "dropped": status()["dropped"], "jetstream": args.jetstream,
                  "acked": status()["acked"]}
        print(json.dumps(result))
        if args.out:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        c.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
