"""Integration: a CLI that tells the truth. Help and version, --format json on
every command that prints, node wait (several conditions, event filters
refused, the failing match on timeout, wildcards over every peer), the status
table's marks, and the daemon's log lines (UTC times, level names, each fact
once, every local change with who asked)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, VIGIL, main, wait_until  # noqa: E402

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Every command that reads the config, as words after `vigil`.
CONFIG_COMMANDS = [("daemon",), ("daemon", "run"), ("daemon", "status"), ("daemon", "reload"),
                   ("node",),
                   ("node", "events"), ("node", "wait"), ("node", "set"), ("node", "patch"),
                   ("node", "freeze"), ("node", "unfreeze"), ("hb",), ("hb", "status"),
                   ("hb", "rotate"), ("cluster",), ("cluster", "token"), ("secret",),
                   ("secret", "generate"), ("version",), ("queue",), ("queue", "show"), ()]

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z n1 "
                      r"(trace|debug|info|warn|error|critical) \S")


def run(*args, env=None):
    return subprocess.run([VIGIL] + list(args), capture_output=True, text=True, timeout=60, env=env)


def one_json_line(test, res):
    """The single JSON document `res` printed on stdout, on one line."""
    test.assertEqual(res.returncode, 0, res.stderr)
    lines = res.stdout.splitlines()
    test.assertEqual(len(lines), 1, res.stdout)
    return json.loads(lines[0])


class WithoutDaemonTest(unittest.TestCase):
    def test_every_command_help_names_config_and_its_variable(self):
        for words in CONFIG_COMMANDS:
            res = run(*words, "--help")
            self.assertEqual(res.returncode, 0, (words, res.stderr))
            self.assertIn("--config", res.stdout, words)
            self.assertIn("VIGIL_CONFIG", res.stdout, words)

    def test_version_prints_version_and_commit(self):
        flag, command = run("--version"), run("version")
        self.assertEqual(flag.returncode, 0, flag.stderr)
        self.assertEqual(command.returncode, 0, command.stderr)
        self.assertEqual(flag.stdout, command.stdout)
        m = re.fullmatch(r"vigil (\d+\.\d+\.\d+) \(commit ([0-9a-f]{4,40}|unknown)\)\n",
                         command.stdout)
        self.assertIsNotNone(m, command.stdout)
        doc = one_json_line(self, run("version", "--format", "json"))
        self.assertEqual(doc, {"version": m.group(1), "commit": m.group(2)})
        if shutil.which("git") and m.group(2) != "unknown":
            # The commit the binary was built from is in this checkout.
            known = subprocess.run(["git", "-C", SOURCE_DIR, "cat-file", "-e",
                                    m.group(2) + "^{commit}"], capture_output=True)
            self.assertEqual(known.returncode, 0, known.stderr)

    def test_limit_zero_is_a_usage_error_in_words(self):
        for value in ("0", "-3", "many"):
            res = run("node", "events", "--limit", value, "--config", "/nonexistent.toml")
            self.assertEqual(res.returncode, 2, res.stderr)
            self.assertIn("--limit %s: expected a count of events, 1 or more" % value, res.stderr)

    def test_wait_refuses_event_filters_and_paths_outside_the_dataset(self):
        for text in ("NodeStale", "NodeStale,node=n2", "NodeAlive"):
            res = run("node", "wait", "--filter", text, "--config", "/nonexistent.toml")
            self.assertEqual(res.returncode, 2, res.stderr)
            self.assertIn("is an event kind", res.stderr)
            self.assertIn("node events --filter", res.stderr)
        res = run("node", "wait", "--filter", ".labels.rack=r7", "--config", "/nonexistent.toml")
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("the dataset has .cluster, .node and .peers", res.stderr)

    def test_secret_generate_json(self):
        doc = one_json_line(self, run("secret", "generate", "--format", "json"))
        self.assertRegex(doc["secret"], r"^[0-9a-f]{64}$")
        folder = tempfile.mkdtemp(prefix="vigil-secret-")
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, "s")
        doc = one_json_line(self, run("secret", "generate", path, "--format", "json"))
        self.assertEqual(doc, {"file": path, "mode": "0600"})


class RunningClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # n1's second path does not reach n3: n3's HB:u2 cell is "no path".
        cls.c = Cluster("clitruth", size=3, paths=2)
        with open(cls.c.config_path("n1")) as f:
            text = f.read()
        head, _, u2 = text.partition("[hb.u2]")
        u2 = re.sub(r', n3 = "[^"]*"', "", u2)
        with open(cls.c.config_path("n1"), "w") as f:
            f.write(head + "[hb.u2]" + u2)
        cls.c.start_all()
        assert cls.c.wait("n1", ".peers.*.state=alive"), cls.c.log("n1")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def cli(self, *args, **kw):
        return self.c.cli("n1", *args, **kw)

    def log_has(self, pattern):
        regex = re.compile(pattern, re.M)
        return wait_until(lambda: regex.search(self.c.log("n1")))

    # ---- node wait --------------------------------------------------------------

    def test_several_filters_must_all_hold(self):
        both = self.cli("node", "wait", "--filter", ".cluster.name=itest",
                        "--filter", ".peers.n2.state=alive", "--duration", "5s")
        self.assertEqual(both.returncode, 0, both.stderr)
        one = self.cli("node", "wait", "--filter", ".cluster.name=itest",
                       "--filter", ".cluster.name=other", "--duration", "0s")
        self.assertEqual(one.returncode, 1, one.stderr)
        self.assertEqual(one.stderr.strip(), 'timeout: .cluster.name is "itest", wanted "other"')

    def test_timeout_names_the_match_that_failed(self):
        res = self.cli("node", "wait", "--filter", ".peers.*.state=stale", "--duration", "300ms")
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertEqual(res.stderr.strip(), 'timeout: .peers.n1.state is "alive", wanted "stale"')
        res = self.cli("node", "wait", "--filter", ".node.n2.labels.never=1", "--duration", "0s")
        self.assertEqual(res.stderr.strip(), "timeout: .node.n2.labels.never is missing, wanted 1")

    def test_a_wildcard_over_every_peer_path_can_hold(self):
        # The local node's own entry carries its paths as alive.
        res = self.cli("node", "wait", "--filter", ".peers.*.hb.u1=alive", "--duration", "10s")
        self.assertEqual(res.returncode, 0, res.stderr)
        ds = self.c.status("n1")
        self.assertEqual(ds["peers"]["n1"]["hb"], {"u1": "alive", "u2": "alive"})
        self.assertNotIn("u2", ds["peers"]["n3"]["hb"])

    # ---- --format json ------------------------------------------------------------

    def test_every_printing_command_prints_one_json_line(self):
        one_json_line(self, self.cli("daemon", "status", "--format", "json"))
        one_json_line(self, self.cli("hb", "status", "--format", "json"))
        self.assertEqual(one_json_line(self, self.cli("daemon", "reload", "--format", "json")),
                         {"changed": []})
        self.assertTrue(one_json_line(self, self.cli("node", "set", ".labels.fmt=json",
                                                     "--format", "json"))["ok"])
        self.assertTrue(one_json_line(self, self.cli(
            "node", "patch", '[{"op": "add", "path": "/data/fmt", "value": 1}]',
            "--format", "json"))["ok"])
        self.assertTrue(one_json_line(self, self.cli("node", "freeze", "--format", "json"))["ok"])
        self.assertTrue(one_json_line(self, self.cli("node", "unfreeze", "--format", "json"))["ok"])
        self.assertEqual(one_json_line(self, self.cli("node", "wait", "--filter",
                                                      ".cluster.name=itest", "--format", "json")),
                         {"ok": True})
        missed = self.cli("node", "wait", "--filter", ".cluster.name=x", "--duration", "0s",
                          "--format", "json")
        self.assertEqual(missed.returncode, 1)
        self.assertEqual(json.loads(missed.stdout),
                         {"ok": False, "error": "timeout",
                          "failed": '.cluster.name is "itest", wanted "x"'})
        events = self.cli("node", "events", "--filter", "NodeStatusLabelsUpdated",
                          "--limit", "1", "--duration", "1s", "--format", "json")
        self.assertEqual(events.returncode, 0, events.stderr)
        for line in events.stdout.splitlines():
            json.loads(line)

    # ---- the status table --------------------------------------------------------

    def test_status_table_marks_local_and_tells_no_path_from_not_applicable(self):
        self.assertTrue(self.c.wait("n1", ".peers.n2.hb.u2=alive"))
        res = self.cli("daemon", "status")
        self.assertEqual(res.returncode, 0, res.stderr)
        rows = {line.split()[0]: line for line in res.stdout.splitlines()[2:]
                if line.startswith("n")}
        self.assertRegex(rows["n1"], r"^n1 \(local\) .* n/a +n/a$")
        self.assertRegex(rows["n2"], r" alive +alive$")
        self.assertRegex(rows["n3"], r" alive +no path$")

    # ---- logs ----------------------------------------------------------------------

    def test_log_lines_have_utc_times_and_config_level_names(self):
        lines = [l for l in self.c.log("n1").splitlines() if l]
        self.assertTrue(lines)
        bad = [l for l in lines if not LOG_LINE.match(l)]
        self.assertEqual(bad, [])
        self.assertFalse([l for l in lines if " warning " in l[:40]])

    def test_a_path_that_comes_up_is_logged_once(self):
        log = self.c.log("n1")
        for path in ("u1", "u2"):
            ups = re.findall(r"heartbeat path %s\b.*\bup\b" % path, log)
            self.assertEqual(len(ups), 1, ups)

    def test_boot_id_is_printed_as_in_hb_status(self):
        boot = self.c.hb("n1")["boot"]
        self.assertIn(" started: boot %d," % boot, self.c.log("n1"))

    def test_every_local_change_is_logged_once_with_who_asked(self):
        uid = os.getuid()
        changes = [
            (("node", "set", ".labels.who=me"), r"node set \.labels\.who by uid %d$"),
            (("node", "patch", '[{"op": "add", "path": "/data/who", "value": 1}]'),
             r"node patch \(add /data/who\) by uid %d$"),
            (("node", "freeze"), r"node freeze by uid %d$"),
            (("node", "unfreeze"), r"node unfreeze by uid %d$"),
            (("node", "set", ".version=9"), r"node set \.version by uid %d refused: .+$"),
        ]
        for args, pattern in changes:
            regex = re.compile(r" info " + pattern % uid, re.M)
            before = len(regex.findall(self.c.log("n1")))
            self.cli(*args)
            # The line is written when the daemon takes the request, before
            # it answers; a second one would be a fact logged twice.
            self.assertTrue(self.log_has(regex.pattern), (args, self.c.log("n1")))
            self.assertEqual(len(regex.findall(self.c.log("n1"))), before + 1, args)

    def test_a_path_cannot_forge_a_log_line(self):
        self.cli("node", "set", ".data.x\n2026-01-01T00:00:00.000Z n1 info forged=1")
        self.assertTrue(self.log_has(r'node set "\.data\.x\\n2026-01-01T00:00:00\.000Z n1 info '
                                     r'forged" by uid %d' % os.getuid()), self.c.log("n1"))
        self.assertNotIn("\n2026-01-01T00:00:00.000Z n1 info forged", self.c.log("n1"))

    def test_rotation_is_logged_with_who_asked(self):
        res = self.cli("hb", "rotate", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("version", one_json_line(self, res))
        self.assertTrue(self.log_has(r" info hb rotate \(random secret\) by uid %d$"
                                     % os.getuid()))


if __name__ == "__main__":
    main()
