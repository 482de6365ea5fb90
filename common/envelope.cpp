// msgpack encoding and decoding of envelopes; format in docs/protocol.md.

#include "common/envelope.h"

#include <msgpack.hpp>

namespace dmq::proto {

namespace {

// Deep nesting is never needed by the protocol and would let a hostile
// client exhaust the stack of the recursive decoder.
constexpr int kMaxDepth = 8;

using packer = msgpack::packer<msgpack::sbuffer>;

void pack(packer& pk, const value& v) {
    if (v.is_nil()) {
        pk.pack_nil();
    } else if (const bool* b = v.as_bool()) {
        *b ? pk.pack_true() : pk.pack_false();
    } else if (const std::int64_t* i = v.as_int()) {
        pk.pack_int64(*i);
    } else if (const std::string* s = v.as_string()) {
        pk.pack_str(static_cast<std::uint32_t>(s->size()));
        pk.pack_str_body(s->data(), static_cast<std::uint32_t>(s->size()));
    } else if (const value_list* list = v.as_list()) {
        pk.pack_array(static_cast<std::uint32_t>(list->size()));
        for (const auto& item : *list) {
            pack(pk, item);
        }
    } else if (const value_map* map = v.as_map()) {
        pk.pack_map(static_cast<std::uint32_t>(map->size()));
        for (const auto& [key, item] : *map) {
            pk.pack_str(static_cast<std::uint32_t>(key.size()));
            pk.pack_str_body(key.data(),
                             static_cast<std::uint32_t>(key.size()));
            pack(pk, item);
        }
    }
}

result<value> convert(const msgpack::object& o, int depth) {
    if (depth > kMaxDepth) {
        return status(errc::bad_request, "envelope nests too deeply");
    }
    switch (o.type) {
        case msgpack::type::NIL:
            return value();
        case msgpack::type::BOOLEAN:
            return value(o.via.boolean);
        case msgpack::type::POSITIVE_INTEGER:
            if (o.via.u64 > static_cast<std::uint64_t>(INT64_MAX)) {
                return status(errc::bad_request, "integer out of range");
            }
            return value(static_cast<std::int64_t>(o.via.u64));
        case msgpack::type::NEGATIVE_INTEGER:
            return value(o.via.i64);
        case msgpack::type::STR:
            return value(std::string(o.via.str.ptr, o.via.str.size));
        case msgpack::type::BIN:
            return value(std::string(o.via.bin.ptr, o.via.bin.size));
        case msgpack::type::ARRAY: {
            value_list list;
            list.reserve(o.via.array.size);
            for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
                auto item = convert(o.via.array.ptr[i], depth + 1);
                if (!item) {
                    return item.error();
                }
                list.push_back(std::move(*item));
            }
            return value(std::move(list));
        }
        case msgpack::type::MAP: {
            value_map map;
            for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
                const auto& kv = o.via.map.ptr[i];
                if (kv.key.type != msgpack::type::STR) {
                    return status(errc::bad_request, "map key is not a string");
                }
                auto item = convert(kv.val, depth + 1);
                if (!item) {
                    return item.error();
                }
                map.insert_or_assign(
                    std::string(kv.key.via.str.ptr, kv.key.via.str.size),
                    std::move(*item));
            }
            return value(std::move(map));
        }
        default:
            return status(errc::bad_request, "unsupported msgpack type");
    }
}

std::string type_error(std::string_view key, std::string_view want) {
    return "field '" + std::string(key) + "' must be " + std::string(want);
}

}  // namespace

const value_list* value::as_list() const {
    auto p = std::get_if<std::shared_ptr<value_list>>(&data_);
    return p ? p->get() : nullptr;
}

const value_map* value::as_map() const {
    auto p = std::get_if<std::shared_ptr<value_map>>(&data_);
    return p ? p->get() : nullptr;
}

std::string encode(const value& v) {
    msgpack::sbuffer buffer;
    packer pk(buffer);
    pack(pk, v);
    return std::string(buffer.data(), buffer.size());
}

result<value> decode(std::string_view bytes) {
    if (bytes.size() > kMaxEnvelopeBytes) {
        return status(errc::bad_request, "envelope of " +
                                             std::to_string(bytes.size()) +
                                             " bytes is over the limit of " +
                                             std::to_string(kMaxEnvelopeBytes));
    }
    try {
        // Limits bound what a hostile frame can make the decoder allocate.
        msgpack::unpack_limit limit(100'000, 10'000, kMaxEnvelopeBytes,
                                    kMaxEnvelopeBytes, 0, kMaxDepth + 1);
        std::size_t offset = 0;
        msgpack::object_handle handle = msgpack::unpack(
            bytes.data(), bytes.size(), offset, nullptr, nullptr, limit);
        if (offset != bytes.size()) {
            return status(errc::bad_request,
                          "envelope has trailing bytes after the map");
        }
        return convert(handle.get(), 0);
    } catch (const std::exception& e) {
        return status(
            errc::bad_request,
            std::string("envelope is not valid msgpack: ") + e.what());
    }
}

const value* fields::find(std::string_view key) const {
    auto it = map_.find(key);
    if (it == map_.end() || it->second.is_nil()) {
        return nullptr;
    }
    return &it->second;
}

bool fields::has(std::string_view key) const {
    return find(key) != nullptr;
}

result<std::string> fields::string(std::string_view key) const {
    const value* v = find(key);
    if (!v) {
        return status(errc::bad_request,
                      "missing field '" + std::string(key) + "'");
    }
    if (!v->as_string()) {
        return status(errc::bad_request, type_error(key, "a string"));
    }
    return *v->as_string();
}

result<std::string> fields::string_or(std::string_view key,
                                      std::string fallback) const {
    return has(key) ? string(key) : result<std::string>(std::move(fallback));
}

result<std::int64_t> fields::integer(std::string_view key) const {
    const value* v = find(key);
    if (!v) {
        return status(errc::bad_request,
                      "missing field '" + std::string(key) + "'");
    }
    if (!v->as_int()) {
        return status(errc::bad_request, type_error(key, "an integer"));
    }
    return *v->as_int();
}

result<std::int64_t> fields::integer_or(std::string_view key,
                                        std::int64_t fallback) const {
    return has(key) ? integer(key) : result<std::int64_t>(fallback);
}

result<bool> fields::boolean_or(std::string_view key, bool fallback) const {
    const value* v = find(key);
    if (!v) {
        return fallback;
    }
    if (!v->as_bool()) {
        return status(errc::bad_request, type_error(key, "a boolean"));
    }
    return *v->as_bool();
}

result<const value_list*> fields::list(std::string_view key) const {
    const value* v = find(key);
    if (!v || !v->as_list()) {
        return status(errc::bad_request, type_error(key, "a list"));
    }
    return v->as_list();
}

result<const value_map*> fields::map_or_empty(std::string_view key) const {
    static const value_map kEmpty;
    const value* v = find(key);
    if (!v) {
        return &kEmpty;
    }
    if (!v->as_map()) {
        return status(errc::bad_request, type_error(key, "a map"));
    }
    return v->as_map();
}

std::string peek_request_id(std::string_view envelope) {
    if (envelope.size() > kMaxEnvelopeBytes) {
        return {};
    }
    try {
        msgpack::unpack_limit limit(100'000, 10'000, kMaxEnvelopeBytes,
                                    kMaxEnvelopeBytes, kMaxEnvelopeBytes,
                                    kMaxDepth + 1);
        std::size_t offset = 0;
        auto handle = msgpack::unpack(envelope.data(), envelope.size(), offset,
                                      nullptr, nullptr, limit);
        const msgpack::object& o = handle.get();
        if (o.type != msgpack::type::MAP) {
            return {};
        }
        for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
            const auto& kv = o.via.map.ptr[i];
            if (kv.key.type == msgpack::type::STR &&
                std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) ==
                    "id" &&
                kv.val.type == msgpack::type::STR) {
                return std::string(kv.val.via.str.ptr, kv.val.via.str.size);
            }
        }
    } catch (const std::exception&) {
        // Not even a readable map: there is no id to give back.
    }
    return {};
}

std::vector<std::string> encode_request(const std::string& id,
                                        const std::string& op, value_map args,
                                        std::vector<std::string> bodies) {
    args.insert_or_assign("v", kProtocolVersion);
    args.insert_or_assign("id", id);
    args.insert_or_assign("op", op);

    std::vector<std::string> frames;
    frames.reserve(bodies.size() + 1);
    frames.push_back(encode(value(std::move(args))));
    for (auto& body : bodies) {
        frames.push_back(std::move(body));
    }
    return frames;
}

result<request> decode_request(std::vector<std::string> frames) {
    if (frames.empty()) {
        return status(errc::bad_request, "request has no envelope frame");
    }
    auto decoded = decode(frames[0]);
    if (!decoded) {
        return decoded.error();
    }
    const value_map* map = decoded->as_map();
    if (!map) {
        return status(errc::bad_request, "envelope is not a msgpack map");
    }

    request req;
    fields f(*map);
    auto version = f.integer("v");
    auto id = f.string_or("id", "");
    auto op = f.string("op");
    if (!id) {
        return id.error();
    }
    if (!version) {
        return version.error();
    }
    if (!op) {
        return op.error();
    }
    req.version = *version;
    req.id = std::move(*id);
    req.op = std::move(*op);
    req.args = *map;
    req.bodies.assign(std::make_move_iterator(frames.begin() + 1),
                      std::make_move_iterator(frames.end()));
    return req;
}

std::vector<std::string> encode_reply(const reply& r) {
    value_map map = r.fields;
    map.insert_or_assign("v", kProtocolVersion);
    map.insert_or_assign("id", r.id);
    map.insert_or_assign("ok", r.error.is_ok());
    if (!r.error.is_ok()) {
        map.insert_or_assign("code", std::string(wire_code(r.error.code())));
        map.insert_or_assign("message", r.error.message());
    }

    std::vector<std::string> frames;
    frames.reserve(r.bodies.size() + 1);
    frames.push_back(encode(value(std::move(map))));
    frames.insert(frames.end(), r.bodies.begin(), r.bodies.end());
    return frames;
}

result<reply> decode_reply(std::vector<std::string> frames) {
    if (frames.empty()) {
        return status(errc::internal, "reply has no envelope frame");
    }
    auto decoded = decode(frames[0]);
    if (!decoded || !decoded->as_map()) {
        return status(errc::internal, "reply envelope is malformed");
    }

    reply r;
    r.fields = *decoded->as_map();
    fields f(r.fields);
    r.id = f.string_or("id", "").is_ok() ? *f.string_or("id", "") : "";
    auto ok = f.boolean_or("ok", false);
    if (!ok) {
        return ok.error();
    }
    if (!*ok) {
        auto code = f.string_or("code", "INTERNAL");
        auto message = f.string_or("message", "agent gave no reason");
        r.error = status(errc_from_wire(code ? *code : "INTERNAL"),
                         message ? *message : "agent gave no reason");
    }
    r.bodies.assign(std::make_move_iterator(frames.begin() + 1),
                    std::make_move_iterator(frames.end()));
    return r;
}

}  // namespace dmq::proto
