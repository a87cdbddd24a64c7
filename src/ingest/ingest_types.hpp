// Names shared by the Jetstream parser and the batch model: the operations,
// the collections the index keeps, and a post's media.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ing {

// Nullable text: a column's value (std::nullopt is NULL), or a field an
// event may lack.
using Text = std::optional<std::string_view>;

// A commit's operation on one record.
enum class CommitOp : uint8_t { kCreate, kUpdate, kDelete };

// The record collections the index keeps; kOther is every other one (likes,
// profiles, ...), which the ingest skips.
enum class Collection : uint8_t {
    kPost,       // app.bsky.feed.post
    kRepost,     // app.bsky.feed.repost
    kFollow,     // app.bsky.graph.follow
    kBlock,      // app.bsky.graph.block
    kList,       // app.bsky.graph.list
    kListItem,   // app.bsky.graph.listitem
    kListBlock,  // app.bsky.graph.listblock
    kOther,
};

// The media a post embeds (post.media): NULL, 'images', 'video', 'external'.
// kUnknown stands for any other text found in a loaded row.
enum class Media : uint8_t { kNone, kImages, kVideo, kExternal, kUnknown };

// The text of post.media for m; nullptr for kNone (and kUnknown).
inline const char *media_text(Media m) {
    switch (m) {
        case Media::kImages:
            return "images";
        case Media::kVideo:
            return "video";
        case Media::kExternal:
            return "external";
        default:
            return nullptr;
    }
}

}  // namespace ing
