// Recursive-descent JSON parsing and base64 decoding; see json_value.h.

#include "tests/integration/json_value.h"

#include <charconv>
#include <cstdlib>

namespace dmq::itest {

namespace {

constexpr int kMaxDepth = 64;

class parser {
public:
    explicit parser(std::string_view text) : text_(text) {}

    json_parse_result run() {
        json_parse_result out;
        skip_space();
        auto v = value(0);
        skip_space();
        if (v && pos_ != text_.size()) {
            error_ = "unexpected text after the value";
            v.reset();
        }
        if (!v) {
            out.error = error_ + " at byte " + std::to_string(pos_);
            return out;
        }
        out.value = std::move(v);
        return out;
    }

private:
    void skip_space() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                text_[pos_] == '\n' || text_[pos_] == '\r')) {
            ++pos_;
        }
    }

    bool take(char c) {
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    bool take_word(std::string_view word) {
        if (text_.substr(pos_, word.size()) == word) {
            pos_ += word.size();
            return true;
        }
        return false;
    }

    std::optional<json_value> fail(std::string why) {
        if (error_.empty()) {
            error_ = std::move(why);
        }
        return std::nullopt;
    }

    std::optional<json_value> value(int depth) {
        if (depth > kMaxDepth) {
            return fail("nested too deeply");
        }
        if (pos_ >= text_.size()) {
            return fail("unexpected end of input");
        }
        char c = text_[pos_];
        if (c == '{') {
            return object(depth);
        }
        if (c == '[') {
            return array(depth);
        }
        if (c == '"') {
            auto s = string();
            return s ? std::optional<json_value>(json_value(std::move(*s)))
                     : std::nullopt;
        }
        if (take_word("true")) {
            return json_value(true);
        }
        if (take_word("false")) {
            return json_value(false);
        }
        if (take_word("null")) {
            return json_value();
        }
        return number();
    }

    std::optional<json_value> object(int depth) {
        ++pos_;  // '{'
        json_object members;
        skip_space();
        if (take('}')) {
            return json_value(std::move(members));
        }
        for (;;) {
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != '"') {
                return fail("expected a member name");
            }
            auto key = string();
            if (!key) {
                return std::nullopt;
            }
            skip_space();
            if (!take(':')) {
                return fail("expected ':'");
            }
            skip_space();
            auto v = value(depth + 1);
            if (!v) {
                return std::nullopt;
            }
            if (!members.emplace(std::move(*key), std::move(*v)).second) {
                return fail("duplicate member name");
            }
            skip_space();
            if (take('}')) {
                return json_value(std::move(members));
            }
            if (!take(',')) {
                return fail("expected ',' or '}'");
            }
        }
    }

    std::optional<json_value> array(int depth) {
        ++pos_;  // '['
        json_array items;
        skip_space();
        if (take(']')) {
            return json_value(std::move(items));
        }
        for (;;) {
            skip_space();
            auto v = value(depth + 1);
            if (!v) {
                return std::nullopt;
            }
            items.push_back(std::move(*v));
            skip_space();
            if (take(']')) {
                return json_value(std::move(items));
            }
            if (!take(',')) {
                return fail("expected ',' or ']'");
            }
        }
    }

    std::optional<unsigned> hex4() {
        if (pos_ + 4 > text_.size()) {
            return std::nullopt;
        }
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            char c = text_[pos_++];
            int d = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
            if (d < 0) {
                return std::nullopt;
            }
            v = v * 16 + static_cast<unsigned>(d);
        }
        return v;
    }

    static void append_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    bool escape(std::string& out) {
        if (pos_ >= text_.size()) {
            return false;
        }
        char c = text_[pos_++];
        switch (c) {
            case '"':
            case '\\':
            case '/':
                out += c;
                return true;
            case 'b':
                out += '\b';
                return true;
            case 'f':
                out += '\f';
                return true;
            case 'n':
                out += '\n';
                return true;
            case 'r':
                out += '\r';
                return true;
            case 't':
                out += '\t';
                return true;
            case 'u':
                break;
            default:
                return false;
        }
        auto cp = hex4();
        if (!cp) {
            return false;
        }
        if (*cp >= 0xd800 && *cp < 0xdc00) {
            // A high surrogate must be followed by an escaped low one.
            if (!take_word("\\u")) {
                return false;
            }
            auto low = hex4();
            if (!low || *low < 0xdc00 || *low > 0xdfff) {
                return false;
            }
            *cp = 0x10000 + ((*cp - 0xd800) << 10) + (*low - 0xdc00);
        } else if (*cp >= 0xdc00 && *cp <= 0xdfff) {
            return false;
        }
        append_utf8(out, *cp);
        return true;
    }

    std::optional<std::string> string() {
        ++pos_;  // '"'
        std::string out;
        while (pos_ < text_.size()) {
            unsigned char c = static_cast<unsigned char>(text_[pos_]);
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c < 0x20) {
                fail("raw control character in a string");
                return std::nullopt;
            }
            ++pos_;
            if (c == '\\') {
                if (!escape(out)) {
                    fail("bad escape in a string");
                    return std::nullopt;
                }
                continue;
            }
            out += static_cast<char>(c);
        }
        fail("unterminated string");
        return std::nullopt;
    }

    std::optional<json_value> number() {
        std::size_t start = pos_;
        take('-');
        bool digits = false;
        bool integral = true;
        while (pos_ < text_.size() && text_[pos_] >= '0' &&
               text_[pos_] <= '9') {
            ++pos_;
            digits = true;
        }
        if (take('.')) {
            integral = false;
            while (pos_ < text_.size() && text_[pos_] >= '0' &&
                   text_[pos_] <= '9') {
                ++pos_;
            }
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            integral = false;
            ++pos_;
            if (!take('+')) {
                take('-');
            }
            while (pos_ < text_.size() && text_[pos_] >= '0' &&
                   text_[pos_] <= '9') {
                ++pos_;
            }
        }
        if (!digits) {
            return fail("expected a value");
        }
        std::string_view s = text_.substr(start, pos_ - start);
        if (integral) {
            std::int64_t v = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec == std::errc() && p == s.data() + s.size()) {
                return json_value(v);
            }
        }
        return json_value(std::strtod(std::string(s).c_str(), nullptr));
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    std::string error_;
};

}  // namespace

const json_array* json_value::as_array() const {
    auto* p = std::get_if<std::shared_ptr<json_array>>(&v_);
    return p ? p->get() : nullptr;
}

const json_object* json_value::as_object() const {
    auto* p = std::get_if<std::shared_ptr<json_object>>(&v_);
    return p ? p->get() : nullptr;
}

const json_value* json_value::find(std::string_view key) const {
    const json_object* o = as_object();
    if (!o) {
        return nullptr;
    }
    auto it = o->find(key);
    return it == o->end() ? nullptr : &it->second;
}

std::optional<std::string> json_value::string_at(std::string_view key) const {
    const json_value* v = find(key);
    if (!v || !v->as_string()) {
        return std::nullopt;
    }
    return *v->as_string();
}

std::optional<std::int64_t> json_value::int_at(std::string_view key) const {
    const json_value* v = find(key);
    if (!v || !v->as_int()) {
        return std::nullopt;
    }
    return *v->as_int();
}

json_parse_result parse_json(std::string_view text) {
    return parser(text).run();
}

std::optional<std::string> base64_decode(std::string_view text) {
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    auto sextet = [&](char c) -> int {
        std::size_t at = kAlphabet.find(c);
        return at == std::string_view::npos ? -1 : static_cast<int>(at);
    };
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        int pad = 0;
        std::uint32_t n = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            char c = text[i + j];
            if (c == '=' && last && j >= 2) {
                ++pad;
                n <<= 6;
                continue;
            }
            int v = sextet(c);
            if (v < 0 || pad > 0) {
                return std::nullopt;
            }
            n = (n << 6) | static_cast<std::uint32_t>(v);
        }
        out += static_cast<char>((n >> 16) & 0xff);
        if (pad < 2) {
            out += static_cast<char>((n >> 8) & 0xff);
        }
        if (pad < 1) {
            out += static_cast<char>(n & 0xff);
        }
    }
    return out;
}

}  // namespace dmq::itest
