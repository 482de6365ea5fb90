// Message bodies through the real CLI and agent: text files line by line,
// binary bytes, empty bodies, bodies that look like options or URLs, and
// the size limit (field cases R14, R15, R16, R18, R20).

#include "tests/integration/harness.h"
#include "tests/integration/queue_steps.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace dmq::itest;

namespace {

// A text file every Debian machine has, else one of this project's docs.
fs::path real_text_file() {
    for (const char* p : {"/usr/share/common-licenses/GPL-3",
                          "/usr/share/common-licenses/Apache-2.0"}) {
        if (fs::exists(p)) {
            return p;
        }
    }
    return fs::path(DMQ_SOURCE_DIR) / "docs" / "protocol.md";
}

// Sends `bytes` (from a file, or through a pipe) and receives them back
// with --raw --delete; the output must be the same bytes, nothing added.
void check_raw_round_trip(const agent_process& agent, const std::string& q,
                          const std::string& bytes, stdin_source input) {
    INFO("body: " << printable(bytes, 80) << " (" << bytes.size() << " bytes)");
    run_options o;
    o.input = std::move(input);
    dmq_run sent = run_dmq(agent, {"send", q}, o);
    must_exit(sent, 0);
    CHECK(split_lines(sent.out).size() == 1);

    // Exactly one message, whatever bytes the body holds (R14 step 5).
    json_value info = must_queue_info(agent, q);
    CHECK(info.int_at("visible") == 1);
    CHECK(info.int_at("bytes") == static_cast<std::int64_t>(bytes.size()));

    dmq_run got = run_dmq(agent, {"receive", q, "--raw", "--delete"});
    must_exit(got, 0);
    CHECK(got.out.size() == bytes.size());
    CHECK(got.out == bytes);
    CHECK(held_messages(must_queue_info(agent, q)) == 0);
}

// A listening TCP socket on 127.0.0.1, to show that nothing connects.
class idle_listener {
public:
    idle_listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd_, 8) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
    }
    ~idle_listener() { ::close(fd_); }

    int port() const { return port_; }

    // Whether anyone has connected since the listener opened.
    bool was_contacted() {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
            ::close(c);
            return true;
        }
        return false;
    }

private:
    int fd_ = -1;
    int port_ = 0;
};

}  // namespace

TEST_CASE("every line of a real text file round-trips with --lines",
          "[integration][body]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "lines");

    fs::path source = real_text_file();
    std::string text = read_file(source);
    INFO("source: " << source);
    REQUIRE(!text.empty());
    // The file ends with a newline, so each piece is one line; empty
    // lines are empty messages.
    auto lines = split_lines(text);

    run_options o;
    o.input = stdin_source::file(source);
    dmq_run sent = run_dmq(*agent, {"send", "lines", "--lines"}, o);
    must_exit(sent, 0);
    auto ids = split_lines(sent.out);
    CHECK(ids.size() == lines.size());
    std::sort(ids.begin(), ids.end());
    CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());

    // Standard queues are best-effort FIFO, so the comparison ignores
    // order: the received bodies must equal the lines as a multiset.
    auto got = must_drain(*agent, "lines");
    std::vector<std::string> bodies;
    for (const auto& m : got) {
        bodies.push_back(m.body);
    }
    std::sort(bodies.begin(), bodies.end());
    std::sort(lines.begin(), lines.end());
    REQUIRE(bodies.size() == lines.size());
    auto diff = std::mismatch(bodies.begin(), bodies.end(), lines.begin());
    INFO("first difference: received '"
         << (diff.first == bodies.end() ? "" : printable(*diff.first))
         << "', line '"
         << (diff.second == lines.end() ? "" : printable(*diff.second)) << "'");
    CHECK(diff.first == bodies.end());
}

TEST_CASE("binary bodies round-trip byte for byte through stdin and --raw",
          "[integration][body]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "bq");

    std::string high;
    for (int b = 128; b < 256; ++b) {
        high += static_cast<char>(b);
    }
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"nul.bin", std::string("a\0b\0", 4)},
        {"badutf8.bin", "\xff\xfe\xc3\x28"},
        {"crlf.bin", "x\r\ny\r\n"},
        {"onenul.bin", std::string(1, '\0')},
        {"onenl.bin", "\n"},
        {"high.bin", high},
        {"rnd.bin", random_bytes(64 * 1024, 14)},
        {"no-final-newline.txt", "last line has no newline"},
    };
    for (const auto& [name, bytes] : cases) {
        fs::path file = tmp / name;
        write_file(file, bytes);
        SECTION(name + " from a file") {
            check_raw_round_trip(*agent, "bq", bytes, stdin_source::file(file));
        }
        SECTION(name + " through a pipe") {
            check_raw_round_trip(*agent, "bq", bytes,
                                 stdin_source::bytes(bytes));
        }
    }
}

TEST_CASE("JSON output carries NULs and invalid UTF-8 without loss",
          "[integration][body]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "jq");

    for (const std::string& bytes :
         {std::string("a\0b\0", 4), std::string("\xff\xfe\xc3\x28"),
          std::string("caf\xc3\xa9 \"quoted\" \\ \t\x01")}) {
        INFO("body: " << printable(bytes));
        must_send(*agent, "jq", bytes);
        auto got = must_receive_json(*agent, "jq", {"--delete"});
        REQUIRE(got.size() == 1);
        CHECK(got.front().body == bytes);
        // A lossy replacement would show up as U+FFFD.
        CHECK(got.front().body.find("\xef\xbf\xbd") == std::string::npos);
    }
}

TEST_CASE("printf abc stores exactly three bytes, as the argument form does",
          "[integration][body]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "nq");

    must_send(*agent, "nq", "abc");
    CHECK(must_queue_info(*agent, "nq").int_at("bytes") == 3);
    dmq_run piped = run_dmq(*agent, {"receive", "nq", "--raw", "--delete"});
    must_exit(piped, 0);
    CHECK(piped.out == "abc");

    must_exit(run_dmq(*agent, {"send", "nq", "abc"}), 0);
    dmq_run argued = run_dmq(*agent, {"receive", "nq", "--raw", "--delete"});
    must_exit(argued, 0);
    CHECK(argued.out == piped.out);

    // Without --lines, several lines on stdin are one message (R15 4).
    must_send(*agent, "nq", "l1\nl2\nl3\n");
    CHECK(must_queue_info(*agent, "nq").int_at("visible") == 1);
    must_drain(*agent, "nq");
}

TEST_CASE("stdin bodies keep their whitespace and survive five hops intact",
          "[integration][body]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "hq");

    // R15: byte-exact is best; at most one trailing newline may go, and
    // leading whitespace and inner blank lines never do.
    for (const std::string& input :
         {std::string("abc\n"), std::string("  indented\n\n")}) {
        must_send(*agent, "hq", input);
        dmq_run got = run_dmq(*agent, {"receive", "hq", "--raw", "--delete"});
        must_exit(got, 0);
        INFO("input: " << printable(input) << ", body: " << printable(got.out));
        CHECK(
            (got.out == input || got.out == input.substr(0, input.size() - 1)));
    }

    // Receive and send again five times: no newline grows or shrinks.
    const std::string original = "first line\n\n  third line\r\nend\n";
    std::string body = original;
    must_send(*agent, "hq", body);
    for (int hop = 0; hop < 5; ++hop) {
        dmq_run got = run_dmq(*agent, {"receive", "hq", "--raw", "--delete"});
        must_exit(got, 0);
        body = got.out;
        must_send(*agent, "hq", body);
    }
    dmq_run last = run_dmq(*agent, {"receive", "hq", "--raw", "--delete"});
    must_exit(last, 0);
    INFO("after five hops: " << printable(last.out));
    CHECK(last.out == original);
}

TEST_CASE("a body that looks like an option, a URL or a file is sent as is",
          "[integration][body]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "uq");
    idle_listener listener;

    std::string url =
        "http://127.0.0.1:" + std::to_string(listener.port()) + "/secret";
    const std::vector<std::vector<std::string>> sends = {
        {"send", "uq", "--", "--help"},
        {"send", "uq", "--", "-n"},
        {"send", "uq", url},
        {"send", "uq", "file:///etc/hostname"},
        {"send", "uq", "@/etc/hostname"},
    };
    for (const auto& args : sends) {
        dmq_run sent = run_dmq(*agent, args);
        must_exit(sent, 0);
        dmq_run got = run_dmq(*agent, {"receive", "uq", "--raw", "--delete"});
        must_exit(got, 0);
        CHECK(got.out == args.back());
    }
    // Nothing fetched the URL (R18).
    CHECK_FALSE(listener.was_contacted());
}

TEST_CASE("an empty body is one empty message however it is given",
          "[integration][body]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "eq");

    struct form {
        const char* what;
        std::vector<std::string> args;
        stdin_source input;
    };
    const std::vector<form> forms = {
        {"dmq send eq ''", {"send", "eq", ""}, stdin_source::null_device()},
        {"printf '' | dmq send eq", {"send", "eq"}, stdin_source::bytes("")},
        {"dmq send eq </dev/null", {"send", "eq"}, stdin_source::null_device()},
    };
    std::int64_t expected = 0;
    for (const auto& f : forms) {
        INFO(f.what);
        run_options o;
        o.input = f.input;
        dmq_run sent = run_dmq(*agent, f.args, o);
        check_exit(sent, 0);
        CHECK(split_lines(sent.out).size() == 1);
        CHECK(must_queue_info(*agent, "eq").int_at("visible") == ++expected);
    }

    // An empty message is a success (exit 0), printed as nothing with
    // --raw and as an empty body in JSON.
    dmq_run raw = run_dmq(*agent, {"receive", "eq", "--raw", "--delete"});
    check_exit(raw, 0);
    CHECK(raw.out.empty());
    for (int i = 0; i < 2; ++i) {
        auto got = must_receive_json(*agent, "eq", {"--delete"});
        REQUIRE(got.size() == 1);
        CHECK(got.front().body.empty());
    }

    // An empty queue is exit 1, and a long poll on it lasts its wait.
    dmq_run none = run_dmq(*agent, {"receive", "eq"});
    check_exit(none, 1);
    CHECK(none.out.empty());
    dmq_run waited = run_dmq(*agent, {"receive", "eq", "--wait", "1s"});
    check_exit(waited, 1);
    CHECK(waited.elapsed.count() >= 950);
    CHECK(waited.elapsed.count() < 3000);
}

TEST_CASE(
    "a body of the queue's maximum size is accepted; one byte more is "
    "refused at once and stores nothing",
    "[integration][body][limits]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "lg", {"--max-size", "1MiB"});
    CHECK(must_queue_info(*agent, "lg").int_at("max_size") == 1 << 20);

    std::string max = random_bytes(1 << 20, 20);
    write_file(tmp / "max.bin", max);
    check_raw_round_trip(*agent, "lg", max,
                         stdin_source::file(tmp / "max.bin"));

    std::string over = random_bytes((1 << 20) + 1, 21);
    write_file(tmp / "over.bin", over);
    for (auto input :
         {stdin_source::file(tmp / "over.bin"), stdin_source::bytes(over)}) {
        run_options o;
        o.input = input;
        dmq_run refused = run_dmq(*agent, {"send", "lg"}, o);
        check_exit(refused, 5);
        check_one_error_line(refused);
        INFO(refused.describe());
        CHECK(refused.elapsed.count() < 2000);
        // The error names the limit.
        CHECK((refused.err.find("1MiB") != std::string::npos ||
               refused.err.find("1048576") != std::string::npos));
        CHECK(held_messages(must_queue_info(*agent, "lg")) == 0);
    }
}

TEST_CASE("a 16 MiB body, the largest any queue takes, round-trips",
          "[integration][body][limits]") {
    temp_dir tmp;
    auto agent = must_start_agent(tmp / "data");
    must_create_queue(*agent, "huge", {"--max-size", "16MiB"});

    std::string max = random_bytes(16 << 20, 16);
    write_file(tmp / "max.bin", max);
    check_raw_round_trip(*agent, "huge", max,
                         stdin_source::file(tmp / "max.bin"));

    // No queue may take more: refused before or by the agent.
    write_file(tmp / "over.bin", max + "x");
    run_options o;
    o.input = stdin_source::file(tmp / "over.bin");
    dmq_run refused = run_dmq(*agent, {"send", "huge"}, o);
    check_exit(refused, 5);
    check_one_error_line(refused);
    CHECK(refused.elapsed.count() < 2000);
    CHECK(held_messages(must_queue_info(*agent, "huge")) == 0);
    check_exit(
        run_dmq(*agent, {"queue", "create", "bigger", "--max-size", "17MiB"}),
        2);
}
