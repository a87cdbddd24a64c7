// The rows a batch of ingest_jetstream() has locked FOR KEY SHARE, or
// inserted, itself: the reference triggers need not check references to
// them in the batch's own INSERTs (refs_exempt.hpp).
#pragma once

#include <cstdint>

#include "flat_table.hpp"

namespace dpg {

struct Vouched {
    ing::FlatSet<uint32_t, ing::flat::IntHash> actors;  // uids found (locked) or interned
    ing::FlatSet<int64_t, ing::flat::IntHash> posts;    // ids loaded (locked) or inserted, not deleted
    ing::FlatSet<int64_t, ing::flat::IntHash> lists;    // the same for lists

    void clear() {
        actors.clear();
        posts.clear();
        lists.clear();
    }
};

}  // namespace dpg
