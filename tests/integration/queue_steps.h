// Steps the integration tests take again and again, each one a run of the
// real `dmq` binary against a test agent: create a queue, send a body,
// receive as JSON, drain a queue, read a queue's info. Functions named
// must_... end the test when the step fails; check_... only record a
// failed check. Call them from the test's own thread only.

#pragma once

#include "tests/integration/harness.h"
#include "tests/integration/json_value.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dmq::itest {

// One message as `dmq receive --format json` printed it, with the body
// decoded (from "body", or from "body_base64" for non-UTF-8 bodies).
struct received_message {
    std::string id;
    std::string receipt;
    std::int64_t receive_count = 0;
    std::string body;
    json_value json;  // the whole object, for anything else
};

// `dmq queue create NAME OPTIONS...`, which must exit 0.
void must_create_queue(const agent_process& agent, const std::string& name,
                       std::vector<std::string> options = {});

// `dmq send QUEUE OPTIONS...` with `body` on stdin (so that any bytes
// work), run to its end whatever it does.
dmq_run run_send(const agent_process& agent, const std::string& queue,
                 const std::string& body,
                 const std::vector<std::string>& options = {});

// `dmq send QUEUE` with `body` on stdin (so that any bytes work); must
// exit 0 and print one message id, which it returns.
std::string must_send(const agent_process& agent, const std::string& queue,
                      const std::string& body,
                      std::vector<std::string> options = {});

// Parses JSON Lines output of receive or peek; fails the test on any line
// that is not a message object.
std::vector<received_message> must_parse_messages(const std::string& out);

// `dmq receive QUEUE --format json OPTIONS...`; it must exit 0 (messages)
// or 1 (nothing). Returns the messages.
std::vector<received_message> must_receive_json(
    const agent_process& agent, const std::string& queue,
    std::vector<std::string> options = {});

// Receives with --delete, 1000 at a time, until a receive finds nothing
// (and, with `settle_ms`, until nothing came for that long using --wait).
std::vector<received_message> must_drain(const agent_process& agent,
                                         const std::string& queue,
                                         std::int64_t settle_ms = 0);

// `dmq queue info QUEUE --format json`, parsed; must exit 0.
json_value must_queue_info(const agent_process& agent,
                           const std::string& queue);

// visible + in_flight + delayed + held of a queue info object.
std::int64_t held_messages(const json_value& info);

// Checks `run` ended with `code`, showing the run when it did not.
void check_exit(const dmq_run& run, int code);

// Requires `run` to have ended with `code`.
void must_exit(const dmq_run& run, int code);

// Checks that stderr holds exactly one non-empty line starting with
// "dmq: error: " and that stdout is empty.
void check_one_error_line(const dmq_run& run);

// The 20 digits + ".seg" segment files of every queue directory under
// DATA/queues/, newest (highest number) last within each directory.
std::vector<fs::path> segment_files(const fs::path& data_dir);

}  // namespace dmq::itest
