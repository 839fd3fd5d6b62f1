// Blocking work (disk writes with fsync, later DNS or fork) kept off the
// io_context thread that owns protocol state (DESIGN.md, Threading): one
// worker thread runs the jobs in the order given, and each job's completion
// is posted back to the io_context, where it runs like any other handler.
#ifndef VIGIL_AGENT_BASE_BLOCKING_WORKER_H_
#define VIGIL_AGENT_BASE_BLOCKING_WORKER_H_

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace vigil::agent {

class BlockingWorker {
 public:
  /// `job` runs on the worker; an exception it throws becomes `error`.
  using Job = std::function<void()>;
  /// Runs on the io_context: `error` is empty after success, else what().
  using Done = std::function<void(const std::string& error)>;

  explicit BlockingWorker(boost::asio::io_context& io);
  /// Waits for the job in progress (a blocked one is not interrupted) and
  /// drops the ones not started; their completions never run.
  ~BlockingWorker();
  BlockingWorker(const BlockingWorker&) = delete;
  BlockingWorker& operator=(const BlockingWorker&) = delete;

  /// Queues `job`; `done` runs on the io_context after it, unless the worker
  /// is destroyed first.
  void submit(Job job, Done done);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_BASE_BLOCKING_WORKER_H_
