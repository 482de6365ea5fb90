// Processes, directories and files for the integration tests; see
// harness.h for the rules every helper keeps.

#include "tests/integration/harness.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

#ifndef DMQ_BIN
#error "DMQ_BIN must name the dmq binary (set in tests/CMakeLists.txt)"
#endif
#ifndef DMQ_AGENT_BIN
#error "DMQ_AGENT_BIN must name the dmq-agent binary"
#endif

namespace dmq::itest {

namespace {

// Writing to the stdin pipe of a child that has exited must be an error
// value (EPIPE), not the death of the whole test run.
struct ignore_sigpipe {
    ignore_sigpipe() {
        struct sigaction ignore = {};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        sigaction(SIGPIPE, &ignore, nullptr);
    }
} g_ignore_sigpipe;

std::string shell_quote(const std::string& word) {
    bool plain = !word.empty();
    for (char c : word) {
        if (!std::isalnum(static_cast<unsigned char>(c)) &&
            std::string_view("-_./:=,@%+").find(c) == std::string_view::npos) {
            plain = false;
        }
    }
    if (plain) {
        return word;
    }
    std::string out = "'";
    for (char c : word) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

// The environment for a child: ours, with the overrides applied.
std::vector<std::string> child_environment(const env_overrides& env) {
    std::vector<std::string> out;
    for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        std::string name = entry.substr(0, entry.find('='));
        bool overridden = false;
        for (const auto& [key, value] : env) {
            overridden = overridden || key == name;
        }
        if (!overridden) {
            out.push_back(entry);
        }
    }
    for (const auto& [key, value] : env) {
        if (value) {
            out.push_back(key + "=" + *value);
        }
    }
    return out;
}

std::vector<char*> c_strings(std::vector<std::string>& words) {
    std::vector<char*> out;
    for (auto& w : words) {
        out.push_back(w.data());
    }
    out.push_back(nullptr);
    return out;
}

int open_or_null(const fs::path& p, int flags) {
    if (p.empty()) {
        return ::open("/dev/null", flags | O_CLOEXEC);
    }
    return ::open(p.c_str(), flags | O_CLOEXEC, 0644);
}

process_exit decode_wait_status(int st) {
    process_exit e;
    if (WIFEXITED(st)) {
        e.exited = true;
        e.code = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
        e.term_signal = WTERMSIG(st);
    }
    return e;
}

void set_nonblocking(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// The child's side of spawn(): only async-signal-safe calls from here on.
[[noreturn]] void exec_child(int in, int out, int err, int report, char** argv,
                             char** envp) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGPIPE, &dfl, nullptr);

    if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) {
        int e = errno;
        ssize_t ignored = ::write(report, &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    ::execve(argv[0], argv, envp);
    int e = errno;
    ssize_t ignored = ::write(report, &e, sizeof e);
    (void)ignored;
    _exit(127);
}

std::atomic<int> g_agent_starts{0};

}  // namespace

const char* dmq_binary() {
    return DMQ_BIN;
}
const char* agent_binary() {
    return DMQ_AGENT_BIN;
}

temp_dir::temp_dir() {
    char pattern[] = "/tmp/dmq-it-XXXXXX";
    char* made = ::mkdtemp(pattern);
    if (!made) {
        throw std::runtime_error(std::string("mkdtemp: ") +
                                 std::strerror(errno));
    }
    path_ = made;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    if (std::getenv("DMQ_KEEP_TEMP") != nullptr) {
        return;  // kept for post-mortems: DMQ_KEEP_TEMP=1
    }
    fs::remove_all(path_, ec);
}

std::unique_ptr<child_process> child_process::spawn(const options& o,
                                                    std::string& error) {
    using kind = stdin_source::kind;
    int in = -1;
    int feed = -1;  // our end of a stdin pipe
    switch (o.input.how) {
        case kind::dev_null:
            in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
            break;
        case kind::file:
            in = ::open(o.input.data.c_str(), O_RDONLY | O_CLOEXEC);
            break;
        case kind::closed_pipe:
        case kind::bytes:
        case kind::open_pipe: {
            int p[2];
            if (::pipe2(p, O_CLOEXEC) != 0) {
                error = std::string("pipe: ") + std::strerror(errno);
                return nullptr;
            }
            in = p[0];
            feed = p[1];
            break;
        }
    }
    int out = o.stdout_fd >= 0
                  ? ::dup(o.stdout_fd)
                  : open_or_null(o.stdout_path, O_WRONLY | O_CREAT | O_TRUNC);
    int err = o.stderr_fd >= 0
                  ? ::dup(o.stderr_fd)
                  : open_or_null(o.stderr_path, O_WRONLY | O_CREAT | O_TRUNC);
    int report[2] = {-1, -1};
    auto close_all = [&] {
        for (int fd : {in, feed, out, err, report[0], report[1]}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    };
    if (in < 0 || out < 0 || err < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
        error = std::string("open stdio: ") + std::strerror(errno);
        close_all();
        return nullptr;
    }

    // Everything the child needs is built before fork: after it, the
    // child may only make async-signal-safe calls.
    std::vector<std::string> argv_words = o.argv;
    std::vector<std::string> env_words = child_environment(o.env);
    std::vector<char*> argv = c_strings(argv_words);
    std::vector<char*> envp = c_strings(env_words);

    pid_t pid = ::fork();
    if (pid < 0) {
        error = std::string("fork: ") + std::strerror(errno);
        close_all();
        return nullptr;
    }
    if (pid == 0) {
        exec_child(in, out, err, report[1], argv.data(), envp.data());
    }

    ::close(report[1]);
    report[1] = -1;
    int child_errno = 0;
    ssize_t got = ::read(report[0], &child_errno, sizeof child_errno);
    ::close(report[0]);
    report[0] = -1;
    for (int fd : {in, out, err}) {
        ::close(fd);
    }
    std::unique_ptr<child_process> child(new child_process());
    child->pid_ = pid;
    if (got == sizeof child_errno) {
        int st = 0;
        ::waitpid(pid, &st, 0);
        child->exit_ = decode_wait_status(st);
        if (feed >= 0) {
            ::close(feed);
        }
        error = "exec " + o.argv.front() + ": " + std::strerror(child_errno);
        return nullptr;
    }
    if (o.input.how == kind::closed_pipe) {
        ::close(feed);
        feed = -1;
    }
    child->stdin_fd_ = feed;
    return child;
}

child_process::~child_process() {
    close_stdin();
    if (pid_ > 0 && !exit_) {
        ::kill(pid_, SIGKILL);
        int st = 0;
        ::waitpid(pid_, &st, 0);
    }
}

bool child_process::running() {
    if (exit_) {
        return false;
    }
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
        exit_ = decode_wait_status(st);
        return false;
    }
    return true;
}

std::optional<process_exit> child_process::wait_for_exit(milliseconds timeout) {
    auto deadline = steady::now() + timeout;
    while (running()) {
        if (steady::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(milliseconds(2));
    }
    return exit_;
}

void child_process::send_signal(int signo) {
    if (running()) {
        ::kill(pid_, signo);
    }
}

void child_process::kill_9() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        int st = 0;
        ::waitpid(pid_, &st, 0);
        exit_ = decode_wait_status(st);
    }
}

bool child_process::write_stdin(std::string_view bytes) {
    while (!bytes.empty()) {
        if (stdin_fd_ < 0) {
            return false;
        }
        ssize_t w = ::write(stdin_fd_, bytes.data(), bytes.size());
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(w));
    }
    return true;
}

int child_process::take_stdin_fd() {
    return std::exchange(stdin_fd_, -1);
}

void child_process::close_stdin() {
    if (stdin_fd_ >= 0) {
        ::close(stdin_fd_);
        stdin_fd_ = -1;
    }
}

std::string dmq_run::describe() const {
    std::ostringstream s;
    s << "$ " << command << "\n-> ";
    if (end.exited) {
        s << "exit " << end.code;
    } else {
        s << "killed by signal " << end.term_signal;
    }
    s << " after " << elapsed.count() << " ms\nstdout (" << out.size()
      << " bytes): " << printable(out) << "\nstderr: " << printable(err);
    return s.str();
}

namespace {

// Reads what is available on `fd` into `into`; false at EOF or error.
bool drain_fd(int fd, std::string& into) {
    char buf[65536];
    for (;;) {
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r > 0) {
            into.append(buf, static_cast<std::size_t>(r));
            continue;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        return r < 0 && errno == EAGAIN;
    }
}

// Feeds stdin and collects stdout and stderr until the child has exited
// and its pipes are drained, or the deadline passes.
bool pump_until_exit(child_process& child, int feed, std::string_view input,
                     int out_fd, int err_fd, dmq_run& run,
                     steady::time_point deadline) {
    std::size_t fed = 0;
    bool out_open = true, err_open = true;
    if (feed >= 0 && input.empty()) {
        ::close(feed);
        feed = -1;
    }
    while (steady::now() < deadline) {
        pollfd fds[3];
        int n = 0;
        int out_i = -1, err_i = -1, in_i = -1;
        if (out_open) {
            out_i = n;
            fds[n++] = {out_fd, POLLIN, 0};
        }
        if (err_open) {
            err_i = n;
            fds[n++] = {err_fd, POLLIN, 0};
        }
        if (feed >= 0) {
            in_i = n;
            fds[n++] = {feed, POLLOUT, 0};
        }
        ::poll(fds, static_cast<nfds_t>(n), 10);
        if (out_i >= 0 && fds[out_i].revents != 0) {
            out_open = drain_fd(out_fd, run.out);
        }
        if (err_i >= 0 && fds[err_i].revents != 0) {
            err_open = drain_fd(err_fd, run.err);
        }
        if (in_i >= 0 && fds[in_i].revents != 0) {
            ssize_t w = ::write(feed, input.data() + fed, input.size() - fed);
            if (w > 0) {
                fed += static_cast<std::size_t>(w);
            }
            if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
                fed == input.size()) {
                ::close(feed);
                feed = -1;
            }
        }
        if (!child.running()) {
            // A grandchild may still hold the pipes open: take what is
            // there now and stop.
            drain_fd(out_fd, run.out);
            drain_fd(err_fd, run.err);
            if (feed >= 0) {
                ::close(feed);
            }
            return true;
        }
    }
    if (feed >= 0) {
        ::close(feed);
    }
    return false;
}

}  // namespace

dmq_run run_dmq_at(const std::string& agents, std::vector<std::string> args,
                   const run_options& options) {
    std::vector<std::string> argv{dmq_binary()};
    if (options.add_agents_option && !agents.empty()) {
        argv.push_back("--agents");
        argv.push_back(agents);
    }
    argv.insert(argv.end(), args.begin(), args.end());

    dmq_run run;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        run.command += (i ? " " : "") + shell_quote(i ? argv[i] : "dmq");
    }

    int out_pipe[2], err_pipe[2];
    REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err_pipe, O_CLOEXEC) == 0);

    child_process::options o;
    o.argv = argv;
    o.input = options.input;
    o.stdout_fd = out_pipe[1];
    o.stderr_fd = err_pipe[1];
    // Only what the test chooses reaches dmq: no DMQ_AGENTS from the
    // environment of whoever runs the tests.
    o.env.push_back({"DMQ_AGENTS", std::nullopt});
    for (const auto& e : options.env) {
        o.env.push_back(e);
    }

    auto start = steady::now();
    std::string error;
    auto child = child_process::spawn(o, error);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (!child) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        FAIL("cannot start " << run.command << ": " << error);
    }
    set_nonblocking(out_pipe[0]);
    set_nonblocking(err_pipe[0]);

    // spawn() kept the write end of a bytes pipe for us to feed.
    int feed = -1;
    std::string_view input;
    if (options.input.how == stdin_source::kind::bytes) {
        feed = child->take_stdin_fd();
        set_nonblocking(feed);
        input = options.input.data;
    }
    bool finished = pump_until_exit(*child, feed, input, out_pipe[0],
                                    err_pipe[0], run, start + options.timeout);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    if (!finished) {
        child->kill_9();
    }
    run.elapsed =
        std::chrono::duration_cast<milliseconds>(steady::now() - start);
    run.end = *child->exit();
    if (!finished) {
        FAIL("dmq ran past its " << options.timeout.count()
                                 << " ms limit and was killed\n"
                                 << run.describe());
    }
    return run;
}

dmq_run run_dmq(const agent_process& agent, std::vector<std::string> args,
                const run_options& options) {
    return run_dmq_at(agent.address(), std::move(args), options);
}

std::unique_ptr<child_process> must_start_dmq(const agent_process& agent,
                                              std::vector<std::string> args,
                                              stdin_source input,
                                              const fs::path& stdout_path,
                                              const fs::path& stderr_path) {
    child_process::options o;
    o.argv = {dmq_binary(), "--agents", agent.address()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.input = std::move(input);
    o.stdout_path = stdout_path;
    o.stderr_path = stderr_path;
    o.env.push_back({"DMQ_AGENTS", std::nullopt});
    std::string error;
    auto child = child_process::spawn(o, error);
    INFO(error);
    REQUIRE(child != nullptr);
    if (o.input.how == stdin_source::kind::bytes) {
        // The child reads as we write, so this cannot block for long.
        child->write_stdin(o.input.data);
        child->close_stdin();
    }
    return child;
}

agent_process::agent_process(std::unique_ptr<child_process> child,
                             fs::path data_dir, fs::path log_path,
                             std::string address, int port,
                             std::vector<std::string> options)
    : child_(std::move(child)),
      data_dir_(std::move(data_dir)),
      log_path_(std::move(log_path)),
      address_(std::move(address)),
      port_(port),
      options_(std::move(options)) {}

std::string agent_process::log() const {
    return read_file(log_path_);
}

void agent_process::kill_9() {
    child_->kill_9();
}

void agent_process::terminate(milliseconds timeout) {
    child_->send_signal(SIGTERM);
    auto end = child_->wait_for_exit(timeout);
    if (!end) {
        child_->kill_9();
    }
    INFO("agent log:\n" << log());
    REQUIRE(end.has_value());
    CHECK(end->exited);
    CHECK(end->code == 0);
}

std::unique_ptr<child_process> must_spawn_agent(
    const fs::path& data_dir, const std::string& listen,
    const fs::path& log_path, const std::vector<std::string>& options) {
    int log_fd = ::open(log_path.c_str(),
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    REQUIRE(log_fd >= 0);
    child_process::options o;
    o.argv = {agent_binary(), "--data-dir", data_dir.string(), "--listen",
              listen};
    o.argv.insert(o.argv.end(), options.begin(), options.end());
    o.stdout_fd = log_fd;
    o.stderr_fd = log_fd;
    std::string error;
    auto child = child_process::spawn(o, error);
    ::close(log_fd);
    INFO(error);
    REQUIRE(child != nullptr);
    return child;
}

std::unique_ptr<agent_process> must_start_agent(
    const fs::path& data_dir, int port, std::vector<std::string> options) {
    fs::create_directories(data_dir);
    fs::path addr_file = data_dir / "listen.addr";
    fs::remove(addr_file);
    fs::path log_path =
        data_dir.parent_path() / (data_dir.filename().string() + ".agent-" +
                                  std::to_string(++g_agent_starts) + ".log");
    auto child = must_spawn_agent(data_dir, "127.0.0.1:" + std::to_string(port),
                                  log_path, options);

    bool up =
        wait_until([&] { return fs::exists(addr_file) || !child->running(); },
                   milliseconds(10'000));
    INFO("agent log:\n" << read_file(log_path));
    REQUIRE(up);
    REQUIRE(child->running());

    // "tcp://127.0.0.1:44609\n" -> "127.0.0.1:44609"
    std::string endpoint = read_file(addr_file);
    while (!endpoint.empty() &&
           (endpoint.back() == '\n' || endpoint.back() == '\r')) {
        endpoint.pop_back();
    }
    INFO("listen.addr: " << endpoint);
    REQUIRE(endpoint.rfind("tcp://127.0.0.1:", 0) == 0);
    std::string address = endpoint.substr(6);
    int bound = std::stoi(address.substr(address.rfind(':') + 1));
    REQUIRE(bound > 0);
    if (port != 0) {
        REQUIRE(bound == port);
    }
    return std::make_unique<agent_process>(std::move(child), data_dir, log_path,
                                           address, bound, std::move(options));
}

std::unique_ptr<agent_process> must_restart_agent(const agent_process& old) {
    return must_start_agent(old.data_dir(), old.port(), old.options());
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    REQUIRE(out.good());
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
    // splitmix64: small, fast and reproducible from the seed.
    std::string out(n, '\0');
    std::uint64_t x = seed;
    for (std::size_t i = 0; i < n; i += 8) {
        x += 0x9e3779b97f4a7c15ULL;
        std::uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        for (std::size_t j = 0; j < 8 && i + j < n; ++j) {
            out[i + j] = static_cast<char>((z >> (8 * j)) & 0xff);
        }
    }
    return out;
}

std::vector<std::string> split_lines(std::string_view text,
                                     bool complete_only) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) {
            if (!complete_only && start < text.size()) {
                out.emplace_back(text.substr(start));
            }
            return out;
        }
        out.emplace_back(text.substr(start, nl - start));
        start = nl + 1;
    }
}

std::string printable(std::string_view bytes, std::size_t limit) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (out.size() >= limit) {
            out += "... (" + std::to_string(bytes.size() - i) + " more bytes)";
            break;
        }
        unsigned char c = static_cast<unsigned char>(bytes[i]);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::int64_t ms_since(steady::time_point since) {
    return std::chrono::duration_cast<milliseconds>(steady::now() - since)
        .count();
}

void sleep_ms(std::int64_t ms) {
    std::this_thread::sleep_for(milliseconds(ms));
}

}  // namespace dmq::itest
