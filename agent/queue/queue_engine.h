// The queue engine: every operation on queues and messages, on top of the
// per-queue logs (agent/storage) and the index (agent/index). Each state
// change is first appended to the queue's log as a state record and then
// applied to the index by the same function that recovery uses, so the log
// alone can rebuild the state.
//
// Lifecycle: open() recovers every queue and returns the engine; the agent
// closes it at shutdown after a final commit_batch(). Threading: only the
// agent's event loop thread may call it.
//
// Batches: operations that change state join the current batch (opened
// lazily). Rule: nothing a batch did may be reported to a client before
// commit_batch() has returned ok; that is what makes one fsync serve every
// request in the batch. Queue create, update and delete commit the open
// batch first and are durable when they return.

#pragma once

#include "agent/index/index_db.h"
#include "agent/queue/state_records.h"
#include "agent/storage/queue_log.h"
#include "common/status.h"

#include <spdlog/logger.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace dmq::queue {

constexpr std::int64_t kMaxBodyLimit = 16 << 20;  // max_size may not exceed

struct engine_options {
    std::filesystem::path data_dir;
    std::uint64_t segment_bytes = 64ULL << 20;
    // Sends are refused while the data directory's disk has less free
    // space, so receives and acks (which are logged too) still fit.
    std::uint64_t min_free_bytes = 64ULL << 20;
};

constexpr int kDefaultPriority = 4;
constexpr int kMaxPriority = 9;

// Optional fields of a create or update; unset means default or unchanged.
// `fifo` only counts at create. An empty `dlq` removes the dead-letter
// queue; `max_receives` comes with it.
struct config_change {
    std::optional<std::int64_t> visibility_ms;
    std::optional<std::int64_t> retention_ms;
    std::optional<std::int64_t> max_size;
    std::optional<std::int64_t> delay_ms;
    std::optional<bool> fifo;
    std::optional<std::string> dlq;
    std::optional<std::int64_t> max_receives;
    std::optional<std::int64_t> dedup_window_ms;
    std::optional<bool> content_dedup;
};

struct queue_info {
    index::queue_row row;
    index::queue_counts counts;
};

struct outgoing_message {
    std::string body;
    std::string attributes;  // msgpack map, or empty
    std::optional<std::int64_t> delay_ms;
    std::string group;     // FIFO queues: required
    std::string dedup_id;  // empty: none (or the body's hash, if enabled)
    std::optional<int> priority;
};

// One message of a send: its id, and whether it repeated a dedup id seen
// inside the window (then `id` is the first message's and nothing was
// stored).
struct sent_message {
    std::string id;
    bool duplicate = false;
    bool operator==(const sent_message&) const = default;
};

struct delivered_message {
    std::string id;
    std::string receipt;  // empty for a peek
    std::uint32_t receive_count = 0;
    std::int64_t sent_at = 0;
    std::string attributes;
    std::string body;
    int priority = kDefaultPriority;
    std::string group;
    std::string dedup_id;
    std::string source_queue;  // set once it was dead-lettered
    std::uint32_t redrive_count = 0;
};

enum class message_state { visible, in_flight, delayed, held };
std::string_view state_name(message_state s);

// What `show` reports: a message as it stands, without its body.
struct message_status {
    delivered_message message;  // body and receipt empty
    message_state state = message_state::visible;
    std::int64_t visible_at = 0;
    std::int64_t expires_at = 0;
    std::int64_t size = 0;
};

struct redrive_result {
    std::int64_t moved = 0;
    std::int64_t skipped = 0;
    std::uint64_t cursor = 0;  // pass back as `after` to go on
    bool done = false;
};

struct recovery_summary {
    std::size_t queues = 0;
    storage::recovery_report log;
};

class queue_engine {
public:
    // `log` is the "queue" logger; `storage_log` goes to the queue logs.
    static result<std::unique_ptr<queue_engine>> open(
        const engine_options& options, spdlog::logger& log,
        spdlog::logger& storage_log, recovery_summary& summary);

    const std::string& agent_id() const { return agent_id_; }
    std::size_t queue_count() const { return queues_.size(); }

    // Durably ends the current batch: writes and syncs every log it
    // appended to, then commits the index. If writing fails (a full disk),
    // the whole batch is undone and an error returned; the engine goes on.
    // If syncing or committing fails, broken() turns true and the agent
    // must stop: what the batch wrote may or may not be on disk.
    status commit_batch();
    bool broken() const { return broken_; }

    // Ends the event loop's turn: commit_batch(), and also reports a batch
    // undone earlier in the turn by an internal commit (a queue create or
    // the segment sweep commits the open batch first), whose replies must
    // not go out as successes either.
    status end_turn();

    // Whether every log of the last batch was synced, even if the index
    // then failed: its changes are on disk and the next start replays
    // them, so what the batch did may be reported as done.
    bool last_batch_durable() const { return last_batch_durable_; }

    // How many batches have been committed; replies made since the last
    // commit belong to the batch that commit_batch() ends.
    std::uint64_t commits() const { return commits_; }

    result<queue_info> create_queue(const std::string& name,
                                    const config_change& change,
                                    std::int64_t now);
    result<queue_info> update_queue(const std::string& name,
                                    const config_change& change,
                                    std::int64_t now);
    status delete_queue(const std::string& name, bool force, std::int64_t now);
    result<std::int64_t> purge_queue(const std::string& name);
    result<queue_info> info(const std::string& name, std::int64_t now);
    result<std::vector<queue_info>> list(std::int64_t now);

    result<std::vector<sent_message>> send(const std::string& name,
                                           const std::string& request_id,
                                           std::vector<outgoing_message> batch,
                                           std::int64_t now);
    result<std::vector<delivered_message>> receive(
        const std::string& name, std::int64_t max,
        std::optional<std::int64_t> visibility_ms, std::int64_t now);
    result<std::vector<delivered_message>> peek(const std::string& name,
                                                std::int64_t max,
                                                std::int64_t now);
    status ack(const std::string& name, const std::string& receipt);
    // True when the release moved the message to the dead-letter queue
    // instead (it ended its last allowed delivery).
    result<bool> release(const std::string& name, const std::string& receipt,
                         std::int64_t delay_ms, std::int64_t now);
    result<std::int64_t> extend(const std::string& name,
                                const std::string& receipt,
                                std::int64_t visibility_ms, std::int64_t now);

    result<message_status> show(const std::string& name, const std::string& id,
                                std::int64_t now);

    // Moves up to `max` messages of `name` (past the cursor `after`) back
    // to their source queue, or to `to` when it is not empty.
    result<redrive_result> redrive(const std::string& name,
                                   const std::string& to, std::uint64_t after,
                                   std::int64_t max, std::int64_t now);

    // When the next message of the queue becomes visible after `now`.
    std::optional<std::int64_t> next_visible_at(const std::string& name,
                                                std::int64_t now);

    // Name of an existing queue close to `name`, or empty.
    std::string suggest(const std::string& name) const;

    // Housekeeping: moves messages whose last allowed delivery timed out
    // to their dead-letter queue, drops messages past their retention,
    // removes segments no message refers to, forgets old send request ids
    // and dedup ids past their window.
    status sweep(std::int64_t now);

private:
    struct queue_state {
        index::queue_row row;
        std::unique_ptr<storage::queue_log> log;
        bool touched = false;               // appended to in the open batch
        index::queue_row before;            // row as the batch found it
        storage::log_position batch_start;  // log end as the batch found it
    };

    // A message that recovery found moved into a queue; its origin must be
    // gone from the source (see finish_interrupted_moves()).
    struct moved_in {
        std::uint32_t origin_uid = 0;
        std::uint64_t origin_seq = 0;
        remove_reason reason = remove_reason::dead_lettered;
    };

    queue_engine(engine_options options, spdlog::logger& log,
                 spdlog::logger& storage_log,
                 std::unique_ptr<index::index_db> index);

    status recover(recovery_summary& summary);
    status recover_queue(queue_state& q, recovery_summary& summary);
    status finish_interrupted_deletes();
    status drop_messages_of_lost_segments(queue_state& q);
    void warn_about_unknown_dirs();
    std::filesystem::path queue_dir(std::uint32_t uid) const;

    result<queue_state*> find(const std::string& name);
    status ensure_batch();
    status touch(queue_state& q);
    status check_room_for_sends();
    status abandon_batch(const status& why);
    status append_and_apply(queue_state& q, const state_record& rec,
                            std::string_view body = {});
    status apply(queue_state& q, const state_record& rec,
                 storage::log_position at, std::uint64_t lsn);
    enum class receipt_use { ack, release, extend };
    result<index::message_row> current_delivery(queue_state& q,
                                                const std::string& receipt,
                                                receipt_use use,
                                                std::int64_t now);
    result<std::optional<delivered_message>> deliver(
        queue_state& queue, const index::message_row& row,
        std::int64_t visibility, std::int64_t now);
    status drop_unreadable(queue_state& queue, const index::message_row& row,
                           const status& why);
    result<std::string> read_body(queue_state& q, const index::message_row& m);
    status expire_messages(queue_state& q, std::int64_t now);
    status finish_interrupted_moves();
    status make_durable(queue_state& q);
    queue_state* dead_letter_queue(const queue_state& q);
    bool dead_letter_due(const queue_state& q,
                         const index::message_row& row) const;
    result<bool> move_messages(queue_state& from,
                               const std::vector<index::message_row>& rows,
                               queue_state& to, move_reason why,
                               std::int64_t now);
    status dead_letter_timed_out(queue_state& q, std::int64_t now);
    result<std::vector<index::message_row>> candidates(queue_state& q,
                                                       std::int64_t now,
                                                       std::int64_t max);
    result<std::vector<sent_message>> replay_send_reply(
        queue_state& q, const index::send_request& seen,
        const std::vector<outgoing_message>& batch);
    std::string dedup_key(const queue_state& q,
                          const outgoing_message& m) const;
    std::string message_id(const queue_state& q,
                           const index::message_row& row) const;
    delivered_message describe(const queue_state& q,
                               const index::message_row& row) const;
    status validate_links(const std::string& name,
                          const index::queue_config& c) const;
    status remove_unused_segments();
    status validate_config(const index::queue_config& c) const;

    engine_options options_;
    spdlog::logger& log_;
    spdlog::logger& storage_log_;
    std::unique_ptr<index::index_db> index_;
    std::string agent_id_;
    std::map<std::string, queue_state, std::less<>> queues_;
    bool in_batch_ = false;
    bool broken_ = false;
    bool last_batch_durable_ = false;
    bool disk_low_ = false;  // free space is below min_free_bytes
    status batch_failure_;   // an append of the open batch failed
    status undone_;          // a batch undone since the last end_turn()
    std::uint64_t commits_ = 1;
    std::mt19937 rng_;
    std::int64_t last_segment_sweep_ = 0;
    std::int64_t last_request_sweep_ = 0;
    bool recovering_ = false;
    std::vector<moved_in> moved_in_;  // found while recovering
};

// Message ids and receipts; formats in docs/protocol.md.
std::string format_message_id(std::uint32_t uid, std::uint64_t seq);
std::string format_receipt(std::uint32_t uid, std::uint64_t seq,
                           std::uint32_t token);
struct parsed_receipt {
    std::uint32_t uid = 0;
    std::uint64_t seq = 0;
    std::uint32_t token = 0;
};
std::optional<parsed_receipt> parse_receipt(std::string_view text);
// A message id; `token` is 0.
std::optional<parsed_receipt> parse_message_id(std::string_view text);

}  // namespace dmq::queue
