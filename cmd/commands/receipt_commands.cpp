// dmq ack, release and extend: acting on messages received earlier, by
// the receipts that `dmq receive --format json` printed. Each sends all
// its receipts in one request; every refused receipt gets its own error
// line, and any refusal makes the exit status non-zero.

#include "cmd/cli_options.h"
#include "cmd/commands/commands.h"
#include "cmd/exit_codes.h"
#include "cmd/limits.h"
#include "cmd/receipt_ops.h"

namespace dmq::cli {

command_runner setup_ack(CLI::App& cmd) {
    struct options {
        std::string queue;
        std::vector<std::string> receipts;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    cmd.add_option("RECEIPT", o->receipts,
                   "receipts of the messages to delete, all sent in one "
                   "request")
        ->required();
    return [o](command_context& ctx) {
        status acked = ack_receipts(ctx.client(), o->queue, o->receipts);
        return acked ? kExitOk : fail(acked);
    };
}

command_runner setup_release(CLI::App& cmd) {
    struct options {
        std::string queue;
        std::vector<std::string> receipts;
        std::optional<millis> delay;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    cmd.add_option("RECEIPT", o->receipts,
                   "receipts of the messages, all sent in one request")
        ->required();
    add_duration_option(cmd, "--delay", o->delay,
                        "make them visible only after DUR (at most 12h) "
                        "[default: 0s]",
                        kReleaseDelayRange);
    return [o](command_context& ctx) {
        status released = release_receipts(ctx.client(), o->queue, o->receipts,
                                           o->delay.value_or(millis(0)));
        return released ? kExitOk : fail(released);
    };
}

command_runner setup_extend(CLI::App& cmd) {
    struct options {
        std::string queue;
        std::vector<std::string> receipts;
        std::optional<millis> visibility;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    cmd.add_option("RECEIPT", o->receipts,
                   "receipts of the messages, all sent in one request")
        ->required();
    add_duration_option(cmd, "--visibility", o->visibility,
                        "keep the messages invisible for DUR from now (at "
                        "most 12h)",
                        kVisibilityRange)
        ->required();
    return [o](command_context& ctx) {
        status extended = extend_receipts(ctx.client(), o->queue, o->receipts,
                                          *o->visibility);
        return extended ? kExitOk : fail(extended);
    };
}

}  // namespace dmq::cli
