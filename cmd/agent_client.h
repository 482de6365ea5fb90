// Sends requests to the agents named by --agents (or DMQ_AGENTS) and
// waits for their replies, as docs/protocol.md describes: agents are tried
// in list order, starting with the last one that answered; when one
// refuses the connection, loses it, or does not connect in its share of
// the timeout, the same request (same id, so the agent never applies it
// twice) goes to the next. Nothing ever waits past the timeout (plus a
// long poll's wait).
//
// Lifecycle: one per command run, created once the arguments are valid.
// Not thread-safe. Owns the ZeroMQ context and at most one idle
// connection, kept for the next request to the same agent.

#pragma once

#include "cmd/agent_connection.h"
#include "common/duration.h"
#include "common/envelope.h"
#include "common/status.h"

#include <zmq.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dmq::cli {

// Parses "HOST:PORT[,HOST:PORT...]"; an IPv6 host goes in brackets
// ("[::1]:7420"). bad_request naming the entry that is wrong.
result<std::vector<agent_address>> parse_agent_list(std::string_view list);

// A fresh request id: 128 random bits as 32 lower-case hex digits.
std::string new_request_id();

struct call_options {
    // Added to the timeout: how long the agent may hold a long poll.
    millis extra_wait{0};
    // Whether SIGINT or SIGTERM ends the wait. Requests that undo or
    // finish work (ack, release) run to their deadline instead.
    bool interruptible = true;
    // For a receive: on a signal, send `cancel` for it, and return its
    // reply if messages were already on their way (the caller must then
    // release them).
    bool cancel_on_interrupt = false;
    // When more than 0 and shorter than the client's timeout, the
    // timeout for this request (a quick probe of an agent that was lost).
    millis timeout{0};
    // The id to send the request with, to repeat a request whose outcome
    // is unknown (the agent answers a repeated id as it did the first
    // time); empty for a fresh id.
    std::string request_id;
};

// A reply and the connection it came on, for a conversation that goes on
// over that connection (a subscription: pushes, credit, unsubscribe).
struct held_reply {
    proto::reply reply;
    std::unique_ptr<agent_connection> connection;
};

class agent_client {
public:
    agent_client(std::vector<agent_address> agents, millis timeout);
    ~agent_client();
    agent_client(const agent_client&) = delete;
    agent_client& operator=(const agent_client&) = delete;

    // Sends one request to the first agent that answers. Returns the
    // reply; the agent's error as a status (a NOT_FOUND message gains its
    // "did you mean" suggestion); unavailable when no agent answered or a
    // signal interrupted the wait; internal for a malformed reply.
    // An unavailable status says, for a request that changes something,
    // when the request may have been applied all the same (see
    // last_outcome_unknown()).
    result<proto::reply> call(std::string_view op, proto::value_map args,
                              std::vector<std::string> bodies = {},
                              const call_options& options = {});

    // Like call(), but hands over the connection the reply came on
    // instead of keeping it for the next request. The connection must be
    // closed before this client is destroyed.
    result<held_reply> call_and_hold(std::string_view op, proto::value_map args,
                                     const call_options& options = {});

    // The same as call(), to the agent at `index` in the list only (for
    // health).
    result<proto::reply> call_agent(std::size_t index, std::string_view op,
                                    proto::value_map args,
                                    const call_options& options = {});

    // True when the last call failed after its request had reached an
    // agent's connection (no reply in time, or the connection was lost
    // after it came up): the agent may have applied it. False when no
    // agent can have seen it, or when the call succeeded.
    bool last_outcome_unknown() const { return outcome_unknown_; }

    // The id of the last request sent, to repeat it with
    // call_options::request_id.
    const std::string& last_request_id() const { return last_id_; }

    const std::vector<agent_address>& agents() const { return agents_; }
    millis timeout() const { return timeout_; }

private:
    // Sends the request to the agents in `order` until one answers. On
    // success the connection goes to `hold` when it is given, else it is
    // kept as the idle one.
    result<proto::reply> exchange(const std::vector<std::string>& frames,
                                  const std::string& id, std::string_view op,
                                  const std::vector<std::size_t>& order,
                                  const call_options& options,
                                  std::unique_ptr<agent_connection>* hold);
    std::vector<std::size_t> failover_order() const;
    result<std::unique_ptr<agent_connection>> connection_to(std::size_t i);
    result<proto::reply> cancel_receive(agent_connection& connection,
                                        const std::string& receive_id);

    std::vector<agent_address> agents_;
    millis timeout_;
    zmq::context_t context_;
    std::unique_ptr<agent_connection> idle_;  // kept after a success
    std::size_t idle_index_ = 0;
    std::size_t preferred_ = 0;  // the agent that answered last
    bool outcome_unknown_ = false;
    std::string last_id_;
};

}  // namespace dmq::cli
