// dmq send: messages from the BODY argument or from stdin (whole, one per
// line, or NUL-delimited), sent in batches as the input arrives, with one
// message id printed per line after each batch. A message the agent did
// not store as a repeat of a dedup id prints the first message's id, and
// a note on stderr says so.

#include "cmd/cli_options.h"
#include "cmd/commands/commands.h"
#include "cmd/exit_codes.h"
#include "cmd/input_splitter.h"
#include "cmd/limits.h"
#include "cmd/output_sink.h"
#include "cmd/output_format.h"
#include "cmd/reply_reader.h"
#include "common/message_fields.h"

#include <unistd.h>

namespace dmq::cli {

namespace {

struct send_options {
    std::string queue;
    std::string body;
    CLI::Option* body_option = nullptr;  // count() > 0 when BODY was given
    bool lines = false;
    bool null = false;
    bool quiet = false;
    bool json = false;
    std::optional<millis> delay;
    std::vector<std::pair<std::string, std::string>> attributes;
    std::optional<std::string> group;
    std::optional<std::string> dedup_id;
    std::optional<std::int64_t> priority;
};

status too_large(std::optional<std::uint64_t> size) {
    std::string body =
        size ? "message body of " + std::to_string(*size) + " bytes"
             : "message body";
    return status(errc::too_large, body + " is over " +
                                       format_size(kMaxBodyBytes) +
                                       ", the largest size any queue takes");
}

// Messages collected for one send request. Lifecycle: one per command run;
// flush() sends what it holds and prints the ids.
class send_batch {
public:
    send_batch(const send_options& o, agent_client& client)
        : options_(o), client_(client), meta_(message_meta(o)) {
        meta_bytes_ = proto::encode(meta_).size();
    }

    bool empty() const { return bodies_.empty(); }

    bool full() const {
        return bodies_.size() >= kSendBatchMessages ||
               body_bytes_ >= kSendBatchBodyBytes ||
               bodies_.size() * meta_bytes_ >= kSendBatchEnvelopeBytes;
    }

    status add(std::string body) {
        if (body.size() > kMaxBodyBytes) {
            return too_large(body.size());
        }
        body_bytes_ += body.size();
        bodies_.push_back(std::move(body));
        return full() ? flush() : status::ok();
    }

    // Sends the batch (with one request id, kept across retries, so that
    // a retry never stores a message twice) and prints the ids.
    status flush();

private:
    static proto::value message_meta(const send_options& o) {
        proto::value_map meta;
        if (o.delay) {
            meta["delay_ms"] = o.delay->count();
        }
        if (!o.attributes.empty()) {
            proto::value_map attributes;
            for (const auto& [key, text] : o.attributes) {
                attributes[key] = text;
            }
            meta["attributes"] = std::move(attributes);
        }
        if (o.group) {
            meta["group"] = *o.group;
        }
        if (o.dedup_id) {
            meta["dedup_id"] = *o.dedup_id;
        }
        if (o.priority) {
            meta["priority"] = *o.priority;
        }
        return meta;
    }

    result<std::vector<bool>> read_duplicates(reply_reader& r,
                                              std::size_t count) const;
    status print_ids(const proto::value_list& ids,
                     const std::vector<bool>& duplicates);

    const send_options& options_;
    agent_client& client_;
    proto::value meta_;
    std::size_t meta_bytes_ = 0;
    std::vector<std::string> bodies_;
    std::size_t body_bytes_ = 0;
    std::size_t sent_before_ = 0;  // messages of earlier batches
};

status send_batch::flush() {
    if (bodies_.empty()) {
        return status::ok();
    }
    std::size_t count = bodies_.size();
    proto::value_map args{
        {"queue", options_.queue},
        {"messages", proto::value_list(count, meta_)},
    };
    auto reply = client_.call("send", std::move(args), std::move(bodies_));
    bodies_.clear();
    body_bytes_ = 0;
    if (!reply) {
        return reply.error();
    }

    reply_reader r(reply->fields);
    const proto::value_list& ids = r.list("ids");
    auto duplicates = read_duplicates(r, count);
    for (const auto& id : ids) {
        if (!id.as_string()) {
            return status(errc::internal,
                          "malformed reply from the agent: an id is not a "
                          "string");
        }
    }
    if (!r.error()) {
        return r.error();
    }
    if (!duplicates) {
        return duplicates.error();
    }
    if (ids.size() != count) {
        return status(
            errc::internal,
            "malformed reply from the agent: " + std::to_string(ids.size()) +
                " ids for " + std::to_string(count) + " messages");
    }
    status printed = print_ids(ids, *duplicates);
    sent_before_ += count;
    return printed;
}

// `duplicates`, one bool per message; all false when the agent sent none.
result<std::vector<bool>> send_batch::read_duplicates(reply_reader& r,
                                                      std::size_t count) const {
    std::vector<bool> duplicates(count, false);
    if (!r.has("duplicates")) {
        return duplicates;
    }
    const proto::value_list& list = r.list("duplicates");
    if (list.size() != count) {
        return status(
            errc::internal,
            "malformed reply from the agent: " + std::to_string(list.size()) +
                " duplicate flags for " + std::to_string(count) + " messages");
    }
    for (std::size_t i = 0; i < count; ++i) {
        if (!list[i].as_bool()) {
            return status(errc::internal,
                          "malformed reply from the agent: a duplicate flag "
                          "is not a bool");
        }
        duplicates[i] = *list[i].as_bool();
    }
    return duplicates;
}

// One id per line (or one JSON object per line), and a note on stderr
// for each message that was not stored as a duplicate.
status send_batch::print_ids(const proto::value_list& ids,
                             const std::vector<bool>& duplicates) {
    std::string text;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::string& id = *ids[i].as_string();
        if (duplicates[i]) {
            std::string why = options_.dedup_id
                                  ? "dedup id '" + *options_.dedup_id + "'"
                                  : "same body, by the queue's content dedup";
            note("message " + std::to_string(sent_before_ + i + 1) +
                 " was a duplicate of " + id + " (" + why +
                 "); nothing stored");
        }
        if (options_.json) {
            json_object o;
            o.add("id", id).add_bool("duplicate", duplicates[i]);
            text += o.str() + "\n";
        } else {
            text += id + "\n";
        }
    }
    if (options_.quiet) {
        return status::ok();
    }
    output_sink& out = standard_output();
    status written = out.write(text);
    return written ? out.flush() : written;
}

status add_ready(input_splitter& splitter, send_batch& batch) {
    for (auto& body : splitter.take()) {
        if (status added = batch.add(std::move(body)); !added) {
            return added;
        }
    }
    if (splitter.partial_size() > kMaxBodyBytes) {
        return too_large(std::nullopt);  // still being read: size unknown
    }
    return status::ok();
}

// Reads stdin to its end. A partial batch goes out whenever stdin has
// nothing more to give right now, so that slow streams are sent line by
// line as they come, and fast ones in full batches. `unreadable` is set
// when stdin itself cannot be read.
status send_stdin(input_splitter& splitter, send_batch& batch,
                  bool& unreadable) {
    input_reader reader(STDIN_FILENO);
    for (;;) {
        auto got = reader.read_some(splitter, batch.empty());
        if (!got) {
            unreadable = reader.failed();
            return got.error();
        }
        if (*got == input_reader::outcome::end) {
            splitter.finish();
        }
        if (status added = add_ready(splitter, batch); !added) {
            return added;
        }
        if (*got != input_reader::outcome::read) {
            status sent = batch.flush();
            if (!sent || *got == input_reader::outcome::end) {
                return sent;
            }
        }
    }
}

int run_send(const send_options& o, command_context& ctx) {
    split_mode mode = o.lines  ? split_mode::lines
                      : o.null ? split_mode::null
                               : split_mode::whole;
    input_splitter splitter(mode);
    send_batch batch(o, ctx.client());

    status done;
    bool unreadable = false;
    if (o.body_option->count() > 0) {
        // The argument is the input; stdin is never read.
        splitter.feed(o.body);
        splitter.finish();
        done = add_ready(splitter, batch);
        if (done) {
            done = batch.flush();
        }
    } else {
        done = send_stdin(splitter, batch, unreadable);
    }
    // Bad input (a directory as stdin, say) is a usage error, like a bad
    // argument; messages read before it may have been sent already.
    if (unreadable) {
        return usage_error(done.message());
    }
    return done ? kExitOk : fail(done);
}

}  // namespace

command_runner setup_send(CLI::App& cmd) {
    auto o = std::make_shared<send_options>();
    add_queue_argument(cmd, o->queue);
    o->body_option = cmd.add_option(
        "BODY", o->body,
        "the message body, taken as is; without it, stdin is read");
    auto* lines =
        cmd.add_flag("-l,--lines", o->lines,
                     "send one message per line of input, without its newline");
    cmd.add_flag("-0,--null", o->null,
                 "send one message per NUL-terminated record of input")
        ->excludes(lines);
    add_duration_option(cmd, "--delay", o->delay,
                        "keep the messages invisible for DUR (at most 15m) "
                        "[default: the queue's delay]",
                        kDelayRange);
    add_attribute_option(cmd, o->attributes);
    add_checked_text_option(cmd, "--group", o->group, validate_group,
                            "FIFO queues: send the messages in group G, "
                            "1 to 128 characters from A-Z a-z 0-9 . _ : -")
        ->type_name("G");
    add_checked_text_option(cmd, "--dedup-id", o->dedup_id, validate_dedup_id,
                            "store no repeat of ID within the queue's dedup "
                            "window; 1 to 128 printable ASCII characters, "
                            "no spaces")
        ->type_name("ID");
    add_priority_option(cmd, o->priority);
    auto* quiet =
        cmd.add_flag("-q,--quiet", o->quiet, "do not print the message ids");
    add_format_option(cmd, o->json)->excludes(quiet);
    return [o](command_context& ctx) { return run_send(*o, ctx); };
}

}  // namespace dmq::cli
