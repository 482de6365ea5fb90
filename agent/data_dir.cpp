// Data directory creation, locking and free-space checks.

#include "agent/data_dir.h"

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <utility>

namespace dmq::agent {

namespace fs = std::filesystem;

result<data_dir> data_dir::lock(const fs::path& path) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) {
        return status(errc::io_error,
                      "data directory " + path.string() + ": " + ec.message());
    }
    fs::path abs = fs::absolute(path, ec);

    fs::path lock_file = abs / "LOCK";
    int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno_status(
            "data directory " + abs.string() + " is not writable", errno);
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        std::string holder;
        std::ifstream(lock_file) >> holder;
        ::close(fd);
        return status(errc::io_error,
                      "data directory " + abs.string() +
                          " is in use by another dmq-agent" +
                          (holder.empty() ? "" : " (pid " + holder + ")") +
                          "; stop it or choose another --data-dir");
    }

    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
        int err = errno;
        ::close(fd);
        return errno_status(
            "data directory " + abs.string() + " is not writable", err);
    }
    return data_dir(abs, fd);
}

data_dir::data_dir(data_dir&& other) noexcept
    : path_(std::move(other.path_)),
      lock_fd_(std::exchange(other.lock_fd_, -1)) {}

data_dir::~data_dir() {
    if (lock_fd_ >= 0) {
        ::close(lock_fd_);
    }
}

std::uint64_t data_dir::free_bytes() const {
    struct statvfs st {};
    if (::statvfs(path_.c_str(), &st) != 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

status data_dir::write_listen_address(const std::string& endpoint) const {
    fs::path tmp = path_ / "listen.addr.tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << endpoint << "\n";
        if (!out) {
            return status(errc::io_error, "write " + tmp.string());
        }
    }
    std::error_code ec;
    fs::rename(tmp, path_ / "listen.addr", ec);
    if (ec) {
        return status(errc::io_error,
                      "rename " + tmp.string() + ": " + ec.message());
    }
    return status::ok();
}

}  // namespace dmq::agent
