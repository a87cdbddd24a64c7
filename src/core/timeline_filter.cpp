#include "timeline_filter.hpp"

#include <algorithm>

namespace dp {

namespace {

// Fibonacci hashing: the product's high bits.
inline uint32_t slot_of(uint32_t uid, uint32_t shift) { return (uid * 0x9E3779B1u) >> shift; }

}  // namespace

size_t ItemFilter::probe(uint32_t uid) const {
    size_t mask = slots_.size() - 1;
    for (size_t i = slot_of(uid, shift_);; i = (i + 1) & mask) {
        uint32_t k = slots_[i];
        if (k == 0 || uids_[k - 1] == uid)
            return i;
    }
}

void ItemFilter::add(uint32_t uid) {
    if (uid == 0)
        return;  // no account (no reposter, not a reply)
    size_t i = probe(uid);
    if (slots_[i] == 0) {
        uids_.push_back(uid);
        slots_[i] = uint32_t(uids_.size());
    }
}

void ItemFilter::reserve(size_t extra) {
    size_t need = uids_.size() + extra;
    uint32_t log2 = 6;
    while ((size_t(1) << log2) <= need)
        log2++;
    if (slots_.size() >= (size_t(1) << log2))
        return;
    slots_.assign(size_t(1) << log2, 0);
    shift_ = 32 - log2;
    for (size_t k = 0; k < uids_.size(); k++)
        slots_[probe(uids_[k])] = uint32_t(k + 1);
}

Read ItemFilter::prepare(const IndexEnv &env, const TimelineFilter &f, const PageItem *items,
                         size_t n, bool more) {
    if (!more) {
        uids_.clear();
        bits_.clear();
        slots_.clear();
    }
    bool followed = f.replies == Replies::kFollowed;
    if (!f.moderate && !followed)
        return Read::kOk;  // the switches need no relations
    // At most four accounts an item, and always a free slot; an item's
    // accounts repeat (a page names a few dozen authors), so the table is
    // mostly far from full.
    reserve(4 * n);
    size_t known = uids_.size();
    for (size_t i = 0; i < n; i++) {
        const AuthorItem &it = items[i].item;
        add(it.author);
        add(it.reposter);
        if (it.parent != 0) {
            add(it.parent);
            add(it.root);
        }
    }
    bits_.resize(uids_.size());
    uint16_t bits = (f.moderate ? kHiddenMask : 0) | (followed ? kFollowing : 0);
    return reader_.relations(env, f.viewer, uids_.data() + known, uids_.size() - known, bits,
                             bits_.data() + known);
}

uint16_t ItemFilter::bits_of(uint32_t uid) const {
    if (uid == 0 || slots_.empty())
        return 0;  // no account, or no relations were read (prepare)
    uint32_t k = slots_[probe(uid)];
    return k != 0 ? bits_[k - 1] : 0;
}

bool ItemFilter::keep(const TimelineFilter &f, const AuthorItem &t) const {
    bool repost = t.reposter != 0, reply = t.parent != 0;
    if (f.moderate) {
        if (bits_of(t.author) & kHiddenMask)
            return false;
        if (repost && (bits_of(t.reposter) & kHiddenMask))
            return false;
        if (reply && ((bits_of(t.parent) & kBlockedMask) || (bits_of(t.root) & kBlockedMask)))
            return false;
    }
    if (!f.reposts && repost)
        return false;
    if (!f.quotes && (t.attrs & kAttrQuote))
        return false;
    if (f.replies != Replies::kAll && reply && !repost) {
        if (f.replies == Replies::kNone)
            return false;
        auto in_src = [&](uint32_t x) {
            return x == t.author || x == f.viewer || (bits_of(x) & kFollowing);
        };
        if (!in_src(t.parent) || !in_src(t.root))
            return false;
    }
    switch (f.author) {
        case AuthorFilter::kPostsWithReplies: return true;
        case AuthorFilter::kPostsNoReplies: return repost || !reply;
        case AuthorFilter::kPostsWithMedia: return !repost && media_of(t.attrs) == kMediaImages;
        case AuthorFilter::kPostsWithVideo: return !repost && media_of(t.attrs) == kMediaVideo;
        case AuthorFilter::kPostsAndAuthorThreads: return repost || !reply || t.root == t.author;
    }
    return true;
}

}  // namespace dp
