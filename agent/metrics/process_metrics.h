// Internal to agent/metrics: the standard process metrics of Prometheus
// clients (https://prometheus.io/docs/instrumenting/writing_clientlibs/
// #process-metrics), read from /proc/self (proc(5)).
#ifndef VIGIL_AGENT_METRICS_PROCESS_METRICS_H_
#define VIGIL_AGENT_METRICS_PROCESS_METRICS_H_

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace vigil::agent {

/// The figures of one /proc/self/stat line; nullopt fields when absent.
struct ProcessStat {
  double cpu_seconds = 0;         // utime + stime, s
  double start_time_seconds = 0;  // since the epoch, s
  double virtual_bytes = 0;
  double resident_bytes = 0;
};

/// Parses a /proc/<pid>/stat line ("pid (comm) state ..."; comm may hold
/// spaces and parentheses: fields are counted after the last ')').
/// `ticks` is sysconf(_SC_CLK_TCK), `page` the page size in bytes,
/// `boot_time` btime of /proc/stat (s since the epoch). Returns false for
/// a line too short or not numeric where it must be.
bool parse_process_stat(const std::string& line, double ticks, double page, double boot_time,
                        ProcessStat& out);

/// process_cpu_seconds_total, process_start_time_seconds,
/// process_virtual_memory_bytes, process_resident_memory_bytes,
/// process_open_fds, process_max_fds. A figure that cannot be read is left
/// out; never throws but std::bad_alloc.
std::vector<prometheus::MetricFamily> process_families();

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_METRICS_PROCESS_METRICS_H_
