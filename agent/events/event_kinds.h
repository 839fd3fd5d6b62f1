// The event kinds vigil knows: those of seed 001 ("Event Kinds", the OpenSVC
// names), of which vigil publishes a part (README, "Events"). A hook's
// `events` and an event filter may name only these, so that a typo
// (`NodeStal`) is refused instead of never matching.
#ifndef VIGIL_AGENT_EVENTS_EVENT_KINDS_H_
#define VIGIL_AGENT_EVENTS_EVENT_KINDS_H_

#include <string_view>

namespace vigil::agent {

/// True when `kind` is an event kind of seed 001.
bool is_known_kind(std::string_view kind);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_EVENTS_EVENT_KINDS_H_
