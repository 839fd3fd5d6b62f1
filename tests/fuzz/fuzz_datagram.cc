// libFuzzer target for the heartbeat receive pipeline: datagram header parse,
// cluster/sender/key checks, AEAD open, replay window, fragment reassembly
// (heartbeat::Opener) and the plaintext message codec (heartbeat::decode).
//
// Random bytes almost never authenticate, so the first input byte selects a
// mode (see vigil::fuzz::DatagramMode): raw datagrams; fragments of arbitrary
// plaintext sealed with the real key and opened; a Sealer -> Opener round
// trip; decode() alone; and edits of a valid sealed datagram.
//
// What is checked, beyond the sanitizers (address, undefined behaviour):
//  - Opener::open never throws; it returns nullopt exactly when it counted
//    one drop, and a duplicate result carries no payload;
//  - pending reassembly stays within the per-sender limit and a completed
//    payload within the message size limit;
//  - a message sealed by Sealer opens whole, once, after its last fragment,
//    whatever the delivery order;
//  - a sealed datagram with any byte changed, removed or added never opens;
//  - decode() throws nothing but DecodeError; what it accepts dumps as JSON
//    text, re-encodes, decodes to the same message, and encodes canonically;
//  - decode() accepts exactly what the decoder it replaced accepts
//    (tests/heartbeat/legacy_decode.h), and to a message that encodes to the
//    same bytes; decoding over the message of an earlier input (the receive
//    path reuses one) gives the same message as decoding afresh.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/key.h"
#include "crypto/keyring.h"
#include "crypto/replay_window.h"
#include "heartbeat/codec.h"
#include "heartbeat/datagram.h"
#include "heartbeat/message.h"
#include "membership/cluster_query.h"
#include "membership/member_list.h"
#include "membership/webhook_set.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/heartbeat/legacy_decode.h"

namespace {

using vigil::crypto::Key;
using vigil::crypto::Keyring;
using vigil::heartbeat::DecodeError;
using vigil::heartbeat::Header;
using vigil::heartbeat::Message;
using vigil::heartbeat::Opener;
using vigil::heartbeat::OpenerOptions;
using Clock = Opener::Clock;
using Bytes = std::vector<uint8_t>;
namespace fz = vigil::fuzz;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_datagram: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

// Reads the input front to back; past the end every read yields zeros.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool empty() const { return pos_ >= bytes_.size(); }
  uint8_t u8() { return empty() ? 0 : bytes_[pos_++]; }
  uint16_t u16() {
    const uint16_t lo = u8();
    return static_cast<uint16_t>(lo | (u8() << 8));
  }
  std::span<const uint8_t> take(std::size_t n) {
    n = std::min(n, bytes_.size() - std::min(pos_, bytes_.size()));
    auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::span<const uint8_t> rest() { return take(bytes_.size()); }

 private:
  std::span<const uint8_t> bytes_;
  std::size_t pos_ = 0;
};

const Keyring& ring() {
  static const Keyring kRing = fz::keyring();
  return kRing;
}

const Key& foreign_key() {
  static const Key kKey =
      vigil::crypto::derive_key(fz::secret(), fz::kCluster, fz::kForeignKeyVersion);
  return kKey;
}

uint64_t cluster_id() {
  static const uint64_t kId = vigil::crypto::cluster_id(fz::kCluster);
  return kId;
}

Clock::time_point start_time() { return Clock::time_point{} + std::chrono::hours(1); }

Opener make_opener(OpenerOptions options = {}) {
  return Opener(cluster_id(), std::string(fz::kSelf), {"n1", "n2", "n3"}, ring(), options);
}

// JSON text of `value`; a value decode() let through must always have one
// (nlohmann refuses malformed UTF-8 here).
std::string dump_checked(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception& e) {
    fail("decoded JSON value cannot be dumped", e.what());
  }
}

bool same_message(const Message& a, const Message& b) {
  if (a.kind != b.kind || a.gens != b.gens || a.full_gen != b.full_gen ||
      a.deltas.size() != b.deltas.size() || a.key_versions != b.key_versions ||
      a.key_ids != b.key_ids || a.key_offer != b.key_offer || a.member_digest != b.member_digest ||
      dump_checked(a.members) != dump_checked(b.members) || a.stop != b.stop ||
      a.webhook_digest != b.webhook_digest ||
      dump_checked(a.webhooks) != dump_checked(b.webhooks) ||
      dump_checked(a.queries) != dump_checked(b.queries) ||
      dump_checked(a.query_answers) != dump_checked(b.query_answers)) {
    return false;
  }
  for (std::size_t i = 0; i < a.deltas.size(); ++i) {
    if (a.deltas[i].gen != b.deltas[i].gen || a.deltas[i].ops != b.deltas[i].ops ||
        dump_checked(a.deltas[i].ops) != dump_checked(b.deltas[i].ops)) {
      return false;
    }
  }
  return a.full == b.full && dump_checked(a.full) == dump_checked(b.full);
}

// The decoder decode() replaced: what it makes of `bytes`, or nullopt.
std::optional<Message> legacy_decode(std::span<const uint8_t> bytes) {
  try {
    return vigil::heartbeat::legacy::decode(bytes);
  } catch (const DecodeError&) {
    return std::nullopt;
  }
}

// The message decode() works over across inputs, as the receive path does:
// what earlier inputs left in it, refused ones included.
Message reused;

// decode() contract and codec round trip for one plaintext.
void check_message(std::span<const uint8_t> bytes) {
  Message msg;
  try {
    msg = vigil::heartbeat::decode(bytes);
  } catch (const DecodeError&) {
    check(!legacy_decode(bytes), "decode refused a message the legacy decoder accepts");
    bool refused = false;
    try {
      vigil::heartbeat::decode(bytes, reused);
    } catch (const DecodeError&) {
      refused = true;
    }
    check(refused, "decode over an earlier message accepted what decode refuses");
    return;
  } catch (const std::exception& e) {
    fail("decode threw an exception other than DecodeError", e.what());
  }
  const std::optional<Message> before = legacy_decode(bytes);
  check(before.has_value(), "decode accepted a message the legacy decoder refuses");
  try {
    vigil::heartbeat::decode(bytes, reused);
  } catch (const std::exception& e) {
    fail("decode over an earlier message refused what decode accepts", e.what());
  }
  using vigil::heartbeat::MessageKind;
  check(msg.kind == MessageKind::kPatch || msg.deltas.empty(), "deltas outside a patch");
  check(msg.kind == MessageKind::kFull || (msg.full.is_null() && msg.full_gen == 0),
        "full document outside a full");
  for (std::size_t i = 0; i < msg.deltas.size(); ++i) {
    const auto& d = msg.deltas[i];
    check(d.gen >= 1 && (i == 0 || d.gen == msg.deltas[i - 1].gen + 1),
          "decoded delta gens are not consecutive from >= 1");
    check(d.ops.is_array(), "decoded delta ops are not an array");
    for (const auto& op : d.ops) check(op.is_object(), "decoded delta op is not an object");
  }

  // Member entries from a peer: merged or skipped, never thrown; merging
  // them twice changes nothing.
  if (!msg.members.is_null()) {
    vigil::membership::MemberList list;
    try {
      list.merge_all(msg.members);
      const uint64_t digest = list.digest();
      check(list.merge_all(msg.members).changed.empty(), "merging member entries twice changed");
      check(list.digest() == digest, "the member digest changed on a repeated merge");
    } catch (const std::exception& e) {
      fail("merging member entries threw", e.what());
    }
  }
  // Webhook entries and cluster queries: the same contract.
  if (!msg.webhooks.is_null()) {
    vigil::membership::WebhookSet set;
    try {
      set.merge_all(msg.webhooks);
      const uint64_t digest = set.digest();
      check(set.merge_all(msg.webhooks).changed.empty(), "merging webhook entries twice changed");
      check(set.digest() == digest, "the webhook digest changed on a repeated merge");
    } catch (const std::exception& e) {
      fail("merging webhook entries threw", e.what());
    }
  }
  if (!msg.queries.is_null() || !msg.query_answers.is_null()) {
    vigil::membership::ClusterQueries queries;
    const auto now = vigil::membership::ClusterQueries::Clock::time_point{};
    try {
      queries.on_message(msg, now);
      check(queries.on_message(msg, now).empty(), "a query was run twice");
    } catch (const std::exception& e) {
      fail("reading cluster queries threw", e.what());
    }
  }

  Bytes again;
  try {
    again = vigil::heartbeat::encode(msg);
  } catch (const std::exception& e) {
    fail("encode refused a message decode accepted", e.what());
  }
  Message back;
  try {
    back = vigil::heartbeat::decode(again);
  } catch (const std::exception& e) {
    fail("decode refused what encode produced", e.what());
  }
  check(same_message(msg, back), "decode(encode(m)) differs from m");
  Bytes third;
  try {
    third = vigil::heartbeat::encode(back);
  } catch (const std::exception& e) {
    fail("encode refused a re-decoded message", e.what());
  }
  check(third == again, "encode is not canonical after one round trip");
  try {
    check(vigil::heartbeat::encode(*before) == again,
          "decode and the legacy decoder read different messages");
    check(vigil::heartbeat::encode(reused) == again,
          "decode over an earlier message read a different message");
  } catch (const std::exception& e) {
    fail("encode refused what the legacy decoder read", e.what());
  }
}

// Opener::open with its contract checked: no exception, the drop it returns
// is the one it counted, no result iff exactly one drop was counted, a
// duplicate carries no payload.
std::optional<Opener::Result> open_checked(Opener& opener, std::span<const uint8_t> datagram,
                                           Clock::time_point now) {
  const uint64_t before = opener.drops().total();
  Opener::Opened opened;
  try {
    opened = opener.open(datagram, now, fz::kNowWallMs);
  } catch (const std::exception& e) {
    fail("Opener::open threw", e.what());
  } catch (...) {
    fail("Opener::open threw a non-exception");
  }
  const uint64_t added = opener.drops().total() - before;
  check(added == (opened.drop ? 1u : 0u), "the drop returned is not the one counted");
  std::optional<Opener::Result> r = opened.result;
  if (!r) {
    check(added == 1, "a dropped datagram was not counted exactly once");
    return r;
  }
  check(r->sender == "n2" || r->sender == "n3", "result from a sender that is not a peer");
  if (r->duplicate) {
    check(added == 1 && !r->payload, "a duplicate was not counted as one replay, or has a payload");
  } else {
    check(added <= 1, "one datagram counted more than one drop");
  }
  return r;
}

// DatagramMode::kRaw: one datagram, whatever bytes it holds.
void run_raw(std::span<const uint8_t> datagram) {
  Opener opener = make_opener();
  const auto r = open_checked(opener, datagram, start_time());
  if (r && r->payload) check_message(*r->payload);
}

// DatagramMode::kRawTrain: length-prefixed datagrams into one Opener.
void run_raw_train(Reader in) {
  Opener opener = make_opener();
  Clock::time_point now = start_time();
  for (int n = 0; n < 1024 && !in.empty(); ++n) {
    const auto datagram = in.take(in.u16());
    now += std::chrono::milliseconds(1);
    const auto r = open_checked(opener, datagram, now);
    if (r && r->payload) check_message(*r->payload);
  }
}

// A distinct, deterministic nonce per sealed datagram of one input.
vigil::crypto::Nonce nonce_of(uint64_t counter) {
  vigil::crypto::Nonce nonce;
  nonce.fill(0xa5);
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<unsigned char>(counter >> (8 * i));
  return nonce;
}

// DatagramMode::kFragments: fragment records (layout in fuzz_support.h),
// each sealed under a valid header and opened by one Opener with small
// reassembly limits, so that every limit is reachable from short inputs.
void run_fragments(Reader in) {
  OpenerOptions options;
  options.reassembly.max_message_bytes = 4096;
  options.reassembly.max_fragments = 64;
  options.reassembly.max_pending_per_sender = 4;
  options.reassembly.timeout = std::chrono::milliseconds(5000);
  Opener opener = make_opener(options);
  const Key& key = *ring().find(fz::kKeyVersion);
  Clock::time_point now = start_time();
  uint64_t seq = 0;
  for (uint64_t n = 0; n < 512 && !in.empty(); ++n) {
    const uint8_t flags = in.u8();
    const uint8_t sender = in.u8();
    const uint8_t boot = in.u8();
    const uint8_t msg_id = in.u8();
    const uint8_t index = in.u8();
    const uint8_t count = in.u8();
    const uint16_t advance_ms = in.u16();
    const auto data = in.take(in.u16());

    Header h;
    h.cluster_id = cluster_id();
    h.sender = std::string(fz::kSenders[sender % std::size(fz::kSenders)]);
    h.key_version = (flags & fz::kFlagForeignKey) ? fz::kForeignKeyVersion : fz::kKeyVersion;
    h.boot = fz::kBoot + boot % 4;
    if (flags & fz::kFlagSeqJump) seq += 2 * vigil::crypto::ReplayWindow::kWindow;
    if (!(flags & fz::kFlagRepeatSeq) || seq == 0) ++seq;
    h.seq = seq;
    if ((flags & fz::kFlagSeqBack) && seq > 1u + index) h.seq = seq - 1 - index;
    h.sent_ms = fz::kNowWallMs + advance_ms % 1000 - 500;
    if (flags & fz::kFlagSkewed) h.sent_ms += (boot & 0x80) ? -31000 : 31000;
    h.msg_id = msg_id % 8;
    if (flags & fz::kFlagWide) {
      h.frag_count = static_cast<uint16_t>(std::min(65535, 1 + count * 257));
      h.frag_index = static_cast<uint16_t>((index * 257) % h.frag_count);
    } else {
      h.frag_count = static_cast<uint16_t>(1 + count % 16);
      h.frag_index = static_cast<uint16_t>(index % h.frag_count);
    }
    h.nonce = nonce_of(n);
    const Bytes datagram = vigil::heartbeat::seal_datagram(
        h, (flags & fz::kFlagForeignKey) ? foreign_key() : key, data);

    now += std::chrono::milliseconds(advance_ms);
    if (flags & fz::kFlagExpire) opener.expire(now);
    const auto r = open_checked(opener, datagram, now);
    check(opener.pending() <= 2 * options.reassembly.max_pending_per_sender,
          "more partial messages pending than the per-sender limit allows");
    if (r && r->payload) {
      check(r->payload->size() <= options.reassembly.max_message_bytes,
            "reassembled payload above max_message_bytes");
      check_message(*r->payload);
    }
  }
}

// DatagramMode::kSealerRoundTrip: what Sealer produces, Opener returns whole,
// exactly once, on the last fragment delivered, in any delivery order.
void run_sealer_round_trip(Reader in) {
  const std::size_t budget = 1 + in.u16() % 2000;
  const uint8_t order = in.u8();
  const auto plaintext = in.rest();
  vigil::heartbeat::Sealer sealer(cluster_id(), "n2", fz::kBoot, ring(), budget);
  const std::vector<Bytes> datagrams = sealer.seal(plaintext, fz::kNowWallMs);
  const std::size_t n = datagrams.size();
  check(n == std::max<std::size_t>(1, (plaintext.size() + budget - 1) / budget),
        "Sealer made an unexpected number of fragments");
  check(sealer.last_seq() == n, "Sealer did not take one seq per fragment");

  std::vector<std::size_t> sequence(n);
  for (std::size_t i = 0; i < n; ++i) sequence[i] = i;
  switch (order % 4) {
    case 0:
      break;
    case 1:
      std::reverse(sequence.begin(), sequence.end());
      break;
    case 2:
      std::stable_partition(sequence.begin(), sequence.end(),
                            [](std::size_t i) { return i % 2 == 0; });
      break;
    default:
      std::rotate(sequence.begin(), sequence.begin() + (order / 4) % n, sequence.end());
      break;
  }

  const OpenerOptions options;
  Opener opener = make_opener(options);
  // Above the replay window or the fragment limit only the absence of a
  // payload is certain; below both, every step is.
  const bool strict = n <= options.reassembly.max_fragments &&
                      n <= vigil::crypto::ReplayWindow::kWindow &&
                      plaintext.size() <= options.reassembly.max_message_bytes;
  Clock::time_point now = start_time();
  for (std::size_t k = 0; k < n; ++k) {
    const auto r = open_checked(opener, datagrams[sequence[k]], now);
    if (!strict) {
      check(!r || !r->payload, "a message above the reassembly limits was reassembled");
      continue;
    }
    check(r.has_value(), "an authentic fresh fragment was dropped");
    check(r->sender == "n2" && r->boot == fz::kBoot, "result names the wrong sender or boot");
    check(r->new_boot == (k == 0), "new_boot not set on exactly the first datagram");
    check(!r->duplicate, "a fresh fragment was reported as a duplicate");
    if (k + 1 < n) {
      check(!r->payload, "a payload was returned before the last fragment");
    } else {
      check(r->payload.has_value(), "the last fragment did not complete the message");
      check(std::equal(r->payload->begin(), r->payload->end(), plaintext.begin(), plaintext.end()),
            "the reassembled payload differs from the sealed plaintext");
    }
  }
  if (strict && (order & 0x80)) {
    const auto again = open_checked(opener, datagrams[sequence[0]], now);
    check(again && again->duplicate && !again->payload,
          "a datagram delivered twice was not reported as a duplicate");
  }
  check_message(plaintext);
}

// DatagramMode::kTamper: a valid sealed datagram opens; after any edit that
// changes its bytes it never does.
void run_tamper(Reader in) {
  const auto plaintext = in.take(in.u8());
  Header h;
  h.cluster_id = cluster_id();
  h.sender = "n2";
  h.key_version = fz::kKeyVersion;
  h.boot = fz::kBoot;
  h.seq = 1;
  h.sent_ms = fz::kNowWallMs;
  h.msg_id = 1;
  h.nonce = nonce_of(0);
  const Bytes original =
      vigil::heartbeat::seal_datagram(h, *ring().find(fz::kKeyVersion), plaintext);
  Bytes edited = original;
  for (int n = 0; n < 16 && !in.empty(); ++n) {
    const uint16_t pos = in.u16();
    const uint8_t kind = in.u8();
    const uint8_t value = in.u8();
    switch (kind % 4) {
      case 0:
        if (!edited.empty()) edited[pos % edited.size()] ^= value;
        break;
      case 1:
        edited.resize(pos % (edited.size() + 1));
        break;
      case 2:
        edited.insert(edited.begin() + pos % (edited.size() + 1), value);
        break;
      default:
        if (!edited.empty()) edited.erase(edited.begin() + pos % edited.size());
        break;
    }
  }
  Opener opener = make_opener();
  const auto r = open_checked(opener, edited, start_time());
  if (edited == original) {
    check(
        r && r->payload &&
            std::equal(r->payload->begin(), r->payload->end(), plaintext.begin(), plaintext.end()),
        "an untouched sealed datagram did not open to its plaintext");
  } else {
    check(!r.has_value(), "an edited datagram was accepted as authentic");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Reader in(std::span<const uint8_t>(data + 1, size - 1));
  switch (
      static_cast<fz::DatagramMode>(data[0] % static_cast<uint8_t>(fz::DatagramMode::kModeCount))) {
    case fz::DatagramMode::kRaw:
      run_raw(in.rest());
      break;
    case fz::DatagramMode::kRawTrain:
      run_raw_train(in);
      break;
    case fz::DatagramMode::kFragments:
      run_fragments(in);
      break;
    case fz::DatagramMode::kSealerRoundTrip:
      run_sealer_round_trip(in);
      break;
    case fz::DatagramMode::kDecode:
      check_message(in.rest());
      break;
    case fz::DatagramMode::kTamper:
      run_tamper(in);
      break;
    case fz::DatagramMode::kModeCount:
      break;
  }
  return 0;
}
