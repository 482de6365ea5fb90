// How dmq fails: exit codes that scripts can rely on, errors on stderr
// only, usage errors found before any network traffic (field case R19).

#include "tests/integration/harness.h"
#include "tests/integration/queue_steps.h"

#include <catch2/catch.hpp>

using namespace dmq::itest;

namespace {

// Nothing listens on port 1 of the loopback address, so a connection
// there is refused at once.
constexpr const char* kNobody = "127.0.0.1:1";

}  // namespace

TEST_CASE(
    "an unreachable agent makes dmq exit 3 within its timeout, with "
    "the error on stderr only",
    "[integration][errors]") {
    const std::vector<std::vector<std::string>> commands = {
        {"--timeout", "1s", "send", "q", "x"},
        {"--timeout", "1s", "receive", "q"},
        {"--timeout", "1s", "queue", "list"},
    };
    for (const auto& args : commands) {
        dmq_run run = run_dmq_at(kNobody, args);
        check_exit(run, 3);
        check_one_error_line(run);
        INFO(run.describe());
        CHECK(run.elapsed.count() < 3000);
    }

    // health reports on every agent: its table (stdout) may list the
    // agent as unreachable, and the exit status says it failed.
    dmq_run health = run_dmq_at(kNobody, {"--timeout", "1s", "health"});
    check_exit(health, 3);
    CHECK(health.elapsed.count() < 3000);
    CHECK(health.err.find("unreachable") != std::string::npos);
    CHECK(health.out.find("dmq: ") == std::string::npos);

    // The same through DMQ_AGENTS instead of --agents.
    run_options o;
    o.add_agents_option = false;
    o.env = {{"DMQ_AGENTS", kNobody}};
    dmq_run by_env = run_dmq_at("", {"--timeout", "1s", "send", "q", "x"}, o);
    check_exit(by_env, 3);
    check_one_error_line(by_env);

    // stdin is read first, then the agent found missing: still exit 3.
    run_options piped;
    piped.input = stdin_source::bytes("x");
    dmq_run send_piped =
        run_dmq_at(kNobody, {"--timeout", "1s", "send", "q"}, piped);
    check_exit(send_piped, 3);
    check_one_error_line(send_piped);
}

TEST_CASE("an unknown queue exits 4 and suggests the close name",
          "[integration][errors]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "orders");

    dmq_run typo = run_dmq(*agent, {"send", "ordrs", "x"});
    check_exit(typo, 4);
    check_one_error_line(typo);
    CHECK(typo.err.find("'orders'") != std::string::npos);

    run_options piped;
    piped.input = stdin_source::bytes("x");
    check_exit(run_dmq(*agent, {"send", "nosuchq"}, piped), 4);
    dmq_run receive = run_dmq(*agent, {"receive", "nosuchq"});
    check_exit(receive, 4);
    check_one_error_line(receive);
    check_exit(run_dmq(*agent, {"queue", "info", "nosuchq"}), 4);
    CHECK(held_messages(must_queue_info(*agent, "orders")) == 0);
}

TEST_CASE(
    "an invalid queue name is a usage error found before contacting "
    "any agent",
    "[integration][errors]") {
    // Were an agent contacted, this would take the 5 s timeout and exit 3.
    for (const std::string& name :
         {std::string("bad name!"), std::string("a/b"), std::string("../x"),
          std::string(81, 'q'), std::string("caf\xc3\xa9")}) {
        dmq_run run =
            run_dmq_at(kNobody, {"--timeout", "5s", "send", name, "x"});
        check_exit(run, 2);
        check_one_error_line(run);
        INFO(run.describe());
        CHECK(run.elapsed.count() < 2000);
    }
}

TEST_CASE(
    "malformed --attr values and durations are usage errors that "
    "store nothing",
    "[integration][errors]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "q");

    const std::vector<std::vector<std::string>> commands = {
        {"send", "q", "x", "--attr", "novalue"},
        {"send", "q", "x", "--attr", "=v"},
        {"send", "q", "x", "--delay", "5x"},
        {"send", "q", "x", "--delay", "-1s"},
        {"send", "q", "x", "--delay", "9223372036854775808"},
        {"receive", "q", "--wait", "abc"},
        {"receive", "q", "--visibility", "1y"},
        {"queue", "create", "q2", "--visibility", "soon"},
        {"queue", "create", "q3", "--max-size", "lots"},
    };
    for (const auto& args : commands) {
        dmq_run run = run_dmq(*agent, args);
        check_exit(run, 2);
        check_one_error_line(run);
    }
    CHECK(held_messages(must_queue_info(*agent, "q")) == 0);
    dmq_run list = run_dmq(*agent, {"queue", "list"});
    check_exit(list, 0);
    CHECK(list.out == "q\n");
}
