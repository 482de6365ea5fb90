// Text tables; see table.h.

#include "cmd/table.h"

#include <algorithm>

namespace dmq::cli {

std::string text_table::str() const {
    std::vector<std::size_t> widths;
    for (const auto& c : columns_) {
        widths.push_back(c.header.size());
    }
    for (const auto& row : rows_) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    }

    auto render = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
            std::string pad(widths[i] - cells[i].size(), ' ');
            line += i > 0 ? "  " : "";
            line += columns_[i].numeric ? pad + cells[i] : cells[i] + pad;
        }
        line.erase(line.find_last_not_of(' ') + 1);
        return line + '\n';
    };

    std::vector<std::string> headers;
    for (const auto& c : columns_) {
        headers.push_back(c.header);
    }
    std::string out = render(headers);
    for (const auto& row : rows_) {
        out += render(row);
    }
    return out;
}

}  // namespace dmq::cli
