// Running SQL over the dataplane tables with their owner's rights, as the
// index reads them: a caller needs EXECUTE on the functions (and a writer
// the privileges of its own statement), not SELECT on every table.
#pragma once

#include "pg_prelude.hpp"

extern "C" {
#include "miscadmin.h"
}

namespace dpg {

// The owner of dataplane.follow (errors if the tables are gone).
Oid tables_owner();

// Runs f() as the tables' owner, in a restricted security context, and
// restores the caller's identity also when f() raises an error. f must be
// trivially destructible (a lambda capturing by reference).
template <typename F>
void run_as_tables_owner(F f) {
    Oid saved_user;
    int saved_sec;
    GetUserIdAndSecContext(&saved_user, &saved_sec);
    SetUserIdAndSecContext(tables_owner(), saved_sec | SECURITY_LOCAL_USERID_CHANGE |
                                               SECURITY_RESTRICTED_OPERATION);
    PG_TRY();
    {
        f();
    }
    PG_CATCH();
    {
        SetUserIdAndSecContext(saved_user, saved_sec);
        PG_RE_THROW();
    }
    PG_END_TRY();
    SetUserIdAndSecContext(saved_user, saved_sec);
}

}  // namespace dpg
