// The conditions of `vigil node wait --filter` (README, "Wait conditions"):
// a JsonCondition on the cluster dataset, checked where it enters (the CLI,
// and POST /v1/wait), so that a condition that can only be a mistake is
// refused instead of waiting for ever.
#ifndef VIGIL_AGENT_EVENTS_DATASET_CONDITION_H_
#define VIGIL_AGENT_EVENTS_DATASET_CONDITION_H_

#include <string_view>

#include "agent/events/json_condition.h"

namespace vigil::agent {

/// Parses one wait condition. Throws FilterError ("invalid filter '<text>':
/// <reason>") for what JsonCondition::parse refuses, and for:
///  - an event filter, whose first element is an event kind (`NodeStale`,
///    `NodeStale,node=n2`): the reason says to use `node events --filter`;
///  - a path outside the dataset, whose first segment is not `cluster`,
///    `node` or `peers` (`.x=1`, `.`).
JsonCondition parse_dataset_condition(std::string_view text);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_EVENTS_DATASET_CONDITION_H_
