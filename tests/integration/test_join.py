"""Joining a cluster, the token: `vigil cluster token` on a node with a TLS
API prints a join token. The claims, the key derivation and the certificate
pin are checked here with the standard library and the openssl command,
independently of the daemon's code (skipped without openssl)."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import SECRET, Cluster, main  # noqa: E402

ADMIN_KEY = "admin-key-0123456789abcdef-0123456789"
USER_KEY = "user-key-0123456789abcdef-0123456789"


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def join_key(secret_hex, cluster):
    """crypto::derive_join_key, as documented: BLAKE2b-256 keyed with the
    secret over "vigil/join-token/v1", the name length (u32 LE) and the name."""
    h = hashlib.blake2b(key=bytes.fromhex(secret_hex), digest_size=32)
    h.update(b"vigil/join-token/v1")
    h.update(struct.pack("<I", len(cluster)))
    h.update(cluster.encode())
    return h.digest()


class JoinTokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("needs the openssl command")
        cls.c = Cluster("jointoken", size=2)
        cls.cert = cls.c.add_tls_api("n1", cls.c.port + 77, ADMIN_KEY, USER_KEY)
        cls.c.start_all()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def token(self, *args):
        res = self.c.cli("n1", "cluster", "token", *args)
        self.assertEqual(res.returncode, 0, res.stderr)
        return res.stdout.strip()

    def test_the_token_binds_the_cluster_secret_and_pins_the_certificate(self):
        before = int(time.time())
        token = self.token()
        header, claims, signature = token.split(".")
        self.assertEqual(json.loads(b64url_decode(header))["alg"], "HS256")
        claims = json.loads(b64url_decode(claims))
        self.assertEqual(claims["iss"], "n1")
        self.assertEqual(claims["sub"], "join")
        self.assertEqual(claims["cluster"], self.c.cluster_name)
        self.assertEqual(claims["exp"] - claims["iat"], 600)  # 10 minutes by default
        self.assertGreaterEqual(claims["iat"], before - 1)
        # Signed with the key derived from the cluster secret.
        mac = hmac.new(join_key(SECRET, self.c.cluster_name),
                       (header + "." + token.split(".")[1]).encode(), hashlib.sha256).digest()
        self.assertEqual(b64url_decode(signature), mac)
        # cnf pins the seed's certificate: SHA-256 of its DER encoding.
        der = subprocess.run(["openssl", "x509", "-in", self.cert, "-outform", "DER"],
                             capture_output=True, check=True).stdout
        pin = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
        self.assertEqual(claims["cnf"], {"x5t#S256": pin})

    def test_duration_and_json_output(self):
        res = self.c.cli("n1", "cluster", "token", "--duration", "1h", "--format", "json")
        self.assertEqual(res.returncode, 0, res.stderr)
        answer = json.loads(res.stdout)
        claims = json.loads(b64url_decode(answer["token"].split(".")[1]))
        self.assertEqual(claims["exp"] - claims["iat"], 3600)
        self.assertTrue(answer["expires_at"].endswith("Z"), answer)
        for bad in ("25h", "0s", "soon"):
            res = self.c.cli("n1", "cluster", "token", "--duration", bad)
            self.assertEqual(res.returncode, 2, (bad, res.stderr))
            self.assertIn("--duration", res.stderr)

    def test_a_node_without_a_tls_listener_makes_no_token(self):
        res = self.c.cli("n2", "cluster", "token")
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("no [api] TLS listener", res.stderr)
        self.assertEqual(res.stdout, "")


if __name__ == "__main__":
    main()
