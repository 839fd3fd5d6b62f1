#include "agent/cli/daemon_log.h"

#include <spdlog/pattern_formatter.h>

namespace vigil::agent {

namespace {

// %* in the pattern: the level as the config spells it (spdlog's %l says
// "warning" where the config says "warn").
class LevelFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view name = log_level_name(msg.level);
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>();
  }
};

}  // namespace

std::string_view log_level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& node_name) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<LevelFlag>('*');
  // A node name holds no '%' (config), but the pattern must not read one.
  std::string name;
  for (char c : node_name) name += c == '%' ? std::string("%%") : std::string(1, c);
  f->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ " + name + " %^%*%$ %v");
  return f;
}

}  // namespace vigil::agent
