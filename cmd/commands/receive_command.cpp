// dmq receive and dmq peek: take messages from a queue and print them
// (lines, NUL-terminated, raw or JSON Lines), or hand each to a command
// with --exec; --follow keeps going until SIGINT or SIGTERM.
//
// The rule on signals: a message is never lost and never printed twice by
// one run. A receive that a signal interrupts is cancelled, and anything
// it received but has not written out is released; what was written is
// acked (with --delete) before dmq exits.
//
// A --follow consumer outlives its agents' restarts: while none answers
// it retries (follow_outage) instead of exiting, so a restart costs a
// pause, not a consumer. Without --follow, an unreachable agent exits 3.

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

// True for a failure to reach any agent (as opposed to a refusal).
bool is_unreachable(const status& error) {
    return error.code() == errc::unavailable ||
           error.code() == errc::shutting_down;
}

// The pause before the first retry when a --follow consumer has lost
// its agents, and the longest pause it grows to.
constexpr millis kFirstRetry{100};
constexpr millis kLongestRetry{1000};
// How long each attempt to reach a lost agent may take: a connection to
// an agent that is just stopping can hang without an answer, and the
// next attempt may find the agent back.
constexpr millis kProbeTimeout{1000};

// How a receive of a --follow consumer goes out while its agents are
// lost: the id to repeat, and a short timeout.
struct retry_options {
    std::string id;     // empty: a fresh one
    millis timeout{0};  // 0: --timeout
};

// Keeps a --follow consumer going while no agent can be reached (say,
// while its agent restarts): one warning when the agents are lost, one
// when one answers again, and a growing pause between attempts. It never
// gives up: a service manager or the user stops it with a signal.
//
// Lifecycle: one per receive loop. It also says which id the next
// receive should carry: the id of the failed one when that may have
// reached an agent (the agent then answers with the same messages), else
// a fresh one.
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

    // The id and timeout for the next receive.
    retry_options retry() const {
        return {retry_id_, lost_ ? kProbeTimeout : millis(0)};
    }

private:
    std::string queue_;
    bool lost_ = false;
    millis pause_{0};
    std::string retry_id_;
};

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

// The id of the last request when it may have reached an agent, so that
// a repeated receive gets the same messages instead of leaving them
// invisible; else empty, for a fresh id.
std::string id_to_repeat(const agent_client& client) {
    return client.last_outcome_unknown() ? client.last_request_id() : "";
}

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

// Reports messages written out but not acked even when a signal ends
// dmq, since they will come back: the signal is not why the ack failed.
int fail_not_acked(const status& error) {
    if (signals::caught() != 0) {
        warn(error.message());
        return signals::exit_code();
    }
    return fail(error);
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

// Writes the messages out; with --delete, acks them once they are. If
// writing fails, they are released for someone else. `acked` is false
// when the messages were written but the ack did not reach an agent.
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

// How the message of one --exec command ended.
enum class handling {
    acked,    // the command exited 0
    failed,   // it did not: the message was released for a later retry
    stopped,  // a second signal stopped it: the message was released
};

// Runs the command for one message, then acks or releases it. An
// unavailable status when the command succeeded but the ack did not
// reach an agent.
result<handling> handle_with_command(command_context& ctx, const exec_job& job,
                                     const message_record& m) {
    auto ran = run_exec(job, m, ctx.client());
    std::string receipt = m.receipt.value_or("");
    if (ran && ran->stopped) {
        // The command did not finish: someone else may take the message
        // at once.
        status released = release_receipt(ctx.client(), job.queue, receipt);
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
        status released =
            release_receipt(ctx.client(), job.queue, receipt, delay);
        if (!ran) {
            return ran.error();
        }
        warn("command exited with status " + std::to_string(ran->exit_status) +
             " for message '" + m.id + "'; " +
             (released
                  ? "released it, visible again in " + format_duration(delay)
                  : "cannot release it: " + released.message()));
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

// One message at a time, so that only the message whose command is
// running is in flight and needs extending. With --follow, losing the
// agents is waited out as in print_loop.
int exec_loop(command_context& ctx, const receive_options& o) {
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
    exec_job job{o.exec, o.queue, *visibility};
    receive_options one = o;
    one.visibility = *visibility;
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
