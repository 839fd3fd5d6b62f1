// What `vigil version` and `vigil --version` print.
#ifndef VIGIL_AGENT_CLI_BUILD_INFO_H_
#define VIGIL_AGENT_CLI_BUILD_INFO_H_

namespace vigil::agent {

/// The short git commit the binary was built from, taken at build time;
/// "unknown" when built outside a git checkout.
const char* build_commit();

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_BUILD_INFO_H_
