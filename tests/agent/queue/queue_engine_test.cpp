// The queue engine against real files: visibility and receipts, retention,
// purge, delete, and the rebuild of index state from the queue logs.

#include "agent/queue/queue_engine.h"

#include "tests/agent/queue/open_engine.h"
#include "tests/agent/test_dir.h"

#include <catch2/catch.hpp>

#include <fstream>

using namespace dmq::queue;

namespace {

constexpr std::int64_t kT0 = 1'800'000'000'000;  // a fixed "now"

std::vector<outgoing_message> bodies(std::vector<std::string> texts) {
    std::vector<outgoing_message> out;
    for (auto& t : texts) {
        outgoing_message m;
        m.body = std::move(t);
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<delivered_message> must_receive(queue_engine& e, std::int64_t now,
                                            std::int64_t max = 10) {
    auto got = e.receive("q", max, std::nullopt, now);
    REQUIRE(got.is_ok());
    REQUIRE(e.commit_batch().is_ok());
    return *got;
}

void must_create(queue_engine& e, std::int64_t visibility_ms = 30'000) {
    config_change c;
    c.visibility_ms = visibility_ms;
    REQUIRE(e.create_queue("q", c, kT0).is_ok());
}

void must_send(queue_engine& e, std::vector<std::string> texts,
               std::int64_t now = kT0) {
    REQUIRE(e.send("q", "", bodies(std::move(texts)), now).is_ok());
    REQUIRE(e.commit_batch().is_ok());
}

}  // namespace

TEST_CASE(
    "a received message is invisible until its timeout, then comes "
    "back with a higher receive count",
    "[queue][visibility]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    must_create(*e, 1'000);
    must_send(*e, {"m"});

    auto first = must_receive(*e, kT0);
    REQUIRE(first.size() == 1);
    CHECK(first[0].receive_count == 1);
    CHECK(first[0].body == "m");

    CHECK(must_receive(*e, kT0 + 999).empty());

    auto second = must_receive(*e, kT0 + 1'000);
    REQUIRE(second.size() == 1);
    CHECK(second[0].receive_count == 2);
    CHECK(second[0].id == first[0].id);
    CHECK(second[0].receipt != first[0].receipt);
}

TEST_CASE("a stale receipt deletes nothing; the current one does",
          "[queue][visibility]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    must_create(*e, 1'000);
    must_send(*e, {"m"});
    auto first = must_receive(*e, kT0);
    auto second = must_receive(*e, kT0 + 2'000);
    REQUIRE(second.size() == 1);

    auto stale = e->ack("q", first[0].receipt);
    CHECK(stale.code() == dmq::errc::stale_receipt);
    REQUIRE(e->commit_batch().is_ok());
    auto info = e->info("q", kT0 + 2'000);
    REQUIRE(info.is_ok());
    CHECK(info->counts.in_flight == 1);

    CHECK(e->ack("q", second[0].receipt).is_ok());
    REQUIRE(e->commit_batch().is_ok());
    CHECK(e->info("q", kT0 + 2'000)->counts.in_flight == 0);
    CHECK(e->ack("q", second[0].receipt).code() == dmq::errc::invalid_receipt);
    CHECK(e->ack("q", "not-a-receipt").code() == dmq::errc::invalid_receipt);
}

TEST_CASE("release makes a message visible again; extend keeps it hidden",
          "[queue][visibility]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    must_create(*e, 1'000);
    must_send(*e, {"a", "b"});
    auto got = must_receive(*e, kT0);
    REQUIRE(got.size() == 2);

    REQUIRE(e->release("q", got[0].receipt, 0, kT0 + 10).is_ok());
    REQUIRE(e->extend("q", got[1].receipt, 60'000, kT0 + 10).is_ok());
    REQUIRE(e->commit_batch().is_ok());

    auto later = must_receive(*e, kT0 + 5'000);
    REQUIRE(later.size() == 1);
    CHECK(later[0].body == "a");
    CHECK(later[0].receive_count == 2);
}

TEST_CASE("a receipt acts only while its delivery lasts, but a late ack counts",
          "[queue][visibility]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    must_create(*e, 1'000);
    must_send(*e, {"a", "b"});
    auto got = must_receive(*e, kT0);
    REQUIRE(got.size() == 2);

    // Released: the delivery is over, for every use of its receipt.
    REQUIRE(e->release("q", got[0].receipt, 5'000, kT0 + 10).is_ok());
    CHECK(e->extend("q", got[0].receipt, 60'000, kT0 + 20).error().code() ==
          dmq::errc::stale_receipt);
    CHECK(e->release("q", got[0].receipt, 0, kT0 + 20).error().code() ==
          dmq::errc::stale_receipt);
    CHECK(e->ack("q", got[0].receipt).code() == dmq::errc::stale_receipt);

    // Timed out, not received again: extending or releasing would act on
    // a message nobody holds, but a late ack still saves a redelivery.
    std::int64_t late = kT0 + 1'500;
    CHECK(e->extend("q", got[1].receipt, 60'000, late).error().code() ==
          dmq::errc::stale_receipt);
    CHECK(e->release("q", got[1].receipt, 0, late).error().code() ==
          dmq::errc::stale_receipt);
    CHECK(e->ack("q", got[1].receipt).is_ok());
    REQUIRE(e->commit_batch().is_ok());

    auto again = must_receive(*e, kT0 + 6'000);
    REQUIRE(again.size() == 1);
    CHECK(again[0].body == "a");
}

TEST_CASE("delayed messages wait, and the engine knows when they wake",
          "[queue]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    must_create(*e);
    std::vector<outgoing_message> batch = bodies({"later"});
    batch[0].delay_ms = 2'000;
    REQUIRE(e->send("q", "", std::move(batch), kT0).is_ok());
    REQUIRE(e->commit_batch().is_ok());

    CHECK(must_receive(*e, kT0 + 1'999).empty());
    CHECK(e->next_visible_at("q", kT0) == kT0 + 2'000);
    CHECK(must_receive(*e, kT0 + 2'000).size() == 1);
}

TEST_CASE("a retried send returns the first ids and stores nothing twice",
          "[queue]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    must_create(*e);
    auto first = e->send("q", "req-1", bodies({"a", "b"}), kT0);
    REQUIRE(first.is_ok());
    REQUIRE(e->commit_batch().is_ok());

    auto again = e->send("q", "req-1", bodies({"a", "b"}), kT0 + 5);
    REQUIRE(again.is_ok());
    CHECK(*again == *first);
    CHECK(e->info("q", kT0 + 5)->counts.visible == 2);
}

TEST_CASE("a body over the queue's maximum stores nothing of its batch",
          "[queue]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    config_change c;
    c.max_size = 10;
    REQUIRE(e->create_queue("q", c, kT0).is_ok());

    auto sent = e->send("q", "", bodies({"ok", std::string(11, 'x')}), kT0);
    REQUIRE_FALSE(sent.is_ok());
    CHECK(sent.error().code() == dmq::errc::too_large);
    CHECK_THAT(sent.error().message(), Catch::Contains("10B"));
    REQUIRE(e->commit_batch().is_ok());
    CHECK(e->info("q", kT0)->counts.visible == 0);
}

TEST_CASE("messages past their retention are dropped by the sweep", "[queue]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    config_change c;
    c.retention_ms = 60'000;
    REQUIRE(e->create_queue("q", c, kT0).is_ok());
    must_send(*e, {"old"});

    REQUIRE(e->sweep(kT0 + 60'000).is_ok());
    REQUIRE(e->commit_batch().is_ok());
    auto info = e->info("q", kT0 + 60'000);
    CHECK(info->counts.visible == 0);
    CHECK(info->row.counters.expired == 1);
}

TEST_CASE("purge removes visible, in-flight and delayed messages durably",
          "[queue]") {
    dmq::test::test_dir dir;
    std::string receipt;
    {
        auto e = dmq::test::must_open_engine(dir.path());
        must_create(*e);
        must_send(*e, {"a", "b"});
        receipt = must_receive(*e, kT0, 1).at(0).receipt;
        std::vector<outgoing_message> delayed = bodies({"c"});
        delayed[0].delay_ms = 60'000;
        REQUIRE(e->send("q", "", std::move(delayed), kT0).is_ok());
        auto purged = e->purge_queue("q");
        REQUIRE(purged.is_ok());
        CHECK(*purged == 3);
        REQUIRE(e->commit_batch().is_ok());
    }
    auto e = dmq::test::must_open_engine(dir.path());
    CHECK(must_receive(*e, kT0 + 120'000).empty());
    CHECK(e->ack("q", receipt).code() == dmq::errc::invalid_receipt);
}

TEST_CASE("a deleted queue created again holds none of the old messages",
          "[queue]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    must_create(*e);
    must_send(*e, {"old"});

    CHECK(e->delete_queue("q", false, kT0).code() ==
          dmq::errc::queue_not_empty);
    REQUIRE(e->delete_queue("q", true, kT0).is_ok());
    CHECK(e->send("q", "", bodies({"x"}), kT0).error().code() ==
          dmq::errc::not_found);

    must_create(*e);
    CHECK(must_receive(*e, kT0).empty());
    e.reset();
    auto reopened = dmq::test::must_open_engine(dir.path());
    CHECK(must_receive(*reopened, kT0).empty());
}

TEST_CASE("the index is rebuilt from the log when it lacks recent records",
          "[queue][recovery]") {
    dmq::test::test_dir dir;
    namespace fs = std::filesystem;
    fs::path backup = dir.path() / "stale-index";
    fs::create_directories(dir.path() / "data");
    {
        auto e = dmq::test::must_open_engine(dir.path() / "data");
        must_create(*e, 1'000);
    }
    // Keep the index as it was before any message, as if every later
    // commit to it had been lost.
    fs::create_directories(backup);
    for (const auto& f : fs::directory_iterator(dir.path() / "data")) {
        if (f.path().filename().string().starts_with("index.db")) {
            fs::copy_file(f.path(), backup / f.path().filename());
        }
    }

    {
        auto e = dmq::test::must_open_engine(dir.path() / "data");
        must_send(*e, {"one", "two", "three"});
        auto got = must_receive(*e, kT0, 1);
        REQUIRE(e->ack("q", got[0].receipt).is_ok());
        must_receive(*e, kT0, 1);  // "two" stays in flight
        REQUIRE(e->commit_batch().is_ok());
    }
    for (const auto& f : fs::directory_iterator(dir.path() / "data")) {
        if (f.path().filename().string().starts_with("index.db")) {
            fs::remove(f.path());
        }
    }
    for (const auto& f : fs::directory_iterator(backup)) {
        fs::copy_file(f.path(), dir.path() / "data" / f.path().filename());
    }

    auto e = dmq::test::must_open_engine(dir.path() / "data");
    auto info = e->info("q", kT0 + 10);
    REQUIRE(info.is_ok());
    CHECK(info->counts.visible == 1);
    CHECK(info->counts.in_flight == 1);
    CHECK(info->row.counters.sent == 3);
    CHECK(info->row.counters.acked == 1);

    // "three" has waited longest, so it comes first.
    auto later = must_receive(*e, kT0 + 1'000);
    REQUIRE(later.size() == 2);
    CHECK(later[0].body == "three");
    CHECK(later[0].receive_count == 1);
    CHECK(later[1].body == "two");
    CHECK(later[1].receive_count == 2);
}

TEST_CASE("receipts and message ids parse back and reject malformed text",
          "[queue]") {
    std::string receipt = format_receipt(0xabcdef01, 42, 0x1234);
    auto parsed = parse_receipt(receipt);
    REQUIRE(parsed.has_value());
    CHECK(parsed->uid == 0xabcdef01);
    CHECK(parsed->seq == 42);
    CHECK(parsed->token == 0x1234);
    CHECK(format_message_id(1, 2) ==
          "00000001"
          "0000000000000002");
    for (const char* bad : {"", "x", "abcdef010000000000000002a00001234",
                            "ABCDEF01000000000000002A.00001234"}) {
        CHECK_FALSE(parse_receipt(bad).has_value());
    }
}

TEST_CASE("segments whose messages are all acked are removed from disk",
          "[queue][storage]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    must_create(*e);
    auto count_segments = [&] {
        int n = 0;
        for (const auto& q :
             std::filesystem::directory_iterator(dir.path() / "queues")) {
            for (const auto& f : std::filesystem::directory_iterator(q)) {
                n += f.path().extension() == ".seg";
            }
        }
        return n;
    };

    // 1 MiB segments: 40 messages of 100 KiB span about four of them.
    std::vector<std::string> big(40, std::string(100 << 10, 'b'));
    must_send(*e, big);
    REQUIRE(count_segments() >= 4);

    auto got = must_receive(*e, kT0, 40);
    REQUIRE(got.size() == 40);
    for (std::size_t i = 0; i + 1 < got.size(); ++i) {
        REQUIRE(e->ack("q", got[i].receipt).is_ok());
    }
    REQUIRE(e->commit_batch().is_ok());
    REQUIRE(e->sweep(kT0).is_ok());

    // Only the segment of the last, unacked message and the active one
    // remain; every other segment held nothing anyone still needs.
    CHECK(count_segments() <= 2);
    auto last = must_receive(*e, kT0 + 60'000, 1);
    REQUIRE(last.size() == 1);
    CHECK(last[0].body == big.back());
}

TEST_CASE("a receive stops adding messages once the reply passes 32 MiB",
          "[queue]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    config_change c;
    c.max_size = 16 << 20;
    REQUIRE(e->create_queue("q", c, kT0).is_ok());
    must_send(*e, std::vector<std::string>(3, std::string(12 << 20, 'z')));

    CHECK(must_receive(*e, kT0, 10).size() == 2);
    CHECK(must_receive(*e, kT0, 10).size() == 1);
}

TEST_CASE(
    "a message whose body fails its checksum is dropped, and the "
    "receive returns the next one instead",
    "[queue][recovery]") {
    dmq::test::test_dir dir;
    auto e = dmq::test::must_open_engine(dir.path());
    must_create(*e);
    must_send(*e, {"first-body", "second-body"});

    // Flip one byte of the first body on disk.
    for (const auto& qdir :
         std::filesystem::directory_iterator(dir.path() / "queues")) {
        for (const auto& f : std::filesystem::directory_iterator(qdir)) {
            std::fstream io(f.path(),
                            std::ios::binary | std::ios::in | std::ios::out);
            std::string bytes((std::istreambuf_iterator<char>(io)), {});
            auto at = bytes.find("first-body");
            REQUIRE(at != std::string::npos);
            io.seekp(static_cast<std::streamoff>(at));
            io.put('F');
        }
    }

    auto got = must_receive(*e, kT0, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].body == "second-body");
    auto info = e->info("q", kT0);
    CHECK(info->counts.visible == 0);
    CHECK(info->counts.in_flight == 1);
}

TEST_CASE(
    "a missing segment stops recovery until an operator marks it as "
    "lost; then only its messages are dropped",
    "[queue][recovery]") {
    dmq::test::test_dir dir;
    namespace fs = std::filesystem;
    fs::path qdir;
    {
        auto e = dmq::test::must_open_engine(dir.path());
        must_create(*e);
        std::vector<std::string> big;
        for (int i = 0; i < 40; ++i) {
            big.push_back(std::to_string(i) + std::string(100 << 10, 'x'));
        }
        must_send(*e, big);
        qdir = fs::directory_iterator(dir.path() / "queues")->path();
    }
    auto last = qdir / dmq::storage::segment_file_name(1);
    for (const auto& f : fs::directory_iterator(qdir)) {
        last = std::max(last, f.path());
    }
    REQUIRE(last.filename() != dmq::storage::segment_file_name(1));

    for (auto victim : {qdir / dmq::storage::segment_file_name(2), last}) {
        INFO(victim.string());
        fs::path aside = dir.path() / "aside.seg";
        fs::rename(victim, aside);

        recovery_summary summary;
        auto refused =
            queue_engine::open({dir.path(), 1 << 20}, dmq::test::test_logger(),
                               dmq::test::test_logger(), summary);
        REQUIRE_FALSE(refused.is_ok());
        CHECK(refused.error().code() == dmq::errc::corrupt_data);
        CHECK_THAT(refused.error().message(), Catch::Contains(".lost"));

        fs::rename(aside, victim.string() + ".lost");
    }

    auto e = dmq::test::must_open_engine(dir.path());
    auto info = e->info("q", kT0);
    REQUIRE(info.is_ok());
    CHECK(info->counts.visible > 0);
    CHECK(info->counts.visible < 40);
    auto got = must_receive(*e, kT0, 40);
    CHECK(static_cast<std::int64_t>(got.size()) == info->counts.visible);

    // The queue takes new messages after the loss.
    must_send(*e, {"after"}, kT0 + 1);
    auto after = must_receive(*e, kT0 + 1, 1);
    REQUIRE(after.size() == 1);
    CHECK(after[0].body == "after");
}

TEST_CASE(
    "recovery removes the empty directory of an interrupted create "
    "and keeps any unknown directory that holds records",
    "[queue][recovery]") {
    dmq::test::test_dir dir;
    namespace fs = std::filesystem;
    {
        dmq::test::must_open_engine(dir.path());
    }
    fs::path empty = dir.path() / "queues" / "0badc0de";
    fs::path full = dir.path() / "queues" / "0badf00d";
    {
        dmq::storage::recovery_report report;
        REQUIRE(dmq::storage::queue_log::open(empty, 1 << 20,
                                              dmq::test::test_logger(), report)
                    .is_ok());
        auto log = dmq::storage::queue_log::open(
            full, 1 << 20, dmq::test::test_logger(), report);
        REQUIRE(log.is_ok());
        REQUIRE((*log)->append(1, 1, "a record").is_ok());
        REQUIRE((*log)->sync().is_ok());
    }

    auto e = dmq::test::must_open_engine(dir.path());
    CHECK_FALSE(fs::exists(empty));
    CHECK(fs::exists(full));
}
