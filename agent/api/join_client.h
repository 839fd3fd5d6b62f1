// The joiner's one HTTPS request to a seed: `vigil cluster join --token T
// --seed HOST:PORT` makes the local daemon POST /v1/cluster/join to the
// seed's TLS API, with the join token as a bearer (join_token.h).
//
// The joiner holds neither the cluster secret nor a CA. It pins the seed's
// certificate with the token's `cnf` claim instead: the base64url (unpadded)
// SHA-256 of the leaf certificate's DER, RFC 8705 section 3.1 "x5t#S256"
// (tls_fingerprint.h), as kubeadm pins its control plane with
// --discovery-token-ca-cert-hash. The pin is the only check of the handshake
// (no CA, no host name): a certificate that does not match is a man in the
// middle, and the connection ends before any byte of the request (the bearer
// token) is written.
//
// Fully asynchronous on the caller's io_context (the daemon's protocol
// thread): connect, TLS handshake, write and read never block it, and one
// timeout bounds them together.
#ifndef VIGIL_AGENT_API_JOIN_CLIENT_H_
#define VIGIL_AGENT_API_JOIN_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/config/endpoint.h"

namespace vigil::agent {

/// The largest answer body post_join() accepts, bytes.
inline constexpr std::size_t kMaxJoinAnswerBytes = 1024 * 1024;
/// The deepest nesting of the answer's JSON (bounded_json.h).
inline constexpr int kMaxJoinAnswerDepth = 64;

/// What a join request came to.
struct JoinReply {
  enum class Outcome {
    kAnswered,     // the seed answered with a JSON object (any HTTP status)
    kPinMismatch,  // the seed's certificate is not the token's cnf: nothing was sent
    kUnreachable,  // no TLS connection: bad address, connect or handshake failed, reset
    kTimeout,      // no complete answer within the timeout
    kBadAnswer,    // an answer that is not HTTP, above the size bound, or not a JSON object
  };
  Outcome outcome;
  int status = 0;       // HTTP status when kAnswered, else 0
  nlohmann::json body;  // the parsed JSON body when kAnswered (an object); else null
  /// "" when kAnswered; else a one-line reason for people, naming the seed:
  /// "seed 127.0.0.1:1215: certificate does not match the token (cnf): refusing it as a man
  /// in the middle", "seed 127.0.0.1:1215: connect: Connection refused", "seed ...: no
  /// answer within 5000 ms", "seed ...: answer is not JSON: ...".
  std::string error;
};

/// POSTs `body` (JSON) to https://<seed>/v1/cluster/join with "Authorization:
/// Bearer <token>", Content-Type application/json and Host = seed.text().
/// `cert_sha256` is the pin: the base64url SHA-256 of the DER leaf
/// certificate (JoinToken::cert_sha256), compared exactly. TLS 1.2 or newer;
/// the handshake checks the pin only (no CA, no host name, no SNI), and a
/// mismatch ends it before the request is written. `timeout` (ms, > 0)
/// bounds the whole exchange: connect, handshake, write, read. The answer is
/// at most 16 KiB of headers and kMaxJoinAnswerBytes of body (more:
/// kBadAnswer).
///
/// `done` runs exactly once, on `io`'s thread, never from inside post_join
/// itself (unless `io` is stopped or destroyed first: then never). Network
/// errors and bad answers come through `done`, never as exceptions. Throws
/// std::invalid_argument for a caller's error: `timeout` <= 0, no `done`, a
/// token that is empty or holds a character outside printable ASCII (it
/// goes into a header); nlohmann::json::type_error when `body` holds invalid
/// UTF-8.
void post_join(boost::asio::io_context& io, const Endpoint& seed, std::string token,
               std::string cert_sha256, const nlohmann::json& body,
               std::chrono::milliseconds timeout, std::function<void(JoinReply)> done);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_JOIN_CLIENT_H_
