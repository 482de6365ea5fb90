// Signal handling by self-pipe; see signals.h.

#include "cmd/signals.h"

#include "cmd/exit_codes.h"

#include <csignal>
#include <fcntl.h>
#include <unistd.h>

namespace dmq::cli::signals {

namespace {

volatile std::sig_atomic_t g_caught = 0;
int g_pipe[2] = {-1, -1};

void on_signal(int signo) {
    if (g_caught != 0) {
        // The user asked twice: stop waiting for anything.
        _exit(kExitSignalBase + g_caught);
    }
    g_caught = signo;
    char byte = 1;
    ssize_t ignored = write(g_pipe[1], &byte, 1);
    (void)ignored;
}

}  // namespace

void install() {
    if (pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        g_pipe[0] = g_pipe[1] = -1;
    }

    // No SA_RESTART: a blocking call returns EINTR and the caller looks at
    // caught() instead of sleeping on.
    struct sigaction action = {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, nullptr);
}

int caught() {
    return g_caught;
}

int exit_code() {
    return kExitSignalBase + g_caught;
}

int wake_fd() {
    return g_pipe[0];
}

}  // namespace dmq::cli::signals
