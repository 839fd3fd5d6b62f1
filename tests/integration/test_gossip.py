"""Gossip mode with 40 real daemons (cluster.dissemination = "gossip"): the
cluster converges, a `node set` reaches every node, a killed node is found
stale by every survivor and nobody else is, a restarted one comes back, a
SIGSTOPped node accuses nobody when it resumes, a node leaves and another
joins; and in a network namespace, a 40-node cluster split in two halves
finds the other half stale and heals."""
import json
import os
import shutil
import signal
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(__file__))
from netns import NetNS  # noqa: E402
from vigil_cluster import Cluster, main, wait_until  # noqa: E402

SIZE = int(os.environ.get("VIGIL_GOSSIP_NODES", "40"))  # smaller to debug
ADMIN_KEY = "admin-key-0123456789abcdef-0123456789"
USER_KEY = "user-key-0123456789abcdef-0123456789"
# The defaults (500 ms interval, 2 s timeout): gossip mode's own pacing.
TIMING = {"interval": "500ms", "timeout": "2s"}


def make(name, size=SIZE, **kw):
    return Cluster(name, size=size, dissemination="gossip", log_level="info", **TIMING, **kw)


def statuses(c, nodes):
    """Every node's dataset, fetched in parallel (40 CLI calls)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(nodes, pool.map(c.status, nodes)))


def stale_lines(c, node):
    """The NodeStale log lines of `node` (level warn)."""
    with open(c.log_path(node)) as f:
        return [line for line in f if " warn NodeStale " in line]


def all_see(c, nodes, predicate, timeout):
    """True once predicate(node, dataset) holds for every node of `nodes`."""
    pending = set(nodes)

    def check():
        for n, ds in statuses(c, sorted(pending)).items():
            if predicate(n, ds):
                pending.discard(n)
        return not pending

    ok = wait_until(check, timeout=timeout, interval=0.5)
    return ok, sorted(pending)


def converged(c, nodes, members=None, timeout=90):
    """Every node of `nodes` holds the document of every member (default:
    `nodes`) and sees every other one alive."""
    want = sorted(members or nodes)
    return all_see(c, nodes, lambda n, ds: sorted(ds["node"]) == want and all(
        ds["peers"][p]["state"] == "alive" for p in want if p != n), timeout)


class GossipTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = make("gossip")
        cls.tls = shutil.which("openssl") is not None
        if cls.tls:
            cls.api_port = cls.c.port + 90
            cls.c.add_tls_api("n1", cls.api_port, ADMIN_KEY, USER_KEY)
        cls.c.start_all()
        ok, missing = converged(cls.c, cls.c.nodes)
        if not ok:
            cls.c.close()
            raise AssertionError("40 nodes did not converge; missing at %s" % missing)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def live(self):
        return [n for n in self.c.nodes if self.c.procs[n].poll() is None]

    def test_1_gossip_mode_sends_far_fewer_messages_than_a_mesh(self):
        hb = self.c.hb("n1")
        d = hb["dissemination"]
        self.assertEqual(d["mode"], "gossip")
        self.assertEqual(d["fanout"], 3)
        self.assertEqual(d["alive"], SIZE - 1)
        time.sleep(2)  # a rate over a few seconds of steady state
        d = self.c.hb("n1")["dissemination"]
        # A full mesh sends 39 datagrams per 500 ms interval: 78 per second.
        self.assertGreater(d["rate"]["messages_per_s"], 0)
        self.assertLess(d["rate"]["messages_per_s"], 30, d)
        self.assertIn("pending_retransmits", d)
        res = self.c.cli("n1", "hb", "status")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("gossip", res.stdout)

    def test_2_a_node_set_reaches_every_node(self):
        c = self.c
        for assignment in ("data.color=green", "labels.zone=b"):
            res = c.cli("n7", "node", "set", assignment)
            self.assertEqual(res.returncode, 0, res.stderr)
        ok, missing = all_see(c, c.nodes, lambda n, ds: ds["node"]["n7"]["data"].get("color") == "green"
                              and ds["node"]["n7"]["labels"].get("zone") == "b", 20)
        self.assertTrue(ok, missing)
        # Several changes in a row arrive complete and in order.
        for i in range(5):
            c.cli("n9", "node", "set", "data.step=%d" % i)
        ok, missing = all_see(c, c.nodes, lambda n, ds: ds["node"]["n9"]["data"].get("step") == 4, 20)
        self.assertTrue(ok, missing)

    def test_3_a_killed_node_is_stale_everywhere_and_comes_back(self):
        c = self.c
        before = {n: len(stale_lines(c, n)) for n in c.nodes}
        c.kill("n20")
        survivors = [n for n in self.live()]
        ok, missing = all_see(c, survivors, lambda n, ds: ds["peers"]["n20"]["state"] == "stale", 40)
        self.assertTrue(ok, missing)
        # Nobody else was declared stale.
        for n in survivors:
            new = stale_lines(c, n)[before[n]:]
            self.assertTrue(all(line.rstrip().endswith("NodeStale n20") for line in new), (n, new))
        c.start("n20")
        ok, missing = all_see(c, c.nodes, lambda n, ds: n == "n20" or ds["peers"]["n20"]["state"] == "alive", 40)
        self.assertTrue(ok, missing)
        ok, missing = converged(c, ["n20"], c.nodes)
        self.assertTrue(ok, missing)

    def test_4_a_stopped_node_accuses_nobody_when_it_resumes(self):
        c = self.c
        before = len(stale_lines(c, "n21"))
        c.signal("n21", signal.SIGSTOP)
        try:
            # Long enough for the others to declare it stale.
            self.assertTrue(wait_until(lambda: c.status("n1")["peers"]["n21"]["state"] == "stale",
                                       timeout=40), c.log("n1")[-2000:])
        finally:
            c.signal("n21", signal.SIGCONT)
        # It refutes: alive again everywhere.
        ok, missing = all_see(c, self.live(), lambda n, ds: n == "n21" or ds["peers"]["n21"]["state"] == "alive", 40)
        self.assertTrue(ok, missing)
        # The local-stall rule: it called nobody stale for the time it was stopped.
        self.assertEqual(stale_lines(c, "n21")[before:], [])
        self.assertIn("stalled", c.log("n21"))

    @unittest.skipUnless(shutil.which("openssl"), "needs the openssl command for the seed's TLS API")
    def test_5_a_node_leaves_and_another_joins(self):
        c = self.c
        streams = {n: c.events(n, "LeaveSuccess", "NodeStale") for n in ("n1", "n2", "n30")}
        res = c.cli("n40", "cluster", "leave")
        self.assertEqual(res.returncode, 0, res.stderr + c.log("n40")[-2000:])
        for n, s in streams.items():
            self.assertIsNotNone(s.wait_for("LeaveSuccess", node="n40"), (n, s.snapshot()))
        ok, missing = all_see(c, [n for n in self.live() if n != "n40"],
                              lambda n, ds: "n40" not in ds["peers"], 30)
        self.assertTrue(ok, missing)
        time.sleep(3)  # past the timeout: a NodeStale of the leaver would be out by now
        for n, s in streams.items():
            self.assertEqual(s.matching("NodeStale", node="n40"), [], n)
        # n41 joins through n1's API, in gossip mode too (the seed's setting).
        c.add_joiner("n41")
        c.start("n41")
        token = c.cli("n1", "cluster", "token").stdout.strip()
        res = c.cli("n41", "cluster", "join", "--token", token, "--seed",
                    "%s:%d" % (c.addr("n1"), self.api_port), "--timeout", "30s")
        self.assertEqual(res.returncode, 0, res.stderr + c.log("n41")[-2000:])
        members = [n for n in self.live() if n != "n40"]
        ok, missing = all_see(c, members, lambda n, ds: n == "n41" or ds["peers"].get("n41", {}).get("state") == "alive", 40)
        self.assertTrue(ok, missing)
        self.assertEqual(c.hb("n41")["dissemination"]["mode"], "gossip")
        ok, missing = converged(c, ["n41"], members, timeout=40)
        self.assertTrue(ok, missing)


class GossipRotationTest(unittest.TestCase):
    def test_a_rotation_completes_in_gossip_mode(self):
        c = make("gossiprot")
        self.addCleanup(c.close)
        c.start_all()
        ok, missing = converged(c, c.nodes)
        self.assertTrue(ok, missing)
        res = c.cli("n3", "hb", "rotate")
        self.assertEqual(res.returncode, 0, res.stderr + c.log("n3")[-2000:])
        want = c.hb("n3")["key"]["current"]
        self.assertEqual(want, 2)
        self.assertTrue(wait_until(lambda: all(c.hb(n)["key"]["current"] == want for n in c.nodes),
                                   timeout=30))
        ok, missing = converged(c, c.nodes, timeout=30)
        self.assertTrue(ok, missing)
        for n in c.nodes:
            self.assertEqual(stale_lines(c, n), [], n)


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl command for the seed's TLS API")
class AutoModeTest(unittest.TestCase):
    def test_auto_turns_to_gossip_when_a_join_passes_32_members(self):
        c = Cluster("gossipauto", size=32, log_level="info", **TIMING)  # dissemination: auto
        self.addCleanup(c.close)
        port = c.port + 90
        c.add_tls_api("n1", port, ADMIN_KEY, USER_KEY)
        c.start_all()
        ok, missing = converged(c, c.nodes)
        self.assertTrue(ok, missing)
        self.assertEqual(c.hb("n5")["dissemination"]["mode"], "mesh")
        before = {n: len(stale_lines(c, n)) for n in c.nodes}
        c.add_joiner("n33")
        c.start("n33")
        token = c.cli("n1", "cluster", "token").stdout.strip()
        res = c.cli("n33", "cluster", "join", "--token", token, "--seed",
                    "%s:%d" % (c.addr("n1"), port), "--timeout", "30s")
        self.assertEqual(res.returncode, 0, res.stderr + c.log("n33")[-2000:])
        # Every member switches, the newcomer included, and nobody is lost on the way.
        ok, missing = all_see(c, c.nodes, lambda n, ds: ds["peers"].get("n33" if n != "n33" else "n1",
                                                                         {}).get("state") == "alive", 40)
        self.assertTrue(ok, missing)
        self.assertTrue(wait_until(lambda: all(c.hb(n)["dissemination"]["mode"] == "gossip"
                                               for n in c.nodes), timeout=20))
        ok, missing = converged(c, c.nodes, timeout=40)
        self.assertTrue(ok, missing)
        time.sleep(4)  # two timeouts: a flap during the switch would show by now
        for n in c.nodes:
            self.assertEqual(stale_lines(c, n)[before.get(n, 0):], [], n)


class GossipPartitionTest(unittest.TestCase):
    def test_a_partition_in_two_halves_and_its_heal(self):
        ns = NetNS("gossippart")
        self.addCleanup(ns.close)
        c = make("gossippart", netns=ns)
        self.addCleanup(c.close)
        c.start_all()
        ok, missing = converged(c, c.nodes)
        self.assertTrue(ok, missing)
        half = SIZE // 2
        a, b = c.nodes[:half], c.nodes[half:]
        first = lambda ns_: ns_[0]  # noqa: E731
        ra = "%s-%s" % (c.addr(first(a)), c.addr(a[-1]))
        rb = "%s-%s" % (c.addr(first(b)), c.addr(b[-1]))
        ns.nft("add rule inet vigil input ip saddr %s ip daddr %s drop" % (ra, rb))
        ns.nft("add rule inet vigil input ip saddr %s ip daddr %s drop" % (rb, ra))
        # Each half finds the other stale, and keeps its own alive.
        ok, missing = all_see(c, c.nodes, lambda n, ds: all(
            ds["peers"][p]["state"] == ("alive" if (p in a) == (n in a) else "stale")
            for p in c.nodes if p != n), 60)
        self.assertTrue(ok, missing)
        # Data still flows within a half.
        self.assertEqual(c.cli("n3", "node", "set", "data.during=split").returncode, 0)
        ok, missing = all_see(c, a, lambda n, ds: ds["node"]["n3"]["data"].get("during") == "split", 20)
        self.assertTrue(ok, missing)
        ns.heal()
        ok, missing = converged(c, c.nodes, timeout=90)
        self.assertTrue(ok, missing)
        ok, missing = all_see(c, b, lambda n, ds: ds["node"]["n3"]["data"].get("during") == "split", 30)
        self.assertTrue(ok, missing)


if __name__ == "__main__":
    main()
