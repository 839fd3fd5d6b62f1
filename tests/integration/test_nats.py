"""The NATS export (seed 004) against a real nats-server, with a subscriber
written here over a raw socket (the NATS client protocol): events arrive on
<prefix>.<cluster>.<node>.<kind> with the event JSON plus node and cluster;
a server down for 5 s loses nothing within the buffer; with JetStream every
event is acknowledged and stored; a bad token and a missing stream are
reported clearly by `vigil export status`."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main, skip_suite, wait_until  # noqa: E402

NATS_SERVER = shutil.which("nats-server") or (
    "/usr/sbin/nats-server" if os.access("/usr/sbin/nats-server", os.X_OK) else None)
if NATS_SERVER is None:
    skip_suite("needs nats-server (Debian package nats-server) for the NATS export tests")

PREFIX = "vigil.events"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One nats-server on 127.0.0.1, restartable on its port (and store)."""

    def __init__(self, test, jetstream=False, token=None, tls=None):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="vigil-nats-")
        self.jetstream, self.token = jetstream, token
        self.tls = tls  # (cert, key): TLS required of every client
        self.proc = None
        test.addCleanup(self.close)
        self.start()

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def start(self):
        args = [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port)]
        if self.jetstream:
            args += ["-js", "-sd", os.path.join(self.dir, "store")]
        if self.token:
            args += ["--auth", self.token]
        if self.tls:
            args += ["--tls", "--tlscert", self.tls[0], "--tlskey", self.tls[1]]
        with open(os.path.join(self.dir, "server.log"), "a") as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)

        def ready():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    return s.recv(4).startswith(b"INFO")
            except OSError:
                return False
        if not wait_until(ready, 15):
            raise RuntimeError("nats-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Subscriber:
    """A minimal NATS client: CONNECT, SUB, request/reply, MSG and HMSG
    collected by a reader thread."""

    def __init__(self, port, token=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")
        info = self.file.readline()
        assert info.startswith(b"INFO "), info
        connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                   "lang": "python", "version": "test", "protocol": 1}
        if token:
            connect["auth_token"] = token
        self.lock = threading.Lock()
        self.messages = []  # (subject, headers, payload bytes)
        self.pongs = 0
        self.sid = 0
        self.send("CONNECT %s\r\nPING\r\n" % json.dumps(connect))
        self.sock.settimeout(None)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert wait_until(lambda: self.pongs >= 1, 10), "no PONG from the server"

    def send(self, text):
        self.sock.sendall(text.encode() if isinstance(text, str) else text)

    def _read(self):
        try:
            while True:
                line = self.file.readline()
                if not line:
                    return
                op = line.split()
                if not op:
                    continue
                if op[0] == b"PING":
                    self.send("PONG\r\n")
                elif op[0] == b"PONG":
                    with self.lock:
                        self.pongs += 1
                elif op[0] in (b"MSG", b"HMSG"):
                    total = int(op[-1])
                    hdr = int(op[-2]) if op[0] == b"HMSG" else 0
                    data = self.file.read(total + 2)[:total]
                    with self.lock:
                        self.messages.append((op[1].decode(), data[:hdr].decode(), data[hdr:]))
        except (OSError, ValueError):
            return

    def sync(self):
        """Returns once the server handled everything sent before."""
        with self.lock:
            want = self.pongs + 1
        self.send("PING\r\n")
        assert wait_until(lambda: self.pongs >= want, 10), "no PONG from the server"

    def subscribe(self, subject):
        self.sid += 1
        self.send("SUB %s %d\r\n" % (subject, self.sid))
        self.sync()

    def received(self, prefix):
        with self.lock:
            return [(s, json.loads(p)) for s, _, p in self.messages if s.startswith(prefix)]

    def request(self, subject, payload, timeout=10):
        inbox = "_INBOX.test%d" % (self.sid + 1)
        self.subscribe(inbox)
        body = json.dumps(payload).encode()
        self.send(b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), inbox.encode(), len(body), body))
        got = wait_until(lambda: [m for m in self.received_raw() if m[0] == inbox], timeout)
        assert got, "no answer to %s" % subject
        headers, data = got[0][1], got[0][2]
        assert not headers.startswith("NATS/1.0 503"), "no responders for %s" % subject
        return json.loads(data)

    def received_raw(self):
        with self.lock:
            return list(self.messages)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def create_stream(server, name, subjects):
    sub = Subscriber(server.port, server.token)
    try:
        answer = sub.request("$JS.API.STREAM.CREATE." + name,
                             {"name": name, "subjects": subjects, "storage": "file"})
        assert "error" not in answer, answer
    finally:
        sub.close()


def stream_info(server, name):
    sub = Subscriber(server.port, server.token)
    try:
        return sub.request("$JS.API.STREAM.INFO." + name, {})
    finally:
        sub.close()


def stream_messages(server, name):
    """Every message of stream `name`: [(subject, payload JSON)]."""
    sub = Subscriber(server.port, server.token)
    out = []
    try:
        state = sub.request("$JS.API.STREAM.INFO." + name, {})["state"]
        for seq in range(state["first_seq"], state["last_seq"] + 1):
            m = sub.request("$JS.API.STREAM.MSG.GET." + name, {"seq": seq})["message"]
            out.append((m["subject"], json.loads(base64.b64decode(m["data"]))))
    finally:
        sub.close()
    return out


def nats_table(url, *lines):
    return ["[export.nats]", 'url = "%s"' % url] + list(lines)


class NatsExportTest(unittest.TestCase):
    def cluster(self, name, extra, size=1):
        c = Cluster(name, size=size, extra=extra)
        self.addCleanup(c.close)
        c.start_all()
        return c

    def export_status(self, c, node="n1"):
        res = c.cli(node, "export", "status", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        return json.loads(res.stdout)["nats"]

    def marks(self, c, start, count):
        for i in range(start, start + count):
            res = c.cli("n1", "node", "set", ".data.mark=%d" % i)
            self.assertEqual(res.returncode, 0, res.stderr)

    @staticmethod
    def marks_of(messages):
        return [p["data"]["value"]["data"]["mark"] for s, p in messages
                if p["kind"] == "NodeDataUpdated" and p["labels"].get("node") == "n1"
                and "mark" in p["data"].get("value", {}).get("data", {})]

    def test_events_arrive_on_their_subjects_with_the_event_json(self):
        server = Server(self)
        sub = Subscriber(server.port)
        self.addCleanup(sub.close)
        sub.subscribe(PREFIX + ".>")
        c = self.cluster("natssubj", nats_table(server.url), size=2)
        self.assertTrue(wait_until(lambda: all(
            p["state"] == "alive" for p in c.status("n1")["peers"].values()), 20))
        self.marks(c, 0, 3)
        self.assertTrue(wait_until(lambda: self.marks_of(sub.received(PREFIX)) == [0, 1, 2], 15),
                        sub.received(PREFIX))
        got = sub.received(PREFIX)
        for subject, p in got:
            # <prefix>.<cluster>.<node>.<kind>; each node exports its own events.
            self.assertEqual(subject, "%s.itest.%s.%s" % (PREFIX, p["node"], p["kind"]))
            self.assertEqual(p["cluster"], "itest")
            self.assertNotEqual(p["labels"].get("from"), "peer", p)
            for key in ("kind", "id", "at", "labels", "data"):
                self.assertIn(key, p)
        # Both nodes export: n1's own data changes come from n1 alone.
        self.assertEqual({p["node"] for _, p in got}, {"n1", "n2"})
        updates = [p for s, p in got if p["kind"] == "NodeDataUpdated" and
                   p["labels"].get("node") == "n1"]
        self.assertTrue(updates and all(p["node"] == "n1" for p in updates), updates)
        ids = [p["id"] for p in updates]
        self.assertEqual(ids, sorted(ids))
        st = self.export_status(c)
        self.assertTrue(st["connected"], st)
        self.assertEqual((st["url"], st["dropped"], st["jetstream"]), (server.url, 0, False))
        self.assertGreaterEqual(st["published"], 3)
        table = c.cli("n1", "export", "status")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout, r"nats\s+%s\s+yes" % server.url)

    def test_a_server_down_for_5s_loses_nothing_within_the_buffer(self):
        # The stream records every message the server receives (core NATS
        # delivers to subscribers connected at that moment only): what the
        # stream holds is what the server got, whoever reconnects first.
        server = Server(self, jetstream=True)
        create_stream(server, "REC", [PREFIX + ".>"])
        c = self.cluster("natsdown", nats_table(server.url, 'buffer = 1000'))
        self.assertTrue(wait_until(lambda: self.export_status(c)["connected"], 15))
        self.marks(c, 0, 5)
        self.assertTrue(wait_until(lambda: self.export_status(c)["buffered"] == 0, 15))
        server.stop()
        self.assertTrue(wait_until(lambda: not self.export_status(c)["connected"], 15))
        self.marks(c, 5, 20)
        st = self.export_status(c)
        self.assertGreaterEqual(st["buffered"], 20, st)
        self.assertTrue(st["last_error"], st)
        time.sleep(5)  # the outage itself (the scenario, not a wait for a condition)
        server.start()
        self.assertTrue(wait_until(lambda: (lambda s: s["connected"] and s["buffered"] == 0)(
            self.export_status(c)), 45), self.export_status(c))
        st = self.export_status(c)
        self.assertEqual(st["dropped"], 0)
        self.assertGreaterEqual(st["reconnects"], 1)
        stored = stream_messages(server, "REC")
        self.assertEqual(sorted(set(self.marks_of(stored))), list(range(25)))
        # Every event id the node exported before and after the outage.
        ids = sorted({p["id"] for _, p in stored if p["node"] == "n1"})
        self.assertEqual(ids, list(range(ids[0], ids[-1] + 1)), "an event id is missing")

    def test_with_jetstream_every_event_is_acknowledged_and_stored(self):
        server = Server(self, jetstream=True)
        create_stream(server, "EVENTS", [PREFIX + ".itest.>"])
        c = self.cluster("natsjs", nats_table(server.url, "jetstream = true"))
        self.marks(c, 0, 20)

        def settled():
            s = self.export_status(c)
            return s if s["buffered"] == 0 and s["acked"] >= 20 else None
        st = wait_until(settled, 20)
        self.assertTrue(st, self.export_status(c))
        self.assertEqual(st["acked"], st["published"])
        self.assertIsNone(st["last_error"])
        info = stream_info(server, "EVENTS")
        self.assertEqual(info["state"]["messages"], st["acked"])
        self.assertEqual(self.marks_of(stream_messages(server, "EVENTS")), list(range(20)))

    def test_a_bad_token_is_reported_by_export_status(self):
        server = Server(self, token="right-token")
        c = self.cluster("natstok", nats_table(server.url, 'token = "wrong-token"'))
        st = wait_until(lambda: (lambda s: s if s["last_error"] else None)(self.export_status(c)), 15)
        self.assertTrue(st)
        self.assertFalse(st["connected"])
        self.assertIn("Authorization Violation", st["last_error"])
        self.assertTrue(st["last_error_at"])
        table = c.cli("n1", "export", "status")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout, r"nats\s+%s\s+no" % server.url)
        self.assertIn("server error: Authorization Violation", table.stdout)

    def test_a_missing_stream_is_reported_clearly(self):
        server = Server(self, jetstream=True)  # no stream created
        c = self.cluster("natsnostream", nats_table(server.url, "jetstream = true"))
        self.marks(c, 0, 1)
        want = "no JetStream stream for subject %s.itest.n1." % PREFIX
        st = wait_until(lambda: (lambda s: s if want in (s["last_error"] or "") else None)(
            self.export_status(c)), 15)
        self.assertTrue(st, self.export_status(c))
        self.assertTrue(st["connected"])
        self.assertGreaterEqual(st["buffered"], 1)
        self.assertEqual(st["acked"], 0)
        # The stream created later: the buffer drains, nothing lost.
        create_stream(server, "LATE", [PREFIX + ".>"])
        self.assertTrue(wait_until(lambda: self.export_status(c)["buffered"] == 0, 45),
                        self.export_status(c))

    def tls_server(self):
        if shutil.which("openssl") is None:
            self.skipTest("needs the openssl command to make a test certificate")
        d = tempfile.mkdtemp(prefix="vigil-nats-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        cert, key = os.path.join(d, "server.crt"), os.path.join(d, "server.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=vigil-nats-test", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        return Server(self, tls=(cert, key)), cert

    def test_tls_is_verified_against_the_ca_file_and_never_dropped(self):
        server, cert = self.tls_server()
        url = "tls://127.0.0.1:%d" % server.port
        c = self.cluster("natstls", nats_table(url, 'ca_file = "%s"' % cert))
        self.assertTrue(wait_until(lambda: self.export_status(c)["connected"], 15),
                        self.export_status(c))
        self.marks(c, 0, 2)
        self.assertTrue(wait_until(lambda: (lambda s: s["buffered"] == 0 and s["published"] >= 2)(
            self.export_status(c)), 15), self.export_status(c))
        # The same server, trusted through the system store alone: refused.
        c2 = self.cluster("natstlsbad", nats_table(url))
        st = wait_until(lambda: (lambda s: s if s["last_error"] else None)(
            self.export_status(c2)), 15)
        self.assertTrue(st)
        self.assertFalse(st["connected"])
        self.assertIn("certificate verify failed", st["last_error"])
        # A nats:// URL to a server that requires TLS upgrades (verified too).
        c3 = self.cluster("natstlsup", nats_table(server.url, 'ca_file = "%s"' % cert))
        self.assertTrue(wait_until(lambda: self.export_status(c3)["connected"], 15),
                        self.export_status(c3))

    def test_without_an_export_table_the_status_says_so(self):
        c = self.cluster("natsnone", [])
        res = c.cli("n1", "export", "status", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(json.loads(res.stdout), {"nats": None})
        res = c.cli("n1", "export", "status")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("no export configured", res.stdout)
        c.stop("n1")
        self.assertEqual(c.cli("n1", "export", "status").returncode, 3)


if __name__ == "__main__":
    main()
