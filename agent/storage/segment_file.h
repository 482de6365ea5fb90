// One segment file of a queue's log: a fixed header followed by framed,
// checksummed records. Owned by queue_log; only the agent's event loop
// thread may call it. Layout: docs/segment-format.md.
// Rule: bytes appended are not durable until sync() has returned ok.

#pragma once

#include "common/status.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace dmq::storage {

constexpr std::uint32_t kSegmentMagic = 0x53514d44;  // "DMQS" on disk
constexpr std::uint16_t kCurrentSegmentVersion = 1;
constexpr std::uint16_t kOldestSupportedSegmentVersion = 1;
constexpr std::size_t kSegmentHeaderBytes = 32;

// length (4) + crc (4) + type (1) + lsn (8)
constexpr std::size_t kRecordHeaderBytes = 17;

// No record may be larger: bounds what a corrupt length field can make the
// reader allocate. A body is at most 16 MiB; attributes add at most 16 KiB.
constexpr std::uint32_t kMaxRecordBytes = (17u << 20);

// One record as read back: its type, log sequence number and payload.
struct record {
    std::uint8_t type = 0;
    std::uint64_t lsn = 0;
    std::string payload;
};

// Why a scan stopped before the end of the file.
enum class scan_stop {
    end_of_file,  // every byte belonged to a valid record
    torn_record,  // a record is cut short or fails its checksum
};

struct scan_result {
    std::uint64_t valid_end = 0;  // offset just after the last good record
    scan_stop stop = scan_stop::end_of_file;
    std::string reason;  // what was wrong, when stop is torn_record
};

// Lifecycle: create() or open() returns one; the destructor closes the fd.
// Move-only.
class segment_file {
public:
    // Creates a new, empty segment and syncs it and its directory, so that a
    // crash right after cannot leave a file without a header.
    static result<segment_file> create(const std::filesystem::path& path,
                                       std::uint64_t seq);

    // Opens an existing segment and checks its header. corrupt_data when the
    // header is not a dmq segment or has an unsupported version.
    static result<segment_file> open(const std::filesystem::path& path);

    segment_file(segment_file&& other) noexcept;
    segment_file& operator=(segment_file&& other) noexcept;
    segment_file(const segment_file&) = delete;
    segment_file& operator=(const segment_file&) = delete;
    ~segment_file();

    std::uint64_t seq() const { return seq_; }
    std::uint64_t size() const { return size_; }
    const std::filesystem::path& path() const { return path_; }

    // Appends one record made of the payload parts, given separately so a
    // body need not be copied into a header buffer. Returns the record's
    // offset. The bytes sit in a user-space buffer until flush().
    std::uint64_t append(std::uint8_t type, std::uint64_t lsn,
                         std::string_view part1, std::string_view part2 = {});

    // Writes buffered appends to the file (not yet durable).
    status flush();

    // Ensures: every record appended so far is on stable storage.
    status sync();

    // Reads and verifies the record at `offset`. corrupt_data if it fails
    // its checksum.
    result<record> read(std::uint64_t offset);

    // Visits every valid record from `offset` on, in order, and reports
    // where the valid data ends. Stops early if `visit` returns an error.
    using visitor =
        std::function<status(std::uint64_t offset, const record& rec)>;
    result<scan_result> scan(std::uint64_t offset, const visitor& visit);

    // Cuts the file at `offset`, syncing the result.
    status truncate(std::uint64_t offset);

    // Forgets everything appended from `offset` on, written or not, without
    // syncing: for undoing appends that were never acknowledged.
    status discard_from(std::uint64_t offset);

private:
    segment_file(int fd, std::filesystem::path path, std::uint64_t seq,
                 std::uint64_t size);
    result<bool> read_exact(std::uint64_t offset, char* out, std::size_t n);

    int fd_ = -1;
    std::filesystem::path path_;
    std::uint64_t seq_ = 0;
    std::uint64_t size_ = 0;          // logical size, buffered bytes included
    std::uint64_t flushed_size_ = 0;  // bytes already written to the fd
    std::string pending_;             // appended, not yet written
};

// Name of the segment file for `seq`: 20 digits and ".seg", so that names
// sort in sequence order.
std::string segment_file_name(std::uint64_t seq);

// Parses a name made by segment_file_name; false for any other file.
bool parse_segment_file_name(std::string_view name, std::uint64_t& seq);

// Writes all `n` bytes at offset `at` of `fd`, retrying short writes and
// interrupted calls; the error names `path`.
status write_all(int fd, const char* data, std::size_t n, std::uint64_t at,
                 const std::filesystem::path& path);

// fsync of a directory, so that a create, rename or unlink in it survives
// a crash.
status sync_directory(const std::filesystem::path& dir);

}  // namespace dmq::storage
