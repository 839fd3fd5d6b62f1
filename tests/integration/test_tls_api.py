"""The TCP API: TLS, and JWT bearer tokens on the Heketi model (HS256; iss
admin or user; iat, exp; qsh = SHA-256 of "METHOD&PATH"). Tokens are built
here with the standard library, independently of the daemon's code. The
certificate is made with the openssl command (skipped when it is missing)."""
import http.client
import json
import os
import re
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main, jwt_token as token, wait_until  # noqa: E402

ADMIN_KEY = "admin-key-0123456789abcdef-0123456789"
USER_KEY = "user-key-0123456789abcdef-0123456789"


class TlsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster("tlsapi", size=2)
        cls.port = cls.c.port + 77
        cls.cert = cls.c.add_tls_api("n1", cls.port, ADMIN_KEY, USER_KEY)
        cls.c.start_all()
        assert cls.c.wait("n1", ".peers.*.state=alive"), cls.c.log("n1")
        cls.tls = ssl.create_default_context(cafile=cls.cert)
        cls.tls.check_hostname = False

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def call(self, method, path, bearer=None, body=None):
        conn = http.client.HTTPSConnection(self.c.addr("n1"), self.port, context=self.tls,
                                           timeout=10)
        headers = {"Content-Type": "application/json"}
        if bearer is not None:
            headers["Authorization"] = "Bearer " + bearer
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers=headers)
        res = conn.getresponse()
        data = res.read()
        conn.close()
        return res.status, json.loads(data) if data else None

    def test_admin_reads_and_writes(self):
        status, ds = self.call("GET", "/v1/status", token(ADMIN_KEY, "admin", "GET", "/v1/status"))
        self.assertEqual(status, 200, ds)
        self.assertEqual(ds["cluster"]["name"], self.c.cluster_name)
        self.assertEqual(ds["peers"]["n2"]["state"], "alive")
        status, ans = self.call("POST", "/v1/node/set",
                                token(ADMIN_KEY, "admin", "POST", "/v1/node/set"),
                                {"path": ".labels.via", "value": "tls"})
        self.assertEqual(status, 200, ans)
        self.assertTrue(self.c.wait("n2", ".node.n1.labels.via=tls"))
        # The change is logged once, with the token's issuer and the address.
        logged = re.compile(r" info node set \.labels\.via by iss admin from [0-9.]+:\d+\n")
        self.assertTrue(wait_until(lambda: logged.search(self.c.log("n1"))), self.c.log("n1"))
        self.assertEqual(len(logged.findall(self.c.log("n1"))), 1)

    def test_user_reads_but_may_not_write(self):
        status, hb = self.call("GET", "/v1/hb", token(USER_KEY, "user", "GET", "/v1/hb"))
        self.assertEqual(status, 200, hb)
        self.assertIn("paths", hb)
        status, ans = self.call("POST", "/v1/wait", token(USER_KEY, "user", "POST", "/v1/wait"),
                                {"filter": ".peers.n2.state=alive", "duration_ms": 1000})
        self.assertEqual(status, 200, ans)
        status, ans = self.call("POST", "/v1/node/freeze",
                                token(USER_KEY, "user", "POST", "/v1/node/freeze"))
        self.assertEqual(status, 403, ans)
        self.assertIn("user role", ans["error"])
        self.assertFalse(self.c.status("n1")["node"]["n1"]["frozen"])

    def test_bad_tokens_are_refused_with_401(self):
        now = int(time.time())
        cases = {
            "no token": None,
            "wrong key": token("not-the-key-0123456789", "admin", "GET", "/v1/status"),
            "user key as admin": token(USER_KEY, "admin", "GET", "/v1/status"),
            "expired": token(ADMIN_KEY, "admin", "GET", "/v1/status", iat=now - 7200,
                             exp=now - 3600),
            "issued in the future": token(ADMIN_KEY, "admin", "GET", "/v1/status",
                                          iat=now + 3600),
            "qsh of another path": token(ADMIN_KEY, "admin", "GET", "/v1/hb"),
            "unknown issuer": token(ADMIN_KEY, "root", "GET", "/v1/status"),
            "alg none": token(ADMIN_KEY, "admin", "GET", "/v1/status", alg="none"),
            "garbage": "abc.def",
        }
        for name, bearer in cases.items():
            with self.subTest(name):
                status, ans = self.call("GET", "/v1/status", bearer)
                self.assertEqual(status, 401, (name, ans))
                self.assertTrue(ans["error"], name)

    def test_plain_http_on_the_tls_port_gets_nothing(self):
        conn = http.client.HTTPConnection(self.c.addr("n1"), self.port, timeout=5)
        with self.assertRaises((http.client.HTTPException, ConnectionError, OSError)):
            conn.request("GET", "/v1/status")
            conn.getresponse().read()
        conn.close()
        # The daemon is unharmed.
        status, _ = self.call("GET", "/v1/status", token(ADMIN_KEY, "admin", "GET", "/v1/status"))
        self.assertEqual(status, 200)


if __name__ == "__main__":
    main()
