// UTF-8 validation by the table of well-formed byte sequences in the
// Unicode standard (chapter 3, "Well-Formed UTF-8 Byte Sequences").

#include "common/utf8.h"

namespace dmq {

std::size_t utf8_sequence_length(std::string_view s) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    auto in = [&](std::size_t i, unsigned lo, unsigned hi) {
        return i < s.size() && byte(i) >= lo && byte(i) <= hi;
    };

    unsigned lead = byte(0);
    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xc2 && lead <= 0xdf) {
        return in(1, 0x80, 0xbf) ? 2 : 0;
    }
    if (lead >= 0xe0 && lead <= 0xef) {
        unsigned lo = lead == 0xe0 ? 0xa0 : 0x80;  // no overlong forms
        unsigned hi = lead == 0xed ? 0x9f : 0xbf;  // no surrogates
        return in(1, lo, hi) && in(2, 0x80, 0xbf) ? 3 : 0;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
        unsigned lo = lead == 0xf0 ? 0x90 : 0x80;  // no overlong forms
        unsigned hi = lead == 0xf4 ? 0x8f : 0xbf;  // nothing past U+10FFFF
        return in(1, lo, hi) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
    }
    return 0;
}

bool is_valid_utf8(std::string_view bytes) {
    while (!bytes.empty()) {
        std::size_t length = utf8_sequence_length(bytes);
        if (length == 0) {
            return false;
        }
        bytes.remove_prefix(length);
    }
    return true;
}

std::string printable(std::string_view bytes) {
    static const char* kHex = "0123456789abcdef";
    std::string out;
    while (!bytes.empty()) {
        std::size_t n = utf8_sequence_length(bytes);
        auto c = static_cast<unsigned char>(bytes[0]);
        if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f))) {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
            n = 1;
        } else {
            out.append(bytes.substr(0, n));
        }
        bytes.remove_prefix(n);
    }
    return out;
}

}  // namespace dmq
