// Common dmq steps for the integration tests; see queue_steps.h.

#include "tests/integration/queue_steps.h"

#include <catch2/catch.hpp>

#include <algorithm>

namespace dmq::itest {

void check_exit(const dmq_run& run, int code) {
    INFO(run.describe());
    CHECK(run.exit_code() == code);
}

void must_exit(const dmq_run& run, int code) {
    INFO(run.describe());
    REQUIRE(run.exit_code() == code);
}

void check_one_error_line(const dmq_run& run) {
    INFO(run.describe());
    CHECK(run.out.empty());
    auto lines = split_lines(run.err);
    CHECK(lines.size() == 1);
    if (!lines.empty()) {
        CHECK(lines.front().rfind("dmq: error: ", 0) == 0);
    }
}

void must_create_queue(const agent_process& agent, const std::string& name,
                       std::vector<std::string> options) {
    std::vector<std::string> args{"queue", "create", name};
    args.insert(args.end(), options.begin(), options.end());
    must_exit(run_dmq(agent, args), 0);
}

dmq_run run_send(const agent_process& agent, const std::string& queue,
                 const std::string& body,
                 const std::vector<std::string>& options) {
    std::vector<std::string> args{"send", queue};
    args.insert(args.end(), options.begin(), options.end());
    run_options o;
    o.input = stdin_source::bytes(body);
    return run_dmq(agent, args, o);
}

std::string must_send(const agent_process& agent, const std::string& queue,
                      const std::string& body,
                      std::vector<std::string> options) {
    dmq_run run = run_send(agent, queue, body, options);
    must_exit(run, 0);
    auto ids = split_lines(run.out);
    INFO(run.describe());
    REQUIRE(ids.size() == 1);
    REQUIRE(ids.front().size() == 24);
    return ids.front();
}

std::vector<received_message> must_parse_messages(const std::string& out) {
    std::vector<received_message> messages;
    for (const auto& line : split_lines(out)) {
        auto parsed = parse_json(line);
        INFO("line: " << printable(line) << "\nerror: " << parsed.error);
        REQUIRE(parsed.value.has_value());
        const json_value& v = *parsed.value;
        REQUIRE(v.as_object() != nullptr);

        received_message m;
        m.id = v.string_at("id").value_or("");
        m.receipt = v.string_at("receipt").value_or("");
        m.receive_count = v.int_at("receive_count").value_or(-1);
        auto text = v.string_at("body");
        auto encoded = v.string_at("body_base64");
        // Exactly one of the two body forms.
        REQUIRE(text.has_value() != encoded.has_value());
        if (text) {
            m.body = *text;
        } else {
            auto decoded = base64_decode(*encoded);
            REQUIRE(decoded.has_value());
            m.body = *decoded;
        }
        REQUIRE(m.id.size() == 24);
        m.json = v;
        messages.push_back(std::move(m));
    }
    return messages;
}

std::vector<received_message> must_receive_json(
    const agent_process& agent, const std::string& queue,
    std::vector<std::string> options) {
    std::vector<std::string> args{"receive", queue, "--format", "json"};
    args.insert(args.end(), options.begin(), options.end());
    dmq_run run = run_dmq(agent, args);
    INFO(run.describe());
    REQUIRE((run.exit_code() == 0 || run.exit_code() == 1));
    auto messages = must_parse_messages(run.out);
    // Exit 1 means nothing was received, and then nothing is printed.
    REQUIRE((run.exit_code() == 1) == messages.empty());
    return messages;
}

std::vector<received_message> must_drain(const agent_process& agent,
                                         const std::string& queue,
                                         std::int64_t settle_ms) {
    std::vector<received_message> all;
    std::vector<std::string> options{"-n", "1000", "--delete"};
    if (settle_ms > 0) {
        options.push_back("--wait");
        options.push_back(std::to_string(settle_ms) + "ms");
    }
    for (int round = 0; round < 1000; ++round) {
        auto got = must_receive_json(agent, queue, options);
        if (got.empty()) {
            return all;
        }
        for (auto& m : got) {
            all.push_back(std::move(m));
        }
    }
    FAIL("queue '" << queue << "' still gave messages after 1000 rounds");
    return all;
}

json_value must_queue_info(const agent_process& agent,
                           const std::string& queue) {
    dmq_run run = run_dmq(agent, {"queue", "info", queue, "--format", "json"});
    must_exit(run, 0);
    auto parsed = parse_json(run.out);
    INFO(run.describe() << "\nparse error: " << parsed.error);
    REQUIRE(parsed.value.has_value());
    REQUIRE(parsed.value->as_object() != nullptr);
    return *parsed.value;
}

std::int64_t held_messages(const json_value& info) {
    auto visible = info.int_at("visible");
    auto in_flight = info.int_at("in_flight");
    auto delayed = info.int_at("delayed");
    REQUIRE(visible.has_value());
    REQUIRE(in_flight.has_value());
    REQUIRE(delayed.has_value());
    return *visible + *in_flight + *delayed + info.int_at("held").value_or(0);
}

std::vector<fs::path> segment_files(const fs::path& data_dir) {
    std::vector<fs::path> out;
    fs::path root = data_dir / "queues";
    if (!fs::exists(root)) {
        return out;
    }
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(root)) {
        if (e.is_directory()) {
            dirs.push_back(e.path());
        }
    }
    std::sort(dirs.begin(), dirs.end());
    for (const auto& dir : dirs) {
        std::vector<fs::path> segs;
        for (const auto& e : fs::directory_iterator(dir)) {
            std::string name = e.path().filename().string();
            bool digits =
                name.size() == 24 && name.ends_with(".seg") &&
                std::all_of(name.begin(), name.begin() + 20,
                            [](char c) { return c >= '0' && c <= '9'; });
            if (digits) {
                segs.push_back(e.path());
            }
        }
        std::sort(segs.begin(), segs.end());
        out.insert(out.end(), segs.begin(), segs.end());
    }
    return out;
}

}  // namespace dmq::itest
