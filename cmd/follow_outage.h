// How a `dmq receive --follow` consumer outlives its agents' restarts:
// while no agent answers it retries instead of exiting, so a restart
// costs a pause, not a consumer. Used by both ways of following a queue,
// long polls (commands/receive_command.cpp) and a subscription
// (subscription.cpp). Without --follow, an unreachable agent exits 3.

#pragma once

#include "common/duration.h"
#include "common/status.h"

#include <string>

namespace dmq::cli {

// True for a failure to reach any agent (as opposed to a refusal).
bool is_unreachable(const status& error);

// How the next request of a --follow consumer goes out while its agents
// are lost: the id to repeat, and a short timeout.
struct retry_options {
    std::string id;     // empty: a fresh one
    millis timeout{0};  // 0: --timeout
};

// Keeps a --follow consumer going while no agent can be reached (say,
// while its agent restarts): one warning when the agents are lost, one
// when one answers again, and a growing pause between attempts. It never
// gives up: a service manager or the user stops it with a signal.
//
// Lifecycle: one per consumer loop; not thread-safe. It also says which
// id the next receive should carry: the id of the failed one when that
// may have reached an agent (the agent then answers with the same
// messages), else a fresh one.
class follow_outage {
public:
    explicit follow_outage(const std::string& queue) : queue_(queue) {}

    // True when `error` is one to wait out (no agent answered, or all
    // are stopping) and the pause before the next attempt ended without
    // a signal; false when the caller should fail with it. `retry_id` is
    // the id for the next receive.
    bool wait_out(const status& error, std::string retry_id);

    // A request succeeded.
    void reached();

    // The long poll for the next receive: none while the agents are
    // lost, so that the first answer says at once that one is back.
    millis next_wait(millis wait) const { return lost_ ? millis(0) : wait; }

    // The id and timeout for the next request.
    retry_options retry() const;

private:
    std::string queue_;
    bool lost_ = false;
    millis pause_{0};
    std::string retry_id_;
};

}  // namespace dmq::cli
