// How messages and agent answers are written to stdout: one body per line
// (the default), NUL-terminated bodies (-0), one raw body (--raw), or JSON
// Lines (--format json), plus the small JSON, UTF-8, base64 and time
// helpers those need. Pure functions of their input; nothing here writes.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dmq::cli {

enum class output_mode {
    lines,  // body, then '\n'
    null,   // body, then '\0'
    raw,    // body bytes only
    json,   // one JSON object per message, then '\n'
};

// One delivered (or peeked) message as the agent described it.
struct message_record {
    std::string id;
    std::optional<std::string> receipt;  // absent for peek
    std::int64_t receive_count = 0;
    std::int64_t sent_at_ms = 0;
    // Absent when the agent did not send them (the fields below, when
    // the message has none).
    std::optional<std::int64_t> priority;
    std::optional<std::string> group;         // FIFO queues
    std::optional<std::string> dedup_id;      // given by the sender
    std::optional<std::string> source_queue;  // where it was dead-lettered
    std::optional<std::int64_t> redrive_count;
    std::vector<std::pair<std::string, std::string>> attributes;
    std::string body;
};

// The bytes to write for one message in the given mode.
std::string format_message(const message_record& message, output_mode mode);

// The attributes as one JSON object: {"kind":"resize"}.
std::string attributes_json(
    const std::vector<std::pair<std::string, std::string>>& attributes);

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);

// Appends `text` as a quoted JSON string. Quotes, backslashes and control
// characters (NUL included) are escaped; bytes that are not valid UTF-8
// become U+FFFD, so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

// 1700000000123 -> "2023-11-14T22:13:20.123Z" (RFC 3339, UTC).
std::string format_timestamp(std::int64_t ms_since_epoch);

// An age for people: 950 -> "950ms", 3723000 -> "1h2m3s" (whole seconds
// from one second up).
std::string format_age(std::int64_t ms);

// A size for people, rounded: 512 -> "512B", 1536 -> "1.5KiB".
std::string format_bytes(std::uint64_t bytes);

// Builds one flat JSON object, key by key, in the order added.
class json_object {
public:
    json_object& add(std::string_view key, std::string_view text);
    json_object& add(std::string_view key, std::int64_t number);
    json_object& add_bool(std::string_view key, bool flag);
    json_object& add_null(std::string_view key);
    // `json` must already be valid JSON (an object or array, say).
    json_object& add_raw(std::string_view key, std::string_view json);

    // The object text, without a trailing newline.
    std::string str() const { return text_ + "}"; }

private:
    void key(std::string_view name);

    std::string text_ = "{";
};

}  // namespace dmq::cli
