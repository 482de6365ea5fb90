// Duration and size parsing; see duration.h for the accepted forms.

#include "common/duration.h"

#include <array>
#include <charconv>
#include <limits>

namespace dmq {

namespace {

struct unit {
    std::string_view suffix;
    std::uint64_t factor;
};

constexpr std::array kDurationUnits = {
    unit{"ms", 1},        unit{"s", 1000},       unit{"m", 60'000},
    unit{"h", 3'600'000}, unit{"d", 86'400'000},
};

constexpr std::array kSizeUnits = {
    unit{"B", 1},
    unit{"KiB", 1ULL << 10},
    unit{"MiB", 1ULL << 20},
    unit{"GiB", 1ULL << 30},
};

// Splits "30s" into 30 and "s". Returns false when the text does not start
// with decimal digits or the number does not fit in 64 bits.
bool split_number(std::string_view text, std::uint64_t& number,
                  std::string_view& suffix) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, number);
    if (ec != std::errc() || ptr == text.data()) {
        return false;
    }
    suffix = std::string_view(ptr, end - ptr);
    return true;
}

template <typename Units>
bool scale(std::uint64_t number, std::string_view suffix, const Units& units,
           std::string_view bare_unit, std::uint64_t& out) {
    if (suffix.empty()) {
        suffix = bare_unit;
    }
    for (const auto& u : units) {
        if (u.suffix != suffix) {
            continue;
        }
        if (number > std::numeric_limits<std::uint64_t>::max() / u.factor) {
            return false;
        }
        out = number * u.factor;
        return true;
    }
    return false;
}

template <typename Units>
std::string format_with(std::uint64_t value, const Units& units) {
    for (auto it = units.rbegin(); it != units.rend(); ++it) {
        if (value != 0 && value % it->factor == 0) {
            return std::to_string(value / it->factor) + std::string(it->suffix);
        }
    }
    return std::to_string(value) + std::string(units.front().suffix);
}

}  // namespace

result<millis> parse_duration(std::string_view text) {
    std::uint64_t number = 0;
    std::string_view suffix;
    std::uint64_t ms = 0;
    if (!split_number(text, number, suffix) ||
        !scale(number, suffix, kDurationUnits, "s", ms)) {
        return status(errc::bad_request,
                      "invalid duration '" + std::string(text) +
                          "': use a whole number with a unit, such as "
                          "500ms, 30s, 5m, 2h or 4d");
    }
    if (ms > static_cast<std::uint64_t>(kMaxDurationMs)) {
        return status(errc::bad_request,
                      "duration '" + std::string(text) +
                          "' is too long: the most is 36500d");
    }
    return millis(static_cast<std::int64_t>(ms));
}

result<std::uint64_t> parse_size(std::string_view text) {
    std::uint64_t number = 0;
    std::string_view suffix;
    std::uint64_t bytes = 0;
    if (!split_number(text, number, suffix) ||
        !scale(number, suffix, kSizeUnits, "B", bytes)) {
        return status(errc::bad_request,
                      "invalid size '" + std::string(text) +
                          "': use a whole number of bytes with an optional "
                          "unit, such as 1024, 256KiB or 1MiB");
    }
    return bytes;
}

std::string format_duration(millis value) {
    return format_with(static_cast<std::uint64_t>(value.count()),
                       kDurationUnits);
}

std::string format_size(std::uint64_t bytes) {
    return format_with(bytes, kSizeUnits);
}

}  // namespace dmq
