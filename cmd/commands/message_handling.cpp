// Printing, acking and running --exec for held messages; see
// message_handling.h.

#include "cmd/commands/message_handling.h"

#include "cmd/exit_codes.h"
#include "cmd/follow_outage.h"
#include "cmd/output_sink.h"
#include "cmd/receipt_ops.h"
#include "cmd/reply_reader.h"
#include "cmd/signals.h"

#include <algorithm>

namespace dmq::cli {

namespace {

// The error for messages that were written out but whose ack failed:
// they are still in the queue and come back. `done` says what dmq did
// with them: "printed", "handled".
status not_acked(std::string_view done,
                 const std::vector<message_record>& messages,
                 const status& error, bool maybe_acked) {
    bool one = messages.size() == 1;
    std::string what = one ? "message '" + messages[0].id + "'"
                           : std::to_string(messages.size()) + " messages";
    std::string back = one ? "it will be delivered again after its "
                           : "they will be delivered again after their ";
    return status(error.code(),
                  std::string(done) + " " + what + " but could not ack " +
                      (one ? "it" : "them") + ": " + error.message() + "; " +
                      (maybe_acked ? "if not acked, " : "") + back +
                      "visibility timeout");
}

// How long a message whose command failed stays invisible: 1s after the
// first failure, doubling with each delivery up to a minute, so that a
// command that always fails does not spin on one message.
millis retry_delay(std::int64_t receive_count) {
    std::int64_t doublings = std::clamp<std::int64_t>(receive_count - 1, 0, 6);
    return std::min(millis(1000LL << doublings), millis(60'000));
}

}  // namespace

std::vector<std::string> receipts_of(
    const std::vector<message_record>& messages) {
    std::vector<std::string> receipts;
    for (const auto& m : messages) {
        receipts.push_back(m.receipt.value_or(""));
    }
    return receipts;
}

status write_messages(const std::vector<message_record>& messages,
                      output_mode mode) {
    output_sink& out = standard_output();
    for (const auto& m : messages) {
        if (status written = out.write(format_message(m, mode)); !written) {
            return written;
        }
    }
    return out.flush();
}

status deliver(command_context& ctx, const receive_options& o,
               const std::vector<message_record>& messages, bool& acked) {
    acked = true;
    if (messages.empty()) {
        return status::ok();
    }
    if (status written = write_messages(messages, o.output.mode()); !written) {
        release_all(ctx.client(), o.queue, receipts_of(messages));
        return written;
    }
    if (!o.remove) {
        return status::ok();
    }
    status done = ack_receipts(ctx.client(), o.queue, receipts_of(messages));
    if (is_unreachable(done)) {
        acked = false;
        return not_acked("printed", messages, done,
                         ctx.client().last_outcome_unknown());
    }
    return done;
}

int fail_not_acked(const status& error) {
    if (signals::caught() != 0) {
        warn(error.message());
        return signals::exit_code();
    }
    return fail(error);
}

result<millis> exec_visibility(command_context& ctx, const receive_options& o) {
    if (o.visibility) {
        return *o.visibility;
    }
    auto reply = ctx.client().call("queue_info", {{"queue", o.queue}});
    if (!reply) {
        return reply.error();
    }
    reply_reader r(reply->fields);
    reply_reader info(r.map("info"));
    millis visibility(info.integer("visibility_ms"));
    if (!r.error() || !info.error()) {
        return r.error() ? info.error() : r.error();
    }
    return visibility;
}

result<handling> handle_with_command(command_context& ctx, const exec_job& job,
                                     const message_record& m) {
    auto ran = run_exec(job, m, ctx.client());
    std::string receipt = m.receipt.value_or("");
    if (ran && ran->stopped) {
        // The command did not finish: someone else may take the message
        // at once.
        status released = release_receipts(ctx.client(), job.queue, {receipt});
        warn("stopped the command for message '" + m.id +
             "' on a second signal; " +
             (released ? "released the message"
                       : "cannot release it: " + released.message() +
                             "; it is visible again after its visibility "
                             "timeout"));
        return handling::stopped;
    }
    if (!ran || ran->exit_status != 0) {
        millis delay = retry_delay(m.receive_count);
        std::size_t dead_lettered = 0;
        status released = release_receipts(ctx.client(), job.queue, {receipt},
                                           delay, &dead_lettered);
        if (!ran) {
            return ran.error();
        }
        std::string fate =
            dead_lettered > 0
                ? "that was its last allowed delivery: it moved to the "
                  "queue's dead-letter queue"
                : "released it, visible again in " + format_duration(delay);
        warn("command exited with status " + std::to_string(ran->exit_status) +
             " for message '" + m.id + "'; " +
             (released ? fate : "cannot release it: " + released.message()));
        return handling::failed;
    }
    status acked = ack_receipts(ctx.client(), job.queue, {receipt});
    if (is_unreachable(acked)) {
        return not_acked("handled", {m}, acked,
                         ctx.client().last_outcome_unknown());
    }
    if (!acked) {
        return acked;
    }
    return handling::acked;
}

}  // namespace dmq::cli
