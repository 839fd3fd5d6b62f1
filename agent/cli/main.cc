// The vigil command line: one binary for the daemon and its client commands.
//
// Exit codes (documented in the README):
//   0  success
//   1  the operation failed: `node wait` timed out, the daemon refused a change
//   2  usage error: bad arguments, bad config, bad filter
//   3  the daemon could not be reached, or closed an event stream
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/base/file.h"
#include "agent/base/version.h"
#include "agent/cli/api_client.h"
#include "agent/cli/status_table.h"
#include "agent/config/config.h"
#include "agent/config/daemon_files.h"
#include "agent/config/duration.h"
#include "agent/daemon.h"
#include "agent/events/event.h"
#include "agent/events/event_filter.h"
#include "agent/events/json_condition.h"
#include "crypto/key.h"

namespace {

using json = nlohmann::json;
using namespace vigil::agent;

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitUnreachable = 3;
constexpr std::chrono::milliseconds kRequestTimeout{10000};

struct Options {
  std::string config = [] {
    const char* env = std::getenv("VIGIL_CONFIG");
    return env ? std::string(env) : std::string();
  }();
  std::string format = "table";
  std::vector<std::string> filters;
  std::string duration;
  long limit = 0;
  std::string assignment;
  std::string patch;
  std::string secret_file;
  std::string secret_out;  // secret generate FILE
};

class ExitError : public std::runtime_error {
 public:
  ExitError(int code, const std::string& what) : std::runtime_error(what), code(code) {}
  int code;
};

Config load(const Options& o) {
  if (o.config.empty())
    throw ExitError(kExitUsage, "no config: pass --config FILE or set VIGIL_CONFIG");
  try {
    return load_config(o.config);
  } catch (const ConfigError& e) {
    throw ExitError(kExitUsage, e.what());
  }
}

std::optional<std::chrono::milliseconds> duration_option(const Options& o) {
  if (o.duration.empty()) return std::nullopt;
  try {
    return parse_duration(o.duration);
  } catch (const std::exception& e) {
    throw ExitError(kExitUsage, std::string("--duration: ") + e.what());
  }
}

// Throws the ExitError for a daemon's error answer: 400 (bad input) and 409
// (refused in the current state) are usage errors, anything else a failure;
// the message is its "error" member.
[[noreturn]] void refused(const ApiClient::Response& res) {
  json answer = json::parse(res.body, nullptr, false);
  std::string why = answer.is_object() && answer.contains("error") && answer["error"].is_string()
                        ? answer["error"].get<std::string>()
                        : res.body;
  throw ExitError(res.status == 400 || res.status == 409 ? kExitUsage : kExitFailed, why);
}

// Sends a request and returns the parsed JSON answer; non-2xx -> ExitError.
json call(const Options& o, const std::string& method, const std::string& target,
          const json& body = nullptr) {
  ApiClient client(load(o).api_socket());
  ApiClient::Response res;
  try {
    res = client.request(method, target, body.is_null() ? "" : body.dump(), kRequestTimeout);
  } catch (const ApiUnavailable& e) {
    throw ExitError(kExitUnreachable, e.what());
  }
  if (res.status / 100 != 2) refused(res);
  return json::parse(res.body, nullptr, false);
}

int cmd_daemon_run(const Options& o) {
  Config config = load(o);
  std::vector<std::string> warnings;
  try {
    check_hook_commands(config);
    warnings = prepare_daemon_files(config);  // var_dir 0700, the TLS files
  } catch (const ConfigError& e) {
    throw ExitError(kExitUsage, e.what());
  }
  auto level = spdlog::level::from_str(std::string(to_string(config.log_level)));
  auto logger = spdlog::stderr_color_mt("vigil");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e " + config.node_name + " %^%l%$ %v");
  logger->set_level(level);
  spdlog::set_default_logger(logger);
  for (const auto& warning : warnings) spdlog::warn("{}", warning);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    Daemon daemon(std::move(config));
    return daemon.run();
  } catch (const std::system_error& e) {
    spdlog::critical("cannot start: {}", e.what());
    return kExitFailed;
  } catch (const std::runtime_error& e) {  // a keyring file that cannot be used
    spdlog::critical("cannot start: {}", e.what());
    return kExitUsage;
  }
}

// GET `target` and print it as JSON or through `render`.
int show(const Options& o, const std::string& target, std::string (*render)(const json&)) {
  json answer = call(o, "GET", target);
  if (o.format == "json")
    std::cout << answer.dump(2) << "\n";
  else
    std::cout << render(answer);
  return kExitOk;
}

int cmd_node_events(const Options& o) {
  json filters = json::array();
  for (const auto& f : o.filters) {
    try {
      EventFilter::parse(f);
    } catch (const std::exception& e) {
      throw ExitError(kExitUsage, e.what());
    }
    filters.push_back(f);
  }
  auto duration = duration_option(o);
  std::optional<ApiClient::Clock::time_point> deadline;
  if (duration) deadline = ApiClient::Clock::now() + *duration;
  ApiClient client(load(o).api_socket());
  long seen = 0;
  std::optional<ApiClient::Response> error;
  ApiClient::StreamEnd end;
  try {
    end = client.stream(
        "/v1/events", json{{"filters", filters}}.dump(), deadline,
        [&](const std::string&, const std::string& data) {
          json j = json::parse(data, nullptr, false);
          if (j.is_discarded()) return true;
          if (o.format == "json")
            std::cout << j.dump() << std::endl;
          else
            std::cout << render_event_line(j) << std::endl;
          return !(o.limit > 0 && ++seen >= o.limit);
        },
        error);
  } catch (const ApiUnavailable& e) {
    throw ExitError(kExitUnreachable, e.what());
  }
  if (error) refused(*error);
  // The daemon went away, or dropped this client: events may have been
  // missed, which a script must be able to tell from a deadline or a limit.
  if (end == ApiClient::StreamEnd::kClosed)
    throw ExitError(kExitUnreachable, "the daemon closed the event stream");
  return kExitOk;
}

int cmd_node_wait(const Options& o) {
  if (o.filters.size() != 1) throw ExitError(kExitUsage, "node wait takes exactly one --filter");
  try {
    JsonCondition::parse(o.filters.front());
  } catch (const std::exception& e) {
    throw ExitError(kExitUsage, e.what());
  }
  // The daemon holds one wait for at most a day: a longer one, or one
  // without a duration, is a chain of waits. A zero duration checks once.
  using std::chrono::milliseconds;
  constexpr milliseconds kLongestWait = std::chrono::hours(24);
  const auto duration = duration_option(o);
  if (duration && duration->count() < 0) throw ExitError(kExitUsage, "--duration is negative");
  ApiClient client(load(o).api_socket());
  const auto start = ApiClient::Clock::now();
  for (;;) {
    const auto elapsed = std::chrono::duration_cast<milliseconds>(ApiClient::Clock::now() - start);
    const milliseconds chunk =
        duration ? std::clamp(*duration - elapsed, milliseconds(1), kLongestWait) : kLongestWait;
    const json body = {{"filter", o.filters.front()}, {"duration_ms", chunk.count()}};
    ApiClient::Response res;
    try {
      res = client.request("POST", "/v1/wait", body.dump(), chunk + std::chrono::seconds(5));
    } catch (const ApiUnavailable& e) {
      throw ExitError(kExitUnreachable, e.what());
    }
    if (res.status == 200) return kExitOk;
    if (res.status != 408) refused(res);
    if (duration && ApiClient::Clock::now() - start >= *duration) {
      std::cerr << "timeout" << std::endl;
      return kExitFailed;
    }
  }
}

int cmd_node_set(const Options& o) {
  auto eq = o.assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ExitError(kExitUsage, "expected PATH=VALUE, e.g. .labels.rack=r7");
  std::string path = o.assignment.substr(0, eq), text = o.assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, false);
  // A label is a string: `.labels.rack=7` sets "7". Elsewhere VALUE is JSON
  // when it parses, and a string otherwise.
  const bool label = path.rfind(".labels.", 0) == 0 || path.rfind("labels.", 0) == 0;
  if (value.is_discarded() || (label && !value.is_string())) value = text;
  json answer = call(o, "POST", "/v1/node/set", {{"path", path}, {"value", value}});
  if (o.format == "json") std::cout << answer.dump() << "\n";
  return kExitOk;
}

int cmd_node_patch(const Options& o) {
  json ops = json::parse(o.patch, nullptr, false);
  if (ops.is_discarded() || !ops.is_array())
    throw ExitError(kExitUsage, "expected an RFC 6902 patch: a JSON array of operations");
  json answer = call(o, "POST", "/v1/node/patch", ops);
  if (o.format == "json") std::cout << answer.dump() << "\n";
  return kExitOk;
}

// Waits for the whole rotation: every alive node acknowledges the new
// secret, then this node seals with it.
constexpr std::chrono::seconds kRotateTimeout{60};

int cmd_hb_rotate(const Options& o) {
  json body = json::object();
  if (!o.secret_file.empty()) {
    std::string text;
    try {  // a regular file of at most 4 KiB
      text = read_regular_file(o.secret_file, kMaxSecretFileBytes).text;
      vigil::crypto::parse_secret_hex(text);
    } catch (const FileError& e) {
      throw ExitError(kExitUsage, "--secret-file " + std::string(e.what()));
    } catch (const std::exception& e) {
      throw ExitError(kExitUsage, "--secret-file " + o.secret_file + ": " + e.what());
    }
    body["secret"] = text;
  }
  ApiClient client(load(o).api_socket());
  ApiClient::Response res;
  try {
    res = client.request("POST", "/v1/hb/rotate", body.dump(), kRotateTimeout);
  } catch (const ApiUnavailable& e) {
    throw ExitError(kExitUnreachable, e.what());
  }
  if (res.status != 200) refused(res);
  json answer = json::parse(res.body, nullptr, false);
  if (o.format == "json")
    std::cout << answer.dump() << "\n";
  else
    std::cout << "heartbeats sealed with secret version " << answer.value("version", 0) << "\n";
  return kExitOk;
}

int cmd_node_simple(const Options& o, const std::string& what) {
  json answer = call(o, "POST", "/v1/node/" + what, nullptr);
  if (o.format == "json") std::cout << answer.dump() << "\n";
  return kExitOk;
}

// `vigil secret generate [FILE]`, the equivalent of corosync-keygen: a new
// cluster secret on stdout, or in FILE, created with mode 0600 (never over an
// existing file).
int cmd_secret_generate(const Options& o) {
  std::string text = vigil::crypto::generate_secret_hex() + "\n";
  if (o.secret_out.empty()) {
    std::cout << text;
    return kExitOk;
  }
  const int fd = ::open(o.secret_out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw ExitError(errno == EEXIST ? kExitUsage : kExitFailed,
                    o.secret_out + ": " + std::strerror(errno) +
                        (errno == EEXIST ? " (a secret is never overwritten)" : ""));
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  std::fill(text.begin(), text.end(), '\0');
  if (!ok) {
    ::unlink(o.secret_out.c_str());
    throw ExitError(kExitFailed, o.secret_out + ": " + std::strerror(err));
  }
  std::cout << "wrote a new secret to " << o.secret_out
            << " (mode 0600); copy it to every node as cluster.secret_file" << std::endl;
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"vigil: cluster membership agent (heartbeats, dataset, events, hooks)", "vigil"};
  app.set_version_flag("--version", std::string("vigil ") + kVersion);
  app.fallthrough();
  app.require_subcommand(1);
  app.add_option("--config", o.config, "node config file (TOML); default $VIGIL_CONFIG");
  auto add_format = [&](CLI::App* cmd) {
    cmd->add_option("--format", o.format, "output format")->check(CLI::IsMember({"table", "json"}));
  };

  std::function<int()> action;
  auto* daemon = app.add_subcommand("daemon", "run or inspect the daemon")->require_subcommand(1);
  daemon->add_subcommand("run", "run the daemon in the foreground, logs on stderr")->callback([&] {
    action = [&] { return cmd_daemon_run(o); };
  });
  auto* status = daemon->add_subcommand("status", "show the cluster as this node sees it");
  add_format(status);
  status->callback([&] { action = [&] { return show(o, "/v1/status", render_status_table); }; });

  auto* node = app.add_subcommand("node", "events, waits and the local node document")
                   ->require_subcommand(1);
  auto* events = node->add_subcommand("events", "stream events, one per line");
  events->add_option("--filter", o.filters, "filter (seed 001 grammar); several are OR'ed");
  events->add_option("--duration", o.duration, "stop after this long, e.g. 10s");
  events->add_option("--limit", o.limit, "stop after this many events")->check(CLI::PositiveNumber);
  add_format(events);
  events->callback([&] { action = [&] { return cmd_node_events(o); }; });
  auto* wait = node->add_subcommand("wait", "block until the dataset satisfies PATH OP VALUE");
  wait->add_option("--filter", o.filters, "condition, e.g. '.peers.*.state=alive'")->required();
  wait->add_option("--duration", o.duration, "give up after this long (exit 1), e.g. 30s");
  wait->callback([&] { action = [&] { return cmd_node_wait(o); }; });
  auto* set = node->add_subcommand("set", "set PATH=VALUE in the local node document");
  set->add_option("assignment", o.assignment, "e.g. .labels.rack=r7 (VALUE is JSON or a string)")
      ->required();
  add_format(set);
  set->callback([&] { action = [&] { return cmd_node_set(o); }; });
  auto* patch = node->add_subcommand("patch", "apply an RFC 6902 patch to the local node document");
  patch->add_option("patch", o.patch, "JSON array of operations")->required();
  add_format(patch);
  patch->callback([&] { action = [&] { return cmd_node_patch(o); }; });
  node->add_subcommand("freeze", "mark the local node frozen")->callback([&] {
    action = [&] { return cmd_node_simple(o, "freeze"); };
  });
  node->add_subcommand("unfreeze", "clear the frozen mark")->callback([&] {
    action = [&] { return cmd_node_simple(o, "unfreeze"); };
  });

  auto* hb = app.add_subcommand("hb", "heartbeat paths")->require_subcommand(1);
  auto* hb_status = hb->add_subcommand("status", "per path and peer: state, counters, drops");
  add_format(hb_status);
  hb_status->callback([&] { action = [&] { return show(o, "/v1/hb", render_hb_table); }; });
  auto* hb_rotate =
      hb->add_subcommand("rotate", "switch every node to a new heartbeat secret, without downtime");
  hb_rotate->add_option("--secret-file", o.secret_file,
                        "file with the new secret (64 hex digits); default: a random one");
  add_format(hb_rotate);
  hb_rotate->callback([&] { action = [&] { return cmd_hb_rotate(o); }; });

  auto* secret = app.add_subcommand("secret", "cluster secrets")->require_subcommand(1);
  auto* generate = secret->add_subcommand(
      "generate", "print a new cluster secret, or write it to FILE with mode 0600");
  generate->add_option("file", o.secret_out, "file to create (never overwritten)");
  generate->callback([&] { action = [&] { return cmd_secret_generate(o); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  try {
    return action ? action() : kExitUsage;
  } catch (const ExitError& e) {
    std::cerr << "vigil: " << e.what() << std::endl;
    return e.code;
  }
}
