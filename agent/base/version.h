// The agent version published in every node document (.node.<name>.version).
#ifndef VIGIL_AGENT_BASE_VERSION_H_
#define VIGIL_AGENT_BASE_VERSION_H_

namespace vigil::agent {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace vigil::agent

#endif  // VIGIL_AGENT_BASE_VERSION_H_
