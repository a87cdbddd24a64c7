#include "directory.hpp"

#include <cstring>

namespace dp {

template <typename Entry>
Entry *DirectoryT<Entry>::get(uint32_t uid) {
    Entry *e = find(uid);
    if (e != nullptr || uid == 0 || uid >= (uint32_t(1) << 31) || lost(uid))
        return e;
    // Two writers (under different stripe locks) may race to create the same
    // leaf: the loser frees its copy and uses the winner's.
    size_t bytes = sizeof(Entry) * kLeafSize;
    Ref leaf = arena_.alloc(bytes);
    if (leaf == kNoRef)
        return nullptr;
    std::memset(arena_.at<char>(leaf), 0, bytes);
    uint32_t idx = uid >> kLeafBits;
    Ref expected = kNoRef;
    if (__atomic_compare_exchange_n(&top_->leaf[idx], &expected, leaf, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        __atomic_add_fetch(&top_->n_leaves, 1, __ATOMIC_RELAXED);
        uint32_t end = __atomic_load_n(&top_->leaves_end, __ATOMIC_RELAXED);
        while (end < idx + 1 &&
               !__atomic_compare_exchange_n(&top_->leaves_end, &end, idx + 1, true,
                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        }
    } else {
        arena_.free(leaf, bytes);
    }
    return find(uid);
}

template <typename Entry>
void DirectoryT<Entry>::mark_lost(uint32_t uid) {
    if (uid == 0 || uid >= (uint32_t(1) << 31))
        return;  // no entry can exist for it: nothing to lose
    Ref expected = kNoRef;
    uint32_t idx = uid >> kLeafBits;
    if (__atomic_compare_exchange_n(&top_->leaf[idx], &expected, kInvalidRef, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        uint32_t end = __atomic_load_n(&top_->leaves_end, __ATOMIC_RELAXED);
        while (end < idx + 1 &&
               !__atomic_compare_exchange_n(&top_->leaves_end, &end, idx + 1, true,
                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        }
    }
}

template <typename Entry>
void DirectoryT<Entry>::free_leaves() {
    uint32_t end = __atomic_load_n(&top_->leaves_end, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < end; i++) {
        Ref leaf = top_->leaf[i];
        if (leaf != kNoRef && leaf != kInvalidRef)
            arena_.free(leaf, sizeof(Entry) * kLeafSize);
        __atomic_store_n(&top_->leaf[i], kNoRef, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&top_->n_leaves, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&top_->leaves_end, 0, __ATOMIC_RELEASE);
}

template class DirectoryT<DirEntry>;
template class DirectoryT<ModEntry>;

}  // namespace dp
