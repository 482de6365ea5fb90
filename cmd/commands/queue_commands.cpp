// dmq queue create|list|info|update|delete|purge: managing queues.

#include "cmd/cli_options.h"
#include "cmd/commands/commands.h"
#include "cmd/exit_codes.h"
#include "cmd/limits.h"
#include "cmd/output_format.h"
#include "cmd/output_sink.h"
#include "cmd/reply_reader.h"
#include "cmd/table.h"

namespace dmq::cli {

namespace {

// The settings a queue is created with; only those given are sent.
struct queue_settings {
    std::optional<millis> visibility;
    std::optional<millis> retention;
    std::optional<std::uint64_t> max_size;
    std::optional<millis> delay;

    bool empty() const {
        return !visibility && !retention && !max_size && !delay;
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
    return args;
}

std::string show_duration(std::int64_t ms) {
    return ms == 0 ? "0s" : format_duration(millis(ms));
}

// The queue info map as "key: value" lines, or one JSON object.
int print_info(const proto::value_map& info, bool json) {
    reply_reader r(info);
    std::string name = r.string("name");
    std::int64_t visible = r.integer("visible");
    std::int64_t in_flight = r.integer("in_flight");
    std::int64_t delayed = r.integer("delayed");
    std::int64_t bytes = r.integer("bytes");
    auto oldest = r.optional_integer("oldest_age_ms");
    std::int64_t visibility = r.integer("visibility_ms");
    std::int64_t retention = r.integer("retention_ms");
    std::int64_t max_size = r.integer("max_size");
    std::int64_t delay = r.integer("delay_ms");
    std::int64_t created = r.integer("created_at");
    std::string owner = r.string("owner");
    if (!r.error()) {
        return fail(r.error());
    }

    if (json) {
        json_object o;
        o.add("name", name).add("visible", visible);
        o.add("in_flight", in_flight).add("delayed", delayed);
        o.add("bytes", bytes);
        oldest ? o.add("oldest_age_ms", *oldest) : o.add_null("oldest_age_ms");
        o.add("visibility_ms", visibility).add("retention_ms", retention);
        o.add("max_size", max_size).add("delay_ms", delay);
        o.add("created_at", format_timestamp(created)).add("owner", owner);
        return exit_with(print_stdout(o.str() + "\n"));
    }
    std::string text = "name: " + name + "\n";
    text += "visible: " + std::to_string(visible) + "\n";
    text += "in_flight: " + std::to_string(in_flight) + "\n";
    text += "delayed: " + std::to_string(delayed) + "\n";
    text += "bytes: " + std::to_string(bytes) + "\n";
    text += "oldest_age: " + (oldest ? format_age(*oldest) : "-") + "\n";
    text += "visibility: " + show_duration(visibility) + "\n";
    text += "retention: " + show_duration(retention) + "\n";
    text += "max_size: " + format_size(static_cast<std::uint64_t>(max_size));
    text += "\ndelay: " + show_duration(delay) + "\n";
    text += "created: " + format_timestamp(created) + "\n";
    text += "owner: " + owner + "\n";
    return exit_with(print_stdout(text));
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
    text_table table(
        {{"QUEUE"}, {"VISIBLE", true}, {"IN_FLIGHT", true}, {"DELAYED", true}});
    std::string text;
    for (const auto& entry : r.list("queues")) {
        reply_reader q(map_or_empty(entry));
        std::string name = q.string("name");
        std::int64_t visible = q.integer("visible");
        std::int64_t in_flight = q.integer("in_flight");
        std::int64_t delayed = q.integer("delayed");
        if (!q.error()) {
            return fail(q.error());
        }
        if (json) {
            json_object j;
            j.add("name", name).add("visible", visible);
            j.add("in_flight", in_flight).add("delayed", delayed);
            text += j.str() + "\n";
        } else {
            text += name + "\n";
        }
        table.add_row({name, std::to_string(visible), std::to_string(in_flight),
                       std::to_string(delayed)});
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
    add_settings_options(cmd, o->settings, true);
    return [o](command_context& ctx) {
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
    return [o](command_context& ctx) {
        if (o->settings.empty()) {
            return usage_error(
                "nothing to update: give at least one of --visibility, "
                "--retention, --max-size and --delay");
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
        "print a table with the visible, in-flight and delayed counts");
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
