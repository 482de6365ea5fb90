// The agent's config file parser: what it accepts, and that every mistake
// is an error naming the line.

#include "agent/config_file.h"

#include "tests/agent/test_dir.h"

#include <catch2/catch.hpp>

#include <fstream>

using dmq::agent::read_config_file;

namespace {

const std::set<std::string> kKnown{"data-dir", "listen", "log-level"};

dmq::result<std::map<std::string, std::string>> parse(
    const dmq::test::test_dir& dir, const std::string& text) {
    auto path = dir.path() / "agent.conf";
    std::ofstream(path) << text;
    return read_config_file(path, kKnown);
}

}  // namespace

TEST_CASE("config files accept quoted and bare values and comments",
          "[config]") {
    dmq::test::test_dir dir;
    auto got = parse(dir,
                     "# an agent\n\n"
                     "data-dir = \"/var/lib/dmq \\\"x\\\"\"  # quoted\n"
                     "listen=127.0.0.1:7420\n"
                     "  log-level = debug\n");
    REQUIRE(got.is_ok());
    CHECK(got->at("data-dir") == "/var/lib/dmq \"x\"");
    CHECK(got->at("listen") == "127.0.0.1:7420");
    CHECK(got->at("log-level") == "debug");
}

TEST_CASE("config file mistakes are errors that name the line", "[config]") {
    dmq::test::test_dir dir;
    struct bad_case {
        std::string text;
        std::string says;
    };
    for (const auto& c : std::vector<bad_case>{
             {"bogus = 1\n", "line 1: unknown setting 'bogus'"},
             {"\nlisten = \"/tmp/x\n", "line 2: unterminated"},
             {"[agent]\n", "line 1: expected key = value"},
             {"listen = a\nlisten = b\n", "line 2: 'listen' is set twice"},
             {"listen = a junk\n", "unexpected text after the value"},
             {"listen =\n", "missing value"},
             {"listen = \"a\\n\"\n", "badly escaped"},
             {std::string("\x01\x02 garbage\n"), "expected key = value"},
         }) {
        auto got = parse(dir, c.text);
        INFO(c.text);
        REQUIRE_FALSE(got.is_ok());
        CHECK(got.error().code() == dmq::errc::bad_request);
        CHECK_THAT(got.error().message(), Catch::Contains(c.says));
    }
}

TEST_CASE("an unreadable config file is an error naming it", "[config]") {
    auto got = read_config_file("/nonexistent/agent.conf", kKnown);
    REQUIRE_FALSE(got.is_ok());
    CHECK_THAT(got.error().message(),
               Catch::Contains("/nonexistent/agent.conf"));
}
