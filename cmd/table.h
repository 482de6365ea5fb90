// Plain-text tables for people (queue list --long, stats, health):
// a header row, columns two spaces apart, numbers right-aligned.

#pragma once

#include <string>
#include <vector>

namespace dmq::cli {

class text_table {
public:
    struct column {
        std::string header;
        bool numeric = false;  // right-aligned
    };

    explicit text_table(std::vector<column> columns)
        : columns_(std::move(columns)) {}

    // `cells` has one entry per column.
    void add_row(std::vector<std::string> cells) {
        rows_.push_back(std::move(cells));
    }

    // The whole table, each line ending in '\n', without trailing blanks.
    std::string str() const;

private:
    std::vector<column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace dmq::cli
