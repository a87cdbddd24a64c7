#!/usr/bin/python3
"""Checks what bench/scenario wrote for test/scenario/tiny.toml: the report
and its sections, the check that both sides answer alike, both passes'
per-second tables with every kind of read and write, no failed request,
the ingest done in both passes, verify() clean, and three PNG dashboards.
Prints what is wrong; exits 1 if anything is.

    check_results.py RESULTS_DIR
"""

import csv
import os
import sys

READS = ["timeline", "next_page", "author_feed", "profile"]
WRITES = ["post", "repost", "follow", "unfollow", "block", "mute", "celebrity_post"]


def main():
    out = sys.argv[1]
    problems = []
    try:
        report = open(os.path.join(out, "report.md")).read()
    except OSError as e:
        print("no report: %s" % e)
        return 1
    for section in ("## Data", "## Plan", "## Where each side saturates", "## Reads, by phase",
                    "## Writes", "## Dashboards"):
        if section not in report:
            problems.append("the report has no section %r" % section)
    if "gave the same answers (reads checked: " not in report:
        problems.append("the report does not say both sides gave the same answers")
    if "`verify()` found 0 differences" not in report:
        problems.append("the report does not say verify() found 0 differences")
    for name in ("index", "fan-in"):
        if "Ingest, %s pass: 20,000 events in" % name not in report:
            problems.append("the ingest of the %s pass is not reported done" % name)
    for name in ("index", "baseline"):
        path = os.path.join(out, name + ".tsv")
        try:
            rows = list(csv.DictReader(open(path), delimiter="\t"))
        except OSError as e:
            problems.append("no %s table: %s" % (name, e))
            continue
        if len(rows) < 5:
            problems.append("%s.tsv has %d rows" % (name, len(rows)))
        for k in READS + WRITES:
            if sum(int(r[k]) for r in rows) == 0:
                problems.append("%s pass: no %s request" % (name, k))
        for k in ("errors", "timeouts"):
            n = sum(int(r[k]) for r in rows)
            if n:
                problems.append("%s pass: %d %s" % (name, n, k))
        if max(int(r["sessions"]) for r in rows) < 30:
            problems.append("%s pass: the sessions never ramped to 40" % name)
    for png in ("dashboard.png", "latency.png", "saturation.png"):
        try:
            with open(os.path.join(out, png), "rb") as f:
                if f.read(8) != b"\x89PNG\r\n\x1a\n":
                    problems.append("%s is not a PNG" % png)
        except OSError as e:
            problems.append("no %s: %s" % (png, e))
    for p in problems:
        print("check_results: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
