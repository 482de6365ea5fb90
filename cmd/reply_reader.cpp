// Checked reads of reply fields; see reply_reader.h.

#include "cmd/reply_reader.h"

namespace dmq::cli {

namespace {

const proto::value_list kEmptyList;
const proto::value_map kEmptyMap;

status malformed(std::string_view problem) {
    return status(errc::internal,
                  "malformed reply from the agent: " + std::string(problem));
}

}  // namespace

const proto::value* reply_reader::find(std::string_view key) const {
    auto it = map_.find(key);
    return it == map_.end() || it->second.is_nil() ? nullptr : &it->second;
}

void reply_reader::note(std::string_view key, std::string_view want) {
    if (error_.is_ok()) {
        error_ = malformed("field '" + std::string(key) + "' is not " +
                           std::string(want));
    }
}

std::int64_t reply_reader::integer(std::string_view key) {
    const proto::value* v = find(key);
    if (!v || !v->as_int()) {
        note(key, "an integer");
        return 0;
    }
    return *v->as_int();
}

std::optional<std::int64_t> reply_reader::optional_integer(
    std::string_view key) {
    const proto::value* v = find(key);
    if (!v) {
        return std::nullopt;
    }
    if (!v->as_int()) {
        note(key, "an integer");
        return std::nullopt;
    }
    return *v->as_int();
}

std::string reply_reader::string(std::string_view key) {
    const proto::value* v = find(key);
    if (!v || !v->as_string()) {
        note(key, "a string");
        return {};
    }
    return *v->as_string();
}

std::optional<std::string> reply_reader::optional_string(std::string_view key) {
    const proto::value* v = find(key);
    if (!v) {
        return std::nullopt;
    }
    if (!v->as_string()) {
        note(key, "a string");
        return std::nullopt;
    }
    return *v->as_string();
}

bool reply_reader::boolean(std::string_view key) {
    const proto::value* v = find(key);
    if (!v || !v->as_bool()) {
        note(key, "a bool");
        return false;
    }
    return *v->as_bool();
}

bool reply_reader::boolean_or_false(std::string_view key) {
    const proto::value* v = find(key);
    if (!v) {
        return false;
    }
    if (!v->as_bool()) {
        note(key, "a bool");
        return false;
    }
    return *v->as_bool();
}

const proto::value_list& reply_reader::list(std::string_view key) {
    const proto::value* v = find(key);
    if (!v || !v->as_list()) {
        note(key, "a list");
        return kEmptyList;
    }
    return *v->as_list();
}

const proto::value_map& reply_reader::map(std::string_view key) {
    const proto::value* v = find(key);
    if (!v) {
        return kEmptyMap;
    }
    if (!v->as_map()) {
        note(key, "a map");
        return kEmptyMap;
    }
    return *v->as_map();
}

const proto::value_map& map_or_empty(const proto::value& entry) {
    return entry.as_map() ? *entry.as_map() : kEmptyMap;
}

status read_attributes(const proto::value_map& map,
                       std::vector<std::pair<std::string, std::string>>& out) {
    for (const auto& [key, value] : map) {
        if (!value.as_string()) {
            return malformed("attribute '" + key + "' is not a string");
        }
        out.emplace_back(key, *value.as_string());
    }
    return status::ok();
}

result<message_record> read_message_map(const proto::value& entry) {
    if (!entry.as_map()) {
        return malformed("a message entry is not a map");
    }
    reply_reader r(*entry.as_map());
    message_record m;
    m.id = r.string("id");
    m.receipt = r.optional_string("receipt");
    m.receive_count = r.integer("receive_count");
    m.sent_at_ms = r.integer("sent_at");
    m.priority = r.optional_integer("priority");
    m.group = r.optional_string("group");
    m.dedup_id = r.optional_string("dedup_id");
    m.source_queue = r.optional_string("source_queue");
    m.redrive_count = r.optional_integer("redrive_count");
    status attributes = read_attributes(r.map("attributes"), m.attributes);
    if (!r.error()) {
        return r.error();
    }
    if (!attributes) {
        return attributes;
    }
    return m;
}

result<std::vector<message_record>> read_messages(const proto::reply& reply) {
    reply_reader top(reply.fields);
    const proto::value_list& entries = top.list("messages");
    if (!top.error()) {
        return top.error();
    }
    if (entries.size() != reply.bodies.size()) {
        return malformed(std::to_string(entries.size()) + " messages but " +
                         std::to_string(reply.bodies.size()) + " body frames");
    }

    std::vector<message_record> messages;
    messages.reserve(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        auto m = read_message_map(entries[i]);
        if (!m) {
            return m.error();
        }
        m->body = reply.bodies[i];
        messages.push_back(std::move(*m));
    }
    return messages;
}

}  // namespace dmq::cli
