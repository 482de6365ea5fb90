// CLI11 glue for the kinds of values dmq's commands take: queue names,
// durations, sizes, counts, attributes, groups, dedup ids, priorities and
// the output format. Each value is checked while parsing, so a bad one is
// a usage error (exit 2) before any network traffic, with a message that
// says the valid form.

#pragma once

#include "cmd/limits.h"
#include "cmd/output_format.h"
#include "common/duration.h"
#include "common/status.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dmq::cli {

// Adds the QUEUE argument, checked against the queue name rules.
CLI::Option* add_queue_argument(CLI::App& cmd, std::string& queue);

// Adds an option taking a duration ("500ms", "30s", "5m", "2h", "4d"; a
// bare number is seconds). `out` is set only when the option is given;
// durations outside `range` are refused, naming the option and the range.
CLI::Option* add_duration_option(CLI::App& cmd, const std::string& names,
                                 std::optional<millis>& out,
                                 const std::string& description,
                                 duration_range range = kAnyDuration);

// Adds an option taking a size ("256KiB", "1MiB"; a bare number is bytes)
// within `range`.
CLI::Option* add_size_option(CLI::App& cmd, const std::string& names,
                             std::optional<std::uint64_t>& out,
                             const std::string& description, size_range range);

// Adds an option taking a whole number from 1 to `most`.
CLI::Option* add_count_option(CLI::App& cmd, const std::string& names,
                              std::int64_t& out, std::int64_t most,
                              const std::string& description);

// Adds the repeatable --attr KEY=VALUE option. Keys and values follow
// the rules of common/message_fields.h (at most 16; a key is a shell
// variable name), each key at most once.
CLI::Option* add_attribute_option(
    CLI::App& cmd, std::vector<std::pair<std::string, std::string>>& out);

// Adds an option taking text that `check` accepts (a queue name, a
// group, a dedup id); its refusal, prefixed by the option, is the usage
// error. `out` is set only when the option is given.
CLI::Option* add_checked_text_option(CLI::App& cmd, const std::string& names,
                                     std::optional<std::string>& out,
                                     status (*check)(std::string_view),
                                     const std::string& description);

// Adds --priority N, 0 (first) to 9.
CLI::Option* add_priority_option(CLI::App& cmd,
                                 std::optional<std::int64_t>& out);

// Adds --format text|json; `json` is set when json is chosen.
CLI::Option* add_format_option(CLI::App& cmd, bool& json);

// The long name among "-n,--max" style names: "--max".
std::string long_name(const std::string& names);

}  // namespace dmq::cli
