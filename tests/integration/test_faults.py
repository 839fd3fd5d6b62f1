"""Fault injection: packet loss, partitions, asymmetric and per-path cuts,
made with nftables rules inside a network namespace the test creates.
Without root, iproute2 or nftables every test is skipped with a message, and
the suite exits 77 (ctest: Skipped)."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from netns import NetNS  # noqa: E402
from vigil_cluster import Cluster, main, wait_until  # noqa: E402


class FaultTest(unittest.TestCase):
    def cluster(self, name, **kw):
        ns = NetNS(name)
        self.addCleanup(ns.close)
        c = Cluster(name, netns=ns, **kw)
        self.addCleanup(c.close)
        c.start_all()
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"), c.log(n))
        return ns, c

    def peer_path_state(self, c, node, path_id, peer):
        for p in c.hb(node)["paths"]:
            if p["id"] == path_id:
                return p["peers"][peer]["state"]
        raise KeyError(path_id)

    def test_20_percent_loss_raises_no_stale_and_changes_still_converge(self):
        ns, c = self.cluster("loss", interval="200ms", timeout="2s")
        streams = {n: c.events(n, "NodeStale") for n in c.nodes}
        ns.loss(20)
        self.assertEqual(c.cli("n1", "node", "set", ".labels.lossy=yes").returncode, 0)
        for n in ("n2", "n3"):
            self.assertTrue(c.wait(n, ".node.n1.labels.lossy=yes", "10s"))
        time.sleep(12)  # the fault itself: 60 intervals under 20% loss, no NodeStale
        self.assertEqual(c.cli("n3", "node", "set", ".labels.late=1").returncode, 0)
        for n in ("n1", "n2"):
            self.assertTrue(c.wait(n, ".node.n3.labels.late=1", "10s"))
        for n, s in streams.items():
            self.assertEqual(s.matching("NodeStale"), [], "%s: %s" % (n, s.snapshot()))

    def test_partition_is_seen_on_both_sides_and_heals_with_convergence(self):
        ns, c = self.cluster("partition", interval="200ms", timeout="1s")
        streams = {n: c.events(n, "NodeStale", "NodeAlive") for n in c.nodes}
        start = time.monotonic()
        for other in ("n2", "n3"):
            ns.drop(c.addr("n1"), c.addr(other))
            ns.drop(c.addr(other), c.addr("n1"))
        seen = [streams["n1"].wait_for("NodeStale", 10, node="n2"),
                streams["n1"].wait_for("NodeStale", 10, node="n3"),
                streams["n2"].wait_for("NodeStale", 10, node="n1"),
                streams["n3"].wait_for("NodeStale", 10, node="n1")]
        elapsed = time.monotonic() - start
        self.assertTrue(all(seen), [s.snapshot() for s in streams.values()])
        # timeout + interval is 1.2 s; the bound is generous for a loaded machine.
        self.assertLess(elapsed, 5.0)
        self.assertEqual(c.status("n2")["peers"]["n3"]["state"], "alive")
        # Both sides change while apart.
        self.assertEqual(c.cli("n1", "node", "set", ".labels.side=a").returncode, 0)
        self.assertEqual(c.cli("n2", "node", "set", ".labels.side=b").returncode, 0)
        ns.heal()
        self.assertIsNotNone(streams["n1"].wait_for("NodeAlive", 10, node="n2"))
        self.assertIsNotNone(streams["n2"].wait_for("NodeAlive", 10, node="n1"))
        for n in ("n2", "n3"):
            self.assertTrue(c.wait(n, ".node.n1.labels.side=a", "10s"))
        self.assertTrue(c.wait("n1", ".node.n2.labels.side=b", "10s"))
        self.assertTrue(c.wait("n1", ".peers.*.state=alive", "10s"))

    def test_asymmetric_loss_with_a_second_path_raises_no_stale(self):
        ns, c = self.cluster("asym", interval="200ms", timeout="1s", paths=2)
        stream = c.events("n2", "NodeStale")
        ns.drop(c.addr("n1"), c.addr("n2"), port=c.port)  # n1 -> n2 on u1 only
        wait_until(lambda: self.peer_path_state(c, "n2", "u1", "n1") == "stale", timeout=10)
        self.assertEqual(self.peer_path_state(c, "n2", "u1", "n1"), "stale")
        self.assertEqual(self.peer_path_state(c, "n2", "u2", "n1"), "alive")
        self.assertEqual(self.peer_path_state(c, "n1", "u1", "n2"), "alive")  # n2 -> n1 is fine
        # Proving an absence takes a window: with u1 cut, a NodeStale would
        # come within one timeout (1 s); keep the cut for twice that.
        time.sleep(2)
        self.assertEqual(stream.matching("NodeStale"), [], stream.snapshot())
        self.assertEqual(c.status("n2")["peers"]["n1"]["state"], "alive")

    def test_two_paths_one_cut_keeps_the_node_and_both_cut_make_it_stale(self):
        ns, c = self.cluster("twopaths", interval="200ms", timeout="1s",
                             paths=[{"type": "unicast"}, {"type": "multicast"}])
        stream = c.events("n1", "HeartbeatStale", "NodeStale")
        # Cut the unicast path between n1 and n2, both ways.
        ns.drop(c.addr("n1"), c.addr("n2"), port=c.port)
        ns.drop(c.addr("n2"), c.addr("n1"), port=c.port)
        self.assertIsNotNone(stream.wait_for("HeartbeatStale", 10, node="n2", hb="u1"))
        # Proving an absence takes a window: with u1 cut, a NodeStale would
        # come within one timeout (1 s); keep the cut for twice that.
        time.sleep(2)
        self.assertEqual(stream.matching("NodeStale"), [], stream.snapshot())
        self.assertEqual(c.status("n1")["peers"]["n2"]["hb"], {"u1": "stale", "m2": "alive"})
        # Cut the multicast path from n2 as well: now n2 is stale for n1.
        ns.drop_from(c.addr("n2"), port=c.port + 1)
        self.assertIsNotNone(stream.wait_for("NodeStale", 10, node="n2"))
        self.assertEqual(c.status("n1")["peers"]["n3"]["state"], "alive")

    def test_multicast_only_cluster_converges_with_one_datagram_per_interval(self):
        ns, c = self.cluster("mconly", size=4, interval="200ms", timeout="1s",
                             paths=[{"type": "multicast"}])
        self.assertEqual(c.cli("n3", "node", "set", ".labels.via=group").returncode, 0)
        for n in ("n1", "n2", "n4"):
            self.assertTrue(c.wait(n, ".node.n3.labels.via=group", "10s"))
        before = c.hb("n1")["paths"][0]["sent_datagrams"]
        time.sleep(2.0)  # the measurement window: datagrams sent per 2 s
        sent = c.hb("n1")["paths"][0]["sent_datagrams"] - before
        # 2 s / 200 ms = 10 heartbeats; three peers would triple that over unicast.
        self.assertGreaterEqual(sent, 5)
        self.assertLessEqual(sent, 16)
        self.assertEqual(c.hb("n1")["paths"][0]["type"], "multicast")
        self.assertEqual(c.hb("n1")["dropped"]["unknown_sender"], 0)  # own datagrams filtered

    def test_path_that_cannot_bind_is_down_retried_and_never_stops_the_others(self):
        ns = NetNS("pathdown")
        self.addCleanup(ns.close)
        c = Cluster("pathdown", size=2, netns=ns)
        self.addCleanup(c.close)
        # n1 gets a second path on an address the namespace does not have yet.
        port = c.port + 9
        with open(c.config_path("n1"), "a") as f:
            f.write('[hb.u9]\ntype = "unicast"\nlisten = "192.0.2.1:%d"\n'
                    'peers = { n2 = "%s:%d" }\n' % (port, c.addr("n2"), port))
        c.start_all()
        self.assertTrue(c.wait("n1", ".peers.n2.state=alive"), c.log("n1"))
        u9 = next(p for p in c.hb("n1")["paths"] if p["id"] == "u9")
        self.assertFalse(u9["up"])
        # Going down is logged once, by the path, with its type and the
        # reason (later attempts log "still down").
        down = re.findall(r"heartbeat path u9\b(?!: still)[^\n]*\bdown\b", c.log("n1"))
        self.assertEqual(down, ["heartbeat path u9 (unicast) down"], c.log("n1"))
        self.assertIn("192.0.2.1", c.log("n1"))
        stream = c.events("n1", "DaemonHeartbeatUpdated")
        ns.exec("ip", "addr", "add", "192.0.2.1/32", "dev", "lo")
        ev = stream.wait_for("DaemonHeartbeatUpdated", 40, hb="u9")
        self.assertIsNotNone(ev, c.log("n1"))
        self.assertEqual(ev["data"]["state"], "up")
        self.assertTrue(next(p for p in c.hb("n1")["paths"] if p["id"] == "u9")["up"])
        self.assertEqual(c.status("n1")["peers"]["n2"]["state"], "alive")


if __name__ == "__main__":
    main()
