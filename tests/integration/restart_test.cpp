// Agent restarts on the same data directory and port, after SIGTERM and
// after kill -9: queues, their settings, messages and in-flight or acked
// state must all come back as they were (field cases R01 step 5, R03).

#include "tests/integration/harness.h"
#include "tests/integration/queue_steps.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace dmq::itest;

namespace {

enum class stop_how { sigterm, kill_9 };

std::string nth_body(int i) {
    // Some text, some binary, one empty: all must come back the same.
    if (i % 10 == 3) {
        return "";
    }
    if (i % 2 == 0) {
        return "message " + std::to_string(i);
    }
    return random_bytes(static_cast<std::size_t>(i) * 37, 300 + i);
}

void stop_agent(agent_process& agent, stop_how how) {
    if (how == stop_how::sigterm) {
        agent.terminate();
    } else {
        agent.kill_9();
    }
    REQUIRE_FALSE(agent.running());
}

// The settings and counts that a restart must not change.
void check_same_queue(const json_value& before, const json_value& after) {
    for (const char* key :
         {"name", "visibility_ms", "retention_ms", "max_size", "delay_ms",
          "created_at", "visible", "in_flight", "delayed", "bytes"}) {
        INFO("queue info field " << key);
        const json_value* a = before.find(key);
        const json_value* b = after.find(key);
        REQUIRE(a != nullptr);
        REQUIRE(b != nullptr);
        if (a->as_int()) {
            CHECK(b->as_int() != nullptr);
            CHECK(*a->as_int() == (b->as_int() ? *b->as_int() : -1));
        } else {
            CHECK(a->as_string() != nullptr);
            CHECK(b->as_string() != nullptr);
            if (a->as_string() && b->as_string()) {
                CHECK(*a->as_string() == *b->as_string());
            }
        }
    }
}

void check_restart_keeps_everything(stop_how how) {
    constexpr int kMessages = 100;
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "kept",
                      {"--visibility", "7s", "--retention", "2d", "--max-size",
                       "1MiB", "--delay", "0s"});
    must_create_queue(*agent, "plain");

    std::vector<std::string> bodies;
    for (int i = 0; i < kMessages; ++i) {
        bodies.push_back(nth_body(i));
        must_send(*agent, "kept", bodies.back());
    }
    must_send(*agent, "plain", "in the other queue");
    json_value kept_before = must_queue_info(*agent, "kept");
    json_value plain_before = must_queue_info(*agent, "plain");
    CHECK(kept_before.int_at("visibility_ms") == 7000);
    CHECK(kept_before.int_at("retention_ms") == 2 * 24 * 3600 * 1000LL);
    CHECK(kept_before.int_at("max_size") == 1 << 20);
    CHECK(kept_before.int_at("visible") == kMessages);

    stop_agent(*agent, how);
    auto restarted = must_restart_agent(*agent);
    check_exit(run_dmq(*restarted, {"health"}), 0);
    CHECK(restarted->log().find("recovery:") != std::string::npos);

    dmq_run list = run_dmq(*restarted, {"queue", "list"});
    check_exit(list, 0);
    CHECK(split_lines(list.out) == std::vector<std::string>{"kept", "plain"});
    check_same_queue(kept_before, must_queue_info(*restarted, "kept"));
    check_same_queue(plain_before, must_queue_info(*restarted, "plain"));

    std::vector<std::string> got;
    for (const auto& m : must_drain(*restarted, "kept")) {
        CHECK(m.receive_count == 1);
        got.push_back(m.body);
    }
    std::sort(got.begin(), got.end());
    std::sort(bodies.begin(), bodies.end());
    CHECK(got == bodies);
}

}  // namespace

TEST_CASE("queues, settings and messages survive a SIGTERM restart",
          "[integration][restart]") {
    check_restart_keeps_everything(stop_how::sigterm);
}

TEST_CASE("queues, settings and messages survive kill -9 and restart",
          "[integration][restart]") {
    check_restart_keeps_everything(stop_how::kill_9);
}

TEST_CASE(
    "a message in flight at kill -9 stays invisible until its timeout "
    "and an acked one stays gone",
    "[integration][restart]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "rq", {"--visibility", "5s"});

    // m1: received, not acked. m2: received and acked.
    std::string m1 = must_send(*agent, "rq", "m1");
    auto first = must_receive_json(*agent, "rq");
    auto received_at = steady::now();
    REQUIRE(first.size() == 1);
    REQUIRE(first.front().id == m1);

    std::string m2 = must_send(*agent, "rq", "m2");
    auto second = must_receive_json(*agent, "rq");
    REQUIRE(second.size() == 1);
    REQUIRE(second.front().id == m2);
    must_exit(run_dmq(*agent, {"ack", "rq", second.front().receipt}), 0);

    agent->kill_9();
    auto restarted = must_restart_agent(*agent);

    // Still invisible right after the restart, and m2 never comes back.
    json_value info = must_queue_info(*restarted, "rq");
    CHECK(info.int_at("in_flight") == 1);
    CHECK(info.int_at("visible") == 0);
    if (ms_since(received_at) < 4000) {
        CHECK(must_receive_json(*restarted, "rq").empty());
    } else {
        WARN("restart took too long to check that m1 is still invisible");
    }

    // Back after its 5 s timeout, with its second receive counted.
    auto again = must_receive_json(*restarted, "rq", {"--wait", "10s"});
    std::int64_t waited = ms_since(received_at);
    REQUIRE(again.size() == 1);
    CHECK(again.front().id == m1);
    CHECK(again.front().body == "m1");
    CHECK(again.front().receive_count == 2);
    CHECK(waited >= 4500);
    CHECK(waited < 8000);

    CHECK(must_receive_json(*restarted, "rq").empty());
    CHECK(must_queue_info(*restarted, "rq").int_at("in_flight") == 1);
}

TEST_CASE(
    "an agent killed with an empty log takes new messages after "
    "restart",
    "[integration][restart]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "q2");
    must_send(*agent, "q2", "gone");
    auto got = must_receive_json(*agent, "q2", {"--delete"});
    REQUIRE(got.size() == 1);

    agent->kill_9();
    auto restarted = must_restart_agent(*agent);
    must_send(*restarted, "q2", "x");
    dmq_run x = run_dmq(*restarted, {"receive", "q2", "--raw"});
    check_exit(x, 0);
    CHECK(x.out == "x");
}
