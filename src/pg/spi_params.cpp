#include "spi_params.hpp"

#include "cpu_clock.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace dpg {

void run_statement(Statement *st, Datum *values, int expect) {
    if (st->plan == nullptr) {
        // A generic plan, always: a custom plan sees how many keys the
        // arrays hold and, once the tables are large, picks hash joins over
        // sequential scans of whole tables for a batch's few thousand keys
        // (measured: loads 10x slower at 4 million events); the generic
        // plan probes the indexes, whatever the batch's size.
        SPIPlanPtr p = SPI_prepare_cursor(st->sql, st->nargs, st->types, CURSOR_OPT_GENERIC_PLAN);
        if (p == nullptr)
            elog(ERROR, "dataplane: could not plan \"%s\": %s", st->sql,
                 SPI_result_code_string(SPI_result));
        SPI_keepplan(p);
        st->plan = p;
    }
    double t0 = cpu_ms();
    int rc = SPI_execute_plan(st->plan, values, nullptr, false, 0);
    if (rc != expect)
        elog(ERROR, "dataplane: \"%s\" failed: %s", st->sql, SPI_result_code_string(rc));
    elog(DEBUG2, "dataplane: %.1f ms CPU, %llu rows: %.160s", cpu_ms() - t0,
         (unsigned long long) SPI_processed, st->sql);
}

int prefer_index_probes() {
    int level = NewGUCNestLevel();
    for (const char *name : {"enable_hashjoin", "enable_mergejoin", "enable_bitmapscan", "enable_seqscan"})
        (void) set_config_option(name, "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true,
                                 0, false);
    return level;
}

}  // namespace dpg
