// The read functions' answers from the tables, for whenever the index cannot
// answer exactly: the same SQL a fan-in deployment runs, executed through
// SPI with the caller's snapshot.
#pragma once

#include "pg_prelude.hpp"

namespace dpg {

bool sql_follows(int32 a, int32 b);
int64 sql_follower_count(int32 u);
int64 sql_following_count(int32 u);
int64 sql_proof_count(int32 viewer, int32 target);

// Lists of uids, ascending, allocated in the caller's memory context.
struct UidArray {
    uint32 *v;
    size_t n;
};
UidArray sql_followers(int32 u, int32 lim, int32 after);
UidArray sql_following(int32 u, int32 lim, int32 after);
UidArray sql_proof(int32 viewer, int32 target, int32 lim);

}  // namespace dpg
