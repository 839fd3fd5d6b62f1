"""`systemd-analyze verify` passes on the systemd units,
etc/systemd/vigil.service and vigil@.service (an instance of it too): exit 0
and no warning. Where systemd-analyze is missing the suite exits 77 (ctest:
Skipped). Their keys are checked in test_systemd.py."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import VIGIL, main  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class UnitFilesTest(unittest.TestCase):
    """`systemd-analyze verify` on both units: exit 0 and no warning. The
    copies it reads name the built binary instead of /usr/bin/vigil (verify
    checks that ExecStart= is executable); the man page of Documentation= is
    checked too when the build made it."""

    def test_systemd_analyze_verify(self):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            self.skipTest("systemd-analyze is not installed")
        vigil = shutil.which(VIGIL)
        units = tempfile.mkdtemp(prefix="vigil-units-")
        self.addCleanup(shutil.rmtree, units, True)
        for name in ("vigil.service", "vigil@.service"):
            with open(os.path.join(ROOT, "etc", "systemd", name)) as f:
                text = f.read()
            self.assertIn("ExecStart=/usr/bin/vigil daemon run\n", text)
            self.assertIn("ExecReload=/usr/bin/vigil daemon reload\n", text)
            with open(os.path.join(units, name), "w") as f:
                f.write(text.replace("/usr/bin/vigil", os.path.abspath(vigil)))
        man_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(vigil))), "man")
        env = dict(os.environ)
        man = "no"
        if os.path.exists(os.path.join(man_dir, "man1", "vigil.1")) and shutil.which("man"):
            env["MANPATH"] = man_dir
            man = "yes"
        for unit in ("vigil.service", "vigil@.service", "vigil@test.service"):
            res = subprocess.run([analyze, "verify", "--man=" + man, os.path.join(units, unit)],
                                 capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(res.returncode, 0, "%s: %s%s" % (unit, res.stdout, res.stderr))
            self.assertEqual(res.stdout + res.stderr, "", unit)


if __name__ == "__main__":
    main()
