#!/usr/bin/python3
"""Checks what bench/gen/jetgen writes: Jetstream v1 shapes, identifiers,
time order, the mix, replayed windows, references between events, and that
its summary counts what it wrote.

    check_jetgen.py PATH_TO_JETGEN

Ends with "N passed, N failed"; exits 1 on any failure.
"""

import collections
import json
import os
import re
import subprocess
import sys
import tempfile

JETGEN = sys.argv[1] if len(sys.argv) > 1 else "build/jetgen"
EVENTS, ACCOUNTS, SEED = 120000, 20000, 11

DID = re.compile(r"^did:plc:[a-z2-7]{24}$")
TID = re.compile(r"^[2-7a-j][2-7a-z]{12}$")
CID = re.compile(r"^bafyrei[a-h][a-z2-7]{50}[aeimquy4]$")
BLOB = re.compile(r"^bafkrei[a-h][a-z2-7]{50}[aeimquy4]$")
URI = re.compile(r"^at://(did:plc:[a-z2-7]{24})/(app\.bsky\.[a-z.]+)/([2-7a-z]{13})$")
MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")
SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def tid_us(tid):
    v = 0
    for c in tid:
        v = v * 32 + SORTABLE.index(c)
    return v >> 10


def run(*args):
    p = subprocess.run([JETGEN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return p.stdout, p.stderr.decode()


def summary_counts(text):
    """{kind: count} from jetgen's summary."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^  (\S.*?)\s+(\d+)\s+[\d.]+ %$", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def main():
    args = ["--events", str(EVENTS), "--accounts", str(ACCOUNTS), "--seed", str(SEED),
            "--rate", "2000", "--replays", "20"]
    data, err = run(*args)
    again, _ = run(*args)
    check(data == again, "the same arguments give the same bytes")
    other, _ = run("--events", "2000", "--accounts", str(ACCOUNTS), "--seed", str(SEED + 1))
    check(not data.startswith(other[:2000]), "another seed gives another stream")

    lines = data.split(b"\n")
    check(lines[-1] == b"", "the output ends with a newline")
    lines = lines[:-1]
    check(len(lines) == EVENTS, "--events lines (%d)" % len(lines))
    summary = summary_counts(err)
    check(sum(summary.values()) == EVENTS, "the summary's counts add up to the lines")

    seen = set()
    kinds = collections.Counter()
    bad = collections.Counter()  # shape violations by kind
    replayed = windows = 0
    last_t = 0
    in_replay = False
    created = {}  # (did, collection, rkey) -> time_us of the create
    post_created = {}
    future = total_created_at = millis = 0
    unseen_repost_subjects = later_created = 0
    repost_subjects = []
    deletes_of_known = deletes_total = 0
    for raw in lines:
        if raw in seen and (in_replay or b'"time_us":' in raw and last_t and
                            int(re.search(rb'"time_us":(\d+)', raw).group(1)) <= last_t):
            # A replayed line: a verbatim copy of an earlier one.
            if not in_replay:
                windows += 1
            in_replay = True
            replayed += 1
            continue
        in_replay = False
        seen.add(raw)
        try:
            ev = json.loads(raw)
        except ValueError:
            kinds["malformed"] += 1
            continue
        if not isinstance(ev, dict) or "time_us" not in ev or not DID.match(str(ev.get("did"))):
            kinds["malformed"] += 1
            continue
        t = ev["time_us"]
        if t <= last_t:
            bad["time_us not increasing"] += 1
        last_t = t
        kind = ev.get("kind")
        if kind == "identity":
            kinds["identity"] += 1
            i = ev["identity"]
            if i["did"] != ev["did"] or not i["handle"].endswith(".bsky.social"):
                bad["identity"] += 1
            continue
        if kind == "account":
            a = ev["account"]
            kinds["account " + ("active" if a["active"] else "inactive")] += 1
            if a["did"] != ev["did"] or (not a["active"]) != ("status" in a):
                bad["account"] += 1
            if not a["active"] and a["status"] not in ("deactivated", "takendown", "suspended",
                                                       "deleted"):
                bad["account status"] += 1
            continue
        if kind != "commit":
            bad["kind"] += 1
            continue
        c = ev["commit"]
        coll, op, rkey = c["collection"], c["operation"], c["rkey"]
        if list(c.keys())[:4] != ["rev", "operation", "collection", "rkey"] or not TID.match(c["rev"]):
            bad["commit fields"] += 1
        if not (TID.match(rkey) or (coll == "app.bsky.actor.profile" and rkey == "self")):
            bad["rkey"] += 1
        key = (ev["did"], coll, rkey)
        short = coll.split(".")[-1]
        if op == "delete":
            kinds[short + " delete"] += 1
            deletes_total += 1
            if "record" in c or "cid" in c:
                bad["delete with a record"] += 1
            if key in created:
                deletes_of_known += 1
            continue
        r = c["record"]
        if op not in ("create", "update") or r.get("$type") != coll or not CID.match(c["cid"]):
            bad["record"] += 1
        if op == "create" and short in ("follow", "block", "repost", "like", "listitem",
                                        "listblock", "list"):
            if abs(tid_us(rkey) - t) > 10 ** 6:
                bad["rkey TID far from time_us"] += 1
        if "createdAt" in r:
            total_created_at += 1
            millis += bool(MILLIS.match(r["createdAt"]))
            if MILLIS.match(r["createdAt"]):
                from datetime import datetime, timezone
                ca = datetime.strptime(r["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                    tzinfo=timezone.utc)
                us = int(ca.timestamp() * 1e6)
                future += us > t
        created[key] = t
        if coll == "app.bsky.feed.post":
            if op == "create":
                post_created[(ev["did"], rkey)] = t
            reply = r.get("reply")
            kinds["post " + op + (" reply" if reply else "")] += 1
            if reply:
                for part in ("parent", "root"):
                    if not URI.match(reply[part]["uri"]) or not CID.match(reply[part]["cid"]):
                        bad["reply ref"] += 1
            embed = r.get("embed")
            if embed:
                kinds["embed " + embed["$type"].split(".")[-1]] += 1
                if embed["$type"] == "app.bsky.embed.images":
                    for im in embed["images"]:
                        if not BLOB.match(im["image"]["ref"]["$link"]):
                            bad["image blob"] += 1
                if embed["$type"] == "app.bsky.embed.recordWithMedia":
                    if not URI.match(embed["record"]["record"]["uri"]):
                        bad["quote ref"] += 1
                if embed["$type"] == "app.bsky.embed.record":
                    if not URI.match(embed["record"]["uri"]):
                        bad["quote ref"] += 1
            if not isinstance(r.get("text"), str) or r.get("langs", [None])[0] is None:
                bad["post text"] += 1
        elif coll in ("app.bsky.graph.follow", "app.bsky.graph.block"):
            if not DID.match(r["subject"]):
                kinds["malformed"] += 1  # jetgen's "bad subject DID"
                kinds["malformed subject"] += 1
                continue
            kinds[short + " create"] += 1
        elif coll in ("app.bsky.feed.repost", "app.bsky.feed.like"):
            kinds[short + " create"] += 1
            m = URI.match(r["subject"]["uri"])
            if not m and r["subject"]["uri"].endswith("/app.bsky.feed.post"):
                kinds["malformed"] += 1  # jetgen's "bad AT-URI"
                kinds["malformed uri"] += 1
                kinds[short + " create"] -= 1
                continue
            if not m or m.group(2) != "app.bsky.feed.post" or not CID.match(r["subject"]["cid"]):
                bad[short + " subject"] += 1
            elif short == "repost":
                repost_subjects.append(((m.group(1), m.group(3)), t))
        elif coll == "app.bsky.graph.list":
            kinds["list " + op] += 1
            if r["purpose"] not in ("app.bsky.graph.defs#modlist", "app.bsky.graph.defs#curatelist"):
                bad["list purpose"] += 1
        elif coll == "app.bsky.graph.listitem":
            kinds["listitem create"] += 1
            m = URI.match(r["list"])
            if not m or m.group(1) != ev["did"] or not DID.match(r["subject"]):
                bad["listitem"] += 1
        elif coll == "app.bsky.graph.listblock":
            kinds["listblock create"] += 1
            m = URI.match(r["subject"])
            if not m or m.group(2) != "app.bsky.graph.list":
                bad["listblock"] += 1
        else:
            kinds["other " + short] += 1

    for what, n in sorted(bad.items()):
        check(False, "%d lines: %s" % (n, what))
    check(not bad, "every readable line has Jetstream's shape")

    # Replayed windows: as many as the summary says, and as many lines.
    check(replayed == summary.get("replayed duplicate"), "replayed lines %d vs summary %s" % (
        replayed, summary.get("replayed duplicate")))

    # The summary counts what was written.
    pairs = [("like create", "like create"), ("like delete", "like delete"),
             ("post create", "post create (not a reply)"), ("post create reply", "post create (reply)"),
             ("post delete", "post delete"), ("repost delete", "repost delete"),
             ("follow delete", "follow delete"), ("block create", "block create"),
             ("block delete", "block delete"), ("listitem create", "listitem create"),
             ("listblock create", "listblock create"), ("identity", "identity"),
             ("account inactive", "account inactive"), ("account active", "account active"),
             ("list create", "list create"), ("list delete", "list delete")]
    for mine, theirs in pairs:
        check(kinds[mine] == summary.get(theirs), "%s: %d written, summary says %s" % (
            mine, kinds[mine], summary.get(theirs)))
    check(kinds["follow create"] == summary["follow create"] + summary["follow create (dup)"],
          "follow creates")
    check(kinds["repost create"] == summary["repost create"] + summary["repost of unseen post"],
          "repost creates")
    # Every malformed line is unreadable as an event, and only those.
    m = re.search(r"malformed: truncated JSON (\d+), not JSON (\d+), bad event DID (\d+), "
                  r"bad subject DID (\d+), bad AT-URI (\d+), time_us missing (\d+)", err)
    check(m is not None, "the summary breaks malformed lines down")
    check(kinds["malformed"] == summary["malformed"], "malformed: %d found, summary says %d" % (
        kinds["malformed"], summary["malformed"]))
    check(kinds["malformed subject"] == int(m.group(4)), "bad subject DIDs")
    check(kinds["malformed uri"] == int(m.group(5)), "bad AT-URIs")

    # The mix, among the lines not replayed.
    n = EVENTS - replayed
    share = lambda k: kinds[k] / n
    check(0.65 <= share("like create") <= 0.73, "likes are about 70 %% (%.3f)" % share("like create"))
    posts = kinds["post create"] + kinds["post create reply"]
    check(0.25 <= kinds["post create reply"] / posts <= 0.35, "about 30 % of posts are replies")
    check(0.05 <= share("follow create") <= 0.09, "follows")
    check(kinds["embed record"] > 0 and kinds["embed recordWithMedia"] > 0, "quotes of both kinds")
    check(kinds["embed images"] > kinds["embed external"] > kinds["embed video"] > 0, "media embeds")
    check(kinds["post update"] + kinds["post update reply"] > 0, "post updates")
    check(kinds["list update"] > 0 and kinds["listitem delete"] > 0 and kinds["listblock delete"] > 0,
          "list updates, listitem and listblock deletes")
    check(kinds["other profile"] > 0 and kinds["other threadgate"] > 0, "skipped collections")
    check(windows >= 1, "at least one replayed window (%d)" % windows)
    check(0 < deletes_of_known < deletes_total, "deletes name known and unknown records")
    check(millis / total_created_at > 0.9, "createdAt mostly with milliseconds")
    check(0.005 < future / total_created_at < 0.05, "some createdAt in the future (%.4f)" % (
        future / total_created_at))

    # Reposts of posts never seen, and of posts whose create comes later.
    for subject, t in repost_subjects:
        if subject not in post_created:
            unseen_repost_subjects += 1
        elif post_created[subject] > t:
            later_created += 1
    check(unseen_repost_subjects > 0, "reposts of posts never seen")
    check(later_created > 0, "reposts of posts created later")

    # Compression, when jetgen was built with libzstd.
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.jsonl.zst")
        p = subprocess.run([JETGEN, "--events", "5000", "--accounts", "1000", "-o", path],
                           stderr=subprocess.PIPE)
        if p.returncode == 0:
            plain, _ = run("--events", "5000", "--accounts", "1000")
            out = subprocess.run(["zstd", "-dc", path], stdout=subprocess.PIPE, check=True).stdout
            check(out == plain, ".zst output decompresses to the plain output")
        else:
            check(b"built without libzstd" in p.stderr, "a .zst name without libzstd is refused")

    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
