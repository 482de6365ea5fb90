// Checked option values for CLI11; see cli_options.h.

#include "cmd/cli_options.h"

#include "cmd/limits.h"
#include "common/names.h"

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
                                 const std::string& description, millis most) {
    std::string option = long_name(names);
    auto parse = [&out, option, most](const std::string& value) {
        auto duration = parse_duration(value);
        if (!duration) {
            throw CLI::ValidationError(option + ": " +
                                       duration.error().message());
        }
        if (*duration > most) {
            throw CLI::ValidationError(option + ": " + value +
                                       " is too long: the most is " +
                                       format_duration(most));
        }
        out = *duration;
    };
    return add_parsed_option(cmd, names, parse, description)->type_name("DUR");
}

CLI::Option* add_size_option(CLI::App& cmd, const std::string& names,
                             std::optional<std::uint64_t>& out,
                             const std::string& description,
                             std::uint64_t most) {
    std::string option = long_name(names);
    auto parse = [&out, option, most](const std::string& value) {
        auto size = parse_size(value);
        if (!size) {
            throw CLI::ValidationError(option + ": " + size.error().message());
        }
        if (*size > most) {
            throw CLI::ValidationError(option + ": " + value +
                                       " is too large: the most is " +
                                       format_size(most));
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
            throw CLI::ValidationError(option + ": invalid count '" + value +
                                       "': use a whole number from 1 to " +
                                       std::to_string(most));
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
            throw CLI::ValidationError("--attr: invalid attribute '" + value +
                                       "': use KEY=VALUE, such as "
                                       "kind=resize");
        }
        std::string key = value.substr(0, equals);
        std::size_t bytes = value.size() - 1;
        for (const auto& [k, v] : out) {
            if (k == key) {
                throw CLI::ValidationError("--attr: attribute '" + key +
                                           "' is given twice");
            }
            bytes += k.size() + v.size();
        }
        if (out.size() >= kMaxAttributes || bytes > kMaxAttributeBytes) {
            throw CLI::ValidationError(
                "--attr: too many attributes: the most is " +
                std::to_string(kMaxAttributes) + ", of " +
                format_size(kMaxAttributeBytes) + " in all");
        }
        out.emplace_back(std::move(key), value.substr(equals + 1));
    };
    return add_parsed_option(cmd, "--attr", parse,
                             "add attribute KEY with VALUE to every message; "
                             "repeatable")
        ->type_name("KEY=VALUE")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::Option* add_format_option(CLI::App& cmd, bool& json) {
    auto parse = [&json](const std::string& value) {
        if (value != "text" && value != "json") {
            throw CLI::ValidationError("--format: unknown format '" + value +
                                       "': use text or json");
        }
        json = value == "json";
    };
    return add_parsed_option(cmd, "--format", parse,
                             "output format: text or json [default: text]")
        ->type_name("FMT");
}

}  // namespace dmq::cli
