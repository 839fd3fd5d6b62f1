#include "agent/webhooks/webhook_queue.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/base/bounded_json.h"
#include "agent/base/file.h"

namespace vigil::agent {
namespace {

constexpr const char* kLogName = "queue.log";
constexpr std::size_t kMaxIdBytes = 256;
constexpr std::size_t kMaxKindBytes = 128;

bool printable(const std::string& s) {
  for (const char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

std::string entry_line(const QueuedDelivery& d) {
  return nlohmann::json{{"seq", d.seq}, {"id", d.id}, {"kind", d.kind}, {"body", d.body}}.dump() +
         "\n";
}

std::string ack_line(uint64_t seq) { return nlohmann::json{{"ack", seq}}.dump() + "\n"; }

/// An unsigned integer member, or nullopt.
bool unsigned_member(const nlohmann::json& j, const char* key, uint64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return false;
  out = it->get<uint64_t>();
  return true;
}

bool string_member(const nlohmann::json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

/// Parses the log text: entries above the highest ack, in seq order.
void parse_log(const std::string& text, std::size_t max, std::vector<QueuedDelivery>& out,
               QueueLoadReport& report, uint64_t& max_seq) {
  std::map<uint64_t, QueuedDelivery> entries;
  uint64_t acked = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {  // a torn last line: the append did not finish
      ++report.skipped;
      break;
    }
    const std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = parse_json_bounded(line, 2);
    } catch (const std::exception&) {
      j = nlohmann::json(nlohmann::json::value_t::discarded);
    }
    if (j.is_discarded() || !j.is_object()) {
      ++report.skipped;
      continue;
    }
    uint64_t ack = 0;
    if (unsigned_member(j, "ack", ack)) {
      acked = std::max(acked, ack);
      max_seq = std::max(max_seq, ack);
      continue;
    }
    QueuedDelivery d;
    if (!unsigned_member(j, "seq", d.seq) || d.seq == 0 || !string_member(j, "id", d.id) ||
        !string_member(j, "kind", d.kind) || !string_member(j, "body", d.body) || d.id.empty() ||
        d.id.size() > kMaxIdBytes || !printable(d.id) || d.kind.empty() ||
        d.kind.size() > kMaxKindBytes || !printable(d.kind)) {
      ++report.skipped;
      continue;
    }
    max_seq = std::max(max_seq, d.seq);
    entries.insert_or_assign(d.seq, std::move(d));
  }
  for (auto& [seq, d] : entries) {
    if (seq <= acked) continue;
    if (out.size() >= max) {
      ++report.over;
      continue;
    }
    out.push_back(std::move(d));
  }
}

/// Appends `text` to `path` and syncs it. Throws std::runtime_error.
void append_synced(const std::filesystem::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(path.string() + ": open: " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw std::runtime_error(path.string() + ": write: " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(path.string() + ": fdatasync: " + std::strerror(err));
  }
  ::close(fd);
}

}  // namespace

struct WebhookQueue::State {
  State(BlockingWorker& w, std::filesystem::path d, Options o)
      : worker(w), dir(std::move(d)), log(dir / kLogName), opts(o) {}

  BlockingWorker& worker;
  const std::filesystem::path dir;
  const std::filesystem::path log;
  const Options opts;

  bool loading = false;
  bool is_loaded = false;
  bool removed = false;
  struct Early {
    std::string id, kind, body;
  };
  std::vector<Early> early;            // pushed before the load completed
  std::deque<QueuedDelivery> entries;  // live, in seq order
  uint64_t next_seq = 1;
  uint64_t written_seq = 0;      // entries up to this seq were handed to a write
  uint64_t acked_seq = 0;        // popped (delivered) up to this seq
  uint64_t written_ack = 0;      // the ack handed to a write
  std::size_t acked_in_log = 0;  // delivered entries the log still holds
  bool rewrite = false;          // the next write rewrites the whole log
  bool in_flight = false;
  uint64_t version = 0;  // changes made (push, pop)
  uint64_t durable = 0;  // changes covered by finished writes
  std::vector<std::pair<uint64_t, std::function<void()>>> waiters;
  uint64_t write_errors = 0;
  std::string last_write_error;

  /// Runs the flush() callbacks whose changes are all written.
  void run_waiters() {
    if (waiters.empty()) return;
    std::vector<std::function<void()>> ready;
    std::vector<std::pair<uint64_t, std::function<void()>>> rest;
    for (auto& [v, fn] : waiters) {
      if (v <= durable) {
        ready.push_back(std::move(fn));
      } else {
        rest.push_back({v, std::move(fn)});
      }
    }
    waiters = std::move(rest);
    for (auto& fn : ready) {
      if (fn) fn();
    }
  }
};

WebhookQueue::WebhookQueue(BlockingWorker& worker, std::filesystem::path dir, Options opts)
    : state_(std::make_shared<State>(worker, std::move(dir), opts)) {
  if (opts.max == 0) throw std::invalid_argument("webhook queue: max must be positive");
}

WebhookQueue::~WebhookQueue() = default;

bool WebhookQueue::loaded() const { return state_->is_loaded; }

std::size_t WebhookQueue::size() const { return state_->entries.size() + state_->early.size(); }

std::size_t WebhookQueue::max() const { return state_->opts.max; }

const QueuedDelivery* WebhookQueue::front() const {
  if (!state_->is_loaded || state_->entries.empty()) return nullptr;
  return &state_->entries.front();
}

uint64_t WebhookQueue::write_errors() const { return state_->write_errors; }

const std::string& WebhookQueue::last_write_error() const { return state_->last_write_error; }

void WebhookQueue::load(std::function<void(const QueueLoadReport&)> done) {
  State& s = *state_;
  if (s.loading || s.is_loaded) throw std::logic_error("webhook queue: load() called twice");
  s.loading = true;
  struct Result {
    QueueLoadReport report;
    std::vector<QueuedDelivery> entries;
    uint64_t max_seq = 0;
  };
  auto result = std::make_shared<Result>();
  const auto dir = s.dir;
  const auto log = s.log;
  const std::size_t max = s.opts.max;
  const std::size_t max_bytes = s.opts.max_log_bytes;
  s.worker.submit(
      [dir, log, max, max_bytes, result] {
        std::filesystem::create_directories(dir);
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace);
        std::string text;
        try {
          text = read_regular_file(log, max_bytes).text;
        } catch (const FileError& e) {
          // A new queue (or one whose log was set aside) starts with an
          // empty log, written below like a compacted one: its directory
          // entry is synced too, so later appends land in a file that
          // survives a crash.
          if (e.error_code() != ENOENT) {
            result->report.error = e.what();
            std::error_code ignored;
            std::filesystem::rename(log, log.string() + ".bad", ignored);
          }
        }
        parse_log(text, max, result->entries, result->report, result->max_seq);
        result->report.loaded = result->entries.size();
        // Compaction: the live entries alone, which also ends a torn line.
        std::string compacted;
        for (const auto& d : result->entries) compacted += entry_line(d);
        write_file_atomically(log, compacted, 0600);
      },
      [weak = std::weak_ptr<State>(state_), result,
       done = std::move(done)](const std::string& error) {
        auto state = weak.lock();
        if (!state) return;
        State& s = *state;
        if (!error.empty() && result->report.error.empty()) {
          result->report.error = error;
          s.rewrite = true;  // the log may hold what was read: write it whole next time
        }
        s.loading = false;
        s.is_loaded = true;
        for (auto& d : result->entries) s.entries.push_back(std::move(d));
        s.next_seq = result->max_seq + 1;
        s.written_seq = result->max_seq;
        // The compacted log holds no ack: the first pop must write one.
        s.acked_seq = s.entries.empty() ? result->max_seq : s.entries.front().seq - 1;
        s.written_ack = s.acked_seq;
        for (auto& e : s.early) {
          if (s.entries.size() >= s.opts.max) {
            ++result->report.over;  // the loaded ones are older: they stay
            continue;
          }
          s.entries.push_back(
              {s.next_seq++, std::move(e.id), std::move(e.kind), std::move(e.body)});
        }
        s.early.clear();
        if (done) done(result->report);
        if (!s.removed) WebhookQueue::schedule_state(state);
      });
}

bool WebhookQueue::push(std::string id, std::string kind, std::string body) {
  State& s = *state_;
  if (s.removed || size() >= s.opts.max) return false;
  ++s.version;
  if (!s.is_loaded) {
    s.early.push_back({std::move(id), std::move(kind), std::move(body)});
    return true;
  }
  s.entries.push_back({s.next_seq++, std::move(id), std::move(kind), std::move(body)});
  schedule_state(state_);
  return true;
}

void WebhookQueue::pop_front() {
  State& s = *state_;
  if (!s.is_loaded || s.entries.empty()) return;
  s.acked_seq = s.entries.front().seq;
  // An entry never written leaves nothing in the log to compact away.
  if (s.acked_seq <= s.written_seq) ++s.acked_in_log;
  s.entries.pop_front();
  ++s.version;
  schedule_state(state_);
}

void WebhookQueue::flush(std::function<void()> done) {
  State& s = *state_;
  if (s.durable >= s.version && !s.in_flight) {
    // Nothing pending: still asynchronous, as for every completion.
    s.worker.submit([] {}, [done = std::move(done)](const std::string&) { done(); });
    return;
  }
  s.waiters.emplace_back(s.version, std::move(done));
  schedule_state(state_);
}

void WebhookQueue::remove(std::function<void(const std::string& error)> done) {
  State& s = *state_;
  s.removed = true;
  s.entries.clear();
  s.early.clear();
  const auto dir = s.dir;
  s.worker.submit([dir] { std::filesystem::remove_all(dir); },
                  [done = std::move(done)](const std::string& error) {
                    if (done) done(error);
                  });
}

void WebhookQueue::schedule_state(const std::shared_ptr<State>& state) {
  State& s = *state;
  if (!s.is_loaded || s.in_flight || s.removed) return;
  if (s.durable >= s.version && !s.rewrite) {
    s.run_waiters();
    return;
  }
  const bool compact =
      s.rewrite || (s.acked_in_log >= s.opts.compact_after && s.acked_in_log >= s.entries.size());
  std::string text;
  if (compact) {
    for (const auto& d : s.entries) text += entry_line(d);
  } else {
    // Entries are in seq order: the unwritten ones are a suffix, found
    // without walking a long queue at every delivery.
    const auto first =
        std::upper_bound(s.entries.begin(), s.entries.end(), s.written_seq,
                         [](uint64_t seq, const QueuedDelivery& d) { return seq < d.seq; });
    for (auto it = first; it != s.entries.end(); ++it) text += entry_line(*it);
    if (s.acked_seq > s.written_ack) text += ack_line(s.acked_seq);
  }
  const uint64_t covers = s.version;
  const uint64_t seq = s.next_seq - 1;
  const uint64_t ack = s.acked_seq;
  s.in_flight = true;
  s.rewrite = false;
  s.written_seq = seq;
  s.written_ack = ack;
  if (compact) s.acked_in_log = 0;
  const auto log = s.log;
  s.worker.submit(
      [log, compact, text = std::move(text)] {
        if (compact) {
          write_file_atomically(log, text, 0600);
        } else if (!text.empty()) {
          append_synced(log, text);
        }
      },
      [weak = std::weak_ptr<State>(state), covers](const std::string& error) {
        auto state = weak.lock();
        if (!state) return;
        State& s = *state;
        s.in_flight = false;
        if (!error.empty()) {
          // A failed append may have left part of a line: the next write
          // rewrites the whole log from memory.
          ++s.write_errors;
          s.last_write_error = error;
          s.rewrite = true;
        }
        s.durable = std::max(s.durable, covers);
        s.run_waiters();
        if (!s.removed && (s.durable < s.version || (s.rewrite && error.empty()))) {
          schedule_state(state);
        }
      });
}

}  // namespace vigil::agent
