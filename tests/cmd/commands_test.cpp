// Whole dmq commands, run in this process against a fake agent, with
// their stdout and stderr captured: what they ask the agent, and what
// they print for its answers (duplicates, nil fields, redrive summaries,
// several receipts, push delivery for --follow).

#include "cmd/cli.h"
#include "cmd/signals.h"
#include "tests/cmd/fake_agent.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace dmq;
using namespace dmq::cli;
using namespace dmq::cli::test;
using namespace std::chrono_literals;

namespace {

struct captured {
    int status = -1;
    std::string out;
    std::string err;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// A file in /tmp that is removed when it goes out of scope.
class temp_file {
public:
    temp_file() {
        char name[] = "/tmp/dmq-cmd-test-XXXXXX";
        fd_ = mkstemp(name);
        REQUIRE(fd_ >= 0);
        path_ = name;
    }
    ~temp_file() {
        close(fd_);
        unlink(path_.c_str());
    }
    int fd() const { return fd_; }
    std::string text() const { return read_file(path_); }

private:
    int fd_ = -1;
    std::string path_;
};

// Runs dmq with these arguments against `agent`, with its stdout and
// stderr going to files that are read back.
captured run_dmq(const fake_agent& agent, std::vector<std::string> args) {
    std::vector<std::string> words = {"dmq", "--agents", agent.address(),
                                      "--timeout", "2s"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) {
        argv.push_back(w.data());
    }

    temp_file out;
    temp_file err;
    std::cout.flush();
    std::fflush(stdout);
    std::fflush(stderr);
    int saved_out = dup(STDOUT_FILENO);
    int saved_err = dup(STDERR_FILENO);
    dup2(out.fd(), STDOUT_FILENO);
    dup2(err.fd(), STDERR_FILENO);
    captured c;
    c.status = cli::run(static_cast<int>(argv.size()), argv.data());
    std::fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    c.out = out.text();
    c.err = err.text();
    return c;
}

const proto::value_list& list_arg(const proto::request& r,
                                  std::string_view key) {
    return *proto::fields(r.args).list(key).value();
}

// A message map with body frame `body`, as receive and pushes carry it.
proto::value message_map(const std::string& id) {
    return proto::value_map{
        {"id", id},           {"receipt", "r-" + id},
        {"receive_count", 1}, {"sent_at", std::int64_t{1700000000000}},
        {"priority", 4},      {"attributes", proto::value_map{}}};
}

// The `results` of an ack, release or extend: ok for every receipt but
// those that start with "stale".
proto::reply results_for(const proto::request& r) {
    proto::value_list results;
    for (const auto& receipt : list_arg(r, "receipts")) {
        const std::string& text = *receipt.as_string();
        bool stale = text.rfind("stale", 0) == 0;
        proto::value_map entry{{"receipt", text}, {"ok", !stale}};
        if (stale) {
            entry["code"] = "STALE_RECEIPT";
            entry["message"] = "receipt '" + text + "' is stale";
        }
        results.push_back(std::move(entry));
    }
    return ok_reply(r, {{"results", results}});
}

proto::value_map queue_info_map() {
    return {{"name", "jobs"},
            {"fifo", false},
            {"visible", 3},
            {"in_flight", 1},
            {"delayed", 0},
            {"held", 0},
            {"bytes", 12},
            {"oldest_age_ms", proto::value()},
            {"visibility_ms", 30000},
            {"retention_ms", 345600000},
            {"max_size", 262144},
            {"delay_ms", 0},
            {"dlq", proto::value()},
            {"max_receives", proto::value()},
            {"dedup_window_ms", 300000},
            {"content_dedup", false},
            {"created_at", std::int64_t{1700000000000}},
            {"owner", "agent-1"}};
}

}  // namespace

TEST_CASE("send prints the first id for a duplicate and notes it",
          "[commands][net]") {
    fake_agent agent([](const proto::request& r) {
        return std::vector{
            ok_reply(r, {{"ids", proto::value_list{"id-a", "id-a"}},
                         {"duplicates", proto::value_list{false, true}}})};
    });
    auto sent =
        run_dmq(agent, {"send", "--lines", "jobs", "one\ntwo", "--dedup-id",
                        "k1", "--group", "g", "--priority", "2"});
    CHECK(sent.status == 0);
    CHECK(sent.out == "id-a\nid-a\n");
    CHECK(sent.err ==
          "dmq: note: message 2 was a duplicate of id-a (dedup id 'k1'); "
          "nothing stored\n");

    auto request = agent.requests().at(0);
    const auto& messages = list_arg(request, "messages");
    REQUIRE(messages.size() == 2);
    proto::fields meta(*messages[1].as_map());
    CHECK(*meta.string("dedup_id") == "k1");
    CHECK(*meta.string("group") == "g");
    CHECK(*meta.integer("priority") == 2);

    auto json = run_dmq(
        agent, {"send", "--lines", "jobs", "one\ntwo", "--format", "json"});
    CHECK(json.out ==
          "{\"id\":\"id-a\",\"duplicate\":false}\n"
          "{\"id\":\"id-a\",\"duplicate\":true}\n");
}

TEST_CASE("queue info prints settings a queue does not have as - or null",
          "[commands][net]") {
    fake_agent agent([](const proto::request& r) {
        return std::vector{ok_reply(r, {{"info", queue_info_map()}})};
    });
    auto text = run_dmq(agent, {"queue", "info", "jobs"});
    CHECK(text.status == 0);
    CHECK(text.out.find("\nfifo: no\n") != std::string::npos);
    CHECK(text.out.find("\nheld: 0\n") != std::string::npos);
    CHECK(text.out.find("\ndlq: -\n") != std::string::npos);
    CHECK(text.out.find("\nmax_receives: -\n") != std::string::npos);
    CHECK(text.out.find("\ndedup_window: 5m\n") != std::string::npos);
    CHECK(text.out.find("\ncontent_dedup: no\n") != std::string::npos);

    auto json = run_dmq(agent, {"queue", "info", "jobs", "--format", "json"});
    CHECK(json.out.find("\"dlq\":null,\"max_receives\":null,"
                        "\"dedup_window_ms\":300000,"
                        "\"content_dedup\":false") != std::string::npos);
}

TEST_CASE("queue redrive follows the cursor until --max messages moved",
          "[commands][net]") {
    std::int64_t left = 5000;
    fake_agent agent([&left](const proto::request& r) {
        proto::fields args(r.args);
        std::int64_t moved = std::min(left, *args.integer("max"));
        left -= moved;
        return std::vector{
            ok_reply(r, {{"moved", moved},
                         {"skipped", 0},
                         {"cursor", *args.integer("after") + moved},
                         {"done", left == 0}})};
    });
    auto run = run_dmq(agent, {"queue", "redrive", "dlq", "--max", "2200"});
    CHECK(run.status == 0);
    CHECK(run.out == "moved 2200, skipped 0\n");
    CHECK(run.err.empty());

    auto requests = agent.requests();
    REQUIRE(requests.size() == 3);
    std::vector<std::int64_t> maxes, afters;
    for (const auto& request : requests) {
        maxes.push_back(*proto::fields(request.args).integer("max"));
        afters.push_back(*proto::fields(request.args).integer("after"));
    }
    CHECK(maxes == std::vector<std::int64_t>{1000, 1000, 200});
    CHECK(afters == std::vector<std::int64_t>{0, 1000, 2000});
}

TEST_CASE("queue redrive keeps to --rate", "[commands][net][slow]") {
    fake_agent agent([](const proto::request& r) {
        proto::fields args(r.args);
        std::int64_t after = *args.integer("after");
        std::int64_t moved =
            std::min<std::int64_t>(*args.integer("max"), 300 - after);
        return std::vector{ok_reply(r, {{"moved", moved},
                                        {"skipped", 0},
                                        {"cursor", after + moved},
                                        {"done", after + moved >= 300}})};
    });
    auto start = steady_clock::now();
    auto run = run_dmq(agent, {"queue", "redrive", "dlq", "--rate", "200",
                               "--format", "json"});
    auto took = steady_clock::now() - start;
    CHECK(run.status == 0);
    CHECK(run.out == "{\"moved\":300,\"skipped\":0}\n");
    // 200, then 100 once a second has passed; no sleep after the last.
    CHECK(took >= 950ms);
    CHECK(took < 1800ms);
    auto requests = agent.requests();
    REQUIRE(requests.size() == 2);
    CHECK(*proto::fields(requests[0].args).integer("max") == 200);
}

TEST_CASE("queue redrive that skipped messages says why and exits 0",
          "[commands][net]") {
    fake_agent agent([](const proto::request& r) {
        return std::vector{ok_reply(
            r, {{"moved", 2}, {"skipped", 3}, {"cursor", 5}, {"done", true}})};
    });
    auto run = run_dmq(agent, {"queue", "redrive", "dlq"});
    CHECK(run.status == 0);
    CHECK(run.out == "moved 2, skipped 3\n");
    CHECK(run.err.rfind("dmq: note: 3 messages were skipped and left in "
                        "'dlq': a message is skipped when it has no source "
                        "queue (give --to)",
                        0) == 0);
    CHECK(run.err.find("so does the rest of their group)\n") !=
          std::string::npos);

    auto to = run_dmq(agent, {"queue", "redrive", "dlq", "--to", "jobs"});
    CHECK(to.err ==
          "dmq: note: 3 messages were skipped and left in 'dlq': messages "
          "in flight stay (and on a FIFO queue, so does the rest of their "
          "group)\n");
}

TEST_CASE("show prints a message's fields, - for those it has not",
          "[commands][net]") {
    static const std::string kShown = "0123456789abcdef01234567";
    fake_agent agent([](const proto::request& r) {
        if (*proto::fields(r.args).string("message_id") != kShown) {
            return std::vector{
                error_reply(r, errc::not_found, "no message 'm9' in 'jobs'")};
        }
        proto::value_map message = *message_map("m1").as_map();
        message.erase("receipt");
        message["group"] = "g1";
        message["attributes"] = proto::value_map{{"kind", "a\nb"}};
        return std::vector{
            ok_reply(r, {{"message", message},
                         {"state", "held"},
                         {"visible_at", proto::value()},
                         {"expires_at", std::int64_t{1700000001000}},
                         {"size", 42}})};
    });
    auto text = run_dmq(agent, {"show", "jobs", kShown});
    CHECK(text.status == 0);
    CHECK(text.out ==
          "id: m1\n"
          "state: held\n"
          "receive_count: 1\n"
          "sent: 2023-11-14T22:13:20.000Z\n"
          "visible_at: -\n"
          "expires: 2023-11-14T22:13:21.000Z\n"
          "priority: 4\n"
          "group: g1\n"
          "dedup_id: -\n"
          "source_queue: -\n"
          "redrive_count: -\n"
          "size: 42\n"
          "attributes: {\"kind\":\"a\\nb\"}\n");

    auto json = run_dmq(agent, {"show", "jobs", kShown, "--format", "json"});
    CHECK(json.out.find("\"visible_at\":null,") != std::string::npos);
    CHECK(json.out.find("\"group\":\"g1\",\"dedup_id\":null,") !=
          std::string::npos);

    auto missing = run_dmq(agent, {"show", "jobs", "0123456789abcdef01234599"});
    CHECK(missing.status == 4);
    CHECK(missing.err == "dmq: error: no message 'm9' in 'jobs'\n");
}

TEST_CASE(
    "release of several receipts is one request with a line per "
    "refusal",
    "[commands][net]") {
    fake_agent agent(
        [](const proto::request& r) { return std::vector{results_for(r)}; });
    auto run = run_dmq(agent, {"release", "jobs", "a", "stale-b", "stale-c"});
    CHECK(run.status == 5);
    CHECK(run.err ==
          "dmq: error: receipt 'stale-b' is stale\n"
          "dmq: error: receipt 'stale-c' is stale\n");
    REQUIRE(agent.requests().size() == 1);
    CHECK(list_arg(agent.requests()[0], "receipts").size() == 3);

    auto extended =
        run_dmq(agent, {"extend", "jobs", "a", "b", "--visibility", "1m"});
    CHECK(extended.status == 0);
    REQUIRE(agent.requests().size() == 2);
    CHECK(agent.requests()[1].op == "extend");
    CHECK(list_arg(agent.requests()[1], "receipts").size() == 2);
}

TEST_CASE("receive --delete acks all its messages in one request",
          "[commands][net]") {
    fake_agent agent([](const proto::request& r) {
        if (r.op == "ack") {
            return std::vector{results_for(r)};
        }
        proto::reply got =
            ok_reply(r, {{"messages", proto::value_list{message_map("m1"),
                                                        message_map("m2"),
                                                        message_map("m3")}}});
        got.bodies = {"one", "two", "three"};
        return std::vector{got};
    });
    auto run = run_dmq(agent, {"receive", "jobs", "-n", "3", "--delete"});
    CHECK(run.status == 0);
    CHECK(run.out == "one\ntwo\nthree\n");
    auto requests = agent.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].op == "ack");
    CHECK(list_arg(requests[1], "receipts").size() == 3);
}

namespace {

// Runs `receive jobs --follow ARGS` in a child process with dmq's signal
// handlers (so that this process keeps its own), stdout to `out`. The
// fake agent sends the child SIGTERM through `child` when it is done.
int follow_in_child(const fake_agent& agent, std::atomic<pid_t>& child,
                    const temp_file& out, std::vector<std::string> args) {
    std::cout.flush();
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);  // a hung consumer must not hang the test run
        signals::install();
        dup2(out.fd(), STDOUT_FILENO);
        std::vector<std::string> words = {
            "dmq", "--agents", agent.address(), "receive", "jobs", "--follow"};
        words.insert(words.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& w : words) {
            argv.push_back(w.data());
        }
        _exit(cli::run(static_cast<int>(argv.size()), argv.data()));
    }
    child = pid;
    int wait_status = 0;
    waitpid(pid, &wait_status, 0);
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

void stop_child(std::atomic<pid_t>& child) {
    while (child.load() == 0) {
        std::this_thread::sleep_for(1ms);
    }
    kill(child.load(), SIGTERM);
}

std::vector<std::string> ops_of(const std::vector<proto::request>& requests) {
    std::vector<std::string> ops;
    for (const auto& r : requests) {
        ops.push_back(r.op);
    }
    return ops;
}

}  // namespace

TEST_CASE(
    "receive --follow takes pushed messages, gives credit back and "
    "unsubscribes on SIGTERM",
    "[commands][net][signal]") {
    std::atomic<pid_t> child{0};
    fake_agent agent([&child](const proto::request& r) {
        if (r.op == "subscribe") {
            proto::reply pushed = ok_reply(
                r, {{"push", true},
                    {"messages",
                     proto::value_list{message_map("m1"), message_map("m2")}}});
            pushed.bodies = {"one", "two"};
            return std::vector{ok_reply(r, {{"subscribed", true}}), pushed};
        }
        if (r.op == "ack") {
            return std::vector{results_for(r)};
        }
        if (r.op == "credit") {
            stop_child(child);
            return std::vector{ok_reply(r, {{"credit", 2}})};
        }
        return std::vector{ok_reply(r, {{"unsubscribed", true}})};
    });
    temp_file out;
    CHECK(follow_in_child(agent, child, out, {"-n", "2", "--delete"}) == 0);
    CHECK(out.text() == "one\ntwo\n");

    auto requests = agent.requests();
    CHECK(ops_of(requests) == std::vector<std::string>{
                                  "subscribe", "ack", "credit", "unsubscribe"});
    REQUIRE(requests.size() == 4);
    CHECK(*proto::fields(requests[0].args).integer("credit") == 2);
    CHECK(list_arg(requests[1], "receipts").size() == 2);
    CHECK(*proto::fields(requests[2].args).integer("add") == 2);
    CHECK(*proto::fields(requests[3].args).string("subscription") ==
          requests[0].id);
}

TEST_CASE("receive --follow falls back to long polls without push delivery",
          "[commands][net][signal]") {
    std::atomic<pid_t> child{0};
    fake_agent agent([&child](const proto::request& r) {
        if (r.op == "subscribe") {
            return std::vector{
                error_reply(r, errc::unknown_op, "unknown op 'subscribe'")};
        }
        if (r.op == "receive") {
            stop_child(child);
            proto::reply got = ok_reply(
                r, {{"messages", proto::value_list{message_map("m1")}}});
            got.bodies = {"polled"};
            return std::vector{got};
        }
        if (r.op == "cancel") {
            return std::vector{ok_reply(r, {{"cancelled", false}})};
        }
        // The message came after the signal: it is released, not printed.
        return std::vector{results_for(r)};
    });
    temp_file out;
    CHECK(follow_in_child(agent, child, out, {}) == 0);
    CHECK(out.text().empty());
    // A cancel goes out too if the signal came before the reply.
    auto ops = ops_of(agent.requests());
    REQUIRE(ops.size() >= 3);
    CHECK(ops[0] == "subscribe");
    CHECK(ops[1] == "receive");
    CHECK(ops.back() == "release");
}
