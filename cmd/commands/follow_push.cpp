// Following a queue by push; see follow_push.h.

#include "cmd/commands/follow_push.h"

#include "cmd/exit_codes.h"
#include "cmd/follow_outage.h"
#include "cmd/receipt_ops.h"
#include "cmd/signals.h"
#include "cmd/subscription.h"

namespace dmq::cli {

namespace {

// Ends the subscription and releases what it pushed since the last
// batch, which nobody will handle now.
void finish(command_context& ctx, const receive_options& o, subscription& sub) {
    release_all(ctx.client(), o.queue, receipts_of(sub.close()));
}

// Releases the messages of a batch from `first` on, which a signal or an
// error kept dmq from handling.
void release_rest(command_context& ctx, const receive_options& o,
                  const std::vector<message_record>& batch, std::size_t first) {
    std::vector<message_record> rest(
        batch.begin() + static_cast<std::ptrdiff_t>(first), batch.end());
    release_all(ctx.client(), o.queue, receipts_of(rest));
}

// Prints each pushed batch (and acks it with --delete) until a signal.
int print_pushed(command_context& ctx, const receive_options& o,
                 subscription& sub, follow_outage& outage) {
    for (;;) {
        auto got = sub.next();
        if (!got) {
            finish(ctx, o, sub);
            return fail(got.error());
        }
        if (got->empty()) {
            break;  // a signal
        }
        bool acked = true;
        status done = deliver(ctx, o, *got, acked);
        if (!done && !acked && signals::caught() == 0) {
            // Printed, but the agent went before the ack: the messages
            // come back, and the subscription finds the agent again.
            outage.wait_out(done, "");
        } else if (!done) {
            finish(ctx, o, sub);
            return acked ? fail(done) : fail_not_acked(done);
        }
        sub.grant(static_cast<std::int64_t>(got->size()));
    }
    finish(ctx, o, sub);
    return kExitOk;
}

// Whether a pushed message that waited for its turn (behind the
// commands of earlier messages of its batch, unextended) is still this
// consumer's: extending it says so, and keeps it so while its command
// starts. A message whose visibility timeout passed meanwhile may be
// with another consumer already, and is left to it.
bool still_held(command_context& ctx, const exec_job& job,
                const message_record& m) {
    status extended = extend_receipts(ctx.client(), job.queue,
                                      {m.receipt.value_or("")}, job.visibility);
    if (!extended) {
        warn("message '" + m.id + "' waited too long for its turn: " +
             extended.message() + "; not running the command for it");
    }
    return extended.is_ok();
}

// Runs the command for each pushed message, one at a time, until a
// signal; the message at hand is finished first.
int exec_pushed(command_context& ctx, const receive_options& o,
                const exec_job& job, subscription& sub, follow_outage& outage) {
    for (;;) {
        auto got = sub.next();
        if (!got) {
            finish(ctx, o, sub);
            return fail(got.error());
        }
        if (got->empty()) {
            break;  // a signal
        }
        std::size_t handled = 0;
        for (; handled < got->size() && signals::caught() == 0; ++handled) {
            const message_record& m = (*got)[handled];
            if (handled > 0 && !still_held(ctx, job, m)) {
                continue;
            }
            auto done = handle_with_command(ctx, job, m);
            bool unacked = !done && is_unreachable(done.error());
            if (unacked && signals::caught() == 0) {
                outage.wait_out(done.error(), "");
                continue;
            }
            if (!done || *done == handling::stopped) {
                release_rest(ctx, o, *got, handled + 1);
                finish(ctx, o, sub);
                if (done) {
                    return signals::exit_code();
                }
                return unacked ? fail_not_acked(done.error())
                               : fail(done.error());
            }
        }
        release_rest(ctx, o, *got, handled);
        sub.grant(static_cast<std::int64_t>(handled));
    }
    finish(ctx, o, sub);
    return kExitOk;
}

}  // namespace

std::optional<int> follow_by_push(command_context& ctx,
                                  const receive_options& o,
                                  const std::optional<exec_job>& job) {
    follow_outage outage(o.queue);
    subscription_settings settings{o.queue, o.max, o.visibility};
    if (job) {
        settings.visibility = job->visibility;
    }
    subscription sub(ctx.client(), std::move(settings), outage);
    status opened = sub.open();
    if (opened.code() == errc::unknown_op) {
        return std::nullopt;
    }
    if (!opened) {
        // A signal while the agents were lost is a clean stop.
        return signals::caught() != 0 ? kExitOk : fail(opened);
    }
    return job ? exec_pushed(ctx, o, *job, sub, outage)
               : print_pushed(ctx, o, sub, outage);
}

}  // namespace dmq::cli
