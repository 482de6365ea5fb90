// Wire names of error codes and the errno helper for status.

#include "common/status.h"

#include <array>
#include <cstring>

namespace dmq {

namespace {

struct code_name {
    errc code;
    std::string_view name;
};

constexpr std::array kCodeNames = {
    code_name{errc::ok, "OK"},
    code_name{errc::bad_request, "BAD_REQUEST"},
    code_name{errc::unsupported_version, "UNSUPPORTED_VERSION"},
    code_name{errc::unknown_op, "UNKNOWN_OP"},
    code_name{errc::not_found, "NOT_FOUND"},
    code_name{errc::queue_exists, "QUEUE_EXISTS"},
    code_name{errc::queue_not_empty, "QUEUE_NOT_EMPTY"},
    code_name{errc::queue_in_use, "QUEUE_IN_USE"},
    code_name{errc::too_large, "TOO_LARGE"},
    code_name{errc::stale_receipt, "STALE_RECEIPT"},
    code_name{errc::invalid_receipt, "INVALID_RECEIPT"},
    code_name{errc::shutting_down, "SHUTTING_DOWN"},
    code_name{errc::unavailable, "UNAVAILABLE"},
    code_name{errc::corrupt_data, "CORRUPT_DATA"},
    code_name{errc::io_error, "IO_ERROR"},
    code_name{errc::internal, "INTERNAL"},
};

}  // namespace

std::string_view wire_code(errc code) {
    for (const auto& entry : kCodeNames) {
        if (entry.code == code) {
            return entry.name;
        }
    }
    return "INTERNAL";
}

errc errc_from_wire(std::string_view name) {
    for (const auto& entry : kCodeNames) {
        if (entry.name == name) {
            return entry.code;
        }
    }
    return errc::internal;
}

status status::with_context(std::string_view context) const {
    if (is_ok()) {
        return *this;
    }
    std::string message(context);
    message += ": ";
    message += message_;
    return {code_, std::move(message)};
}

status errno_status(std::string_view context, int err) {
    std::string message(context);
    message += ": ";
    message += std::strerror(err);
    return {errc::io_error, std::move(message)};
}

}  // namespace dmq
