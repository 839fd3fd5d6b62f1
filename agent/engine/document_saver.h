// Saves this node's document after each commit without blocking the protocol
// thread: the write runs on the BlockingWorker, at most one at a time, and a
// document committed while a write is in flight waits for it; a newer one
// replaces it (the latest wins, so a burst of commits costs two writes).
// Runs on the daemon's io_context thread.
#ifndef VIGIL_AGENT_ENGINE_DOCUMENT_SAVER_H_
#define VIGIL_AGENT_ENGINE_DOCUMENT_SAVER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

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
  void save(nlohmann::json doc);

  /// `done` runs on the io_context once every document given to save() so
  /// far was written or failed; at once when nothing is in flight.
  void flush(std::function<void()> done);

  /// Writes finished, and writes that failed, since the start.
  uint64_t written() const { return written_; }
  uint64_t failed() const { return failed_; }

 private:
  void start(nlohmann::json doc);
  void finished(const std::string& error);

  BlockingWorker& worker_;
  Write write_;
  std::string what_;
  bool in_flight_ = false;
  std::optional<nlohmann::json> waiting_;
  std::vector<std::function<void()>> flushes_;
  uint64_t written_ = 0, failed_ = 0;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_DOCUMENT_SAVER_H_
