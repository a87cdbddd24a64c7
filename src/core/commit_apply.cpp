#include "commit_apply.hpp"

#include <algorithm>
#include <new>

#include "author_apply.hpp"
#include "ring_ops.hpp"
#include "set_read.hpp"
#include "set_write.hpp"
#include "stripe_guard.hpp"

namespace dp {

namespace {

bool valid_uid(uint32_t u) { return u != 0 && u < (uint32_t(1) << 31); }

ItemLwwKey lww_key(const ItemChange &c, uint16_t rings) {
    return ItemLwwKey{c.item.id, c.src, c.kind, rings};
}

void drop_feed(const Arena &arena, DirEntry *e, TimelineStats *st) {
    if (held(e->feed)) {
        ring_free<FeedItem>(arena, &e->feed);
        st->feeds_dropped++;
    }
    e->feed = kNoRef;
}

// The first stripe from `from` with changes in `starts` (every one if all).
size_t next_busy_stripe(const std::vector<size_t> &starts, size_t from, bool all) {
    while (from < kStripes && !all && starts[from] == starts[from + 1])
        from++;
    return from;
}

// Does the owner of entry e, which has a feed ring, follow x? If its follow
// set is not held, the ring cannot be kept exact: it is dropped, and the
// answer is false.
bool feed_owner_follows(const IndexEnv &env, DirEntry *e, uint32_t x, TimelineStats *st) {
    if (!e->set[kOut].invalid()) {
        SetView out(*env.arena, e->set[kOut], env.views);
        if (out.ok())
            return out.contains(x);
    }
    drop_feed(*env.arena, e, st);
    return false;
}

}  // namespace

void CommitWork::clear() {
    lsn = 0;
    truncated = 0;
    edges.clear();
    edge_starts.clear();
    items.changes.clear();
    items.truncated[0] = items.truncated[1] = false;
    item_starts.clear();
}

void CommitWork::index() {
    edge_starts = stripe_starts(edges);
    item_starts = stripe_starts(items.changes);
}

// Step 1's view of the follow-set changes: keeps feed rings in step.
class CommitApply::Observer final : public EdgeObserver {
  public:
    Observer(const IndexEnv &env, CommitApply *c) : env_(env), c_(c) {}
    void applied(uint32_t owner, uint8_t side, const uint32_t *ins, size_t n_ins,
                 const uint32_t *del, size_t n_del, bool ok) override {
        if (side != kOut)
            return;
        DirEntry *e = env_.dir->find(owner);
        bool ring = e != nullptr && held(e->feed);
        if (ring && !ok) {
            drop_feed(*env_.arena, e, &c_->stats_);  // its follow set is no longer known
            return;
        }
        if (ring)
            feed_erase_sources(*env_.arena, e->feed, owner, del, n_del);
        // A new followee's items are backfilled into the owner's ring.
        // When the followee's side (its followers) comes in a later step,
        // a ring built in between (the owner may have none yet) copies the
        // followee's items while the followee's fan-out, planned from its
        // followers, does not reach it: a deletion then passes the copy
        // by. And a follow racing an unfollow of the same account (edge
        // LWW, lww.hpp) may find the ring as the unfollow left it or not,
        // while a fan-out planned between the two missed it. Either way
        // the followee's items in the ring are replaced by its author
        // ring's (a resync), once both sides hold the follow.
        Host &host = env_.host();
        for (size_t i = 0; i < n_ins; i++) {
            bool later = stripe_of(ins[i]) > stripe_of(owner);
            if (ins[i] != owner && ok && (ring || later))
                c_->follows_.push_back(Follow{
                    owner, ins[i], later || host.edge_others_pending(owner, ins[i], kOut)});
        }
    }

  private:
    const IndexEnv &env_;
    CommitApply *c_;
};

void CommitApply::begin(const CommitWork *w) {
    w_ = w;
    stats_ = TimelineStats();
    reset_feeds_ = false;
    replace_only_.assign(w->items.changes.size(), 0);
    plan_generation_.assign(w->items.changes.size(), 0);
    for (uint32_t slot : advanced_slots_)
        generation_advanced_.reset(slot);
    advanced_slots_.clear();
    fan_.clear();
    fan_sorted_.clear();
    fan_starts_.clear();
    follows_.clear();
    celeb_known_ = false;
    deletes_follows_ = (w->truncated & (1u << kOut)) != 0;
    for (size_t i = 0; i < w->edges.size() && !deletes_follows_; i++)
        deletes_follows_ = w->edges[i].op == kDelete && w->edges[i].side <= kIn;
    unfollow_counted_ = false;
    plan_checked_ = false;
    plan_epoch_ = 0;
    plan_epoch_set_ = false;
    phase_ = kEdges;
    pos_ = size_t(-1);
    advance();
}

// Reads the unfollow counters when a plan is made (under the source's
// stripe lock): if an unfollow is being applied, the plan's targets are
// checked one by one.
void CommitApply::note_plan_epoch(const IndexEnv &env) {
    if (env.unfollows_started == nullptr) {
        plan_checked_ = true;
        return;
    }
    uint64_t s = __atomic_load_n(env.unfollows_started, __ATOMIC_ACQUIRE);
    uint64_t f = __atomic_load_n(env.unfollows_finished, __ATOMIC_ACQUIRE);
    // Our own unfollows are done by now (step 1 precedes step 2). Every
    // plan of this commit must have seen the same epoch, with none running.
    if (s != f || (plan_epoch_set_ && s != plan_epoch_))
        plan_checked_ = true;
    if (!plan_epoch_set_) {
        plan_epoch_ = s;
        plan_epoch_set_ = true;
    }
}

void CommitApply::end_unfollows(const IndexEnv &env) {
    if (unfollow_counted_ && env.unfollows_finished != nullptr)
        __atomic_add_fetch(env.unfollows_finished, 1, __ATOMIC_ACQ_REL);
    unfollow_counted_ = false;
}

bool CommitApply::step(const IndexEnv &env) {
    if (phase_ == kDone)
        return false;
    if (phase_ == kEdges && deletes_follows_ && !unfollow_counted_ &&
        env.unfollows_started != nullptr) {
        // Before the first follow set changes.
        __atomic_add_fetch(env.unfollows_started, 1, __ATOMIC_ACQ_REL);
        unfollow_counted_ = true;
    }
    // Another commit may promote an account between two steps (the locks
    // are not held in between): is_celeb's answer holds for one step.
    celeb_known_ = false;
    switch (phase_) {
        case kEdges: step_edges(env, uint32_t(pos_)); break;
        case kItems: step_items(env, uint32_t(pos_)); break;
        case kFanout: step_fanout(env, uint32_t(pos_)); break;
        case kBackfill: step_backfill(env, pos_); break;
        case kReset: step_reset(env, uint32_t(pos_)); break;
        case kDone: break;
    }
    Phase before = phase_;
    bool more = advance();
    if (before == kEdges && phase_ != kEdges)
        end_unfollows(env);
    return more;
}

bool CommitApply::apply_all(const IndexEnv &env, const CommitWork *w) noexcept {
    try {
        begin(w);
        while (step(env)) {
        }
        return true;
    } catch (...) {
        // Scratch memory ran out (the only thing the core throws): what
        // this commit still had to do is lost. The locks were released as
        // the exception left their guards.
        abandon(env);
        return false;
    }
}

void CommitApply::abandon(const IndexEnv &env) noexcept {
    stats_.out_of_memory++;
    phase_ = kDone;
    end_unfollows(env);
}

// Moves to the next step that has work; false when none is left.
bool CommitApply::advance() {
    pos_++;
    for (;;) {
        switch (phase_) {
            case kEdges:
                // A truncate visits every stripe; otherwise those with changes.
                pos_ = next_busy_stripe(w_->edge_starts, pos_, w_->truncated != 0);
                if (pos_ < kStripes)
                    return true;
                phase_ = kItems;
                pos_ = 0;
                continue;
            case kItems: {
                bool trunc = w_->items.truncated[0] || w_->items.truncated[1];
                pos_ = next_busy_stripe(w_->item_starts, pos_, trunc);
                if (pos_ < kStripes)
                    return true;
                phase_ = kFanout;
                pos_ = 0;
                sort_fanout();
                continue;
            }
            case kFanout:
                pos_ = next_busy_stripe(fan_starts_, pos_, false);
                if (pos_ < kStripes)
                    return true;
                phase_ = kBackfill;
                pos_ = 0;
                std::sort(follows_.begin(), follows_.end(), [](const Follow &a, const Follow &b) {
                    if (a.viewer != b.viewer)
                        return a.viewer < b.viewer;
                    return a.followee != b.followee ? a.followee < b.followee : a.resync > b.resync;
                });
                // (A resync first among equals: it is the one kept.)
                follows_.erase(std::unique(follows_.begin(), follows_.end(),
                                           [](const Follow &a, const Follow &b) {
                                               return a.viewer == b.viewer &&
                                                      a.followee == b.followee;
                                           }),
                               follows_.end());
                continue;
            case kBackfill:
                if (pos_ < follows_.size())
                    return true;
                phase_ = kReset;
                pos_ = 0;
                continue;
            case kReset:
                if (reset_feeds_ && pos_ < kStripes)
                    return true;
                if (reset_feeds_)
                    stats_.feed_resets++;
                phase_ = kDone;
                return false;
            case kDone:
                return false;
        }
    }
}

// ------------------------------------------------------------- 1: follows

void CommitApply::step_edges(const IndexEnv &env, uint32_t s) {
    {
        StripeGuard g(env, s, true);
        if (maintained(env.host(), s)) {
            ApplyResult r;
            if (w_->truncated != 0) {
                ApplyResult cleared;
                clear_stripe(*env.arena, *env.dir, env.mod_dir, env.list_dir, s, w_->truncated,
                             &cleared);
                if (w_->truncated & (1u << kOut))
                    stats_.feeds_dropped += clear_rings(*env.arena, *env.dir, s, false);
                env.host().stripe_counted(s, cleared);
            }
            Observer obs(env, this);
            StripeApply a{env.arena, env.dir,    &env.edge_lww[s], env.views, w_->lsn, &obs,
                          env.mod_dir, env.list_dir};
            size_t from = w_->edge_starts[s], to = w_->edge_starts[s + 1];
            apply_stripe(a, w_->edges.data() + from, to - from, &r);
            env.host().stripe_counted(s, r);
        } else {
            StripeApply a{env.arena, env.dir, &env.edge_lww[s], env.views, w_->lsn, nullptr,
                          env.mod_dir, env.list_dir};
            size_t from = w_->edge_starts[s], to = w_->edge_starts[s + 1];
            skip_stripe(a, w_->edges.data() + from, to - from);
        }
    }
    env.host().edge_stripe_released(s);
}

// ------------------------------------------------- 2: posts and reposts

void CommitApply::step_items(const IndexEnv &env, uint32_t s) {
    StripeGuard g(env, s, true);
    if (!maintained(env.host(), s)) {
        // Emptied by a build: its snapshot holds this commit. An older
        // commit journaled later must not undo it there (skip_stripe).
        for (size_t i = w_->item_starts[s]; i < w_->item_starts[s + 1]; i++)
            record_author_change(env, s, w_->items.changes[i]);
        return;
    }
    Host &host = env.host();
    for (uint8_t k = 0; k < 2; k++)
        if (w_->items.truncated[k])
            erase_kind(*env.arena, *env.dir, s, k);
    ItemLwwTable &lww = env.item_lww[s];
    if (lww.n)
        lww.prune([&](const ItemLwwKey &k) {
            return host.item_any_pending(item_bucket(k.id, uint8_t(k.kind)));
        });
    for (size_t i = w_->item_starts[s]; i < w_->item_starts[s + 1]; i++)
        apply_item(env, s, i);
}

void CommitApply::apply_item(const IndexEnv &env, uint32_t s, size_t i) {
    const ItemChange &c = w_->items.changes[i];
    if (!valid_uid(c.src))
        return;
    ItemLwwTable &lww = env.item_lww[s];
    ItemLwwKey key = lww_key(c, kLwwAuthorRings);
    // A newer commit has changed this item in its author ring already. The
    // feed rings have registers of their own, and the newer commit may not
    // have reached them yet, or not all the rings that hold this source's
    // version (it planned its fan-out from the followers it knew then): a
    // deletion is still fanned out. An insertion is not: the newer version
    // reaches the followers by that commit's fan-out, or by the backfill
    // of a follow that came after its plan (which reads the author ring).
    // (Left open: a newer commit that re-creates the very version this
    // deletion names, same created_at and source, copied by such a backfill
    // into a ring it did not plan for, which this deletion then reaches.
    // No simulated seed has met it.)
    bool stale = lww.n && lww.newer(key, w_->lsn);
    stats_.items_stale += stale;
    Host &host = env.host();
    uint32_t slot = item_generation_slot(c.item.id, c.kind);
    if (!generation_advanced_.test(slot)) {  // once per commit and slot
        generation_advanced_.set(slot);
        advanced_slots_.push_back(slot);
        host.item_changed(slot);
    }
    plan_generation_[i] = host.item_generation(slot);
    bool journal = author_journal(host, c.src);
    DirEntry *e = env.dir->get(c.src);
    if (e == nullptr) {
        if (!env.dir->lost(c.src)) {
            env.dir->mark_lost(c.src);
            stats_.lost_leaves++;
        }
        // Its followers are not known either: no fan-out is possible.
        if (env.host().feeds_on())
            reset_feeds_ = true;
        record_author_change(env, s, c);
        return;
    }
    // The fan-out is planned against the ring as it was before this change
    // (a promotion records what was fanned out until now).
    if (!journal && env.host().feeds_on() && !(stale && c.op == kInsert))
        plan_fanout(env, i, e);
    if (stale)
        return;
    Ref *ref = &e->author;
    if (*ref == kInvalidRef) {
        // The author's items are not held; reads of them use the tables. A
        // build will read this commit: an older one journaled later must
        // not undo it there.
        record_author_change(env, s, c);
        return;
    }
    bool was_none = *ref == kNoRef;
    bool racing = host.item_others_pending(item_bucket(c.item.id, c.kind));
    if (!author_ring_apply(*env.arena, ref, c, env.author_cap, journal, racing, env.ring_bound)) {
        author_ring_give_up(*env.arena, ref);
        stats_.rings_lost++;
        return;
    }
    stats_.items_applied++;
    // A celebrity's new ring holds nothing that was fanned out: any item
    // of theirs from before the promotion was deleted (the ring was empty).
    if (was_none && held(*ref) && !journal && is_celeb(env, c.src))
        env.arena->at<RingHdr>(*ref)->fanned_until = kNoneFanned;
    if (!record_author_change(env, s, c)) {
        author_ring_give_up(*env.arena, ref);  // cannot order it
        stats_.rings_lost++;
    }
}

// Registers an item change in the author rings' register of stripe s where
// another pending commit may change the item too (lww.hpp). False if the
// register is full.
bool CommitApply::record_author_change(const IndexEnv &env, uint32_t s, const ItemChange &c) {
    Host &host = env.host();
    if (!valid_uid(c.src) || !host.item_others_pending(item_bucket(c.item.id, c.kind)))
        return true;
    auto needed = [&](const ItemLwwKey &k) {
        return host.item_any_pending(item_bucket(k.id, uint8_t(k.kind)));
    };
    return env.item_lww[s].record(lww_key(c, kLwwAuthorRings), w_->lsn, needed);
}

bool CommitApply::is_celeb(const IndexEnv &env, uint32_t uid) {
    if (celeb_known_ && celeb_uid_ == uid)
        return celeb_is_;
    bool r = false;
    {
        CelebGuard g(env, false);
        SetRef cs = *env.celebs;
        if (!cs.empty() && !cs.invalid()) {
            SetView v(*env.arena, cs, env.views);
            r = v.ok() && v.contains(uid);
        }
    }
    celeb_uid_ = uid;
    celeb_known_ = true;
    celeb_is_ = r;
    return r;
}

// Makes src a celebrity if it has more than fanout_limit followers (or an
// unknown number of them). Under src's stripe lock.
bool CommitApply::try_promote(const IndexEnv &env, uint32_t src, DirEntry *e) {
    if (set_journal(env.host(), src, kIn))
        return false;
    if (!e->set[kIn].invalid()) {
        SetView in(*env.arena, e->set[kIn], env.views);
        if (in.ok() && in.size() <= env.fanout_limit)
            return false;
    }
    {
        CelebGuard g(env, true);
        if (env.celebs->invalid())
            return false;
        WriteStats ws;
        if (set_apply(*env.arena, env.celebs, &src, 1, nullptr, 0, env.views, &ws) != Status::kOk)
            return false;
    }
    if (held(e->author)) {
        AuthorRing r(env.arena->at<RingHdr>(e->author));
        r.hdr()->fanned_until = r.size() > 0 ? r.newest().ts : kNoneFanned;
        if (!(r.horizon() == kMinKey) && r.size() == 0)
            r.hdr()->fanned_until = kAllFanned;  // items below the horizon are not known
    }
    stats_.promotions++;
    celeb_uid_ = src;
    celeb_known_ = true;
    celeb_is_ = true;
    return true;
}

// The feed rings this change must reach: the source's own, and its
// followers' unless it is a celebrity. Under the source's stripe lock.
void CommitApply::plan_fanout(const IndexEnv &env, size_t i, DirEntry *e) {
    const ItemChange &c = w_->items.changes[i];
    fan_.push_back(FanOp{c.src, uint32_t(i)});
    bool celeb = is_celeb(env, c.src);
    if (c.op == kInsert && !celeb)
        celeb = try_promote(env, c.src, e);
    // A celebrity's item newer than its ring's fanned_until was never
    // fanned out.
    bool never_fanned = celeb && held(e->author) &&
                        c.item.ts > env.arena->at<RingHdr>(e->author)->fanned_until;
    if (c.op == kInsert && celeb) {
        if (never_fanned || e->author == kNoRef)
            return;  // a new item, merged at read time (no ring: nothing was fanned out)
        // An item fanned out before the promotion, written again (an
        // UPDATE changed its details): the copies followers' feed rings
        // hold must follow; merged at read time, it needs no new ones.
        replace_only_[i] = 1;
    } else if (c.op != kInsert && never_fanned) {
        return;
    }
    if (e->set[kIn].invalid()) {
        reset_feeds_ = true;  // the followers are not known
        return;
    }
    SetView in(*env.arena, e->set[kIn], env.views);
    if (!in.ok()) {
        reset_feeds_ = true;
        return;
    }
    note_plan_epoch(env);
    size_t nf = in.size();
    followers_.resize(nf);
    nf = in.list(0, nf, followers_.data());
    size_t base = fan_.size();
    fan_.resize(base + nf);
    size_t m = base;
    for (size_t k = 0; k < nf; k++)
        if (followers_[k] != c.src)
            fan_[m++] = FanOp{followers_[k], uint32_t(i)};
    fan_.resize(m);
}

// ------------------------------------------------------------ 3: fan-out

// Groups the planned changes by the target's stripe, keeping their order
// (a deletion before an insertion of the same item).
void CommitApply::sort_fanout() {
    fan_starts_.assign(kStripes + 1, 0);
    for (const FanOp &f : fan_)
        fan_starts_[stripe_of(f.target) + 1]++;
    for (uint32_t s = 0; s < kStripes; s++)
        fan_starts_[s + 1] += fan_starts_[s];
    fan_sorted_.resize(fan_.size());
    std::vector<size_t> next(fan_starts_.begin(), fan_starts_.end() - 1);
    for (const FanOp &f : fan_)
        fan_sorted_[next[stripe_of(f.target)]++] = f;
    ent_.assign(fan_sorted_.size(), nullptr);
    pf_[0] = pf_[1] = pf_[2] = 0;
}

void CommitApply::step_fanout(const IndexEnv &env, uint32_t t) {
    StripeGuard g(env, t, true);
    if (!maintained(env.host(), t))
        return;
    Host &host = env.host();
    // An unfollow that started after the plan was made may have removed a
    // target's follow (and the source's items from its ring) already: then
    // every insertion re-checks the follow. Read under the stripe lock.
    bool check = plan_checked_ || env.unfollows_started == nullptr ||
                 __atomic_load_n(env.unfollows_started, __ATOMIC_ACQUIRE) != plan_epoch_;
    size_t from = fan_starts_[t], to = fan_starts_[t + 1];
    racing_change_ = UINT32_MAX;
    const FanOp *all = fan_sorted_.data();
    const size_t total = fan_sorted_.size();
    // Each target costs three loads that miss the cache, each depending on
    // the one before: its directory entry, its ring's header, the ring's
    // newest and oldest slots. A software pipeline keeps many in flight:
    // the entry is prefetched kAhead1 targets ahead, the header kAhead2,
    // the slots kAhead3 (distances measured in the server: longer ones
    // saturate the core's outstanding misses). A stripe's run is short (a post's followers spread
    // over all stripes), so the pipeline runs on into the next stripes'
    // targets, whose stripes are not locked yet: there it only reads hints
    // for prefetching (leaves never move; rings are read again, under their
    // lock, before anything is written).
    constexpr size_t kAhead1 = 40, kAhead2 = 20, kAhead3 = 6;
    for (size_t k = from; k < to; k++) {
        for (size_t end1 = std::min(total, k + kAhead1); pf_[0] < end1; pf_[0]++)
            env.dir->prefetch(all[pf_[0]].target);
        for (size_t end2 = std::min(total, k + kAhead2); pf_[1] < end2; pf_[1]++) {
            DirEntry *e = ent_[pf_[1]] = env.dir->find(all[pf_[1]].target);
            Ref r = e != nullptr ? __atomic_load_n(&e->feed, __ATOMIC_RELAXED) : kNoRef;
            if (held(r))
                __builtin_prefetch(env.arena->at<char>(r), 1);
        }
        for (size_t end3 = std::min(total, k + kAhead3); pf_[2] < end3; pf_[2]++) {
            DirEntry *e = ent_[pf_[2]];
            Ref r = e != nullptr ? __atomic_load_n(&e->feed, __ATOMIC_RELAXED) : kNoRef;
            if (held(r))
                FeedRing::prefetch_ends_hint(env.arena->at<RingHdr>(r));
        }
        DirEntry *e = ent_[k];
        if (e != nullptr && held(e->feed))
            fan_one(env, t, e, all[k].target, all[k].change, check);
    }
    const FanOp *ops = all + from;
    const size_t n = to - from;
    // Register each change in this stripe where another pending commit may
    // change the same item: it must not overtake this one here.
    ItemLwwTable &lww = env.item_lww[t];
    auto needed = [&](const ItemLwwKey &k) {
        return host.item_any_pending(item_bucket(k.id, uint8_t(k.kind)));
    };
    uint32_t last = UINT32_MAX;
    for (size_t k = 0; k < n; k++) {
        uint32_t ch = ops[k].change;
        if (ch == last)
            continue;
        last = ch;
        const ItemChange &c = w_->items.changes[ch];
        if (host.item_others_pending(item_bucket(c.item.id, c.kind)) &&
            !lww.record(lww_key(c, kLwwFeedRings), w_->lsn, needed))
            reset_feeds_ = true;  // cannot order it: rebuild the feed rings
    }
}

// Is another commit that may change this change's item pending? Asked
// once per change and fan-out step (a stripe's targets of one change are
// consecutive): under the stripe lock the answer holds for the step, as no
// other commit changes these rings meanwhile.
bool CommitApply::racing(const IndexEnv &env, uint32_t change) {
    asked(env, change);
    return racing_;
}

// Has another commit changed this change's item (or one in its slot) in
// its author ring since the fan-out was planned?
bool CommitApply::changed_since_plan(const IndexEnv &env, uint32_t change) {
    asked(env, change);
    return changed_;
}

void CommitApply::asked(const IndexEnv &env, uint32_t change) {
    if (change == racing_change_)
        return;
    const ItemChange &c = w_->items.changes[change];
    racing_change_ = change;
    racing_ = env.host().item_others_pending(item_bucket(c.item.id, c.kind));
    changed_ = env.host().item_generation(item_generation_slot(c.item.id, c.kind)) !=
               plan_generation_[change];
}

void CommitApply::fan_one(const IndexEnv &env, uint32_t t, DirEntry *e, uint32_t target,
                          uint32_t change, bool check) {
    const ItemChange &c = w_->items.changes[change];
    ItemLwwTable &lww = env.item_lww[t];
    if (lww.n && lww.newer(lww_key(c, kLwwFeedRings), w_->lsn))
        return;
    // An unfollow started since the plan, and another commit changed the
    // item since: the target may have unfollowed the source and followed it
    // again, its ring given the source's items as they are now (the
    // backfill), which the other commit's fan-out, planned while it did
    // not follow, passed by. Whether this change is older or newer than
    // what the ring holds, the ring cannot tell: it is given up, and built
    // again from the author rings when next read.
    if (check && target != c.src && changed_since_plan(env, change)) {
        drop_feed(*env.arena, e, &stats_);
        return;
    }
    RingHdr *h = env.arena->at<RingHdr>(e->feed);
    if (c.op == kInsert) {
        // (The source's own ring holds all its items, celebrity or not.)
        if (replace_only_[change] && target != c.src && FeedRing(h).find(c.item.key()) == nullptr)
            return;
        // The plan was made from the source's followers; an unfollow
        // applied since then must win.
        if (check && target != c.src && !feed_owner_follows(env, e, c.src, &stats_))
            return;
        // Replacing: the same item may be there from its old source (an
        // UPDATE gave it another author, whose insertion may come first).
        FeedItem it = feed_item_of(c.item);
        if (racing(env, change)) {
            // An older commit's version from this source may be here whose
            // removal that commit will skip as stale (author_apply.hpp).
            FeedRing ring(h);
            ring.erase_other_versions(c.item.key(), c.src);
            // The same key from a source this commit does not move the item
            // from: a newer commit's version (a follow's backfill copied it
            // from the author ring), or an older one that a pending commit
            // will delete. Which, the ring cannot tell: it is given up, and
            // built again from the author rings when next read.
            const FeedItem *same = ring.find(c.item.key());
            if (same != nullptr && same->src != c.src && same->src != c.moved_from) {
                drop_feed(*env.arena, e, &stats_);
                return;
            }
        }
        uint32_t depth = feed_depth(h, env.feed_cap);
        if (h->n == h->cap && h->cap >= depth)
            FeedRing(h).upsert(it);  // full size: the common case, no growth
        else
            ring_insert(*env.arena, &e->feed, it, depth, 4, true);
    } else {
        // Only the deleted version: an UPDATE that gave the item another
        // source may have put the new version here first.
        // Or another version of it, as in the author ring (author_apply.hpp).
        FeedRing ring(h);
        uint32_t pos = ring.lower_bound(c.item.key());
        if (pos < ring.size() && !(ring.at(pos).key() == c.item.key()))
            pos = ring.size();
        if (pos == ring.size() && racing(env, change))
            pos = ring.find_version(c.item.key(), c.src);
        if (pos == ring.size() || ring.at(pos).src != c.src)
            return;
        ring.erase_at(pos);
    }
    stats_.fanout++;
}

// ----------------------------------------------------------- 4: backfill

void CommitApply::step_backfill(const IndexEnv &env, size_t i) {
    uint32_t v = follows_[i].viewer, x = follows_[i].followee;
    PairGuard g(env, v, true, x);
    if (!maintained(env.host(), stripe_of(v)) || !maintained(env.host(), stripe_of(x)))
        return;
    DirEntry *ve = env.dir->find(v);
    if (ve == nullptr || !held(ve->feed))
        return;
    if (!feed_owner_follows(env, ve, x, &stats_))
        return;  // unfollowed again since (or the follow set is not held)
    if (is_celeb(env, x))
        return;  // merged at read time
    if (env.dir->lost(x)) {
        drop_feed(*env.arena, ve, &stats_);
        return;
    }
    if (follows_[i].resync)
        feed_erase_sources(*env.arena, ve->feed, v, &x, 1);
    DirEntry *xe = env.dir->find(x);
    if (xe == nullptr || xe->author == kNoRef)
        return;  // no items
    uint32_t depth = feed_depth(env.arena->at<RingHdr>(ve->feed), env.feed_cap);
    if (xe->author == kInvalidRef || !feed_backfill(*env.arena, &ve->feed, xe->author, depth)) {
        drop_feed(*env.arena, ve, &stats_);
        return;
    }
    stats_.backfills++;
}

// -------------------------------------------------------------- 5: reset

void CommitApply::step_reset(const IndexEnv &env, uint32_t s) {
    StripeGuard g(env, s, true);
    stats_.feeds_dropped += clear_rings(*env.arena, *env.dir, s, false);
}

}  // namespace dp
