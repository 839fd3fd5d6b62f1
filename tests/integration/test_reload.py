"""Config reload: `vigil daemon reload` (POST /v1/daemon/reload) and SIGHUP
read the config file again. Hooks, arbitrators, cluster.quorum,
node.split_action, node.log_level, the [api] keys and limits, and path
intervals and timeouts change without a restart; a file that does not load, or a change that needs a
restart, is refused by name (exit 2) and the running config is kept. A
reload that changed something publishes NodeConfigUpdated with the changed
keys."""
import http.client
import json
import os
import signal
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main, jwt_token, wait_until, write_private  # noqa: E402

RECORD = os.path.join(os.path.dirname(__file__), "record_hook.sh")
PROBE = os.path.join(os.path.dirname(__file__), "probe_hook.sh")
ADMIN_KEY = "admin-key-0123456789abcdef-0123456789"
NEW_ADMIN_KEY = "new-admin-key-0123456789abcdef-01234"
USER_KEY = "user-key-0123456789abcdef-0123456789"


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over the daemon's Unix socket (no token needed there)."""

    def __init__(self, path):
        super().__init__("localhost", timeout=20)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(self.path)


def hook_table(name, events, command):
    return "\n".join(["[hook.%s]" % name,
                      "events = [%s]" % ", ".join('"%s"' % e for e in events),
                      "command = [%s]" % ", ".join(json.dumps(c) for c in command),
                      'timeout = "10s"']) + "\n"


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


class ReloadTest(unittest.TestCase):
    def setUp(self):
        # Each test has a cluster of its own: a reload changes it.
        self.c = Cluster("reload-" + self._testMethodName[5:25], size=2)
        self.addCleanup(self.c.close)
        self.base = self.c.config_text("n1")

    def start(self):
        self.c.start("n1")
        self.proc = self.c.procs["n1"]

    def write(self, text):
        write_private(self.c.config_path("n1"), text)

    def reload(self, *args):
        return self.c.cli("n1", "daemon", "reload", "--format", "json", *args)

    def reloaded(self):
        res = self.reload()
        self.assertEqual(res.returncode, 0, res.stderr + self.c.log("n1"))
        return json.loads(res.stdout)["changed"]

    def api(self, method, path, body=None):
        """(status, JSON answer) of a request over the Unix socket: the CLI
        would read the config file, which some tests break on purpose."""
        conn = UnixHTTPConnection(os.path.join(self.c.var_dir("n1"), "api.sock"))
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers={"Content-Type": "application/json"})
        res = conn.getresponse()
        body = json.loads(res.read())
        conn.close()
        return res.status, body

    def post_reload_over_socket(self):
        return self.api("POST", "/v1/daemon/reload")

    def assert_still_serving(self):
        self.assertIsNone(self.proc.poll(), self.c.log("n1"))
        status, dataset = self.api("GET", "/v1/status")
        self.assertEqual(status, 200, dataset)
        self.assertEqual(dataset["cluster"]["name"], self.c.cluster_name)
        self.assertIn("n1", dataset["node"])

    def hook_runs(self, record, label):
        """True once a `node set` of `label` ran the recording hook."""
        if os.path.exists(record):
            os.unlink(record)
        status, answer = self.api("POST", "/v1/node/set",
                                  {"path": ".labels.%s" % label, "value": "1"})
        self.assertEqual(status, 200, answer)
        return wait_until(lambda: "VIGIL_EVENT=NodeStatusLabelsUpdated" in read(record), 15)

    def test_a_hook_added_by_reload_runs_and_the_event_names_it(self):
        self.start()
        record = os.path.join(self.c.var_dir("n1"), "recorded")
        updated = self.c.events("n1", "NodeConfigUpdated")
        self.assertEqual(self.reloaded(), [], "nothing changed yet")
        self.write(self.base + hook_table("rec", ["NodeStatusLabelsUpdated"], [RECORD, record]))
        res = self.c.cli("n1", "daemon", "reload")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("hook.rec", res.stdout)
        event = updated.wait_for("NodeConfigUpdated", 10)
        self.assertIsNotNone(event, updated.snapshot())
        self.assertEqual(event["data"]["changed"], ["hook.rec"])
        # The reload without a change before it published nothing.
        self.assertEqual(len(updated.matching("NodeConfigUpdated")), 1, updated.snapshot())
        self.assertTrue(self.hook_runs(record, "added"), self.c.log("n1"))
        # Removed again: it no longer runs.
        self.write(self.base)
        self.assertEqual(self.reloaded(), ["hook.rec"])
        ran = self.c.events("n1", "Exec")
        done = self.c.events("n1", "NodeStatusLabelsUpdated")
        self.assertEqual(self.c.cli("n1", "node", "set", ".labels.gone=1").returncode, 0)
        self.assertIsNotNone(done.wait_for("NodeStatusLabelsUpdated", 10))
        self.assertEqual(ran.matching("Exec"), [])

    def test_log_level_changes_without_a_restart(self):
        self.start()  # log_level = "debug": info lines are logged
        self.assertEqual(self.c.cli("n1", "node", "set", ".labels.loud=1").returncode, 0)
        self.assertTrue(wait_until(lambda: "node set .labels.loud" in self.c.log("n1")))
        self.write(self.base.replace('log_level = "debug"', 'log_level = "error"'))
        self.assertEqual(self.reloaded(), ["node.log_level"])
        self.assertEqual(self.c.cli("n1", "node", "set", ".labels.quiet=1").returncode, 0)
        # A refused reload logs an error: once it is there, the info line of
        # the set before it would be too.
        self.write(self.base.replace("[node]", "[node]\nbogus = 1"))
        self.assertEqual(self.post_reload_over_socket()[0], 400)
        self.assertTrue(wait_until(lambda: " error config reload by " in self.c.log("n1")),
                        self.c.log("n1"))
        self.assertNotIn("node set .labels.quiet", self.c.log("n1"))
        self.write(self.base)
        self.assertEqual(self.reloaded(), ["node.log_level"])
        self.assertEqual(self.c.cli("n1", "node", "set", ".labels.back=1").returncode, 0)
        self.assertTrue(wait_until(lambda: "node set .labels.back" in self.c.log("n1")),
                        self.c.log("n1"))

    def test_a_bad_file_is_refused_and_the_old_config_keeps_running(self):
        record = os.path.join(self.c.var_dir("n1"), "recorded")
        good = self.base + hook_table("rec", ["NodeStatusLabelsUpdated"], [RECORD, record])
        self.write(good)
        self.start()
        path = self.c.config_path("n1")
        # An unknown key: the CLI names the file and the key, exit 2.
        self.write(good.replace("[node]", "[node]\nbogus = 1"))
        res = self.reload()
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertIn(path, res.stderr)
        self.assertIn("node.bogus", res.stderr)
        # The daemon's own answer, over the socket, says the same.
        status, body = self.post_reload_over_socket()
        self.assertEqual(status, 400, body)
        self.assertIn(path, body["error"])
        self.assertIn("key 'node.bogus'", body["error"])
        # A TOML syntax error: the file and the position.
        self.write(good + "[hook.broken\n")
        res = self.reload()
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertIn(path, res.stderr)
        status, body = self.post_reload_over_socket()
        self.assertEqual(status, 400, body)
        self.assertIn(path, body["error"])
        # A hook whose program does not exist.
        self.write(good + hook_table("nope", ["NodeAlive"], ["/nonexistent/hook"]))
        status, body = self.post_reload_over_socket()
        self.assertEqual(status, 400, body)
        self.assertIn("hook.nope.command", body["error"])
        self.assert_still_serving()
        self.assertTrue(self.hook_runs(record, "still"), self.c.log("n1"))
        # Nothing of the refused files was applied.
        self.write(good)
        self.assertEqual(self.reloaded(), [])

    def test_a_change_that_needs_a_restart_is_refused_by_name(self):
        self.start()
        # n2's config, in n1's var_dir (the CLI finds the socket there).
        self.write(self.c.config_text("n2").replace(self.c.var_dir("n2"), self.c.var_dir("n1"))
                   .replace('log_level = "debug"', 'log_level = "info"'))
        res = self.reload()
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertIn("key 'node.name': cannot change without a restart", res.stderr)
        self.assertIn(self.c.config_path("n1"), res.stderr)
        self.assertNotIn("node.log_level", res.stderr)
        self.assert_still_serving()
        # All or nothing: log_level was not applied either.
        self.write(self.base)
        self.assertEqual(self.reloaded(), [])

    def test_path_interval_and_timeout_apply_live(self):
        self.start()
        self.c.start("n2")
        self.assertTrue(self.c.wait("n1", ".peers.n2.state=alive"))
        self.write(self.base.replace('interval = "200ms"', 'interval = "1s"')
                   .replace('timeout = "1s"', 'timeout = "5s"'))
        self.assertEqual(self.reloaded(), ["hb.u1.interval", "hb.u1.timeout"])

        def sent():
            return self.c.hb("n1")["paths"][0]["sent_datagrams"]

        # The interval: about 2 heartbeats in 2 s now, not 10.
        before, started = sent(), time.monotonic()
        time.sleep(2)
        rate = (sent() - before) / (time.monotonic() - started)
        self.assertLess(rate, 3, "heartbeats per second after interval = 1s")
        # The timeout: n2 frozen for 2.5 s is still alive at 5 s (it was 1 s).
        stale = self.c.events("n1", "kind=NodeStale")
        self.c.signal("n2", signal.SIGSTOP)
        try:
            time.sleep(2.5)
            self.assertEqual(self.c.status("n1")["peers"]["n2"]["state"], "alive")
            self.assertEqual(stale.matching("NodeStale"), [])
            self.assertTrue(self.c.wait("n1", ".peers.n2.state=stale", "10s"))
        finally:
            self.c.signal("n2", signal.SIGCONT)
        self.assertTrue(self.c.wait("n1", ".peers.n2.state=alive", "10s"))
        self.assert_still_serving()

    def test_sighup_reloads_and_a_bad_sighup_reload_only_logs(self):
        record = os.path.join(self.c.var_dir("n1"), "recorded")
        self.start()
        updated = self.c.events("n1", "NodeConfigUpdated")
        self.write(self.base + hook_table("hup", ["NodeStatusLabelsUpdated"], [RECORD, record]))
        self.c.signal("n1", signal.SIGHUP)
        event = updated.wait_for("NodeConfigUpdated", 10)
        self.assertIsNotNone(event, self.c.log("n1"))
        self.assertEqual(event["data"]["changed"], ["hook.hup"])
        self.assertTrue(wait_until(lambda: "config reload by SIGHUP: hook.hup" in self.c.log("n1")),
                        self.c.log("n1"))
        self.assertTrue(self.hook_runs(record, "hup"), self.c.log("n1"))
        # A bad file: an error in the log, the daemon and the hook go on.
        self.write(self.base + "[node\n")
        self.c.signal("n1", signal.SIGHUP)
        self.assertTrue(wait_until(
            lambda: "config reload by SIGHUP refused" in self.c.log("n1")), self.c.log("n1"))
        self.assert_still_serving()
        self.assertTrue(self.hook_runs(record, "after"), self.c.log("n1"))

    def test_the_reload_is_logged_with_who_asked(self):
        self.start()
        self.write(self.base.replace("quorum = false", "quorum = true"))
        self.assertEqual(self.reloaded(), ["cluster.quorum"])
        self.assertTrue(wait_until(
            lambda: "config reload by uid %d: cluster.quorum" % os.getuid() in self.c.log("n1")),
            self.c.log("n1"))
        self.assertTrue(self.c.status("n1")["cluster"]["quorum"]["enabled"])

    def test_a_running_hook_finishes_after_its_table_is_removed(self):
        var_dir = self.c.var_dir("n1")
        self.write(self.base + hook_table("probe", ["NodeStatusLabelsUpdated"],
                                          [PROBE, var_dir, "slow"]))  # runs 3 s
        self.start()
        runs = self.c.events("n1", "Exec,hook=probe", "ExecSuccess,hook=probe",
                             "ExecFailed,hook=probe")
        self.assertEqual(self.c.cli("n1", "node", "set", ".labels.a=b").returncode, 0)
        self.assertIsNotNone(runs.wait_for("Exec", 10), runs.snapshot())
        self.write(self.base)
        self.assertEqual(self.reloaded(), ["hook.probe"])
        self.assertIsNotNone(runs.wait_for("ExecSuccess", 15), runs.snapshot())
        self.assertEqual(runs.matching("ExecFailed"), [])
        self.assertEqual(len(read(os.path.join(var_dir, "runs")).splitlines()), 1)

    def test_arbitrators_and_quorum_change_without_a_restart(self):
        self.start()
        self.assertEqual(self.c.status("n1")["cluster"]["quorum"]["arbitrators"], {})
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))  # bound, not listening: a connect is refused
        self.addCleanup(closed.close)
        self.write(self.base.replace("quorum = false", "quorum = true") +
                   '[arbitrator.a1]\nuri = "tcp://127.0.0.1:%d"\ntimeout = "1s"\n'
                   % closed.getsockname()[1])
        self.assertEqual(self.reloaded(), ["arbitrator.a1", "cluster.quorum"])
        quorum = self.c.status("n1")["cluster"]["quorum"]
        self.assertTrue(quorum["enabled"])
        self.assertEqual(quorum["votes"]["total"], 3)  # two nodes and a1
        # a1 is checked at once, not at the next 10 s refresh.
        self.assertTrue(wait_until(lambda: self.c.status("n1")["cluster"]["quorum"]
                                   ["arbitrators"]["a1"]["reachable"] is False, 8),
                        self.c.status("n1")["cluster"]["quorum"])
        self.write(self.base)
        self.assertEqual(self.reloaded(), ["arbitrator.a1", "cluster.quorum"])
        quorum = self.c.status("n1")["cluster"]["quorum"]
        self.assertEqual(quorum["arbitrators"], {})
        self.assertFalse(quorum["enabled"])

    def test_an_api_limit_changes_without_a_restart(self):
        self.start()
        sock = os.path.join(self.c.var_dir("n1"), "api.sock")
        never = {"filter": ".cluster.name=never", "duration_ms": 30000}
        held = UnixHTTPConnection(sock)  # one wait held, its answer never read
        self.addCleanup(held.close)
        held.request("POST", "/v1/wait", body=json.dumps(never),
                     headers={"Content-Type": "application/json"})

        def short_wait():
            return self.api("POST", "/v1/wait", {"filter": ".cluster.name=never",
                                                 "duration_ms": 200})[0]
        self.assertEqual(short_wait(), 408)  # held, then timed out: max_waits is 256
        self.write(self.base + "[api]\nmax_waits = 1\n")
        self.assertEqual(self.reloaded(), ["api.max_waits"])
        self.assertTrue(wait_until(lambda: short_wait() == 503, 10))

    def test_a_new_api_admin_key_takes_effect(self):
        port = self.c.port + 79
        cert = self.c.add_tls_api("n1", port, ADMIN_KEY, USER_KEY)  # SkipTest without openssl
        with open(self.c.config_path("n1")) as f:
            text = f.read()
        self.start()
        tls = ssl.create_default_context(cafile=cert)
        tls.check_hostname = False

        def status_with(key):
            conn = http.client.HTTPSConnection(self.c.addr("n1"), port, context=tls, timeout=10)
            conn.request("GET", "/v1/status", headers={
                "Authorization": "Bearer " + jwt_token(key, "admin", "GET", "/v1/status")})
            res = conn.getresponse()
            res.read()
            conn.close()
            return res.status
        self.assertEqual(status_with(ADMIN_KEY), 200)
        self.assertEqual(status_with(NEW_ADMIN_KEY), 401)
        self.write(text.replace(ADMIN_KEY, NEW_ADMIN_KEY))
        self.assertEqual(self.reloaded(), ["api.admin_key"])
        self.assertEqual(status_with(NEW_ADMIN_KEY), 200)
        self.assertEqual(status_with(ADMIN_KEY), 401)


if __name__ == "__main__":
    main()
