// A move between queues (dead-lettering, redrive) is synced into its
// target before the source logs its removal. These tests stop the engine
// between the two, as a crash would, and check that recovery leaves the
// message in exactly one queue.

#include "agent/queue/queue_engine.h"

#include "tests/agent/queue/open_engine.h"
#include "tests/agent/test_dir.h"

#include <catch2/catch.hpp>

using namespace dmq::queue;

namespace {

constexpr std::int64_t kT0 = 1'800'000'000'000;

void make_queues(queue_engine& e) {
    REQUIRE(e.create_queue("dead", {}, kT0).is_ok());
    config_change c;
    c.dlq = "dead";
    c.max_receives = 1;
    REQUIRE(e.create_queue("work", c, kT0).is_ok());
}

std::int64_t held_anywhere(queue_engine& e, const std::string& name,
                           std::int64_t now) {
    auto i = e.info(name, now);
    REQUIRE(i.is_ok());
    return i->counts.visible + i->counts.in_flight + i->counts.delayed +
           i->counts.held;
}

}  // namespace

TEST_CASE("a dead-letter move cut short by a crash ends in the DLQ only") {
    dmq::test::test_dir dir;
    std::string id;
    {
        auto e = dmq::test::must_open_engine(dir.path());
        make_queues(*e);
        outgoing_message m;
        m.body = "payload";
        auto sent = e->send("work", "", {m}, kT0);
        REQUIRE(sent.is_ok());
        id = (*sent)[0].id;
        auto got = e->receive("work", 1, std::nullopt, kT0);
        REQUIRE(got.is_ok());
        REQUIRE(e->commit_batch().is_ok());

        // The release moves it: the DLQ's copy is synced at once, the
        // source's removal waits for the commit that never comes.
        REQUIRE(e->release("work", (*got)[0].receipt, 0, kT0 + 1).is_ok());
    }

    auto e = dmq::test::must_open_engine(dir.path());
    CHECK(held_anywhere(*e, "work", kT0 + 2) == 0);
    CHECK(held_anywhere(*e, "dead", kT0 + 2) == 1);
    auto dead = e->receive("dead", 10, std::nullopt, kT0 + 2);
    REQUIRE(dead.is_ok());
    REQUIRE(dead->size() == 1);
    CHECK((*dead)[0].id == id);
    CHECK((*dead)[0].body == "payload");
    CHECK((*dead)[0].source_queue == "work");
    CHECK((*dead)[0].receive_count == 2);  // its one receive, and this one

    // And the repair itself was logged: another restart changes nothing.
    REQUIRE(e->commit_batch().is_ok());
    e.reset();
    e = dmq::test::must_open_engine(dir.path());
    CHECK(held_anywhere(*e, "work", kT0 + 3) == 0);
    CHECK(held_anywhere(*e, "dead", kT0 + 3) == 1);
}

TEST_CASE("a redrive cut short by a crash ends in the target only") {
    dmq::test::test_dir dir;
    {
        auto e = dmq::test::must_open_engine(dir.path());
        make_queues(*e);
        outgoing_message m;
        m.body = "again";
        REQUIRE(e->send("work", "", {m}, kT0).is_ok());
        auto got = e->receive("work", 1, std::nullopt, kT0);
        REQUIRE(got.is_ok());
        REQUIRE(e->release("work", (*got)[0].receipt, 0, kT0).is_ok());
        REQUIRE(e->commit_batch().is_ok());
        REQUIRE(held_anywhere(*e, "dead", kT0) == 1);

        auto moved = e->redrive("dead", "", 0, 10, kT0 + 1);
        REQUIRE(moved.is_ok());
        CHECK(moved->moved == 1);
    }

    auto e = dmq::test::must_open_engine(dir.path());
    CHECK(held_anywhere(*e, "dead", kT0 + 2) == 0);
    REQUIRE(held_anywhere(*e, "work", kT0 + 2) == 1);
    auto back = e->receive("work", 10, std::nullopt, kT0 + 2);
    REQUIRE(back.is_ok());
    REQUIRE(back->size() == 1);
    CHECK((*back)[0].receive_count == 1);  // a fresh start
    CHECK((*back)[0].redrive_count == 1);
}
