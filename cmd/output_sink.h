// Buffered writes to stdout with errors as values. dmq decides when output
// is flushed (after each batch of messages, before acking them) and must
// know when a write failed (a closed pipe, a full disk), so it writes the
// file descriptor itself instead of going through iostreams.

#pragma once

#include "common/status.h"

#include <string>
#include <string_view>

namespace dmq::cli {

class output_sink {
public:
    explicit output_sink(int fd) : fd_(fd) {}

    // Buffers `bytes`; writes out when the buffer grows large.
    status write(std::string_view bytes);

    // Writes out everything buffered. Ensures, on ok: the bytes were
    // handed to the kernel (not that a reader has consumed them).
    status flush();

private:
    int fd_;
    std::string buffer_;
};

// The process's stdout.
output_sink& standard_output();

// Writes `text` to stdout and flushes it.
status print_stdout(std::string_view text);

}  // namespace dmq::cli
