// The agent guarding itself: it refuses a data directory another agent
// holds and a port in use, and it answers garbage on the wire with an
// error reply instead of crashing or going quiet. The garbage is sent
// straight from a DEALER socket, since the CLI never sends any.

#include "tests/integration/harness.h"
#include "tests/integration/queue_steps.h"

#include <catch2/catch.hpp>
#include <msgpack.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <map>

using namespace dmq::itest;

namespace {

// Waits up to 5 s for a dmq-agent that should refuse to start to exit,
// and returns its exit and its "dmq-agent: error:" lines.
std::pair<process_exit, std::vector<std::string>> must_refuse_start(
    const fs::path& data_dir, const std::string& listen, const fs::path& log) {
    auto start = steady::now();
    auto second = must_spawn_agent(data_dir, listen, log);
    auto end = second->wait_for_exit(milliseconds(5'000));
    INFO("second agent's log:\n" << read_file(log));
    REQUIRE(end.has_value());
    CHECK(ms_since(start) < 5000);
    std::vector<std::string> errors;
    for (const auto& line : split_lines(read_file(log))) {
        if (line.rfind("dmq-agent: error: ", 0) == 0) {
            errors.push_back(line);
        }
    }
    return {*end, errors};
}

// A reply envelope's fields that the tests look at.
struct wire_reply {
    bool ok = false;
    std::string id;
    std::string code;
    std::vector<std::string> ids;  // of a send
};

std::string pack_map(const std::map<std::string, msgpack::object>& m) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(&buf);
    pk.pack_map(static_cast<std::uint32_t>(m.size()));
    for (const auto& [k, v] : m) {
        pk.pack(k);
        pk.pack(v);
    }
    return std::string(buf.data(), buf.size());
}

// Sends `frames` and waits up to 3 s for one reply; fails the test when
// none comes or it is not a reply envelope.
wire_reply must_exchange(zmq::socket_t& dealer,
                         const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
        auto more = i + 1 < frames.size() ? zmq::send_flags::sndmore
                                          : zmq::send_flags::none;
        dealer.send(zmq::buffer(frames[i]), more);
    }
    zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(3000));
    REQUIRE((items[0].revents & ZMQ_POLLIN) != 0);

    std::vector<zmq::message_t> parts;
    auto got = zmq::recv_multipart(dealer, std::back_inserter(parts));
    REQUIRE(got.has_value());
    REQUIRE(!parts.empty());

    msgpack::object_handle oh = msgpack::unpack(
        static_cast<const char*>(parts[0].data()), parts[0].size());
    const msgpack::object& o = oh.get();
    REQUIRE(o.type == msgpack::type::MAP);
    wire_reply r;
    bool has_ok = false;
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) {
            continue;
        }
        std::string key = kv.key.as<std::string>();
        if (key == "ok" && kv.val.type == msgpack::type::BOOLEAN) {
            r.ok = kv.val.as<bool>();
            has_ok = true;
        } else if (key == "id" && kv.val.type == msgpack::type::STR) {
            r.id = kv.val.as<std::string>();
        } else if (key == "code" && kv.val.type == msgpack::type::STR) {
            r.code = kv.val.as<std::string>();
        } else if (key == "ids" && kv.val.type == msgpack::type::ARRAY) {
            r.ids = kv.val.as<std::vector<std::string>>();
        }
    }
    REQUIRE(has_ok);
    return r;
}

}  // namespace

TEST_CASE("a second agent refuses a data directory another agent holds",
          "[integration][agent]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");

    auto [end, errors] =
        must_refuse_start(tmp / "data", "127.0.0.1:0", tmp / "second.log");
    CHECK(end.shell_code() != 0);
    REQUIRE(errors.size() == 1);
    INFO(errors.front());
    CHECK(errors.front().find((tmp / "data").string()) != std::string::npos);

    // The first agent is unharmed.
    CHECK(agent->running());
    check_exit(run_dmq(*agent, {"health"}), 0);
    CHECK(read_file(tmp / "data" / "listen.addr") ==
          "tcp://" + agent->address() + "\n");
}

TEST_CASE("a second agent refuses a port in use", "[integration][agent]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");

    auto [end, errors] =
        must_refuse_start(tmp / "other", agent->address(), tmp / "second.log");
    CHECK(end.shell_code() != 0);
    REQUIRE(errors.size() == 1);
    INFO(errors.front());
    CHECK(errors.front().find(std::to_string(agent->port())) !=
          std::string::npos);
    check_exit(run_dmq(*agent, {"health"}), 0);
}

TEST_CASE(
    "the agent answers garbage frames with an error reply and keeps "
    "serving",
    "[integration][agent][wire]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "wq");

    zmq::context_t context(1);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect("tcp://" + agent->address());

    auto obj = [](auto v, msgpack::zone& z) { return msgpack::object(v, z); };
    msgpack::zone z;

    SECTION("random bytes, an empty frame and a msgpack non-map") {
        for (const auto& frames : std::vector<std::vector<std::string>>{
                 {random_bytes(64, 1)},
                 {""},
                 {"\x92\x01\x02"},  // msgpack [1, 2]
                 {random_bytes(3, 2), random_bytes(1000, 3)},
             }) {
            wire_reply r = must_exchange(dealer, frames);
            CHECK_FALSE(r.ok);
            CHECK(r.code == "BAD_REQUEST");
        }
    }
    SECTION("an unknown version and an unknown operation") {
        wire_reply v =
            must_exchange(dealer, {pack_map({{"v", obj(99, z)},
                                             {"id", obj("req-v", z)},
                                             {"op", obj("ping", z)}})});
        CHECK_FALSE(v.ok);
        CHECK(v.id == "req-v");
        CHECK(v.code == "UNSUPPORTED_VERSION");

        wire_reply op =
            must_exchange(dealer, {pack_map({{"v", obj(1, z)},
                                             {"id", obj("req-op", z)},
                                             {"op", obj("no_such_op", z)}})});
        CHECK_FALSE(op.ok);
        CHECK(op.id == "req-op");
        CHECK(op.code == "UNKNOWN_OP");
    }
    SECTION("mistyped fields and bodies that do not match the list") {
        wire_reply mistyped =
            must_exchange(dealer, {pack_map({{"v", obj(1, z)},
                                             {"id", obj("req-max", z)},
                                             {"op", obj("receive", z)},
                                             {"queue", obj("wq", z)},
                                             {"max", obj("lots", z)}})});
        CHECK_FALSE(mistyped.ok);
        CHECK(mistyped.code == "BAD_REQUEST");

        msgpack::object none[1] = {obj(std::map<std::string, int>{}, z)};
        msgpack::object list;
        list.type = msgpack::type::ARRAY;
        list.via.array.size = 1;
        list.via.array.ptr = none;
        wire_reply frames =
            must_exchange(dealer, {pack_map({{"v", obj(1, z)},
                                             {"id", obj("req-send", z)},
                                             {"op", obj("send", z)},
                                             {"queue", obj("wq", z)},
                                             {"messages", list}}),
                                   "body one", "body two"});
        CHECK_FALSE(frames.ok);
        CHECK(frames.code == "BAD_REQUEST");
        CHECK(held_messages(must_queue_info(*agent, "wq")) == 0);
    }

    SECTION("a missing id, and an id given again for another request") {
        wire_reply no_id = must_exchange(
            dealer, {pack_map({{"v", obj(1, z)}, {"op", obj("ping", z)}})});
        CHECK_FALSE(no_id.ok);
        CHECK(no_id.code == "BAD_REQUEST");

        wire_reply first =
            must_exchange(dealer, {pack_map({{"v", obj(1, z)},
                                             {"id", obj("req-reused", z)},
                                             {"op", obj("queue_info", z)},
                                             {"queue", obj("wq", z)}})});
        CHECK(first.ok);
        wire_reply reused =
            must_exchange(dealer, {pack_map({{"v", obj(1, z)},
                                             {"id", obj("req-reused", z)},
                                             {"op", obj("ping", z)}})});
        CHECK_FALSE(reused.ok);
        CHECK(reused.id == "req-reused");
        CHECK(reused.code == "BAD_REQUEST");
    }
    SECTION("an envelope that cannot be decoded still gets its id back") {
        wire_reply r =
            must_exchange(dealer, {pack_map({{"v", obj(1, z)},
                                             {"id", obj("req-float", z)},
                                             {"op", obj("receive", z)},
                                             {"queue", obj("wq", z)},
                                             {"max", obj(2.5, z)}})});
        CHECK_FALSE(r.ok);
        CHECK(r.id == "req-float");
        CHECK(r.code == "BAD_REQUEST");
    }

    // Still serving, on this socket and to the CLI.
    wire_reply ping =
        must_exchange(dealer, {pack_map({{"v", obj(1, z)},
                                         {"id", obj("req-ping", z)},
                                         {"op", obj("ping", z)}})});
    CHECK(ping.ok);
    CHECK(ping.id == "req-ping");
    check_exit(run_dmq(*agent, {"health"}), 0);
    CHECK(agent->running());
}

TEST_CASE("the agent logs a warning for a malformed request",
          "[integration][agent][wire]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    zmq::context_t context(1);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect("tcp://" + agent->address());

    must_exchange(dealer, {random_bytes(16, 9)});
    bool logged = wait_until(
        [&] {
            return agent->log().find("malformed request") != std::string::npos;
        },
        milliseconds(2000));
    INFO("agent log:\n" << agent->log());
    CHECK(logged);
}

TEST_CASE(
    "a send retried with the same request id is stored once, also "
    "across a restart",
    "[integration][agent][wire]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "rq");

    zmq::context_t context(1);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect("tcp://" + agent->address());

    msgpack::zone z;
    std::map<std::string, int> no_options;
    msgpack::object entries[2] = {msgpack::object(no_options, z),
                                  msgpack::object(no_options, z)};
    msgpack::object list;
    list.type = msgpack::type::ARRAY;
    list.via.array.size = 2;
    list.via.array.ptr = entries;
    std::vector<std::string> request = {
        pack_map({{"v", msgpack::object(1, z)},
                  {"id", msgpack::object("retry-0123456789abcdef", z)},
                  {"op", msgpack::object("send", z)},
                  {"queue", msgpack::object("rq", z)},
                  {"messages", list}}),
        "first body", "second body"};

    wire_reply first = must_exchange(dealer, request);
    REQUIRE(first.ok);
    REQUIRE(first.ids.size() == 2);
    wire_reply again = must_exchange(dealer, request);
    CHECK(again.ok);
    CHECK(again.ids == first.ids);
    CHECK(must_queue_info(*agent, "rq").int_at("visible") == 2);

    // The reply cache in memory is gone after kill -9; the request id
    // stored with the messages still answers the retry.
    agent->kill_9();
    agent = must_restart_agent(*agent);
    wire_reply after = must_exchange(dealer, request);
    CHECK(after.ok);
    CHECK(after.ids == first.ids);
    CHECK(must_queue_info(*agent, "rq").int_at("visible") == 2);
}
