// Subsystem loggers sharing one stderr sink.

#include "agent/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>

namespace dmq::agent {

namespace {

constexpr std::array kSubsystems = {"agent", "storage", "net", "queue"};

}  // namespace

bool init_logging(std::string_view level) {
    auto parsed = spdlog::level::from_str(std::string(level));
    if (parsed == spdlog::level::off && level != "off") {
        return false;
    }
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    for (const char* name : kSubsystems) {
        if (spdlog::get(name)) {
            spdlog::get(name)->set_level(parsed);
            continue;
        }
        auto log = std::make_shared<spdlog::logger>(name, sink);
        log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
        log->set_level(parsed);
        log->flush_on(spdlog::level::info);
        spdlog::register_logger(log);
    }
    return true;
}

spdlog::logger& logger(std::string_view subsystem) {
    auto log = spdlog::get(std::string(subsystem));
    return log ? *log : *spdlog::default_logger();
}

}  // namespace dmq::agent
