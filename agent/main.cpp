// dmq-agent: parses its settings, locks the data directory, recovers every
// queue, serves requests until SIGTERM or SIGINT, and shuts down cleanly.

#include "agent/config.h"
#include "agent/data_dir.h"
#include "agent/logging.h"
#include "agent/net/request_router.h"
#include "agent/net/server.h"
#include "agent/queue/queue_engine.h"
#include "version.h"

#include <atomic>
#include <csignal>
#include <pthread.h>
#include <sys/resource.h>
#include <cstdio>
#include <string>

namespace {

std::atomic<bool> g_stop{false};

void on_stop_signal(int) {
    g_stop.store(true);
}

sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

// ZeroMQ's I/O threads inherit the mask in force when they start; with the
// stop signals blocked there, a signal always lands on the event loop's
// thread and wakes its poll at once.
void block_stop_signals() {
    sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    sigset_t set = stop_signals();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

// Each queue keeps its segment files open, so the usual soft limit of
// 1024 descriptors caps an agent at fewer queues than the hard limit
// allows. Raise the soft limit as far as the hard one.
void raise_open_file_limit(spdlog::logger& log) {
    struct rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
        limit.rlim_cur >= limit.rlim_max) {
        return;
    }
    rlim_t was = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
        log.info("open file limit raised from {} to {}", was, limit.rlim_cur);
    }
}

int fail(const dmq::status& s) {
    dmq::agent::logger("agent").error("not starting: {}", s.message());
    std::fprintf(stderr, "dmq-agent: error: %s\n", s.message().c_str());
    return 1;
}

std::string command_line(int argc, char** argv) {
    std::string out;
    for (int i = 0; i < argc; ++i) {
        out += (i ? " " : "") + std::string(argv[i]);
    }
    return out;
}

void log_startup(spdlog::logger& log, const dmq::agent::agent_config& c,
                 const std::string& cmdline) {
    log.info("dmq-agent {} starting: {}", dmq::kVersion, cmdline);
    for (const auto& setting : c.effective) {
        log.info("config: {}", setting);
    }
}

void log_recovery(spdlog::logger& log, const dmq::queue::recovery_summary& r) {
    log.info(
        "recovery: {} queues, {} segments, {} log records re-indexed, "
        "{} bytes of torn tail cut, {} files quarantined",
        r.queues, r.log.segments, r.log.records_replayed, r.log.bytes_truncated,
        r.log.files_quarantined);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace dmq;
    auto parsed = agent::parse_config(argc, argv);
    if (parsed.next == agent::parse_outcome::action::exit) {
        return parsed.exit_code;
    }
    const auto& config = parsed.config;
    if (!agent::init_logging(config.log_level)) {
        std::fprintf(stderr,
                     "dmq-agent: error: unknown --log-level '%s': use trace, "
                     "debug, info, warn, error or critical\n",
                     config.log_level.c_str());
        return 2;
    }
    auto endpoint = agent::listen_endpoint(config.listen);
    if (!endpoint) {
        std::fprintf(stderr, "dmq-agent: error: %s\n",
                     endpoint.error().message().c_str());
        return 2;
    }
    auto& log = agent::logger("agent");
    log_startup(log, config, command_line(argc, argv));

    raise_open_file_limit(log);
    auto dir = agent::data_dir::lock(config.data_dir);
    if (!dir) {
        return fail(dir.error());
    }

    queue::recovery_summary recovered;
    auto engine = queue::queue_engine::open(
        {dir->path(), config.segment_bytes, config.min_free_bytes},
        agent::logger("queue"), agent::logger("storage"), recovered);
    if (!engine) {
        log.critical("recovery failed: {}", engine.error().message());
        return fail(engine.error());
    }
    log_recovery(log, recovered);

    net::agent_facts facts{net::wall_clock_ms(), dir->path().string(),
                           [&] { return dir->free_bytes(); }};
    block_stop_signals();
    net::request_router router(**engine, facts);
    net::server server(**engine, router, agent::logger("net"));
    auto bound = server.bind(*endpoint);
    if (!bound) {
        return fail(bound.error());
    }
    if (auto s = dir->write_listen_address(*bound); !s) {
        return fail(s);
    }
    install_signal_handlers();
    log.info("agent {} listening on {} with data in {}", (*engine)->agent_id(),
             *bound, dir->path().string());

    if (auto s = server.run(g_stop); !s) {
        bool full = s.message().find("No space left") != std::string::npos ||
                    s.message().find("disk is full") != std::string::npos;
        log.critical(
            "stopping: {}; acknowledged messages are safe on disk, "
            "but the last batch was not acknowledged{}",
            s.message(),
            full ? ". The disk is full: free space on it, then "
                   "start the agent again"
                 : "");
        return 1;
    }
    log.info("agent {} stopped cleanly", (*engine)->agent_id());
    return 0;
}
