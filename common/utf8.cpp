// UTF-8 validation by the table of well-formed byte sequences in the
// Unicode standard (chapter 3, "Well-Formed UTF-8 Byte Sequences").

#include "common/utf8.h"

namespace dmq {

bool is_valid_utf8(std::string_view bytes) {
    auto in = [](unsigned char c, unsigned lo, unsigned hi) {
        return c >= lo && c <= hi;
    };
    std::size_t i = 0;
    while (i < bytes.size()) {
        auto b0 = static_cast<unsigned char>(bytes[i]);
        if (b0 < 0x80) {
            ++i;
            continue;
        }

        // The allowed range of the second byte depends on the first.
        unsigned lo = 0x80, hi = 0xbf;
        std::size_t length = 0;
        if (in(b0, 0xc2, 0xdf)) {
            length = 2;
        } else if (in(b0, 0xe0, 0xef)) {
            length = 3;
            lo = b0 == 0xe0 ? 0xa0 : 0x80;
            hi = b0 == 0xed ? 0x9f : 0xbf;
        } else if (in(b0, 0xf0, 0xf4)) {
            length = 4;
            lo = b0 == 0xf0 ? 0x90 : 0x80;
            hi = b0 == 0xf4 ? 0x8f : 0xbf;
        } else {
            return false;
        }
        if (i + length > bytes.size() ||
            !in(static_cast<unsigned char>(bytes[i + 1]), lo, hi)) {
            return false;
        }
        for (std::size_t k = 2; k < length; ++k) {
            if (!in(static_cast<unsigned char>(bytes[i + k]), 0x80, 0xbf)) {
                return false;
            }
        }
        i += length;
    }
    return true;
}

}  // namespace dmq
