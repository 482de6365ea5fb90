// Duration and size parsing, as typed on the command line.

#include "common/duration.h"

#include <catch2/catch.hpp>

using dmq::millis;
using dmq::parse_duration;
using dmq::parse_size;

TEST_CASE("durations accept every documented unit", "[common]") {
    CHECK(*parse_duration("500ms") == millis(500));
    CHECK(*parse_duration("30s") == millis(30'000));
    CHECK(*parse_duration("5m") == millis(300'000));
    CHECK(*parse_duration("2h") == millis(7'200'000));
    CHECK(*parse_duration("4d") == millis(345'600'000));
    CHECK(*parse_duration("0") == millis(0));
}

TEST_CASE("a bare number is a duration in seconds", "[common]") {
    CHECK(*parse_duration("20") == millis(20'000));
}

TEST_CASE("malformed durations are refused with the valid forms", "[common]") {
    for (const char* bad : {"", "s", "-1", "1.5s", "10x", "3 s", "1sec",
                            "9223372036854775808", "99999999999d"}) {
        auto parsed = parse_duration(bad);
        INFO(bad);
        REQUIRE_FALSE(parsed.is_ok());
        CHECK(parsed.error().code() == dmq::errc::bad_request);
    }
    CHECK_THAT(parse_duration("10x").error().message(),
               Catch::Contains("500ms, 30s, 5m, 2h or 4d"));
}

TEST_CASE("sizes accept bytes and binary units", "[common]") {
    CHECK(*parse_size("1024") == 1024);
    CHECK(*parse_size("256KiB") == 262'144);
    CHECK(*parse_size("1MiB") == 1'048'576);
    CHECK(*parse_size("2GiB") == 2ULL << 30);
    CHECK(*parse_size("7B") == 7);
}

TEST_CASE("malformed sizes are refused", "[common]") {
    for (const char* bad :
         {"", "KiB", "-5", "1kb", "1.5MiB", "99999999999999999999",
          "18446744073709551615GiB"}) {
        INFO(bad);
        CHECK_FALSE(parse_size(bad).is_ok());
    }
}

TEST_CASE("durations and sizes print in their shortest exact form",
          "[common]") {
    CHECK(dmq::format_duration(millis(30'000)) == "30s");
    CHECK(dmq::format_duration(millis(1'500)) == "1500ms");
    CHECK(dmq::format_duration(millis(345'600'000)) == "4d");
    CHECK(dmq::format_duration(millis(0)) == "0ms");
    CHECK(dmq::format_size(262'144) == "256KiB");
    CHECK(dmq::format_size(1000) == "1000B");
}
