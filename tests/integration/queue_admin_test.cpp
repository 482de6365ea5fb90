// Queue deletion, re-creation and purge through the real CLI and agent,
// across restarts (field cases R07 and R30, at small scale).

#include "tests/integration/harness.h"
#include "tests/integration/queue_steps.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace dmq::itest;

TEST_CASE(
    "a deleted queue created again brings none of its old messages "
    "back",
    "[integration][admin]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "dq");
    for (const char* body : {"a", "b", "c"}) {
        must_send(*agent, "dq", body);
    }
    auto a = must_receive_json(*agent, "dq");
    REQUIRE(a.size() == 1);

    // Not empty: refused without --force, and nothing changes.
    dmq_run refused = run_dmq(*agent, {"queue", "delete", "dq"});
    check_exit(refused, 5);
    check_one_error_line(refused);
    CHECK(held_messages(must_queue_info(*agent, "dq")) == 3);

    must_exit(run_dmq(*agent, {"queue", "delete", "dq", "--force"}), 0);
    dmq_run list = run_dmq(*agent, {"queue", "list"});
    check_exit(list, 0);
    CHECK(list.out.empty());
    check_exit(run_dmq(*agent, {"send", "dq", "x"}), 4);

    must_create_queue(*agent, "dq");
    check_exit(run_dmq(*agent, {"receive", "dq", "--wait", "1s"}), 1);
    must_send(*agent, "dq", "d");
    // The old receipt names the old incarnation: it acts on nothing.
    check_exit(run_dmq(*agent, {"ack", "dq", a.front().receipt}), 5);

    agent->kill_9();
    auto restarted = must_restart_agent(*agent);
    auto got = must_drain(*restarted, "dq");
    REQUIRE(got.size() == 1);
    CHECK(got.front().body == "d");

    // Only the new queue's directory is left on disk.
    std::size_t dirs = 0;
    for (const auto& e : fs::directory_iterator(tmp / "data" / "queues")) {
        INFO("left in queues/: " << e.path().filename());
        CHECK(e.path().extension() != ".deleting");
        ++dirs;
    }
    CHECK(dirs == 1);
}

TEST_CASE("purge removes visible, in-flight and delayed messages for good",
          "[integration][admin]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "pq", {"--visibility", "30s"});

    for (int i = 0; i < 10; ++i) {
        must_send(*agent, "pq", "pre-" + std::to_string(i));
    }
    auto in_flight = must_receive_json(*agent, "pq", {"-n", "3"});
    REQUIRE(in_flight.size() == 3);
    for (int i = 0; i < 3; ++i) {
        must_send(*agent, "pq", "delayed-" + std::to_string(i),
                  {"--delay", "60s"});
    }
    json_value before = must_queue_info(*agent, "pq");
    CHECK(before.int_at("visible") == 7);
    CHECK(before.int_at("in_flight") == 3);
    CHECK(before.int_at("delayed") == 3);

    dmq_run purge = run_dmq(*agent, {"queue", "purge", "pq"});
    check_exit(purge, 0);
    CHECK(held_messages(must_queue_info(*agent, "pq")) == 0);

    // An old receipt is invalid now.
    dmq_run old = run_dmq(*agent, {"ack", "pq", in_flight.front().receipt});
    check_exit(old, 5);
    check_one_error_line(old);

    for (int i = 0; i < 5; ++i) {
        must_send(*agent, "pq", "post-" + std::to_string(i));
    }
    agent->kill_9();
    auto restarted = must_restart_agent(*agent);

    // Delayed ones would show as delayed; in-flight ones as in flight.
    json_value after = must_queue_info(*restarted, "pq");
    CHECK(after.int_at("visible") == 5);
    CHECK(after.int_at("in_flight") == 0);
    CHECK(after.int_at("delayed") == 0);
    std::vector<std::string> got;
    for (const auto& m : must_drain(*restarted, "pq")) {
        got.push_back(m.body);
    }
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<std::string>{"post-0", "post-1", "post-2",
                                          "post-3", "post-4"});
}
