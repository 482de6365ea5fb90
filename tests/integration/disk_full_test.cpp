// A full disk (field case: disk-full handling): the agent refuses sends
// with a clear error while consumers can still drain, and no stored
// message is lost or damaged. Needs a small tmpfs, so it runs only where
// the test may mount one (as root); elsewhere it says so and passes.

#include "tests/integration/harness.h"
#include "tests/integration/queue_steps.h"

#include <catch2/catch.hpp>

#include <sys/mount.h>

using namespace dmq::itest;

namespace {

// A 4 MiB tmpfs, unmounted when the test ends.
class small_disk {
public:
    explicit small_disk(const fs::path& where) : where_(where) {
        fs::create_directories(where_);
        mounted_ = ::mount("tmpfs", where_.c_str(), "tmpfs", 0, "size=4m") == 0;
    }
    ~small_disk() {
        if (mounted_) {
            ::umount2(where_.c_str(), MNT_DETACH);
        }
    }
    bool mounted() const { return mounted_; }

private:
    fs::path where_;
    bool mounted_ = false;
};

}  // namespace

TEST_CASE("a nearly full disk refuses sends but lets consumers drain",
          "[integration][disk]") {
    temp_dir tmp;
    small_disk disk(tmp / "disk");
    if (!disk.mounted()) {
        WARN("cannot mount a tmpfs here (not root?); disk-full test not run");
        return;
    }
    auto agent =
        must_start_agent(tmp / "disk" / "data", 0,
                         {"--segment-size", "1MiB", "--min-free-disk", "1MiB"});
    must_create_queue(*agent, "fq", {"--max-size", "1MiB"});

    std::string body = random_bytes(200'000, 7);
    int stored = 0;
    dmq_run refused;
    for (int i = 0; i < 40; ++i) {
        run_options options;
        options.input = stdin_source::bytes(body);
        dmq_run run = run_dmq(*agent, {"send", "-q", "fq"}, options);
        if (run.exit_code() != 0) {
            refused = run;
            break;
        }
        ++stored;
    }
    INFO(refused.describe());
    REQUIRE(stored > 0);
    REQUIRE(stored < 40);
    CHECK(refused.exit_code() == 6);
    CHECK_THAT(refused.err, Catch::Contains("disk is nearly full"));
    CHECK(refused.out.empty());

    // Every acknowledged message comes back whole, and the agent is up.
    auto drained = must_drain(*agent, "fq");
    CHECK(static_cast<int>(drained.size()) == stored);
    for (const auto& m : drained) {
        CHECK(m.body == body);
    }
    CHECK(agent->running());
    check_exit(run_dmq(*agent, {"health"}), 0);
}
