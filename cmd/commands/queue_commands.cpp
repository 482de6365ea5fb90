// dmq queue create|list|info|update|delete|purge: managing queues. (dmq
// queue redrive is in redrive_command.cpp.)

#include "cmd/cli_options.h"
#include "cmd/commands/commands.h"
#include "cmd/exit_codes.h"
#include "cmd/limits.h"
#include "cmd/output_format.h"
#include "cmd/output_sink.h"
#include "cmd/reply_reader.h"
#include "cmd/table.h"
#include "common/names.h"

namespace dmq::cli {

namespace {

// The settings a queue is created with or changed to; only those given
// are sent.
struct queue_settings {
    std::optional<millis> visibility;
    std::optional<millis> retention;
    std::optional<std::uint64_t> max_size;
    std::optional<millis> delay;
    bool fifo = false;  // create only
    std::optional<std::string> dlq;
    bool no_dlq = false;            // update only: sends dlq ""
    std::int64_t max_receives = 0;  // 0: not given
    std::optional<millis> dedup_window;
    bool content_dedup = false;
    bool no_content_dedup = false;  // update only

    bool empty() const {
        return !visibility && !retention && !max_size && !delay && !dlq &&
               !no_dlq && max_receives == 0 && !dedup_window &&
               !content_dedup && !no_content_dedup;
    }
};

void add_settings_options(CLI::App& cmd, queue_settings& s, bool defaults) {
    auto with = [defaults](std::string text, std::string_view value) {
        return defaults ? text + " [default: " + std::string(value) + "]"
                        : text;
    };
    add_duration_option(cmd, "--visibility", s.visibility,
                        with("hide a received message from other consumers "
                             "for DUR unless acked (at most 12h)",
                             "30s"),
                        kVisibilityRange);
    add_duration_option(
        cmd, "--retention", s.retention,
        with("drop messages older than DUR (1s to 36500d)", "4d"),
        kRetentionRange);
    add_size_option(cmd, "--max-size", s.max_size,
                    with("refuse message bodies larger than BYTES (at most "
                         "16MiB)",
                         "256KiB"),
                    kMaxSizeRange);
    add_duration_option(cmd, "--delay", s.delay,
                        with("keep each new message invisible for DUR (at "
                             "most 15m)",
                             "0s"),
                        kDelayRange);
    add_checked_text_option(cmd, "--dlq", s.dlq, validate_queue_name,
                            "move a message to dead-letter queue NAME (an "
                            "existing queue of the same kind) after "
                            "--max-receives deliveries without an ack")
        ->type_name("NAME");
    add_count_option(cmd, "--max-receives", s.max_receives, kMaxMaxReceives,
                     defaults ? "deliveries without an ack before a message "
                                "moves to the --dlq queue (1 to 1000)"
                              : "deliveries without an ack before a message "
                                "moves to the dead-letter queue (1 to "
                                "1000)");
    add_duration_option(cmd, "--dedup-window", s.dedup_window,
                        with("store no repeat of a dedup id sent within DUR "
                             "(1s to 7d)",
                             "5m"),
                        kDedupWindowRange);
    cmd.add_flag("--content-dedup", s.content_dedup,
                 "FIFO queues: a message sent without a dedup id gets "
                 "the SHA-256 of its body as one");
}

proto::value_map settings_args(const std::string& queue,
                               const queue_settings& s) {
    proto::value_map args{{"queue", queue}};
    if (s.visibility) {
        args["visibility_ms"] = s.visibility->count();
    }
    if (s.retention) {
        args["retention_ms"] = s.retention->count();
    }
    if (s.max_size) {
        args["max_size"] = *s.max_size;
    }
    if (s.delay) {
        args["delay_ms"] = s.delay->count();
    }
    if (s.fifo) {
        args["fifo"] = true;
    }
    if (s.dlq || s.no_dlq) {
        args["dlq"] = s.dlq.value_or("");
    }
    if (s.max_receives > 0) {
        args["max_receives"] = s.max_receives;
    }
    if (s.dedup_window) {
        args["dedup_window_ms"] = s.dedup_window->count();
    }
    if (s.content_dedup || s.no_content_dedup) {
        args["content_dedup"] = s.content_dedup;
    }
    return args;
}

// What the agent would refuse about these settings and the CLI can tell
// without asking it; empty when nothing.
std::string settings_problem(const std::string& queue, const queue_settings& s,
                             bool create) {
    if (s.dlq && *s.dlq == queue) {
        return "--dlq: a queue cannot be its own dead-letter queue";
    }
    if (create && s.dlq && s.max_receives == 0) {
        return "--dlq needs --max-receives N: after N deliveries without an "
               "ack a message moves to the dead-letter queue";
    }
    if (create && s.max_receives > 0 && !s.dlq) {
        return "--max-receives needs --dlq: it counts the deliveries "
               "before a message moves to the dead-letter queue";
    }
    if (create && s.content_dedup && !s.fifo) {
        return "--content-dedup needs --fifo: only FIFO queues dedup "
               "messages by their body";
    }
    return "";
}

std::string show_duration(std::int64_t ms) {
    return ms == 0 ? "0s" : format_duration(millis(ms));
}

std::string yes_no(bool flag) {
    return flag ? "yes" : "no";
}

// A queue info map, read and checked.
struct queue_info {
    std::string name;
    bool fifo = false;
    std::int64_t visible = 0;
    std::int64_t in_flight = 0;
    std::int64_t delayed = 0;
    std::int64_t held = 0;
    std::int64_t bytes = 0;
    std::optional<std::int64_t> oldest;
    std::int64_t visibility = 0;
    std::int64_t retention = 0;
    std::int64_t max_size = 0;
    std::int64_t delay = 0;
    std::optional<std::string> dlq;
    std::optional<std::int64_t> max_receives;
    std::int64_t dedup_window = 0;
    bool content_dedup = false;
    std::int64_t created = 0;
    std::string owner;
};

result<queue_info> read_info(const proto::value_map& map) {
    reply_reader r(map);
    queue_info i;
    i.name = r.string("name");
    i.fifo = r.boolean("fifo");
    i.visible = r.integer("visible");
    i.in_flight = r.integer("in_flight");
    i.delayed = r.integer("delayed");
    i.held = r.integer("held");
    i.bytes = r.integer("bytes");
    i.oldest = r.optional_integer("oldest_age_ms");
    i.visibility = r.integer("visibility_ms");
    i.retention = r.integer("retention_ms");
    i.max_size = r.integer("max_size");
    i.delay = r.integer("delay_ms");
    i.dlq = r.optional_string("dlq");
    i.max_receives = r.optional_integer("max_receives");
    i.dedup_window = r.integer("dedup_window_ms");
    i.content_dedup = r.boolean("content_dedup");
    i.created = r.integer("created_at");
    i.owner = r.string("owner");
    if (!r.error()) {
        return r.error();
    }
    return i;
}

std::string info_json(const queue_info& i) {
    json_object o;
    o.add("name", i.name).add_bool("fifo", i.fifo);
    o.add("visible", i.visible).add("in_flight", i.in_flight);
    o.add("delayed", i.delayed).add("held", i.held).add("bytes", i.bytes);
    i.oldest ? o.add("oldest_age_ms", *i.oldest) : o.add_null("oldest_age_ms");
    o.add("visibility_ms", i.visibility).add("retention_ms", i.retention);
    o.add("max_size", i.max_size).add("delay_ms", i.delay);
    i.dlq ? o.add("dlq", *i.dlq) : o.add_null("dlq");
    i.max_receives ? o.add("max_receives", *i.max_receives)
                   : o.add_null("max_receives");
    o.add("dedup_window_ms", i.dedup_window);
    o.add_bool("content_dedup", i.content_dedup);
    o.add("created_at", format_timestamp(i.created)).add("owner", i.owner);
    return o.str() + "\n";
}

std::string info_text(const queue_info& i) {
    auto line = [](std::string_view key, const std::string& value) {
        return std::string(key) + ": " + value + "\n";
    };
    std::string text = line("name", i.name);
    text += line("fifo", yes_no(i.fifo));
    text += line("visible", std::to_string(i.visible));
    text += line("in_flight", std::to_string(i.in_flight));
    text += line("delayed", std::to_string(i.delayed));
    text += line("held", std::to_string(i.held));
    text += line("bytes", std::to_string(i.bytes));
    text += line("oldest_age", i.oldest ? format_age(*i.oldest) : "-");
    text += line("visibility", show_duration(i.visibility));
    text += line("retention", show_duration(i.retention));
    text +=
        line("max_size", format_size(static_cast<std::uint64_t>(i.max_size)));
    text += line("delay", show_duration(i.delay));
    text += line("dlq", i.dlq.value_or("-"));
    text += line("max_receives",
                 i.max_receives ? std::to_string(*i.max_receives) : "-");
    text += line("dedup_window", show_duration(i.dedup_window));
    text += line("content_dedup", yes_no(i.content_dedup));
    text += line("created", format_timestamp(i.created));
    text += line("owner", i.owner);
    return text;
}

// The queue info map as "key: value" lines, or one JSON object.
int print_info(const proto::value_map& map, bool json) {
    auto info = read_info(map);
    if (!info) {
        return fail(info.error());
    }
    return exit_with(print_stdout(json ? info_json(*info) : info_text(*info)));
}

int print_reply_info(const result<proto::reply>& reply, bool json) {
    if (!reply) {
        return fail(reply.error());
    }
    reply_reader r(reply->fields);
    const proto::value_map& info = r.map("info");
    return r.error() ? print_info(info, json) : fail(r.error());
}

// One name per line (what completions read), a table, or JSON Lines.
int list_queues(command_context& ctx, bool json, bool long_form) {
    auto reply = ctx.client().call("queue_list", {});
    if (!reply) {
        return fail(reply.error());
    }

    reply_reader r(reply->fields);
    text_table table({{"QUEUE"},
                      {"VISIBLE", true},
                      {"IN_FLIGHT", true},
                      {"DELAYED", true},
                      {"HELD", true}});
    std::string text;
    for (const auto& entry : r.list("queues")) {
        reply_reader q(map_or_empty(entry));
        std::string name = q.string("name");
        std::int64_t visible = q.integer("visible");
        std::int64_t in_flight = q.integer("in_flight");
        std::int64_t delayed = q.integer("delayed");
        // Not every agent lists it; queue info always has it.
        auto held = q.optional_integer("held");
        if (!q.error()) {
            return fail(q.error());
        }
        if (json) {
            json_object j;
            j.add("name", name).add("visible", visible);
            j.add("in_flight", in_flight).add("delayed", delayed);
            held ? j.add("held", *held) : j.add_null("held");
            text += j.str() + "\n";
        } else {
            text += name + "\n";
        }
        table.add_row({name, std::to_string(visible), std::to_string(in_flight),
                       std::to_string(delayed),
                       held ? std::to_string(*held) : "-"});
    }
    if (!r.error()) {
        return fail(r.error());
    }
    return exit_with(print_stdout(long_form ? table.str() : text));
}

}  // namespace

command_runner setup_queue_create(CLI::App& cmd) {
    struct options {
        std::string queue;
        queue_settings settings;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    cmd.add_flag("--fifo", o->settings.fifo,
                 "make a FIFO queue: messages of one --group go out one "
                 "at a time, in order (fixed at creation)");
    add_settings_options(cmd, o->settings, true);
    return [o](command_context& ctx) {
        std::string problem = settings_problem(o->queue, o->settings, true);
        if (!problem.empty()) {
            return usage_error(problem);
        }
        auto reply = ctx.client().call("queue_create",
                                       settings_args(o->queue, o->settings));
        return reply ? kExitOk : fail(reply.error());
    };
}

command_runner setup_queue_update(CLI::App& cmd) {
    struct options {
        std::string queue;
        queue_settings settings;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    add_settings_options(cmd, o->settings, false);
    auto* no_dlq =
        cmd.add_flag("--no-dlq", o->settings.no_dlq,
                     "remove the dead-letter queue (and --max-receives)");
    no_dlq->excludes("--dlq")->excludes("--max-receives");
    cmd.add_flag("--no-content-dedup", o->settings.no_content_dedup,
                 "stop deduplicating messages by their body")
        ->excludes("--content-dedup");
    return [o](command_context& ctx) {
        if (o->settings.empty()) {
            return usage_error(
                "nothing to update: give at least one setting, such as "
                "--visibility or --dlq; see 'dmq queue update --help'");
        }
        std::string problem = settings_problem(o->queue, o->settings, false);
        if (!problem.empty()) {
            return usage_error(problem);
        }
        auto reply = ctx.client().call("queue_update",
                                       settings_args(o->queue, o->settings));
        return reply ? kExitOk : fail(reply.error());
    };
}

command_runner setup_queue_info(CLI::App& cmd) {
    struct options {
        std::string queue;
        bool json = false;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    add_format_option(cmd, o->json);
    return [o](command_context& ctx) {
        auto reply = ctx.client().call("queue_info", {{"queue", o->queue}});
        return print_reply_info(reply, o->json);
    };
}

command_runner setup_queue_list(CLI::App& cmd) {
    struct options {
        bool json = false;
        bool long_form = false;
    };
    auto o = std::make_shared<options>();
    auto* long_form = cmd.add_flag(
        "-l,--long", o->long_form,
        "print a table with the visible, in-flight, delayed and held "
        "counts");
    add_format_option(cmd, o->json)->excludes(long_form);
    return [o](command_context& ctx) {
        return list_queues(ctx, o->json, o->long_form);
    };
}

command_runner setup_queue_delete(CLI::App& cmd) {
    struct options {
        std::string queue;
        bool force = false;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    cmd.add_flag("-f,--force", o->force,
                 "delete the queue even if it still holds messages");
    return [o](command_context& ctx) {
        proto::value_map args{{"queue", o->queue}};
        if (o->force) {
            args["force"] = true;
        }
        auto reply = ctx.client().call("queue_delete", std::move(args));
        // The agent's message may speak of the wire's "force" already.
        if (!reply && reply.error().code() == errc::queue_not_empty &&
            reply.error().message().find("force") == std::string::npos) {
            return fail(status(errc::queue_not_empty,
                               reply.error().message() +
                                   "; use --force to delete it with its "
                                   "messages"));
        }
        return reply ? kExitOk : fail(reply.error());
    };
}

command_runner setup_queue_purge(CLI::App& cmd) {
    auto queue = std::make_shared<std::string>();
    add_queue_argument(cmd, *queue);
    return [queue](command_context& ctx) {
        auto reply = ctx.client().call("queue_purge", {{"queue", *queue}});
        if (!reply) {
            return fail(reply.error());
        }
        reply_reader r(reply->fields);
        std::int64_t purged = r.integer("purged");
        if (!r.error()) {
            return fail(r.error());
        }
        return exit_with(
            print_stdout("purged " + std::to_string(purged) +
                         (purged == 1 ? " message\n" : " messages\n")));
    };
}

}  // namespace dmq::cli
