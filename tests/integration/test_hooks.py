"""Hooks that really run: their stdout and stderr reach the log, they inherit
no socket of the daemon, a large event still reaches them on stdin, a timeout
kills the hook's whole process group, and at most 8 run at once."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main, wait_until  # noqa: E402

PROBE = os.path.join(os.path.dirname(__file__), "probe_hook.sh")


def runs(path):
    """The lines of the probe's `runs` file, split."""
    try:
        with open(path) as f:
            return [line.split() for line in f if line.strip()]
    except FileNotFoundError:
        return []


class HookTest(unittest.TestCase):
    def cluster(self, name, hooks):
        c = Cluster(name, size=2, hooks=hooks)
        self.addCleanup(c.close)
        c.start("n1")
        return c

    def test_output_is_logged_and_no_socket_is_inherited(self):
        c = self.cluster("hookout", {"probe": {
            "events": ["NodeStatusLabelsUpdated"],
            "command": lambda node, var_dir: [PROBE, var_dir]}})
        done = c.events("n1", "ExecSuccess,hook=probe", "ExecFailed,hook=probe")
        self.assertEqual(c.cli("n1", "node", "set", ".labels.a=b").returncode, 0)
        self.assertIsNotNone(done.wait_for("ExecSuccess", 10), done.snapshot())
        log = c.log("n1")
        self.assertIn("stdout: probe stdout NodeStatusLabelsUpdated", log)
        self.assertIn("stderr: probe stderr NodeStatusLabelsUpdated", log)
        run = runs(os.path.join(c.var_dir("n1"), "runs"))
        self.assertEqual(len(run), 1, run)
        self.assertEqual(run[0][5], "0", "the hook inherited a socket of the daemon")

    def test_a_large_event_reaches_the_hook_on_stdin(self):
        c = self.cluster("hookbig", {"probe": {
            "events": ["NodeDataUpdated"],
            "command": lambda node, var_dir: [PROBE, var_dir]}})
        done = c.events("n1", "ExecSuccess,hook=probe", "ExecFailed,hook=probe")
        value = "x" * 100_000  # the event carries it twice: document and patch
        self.assertEqual(c.cli("n1", "node", "set", ".data.big=%s" % value).returncode, 0)
        self.assertIsNotNone(done.wait_for("ExecSuccess", 10), done.snapshot())
        run = runs(os.path.join(c.var_dir("n1"), "runs"))[0]
        self.assertGreater(int(run[3]), 200_000)  # stdin: the whole event, above 128 KiB
        self.assertEqual(run[4], "0")  # EVENT unset above 64 KiB

    def test_a_timeout_kills_the_hooks_process_group(self):
        c = self.cluster("hookgrp", {"probe": {
            "events": ["NodeStatusLabelsUpdated"], "timeout": "1s",
            "command": lambda node, var_dir: [PROBE, var_dir, "linger"]}})
        failed = c.events("n1", "ExecFailed,hook=probe")
        self.assertEqual(c.cli("n1", "node", "set", ".labels.a=b").returncode, 0)
        event = failed.wait_for("ExecFailed", 15)
        self.assertIsNotNone(event, failed.snapshot())
        self.assertIn("timeout", event["data"]["error"])
        with open(os.path.join(c.var_dir("n1"), "child.pid")) as f:
            child = int(f.read())

        def gone():
            try:
                with open("/proc/%d/stat" % child) as f:
                    return f.read().split(")")[1].split()[0] == "Z"
            except FileNotFoundError:
                return True
        self.assertTrue(wait_until(gone, 10), "the hook's background child outlived it")

    def test_at_most_eight_hooks_run_at_once(self):
        c = self.cluster("hookcap", {"probe": {
            "events": ["NodeStatusLabelsUpdated"],
            "command": lambda node, var_dir: [PROBE, var_dir, "slow"]}})
        done = c.events("n1", "ExecSuccess,hook=probe")
        for i in range(12):  # commits 100 ms apart: one event each
            self.assertEqual(c.cli("n1", "node", "set", ".labels.a=v%d" % i).returncode, 0)
        path = os.path.join(c.var_dir("n1"), "runs")
        self.assertTrue(wait_until(lambda: len(runs(path)) >= 12, 30), runs(path))
        spans = [(float(r[0]), float(r[1])) for r in runs(path)]
        most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
        self.assertLessEqual(most, 8, spans)


if __name__ == "__main__":
    main()
