// Rules for queue names and the "did you mean" suggestion for a mistyped
// one. The agent enforces the rule; the CLI checks it too so that a typo
// fails before any network round trip.

#pragma once

#include "common/status.h"

#include <string>
#include <string_view>
#include <vector>

namespace dmq {

constexpr std::size_t kMaxQueueNameLength = 80;

// ok, or bad_request saying which rule the name breaks.
status validate_queue_name(std::string_view name);

// The candidate closest to `name` by edit distance, if it is close enough
// to be a likely typo; empty otherwise.
std::string closest_name(std::string_view name,
                         const std::vector<std::string>& candidates);

}  // namespace dmq
