"""Integration: the files vigil reads and makes, through the real binary.

Every file read (the config, cluster.secret_file, `hb rotate --secret-file`, the keyring,
the TLS files) must be a regular file of bounded size; a secret must not be
open to group or others; var_dir is created with mode 0700. Each refusal is
one line on stderr naming the file (and the config key), with exit code 2,
and never an abort (134) or a hang."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, VIGIL, main, write_private  # noqa: E402

EXIT_USAGE = 2
# Far longer than any refusal takes: reaching it means vigil hung.
RUN_TIMEOUT = 20


def vigil(*args):
    """Runs vigil; a run that outlives RUN_TIMEOUT fails the test (a hang)."""
    try:
        return subprocess.run([VIGIL] + list(args), capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError("vigil %s did not end within %d s" % (" ".join(args), RUN_TIMEOUT))


class FilesTestCase(unittest.TestCase):
    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="vigil-files-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        return d

    def assertRefused(self, res, *parts):
        """Exit code 2, one line on stderr holding every one of `parts`."""
        self.assertEqual(res.returncode, EXIT_USAGE, res.stderr)
        lines = res.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, res.stderr)
        for part in parts:
            self.assertIn(part, lines[0])

    def cluster(self, name, **kwargs):
        c = Cluster(name, size=1, **kwargs)
        self.addCleanup(c.close)
        return c


class ConfigFileTest(FilesTestCase):
    def test_a_missing_config_names_the_path(self):
        path = os.path.join(self.tmpdir(), "absent.toml")
        for args in (["daemon", "run"], ["daemon", "status"]):
            res = vigil("--config", path, *args)
            self.assertRefused(res, path + ": No such file or directory")
            self.assertNotIn("key ''", res.stderr)

    def test_a_config_that_is_not_a_regular_file_is_refused_at_once(self):
        d = self.tmpdir()
        fifo = os.path.join(d, "fifo.toml")
        os.mkfifo(fifo)  # nobody writes to it
        cases = [(d, "a directory"), (fifo, "a FIFO")]
        if os.access("/dev/zero", os.R_OK):
            cases.append(("/dev/zero", "a character device"))
        for path, kind in cases:
            for args in (["daemon", "run"], ["daemon", "status"]):
                self.assertRefused(vigil("--config", path, *args),
                                   "%s: not a regular file (%s)" % (path, kind))

    def test_a_config_larger_than_one_mebibyte_is_refused(self):
        path = os.path.join(self.tmpdir(), "big.toml")
        write_private(path, "#" * (1024 * 1024 + 1))
        self.assertRefused(vigil("--config", path, "daemon", "run"),
                           path + ": larger than 1048576 bytes")

    def test_a_config_holding_a_secret_open_to_others_is_refused(self):
        c = self.cluster("filescfgmode")  # cluster.secret is inline
        path = c.config_path("n1")
        for mode in (0o644, 0o640, 0o604):
            os.chmod(path, mode)
            for args in (["daemon", "run"], ["daemon", "status"]):
                self.assertRefused(vigil("--config", path, *args), path, "key 'cluster.secret'",
                                   "(mode 0%o); chmod 600 it" % mode)
        os.chmod(path, 0o600)
        c.start("n1")

    def test_jwt_keys_make_the_config_a_secret_too(self):
        c = self.cluster("filescfgjwt")
        d = self.tmpdir()
        secret = os.path.join(d, "secret")
        write_private(secret, c.secret + "\n")
        text = c.config_text("n1").replace('secret = "%s"' % c.secret,
                                           'secret_file = "%s"' % secret)
        path = c.config_path("n1")
        write_private(path, text + "[api]\nlisten = \"%s:%d\"\ntls_cert = \"%s\"\n"
                      "tls_key = \"%s\"\nadmin_key = \"%s\"\n"
                      % (c.addr("n1"), c.port + 1, os.path.join(d, "c.pem"),
                         os.path.join(d, "k.pem"), "k" * 32))
        os.chmod(path, 0o644)
        self.assertRefused(vigil("--config", path, "daemon", "status"), path,
                           "key 'api.admin_key'", "(mode 0644)")
        # Without a secret in it, the config may be readable by all.
        write_private(path, text)
        os.chmod(path, 0o644)
        c.start("n1")


class SecretFileTest(FilesTestCase):
    def with_secret_file(self, c, secret):
        write_private(c.config_path("n1"), c.config_text("n1").replace(
            'secret = "%s"' % c.secret, 'secret_file = "%s"' % secret))

    def test_a_secret_file_open_to_others_is_refused(self):
        c = self.cluster("filessecmode")
        secret = os.path.join(self.tmpdir(), "secret")
        write_private(secret, c.secret + "\n")
        self.with_secret_file(c, secret)
        for mode in (0o644, 0o640, 0o660):
            os.chmod(secret, mode)
            self.assertRefused(vigil("--config", c.config_path("n1"), "daemon", "run"),
                               c.config_path("n1"), "key 'cluster.secret_file'",
                               "%s: group or others have access to it (mode 0%o); chmod 600 it"
                               % (secret, mode))
        os.chmod(secret, 0o600)
        c.start("n1")

    def test_a_secret_file_that_is_not_a_regular_file_is_refused_at_once(self):
        c = self.cluster("filessecreg")
        d = self.tmpdir()
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo, 0o600)
        big = os.path.join(d, "big")
        write_private(big, "a" * 4097)
        cases = [(d, "not a regular file (a directory)"), (fifo, "not a regular file (a FIFO)"),
                 (big, "larger than 4096 bytes")]
        if os.access("/dev/zero", os.R_OK):
            cases.append(("/dev/zero", "not a regular file (a character device)"))
        for path, reason in cases:
            self.with_secret_file(c, path)
            self.assertRefused(vigil("--config", c.config_path("n1"), "daemon", "run"),
                               "key 'cluster.secret_file'", "%s: %s" % (path, reason))

    def test_rotate_secret_file_must_be_a_regular_file_of_at_most_4_kib(self):
        # The file is read before the daemon is asked: none needs to run.
        c = self.cluster("filesrotate")
        d = self.tmpdir()
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo, 0o600)
        big = os.path.join(d, "big")
        write_private(big, "a" * 4097)
        absent = os.path.join(d, "absent")
        cases = [(d, "not a regular file (a directory)"), (fifo, "not a regular file (a FIFO)"),
                 (big, "larger than 4096 bytes"), (absent, "No such file or directory")]
        if os.access("/dev/zero", os.R_OK):
            cases.append(("/dev/zero", "not a regular file (a character device)"))
        for path, reason in cases:
            res = c.cli("n1", "hb", "rotate", "--secret-file", path, timeout=RUN_TIMEOUT)
            self.assertRefused(res, "--secret-file %s: %s" % (path, reason))


class StateDirCluster(Cluster):
    """A cluster whose var_dir is <node dir>/state/var, missing at start."""

    def var_dir(self, node):
        return os.path.join(self.dir, node, "state", "var")


class VarDirTest(FilesTestCase):
    def test_var_dir_is_created_with_mode_0700(self):
        c = StateDirCluster("filesvarnew", size=1)
        self.addCleanup(c.close)
        self.assertFalse(os.path.exists(c.var_dir("n1")))
        c.start("n1")
        self.assertEqual(stat.S_IMODE(os.stat(c.var_dir("n1")).st_mode), 0o700)
        self.assertNotIn("var_dir", c.log("n1"))

    def test_a_var_dir_others_can_write_is_refused(self):
        c = self.cluster("filesvarwrite")
        for mode in (0o777, 0o770):
            os.chmod(c.var_dir("n1"), mode)
            self.assertRefused(vigil("--config", c.config_path("n1"), "daemon", "run"),
                               "key 'node.var_dir'", "%s: group or others can write it (mode 0%o)"
                               % (c.var_dir("n1"), mode))

    def test_a_var_dir_others_can_read_is_used_with_a_warning(self):
        c = self.cluster("filesvarread")
        os.chmod(c.var_dir("n1"), 0o755)
        c.start("n1")
        self.assertIn("node.var_dir %s: group or others have access to it (mode 0755); chmod 700 it"
                      % c.var_dir("n1"), c.log("n1"))

    def test_a_var_dir_that_cannot_be_created_says_so(self):
        c = self.cluster("filesvarcreate")
        # Under a regular file: no one can create it, root included.
        plain = os.path.join(c.dir, "plain")
        write_private(plain, "x")
        var_dir = os.path.join(plain, "var")
        write_private(c.config_path("n1"), c.config_text("n1").replace(
            'var_dir = "%s"' % c.var_dir("n1"), 'var_dir = "%s"' % var_dir))
        res = vigil("--config", c.config_path("n1"), "daemon", "run")
        self.assertRefused(res, "key 'node.var_dir'", var_dir + ": cannot create: Not a directory")
        self.assertNotIn("API socket", res.stderr)


class KeyringFileTest(FilesTestCase):
    def test_a_keyring_that_is_not_a_regular_file_stops_the_start_at_once(self):
        c = self.cluster("fileskeyring")
        keyring = os.path.join(c.var_dir("n1"), "keyring.json")
        os.mkfifo(keyring, 0o600)  # nobody writes to it
        res = vigil("--config", c.config_path("n1"), "daemon", "run")
        self.assertRefused(res, "cannot start", keyring + ": not a regular file (a FIFO)")


class TlsFilesTest(FilesTestCase):
    def with_api(self, c, cert, key):
        write_private(c.config_path("n1"), c.config_text("n1") + "\n".join([
            "[api]", 'listen = "%s:%d"' % (c.addr("n1"), c.port + 1),
            'tls_cert = "%s"' % cert, 'tls_key = "%s"' % key,
            'admin_key = "%s"' % ("a" * 32)]) + "\n")

    def test_a_missing_tls_file_names_its_key(self):
        c = self.cluster("filestlsmissing")
        d = self.tmpdir()
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        write_private(key, "-----BEGIN PRIVATE KEY-----\n")
        self.with_api(c, cert, key)
        self.assertRefused(vigil("--config", c.config_path("n1"), "daemon", "run"),
                           "key 'api.tls_cert'", cert + ": No such file or directory")
        write_private(cert, "-----BEGIN CERTIFICATE-----\n")
        os.unlink(key)
        self.assertRefused(vigil("--config", c.config_path("n1"), "daemon", "run"),
                           "key 'api.tls_key'", key + ": No such file or directory")

    def test_tls_files_must_be_regular_and_the_key_private(self):
        c = self.cluster("filestlsmode")
        d = self.tmpdir()
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        write_private(key, "-----BEGIN PRIVATE KEY-----\n")
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo, 0o600)
        self.with_api(c, fifo, key)
        self.assertRefused(vigil("--config", c.config_path("n1"), "daemon", "run"),
                           "key 'api.tls_cert'", fifo + ": not a regular file (a FIFO)")
        write_private(cert, "-----BEGIN CERTIFICATE-----\n")
        os.chmod(key, 0o644)
        self.with_api(c, cert, key)
        self.assertRefused(vigil("--config", c.config_path("n1"), "daemon", "run"),
                           "key 'api.tls_key'",
                           key + ": group or others have access to it (mode 0644); chmod 600 it")


if __name__ == "__main__":
    main()
