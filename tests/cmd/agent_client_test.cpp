// The agent client against fake agents (ROUTER sockets in this process):
// failover, retries with the same request id, timeouts, and the cancel of
// an interrupted receive.

#include "cmd/agent_client.h"
#include "cmd/signals.h"
#include "tests/cmd/fake_agent.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

using namespace dmq;
using namespace dmq::cli;
using namespace dmq::cli::test;
using namespace std::chrono_literals;

TEST_CASE("agent lists are HOST:PORT entries separated by commas", "[client]") {
    auto agents = parse_agent_list("127.0.0.1:7420, localhost:1,[::1]:99");
    REQUIRE(agents.is_ok());
    REQUIRE(agents->size() == 3);
    CHECK((*agents)[0].endpoint == "tcp://127.0.0.1:7420");
    CHECK((*agents)[1].name == "localhost:1");
    CHECK((*agents)[2].ipv6);

    for (auto bad : {"", "host", "host:", ":7420", "h:0", "h:65536", "a:1,",
                     "h:12x", "::1:7420"}) {
        INFO(bad);
        CHECK_FALSE(parse_agent_list(bad).is_ok());
    }
}

TEST_CASE("request ids are 128 random bits in hex", "[client]") {
    std::string a = new_request_id();
    CHECK(a.size() == 32);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(a != new_request_id());
}

TEST_CASE("a reply comes back with its fields", "[client][net]") {
    fake_agent agent([](const proto::request& r) {
        return std::vector{ok_reply(r, {{"version", "1.2.3"}})};
    });
    auto client = client_for({agent.address()}, 2s);
    auto reply = client.call("ping", {});
    REQUIRE(reply.is_ok());
    CHECK(*proto::fields(reply->fields).string("version") == "1.2.3");
    CHECK(agent.requests().at(0).op == "ping");
}

TEST_CASE("a NOT_FOUND error says which queue was probably meant",
          "[client][net]") {
    fake_agent agent([](const proto::request& r) {
        return std::vector{error_reply(r, errc::not_found,
                                       "unknown queue 'ordrs'",
                                       {{"suggestion", "orders"}})};
    });
    auto client = client_for({agent.address()}, 2s);
    auto reply = client.call("queue_info", {{"queue", "ordrs"}});
    REQUIRE_FALSE(reply.is_ok());
    CHECK(reply.error().code() == errc::not_found);
    CHECK(reply.error().message() ==
          "unknown queue 'ordrs', did you mean 'orders'?");
}

TEST_CASE("a refused connection fails over to the next agent at once",
          "[client][net]") {
    fake_agent agent(answer_ok);
    auto client = client_for({kClosedPort, agent.address()}, 5s);
    auto start = steady_clock::now();
    CHECK(client.call("ping", {}).is_ok());
    CHECK(steady_clock::now() - start < 1s);
}

TEST_CASE(
    "an agent that does not answer is retried elsewhere with the "
    "same request id",
    "[client][net]") {
    fake_agent mute(silent);
    fake_agent good(answer_ok);
    auto client = client_for({mute.address(), good.address()}, 1s);
    REQUIRE(client.call("send", {{"queue", "q"}}).is_ok());
    REQUIRE(mute.requests().size() == 1);
    REQUIRE(good.requests().size() == 1);
    CHECK(mute.requests()[0].id == good.requests()[0].id);
}

TEST_CASE("an agent that stops is left for the next one", "[client][net]") {
    fake_agent stopping([](const proto::request& r) {
        return std::vector{
            error_reply(r, errc::shutting_down, "agent is stopping")};
    });
    fake_agent good(answer_ok);
    auto client = client_for({stopping.address(), good.address()}, 2s);
    CHECK(client.call("ping", {}).is_ok());
    CHECK(stopping.requests().at(0).id == good.requests().at(0).id);
}

TEST_CASE("an unreachable agent is an error within the timeout",
          "[client][net]") {
    fake_agent mute(silent);
    auto client = client_for({mute.address()}, 300ms);
    auto start = steady_clock::now();
    auto reply = client.call("ping", {});
    auto took = steady_clock::now() - start;
    REQUIRE_FALSE(reply.is_ok());
    CHECK(reply.error().code() == errc::unavailable);
    CHECK(reply.error().message().find("within 300ms") != std::string::npos);
    CHECK(took >= 300ms);
    CHECK(took < 1s);
}

TEST_CASE(
    "a send that reached an agent but got no reply says it may have been "
    "stored",
    "[client][net]") {
    fake_agent mute(silent);
    auto client = client_for({mute.address()}, 200ms);
    auto reply = client.call("send", {{"queue", "q"}}, {"body"});
    REQUIRE_FALSE(reply.is_ok());
    CHECK(reply.error().code() == errc::unavailable);
    CHECK(reply.error().message() ==
          "no reply from agent '" + mute.address() +
              "' within 200ms; the send may or may not have been stored "
              "(retrying with the same command may store it twice)");
    CHECK(client.last_outcome_unknown());
    CHECK(client.last_request_id() == mute.requests().at(0).id);
}

TEST_CASE("a request no agent can have seen says only why", "[client][net]") {
    auto client = client_for({kClosedPort}, 2s);
    auto reply = client.call("send", {{"queue", "q"}}, {"body"});
    REQUIRE_FALSE(reply.is_ok());
    CHECK(reply.error().message() ==
          "agent '127.0.0.1:1' unreachable: connection refused");
    CHECK_FALSE(client.last_outcome_unknown());
}

TEST_CASE("a request can be repeated with the id of a lost one",
          "[client][net]") {
    fake_agent agent(answer_ok);
    auto client = client_for({agent.address()}, 2s);
    call_options options;
    options.request_id = "0123456789abcdef0123456789abcdef";
    REQUIRE(client.call("receive", {}, {}, options).is_ok());
    CHECK(agent.requests().at(0).id == options.request_id);
}

TEST_CASE("every agent refusing is one error naming each", "[client][net]") {
    auto client = client_for({kClosedPort, "127.0.0.1:2"}, 2s);
    auto reply = client.call("ping", {});
    REQUIRE_FALSE(reply.is_ok());
    CHECK(reply.error().message() ==
          "no agent reachable: '127.0.0.1:1': connection refused; "
          "'127.0.0.1:2': connection refused");
}

TEST_CASE("a long poll may take its wait on top of the timeout",
          "[client][net]") {
    fake_agent slow([](const proto::request& r) {
        std::this_thread::sleep_for(400ms);
        return std::vector{ok_reply(r)};
    });
    auto client = client_for({slow.address()}, 200ms);
    call_options options;
    options.extra_wait = 500ms;
    CHECK(client.call("receive", {}, {}, options).is_ok());
}

TEST_CASE("the connection is kept for the next request", "[client][net]") {
    fake_agent agent(answer_ok);
    auto client = client_for({agent.address()}, 2s);
    for (int i = 0; i < 3; ++i) {
        REQUIRE(client.call("ping", {}).is_ok());
    }
    auto requests = agent.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[0].id != requests[1].id);
}

// Runs `call` in a child process with dmq's signal handlers, so that this
// test process keeps its own; the fake agent sends the child SIGINT when
// the receive arrives. Returns the child's exit status.
int interrupted_receive(fake_agent& agent, std::atomic<pid_t>& child,
                        std::function<bool(result<proto::reply>&)> check) {
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);  // a hung client must not hang the test run
        signals::install();
        auto agents = parse_agent_list(agent.address());
        agent_client client(std::move(*agents), 5s);
        call_options options;
        options.extra_wait = 20s;
        options.cancel_on_interrupt = true;
        auto reply = client.call("receive", {{"queue", "q"}}, {}, options);
        _exit(check(reply) && signals::caught() == SIGINT ? 0 : 1);
    }
    child = pid;
    int wait_status = 0;
    waitpid(pid, &wait_status, 0);
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

void interrupt(std::atomic<pid_t>& child) {
    while (child.load() == 0) {
        std::this_thread::sleep_for(1ms);
    }
    kill(child.load(), SIGINT);
}

TEST_CASE("an interrupted receive is cancelled and exits promptly",
          "[client][net][signal]") {
    std::atomic<pid_t> child{0};
    fake_agent agent([&child](const proto::request& r) {
        if (r.op == "receive") {
            interrupt(child);
            return std::vector<proto::reply>{};
        }
        return std::vector{ok_reply(r, {{"cancelled", true}})};
    });

    auto start = steady_clock::now();
    CHECK(interrupted_receive(agent, child,
                              [](auto& reply) { return !reply.is_ok(); }) == 0);
    CHECK(steady_clock::now() - start < 2s);

    auto requests = agent.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].op == "cancel");
    CHECK(*proto::fields(requests[1].args).string("request") == requests[0].id);
}

TEST_CASE(
    "messages already sent to an interrupted receive come back so "
    "that they can be released",
    "[client][net][signal]") {
    std::atomic<pid_t> child{0};
    std::string receive_id;
    fake_agent agent([&](const proto::request& r) {
        if (r.op == "receive") {
            receive_id = r.id;
            interrupt(child);
            return std::vector<proto::reply>{};
        }
        // The messages left before the cancel came: no wait was pending.
        proto::reply delivered;
        delivered.id = receive_id;
        delivered.fields = {{"messages", proto::value_list{}}};
        return std::vector{delivered, ok_reply(r, {{"cancelled", false}})};
    });

    CHECK(interrupted_receive(agent, child,
                              [](auto& reply) { return reply.is_ok(); }) == 0);
}

TEST_CASE(
    "connections closed while their agent is down leave the others "
    "working",
    "[client][net]") {
    // Each closed connection was retrying, so ZeroMQ had monitor events
    // for it; one sent to a monitor whose reader was gone would block
    // ZeroMQ's I/O thread, and every later connection with it.
    zmq::context_t context;
    auto closed = parse_agent_list(kClosedPort);
    REQUIRE(closed.is_ok());
    for (int i = 0; i < 40; ++i) {
        auto c = agent_connection::open(context, closed->front());
        REQUIRE(c.is_ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(i % 8 * 15));
    }

    fake_agent agent(answer_ok);
    auto live = parse_agent_list(agent.address());
    REQUIRE(live.is_ok());
    auto c = agent_connection::open(context, live->front());
    REQUIRE(c.is_ok());
    auto frames = proto::encode_request("ping-1", "ping", {});
    REQUIRE((*c)->send(frames).is_ok());
    auto deadline = steady_clock::now() + 2s;
    auto out = (*c)->wait({"ping-1"}, deadline, deadline, false);
    CHECK(out.how == agent_connection::end::reply);
}
