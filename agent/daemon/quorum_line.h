// The quorum line: `vigil daemon status` prints it under the table, and the
// daemon sends it to systemd as STATUS= (daemon/systemd_notify.h).
#ifndef VIGIL_AGENT_DAEMON_QUORUM_LINE_H_
#define VIGIL_AGENT_DAEMON_QUORUM_LINE_H_

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace vigil::agent {

/// One line, without a newline, from `.cluster.quorum` of the dataset
/// (quorum/split_analysis.h, SplitAnalysis::status()): "quorum: held, 2 of 3
/// votes (needed 2); split action disabled; arbitrator a1 reachable"; "held"
/// is "LOST" without a majority and "not enforced" when cluster.quorum is
/// false. "" when `quorum` is not an object. Odd member types print as their
/// JSON; never throws but std::bad_alloc.
std::string quorum_line(const nlohmann::json& quorum);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_DAEMON_QUORUM_LINE_H_
