#!/usr/bin/python3
"""An AppView data plane's getTimeline and getAuthorFeed handlers over
dataplane.timeline_skeleton and dataplane.author_feed_skeleton.

Each handler answers what Bluesky's data plane answers for the same call
(GetTimelineResponse, GetAuthorFeedResponse): the page's items, each the
post's AT-URI and, for a repost, the repost's AT-URI, and the cursor of the
next page. The AppView hydrates the URIs into posts, authors and counts.

    import psycopg
    from timeline_handler import get_timeline

    conn = psycopg.connect("dbname=appview user=appview", autocommit=True)
    page = get_timeline(conn, "did:plc:alice", 1, None)
    # {"items": [{"uri": "at://did:plc:bob/app.bsky.feed.post/3l3bbbbbbbbb2",
    #             "repost": "at://did:plc:carol/app.bsky.feed.repost/3l3ccccccccc2"}],
    #  "cursor": "778809602000000:2"}
    page = get_timeline(conn, "did:plc:alice", 1, page["cursor"])
    # {"items": [{"uri": "at://did:plc:bob/app.bsky.feed.post/3l3bbbbbbbbb2",
    #             "repost": None}],
    #  "cursor": "778809601000000:1"}

The cursor is the last row's: pass it back unchanged for the next page. A
page without items has no cursor (None): the feed ends there. A page may
hold fewer items than asked and still have a cursor (rows written with
plain SQL and no record key have no URI and are left out); ask again. An
unknown DID has an empty feed. A cursor that is not one the functions
wrote raises BadCursor (an AppView answers 400 InvalidRequest).

The role connecting needs USAGE on schema dataplane and SELECT on
dataplane.actor, dataplane.post and dataplane.repost (the skeleton
functions are SQL functions run with the caller's rights). Use an
autocommit connection (or a pool of them): a read then never holds a
transaction open, and it never reads inside a transaction that has written
to the tables (which would make the index step aside for the tables).

Run as a script it walks every page of each DID's feed and prints one line
per item, "DID URI REPOST" ("-" for no repost), for comparisons:

    timeline_handler.py DSN timeline|author DID... [--limit N]

Needs psycopg 3 (Debian: python3-psycopg).
"""

import argparse
import sys

import psycopg
from psycopg import errors

TIMELINE_SQL = "SELECT uri, repost_uri, cursor FROM dataplane.timeline_skeleton(%s, %s, %s)"
AUTHOR_FEED_SQL = "SELECT uri, repost_uri, cursor FROM dataplane.author_feed_skeleton(%s, %s, %s)"
MAX_LIMIT = 100  # app.bsky.feed.getTimeline and getAuthorFeed allow 1..100


class BadCursor(ValueError):
    """The cursor is not one the skeleton functions wrote."""


def _page(conn, sql, did, limit, cursor):
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError("limit must be between 1 and %d" % MAX_LIMIT)
    # An empty cursor (protobuf's default for an unset string) is no cursor.
    cursor = cursor or None
    try:
        rows = conn.execute(sql, (did, limit, cursor)).fetchall()
    except errors.InvalidParameterValue as e:
        raise BadCursor(str(e).splitlines()[0]) from None
    items = [{"uri": uri, "repost": repost} for uri, repost, _ in rows if uri is not None]
    return {"items": items, "cursor": rows[-1][2] if rows else None}


def get_timeline(conn, actor_did, limit=50, cursor=None):
    """One page of actor_did's home timeline (GetTimeline)."""
    return _page(conn, TIMELINE_SQL, actor_did, limit, cursor)


def get_author_feed(conn, actor_did, limit=50, cursor=None):
    """One page of actor_did's own posts and reposts (GetAuthorFeed)."""
    return _page(conn, AUTHOR_FEED_SQL, actor_did, limit, cursor)


def walk(conn, handler, did, limit):
    """Every item of the feed, page after page, as an AppView pages it."""
    cursor = None
    while True:
        page = handler(conn, did, limit, cursor)
        yield from page["items"]
        if page["cursor"] is None:
            return
        cursor = page["cursor"]


def main():
    p = argparse.ArgumentParser(description="Walk feeds through the example handlers.")
    p.add_argument("dsn")
    p.add_argument("feed", choices=["timeline", "author"])
    p.add_argument("dids", nargs="+")
    p.add_argument("--limit", type=int, default=50)
    args = p.parse_args()
    handler = get_timeline if args.feed == "timeline" else get_author_feed
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        for did in args.dids:
            for item in walk(conn, handler, did, args.limit):
                print(did, item["uri"], item["repost"] or "-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
