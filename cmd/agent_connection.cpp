// One DEALER connection to an agent; see agent_connection.h.

#include "cmd/agent_connection.h"

#include "cmd/signals.h"

#include <atomic>
#include <cerrno>
#include <cstring>

namespace dmq::cli {

namespace {

constexpr int kMonitoredEvents =
    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;

// Each monitor needs its own inproc endpoint within the context.
std::string next_monitor_endpoint() {
    static std::atomic<int> counter{0};
    return "inproc://dmq-monitor-" + std::to_string(counter++);
}

int poll_timeout_ms(time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - steady_clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

agent_connection::agent_connection(zmq::context_t& context,
                                   agent_address address)
    : address_(std::move(address)),
      dealer_(context, zmq::socket_type::dealer),
      monitor_(context, zmq::socket_type::pair) {}

agent_connection::~agent_connection() {
    // ZeroMQ's I/O thread sends monitor events with blocking sends: once
    // the monitor's reader is closed, the next event (a reconnect attempt
    // while the agent is down, say) would block that thread, and with it
    // every connection of this process, for ever. So the monitor stops
    // before its reader goes.
    zmq_socket_monitor(dealer_.handle(), nullptr, 0);
}

result<std::unique_ptr<agent_connection>> agent_connection::open(
    zmq::context_t& context, const agent_address& address) {
    try {
        std::unique_ptr<agent_connection> c(
            new agent_connection(context, address));
        c->dealer_.set(zmq::sockopt::linger, 0);
        c->monitor_.set(zmq::sockopt::linger, 0);
        // No limit on unread events, for the same reason as in the
        // destructor: a full monitor pipe blocks the I/O thread. Events
        // pile up only while a kept connection is not in use (one event
        // per reconnect attempt, a few a second), and are read and
        // dropped when it is used again.
        c->monitor_.set(zmq::sockopt::rcvhwm, 0);
        if (address.ipv6) {
            c->dealer_.set(zmq::sockopt::ipv6, true);
        }

        // The monitor must be attached before connecting, or the first
        // events (a refusal, say) would be lost.
        std::string monitor = next_monitor_endpoint();
        if (zmq_socket_monitor(c->dealer_.handle(), monitor.c_str(),
                               kMonitoredEvents) != 0) {
            throw zmq::error_t();
        }
        c->monitor_.connect(monitor);
        c->dealer_.connect(address.endpoint);
        return c;
    } catch (const zmq::error_t& e) {
        return status(errc::internal,
                      std::string("cannot connect: ") + e.what());
    }
}

status agent_connection::send(const std::vector<std::string>& frames) {
    try {
        for (std::size_t i = 0; i < frames.size(); ++i) {
            auto flags = zmq::send_flags::dontwait;
            if (i + 1 < frames.size()) {
                flags = flags | zmq::send_flags::sndmore;
            }
            zmq::message_t frame(frames[i].data(), frames[i].size());
            if (!dealer_.send(frame, flags)) {
                return status(errc::unavailable, "the outgoing queue is full");
            }
        }
        return status::ok();
    } catch (const zmq::error_t& e) {
        return status(errc::unavailable, std::string("send: ") + e.what());
    }
}

agent_connection::outcome agent_connection::wait(
    const std::vector<std::string>& ids, time_point connect_deadline,
    time_point reply_deadline, bool interruptible) {
    return wait_for(&ids, connect_deadline, reply_deadline, interruptible);
}

agent_connection::outcome agent_connection::wait_any(time_point reply_deadline,
                                                     bool interruptible) {
    return wait_for(nullptr, reply_deadline, reply_deadline, interruptible);
}

agent_connection::outcome agent_connection::wait_for(
    const std::vector<std::string>* ids, time_point connect_deadline,
    time_point reply_deadline, bool interruptible) {
    outcome out;
    for (;;) {
        try {
            read_monitor_events();
            if (read_reply(ids, out)) {
                return out;
            }
        } catch (const zmq::error_t& e) {
            out.how = end::malformed;
            out.detail = std::string("receive: ") + e.what();
            return out;
        }
        if (refused_ || lost_) {
            out.how = refused_ ? end::refused : end::lost;
            return out;
        }

        auto now = steady_clock::now();
        if (!connected_ && now >= connect_deadline) {
            // A connection that came up just now counts as made: the
            // request may be on its way.
            read_monitor_events();
        }
        if (!connected_ && now >= connect_deadline) {
            out.how = end::connect_timeout;
            return out;
        }
        if (now >= reply_deadline) {
            out.how = end::reply_timeout;
            return out;
        }
        if (interruptible && signals::caught() != 0) {
            out.how = end::interrupted;
            return out;
        }

        // The wake fd stays readable once a signal came, so it is watched
        // only by waits that a signal may end.
        time_point until = connected_
                               ? reply_deadline
                               : std::min(connect_deadline, reply_deadline);
        zmq_pollitem_t items[3] = {
            {dealer_.handle(), 0, ZMQ_POLLIN, 0},
            {monitor_.handle(), 0, ZMQ_POLLIN, 0},
            {nullptr, signals::wake_fd(), ZMQ_POLLIN, 0},
        };
        int count = interruptible && signals::wake_fd() >= 0 ? 3 : 2;
        if (zmq_poll(items, count, poll_timeout_ms(until)) < 0 &&
            zmq_errno() != EINTR) {
            out.how = end::malformed;
            out.detail = std::string("poll: ") + zmq_strerror(zmq_errno());
            return out;
        }
    }
}

bool agent_connection::usable() {
    read_monitor_events();
    return !refused_ && !lost_;
}

void agent_connection::read_monitor_events() {
    // Each event is two frames: 2 bytes of event number and 4 of value,
    // then the endpoint.
    for (;;) {
        zmq::message_t event;
        if (!monitor_.recv(event, zmq::recv_flags::dontwait)) {
            return;
        }
        bool more = event.more();
        while (more) {
            zmq::message_t rest;
            (void)monitor_.recv(rest);
            more = rest.more();
        }
        if (event.size() < 2) {
            continue;
        }

        std::uint16_t number = 0;
        std::memcpy(&number, event.data(), sizeof number);
        if (number == ZMQ_EVENT_CONNECTED) {
            connected_ = true;
        } else if (number == ZMQ_EVENT_CONNECT_RETRIED && !connected_) {
            refused_ = true;
        } else if (number != ZMQ_EVENT_CONNECT_RETRIED) {
            lost_ = true;  // disconnected, or the handshake failed
        }
    }
}

bool agent_connection::read_reply(const std::vector<std::string>* ids,
                                  outcome& out) {
    for (;;) {
        std::vector<std::string> frames;
        zmq::message_t frame;
        if (!dealer_.recv(frame, zmq::recv_flags::dontwait)) {
            return false;
        }
        frames.push_back(frame.to_string());
        while (frame.more()) {
            (void)dealer_.recv(frame);
            frames.push_back(frame.to_string());
        }

        auto reply = proto::decode_reply(std::move(frames));
        if (!reply) {
            out.how = end::malformed;
            out.detail = reply.error().message();
            return true;
        }
        bool awaited = ids == nullptr;
        for (std::size_t i = 0; !awaited && i < ids->size(); ++i) {
            awaited = reply->id == (*ids)[i];
        }
        if (awaited) {
            out.how = end::reply;
            out.reply = std::move(*reply);
            return true;
        }
        // A late reply to a request this client gave up on: drop it.
    }
}

}  // namespace dmq::cli
