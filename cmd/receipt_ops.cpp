// Ack, release and extend by receipt; see receipt_ops.h.

#include "cmd/receipt_ops.h"

#include "cmd/exit_codes.h"
#include "cmd/limits.h"
#include "cmd/reply_reader.h"

#include <algorithm>
#include <functional>

namespace dmq::cli {

namespace {

// Called for each receipt the agent refused, with why.
using refusal_handler = std::function<void(const status&)>;

call_options uninterruptible() {
    call_options options;
    options.interruptible = false;
    return options;
}

// One entry of the reply's results: ok for a receipt the agent applied,
// else why it refused it. `malformed` is set when the entry is not a
// result at all.
status receipt_result(const proto::value& entry, status& malformed) {
    reply_reader r(map_or_empty(entry));
    r.string("receipt");  // a result without its receipt is malformed
    bool ok = r.boolean("ok");
    if (!r.error()) {
        malformed = r.error();
        return status::ok();
    }
    if (ok) {
        return status::ok();
    }
    std::string code = r.optional_string("code").value_or("INTERNAL");
    std::string message =
        r.optional_string("message").value_or("the agent gave no reason");
    // The agent's message names the receipt already.
    return status(errc_from_wire(code), message);
}

// Sends `op` for up to kReceiptBatch receipts and hands each refusal to
// `refused`. Returns the request's own failure.
using receipt_iterator = std::vector<std::string>::const_iterator;

// `dead_lettered`, when given, counts the releases that moved their
// message to the dead-letter queue (its last allowed delivery ended).
status send_batch(agent_client& client, std::string_view op,
                  proto::value_map args, receipt_iterator first,
                  receipt_iterator last, const refusal_handler& refused,
                  std::size_t* dead_lettered) {
    args["receipts"] = proto::value_list(first, last);
    auto reply = client.call(op, std::move(args), {}, uninterruptible());
    if (!reply) {
        return reply.error();
    }

    reply_reader r(reply->fields);
    const proto::value_list& results = r.list("results");
    if (!r.error()) {
        return r.error();
    }
    if (results.size() != static_cast<std::size_t>(last - first)) {
        return status(errc::internal,
                      "malformed reply from the agent: " +
                          std::to_string(results.size()) + " results for " +
                          std::to_string(last - first) + " receipts");
    }
    for (const auto& entry : results) {
        status malformed;
        status done = receipt_result(entry, malformed);
        if (!malformed) {
            return malformed;
        }
        if (!done) {
            refused(done);
        } else if (dead_lettered != nullptr &&
                   reply_reader(map_or_empty(entry))
                       .boolean_or_false("dead_lettered")) {
            ++*dead_lettered;
        }
    }
    return status::ok();
}

// Sends `op` for every receipt, kReceiptBatch at a time. Returns the
// first request failure (the receipts after it are not sent), else ok;
// refusals go to `refused`.
status for_receipts(agent_client& client, std::string_view op,
                    const proto::value_map& args,
                    const std::vector<std::string>& receipts,
                    const refusal_handler& refused,
                    std::size_t* dead_lettered = nullptr) {
    for (auto first = receipts.begin(); first != receipts.end();) {
        auto left = static_cast<std::size_t>(receipts.end() - first);
        auto last =
            first + static_cast<std::ptrdiff_t>(std::min(left, kReceiptBatch));
        if (status sent = send_batch(client, op, args, first, last, refused,
                                     dead_lettered);
            !sent) {
            return sent;
        }
        first = last;
    }
    return status::ok();
}

// for_receipts, with each refusal but the last printed as an error line
// and the last returned, for the caller to print with its exit status.
status report_each(agent_client& client, std::string_view op,
                   const proto::value_map& args,
                   const std::vector<std::string>& receipts,
                   std::size_t* dead_lettered = nullptr) {
    status last;
    auto refused = [&last](const status& why) {
        if (!last.is_ok()) {
            fail(last);
        }
        last = why;
    };
    status sent =
        for_receipts(client, op, args, receipts, refused, dead_lettered);
    if (!sent) {
        if (!last.is_ok()) {
            fail(last);
        }
        return sent;
    }
    return last;
}

}  // namespace

status ack_receipts(agent_client& client, const std::string& queue,
                    const std::vector<std::string>& receipts) {
    return report_each(client, "ack", {{"queue", queue}}, receipts);
}

status release_receipts(agent_client& client, const std::string& queue,
                        const std::vector<std::string>& receipts, millis delay,
                        std::size_t* dead_lettered) {
    proto::value_map args{{"queue", queue}};
    if (delay.count() > 0) {
        args["delay_ms"] = static_cast<std::int64_t>(delay.count());
    }
    return report_each(client, "release", args, receipts, dead_lettered);
}

status extend_receipts(agent_client& client, const std::string& queue,
                       const std::vector<std::string>& receipts,
                       millis visibility) {
    proto::value_map args{
        {"queue", queue},
        {"visibility_ms", static_cast<std::int64_t>(visibility.count())}};
    return report_each(client, "extend", args, receipts);
}

void release_all(agent_client& client, const std::string& queue,
                 const std::vector<std::string>& receipts) {
    if (receipts.empty()) {
        return;
    }
    auto refused = [](const status& why) {
        warn("cannot release: " + why.message());
    };
    status sent =
        for_receipts(client, "release", {{"queue", queue}}, receipts, refused);
    if (!sent) {
        bool one = receipts.size() == 1;
        warn("cannot release " +
             (one ? "receipt '" + receipts[0] + "'"
                  : std::to_string(receipts.size()) + " messages") +
             ": " + sent.message() + "; " + (one ? "it is" : "they are") +
             " visible again after the visibility timeout");
    }
}

}  // namespace dmq::cli
