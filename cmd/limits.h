// Limits of protocol version 1 (docs/protocol.md) that the CLI checks
// before sending, so that breaking one is a clear usage error instead of
// a round trip, and the sizes the CLI gives its own requests.

#pragma once

#include "common/duration.h"
#include "common/envelope.h"

#include <cstddef>
#include <cstdint>

namespace dmq::cli {

// No queue takes a body larger than this, whatever its max_size.
constexpr std::uint64_t kMaxBodyBytes = 16 << 20;

// A message carries at most this many attributes, of at most this many
// bytes (keys and values) in all.
constexpr std::size_t kMaxAttributes = 64;
constexpr std::size_t kMaxAttributeBytes = 16 << 10;

// The longest long poll an agent accepts.
constexpr millis kMaxWait{20'000};

// The most messages one receive or peek may ask for.
constexpr std::int64_t kMaxReceive = proto::kMaxBatchMessages;

// A send request carries at most this many messages, and stops taking
// more once its bodies or its envelope reach these sizes, so that it stays
// well under the agent's 4 MiB envelope limit.
constexpr std::size_t kSendBatchMessages = 1000;
constexpr std::size_t kSendBatchBodyBytes = 4 << 20;
constexpr std::size_t kSendBatchEnvelopeBytes = 2 << 20;

}  // namespace dmq::cli
