// One DEALER socket connected to one agent, with a monitor socket that
// reports whether the TCP connection came up, was refused or was lost, so
// that the client can fail over at once instead of waiting out a timeout.
//
// Lifecycle: opened by agent_client for one attempt at a request and
// closed when the attempt fails; kept for the next request after a
// success, or handed to a subscription that lives on it. Not thread-safe: the
// CLI is single-threaded. Closing discards unsent requests (ZMQ_LINGER 0), so
// an unreachable agent never makes dmq hang on exit.

#pragma once

#include "common/envelope.h"
#include "common/status.h"

#include <zmq.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dmq::cli {

using steady_clock = std::chrono::steady_clock;
using time_point = steady_clock::time_point;

// An agent as the user named it and as ZeroMQ connects to it.
struct agent_address {
    std::string name;      // "127.0.0.1:7420"
    std::string endpoint;  // "tcp://127.0.0.1:7420"
    bool ipv6 = false;     // the host was written in brackets
};

class agent_connection {
public:
    // How a wait ended.
    enum class end {
        reply,            // a reply to one of the awaited ids arrived
        refused,          // the connection was refused
        lost,             // the connection dropped after it was made
        connect_timeout,  // no connection by the connect deadline
        reply_timeout,    // connected, but no reply by the reply deadline
        interrupted,      // a signal arrived (interruptible waits only)
        malformed,        // the agent sent something that is not a reply
    };

    struct outcome {
        end how = end::reply;
        proto::reply reply;  // when how == end::reply
        std::string detail;  // when how == end::malformed
    };

    // Creates the sockets and starts connecting; internal status when
    // ZeroMQ refuses the endpoint.
    static result<std::unique_ptr<agent_connection>> open(
        zmq::context_t& context, const agent_address& address);

    ~agent_connection();
    agent_connection(const agent_connection&) = delete;
    agent_connection& operator=(const agent_connection&) = delete;

    // Queues the frames of one request (envelope, then bodies).
    status send(const std::vector<std::string>& frames);

    // Waits for a reply whose id is in `ids`; replies to other ids (late
    // answers to abandoned requests) are dropped. The connect deadline
    // applies until the connection is up.
    outcome wait(const std::vector<std::string>& ids,
                 time_point connect_deadline, time_point reply_deadline,
                 bool interruptible);

    // Waits for the next reply, whatever its id: for a connection that
    // carries several conversations at once (a subscription's pushes and
    // its credit requests), whose owner matches replies itself.
    outcome wait_any(time_point reply_deadline, bool interruptible);

    // False once the connection was refused or lost; reads pending
    // monitor events first.
    bool usable();

    // True once the TCP connection has come up: from then on, a request
    // sent on it may have reached the agent even if no reply comes.
    bool was_connected() const { return connected_; }

    const agent_address& address() const { return address_; }

private:
    agent_connection(zmq::context_t& context, agent_address address);

    // wait() for the ids in `ids`, or for any id when it is null.
    outcome wait_for(const std::vector<std::string>* ids,
                     time_point connect_deadline, time_point reply_deadline,
                     bool interruptible);
    void read_monitor_events();
    // Reads one reply if one is waiting; false when none is.
    bool read_reply(const std::vector<std::string>* ids, outcome& out);

    agent_address address_;
    zmq::socket_t dealer_;
    zmq::socket_t monitor_;
    bool connected_ = false;
    bool refused_ = false;
    bool lost_ = false;
};

}  // namespace dmq::cli
