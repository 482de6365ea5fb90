// What `dmq receive` does with messages once it holds them, however they
// came (a receive, a long poll, a subscription's push): write them out
// and, with --delete, ack them (deliver); or run the --exec command for
// each and ack or release it (handle_with_command). Shared by the long
// poll loops (receive_command.cpp) and the push loops (follow_push.cpp).
//
// The rule on signals: a message is never lost and never printed twice by
// one run. Anything received but not written out is released; what was
// written is acked (with --delete) before dmq exits.

#pragma once

#include "cmd/command.h"
#include "cmd/exec_runner.h"
#include "cmd/output_format.h"
#include "common/duration.h"
#include "common/status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dmq::cli {

struct output_options {
    bool null = false;
    bool raw = false;
    bool json = false;

    output_mode mode() const {
        return raw    ? output_mode::raw
               : null ? output_mode::null
               : json ? output_mode::json
                      : output_mode::lines;
    }
};

struct receive_options {
    std::string queue;
    // How many to receive; with --follow, the most in one request, or
    // in hand at once when the agent pushes them.
    std::int64_t max = 1;
    std::optional<millis> wait;
    std::optional<millis> visibility;
    output_options output;
    bool remove = false;  // --delete
    bool follow = false;
    std::string exec;
};

std::vector<std::string> receipts_of(
    const std::vector<message_record>& messages);

// Writes the messages to stdout in `mode` and flushes them.
status write_messages(const std::vector<message_record>& messages,
                      output_mode mode);

// Writes the messages out; with --delete, acks them (in one request) once
// they are. If writing fails, they are released for someone else.
// `acked` is false when the messages were written but the ack did not
// reach an agent: the status then says that they come back.
status deliver(command_context& ctx, const receive_options& o,
               const std::vector<message_record>& messages, bool& acked);

// Reports messages written out but not acked even when a signal ends
// dmq, since they will come back: the signal is not why the ack failed.
int fail_not_acked(const status& error);

// The visibility timeout an --exec command's message is kept invisible
// by: --visibility, else the queue's (asked for with queue_info).
result<millis> exec_visibility(command_context& ctx, const receive_options& o);

// How the message of one --exec command ended.
enum class handling {
    acked,    // the command exited 0
    failed,   // it did not: the message was released for a later retry
    stopped,  // a second signal stopped it: the message was released
};

// Runs the command for one message, then acks or releases it. An
// unavailable status when the command succeeded but the ack did not
// reach an agent.
result<handling> handle_with_command(command_context& ctx, const exec_job& job,
                                     const message_record& m);

}  // namespace dmq::cli
