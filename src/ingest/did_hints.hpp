// Hints from DID to uid that a backend keeps from one ingest batch to the
// next (PostgreSQL-free; used by src/pg/fn_ingest.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "flat_table.hpp"

namespace ing {

// Hashes text keys of a FlatMap (hash_text).
struct TextHash {
    size_t operator()(std::string_view s) const { return hash_text(s); }
};

// The uids of DIDs a backend has met in earlier batches: hints, which let
// a batch look most of its DIDs up by uid (an int4 key) rather than by DID
// (text of about 32 bytes; measured on bench/ingest's stream, before the
// DIDs were COLLATE "C", 1.5 against 2.5 us of CPU per DID, the lock
// included). A session then looks a DID up by its text once, the first
// time it meets it (or after the hints were emptied).
//
// A hint is never trusted: the glue's lookup by uid locks each row and
// returns the DID it holds, and a DID gets the uid of the row that holds
// it, so a stale hint (an actor deleted, a batch rolled back, a uid given
// to another DID) only sends its DID to the lookup by DID.
//
// Bounded: emptied when it holds kMaxEntries DIDs (about 20 MB: 2^18 DIDs
// of ~32 bytes, and the table's slots).
class DidHints {
  public:
    static constexpr size_t kMaxEntries = size_t(1) << 18;

    // The uid hinted for did, 0 if none.
    uint32_t find(std::string_view did) const {
        auto it = uid_of_.find(did);
        return it == uid_of_.end() ? 0 : it->second;
    }

    // Notes (or replaces) the hint of did, copying its text. A DID longer
    // than a block is not kept. Throws std::bad_alloc.
    void note(std::string_view did, uint32_t uid) {
        auto it = uid_of_.find(did);
        if (it != uid_of_.end()) {
            it->second = uid;
            return;
        }
        if (did.size() > kBlock)
            return;
        if (uid_of_.size() >= kMaxEntries) {
            uid_of_.clear();
            blocks_.clear();
        }
        if (blocks_.empty() || used_ + did.size() > kBlock) {
            std::unique_ptr<char[]> block(new char[kBlock]);
            blocks_.push_back(std::move(block));
            used_ = 0;
        }
        char *at = blocks_.back().get() + used_;
        std::memcpy(at, did.data(), did.size());
        used_ += did.size();
        uid_of_.emplace(std::string_view(at, did.size()), uid);
    }

    size_t size() const { return uid_of_.size(); }

  private:
    static constexpr size_t kBlock = 1 << 20;

    FlatMap<std::string_view, uint32_t, TextHash> uid_of_;
    std::vector<std::unique_ptr<char[]>> blocks_;  // the DIDs' text
    size_t used_ = 0;                              // bytes used in the last block
};

}  // namespace ing
