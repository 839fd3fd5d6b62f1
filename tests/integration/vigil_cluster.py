"""Test harness: real vigil daemons on 127.0.0.x, driven through the CLI.

Each agent binds its own loopback address (127.0.<net>.<i>) so links can be
cut per address pair. Intervals are short (200 ms / 1 s) to keep tests fast;
every wait has a generous bound, and waits on a condition rather than sleeping
for a while.

Every suite ends with main(): it exits 77 (ctest SKIP_RETURN_CODE) when the
suite could not run at all (a binary missing, or every test skipped), so that
ctest reports it Skipped rather than Passed.
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib

VIGIL = os.environ.get("VIGIL_BIN", "vigil")
SECRET = "5a" * 32
OTHER_SECRET = "c3" * 32

# The exit status of a suite that ran nothing; tests/integration/CMakeLists.txt
# declares it as SKIP_RETURN_CODE.
SKIP_EXIT = 77


def skip_suite(reason):
    """Ends the process with SKIP_EXIT after saying why nothing ran."""
    print("SKIP: %s" % reason, file=sys.stderr, flush=True)
    sys.exit(SKIP_EXIT)


def main(needs=None):
    """Runs the calling module's tests (unittest.main) and exits with
    0 when some tests ran and none failed, 1 when a test failed, and
    SKIP_EXIT when nothing ran: a binary is missing, or every test (or
    its class) was skipped.

    `needs`: {env var: program} of programs the suite runs besides vigil,
    e.g. {"VIGIL_FORGE": FORGE}."""
    programs = {"VIGIL_BIN": VIGIL}
    programs.update(needs or {})
    for var, program in programs.items():
        if shutil.which(program) is None:
            skip_suite("%s is not an executable program: %s=%s (build it, or set %s)"
                       % (program, var, os.environ.get(var, "(unset)"), var))
    result = unittest.main(verbosity=2, exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    # A skip raised by setUpClass is recorded against the class (not a
    # TestCase) and its tests are not counted in testsRun.
    skipped = {id(test) for test, _ in result.skipped
               if isinstance(test, unittest.TestCase)
               and not isinstance(test, unittest.case._SubTest)}
    if result.testsRun - len(skipped) <= 0:
        reasons = sorted({reason for _, reason in result.skipped}) or ["no tests"]
        skip_suite("nothing ran: " + "; ".join(reasons))
    sys.exit(0)


def jwt_token(key, iss, method, path, iat=None, exp=None, alg="HS256"):
    """A JWT for the TCP API (Heketi model: HS256, iss admin or user, iat,
    exp, qsh = hex SHA-256 of "METHOD&PATH"), made here with the standard
    library, independently of the daemon's code."""
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    now = int(time.time())
    claims = {"iss": iss, "iat": now if iat is None else iat,
              "exp": now + 300 if exp is None else exp,
              "qsh": hashlib.sha256(("%s&%s" % (method, path)).encode()).hexdigest()}
    signing = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + \
        b64(json.dumps(claims).encode())
    return signing + "." + b64(hmac.new(key.encode(), signing.encode(), hashlib.sha256).digest())


def write_private(path, text):
    """Writes `text` to `path` with mode 0600, whatever the umask: the daemon
    refuses a config that holds a secret and that group or others can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def wait_until(predicate, timeout=15.0, interval=0.05):
    """Calls `predicate` until it returns a true value, which is returned, or
    until `timeout` seconds have passed: then its last value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)  # polling period, not a wait for the condition


def udp_rx_queue(addr, port):
    """Bytes queued in the receive buffer of the UDP socket bound to
    addr:port in this network namespace (from /proc/net/udp), None when
    there is no such socket."""
    # /proc/net/udp prints the address as the hex of its network-order word
    # read in host order, and the port as a plain hex number.
    local = "%08X:%04X" % (struct.unpack("=I", socket.inet_aton(addr))[0], port)
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == local:
                return int(fields[4].split(":")[1], 16)
    return None


class EventStream:
    """`vigil node events --format json` running in the background."""

    def __init__(self, cluster, node, *filters):
        args = [VIGIL, "--config", cluster.config_path(node), "node", "events", "--format", "json"]
        for f in filters:
            args += ["--filter", f]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            event["_rx_mono"] = time.monotonic()  # when the line arrived (benchmarks)
            with self._lock:
                self.events.append(event)

    def snapshot(self):
        with self._lock:
            return list(self.events)

    def matching(self, kind, **labels):
        return [e for e in self.snapshot()
                if e["kind"] == kind and all(e["labels"].get(k) == v for k, v in labels.items())]

    def wait_for(self, kind, timeout=10.0, **labels):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(kind, **labels)
            if found:
                return found[0]
            time.sleep(0.05)
        return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class SubscriptionWatcher:
    """A raw /v1/events client of one daemon, subscribed to ClientSubscribed:
    it sees every event-stream client that subscribes after it.

    It is live as soon as the daemon's 200 answer arrives: the daemon
    subscribes a client before its answer is written. `vigil node events`
    prints nothing when it is subscribed, so this is how the harness knows."""

    def __init__(self, sock_path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(sock_path)
        body = json.dumps({"filters": ["ClientSubscribed"]}).encode()
        self.sock.sendall(b"POST /v1/events HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s"
                          % (len(body), body))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("%s closed the event stream before answering: %r"
                                   % (sock_path, data))
            data += chunk
        head, _, self._pending = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("%s refused the event stream: %r" % (sock_path, head))
        self.sock.settimeout(None)
        self.subscribed = []  # the data of every ClientSubscribed, in order
        self.closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        data = self._pending
        while True:
            while b"\n\n" in data:
                block, _, data = data.partition(b"\n\n")
                for line in block.split(b"\n"):
                    if line.startswith(b"data: "):
                        try:
                            event = json.loads(line[len(b"data: "):])
                        except ValueError:
                            continue
                        with self._cond:
                            self.subscribed.append(event.get("data", {}))
                            self._cond.notify_all()
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self.closed = True
                    self._cond.notify_all()
                return
            data += chunk

    def mark(self):
        """A position in the ClientSubscribed seen so far, for wait()."""
        with self._cond:
            return len(self.subscribed)

    def wait(self, filters, mark, timeout=15.0):
        """The first ClientSubscribed seen after `mark` whose filters are
        `filters` (a list, in order), or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for data in self.subscribed[mark:]:
                    if data.get("filters") == list(filters):
                        return data
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self._cond.wait(left)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(5)
        self.sock.close()


class Relay:
    """Forwards UDP datagrams from `listen` to `target`, keeping a copy."""

    def __init__(self, listen, target):
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(listen)
        self.sock.settimeout(0.2)
        self.recorded = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.recorded.append(data)
            self.sock.sendto(data, self.target)

    def replay(self, datagrams):
        for d in datagrams:
            self.sock.sendto(d, self.target)

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


class Cluster:
    """N agents n1..nN with one unicast path each (or `paths` paths)."""

    def __init__(self, name, size=3, interval="200ms", timeout="1s", hooks=None,
                 secret=SECRET, cluster_name="itest", paths=1, netns=None, quorum=False,
                 arbitrators=None, rejoin_grace=None, dissemination=None, log_level="debug",
                 extra=None):
        """`paths`: a count of unicast paths, or a list of path specs such as
        {"type": "unicast"} or {"type": "multicast", "addr": "239.1.1.1"}.
        `netns`: a NetNS to run the daemons in (addresses 127.0.0.x then).
        `quorum`: cluster.quorum (node.split_action stays "disabled").
        `arbitrators`: {name: uri} for [arbitrator.<name>] tables.
        `rejoin_grace`: cluster.rejoin_grace, e.g. "2s" (None: the default, 90s).
        `dissemination`: cluster.dissemination, e.g. "gossip" (None: the default, auto).
        `extra`: more TOML lines at the end of every config, e.g. a [webhooks] table;
        or a function of (cluster, node name) that returns them, e.g. an [http]
        listener on the node's own address."""
        self.name = name
        self.size = size
        self.nodes = ["n%d" % i for i in range(1, size + 1)]
        # A per-test second octet keeps tests' addresses apart.
        self.netns = netns
        self.net = 0 if netns else 100 + zlib.crc32(name.encode()) % 100
        self.port = 20000 + zlib.crc32(name.encode()) % 20000
        self.interval, self.timeout = interval, timeout
        self.hooks = hooks or {}
        self.secret = secret
        self.cluster_name = cluster_name
        self.quorum = quorum
        self.arbitrators = arbitrators or {}
        self.rejoin_grace = rejoin_grace
        self.dissemination = dissemination
        self.log_level = log_level
        self.extra = extra if callable(extra) else list(extra or [])
        self.paths = [{"type": "unicast"}] * paths if isinstance(paths, int) else paths
        self.dir = tempfile.mkdtemp(prefix="vigil-%s-" % name)
        self.procs = {}
        self.streams = []
        self.relays = []
        self.watchers = {}  # node -> (its process, SubscriptionWatcher)
        for node in self.nodes:
            os.makedirs(os.path.join(self.dir, node), mode=0o700, exist_ok=True)  # var_dir
            write_private(self.config_path(node), self.config_text(node))

    def addr(self, node):
        return "127.0.%d.%d" % (self.net, self.nodes.index(node) + 1)

    def config_path(self, node):
        return os.path.join(self.dir, node, "vigil.toml")

    def var_dir(self, node):
        return os.path.join(self.dir, node)

    def config_text(self, node):
        lines = [
            "[cluster]",
            'name = "%s"' % self.cluster_name,
            "nodes = [%s]" % ", ".join('"%s"' % n for n in self.nodes),
            'secret = "%s"' % self.secret,
            "quorum = %s" % ("true" if self.quorum else "false"),
        ] + ([] if self.rejoin_grace is None else ['rejoin_grace = "%s"' % self.rejoin_grace]) + (
            [] if self.dissemination is None else ['dissemination = "%s"' % self.dissemination]) + [
            "[node]",
            'name = "%s"' % node,
            'var_dir = "%s"' % self.var_dir(node),
            'log_level = "%s"' % self.log_level,
        ]
        lines += self.path_lines(node, peers=True)
        for name, uri in self.arbitrators.items():
            lines += ["[arbitrator.%s]" % name, 'uri = "%s"' % uri, 'timeout = "1s"']
        for hook, spec in self.hooks.items():
            lines += ["[hook.%s]" % hook,
                      "events = [%s]" % ", ".join('"%s"' % e for e in spec["events"]),
                      "command = [%s]" % ", ".join(json.dumps(c) for c in spec["command"](node, self.var_dir(node))),
                      'timeout = "%s"' % spec.get("timeout", "10s")]
        lines += list(self.extra(self, node)) if callable(self.extra) else self.extra
        return "\n".join(lines) + "\n"

    def path_lines(self, node, peers):
        """The [hb.*] tables of `node`; unicast ones list every other node as
        a peer when `peers` (a joiner's config has none)."""
        lines = []
        for p, spec in enumerate(self.paths):
            lines += ["[hb.u%d]" % (p + 1) if spec["type"] == "unicast" else "[hb.m%d]" % (p + 1),
                      'type = "%s"' % spec["type"],
                      'interval = "%s"' % spec.get("interval", self.interval),
                      'timeout = "%s"' % spec.get("timeout", self.timeout)]
            if spec["type"] == "unicast":
                lines += ['listen = "%s:%d"' % (self.addr(node), self.port + p)]
                if peers:
                    lines += ["peers = { %s }" % ", ".join(
                        '%s = "%s:%d"' % (n, self.addr(n), self.port + p)
                        for n in self.nodes if n != node)]
            else:
                lines += ['addr = "%s"' % spec.get("addr", "239.7.7.7"),
                          "port = %d" % (self.port + p),
                          'intf = "%s"' % self.addr(node)]
        return lines

    def add_tls_api(self, node, port, admin_key, user_key, key_type="rsa", extra=()):
        """Gives `node` an [api] TLS listener on its address and `port`, with a
        self-signed certificate made by the openssl command (key_type "rsa"
        or "ec"); `extra`: more [api] lines. Returns the certificate path.
        Raises unittest.SkipTest without openssl. Call before start()."""
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("needs the openssl command to make a test certificate")
        cert = os.path.join(self.dir, "api.crt")
        key = os.path.join(self.dir, "api.key")
        new_key = (["-newkey", "rsa:2048"] if key_type == "rsa" else
                   ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        subprocess.run(["openssl", "req", "-x509"] + new_key +
                       ["-nodes", "-days", "1", "-subj", "/CN=vigil-test",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        text = self.config_text(node) + "\n".join([
            "[api]",
            'listen = "%s:%d"' % (self.addr(node), port),
            'tls_cert = "%s"' % cert,
            'tls_key = "%s"' % key,
            'admin_key = "%s"' % admin_key,
            'user_key = "%s"' % user_key] + list(extra)) + "\n"
        write_private(self.config_path(node), text)
        return cert

    def add_joiner(self, node):
        """Adds `node` (say "n4") with a config that has no [cluster] table:
        only [node] and its heartbeat paths, as `vigil cluster join` wants
        it. It starts standalone. Returns its config path."""
        self.nodes.append(node)
        os.makedirs(self.var_dir(node), mode=0o700, exist_ok=True)
        lines = ["[node]", 'name = "%s"' % node, 'var_dir = "%s"' % self.var_dir(node),
                 'log_level = "debug"']
        lines += self.path_lines(node, peers=False)
        write_private(self.config_path(node), "\n".join(lines) + "\n")
        return self.config_path(node)

    def log_path(self, node):
        return os.path.join(self.dir, node, "daemon.log")

    def start(self, node, log_path=None):
        """Starts `node`; its stderr goes to `log_path` (default: its daemon.log)."""
        with open(log_path or self.log_path(node), "a") as log:
            prefix = self.netns.prefix() if self.netns else []
            self.procs[node] = subprocess.Popen(
                prefix + [VIGIL, "daemon", "run", "--config", self.config_path(node)],
                stdout=log, stderr=log)
        sock = os.path.join(self.var_dir(node), "api.sock")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(sock) and self.cli(node, "daemon", "status", "--format", "json").returncode == 0:
                return self.procs[node]
            if self.procs[node].poll() is not None:
                raise RuntimeError("%s exited at start: %s" % (node, self.log(node)))
            time.sleep(0.05)
        raise RuntimeError("%s did not open its API socket" % node)

    def start_all(self):
        for node in self.nodes:
            self.start(node)

    def signal(self, node, sig):
        self.procs[node].send_signal(sig)

    def kill(self, node):
        self.procs[node].kill()
        self.procs[node].wait()

    def stop(self, node):
        proc = self.procs[node]
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def cli(self, node, *args, timeout=60):
        return subprocess.run([VIGIL, "--config", self.config_path(node)] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def status(self, node):
        res = self.cli(node, "daemon", "status", "--format", "json")
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    def hb(self, node):
        res = self.cli(node, "hb", "status", "--format", "json")
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    def wait(self, node, condition, duration="15s"):
        """True when `vigil node wait` returned 0 on `node`."""
        return self.cli(node, "node", "wait", "--filter", condition, "--duration", duration).returncode == 0

    def subscriptions(self, node):
        """The SubscriptionWatcher of `node`'s running daemon, opened on first
        use (and again after a restart)."""
        proc, watcher = self.watchers.get(node, (None, None))
        if watcher is None or proc is not self.procs.get(node) or watcher.closed:
            if watcher is not None:
                watcher.close()
            watcher = SubscriptionWatcher(os.path.join(self.var_dir(node), "api.sock"))
            self.watchers[node] = (self.procs.get(node), watcher)
        return watcher

    def events(self, node, *filters, timeout=15.0):
        """A running `vigil node events` on `node`; returns once the daemon
        has subscribed it (its ClientSubscribed was published)."""
        watcher = self.subscriptions(node)
        mark = watcher.mark()
        stream = EventStream(self, node, *filters)
        self.streams.append(stream)
        if watcher.wait(filters, mark, timeout) is None:
            exited = stream.proc.poll() is not None
            why = ("it exited with status %d: %s" % (stream.proc.returncode,
                                                    stream.proc.stderr.read().strip())
                   if exited else "it is still running")
            raise RuntimeError("%s: `vigil node events %s` was not subscribed within %s s; %s"
                               % (node, " ".join(filters), timeout, why))
        return stream

    def wait_read_all(self, node, peers, timeout=30.0):
        """True once `node` has read every datagram sent to its first path's
        socket so far: its receive queue is empty, it has heard each of
        `peers` since (later datagrams: kernel drops, at a full receive
        buffer, are counted with the next datagram read), and its queue is
        empty again."""
        def drained():
            return wait_until(lambda: udp_rx_queue(self.addr(node), self.port) == 0, timeout)

        def heard():
            return {p: self.hb(node)["paths"][0]["peers"][p]["received_datagrams"] for p in peers}
        if not drained():
            return False
        before = heard()
        if not wait_until(lambda: all(n > before[p] for p, n in heard().items()), timeout):
            return False
        return bool(drained())

    def log(self, node):
        try:
            with open(self.log_path(node)) as f:
                return f.read()
        except OSError:
            return ""

    def relay_n2_to_n1(self):
        """Makes n2 reach n1 only through a Relay, which records everything
        (for replays); call before n2 starts. The cluster closes it."""
        relay_addr = ("127.0.%d.20" % self.net, self.port)
        relay = Relay(relay_addr, (self.addr("n1"), self.port))
        self.relays.append(relay)
        with open(self.config_path("n2")) as f:
            text = f.read()
        with open(self.config_path("n2"), "w") as f:
            f.write(text.replace('n1 = "%s:%d"' % (self.addr("n1"), self.port),
                                 'n1 = "%s:%d"' % relay_addr))
        return relay

    def close(self):
        for r in self.relays:
            r.close()
        for s in self.streams:
            s.close()
        for _, watcher in self.watchers.values():
            watcher.close()
        for node in list(self.procs):
            self.stop(node)
        if os.environ.get("VIGIL_KEEP_TEST_DIRS") is None:
            shutil.rmtree(self.dir, ignore_errors=True)
