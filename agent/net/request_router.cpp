// Argument checking and reply building for every operation of
// docs/protocol.md.

#include "agent/net/request_router.h"

#include "common/duration.h"
#include "common/message_fields.h"
#include "common/names.h"
#include "common/utf8.h"
#include "version.h"

#include <set>
#include <tuple>

namespace dmq::net {

namespace {

constexpr std::int64_t kMaxWaitMs = 20'000;
constexpr std::size_t kMaxBatchMessages = proto::kMaxBatchMessages;
constexpr std::size_t kMaxSendBytes = 64 << 20;

using proto::fields;
using proto::value;
using proto::value_list;
using proto::value_map;

routed ok(const proto::request& req, value_map fields = {},
          std::vector<std::string> bodies = {}) {
    routed r;
    r.reply.id = req.id;
    r.reply.fields = std::move(fields);
    r.reply.bodies = std::move(bodies);
    return r;
}

result<std::string> queue_arg(const proto::request& req) {
    auto name = fields(req.args).string("queue");
    if (!name) {
        return name.error();
    }
    if (auto s = validate_queue_name(*name); !s) {
        return s;
    }
    return name;
}

// What people call each numeric argument, for error messages: a user of
// the CLI never sees the wire's field names.
std::string_view label_of(std::string_view key) {
    if (key == "visibility_ms") {
        return "visibility timeout";
    }
    if (key == "retention_ms") {
        return "retention";
    }
    if (key == "delay_ms") {
        return "delay";
    }
    if (key == "wait_ms") {
        return "wait";
    }
    return key == "max_size" ? "maximum size" : key;
}

// An optional argument from 0 to `max` (milliseconds, or bytes for
// max_size). Wider checks per setting are the engine's.
result<std::optional<std::int64_t>> bounded_arg(const proto::request& req,
                                                std::string_view key,
                                                std::int64_t max) {
    fields f(req.args);
    if (!f.has(key)) {
        return std::optional<std::int64_t>();
    }
    auto v = f.integer(key);
    if (!v) {
        return v.error();
    }
    if (*v < 0 || *v > max) {
        std::string most = key == "max_size"
                               ? format_size(static_cast<std::uint64_t>(max))
                               : format_duration(millis(max));
        return status(errc::bad_request, std::string(label_of(key)) +
                                             " must be between 0 and " + most);
    }
    return std::optional<std::int64_t>(*v);
}

result<queue::config_change> config_args(const proto::request& req) {
    queue::config_change c;
    struct field {
        const char* key;
        std::optional<std::int64_t>* target;
    };
    for (auto [key, target] :
         {field{"visibility_ms", &c.visibility_ms},
          field{"retention_ms", &c.retention_ms},
          field{"max_size", &c.max_size}, field{"delay_ms", &c.delay_ms}}) {
        auto v = bounded_arg(req, key, kMaxDurationMs);
        if (!v) {
            return v.error();
        }
        *target = *v;
    }
    fields f(req.args);
    for (auto [key, target] :
         {std::pair{"max_receives", &c.max_receives},
          std::pair{"dedup_window_ms", &c.dedup_window_ms}}) {
        if (f.has(key)) {
            auto v = f.integer(key);
            if (!v) {
                return v.error();
            }
            *target = *v;
        }
    }
    for (auto [key, target] : {std::pair{"fifo", &c.fifo},
                               std::pair{"content_dedup", &c.content_dedup}}) {
        if (f.has(key)) {
            auto v = f.boolean_or(key, false);
            if (!v) {
                return v.error();
            }
            *target = *v;
        }
    }
    if (f.has("dlq")) {
        auto dlq = f.string("dlq");
        if (!dlq) {
            return dlq.error();
        }
        if (!dlq->empty()) {
            if (auto s = validate_queue_name(*dlq); !s) {
                return s.with_context("dlq");
            }
        }
        c.dlq = *dlq;
    }
    return c;
}

value attributes_value(const std::string& stored) {
    if (stored.empty()) {
        return value(value_map{});
    }
    auto decoded = proto::decode(stored);
    return decoded ? *decoded : value(value_map{});
}

result<std::string> attributes_arg(const value_map& message) {
    auto attrs = fields(message).map_or_empty("attributes");
    if (!attrs) {
        return attrs.error();
    }
    if ((*attrs)->empty()) {
        return std::string();
    }
    if ((*attrs)->size() > kMaxAttributes) {
        return status(errc::bad_request,
                      "a message may have at most 16 attributes, not " +
                          std::to_string((*attrs)->size()));
    }
    for (const auto& [k, v] : **attrs) {
        if (auto s = validate_attribute_key(k); !s) {
            return s;
        }
        if (!v.as_string()) {
            return status(errc::bad_request,
                          "attribute '" + k + "' must have a string value");
        }
        if (auto s = validate_attribute_value(k, *v.as_string()); !s) {
            return s;
        }
    }
    return proto::encode(value(**attrs));
}

// One entry of a send's `messages`, without its body.
result<queue::outgoing_message> outgoing_arg(const value_map& m) {
    fields f(m);
    queue::outgoing_message out;
    for (const auto& [key, v] : m) {
        static const std::set<std::string, std::less<>> known{
            "delay_ms", "attributes", "group", "dedup_id", "priority"};
        if (known.count(key) == 0) {
            return status(errc::bad_request,
                          "unknown field '" + printable(key) +
                              "' (known: delay_ms, attributes, group, "
                              "dedup_id, priority)");
        }
    }
    auto attrs = attributes_arg(m);
    if (!attrs) {
        return attrs.error();
    }
    out.attributes = std::move(*attrs);
    if (f.has("delay_ms")) {
        auto delay = f.integer("delay_ms");
        if (!delay) {
            return delay.error();
        }
        out.delay_ms = *delay;
    }
    if (f.has("priority")) {
        auto priority = f.integer("priority");
        if (!priority) {
            return priority.error();
        }
        if (auto s = validate_priority(*priority); !s) {
            return s;
        }
        out.priority = static_cast<int>(*priority);
    }
    for (auto [key, target, valid] :
         {std::tuple{"group", &out.group, &validate_group},
          std::tuple{"dedup_id", &out.dedup_id, &validate_dedup_id}}) {
        if (!f.has(key)) {
            continue;
        }
        auto text = f.string(key);
        if (!text) {
            return text.error();
        }
        if (auto s = valid(*text); !s) {
            return s;  // present means valid: an empty one is no "none"
        }
        *target = std::move(*text);
    }
    return out;
}

value_map message_fields(queue::delivered_message& m) {
    value_map entry{{"id", m.id},
                    {"receive_count", std::int64_t{m.receive_count}},
                    {"sent_at", m.sent_at},
                    {"attributes", attributes_value(m.attributes)}};
    if (m.group.empty()) {
        entry["priority"] = std::int64_t{m.priority};  // FIFO: none
    }
    if (!m.receipt.empty()) {
        entry["receipt"] = m.receipt;
    }
    if (!m.group.empty()) {
        entry["group"] = m.group;
    }
    if (!m.dedup_id.empty()) {
        entry["dedup_id"] = m.dedup_id;
    }
    if (!m.source_queue.empty()) {
        entry["source_queue"] = m.source_queue;
    }
    if (m.redrive_count > 0) {
        entry["redrive_count"] = std::int64_t{m.redrive_count};
    }
    return entry;
}

value_map info_fields(const queue::queue_info& i, const std::string& owner,
                      std::int64_t now) {
    const auto& r = i.row;
    value_map m{
        {"name", r.name},
        {"visibility_ms", r.config.visibility_ms},
        {"retention_ms", r.config.retention_ms},
        {"max_size", r.config.max_size},
        {"delay_ms", r.config.delay_ms},
        {"fifo", r.config.fifo},
        {"dlq", value()},
        {"max_receives", value()},
        {"dedup_window_ms", r.config.dedup_window_ms},
        {"content_dedup", r.config.content_dedup},
        {"created_at", r.created_at},
        {"owner", owner},
        {"visible", i.counts.visible},
        {"in_flight", i.counts.in_flight},
        {"delayed", i.counts.delayed},
        {"held", i.counts.held},
        {"bytes", i.counts.bytes},
        {"oldest_age_ms", value()},
    };
    if (!r.config.dlq.empty()) {
        m["dlq"] = r.config.dlq;
        m["max_receives"] = r.config.max_receives;
    }
    if (i.counts.oldest_sent_at) {
        m["oldest_age_ms"] = now - *i.counts.oldest_sent_at;
    }
    return m;
}

}  // namespace

const std::map<std::string, request_router::handler, std::less<>>&
request_router::handlers() {
    static const std::map<std::string, handler, std::less<>> table{
        {"ping", &request_router::ping},
        {"queue_create", &request_router::queue_create},
        {"queue_update", &request_router::queue_update},
        {"queue_delete", &request_router::queue_delete},
        {"queue_purge", &request_router::queue_purge},
        {"queue_list", &request_router::queue_list},
        {"queue_info", &request_router::queue_info},
        {"send", &request_router::send},
        {"receive", &request_router::receive},
        {"ack", &request_router::ack},
        {"release", &request_router::release},
        {"extend", &request_router::extend},
        {"peek", &request_router::peek},
        {"show", &request_router::show},
        {"redrive", &request_router::redrive},
        {"subscribe", &request_router::subscribe},
        {"stats", &request_router::stats},
    };
    return table;
}

routed request_router::route(const proto::request& req, std::int64_t now) {
    if (req.version != proto::kProtocolVersion) {
        return failure(
            req, status(errc::unsupported_version,
                        "protocol version " + std::to_string(req.version) +
                            " is not supported; this agent "
                            "speaks version 1"));
    }
    auto it = handlers().find(req.op);
    if (it == handlers().end()) {
        return failure(req, status(errc::unknown_op,
                                   "unknown operation '" + req.op + "'"));
    }
    return (this->*(it->second))(req, now);
}

routed request_router::failure(const proto::request& req, const status& error,
                               const std::string& queue) {
    routed r;
    r.reply.id = req.id;
    r.reply.error = error;
    if (error.code() == errc::not_found && !queue.empty()) {
        std::string close = engine_.suggest(queue);
        if (!close.empty() && close != queue) {
            r.reply.fields["suggestion"] = close;
        }
    }
    return r;
}

routed request_router::ping(const proto::request& req, std::int64_t now) {
    return ok(req, {{"agent_id", engine_.agent_id()},
                    {"version", kVersion},
                    {"uptime_ms", now - facts_.started_at},
                    {"free_disk_bytes", facts_.free_bytes()},
                    {"queue_count", engine_.queue_count()},
                    {"data_dir", facts_.data_dir}});
}

routed request_router::queue_create(const proto::request& req,
                                    std::int64_t now) {
    auto name = queue_arg(req);
    auto change = config_args(req);
    if (!name || !change) {
        return failure(req, !name ? name.error() : change.error());
    }
    auto info = engine_.create_queue(*name, *change, now);
    if (!info) {
        return failure(req, info.error());
    }
    return ok(req, {{"info", info_fields(*info, engine_.agent_id(), now)}});
}

routed request_router::queue_update(const proto::request& req,
                                    std::int64_t now) {
    auto name = queue_arg(req);
    auto change = config_args(req);
    if (!name || !change) {
        return failure(req, !name ? name.error() : change.error());
    }
    if (!change->visibility_ms && !change->retention_ms && !change->max_size &&
        !change->delay_ms && !change->fifo && !change->dlq &&
        !change->max_receives && !change->dedup_window_ms &&
        !change->content_dedup) {
        return failure(req, status(errc::bad_request,
                                   "nothing to update: give at least one "
                                   "setting"));
    }
    auto info = engine_.update_queue(*name, *change, now);
    if (!info) {
        return failure(req, info.error(), *name);
    }
    return ok(req, {{"info", info_fields(*info, engine_.agent_id(), now)}});
}

routed request_router::queue_delete(const proto::request& req,
                                    std::int64_t now) {
    auto name = queue_arg(req);
    auto force = fields(req.args).boolean_or("force", false);
    if (!name || !force) {
        return failure(req, !name ? name.error() : force.error());
    }
    if (auto s = engine_.delete_queue(*name, *force, now); !s) {
        return failure(req, s, *name);
    }
    return ok(req);
}

routed request_router::queue_purge(const proto::request& req, std::int64_t) {
    auto name = queue_arg(req);
    if (!name) {
        return failure(req, name.error());
    }
    auto purged = engine_.purge_queue(*name);
    if (!purged) {
        return failure(req, purged.error(), *name);
    }
    return ok(req, {{"purged", *purged}});
}

routed request_router::queue_list(const proto::request& req, std::int64_t now) {
    auto infos = engine_.list(now);
    if (!infos) {
        return failure(req, infos.error());
    }
    value_list queues;
    for (const auto& i : *infos) {
        queues.push_back(value_map{{"name", i.row.name},
                                   {"visible", i.counts.visible},
                                   {"in_flight", i.counts.in_flight},
                                   {"delayed", i.counts.delayed},
                                   {"held", i.counts.held}});
    }
    return ok(req, {{"queues", std::move(queues)}});
}

routed request_router::queue_info(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    if (!name) {
        return failure(req, name.error());
    }
    auto info = engine_.info(*name, now);
    if (!info) {
        return failure(req, info.error(), *name);
    }
    return ok(req, {{"info", info_fields(*info, engine_.agent_id(), now)}});
}

routed request_router::send(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    if (!name) {
        return failure(req, name.error());
    }
    auto messages = fields(req.args).list("messages");
    if (!messages) {
        return failure(req, messages.error());
    }
    if ((*messages)->size() != req.bodies.size()) {
        return failure(
            req,
            status(errc::bad_request,
                   "'messages' lists " + std::to_string((*messages)->size()) +
                       " messages but the request carries " +
                       std::to_string(req.bodies.size()) + " bodies"));
    }

    std::size_t total = 0;
    for (const auto& body : req.bodies) {
        total += body.size();
    }
    if (req.bodies.size() > kMaxBatchMessages || total > kMaxSendBytes) {
        return failure(req, status(errc::bad_request,
                                   "a send may carry at most 10000 messages "
                                   "and 64MiB of bodies; split it into "
                                   "several requests"));
    }

    std::vector<queue::outgoing_message> batch;
    batch.reserve(req.bodies.size());
    for (std::size_t i = 0; i < req.bodies.size(); ++i) {
        const value_map* m = (**messages)[i].as_map();
        if (!m) {
            return failure(req, status(errc::bad_request,
                                       "each entry of 'messages' must be a "
                                       "map"));
        }
        auto out = outgoing_arg(*m);
        if (!out) {
            return failure(req, out.error().with_context(
                                    "message " + std::to_string(i + 1)));
        }
        out->body = req.bodies[i];
        batch.push_back(std::move(*out));
    }

    auto sent = engine_.send(*name, req.id, std::move(batch), now);
    if (!sent) {
        return failure(req, sent.error(), *name);
    }
    value_list ids;
    value_list duplicates;
    for (auto& m : *sent) {
        ids.push_back(std::move(m.id));
        duplicates.push_back(m.duplicate);
    }
    return ok(req,
              {{"ids", std::move(ids)}, {"duplicates", std::move(duplicates)}});
}

proto::reply request_router::delivered_reply(
    const std::string& id, std::vector<queue::delivered_message> messages) {
    proto::reply r;
    r.id = id;
    value_list list;
    for (auto& m : messages) {
        list.push_back(message_fields(m));
        r.bodies.push_back(std::move(m.body));
    }
    r.fields["messages"] = std::move(list);
    return r;
}

routed request_router::receive(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    if (!name) {
        return failure(req, name.error());
    }
    fields f(req.args);
    auto max = f.integer_or("max", 1);
    auto wait = bounded_arg(req, "wait_ms", kMaxWaitMs);
    auto visibility = bounded_arg(req, "visibility_ms", 12 * 3600 * 1000);
    if (!max || !wait || !visibility) {
        return failure(req, !max    ? max.error()
                            : !wait ? wait.error()
                                    : visibility.error());
    }
    if (*max < 1 || *max > proto::kMaxBatchMessages) {
        return failure(req, status(errc::bad_request,
                                   "field 'max' must be between 1 and 10000"));
    }

    parked_receive p{*name, *max, *visibility, now + wait->value_or(0)};
    auto messages = engine_.receive(p.queue, p.max, p.visibility_ms, now);
    if (!messages) {
        return failure(req, messages.error(), *name);
    }
    routed r;
    if (messages->empty() && wait->value_or(0) > 0) {
        r.park = p;
        return r;
    }
    r.reply = delivered_reply(req.id, std::move(*messages));
    return r;
}

std::optional<proto::reply> request_router::retry_receive(
    const std::string& request_id, const parked_receive& p, std::int64_t now) {
    auto messages = engine_.receive(p.queue, p.max, p.visibility_ms, now);
    if (!messages) {
        proto::reply r;
        r.id = request_id;
        r.error = messages.error();
        return r;
    }
    if (messages->empty() && now < p.deadline) {
        return std::nullopt;
    }
    return delivered_reply(request_id, std::move(*messages));
}

// The receipts of an ack, release or extend: a list, or for release and
// extend also one `receipt`, whose failure is then the reply's own.
result<std::vector<std::string>> receipts_arg(const proto::request& req,
                                              bool single_allowed,
                                              bool& single) {
    fields f(req.args);
    if (f.has("receipts") && f.has("receipt")) {
        return status(errc::bad_request,
                      "give either 'receipt' or 'receipts', not both");
    }
    single = single_allowed && f.has("receipt");
    if (single) {
        auto one = f.string("receipt");
        if (!one) {
            return one.error();
        }
        return std::vector<std::string>{*one};
    }
    auto list = f.list("receipts");
    if (!list) {
        return list.error();
    }
    if ((*list)->size() > proto::kMaxBatchMessages) {
        return status(errc::bad_request, "at most 10000 receipts per request");
    }
    std::vector<std::string> out;
    for (const auto& v : **list) {
        if (!v.as_string()) {
            return status(errc::bad_request,
                          "every entry of 'receipts' must be a string");
        }
        out.push_back(*v.as_string());
    }
    return out;
}

routed request_router::each_receipt(
    const proto::request& req, const std::string& queue,
    const std::vector<std::string>& receipts, bool single,
    const std::function<result<value_map>(const std::string&)>& act) {
    value_list results;
    for (const auto& receipt : receipts) {
        auto done = act(receipt);
        if (!done && (single || done.error().code() == errc::not_found)) {
            return failure(req, done.error(), queue);
        }
        if (single) {
            return ok(req, std::move(*done));
        }
        value_map entry{{"receipt", receipt}, {"ok", done.is_ok()}};
        if (!done) {
            entry["code"] = std::string(wire_code(done.error().code()));
            entry["message"] = done.error().message();
        } else {
            for (auto& [k, v] : *done) {
                entry[k] = std::move(v);
            }
        }
        results.push_back(std::move(entry));
    }
    return ok(req, {{"results", std::move(results)}});
}

routed request_router::ack(const proto::request& req, std::int64_t) {
    auto name = queue_arg(req);
    if (!name) {
        return failure(req, name.error());
    }
    bool single = false;
    auto receipts = receipts_arg(req, false, single);
    if (!receipts) {
        return failure(req, receipts.error());
    }
    return each_receipt(req, *name, *receipts, single,
                        [&](const std::string& r) -> result<value_map> {
                            auto s = engine_.ack(*name, r);
                            return s ? result<value_map>(value_map{}) : s;
                        });
}

routed request_router::release(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    auto delay = bounded_arg(req, "delay_ms", 12 * 3600 * 1000);
    if (!name || !delay) {
        return failure(req, !name ? name.error() : delay.error());
    }
    bool single = false;
    auto receipts = receipts_arg(req, true, single);
    if (!receipts) {
        return failure(req, receipts.error());
    }
    return each_receipt(req, *name, *receipts, single,
                        [&](const std::string& r) -> result<value_map> {
                            auto moved = engine_.release(
                                *name, r, delay->value_or(0), now);
                            if (!moved) {
                                return moved.error();
                            }
                            value_map done;
                            if (*moved) {
                                done["dead_lettered"] = true;
                            }
                            return done;
                        });
}

routed request_router::extend(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    auto visibility = bounded_arg(req, "visibility_ms", 12 * 3600 * 1000);
    if (!name || !visibility) {
        return failure(req, !name ? name.error() : visibility.error());
    }
    if (!*visibility) {
        return failure(
            req, status(errc::bad_request, "missing field 'visibility_ms'"));
    }
    bool single = false;
    auto receipts = receipts_arg(req, true, single);
    if (!receipts) {
        return failure(req, receipts.error());
    }
    return each_receipt(req, *name, *receipts, single,
                        [&](const std::string& r) -> result<value_map> {
                            auto at =
                                engine_.extend(*name, r, **visibility, now);
                            if (!at) {
                                return at.error();
                            }
                            return value_map{{"visible_at", *at}};
                        });
}

routed request_router::peek(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    auto max = fields(req.args).integer_or("max", 1);
    if (!name || !max) {
        return failure(req, !name ? name.error() : max.error());
    }
    if (*max < 1 || *max > proto::kMaxBatchMessages) {
        return failure(req, status(errc::bad_request,
                                   "field 'max' must be between 1 and 10000"));
    }
    auto messages = engine_.peek(*name, *max, now);
    if (!messages) {
        return failure(req, messages.error(), *name);
    }
    routed r;
    r.reply = delivered_reply(req.id, std::move(*messages));
    return r;
}

routed request_router::show(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    auto id = fields(req.args).string("message_id");
    if (!name || !id) {
        return failure(req, !name ? name.error() : id.error());
    }
    auto found = engine_.show(*name, *id, now);
    if (!found) {
        return failure(req, found.error(), *name);
    }
    value_map m = message_fields(found->message);
    m["state"] = std::string(queue::state_name(found->state));
    m["redrive_count"] = std::int64_t{found->message.redrive_count};
    m["visible_at"] = found->visible_at;
    m["expires_at"] = found->expires_at;
    m["size"] = found->size;
    return ok(req, {{"message", std::move(m)}});
}

routed request_router::redrive(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    fields f(req.args);
    auto to = f.string_or("to", "");
    auto after = f.integer_or("after", 0);
    auto max = f.integer_or("max", 1000);
    if (!name || !to || !after || !max) {
        return failure(req, !name    ? name.error()
                            : !to    ? to.error()
                            : !after ? after.error()
                                     : max.error());
    }
    if (!to->empty()) {
        if (auto s = validate_queue_name(*to); !s) {
            return failure(req, s.with_context("to"));
        }
    }
    if (*max < 1 || *max > proto::kMaxBatchMessages || *after < 0) {
        return failure(req, status(errc::bad_request,
                                   "field 'max' must be between 1 and "
                                   "10000, and 'after' a cursor from an "
                                   "earlier redrive reply"));
    }
    auto done = engine_.redrive(*name, *to, static_cast<std::uint64_t>(*after),
                                *max, now);
    if (!done) {
        return failure(req, done.error(), *name);
    }
    return ok(req, {{"moved", done->moved},
                    {"skipped", done->skipped},
                    {"cursor", done->cursor},
                    {"done", done->done}});
}

routed request_router::subscribe(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    auto credit = fields(req.args).integer("credit");
    auto visibility = bounded_arg(req, "visibility_ms", 12 * 3600 * 1000);
    if (!name || !credit || !visibility) {
        return failure(req, !name     ? name.error()
                            : !credit ? credit.error()
                                      : visibility.error());
    }
    if (*credit < 1 || *credit > proto::kMaxBatchMessages) {
        return failure(req, status(errc::bad_request,
                                   "field 'credit' must be between 1 and "
                                   "10000"));
    }
    if (auto info = engine_.info(*name, now); !info) {
        return failure(req, info.error(), *name);
    }
    routed r = ok(req, {{"subscribed", true}});
    r.subscribe = push_request{*name, *credit, *visibility};
    return r;
}

routed request_router::stats(const proto::request& req, std::int64_t now) {
    std::vector<queue::queue_info> infos;
    if (fields(req.args).has("queue")) {
        auto name = queue_arg(req);
        if (!name) {
            return failure(req, name.error());
        }
        auto info = engine_.info(*name, now);
        if (!info) {
            return failure(req, info.error(), *name);
        }
        infos.push_back(std::move(*info));
    } else {
        auto all = engine_.list(now);
        if (!all) {
            return failure(req, all.error());
        }
        infos = std::move(*all);
    }

    value_list queues;
    for (const auto& i : infos) {
        const auto& c = i.row.counters;
        value_map m{
            {"name", i.row.name},          {"sent", c.sent},
            {"received", c.received},      {"acked", c.acked},
            {"released", c.released},      {"expired", c.expired},
            {"purged", c.purged},          {"dead_lettered", c.dead_lettered},
            {"redriven", c.redriven},      {"duplicates", c.duplicates},
            {"visible", i.counts.visible}, {"in_flight", i.counts.in_flight},
            {"delayed", i.counts.delayed}, {"held", i.counts.held},
            {"bytes", i.counts.bytes},     {"oldest_age_ms", value()}};
        if (i.counts.oldest_sent_at) {
            m["oldest_age_ms"] = now - *i.counts.oldest_sent_at;
        }
        queues.push_back(std::move(m));
    }
    return ok(req, {{"queues", std::move(queues)}});
}

}  // namespace dmq::net
