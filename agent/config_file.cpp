// Strict parser for the agent's config file; grammar in config_file.h.

#include "agent/config_file.h"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace dmq::agent {

namespace {

constexpr const char* kBareChars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-";

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r");
    auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Parses a quoted string starting at text[0] == '"'; sets `rest` to what
// follows the closing quote.
bool parse_quoted(const std::string& text, std::string& value,
                  std::string& rest) {
    for (std::size_t i = 1; i < text.size(); ++i) {
        char c = text[i];
        if (c == '"') {
            rest = trim(text.substr(i + 1));
            return true;
        }
        if (c == '\\') {
            if (i + 1 >= text.size() ||
                (text[i + 1] != '"' && text[i + 1] != '\\')) {
                return false;
            }
            c = text[++i];
        }
        value += c;
    }
    return false;  // no closing quote
}

status parse_value(const std::string& raw, std::string& value) {
    std::string rest;
    if (!raw.empty() && raw[0] == '"') {
        if (!parse_quoted(raw, value, rest)) {
            return {errc::bad_request,
                    "unterminated or badly escaped string; write "
                    "\"text\", escaping only \\\" and \\\\"};
        }
    } else {
        auto end = raw.find_first_not_of(kBareChars);
        value = raw.substr(0, end);
        rest = end == std::string::npos ? "" : trim(raw.substr(end));
        if (value.empty()) {
            return {errc::bad_request, "missing value; write key = \"value\""};
        }
    }
    if (!rest.empty() && rest[0] != '#') {
        return {errc::bad_request,
                "unexpected text after the value: '" + rest + "'"};
    }
    return status::ok();
}

std::string known_list(const std::set<std::string>& known) {
    std::string out;
    for (const auto& k : known) {
        out += (out.empty() ? "" : ", ") + k;
    }
    return out;
}

}  // namespace

result<std::map<std::string, std::string>> read_config_file(
    const std::filesystem::path& path, const std::set<std::string>& known) {
    std::ifstream in(path);
    if (!in) {
        return errno_status("config file " + path.string(), errno);
    }

    std::map<std::string, std::string> settings;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        auto where = [&] {
            return "config file " + path.string() + " line " +
                   std::to_string(number) + ": ";
        };
        std::string text = trim(line);
        if (text.empty() || text[0] == '#') {
            continue;
        }
        auto eq = text.find('=');
        std::string key = trim(text.substr(0, eq));
        if (eq == std::string::npos || key.empty()) {
            return status(errc::bad_request,
                          where() +
                              "expected key = value, such as "
                              "listen = \"127.0.0.1:7420\"");
        }
        if (known.count(key) == 0) {
            return status(errc::bad_request,
                          where() + "unknown setting '" + key +
                              "'; valid settings are " + known_list(known));
        }
        if (settings.count(key) != 0) {
            return status(errc::bad_request,
                          where() + "'" + key + "' is set twice");
        }
        std::string value;
        if (auto s = parse_value(trim(text.substr(eq + 1)), value); !s) {
            return status(errc::bad_request, where() + s.message());
        }
        settings[key] = value;
    }
    if (in.bad()) {
        return errno_status("read config file " + path.string(), errno);
    }
    return settings;
}

}  // namespace dmq::agent
