// The model of queue semantics; see queue_model.h for what it is for and
// the rule it must keep (derived from docs/protocol.md, never from the
// engine's code).

#include "tests/agent/queue/queue_model.h"

#include <algorithm>
#include <utility>

namespace dmq::test {

queue_model::queue_model(std::vector<model_queue> queues)
    : queues_(std::move(queues)), dedup_(queues_.size()) {}

int queue_model::queue_index(std::string_view name) const {
    for (std::size_t i = 0; i < queues_.size(); ++i) {
        if (queues_[i].name == name) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

model_message* queue_model::find(const std::string& id) {
    auto it = messages_.find(id);
    return it == messages_.end() ? nullptr : &it->second;
}

std::vector<const model_message*> queue_model::in_queue(int q) const {
    std::vector<const model_message*> out;
    for (const auto& [id, m] : messages_) {
        if (m.queue == q) {
            out.push_back(&m);
        }
    }
    return out;
}

bool queue_model::ever_seen(const std::string& id) const {
    return messages_.contains(id) || gone_.contains(id);
}

std::string queue_model::dedup_key(int q, const std::string& dedup_id,
                                   const std::string& body) const {
    if (!dedup_id.empty()) {
        return "id:" + dedup_id;
    }
    if (queues_[q].content_dedup) {
        return "body:" + body;
    }
    return "";
}

// The window runs from the first send: a repeat strictly inside it is a
// duplicate, one after it is stored anew. Exactly at its end the protocol
// does not say, so either answer is accepted there.
dedup_verdict queue_model::judge_dedup(int q, const std::string& key,
                                       std::int64_t now) const {
    if (key.empty()) {
        return dedup_verdict::fresh;
    }
    auto it = dedup_[q].find(key);
    if (it == dedup_[q].end()) {
        return dedup_verdict::fresh;
    }
    std::int64_t age = now - it->second.at;
    std::int64_t window = queues_[q].dedup_window_ms;
    if (age < window) {
        return dedup_verdict::duplicate;
    }
    return age == window ? dedup_verdict::either : dedup_verdict::fresh;
}

const std::string& queue_model::first_id(int q, const std::string& key) const {
    return dedup_[q].at(key).id;
}

void queue_model::remember_dedup(int q, const std::string& key,
                                 const std::string& id, std::int64_t now) {
    if (!key.empty()) {
        dedup_[q][key] = {id, now};
    }
}

void queue_model::enter_queue(model_message& m, int q, std::int64_t now) {
    m.queue = q;
    m.visit = next_visit_++;
    m.last_delivery = 0;
    m.open = false;
    m.visible_at = now;
    m.released_with_delay = false;
    m.order = next_back_++;
    m.floating = queues_[q].fifo;
    m.delivered_here = false;
}

void queue_model::add_sent(model_message m, std::int64_t delay_ms) {
    enter_queue(m, m.queue, m.sent_at);
    m.visible_at = m.sent_at + delay_ms;
    m.floating = false;  // a send joins the tail of its group
    std::string id = m.id;
    messages_.emplace(std::move(id), std::move(m));
}

bool queue_model::in_flight(const model_message& m, std::int64_t now) const {
    return m.open && m.visible_at > now;
}

bool queue_model::is_final_delivery(const model_message& m) const {
    const model_queue& q = queues_[m.queue];
    return q.dlq >= 0 && m.receive_count >= q.max_receives;
}

bool queue_model::awaiting_dead_letter(const model_message& m,
                                       std::int64_t now) const {
    return m.open && m.visible_at <= now && is_final_delivery(m);
}

std::vector<std::string> queue_model::awaiting_dead_letter(
    std::int64_t now) const {
    std::vector<std::string> out;
    for (const auto& [id, m] : messages_) {
        if (awaiting_dead_letter(m, now)) {
            out.push_back(id);
        }
    }
    return out;
}

std::vector<const model_message*> queue_model::group_members(
    int q, const std::string& group) const {
    std::vector<const model_message*> out;
    for (const auto& [id, m] : messages_) {
        if (m.queue == q && m.group == group) {
            out.push_back(&m);
        }
    }
    std::sort(out.begin(), out.end(),
              [](auto* a, auto* b) { return a->order < b->order; });
    return out;
}

// A group hands out nothing while one of its messages is in flight or
// delayed. Otherwise its head goes out: a message delivered in this visit
// is the head for certain (it was the head when delivered, and a release
// or timeout puts it back there); failing that, the oldest sent message or
// any floating one. A message waiting for its dead-letter move may still
// hold the group or not, so such a group may or may not hand one out.
group_expectation queue_model::judge_group(int q, const std::string& group,
                                           std::int64_t now) const {
    group_expectation g;
    bool awaiting = false;
    std::vector<const model_message*> live;
    for (const model_message* m : group_members(q, group)) {
        if (awaiting_dead_letter(*m, now)) {
            awaiting = true;
        } else if (m->visible_at > now) {
            g.blocked = true;
        } else {
            live.push_back(m);
        }
    }
    if (g.blocked) {
        return g;
    }

    auto anchored = std::find_if(live.begin(), live.end(),
                                 [](auto* m) { return m->delivered_here; });
    if (anchored != live.end()) {
        g.candidates.insert((*anchored)->id);
    } else {
        bool oldest_taken = false;
        for (const model_message* m : live) {
            if (m->floating || !oldest_taken) {
                g.candidates.insert(m->id);
                oldest_taken = oldest_taken || !m->floating;
            }
        }
    }
    if (!g.candidates.empty()) {
        g.must = !awaiting;
        g.optional = awaiting;
    }
    return g;
}

receive_expectation queue_model::expect_receive(int q, std::int64_t now) const {
    receive_expectation e;
    for (const auto& [id, m] : messages_) {
        if (m.queue != q) {
            if (queues_[m.queue].dlq == q && awaiting_dead_letter(m, now)) {
                ++e.lazily_moved;
            }
            continue;
        }
        if (!queues_[q].fifo) {
            if (m.visible_at <= now && !awaiting_dead_letter(m, now)) {
                e.visible.insert(id);
            }
        } else if (!e.groups.contains(m.group)) {
            e.groups[m.group] = judge_group(q, m.group, now);
        }
    }
    return e;
}

state_set queue_model::allowed_states(const model_message& m,
                                      std::int64_t now) const {
    if (in_flight(m, now)) {
        return kInFlight;
    }
    if (awaiting_dead_letter(m, now)) {
        return kAnyState;
    }
    if (!queues_[m.queue].fifo) {
        if (m.visible_at > now) {
            return m.released_with_delay ? (kDelayed | kInFlight) : kDelayed;
        }
        return kVisible;
    }

    // FIFO: "held" is defined as waiting behind an in-flight or delayed
    // message of the group; whether a message waiting behind a visible
    // head counts as visible or held is left open.
    if (m.visible_at > now) {
        // Released with a delay: the head waits for it (see release).
        return kDelayed | kHeld | (m.released_with_delay ? kInFlight : 0);
    }
    group_expectation g = judge_group(m.queue, m.group, now);
    if (g.blocked) {
        return kHeld;
    }
    if (g.must && g.candidates.size() == 1 && g.candidates.contains(m.id)) {
        return kVisible;
    }
    return kVisible | kHeld;
}

count_expectation queue_model::expect_counts(int q, std::int64_t now) const {
    count_expectation c;
    auto add = [](count_range& r, state_set allowed, state_set state) {
        r.low += allowed == state;
        r.high += (allowed & state) != 0;
    };
    for (const model_message* m : in_queue(q)) {
        state_set allowed = allowed_states(*m, now);
        add(c.visible, allowed, kVisible);
        add(c.in_flight, allowed, kInFlight);
        add(c.delayed, allowed, kDelayed);
        add(c.held, allowed, kHeld);
        ++c.total;
    }
    return c;
}

void queue_model::deliver(const std::string& id, const std::string& receipt,
                          std::int64_t visibility_ms, std::int64_t now) {
    model_message& m = messages_.at(id);
    ++m.receive_count;
    m.open = true;
    m.visible_at = now + visibility_ms;
    m.released_with_delay = false;
    m.last_delivery = next_delivery_++;
    receipts_.push_back({receipt, id, m.queue, m.visit, m.last_delivery});
    if (queues_[m.queue].fifo) {
        // Delivered, it is its group's head until it is gone.
        m.delivered_here = true;
        m.floating = false;
        m.order = next_front_--;
    }
}

void queue_model::remove(const std::string& id) {
    gone_[id] = messages_.at(id).queue;
    messages_.erase(id);
}

bool queue_model::release(const std::string& id, std::int64_t delay_ms,
                          std::int64_t now) {
    model_message& m = messages_.at(id);
    m.open = false;
    if (is_final_delivery(m)) {
        dead_letter(id, now);
        return true;
    }
    m.visible_at = now + delay_ms;
    m.released_with_delay = delay_ms > 0;
    return false;
}

void queue_model::extend(const std::string& id, std::int64_t visibility_ms,
                         std::int64_t now) {
    messages_.at(id).visible_at = now + visibility_ms;
}

void queue_model::dead_letter(const std::string& id, std::int64_t now) {
    model_message& m = messages_.at(id);
    m.source_queue = queues_[m.queue].name;
    m.source_known = true;
    enter_queue(m, queues_[m.queue].dlq, now);
}

// Redrive moves what is not in flight. Without `to` it skips a message
// that has no source queue or whose source is of the other kind; on a
// FIFO queue it also skips one while the oldest message of its group is
// in flight. Whether a timed-out delivery counts as in flight, and
// whether "its group" means the group in the target queue or in the
// dead-letter queue, is not said, so those cases may go either way.
std::vector<redrive_entry> queue_model::plan_redrive(int dlq,
                                                     const std::string& to,
                                                     std::int64_t now) const {
    std::vector<redrive_entry> plan;
    for (const model_message* m : in_queue(dlq)) {
        redrive_entry e{m->id, -1, redrive_verdict::must_stay};
        const std::string& target = to.empty() ? m->source_queue : to;
        e.target = target.empty() ? -1 : queue_index(target);
        if (e.target < 0 || queues_[e.target].fifo != queues_[dlq].fifo ||
            in_flight(*m, now)) {
            plan.push_back(e);
            continue;
        }
        bool group_busy = false;
        if (queues_[dlq].fifo) {
            for (const auto& [id, other] : messages_) {
                group_busy = group_busy ||
                             (id != m->id && other.group == m->group &&
                              (other.queue == dlq || other.queue == e.target) &&
                              other.open);
            }
        }
        e.verdict = m->open || group_busy ? redrive_verdict::may_move
                                          : redrive_verdict::must_move;
        plan.push_back(e);
    }
    return plan;
}

void queue_model::redriven(const std::string& id, int target,
                           std::int64_t now) {
    model_message& m = messages_.at(id);
    m.receive_count = 0;
    ++m.redrive_count;
    m.source_known = false;
    enter_queue(m, target, now);
}

std::int64_t queue_model::purge(int q) {
    std::vector<std::string> ids;
    for (const model_message* m : in_queue(q)) {
        ids.push_back(m->id);
    }
    for (const auto& id : ids) {
        remove(id);
    }
    return static_cast<std::int64_t>(ids.size());
}

receipt_kind queue_model::classify(const receipt_record& r,
                                   std::int64_t now) const {
    auto it = messages_.find(r.id);
    if (it == messages_.end() || it->second.queue != r.queue) {
        return receipt_kind::gone;
    }
    const model_message& m = it->second;
    if (m.visit != r.visit) {
        return receipt_kind::stale_or_gone;
    }
    if (r.delivery < m.last_delivery) {
        return receipt_kind::stale;
    }
    return in_flight(m, now) ? receipt_kind::current : receipt_kind::ended;
}

}  // namespace dmq::test
