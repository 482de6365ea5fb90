// Exit statuses: every wire error code maps to the documented status.

#include "cmd/exit_codes.h"

#include <catch2/catch.hpp>

using namespace dmq;
using namespace dmq::cli;

namespace {

int for_wire(std::string_view code) {
    return exit_code_for(errc_from_wire(code));
}

}  // namespace

TEST_CASE("a missing queue exits 4", "[exit]") {
    CHECK(for_wire("NOT_FOUND") == 4);
}

TEST_CASE("requests the agent refuses exit 5", "[exit]") {
    for (auto code : {"BAD_REQUEST", "TOO_LARGE", "QUEUE_EXISTS",
                      "QUEUE_NOT_EMPTY", "QUEUE_IN_USE", "STALE_RECEIPT",
                      "INVALID_RECEIPT", "UNKNOWN_OP", "UNSUPPORTED_VERSION"}) {
        INFO(code);
        CHECK(for_wire(code) == 5);
    }
}

TEST_CASE("an agent that is stopping counts as unreachable", "[exit]") {
    CHECK(for_wire("SHUTTING_DOWN") == 3);
    CHECK(exit_code_for(errc::unavailable) == 3);
}

TEST_CASE("agent failures and unknown codes exit 6", "[exit]") {
    CHECK(for_wire("INTERNAL") == 6);
    CHECK(for_wire("IO_ERROR") == 6);
    CHECK(for_wire("CORRUPT_DATA") == 6);
    CHECK(for_wire("SOMETHING_NEW") == 6);
}

TEST_CASE("the help epilogue lists every exit status", "[exit]") {
    std::string help(exit_status_help());
    for (auto code : {"  0 ", "  1 ", "  2 ", "  3 ", "  4 ", "  5 ", "  6 ",
                      "  7 ", "130", "143"}) {
        INFO(code);
        CHECK(help.find(code) != std::string::npos);
    }
}
