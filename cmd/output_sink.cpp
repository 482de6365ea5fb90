// Buffered stdout; see output_sink.h.

#include "cmd/output_sink.h"

#include <cerrno>
#include <unistd.h>

namespace dmq::cli {

namespace {

constexpr std::size_t kFlushAt = 64 * 1024;

}  // namespace

status output_sink::write(std::string_view bytes) {
    buffer_.append(bytes);
    return buffer_.size() >= kFlushAt ? flush() : status::ok();
}

status output_sink::flush() {
    std::size_t done = 0;
    while (done < buffer_.size()) {
        ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int err = errno;
            buffer_.clear();
            return errno_status("write standard output", err);
        }
        done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
    return status::ok();
}

output_sink& standard_output() {
    static output_sink sink(STDOUT_FILENO);
    return sink;
}

status print_stdout(std::string_view text) {
    output_sink& out = standard_output();
    status written = out.write(text);
    return written ? out.flush() : written;
}

}  // namespace dmq::cli
