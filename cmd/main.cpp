// Entry point of the dmq command-line tool; everything is in cli.cpp.

#include "cmd/cli.h"
#include "cmd/signals.h"

int main(int argc, char** argv) {
    dmq::cli::signals::install();
    return dmq::cli::run(argc, argv);
}
