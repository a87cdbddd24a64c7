// The rows dataplane.verify() returns, shared by its parts: the follow
// sets (fn_verify.cpp) and the rings (verify_rings.cpp).
#pragma once

#include "pg_prelude.hpp"

#include "entry.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace dpg {

struct Report {
    Tuplestorestate *store;
    TupleDesc desc;
    int64 rows;
    int64 skipped;  // sets or rings the index does not hold
};
DP_PG_FRAME(Report);

// One difference: problem, the user, the other user (0: none, NULL), detail.
void report(Report *r, const char *problem, uint32 uid, uint32 other, const char *detail);

// Compares every author ring and feed ring with the tables, within the
// ring's horizon. Under verify()'s table locks, with its snapshot, inside
// its SPI connection.
void verify_rings(Report *r);

}  // namespace dpg
