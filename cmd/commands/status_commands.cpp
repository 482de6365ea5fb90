// dmq health and dmq stats: how the agents and the queues are doing.

#include "cmd/cli_options.h"
#include "cmd/commands/commands.h"
#include "cmd/exit_codes.h"
#include "cmd/output_format.h"
#include "cmd/output_sink.h"
#include "cmd/reply_reader.h"
#include "cmd/table.h"

#include <array>

namespace dmq::cli {

namespace {

// One agent's answer to ping, or why there was none.
struct agent_health {
    std::string agent;
    status error;
    std::string version;
    std::int64_t uptime_ms = 0;
    std::int64_t free_disk = 0;
    std::int64_t queues = 0;
};

agent_health ping(agent_client& client, std::size_t index) {
    agent_health h;
    h.agent = client.agents()[index].name;
    auto reply = client.call_agent(index, "ping", {});
    if (!reply) {
        h.error = reply.error();
        return h;
    }
    reply_reader r(reply->fields);
    h.version = r.string("version");
    h.uptime_ms = r.integer("uptime_ms");
    h.free_disk = r.integer("free_disk_bytes");
    h.queues = r.integer("queue_count");
    h.error = r.error();
    return h;
}

std::string health_json(const agent_health& h) {
    json_object o;
    o.add("agent", h.agent).add_bool("healthy", h.error.is_ok());
    if (!h.error) {
        return o.add("error", h.error.message()).str();
    }
    o.add("version", h.version).add("uptime_ms", h.uptime_ms);
    o.add("free_disk_bytes", h.free_disk).add("queue_count", h.queues);
    return o.str();
}

// The counters of a stats entry, in the order they are shown.
constexpr std::array kStatsCounters = {
    "sent",      "received",      "acked",    "released",   "expired",
    "purged",    "dead_lettered", "redriven", "duplicates", "visible",
    "in_flight", "delayed",       "held"};

std::string stats_json(reply_reader& q, const std::string& name) {
    json_object o;
    o.add("name", name);
    for (const char* key : kStatsCounters) {
        o.add(key, q.integer(key));
    }
    o.add("bytes", q.integer("bytes"));
    auto oldest = q.optional_integer("oldest_age_ms");
    oldest ? o.add("oldest_age_ms", *oldest) : o.add_null("oldest_age_ms");
    return o.str();
}

std::vector<std::string> stats_row(reply_reader& q, const std::string& name) {
    std::vector<std::string> row = {name};
    for (const char* key : kStatsCounters) {
        row.push_back(std::to_string(q.integer(key)));
    }
    auto oldest = q.optional_integer("oldest_age_ms");
    row.push_back(oldest ? format_age(*oldest) : "-");
    return row;
}

}  // namespace

command_runner setup_health(CLI::App& cmd) {
    auto json = std::make_shared<bool>(false);
    add_format_option(cmd, *json);
    return [json](command_context& ctx) {
        agent_client& client = ctx.client();
        text_table table({{"AGENT"},
                          {"STATUS"},
                          {"VERSION"},
                          {"UPTIME", true},
                          {"FREE_DISK", true},
                          {"QUEUES", true}});
        std::string lines;
        bool healthy = true;
        for (std::size_t i = 0; i < client.agents().size(); ++i) {
            agent_health h = ping(client, i);
            healthy = healthy && h.error.is_ok();
            lines += health_json(h) + "\n";
            if (!h.error) {
                warn(h.error.message());
                table.add_row({h.agent, "unreachable", "-", "-", "-", "-"});
                continue;
            }
            table.add_row(
                {h.agent, "ok", h.version, format_age(h.uptime_ms),
                 format_bytes(static_cast<std::uint64_t>(h.free_disk)),
                 std::to_string(h.queues)});
        }
        if (status printed = print_stdout(*json ? lines : table.str());
            !printed) {
            return fail(printed);
        }
        return healthy ? kExitOk : kExitUnreachable;
    };
}

command_runner setup_stats(CLI::App& cmd) {
    struct options {
        std::string queue;
        bool json = false;
    };
    auto o = std::make_shared<options>();
    auto* queue = add_queue_argument(cmd, o->queue);
    queue->required(false);
    add_format_option(cmd, o->json);
    return [o](command_context& ctx) {
        proto::value_map args;
        if (!o->queue.empty()) {
            args["queue"] = o->queue;
        }
        auto reply = ctx.client().call("stats", std::move(args));
        if (!reply) {
            return fail(reply.error());
        }

        reply_reader r(reply->fields);
        text_table table({{"QUEUE"},
                          {"SENT", true},
                          {"RECEIVED", true},
                          {"ACKED", true},
                          {"RELEASED", true},
                          {"EXPIRED", true},
                          {"PURGED", true},
                          {"DEAD_LETTERED", true},
                          {"REDRIVEN", true},
                          {"DUPLICATES", true},
                          {"VISIBLE", true},
                          {"IN_FLIGHT", true},
                          {"DELAYED", true},
                          {"HELD", true},
                          {"OLDEST", true}});
        std::string lines;
        for (const auto& entry : r.list("queues")) {
            reply_reader q(map_or_empty(entry));
            std::string name = q.string("name");
            lines += stats_json(q, name) + "\n";
            table.add_row(stats_row(q, name));
            if (!q.error()) {
                return fail(q.error());
            }
        }
        if (!r.error()) {
            return fail(r.error());
        }
        return exit_with(print_stdout(o->json ? lines : table.str()));
    };
}

}  // namespace dmq::cli
