// Queue name rules and typo suggestions.

#include "common/names.h"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("queue names allow letters, digits, dot, dash and underscore",
          "[common]") {
    CHECK(dmq::validate_queue_name("orders").is_ok());
    CHECK(dmq::validate_queue_name("a.b-c_D9").is_ok());
    CHECK(dmq::validate_queue_name(std::string(80, 'x')).is_ok());
}

TEST_CASE("queue names outside the rule are refused", "[common]") {
    for (const std::string& bad :
         {std::string(), std::string(81, 'x'), std::string("a b"),
          std::string("a/b"), std::string("caf\xc3\xa9"), std::string("q\0", 2),
          std::string("../x")}) {
        CHECK_FALSE(dmq::validate_queue_name(bad).is_ok());
    }
}

TEST_CASE("a mistyped queue name suggests the close one", "[common]") {
    std::vector<std::string> names{"orders", "invoices", "jobs"};
    CHECK(dmq::closest_name("ordrs", names) == "orders");
    CHECK(dmq::closest_name("jbos", names) == "jobs");
    CHECK(dmq::closest_name("zzzzzzzz", names).empty());
    CHECK(dmq::closest_name("x", {}).empty());
}
