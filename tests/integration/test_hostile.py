"""Hostile input on loopback: garbage, truncated, oversize and forged
datagrams, fragments that never complete, a flood, and replays of a
restarted agent's old datagrams. Each is dropped and counted, memory stays
bounded, and the real agents keep hearing each other."""
import datetime
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, OTHER_SECRET, SECRET, main, wait_until  # noqa: E402

FORGE = os.environ.get("VIGIL_FORGE", "vigil-forge")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class HostileInputTest(unittest.TestCase):
    def forge(self, c, kind, count, secret=SECRET, sender="n2", extra=()):
        res = subprocess.run([FORGE, "--to", "%s:%d" % (c.addr("n1"), c.port), "--kind", kind,
                              "--count", str(count), "--cluster", c.cluster_name,
                              "--secret", secret, "--sender", sender] + list(extra),
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_garbage_is_dropped_counted_and_heartbeats_keep_flowing(self):
        c = Cluster("hostile", size=4, interval="200ms", timeout="2s")
        self.addCleanup(c.close)
        for n in ("n1", "n2", "n3"):  # n4 never runs: forged fragments claim to be it
            c.start(n)
        for n in ("n2", "n3"):
            self.assertTrue(c.wait("n1", ".peers.%s.state=alive" % n))
        # NodeStatusLabelsUpdated of n1 is a marker: events reach the stream in
        # order, so once the marker is in, so is any NodeStale published before.
        stream = c.events("n1", "NodeStale", "NodeStatusLabelsUpdated,node=n1")
        rss_before = rss_kib(c.procs["n1"].pid)

        self.forge(c, "random", 2000)
        self.forge(c, "truncated", 1000)
        self.forge(c, "oversize", 50)
        self.forge(c, "wrong-key", 1000, secret=OTHER_SECRET)
        self.forge(c, "incomplete", 500, sender="n4")
        # n1 has read the datagrams above, and its kernel drops are counted.
        self.assertTrue(c.wait_read_all("n1", ("n2", "n3")), c.hb("n1"))
        before_flood = c.hb("n1")
        self.forge(c, "random", 100000)  # the flood
        self.assertTrue(c.wait_read_all("n1", ("n2", "n3"), timeout=60), c.hb("n1"))
        # The partial messages n4's fragments left pending expire (reassembly
        # timeout: 5 s after they arrived).
        self.assertTrue(wait_until(lambda: c.hb("n1")["dropped"]["reassembly_timeout"] > 0,
                                   timeout=30), c.hb("n1"))

        # Every flood datagram was either dropped by n1 with a reason or
        # dropped by the kernel at n1's full receive buffer (counted with the
        # next datagram read; heartbeats keep arriving). A kernel drop may
        # also hit a heartbeat, hence the small margin.
        after_flood = c.hb("n1")
        flood_drops = (sum(after_flood["dropped"].values())
                       - sum(before_flood["dropped"].values())
                       - (after_flood["dropped"]["reassembly_timeout"]
                          - before_flood["dropped"]["reassembly_timeout"])
                       + after_flood["kernel_drops"] - before_flood["kernel_drops"])
        self.assertGreaterEqual(flood_drops, 100000, (before_flood, after_flood))
        self.assertLessEqual(flood_drops, 100000 + 100, (before_flood, after_flood))
        self.assertEqual(after_flood["kernel_drops"], after_flood["paths"][0]["kernel_drops"])

        drops = c.hb("n1")["dropped"]
        self.assertGreater(drops["malformed"] + drops["bad_magic"] + drops["bad_version"], 1000, drops)
        self.assertGreater(drops["bad_tag"], 500, drops)
        self.assertGreater(drops["oversize"], 0, drops)
        self.assertGreater(drops["reassembly_timeout"] + drops["reassembly_overflow"], 100, drops)
        # Per-path counters see the same drops.
        path_drops = c.hb("n1")["paths"][0]["dropped"]
        self.assertEqual(path_drops["bad_tag"], drops["bad_tag"])
        # Memory stays bounded: reassembly holds at most 8 partial messages per sender.
        self.assertLess(rss_kib(c.procs["n1"].pid) - rss_before, 30 * 1024)
        # The real agents never stopped hearing each other.
        self.assertEqual(c.cli("n1", "node", "set", ".labels.marker=1").returncode, 0)
        self.assertIsNotNone(stream.wait_for("NodeStatusLabelsUpdated", 10, node="n1"),
                             stream.snapshot())
        self.assertEqual(stream.matching("NodeStale", node="n2"), [], stream.snapshot())
        self.assertEqual(stream.matching("NodeStale", node="n3"), [], stream.snapshot())
        ds = c.status("n1")
        self.assertEqual(ds["peers"]["n2"]["state"], "alive")
        self.assertEqual(ds["peers"]["n3"]["state"], "alive")
        self.assertEqual(c.procs["n1"].poll(), None)

    def test_restart_applies_a_full_and_never_the_old_boots_replayed_messages(self):
        c = Cluster("replay", size=2, interval="200ms", timeout="1s")
        self.addCleanup(c.close)
        relay = c.relay_n2_to_n1()
        c.start_all()
        self.assertTrue(c.wait("n1", ".peers.n2.state=alive"))
        for i in range(5):
            self.assertEqual(c.cli("n2", "node", "set", ".labels.old=%d" % i).returncode, 0)
        self.assertTrue(c.wait("n1", ".node.n2.labels.old=4"))
        old_boot = list(relay.recorded)
        self.assertGreater(len(old_boot), 5)

        c.kill("n2")
        self.assertTrue(c.wait("n1", ".peers.n2.state=stale"))
        stream = c.events("n1", "NodeAlive", "NodeDataUpdated,node=n2")
        c.start("n2")
        self.assertIsNotNone(stream.wait_for("NodeAlive", 10, node="n2"))
        # The restarted n2 keeps its labels (node.json); a change of its new
        # boot marks what n1 must keep.
        self.assertEqual(c.cli("n2", "node", "set", ".labels.old=new").returncode, 0)
        self.assertTrue(c.wait("n1", ".node.n2.labels.old=new"))
        full = [e for e in stream.matching("NodeDataUpdated") if e["data"].get("full")]
        self.assertTrue(full, stream.snapshot())
        updates_before = len(stream.matching("NodeDataUpdated"))
        old_boot_drops = c.hb("n1")["dropped"]["old_boot"]

        relay.replay(old_boot)
        self.assertTrue(c.wait_read_all("n1", ("n2",)), c.hb("n1"))  # n2 speaks through the relay
        self.assertGreaterEqual(c.hb("n1")["dropped"]["old_boot"] - old_boot_drops,
                                len(old_boot) // 2)
        self.assertEqual(len(stream.matching("NodeDataUpdated")), updates_before,
                         "an old boot's message was applied")
        self.assertEqual(c.status("n1")["node"]["n2"]["labels"], {"old": "new"})
        self.assertEqual(c.status("n1")["peers"]["n2"]["state"], "alive")

    def test_a_replayed_heartbeat_does_not_keep_a_dead_node_alive(self):
        # n2 reaches n1 through a relay that records; after n2 is killed, the
        # relay resends its last datagram every 250 ms. n1 must call n2 stale
        # as fast as n3 does, within timeout + interval (plus slack for the
        # loaded machine), not once the sender's clock skew runs out (30 s).
        c = Cluster("replaydead", size=3, interval="200ms", timeout="1s")
        self.addCleanup(c.close)
        relay = c.relay_n2_to_n1()
        c.start_all()
        self.assertTrue(c.wait("n1", ".peers.n2.state=alive"))
        stale = c.events("n1", "NodeStale,node=n2")
        replay_drops = c.hb("n1")["dropped"]["replay"]

        killed_at = time.time()
        c.kill("n2")
        captured = relay.recorded[-1]
        stop = threading.Event()

        def replay():
            while not stop.wait(0.25):
                relay.replay([captured])
        replayer = threading.Thread(target=replay, daemon=True)
        replayer.start()
        try:
            event = stale.wait_for("NodeStale", 10, node="n2")
        finally:
            stop.set()
            replayer.join()
        self.assertIsNotNone(event, "n1 kept n2 alive on replayed heartbeats")
        at = datetime.datetime.strptime(event["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        self.assertLess(at - killed_at, 1.0 + 0.2 + 1.0)  # timeout + interval + slack
        self.assertGreater(c.hb("n1")["dropped"]["replay"], replay_drops)

    def test_a_peer_document_that_breaks_the_schema_is_refused_and_counted(self):
        # n3 is never started: the forge speaks for it, with the real key.
        c = Cluster("hostdoc", size=3, interval="200ms", timeout="1s")
        self.addCleanup(c.close)
        c.start("n1")
        c.start("n2")
        doc = {"labels": {"a": "x"}, "data": {}, "version": "0.1.0",
               "boot_at": "2026-11-30T00:00:00Z", "frozen": False, "frozen_at": None}
        bad = dict(doc, labels={"a": 1}, frozen="yes")
        self.forge(c, "full", 3, sender="n3", extra=["--document", json.dumps(bad)])
        def counted():
            return c.hb("n1")["dropped"]["bad_document"] >= 1
        self.assertTrue(wait_until(counted, 10), c.hb("n1"))
        # Never applied, and every rendering still works.
        self.assertIsNone(c.status("n1")["node"].get("n3"))
        res = c.cli("n1", "daemon", "status")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("node document of n3 refused", c.log("n1"))
        # A document that follows the schema is applied.
        self.forge(c, "full", 3, sender="n3", extra=["--document", json.dumps(doc), "--gen", "2"])
        self.assertTrue(c.wait("n1", ".node.n3.labels.a=x", "10s"), c.status("n1"))


if __name__ == "__main__":
    main(needs={"VIGIL_FORGE": FORGE})
