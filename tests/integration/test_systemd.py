"""systemd integration: the test stands in for systemd with a NOTIFY_SOCKET of
its own (a Unix datagram socket, as systemd.service(5) Type=notify and
sd_notify(3) describe it) and WATCHDOG_USEC=2000000:
- READY=1 arrives only after the heartbeat path is bound and the API socket
  listens: while the test holds READY back (its socket's queue is full, so the
  daemon's send waits), the UDP port is bound and the API socket accepts;
  once READY is let through, the API answers;
- STATUS= carries the quorum line of `vigil daemon status`, and follows it
  when the quorum changes;
- WATCHDOG=1 keeps coming (every second), stops while the daemon is
  SIGSTOPped and comes again after SIGCONT; a WATCHDOG_PID that names another
  process turns the pings off;
- STOPPING=1 at SIGTERM;
- the units hold Type=notify, WatchdogSec=10s and the hardening keys.
`systemd-analyze verify` has its own suite, test_systemd_units.py."""
import fcntl
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import VIGIL, Cluster, main, udp_rx_queue, wait_until  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WATCHDOG_USEC = 2000000  # pings every 1 s
PING_PERIOD = WATCHDOG_USEC / 2e6


class NotifySocket:
    """A Unix datagram socket bound at `path`, as systemd's notification
    socket; a reader thread (start()) keeps every message as (monotonic
    time, text)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []
        self.loops = 0  # reader passes, for quiesce()
        self._cond = threading.Condition()
        self._running = False
        self._thread = None

    def fill(self):
        """Fills the socket's receive queue from another socket, so that the
        next sender waits (net.unix.max_dgram_qlen). Returns the count sent."""
        filler = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        filler.setblocking(False)
        sent = 0
        try:
            while sent < 100000:
                try:
                    filler.sendto(b"FILLER", self.path)
                except BlockingIOError:
                    break
                sent += 1
        finally:
            filler.close()
        return sent

    def read_now(self, timeout):
        """Reads the messages queued, without the thread: returns them."""
        self.sock.settimeout(timeout)
        out = []
        while True:
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                return out
            out.append(data.decode(errors="replace"))
            self.sock.settimeout(0.0)

    def start(self):
        self._running = True
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        self.sock.settimeout(0.05)
        while self._running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                data = None
            except OSError:
                return
            with self._cond:
                if data is not None:
                    self.messages.append((time.monotonic(), data.decode(errors="replace")))
                self.loops += 1
                self._cond.notify_all()

    def with_var(self, name):
        """Every value of NAME= in the messages so far, in order."""
        with self._cond:
            msgs = list(self.messages)
        out = []
        for _, text in msgs:
            for line in text.split("\n"):
                if line.startswith(name + "="):
                    out.append(line[len(name) + 1:])
        return out

    def count(self, assignment):
        with self._cond:
            return sum(1 for _, text in self.messages if assignment in text.split("\n"))

    def wait_count(self, assignment, n, timeout):
        """True once `assignment` (e.g. "WATCHDOG=1") came at least n times."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while sum(1 for _, t in self.messages if assignment in t.split("\n")) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def quiesce(self, timeout=5.0):
        """Returns once every datagram queued now has been taken into
        self.messages: the queue is empty and the reader made two more passes."""
        if not wait_until(lambda: self.queued_bytes() == 0, timeout, interval=0.01):
            return False
        with self._cond:
            mark = self.loops
            deadline = time.monotonic() + timeout
            while self.loops < mark + 2:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def queued_bytes(self):
        buf = fcntl.ioctl(self.sock.fileno(), termios.FIONREAD, struct.pack("i", 0))
        return struct.unpack("i", buf)[0]

    def close(self):
        self._running = False
        if self._thread:
            self._thread.join(5)
        self.sock.close()


def process_state(pid):
    """The state letter of /proc/PID/stat: R, S, T (stopped)..."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def quorum_line_of(cluster, node):
    """The quorum line that `vigil daemon status` prints, or None."""
    res = cluster.cli(node, "daemon", "status")
    if res.returncode != 0:
        return None
    for line in res.stdout.splitlines():
        if line.startswith("quorum: "):
            return line
    return None


def api_connect(path):
    """A connected Unix stream socket to the API, or None when refused."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
    except OSError:
        s.close()
        return None
    return s


class NotifyTest(unittest.TestCase):
    """One daemon n1 under a stand-in systemd, for the whole class: its
    READY, STATUS, WATCHDOG (with a stop), then STOPPING."""

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster("systemd", size=2, quorum=True)
        cls.notify = NotifySocket(os.path.join(cls.c.dir, "notify.sock"))
        cls.proc = None
        cls.ready_status = []  # the STATUS= values that came with READY=1

    @classmethod
    def tearDownClass(cls):
        if cls.proc is not None and cls.proc.poll() is None:
            cls.proc.send_signal(signal.SIGCONT)
            cls.proc.kill()
            cls.proc.wait()
        cls.c.close()
        cls.notify.close()

    @classmethod
    def start_n1(cls):
        env = dict(os.environ, NOTIFY_SOCKET=cls.notify.path, WATCHDOG_USEC=str(WATCHDOG_USEC))
        env.pop("WATCHDOG_PID", None)
        log = open(cls.c.log_path("n1"), "a")
        cls.proc = subprocess.Popen([VIGIL, "daemon", "run", "--config", cls.c.config_path("n1")],
                                    stdout=log, stderr=log, env=env)
        log.close()
        cls.c.procs["n1"] = cls.proc

    def log(self):
        return "\n--- n1 log:\n" + self.c.log("n1")

    def test_1_ready_only_after_paths_bound_and_api_listens(self):
        # READY is held back: the notification socket's queue is full, so
        # the daemon's send of READY=1 waits until the test reads.
        self.assertGreater(self.notify.fill(), 0)
        self.start_n1()
        addr, port = self.c.addr("n1"), self.c.port
        api = os.path.join(self.c.var_dir("n1"), "api.sock")
        # With READY not delivered, the path gets bound and the API socket
        # listens: both happen before the daemon sends READY=1.
        self.assertTrue(wait_until(lambda: udp_rx_queue(addr, port) is not None, 15),
                        "UDP %s:%d not bound while READY was held back%s" % (addr, port, self.log()))
        conn = wait_until(lambda: api_connect(api), 15)
        self.assertIsNotNone(conn, "API socket not listening while READY was held back" + self.log())
        self.assertIsNone(self.proc.poll(), self.log())
        try:
            conn.sendall(b"GET /v1/status HTTP/1.1\r\nHost: localhost\r\n\r\n")
            # Let READY through: read until it comes (fillers first).
            ready = None
            deadline = time.monotonic() + 15
            while ready is None and time.monotonic() < deadline:
                for text in self.notify.read_now(1.0):
                    if text == "FILLER":
                        continue
                    ready = text
                    break
            self.assertIsNotNone(ready, "no READY=1 after the queue was read" + self.log())
            lines = ready.split("\n")
            self.assertIn("READY=1", lines, ready)
            type(self).ready_status = [v[len("STATUS="):] for v in lines if v.startswith("STATUS=")]
            # The API answers the request that waited while READY was held.
            conn.settimeout(15)
            head = conn.recv(4096)
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:200])
        finally:
            conn.close()
        self.notify.start()

    def test_2_status_carries_the_quorum_line(self):
        # n1 alone: 1 of 2 votes. READY came with STATUS= and the same line
        # that `vigil daemon status` prints.
        self.assertEqual(len(self.ready_status), 1, "READY=1 without STATUS=")
        line = quorum_line_of(self.c, "n1")
        self.assertIsNotNone(line, self.log())
        self.assertTrue(line.startswith("quorum: LOST, 1 of 2 votes (needed 2)"), line)
        self.assertEqual(self.ready_status[0], line)
        # n2 starts: the quorum is held, and STATUS= follows.
        self.c.start("n2")
        held = "quorum: held, 2 of 2 votes (needed 2); split action disabled"
        self.assertTrue(wait_until(lambda: held in self.notify.with_var("STATUS"), 20),
                        "STATUS= did not follow the quorum: %s%s"
                        % (self.notify.with_var("STATUS"), self.log()))
        self.assertTrue(wait_until(lambda: quorum_line_of(self.c, "n1") == held, 10),
                        quorum_line_of(self.c, "n1"))
        # n2 stops: 1 of 2 again, in a STATUS= sent after the held one.
        statuses = self.notify.with_var("STATUS")
        self.assertEqual(statuses[-1], held)
        self.c.stop("n2")
        self.assertTrue(wait_until(lambda: self.notify.with_var("STATUS")[-1].startswith(
            "quorum: LOST, 1 of 2 votes"), 20), "%s%s" % (self.notify.with_var("STATUS"),
                                                         self.log()))
        self.assertGreater(len(self.notify.with_var("STATUS")), len(statuses))

    def test_3_watchdog_pings_stop_while_stopped(self):
        # WATCHDOG=1 keeps coming: three more, one per second.
        n = self.notify.count("WATCHDOG=1")
        self.assertTrue(self.notify.wait_count("WATCHDOG=1", n + 3, 10 * PING_PERIOD),
                        "WATCHDOG=1 did not keep coming" + self.log())
        # SIGSTOP: once the process is stopped and what it sent before was
        # read, no ping comes for three periods.
        self.proc.send_signal(signal.SIGSTOP)
        stopped = None
        try:
            self.assertTrue(wait_until(lambda: process_state(self.proc.pid) == "T", 10))
            self.assertTrue(self.notify.quiesce())
            stopped = self.notify.count("WATCHDOG=1")
            self.assertFalse(self.notify.wait_count("WATCHDOG=1", stopped + 1, 3 * PING_PERIOD),
                             "a WATCHDOG=1 came from a stopped daemon")
        finally:
            self.proc.send_signal(signal.SIGCONT)
        self.assertIsNotNone(stopped)
        # SIGCONT: the pings come again.
        self.assertTrue(self.notify.wait_count("WATCHDOG=1", stopped + 2, 10 * PING_PERIOD),
                        "WATCHDOG=1 did not resume after SIGCONT" + self.log())

    def test_4_stopping_at_sigterm(self):
        self.proc.terminate()
        self.assertEqual(self.proc.wait(30), 0, self.log())
        self.assertTrue(self.notify.quiesce())
        self.assertGreaterEqual(self.notify.count("STOPPING=1"), 1, self.notify.messages[-5:])


class WatchdogPidTest(unittest.TestCase):
    """sd_watchdog_enabled(3): a WATCHDOG_PID that names another process
    means the watchdog is not this process's: READY=1, but no WATCHDOG=1."""

    def test_watchdog_pid_of_another_process(self):
        c = Cluster("systemd-pid", size=2)  # n1 alone runs
        self.addCleanup(c.close)
        notify = NotifySocket(os.path.join(c.dir, "notify.sock"))
        self.addCleanup(notify.close)
        notify.start()
        env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC=str(WATCHDOG_USEC),
                   WATCHDOG_PID="1")
        with open(c.log_path("n1"), "a") as log:
            c.procs["n1"] = subprocess.Popen(
                [VIGIL, "daemon", "run", "--config", c.config_path("n1")],
                stdout=log, stderr=log, env=env)
        self.assertTrue(notify.wait_count("READY=1", 1, 15), c.log("n1"))
        self.assertFalse(notify.wait_count("WATCHDOG=1", 1, 3 * PING_PERIOD),
                         "WATCHDOG=1 although WATCHDOG_PID names another process")


class UnitKeysTest(unittest.TestCase):
    """The units hold the keys the README promises."""

    def test_hardening_and_watchdog_keys(self):
        for name in ("vigil.service", "vigil@.service"):
            with open(os.path.join(ROOT, "etc", "systemd", name)) as f:
                keys = [line.strip() for line in f if re.match(r"^[A-Za-z]+=", line)]
            for key in ("Type=notify", "WatchdogSec=10s", "ProtectSystem=strict",
                        "ReadWritePaths=/var/lib/vigil", "NoNewPrivileges=yes",
                        "CapabilityBoundingSet="):
                self.assertIn(key, keys, name)
            # /proc/sysrq-trigger (the split actions) must stay writable.
            self.assertNotIn("ProtectKernelTunables=yes", keys, name)
        with open(os.path.join(ROOT, "etc", "systemd", "vigil@.service")) as f:
            self.assertIn("Environment=VIGIL_CONFIG=/etc/vigil/%i.toml\n", f.read())


if __name__ == "__main__":
    main()
