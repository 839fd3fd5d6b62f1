// Asynchronous operations (seed 003, Heketi "Asynchronous Operations"). A
// route whose work takes time (hb rotate, cluster join, leave, forget,
// webhook test) registers an operation here and answers at once
//   202 Accepted, Location: /v1/queue/<id>          (RFC 9110 §15.3.3)
// then GET on that location answers, from poll():
//   running    200, X-Pending: true, {"id", "op", "state": "running",
//              "started_at", "elapsed_ms", "progress"}
//   succeeded  303 See Other, Location: /v1/queue/<id>/result (RFC 9110
//              §15.4.4), {"id", "op", "state": "succeeded", "started_at",
//              "ended_at", "status", "location"}
//   failed     500 {"id", "op", "state": "failed", "started_at", "ended_at",
//              "status": the operation's own status (409, 504...), "error":
//              its message, "result": its own JSON answer}
//   unknown    404 {"error"}: a malformed id, one never started, or expired.
// GET /v1/queue/<id>/result (result()) answers an ended operation's own
// status and JSON, as the synchronous route answered it; 409 while it runs.
//
// Bounds: an operation is kept `retention` (10 minutes) after it ends; at
// most `max_operations` (1,000) are held. A start when full drops the
// finished operation that ended first; when every held one is running the
// start is refused (the route answers 503). A running operation is never
// dropped: it ends with its backend's own timeout.
// Ids: 32 lowercase hex digits, 128 bits from libsodium's randombytes_buf:
// an id cannot be guessed, so knowing it is what lets a client read it.
// Runs on the daemon's io_context thread (no lock). Steady time comes from
// the injected clock (expiry); wall time only for started_at and ended_at,
// which people read.
#ifndef VIGIL_AGENT_API_OPERATIONS_H_
#define VIGIL_AGENT_API_OPERATIONS_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::agent {

class Operations {
 public:
  using Clock = std::chrono::steady_clock;
  using Headers = std::vector<std::pair<std::string, std::string>>;

  /// Where operations live: GET kQueuePrefix + id.
  static constexpr std::string_view kQueuePrefix = "/v1/queue/";
  static constexpr std::size_t kIdHexDigits = 32;  // 128 random bits
  static constexpr std::chrono::minutes kRetention{10};
  static constexpr std::size_t kMaxOperations = 1000;

  struct Options {
    std::chrono::milliseconds retention = kRetention;  // kept after the end
    std::size_t max_operations = kMaxOperations;       // held at once, 1 or more
    /// Steady time, for expiry (tests inject a fake one).
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
    /// A new id (tests inject predictable ones); default random_id().
    std::function<std::string()> make_id;
  };

  /// An HTTP answer: status, JSON body, headers.
  struct Answer {
    int status = 0;
    nlohmann::json body;
    Headers headers;
  };

  Operations();  // the defaults of Options
  explicit Operations(Options options);

  /// Registers a running operation: `op` names it for people ("hb rotate"),
  /// `progress` says what it does now. Returns its id, or nullopt when
  /// max_operations are held and all of them run.
  std::optional<std::string> start(std::string op, std::string progress);
  /// A new progress text for a running operation; ignored for an ended or
  /// unknown one.
  void progress(const std::string& id, std::string text);
  /// Ends an operation with its own answer: a 2xx status succeeded, any
  /// other failed. Only the first call counts; an unknown id is ignored.
  void finish(const std::string& id, int status, nlohmann::json answer);

  /// GET /v1/queue/<id>: the answers of the table above. `id` is the path
  /// segment as received, checked here (404 unless valid_id()).
  Answer poll(const std::string& id);
  /// GET /v1/queue/<id>/result: the operation's own status and JSON once it
  /// ended; 409 {"error", "location"} while it runs; 404 unknown.
  Answer result(const std::string& id);
  /// Routes a path below kQueuePrefix ("<id>" or "<id>/result") to poll()
  /// or result(); 404 for anything else.
  Answer get(std::string_view path);

  /// Operations held, after dropping the expired ones.
  std::size_t size();

  /// "/v1/queue/<id>".
  static std::string location(const std::string& id);
  /// True for exactly kIdHexDigits lowercase hex digits.
  static bool valid_id(std::string_view text);
  /// 128 bits from randombytes_buf, as 32 lowercase hex digits.
  static std::string random_id();

 private:
  enum class State { kRunning, kSucceeded, kFailed };
  struct Operation {
    std::string op, progress;
    State state = State::kRunning;
    std::string started_at, ended_at;  // RFC 3339 UTC ("" while running)
    Clock::time_point started{}, ended{};
    int status = 0;         // its own status once ended
    nlohmann::json answer;  // its own JSON once ended
  };

  void expire();
  nlohmann::json describe(const std::string& id, const Operation& op) const;

  Options options_;
  std::unordered_map<std::string, Operation> ops_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_OPERATIONS_H_
