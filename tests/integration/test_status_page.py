"""The read-only [http] listener and the web status page.

The listener serves GET /, /metrics, /v1/status, /v1/hb and the SSE
/v1/events (filters in the query string), and nothing else: 405 for another
method on those paths, 404 for any other path, even one the Unix API serves
to the user role. A non-loopback address without TLS is refused at start;
with TLS and user_key, a request without a user JWT gets 401.

The page is driven in headless Chromium (Debian chromium, chromium-driver,
python3-selenium): it shows 3 nodes alive; after a SIGKILL of n2 it shows n2
stale, without a reload, within one second of the daemon's own NodeStale
(bounded here with a second of slack: a shared 2-core host), with the
NodeStale in its event log; after a restart, n2 alive again; it says
"disconnected, retrying" while its own daemon is down, and comes back by
itself. It saves a screenshot (status-page.png) in $VIGIL_ARTIFACT_DIR (the
build folder under ctest). Without the browser stack the suite exits 77.
"""
import datetime
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import (Cluster, main, skip_suite, jwt_token, wait_until,  # noqa: E402
                           write_private, VIGIL)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

def import_selenium():
    """selenium's webdriver, or None. Debian's python3-selenium lives in the
    system's dist-packages, which another interpreter (a virtualenv, pyenv)
    of the same Python version does not read: it is tried too."""
    for extra in [None, "/usr/lib/python3/dist-packages"]:
        if extra is not None:
            if not os.path.isdir(extra) or extra in sys.path:
                continue
            sys.path.append(extra)
        try:
            from selenium import webdriver as driver_module
            return driver_module
        except ImportError:
            continue
    return None


webdriver = import_selenium()
if webdriver is not None:
    from selenium.webdriver.chrome.service import Service as ChromeService
    from selenium.webdriver.common.by import By

if webdriver is None or CHROMIUM is None or CHROMEDRIVER is None:
    skip_suite("needs headless Chromium: Debian chromium, chromium-driver and python3-selenium "
               "(found: selenium %s, chromium %s, chromedriver %s)"
               % (webdriver is not None, CHROMIUM, CHROMEDRIVER))

USER_KEY = "http-user-key-0123456789abcdef-0123456789"
# The page's contract: it shows a change within one second of the event.
PAGE_CONTRACT_MS = 1000
# Slack on a shared 2-core host (the browser, three daemons and other work).
SLACK_MS = 1000


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def rfc3339_ms(text):
    """Milliseconds since the epoch of "2026-11-30T13:33:40.123Z"."""
    when = datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return when.timestamp() * 1000


def make_cluster(name, size, **kwargs):
    """A cluster whose every node has an [http] listener on its own loopback
    address, on one free port (`http_port`)."""
    port = free_port()
    c = Cluster(name, size=size, extra=lambda cluster, node: [
        "[http]", 'listen = "%s:%d"' % (cluster.addr(node), port)], **kwargs)
    c.http_port = port
    return c


def call(host, port, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res, data


def open_stream(host, port, target, timeout=10.0):
    """A raw GET of an SSE stream: (socket, bytes after the headers), once the
    daemon answered 200 (it subscribes before it answers)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError("stream closed before its answer: %r" % data)
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return sock, head, rest


def read_event(sock, pending, timeout=15.0):
    """The next SSE event (kind, JSON) from `sock`, skipping comments."""
    deadline = time.monotonic() + timeout
    data = pending
    while True:
        while b"\n\n" in data:
            block, _, data = data.partition(b"\n\n")
            kind, payload = None, None
            for line in block.split(b"\n"):
                if line.startswith(b"event: "):
                    kind = line[7:].decode()
                elif line.startswith(b"data: "):
                    payload = json.loads(line[6:])
            if kind:
                return kind, payload, data
        left = deadline - time.monotonic()
        if left <= 0:
            return None, None, data
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return None, None, data
        if not chunk:
            return None, None, data
        data += chunk


class ReadOnlyListenerTest(unittest.TestCase):
    """What the plain listener serves, and what it refuses."""

    @classmethod
    def setUpClass(cls):
        cls.c = make_cluster("httpro", 2)
        try:
            cls.c.start_all()
            assert cls.c.wait("n1", ".peers.*.state=alive"), cls.c.log("n1")
        except BaseException:
            cls.c.close()  # tearDownClass does not run after a failed setUpClass
            raise
        cls.host, cls.port = cls.c.addr("n1"), cls.c.http_port

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def test_the_page_is_one_self_contained_document(self):
        res, body = call(self.host, self.port, "GET", "/")
        self.assertEqual(res.status, 200)
        self.assertEqual(res.getheader("Content-Type"), "text/html; charset=utf-8")
        csp = res.getheader("Content-Security-Policy")
        self.assertIn("default-src 'none'", csp)
        self.assertIn("connect-src 'self'", csp)
        page = body.decode()
        self.assertTrue(page.startswith("<!doctype html>"), page[:40])
        # No external asset: no src or href to another origin, no import.
        self.assertIsNone(re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I))
        self.assertIsNone(re.search(r"@import|<script\b[^>]*\bsrc\s*=|\burl\(", page, re.I))
        for link in re.findall(r"<link\b[^>]*>", page, re.I):
            self.assertRegex(link, r'href="data:', link)
        # The page a browser gets is the file in the repository.
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "agent", "api",
                               "status_page.html"), "rb") as f:
            self.assertEqual(body, f.read())

    def test_reads_are_served(self):
        res, body = call(self.host, self.port, "GET", "/v1/status")
        self.assertEqual(res.status, 200, body)
        ds = json.loads(body)
        self.assertEqual(ds["cluster"]["name"], self.c.cluster_name)
        self.assertEqual(ds["peers"]["n2"]["state"], "alive")
        res, body = call(self.host, self.port, "GET", "/v1/hb")
        self.assertEqual(res.status, 200, body)
        self.assertEqual(json.loads(body)["node"], "n1")

    def test_post_is_refused_with_405(self):
        for path in ["/", "/v1/status", "/v1/events", "/v1/hb"]:
            with self.subTest(path):
                res, body = call(self.host, self.port, "POST", path,
                                 {"Content-Type": "application/json"}, b"{}")
                self.assertEqual(res.status, 405, body)
                self.assertEqual(res.getheader("Allow"), "GET")
        # A change is no route here at all.
        res, body = call(self.host, self.port, "POST", "/v1/node/freeze")
        self.assertEqual(res.status, 404, body)
        self.assertFalse(self.c.status("n1")["node"]["n1"]["frozen"])

    def test_other_paths_are_404_even_user_routes_of_the_api(self):
        for method, path in [("GET", "/nope"), ("GET", "/v1/cluster/members"),
                             ("GET", "/v1/webhooks"), ("POST", "/v1/wait"),
                             ("GET", "/v1/export/status"), ("DELETE", "/x")]:
            with self.subTest(path=path):
                res, body = call(self.host, self.port, method, path)
                self.assertEqual(res.status, 404, body)
                self.assertIn("read-only listener", json.loads(body)["error"])
        # The same route is served on the Unix socket.
        self.assertEqual(self.c.cli("n1", "cluster", "members").returncode, 0)

    def test_events_take_their_filter_from_the_query_string(self):
        sock, head, rest = open_stream(self.host, self.port,
                                       "/v1/events?filter=NodeFrozen%2Cnode%3Dn1")
        try:
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            self.assertIn(b"text/event-stream", head)
            # Other events happen meanwhile (n1's document changes): only the
            # filtered one comes.
            self.assertEqual(self.c.cli("n1", "node", "set", ".labels.x=1").returncode, 0)
            self.assertEqual(self.c.cli("n1", "node", "freeze").returncode, 0)
            kind, event, _ = read_event(sock, rest)
            self.assertEqual(kind, "NodeFrozen", event)
            self.assertEqual(event["labels"]["node"], "n1")
        finally:
            sock.close()
            self.c.cli("n1", "node", "unfreeze")

    def test_bad_query_strings_are_400(self):
        for target, field in [("/v1/events?filter=nonsense%3D", "filter"),
                              ("/v1/events?filter=%ZZ", "filter"),
                              ("/v1/events?since=0", "query")]:
            with self.subTest(target):
                res, body = call(self.host, self.port, "GET", target)
                self.assertEqual(res.status, 400, body)
                self.assertEqual(json.loads(body)["field"], field)


class ConfigTest(unittest.TestCase):
    """The [http] rules are checked when the config loads."""

    def setUp(self):
        self.c = Cluster("httpcfg", size=2)
        self.addCleanup(self.c.close)

    def run_with(self, lines):
        with open(self.c.config_path("n1")) as f:
            text = f.read()
        write_private(self.c.config_path("n1"), text + "\n".join(lines) + "\n")
        return subprocess.run([VIGIL, "daemon", "run", "--config", self.c.config_path("n1")],
                              capture_output=True, text=True, timeout=30)

    def test_a_non_loopback_address_without_tls_is_refused(self):
        port = free_port()
        res = self.run_with(["[http]", 'listen = "0.0.0.0:%d"' % port])
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("key 'http.listen': http.listen 0.0.0.0:%d: a non-loopback address needs "
                      "http.tls_cert, http.tls_key and http.user_key" % port, res.stderr)

    def test_tls_without_a_user_key_is_refused(self):
        res = self.run_with(["[http]", 'listen = "127.0.0.1:%d"' % free_port(),
                             'tls_cert = "a.crt"', 'tls_key = "a.key"'])
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("key 'http.user_key'", res.stderr)


class TlsListenerTest(unittest.TestCase):
    """With tls_cert, tls_key and user_key: any address, and a user JWT on
    every request."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("needs the openssl command to make a test certificate")
        cls.c = Cluster("httptls", size=2)
        cls.cert = os.path.join(cls.c.dir, "http.crt")
        key = os.path.join(cls.c.dir, "http.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                        "-subj", "/CN=vigil-test", "-keyout", key, "-out", cls.cert],
                       check=True, capture_output=True)
        cls.port = free_port()
        with open(cls.c.config_path("n1")) as f:
            text = f.read()
        write_private(cls.c.config_path("n1"), text + "\n".join([
            "[http]", 'listen = "%s:%d"' % (cls.c.addr("n1"), cls.port),
            'tls_cert = "%s"' % cls.cert, 'tls_key = "%s"' % key,
            'user_key = "%s"' % USER_KEY]) + "\n")
        try:
            cls.c.start("n1")
        except BaseException:
            cls.c.close()  # tearDownClass does not run after a failed setUpClass
            raise
        cls.tls = ssl.create_default_context(cafile=cls.cert)
        cls.tls.check_hostname = False

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def call(self, method, path, bearer=None):
        conn = http.client.HTTPSConnection(self.c.addr("n1"), self.port, context=self.tls,
                                           timeout=10)
        conn.request(method, path, headers={"Authorization": "Bearer " + bearer} if bearer else {})
        res = conn.getresponse()
        data = res.read()
        conn.close()
        return res.status, data

    def test_a_request_without_a_token_is_401(self):
        for method, path in [("GET", "/v1/status"), ("GET", "/v1/events"), ("GET", "/v1/hb"),
                             ("GET", "/metrics"), ("GET", "/nope"), ("POST", "/")]:
            with self.subTest(path=path, method=method):
                status, body = self.call(method, path)
                self.assertEqual(status, 401, body)
        # But the page itself: static, it holds no data, and asks for the key.
        status, body = self.call("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn(b'id="user-key"', body)

    def test_only_a_user_token_of_the_http_key_is_accepted(self):
        now = int(time.time())
        bad = {"wrong key": jwt_token("another-key-0123456789abcdef-0123456789", "user", "GET",
                                      "/v1/status"),
               "admin issuer": jwt_token(USER_KEY, "admin", "GET", "/v1/status"),
               "qsh of another path": jwt_token(USER_KEY, "user", "GET", "/v1/hb"),
               "expired": jwt_token(USER_KEY, "user", "GET", "/v1/status", iat=now - 7200,
                                    exp=now - 3600)}
        for name, bearer in bad.items():
            with self.subTest(name):
                self.assertEqual(self.call("GET", "/v1/status", bearer)[0], 401)
        status, body = self.call("GET", "/v1/status", jwt_token(USER_KEY, "user", "GET",
                                                                "/v1/status"))
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["cluster"]["name"], self.c.cluster_name)
        status, body = self.call("GET", "/", jwt_token(USER_KEY, "user", "GET", "/"))
        self.assertEqual(status, 200)
        # Authenticated, a POST is still refused.
        status, body = self.call("POST", "/v1/status", jwt_token(USER_KEY, "user", "POST",
                                                                 "/v1/status"))
        self.assertEqual(status, 405, body)

    def test_the_page_asks_for_the_key_then_shows_the_cluster(self):
        browser = Browser(self, ["--ignore-certificate-errors"])
        browser.get("https://%s:%d/" % (self.c.addr("n1"), self.port))
        self.assertTrue(browser.wait_js("return !document.getElementById('login').hidden"),
                        browser.describe())
        browser.driver.find_element(By.ID, "user-key").send_keys(USER_KEY)
        browser.driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        self.assertTrue(browser.wait_js(
            "const r = document.querySelector('tr[data-node=\"n1\"]');"
            "return r && r.dataset.state === 'alive' && "
            "document.getElementById('conn').dataset.state === 'live'"), browser.describe())
        self.assertEqual(browser.js("return document.getElementById('cluster-name').textContent"),
                         self.c.cluster_name)
        # The key is kept for this tab only.
        self.assertEqual(browser.js("return sessionStorage.getItem('vigil.http.user_key')"),
                         USER_KEY)


class Browser:
    """Headless Chromium through chromedriver; closed by the test's cleanup."""

    def __init__(self, test, args=()):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,900", "--force-device-scale-factor=1",
                    "--disable-extensions", "--no-first-run"] + list(args):
            options.add_argument(arg)
        service = ChromeService(executable_path=CHROMEDRIVER)
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(60)
        test.addCleanup(self.driver.quit)

    def get(self, url):
        self.driver.get(url)

    def js(self, script):
        return self.driver.execute_script(script)

    def wait_js(self, script, timeout=30.0):
        """Polls `script` until it returns a true value (returned), or None
        after `timeout` seconds."""
        return wait_until(lambda: self.js(script), timeout, interval=0.1)

    def describe(self):
        try:
            return self.js("return document.querySelector('header').innerText + '\\n' + "
                           "document.getElementById('nodes').innerText + '\\n' + "
                           "document.getElementById('events').innerText.slice(0, 2000)")
        except Exception as e:  # noqa: BLE001 - a diagnostic only
            return "(no page text: %s)" % e


ROW = ("const r = document.querySelector('tr[data-node=\"%s\"]');"
       "return r ? {state: r.dataset.state, at: Number(r.dataset.changedAt)} : null")
ALL_ALIVE = ("const rows = [...document.querySelectorAll('#nodes-body tr')];"
             "return rows.length === %d && rows.every(r => r.dataset.state === 'alive') && "
             "document.getElementById('conn').dataset.state === 'live'")


class StatusPageTest(unittest.TestCase):
    """The page of n1 in a 3-node cluster with two heartbeat paths."""

    @classmethod
    def setUpClass(cls):
        cls.c = make_cluster("webpage", 3, paths=2, interval="200ms", timeout="1s")
        try:
            cls.c.start_all()
            assert cls.c.wait("n1", ".peers.*.state=alive"), cls.c.log("n1")
            for node, labels in {"n1": {"rack": "r1", "role": "db"}, "n2": {"rack": "r2"},
                                 "n3": {"rack": "r1", "role": "web"}}.items():
                for k, v in labels.items():
                    res = cls.c.cli(node, "node", "set", ".labels.%s=%s" % (k, v))
                    assert res.returncode == 0, res.stderr
            assert cls.c.cli("n3", "node", "freeze").returncode == 0
            assert cls.c.wait("n1", ".node.n3.frozen=true"), cls.c.log("n1")
        except BaseException:
            cls.c.close()  # tearDownClass does not run after a failed setUpClass
            raise
        cls.url = "http://%s:%d/" % (cls.c.addr("n1"), cls.c.http_port)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def setUp(self):
        for node in self.c.nodes:
            if self.c.procs[node].poll() is not None:
                self.c.start(node)
        self.assertTrue(self.c.wait("n1", ".peers.*.state=alive", "30s"), self.c.log("n1"))
        self.browser = Browser(self)
        self.browser.get(self.url)
        self.loaded_at = self.browser.js("return window.vigilPage.loadedAt")
        self.assertTrue(self.browser.wait_js(ALL_ALIVE % 3), self.browser.describe())

    def assert_not_reloaded(self):
        self.assertEqual(self.browser.js("return window.vigilPage.loadedAt"), self.loaded_at,
                         "the page was reloaded")

    def test_three_nodes_alive_with_their_details(self):
        b = self.browser
        self.assertEqual(b.js("return document.getElementById('cluster-name').textContent"),
                         self.c.cluster_name)
        quorum = b.js("return document.getElementById('quorum').textContent")
        self.assertTrue(quorum.startswith("quorum: not enforced, 3 of 3 votes"), quorum)
        # Nodes x paths, the state written out (readable without colour).
        cells = b.js("return [...document.querySelectorAll('#nodes-body tr')].map(r => "
                     "[r.dataset.node, [...r.querySelectorAll('td[data-path]')].map(c => "
                     "c.dataset.path + ':' + c.innerText)])")
        self.assertEqual([n for n, _ in cells], ["n1", "n2", "n3"])
        for node, paths in cells:
            self.assertEqual(len(paths), 2, (node, paths))
            if node != "n1":
                self.assertTrue(all(p.endswith("alive") for p in paths), (node, paths))
        row = b.js("const r = document.querySelector('tr[data-node=\"n3\"]');"
                   "return {frozen: r.querySelector('.frozen').innerText, "
                   "labels: r.querySelector('.labels').innerText, gen: r.querySelector('.gen').innerText}")
        self.assertTrue(row["frozen"].startswith("frozen"), row)
        self.assertIn("rack=r1", row["labels"])
        self.assertIn("role=web", row["labels"])
        self.assertGreater(int(row["gen"]), 0, row)
        self.assertTrue(b.wait_js("return document.querySelector('td.last-heard[data-node=\"n2\"]')"
                                  ".innerText === 'just now'"), b.describe())

    def test_a_killed_node_turns_stale_then_alive_again(self):
        b = self.browser
        stale_events = self.c.events("n1", "NodeStale,node=n2")
        alive_events = self.c.events("n1", "NodeAlive,node=n2")
        killed_at = time.time() * 1000
        self.c.kill("n2")
        # The daemon's detection takes the path timeout (1 s) and more on a
        # loaded host: a generous deadline, then the page against the event.
        row = b.wait_js("const r = document.querySelector('tr[data-node=\"n2\"]');"
                        "return r && r.dataset.state === 'stale' && Number(r.dataset.changedAt)",
                        timeout=60)
        self.assertTrue(row, b.describe())
        event = stale_events.wait_for("NodeStale", timeout=30, node="n2")
        self.assertIsNotNone(event, self.c.log("n1"))
        page_ms = row - rfc3339_ms(event["at"])
        print("n2 stale on the page %.0f ms after the daemon's NodeStale (%.0f ms after the kill)"
              % (page_ms, row - killed_at), file=sys.stderr)
        self.assertLessEqual(page_ms, PAGE_CONTRACT_MS + SLACK_MS, b.describe())
        # The path cells too, and the event in the log.
        self.assertTrue(b.wait_js(
            "return [...document.querySelectorAll('tr[data-node=\"n2\"] td[data-path]')]"
            ".every(c => c.innerText.includes('stale'))"), b.describe())
        self.assertTrue(b.wait_js("return !!document.querySelector("
                                  "'#events li[data-kind=\"NodeStale\"][data-node=\"n2\"]')"),
                        b.describe())
        self.assertTrue(b.wait_js("return document.getElementById('summary').innerText"
                                  ".includes('1 stale')"), b.describe())
        self.save_screenshot()

        self.c.start("n2")
        row = b.wait_js("const r = document.querySelector('tr[data-node=\"n2\"]');"
                        "return r && r.dataset.state === 'alive' && Number(r.dataset.changedAt)",
                        timeout=60)
        self.assertTrue(row, b.describe())
        event = alive_events.wait_for("NodeAlive", timeout=30, node="n2")
        self.assertIsNotNone(event, self.c.log("n1"))
        self.assertTrue(b.wait_js("return !!document.querySelector("
                                  "'#events li[data-kind=\"NodeAlive\"][data-node=\"n2\"]')"),
                        b.describe())
        self.assert_not_reloaded()

    def test_the_filter_box_reconnects_with_a_server_side_filter(self):
        b = self.browser
        watcher = self.c.subscriptions("n1")
        mark = watcher.mark()
        box = b.driver.find_element(By.ID, "filter")
        box.clear()
        box.send_keys("NodeFrozen,node=n1")
        b.driver.find_element(By.CSS_SELECTOR, "#filter-form button[type=submit]").click()
        self.assertTrue(b.wait_js("return location.hash === '#filter=NodeFrozen%2Cnode%3Dn1'"))
        # The daemon holds a stream with exactly that filter.
        self.assertIsNotNone(watcher.wait(["NodeFrozen,node=n1"], mark), watcher.subscribed)
        self.assertTrue(b.wait_js("return document.getElementById('conn').dataset.state === 'live'"))
        self.assertEqual(self.c.cli("n1", "node", "set", ".labels.f=1").returncode, 0)
        self.assertEqual(self.c.cli("n1", "node", "freeze").returncode, 0)
        try:
            self.assertTrue(b.wait_js("return !!document.querySelector("
                                      "'#events li[data-kind=\"NodeFrozen\"]')"), b.describe())
            kinds = b.js("return [...document.querySelectorAll('#events li')]"
                         ".map(li => li.dataset.kind)")
            self.assertEqual(set(kinds), {"NodeFrozen"}, kinds)
            # The grid still follows every change (its own unfiltered stream).
            self.assertTrue(b.wait_js("return document.querySelector('tr[data-node=\"n1\"] .frozen')"
                                      ".innerText.startsWith('frozen')"), b.describe())
        finally:
            self.c.cli("n1", "node", "unfreeze")
        # A bad filter is the daemon's 400, shown under the box.
        box.clear()
        box.send_keys("nonsense=")
        b.driver.find_element(By.CSS_SELECTOR, "#filter-form button[type=submit]").click()
        self.assertTrue(b.wait_js("return document.getElementById('filter-error').innerText"
                                  ".includes('invalid filter')"), b.describe())
        self.assert_not_reloaded()

    def test_it_says_disconnected_while_its_daemon_is_down_and_comes_back(self):
        b = self.browser
        self.c.stop("n1")
        self.assertTrue(b.wait_js("const c = document.getElementById('conn');"
                                  "return c.dataset.state === 'down' && "
                                  "c.innerText.startsWith('disconnected, retrying')"), b.describe())
        self.c.start("n1")
        self.assertTrue(b.wait_js(ALL_ALIVE % 3, timeout=60), b.describe())
        self.assert_not_reloaded()

    def save_screenshot(self):
        folder = os.environ.get("VIGIL_ARTIFACT_DIR") or self.c.dir
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "status-page.png")
        self.browser.driver.save_screenshot(path)
        print("screenshot: %s" % path, file=sys.stderr)


if __name__ == "__main__":
    main()
