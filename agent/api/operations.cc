#include "agent/api/operations.h"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "agent/base/clock.h"

namespace vigil::agent {

using json = nlohmann::json;

namespace {

const char* state_name(int state) {
  static constexpr std::array<const char*, 3> kNames{"running", "succeeded", "failed"};
  return kNames.at(static_cast<std::size_t>(state));
}

Operations::Answer unknown(std::string_view id) {
  // The id is echoed only when it has the shape of one: a path is the
  // client's and may hold anything.
  return {404,
          {{"error", Operations::valid_id(id)
                         ? "no operation " + std::string(id) +
                               " (unknown, or expired 10 minutes "
                               "after it ended)"
                         : std::string("no such operation: an id is 32 lowercase hex digits")}},
          {}};
}

}  // namespace

Operations::Operations() : Operations(Options{}) {}

Operations::Operations(Options options) : options_(std::move(options)) {
  if (!options_.now) options_.now = [] { return Clock::now(); };
  if (!options_.make_id) options_.make_id = random_id;
  options_.max_operations = std::max<std::size_t>(options_.max_operations, 1);
}

std::string Operations::location(const std::string& id) { return std::string(kQueuePrefix) + id; }

bool Operations::valid_id(std::string_view text) {
  return text.size() == kIdHexDigits && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Operations::random_id() {
  std::array<unsigned char, kIdHexDigits / 2> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, kIdHexDigits + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  return std::string(hex.data(), kIdHexDigits);
}

void Operations::expire() {
  const auto now = options_.now();
  for (auto it = ops_.begin(); it != ops_.end();) {
    if (it->second.state != State::kRunning && now - it->second.ended >= options_.retention)
      it = ops_.erase(it);
    else
      ++it;
  }
}

std::size_t Operations::size() {
  expire();
  return ops_.size();
}

std::optional<std::string> Operations::start(std::string op, std::string progress) {
  expire();
  if (ops_.size() >= options_.max_operations) {
    // Drop the finished operation that ended first; none: every one runs.
    auto oldest = ops_.end();
    for (auto it = ops_.begin(); it != ops_.end(); ++it)
      if (it->second.state != State::kRunning &&
          (oldest == ops_.end() || it->second.ended < oldest->second.ended))
        oldest = it;
    if (oldest == ops_.end()) return std::nullopt;
    ops_.erase(oldest);
  }
  std::string id = options_.make_id();
  while (!valid_id(id) || ops_.count(id)) id = random_id();  // a bad or colliding injected id
  Operation& o = ops_[id];
  o.op = std::move(op);
  o.progress = std::move(progress);
  o.started = options_.now();
  o.started_at = now_rfc3339();
  return id;
}

void Operations::progress(const std::string& id, std::string text) {
  auto it = ops_.find(id);
  if (it != ops_.end() && it->second.state == State::kRunning)
    it->second.progress = std::move(text);
}

void Operations::finish(const std::string& id, int status, json answer) {
  auto it = ops_.find(id);
  if (it == ops_.end() || it->second.state != State::kRunning) return;
  Operation& o = it->second;
  o.state = status / 100 == 2 ? State::kSucceeded : State::kFailed;
  o.status = status;
  o.answer = std::move(answer);
  o.ended = options_.now();
  o.ended_at = now_rfc3339();
  o.progress = o.state == State::kSucceeded ? "done" : "failed";
}

json Operations::describe(const std::string& id, const Operation& o) const {
  json j = {{"id", id},
            {"op", o.op},
            {"state", state_name(static_cast<int>(o.state))},
            {"started_at", o.started_at},
            {"progress", o.progress}};
  if (o.state == State::kRunning) {
    j["elapsed_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.now() - o.started).count();
    return j;
  }
  j["ended_at"] = o.ended_at;
  j["status"] = o.status;
  return j;
}

Operations::Answer Operations::poll(const std::string& id) {
  expire();
  auto it = valid_id(id) ? ops_.find(id) : ops_.end();
  if (it == ops_.end()) return unknown(id);
  const Operation& o = it->second;
  json body = describe(id, o);
  switch (o.state) {
    case State::kRunning:
      return {200, std::move(body), {{"X-Pending", "true"}}};
    case State::kSucceeded: {
      const std::string where = location(id) + "/result";
      body["location"] = where;
      return {303, std::move(body), {{"Location", where}}};
    }
    case State::kFailed:
      body["error"] =
          o.answer.is_object() && o.answer.contains("error") && o.answer["error"].is_string()
              ? o.answer["error"].get<std::string>()
              : o.op + " failed with status " + std::to_string(o.status);
      body["result"] = o.answer;
      return {500, std::move(body), {}};
  }
  return unknown(id);
}

Operations::Answer Operations::result(const std::string& id) {
  expire();
  auto it = valid_id(id) ? ops_.find(id) : ops_.end();
  if (it == ops_.end()) return unknown(id);
  const Operation& o = it->second;
  if (o.state == State::kRunning)
    return {
        409, {{"error", "operation " + id + " is still running"}, {"location", location(id)}}, {}};
  return {o.status, o.answer, {}};
}

Operations::Answer Operations::get(std::string_view path) {
  if (path.substr(0, kQueuePrefix.size()) != kQueuePrefix) return unknown("");
  std::string_view rest = path.substr(kQueuePrefix.size());
  constexpr std::string_view kResult = "/result";
  if (rest.size() == kIdHexDigits) return poll(std::string(rest));
  if (rest.size() == kIdHexDigits + kResult.size() && rest.substr(kIdHexDigits) == kResult)
    return result(std::string(rest.substr(0, kIdHexDigits)));
  return unknown("");
}

}  // namespace vigil::agent
