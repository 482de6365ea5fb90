// Ack and release by receipt; see receipt_ops.h.

#include "cmd/receipt_ops.h"

#include "cmd/exit_codes.h"
#include "cmd/reply_reader.h"

namespace dmq::cli {

namespace {

call_options uninterruptible() {
    call_options options;
    options.interruptible = false;
    return options;
}

// The status of one entry of an ack reply's results.
status ack_result(const proto::value& entry) {
    if (!entry.as_map()) {
        return status(errc::internal,
                      "malformed reply from the agent: an ack result is "
                      "not a map");
    }
    reply_reader r(*entry.as_map());
    r.string("receipt");  // a result without its receipt is malformed
    bool ok = false;
    if (auto it = entry.as_map()->find("ok");
        it != entry.as_map()->end() && it->second.as_bool()) {
        ok = *it->second.as_bool();
    }
    if (ok || !r.error()) {
        return r.error();
    }
    std::string code = r.optional_string("code").value_or("INTERNAL");
    std::string message =
        r.optional_string("message").value_or("the agent gave no reason");
    // The agent's message names the receipt already.
    return status(errc_from_wire(code), message);
}

}  // namespace

status ack_receipts(agent_client& client, const std::string& queue,
                    const std::vector<std::string>& receipts) {
    proto::value_list list(receipts.begin(), receipts.end());
    auto reply = client.call("ack", {{"queue", queue}, {"receipts", list}}, {},
                             uninterruptible());
    if (!reply) {
        return reply.error();
    }

    reply_reader r(reply->fields);
    const proto::value_list& results = r.list("results");
    if (!r.error()) {
        return r.error();
    }
    // Each refused receipt gets its own line, in order; the caller prints
    // the last one with the others.
    status last;
    for (const auto& entry : results) {
        status acked = ack_result(entry);
        if (acked) {
            continue;
        }
        if (!last.is_ok()) {
            fail(last);
        }
        last = acked;
    }
    return last;
}

status release_receipt(agent_client& client, const std::string& queue,
                       const std::string& receipt, millis delay) {
    proto::value_map args{{"queue", queue}, {"receipt", receipt}};
    if (delay.count() > 0) {
        args["delay_ms"] = static_cast<std::int64_t>(delay.count());
    }
    auto reply = client.call("release", std::move(args), {}, uninterruptible());
    return reply ? status::ok() : reply.error();
}

void release_all(agent_client& client, const std::string& queue,
                 const std::vector<std::string>& receipts) {
    for (const auto& receipt : receipts) {
        if (status released = release_receipt(client, queue, receipt);
            !released) {
            warn("cannot release receipt '" + receipt +
                 "': " + released.message());
        }
    }
}

}  // namespace dmq::cli
