// How a dmq command ends: its exit status, the same for every command, and
// the one line on stderr that explains a failure. The statuses are listed
// for users in man/dmq.1 (EXIT STATUS) and in the --help epilogue; keep
// the three in step.

#pragma once

#include "common/status.h"

#include <string>
#include <string_view>

namespace dmq::cli {

constexpr int kExitOk = 0;
constexpr int kExitNothingReceived = 1;  // receive or peek found no message
constexpr int kExitUsage = 2;            // bad arguments, before any network
constexpr int kExitUnreachable = 3;      // no agent answered, or all stopping
                                         // (or no reply: outcome unknown)
constexpr int kExitNotFound = 4;         // no such queue (or message)
constexpr int kExitRefused = 5;          // the agent refused the request
constexpr int kExitInternal = 6;         // agent failure or malformed reply
constexpr int kExitCommandFailed = 7;    // a --exec command failed
constexpr int kExitSignalBase = 128;     // 130 for SIGINT, 143 for SIGTERM

// The exit status for a failure of this kind, whether it came from the
// agent (a wire code) or from the CLI itself.
int exit_code_for(errc code);

// The text of the "exit status" epilogue of --help.
std::string_view exit_status_help();

// Prints "dmq: error: <message>" and returns the exit status for `error`,
// or, when a signal has asked dmq to stop, prints nothing and returns
// 128 + the signal number: the interruption is the real cause.
int fail(const status& error);

// kExitOk when `outcome` is ok, else fail(outcome).
inline int exit_with(const status& outcome) {
    return outcome ? 0 : fail(outcome);
}

// Prints "dmq: error: <message>" and returns kExitUsage.
int usage_error(std::string_view message);

// Prints "dmq: warning: <message>".
void warn(std::string_view message);

// Prints "dmq: note: <message>": something the user may want to know
// about a command that succeeded (a send stored nothing for a duplicate).
void note(std::string_view message);

}  // namespace dmq::cli
