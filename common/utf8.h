// UTF-8 validation, for text that must reach clients as msgpack strings
// (attribute keys and values) or JSON strings (bodies in --format json).

#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dmq {

// Length of the well-formed UTF-8 sequence that starts `s` (1 to 4), or 0
// when it does not start with one: an overlong form, a surrogate, a code
// point past U+10FFFF, or a sequence cut short. `s` must not be empty.
std::size_t utf8_sequence_length(std::string_view s);

// True when `bytes` is well-formed UTF-8 throughout.
bool is_valid_utf8(std::string_view bytes);

// `bytes` made safe to quote in an error message: bytes that are not
// well-formed UTF-8, and control characters, become \xHH, so that a
// reply never carries a string a client's decoder refuses.
std::string printable(std::string_view bytes);

}  // namespace dmq
