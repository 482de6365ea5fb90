// Push delivery for receive --follow against fake agents: subscribing
// with credit, pushed messages, credit given back, keep-alives, and
// subscribing again when the agent lost the subscription or went away.

#include "cmd/subscription.h"
#include "tests/cmd/fake_agent.h"

#include <catch2/catch.hpp>

#include <memory>

using namespace dmq;
using namespace dmq::cli;
using namespace dmq::cli::test;
using namespace std::chrono_literals;

namespace {

// A push of one message, as the agent sends it for subscription `r`.
proto::reply push(const std::string& subscription, const std::string& id) {
    proto::reply p;
    p.id = subscription;
    proto::value_map message{
        {"id", id},           {"receipt", "r-" + id},
        {"receive_count", 1}, {"sent_at", std::int64_t{1700000000000}},
        {"priority", 4},      {"attributes", proto::value_map{}}};
    p.fields = {{"push", true},
                {"messages", proto::value_list{proto::value(message)}}};
    p.bodies = {"body of " + id};
    return p;
}

std::string field(const proto::request& r, std::string_view key) {
    return proto::fields(r.args).string(key).value();
}

std::int64_t number(const proto::request& r, std::string_view key) {
    return proto::fields(r.args).integer(key).value();
}

subscription_settings settings(std::int64_t credit) {
    subscription_settings s;
    s.queue = "jobs";
    s.credit = credit;
    return s;
}

}  // namespace

TEST_CASE("a subscription hands over pushed messages and gives credit back",
          "[subscription][net]") {
    fake_agent agent([](const proto::request& r) {
        if (r.op == "subscribe") {
            return std::vector{ok_reply(r, {{"subscribed", true}}),
                               push(r.id, "m1")};
        }
        // Each credit brings the next message.
        std::string sub = field(r, "subscription");
        return std::vector{ok_reply(r, {{"credit", 0}}), push(sub, "m2")};
    });
    auto client = client_for({agent.address()}, 2s);
    follow_outage outage("jobs");
    subscription sub(client, settings(3), outage);
    REQUIRE(sub.open().is_ok());

    auto first = sub.next();
    REQUIRE(first.is_ok());
    REQUIRE(first->size() == 1);
    CHECK((*first)[0].id == "m1");
    CHECK((*first)[0].receipt == "r-m1");
    CHECK((*first)[0].body == "body of m1");
    sub.grant(1);
    auto second = sub.next();
    REQUIRE(second.is_ok());
    REQUIRE(second->size() == 1);
    CHECK((*second)[0].id == "m2");

    auto requests = agent.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].op == "subscribe");
    CHECK(field(requests[0], "queue") == "jobs");
    CHECK(number(requests[0], "credit") == 3);
    CHECK(requests[1].op == "credit");
    CHECK(field(requests[1], "subscription") == requests[0].id);
    CHECK(number(requests[1], "add") == 1);
}

TEST_CASE("a subscription the agent no longer holds is made again",
          "[subscription][net]") {
    std::atomic<int> subscribes{0};
    fake_agent agent([&](const proto::request& r) {
        if (r.op == "subscribe") {
            int n = ++subscribes;
            return std::vector{ok_reply(r, {{"subscribed", true}}),
                               push(r.id, "m" + std::to_string(n))};
        }
        return std::vector{
            error_reply(r, errc::not_found,
                        "no subscription '" + field(r, "subscription") + "'")};
    });
    auto client = client_for({agent.address()}, 2s);
    follow_outage outage("jobs");
    subscription sub(client, settings(1), outage);
    REQUIRE(sub.open().is_ok());
    REQUIRE(sub.next()->at(0).id == "m1");
    std::string first_id = sub.id();
    sub.grant(1);

    auto again = sub.next();
    REQUIRE(again.is_ok());
    REQUIRE(again->size() == 1);
    CHECK((*again)[0].id == "m2");
    // A fresh id: a repeated one would only get the first answer back.
    CHECK(sub.id() != first_id);
    auto requests = agent.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[2].op == "subscribe");
    CHECK(number(requests[2], "credit") == 1);
}

TEST_CASE("an idle subscription is renewed with credit add 0",
          "[subscription][net]") {
    fake_agent agent([](const proto::request& r) {
        if (r.op == "subscribe") {
            return std::vector{ok_reply(r, {{"subscribed", true}})};
        }
        return std::vector{ok_reply(r, {{"credit", 1}}),
                           push(field(r, "subscription"), "late")};
    });
    auto client = client_for({agent.address()}, 2s);
    follow_outage outage("jobs");
    auto s = settings(1);
    s.keep_alive = 100ms;
    subscription sub(client, s, outage);
    REQUIRE(sub.open().is_ok());

    auto start = steady_clock::now();
    auto got = sub.next();
    REQUIRE(got.is_ok());
    CHECK(got->at(0).id == "late");
    CHECK(steady_clock::now() - start >= 100ms);
    auto requests = agent.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].op == "credit");
    CHECK(number(requests[1], "add") == 0);
}

TEST_CASE("a subscription whose agent goes away moves to the next agent",
          "[subscription][net]") {
    auto first = std::make_unique<fake_agent>([](const proto::request& r) {
        return std::vector{ok_reply(r, {{"subscribed", true}})};
    });
    fake_agent second([](const proto::request& r) {
        return std::vector{ok_reply(r, {{"subscribed", true}}),
                           push(r.id, "elsewhere")};
    });
    auto client = client_for({first->address(), second.address()}, 2s);
    follow_outage outage("jobs");
    subscription sub(client, settings(1), outage);
    REQUIRE(sub.open().is_ok());

    first.reset();  // its connection drops
    auto got = sub.next();
    REQUIRE(got.is_ok());
    REQUIRE(got->size() == 1);
    CHECK(got->at(0).id == "elsewhere");
    CHECK(second.requests().at(0).op == "subscribe");
}

TEST_CASE("an agent without push delivery says so on subscribe",
          "[subscription][net]") {
    fake_agent agent([](const proto::request& r) {
        return std::vector{
            error_reply(r, errc::unknown_op, "unknown op 'subscribe'")};
    });
    auto client = client_for({agent.address()}, 2s);
    follow_outage outage("jobs");
    subscription sub(client, settings(1), outage);
    CHECK(sub.open().code() == errc::unknown_op);
}

TEST_CASE("closing unsubscribes and returns what was pushed meanwhile",
          "[subscription][net]") {
    fake_agent agent([](const proto::request& r) {
        if (r.op == "subscribe") {
            return std::vector{ok_reply(r, {{"subscribed", true}})};
        }
        // A message on its way before the unsubscribe was taken.
        return std::vector{push(field(r, "subscription"), "unhandled"),
                           ok_reply(r, {{"unsubscribed", true}})};
    });
    auto client = client_for({agent.address()}, 2s);
    follow_outage outage("jobs");
    subscription sub(client, settings(1), outage);
    REQUIRE(sub.open().is_ok());

    auto left = sub.close();
    REQUIRE(left.size() == 1);
    CHECK(left[0].id == "unhandled");
    auto requests = agent.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].op == "unsubscribe");
    CHECK(field(requests[1], "subscription") == requests[0].id);
}
