// Queue operations, recovery and housekeeping; see queue_engine.h for the
// batch rule every function here relies on.

#include "agent/queue/queue_engine.h"

#include "common/duration.h"
#include "common/message_fields.h"
#include "common/names.h"

#include <sodium.h>

#include <cinttypes>
#include <cstdio>
#include <set>
#include <sys/statvfs.h>
#include <system_error>

namespace dmq::queue {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kSegmentSweepMs = 5'000;
constexpr std::int64_t kRequestSweepMs = 60'000;
constexpr std::int64_t kRequestMemoryMs = 10 * 60'000;
constexpr std::int64_t kExpireBatch = 1'000;
constexpr std::int64_t kMaxReplyBodyBytes = 32 << 20;

constexpr std::int64_t kDeadLetterBatch = 1'000;
// The dedup key of a body's hash; shown without it, as the hash alone.
constexpr const char* kContentKeyPrefix = "body sha256 ";
constexpr std::int64_t kMaxPeekScan = 100'000;  // rows a peek looks at
constexpr std::int64_t kMaxReceivesLimit = 1'000;
constexpr std::int64_t kMaxDedupWindowMs = 7LL * 24 * 3600 * 1000;
constexpr std::int64_t kMaxVisibilityMs = 12LL * 3600 * 1000;
constexpr std::int64_t kMaxDelayMs = 15 * 60'000;

status not_found(const std::string& name) {
    return {errc::not_found, "unknown queue '" + name + "'"};
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest,
                       reinterpret_cast<const unsigned char*>(data.data()),
                       data.size());
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : digest) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

}  // namespace

std::string_view state_name(message_state s) {
    switch (s) {
        case message_state::visible:
            return "visible";
        case message_state::in_flight:
            return "in_flight";
        case message_state::delayed:
            return "delayed";
        case message_state::held:
            return "held";
    }
    return "visible";
}

std::string format_message_id(std::uint32_t uid, std::uint64_t seq) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08" PRIx32 "%016" PRIx64, uid, seq);
    return buf;
}

std::string format_receipt(std::uint32_t uid, std::uint64_t seq,
                           std::uint32_t token) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%08" PRIx32 "%016" PRIx64 ".%08" PRIx32,
                  uid, seq, token);
    return buf;
}

namespace {

bool parse_hex(std::string_view s, std::uint64_t& out) {
    out = 0;
    for (char c : s) {
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                         : -1;
        if (d < 0) {
            return false;
        }
        out = out * 16 + static_cast<std::uint64_t>(d);
    }
    return true;
}

}  // namespace

std::optional<parsed_receipt> parse_message_id(std::string_view text) {
    std::uint64_t uid = 0, seq = 0;
    if (text.size() != 24 || !parse_hex(text.substr(0, 8), uid) ||
        !parse_hex(text.substr(8), seq)) {
        return std::nullopt;
    }
    return parsed_receipt{static_cast<std::uint32_t>(uid), seq, 0};
}

std::optional<parsed_receipt> parse_receipt(std::string_view text) {
    std::uint64_t token = 0;
    if (text.size() != 33 || text[24] != '.' ||
        !parse_hex(text.substr(25), token)) {
        return std::nullopt;
    }
    auto id = parse_message_id(text.substr(0, 24));
    if (id) {
        id->token = static_cast<std::uint32_t>(token);
    }
    return id;
}

queue_engine::queue_engine(engine_options options, spdlog::logger& log,
                           spdlog::logger& storage_log,
                           std::unique_ptr<index::index_db> index)
    : options_(std::move(options)),
      log_(log),
      storage_log_(storage_log),
      index_(std::move(index)),
      rng_(std::random_device{}()) {}

result<std::unique_ptr<queue_engine>> queue_engine::open(
    const engine_options& options, spdlog::logger& log,
    spdlog::logger& storage_log, recovery_summary& summary) {
    if (sodium_init() < 0) {
        return status(errc::internal, "libsodium failed to initialise");
    }
    auto index = index::index_db::open(options.data_dir / "index.db");
    if (!index) {
        return index.error();
    }
    std::unique_ptr<queue_engine> engine(
        new queue_engine(options, log, storage_log, std::move(*index)));

    auto id = engine->index_->agent_id();
    if (!id) {
        return id.error();
    }
    engine->agent_id_ = *id;

    if (auto s = engine->recover(summary); !s) {
        return s;
    }
    return engine;
}

fs::path queue_engine::queue_dir(std::uint32_t uid) const {
    char name[16];
    std::snprintf(name, sizeof name, "%08" PRIx32, uid);
    return options_.data_dir / "queues" / name;
}

status queue_engine::recover(recovery_summary& summary) {
    if (auto s = finish_interrupted_deletes(); !s) {
        return s;
    }
    auto rows = index_->load_queues();
    if (!rows) {
        return rows.error();
    }
    recovering_ = true;
    for (auto& row : *rows) {
        std::string name = row.name;
        queue_state& q = queues_[name];
        q.row = std::move(row);
        if (auto s = recover_queue(q, summary); !s) {
            return s.with_context("recovery of queue '" + name + "'");
        }
    }
    recovering_ = false;
    if (auto s = finish_interrupted_moves(); !s) {
        return s;
    }
    summary.queues = queues_.size();
    warn_about_unknown_dirs();
    return commit_batch();
}

// A move syncs the message into its target before the source logs its
// removal, so a crash in between leaves it in both; the copy in the
// target wins, and the source's is removed here.
status queue_engine::finish_interrupted_moves() {
    for (const auto& m : std::exchange(moved_in_, {})) {
        for (auto& [name, q] : queues_) {
            if (q.row.uid != m.origin_uid) {
                continue;
            }
            auto row = index_->message(q.row.uid, m.origin_seq);
            if (!row) {
                return row.error();
            }
            if (!*row) {
                break;
            }
            if (auto s =
                    append_and_apply(q, remove_record{m.origin_seq, m.reason});
                !s) {
                return s;
            }
            log_.info(
                "recovery [queue={} msg={}]: finished a move interrupted by "
                "a crash; the message now lives only in its new queue",
                name, message_id(q, **row));
            break;
        }
    }
    return status::ok();
}

// True for a queue directory holding nothing but segments without a
// single record: there is no message in it to lose.
static bool holds_no_records(const fs::path& dir) {
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir, ec)) {
        std::uint64_t seq = 0;
        if (!storage::parse_segment_file_name(f.path().filename().string(),
                                              seq) ||
            f.file_size(ec) > storage::kSegmentHeaderBytes) {
            return false;
        }
    }
    return !ec;
}

// A directory no queue owns is left alone unless it holds no record at
// all: it may be data an operator restored by hand, and deleting data we
// do not understand is never safe.
void queue_engine::warn_about_unknown_dirs() {
    std::set<fs::path> known;
    for (const auto& [name, q] : queues_) {
        known.insert(queue_dir(q.row.uid));
    }
    std::error_code ec;
    for (const auto& entry :
         fs::directory_iterator(options_.data_dir / "queues", ec)) {
        if (entry.path().string().ends_with(".deleting")) {
            log_.error(
                "recovery: could not finish deleting {}; remove it "
                "by hand once the agent is stopped",
                entry.path().string());
        } else if (known.count(entry.path()) == 0 &&
                   holds_no_records(entry.path())) {
            // A create interrupted before its index row was written.
            fs::remove_all(entry.path(), ec);
            log_.info(
                "recovery: removed {}, left empty by an interrupted "
                "queue create",
                entry.path().string());
        } else if (known.count(entry.path()) == 0) {
            log_.warn(
                "recovery: {} belongs to no queue in the index; not "
                "loaded and left untouched. If index.db was lost or "
                "replaced, stop the agent and restore it from a "
                "backup; delete the directory only if its messages "
                "are not needed",
                entry.path().string());
        }
    }
}

status queue_engine::recover_queue(queue_state& q, recovery_summary& summary) {
    auto log =
        storage::queue_log::open(queue_dir(q.row.uid), options_.segment_bytes,
                                 storage_log_, summary.log, q.row.applied);
    if (!log) {
        return log.error();
    }
    q.log = std::move(*log);

    if (auto s = ensure_batch(); !s) {
        return s;
    }
    std::size_t before = summary.log.records_replayed;
    auto s = q.log->replay(
        q.row.applied,
        [&](storage::log_position at, const storage::record& rec) {
            auto decoded = decode(rec);
            if (!decoded) {
                return decoded.error().with_context(
                    "segment " + std::to_string(at.segment) + " offset " +
                    std::to_string(at.offset));
            }
            return apply(q, *decoded, at, rec.lsn);
        },
        summary.log);
    if (!s) {
        return s;
    }
    q.before = q.row;
    q.batch_start = q.log->end();
    q.row.applied = q.log->end();
    q.touched = true;
    std::size_t replayed = summary.log.records_replayed - before;
    if (replayed > 0) {
        log_.info(
            "recovery [queue={}]: re-indexed {} log records the "
            "index lacked",
            q.row.name, replayed);
    }
    return drop_messages_of_lost_segments(q);
}

// Every segment a message lives in must be there, unless an operator
// marked it as lost; then its messages are dropped once, here, rather
// than one error at a time as receives trip over them.
status queue_engine::drop_messages_of_lost_segments(queue_state& q) {
    auto live = index_->live_segments(q.row.uid);
    if (!live) {
        return live.error();
    }
    for (std::uint64_t seg : *live) {
        if (q.log->has_segment(seg)) {
            continue;
        }
        auto seqs = index_->messages_in_segment(q.row.uid, seg);
        if (!seqs) {
            return seqs.error();
        }
        auto path = queue_dir(q.row.uid) / storage::segment_file_name(seg);
        if (!q.log->accepted_as_lost(seg)) {
            return status(errc::corrupt_data,
                          path.string() + " is missing, but " +
                              std::to_string(seqs->size()) +
                              " messages live in it, so the agent will not "
                              "start. " +
                              storage::lost_segment_advice(path));
        }
        for (std::uint64_t seq : *seqs) {
            if (auto s = append_and_apply(
                    q, remove_record{seq, remove_reason::unreadable});
                !s) {
                return s;
            }
        }
        log_.warn(
            "recovery [queue={}]: dropped {} messages of {}, which "
            "was marked as lost",
            q.row.name, seqs->size(), path.string());
    }
    return status::ok();
}

// A delete renames the queue's directory to *.deleting before it drops the
// index row, so a crash in between leaves a marker this finishes.
status queue_engine::finish_interrupted_deletes() {
    fs::path root = options_.data_dir / "queues";
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) {
        return status(errc::io_error,
                      "create " + root.string() + ": " + ec.message());
    }
    auto rows = index_->load_queues();
    if (!rows) {
        return rows.error();
    }
    for (const auto& entry : fs::directory_iterator(root, ec)) {
        std::string name = entry.path().filename().string();
        if (!name.ends_with(".deleting")) {
            continue;
        }
        std::uint32_t uid =
            static_cast<std::uint32_t>(std::strtoul(name.c_str(), nullptr, 16));
        for (const auto& row : *rows) {
            if (row.uid == uid) {
                if (auto s = index_->delete_queue(uid); !s) {
                    return s;
                }
                log_.info(
                    "recovery [queue={}]: finished an interrupted "
                    "delete",
                    row.name);
            }
        }
        fs::remove_all(entry.path(), ec);
    }
    return status::ok();
}

status queue_engine::ensure_batch() {
    if (in_batch_) {
        return status::ok();
    }
    if (auto s = index_->begin(); !s) {
        return s;
    }
    in_batch_ = true;
    return status::ok();
}

status queue_engine::commit_batch() {
    if (!in_batch_) {
        return status::ok();
    }
    last_batch_durable_ = false;

    // Writing can still fail harmlessly (a full disk): nothing of the batch
    // has been acknowledged, so it is undone and the agent goes on.
    status failed = batch_failure_;
    for (auto& [name, q] : queues_) {
        if (failed.is_ok() && q.touched) {
            failed = q.log->flush().with_context("queue '" + name + "'");
        }
    }
    if (!failed) {
        return abandon_batch(failed);
    }

    // From the first fsync on, a failure leaves the disk in a state no one
    // can vouch for: the agent must stop and recover from the logs.
    for (auto& [name, q] : queues_) {
        if (!q.touched) {
            continue;
        }
        if (auto s = q.log->sync(); !s) {
            broken_ = true;
            return s.with_context("queue '" + name + "'");
        }
        if (auto s = index_->save_progress(q.row); !s) {
            broken_ = true;
            return s;
        }
        q.touched = false;
    }
    in_batch_ = false;
    last_batch_durable_ = true;
    if (auto s = index_->commit(); !s) {
        broken_ = true;
        return s;
    }
    ++commits_;
    return status::ok();
}

status queue_engine::end_turn() {
    status s = commit_batch();
    status undone = std::exchange(undone_, status::ok());
    return s ? undone : s;
}

status queue_engine::abandon_batch(const status& why) {
    for (auto& [name, q] : queues_) {
        if (!q.touched) {
            continue;
        }
        if (auto s = q.log->rewind(q.batch_start); !s) {
            broken_ = true;
            return s.with_context("undo a failed write to queue '" + name +
                                  "'");
        }
        q.row = q.before;
        q.touched = false;
    }
    in_batch_ = false;
    batch_failure_ = status::ok();
    if (auto s = index_->rollback(); !s) {
        broken_ = true;
        return s;
    }
    log_.error(
        "writing a batch failed: {}; nothing of it was stored, and "
        "its requests were refused",
        why.message());
    undone_ = status(why.code(), "the agent could not write to its disk (" +
                                     why.message() +
                                     "); nothing was stored. Free space on "
                                     "the agent's disk and retry");
    return undone_;
}

result<queue_engine::queue_state*> queue_engine::find(const std::string& name) {
    auto it = queues_.find(name);
    if (it == queues_.end()) {
        return not_found(name);
    }
    return &it->second;
}

std::string queue_engine::suggest(const std::string& name) const {
    std::vector<std::string> names;
    for (const auto& [n, q] : queues_) {
        names.push_back(n);
    }
    return closest_name(name, names);
}

// Joins the queue to the open batch, so that the batch saves (or undoes)
// its row: its counters may change without a record, as a duplicate's do.
status queue_engine::touch(queue_state& q) {
    if (auto s = ensure_batch(); !s) {
        return s;
    }
    if (!q.touched) {
        q.before = q.row;
        q.batch_start = q.log->end();
        q.touched = true;
    }
    return status::ok();
}

status queue_engine::append_and_apply(queue_state& q, const state_record& rec,
                                      std::string_view body) {
    if (auto s = touch(q); !s) {
        return s;
    }
    std::uint64_t lsn = q.row.next_lsn;
    std::string head = encode_head(rec);
    auto at =
        q.log->append(static_cast<std::uint8_t>(type_of(rec)), lsn, head, body);
    if (!at) {
        // Earlier records of this request may be in the batch already: the
        // whole batch is undone at commit, so none of it half-happens.
        batch_failure_ = at.error();
        return at.error();
    }
    if (auto s = apply(q, rec, *at, lsn); !s) {
        return s;
    }
    q.row.applied = q.log->end();
    return status::ok();
}

status queue_engine::apply(queue_state& q, const state_record& rec,
                           storage::log_position at, std::uint64_t lsn) {
    std::uint32_t uid = q.row.uid;
    auto& counters = q.row.counters;
    q.row.next_lsn = std::max(q.row.next_lsn, lsn + 1);

    if (auto* send = std::get_if<send_record>(&rec)) {
        index::message_row m;
        m.seq = send->seq;
        m.at = at;
        m.size = static_cast<std::int64_t>(send->body.size());
        m.sent_at = send->sent_at;
        m.visible_at = send->visible_at;
        m.expires_at = send->expires_at;
        m.receive_count = send->receive_count;
        m.arrived_count = send->receive_count;
        m.attributes = send->attributes;
        m.priority = send->priority;
        m.group = send->group;
        m.dedup_id = send->dedup_id;
        m.id_uid = send->id_uid;
        m.id_seq = send->id_seq;
        m.redrive_count = send->redrive_count;
        m.source_queue = send->source_queue;
        if (!m.group.empty()) {
            auto busy = index_->group_has_messages(uid, m.group);
            if (!busy) {
                return busy.error();
            }
            m.held = *busy;
        }
        q.row.next_seq = std::max(q.row.next_seq, send->seq + 1);
        if (send->moved == move_reason::none) {
            ++counters.sent;
        } else if (recovering_) {
            moved_in_.push_back({send->origin_uid, send->origin_seq,
                                 send->moved == move_reason::dead_letter
                                     ? remove_reason::dead_lettered
                                     : remove_reason::redriven});
        }
        if (!send->request_id.empty()) {
            if (auto s = index_->remember_send(send->request_id, send->sent_at,
                                               uid, send->seq);
                !s) {
                return s;
            }
        }
        if (send->dedup_until > 0) {
            index::dedup_entry e{m.id_uid ? m.id_uid : uid,
                                 m.id_uid ? m.id_seq : m.seq,
                                 send->dedup_until};
            if (auto s = index_->remember_dedup(uid, send->dedup_id, e); !s) {
                return s;
            }
        }
        return index_->insert_message(uid, m);
    }
    if (auto* d = std::get_if<deliver_record>(&rec)) {
        ++counters.received;
        return index_->set_delivery(uid, d->seq, d->token, d->visible_at,
                                    d->receive_count);
    }
    if (auto* v = std::get_if<visibility_record>(&rec)) {
        if (!v->in_flight) {
            ++counters.released;
        }
        return index_->set_visibility(uid, v->seq, v->visible_at, v->in_flight);
    }
    if (auto* r = std::get_if<remove_record>(&rec)) {
        switch (r->reason) {
            case remove_reason::acked:
                ++counters.acked;
                break;
            case remove_reason::expired:
                ++counters.expired;
                break;
            case remove_reason::dead_lettered:
                ++counters.dead_lettered;
                break;
            case remove_reason::redriven:
                ++counters.redriven;
                break;
            case remove_reason::unreadable:
                break;
        }
        // Only a FIFO queue needs the row: its group's next message takes
        // over as head.
        index::message_row gone;
        gone.seq = r->seq;
        if (q.row.config.fifo) {
            auto row = index_->message(uid, r->seq);
            if (!row) {
                return row.error();
            }
            if (*row) {
                gone = **row;
            }
        }
        return index_->delete_message(uid, gone);
    }
    const auto& p = std::get<purge_record>(rec);
    auto removed = index_->delete_messages_below(uid, p.below_seq);
    if (!removed) {
        return removed.error();
    }
    counters.purged += *removed;
    return status::ok();
}

status queue_engine::validate_config(const index::queue_config& c) const {
    auto bad = [](std::string what) {
        return status(errc::bad_request, std::move(what));
    };
    if (c.visibility_ms < 0 || c.visibility_ms > kMaxVisibilityMs) {
        return bad("visibility timeout must be between 0 and 12h");
    }
    if (c.retention_ms < 1000 || c.retention_ms > kMaxDurationMs) {
        return bad("retention must be between 1s and 36500d");
    }
    if (c.max_size < 1 || c.max_size > kMaxBodyLimit) {
        return bad("maximum message size must be between 1 byte and 16MiB");
    }
    if (c.delay_ms < 0 || c.delay_ms > kMaxDelayMs) {
        return bad("delay must be between 0 and 15m");
    }
    if (c.dedup_window_ms < 1000 || c.dedup_window_ms > kMaxDedupWindowMs) {
        return bad("dedup window must be between 1s and 7d");
    }
    if (c.content_dedup && !c.fifo) {
        return bad("content-based dedup is for FIFO queues only");
    }
    if (c.dlq.empty() && c.max_receives != 0) {
        return bad("max receives needs a dead-letter queue: give a dlq too");
    }
    if (!c.dlq.empty() &&
        (c.max_receives < 1 || c.max_receives > kMaxReceivesLimit)) {
        return bad("a dead-letter queue needs max receives between 1 and " +
                   std::to_string(kMaxReceivesLimit));
    }
    return status::ok();
}

// The dead-letter queue must exist and be of the same kind, so a FIFO
// message keeps its group and a standard one its priority.
status queue_engine::validate_links(const std::string& name,
                                    const index::queue_config& c) const {
    if (c.dlq.empty()) {
        return status::ok();
    }
    if (c.dlq == name) {
        return status(errc::bad_request, "queue '" + name +
                                             "' cannot be its own dead-letter "
                                             "queue");
    }
    auto it = queues_.find(c.dlq);
    if (it == queues_.end()) {
        return status(errc::not_found, "dead-letter queue '" + c.dlq +
                                           "' does not exist; create it first");
    }
    // Follow the chain: a message must not be able to go round for ever.
    std::string next = c.dlq;
    for (std::size_t hops = 0; !next.empty() && hops <= queues_.size();
         ++hops) {
        if (next == name) {
            return status(errc::bad_request,
                          "dead-letter queue '" + c.dlq + "' leads back to '" +
                              name +
                              "' through the dead-letter queues after it; "
                              "choose one that does not");
        }
        auto hop = queues_.find(next);
        next = hop == queues_.end() ? "" : hop->second.row.config.dlq;
    }
    if (it->second.row.config.fifo != c.fifo) {
        return status(errc::bad_request,
                      std::string("dead-letter queue '") + c.dlq + "' is " +
                          (c.fifo ? "not a FIFO queue, but '" + name +
                                        "' is; use a FIFO queue"
                                  : "a FIFO queue, but '" + name +
                                        "' is not; use a standard queue"));
    }
    return status::ok();
}

namespace {

status check_change(const config_change& change) {
    if (change.dlq && change.dlq->empty() && change.max_receives) {
        return status(errc::bad_request,
                      "max receives needs a dead-letter queue, but the "
                      "request removes it");
    }
    return status::ok();
}

void apply_change(index::queue_config& c, const config_change& change) {
    c.visibility_ms = change.visibility_ms.value_or(c.visibility_ms);
    c.retention_ms = change.retention_ms.value_or(c.retention_ms);
    c.max_size = change.max_size.value_or(c.max_size);
    c.delay_ms = change.delay_ms.value_or(c.delay_ms);
    c.dlq = change.dlq.value_or(c.dlq);
    c.max_receives = change.max_receives.value_or(c.max_receives);
    if (change.dlq && change.dlq->empty()) {
        c.max_receives = 0;
    }
    c.dedup_window_ms = change.dedup_window_ms.value_or(c.dedup_window_ms);
    c.content_dedup = change.content_dedup.value_or(c.content_dedup);
}

}  // namespace

result<queue_info> queue_engine::create_queue(const std::string& name,
                                              const config_change& change,
                                              std::int64_t now) {
    if (auto s = validate_queue_name(name); !s) {
        return s;
    }
    if (queues_.count(name) != 0) {
        return status(errc::queue_exists,
                      "queue '" + name + "' already exists");
    }
    index::queue_row row;
    row.name = name;
    row.created_at = now;
    row.config.fifo = change.fifo.value_or(false);
    if (auto s = check_change(change); !s) {
        return s;
    }
    apply_change(row.config, change);
    // The dead-letter queue first: "no such queue" says more than a
    // missing max receives would.
    if (auto s = validate_links(name, row.config); !s) {
        return s;
    }
    if (auto s = validate_config(row.config); !s) {
        return s;
    }
    do {
        row.uid = static_cast<std::uint32_t>(rng_());
    } while (row.uid == 0 || fs::exists(queue_dir(row.uid)));

    if (auto s = commit_batch(); !s) {
        return s;
    }
    storage::recovery_report report;
    auto log = storage::queue_log::open(
        queue_dir(row.uid), options_.segment_bytes, storage_log_, report);
    if (!log) {
        // Nothing is in the new directory yet; leave no trace of it.
        std::error_code ec;
        fs::remove_all(queue_dir(row.uid), ec);
        return log.error();
    }
    row.applied = (*log)->end();
    if (auto s = index_->insert_queue(row); !s) {
        (*log)->destroy();
        return s;
    }

    queue_state& q = queues_[name];
    q.row = row;
    q.log = std::move(*log);
    log_.info(
        "[queue={}]: created ({}, visibility {}, retention {}, "
        "max size {}, delay {}, dead letters {})",
        name, row.config.fifo ? "FIFO" : "standard",
        format_duration(millis(row.config.visibility_ms)),
        format_duration(millis(row.config.retention_ms)),
        format_size(static_cast<std::uint64_t>(row.config.max_size)),
        format_duration(millis(row.config.delay_ms)),
        row.config.dlq.empty()
            ? std::string("none")
            : row.config.dlq + " after " +
                  std::to_string(row.config.max_receives) + " receives");
    return info(name, now);
}

result<queue_info> queue_engine::update_queue(const std::string& name,
                                              const config_change& change,
                                              std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    index::queue_row row = (*q)->row;
    if (change.fifo && *change.fifo != row.config.fifo) {
        return status(errc::bad_request,
                      "whether a queue is FIFO is fixed when it is created; "
                      "create a new queue instead");
    }
    if (auto s = check_change(change); !s) {
        return s;
    }
    apply_change(row.config, change);
    // The dead-letter queue first: "no such queue" says more than a
    // missing max receives would.
    if (auto s = validate_links(name, row.config); !s) {
        return s;
    }
    if (auto s = validate_config(row.config); !s) {
        return s;
    }
    if (auto s = commit_batch(); !s) {
        return s;
    }
    if (auto s = index_->update_config(row); !s) {
        return s;
    }
    (*q)->row.config = row.config;
    log_.info("[queue={}]: settings updated", name);
    return info(name, now);
}

status queue_engine::delete_queue(const std::string& name, bool force,
                                  std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    auto counts = index_->counts((*q)->row.uid, now);
    if (!counts) {
        return counts.error();
    }
    for (const auto& [other, state] : queues_) {
        if (state.row.config.dlq == name) {
            return status(errc::queue_in_use,
                          "queue '" + name + "' is the dead-letter queue of '" +
                              other + "'; update '" + other +
                              "' to use another (or none) first");
        }
    }
    std::int64_t held =
        counts->visible + counts->in_flight + counts->delayed + counts->held;
    if (held > 0 && !force) {
        return status(
            errc::queue_not_empty,
            "queue '" + name + "' holds " + std::to_string(held) +
                " messages; purge it first (dmq queue purge) or delete "
                "it with them (--force)");
    }
    if (auto s = commit_batch(); !s) {
        return s;
    }

    // Rename first: from here on a crash finishes the delete at restart
    // instead of bringing the queue back.
    fs::path dir = queue_dir((*q)->row.uid);
    fs::path doomed = dir;
    doomed += ".deleting";
    std::error_code ec;
    fs::rename(dir, doomed, ec);
    if (ec) {
        return status(errc::io_error,
                      "rename " + dir.string() + ": " + ec.message());
    }
    if (auto s = storage::sync_directory(dir.parent_path()); !s) {
        return s;
    }
    if (auto s = index_->delete_queue((*q)->row.uid); !s) {
        return s;
    }
    queues_.erase(name);
    fs::remove_all(doomed, ec);
    if (ec) {
        // The queue is gone from the index, so the delete stands; only the
        // disk space is not yet given back.
        log_.error(
            "[queue={}]: deleted, but removing {} failed: {}; the "
            "next start retries",
            name, doomed.string(), ec.message());
    }
    log_.info("[queue={}]: deleted ({} messages dropped)", name, held);
    return status::ok();
}

result<std::int64_t> queue_engine::purge_queue(const std::string& name) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    std::int64_t before = (*q)->row.counters.purged;
    purge_record rec{(*q)->row.next_seq};
    if (auto s = append_and_apply(**q, rec); !s) {
        return s;
    }
    std::int64_t purged = (*q)->row.counters.purged - before;
    log_.info("[queue={}]: purged {} messages", name, purged);
    return purged;
}

result<queue_info> queue_engine::info(const std::string& name,
                                      std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    auto counts = index_->counts((*q)->row.uid, now);
    if (!counts) {
        return counts.error();
    }
    return queue_info{(*q)->row, *counts};
}

result<std::vector<queue_info>> queue_engine::list(std::int64_t now) {
    std::vector<queue_info> out;
    for (const auto& [name, q] : queues_) {
        auto i = info(name, now);
        if (!i) {
            return i.error();
        }
        out.push_back(std::move(*i));
    }
    return out;
}

std::string queue_engine::dedup_key(const queue_state& q,
                                    const outgoing_message& m) const {
    if (!m.dedup_id.empty() || !q.row.config.content_dedup) {
        return m.dedup_id;
    }
    // Dedup ids cannot hold a space, so no id can pose as a body's hash.
    return kContentKeyPrefix + sha256_hex(m.body);
}

result<std::vector<sent_message>> queue_engine::send(
    const std::string& name, const std::string& request_id,
    std::vector<outgoing_message> batch, std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    queue_state& queue = **q;
    const auto& config = queue.row.config;

    // A retry of a send that was stored before a restart.
    if (!request_id.empty()) {
        auto seen = index_->find_send(request_id);
        if (!seen) {
            return seen.error();
        }
        if (*seen && (*seen)->uid == queue.row.uid) {
            return replay_send_reply(queue, **seen, batch);
        }
        if (*seen) {
            return status(errc::bad_request,
                          "request id '" + request_id +
                              "' was already used for a send to another "
                              "queue; give every request a new random id");
        }
    }

    if (auto s = check_room_for_sends(); !s) {
        return s;
    }

    // Check everything before writing anything: a send is all or nothing.
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& m = batch[i];
        std::string which =
            batch.size() == 1
                ? std::string("the message")
                : "message " + std::to_string(i + 1) + " of this request";
        auto bad = [&](std::string why) {
            return status(errc::bad_request, which + ": " + why);
        };
        if (static_cast<std::int64_t>(m.body.size()) > config.max_size) {
            return status(
                errc::too_large,
                which + " is " + std::to_string(m.body.size()) +
                    " bytes, over the maximum size of queue '" + name + "' (" +
                    format_size(static_cast<std::uint64_t>(config.max_size)) +
                    ")");
        }
        if (m.delay_ms && (*m.delay_ms < 0 || *m.delay_ms > kMaxDelayMs)) {
            return bad("delay must be between 0 and 15m");
        }
        if (config.fifo && m.group.empty()) {
            return bad("queue '" + name +
                       "' is a FIFO queue: each message needs a group "
                       "(dmq send --group G)");
        }
        if (config.fifo && m.delay_ms) {
            return bad("queue '" + name +
                       "' is a FIFO queue: a delay per message would hold "
                       "back its whole group; set the queue's delay instead");
        }
        if (config.fifo && m.priority) {
            return bad("queue '" + name +
                       "' is a FIFO queue: priorities are for standard "
                       "queues, FIFO queues keep send order per group");
        }
        if (!config.fifo && !m.group.empty()) {
            return bad("queue '" + name +
                       "' is not a FIFO queue: groups need a queue created "
                       "as one (dmq queue create NAME --fifo)");
        }
        // Checked at the wire too, but the log must never hold a value its
        // reader refuses (a priority over 9 would stop the next start).
        if (!m.group.empty()) {
            if (auto s = validate_group(m.group); !s) {
                return bad(s.message());
            }
        }
        if (!m.dedup_id.empty()) {
            if (auto s = validate_dedup_id(m.dedup_id); !s) {
                return bad(s.message());
            }
        }
        if (m.priority) {
            if (auto s = validate_priority(*m.priority); !s) {
                return bad(s.message());
            }
        }
    }

    std::vector<sent_message> out;
    out.reserve(batch.size());
    bool keyed = false;  // some message had a dedup id (or body hash)
    for (const auto& m : batch) {
        std::string key = dedup_key(queue, m);
        if (!key.empty()) {
            keyed = true;
            auto first = index_->find_dedup(queue.row.uid, key);
            if (!first) {
                return first.error();
            }
            if (*first && (*first)->until > now) {
                if (auto s = touch(queue); !s) {
                    return s;
                }
                ++queue.row.counters.duplicates;
                out.push_back(
                    {format_message_id((*first)->id_uid, (*first)->id_seq),
                     true});
                continue;
            }
        }
        send_record rec;
        rec.seq = queue.row.next_seq;
        rec.sent_at = now;
        rec.visible_at = now + m.delay_ms.value_or(config.delay_ms);
        rec.expires_at = now + config.retention_ms;
        rec.request_id = request_id;
        rec.attributes = m.attributes;
        rec.priority = static_cast<std::uint8_t>(
            config.fifo ? kDefaultPriority
                        : m.priority.value_or(kDefaultPriority));
        rec.group = m.group;
        rec.dedup_id = key;
        rec.dedup_until = key.empty() ? 0 : now + config.dedup_window_ms;
        rec.body = m.body;
        if (auto s = append_and_apply(queue, rec, m.body); !s) {
            return s;
        }
        out.push_back({format_message_id(queue.row.uid, rec.seq), false});
    }
    // Without dedup ids the reply follows from the stored messages alone
    // (replay_send_reply), so only a keyed send pays for saving it.
    if (!request_id.empty() && keyed) {
        std::string saved;
        for (const auto& m : out) {
            saved += m.id;
            saved += m.duplicate ? '1' : '0';
        }
        if (auto s = index_->remember_send_reply(request_id, now, queue.row.uid,
                                                 saved);
            !s) {
            return s;
        }
    }
    return out;
}

// The answer to a send retried after a restart. A send with dedup ids
// saved its reply with the request id, and that is the answer; only a
// crash between the logs' sync and the index's commit loses it (the
// client then never had that reply). Otherwise it is rebuilt: the stored
// messages are known by request id, in order, and a message that
// repeated a dedup id through that id.
result<std::vector<sent_message>> queue_engine::replay_send_reply(
    queue_state& q, const index::send_request& seen,
    const std::vector<outgoing_message>& batch) {
    std::vector<sent_message> out;
    constexpr std::size_t kEntry = 25;  // 24 hex digits and a 0/1 flag
    if (!seen.reply.empty() && seen.reply.size() == kEntry * batch.size()) {
        for (std::size_t at = 0; at < seen.reply.size(); at += kEntry) {
            out.push_back({seen.reply.substr(at, kEntry - 1),
                           seen.reply[at + kEntry - 1] == '1'});
        }
        return out;
    }
    std::uint64_t next = seen.first_seq;
    std::uint64_t end = seen.first_seq + static_cast<std::uint64_t>(seen.count);
    for (const auto& m : batch) {
        std::string key = dedup_key(q, m);
        if (!key.empty()) {
            auto first = index_->find_dedup(q.row.uid, key);
            if (!first) {
                return first.error();
            }
            bool this_one = *first && (*first)->id_uid == q.row.uid &&
                            (*first)->id_seq == next;
            if (*first && !this_one) {
                out.push_back(
                    {format_message_id((*first)->id_uid, (*first)->id_seq),
                     true});
                continue;
            }
        }
        if (next >= end) {
            return status(errc::bad_request,
                          "request id reused: it names an earlier send of " +
                              std::to_string(seen.count) +
                              " messages to queue '" + q.row.name +
                              "' that this request does not match");
        }
        out.push_back({format_message_id(q.row.uid, next++), false});
    }
    return out;
}

status queue_engine::check_room_for_sends() {
    struct statvfs st {};
    if (options_.min_free_bytes == 0 ||
        ::statvfs(options_.data_dir.c_str(), &st) != 0) {
        return status::ok();
    }
    std::uint64_t free = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    bool low = free < options_.min_free_bytes;
    std::string amount = free >= (1 << 20) ? std::to_string(free >> 20) + "MiB"
                                           : std::to_string(free >> 10) + "KiB";
    std::string room =
        amount + " free on the disk of " + options_.data_dir.string();
    if (low != disk_low_) {
        disk_low_ = low;
        if (low) {
            log_.warn(
                "disk nearly full: {}, below --min-free-disk {}; "
                "refusing sends until space is freed",
                room, format_size(options_.min_free_bytes));
        } else {
            log_.info("disk has room again: {}; taking sends", room);
        }
    }
    if (!low) {
        return status::ok();
    }
    return status(errc::io_error,
                  "the agent's disk is nearly full (" + room +
                      ", below --min-free-disk " +
                      format_size(options_.min_free_bytes) +
                      "): sends are refused until space is freed; receives "
                      "and acks still work");
}

result<std::string> queue_engine::read_body(queue_state& q,
                                            const index::message_row& m) {
    auto rec = q.log->read(m.at);
    if (!rec) {
        return rec.error();
    }
    auto decoded = decode(*rec);
    if (!decoded) {
        return decoded.error();
    }
    auto* send = std::get_if<send_record>(&*decoded);
    if (!send || send->seq != m.seq) {
        return status(errc::corrupt_data,
                      "index points at a record that is not the send of "
                      "message " +
                          std::to_string(m.seq));
    }
    return std::string(send->body);
}

std::string queue_engine::message_id(const queue_state& q,
                                     const index::message_row& row) const {
    return row.id_uid != 0 ? format_message_id(row.id_uid, row.id_seq)
                           : format_message_id(q.row.uid, row.seq);
}

delivered_message queue_engine::describe(const queue_state& q,
                                         const index::message_row& row) const {
    delivered_message d;
    d.id = message_id(q, row);
    d.receive_count = row.receive_count;
    d.sent_at = row.sent_at;
    d.attributes = row.attributes;
    d.priority = row.priority;
    d.group = row.group;
    d.dedup_id = row.dedup_id;
    if (d.dedup_id.starts_with(kContentKeyPrefix)) {
        d.dedup_id.erase(0, std::string_view(kContentKeyPrefix).size());
    }
    d.source_queue = row.source_queue;
    d.redrive_count = row.redrive_count;
    return d;
}

// The messages a receive may hand out, in delivery order: by priority,
// then by when they became visible. Bounds the reply, not only the count:
// a receive of 10000 large messages would otherwise hold gigabytes in
// memory at once. Always keeps one.
result<std::vector<index::message_row>> queue_engine::candidates(
    queue_state& q, std::int64_t now, std::int64_t max) {
    std::vector<index::message_row> rows;
    std::int64_t bytes = 0;
    for (int priority = 0; priority <= kMaxPriority; ++priority) {
        std::int64_t want = max - static_cast<std::int64_t>(rows.size());
        if (want <= 0) {
            break;
        }
        auto more = index_->visible(q.row.uid, priority, now, want);
        if (!more) {
            return more.error();
        }
        for (auto& row : *more) {
            bytes += row.size;
            if (!rows.empty() && bytes > kMaxReplyBodyBytes) {
                return rows;
            }
            rows.push_back(std::move(row));
        }
    }
    return rows;
}

bool queue_engine::dead_letter_due(const queue_state& q,
                                   const index::message_row& row) const {
    const auto& c = q.row.config;
    // Deliveries in this queue: a dead-lettered message arrives with the
    // count it had, and the dead-letter queue's own limit starts from it.
    std::int64_t here = static_cast<std::int64_t>(row.receive_count) -
                        static_cast<std::int64_t>(row.arrived_count);
    return !c.dlq.empty() && c.max_receives > 0 && here >= c.max_receives;
}

queue_engine::queue_state* queue_engine::dead_letter_queue(
    const queue_state& q) {
    auto it = queues_.find(q.row.config.dlq);
    return it == queues_.end() ? nullptr : &it->second;
}

result<std::vector<delivered_message>> queue_engine::receive(
    const std::string& name, std::int64_t max,
    std::optional<std::int64_t> visibility_ms, std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    queue_state& queue = **q;
    std::int64_t visibility =
        visibility_ms.value_or(queue.row.config.visibility_ms);

    // Unreadable messages are dropped and spent ones dead-lettered on the
    // way, so look again until the request is filled or nothing is left.
    // A message handed out by this very receive is not looked at again,
    // even with a visibility timeout of 0 that makes it visible at once.
    std::set<std::uint64_t> handed;
    std::vector<delivered_message> out;
    bool look_again = true;
    while (look_again && static_cast<std::int64_t>(out.size()) < max) {
        look_again = false;
        auto rows = candidates(queue, now,
                               max - static_cast<std::int64_t>(out.size()) +
                                   static_cast<std::int64_t>(handed.size()));
        if (!rows) {
            return rows.error();
        }
        std::vector<index::message_row> spent;
        auto* dlq = dead_letter_queue(queue);
        for (const auto& row : *rows) {
            if (handed.count(row.seq) != 0 ||
                static_cast<std::int64_t>(out.size()) >= max) {
                continue;
            }
            if (dlq != nullptr && dead_letter_due(queue, row)) {
                spent.push_back(row);
                continue;
            }
            handed.insert(row.seq);
            auto delivered = deliver(queue, row, visibility, now);
            if (!delivered) {
                return delivered.error();
            }
            if (!*delivered) {
                look_again = true;
                continue;
            }
            out.push_back(std::move(**delivered));
        }
        if (!spent.empty()) {
            // One sync of the dead-letter queue for all of them.
            auto moved = move_messages(queue, spent, *dlq,
                                       move_reason::dead_letter, now);
            if (!moved) {
                return moved.error();
            }
            look_again = true;
        }
    }
    return out;
}

result<std::optional<delivered_message>> queue_engine::deliver(
    queue_state& queue, const index::message_row& row, std::int64_t visibility,
    std::int64_t now) {
    auto body = read_body(queue, row);
    if (!body && body.error().code() != errc::corrupt_data) {
        return body.error();  // the disk may recover; the data is not lost
    }
    if (!body) {
        if (auto s = drop_unreadable(queue, row, body.error()); !s) {
            return s;
        }
        return std::optional<delivered_message>();
    }
    deliver_record rec;
    rec.seq = row.seq;
    do {
        rec.token = static_cast<std::uint32_t>(rng_());
    } while (rec.token == 0);
    rec.visible_at = now + visibility;
    rec.receive_count = row.receive_count + 1;
    if (auto s = append_and_apply(queue, rec); !s) {
        return s;
    }
    delivered_message d = describe(queue, row);
    d.receipt = format_receipt(queue.row.uid, row.seq, rec.token);
    d.receive_count = rec.receive_count;
    d.body = std::move(*body);
    return std::optional<delivered_message>(std::move(d));
}

status queue_engine::make_durable(queue_state& q) {
    if (auto s = q.log->flush(); !s) {
        batch_failure_ = s;
        return s;
    }
    if (auto s = q.log->sync(); !s) {
        broken_ = true;
        return s;
    }
    return status::ok();
}

// Moves messages from one queue to another. Each is first written to the
// target's log and synced there; only then does the source log its
// removal. A crash in between leaves a copy in both, which recovery
// resolves in favour of the target (finish_interrupted_moves), so no
// order of events loses one. Returns whether anything moved.
result<bool> queue_engine::move_messages(
    queue_state& from, const std::vector<index::message_row>& rows,
    queue_state& to, move_reason why, std::int64_t now) {
    std::vector<std::pair<index::message_row, std::string>> moving;
    for (const auto& row : rows) {
        auto body = read_body(from, row);
        if (!body && body.error().code() != errc::corrupt_data) {
            return body.error();
        }
        if (!body) {
            if (auto s = drop_unreadable(from, row, body.error()); !s) {
                return s;
            }
            continue;
        }
        moving.emplace_back(row, std::move(*body));
    }
    if (moving.empty()) {
        return false;
    }

    bool dead_letter = why == move_reason::dead_letter;
    for (const auto& [row, body] : moving) {
        send_record rec;
        rec.seq = to.row.next_seq;
        rec.sent_at = row.sent_at;
        rec.visible_at = now;
        rec.expires_at = now + to.row.config.retention_ms;
        rec.attributes = row.attributes;
        rec.priority = static_cast<std::uint8_t>(row.priority);
        rec.group = row.group;
        rec.dedup_id = row.dedup_id;
        rec.id_uid = row.id_uid != 0 ? row.id_uid : from.row.uid;
        rec.id_seq = row.id_uid != 0 ? row.id_seq : row.seq;
        rec.receive_count = dead_letter ? row.receive_count : 0;
        rec.redrive_count = row.redrive_count + (dead_letter ? 0 : 1);
        rec.source_queue = dead_letter ? from.row.name : row.source_queue;
        rec.moved = why;
        rec.origin_uid = from.row.uid;
        rec.origin_seq = row.seq;
        rec.body = body;
        if (auto s = append_and_apply(to, rec, body); !s) {
            return s;
        }
    }
    if (auto s = make_durable(to); !s) {
        return s.with_context("queue '" + to.row.name + "'");
    }
    for (const auto& [row, body] : moving) {
        if (auto s = append_and_apply(
                from, remove_record{row.seq, dead_letter
                                                 ? remove_reason::dead_lettered
                                                 : remove_reason::redriven});
            !s) {
            return s;
        }
        if (dead_letter) {
            log_.info(
                "[queue={} msg={}]: moved to dead-letter queue {} after {} "
                "receives",
                from.row.name, message_id(from, row), to.row.name,
                row.receive_count);
        }
    }
    return true;
}

// A message whose body cannot be read would otherwise stay visible for
// ever and block every one-at-a-time consumer behind it.
status queue_engine::drop_unreadable(queue_state& queue,
                                     const index::message_row& row,
                                     const status& why) {
    log_.error(
        "[queue={} msg={}]: body unreadable: {}; dropped it from the "
        "queue (its bytes stay in segment {} until that is reclaimed)",
        queue.row.name, format_message_id(queue.row.uid, row.seq),
        why.message(), row.at.segment);
    return append_and_apply(queue,
                            remove_record{row.seq, remove_reason::unreadable});
}

result<std::vector<delivered_message>> queue_engine::peek(
    const std::string& name, std::int64_t max, std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }

    // A spent message (its last allowed delivery timed out) is not shown:
    // the next receive or sweep moves it. Look further when some were.
    bool has_dlq = dead_letter_queue(**q) != nullptr;
    std::vector<index::message_row> shown;
    for (std::int64_t limit = max;; limit *= 2) {
        auto rows = candidates(**q, now, limit);
        if (!rows) {
            return rows.error();
        }
        shown.clear();
        for (auto& row : *rows) {
            if (!(has_dlq && dead_letter_due(**q, row)) &&
                static_cast<std::int64_t>(shown.size()) < max) {
                shown.push_back(std::move(row));
            }
        }
        bool exhausted = static_cast<std::int64_t>(rows->size()) < limit;
        if (static_cast<std::int64_t>(shown.size()) >= max || exhausted ||
            limit >= kMaxPeekScan) {
            break;
        }
    }

    std::vector<delivered_message> out;
    for (const auto& row : shown) {
        auto body = read_body(**q, row);
        if (!body) {
            continue;  // the next receive drops it, with an error logged
        }
        delivered_message d = describe(**q, row);
        d.body = std::move(*body);
        out.push_back(std::move(d));
    }
    return out;
}

result<message_status> queue_engine::show(const std::string& name,
                                          const std::string& id,
                                          std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    queue_state& queue = **q;
    auto parsed = parse_message_id(id);
    if (!parsed) {
        return status(errc::bad_request,
                      "'" + id + "' is not a message id (24 hex digits)");
    }

    // A message keeps its id when it moves, so look it up by id first; one
    // that never moved is stored under its own seq.
    auto row = index_->message_by_id(queue.row.uid, parsed->uid, parsed->seq);
    if (!row) {
        return row.error();
    }
    if (!*row && parsed->uid == queue.row.uid) {
        row = index_->message(queue.row.uid, parsed->seq);
        if (!row) {
            return row.error();
        }
        if (*row && (*row)->id_uid != 0) {
            *row = std::nullopt;  // that seq holds a moved-in message
        }
    }
    if (!*row || (*row)->expires_at <= now) {
        return status(errc::not_found,
                      "queue '" + name + "' holds no message " + id +
                          " (it was acked, expired, purged or moved, or "
                          "never sent here)");
    }
    const auto& m = **row;
    message_status out;
    out.message = describe(queue, m);
    out.visible_at = m.visible_at;
    out.expires_at = m.expires_at;
    out.size = m.size;
    out.state = m.held                ? message_state::held
                : m.visible_at <= now ? message_state::visible
                : m.in_flight         ? message_state::in_flight
                                      : message_state::delayed;
    return out;
}

result<redrive_result> queue_engine::redrive(const std::string& name,
                                             const std::string& to,
                                             std::uint64_t after,
                                             std::int64_t max,
                                             std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    queue_state& dlq = **q;
    queue_state* fixed_target = nullptr;
    if (!to.empty()) {
        auto t = find(to);
        if (!t) {
            return t.error().with_context("redrive target");
        }
        fixed_target = *t;
        if (fixed_target == &dlq) {
            return status(errc::bad_request,
                          "cannot redrive queue '" + name + "' into itself");
        }
        if (fixed_target->row.config.fifo != dlq.row.config.fifo) {
            return status(errc::bad_request,
                          "queue '" + to + "' is " +
                              (fixed_target->row.config.fifo ? "" : "not ") +
                              "a FIFO queue and '" + name + "' is " +
                              (dlq.row.config.fifo ? "" : "not") +
                              "; messages can only move between queues of "
                              "the same kind");
        }
    }

    // Oldest first, so that a FIFO group keeps its order. While a group's
    // head is in flight here the whole group stays, as it would for a
    // receive; other skips (no target) do not hold back the rest.
    redrive_result out;
    out.cursor = after;
    auto rows = index_->messages_after(dlq.row.uid, after, max + 1);
    if (!rows) {
        return rows.error();
    }
    out.done = static_cast<std::int64_t>(rows->size()) <= max;
    if (!out.done) {
        rows->pop_back();  // only there to tell whether more is left
    }
    std::map<std::string, bool> group_in_flight;
    std::map<queue_state*, std::vector<index::message_row>> moves;
    std::vector<queue_state*> order;
    for (const auto& row : *rows) {
        out.cursor = row.seq;
        queue_state* target = fixed_target;
        if (target == nullptr) {
            auto it = queues_.find(row.source_queue);
            bool usable = it != queues_.end() && &it->second != &dlq &&
                          it->second.row.config.fifo == dlq.row.config.fifo;
            target = usable ? &it->second : nullptr;
        }
        bool in_flight = row.in_flight && row.visible_at > now;
        if (row.held) {
            auto blocked = group_in_flight.find(row.group);
            if (blocked == group_in_flight.end()) {
                auto head = index_->group_head(dlq.row.uid, row.group);
                if (!head) {
                    return head.error();
                }
                bool busy =
                    *head && (*head)->in_flight && (*head)->visible_at > now;
                blocked = group_in_flight.emplace(row.group, busy).first;
            }
            in_flight = in_flight || blocked->second;
        }
        if (target == nullptr || in_flight) {
            ++out.skipped;
            continue;
        }
        if (moves[target].empty()) {
            order.push_back(target);
        }
        moves[target].push_back(row);
    }
    for (queue_state* target : order) {
        auto moved = move_messages(dlq, moves[target], *target,
                                   move_reason::redrive, now);
        if (!moved) {
            return moved.error();
        }
        out.moved += static_cast<std::int64_t>(moves[target].size());
    }
    if (out.moved > 0) {
        log_.info("[queue={}]: redrove {} messages ({} skipped)", name,
                  out.moved, out.skipped);
    }
    return out;
}

result<index::message_row> queue_engine::current_delivery(
    queue_state& q, const std::string& receipt, receipt_use use,
    std::int64_t now) {
    auto parsed = parse_receipt(receipt);
    if (!parsed || parsed->token == 0) {
        return status(errc::invalid_receipt,
                      "malformed receipt '" + receipt + "'");
    }
    if (parsed->uid != q.row.uid) {
        return status(errc::invalid_receipt,
                      "receipt '" + receipt + "' is not from queue '" +
                          q.row.name +
                          "' (or the queue was deleted and "
                          "created again since)");
    }
    auto row = index_->message(q.row.uid, parsed->seq);
    if (!row) {
        return row.error();
    }
    if (!*row) {
        return status(errc::invalid_receipt,
                      "message of receipt '" + receipt +
                          "' is no longer in the queue (acked, expired, "
                          "purged or moved to another queue)");
    }
    if ((*row)->token != parsed->token) {
        return status(errc::stale_receipt,
                      "receipt '" + receipt +
                          "' is stale: the message was received again "
                          "since, and only the newest receipt can act on it");
    }

    // A receipt names one delivery: once it ended, only a late ack is
    // taken (it saves a needless redelivery); releasing or extending a
    // message nobody holds would hide it or undo the end of the delivery.
    if (!(*row)->in_flight) {
        return status(errc::stale_receipt,
                      "receipt '" + receipt +
                          "' is stale: its delivery ended when the message "
                          "was released; receive it again");
    }
    if (use != receipt_use::ack && (*row)->visible_at <= now) {
        return status(errc::stale_receipt,
                      "receipt '" + receipt +
                          "' is stale: its visibility timeout passed and the "
                          "message is visible again; receive it again");
    }
    return **row;
}

status queue_engine::ack(const std::string& name, const std::string& receipt) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    // A late ack is taken, so the time does not matter.
    auto row = current_delivery(**q, receipt, receipt_use::ack, 0);
    if (!row) {
        return row.error();
    }
    return append_and_apply(**q, remove_record{row->seq, remove_reason::acked});
}

result<bool> queue_engine::release(const std::string& name,
                                   const std::string& receipt,
                                   std::int64_t delay_ms, std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    auto row = current_delivery(**q, receipt, receipt_use::release, now);
    if (!row) {
        return row.error();
    }
    if (dead_letter_due(**q, *row)) {
        if (auto* dlq = dead_letter_queue(**q); dlq != nullptr) {
            auto moved =
                move_messages(**q, {*row}, *dlq, move_reason::dead_letter, now);
            if (!moved) {
                return moved.error();
            }
            return true;
        }
    }
    if (auto s = append_and_apply(
            **q, visibility_record{row->seq, now + delay_ms, false});
        !s) {
        return s;
    }
    return false;
}

result<std::int64_t> queue_engine::extend(const std::string& name,
                                          const std::string& receipt,
                                          std::int64_t visibility_ms,
                                          std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    auto row = current_delivery(**q, receipt, receipt_use::extend, now);
    if (!row) {
        return row.error();
    }
    std::int64_t visible_at = now + visibility_ms;
    if (auto s = append_and_apply(
            **q, visibility_record{row->seq, visible_at, true});
        !s) {
        return s;
    }
    return visible_at;
}

std::optional<std::int64_t> queue_engine::next_visible_at(
    const std::string& name, std::int64_t now) {
    auto it = queues_.find(name);
    if (it == queues_.end()) {
        return std::nullopt;
    }
    auto at = index_->next_visible_at(it->second.row.uid, now);
    return at ? *at : std::nullopt;
}

status queue_engine::expire_messages(queue_state& q, std::int64_t now) {
    auto seqs = index_->expired(q.row.uid, now, kExpireBatch);
    if (!seqs) {
        return seqs.error();
    }
    for (std::uint64_t seq : *seqs) {
        if (auto s =
                append_and_apply(q, remove_record{seq, remove_reason::expired});
            !s) {
            return s;
        }
    }
    if (!seqs->empty()) {
        log_.info(
            "[queue={}]: dropped {} messages past their "
            "retention",
            q.row.name, seqs->size());
    }
    return status::ok();
}

status queue_engine::remove_unused_segments() {
    std::vector<std::pair<queue_state*, std::set<std::uint64_t>>> work;
    for (auto& [name, q] : queues_) {
        if (q.log->segment_count() < 2) {
            continue;
        }
        auto live = index_->live_segments(q.row.uid);
        if (!live) {
            return live.error();
        }
        work.emplace_back(&q, std::move(*live));
    }
    if (work.empty()) {
        return status::ok();
    }

    // The index must durably stop pointing at a segment before it goes.
    if (auto s = commit_batch(); !s) {
        return s;
    }
    if (auto s = index_->checkpoint(); !s) {
        return s;
    }
    for (auto& [q, live] : work) {
        auto removed = q->log->remove_segments_except(live);
        if (!removed) {
            return removed.error();
        }
        if (*removed > 0) {
            log_.info(
                "[queue={}]: removed {} segments no message "
                "uses",
                q->row.name, *removed);
        }
    }
    return status::ok();
}

// A delivery that times out is only noticed when a receive or this sweep
// looks; the sweep makes the move to the dead-letter queue happen within
// a second even when no one receives.
status queue_engine::dead_letter_timed_out(queue_state& q, std::int64_t now) {
    auto* dlq = dead_letter_queue(q);
    if (dlq == nullptr) {
        return status::ok();
    }
    auto rows = index_->timed_out(q.row.uid, now, q.row.config.max_receives,
                                  kDeadLetterBatch);
    if (!rows) {
        return rows.error();
    }
    if (rows->empty()) {
        return status::ok();
    }
    auto moved = move_messages(q, *rows, *dlq, move_reason::dead_letter, now);
    return moved ? status::ok() : moved.error();
}

status queue_engine::sweep(std::int64_t now) {
    for (auto& [name, q] : queues_) {
        if (auto s = dead_letter_timed_out(q, now); !s) {
            return s;
        }
        if (auto s = expire_messages(q, now); !s) {
            return s;
        }
    }
    if (now - last_segment_sweep_ >= kSegmentSweepMs) {
        last_segment_sweep_ = now;
        if (auto s = remove_unused_segments(); !s) {
            return s;
        }
    }
    if (now - last_request_sweep_ >= kRequestSweepMs) {
        last_request_sweep_ = now;
        if (auto s = ensure_batch(); !s) {
            return s;
        }
        if (auto s = index_->forget_sends_before(now - kRequestMemoryMs); !s) {
            return s;
        }
        return index_->forget_dedup_before(now);
    }
    return status::ok();
}

}  // namespace dmq::queue
