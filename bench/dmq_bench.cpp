// Load generator for `make bench`: drives one dmq-agent over the wire
// protocol and prints one RESULT line per run in the format of the peer
// benchmarks, so dmq's figures sit beside theirs.
//
//   dmq_bench send  ADDR QUEUE N SIZE BATCH WINDOW   durable bulk send
//   dmq_bench drain ADDR QUEUE N MAX                 receive + ack
//   dmq_bench spawn RUNS PROGRAM ARGS...             whole-process latency
//
// MAXSECS in the environment caps a send or drain run; the rate is then
// over what was done, and the RESULT line says capped=1.

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

class client {
public:
    explicit client(const std::string& addr)
        : socket_(context_, zmq::socket_type::dealer) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.connect("tcp://" + addr);
        prefix_ = "bench-" + std::to_string(getpid()) + "-" +
                  std::to_string(std::random_device{}()) + "-";
    }

    void post(const std::string& op, value_map args,
              std::vector<std::string> bodies = {}) {
        auto frames = encode_request(prefix_ + std::to_string(++next_id_), op,
                                     std::move(args), std::move(bodies));
        for (std::size_t i = 0; i < frames.size(); ++i) {
            socket_.send(zmq::buffer(frames[i]), i + 1 < frames.size()
                                                     ? zmq::send_flags::sndmore
                                                     : zmq::send_flags::none);
        }
    }

    reply wait() {
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(socket_, std::back_inserter(parts))) {
            std::fprintf(stderr, "dmq_bench: receive failed\n");
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

int run_send(const std::string& addr, const std::string& queue, long n,
             long size, long batch, long window) {
    client c(addr);
    std::string body(static_cast<std::size_t>(size), 'x');
    auto post_batch = [&](long count) {
        value_list entries(static_cast<std::size_t>(count), value_map{});
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
    }
    print_result(done, n, seconds_since(start), bytes);
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
    if (mode == "send" && argc == 8) {
        return run_send(argv[2], argv[3], std::atol(argv[4]),
                        std::atol(argv[5]), std::atol(argv[6]),
                        std::atol(argv[7]));
    }
    if (mode == "drain" && argc == 6) {
        return run_drain(argv[2], argv[3], std::atol(argv[4]),
                         std::atol(argv[5]));
    }
    if (mode == "spawn" && argc >= 4) {
        return run_spawn(std::atoi(argv[2]), argv + 3);
    }
    std::fprintf(stderr,
                 "usage: dmq_bench send ADDR QUEUE N SIZE BATCH WINDOW\n"
                 "       dmq_bench drain ADDR QUEUE N MAX\n"
                 "       dmq_bench spawn RUNS PROGRAM ARGS...\n");
    return 2;
}
