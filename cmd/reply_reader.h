// Reading the fields of an agent's reply. A field that is missing or of
// the wrong type makes the reply malformed: the reader notes the first
// such problem and hands out a neutral value, so that a command reads all
// it needs and checks error() once. Also turns the entries of a receive
// or peek reply, with their body frames, into message_records.

#pragma once

#include "cmd/output_format.h"
#include "common/envelope.h"
#include "common/status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmq::cli {

class reply_reader {
public:
    explicit reply_reader(const proto::value_map& map) : map_(map) {}

    // True when `key` is present and not nil.
    bool has(std::string_view key) const { return find(key) != nullptr; }

    std::int64_t integer(std::string_view key);
    // Absent or nil is a valid answer here (oldest_age_ms of an empty
    // queue, say).
    std::optional<std::int64_t> optional_integer(std::string_view key);
    std::string string(std::string_view key);
    std::optional<std::string> optional_string(std::string_view key);
    bool boolean(std::string_view key);
    // Absent or nil reads as false.
    bool boolean_or_false(std::string_view key);
    const proto::value_list& list(std::string_view key);
    // Absent or nil reads as an empty map.
    const proto::value_map& map(std::string_view key);

    // ok, or internal: "malformed reply from the agent: <first problem>".
    status error() const { return error_; }

private:
    const proto::value* find(std::string_view key) const;
    void note(std::string_view key, std::string_view want);

    const proto::value_map& map_;
    status error_;
};

// The map inside `entry`, or an empty map (on which every required read
// then fails) when `entry` is not one.
const proto::value_map& map_or_empty(const proto::value& entry);

// The messages of a receive or peek reply (or of a push), each with its
// body frame.
result<std::vector<message_record>> read_messages(const proto::reply& reply);

// One message map (an entry of `messages`, or show's `message`) without
// its body.
result<message_record> read_message_map(const proto::value& entry);

// The attributes map of a message as ordered pairs; non-string values
// make the reply malformed.
status read_attributes(const proto::value_map& map,
                       std::vector<std::pair<std::string, std::string>>& out);

}  // namespace dmq::cli
