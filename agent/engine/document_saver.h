// Saves this node's document after each commit without blocking the protocol
// thread: the write runs on the BlockingWorker, at most one at a time, and a
// document committed while a write is in flight waits for it; a newer one
// replaces it (the latest wins, so a burst of commits costs two writes).
// Each save() is numbered, and callers may wait until the write that covers
// their save (its own, or a later one that replaced it) is done.
// Runs on the daemon's io_context thread.
#ifndef VIGIL_AGENT_ENGINE_DOCUMENT_SAVER_H_
#define VIGIL_AGENT_ENGINE_DOCUMENT_SAVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/base/blocking_worker.h"

namespace vigil::agent {

class DocumentSaver {
 public:
  /// Writes one document; runs on the worker thread and throws on failure
  /// (engine/node_file.h: save_node_file).
  using Write = std::function<void(const nlohmann::json& doc)>;

  /// `worker` must outlive the saver. `what` names the file in log lines.
  DocumentSaver(BlockingWorker& worker, Write write, std::string what);

  /// Saves `doc`: at once when no write is in flight, otherwise once the
  /// write in flight is done, unless a later save() replaces it first. A
  /// failed write is logged (error) and counted; the next save tries again.
  /// Returns the number of this save (1, 2, 3...).
  uint64_t save(nlohmann::json doc);

  /// The number of the last save() (0 before the first).
  uint64_t last() const { return saved_; }

  /// `done` runs on the io_context once the write covering save number
  /// `number` is over (written or failed); at once when it already is.
  void when_saved(uint64_t number, std::function<void()> done);

  /// when_saved(last(), done): every document given so far is written.
  void flush(std::function<void()> done) { when_saved(last(), std::move(done)); }

  /// Writes finished, and writes that failed, since the start.
  uint64_t written() const { return written_; }
  uint64_t failed() const { return failed_; }

 private:
  void start(nlohmann::json doc, uint64_t number);
  void finished(uint64_t number, const std::string& error);

  BlockingWorker& worker_;
  Write write_;
  std::string what_;
  uint64_t saved_ = 0;  // numbers given by save()
  uint64_t done_ = 0;   // every save up to this number is over
  bool in_flight_ = false;
  std::optional<std::pair<uint64_t, nlohmann::json>> waiting_;  // number, document
  std::multimap<uint64_t, std::function<void()>> waiters_;      // by save number
  uint64_t written_ = 0, failed_ = 0;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_DOCUMENT_SAVER_H_
