// The environment of a receive --exec command: the message's own
// variables, each attribute as DMQ_ATTR_<KEY>, its group as DMQ_GROUP,
// and none of these inherited from dmq's own environment.

#include "cmd/exec_runner.h"
#include "tests/cmd/fake_agent.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace dmq;
using namespace dmq::cli;
using namespace dmq::cli::test;
using namespace std::chrono_literals;

namespace {

// The DMQ_ variables the command saw, one per line, sorted.
std::string command_variables(const message_record& m) {
    char name[] = "/tmp/dmq-exec-test-XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    // No agent is needed: the command ends long before its first extend.
    auto client = client_for({kClosedPort}, 1s);
    exec_job job{
        "env | grep '^DMQ_' | LC_ALL=C sort > '" + std::string(name) + "'",
        "jobs", 60s};
    auto ran = run_exec(job, m, client);
    REQUIRE(ran.is_ok());
    CHECK(ran->exit_status == 0);
    std::ifstream in(name);
    std::stringstream text;
    text << in.rdbuf();
    unlink(name);
    return text.str();
}

}  // namespace

TEST_CASE("an --exec command gets the attributes and the group as variables",
          "[exec]") {
    // dmq's own environment must not pass for the message's.
    setenv("DMQ_ATTR_stale", "from dmq's caller", 1);
    setenv("DMQ_GROUP", "not this one", 1);
    message_record m;
    m.id = "m1";
    m.receipt = "r1";
    m.receive_count = 3;
    m.group = "user:7";
    m.attributes = {{"kind", "resize"}, {"_size", "a b=c"}};
    std::string seen = command_variables(m);
    unsetenv("DMQ_ATTR_stale");
    unsetenv("DMQ_GROUP");

    CHECK(seen ==
          "DMQ_ATTR__size=a b=c\n"
          "DMQ_ATTR_kind=resize\n"
          "DMQ_GROUP=user:7\n"
          "DMQ_MESSAGE_ID=m1\n"
          "DMQ_QUEUE=jobs\n"
          "DMQ_RECEIPT=r1\n"
          "DMQ_RECEIVE_COUNT=3\n");
}

TEST_CASE(
    "a message without a group sets no DMQ_GROUP, and attribute keys "
    "that are no variable names are left out",
    "[exec]") {
    message_record m;
    m.id = "m2";
    m.receipt = "r2";
    m.receive_count = 1;
    m.attributes = {{"content-type", "text/plain"}, {"ok", "1"}};
    std::string seen = command_variables(m);
    CHECK(seen.find("DMQ_GROUP") == std::string::npos);
    CHECK(seen.find("content") == std::string::npos);
    CHECK(seen.find("DMQ_ATTR_ok=1\n") != std::string::npos);
}
