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
        if (!entries[i].as_map()) {
            return malformed("a message entry is not a map");
        }
        reply_reader entry(*entries[i].as_map());
        message_record m;
        m.id = entry.string("id");
        m.receipt = entry.optional_string("receipt");
        m.receive_count = entry.integer("receive_count");
        m.sent_at_ms = entry.integer("sent_at");
        status attributes =
            read_attributes(entry.map("attributes"), m.attributes);
        if (!entry.error()) {
            return entry.error();
        }
        if (!attributes) {
            return attributes;
        }
        m.body = reply.bodies[i];
        messages.push_back(std::move(m));
    }
    return messages;
}

}  // namespace dmq::cli
