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
// A release's delay, which may be as long as a visibility timeout.
constexpr duration_range kReleaseDelayRange{millis(0), millis(12 * 3'600'000)};
// A visibility timeout (receive, extend, queue create/update).
constexpr duration_range kVisibilityRange{millis(0), millis(12 * 3'600'000)};
// A queue's retention: 1s to 36500d.
constexpr duration_range kRetentionRange{millis(1000), millis(kMaxDurationMs)};
// A long poll (receive --wait).
constexpr duration_range kWaitRange{millis(0), kMaxWait};
// The client's own --timeout: anything but 0, which would fail every
// request before it is sent.
constexpr duration_range kTimeoutRange{millis(1), millis(kMaxDurationMs)};
// How long a queue remembers dedup ids: 1s to 7d.
constexpr duration_range kDedupWindowRange{millis(1000),
                                           millis(7 * 24 * 3'600'000LL)};
// Any other duration.
constexpr duration_range kAnyDuration{millis(0), millis(kMaxDurationMs)};
// A queue's max_size.
constexpr size_range kMaxSizeRange{1, kMaxBodyBytes};

// How many deliveries without an ack send a message to its queue's
// dead-letter queue.
constexpr std::int64_t kMaxMaxReceives = 1000;

// The most messages one receive or peek may ask for.
constexpr std::int64_t kMaxReceive = proto::kMaxBatchMessages;

// A send request carries at most this many messages, and stops taking
// more once its bodies or its envelope reach these sizes, so that it stays
// well under the agent's 4 MiB envelope limit.
constexpr std::size_t kSendBatchMessages = 1000;
constexpr std::size_t kSendBatchBodyBytes = 4 << 20;
constexpr std::size_t kSendBatchEnvelopeBytes = 2 << 20;

// The most receipts the CLI puts in one ack, release or extend.
constexpr std::size_t kReceiptBatch = proto::kMaxBatchMessages;

// `queue redrive`: the most messages one request moves (the agent takes
// up to 10000; smaller requests keep each under a second or so), the
// highest --rate and the highest --max.
constexpr std::int64_t kRedriveBatch = 1000;
constexpr std::int64_t kMaxRedriveRate = 100'000;
constexpr std::int64_t kMaxRedriveTotal = 1'000'000'000;

}  // namespace dmq::cli
