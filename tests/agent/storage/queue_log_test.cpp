// A queue's log across segments: rolling, replay from a position, repair of
// a torn tail, and the refusal to start over damage in a sealed segment.

#include "agent/storage/queue_log.h"

#include "tests/agent/test_dir.h"

#include <catch2/catch.hpp>

#include <fstream>

using namespace dmq::storage;

namespace {

std::unique_ptr<queue_log> must_open(const std::filesystem::path& dir,
                                     std::uint64_t segment_bytes = 1 << 20) {
    recovery_report report;
    auto log =
        queue_log::open(dir, segment_bytes, dmq::test::test_logger(), report);
    REQUIRE(log.is_ok());
    return std::move(*log);
}

std::vector<std::string> must_replay(queue_log& log, log_position from,
                                     recovery_report& report) {
    std::vector<std::string> payloads;
    auto s = log.replay(
        from,
        [&](log_position, const record& rec) {
            payloads.push_back(rec.payload);
            return dmq::status::ok();
        },
        report);
    REQUIRE(s.is_ok());
    return payloads;
}

}  // namespace

TEST_CASE("the log rolls to a new segment when the active one is full",
          "[storage]") {
    dmq::test::test_dir dir;
    auto log = must_open(dir.path(), 4096);
    std::string payload(1000, 'p');
    for (int i = 0; i < 10; ++i) {
        REQUIRE(log->append(1, i + 1, payload).is_ok());
    }
    REQUIRE(log->sync().is_ok());
    CHECK(log->segment_count() >= 3);

    log.reset();
    auto reopened = must_open(dir.path(), 4096);
    recovery_report report;
    CHECK(must_replay(*reopened, {}, report).size() == 10);
}

TEST_CASE("replay starts at the given position", "[storage][recovery]") {
    dmq::test::test_dir dir;
    auto log = must_open(dir.path());
    REQUIRE(log->append(1, 1, "a").is_ok());
    auto second = log->append(1, 2, "b");
    REQUIRE(second.is_ok());
    REQUIRE(log->append(1, 3, "c").is_ok());
    REQUIRE(log->sync().is_ok());

    recovery_report report;
    auto payloads = must_replay(*log, *second, report);
    CHECK(payloads == std::vector<std::string>{"b", "c"});
}

TEST_CASE("a torn tail is cut, saved aside and never replayed",
          "[storage][recovery]") {
    dmq::test::test_dir dir;
    std::filesystem::path seg_path;
    {
        auto log = must_open(dir.path());
        REQUIRE(log->append(1, 1, "acknowledged").is_ok());
        REQUIRE(log->sync().is_ok());
        seg_path = dir.path() / segment_file_name(log->end().segment);
    }
    {
        std::ofstream out(seg_path, std::ios::binary | std::ios::app);
        out << std::string("\x40\x00\x00\x00\x11\x22\x33\x44torn", 12);
    }

    auto log = must_open(dir.path());
    recovery_report report;
    auto payloads = must_replay(*log, {}, report);
    CHECK(payloads == std::vector<std::string>{"acknowledged"});
    CHECK(report.bytes_truncated == 12);
    CHECK(std::filesystem::file_size(seg_path.string() + ".tail") == 12);

    // The repaired log takes new records after the good ones.
    REQUIRE(log->append(1, 2, "after").is_ok());
    REQUIRE(log->sync().is_ok());
    log.reset();
    auto again = must_open(dir.path());
    recovery_report second;
    CHECK(must_replay(*again, {}, second) ==
          std::vector<std::string>{"acknowledged", "after"});
    CHECK(second.bytes_truncated == 0);
}

TEST_CASE("a zero-filled newest segment is quarantined, not fatal",
          "[storage][recovery]") {
    dmq::test::test_dir dir;
    {
        auto log = must_open(dir.path());
        REQUIRE(log->append(1, 1, "kept").is_ok());
        REQUIRE(log->sync().is_ok());
    }
    auto bogus = dir.path() / segment_file_name(2);
    { std::ofstream create(bogus, std::ios::binary); }
    std::filesystem::resize_file(bogus, 1 << 16);

    recovery_report report;
    auto log =
        queue_log::open(dir.path(), 1 << 20, dmq::test::test_logger(), report);
    REQUIRE(log.is_ok());
    CHECK(report.files_quarantined == 1);
    CHECK(std::filesystem::exists(bogus.string() + ".corrupt"));
    CHECK(must_replay(**log, {}, report) == std::vector<std::string>{"kept"});
}

TEST_CASE("damage inside a sealed segment stops recovery",
          "[storage][recovery]") {
    dmq::test::test_dir dir;
    {
        auto log = must_open(dir.path(), 4096);
        for (int i = 0; i < 8; ++i) {
            REQUIRE(log->append(1, i + 1, std::string(1000, 'x')).is_ok());
        }
        REQUIRE(log->sync().is_ok());
        REQUIRE(log->segment_count() >= 2);
    }
    auto first = dir.path() / segment_file_name(1);
    std::filesystem::resize_file(first, std::filesystem::file_size(first) - 10);

    auto log = must_open(dir.path(), 4096);
    recovery_report report;
    auto s = log->replay(
        {}, [](log_position, const record&) { return dmq::status::ok(); },
        report);
    REQUIRE_FALSE(s.is_ok());
    CHECK(s.code() == dmq::errc::corrupt_data);
    CHECK_THAT(s.message(), Catch::Contains("sealed segment"));
}

TEST_CASE("segments no message uses are removed, the active one never",
          "[storage]") {
    dmq::test::test_dir dir;
    auto log = must_open(dir.path(), 4096);
    for (int i = 0; i < 12; ++i) {
        REQUIRE(log->append(1, i + 1, std::string(1000, 'x')).is_ok());
    }
    REQUIRE(log->sync().is_ok());
    std::size_t before = log->segment_count();
    REQUIRE(before >= 3);

    auto removed = log->remove_segments_except({2});
    REQUIRE(removed.is_ok());
    CHECK(*removed == before - 2);
    CHECK(log->segment_count() == 2);
    CHECK(std::filesystem::exists(dir.path() / segment_file_name(2)));
    CHECK_FALSE(std::filesystem::exists(dir.path() / segment_file_name(1)));
}

TEST_CASE(
    "a damaged header on the newest segment that holds applied "
    "records stops recovery instead of dropping it",
    "[storage][recovery]") {
    dmq::test::test_dir dir;
    log_position applied;
    {
        auto log = must_open(dir.path());
        REQUIRE(log->append(1, 1, "acknowledged").is_ok());
        REQUIRE(log->sync().is_ok());
        applied = log->end();
    }
    auto seg = dir.path() / segment_file_name(applied.segment);
    {
        std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(10);
        f.put('\x7f');
    }

    recovery_report report;
    auto log = queue_log::open(dir.path(), 1 << 20, dmq::test::test_logger(),
                               report, applied);
    REQUIRE_FALSE(log.is_ok());
    CHECK(log.error().code() == dmq::errc::corrupt_data);
    CHECK_THAT(log.error().message(), Catch::Contains("acknowledged"));
    CHECK(std::filesystem::exists(seg));
}

TEST_CASE(
    "a newest segment cut short of what the index applied stops "
    "recovery",
    "[storage][recovery]") {
    dmq::test::test_dir dir;
    log_position applied;
    {
        auto log = must_open(dir.path());
        REQUIRE(log->append(1, 1, std::string(500, 'a')).is_ok());
        REQUIRE(log->sync().is_ok());
        applied = log->end();
    }
    auto seg = dir.path() / segment_file_name(applied.segment);
    std::filesystem::resize_file(seg, applied.offset - 100);

    auto log = must_open(dir.path());
    recovery_report report;
    auto s = log->replay(
        applied, [](log_position, const record&) { return dmq::status::ok(); },
        report);
    REQUIRE_FALSE(s.is_ok());
    CHECK(s.code() == dmq::errc::corrupt_data);
    CHECK_THAT(s.message(), Catch::Contains("acknowledged messages"));
}
