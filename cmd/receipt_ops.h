// Acking, releasing and extending received messages by receipt, shared by
// `dmq receive` (after output, after --exec, while --exec runs) and `dmq
// ack`/`release`/`extend`. Each goes as one request for all its receipts
// (docs/protocol.md: `receipts` in, one entry of `results` per receipt
// out), split only past kReceiptBatch receipts. These requests finish or
// undo work, so a signal does not cut them short: each runs until it is
// answered or its timeout passes.

#pragma once

#include "cmd/agent_client.h"
#include "common/duration.h"
#include "common/status.h"

#include <string>
#include <vector>

namespace dmq::cli {

// Deletes the messages. Returns the request's failure, or the last
// receipt the agent refused; any refused before it have been printed as
// "dmq: error:" lines already, so that the caller's fail() completes one
// line per failure.
status ack_receipts(agent_client& client, const std::string& queue,
                    const std::vector<std::string>& receipts);

// Makes the messages visible again after `delay`; failures as for
// ack_receipts. `dead_lettered`, when given, counts the messages that
// moved to the dead-letter queue instead (their last allowed delivery).
status release_receipts(agent_client& client, const std::string& queue,
                        const std::vector<std::string>& receipts,
                        millis delay = millis(0),
                        std::size_t* dead_lettered = nullptr);

// Keeps the messages invisible for `visibility` from now; failures as
// for ack_receipts.
status extend_receipts(agent_client& client, const std::string& queue,
                       const std::vector<std::string>& receipts,
                       millis visibility);

// Releases the messages in one request, warning about (but going past)
// failures: this is the clean-up path, and the messages come back anyway
// when their visibility timeout ends.
void release_all(agent_client& client, const std::string& queue,
                 const std::vector<std::string>& receipts);

}  // namespace dmq::cli
