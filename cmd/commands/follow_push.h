// `dmq receive --follow` by push: one subscription (subscription.h) with
// -n as its credit, each batch the agent pushes handled as a receive's
// would be (message_handling.h), and the credit given back once it is.
// On a clean exit (SIGINT or SIGTERM) the subscription is ended, and
// messages pushed after the last batch are released.

#pragma once

#include "cmd/command.h"
#include "cmd/commands/message_handling.h"
#include "cmd/exec_runner.h"

#include <optional>

namespace dmq::cli {

// Follows the queue, printing each message or running `job` for it.
// Returns the exit status, or nothing when the agent has no push
// delivery (it answered subscribe with UNKNOWN_OP): the caller then
// follows with long polls.
std::optional<int> follow_by_push(command_context& ctx,
                                  const receive_options& o,
                                  const std::optional<exec_job>& job);

}  // namespace dmq::cli
