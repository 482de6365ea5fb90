// Runs the command given to `dmq receive --exec` for one message: through
// /bin/sh -c, with the body on its stdin and DMQ_QUEUE, DMQ_MESSAGE_ID,
// DMQ_RECEIPT and DMQ_RECEIVE_COUNT in its environment. While it runs,
// the message is kept invisible to other consumers by an `extend` every
// third of its visibility timeout, so a slow command does not see its
// message handed to someone else.
//
// A signal to dmq does not stop the command: the message at hand is
// finished first (the command usually gets the terminal's SIGINT itself).

#pragma once

#include "cmd/agent_client.h"
#include "cmd/output_format.h"
#include "common/duration.h"
#include "common/status.h"

#include <string>

namespace dmq::cli {

struct exec_job {
    std::string command;  // shell text, run by /bin/sh -c
    std::string queue;
    millis visibility;  // the timeout the message was received with
};

// Runs the job's command for `message` and waits for it to end. Returns
// its exit status (0 to 255), or 128 + N when signal N killed it; an
// internal status when it could not be started.
result<int> run_exec(const exec_job& job, const message_record& message,
                     agent_client& client);

}  // namespace dmq::cli
