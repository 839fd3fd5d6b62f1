"""Integration: 3 real agents converge, replicate, detect a dead peer, run
hooks, restart with a full resync, and survive a local stall."""
import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main, wait_until  # noqa: E402

HOOK = os.path.join(os.path.dirname(__file__), "record_hook.sh")


class ClusterTest(unittest.TestCase):
    def make(self, name, **kw):
        c = Cluster(name, **kw)
        self.addCleanup(c.close)
        return c

    def test_three_nodes_converge(self):
        c = self.make("converge")
        c.start_all()
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"), c.log(n))
        for n in c.nodes:
            ds = c.status(n)
            self.assertEqual(ds["cluster"]["name"], "itest")
            self.assertEqual(sorted(ds["node"].keys()), c.nodes)  # every document replicated
            for peer in c.nodes:
                if peer != n:
                    self.assertEqual(ds["peers"][peer]["hb"]["u1"], "alive")

    def test_node_set_reaches_every_peer(self):
        c = self.make("set")
        c.start_all()
        self.assertTrue(c.wait("n1", ".peers.*.state=alive"))
        res = c.cli("n1", "node", "set", ".labels.rack=r7")
        self.assertEqual(res.returncode, 0, res.stderr)
        res = c.cli("n1", "node", "set", '.data.weight={"cpu": 4}')
        self.assertEqual(res.returncode, 0, res.stderr)
        for n in ("n2", "n3"):
            self.assertTrue(c.wait(n, ".node.n1.labels.rack=r7", "10s"))
            self.assertTrue(c.wait(n, ".node.n1.data.weight.cpu=4", "10s"))
        res = c.cli("n2", "node", "patch", '[{"op":"add","path":"/data/role","value":"db"}]')
        self.assertEqual(res.returncode, 0, res.stderr)
        res = c.cli("n3", "node", "freeze")
        self.assertEqual(res.returncode, 0, res.stderr)
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".node.n2.data.role=db", "10s"))
            self.assertTrue(c.wait(n, ".node.n3.frozen=true", "10s"))
        ds = c.status("n1")
        self.assertEqual(ds["node"]["n3"]["frozen"], True)
        self.assertIsNotNone(ds["node"]["n3"]["frozen_at"])

    def test_large_document_travels_in_fragments(self):
        c = self.make("fragments", size=2)
        c.start_all()
        self.assertTrue(c.wait("n2", ".peers.*.state=alive"))
        blob = "x" * 20000  # far above the 1200-byte datagram budget
        res = c.cli("n1", "node", "set", ".data.blob=" + blob)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(c.wait("n2", ".node.n1.data.blob=" + blob, "10s"))
        hb = c.hb("n1")
        self.assertGreaterEqual(hb["paths"][0]["sent_bytes"], 20000)
        self.assertEqual(c.hb("n2")["dropped"]["reassembly_timeout"], 0)

    def test_bad_patch_is_refused_and_changes_nothing(self):
        c = self.make("badpatch", size=2)
        c.start_all()
        before = c.status("n1")["node"]["n1"]
        res = c.cli("n1", "node", "patch", '[{"op":"remove","path":"/data/nope"}]')
        self.assertEqual(res.returncode, 2)
        self.assertIn("/data/nope", res.stderr)
        self.assertEqual(c.status("n1")["node"]["n1"], before)

    def test_sigkill_gives_node_stale_and_hook_gets_the_event(self):
        c = self.make("kill", hooks={"record": {
            "events": ["NodeStale"],
            "command": lambda node, var_dir: [HOOK, os.path.join(var_dir, "hook.out")]}})
        c.start_all()
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"))
        streams = {n: c.events(n) for n in ("n1", "n3")}
        c.kill("n2")
        for n in ("n1", "n3"):
            ev = streams[n].wait_for("NodeStale", timeout=10, node="n2")
            self.assertIsNotNone(ev, "%s saw no NodeStale for n2" % n)
            self.assertIsNotNone(streams[n].wait_for("ForgetPeer", timeout=5, node="n2"))
            self.assertIsNotNone(streams[n].wait_for("ExecSuccess", timeout=10, hook="record"))
            with open(os.path.join(c.var_dir(n), "hook.out")) as f:
                lines = f.read().splitlines()
            stdin_event = json.loads(lines[0])
            self.assertEqual(stdin_event["kind"], "NodeStale")
            self.assertEqual(stdin_event["labels"]["node"], "n2")
            self.assertEqual(stdin_event["id"], ev["id"])
            self.assertEqual(lines[1], "VIGIL_EVENT=NodeStale")
            self.assertEqual(json.loads(lines[2][len("EVENT="):])["id"], ev["id"])
            self.assertEqual(c.status(n)["peers"]["n2"]["state"], "stale")

    def test_restart_gives_node_alive_and_full_resync(self):
        c = self.make("restart")
        c.start_all()
        self.assertTrue(c.wait("n1", ".peers.*.state=alive"))
        c.cli("n1", "node", "set", ".labels.zone=z1")
        self.assertTrue(c.wait("n2", ".node.n1.labels.zone=z1"))
        old_boot = c.status("n1")["node"]["n2"]["boot_at"]
        c.kill("n2")
        self.assertTrue(c.wait("n1", ".peers.n2.state=stale"))
        stream = c.events("n1", "NodeAlive", "NodeDataUpdated,node=n2")  # subscribed on return
        c.start("n2")
        self.assertIsNotNone(stream.wait_for("NodeAlive", timeout=10, node="n2"))
        full = wait_until(lambda: next(
            (e for e in stream.matching("NodeDataUpdated", node="n2", **{"from": "peer"})
             if e["data"].get("full")), None), timeout=10)
        self.assertIsNotNone(full, "n1 applied no full document from the restarted n2")
        self.assertNotEqual(full["data"]["value"]["boot_at"], old_boot)
        # The restarted node got everyone's documents back (full resync its way too).
        self.assertTrue(c.wait("n2", ".node.n1.labels.zone=z1"))
        self.assertTrue(c.wait("n2", ".peers.*.state=alive"))

    def test_sigstop_observer_raises_no_false_node_stale(self):
        c = self.make("sigstop")
        c.start_all()
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"))
        stream = c.events("n1", "NodeStale")
        peer_stream = c.events("n2", "NodeStale")
        c.signal("n1", signal.SIGSTOP)
        time.sleep(3.0)  # the fault itself: n1 stays paused for 3x the 1 s timeout
        c.signal("n1", signal.SIGCONT)
        # Peers of the paused node saw it go stale...
        self.assertIsNotNone(peer_stream.wait_for("NodeStale", timeout=5, node="n1"))
        # ...and it comes back for them.
        self.assertTrue(c.wait("n2", ".peers.n1.state=alive"))
        # The paused node itself must not call its live peers stale. It runs
        # again once it has logged its own stall...
        self.assertTrue(wait_until(lambda: "stalled" in c.log("n1"), timeout=10), c.log("n1"))
        # ...and a false NodeStale would come within one timeout (1 s) of that.
        # Proving an absence takes a window: watch for twice the timeout.
        time.sleep(2.0)
        self.assertEqual(stream.matching("NodeStale"), [],
                         "n1 raised NodeStale after its own stall: %s" % stream.snapshot())
        ds = c.status("n1")
        self.assertEqual(ds["peers"]["n2"]["state"], "alive")
        self.assertEqual(ds["peers"]["n3"]["state"], "alive")

    def test_log_on_a_full_disk_does_not_stop_the_daemon(self):
        c = self.make("fulldisk", size=2)
        c.start("n1", log_path="/dev/full")  # every log write fails with ENOSPC
        c.start("n2")
        self.assertTrue(c.wait("n1", ".peers.*.state=alive"))
        self.assertEqual(c.cli("n1", "node", "set", ".labels.disk=full").returncode, 0)
        self.assertTrue(c.wait("n2", ".node.n1.labels.disk=full"))
        self.assertIsNone(c.procs["n1"].poll())

    def test_sigterm_stops_cleanly(self):
        c = self.make("sigterm", size=2)
        c.start_all()
        self.assertEqual(c.stop("n1"), 0)
        self.assertFalse(os.path.exists(os.path.join(c.var_dir("n1"), "api.sock")))


if __name__ == "__main__":
    main()
