#include "timeline_filter.hpp"

#include <algorithm>

namespace dp {

Read ItemFilter::prepare(const IndexEnv &env, const TimelineFilter &f, const PageItem *items,
                         size_t n) {
    uids_.clear();
    bits_.clear();
    bool followed = f.replies == Replies::kFollowed;
    if (!f.moderate && !followed)
        return Read::kOk;  // the switches need no relations
    for (size_t i = 0; i < n; i++) {
        const AuthorItem &it = items[i].item;
        uids_.push_back(it.author);
        if (it.reposter != 0)
            uids_.push_back(it.reposter);
        if (it.parent != 0) {
            uids_.push_back(it.parent);
            uids_.push_back(it.root);
        }
    }
    std::sort(uids_.begin(), uids_.end());
    uids_.erase(std::unique(uids_.begin(), uids_.end()), uids_.end());
    bits_.resize(uids_.size());
    uint16_t want = (f.moderate ? kHiddenMask : 0) | (followed ? kFollowing : 0);
    return reader_.relations(env, f.viewer, uids_.data(), uids_.size(), want, bits_.data());
}

uint16_t ItemFilter::bits_of(uint32_t uid) const {
    auto it = std::lower_bound(uids_.begin(), uids_.end(), uid);
    return it != uids_.end() && *it == uid ? bits_[size_t(it - uids_.begin())] : 0;
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
