// Push subscriptions: consumers that asked the agent to send them messages
// as they become visible instead of polling for them. Each holds the
// credit its consumer granted (how many more messages it can take); a
// push spends credit, a `credit` request adds it. Flow control is the
// consumer's: the agent never pushes more than it was granted, so a slow
// consumer is not flooded and an idle queue costs no polling.
// Lifecycle: the server adds one per subscribe request and drops it on
// unsubscribe, when its connection is gone (a push cannot be delivered),
// or when it lapses (no request from its consumer for a while and no
// credit left). Only the event loop thread may call it.

#pragma once

#include "common/status.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dmq::net {

constexpr std::int64_t kMaxCredit = 10'000;
constexpr std::size_t kMaxSubscriptions = 10'000;

// A subscription with no credit and no word from its consumer for this
// long is dropped: the consumer may be gone without the connection
// showing it yet.
constexpr std::int64_t kSubscriptionLapseMs = 10 * 60'000;

struct subscription {
    std::string id;        // the subscribe request's id; pushes carry it
    std::string identity;  // the connection's ZeroMQ routing id
    std::string queue;
    std::int64_t credit = 0;
    std::optional<std::int64_t> visibility_ms;
    std::int64_t renewed_at = 0;  // last request from its consumer
    std::int64_t wake_at = 0;     // next time a message may be visible
};

class subscription_table {
public:
    // Adds or, for a known id, replaces (a consumer that reconnected and
    // subscribed again).
    status add(subscription s);
    subscription* find(const std::string& id);
    bool remove(const std::string& id);
    // Drops every subscription of a connection; returns how many.
    std::size_t remove_connection(const std::string& identity);
    // Drops the lapsed ones; returns their ids.
    std::vector<std::string> lapse(std::int64_t now);

    // Those with credit that may find a message now: their queue changed
    // in this turn or their wake-up time has come.
    std::vector<subscription*> due(std::int64_t now,
                                   const std::set<std::string>& dirty);
    std::int64_t next_wakeup(std::int64_t at) const;
    std::vector<subscription*> all();
    std::size_t size() const { return by_id_.size(); }

private:
    std::map<std::string, subscription> by_id_;
};

}  // namespace dmq::net
