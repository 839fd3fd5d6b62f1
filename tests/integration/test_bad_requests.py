"""The bad-request battery: requests no client should send, on both API
listeners (the Unix socket and TLS over TCP). Each one gets a 4xx (or, past a
connection cap, a 503 or a refused connection), and after each the daemon
still answers GET /v1/status and its peer still sees it alive. n2 must never
publish NodeStale for n1 during the whole battery."""
import json
import os
import resource
import socket
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main, wait_until, jwt_token as token  # noqa: E402

ADMIN_KEY = "battery-admin-key-0123456789abcdef-0123"
USER_KEY = "battery-user-key-0123456789abcdef-01234"
DEEP = 150_000


def request_bytes(method, path, body=b"", headers=None, version="1.1"):
    if isinstance(body, str):
        body = body.encode()
    lines = ["%s %s HTTP/%s" % (method, path, version), "Host: vigil",
             "Content-Length: %d" % len(body)]
    lines += ["%s: %s" % kv for kv in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def status_of(raw):
    """The status code of the first response in `raw`, 0 when there is none."""
    if not raw.startswith(b"HTTP/1.1 "):
        return 0
    return int(raw[9:12])


def body_of(raw):
    at = raw.find(b"\r\n\r\n")
    try:
        return json.loads(raw[at + 4:]) if at >= 0 else None
    except ValueError:
        return None


class BadRequestBattery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster("badreq", size=2)
        cls.port = cls.c.port + 79
        cls.cert = cls.c.add_tls_api("n1", cls.port, ADMIN_KEY, USER_KEY, key_type="ec",
                                     extra=['request_timeout = "3s"'])
        cls.c.start_all()
        assert cls.c.wait("n1", ".peers.*.state=alive"), cls.c.log("n1")
        assert cls.c.wait("n2", ".peers.*.state=alive"), cls.c.log("n2")
        cls.stale = cls.c.events("n2", "NodeStale")
        cls.sock_path = os.path.join(cls.c.var_dir("n1"), "api.sock")
        cls.tls = ssl.create_default_context(cafile=cls.cert)
        cls.tls.check_hostname = False

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    # ---- transports -------------------------------------------------------

    def unix(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(self.sock_path)
        return s

    def tcp(self):
        raw = socket.create_connection((self.c.addr("n1"), self.port), timeout=20)
        return self.tls.wrap_socket(raw)

    @staticmethod
    def exchange(sock, data, half_close=False):
        """Sends `data`, reads until the server closes; returns the bytes.
        A server may answer and close before it has read everything (a 413,
        a 503 past a cap): what it answered is still read."""
        out = b""
        try:
            try:
                sock.sendall(data)
                if half_close:
                    # The plain socket's shutdown: SSLSocket.shutdown would
                    # also drop the TLS layer.
                    socket.socket.shutdown(sock, socket.SHUT_WR)
            except (ConnectionError, ssl.SSLError):
                pass
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return out
                out += chunk
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            return out
        finally:
            sock.close()

    def send(self, listener, method, path, body=b"", role="admin", **kw):
        """One request on `listener` ("unix" or "tcp"); returns the raw answer."""
        headers = {}
        if listener == "tcp":
            key = ADMIN_KEY if role == "admin" else USER_KEY
            headers["Authorization"] = "Bearer " + token(key, role, method, path.split("?")[0])
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        sock = self.unix() if listener == "unix" else self.tcp()
        return self.exchange(sock, request_bytes(method, path, body, headers), **kw)

    # ---- the checks after each case ---------------------------------------

    def assert_healthy(self, what):
        raw = wait_until(lambda: (lambda r: r if status_of(r) == 200 else None)(
            self.send("unix", "GET", "/v1/status")), timeout=20)
        self.assertTrue(raw, "%s: the daemon stopped answering /v1/status" % what)
        self.assertIsNone(self.c.procs["n1"].poll(), "%s: the daemon died:\n%s"
                          % (what, self.c.log("n1")[-3000:]))
        self.assertEqual(self.c.status("n2")["peers"]["n1"]["state"], "alive", what)

    def assert_4xx(self, raw, what):
        self.assertTrue(400 <= status_of(raw) < 500, "%s: got %r" % (what, raw[:300]))
        self.assertIn("error", body_of(raw) or {}, what)

    def case(self, method, path, body, what=None, listeners=("unix", "tcp"), role="admin"):
        for listener in listeners:
            label = "%s %s %s on %s" % (method, path, what or str(body)[:60], listener)
            with self.subTest(label):
                raw = self.send(listener, method, path, body, role=role)
                self.assert_4xx(raw, label)
                self.assert_healthy(label)

    # ---- the battery ---------------------------------------------------------

    def test_wrong_type_in_every_field(self):
        wrong = [None, True, {}, [], "1", 1.5]
        for v in wrong:
            if not isinstance(v, str):
                self.case("POST", "/v1/wait", {"filter": v, "duration_ms": 1000}, role="user")
            self.case("POST", "/v1/wait", {"filter": ".x=1", "duration_ms": v}, role="user")
            if not isinstance(v, str):
                self.case("POST", "/v1/node/set", {"path": v, "value": 1})
            if v is not None and not isinstance(v, list):
                self.case("POST", "/v1/node/patch", v)
            if not isinstance(v, list):
                self.case("POST", "/v1/events", {"filters": v}, role="user")
            if not isinstance(v, str):
                self.case("POST", "/v1/hb/rotate", {"secret": v})
        self.case("POST", "/v1/events", {"filters": [1]}, role="user")
        self.case("POST", "/v1/wait", [".x=1"], role="user")
        self.case("POST", "/v1/node/set", {"path": ".a"}, "value missing")
        self.case("POST", "/v1/node/set", {"path": ".a", "value": 1, "x": 1}, "unknown field")
        self.case("POST", "/v1/node/freeze", {"now": True})
        self.case("GET", "/v1/status", {"a": 1})
        self.case("POST", "/v1/node/patch", [{"op": "nope", "path": "/x"}])
        self.case("POST", "/v1/hb/rotate", {"secret": "zz"})
        self.case("POST", "/v1/wait", {"filter": "", "duration_ms": 1}, role="user")
        for filters in ([1], "x", [], [".cluster.name=a", None], ["NodeStale"], [".x=1"],
                        [".cluster.name=a"] * 65):
            self.case("POST", "/v1/wait", {"filters": filters, "duration_ms": 1000},
                      "filters %s" % str(filters)[:40], role="user")
        self.case("POST", "/v1/wait", {"filter": ".cluster.name=a", "filters": [".cluster.name=a"],
                                       "duration_ms": 1000}, "filter and filters", role="user")

    def test_duration_bounds(self):
        for v in ["0", "10000000000000", str(2 ** 64 - 1), "1e300", "-1"]:
            body = '{"filter": ".x=1", "duration_ms": %s}' % v
            self.case("POST", "/v1/wait", body, "duration_ms " + v, role="user")

    def test_deep_nesting(self):
        deep_array = "[" * DEEP + "]" * DEEP
        self.case("POST", "/v1/wait",
                  {"filter": ".x=" + deep_array, "duration_ms": 1000}, "deep filter", role="user")
        self.case("POST", "/v1/events", {"filters": [".x=" + deep_array]}, "deep event filter",
                  role="user")
        self.case("POST", "/v1/node/set", '{"path": ".a", "value": %s}' % deep_array,
                  "deep value")
        self.case("POST", "/v1/node/patch",
                  '[{"op": "add", "path": "/data/x", "value": %s}]' % deep_array, "deep patch")
        self.case("POST", "/v1/node/set", {"path": ".a" * 100_000, "value": 1}, "deep path")
        self.case("POST", "/v1/wait", deep_array, "deep body", role="user")

    def test_oversize_body(self):
        big = b'{"path": ".data.x", "value": "' + b"x" * (10 << 20) + b'"}'
        for listener in ("unix", "tcp"):
            with self.subTest("10 MiB body refused from its headers on " + listener):
                # The headers and the start of the body: the daemon answers
                # 413 without reading the rest.
                headers = {}
                if listener == "tcp":
                    headers["Authorization"] = "Bearer " + token(ADMIN_KEY, "admin", "POST",
                                                                 "/v1/node/set")
                data = request_bytes("POST", "/v1/node/set", big, headers)
                sock = self.unix() if listener == "unix" else self.tcp()
                raw = self.exchange(sock, data[:len(data) - len(big) + 65536])
                self.assertEqual(status_of(raw), 413, raw[:200])
                self.assert_healthy("10 MiB body, headers first, on " + listener)
            with self.subTest("10 MiB body sent whole on " + listener):
                # The answer may be lost to the reset of a connection closed
                # with unread bytes; the daemon must go on either way.
                raw = self.send(listener, "POST", "/v1/node/set", big)
                self.assertIn(status_of(raw), (0, 413), raw[:200])
                self.assert_healthy("10 MiB body sent whole on " + listener)

    def test_http_versions_pipelining_and_bad_json(self):
        for listener in ("unix", "tcp"):
            with self.subTest("bad JSON on " + listener):
                self.assert_4xx(self.send(listener, "POST", "/v1/node/set", "{nope"), "bad JSON")
            with self.subTest("HTTP/1.0 on " + listener):
                sock = self.unix() if listener == "unix" else self.tcp()
                headers = {}
                if listener == "tcp":
                    headers["Authorization"] = "Bearer " + token(ADMIN_KEY, "admin", "GET",
                                                                 "/v1/status")
                raw = self.exchange(sock, request_bytes("GET", "/v1/status", b"", headers, "1.0"))
                self.assertEqual(status_of(raw), 200, raw[:200])
            with self.subTest("pipelined on " + listener):
                sock = self.unix() if listener == "unix" else self.tcp()
                auth = {}
                if listener == "tcp":
                    auth["Authorization"] = "Bearer " + token(ADMIN_KEY, "admin", "GET", "/v1/nope")
                two = request_bytes("GET", "/v1/nope", b"", auth) + \
                    request_bytes("GET", "/v1/status", b"", auth)
                raw = self.exchange(sock, two)
                self.assertEqual(status_of(raw), 404, raw[:200])
            with self.subTest("half-closed client on " + listener):
                raw = self.send(listener, "GET", "/v1/status", half_close=True)
                self.assertEqual(status_of(raw), 200, raw[:200])
            with self.subTest("garbage on " + listener):
                sock = self.unix() if listener == "unix" else self.tcp()
                self.assert_4xx(self.exchange(sock, b"\x00\xffGARBAGE\r\n\r\n"), "garbage")
            self.assert_healthy("after the protocol cases on " + listener)
        self.assertEqual(status_of(self.send("unix", "GET", "/v1/nope")), 404)
        raw = self.send("unix", "DELETE", "/v1/status")
        self.assertEqual(status_of(raw), 405)
        self.assertIn(b"Allow: GET", raw)

    def test_streams_that_never_read(self):
        socks = []
        for _ in range(5):
            s = self.unix()
            s.sendall(request_bytes("POST", "/v1/events", "{}"))
            socks.append(s)  # never read from
        value = "v" * 100_000
        for i in range(60):
            res = self.c.cli("n1", "node", "set", ".data.big=%s%d" % (value[:50_000], i))
            self.assertEqual(res.returncode, 0, res.stderr)
        self.assert_healthy("streams that never read")
        for s in socks:
            s.close()
        self.assert_healthy("after the streams closed")

    def test_connections_beyond_the_caps(self):
        # Slow clients: connect and send nothing, past the cap of each listener.
        held = []
        for _ in range(300):
            held.append(self.unix())
        for _ in range(80):
            try:
                held.append(socket.create_connection((self.c.addr("n1"), self.port), timeout=5))
            except OSError:
                break
        self.assert_healthy("slow clients beyond the caps")  # request_timeout frees them
        for s in held:
            s.close()
        # 1000 concurrent connections, each with a request.
        results = []

        def one():
            try:
                results.append(status_of(self.send("unix", "GET", "/v1/status")))
            except OSError:
                results.append(-1)
        threads = [threading.Thread(target=one) for _ in range(1000)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertIn(200, results)
        self.assertTrue(all(r in (200, 503, 0, -1) for r in results), set(results))
        self.assert_healthy("1000 concurrent connections")

    def test_descriptors_run_out(self):
        # n1 may hold 200 descriptors; 400 idle clients exhaust them, so
        # accept fails with EMFILE. The listener backs off instead of
        # spinning, heartbeats go on, and the API recovers by itself once the
        # idle clients time out (request_timeout = 3 s here).
        pid = self.c.procs["n1"].pid
        old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (200, old[1]))
        held = []
        try:
            for _ in range(400):
                try:
                    held.append(self.unix())
                except OSError:
                    break
            self.assertTrue(wait_until(lambda: "accept failed" in self.c.log("n1"), timeout=10),
                            "no accept failure logged")

            def cpu_seconds():
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            before, start = cpu_seconds(), time.monotonic()
            time.sleep(2)  # a measurement window, not a wait for a condition
            share = (cpu_seconds() - before) / (time.monotonic() - start)
            self.assertLess(share, 0.5, "the daemon spins while descriptors are out")
            self.assertEqual(self.c.status("n2")["peers"]["n1"]["state"], "alive")
        finally:
            for s in held:
                s.close()
            resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
        self.assert_healthy("after descriptors ran out")

    def test_tls12_offers_forward_secrecy_and_aead_only(self):
        def handshake(ciphers):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(self.cert)
            ctx.check_hostname = False
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers(ciphers)
            raw = socket.create_connection((self.c.addr("n1"), self.port), timeout=10)
            try:
                with ctx.wrap_socket(raw) as tls:
                    return tls.cipher()[0]
            except (ssl.SSLError, ConnectionError):
                return None
        self.assertEqual(handshake("ECDHE-ECDSA-AES128-GCM-SHA256"),
                         "ECDHE-ECDSA-AES128-GCM-SHA256")
        for weak in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                     "AES128-GCM-SHA256", "AES256-SHA"):
            with self.subTest(weak):
                self.assertIsNone(handshake(weak), weak)
        self.assert_healthy("TLS 1.2 handshakes")

    def test_zz_peer_never_saw_it_stale(self):
        self.assert_healthy("end of the battery")
        self.assertEqual(self.stale.matching("NodeStale", node="n1"), [])


if __name__ == "__main__":
    main()
