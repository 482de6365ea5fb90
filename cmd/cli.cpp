// Building, parsing and running the dmq command line; see cli.h.

#include "cmd/cli.h"

#include "cmd/cli_options.h"
#include "cmd/command.h"
#include "cmd/exit_codes.h"
#include "cmd/help_formatter.h"
#include "cmd/output_sink.h"
#include "common/names.h"
#include "version.h"

#include <CLI/CLI.hpp>

#include <cctype>
#include <iostream>
#include <map>

namespace dmq::cli {

namespace {

// The hidden command that lists every command and option, for the tests
// that check the man page and the completions.
constexpr std::string_view kSpecCommand = "__spec";

struct parsed_cli {
    CLI::App app;
    global_options globals;
    std::optional<millis> timeout;
    std::map<const CLI::App*, command_runner> runners;
    CLI::App* spec = nullptr;
};

void add_global_options(parsed_cli& cli) {
    auto check_agents = [](const std::string& list) {
        auto agents = parse_agent_list(list);
        return agents ? std::string() : agents.error().message();
    };
    cli.app
        .add_option("--agents", cli.globals.agents,
                    "agents to talk to, tried in order "
                    "[default: 127.0.0.1:7420; env: DMQ_AGENTS]")
        ->type_name("HOST:PORT[,...]")
        ->envname("DMQ_AGENTS")
        ->check(check_agents);
    add_duration_option(cli.app, "--timeout", cli.timeout,
                        "give up on an agent that has not answered within "
                        "DUR (a receive adds its --wait) [default: 5s]",
                        kTimeoutRange);
}

// Adds one table entry as a subcommand of its group (or of the root).
CLI::App* add_command(parsed_cli& cli, const command_entry& entry) {
    std::string_view path = entry.path;
    CLI::App* parent = &cli.app;
    std::size_t space = path.rfind(' ');
    if (space != std::string_view::npos) {
        parent = cli.app.get_subcommand(std::string(path.substr(0, space)));
        path.remove_prefix(space + 1);
    }

    CLI::App* cmd =
        parent->add_subcommand(std::string(path), std::string(entry.summary));
    cmd->footer(
        "Global options (--agents, --timeout) may come before or "
        "after the command.\n\n" +
        std::string(exit_status_help()));
    if (entry.setup) {
        cli.runners[cmd] = entry.setup(*cmd);
    } else {
        cmd->require_subcommand(1);
    }
    return cmd;
}

void build(parsed_cli& cli) {
    cli.app.description("dmq: send and receive messages through dmq agents");
    cli.app.name("dmq");
    cli.app.formatter(std::make_shared<help_formatter>());
    cli.app.footer(std::string(exit_status_help()));
    // Global options may come after the command name too.
    cli.app.fallthrough();
    cli.app.set_help_flag("-h,--help", "print this help and exit");
    cli.app.require_subcommand(1);
    cli.app.set_version_flag("--version", std::string("dmq ") + kVersion,
                             "print the version and exit");
    add_global_options(cli);

    for (const auto& entry : command_table()) {
        add_command(cli, entry);
    }
    cli.spec = cli.app.add_subcommand(std::string(kSpecCommand), "");
    cli.spec->group("");
}

// The deepest command that was named on the command line.
CLI::App* selected_command(CLI::App& app) {
    CLI::App* cmd = &app;
    for (auto subs = cmd->get_subcommands(); !subs.empty();
         subs = cmd->get_subcommands()) {
        cmd = subs.front();
    }
    return cmd;
}

std::string command_path(const CLI::App* cmd) {
    std::string path;
    for (; cmd && cmd->get_parent(); cmd = cmd->get_parent()) {
        path = cmd->get_name() + (path.empty() ? "" : " " + path);
    }
    return path;
}

std::vector<std::string> subcommand_names(const CLI::App* cmd) {
    std::vector<std::string> names;
    for (const CLI::App* sub : cmd->get_subcommands({})) {
        if (!sub->get_group().empty()) {
            names.push_back(sub->get_name());
        }
    }
    return names;
}

// "unknown command 'qeue', did you mean 'queue'?", or the commands of a
// group named without one.
int command_error(CLI::App& app, const CLI::App* group) {
    auto names = subcommand_names(group);
    for (const auto& word : app.remaining(true)) {
        if (word.empty() || word.front() == '-') {
            continue;
        }
        std::string message = "unknown command '" + word + "'";
        std::string closest = closest_name(word, names);
        if (!closest.empty()) {
            message += ", did you mean '" + closest + "'?";
        }
        return usage_error(message);
    }

    std::string message =
        group->get_parent() ? "'" + command_path(group) + "' needs a command: "
                            : "a command is needed: ";
    for (std::size_t i = 0; i < names.size(); ++i) {
        message += (i > 0 ? ", " : "") + names[i];
    }
    return usage_error(message + "; see 'dmq --help'");
}

// The long names of the options `cmd` takes, its own and the global ones.
std::vector<std::string> option_names(const CLI::App* cmd) {
    std::vector<std::string> names;
    for (; cmd; cmd = cmd->get_parent()) {
        for (const CLI::Option* opt : cmd->get_options()) {
            for (const auto& name : opt->get_lnames()) {
                names.push_back("--" + name);
            }
        }
    }
    return names;
}

// "unknown option '--qiet', did you mean '--quiet'?", when the extra
// arguments start with an option.
std::optional<std::string> option_error(CLI::App& app, const CLI::App* cmd) {
    auto extras = app.remaining(true);
    if (extras.empty() || extras.front().rfind("--", 0) != 0) {
        return std::nullopt;
    }
    std::string word = extras.front().substr(0, extras.front().find('='));
    std::string message = "unknown option '" + word + "'";
    std::string closest = closest_name(word, option_names(cmd));
    if (!closest.empty()) {
        message += ", did you mean '" + closest + "'?";
    }
    return message;
}

int parse_error(CLI::App& app, const CLI::ParseError& error) {
    CLI::App* cmd = selected_command(app);
    bool extras = dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr;
    bool is_group = cmd->get_require_subcommand_min() > 0;
    if (is_group &&
        (extras || dynamic_cast<const CLI::RequiredError*>(&error))) {
        return command_error(app, cmd);
    }
    if (auto unknown = extras ? option_error(app, cmd) : std::nullopt) {
        return usage_error(*unknown);
    }

    // CLI11 words its messages as sentences; dmq's errors start lowercase.
    std::string message = error.what();
    // Names such as "QUEUE is required" keep their case.
    auto is_upper = [&](std::size_t i) {
        return i < message.size() &&
               std::isupper(static_cast<unsigned char>(message[i]));
    };
    if (is_upper(0) && !is_upper(1)) {
        message[0] = static_cast<char>(std::tolower(message[0]));
    }
    return usage_error(message);
}

// One line per command: "dmq queue create --visibility ... --delay".
int print_spec(const CLI::App& app) {
    std::string out;
    std::vector<const CLI::App*> pending = {&app};
    while (!pending.empty()) {
        const CLI::App* cmd = pending.front();
        pending.erase(pending.begin());
        out += "dmq";
        std::string path = command_path(cmd);
        out += path.empty() ? "" : " " + path;
        for (const CLI::Option* opt : cmd->get_options()) {
            for (const auto& name : opt->get_snames()) {
                out += " -" + name;
            }
            for (const auto& name : opt->get_lnames()) {
                out += " --" + name;
            }
        }
        out += '\n';
        for (const CLI::App* sub : cmd->get_subcommands({})) {
            if (!sub->get_group().empty()) {
                pending.push_back(sub);
            }
        }
    }
    output_sink& sink = standard_output();
    (void)sink.write(out);
    status written = sink.flush();
    return written ? kExitOk : fail(written);
}

}  // namespace

int run(int argc, char** argv) {
    parsed_cli cli;
    build(cli);
    if (argc <= 1) {
        std::cerr << cli.app.help();
        return kExitUsage;
    }

    try {
        cli.app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return cli.app.exit(e);  // --help or --version, on stdout
    } catch (const CLI::ParseError& e) {
        return parse_error(cli.app, e);
    }

    CLI::App* cmd = selected_command(cli.app);
    if (cmd == cli.spec) {
        return print_spec(cli.app);
    }
    auto agents = parse_agent_list(cli.globals.agents);
    if (!agents) {
        return usage_error(agents.error().message());
    }
    command_context context(std::move(*agents),
                            cli.timeout.value_or(cli.globals.timeout));
    return cli.runners.at(cmd)(context);
}

}  // namespace dmq::cli
