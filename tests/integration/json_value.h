// A small JSON reader for the integration tests: parses what `dmq ...
// --format json` prints (one object, or JSON Lines) into a tree the tests
// can query. Strict enough to catch invalid output (a test that reads the
// CLI's JSON also checks that it is JSON); not meant for anything else.

#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dmq::itest {

class json_value;
using json_array = std::vector<json_value>;
using json_object = std::map<std::string, json_value, std::less<>>;

// One parsed JSON value. Integers that fit in int64 stay exact.
class json_value {
public:
    json_value() = default;  // null
    explicit json_value(bool b) : v_(b) {}
    explicit json_value(std::int64_t i) : v_(i) {}
    explicit json_value(double d) : v_(d) {}
    explicit json_value(std::string s) : v_(std::move(s)) {}
    explicit json_value(json_array a)
        : v_(std::make_shared<json_array>(std::move(a))) {}
    explicit json_value(json_object o)
        : v_(std::make_shared<json_object>(std::move(o))) {}

    bool is_null() const { return v_.index() == 0; }
    const bool* as_bool() const { return std::get_if<bool>(&v_); }
    const std::int64_t* as_int() const {
        return std::get_if<std::int64_t>(&v_);
    }
    const std::string* as_string() const {
        return std::get_if<std::string>(&v_);
    }
    const json_array* as_array() const;
    const json_object* as_object() const;

    // The member `key` of an object, or nullptr (also for non-objects).
    const json_value* find(std::string_view key) const;

    // Shortcuts for tests: the member as a string or integer, or nullopt
    // when it is missing or of another type.
    std::optional<std::string> string_at(std::string_view key) const;
    std::optional<std::int64_t> int_at(std::string_view key) const;

private:
    std::variant<std::monostate, bool, std::int64_t, double, std::string,
                 std::shared_ptr<json_array>, std::shared_ptr<json_object>>
        v_;
};

struct json_parse_result {
    std::optional<json_value> value;
    std::string error;  // set when value is empty
};

// Parses exactly one JSON value (surrounding whitespace allowed).
json_parse_result parse_json(std::string_view text);

// Standard base64 (RFC 4648) decoding; nullopt for malformed input.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace dmq::itest
