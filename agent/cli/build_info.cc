// The one file that includes the generated commit header: a new commit
// compiles this file again, and nothing else.
#include "agent/cli/build_info.h"

#include "vigil_build_commit.h"

namespace vigil::agent {

const char* build_commit() { return VIGIL_BUILD_COMMIT; }

}  // namespace vigil::agent
