// The SSE event streams of GET/POST /v1/events (seed 001 "Event
// Subscription"): each client is a bus subscriber (events/event_bus.h) with
// its filters, fed as Server-Sent Events.
//   - Back-pressure: a client with more than kBacklogBytes unwritten is not
//     fed more; its bus queue then fills and the bus drops it
//     (SubscriptionError).
//   - A keep-alive comment every kKeepAlive, so idle streams stay open.
//   - A client that has read nothing for kStallLimit while bytes wait for it
//     is dropped.
//   - At most `max_subscribers` streams at once; one more gets 503.
// Runs on the daemon's io_context thread.
#ifndef VIGIL_AGENT_API_EVENT_STREAM_H_
#define VIGIL_AGENT_API_EVENT_STREAM_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "agent/api/api_server.h"
#include "agent/events/event_filter.h"

namespace vigil::agent {

class EventBus;

class EventStreams {
 public:
  static constexpr std::size_t kBacklogBytes = 256 * 1024;
  static constexpr std::chrono::seconds kKeepAlive{15};
  static constexpr std::chrono::seconds kStallLimit{60};

  EventStreams(boost::asio::io_context& io, EventBus& bus, std::size_t max_subscribers);
  ~EventStreams();

  /// A config reload: at most `max_subscribers` streams from now on;
  /// streams open beyond it stay open.
  void set_max(std::size_t max_subscribers) { max_ = max_subscribers; }

  /// Turns `ex` into a stream of the events matching `filters` (empty: all).
  void open(const std::shared_ptr<ApiExchange>& ex, EventFilterSet filters);

 private:
  struct Stream;
  boost::asio::io_context& io_;
  EventBus& bus_;
  std::size_t max_;
  uint64_t seq_ = 0;
  std::shared_ptr<std::size_t> open_ = std::make_shared<std::size_t>(0);
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_EVENT_STREAM_H_
