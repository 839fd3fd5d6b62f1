#include "agent/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace vigil::agent {

namespace {

prometheus::MetricFamily gauge(std::string name, std::string help, double value,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  return {std::move(name), std::move(help), type, {std::move(m)}};
}

bool number(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end && *end == '\0';
}

double boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(4096, '\n');
  }
  return 0;
}

}  // namespace

bool parse_process_stat(const std::string& line, double ticks, double page, double boot,
                        ProcessStat& out) {
  const auto close = line.rfind(')');
  if (close == std::string::npos || ticks <= 0) return false;
  std::istringstream in(line.substr(close + 1));
  // Fields from 3 (state) on; proc(5) numbers them from 1.
  std::vector<std::string> f;
  for (std::string w; in >> w;) f.push_back(w);
  // state=3 ... utime=14 stime=15 ... starttime=22 vsize=23 rss=24
  auto at = [&f](int field) -> const std::string& {
    return f[static_cast<std::size_t>(field - 3)];
  };
  if (f.size() < 22) return false;
  double utime, stime, start, vsize, rss;
  if (!number(at(14), utime) || !number(at(15), stime) || !number(at(22), start) ||
      !number(at(23), vsize) || !number(at(24), rss))
    return false;
  out.cpu_seconds = (utime + stime) / ticks;
  out.start_time_seconds = boot + start / ticks;
  out.virtual_bytes = vsize;
  out.resident_bytes = rss * page;
  return true;
}

std::vector<prometheus::MetricFamily> process_families() {
  std::vector<prometheus::MetricFamily> out;
  std::ifstream stat("/proc/self/stat");
  std::string line;
  ProcessStat s;
  if (std::getline(stat, line) &&
      parse_process_stat(line, static_cast<double>(sysconf(_SC_CLK_TCK)),
                         static_cast<double>(sysconf(_SC_PAGESIZE)), boot_time(), s)) {
    out.push_back(gauge("process_cpu_seconds_total",
                        "Total user and system CPU time spent in seconds.", s.cpu_seconds,
                        prometheus::MetricType::Counter));
    out.push_back(gauge("process_start_time_seconds",
                        "Start time of the process since unix epoch in seconds.",
                        s.start_time_seconds));
    out.push_back(
        gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", s.virtual_bytes));
    out.push_back(
        gauge("process_resident_memory_bytes", "Resident memory size in bytes.", s.resident_bytes));
  }
  std::error_code ec;
  double fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++fds;
  if (!ec) out.push_back(gauge("process_open_fds", "Number of open file descriptors.", fds));
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
    out.push_back(gauge("process_max_fds", "Maximum number of open file descriptors.",
                        static_cast<double>(limit.rlim_cur)));
  return out;
}

}  // namespace vigil::agent
