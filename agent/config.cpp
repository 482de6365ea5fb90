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

void describe(agent_config& c, const CLI::App& app) {
    auto source = [&](const char* opt) {
        if (app.get_option(opt)->count() > 0) {
            return "command line";
        }
        return c.from_file.count(opt + 2) != 0 ? "config file" : "default";
    };
    c.effective = {
        "data-dir=" + c.data_dir.string() + " (" + source("--data-dir") + ")",
        "listen=" + c.listen + " (" + source("--listen") + ")",
        "log-level=" + c.log_level + " (" + source("--log-level") + ")",
        "segment-size=" + c.segment_size + " (" + source("--segment-size") +
            ")",
    };
    if (!c.config_file.empty()) {
        c.effective.push_back("config=" + c.config_file);
    }
}

// Settings from the file fill in what the command line left unset.
status apply_config_file(agent_config& c, const CLI::App& app) {
    if (c.config_file.empty()) {
        return status::ok();
    }
    auto settings = read_config_file(
        c.config_file, {"data-dir", "listen", "log-level", "segment-size"});
    if (!settings) {
        return settings.error();
    }
    for (const auto& [key, value] : *settings) {
        if (app.get_option("--" + key)->count() > 0) {
            continue;
        }
        if (key == "data-dir") {
            // Relative to what? The agent's working directory is rarely
            // what whoever wrote the file had in mind.
            if (value.empty() || value[0] != '/') {
                return status(errc::bad_request,
                              "config file " + c.config_file +
                                  ": data-dir must be an absolute path, "
                                  "not '" +
                                  value + "'");
            }
            c.data_dir = value;
        } else if (key == "listen") {
            c.listen = value;
        } else if (key == "log-level") {
            c.log_level = value;
        } else {
            c.segment_size = value;
        }
        c.from_file.insert(key);
    }
    return status::ok();
}

}  // namespace

parse_outcome parse_config(int argc, char** argv) {
    parse_outcome out;
    agent_config& c = out.config;

    CLI::App app{"dmq-agent: the dmq message queue daemon", "dmq-agent"};
    app.set_version_flag("--version", std::string("dmq-agent ") + kVersion);
    app.add_option("--data-dir", c.data_dir,
                   "directory for segments, index and lock file")
        ->capture_default_str();
    app.add_option("--listen", c.listen, "HOST:PORT to serve on (port 0: any)")
        ->capture_default_str();
    app.add_option("--log-level", c.log_level,
                   "trace, debug, info, warn, error or critical")
        ->capture_default_str();
    app.add_option("--segment-size", c.segment_size,
                   "roll to a new segment file after this many bytes")
        ->capture_default_str();
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
        std::cerr << "dmq-agent: error: " << e.what()
                  << "; see dmq-agent --help\n";
        out.next = parse_outcome::action::exit;
        out.exit_code = 2;
        return out;
    }

    if (auto s = apply_config_file(c, app); !s) {
        std::cerr << "dmq-agent: error: " << s.message() << "\n";
        out.next = parse_outcome::action::exit;
        out.exit_code = 2;
        return out;
    }

    auto size = parse_size(c.segment_size);
    if (!size || *size < (1 << 20)) {
        std::cerr << "dmq-agent: error: --segment-size: "
                  << (size ? "must be at least 1MiB" : size.error().message())
                  << "\n";
        out.next = parse_outcome::action::exit;
        out.exit_code = 2;
        return out;
    }
    c.segment_bytes = *size;
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
