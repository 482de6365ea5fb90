// dmq ack, release and extend: acting on messages received earlier, by
// the receipt that `dmq receive --format json` printed.

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
    cmd.add_option("RECEIPT", o->receipts, "receipts of the messages to delete")
        ->required();
    return [o](command_context& ctx) {
        status acked = ack_receipts(ctx.client(), o->queue, o->receipts);
        return acked ? kExitOk : fail(acked);
    };
}

command_runner setup_release(CLI::App& cmd) {
    struct options {
        std::string queue;
        std::string receipt;
        std::optional<millis> delay;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    cmd.add_option("RECEIPT", o->receipt, "receipt of the message")->required();
    add_duration_option(cmd, "--delay", o->delay,
                        "make it visible only after DUR (at most 15m) "
                        "[default: 0s]",
                        kDelayRange);
    return [o](command_context& ctx) {
        status released = release_receipt(ctx.client(), o->queue, o->receipt,
                                          o->delay.value_or(millis(0)));
        return released ? kExitOk : fail(released);
    };
}

command_runner setup_extend(CLI::App& cmd) {
    struct options {
        std::string queue;
        std::string receipt;
        std::optional<millis> visibility;
    };
    auto o = std::make_shared<options>();
    add_queue_argument(cmd, o->queue);
    cmd.add_option("RECEIPT", o->receipt, "receipt of the message")->required();
    add_duration_option(cmd, "--visibility", o->visibility,
                        "keep the message invisible for DUR from now (at "
                        "most 12h)",
                        kVisibilityRange)
        ->required();
    return [o](command_context& ctx) {
        auto reply = ctx.client().call(
            "extend", {{"queue", o->queue},
                       {"receipt", o->receipt},
                       {"visibility_ms",
                        static_cast<std::int64_t>(o->visibility->count())}});
        return reply ? kExitOk : fail(reply.error());
    };
}

}  // namespace dmq::cli
