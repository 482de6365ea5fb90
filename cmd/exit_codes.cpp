// Exit statuses and error lines; see exit_codes.h.

#include "cmd/exit_codes.h"

#include "cmd/signals.h"

#include <cstdio>
#include <string>

namespace dmq::cli {

namespace {

void print_line(std::string_view prefix, std::string_view message) {
    // One line, whatever the message holds, so that scripts can rely on
    // one error per line.
    std::string line = "dmq: ";
    line += prefix;
    for (char c : message) {
        line += c == '\n' ? ' ' : c;
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace

int exit_code_for(errc code) {
    switch (code) {
        case errc::ok:
            return kExitOk;
        case errc::not_found:
            return kExitNotFound;
        case errc::shutting_down:
        case errc::unavailable:
            return kExitUnreachable;
        case errc::bad_request:
        case errc::unsupported_version:
        case errc::unknown_op:
        case errc::queue_exists:
        case errc::queue_not_empty:
        case errc::queue_in_use:
        case errc::too_large:
        case errc::stale_receipt:
        case errc::invalid_receipt:
            return kExitRefused;
        case errc::corrupt_data:
        case errc::io_error:
        case errc::internal:
            return kExitInternal;
    }
    return kExitInternal;
}

std::string_view exit_status_help() {
    return "Exit status:\n"
           "  0    success\n"
           "  1    nothing to receive (receive, peek)\n"
           "  2    usage error: bad arguments, a value out of range, a bad\n"
           "       queue name, or unreadable standard input\n"
           "  3    agent unreachable or shutting down: nothing was applied;\n"
           "       or sent but no reply in time: outcome unknown (the error\n"
           "       says so; a send retried then may store its messages twice)\n"
           "  4    queue not found (for show: or message not found)\n"
           "  5    refused by the agent (bad request, too large, exists,\n"
           "       not empty, in use, stale or invalid receipt)\n"
           "  6    internal error in the agent, or a malformed reply\n"
           "  7    a --exec command failed for at least one message\n"
           "  130  interrupted by SIGINT; 143 by SIGTERM";
}

int fail(const status& error) {
    if (signals::caught() != 0) {
        return signals::exit_code();
    }
    print_line("error: ", error.message());
    return exit_code_for(error.code());
}

int usage_error(std::string_view message) {
    print_line("error: ", message);
    return kExitUsage;
}

void warn(std::string_view message) {
    print_line("warning: ", message);
}

void note(std::string_view message) {
    print_line("note: ", message);
}

}  // namespace dmq::cli
