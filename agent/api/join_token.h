// Join tokens: what `vigil cluster token` prints and `vigil cluster join
// --token` presents to a seed (README "Joining a cluster").
//
// A JWT, HS256 (jws.h), signed with crypto::derive_join_key(cluster secret,
// cluster name), a key of its own context:
//
//   {"iss": "<issuing node>", "sub": "join", "cluster": "<cluster name>",
//    "iat": <s since epoch>, "exp": <s since epoch>,
//    "cnf": {"x5t#S256": "<base64url SHA-256 of the seed's TLS certificate (DER)>"}}
//
// `cnf` follows RFC 7800 section 3 with the RFC 8705 section 3.1 member: the
// joiner reads it *before* it can verify the token (it does not hold the
// secret yet) and pins the seed's certificate with it, so a join needs no CA
// and no trust on first use, as kubeadm's discovery hash does. A token is a
// bearer secret for `exp - iat`: default 10 minutes, at most 24 hours.
#ifndef VIGIL_AGENT_API_JOIN_TOKEN_H_
#define VIGIL_AGENT_API_JOIN_TOKEN_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "crypto/key.h"

namespace vigil::agent {

/// Default and largest lifetime of a join token, seconds.
inline constexpr int64_t kDefaultJoinTokenLifetime = 600;
inline constexpr int64_t kMaxJoinTokenLifetime = 86400;

struct JoinToken {
  std::string issuer;        // the node that made it (the seed)
  std::string cluster;       // the cluster name
  int64_t iat = 0, exp = 0;  // seconds since the epoch
  std::string cert_sha256;   // cnf x5t#S256: base64url SHA-256 of the seed's certificate
};

/// Signs `t` (sub = "join") with `key`. Throws std::invalid_argument when a
/// field is empty or exp - iat is not in (0, kMaxJoinTokenLifetime].
std::string make_join_token(const JoinToken& t, const crypto::Key& key);

/// Reads a token's claims without checking its signature: what the joiner
/// does to learn the seed's certificate. Throws JwtError (jwt.h) for a
/// token that is malformed, not sub "join", or lacks a claim.
JoinToken peek_join_token(std::string_view token);

/// What a seed does: peek_join_token(), then the signature against each of
/// `keys` (the join keys of every secret version held), the cluster name,
/// exp - iat <= kMaxJoinTokenLifetime, iat <= now + leeway and
/// now < exp + leeway (seconds). Throws JwtError: "bad signature", "token
/// for cluster 'x'", "token expired", ...
JoinToken check_join_token(std::string_view token, std::span<const crypto::Key> keys,
                           std::string_view cluster, int64_t now, int64_t leeway = 120);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_JOIN_TOKEN_H_
