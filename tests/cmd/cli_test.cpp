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
    CHECK(run_dmq({"release", "q", "r", "--delay", "13h"}) == 2);
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

TEST_CASE("an attribute value over 1024 bytes is a usage error", "[cli]") {
    CHECK(run_dmq({"send", "q", "x", "--attr",
                   "k=" + std::string(1025, 'a')}) == 2);
    // At the limit it passes and reaches the (absent) agent.
    CHECK(run_dmq({"send", "q", "x", "--attr",
                   "k=" + std::string(1024, 'a')}) == 3);
}

TEST_CASE("an attribute key must be a shell variable name", "[cli]") {
    for (std::string key :
         std::vector<std::string>{"1k", "with-dash", "dot.ted", "sp ace",
                                  "caf\xc3\xa9", std::string(65, 'k')}) {
        INFO(key);
        CHECK(run_dmq({"send", "q", "x", "--attr", key + "=v"}) == 2);
    }
    CHECK(run_dmq({"send", "q", "x", "--attr", "_Ok_9=v", "--attr",
                   std::string(64, 'k') + "=v"}) == 3);
}

TEST_CASE("attribute keys and values must be valid UTF-8", "[cli]") {
    CHECK(run_dmq({"send", "q", "x", "--attr", "k=\xff"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--attr", "k\xc3=v"}) == 2);
    // Valid UTF-8 passes the check and reaches the (absent) agent.
    CHECK(run_dmq({"send", "q", "x", "--attr", "cafe=\xe2\x82\xac"}) == 3);
}

TEST_CASE("more than 16 attributes are a usage error", "[cli]") {
    auto with_attributes = [](int count) {
        std::vector<std::string> words = {"dmq",  "--agents", "127.0.0.1:1",
                                          "send", "q",        "x"};
        for (int i = 0; i < count; ++i) {
            words.push_back("--attr");
            words.push_back("k" + std::to_string(i) + "=v");
        }
        std::vector<char*> argv;
        for (auto& w : words) {
            argv.push_back(w.data());
        }
        return dmq::cli::run(static_cast<int>(argv.size()), argv.data());
    };
    CHECK(with_attributes(17) == 2);
    CHECK(with_attributes(16) == 3);
}

TEST_CASE("a priority outside 0 to 9 is a usage error", "[cli]") {
    CHECK(run_dmq({"send", "q", "x", "--priority", "10"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--priority", "-1"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--priority", "high"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--priority", "0"}) == 3);
    CHECK(run_dmq({"send", "q", "x", "--priority", "9"}) == 3);
}

TEST_CASE("a bad group is a usage error", "[cli]") {
    CHECK(run_dmq({"send", "q", "x", "--group", "a/b"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--group", "has space"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--group", ""}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--group", std::string(129, 'g')}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--group", "user:42.a_b-c"}) == 3);
}

TEST_CASE("a dedup id with a space or a control character is a usage error",
          "[cli]") {
    CHECK(run_dmq({"send", "q", "x", "--dedup-id", "order 42"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--dedup-id", "tab\there"}) == 2);
    CHECK(run_dmq({"send", "q", "x", "--dedup-id", std::string(129, 'd')}) ==
          2);
    CHECK(run_dmq({"send", "q", "x", "--dedup-id", "order-42/#!"}) == 3);
}

TEST_CASE("queue create checks its dead-letter and dedup settings", "[cli]") {
    CHECK(run_dmq({"queue", "create", "q", "--max-receives", "3"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--content-dedup"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--dlq", "q"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--dlq", "bad name"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--dlq", "d", "--max-receives",
                   "0"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--dlq", "d", "--max-receives",
                   "1001"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--dedup-window", "999ms"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--dedup-window", "8d"}) == 2);
    CHECK(run_dmq({"queue", "create", "q", "--fifo", "--content-dedup", "--dlq",
                   "d", "--max-receives", "1000", "--dedup-window", "7d"}) ==
          3);
}

TEST_CASE("queue update checks its dead-letter and dedup settings", "[cli]") {
    CHECK(run_dmq({"queue", "update", "q", "--no-dlq", "--dlq", "d"}) == 2);
    CHECK(run_dmq({"queue", "update", "q", "--no-dlq", "--max-receives",
                   "2"}) == 2);
    CHECK(run_dmq({"queue", "update", "q", "--content-dedup",
                   "--no-content-dedup"}) == 2);
    CHECK(run_dmq({"queue", "update", "q", "--fifo"}) == 2);
    // The queue may have a dead-letter queue already: only the agent knows.
    CHECK(run_dmq({"queue", "update", "q", "--max-receives", "2"}) == 3);
    CHECK(run_dmq({"queue", "update", "q", "--no-dlq"}) == 3);
    CHECK(run_dmq({"queue", "update", "q", "--no-content-dedup"}) == 3);
}

TEST_CASE("queue redrive checks its target and its limits", "[cli]") {
    CHECK(run_dmq({"queue", "redrive", "dlq", "--to", "dlq"}) == 2);
    CHECK(run_dmq({"queue", "redrive", "dlq", "--to", "no/slash"}) == 2);
    CHECK(run_dmq({"queue", "redrive", "dlq", "--rate", "0"}) == 2);
    CHECK(run_dmq({"queue", "redrive", "dlq", "--max", "0"}) == 2);
    CHECK(run_dmq({"queue", "redrive", "dlq", "--to", "jobs", "--max", "5",
                   "--rate", "10"}) == 3);
}

TEST_CASE("show needs a queue and a message id", "[cli]") {
    CHECK(run_dmq({"show", "q"}) == 2);
    CHECK(run_dmq({"show", "bad name", "0123"}) == 2);
    CHECK(run_dmq({"show", "q", "0123"}) == 2);  // not 24 hex digits
    CHECK(run_dmq({"show", "q", "0123456789abcdef01234567"}) == 3);
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
