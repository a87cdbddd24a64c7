// ws_cat: subscribes to a Jetstream endpoint with ing::WsClient and writes
// every message to stdout, one per line; a summary goes to stderr.
//
//   ws_cat URL [--collection NSID]... [--cursor TIME_US] [--count N]
//          [--idle SECONDS] [--rewind MICROSECONDS] [--quiet]
//
// After each message the cursor passed back to the client is the
// message's time_us + 1 - rewind, so a reconnect resumes right after the
// last message (or rewinds, as a consumer of the live stream does). Stops
// after --count messages, or after --idle seconds without one (10).
#include <getopt.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <libwebsockets.h>

#include "ws_client.hpp"

namespace {

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

struct Cat : ing::WsSink {
    ing::WsClient *client = nullptr;
    bool quiet = false;
    uint64_t limit = 0;  // --count (0: no limit)
    int64_t rewind = 0;
    uint64_t count = 0;
    int64_t last_at = 0;

    bool on_message(const char *data, size_t len) noexcept override {
        // A slice may deliver more messages than --count asked for: drop them.
        if (limit != 0 && count >= limit)
            return false;
        if (!quiet) {
            fwrite(data, 1, len, stdout);
            fputc('\n', stdout);
        }
        count++;
        last_at = now_ms();
        // time_us as Jetstream writes it: "time_us":DIGITS
        const char *key = "\"time_us\":";
        const char *p = static_cast<const char *>(memmem(data, len, key, strlen(key)));
        if (p != nullptr)
            client->set_cursor(strtoll(p + strlen(key), nullptr, 10) + 1 - rewind);
        return limit == 0 || count < limit;
    }
    void on_state(ing::WsState s, const char *reason) noexcept override {
        fprintf(stderr, "ws_cat: %s%s%s\n", ing::ws_state_name(s), reason[0] ? ": " : "", reason);
    }
};

int usage() {
    fprintf(stderr, "usage: ws_cat URL [--collection NSID]... [--cursor TIME_US] [--count N]\n"
                    "              [--idle SECONDS] [--rewind MICROSECONDS] [--quiet]\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    ing::WsOptions o;
    int64_t cursor = -1;
    double idle_s = 10;
    Cat cat;
    static const struct option kLong[] = {
        {"collection", required_argument, nullptr, 'c'}, {"cursor", required_argument, nullptr, 't'},
        {"count", required_argument, nullptr, 'n'},      {"idle", required_argument, nullptr, 'i'},
        {"rewind", required_argument, nullptr, 'r'},     {"quiet", no_argument, nullptr, 'q'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:t:n:i:r:q", kLong, nullptr)) != -1) {
        switch (c) {
        case 'c':
            o.wanted_collections.emplace_back(optarg);
            break;
        case 't':
            cursor = strtoll(optarg, nullptr, 10);
            break;
        case 'n':
            cat.limit = strtoull(optarg, nullptr, 10);
            break;
        case 'i':
            idle_s = atof(optarg);
            break;
        case 'r':
            cat.rewind = strtoll(optarg, nullptr, 10);
            break;
        case 'q':
            cat.quiet = true;
            break;
        default:
            return usage();
        }
    }
    if (optind + 1 != argc)
        return usage();
    o.url = argv[optind];
    ing::WsClient::set_library_log(LLL_ERR | LLL_WARN, nullptr);
    ing::WsClient client;
    cat.client = &client;
    std::string err;
    if (!client.init(o, &cat, &err)) {
        fprintf(stderr, "ws_cat: %s\n", err.c_str());
        return 1;
    }
    client.set_cursor(cursor);
    client.start();
    int64_t t0 = now_ms();
    cat.last_at = t0;
    while ((cat.limit == 0 || cat.count < cat.limit) &&
           now_ms() - cat.last_at < int64_t(idle_s * 1000))
        client.service(100);
    double secs = double(std::max<int64_t>(cat.last_at - t0, 1)) / 1000;  // to the last message
    ing::WsStats st = client.stats();
    fflush(stdout);
    fprintf(stderr,
            "ws_cat: %llu messages, %.1f MB in %.2f s (%.0f messages/s), %llu connects, "
            "%llu disconnects, %llu failures, %llu dropped, cursor %lld\n",
            (unsigned long long) st.messages, double(st.bytes) / 1e6, secs,
            double(st.messages) / secs, (unsigned long long) st.connects,
            (unsigned long long) st.disconnects, (unsigned long long) st.failures,
            (unsigned long long) st.dropped, (long long) st.cursor);
    return 0;
}
