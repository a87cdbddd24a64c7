// Building the index from the tables while commits go on.
//
// The protocol that keeps a build exact without blocking writers:
//  1. Every stripe is emptied and switched to "building" under its lock
//     (build_reset_*). From then on the commit apply keeps, for every set
//     and author ring the build has not installed yet, a journal: the
//     changes committed since (index_env.hpp: set_journal, author_journal).
//  2. The build reads the tables with a snapshot taken after step 1: every
//     commit missing from the snapshot is in the journals, and a commit
//     that is in both agrees with itself.
//  3. Per user, in ascending uid order, under the stripe lock, the set (or
//     ring) becomes what the build read, with the journal replayed over it,
//     and the install cursor moves past the user, so that later commits
//     apply to it normally (InstallPass). One pass per side of the follow
//     sets, one for the author rings.
//  4. Every stripe switches to "ready" (build_finish), and the host declares
//     the index ready.
//
// The host (host.hpp) keeps the stripe modes and the cursors. The caller
// reads the tables (step 2) and drives step 3 with run_install_pass, so
// that nothing in the core calls code that may longjmp: the rows are
// fetched by the caller, between the core's steps.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

#include "index_env.hpp"
#include "ring.hpp"

namespace dp {

// Step 1, in parts so that a simulation can interleave commits: the
// cursors to zero; each stripe emptied (its sets and rings freed) and left
// unmaintained; then, with no set or ring left anywhere, the directory's
// leaves and the celebrity set freed and every stripe switched to journal
// mode, all under every stripe lock.
void build_reset_begin(const IndexEnv &env);
void build_reset_stripe(const IndexEnv &env, uint32_t stripe);
void build_reset_end(const IndexEnv &env);
inline void build_reset(const IndexEnv &env) {
    build_reset_begin(env);
    for (uint32_t s = 0; s < kStripes; s++)
        build_reset_stripe(env, s);
    build_reset_end(env);
}

// Step 4.
void build_finish(const IndexEnv &env);

// Step 3 over one kind of data. next() says which user to install next,
// given the next uid that has rows (kNoRows when none is left); the caller
// then installs that user's rows (none if it has none). Users that have a
// journal but no rows (an account that appeared during the build) are
// visited too; runs of directory leaves with neither rows nor entries are
// skipped. Each call is one atomic step under the locks it needs.
class InstallPass {
  public:
    // A side of the sets (directory.hpp: Kind(side)), or the author rings.
    enum Kind : uint8_t { kFollowing = kOut, kFollowers = kIn, kAuthors = kNumSides };
    static constexpr uint32_t kNoRows = UINT32_MAX;
    static constexpr uint32_t kDone = UINT32_MAX;

    InstallPass(const IndexEnv &env, Kind kind) : env_(env), kind_(kind) {}

    // The uid to install next, or kDone once the pass is over (its cursor
    // then lets every commit apply normally).
    uint32_t next(uint32_t next_row_uid);
    // Installs `uid`'s set (a list's, for kMembers): the sorted,
    // duplicate-free v[0..n).
    void install_set(uint32_t uid, const uint32_t *v, size_t n);
    // Installs `uid`'s author ring: its newest items, ascending, at most the
    // capacity, and the key of the newest item that did not fit (kMinKey
    // when all did).
    void install_author(uint32_t uid, const AuthorItem *items, size_t n, ItemKey horizon);

  private:
    bool finish_if_done(uint32_t next_row_uid);
    // The sets this pass installs (the author rings' pass: the follow
    // directory's entries, through kOut).
    SideSets sets() const { return side_sets(env_, kind_ == kAuthors ? uint8_t(kOut) : uint8_t(kind_)); }
    bool skip_empty_leaves(uint32_t next_row_uid, uint32_t end);

    const IndexEnv &env_;
    Kind kind_;
    uint32_t uid_ = 1;
};

// Drives one InstallPass over a source of rows:
//   uint32_t rows.peek()        the next uid with rows, or InstallPass::kNoRows
//   void rows.load(uid)         gathers that uid's rows (none if peek() != uid)
//   void rows.install(pass, uid) hands them to pass.install_set / install_author
//   void between()              called at every leaf boundary (interrupts)
// In the server, rows and between may raise a PostgreSQL error (a longjmp):
// this frame holds no object with a destructor and no lock while it calls
// them, and every step of the pass is complete before the next call.
template <typename Rows, typename Between>
void run_install_pass(InstallPass &pass, Rows &rows, Between between) {
    for (;;) {
        uint32_t uid = pass.next(rows.peek());
        if (uid == InstallPass::kDone)
            return;
        rows.load(uid);
        rows.install(pass, uid);
        if (((uid + 1) & (kLeafSize - 1)) == 0)
            between();
    }
}

}  // namespace dp
