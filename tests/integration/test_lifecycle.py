"""The member lifecycle: a clean stop is not a failure, the local document
survives a restart, and the rejoin grace holds split analysis after a start.

- SIGTERM: the daemon announces its stop in its last heartbeats; its peers
  show it `stopped`, publish no NodeStale or ForgetPeer, and run no split
  analysis for it (its vote is absent, it stays a member). SIGKILL is still
  a failure.
- <var_dir>/node.json keeps labels, data and `frozen` across a restart.
- cluster.rejoin_grace: after a start, split analysis waits until every member
  was heard (NodeRejoin) or the grace ran out.

Absences are proved over a window measured by the daemon itself: the tests
wait until the observer last heard the stopped peer more than twice the
heartbeat timeout ago (`hb status`), by then a NodeStale would have come."""
import json
import os
import signal
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import VIGIL, Cluster, main, wait_until  # noqa: E402

TIMEOUT_MS = 1000  # the harness's heartbeat timeout ("1s")


def last_heard_ms(c, node, peer):
    """How long ago `node` last heard `peer` on its first path, in ms (None: never)."""
    return c.hb(node)["paths"][0]["peers"][peer]["last_heard_ms"]


class LifecycleTest(unittest.TestCase):
    def cluster(self, name, **kw):
        c = Cluster(name, **kw)
        self.addCleanup(c.close)
        return c

    def start_and_settle(self, c):
        c.start_all()
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"), c.log(n))

    def wait_silent(self, c, node, peer):
        """Waits until `node` has not heard `peer` for twice the timeout."""
        self.assertTrue(wait_until(lambda: (last_heard_ms(c, node, peer) or 0) > 2 * TIMEOUT_MS,
                                   timeout=20), c.hb(node))

    def assert_no_failure_of(self, stream, peer):
        for kind in ("NodeStale", "ForgetPeer"):
            self.assertEqual(stream.matching(kind, node=peer), [], stream.snapshot())
        self.assertEqual(stream.matching("NodeSplitAction"), [], stream.snapshot())

    def test_sigterm_is_a_clean_stop_not_a_failure(self):
        c = self.cluster("lcstop", size=3, quorum=True)
        self.start_and_settle(c)
        kinds = ("NodeStale", "ForgetPeer", "NodeSplitAction", "NodeAlive", "NodeMonitorUpdated")
        streams = {n: c.events(n, *kinds) for n in ("n1", "n3")}

        self.assertEqual(c.stop("n2"), 0)
        for n in ("n1", "n3"):
            self.assertTrue(c.wait(n, ".peers.n2.state=stopped", "10s"), c.log(n))
            event = streams[n].wait_for("NodeMonitorUpdated", 10, node="n2")
            self.assertIsNotNone(event, streams[n].snapshot())
            self.assertEqual(event["data"], {"node": "n2", "state": "stopped"})
        for n in ("n1", "n3"):
            self.wait_silent(c, n, "n2")
            self.assert_no_failure_of(streams[n], "n2")
            ds = c.status(n)
            self.assertEqual(ds["peers"]["n2"]["state"], "stopped")
            self.assertEqual(ds["peers"]["n2"]["hb"], {"u1": "stopped"})
            self.assertIn("n2", ds["cluster"]["nodes"], "a stopped node stays a member")
            # Its vote is absent: 2 of 3 present.
            self.assertEqual(ds["cluster"]["quorum"]["votes"], {"total": 3, "present": 2, "needed": 2})
            self.assertNotIn("split analysis after losing n2", c.log(n))
        self.assertRegex(c.cli("n1", "daemon", "status").stdout, r"(?m)^n2 +stopped ")

        # The last nodes standing: n3 stops too. n1 holds 1 of 3 votes and
        # runs no split action: nobody failed.
        self.assertEqual(c.stop("n3"), 0)
        self.assertTrue(c.wait("n1", ".peers.n3.state=stopped", "10s"), c.log("n1"))
        self.wait_silent(c, "n1", "n3")
        self.assert_no_failure_of(streams["n1"], "n3")
        q = c.status("n1")["cluster"]["quorum"]
        self.assertEqual(q["votes"], {"total": 3, "present": 1, "needed": 2})
        self.assertNotIn("split analysis after losing", c.log("n1"))
        self.assertIsNone(c.procs["n1"].poll())

        # n2 starts again: NodeAlive on n1.
        c.start("n2")
        self.assertIsNotNone(streams["n1"].wait_for("NodeAlive", 10, node="n2"),
                             streams["n1"].snapshot())
        self.assertTrue(c.wait("n1", ".peers.n2.state=alive"))
        self.assertTrue(c.wait("n1", ".cluster.quorum.has_quorum=true"))

    def test_sigint_is_a_clean_stop_too_on_every_path(self):
        c = self.cluster("lcsigint", size=2, paths=2)
        self.start_and_settle(c)
        stream = c.events("n1", "NodeStale", "ForgetPeer", "HeartbeatStale")
        c.procs["n2"].send_signal(signal.SIGINT)
        self.assertEqual(c.procs["n2"].wait(10), 0)
        self.assertTrue(c.wait("n1", ".peers.n2.state=stopped", "10s"), c.log("n1"))
        self.wait_silent(c, "n1", "n2")
        self.assert_no_failure_of(stream, "n2")
        self.assertEqual(stream.matching("HeartbeatStale", node="n2"), [], stream.snapshot())
        self.assertEqual(c.status("n1")["peers"]["n2"]["hb"], {"u1": "stopped", "u2": "stopped"})

    def test_sigkill_is_still_a_failure(self):
        c = self.cluster("lckill", size=3, quorum=True)
        self.start_and_settle(c)
        stream = c.events("n1", "NodeStale", "ForgetPeer", "NodeMonitorUpdated")
        c.kill("n2")
        self.assertIsNotNone(stream.wait_for("NodeStale", 10, node="n2"), stream.snapshot())
        self.assertIsNotNone(stream.wait_for("ForgetPeer", 10, node="n2"), stream.snapshot())
        self.assertEqual(c.status("n1")["peers"]["n2"]["state"], "stale")
        self.assertEqual(stream.matching("NodeMonitorUpdated", node="n2"), [])
        self.assertTrue(wait_until(lambda: "split analysis after losing n2: quorum held" in c.log("n1")),
                        c.log("n1"))

    def test_a_replayed_stop_does_not_mark_a_live_node_stopped(self):
        # n2 reaches n1 through a relay that records every datagram, the stop
        # included. Once n2 runs again (a new boot), the old boot's datagrams
        # are replayed to n1: n2 stays alive there.
        c = Cluster("lcreplay", size=2)
        self.addCleanup(c.close)
        relay = c.relay_n2_to_n1()
        self.start_and_settle(c)
        self.assertEqual(c.stop("n2"), 0)
        self.assertTrue(c.wait("n1", ".peers.n2.state=stopped", "10s"), c.log("n1"))
        old_boot = list(relay.recorded)
        stream = c.events("n1", "NodeMonitorUpdated", "NodeAlive")
        c.start("n2")
        self.assertIsNotNone(stream.wait_for("NodeAlive", 10, node="n2"), stream.snapshot())
        old_boot_drops = c.hb("n1")["dropped"]["old_boot"]
        relay.replay(old_boot)
        self.assertTrue(c.wait_read_all("n1", ("n2",)), c.hb("n1"))
        self.assertGreaterEqual(c.hb("n1")["dropped"]["old_boot"] - old_boot_drops, len(old_boot))
        self.assertEqual(stream.matching("NodeMonitorUpdated", node="n2"), [], stream.snapshot())
        self.assertEqual(c.status("n1")["peers"]["n2"]["state"], "alive")

    def test_labels_data_and_frozen_survive_a_restart(self):
        c = self.cluster("lcdoc", size=3)
        self.start_and_settle(c)
        self.assertEqual(c.cli("n3", "node", "set", ".labels.rack=r7").returncode, 0)
        self.assertEqual(c.cli("n3", "node", "set", '.data.weight={"cpu":4}').returncode, 0)
        res = c.cli("n3", "node", "freeze")
        self.assertEqual(res.returncode, 0, res.stderr)
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".node.n3.frozen=true"), c.log(n))
            self.assertTrue(c.wait(n, ".node.n3.labels.rack=r7"), c.log(n))
        path = os.path.join(c.var_dir("n3"), "node.json")
        self.assertTrue(wait_until(lambda: os.path.exists(path)))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        before = c.status("n1")["node"]["n3"]

        self.assertEqual(c.stop("n3"), 0)
        c.start("n3")

        def restarted_doc(n):
            ds = c.status(n)
            doc = ds["node"].get("n3")
            if ds["peers"]["n3"]["state"] != "alive" or not doc:
                return None
            return doc if doc["boot_at"] != before["boot_at"] else None
        for n in c.nodes:
            doc = wait_until(lambda: restarted_doc(n))
            self.assertTrue(doc, "%s never saw the restarted n3: %s" % (n, c.status(n)))
            self.assertIs(doc["frozen"], True, doc)
            self.assertEqual(doc["frozen_at"], before["frozen_at"])
            self.assertEqual(doc["labels"], {"rack": "r7"})
            self.assertEqual(doc["data"], {"weight": {"cpu": 4}})
        def saved():
            with open(path) as f:
                return json.load(f)
        # The restarted n3 saves its document with its new boot_at.
        self.assertTrue(wait_until(lambda: saved()["boot_at"] != before["boot_at"]))
        self.assertIs(saved()["frozen"], True)
        self.assertEqual(saved()["labels"], {"rack": "r7"})
        # Unfreeze survives a restart as well.
        self.assertEqual(c.cli("n3", "node", "unfreeze").returncode, 0)
        self.assertEqual(c.stop("n3"), 0)
        c.start("n3")
        self.assertIs(c.status("n3")["node"]["n3"]["frozen"], False)
        self.assertEqual(c.status("n3")["node"]["n3"]["labels"], {"rack": "r7"})

    def test_an_acknowledged_change_survives_a_sigkill(self):
        # `node set` and `node freeze` answer once node.json holds the change.
        c = self.cluster("lckill9", size=1)
        c.start("n1")
        self.assertEqual(c.cli("n1", "node", "set", ".labels.zone=z1").returncode, 0)
        self.assertEqual(c.cli("n1", "node", "freeze").returncode, 0)
        c.kill("n1")
        with open(os.path.join(c.var_dir("n1"), "node.json")) as f:
            saved = json.load(f)
        self.assertEqual((saved["labels"], saved["frozen"]), ({"zone": "z1"}, True), saved)
        c.start("n1")
        doc = c.status("n1")["node"]["n1"]
        self.assertEqual((doc["labels"], doc["frozen"]), ({"zone": "z1"}, True), doc)

    def test_a_bad_node_file_stops_the_start_with_exit_2(self):
        c = self.cluster("lcbadfile", size=1)
        path = os.path.join(c.var_dir("n1"), "node.json")
        doc = {"labels": {"rack": 7}, "frozen": False, "frozen_at": None,
               "boot_at": "2026-01-01T00:00:00.000Z", "version": "0", "data": {}}
        cases = [("a label that is not a string", json.dumps(doc), "/labels/rack"),
                 ("not JSON", "{", "not valid JSON")]
        for what, text, reason in cases:
            with self.subTest(what):
                with open(path, "w") as f:
                    f.write(text)
                res = subprocess.run([VIGIL, "daemon", "run", "--config", c.config_path("n1")],
                                     capture_output=True, text=True, timeout=30)
                self.assertEqual(res.returncode, 2, res.stderr)
                self.assertIn(path, res.stderr)
                self.assertIn(reason, res.stderr)
        os.remove(path)
        os.mkdir(path)
        res = subprocess.run([VIGIL, "daemon", "run", "--config", c.config_path("n1")],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn(path + ": not a regular file", res.stderr)

    def test_the_rejoin_grace_holds_split_analysis_until_every_member_is_heard(self):
        # n1 starts with a short grace in one cluster, and with a long one in
        # another. In the short one n2 comes and goes (SIGKILL): once the
        # grace has run out, split analysis acts on that loss (1 of 3 votes),
        # while the long grace still holds the same loss.
        short = self.cluster("lcgraceshort", size=3, quorum=True, rejoin_grace="6s")
        long = self.cluster("lcgracelong", size=3, quorum=True, rejoin_grace="60s")
        short.start("n1")
        short_events = short.events("n1", "NodeSplitAction", "NodeRejoin")
        long.start("n1")
        long_events = long.events("n1", "NodeSplitAction", "NodeRejoin")
        g = long.status("n1")["cluster"]["rejoin_grace"]
        self.assertEqual(g["state"], "running", g)
        self.assertGreater(g["remaining_ms"], 0, g)
        self.assertEqual(g["unheard"], ["n2", "n3"])
        self.assertIn("rejoin grace:", long.cli("n1", "daemon", "status").stdout)

        short.start("n2")
        self.assertTrue(short.wait("n1", ".peers.n2.state=alive"))
        short.kill("n2")
        split = short_events.wait_for("NodeSplitAction", 20)
        self.assertIsNotNone(split, short.log("n1"))
        self.assertEqual(split["data"]["lost"], "n2")
        self.assertEqual(split["data"]["votes"], {"total": 3, "present": 1, "needed": 2})
        g = short.status("n1")["cluster"]["rejoin_grace"]
        self.assertEqual((g["state"], g["remaining_ms"]), ("expired", 0), g)
        self.assertNotIn("rejoin grace:", short.cli("n1", "daemon", "status").stdout)
        self.assertEqual(short_events.matching("NodeRejoin"), [])

        # Meanwhile the long grace still holds n1's split analysis. n2 comes
        # and goes (SIGKILL: a failure, 1 of 3 votes left): the loss is held.
        self.assertEqual(long_events.matching("NodeSplitAction"), [], long_events.snapshot())
        self.assertEqual(long.status("n1")["cluster"]["rejoin_grace"]["state"], "running")
        long.start("n2")
        self.assertTrue(long.wait("n1", ".peers.n2.state=alive"))
        long.kill("n2")
        self.assertTrue(long.wait("n1", ".peers.n2.state=stale"))
        self.assertTrue(wait_until(lambda: "split analysis after losing n2 held" in long.log("n1")),
                        long.log("n1"))
        g = long.status("n1")["cluster"]["rejoin_grace"]
        self.assertEqual((g["state"], g["held"], g["unheard"]), ("running", ["n2"], ["n3"]), g)
        self.assertEqual(long_events.matching("NodeSplitAction"), [], long_events.snapshot())

        # n3 is heard: every member has been, so the grace ends early with
        # NodeRejoin, and the held loss is analysed (n1 + n3: 2 of 3).
        long.start("n3")
        rejoin = long_events.wait_for("NodeRejoin", 10)
        self.assertIsNotNone(rejoin, long.log("n1"))
        self.assertEqual(rejoin["labels"]["node"], "n1")
        self.assertEqual(rejoin["data"]["held"], ["n2"])
        self.assertLess(rejoin["data"]["waited_ms"], 60000)
        self.assertTrue(wait_until(
            lambda: "split analysis after losing n2: quorum held" in long.log("n1")), long.log("n1"))
        g = long.status("n1")["cluster"]["rejoin_grace"]
        self.assertEqual((g["state"], g["remaining_ms"]), ("all_heard", 0), g)
        self.assertEqual(long_events.matching("NodeSplitAction"), [], long_events.snapshot())

    def test_members_never_heard_start_no_split_action_when_the_grace_ends(self):
        # A node booted alone (split_action would crash it) must not act on
        # peers it never heard: no crash-and-reboot loop.
        c = self.cluster("lcgracealone", size=3, quorum=True, rejoin_grace="2s")
        c.start("n1")
        stream = c.events("n1", "NodeSplitAction")
        self.assertTrue(wait_until(
            lambda: c.status("n1")["cluster"]["rejoin_grace"]["state"] == "expired", 15))
        self.assertIn("rejoin grace of 2000 ms ran out", c.log("n1"))
        # Bounded wait for an event that must not come.
        self.assertFalse(wait_until(lambda: stream.matching("NodeSplitAction"), 2),
                         stream.snapshot())
        q = c.status("n1")["cluster"]["quorum"]
        self.assertEqual(q["votes"]["present"], 1, q)

    def test_a_grace_of_zero_is_off(self):
        c = self.cluster("lcgraceoff", size=3, quorum=True, rejoin_grace="0s")
        c.start("n1")
        self.assertEqual(c.status("n1")["cluster"]["rejoin_grace"]["state"], "disabled")
        stream = c.events("n1", "NodeSplitAction")
        c.start("n2")
        self.assertTrue(c.wait("n1", ".peers.n2.state=alive"))
        c.kill("n2")  # n3 never ran: 1 of 3 votes, and no grace holds the analysis
        split = stream.wait_for("NodeSplitAction", 15)
        self.assertIsNotNone(split, c.log("n1"))
        self.assertEqual(split["data"]["lost"], "n2")


if __name__ == "__main__":
    main()
