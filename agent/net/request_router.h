// Turns one decoded request into a call on the queue engine and its result
// into a reply: argument checking, defaults, and the reply's fields. Knows
// nothing of sockets. Only the event loop thread may call it.

#pragma once

#include "agent/queue/queue_engine.h"
#include "common/envelope.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace dmq::net {

// A receive that found nothing and may wait: the server parks it and
// retries it with retry_receive() when a message may be visible.
struct parked_receive {
    std::string queue;
    std::int64_t max = 1;
    std::optional<std::int64_t> visibility_ms;
    std::int64_t deadline = 0;  // wall-clock ms when it gives up
};

// A subscribe request that passed its checks; the server holds it.
struct push_request {
    std::string queue;
    std::int64_t credit = 0;
    std::optional<std::int64_t> visibility_ms;
};

struct routed {
    proto::reply reply;
    std::optional<parked_receive> park;     // set: no reply yet, wait
    std::optional<push_request> subscribe;  // set: reply, then push
};

// Facts about the agent that the ping operation reports.
struct agent_facts {
    std::int64_t started_at = 0;
    std::string data_dir;
    std::function<std::uint64_t()> free_bytes;
};

class request_router {
public:
    request_router(queue::queue_engine& engine, agent_facts facts)
        : engine_(engine), facts_(std::move(facts)) {}

    routed route(const proto::request& req, std::int64_t now);

    // The reply carrying delivered messages: a receive's, or a push.
    proto::reply delivered_reply(
        const std::string& id, std::vector<queue::delivered_message> messages);

    // Retries a parked receive; nullopt while still nothing is visible.
    std::optional<proto::reply> retry_receive(const std::string& request_id,
                                              const parked_receive& p,
                                              std::int64_t now);

private:
    using handler = routed (request_router::*)(const proto::request&,
                                               std::int64_t now);
    static const std::map<std::string, handler, std::less<>>& handlers();

    routed ping(const proto::request& req, std::int64_t now);
    routed queue_create(const proto::request& req, std::int64_t now);
    routed queue_update(const proto::request& req, std::int64_t now);
    routed queue_delete(const proto::request& req, std::int64_t now);
    routed queue_purge(const proto::request& req, std::int64_t now);
    routed queue_list(const proto::request& req, std::int64_t now);
    routed queue_info(const proto::request& req, std::int64_t now);
    routed send(const proto::request& req, std::int64_t now);
    routed receive(const proto::request& req, std::int64_t now);
    routed ack(const proto::request& req, std::int64_t now);
    routed release(const proto::request& req, std::int64_t now);
    routed extend(const proto::request& req, std::int64_t now);
    routed peek(const proto::request& req, std::int64_t now);
    routed show(const proto::request& req, std::int64_t now);
    routed redrive(const proto::request& req, std::int64_t now);
    routed stats(const proto::request& req, std::int64_t now);

    // Runs `act` on each receipt; see receipts_arg() in the .cpp.
    routed each_receipt(
        const proto::request& req, const std::string& queue,
        const std::vector<std::string>& receipts, bool single,
        const std::function<result<proto::value_map>(const std::string&)>& act);

    routed subscribe(const proto::request& req, std::int64_t now);

    routed failure(const proto::request& req, const status& error,
                   const std::string& queue = {});

    queue::queue_engine& engine_;
    agent_facts facts_;
};

}  // namespace dmq::net
