// Per-message field rules; see message_fields.h.

#include "common/message_fields.h"

#include "common/utf8.h"

#include <string>

namespace dmq {

namespace {

status bad(std::string message) {
    return {errc::bad_request, std::move(message)};
}

bool is_alpha(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

status validate_attribute_key(std::string_view key) {
    if (key.empty() || key.size() > kMaxAttributeKeyLength) {
        return bad("attribute key '" + printable(key) +
                   "' must be 1 to 64 characters");
    }
    bool ok = is_alpha(key[0]) || key[0] == '_';
    for (char c : key) {
        ok = ok && (is_alpha(c) || is_digit(c) || c == '_');
    }
    if (!ok) {
        return bad("attribute key '" + printable(key) +
                   "' must start with a letter or '_' and hold only "
                   "letters, digits and '_' (it becomes the environment "
                   "variable DMQ_ATTR_<KEY>)");
    }
    return status::ok();
}

status validate_attribute_value(std::string_view key, std::string_view value) {
    if (value.size() > kMaxAttributeValueBytes) {
        return bad("the value of attribute '" + printable(key) + "' is " +
                   std::to_string(value.size()) +
                   " bytes; at most 1024 are allowed");
    }
    if (value.find('\0') != std::string_view::npos || !is_valid_utf8(value)) {
        return bad("the value of attribute '" + printable(key) +
                   "' must be UTF-8 text without NUL bytes");
    }
    return status::ok();
}

status validate_group(std::string_view group) {
    bool ok = !group.empty() && group.size() <= kMaxGroupLength;
    for (char c : group) {
        ok = ok && (is_alpha(c) || is_digit(c) || c == '.' || c == '_' ||
                    c == ':' || c == '-');
    }
    if (!ok) {
        return bad("group '" + printable(group) +
                   "' must be 1 to 128 characters from A-Z a-z 0-9 . _ : -");
    }
    return status::ok();
}

status validate_dedup_id(std::string_view id) {
    bool ok = !id.empty() && id.size() <= kMaxDedupIdLength;
    for (char c : id) {
        ok = ok && c > ' ' && c < 127;
    }
    if (!ok) {
        return bad("dedup id '" + printable(id) +
                   "' must be 1 to 128 printable ASCII characters without "
                   "spaces");
    }
    return status::ok();
}

status validate_priority(long long priority) {
    if (priority < 0 || priority > kLowestPriority) {
        return bad("priority must be between 0 (first) and 9, not " +
                   std::to_string(priority));
    }
    return status::ok();
}

}  // namespace dmq
