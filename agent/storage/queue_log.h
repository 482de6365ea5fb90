// The log of one queue: its ordered, replayable list of state changes
// (sends, deliveries, acks, ...) kept in numbered segment files in the
// queue's directory. Owned by the queue engine; only the event loop thread
// may call it. Records are opaque here: agent/queue/state_records.h gives
// them meaning.
// Rule: a position returned by append() is durable only after sync().

#pragma once

#include "agent/storage/segment_file.h"
#include "common/status.h"

#include <spdlog/logger.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <vector>

namespace dmq::storage {

// What an operator can do about a damaged or missing segment.
std::string lost_segment_advice(const std::filesystem::path& segment);

// Where a record starts (or, for an "applied up to" mark, where the next
// one would start).
struct log_position {
    std::uint64_t segment = 0;
    std::uint64_t offset = 0;
    auto operator<=>(const log_position&) const = default;
};

// What opening and replaying a log found and repaired, for the startup log.
struct recovery_report {
    std::size_t segments = 0;
    std::size_t records_replayed = 0;
    std::uint64_t bytes_truncated = 0;
    std::size_t files_quarantined = 0;
};

// Lifecycle: open() returns one; the destructor closes its files.
class queue_log {
public:
    // Opens (creating if needed) the log in `dir`. `applied` is how far the
    // index has applied the log: records before it were acknowledged.
    // A newest segment whose header is unreadable and that holds nothing
    // applied (a crash while it was being created, or a zero-filled file)
    // is renamed to *.corrupt and logged. Any other damaged header is
    // corrupt_data, since acknowledged messages would be lost.
    static result<std::unique_ptr<queue_log>> open(
        const std::filesystem::path& dir, std::uint64_t segment_bytes,
        spdlog::logger& log, recovery_report& report,
        log_position applied = {});

    // Visits every record from `from` to the end, then makes the log
    // appendable. A torn or corrupt tail of the newest segment is copied
    // to a *.tail file beside it and cut off (logged); damage in an older
    // segment, or a segment that ends before `from` (bytes the index had
    // applied are gone), is corrupt_data.
    using visitor = std::function<status(log_position at, const record& rec)>;
    status replay(log_position from, const visitor& visit,
                  recovery_report& report);

    // Appends one record, rolling to a new segment when the active one is
    // full. Returns where the record starts.
    result<log_position> append(std::uint8_t type, std::uint64_t lsn,
                                std::string_view part1,
                                std::string_view part2 = {});

    // Writes appended records to the files without syncing them; the
    // error of a full disk shows here, while the batch can still be undone.
    status flush();

    // Ensures: every record appended so far is on stable storage.
    status sync();

    // Undoes every append since `to`, which end() returned earlier: drops
    // segments made since and cuts the one `to` is in.
    status rewind(log_position to);

    // Reads and verifies the record at `at`.
    result<record> read(log_position at);

    // Position just after the last appended record.
    log_position end() const;

    std::size_t segment_count() const { return segments_.size(); }
    bool has_segment(std::uint64_t seq) const;

    // Whether an operator marked segment `seq` as lost (a file named like
    // it plus ".lost"), accepting that the messages it held are gone.
    bool accepted_as_lost(std::uint64_t seq) const;

    // Deletes every segment older than the active one whose seq is not in
    // `live`, oldest first. The caller must have made durable the index
    // state that stopped referring to them. Returns how many were removed.
    result<std::size_t> remove_segments_except(
        const std::set<std::uint64_t>& live);

    // Deletes every file of the log and its directory.
    status destroy();

private:
    queue_log(std::filesystem::path dir, std::uint64_t segment_bytes,
              spdlog::logger& log);
    status roll();
    status check_applied_bytes_exist(log_position from);
    segment_file& active() { return segments_.back(); }

    std::filesystem::path dir_;
    std::uint64_t segment_bytes_;
    spdlog::logger& log_;
    std::vector<segment_file> segments_;  // ascending seq; back() is active
    bool needs_sync_ = false;
};

}  // namespace dmq::storage
