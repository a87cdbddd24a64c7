// Keeping the index under dataplane.memory_limit: when it is over its high
// mark, feed rings that were not read lately are freed (a CLOCK sweep over
// the directory, one leaf of users at a time), until it is under its low
// mark. Feed rings are rebuilt on their viewer's next read; the follow
// graph and the author rings are never evicted (what does not fit of them
// is answered from the tables).
#pragma once

#include "pg_prelude.hpp"

namespace dpg {

// Sweeps if memory use is above the high mark and no other sweep runs.
// Takes stripe locks: call it holding none.
void evict_if_needed();

// Sweeps until `bytes` more are free (or every ring has been visited twice).
void evict_bytes(uint64 bytes);

}  // namespace dpg
