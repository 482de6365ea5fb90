// A model-based randomized test of the queue engine. Thousands of random
// operations (sends with priorities, delays, groups and dedup ids;
// receives, acks, releases and extends, with stale receipts among them;
// clock steps, sweeps, redrives, purges and restarts) run against a real
// engine on a temp directory and against the model in queue_model.h, and
// after every step the engine's answers and counts must be ones the model
// allows. The test owns time: every call gets `now` from it.
//
// Replay: a failure prints its seed and step; run
//   DMQ_MODEL_SEED=<seed> DMQ_MODEL_STEPS=<step> unit_tests "[model]"
// to repeat exactly that run, stopping at the failing step (the
// operations repeat exactly; message ids differ, as each queue gets a
// random incarnation). Without DMQ_MODEL_SEED the test runs a few fixed
// seeds and one random seed, which it prints. DMQ_MODEL_SEED may list
// several seeds, comma-separated; DMQ_MODEL_STATS=1 prints what each run
// covered (deliveries, dead-letter moves, redrives and so on).

#include "agent/queue/queue_engine.h"
#include "tests/agent/queue/queue_model.h"
#include "tests/agent/test_dir.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <random>
#include <sstream>

using namespace dmq::queue;
using namespace dmq::test;
using dmq::errc;

namespace {

constexpr std::int64_t kEpoch = 1'700'000'000'000;
constexpr std::size_t kHistory = 20;
constexpr int kDefaultSteps = 4'000;
// Request ids are remembered for 10 minutes; retries stay well inside.
constexpr std::int64_t kRetryWindowMs = 5 * 60'000;
// Only the latest receipts are used again; older ones are long stale.
constexpr std::size_t kReceiptsInPlay = 400;

struct model_violation {
    std::string what;
};

// Fails the run with `what` unless `ok`; `what` is only built on failure,
// since most checks pass and many run at every step.
#define MODEL_CHECK(ok, what)              \
    do {                                   \
        if (!(ok)) {                       \
            throw model_violation{(what)}; \
        }                                  \
    } while (false)

enum queue_slot { kStd, kStdDlq, kFifo, kFifoContent, kFifoDlq, kQueues };

// Short visibility and dedup windows, so that timeouts, dead-letter moves
// and window ends happen every few steps.
std::vector<model_queue> queue_setup() {
    std::vector<model_queue> q(kQueues);
    q[kStd] = {"std", false, false, kStdDlq, 2, 1'000, 2'000};
    q[kStdDlq] = {"std-dlq", false, false, -1, 0, 1'500, 2'000};
    q[kFifo] = {"fifo", true, false, kFifoDlq, 3, 1'000, 2'000};
    q[kFifoContent] = {"fifo-cd", true, true, kFifoDlq, 2, 800, 2'000};
    q[kFifoDlq] = {"fifo-dlq", true, false, -1, 0, 1'500, 2'000};
    return q;
}

// A msgpack map of short strings, as a client would send it.
std::string encode_attributes(
    const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string out(1, static_cast<char>(0x80 | entries.size()));
    for (const auto& [key, value] : entries) {
        out += static_cast<char>(0xa0 | key.size());
        out += key;
        out += static_cast<char>(0xa0 | value.size());
        out += value;
    }
    return out;
}

bool same_attributes(const std::string& a, const std::string& b) {
    auto empty = [](const std::string& s) { return s.empty() || s == "\x80"; };
    return a == b || (empty(a) && empty(b));
}

bool is_hex(const std::string& s, std::size_t length) {
    return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

state_set state_bit(message_state s) {
    switch (s) {
        case message_state::visible:
            return kVisible;
        case message_state::in_flight:
            return kInFlight;
        case message_state::delayed:
            return kDelayed;
        case message_state::held:
            return kHeld;
    }
    return 0;
}

std::string describe_states(state_set s) {
    std::string out;
    for (auto [bit, name] : {std::pair{kVisible, "visible"},
                             {kInFlight, "in_flight"},
                             {kDelayed, "delayed"},
                             {kHeld, "held"}}) {
        if (s & bit) {
            out += out.empty() ? name : std::string("|") + name;
        }
    }
    return out;
}

std::string joined(const std::set<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += " " + item;
    }
    return out;
}

std::string range_text(const count_range& r) {
    return r.low == r.high
               ? std::to_string(r.low)
               : std::to_string(r.low) + ".." + std::to_string(r.high);
}

struct sent_request {
    std::string id;
    int queue = 0;
    std::vector<outgoing_message> batch;
    std::vector<sent_message> reply;
    std::int64_t at = 0;
};

enum class op {
    send,
    receive,
    ack,
    release,
    extend,
    show,
    peek,
    retry,
    redrive,
    purge,
    clock,
    sweep,
    restart,
};

// One run of one seed: the engine, the model, the clock and the history
// of what was done, for the report.
class model_run {
public:
    model_run(std::uint64_t seed, int steps)
        : seed_(seed), steps_(steps), rng_(seed), model_(queue_setup()) {}

    // Returns the report of the first disagreement, or nothing.
    std::optional<std::string> run();

private:
    // Setup and engine lifecycle.
    void open_engine();
    void create_queues();
    void commit();
    void restart();

    // Steps and their operations.
    void step();
    op choose_op();
    void do_op(op o);
    void send_op();
    void receive_op();
    void ack_op();
    void release_op();
    void extend_op();
    void show_op();
    void peek_op();
    void retry_op();
    void redrive_op();
    void purge_op();
    void clock_op();
    void sweep_op();

    // Sends.
    outgoing_message make_message(int q);
    std::string make_attributes();
    void apply_sent(int q, const outgoing_message& out,
                    const sent_message& got);

    // Receives.
    std::vector<delivered_message> receive_and_check(
        int q, std::int64_t max, std::optional<std::int64_t> visibility);
    void check_standard_receive(int q, std::int64_t max,
                                const receive_expectation& expected,
                                const std::vector<delivered_message>& got,
                                bool peek);
    void check_fifo_receive(int q, std::int64_t max,
                            const receive_expectation& expected,
                            const std::vector<delivered_message>& got,
                            bool peek);
    model_message& delivered_from(int q, const delivered_message& d, bool peek,
                                  bool& exempt);
    void check_fields(const delivered_message& d, const model_message& m,
                      std::uint32_t receive_count, const std::string& where);

    // Receipts.
    std::optional<receipt_record> choose_receipt(bool allow_ended);
    bool check_receipt_answer(receipt_kind kind, const dmq::status& st,
                              const std::string& what);

    // Redrive.
    std::string redrive_target(int dlq);
    void settle_redrive(int dlq, const std::vector<redrive_entry>& plan,
                        std::int64_t moved, bool done);

    // Dead-letter moves the model learns of.
    void dead_letter(const std::string& id);
    void resolve_dead_letters();

    // Checks after each step.
    void check_counters(int q, const dmq::index::queue_counters& got);
    void check_counts();
    void check_message(const model_message& m, bool everywhere);
    void check_not_in(int q, const std::string& id, const std::string& why);
    void check_all_messages(bool everywhere);
    void drain_and_check_empty();

    // Helpers.
    const std::string& name(int q) const { return model_.queues()[q].name; }
    std::string message_group(const std::string& id) const {
        auto it = model_.messages().find(id);
        return it == model_.messages().end() ? "" : it->second.group;
    }
    const model_queue& queue(int q) const { return model_.queues()[q]; }
    int pick(int low, int high) {
        return std::uniform_int_distribution<int>(low, high)(rng_);
    }
    bool chance(double p) {
        return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
    }
    template <typename T>
    const T& pick_from(const std::vector<T>& v) {
        return v[static_cast<std::size_t>(pick(0, int(v.size()) - 1))];
    }
    int pick_queue(std::initializer_list<int> weights);
    void note(const std::string& line);
    void note_result(const std::string& text);
    std::string describe(const std::vector<delivered_message>& got) const;
    std::string explain(const std::string& id) const;
    std::string explain_group(const std::string& group) const;
    std::string explain_queue(int q) const;
    std::string report(const std::string& what) const;
    void tally(const std::string& what, std::int64_t n = 1) {
        tallies_[what] += n;
    }
    void print_tallies() const;

    std::uint64_t seed_;
    int steps_;
    int step_ = 0;
    std::mt19937_64 rng_;
    dmq::test::test_dir dir_;
    std::unique_ptr<queue_engine> engine_;
    queue_model model_;
    std::int64_t now_ = kEpoch;
    std::deque<std::string> history_;
    std::set<std::string> touched_;  // show-checked after the step
    bool full_check_due_ = false;
    std::vector<sent_request> requests_;
    std::uint64_t counter_ = 0;
    std::map<std::string, std::int64_t> tallies_;  // what the run covered
    // Counters `info` must report, and the moves whose counting is unclear.
    std::vector<dmq::index::queue_counters> counters_ =
        std::vector<dmq::index::queue_counters>(kQueues);
    std::vector<std::int64_t> dead_lettered_by_release_ =
        std::vector<std::int64_t>(kQueues);
    std::vector<std::int64_t> redriven_in_ = std::vector<std::int64_t>(kQueues);
};

std::optional<std::string> model_run::run() {
    try {
        open_engine();
        create_queues();
        for (step_ = 1; step_ <= steps_; ++step_) {
            step();
        }
        drain_and_check_empty();
        print_tallies();
    } catch (const model_violation& v) {
        return report(v.what);
    } catch (const std::exception& e) {
        return report(std::string("exception in the test: ") + e.what());
    }
    return std::nullopt;
}

void model_run::open_engine() {
    recovery_summary summary;
    // Small segments, so that segments roll and are removed while moved
    // messages still point into them.
    auto engine =
        queue_engine::open({dir_.path(), 32 << 10}, dmq::test::test_logger(),
                           dmq::test::test_logger(), summary);
    MODEL_CHECK(
        engine.is_ok(),
        "open: " + (engine.is_ok() ? std::string() : engine.error().message()));
    engine_ = std::move(*engine);
}

void model_run::create_queues() {
    // Dead-letter queues first: a queue may only name one that exists.
    for (int q : {kStdDlq, kFifoDlq, kStd, kFifo, kFifoContent}) {
        const model_queue& spec = queue(q);
        config_change c;
        c.visibility_ms = spec.visibility_ms;
        c.fifo = spec.fifo;
        c.dedup_window_ms = spec.dedup_window_ms;
        if (spec.content_dedup) {
            c.content_dedup = true;
        }
        if (spec.dlq >= 0) {
            c.dlq = name(spec.dlq);
            c.max_receives = spec.max_receives;
        }
        auto made = engine_->create_queue(spec.name, c, now_);
        MODEL_CHECK(made.is_ok(),
                    "create " + spec.name + ": " +
                        (made.is_ok() ? "" : made.error().message()));
    }
}

void model_run::commit() {
    dmq::status st = engine_->commit_batch();
    MODEL_CHECK(st.is_ok(), "commit_batch: " + st.message());
}

void model_run::restart() {
    note("restart");
    tally("restarts");
    commit();
    engine_.reset();
    open_engine();
    full_check_due_ = true;
}

// One step: one operation, or a few that share a batch (as requests do in
// one turn of the agent's loop), then the commit and the checks.
void model_run::step() {
    op first = choose_op();
    bool alone =
        first == op::clock || first == op::sweep || first == op::restart;
    int count = !alone && chance(0.25) ? pick(2, 4) : 1;
    for (int i = 0; i < count; ++i) {
        op o = i == 0 ? first : choose_op();
        if (i > 0 && (o == op::clock || o == op::sweep || o == op::restart)) {
            o = op::receive;
        }
        resolve_dead_letters();
        do_op(o);
    }
    commit();
    auto& most = tallies_["most messages stored"];
    most = std::max<std::int64_t>(most, model_.messages().size());

    resolve_dead_letters();
    check_counts();
    for (const auto& id : touched_) {
        if (const model_message* m = model_.find(id)) {
            check_message(*m, false);
        }
    }
    if (full_check_due_ || step_ % 10 == 0) {
        check_all_messages(full_check_due_ || step_ % 50 == 0);
    }
    touched_.clear();
    full_check_due_ = false;
}

// Relative weights; sends slow down when many messages are stored, so
// that the queues stay small enough for FIFO groups and checks to matter.
op model_run::choose_op() {
    std::size_t live = model_.messages().size();
    int send = live > 120 ? 20 : live > 60 ? 110 : 220;
    std::vector<std::pair<op, int>> weights = {
        {op::send, send},  {op::receive, 220}, {op::ack, 160},
        {op::release, 60}, {op::extend, 50},   {op::show, 30},
        {op::peek, 20},    {op::retry, 20},    {op::redrive, 25},
        {op::purge, 4},    {op::clock, 130},   {op::sweep, 40},
        {op::restart, 10},
    };
    int total = 0;
    for (auto& w : weights) {
        total += w.second;
    }
    int roll = pick(0, total - 1);
    for (auto& [o, w] : weights) {
        if (roll < w) {
            return o;
        }
        roll -= w;
    }
    return op::receive;
}

void model_run::do_op(op o) {
    switch (o) {
        case op::send:
            return send_op();
        case op::receive:
            return receive_op();
        case op::ack:
            return ack_op();
        case op::release:
            return release_op();
        case op::extend:
            return extend_op();
        case op::show:
            return show_op();
        case op::peek:
            return peek_op();
        case op::retry:
            return retry_op();
        case op::redrive:
            return redrive_op();
        case op::purge:
            return purge_op();
        case op::clock:
            return clock_op();
        case op::sweep:
            return sweep_op();
        case op::restart:
            return restart();
    }
}

int model_run::pick_queue(std::initializer_list<int> weights) {
    int total = 0;
    for (int w : weights) {
        total += w;
    }
    int roll = pick(0, total - 1);
    int q = 0;
    for (int w : weights) {
        if (roll < w) {
            return q;
        }
        roll -= w;
        ++q;
    }
    return 0;
}

// ---- sends ----

std::string model_run::make_attributes() {
    if (chance(0.5)) {
        return "";
    }
    std::vector<std::pair<std::string, std::string>> entries;
    entries.emplace_back("kind", "k" + std::to_string(pick(0, 99)));
    if (chance(0.3)) {
        entries.emplace_back("x_1", std::string(pick(0, 20), 'v'));
    }
    return encode_attributes(entries);
}

// Bodies are unique except on the content-dedup queue, where a small pool
// makes repeats of the same body (and so of its hash) common.
outgoing_message model_run::make_message(int q) {
    outgoing_message m;
    m.attributes = make_attributes();
    if (q == kFifoContent) {
        m.body = "c" + std::to_string(pick(0, 7));
    } else {
        // Now and then a larger body, so that segments fill and roll.
        std::size_t padding = chance(0.05) ? pick(2'000, 6'000) : pick(0, 60);
        m.body = "m" + std::to_string(++counter_) + std::string(padding, '.');
    }
    if (queue(q).fifo) {
        m.group = "g" + std::to_string(pick(0, 3));
        if (chance(q == kFifoContent ? 0.2 : 0.4)) {
            m.dedup_id = "k" + std::to_string(pick(0, 5));
        }
        return m;
    }
    if (chance(0.6)) {
        m.priority = pick(0, 9);
    }
    if (chance(0.25)) {
        m.delay_ms = pick(100, 3'000);
    } else if (chance(0.1)) {
        m.delay_ms = 0;
    }
    if (chance(0.35)) {
        m.dedup_id = "k" + std::to_string(pick(0, 5));
    }
    return m;
}

void model_run::send_op() {
    int q = pick_queue({40, 8, 25, 20, 7});
    std::vector<outgoing_message> batch;
    int count = chance(0.8) ? 1 : pick(2, 3);
    std::ostringstream line;
    line << "send " << name(q);
    for (int i = 0; i < count; ++i) {
        batch.push_back(make_message(q));
        const auto& m = batch.back();
        line << " [" << m.body.substr(0, 8) << " g=" << m.group
             << " k=" << m.dedup_id
             << " p=" << (m.priority ? std::to_string(*m.priority) : "-")
             << " d=" << (m.delay_ms ? std::to_string(*m.delay_ms) : "-")
             << "]";
    }
    std::string request_id;
    if (chance(0.3)) {
        request_id =
            "req-" + std::to_string(seed_) + "-" + std::to_string(++counter_);
        line << " req=" << request_id;
    }
    note(line.str());

    auto got = engine_->send(name(q), request_id, batch, now_);
    MODEL_CHECK(got.is_ok(),
                "send failed: " + (got.is_ok() ? "" : got.error().message()));
    MODEL_CHECK(got->size() == batch.size(),
                "send returned " + std::to_string(got->size()) + " ids for " +
                    std::to_string(batch.size()));
    std::string result = "->";
    for (const auto& s : *got) {
        result += " " + s.id + (s.duplicate ? "(dup)" : "");
    }
    note_result(result);
    for (std::size_t i = 0; i < batch.size(); ++i) {
        apply_sent(q, batch[i], (*got)[i]);
    }
    if (!request_id.empty()) {
        requests_.push_back({request_id, q, batch, *got, now_});
    }
}

// A send is judged message by message in request order, so a repeat of an
// earlier message of the same request is a duplicate too.
void model_run::apply_sent(int q, const outgoing_message& out,
                           const sent_message& got) {
    std::string key = model_.dedup_key(q, out.dedup_id, out.body);
    dedup_verdict verdict = model_.judge_dedup(q, key, now_);
    if (got.duplicate) {
        MODEL_CHECK(verdict != dedup_verdict::fresh,
                    "send to " + name(q) + " reported " + got.id +
                        " as a duplicate, but its dedup key '" + key +
                        "' was not seen inside the window");
        MODEL_CHECK(got.id == model_.first_id(q, key),
                    "duplicate send to " + name(q) + " returned id " + got.id +
                        ", the first message with key '" + key + "' was " +
                        model_.first_id(q, key));
        tally("sends found duplicate");
        ++counters_[q].duplicates;
        return;
    }
    MODEL_CHECK(verdict != dedup_verdict::duplicate,
                "send to " + name(q) + " stored " + got.id +
                    " although its dedup key '" + key +
                    "' was sent inside the window as " +
                    (key.empty() ? "" : model_.first_id(q, key)));
    MODEL_CHECK(is_hex(got.id, 24), "malformed message id '" + got.id + "'");
    MODEL_CHECK(!model_.ever_seen(got.id), "send reused the id " + got.id);

    model_message m;
    m.id = got.id;
    m.body = out.body;
    m.attributes = out.attributes;
    m.group = out.group;
    m.dedup_id = out.dedup_id;
    m.body_dedup = out.dedup_id.empty() && queue(q).content_dedup;
    m.priority = out.priority.value_or(kDefaultPriority);
    m.sent_at = now_;
    m.queue = q;
    model_.add_sent(std::move(m), out.delay_ms.value_or(0));
    ++counters_[q].sent;
    tally("sends stored");
    model_.remember_dedup(q, key, got.id, now_);
    touched_.insert(got.id);
}

void model_run::retry_op() {
    std::vector<const sent_request*> recent;
    for (const auto& r : requests_) {
        if (now_ - r.at <= kRetryWindowMs) {
            recent.push_back(&r);
        }
    }
    if (recent.empty()) {
        return send_op();
    }
    const sent_request& r = *pick_from(recent);
    note("retry send " + r.id + " to " + name(r.queue));
    auto got = engine_->send(name(r.queue), r.id, r.batch, now_);
    MODEL_CHECK(got.is_ok(), "retried send failed: " +
                                 (got.is_ok() ? "" : got.error().message()));
    bool same = got->size() == r.reply.size();
    std::string first, again;
    for (std::size_t i = 0; i < r.reply.size(); ++i) {
        first += " " + r.reply[i].id + (r.reply[i].duplicate ? "(dup)" : "");
        if (same) {
            same = (*got)[i].id == r.reply[i].id &&
                   (*got)[i].duplicate == r.reply[i].duplicate;
        }
    }
    for (const auto& s : *got) {
        again += " " + s.id + (s.duplicate ? "(dup)" : "");
    }
    note_result("->" + again);
    MODEL_CHECK(same, "a retried send (request " + r.id +
                          ") must get the first reply again: first" + first +
                          ", now" + again);
}

// ---- receives ----

void model_run::receive_op() {
    int q = pick_queue({35, 10, 25, 20, 10});
    std::int64_t max = pick(1, 5);
    std::optional<std::int64_t> visibility;
    if (chance(0.5)) {
        visibility = chance(0.08) ? 0 : pick(200, 2'500);
    }
    note("receive " + name(q) + " max=" + std::to_string(max) +
         " vis=" + (visibility ? std::to_string(*visibility) : "default"));
    receive_and_check(q, max, visibility);
}

std::vector<delivered_message> model_run::receive_and_check(
    int q, std::int64_t max, std::optional<std::int64_t> visibility) {
    receive_expectation expected = model_.expect_receive(q, now_);
    auto got = engine_->receive(name(q), max, visibility, now_);
    MODEL_CHECK(got.is_ok(), "receive failed: " +
                                 (got.is_ok() ? "" : got.error().message()));
    note_result(describe(*got));
    if (queue(q).fifo) {
        check_fifo_receive(q, max, expected, *got, false);
    } else {
        check_standard_receive(q, max, expected, *got, false);
    }
    std::int64_t vis = visibility.value_or(queue(q).visibility_ms);
    for (const auto& d : *got) {
        MODEL_CHECK(!d.receipt.empty(), "receive gave " + d.id + " no receipt");
        model_.deliver(d.id, d.receipt, vis, now_);
        ++counters_[q].received;
        tally("deliveries");
        touched_.insert(d.id);
    }
    return *got;
}

// The model entry of a message a receive or peek returned, and whether it
// is exempt from the visibility and order checks: a message the model
// still has in a queue whose dead-letter queue is `q`, waiting for its
// move, may come from `q` if the engine moved it on its own.
model_message& model_run::delivered_from(int q, const delivered_message& d,
                                         bool peek, bool& exempt) {
    model_message* m = model_.find(d.id);
    MODEL_CHECK(m != nullptr, name(q) + " handed out " + d.id +
                                  ", which the model does not hold (" +
                                  explain(d.id) + ")");
    exempt = model_.awaiting_dead_letter(*m, now_);
    if (m->queue == q) {
        MODEL_CHECK(!exempt, name(q) + " handed out " + d.id +
                                 " again after its last allowed delivery (" +
                                 explain(d.id) + ")");
        return *m;
    }
    MODEL_CHECK(!peek && exempt && queue(m->queue).dlq == q,
                name(q) + " handed out " + d.id + ", which is in " +
                    name(m->queue) + " (" + explain(d.id) + ")");
    dead_letter(d.id);
    tally("dead-lettered by a receive on the DLQ");
    return *m;
}

// Standard queue: nothing handed out may be in flight or delayed; as many
// as asked for (or as are visible) come out; and they go by priority: no
// message returned has a higher number than one that stays behind, and the
// reply lists them with non-decreasing numbers. Ties between equal
// priorities are "best effort" in the protocol, so they are not checked.
void model_run::check_standard_receive(
    int q, std::int64_t max, const receive_expectation& expected,
    const std::vector<delivered_message>& got, bool peek) {
    std::set<std::string> ids;
    int worst = -1;
    int previous = -1;
    for (const auto& d : got) {
        MODEL_CHECK(ids.insert(d.id).second,
                    name(q) + " handed out " + d.id + " twice in one reply");
        bool exempt = false;
        model_message& m = delivered_from(q, d, peek, exempt);
        MODEL_CHECK(exempt || expected.visible.contains(d.id),
                    name(q) + " handed out " + d.id +
                        ", which is not visible (" + explain(d.id) + ")");
        check_fields(d, m, m.receive_count + (peek ? 0 : 1),
                     peek ? "peek" : "receive");
        MODEL_CHECK(d.priority >= previous,
                    name(q) + " listed priority " + std::to_string(d.priority) +
                        " after priority " + std::to_string(previous));
        previous = d.priority;
        if (!exempt) {
            worst = std::max(worst, m.priority);
        }
    }

    std::int64_t visible = static_cast<std::int64_t>(expected.visible.size());
    std::int64_t extra = peek ? 0 : expected.lazily_moved;
    std::int64_t n = static_cast<std::int64_t>(got.size());
    MODEL_CHECK(
        n >= std::min(max, visible) && n <= std::min(max, visible + extra),
        name(q) + " returned " + std::to_string(n) + " messages for max " +
            std::to_string(max) + " with " + std::to_string(visible) +
            " visible\n    " + explain_queue(q));
    for (const auto& id : expected.visible) {
        const model_message* m = model_.find(id);
        MODEL_CHECK(ids.contains(id) || m->priority >= worst,
                    name(q) + " handed out priority " + std::to_string(worst) +
                        " while " + id + " of priority " +
                        std::to_string(m->priority) + " was visible");
    }
}

// FIFO queue: at most one message per group, none from a group with a
// message in flight, and only the head of its group; every group that can
// give one gives one, up to `max`. The order between groups ("by the time
// their head became visible") is not checked.
void model_run::check_fifo_receive(int q, std::int64_t max,
                                   const receive_expectation& expected,
                                   const std::vector<delivered_message>& got,
                                   bool peek) {
    std::set<std::string> ids, groups;
    std::int64_t must = 0, optional = 0;
    for (const auto& [group, g] : expected.groups) {
        must += g.must;
        optional += g.optional;
    }
    for (const auto& d : got) {
        MODEL_CHECK(ids.insert(d.id).second,
                    name(q) + " handed out " + d.id + " twice in one reply");
        bool exempt = false;
        model_message& m = delivered_from(q, d, peek, exempt);
        MODEL_CHECK(groups.insert(m.group).second,
                    name(q) + " handed out two messages of group " + m.group +
                        " in one reply");
        if (!exempt) {
            const group_expectation& g = expected.groups.at(m.group);
            MODEL_CHECK(g.must || g.optional,
                        name(q) + " handed out " + d.id + " of group " +
                            m.group + ", which has a message in flight\n    " +
                            explain_group(m.group));
            MODEL_CHECK(g.candidates.contains(d.id),
                        "FIFO order: " + name(q) + " handed out " + d.id +
                            " of group " + m.group + "; the head is one of" +
                            joined(g.candidates) + "\n    " +
                            explain_group(m.group));
        }
        check_fields(d, m, m.receive_count + (peek ? 0 : 1),
                     peek ? "peek" : "receive");
    }

    std::int64_t extra = peek ? 0 : expected.lazily_moved;
    std::int64_t n = static_cast<std::int64_t>(got.size());
    MODEL_CHECK(
        n >= std::min(max, must) && n <= std::min(max, must + optional + extra),
        name(q) + " returned " + std::to_string(n) + " messages for max " +
            std::to_string(max) + " with " + std::to_string(must) +
            " groups ready (" + std::to_string(optional) + " maybe)");
}

// Fields a message keeps wherever it goes. The protocol lists id,
// attributes, sent_at and receive count for a dead-letter move, and group
// for a redrive; body, priority and dedup id are checked too, as a message
// that changed them on the way would not be the same message.
void model_run::check_fields(const delivered_message& d, const model_message& m,
                             std::uint32_t receive_count,
                             const std::string& where) {
    std::string who = where + " of " + m.id + " in " + name(m.queue) + ": ";
    MODEL_CHECK(d.id == m.id, who + "id " + d.id);
    MODEL_CHECK(d.receive_count == receive_count,
                who + "receive_count " + std::to_string(d.receive_count) +
                    ", expected " + std::to_string(receive_count));
    MODEL_CHECK(d.sent_at == m.sent_at,
                who + "sent_at " + std::to_string(d.sent_at - kEpoch) +
                    ", expected " + std::to_string(m.sent_at - kEpoch));
    MODEL_CHECK(same_attributes(d.attributes, m.attributes),
                who + "attributes");
    MODEL_CHECK(where == "show" || d.body == m.body,
                who + "body '" + d.body + "', expected '" + m.body + "'");
    MODEL_CHECK(queue(m.queue).fifo || d.priority == m.priority,
                who + "priority " + std::to_string(d.priority) + ", expected " +
                    std::to_string(m.priority));
    MODEL_CHECK(d.group == m.group, who + "group '" + d.group + "'");
    if (!m.dedup_id.empty() || !m.body_dedup) {
        MODEL_CHECK(d.dedup_id == m.dedup_id, who + "dedup_id '" + d.dedup_id +
                                                  "', expected '" + m.dedup_id +
                                                  "'");
    } else {
        MODEL_CHECK(d.dedup_id.empty() || is_hex(d.dedup_id, 64),
                    who + "dedup_id '" + d.dedup_id + "' is no SHA-256");
    }
    MODEL_CHECK(!m.source_known || d.source_queue == m.source_queue,
                who + "source_queue '" + d.source_queue + "', expected '" +
                    m.source_queue + "'");
    MODEL_CHECK(d.redrive_count == m.redrive_count,
                who + "redrive_count " + std::to_string(d.redrive_count) +
                    ", expected " + std::to_string(m.redrive_count));
}

void model_run::peek_op() {
    int q = pick_queue({35, 10, 25, 20, 10});
    std::int64_t max = pick(1, 3);
    note("peek " + name(q) + " max=" + std::to_string(max));
    receive_expectation expected = model_.expect_receive(q, now_);
    auto got = engine_->peek(name(q), max, now_);
    MODEL_CHECK(got.is_ok(),
                "peek failed: " + (got.is_ok() ? "" : got.error().message()));
    note_result(describe(*got));
    for (const auto& d : *got) {
        MODEL_CHECK(d.receipt.empty(), "peek gave " + d.id + " a receipt");
    }
    if (queue(q).fifo) {
        check_fifo_receive(q, max, expected, *got, true);
    } else {
        check_standard_receive(q, max, expected, *got, true);
    }
}

// ---- receipts ----

// Mostly receipts of deliveries in flight; now and then a stale one, one
// of a message that is gone, or (for ack) one whose delivery ended.
std::optional<receipt_record> model_run::choose_receipt(bool allow_ended) {
    std::map<receipt_kind, std::vector<const receipt_record*>> by_kind;
    const auto& all = model_.receipts();
    std::size_t from =
        all.size() > kReceiptsInPlay ? all.size() - kReceiptsInPlay : 0;
    for (std::size_t i = from; i < all.size(); ++i) {
        by_kind[model_.classify(all[i], now_)].push_back(&all[i]);
    }
    int roll = pick(0, 99);
    receipt_kind want = roll < 75   ? receipt_kind::current
                        : roll < 84 ? receipt_kind::stale
                        : roll < 92 ? receipt_kind::gone
                        : roll < 95 ? receipt_kind::stale_or_gone
                                    : receipt_kind::ended;
    if (want == receipt_kind::ended && !allow_ended) {
        want = receipt_kind::current;
    }
    if (by_kind[want].empty()) {
        want = receipt_kind::current;
    }
    if (by_kind[want].empty()) {
        return std::nullopt;
    }
    return *pick_from(by_kind[want]);
}

// Returns whether the engine accepted the receipt. A receipt whose
// delivery timed out or was released, with no receive since, is not
// "stale" by the protocol's definition, yet its delivery is over; the
// engine may accept or refuse it.
bool model_run::check_receipt_answer(receipt_kind kind, const dmq::status& st,
                                     const std::string& what) {
    bool stale = st.code() == errc::stale_receipt;
    bool invalid = st.code() == errc::invalid_receipt;
    std::string got =
        st.is_ok() ? "ok" : std::string(dmq::wire_code(st.code()));
    switch (kind) {
        case receipt_kind::current:
            MODEL_CHECK(st.is_ok(), what + ": a current receipt was refused: " +
                                        st.message());
            return true;
        case receipt_kind::stale:
            MODEL_CHECK(stale, what + ": expected STALE_RECEIPT, got " + got);
            return false;
        case receipt_kind::gone:
            MODEL_CHECK(invalid,
                        what + ": expected INVALID_RECEIPT, got " + got);
            return false;
        case receipt_kind::stale_or_gone:
            MODEL_CHECK(
                stale || invalid,
                what + ": expected STALE_RECEIPT or INVALID_RECEIPT, got " +
                    got);
            return false;
        case receipt_kind::ended:
            MODEL_CHECK(st.is_ok() || stale || invalid,
                        what + ": unexpected " + got);
            return st.is_ok();
    }
    return false;
}

void model_run::ack_op() {
    if (chance(0.03)) {
        int q = pick(0, kQueues - 1);
        note("ack " + name(q) + " malformed receipt");
        dmq::status st = engine_->ack(name(q), "not-a-receipt");
        MODEL_CHECK(st.code() == errc::invalid_receipt,
                    "a malformed receipt must be INVALID_RECEIPT");
        return;
    }
    int count = pick(1, 4);
    for (int i = 0; i < count; ++i) {
        auto r = choose_receipt(true);
        if (!r) {
            return;
        }
        receipt_kind kind = model_.classify(*r, now_);
        int q = r->queue;
        if (chance(0.03)) {
            q = (q + pick(1, kQueues - 1)) % kQueues;
            kind = receipt_kind::gone;  // it names no message of q
        }
        std::string what =
            "ack " + name(q) + " " + r->id + " (" + r->receipt + ")";
        note(what);
        dmq::status st = engine_->ack(name(q), r->receipt);
        note_result(st.is_ok() ? "ok" : std::string(dmq::wire_code(st.code())));
        if (check_receipt_answer(kind, st, what)) {
            model_.remove(r->id);
            ++counters_[q].acked;
        }
        tally(st.is_ok() ? "acks ok" : "acks refused");
    }
}

void model_run::release_op() {
    auto r = choose_receipt(false);
    if (!r) {
        return receive_op();
    }
    receipt_kind kind = model_.classify(*r, now_);
    std::int64_t delay = chance(0.4) ? pick(100, 1'500) : 0;
    std::string what = "release " + name(r->queue) + " " + r->id +
                       " delay=" + std::to_string(delay);
    note(what);
    auto released = engine_->release(name(r->queue), r->receipt, delay, now_);
    dmq::status st = released.is_ok() ? dmq::status::ok() : released.error();
    note_result(st.is_ok() ? "ok" : std::string(dmq::wire_code(st.code())));
    if (check_receipt_answer(kind, st, what)) {
        int from = r->queue;
        bool moved = model_.release(r->id, delay, now_);
        MODEL_CHECK(*released == moved,
                    what + ": the engine says it " +
                        (*released ? "dead-lettered" : "released") +
                        " the message, the model the other");
        ++(moved ? dead_lettered_by_release_[from] : counters_[from].released);
        counters_[from].dead_lettered += moved;
        tally(moved ? "dead-lettered by a release" : "released");
        note_result(moved ? "(dead-lettered)" : "");
        touched_.insert(r->id);
    }
}

void model_run::extend_op() {
    auto r = choose_receipt(false);
    if (!r) {
        return receive_op();
    }
    receipt_kind kind = model_.classify(*r, now_);
    std::int64_t visibility = chance(0.1) ? 0 : pick(100, 2'500);
    std::string what = "extend " + name(r->queue) + " " + r->id +
                       " vis=" + std::to_string(visibility);
    note(what);
    auto got = engine_->extend(name(r->queue), r->receipt, visibility, now_);
    dmq::status st = got.is_ok() ? dmq::status::ok() : got.error();
    note_result(st.is_ok() ? "ok" : std::string(dmq::wire_code(st.code())));
    if (check_receipt_answer(kind, st, what)) {
        MODEL_CHECK(*got == now_ + visibility, what + ": visible_at is now+" +
                                                   std::to_string(*got - now_));
        model_.extend(r->id, visibility, now_);
        touched_.insert(r->id);
    }
}

// ---- redrive, purge, clock, sweep, show ----

// Mostly each message's own source; now and then a named queue of the same
// kind, one of the other kind or one that does not exist.
std::string model_run::redrive_target(int dlq) {
    int roll = pick(0, 99);
    bool fifo = queue(dlq).fifo;
    if (roll < 70) {
        return "";
    }
    if (roll < 85) {
        return fifo ? name(chance(0.5) ? kFifo : kFifoContent) : name(kStd);
    }
    if (roll < 95) {
        return fifo ? name(kStd) : name(kFifo);
    }
    return "nope";
}

void model_run::redrive_op() {
    int dlq = chance(0.5) ? kStdDlq : kFifoDlq;
    std::string to = redrive_target(dlq);
    bool one_call = chance(0.2);
    std::vector<redrive_entry> plan = model_.plan_redrive(dlq, to, now_);
    note("redrive " + name(dlq) + " to=" + (to.empty() ? "(source)" : to) +
         (one_call ? " (one call)" : ""));

    // A `to` that does not exist is NOT_FOUND, one of the other kind
    // BAD_REQUEST; either way nothing moves.
    int target = to.empty() ? -1 : model_.queue_index(to);
    std::optional<errc> refusal;
    if (!to.empty() && target < 0) {
        refusal = errc::not_found;
    } else if (!to.empty() && queue(target).fifo != queue(dlq).fifo) {
        refusal = errc::bad_request;
    }
    std::int64_t moved = 0;
    std::uint64_t after = 0;
    bool done = false;
    for (int call = 0; call < 200 && !done; ++call) {
        std::int64_t max = chance(0.3) ? 1'000 : pick(1, 4);
        auto r = engine_->redrive(name(dlq), to, after, max, now_);
        if (refusal || !r.is_ok()) {
            std::string got =
                r.is_ok() ? "ok"
                          : std::string(dmq::wire_code(r.error().code())) +
                                " " + r.error().message();
            note_result(got);
            MODEL_CHECK(
                refusal && !r.is_ok() && r.error().code() == *refusal,
                "redrive of " + name(dlq) + " to '" + to + "': expected " +
                    (refusal ? std::string(dmq::wire_code(*refusal)) : "ok") +
                    ", got " + got);
            break;
        }
        MODEL_CHECK(r->moved >= 0 && r->moved <= max,
                    "redrive moved " + std::to_string(r->moved) + " for max " +
                        std::to_string(max));
        note_result("moved " + std::to_string(r->moved) + " skipped " +
                    std::to_string(r->skipped) + (r->done ? " done" : ""));
        moved += r->moved;
        after = r->cursor;
        done = r->done;
        if (one_call) {
            break;
        }
    }
    MODEL_CHECK(done || one_call || refusal,
                "redrive was not done after 200 calls");
    settle_redrive(dlq, plan, moved, done);
}

// Finds out, with show, which messages the redrive moved, and checks each
// against the plan: a message that had to move moved (once the redrive
// said it was done), one that had to stay stayed, and none was lost.
void model_run::settle_redrive(int dlq, const std::vector<redrive_entry>& plan,
                               std::int64_t moved, bool done) {
    std::int64_t left = 0;
    for (const auto& e : plan) {
        auto in_dlq = engine_->show(name(dlq), e.id, now_);
        if (in_dlq.is_ok()) {
            MODEL_CHECK(!done || e.verdict != redrive_verdict::must_move,
                        "redrive of " + name(dlq) + " said done but left " +
                            e.id + ", which had to move (" + explain(e.id) +
                            ")\n    " + explain_group(message_group(e.id)));
            continue;
        }
        MODEL_CHECK(in_dlq.error().code() == errc::not_found,
                    "show " + e.id + ": " + in_dlq.error().message());
        MODEL_CHECK(e.verdict != redrive_verdict::must_stay,
                    "redrive of " + name(dlq) + " moved " + e.id +
                        ", which it had to skip (" + explain(e.id) + ")");
        auto in_target = engine_->show(name(e.target), e.id, now_);
        MODEL_CHECK(in_target.is_ok(), "redrive lost " + e.id + ": it left " +
                                           name(dlq) + " but is not in " +
                                           name(e.target));
        model_.redriven(e.id, e.target, now_);
        ++counters_[dlq].redriven;
        ++redriven_in_[e.target];
        tally("redriven");
        touched_.insert(e.id);
        ++left;
    }
    MODEL_CHECK(left == moved, "redrive reported " + std::to_string(moved) +
                                   " moved, but " + std::to_string(left) +
                                   " messages left " + name(dlq));
    full_check_due_ = true;
}

void model_run::purge_op() {
    int q = pick(0, kQueues - 1);
    std::int64_t expected =
        static_cast<std::int64_t>(model_.in_queue(q).size());
    note("purge " + name(q));
    auto got = engine_->purge_queue(name(q));
    MODEL_CHECK(got.is_ok(),
                "purge failed: " + (got.is_ok() ? "" : got.error().message()));
    note_result("-> " + std::to_string(*got));
    MODEL_CHECK(*got == expected,
                "purge of " + name(q) + " removed " + std::to_string(*got) +
                    ", the model holds " + std::to_string(expected));
    std::int64_t purged = model_.purge(q);
    tally("purged", purged);
    counters_[q].purged += purged;
    full_check_due_ = true;
}

// Mostly short steps, sometimes past a visibility timeout or a dedup
// window at once, and now and then none at all.
void model_run::clock_op() {
    std::int64_t by = chance(0.15) ? pick(1'000, 3'000) : pick(0, 800);
    now_ += by;
    note("clock +" + std::to_string(by));
}

void model_run::sweep_op() {
    note("sweep");
    dmq::status st = engine_->sweep(now_);
    MODEL_CHECK(st.is_ok(), "sweep failed: " + st.message());
    for (const auto& id : model_.awaiting_dead_letter(now_)) {
        dead_letter(id);
        touched_.insert(id);
        tally("dead-lettered by a sweep");
    }
    full_check_due_ = true;
}

void model_run::show_op() {
    int roll = pick(0, 99);
    const auto& all = model_.messages();
    if (roll < 20 && !model_.gone().empty()) {
        auto it = model_.gone().begin();
        std::advance(it, pick(0, int(model_.gone().size()) - 1));
        note("show " + name(it->second) + " " + it->first + " (gone)");
        check_not_in(it->second, it->first, "it was acked or purged");
        return;
    }
    if (all.empty()) {
        return;
    }
    auto it = all.begin();
    std::advance(it, pick(0, int(all.size()) - 1));
    note("show " + it->first);
    check_message(it->second, true);
}

// ---- checks ----

void model_run::dead_letter(const std::string& id) {
    ++counters_[model_.find(id)->queue].dead_lettered;
    model_.dead_letter(id, now_);
}

// A message whose last allowed delivery timed out must end up in the
// dead-letter queue by the next sweep; the engine may also move it
// earlier. Before each operation and check, show tells where it is now.
void model_run::resolve_dead_letters() {
    for (const auto& id : model_.awaiting_dead_letter(now_)) {
        const model_message& m = *model_.find(id);
        int source = m.queue;
        int dlq = queue(source).dlq;
        auto in_dlq = engine_->show(name(dlq), id, now_);
        if (in_dlq.is_ok()) {
            dead_letter(id);
            touched_.insert(id);
            tally("dead-lettered before the sweep");
            continue;
        }
        MODEL_CHECK(in_dlq.error().code() == errc::not_found,
                    "show " + id + ": " + in_dlq.error().message());
        auto in_source = engine_->show(name(source), id, now_);
        MODEL_CHECK(in_source.is_ok(),
                    "lost " + id + ": its last delivery in " + name(source) +
                        " timed out and it is in neither " + name(source) +
                        " nor " + name(dlq));
    }
}

void model_run::check_counts() {
    for (int q = 0; q < kQueues; ++q) {
        auto info = engine_->info(name(q), now_);
        MODEL_CHECK(info.is_ok(),
                    "info " + name(q) + ": " +
                        (info.is_ok() ? "" : info.error().message()));
        const auto& c = info->counts;
        count_expectation e = model_.expect_counts(q, now_);
        auto within = [](std::int64_t n, const count_range& r) {
            return n >= r.low && n <= r.high;
        };
        bool ok = within(c.visible, e.visible) &&
                  within(c.in_flight, e.in_flight) &&
                  within(c.delayed, e.delayed) && within(c.held, e.held) &&
                  c.visible + c.in_flight + c.delayed + c.held == e.total;
        MODEL_CHECK(
            ok,
            "info " + name(q) + " counts visible=" + std::to_string(c.visible) +
                " in_flight=" + std::to_string(c.in_flight) + " delayed=" +
                std::to_string(c.delayed) + " held=" + std::to_string(c.held) +
                "; the model allows visible=" + range_text(e.visible) +
                " in_flight=" + range_text(e.in_flight) + " delayed=" +
                range_text(e.delayed) + " held=" + range_text(e.held) + " of " +
                std::to_string(e.total));
        std::int64_t bytes = 0;
        for (const model_message* m : model_.in_queue(q)) {
            bytes += static_cast<std::int64_t>(m->body.size());
        }
        MODEL_CHECK(c.bytes == bytes,
                    "info " + name(q) + ": bytes " + std::to_string(c.bytes) +
                        ", the bodies stored have " + std::to_string(bytes));
        check_counters(q, info->row.counters);
    }
}

// The counters since the queue was created. Whether a message redriven in
// counts as sent, and whether a release that dead-letters counts as a
// release, the protocol does not say; either is accepted.
void model_run::check_counters(int q, const dmq::index::queue_counters& got) {
    const dmq::index::queue_counters& want = counters_[q];
    auto exact = [&](const char* what, std::int64_t g, std::int64_t w) {
        MODEL_CHECK(g == w, "info " + name(q) + ": counter " + what + " " +
                                std::to_string(g) + ", expected " +
                                std::to_string(w));
    };
    auto either = [&](const char* what, std::int64_t g, std::int64_t low,
                      std::int64_t high) {
        MODEL_CHECK(g == low || g == high,
                    "info " + name(q) + ": counter " + what + " " +
                        std::to_string(g) + ", expected " +
                        std::to_string(low) + " or " + std::to_string(high));
    };
    either("sent", got.sent, want.sent, want.sent + redriven_in_[q]);
    exact("received", got.received, want.received);
    exact("acked", got.acked, want.acked);
    either("released", got.released, want.released,
           want.released + dead_lettered_by_release_[q]);
    exact("expired", got.expired, 0);
    exact("purged", got.purged, want.purged);
    exact("dead_lettered", got.dead_lettered, want.dead_lettered);
    exact("redriven", got.redriven, want.redriven);
    exact("duplicates", got.duplicates, want.duplicates);
}

// The message is where the model says, in a state the model allows, with
// its fields intact, and (with `everywhere`) in no other queue.
void model_run::check_message(const model_message& m, bool everywhere) {
    auto got = engine_->show(name(m.queue), m.id, now_);
    MODEL_CHECK(got.is_ok(), "lost " + m.id + ": the model has it in " +
                                 name(m.queue) + " (" + explain(m.id) +
                                 "), show says " +
                                 (got.is_ok() ? "" : got.error().message()));
    check_fields(got->message, m, m.receive_count, "show");
    MODEL_CHECK(got->message.receipt.empty(),
                "show of " + m.id + " has a receipt");
    MODEL_CHECK(got->size == static_cast<std::int64_t>(m.body.size()),
                "show of " + m.id + ": size " + std::to_string(got->size));
    state_set allowed = model_.allowed_states(m, now_);
    MODEL_CHECK((allowed & state_bit(got->state)) != 0,
                "show of " + m.id + " in " + name(m.queue) + ": state " +
                    std::string(state_name(got->state)) +
                    ", the model allows " + describe_states(allowed) + " (" +
                    explain(m.id) + ")");
    if (allowed == kInFlight || allowed == kDelayed) {
        MODEL_CHECK(got->visible_at == m.visible_at,
                    "show of " + m.id + ": visible_at now+" +
                        std::to_string(got->visible_at - now_) +
                        ", expected now+" +
                        std::to_string(m.visible_at - now_));
    }

    for (int q = 0; q < kQueues; ++q) {
        bool related = queue(m.queue).dlq == q || queue(q).dlq == m.queue;
        if (q != m.queue && (everywhere || related)) {
            check_not_in(q, m.id, "the model has it in " + name(m.queue));
        }
    }
}

void model_run::check_not_in(int q, const std::string& id,
                             const std::string& why) {
    auto got = engine_->show(name(q), id, now_);
    MODEL_CHECK(!got.is_ok() && got.error().code() == errc::not_found,
                "show " + id + " in " + name(q) + " must be NOT_FOUND (" + why +
                    "), got " +
                    (got.is_ok() ? std::string(state_name(got->state))
                                 : got.error().message()));
}

void model_run::check_all_messages(bool everywhere) {
    for (const auto& [id, m] : model_.messages()) {
        check_message(m, everywhere);
    }
}

// The end of a run: once every timeout has passed and the sweep has run,
// receiving and acking everything must give back exactly the messages the
// model holds, queue by queue, and leave every queue empty.
void model_run::drain_and_check_empty() {
    step_ = steps_ + 1;
    now_ += 10'000;
    note("drain: clock +10000, sweep");
    MODEL_CHECK(engine_->sweep(now_).is_ok(), "sweep failed");
    for (const auto& id : model_.awaiting_dead_letter(now_)) {
        dead_letter(id);
    }
    commit();
    check_all_messages(true);

    for (int q : {kStd, kFifo, kFifoContent, kStdDlq, kFifoDlq}) {
        std::size_t rounds = model_.in_queue(q).size() + 2;
        for (std::size_t i = 0; i < rounds; ++i) {
            note("drain: receive " + name(q) + " max=10");
            auto got = receive_and_check(q, 10, 600'000);
            for (const auto& d : got) {
                dmq::status st = engine_->ack(name(q), d.receipt);
                MODEL_CHECK(st.is_ok(),
                            "drain: ack " + d.id + ": " + st.message());
                model_.remove(d.id);
                ++counters_[q].acked;
            }
            commit();
            if (got.empty()) {
                break;
            }
        }
        MODEL_CHECK(model_.in_queue(q).empty(),
                    "drain: " + name(q) + " still holds " +
                        std::to_string(model_.in_queue(q).size()) +
                        " messages");
    }
    check_counts();
}

// ---- reporting ----

void model_run::note(const std::string& line) {
    history_.push_back("step " + std::to_string(step_) + " t=+" +
                       std::to_string(now_ - kEpoch) + ": " + line);
    if (history_.size() > kHistory) {
        history_.pop_front();
    }
}

void model_run::note_result(const std::string& text) {
    if (!history_.empty() && !text.empty()) {
        history_.back() += " " + text;
    }
}

std::string model_run::describe(
    const std::vector<delivered_message>& got) const {
    std::string out = "->";
    for (const auto& d : got) {
        out += " " + d.id + "(c" + std::to_string(d.receive_count) + " p" +
               std::to_string(d.priority) +
               (d.group.empty() ? "" : " " + d.group) + ")";
    }
    return got.empty() ? "-> none" : out;
}

// What the model knows about a message, for failure messages.
std::string model_run::explain(const std::string& id) const {
    auto it = model_.messages().find(id);
    if (it == model_.messages().end()) {
        auto gone = model_.gone().find(id);
        return gone == model_.gone().end()
                   ? "never sent"
                   : "acked or purged from " + name(gone->second);
    }
    const model_message& m = it->second;
    std::ostringstream out;
    out << "model: in " << name(m.queue) << ", count " << m.receive_count
        << ", p" << m.priority;
    if (!m.group.empty()) {
        out << ", group " << m.group << (m.floating ? " (floating)" : "");
    }
    if (m.open) {
        out << ", delivery open until now" << std::showpos
            << (m.visible_at - now_) << std::noshowpos;
    } else {
        out << ", visible from now" << std::showpos << (m.visible_at - now_)
            << std::noshowpos;
    }
    if (model_.awaiting_dead_letter(m, now_)) {
        out << ", awaiting its dead-letter move";
    }
    if (!m.source_queue.empty()) {
        out << ", from " << m.source_queue;
    }
    return out.str();
}

// Every message of a queue, for failures of a whole reply.
std::string model_run::explain_queue(int q) const {
    std::string out = name(q) + " before the call:";
    for (const model_message* m : model_.in_queue(q)) {
        out += "\n      " + m->id + " (" + explain(m->id) + ")";
    }
    return out;
}

// Every message of a FIFO group, in any queue, head first.
std::string model_run::explain_group(const std::string& group) const {
    std::vector<const model_message*> members;
    for (const auto& [id, m] : model_.messages()) {
        if (m.group == group) {
            members.push_back(&m);
        }
    }
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) {
        return std::pair(a->queue, a->order) < std::pair(b->queue, b->order);
    });
    std::string out = "group " + group + ":";
    for (const model_message* m : members) {
        out += "\n      " + m->id + " (" + explain(m->id) + ")";
    }
    return out;
}

std::string model_run::report(const std::string& what) const {
    std::ostringstream out;
    out << "model test failed: " << what << "\n  seed " << seed_ << ", step "
        << step_ << " of " << steps_ << ", t=+" << (now_ - kEpoch) << " ms\n"
        << "  replay: DMQ_MODEL_SEED=" << seed_
        << " DMQ_MODEL_STEPS=" << std::min(step_, steps_)
        << " unit_tests \"[model]\"\n"
        << "  last operations:\n";
    for (const auto& line : history_) {
        out << "    " << line << "\n";
    }
    return out.str();
}

// With DMQ_MODEL_STATS set, says what a run covered, to tune the weights.
void model_run::print_tallies() const {
    if (!std::getenv("DMQ_MODEL_STATS")) {
        return;
    }
    std::fprintf(stderr, "model test: seed %llu:",
                 static_cast<unsigned long long>(seed_));
    for (const auto& [what, n] : tallies_) {
        std::fprintf(stderr, " %s %lld;", what.c_str(),
                     static_cast<long long>(n));
    }
    std::fprintf(stderr, "\n");
}

struct run_settings {
    std::vector<std::uint64_t> seeds;
    int steps = kDefaultSteps;
};

run_settings settings_from_environment() {
    run_settings s;
    if (const char* steps = std::getenv("DMQ_MODEL_STEPS")) {
        s.steps = std::atoi(steps);
    }
    if (const char* seeds = std::getenv("DMQ_MODEL_SEED")) {
        std::stringstream list(seeds);
        std::string one;
        while (std::getline(list, one, ',')) {
            s.seeds.push_back(std::stoull(one));
        }
        return s;
    }
    s.seeds = {1, 2, 3};
    std::uint64_t random = std::random_device{}();
    random = (random << 32) ^ std::random_device{}();
    std::fprintf(stderr,
                 "model test: random seed %llu (replay with "
                 "DMQ_MODEL_SEED=%llu)\n",
                 static_cast<unsigned long long>(random),
                 static_cast<unsigned long long>(random));
    s.seeds.push_back(random);
    return s;
}

}  // namespace

TEST_CASE(
    "the engine agrees with a model of the protocol over thousands of "
    "random operations",
    "[queue][model]") {
    run_settings settings = settings_from_environment();
    for (std::uint64_t seed : settings.seeds) {
        INFO("seed " << seed);
        model_run run(seed, settings.steps);
        std::optional<std::string> failure = run.run();
        if (failure) {
            FAIL(*failure);
        }
        SUCCEED("seed " << seed << ": " << settings.steps << " steps");
    }
}
