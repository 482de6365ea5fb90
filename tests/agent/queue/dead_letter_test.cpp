// Dead letters: a message moves to its queue's dead-letter queue exactly
// when its max_receives-th delivery ends without an ack (by timeout and
// the sweep, or by release), keeping what it was, and not a delivery
// earlier or later.

#include "agent/queue/queue_engine.h"

#include "tests/agent/queue/open_engine.h"
#include "tests/agent/test_dir.h"

#include <catch2/catch.hpp>

using namespace dmq::queue;

namespace {

constexpr std::int64_t kT0 = 1'800'000'000'000;
constexpr std::int64_t kVisibility = 1'000;
// {"kind": "resize"} as msgpack.
const std::string kAttributes = "\x81\xa4kind\xa6resize";

// Queue "q" with dead-letter queue "dlq", and one message sent at kT0.
std::string must_set_up(queue_engine& e, std::int64_t max_receives) {
    REQUIRE(e.create_queue("dlq", {}, kT0).is_ok());
    config_change c;
    c.visibility_ms = kVisibility;
    c.dlq = "dlq";
    c.max_receives = max_receives;
    REQUIRE(e.create_queue("q", c, kT0).is_ok());

    outgoing_message m;
    m.body = "payload";
    m.attributes = kAttributes;
    m.priority = 2;
    auto sent = e.send("q", "", {m}, kT0);
    REQUIRE(sent.is_ok());
    REQUIRE(e.commit_batch().is_ok());
    return sent->front().id;
}

std::vector<delivered_message> must_receive(queue_engine& e,
                                            const std::string& queue,
                                            std::int64_t now) {
    auto got = e.receive(queue, 10, std::nullopt, now);
    REQUIRE(got.is_ok());
    REQUIRE(e.commit_batch().is_ok());
    return *got;
}

void must_sweep(queue_engine& e, std::int64_t now) {
    REQUIRE(e.sweep(now).is_ok());
    REQUIRE(e.commit_batch().is_ok());
}

std::int64_t stored(queue_engine& e, const std::string& queue,
                    std::int64_t now) {
    auto info = e.info(queue, now);
    REQUIRE(info.is_ok());
    const auto& c = info->counts;
    return c.visible + c.in_flight + c.delayed + c.held;
}

// The message sits in "dlq" as it was in "q": same id, body, attributes,
// priority and sent_at, `receive_count` deliveries so far, source "q".
void check_dead_lettered(queue_engine& e, const std::string& id,
                         std::uint32_t receive_count, std::int64_t now) {
    CHECK(stored(e, "q", now) == 0);
    CHECK(stored(e, "dlq", now) == 1);
    CHECK(e.show("q", id, now).error().code() == dmq::errc::not_found);

    auto shown = e.show("dlq", id, now);
    REQUIRE(shown.is_ok());
    CHECK(shown->message.source_queue == "q");
    CHECK(shown->message.receive_count == receive_count);
    CHECK(shown->message.sent_at == kT0);
    CHECK(shown->message.attributes == kAttributes);
    CHECK(shown->message.priority == 2);

    auto got = must_receive(e, "dlq", now);
    REQUIRE(got.size() == 1);
    CHECK(got[0].id == id);
    CHECK(got[0].body == "payload");
    CHECK(got[0].receive_count == receive_count + 1);
}

}  // namespace

TEST_CASE("max receives moves on the Nth failed delivery, not before or after",
          "[queue][dlq]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());

    SECTION("three deliveries time out, then the sweep moves it") {
        std::string id = must_set_up(*e, 3);
        std::int64_t now = kT0;
        for (std::uint32_t n = 1; n <= 3; ++n) {
            INFO("delivery " << n);
            auto got = must_receive(*e, "q", now);
            REQUIRE(got.size() == 1);
            CHECK(got[0].id == id);
            CHECK(got[0].receive_count == n);
            CHECK(got[0].body == "payload");

            // A sweep at the timeout of an earlier delivery leaves the
            // message where it is.
            now += kVisibility;
            if (n < 3) {
                must_sweep(*e, now);
                CHECK(stored(*e, "q", now) == 1);
                CHECK(stored(*e, "dlq", now) == 0);
            }
        }
        // The third delivery has timed out: no fourth one.
        CHECK(must_receive(*e, "q", now).empty());
        must_sweep(*e, now);
        check_dead_lettered(*e, id, 3, now);
    }

    SECTION("the third delivery released moves it at once") {
        std::string id = must_set_up(*e, 3);
        for (std::uint32_t n = 1; n <= 3; ++n) {
            INFO("delivery " << n);
            auto got = must_receive(*e, "q", kT0 + n);
            REQUIRE(got.size() == 1);
            CHECK(got[0].receive_count == n);
            REQUIRE(e->release("q", got[0].receipt, 0, kT0 + n).is_ok());
            REQUIRE(e->commit_batch().is_ok());
            CHECK(stored(*e, "dlq", kT0 + n) == (n == 3 ? 1 : 0));
        }
        check_dead_lettered(*e, id, 3, kT0 + 3);
    }

    SECTION("with max_receives 1, one delivery, then the DLQ, not deletion") {
        std::string id = must_set_up(*e, 1);
        auto got = must_receive(*e, "q", kT0);
        REQUIRE(got.size() == 1);
        CHECK(got[0].receive_count == 1);
        CHECK(must_receive(*e, "q", kT0 + kVisibility).empty());
        must_sweep(*e, kT0 + kVisibility);
        check_dead_lettered(*e, id, 1, kT0 + kVisibility);
    }
}

TEST_CASE("a dead-letter queue's own limit counts only deliveries made there",
          "[queue][dlq]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    REQUIRE(e->create_queue("c3", {}, kT0).is_ok());
    for (const char* name : {"c2", "c1"}) {
        config_change c;
        c.dlq = std::string(name) == "c1" ? "c2" : "c3";
        c.max_receives = 2;
        REQUIRE(e->create_queue(name, c, kT0).is_ok());
    }
    outgoing_message m;
    m.body = "hop";
    REQUIRE(e->send("c1", "", {m}, kT0).is_ok());

    // Two failed deliveries in each queue: it arrives in c2 with count 2
    // and is still delivered there twice before it moves on.
    std::int64_t now = kT0;
    std::vector<std::uint32_t> counts;
    for (const char* name : {"c1", "c1", "c2", "c2"}) {
        auto got = e->receive(name, 1, std::nullopt, ++now);
        REQUIRE(got.is_ok());
        REQUIRE(got->size() == 1);
        counts.push_back(got->front().receive_count);
        REQUIRE(e->release(name, got->front().receipt, 0, ++now).is_ok());
        REQUIRE(e->commit_batch().is_ok());
    }
    CHECK(counts == std::vector<std::uint32_t>{1, 2, 3, 4});
    auto last = e->peek("c3", 10, ++now);
    REQUIRE(last.is_ok());
    REQUIRE(last->size() == 1);
    CHECK(last->front().source_queue == "c2");
    CHECK(last->front().receive_count == 4);
}
