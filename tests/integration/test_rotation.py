"""Secret rotation without downtime: `vigil hb rotate` switches every node to
a new secret while heartbeats keep flowing; a node that was down during a
rotation catches up when it returns; two rotations at once converge on one
secret; datagrams that fail authentication are reported with their sender;
a node that cannot save the new secret (a full disk) stops the switch and
the cluster stays on the old one; a keyring save that blocks (a hung disk)
does not stop heartbeats. The full-disk test mounts a tmpfs (root only;
skipped otherwise)."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main, wait_until, write_private  # noqa: E402


class RotationTest(unittest.TestCase):
    def key(self, c, node):
        return c.hb(node)["key"]

    def wait_key(self, c, node, version, timeout=15):
        return wait_until(lambda: self.key(c, node)["current"] == version, timeout)

    def cluster(self, name):
        c = Cluster(name, size=3, interval="200ms", timeout="1s")
        self.addCleanup(c.close)
        c.start_all()
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"), c.log(n))
        return c

    def test_a_blocked_keyring_save_does_not_stop_heartbeats(self):
        # The save's temporary file is made a FIFO with no reader: opening it
        # for writing blocks until a reader comes, as on a hung disk. The save
        # runs on the worker thread, so n1's heartbeats keep their interval.
        c = self.cluster("rotblock")
        stale = {n: c.events(n, "NodeStale") for n in ("n2", "n3")}
        fifo = os.path.join(c.var_dir("n1"), "keyring.json.tmp.%d" % c.procs["n1"].pid)
        os.mkfifo(fifo, 0o600)
        rotate = subprocess.Popen([os.environ.get("VIGIL_BIN", "vigil"), "--config",
                                   c.config_path("n1"), "hb", "rotate", "--format", "json"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            def received():
                return c.hb("n2")["paths"][0]["peers"]["n1"]["received_datagrams"]
            # The save has started once the FIFO has a writer waiting on it;
            # n1's API and heartbeats go on meanwhile.
            before = received()
            start = time.monotonic()
            self.assertTrue(wait_until(lambda: received() >= before + 15, timeout=15))
            elapsed = time.monotonic() - start
            # 15 heartbeats at a 200 ms interval: about 3 s; far less than the
            # time a stalled loop would take (no heartbeats at all).
            self.assertLess(elapsed, 10)
            self.assertEqual(c.status("n1")["peers"]["n2"]["state"], "alive")
            self.assertIsNone(rotate.poll(), "the rotation finished without its save")
        finally:
            # Unblock the save: read the FIFO until the writer closes it.
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            os.set_blocking(fd, True)
            while os.read(fd, 65536):
                pass
            os.close(fd)
        # A FIFO takes no fsync: the save fails once unblocked, the request
        # says so, and the cluster stays on version 1.
        out, err = rotate.communicate(timeout=60)
        self.assertNotEqual(rotate.returncode, 0, out)
        self.assertIn("cannot save the new secret", err)
        for n in c.nodes:
            self.assertEqual(self.key(c, n)["current"], 1)
        for n in ("n2", "n3"):
            self.assertEqual(stale[n].matching("NodeStale", node="n1"), [])

    def test_rotation_switches_every_node_without_a_stale(self):
        c = self.cluster("rotate")
        streams = {n: c.events(n, "NodeStale", "HeartbeatRotateRequest", "HeartbeatSecretUpdated",
                               "HeartbeatRotateSuccess", "HeartbeatRotateError") for n in c.nodes}
        for n in c.nodes:
            self.assertEqual(self.key(c, n), {"current": 1, "versions": [1], "rotating": False})

        res = c.cli("n1", "hb", "rotate", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(json.loads(res.stdout), {"version": 2})
        for n in c.nodes:
            self.assertTrue(self.wait_key(c, n, 2), (n, self.key(c, n)))
            self.assertTrue(streams[n].wait_for("HeartbeatRotateSuccess", 10), streams[n].snapshot())
            self.assertEqual(streams[n].matching("HeartbeatRotateSuccess")[0]["data"]["version"], 2)
        self.assertEqual(streams["n1"].matching("HeartbeatRotateRequest")[0]["data"],
                         {"version": 2, "leader": "n1"})
        for n in ("n2", "n3"):
            updated = streams[n].matching("HeartbeatSecretUpdated")
            self.assertEqual([e["data"] for e in updated], [{"version": 2, "from": "n1"}])
        # Each node keeps its secrets in var_dir, readable by its owner only.
        for n in c.nodes:
            path = os.path.join(c.var_dir(n), "keyring.json")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            with open(path) as f:
                stored = json.load(f)
            self.assertEqual(stored["current"], 2)
            self.assertEqual(sorted(stored["secrets"]), ["1", "2"])
        # Heartbeats never stopped, and changes still flow with the new key.
        self.assertEqual(c.cli("n2", "node", "set", ".labels.rotated=yes").returncode, 0)
        for n in ("n1", "n3"):
            self.assertTrue(c.wait(n, ".node.n2.labels.rotated=yes", "10s"))
        for n, s in streams.items():
            self.assertEqual(s.matching("NodeStale"), [], "%s: %s" % (n, s.snapshot()))
            self.assertEqual(s.matching("HeartbeatRotateError"), [], "%s: %s" % (n, s.snapshot()))
        # A restarted node reads the new secret from its keyring file.
        c.stop("n3")
        c.start("n3")
        self.assertTrue(c.wait("n3", ".peers.*.state=alive"), c.log("n3"))
        self.assertTrue(c.wait("n1", ".peers.n3.state=alive"), c.log("n1"))
        self.assertEqual(self.key(c, "n3")["current"], 2)

    def test_rotation_with_a_given_secret_and_bad_input(self):
        c = self.cluster("rotategiven")
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        bad = os.path.join(d, "bad")
        with open(bad, "w") as f:
            f.write("not hex\n")
        res = c.cli("n2", "hb", "rotate", "--secret-file", bad)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("--secret-file", res.stderr)
        good = os.path.join(d, "good")
        with open(good, "w") as f:
            f.write("ab" * 32 + "\n")
        res = c.cli("n2", "hb", "rotate", "--secret-file", good)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("version 2", res.stdout)
        with open(os.path.join(c.var_dir("n3"), "keyring.json")) as f:
            self.assertEqual(json.load(f)["secrets"]["2"], "ab" * 32)

    def stored_secrets(self, c, node):
        with open(os.path.join(c.var_dir(node), "keyring.json")) as f:
            return json.load(f)["secrets"]

    def test_a_node_down_during_a_rotation_catches_up(self):
        c = self.cluster("rotatedown")
        c.kill("n3")
        self.assertTrue(c.wait("n1", ".peers.n3.state=stale"))
        res = c.cli("n1", "hb", "rotate", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(json.loads(res.stdout), {"version": 2})
        self.assertTrue(self.wait_key(c, "n2", 2), self.key(c, "n2"))
        # n3 comes back with version 1 only; its peers kept version 1 for it
        # and offer it version 2 under version 1. Nothing is copied by hand.
        self.assertFalse(os.path.exists(os.path.join(c.var_dir("n3"), "keyring.json")))
        c.start("n3")
        self.assertTrue(self.wait_key(c, "n3", 2), (self.key(c, "n3"), c.log("n3")))
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"), (n, c.log(n)))
        self.assertEqual(self.stored_secrets(c, "n3")["2"], self.stored_secrets(c, "n1")["2"])
        # Catch-up heartbeats go to the laggard alone: the others never saw
        # a datagram they could not open.
        for n in ("n1", "n2"):
            self.assertEqual(c.hb(n)["auth_failures"], {}, n)
        self.assertEqual(c.cli("n3", "node", "set", ".labels.back=yes").returncode, 0)
        self.assertTrue(c.wait("n1", ".node.n3.labels.back=yes", "10s"))

    def test_two_rotations_at_once_converge_on_one_secret(self):
        c = self.cluster("rotaterace")
        streams = {n: c.events(n, "NodeStale") for n in c.nodes}
        vigil = os.environ.get("VIGIL_BIN", "vigil")
        procs = {n: subprocess.Popen([vigil, "--config", c.config_path(n), "hb", "rotate"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for n in ("n1", "n2")}
        results = {n: p.communicate(timeout=90) + (p.returncode,) for n, p in procs.items()}
        codes = sorted(r[2] for r in results.values())
        # One wins; the other lost to it, or saw it in progress and refused.
        self.assertEqual(codes[0], 0, results)
        if codes[1] != 0:
            loser = [r for r in results.values() if r[2] != 0][0]
            self.assertRegex(loser[1], "lost to a concurrent rotation|in progress", results)
        # Every node seals with the same version and holds the same secret for it.
        def converged():
            keys = [self.key(c, n) for n in c.nodes]
            return (len({k["current"] for k in keys}) == 1 and keys[0]["current"] >= 2
                    and not any(k["rotating"] for k in keys))
        self.assertTrue(wait_until(converged, 30), [self.key(c, n) for n in c.nodes])
        version = str(self.key(c, "n1")["current"])
        secrets = {self.stored_secrets(c, n)[version] for n in c.nodes}
        self.assertEqual(len(secrets), 1)
        # No node was cut off: nothing stale, nothing failed authentication.
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive", "5s"), c.log(n))
            self.assertEqual(streams[n].matching("NodeStale"), [], streams[n].snapshot())
            self.assertEqual(c.hb(n)["auth_failures"], {}, n)
        self.assertEqual(c.cli("n1", "node", "set", ".labels.after=1").returncode, 0)
        for n in ("n2", "n3"):
            self.assertTrue(c.wait(n, ".node.n1.labels.after=1", "10s"))

    def test_datagrams_that_fail_authentication_are_reported_with_their_sender(self):
        c = Cluster("rotatemismatch", size=3, interval="200ms", timeout="1s")
        self.addCleanup(c.close)
        with open(c.config_path("n3"), "w") as f:  # n3 holds another secret
            f.write(c.config_text("n3").replace(c.secret, "cd" * 32))
        c.start_all()
        def reported():
            return c.hb("n1")["auth_failures"].get("n3", {}).get("count", 0) > 0
        self.assertTrue(wait_until(reported, 15), c.hb("n1"))
        failure = c.hb("n1")["auth_failures"]["n3"]
        self.assertEqual(failure["reason"], "key mismatch")
        self.assertEqual(failure["key_version"], 1)
        self.assertNotIn("n2", c.hb("n1")["auth_failures"])
        table = c.cli("n1", "hb", "status").stdout
        self.assertIn("auth failures from n3: ", table)
        self.assertIn("(key mismatch, key version 1, last ", table)
        self.assertTrue(wait_until(lambda: "claiming to be from n3 fail authentication: key "
                                           "mismatch on key version 1" in c.log("n1"), 10),
                        c.log("n1"))

    def test_a_node_that_cannot_save_the_secret_keeps_everyone_on_the_old_one(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs as a full disk")
        c = Cluster("rotatefull", size=3, interval="200ms", timeout="1s")
        self.addCleanup(c.close)
        var3 = c.var_dir("n3")
        config3 = c.config_text("n3")
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", var3],
                             capture_output=True, text=True)
        if res.returncode != 0:
            self.skipTest("cannot mount a tmpfs: %s" % res.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", var3], capture_output=True)
        write_private(c.config_path("n3"), config3)
        log3 = os.path.join(c.dir, "n3.log")  # not on the full disk
        c.start("n1")
        c.start("n2")
        c.start("n3", log_path=log3)
        for n in c.nodes:
            self.assertTrue(c.wait(n, ".peers.*.state=alive"))
        fd = os.open(os.path.join(var3, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:  # fill the disk
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        streams = {n: c.events(n, "NodeStale", "HeartbeatRotateError", "HeartbeatRotateSuccess")
                   for n in c.nodes}
        start = time.monotonic()
        res = c.cli("n1", "hb", "rotate", timeout=120)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("not acknowledged", res.stderr)
        self.assertLess(time.monotonic() - start, 60)
        err = streams["n3"].wait_for("HeartbeatRotateError", 5)
        self.assertTrue(err, streams["n3"].snapshot())
        self.assertIn("No space left on device", err["data"]["error"])
        self.assertTrue(streams["n1"].wait_for("HeartbeatRotateError", 5), streams["n1"].snapshot())
        for n in c.nodes:
            self.assertEqual(self.key(c, n)["current"], 1, n)
            self.assertEqual(streams[n].matching("NodeStale"), [], streams[n].snapshot())
            self.assertEqual(streams[n].matching("HeartbeatRotateSuccess"), [])
        # The cluster still works on the old secret.
        self.assertEqual(c.cli("n3", "node", "set", ".labels.after=1").returncode, 0)
        self.assertTrue(c.wait("n1", ".node.n3.labels.after=1", "10s"))


if __name__ == "__main__":
    main()
