// Segment management for one queue's log: open, replay with torn-tail
// repair, append with rolling, and removal of segments nothing refers to.

#include "agent/storage/queue_log.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace dmq::storage {

namespace fs = std::filesystem;

namespace {

status read_range(const fs::path& path, std::uint64_t from, std::string& out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno_status("open " + path.string(), errno);
    }
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t r = ::pread(fd, out.data() + done, out.size() - done,
                            static_cast<off_t>(from + done));
        if (r <= 0) {
            int err = r < 0 ? errno : EIO;
            ::close(fd);
            return errno_status("read " + path.string(), err);
        }
        done += static_cast<std::size_t>(r);
    }
    ::close(fd);
    return status::ok();
}

status write_synced(const fs::path& path, std::string_view bytes) {
    int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno_status("create " + path.string(), errno);
    }
    if (auto s = write_all(fd, bytes.data(), bytes.size(), 0, path); !s) {
        ::close(fd);
        return s;
    }
    int rc = ::fdatasync(fd);
    int err = errno;
    ::close(fd);
    return rc == 0 ? status::ok() : errno_status("sync " + path.string(), err);
}

// Keeps damaged bytes instead of deleting them: recovery must never destroy
// data an operator might still want to inspect. Saved before the cut, so
// a failure leaves the segment as it was.
status quarantine_tail(segment_file& seg, std::uint64_t from,
                       std::uint64_t& bytes) {
    bytes = seg.size() - from;
    std::string tail(bytes, '\0');
    if (auto s = read_range(seg.path(), from, tail); !s) {
        return s;
    }
    fs::path out_path = seg.path();
    out_path += ".tail";
    if (auto s = write_synced(out_path, tail); !s) {
        return status(s.code(),
                      "save the damaged tail of " + seg.path().string() +
                          " before cutting it: " + s.message() +
                          "; free space on the data directory's disk (or "
                          "fix its permissions) and start the agent again");
    }
    return seg.truncate(from);
}

}  // namespace

std::string lost_segment_advice(const fs::path& segment) {
    std::string name = segment.filename().string();
    return "Restore " + name + " from a backup, or rename it to " + name +
           ".lost (create an empty " + name +
           ".lost if it is gone) to accept the loss of its messages";
}

queue_log::queue_log(fs::path dir, std::uint64_t segment_bytes,
                     spdlog::logger& log)
    : dir_(std::move(dir)), segment_bytes_(segment_bytes), log_(log) {}

result<std::unique_ptr<queue_log>> queue_log::open(const fs::path& dir,
                                                   std::uint64_t segment_bytes,
                                                   spdlog::logger& log,
                                                   recovery_report& report,
                                                   log_position applied) {
    std::error_code ec;
    bool created = fs::create_directories(dir, ec);
    if (ec) {
        return status(errc::io_error, "create queue directory " + dir.string() +
                                          ": " + ec.message());
    }
    // Without this a power cut could lose the new directory's entry, and
    // with it every segment written inside.
    if (created) {
        if (auto s = sync_directory(dir.parent_path()); !s) {
            return s;
        }
    }
    std::unique_ptr<queue_log> q(new queue_log(dir, segment_bytes, log));

    std::vector<std::uint64_t> seqs;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::uint64_t seq = 0;
        if (parse_segment_file_name(entry.path().filename().string(), seq)) {
            seqs.push_back(seq);
        }
    }
    if (ec) {
        return status(errc::io_error, "list queue directory " + dir.string() +
                                          ": " + ec.message());
    }
    std::sort(seqs.begin(), seqs.end());

    for (std::size_t i = 0; i < seqs.size(); ++i) {
        fs::path path = dir / segment_file_name(seqs[i]);
        auto seg = segment_file::open(path);
        bool newest = i + 1 == seqs.size();
        bool holds_applied =
            seqs[i] < applied.segment || (seqs[i] == applied.segment &&
                                          applied.offset > kSegmentHeaderBytes);
        if (!seg && seg.error().code() == errc::corrupt_data && newest &&
            !holds_applied) {
            // Created but never written (or zero-filled by a crash): it
            // holds no acknowledged record, since the index has applied
            // nothing from it.
            fs::path aside = path;
            aside += ".corrupt";
            fs::rename(path, aside, ec);
            log.warn("recovery [dir={}]: {}; moved it to {}", dir.string(),
                     seg.error().message(), aside.filename().string());
            ++report.files_quarantined;
            continue;
        }
        if (!seg && seg.error().code() != errc::corrupt_data) {
            return seg.error();
        }
        if (!seg) {
            return status(seg.error().code(),
                          seg.error().message() +
                              "; it holds acknowledged messages, so the "
                              "agent will not start. " +
                              lost_segment_advice(path));
        }
        q->segments_.push_back(std::move(*seg));
    }

    if (q->segments_.empty()) {
        auto seg = segment_file::create(dir / segment_file_name(1), 1);
        if (!seg) {
            return seg.error();
        }
        q->segments_.push_back(std::move(*seg));
    }
    report.segments += q->segments_.size();
    return q;
}

status queue_log::check_applied_bytes_exist(log_position from) {
    fs::path path = dir_ / segment_file_name(from.segment);
    for (const auto& seg : segments_) {
        if (seg.seq() == from.segment && seg.size() < from.offset) {
            return status(
                errc::corrupt_data,
                seg.path().string() + " is " + std::to_string(seg.size()) +
                    " bytes, but the index has applied records up to offset " +
                    std::to_string(from.offset) +
                    ": acknowledged messages in between are gone, so the "
                    "agent will not start. " +
                    lost_segment_advice(path));
        }
        if (seg.seq() >= from.segment) {
            return status::ok();
        }
    }
    if (from.offset <= kSegmentHeaderBytes) {
        return status::ok();
    }
    if (accepted_as_lost(from.segment)) {
        log_.warn(
            "recovery [seg={}]: missing, and accepted as lost; the "
            "messages it held are dropped",
            path.string());
        return status::ok();
    }
    return status(errc::corrupt_data,
                  path.string() +
                      " is missing, but the index has applied records from "
                      "it, so the agent will not start. " +
                      lost_segment_advice(path));
}

bool queue_log::has_segment(std::uint64_t seq) const {
    return std::any_of(segments_.begin(), segments_.end(),
                       [&](const segment_file& s) { return s.seq() == seq; });
}

bool queue_log::accepted_as_lost(std::uint64_t seq) const {
    std::error_code ec;
    return fs::exists(dir_ / (segment_file_name(seq) + ".lost"), ec);
}

status queue_log::replay(log_position from, const visitor& visit,
                         recovery_report& report) {
    if (auto s = check_applied_bytes_exist(from); !s) {
        return s;
    }
    for (std::size_t i = 0; i < segments_.size(); ++i) {
        segment_file& seg = segments_[i];
        if (seg.seq() < from.segment) {
            continue;
        }
        std::uint64_t start = seg.seq() == from.segment
                                  ? std::max(from.offset, kSegmentHeaderBytes)
                                  : kSegmentHeaderBytes;
        auto scanned =
            seg.scan(start, [&](std::uint64_t offset, const record& rec) {
                ++report.records_replayed;
                return visit({seg.seq(), offset}, rec);
            });
        if (!scanned) {
            return scanned.error();
        }
        if (scanned->stop == scan_stop::end_of_file) {
            continue;
        }

        bool newest = i + 1 == segments_.size();
        if (!newest) {
            return status(errc::corrupt_data,
                          seg.path().string() + ": " + scanned->reason +
                              " at offset " +
                              std::to_string(scanned->valid_end) +
                              " in a sealed segment; acknowledged messages "
                              "may be damaged, so the agent will not start. " +
                              lost_segment_advice(seg.path()));
        }
        std::uint64_t bytes = 0;
        if (auto s = quarantine_tail(seg, scanned->valid_end, bytes); !s) {
            return s;
        }
        report.bytes_truncated += bytes;
        log_.warn(
            "recovery [seg={}]: {} at offset {}; cut {} bytes of torn tail "
            "(saved in {}.tail); they were never acknowledged",
            seg.path().string(), scanned->reason, scanned->valid_end, bytes,
            seg.path().filename().string());
    }
    return status::ok();
}

status queue_log::roll() {
    if (auto s = active().sync(); !s) {
        return s;
    }
    std::uint64_t next = active().seq() + 1;
    auto seg = segment_file::create(dir_ / segment_file_name(next), next);
    if (!seg) {
        return seg.error();
    }
    segments_.push_back(std::move(*seg));
    log_.debug("[dir={}]: rolled to segment {}", dir_.string(), next);
    return status::ok();
}

result<log_position> queue_log::append(std::uint8_t type, std::uint64_t lsn,
                                       std::string_view part1,
                                       std::string_view part2) {
    std::uint64_t bytes = kRecordHeaderBytes + part1.size() + part2.size();
    if (active().size() > kSegmentHeaderBytes &&
        active().size() + bytes > segment_bytes_) {
        if (auto s = roll(); !s) {
            return s;
        }
    }
    needs_sync_ = true;
    std::uint64_t offset = active().append(type, lsn, part1, part2);
    return log_position{active().seq(), offset};
}

status queue_log::sync() {
    if (!needs_sync_) {
        return status::ok();
    }
    if (auto s = active().sync(); !s) {
        return s;
    }
    needs_sync_ = false;
    return status::ok();
}

status queue_log::flush() {
    return needs_sync_ ? active().flush() : status::ok();
}

status queue_log::rewind(log_position to) {
    while (segments_.size() > 1 && active().seq() > to.segment) {
        std::error_code ec;
        fs::remove(active().path(), ec);
        segments_.pop_back();
    }
    return active().discard_from(to.offset);
}

result<record> queue_log::read(log_position at) {
    auto it = std::lower_bound(
        segments_.begin(), segments_.end(), at.segment,
        [](const segment_file& s, std::uint64_t seq) { return s.seq() < seq; });
    if (it == segments_.end() || it->seq() != at.segment) {
        return status(errc::corrupt_data,
                      "segment " + std::to_string(at.segment) + " of " +
                          dir_.string() + " is missing");
    }
    return it->read(at.offset);
}

log_position queue_log::end() const {
    return {segments_.back().seq(), segments_.back().size()};
}

result<std::size_t> queue_log::remove_segments_except(
    const std::set<std::uint64_t>& live) {
    std::size_t removed = 0;
    std::vector<segment_file> kept;
    for (std::size_t i = 0; i < segments_.size(); ++i) {
        bool active_segment = i + 1 == segments_.size();
        if (active_segment || live.count(segments_[i].seq()) != 0) {
            kept.push_back(std::move(segments_[i]));
            continue;
        }
        std::error_code ec;
        fs::remove(segments_[i].path(), ec);
        if (ec) {
            // Keep going: a file we failed to remove costs only disk space.
            log_.error("[seg={}]: remove failed: {}; will retry",
                       segments_[i].path().string(), ec.message());
            kept.push_back(std::move(segments_[i]));
            continue;
        }
        ++removed;
    }
    segments_ = std::move(kept);
    if (removed > 0) {
        if (auto s = sync_directory(dir_); !s) {
            return s;
        }
    }
    return removed;
}

status queue_log::destroy() {
    segments_.clear();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec) {
        return status(errc::io_error, "remove queue directory " +
                                          dir_.string() + ": " + ec.message());
    }
    return status::ok();
}

}  // namespace dmq::storage
