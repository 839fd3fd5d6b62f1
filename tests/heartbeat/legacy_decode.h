// The message decoder as it was before the receive-pipeline rewrite, kept as
// a test oracle (legacy_decode.cc says why). Not built into vigil.
#ifndef VIGIL_TESTS_HEARTBEAT_LEGACY_DECODE_H_
#define VIGIL_TESTS_HEARTBEAT_LEGACY_DECODE_H_

#include <cstdint>
#include <span>

#include "heartbeat/message.h"

namespace vigil::heartbeat::legacy {

/// heartbeat::decode() as it was: same contract, same DecodeError.
Message decode(std::span<const uint8_t> bytes);

}  // namespace vigil::heartbeat::legacy

#endif  // VIGIL_TESTS_HEARTBEAT_LEGACY_DECODE_H_
