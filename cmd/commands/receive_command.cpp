// dmq receive and dmq peek: take messages from a queue and print them
// (lines, NUL-terminated, raw or JSON Lines), or hand each to a command
// with --exec; --follow keeps going until SIGINT or SIGTERM. What is done
// with the messages is in message_handling.*; here is how they are
// fetched: receive requests, long polls when waiting, or, for --follow,
// a subscription (follow_push.*) when the agent offers one.
//
// A receive that a signal interrupts is cancelled, and anything it
// received is released. A --follow consumer outlives its agents'
// restarts (follow_outage.h); without --follow, an unreachable agent
// exits 3.

#include "cmd/cli_options.h"
#include "cmd/commands/commands.h"
#include "cmd/commands/follow_push.h"
#include "cmd/commands/message_handling.h"
#include "cmd/exec_runner.h"
#include "cmd/exit_codes.h"
#include "cmd/follow_outage.h"
#include "cmd/limits.h"
#include "cmd/receipt_ops.h"
#include "cmd/reply_reader.h"
#include "cmd/signals.h"

#include <algorithm>
#include <variant>

namespace dmq::cli {

namespace {

void add_output_options(CLI::App& cmd, output_options& o) {
    auto* null = cmd.add_flag("-0,--null", o.null,
                              "end each body with NUL instead of newline");
    auto* raw = cmd.add_flag("--raw", o.raw,
                             "print one body as is, with nothing added");
    auto* format = add_format_option(cmd, o.json);
    null->excludes(raw)->excludes(format);
    raw->excludes(format);
}

// The id of the last request when it may have reached an agent, so that
// a repeated receive gets the same messages instead of leaving them
// invisible; else empty, for a fresh id.
std::string id_to_repeat(const agent_client& client) {
    return client.last_outcome_unknown() ? client.last_request_id() : "";
}

// One receive request for up to `max` messages, waiting up to `wait`.
// When a signal interrupts it, whatever it brought is released and an
// unavailable status comes back.
result<std::vector<message_record>> receive_once(
    command_context& ctx, const receive_options& o, std::int64_t max,
    millis wait, const retry_options& retry = {}) {
    proto::value_map args{{"queue", o.queue},
                          {"max", max},
                          {"wait_ms", static_cast<std::int64_t>(wait.count())}};
    if (o.visibility) {
        args["visibility_ms"] =
            static_cast<std::int64_t>(o.visibility->count());
    }
    call_options options;
    options.extra_wait = wait;
    options.cancel_on_interrupt = true;
    options.request_id = retry.id;
    options.timeout = retry.timeout;
    auto reply = ctx.client().call("receive", std::move(args), {}, options);
    if (!reply) {
        return reply.error();
    }
    auto messages = read_messages(*reply);
    if (messages && signals::caught() != 0) {
        release_all(ctx.client(), o.queue, receipts_of(*messages));
        return status(errc::unavailable, "interrupted");
    }
    return messages;
}

// What one receive of a loop came to: messages, an exit code to end the
// command with, or neither (under --follow the agent was lost and the
// outage waited out: try again).
struct receive_step {
    std::optional<std::vector<message_record>> messages;
    std::optional<int> exit_code;
};

receive_step receive_or_wait_out(command_context& ctx, const receive_options& o,
                                 std::int64_t want, bool first, millis wait,
                                 follow_outage& outage) {
    auto got = receive_once(
        ctx, o, want, first || o.follow ? outage.next_wait(wait) : millis(0),
        outage.retry());
    if (!got && o.follow &&
        outage.wait_out(got.error(), id_to_repeat(ctx.client()))) {
        return {};
    }
    if (!got) {
        bool stopped = o.follow && signals::caught() != 0;
        return {std::nullopt, stopped ? kExitOk : fail(got.error())};
    }
    outage.reached();
    return {std::move(*got), std::nullopt};
}

// Receives until -n messages came or the queue has none left (or, with
// --follow, until a signal). A reply may hold fewer messages than asked
// for even when more are visible (the agent bounds a reply's bodies), so
// only an empty reply means the queue ran dry.
//
// With --follow, losing the agents (a restart, say) is waited out; the
// messages of an ack that did not reach an agent come back later.
int print_loop(command_context& ctx, const receive_options& o) {
    millis wait = o.wait.value_or(o.follow ? kMaxWait : millis(0));
    follow_outage outage(o.queue);
    std::int64_t total = 0;
    for (bool first = true;; first = false) {
        std::int64_t left = o.follow ? o.max : o.max - total;
        std::int64_t want = std::min(left, kMaxReceive);
        auto step = receive_or_wait_out(ctx, o, want, first, wait, outage);
        if (step.exit_code) {
            return *step.exit_code;
        }
        if (!step.messages) {
            continue;
        }
        auto& got = step.messages;
        bool acked = true;
        if (status done = deliver(ctx, o, *got, acked); !done) {
            if (!acked && o.follow && signals::caught() == 0) {
                outage.wait_out(done, "");
                continue;
            }
            return acked ? fail(done) : fail_not_acked(done);
        }
        total += static_cast<std::int64_t>(got->size());
        if (signals::caught() != 0) {
            return o.follow ? kExitOk : signals::exit_code();
        }
        if (!o.follow && (got->empty() || total >= o.max)) {
            break;
        }
    }
    return total > 0 ? kExitOk : kExitNothingReceived;
}

// One message at a time, so that only the message whose command is
// running is in flight and needs extending. With --follow, losing the
// agents is waited out as in print_loop.
int exec_loop(command_context& ctx, const receive_options& o,
              const exec_job& job) {
    receive_options one = o;
    one.visibility = job.visibility;
    millis wait = o.wait.value_or(o.follow ? kMaxWait : millis(0));
    follow_outage outage(o.queue);

    std::int64_t total = 0;
    std::int64_t failed = 0;
    while (signals::caught() == 0 && (o.follow || total < o.max)) {
        auto step = receive_or_wait_out(ctx, one, 1, total == 0, wait, outage);
        if (step.exit_code) {
            return *step.exit_code;
        }
        if (!step.messages) {
            continue;
        }
        auto& got = step.messages;
        if (got->empty() && !o.follow) {
            break;
        }
        for (const auto& m : *got) {
            ++total;
            auto handled = handle_with_command(ctx, job, m);
            bool unacked = !handled && is_unreachable(handled.error());
            if (unacked && o.follow && signals::caught() == 0) {
                outage.wait_out(handled.error(), "");
                continue;
            }
            if (!handled) {
                return unacked ? fail_not_acked(handled.error())
                               : fail(handled.error());
            }
            if (*handled == handling::stopped) {
                return signals::exit_code();
            }
            failed += *handled == handling::failed ? 1 : 0;
        }
    }
    if (signals::caught() != 0) {
        return o.follow ? kExitOk : signals::exit_code();
    }
    if (total == 0) {
        return kExitNothingReceived;
    }
    return failed > 0 ? kExitCommandFailed : kExitOk;
}

// The --exec job, with the visibility timeout its message is extended
// by; an exit status when there can be none.
std::variant<exec_job, int> make_exec_job(command_context& ctx,
                                          const receive_options& o) {
    auto visibility = exec_visibility(ctx, o);
    if (!visibility) {
        return fail(visibility.error());
    }
    // The message is kept invisible by extending it every third of this;
    // below a second that would flood the agent.
    if (*visibility < std::chrono::seconds(1)) {
        return usage_error(
            "--exec needs a visibility timeout of at least 1s "
            "to keep the message while CMD runs; give "
            "--visibility");
    }
    return exec_job{o.exec, o.queue, *visibility};
}

int run_receive(const receive_options& o, command_context& ctx) {
    if (o.output.raw && (o.max > 1 || o.follow)) {
        return usage_error(
            "--raw prints exactly one message: it cannot go with -n above 1 "
            "or --follow");
    }
    std::optional<exec_job> job;
    if (!o.exec.empty()) {
        auto made = make_exec_job(ctx, o);
        if (const int* code = std::get_if<int>(&made)) {
            return *code;
        }
        job = std::get<exec_job>(std::move(made));
    }
    if (o.follow) {
        // Long polls remain for an agent without push delivery.
        if (auto code = follow_by_push(ctx, o, job)) {
            return *code;
        }
    }
    return job ? exec_loop(ctx, o, *job) : print_loop(ctx, o);
}

}  // namespace

command_runner setup_receive(CLI::App& cmd) {
    auto o = std::make_shared<receive_options>();
    add_queue_argument(cmd, o->queue);
    add_count_option(
        cmd, "-n,--max", o->max, kMaxReceive,
        "receive up to N messages; with --follow, hold up to N at once "
        "[default: 1; at most 10000]");
    add_duration_option(cmd, "--wait", o->wait,
                        "wait up to DUR for a message to arrive (long poll) "
                        "[default: 0s, or 20s with --follow; at most 20s]",
                        kWaitRange);
    add_duration_option(cmd, "--visibility", o->visibility,
                        "hide the received messages for DUR (at most 12h) "
                        "[default: the queue's visibility timeout]",
                        kVisibilityRange);
    add_output_options(cmd, o->output);
    auto* remove =
        cmd.add_flag("-d,--delete", o->remove,
                     "ack each message once it has been written out");
    auto* exec = cmd.add_option(
        "--exec", o->exec,
        "run CMD with /bin/sh -c for each message, body on stdin; ack it if "
        "CMD exits 0, otherwise release it to return after 1s, doubling "
        "per delivery up to 1m");
    exec->type_name("CMD")->excludes(remove);
    for (const char* name : {"--null", "--raw", "--format"}) {
        exec->excludes(name);
    }
    cmd.add_flag("-f,--follow", o->follow,
                 "keep receiving until SIGINT or SIGTERM, then exit 0");
    return [o](command_context& ctx) { return run_receive(*o, ctx); };
}

command_runner setup_peek(CLI::App& cmd) {
    struct options {
        std::string queue;
        std::int64_t max = 1;
        output_options output;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    add_count_option(cmd, "-n,--max", o->max, kMaxReceive,
                     "show up to N messages [default: 1; at most 10000]");
    add_output_options(cmd, o->output);
    return [o](command_context& ctx) {
        if (o->output.raw && o->max > 1) {
            return usage_error(
                "--raw prints exactly one message: it cannot go with -n "
                "above 1");
        }
        auto reply =
            ctx.client().call("peek", {{"queue", o->queue}, {"max", o->max}});
        auto messages =
            reply ? read_messages(*reply)
                  : result<std::vector<message_record>>(reply.error());
        if (!messages) {
            return fail(messages.error());
        }
        if (status written = write_messages(*messages, o->output.mode());
            !written) {
            return fail(written);
        }
        return messages->empty() ? kExitNothingReceived : kExitOk;
    };
}

}  // namespace dmq::cli
