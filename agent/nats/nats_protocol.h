// The NATS client protocol, the part an exporter needs (README "NATS
// export"; https://docs.nats.io/reference/reference-protocols/nats-protocol):
//  - an incremental, bounded parser of what the server sends: INFO {json},
//    MSG, HMSG, PING, PONG, +OK, -ERR '<message>';
//  - encoders of what the client sends: CONNECT, PUB, HPUB, SUB, UNSUB,
//    PING, PONG.
// Operation names are case-insensitive; fields are separated by spaces or
// tabs; every control line ends with CRLF. Pure functions and a plain
// object: no I/O, no threads.
#ifndef VIGIL_AGENT_NATS_NATS_PROTOCOL_H_
#define VIGIL_AGENT_NATS_NATS_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::agent::nats {

/// The fields of the server's INFO the client uses (other fields ignored).
struct ServerInfo {
  std::string server_id;
  std::string server_name;
  std::string version;
  bool tls_required = false;  // the client must upgrade to TLS after INFO
  bool tls_available = false;
  bool auth_required = false;
  bool headers = false;    // HPUB/HMSG supported
  bool jetstream = false;  // this server runs JetStream
  /// Largest payload the server accepts, bytes (1 MiB when not given).
  std::size_t max_payload = 1 << 20;
};

/// A MSG or an HMSG: a message delivered to one of the client's
/// subscriptions.
struct Message {
  std::string subject;
  std::string sid;
  std::string reply;    // "" when none
  std::string headers;  // HMSG: the header block "NATS/1.0...\r\n\r\n"; MSG: ""
  std::string payload;
  /// The status of an HMSG's first header line "NATS/1.0 503" (0 when none
  /// or MSG): 503 is "no responders" (a request nobody subscribes to).
  int status = 0;
};

/// One operation from the server.
struct ServerOp {
  enum class Kind { kInfo, kMsg, kPing, kPong, kOk, kErr };
  Kind kind = Kind::kPing;
  ServerInfo info;    // kInfo
  Message message;    // kMsg (MSG or HMSG)
  std::string error;  // kErr: the message between the quotes, printable ASCII
};

/// Parses the server's byte stream, any split of it. Memory is bounded: a
/// control line longer than max_control_line bytes, or a payload longer
/// than max_payload bytes, is an error; the parser never holds more than
/// max_control_line + max_payload + 2 bytes.
class Parser {
 public:
  struct Limits {
    std::size_t max_control_line = 64 * 1024;  // bytes, CRLF included (INFO may be long)
    std::size_t max_payload = 8 << 20;         // bytes of one MSG/HMSG (headers included)
  };
  Parser() = default;
  explicit Parser(Limits limits) : limits_(limits) {}

  /// Appends the operations that `bytes` completes to `out`. Returns "" or,
  /// on bad input, a one-line reason ("nats protocol: <reason>"): the
  /// parser then stays failed (every later call returns the same reason)
  /// and the connection must be closed. Never throws.
  std::string feed(std::string_view bytes, std::vector<ServerOp>& out);

  /// The bytes held, waiting for the rest of an operation.
  std::size_t buffered() const { return buffer_.size(); }

 private:
  std::string parse_line(std::string_view line, std::vector<ServerOp>& out);
  std::string parse_msg(std::string_view args, bool with_headers);

  Limits limits_;
  std::string buffer_;
  std::string error_;
  // A MSG/HMSG whose payload is awaited: its header fields and sizes.
  std::optional<Message> pending_;
  std::size_t pending_header_bytes_ = 0;
  std::size_t pending_total_bytes_ = 0;
};

/// The CONNECT options vigil sends.
struct ConnectOptions {
  std::string name = "vigil";
  std::string version;  // vigil's version
  std::string auth_token;
  std::string user, pass;
  bool tls_required = false;
  bool headers = true;
  bool no_responders = true;  // needs headers: a 503 status for a request nobody serves
};

/// "CONNECT {json}\r\n" with verbose and pedantic false, lang "c++",
/// protocol 1; auth_token, user and pass only when non-empty.
std::string encode_connect(const ConnectOptions& o);

/// True for a subject a client may publish to: 1-256 bytes, dot-separated
/// non-empty tokens of printable ASCII without space, '*' or '>'.
bool is_publish_subject(std::string_view subject);
/// As is_publish_subject, and a token may also be '*' or, last, '>'.
bool is_subscribe_subject(std::string_view subject);

/// "PUB <subject> [reply] <#bytes>\r\n<payload>\r\n". Throws
/// std::invalid_argument for a subject or reply that is_publish_subject
/// refuses.
std::string encode_pub(std::string_view subject, std::string_view reply, std::string_view payload);
/// "HPUB <subject> [reply] <#header bytes> <#total bytes>\r\n<headers><payload>\r\n";
/// `headers` is the whole block "NATS/1.0\r\nName: value\r\n\r\n". Throws
/// std::invalid_argument as encode_pub.
std::string encode_hpub(std::string_view subject, std::string_view reply, std::string_view headers,
                        std::string_view payload);
/// "SUB <subject> <sid>\r\n"; throws std::invalid_argument for a subject
/// is_subscribe_subject refuses or a sid that is not 1-32 letters/digits.
std::string encode_sub(std::string_view subject, std::string_view sid);
/// "UNSUB <sid>[ <max>]\r\n" (max 0: none).
std::string encode_unsub(std::string_view sid, uint64_t max = 0);
inline std::string encode_ping() { return "PING\r\n"; }
inline std::string encode_pong() { return "PONG\r\n"; }

}  // namespace vigil::agent::nats

#endif  // VIGIL_AGENT_NATS_NATS_PROTOCOL_H_
