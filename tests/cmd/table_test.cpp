// Text tables for people.

#include "cmd/table.h"

#include <catch2/catch.hpp>

using dmq::cli::text_table;

TEST_CASE("columns line up, numbers to the right", "[table]") {
    text_table t({{"QUEUE"}, {"VISIBLE", true}});
    t.add_row({"orders", "3"});
    t.add_row({"a", "1200"});
    CHECK(t.str() ==
          "QUEUE   VISIBLE\n"
          "orders        3\n"
          "a          1200\n");
}

TEST_CASE("lines carry no trailing blanks", "[table]") {
    text_table t({{"A"}, {"B"}});
    t.add_row({"x", ""});
    CHECK(t.str() == "A  B\nx\n");
}
