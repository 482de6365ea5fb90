// Dedup ids: a send that repeats a dedup id inside the queue's window gets
// the first message's id back and stores nothing, however the first
// message fared since; after the window the same id is stored anew.

#include "agent/queue/queue_engine.h"

#include "tests/agent/queue/open_engine.h"
#include "tests/agent/test_dir.h"

#include <catch2/catch.hpp>

using namespace dmq::queue;

namespace {

constexpr std::int64_t kT0 = 1'800'000'000'000;

sent_message must_send(queue_engine& e, const std::string& group,
                       const std::string& dedup_id, const std::string& body,
                       std::int64_t now) {
    outgoing_message m;
    m.body = body;
    m.group = group;
    m.dedup_id = dedup_id;
    auto sent = e.send("f", "", {m}, now);
    INFO((sent.is_ok() ? "" : sent.error().message()));
    REQUIRE(sent.is_ok());
    REQUIRE(sent->size() == 1);
    REQUIRE(e.commit_batch().is_ok());
    return sent->front();
}

std::vector<delivered_message> must_receive(queue_engine& e, std::int64_t now) {
    auto got = e.receive("f", 10, std::nullopt, now);
    REQUIRE(got.is_ok());
    REQUIRE(e.commit_batch().is_ok());
    return *got;
}

std::int64_t stored(queue_engine& e, std::int64_t now) {
    auto info = e.info("f", now);
    REQUIRE(info.is_ok());
    const auto& c = info->counts;
    return c.visible + c.in_flight + c.delayed + c.held;
}

}  // namespace

TEST_CASE("dedup window holds after the first message is deleted",
          "[queue][dedup]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    config_change c;
    c.fifo = true;
    c.dedup_window_ms = 5'000;
    REQUIRE(e->create_queue("f", c, kT0).is_ok());

    sent_message first = must_send(*e, "g1", "K", "one", kT0);
    CHECK_FALSE(first.duplicate);
    auto got = must_receive(*e, kT0 + 100);
    REQUIRE(got.size() == 1);
    CHECK(got[0].id == first.id);
    REQUIRE(e->ack("f", got[0].receipt).is_ok());
    REQUIRE(e->commit_batch().is_ok());

    // The first message is gone; its dedup id still counts.
    sent_message again = must_send(*e, "g1", "K", "two", kT0 + 1'000);
    CHECK(again.duplicate);
    CHECK(again.id == first.id);
    CHECK(must_receive(*e, kT0 + 1'000).empty());

    // A dedup id belongs to the queue, not to a group.
    sent_message other = must_send(*e, "g2", "K", "three", kT0 + 2'000);
    CHECK(other.duplicate);
    CHECK(other.id == first.id);
    CHECK(must_receive(*e, kT0 + 2'000).empty());
    CHECK(stored(*e, kT0 + 2'000) == 0);

    // Neither a sweep inside the window nor a restart forgets it.
    REQUIRE(e->sweep(kT0 + 3'000).is_ok());
    REQUIRE(e->commit_batch().is_ok());
    e.reset();
    e = dmq::test::must_open_engine(dir.path());
    sent_message restarted = must_send(*e, "g1", "K", "four", kT0 + 4'000);
    CHECK(restarted.duplicate);
    CHECK(restarted.id == first.id);
    CHECK(must_receive(*e, kT0 + 4'000).empty());

    // Past the window the same id is a new message.
    sent_message later = must_send(*e, "g1", "K", "five", kT0 + 6'000);
    CHECK_FALSE(later.duplicate);
    CHECK(later.id != first.id);
    auto delivered = must_receive(*e, kT0 + 6'000);
    REQUIRE(delivered.size() == 1);
    CHECK(delivered[0].id == later.id);
    CHECK(delivered[0].body == "five");
}
