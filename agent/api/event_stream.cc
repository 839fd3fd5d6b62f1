#include "agent/api/event_stream.h"

#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/events/event_bus.h"

namespace vigil::agent {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// One client: its subscription, the timer that retries a drain held back by
// back-pressure, and the keep-alive timer.
struct EventStreams::Stream : std::enable_shared_from_this<Stream> {
  Stream(asio::io_context& io, EventBus& bus, std::weak_ptr<ApiExchange> ex,
         std::weak_ptr<bool> owner_alive)
      : bus(bus), exchange(std::move(ex)), retry(io), keep_alive(io), alive(owner_alive) {}

  void drain() {
    auto ex = exchange.lock();
    if (!ex || ex->closed() || alive.expired()) return;
    if (ex->queued_bytes() > kBacklogBytes) {
      retry.expires_after(milliseconds(50));
      retry.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto s = weak.lock(); s && !ec) s->drain();
      });
      return;
    }
    for (const auto& q : bus.drain(id)) ex->send_event(q->kind, q->json);
  }

  void tick() {
    keep_alive.expires_after(kKeepAlive);
    keep_alive.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto s = weak.lock();
      if (!s || ec || s->alive.expired()) return;
      auto ex = s->exchange.lock();
      if (!ex || ex->closed()) return;
      if (ex->queued_bytes() > 0 && ApiExchange::Clock::now() - ex->last_progress() > kStallLimit)
        return ex->close();  // a client that reads nothing
      ex->send_comment("keep-alive");
      s->tick();
    });
  }

  EventBus& bus;
  std::weak_ptr<ApiExchange> exchange;
  EventBus::SubscriberId id = 0;
  asio::steady_timer retry, keep_alive;
  std::weak_ptr<bool> alive;
};

EventStreams::EventStreams(asio::io_context& io, EventBus& bus, std::size_t max_subscribers)
    : io_(io), bus_(bus), max_(max_subscribers) {}

EventStreams::~EventStreams() { *alive_ = false; }

void EventStreams::open(const std::shared_ptr<ApiExchange>& ex, EventFilterSet filters) {
  if (*open_ >= max_)
    return ex->reply(503, {{"error", "too many event streams (" + std::to_string(max_) + ")"}});
  auto stream = std::make_shared<Stream>(io_, bus_, ex, alive_);
  ++*open_;
  ex->start_stream();
  std::weak_ptr<Stream> weak = stream;
  stream->id = bus_.subscribe(
      "api#" + std::to_string(++seq_), std::move(filters),
      [this, weak] {
        asio::post(io_, [weak] {
          if (auto s = weak.lock()) s->drain();
        });
      },
      [this, weak] {
        // Dropped by the bus for a full queue: close outside the bus's delivery.
        asio::post(io_, [weak] {
          if (auto s = weak.lock())
            if (auto ex = s->exchange.lock()) ex->close();
        });
      });
  stream->tick();
  // The exchange owns its stream until it closes.
  ex->on_close([stream, open = open_] {
    --*open;
    stream->retry.cancel();
    stream->keep_alive.cancel();
    if (!stream->alive.expired()) stream->bus.unsubscribe(stream->id);
  });
}

}  // namespace vigil::agent
