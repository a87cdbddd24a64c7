// After a page's rest was read from the tables below the author rings'
// horizons (sql_page_rest), the rows it read give each source's ring the
// items between its horizon and where the read covered it (core
// ring_deepen.hpp): the same page, read again, comes from memory. This is
// how the bound by age (ring_max_age) becomes a bound by age and by use.
#pragma once

#include "pg_prelude.hpp"

#include "fallback.hpp"

namespace dpg {

// sources[i]'s ring had horizons[i] when the index was read (applies
// counted `started`); the rest was read below `cut` (exclusive) and
// covered as `cover` says. A ring takes what it lacks only if the read
// reached its horizon (horizon < cut) and no commit was applied since
// `started`: the rows are then exactly the tables' items where the ring
// left off. Each ring changes under its stripe lock and counts as an
// apply (its lock-free readers retry). Takes and releases stripe locks:
// call it holding none.
void deepen_rings(uint64 started, const uint32 *sources, const dp::ItemKey *horizons,
                  size_t n_sources, dp::ItemKey cut, const RestCover &cover);

}  // namespace dpg
