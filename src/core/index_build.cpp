#include "index_build.hpp"

#include "author_apply.hpp"
#include "graph_apply.hpp"
#include "ring_ops.hpp"
#include "set_write.hpp"

namespace dp {

namespace {

void lock_all(Host &h) {
    for (uint32_t s = 0; s < kStripes; s++)
        h.lock(s, true);
}

void unlock_all(Host &h) {
    for (uint32_t s = kStripes; s-- > 0;)
        h.unlock(s);
}

Cursor cursor_of(InstallPass::Kind k) {
    return k == InstallPass::kAuthors ? kCursorAuthor : Cursor(k);
}

// The entry to install into: created when there are rows; a user with
// neither rows nor an entry has nothing to install. A leaf that cannot be
// created is marked lost (its users' reads go to the tables).
DirEntry *entry_for(Directory &dir, uint32_t uid, bool has_rows, ApplyResult *r) {
    DirEntry *e = has_rows ? dir.get(uid) : dir.find(uid);
    if (e == nullptr && has_rows && !dir.lost(uid)) {
        dir.mark_lost(uid);
        r->lost_leaves++;
    }
    return e;
}

// The same for a set of any side.
SetRef *set_for(const SideSets &sets, uint32_t uid, bool has_rows, ApplyResult *r) {
    SetRef *ref = has_rows ? sets.get(uid) : sets.find(uid);
    if (ref == nullptr && has_rows && !sets.lost(uid)) {
        sets.mark_lost(uid);
        r->lost_leaves++;
    }
    return ref;
}

}  // namespace

void build_reset_begin(const IndexEnv &env) {
    for (uint32_t c = 0; c < kNumCursors; c++)
        env.host().set_cursor(Cursor(c), 0);
}

void build_reset_stripe(const IndexEnv &env, uint32_t s) {
    Host &h = env.host();
    h.lock(s, true);
    h.set_mode(s, kModeEmpty);
    ApplyResult r;
    clear_stripe(*env.arena, *env.dir, env.mod_dir, env.list_dir, s, kAllSides, &r);
    clear_rings(*env.arena, *env.dir, s, true);
    h.stripe_cleared(s);
    h.unlock(s);
}

void build_reset_end(const IndexEnv &env) {
    Host &h = env.host();
    lock_all(h);
    h.lock_celebs(true);
    WriteStats ws;
    set_free(*env.arena, env.celebs, &ws);
    *env.celebs = SetRef{};
    h.unlock_celebs();
    env.dir->free_leaves();
    if (env.mod_dir != nullptr)
        env.mod_dir->free_leaves();
    if (env.list_dir != nullptr)
        env.list_dir->free_leaves();
    for (uint32_t s = 0; s < kStripes; s++)
        h.set_mode(s, kModeBuilding);
    unlock_all(h);
}

void build_finish(const IndexEnv &env) {
    Host &h = env.host();
    for (uint32_t s = 0; s < kStripes; s++) {
        h.lock(s, true);
        h.set_mode(s, kModeReady);
        h.unlock(s);
    }
}

// The end moves: a commit may create a leaf (a new account) while the pass
// runs, and its journal must be installed too. The pass is over only when,
// under every stripe lock (where no commit can create a leaf), no leaf and
// no row lies beyond it.
bool InstallPass::finish_if_done(uint32_t next_row_uid) {
    Host &h = env_.host();
    uint32_t rows_end = next_row_uid == kNoRows ? 0 : next_row_uid + 1;
    lock_all(h);
    bool done = uid_ >= std::max(sets().end(), rows_end);
    if (done)
        h.set_cursor(cursor_of(kind_), UINT32_MAX);
    unlock_all(h);
    return done;
}

// Skips a run of leaves with neither rows nor entries (nor lost marks),
// under every stripe lock so that no commit creates a journal in the run.
bool InstallPass::skip_empty_leaves(uint32_t next_row_uid, uint32_t end) {
    SideSets sets = this->sets();
    if (sets.leaf_or_lost(uid_))
        return false;
    Host &h = env_.host();
    lock_all(h);
    uint32_t stop = std::min(next_row_uid, end);
    uint32_t skip_to = uid_;
    while (skip_to < stop && !sets.leaf_or_lost(skip_to))
        skip_to = std::min(stop, ((skip_to >> kLeafBits) + 1) << kLeafBits);
    if (skip_to > uid_)
        h.set_cursor(cursor_of(kind_), skip_to);
    unlock_all(h);
    bool skipped = skip_to > uid_;
    uid_ = skip_to;
    return skipped;
}

uint32_t InstallPass::next(uint32_t next_row_uid) {
    for (;;) {
        uint32_t rows_end = next_row_uid == kNoRows ? 0 : next_row_uid + 1;
        uint32_t end = std::max(sets().end(), rows_end);
        if (uid_ >= end) {
            if (finish_if_done(next_row_uid))
                return kDone;
            continue;
        }
        bool leaf_start = uid_ == 1 || (uid_ & (kLeafSize - 1)) == 0;
        uint32_t leaf_end = std::min(end, ((uid_ >> kLeafBits) + 1) << kLeafBits);
        bool rows_in_leaf = next_row_uid != kNoRows && next_row_uid < leaf_end;
        if (leaf_start && !rows_in_leaf && skip_empty_leaves(next_row_uid, end))
            continue;
        return uid_;
    }
}

void InstallPass::install_set(uint32_t uid, const uint32_t *v, size_t n) {
    Host &h = env_.host();
    uint32_t s = stripe_of(uid);
    h.lock(s, true);
    ApplyResult r;
    if (SetRef *ref = set_for(sets(), uid, n > 0, &r)) {
        WriteStats ws;
        if (set_install(*env_.arena, ref, v, n, &ws) != Status::kOk) {
            set_free(*env_.arena, ref, &ws);
            *ref = SetRef{kInvalidRef, kNoRef};
            r.invalidated++;
        }
        r.card[kind_] += ws.card;
    }
    h.stripe_counted(s, r);
    h.set_cursor(cursor_of(kind_), uid + 1);
    h.unlock(s);
    uid_ = uid + 1;
}

void InstallPass::install_author(uint32_t uid, const AuthorItem *items, size_t n,
                                 ItemKey horizon) {
    Host &h = env_.host();
    uint32_t s = stripe_of(uid);
    h.lock(s, true);
    ApplyResult r;
    if (DirEntry *e = entry_for(*env_.dir, uid, n > 0, &r)) {
        if (!author_ring_install(*env_.arena, &e->author, items, n, horizon, env_.author_cap))
            r.lost_rings++;
    }
    h.stripe_counted(s, r);
    h.set_cursor(kCursorAuthor, uid + 1);
    h.unlock(s);
    uid_ = uid + 1;
}

}  // namespace dp
