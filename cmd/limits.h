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

// The values each kind of option may take: those the agent accepts, so
// that one outside is a usage error (exit 2) naming the option, not a
// refusal by the agent (exit 5). This is the one table of them; the
// agent's own checks are in agent/queue and agent/net.
struct duration_range {
    millis least;
    millis most;
};

struct size_range {
    std::uint64_t least;
    std::uint64_t most;
};

// A message's or a queue's delay (send, release, queue create/update).
constexpr duration_range kDelayRange{millis(0), millis(15 * 60'000)};
// A visibility timeout (receive, extend, queue create/update).
constexpr duration_range kVisibilityRange{millis(0), millis(12 * 3'600'000)};
// A queue's retention: 1s to 36500d.
constexpr duration_range kRetentionRange{millis(1000), millis(kMaxDurationMs)};
// A long poll (receive --wait).
constexpr duration_range kWaitRange{millis(0), kMaxWait};
// The client's own --timeout: anything but 0, which would fail every
// request before it is sent.
constexpr duration_range kTimeoutRange{millis(1), millis(kMaxDurationMs)};
// Any other duration.
constexpr duration_range kAnyDuration{millis(0), millis(kMaxDurationMs)};
// A queue's max_size.
constexpr size_range kMaxSizeRange{1, kMaxBodyBytes};

// The most messages one receive or peek may ask for.
constexpr std::int64_t kMaxReceive = proto::kMaxBatchMessages;

// A send request carries at most this many messages, and stops taking
// more once its bodies or its envelope reach these sizes, so that it stays
// well under the agent's 4 MiB envelope limit.
constexpr std::size_t kSendBatchMessages = 1000;
constexpr std::size_t kSendBatchBodyBytes = 4 << 20;
constexpr std::size_t kSendBatchEnvelopeBytes = 2 << 20;

}  // namespace dmq::cli
