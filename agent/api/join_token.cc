#include "agent/api/join_token.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "agent/api/jws.h"
#include "agent/api/jwt.h"

namespace vigil::agent {

using json = nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& reason) { throw JwtError(reason); }

std::string_view as_text(const crypto::Key& key) {
  return {reinterpret_cast<const char*>(key.data()), key.size()};
}

JoinToken claims_of(const json& claims) {
  if (jws::string_claim(claims, "sub") != "join") fail("not a join token");
  JoinToken t{.issuer = jws::string_claim(claims, "iss"),
              .cluster = jws::string_claim(claims, "cluster"),
              .iat = jws::integer_claim(claims, "iat"),
              .exp = jws::integer_claim(claims, "exp")};
  const auto cnf = claims.find("cnf");
  if (cnf == claims.end() || !cnf->is_object()) fail("claim 'cnf' missing or not an object");
  t.cert_sha256 = jws::string_claim(*cnf, "x5t#S256");
  return t;
}

}  // namespace

std::string make_join_token(const JoinToken& t, const crypto::Key& key) {
  if (t.issuer.empty() || t.cluster.empty() || t.cert_sha256.empty())
    throw std::invalid_argument("join token: issuer, cluster and certificate hash are required");
  const int64_t lifetime = jws::saturating_sub(t.exp, t.iat);
  if (lifetime <= 0 || lifetime > kMaxJoinTokenLifetime)
    throw std::invalid_argument("join token: lifetime must be from 1 s to 24 h");
  return jws::sign({{"iss", t.issuer},
                    {"sub", "join"},
                    {"cluster", t.cluster},
                    {"iat", t.iat},
                    {"exp", t.exp},
                    {"cnf", {{"x5t#S256", t.cert_sha256}}}},
                   as_text(key));
}

JoinToken peek_join_token(std::string_view token) { return claims_of(jws::parse(token).claims); }

JoinToken check_join_token(std::string_view token, std::span<const crypto::Key> keys,
                           std::string_view cluster, int64_t now, int64_t leeway) {
  const jws::Parsed parsed = jws::parse(token);
  const JoinToken t = claims_of(parsed.claims);
  bool signed_ok = false;
  for (const auto& key : keys) signed_ok = jws::verify(parsed, as_text(key)) || signed_ok;
  if (!signed_ok) fail("bad signature: not made with this cluster's secret");
  if (t.cluster != cluster) fail("token for cluster '" + jws::printable(t.cluster) + "'");
  if (jws::saturating_sub(t.exp, t.iat) > kMaxJoinTokenLifetime)
    fail("token lifetime above the maximum");
  if (t.iat > jws::saturating_add(now, leeway)) fail("token issued in the future");
  if (now >= jws::saturating_add(t.exp, leeway)) fail("token expired");
  return t;
}

}  // namespace vigil::agent
