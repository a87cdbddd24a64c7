// From a parsed event to the batch model's Change: which DIDs the glue
// interns first, and the event with its DIDs resolved to uids.
#pragma once

#include <cstddef>
#include <string_view>

#include "ingest_model.hpp"
#include "jetstream_parse.hpp"

namespace ing {

// Most DIDs dids_to_intern() returns for one event.
constexpr size_t kMaxEventDids = 3;

// The DIDs of a kApply create, update or account event that must be in
// actor before the batch runs (DESIGN.md: the event's DID, a follow's or
// block's subject, the authors and owners its AT-URIs name), into out[];
// returns how many. None for deletes (an unknown DID makes them no-ops),
// skipped and unreadable events.
size_t dids_to_intern(const JetstreamEvent &ev, std::string_view out[kMaxEventDids]);

// Resolves a DID to its actor.uid, 0 when there is none.
using UidOf = Uid (*)(void *ctx, std::string_view did);

// The Change of a kApply event, DIDs resolved by uid_of(ctx, did) and its
// created_at given (the glue's least(createdAt, time_us)). Text views are
// the event's.
Change to_change(const JetstreamEvent &ev, int64_t created_at, UidOf uid_of, void *ctx);

}  // namespace ing
