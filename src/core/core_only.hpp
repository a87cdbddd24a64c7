// Included first by every header of the core: the core must not see
// PostgreSQL's headers (c.h defines Min, Max, Assert; port.h redefines
// printf and friends; elog.h defines ERROR), and the glue must include the
// core before them (src/pg/pg_prelude.hpp does).

#ifdef POSTGRES_H
#error "a dataplane core header was included after postgres.h: include pg_prelude.hpp first"
#endif
