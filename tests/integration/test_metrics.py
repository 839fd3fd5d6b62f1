"""Prometheus metrics: GET /metrics passes `promtool check metrics` and holds
the families it names (README "Metrics"), on the Unix API and the read-only
[http] listener; a real Prometheus server scrapes 3 nodes and its query API
shows vigil_peer_up 1 for every pair, then 0 for a peer killed with SIGKILL.

Exits 77 (Skipped) without promtool or prometheus (Debian package
`prometheus`)."""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main, wait_until, write_private  # noqa: E402


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def get(host, port, path):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        return res.status, res.getheader("Content-Type", ""), res.read().decode()
    finally:
        conn.close()


def samples(text, name):
    """{labels text: value} of the samples of metric `name`."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^%s(\{[^}]*\})?\s+(\S+)$" % re.escape(name), line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def make_cluster(name, size):
    port = free_port()
    c = Cluster(name, size=size, extra=lambda cluster, node: [
        "[http]", 'listen = "%s:%d"' % (cluster.addr(node), port)])
    c.http_port = port
    return c


class MetricsEndpoint(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = make_cluster("metrics", 3)
        cls.c.start_all()
        cls.host = cls.c.addr("n1")
        wait_until(lambda: all(p["state"] == "alive"
                               for p in cls.c.status("n1")["peers"].values()), 20)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def scrape(self):
        status, ctype, text = get(self.host, self.c.http_port, "/metrics")
        self.assertEqual(status, 200, text)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        return text

    def test_promtool_accepts_the_exposition(self):
        if shutil.which("promtool") is None:
            self.skipTest("needs promtool (Debian package prometheus)")
        text = self.scrape()
        res = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                             text=True)
        # promtool prints lint findings and exits 1 on any; none is expected.
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def test_families_follow_the_cluster(self):
        text = self.scrape()
        up = samples(text, "vigil_peer_up")
        self.assertEqual(up, {'{peer="n2"}': 1.0, '{peer="n3"}': 1.0})  # not itself
        self.assertEqual(samples(text, "vigil_quorum_votes"),
                         {'{kind="needed"}': 2.0, '{kind="present"}': 3.0, '{kind="total"}': 3.0})
        self.assertEqual(samples(text, "vigil_quorum_held"), {"": 1.0})
        self.assertEqual(samples(text, "vigil_secret_version"), {"": 1.0})
        self.assertEqual(set(samples(text, "vigil_node_gen")),
                         {'{node="n1"}', '{node="n2"}', '{node="n3"}'})
        self.assertEqual(samples(text, "vigil_path_up"), {'{path="u1",type="unicast"}': 1.0})
        for peer in ("n2", "n3"):
            key = '{path="u1",peer="%s"}' % peer
            self.assertGreater(samples(text, "vigil_heartbeat_received_datagrams_total")[key], 0)
            self.assertGreater(samples(text, "vigil_heartbeat_received_bytes_total")[key], 0)
            self.assertGreater(samples(text, "vigil_heartbeat_sent_datagrams_total")[key], 0)
            self.assertGreater(samples(text, "vigil_heartbeat_sent_bytes_total")[key], 0)
            self.assertEqual(samples(text, "vigil_peer_path_up")['{path="u1",peer="%s"}' % peer], 1.0)
        self.assertIn('{path="u1",reason="bad_tag"}',
                      samples(text, "vigil_heartbeat_dropped_datagrams_total"))
        self.assertGreaterEqual(samples(text, "vigil_events_total")['{kind="NodeAlive"}'], 2)
        self.assertGreater(samples(text, "process_resident_memory_bytes")[""], 1e6)
        self.assertGreater(samples(text, "process_open_fds")[""], 3)
        self.assertAlmostEqual(samples(text, "process_start_time_seconds")[""], time.time(),
                               delta=600)
        self.assertEqual(len(samples(text, "vigil_build_info")), 1)

    def test_an_event_no_one_receives_is_counted_all_the_same(self):
        # No hook, webhook or events client takes NodeDataUpdated on n1, so
        # n1 builds none for a peer's change (EventBus::skip_unwanted); the
        # counter counts it all the same.
        key = '{kind="NodeDataUpdated"}'
        before = samples(self.scrape(), "vigil_events_total").get(key, 0)
        self.assertEqual(self.c.cli("n2", "node", "set", ".data.skipped=1").returncode, 0)
        self.assertEqual(self.c.cli("n2", "node", "set", ".data.skipped=2").returncode, 0)
        self.assertTrue(wait_until(
            lambda: samples(self.scrape(), "vigil_events_total").get(key, 0) >= before + 2, 20),
            "n1 did not count n2's two changes")

    def test_api_requests_are_counted_by_route_and_status(self):
        before = samples(self.scrape(), "vigil_api_requests_total")
        self.assertEqual(get(self.host, self.c.http_port, "/nowhere")[0], 404)
        self.assertEqual(self.c.cli("n1", "daemon", "status").returncode, 0)  # Unix socket
        after = samples(self.scrape(), "vigil_api_requests_total")
        key = '{route="/metrics",status="200"}'
        self.assertGreaterEqual(after[key], before.get(key, 0) + 1)
        self.assertGreaterEqual(after['{route="unmatched",status="404"}'],
                                before.get('{route="unmatched",status="404"}', 0) + 1)
        key = '{route="/v1/status",status="200"}'
        self.assertGreaterEqual(after[key], before.get(key, 0) + 1)

    def test_no_hook_sample_without_a_hook_run(self):
        # No hook is configured in this cluster: the samples appear once one
        # runs (HooksCounted).
        self.assertEqual(samples(self.scrape(), "vigil_hook_runs_total"), {})


class HooksCounted(unittest.TestCase):
    def test_a_hook_run_is_counted_with_its_duration(self):
        c = Cluster("metricshook", size=2, hooks={
            "ok": {"events": ["NodeDataUpdated"], "command": lambda node, var: ["/bin/true"]}})
        port = free_port()
        c.extra = lambda cluster, node: ["[http]", 'listen = "%s:%d"' % (cluster.addr(node), port)]
        for n in c.nodes:
            write_private(c.config_path(n), c.config_text(n))
        try:
            c.start_all()
            wait_until(lambda: all(p["state"] == "alive"
                                   for p in c.status("n1")["peers"].values()), 20)
            self.assertEqual(c.cli("n2", "node", "set", "data.x=1").returncode, 0)

            def runs():
                text = get(c.addr("n1"), port, "/metrics")[2]
                return (samples(text, "vigil_hook_runs_total").get('{hook="ok",result="success"}', 0),
                        samples(text, "vigil_hook_duration_seconds_count").get('{hook="ok"}', 0))
            self.assertTrue(wait_until(lambda: runs()[0] >= 1, 20), runs())
            self.assertEqual(runs()[0], runs()[1])
        finally:
            c.close()


class RealPrometheus(unittest.TestCase):
    """A Prometheus server scrapes the 3 nodes every second."""

    def test_peer_up_for_every_pair_then_down_after_a_kill(self):
        exe = shutil.which("prometheus")
        if exe is None:
            self.skipTest("needs prometheus (Debian package prometheus)")
        c = make_cluster("metricsprom", 3)
        work = tempfile.mkdtemp(prefix="vigil-prometheus-")
        prom_port = free_port()
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: vigil\n    static_configs:\n"
                    "      - targets: [%s]\n" % ", ".join(
                        '"%s:%d"' % (c.addr(n), c.http_port) for n in c.nodes))
        prom = None
        log = open(os.path.join(work, "log"), "w")
        try:
            c.start_all()
            prom = subprocess.Popen(
                [exe, "--config.file=" + os.path.join(work, "prometheus.yml"),
                 "--storage.tsdb.path=" + os.path.join(work, "data"),
                 "--web.listen-address=127.0.0.1:%d" % prom_port],
                stdout=subprocess.DEVNULL, stderr=log)

            def query(q):
                try:
                    status, _, body = get("127.0.0.1", prom_port,
                                          "/api/v1/query?query=" + urllib.parse.quote(q))
                except OSError:
                    return None
                if status != 200:
                    return None
                return {(r["metric"]["instance"].split(":")[0], r["metric"]["peer"]):
                        float(r["value"][1]) for r in json.loads(body)["data"]["result"]}

            addr_of = {c.addr(n): n for n in c.nodes}

            def pairs():
                got = query("vigil_peer_up") or {}
                return {(addr_of.get(a, a), p): v for (a, p), v in got.items()}

            every_pair = {(a, b): 1.0 for a in c.nodes for b in c.nodes if a != b}
            if not wait_until(lambda: pairs() == every_pair, 60, 0.5):
                with open(os.path.join(work, "log")) as f:
                    self.fail("%s\n%s" % (pairs(), f.read()[-2000:]))
            c.kill("n3")
            want = {("n1", "n3"): 0.0, ("n2", "n3"): 0.0, ("n1", "n2"): 1.0, ("n2", "n1"): 1.0}
            # The killed node's own target stops answering: its samples go
            # stale; the survivors report it down.
            self.assertTrue(wait_until(
                lambda: all(pairs().get(k) == v for k, v in want.items()), 30, 0.5), pairs())
        finally:
            if prom:
                prom.terminate()
                prom.wait(10)
            log.close()
            c.close()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
