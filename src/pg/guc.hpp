// The extension's configuration parameters (dataplane.*).
#pragma once

namespace dpg {

extern int guc_memory_limit_mb;
extern int guc_feed_capacity;
extern int guc_pressure_window_s;
extern int guc_ring_max_age_s;
extern int guc_ring_keep_newest;
extern int guc_author_capacity;
extern int guc_fanout_limit;
extern char *guc_database;
extern int guc_test_apply_delay_ms;
extern bool guc_test_skip_capture;
extern int guc_test_fail_allocation;
extern char *guc_jetstream_url;
extern int guc_jetstream_batch;
extern int guc_jetstream_flush_ms;
extern int guc_jetstream_rewind_s;

// Defines the parameters; called from _PG_init while preloading.
void guc_init();

}  // namespace dpg
