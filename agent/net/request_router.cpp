// Argument checking and reply building for every operation of
// docs/protocol.md.

#include "agent/net/request_router.h"

#include "common/duration.h"
#include "common/names.h"
#include "common/utf8.h"
#include "version.h"

namespace dmq::net {

namespace {

constexpr std::int64_t kMaxWaitMs = 20'000;
constexpr std::size_t kMaxAttributes = 64;
constexpr std::size_t kMaxAttributeBytes = 16 << 10;
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
                      "a message may have at most 64 "
                      "attributes");
    }
    std::size_t bytes = 0;
    for (const auto& [k, v] : **attrs) {
        if (!v.as_string() || k.empty()) {
            return status(errc::bad_request,
                          "attribute '" + k +
                              "' must have a non-empty name and a string "
                              "value");
        }
        if (!is_valid_utf8(k) || !is_valid_utf8(*v.as_string())) {
            return status(errc::bad_request,
                          "attribute names and values must be valid UTF-8");
        }
        bytes += k.size() + v.as_string()->size();
    }
    if (bytes > kMaxAttributeBytes) {
        return status(errc::bad_request,
                      "attributes of a message may total at most 16KiB");
    }
    return proto::encode(value(**attrs));
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
        {"created_at", r.created_at},
        {"owner", owner},
        {"visible", i.counts.visible},
        {"in_flight", i.counts.in_flight},
        {"delayed", i.counts.delayed},
        {"bytes", i.counts.bytes},
        {"oldest_age_ms", value()},
    };
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
        if (!close.empty()) {
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
        !change->delay_ms) {
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
                                   {"delayed", i.counts.delayed}});
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
        auto attrs = attributes_arg(*m);
        auto delay = fields(*m).has("delay_ms") ? fields(*m).integer("delay_ms")
                                                : result<std::int64_t>(-1);
        if (!attrs || !delay) {
            return failure(req, !attrs ? attrs.error() : delay.error());
        }
        queue::outgoing_message out;
        out.body = req.bodies[i];
        out.attributes = std::move(*attrs);
        if (fields(*m).has("delay_ms")) {
            out.delay_ms = *delay;
        }
        batch.push_back(std::move(out));
    }

    auto ids = engine_.send(*name, req.id, std::move(batch), now);
    if (!ids) {
        return failure(req, ids.error(), *name);
    }
    value_list list(ids->begin(), ids->end());
    return ok(req, {{"ids", std::move(list)}});
}

proto::reply request_router::delivered_reply(
    const std::string& id, std::vector<queue::delivered_message> messages) {
    proto::reply r;
    r.id = id;
    value_list list;
    for (auto& m : messages) {
        value_map entry{{"id", m.id},
                        {"receive_count", std::int64_t{m.receive_count}},
                        {"sent_at", m.sent_at},
                        {"attributes", attributes_value(m.attributes)}};
        if (!m.receipt.empty()) {
            entry["receipt"] = m.receipt;
        }
        list.push_back(std::move(entry));
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

routed request_router::ack(const proto::request& req, std::int64_t) {
    auto name = queue_arg(req);
    if (!name) {
        return failure(req, name.error());
    }
    auto receipts = fields(req.args).list("receipts");
    if (!receipts) {
        return failure(req, receipts.error());
    }
    value_list results;
    for (const auto& v : **receipts) {
        std::string receipt = v.as_string() ? *v.as_string() : "";
        status s = engine_.ack(*name, receipt);
        if (s.code() == errc::not_found) {
            return failure(req, s, *name);
        }
        value_map entry{{"receipt", receipt}, {"ok", s.is_ok()}};
        if (!s) {
            entry["code"] = std::string(wire_code(s.code()));
            entry["message"] = s.message();
        }
        results.push_back(std::move(entry));
    }
    return ok(req, {{"results", std::move(results)}});
}

routed request_router::release(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    auto receipt = fields(req.args).string("receipt");
    auto delay = bounded_arg(req, "delay_ms", 15 * 60'000);
    if (!name || !receipt || !delay) {
        return failure(req, !name      ? name.error()
                            : !receipt ? receipt.error()
                                       : delay.error());
    }
    if (auto s = engine_.release(*name, *receipt, delay->value_or(0), now);
        !s) {
        return failure(req, s, *name);
    }
    return ok(req);
}

routed request_router::extend(const proto::request& req, std::int64_t now) {
    auto name = queue_arg(req);
    auto receipt = fields(req.args).string("receipt");
    auto visibility = bounded_arg(req, "visibility_ms", 12 * 3600 * 1000);
    if (!name || !receipt || !visibility) {
        return failure(req, !name      ? name.error()
                            : !receipt ? receipt.error()
                                       : visibility.error());
    }
    if (!*visibility) {
        return failure(
            req, status(errc::bad_request, "missing field 'visibility_ms'"));
    }
    auto at = engine_.extend(*name, *receipt, **visibility, now);
    if (!at) {
        return failure(req, at.error(), *name);
    }
    return ok(req, {{"visible_at", *at}});
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
        value_map m{{"name", i.row.name},
                    {"sent", c.sent},
                    {"received", c.received},
                    {"acked", c.acked},
                    {"released", c.released},
                    {"expired", c.expired},
                    {"purged", c.purged},
                    {"visible", i.counts.visible},
                    {"in_flight", i.counts.in_flight},
                    {"delayed", i.counts.delayed},
                    {"bytes", i.counts.bytes},
                    {"oldest_age_ms", value()}};
        if (i.counts.oldest_sent_at) {
            m["oldest_age_ms"] = now - *i.counts.oldest_sent_at;
        }
        queues.push_back(std::move(m));
    }
    return ok(req, {{"queues", std::move(queues)}});
}

}  // namespace dmq::net
