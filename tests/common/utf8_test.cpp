// UTF-8 validation against the well-formed sequences of the standard.

#include "common/utf8.h"

#include <catch2/catch.hpp>

#include <string>

using dmq::is_valid_utf8;

TEST_CASE("well-formed UTF-8 is accepted", "[common]") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8(std::string("nul\0inside", 10)));
    CHECK(is_valid_utf8("caf\xc3\xa9"));       // U+00E9
    CHECK(is_valid_utf8("\xe2\x82\xac"));      // U+20AC
    CHECK(is_valid_utf8("\xf0\x9f\x98\x80"));  // U+1F600
    CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
    CHECK(is_valid_utf8("\xed\x9f\xbf"));      // U+D7FF
}

TEST_CASE("malformed UTF-8 is refused", "[common]") {
    for (const char* bad : {
             "\xff\xfe",          // never valid bytes
             "\xc3",              // cut short
             "\xc0\xaf",          // overlong '/'
             "\xe0\x80\xaf",      // overlong
             "\xed\xa0\x80",      // surrogate U+D800
             "\xf4\x90\x80\x80",  // above U+10FFFF
             "\x80",              // lone continuation byte
             "ok\xe2\x82",        // cut short at the end
         }) {
        INFO(bad);
        CHECK_FALSE(is_valid_utf8(bad));
    }
}
