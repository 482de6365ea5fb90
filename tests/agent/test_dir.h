// A temporary directory for one test, removed when the test ends, and a
// logger that keeps test output quiet unless DMQ_TEST_LOG is set.

#pragma once

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace dmq::test {

class test_dir {
public:
    test_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "dmq-test-XXXXXX")
                .string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~test_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline spdlog::logger& test_logger() {
    static auto log = [] {
        std::shared_ptr<spdlog::sinks::sink> sink;
        if (std::getenv("DMQ_TEST_LOG")) {
            sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        } else {
            sink = std::make_shared<spdlog::sinks::null_sink_mt>();
        }
        return std::make_shared<spdlog::logger>("test", sink);
    }();
    return *log;
}

}  // namespace dmq::test
