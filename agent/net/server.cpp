// The ROUTER event loop: batching, long polls, reply cache and the commit
// that makes a batch durable before any of its replies leave.

#include "agent/net/server.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <limits>

namespace dmq::net {

namespace {

constexpr int kMaxBatchRequests = 1024;
constexpr std::int64_t kMaxPollMs = 500;
constexpr std::int64_t kSweepEveryMs = 1'000;
constexpr std::int64_t kReplyMemoryMs = 10 * 60'000;
constexpr std::size_t kReplyMemoryBytes = 16 << 20;
constexpr std::int64_t kMalformedLogEveryMs = 10'000;
constexpr std::size_t kMaxRequestIdBytes = 64;
constexpr int kHeartbeatMs = 10'000;
constexpr std::int64_t kMaxPushMessages = 1'000;

// Larger frames are never valid (a body is at most 16 MiB, an envelope at
// most 4 MiB); ZeroMQ drops such a peer before buffering the frame.
constexpr std::int64_t kMaxFrameBytes = 18 << 20;

std::string peer_name(const std::string& identity) {
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : identity) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    return out;
}

}  // namespace

// Known limitation: every deadline (visibility, delay, retention, long
// polls) is a wall-clock time, because the persisted ones must survive a
// restart. A clock step therefore moves them: forward releases in-flight
// messages early, backward holds them longer. Keep the clock slewed (NTP),
// not stepped.
std::int64_t wall_clock_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
        .count();
}

server::server(queue::queue_engine& engine, request_router& router,
               spdlog::logger& log)
    : engine_(engine),
      router_(router),
      log_(log),
      context_(1),
      socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::maxmsgsize, kMaxFrameBytes);
    // A send to a connection that is gone fails instead of vanishing, so
    // a push to a departed consumer is noticed and its messages released.
    socket_.set(zmq::sockopt::router_mandatory, 1);
    // Heartbeats let libzmq notice a peer whose host vanished without
    // closing the connection.
    socket_.set(zmq::sockopt::heartbeat_ivl, kHeartbeatMs);
    socket_.set(zmq::sockopt::heartbeat_timeout, 3 * kHeartbeatMs);
}

result<std::string> server::bind(const std::string& endpoint) {
    try {
        socket_.bind(endpoint);
    } catch (const zmq::error_t& e) {
        std::string hint = e.num() == EADDRINUSE
                               ? "; is another agent running? choose "
                                 "another address with --listen"
                               : "";
        return status(errc::io_error,
                      "listen on " + endpoint + ": " + e.what() + hint);
    }
    return socket_.get(zmq::sockopt::last_endpoint);
}

void server::warn_malformed(const std::string& identity, const status& why,
                            std::int64_t now) {
    // A broken or hostile client could send thousands a second.
    if (now - malformed_logged_at_ < kMalformedLogEveryMs) {
        ++malformed_suppressed_;
        return;
    }
    log_.warn("[peer={}]: malformed request: {}; replied {}{}",
              peer_name(identity), why.message(), wire_code(why.code()),
              malformed_suppressed_ > 0
                  ? " (" + std::to_string(malformed_suppressed_) +
                        " more since the last report)"
                  : "");
    malformed_logged_at_ = now;
    malformed_suppressed_ = 0;
}

// A reply not to be remembered for retries. `epoch` 0 marks a replay of
// an earlier reply, which a failed commit cannot take back.
void server::send_later(const std::string& identity,
                        std::vector<std::string> frames, std::uint64_t epoch) {
    outgoing o;
    o.identity = identity;
    o.frames = std::move(frames);
    o.epoch = epoch;
    outbox_.push_back(std::move(o));
}

void server::reply_later(const std::string& identity, const proto::reply& r,
                         const std::string& fingerprint) {
    if (!r.id.empty()) {
        outbox_by_id_[r.id] = outbox_.size();
    }
    outgoing o;
    o.identity = identity;
    o.id = r.id;
    o.fingerprint = fingerprint;
    o.frames = proto::encode_reply(r);
    o.epoch = engine_.commits();
    outbox_.push_back(std::move(o));
}

void server::take_request(std::vector<std::string> frames, std::int64_t now) {
    std::string identity = std::move(frames.front());
    frames.erase(frames.begin());

    std::string envelope = frames.empty() ? std::string() : frames.front();
    auto req = proto::decode_request(std::move(frames));
    if (req && (req->id.empty() || req->id.size() > kMaxRequestIdBytes)) {
        req = status(errc::bad_request,
                     "request id must be 1 to 64 bytes; give every request "
                     "a new random id");
    }
    if (!req) {
        warn_malformed(identity, req.error(), now);
        proto::reply r;
        r.id = proto::peek_request_id(envelope);
        r.error = req.error();
        send_later(identity, proto::encode_reply(r));
        return;
    }
    auto queue = proto::fields(req->args).string_or("queue", "");
    std::string fingerprint = req->op + "\n" + (queue ? *queue : "");

    if (answer_retry(identity, *req, fingerprint)) {
        return;
    }

    if (take_push_request(identity, *req, now)) {
        return;
    }

    if (req->op == "cancel") {
        auto target = proto::fields(req->args).string("request");
        proto::reply r;
        r.id = req->id;
        if (target) {
            r.fields["cancelled"] = cancel_waiter(*target);
        } else {
            r.error = target.error();
        }
        reply_later(identity, r);
        return;
    }

    if (queue) {
        dirty_queues_.insert(*queue);
    }
    routed out = router_.route(*req, now);
    if (out.subscribe) {
        subscription sub{req->id,
                         identity,
                         out.subscribe->queue,
                         out.subscribe->credit,
                         out.subscribe->visibility_ms,
                         now,
                         now};
        if (auto s = subscriptions_.add(std::move(sub)); !s) {
            out.reply.fields.clear();
            out.reply.error = s;
        } else {
            log_.debug("[queue={} sub={}]: subscribed with credit {}",
                       out.subscribe->queue, req->id, out.subscribe->credit);
        }
    }
    if (out.park) {
        auto next = engine_.next_visible_at(out.park->queue, now);
        std::int64_t wake =
            std::min(next.value_or(out.park->deadline), out.park->deadline);
        waiters_.push_back({req->id, identity, fingerprint, *out.park, wake});
        log_.debug("[queue={} req={}]: receive waits until {}", out.park->queue,
                   req->id, out.park->deadline);
        return;
    }
    errc code = out.reply.error.code();
    if (code == errc::unknown_op || code == errc::unsupported_version) {
        warn_malformed(identity, out.reply.error, now);
    }
    reply_later(identity, out.reply, fingerprint);
}

// A request id seen before gets the first answer again and changes
// nothing, unless it comes with another operation or queue: then it is a
// client reusing ids, and answering with another request's reply would
// silently drop this one. Known limitation: only sends are remembered
// across a restart, so a retried ack after one reports its receipt as
// invalid although the message is gone as asked.
bool server::answer_retry(const std::string& identity,
                          const proto::request& req,
                          const std::string& fingerprint) {
    auto reused = [&](const std::string& first) {
        if (first == fingerprint) {
            return false;
        }
        proto::reply r;
        r.id = req.id;
        r.error = status(errc::bad_request,
                         "request id '" + req.id +
                             "' was already used for a different request; "
                             "give every request a new random id");
        send_later(identity, proto::encode_reply(r));
        return true;
    };

    if (auto it = replies_.find(req.id); it != replies_.end()) {
        if (req.op == "subscribe" && it->second.fingerprint == fingerprint) {
            // Subscribing again (after a reconnect, or after the agent
            // dropped the subscription) must make one, not replay "ok".
            return false;
        }
        if (!reused(it->second.fingerprint)) {
            send_later(identity, it->second.frames);
        }
        return true;
    }
    for (auto& w : waiters_) {
        if (w.id == req.id) {
            if (!reused(w.fingerprint)) {
                w.identity = identity;
            }
            return true;
        }
    }
    // A repeat inside one batch: looked up by id, since a batch may hold a
    // thousand requests.
    if (auto it = outbox_by_id_.find(req.id); it != outbox_by_id_.end()) {
        outgoing first = outbox_[it->second];
        if (!reused(first.fingerprint)) {
            send_later(identity, std::move(first.frames));
        }
        return true;
    }
    return false;
}

// `credit` and `unsubscribe` act on the subscription table, which only
// the server holds. Returns whether the request was one of them.
bool server::take_push_request(const std::string& identity,
                               const proto::request& req, std::int64_t now) {
    if (req.op != "credit" && req.op != "unsubscribe") {
        return false;
    }
    proto::fields f(req.args);
    proto::reply r;
    r.id = req.id;
    auto id = f.string("subscription");
    auto add = req.op == "credit" ? f.integer("add")
                                  : result<std::int64_t>(std::int64_t{0});
    if (!id || !add) {
        r.error = !id ? id.error() : add.error();
    } else if (req.op == "unsubscribe") {
        r.fields["unsubscribed"] = subscriptions_.remove(*id);
    } else if (*add < 0 || *add > kMaxCredit) {
        r.error = status(errc::bad_request,
                         "field 'add' must be between 0 and 10000");
    } else if (auto* sub = subscriptions_.find(*id); sub == nullptr) {
        r.error = status(errc::not_found,
                         "no subscription '" + *id +
                             "' here (the agent restarted or it lapsed); "
                             "subscribe again");
    } else {
        sub->credit = std::min(sub->credit + *add, kMaxCredit);
        sub->renewed_at = now;
        if (*add > 0) {
            sub->wake_at = now;
        }
        r.fields["credit"] = sub->credit;
    }
    reply_later(identity, r, req.op + "\n");
    return true;
}

// Hands visible messages to subscriptions with credit, as pushes that go
// out with the batch's other replies, after its commit.
void server::serve_subscriptions(std::int64_t now, bool shutting_down) {
    if (shutting_down) {
        for (subscription* sub : subscriptions_.all()) {
            proto::reply r;
            r.id = sub->id;
            r.error = status(errc::shutting_down,
                             "agent is shutting down; subscribe again when "
                             "it is back, or at another agent");
            send_later(sub->identity, proto::encode_reply(r),
                       engine_.commits());
        }
        return;
    }
    for (subscription* sub : subscriptions_.due(now, dirty_queues_)) {
        auto messages =
            engine_.receive(sub->queue, std::min(sub->credit, kMaxPushMessages),
                            sub->visibility_ms, now);
        if (!messages) {
            proto::reply r;
            r.id = sub->id;
            r.error = messages.error();
            send_later(sub->identity, proto::encode_reply(r),
                       engine_.commits());
            if (messages.error().code() == errc::not_found) {
                subscriptions_.remove(sub->id);
            }
            continue;
        }
        if (messages->empty()) {
            auto next = engine_.next_visible_at(sub->queue, now);
            sub->wake_at =
                next.value_or(std::numeric_limits<std::int64_t>::max());
            continue;
        }
        std::vector<std::string> receipts;
        for (const auto& m : *messages) {
            receipts.push_back(m.receipt);
        }
        sub->credit -= static_cast<std::int64_t>(messages->size());
        sub->wake_at = now;  // more may be visible than one push took
        proto::reply r = router_.delivered_reply(sub->id, std::move(*messages));
        r.fields["push"] = true;
        outgoing o;
        o.identity = sub->identity;
        o.frames = proto::encode_reply(r);
        o.epoch = engine_.commits();
        o.push_for = sub->id;
        o.queue = sub->queue;
        o.receipts = std::move(receipts);
        outbox_.push_back(std::move(o));
    }
}

// A push that could not be delivered: its consumer is gone (or not
// reading), so its messages go back to the queue now rather than when
// their visibility timeout passes.
void server::push_failed(const outgoing& o, const char* why) {
    log_.info(
        "[queue={} sub={}]: push of {} messages not delivered ({}); "
        "releasing them",
        o.queue, o.push_for, o.receipts.size(), why);
    undelivered_.emplace_back(o.queue, o.receipts);
}

void server::release_undelivered(std::int64_t now) {
    for (const auto& [queue, receipts] : std::exchange(undelivered_, {})) {
        dirty_queues_.insert(queue);
        for (const auto& receipt : receipts) {
            // A receipt acked or expired meanwhile has nothing to release.
            (void)engine_.release(queue, receipt, 0, now);
        }
    }
}

bool server::cancel_waiter(const std::string& request_id) {
    auto it = std::find_if(waiters_.begin(), waiters_.end(),
                           [&](const waiter& w) { return w.id == request_id; });
    if (it == waiters_.end()) {
        return false;
    }
    proto::reply empty;
    empty.id = it->id;
    empty.fields["messages"] = proto::value_list{};
    reply_later(it->identity, empty, it->fingerprint);
    waiters_.erase(it);
    return true;
}

void server::serve_waiters(std::int64_t now, bool shutting_down) {
    std::vector<waiter> still;
    for (auto& w : waiters_) {
        bool due = shutting_down || w.wake_at <= now ||
                   w.receive.deadline <= now ||
                   dirty_queues_.count(w.receive.queue) != 0;
        if (!due) {
            still.push_back(std::move(w));
            continue;
        }
        if (shutting_down) {
            // Not "nothing to receive": the client should try another
            // agent, or report this one as gone.
            proto::reply r;
            r.id = w.id;
            r.error = status(errc::shutting_down,
                             "agent is shutting down; retry the receive");
            reply_later(w.identity, r, w.fingerprint);
            continue;
        }
        auto reply = router_.retry_receive(w.id, w.receive, now);
        if (reply) {
            reply_later(w.identity, *reply, w.fingerprint);
            continue;
        }
        auto next = engine_.next_visible_at(w.receive.queue, now);
        w.wake_at =
            std::min(next.value_or(w.receive.deadline), w.receive.deadline);
        still.push_back(std::move(w));
    }
    waiters_ = std::move(still);
}

std::int64_t server::next_wakeup(std::int64_t now) {
    std::int64_t at = std::max(now, last_sweep_ + kSweepEveryMs);
    for (const auto& w : waiters_) {
        at = std::min(at, w.wake_at);
    }
    return subscriptions_.next_wakeup(at);
}

void server::remember(const outgoing& o, std::int64_t now) {
    const std::string& id = o.id;
    const auto& frames = o.frames;
    std::size_t bytes = 0;
    for (const auto& f : frames) {
        bytes += f.size();
    }
    if (bytes > kReplyMemoryBytes / 4 || replies_.count(id) != 0) {
        return;
    }
    replies_[id] = {now, o.fingerprint, frames};
    reply_order_.push_back(id);
    reply_bytes_ += bytes;

    while (!reply_order_.empty()) {
        auto it = replies_.find(reply_order_.front());
        if (it != replies_.end() && now - it->second.at < kReplyMemoryMs &&
            reply_bytes_ <= kReplyMemoryBytes) {
            break;
        }
        if (it != replies_.end()) {
            for (const auto& f : it->second.frames) {
                reply_bytes_ -= f.size();
            }
            replies_.erase(it);
        }
        reply_order_.pop_front();
    }
}

bool server::send_frames(const std::string& identity,
                         const std::vector<std::string>& frames) {
    try {
        // Never block the loop on one slow connection: a full pipe drops
        // the reply, as a lost reply would be, and the client retries.
        auto sent =
            socket_.send(zmq::buffer(identity),
                         zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        if (!sent) {
            return false;
        }
        for (std::size_t i = 0; i < frames.size(); ++i) {
            auto more = i + 1 < frames.size() ? zmq::send_flags::sndmore
                                              : zmq::send_flags::none;
            socket_.send(zmq::buffer(frames[i]), more);
        }
    } catch (const zmq::error_t& e) {
        if (e.num() != EHOSTUNREACH) {
            log_.warn("[peer={}]: reply not sent: {}", peer_name(identity),
                      e.what());
        }
        return false;
    }
    return true;
}

status server::finish_batch(std::int64_t now) {
    status committed = engine_.end_turn();
    bool durable = committed || engine_.last_batch_durable();
    if (!durable) {
        // Nothing the batch did may be reported as done: the disk did not
        // take it. Replies made before an earlier commit inside this turn
        // (a queue create commits at once) stand.
        for (auto& o : outbox_) {
            if ((o.epoch != engine_.commits() && !engine_.broken()) ||
                !o.push_for.empty()) {
                continue;
            }
            proto::reply r;
            r.id = o.id;
            r.error = status(errc::io_error, committed.message());
            o.frames = proto::encode_reply(r);
            o.id.clear();  // not to be remembered: a retry may succeed
        }
    }
    for (const auto& o : outbox_) {
        bool pushed_undone = !o.push_for.empty() && !durable &&
                             (o.epoch == engine_.commits() || engine_.broken());
        if (pushed_undone) {
            // Its deliveries were undone with the batch: give the credit
            // back instead of reporting an error nobody asked for.
            if (auto* sub = subscriptions_.find(o.push_for); sub != nullptr) {
                sub->credit += static_cast<std::int64_t>(o.receipts.size());
            }
            continue;
        }
        if (committed && !o.id.empty()) {
            remember(o, now);
        }
        if (!send_frames(o.identity, o.frames) && !o.push_for.empty()) {
            subscriptions_.remove_connection(o.identity);
            push_failed(o, "its connection is gone or not reading");
        }
    }
    outbox_.clear();
    outbox_by_id_.clear();

    // A failed write was undone and the agent serves on; a failed sync or
    // commit was not, and it must stop.
    return engine_.broken() ? committed : status::ok();
}

status server::run(const std::atomic<bool>& stop) {
    while (!stop.load()) {
        std::int64_t now = wall_clock_ms();
        std::int64_t wait =
            std::clamp<std::int64_t>(next_wakeup(now) - now, 0, kMaxPollMs);
        zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
        try {
            zmq::poll(items, 1, std::chrono::milliseconds(wait));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) {
                return status(errc::internal, std::string("poll: ") + e.what());
            }
            continue;
        }

        now = wall_clock_ms();
        for (int i = 0; i < kMaxBatchRequests && !stop.load(); ++i) {
            std::vector<zmq::message_t> parts;
            std::optional<std::size_t> got;
            try {
                got = zmq::recv_multipart(socket_, std::back_inserter(parts),
                                          zmq::recv_flags::dontwait);
            } catch (const zmq::error_t& e) {
                if (e.num() == EINTR) {
                    break;
                }
                return status(errc::internal,
                              std::string("receive: ") + e.what());
            }
            if (!got || parts.empty()) {
                break;
            }
            std::vector<std::string> frames;
            frames.reserve(parts.size());
            for (auto& p : parts) {
                frames.push_back(p.to_string());
            }
            take_request(std::move(frames), now);
        }

        release_undelivered(now);
        serve_waiters(now, false);
        serve_subscriptions(now, false);
        dirty_queues_.clear();
        if (now - last_sweep_ >= kSweepEveryMs) {
            last_sweep_ = now;
            if (auto s = engine_.sweep(now); !s) {
                log_.error("housekeeping failed: {}; retrying in 1s",
                           s.message());
            }
            // The sweep moves messages (dead letters) without a request
            // naming their queue; let every subscription look once.
            for (subscription* sub : subscriptions_.all()) {
                sub->wake_at = std::min(sub->wake_at, now + kSweepEveryMs);
            }
            for (const auto& id : subscriptions_.lapse(now)) {
                log_.info(
                    "[sub={}]: subscription lapsed: no credit and no "
                    "request from its consumer for 10 minutes",
                    id);
            }
        }
        if (auto s = finish_batch(now); !s) {
            return s;
        }
    }

    // Stopping: answer long polls now rather than leave clients waiting
    // for an agent that is gone.
    std::int64_t now = wall_clock_ms();
    serve_waiters(now, true);
    serve_subscriptions(now, true);
    return finish_batch(now);
}

}  // namespace dmq::net
