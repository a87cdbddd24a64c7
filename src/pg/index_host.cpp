#include "index_host.hpp"

#include "guc.hpp"

namespace dpg {

namespace {

dp::IndexEnv env;
bool env_ready = false;

void do_lock(void *, uint32_t s, bool exclusive) {
    LWLockAcquire(stripe_lock(s), exclusive ? LW_EXCLUSIVE : LW_SHARED);
}
void do_unlock(void *, uint32_t s) { LWLockRelease(stripe_lock(s)); }
void do_lock_celebs(void *, bool exclusive) {
    LWLockAcquire(celeb_lock(), exclusive ? LW_EXCLUSIVE : LW_SHARED);
}
void do_unlock_celebs(void *) { LWLockRelease(celeb_lock()); }
bool maintained(void *, uint32_t s) { return L.sh->stripes[s].mode != kModeEmpty; }
bool set_journal(void *, uint32_t uid, uint8_t side) {
    // Called under the stripe lock, which orders this read against the
    // builder's cursor update for the same uid.
    return L.sh->stripes[dp::stripe_of(uid)].mode == kModeBuilding &&
           uid >= pg_atomic_read_u32(&L.sh->cursor[side]);
}
bool author_journal(void *, uint32_t uid) {
    return L.sh->stripes[dp::stripe_of(uid)].mode == kModeBuilding &&
           uid >= pg_atomic_read_u32(&L.sh->author_cursor);
}
bool feeds_on(void *) { return pg_atomic_read_u32(&L.sh->state) == kStateReady; }

}  // namespace

const dp::IndexEnv &index_env() {
    static dp::Directory dir(L.arena, &L.sh->dir);
    if (!env_ready) {
        env_ready = true;
        env.arena = &L.arena;
        env.dir = &dir;
        env.views = local_views;
        env.edge_lww = L.sh->edge_lww;
        env.item_lww = L.sh->item_lww;
        env.celebs = &L.sh->celebs;
        env.unfollows_started = &L.sh->unfollows[0];
        env.unfollows_finished = &L.sh->unfollows[1];
        env.ctx = nullptr;
        env.lock = do_lock;
        env.unlock = do_unlock;
        env.lock_celebs = do_lock_celebs;
        env.unlock_celebs = do_unlock_celebs;
        env.maintained = maintained;
        env.set_journal = set_journal;
        env.author_journal = author_journal;
        env.feeds_on = feeds_on;
    }
    env.author_cap = uint32_t(guc_author_capacity);
    env.feed_cap = uint32_t(guc_feed_capacity);
    env.fanout_limit = uint64_t(guc_fanout_limit);
    return env;
}

void lock_everything_for(uint32 exclusive_stripe) {
    for (uint32 s = 0; s < dp::kStripes; s++)
        LWLockAcquire(stripe_lock(s), s == exclusive_stripe ? LW_EXCLUSIVE : LW_SHARED);
    LWLockAcquire(celeb_lock(), LW_SHARED);
}

void unlock_everything() {
    LWLockRelease(celeb_lock());
    for (uint32 s = dp::kStripes; s-- > 0;)
        LWLockRelease(stripe_lock(s));
}

}  // namespace dpg
