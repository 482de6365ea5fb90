// Data written by dmq-agent 0.1 (index schema 1, legacy send records) is
// read by this version as it was: the index is migrated in place and the
// old records still decode. The fixture is described in tests/fixtures.

#include "agent/queue/queue_engine.h"

#include "tests/agent/queue/open_engine.h"
#include "tests/agent/test_dir.h"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace dmq::queue;

namespace {

constexpr std::int64_t kCreated = 1'796'414'675'259;
constexpr std::int64_t kNow = kCreated + 60'000;

}  // namespace

TEST_CASE("an agent 0.1 data directory opens with every message intact") {
    dmq::test::test_dir dir;
    std::string unpack = "tar xzf '" DMQ_SOURCE_DIR
                         "/tests/fixtures/agent-0.1-data.tar.gz' -C '" +
                         dir.path().string() + "'";
    REQUIRE(std::system(unpack.c_str()) == 0);
    auto data = dir.path() / "agent";

    auto e = dmq::test::must_open_engine(data);
    auto info = e->info("old", kNow);
    REQUIRE(info.is_ok());
    CHECK(info->counts.visible == 3);
    CHECK(info->counts.in_flight == 1);
    CHECK_FALSE(info->row.config.fifo);
    CHECK(info->row.config.dlq.empty());
    CHECK(info->row.config.dedup_window_ms == 300'000);

    auto got = e->receive("old", 10, std::nullopt, kNow);
    REQUIRE(got.is_ok());
    REQUIRE(got->size() == 3);
    CHECK((*got)[0].body == "two");
    CHECK((*got)[2].body == "four");
    CHECK((*got)[0].priority == kDefaultPriority);
    CHECK((*got)[0].attributes.find("legacy") != std::string::npos);
    for (const auto& m : *got) {
        REQUIRE(e->ack("old", m.receipt).is_ok());
    }

    // New records go after the old ones in the same segment.
    outgoing_message m;
    m.body = "five";
    m.priority = 0;
    REQUIRE(e->send("old", "", {m}, kNow).is_ok());
    REQUIRE(e->commit_batch().is_ok());
    e.reset();

    e = dmq::test::must_open_engine(data);
    auto after = e->peek("old", 10, kNow + 2 * 3600 * 1000);
    REQUIRE(after.is_ok());
    REQUIRE(after->size() == 2);
    CHECK((*after)[0].body == "five");  // priority 0 goes first
    CHECK((*after)[1].body == "one");   // its visibility timed out
}
