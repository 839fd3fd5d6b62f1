"""The Debian package, as CI installs it: cpack builds the .deb from the build
directory (into a temporary directory), then
- its control fields: Package, Version, Maintainer, a Description, and a
  Depends made by dpkg-shlibdeps (libc6 among them);
- its files: /usr/bin/vigil (stripped: no .debug_info), both units under
  /usr/lib/systemd/system, the man page, the example config, the sample hook;
- `dpkg -i` installs it: /usr/bin/vigil --version prints the version and the
  same git commit as the build's binary, /var/lib/vigil is a directory with
  mode 0700 (the postinst);
- `dpkg -r` removes the binary and the units, and `dpkg -P` the state
  directory.

Needs root, dpkg, dpkg-deb, dpkg-shlibdeps and cpack; exits 77 (Skipped)
without them, and when a vigil package is installed already or /var/lib/vigil
exists (the test would replace or remove them)."""
import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import VIGIL, main  # noqa: E402

BUILD = os.environ.get("VIGIL_BUILD_DIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(shutil.which(VIGIL) or VIGIL)))
STATE = "/var/lib/vigil"


def run(args, timeout=300, check=True):
    res = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(args), res.returncode, res.stdout,
                                                    res.stderr))
    return res


def dpkg(*args):
    """dpkg ARGS, retried while another dpkg or apt holds the lock (at most
    5 minutes)."""
    deadline = time.monotonic() + 300
    while True:
        res = run(["dpkg"] + list(args), check=False)
        locked = "lock" in res.stderr and res.returncode != 0
        if not locked or time.monotonic() >= deadline:
            if res.returncode != 0:
                raise AssertionError("dpkg %s: exit %d\n%s%s" % (" ".join(args), res.returncode,
                                                                 res.stdout, res.stderr))
            return res
        time.sleep(1)  # polling period while the lock is held


def installed(package):
    res = run(["dpkg-query", "-W", "-f=${Status}", package], check=False)
    return res.returncode == 0 and "installed" in res.stdout and "not-installed" not in res.stdout


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("dpkg -i needs root")
        for tool in ("dpkg", "dpkg-deb", "dpkg-shlibdeps", "cpack", "readelf"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest("%s is not installed" % tool)
        if not os.path.exists(os.path.join(BUILD, "CPackConfig.cmake")):
            raise unittest.SkipTest("no CPackConfig.cmake in %s" % BUILD)
        if installed("vigil"):
            raise unittest.SkipTest("a vigil package is installed already: not replacing it")
        if os.path.lexists(STATE):
            raise unittest.SkipTest("%s exists: a purge would remove it" % STATE)
        cls.dir = tempfile.mkdtemp(prefix="vigil-package-")
        res = run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
                   "-B", cls.dir], timeout=600)
        debs = glob.glob(os.path.join(cls.dir, "*.deb"))
        if len(debs) != 1:
            raise AssertionError("cpack made %s\n%s%s" % (debs, res.stdout, res.stderr))
        cls.deb = debs[0]

    @classmethod
    def tearDownClass(cls):
        if installed("vigil"):
            run(["dpkg", "-P", "vigil"], check=False)
        shutil.rmtree(getattr(cls, "dir", "/nonexistent"), ignore_errors=True)

    def field(self, name):
        return run(["dpkg-deb", "-f", self.deb, name]).stdout.strip()

    def test_1_control_fields(self):
        self.assertEqual(self.field("Package"), "vigil")
        self.assertRegex(self.field("Version"), r"^\d+\.\d+\.\d+")
        self.assertRegex(self.field("Maintainer"), r"^.+ <[^>]+@[^>]+>$")
        description = self.field("Description")
        self.assertIn("cluster membership daemon", description)
        self.assertGreater(len(description.splitlines()), 2, "a long description")
        depends = self.field("Depends")
        # dpkg-shlibdeps wrote it from the libraries the binary links.
        self.assertRegex(depends, r"\blibc6 \(>= [^)]+\)", depends)
        self.assertRegex(depends, r"\blibsodium\d+", depends)
        self.assertRegex(depends, r"\blibsystemd0", depends)

    def test_2_files(self):
        listing = run(["dpkg-deb", "-c", self.deb]).stdout
        for path in ("./usr/bin/vigil", "./usr/lib/systemd/system/vigil.service",
                     "./usr/lib/systemd/system/vigil@.service", "./usr/share/man/man1/vigil.1",
                     "./usr/share/doc/vigil/examples/vigil.toml",
                     "./usr/share/vigil/hooks/notify.sh"):
            self.assertRegex(listing, r"(?m) %s$" % re.escape(path), listing)
        tree = os.path.join(self.dir, "tree")
        run(["dpkg-deb", "-x", self.deb, tree])
        sections = run(["readelf", "-S", "-W", os.path.join(tree, "usr/bin/vigil")]).stdout
        self.assertNotIn(".debug_info", sections, "the packaged binary is not stripped")
        self.assertTrue(os.access(os.path.join(tree, "usr/share/vigil/hooks/notify.sh"), os.X_OK))
        with open(os.path.join(tree, "usr/lib/systemd/system/vigil.service")) as f:
            self.assertIn("ExecStart=/usr/bin/vigil daemon run\n", f.read())
        with open(os.path.join(tree, "usr/share/man/man1/vigil.1")) as f:
            man = f.read()
        self.assertIn(".TH VIGIL", man.upper())
        self.assertIn("daemon", man)

    def test_3_install_version_state_dir_remove(self):
        dpkg("-i", self.deb)
        self.assertTrue(installed("vigil"))
        got = run(["/usr/bin/vigil", "--version"]).stdout.strip()
        self.assertRegex(got, r"^vigil \d+\.\d+\.\d+ \(commit [0-9a-f]{7,}\)$")
        self.assertEqual(got, run([shutil.which(VIGIL), "--version"]).stdout.strip(),
                         "the installed binary is not the build's")
        st = os.stat(STATE)
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700, oct(st.st_mode))
        self.assertEqual(st.st_uid, 0)
        dpkg("-r", "vigil")
        self.assertFalse(os.path.exists("/usr/bin/vigil"))
        self.assertFalse(os.path.exists("/usr/lib/systemd/system/vigil.service"))
        self.assertTrue(os.path.isdir(STATE), "dpkg -r keeps the state directory")
        dpkg("-P", "vigil")
        self.assertFalse(installed("vigil"))
        self.assertFalse(os.path.exists(STATE), "dpkg -P removes the state directory")


if __name__ == "__main__":
    main()
