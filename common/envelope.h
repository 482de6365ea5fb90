// The msgpack envelope that opens every request and reply frame set, and a
// small document model (value) for building and reading it. Message bodies
// never go through this: they travel as raw frames after the envelope.
// The format is specified in docs/protocol.md; keep the two in step.

#pragma once

#include "common/status.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dmq::proto {

// Version spoken by this build, sent as "v" in every envelope.
constexpr std::int64_t kProtocolVersion = 1;

// An envelope larger than this is refused before it is decoded.
constexpr std::size_t kMaxEnvelopeBytes = 4 << 20;

// A receive or peek returns at most this many messages per request.
constexpr std::int64_t kMaxBatchMessages = 10'000;

class value;
using value_list = std::vector<value>;
using value_map = std::map<std::string, value, std::less<>>;

// One msgpack value: nil, bool, integer, string (also used for binary),
// list or map. Lists and maps are held by pointer so value stays small.
class value {
public:
    value() = default;
    value(bool b) : data_(b) {}
    value(int i) : data_(static_cast<std::int64_t>(i)) {}
    value(std::int64_t i) : data_(i) {}
    value(std::uint64_t i) : data_(static_cast<std::int64_t>(i)) {}
    value(const char* s) : data_(std::string(s)) {}
    value(std::string s) : data_(std::move(s)) {}
    value(std::string_view s) : data_(std::string(s)) {}
    value(value_list list)
        : data_(std::make_shared<value_list>(std::move(list))) {}
    value(value_map map) : data_(std::make_shared<value_map>(std::move(map))) {}

    bool is_nil() const { return data_.index() == 0; }
    const bool* as_bool() const { return std::get_if<bool>(&data_); }
    const std::int64_t* as_int() const {
        return std::get_if<std::int64_t>(&data_);
    }
    const std::string* as_string() const {
        return std::get_if<std::string>(&data_);
    }
    const value_list* as_list() const;
    const value_map* as_map() const;

private:
    std::variant<std::monostate, bool, std::int64_t, std::string,
                 std::shared_ptr<value_list>, std::shared_ptr<value_map>>
        data_;
};

// Serialises a value as msgpack.
std::string encode(const value& v);

// Parses msgpack bytes; bad_request if they are not one well-formed value
// within the size and nesting limits.
result<value> decode(std::string_view bytes);

// Typed field access on a decoded envelope map. Each getter returns
// bad_request naming the field when it is present with the wrong type;
// the *_or variants return the fallback when the field is absent.
class fields {
public:
    explicit fields(const value_map& map) : map_(map) {}

    bool has(std::string_view key) const;
    result<std::string> string(std::string_view key) const;
    result<std::string> string_or(std::string_view key,
                                  std::string fallback) const;
    result<std::int64_t> integer(std::string_view key) const;
    result<std::int64_t> integer_or(std::string_view key,
                                    std::int64_t fallback) const;
    result<bool> boolean_or(std::string_view key, bool fallback) const;
    result<const value_list*> list(std::string_view key) const;
    result<const value_map*> map_or_empty(std::string_view key) const;

private:
    const value* find(std::string_view key) const;
    const value_map& map_;
};

// A request as the agent sees it: envelope fields plus body frames.
struct request {
    std::int64_t version = 0;
    std::string id;
    std::string op;
    value_map args;  // the whole envelope map, "v", "id" and "op" included
    std::vector<std::string> bodies;
};

// The "id" of an envelope that decode_request() refused, when one can be
// read, so that even an error reply can be matched to its request.
std::string peek_request_id(std::string_view envelope);

// Builds the frames of a request: envelope first, then one per body.
std::vector<std::string> encode_request(const std::string& id,
                                        const std::string& op, value_map args,
                                        std::vector<std::string> bodies = {});

// Decodes a request's frames. bad_request if the envelope is missing or
// malformed; the caller still learns the id when one could be read.
result<request> decode_request(std::vector<std::string> frames);

// A reply: ok with fields and bodies, or an error code and message.
struct reply {
    std::string id;
    status error;  // ok for a successful reply
    value_map fields;
    std::vector<std::string> bodies;
};

std::vector<std::string> encode_reply(const reply& r);
result<reply> decode_reply(std::vector<std::string> frames);

}  // namespace dmq::proto
