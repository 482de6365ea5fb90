// Segment file I/O: header, record framing and checksums. The byte layout
// is specified in docs/segment-format.md; changing it means bumping
// kCurrentSegmentVersion and keeping a reader for the old version.

#include "agent/storage/segment_file.h"

#include "common/crc32c.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <utility>

namespace dmq::storage {

namespace {

// Little-endian helpers; dmq only builds for little-endian hosts, and the
// static_assert below keeps it that way until a byte swap is added.
static_assert(std::endian::native == std::endian::little,
              "segment encoding assumes a little-endian host");

template <typename T>
void put(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
T get(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

std::string encode_header(std::uint64_t seq) {
    std::string h;
    h.reserve(kSegmentHeaderBytes);
    put<std::uint32_t>(h, kSegmentMagic);
    put<std::uint16_t>(h, kCurrentSegmentVersion);
    put<std::uint16_t>(h, 0);  // flags, none defined yet
    put<std::uint64_t>(h, seq);
    auto now = std::chrono::system_clock::now().time_since_epoch();
    put<std::int64_t>(
        h, std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
    put<std::uint32_t>(h, 0);  // reserved
    put<std::uint32_t>(h, crc32c(h));
    return h;
}

}  // namespace

status write_all(int fd, const char* data, std::size_t n, std::uint64_t at,
                 const std::filesystem::path& path) {
    while (n > 0) {
        ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(at));
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno_status("write " + path.string(), errno);
        }
        data += w;
        n -= static_cast<std::size_t>(w);
        at += static_cast<std::uint64_t>(w);
    }
    return status::ok();
}

std::string segment_file_name(std::uint64_t seq) {
    char name[32];
    std::snprintf(name, sizeof name, "%020llu.seg",
                  static_cast<unsigned long long>(seq));
    return name;
}

bool parse_segment_file_name(std::string_view name, std::uint64_t& seq) {
    if (name.size() != 24 || name.substr(20) != ".seg") {
        return false;
    }
    std::uint64_t v = 0;
    for (char c : name.substr(0, 20)) {
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    seq = v;
    return true;
}

status sync_directory(const std::filesystem::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno_status("open directory " + dir.string(), errno);
    }
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) {
        return errno_status("fsync directory " + dir.string(), err);
    }
    return status::ok();
}

segment_file::segment_file(int fd, std::filesystem::path path,
                           std::uint64_t seq, std::uint64_t size)
    : fd_(fd),
      path_(std::move(path)),
      seq_(seq),
      size_(size),
      flushed_size_(size) {}

segment_file::segment_file(segment_file&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      seq_(other.seq_),
      size_(other.size_),
      flushed_size_(other.flushed_size_),
      pending_(std::move(other.pending_)) {}

segment_file& segment_file::operator=(segment_file&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
        seq_ = other.seq_;
        size_ = other.size_;
        flushed_size_ = other.flushed_size_;
        pending_ = std::move(other.pending_);
    }
    return *this;
}

segment_file::~segment_file() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

result<segment_file> segment_file::create(const std::filesystem::path& path,
                                          std::uint64_t seq) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno_status("create segment " + path.string(), errno);
    }
    segment_file file(fd, path, seq, 0);

    // A half-made file (a full disk, say) would block every later attempt
    // to create this segment, since the name must be new.
    auto give_up = [&](status s) {
        ::unlink(path.c_str());
        return s;
    };
    std::string header = encode_header(seq);
    if (auto s = write_all(fd, header.data(), header.size(), 0, path); !s) {
        return give_up(s);
    }
    file.size_ = file.flushed_size_ = header.size();
    if (::fdatasync(fd) != 0) {
        return give_up(errno_status("sync segment " + path.string(), errno));
    }
    if (auto s = sync_directory(path.parent_path()); !s) {
        return s;
    }
    return file;
}

result<segment_file> segment_file::open(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return errno_status("open segment " + path.string(), errno);
    }
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) {
        int err = errno;
        ::close(fd);
        return errno_status("size of segment " + path.string(), err);
    }
    segment_file file(fd, path, 0, static_cast<std::uint64_t>(end));

    char h[kSegmentHeaderBytes];
    auto got = file.read_exact(0, h, sizeof h);
    if (!got) {
        return got.error();
    }
    if (!*got || get<std::uint32_t>(h) != kSegmentMagic ||
        get<std::uint32_t>(h + 28) != crc32c({h, 28})) {
        return status(errc::corrupt_data, "segment " + path.string() +
                                              ": header is missing or damaged");
    }
    auto version = get<std::uint16_t>(h + 4);
    if (version < kOldestSupportedSegmentVersion ||
        version > kCurrentSegmentVersion) {
        return status(errc::corrupt_data,
                      "segment " + path.string() + ": format version " +
                          std::to_string(version) +
                          " is not supported; this agent reads versions " +
                          std::to_string(kOldestSupportedSegmentVersion) +
                          " to " + std::to_string(kCurrentSegmentVersion));
    }
    file.seq_ = get<std::uint64_t>(h + 8);
    return file;
}

std::uint64_t segment_file::append(std::uint8_t type, std::uint64_t lsn,
                                   std::string_view part1,
                                   std::string_view part2) {
    std::uint64_t offset = size_;
    auto length =
        static_cast<std::uint32_t>(1 + 8 + part1.size() + part2.size());

    char tail[9];
    tail[0] = static_cast<char>(type);
    std::memcpy(tail + 1, &lsn, 8);
    std::uint32_t crc = crc32c_extend(0, tail, sizeof tail);
    crc = crc32c_extend(crc, part1.data(), part1.size());
    crc = crc32c_extend(crc, part2.data(), part2.size());

    put<std::uint32_t>(pending_, length);
    put<std::uint32_t>(pending_, crc);
    pending_.append(tail, sizeof tail);
    pending_.append(part1);
    pending_.append(part2);
    size_ += 8 + length;
    return offset;
}

status segment_file::flush() {
    if (pending_.empty()) {
        return status::ok();
    }
    auto s =
        write_all(fd_, pending_.data(), pending_.size(), flushed_size_, path_);
    if (!s) {
        return s;
    }
    flushed_size_ += pending_.size();
    pending_.clear();
    return status::ok();
}

status segment_file::sync() {
    if (auto s = flush(); !s) {
        return s;
    }
    if (::fdatasync(fd_) != 0) {
        return errno_status("sync segment " + path_.string(), errno);
    }
    return status::ok();
}

result<bool> segment_file::read_exact(std::uint64_t offset, char* out,
                                      std::size_t n) {
    while (n > 0) {
        ssize_t r = ::pread(fd_, out, n, static_cast<off_t>(offset));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno_status("read segment " + path_.string(), errno);
        }
        if (r == 0) {
            return false;
        }
        out += r;
        n -= static_cast<std::size_t>(r);
        offset += static_cast<std::uint64_t>(r);
    }
    return true;
}

result<record> segment_file::read(std::uint64_t offset) {
    if (auto s = flush(); !s) {
        return s;
    }
    auto where = [&] {
        return "segment " + path_.string() + " offset " +
               std::to_string(offset);
    };

    char prefix[8];
    auto got = read_exact(offset, prefix, sizeof prefix);
    if (!got) {
        return got.error();
    }
    auto length = get<std::uint32_t>(prefix);
    if (!*got || length < 9 || length > kMaxRecordBytes) {
        return status(errc::corrupt_data, where() + ": bad record length");
    }

    std::string bytes(length, '\0');
    got = read_exact(offset + 8, bytes.data(), length);
    if (!got) {
        return got.error();
    }
    if (!*got || crc32c(bytes) != get<std::uint32_t>(prefix + 4)) {
        return status(errc::corrupt_data, where() + ": checksum mismatch");
    }

    record rec;
    rec.type = static_cast<std::uint8_t>(bytes[0]);
    rec.lsn = get<std::uint64_t>(bytes.data() + 1);
    rec.payload = bytes.substr(9);
    return rec;
}

result<scan_result> segment_file::scan(std::uint64_t offset,
                                       const visitor& visit) {
    if (auto s = flush(); !s) {
        return s;
    }
    scan_result out;
    out.valid_end = offset;
    while (offset < size_) {
        if (size_ - offset < kRecordHeaderBytes) {
            out.stop = scan_stop::torn_record;
            out.reason = "record header cut short";
            return out;
        }
        auto rec = read(offset);
        if (!rec) {
            if (rec.error().code() != errc::corrupt_data) {
                return rec.error();
            }
            out.stop = scan_stop::torn_record;
            out.reason = rec.error().message();
            return out;
        }
        if (auto s = visit(offset, *rec); !s) {
            return s;
        }
        offset += 8 + 9 + rec->payload.size();
        out.valid_end = offset;
    }
    return out;
}

status segment_file::discard_from(std::uint64_t offset) {
    pending_.clear();
    if (flushed_size_ > offset &&
        ::ftruncate(fd_, static_cast<off_t>(offset)) != 0) {
        return errno_status("truncate segment " + path_.string(), errno);
    }
    size_ = flushed_size_ = std::min(flushed_size_, offset);
    return status::ok();
}

status segment_file::truncate(std::uint64_t offset) {
    if (auto s = flush(); !s) {
        return s;
    }
    if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0) {
        return errno_status("truncate segment " + path_.string(), errno);
    }
    if (::fdatasync(fd_) != 0) {
        return errno_status("sync segment " + path_.string(), errno);
    }
    size_ = flushed_size_ = offset;
    return status::ok();
}

}  // namespace dmq::storage
