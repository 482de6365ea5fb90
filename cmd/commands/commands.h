// Setup functions of the commands in the command table, one file per
// group: queue_commands.cpp, redrive_command.cpp (queue redrive),
// send_command.cpp, receive_command.cpp (with peek), show_command.cpp,
// receipt_commands.cpp (ack, release, extend), and status_commands.cpp
// (health, stats).

#pragma once

#include "cmd/command.h"

namespace dmq::cli {

command_runner setup_queue_create(CLI::App& cmd);
command_runner setup_queue_list(CLI::App& cmd);
command_runner setup_queue_info(CLI::App& cmd);
command_runner setup_queue_update(CLI::App& cmd);
command_runner setup_queue_delete(CLI::App& cmd);
command_runner setup_queue_purge(CLI::App& cmd);
command_runner setup_queue_redrive(CLI::App& cmd);
command_runner setup_send(CLI::App& cmd);
command_runner setup_receive(CLI::App& cmd);
command_runner setup_peek(CLI::App& cmd);
command_runner setup_show(CLI::App& cmd);
command_runner setup_ack(CLI::App& cmd);
command_runner setup_release(CLI::App& cmd);
command_runner setup_extend(CLI::App& cmd);
command_runner setup_health(CLI::App& cmd);
command_runner setup_stats(CLI::App& cmd);

}  // namespace dmq::cli
