// Rules for the per-message fields a send may carry besides its body:
// attributes, FIFO group, dedup id and priority. The agent enforces them;
// the CLI checks them too, so that a bad value fails before any network
// round trip and both say the same thing.

#pragma once

#include "common/status.h"

#include <cstddef>
#include <string_view>

namespace dmq {

constexpr std::size_t kMaxAttributes = 16;
constexpr std::size_t kMaxAttributeKeyLength = 64;
constexpr std::size_t kMaxAttributeValueBytes = 1024;
constexpr std::size_t kMaxGroupLength = 128;
constexpr std::size_t kMaxDedupIdLength = 128;
constexpr int kLowestPriority = 9;

// Keys become environment variables (DMQ_ATTR_<KEY>) for `receive --exec`,
// hence the shell-name rule: [A-Za-z_][A-Za-z0-9_]{0,63}.
status validate_attribute_key(std::string_view key);

// UTF-8 without NUL (it could not be passed in the environment), at most
// kMaxAttributeValueBytes.
status validate_attribute_value(std::string_view key, std::string_view value);

// 1 to 128 characters from [A-Za-z0-9._:-].
status validate_group(std::string_view group);

// 1 to 128 printable ASCII characters (no space).
status validate_dedup_id(std::string_view id);

// 0 (first) to 9.
status validate_priority(long long priority);

}  // namespace dmq
