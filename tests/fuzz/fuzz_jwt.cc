// libFuzzer target for the JWT checks of the TCP API (vigil::agent::check_jwt,
// make_jwt; agent/api/jwt.h).
//
// The first input byte picks a mode (its low bit):
//  0  check: the rest is "<authorization>\n<method>\n<path>" (method and path
//     default to GET /v1/status when the newlines are missing). It is checked
//     at kNow with the four key sets {admin+user, admin only, user only, none}
//     of the fixed 32-byte keys below; seeds signed with those keys reach
//     the checks after the signature.
//  1  round trip: a FuzzedDataProvider picks the role, now, ttl, max lifetime,
//     leeway, an edit of the token, the method and the path; make_jwt makes a
//     token that check_jwt must accept or refuse exactly as the claims say.
//
// What is checked, beyond the sanitizers (address, undefined behaviour):
//  - check_jwt throws nothing but JwtError, and its message is printable
//    ASCII of bounded length (it goes into the 401 answer);
//  - the answer never tells which issuers have keys: with no key at all a
//    token fails before or at the signature, and a key set changes the
//    answer only when that set's key verifies the token (then the full key
//    set gives the same answer);
//  - an accepted token is accepted for the role whose key signed it;
//  - a made token passes exactly when exp - iat <= max_lifetime,
//    iat <= now + leeway, now < exp + leeway (computed here with 128-bit
//    arithmetic), is refused for another method or path, by the other role's
//    key and without its key, and any one-character edit of it is refused.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "agent/api/join_token.h"
#include "agent/api/jwt.h"

namespace {

using vigil::agent::ApiRole;
using vigil::agent::check_jwt;
using vigil::agent::JwtError;
using vigil::agent::JwtKeys;
using vigil::agent::kBadSignatureOrIssuer;
using vigil::agent::make_jwt;

// The seeds in corpus/fuzz_jwt/ are signed with these keys at kNow.
constexpr std::string_view kAdminKey = "fuzz-admin-key-0123456789abcdef!";
constexpr std::string_view kUserKey = "fuzz-user-key-0123456789abcdef!!";
static_assert(kAdminKey.size() == 32 && kUserKey.size() == 32);
constexpr int64_t kNow = 1'700'000'000;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_jwt: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

void check(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) fail(what, detail);
}

// The outcome of one check_jwt call: the role, or the JwtError text.
struct Outcome {
  std::optional<ApiRole> role;
  std::string error;
  bool operator==(const Outcome&) const = default;
  std::string text() const {
    if (role) return *role == ApiRole::kAdmin ? "<admin>" : "<user>";
    return error;
  }
};

Outcome run_check(std::string_view authorization, std::string_view method, std::string_view path,
                  const JwtKeys& keys, int64_t now, int64_t max_lifetime, int64_t leeway) {
  Outcome out;
  try {
    out.role = check_jwt(authorization, method, path, keys, now, max_lifetime, leeway);
  } catch (const JwtError& e) {
    out.error = e.what();
    check(!out.error.empty(), "empty JwtError message");
    // It goes into the 401 answer and the log: bounded, printable.
    check(out.error.size() <= 256, "JwtError message too long", out.error.substr(0, 300));
    for (const char c : out.error) {
      check(c >= 0x20 && c < 0x7f, "JwtError message not printable ASCII", out.error);
    }
  } catch (const std::exception& e) {
    fail("check_jwt threw an exception other than JwtError", e.what());
  } catch (...) {
    fail("check_jwt threw a non-std exception");
  }
  return out;
}

// Errors only reached once a configured key verified the signature.
bool after_signature(const Outcome& o) {
  if (o.role) return true;
  return o.error == "token lifetime above the maximum" || o.error == "token issued in the future" ||
         o.error == "token expired" || o.error.rfind("qsh does not match ", 0) == 0;
}

JwtKeys keys(bool admin, bool user) {
  JwtKeys k;
  if (admin) k.admin = std::string(kAdminKey);
  if (user) k.user = std::string(kUserKey);
  return k;
}

// Join tokens (join_token.h) on the same input: only JwtError, and a token
// that verifies with a key verifies with nothing else.
void check_join_token_mode(std::string_view token) {
  vigil::crypto::Secret a{}, b{};
  a.fill(0x11);
  b.fill(0x22);
  const vigil::crypto::Key ka = vigil::crypto::derive_join_key(a, "fuzz");
  const vigil::crypto::Key kb = vigil::crypto::derive_join_key(b, "fuzz");
  auto accepted = [&](const vigil::crypto::Key& key) {
    try {
      vigil::agent::check_join_token(token, std::span(&key, 1), "fuzz", kNow);
      return true;
    } catch (const JwtError&) {
      return false;
    } catch (const std::exception& e) {
      fail("check_join_token threw something else than JwtError", e.what());
    }
  };
  check(!(accepted(ka) && accepted(kb)), "a join token verified with two keys");
  try {
    vigil::agent::peek_join_token(token);
  } catch (const JwtError&) {
  } catch (const std::exception& e) {
    fail("peek_join_token threw something else than JwtError", e.what());
  }
}

void check_mode(std::string_view in) {
  check_join_token_mode(in);
  std::string_view authorization = in, method = "GET", path = "/v1/status";
  if (const std::size_t nl = in.find('\n'); nl != std::string_view::npos) {
    authorization = in.substr(0, nl);
    const std::string_view rest = in.substr(nl + 1);
    const std::size_t nl2 = rest.find('\n');
    method = rest.substr(0, nl2);
    path = nl2 == std::string_view::npos ? std::string_view() : rest.substr(nl2 + 1);
  }
  constexpr int64_t kMax = vigil::agent::kDefaultMaxTokenLifetime;
  const Outcome both = run_check(authorization, method, path, keys(true, true), kNow, kMax, 120);
  const Outcome admin = run_check(authorization, method, path, keys(true, false), kNow, kMax, 120);
  const Outcome user = run_check(authorization, method, path, keys(false, true), kNow, kMax, 120);
  const Outcome none = run_check(authorization, method, path, keys(false, false), kNow, kMax, 120);

  // Without keys nothing verifies.
  check(!after_signature(none), "a token got past the signature with no key", none.text());
  // A key set differs from "no key" only through its own key verifying.
  for (const Outcome* o : {&admin, &user}) {
    if (*o == none) continue;
    check(after_signature(*o), "a key set changed a refusal before the signature",
          o->text() + " vs " + none.text());
    check(*o == both, "the full key set disagrees with the key that verified",
          o->text() + " vs " + both.text());
  }
  check(admin == none || user == none, "a token verified with both issuers' keys");
  if (both != none)
    check(after_signature(both), "full key set: refusal before the signature differs",
          both.text() + " vs " + none.text());
  if (both == none && both.error == kBadSignatureOrIssuer) {
    // Unknown issuer, missing key and wrong signature read the same.
    check(admin == none && user == none, "bad-signature answer depends on the key set");
  }
  // The role is that of the key that verified.
  if (both.role) {
    check(*both.role == ApiRole::kAdmin ? admin.role.has_value() : user.role.has_value(),
          "accepted with a role whose key did not verify");
  }
}

// now + d clamped to int64_t, as check_jwt and make_jwt compute it.
int64_t clamp(__int128 v) {
  if (v > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (v < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

void round_trip_mode(const uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const ApiRole role = in.ConsumeBool() ? ApiRole::kAdmin : ApiRole::kUser;
  const bool wide = in.ConsumeBool();
  const int64_t now = wide ? in.ConsumeIntegral<int64_t>()
                           : kNow + in.ConsumeIntegralInRange<int64_t>(-100000, 100000);
  const int64_t ttl =
      wide ? in.ConsumeIntegral<int64_t>() : in.ConsumeIntegralInRange<int64_t>(-1000, 100000);
  const int64_t max_lifetime =
      wide ? in.ConsumeIntegral<int64_t>() : in.ConsumeIntegralInRange<int64_t>(0, 86400);
  const int64_t leeway =
      wide ? in.ConsumeIntegral<int64_t>() : in.ConsumeIntegralInRange<int64_t>(0, 600);
  const uint16_t edit_at = in.ConsumeIntegral<uint16_t>();
  const char edit_to = in.ConsumeIntegral<char>();
  const std::string method = in.ConsumeRandomLengthString(32);
  const std::string path = in.ConsumeRemainingBytesAsString();

  const std::string_view key = role == ApiRole::kAdmin ? kAdminKey : kUserKey;
  std::string token;
  try {
    token = make_jwt(role, key, method, path, now, ttl);
  } catch (const std::exception& e) {
    fail("make_jwt threw with a 32-byte key", e.what());
  }
  const std::string bearer = "Bearer " + token;

  // The expected answer, from the claims make_jwt wrote: iat = now,
  // exp = now + ttl (saturating).
  const int64_t iat = now;
  const int64_t exp = clamp(__int128{now} + ttl);
  const bool expect_ok = __int128{exp} - iat <= max_lifetime &&
                         iat <= clamp(__int128{now} + leeway) &&
                         now < clamp(__int128{exp} + leeway);

  const Outcome got = run_check(bearer, method, path, keys(true, true), now, max_lifetime, leeway);
  if (expect_ok) {
    check(got.role == role, "a made token was refused or gave another role", got.text());
  } else {
    check(!got.role && after_signature(got), "a made token out of its bounds was not refused",
          got.text());
  }

  // Signed by one role's key only: the other key and "no key" refuse alike.
  const Outcome other = run_check(bearer, method, path,
                                  role == ApiRole::kAdmin ? keys(false, true) : keys(true, false),
                                  now, max_lifetime, leeway);
  check(other.error == kBadSignatureOrIssuer, "a token passed the signature without its key",
        other.text());
  const JwtKeys swapped{std::string(kUserKey), std::string(kAdminKey)};
  const Outcome crossed = run_check(bearer, method, path, swapped, now, max_lifetime, leeway);
  check(crossed.error == kBadSignatureOrIssuer, "a token passed with the other role's key",
        crossed.text());

  if (!expect_ok) return;
  // Bound to its request.
  const Outcome other_path =
      run_check(bearer, method, path + "/", keys(true, true), now, max_lifetime, leeway);
  check(other_path.error.rfind("qsh does not match ", 0) == 0, "a token passed for another path",
        other_path.text());
  const Outcome other_method =
      run_check(bearer, method + "X", path, keys(true, true), now, max_lifetime, leeway);
  check(other_method.error.rfind("qsh does not match ", 0) == 0,
        "a token passed for another method", other_method.text());

  // Any one-character edit of the token is refused.
  std::string edited = bearer;
  const std::size_t at = 7 + edit_at % token.size();
  if (edited[at] == edit_to) return;
  edited[at] = edit_to;
  const Outcome e = run_check(edited, method, path, keys(true, true), now, max_lifetime, leeway);
  check(!e.role, "an edited token was accepted",
        "character " + std::to_string(at - 7) + " '" + std::string(1, bearer[at]) + "' -> '" +
            std::string(1, edit_to) + "': " + bearer + " -> " + edited);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    check_mode(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  } else {
    round_trip_mode(data + 1, size - 1);
  }
  return 0;
}
