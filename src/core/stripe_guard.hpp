// Scoped stripe and celebrity locks over an IndexEnv: released on every
// exit from the block, exceptions included (core code only; the host's
// lock callbacks never throw).
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstdint>

#include "edge_batch.hpp"
#include "index_env.hpp"

namespace dp {

class StripeGuard {
  public:
    StripeGuard(const IndexEnv &env, uint32_t stripe, bool exclusive) : env_(env), s_(stripe) {
        env_.host().lock(s_, exclusive);
    }
    ~StripeGuard() { env_.host().unlock(s_); }
    StripeGuard(const StripeGuard &) = delete;
    StripeGuard &operator=(const StripeGuard &) = delete;

  private:
    const IndexEnv &env_;
    uint32_t s_;
};

// Two uids' stripes in stripe order: `a`'s exclusive or shared as asked,
// `b`'s shared (or as `a`'s when they share a stripe).
class PairGuard {
  public:
    PairGuard(const IndexEnv &env, uint32_t a, bool a_exclusive, uint32_t b) : env_(env) {
        sa_ = stripe_of(a);
        sb_ = stripe_of(b);
        if (sa_ == sb_) {
            env_.host().lock(sa_, a_exclusive);
        } else if (sa_ < sb_) {
            env_.host().lock(sa_, a_exclusive);
            env_.host().lock(sb_, false);
        } else {
            env_.host().lock(sb_, false);
            env_.host().lock(sa_, a_exclusive);
        }
    }
    ~PairGuard() {
        env_.host().unlock(sa_);
        if (sb_ != sa_)
            env_.host().unlock(sb_);
    }
    PairGuard(const PairGuard &) = delete;
    PairGuard &operator=(const PairGuard &) = delete;

  private:
    const IndexEnv &env_;
    uint32_t sa_, sb_;
};

class CelebGuard {
  public:
    CelebGuard(const IndexEnv &env, bool exclusive) : env_(env) {
        env_.host().lock_celebs(exclusive);
    }
    ~CelebGuard() { env_.host().unlock_celebs(); }
    CelebGuard(const CelebGuard &) = delete;
    CelebGuard &operator=(const CelebGuard &) = delete;

  private:
    const IndexEnv &env_;
};

}  // namespace dp
