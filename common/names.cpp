// Queue name validation and typo suggestions.

#include "common/names.h"

#include "common/utf8.h"

#include <algorithm>

namespace dmq {

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

status validate_queue_name(std::string_view name) {
    if (name.empty()) {
        return {errc::bad_request, "queue name is empty"};
    }
    if (name.size() > kMaxQueueNameLength) {
        return {errc::bad_request, "queue name is " +
                                       std::to_string(name.size()) +
                                       " characters long: the most is 80"};
    }
    for (char c : name) {
        if (!is_name_char(c)) {
            return {errc::bad_request,
                    "invalid queue name '" + printable(name) +
                        "': use only letters, digits, '.', '_' and '-'"};
        }
    }
    return status::ok();
}

std::string closest_name(std::string_view name,
                         const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = 0;
    for (const auto& candidate : candidates) {
        std::size_t d = edit_distance(name, candidate);
        if (best.empty() || d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }

    // Two edits cover a swapped pair of letters; beyond that, a suggestion
    // more than a third of the name away is noise.
    std::size_t limit = std::max<std::size_t>(2, name.size() / 3);
    return best_distance <= limit ? best : std::string();
}

}  // namespace dmq
