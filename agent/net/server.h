// The agent's network front: one ZeroMQ ROUTER socket served by a single
// event loop thread. Each turn of the loop takes every request that has
// arrived (a batch), routes them, lets parked long polls retry, runs
// housekeeping, commits the batch with one fsync, and only then sends the
// replies. Also remembers recent replies by request id, so that a retried
// request gets the first answer again.
// Lifecycle: made by main(), run() until the stop flag is set.

#pragma once

#include "agent/net/request_router.h"
#include "agent/net/subscriptions.h"
#include "common/status.h"

#include <spdlog/logger.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <atomic>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace dmq::net {

class server {
public:
    server(queue::queue_engine& engine, request_router& router,
           spdlog::logger& log);

    // Binds the socket; the error names the address and the cause.
    // Returns the endpoint actually bound (port 0 becomes a real port).
    result<std::string> bind(const std::string& endpoint);

    // Serves until `stop` becomes true, then finishes the batch at hand,
    // answers parked receives with nothing, and returns. An error means
    // the agent could not keep its durability promise and must exit.
    status run(const std::atomic<bool>& stop);

private:
    // "op\nqueue" of a request: a retry must match the first request's.
    struct waiter {
        std::string id;
        std::string identity;
        std::string fingerprint;
        parked_receive receive;
        std::int64_t wake_at = 0;  // next time a message may be visible
    };
    struct outgoing {
        std::string identity;
        std::string id;  // empty: not to be remembered
        std::string fingerprint;
        std::vector<std::string> frames;
        std::uint64_t epoch = 0;  // engine commits() when made; 0: a replay
        // A push: the subscription it spends credit of, and the receipts
        // to release if it cannot be delivered.
        std::string push_for;
        std::string queue;
        std::vector<std::string> receipts;
    };
    struct cached_reply {
        std::int64_t at = 0;
        std::string fingerprint;
        std::vector<std::string> frames;
    };

    void take_request(std::vector<std::string> frames, std::int64_t now);
    void send_later(const std::string& identity,
                    std::vector<std::string> frames, std::uint64_t epoch = 0);
    void reply_later(const std::string& identity, const proto::reply& r,
                     const std::string& fingerprint = {});
    bool answer_retry(const std::string& identity, const proto::request& req,
                      const std::string& fingerprint);
    void warn_malformed(const std::string& identity, const status& why,
                        std::int64_t now);
    void serve_waiters(std::int64_t now, bool only_due);
    bool take_push_request(const std::string& identity,
                           const proto::request& req, std::int64_t now);
    void serve_subscriptions(std::int64_t now, bool shutting_down);
    void push_failed(const outgoing& o, const char* why);
    void release_undelivered(std::int64_t now);
    bool cancel_waiter(const std::string& request_id);
    std::int64_t next_wakeup(std::int64_t now);
    status finish_batch(std::int64_t now);
    void remember(const outgoing& o, std::int64_t now);
    // Whether the frames left; false when the connection is gone or full.
    bool send_frames(const std::string& identity,
                     const std::vector<std::string>& frames);

    queue::queue_engine& engine_;
    request_router& router_;
    spdlog::logger& log_;
    zmq::context_t context_;
    zmq::socket_t socket_;

    std::vector<waiter> waiters_;  // in arrival order
    subscription_table subscriptions_;
    // Pushed messages whose consumer was gone: released next turn.
    std::vector<std::pair<std::string, std::vector<std::string>>> undelivered_;
    std::set<std::string> dirty_queues_;  // touched in this batch
    std::vector<outgoing> outbox_;
    std::unordered_map<std::string, std::size_t> outbox_by_id_;
    std::unordered_map<std::string, cached_reply> replies_;
    std::deque<std::string> reply_order_;
    std::size_t reply_bytes_ = 0;
    std::int64_t last_sweep_ = 0;
    std::int64_t malformed_logged_at_ = 0;
    std::int64_t malformed_suppressed_ = 0;
};

// Milliseconds since the Unix epoch, the clock of every persisted time.
std::int64_t wall_clock_ms();

}  // namespace dmq::net
