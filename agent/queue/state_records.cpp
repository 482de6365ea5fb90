// Binary encoding of state records; layout in docs/segment-format.md.

#include "agent/queue/state_records.h"

#include <cstring>

namespace dmq::queue {

namespace {

class writer {
public:
    template <typename T>
    writer& put(T v) {
        out_.append(reinterpret_cast<const char*>(&v), sizeof v);
        return *this;
    }
    writer& bytes(std::string_view s) {
        put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
        out_.append(s);
        return *this;
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

class reader {
public:
    explicit reader(std::string_view in) : in_(in) {}

    template <typename T>
    T get() {
        T v{};
        if (in_.size() < sizeof v) {
            ok_ = false;
            return v;
        }
        std::memcpy(&v, in_.data(), sizeof v);
        in_.remove_prefix(sizeof v);
        return v;
    }
    std::string bytes() {
        auto n = get<std::uint32_t>();
        if (!ok_ || in_.size() < n) {
            ok_ = false;
            return {};
        }
        std::string s(in_.substr(0, n));
        in_.remove_prefix(n);
        return s;
    }
    std::string_view rest() { return std::exchange(in_, {}); }
    bool ok() const { return ok_; }
    bool done() const { return ok_ && in_.empty(); }

private:
    std::string_view in_;
    bool ok_ = true;
};

std::string encode_one(const send_record& r) {
    return writer()
        .put(r.seq)
        .put(r.sent_at)
        .put(r.visible_at)
        .put(r.expires_at)
        .bytes(r.request_id)
        .bytes(r.attributes)
        .put(r.priority)
        .bytes(r.group)
        .bytes(r.dedup_id)
        .put(r.dedup_until)
        .put(r.id_uid)
        .put(r.id_seq)
        .put(r.receive_count)
        .put(r.redrive_count)
        .bytes(r.source_queue)
        .put(static_cast<std::uint8_t>(r.moved))
        .put(r.origin_uid)
        .put(r.origin_seq)
        .take();
}

std::string encode_one(const deliver_record& r) {
    return writer()
        .put(r.seq)
        .put(r.token)
        .put(r.visible_at)
        .put(r.receive_count)
        .take();
}

std::string encode_one(const visibility_record& r) {
    return writer()
        .put(r.seq)
        .put(r.visible_at)
        .put<std::uint8_t>(r.in_flight ? 1 : 0)
        .take();
}

std::string encode_one(const remove_record& r) {
    return writer().put(r.seq).put(static_cast<std::uint8_t>(r.reason)).take();
}

std::string encode_one(const purge_record& r) {
    return writer().put(r.below_seq).take();
}

// The fields both send formats start with.
send_record read_send_head(reader& in) {
    send_record r;
    r.seq = in.get<std::uint64_t>();
    r.sent_at = in.get<std::int64_t>();
    r.visible_at = in.get<std::int64_t>();
    r.expires_at = in.get<std::int64_t>();
    r.request_id = in.bytes();
    r.attributes = in.bytes();
    return r;
}

}  // namespace

record_type type_of(const state_record& rec) {
    if (std::holds_alternative<send_record>(rec)) {
        return record_type::send;
    }
    return static_cast<record_type>(rec.index() + 1);
}

std::string encode_head(const state_record& rec) {
    return std::visit([](const auto& r) { return encode_one(r); }, rec);
}

result<state_record> decode(const storage::record& rec) {
    reader in(rec.payload);
    state_record out;
    bool complete = false;

    switch (static_cast<record_type>(rec.type)) {
        case record_type::legacy_send: {
            send_record r = read_send_head(in);
            r.body = in.rest();
            complete = in.ok();
            out = std::move(r);
            break;
        }
        case record_type::send: {
            send_record r = read_send_head(in);
            r.priority = in.get<std::uint8_t>();
            r.group = in.bytes();
            r.dedup_id = in.bytes();
            r.dedup_until = in.get<std::int64_t>();
            r.id_uid = in.get<std::uint32_t>();
            r.id_seq = in.get<std::uint64_t>();
            r.receive_count = in.get<std::uint32_t>();
            r.redrive_count = in.get<std::uint32_t>();
            r.source_queue = in.bytes();
            auto moved = in.get<std::uint8_t>();
            r.moved = static_cast<move_reason>(moved);
            r.origin_uid = in.get<std::uint32_t>();
            r.origin_seq = in.get<std::uint64_t>();
            r.body = in.rest();
            complete = in.ok() && moved <= 2 && r.priority <= 9;
            out = std::move(r);
            break;
        }
        case record_type::deliver: {
            deliver_record r;
            r.seq = in.get<std::uint64_t>();
            r.token = in.get<std::uint32_t>();
            r.visible_at = in.get<std::int64_t>();
            r.receive_count = in.get<std::uint32_t>();
            complete = in.done();
            out = r;
            break;
        }
        case record_type::visibility: {
            visibility_record r;
            r.seq = in.get<std::uint64_t>();
            r.visible_at = in.get<std::int64_t>();
            r.in_flight = in.get<std::uint8_t>() != 0;
            complete = in.done();
            out = r;
            break;
        }
        case record_type::remove: {
            remove_record r;
            r.seq = in.get<std::uint64_t>();
            auto reason = in.get<std::uint8_t>();
            r.reason = static_cast<remove_reason>(reason);
            complete = in.done() && reason >= 1 && reason <= 5;
            out = r;
            break;
        }
        case record_type::purge: {
            purge_record r;
            r.below_seq = in.get<std::uint64_t>();
            complete = in.done();
            out = r;
            break;
        }
        default:
            return status(errc::corrupt_data,
                          "unknown record type " + std::to_string(rec.type) +
                              " at lsn " + std::to_string(rec.lsn));
    }

    if (!complete) {
        return status(errc::corrupt_data, "record at lsn " +
                                              std::to_string(rec.lsn) +
                                              " has a malformed payload");
    }
    return out;
}

}  // namespace dmq::queue
