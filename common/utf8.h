// UTF-8 validation, for text that must reach clients as msgpack strings
// (attribute keys and values) or JSON strings (bodies in --format json).

#pragma once

#include <string_view>

namespace dmq {

// True when `bytes` is well-formed UTF-8: no overlong forms, no surrogates,
// nothing above U+10FFFF, no sequence cut short.
bool is_valid_utf8(std::string_view bytes);

}  // namespace dmq
