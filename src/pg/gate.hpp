// Whether a read may answer from the index, and the bookkeeping of how reads
// were answered.
#pragma once

#include "pg_prelude.hpp"

#include "shmem.hpp"
#include "tables.hpp"

namespace dpg {

// True when the index may answer this read: it is built for the current
// tables, this transaction has not changed them itself, and every commit the
// snapshot sees has been applied. Otherwise *why says why not, and a build
// is launched if none is under way.
bool read_gate(Fallback *why);

inline void count_index_read() {
    if (L.counters != nullptr)
        L.counters->index++;
    else
        pg_atomic_fetch_add_u64(&L.sh->reads_index, 1);
}
inline void count_fallback(Fallback why) {
    if (L.counters != nullptr)
        L.counters->sql[why]++;
    else if (L.sh != nullptr)
        pg_atomic_fetch_add_u64(&L.sh->reads_sql[why], 1);
}

}  // namespace dpg
