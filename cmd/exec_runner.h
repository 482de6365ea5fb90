// Runs the command given to `dmq receive --exec` for one message: through
// /bin/sh -c, with the body on its stdin and DMQ_QUEUE, DMQ_MESSAGE_ID,
// DMQ_RECEIPT, DMQ_RECEIVE_COUNT, DMQ_GROUP (when the message has a
// group) and one DMQ_ATTR_<KEY> per attribute in its environment. While
// it runs, the message is kept invisible to other consumers by an
// `extend` every third of its visibility timeout, so a slow command does
// not see its message handed to someone else.
//
// The command runs in a process group of its own, so a signal to dmq
// (such as the terminal's SIGINT) does not reach it: the first signal
// lets the message at hand finish. A second one, while the command runs,
// sends SIGTERM to the command's process group, and SIGKILL if it is
// still there after kStopGrace; the caller then releases the message.

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

// How long a command stopped by a second signal has between SIGTERM and
// SIGKILL.
constexpr millis kStopGrace{2000};

struct exec_outcome {
    int exit_status = 0;   // 0 to 255, or 128 + N when signal N killed it
    bool stopped = false;  // dmq stopped it on a second signal
};

// Runs the job's command for `message` and waits for it to end, or
// stops it on a second signal. An internal status when it could not be
// started.
result<exec_outcome> run_exec(const exec_job& job,
                              const message_record& message,
                              agent_client& client);

}  // namespace dmq::cli
