"""Asynchronous operations (seed 003, Heketi): `hb rotate`, `cluster join`,
`cluster leave`, `cluster forget` and `webhook test` answer 202 Accepted with a
Location; GET on it answers 200 with X-Pending: true while the operation runs,
303 See Other to its result once it succeeded, 500 with the reason (and the
operation's own status) once it failed, and 404 for an id it does not know.
The CLI follows the Location and keeps its output and exit codes; with
--async it prints the operation, which `vigil queue show` reads."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main, wait_until  # noqa: E402

ID = re.compile(r"^[0-9a-f]{32}$")


class UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 over the daemon's Unix socket."""

    def __init__(self, path, timeout=10):
        super().__init__("vigil", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "%d %r %r" % (self.status, self.headers, self.body)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unverifiable_join_token(cluster):
    """A join token of the right shape (so the joiner reads its seed pin), not
    signed with the cluster's key: the seed would refuse it, but the seeds
    here never get that far."""
    now = int(time.time())
    claims = {"iss": "n1", "sub": "join", "cluster": cluster, "iat": now, "exp": now + 600,
              "cnf": {"x5t#S256": b64url(hashlib.sha256(b"no such certificate").digest())}}
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    mac = hmac.new(b"k" * 32, (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64url(mac)


class HangingSeed:
    """A TCP listener that accepts and never answers (a seed that hangs in
    the TLS handshake), until release() closes every connection."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)

    def accepted(self):
        with self.lock:
            return len(self.conns)

    def release(self):
        with self.lock:
            for conn in self.conns:
                conn.close()
            self.conns = []

    def close(self):
        self.release()
        self.sock.close()


class AsyncOpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A long liveness timeout: a SIGSTOPped node stays alive, so that a
        # rotation waits for it (running, by construction) until SIGCONT.
        cls.c = Cluster("asyncops", size=3, interval="200ms", timeout="30s")
        cls.c.start_all()
        for n in cls.c.nodes:
            assert cls.c.wait(n, ".peers.*.state=alive"), cls.c.log(n)
        cls.c.add_joiner("n4")  # standalone
        cls.c.start("n4")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def request(self, node, method, path, body=None):
        conn = UnixConnection(os.path.join(self.c.var_dir(node), "api.sock"))
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers=headers)
        res = conn.getresponse()
        data = res.read()
        conn.close()
        return Answer(res.status, {k.lower(): v for k, v in res.getheaders()},
                      json.loads(data) if data else None)

    def start_operation(self, node, path, body, op):
        """POSTs an asynchronous route: 202, a queue Location and its id."""
        a = self.request(node, "POST", path, body)
        self.assertEqual(a.status, 202, a)
        location = a.header("Location")
        self.assertIsNotNone(location, a)
        self.assertTrue(location.startswith("/v1/queue/"), location)
        op_id = location[len("/v1/queue/"):]
        self.assertRegex(op_id, ID)
        self.assertEqual(a.body, {"id": op_id, "op": op, "location": location})
        return location

    def assert_pending(self, node, location, op):
        a = self.request(node, "GET", location)
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.header("X-Pending"), "true", a)
        self.assertEqual(a.body["state"], "running")
        self.assertEqual(a.body["op"], op)
        self.assertEqual(a.body["id"], location.rsplit("/", 1)[1])
        self.assertTrue(a.body["progress"], a)
        self.assertIn("started_at", a.body)
        return a

    def outcome(self, node, location, timeout=30):
        """Polls `location` until the operation is no longer pending."""
        def ended():
            a = self.request(node, "GET", location)
            if a.status == 200:
                self.assertEqual(a.header("X-Pending"), "true", a)
                return None
            return a
        a = wait_until(ended, timeout, interval=0.2)
        self.assertIsNotNone(a, "%s still pending after %d s" % (location, timeout))
        return a

    def shown_when_ended(self, node, op_id, timeout=30):
        """`queue show ID --format json` once the operation no longer runs."""
        def ended():
            r = self.c.cli(node, "queue", "show", op_id, "--format", "json")
            self.assertIn(r.returncode, (0, 1), r.stdout + r.stderr)
            return r if json.loads(r.stdout)["state"] != "running" else None
        shown = wait_until(ended, timeout, interval=0.2)
        self.assertIsNotNone(shown, "operation %s still running after %d s" % (op_id, timeout))
        return shown

    def rotation_settled(self):
        """No rotation in progress any more: every node seals with the same
        version."""
        def settled():
            keys = [self.c.hb(n)["key"] for n in ("n1", "n2", "n3")]
            return len({k["current"] for k in keys}) == 1 and not any(k["rotating"] for k in keys)
        self.assertTrue(wait_until(settled, 30))

    # ---- the protocol, over the Unix socket ----------------------------------

    def test_1_a_rotate_is_pending_then_sees_other_to_its_result(self):
        self.c.signal("n2", signal.SIGSTOP)  # n2 cannot acknowledge: the rotation waits
        try:
            location = self.start_operation("n1", "/v1/hb/rotate", {}, "hb rotate")
            self.assert_pending("n1", location, "hb rotate")
            early = self.request("n1", "GET", location + "/result")
            self.assertEqual(early.status, 409, early)  # no result yet
            self.assert_pending("n1", location, "hb rotate")  # still: n2 is stopped
        finally:
            self.c.signal("n2", signal.SIGCONT)
        done = self.outcome("n1", location)
        self.assertEqual(done.status, 303, done)
        self.assertEqual(done.header("Location"), location + "/result")
        self.assertEqual(done.body["state"], "succeeded")
        self.assertEqual(done.body["status"], 200)
        result = self.request("n1", "GET", done.header("Location"))
        self.assertEqual(result.status, 200, result)
        self.assertGreaterEqual(result.body["version"], 2)  # the synchronous answer, as before
        self.rotation_settled()

    def test_2_a_forget_of_an_alive_node_fails_with_its_reason(self):
        location = self.start_operation("n1", "/v1/cluster/forget", {"node": "n2"},
                                        "cluster forget")
        failed = self.outcome("n1", location)
        self.assertEqual(failed.status, 500, failed)
        self.assertEqual(failed.body["state"], "failed")
        self.assertEqual(failed.body["status"], 409)  # the refusal's own status
        self.assertIn("n2 is alive", failed.body["error"])
        own = self.request("n1", "GET", location + "/result")
        self.assertEqual(own.status, 409)
        self.assertEqual(own.body["error"], failed.body["error"])
        # The CLI follows it, and exits 2 as a refused forget always did.
        res = self.c.cli("n1", "cluster", "forget", "n2")
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertIn("n2 is alive", res.stderr)
        res = self.c.cli("n1", "cluster", "forget", "nobody")
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertIn("no member named nobody", res.stderr)
        self.assertEqual(sorted(json.loads(self.c.cli("n1", "cluster", "members", "--format",
                                                      "json").stdout)), ["n1", "n2", "n3"])

    def test_3_a_join_is_pending_while_its_seed_hangs_and_fails_when_it_drops(self):
        seed = HangingSeed()
        try:
            token = unverifiable_join_token(self.c.cluster_name)
            location = self.start_operation(
                "n4", "/v1/node/join", {"token": token, "seed": seed.addr, "timeout_ms": 60000},
                "cluster join")
            self.assertTrue(wait_until(seed.accepted, 15), self.c.log("n4"))
            pending = self.assert_pending("n4", location, "cluster join")
            self.assertIn(seed.addr, pending.body["progress"])
            seed.release()  # the seed drops the connection: the join fails
            failed = self.outcome("n4", location)
            self.assertEqual(failed.status, 500, failed)
            self.assertEqual(failed.body["state"], "failed")
            self.assertEqual(failed.body["status"], 502)
            self.assertTrue(failed.body["error"], failed)
            # The CLI: a seed that never answers is a timeout, exit 1 as before.
            res = self.c.cli("n4", "cluster", "join", "--token", token, "--seed", seed.addr,
                             "--timeout", "1s")
            self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
            self.assertIn("vigil: ", res.stderr)
        finally:
            seed.close()

    def test_4_a_join_with_a_bad_token_is_refused_with_exit_2(self):
        location = self.start_operation(
            "n4", "/v1/node/join", {"token": "not-a-token", "seed": "127.0.0.1:1"},
            "cluster join")
        failed = self.outcome("n4", location)
        self.assertEqual(failed.status, 500, failed)
        self.assertEqual(failed.body["status"], 400)
        self.assertIn("token", failed.body["error"])
        res = self.c.cli("n4", "cluster", "join", "--token", "not-a-token", "--seed",
                         "127.0.0.1:1")
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertIn("token", res.stderr)
        # --async: the id, then `queue show` tells the failure (exit 1).
        res = self.c.cli("n4", "cluster", "join", "--token", "not-a-token", "--seed",
                         "127.0.0.1:1", "--async", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        started = json.loads(res.stdout)
        shown = self.shown_when_ended("n4", started["id"])
        self.assertEqual(shown.returncode, 1, shown.stdout + shown.stderr)
        record = json.loads(shown.stdout)
        self.assertEqual(record["state"], "failed")
        self.assertEqual(record["status"], 400)
        self.assertIn("token", record["error"])

    def test_5_async_prints_an_id_that_queue_show_resolves(self):
        res = self.c.cli("n1", "hb", "rotate", "--async", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        started = json.loads(res.stdout)
        self.assertEqual(sorted(started), ["id", "location"])
        self.assertRegex(started["id"], ID)
        self.assertEqual(started["location"], "/v1/queue/" + started["id"])
        shown = self.shown_when_ended("n1", started["id"])
        self.assertEqual(shown.returncode, 0, shown.stderr)
        record = json.loads(shown.stdout)
        self.assertEqual(record["id"], started["id"])
        self.assertEqual(record["op"], "hb rotate")
        self.assertEqual(record["state"], "succeeded")
        self.assertEqual(record["status"], 200)
        self.assertGreaterEqual(record["result"]["version"], 2)
        table = self.c.cli("n1", "queue", "show", started["id"])
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout, r"(?m)^STATE\s+succeeded$")
        self.assertRegex(table.stdout, r"(?m)^ID\s+%s$" % started["id"])
        self.rotation_settled()
        # The table form: "ID LOCATION" on one line.
        res = self.c.cli("n1", "hb", "rotate", "--async")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertRegex(res.stdout, r"^[0-9a-f]{32} /v1/queue/[0-9a-f]{32}\n$")
        op_id, location = res.stdout.split()
        self.assertEqual(location, "/v1/queue/" + op_id)
        self.assertEqual(self.outcome("n1", location).status, 303)
        self.rotation_settled()

    def test_6_unknown_and_malformed_ids_are_404(self):
        for path in ("/v1/queue/" + secrets.token_hex(16), "/v1/queue/" + secrets.token_hex(16)
                     + "/result", "/v1/queue/nope", "/v1/queue/"):
            a = self.request("n1", "GET", path)
            self.assertEqual(a.status, 404, (path, a))
            self.assertIn("error", a.body)
        # (No body: the 405 comes from the headers, before a body would be read.)
        a = self.request("n1", "POST", "/v1/queue/" + secrets.token_hex(16))
        self.assertEqual(a.status, 405, a)
        res = self.c.cli("n1", "queue", "show", secrets.token_hex(16))
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertIn("no operation", res.stderr)
        res = self.c.cli("n1", "queue", "show", "nope")
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        # A body that does not fit is still refused at once, before any operation.
        a = self.request("n1", "POST", "/v1/hb/rotate", {"secret": "zz"})
        self.assertEqual(a.status, 400, a)
        self.assertIsNone(a.header("Location"))

    def test_7_the_cli_follows_with_its_output_and_exit_codes_unchanged(self):
        res = self.c.cli("n1", "hb", "rotate", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertGreaterEqual(json.loads(res.stdout)["version"], 2)
        self.rotation_settled()
        # On n1 again: a node that saw another lead a rotation refuses to lead
        # one for a while (secret_rotation.h), which is not what this tests.
        res = self.c.cli("n1", "hb", "rotate")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertRegex(res.stdout, r"^heartbeats sealed with secret version \d+\n$")
        self.rotation_settled()
        # No receiver listens on this port: the test fails at every node, exit 1.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = "http://127.0.0.1:%d/hook" % port
        res = self.c.cli("n1", "webhook", "test", url, "--format", "json")
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        nodes = json.loads(res.stdout)["nodes"]
        self.assertEqual(sorted(n["node"] for n in nodes), ["n1", "n2", "n3"])
        self.assertFalse(any(n["ok"] for n in nodes))
        res = self.c.cli("n1", "webhook", "test", url, "--async", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        done = self.outcome("n1", json.loads(res.stdout)["location"])
        self.assertEqual(done.status, 303, done)  # the test ran: its answer holds the failures
        # A bad URL is refused at once, exit 2.
        res = self.c.cli("n1", "webhook", "test", "ftp://x/")
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)

    def test_9_a_leave_is_followed_to_its_answer(self):
        res = self.c.cli("n3", "cluster", "leave", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(sorted(json.loads(res.stdout)["acknowledged_by"]), ["n1", "n2"])
        # Standalone now: a second leave is refused (409), exit 2 as before.
        res = self.c.cli("n3", "cluster", "leave")
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)


if __name__ == "__main__":
    main()
