// Splitting input into message bodies; see input_splitter.h.

#include "cmd/input_splitter.h"

#include "cmd/signals.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>

namespace dmq::cli {

void input_splitter::feed(std::string_view bytes) {
    if (mode_ == split_mode::whole) {
        partial_.append(bytes);
        return;
    }

    char terminator = mode_ == split_mode::lines ? '\n' : '\0';
    while (!bytes.empty()) {
        std::size_t end = bytes.find(terminator);
        if (end == std::string_view::npos) {
            partial_.append(bytes);
            return;
        }
        partial_.append(bytes.substr(0, end));
        ready_.push_back(std::move(partial_));
        partial_.clear();
        bytes.remove_prefix(end + 1);
    }
}

void input_splitter::finish() {
    // A last record without its terminator still counts, but the empty
    // remainder after a final terminator is not a record.
    if (mode_ == split_mode::whole || !partial_.empty()) {
        ready_.push_back(std::move(partial_));
    }
    partial_.clear();
}

std::vector<std::string> input_splitter::take() {
    std::vector<std::string> out;
    out.swap(ready_);
    return out;
}

status input_reader::input_error(int err) {
    failed_ = true;
    return status(errc::bad_request,
                  "cannot read stdin: " + std::string(std::strerror(err)));
}

result<input_reader::outcome> input_reader::read_some(input_splitter& splitter,
                                                      bool block) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {signals::wake_fd(), POLLIN, 0}};
    for (;;) {
        if (signals::caught() != 0) {
            return status(errc::unavailable, "interrupted");
        }
        int ready = poll(fds, 2, block ? -1 : 0);
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready < 0) {
            return input_error(errno);
        }
        if (ready == 0) {
            return outcome::idle;
        }
        if (fds[0].revents != 0) {
            break;
        }
    }

    ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
    while (n < 0 && errno == EINTR && signals::caught() == 0) {
        n = ::read(fd_, buffer_.data(), buffer_.size());
    }
    if (n < 0) {
        return input_error(errno);
    }
    if (n == 0) {
        return outcome::end;
    }
    splitter.feed(std::string_view(buffer_.data(), static_cast<size_t>(n)));
    return outcome::read;
}

}  // namespace dmq::cli
