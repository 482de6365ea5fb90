// A push subscription and its upkeep; see subscription.h.

#include "cmd/subscription.h"

#include "cmd/reply_reader.h"
#include "cmd/signals.h"

#include <algorithm>

namespace dmq::cli {

namespace {

// How long close() waits for the unsubscribe's answer (and for messages
// pushed before it), so that dmq still exits within a second of a signal.
constexpr millis kCloseWait{500};

// True for a reply that carries pushed messages.
bool has_messages(const proto::reply& reply) {
    return reply.fields.find("messages") != reply.fields.end();
}

}  // namespace

subscription::subscription(agent_client& client, subscription_settings settings,
                           follow_outage& outage)
    : client_(client), settings_(std::move(settings)), outage_(outage) {}

status subscription::open() {
    drop_connection();
    for (;;) {
        proto::value_map args{{"queue", settings_.queue},
                              {"credit", settings_.credit}};
        if (settings_.visibility) {
            args["visibility_ms"] =
                static_cast<std::int64_t>(settings_.visibility->count());
        }
        // Always a fresh id: a repeated one would get the first answer
        // back from the agent's memory, not a subscription on this
        // connection.
        call_options options;
        options.timeout = outage_.retry().timeout;
        auto held =
            client_.call_and_hold("subscribe", std::move(args), options);
        if (held) {
            outage_.reached();
            id_ = client_.last_request_id();
            connection_ = std::move(held->connection);
            next_keep_alive_ = steady_clock::now() + settings_.keep_alive;
            if (has_messages(held->reply)) {
                auto got = read_messages(held->reply);
                if (!got) {
                    return got.error();
                }
                early_ = std::move(*got);
            }
            return status::ok();
        }
        if (!outage_.wait_out(held.error(), "")) {
            return held.error();
        }
    }
}

result<std::vector<message_record>> subscription::next() {
    if (!early_.empty()) {
        return std::exchange(early_, {});
    }
    for (;;) {
        if (signals::caught() != 0) {
            return std::vector<message_record>{};
        }
        if (!connection_) {
            status opened = open();
            if (!opened && signals::caught() != 0) {
                return std::vector<message_record>{};
            }
            if (!opened) {
                return opened;
            }
            if (!early_.empty()) {
                return std::exchange(early_, {});
            }
        }

        auto out = connection_->wait_any(next_deadline(), true);
        using end = agent_connection::end;
        action todo = action::none;
        std::vector<message_record> got;
        status stop_error;
        switch (out.how) {
            case end::reply:
                todo = on_reply(std::move(out.reply), got, stop_error);
                break;
            case end::reply_timeout:
            case end::connect_timeout:
                todo = on_wait_timeout();
                break;
            case end::interrupted:
                return std::vector<message_record>{};
            case end::refused:
            case end::lost:
                todo = action::resubscribe;
                break;
            case end::malformed:
                return status(errc::internal,
                              "agent '" + connection_->address().name +
                                  "' sent a malformed reply: " + out.detail);
        }
        if (todo == action::deliver) {
            return got;
        }
        if (todo == action::stop) {
            return stop_error;
        }
        if (todo == action::resubscribe) {
            drop_connection();
        }
    }
}

subscription::action subscription::on_reply(proto::reply reply,
                                            std::vector<message_record>& got,
                                            status& stop_error) {
    bool ours = reply.id == id_;
    auto credit = pending_credit_.find(reply.id);
    if (!ours && credit == pending_credit_.end()) {
        return action::none;  // a late answer from an earlier subscription
    }
    if (!ours) {
        pending_credit_.erase(credit);
    }

    errc code = reply.error.code();
    if (code == errc::shutting_down || (!ours && code == errc::not_found)) {
        // The agent is going, or no longer holds the subscription (it
        // restarted, or the subscription lapsed): subscribe again.
        return action::resubscribe;
    }
    if (!reply.error.is_ok()) {
        stop_error = reply.error;
        return action::stop;
    }
    if (!ours || !has_messages(reply)) {
        return action::none;
    }
    auto messages = read_messages(reply);
    if (!messages) {
        stop_error = messages.error();
        return action::stop;
    }
    got = std::move(*messages);
    return got.empty() ? action::none : action::deliver;
}

subscription::action subscription::on_wait_timeout() {
    auto now = steady_clock::now();
    for (const auto& [id, deadline] : pending_credit_) {
        if (now >= deadline) {
            // The agent has stopped answering on this connection.
            return action::resubscribe;
        }
    }
    if (now >= next_keep_alive_) {
        send_credit(0);
    }
    return action::none;
}

void subscription::grant(std::int64_t count) {
    if (count > 0 && connection_) {
        send_credit(count);
    }
}

void subscription::send_credit(std::int64_t add) {
    std::string id = new_request_id();
    auto frames = proto::encode_request(
        id, "credit", proto::value_map{{"subscription", id_}, {"add", add}});
    if (!connection_->send(frames)) {
        // next() finds the connection gone and subscribes again.
        drop_connection();
        return;
    }
    auto now = steady_clock::now();
    pending_credit_[id] = now + client_.timeout();
    next_keep_alive_ = now + settings_.keep_alive;
}

time_point subscription::next_deadline() const {
    time_point deadline = next_keep_alive_;
    for (const auto& [id, due] : pending_credit_) {
        deadline = std::min(deadline, due);
    }
    return deadline;
}

void subscription::drop_connection() {
    connection_.reset();
    pending_credit_.clear();
}

std::vector<message_record> subscription::close() {
    std::vector<message_record> pushed = std::exchange(early_, {});
    if (!connection_) {
        return pushed;
    }
    std::string id = new_request_id();
    auto frames = proto::encode_request(
        id, "unsubscribe", proto::value_map{{"subscription", id_}});
    if (!connection_->send(frames)) {
        drop_connection();
        return pushed;
    }

    // Pushes sent before the agent took the unsubscribe come first on
    // the connection; after its answer, nothing more comes.
    auto deadline = steady_clock::now() + kCloseWait;
    for (;;) {
        auto out = connection_->wait_any(deadline, false);
        if (out.how != agent_connection::end::reply || out.reply.id == id) {
            break;
        }
        if (out.reply.id == id_ && out.reply.error.is_ok() &&
            has_messages(out.reply)) {
            auto got = read_messages(out.reply);
            if (got) {
                pushed.insert(pushed.end(), got->begin(), got->end());
            }
        }
    }
    drop_connection();
    return pushed;
}

}  // namespace dmq::cli
