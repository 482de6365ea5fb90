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

TEST_CASE("an invalid queue name is refused before any network", "[cli]") {
    CHECK(run_dmq({"send", "no spaces", "x"}) == 2);
    CHECK(run_dmq({"queue", "info", std::string(81, 'a')}) == 2);
}

TEST_CASE("a malformed attribute is a usage error", "[cli]") {
    CHECK(run_dmq({"send", "q", "x", "--attr", "novalue"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--attr", "=v"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--attr", "k=1", "--attr", "k=2"}) == 2);
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
