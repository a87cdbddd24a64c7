// Set-returning functions in materialize mode.
#pragma once

#include "pg_prelude.hpp"

namespace dpg {

// InitMaterializedSRF, with the caller's descriptor of the result when it
// has one (a function in FROM always does): the same columns, copied
// instead of built again from the catalog on every call, which for a
// function with OUT parameters means reading and parsing its pg_proc
// arrays (12 % of a relationships() call for 50 uids).
void init_materialized_srf(FunctionCallInfo fcinfo);

}  // namespace dpg
