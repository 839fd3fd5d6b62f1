// libFuzzer target for the NATS client protocol parser
// (vigil::agent::nats::Parser, agent/nats/nats_protocol.h): everything the
// NATS export reads from the server goes through it.
//
// Input: the server's byte stream. Its first byte chooses where the rest is
// cut in two (a read boundary); the same bytes are also fed whole and one
// byte at a time.
//
// What is checked, beyond the sanitizers (address, undefined behaviour):
//  - feed() throws nothing; an error starts "nats protocol: ", is printable
//    ASCII and at most 300 characters, and stays (a later feed() returns it
//    and adds no operation);
//  - the parser never holds more than max_control_line + max_payload + 2
//    bytes;
//  - the operations do not depend on how the stream is split: whole, cut
//    in two, and byte by byte give the same operations and the same error;
//  - a MSG's subject is a publish subject, an -ERR text is printable.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "agent/nats/nats_protocol.h"

namespace {

using vigil::agent::nats::Parser;
using vigil::agent::nats::ServerOp;

constexpr Parser::Limits kLimits{.max_control_line = 512, .max_payload = 4096};

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_nats_protocol: %s%s%s\n", what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

bool printable(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

std::string describe(const std::vector<ServerOp>& ops) {
  std::string out;
  for (const auto& op : ops) {
    out += std::to_string(static_cast<int>(op.kind)) + "|" + op.error + "|" + op.info.server_id +
           "|" + op.message.subject + "|" + op.message.sid + "|" + op.message.reply + "|" +
           op.message.headers + "|" + op.message.payload + "|" + std::to_string(op.message.status) +
           "\n";
  }
  return out;
}

struct Run {
  std::vector<ServerOp> ops;
  std::string error;
};

Run feed_pieces(const std::vector<std::string_view>& pieces) {
  Parser p(kLimits);
  Run r;
  for (auto piece : pieces) {
    r.error = p.feed(piece, r.ops);
    if (p.buffered() > kLimits.max_control_line + kLimits.max_payload + 2)
      fail("parser holds too many bytes", std::to_string(p.buffered()));
    if (!r.error.empty()) break;
  }
  if (!r.error.empty()) {
    if (!r.error.starts_with("nats protocol: ") || !printable(r.error) || r.error.size() > 300)
      fail("bad error text", r.error);
    const std::size_t before = r.ops.size();
    if (p.feed("PING\r\n", r.ops) != r.error || r.ops.size() != before)
      fail("a failed parser recovered");
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = all.empty() ? 0 : data[0] % (all.size() + 1);

  const Run whole = feed_pieces({all});
  const Run halves = feed_pieces({all.substr(0, cut), all.substr(cut)});
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < all.size(); ++i) bytes.push_back(all.substr(i, 1));
  const Run single = feed_pieces(bytes);

  if (whole.error != halves.error || whole.error != single.error)
    fail("the error depends on the split",
         whole.error + " / " + halves.error + " / " + single.error);
  const std::string w = describe(whole.ops);
  if (w != describe(halves.ops) || w != describe(single.ops))
    fail("the operations depend on the split");
  for (const auto& op : whole.ops) {
    if (op.kind == ServerOp::Kind::kMsg &&
        !vigil::agent::nats::is_publish_subject(op.message.subject))
      fail("a MSG subject is not a subject", op.message.subject);
    if (op.kind == ServerOp::Kind::kErr && !printable(op.error)) fail("-ERR text not printable");
  }
  return 0;
}
