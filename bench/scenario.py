#!/usr/bin/python3
"""The scenario files of bench/scenario: reads and checks them, writes the
load driver's plan, and turns the driver's logs into the report.

    scenario.py check FILE [--scale S]
    scenario.py env FILE [--scale S] [--baseline fan-in|lateral] --json OUT
    scenario.py plan SCENARIO_JSON PASS --conninfo C --sql-dir D --targets F
                     [--celebrities "U..."] [--ingest-cmd CMD]
    scenario.py report SCENARIO_JSON RUN_DIR OUT_DIR

A scenario is a TOML file (bench/scenarios/example.toml documents every
field). A bad file is refused with its line and the field:

    bench/scenarios/x.toml:14: phase[2].sessions: expected a whole number
    >= 0 or [from, to], got 'lots'

`env` prints the scenario as shell assignments (SC_...) for bench/scenario
and writes it, defaults filled in, as JSON; `plan` writes what bench/load/
dpload reads; `report` writes per-second tables, report.md and the PNG
dashboards (gnuplot, bench/scenario.gp) into OUT_DIR.

Needs Python 3.11 (tomllib); Debian bookworm's /usr/bin/python3 is.
"""

import argparse
import bisect
import json
import math
import os
import re
import shlex
import subprocess
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))

# The data and server of bench/run's scales (and a tiny one for tests);
# a scenario's [data] and [server] keys override them.
SCALES = {
    "tiny": dict(users=2000, follows=30, posts=20000, reposts=4000, weeks=2, blocks=500,
                 mutes=300, lists=20, list_items=400, list_blocks=100, list_mutes=50,
                 memory_limit="64MB", shared_buffers="128MB"),
    "small": dict(users=10000, follows=58, posts=200000, reposts=40000, weeks=2, blocks=5000,
                  mutes=3000, lists=100, list_items=5000, list_blocks=1000, list_mutes=500,
                  memory_limit="512MB", shared_buffers="1GB"),
    "medium": dict(users=100000, follows=50, posts=2000000, reposts=400000, weeks=4,
                   blocks=50000, mutes=30000, lists=1000, list_items=50000, list_blocks=10000,
                   list_mutes=5000, memory_limit="4GB", shared_buffers="2GB"),
    "large": dict(users=1000000, follows=50, posts=10000000, reposts=2000000, weeks=4,
                  blocks=500000, mutes=300000, lists=10000, list_items=500000,
                  list_blocks=100000, list_mutes=50000,
                  memory_limit="12GB", shared_buffers="4GB"),
}
READS = ["timeline", "next_page", "author_feed", "profile"]
WRITES = ["posts", "reposts", "follows", "unfollows", "blocks", "mutes", "celebrity_posts"]
WRITE_KIND = {w: w[:-1] for w in WRITES}  # posts -> post, the driver's kind names
SATURATION_MS = 100.0
WINDOW_S = 5
HOLD_WINDOWS = 6  # a crossing holds 30 s: one slow window is noise, not saturation


class ScenarioError(Exception):
    pass


# ------------------------------------------------------------- line numbers

def _key_names(text):
    """The keys of a dotted key or header: a.b."c d" -> [a, b, c d]."""
    return [k.strip().strip('"').strip("'") for k in
            re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', text)]


def line_index(text):
    """Maps paths (tuples of keys, 1-based indexes for arrays of tables)
    to the line that sets them: headers, keys, and the keys of inline
    tables on the line of their key. Enough TOML to point at a line."""
    where = {}
    counts = {}   # array-of-tables path -> how many so far
    table = ()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^\[\[\s*(.+?)\s*\]\]", line)
        if m:
            names = _key_names(m.group(1))
            key = tuple(_resolve(names[:-1], counts)) + (names[-1],)
            counts[key] = counts.get(key, 0) + 1
            table = key + (counts[key],)
            where.setdefault(table, n)
            continue
        m = re.match(r"^\[\s*(.+?)\s*\]", line)
        if m:
            table = tuple(_resolve(_key_names(m.group(1)), counts))
            where.setdefault(table, n)
            continue
        m = re.match(r'^((?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|\'[^\']*\'|'
                     r'[A-Za-z0-9_-]+))*)\s*=(.*)$', line)
        if m:
            path = table + tuple(_key_names(re.sub(r"\s*\.\s*", ".", m.group(1))))
            where.setdefault(path, n)
            rest = m.group(2)
            brace = rest.find("{")
            if brace >= 0:
                for k in re.findall(r"([A-Za-z0-9_-]+)\s*=", rest[brace:]):
                    where.setdefault(path + (k,), n)
    return where


def _resolve(names, counts):
    """A header's names, with the current index after each array of tables
    it goes through ([phase.writes] after the 2nd [[phase]] -> phase, 2, writes)."""
    out = []
    for name in names:
        out.append(name)
        if tuple(out) in counts:
            out.append(counts[tuple(out)])
    return out


class Where:
    """Says where a path is in the file."""

    def __init__(self, path, text):
        self.path = path
        self.lines = line_index(text)

    def line(self, path):
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def error(self, path, message):
        shown = ""
        for p in path:
            shown += "[%d]" % p if isinstance(p, int) else ("." if shown else "") + p
        line = self.line(path)
        at = "%s:%d" % (self.path, line) if line else self.path
        return ScenarioError("%s: %s: %s" % (at, shown or "(top level)", message))


# ---------------------------------------------------------------- checking

def _show(v):
    return repr(v) if not isinstance(v, str) else "'%s'" % v


class Checker:
    def __init__(self, where):
        self.w = where

    def table(self, parent, key, value, known):
        path = parent + (key,) if key else parent
        if not isinstance(value, dict):
            raise self.w.error(path, "expected a table, got %s" % _show(value))
        for k in value:
            if k not in known:
                raise self.w.error(path + (k,), "unknown field (known here: %s)" %
                                   ", ".join(sorted(known)))
        return value

    def number(self, path, v, lo=None, hi=None, whole=False, lo_open=False, hi_open=False):
        kind = "a whole number" if whole else "a number"
        ok = isinstance(v, int) and not isinstance(v, bool)
        if not whole:
            ok = ok or (isinstance(v, float) and math.isfinite(v))
        rng = ""
        if lo is not None:
            rng += " %s %s" % (">" if lo_open else ">=", fmt(lo))
        if hi is not None:
            rng += "%s %s %s" % (" and" if rng else "", "<" if hi_open else "<=", fmt(hi))
        if ok and lo is not None and (v < lo or (lo_open and v == lo)):
            ok = False
        if ok and hi is not None and (v > hi or (hi_open and v == hi)):
            ok = False
        if not ok:
            raise self.w.error(path, "expected %s%s, got %s" % (kind, rng, _show(v)))
        return v

    def choice(self, path, v, options):
        if v not in options:
            raise self.w.error(path, "expected one of %s, got %s" % (
                ", ".join("'%s'" % o for o in options), _show(v)))
        return v

    def boolean(self, path, v):
        if not isinstance(v, bool):
            raise self.w.error(path, "expected true or false, got %s" % _show(v))
        return v

    def text(self, path, v, pattern=None, what="text"):
        if not isinstance(v, str) or (pattern and not re.fullmatch(pattern, v)):
            raise self.w.error(path, "expected %s, got %s" % (what, _show(v)))
        return v

    def size(self, path, v):
        return self.text(path, v, r"[0-9]+\s*(kB|MB|GB|TB)",
                         "a size such as '512MB' or '4GB'")


def load(path, scale=None, baseline=None):
    """The scenario in `path`, checked, with every default filled in."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ScenarioError("%s: %s" % (path, e.strerror))
    try:
        text = raw.decode("utf-8")
        doc = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ScenarioError("%s: not UTF-8 text" % path)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        if m:
            msg = msg[:m.start()].strip()
            raise ScenarioError("%s:%s: TOML syntax: %s (column %s)" % (
                path, m.group(1), msg, m.group(2)))
        raise ScenarioError("%s: TOML syntax: %s" % (path, msg))
    w = Where(path, text)
    c = Checker(w)
    c.table((), None, doc, {"name", "description", "seed", "baseline", "data", "server",
                            "session", "ingest", "phase"})
    sc = {}
    stem = os.path.splitext(os.path.basename(path))[0]
    sc["name"] = c.text(("name",), doc.get("name", stem), r"[A-Za-z0-9_-]{1,64}",
                        "a name of letters, digits, _ and - (it names the results' directory)")
    sc["description"] = c.text(("description",), doc.get("description", ""))
    sc["seed"] = c.number(("seed",), doc.get("seed", 1), 0, 2 ** 62, whole=True)
    sc["baseline"] = c.choice(("baseline",), baseline or doc.get("baseline", "fan-in"),
                              ["fan-in", "lateral"])

    # [data]
    data_in = c.table((), "data", doc.get("data", {}), {
        "scale", "users", "follows", "top_share", "posts", "replies", "reposts", "weeks",
        "blocks", "mutes", "lists", "list_items", "list_blocks", "list_mutes", "inactive",
        "celebrities", "celebrity_followers"})
    sc_scale = scale or data_in.get("scale", "small")
    c.choice(("data", "scale"), sc_scale, list(SCALES))
    preset = SCALES[sc_scale]
    d = {"scale": sc_scale}
    P = ("data",)

    def dget(k, default=None):
        # The command line's --scale replaces the file's data sizes too.
        if scale and k in preset:
            return preset[k]
        return data_in.get(k, preset.get(k, default))
    d["users"] = c.number(P + ("users",), dget("users"), 100, 2 ** 30, whole=True)
    d["follows"] = c.number(P + ("follows",), dget("follows"), 1, 10000, lo_open=False)
    d["top_share"] = c.number(P + ("top_share",), dget("top_share", 0.05), 0, 1,
                              lo_open=True, hi_open=True)
    for k in ("posts", "reposts", "blocks", "mutes", "lists", "list_items", "list_blocks",
              "list_mutes"):
        d[k] = c.number(P + (k,), dget(k), 0, 2 ** 40, whole=True)
    d["replies"] = c.number(P + ("replies",), data_in.get("replies", 0.2), 0, 1)
    d["inactive"] = c.number(P + ("inactive",), data_in.get("inactive", 0.01), 0, 1,
                             hi_open=True)
    d["weeks"] = c.number(P + ("weeks",), dget("weeks"), 0, 520, lo_open=True)
    d["celebrities"] = c.number(P + ("celebrities",), data_in.get("celebrities", 0), 0, 1000,
                                whole=True)
    d["celebrity_followers"] = c.number(P + ("celebrity_followers",),
                                        data_in.get("celebrity_followers", 0.3), 0, 1,
                                        lo_open=True)
    if d["reposts"] > 0 and d["posts"] == 0:
        raise w.error(P + ("reposts",), "reposts need posts to repost")
    for k in ("list_items", "list_blocks", "list_mutes"):
        if d[k] and d["lists"] == 0:
            raise w.error(P + (k,), "list items, list blocks and list mutes need lists")
    sc["data"] = d

    # [server]
    s_in = c.table((), "server", doc.get("server", {}), {
        "memory_limit", "shared_buffers", "fanout_limit", "feed_capacity", "pool",
        "writers", "settings"})
    S = ("server",)
    s = {}
    s["memory_limit"] = c.size(S + ("memory_limit",), s_in.get("memory_limit",
                                                                preset["memory_limit"]))
    s["shared_buffers"] = c.size(S + ("shared_buffers",), s_in.get("shared_buffers",
                                                                    preset["shared_buffers"]))
    s["fanout_limit"] = c.number(S + ("fanout_limit",), s_in.get("fanout_limit", 10000),
                                 0, 2 ** 31 - 1, whole=True)
    if "feed_capacity" in s_in:
        s["feed_capacity"] = c.number(S + ("feed_capacity",), s_in["feed_capacity"], 1,
                                      1 << 20, whole=True)
    s["pool"] = c.number(S + ("pool",), s_in.get("pool", 8), 1, 64, whole=True)
    s["writers"] = c.number(S + ("writers",), s_in.get("writers", 2), 1, 16, whole=True)
    settings = s_in.get("settings", {})
    if not isinstance(settings, dict):
        raise w.error(S + ("settings",), "expected a table of postgresql.conf settings")
    for k, v in settings.items():
        c.text(S + ("settings", k), k, r"[a-z_][a-z0-9_.]*", "a setting's name")
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise w.error(S + ("settings", k), "expected a text or a number, got %s" % _show(v))
    s["settings"] = {k: str(v) for k, v in settings.items()}
    sc["server"] = s

    # [session]
    se_in = c.table((), "session", doc.get("session", {}), {
        "think_ms", "think", "length", "timeout_ms", "viewer_skew", "page", "next_page",
        "max_pages", "mix", "targets"})
    E = ("session",)
    se = {}
    se["think_ms"] = c.number(E + ("think_ms",), se_in.get("think_ms", 2000), 0, 3600000,
                              lo_open=True)
    se["think"] = c.choice(E + ("think",), se_in.get("think", "exponential"),
                           ["exponential", "constant", "uniform"])
    se["length"] = c.number(E + ("length",), se_in.get("length", 20), 0, 1e9)
    if 0 < se["length"] < 1:
        raise w.error(E + ("length",), "expected 0 (sessions never end) or a mean >= 1, got %s"
                      % _show(se["length"]))
    se["timeout_ms"] = c.number(E + ("timeout_ms",), se_in.get("timeout_ms", 10000), 1,
                                3600000, whole=True)
    se["viewer_skew"] = c.number(E + ("viewer_skew",), se_in.get("viewer_skew", 0.9), 0, 5)
    se["page"] = c.number(E + ("page",), se_in.get("page", 50), 1, 1000, whole=True)
    se["next_page"] = c.number(E + ("next_page",), se_in.get("next_page", 0.5), 0, 1)
    se["max_pages"] = c.number(E + ("max_pages",), se_in.get("max_pages", 5), 1, 1000,
                               whole=True)
    se["targets"] = c.number(E + ("targets",), se_in.get("targets", 10000), 1, 2 ** 30,
                             whole=True)
    mix_in = c.table(E, "mix", se_in.get("mix", {"timeline": 70, "author_feed": 15,
                                                  "profile": 15}),
                     {"timeline", "author_feed", "profile"})
    mix = {}
    for k in ("timeline", "author_feed", "profile"):
        mix[k] = c.number(E + ("mix", k), mix_in.get(k, 0), 0, 1e9)
    if sum(mix.values()) <= 0:
        raise w.error(E + ("mix",), "at least one weight must be > 0")
    se["mix"] = mix
    sc["session"] = se

    # [ingest]
    if "ingest" in doc:
        i_in = c.table((), "ingest", doc["ingest"], {"events", "rate", "batch"})
        I = ("ingest",)
        if "events" not in i_in:
            raise w.error(I, "missing field: events (Jetstream events to ingest)")
        events = c.number(I + ("events",), i_in["events"], 1, 2 ** 40, whole=True)
        if scale:
            # --scale scales the stream with the users: the same events per
            # account (6 million for 100,000 users would make 2,000 users'
            # timelines a hundred times what a real account's are).
            file_scale = SCALES.get(data_in.get("scale", "small"), preset)
            file_users = data_in.get("users", file_scale["users"])
            events = max(1000, round(events * d["users"] / file_users))
        sc["ingest"] = {
            "events": events,
            "rate": c.number(I + ("rate",), i_in.get("rate", 1500), 0, 1e9, lo_open=True),
            "batch": c.number(I + ("batch",), i_in.get("batch", 10000), 1, 10 ** 7,
                              whole=True),
        }
    else:
        sc["ingest"] = None

    # [[phase]]
    phases_in = doc.get("phase")
    if phases_in is None:
        raise w.error((), "missing the traffic plan: at least one [[phase]]")
    if not isinstance(phases_in, list) or not all(isinstance(p, dict) for p in phases_in):
        raise w.error(("phase",), "expected [[phase]] tables")
    if not phases_in:
        raise w.error(("phase",), "at least one [[phase]] is needed")
    phases = []
    for i, p_in in enumerate(phases_in, 1):
        H = ("phase", i)
        c.table(H, None, p_in, {"name", "seconds", "sessions", "ramp", "measure", "writes",
                                "burst", "ingest", "end_with_ingest"})
        p = {"name": c.text(H + ("name",), p_in.get("name", "phase%d" % i),
                            r"[A-Za-z0-9_-]{1,32}", "a name of letters, digits, _ and -")}
        if "seconds" not in p_in:
            raise w.error(H, "missing field: seconds")
        p["seconds"] = c.number(H + ("seconds",), p_in["seconds"], 0, 86400, lo_open=True)
        if "sessions" not in p_in:
            raise w.error(H, "missing field: sessions (a number, or [from, to] for a ramp)")
        sv = p_in["sessions"]
        if isinstance(sv, list):
            if len(sv) != 2 or not all(isinstance(x, int) and not isinstance(x, bool)
                                       and x >= 0 for x in sv):
                raise w.error(H + ("sessions",), "expected a whole number >= 0 or [from, to], "
                              "got %s" % _show(sv))
            p["from"], p["to"] = sv
        elif isinstance(sv, int) and not isinstance(sv, bool) and sv >= 0:
            p["from"] = p["to"] = sv
        else:
            raise w.error(H + ("sessions",), "expected a whole number >= 0 or [from, to], "
                          "got %s" % _show(sv))
        if max(p["from"], p["to"]) > 10000000:
            raise w.error(H + ("sessions",), "at most 10,000,000 sessions")
        p["ramp"] = c.choice(H + ("ramp",), p_in.get("ramp", "linear"),
                             ["linear", "exponential"])
        if p["ramp"] == "exponential" and min(p["from"], p["to"]) < 1:
            raise w.error(H + ("ramp",), "an exponential ramp needs sessions > 0 at both ends")
        p["measure"] = c.boolean(H + ("measure",), p_in.get("measure", True))
        wr_in = c.table(H, "writes", p_in.get("writes", {}), set(WRITES))
        p["writes"] = {k: c.number(H + ("writes", k), wr_in.get(k, 0), 0, 1e6) for k in WRITES}
        b_in = c.table(H, "burst", p_in.get("burst", {}),
                       {"every", "seconds", "posts", "celebrity_posts"})
        if b_in:
            B = H + ("burst",)
            for k in ("every", "seconds"):
                if k not in b_in:
                    raise w.error(B, "missing field: %s" % k)
            every = c.number(B + ("every",), b_in["every"], 0, 86400, lo_open=True)
            secs = c.number(B + ("seconds",), b_in["seconds"], 0, every, lo_open=True)
            p["burst"] = {"every": every, "seconds": secs,
                          "posts": c.number(B + ("posts",), b_in.get("posts", 0), 0, 1e6),
                          "celebrity_posts": c.number(B + ("celebrity_posts",),
                                                      b_in.get("celebrity_posts", 0), 0, 1e6)}
        else:
            p["burst"] = None
        p["ingest"] = c.boolean(H + ("ingest",), p_in.get("ingest", False))
        p["end_with_ingest"] = c.boolean(H + ("end_with_ingest",),
                                         p_in.get("end_with_ingest", False))
        if p["ingest"] and sc["ingest"] is None:
            raise w.error(H + ("ingest",), "the phase ingests but the scenario has no [ingest]")
        if p["end_with_ingest"] and not p["ingest"]:
            raise w.error(H + ("end_with_ingest",), "needs ingest = true in the same phase")
        celeb = p["writes"]["celebrity_posts"] or (p["burst"] or {}).get("celebrity_posts")
        if celeb and d["celebrities"] == 0:
            raise w.error(H + ("writes" if p["writes"]["celebrity_posts"] else "burst",
                               "celebrity_posts"),
                          "celebrity posts need celebrities (data.celebrities > 0)")
        if (p["writes"]["reposts"]) and d["posts"] == 0:
            raise w.error(H + ("writes", "reposts"), "reposts need posts (data.posts > 0)")
        phases.append(p)
    names = [p["name"] for p in phases]
    for i, n in enumerate(names):
        if names.index(n) != i:
            raise w.error(("phase", i + 1, "name"), "another phase has this name")
    sc["phase"] = phases
    return sc


# ------------------------------------------------------------------ env, plan

def cmd_check(args):
    sc = load(args.file, args.scale)
    secs = sum(p["seconds"] for p in sc["phase"])
    print("%s: ok: scenario '%s', %d users (%s), %d phases, %.0f s of traffic%s" % (
        args.file, sc["name"], sc["data"]["users"], sc["data"]["scale"], len(sc["phase"]),
        secs, ", an ingest of %d events" % sc["ingest"]["events"] if sc["ingest"] else ""))


def cmd_env(args):
    sc = load(args.file, args.scale, args.baseline)
    with open(args.json, "w") as f:
        json.dump(sc, f, indent=1)
    out = {"SC_NAME": sc["name"], "SC_SEED": sc["seed"], "SC_BASELINE": sc["baseline"]}
    for k, v in sc["data"].items():
        out["SC_" + k.upper()] = v
    for k, v in sc["server"].items():
        if k != "settings":
            out["SC_" + k.upper()] = v
    out["SC_SETTINGS"] = " ".join("%s=%s" % (k, shlex.quote(v))
                                  for k, v in sc["server"]["settings"].items())
    out["SC_TARGETS"] = sc["session"]["targets"]
    ing = sc["ingest"] or {}
    out["SC_INGEST_EVENTS"] = ing.get("events", 0)
    out["SC_INGEST_RATE"] = ing.get("rate", 0)
    out["SC_INGEST_BATCH"] = ing.get("batch", 0)
    out["SC_SECONDS"] = int(sum(p["seconds"] for p in sc["phase"]))
    for k, v in out.items():
        print("%s=%s" % (k, shlex.quote(str(v))))


def fmt(x):
    return ("%d" % x) if float(x).is_integer() else ("%.6g" % x)


def cmd_plan(args):
    with open(args.scenario) as f:
        sc = json.load(f)
    se = sc["session"]
    out = ["# dpload plan: scenario %s, the %s pass" % (sc["name"], args.pass_name),
           "conninfo " + args.conninfo,
           "label " + args.pass_name,
           "seed %d" % sc["seed"],
           "users %d" % sc["data"]["users"],
           "pool %d" % sc["server"]["pool"],
           "writers %d" % sc["server"]["writers"],
           "timeout_ms %d" % se["timeout_ms"],
           "think %s %s" % (se["think"], fmt(se["think_ms"])),
           "session_length %s" % fmt(se["length"]),
           "viewer_skew %s" % fmt(se["viewer_skew"]),
           "mix " + " ".join("%s %s" % (k, fmt(v)) for k, v in se["mix"].items()),
           "page %d" % se["page"],
           "next_page %s %d" % (fmt(se["next_page"]), se["max_pages"]),
           "targets " + args.targets,
           "celebrities " + args.celebrities]
    for name in READS + ["post", "repost", "follow", "unfollow", "block", "mute"]:
        out.append("stmt %s %s" % (name, os.path.join(args.sql_dir, name + ".sql")))
    if args.ingest_cmd:
        out.append("ingest_cmd " + args.ingest_cmd)
    for p in sc["phase"]:
        kv = ["name=" + p["name"], "seconds=" + fmt(p["seconds"]), "from=%d" % p["from"],
              "to=%d" % p["to"], "ramp=" + p["ramp"], "measure=%d" % p["measure"],
              "ingest=%d" % p["ingest"], "end_with_ingest=%d" % p["end_with_ingest"]]
        kv += ["%s=%s" % (k, fmt(v)) for k, v in p["writes"].items() if v]
        if p["burst"]:
            b = p["burst"]
            kv += ["burst_every=" + fmt(b["every"]), "burst_seconds=" + fmt(b["seconds"]),
                   "burst_posts=" + fmt(b["posts"]),
                   "burst_celebrity_posts=" + fmt(b["celebrity_posts"])]
        out.append("phase " + " ".join(kv))
    print("\n".join(out))


# -------------------------------------------------------------------- report

def pct(sorted_vals, q):
    """Nearest-rank percentile of a sorted list; None when empty."""
    if not sorted_vals:
        return None
    i = max(0, min(len(sorted_vals) - 1, math.ceil(q * len(sorted_vals)) - 1))
    return sorted_vals[i]


INGEST_LINES = re.compile(r"ingest: ([0-9,]+) lines")
INGEST_DONE = re.compile(r"ingest: done in ([0-9.]+) s: ([0-9,]+) lines")


class Pass:
    """One pass's log. Requests are kept as latencies (ms) in buckets by
    (the second they ended, the phase they ended in, kind), so that the
    per-second table, the phases and the windows are all read from one copy
    (a medium run logs millions of requests)."""

    def __init__(self, path):
        self.lat = {}         # (second, phase index, kind) -> [latency ms]
        self.bad = {}         # (second, phase index, kind) -> [errors, timeouts]
        self.sessions = {}    # second -> sessions
        self.queued = {}
        self.phases = []      # (start_s, name, measure)
        self.ingest = []      # (t_s, cumulative lines)
        self.ingest_started = self.ingest_exit = None
        self.ingest_done_s = self.ingest_total = None
        self.end = 0.0
        self.cpu = None       # CPU seconds dpload used
        self.ingest_cpu = None  # and its ingest command
        starts = []
        with open(path) as f:
            for line in f:
                x = line.rstrip("\n").split("\t")
                t = x[0]
                if t == "r":
                    done = int(x[2])
                    d = done / 1e6
                    ph = bisect.bisect_right(starts, d) - 1
                    key = (done // 1000000, ph, x[3])
                    v = self.lat.get(key)
                    if v is None:
                        v = self.lat[key] = []
                    v.append((done - int(x[1])) / 1000)
                    if x[5] != "0":
                        b = self.bad.setdefault(key, [0, 0])
                        b[0 if x[5] == "1" else 1] += 1
                elif t == "s":
                    # Written just after each second ends: it tells that second.
                    sec = max(0, round(int(x[1]) / 1e6) - 1)
                    self.sessions[sec] = int(x[2])
                    self.queued[sec] = int(x[3])
                elif t == "p":
                    self.phases.append((int(x[1]) / 1e6, x[3], x[4] == "1"))
                    starts.append(int(x[1]) / 1e6)
                elif t == "i":
                    ts = int(x[1]) / 1e6
                    text = x[2] if len(x) > 2 else ""
                    if text == "started":
                        self.ingest_started = ts
                        self.ingest.append((ts, 0))
                    elif text.startswith("exit") or text == "killed":
                        self.ingest_exit = (ts, text)
                    m = INGEST_DONE.search(text)
                    if m:
                        self.ingest_done_s = float(m.group(1))
                        self.ingest_total = int(m.group(2).replace(",", ""))
                        self.ingest.append((ts, self.ingest_total))
                    else:
                        m = INGEST_LINES.search(text)
                        if m:
                            self.ingest.append((ts, int(m.group(1).replace(",", ""))))
                elif t == "e":
                    self.end = int(x[1]) / 1e6
                    if len(x) >= 4:
                        self.cpu, self.ingest_cpu = float(x[2]), float(x[3])

    def phase_index(self, name):
        for i, p in enumerate(self.phases):
            if p[1] == name:
                return i
        return None

    def phase_seconds(self, i):
        end = self.phases[i + 1][0] if i + 1 < len(self.phases) else self.end
        return end - self.phases[i][0]

    def measured_phases(self):
        return [i for i, p in enumerate(self.phases) if p[2]]

    def select(self, kinds, phases=None, seconds=None):
        """Latencies (sorted), errors and timeouts of kinds, in these phase
        indexes and seconds (None: all)."""
        lat, err, tmo = [], 0, 0
        for key, v in self.lat.items():
            sec, ph, kind = key
            if kind in kinds and (phases is None or ph in phases) and \
                    (seconds is None or sec in seconds):
                lat.extend(v)
                b = self.bad.get(key)
                if b:
                    err += b[0]
                    tmo += b[1]
        lat.sort()
        return lat, err, tmo

    def per_second(self):
        """Rows of the per-second table (by the second a request ended; the
        last, partial second is left out)."""
        n = int(self.end)
        by_sec = [dict() for _ in range(n + 1)]
        ok = [dict() for _ in range(n + 1)]  # answered without error, by kind
        bad = [[0, 0] for _ in range(n + 1)]
        for key, v in self.lat.items():
            sec, ph, kind = key
            sec = min(sec, n)
            by_sec[sec].setdefault(kind, []).extend(v)
            b = self.bad.get(key, (0, 0))
            ok[sec][kind] = ok[sec].get(kind, 0) + len(v) - b[0] - b[1]
            bad[sec][0] += b[0]
            bad[sec][1] += b[1]
        # Events between two progress lines, spread evenly over the seconds
        # between them.
        ingest = {}
        for (t0, c0), (t1, c1) in zip(self.ingest, self.ingest[1:]):
            if t1 <= t0:
                continue
            rate = (c1 - c0) / (t1 - t0)
            for sec in range(int(t0), int(t1) + 1):
                overlap = min(t1, sec + 1) - max(t0, sec)
                if overlap > 0:
                    ingest[sec] = ingest.get(sec, 0) + rate * overlap
        rows = []
        for s in range(n):
            k = by_sec[s]
            row = {"t": s, "sessions": self.sessions.get(s, self.sessions.get(s - 1, 0)),
                   "queued": self.queued.get(s, 0)}
            o = ok[s]
            row["reads"] = sum(o.get(r, 0) for r in READS)
            for r in READS:
                row[r] = o.get(r, 0)
            row["writes"] = sum(o.get(WRITE_KIND[w], 0) for w in WRITES)
            for w in WRITES:
                row[WRITE_KIND[w]] = o.get(WRITE_KIND[w], 0)
            row["ingest_events"] = round(ingest.get(s, 0))
            row["errors"], row["timeouts"] = bad[s]
            for name, kinds in [("reads", READS)] + [(r, [r]) for r in READS]:
                v = sorted(x for r in kinds for x in k.get(r, []))
                for q, qn in ((0.5, "p50"), (0.99, "p99"), (0.999, "p999")):
                    row["%s_%s" % (name, qn)] = pct(v, q)
            rows.append(row)
        return rows

    def windows(self, kinds, width=WINDOW_S):
        """(start_s, mean sessions, p99 ms, requests) per window of `width` s
        in measured phases, by the second requests ended."""
        measured = set(self.measured_phases())
        by = {}
        for (sec, ph, kind), v in self.lat.items():
            if kind in kinds and ph in measured:
                by.setdefault(sec // width, []).extend(v)
        out = []
        for w in sorted(by):
            v = sorted(by[w])
            secs = [self.sessions[s] for s in range(w * width, (w + 1) * width)
                    if s in self.sessions]
            if len(v) >= 20 and secs:
                out.append((w * width, sum(secs) / len(secs), pct(v, 0.99), len(v)))
        return out

    def summary(self, kinds, phase=None):
        """Requests answered (n, and per second), p50/p99/p99.9 ms (of every
        request, those that failed or timed out included: users waited for
        them too), errors and timeouts of kinds in one phase (an index), or
        in every measured phase."""
        phases = self.measured_phases() if phase is None else [phase]
        lat, err, tmo = self.select(set(kinds), set(phases))
        span = sum(self.phase_seconds(i) for i in phases)
        ok = len(lat) - err - tmo
        return {"n": ok, "rate": ok / span if span > 0 else 0,
                "p50": pct(lat, 0.5), "p99": pct(lat, 0.99), "p999": pct(lat, 0.999),
                "errors": err, "timeouts": tmo}


def crossing(windows, limit=SATURATION_MS, hold=HOLD_WINDOWS):
    """The first window whose p99 is above `limit` and stays above for
    `hold` windows (or to the last): (start_s, sessions, p99), or None.
    With hold=1, the first window above at all."""
    for i, (t, s, p99, n) in enumerate(windows):
        if all(w[2] > limit for w in windows[i:i + hold]):
            return t, s, p99
    return None


def nearest(windows, sessions):
    """The window whose mean sessions is nearest `sessions` (ramps up: the
    first such)."""
    best = None
    for w in windows:
        if best is None or abs(w[1] - sessions) < abs(best[1] - sessions):
            best = w
    return best


def ms(x):
    if x is None:
        return "-"
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return "%.2f" % x


def write_tsv(rows, path):
    if not rows:
        open(path, "w").close()
        return
    cols = list(rows[0].keys())
    with open(path, "w") as f:
        f.write("\t".join(cols) + "\n")
        for r in rows:
            f.write("\t".join("NaN" if r[c] is None else
                              ("%.3f" % r[c] if isinstance(r[c], float) else str(r[c]))
                              for c in cols) + "\n")


def read_meta(path):
    meta = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "\t" in line:
                    k, v = line.rstrip("\n").split("\t", 1)
                    meta[k] = v
    return meta


def cmd_report(args):
    with open(args.scenario) as f:
        sc = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    meta = read_meta(os.path.join(args.run, "meta.tsv"))
    passes = {}
    for name in ("index", "baseline"):
        log = os.path.join(args.run, name + ".log")
        if os.path.exists(log):
            passes[name] = Pass(log)
            write_tsv(passes[name].per_second(), os.path.join(args.out, name + ".tsv"))
    report = render(sc, passes, meta, args)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(report)
    plots(sc, passes, args.out)
    print(report)


def render(sc, passes, meta, args):
    d, se, srv = sc["data"], sc["session"], sc["server"]
    base = "fan-in" if sc["baseline"] == "fan-in" else "lateral"
    L = []
    a = L.append
    a("# Scenario `%s`: the index against the %s SQL" % (sc["name"], base))
    a("")
    if sc["description"]:
        a(sc["description"].strip())
        a("")
    a("Generated by `%s` on %s (%s cores, %s, PostgreSQL %s); seed %d." % (
        meta.get("command", "bench/scenario"), meta.get("date", "?"), meta.get("cores", "?"),
        meta.get("memory", "?"), meta.get("pg_version", "?"), sc["seed"]))
    a("Both passes start from the same data (a copy of the loaded cluster's files, the index "
      "rebuilt at start-up, every table prewarmed into shared_buffers) and play the same plan; "
      "the baseline pass runs the %s SQL with the index's capture triggers disabled "
      "(what a deployment without the index runs on the same tables): DESIGN.md's reference "
      "queries, which filter blocks, mutes, moderation lists and inactive accounts in the "
      "statement, as the index does (inactive accounts through a partial index added for "
      "it), and Bluesky's getRelationships subqueries (`bench/lib.sh`, `bench/scenario`)."
      % base)
    if meta.get("answers_checked"):
        a("Before measuring, both sides were asked the same reads on the loaded data and "
          "gave the same answers (reads checked: %s)." % meta["answers_checked"])
    a("The machine is shared: how busy it was before and during each pass is at the end "
      "(\"The machine during the passes\").")
    if meta.get("settings"):
        a("Server settings: `%s`." % meta["settings"])
    if meta.get("huge_pages"):
        a("Shared memory in huge pages: %s." % meta["huge_pages"])
    a("")
    a("## Data")
    a("")
    a("| | |")
    a("| --- | --- |")
    a("| users | %d (scale `%s`) |" % (d["users"], d["scale"]))
    a("| follows | %s (log-normal out-degree, mean %s; Zipf popularity, the top account "
      "followed by %s of users%s) |" % (
          meta.get("follows", "?"), fmt(d["follows"]),
          "%.1f %%" % (100 * float(meta["top_followers"]) / d["users"])
          if meta.get("top_followers") else "?",
          "; %d celebrities followed by %.0f %% of users each" % (
              d["celebrities"], 100 * d["celebrity_followers"]) if d["celebrities"] else ""))
    a("| posts (replies) / reposts | %s (%s) / %s over %s weeks |" % (
        meta.get("posts", "?"), meta.get("replies", "?"), meta.get("reposts", "?"),
        fmt(d["weeks"])))
    a("| blocks / mutes | %s / %s |" % (meta.get("blocks", "?"), meta.get("mutes", "?")))
    a("| lists / list items / list blocks / list mutes | %s / %s / %s / %s |" % (
        meta.get("lists", "?"), meta.get("list_items", "?"), meta.get("list_blocks", "?"),
        meta.get("list_mutes", "?")))
    a("| inactive accounts (deactivated) | %s |" % meta.get("inactive", "?"))
    if meta.get("load_ms"):
        a("| load (COPY through the tables, index maintained) | %.1f s |" % (
            int(meta["load_ms"]) / 1000))
    if sc["ingest"]:
        i = sc["ingest"]
        a("| ingest during the plan | %d Jetstream events (jetgen, seed %d, %s events per "
          "second of stream time), `scripts/ingest --batch %d` |" % (
              i["events"], sc["seed"], fmt(i["rate"]), i["batch"]))
    a("")
    a("## Plan")
    a("")
    mix = se["mix"]
    total = sum(mix.values())
    a("Each session is one user: a closed loop of a request, its answer, a think time "
      "(%s, mean %s ms), for %s requests on average (then another user takes its place). "
      "A request is a timeline page (%.0f %%: the first page, then with chance %s the next "
      "one through the cursor, up to %d pages), an author feed (%.0f %%) or a profile view "
      "(%.0f %%: %s) of an account drawn Zipf-like from the %d most followed; "
      "pages of %d rows. Viewers are drawn Zipf-like (exponent %s). The sessions share a "
      "pool of %d connections (a request's latency includes its wait for one); "
      "a request that takes over %d ms fails (timeout). Writes go through %d connections "
      "of their own, open loop at the plan's rates." % (
          se["think"], fmt(se["think_ms"]),
          fmt(se["length"]) if se["length"] else "ever",
          100 * mix["timeline"] / total, fmt(se["next_page"]), se["max_pages"],
          100 * mix["author_feed"] / total, 100 * mix["profile"] / total,
          meta.get("profile_what", "the viewer's relationship to it and its known followers"),
          se["targets"], se["page"], fmt(se["viewer_skew"]), srv["pool"], se["timeout_ms"],
          srv["writers"]))
    a("")
    a("| phase | seconds | sessions | writes per second | measured |")
    a("| --- | ---: | --- | --- | --- |")
    for p in sc["phase"]:
        sess = "%d" % p["from"] if p["from"] == p["to"] else "%d → %d (%s)" % (
            p["from"], p["to"], p["ramp"])
        writes = ", ".join("%s %s" % (fmt(v), k) for k, v in p["writes"].items() if v)
        if p["burst"]:
            b = p["burst"]
            more = ", ".join("+%s %s" % (fmt(b[k]), k.replace("_", " "))
                             for k in ("posts", "celebrity_posts") if b[k])
            writes += "%sbursts of %s s every %s s: %s" % (
                "; " if writes else "", fmt(b["seconds"]), fmt(b["every"]), more or "nothing")
        if p["ingest"]:
            writes += "%sthe ingest%s" % ("; " if writes else "",
                                          " (the phase ends with it)" if p["end_with_ingest"]
                                          else "")
        a("| %s | %s | %s | %s | %s |" % (p["name"], fmt(p["seconds"]), sess, writes or "-",
                                          "yes" if p["measure"] else "no (warm-up)"))
    a("")
    ix, bl = passes.get("index"), passes.get("baseline")
    a("## Where each side saturates")
    a("")
    if ix and bl:
        a(saturation_text(ix, bl, base))
    else:
        a("(one pass only: nothing to compare)")
    a("")
    a("## Reads, by phase")
    a("")
    a("Requests answered per second and latency (ms, from the session asking to the last "
      "row, the wait for a pooled connection included; requests that timed out count with "
      "the time they waited), index / %s." % base)
    a("")
    a("| phase | request | per second | p50 | p99 | p99.9 | errors, timeouts |")
    a("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for p in sc["phase"]:
        if not p["measure"]:
            continue
        for kinds, label in [(READS, "all reads")] + [([k], k) for k in READS]:
            cells = []
            for ps in (ix, bl):
                i = ps.phase_index(p["name"]) if ps else None
                cells.append(ps.summary(kinds, i) if i is not None else None)
            if all(c is None or c["n"] == 0 for c in cells):
                continue

            def pair(key, f):
                return " / ".join(f(c[key]) if c else "-" for c in cells)
            a("| %s | %s | %s | %s | %s | %s | %s |" % (
                p["name"], label, pair("rate", lambda x: "%.0f" % x), pair("p50", ms),
                pair("p99", ms), pair("p999", ms),
                " / ".join("%d, %d" % (c["errors"], c["timeouts"]) if c else "-"
                           for c in cells)))
    a("")
    a("## Writes")
    a("")
    rows = []
    for w in WRITES:
        asked = sum(asked_writes(p, w) for p in sc["phase"] if p["measure"])
        cells = [ps.summary([WRITE_KIND[w]]) if ps else None for ps in (ix, bl)]
        if not asked and all(c is None or c["n"] == 0 for c in cells):
            continue
        rows.append("| %s | %.0f | %s | %s | %s | %s |" % (
            WRITE_KIND[w], asked,
            " / ".join("%d" % c["n"] if c else "-" for c in cells),
            " / ".join(ms(c["p50"]) if c else "-" for c in cells),
            " / ".join(ms(c["p99"]) if c else "-" for c in cells),
            " / ".join("%d" % c["errors"] if c else "-" for c in cells)))
    if rows:
        a("Over the measured phases, index / %s (the baseline's capture triggers are "
          "disabled); latency from when the write was due, ms." % base)
        a("")
        a("| write | asked | done | p50 | p99 | errors |")
        a("| --- | ---: | ---: | ---: | ---: | ---: |")
        L.extend(rows)
    else:
        a("No SQL writes in the plan.")
    if sc["ingest"]:
        a("")
        for name, ps in (("index", ix), (base, bl)):
            if not ps:
                continue
            if ps.ingest_done_s:
                a("Ingest, %s pass: %s events in %.1f s, %s events/s." % (
                    name, format(ps.ingest_total, ","), ps.ingest_done_s,
                    format(round(ps.ingest_total / ps.ingest_done_s), ",")))
            elif ps.ingest:
                t, c = ps.ingest[-1]
                a("Ingest, %s pass: stopped at the end of its phases after %s events." % (
                    name, format(c, ",")))
    a("")
    a("## The machine during the passes")
    a("")
    a("The load driver runs on the same %s cores as the server, and other people's work may "
      "too: the share of all cores each took (`/proc/stat`, the server's processes, "
      "`getrusage`)." % meta.get("cores", "?"))
    a("")
    a("| pass | others, 5 s before | load average before | during: the machine | the server "
      "| the driver | the ingest | the rest (others) |")
    a("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    cores = int(meta.get("cores", "1") or 1)
    for name, ps, key in (("index", ix, "index"), (base, bl, "baseline")):
        if not ps:
            continue
        cpu = meta.get("cpu_" + key, "").split()
        if len(cpu) == 3:
            busy, server, secs = (float(x) for x in cpu)
            drv = 100 * (ps.cpu or 0) / (secs * cores)
            ing = 100 * (ps.ingest_cpu or 0) / (secs * cores)
            rest = max(0.0, busy - server - drv - ing)
            waited = meta.get("waited_" + key)
            a("| %s | %s %%%s | %s | %.0f %% | %.0f %% | %.1f %% | %s | %.0f %% |" % (
                name, meta.get("others_before_" + key, "?"),
                " (after waiting %s s for it)" % waited if waited else "",
                meta.get("load_before_" + key, "?"),
                busy, server, drv, "%.1f %%" % ing if ps.ingest_cpu else "-", rest))
    a("")
    if meta.get("load_end"):
        a("Load average (`/proc/loadavg`: 1, 5, 15 minutes) at the end: %s." % meta["load_end"])
        a("")
    if meta.get("status_after"):
        a("## The index after its pass")
        a("")
        a("`dataplane.status()`: %s. `verify()` found %s differences." % (
            meta["status_after"], meta.get("verify_rows", "?")))
        a("")
    a("## Dashboards")
    a("")
    a("Per second, by the second a request ended; the index solid, the %s baseline dashed; "
      "grey lines mark phase starts." % base)
    a("")
    a("![sessions, requests and writes per second](dashboard.png)")
    a("")
    a("![latency by request kind](latency.png)")
    a("")
    a("![p99 against active sessions](saturation.png)")
    a("")
    a("Per-second tables: `index.tsv`, `baseline.tsv` (columns: sessions, requests and "
      "writes per second by kind, latency p50/p99/p99.9 in ms by kind).")
    a("")
    return "\n".join(L)


def asked_writes(p, w):
    """Writes of kind w (posts...) the phase asks for over its length, its
    bursts included (a burst is the last `seconds` of every `every`)."""
    n = p["writes"][w] * p["seconds"]
    b = p["burst"]
    if b and w in ("posts", "celebrity_posts") and b[w]:
        whole, rest = divmod(p["seconds"], b["every"])
        n += b[w] * (whole * b["seconds"] + max(0, rest - (b["every"] - b["seconds"])))
    return n


def peak_throughput(ps, width=WINDOW_S):
    """The window of the measured phases with the most reads answered:
    (start_s, mean sessions, reads per second), or None."""
    measured = set(ps.measured_phases())
    ok = {}
    for (sec, ph, kind), v in ps.lat.items():
        if kind in READS and ph in measured:
            b = ps.bad.get((sec, ph, kind), (0, 0))
            ok[sec // width] = ok.get(sec // width, 0) + len(v) - b[0] - b[1]
    best = None
    for w, n in ok.items():
        secs = [ps.sessions[s] for s in range(w * width, (w + 1) * width) if s in ps.sessions]
        if len(secs) == width and (best is None or n > best[2] * width):
            best = (w * width, sum(secs) / width, n / width)
    return best


def saturation_text(ix, bl, base):
    out = []
    for kinds, what in ((READS, "all reads"), (["timeline"], "first timeline pages")):
        wb, wi = bl.windows(kinds), ix.windows(kinds)
        cb, ci = crossing(wb), crossing(wi)
        fb = crossing(wb, hold=1)
        top_i = max(wi, key=lambda w: w[1]) if wi else None
        if cb:
            near = nearest(wi, cb[1])
            line = ("- %s: the %s baseline's p99 crosses %d ms at **%.0f sessions** "
                    "(p99 %s ms in the %d s from t = %d s" % (
                        what.capitalize(), base, SATURATION_MS, cb[1], ms(cb[2]), WINDOW_S,
                        cb[0]))
            if fb and fb[0] < cb[0]:
                line += ("; it first went over %d ms at %.0f sessions, %s ms, for less "
                         "than %d s" % (SATURATION_MS, fb[1], ms(fb[2]),
                                        WINDOW_S * HOLD_WINDOWS))
            line += ")"
            if near:
                line += "; the index at the same point (%.0f sessions): p99 **%s ms**" % (
                    near[1], ms(near[2]))
        else:
            mb = max(wb, key=lambda w: w[2]) if wb else None
            line = "- %s: the %s baseline's p99 stays under %d ms%s" % (
                what.capitalize(), base, SATURATION_MS,
                " (highest %s ms, at %.0f sessions)" % (ms(mb[2]), mb[1]) if mb else "")
        if ci:
            line += "; the index's p99 crosses %d ms at %.0f sessions (t = %d s)." % (
                SATURATION_MS, ci[1], ci[0])
        elif top_i:
            mi = max(wi, key=lambda w: w[2])
            line += ("; the index's p99 stays under %d ms up to %.0f sessions (highest %s ms, "
                     "at %.0f sessions)." % (SATURATION_MS, top_i[1], ms(mi[2]), mi[1]))
        else:
            line += "."
        out.append(line)
    peaks = []
    for name, ps in (("the index", ix), ("the %s baseline" % base, bl)):
        best = peak_throughput(ps)
        if best:
            peaks.append("%s at most %s reads per second (at %.0f sessions, t = %d s)" % (
                name, format(round(best[2]), ","), best[1], best[0]))
    if peaks:
        out.append("- Throughput (reads answered, over %d-second windows): %s." % (
            WINDOW_S, "; ".join(peaks)))
    out.append("")
    out.append("(p99 over %d-second windows of the measured phases, by the second requests "
               "ended; a crossing counts when the p99 stays above for %d s, or to the end.)"
               % (WINDOW_S, WINDOW_S * HOLD_WINDOWS))
    return "\n".join(out)


def plots(sc, passes, out):
    try:
        subprocess.run(["gnuplot", "--version"], check=True, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        print("(gnuplot missing: no dashboards)", file=sys.stderr)
        return
    ref = passes.get("index") or passes.get("baseline")
    if ref is None:
        return
    marks = ["%.1f" % p[0] for p in ref.phases[1:]]
    with open(os.path.join(out, "index.tsv" if "index" in passes else "baseline.tsv")) as f:
        header = f.readline()
    files, temp = [], []
    for name in ("index", "baseline"):
        path = os.path.join(out, name + ".tsv")
        if name not in passes:  # --only: the other pass, without rows
            path = os.path.join(out, ".%s-empty.tsv" % name)
            with open(path, "w") as f:
                f.write(header)
            temp.append(path)
        files.append(path)
    for name in ("index", "baseline"):
        path = os.path.join(out, ".%s-windows.tsv" % name)
        with open(path, "w") as f:
            f.write("t\tsessions\tp99\trequests\n")
            for r in (passes[name].windows(READS) if name in passes else []):
                f.write("%d\t%.1f\t%.3f\t%d\n" % r)
        files.append(path)
        temp.append(path)
    ingest = any(p["ingest"] for p in sc["phase"])
    # An exponential ramp reads best on a log scale (a straight line).
    log = any(p["ramp"] == "exponential" and p["from"] != p["to"] for p in sc["phase"])
    base = "fan-in" if sc["baseline"] == "fan-in" else "lateral"
    r = subprocess.run(["gnuplot", "-c", os.path.join(HERE, "scenario.gp")] + files +
                       [out, "scenario %s" % sc["name"], base, " ".join(marks),
                        " ".join(f for f, on in (("ingest", ingest), ("log", log)) if on)],
                       stderr=subprocess.PIPE, text=True)
    for path in temp:
        os.unlink(path)
    # gnuplot warns about series without points (a pass left out, a kind
    # the plan never asks): only failures matter.
    if r.returncode != 0:
        print("gnuplot failed:\n" + r.stderr, file=sys.stderr)


# -------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(prog="bench/scenario.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check")
    p.add_argument("file")
    p.add_argument("--scale", choices=list(SCALES))
    p = sub.add_parser("env")
    p.add_argument("file")
    p.add_argument("--scale", choices=list(SCALES))
    p.add_argument("--baseline", choices=["fan-in", "lateral"])
    p.add_argument("--json", required=True)
    p = sub.add_parser("plan")
    p.add_argument("scenario")
    p.add_argument("pass_name", choices=["index", "baseline"])
    p.add_argument("--conninfo", required=True)
    p.add_argument("--sql-dir", required=True)
    p.add_argument("--targets", required=True)
    p.add_argument("--celebrities", default="")
    p.add_argument("--ingest-cmd", default="")
    p = sub.add_parser("report")
    p.add_argument("scenario")
    p.add_argument("run")
    p.add_argument("out")
    args = ap.parse_args()
    try:
        {"check": cmd_check, "env": cmd_env, "plan": cmd_plan, "report": cmd_report}[args.cmd](args)
    except ScenarioError as e:
        print(e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
