// Message output formats and JSON helpers; see output_format.h.

#include "cmd/output_format.h"

#include "common/utf8.h"

#include <array>
#include <cstdio>
#include <ctime>

namespace dmq::cli {

namespace {

constexpr std::string_view kReplacementChar = "\xef\xbf\xbd";  // U+FFFD

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 when
// it does not start with one. Ranges from the Unicode standard, table 3-7.
void append_escaped_char(std::string& out, unsigned char c) {
    switch (c) {
        case '"':
            out += "\\\"";
            return;
        case '\\':
            out += "\\\\";
            return;
        case '\b':
            out += "\\b";
            return;
        case '\f':
            out += "\\f";
            return;
        case '\n':
            out += "\\n";
            return;
        case '\r':
            out += "\\r";
            return;
        case '\t':
            out += "\\t";
            return;
        default:
            break;
    }
    if (c < 0x20 || c == 0x7f) {
        constexpr std::string_view kHex = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
        return;
    }
    out += static_cast<char>(c);
}

std::string message_json(const message_record& message) {
    json_object object;
    object.add("id", message.id);
    if (message.receipt) {
        object.add("receipt", *message.receipt);
    }
    object.add("receive_count", message.receive_count);
    object.add("sent_at", format_timestamp(message.sent_at_ms));
    if (message.priority) {
        object.add("priority", *message.priority);
    }
    if (message.group) {
        object.add("group", *message.group);
    }
    if (message.dedup_id) {
        object.add("dedup_id", *message.dedup_id);
    }
    if (message.source_queue) {
        object.add("source_queue", *message.source_queue);
    }
    if (message.redrive_count) {
        object.add("redrive_count", *message.redrive_count);
    }
    object.add_raw("attributes", attributes_json(message.attributes));
    if (is_valid_utf8(message.body)) {
        object.add("body", message.body);
    } else {
        object.add("body_base64", base64_encode(message.body));
    }
    return object.str();
}

}  // namespace

std::string attributes_json(
    const std::vector<std::pair<std::string, std::string>>& attributes) {
    std::string out = "{";
    for (const auto& [key, text] : attributes) {
        if (out.size() > 1) {
            out += ',';
        }
        append_json_string(out, key);
        out += ':';
        append_json_string(out, text);
    }
    out += '}';
    return out;
}

std::string format_message(const message_record& message, output_mode mode) {
    switch (mode) {
        case output_mode::lines:
            return message.body + '\n';
        case output_mode::null:
            return message.body + '\0';
        case output_mode::raw:
            return message.body;
        case output_mode::json:
            return message_json(message) + '\n';
    }
    return message.body;
}

std::string base64_encode(std::string_view bytes) {
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);

    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16 |
                          static_cast<unsigned char>(bytes[i + 1]) << 8 |
                          static_cast<unsigned char>(bytes[i + 2]);
        out += kAlphabet[n >> 18];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }

    // One or two bytes left: pad the last group with '='.
    std::size_t left = bytes.size() - i;
    if (left > 0) {
        std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
        if (left == 2) {
            n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        }
        out += kAlphabet[n >> 18];
        out += kAlphabet[(n >> 12) & 63];
        out += left == 2 ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    while (!text.empty()) {
        std::size_t length = utf8_sequence_length(text);
        if (length == 0) {
            out += kReplacementChar;
            length = 1;
        } else if (length == 1) {
            append_escaped_char(out, static_cast<unsigned char>(text[0]));
        } else {
            out.append(text.data(), length);
        }
        text.remove_prefix(length);
    }
    out += '"';
}

std::string format_timestamp(std::int64_t ms_since_epoch) {
    // Floor division, so that times before 1970 still print correctly.
    std::int64_t seconds = ms_since_epoch / 1000;
    std::int64_t millis = ms_since_epoch % 1000;
    if (millis < 0) {
        millis += 1000;
        seconds -= 1;
    }

    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm utc = {};
    gmtime_r(&t, &utc);
    std::array<char, 64> text{};
    std::size_t n =
        std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &utc);
    std::array<char, 8> fraction{};
    std::snprintf(fraction.data(), fraction.size(), ".%03dZ",
                  static_cast<int>(millis));
    return std::string(text.data(), n) + fraction.data();
}

std::string format_age(std::int64_t ms) {
    if (ms < 1000) {
        return std::to_string(ms < 0 ? 0 : ms) + "ms";
    }
    std::int64_t seconds = ms / 1000;
    constexpr std::array<std::pair<std::int64_t, char>, 4> kUnits = {{
        {86400, 'd'},
        {3600, 'h'},
        {60, 'm'},
        {1, 's'},
    }};

    std::string out;
    for (const auto& [size, suffix] : kUnits) {
        if (seconds >= size) {
            out += std::to_string(seconds / size);
            out += suffix;
            seconds %= size;
        }
    }
    return out;
}

std::string format_bytes(std::uint64_t bytes) {
    constexpr std::array<std::string_view, 5> kUnits = {"B", "KiB", "MiB",
                                                        "GiB", "TiB"};
    if (bytes < 1024) {
        return std::to_string(bytes) + "B";
    }
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < kUnits.size()) {
        value /= 1024;
        ++unit;
    }
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%.1f", value);
    return std::string(text.data()) + std::string(kUnits[unit]);
}

json_object& json_object::add(std::string_view name, std::string_view text) {
    key(name);
    append_json_string(text_, text);
    return *this;
}

json_object& json_object::add(std::string_view name, std::int64_t number) {
    key(name);
    text_ += std::to_string(number);
    return *this;
}

json_object& json_object::add_bool(std::string_view name, bool flag) {
    key(name);
    text_ += flag ? "true" : "false";
    return *this;
}

json_object& json_object::add_null(std::string_view name) {
    key(name);
    text_ += "null";
    return *this;
}

json_object& json_object::add_raw(std::string_view name,
                                  std::string_view json) {
    key(name);
    text_ += json;
    return *this;
}

void json_object::key(std::string_view name) {
    if (text_.size() > 1) {
        text_ += ',';
    }
    append_json_string(text_, name);
    text_ += ':';
}

}  // namespace dmq::cli
