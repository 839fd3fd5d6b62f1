#include "agent/engine/local_document.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "agent/base/bounded_json.h"
#include "agent/base/clock.h"
#include "agent/events/dotted_path.h"
#include "patch/json_patch.h"

namespace vigil::agent {

using json = nlohmann::json;

namespace {

// Throws std::invalid_argument when `doc` exceeds the document limits.
void check_limits(const json& doc) {
  if (json_depth(doc) > LocalDocument::kMaxDepth)
    throw std::invalid_argument("node document would nest deeper than " +
                                std::to_string(LocalDocument::kMaxDepth) + " levels");
  if (auto size = doc.dump().size(); size > LocalDocument::kMaxBytes)
    throw std::invalid_argument("node document would be " + std::to_string(size) +
                                " bytes, above the " + std::to_string(LocalDocument::kMaxBytes) +
                                "-byte limit");
}

// The fields the daemon owns: a change from a client may not write them
// (freeze and unfreeze write frozen and frozen_at).
constexpr const char* kDaemonFields[] = {"version", "boot_at", "frozen", "frozen_at"};

// Throws std::invalid_argument naming the path when `after` breaks the node
// document schema, or writes a field of the daemon that `before` holds.
void check_schema(const json& before, const json& after, bool freezing) {
  auto refuse = [](const std::string& path, const std::string& why) {
    throw std::invalid_argument(path + ": " + why);
  };
  if (!after.is_object())
    refuse("/", "the document root belongs to the daemon; write below /labels or /data");
  for (const auto& [key, value] : before.items())
    if (!after.contains(key)) refuse("/" + key, "a field of the document cannot be removed");
  for (const auto& [key, value] : after.items())
    if (!before.contains(key))
      refuse("/" + key,
             "not a field of the document; write below "
             "/labels or /data");
  for (const char* field : kDaemonFields) {
    const bool frozen_field = std::string_view(field).rfind("frozen", 0) == 0;
    if (after.at(field) != before.at(field) && !(freezing && frozen_field))
      refuse(std::string("/") + field,
             "written by the daemon only (node set and node patch write .labels and .data)");
  }
  const json& labels = after.at("labels");
  if (!labels.is_object()) refuse("/labels", "must be an object of strings");
  for (const auto& [key, value] : labels.items())
    if (!value.is_string()) refuse("/labels/" + key, "label values are strings");
  if (!after.at("data").is_object()) refuse("/data", "must be an object");
}

}  // namespace

LocalDocument::LocalDocument(boost::asio::io_context& io, json initial,
                             std::chrono::milliseconds commit_interval, Committed on_commit)
    : doc_(std::move(initial)),
      commit_interval_(commit_interval),
      on_commit_(std::move(on_commit)),
      timer_(io) {}

void LocalDocument::change(const NodeChange& change, std::function<void(uint64_t gen)> committed) {
  // Every change is tried on a copy first: a change that fails, or breaks the
  // limits, leaves the staging document untouched.
  patch::NodeDocument trial(doc_.staging(), 1);
  json ops;
  switch (change.kind) {
    case NodeChange::Kind::kPatch:
      if (!change.ops.is_array()) throw std::invalid_argument("expected an RFC 6902 patch array");
      ops = change.ops;
      trial.apply(ops);
      break;
    case NodeChange::Kind::kSet: {
      auto ptr = dotted_to_pointer(change.path);
      if (ptr.empty()) throw std::invalid_argument("path must name a key below the node");
      const std::string text = ptr.to_string();
      if (std::count(text.begin(), text.end(), '/') > kMaxDepth)
        throw std::invalid_argument("path has more than " + std::to_string(kMaxDepth) +
                                    " segments");
      trial.set(ptr, change.value);
      ops = patch::diff(doc_.staging(), trial.staging());
      break;
    }
    case NodeChange::Kind::kFreeze:
    case NodeChange::Kind::kUnfreeze: {
      const bool frozen = change.kind == NodeChange::Kind::kFreeze;
      if (doc_.staging().value("frozen", false) != frozen) {
        ops = {{{"op", "replace"}, {"path", "/frozen"}, {"value", frozen}},
               {{"op", "replace"},
                {"path", "/frozen_at"},
                {"value", frozen ? json(now_rfc3339()) : json()}}};
        trial.apply(ops);
      }
      break;
    }
  }
  if (ops.is_array() && !ops.empty()) {
    check_limits(trial.staging());
    check_schema(
        doc_.staging(), trial.staging(),
        change.kind == NodeChange::Kind::kFreeze || change.kind == NodeChange::Kind::kUnfreeze);
    doc_.apply(ops);
  }
  if (committed) waiters_.push_back(std::move(committed));
  schedule_commit();
}

void LocalDocument::stop() { timer_.cancel(); }

void LocalDocument::schedule_commit() {
  if (pending_) return;
  pending_ = true;
  timer_.expires_after(commit_interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) commit();
  });
}

void LocalDocument::commit() {
  pending_ = false;
  json before = doc_.committed();
  if (auto ops = doc_.commit()) on_commit_(before, *ops);
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) w(doc_.gen());
}

}  // namespace vigil::agent
