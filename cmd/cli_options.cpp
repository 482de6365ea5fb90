// Checked option values for CLI11; see cli_options.h.

#include "cmd/cli_options.h"

#include "common/message_fields.h"
#include "common/names.h"
#include "common/utf8.h"

#include <charconv>

namespace dmq::cli {

namespace {

// Adds an option whose single value goes through `parse`, which throws
// CLI::ValidationError with a complete message when the value is bad.
CLI::Option* add_parsed_option(CLI::App& cmd, const std::string& names,
                               std::function<void(const std::string&)> parse,
                               const std::string& description) {
    auto callback = [parse = std::move(parse)](const CLI::results_t& values) {
        for (const auto& value : values) {
            parse(value);
        }
        return true;
    };
    return cmd.add_option(names, CLI::callback_t(std::move(callback)),
                          description);
}

// "must be at most 15m", "must be from 1s to 36500d", "must be more
// than 0": the valid range, as the end of an option's error.
std::string range_text(millis least, millis most, bool too_small) {
    if (least == millis(1) && too_small) {
        return "must be more than 0";
    }
    if (least == millis(0) || least == millis(1)) {
        return "must be at most " + format_duration(most);
    }
    return "must be from " + format_duration(least) + " to " +
           format_duration(most);
}

// Throws the usage error for `option` when `valid` is not ok.
void check_value(const std::string& option, const status& valid) {
    if (!valid) {
        throw CLI::ValidationError(option + ": " + printable(valid.message()));
    }
}

}  // namespace

std::string long_name(const std::string& names) {
    std::size_t comma = names.rfind(',');
    return comma == std::string::npos ? names : names.substr(comma + 1);
}

CLI::Option* add_queue_argument(CLI::App& cmd, std::string& queue) {
    auto parse = [&queue](const std::string& value) {
        if (status valid = validate_queue_name(value); !valid) {
            throw CLI::ValidationError(valid.message());
        }
        queue = value;
    };
    return add_parsed_option(cmd, "QUEUE", parse, "name of the queue")
        ->required()
        ->type_name("");
}

CLI::Option* add_duration_option(CLI::App& cmd, const std::string& names,
                                 std::optional<millis>& out,
                                 const std::string& description,
                                 duration_range range) {
    std::string option = long_name(names);
    auto parse = [&out, option, range](const std::string& value) {
        auto duration = parse_duration(value);
        if (!duration) {
            throw CLI::ValidationError(option + ": " +
                                       duration.error().message());
        }
        if (*duration < range.least || *duration > range.most) {
            throw CLI::ValidationError(
                option + " " + value + ": " +
                range_text(range.least, range.most, *duration < range.least));
        }
        out = *duration;
    };
    return add_parsed_option(cmd, names, parse, description)->type_name("DUR");
}

CLI::Option* add_size_option(CLI::App& cmd, const std::string& names,
                             std::optional<std::uint64_t>& out,
                             const std::string& description, size_range range) {
    std::string option = long_name(names);
    auto parse = [&out, option, range](const std::string& value) {
        auto size = parse_size(value);
        if (!size) {
            throw CLI::ValidationError(option + ": " + size.error().message());
        }
        if (*size < range.least || *size > range.most) {
            throw CLI::ValidationError(
                option + " " + value + ": must be " +
                (range.least == 0 ? "at most " + format_size(range.most)
                                  : "from " + format_size(range.least) +
                                        " to " + format_size(range.most)));
        }
        out = *size;
    };
    return add_parsed_option(cmd, names, parse, description)
        ->type_name("BYTES");
}

CLI::Option* add_count_option(CLI::App& cmd, const std::string& names,
                              std::int64_t& out, std::int64_t most,
                              const std::string& description) {
    std::string option = long_name(names);
    auto parse = [&out, option, most](const std::string& value) {
        std::int64_t number = 0;
        const char* end = value.data() + value.size();
        auto [ptr, ec] = std::from_chars(value.data(), end, number);
        if (ec != std::errc() || ptr != end || number < 1 || number > most) {
            throw CLI::ValidationError(
                option + ": invalid count '" + printable(value) +
                "': use a whole number from 1 to " + std::to_string(most));
        }
        out = number;
    };
    return add_parsed_option(cmd, names, parse, description)->type_name("N");
}

CLI::Option* add_attribute_option(
    CLI::App& cmd, std::vector<std::pair<std::string, std::string>>& out) {
    auto parse = [&out](const std::string& value) {
        std::size_t equals = value.find('=');
        if (equals == std::string::npos || equals == 0) {
            throw CLI::ValidationError("--attr: invalid attribute '" +
                                       printable(value) +
                                       "': use KEY=VALUE, such as "
                                       "kind=resize");
        }
        std::string key = value.substr(0, equals);
        std::string text = value.substr(equals + 1);
        check_value("--attr", validate_attribute_key(key));
        check_value("--attr", validate_attribute_value(key, text));
        for (const auto& entry : out) {
            if (entry.first == key) {
                throw CLI::ValidationError("--attr: attribute '" + key +
                                           "' is given twice");
            }
        }
        if (out.size() >= kMaxAttributes) {
            throw CLI::ValidationError("--attr: too many attributes: at most " +
                                       std::to_string(kMaxAttributes));
        }
        out.emplace_back(std::move(key), std::move(text));
    };
    return add_parsed_option(cmd, "--attr", parse,
                             "add attribute KEY with VALUE to every message; "
                             "repeatable, at most 16")
        ->type_name("KEY=VALUE")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::Option* add_checked_text_option(CLI::App& cmd, const std::string& names,
                                     std::optional<std::string>& out,
                                     status (*check)(std::string_view),
                                     const std::string& description) {
    std::string option = long_name(names);
    auto parse = [&out, option, check](const std::string& value) {
        check_value(option, check(value));
        out = value;
    };
    return add_parsed_option(cmd, names, parse, description);
}

CLI::Option* add_priority_option(CLI::App& cmd,
                                 std::optional<std::int64_t>& out) {
    auto parse = [&out](const std::string& value) {
        std::int64_t number = 0;
        const char* end = value.data() + value.size();
        auto [ptr, ec] = std::from_chars(value.data(), end, number);
        if (ec != std::errc() || ptr != end) {
            throw CLI::ValidationError("--priority: invalid priority '" +
                                       printable(value) +
                                       "': use a whole number from 0 "
                                       "(first) to 9");
        }
        check_value("--priority", validate_priority(number));
        out = number;
    };
    return add_parsed_option(cmd, "--priority", parse,
                             "deliver before messages of a higher number: "
                             "0 (first) to 9; standard queues only "
                             "[default: 4]")
        ->type_name("N");
}

CLI::Option* add_format_option(CLI::App& cmd, bool& json) {
    auto parse = [&json](const std::string& value) {
        if (value != "text" && value != "json") {
            throw CLI::ValidationError("--format: unknown format '" +
                                       printable(value) +
                                       "': use text or json");
        }
        json = value == "json";
    };
    return add_parsed_option(cmd, "--format", parse,
                             "output format: text or json [default: text]")
        ->type_name("FMT");
}

}  // namespace dmq::cli
