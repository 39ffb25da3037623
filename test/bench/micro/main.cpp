// build/micro_bench [group...]: runs the micro-benchmark groups (all, or those whose name contains one of
// the arguments) and prints one MICRO line per figure.
#include <cstdio>

#include "harness.h"

int main(int argc, char** argv) {
    if (micro::run_groups(argc - 1, argv + 1) == 0) {
        std::fprintf(stderr, "micro_bench: no benchmark group matches\n");
        return 2;
    }
    return 0;
}
