// How stdin becomes message bodies: whole input, lines, NUL records.

#include "cmd/input_splitter.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

using dmq::cli::input_reader;
using dmq::cli::input_splitter;
using dmq::cli::split_mode;
using bodies = std::vector<std::string>;

namespace {

bodies split(split_mode mode, const std::string& input) {
    input_splitter splitter(mode);
    splitter.feed(input);
    splitter.finish();
    return splitter.take();
}

}  // namespace

TEST_CASE("whole input is one body, byte for byte", "[input]") {
    std::string input("a\nb\r\n\0c\n", 8);
    CHECK(split(split_mode::whole, input) == bodies{input});
}

TEST_CASE("empty input is one empty body in whole mode", "[input]") {
    CHECK(split(split_mode::whole, "") == bodies{""});
}

TEST_CASE("lines lose their newline and nothing else", "[input]") {
    CHECK(split(split_mode::lines, "a\nb\n") == bodies{"a", "b"});
    CHECK(split(split_mode::lines, " a \n\tb") == bodies{" a ", "\tb"});
}

TEST_CASE("a last line without a newline still counts", "[input]") {
    CHECK(split(split_mode::lines, "a\nb") == bodies{"a", "b"});
}

TEST_CASE("blank lines are empty messages", "[input]") {
    CHECK(split(split_mode::lines, "a\n\nb\n") == bodies{"a", "", "b"});
    CHECK(split(split_mode::lines, "\n") == bodies{""});
    CHECK(split(split_mode::lines, "\n\n") == bodies{"", ""});
}

TEST_CASE("empty input is no message in lines mode", "[input]") {
    CHECK(split(split_mode::lines, "").empty());
}

TEST_CASE("a carriage return before the newline is kept", "[input]") {
    CHECK(split(split_mode::lines, "a\r\nb\r\n") == bodies{"a\r", "b\r"});
}

TEST_CASE("NUL-delimited records follow the rules of lines", "[input]") {
    using namespace std::string_literals;
    CHECK(split(split_mode::null, "a\0b\0"s) == bodies{"a", "b"});
    CHECK(split(split_mode::null, "a\nb\0c"s) == bodies{"a\nb", "c"});
    CHECK(split(split_mode::null, "\0"s) == bodies{""});
    CHECK(split(split_mode::null, "").empty());
}

TEST_CASE("a line split across reads is joined", "[input]") {
    input_splitter splitter(split_mode::lines);
    splitter.feed("hel");
    CHECK(splitter.take().empty());
    CHECK(splitter.partial_size() == 3);
    splitter.feed("lo\nwor");
    CHECK(splitter.take() == bodies{"hello"});
    splitter.feed("ld");
    splitter.finish();
    CHECK(splitter.take() == bodies{"world"});
}

TEST_CASE("complete lines are ready before the input ends", "[input]") {
    input_splitter splitter(split_mode::lines);
    splitter.feed("one\ntwo\nthr");
    CHECK(splitter.take() == bodies{"one", "two"});
    CHECK(splitter.take().empty());
}

TEST_CASE("the reader reports idle when a pipe has nothing yet", "[input]") {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    input_reader reader(fds[0]);
    input_splitter splitter(split_mode::lines);

    auto first = reader.read_some(splitter, false);
    REQUIRE(first.is_ok());
    CHECK(*first == input_reader::outcome::idle);

    REQUIRE(write(fds[1], "a\nb", 3) == 3);
    auto second = reader.read_some(splitter, false);
    REQUIRE(second.is_ok());
    CHECK(*second == input_reader::outcome::read);
    CHECK(splitter.take() == bodies{"a"});

    close(fds[1]);
    auto third = reader.read_some(splitter, true);
    REQUIRE(third.is_ok());
    CHECK(*third == input_reader::outcome::end);
    close(fds[0]);
}

TEST_CASE("a directory as input is an unreadable input, not a failure of dmq",
          "[input]") {
    int fd = open("/", O_RDONLY);
    REQUIRE(fd >= 0);
    input_reader reader(fd);
    input_splitter splitter(split_mode::whole);

    auto got = reader.read_some(splitter, true);
    REQUIRE_FALSE(got.is_ok());
    CHECK(got.error().message() == "cannot read stdin: Is a directory");
    CHECK(reader.failed());
    close(fd);
}
