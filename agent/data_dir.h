// The agent's data directory: makes sure it exists and is writable, and
// holds an exclusive lock on it for the life of the process so that two
// agents can never write the same files. Layout: docs/data-dir.md.

#pragma once

#include "common/status.h"

#include <cstdint>
#include <filesystem>

namespace dmq::agent {

// Lifecycle: lock() returns one; the lock is released when it is destroyed
// (or when the process dies, since it is an flock).
class data_dir {
public:
    static result<data_dir> lock(const std::filesystem::path& path);

    data_dir(data_dir&& other) noexcept;
    data_dir(const data_dir&) = delete;
    ~data_dir();

    const std::filesystem::path& path() const { return path_; }

    // Bytes free for an unprivileged user on the directory's file system.
    std::uint64_t free_bytes() const;

    // Writes the address the agent listens on, for scripts and tests.
    status write_listen_address(const std::string& endpoint) const;

private:
    data_dir(std::filesystem::path path, int fd)
        : path_(std::move(path)), lock_fd_(fd) {}

    std::filesystem::path path_;
    int lock_fd_ = -1;
};

}  // namespace dmq::agent
