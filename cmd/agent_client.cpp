// Request, retry and failover across the agent list; see agent_client.h.

#include "cmd/agent_client.h"

#include "cmd/signals.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <sys/random.h>

namespace dmq::cli {

namespace {

// How long an interrupted receive waits for the agent to confirm the
// cancel (and to hand over any messages already on their way), so that
// dmq still exits within a second of the signal.
constexpr millis kCancelWait{500};

std::string_view trim(std::string_view text) {
    while (!text.empty() && text.front() == ' ') {
        text.remove_prefix(1);
    }
    while (!text.empty() && text.back() == ' ') {
        text.remove_suffix(1);
    }
    return text;
}

result<agent_address> parse_agent(std::string_view text) {
    auto invalid = [&](std::string_view why) {
        return status(errc::bad_request,
                      "invalid agent address '" + std::string(text) +
                          "': " + std::string(why) +
                          "; use HOST:PORT, such as 127.0.0.1:7420");
    };

    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return invalid("no port");
    }
    std::string_view host = text.substr(0, colon);
    std::string_view port = text.substr(colon + 1);
    bool ipv6 = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (host.empty() || (!ipv6 && host.find(':') != std::string_view::npos)) {
        return invalid("bad host");
    }

    unsigned number = 0;
    auto [end, ec] =
        std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc() || end != port.data() + port.size() || number == 0 ||
        number > 65535) {
        return invalid("bad port");
    }
    return agent_address{std::string(text), "tcp://" + std::string(text), ipv6};
}

// Why an agent gave no usable answer: "connection refused".
std::string describe(const agent_connection::outcome& out, millis waited) {
    using end = agent_connection::end;
    switch (out.how) {
        case end::refused:
            return "connection refused";
        case end::lost:
            return "connection lost before the reply";
        case end::connect_timeout:
            return "no connection within " + format_duration(waited);
        case end::reply_timeout:
            return "no reply within " + format_duration(waited);
        case end::interrupted:
            return "interrupted";
        case end::malformed:
            return "malformed reply: " + out.detail;
        case end::reply:
            break;
    }
    return "agent is shutting down";
}

// One agent that could not be used, and why.
struct failure {
    std::string agent;
    std::string reason;
    // The request reached the agent's connection, so it may have been
    // applied although no reply came.
    bool maybe_applied = false;
};

// What a request may have done when it reached an agent that did not
// answer; empty for requests that change nothing.
std::string unknown_outcome_note(std::string_view op) {
    if (op == "ping" || op == "queue_list" || op == "queue_info" ||
        op == "peek" || op == "show" || op == "stats") {
        return "";
    }
    if (op == "send") {
        return "the send may or may not have been stored (retrying with the "
               "same command may store it twice)";
    }
    if (op == "receive") {
        return "messages may have been received all the same; they are "
               "visible again after their visibility timeout";
    }
    std::string name(op);
    std::replace(name.begin(), name.end(), '_', ' ');
    return "the " + name + " may or may not have been applied";
}

status unreachable(const std::vector<failure>& failures, std::string_view op) {
    std::string message;
    bool maybe_applied = false;
    for (const auto& f : failures) {
        maybe_applied = maybe_applied || f.maybe_applied;
    }
    if (failures.size() == 1 && failures[0].maybe_applied) {
        // The agent was reached: "no reply from agent 'a:1' within 5s".
        const failure& f = failures[0];
        std::string_view no_reply = "no reply";
        message = f.reason.rfind(no_reply, 0) == 0
                      ? "no reply from agent '" + f.agent + "'" +
                            f.reason.substr(no_reply.size())
                      : "lost the connection to agent '" + f.agent +
                            "' before its reply";
    } else if (failures.size() == 1) {
        message = "agent '" + failures[0].agent +
                  "' unreachable: " + failures[0].reason;
    } else {
        message = "no agent reachable: ";
        for (std::size_t i = 0; i < failures.size(); ++i) {
            message += i > 0 ? "; '" : "'";
            message += failures[i].agent + "': " + failures[i].reason;
        }
    }
    std::string note = maybe_applied ? unknown_outcome_note(op) : "";
    if (!note.empty()) {
        message += "; " + note;
    }
    return status(errc::unavailable, std::move(message));
}

// The reply as a result: an error reply becomes its status, and a
// NOT_FOUND one says which queue the user probably meant.
result<proto::reply> to_result(proto::reply reply) {
    if (reply.error.is_ok()) {
        return reply;
    }
    std::string message = reply.error.message();
    auto suggestion = proto::fields(reply.fields).string_or("suggestion", "");
    if (reply.error.code() == errc::not_found && suggestion &&
        !suggestion->empty()) {
        message += ", did you mean '" + *suggestion + "'?";
    }
    return status(reply.error.code(), std::move(message));
}

}  // namespace

result<std::vector<agent_address>> parse_agent_list(std::string_view list) {
    std::vector<agent_address> agents;
    while (true) {
        std::size_t comma = list.find(',');
        std::string_view entry = trim(list.substr(0, comma));
        if (entry.empty()) {
            return status(errc::bad_request,
                          "empty entry in the agent list; use "
                          "HOST:PORT[,HOST:PORT...]");
        }
        auto agent = parse_agent(entry);
        if (!agent) {
            return agent.error();
        }
        agents.push_back(std::move(*agent));
        if (comma == std::string_view::npos) {
            return agents;
        }
        list.remove_prefix(comma + 1);
    }
}

std::string new_request_id() {
    unsigned char bytes[16];
    if (getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
        std::random_device device;
        for (auto& b : bytes) {
            b = static_cast<unsigned char>(device());
        }
    }

    constexpr std::string_view kHex = "0123456789abcdef";
    std::string id;
    for (unsigned char b : bytes) {
        id += kHex[b >> 4];
        id += kHex[b & 0xf];
    }
    return id;
}

agent_client::agent_client(std::vector<agent_address> agents, millis timeout)
    : agents_(std::move(agents)), timeout_(timeout) {}

agent_client::~agent_client() {
    // Sockets must close before the context they belong to.
    idle_.reset();
}

result<proto::reply> agent_client::call(std::string_view op,
                                        proto::value_map args,
                                        std::vector<std::string> bodies,
                                        const call_options& options) {
    std::string id =
        options.request_id.empty() ? new_request_id() : options.request_id;
    auto frames = proto::encode_request(id, std::string(op), std::move(args),
                                        std::move(bodies));
    return exchange(frames, id, op, failover_order(), options, nullptr);
}

result<held_reply> agent_client::call_and_hold(std::string_view op,
                                               proto::value_map args,
                                               const call_options& options) {
    std::string id =
        options.request_id.empty() ? new_request_id() : options.request_id;
    auto frames = proto::encode_request(id, std::string(op), std::move(args));
    std::unique_ptr<agent_connection> connection;
    auto reply =
        exchange(frames, id, op, failover_order(), options, &connection);
    if (!reply) {
        return reply.error();
    }
    return held_reply{std::move(*reply), std::move(connection)};
}

std::vector<std::size_t> agent_client::failover_order() const {
    std::vector<std::size_t> order;
    for (std::size_t k = 0; k < agents_.size(); ++k) {
        order.push_back((preferred_ + k) % agents_.size());
    }
    return order;
}

result<proto::reply> agent_client::call_agent(std::size_t index,
                                              std::string_view op,
                                              proto::value_map args,
                                              const call_options& options) {
    std::string id =
        options.request_id.empty() ? new_request_id() : options.request_id;
    auto frames = proto::encode_request(id, std::string(op), std::move(args));
    return exchange(frames, id, op, {index}, options, nullptr);
}

result<proto::reply> agent_client::exchange(
    const std::vector<std::string>& frames, const std::string& id,
    std::string_view op, const std::vector<std::size_t>& order,
    const call_options& options, std::unique_ptr<agent_connection>* hold) {
    using end = agent_connection::end;
    millis timeout = options.timeout.count() > 0
                         ? std::min(options.timeout, timeout_)
                         : timeout_;
    auto deadline = steady_clock::now() + timeout + options.extra_wait;
    last_id_ = id;
    outcome_unknown_ = false;

    std::vector<failure> failures;
    for (std::size_t k = 0; k < order.size(); ++k) {
        std::size_t index = order[k];
        const std::string& name = agents_[index].name;

        // Each agent left gets an equal share of the time left, so that
        // one that accepts the connection but never answers still leaves
        // time for the next.
        auto now = steady_clock::now();
        auto share = (deadline - options.extra_wait - now) /
                     static_cast<int>(order.size() - k);
        auto connection = connection_to(index);
        if (!connection) {
            failures.push_back({name, connection.error().message()});
            continue;
        }
        agent_connection& c = **connection;
        if (status sent = c.send(frames); !sent) {
            failures.push_back({name, sent.message()});
            continue;
        }

        auto out = c.wait({id}, now + share, now + share + options.extra_wait,
                          options.interruptible);
        if (out.how == end::reply &&
            out.reply.error.code() != errc::shutting_down) {
            if (hold) {
                *hold = std::move(*connection);
            } else {
                idle_ = std::move(*connection);
                idle_index_ = index;
            }
            preferred_ = index;
            outcome_unknown_ = false;
            return to_result(std::move(out.reply));
        }
        // Past this point the request may have reached the agent (only a
        // reply that says otherwise, such as SHUTTING_DOWN, rules it out).
        bool maybe_applied =
            (out.how == end::reply_timeout || out.how == end::lost ||
             out.how == end::interrupted) &&
            c.was_connected();
        outcome_unknown_ = outcome_unknown_ || maybe_applied;
        if (out.how == end::interrupted) {
            if (options.cancel_on_interrupt) {
                return cancel_receive(c, id);
            }
            return status(errc::unavailable, "interrupted");
        }
        if (out.how == end::malformed) {
            return status(
                errc::internal,
                "agent '" + name + "' sent a malformed reply: " + out.detail);
        }

        auto waited = std::chrono::round<millis>(share);
        if (out.how != end::connect_timeout) {
            waited += options.extra_wait;
        }
        failures.push_back({name, describe(out, waited), maybe_applied});
        if (steady_clock::now() >= deadline) {
            break;
        }
    }
    return unreachable(failures, op);
}

result<std::unique_ptr<agent_connection>> agent_client::connection_to(
    std::size_t index) {
    if (idle_ && idle_index_ == index && idle_->usable()) {
        return std::move(idle_);
    }
    idle_.reset();
    return agent_connection::open(context_, agents_[index]);
}

result<proto::reply> agent_client::cancel_receive(
    agent_connection& connection, const std::string& receive_id) {
    // The cancel goes on the same connection as the receive: the agent
    // knows the waiter by the connection it came from.
    std::string cancel_id = new_request_id();
    auto frames = proto::encode_request(
        cancel_id, "cancel", proto::value_map{{"request", receive_id}});
    if (!connection.send(frames)) {
        return status(errc::unavailable, "interrupted");
    }

    // Wait for both answers: the receive's (empty, or messages already on
    // their way that must be released) and the cancel's.
    auto deadline = steady_clock::now() + kCancelWait;
    std::optional<proto::reply> delivered;
    bool cancelled = false;
    while (!cancelled || !delivered) {
        auto out =
            connection.wait({receive_id, cancel_id}, deadline, deadline, false);
        if (out.how != agent_connection::end::reply) {
            break;
        }
        if (out.reply.id == cancel_id) {
            cancelled = true;
        } else {
            delivered = std::move(out.reply);
        }
    }
    if (delivered && delivered->error.is_ok()) {
        return std::move(*delivered);
    }
    return status(errc::unavailable, "interrupted");
}

}  // namespace dmq::cli
