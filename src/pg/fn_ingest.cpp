// dataplane.ingest_jetstream(events text) returns bigint: Jetstream v1 events,
// one per line, applied in order to the tables in the caller's transaction
// (DESIGN.md, "Ingest: Jetstream events into the tables").
//
// A batch goes through four steps:
//  1. every line is read (src/ingest/jetstream_parse): applied, skipped (a
//     kind or collection the index does not keep) or unreadable (counted);
//  2. the DIDs the events name are interned into actor with two statements
//     (a third only if another session interned some of them meanwhile),
//     and every createdAt is read by PostgreSQL's own date parser;
//  3. the batch model (src/ingest/ingest_model) runs the events in order
//     over the rows they touch, loaded with one SELECT per kind of key
//     (ingest_load.cpp), loading more if a rule looked further;
//  4. the difference is written with one statement per table and kind
//     (ingest_write.cpp); the tables' triggers capture it for the index.
//
// Concurrent batches are serialized by a transaction lock, so that the
// tables end as after some serial order of the batches. Under REPEATABLE
// READ or SERIALIZABLE a batch whose snapshot misses a batch committed
// before it got the lock fails with a serialization error (retry it).
#include "ingest_change.hpp"
#include "ingest_model.hpp"
#include "jetstream_parse.hpp"
#include "rfc3339.hpp"

#include <memory>
#include <functional>

#include "did_hints.hpp"
#include "flat_table.hpp"

#include "cpu_clock.hpp"
#include "entry.hpp"
#include "ingest_load.hpp"
#include "ingest_write.hpp"
#include "owner.hpp"
#include "shmem.hpp"
#include "spi_params.hpp"

extern "C" {
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
}

namespace dpg {

namespace {

// A DID of the batch: its uid (0: none yet) and whether it is interned (an
// applied create, update or account event names it) or only looked up.
struct Did {
    uint32 uid;
    bool intern;
};

using DidHash = ing::TextHash;

// The batch's working memory: C++ containers live here, in static storage,
// never in a frame that a PostgreSQL error unwinds. Reset at every call.
struct Work {
    ing::JetstreamParser parser;
    std::vector<ing::JetstreamEvent> events;
    // Every DID the batch names. (Pointers into it, which insertions move,
    // are taken only once every DID is in.)
    ing::FlatMap<std::string_view, Did, DidHash> uid_of;
    std::vector<std::string_view> intern;              // DIDs to intern, in order
    std::vector<ing::Change> changes;
    ing::PrefetchedIds ids;
    std::unique_ptr<ing::State> state;
    ing::Keys keys;
    ing::BatchRun run;
    ing::Diff diff;
    Vouched vouched;  // rows locked or inserted by the batch
    ing::DidHints hints;  // kept from batch to batch (did_hints.hpp)
};
Work *work = nullptr;

// Where a batch's CPU time goes, in ms, reported at DEBUG1 (to profile the
// ingest: SET client_min_messages = debug1; DEBUG2 adds each statement).
struct Phases {
    double parse, intern, load, model, write;
    int runs;
};
Phases phases;

struct Counts {
    uint64 lines = 0, applied = 0, skipped = 0, unreadable = 0;
    bool any_time = false;  // a readable event: max_time_us is set
    int64 max_time_us = 0;  // any int64 from ing::kMinTimeUs on
};
DP_PG_FRAME(Counts);

// The key of the ingest's lock: an advisory lock tag no SQL advisory lock
// can name (their fourth field is 1 or 2).
void lock_ingest() {
    LOCKTAG tag;
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0x44504C4E /* "DPLN" */, 1, 3);
    (void) LockAcquire(&tag, ExclusiveLock, false, false);
}

// Under REPEATABLE READ: a batch committed after this transaction's
// snapshot (the one before it, under the lock) would be unseen.
void check_snapshot() {
    if (!IsolationUsesXactSnapshot() || L.sh == nullptr)
        return;
    TransactionId last = pg_atomic_read_u32(&L.sh->ingest.last_xid);
    if (!TransactionIdIsValid(last) || TransactionIdIsCurrentTransactionId(last) ||
        !TransactionIdDidCommit(last) || !XidInMVCCSnapshot(last, GetTransactionSnapshot()))
        return;
    ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                    errmsg("could not serialize access due to a concurrent "
                           "dataplane.ingest_jetstream() batch"),
                    errhint("Retry the transaction: batches apply in one order.")));
}

// The parser's earliest time_us is PostgreSQL's first timestamp.
static_assert(ing::kMinTimeUs ==
                  MIN_TIMESTAMP + int64(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY,
              "ing::kMinTimeUs must be MIN_TIMESTAMP in Unix microseconds");

// The event's time as a timestamptz: 'epoch' + time_us microseconds. Valid
// for every time_us the parser reads (kMinTimeUs on; the subtraction cannot
// overflow, and INT64_MAX lands before END_TIMESTAMP).
int64 event_time(int64 time_us) {
    return time_us - int64(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

// createdAt as PostgreSQL reads it (no error: its parser reports codes);
// false when it is not a readable date-time. The same calls and buffer as
// timestamptz_in, which parses its argument in place: up to
// kMaxDateTimeLength characters, more than MAXDATELEN.
bool read_created_at(std::string_view s, int64 *out) {
    ing::DateTimeFields f;
    if (s.empty() || s.size() > ing::kMaxDateTimeLength || !ing::parse_rfc3339(s, &f))
        return false;
    // The shape records are written in (hour below 24, no leap second, at
    // most six fraction digits): PostgreSQL's own arithmetic (tm2timestamp,
    // dt2local) over the fields parse_rfc3339 checked, without its parser
    // (about a microsecond an event). Up to six digits, the fraction is
    // exactly the microseconds PostgreSQL's rint(strtod(...) * 1e6) makes.
    // The other shapes (24:00:00, second 60, longer fractions, which
    // PostgreSQL rounds) go through its parser below.
    if (f.hour < 24 && f.second < 60 && f.fraction.size() <= 6) {
        int64 frac = 0;
        for (size_t i = 0; i < 6; i++)
            frac = frac * 10 + (i < f.fraction.size() ? f.fraction[i] - '0' : 0);
        int64 days = int64(date2j(f.year, f.month, f.day)) - POSTGRES_EPOCH_JDATE;
        int64 time = ((int64(f.hour) * MINS_PER_HOUR + f.minute) * SECS_PER_MINUTE + f.second) * USECS_PER_SEC + frac;
        Timestamp ts = days * USECS_PER_DAY + time - int64(f.offset_minutes) * SECS_PER_MINUTE * USECS_PER_SEC;
        if (!IS_VALID_TIMESTAMP(ts))
            return false;
        *out = ts;
        return true;
    }
    char text[ing::kMaxDateTimeLength + 1], workbuf[MAXDATELEN + MAXDATEFIELDS];
    memcpy(text, s.data(), s.size());
    text[s.size()] = '\0';
    char *field[MAXDATEFIELDS];
    int ftype[MAXDATEFIELDS], nf, dtype, tz = 0;
    struct pg_tm tm;
    fsec_t fsec;
    if (ParseDateTime(text, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf) != 0 ||
        DecodeDateTime(field, ftype, nf, &dtype, &tm, &fsec, &tz) != 0 || dtype != DTK_DATE)
        return false;
    Timestamp ts;
    if (tm2timestamp(&tm, fsec, &tz, &ts) != 0 || !IS_VALID_TIMESTAMP(ts))
        return false;
    *out = ts;
    return true;
}

// Reads the lines of buf[0, len) into work->events; `readable` bytes from
// buf on may be read (simdjson reads up to kJsonPadding bytes past a line).
void read_part(const char *buf, size_t len, size_t readable, Counts *c) {
    size_t pos = 0;
    std::string_view line;
    while (ing::next_line(buf, len, &pos, &line)) {
        c->lines++;
        ing::JetstreamEvent ev;
        work->parser.parse(line.data(), line.size(), readable - size_t(line.data() - buf), &ev);
        if (ev.verdict == ing::Verdict::kUnreadable) {
            c->unreadable++;
            continue;
        }
        c->max_time_us = c->any_time ? Max(c->max_time_us, ev.time_us) : ev.time_us;
        c->any_time = true;
        if (ev.verdict == ing::Verdict::kSkip) {
            c->skipped++;
            continue;
        }
        c->applied++;
        work->events.push_back(ev);
    }
}

// Step 1: every line of text[0, len) into work->events. Lines that end more
// than kJsonPadding bytes before the text's end are read where they are;
// the last few, from a padded copy of the text's tail. (A batch is tens of
// megabytes: a padded copy of all of it cost a memcpy and a page fault per
// 4 kB, every batch.) The events' views point into the text or the copy.
void read_lines(const char *text, size_t len, Counts *c) {
    // The start of the line holding byte len - kJsonPadding - 1: every line
    // before it ends at least kJsonPadding + 1 bytes before len.
    size_t tail = len > ing::kJsonPadding ? len - ing::kJsonPadding - 1 : 0;
    while (tail > 0 && text[tail - 1] != '\n')
        tail--;
    read_part(text, tail, len, c);
    size_t n = len - tail;
    char *copy = static_cast<char *>(palloc(n + ing::kJsonPadding));
    memcpy(copy, text + tail, n);
    memset(copy + n, 0, ing::kJsonPadding);
    read_part(copy, n, n + ing::kJsonPadding, c);
}

Statement q_item_ids{"SELECT nextval('dataplane.item_id_seq') FROM generate_series(1, $1)", 1,
                     {INT4OID}, nullptr};
Statement q_list_ids{"SELECT nextval('dataplane.list_id_seq') FROM generate_series(1, $1)", 1,
                     {INT4OID}, nullptr};

// Appends the bigints the last statement returned to *out.
void take_ids(std::vector<int64_t> *out) {
    for (uint64 i = 0; i < SPI_processed; i++) {
        bool isnull;
        out->push_back(DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)));
    }
    SPI_freetuptable(SPI_tuptable);
}

// Keeps, for the next batch, the ids the last batch prefetched and did not
// hand out (a replayed create needs none, but id_demand's bound counts one
// for it: a full replay drew a value of item_id_seq per post and repost,
// and wrote none). Only the last run of a batch can have written rows (an
// incomplete run writes nothing), and it drew the first items_used and
// lists_used values: those go, whether the batch committed or not. The
// others were never in a row; a value of a sequence is never drawn twice,
// so no other session holds them.
void drop_used_ids(ing::PrefetchedIds *ids) {
    ids->items.erase(ids->items.begin(), ids->items.begin() + long(Min(ids->items_used, ids->items.size())));
    ids->lists.erase(ids->lists.begin(), ids->lists.begin() + long(Min(ids->lists_used, ids->lists.size())));
    ids->rewind();
}

// Appends n values of a sequence to *out.
void fetch_ids(Statement *st, size_t n, std::vector<int64_t> *out) {
    if (n == 0)
        return;
    Datum values[1] = {Int32GetDatum(int32(n))};
    run_statement(st, values, SPI_OK_SELECT);
    take_ids(out);
}

// Locked as a foreign key's check locks them: the batch's rows name them
// (see refs_exempt.hpp). (Joining unnest($1) WITH ORDINALITY instead, to
// read back positions rather than DIDs, costs more than it saves: each
// probe rescans the index.)
Statement q_uids{"SELECT did, uid FROM dataplane.actor WHERE did = ANY ($1) FOR KEY SHARE", 1,
                 {TEXTARRAYOID}, nullptr};
// The same by uid, for the DIDs with a hint (DidHints): the rows, locked,
// with the DIDs they hold now.
Statement q_hinted{"SELECT did, uid FROM dataplane.actor WHERE uid = ANY ($1) FOR KEY SHARE", 1,
                   {INT4ARRAYOID}, nullptr};
// New actors get uids drawn here from actor.uid's sequence ($2), in order
// of first sight, and are written by a plain INSERT: no RETURNING to read,
// and no ON CONFLICT, which checks each new DID in its index once more
// before inserting it (measured: a quarter of the interning's time).
Statement q_actor_uids{"SELECT pg_catalog.nextval($2) FROM pg_catalog.generate_series(1, $1)", 2,
                       {INT4OID, REGCLASSOID}, nullptr};
Statement q_new_actors{"INSERT INTO dataplane.actor (uid, did) SELECT * FROM unnest($1, $2)", 2,
                       {INT4ARRAYOID, TEXTARRAYOID}, nullptr};
// When another writer interned one of the DIDs since the lookup (the plain
// INSERT then fails): in the order of the array, uids given in order of
// first sight.
Statement q_intern{"INSERT INTO dataplane.actor (did) SELECT unnest($1) ON CONFLICT (did) DO NOTHING "
                   "RETURNING did, uid",
                   1, {TEXTARRAYOID}, nullptr};

// A new DID and where its uid goes.
struct Fresh {
    std::string_view did;
    Did *d;
};
DP_PG_FRAME(Fresh);

// Sets the uids of the rows the last statement returned, (did, uid) each.
void take_uids() {
    for (uint64 i = 0; i < SPI_processed; i++) {
        bool n1, n2;
        HeapTuple t = SPI_tuptable->vals[i];
        Datum did = SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &n1);
        Datum uid = SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &n2);
        struct varlena *p = pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(did)));
        auto it = work->uid_of.find(std::string_view(VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p)));
        if (it != work->uid_of.end())
            it->second.uid = uint32(DatumGetInt32(uid));
    }
    SPI_freetuptable(SPI_tuptable);
}

// Runs st over the DIDs in v (a text array) and takes the uids it returns.
void run_dids(Statement *st, const std::vector<std::string_view> &v, int expect) {
    if (v.empty())
        return;
    Datum values[1] = {make_array(v.size(), TEXTOID, [&](size_t i) { return text_datum(v[i]); })};
    run_statement(st, values, expect);
    take_uids();
}

// Inserts the DIDs of `fresh` with new uids, in a subtransaction; true if it
// committed, false (nothing inserted, the uids reset) if another writer
// had inserted one of them meanwhile. Any other error goes on.
bool insert_actors(const std::vector<Fresh> &fresh) {
    static std::vector<int64_t> uids;
    uids.clear();
    Oid actor = get_relname_relid("actor", get_namespace_oid("dataplane", false));
    Datum args[2] = {Int32GetDatum(int32(fresh.size())),
                     ObjectIdGetDatum(getIdentitySequence(actor, get_attnum(actor, "uid"), false))};
    run_statement(&q_actor_uids, args, SPI_OK_SELECT);
    take_ids(&uids);
    // The uids in order of first sight, the rows in order of DID: each
    // insertion into the DID index then lands beside the last one, in
    // pages just read, rather than anywhere in it.
    static std::vector<uint32> order;
    order.resize(fresh.size());
    for (size_t i = 0; i < fresh.size(); i++)
        order[i] = uint32(i);
    std::sort(order.begin(), order.end(), [&](uint32 a, uint32 b) { return fresh[a].did < fresh[b].did; });
    Datum values[2] = {
        make_array(fresh.size(), INT4OID, [&](size_t i) { return int4_datum(int32(uids[order[i]])); }),
        make_array(fresh.size(), TEXTOID, [&](size_t i) { return text_datum(fresh[order[i]].did); })};
    MemoryContext cxt = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    volatile bool ok = true;
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(cxt);
    PG_TRY();
    {
        run_statement(&q_new_actors, values, SPI_OK_INSERT);
        ReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(cxt);
        CurrentResourceOwner = owner;
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(cxt);
        ErrorData *e = CopyErrorData();
        FlushErrorState();
        RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(cxt);
        CurrentResourceOwner = owner;
        if (e->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
            ReThrowError(e);
        FreeErrorData(e);
        ok = false;
    }
    PG_END_TRY();
    for (size_t i = 0; i < fresh.size(); i++)
        fresh[i].d->uid = ok ? uint32(uids[i]) : 0;
    return ok;
}

// Step 2a: every DID the events name gets its uid; the DIDs of creates,
// updates and account events are interned first (in order of first sight).
void intern_dids() {
    static std::vector<std::string_view> all;
    static std::vector<Fresh> fresh;
    all.clear();
    fresh.clear();
    for (const ing::JetstreamEvent &ev : work->events) {
        std::string_view d[ing::kMaxEventDids];
        size_t n = ing::dids_to_intern(ev, d);
        for (size_t i = 0; i < n; i++) {
            auto [it, added] = work->uid_of.emplace(d[i], Did{0, true});
            if (added)
                all.push_back(d[i]);
            else if (it->second.intern)
                continue;
            it->second.intern = true;
            work->intern.push_back(d[i]);
        }
        if (n == 0 && work->uid_of.emplace(ev.did, Did{0, false}).second)
            all.push_back(ev.did);  // a delete: looked up, never interned
    }
    // The DIDs with a hint are looked up by uid first; each row found gives
    // the DID it holds its uid, whatever the hint said. The others, and those
    // whose hint was stale, by DID.
    static std::vector<uint32> hinted;
    hinted.clear();
    for (std::string_view d : all) {
        uint32 u = work->hints.find(d);
        if (u != 0)
            hinted.push_back(u);
    }
    if (!hinted.empty()) {
        std::sort(hinted.begin(), hinted.end());
        hinted.erase(std::unique(hinted.begin(), hinted.end()), hinted.end());
        Datum values[1] = {
            make_array(hinted.size(), INT4OID, [&](size_t i) { return int4_datum(int32(hinted[i])); })};
        run_statement(&q_hinted, values, SPI_OK_SELECT);
        take_uids();
        size_t kept = 0;
        for (std::string_view d : all)
            if (work->uid_of.find(d)->second.uid == 0)
                all[kept++] = d;
        all.resize(kept);
    }
    // Sorted, the lookups walk the DID index in order (measured: 25 % less
    // time than in the events' order).
    std::sort(all.begin(), all.end());
    run_dids(&q_uids, all, SPI_OK_SELECT);
    for (std::string_view d : work->intern) {
        Did &x = work->uid_of[d];
        if (x.uid == 0)
            fresh.push_back(Fresh{d, &x});
    }
    if (!fresh.empty() && !insert_actors(fresh)) {
        // Another writer interned some of them meanwhile: as the second of
        // two writers does, then looked up again (those ON CONFLICT skipped).
        all.clear();
        for (const Fresh &f : fresh)
            all.push_back(f.did);
        run_dids(&q_intern, all, SPI_OK_INSERT_RETURNING);
        all.clear();
        for (const Fresh &f : fresh)
            if (f.d->uid == 0)
                all.push_back(f.did);
        run_dids(&q_uids, all, SPI_OK_SELECT);
    }
    // Every uid now known was locked by a lookup, or interned here.
    for (const auto &[did, d] : work->uid_of)
        if (d.uid != 0) {
            work->vouched.actors.insert(d.uid);
            work->hints.note(did, d.uid);
        }
}

uint32 uid_of(void *, std::string_view did) {
    auto it = work->uid_of.find(did);
    return it == work->uid_of.end() ? 0 : it->second.uid;
}

// Step 2b: the events as the model's changes, with their created_at:
// least(createdAt, event time), or the event time.
void make_changes() {
    for (const ing::JetstreamEvent &ev : work->events) {
        int64 t = event_time(ev.time_us), created;
        if (read_created_at(ev.created_at, &created))
            t = Min(t, created);
        work->changes.push_back(ing::to_change(ev, t, uid_of, nullptr));
    }
}

// Steps 3 and 4: the model over the touched rows, then the difference.
void apply_batch(WriteCounts *written) {
    const ing::Change *ch = work->changes.data();
    size_t n = work->changes.size();
    work->state = std::make_unique<ing::State>();
    work->keys = ing::touched_keys(ch, n);
    ing::sort_keys(work->keys);
    for (bool first = true;; first = false) {
        double t0 = cpu_ms();
        load_keys(work->keys, work->state.get(), &work->vouched);
        // What the rows just loaded lead to, until nothing more: most
        // batches then need only one run (measured: a second run was a
        // third of the model's time), and a replayed create loads no more
        // than its record (dependent_keys).
        for (int round = 0; first && round < 4; round++) {
            work->keys = ing::dependent_keys(ch, n, *work->state);
            if (work->keys.empty())
                break;
            ing::sort_keys(work->keys);
            load_keys(work->keys, work->state.get(), &work->vouched);
        }
        ing::IdDemand need = ing::id_demand(ch, n, *work->state);
        if (work->ids.items.size() < need.items)
            fetch_ids(&q_item_ids, need.items - work->ids.items.size(), &work->ids.items);
        if (work->ids.lists.size() < need.lists)
            fetch_ids(&q_list_ids, need.lists - work->ids.lists.size(), &work->ids.lists);
        work->ids.rewind();
        double t1 = cpu_ms();
        phases.load += t1 - t0;
        phases.runs++;
        work->run = ing::apply(ch, n, *work->state, work->ids);
        if (work->run.complete()) {
            work->diff = ing::diff(*work->state, work->run);
            double t2 = cpu_ms();
            phases.model += t2 - t1;
            write_diff(work->diff, &work->vouched, written);
            phases.write += cpu_ms() - t2;
            return;
        }
        phases.model += cpu_ms() - t1;
        work->keys = work->run.missing();
        ing::sort_keys(work->keys);
    }
}

void count(const Counts &c, const WriteCounts &w) {
    if (L.sh == nullptr)
        return;
    IngestCounters &s = L.sh->ingest;
    pg_atomic_fetch_add_u64(&s.batches, 1);
    pg_atomic_fetch_add_u64(&s.lines, c.lines);
    pg_atomic_fetch_add_u64(&s.applied, c.applied);
    pg_atomic_fetch_add_u64(&s.skipped, c.skipped);
    pg_atomic_fetch_add_u64(&s.unreadable, c.unreadable);
    pg_atomic_fetch_add_u64(&s.rows_written, w.deleted + w.inserted + w.updated);
    if (c.any_time)
        pg_atomic_write_u64(&s.last_time_us, uint64(c.max_time_us));
    // Read by the next batch's REPEATABLE READ check (it holds the lock).
    pg_atomic_write_u32(&L.sh->ingest.last_xid, GetTopTransactionId());
}

}  // namespace

// Applies a batch of events (one per line); false when none was readable,
// else true with the largest time_us among the readable ones in *last (any
// int64 from ing::kMinTimeUs on, negative ones too).
bool ingest_events(const char *text, size_t len, int64 *last) {
    if (work == nullptr)
        work = new Work();
    work->events.clear();
    work->uid_of.clear();
    work->intern.clear();
    work->vouched.clear();
    work->changes.clear();
    drop_used_ids(&work->ids);
    work->parser.clear_text();
    shmem_attach();
    phases = Phases{};
    double t0 = cpu_ms();
    Counts c;
    // Reading the lines needs no table, so it runs before the lock:
    // concurrent callers (a backfill beside the live consumer, say) read
    // theirs while one batch holds it.
    read_lines(text, len, &c);  // may throw: the function's own guard catches it
    phases.parse = cpu_ms() - t0;
    lock_ingest();
    check_snapshot();
    WriteCounts w;
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    // The model and its containers may throw std::bad_alloc: guard_callback
    // turns it into an error inside run_as_tables_owner's PG_TRY, which no
    // C++ exception may cross.
    run_as_tables_owner([&]() noexcept {
        int level = prefer_index_probes();
        guard_callback("dataplane.ingest_jetstream", [&] {
            double t1 = cpu_ms();
            intern_dids();
            make_changes();
            phases.intern = cpu_ms() - t1;
            apply_batch(&w);
        });
        AtEOXact_GUC(true, level);
    });
    SPI_finish();
    count(c, w);
    elog(DEBUG1,
         "dataplane: ingest batch of %llu lines (%llu applied), CPU ms: parse %.1f, intern %.1f, "
         "load %.1f, model %.1f (%d runs), write %.1f, total %.1f",
         (unsigned long long) c.lines, (unsigned long long) c.applied, phases.parse,
         phases.intern, phases.load, phases.model, phases.runs, phases.write, cpu_ms() - t0);
    *last = c.max_time_us;
    return c.any_time;
}

}  // namespace dpg

using namespace dpg;

DP_FUNCTION(dataplane_ingest_jetstream) {
    if (PG_ARGISNULL(0))
        PG_RETURN_NULL();
    text *t = PG_GETARG_TEXT_PP(0);
    int64 last = 0;
    if (!ingest_events(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &last))
        PG_RETURN_NULL();
    PG_RETURN_INT64(last);
}
