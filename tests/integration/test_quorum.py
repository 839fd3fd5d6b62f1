"""Split analysis: quorum, arbitrators and the split action (here always
"disabled": the event is published, the node keeps running). The partition
test runs in a network namespace it creates (root only; skipped otherwise).

A split analysis that keeps the quorum publishes nothing: the tests wait for
its log line ("split analysis after losing <peer>: quorum held ...") before
they check that no NodeSplitAction came."""
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from netns import NetNS  # noqa: E402
from vigil_cluster import Cluster, main, wait_until  # noqa: E402

# A TCP arbitrator: accepts connections and closes them, until killed.
ARBITRATOR = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.close()
"""


class Arbitrator:
    """A TCP arbitrator process on addr:port (inside `netns` when given)."""

    def __init__(self, addr, port, netns=None):
        prefix = netns.prefix() if netns else []
        self.proc = subprocess.Popen(prefix + [sys.executable, "-c", ARBITRATOR, addr, str(port)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "listening"
        self.uri = "tcp://%s:%d" % (addr, port)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class QuorumTest(unittest.TestCase):
    def quorum(self, c, node):
        return c.status(node)["cluster"]["quorum"]

    def analyses(self, c, node, lost):
        """`node`'s log lines of its split analyses after losing `lost`."""
        return [line for line in c.log(node).splitlines()
                if "split analysis after losing %s:" % lost in line]

    def assert_quorum_held(self, c, node, lost, count=1):
        """Waits for the `count`th split analysis of `node` after losing
        `lost`, and checks that it found a majority."""
        done = wait_until(lambda: len(self.analyses(c, node, lost)) >= count, timeout=15)
        self.assertTrue(done, "%s ran no split analysis after losing %s: %s"
                        % (node, lost, c.log(node)))
        self.assertIn("quorum held", self.analyses(c, node, lost)[count - 1])

    def test_losing_the_majority_publishes_node_split_action(self):
        c = Cluster("quorum3", size=3, quorum=True)
        self.addCleanup(c.close)
        c.start_all()
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"), c.log(n))
        self.assertTrue(c.wait("n1", ".cluster.quorum.has_quorum=true"))
        stream = c.events("n1", "ForgetPeer", "NodeSplitAction")

        c.kill("n3")  # 2 of 3 votes left: quorum held
        self.assertTrue(stream.wait_for("ForgetPeer", 10, node="n3"), stream.snapshot())
        self.assert_quorum_held(c, "n1", "n3")
        self.assertEqual(stream.matching("NodeSplitAction"), [], stream.snapshot())
        q = self.quorum(c, "n1")
        self.assertTrue(q["has_quorum"], q)
        self.assertEqual(q["votes"], {"total": 3, "present": 2, "needed": 2})

        c.kill("n2")  # 1 of 3: no quorum
        split = stream.wait_for("NodeSplitAction", 10)
        self.assertTrue(split, stream.snapshot())
        self.assertEqual(split["data"]["action"], "disabled")
        self.assertEqual(split["data"]["lost"], "n2")
        self.assertEqual(split["data"]["votes"], {"total": 3, "present": 1, "needed": 2})
        self.assertEqual(split["data"]["alive"], ["n1"])
        self.assertEqual(split["labels"]["node"], "n1")
        self.assertFalse(self.quorum(c, "n1")["has_quorum"])
        self.assertIsNone(c.procs["n1"].poll(), "split_action disabled: n1 keeps running")
        self.assertIn("NO QUORUM", c.log("n1"))

        c.start("n2")  # the majority is back
        self.assertTrue(c.wait("n1", ".cluster.quorum.has_quorum=true"), c.log("n1"))

    def test_a_reachable_arbitrator_keeps_the_survivor_of_two_nodes(self):
        c = Cluster("quorumarb", size=2, quorum=True)
        arb = Arbitrator("127.0.%d.20" % c.net, c.port + 50)
        self.addCleanup(arb.close)
        c.arbitrators = {"a1": arb.uri}
        for n in c.nodes:
            with open(c.config_path(n), "w") as f:
                f.write(c.config_text(n))
        self.addCleanup(c.close)
        c.start_all()
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"), c.log(n))
        self.assertTrue(c.wait("n1", ".cluster.quorum.arbitrators.a1.reachable=true"), c.log("n1"))
        stream = c.events("n1", "ForgetPeer", "NodeSplitAction", "ArbitratorError")

        c.kill("n2")  # n1 + the arbitrator: 2 of 3 votes
        self.assertTrue(stream.wait_for("ForgetPeer", 10, node="n2"), stream.snapshot())
        self.assert_quorum_held(c, "n1", "n2")  # after the arbitrator check (timeout 1 s)
        self.assertEqual(stream.matching("NodeSplitAction"), [], stream.snapshot())
        self.assertEqual(self.quorum(c, "n1")["votes"], {"total": 3, "present": 2, "needed": 2})

        c.start("n2")
        self.assertTrue(c.wait("n1", ".peers.n2.state=alive"))
        arb.close()  # the arbitrator goes away, then n2 again: 1 of 3
        c.kill("n2")
        self.assertTrue(stream.wait_for("ArbitratorError", 10, arbitrator="a1"), stream.snapshot())
        split = stream.wait_for("NodeSplitAction", 10)
        self.assertTrue(split, stream.snapshot())
        self.assertEqual(split["data"]["arbitrators"], {"a1": False})
        q = self.quorum(c, "n1")
        self.assertFalse(q["arbitrators"]["a1"]["reachable"])
        self.assertIn("refused", q["arbitrators"]["a1"]["error"].lower())

    def test_partition_only_the_minority_side_acts(self):
        ns = NetNS("quorumsplit")
        self.addCleanup(ns.close)
        arb = Arbitrator("127.0.0.20", 29999, netns=ns)
        self.addCleanup(arb.close)
        c = Cluster("quorumsplit", size=3, netns=ns, quorum=True, arbitrators={"a1": arb.uri})
        self.addCleanup(c.close)
        c.start_all()
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"), c.log(n))
            self.assertTrue(c.wait(n, ".cluster.quorum.arbitrators.a1.reachable=true"), c.log(n))
        streams = {n: c.events(n, "ForgetPeer", "NodeSplitAction") for n in c.nodes}
        for other in ("n2", "n3"):  # {n1} | {n2, n3}; everyone still reaches a1
            ns.drop(c.addr("n1"), c.addr(other))
            ns.drop(c.addr(other), c.addr("n1"))
        # n1: itself + a1 = 2 of 4 votes, needed 3.
        split = streams["n1"].wait_for("NodeSplitAction", 15)
        self.assertTrue(split, streams["n1"].snapshot())
        self.assertEqual(split["data"]["votes"], {"total": 4, "present": 2, "needed": 3})
        # n2 and n3: 2 nodes + a1 = 3 of 4. They lose n1 and carry on.
        for n in ("n2", "n3"):
            self.assertTrue(streams[n].wait_for("ForgetPeer", 10, node="n1"), streams[n].snapshot())
        for n in ("n2", "n3"):
            self.assert_quorum_held(c, n, "n1")
            self.assertEqual(streams[n].matching("NodeSplitAction"), [], streams[n].snapshot())
            self.assertTrue(self.quorum(c, n)["has_quorum"])
        self.assertFalse(self.quorum(c, "n1")["has_quorum"])


if __name__ == "__main__":
    main()
