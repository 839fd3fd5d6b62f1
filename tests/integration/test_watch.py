"""Integration: `vigil daemon status --watch`, the live monitor. In a tmux
pane of a fixed size: the table redrawn in place with 3 nodes alive, a node
killed shown stale with its NodeStale event under the table, `q` and Ctrl-C
quitting with exit 0 and the terminal restored (main screen, cursor,
termios); Ctrl-Z giving the terminal back to the shell and `fg` taking the
screen again; lines cut to a narrow pane; colour, and none with NO_COLOR. With
stdout piped: frames one after another without any escape sequence, with
and without NO_COLOR; the daemon killed and restarted under a running
monitor. Needs tmux (else exit 77)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, VIGIL, main, skip_suite, wait_until  # noqa: E402

TMUX = os.environ.get("TMUX_BIN") or shutil.which("tmux") or "tmux"
CSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
SGR_COLOUR = re.compile(r"\x1b\[(?:1|3[0-7])m")
ROW = re.compile(r"^(n[0-9]+)(?: \(local\))?\s+(alive|stale|unknown)\b")


def clean_env(**extra):
    """The environment of the programs started here: no NO_COLOR, no TMUX
    (this test's tmux server is its own), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TMUX")}
    env.update(extra)
    return env


def node_states(lines):
    """{node: state} from the table rows among `lines`."""
    states = {}
    for line in lines:
        m = ROW.match(line)
        if m:
            states[m.group(1)] = m.group(2)
    return states


class Tmux:
    """A tmux server of this test alone (its own socket) with one detached
    session running sh in a pane of `columns` x `rows`."""

    def __init__(self, columns, rows, **env):
        self.dir = tempfile.mkdtemp(prefix="vigil-watch-tmux-")
        self.socket = os.path.join(self.dir, "tmux.sock")  # a server of this object alone
        self.raw = os.path.join(self.dir, "raw")
        args = ["new-session", "-d", "-s", "w", "-x", str(columns), "-y", str(rows),
                "-e", "PS1=$ "]
        for k, v in env.items():
            args += ["-e", "%s=%s" % (k, v)]
        self.tmux(*args, "sh")

    def tmux(self, *args):
        res = subprocess.run([TMUX, "-S", self.socket, "-f", "/dev/null"] + list(args),
                             capture_output=True, text=True, timeout=30, env=clean_env())
        if res.returncode != 0:
            raise RuntimeError("tmux %s: %s" % (" ".join(args), res.stderr))
        return res.stdout

    def screen(self):
        """The visible lines of the pane (the alternate screen when it is on)."""
        return self.tmux("capture-pane", "-p", "-t", "w").split("\n")

    def flag(self, name):
        return self.tmux("display-message", "-p", "-t", "w", "#{%s}" % name).strip()

    def type(self, text):
        self.tmux("send-keys", "-t", "w", "-l", text)
        self.tmux("send-keys", "-t", "w", "Enter")

    def key(self, key):
        self.tmux("send-keys", "-t", "w", key)

    def record(self, on):
        """Starts (or stops) copying every byte the pane receives to self.raw."""
        if on:
            self.tmux("pipe-pane", "-t", "w", "cat >> '%s'" % self.raw)
        else:
            self.tmux("pipe-pane", "-t", "w")

    def recorded(self):
        try:
            with open(self.raw, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_screen(self, predicate, timeout=20.0):
        """The screen (list of lines) once predicate(screen) holds; the last
        screen seen, for the failure message, otherwise."""
        seen = []

        def check():
            seen[:] = self.screen()
            return predicate(seen)
        if wait_until(check, timeout):
            return seen
        raise AssertionError("timeout; the screen was:\n" + "\n".join(seen))

    def close(self):
        subprocess.run([TMUX, "-S", self.socket, "kill-server"], capture_output=True, timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


class TerminalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster("watchtty", size=3)
        cls.c.start_all()
        assert cls.c.wait("n1", ".peers.*.state=alive"), cls.c.log("n1")
        assert cls.c.wait("n2", ".peers.*.state=alive"), cls.c.log("n2")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def pane(self, columns, rows, **env):
        t = Tmux(columns, rows, **env)
        self.addCleanup(t.close)
        self.assertEqual(t.flag("pane_width") + "x" + t.flag("pane_height"),
                         "%dx%d" % (columns, rows))
        # The shell is reading commands: what is typed next is not echoed
        # before its prompt.
        t.type("echo pane-ready")
        t.wait_screen(lambda s: "pane-ready" in s and s.index("pane-ready") + 1 < len(s)
                      and s[s.index("pane-ready") + 1].strip() in ("#", "$"))
        return t

    def start_watch(self, t, node, then_exit_status=True):
        """Types the monitor's command line in the pane's shell; it prints
        watch-exit=<status> when the monitor ends (unless not
        then_exit_status: a shell goes on with a list when a job stops)."""
        t.type("%s --config %s daemon status --watch%s"
               % (VIGIL, self.c.config_path(node),
                  "; echo watch-exit=$?" if then_exit_status else ""))

    def test_1_kill_shows_stale_under_the_table_and_q_restores_the_terminal(self):
        t = self.pane(100, 40)
        t.type("stty -g > %s/before; echo before-watch-marker" % t.dir)
        t.wait_screen(lambda s: "before-watch-marker" in s)
        self.start_watch(t, "n1")
        screen = t.wait_screen(lambda s: node_states(s) == {"n1": "alive", "n2": "alive",
                                                             "n3": "alive"})
        self.assertTrue(screen[0].startswith("vigil daemon status --watch  n1  "), screen[0])
        self.assertIn("(q: quit)", screen[0])
        self.assertTrue(any(line.startswith("n1 (local)") for line in screen), screen)
        self.assertEqual(t.flag("alternate_on"), "1", "full screen: the alternate screen")
        self.assertEqual(t.flag("cursor_flag"), "0", "full screen: the cursor hidden")

        t.record(True)  # the frames from now on, raw
        self.c.kill("n3")

        def stale_with_event(s):
            if node_states(s).get("n3") != "stale":
                return False
            heading = [i for i, line in enumerate(s) if line.startswith("EVENTS: ")]
            header = [i for i, line in enumerate(s) if line.startswith("NODE ")]
            return bool(heading and header and header[0] < heading[0] and any(
                " NodeStale " in line and "node=n3" in line for line in s[heading[0] + 1:]))
        screen = t.wait_screen(stale_with_event)
        self.assertEqual(node_states(screen), {"n1": "alive", "n2": "alive", "n3": "stale"})
        events = screen[[i for i, line in enumerate(screen) if line.startswith("EVENTS: ")][0] + 1:]
        self.assertLessEqual(len([line for line in events if line.strip()]), 10, screen)
        wait_until(lambda: t.recorded().count("\x1b[H") >= 2)
        t.record(False)
        raw = t.recorded()
        self.assertGreaterEqual(raw.count("\x1b[H"), 2, "frames drawn from the cursor home")
        self.assertNotIn("\x1b[2J", raw, "no full clear per frame")
        self.assertIn("\x1b[K", raw, "each line erased to its end")
        self.assertRegex(raw, r"\x1b\[31mstale\x1b\[0m", "stale in red on a terminal")
        self.assertRegex(raw, r"\x1b\[32malive\x1b\[0m", "alive in green on a terminal")

        t.key("q")
        screen = t.wait_screen(lambda s: "watch-exit=0" in s)
        self.assertIn("before-watch-marker", screen, "the main screen is back")
        self.assertFalse(any(line.startswith("NODE ") for line in screen), screen)
        self.assertEqual(t.flag("alternate_on"), "0")
        self.assertEqual(t.flag("cursor_flag"), "1")
        t.type("stty -g > %s/after; echo stty-done" % t.dir)
        t.wait_screen(lambda s: "stty-done" in s)
        with open(os.path.join(t.dir, "before")) as f, open(os.path.join(t.dir, "after")) as g:
            self.assertEqual(g.read(), f.read(), "termios as before the monitor")
        # The restarted n3 for the next tests.
        self.c.start("n3")
        assert self.c.wait("n1", ".peers.n3.state=alive"), self.c.log("n1")

    def test_2_ctrl_c_quits_with_exit_0(self):
        t = self.pane(100, 40)
        self.start_watch(t, "n2")
        t.wait_screen(lambda s: len(node_states(s)) == 3)
        t.key("C-c")
        t.wait_screen(lambda s: "watch-exit=0" in s)
        self.assertEqual(t.flag("alternate_on"), "0")
        self.assertEqual(t.flag("cursor_flag"), "1")

    def test_2b_ctrl_z_gives_the_terminal_back_and_fg_takes_the_screen_again(self):
        t = self.pane(100, 40)
        t.type("stty -g > %s/before; echo before-watch-marker" % t.dir)
        t.wait_screen(lambda s: "before-watch-marker" in s)
        self.start_watch(t, "n2", then_exit_status=False)
        t.wait_screen(lambda s: len(node_states(s)) == 3 and t.flag("alternate_on") == "1")
        t.key("C-z")
        # Stopped as a shell job: the main screen, the cursor and the
        # termios of before are back, and the shell reads commands.
        screen = t.wait_screen(lambda s: t.flag("alternate_on") == "0"
                               and any("Stopped" in line for line in s))
        self.assertIn("before-watch-marker", screen)
        self.assertEqual(t.flag("cursor_flag"), "1")
        t.type("stty -g > %s/stopped; echo stty-done" % t.dir)
        t.wait_screen(lambda s: "stty-done" in s)
        with open(os.path.join(t.dir, "before")) as f, open(os.path.join(t.dir, "stopped")) as g:
            self.assertEqual(g.read(), f.read(), "termios as before the monitor")
        t.type("fg")
        t.wait_screen(lambda s: len(node_states(s)) == 3 and t.flag("alternate_on") == "1")
        self.assertEqual(t.flag("cursor_flag"), "0")
        t.key("q")
        t.wait_screen(lambda s: t.flag("alternate_on") == "0" and "stty-done" in s)
        t.type("echo fg-exit=$?")
        t.wait_screen(lambda s: "fg-exit=0" in s)

    def test_3_narrow_pane_cuts_every_line(self):
        label = "a-label-long-enough-to-make-the-row-wider-than-sixty-columns"
        res = self.c.cli("n2", "node", "set", ".labels.description=" + label)
        self.assertEqual(res.returncode, 0, res.stderr)
        plain = self.c.cli("n2", "daemon", "status")
        self.assertIn(label, plain.stdout)
        self.assertTrue(any(len(line) > 60 for line in plain.stdout.splitlines()), plain.stdout)

        t = self.pane(60, 30)
        self.start_watch(t, "n2")
        t.wait_screen(lambda s: len(node_states(s)) == 3 and t.flag("alternate_on") == "1")
        t.record(True)  # after the command line was typed: only the monitor's frames
        wait_until(lambda: t.recorded().count("\x1b[H") >= 2)
        t.record(False)
        raw = t.recorded()
        self.assertGreaterEqual(raw.count("\x1b[H"), 2, raw)
        lines = [line for line in re.split(r"\r\n|\n|\r", CSI.sub("\n", raw)) if line]
        self.assertTrue(any(line.startswith("n2 (local)") for line in lines), lines)
        too_long = [line for line in lines if len(line) >= 60]
        self.assertEqual(too_long, [], "every line narrower than the 60-column pane")
        row = [line for line in t.screen() if line.startswith("n2 (local)")][0]
        self.assertEqual(len(row), 59, "the row is cut by the monitor, at the width: " + row)
        # A narrower pane: the frames that follow are cut to the new width.
        t.tmux("resize-window", "-t", "w", "-x", "45")
        self.assertEqual(t.flag("pane_width"), "45")
        t.wait_screen(lambda s: [len(line) for line in s if line.startswith("n2 (local)")] == [44])
        t.key("q")
        t.wait_screen(lambda s: "watch-exit=0" in s)

    def test_4_no_color_keeps_the_redraw_without_colour(self):
        t = self.pane(100, 40, NO_COLOR="1")
        self.start_watch(t, "n1")
        t.wait_screen(lambda s: len(node_states(s)) == 3 and t.flag("alternate_on") == "1")
        t.record(True)
        wait_until(lambda: t.recorded().count("\x1b[H") >= 2)
        t.record(False)
        raw = t.recorded()
        self.assertGreaterEqual(raw.count("\x1b[H"), 2, "still redrawn in place")
        self.assertIsNone(SGR_COLOUR.search(raw), "no colour with NO_COLOR")
        t.key("q")
        t.wait_screen(lambda s: "watch-exit=0" in s)


class Watch:
    """`vigil daemon status --watch` with stdout piped; its output read on
    a thread."""

    def __init__(self, cluster, node, **env):
        self.proc = subprocess.Popen(
            [VIGIL, "--config", cluster.config_path(node), "daemon", "status", "--watch"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=clean_env(**env))
        self.out = b""
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            with self.lock:
                self.out += chunk

    def text(self):
        with self.lock:
            return self.out.decode("utf-8", errors="replace")

    def frames(self):
        """The frames printed so far, each a list of lines."""
        text = self.text()
        starts = [m.start() for m in re.finditer(r"^vigil daemon status --watch ", text, re.M)]
        return [text[a:b].rstrip("\n").split("\n") for a, b in zip(starts, starts[1:] + [None])]

    def wait_frame(self, predicate, timeout=20.0):
        frame = wait_until(lambda: next((f for f in reversed(self.frames()) if predicate(f)),
                                        None), timeout)
        if frame is None:
            raise AssertionError("timeout; the output was:\n" + self.text())
        return frame

    def stop(self, sig):
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.thread.join(5)
            self.proc.stdout.close()
            self.stderr = self.proc.stderr.read().decode()
            self.proc.stderr.close()
        return code


class PipedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster("watchpipe", size=3)
        cls.c.start_all()
        assert cls.c.wait("n1", ".peers.*.state=alive"), cls.c.log("n1")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def watch(self, node, **env):
        w = Watch(self.c, node, **env)
        self.addCleanup(lambda: w.proc.poll() is None and w.stop(signal.SIGKILL))
        return w

    def check_plain_frames(self, env, rack):
        w = self.watch("n1", **env)
        w.wait_frame(lambda f: node_states(f) == {"n1": "alive", "n2": "alive", "n3": "alive"})
        res = self.c.cli("n2", "node", "set", ".labels.rack=" + rack)
        self.assertEqual(res.returncode, 0, res.stderr)
        w.wait_frame(lambda f: any(line.startswith("n2 ") and "rack=" + rack in line
                                   for line in f))
        self.assertEqual(w.stop(signal.SIGINT), 0, w.stderr)
        text = w.text()
        self.assertNotIn("\x1b", text, "no escape sequence when stdout is not a terminal")
        self.assertGreaterEqual(len(w.frames()), 2, "frames one after another")
        for frame in w.frames():
            self.assertFalse(frame[0].endswith("(q: quit)"), "no keys read: " + frame[0])
            self.assertEqual(frame[1], "", frame)

    def test_piped_frames_have_no_escape_sequences(self):
        self.check_plain_frames({}, "r1")

    def test_piped_frames_with_no_color_have_no_escape_sequences(self):
        self.check_plain_frames({"NO_COLOR": "1"}, "r2")

    def test_format_json_is_refused(self):
        res = self.c.cli("n1", "daemon", "status", "--watch", "--format", "json")
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("--watch", res.stderr)

    def test_the_daemon_gone_is_shown_and_the_monitor_goes_on_until_it_is_back(self):
        w = self.watch("n3")
        w.wait_frame(lambda f: len(node_states(f)) == 3)
        self.c.kill("n3")
        gone = w.wait_frame(lambda f: any(l.startswith("daemon unreachable: ") for l in f))
        self.assertIsNone(w.proc.poll(), "still running while the daemon is away")
        self.assertIn("retrying every second", "\n".join(gone))
        self.assertEqual(node_states(gone), {}, "no table while the daemon is away")
        self.c.start("n3")

        def table_after_the_gap():
            frames = w.frames()
            gaps = [i for i, f in enumerate(frames)
                    if any(line.startswith("daemon unreachable: ") for line in f)]
            return any(len(node_states(f)) == 3 for f in frames[gaps[-1] + 1:])
        self.assertTrue(wait_until(table_after_the_gap, 20), w.text())
        self.assertEqual(w.stop(signal.SIGTERM), 0, w.stderr)
        self.assertIn("-- event stream closed by the daemon", w.text())


if __name__ == "__main__":
    if shutil.which(TMUX) is None:
        skip_suite("needs tmux (Debian package tmux), or TMUX_BIN naming it")
    main()
