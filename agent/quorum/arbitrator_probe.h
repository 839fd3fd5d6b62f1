// One reachability check of an arbitrator, on the daemon's io_context.
//
// An arbitrator is a third party that casts votes in split analysis (DESIGN
// "Membership"): a node that still reaches it counts its weight. The probe
// never blocks the io_context thread: name resolution, connect, request and
// answer are asynchronous, and bounded together by one timeout.
#ifndef VIGIL_AGENT_QUORUM_ARBITRATOR_PROBE_H_
#define VIGIL_AGENT_QUORUM_ARBITRATOR_PROBE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "agent/config/arbitrator_uri.h"

namespace vigil::agent {

/// The outcome of one check.
struct ArbitratorCheck {
  bool reachable = false;
  /// Empty when reachable; else why not, for people: "connect 127.0.0.1:9: Connection
  /// refused", "timeout after 1000 ms", "GET /health: status 503".
  std::string error;
  std::chrono::milliseconds took{0};  // from check() to the outcome
};

class ArbitratorProbe {
 public:
  using Done = std::function<void(const ArbitratorCheck&)>;

  /// `timeout` > 0 bounds each whole check (resolve, connect, request,
  /// answer). Throws std::invalid_argument otherwise.
  ArbitratorProbe(boost::asio::io_context& io, ArbitratorUri uri,
                  std::chrono::milliseconds timeout);
  /// Cancels a check in progress; its `done` is then never called.
  ~ArbitratorProbe();
  ArbitratorProbe(const ArbitratorProbe&) = delete;
  ArbitratorProbe& operator=(const ArbitratorProbe&) = delete;

  /// Starts a check. `done` runs exactly once, on the io_context thread,
  /// never from inside check(), at the latest shortly after the timeout. A
  /// check started while one is in progress joins it: both get its outcome.
  void check(Done done);

  const ArbitratorUri& uri() const { return uri_; }

 private:
  struct Run;
  boost::asio::io_context& io_;
  ArbitratorUri uri_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<Run> running_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_QUORUM_ARBITRATOR_PROBE_H_
