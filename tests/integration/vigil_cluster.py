"""Test harness: real vigil daemons on 127.0.0.x, driven through the CLI.

Each agent binds its own loopback address (127.0.<net>.<i>) so links can be
cut per address pair. Intervals are short (200 ms / 1 s) to keep tests fast;
every wait has a generous bound.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import zlib

VIGIL = os.environ.get("VIGIL_BIN", "vigil")
SECRET = "5a" * 32
OTHER_SECRET = "c3" * 32


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


class Cluster:
    """N agents n1..nN with one unicast path each (or `paths` paths)."""

    def __init__(self, name, size=3, interval="200ms", timeout="1s", hooks=None,
                 secret=SECRET, cluster_name="itest", paths=1, netns=None, quorum=False,
                 arbitrators=None):
        """`paths`: a count of unicast paths, or a list of path specs such as
        {"type": "unicast"} or {"type": "multicast", "addr": "239.1.1.1"}.
        `netns`: a NetNS to run the daemons in (addresses 127.0.0.x then).
        `quorum`: cluster.quorum (node.split_action stays "disabled").
        `arbitrators`: {name: uri} for [arbitrator.<name>] tables."""
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
        self.paths = [{"type": "unicast"}] * paths if isinstance(paths, int) else paths
        self.dir = tempfile.mkdtemp(prefix="vigil-%s-" % name)
        self.procs = {}
        self.streams = []
        for node in self.nodes:
            os.makedirs(os.path.join(self.dir, node), exist_ok=True)
            with open(self.config_path(node), "w") as f:
                f.write(self.config_text(node))

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
            "[node]",
            'name = "%s"' % node,
            'var_dir = "%s"' % self.var_dir(node),
            'log_level = "debug"',
        ]
        for p, spec in enumerate(self.paths):
            lines += ["[hb.u%d]" % (p + 1) if spec["type"] == "unicast" else "[hb.m%d]" % (p + 1),
                      'type = "%s"' % spec["type"],
                      'interval = "%s"' % spec.get("interval", self.interval),
                      'timeout = "%s"' % spec.get("timeout", self.timeout)]
            if spec["type"] == "unicast":
                peers = ", ".join('%s = "%s:%d"' % (n, self.addr(n), self.port + p)
                                  for n in self.nodes if n != node)
                lines += ['listen = "%s:%d"' % (self.addr(node), self.port + p),
                          "peers = { %s }" % peers]
            else:
                lines += ['addr = "%s"' % spec.get("addr", "239.7.7.7"),
                          "port = %d" % (self.port + p),
                          'intf = "%s"' % self.addr(node)]
        for name, uri in self.arbitrators.items():
            lines += ["[arbitrator.%s]" % name, 'uri = "%s"' % uri, 'timeout = "1s"']
        for hook, spec in self.hooks.items():
            lines += ["[hook.%s]" % hook,
                      "events = [%s]" % ", ".join('"%s"' % e for e in spec["events"]),
                      "command = [%s]" % ", ".join(json.dumps(c) for c in spec["command"](node, self.var_dir(node))),
                      'timeout = "%s"' % spec.get("timeout", "10s")]
        return "\n".join(lines) + "\n"

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

    def events(self, node, *filters):
        stream = EventStream(self, node, *filters)
        self.streams.append(stream)
        # The subscription is live once the daemon published ClientSubscribed.
        time.sleep(0.3)
        return stream

    def log(self, node):
        try:
            with open(self.log_path(node)) as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        for s in self.streams:
            s.close()
        for node in list(self.procs):
            self.stop(node)
        if os.environ.get("VIGIL_KEEP_TEST_DIRS") is None:
            shutil.rmtree(self.dir, ignore_errors=True)
