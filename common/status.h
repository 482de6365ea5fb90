// Expected failures as values: a status carries an error code and a
// "context: cause" message; result<T> carries a value or a status.
// Shared by the agent and the CLI. Exceptions never cross a module edge;
// code that calls a throwing library turns the exception into a status.

#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace dmq {

// One list of failure kinds for the whole project. Each has a stable wire
// name (see wire_code) that clients switch on; never rename one.
enum class errc {
    ok = 0,
    bad_request,          // malformed or invalid request from a client
    unsupported_version,  // protocol version this agent does not speak
    unknown_op,           // operation this agent does not know
    not_found,            // no such queue
    queue_exists,         // create of a queue that already exists
    queue_not_empty,      // delete of a non-empty queue without force
    queue_in_use,         // delete of a queue another uses as its DLQ
    too_large,            // body over the queue's maximum size
    stale_receipt,        // receipt of a delivery that is no longer current
    invalid_receipt,      // receipt that names no message of this queue
    shutting_down,        // agent is stopping; retry elsewhere
    unavailable,          // agent could not be reached in time
    corrupt_data,         // stored data failed its checksum
    io_error,             // the disk or the OS failed an operation
    internal,             // a bug or an unexpected state
};

// Stable upper-case name of a code, as sent on the wire ("NOT_FOUND").
std::string_view wire_code(errc code);

// Inverse of wire_code; unknown names map to errc::internal.
errc errc_from_wire(std::string_view name);

class status {
public:
    status() = default;
    status(errc code, std::string message)
        : code_(code), message_(std::move(message)) {}

    static status ok() { return {}; }

    bool is_ok() const { return code_ == errc::ok; }
    explicit operator bool() const { return is_ok(); }
    errc code() const { return code_; }
    const std::string& message() const { return message_; }

    // Returns a copy whose message is "context: <this message>".
    status with_context(std::string_view context) const;

private:
    errc code_ = errc::ok;
    std::string message_;
};

// Builds an io_error status from errno: "context: strerror(errno)".
status errno_status(std::string_view context, int err);

template <typename T>
class result {
public:
    result(T value) : value_(std::move(value)) {}
    result(status error) : error_(std::move(error)) { assert(!error_.is_ok()); }

    bool is_ok() const { return value_.has_value(); }
    explicit operator bool() const { return is_ok(); }

    T& value() { return *value_; }
    const T& value() const { return *value_; }
    T& operator*() { return *value_; }
    const T& operator*() const { return *value_; }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }

    const status& error() const { return error_; }

private:
    std::optional<T> value_;
    status error_;
};

}  // namespace dmq
