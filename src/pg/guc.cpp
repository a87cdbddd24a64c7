#include "guc.hpp"

#include "pg_prelude.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace dpg {

int guc_memory_limit_mb = 256;
int guc_feed_capacity = 800;
int guc_pressure_window_s = 60;
int guc_ring_max_age_s = 7 * 24 * 3600;
int guc_ring_keep_newest = 0;
int guc_author_capacity = 1000;
int guc_fanout_limit = 10000;
char *guc_database = nullptr;
int guc_test_apply_delay_ms = 0;
bool guc_test_skip_capture = false;
int guc_test_fail_allocation = 0;
char *guc_jetstream_url = nullptr;
int guc_jetstream_batch = 5000;
int guc_jetstream_flush_ms = 1000;
int guc_jetstream_rewind_s = 5;

void guc_init() {
    DefineCustomIntVariable(
        "dataplane.memory_limit", "Shared memory the dataplane index may use.",
        "Taken from shared memory at server start. When the index needs more, it "
        "evicts feed rings, then answers what it cannot hold from the tables.",
        &guc_memory_limit_mb, 256, 1, 32 * 1024, PGC_POSTMASTER, GUC_UNIT_MB, nullptr, nullptr,
        nullptr);
    DefineCustomIntVariable("dataplane.feed_capacity",
                            "Items a viewer's feed ring keeps in memory.", nullptr,
                            &guc_feed_capacity, 800, 1, 100000, PGC_POSTMASTER, 0, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable(
        "dataplane.ring_max_age",
        "Age beyond which author rings drop their items (beyond ring_keep_newest).",
        "Counted back from the newest created_at the index has seen (never later than now). "
        "Pages that reach below what the rings keep are read from the tables, exactly. 0 keeps "
        "items of any age (author rings are then bounded by author_capacity only).",
        &guc_ring_max_age_s, 7 * 24 * 3600, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr,
        nullptr);
    DefineCustomIntVariable(
        "dataplane.ring_keep_newest",
        "Items every author ring keeps whatever their age (ring_max_age).",
        "0: an author with nothing younger than ring_max_age holds no item in memory (a "
        "48-byte header). More keeps sparse timelines in memory at the cost of memory for "
        "every author who ever posted; lowering it takes effect as rings trim, raising it at "
        "the next rebuild.",
        &guc_ring_keep_newest, 0, 0, 100000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "dataplane.pressure_window",
        "Period over which status() reports ring builds, evictions and pages without a ring.",
        "Once per period the index also checks whether memory_limit holds the timelines being "
        "read, and logs a hint with the limit that would.",
        &guc_pressure_window_s, 60, 1, 3600, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("dataplane.author_capacity",
                            "Items an author ring keeps in memory.", nullptr,
                            &guc_author_capacity, 1000, 1, 100000, PGC_POSTMASTER, 0, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable(
        "dataplane.fanout_limit",
        "Followers above which an author's items are merged at read time, not fanned out.",
        nullptr, &guc_fanout_limit, 10000, 0, INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable(
        "dataplane.database", "The database whose dataplane tables the index serves.",
        "CREATE EXTENSION dataplane is only allowed in this database.", &guc_database,
        "postgres", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "dataplane.test_apply_delay", "Testing only: delay before a commit is applied.",
        "Widens the window between a commit becoming visible and its apply, so that "
        "tests can race other transactions into it.",
        &guc_test_apply_delay_ms, 0, 0, 60000, PGC_SUSET, GUC_UNIT_MS | GUC_NOT_IN_SAMPLE,
        nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "dataplane.test_skip_capture", "Testing only: capture triggers queue nothing.",
        "Loses this session's changes to the index on purpose, so that tests can show "
        "dataplane.verify() finding the differences.",
        &guc_test_skip_capture, false, PGC_SUSET, GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "dataplane.test_fail_allocation",
        "Testing only: the Nth C++ allocation of each commit apply fails.",
        "Shows that a commit the index cannot apply for lack of memory stays committed "
        "and leaves the index degraded, its reads answered by the tables.",
        &guc_test_fail_allocation, 0, 0, INT_MAX, PGC_SUSET, GUC_NOT_IN_SAMPLE, nullptr, nullptr,
        nullptr);
    DefineCustomStringVariable(
        "dataplane.jetstream_url", "Jetstream endpoint the live consumer subscribes to.",
        "A ws:// or wss:// URL, e.g. wss://jetstream2.us-east.bsky.network/subscribe. Empty: "
        "the consumer idles. A reload that changes it reconnects, resuming from the cursor "
        "saved for that URL in dataplane.jetstream_cursor.",
        &guc_jetstream_url, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "dataplane.jetstream_batch", "Events the live consumer applies per transaction.",
        nullptr, &guc_jetstream_batch, 5000, 1, 1000000, PGC_SIGHUP, 0, nullptr, nullptr,
        nullptr);
    DefineCustomIntVariable(
        "dataplane.jetstream_flush_interval",
        "Longest time the live consumer holds received events before applying them.", nullptr,
        &guc_jetstream_flush_ms, 1000, 1, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
        nullptr);
    DefineCustomIntVariable(
        "dataplane.jetstream_rewind",
        "How far before its saved cursor the live consumer resumes.",
        "Jetstream cursors are times, and events of one microsecond may straddle a batch: "
        "resuming a little earlier loses none (applying an event twice changes nothing).",
        &guc_jetstream_rewind_s, 5, 0, 3600, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("dataplane");
}

}  // namespace dpg
