// This node's own document and its commit tick (DESIGN.md, "The gen
// protocol"). Local changes go to the staging copy; the first change after a
// commit arms a timer of `commit_interval`, and the tick turns everything
// staged since into one RFC 6902 delta, the next gen. Runs on the daemon's
// io_context thread.
#ifndef VIGIL_AGENT_ENGINE_LOCAL_DOCUMENT_H_
#define VIGIL_AGENT_ENGINE_LOCAL_DOCUMENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "agent/base/node_change.h"
#include "patch/node_document.h"

namespace vigil::agent {

class LocalDocument {
 public:
  /// Limits on the document, so that a full always fits one message
  /// (heartbeat/message.h nests at most 64 levels; reassembly takes 1 MiB).
  static constexpr int kMaxDepth = 48;                  // levels of nesting
  static constexpr std::size_t kMaxBytes = 512 * 1024;  // serialized size, bytes

  /// After a commit that changed the document: the committed document
  /// before it, and the delta (the new gen is document().gen()).
  using Committed = std::function<void(const nlohmann::json& before, const nlohmann::json& ops)>;

  /// Starts at gen 1 with `initial`.
  LocalDocument(boost::asio::io_context& io, nlohmann::json initial,
                std::chrono::milliseconds commit_interval, Committed on_commit);

  /// Applies `change` to the staging copy, after trying it on a copy first:
  /// a change that fails leaves the document untouched. Throws
  /// std::invalid_argument (a bad dotted path, a path of more than kMaxDepth
  /// segments, a document over the limits above, or one that breaks the
  /// schema: the root and `version`, `boot_at`, `frozen`, `frozen_at` belong
  /// to the daemon, `.labels` holds strings, `.data` is an object; what()
  /// starts with the offending path) or patch::PatchError (a patch that does
  /// not apply); what() is meant for the client. Otherwise `committed(gen)`
  /// runs after the next commit tick.
  void change(const NodeChange& change, std::function<void(uint64_t gen)> committed);

  const patch::NodeDocument& document() const { return doc_; }
  patch::NodeDocument& document() { return doc_; }

  /// Cancels a pending commit tick.
  void stop();

 private:
  void schedule_commit();
  void commit();

  patch::NodeDocument doc_;
  std::chrono::milliseconds commit_interval_;
  Committed on_commit_;
  boost::asio::steady_timer timer_;
  bool pending_ = false;
  std::vector<std::function<void(uint64_t)>> waiters_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_LOCAL_DOCUMENT_H_
