// Ack, release and extend of several receipts against a fake agent: one
// request for all of them, and each refusal reported.

#include "cmd/receipt_ops.h"
#include "tests/cmd/fake_agent.h"

#include <catch2/catch.hpp>

using namespace dmq;
using namespace dmq::cli;
using namespace dmq::cli::test;
using namespace std::chrono_literals;

namespace {

// Answers every receipt ok, except those that start with "stale".
std::vector<proto::reply> results_by_receipt(const proto::request& r) {
    proto::value_list results;
    for (const auto& receipt :
         *proto::fields(r.args).list("receipts").value()) {
        const std::string& text = *receipt.as_string();
        proto::value_map entry{{"receipt", text}, {"ok", true}};
        if (text.rfind("stale", 0) == 0) {
            entry = {{"receipt", text},
                     {"ok", false},
                     {"code", "STALE_RECEIPT"},
                     {"message", "receipt '" + text + "' is stale"}};
        }
        results.push_back(std::move(entry));
    }
    return {ok_reply(r, {{"results", results}})};
}

std::size_t receipt_count(const proto::request& r) {
    return proto::fields(r.args).list("receipts").value()->size();
}

}  // namespace

TEST_CASE("several receipts are released in one request", "[receipts][net]") {
    fake_agent agent(results_by_receipt);
    auto client = client_for({agent.address()}, 2s);
    CHECK(release_receipts(client, "q", {"a", "b", "c"}, 2s).is_ok());
    auto requests = agent.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].op == "release");
    CHECK(receipt_count(requests[0]) == 3);
    CHECK(*proto::fields(requests[0].args).integer("delay_ms") == 2000);
}

TEST_CASE("several receipts are extended in one request", "[receipts][net]") {
    fake_agent agent(results_by_receipt);
    auto client = client_for({agent.address()}, 2s);
    CHECK(extend_receipts(client, "q", {"a", "b"}, 30s).is_ok());
    auto requests = agent.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].op == "extend");
    CHECK(receipt_count(requests[0]) == 2);
    CHECK(*proto::fields(requests[0].args).integer("visibility_ms") == 30000);
}

TEST_CASE("a refused receipt among several fails with its code",
          "[receipts][net]") {
    fake_agent agent(results_by_receipt);
    auto client = client_for({agent.address()}, 2s);
    status acked = ack_receipts(client, "q", {"a", "stale-b", "c"});
    CHECK(acked.code() == errc::stale_receipt);
    CHECK(acked.message() == "receipt 'stale-b' is stale");
    status released = release_receipts(client, "q", {"stale-x", "y"});
    CHECK(released.code() == errc::stale_receipt);
}

TEST_CASE("a reply with fewer results than receipts is malformed",
          "[receipts][net]") {
    fake_agent agent([](const proto::request& r) {
        return std::vector{ok_reply(r, {{"results", proto::value_list{}}})};
    });
    auto client = client_for({agent.address()}, 2s);
    status released = release_receipts(client, "q", {"a"});
    CHECK(released.code() == errc::internal);
    CHECK(released.message().find("malformed") != std::string::npos);
}
