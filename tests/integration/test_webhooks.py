"""Cluster-wide webhooks against a real receiver (Flask, seed 000's own
example): the set added on one node reaches every node; each node delivers
the events it publishes itself, with a JWT that verifies; a receiver that is
down, failing or hanging loses nothing and slows nothing; a restart keeps
what was queued."""
import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main, skip_suite, wait_until  # noqa: E402

try:
    import flask  # noqa: F401
except ImportError:
    skip_suite("needs python3-flask for the webhook receiver")

RECEIVER = os.path.join(os.path.dirname(__file__), "webhook_receiver.py")
SECRET = "a-webhook-secret-of-the-test"
# Short request timeout and backoff, so that retries come within the test.
WEBHOOKS = ["[webhooks]", 'timeout = "1s"', 'retry_min = "200ms"', 'retry_max = "1s"']


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Receiver:
    """One Flask receiver process on 127.0.0.1, restartable on its port."""

    def __init__(self, test):
        self.dir = tempfile.mkdtemp(prefix="vigil-receiver-")
        self.host, self.port = "127.0.0.1", free_port("127.0.0.1")
        self.records = os.path.join(self.dir, "records")
        self.control = os.path.join(self.dir, "control")
        self.proc = None
        test.addCleanup(self.stop)
        self.start()

    @property
    def url(self):
        return "http://%s:%d/listen" % (self.host, self.port)

    def start(self):
        self.proc = subprocess.Popen([sys.executable, RECEIVER, self.host, str(self.port),
                                      self.records, self.control],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening():
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return True
            except OSError:
                return False
        if not wait_until(listening, 15):
            raise RuntimeError("the receiver did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def mode(self, m):
        with open(self.control, "w") as f:
            f.write(m)

    def received(self):
        try:
            with open(self.records) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def failed(self):
        try:
            with open(self.records + ".failed") as f:
                return [line.strip() for line in f if line.strip()]
        except FileNotFoundError:
            return []


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_claims(authorization, secret):
    """The claims of a `Bearer <JWT>` header whose HS256 signature verifies
    with `secret`; AssertionError otherwise."""
    assert authorization.startswith("Bearer "), authorization
    header, claims, signature = authorization[7:].split(".")
    mac = hmac.new(secret.encode(), ("%s.%s" % (header, claims)).encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(mac, b64url(signature)), "the JWT signature does not verify"
    assert json.loads(b64url(header))["alg"] == "HS256"
    return json.loads(b64url(claims))


class WebhookTest(unittest.TestCase):
    def cluster(self, name, size=3):
        c = Cluster(name, size=size, extra=WEBHOOKS)
        self.addCleanup(c.close)
        c.start_all()
        self.assertTrue(wait_until(lambda: all(
            all(p["state"] == "alive" for p in c.status(n)["peers"].values()) for n in c.nodes), 20))
        return c

    def delivery(self, c, asked, of):
        """`of`'s delivery counters, as `webhook list` at `asked` shows them."""
        res = c.cli(asked, "webhook", "list", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        return [n for n in json.loads(res.stdout)["nodes"] if n["node"] == of][0]["delivery"]

    def add(self, c, node, url, *args):
        res = c.cli(node, "webhook", "add", url, *args)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        return res.stdout

    def test_a_webhook_added_on_one_node_is_listed_on_every_node(self):
        c = self.cluster("whsync")
        r = Receiver(self)
        out = self.add(c, "n1", r.url, "--secret", SECRET, "--filter", "NodeStale")
        self.assertEqual(out.split("\n")[0].split(), ["NODE", "NODE", "STATUS", "SYNC", "STATUS"])
        for n in c.nodes:
            self.assertRegex(out, r"%s\s+UP\s+OK" % n)
        for n in ("n2", "n3"):
            res = c.cli(n, "webhook", "list", "--format", "json")
            self.assertEqual(res.returncode, 0, res.stderr)
            listed = json.loads(res.stdout)
            self.assertEqual([(w["url"], w["auth"], w["filters"]) for w in listed["webhooks"]],
                             [(r.url, "jwt", ["NodeStale"])])
            self.assertNotIn(SECRET, res.stdout)  # credentials never leave the daemon
            self.assertEqual(sorted(n["node"] for n in listed["nodes"]), c.nodes)
            for n in listed["nodes"]:  # each member's own counters
                self.assertEqual([d["url"] for d in n["delivery"]], [r.url], n)
        # mod changes the filters everywhere, del removes it everywhere.
        res = c.cli("n2", "webhook", "mod", r.url, "--filter", "NodeAlive")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        listed = json.loads(c.cli("n3", "webhook", "list", "--format", "json").stdout)
        self.assertEqual(listed["webhooks"][0]["filters"], ["NodeAlive"])
        self.assertEqual(listed["webhooks"][0]["auth"], "jwt")  # kept
        res = c.cli("n1", "webhook", "mod", r.url, "--no-auth")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        listed = json.loads(c.cli("n2", "webhook", "list", "--format", "json").stdout)
        self.assertEqual(listed["webhooks"][0]["auth"], "none")
        self.assertEqual(listed["webhooks"][0]["filters"], ["NodeAlive"])  # kept
        res = c.cli("n3", "webhook", "del", r.url)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        for n in c.nodes:
            self.assertEqual(json.loads(c.cli(n, "webhook", "list", "--format", "json").stdout)["webhooks"], [])
        # Refusals: exit 2 with the reason.
        for args, why in ((("del", r.url), "no webhook"),
                          (("add", "ftp://127.0.0.1/x"), "scheme"),
                          (("add", r.url, "--filter", "NodeStale,,x"), "")):
            res = c.cli("n1", "webhook", *args)
            self.assertEqual(res.returncode, 2, (args, res.stdout, res.stderr))
            self.assertIn(why, res.stderr)
        self.add(c, "n1", r.url)
        res = c.cli("n2", "webhook", "add", r.url)
        self.assertEqual(res.returncode, 2)
        self.assertIn("exists", res.stderr)

    def test_a_stale_node_is_reported_by_each_survivor_with_a_valid_jwt(self):
        c = self.cluster("whstale")
        r = Receiver(self)
        self.add(c, "n1", r.url, "--secret", SECRET, "--filter", "NodeStale")
        c.kill("n2")
        self.assertTrue(wait_until(lambda: len(r.received()) >= 2, 20), r.received())
        time.sleep(1)  # a third delivery would be a duplicate (not a wait for a condition)
        got = r.received()
        self.assertEqual(sorted(x["body"]["node"] for x in got), ["n1", "n3"])
        for x in got:
            body, headers = x["body"], x["headers"]
            self.assertEqual(body["kind"], "NodeStale")
            self.assertEqual(body["labels"]["node"], "n2")
            self.assertEqual(body["cluster"], "itest")
            self.assertEqual(headers["X-Vigil-Event"], "NodeStale")
            self.assertTrue(headers["X-Vigil-Delivery"])
            self.assertEqual(headers["Content-Type"], "application/json")
            claims = jwt_claims(headers["Authorization"], SECRET)
            self.assertEqual((claims["iss"], claims["sub"]), ("vigil", "NodeStale"))
            self.assertEqual(claims["exp"] - claims["iat"], 60)
        self.assertEqual(len({x["headers"]["X-Vigil-Delivery"] for x in got}), 2)

    def marks(self, c, r, count, start=0):
        for i in range(start, start + count):
            self.assertEqual(c.cli("n1", "node", "set", ".data.mark=%d" % i).returncode, 0)

    def delivered_marks(self, r):
        return [x["body"]["data"]["value"]["data"]["mark"] for x in r.received()]

    def test_a_receiver_down_then_up_gets_every_event_in_order(self):
        c = self.cluster("whdown", size=2)
        r = Receiver(self)
        self.add(c, "n1", r.url, "--bearer-token", "tok-123", "--filter", "NodeDataUpdated,node=n1")
        r.stop()
        self.marks(c, r, 10)
        time.sleep(10)  # the receiver stays down 10 s (the scenario, not a wait)
        r.start()
        self.assertTrue(wait_until(lambda: len(r.received()) >= 10, 30), self.delivered_marks(r))
        time.sleep(0.5)
        self.assertEqual(self.delivered_marks(r), list(range(10)))
        self.assertTrue(all(x["headers"]["Authorization"] == "Bearer tok-123" for x in r.received()))
        # Events learned from n1 are delivered by n1 alone: n2 sent nothing.
        self.assertEqual({x["body"]["node"] for x in r.received()}, {"n1"})
        d = self.delivery(c, "n1", "n1")[0]
        self.assertEqual((d["queued"], d["delivered"]), (0, 10))
        self.assertGreater(d["failed"], 0)
        self.assertTrue(d["last_error"])
        self.assertTrue(d["last_success_at"])

    def test_a_failing_receiver_gets_the_event_again(self):
        c = self.cluster("whfail", size=2)
        r = Receiver(self)
        self.add(c, "n1", r.url, "--filter", "NodeDataUpdated,node=n1")
        r.mode("fail")
        self.marks(c, r, 1)
        self.assertTrue(wait_until(lambda: len(r.failed()) >= 2, 15), r.failed())
        r.mode("ok")
        self.assertTrue(wait_until(lambda: r.received(), 15))
        # The same delivery, retried: its id did not change.
        self.assertEqual(r.received()[0]["headers"]["X-Vigil-Delivery"], r.failed()[0])
        self.assertEqual(self.delivered_marks(r), [0])

    def test_a_hanging_receiver_times_out_and_heartbeats_go_on(self):
        c = self.cluster("whhang", size=2)
        r = Receiver(self)
        fast = Receiver(self)
        self.add(c, "n1", r.url, "--filter", "NodeDataUpdated,node=n1")
        self.add(c, "n1", fast.url, "--filter", "NodeDataUpdated,node=n1")
        stale = c.events("n1", "NodeStale", "HeartbeatStale")
        r.mode("hang")
        self.marks(c, r, 3)
        # The other webhook is not held up by the hanging one.
        self.assertTrue(wait_until(lambda: len(fast.received()) == 3, 10), fast.received())

        def timed_out():
            for d in self.delivery(c, "n1", "n1"):
                if d["url"] == r.url and d["failed"] >= 2:
                    return d
        d = wait_until(timed_out, 15)
        self.assertTrue(d, "the hanging request never timed out")
        self.assertIn("timeout", d["last_error"])
        self.assertEqual(stale.snapshot(), [], "heartbeats suffered from the hanging receiver")
        r.stop()
        r.mode("ok")
        r.start()
        self.assertTrue(wait_until(lambda: len(r.received()) >= 3, 20))
        self.assertEqual(self.delivered_marks(r)[:3], [0, 1, 2])

    def test_events_queued_at_a_restart_are_delivered_after_it(self):
        c = self.cluster("whrestart", size=2)
        r = Receiver(self)
        self.add(c, "n1", r.url, "--filter", "NodeDataUpdated,node=n1")
        r.stop()
        self.marks(c, r, 5)
        self.assertTrue(wait_until(lambda: self.delivery(c, "n2", "n1")[0]["queued"] == 5, 10))
        self.assertEqual(c.stop("n1"), 0)
        r.start()
        c.start("n1")
        self.assertTrue(wait_until(lambda: len(r.received()) >= 5, 30), self.delivered_marks(r))
        self.assertEqual(self.delivered_marks(r)[:5], list(range(5)))

    def test_webhook_test_runs_at_every_alive_node(self):
        c = self.cluster("whtest")
        r = Receiver(self)
        res = c.cli("n2", "webhook", "test", r.url, "--bearer-token", "t0k")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(res.stdout.split("\n")[0].split(), ["NODE", "NODE", "STATUS", "WEBHOOK", "STATUS"])
        for n in c.nodes:
            self.assertRegex(res.stdout, r"%s\s+UP\s+OK" % n)
        got = r.received()
        self.assertEqual(sorted(x["body"]["node"] for x in got), c.nodes)
        self.assertTrue(all(x["headers"].get("Authorization") == "Bearer t0k" for x in got))
        self.assertTrue(all(x["body"]["data"]["test"] is True for x in got))
        # Not a webhook: nothing was added.
        self.assertEqual(json.loads(c.cli("n1", "webhook", "list", "--format", "json").stdout)["webhooks"], [])
        # A receiver down: each node reports its failure, exit 1.
        r.stop()
        res = c.cli("n1", "webhook", "test", r.url, "--format", "json")
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        nodes = json.loads(res.stdout)["nodes"]
        self.assertEqual(sorted(n["node"] for n in nodes), c.nodes)
        self.assertTrue(all(not n["ok"] and n["error"] for n in nodes), nodes)


if __name__ == "__main__":
    main()
