// SIGINT and SIGTERM as a request to stop, not an instant death: dmq
// finishes or undoes what is in flight (cancels a pending long poll,
// releases messages it has not written out) and then exits 130 or 143.
// A second signal ends the process at once, except while a --exec
// command runs: then it is recorded and wakes second_wake_fd(), so that
// dmq can stop the command and release its message before it exits; a
// third signal kills the command's process group and ends dmq at once.
// SIGPIPE is ignored so that a closed stdout is an error value (EPIPE),
// not a silent kill.
//
// The handler only records the signal and writes a byte to a self-pipe, so
// that any poll() or zmq_poll() that includes wake_fd() wakes up at once.

#pragma once

#include <chrono>

#include <sys/types.h>

namespace dmq::cli::signals {

// Installs the handlers; call once, before any other thread starts.
void install();

// The first signal received, or 0. Stays set once set.
int caught();

// 128 + caught(): the exit status for an interrupted command.
int exit_code();

// Readable once a signal has been caught; include it in every wait.
int wake_fd();

// While `group` is not 0, a second signal does not end dmq but sets
// second_caught() and makes second_wake_fd() readable; a third sends
// SIGKILL to process group `group` and ends dmq. 0 restores the default.
void set_command_group(pid_t group);

// True once a second signal came while a command group was set.
bool second_caught();

// Readable once second_caught() is true.
int second_wake_fd();

// Sleeps for `duration` unless a signal comes first; false if one did
// (or had already).
bool sleep_unless_signalled(std::chrono::milliseconds duration);

}  // namespace dmq::cli::signals
