"""Integration: the CLI's documented exit codes and error messages, config
errors, filters, waits and hooks that misbehave."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, VIGIL, main  # noqa: E402

SLOW_HOOK = os.path.join(os.path.dirname(__file__), "slow_hook.sh")


def run(*args, env=None):
    return subprocess.run([VIGIL] + list(args), capture_output=True, text=True, timeout=60, env=env)


class ConfigErrorsTest(unittest.TestCase):
    def write(self, text):
        fd, path = tempfile.mkstemp(suffix=".toml")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def test_malformed_config_fails_naming_the_key(self):
        path = self.write('[cluster]\nname = "x"\nnodes = ["n1"]\nsecret = "abc"\n'
                          '[node]\nname = "n1"\nvar_dir = "/tmp/vigil-cfgtest"\n')
        res = run("daemon", "run", "--config", path)
        self.assertEqual(res.returncode, 2)
        self.assertIn(path, res.stderr)
        self.assertIn("cluster.secret", res.stderr)

    def test_bad_duration_names_the_key(self):
        path = self.write('[cluster]\nname = "x"\nnodes = ["n1", "n2"]\nsecret = "%s"\n'
                          '[node]\nname = "n1"\nvar_dir = "/tmp/vigil-cfgtest"\n'
                          '[hb.u1]\ntype = "unicast"\nlisten = "127.0.0.1:1"\n'
                          'peers = { n2 = "127.0.0.2:1" }\ninterval = "soon"\n' % ("ab" * 32))
        res = run("daemon", "run", "--config", path)
        self.assertEqual(res.returncode, 2)
        self.assertIn("hb.u1.interval", res.stderr)

    def test_missing_config_is_a_usage_error(self):
        env = dict(os.environ)
        env.pop("VIGIL_CONFIG", None)
        res = run("daemon", "status", env=env)
        self.assertEqual(res.returncode, 2)
        self.assertIn("--config", res.stderr)

    def test_config_from_environment_and_unreachable_daemon(self):
        c = Cluster("unreachable", size=2)
        self.addCleanup(c.close)
        env = dict(os.environ, VIGIL_CONFIG=c.config_path("n1"))
        res = run("daemon", "status", env=env)
        self.assertEqual(res.returncode, 3)
        self.assertIn("cannot reach the daemon", res.stderr)


class SecretGenerateTest(unittest.TestCase):
    def test_secret_generate_prints_or_writes_a_private_file_once(self):
        printed = run("secret", "generate")
        self.assertEqual(printed.returncode, 0, printed.stderr)
        self.assertRegex(printed.stdout, r"^[0-9a-f]{64}\n$")
        self.assertNotEqual(printed.stdout, run("secret", "generate").stdout)
        folder = tempfile.mkdtemp(prefix="vigil-secret-")
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, "secret")
        written = run("secret", "generate", path)
        self.assertEqual(written.returncode, 0, written.stderr)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path) as f:
            first = f.read()
        self.assertRegex(first, r"^[0-9a-f]{64}\n$")
        again = run("secret", "generate", path)
        self.assertEqual(again.returncode, 2)
        self.assertIn("never overwritten", again.stderr)
        with open(path) as f:
            self.assertEqual(f.read(), first)
        # A daemon reads it as its cluster.secret_file.
        c = Cluster("secretfile", size=2)
        self.addCleanup(c.close)
        with open(c.config_path("n1")) as f:
            text = f.read()
        with open(c.config_path("n1"), "w") as f:
            f.write(text.replace('secret = "%s"' % c.secret, 'secret_file = "%s"' % path))
        c.start("n1")


class StreamEndTest(unittest.TestCase):
    def test_events_exits_3_when_the_daemon_goes_away(self):
        c = Cluster("cliend", size=2)
        self.addCleanup(c.close)
        c.start("n1")
        stream = c.events("n1", "NodeStale")
        c.kill("n1")
        self.assertEqual(stream.proc.wait(15), 3)
        self.assertIn("closed the event stream", stream.proc.stderr.read())


class RunningClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster("cli", size=2, hooks={"slow": {
            "events": ["NodeStatusLabelsUpdated"], "command": lambda node, var_dir: [SLOW_HOOK],
            "timeout": "1s"}})
        cls.c.start_all()
        assert cls.c.wait("n1", ".peers.*.state=alive")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def test_wait_returns_at_once_when_condition_already_holds(self):
        t = time.monotonic()
        self.assertTrue(self.c.wait("n1", ".cluster.name=itest", "5s"))
        self.assertLess(time.monotonic() - t, 4)

    def test_wait_with_a_zero_duration_checks_once(self):
        held = self.c.cli("n1", "node", "wait", "--filter", ".cluster.name=itest",
                          "--duration", "0s")
        self.assertEqual(held.returncode, 0, held.stderr)
        missed = self.c.cli("n1", "node", "wait", "--filter", ".cluster.name=other",
                            "--duration", "0s", timeout=10)
        self.assertEqual(missed.returncode, 1, missed.stderr)
        self.assertIn("timeout", missed.stderr)

    def test_wait_times_out_with_exit_1_and_timeout_on_stderr(self):
        res = self.c.cli("n1", "node", "wait", "--filter", ".node.n1.labels.never=1",
                         "--duration", "500ms")
        self.assertEqual(res.returncode, 1)
        self.assertEqual(res.stderr.strip(), "timeout: .node.n1.labels.never is missing, wanted 1")

    def test_wait_with_bad_filter_exits_2(self):
        res = self.c.cli("n1", "node", "wait", "--filter", ".a..b=1", "--duration", "1s")
        self.assertEqual(res.returncode, 2)
        self.assertIn("invalid", res.stderr)

    def test_events_with_bad_filter_exits_2(self):
        res = self.c.cli("n1", "node", "events", "--filter", "NodeStale,,node=n1", "--duration", "1s")
        self.assertEqual(res.returncode, 2)

    def test_events_filter_limit_and_json_format(self):
        watcher = self.c.subscriptions("n2")
        mark = watcher.mark()
        proc = subprocess.Popen([VIGIL, "--config", self.c.config_path("n2"), "node", "events",
                                 "--format", "json", "--filter", "NodeDataUpdated,node=n1,from=peer",
                                 "--limit", "1", "--duration", "20s"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.communicate()))
        self.assertIsNotNone(watcher.wait(["NodeDataUpdated,node=n1,from=peer"], mark),
                             "the events client was never subscribed")
        self.assertEqual(self.c.cli("n1", "node", "set", ".data.color=blue").returncode, 0)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1)
        ev = json.loads(lines[0])
        self.assertEqual(set(ev), {"kind", "id", "at", "labels", "data"})
        self.assertEqual(ev["kind"], "NodeDataUpdated")
        self.assertEqual(ev["labels"]["node"], "n1")
        self.assertEqual(ev["labels"]["from"], "peer")
        self.assertEqual(ev["data"]["value"]["data"]["color"], "blue")

    def test_events_template_formats_each_event(self):
        watcher = self.c.subscriptions("n2")
        mark = watcher.mark()
        proc = subprocess.Popen([VIGIL, "--config", self.c.config_path("n2"), "node", "events",
                                 "--filter", "NodeDataUpdated,node=n1,from=peer", "--limit", "1",
                                 "--duration", "20s", "--template",
                                 "{{kind}} {{labels.node}} {{labels.from}} {{data.value.data.shade}}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.communicate()))
        self.assertIsNotNone(watcher.wait(["NodeDataUpdated,node=n1,from=peer"], mark),
                             "the events client was never subscribed")
        self.assertEqual(self.c.cli("n1", "node", "set", ".data.shade=teal").returncode, 0)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(out, "NodeDataUpdated n1 peer teal\n")

    def test_events_bad_template_exits_2_with_the_reason(self):
        res = self.c.cli("n1", "node", "events", "--template", "{{#labels}}{{node}}", "--duration", "1s")
        self.assertEqual(res.returncode, 2)
        self.assertIn("template: ", res.stderr)

    def test_events_duration_ends_the_stream(self):
        t = time.monotonic()
        res = self.c.cli("n1", "node", "events", "--filter", "ZoneRecordUpdated", "--duration", "1s")
        self.assertEqual(res.returncode, 0)
        self.assertLess(time.monotonic() - t, 10)

    def test_hook_that_hangs_is_killed_and_reported(self):
        stream = self.c.events("n1", "ExecFailed,hook=slow", "Exec,hook=slow")
        self.assertEqual(self.c.cli("n1", "node", "set", ".labels.slow=yes").returncode, 0)
        ev = stream.wait_for("ExecFailed", timeout=15, hook="slow")
        self.assertIsNotNone(ev, stream.snapshot())
        self.assertIn("timeout", ev["data"]["error"])
        self.assertLess(ev["data"]["duration_ms"], 8000)
        self.assertIsNotNone(stream.wait_for("Exec", timeout=1, hook="slow"))
        # The daemon kept serving while the hook hung.
        self.assertEqual(self.c.cli("n1", "daemon", "status").returncode, 0)

    def test_too_deep_document_is_refused_and_changes_nothing(self):
        before = self.c.status("n1")["node"]["n1"]
        deep = "1"
        for _ in range(60):
            deep = '{"a": %s}' % deep
        res = self.c.cli("n1", "node", "set", ".data.deep=" + deep)
        self.assertEqual(res.returncode, 2)
        self.assertIn("deeper than", res.stderr)
        self.assertEqual(self.c.status("n1")["node"]["n1"], before)

    def test_malformed_api_requests_get_400_and_daemon_keeps_serving(self):
        sock_path = os.path.join(self.c.var_dir("n1"), "api.sock")
        for raw in (b"GARBAGE\r\n\r\n",
                    b"POST /v1/node/set HTTP/1.1\r\nContent-Length: 5\r\n\r\n{nope",
                    b"POST /v1/wait HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(10)
                s.connect(sock_path)
                s.sendall(raw)
                answer = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
            self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer)
        self.assertEqual(self.c.cli("n1", "daemon", "status").returncode, 0)

    def test_api_socket_is_private(self):
        mode = os.stat(os.path.join(self.c.var_dir("n1"), "api.sock")).st_mode & 0o777
        self.assertEqual(mode, 0o600)

    def test_status_table_lists_every_node(self):
        res = self.c.cli("n1", "daemon", "status")
        self.assertEqual(res.returncode, 0)
        self.assertIn("NODE", res.stdout)
        for n in ("n1", "n2"):
            self.assertIn(n, res.stdout)
        self.assertIn("HB:u1", res.stdout)

    def test_hb_status_reports_paths_and_counters(self):
        hb = self.c.hb("n1")
        path = hb["paths"][0]
        self.assertEqual(path["id"], "u1")
        self.assertGreater(path["sent_datagrams"], 0)
        self.assertGreater(path["received_datagrams"], 0)
        self.assertEqual(path["peers"]["n2"]["state"], "alive")


if __name__ == "__main__":
    main()
