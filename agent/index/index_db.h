// The agent's SQLite index (WAL mode): queue metadata, the current state of
// every stored message, and the request ids of recent sends. It is a
// materialised view of the queue logs: each queue row records how far into
// its log the index has applied, and recovery replays the rest. Owned by
// the queue engine; only the event loop thread may call it.
// Rule: message-state commits are not synced (the logs are the durable
// copy); metadata changes (create, update, delete) and checkpoint() are.
// Schema: docs/index-schema.md.

#pragma once

#include "agent/index/sqlite_stmt.h"
#include "agent/storage/queue_log.h"
#include "common/status.h"

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dmq::index {

constexpr int kSchemaVersion = 2;

struct queue_config {
    std::int64_t visibility_ms = 30'000;
    std::int64_t retention_ms = 4LL * 24 * 3600 * 1000;
    std::int64_t max_size = 256 * 1024;
    std::int64_t delay_ms = 0;
    bool fifo = false;
    std::string dlq;                // dead-letter queue, or empty
    std::int64_t max_receives = 0;  // 0 with no dlq
    std::int64_t dedup_window_ms = 5 * 60'000;
    bool content_dedup = false;
};

struct queue_counters {
    std::int64_t sent = 0;
    std::int64_t received = 0;
    std::int64_t acked = 0;
    std::int64_t released = 0;
    std::int64_t expired = 0;
    std::int64_t purged = 0;
    std::int64_t dead_lettered = 0;
    std::int64_t redriven = 0;
    std::int64_t duplicates = 0;
};

// A queue's row. `uid` is the queue's incarnation: a queue deleted and
// created again under the same name gets a new one, a new directory and new
// message ids, so nothing of the old queue can leak into the new.
struct queue_row {
    std::string name;
    std::uint32_t uid = 0;
    std::int64_t created_at = 0;
    queue_config config;
    std::uint64_t next_seq = 1;
    std::uint64_t next_lsn = 1;
    storage::log_position applied;  // log records before this are applied
    queue_counters counters;
};

struct message_row {
    std::uint64_t seq = 0;
    storage::log_position at;  // where the send record starts
    std::int64_t size = 0;     // body bytes
    std::int64_t sent_at = 0;
    std::int64_t visible_at = 0;
    std::int64_t expires_at = 0;
    std::uint32_t receive_count = 0;
    std::uint32_t token = 0;
    bool in_flight = false;
    std::string attributes;
    int priority = 4;
    std::string group;
    bool held = false;  // FIFO: not the oldest message of its group
    std::string dedup_id;
    std::uint32_t id_uid = 0;  // the message id when not (queue uid, seq)
    std::uint64_t id_seq = 0;
    std::uint32_t redrive_count = 0;
    std::string source_queue;
    std::uint32_t arrived_count = 0;  // receive_count when it came here
};

// Where a remembered dedup id points: the id of the first message.
struct dedup_entry {
    std::uint32_t id_uid = 0;
    std::uint64_t id_seq = 0;
    std::int64_t until = 0;
};

struct queue_counts {
    std::int64_t visible = 0;
    std::int64_t in_flight = 0;
    std::int64_t delayed = 0;
    std::int64_t held = 0;
    std::int64_t bytes = 0;
    std::optional<std::int64_t> oldest_sent_at;
};

// A send request remembered so that a retry gets the same message ids.
struct send_request {
    std::uint32_t uid = 0;
    std::uint64_t first_seq = 0;
    std::int64_t count = 0;
    std::string reply;  // the reply as sent, when it was saved; see below
};

// Lifecycle: open() returns one; the destructor closes the connection.
class index_db {
public:
    static result<std::unique_ptr<index_db>> open(
        const std::filesystem::path& file);
    ~index_db();

    status begin();
    status commit();
    status rollback();

    // Ensures: every commit so far is on stable storage.
    status checkpoint();

    result<std::string> agent_id();

    // Queue metadata; each call is its own synced transaction, so it must
    // not be called between begin() and commit().
    result<std::vector<queue_row>> load_queues();
    status insert_queue(const queue_row& q);
    status update_config(const queue_row& q);
    status delete_queue(std::uint32_t uid);

    // Saves a queue's sequence numbers, applied position and counters,
    // inside the current transaction.
    status save_progress(const queue_row& q);

    // Message state, inside the current transaction.
    status insert_message(std::uint32_t uid, const message_row& m);
    status set_delivery(std::uint32_t uid, std::uint64_t seq,
                        std::uint32_t token, std::int64_t visible_at,
                        std::uint32_t receive_count);
    status set_visibility(std::uint32_t uid, std::uint64_t seq,
                          std::int64_t visible_at, bool in_flight);
    // Removes a message; on a FIFO queue the next message of its group
    // becomes the group's head.
    status delete_message(std::uint32_t uid, const message_row& m);
    result<std::int64_t> delete_messages_below(std::uint32_t uid,
                                               std::uint64_t below_seq);

    // The oldest message of a FIFO group, if it has one.
    result<std::optional<message_row>> group_head(std::uint32_t uid,
                                                  const std::string& group);

    // Whether the group has a message in the queue: a new message of a
    // group that has one waits behind it.
    result<bool> group_has_messages(std::uint32_t uid,
                                    const std::string& group);

    // Queries.
    // Visible messages of one priority, oldest visible first; on a FIFO
    // queue only group heads, which is what holds a group back.
    result<std::vector<message_row>> visible(std::uint32_t uid, int priority,
                                             std::int64_t now,
                                             std::int64_t limit);
    result<std::optional<message_row>> message(std::uint32_t uid,
                                               std::uint64_t seq);
    // By message id: a message that moved here has a seq of its own.
    result<std::optional<message_row>> message_by_id(std::uint32_t uid,
                                                     std::uint32_t id_uid,
                                                     std::uint64_t id_seq);
    // Messages after `after_seq` in seq order.
    result<std::vector<message_row>> messages_after(std::uint32_t uid,
                                                    std::uint64_t after_seq,
                                                    std::int64_t limit);
    // In-flight messages whose delivery timed out and that had at least
    // `receives` deliveries.
    result<std::vector<message_row>> timed_out(std::uint32_t uid,
                                               std::int64_t now,
                                               std::int64_t receives,
                                               std::int64_t limit);
    result<std::optional<std::int64_t>> next_visible_at(std::uint32_t uid,
                                                        std::int64_t now);
    result<queue_counts> counts(std::uint32_t uid, std::int64_t now);
    result<std::set<std::uint64_t>> live_segments(std::uint32_t uid);
    result<std::vector<std::uint64_t>> messages_in_segment(std::uint32_t uid,
                                                           std::uint64_t seg);
    result<std::vector<std::uint64_t>> expired(std::uint32_t uid,
                                               std::int64_t now,
                                               std::int64_t limit);

    // Request ids of sends.
    status remember_send(const std::string& request_id, std::int64_t at,
                         std::uint32_t uid, std::uint64_t seq);
    // Saves a send's reply (encoded by the engine) with its request id, in
    // the current transaction: a reply with duplicates cannot be rebuilt
    // from the stored messages alone.
    status remember_send_reply(const std::string& request_id, std::int64_t at,
                               std::uint32_t uid, const std::string& reply);
    result<std::optional<send_request>> find_send(
        const std::string& request_id);
    status forget_sends_before(std::int64_t at);

    // Dedup ids, inside the current transaction.
    status remember_dedup(std::uint32_t uid, const std::string& key,
                          const dedup_entry& e);
    result<std::optional<dedup_entry>> find_dedup(std::uint32_t uid,
                                                  const std::string& key);
    status forget_dedup_before(std::int64_t now);

private:
    explicit index_db(sqlite3* db) : db_(db) {}
    status exec(const char* sql);
    result<stmt> prepare(const char* sql);
    status prepare_all();
    status migrate();
    status synced(const std::function<status()>& change);

    sqlite3* db_ = nullptr;
    stmt insert_message_, set_delivery_, set_visibility_, delete_message_,
        promote_head_, group_has_, group_head_, delete_below_, visible_,
        message_, message_by_id_, messages_after_, timed_out_, next_visible_,
        save_progress_, remember_send_, find_send_, live_segments_, expired_,
        remember_dedup_, find_dedup_, remember_reply_;
};

}  // namespace dmq::index
