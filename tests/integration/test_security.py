"""Integration: datagrams from another cluster or sealed with another secret
are dropped and counted, never applied."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import (Cluster, OTHER_SECRET, SECRET, VIGIL, main, wait_until,  # noqa: E402
                           write_private)


class SecurityTest(unittest.TestCase):
    def intruder(self, c, name, cluster_name, secret, host):
        """A real vigil daemon posing as n2, aimed at n1, from 127.0.x.<host>."""
        d = os.path.join(c.dir, name)
        os.makedirs(d, mode=0o700)
        cfg = os.path.join(d, "vigil.toml")
        write_private(cfg, "\n".join([
            "[cluster]", 'name = "%s"' % cluster_name, 'nodes = ["n1", "n2"]',
            'secret = "%s"' % secret,
            "[node]", 'name = "n2"', 'var_dir = "%s"' % d,
            "[hb.u1]", 'type = "unicast"',
            'listen = "127.0.%d.%d:%d"' % (c.net, host, c.port),
            'peers = { n1 = "%s:%d" }' % (c.addr("n1"), c.port),
            'interval = "100ms"', 'timeout = "1s"']) + "\n")
        proc = subprocess.Popen([VIGIL, "daemon", "run", "--config", cfg],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.terminate(), proc.wait()))
        return proc

    def test_other_cluster_and_other_secret_are_dropped_and_counted(self):
        c = Cluster("security", size=2)
        self.addCleanup(c.close)
        c.start("n1")  # n2 stays down: only intruders speak for it
        stream = c.events("n1", "NodeAlive", "NodeDataUpdated")
        self.intruder(c, "other-cluster", "elsewhere", SECRET, 9)
        self.intruder(c, "other-secret", "itest", OTHER_SECRET, 10)

        def counted():
            d = c.hb("n1")["dropped"]
            return d["bad_cluster"] >= 5 and d["bad_tag"] >= 5
        wait_until(counted, timeout=10)
        drops = c.hb("n1")["dropped"]
        self.assertGreaterEqual(drops["bad_cluster"], 5, drops)
        self.assertGreaterEqual(drops["bad_tag"], 5, drops)
        ds = c.status("n1")
        self.assertEqual(ds["peers"]["n2"]["state"], "unknown")
        self.assertNotIn("n2", ds["node"])
        self.assertEqual(stream.snapshot(), [])


if __name__ == "__main__":
    main()
