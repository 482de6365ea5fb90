// Signal handling by self-pipe; see signals.h.

#include "cmd/signals.h"

#include "cmd/exit_codes.h"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace dmq::cli::signals {

namespace {

volatile std::sig_atomic_t g_caught = 0;
volatile std::sig_atomic_t g_second = 0;
volatile std::sig_atomic_t g_command_group = 0;
int g_pipe[2] = {-1, -1};
int g_second_pipe[2] = {-1, -1};

void wake(int fd) {
    char byte = 1;
    ssize_t ignored = write(fd, &byte, 1);
    (void)ignored;
}

void on_signal(int signo) {
    if (g_caught == 0) {
        g_caught = signo;
        wake(g_pipe[1]);
        return;
    }
    if (g_command_group != 0 && g_second == 0) {
        // dmq stops the command itself, then releases its message.
        g_second = 1;
        wake(g_second_pipe[1]);
        return;
    }
    // The user asked again: stop waiting for anything, and leave no
    // command running without the dmq that extends its message.
    if (g_command_group != 0) {
        kill(-static_cast<pid_t>(g_command_group), SIGKILL);
    }
    _exit(kExitSignalBase + g_caught);
}

void make_pipe(int (&fds)[2]) {
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        fds[0] = fds[1] = -1;
    }
}

}  // namespace

void install() {
    make_pipe(g_pipe);
    make_pipe(g_second_pipe);

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

void set_command_group(pid_t group) {
    g_command_group = static_cast<std::sig_atomic_t>(group);
}

bool second_caught() {
    return g_second != 0;
}

int second_wake_fd() {
    return g_second_pipe[0];
}

bool sleep_unless_signalled(std::chrono::milliseconds duration) {
    auto deadline = std::chrono::steady_clock::now() + duration;
    while (caught() == 0) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return true;
        }
        pollfd fd = {wake_fd(), POLLIN, 0};
        poll(&fd, wake_fd() >= 0 ? 1 : 0, static_cast<int>(left.count()));
    }
    return false;
}

}  // namespace dmq::cli::signals
