// Waiting out lost agents under --follow; see follow_outage.h.

#include "cmd/follow_outage.h"

#include "cmd/exit_codes.h"
#include "cmd/signals.h"

#include <algorithm>

namespace dmq::cli {

namespace {

// The pause before the first retry when a --follow consumer has lost
// its agents, and the longest pause it grows to.
constexpr millis kFirstRetry{100};
constexpr millis kLongestRetry{1000};
// How long each attempt to reach a lost agent may take: a connection to
// an agent that is just stopping can hang without an answer, and the
// next attempt may find the agent back.
constexpr millis kProbeTimeout{1000};

}  // namespace

bool is_unreachable(const status& error) {
    return error.code() == errc::unavailable ||
           error.code() == errc::shutting_down;
}

bool follow_outage::wait_out(const status& error, std::string retry_id) {
    if (!is_unreachable(error) || signals::caught() != 0) {
        return false;
    }
    retry_id_ = std::move(retry_id);
    if (!lost_) {
        warn(error.message() + "; retrying until an agent answers (stop " +
             "with SIGINT or SIGTERM)");
        lost_ = true;
        pause_ = kFirstRetry;
    } else {
        pause_ = std::min(pause_ * 2, kLongestRetry);
    }
    return signals::sleep_unless_signalled(pause_);
}

void follow_outage::reached() {
    if (lost_) {
        warn("an agent answers again; receiving from '" + queue_ + "'");
    }
    lost_ = false;
    retry_id_.clear();
}

retry_options follow_outage::retry() const {
    return {retry_id_, lost_ ? kProbeTimeout : millis(0)};
}

}  // namespace dmq::cli
