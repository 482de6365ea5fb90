// Acking and releasing received messages by receipt, shared by
// `dmq receive` (after output or after --exec) and `dmq ack`/`release`.
// These requests finish or undo work, so a signal does not cut them short:
// each runs until it is answered or its timeout passes.

#pragma once

#include "cmd/agent_client.h"
#include "common/duration.h"
#include "common/status.h"

#include <string>
#include <vector>

namespace dmq::cli {

// Deletes the messages. Returns the request's failure, or the last
// receipt the agent refused; any refused before it have been printed as
// "dmq: error:" lines already.
status ack_receipts(agent_client& client, const std::string& queue,
                    const std::vector<std::string>& receipts);

// Makes the message visible again after `delay`.
status release_receipt(agent_client& client, const std::string& queue,
                       const std::string& receipt, millis delay = millis(0));

// Releases each message, warning about (but going past) failures: this is
// the clean-up path, and the messages come back anyway when their
// visibility timeout ends.
void release_all(agent_client& client, const std::string& queue,
                 const std::vector<std::string>& receipts);

}  // namespace dmq::cli
