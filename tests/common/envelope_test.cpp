// Envelope encoding and, above all, decoding of malformed input: nothing a
// client sends may crash the agent or make it allocate without bound.

#include "common/envelope.h"

#include <catch2/catch.hpp>

#include <random>

using namespace dmq::proto;

TEST_CASE("a request round-trips with its body frames", "[protocol]") {
    value_map args{{"queue", "jobs"}, {"max", 3}};
    auto frames = encode_request("r1", "send", args, {"a", std::string(1, 0)});
    REQUIRE(frames.size() == 3);

    auto req = decode_request(frames);
    REQUIRE(req.is_ok());
    CHECK(req->version == kProtocolVersion);
    CHECK(req->id == "r1");
    CHECK(req->op == "send");
    CHECK(*fields(req->args).string("queue") == "jobs");
    CHECK(*fields(req->args).integer("max") == 3);
    CHECK(req->bodies == std::vector<std::string>{"a", std::string(1, 0)});
}

TEST_CASE("an error reply carries its wire code and message", "[protocol]") {
    reply r;
    r.id = "r2";
    r.error = dmq::status(dmq::errc::not_found, "unknown queue 'x'");
    auto back = decode_reply(encode_reply(r));
    REQUIRE(back.is_ok());
    CHECK(back->id == "r2");
    CHECK(back->error.code() == dmq::errc::not_found);
    CHECK(back->error.message() == "unknown queue 'x'");
}

TEST_CASE("malformed envelopes are refused, not crashed on", "[protocol]") {
    std::vector<std::string> bad = {
        "",                              // empty frame
        "\xc1",                          // reserved msgpack byte
        "\x93\x01\x02\x03",              // an array, not a map
        "\x81\xa1v",                     // map cut short
        "\xdf\xff\xff\xff\xff",          // map claiming 4G entries
        "\xdb\xff\xff\xff\xff",          // string claiming 4 GiB
        std::string("\x81\x01\x02", 3),  // integer key
        encode(value_map{{"v", 1}}),     // no op
        encode(value_map{{"v", "1"}, {"op", "ping"}}),  // wrong type
        encode(value_map{{"v", 1}, {"op", 7}}),
        encode(value_map{{"v", 1}, {"op", "ping"}}) + "x",  // trailing byte
    };
    for (const auto& frame : bad) {
        auto req = decode_request({frame});
        CHECK_FALSE(req.is_ok());
        if (!req.is_ok()) {
            CHECK(req.error().code() == dmq::errc::bad_request);
        }
    }
    CHECK_FALSE(decode_request({}).is_ok());
}

TEST_CASE("deeply nested envelopes are refused", "[protocol]") {
    std::string frame = "\x81\xa1x";
    for (int i = 0; i < 100; ++i) {
        frame += "\x91";
    }
    frame += "\x01";
    CHECK_FALSE(decode_request({frame}).is_ok());
}

TEST_CASE("random bytes never crash the decoder", "[protocol]") {
    std::mt19937 rng(42);
    std::string good =
        encode(value_map{{"v", 1},
                         {"id", "x"},
                         {"op", "send"},
                         {"messages", value_list{value_map{{"a", 1}}}}});
    for (int i = 0; i < 20'000; ++i) {
        std::string frame = good;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            frame[rng() % frame.size()] = static_cast<char>(rng());
        }
        frame.resize(rng() % (frame.size() + 1));
        (void)decode_request({frame});
    }
    SUCCEED("decoder survived 20000 corrupted envelopes");
}
