// Output of messages: plain, NUL, raw and JSON Lines, and its helpers.

#include "cmd/output_format.h"

#include "common/utf8.h"

#include <catch2/catch.hpp>

using namespace dmq::cli;
using dmq::is_valid_utf8;
using namespace std::string_literals;

namespace {

std::string json(std::string_view text) {
    std::string out;
    append_json_string(out, text);
    return out;
}

message_record sample(std::string body) {
    message_record m;
    m.id = "9a3f10c20000000000000001";
    m.receipt = "9a3f10c20000000000000001.0000002a";
    m.receive_count = 2;
    m.sent_at_ms = 1700000000123;
    m.attributes = {{"kind", "resize"}};
    m.body = std::move(body);
    return m;
}

}  // namespace

TEST_CASE("json strings escape quotes, backslashes and controls", "[json]") {
    CHECK(json("plain") == "\"plain\"");
    CHECK(json("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(json("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
    CHECK(json("\x01\x1f\x7f") == "\"\\u0001\\u001f\\u007f\"");
}

TEST_CASE("json strings escape NUL as \\u0000", "[json]") {
    CHECK(json("a\0b"s) == "\"a\\u0000b\"");
}

TEST_CASE("json strings keep valid UTF-8 as it is", "[json]") {
    CHECK(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") ==
          "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST_CASE("json strings replace invalid UTF-8 with U+FFFD", "[json]") {
    CHECK(json("a\xff"
               "b") ==
          "\"a\xef\xbf\xbd"
          "b\"");
}

TEST_CASE("UTF-8 validation refuses what the standard refuses", "[utf8]") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("hello"));
    CHECK(is_valid_utf8("\xc3\xa9"));
    CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));        // U+10FFFF
    CHECK(is_valid_utf8("\0"s));                     // NUL is valid UTF-8
    CHECK_FALSE(is_valid_utf8("\xc3"));              // cut short
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong, 3 bytes
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
    CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(is_valid_utf8("\x80"));              // lone continuation
    CHECK_FALSE(is_valid_utf8("\xff"));
}

TEST_CASE("base64 follows RFC 4648 with padding", "[base64]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode("\xff\xfe\x00"s) == "//4A");
}

TEST_CASE("a message in json has every field and its body", "[json]") {
    CHECK(format_message(sample("hi \"you\""), output_mode::json) ==
          "{\"id\":\"9a3f10c20000000000000001\","
          "\"receipt\":\"9a3f10c20000000000000001.0000002a\","
          "\"receive_count\":2,"
          "\"sent_at\":\"2023-11-14T22:13:20.123Z\","
          "\"attributes\":{\"kind\":\"resize\"},"
          "\"body\":\"hi \\\"you\\\"\"}\n");
}

TEST_CASE(
    "a message's priority, group, dedup id and redrive history are in "
    "its json when it has them",
    "[json]") {
    message_record m = sample("x");
    m.priority = 0;
    m.group = "user:7";
    m.dedup_id = "order-42";
    m.source_queue = "jobs";
    m.redrive_count = 2;
    CHECK(format_message(m, output_mode::json) ==
          "{\"id\":\"9a3f10c20000000000000001\","
          "\"receipt\":\"9a3f10c20000000000000001.0000002a\","
          "\"receive_count\":2,"
          "\"sent_at\":\"2023-11-14T22:13:20.123Z\","
          "\"priority\":0,\"group\":\"user:7\",\"dedup_id\":\"order-42\","
          "\"source_queue\":\"jobs\",\"redrive_count\":2,"
          "\"attributes\":{\"kind\":\"resize\"},"
          "\"body\":\"x\"}\n");
}

TEST_CASE("a body that is not UTF-8 goes out as body_base64", "[json]") {
    std::string out =
        format_message(sample("\xff\x00\x01"s), output_mode::json);
    CHECK(out.find("\"body_base64\":\"/wAB\"") != std::string::npos);
    CHECK(out.find("\"body\":") == std::string::npos);
}

TEST_CASE("a peeked message has no receipt in json", "[json]") {
    message_record m = sample("x");
    m.receipt.reset();
    CHECK(format_message(m, output_mode::json).find("receipt") ==
          std::string::npos);
}

TEST_CASE("plain, NUL and raw modes add one delimiter or none", "[output]") {
    CHECK(format_message(sample("a\nb"), output_mode::lines) == "a\nb\n");
    CHECK(format_message(sample("a"), output_mode::null) == "a\0"s);
    CHECK(format_message(sample("a\n"), output_mode::raw) == "a\n");
}

TEST_CASE("an empty body prints just its delimiter", "[output]") {
    CHECK(format_message(sample(""), output_mode::lines) == "\n");
    CHECK(format_message(sample(""), output_mode::null) == "\0"s);
    CHECK(format_message(sample(""), output_mode::raw).empty());
    CHECK(format_message(sample(""), output_mode::json).find("\"body\":\"\"") !=
          std::string::npos);
}

TEST_CASE("timestamps are RFC 3339 UTC with milliseconds", "[time]") {
    CHECK(format_timestamp(0) == "1970-01-01T00:00:00.000Z");
    CHECK(format_timestamp(1700000000123) == "2023-11-14T22:13:20.123Z");
    CHECK(format_timestamp(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("ages read as whole units for people", "[time]") {
    CHECK(format_age(0) == "0ms");
    CHECK(format_age(950) == "950ms");
    CHECK(format_age(1000) == "1s");
    CHECK(format_age(3723000) == "1h2m3s");
    CHECK(format_age(90061000) == "1d1h1m1s");
}

TEST_CASE("sizes for people are rounded to one decimal", "[output]") {
    CHECK(format_bytes(512) == "512B");
    CHECK(format_bytes(1536) == "1.5KiB");
    CHECK(format_bytes(3ULL << 30) == "3.0GiB");
}

TEST_CASE("json objects keep keys in order and nulls explicit", "[json]") {
    json_object o;
    o.add("a", "x").add("b", std::int64_t{-3}).add_bool("c", true);
    o.add_null("d").add_raw("e", "[1]");
    CHECK(o.str() == "{\"a\":\"x\",\"b\":-3,\"c\":true,\"d\":null,\"e\":[1]}");
}
