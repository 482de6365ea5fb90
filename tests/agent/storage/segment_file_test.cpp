// Segment files: record framing, checksums, and what a scan reports when
// the tail is torn or the header is damaged.

#include "agent/storage/segment_file.h"

#include "tests/agent/test_dir.h"

#include <catch2/catch.hpp>

#include <fstream>

using namespace dmq::storage;

namespace {

void append_raw(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << bytes;
}

void flip_byte(const std::filesystem::path& path, std::uint64_t offset) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x40));
}

}  // namespace

TEST_CASE("records read back with their type, lsn and payload", "[storage]") {
    dmq::test::test_dir dir;
    auto seg = segment_file::create(dir.path() / segment_file_name(1), 1);
    REQUIRE(seg.is_ok());

    std::string binary("a\0b\xff", 4);
    auto first = seg->append(1, 10, "head", binary);
    auto second = seg->append(2, 11, "");
    REQUIRE(seg->sync().is_ok());

    auto rec = seg->read(first);
    REQUIRE(rec.is_ok());
    CHECK(rec->type == 1);
    CHECK(rec->lsn == 10);
    CHECK(rec->payload == "head" + binary);

    rec = seg->read(second);
    REQUIRE(rec.is_ok());
    CHECK(rec->type == 2);
    CHECK(rec->payload.empty());
}

TEST_CASE("a flipped bit in a record fails its checksum", "[storage]") {
    dmq::test::test_dir dir;
    auto path = dir.path() / segment_file_name(1);
    std::uint64_t offset = 0;
    {
        auto seg = segment_file::create(path, 1);
        REQUIRE(seg.is_ok());
        offset = seg->append(1, 1, "payload bytes");
        REQUIRE(seg->sync().is_ok());
    }
    flip_byte(path, offset + kRecordHeaderBytes + 3);

    auto seg = segment_file::open(path);
    REQUIRE(seg.is_ok());
    auto rec = seg->read(offset);
    REQUIRE_FALSE(rec.is_ok());
    CHECK(rec.error().code() == dmq::errc::corrupt_data);
}

TEST_CASE("a scan stops at a torn record at the tail", "[storage][recovery]") {
    dmq::test::test_dir dir;
    auto path = dir.path() / segment_file_name(7);
    std::uint64_t good_end = 0;
    {
        auto seg = segment_file::create(path, 7);
        REQUIRE(seg.is_ok());
        seg->append(1, 1, "one");
        seg->append(1, 2, "two");
        good_end = seg->size();
        seg->append(1, 3, std::string(100, 'x'));
        REQUIRE(seg->sync().is_ok());
    }
    // Cut the last record short, as a crash in the middle of a write does.
    std::filesystem::resize_file(path, good_end + 40);

    auto seg = segment_file::open(path);
    REQUIRE(seg.is_ok());
    CHECK(seg->seq() == 7);
    int seen = 0;
    auto scanned =
        seg->scan(kSegmentHeaderBytes, [&](std::uint64_t, const record&) {
            ++seen;
            return dmq::status::ok();
        });
    REQUIRE(scanned.is_ok());
    CHECK(seen == 2);
    CHECK(scanned->stop == scan_stop::torn_record);
    CHECK(scanned->valid_end == good_end);
}

TEST_CASE(
    "a scan stops at zero bytes and random garbage after the last "
    "record",
    "[storage][recovery]") {
    for (std::string tail : {std::string(4096, '\0'),
                             std::string("\x25\x00\x00\x00garbage!", 12)}) {
        dmq::test::test_dir dir;
        auto path = dir.path() / segment_file_name(1);
        std::uint64_t good_end = 0;
        {
            auto seg = segment_file::create(path, 1);
            REQUIRE(seg.is_ok());
            seg->append(1, 1, "kept");
            good_end = seg->size();
            REQUIRE(seg->sync().is_ok());
        }
        append_raw(path, tail);

        auto seg = segment_file::open(path);
        REQUIRE(seg.is_ok());
        auto scanned = seg->scan(
            kSegmentHeaderBytes,
            [](std::uint64_t, const record&) { return dmq::status::ok(); });
        REQUIRE(scanned.is_ok());
        CHECK(scanned->stop == scan_stop::torn_record);
        CHECK(scanned->valid_end == good_end);
    }
}

TEST_CASE("a segment with a damaged or foreign header is refused",
          "[storage][recovery]") {
    dmq::test::test_dir dir;
    auto zeros = dir.path() / "zeros.seg";
    { std::ofstream create(zeros, std::ios::binary); }
    std::filesystem::resize_file(zeros, 4096);
    auto opened = segment_file::open(zeros);
    REQUIRE_FALSE(opened.is_ok());
    CHECK(opened.error().code() == dmq::errc::corrupt_data);

    auto path = dir.path() / segment_file_name(1);
    { REQUIRE(segment_file::create(path, 1).is_ok()); }
    flip_byte(path, 9);
    CHECK_FALSE(segment_file::open(path).is_ok());
}

TEST_CASE("segment file names sort in sequence order and parse back",
          "[storage]") {
    CHECK(segment_file_name(42) == "00000000000000000042.seg");
    std::uint64_t seq = 0;
    CHECK(parse_segment_file_name("00000000000000000042.seg", seq));
    CHECK(seq == 42);
    CHECK_FALSE(parse_segment_file_name("42.seg", seq));
    CHECK_FALSE(parse_segment_file_name("0000000000000000004x.seg", seq));
    CHECK_FALSE(parse_segment_file_name("00000000000000000042.seg.tail", seq));
}
