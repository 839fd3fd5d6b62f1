"""The member lifecycle with real daemons: a node joins with a token through
a seed's TLS API, restarts and stays a member, leaves, and a dead member is
forgotten; two joins at once at two seeds; every refusal of the join
contract leaves the seed's member list unchanged (skipped without openssl)."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from netns import NetNS  # noqa: E402
from vigil_cluster import SECRET, Cluster, main, wait_until  # noqa: E402

ADMIN_KEY = "admin-key-0123456789abcdef-0123456789"
USER_KEY = "user-key-0123456789abcdef-0123456789"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def join_key(secret_hex, cluster):
    h = hashlib.blake2b(key=bytes.fromhex(secret_hex), digest_size=32)
    h.update(b"vigil/join-token/v1")
    h.update(struct.pack("<I", len(cluster)))
    h.update(cluster.encode())
    return h.digest()


def signed(claims, key):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    mac = hmac.new(key, (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64url(mac)


class MembershipTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("needs the openssl command")
        cls.c = Cluster("membership", size=3, rejoin_grace="2s")
        cls.api_port = cls.c.port + 50
        cls.c.add_tls_api("n1", cls.api_port, ADMIN_KEY, USER_KEY)
        # n2 gets a listener of its own (another certificate, same file name
        # in the cluster dir: n1's config keeps its own copy below).
        n1_cert = os.path.join(cls.c.dir, "api.crt")
        n1_key = os.path.join(cls.c.dir, "api.key")
        os.rename(n1_cert, os.path.join(cls.c.dir, "n1.crt"))
        os.rename(n1_key, os.path.join(cls.c.dir, "n1.key"))
        with open(cls.c.config_path("n1")) as f:
            text = f.read().replace(n1_cert, os.path.join(cls.c.dir, "n1.crt")).replace(
                n1_key, os.path.join(cls.c.dir, "n1.key"))
        with open(cls.c.config_path("n1"), "w") as f:
            f.write(text)
        cls.c.add_tls_api("n2", cls.api_port + 1, ADMIN_KEY, USER_KEY)
        cls.c.start_all()
        for n in cls.c.nodes:
            assert cls.c.wait(n, ".peers.*.state=alive"), n

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def seed(self, node="n1"):
        return "%s:%d" % (self.c.addr(node), self.api_port + (0 if node == "n1" else 1))

    def token(self, node="n1"):
        res = self.c.cli(node, "cluster", "token")
        self.assertEqual(res.returncode, 0, res.stderr)
        return res.stdout.strip()

    def members(self, node):
        res = self.c.cli(node, "cluster", "members", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        return json.loads(res.stdout)

    def join(self, node, seed="n1", token=None, timeout="10s"):
        return self.c.cli(node, "cluster", "join", "--token", token or self.token(seed),
                          "--seed", self.seed(seed), "--timeout", timeout)

    def current(self, node):
        return sorted(n for n, m in self.members(node).items() if m["state"] != "left")

    def test_1_a_node_joins_restarts_and_leaves(self):
        c = self.c
        c.add_joiner("n4")
        c.start("n4")
        status = c.status("n4")
        self.assertTrue(status["cluster"]["standalone"], status["cluster"])
        res = c.cli("n4", "daemon", "status")
        self.assertIn("standalone", res.stdout)
        stream = c.events("n2", "JoinSuccess")
        started = time.monotonic()
        res = self.join("n4")
        self.assertEqual(res.returncode, 0, res.stderr + c.log("n4")[-3000:])
        self.assertIn("joined cluster itest", res.stdout)
        # Within 5 s every node sees n4 alive.
        for n in ("n1", "n2", "n3"):
            self.assertTrue(c.wait(n, ".peers.n4.state=alive", "5s"), (n, c.log(n)[-2000:]))
        self.assertLess(time.monotonic() - started, 10)
        self.assertTrue(c.wait("n4", ".peers.*.state=alive", "5s"))
        self.assertIsNotNone(stream.wait_for("JoinSuccess", node="n4"), stream.snapshot())
        self.assertEqual(self.current("n3"), ["n1", "n2", "n3", "n4"])
        self.assertEqual(c.status("n2")["cluster"]["nodes"], ["n1", "n2", "n3", "n4"])
        # Data flows both ways.
        self.assertEqual(c.cli("n4", "node", "set", "data.color=blue").returncode, 0)
        self.assertTrue(c.wait("n2", '.node.n4.data.color="blue"', "5s"))
        self.assertEqual(c.cli("n3", "node", "set", "data.size=3").returncode, 0)
        self.assertTrue(c.wait("n4", ".node.n3.data.size=3", "5s"))
        # cluster.json: mode 0600, the member list; nobody edited a config.
        path = os.path.join(c.var_dir("n4"), "cluster.json")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path) as f:
            saved = json.load(f)
        self.assertEqual(saved["cluster"], "itest")
        self.assertIn("n4", [m["name"] for m in saved["members"]])
        # A restart keeps the membership.
        c.stop("n4")
        self.assertTrue(c.wait("n1", ".peers.n4.state=stopped", "5s"))
        c.start("n4")
        self.assertFalse(c.status("n4")["cluster"]["standalone"])
        for n in ("n1", "n2", "n3"):
            self.assertTrue(c.wait(n, ".peers.n4.state=alive", "5s"), n)
        self.assertTrue(c.wait("n4", ".peers.*.state=alive", "5s"))
        # A rotation after the join reaches the new node.
        res = c.cli("n1", "hb", "rotate")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(wait_until(lambda: c.hb("n4")["key"]["current"] == c.hb("n1")["key"]["current"]))
        # n4 leaves: LeaveSuccess everywhere, no NodeStale, 3 votes of 3.
        streams = {n: c.events(n, "LeaveSuccess", "NodeStale", "ForgetPeer") for n in ("n1", "n2", "n3")}
        res = c.cli("n4", "cluster", "leave")
        self.assertEqual(res.returncode, 0, res.stderr)
        for n, s in streams.items():
            self.assertIsNotNone(s.wait_for("LeaveSuccess", node="n4"), (n, s.snapshot()))
        for n in ("n1", "n2", "n3"):
            self.assertTrue(wait_until(lambda: self.current(n) == ["n1", "n2", "n3"]), n)
            self.assertEqual(c.status(n)["cluster"]["quorum"]["votes"]["total"], 3)
            self.assertEqual(self.members(n)["n4"]["state"], "left")
        time.sleep(2)  # past n4's timeout (1 s): a NodeStale would be out by now
        for n, s in streams.items():
            self.assertEqual(s.matching("NodeStale"), [], n)
            self.assertEqual(s.matching("ForgetPeer"), [], n)
        self.assertTrue(c.status("n4")["cluster"]["standalone"])
        self.assertFalse(os.path.exists(os.path.join(c.var_dir("n4"), "keyring.json")))
        # The running config after a leave is still the file's, as a reload sees it.
        res = c.cli("n4", "daemon", "reload")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("no change", res.stdout)
        # A node that left joins again with a new token.
        res = self.join("n4")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(c.wait("n3", ".peers.n4.state=alive", "5s"))
        res = c.cli("n4", "cluster", "leave")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(wait_until(lambda: self.current("n1") == ["n1", "n2", "n3"]))

    def test_2_two_joins_at_once_at_two_seeds(self):
        c = self.c
        for n in ("n5", "n6"):
            c.add_joiner(n)
            c.start(n)
        tokens = {"n5": self.token("n1"), "n6": self.token("n2")}
        results = {}

        def run(node, seed):
            results[node] = self.join(node, seed, tokens[node])

        threads = [threading.Thread(target=run, args=a) for a in (("n5", "n1"), ("n6", "n2"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for n, res in results.items():
            self.assertEqual(res.returncode, 0, (n, res.stderr))
        want = ["n1", "n2", "n3", "n5", "n6"]
        for n in want:
            self.assertTrue(wait_until(lambda: self.current(n) == want), (n, self.members(n)))
            self.assertTrue(c.wait(n, ".peers.*.state=alive", "5s"), n)

        # n6 is killed, then forgotten: refused while alive, then the total shrinks.
        res = c.cli("n1", "cluster", "forget", "n6")
        self.assertEqual(res.returncode, 2)
        self.assertIn("alive", res.stderr)
        c.kill("n6")
        self.assertTrue(c.wait("n1", ".peers.n6.state=stale", "5s"))
        res = c.cli("n1", "cluster", "forget", "n6")
        self.assertEqual(res.returncode, 0, res.stderr)
        for n in ("n1", "n2", "n3", "n5"):
            self.assertTrue(wait_until(lambda: self.current(n) == ["n1", "n2", "n3", "n5"]), n)
            self.assertTrue(wait_until(
                lambda: c.status(n)["cluster"]["quorum"]["votes"]["total"] == 4), n)
        res = c.cli("n1", "cluster", "forget", "nobody")
        self.assertEqual(res.returncode, 2)
        # n5 leaves again, for the tests after this one.
        self.assertEqual(c.cli("n5", "cluster", "leave").returncode, 0)

    def test_3_bad_joins_are_refused_and_change_nothing(self):
        c = self.c
        c.add_joiner("n7")
        c.start("n7")
        before = self.members("n1")
        good = json.loads(b64url_decode(self.token().split(".")[1]))
        key = join_key(SECRET, "itest")
        now = int(time.time())
        cases = {
            "expired": signed(dict(good, iat=now - 4000, exp=now - 3000), key),
            "tampered": self.token()[:-2] + ("AA" if not self.token().endswith("AA") else "BB"),
            "another cluster": signed(dict(good, cluster="other"), join_key(SECRET, "other")),
            "wrong certificate": signed(dict(good, cnf={"x5t#S256": b64url(b"\0" * 32)}), key),
        }
        for name, token in cases.items():
            res = self.join("n7", token=token, timeout="5s")
            self.assertEqual(res.returncode, 2, (name, res.stderr))
            self.assertTrue(res.stderr.strip(), name)
        res = self.join("n7", token=cases["wrong certificate"], timeout="5s")
        self.assertIn("man in the middle", res.stderr)
        # A seed without an [api] TLS listener (n3 has none).
        res = c.cli("n7", "cluster", "join", "--token", self.token(), "--seed",
                    "%s:%d" % (c.addr("n3"), self.api_port), "--timeout", "5s")
        self.assertEqual(res.returncode, 2, res.stderr)
        # A name held by a live member, with other addresses: n7 calls itself n2.
        with open(c.config_path("n7")) as f:
            text = f.read()
        impostor = text.replace('name = "n7"', 'name = "n2"')
        with open(c.config_path("n7"), "w") as f:
            f.write(impostor)
        c.stop("n7")
        c.start("n7")
        res = self.join("n7", timeout="5s")
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("live member", res.stderr)
        self.assertEqual(self.members("n1"), before)
        self.assertTrue(c.status("n7")["cluster"]["standalone"])

    def test_4_the_whole_cluster_restarts_from_cluster_json(self):
        c = self.c
        c.add_joiner("n8")
        c.start("n8")
        self.assertEqual(self.join("n8").returncode, 0)
        want = self.current("n1")
        self.assertIn("n8", want)
        for n in want:
            c.stop(n)
        for n in want:
            c.start(n)
        for n in want:
            self.assertEqual(self.current(n), want, n)
            self.assertTrue(c.wait(n, ".peers.*.state=alive", "10s"), n)


    def test_5_a_joiner_that_lost_its_files_joins_again_ignored(self):
        # As if it died after the seed admitted it, before it saved anything.
        c = self.c
        c.add_joiner("n9")
        c.start("n9")
        self.assertEqual(self.join("n9").returncode, 0)
        c.kill("n9")
        for f in ("cluster.json", "keyring.json"):
            os.unlink(os.path.join(c.var_dir("n9"), f))
        c.start("n9")
        self.assertTrue(c.status("n9")["cluster"]["standalone"])
        ltime = self.members("n1")["n9"]["ltime"]
        ignored = c.events("n1", "JoinIgnored")
        res = self.join("n9")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIsNotNone(ignored.wait_for("JoinIgnored", node="n9"), ignored.snapshot())
        self.assertEqual(self.members("n1")["n9"]["ltime"], ltime, "the entry is unchanged")
        for n in self.current("n1"):
            self.assertTrue(c.wait(n, ".peers.*.state=alive", "10s"), n)


class MembershipFaultTest(unittest.TestCase):
    """Joins against a seed without quorum, and across a partition."""

    def setUp(self):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("needs the openssl command")

    def members(self, c, node):
        res = c.cli(node, "cluster", "members", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        return json.loads(res.stdout)

    def test_a_seed_without_quorum_refuses_a_join(self):
        c = Cluster("memberquorum", size=3, quorum=True, rejoin_grace="0s")
        self.addCleanup(c.close)
        port = c.port + 50
        c.add_tls_api("n1", port, ADMIN_KEY, USER_KEY)
        c.start_all()
        self.assertTrue(c.wait("n1", ".peers.*.state=alive"))
        token = c.cli("n1", "cluster", "token").stdout.strip()
        c.kill("n2")
        c.kill("n3")
        self.assertTrue(c.wait("n1", ".cluster.quorum.has_quorum=false", "10s"))
        before = self.members(c, "n1")
        c.add_joiner("n4")
        c.start("n4")
        res = c.cli("n4", "cluster", "join", "--token", token, "--seed",
                    "%s:%d" % (c.addr("n1"), port), "--timeout", "5s")
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("lacks quorum", res.stderr)
        self.assertEqual(self.members(c, "n1"), before)
        self.assertTrue(c.status("n4")["cluster"]["standalone"])

    def test_a_join_across_a_partition_that_heals(self):
        ns = NetNS("memberpart")
        self.addCleanup(ns.close)
        c = Cluster("memberpart", size=3, netns=ns)
        self.addCleanup(c.close)
        port = c.port + 50
        c.add_tls_api("n1", port, ADMIN_KEY, USER_KEY)
        c.start_all()
        self.assertTrue(c.wait("n1", ".peers.*.state=alive"))
        c.add_joiner("n4")
        c.start("n4")
        # n4 reaches the seed n1, but neither n2 nor n3.
        for other in ("n2", "n3"):
            ns.drop(c.addr("n4"), c.addr(other))
            ns.drop(c.addr(other), c.addr("n4"))
        token = c.cli("n1", "cluster", "token").stdout.strip()
        res = c.cli("n4", "cluster", "join", "--token", token, "--seed",
                    "%s:%d" % (c.addr("n1"), port), "--timeout", "10s")
        self.assertEqual(res.returncode, 0, res.stderr)
        # n2 and n3 learn of the member from n1, but cannot hear it yet.
        for n in ("n2", "n3"):
            self.assertTrue(wait_until(lambda: "n4" in self.members(c, n)), n)
            self.assertEqual(c.status(n)["peers"]["n4"]["state"], "unknown")
        ns.heal()
        for n in ("n1", "n2", "n3", "n4"):
            self.assertTrue(c.wait(n, ".peers.*.state=alive", "10s"), (n, c.log(n)[-2000:]))


if __name__ == "__main__":
    main()
