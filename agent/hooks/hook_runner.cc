#include "agent/hooks/hook_runner.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>

#include <spdlog/spdlog.h>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/process.hpp>
#include <nlohmann/json.hpp>

#include "agent/events/event_bus.h"
#include "agent/hooks/child_setup.h"

namespace vigil::agent {

namespace bp = boost::process;
namespace asio = boost::asio;

namespace {

bool is_exec_kind(const std::string& kind) { return kind.rfind("Exec", 0) == 0; }

// How long to wait for a hook's stdout/stderr to reach EOF after it exited
// (a background grandchild may keep the pipes open).
constexpr std::chrono::seconds kDrainGrace{2};

// Kills the process group `pid` leads (a hook and what it started).
void kill_group(const bp::child& child) {
  if (child.valid() && child.id() > 0) ::kill(-child.id(), SIGKILL);
}

}  // namespace

struct HookRunner::Run {
  Run(asio::io_context& io, std::shared_ptr<const HookConfig> h)
      : hook_config(std::move(h)),
        hook(*hook_config),
        in(io),
        out(io),
        err(io),
        out_buf(kMaxLine),
        err_buf(kMaxLine),
        timer(io),
        drain(io) {}
  std::shared_ptr<const HookConfig> hook_config;  // outlives a reconfigure()
  const HookConfig& hook;
  uint64_t event_id = 0;
  std::string payload;
  bp::async_pipe in, out, err;
  asio::streambuf out_buf, err_buf;
  bp::child child;
  asio::steady_timer timer, drain;
  std::chrono::steady_clock::time_point started;
  int pending = 3;  // exit, stdout EOF, stderr EOF
  bool exited = false, timed_out = false, done = false;
  int exit_code = -1;
  std::string error;
};

HookRunner::HookRunner(asio::io_context& io, EventBus& bus, std::vector<HookConfig> hooks,
                       Options options)
    : io_(io), bus_(bus), options_(options) {
  reconfigure(std::move(hooks));
}

void HookRunner::reconfigure(std::vector<HookConfig> hooks) {
  std::vector<std::shared_ptr<const HookConfig>> next;
  next.reserve(hooks.size());
  for (auto& h : hooks) next.push_back(std::make_shared<const HookConfig>(std::move(h)));
  hooks_ = std::move(next);
}

HookRunner::~HookRunner() { kill_all(); }

bool HookRunner::wants(std::string_view kind) const {
  return std::any_of(hooks_.begin(), hooks_.end(),
                     [&](const auto& hook) { return hook->wants(kind); });
}

void HookRunner::on_event(const Event& event) {
  if (is_exec_kind(event.kind)) return;
  std::string payload;
  for (const auto& hook : hooks_) {
    if (!hook->wants(event.kind)) continue;
    if (payload.empty()) payload = to_json(event).dump();
    Pending p{hook, event.kind, event.id, payload};
    if (queue_.size() >= options_.max_queued) {
      failed_to_start(p, "queue full (" + std::to_string(options_.max_queued) + " runs waiting)");
      continue;
    }
    queue_.push_back(std::move(p));
  }
  pump();
}

void HookRunner::pump() {
  while (runs_.size() < options_.max_concurrent && !queue_.empty()) {
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    start(p);
  }
}

void HookRunner::kill_all() {
  queue_.clear();
  for (auto& run : runs_) kill_group(run->child);
}

namespace {

// Reads `pipe` line by line into the log until EOF, then calls `done`. A line
// longer than the buffer's max_size is logged cut, in pieces.
void log_lines(bp::async_pipe& pipe, asio::streambuf& buf, std::string tag,
               std::function<void()> done) {
  asio::async_read_until(
      pipe, buf, '\n',
      [&pipe, &buf, tag = std::move(tag), done = std::move(done)](boost::system::error_code ec,
                                                                  std::size_t n) mutable {
        if (ec == asio::error::not_found) n = buf.size();  // full without a newline: cut
        if (n > 0) {
          std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
          buf.consume(n);
          if (!line.empty() && line.back() == '\n') line.pop_back();
          spdlog::info("{}: {}", tag, line);
        }
        if (ec && ec != asio::error::not_found) {
          if (buf.size() > 0) {
            std::string rest(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
            buf.consume(buf.size());
            spdlog::info("{}: {}", tag, rest);
          }
          done();
          return;
        }
        log_lines(pipe, buf, std::move(tag), std::move(done));
      });
}

}  // namespace

void HookRunner::failed_to_start(const Pending& p, const std::string& why) {
  spdlog::error("hook {}: cannot run for {} #{}: {}", p.hook->name, p.kind, p.id, why);
  bus_.publish(Event{.kind = "ExecFailed",
                     .labels = {{"hook", p.hook->name}},
                     .data = {{"hook", p.hook->name},
                              {"exit_code", -1},
                              {"duration_ms", 0},
                              {"error", why},
                              {"event", {{"kind", p.kind}, {"id", p.id}}}}});
}

void HookRunner::start(const Pending& p) {
  const HookConfig& hook = *p.hook;
  auto run = std::make_shared<Run>(io_, p.hook);
  run->event_id = p.id;
  run->payload = p.payload;

  std::string exe = hook.command.front();
  if (exe.find('/') == std::string::npos) {
    auto found = bp::search_path(exe);
    if (found.empty()) return failed_to_start(p, "'" + exe + "' not found in PATH");
    exe = found.string();
  }
  std::vector<std::string> args(hook.command.begin() + 1, hook.command.end());

  Event exec{.kind = "Exec",
             .labels = {{"hook", hook.name}},
             .data = {{"hook", hook.name},
                      {"command", hook.command},
                      {"event", {{"kind", p.kind}, {"id", p.id}}}}};
  run->started = std::chrono::steady_clock::now();
  try {
    bp::environment env = boost::this_process::environment();
    if (run->payload.size() <= kMaxEventEnv)
      env["EVENT"] = run->payload;
    else
      env.erase("EVENT");
    env["VIGIL_EVENT"] = p.kind;
    std::weak_ptr<Run> weak = run;
    run->child = bp::child(bp::exe = exe, bp::args = args,
                           bp::std_in<run->in, bp::std_out> run->out, bp::std_err > run->err, env,
                           io_, bp::on_exit([this, weak](int code, const std::error_code& ec) {
                             // Boost.Process calls this from inside the loop of its
                             // SIGCHLD service over the children it waits for; starting
                             // the next queued hook from here would add to that vector
                             // while it is iterated (Boost 1.74, sigchld_service.hpp).
                             asio::post(io_, [this, weak, code, ec] { exited(weak, code, ec); });
                           }),
                           ChildSetup{});  // last: after the std redirections
  } catch (const std::exception& e) {
    exec.data["error"] = e.what();
    bus_.publish(exec);
    return failed_to_start(p, std::string("exec ") + exe + ": " + e.what());
  }
  exec.data["pid"] = run->child.id();
  runs_.push_back(run);
  bus_.publish(exec);
  spdlog::info("hook {}: started pid {} for {} #{}", hook.name, run->child.id(), p.kind, p.id);

  asio::async_write(run->in, asio::buffer(run->payload),
                    [run](boost::system::error_code, std::size_t) {
                      boost::system::error_code ignore;
                      run->in.close(ignore);
                    });
  std::string tag = hook.name + "[" + std::to_string(run->child.id()) + "]";
  log_lines(run->out, run->out_buf, tag + " stdout", [this, run] {
    if (--run->pending == 0) finish(run);
  });
  log_lines(run->err, run->err_buf, tag + " stderr", [this, run] {
    if (--run->pending == 0) finish(run);
  });
  run->timer.expires_after(hook.timeout);
  run->timer.async_wait([run](boost::system::error_code ec) {
    if (ec || run->exited) return;
    run->timed_out = true;
    kill_group(run->child);  // on_exit follows
  });
}

void HookRunner::exited(const std::weak_ptr<Run>& weak, int code, const std::error_code& ec) {
  auto r = weak.lock();
  if (!r || r->exited) return;
  r->exited = true;
  r->exit_code = code;
  if (ec && r->error.empty()) r->error = ec.message();
  r->timer.cancel();
  // Give the pipes a bounded time to drain, then finish regardless.
  r->drain.expires_after(kDrainGrace);
  r->drain.async_wait([r](boost::system::error_code wec) {
    if (wec) return;
    boost::system::error_code ignore;
    r->out.close(ignore);
    r->err.close(ignore);
  });
  if (--r->pending == 0) finish(r);
}

void HookRunner::finish(const std::shared_ptr<Run>& run) {
  if (run->done) return;
  run->done = true;
  run->drain.cancel();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  run->started)
                .count();
  nlohmann::json data = {{"hook", run->hook.name},
                         {"pid", run->child.id()},
                         {"exit_code", run->exit_code},
                         {"duration_ms", ms},
                         {"event", {{"id", run->event_id}}}};
  bool ok = run->exit_code == 0 && !run->timed_out && run->error.empty();
  if (!ok) {
    std::string reason = run->timed_out
                             ? "timeout after " + std::to_string(run->hook.timeout.count()) + "ms"
                         : !run->error.empty() ? run->error
                                               : "exit code " + std::to_string(run->exit_code);
    data["error"] = reason;
    spdlog::warn("hook {}: pid {} failed: {} ({} ms)", run->hook.name, run->child.id(), reason, ms);
  } else {
    spdlog::info("hook {}: pid {} succeeded ({} ms)", run->hook.name, run->child.id(), ms);
  }
  bus_.publish(Event{.kind = ok ? "ExecSuccess" : "ExecFailed",
                     .labels = {{"hook", run->hook.name}},
                     .data = std::move(data)});
  std::erase(runs_, run);
  pump();
}

}  // namespace vigil::agent
