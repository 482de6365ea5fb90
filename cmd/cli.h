// The dmq command line as a whole: builds the CLI11 app from the command
// table and the global options, parses argv, turns parse errors into
// "dmq: error: ..." lines with exit status 2, and runs the chosen command.

#pragma once

namespace dmq::cli {

// Runs dmq with these arguments; returns the process exit status.
int run(int argc, char** argv);

}  // namespace dmq::cli
