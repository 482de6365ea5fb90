// Opening a queue engine on a test's directory, as the engine tests do
// again and again; the test ends if it cannot be opened.

#pragma once

#include "agent/queue/queue_engine.h"

#include "tests/agent/test_dir.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>

namespace dmq::test {

// Small (1 MiB) segments, so that tests roll them with little data.
inline std::unique_ptr<queue::queue_engine> must_open_engine(
    const std::filesystem::path& dir) {
    queue::recovery_summary summary;
    auto engine = queue::queue_engine::open({dir, 1 << 20}, test_logger(),
                                            test_logger(), summary);
    INFO((engine.is_ok() ? "" : engine.error().message()));
    REQUIRE(engine.is_ok());
    return std::move(*engine);
}

}  // namespace dmq::test
