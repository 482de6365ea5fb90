// Thin RAII wrappers over SQLite connections and prepared statements that
// turn SQLite error codes into status values. Used only by index_db.

#pragma once

#include "common/status.h"

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace dmq::index {

// One prepared statement. Lifecycle: made by prepare(); finalized by the
// destructor. Bind indexes start at 1, column indexes at 0, as in SQLite.
class stmt {
public:
    stmt() = default;
    stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
    stmt(stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)) {}
    stmt& operator=(stmt&& o) noexcept {
        std::swap(db_, o.db_);
        std::swap(s_, o.s_);
        return *this;
    }
    ~stmt() { sqlite3_finalize(s_); }

    stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    stmt& bind(int i, std::uint64_t v) {
        return bind(i, static_cast<std::int64_t>(v));
    }
    stmt& bind(int i, std::uint32_t v) {
        return bind(i, static_cast<std::int64_t>(v));
    }
    stmt& bind(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()),
                          SQLITE_TRANSIENT);
        return *this;
    }
    stmt& bind_null(int i) {
        sqlite3_bind_null(s_, i);
        return *this;
    }
    // Empty text binds NULL, so that partial indexes leave the row out.
    stmt& bind_or_null(int i, std::string_view v) {
        return v.empty() ? bind_null(i) : bind(i, v);
    }
    stmt& bind_blob(int i, std::string_view v) {
        sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()),
                          SQLITE_TRANSIENT);
        return *this;
    }

    // Returns true while a row is available, false when done.
    result<bool> step() {
        int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW) {
            return true;
        }
        if (rc == SQLITE_DONE) {
            return false;
        }
        return status(errc::io_error,
                      std::string("index: ") + sqlite3_errmsg(db_));
    }

    // Runs a statement that returns no rows, then resets it for reuse.
    status run() {
        auto r = step();
        reset();
        return r ? status::ok() : r.error();
    }

    // Steps through every row, calling `visit` on each, then resets the
    // statement for reuse, also when a step fails.
    template <typename Visit>
    status for_each_row(Visit&& visit) {
        while (true) {
            auto more = step();
            if (!more || !*more) {
                reset();
                return more ? status::ok() : more.error();
            }
            visit(*this);
        }
    }

    void reset() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }

    std::int64_t int_at(int col) const { return sqlite3_column_int64(s_, col); }
    bool is_null(int col) const {
        return sqlite3_column_type(s_, col) == SQLITE_NULL;
    }
    std::string text_at(int col) const {
        const void* p = sqlite3_column_blob(s_, col);
        int n = sqlite3_column_bytes(s_, col);
        return p ? std::string(static_cast<const char*>(p), n) : std::string();
    }

private:
    sqlite3* db_ = nullptr;
    sqlite3_stmt* s_ = nullptr;
};

}  // namespace dmq::index
