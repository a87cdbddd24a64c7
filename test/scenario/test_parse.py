#!/usr/bin/python3
"""Tests the scenario parser of bench/scenario (bench/scenario.py): every
shipped scenario is accepted, and each bad file is refused with a message
that names its line and its field. Prints "ok - ..." or "not ok - ..." per
case and ends with "N passed, N failed"; run by scripts/test.sh scenario.
"""

import glob
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "bench", "scenario.py")

GOOD = """\
name = "t"
seed = 3

[data]
scale = "tiny"
users = 500
celebrities = 1

[server]
pool = 4

[session]
think_ms = 100
mix = { timeline = 1 }

[ingest]
events = 100

[[phase]]
name = "one"
seconds = 2
sessions = 5
writes = { posts = 1 }

[[phase]]
name = "two"
seconds = 3
sessions = [5, 50]
ramp = "exponential"
ingest = true
writes = { celebrity_posts = 1 }
"""

# (what, the file (GOOD with one line replaced, or a whole text), the
# message expected on standard error, exactly, FILE standing for the path).
BAD = [
    ("a ramp that is text", ("sessions = [5, 50]", 'sessions = "lots"'),
     "FILE:28: phase[2].sessions: expected a whole number >= 0 or [from, to], got 'lots'"),
    ("a ramp of three numbers", ("sessions = [5, 50]", "sessions = [5, 50, 500]"),
     "FILE:28: phase[2].sessions: expected a whole number >= 0 or [from, to], got [5, 50, 500]"),
    ("a misspelt field", ("think_ms = 100", "thinkms = 100"),
     "FILE:13: session.thinkms: unknown field (known here: length, max_pages, mix, next_page, "
     "page, targets, think, think_ms, timeout_ms, viewer_skew)"),
    ("a misspelt key in an inline table", ("mix = { timeline = 1 }", "mix = { timelines = 1 }"),
     "FILE:14: session.mix.timelines: unknown field (known here: author_feed, profile, timeline)"),
    ("a negative rate in an inline table", ("writes = { posts = 1 }", "writes = { posts = -1 }"),
     "FILE:23: phase[1].writes.posts: expected a number >= 0 and <= 1000000, got -1"),
    ("too few users", ("users = 500", "users = 10"),
     "FILE:6: data.users: expected a whole number >= 100 and <= 1073741824, got 10"),
    ("users not whole", ("users = 500", "users = 500.5"),
     "FILE:6: data.users: expected a whole number >= 100 and <= 1073741824, got 500.5"),
    ("a share of replies over 1", ("users = 500", "users = 500\nreplies = 1.5"),
     "FILE:7: data.replies: expected a number >= 0 and <= 1, got 1.5"),
    ("list mutes without lists",
     ("users = 500", "users = 500\nlists = 0\nlist_items = 0\nlist_blocks = 0\nlist_mutes = 5"),
     "FILE:10: data.list_mutes: list items, list blocks and list mutes need lists"),
    ("an unknown scale", ('scale = "tiny"', 'scale = "huge"'),
     "FILE:5: data.scale: expected one of 'tiny', 'small', 'medium', 'large', got 'huge'"),
    ("an unknown ramp", ('ramp = "exponential"', 'ramp = "expo"'),
     "FILE:29: phase[2].ramp: expected one of 'linear', 'exponential', got 'expo'"),
    ("a phase without seconds", ("seconds = 3", ""),
     "FILE:25: phase[2]: missing field: seconds"),
    ("a boolean as a number", ("pool = 4", "pool = true"),
     "FILE:10: server.pool: expected a whole number >= 1 and <= 64, got True"),
    ("a TOML syntax error", ("seed = 3", "seed = 3 3"),
     "FILE:2: TOML syntax: Expected newline or end of document after a statement (column 10)"),
    ("an [ingest] without events", ("events = 100", ""),
     "FILE:16: ingest: missing field: events (Jetstream events to ingest)"),
    ("an ingest phase without [ingest]", ("[ingest]\nevents = 100\n", ""),
     "FILE:28: phase[2].ingest: the phase ingests but the scenario has no [ingest]"),
    ("celebrity posts without celebrities", ("celebrities = 1", "celebrities = 0"),
     "FILE:31: phase[2].writes.celebrity_posts: celebrity posts need celebrities "
     "(data.celebrities > 0)"),
    ("an unknown top-level table", ("[server]", "[servers]"),
     "FILE:9: servers: unknown field (known here: baseline, data, description, ingest, name, "
     "phase, seed, server, session)"),
    ("two phases with one name", ('name = "two"', 'name = "one"'),
     "FILE:26: phase[2].name: another phase has this name"),
    ("no phase at all", "[data]\nusers = 500\n",
     "FILE: (top level): missing the traffic plan: at least one [[phase]]"),
    ("a sub-table of the second phase",
     "[[phase]]\nseconds = 1\nsessions = 1\n[[phase]]\nseconds = 1\nsessions = 1\n"
     "[phase.writes]\nposts = 1\nblocks = \"many\"\n",
     "FILE:9: phase[2].writes.blocks: expected a number >= 0 and <= 1000000, got 'many'"),
    ("a burst longer than its period",
     "[[phase]]\nseconds = 10\nsessions = 1\nburst = { every = 2, seconds = 3 }\n",
     "FILE:4: phase[1].burst.seconds: expected a number > 0 and <= 2, got 3"),
]


def check(path):
    r = subprocess.run([sys.executable, TOOL, "check", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def main():
    passed = failed = 0

    def report(ok, what, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok - %s" % what)
        else:
            failed += 1
            print("not ok - %s%s" % (what, "\n    " + detail.replace("\n", "\n    ")
                                      if detail else ""))

    shipped = sorted(glob.glob(os.path.join(ROOT, "bench", "scenarios", "*.toml")))
    shipped.append(os.path.join(ROOT, "test", "scenario", "tiny.toml"))
    for path in shipped:
        rc, out, err = check(path)
        report(rc == 0, "accepts %s" % os.path.relpath(path, ROOT), err)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "good.toml")
        with open(path, "w") as f:
            f.write(GOOD)
        rc, out, err = check(path)
        report(rc == 0, "accepts the test's own good file", err)
        for what, change, want in BAD:
            if isinstance(change, tuple):
                old, new = change
                if GOOD.count(old) != 1:
                    report(False, what, "the test's replacement is not unique: %r" % old)
                    continue
                text = GOOD.replace(old, new)
            else:
                text = change
            with open(path, "w") as f:
                f.write(text)
            rc, out, err = check(path)
            want = want.replace("FILE", path)
            report(rc == 2 and err == want, "refuses %s" % what,
                   "exit %d\n got: %s\nwant: %s" % (rc, err, want))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
