// The state changes of a queue, as records of its log. The engine writes
// one record per change and applies it to the index; recovery (and, later,
// a follower replica) applies the same records in the same order to reach
// the same state. Applying must depend only on the record, never on the
// clock or on randomness: every decision is made before the record is
// written. Byte layout: docs/segment-format.md; changing it means bumping
// the segment format version.

#pragma once

#include "agent/storage/segment_file.h"
#include "common/status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace dmq::queue {

enum class record_type : std::uint8_t {
    legacy_send = 1,  // a message was stored (format 1: no message fields)
    deliver = 2,      // a message was handed to a consumer
    visibility = 3,   // a message was released or its timeout extended
    remove = 4,       // a message was acked, expired or moved away
    purge = 5,        // every message below a sequence number was removed
    send = 6,         // a message was stored, or moved in from another queue
};

enum class remove_reason : std::uint8_t {
    acked = 1,
    expired = 2,
    unreadable = 3,     // its body failed its checksum or could not be read
    dead_lettered = 4,  // moved to the queue's dead-letter queue
    redriven = 5,       // moved out of a dead-letter queue by a redrive
};

// Why a send record holds a message that came from another queue.
enum class move_reason : std::uint8_t {
    none = 0,  // a client sent it
    dead_letter = 1,
    redrive = 2,
};

// A stored message. A message moved between queues is written to the
// target's log as a send record (body included) before the source logs
// its removal, and the target is synced first; `origin` lets recovery
// finish a move the source had not yet logged.
struct send_record {
    std::uint64_t seq = 0;
    std::int64_t sent_at = 0;  // first sent, kept through moves
    std::int64_t visible_at = 0;
    std::int64_t expires_at = 0;
    std::string request_id;  // lets a retried send find its first answer
    std::string attributes;  // msgpack map of string to string, or empty
    std::uint8_t priority = 4;
    std::string group;     // FIFO queues
    std::string dedup_id;  // shown; remembered only when dedup_until > 0
    std::int64_t dedup_until = 0;
    std::uint32_t id_uid = 0;  // the message id, when not (queue, seq)
    std::uint64_t id_seq = 0;
    std::uint32_t receive_count = 0;
    std::uint32_t redrive_count = 0;
    std::string source_queue;  // where it was dead-lettered from
    move_reason moved = move_reason::none;
    std::uint32_t origin_uid = 0;  // moved from: queue uid and seq there
    std::uint64_t origin_seq = 0;
    std::string_view body;  // not owned; see decode()
};

struct deliver_record {
    std::uint64_t seq = 0;
    std::uint32_t token = 0;  // names this delivery in the receipt
    std::int64_t visible_at = 0;
    std::uint32_t receive_count = 0;
};

struct visibility_record {
    std::uint64_t seq = 0;
    std::int64_t visible_at = 0;
    bool in_flight = false;  // false: released back to the queue
};

struct remove_record {
    std::uint64_t seq = 0;
    remove_reason reason = remove_reason::acked;
};

struct purge_record {
    std::uint64_t below_seq = 0;
};

using state_record =
    std::variant<send_record, deliver_record, visibility_record, remove_record,
                 purge_record>;

record_type type_of(const state_record& rec);

// Encodes everything but a send's body, which the log appends as a second
// part so that it is never copied.
std::string encode_head(const state_record& rec);

// Decodes a record read from the log. A send's body points into
// `rec.payload`, which must outlive the result.
result<state_record> decode(const storage::record& rec);

}  // namespace dmq::queue
