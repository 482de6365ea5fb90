// The integration test harness: temporary directories, child processes,
// a real `dmq-agent` started on 127.0.0.1 port 0 in a temp data directory
// (its log captured to a file so tests can assert log lines), and runs of
// the real `dmq` binary with chosen stdin, environment and time limit.
//
// Rules every helper keeps: every wait is bounded; every process started
// here is ended by its pid (never by name) and reaped, also when a test
// fails half-way (destructors kill what is still running); nothing talks
// to any address but 127.0.0.1. Functions named must_... end the test
// (REQUIRE) when they cannot do their job. Call the Catch2-asserting
// helpers only from the test's own thread; child_process is safe to use
// from other threads.

#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dmq::itest {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

// Paths of the binaries under test, set by tests/CMakeLists.txt.
const char* dmq_binary();
const char* agent_binary();

// A fresh directory under /tmp (mkdtemp), removed with everything in it
// when destroyed. Lifecycle: one per test case, on its stack.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

// Where a child's stdin comes from.
struct stdin_source {
    enum class kind {
        dev_null,     // </dev/null
        closed_pipe,  // a pipe whose write end is closed: EOF at once
        bytes,        // a pipe fed these bytes, then closed
        file,         // <FILE: a regular file, as a shell redirect gives
        open_pipe,    // a pipe the test writes to (child_process::stdin)
    };
    kind how = kind::dev_null;
    std::string data;  // the bytes, or the file's path

    static stdin_source null_device() { return {kind::dev_null, {}}; }
    static stdin_source closed_pipe() { return {kind::closed_pipe, {}}; }
    static stdin_source bytes(std::string b) {
        return {kind::bytes, std::move(b)};
    }
    static stdin_source file(const fs::path& p) {
        return {kind::file, p.string()};
    }
    static stdin_source open_pipe() { return {kind::open_pipe, {}}; }
};

// Changes to the child's environment: a value sets, nullopt unsets.
using env_overrides =
    std::vector<std::pair<std::string, std::optional<std::string>>>;

// How a process ended.
struct process_exit {
    bool exited = false;  // false: killed by term_signal
    int code = -1;        // exit status when exited
    int term_signal = 0;

    // The status a shell would show: the code, or 128 + the signal.
    int shell_code() const { return exited ? code : 128 + term_signal; }
};

// A child process started by fork and exec, owned by this object.
// Lifecycle: spawn() starts it; the destructor sends SIGKILL to it (by
// pid) if it is still running and reaps it. Move-only. Thread rule: one
// thread at a time per object; different objects may be used from
// different threads (nothing here asserts with Catch2).
class child_process {
public:
    struct options {
        std::vector<std::string> argv;  // argv[0] is the program path
        stdin_source input;
        fs::path stdout_path;  // empty: /dev/null
        fs::path stderr_path;  // empty: /dev/null
        int stdout_fd = -1;    // when set, used (duplicated) instead
        int stderr_fd = -1;
        env_overrides env;
    };

    // Returns nullptr (with `error` set) when the process cannot start.
    static std::unique_ptr<child_process> spawn(const options& o,
                                                std::string& error);

    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }

    // True until the process has been seen to exit (reaps it then).
    bool running();

    // Waits up to `timeout` for the process to end; nullopt if it has not.
    std::optional<process_exit> wait_for_exit(milliseconds timeout);

    // The exit once known (after running() returned false or a wait).
    const std::optional<process_exit>& exit() const { return exit_; }

    // Sends `signo` to the process by its pid, if it is still running.
    void send_signal(int signo);

    // SIGKILL by pid, then reaps it.
    void kill_9();

    // For stdin_source::open_pipe: writes all of `bytes`; false when the
    // child has closed its end (or the pipe was closed).
    bool write_stdin(std::string_view bytes);
    void close_stdin();

    // Hands the write end of a stdin pipe to the caller, who closes it.
    // (For stdin_source::bytes, spawn() leaves feeding to the caller.)
    int take_stdin_fd();

private:
    child_process() = default;

    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    std::optional<process_exit> exit_;
};

// One run of `dmq`, finished.
struct dmq_run {
    std::string command;  // for messages: the argv, shell-quoted
    process_exit end;
    std::string out;  // stdout bytes
    std::string err;  // stderr bytes
    milliseconds elapsed{0};

    int exit_code() const { return end.shell_code(); }

    // The command, its exit and (escaped, shortened) output, for INFO().
    std::string describe() const;
};

struct run_options {
    stdin_source input = stdin_source::null_device();
    env_overrides env;
    milliseconds timeout{20'000};
    // When false, no --agents is added (the address comes from the
    // environment, or the test passes its own).
    bool add_agents_option = true;
};

class agent_process;

// Runs `dmq --agents ADDR ARGS...` to its end and returns what it did.
// A run past options.timeout is killed by its pid and fails the test.
dmq_run run_dmq(const agent_process& agent, std::vector<std::string> args,
                const run_options& options = {});

// The same against an address of the test's choosing ("" adds none).
dmq_run run_dmq_at(const std::string& agents, std::vector<std::string> args,
                   const run_options& options = {});

// Starts `dmq --agents ADDR ARGS...` in the background with its stdout
// and stderr going to files; the test signals it or waits for it.
std::unique_ptr<child_process> must_start_dmq(const agent_process& agent,
                                              std::vector<std::string> args,
                                              stdin_source input,
                                              const fs::path& stdout_path,
                                              const fs::path& stderr_path);

// A running dmq-agent. Lifecycle: made by must_start_agent(); stopped by
// kill_9() or terminate(), or killed by the destructor if still running.
class agent_process {
public:
    agent_process(std::unique_ptr<child_process> child, fs::path data_dir,
                  fs::path log_path, std::string address, int port,
                  std::vector<std::string> options);

    pid_t pid() const { return child_->pid(); }
    const std::string& address() const { return address_; }  // HOST:PORT
    int port() const { return port_; }
    const fs::path& data_dir() const { return data_dir_; }
    const fs::path& log_path() const { return log_path_; }
    // The options it was started with beyond --data-dir and --listen.
    const std::vector<std::string>& options() const { return options_; }

    // Everything the agent has written to stderr so far.
    std::string log() const;

    bool running() { return child_->running(); }

    // SIGKILL by pid, as a crash would.
    void kill_9();

    // SIGTERM, then waits up to `timeout` for a clean exit (status 0);
    // fails the test otherwise.
    void terminate(milliseconds timeout = milliseconds(10'000));

    child_process& process() { return *child_; }

private:
    std::unique_ptr<child_process> child_;
    fs::path data_dir_;
    fs::path log_path_;
    std::string address_;
    int port_ = 0;
    std::vector<std::string> options_;
};

// Starts `dmq-agent --data-dir DIR --listen 127.0.0.1:PORT` (PORT 0: any
// free port), with its stderr in a log file beside DIR, and waits (up to
// 10 s) until DIR/listen.addr names the bound endpoint. A stale
// listen.addr is deleted first. `options` go on the command line too
// (such as {"--segment-size", "1MiB"}).
std::unique_ptr<agent_process> must_start_agent(
    const fs::path& data_dir, int port = 0,
    std::vector<std::string> options = {});

// Starts a new agent on a stopped agent's data directory and port, with
// its options, so that clients holding the old address reach the new one.
std::unique_ptr<agent_process> must_restart_agent(const agent_process& old);

// Starts `dmq-agent --data-dir DIR --listen LISTEN` without waiting for
// it, for tests of agents that must refuse to start.
std::unique_ptr<child_process> must_spawn_agent(
    const fs::path& data_dir, const std::string& listen,
    const fs::path& log_path, const std::vector<std::string>& options = {});

// Files.
std::string read_file(const fs::path& p);
void write_file(const fs::path& p, std::string_view bytes);

// `n` pseudo-random bytes from `seed` (deterministic, for reproduction).
std::string random_bytes(std::size_t n, std::uint64_t seed);

// Splits on '\n'; a trailing piece without '\n' is dropped when
// `complete_only` (a line cut short by a kill is not a line).
std::vector<std::string> split_lines(std::string_view text,
                                     bool complete_only = false);

// Printable form of bytes for messages: escapes, shortened past `limit`.
std::string printable(std::string_view bytes, std::size_t limit = 400);

// Milliseconds since `since`.
std::int64_t ms_since(steady::time_point since);

// Sleeps for `ms` milliseconds.
void sleep_ms(std::int64_t ms);

// Waits up to `timeout` for `condition` to become true, polling every
// 20 ms; returns its last value.
template <typename F>
bool wait_until(F condition, milliseconds timeout) {
    auto deadline = steady::now() + timeout;
    for (;;) {
        if (condition()) {
            return true;
        }
        if (steady::now() >= deadline) {
            return false;
        }
        sleep_ms(20);
    }
}

}  // namespace dmq::itest
