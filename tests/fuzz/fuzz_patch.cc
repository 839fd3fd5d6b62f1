// libFuzzer target for the RFC 6902 apply path (vigil::patch::apply_patch)
// and the way membership uses it.
//
// Input: document JSON text, a 0 byte, patch JSON text. Both are parsed with
// nlohmann::json::parse without exceptions; inputs where either does not
// parse, or without the 0 byte, are ignored.
//
// What is checked, beyond the sanitizers (address, undefined behaviour):
//  - apply_patch throws nothing but PatchError;
//  - on PatchError the document is unchanged (same value, same text);
//  - on success the result is valid JSON whose text survives dump/parse/dump;
//  - a patch apply_patch accepts gives the same result under nlohmann's own
//    json::patch, the reference apply_patch is stricter than;
//  - membership use: a NodeDocument built from the document reaches the same
//    staging copy, and the delta its commit() journals, sent through the
//    heartbeat codec as a patch message and applied to a replica of the old
//    document (as a peer's replicator does), reproduces the committed
//    document; a full message of it round-trips too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "heartbeat/message.h"
#include "patch/json_patch.h"
#include "patch/node_document.h"

namespace {

using nlohmann::json;
using vigil::patch::PatchError;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_patch: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

// apply_patch with its exception contract checked. Returns false on
// PatchError, after checking the document was left as it was.
bool apply_checked(json& doc, const json& ops) {
  const json before = doc;
  const std::string before_text = doc.dump();
  try {
    vigil::patch::apply_patch(doc, ops);
    return true;
  } catch (const PatchError&) {
    check(doc == before && doc.dump() == before_text, "a failed patch changed the document");
    return false;
  } catch (const std::exception& e) {
    fail("apply_patch threw an exception other than PatchError", e.what());
  }
}

// The membership path for a patch that applied: NodeDocument commit, the
// heartbeat codec, and a replica applying the journaled delta.
void check_replication(const json& before, const json& ops, const json& result) {
  vigil::patch::NodeDocument node(before);
  try {
    node.apply(ops);
  } catch (const std::exception& e) {
    fail("NodeDocument::apply refused a patch apply_patch accepted", e.what());
  }
  check(node.staging() == result, "NodeDocument staging differs from apply_patch's result");
  const std::optional<json> delta = node.commit();
  check(node.committed() == result, "NodeDocument committed copy differs after commit");
  if (!delta) {
    check(before == result, "commit() made no delta for a changed document");
    return;
  }
  check(node.gen() == 2, "the first commit did not make gen 2");

  json replica = before;
  if (!apply_checked(replica, *delta)) fail("a peer replica refused the journaled delta");
  check(replica == result, "the journaled delta does not reproduce the committed document");

  // Over the wire: a patch message carrying the delta, and a full message.
  using vigil::heartbeat::Message;
  using vigil::heartbeat::MessageKind;
  Message patch_msg;
  patch_msg.kind = MessageKind::kPatch;
  patch_msg.gens = {{"n1", 2}, {"n2", 0}};
  patch_msg.deltas.push_back({2, *delta});
  Message full_msg;
  full_msg.kind = MessageKind::kFull;
  full_msg.gens = patch_msg.gens;
  full_msg.full_gen = 2;
  full_msg.full = result;
  for (const Message* msg : {&patch_msg, &full_msg}) {
    std::vector<uint8_t> bytes;
    try {
      bytes = vigil::heartbeat::encode(*msg);
    } catch (const std::invalid_argument&) {
      // Nesting deeper than heartbeat::kMaxDepth has no wire form; the agent
      // refuses such local changes before they are committed.
      continue;
    }
    Message back;
    try {
      back = vigil::heartbeat::decode(bytes);
    } catch (const std::exception& e) {
      fail("decode refused what encode produced", e.what());
    }
    if (msg->kind == MessageKind::kFull) {
      check(back.full.dump() == result.dump(), "a full message changed the document");
      continue;
    }
    check(back.deltas.size() == 1 && back.deltas[0].gen == 2, "a patch message lost its delta");
    check(back.deltas[0].ops.dump() == delta->dump(), "a patch message changed the delta");
    json wire_replica = before;
    if (!apply_checked(wire_replica, back.deltas[0].ops)) {
      fail("a peer replica refused the delta received over the wire");
    }
    // Text, not value, comparison: non-finite floats travel as nil, as they
    // print as null in JSON text.
    check(wire_replica.dump() == result.dump(),
          "the delta received over the wire gives another document");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const char* text = reinterpret_cast<const char*>(data);
  const void* zero = std::memchr(data, 0, size);
  if (zero == nullptr) return 0;
  const std::size_t split = static_cast<const uint8_t*>(zero) - data;
  const json doc = json::parse(std::string_view(text, split), nullptr, false);
  const json ops =
      json::parse(std::string_view(text + split + 1, size - split - 1), nullptr, false);
  if (doc.is_discarded() || ops.is_discarded()) return 0;

  json result = doc;
  if (!apply_checked(result, ops)) return 0;

  const std::string result_text = result.dump();
  const json reparsed = json::parse(result_text, nullptr, false);
  check(!reparsed.is_discarded(), "the patched document does not dump as valid JSON");
  check(reparsed.dump() == result_text, "the patched document does not survive dump/parse");

  json reference = doc;
  try {
    reference.patch_inplace(ops);
  } catch (const json::exception& e) {
    fail("nlohmann's json::patch refused a patch apply_patch accepted", e.what());
  }
  check(reference == result, "apply_patch and nlohmann's json::patch disagree");

  check_replication(doc, ops, result);
  return 0;
}
