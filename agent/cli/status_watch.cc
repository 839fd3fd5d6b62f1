#include "agent/cli/status_watch.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/base/clock.h"
#include "agent/cli/api_client.h"
#include "agent/cli/terminal.h"
#include "agent/cli/watch_frame.h"

namespace vigil::agent {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kTick{1000};           // a frame at least this often
constexpr milliseconds kMinGap{100};          // and at most one per this, events or not
constexpr milliseconds kStatusTimeout{2000};  // bound of one GET /v1/status
constexpr milliseconds kRetry{1000};          // the event stream opened again after this
constexpr std::size_t kMaxPending = 1000;     // events held for the main thread

// ---- wake-ups ------------------------------------------------------------------
// One pipe wakes the main loop: a byte per reason, written by the signal
// handlers ('q' quit, 'w' resize, 'z' suspend, 'c' continued) and by the
// event thread ('e').

volatile std::sig_atomic_t g_wake_fd = -1;

extern "C" void on_signal(int sig) {
  const int saved = errno;
  const char c = sig == SIGWINCH ? 'w' : sig == SIGTSTP ? 'z' : sig == SIGCONT ? 'c' : 'q';
  const int fd = g_wake_fd;
  if (fd >= 0) {
    const ssize_t n = ::write(fd, &c, 1);  // a full pipe: the loop is awake anyway
    (void)n;
  }
  errno = saved;
}

void wake(int fd, char c) {
  const ssize_t n = ::write(fd, &c, 1);  // a full pipe: the loop is awake anyway
  (void)n;
}

class WakePipe {
 public:
  WakePipe() {
    if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::system_error(errno, std::generic_category(), "cannot make a pipe");
  }
  ~WakePipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  WakePipe(const WakePipe&) = delete;
  WakePipe& operator=(const WakePipe&) = delete;
  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }

 private:
  int fds_[2] = {-1, -1};
};

// The monitor's signal dispositions, the previous ones put back at the end.
// SIGPIPE is ignored: a write to a closed pipe fails with EPIPE instead.
class SignalGuard {
 public:
  explicit SignalGuard(int wake_fd) {
    g_wake_fd = wake_fd;
    for (std::size_t i = 0; i < std::size(kSignals); ++i) {
      struct sigaction sa {};
      sa.sa_handler = kSignals[i] == SIGPIPE ? SIG_IGN : on_signal;
      sigemptyset(&sa.sa_mask);
      ::sigaction(kSignals[i], &sa, &old_[i]);
    }
  }
  ~SignalGuard() {
    for (std::size_t i = 0; i < std::size(kSignals); ++i)
      ::sigaction(kSignals[i], &old_[i], nullptr);
    g_wake_fd = -1;
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  static constexpr int kSignals[] = {SIGINT,   SIGTERM, SIGHUP,  SIGQUIT,
                                     SIGWINCH, SIGPIPE, SIGTSTP, SIGCONT};
  struct sigaction old_[std::size(kSignals)]{};
};

// ---- the event stream ------------------------------------------------------------

// The /v1/events stream on a thread of its own, opened again kRetry after
// it ends, until stop(). What arrives waits in a bounded queue for take().
class EventFeed {
 public:
  struct Item {
    json event;        // an event, or null for a note
    std::string at;    // a note's time
    std::string note;  // a note of the monitor itself
  };

  EventFeed(std::filesystem::path socket, int wake_fd)
      : socket_(std::move(socket)), wake_fd_(wake_fd), thread_([this] { run(); }) {}
  ~EventFeed() { stop(); }
  EventFeed(const EventFeed&) = delete;
  EventFeed& operator=(const EventFeed&) = delete;

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    stream_stop_.request_stop();
    if (thread_.joinable()) thread_.join();
  }

  std::vector<Item> take() {
    std::lock_guard lock(mutex_);
    std::vector<Item> out(std::make_move_iterator(pending_.begin()),
                          std::make_move_iterator(pending_.end()));
    pending_.clear();
    return out;
  }

 private:
  void push(Item item) {
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(std::move(item));
      while (pending_.size() > kMaxPending) pending_.pop_front();
    }
    wake(wake_fd_, 'e');
  }

  void run() {
    // Signals are for the main thread: its poll() wakes up on them.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    ApiClient client(socket_);
    for (;;) {
      std::string note;
      try {
        std::optional<ApiClient::Response> error;
        const auto end = client.stream(
            "/v1/events", R"({"filters":[]})", std::nullopt,
            [this](const std::string&, const std::string& data) {
              json event = json::parse(data, nullptr, false);
              if (!event.is_discarded()) push({std::move(event), {}, {}});
              return true;
            },
            error, &stream_stop_);
        if (end == ApiClient::StreamEnd::kStopped) return;
        if (error) {
          json answer = json::parse(error->body, nullptr, false);
          const std::string why =
              answer.is_object() && answer.contains("error") && answer["error"].is_string()
                  ? answer["error"].get<std::string>()
                  : error->body;
          note = "event stream refused (" + std::to_string(error->status) + "): " + why +
                 "; trying again every second";
        } else {
          note = "event stream closed by the daemon; events may be missing until it is back";
        }
      } catch (const ApiUnavailable&) {
        // Not even connected: nothing was missed that the table does not say.
      } catch (const std::exception& e) {
        note = std::string("event stream failed: ") + e.what() + "; trying again every second";
      }
      if (!note.empty()) push({json(), now_rfc3339(), note});
      std::unique_lock lock(mutex_);
      if (cv_.wait_for(lock, kRetry, [this] { return stopping_; })) return;
    }
  }

  const std::filesystem::path socket_;
  const int wake_fd_;
  StreamStop stream_stop_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<Item> pending_;
  std::thread thread_;  // last: started once the members above exist
};

// ---- the monitor -----------------------------------------------------------------

class Monitor {
 public:
  Monitor(std::string node, std::filesystem::path socket)
      : node_(std::move(node)), socket_(std::move(socket)) {}

  // The loop; returns the exit code. Throws std::system_error when the
  // monitor itself cannot go on (the caller prints it).
  int run() {
    const bool screen = is_screen(STDOUT_FILENO);
    keys_ = screen && ::isatty(STDIN_FILENO) == 1;
    const char* no_color = std::getenv("NO_COLOR");
    colour_ = screen && !(no_color && *no_color);
    screen_ = screen;

    // Destroyed in reverse: the event thread stopped, then the terminal
    // restored, then the signal dispositions, then the pipe.
    WakePipe pipe;
    SignalGuard signals(pipe.write_fd());
    std::optional<FullScreen> full;
    if (screen_) full.emplace(keys_ ? STDIN_FILENO : -1, STDOUT_FILENO);
    EventFeed feed(socket_, pipe.write_fd());

    Clock::time_point next_tick = Clock::now(), last_frame{};
    bool dirty = true;
    for (;;) {
      for (auto& item : feed.take()) {
        if (item.event.is_null())
          events_.add_note(item.at, item.note);
        else
          events_.add_event(item.event);
        dirty = true;
      }
      Clock::time_point now = Clock::now();
      if (now >= next_tick || (dirty && now >= last_frame + kMinGap)) {
        if (!draw()) return kExitOk;  // the reader of our pipe went away
        last_frame = Clock::now();
        next_tick = last_frame + kTick;
        dirty = false;
        now = last_frame;
      }
      const auto until = dirty ? last_frame + kMinGap : next_tick;
      const auto wait =
          std::max<milliseconds::rep>(0, std::chrono::ceil<milliseconds>(until - now).count());
      struct pollfd fds[2] = {{pipe.read_fd(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
      const int n = ::poll(fds, keys_ ? 2 : 1,
                           static_cast<int>(std::min<milliseconds::rep>(wait, kTick.count())));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "poll");
      }
      if (fds[0].revents & POLLIN) {
        char bytes[64];
        ssize_t got;
        while ((got = ::read(pipe.read_fd(), bytes, sizeof bytes)) > 0) {
          for (ssize_t i = 0; i < got; ++i) {
            if (bytes[i] == 'q') return kExitOk;
            if (bytes[i] == 'z') suspend(full);
            if (bytes[i] == 'w' || bytes[i] == 'z' || bytes[i] == 'c') {
              dirty = true;
              last_frame = {};  // a new size, or back from a stop: draw at once
              repaint_ = repaint_ || bytes[i] != 'w';
            }
          }
        }
      }
      if (keys_ && fds[1].revents) {
        char bytes[64];
        const ssize_t got = ::read(STDIN_FILENO, bytes, sizeof bytes);
        if (got == 0) return kExitOk;  // the terminal hung up
        if (got < 0 && errno != EINTR && errno != EAGAIN) return kExitOk;
        for (ssize_t i = 0; i < got; ++i) {
          if (bytes[i] == 'q' || bytes[i] == 'Q' || bytes[i] == 0x03) return kExitOk;
          if (bytes[i] == 0x1a) suspend(full);         // Ctrl-Z
          if (bytes[i] == 0x0c || bytes[i] == 0x1a) {  // Ctrl-L, or back from Ctrl-Z
            repaint_ = true;
            dirty = true;
            last_frame = {};
          }
        }
      }
    }
  }

 private:
  // Job control (Ctrl-Z, or SIGTSTP from elsewhere): the terminal as it was
  // before the monitor, then the stop SIGTSTP's default action makes, as
  // any program run from a shell; from `fg` (SIGCONT) on, the screen is
  // taken back and the caller repaints it. The event thread stops with the
  // process. A process group with no shell to resume it is not stopped
  // (POSIX discards the signal then) and goes on at once.
  static void suspend(std::optional<FullScreen>& full) {
    if (full) full->restore();
    struct sigaction dfl = {};
    struct sigaction ours = {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(SIGTSTP, &dfl, &ours);
    ::raise(SIGTSTP);  // returns once continued
    ::sigaction(SIGTSTP, &ours, nullptr);
    if (full) full->enter();
  }

  // One frame: the status asked now, composed, written. False when stdout
  // is a pipe whose reader is gone; throws when it cannot be written.
  bool draw() {
    WatchView view;
    view.node = node_;
    view.at = now_rfc3339();
    view.keys = keys_;
    view.events = &events_;
    try {
      const auto res = ApiClient(socket_).request("GET", "/v1/status", "", kStatusTimeout);
      json answer = json::parse(res.body, nullptr, false);
      if (res.status / 100 != 2) {
        const std::string why =
            answer.is_object() && answer.contains("error") && answer["error"].is_string()
                ? answer["error"].get<std::string>()
                : res.body;
        view.unreachable = "it answered " + std::to_string(res.status) + ": " + why;
      } else if (answer.is_discarded()) {
        view.unreachable = "its status answer is not JSON";
      } else {
        view.dataset = std::move(answer);
      }
    } catch (const ApiUnavailable& e) {
      view.unreachable = e.what();
    }
    const auto lines = compose_watch_frame(view);
    std::string out;
    if (screen_) {
      const auto size = terminal_size(STDOUT_FILENO).value_or(TerminalSize{24, 80});
      // One column short of the width: a character in the last column would
      // leave the cursor there, and the erase after it would remove it.
      std::vector<std::string> text;
      for (const auto& l : fit_frame(lines, std::max<std::size_t>(size.columns, 2) - 1, size.rows))
        text.push_back(line_text(l, colour_));
      if (repaint_) out = "\x1b[2J";  // Ctrl-L only: never per frame
      repaint_ = false;
      out += redraw_in_place(text);
    } else {
      std::string body;
      for (std::size_t i = 1; i < lines.size(); ++i) body += lines[i].text + "\n";
      if (body == last_body_) return true;
      last_body_ = body;
      out = lines.front().text + "\n" + body + "\n";
    }
    if (write_all(STDOUT_FILENO, out)) return true;
    if (errno == EPIPE) return false;
    throw std::system_error(errno, std::generic_category(), "cannot write to stdout");
  }

  const std::string node_;
  const std::filesystem::path socket_;
  bool screen_ = false, keys_ = false, colour_ = false, repaint_ = false;
  RecentEvents events_;
  std::string last_body_;  // the last frame printed, title aside (not a terminal)
};

}  // namespace

int run_status_watch(const CliOptions& o) {
  if (o.json())
    throw ExitError(kExitUsage,
                    "--watch draws a table for people and excludes --format json (programs: "
                    "`vigil node events --format json`, `vigil daemon status --format json`)");
  const Config config = load(o);
  std::string failure;
  int code = kExitFailed;
  try {
    code = Monitor(config.node_name, config.api_socket()).run();
  } catch (const std::exception& e) {  // the terminal is restored by now
    failure = e.what();
  } catch (...) {
    failure = "unexpected error";
  }
  if (!failure.empty()) {
    std::cerr << "vigil: daemon status --watch: " << failure << std::endl;
    return kExitFailed;
  }
  return code;
}

}  // namespace vigil::agent
