// Running the --exec command for one message; see exec_runner.h.

#include "cmd/exec_runner.h"

#include "cmd/exit_codes.h"
#include "cmd/receipt_ops.h"
#include "cmd/signals.h"
#include "common/message_fields.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace dmq::cli {

namespace {

// How often to look for the command's exit when pidfd_open is missing.
constexpr int kExitCheckMs = 20;

// A closed file descriptor once it leaves scope.
class unique_fd {
public:
    explicit unique_fd(int fd = -1) : fd_(fd) {}
    ~unique_fd() { reset(); }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;

    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) {
            close(fd_);
        }
        fd_ = -1;
    }

private:
    int fd_;
};

// Variables dmq sets for the command, which therefore never come from
// dmq's own environment: a DMQ_ATTR_ of dmq's caller must not pass for an
// attribute of the message.
bool is_message_variable(std::string_view entry) {
    for (std::string_view name :
         {"DMQ_QUEUE=", "DMQ_MESSAGE_ID=", "DMQ_RECEIPT=", "DMQ_RECEIVE_COUNT=",
          "DMQ_GROUP=", "DMQ_ATTR_"}) {
        if (entry.rfind(name, 0) == 0) {
            return true;
        }
    }
    return false;
}

// The environment of the command: dmq's own, plus the message's. An
// attribute whose key is not a variable name (stored before keys had to
// be) or whose value holds a NUL cannot be passed, and is left out.
std::vector<std::string> command_environment(const exec_job& job,
                                             const message_record& m) {
    std::vector<std::string> env = {
        "DMQ_QUEUE=" + job.queue,
        "DMQ_MESSAGE_ID=" + m.id,
        "DMQ_RECEIPT=" + m.receipt.value_or(""),
        "DMQ_RECEIVE_COUNT=" + std::to_string(m.receive_count),
    };
    if (m.group) {
        env.push_back("DMQ_GROUP=" + *m.group);
    }
    for (const auto& [key, value] : m.attributes) {
        if (validate_attribute_key(key) &&
            value.find('\0') == std::string::npos) {
            env.push_back("DMQ_ATTR_" + key + "=" + value);
        }
    }
    for (char** e = environ; *e; ++e) {
        if (!is_message_variable(*e)) {
            env.emplace_back(*e);
        }
    }
    return env;
}

// Starts /bin/sh -c COMMAND with `stdin_fd` as its stdin.
result<pid_t> spawn_shell(const exec_job& job, const message_record& m,
                          int stdin_fd) {
    std::vector<std::string> env = command_environment(job, m);
    std::vector<char*> envp;
    for (auto& entry : env) {
        envp.push_back(entry.data());
    }
    envp.push_back(nullptr);
    std::string sh = "sh";
    std::string dash_c = "-c";
    std::string command = job.command;
    char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};

    // dmq ignores SIGPIPE; the command must get the usual behaviour. It
    // gets a process group of its own (pgroup 0: its pid), so that dmq's
    // signals do not reach it and dmq can stop it with all its children.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    sigset_t no_blocked;
    sigemptyset(&no_blocked);
    posix_spawnattr_setsigmask(&attr, &no_blocked);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETPGROUP);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);

    pid_t pid = 0;
    int err = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
        return status(errc::internal, "run --exec command: /bin/sh: " +
                                          std::string(std::strerror(err)));
    }
    return pid;
}

// Feeds the body to the command and extends the message until the
// command exits. Ownership: closes `body_fd` once the body is written.
class command_watch {
public:
    command_watch(const exec_job& job, const message_record& m,
                  agent_client& client, pid_t pid, int body_fd)
        : job_(job),
          message_(m),
          client_(client),
          pid_(pid),
          pidfd_(static_cast<int>(syscall(SYS_pidfd_open, pid, 0))),
          body_fd_(body_fd) {}

    // Returns the wait status of the command.
    int wait_for_exit();

    // Whether a second signal made it stop the command.
    bool stopped() const { return stopping_; }

private:
    millis extend_every() const {
        return std::max(job_.visibility / 3, millis(1));
    }
    int poll_timeout_ms() const;
    void write_body();
    void extend_if_due();
    void stop_if_asked();
    bool exited(int& wait_status);

    const exec_job& job_;
    const message_record& message_;
    agent_client& client_;
    pid_t pid_;
    unique_fd pidfd_;
    unique_fd body_fd_;
    std::size_t written_ = 0;
    bool extending_ = true;
    time_point next_extend_ = steady_clock::now() + extend_every();
    bool stopping_ = false;  // SIGTERM sent to the command's group
    bool killed_ = false;    // SIGKILL sent too
    time_point kill_at_;
};

int command_watch::wait_for_exit() {
    int wait_status = 0;
    while (!exited(wait_status)) {
        int second = stopping_ ? -1 : signals::second_wake_fd();
        pollfd fds[3] = {{pidfd_.get(), POLLIN, 0},
                         {body_fd_.get(), POLLOUT, 0},
                         {second, POLLIN, 0}};
        poll(fds, 3, poll_timeout_ms());  // EINTR: the message goes on

        if (fds[1].revents != 0) {
            write_body();
        }
        stop_if_asked();
        extend_if_due();
    }
    return wait_status;
}

int command_watch::poll_timeout_ms() const {
    auto now = steady_clock::now();
    millis timeout(60'000);
    if (extending_) {
        timeout = std::chrono::ceil<millis>(next_extend_ - now);
    }
    if (stopping_ && !killed_) {
        timeout = std::min(timeout, std::chrono::ceil<millis>(kill_at_ - now));
    }
    if (pidfd_.get() < 0) {
        timeout = std::min(timeout, millis(kExitCheckMs));
    }
    return static_cast<int>(std::max<std::int64_t>(0, timeout.count()));
}

void command_watch::stop_if_asked() {
    if (!stopping_ && signals::second_caught()) {
        // The whole group: `sh -c` may have started children of its own.
        kill(-pid_, SIGTERM);
        stopping_ = true;
        extending_ = false;  // the message is released once it has exited
        kill_at_ = steady_clock::now() + kStopGrace;
    }
    if (stopping_ && !killed_ && steady_clock::now() >= kill_at_) {
        kill(-pid_, SIGKILL);
        killed_ = true;
    }
}

void command_watch::write_body() {
    const std::string& body = message_.body;
    while (written_ < body.size()) {
        ssize_t n = write(body_fd_.get(), body.data() + written_,
                          body.size() - written_);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            return;  // the pipe is full; poll says when it drains
        }
        if (n < 0) {
            break;  // EPIPE: the command does not read its stdin
        }
        written_ += static_cast<std::size_t>(n);
    }
    body_fd_.reset();  // end of input for the command
}

void command_watch::extend_if_due() {
    if (!extending_ || steady_clock::now() < next_extend_) {
        return;
    }
    next_extend_ = steady_clock::now() + extend_every();
    status extended = extend_receipts(
        client_, job_.queue, {message_.receipt.value_or("")}, job_.visibility);
    if (!extended) {
        // Keep the command running: its work may still succeed, and an
        // ack after that fails visibly if the message went elsewhere.
        warn("cannot extend message '" + message_.id +
             "' while its command runs: " + extended.message());
        extending_ = false;
    }
}

bool command_watch::exited(int& wait_status) {
    pid_t done = waitpid(pid_, &wait_status, WNOHANG);
    while (done < 0 && errno == EINTR) {
        done = waitpid(pid_, &wait_status, WNOHANG);
    }
    if (done < 0) {
        wait_status = 255 << 8;  // unknown outcome: count it as a failure
    }
    return done == pid_ || done < 0;
}

}  // namespace

result<exec_outcome> run_exec(const exec_job& job,
                              const message_record& message,
                              agent_client& client) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return errno_status("run --exec command: pipe", errno);
    }
    unique_fd read_end(fds[0]);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);

    // Signals wait until dmq knows the command's group, so that a second
    // one in between cannot end dmq and leave the command running alone.
    sigset_t stop_signals;
    sigset_t previous;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, &previous);
    auto pid = spawn_shell(job, message, read_end.get());
    if (pid) {
        signals::set_command_group(*pid);
    }
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    if (!pid) {
        close(fds[1]);
        return pid.error();
    }
    read_end.reset();

    command_watch watch(job, message, client, *pid, fds[1]);
    int wait_status = watch.wait_for_exit();
    signals::set_command_group(0);

    exec_outcome out;
    out.stopped = watch.stopped();
    out.exit_status = WIFSIGNALED(wait_status)
                          ? kExitSignalBase + WTERMSIG(wait_status)
                          : WEXITSTATUS(wait_status);
    return out;
}

}  // namespace dmq::cli
