// How reads were answered: from the index, or from the tables and why.
// Each backend counts in its own cache line (shmem.hpp, ReadCounters);
// status() sums them.
#pragma once

#include "pg_prelude.hpp"

#include "shmem.hpp"

namespace dpg {

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

// A timeline or author-feed page, answered by the index or by the tables.
inline void count_page(bool from_index, Fallback why = kFbWarming) {
    if (L.counters == nullptr)
        return;
    if (from_index)
        L.counters->pages_index++;
    else
        L.counters->pages_sql[why]++;
}

}  // namespace dpg
