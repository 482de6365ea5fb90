// Parsing the command line: usage errors exit 2 before any network
// traffic (no agent listens on the addresses used here), help exits 0.

#include "cmd/cli.h"
#include "cmd/help_formatter.h"

#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <vector>

namespace {

// Runs dmq in this process with the given arguments.
int run_dmq(std::initializer_list<std::string> args) {
    std::vector<std::string> words = {"dmq", "--agents", "127.0.0.1:1"};
    words.insert(words.end(), args);
    std::vector<char*> argv;
    for (auto& w : words) {
        argv.push_back(w.data());
    }
    return dmq::cli::run(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("help and version exit 0", "[cli]") {
    CHECK(run_dmq({"--help"}) == 0);
    CHECK(run_dmq({"receive", "--help"}) == 0);
    CHECK(run_dmq({"queue", "create", "--help"}) == 0);
    CHECK(run_dmq({"--version"}) == 0);
}

TEST_CASE("an unknown command is a usage error", "[cli]") {
    CHECK(run_dmq({"qeue", "list"}) == 2);
    CHECK(run_dmq({"queue", "lst"}) == 2);
    CHECK(run_dmq({"queue"}) == 2);
}

TEST_CASE("bad durations, sizes and counts are usage errors", "[cli]") {
    CHECK(run_dmq({"queue", "create", "q", "--visibility", "3x"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--max-size", "1TB"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--max-size", "17MiB"}) == 2);
    CHECK(run_dmq({"receive", "q", "-n", "0"}) == 2);
    CHECK(run_dmq({"receive", "q", "-n", "10001"}) == 2);
    CHECK(run_dmq({"receive", "q", "--wait", "21s"}) == 2);
    CHECK(run_dmq({"--timeout", "soon", "health"}) == 2);
}

TEST_CASE("values the agent would refuse are usage errors before any network",
          "[cli]") {
    CHECK(run_dmq({"queue", "create", "q", "--delay", "16m"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--visibility", "13h"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--retention", "999ms"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--retention", "36501d"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--max-size", "0"}) == 2);
    CHECK(run_dmq({"queue", "update", "q", "--delay", "901s"}) == 2);
    CHECK(run_dmq({"queue", "update", "q", "--visibility", "721m"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--delay", "16m"}) == 2);
    CHECK(run_dmq({"receive", "q", "--visibility", "13h"}) == 2);
    CHECK(run_dmq({"release", "q", "r", "--delay", "16m"}) == 2);
    CHECK(run_dmq({"extend", "q", "r", "--visibility", "13h"}) == 2);
    CHECK(run_dmq({"--timeout", "0", "health"}) == 2);
    CHECK(run_dmq({"queue", "list", "--timeout", "0ms"}) == 2);
}

TEST_CASE("values at the edges of their ranges are accepted", "[cli][net]") {
    // Nothing listens, so a value that passes reaches the network: 3.
    CHECK(run_dmq({"queue", "create", "q", "--delay", "15m", "--visibility",
                   "12h", "--retention", "1s", "--max-size", "16MiB"}) == 3);
    CHECK(run_dmq({"queue", "create", "q", "--retention", "36500d",
                   "--max-size", "1"}) == 3);
    CHECK(run_dmq({"--timeout", "1ms", "queue", "list"}) == 3);
}

TEST_CASE("an invalid queue name is refused before any network", "[cli]") {
    CHECK(run_dmq({"send", "no spaces", "x"}) == 2);
    CHECK(run_dmq({"queue", "info", std::string(81, 'a')}) == 2);
}

TEST_CASE("a malformed attribute is a usage error", "[cli]") {
    CHECK(run_dmq({"send", "q", "x", "--attr", "novalue"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--attr", "=v"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--attr", "k=1", "--attr", "k=2"}) == 2);
}

TEST_CASE("attributes over 16KiB in all are a usage error", "[cli]") {
    CHECK(run_dmq({"send", "q", "x", "--attr",
                   "k=" + std::string(16400, 'a')}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--attr", "a=" + std::string(9000, 'a'),
                   "--attr", "b=" + std::string(9000, 'b')}) == 2);
}

TEST_CASE("attribute keys and values must be valid UTF-8", "[cli]") {
    CHECK(run_dmq({"send", "q", "x", "--attr", "k=\xff"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--attr", "k\xc3=v"}) == 2);
    // Valid UTF-8 passes the check and reaches the (absent) agent.
    CHECK(run_dmq({"send", "q", "x", "--attr", "caf\xc3\xa9=\xe2\x82\xac"}) ==
          3);
}

TEST_CASE("conflicting output options are usage errors", "[cli]") {
    CHECK(run_dmq({"receive", "q", "--raw", "-n", "2"}) == 2);
    CHECK(run_dmq({"receive", "q", "--raw", "--format", "json"}) == 2);
    CHECK(run_dmq({"receive", "q", "--exec", "true", "--delete"}) == 2);
    CHECK(run_dmq({"send", "q", "--lines", "--null"}) == 2);
    CHECK(run_dmq({"receive", "q", "--format", "yaml"}) == 2);
}

TEST_CASE("queue update without a setting is a usage error", "[cli]") {
    CHECK(run_dmq({"queue", "update", "q"}) == 2);
}

TEST_CASE("a bad agent list is a usage error", "[cli]") {
    CHECK(run_dmq({"--agents", "nohost", "health"}) == 2);
}

TEST_CASE("an unreachable agent exits 3", "[cli][net]") {
    CHECK(run_dmq({"queue", "list"}) == 3);
    CHECK(run_dmq({"health"}) == 3);
}

TEST_CASE("help text wraps at spaces within the width", "[cli]") {
    using dmq::cli::wrap_text;
    CHECK(wrap_text("one two three", 7) == "one two\nthree");
    CHECK(wrap_text("short", 80) == "short");
    CHECK(wrap_text("averyveryverylongword x", 5) ==
          "averyveryverylongword\nx");
}

TEST_CASE("a mistyped option is a usage error", "[cli]") {
    CHECK(run_dmq({"send", "q", "x", "--qiet"}) == 2);
}

TEST_CASE("global options may follow the command", "[cli]") {
    CHECK(run_dmq({"queue", "list", "--agents", "nohost"}) == 2);
    CHECK(run_dmq({"queue", "list", "--timeout", "later"}) == 2);
}
