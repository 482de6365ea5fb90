// Help layout; see help_formatter.h.

#include "cmd/help_formatter.h"

namespace dmq::cli {

std::string help_formatter::make_option_desc(const CLI::Option* opt) const {
    return wrap_text(CLI::Formatter::make_option_desc(opt), 79 - kColumn);
}

std::string help_formatter::make_option_opts(const CLI::Option* opt) const {
    std::string opts = CLI::Formatter::make_option_opts(opt);
    for (const char* note : {" (Env:", " Needs:", " Excludes:"}) {
        opts = opts.substr(0, opts.find(note));
    }
    return opts;
}

std::string wrap_text(const std::string& text, std::size_t width) {
    std::string out;
    std::size_t line = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find(' ', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        std::size_t word = end - start;
        if (line > 0 && line + 1 + word > width) {
            out += '\n';
            line = 0;
        } else if (line > 0) {
            out += ' ';
            ++line;
        }
        out.append(text, start, word);
        line += word;
        start = end + 1;
    }
    return out;
}

}  // namespace dmq::cli
