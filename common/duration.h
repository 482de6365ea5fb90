// Parsing and printing of the durations and sizes users type on the command
// line and in config files: "500ms", "30s", "5m", "2h", "4d"; "256KiB",
// "1MiB". A bare number is seconds for a duration and bytes for a size.
// Used by the CLI, the agent's options and its config file.

#pragma once

#include "common/status.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace dmq {

using millis = std::chrono::milliseconds;

// Longest duration anyone may ask for (about 100 years); keeps every
// deadline computed from a duration far away from integer overflow.
constexpr std::int64_t kMaxDurationMs = 100LL * 365 * 24 * 3600 * 1000;

// Returns the duration, or bad_request naming the valid forms.
result<millis> parse_duration(std::string_view text);

// Returns the size in bytes, or bad_request naming the valid forms.
result<std::uint64_t> parse_size(std::string_view text);

// Shortest exact rendering: 30000 -> "30s", 1500 -> "1500ms".
std::string format_duration(millis value);

// Shortest exact rendering: 262144 -> "256KiB", 1000 -> "1000B".
std::string format_size(std::uint64_t bytes);

}  // namespace dmq
