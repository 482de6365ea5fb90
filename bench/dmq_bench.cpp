// Load generator for `make bench`: drives one dmq-agent over the wire
// protocol and prints one RESULT line per run in the format of the peer
// benchmarks, so dmq's figures sit beside theirs.
//
//   dmq_bench send  ADDR QUEUE N SIZE BATCH WINDOW [GROUPS]
//       durable bulk send; with GROUPS (a FIFO queue) the messages go
//       round-robin over that many message groups
//   dmq_bench drain ADDR QUEUE N MAX                 receive + ack
//   dmq_bench latency ADDR QUEUE N push|poll
//       one message at a time from a producer to a consumer on another
//       connection, which gets it by push (subscribe and credit) or by a
//       long-poll receive parked before the send; p50/p99/max in ms
//   dmq_bench spawn RUNS PROGRAM ARGS...             whole-process latency
//
// MAXSECS in the environment caps a send, drain or latency run; figures
// are then over what was done, and the RESULT line says capped=1.

#include "common/envelope.h"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <random>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace dmq::proto;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

// A reply later than this means the agent is stuck: the run ends with an
// error instead of hanging `make bench`. Longer than the longest poll.
constexpr int kReplyTimeoutMs = 30'000;

class client {
public:
    explicit client(const std::string& addr)
        : socket_(context_, zmq::socket_type::dealer) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.set(zmq::sockopt::rcvtimeo, kReplyTimeoutMs);
        socket_.connect("tcp://" + addr);
        prefix_ = "bench-" + std::to_string(getpid()) + "-" +
                  std::to_string(std::random_device{}()) + "-";
    }

    // Returns the request id: a subscription is named by it.
    std::string post(const std::string& op, value_map args,
                     std::vector<std::string> bodies = {}) {
        std::string id = prefix_ + std::to_string(++next_id_);
        auto frames =
            encode_request(id, op, std::move(args), std::move(bodies));
        for (std::size_t i = 0; i < frames.size(); ++i) {
            socket_.send(zmq::buffer(frames[i]), i + 1 < frames.size()
                                                     ? zmq::send_flags::sndmore
                                                     : zmq::send_flags::none);
        }
        return id;
    }

    reply wait() {
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(socket_, std::back_inserter(parts))) {
            std::fprintf(stderr, "dmq_bench: no reply within %d ms\n",
                         kReplyTimeoutMs);
            std::exit(1);
        }
        std::vector<std::string> frames;
        for (auto& p : parts) {
            frames.push_back(p.to_string());
        }
        auto r = decode_reply(std::move(frames));
        if (!r || !r->error.is_ok()) {
            std::fprintf(stderr, "dmq_bench: error reply: %s\n",
                         r ? r->error.message().c_str() : "malformed");
            std::exit(1);
        }
        return std::move(*r);
    }

private:
    zmq::context_t context_;
    zmq::socket_t socket_;
    std::string prefix_;  // request ids must be unique across runs
    std::uint64_t next_id_ = 0;
};

double max_seconds() {
    const char* cap = std::getenv("MAXSECS");
    return cap ? std::atof(cap) : 1e9;
}

void print_result(long n, long expected, double secs, long bytes) {
    std::printf(
        "RESULT n=%ld expected=%ld capped=%d secs=%.3f "
        "msgs_per_s=%.0f mb_per_s=%.2f\n",
        n, expected, n < expected ? 1 : 0, secs, n / secs, bytes / secs / 1e6);
}

// With groups > 0 the queue is FIFO and every message needs a group;
// dealing them out in turn gives each group its share, so a drain can
// take one message of every group per receive.
int run_send(const std::string& addr, const std::string& queue, long n,
             long size, long batch, long window, long groups) {
    client c(addr);
    std::string body(static_cast<std::size_t>(size), 'x');
    long next_group = 0;
    auto post_batch = [&](long count) {
        value_list entries;
        for (long i = 0; i < count; ++i) {
            value_map entry;
            if (groups > 0) {
                entry["group"] = "g" + std::to_string(next_group);
                next_group = (next_group + 1) % groups;
            }
            entries.emplace_back(std::move(entry));
        }
        std::vector<std::string> bodies(static_cast<std::size_t>(count), body);
        c.post("send", {{"queue", queue}, {"messages", entries}}, bodies);
    };

    auto start = clock_type::now();
    double cap = max_seconds();
    long posted = 0, acked = 0, in_flight = 0;
    while (in_flight > 0 || (posted < n && seconds_since(start) < cap)) {
        while (in_flight < window && posted < n && seconds_since(start) < cap) {
            long count = std::min(batch, n - posted);
            post_batch(count);
            posted += count;
            ++in_flight;
        }
        auto r = c.wait();
        acked +=
            static_cast<long>(fields(r.fields).list("ids").value()->size());
        --in_flight;
    }
    print_result(acked, n, seconds_since(start), acked * size);
    return 0;
}

int run_drain(const std::string& addr, const std::string& queue, long n,
              long max) {
    client c(addr);
    auto start = clock_type::now();
    double secs = 0;
    long done = 0;
    long bytes = 0;
    double cap = max_seconds();
    while (done < n && seconds_since(start) < cap) {
        c.post("receive", {{"queue", queue}, {"max", max}, {"wait_ms", 1000}});
        auto r = c.wait();
        const value_list* messages = *fields(r.fields).list("messages");
        if (messages->empty()) {
            break;
        }
        value_list receipts;
        for (const auto& m : *messages) {
            receipts.push_back(*fields(*m.as_map()).string("receipt"));
        }
        for (const auto& b : r.bodies) {
            bytes += static_cast<long>(b.size());
        }
        c.post("ack", {{"queue", queue}, {"receipts", receipts}});
        c.wait();
        done += static_cast<long>(messages->size());
        // Up to the last ack: the wait of the receive that finds the
        // queue empty is not draining, and would lower the rate.
        secs = seconds_since(start);
    }
    print_result(done, n, done > 0 ? secs : seconds_since(start), bytes);
    return 0;
}

// The receipt of the one message a delivery (a push or a receive reply)
// carries: one message is in flight at a time, so anything else means the
// run would time the wrong thing.
std::string only_receipt(const reply& r) {
    auto messages = fields(r.fields).list("messages");
    if (!messages || (*messages)->size() != 1) {
        std::fprintf(stderr, "dmq_bench: expected a delivery of 1 message\n");
        std::exit(1);
    }
    return *fields(*(*messages)->front().as_map()).string("receipt");
}

// An ack reply is ok even when a receipt failed. A failed one here means
// the delivery timed was not the message's current one (it was handed out
// again, or is gone), which the figures must not hide.
void check_acked(const reply& r) {
    auto results = fields(r.fields).list("results");
    if (!results) {
        return;  // not an ack reply
    }
    for (const auto& one : **results) {
        if (!*fields(*one.as_map()).boolean_or("ok", false)) {
            std::fprintf(stderr, "dmq_bench: an ack was refused\n");
            std::exit(1);
        }
    }
}

// Parks a long-poll receive before the send, as a waiting worker would
// have. The agent takes one connection's requests in order, so once the
// ping sent behind the receive is answered, the receive is waiting.
void park_receive(client& consumer, const std::string& queue) {
    consumer.post("receive", {{"queue", queue}, {"wait_ms", 20'000}});
    std::string ping = consumer.post("ping", {});
    if (consumer.wait().id != ping) {
        std::fprintf(stderr, "dmq_bench: the receive did not wait\n");
        std::exit(1);
    }
}

void print_latency(std::vector<double> ms, long expected) {
    std::sort(ms.begin(), ms.end());
    long n = static_cast<long>(ms.size());
    auto percentile = [&](std::size_t p) {
        return n > 0 ? ms[ms.size() * p / 100] : 0.0;
    };
    std::printf(
        "RESULT n=%ld expected=%ld capped=%d p50_ms=%.2f p99_ms=%.2f "
        "max_ms=%.2f\n",
        n, expected, n < expected ? 1 : 0, percentile(50), percentile(99),
        n > 0 ? ms.back() : 0.0);
}

// Time from just before a send to the consumer holding the message, one
// message at a time so each figure is one delivery, not queueing behind
// others. The consumer acks each (and, pushed, grants the credit back)
// before the next send, as a worker keeping up with its queue would.
int run_latency(const std::string& addr, const std::string& queue, long n,
                bool push) {
    client producer(addr);
    client consumer(addr);
    std::string subscription;
    if (push) {
        // More credit than the one message in flight: the figure never
        // includes a consumer waiting to be allowed a message.
        subscription =
            consumer.post("subscribe", {{"queue", queue}, {"credit", 100}});
        consumer.wait();
    }

    const std::string body(100, 'x');
    std::vector<double> ms;
    auto start = clock_type::now();
    double cap = max_seconds();
    while (static_cast<long>(ms.size()) < n && seconds_since(start) < cap) {
        if (!push) {
            park_receive(consumer, queue);
        }
        auto sent_at = clock_type::now();
        producer.post("send",
                      {{"queue", queue}, {"messages", value_list{value_map{}}}},
                      {body});
        // The delivery leaves the agent with the send's reply, after the
        // same commit; reading the consumer first times its arrival rather
        // than the order in which this one thread reads the two sockets.
        reply delivery = consumer.wait();
        ms.push_back(seconds_since(sent_at) * 1000);
        producer.wait();

        consumer.post("ack",
                      {{"queue", queue},
                       {"receipts", value_list{only_receipt(delivery)}}});
        if (push) {
            consumer.post("credit",
                          {{"subscription", subscription}, {"add", 1}});
        }
        for (int replies = push ? 2 : 1; replies > 0; --replies) {
            check_acked(consumer.wait());
        }
    }

    if (push) {
        consumer.post("unsubscribe", {{"subscription", subscription}});
        consumer.wait();
    }
    print_latency(std::move(ms), n);
    return 0;
}

int run_spawn(int runs, char** argv) {
    std::vector<double> ms;
    for (int i = 0; i < runs + 5; ++i) {
        auto start = clock_type::now();
        pid_t pid = fork();
        if (pid == 0) {
            int devnull = open("/dev/null", O_RDWR);
            dup2(devnull, 0);
            dup2(devnull, 1);
            execvp(argv[0], argv);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            std::fprintf(stderr, "dmq_bench: %s exited with %d\n", argv[0],
                         WEXITSTATUS(st));
            return 1;
        }
        if (i >= 5) {  // the first runs warm the page cache
            ms.push_back(seconds_since(start) * 1000);
        }
    }
    std::sort(ms.begin(), ms.end());
    std::printf("RESULT runs=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f\n", runs,
                ms[ms.size() / 2], ms[ms.size() * 9 / 10],
                ms[ms.size() * 99 / 100]);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "send" && (argc == 8 || argc == 9)) {
        return run_send(argv[2], argv[3], std::atol(argv[4]),
                        std::atol(argv[5]), std::atol(argv[6]),
                        std::atol(argv[7]), argc == 9 ? std::atol(argv[8]) : 0);
    }
    if (mode == "drain" && argc == 6) {
        return run_drain(argv[2], argv[3], std::atol(argv[4]),
                         std::atol(argv[5]));
    }
    std::string how = argc == 6 ? argv[5] : "";
    if (mode == "latency" && (how == "push" || how == "poll")) {
        return run_latency(argv[2], argv[3], std::atol(argv[4]), how == "push");
    }
    if (mode == "spawn" && argc >= 4) {
        return run_spawn(std::atoi(argv[2]), argv + 3);
    }
    std::fprintf(stderr,
                 "usage: dmq_bench send ADDR QUEUE N SIZE BATCH WINDOW "
                 "[GROUPS]\n"
                 "       dmq_bench drain ADDR QUEUE N MAX\n"
                 "       dmq_bench latency ADDR QUEUE N push|poll\n"
                 "       dmq_bench spawn RUNS PROGRAM ARGS...\n");
    return 2;
}
