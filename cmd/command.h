// What every dmq command is made of: an entry in the command table (its
// path, a one-line description and a setup function), and the context it
// runs in (the global options and the agent client). The table itself is
// in command_table.cpp; cli.cpp turns it into CLI11 subcommands, help,
// and the `dmq __spec` listing that the man page and completion tests use.

#pragma once

#include "cmd/agent_client.h"
#include "common/duration.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dmq::cli {

// Options that apply to every command, before or after its name.
struct global_options {
    std::string agents = "127.0.0.1:7420";
    millis timeout{5000};
};

// Lifecycle: created by cli.cpp after parsing, valid for one command run.
class command_context {
public:
    command_context(std::vector<agent_address> agents, millis timeout)
        : agents_(std::move(agents)), timeout_(timeout) {}

    // The client for --agents, created on first use so that commands that
    // fail on their arguments never start ZeroMQ.
    agent_client& client() {
        if (!client_) {
            client_ = std::make_unique<agent_client>(agents_, timeout_);
        }
        return *client_;
    }

private:
    std::vector<agent_address> agents_;
    millis timeout_;
    std::unique_ptr<agent_client> client_;
};

// Runs a parsed command; returns its exit status (see exit_codes.h).
using command_runner = std::function<int(command_context&)>;

// Adds a command's arguments and options to `cmd`, bound to state that
// the returned runner owns.
using command_setup = command_runner (*)(CLI::App& cmd);

struct command_entry {
    std::string_view path;     // words after "dmq": "queue create"
    std::string_view summary;  // a verb phrase: "create a queue"
    command_setup setup;       // nullptr for a group such as "queue"
};

// Every command of dmq, groups before their members, in help order.
std::span<const command_entry> command_table();

}  // namespace dmq::cli
