// How `dmq --help` lays out options: descriptions wrapped to fit 80
// columns under their own column, without CLI11's "(Env:...)", "Needs:"
// and "Excludes:" notes, which push descriptions to the next line (the
// descriptions say what matters).

#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace dmq::cli {

class help_formatter : public CLI::Formatter {
public:
    help_formatter() { column_width(kColumn); }

    std::string make_option_desc(const CLI::Option* opt) const override;
    std::string make_option_opts(const CLI::Option* opt) const override;

private:
    static constexpr std::size_t kColumn = 26;
};

// Breaks `text` into lines of at most `width` characters, at spaces.
std::string wrap_text(const std::string& text, std::size_t width);

}  // namespace dmq::cli
