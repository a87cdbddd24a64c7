#!/usr/bin/python3
"""A model of dataplane.ingest_jetstream, written from DESIGN.md's mapping
("Ingest: Jetstream events into the tables"), apart from src/ingest: the
standard library's json module reads the lines, plain dictionaries keyed
by DIDs and record keys hold the tables, and each event is applied alone,
in order. t/018_ingest_model.pl compares the tables of a cluster with it.

    ingest_model.py apply FILE --steps FROM:TO[,FROM:TO...] --out PREFIX
    ingest_model.py mix FILE OUT --seed S

apply: FILE holds Jetstream lines; blank lines are not counted. Each step
applies the non-blank lines FROM+1..TO (1-based, inclusive: 0:N is the
first N lines) to the state the previous steps left, then writes
PREFIX.N.txt (N = 1, 2, ...): every row of the tables, one line each, in
exactly the text and order of canonical_records() in t/DataplaneTest.pm
(timestamps as PostgreSQL prints them with TimeZone = UTC). It prints one
line per step: "step N lines L applied A skipped S unreadable U last T"
(T: the largest time_us among readable lines, or -1).

mix: copies FILE to OUT with events added after some lines, built from the
records those lines name, to exercise rules a generated stream rarely
meets (see Mixer). Deterministic for a seed.

Where DESIGN.md leaves a choice open, the model takes the one the unit
tests' reference (test/unit/ingest_ref.hpp) and the README document:
  - an edge's created_at is that of the record that created it while that
    record lives; when it goes and others remain, the earliest of theirs
    (DESIGN.md: "its created_at is that of any of its records");
  - an update of a follow, block, list item or list block that names the
    same subject and list as the record changes nothing; one that names
    another deletes the record and creates it anew (a new created_at);
  - a repost update naming the same post changes only cid; one naming
    another post deletes the repost and creates it anew;
  - a second repost record of a post by the same reposter (repost is
    unique on (reposter, post_id)) is held aside like a repost of a post
    not yet seen; when the row's record is deleted, the oldest held one
    (by created_at, then rkey) becomes the row; when a post arrives, each
    reposter's oldest held repost of it does;
  - a post delete removes the reposts held aside for it, also when the
    post itself is unknown;
  - a list create of a list that exists only as a stub (purpose NULL)
    sets its purpose; a list update sets it (NULL if the record has none);
    an update of a record not there is a create, for every kind;
  - a listitem in another account's list is skipped, as Bluesky's AppView
    refuses it; an account's status is kept only when it is inactive;
  - a status, a purpose's last segment and a CID are stored as they are,
    any string (the empty one too, which is not NULL); one with a NUL byte,
    which PostgreSQL's text cannot hold, makes its event unreadable; a
    status or purpose that is not a string is NULL;
  - time_us is any integer from PostgreSQL's first timestamp on (0 and
    negative ones too);
  - createdAt is readable as DESIGN.md says, with PostgreSQL's ranges: a
    real calendar day, hour 24 only as 24:00:00, second 60 (carried to the
    next minute) only without a fraction, offsets up to 15:59; fractions
    of any length, rounded to microseconds as PostgreSQL rounds them
    (rint), within PostgreSQL's limit of 149 characters for the whole
    text (a fraction of 128 digits before Z, 123 before an offset).
"""

import argparse
import datetime
import json
import random
import re
import sys

# atproto's syntaxes (atproto.com/specs: did, record-key, nsid, at-uri-scheme).
DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._-]\Z", re.ASCII)
RKEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}\Z", re.ASCII)
NSID = re.compile(r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
                  r"\.[A-Za-z][A-Za-z0-9]{0,62}\Z", re.ASCII)
DATETIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                      r"(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))\Z", re.ASCII)
EPOCH = datetime.datetime(1970, 1, 1)

COLLECTIONS = {
    "app.bsky.feed.post": "post",
    "app.bsky.feed.repost": "repost",
    "app.bsky.graph.follow": "follow",
    "app.bsky.graph.block": "block",
    "app.bsky.graph.list": "list",
    "app.bsky.graph.listitem": "listitem",
    "app.bsky.graph.listblock": "listblock",
}
MEDIA = {"app.bsky.embed.images": "images", "app.bsky.embed.video": "video",
         "app.bsky.embed.external": "external"}


class Unreadable(Exception):
    pass


class Skip(Exception):
    pass


def is_did(s):
    return isinstance(s, str) and len(s) <= 2048 and DID.match(s) is not None


def is_rkey(s):
    return isinstance(s, str) and RKEY.match(s) is not None and s not in (".", "..")


def record_uri(s, collection=None):
    """(did, rkey) of at://DID/NSID/RKEY naming one record, else Unreadable."""
    if not isinstance(s, str) or not s.startswith("at://"):
        raise Unreadable("not an AT-URI")
    parts = s[5:].split("/")
    if len(parts) != 3 or not is_did(parts[0]) or len(parts[1]) > 317 or not NSID.match(parts[1]) \
            or not is_rkey(parts[2]):
        raise Unreadable("not a record AT-URI")
    if collection is not None and parts[1] != collection:
        raise Unreadable("AT-URI of another collection")
    return parts[0], parts[2]


def read_datetime(s):
    """Microseconds since the epoch of a readable createdAt, else None."""
    m = DATETIME.match(s) if isinstance(s, str) else None
    if m is None or len(s) > 149:
        return None  # longer than PostgreSQL's date parser reads
    y, mo, d, h, mi, sec = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7) or ""
    if y < 1:
        return None
    try:
        day = datetime.datetime(y, mo, d)
    except ValueError:
        return None
    zero_frac = frac.strip("0") == ""
    if mi > 59 or h > 24 or sec > 60 or (h == 24 and (mi or sec or not zero_frac)) \
            or (sec == 60 and not zero_frac):
        return None
    offset = 0
    if m.group(8) is None:
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 15 or om > 59:
            return None
        offset = (oh * 60 + om) * (1 if m.group(9) == "+" else -1)
    # PostgreSQL: fsec = rint(strtod(".digits") * 1e6); Python's round() of
    # a float rounds half to even, as rint does.
    micro = round(float("0." + frac) * 1e6) if frac else 0
    t = day + datetime.timedelta(hours=h, minutes=mi - offset, seconds=sec, microseconds=micro)
    return (t - EPOCH) // datetime.timedelta(microseconds=1)


def ts_text(us):
    """A timestamptz as PostgreSQL prints it with TimeZone = UTC."""
    t = EPOCH + datetime.timedelta(microseconds=us)
    s = "%04d-%02d-%02d %02d:%02d:%02d" % (t.year, t.month, t.day, t.hour, t.minute, t.second)
    if t.microsecond:
        s += ("." + "%06d" % t.microsecond).rstrip("0")
    return s + "+00"


def obj(v, what):
    if not isinstance(v, dict):
        raise Unreadable(what + " missing or not an object")
    return v


def string(v, what):
    if not isinstance(v, str):
        raise Unreadable(what + " missing or not a string")
    return v


# PostgreSQL's first timestamp (4714-11-24 00:00:00 BC UTC) in microseconds
# since 1970. (ts_text, through Python's datetime, prints none before year 1:
# the streams compared with it hold none.)
MIN_TIME_US = -210866803200000000


def storable(v, what):
    """v (a string or None) if PostgreSQL's text can hold it: any string
    without a NUL byte, stored as it is (empty, long, not ASCII)."""
    if v is not None and "\0" in v:
        raise Unreadable(what + " holds a NUL byte")
    return v


def did_field(v, what):
    if not is_did(v):
        raise Unreadable(what + " missing or not a DID")
    return v


def read_event(line):
    """The event of one line as a dict; raises Unreadable or Skip (Skip
    carries the time_us)."""
    try:
        ev = json.loads(line)
    except ValueError:
        raise Unreadable("bad JSON")
    obj(ev, "event")
    did = did_field(ev.get("did"), "did")
    t = ev.get("time_us")
    # Any time_us that is a timestamptz ('epoch' + time_us microseconds):
    # from PostgreSQL's first timestamp, 4714-11-24 BC, to the largest int64.
    if not isinstance(t, int) or isinstance(t, bool) or t < MIN_TIME_US or t >= 2**63:
        raise Unreadable("time_us")
    kind = string(ev.get("kind"), "kind")
    out = {"did": did, "time_us": t}
    if kind == "account":
        acc = obj(ev.get("account"), "account")
        active = acc.get("active")
        if not isinstance(active, bool):
            raise Unreadable("account.active")
        status = acc.get("status")
        status = status if not active and isinstance(status, str) else None
        out.update(kind="account", active=active, status=storable(status, "account.status"))
        return out
    if kind != "commit":
        raise Skip(t)
    c = obj(ev.get("commit"), "commit")
    coll = COLLECTIONS.get(string(c.get("collection"), "commit.collection"))
    if coll is None:
        raise Skip(t)
    op = c.get("operation")
    if op not in ("create", "update", "delete"):
        raise Unreadable("commit.operation")
    rkey = c.get("rkey")
    if not is_rkey(rkey):
        raise Unreadable("commit.rkey")
    out.update(kind="commit", op=op, coll=coll, rkey=rkey)
    if op == "delete":
        return out
    rec = obj(c.get("record"), "commit.record")
    created = read_datetime(rec.get("createdAt"))
    out["created_at"] = t if created is None else min(t, created)
    if coll == "post":
        quote, media = False, None
        embed = rec.get("embed")
        if isinstance(embed, dict):
            etype = embed.get("$type")
            if etype in ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia"):
                quote = True
                if etype == "app.bsky.embed.recordWithMedia" and isinstance(embed.get("media"), dict):
                    media = MEDIA.get(embed["media"].get("$type"))
            else:
                media = MEDIA.get(etype)
        root = parent = None
        reply = rec.get("reply")
        if reply is not None:
            obj(reply, "record.reply")
            parent = record_uri(obj(reply.get("parent"), "reply.parent").get("uri"))[0]
            root = record_uri(obj(reply.get("root"), "reply.root").get("uri"))[0]
        out.update(quote=quote, media=media, root=root, parent=parent)
    elif coll == "repost":
        out["target"] = record_uri(obj(rec.get("subject"), "record.subject").get("uri"),
                                   "app.bsky.feed.post")
    elif coll in ("follow", "block"):
        out["subject"] = did_field(rec.get("subject"), "record.subject")
    elif coll == "list":
        p = rec.get("purpose")
        p = p.rsplit("#", 1)[-1] if isinstance(p, str) else None
        out["purpose"] = storable(p, "record.purpose")
    elif coll == "listitem":
        out["target"] = record_uri(rec.get("list"), "app.bsky.graph.list")
        out["subject"] = did_field(rec.get("subject"), "record.subject")
        if out["target"][0] != did:
            raise Skip(t)  # a listitem in another account's list
    elif coll == "listblock":
        out["target"] = record_uri(rec.get("subject"), "app.bsky.graph.list")
    if coll in ("post", "repost"):
        cid = c.get("cid")
        if not isinstance(cid, str):
            raise Unreadable("commit.cid")
        out["cid"] = storable(cid, "commit.cid")
    return out


class Model:
    """The tables, keyed by natural keys: DIDs, (did, rkey) names."""

    def __init__(self):
        self.actors = {}      # did -> (active, status)
        self.edges = {"follow": {}, "block": {}}   # (from, to) -> created_at
        self.records = {}     # (repo, coll, rkey) -> [subject, list, created_at]
        self.holders = {}     # row key -> set of record keys that keep it
        self.posts = {}       # (author, rkey) -> dict
        self.reposts = {}     # (reposter, rkey) -> dict(post, cid, created_at)
        self.repost_of = {}   # (reposter, post) -> rkey: repost's unique (reposter, post_id)
        self.post_reposts = {}  # post -> set of (reposter, rkey)
        self.pending = {}     # (reposter, rkey) -> dict(post, cid, created_at)
        self.pending_of = {}  # post -> set of (reposter, rkey)
        self.lists = {}       # (owner, rkey) -> purpose (None: a stub)
        self.list_items = set()   # (list, subject)
        self.list_blocks = set()  # (list, actor)

    # ----------------------------------------------------------- one event

    def apply(self, ev):
        if ev["kind"] == "account":
            self.actors[ev["did"]] = (ev["active"], ev["status"])
            return
        if ev["op"] != "delete":
            self.intern(ev)
        coll = ev["coll"]
        if coll in ("follow", "block", "listitem", "listblock"):
            self.graph(ev)
        elif coll == "post":
            self.post(ev)
        elif coll == "repost":
            self.repost(ev)
        elif coll == "list":
            self.list(ev)

    def intern(self, ev):
        for d in (ev["did"], ev.get("subject"), ev.get("root"), ev.get("parent"),
                  (ev.get("target") or (None,))[0]):
            if d is not None and d not in self.actors:
                self.actors[d] = (True, None)

    # -------------------------------------- follows, blocks, list items and list blocks

    @staticmethod
    def row_key(coll, repo, rec):
        if coll == "listitem":
            return (coll, rec[1], rec[0])
        if coll == "listblock":
            return (coll, rec[1], repo)
        return (coll, repo, rec[0])

    def graph(self, ev):
        key = (ev["did"], ev["coll"], ev["rkey"])
        if ev["op"] == "update" and key in self.records:
            rec = self.records[key]
            same_subject = ev["coll"] == "listblock" or rec[0] == ev["subject"]
            same_list = rec[1] is None or rec[1] == ev["target"]
            if same_subject and same_list:
                return
        if ev["op"] != "create":
            self.graph_delete(key)
        if ev["op"] != "delete":
            self.graph_create(key, ev)

    def graph_delete(self, key):
        rec = self.records.pop(key, None)
        if rec is None:
            return
        repo, coll, _ = key
        rk = self.row_key(coll, repo, rec)
        held = self.holders[rk]
        held.discard(key)
        if held:
            if coll in ("follow", "block"):
                # The edge keeps a time of one of its records: its own
                # while one has it, else the earliest of theirs.
                times = [self.records[k][2] for k in held]
                edge = (repo, rec[0])
                if edge in self.edges[coll] and self.edges[coll][edge] not in times:
                    self.edges[coll][edge] = min(times)
            return
        del self.holders[rk]
        if coll == "listitem":
            self.list_items.discard((rec[1], rec[0]))
        elif coll == "listblock":
            self.list_blocks.discard((rec[1], repo))
        else:
            del self.edges[coll][(repo, rec[0])]

    def graph_create(self, key, ev):
        if key in self.records:
            return
        repo, coll, _ = key
        lst = None
        if coll in ("listitem", "listblock"):
            lst = ev["target"]
            if lst not in self.lists:
                self.lists[lst] = None  # a stub, until its record comes
        rec = [None if coll == "listblock" else ev["subject"], lst, ev["created_at"]]
        self.records[key] = rec
        self.holders.setdefault(self.row_key(coll, repo, rec), set()).add(key)
        if coll == "listitem":
            self.list_items.add((lst, rec[0]))
        elif coll == "listblock":
            self.list_blocks.add((lst, repo))
        else:
            self.edges[coll].setdefault((repo, rec[0]), ev["created_at"])

    # ------------------------------------------------------- posts, reposts

    def post(self, ev):
        key = (ev["did"], ev["rkey"])
        if ev["op"] == "delete":
            for k in list(self.pending_of.get(key, ())):
                self.drop_pending(k)
            if key in self.posts:
                for k in list(self.post_reposts.get(key, ())):
                    self.drop_repost(k)
                del self.posts[key]
            return
        fields = {f: ev[f] for f in ("cid", "root", "parent", "quote", "media")}
        if key in self.posts:
            self.posts[key].update(fields)
        else:
            self.posts[key] = dict(fields, created_at=ev["created_at"])
        held = sorted(self.pending_of.get(key, ()),
                      key=lambda k: (self.pending[k]["created_at"], k[1]))
        for k in held:
            if (k[0], key) not in self.repost_of:
                self.promote(k)

    def drop_pending(self, k):
        p = self.pending.pop(k)
        s = self.pending_of[p["post"]]
        s.discard(k)
        if not s:
            del self.pending_of[p["post"]]

    def hold(self, k, post, cid, created_at):
        self.pending[k] = {"post": post, "cid": cid, "created_at": created_at}
        self.pending_of.setdefault(post, set()).add(k)

    def drop_repost(self, k):
        r = self.reposts.pop(k)
        del self.repost_of[(k[0], r["post"])]
        s = self.post_reposts[r["post"]]
        s.discard(k)
        if not s:
            del self.post_reposts[r["post"]]
        return r

    def add_repost(self, k, post, cid, created_at):
        self.reposts[k] = {"post": post, "cid": cid, "created_at": created_at}
        self.repost_of[(k[0], post)] = k[1]
        self.post_reposts.setdefault(post, set()).add(k)

    def promote(self, k):
        p = self.pending[k]
        self.drop_pending(k)
        self.add_repost(k, p["post"], p["cid"], p["created_at"])

    def repost(self, ev):
        k = (ev["did"], ev["rkey"])
        op = ev["op"]
        if op == "update":
            post = ev["target"]
            if k in self.reposts and self.reposts[k]["post"] == post:
                self.reposts[k]["cid"] = ev["cid"]
                return
            if k in self.pending and self.pending[k]["post"] == post:
                self.pending[k]["cid"] = ev["cid"]
                return
        if op != "create":
            self.repost_delete(k)
        if op != "delete":
            self.repost_create(k, ev)

    def repost_delete(self, k):
        if k in self.pending:
            self.drop_pending(k)
            return
        if k not in self.reposts:
            return
        post = self.drop_repost(k)["post"]
        mine = sorted((h for h in self.pending_of.get(post, ()) if h[0] == k[0]),
                      key=lambda h: (self.pending[h]["created_at"], h[1]))
        if mine:
            self.promote(mine[0])

    def repost_create(self, k, ev):
        if k in self.pending or k in self.reposts:
            return
        post = ev["target"]
        if post in self.posts and (k[0], post) not in self.repost_of:
            self.add_repost(k, post, ev["cid"], ev["created_at"])
        else:
            self.hold(k, post, ev["cid"], ev["created_at"])

    # ----------------------------------------------------------------- lists

    def list(self, ev):
        key = (ev["did"], ev["rkey"])
        if ev["op"] == "delete":
            if key not in self.lists:
                return
            self.list_items = {x for x in self.list_items if x[0] != key}
            self.list_blocks = {x for x in self.list_blocks if x[0] != key}
            for rk in [r for r, rec in self.records.items() if rec[1] == key]:
                rec = self.records.pop(rk)
                self.holders.pop(self.row_key(rk[1], rk[0], rec), None)
            del self.lists[key]
            return
        if key not in self.lists or self.lists[key] is None or ev["op"] == "update":
            self.lists[key] = ev["purpose"]

    # ------------------------------------------------------------ the tables

    def canonical(self):
        b = lambda v: "t" if v else "f"
        z = lambda v: "" if v is None else v
        lines = []
        for did, (active, status) in self.actors.items():
            lines.append("actor %s %s %s" % (did, b(active), z(status)))
        for (a, rk), p in self.posts.items():
            lines.append("post %s %s %s %s %s %s %s %s" % (a, rk, p["cid"], ts_text(p["created_at"]),
                         z(p["root"]), z(p["parent"]), b(p["quote"]), z(p["media"])))
        for (r, rk), x in self.reposts.items():
            lines.append("repost %s %s %s %s %s %s" % (r, rk, x["cid"], ts_text(x["created_at"]),
                                                       x["post"][0], x["post"][1]))
        for coll in ("follow", "block"):
            for (a, c), t in self.edges[coll].items():
                lines.append("%s %s %s %s" % (coll, a, c, ts_text(t)))
        for (o, rk), purpose in self.lists.items():
            lines.append("list %s %s %s" % (o, rk, z(purpose)))
        for (o, rk), s in self.list_items:
            lines.append("list_item %s %s %s" % (o, rk, s))
        for (o, rk), a in self.list_blocks:
            lines.append("list_block %s %s %s" % (a, o, rk))
        for (repo, coll, rk), (subject, lst, t) in self.records.items():
            lines.append("graph_record %s %s %s %s %s %s" % (repo, coll, rk, z(subject),
                         "" if lst is None else "%s %s" % lst, ts_text(t)))
        for (r, rk), p in self.pending.items():
            lines.append("repost_pending %s %s %s %s %s %s" % (r, rk, p["cid"], p["post"][0],
                         p["post"][1], ts_text(p["created_at"])))
        # ORDER BY line COLLATE "C": byte order of the UTF-8 text.
        lines.sort(key=lambda s: s.encode())
        return "\n".join(lines)


def nonblank_lines(path):
    with open(path, "rb") as f:
        data = f.read().decode("utf-8")
    return [l for l in data.split("\n") if l.strip(" \t\r") != ""]


def cmd_apply(args):
    lines = nonblank_lines(args.file)
    model = Model()
    for n, step in enumerate(args.steps.split(","), 1):
        lo, hi = (int(x) for x in step.split(":"))
        counts = {"lines": 0, "applied": 0, "skipped": 0, "unreadable": 0}
        last = -1
        for line in lines[lo:hi]:
            counts["lines"] += 1
            try:
                ev = read_event(line.rstrip("\r"))
            except Unreadable:
                counts["unreadable"] += 1
                continue
            except Skip as s:
                counts["skipped"] += 1
                last = max(last, s.args[0])
                continue
            counts["applied"] += 1
            last = max(last, ev["time_us"])
            model.apply(ev)
        with open("%s.%d.txt" % (args.out, n), "w", encoding="utf-8") as f:
            f.write(model.canonical())
        print("step %d lines %d applied %d skipped %d unreadable %d last %d"
              % (n, counts["lines"], counts["applied"], counts["skipped"], counts["unreadable"], last))


class Mixer:
    """Adds events a generated stream rarely has, each built from a record
    an earlier line created, a few lines after it: updates of follows,
    blocks and list items to the same subject (no-ops) and to another
    (moves); repost updates to the same post (a new cid) and to another
    post; a second repost of a post by the same reposter (held aside)
    and later the delete of the first (which promotes it); post deletes
    named by a repost's subject (before or after the post's create: held
    reposts go either way) and post updates with another embed; listitems
    in another account's list (skipped); account events with a status
    while active, or none while inactive; createdAt in other readable and
    unreadable forms; and lines that are not JSON at all."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.later = []  # (line index to write after, text)
        self.subjects = []
        self.posts = []

    def add(self, at, ev):
        self.later.append((at + self.rng.randint(1, 300), json.dumps(ev, separators=(",", ":"),
                                                                      ensure_ascii=False)))

    def new_rkey(self):
        return "3m" + "".join(self.rng.choice("234567abcdefghijklmnopqrstuvwxyz") for _ in range(11))

    def created(self, t):
        forms = ["%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dt%H:%M:%S.%fz", "%Y-%m-%dT%H:%M:%S+05:30",
                 "%Y-%m-%dT%H:%M:%S.%f123-03:00", "%Y-%m-%d %H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S"]
        f = self.rng.choice(forms)
        text = (EPOCH + datetime.timedelta(microseconds=t - self.rng.randint(0, 5000000))).strftime(f)
        return text

    def line(self, i, text):
        """Line i of the stream, perhaps changed; schedules added events."""
        try:
            return self.mix(i, text)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            return text  # a line not shaped as expected (malformed ones)

    def mix(self, i, text):
        rng = self.rng
        ev = json.loads(text)
        c = ev["commit"]
        coll, op, rec = c["collection"], c["operation"], c.get("record")
        did, t = ev["did"], ev["time_us"]
        if op != "create" or not isinstance(rec, dict):
            return text
        if coll in ("app.bsky.graph.follow", "app.bsky.graph.block"):
            self.subjects.append(rec["subject"])
        if coll == "app.bsky.feed.post":
            self.posts.append("at://%s/app.bsky.feed.post/%s" % (did, c["rkey"]))
        u = rng.random()
        if u < 0.02 and "createdAt" in rec:
            # Another form of createdAt, on the line itself.
            rec["createdAt"] = self.created(t)
            text = json.dumps(ev, separators=(",", ":"), ensure_ascii=False)
        if coll in ("app.bsky.graph.follow", "app.bsky.graph.block", "app.bsky.graph.listitem") \
                and u < 0.06 and len(self.subjects) > 10:
            upd = json.loads(text)
            upd["commit"]["operation"] = "update"
            upd["time_us"] = t + 1
            if rng.random() < 0.5:
                upd["commit"]["record"]["subject"] = rng.choice(self.subjects[-200:])
            self.add(i, upd)
        elif coll == "app.bsky.graph.listitem" and u < 0.12:
            other = json.loads(text)
            other["did"] = rng.choice(self.subjects[-200:] or [did])
            other["commit"]["rkey"] = self.new_rkey()
            self.add(i, other)
        elif coll == "app.bsky.feed.repost" and u < 0.05:
            upd = json.loads(text)
            upd["commit"]["operation"] = "update"
            upd["commit"]["cid"] = "bafyreimix" + self.new_rkey()
            if rng.random() < 0.5 and self.posts:
                upd["commit"]["record"]["subject"]["uri"] = rng.choice(self.posts[-500:])
            self.add(i, upd)
        elif coll == "app.bsky.feed.repost" and u < 0.10:
            second = json.loads(text)
            second["commit"]["rkey"] = self.new_rkey()
            second["commit"]["cid"] = "bafyreimix" + self.new_rkey()
            self.add(i, second)
            if rng.random() < 0.6:
                self.add(i + 300, {"did": did, "time_us": t + 2, "kind": "commit", "commit": {
                    "rev": "3mrev", "operation": "delete", "collection": "app.bsky.feed.repost",
                    "rkey": c["rkey"]}})
        elif coll == "app.bsky.feed.repost" and u < 0.13:
            author, _, rkey = rec["subject"]["uri"][5:].split("/")  # ValueError if malformed
            self.add(i - rng.randint(0, 300), {"did": author, "time_us": t + 3, "kind": "commit",
                                              "commit": {"rev": "3mrev", "operation": "delete",
                                                         "collection": "app.bsky.feed.post",
                                                         "rkey": rkey}})
        elif coll == "app.bsky.feed.post" and u < 0.05:
            upd = json.loads(text)
            upd["commit"]["operation"] = rng.choice(["update", "create"])
            upd["commit"]["cid"] = "bafyreimix" + self.new_rkey()
            r = upd["commit"]["record"]
            choice = rng.randrange(4)
            if choice == 0:
                r.pop("embed", None)
            elif choice == 1:
                r["embed"] = {"$type": "app.bsky.embed.video", "video": {}}
            elif choice == 2 and self.posts:
                r["embed"] = {"$type": "app.bsky.embed.recordWithMedia",
                              "media": {"$type": "app.bsky.embed.images", "images": []},
                              "record": {"$type": "app.bsky.embed.record",
                                         "record": {"uri": rng.choice(self.posts[-500:]), "cid": "x"}}}
            elif self.posts:
                p = rng.choice(self.posts[-500:])
                r["reply"] = {"parent": {"uri": p, "cid": "x"}, "root": {"uri": p, "cid": "x"}}
            self.add(i, upd)
        elif u < 0.003:
            acc = {"did": did, "time_us": t + 4, "kind": "account",
                   "account": {"active": rng.random() < 0.5, "did": did, "seq": 1, "time": "x"}}
            if rng.random() < 0.5:
                acc["account"]["status"] = rng.choice(["deactivated", "takendown", "suspended"])
            self.add(i, acc)
        elif u < 0.004:
            self.add(i, {"did": did, "time_us": t + 5, "kind": "commit",
                         "commit": {"operation": "create", "collection": "app.bsky.graph.follow"}})
        return text


def cmd_mix(args):
    lines = nonblank_lines(args.file)
    mixer = Mixer(args.seed)
    out = []
    for i, text in enumerate(lines):
        out.append(mixer.line(i, text))
    # Added lines go after the line they were scheduled after (stable).
    extra = {}
    for at, text in mixer.later:
        extra.setdefault(max(at, 0), []).append(text)
    with open(args.out, "w", encoding="utf-8") as f:
        for i, text in enumerate(out):
            f.write(text + "\n")
            for e in extra.pop(i, ()):
                f.write(e + "\n")
        for at in sorted(extra):
            for e in extra[at]:
                f.write(e + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("apply")
    a.add_argument("file")
    a.add_argument("--steps", required=True)
    a.add_argument("--out", required=True)
    m = sub.add_parser("mix")
    m.add_argument("file")
    m.add_argument("out")
    m.add_argument("--seed", type=int, required=True)
    args = p.parse_args()
    if args.cmd == "apply":
        cmd_apply(args)
    else:
        cmd_mix(args)


if __name__ == "__main__":
    sys.exit(main())
