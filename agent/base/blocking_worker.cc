#include "agent/base/blocking_worker.h"

#include <atomic>
#include <exception>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace vigil::agent {

struct BlockingWorker::State {
  explicit State(boost::asio::io_context& io) : io(io), pool(1) {}
  boost::asio::io_context& io;
  boost::asio::thread_pool pool;  // one thread: jobs run in order
  std::atomic<bool> stopped{false};
};

BlockingWorker::BlockingWorker(boost::asio::io_context& io) : state_(std::make_shared<State>(io)) {}

BlockingWorker::~BlockingWorker() {
  state_->stopped = true;
  state_->pool.stop();
  state_->pool.join();
}

void BlockingWorker::submit(Job job, Done done) {
  boost::asio::post(state_->pool, [weak = std::weak_ptr<State>(state_), job = std::move(job),
                                   done = std::move(done)]() mutable {
    auto state = weak.lock();
    if (!state || state->stopped) return;
    std::string error;
    try {
      job();
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "failed";
    } catch (...) {
      error = "unknown error";
    }
    boost::asio::post(state->io, [weak, error = std::move(error), done = std::move(done)] {
      auto state = weak.lock();
      if (state && !state->stopped && done) done(error);
    });
  });
}

}  // namespace vigil::agent
