// Command-line and config-file parsing for dmq-agent.

#include "agent/config.h"

#include "agent/config_file.h"

#include "common/duration.h"
#include "version.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <iostream>

namespace dmq::agent {

namespace {

// Every setting that can come from the command line or the config file.
struct setting {
    const char* key;  // the long option without "--", and the file's key
    std::string agent_config::*target;
    const char* help;
};

constexpr setting kSettings[] = {
    {"data-dir", &agent_config::data_dir,
     "directory for segments, index and lock file"},
    {"listen", &agent_config::listen, "HOST:PORT to serve on (port 0: any)"},
    {"log-level", &agent_config::log_level,
     "trace, debug, info, warn, error or critical"},
    {"segment-size", &agent_config::segment_size,
     "roll to a new segment file after this many bytes"},
    {"min-free-disk", &agent_config::min_free_disk,
     "refuse sends while the data directory's disk has less free space, so "
     "that receives and acks still fit"},
};

std::string option_name(const setting& s) {
    return std::string("--") + s.key;
}

void describe(agent_config& c, const CLI::App& app) {
    for (const auto& s : kSettings) {
        const char* source = app.get_option(option_name(s))->count() > 0
                                 ? "command line"
                             : c.from_file.count(s.key) != 0 ? "config file"
                                                             : "default";
        c.effective.push_back(std::string(s.key) + "=" + c.*s.target + " (" +
                              source + ")");
    }
    if (!c.config_file.empty()) {
        c.effective.push_back("config=" + c.config_file);
    }
}

// Settings from the file fill in what the command line left unset.
status apply_config_file(agent_config& c, const CLI::App& app) {
    if (c.config_file.empty()) {
        return status::ok();
    }
    std::set<std::string> keys;
    for (const auto& s : kSettings) {
        keys.insert(s.key);
    }
    auto settings = read_config_file(c.config_file, keys);
    if (!settings) {
        return settings.error();
    }
    for (const auto& s : kSettings) {
        auto it = settings->find(s.key);
        if (it == settings->end() ||
            app.get_option(option_name(s))->count() > 0) {
            continue;
        }
        // Relative to what? The agent's working directory is rarely what
        // whoever wrote the file had in mind.
        if (it->first == "data-dir" && it->second[0] != '/') {
            return status(errc::bad_request,
                          "config file " + c.config_file +
                              ": data-dir must be an absolute path, not '" +
                              it->second + "'");
        }
        c.*s.target = it->second;
        c.from_file.insert(s.key);
    }
    return status::ok();
}

// Parses a size setting of at least `least` bytes; the error names where
// the setting came from.
status size_setting(const agent_config& c, const char* name,
                    const std::string& text, std::uint64_t least,
                    std::uint64_t& out) {
    std::string where = c.from_file.count(name) != 0
                            ? "config file " + c.config_file + ": " + name
                            : std::string("--") + name;
    auto size = parse_size(text);
    if (!size) {
        return status(errc::bad_request, where + ": " + size.error().message());
    }
    if (*size < least) {
        return status(errc::bad_request,
                      where + ": must be at least " + format_size(least));
    }
    out = *size;
    return status::ok();
}

}  // namespace

parse_outcome parse_config(int argc, char** argv) {
    parse_outcome out;
    agent_config& c = out.config;
    auto refuse = [&](const std::string& message) {
        std::cerr << "dmq-agent: error: " << message << "\n";
        out.next = parse_outcome::action::exit;
        out.exit_code = 2;
        return out;
    };

    CLI::App app{"dmq-agent: the dmq message queue daemon", "dmq-agent"};
    app.set_version_flag("--version", std::string("dmq-agent ") + kVersion);
    for (const auto& s : kSettings) {
        app.add_option(option_name(s), c.*s.target, s.help)
            ->capture_default_str();
    }
    app.add_option("--config", c.config_file,
                   "read settings from this file (key = \"value\" lines); "
                   "options given here win");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        std::cout << app.help();
        out.next = parse_outcome::action::exit;
        return out;
    } catch (const CLI::CallForVersion& e) {
        std::cout << e.what() << "\n";
        out.next = parse_outcome::action::exit;
        return out;
    } catch (const CLI::ParseError& e) {
        return refuse(std::string(e.what()) + "; see dmq-agent --help");
    }

    for (const status& s : {apply_config_file(c, app),
                            size_setting(c, "segment-size", c.segment_size,
                                         1 << 20, c.segment_bytes),
                            size_setting(c, "min-free-disk", c.min_free_disk, 0,
                                         c.min_free_bytes)}) {
        if (!s) {
            return refuse(s.message());
        }
    }
    describe(c, app);
    return out;
}

result<std::string> listen_endpoint(const std::string& listen) {
    auto colon = listen.rfind(':');
    auto bad = [&] {
        return status(
            errc::bad_request,
            "--listen '" + listen + "': use HOST:PORT, such as 127.0.0.1:7420");
    };
    if (colon == std::string::npos || colon == 0) {
        return bad();
    }
    std::string host = listen.substr(0, colon);
    std::string port = listen.substr(colon + 1);
    unsigned value = 0;
    auto [p, ec] =
        std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value > 65535) {
        return bad();
    }
    return "tcp://" + host + ":" + (value == 0 ? "*" : port);
}

}  // namespace dmq::agent
