// Turns the bytes of stdin (or of a BODY argument) into message bodies:
// the whole input as one body, one body per line (--lines), or one per
// NUL-terminated record (-0). Bodies are byte strings: nothing is trimmed,
// decoded or interpreted, and "\r" before a "\n" stays in the body.
//
// input_splitter is pure (fed bytes, yields bodies) so that it is easy to
// test; input_reader feeds it from a file descriptor without blocking when
// asked, so that `tail -F log | dmq send --lines q` can send each burst of
// lines as soon as it arrives instead of waiting for end of input.

#pragma once

#include "common/status.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dmq::cli {

enum class split_mode {
    whole,  // all input is one body; empty input is one empty body
    lines,  // split on '\n'; empty input is no body, "\n" one empty body
    null,   // split on '\0', with the same rules as lines
};

class input_splitter {
public:
    explicit input_splitter(split_mode mode) : mode_(mode) {}

    // Appends input bytes; bodies completed by them become ready.
    void feed(std::string_view bytes);

    // Marks the end of input: the last record without a terminator (and,
    // in whole mode, the whole input, even if empty) becomes ready.
    void finish();

    // Moves out the bodies completed so far, in input order.
    std::vector<std::string> take();

    // Bytes held for a body that is not complete yet.
    std::size_t partial_size() const { return partial_.size(); }

private:
    split_mode mode_;
    std::string partial_;
    std::vector<std::string> ready_;
};

// Reads a file descriptor into an input_splitter.
class input_reader {
public:
    enum class outcome {
        read,  // some bytes were read
        idle,  // nothing readable right now (only when not blocking)
        end,   // end of input
    };

    explicit input_reader(int fd) : fd_(fd) {}

    // Reads what is available into `splitter`. With `block`, waits until
    // something is readable; without, returns idle at once if nothing is.
    // Returns a bad_request status ("cannot read stdin: Is a directory")
    // when the input cannot be read, and an unavailable one when a signal
    // interrupts the wait.
    result<outcome> read_some(input_splitter& splitter, bool block);

    // True once reading failed: the input given is unusable (a
    // directory, a closed descriptor), which is the user's to fix.
    bool failed() const { return failed_; }

private:
    status input_error(int err);

    int fd_;
    bool failed_ = false;
    std::string buffer_ = std::string(64 * 1024, '\0');
};

}  // namespace dmq::cli
