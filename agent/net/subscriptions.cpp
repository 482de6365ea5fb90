// The table of push subscriptions; see subscriptions.h.

#include "agent/net/subscriptions.h"

#include <algorithm>

namespace dmq::net {

status subscription_table::add(subscription s) {
    if (by_id_.count(s.id) == 0 && by_id_.size() >= kMaxSubscriptions) {
        return status(errc::unavailable,
                      "the agent holds " + std::to_string(kMaxSubscriptions) +
                          " subscriptions, its limit; use receive with a "
                          "wait, or another agent");
    }
    std::string id = s.id;
    by_id_[id] = std::move(s);
    return status::ok();
}

subscription* subscription_table::find(const std::string& id) {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &it->second;
}

bool subscription_table::remove(const std::string& id) {
    return by_id_.erase(id) != 0;
}

std::size_t subscription_table::remove_connection(const std::string& identity) {
    return std::erase_if(by_id_, [&](const auto& entry) {
        return entry.second.identity == identity;
    });
}

std::vector<std::string> subscription_table::lapse(std::int64_t now) {
    std::vector<std::string> gone;
    std::erase_if(by_id_, [&](const auto& entry) {
        const subscription& s = entry.second;
        bool lapsed =
            s.credit == 0 && now - s.renewed_at >= kSubscriptionLapseMs;
        if (lapsed) {
            gone.push_back(s.id);
        }
        return lapsed;
    });
    return gone;
}

std::vector<subscription*> subscription_table::due(
    std::int64_t now, const std::set<std::string>& dirty) {
    std::vector<subscription*> out;
    for (auto& [id, s] : by_id_) {
        if (s.credit > 0 && (s.wake_at <= now || dirty.count(s.queue) != 0)) {
            out.push_back(&s);
        }
    }
    return out;
}

std::int64_t subscription_table::next_wakeup(std::int64_t at) const {
    for (const auto& [id, s] : by_id_) {
        if (s.credit > 0) {
            at = std::min(at, s.wake_at);
        }
    }
    return at;
}

std::vector<subscription*> subscription_table::all() {
    std::vector<subscription*> out;
    for (auto& [id, s] : by_id_) {
        out.push_back(&s);
    }
    return out;
}

}  // namespace dmq::net
