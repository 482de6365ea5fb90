// Push delivery for `dmq receive --follow` (docs/protocol.md: subscribe,
// credit, unsubscribe): the agent sends messages as they become visible,
// up to the credit the consumer has given, instead of the consumer asking
// again and again with long polls.
//
// The subscription lives on a connection of its own, handed over by the
// agent_client once the subscribe was answered, so that its pushed
// replies are never taken for (and dropped as) late answers to other
// requests. Its credit and unsubscribe requests go on that connection;
// acks and the like go through the agent_client as usual.
//
// It keeps itself alive: `credit` with add 0 every kKeepAlive while idle,
// and a new subscribe (to whichever agent answers, waiting out an outage
// as --follow does) when the agent no longer holds it (NOT_FOUND from
// `credit`), answers SHUTTING_DOWN, does not answer a credit request in
// time, or the connection drops, as across an agent restart. Messages
// pushed on a connection that was lost stay in flight at the agent until
// their visibility timeout ends.
//
// Lifecycle: one per consumer loop, which opens it, takes messages with
// next(), gives credit back with grant() as it handles them, and closes
// it on a clean exit. It must be destroyed before the agent_client it
// uses. Not thread-safe.

#pragma once

#include "cmd/agent_client.h"
#include "cmd/agent_connection.h"
#include "cmd/follow_outage.h"
#include "cmd/output_format.h"
#include "common/duration.h"
#include "common/status.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dmq::cli {

// How often an idle subscription is renewed: well within the agent's 10
// minutes, and the protocol's "at least every minute".
constexpr millis kKeepAlive{30'000};

struct subscription_settings {
    std::string queue;
    // How many messages the consumer can hold at once: the credit it
    // subscribes with, and the most it ever has unhandled.
    std::int64_t credit = 1;
    std::optional<millis> visibility;  // none: the queue's
    millis keep_alive = kKeepAlive;    // shorter only in tests
};

class subscription {
public:
    subscription(agent_client& client, subscription_settings settings,
                 follow_outage& outage);

    // Subscribes, waiting out an outage as --follow does. Returns the
    // agent's refusal as it is (UNKNOWN_OP when it has no push delivery,
    // NOT_FOUND when there is no such queue), or the outage's status when
    // a signal ended the wait.
    status open();

    // Waits for pushed messages, renewing and re-subscribing as needed.
    // Returns them (at least one); an empty list once a signal came; or
    // an error to stop on (the queue is gone, a malformed reply).
    // Requires: every message returned before was handled and given
    // back with grant().
    result<std::vector<message_record>> next();

    // Gives the agent `count` more credit, for messages handled. Does not
    // wait for the answer: next() reads it.
    void grant(std::int64_t count);

    // Unsubscribes, waiting briefly for the answer, and returns the
    // messages pushed in the meantime: they are in flight, and the
    // caller must release them.
    std::vector<message_record> close();

    // The id of the subscribe request in use (for tests).
    const std::string& id() const { return id_; }

private:
    // What a reply on the subscription's connection asks for.
    enum class action { none, deliver, resubscribe, stop };

    action on_reply(proto::reply reply, std::vector<message_record>& got,
                    status& stop_error);
    action on_wait_timeout();
    void send_credit(std::int64_t add);
    time_point next_deadline() const;
    void drop_connection();

    agent_client& client_;
    subscription_settings settings_;
    follow_outage& outage_;
    std::unique_ptr<agent_connection> connection_;
    std::string id_;
    // Credit requests not answered yet, by id, with their deadline.
    std::map<std::string, time_point> pending_credit_;
    time_point next_keep_alive_;
    // Messages that came with the subscribe's own answer.
    std::vector<message_record> early_;
};

}  // namespace dmq::cli
