// Field cases about queue semantics, through the real CLI and agent: a
// dedup window keyed to what is still in the queue rather than to time
// (R11), and a max-receives limit off by one or a spent message dropped
// instead of dead-lettered (R12). Each test is named after its fault.

#include "tests/integration/harness.h"
#include "tests/integration/queue_steps.h"

#include <catch2/catch.hpp>

using namespace dmq::itest;

namespace {

// `dmq send QUEUE OPTIONS...` with `body` on stdin: exit 0, one id out.
struct send_outcome {
    std::string id;
    std::string err;
};

send_outcome must_send_noting(const agent_process& agent,
                              const std::string& queue, const std::string& body,
                              std::vector<std::string> options) {
    dmq_run run = run_send(agent, queue, body, options);
    must_exit(run, 0);
    REQUIRE(run.out.size() == 25);  // 24 hex digits and a newline
    return {run.out.substr(0, 24), run.err};
}

}  // namespace

TEST_CASE(
    "dedup window ignores deleted messages: a repeat is still a duplicate "
    "after the first was acked, until the window ends (R11)",
    "[integration][dedup]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "d.fifo",
                      {"--fifo", "--dedup-window", "5s", "--content-dedup"});
    auto started = steady::now();

    auto first = must_send_noting(*agent, "d.fifo", "a",
                                  {"--group", "g", "--dedup-id", "K"});
    CHECK(first.err.empty());
    auto got = must_receive_json(*agent, "d.fifo", {"--delete"});
    REQUIRE(got.size() == 1);
    CHECK(got.front().id == first.id);

    // The first message is gone, but its id is still remembered: the
    // repeat answers with the first id, says so, and stores nothing.
    auto repeat = must_send_noting(*agent, "d.fifo", "a2",
                                   {"--group", "g", "--dedup-id", "K"});
    CHECK(repeat.id == first.id);
    CHECK(repeat.err.find("duplicate") != std::string::npos);
    CHECK(must_receive_json(*agent, "d.fifo", {"--wait", "1s"}).empty());

    // The scope is the queue, not the group.
    auto other_group = must_send_noting(*agent, "d.fifo", "a3",
                                        {"--group", "h", "--dedup-id", "K"});
    CHECK(other_group.id == first.id);

    // Content dedup: the same body twice without an id is one message.
    auto same1 = must_send_noting(*agent, "d.fifo", "same", {"--group", "c"});
    auto same2 = must_send_noting(*agent, "d.fifo", "same", {"--group", "c"});
    CHECK(same1.id == same2.id);
    auto one = must_receive_json(*agent, "d.fifo", {"-n", "10", "--delete"});
    REQUIRE(one.size() == 1);
    CHECK(one.front().body == "same");

    // Kill -9 inside the window: the dedup id was durable with the send.
    agent->kill_9();
    agent = must_restart_agent(*agent);
    auto after_crash = must_send_noting(*agent, "d.fifo", "a4",
                                        {"--group", "g", "--dedup-id", "K"});
    CHECK(after_crash.id == first.id);
    agent->terminate();
    agent = must_restart_agent(*agent);
    auto after_restart = must_send_noting(*agent, "d.fifo", "a5",
                                          {"--group", "g", "--dedup-id", "K"});
    CHECK(after_restart.id == first.id);
    CHECK(must_receive_json(*agent, "d.fifo").empty());

    // Past the window the id is free again.
    std::int64_t left = 5'500 - ms_since(started);
    if (left > 0) {
        sleep_ms(left);
    }
    auto fresh = must_send_noting(*agent, "d.fifo", "a6",
                                  {"--group", "g", "--dedup-id", "K"});
    CHECK(fresh.id != first.id);
    CHECK(fresh.err.empty());
    auto last = must_receive_json(*agent, "d.fifo");
    REQUIRE(last.size() == 1);
    CHECK(last.front().body == "a6");
}

namespace {

// Receives without deleting until nothing came for `quiet_ms`, and
// returns the receive counts seen.
std::vector<std::int64_t> receive_until_quiet(const agent_process& agent,
                                              const std::string& queue,
                                              std::int64_t quiet_ms) {
    std::vector<std::int64_t> counts;
    auto last = steady::now();
    while (ms_since(last) < quiet_ms) {
        auto got = must_receive_json(agent, queue, {"--wait", "2s"});
        for (const auto& m : got) {
            counts.push_back(m.receive_count);
            last = steady::now();
        }
        REQUIRE(counts.size() < 10);
    }
    return counts;
}

void check_in_dlq(const agent_process& agent, const std::string& id) {
    auto dead = must_receive_json(agent, "dlq1", {"--wait", "2s"});
    REQUIRE(dead.size() == 1);
    CHECK(dead.front().id == id);
    CHECK(dead.front().body == "m");
    CHECK(dead.front().json.string_at("source_queue") == "src");
}

}  // namespace

TEST_CASE(
    "max receives off by one, or a spent message dropped: exactly N "
    "deliveries, then it is in the dead-letter queue (R12)",
    "[integration][dead-letter]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "dlq1");

    SECTION("max receives 3") {
        must_create_queue(
            *agent, "src",
            {"--visibility", "1s", "--dlq", "dlq1", "--max-receives", "3"});
        std::string id = must_send(*agent, "src", "m");
        auto counts = receive_until_quiet(*agent, "src", 3'000);
        CHECK(counts == std::vector<std::int64_t>{1, 2, 3});
        CHECK(held_messages(must_queue_info(*agent, "src")) == 0);
        CHECK(must_queue_info(*agent, "dlq1").int_at("visible") == 1);
        check_in_dlq(*agent, id);
    }
    SECTION("max receives 1") {
        must_create_queue(
            *agent, "src",
            {"--visibility", "1s", "--dlq", "dlq1", "--max-receives", "1"});
        std::string id = must_send(*agent, "src", "m");
        auto counts = receive_until_quiet(*agent, "src", 3'000);
        CHECK(counts == std::vector<std::int64_t>{1});

        // Moved within a visibility period and a sweep, with no receive.
        json_value src = must_queue_info(*agent, "src");
        CHECK(held_messages(src) == 0);
        CHECK(must_queue_info(*agent, "dlq1").int_at("visible") == 1);
        check_in_dlq(*agent, id);
    }
}
