// The vigil command line: one binary for the daemon and its client commands.
// Exit codes: agent/cli/command.h (documented in the README).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/base/file.h"
#include "agent/base/version.h"
#include "agent/cli/api_client.h"
#include "agent/cli/build_info.h"
#include "agent/cli/command.h"
#include "agent/cli/daemon_log.h"
#include "agent/cli/event_template.h"
#include "agent/cli/queue_command.h"
#include "agent/cli/status_table.h"
#include "agent/cli/status_watch.h"
#include "agent/cli/wait_command.h"
#include "agent/cli/webhook_command.h"
#include "agent/config/config.h"
#include "agent/config/daemon_files.h"
#include "agent/config/duration.h"
#include "agent/daemon.h"
#include "agent/events/event_filter.h"
#include "crypto/key.h"

namespace {

using json = nlohmann::json;
using namespace vigil::agent;
using Options = CliOptions;

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
  logger->set_formatter(make_log_formatter(config.node_name));
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

// `daemon status`: the dataset as JSON, or as a table with this node marked;
// with --watch, the live monitor (status_watch.h).
int cmd_daemon_status(const Options& o) {
  if (o.watch) return run_status_watch(o);
  json answer = call(o, "GET", "/v1/status");
  if (o.json())
    print_json(answer);
  else
    std::cout << render_status_table(answer, load(o).node_name);
  return kExitOk;
}

int cmd_hb_status(const Options& o) {
  json answer = call(o, "GET", "/v1/hb");
  if (o.json())
    print_json(answer);
  else
    std::cout << render_hb_table(answer);
  return kExitOk;
}

// --limit: a count of events, 1 or more; nullopt when not given.
std::optional<long> limit_option(const Options& o) {
  if (o.limit.empty()) return std::nullopt;
  long n = 0;
  std::size_t used = 0;
  try {
    n = std::stol(o.limit, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != o.limit.size() || n < 1)
    throw ExitError(kExitUsage, "--limit " + o.limit +
                                    ": expected a count of events, 1 or more (leave --limit out "
                                    "to stream without a limit)");
  return n;
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
  std::optional<EventTemplate> tmpl;
  if (o.event_template) {
    if (o.json()) throw ExitError(kExitUsage, "--template and --format json exclude each other");
    try {
      tmpl.emplace(*o.event_template);
    } catch (const std::invalid_argument& e) {
      throw ExitError(kExitUsage, e.what());
    }
  }
  const auto limit = limit_option(o);
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
          if (o.json())
            print_json(j);
          else if (tmpl)
            std::cout << tmpl->render(j) << std::endl;
          else
            std::cout << render_event_line(j) << std::endl;
          return !(limit && ++seen >= *limit);
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
  if (o.json()) print_json(answer);
  return kExitOk;
}

int cmd_node_patch(const Options& o) {
  json ops = json::parse(o.patch, nullptr, false);
  if (ops.is_discarded() || !ops.is_array())
    throw ExitError(kExitUsage, "expected an RFC 6902 patch: a JSON array of operations");
  json answer = call(o, "POST", "/v1/node/patch", ops);
  if (o.json()) print_json(answer);
  return kExitOk;
}

int cmd_cluster_token(const Options& o) {
  json body = json::object();
  if (auto d = duration_option(o)) {
    if (*d < std::chrono::seconds(1) || *d > std::chrono::hours(24))
      throw ExitError(kExitUsage, "--duration " + o.duration + ": a join token lasts 1s to 24h");
    body["duration_ms"] = d->count();
  }
  json answer = call(o, "POST", "/v1/cluster/token", body);
  if (o.json())
    print_json(answer);
  else
    std::cout << answer.at("token").get<std::string>() << "\n";
  return kExitOk;
}

// The answer of a membership command: 2xx printed (JSON, or `line`), 504 a
// timeout (exit 1), anything else refused (exit 2) with the reason.
int membership_answer(const Options& o, const ApiClient::Response& res,
                      const std::function<std::string(const json&)>& line) {
  json answer = json::parse(res.body, nullptr, false);
  if (res.status / 100 != 2) {
    std::string why = "status " + std::to_string(res.status);
    if (answer.is_object() && answer.contains("error") && answer["error"].is_string())
      why = answer["error"].get<std::string>();
    throw ExitError(res.status == 504 ? kExitFailed : kExitUsage, why);
  }
  if (o.json())
    print_json(answer);
  else
    std::cout << line(answer) << "\n";
  return kExitOk;
}

int cmd_cluster_join(const Options& o) {
  const auto timeout = timeout_option(o, std::chrono::seconds(30));
  json body = {{"token", o.token}, {"seed", o.seed}, {"timeout_ms", timeout.count()}};
  // The daemon answers within `timeout`; the wait allows a margin.
  auto res = run_operation(o, "/v1/node/join", body, timeout + std::chrono::seconds(5));
  if (!res) return kExitOk;  // --async
  return membership_answer(o, *res, [](const json& a) {
    return "joined cluster " + a.value("cluster", std::string()) + " through " +
           a.value("seed", std::string()) + ": " + std::to_string(a.value("nodes", json()).size()) +
           " member(s)";
  });
}

int cmd_cluster_leave(const Options& o) {
  const auto timeout = timeout_option(o, std::chrono::seconds(10));
  auto res = run_operation(o, "/v1/cluster/leave", {{"timeout_ms", timeout.count()}},
                           timeout + std::chrono::seconds(5));
  if (!res) return kExitOk;  // --async
  return membership_answer(o, *res, [](const json& a) {
    return "left the cluster: acknowledged by " +
           std::to_string(a.value("acknowledged_by", json::array()).size()) + " peer(s)";
  });
}

int cmd_cluster_forget(const Options& o) {
  auto res = run_operation(o, "/v1/cluster/forget", {{"node", o.node}}, std::chrono::seconds(10));
  if (!res) return kExitOk;  // --async
  return membership_answer(o, *res, [](const json& a) {
    return "forgot " + a.value("node", std::string()) + ": " +
           std::to_string(a.value("nodes", json()).size()) + " member(s) left";
  });
}

int cmd_export_status(const Options& o) {
  json answer = call(o, "GET", "/v1/export/status");
  if (o.json()) {
    print_json(answer);
    return kExitOk;
  }
  std::cout << render_export_status(answer);
  return kExitOk;
}

int cmd_cluster_members(const Options& o) {
  json answer = call(o, "GET", "/v1/cluster/members");
  if (o.json()) {
    print_json(answer);
    return kExitOk;
  }
  std::cout << render_members_table(answer);
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
  auto res = run_operation(o, "/v1/hb/rotate", body, kRotateTimeout);
  if (!res) return kExitOk;  // --async
  if (res->status != 200) refused(*res);
  json answer = json::parse(res->body, nullptr, false);
  if (o.json())
    print_json(answer);
  else
    std::cout << "heartbeats sealed with secret version " << answer.value("version", 0) << "\n";
  return kExitOk;
}

// `daemon reload`: the daemon reads its config file again and applies what
// changed (POST /v1/daemon/reload). A file that does not load, or a change
// that needs a restart, exits 2 with the file, the key and the reason.
int cmd_daemon_reload(const Options& o) {
  json answer = call(o, "POST", "/v1/daemon/reload");
  if (o.json()) {
    print_json(answer);
    return kExitOk;
  }
  std::string keys;
  if (answer.contains("changed") && answer["changed"].is_array())
    for (const auto& k : answer["changed"])
      if (k.is_string()) keys += (keys.empty() ? "" : ", ") + k.get<std::string>();
  std::cout << (keys.empty() ? std::string("config reloaded: no change")
                             : "config reloaded: " + keys + " changed")
            << "\n";
  return kExitOk;
}

int cmd_node_simple(const Options& o, const std::string& what) {
  json answer = call(o, "POST", "/v1/node/" + what, nullptr);
  if (o.json()) print_json(answer);
  return kExitOk;
}

// `vigil secret generate [FILE]`, the equivalent of corosync-keygen: a new
// cluster secret on stdout, or in FILE, created with mode 0600 (never over an
// existing file).
int cmd_secret_generate(const Options& o) {
  std::string text = vigil::crypto::generate_secret_hex() + "\n";
  if (o.secret_out.empty()) {
    if (o.json())
      print_json({{"secret", text.substr(0, text.size() - 1)}});
    else
      std::cout << text;
    std::fill(text.begin(), text.end(), '\0');
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
  if (o.json())
    print_json({{"file", o.secret_out}, {"mode", "0600"}});
  else
    std::cout << "wrote a new secret to " << o.secret_out
              << " (mode 0600); copy it to every node as cluster.secret_file" << std::endl;
  return kExitOk;
}

std::string version_text() {
  return std::string("vigil ") + kVersion + " (commit " + build_commit() + ")";
}

int cmd_version(const Options& o) {
  if (o.json())
    print_json({{"version", kVersion}, {"commit", build_commit()}});
  else
    std::cout << version_text() << std::endl;
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.config = default_config();
  CLI::App app{"vigil: cluster membership agent (heartbeats, dataset, events, hooks)", "vigil"};
  app.set_version_flag("--version", version_text(), "print the version and git commit, and exit");
  app.fallthrough();
  app.require_subcommand(1);
  // --config is accepted before or after the subcommand, and listed in the
  // help of every command that reads it.
  const std::string config_help =
      "node config file (TOML); default: the VIGIL_CONFIG environment variable";
  auto add_config = [&](CLI::App* cmd) { cmd->add_option("--config", o.config, config_help); };
  auto add_format = [&](CLI::App* cmd) {
    cmd->add_option("--format", o.format, "output: table (for people) or json (one line)")
        ->check(CLI::IsMember({"table", "json"}));
  };
  add_config(&app);

  std::function<int()> action;
  auto command = [&](CLI::App* parent, const char* name, const char* help, bool format,
                     std::function<int()> run) {
    auto* cmd = parent->add_subcommand(name, help);
    add_config(cmd);
    if (format) add_format(cmd);
    cmd->callback([&action, run] { action = run; });
    return cmd;
  };
  auto* daemon = app.add_subcommand("daemon", "run or inspect the daemon")->require_subcommand(1);
  add_config(daemon);
  command(daemon, "run", "run the daemon in the foreground, logs on stderr", false,
          [&] { return cmd_daemon_run(o); });
  command(daemon, "status", "show the cluster as this node sees it", true,
          [&] { return cmd_daemon_status(o); })
      ->add_flag("--watch,-w", o.watch,
                 "redraw the table in place every second and on every event, with the last 10 "
                 "events under it; q or Ctrl-C quits");
  command(daemon, "reload",
          "read the config file again and apply what changed without a restart (as SIGHUP)", true,
          [&] { return cmd_daemon_reload(o); });

  auto* node = app.add_subcommand("node", "events, waits and the local node document")
                   ->require_subcommand(1);
  add_config(node);
  auto* events = command(node, "events", "stream events, one per line", true,
                         [&] { return cmd_node_events(o); });
  events->add_option("--filter", o.filters, "filter (seed 001 grammar); several are OR'ed");
  events->add_option("--duration", o.duration, "stop after this long, e.g. 10s");
  events->add_option("--limit", o.limit, "stop after this many events (1 or more)");
  events->add_option("--template", o.event_template,
                     "print each event through a Mustache template over its JSON, "
                     "e.g. '{{kind}} {{labels.node}} {{data.hb}}'");
  auto* wait = command(node, "wait", "block until the dataset satisfies every PATH OP VALUE", true,
                       [&] { return cmd_node_wait(o); });
  wait->add_option("--filter", o.filters,
                   "condition on the dataset, e.g. '.peers.*.state=alive'; several must all hold")
      ->required();
  wait->add_option("--duration", o.duration,
                   "give up after this long (exit 1, the failing match on stderr), e.g. 30s");
  auto* set = command(node, "set", "set PATH=VALUE in the local node document", true,
                      [&] { return cmd_node_set(o); });
  set->add_option("assignment", o.assignment, "e.g. .labels.rack=r7 (VALUE is JSON or a string)")
      ->required();
  auto* patch = command(node, "patch", "apply an RFC 6902 patch to the local node document", true,
                        [&] { return cmd_node_patch(o); });
  patch->add_option("patch", o.patch, "JSON array of operations")->required();
  command(node, "freeze", "mark the local node frozen", true,
          [&] { return cmd_node_simple(o, "freeze"); });
  command(node, "unfreeze", "clear the frozen mark", true,
          [&] { return cmd_node_simple(o, "unfreeze"); });

  auto* hb = app.add_subcommand("hb", "heartbeat paths")->require_subcommand(1);
  add_config(hb);
  command(hb, "status", "per path and peer: state, counters, drops", true,
          [&] { return cmd_hb_status(o); });
  auto* hb_rotate =
      command(hb, "rotate", "switch every node to a new heartbeat secret, without downtime", true,
              [&] { return cmd_hb_rotate(o); });
  hb_rotate->add_option("--secret-file", o.secret_file,
                        "file with the new secret (64 hex digits); default: a random one");
  // Commands that run as an operation of the daemon (seed 003): --async.
  const std::string async_help =
      "print the operation's id and location and exit 0 at once; `vigil queue show ID` reads it";
  hb_rotate->add_flag("--async", o.async, async_help);

  auto* cluster =
      app.add_subcommand("cluster", "membership: join tokens, join, leave, forget, members")
          ->require_subcommand(1);
  add_config(cluster);
  auto* token = command(cluster, "token",
                        "print a join token for `cluster join` (needs an [api] TLS listener)", true,
                        [&] { return cmd_cluster_token(o); });
  token->add_option("--duration", o.duration,
                    "how long the token is valid, 1s to 24h; default 10m");
  auto* join = command(cluster, "join",
                       "join a cluster through a member (the seed) with a token from `cluster "
                       "token`; exits 0 once the seed is seen alive, 1 on timeout, 2 when refused",
                       true, [&] { return cmd_cluster_join(o); });
  join->add_option("--token", o.token, "the join token")->required();
  join->add_option("--seed", o.seed, "the seed's [api] listen address, HOST:PORT")->required();
  join->add_option("--timeout", o.timeout,
                   "how long to wait for the seed, 100ms to 1h; default 30s");
  join->add_flag("--async", o.async, async_help);
  auto* leave = command(cluster, "leave",
                        "leave the cluster, once the alive peers acknowledge it; exits 1 when "
                        "they did not in time (the node left anyway)",
                        true, [&] { return cmd_cluster_leave(o); });
  leave->add_option("--timeout", o.timeout, "how long to wait for the peers; default 10s");
  leave->add_flag("--async", o.async, async_help);
  auto* forget =
      command(cluster, "forget", "remove a dead member for good (refused while it is alive)", true,
              [&] { return cmd_cluster_forget(o); });
  forget->add_option("NODE", o.node, "the member to forget")->required();
  forget->add_flag("--async", o.async, async_help);
  command(cluster, "members", "list the members: addresses per path, state, ltime", true,
          [&] { return cmd_cluster_members(o); });

  // These two read no config; --config is accepted (and ignored) as everywhere.
  const std::string unused_config_help =
      "accepted, like the VIGIL_CONFIG environment variable, for symmetry; this command reads no "
      "config";
  auto* webhook =
      app.add_subcommand("webhook", "cluster-wide webhooks: events to HTTP(S) receivers")
          ->require_subcommand(1);
  auto webhook_command = [&](const char* name, const char* help, bool credentials, bool filters) {
    auto* cmd = command(webhook, name, help, true, [&o, name] { return cmd_webhook(o, name); });
    if (std::string(name) != "list")
      cmd->add_option("URL", o.url, "http:// or https:// URL")->required();
    if (credentials) {
      cmd->add_option("--bearer-token", o.bearer_token, "send Authorization: Bearer TOKEN");
      cmd->add_option("--secret", o.webhook_secret,
                      "send a JWT (HS256, 60 s) signed with SECRET in each request");
    }
    if (filters)
      cmd->add_option("--filter", o.filters,
                      "deliver only matching events (seed 001 grammar); several are OR'ed");
    return cmd;
  };
  webhook_command("add", "add a webhook on every node", true, true);
  webhook_command("mod", "change a webhook's credential or filters on every node", true, true)
      ->add_flag("--no-auth", o.no_auth, "drop the webhook's credential: plain requests");
  webhook_command("del", "delete a webhook on every node", false, false);
  webhook_command("list", "the webhooks and this node's delivery counters", false, false);
  webhook_command("test", "post a test event to URL from every alive node", true, false)
      ->add_flag("--async", o.async, async_help);

  auto* queue = app.add_subcommand("queue", "operations the daemon runs in the background")
                    ->require_subcommand(1);
  add_config(queue);
  auto* queue_show = command(queue, "show",
                             "an operation (from --async): state, progress, result or error; "
                             "exits 1 when it failed",
                             true, [&] { return cmd_queue_show(o); });
  queue_show->add_option("ID", o.operation, "the operation id (32 hex digits)")->required();

  auto* exports = app.add_subcommand("export", "events exported to a NATS server ([export.nats])")
                      ->require_subcommand(1);
  command(exports, "status",
          "this node's export: connected, buffered, published, acked, dropped, last error", true,
          [&] { return cmd_export_status(o); });

  auto* secret = app.add_subcommand("secret", "cluster secrets")->require_subcommand(1);
  secret->add_option("--config", o.config, unused_config_help);
  auto* generate = secret->add_subcommand(
      "generate", "print a new cluster secret, or write it to FILE with mode 0600");
  generate->add_option("file", o.secret_out, "file to create (never overwritten)");
  add_format(generate);
  generate->add_option("--config", o.config, unused_config_help);
  generate->callback([&] { action = [&] { return cmd_secret_generate(o); }; });
  auto* version = app.add_subcommand("version", "print the version and git commit");
  add_format(version);
  version->add_option("--config", o.config, unused_config_help);
  version->callback([&] { action = [&] { return cmd_version(o); }; });

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
