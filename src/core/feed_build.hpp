// Building a viewer's feed ring on their first read: the newest
// dataplane.feed_capacity items of the viewer and of every account they
// follow that is not a celebrity (celebrities' items are merged at read
// time), merged from those accounts' author rings.
//
// The caller holds every stripe lock (the viewer's exclusive, the others
// shared) and the celebrity lock shared: the ring is built from one
// consistent state, and from then on fan-out keeps it current.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>
#include <vector>

#include "index_env.hpp"
#include "ring.hpp"

namespace dp {

enum class FeedBuild {
    kBuilt,    // the viewer now has a feed ring
    kNone,     // nothing to hold: the viewer follows no one and has no items
    kUnknown,  // a source is not held (memory limit): read from the tables
    kNoMem,    // no room for the ring
};

// Reusable buffers (kept by the caller between builds).
struct FeedBuildScratch {
    struct Src {
        const RingHdr *ring;
        int64_t pos;  // logical index of the next newest item
    };
    std::vector<Src> srcs;
    std::vector<FeedItem> items;  // newest first
};

// A first ring: feed_first_depth items deep (it grows deeper when the
// viewer pages below it: regrow_feed). kBuilt also if the viewer has one.
FeedBuild build_feed(const IndexEnv &env, uint32_t viewer, FeedBuildScratch *scratch);

// How deep a regrown ring would be: twice the items it holds, or the
// depth deepen() allowed if more, within feed_cap; 0 if it cannot go
// deeper (it is complete, or holds feed_cap items).
uint32_t feed_regrow_depth(const RingHdr *h, uint32_t feed_cap);

// A viewer who pages below their ring (a page that reaches its horizon):
// the ring is built again, feed_regrow_depth items deep, from the author
// rings, so that the next deep pages read it rather than merging the
// author rings every time. kNone when it cannot go deeper; on any other
// result but kBuilt the old ring stays. Same locks as build_feed.
FeedBuild regrow_feed(const IndexEnv &env, uint32_t viewer, FeedBuildScratch *scratch);

}  // namespace dp
