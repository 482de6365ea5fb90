// dmq receive and dmq peek: take messages from a queue and print them
// (lines, NUL-terminated, raw or JSON Lines), or hand each to a command
// with --exec; --follow keeps going until SIGINT or SIGTERM.
//
// The rule on signals: a message is never lost and never printed twice by
// one run. A receive that a signal interrupts is cancelled, and anything
// it received but has not written out is released; what was written is
// acked (with --delete) before dmq exits.

#include "cmd/cli_options.h"
#include "cmd/commands/commands.h"
#include "cmd/exec_runner.h"
#include "cmd/exit_codes.h"
#include "cmd/limits.h"
#include "cmd/output_sink.h"
#include "cmd/receipt_ops.h"
#include "cmd/reply_reader.h"
#include "cmd/signals.h"

#include <algorithm>

namespace dmq::cli {

namespace {

struct output_options {
    bool null = false;
    bool raw = false;
    bool json = false;

    output_mode mode() const {
        return raw    ? output_mode::raw
               : null ? output_mode::null
               : json ? output_mode::json
                      : output_mode::lines;
    }
};

struct receive_options {
    std::string queue;
    std::int64_t max = 1;
    std::optional<millis> wait;
    std::optional<millis> visibility;
    output_options output;
    bool remove = false;  // --delete
    bool follow = false;
    std::string exec;
};

void add_output_options(CLI::App& cmd, output_options& o) {
    auto* null = cmd.add_flag("-0,--null", o.null,
                              "end each body with NUL instead of newline");
    auto* raw = cmd.add_flag("--raw", o.raw,
                             "print one body as is, with nothing added");
    auto* format = add_format_option(cmd, o.json);
    null->excludes(raw)->excludes(format);
    raw->excludes(format);
}

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

// One receive request for up to `max` messages, waiting up to `wait`.
// When a signal interrupts it, whatever it brought is released and an
// unavailable status comes back.
result<std::vector<message_record>> receive_once(command_context& ctx,
                                                 const receive_options& o,
                                                 std::int64_t max,
                                                 millis wait) {
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

// Writes the messages out; with --delete, acks them once they are. If
// writing fails, they are released for someone else.
status deliver(command_context& ctx, const receive_options& o,
               const std::vector<message_record>& messages) {
    if (messages.empty()) {
        return status::ok();
    }
    if (status written = write_messages(messages, o.output.mode()); !written) {
        release_all(ctx.client(), o.queue, receipts_of(messages));
        return written;
    }
    return o.remove ? ack_receipts(ctx.client(), o.queue, receipts_of(messages))
                    : status::ok();
}

// Receives until -n messages came or the queue has none left (or, with
// --follow, until a signal). A reply may hold fewer messages than asked
// for even when more are visible (the agent bounds a reply's bodies), so
// only an empty reply means the queue ran dry.
int print_loop(command_context& ctx, const receive_options& o) {
    millis wait = o.wait.value_or(o.follow ? kMaxWait : millis(0));
    std::int64_t total = 0;
    for (bool first = true;; first = false) {
        std::int64_t left = o.follow ? o.max : o.max - total;
        std::int64_t want = std::min(left, kMaxReceive);
        auto got =
            receive_once(ctx, o, want, first || o.follow ? wait : millis(0));
        if (!got) {
            bool stopped = o.follow && signals::caught() != 0;
            return stopped ? kExitOk : fail(got.error());
        }
        if (status done = deliver(ctx, o, *got); !done) {
            return fail(done);
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

// The visibility timeout to extend by: --visibility, else the queue's.
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

// How long a message whose command failed stays invisible: 1s after the
// first failure, doubling with each delivery up to a minute, so that a
// command that always fails does not spin on one message.
millis retry_delay(std::int64_t receive_count) {
    std::int64_t doublings = std::clamp<std::int64_t>(receive_count - 1, 0, 6);
    return std::min(millis(1000LL << doublings), millis(60'000));
}

// Runs the command for one message, then acks or releases it. Returns
// false when the command failed.
result<bool> handle_with_command(command_context& ctx, const exec_job& job,
                                 const message_record& m) {
    auto exit_status = run_exec(job, m, ctx.client());
    std::string receipt = m.receipt.value_or("");
    if (!exit_status || *exit_status != 0) {
        millis delay = retry_delay(m.receive_count);
        status released =
            release_receipt(ctx.client(), job.queue, receipt, delay);
        if (!exit_status) {
            return exit_status.error();
        }
        warn("command exited with status " + std::to_string(*exit_status) +
             " for message '" + m.id + "'; " +
             (released
                  ? "released it, visible again in " + format_duration(delay)
                  : "cannot release it: " + released.message()));
        return false;
    }
    status acked = ack_receipts(ctx.client(), job.queue, {receipt});
    if (!acked) {
        return acked;
    }
    return true;
}

// One message at a time, so that only the message whose command is
// running is in flight and needs extending.
int exec_loop(command_context& ctx, const receive_options& o) {
    auto visibility = exec_visibility(ctx, o);
    if (!visibility) {
        return fail(visibility.error());
    }
    exec_job job{o.exec, o.queue, *visibility};
    receive_options one = o;
    one.visibility = *visibility;
    millis wait = o.wait.value_or(o.follow ? kMaxWait : millis(0));

    std::int64_t total = 0;
    std::int64_t failed = 0;
    while (signals::caught() == 0 && (o.follow || total < o.max)) {
        auto got = receive_once(ctx, one, 1,
                                total == 0 || o.follow ? wait : millis(0));
        if (!got) {
            bool stopped = o.follow && signals::caught() != 0;
            return stopped ? kExitOk : fail(got.error());
        }
        if (got->empty() && !o.follow) {
            break;
        }
        for (const auto& m : *got) {
            ++total;
            auto handled = handle_with_command(ctx, job, m);
            if (!handled) {
                return fail(handled.error());
            }
            failed += *handled ? 0 : 1;
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

int run_receive(const receive_options& o, command_context& ctx) {
    if (o.output.raw && (o.max > 1 || o.follow)) {
        return usage_error(
            "--raw prints exactly one message: it cannot go with -n above 1 "
            "or --follow");
    }
    return o.exec.empty() ? print_loop(ctx, o) : exec_loop(ctx, o);
}

}  // namespace

command_runner setup_receive(CLI::App& cmd) {
    auto o = std::make_shared<receive_options>();
    add_queue_argument(cmd, o->queue);
    add_count_option(cmd, "-n,--max", o->max, kMaxReceive,
                     "receive up to N messages [default: 1; at most 10000]");
    add_duration_option(cmd, "--wait", o->wait,
                        "wait up to DUR for a message to arrive (long poll) "
                        "[default: 0s, or 20s with --follow; at most 20s]",
                        kMaxWait);
    add_duration_option(cmd, "--visibility", o->visibility,
                        "hide the received messages for DUR [default: the "
                        "queue's visibility timeout]");
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
