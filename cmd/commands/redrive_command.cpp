// dmq queue redrive: moves messages out of a dead-letter queue, back to
// the queues they came from or to --to, with the `redrive` operation
// (docs/protocol.md) repeated along its cursor until the agent says it is
// done or --max messages have moved, at most --rate per second.
//
// Each request moves its messages durably, one by one, so stopping
// between requests (a signal, a lost agent) leaves nothing half done: the
// summary then says how far it got, and running the command again goes
// on from the start of the queue.

#include "cmd/cli_options.h"
#include "cmd/commands/commands.h"
#include "cmd/exit_codes.h"
#include "cmd/limits.h"
#include "cmd/output_format.h"
#include "cmd/output_sink.h"
#include "cmd/reply_reader.h"
#include "cmd/signals.h"
#include "common/names.h"

#include <algorithm>
#include <chrono>

namespace dmq::cli {

namespace {

struct redrive_options {
    std::string queue;
    std::optional<std::string> to;
    std::int64_t max = 0;   // 0: no limit
    std::int64_t rate = 0;  // 0: as fast as the agent goes
    bool json = false;
};

struct redrive_totals {
    std::int64_t moved = 0;
    std::int64_t skipped = 0;
};

// One redrive request's answer.
struct redrive_step {
    std::int64_t moved = 0;
    std::int64_t skipped = 0;
    proto::value cursor;
    bool done = false;
};

// How many messages the next request may move: what is left of --max,
// at most kRedriveBatch, and at most one second's worth under --rate.
std::int64_t next_batch(const redrive_options& o, const redrive_totals& t) {
    std::int64_t want = kRedriveBatch;
    if (o.max > 0) {
        want = std::min(want, o.max - t.moved);
    }
    if (o.rate > 0) {
        want = std::min(want, o.rate);
    }
    return want;
}

result<redrive_step> redrive_once(command_context& ctx,
                                  const redrive_options& o,
                                  const proto::value& after, std::int64_t max) {
    proto::value_map args{{"queue", o.queue}, {"after", after}, {"max", max}};
    if (o.to) {
        args["to"] = *o.to;
    }
    // Messages move durably as the request runs: a signal waits for the
    // answer, so that the summary counts them.
    call_options options;
    options.interruptible = false;
    auto reply = ctx.client().call("redrive", std::move(args), {}, options);
    if (!reply) {
        return reply.error();
    }
    reply_reader r(reply->fields);
    redrive_step step;
    step.moved = r.integer("moved");
    step.skipped = r.integer("skipped");
    step.done = r.boolean("done");
    // The cursor is the agent's to define: it goes back as it came.
    if (auto cursor = reply->fields.find("cursor");
        cursor != reply->fields.end()) {
        step.cursor = cursor->second;
    }
    if (!r.error()) {
        return r.error();
    }
    if (step.cursor.is_nil() && !step.done) {
        return status(errc::internal,
                      "malformed reply from the agent: no 'cursor'");
    }
    return step;
}

// Sleeps until the moves so far fit --rate; false when a signal came.
bool keep_rate(const redrive_options& o, const redrive_totals& t,
               steady_clock::time_point start) {
    if (o.rate <= 0) {
        return true;
    }
    auto due = start + millis(t.moved * 1000 / o.rate);
    auto left = std::chrono::ceil<millis>(due - steady_clock::now());
    return left.count() <= 0 || signals::sleep_unless_signalled(left);
}

// Why messages stay in the dead-letter queue, for the note after a
// redrive that skipped some.
std::string skipped_note(const redrive_options& o, std::int64_t skipped) {
    std::string what = skipped == 1
                           ? "1 message was"
                           : std::to_string(skipped) + " messages were";
    // With --to, a missing or other-kind target fails the whole request
    // instead (NOT_FOUND, BAD_REQUEST): only messages in flight are left.
    std::string busy =
        "messages in flight stay (and on a FIFO queue, so does the rest "
        "of their group)";
    std::string why =
        o.to ? busy
             : "a message is skipped when it has no source queue (give "
               "--to), or its source queue no longer exists or is of the "
               "other kind (FIFO or standard); " +
                   busy;
    return what + " skipped and left in '" + o.queue + "': " + why;
}

status print_summary(const redrive_options& o, const redrive_totals& t) {
    if (o.json) {
        json_object j;
        j.add("moved", t.moved).add("skipped", t.skipped);
        return print_stdout(j.str() + "\n");
    }
    return print_stdout("moved " + std::to_string(t.moved) + ", skipped " +
                        std::to_string(t.skipped) + "\n");
}

int run_redrive(const redrive_options& o, command_context& ctx) {
    if (o.to && *o.to == o.queue) {
        return usage_error("--to: messages cannot be redriven to '" + o.queue +
                           "', the queue they are in");
    }
    redrive_totals totals;
    proto::value after = std::int64_t{0};
    auto start = steady_clock::now();
    status failed;
    for (;;) {
        auto step = redrive_once(ctx, o, after, next_batch(o, totals));
        if (!step) {
            failed = step.error();
            break;
        }
        totals.moved += step->moved;
        totals.skipped += step->skipped;
        bool enough = o.max > 0 && totals.moved >= o.max;
        if (step->done || enough || signals::caught() != 0) {
            break;
        }
        if (step->moved + step->skipped == 0 &&
            proto::encode(step->cursor) == proto::encode(after)) {
            // Asking again would get the same answer for ever.
            note(
                "the agent's redrive cursor did not move, yet it did not "
                "say it was done; stopping (messages in flight in '" +
                o.queue + "' are not moved)");
            break;
        }
        after = step->cursor;
        if (!keep_rate(o, totals, start)) {
            break;
        }
    }

    // What moved before a failure or a signal is reported too: it moved.
    if (status printed = print_summary(o, totals); !printed) {
        return fail(printed);
    }
    if (totals.skipped > 0) {
        note(skipped_note(o, totals.skipped));
    }
    if (!failed) {
        return fail(failed);
    }
    return signals::caught() != 0 ? signals::exit_code() : kExitOk;
}

}  // namespace

command_runner setup_queue_redrive(CLI::App& cmd) {
    auto o = std::make_shared<redrive_options>();
    add_queue_argument(cmd, o->queue)
        ->description("the dead-letter queue to move messages out of");
    add_checked_text_option(cmd, "--to", o->to, validate_queue_name,
                            "move every message to QUEUE [default: the "
                            "queue each was dead-lettered from]")
        ->type_name("QUEUE");
    add_count_option(cmd, "-n,--max", o->max, kMaxRedriveTotal,
                     "stop after moving N messages [default: all]");
    add_count_option(cmd, "--rate", o->rate, kMaxRedriveRate,
                     "move at most PER_SECOND messages each second "
                     "[default: no limit]")
        ->type_name("PER_SECOND");
    add_format_option(cmd, o->json);
    return [o](command_context& ctx) { return run_redrive(*o, ctx); };
}

}  // namespace dmq::cli
