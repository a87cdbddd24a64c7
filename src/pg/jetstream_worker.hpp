// The live Jetstream consumer (a background worker): registration and the
// names of its states for status(). See jetstream_worker.cpp.
#pragma once

#include "pg_prelude.hpp"

namespace dpg {

// States in JetstreamShared::state: off (no URL), error (the URL cannot be
// used), then kJsIdle + ing::WsState (idle, connecting, connected, waiting,
// stopped).
constexpr uint32 kJsOff = 0;
constexpr uint32 kJsError = 1;
constexpr uint32 kJsIdle = 2;

// Registers the worker; from _PG_init while preloading.
void jetstream_register_worker();

// "off", "error", "idle", "connecting", "connected", "waiting", "stopped".
const char *jetstream_state_name(uint32 state);

}  // namespace dpg
