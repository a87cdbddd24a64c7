#include "gate.hpp"

#include "build.hpp"
#include "capture.hpp"
#include "commit.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace dpg {

static Oid cached_gen = InvalidOid;
static bool gen_valid = false;
static bool callback_registered = false;

static void relcache_callback(Datum, Oid relid) {
    if (relid == InvalidOid || relid == cached_gen)
        gen_valid = false;
}

Oid current_generation() {
    if (gen_valid)
        return cached_gen;
    if (!callback_registered) {
        CacheRegisterRelcacheCallback(relcache_callback, Datum(0));
        callback_registered = true;
    }
    Oid nsp = get_namespace_oid("dataplane", true);
    cached_gen = OidIsValid(nsp) ? get_relname_relid("follow", nsp) : InvalidOid;
    gen_valid = OidIsValid(cached_gen);
    return cached_gen;
}

bool read_gate(Fallback *why) {
    if (txn_has_changes()) {
        *why = kFbOwnWrites;
        return false;
    }
    if (!shmem_attach()) {
        *why = kFbWarming;
        return false;
    }
    Oid gen = current_generation();
    if (pg_atomic_read_u32(&L.sh->state) != kStateReady || L.sh->gen_relid != gen) {
        maybe_launch_build(gen);
        *why = kFbWarming;
        return false;
    }
    if (!fence_visible_commits()) {
        *why = kFbInFlight;
        return false;
    }
    return true;
}

}  // namespace dpg
