// dmq show: one message's state and fields, by its id, without receiving
// it (the `show` operation): where it is in its life (visible, in flight,
// delayed or held behind its FIFO group), when that changes, and what it
// carries besides its body. Exits 4 when the queue does not hold it.

#include "cmd/cli_options.h"
#include "cmd/commands/commands.h"
#include "cmd/exit_codes.h"
#include "cmd/output_format.h"
#include "cmd/output_sink.h"
#include "cmd/reply_reader.h"
#include "common/utf8.h"

namespace dmq::cli {

namespace {

// A show reply, read and checked.
struct shown_message {
    message_record message;
    std::string state;
    std::optional<std::int64_t> visible_at;
    std::optional<std::int64_t> expires_at;
    std::int64_t size = 0;
};

// The protocol puts state, visible_at, expires_at and size beside the
// message map's own keys; an agent may send them inside the map or next
// to it, so both places are read, the map first.
proto::value_map merged_fields(const proto::reply& reply) {
    proto::value_map fields = reply.fields;
    auto message = reply.fields.find("message");
    if (message != reply.fields.end() && message->second.as_map()) {
        for (const auto& [key, value] : *message->second.as_map()) {
            fields[key] = value;
        }
    }
    return fields;
}

result<shown_message> read_shown(const proto::reply& reply) {
    reply_reader top(reply.fields);
    const proto::value_map& map = top.map("message");
    if (!top.error()) {
        return top.error();
    }
    auto message = read_message_map(proto::value(map));
    if (!message) {
        return message.error();
    }
    proto::value_map fields = merged_fields(reply);
    reply_reader r(fields);
    shown_message shown;
    shown.message = std::move(*message);
    shown.state = r.string("state");
    shown.visible_at = r.optional_integer("visible_at");
    shown.expires_at = r.optional_integer("expires_at");
    shown.size = r.integer("size");
    if (!r.error()) {
        return r.error();
    }
    return shown;
}

std::optional<std::string> time_text(std::optional<std::int64_t> ms) {
    return ms ? std::optional(format_timestamp(*ms)) : std::nullopt;
}

std::optional<std::string> number_text(std::optional<std::int64_t> n) {
    return n ? std::optional(std::to_string(*n)) : std::nullopt;
}

std::string shown_json(const shown_message& s) {
    const message_record& m = s.message;
    json_object o;
    auto add = [&o](std::string_view key,
                    const std::optional<std::string>& text) {
        text ? o.add(key, *text) : o.add_null(key);
    };
    auto add_number = [&o](std::string_view key,
                           std::optional<std::int64_t> n) {
        n ? o.add(key, *n) : o.add_null(key);
    };
    o.add("id", m.id).add("state", s.state);
    o.add("receive_count", m.receive_count);
    o.add("sent_at", format_timestamp(m.sent_at_ms));
    add("visible_at", time_text(s.visible_at));
    add("expires_at", time_text(s.expires_at));
    add_number("priority", m.priority);
    add("group", m.group);
    add("dedup_id", m.dedup_id);
    add("source_queue", m.source_queue);
    add_number("redrive_count", m.redrive_count);
    o.add("size", s.size);
    o.add_raw("attributes", attributes_json(m.attributes));
    return o.str() + "\n";
}

// "key: value" lines; what the message does not have is "-".
std::string shown_text(const shown_message& s) {
    const message_record& m = s.message;
    auto line = [](std::string_view key,
                   const std::optional<std::string>& value) {
        return std::string(key) + ": " + value.value_or("-") + "\n";
    };
    std::string text = line("id", m.id);
    text += line("state", s.state);
    text += line("receive_count", std::to_string(m.receive_count));
    text += line("sent", format_timestamp(m.sent_at_ms));
    text += line("visible_at", time_text(s.visible_at));
    text += line("expires", time_text(s.expires_at));
    text += line("priority", number_text(m.priority));
    text += line("group", m.group);
    text += line("dedup_id", m.dedup_id);
    text += line("source_queue", m.source_queue);
    text += line("redrive_count", number_text(m.redrive_count));
    text += line("size", std::to_string(s.size));
    // As JSON, so that a value with a newline cannot break the lines.
    text += line("attributes", attributes_json(m.attributes));
    return text;
}

}  // namespace

command_runner setup_show(CLI::App& cmd) {
    struct options {
        std::string queue;
        std::string id;
        bool json = false;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    cmd.add_option("ID", o->id,
                   "id of the message, as dmq send or receive printed it")
        ->required()
        ->check([](const std::string& id) -> std::string {
            bool hex =
                id.size() == 24 &&
                id.find_first_not_of("0123456789abcdef") == std::string::npos;
            return hex ? ""
                       : "'" + printable(id) +
                             "' is not a message id: ids are 24 "
                             "lower-case hex digits, as dmq send "
                             "printed them";
        });
    add_format_option(cmd, o->json);
    return [o](command_context& ctx) {
        // Not "id": every envelope's "id" is its request id already.
        auto reply = ctx.client().call(
            "show", {{"queue", o->queue}, {"message_id", o->id}});
        if (!reply) {
            return fail(reply.error());
        }
        auto shown = read_shown(*reply);
        if (!shown) {
            return fail(shown.error());
        }
        return exit_with(
            print_stdout(o->json ? shown_json(*shown) : shown_text(*shown)));
    };
}

}  // namespace dmq::cli
