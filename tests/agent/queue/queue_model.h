// A small in-memory model of the queue semantics of docs/protocol.md, used
// by the randomized test in model_test.cpp to say what the engine may
// answer: what each queue holds, which messages a receive may hand out,
// what a receipt may still do, which states `show` and `info` may report,
// what a dedup id or a redrive must do.
//
// It is written from the protocol, not from the engine, and it must stay
// so: a model that copies the implementation agrees with its bugs. Where
// the protocol leaves a choice open (the place a moved message takes in its
// FIFO group, the state of a message whose last delivery timed out before
// the sweep moved it), the model allows every reading and the test follows
// whichever one the engine reports.
//
// Time is whatever the caller says it is; nothing here reads a clock.

#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace dmq::test {

// A set of message states, one bit per queue::message_state.
using state_set = unsigned;
constexpr state_set kVisible = 1;
constexpr state_set kInFlight = 2;
constexpr state_set kDelayed = 4;
constexpr state_set kHeld = 8;
constexpr state_set kAnyState = 15;

struct model_queue {
    std::string name;
    bool fifo = false;
    bool content_dedup = false;
    int dlq = -1;  // index of the dead-letter queue, or -1
    std::uint32_t max_receives = 0;
    std::int64_t visibility_ms = 30'000;
    std::int64_t dedup_window_ms = 300'000;
};

struct model_message {
    std::string id;
    std::string body;
    std::string attributes;
    std::string group;
    std::string dedup_id;     // as sent; empty when none was given
    bool body_dedup = false;  // deduplicated by the hash of its body
    int priority = 4;
    std::int64_t sent_at = 0;

    int queue = 0;
    std::uint32_t receive_count = 0;
    std::uint32_t redrive_count = 0;
    std::string source_queue;  // set by a dead-letter move
    // After a redrive the protocol does not say whether source_queue is
    // kept, so it is only checked while this is true.
    bool source_known = true;

    // A visit starts whenever the message enters a queue (send, dead-letter
    // move, redrive); receipts of an earlier visit are not current.
    std::uint64_t visit = 0;
    std::uint64_t last_delivery = 0;  // latest delivery of this visit, or 0

    // A delivery is open from the receive until its ack or release; it may
    // have timed out meanwhile. visible_at: when a receive may take it.
    bool open = false;
    std::int64_t visible_at = 0;
    // Released with a delay: `delayed` and `in_flight` both fit it.
    bool released_with_delay = false;

    // FIFO place: lower `order` is nearer the head of the group. A message
    // moved in (dead-letter move, redrive) is `floating`: the protocol does
    // not say where it joins its group, so it may come before any message
    // that was never delivered. Once delivered it is the group's head.
    std::int64_t order = 0;
    bool floating = false;
    bool delivered_here = false;  // delivered during this visit
};

struct receipt_record {
    std::string receipt;
    std::string id;
    int queue = 0;
    std::uint64_t visit = 0;
    std::uint64_t delivery = 0;
};

enum class receipt_kind {
    current,        // its delivery is in flight: every use must succeed
    ended,          // timed out or released, not received since: unclear
    stale,          // the message was received again since: STALE_RECEIPT
    stale_or_gone,  // the message left the queue and came back
    gone,           // the message is not in the receipt's queue
};

enum class dedup_verdict { fresh, duplicate, either };

// What a receive on one FIFO group may do.
struct group_expectation {
    bool blocked = false;   // a message of the group is in flight
    bool must = false;      // the group has a message that must go out
    bool optional = false;  // it may or may not hand one out
    std::set<std::string> candidates;
};

// What a receive on a queue may return, judged before the call.
struct receive_expectation {
    // Standard queue: every message that is visible now.
    std::set<std::string> visible;
    // FIFO queue: by group.
    std::map<std::string, group_expectation> groups;
    // Final deliveries of the queues this one is the dead-letter queue of
    // that timed out: an engine that moves them lazily may hand them out.
    std::int64_t lazily_moved = 0;
};

struct count_range {
    std::int64_t low = 0;
    std::int64_t high = 0;
};

// Counts `info` may report for a queue: each state within its range, and
// the states together exactly `total`.
struct count_expectation {
    count_range visible, in_flight, delayed, held;
    std::int64_t total = 0;
};

enum class redrive_verdict { must_move, may_move, must_stay };

struct redrive_entry {
    std::string id;
    int target = -1;
    redrive_verdict verdict = redrive_verdict::must_stay;
};

class queue_model {
public:
    explicit queue_model(std::vector<model_queue> queues);

    const std::vector<model_queue>& queues() const { return queues_; }
    int queue_index(std::string_view name) const;  // -1 when unknown

    // Messages: every one the model holds, by id.
    const std::map<std::string, model_message>& messages() const {
        return messages_;
    }
    model_message* find(const std::string& id);
    std::vector<const model_message*> in_queue(int q) const;
    // Ids that were acked or purged, with the queue they were last in.
    const std::map<std::string, int>& gone() const { return gone_; }
    bool ever_seen(const std::string& id) const;

    // Dedup: the key a send is judged by ("" when it has none), and what a
    // send with that key at `now` must do.
    std::string dedup_key(int q, const std::string& dedup_id,
                          const std::string& body) const;
    dedup_verdict judge_dedup(int q, const std::string& key,
                              std::int64_t now) const;
    const std::string& first_id(int q, const std::string& key) const;
    void remember_dedup(int q, const std::string& key, const std::string& id,
                        std::int64_t now);

    // A stored send; sets visit, order and visible_at (from `delay_ms`).
    void add_sent(model_message m, std::int64_t delay_ms);

    bool in_flight(const model_message& m, std::int64_t now) const;
    // Its last allowed delivery timed out and no sweep has moved it yet.
    bool awaiting_dead_letter(const model_message& m, std::int64_t now) const;
    std::vector<std::string> awaiting_dead_letter(std::int64_t now) const;
    bool is_final_delivery(const model_message& m) const;

    receive_expectation expect_receive(int q, std::int64_t now) const;
    state_set allowed_states(const model_message& m, std::int64_t now) const;
    count_expectation expect_counts(int q, std::int64_t now) const;

    // State changes, applied once the engine has agreed.
    void deliver(const std::string& id, const std::string& receipt,
                 std::int64_t visibility_ms, std::int64_t now);
    void remove(const std::string& id);  // acked or purged
    // Returns true when the release moved the message to the DLQ.
    bool release(const std::string& id, std::int64_t delay_ms,
                 std::int64_t now);
    void extend(const std::string& id, std::int64_t visibility_ms,
                std::int64_t now);
    void dead_letter(const std::string& id, std::int64_t now);
    std::vector<redrive_entry> plan_redrive(int dlq, const std::string& to,
                                            std::int64_t now) const;
    void redriven(const std::string& id, int target, std::int64_t now);
    std::int64_t purge(int q);

    const std::vector<receipt_record>& receipts() const { return receipts_; }
    receipt_kind classify(const receipt_record& r, std::int64_t now) const;

private:
    struct dedup_entry {
        std::string id;
        std::int64_t at = 0;
    };

    void enter_queue(model_message& m, int q, std::int64_t now);
    std::vector<const model_message*> group_members(
        int q, const std::string& group) const;
    group_expectation judge_group(int q, const std::string& group,
                                  std::int64_t now) const;

    std::vector<model_queue> queues_;
    std::map<std::string, model_message> messages_;
    std::map<std::string, int> gone_;
    std::vector<std::map<std::string, dedup_entry>> dedup_;
    std::vector<receipt_record> receipts_;
    std::uint64_t next_visit_ = 1;
    std::uint64_t next_delivery_ = 1;
    std::int64_t next_back_ = 1;    // order for messages joining a group
    std::int64_t next_front_ = -1;  // order for a group's delivered head
};

}  // namespace dmq::test
