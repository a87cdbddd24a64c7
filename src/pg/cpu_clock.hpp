// The backend's CPU time, for the ingest's profile lines (DEBUG1/DEBUG2):
// on a machine shared with other work, wall time says more about the
// neighbours than about the code.
#pragma once

#include <time.h>

namespace dpg {

// CPU milliseconds this process has used.
inline double cpu_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

}  // namespace dpg
