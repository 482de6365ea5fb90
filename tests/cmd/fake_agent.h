// A fake dmq-agent for the CLI's unit tests: a ROUTER socket on
// 127.0.0.1 in this process that answers each request with the replies a
// test's handler returns, plus helpers to build replies and clients.
// Used by agent_client_test, receipt_ops_test and subscription_test.

#pragma once

#include "cmd/agent_client.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dmq::cli::test {

using namespace std::chrono_literals;

// A ROUTER socket on 127.0.0.1 that answers requests with `handler`
// from its own thread. The handler returns the replies to send back to
// the client: none leaves the request unanswered.
class fake_agent {
public:
    using handler =
        std::function<std::vector<proto::reply>(const proto::request&)>;

    explicit fake_agent(handler h) : handler_(std::move(h)) {
        std::promise<std::string> bound;
        auto endpoint = bound.get_future();
        thread_ = std::thread([this, &bound] { serve(bound); });
        address_ = endpoint.get();
    }

    ~fake_agent() {
        stop_ = true;
        thread_.join();
    }

    std::string address() const { return address_; }

    std::vector<proto::request> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    void serve(std::promise<std::string>& bound) {
        zmq::context_t context;
        zmq::socket_t router(context, zmq::socket_type::router);
        router.set(zmq::sockopt::linger, 0);
        router.bind("tcp://127.0.0.1:*");
        std::string endpoint = router.get(zmq::sockopt::last_endpoint);
        bound.set_value(endpoint.substr(endpoint.find("//") + 2));

        while (!stop_) {
            zmq::pollitem_t item = {router.handle(), 0, ZMQ_POLLIN, 0};
            zmq::poll(&item, 1, 20ms);
            if (item.revents & ZMQ_POLLIN) {
                handle_one(router);
            }
        }
    }

    void handle_one(zmq::socket_t& router) {
        std::vector<std::string> frames;
        zmq::message_t frame;
        do {
            (void)router.recv(frame);
            frames.push_back(frame.to_string());
        } while (frame.more());
        std::string peer = frames.front();
        frames.erase(frames.begin());

        auto request = proto::decode_request(frames);
        if (!request) {
            return;
        }
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(*request);
        }
        for (const auto& reply : handler_(*request)) {
            auto out = proto::encode_reply(reply);
            router.send(zmq::buffer(peer), zmq::send_flags::sndmore);
            for (std::size_t i = 0; i < out.size(); ++i) {
                router.send(zmq::buffer(out[i]), i + 1 < out.size()
                                                     ? zmq::send_flags::sndmore
                                                     : zmq::send_flags::none);
            }
        }
    }

    handler handler_;
    std::thread thread_;
    std::string address_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<proto::request> requests_;
};

inline proto::reply ok_reply(const proto::request& request,
                             proto::value_map fields = {}) {
    proto::reply r;
    r.id = request.id;
    r.fields = std::move(fields);
    return r;
}

inline proto::reply error_reply(const proto::request& request, errc code,
                                std::string message,
                                proto::value_map fields = {}) {
    proto::reply r = ok_reply(request, std::move(fields));
    r.error = status(code, std::move(message));
    return r;
}

inline std::vector<proto::reply> silent(const proto::request&) {
    return {};
}

inline std::vector<proto::reply> answer_ok(const proto::request& r) {
    return {ok_reply(r)};
}

inline agent_client client_for(const std::vector<std::string>& addresses,
                               millis timeout) {
    std::string list;
    for (const auto& a : addresses) {
        list += (list.empty() ? "" : ",") + a;
    }
    auto agents = parse_agent_list(list);
    REQUIRE(agents.is_ok());
    return agent_client(std::move(*agents), timeout);
}

// Nothing listens on port 1 of the loopback interface.
inline constexpr const char* kClosedPort = "127.0.0.1:1";

}  // namespace dmq::cli::test
