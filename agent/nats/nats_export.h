// The NATS exporter (README "NATS export"; seed 004, Mayastor's eventing
// over a NATS bus): the daemon feeds it every event of its bus (offer); it
// keeps those the [export.nats] filters match and that this node published
// itself (labels["from"] != "peer": each node exports what it publishes,
// as for webhooks), and publishes each to
//   <subject_prefix>.<cluster>.<node>.<kind>
// (in the cluster and node names, a character other than a letter, digit,
// '_' or '-' is written '_', an empty one is "_"), its payload the event
// JSON (events/event.h) plus "node" (this node) and "cluster".
//
// Guarantees and bounds:
//  - a bounded buffer (`buffer` events, config) holds every event not yet
//    known to be at the server; an event leaves it only when the server
//    proved it received it: core NATS, the PONG of a PING written after its
//    PUB (the server handles a connection's operations in order); with
//    jetstream, its ack ({"stream", "seq"}). A connection lost before that
//    proof leaves the event in the buffer, published again after the
//    reconnection: at least once, in order, duplicates possible (the event
//    id tells them apart; with jetstream, the header Nats-Msg-Id
//    "<node>-<boot>-<id>" lets the stream drop them within its duplicate
//    window);
//  - an event offered to a full buffer is dropped, counted, logged (at most
//    every drop_log_interval) and, once per overflow episode (it ends when
//    the buffer is back to half), SubscriptionQueueThreshold is published
//    {labels: subscriber="nats"; data: {"name": "nats", "dropped": <so
//    far>, "max": <buffer>}}; that event is not exported while the episode
//    lasts;
//  - core NATS itself is at most once: a subscriber that is not connected
//    when a message reaches the server does not get it (use jetstream for
//    storage);
//  - reconnection with exponential backoff and full jitter, from
//    backoff_min doubling to backoff_max, reset by a connection that
//    lasted; the daemon never waits on the server: every step is
//    asynchronous on the io_context thread.
// With jetstream, one publish is in flight at a time (order is kept): its
// ack is awaited for ack_timeout, then it is sent again; an error answer
// (no stream for the subject: a 503 no-responders status, or the
// JetStream error JSON) is reported in last_error and retried after the
// backoff, the event staying first in the buffer.
#ifndef VIGIL_AGENT_NATS_NATS_EXPORT_H_
#define VIGIL_AGENT_NATS_NATS_EXPORT_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "agent/base/blocking_worker.h"
#include "agent/config/config.h"
#include "agent/events/event.h"
#include "agent/events/event_filter.h"
#include "agent/nats/nats_client.h"

namespace vigil::agent::nats {

/// `<prefix>.<cluster>.<node>.<kind>`, the names made subject tokens as
/// described above.
std::string export_subject(const std::string& prefix, const std::string& cluster,
                           const std::string& node, const std::string& kind);

class Exporter {
 public:
  struct Options {
    std::chrono::milliseconds backoff_min{100};    // first reconnect delay
    std::chrono::milliseconds backoff_max{30000};  // reconnect delay ceiling
    std::chrono::milliseconds ack_timeout{5000};   // a JetStream ack, then sent again
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds ping_interval{5000};
    std::chrono::milliseconds drop_log_interval{30000};
    std::chrono::milliseconds stop_flush{2000};  // stop(): time given to publish the buffer
    std::size_t batch = 1024;                    // core NATS: events written per PING/PONG round
  };
  /// Publishes one event on the daemon's bus (the overflow event).
  using Publish = std::function<void(Event)>;

  /// Starts: loads the TLS context (the CA store) on a worker of its own,
  /// then connects. `config` must be a valid [export.nats] table
  /// (config.h); `publish` may be empty.
  Exporter(boost::asio::io_context& io, const NatsExportConfig& config, std::string node,
           std::string cluster, Publish publish, Options options);
  Exporter(boost::asio::io_context& io, const NatsExportConfig& config, std::string node,
           std::string cluster, Publish publish)
      : Exporter(io, config, std::move(node), std::move(cluster), std::move(publish), Options{}) {}
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  /// An event of the bus: buffered for publication when the filters match
  /// and it is this node's own.
  void offer(const Event& e);
  /// False when the filters cannot match an event of `kind`
  /// (EventFilterSet::may_match), or once stopping: the listener's interest
  /// (EventBus::KindInterest).
  bool wants(std::string_view kind) const;

  /// {"url", "connected": bool, "server": {"name", "id", "version",
  ///  "jetstream"} | null, "buffered", "published", "acked", "dropped",
  ///  "reconnects", "last_error": "..." | null, "last_error_at": RFC 3339 |
  ///  null, "jetstream": bool, "subject_prefix", "buffer": <max>}.
  /// published counts events the server proved it received; acked, those
  /// a JetStream stream stored.
  nlohmann::json status() const;

  /// Clean stop: no reconnection; when connected, the buffer is given
  /// stop_flush to be published; then the connection closes and `done`
  /// runs once (on the io_context, never from inside stop()).
  void stop(std::function<void()> done);

  /// The cluster's name changed (a join): events offered from now on carry
  /// it, in their subject and payload.
  void set_cluster(std::string cluster) { cluster_ = std::move(cluster); }

  /// The events held (tests).
  std::size_t buffered() const { return buffer_.size(); }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Item {
    uint64_t id;
    std::string subject;
    std::string payload;
  };

  void connect();
  void connected(const ServerInfo& info);
  void closed(const std::string& error);
  void schedule_reconnect();
  void pump();
  void flushed(uint64_t n);
  void jetstream_answer(const RequestResult& r);
  void error(std::string text);
  void overflow();
  void finish_stop();

  boost::asio::io_context& io_;
  const NatsExportConfig config_;
  const std::string node_;
  std::string cluster_;
  Publish publish_;
  const Options options_;
  const std::string boot_;
  EventFilterSet filters_;
  BlockingWorker worker_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  bool tls_loaded_ = false;
  std::shared_ptr<Client> client_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer stop_timer_;
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point connected_at_{};
  std::mt19937_64 rng_;

  std::deque<Item> buffer_;
  std::size_t in_flight_ = 0;  // first events of buffer_ written, unproven
  uint64_t flush_waited_ = 0;  // the flush whose PONG proves them
  bool js_waiting_ = false;    // jetstream: the first event's ack is awaited

  uint64_t published_ = 0, acked_ = 0, dropped_ = 0, reconnects_ = 0;
  std::string last_error_, last_error_at_;
  bool overflowing_ = false;
  bool drop_logged_ = false;
  std::chrono::steady_clock::time_point last_drop_log_{};
  uint64_t drops_unlogged_ = 0;

  bool stopping_ = false;
  std::function<void()> stop_done_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::agent::nats

#endif  // VIGIL_AGENT_NATS_NATS_EXPORT_H_
