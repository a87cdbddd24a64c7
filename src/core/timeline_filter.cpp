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
        asked_.clear();
        slots_.clear();
    }
    items_ = items;
    bool followed = f.replies == Replies::kFollowed;
    if (!f.moderate && !followed)
        return Read::kOk;  // the switches need no relations
    // What keep() asks of each account: whether an author or reposter is
    // hidden, a reply's parent or root author blocked (both read with the
    // hidden ones: the same sets) and, for a reply that is not reposted,
    // under `followed`, followed by the viewer. Only the last is asked
    // account by account: the follow set is the costliest to probe, and
    // most of a page's accounts are no reply's parent or root.
    const uint16_t hidden = f.moderate ? kHiddenMask : 0;
    // At most four accounts an item, and always a free slot; an item's
    // accounts repeat (a page names a few dozen authors), so the table is
    // mostly far from full.
    reserve(4 * n);
    const size_t known = uids_.size();
    // Room for every account the batch may add, written through raw
    // pointers (through the vectors, the compiler reloaded their pointers
    // at every store: a tenth of a filtered page's time was these lookups);
    // cut to what was added after the loop.
    uids_.resize(known + 4 * n);
    asked_.resize(known + 4 * n);  // zeros (a memset); an account's set when added
    refs_.resize(4 * n);
    uint32_t *const uids = uids_.data(), *const slots = slots_.data();
    uint16_t *const asked = asked_.data();
    const size_t mask = slots_.size() - 1;
    const uint32_t shift = shift_;
    size_t count = known;
    // uid's index + 1, the account added if new; 0 for no account (uid 0).
    auto add = [&](uint32_t uid) -> uint32_t {
        if (uid == 0)
            return 0;
        for (size_t i = slot_of(uid, shift);; i = (i + 1) & mask) {
            uint32_t k = slots[i];
            if (k == 0) {
                asked[count] = hidden;
                uids[count++] = uid;
                slots[i] = uint32_t(count);
                return uint32_t(count);
            }
            if (uids[k - 1] == uid)
                return k;
        }
    };
    again_.clear();
    for (size_t i = 0; i < n; i++) {
        const AuthorItem &it = items[i].item;
        uint32_t *r = &refs_[4 * i];
        r[0] = add(it.author);
        r[1] = add(it.reposter);
        r[2] = it.parent != 0 ? add(it.parent) : 0;
        r[3] = it.parent != 0 ? add(it.root) : 0;
        if (r[2] == 0 || !followed || it.reposter != 0)
            continue;
        for (int j = 2; j < 4; j++) {
            uint32_t k = r[j] - 1;
            if (asked[k] & kFollowing)
                continue;
            asked[k] |= kFollowing;
            if (k < known)
                again_.push_back(k);  // read by an earlier batch without it
        }
    }
    uids_.resize(count);
    asked_.resize(count);
    bits_.resize(uids_.size());
    Read r = reader_.relations(env, f.viewer, uids_.data() + known, uids_.size() - known,
                               hidden | (followed ? kFollowing : 0), bits_.data() + known,
                               asked_.data() + known);
    if (r != Read::kOk || again_.empty())
        return r;
    // Accounts of earlier batches whose follow bit this one needs.
    again_uids_.resize(again_.size());
    again_bits_.resize(again_.size());
    for (size_t i = 0; i < again_.size(); i++)
        again_uids_[i] = uids_[again_[i]];
    r = reader_.relations(env, f.viewer, again_uids_.data(), again_uids_.size(), kFollowing,
                          again_bits_.data());
    for (size_t i = 0; r == Read::kOk && i < again_.size(); i++)
        bits_[again_[i]] |= again_bits_[i];
    return r;
}

bool ItemFilter::keep(const TimelineFilter &f, size_t i) const {
    const AuthorItem &t = items_[i].item;
    bool repost = t.reposter != 0, reply = t.parent != 0;
    // Read only when prepare read relations (the same conditions).
    const uint32_t *r = f.moderate || f.replies == Replies::kFollowed ? &refs_[4 * i] : nullptr;
    if (f.moderate) {
        if (bits_at(r[0]) & kHiddenMask)
            return false;
        if (repost && (bits_at(r[1]) & kHiddenMask))
            return false;
        if (reply && ((bits_at(r[2]) & kBlockedMask) || (bits_at(r[3]) & kBlockedMask)))
            return false;
    }
    if (!f.reposts && repost)
        return false;
    if (!f.quotes && (t.attrs & kAttrQuote))
        return false;
    if (f.replies != Replies::kAll && reply && !repost) {
        if (f.replies == Replies::kNone)
            return false;
        auto in_src = [&](uint32_t x, uint32_t ref) {
            return x == t.author || x == f.viewer || (bits_at(ref) & kFollowing);
        };
        if (!in_src(t.parent, r[2]) || !in_src(t.root, r[3]))
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
