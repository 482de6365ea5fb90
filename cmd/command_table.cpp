// The one table of dmq's commands. It feeds CLI11 registration, --help,
// and `dmq __spec`, against which the man page and the shell completions
// are tested; add a command here and the tests say what else to update.

#include "cmd/command.h"

#include "cmd/commands/commands.h"

#include <array>

namespace dmq::cli {

namespace {

constexpr std::array kCommands = {
    command_entry{"queue", "create, inspect, change and delete queues",
                  nullptr},
    command_entry{"queue create", "create a queue", setup_queue_create},
    command_entry{"queue list", "list queues, one name per line",
                  setup_queue_list},
    command_entry{"queue info", "show a queue's counts and settings",
                  setup_queue_info},
    command_entry{"queue update", "change a queue's settings",
                  setup_queue_update},
    command_entry{"queue delete", "delete a queue", setup_queue_delete},
    command_entry{"queue purge", "delete every message of a queue",
                  setup_queue_purge},
    command_entry{"queue redrive", "move messages out of a dead-letter queue",
                  setup_queue_redrive},
    command_entry{"send", "send messages from an argument or stdin",
                  setup_send},
    command_entry{"receive",
                  "receive messages, print or hand them to a "
                  "command",
                  setup_receive},
    command_entry{"peek", "show messages without receiving them", setup_peek},
    command_entry{"show", "show one message's state and fields by its id",
                  setup_show},
    command_entry{"ack", "delete received messages by receipt", setup_ack},
    command_entry{"release", "make received messages visible again",
                  setup_release},
    command_entry{"extend", "keep received messages invisible for longer",
                  setup_extend},
    command_entry{"health", "check that every agent answers", setup_health},
    command_entry{"stats", "show message counters per queue", setup_stats},
};

}  // namespace

std::span<const command_entry> command_table() {
    return kCommands;
}

}  // namespace dmq::cli
