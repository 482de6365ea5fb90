// One named spdlog logger per agent subsystem ("agent", "storage", "net",
// "queue"), all writing one line per event to stderr. Created once at
// startup by main(); any thread may log through them afterwards.
// Level policy: docs/logging.md.

#pragma once

#include <spdlog/logger.h>

#include <string_view>

namespace dmq::agent {

// Creates every subsystem logger at `level` ("info", "debug", ...).
// Returns false if the level name is unknown.
bool init_logging(std::string_view level);

spdlog::logger& logger(std::string_view subsystem);

}  // namespace dmq::agent
