// Crash tests: kill -9 of the agent while 10,000 messages are being sent by
// four `dmq send --lines` processes, at several points; then restart and
// check that every message whose id a sender printed (that is, every
// acknowledged send) is received with its exact body, that no body is
// corrupt and none is stored twice. One variant also damages the data
// directory offline as field case R01 describes (a torn tail of random
// bytes and a zero-filled next segment) before the restart.
//
// Tags: [crash] runs in `make test` (about a minute); [soak] repeats the
// rounds many times and runs only with DMQ_SOAK=1 (`make soak`).
// DMQ_CRASH_SEED=N reproduces a run's random kill point and damage.

#include "tests/integration/harness.h"
#include "tests/integration/queue_steps.h"

#include <catch2/catch.hpp>

#include <csignal>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <unistd.h>

using namespace dmq::itest;

namespace {

constexpr int kSenders = 4;
constexpr int kLinesPerSender = 2'500;  // 10,000 messages in all
constexpr int kLinesPerChunk = 10;
constexpr std::int64_t kChunkEveryMs = 8;  // about 2 s of sending

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) {
        h = (h ^ c) * 1099511628211ULL;
    }
    return h;
}

// "r2s1-000123-bbbb...-<hash>": unique per round, sender and line, of
// varying length (60 to 100 padding bytes, so that 10,000 of them fill
// more than one 1 MiB segment), and checkable on its own.
std::string crash_line(const std::string& prefix, int i) {
    char head[64];
    std::snprintf(head, sizeof head, "%s-%06d-", prefix.c_str(), i);
    std::string core = head + std::string(static_cast<std::size_t>(60 + i % 41),
                                          static_cast<char>('a' + i % 26));
    char hash[24];
    std::snprintf(hash, sizeof hash, "-%016llx",
                  static_cast<unsigned long long>(fnv1a(core)));
    return core + hash;
}

bool line_is_intact(const std::string& body) {
    std::size_t dash = body.rfind('-');
    if (dash == std::string::npos || body.size() - dash != 17) {
        return false;
    }
    char hash[24];
    std::snprintf(hash, sizeof hash, "%016llx",
                  static_cast<unsigned long long>(
                      fnv1a(std::string_view(body).substr(0, dash))));
    return body.compare(dash + 1, 16, hash) == 0;
}

std::uint64_t crash_seed() {
    if (const char* s = std::getenv("DMQ_CRASH_SEED")) {
        return std::strtoull(s, nullptr, 10);
    }
    return std::random_device{}();
}

struct sender {
    std::string prefix;
    std::string input;  // every line, each ending in '\n'
    std::vector<std::string> lines;
    std::unique_ptr<child_process> process;
    fs::path out, err;
};

// Feeds each sender's stdin a chunk of lines every few milliseconds, with
// non-blocking writes so that `stop` is always seen, then closes the
// pipes. Owns the pipe fds it is given.
void feed_senders(std::vector<int> fds, std::vector<const std::string*> data,
                  const std::atomic<bool>& stop) {
    std::vector<std::size_t> fed(fds.size(), 0);
    std::vector<std::size_t> allowed(fds.size(), 0);
    for (int fd : fds) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    for (;;) {
        bool busy = false;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i] < 0) {
                continue;
            }
            const std::string& text = *data[i];
            // Let the next chunk of lines through.
            std::size_t end = allowed[i];
            for (int n = 0; n < kLinesPerChunk && end < text.size(); ++n) {
                end = text.find('\n', end) + 1;
            }
            allowed[i] = end;
            bool broken = false;
            while (fed[i] < allowed[i]) {
                ssize_t w =
                    ::write(fds[i], text.data() + fed[i], allowed[i] - fed[i]);
                if (w < 0) {
                    // EAGAIN: the sender is busy; try again next time.
                    broken = errno != EAGAIN && errno != EINTR;
                    break;
                }
                fed[i] += static_cast<std::size_t>(w);
            }
            if (fed[i] == text.size() || broken) {
                ::close(fds[i]);
                fds[i] = -1;
                continue;
            }
            busy = true;
        }
        if (!busy || stop.load()) {
            break;
        }
        sleep_ms(kChunkEveryMs);
    }
    for (int fd : fds) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
}

// R01 step 3, offline: 37 random bytes after the newest segment's end,
// and a zero-filled file named like the segment after it.
void damage_newest_segment(const fs::path& data_dir, std::uint64_t seed) {
    auto segments = segment_files(data_dir);
    REQUIRE(!segments.empty());
    fs::path newest = segments.back();
    std::uintmax_t size = fs::file_size(newest);

    std::string junk = random_bytes(37, seed);
    FILE* f = std::fopen(newest.c_str(), "ab");
    REQUIRE(f != nullptr);
    REQUIRE(std::fwrite(junk.data(), 1, junk.size(), f) == junk.size());
    REQUIRE(std::fclose(f) == 0);

    unsigned long long seq = std::strtoull(
        newest.filename().string().substr(0, 20).c_str(), nullptr, 10);
    char next[32];
    std::snprintf(next, sizeof next, "%020llu.seg", seq + 1);
    fs::path zeros = newest.parent_path() / next;
    REQUIRE_FALSE(fs::exists(zeros));
    write_file(zeros, std::string(std::max<std::uintmax_t>(size, 4096), '\0'));
}

struct round_report {
    std::size_t acked = 0;     // ids printed by the senders
    std::size_t consumed = 0;  // bodies printed by the consumer, if any
    std::size_t received = 0;  // messages drained after the restart
    std::size_t missing = 0;   // acked but not received
    std::size_t wrong = 0;     // acked id received with another body
    std::size_t corrupt = 0;   // bodies failing their own checksum
    std::size_t stored_twice = 0;
};

struct round_plan {
    int round = 1;
    std::int64_t kill_after_ms = 0;
    bool damage = false;    // R01 damage between kill and restart
    bool consumer = false;  // a `receive --follow --delete` runs too
    std::uint64_t seed = 0;
};

// One round: start senders (and a consumer), kill -9 the agent after
// plan.kill_after_ms, optionally damage the data, restart, drain, and
// check.
round_report must_crash_round(std::unique_ptr<agent_process>& agent,
                              const fs::path& tmp, const std::string& queue,
                              const round_plan& plan) {
    const int round = plan.round;
    std::vector<sender> senders(kSenders);
    std::vector<int> fds;
    std::vector<const std::string*> data;
    for (int s = 0; s < kSenders; ++s) {
        sender& x = senders[static_cast<std::size_t>(s)];
        x.prefix = "r" + std::to_string(round) + "s" + std::to_string(s);
        for (int i = 0; i < kLinesPerSender; ++i) {
            x.lines.push_back(crash_line(x.prefix, i));
            x.input += x.lines.back() + "\n";
        }
        x.out = tmp / (x.prefix + ".out");
        x.err = tmp / (x.prefix + ".err");
        x.process = must_start_dmq(
            *agent, {"--timeout", "2s", "send", queue, "--lines"},
            stdin_source::open_pipe(), x.out, x.err);
        fds.push_back(x.process->take_stdin_fd());
        data.push_back(&x.input);
    }

    // The consumer acks what it has printed; what it held unacked at the
    // kill comes back after its 2 s visibility timeout.
    fs::path consumer_out = tmp / ("r" + std::to_string(round) + "c.out");
    fs::path consumer_err = tmp / ("r" + std::to_string(round) + "c.err");
    std::unique_ptr<child_process> consumer;
    if (plan.consumer) {
        consumer = must_start_dmq(
            *agent,
            {"--timeout", "2s", "receive", queue, "--follow", "--delete", "-n",
             "100", "--visibility", "2s"},
            stdin_source::null_device(), consumer_out, consumer_err);
    }

    std::atomic<bool> stop{false};
    std::thread feeder(feed_senders, fds, data, std::cref(stop));
    sleep_ms(plan.kill_after_ms);
    agent->kill_9();
    stop.store(true);
    feeder.join();

    for (auto& x : senders) {
        auto end = x.process->wait_for_exit(milliseconds(15'000));
        INFO("sender " << x.prefix << " stderr: " << read_file(x.err));
        REQUIRE(end.has_value());
        // Done before the kill (0), or cut off by it (3, unreachable).
        CHECK((end->shell_code() == 0 || end->shell_code() == 3));
    }
    if (consumer) {
        // A --follow consumer outlives its agent, retrying until it comes
        // back; stop it here so that what it consumed is all from before.
        sleep_ms(300);
        REQUIRE(consumer->running());
        consumer->send_signal(SIGTERM);
        auto end = consumer->wait_for_exit(milliseconds(15'000));
        INFO("consumer stderr: " << read_file(consumer_err));
        REQUIRE(end.has_value());
        CHECK(end->shell_code() == 0);
        CHECK_THAT(read_file(consumer_err), Catch::Contains("warning"));
    }
    if (plan.damage) {
        damage_newest_segment(agent->data_dir(), plan.seed);
    }

    agent = must_restart_agent(*agent);
    check_exit(run_dmq(*agent, {"health"}), 0);

    // Acknowledged: the ids each sender printed, for its first lines, in
    // order (one request at a time, ids printed after each reply).
    std::map<std::string, std::string> expected;
    round_report report;
    for (const auto& x : senders) {
        auto ids = split_lines(read_file(x.out), true);
        REQUIRE(ids.size() <= x.lines.size());
        for (std::size_t i = 0; i < ids.size(); ++i) {
            expected[ids[i]] = x.lines[i];
        }
        report.acked += ids.size();
    }

    std::string example;
    std::string mine = "r" + std::to_string(round) + "s";
    std::set<std::string> consumed;
    for (const auto& body : split_lines(read_file(consumer_out), true)) {
        ++report.consumed;
        consumed.insert(body);
        if (!line_is_intact(body) || body.rfind(mine, 0) != 0) {
            ++report.corrupt;
            example = "consumer printed corrupt body " + printable(body, 100);
        }
    }

    // With a consumer, wait out its visibility timeout while draining.
    std::map<std::string, std::string> received;
    std::set<std::string> bodies;
    for (auto& m : must_drain(*agent, queue, plan.consumer ? 2500 : 0)) {
        ++report.received;
        if (!line_is_intact(m.body) || m.body.rfind(mine, 0) != 0) {
            ++report.corrupt;
            example = "corrupt body " + printable(m.body, 100);
        }
        if (!bodies.insert(m.body).second) {
            ++report.stored_twice;
            example = "stored twice: " + printable(m.body, 100);
        }
        received[m.id] = m.body;
    }
    for (const auto& [id, line] : expected) {
        auto it = received.find(id);
        if (it == received.end() && consumed.count(line) != 0) {
            continue;  // the consumer had it (and acked it, or not)
        }
        if (it == received.end()) {
            ++report.missing;
            example = "missing " + id + " (" + line + ")";
        } else if (it->second != line) {
            ++report.wrong;
            example = "id " + id + " has body " + printable(it->second, 100) +
                      ", sent " + line;
        }
    }

    WARN("crash round " << round << ": kill -9 after " << plan.kill_after_ms
                        << " ms" << (plan.damage ? " plus damaged segment" : "")
                        << (plan.consumer ? " with a consumer" : "") << "; "
                        << report.acked << " of " << kSenders * kLinesPerSender
                        << " sends acked, " << report.consumed
                        << " consumed before the kill, " << report.received
                        << " received after restart");
    INFO("round " << round << ", seed " << plan.seed
                  << ", example: " << example);
    CHECK(report.missing == 0);
    CHECK(report.wrong == 0);
    CHECK(report.corrupt == 0);
    CHECK(report.stored_twice == 0);
    CHECK(report.received + report.consumed >= report.acked);
    return report;
}

}  // namespace

TEST_CASE("every acknowledged send survives kill -9 at several points",
          "[crash]") {
    temp_dir tmp;
    std::uint64_t seed = crash_seed();
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::int64_t> anywhere(20, 1900);
    // Fixed points early, mid-way and late in the 2 s of sending, random
    // ones, the same with a consumer acking at the same time, and with
    // the smallest segments (1 MiB) so that the log rolls over and
    // emptied segments are removed while the kills land.
    struct point {
        std::int64_t at;
        bool consumer;
        bool small_segments;
    };
    const std::vector<point> kill_points = {
        {50, false, false},
        {300, false, false},
        {1000, false, false},
        {anywhere(rng), false, false},
        {anywhere(rng), false, false},
        {300, true, false},
        {1000, true, false},
        {anywhere(rng), true, false},
        {1500, false, true},
        {1800, true, true},
    };
    WARN("crash seed " << seed << " (set DMQ_CRASH_SEED to repeat)");

    int round = 0;
    for (const auto& [at, with_consumer, small_segments] : kill_points) {
        ++round;
        fs::path data = tmp / ("data-" + std::to_string(round));
        std::vector<std::string> options;
        if (small_segments) {
            options = {"--segment-size", "1MiB"};
        }
        auto agent = must_start_agent(data, 0, options);
        must_create_queue(*agent, "crash");
        round_plan plan;
        plan.round = round;
        plan.kill_after_ms = at;
        plan.consumer = with_consumer;
        plan.seed = seed + static_cast<std::uint64_t>(round);
        must_crash_round(agent, tmp.path(), "crash", plan);
        if (small_segments) {
            // The log did roll over: the active segment is not the first.
            auto segments = segment_files(data);
            REQUIRE(!segments.empty());
            CHECK(segments.back().filename().string() >
                  "00000000000000000001.seg");
        }
        // Still an ordinary queue after recovery.
        must_send(*agent, "crash", "after");
        auto after = must_drain(*agent, "crash");
        REQUIRE(after.size() == 1);
        CHECK(after.front().body == "after");
    }
}

TEST_CASE(
    "after kill -9 a torn tail is cut and a zero-filled next segment "
    "set aside, and every acknowledged message is served",
    "[crash]") {
    temp_dir tmp;
    std::uint64_t seed = crash_seed();
    WARN("crash seed " << seed << " (set DMQ_CRASH_SEED to repeat)");

    // Without a consumer the queue still holds every acknowledged message
    // when the data is damaged; with one, the log also holds deliveries
    // and acks at its tail.
    for (bool with_consumer : {false, true}) {
        round_plan plan;
        plan.round = with_consumer ? 2 : 1;
        plan.kill_after_ms =
            400 + static_cast<std::int64_t>((seed + plan.round) % 800);
        plan.damage = true;
        plan.consumer = with_consumer;
        plan.seed = seed + static_cast<std::uint64_t>(plan.round);
        fs::path data = tmp / ("data-" + std::to_string(plan.round));
        auto agent = must_start_agent(data);
        must_create_queue(*agent, "torn");
        must_crash_round(agent, tmp.path(), "torn", plan);

        // The agent said what it repaired, as warnings.
        std::string log = agent->log();
        INFO("agent log after restart:\n" << log);
        CHECK(log.find("torn tail") != std::string::npos);
        CHECK(log.find(".corrupt") != std::string::npos);
        CHECK(log.find("warn") != std::string::npos);

        // And it appends after the cut as usual, across another restart.
        must_send(*agent, "torn", "after repair");
        agent->terminate();
        agent = must_restart_agent(*agent);
        auto after = must_drain(*agent, "torn");
        REQUIRE(after.size() == 1);
        CHECK(after.front().body == "after repair");
    }
}

TEST_CASE(
    "every one-shot send that exited 0 survives kill -9 amid 50 "
    "parallel sends",
    "[crash]") {
    constexpr int kSends = 50;
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "oneshot");

    std::vector<std::unique_ptr<child_process>> sends;
    for (int i = 0; i < kSends; ++i) {
        std::string n = std::to_string(i);
        sends.push_back(must_start_dmq(
            *agent, {"--timeout", "2s", "send", "oneshot", "body-" + n},
            stdin_source::null_device(), tmp / ("send-" + n + ".out"),
            tmp / ("send-" + n + ".err")));
        if (i == kSends / 2) {
            agent->kill_9();
        }
    }
    std::map<std::string, std::string> acked;  // id -> body
    int failed = 0;
    for (int i = 0; i < kSends; ++i) {
        std::string n = std::to_string(i);
        auto end = sends[static_cast<std::size_t>(i)]->wait_for_exit(
            milliseconds(15'000));
        INFO("send " << i
                     << " stderr: " << read_file(tmp / ("send-" + n + ".err")));
        REQUIRE(end.has_value());
        CHECK((end->shell_code() == 0 || end->shell_code() == 3));
        auto ids = split_lines(read_file(tmp / ("send-" + n + ".out")));
        if (end->shell_code() == 0) {
            REQUIRE(ids.size() == 1);
            acked[ids.front()] = "body-" + n;
        } else {
            CHECK(ids.empty());  // a failed send printed no id
            ++failed;
        }
    }
    WARN(acked.size() << " of " << kSends << " one-shot sends exited 0, "
                      << failed << " failed with the agent gone");

    agent = must_restart_agent(*agent);
    std::map<std::string, std::string> got;
    for (const auto& m : must_drain(*agent, "oneshot")) {
        got[m.id] = m.body;
    }
    for (const auto& [id, body] : acked) {
        INFO("acknowledged " << id << " " << body);
        CHECK(got.count(id) == 1);
        CHECK(got[id] == body);
    }
}

TEST_CASE(
    "repeated kill -9 rounds on one data directory never lose an "
    "acknowledged send",
    "[.][soak][crash-soak]") {
    if (std::getenv("DMQ_SOAK") == nullptr ||
        std::string(std::getenv("DMQ_SOAK")) != "1") {
        WARN("skipped: set DMQ_SOAK=1 (make soak) to run the soak tests");
        return;
    }
    constexpr int kRounds = 30;
    temp_dir tmp;
    std::uint64_t seed = crash_seed();
    std::mt19937_64 rng(seed);
    WARN("soak seed " << seed << " (set DMQ_CRASH_SEED to repeat)");

    // Small segments, so that the rounds also roll segments over and
    // remove emptied ones.
    auto agent = must_start_agent(tmp / "data", 0, {"--segment-size", "1MiB"});
    must_create_queue(*agent, "soak");
    for (int round = 1; round <= kRounds; ++round) {
        round_plan plan;
        plan.round = round;
        plan.kill_after_ms =
            std::uniform_int_distribution<std::int64_t>(10, 2200)(rng);
        plan.damage = round % 5 == 0;
        plan.consumer = round % 2 == 0;
        plan.seed = seed + static_cast<std::uint64_t>(round);
        must_crash_round(agent, tmp.path(), "soak", plan);
    }
}
