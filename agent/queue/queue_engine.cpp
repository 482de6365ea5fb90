// Queue operations, recovery and housekeeping; see queue_engine.h for the
// batch rule every function here relies on.

#include "agent/queue/queue_engine.h"

#include "common/duration.h"
#include "common/names.h"

#include <cinttypes>
#include <cstdio>
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

status not_found(const std::string& name) {
    return {errc::not_found, "unknown queue '" + name + "'"};
}

}  // namespace

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

std::optional<parsed_receipt> parse_receipt(std::string_view text) {
    auto hex = [](std::string_view s, std::uint64_t& out) {
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
    };
    if (text.size() != 33 || text[24] != '.') {
        return std::nullopt;
    }
    std::uint64_t uid = 0, seq = 0, token = 0;
    if (!hex(text.substr(0, 8), uid) || !hex(text.substr(8, 16), seq) ||
        !hex(text.substr(25), token)) {
        return std::nullopt;
    }
    return parsed_receipt{static_cast<std::uint32_t>(uid), seq,
                          static_cast<std::uint32_t>(token)};
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
    for (auto& row : *rows) {
        std::string name = row.name;
        queue_state& q = queues_[name];
        q.row = std::move(row);
        if (auto s = recover_queue(q, summary); !s) {
            return s.with_context("recovery of queue '" + name + "'");
        }
    }
    summary.queues = queues_.size();
    warn_about_unknown_dirs();
    return commit_batch();
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

status queue_engine::append_and_apply(queue_state& q, const state_record& rec,
                                      std::string_view body) {
    if (auto s = ensure_batch(); !s) {
        return s;
    }
    if (!q.touched) {
        q.before = q.row;
        q.batch_start = q.log->end();
        q.touched = true;
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
        m.attributes = send->attributes;
        q.row.next_seq = std::max(q.row.next_seq, send->seq + 1);
        ++counters.sent;
        if (!send->request_id.empty()) {
            if (auto s = index_->remember_send(send->request_id, send->sent_at,
                                               uid, send->seq);
                !s) {
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
        if (r->reason == remove_reason::acked) {
            ++counters.acked;
        } else if (r->reason == remove_reason::expired) {
            ++counters.expired;
        }
        return index_->delete_message(uid, r->seq);
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
    if (c.visibility_ms < 0 || c.visibility_ms > 12 * 3600 * 1000) {
        return bad("visibility timeout must be between 0 and 12h");
    }
    if (c.retention_ms < 1000 || c.retention_ms > kMaxDurationMs) {
        return bad("retention must be between 1s and 36500d");
    }
    if (c.max_size < 1 || c.max_size > kMaxBodyLimit) {
        return bad("maximum message size must be between 1 byte and 16MiB");
    }
    if (c.delay_ms < 0 || c.delay_ms > 15 * 60 * 1000) {
        return bad("delay must be between 0 and 15m");
    }
    return status::ok();
}

namespace {

void apply_change(index::queue_config& c, const config_change& change) {
    c.visibility_ms = change.visibility_ms.value_or(c.visibility_ms);
    c.retention_ms = change.retention_ms.value_or(c.retention_ms);
    c.max_size = change.max_size.value_or(c.max_size);
    c.delay_ms = change.delay_ms.value_or(c.delay_ms);
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
    apply_change(row.config, change);
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
        "[queue={}]: created (visibility {}, retention {}, "
        "max size {}, delay {})",
        name, format_duration(millis(row.config.visibility_ms)),
        format_duration(millis(row.config.retention_ms)),
        format_size(static_cast<std::uint64_t>(row.config.max_size)),
        format_duration(millis(row.config.delay_ms)));
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
    apply_change(row.config, change);
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
    std::int64_t held = counts->visible + counts->in_flight + counts->delayed;
    if (held > 0 && !force) {
        return status(errc::queue_not_empty,
                      "queue '" + name + "' holds " + std::to_string(held) +
                          " messages; purge it first or delete with force");
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

result<std::vector<std::string>> queue_engine::send(
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
            std::vector<std::string> ids;
            for (std::int64_t i = 0; i < (*seen)->count; ++i) {
                ids.push_back(format_message_id(
                    queue.row.uid,
                    (*seen)->first_seq + static_cast<std::uint64_t>(i)));
            }
            return ids;
        }
    }

    if (auto s = check_room_for_sends(); !s) {
        return s;
    }

    // Check everything before writing anything: a send is all or nothing.
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& m = batch[i];
        if (static_cast<std::int64_t>(m.body.size()) > config.max_size) {
            return status(
                errc::too_large,
                "message " + std::to_string(i + 1) + " of this request is " +
                    std::to_string(m.body.size()) +
                    " bytes, over the maximum size of queue '" + name + "' (" +
                    format_size(static_cast<std::uint64_t>(config.max_size)) +
                    ")");
        }
        if (m.delay_ms && (*m.delay_ms < 0 || *m.delay_ms > 15 * 60'000)) {
            return status(errc::bad_request, "delay must be between 0 and 15m");
        }
    }

    std::vector<std::string> ids;
    ids.reserve(batch.size());
    for (const auto& m : batch) {
        send_record rec;
        rec.seq = queue.row.next_seq;
        rec.sent_at = now;
        rec.visible_at = now + m.delay_ms.value_or(config.delay_ms);
        rec.expires_at = now + config.retention_ms;
        rec.request_id = request_id;
        rec.attributes = m.attributes;
        rec.body = m.body;
        if (auto s = append_and_apply(queue, rec, m.body); !s) {
            return s;
        }
        ids.push_back(format_message_id(queue.row.uid, rec.seq));
    }
    return ids;
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

// Bounds the reply, not only the count: a receive of 10000 large messages
// would otherwise hold gigabytes in memory at once. Always keeps one.
result<std::vector<index::message_row>>
queue_engine::visible_within_reply_limit(queue_state& q, std::int64_t now,
                                         std::int64_t max) {
    auto rows = index_->visible(q.row.uid, now, max);
    if (!rows) {
        return rows.error();
    }
    std::int64_t bytes = 0;
    for (std::size_t i = 0; i < rows->size(); ++i) {
        bytes += (*rows)[i].size;
        if (i > 0 && bytes > kMaxReplyBodyBytes) {
            rows->resize(i);
            break;
        }
    }
    return rows;
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
    // Unreadable messages are dropped on the way, so look again until the
    // request is filled or nothing readable is left.
    std::vector<delivered_message> out;
    bool dropped = true;
    while (dropped && static_cast<std::int64_t>(out.size()) < max) {
        dropped = false;
        auto rows = visible_within_reply_limit(
            queue, now, max - static_cast<std::int64_t>(out.size()));
        if (!rows) {
            return rows.error();
        }
        for (const auto& row : *rows) {
            auto delivered = deliver(queue, row, visibility, now);
            if (!delivered) {
                return delivered.error();
            }
            if (!*delivered) {
                dropped = true;
                continue;
            }
            out.push_back(std::move(**delivered));
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
    return std::optional<delivered_message>(delivered_message{
        format_message_id(queue.row.uid, row.seq),
        format_receipt(queue.row.uid, row.seq, rec.token), rec.receive_count,
        row.sent_at, row.attributes, std::move(*body)});
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
    auto rows = visible_within_reply_limit(**q, now, max);
    if (!rows) {
        return rows.error();
    }
    std::vector<delivered_message> out;
    for (const auto& row : *rows) {
        auto body = read_body(**q, row);
        if (!body) {
            continue;  // the next receive drops it, with an error logged
        }
        out.push_back({format_message_id((*q)->row.uid, row.seq), "",
                       row.receive_count, row.sent_at, row.attributes,
                       std::move(*body)});
    }
    return out;
}

result<index::message_row> queue_engine::current_delivery(
    queue_state& q, const std::string& receipt) {
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
                          "' is no longer in the queue (acked, expired or "
                          "purged)");
    }
    if ((*row)->token != parsed->token) {
        return status(errc::stale_receipt,
                      "receipt '" + receipt +
                          "' is stale: the message was received again "
                          "since, and only the newest receipt can act on it");
    }
    return **row;
}

status queue_engine::ack(const std::string& name, const std::string& receipt) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    auto row = current_delivery(**q, receipt);
    if (!row) {
        return row.error();
    }
    return append_and_apply(**q, remove_record{row->seq, remove_reason::acked});
}

status queue_engine::release(const std::string& name,
                             const std::string& receipt, std::int64_t delay_ms,
                             std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    auto row = current_delivery(**q, receipt);
    if (!row) {
        return row.error();
    }
    return append_and_apply(**q,
                            visibility_record{row->seq, now + delay_ms, false});
}

result<std::int64_t> queue_engine::extend(const std::string& name,
                                          const std::string& receipt,
                                          std::int64_t visibility_ms,
                                          std::int64_t now) {
    auto q = find(name);
    if (!q) {
        return q.error();
    }
    auto row = current_delivery(**q, receipt);
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

status queue_engine::sweep(std::int64_t now) {
    for (auto& [name, q] : queues_) {
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
        return index_->forget_sends_before(now - kRequestMemoryMs);
    }
    return status::ok();
}

}  // namespace dmq::queue
