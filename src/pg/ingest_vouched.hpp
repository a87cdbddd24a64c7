// The rows a batch of ingest_jetstream() has locked FOR KEY SHARE, or
// inserted, itself: the reference triggers need not check references to
// them in the batch's own INSERTs (refs_exempt.hpp).
#pragma once

#include <cstdint>
#include <unordered_set>

namespace dpg {

struct Vouched {
    std::unordered_set<uint32_t> actors;  // uids found (locked) or interned
    std::unordered_set<int64_t> posts;    // ids loaded (locked) or inserted, not deleted
    std::unordered_set<int64_t> lists;    // the same for lists

    void clear() {
        actors.clear();
        posts.clear();
        lists.clear();
    }
};

}  // namespace dpg
