// Keeping the index under dataplane.memory_limit: when it is over its high
// mark, feed rings that were not read lately are freed (a CLOCK sweep over
// the directory, one leaf of users at a time), until it is under its low
// mark. Feed rings are rebuilt on their viewer's next read; author rings
// that took older items for a page (ring_deepen.hpp) are trimmed back to
// the age bound the second time the sweep passes them; the follow graph
// and the rest of the author rings are never evicted (what does not fit of
// them is answered from the tables).
#pragma once

#include "pg_prelude.hpp"

namespace dpg {

// Sweeps if memory use is above the high mark and no other sweep runs.
// Takes stripe locks: call it holding none.
void evict_if_needed();

// Sweeps until `bytes` more are free (or every ring has been visited twice).
void evict_bytes(uint64 bytes);

// Can `bytes` more be held freely? Below the low mark (where a sweep
// stops), unless memory was found full lately: then only once use falls
// a fifth below where it was (what a sweep frees goes to admitted viewers,
// not to whoever reads next; and the allocator's own overhead can fill a
// small area before the marks count it full).
bool memory_has_room(uint64 bytes);

// A feed ring could not be allocated: memory is full.
void note_memory_full();

}  // namespace dpg
