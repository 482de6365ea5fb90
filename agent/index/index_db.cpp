// SQLite index: schema, prepared statements and queries; the schema is
// described in docs/index-schema.md.

#include "agent/index/index_db.h"

#include <functional>
#include <random>

namespace dmq::index {

namespace {

// Version 2 of the schema. An index of version 1 (dmq 0.1) is brought up to
// it by migrate() before this runs.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queues(
    name TEXT PRIMARY KEY,
    uid INTEGER NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    visibility_ms INTEGER NOT NULL,
    retention_ms INTEGER NOT NULL,
    max_size INTEGER NOT NULL,
    delay_ms INTEGER NOT NULL,
    next_seq INTEGER NOT NULL,
    next_lsn INTEGER NOT NULL,
    applied_segment INTEGER NOT NULL,
    applied_offset INTEGER NOT NULL,
    sent INTEGER NOT NULL, received INTEGER NOT NULL,
    acked INTEGER NOT NULL, released INTEGER NOT NULL,
    expired INTEGER NOT NULL, purged INTEGER NOT NULL,
    fifo INTEGER NOT NULL DEFAULT 0,
    dlq TEXT NOT NULL DEFAULT '',
    max_receives INTEGER NOT NULL DEFAULT 0,
    dedup_window_ms INTEGER NOT NULL DEFAULT 300000,
    content_dedup INTEGER NOT NULL DEFAULT 0,
    dead_lettered INTEGER NOT NULL DEFAULT 0,
    redriven INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS messages(
    uid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    segment INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL,
    token INTEGER NOT NULL,
    in_flight INTEGER NOT NULL,
    attributes BLOB NOT NULL,
    priority INTEGER NOT NULL DEFAULT 4,
    grp TEXT,
    held INTEGER NOT NULL DEFAULT 0,
    dedup_id TEXT,
    id_uid INTEGER,
    id_seq INTEGER,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    source_queue TEXT,
    arrived_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(uid, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_ready
    ON messages(uid, priority, visible_at, seq) WHERE held=0;
CREATE INDEX IF NOT EXISTS messages_by_group
    ON messages(uid, grp, seq) WHERE grp IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_in_flight
    ON messages(uid, visible_at) WHERE in_flight=1;
CREATE INDEX IF NOT EXISTS messages_by_id
    ON messages(uid, id_uid, id_seq) WHERE id_uid IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_by_segment ON messages(uid, segment);
CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages(uid, expires_at);
CREATE TABLE IF NOT EXISTS send_requests(
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    reply BLOB);
CREATE INDEX IF NOT EXISTS send_requests_by_age ON send_requests(at);
CREATE TABLE IF NOT EXISTS dedup(
    uid INTEGER NOT NULL,
    key TEXT NOT NULL,
    id_uid INTEGER NOT NULL,
    id_seq INTEGER NOT NULL,
    until INTEGER NOT NULL,
    PRIMARY KEY(uid, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedup_by_age ON dedup(until);
)sql";

// From version 1: the columns of FIFO groups, priorities, dedup and dead
// letters, with defaults that describe what 0.1 stored.
constexpr const char* kMigrateFrom1 = R"sql(
ALTER TABLE queues ADD COLUMN fifo INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN dlq TEXT NOT NULL DEFAULT '';
ALTER TABLE queues ADD COLUMN max_receives INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN dedup_window_ms INTEGER NOT NULL
    DEFAULT 300000;
ALTER TABLE queues ADD COLUMN content_dedup INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN dead_lettered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN redriven INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 4;
ALTER TABLE messages ADD COLUMN grp TEXT;
ALTER TABLE messages ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN dedup_id TEXT;
ALTER TABLE messages ADD COLUMN id_uid INTEGER;
ALTER TABLE messages ADD COLUMN id_seq INTEGER;
ALTER TABLE messages ADD COLUMN redrive_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN source_queue TEXT;
ALTER TABLE messages ADD COLUMN arrived_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE send_requests ADD COLUMN reply BLOB;
DROP INDEX IF EXISTS messages_by_visible;
UPDATE meta SET value='2' WHERE key='schema_version';
)sql";

constexpr const char* kMessageColumns =
    "seq, segment, offset, size, sent_at, visible_at, expires_at, "
    "receive_count, token, in_flight, attributes, priority, grp, held, "
    "dedup_id, id_uid, id_seq, redrive_count, source_queue, arrived_count";

message_row read_message(const stmt& s) {
    message_row m;
    m.seq = static_cast<std::uint64_t>(s.int_at(0));
    m.at.segment = static_cast<std::uint64_t>(s.int_at(1));
    m.at.offset = static_cast<std::uint64_t>(s.int_at(2));
    m.size = s.int_at(3);
    m.sent_at = s.int_at(4);
    m.visible_at = s.int_at(5);
    m.expires_at = s.int_at(6);
    m.receive_count = static_cast<std::uint32_t>(s.int_at(7));
    m.token = static_cast<std::uint32_t>(s.int_at(8));
    m.in_flight = s.int_at(9) != 0;
    m.attributes = s.text_at(10);
    m.priority = static_cast<int>(s.int_at(11));
    m.group = s.text_at(12);
    m.held = s.int_at(13) != 0;
    m.dedup_id = s.text_at(14);
    m.id_uid = static_cast<std::uint32_t>(s.int_at(15));
    m.id_seq = static_cast<std::uint64_t>(s.int_at(16));
    m.redrive_count = static_cast<std::uint32_t>(s.int_at(17));
    m.source_queue = s.text_at(18);
    m.arrived_count = static_cast<std::uint32_t>(s.int_at(19));
    return m;
}

// The first column of every row, as unsigned integers (seq numbers).
result<std::vector<std::uint64_t>> first_column(stmt& s) {
    std::vector<std::uint64_t> out;
    auto done = s.for_each_row([&](const stmt& row) {
        out.push_back(static_cast<std::uint64_t>(row.int_at(0)));
    });
    return done ? result<std::vector<std::uint64_t>>(std::move(out)) : done;
}

result<std::vector<message_row>> message_rows(stmt& s) {
    std::vector<message_row> rows;
    auto done = s.for_each_row(
        [&](const stmt& row) { rows.push_back(read_message(row)); });
    return done ? result<std::vector<message_row>>(std::move(rows)) : done;
}

}  // namespace

result<std::unique_ptr<index_db>> index_db::open(
    const std::filesystem::path& file) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(
        file.c_str(), &raw,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
        nullptr);
    std::unique_ptr<index_db> db(new index_db(raw));
    if (rc != SQLITE_OK) {
        return status(errc::io_error, "open index " + file.string() + ": " +
                                          sqlite3_errstr(rc));
    }

    // NORMAL is safe here because the queue logs, not the index, are the
    // durable copy of message state: a commit lost in a power cut is
    // replayed from the log on the next start.
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
          "PRAGMA foreign_keys=OFF", "PRAGMA busy_timeout=5000"}) {
        if (auto s = db->exec(pragma); !s) {
            return s.with_context("open index " + file.string());
        }
    }
    if (auto s = db->migrate(); !s) {
        return s.with_context("upgrade index " + file.string());
    }
    if (auto s = db->exec(kSchema); !s) {
        return s.with_context("create index schema in " + file.string());
    }
    if (auto s = db->prepare_all(); !s) {
        return s;
    }
    return db;
}

index_db::~index_db() {
    // close_v2 waits for the member statements, finalized after this body,
    // before it really closes the connection.
    sqlite3_close_v2(db_);
}

status index_db::migrate() {
    if (auto s = exec("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, "
                      "value TEXT NOT NULL)");
        !s) {
        return s;
    }
    auto select = prepare("SELECT value FROM meta WHERE key='schema_version'");
    if (!select) {
        return select.error();
    }
    auto row = select->step();
    if (!row) {
        return row.error();
    }
    if (!*row) {
        return status::ok();  // a new index
    }
    int version = std::atoi(select->text_at(0).c_str());
    select->reset();
    if (version == kSchemaVersion) {
        return status::ok();
    }
    if (version < 1 || version > kSchemaVersion) {
        return status(errc::corrupt_data,
                      "schema version " + std::to_string(version) +
                          " is not one this agent reads (1 to " +
                          std::to_string(kSchemaVersion) +
                          "); it was written by a newer dmq-agent: run that "
                          "version, or restore the data directory from a "
                          "backup");
    }
    return synced([&] { return exec(kMigrateFrom1); });
}

status index_db::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string message = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        return status(errc::io_error, "index: " + message);
    }
    return status::ok();
}

result<stmt> index_db::prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
        return status(errc::internal,
                      std::string("index: prepare: ") + sqlite3_errmsg(db_));
    }
    return stmt(db_, s);
}

status index_db::prepare_all() {
    struct entry {
        stmt* target;
        std::string sql;
    };
    std::string cols = kMessageColumns;
    const entry entries[] = {
        {&insert_message_, "INSERT OR REPLACE INTO messages(uid, " + cols +
                               ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                               "?,?,?)"},
        {&set_delivery_,
         "UPDATE messages SET token=?3, visible_at=?4, receive_count=?5, "
         "in_flight=1 WHERE uid=?1 AND seq=?2"},
        {&set_visibility_,
         "UPDATE messages SET visible_at=?3, in_flight=?4 "
         "WHERE uid=?1 AND seq=?2"},
        {&delete_message_, "DELETE FROM messages WHERE uid=? AND seq=?"},
        {&promote_head_,
         "UPDATE messages SET held=0 WHERE uid=?1 AND seq=(SELECT seq FROM "
         "messages WHERE uid=?1 AND grp=?2 ORDER BY seq LIMIT 1)"},
        {&group_has_, "SELECT 1 FROM messages WHERE uid=? AND grp=? LIMIT 1"},
        {&delete_below_, "DELETE FROM messages WHERE uid=? AND seq<?"},
        {&visible_, "SELECT " + cols +
                        " FROM messages WHERE uid=?1 AND priority=?2 AND "
                        "held=0 AND visible_at<=?3 AND expires_at>?3 "
                        "ORDER BY visible_at, seq LIMIT ?4"},
        {&message_, "SELECT " + cols + " FROM messages WHERE uid=? AND seq=?"},
        {&message_by_id_,
         "SELECT " + cols +
             " FROM messages WHERE uid=? AND id_uid=? AND id_seq=?"},
        {&messages_after_, "SELECT " + cols +
                               " FROM messages WHERE uid=? AND seq>? "
                               "ORDER BY seq LIMIT ?"},
        {&timed_out_, "SELECT " + cols +
                          " FROM messages WHERE uid=?1 AND in_flight=1 AND "
                          "visible_at<=?2 AND receive_count-arrived_count>=?3 "
                          "LIMIT ?4"},
        {&next_visible_,
         "SELECT MIN(visible_at) FROM messages WHERE uid=? AND priority=? "
         "AND held=0 AND visible_at>?"},
        {&save_progress_,
         "UPDATE queues SET next_seq=?2, next_lsn=?3, applied_segment=?4, "
         "applied_offset=?5, sent=?6, received=?7, acked=?8, released=?9, "
         "expired=?10, purged=?11, dead_lettered=?12, redriven=?13, "
         "duplicates=?14 WHERE uid=?1"},
        {&remember_send_,
         "INSERT INTO send_requests(id, at, uid, first_seq, count) "
         "VALUES(?1,?2,?3,?4,1) ON CONFLICT(id) DO UPDATE SET "
         "count=MAX(count, ?4 - first_seq + 1)"},
        {&find_send_,
         "SELECT uid, first_seq, count, reply FROM send_requests WHERE id=?"},
        {&remember_reply_,
         "INSERT INTO send_requests(id, at, uid, first_seq, count, reply) "
         "VALUES(?1,?2,?3,0,0,?4) ON CONFLICT(id) DO UPDATE SET "
         "reply=excluded.reply"},
        {&group_head_, "SELECT " + cols +
                           " FROM messages WHERE uid=? AND grp=? "
                           "ORDER BY seq LIMIT 1"},
        {&live_segments_, "SELECT DISTINCT segment FROM messages WHERE uid=?"},
        {&expired_,
         "SELECT seq FROM messages WHERE uid=?1 AND expires_at<=?2 "
         "ORDER BY expires_at LIMIT ?3"},
        {&remember_dedup_,
         "INSERT OR REPLACE INTO dedup(uid, key, id_uid, id_seq, until) "
         "VALUES(?,?,?,?,?)"},
        {&find_dedup_,
         "SELECT id_uid, id_seq, until FROM dedup WHERE uid=? AND key=?"},
    };
    for (const auto& e : entries) {
        auto s = prepare(e.sql.c_str());
        if (!s) {
            return s.error();
        }
        *e.target = std::move(*s);
    }
    return status::ok();
}

status index_db::begin() {
    return exec("BEGIN");
}
status index_db::commit() {
    return exec("COMMIT");
}
status index_db::rollback() {
    return exec("ROLLBACK");
}

status index_db::checkpoint() {
    return exec("PRAGMA wal_checkpoint(FULL)");
}

status index_db::synced(const std::function<status()>& change) {
    if (auto s = exec("PRAGMA synchronous=FULL; BEGIN"); !s) {
        return s;
    }
    status s = change();
    s = s ? exec("COMMIT") : (exec("ROLLBACK"), s);
    exec("PRAGMA synchronous=NORMAL");
    return s;
}

result<std::string> index_db::agent_id() {
    auto select = prepare("SELECT value FROM meta WHERE key='agent_id'");
    if (!select) {
        return select.error();
    }
    auto row = select->step();
    if (!row) {
        return row.error();
    }
    if (*row) {
        return select->text_at(0);
    }

    std::random_device rd;
    char id[16];
    std::snprintf(id, sizeof id, "%08x", rd());
    std::string agent = std::string("agent-") + id;
    auto insert = prepare(
        "INSERT INTO meta(key, value) VALUES('agent_id', ?), "
        "('schema_version', ?)");
    if (!insert) {
        return insert.error();
    }
    insert->bind(1, agent).bind(2, std::to_string(kSchemaVersion));
    if (auto s = synced([&] { return insert->run(); }); !s) {
        return s;
    }
    return agent;
}

result<std::vector<queue_row>> index_db::load_queues() {
    auto s = prepare(
        "SELECT name, uid, created_at, visibility_ms, retention_ms, "
        "max_size, delay_ms, next_seq, next_lsn, applied_segment, "
        "applied_offset, sent, received, acked, released, expired, purged, "
        "fifo, dlq, max_receives, dedup_window_ms, content_dedup, "
        "dead_lettered, redriven, duplicates FROM queues ORDER BY name");
    if (!s) {
        return s.error();
    }
    std::vector<queue_row> rows;
    auto done = s->for_each_row([&](const stmt& r) {
        queue_row q;
        q.name = r.text_at(0);
        q.uid = static_cast<std::uint32_t>(r.int_at(1));
        q.created_at = r.int_at(2);
        q.config.visibility_ms = r.int_at(3);
        q.config.retention_ms = r.int_at(4);
        q.config.max_size = r.int_at(5);
        q.config.delay_ms = r.int_at(6);
        q.next_seq = static_cast<std::uint64_t>(r.int_at(7));
        q.next_lsn = static_cast<std::uint64_t>(r.int_at(8));
        q.applied = {static_cast<std::uint64_t>(r.int_at(9)),
                     static_cast<std::uint64_t>(r.int_at(10))};
        q.counters = {r.int_at(11), r.int_at(12), r.int_at(13),
                      r.int_at(14), r.int_at(15), r.int_at(16),
                      r.int_at(22), r.int_at(23), r.int_at(24)};
        q.config.fifo = r.int_at(17) != 0;
        q.config.dlq = r.text_at(18);
        q.config.max_receives = r.int_at(19);
        q.config.dedup_window_ms = r.int_at(20);
        q.config.content_dedup = r.int_at(21) != 0;
        rows.push_back(std::move(q));
    });
    return done ? result<std::vector<queue_row>>(std::move(rows)) : done;
}

status index_db::insert_queue(const queue_row& q) {
    auto s = prepare(
        "INSERT INTO queues VALUES(?,?,?,?,?,?,?,?,?,?,?,0,0,0,0,0,0,"
        "?,?,?,?,?,0,0,0)");
    if (!s) {
        return s.error();
    }
    s->bind(1, q.name)
        .bind(2, q.uid)
        .bind(3, q.created_at)
        .bind(4, q.config.visibility_ms)
        .bind(5, q.config.retention_ms)
        .bind(6, q.config.max_size)
        .bind(7, q.config.delay_ms)
        .bind(8, q.next_seq)
        .bind(9, q.next_lsn)
        .bind(10, q.applied.segment)
        .bind(11, q.applied.offset)
        .bind(12, std::int64_t{q.config.fifo ? 1 : 0})
        .bind(13, q.config.dlq)
        .bind(14, q.config.max_receives)
        .bind(15, q.config.dedup_window_ms)
        .bind(16, std::int64_t{q.config.content_dedup ? 1 : 0});
    return synced([&] { return s->run(); });
}

status index_db::update_config(const queue_row& q) {
    auto s = prepare(
        "UPDATE queues SET visibility_ms=?, retention_ms=?, max_size=?, "
        "delay_ms=?, dlq=?, max_receives=?, dedup_window_ms=?, "
        "content_dedup=? WHERE uid=?");
    if (!s) {
        return s.error();
    }
    s->bind(1, q.config.visibility_ms)
        .bind(2, q.config.retention_ms)
        .bind(3, q.config.max_size)
        .bind(4, q.config.delay_ms)
        .bind(5, q.config.dlq)
        .bind(6, q.config.max_receives)
        .bind(7, q.config.dedup_window_ms)
        .bind(8, std::int64_t{q.config.content_dedup ? 1 : 0})
        .bind(9, q.uid);
    return synced([&] { return s->run(); });
}

status index_db::delete_queue(std::uint32_t uid) {
    auto queue = prepare("DELETE FROM queues WHERE uid=?");
    auto messages = prepare("DELETE FROM messages WHERE uid=?");
    auto requests = prepare("DELETE FROM send_requests WHERE uid=?");
    auto dedup = prepare("DELETE FROM dedup WHERE uid=?");
    for (auto* s : {&queue, &messages, &requests, &dedup}) {
        if (!*s) {
            return s->error();
        }
        (*s)->bind(1, uid);
    }
    return synced([&]() -> status {
        for (auto* s : {&queue, &messages, &requests, &dedup}) {
            if (auto r = (*s)->run(); !r) {
                return r;
            }
        }
        return status::ok();
    });
}

status index_db::save_progress(const queue_row& q) {
    save_progress_.bind(1, q.uid)
        .bind(2, q.next_seq)
        .bind(3, q.next_lsn)
        .bind(4, q.applied.segment)
        .bind(5, q.applied.offset)
        .bind(6, q.counters.sent)
        .bind(7, q.counters.received)
        .bind(8, q.counters.acked)
        .bind(9, q.counters.released)
        .bind(10, q.counters.expired)
        .bind(11, q.counters.purged)
        .bind(12, q.counters.dead_lettered)
        .bind(13, q.counters.redriven)
        .bind(14, q.counters.duplicates);
    return save_progress_.run();
}

status index_db::insert_message(std::uint32_t uid, const message_row& m) {
    insert_message_.bind(1, uid)
        .bind(2, m.seq)
        .bind(3, m.at.segment)
        .bind(4, m.at.offset)
        .bind(5, m.size)
        .bind(6, m.sent_at)
        .bind(7, m.visible_at)
        .bind(8, m.expires_at)
        .bind(9, m.receive_count)
        .bind(10, m.token)
        .bind(11, std::int64_t{m.in_flight ? 1 : 0})
        .bind_blob(12, m.attributes)
        .bind(13, static_cast<std::int64_t>(m.priority))
        .bind_or_null(14, m.group)
        .bind(15, std::int64_t{m.held ? 1 : 0})
        .bind_or_null(16, m.dedup_id);
    if (m.id_uid != 0) {
        insert_message_.bind(17, m.id_uid).bind(18, m.id_seq);
    } else {
        insert_message_.bind_null(17).bind_null(18);
    }
    insert_message_.bind(19, m.redrive_count)
        .bind_or_null(20, m.source_queue)
        .bind(21, m.arrived_count);
    return insert_message_.run();
}

status index_db::set_delivery(std::uint32_t uid, std::uint64_t seq,
                              std::uint32_t token, std::int64_t visible_at,
                              std::uint32_t receive_count) {
    set_delivery_.bind(1, uid)
        .bind(2, seq)
        .bind(3, token)
        .bind(4, visible_at)
        .bind(5, receive_count);
    return set_delivery_.run();
}

status index_db::set_visibility(std::uint32_t uid, std::uint64_t seq,
                                std::int64_t visible_at, bool in_flight) {
    set_visibility_.bind(1, uid)
        .bind(2, seq)
        .bind(3, visible_at)
        .bind(4, std::int64_t{in_flight ? 1 : 0});
    return set_visibility_.run();
}

status index_db::delete_message(std::uint32_t uid, const message_row& m) {
    delete_message_.bind(1, uid).bind(2, m.seq);
    if (auto s = delete_message_.run(); !s) {
        return s;
    }
    if (m.group.empty() || m.held) {
        return status::ok();
    }
    promote_head_.bind(1, uid).bind(2, m.group);
    return promote_head_.run();
}

result<bool> index_db::group_has_messages(std::uint32_t uid,
                                          const std::string& group) {
    group_has_.bind(1, uid).bind(2, group);
    auto row = group_has_.step();
    group_has_.reset();
    if (!row) {
        return row.error();
    }
    return *row;
}

result<std::int64_t> index_db::delete_messages_below(std::uint32_t uid,
                                                     std::uint64_t below) {
    delete_below_.bind(1, uid).bind(2, below);
    if (auto s = delete_below_.run(); !s) {
        return s;
    }
    return static_cast<std::int64_t>(sqlite3_changes(db_));
}

result<std::vector<message_row>> index_db::visible(std::uint32_t uid,
                                                   int priority,
                                                   std::int64_t now,
                                                   std::int64_t limit) {
    visible_.bind(1, uid)
        .bind(2, static_cast<std::int64_t>(priority))
        .bind(3, now)
        .bind(4, limit);
    return message_rows(visible_);
}

namespace {

result<std::optional<message_row>> one_message(stmt& s) {
    auto row = s.step();
    std::optional<message_row> out;
    if (row && *row) {
        out = read_message(s);
    }
    s.reset();
    if (!row) {
        return row.error();
    }
    return out;
}

}  // namespace

result<std::optional<message_row>> index_db::message(std::uint32_t uid,
                                                     std::uint64_t seq) {
    message_.bind(1, uid).bind(2, seq);
    return one_message(message_);
}

result<std::optional<message_row>> index_db::message_by_id(
    std::uint32_t uid, std::uint32_t id_uid, std::uint64_t id_seq) {
    message_by_id_.bind(1, uid).bind(2, id_uid).bind(3, id_seq);
    return one_message(message_by_id_);
}

result<std::optional<message_row>> index_db::group_head(
    std::uint32_t uid, const std::string& group) {
    group_head_.bind(1, uid).bind(2, group);
    return one_message(group_head_);
}

result<std::vector<message_row>> index_db::messages_after(
    std::uint32_t uid, std::uint64_t after_seq, std::int64_t limit) {
    messages_after_.bind(1, uid).bind(2, after_seq).bind(3, limit);
    return message_rows(messages_after_);
}

result<std::vector<message_row>> index_db::timed_out(std::uint32_t uid,
                                                     std::int64_t now,
                                                     std::int64_t receives,
                                                     std::int64_t limit) {
    timed_out_.bind(1, uid).bind(2, now).bind(3, receives).bind(4, limit);
    return message_rows(timed_out_);
}

// One indexed look-up per priority: a single MIN() over all of them could
// not use the index and would scan every message of the queue.
result<std::optional<std::int64_t>> index_db::next_visible_at(
    std::uint32_t uid, std::int64_t now) {
    std::optional<std::int64_t> out;
    for (std::int64_t priority = 0; priority <= 9; ++priority) {
        next_visible_.bind(1, uid).bind(2, priority).bind(3, now);
        auto row = next_visible_.step();
        if (row && *row && !next_visible_.is_null(0)) {
            std::int64_t at = next_visible_.int_at(0);
            out = out ? std::min(*out, at) : at;
        }
        next_visible_.reset();
        if (!row) {
            return row.error();
        }
    }
    return out;
}

result<queue_counts> index_db::counts(std::uint32_t uid, std::int64_t now) {
    auto s = prepare(
        "SELECT "
        "COALESCE(SUM(held=0 AND visible_at<=?2), 0), "
        "COALESCE(SUM(held=0 AND visible_at>?2 AND in_flight=1), 0), "
        "COALESCE(SUM(held=0 AND visible_at>?2 AND in_flight=0), 0), "
        "COALESCE(SUM(size), 0), MIN(sent_at), COALESCE(SUM(held), 0) "
        "FROM messages WHERE uid=?1 AND expires_at>?2");
    if (!s) {
        return s.error();
    }
    s->bind(1, uid).bind(2, now);
    auto row = s->step();
    if (!row) {
        return row.error();
    }
    queue_counts c;
    c.visible = s->int_at(0);
    c.in_flight = s->int_at(1);
    c.delayed = s->int_at(2);
    c.bytes = s->int_at(3);
    if (!s->is_null(4)) {
        c.oldest_sent_at = s->int_at(4);
    }
    c.held = s->int_at(5);
    return c;
}

result<std::set<std::uint64_t>> index_db::live_segments(std::uint32_t uid) {
    live_segments_.bind(1, uid);
    std::set<std::uint64_t> out;
    auto s = live_segments_.for_each_row([&](const stmt& row) {
        out.insert(static_cast<std::uint64_t>(row.int_at(0)));
    });
    return s ? result<std::set<std::uint64_t>>(std::move(out)) : s;
}

result<std::vector<std::uint64_t>> index_db::expired(std::uint32_t uid,
                                                     std::int64_t now,
                                                     std::int64_t limit) {
    expired_.bind(1, uid).bind(2, now).bind(3, limit);
    return first_column(expired_);
}

result<std::vector<std::uint64_t>> index_db::messages_in_segment(
    std::uint32_t uid, std::uint64_t seg) {
    auto s = prepare("SELECT seq FROM messages WHERE uid=? AND segment=?");
    if (!s) {
        return s.error();
    }
    s->bind(1, uid).bind(2, seg);
    return first_column(*s);
}

status index_db::remember_send(const std::string& request_id, std::int64_t at,
                               std::uint32_t uid, std::uint64_t seq) {
    remember_send_.bind(1, request_id).bind(2, at).bind(3, uid).bind(4, seq);
    return remember_send_.run();
}

status index_db::remember_send_reply(const std::string& request_id,
                                     std::int64_t at, std::uint32_t uid,
                                     const std::string& reply) {
    remember_reply_.bind(1, request_id)
        .bind(2, at)
        .bind(3, uid)
        .bind_blob(4, reply);
    return remember_reply_.run();
}

result<std::optional<send_request>> index_db::find_send(
    const std::string& request_id) {
    find_send_.bind(1, request_id);
    auto row = find_send_.step();
    std::optional<send_request> out;
    if (row && *row) {
        out = send_request{static_cast<std::uint32_t>(find_send_.int_at(0)),
                           static_cast<std::uint64_t>(find_send_.int_at(1)),
                           find_send_.int_at(2), find_send_.text_at(3)};
    }
    find_send_.reset();
    if (!row) {
        return row.error();
    }
    return out;
}

status index_db::forget_sends_before(std::int64_t at) {
    auto s = prepare("DELETE FROM send_requests WHERE at<?");
    if (!s) {
        return s.error();
    }
    s->bind(1, at);
    return s->run();
}

status index_db::remember_dedup(std::uint32_t uid, const std::string& key,
                                const dedup_entry& e) {
    remember_dedup_.bind(1, uid)
        .bind(2, key)
        .bind(3, e.id_uid)
        .bind(4, e.id_seq)
        .bind(5, e.until);
    return remember_dedup_.run();
}

result<std::optional<dedup_entry>> index_db::find_dedup(
    std::uint32_t uid, const std::string& key) {
    find_dedup_.bind(1, uid).bind(2, key);
    auto row = find_dedup_.step();
    std::optional<dedup_entry> out;
    if (row && *row) {
        out = dedup_entry{static_cast<std::uint32_t>(find_dedup_.int_at(0)),
                          static_cast<std::uint64_t>(find_dedup_.int_at(1)),
                          find_dedup_.int_at(2)};
    }
    find_dedup_.reset();
    if (!row) {
        return row.error();
    }
    return out;
}

status index_db::forget_dedup_before(std::int64_t now) {
    auto s = prepare("DELETE FROM dedup WHERE until<=?");
    if (!s) {
        return s.error();
    }
    s->bind(1, now);
    return s->run();
}

}  // namespace dmq::index
