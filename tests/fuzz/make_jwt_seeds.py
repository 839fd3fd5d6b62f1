#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_jwt (tests/fuzz/corpus/fuzz_jwt/).

The tokens are signed here, independently of agent/api/jwt.cc, with the fixed
keys of fuzz_jwt.cc and its kNow, so that check-mode seeds reach the checks
that follow the signature (lifetime, iat, exp, qsh). Run it again after
changing those constants:

    python3 tests/fuzz/make_jwt_seeds.py
"""
import base64
import hashlib
import hmac
import json
import os
import struct

ADMIN_KEY = b"fuzz-admin-key-0123456789abcdef!"
USER_KEY = b"fuzz-user-key-0123456789abcdef!!"
NOW = 1_700_000_000
HEADER = {"alg": "HS256", "typ": "JWT"}

CHECK = b"0"  # first byte, low bit 0: check mode
ROUND_TRIP = b"1"  # low bit 1: make_jwt/check_jwt round trip


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def text(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def qsh(method: str, path: str) -> str:
    return hashlib.sha256(f"{method}&{path}".encode()).hexdigest()


def token(key: bytes, claims, header=None, raw_claims: bytes = None) -> str:
    signing = b64(text(header or HEADER)) + "." + b64(raw_claims or text(claims))
    return signing + "." + b64(hmac.new(key, signing.encode(), hashlib.sha256).digest())


def claims(iss="admin", iat=NOW, exp=NOW + 300, method="GET", path="/v1/status"):
    return {"iss": iss, "iat": iat, "exp": exp, "qsh": qsh(method, path)}


def check_seed(authorization: str, method="GET", path="/v1/status") -> bytes:
    return CHECK + f"{authorization}\n{method}\n{path}".encode()


def seeds():
    yield "admin-ok", check_seed("Bearer " + token(ADMIN_KEY, claims()))
    yield "user-ok", check_seed("Bearer " + token(USER_KEY, claims("user")))
    yield "user-post", check_seed(
        "Bearer " + token(USER_KEY, claims("user", method="POST", path="/v1/node/freeze")),
        "POST", "/v1/node/freeze")
    yield "no-typ", check_seed("Bearer " + token(ADMIN_KEY, claims(), header={"alg": "HS256"}))
    yield "expired", check_seed("Bearer " + token(ADMIN_KEY, claims(iat=NOW - 900, exp=NOW - 600)))
    yield "future", check_seed("Bearer " + token(USER_KEY, claims("user", NOW + 600, NOW + 900)))
    yield "too-long", check_seed("Bearer " + token(ADMIN_KEY, claims(exp=NOW + 3600)))
    yield "int64-edges", check_seed("Bearer " + token(
        ADMIN_KEY, claims(iat=-(2**63), exp=2**63 - 1)))
    yield "other-path", check_seed("Bearer " + token(ADMIN_KEY, claims()), "GET", "/v1/hb")
    yield "root-issuer", check_seed("Bearer " + token(ADMIN_KEY, claims("root")))
    yield "admin-by-user-key", check_seed("Bearer " + token(USER_KEY, claims("admin")))
    yield "alg-none", check_seed(
        "Bearer " + b64(b'{"alg":"none","typ":"JWT"}') + "." + b64(text(claims())) + ".")
    yield "alg-hs512", check_seed("Bearer " + token(ADMIN_KEY, claims(), header={"alg": "HS512"}))
    yield "iat-string", check_seed("Bearer " + token(ADMIN_KEY, dict(claims(), iat=str(NOW))))
    yield "claims-array", check_seed("Bearer " + token(ADMIN_KEY, None, raw_claims=b"[1,2]"))
    yield "padded", check_seed("Bearer " + token(ADMIN_KEY, claims()) + "=")
    yield "garbage", check_seed("Bearer abc.def")
    yield "basic", check_seed("Basic dXNlcjpwdw==")
    yield "empty", CHECK
    # Round trip: FuzzedDataProvider reads the strings from the front and the
    # numbers from the back.
    yield "rt-admin", ROUND_TRIP + b"GET\\x/v1/status" + bytes(range(40))
    yield "rt-user-wide", ROUND_TRIP + b"POST\\x/v1/wait" + b"\xff" * 40
    yield "rt-edges", (ROUND_TRIP + b"\\\\" +
                       struct.pack("<qqqq", 2**63 - 1, -(2**63), 0, 1) + b"\x03")


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_jwt")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
