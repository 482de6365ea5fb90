// Reads the agent's config file: one `key = value` setting per line, with
// `#` comments and blank lines. A value is a double-quoted string (with \"
// and \\ escapes) or a bare word of letters, digits and ._:/- characters.
// This is the subset of TOML the agent needs, parsed strictly: anything
// else is an error naming the file, the line and what to write instead.

#pragma once

#include "common/status.h"

#include <filesystem>
#include <map>
#include <set>
#include <string>

namespace dmq::agent {

// Returns the settings by key. bad_request for a malformed line, a key not
// in `known`, or a key given twice; io_error when the file is unreadable.
result<std::map<std::string, std::string>> read_config_file(
    const std::filesystem::path& path, const std::set<std::string>& known);

}  // namespace dmq::agent
