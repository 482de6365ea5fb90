// SIGINT and SIGTERM as a request to stop, not an instant death: dmq
// finishes or undoes what is in flight (cancels a pending long poll,
// releases messages it has not written out) and then exits 130 or 143.
// A second signal ends the process at once. SIGPIPE is ignored so that a
// closed stdout is an error value (EPIPE), not a silent kill.
//
// The handler only records the signal and writes a byte to a self-pipe, so
// that any poll() or zmq_poll() that includes wake_fd() wakes up at once.

#pragma once

namespace dmq::cli::signals {

// Installs the handlers; call once, before any other thread starts.
void install();

// The first signal received, or 0. Stays set once set.
int caught();

// 128 + caught(): the exit status for an interrupted command.
int exit_code();

// Readable once a signal has been caught; include it in every wait.
int wake_fd();

}  // namespace dmq::cli::signals
