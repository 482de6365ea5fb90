// The agent's settings: command-line options, and a config file given
// with --config whose keys are the long option names
// (`listen = "127.0.0.1:7420"`; grammar in config_file.h). Parsed once by
// main().

#pragma once

#include "common/status.h"

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace dmq::agent {

struct agent_config {
    std::string data_dir = "/var/lib/dmq";
    std::string listen = "127.0.0.1:7420";
    std::string log_level = "info";
    std::string segment_size = "64MiB";
    std::string min_free_disk = "64MiB";
    std::uint64_t segment_bytes = 64ULL << 20;
    std::uint64_t min_free_bytes = 64ULL << 20;
    std::string config_file;
    std::set<std::string> from_file;  // settings the config file gave

    // "name=value (source)" for each setting, for the startup log.
    std::vector<std::string> effective;
};

// What main() should do after parsing.
struct parse_outcome {
    enum class action { run, exit } next = action::run;
    int exit_code = 0;
    agent_config config;
};

// Parses argv. Help and version print and ask to exit 0; bad options print
// "dmq-agent: error: ..." and ask to exit 2.
parse_outcome parse_config(int argc, char** argv);

// Splits "HOST:PORT" into a ZeroMQ endpoint ("tcp://HOST:PORT"); port 0
// asks for any free port.
result<std::string> listen_endpoint(const std::string& listen);

}  // namespace dmq::agent
