# The moderation workloads of bench/run (issue 17, item 5). Sourced by
# bench/run after lib.sh; uses its variables and helpers (GEN, USERS,
# AVG_FOLLOWS, SEED, sql1, now_ms, script, workload, tps_of, ratio, ...).
#
# The data (bench/gen/dpgen moderation): MOD_VIEWERS viewers who each follow
# 1,000 accounts, block 50 and mute 50 of them, are blocked by 5 of them,
# and subscribe to two moderation lists of 10,000 and 100,000 members
# (list-blocking one and list-muting the other; 20 of each viewer's
# followees are on each list, 5 are inactive); around them, the general
# population blocks, mutes and subscribes to the lists too.
#
# Reads, beside the ceilings and baselines of the same run:
#   - get_timeline(v, 50) and get_timeline(v, 50, replies => 'followed');
#   - DESIGN.md's second-part reference query for the same pages;
#   - the AppView way (Bluesky's open-source AppView): a fan-in page of 50
#     cut without any filter, then the relations of its accounts to the
#     viewer (one correlated subquery per relation and account, as
#     getRelationships asks them) and whether they are active, the items
#     they hide dropped, and the page refilled below its last item, at most
#     ten queries in all (fillPage);
#   - relationships(v, 50 uids) beside its correlated subqueries per uid and
#     a constant 50-row result of its 9 columns.
# Writes: block + unblock, list-item add + remove on each list, with the
# index and with its capture triggers disabled.

# BENCH_MODERATION=0 leaves all of this out (no moderation data, workloads
# or report section): the data and workloads of bench/run before issue 17,
# for comparing with a commit from before it.
MODERATION=${BENCH_MODERATION:-1}
MOD_VIEWERS=8
MOD_LISTED=100000    # dpgen's listed-only accounts, after the users
MOD_PAGE=50

# moderation_load: the moderation data set through the tables, after the
# posts (one COPY per table, as bench/run loads the others).
moderation_load() {
    [ "$MODERATION" = 1 ] || return 0
    local t0 t1
    MOD_V0=$((USERS + MOD_LISTED + 1))
    t0=$(now_ms)
    mod_copy actors actor "uid, did"
    sql1 "SELECT setval('dataplane.actor_uid_seq', (SELECT max(uid) FROM dataplane.actor))" >/dev/null
    mod_copy follows follow "follower, followee"
    mod_copy blocks block "blocker, blocked"
    mod_copy mutes mute "muter, muted"
    mod_copy lists list "id, owner, rkey, purpose"
    sql1 "SELECT setval('dataplane.list_id_seq', (SELECT max(id) FROM dataplane.list))" >/dev/null
    mod_copy list_items list_item "list_id, subject"
    mod_copy list_blocks list_block "actor, list_id"
    mod_copy list_mutes list_mute "actor, list_id"
    "$GEN" moderation inactive "$USERS" "$AVG_FOLLOWS" "$SEED" | psql -X -q -v ON_ERROR_STOP=1 \
        -c "CREATE TEMP TABLE inactive (uid int)" -c "COPY inactive FROM STDIN" \
        -c "UPDATE dataplane.actor a SET active = false, status = 'deactivated' FROM inactive i WHERE a.uid = i.uid"
    t1=$(now_ms)
    MOD_LOAD_MS=$((t1 - t0))
    read -r N_BLOCKS N_MUTES N_LIST_ITEMS N_LIST_BLOCKS N_LIST_MUTES N_INACTIVE < <(psql -X -qAt -F ' ' -c "
        SELECT (SELECT count(*) FROM dataplane.block), (SELECT count(*) FROM dataplane.mute),
               (SELECT count(*) FROM dataplane.list_item), (SELECT count(*) FROM dataplane.list_block),
               (SELECT count(*) FROM dataplane.list_mute),
               (SELECT count(*) FROM dataplane.actor WHERE NOT active)")
    read -r LIST1_SIZE LIST2_SIZE < <(psql -X -qAt -F ' ' -c "
        SELECT (SELECT count(*) FROM dataplane.list_item WHERE list_id = 1),
               (SELECT count(*) FROM dataplane.list_item WHERE list_id = 2)")
    echo "   moderation: $MOD_VIEWERS viewers, $N_BLOCKS blocks, $N_MUTES mutes, lists of $LIST1_SIZE and $LIST2_SIZE members, $N_LIST_BLOCKS list blocks, $N_LIST_MUTES list mutes, $N_INACTIVE inactive accounts in $MOD_LOAD_MS ms"
}

mod_copy() {  # dpgen-table table columns
    "$GEN" moderation "$1" "$USERS" "$AVG_FOLLOWS" "$SEED" | PGOPTIONS="-c session_replication_role=replica" \
        psql -X -q -c "COPY dataplane.$2 ($3) FROM STDIN"
}

# A moderated viewer, uniformly among them.
MOD_V() { printf '\\set k random(0, %d)\n\\set v %d + :k' $((MOD_VIEWERS - 1)) "$MOD_V0"; }

# mod_ref_sql REPLIES: DESIGN.md's second-part reference query for the first
# page of :v, with reposts and quotes on and REPLIES ('all' or 'followed'),
# the switches written in as an AppView builds the query for a request.
mod_ref_sql() {
    cat <<SQL
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = :v
             UNION SELECT :v),
$(moderation_ctes :v),
items AS (
  SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at,
         p.reply_parent_author, p.reply_root_author, p.quote
    FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
  UNION ALL
  SELECT r.id, r.post_id, p.author, r.reposter, r.created_at,
         p.reply_parent_author, p.reply_root_author, p.quote
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter IN (SELECT uid FROM src))
SELECT t.item_id, t.post_id, t.author, t.reposter, t.sort_at
  FROM items t
 WHERE t.author NOT IN (SELECT uid FROM hidden)
   AND (t.reposter IS NULL OR t.reposter NOT IN (SELECT uid FROM hidden))
   AND (t.reply_parent_author IS NULL
        OR (t.reply_parent_author NOT IN (SELECT uid FROM blocked)
            AND t.reply_root_author NOT IN (SELECT uid FROM blocked)))
   AND ('$1' = 'all' OR t.reply_parent_author IS NULL OR t.reposter IS NOT NULL
        OR ('$1' = 'followed'
            AND (t.reply_parent_author = t.author OR t.reply_parent_author IN (SELECT uid FROM src))
            AND (t.reply_root_author = t.author OR t.reply_root_author IN (SELECT uid FROM src))))
 ORDER BY t.sort_at DESC, t.item_id DESC
 LIMIT $MOD_PAGE
SQL
}

# The AppView way and the correlated relations, as functions in the bench
# database (pgbench's sessions cannot see temporary ones).
mod_functions() {
    dp_psql <<'SQL' >/dev/null
CREATE SCHEMA IF NOT EXISTS modbench;
-- relationships()'s arguments per viewer (k: the viewer's index).
CREATE TABLE modbench.rel_args (k int PRIMARY KEY, v int, others int[]);

-- The viewer's relations to each of others, one correlated subquery per
-- relation and account (Bluesky's getRelationships), and whether the
-- account is inactive (its profile's hydration).
CREATE FUNCTION modbench.relations(v int, others int[])
RETURNS TABLE (uid int, following boolean, followed_by boolean, blocking boolean,
               blocked_by boolean, muting boolean, blocking_by_list boolean,
               blocked_by_list boolean, muting_by_list boolean, inactive boolean)
LANGUAGE sql STABLE AS $f$
SELECT o.uid,
  EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = v AND followee = o.uid),
  EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = o.uid AND followee = v),
  EXISTS (SELECT 1 FROM dataplane.block WHERE blocker = v AND blocked = o.uid),
  EXISTS (SELECT 1 FROM dataplane.block WHERE blocker = o.uid AND blocked = v),
  EXISTS (SELECT 1 FROM dataplane.mute WHERE muter = v AND muted = o.uid),
  EXISTS (SELECT 1 FROM dataplane.list_block b JOIN dataplane.list_item i ON i.list_id = b.list_id
           WHERE b.actor = v AND i.subject = o.uid),
  EXISTS (SELECT 1 FROM dataplane.list_block b JOIN dataplane.list_item i ON i.list_id = b.list_id
           WHERE b.actor = o.uid AND i.subject = v),
  EXISTS (SELECT 1 FROM dataplane.list_mute m JOIN dataplane.list_item i ON i.list_id = m.list_id
           WHERE m.actor = v AND i.subject = o.uid),
  EXISTS (SELECT 1 FROM dataplane.actor a WHERE a.uid = o.uid AND NOT a.active)
FROM (SELECT DISTINCT u FROM unnest(others) u WHERE u IS NOT NULL) o(uid)
$f$;

-- Bluesky's AppView way to a timeline page: a page of the fan-in query (the
-- 0.1.0 reference query, no filter) below the cursor; the relations of its
-- authors, reposters and reply authors to the viewer; the items they hide
-- dropped (DESIGN.md's rules); then again below the page's last item until
-- lim items are kept, the timeline ends, or ten queries were made.
CREATE FUNCTION modbench.appview_timeline(v int, lim int, replies text DEFAULT 'all')
RETURNS SETOF dataplane.feed_item LANGUAGE plpgsql STABLE AS $f$
DECLARE
    cur_ts timestamptz := 'infinity';
    cur_id bigint := 0;
    kept int := 0;
    n int;
    queries int := 0;
    r record;
    it dataplane.feed_item;
BEGIN
    LOOP
        queries := queries + 1;
        n := 0;
        FOR r IN
            WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = v UNION SELECT v),
            page AS (
              SELECT * FROM (
                SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter,
                       p.created_at AS sort_at, p.reply_parent_author AS parent, p.reply_root_author AS root
                  FROM dataplane.post p WHERE p.author IN (SELECT s.uid FROM src s)
                UNION ALL
                SELECT rp.id, rp.post_id, p.author, rp.reposter, rp.created_at,
                       p.reply_parent_author, p.reply_root_author
                  FROM dataplane.repost rp JOIN dataplane.post p ON p.id = rp.post_id
                 WHERE rp.reposter IN (SELECT s.uid FROM src s)) t
               WHERE (t.sort_at, t.item_id) < (cur_ts, cur_id)
               ORDER BY t.sort_at DESC, t.item_id DESC LIMIT lim),
            rel AS (
              SELECT x.uid, x.following,
                     x.blocking OR x.blocked_by OR x.blocking_by_list OR x.blocked_by_list AS blocked,
                     x.blocking OR x.blocked_by OR x.blocking_by_list OR x.blocked_by_list
                       OR x.muting OR x.muting_by_list OR x.inactive AS hidden
                FROM modbench.relations(v, ARRAY(
                       SELECT u FROM page, LATERAL (VALUES (page.author), (page.reposter),
                                                           (page.parent), (page.root)) a(u))) x)
            SELECT pg.item_id, pg.post_id, pg.author, pg.reposter, pg.sort_at,
                   NOT ra.hidden
                   AND (pg.reposter IS NULL OR NOT rr.hidden)
                   AND (pg.parent IS NULL OR (NOT rpa.blocked AND NOT rro.blocked))
                   AND (replies = 'all' OR pg.parent IS NULL OR pg.reposter IS NOT NULL
                        OR (replies = 'followed'
                            AND (pg.parent = pg.author OR pg.parent = v OR rpa.following)
                            AND (pg.root = pg.author OR pg.root = v OR rro.following))) AS keep
              FROM page pg
              JOIN rel ra ON ra.uid = pg.author
              LEFT JOIN rel rr ON rr.uid = pg.reposter
              LEFT JOIN rel rpa ON rpa.uid = pg.parent
              LEFT JOIN rel rro ON rro.uid = pg.root
             ORDER BY pg.sort_at DESC, pg.item_id DESC
        LOOP
            n := n + 1;
            cur_ts := r.sort_at;
            cur_id := r.item_id;
            IF r.keep THEN
                it := (r.item_id, r.post_id, r.author, r.reposter, r.sort_at);
                RETURN NEXT it;
                kept := kept + 1;
                EXIT WHEN kept >= lim;
            END IF;
        END LOOP;
        EXIT WHEN kept >= lim OR n < lim OR queries >= 10;
    END LOOP;
END
$f$;

-- How many queries the AppView way makes for a page (the same loop,
-- counting).
CREATE FUNCTION modbench.appview_queries(v int, lim int, replies text DEFAULT 'all')
RETURNS int LANGUAGE plpgsql STABLE AS $f$
DECLARE
    last record;
    depth int;
BEGIN
    -- The page's last item's depth in the unfiltered timeline, in pages of lim.
    SELECT * INTO last FROM modbench.appview_timeline(v, lim, replies) t
     ORDER BY t.sort_at, t.item_id LIMIT 1;
    IF last IS NULL THEN RETURN 1; END IF;
    SELECT count(*) INTO depth FROM (
        SELECT p.created_at AS sort_at, p.id AS item_id FROM dataplane.post p
         WHERE p.author IN (SELECT followee FROM dataplane.follow WHERE follower = v UNION SELECT v)
        UNION ALL
        SELECT rp.created_at, rp.id FROM dataplane.repost rp
         WHERE rp.reposter IN (SELECT followee FROM dataplane.follow WHERE follower = v UNION SELECT v)) t
     WHERE (t.sort_at, t.item_id) >= (last.sort_at, last.item_id);
    RETURN (depth + lim - 1) / lim;
END
$f$;
SQL
}

# moderation_setup: after the warm-up of bench/run: the functions, the
# moderated viewers' feed rings, the relationships scripts, and checks that
# every variant answers the same pages (written in the report).
moderation_setup() {
    [ "$MODERATION" = 1 ] || return 0
    local k v others
    mod_functions
    sql1 "SELECT count(*) FROM generate_series($MOD_V0, $MOD_V0 + $MOD_VIEWERS - 1) v,
            LATERAL dataplane.get_timeline(v, 1) t" >/dev/null
    # Each viewer's 50 others: 40 of its followees and 10 other users, drawn
    # once (a page's accounts are mostly followees; some are blocked, muted
    # or listed).
    MOD_REL_INDEX="" MOD_REL_SQL=""
    for k in $(seq 0 $((MOD_VIEWERS - 1))); do
        v=$((MOD_V0 + k))
        others=$(sql1 "SELECT setseed(0.$((k + 1))); SELECT '{' || string_agg(u::text, ',' ORDER BY u) || '}' FROM (
            (SELECT followee AS u FROM dataplane.follow WHERE follower = $v ORDER BY random() LIMIT 40)
            UNION
            (SELECT g FROM generate_series(1, $USERS) g
              WHERE NOT EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = $v AND followee = g)
              ORDER BY random() LIMIT 10)) s" | tail -n1)
        MOD_REL_INDEX+=" $(script "rel_index_$k" "SELECT * FROM dataplane.relationships($v, '$others'::int[]);")@1"
        MOD_REL_SQL+=" $(script "rel_sql_$k" "SELECT uid, following, followed_by, blocking, blocked_by, muting, blocking_by_list, blocked_by_list, muting_by_list FROM modbench.relations($v, '$others'::int[]) ORDER BY uid;")@1"
        echo "$v $others" >> "$WORKDIR/rel_args"
        sql1 "INSERT INTO modbench.rel_args VALUES ($k, $v, '$others')" >/dev/null
    done
    mod_check
    mod_call_times
}

# mod_call_times: microseconds per call inside the functions (N calls in one
# statement, best of 5; the outer query reads each call's rows): a moderated
# viewer's page, with followed replies, relationships() for its 50 uids;
# beside them an unmoderated page (the Zipf-most-active viewers, following
# about 60 accounts) and relationships() for no uid (the call alone).
mod_call_times() {
    read -r US_MOD US_MOD_FOLLOWED US_REL US_PLAIN US_REL0 < <(psql -X -qAt -F ' ' <<SQL
CREATE FUNCTION pg_temp.us(q text, n int) RETURNS numeric LANGUAGE plpgsql AS \$f\$
DECLARE t0 timestamptz; best float8 := 'infinity';
BEGIN
    EXECUTE q USING 100;
    FOR i IN 1..5 LOOP
        t0 := clock_timestamp();
        EXECUTE q USING n;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n);
    END LOOP;
    RETURN round(best::numeric, 1);
END \$f\$;
SELECT pg_temp.us('SELECT count(*) FROM generate_series(1, \$1) g, LATERAL dataplane.get_timeline($MOD_V0 + g % $MOD_VIEWERS, $MOD_PAGE) t', 2000),
       pg_temp.us('SELECT count(*) FROM generate_series(1, \$1) g, LATERAL dataplane.get_timeline($MOD_V0 + g % $MOD_VIEWERS, $MOD_PAGE, replies => ''followed'') t', 2000),
       pg_temp.us('SELECT count(*) FROM generate_series(1, \$1) g JOIN modbench.rel_args a ON a.k = g % $MOD_VIEWERS, LATERAL dataplane.relationships(a.v, a.others) t', 2000),
       pg_temp.us('SELECT count(*) FROM generate_series(1, \$1) g, LATERAL dataplane.get_timeline(1 + ((g * 7919) % $USERS), $MOD_PAGE) t', 2000),
       pg_temp.us('SELECT count(*) FROM generate_series(1, \$1) g JOIN modbench.rel_args a ON a.k = g % $MOD_VIEWERS, LATERAL dataplane.relationships(a.v, ''{}'') t', 2000);
SQL
)
    echo "   inside the functions: moderated page $US_MOD us, with followed replies $US_MOD_FOLLOWED us, relationships(v, 50 uids) $US_REL us; an unmoderated page $US_PLAIN us, relationships(v, no uid) $US_REL0 us"
}

# mod_check: for each moderated viewer, the index's pages against the
# reference query and the AppView way, relationships() against the
# correlated subqueries; and how deep into the unfiltered timeline a page
# reaches. Sets MOD_CHECK (differences), MOD_HIDDEN_SHARE and
# MOD_APPVIEW_QUERIES (means over the viewers) for the report.
mod_check() {
    local k v others r ref diffs=0 q_all=0 q_fol=0 depth=0 n
    for k in $(seq 0 $((MOD_VIEWERS - 1))); do
        v=$((MOD_V0 + k))
        for r in all followed; do
            ref=$(mod_ref_sql "$r" | sed "s/:v/$v/g")
            n=$(sql1 "SELECT count(*) FROM (
                ((SELECT * FROM dataplane.get_timeline($v, $MOD_PAGE, replies => '$r')) EXCEPT ALL ($ref))
                UNION ALL
                (($ref) EXCEPT ALL (SELECT * FROM dataplane.get_timeline($v, $MOD_PAGE, replies => '$r')))
                UNION ALL
                ((SELECT * FROM modbench.appview_timeline($v, $MOD_PAGE, '$r')) EXCEPT ALL ($ref))
                UNION ALL
                (($ref) EXCEPT ALL (SELECT * FROM modbench.appview_timeline($v, $MOD_PAGE, '$r')))) d")
            diffs=$((diffs + n))
        done
        q_all=$((q_all + $(sql1 "SELECT modbench.appview_queries($v, $MOD_PAGE, 'all')")))
        q_fol=$((q_fol + $(sql1 "SELECT modbench.appview_queries($v, $MOD_PAGE, 'followed')")))
        others=$(awk -v v="$v" '$1 == v {print $2}' "$WORKDIR/rel_args")
        n=$(sql1 "SELECT count(*) FROM (
            (SELECT * FROM dataplane.relationships($v, '$others'::int[])
             EXCEPT ALL SELECT uid, following, followed_by, blocking, blocked_by, muting, blocking_by_list,
                               blocked_by_list, muting_by_list FROM modbench.relations($v, '$others'::int[]))
            UNION ALL
            (SELECT uid, following, followed_by, blocking, blocked_by, muting, blocking_by_list,
                    blocked_by_list, muting_by_list FROM modbench.relations($v, '$others'::int[])
             EXCEPT ALL SELECT * FROM dataplane.relationships($v, '$others'::int[]))) d")
        diffs=$((diffs + n))
        # Items of the unfiltered timeline down to the 50th shown item.
        n=$(sql1 "WITH last AS (SELECT sort_at, item_id FROM dataplane.get_timeline($v, $MOD_PAGE)
                                 ORDER BY sort_at, item_id LIMIT 1),
                     src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = $v UNION SELECT $v)
                  SELECT count(*) FROM last, (
                    SELECT p.created_at AS sort_at, p.id AS item_id FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
                    UNION ALL
                    SELECT r.created_at, r.id FROM dataplane.repost r WHERE r.reposter IN (SELECT uid FROM src)) t
                  WHERE (t.sort_at, t.item_id) >= (last.sort_at, last.item_id)")
        depth=$((depth + n))
    done
    MOD_CHECK=$diffs
    MOD_DEPTH=$(awk -v d="$depth" -v n="$MOD_VIEWERS" 'BEGIN { printf "%.0f", d / n }')
    MOD_HIDDEN_SHARE=$(awk -v d="$depth" -v n="$MOD_VIEWERS" -v p="$MOD_PAGE" \
        'BEGIN { printf "%.0f", 100 * (1 - p * n / d) }')
    MOD_APPVIEW_QUERIES=$(awk -v a="$q_all" -v n="$MOD_VIEWERS" 'BEGIN { printf "%.1f", a / n }')
    MOD_APPVIEW_QUERIES_FOLLOWED=$(awk -v a="$q_fol" -v n="$MOD_VIEWERS" 'BEGIN { printf "%.1f", a / n }')
    echo "   moderated pages: $MOD_CHECK differences between the index, the reference query and the AppView way; a page reaches $MOD_DEPTH items deep ($MOD_HIDDEN_SHARE % hidden); the AppView way makes $MOD_APPVIEW_QUERIES queries per page ($MOD_APPVIEW_QUERIES_FOLLOWED with followed replies)"
}

# The read workloads (registered in bench/run's read phase, beside
# ceiling_page50).
moderation_workloads() {
    [ "$MODERATION" = 1 ] || return 0
    local mv
    mv=$(MOD_V)
    workload ceiling_rel50 "$(script ceiling_rel50 \
        'SELECT g AS uid, true AS following, false AS followed_by, false AS blocking, false AS blocked_by, false AS muting, false AS blocking_by_list, false AS blocked_by_list, false AS muting_by_list FROM generate_series(1, 50) g;')"
    workload mod_timeline_index "$(script mod_tl_index "$mv" \
        "SELECT * FROM dataplane.get_timeline(:v, $MOD_PAGE);")"
    workload mod_timeline_ref_sql "$(script mod_tl_ref "$mv" "$(mod_ref_sql all);")"
    workload mod_timeline_appview_sql "$(script mod_tl_appview "$mv" \
        "SELECT * FROM modbench.appview_timeline(:v, $MOD_PAGE);")"
    workload mod_timeline_followed_index "$(script mod_tlf_index "$mv" \
        "SELECT * FROM dataplane.get_timeline(:v, $MOD_PAGE, replies => 'followed');")"
    workload mod_timeline_followed_ref_sql "$(script mod_tlf_ref "$mv" "$(mod_ref_sql followed);")"
    workload mod_timeline_followed_appview_sql "$(script mod_tlf_appview "$mv" \
        "SELECT * FROM modbench.appview_timeline(:v, $MOD_PAGE, 'followed');")"
    workload mod_relationships_index "$MOD_REL_INDEX"
    workload mod_relationships_sql "$MOD_REL_SQL"
}

# The write workloads (bench/run's write phase; ON and OFF as it defines
# them). Random users block and unblock random users; odd uids (never a
# list's members: dpgen lists even ones) are added to a list and removed.
moderation_write_workloads() {
    [ "$MODERATION" = 1 ] || return 0
    local wb wl1 wl2 odd
    wb=$(script write_block "$R" \
        'INSERT INTO dataplane.block (blocker, blocked) VALUES (:a, :b) ON CONFLICT DO NOTHING;' \
        'DELETE FROM dataplane.block WHERE blocker = :a AND blocked = :b;')
    odd="\\set s 1 + 2 * random(0, $((USERS / 2 - 1)))"
    wl1=$(script write_list_item_10k "$odd" \
        'INSERT INTO dataplane.list_item (list_id, subject) VALUES (1, :s) ON CONFLICT DO NOTHING;' \
        'DELETE FROM dataplane.list_item WHERE list_id = 1 AND subject = :s;')
    wl2=$(script write_list_item_100k "$odd" \
        'INSERT INTO dataplane.list_item (list_id, subject) VALUES (2, :s) ON CONFLICT DO NOTHING;' \
        'DELETE FROM dataplane.list_item WHERE list_id = 2 AND subject = :s;')
    workload write_block_unblock_index "$wb" "$ON"
    workload write_block_unblock_no_triggers "$wb" "$OFF"
    workload write_list_item_10k_index "$wl1" "$ON"
    workload write_list_item_10k_no_triggers "$wl1" "$OFF"
    workload write_list_item_100k_index "$wl2" "$ON"
    workload write_list_item_100k_no_triggers "$wl2" "$OFF"
}

# ------------------------------------------------------------------ report
# (called by write_report in report.sh)

# Rows of the throughput table.
moderation_rows() {
    [ "$MODERATION" = 1 ] || return 0
    local p50 rel
    p50=$(tps_of ceiling_page50)
    rel=$(tps_of ceiling_rel50)
    row ceiling_rel50 "" "$rel"
    row mod_timeline_index mod_timeline_ref_sql "$p50"
    row mod_timeline_ref_sql "" "$p50"
    row mod_timeline_appview_sql "" "$p50"
    row mod_timeline_followed_index mod_timeline_followed_ref_sql "$p50"
    row mod_timeline_followed_ref_sql "" "$p50"
    row mod_timeline_followed_appview_sql "" "$p50"
    row mod_relationships_index mod_relationships_sql "$rel"
    row mod_relationships_sql "" "$rel"
}

moderation_write_rows() {
    [ "$MODERATION" = 1 ] || return 0
    local w
    for w in block_unblock list_item_10k list_item_100k; do
        row "write_${w}_index" "write_${w}_no_triggers" ""
        row "write_${w}_no_triggers" "" ""
    done
}

# Rows of the targets table.
moderation_targets() {
    [ "$MODERATION" = 1 ] || return 0
    local p50 rel ix r v
    p50=$(tps_of ceiling_page50)
    rel=$(tps_of ceiling_rel50)
    for v in "" followed_; do
        local what="\`get_timeline(v, 50)\`"
        [ -n "$v" ] && what="\`get_timeline(v, 50, replies => 'followed')\`"
        ix=$(tps_of "mod_timeline_${v}index")
        r=$(ratio "$ix" "$p50")
        target "moderated viewer: $what ≥ 0.8 × a constant 50-row page" "$r ×" "$(ge "$r" 0.8)"
        r=$(ratio "$ix" "$(tps_of "mod_timeline_${v}ref_sql")")
        target "moderated viewer: $what ≥ 20 × the reference query" "$r ×" "$(ge "$r" 20)"
        r=$(ratio "$ix" "$(tps_of "mod_timeline_${v}appview_sql")")
        target "moderated viewer: $what ≥ 20 × the AppView way (page, filter, refill)" "$r ×" "$(ge "$r" 20)"
    done
    ix=$(tps_of mod_relationships_index)
    r=$(ratio "$ix" "$rel")
    target "\`relationships(v, 50 uids)\` ≥ 0.8 × a constant 50-row result of its 9 columns" "$r ×" "$(ge "$r" 0.8)"
    r=$(ratio "$ix" "$(tps_of mod_relationships_sql)")
    target "\`relationships(v, 50 uids)\` ≥ 20 × the correlated subqueries per uid" "$r ×" "$(ge "$r" 20)"
    for v in block_unblock list_item_10k list_item_100k; do
        r=$(ratio "$(tps_of "write_${v}_no_triggers")" "$(tps_of "write_${v}_index")")
        target "\`write_$v\` with the index ≤ 1.5 × the time without its triggers" "$r × the time" "$(le "$r" 1.5)"
    done
}

# The section on the data and the checks.
moderation_section() {
    [ "$MODERATION" = 1 ] || return 0
    echo "## Moderation"
    echo
    echo "$MOD_VIEWERS moderated viewers (uids $MOD_V0–$((MOD_V0 + MOD_VIEWERS - 1)), drawn uniformly by the"
    echo "workloads), each following 1,000 accounts, blocking 50 and muting 50 of"
    echo "them, blocked by 5 of them, with 5 inactive, and subscribed to two"
    echo "moderation lists of $LIST1_SIZE and $LIST2_SIZE members (list-blocking one,"
    echo "list-muting the other; 20 of its followees on each). Around them: $N_BLOCKS"
    echo "blocks, $N_MUTES mutes, $N_LIST_BLOCKS list blocks, $N_LIST_MUTES list mutes,"
    echo "$N_INACTIVE inactive accounts in all (loaded in $MOD_LOAD_MS ms)."
    echo
    echo "A moderated viewer's first page reaches **$MOD_DEPTH items** deep into"
    echo "the unfiltered timeline on average ($MOD_HIDDEN_SHARE % of them hidden); the"
    echo "AppView way makes $MOD_APPVIEW_QUERIES queries per page ($MOD_APPVIEW_QUERIES_FOLLOWED with"
    echo "\`replies => 'followed'\`). Before the rounds, every viewer's page from the"
    echo "index, from the reference query and from the AppView way, and"
    echo "\`relationships()\` against the correlated subqueries, were compared:"
    echo "**$MOD_CHECK differences**."
    echo
    echo "Inside the functions (µs per call, 2,000 calls in one statement, best of 5):"
    echo "a moderated viewer's page **$US_MOD**, with \`replies => 'followed'\` **$US_MOD_FOLLOWED**,"
    echo "\`relationships(v, 50 uids)\` **$US_REL**; beside them the page of an"
    echo "unmoderated viewer among the most active (about 60 follows) $US_PLAIN, and"
    echo "\`relationships(v, '{}')\`, the call alone, $US_REL0."
    echo
    echo "Baselines: \`ref_sql\` is DESIGN.md's second-part reference query, its"
    echo "switches written in; \`appview_sql\` is Bluesky's AppView way, as SQL"
    echo "(\`modbench.appview_timeline\`, a PL/pgSQL function): a page of the"
    echo "unfiltered fan-in query, the relations of its authors, reposters and"
    echo "reply authors to the viewer (one correlated subquery per relation and"
    echo "account, as \`getRelationships\` asks them, and whether the account is"
    echo "active), the items they hide dropped, then again below the page's last"
    echo "item until 50 are kept, at most ten queries. \`mod_relationships_sql\` runs"
    echo "those correlated subqueries for the same 50 uids (40 followees, 10 other"
    echo "users, fixed per viewer); \`ceiling_rel50\` is a constant 50-row result of"
    echo "the same 9 columns. The write workloads add and remove a block between"
    echo "random users, or an odd uid (never a member) to and from a list, two"
    echo "transactions per pgbench transaction, with the index and with its capture"
    echo "triggers disabled."
}
