// The persisted FIFO of one webhook: the deliveries not yet acknowledged by
// the receiver, in order, in memory and in `<dir>/queue.log` (dir is
// `<var_dir>/webhooks/<webhook_id>/`, mode 0700; the log mode 0600).
//
// The log is append-only JSON lines, one record per line:
//   {"seq":12,"id":"n1-1764547200000-12","kind":"NodeStale","body":"{...}"}
//   {"ack":12}
// An entry record is one queued delivery (`body` is the JSON text sent, as
// a string); an ack record is the delivered cursor: every entry up to that
// seq was delivered. load() keeps the entries above the highest ack, in seq
// order, then rewrites the log with them alone (compaction, atomically); a
// torn last line (a crash during an append) or a corrupt record is skipped
// and counted, never fatal. While running, the log is compacted the same
// way once the delivered entries it holds reach compact_after and outnumber
// the live ones, so a rewrite costs no more than the appends it removes.
//
// Disk I/O runs on a BlockingWorker, never on the io_context thread: push()
// and pop_front() change memory at once and schedule a write (one job in
// flight; what comes meanwhile goes in the next job, so a burst is one
// write and one fdatasync).
//
// What a crash (not a clean stop, which flush()es) can do:
//  - lose the entries pushed since the last write finished: the ones in
//    memory, not yet on disk (one batch, usually milliseconds of events);
//  - repeat the entries delivered since the last ack record was written:
//    they are sent again after the restart, with the same delivery id
//    (X-Vigil-Delivery), by which the receiver drops the duplicate.
#ifndef VIGIL_AGENT_WEBHOOKS_WEBHOOK_QUEUE_H_
#define VIGIL_AGENT_WEBHOOKS_WEBHOOK_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "agent/base/blocking_worker.h"

namespace vigil::agent {

/// One queued delivery.
struct QueuedDelivery {
  /// Order in this queue: 1, 2, 3..., increasing across restarts.
  uint64_t seq = 0;
  /// The delivery id (X-Vigil-Delivery), printable ASCII, at most 256 bytes.
  std::string id;
  /// The event kind (X-Vigil-Event).
  std::string kind;
  /// The JSON text of the request body.
  std::string body;
};

/// What load() found.
struct QueueLoadReport {
  std::size_t loaded = 0;   // entries kept (not yet delivered), in order
  std::size_t skipped = 0;  // torn or corrupt lines skipped
  std::size_t over = 0;     // entries beyond `max` dropped (the oldest are kept),
                            // pushes made before the load included
  /// "" or why the log could not be read or rewritten ("<path>: <reason>");
  /// the queue then starts empty, and an unreadable log is renamed
  /// queue.log.bad so that the next start does not trip on it.
  std::string error;
};

class WebhookQueue {
 public:
  struct Options {
    /// Deliveries the queue holds at most; push() drops the new one beyond.
    std::size_t max = 10000;
    /// Delivered entries in the log that allow a compaction.
    std::size_t compact_after = 1024;
    /// The largest log load() reads, bytes; a larger one is set aside.
    std::size_t max_log_bytes = std::size_t{256} << 20;
  };

  /// `worker` must outlive the queue. Nothing is read before load().
  WebhookQueue(BlockingWorker& worker, std::filesystem::path dir, Options opts);
  /// Writes not yet done may be lost (a clean stop calls flush() first).
  ~WebhookQueue();
  WebhookQueue(const WebhookQueue&) = delete;
  WebhookQueue& operator=(const WebhookQueue&) = delete;

  /// Creates the directory (mode 0700), reads and compacts the log on the
  /// worker; `done` runs on the io_context. Deliveries pushed before it
  /// completes are kept in memory and come after the loaded ones.
  void load(std::function<void(const QueueLoadReport&)> done);
  bool loaded() const;

  /// Appends a delivery; false when the queue holds `max` already (it is
  /// dropped: the caller counts it). Never blocks.
  bool push(std::string id, std::string kind, std::string body);

  /// Deliveries held: before the load completes, only those pushed since.
  std::size_t size() const;
  std::size_t max() const;
  /// The oldest delivery, or nullptr when empty or not loaded yet.
  const QueuedDelivery* front() const;
  /// The front was delivered: removes it and records the ack.
  void pop_front();

  /// `done` runs on the io_context once everything pushed and popped so far
  /// is written (or its write failed: see write_errors()).
  void flush(std::function<void()> done);

  /// Deletes the directory on the worker after the writes already
  /// scheduled; `done` (may be empty) runs on the io_context after it. The
  /// queue may be destroyed at once; it takes no more pushes.
  void remove(std::function<void(const std::string& error)> done);

  /// Log writes that failed, and the last such error ("" when none).
  uint64_t write_errors() const;
  const std::string& last_write_error() const;

 private:
  struct State;
  /// Starts the next log write when one is due and none is in flight.
  static void schedule_state(const std::shared_ptr<State>& state);
  std::shared_ptr<State> state_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_WEBHOOKS_WEBHOOK_QUEUE_H_
