#!/usr/bin/python3
"""Tests scripts/ingest against a stub of dataplane.ingest_jetstream in a
throwaway cluster: every line sent exactly once, in order, in batches of
the size asked, through psycopg 3 and through psycopg2; .zst (python3-
zstandard and the zstd command), standard input; retries on 40P01, 40001
and a lost connection; a stop on any other error and a resume with --skip;
bytes that are not UTF-8 and NUL bytes; progress lines and the summary.

The stub exists only here: it appends the lines it is given to a table and
returns the largest time_us among them. PostgreSQL refuses root, so as
root the cluster runs as the postgres OS user. Ends with "N passed, N
failed"; exits 77 (skipped) without psycopg2 or PostgreSQL 15's programs.
"""

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "scripts", "ingest")

try:
    import psycopg2
except ImportError:
    print("SKIP: python3-psycopg2 is missing (apt-get install python3-psycopg2)")
    sys.exit(77)


def pg_bindir():
    pg_config = os.environ.get("PG_CONFIG", "/usr/lib/postgresql/15/bin/pg_config")
    try:
        return subprocess.run([pg_config, "--bindir"], check=True, stdout=subprocess.PIPE,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


STUB = r"""
CREATE SCHEMA dataplane;
CREATE SEQUENCE stub_attempt;
CREATE TABLE stub_call (id serial PRIMARY KEY, lines int NOT NULL DEFAULT 0, cursor bigint);
CREATE TABLE stub_line (seq bigserial PRIMARY KEY, call int NOT NULL, line text NOT NULL);
-- stub_fail: the attempt numbers that fail, with a SQLSTATE, 'kill' (the
-- backend terminates itself) or 'commit' (its COMMIT fails with 40001).
CREATE TABLE stub_fail (attempt bigint PRIMARY KEY, sqlstate text NOT NULL);
CREATE TABLE stub_commit_fails (attempt bigint);
CREATE FUNCTION stub_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stub commit failure' USING ERRCODE = '40001';
END $$;
CREATE CONSTRAINT TRIGGER stub_commit_fails AFTER INSERT ON stub_commit_fails
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION stub_fail_commit();
-- As the real function, it holds a lock until its transaction ends, so
-- that batches apply one after the other.
CREATE FUNCTION dataplane.ingest_jetstream(events text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    a bigint;
    f text;
    c int;
    mx bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(42);
    a := nextval('stub_attempt');
    PERFORM pg_sleep(coalesce(nullif(current_setting('stub.sleep', true), ''), '0')::float8);
    SELECT sqlstate INTO f FROM stub_fail WHERE attempt = a;
    IF f = 'commit' THEN
        INSERT INTO stub_commit_fails VALUES (a);
    ELSIF f = 'kill' THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
        PERFORM pg_sleep(5);
    ELSIF f IS NOT NULL THEN
        RAISE EXCEPTION 'stub failure at attempt %', a USING ERRCODE = f;
    END IF;
    INSERT INTO stub_call DEFAULT VALUES RETURNING id INTO c;
    INSERT INTO stub_line (call, line)
        SELECT c, l FROM unnest(string_to_array(events, E'\n')) WITH ORDINALITY AS t(l, n)
         WHERE btrim(l, E' \t\r') <> '' ORDER BY n;
    SELECT max(substring(l FROM '"time_us":\s*([0-9]+)')::bigint) INTO mx
      FROM unnest(string_to_array(events, E'\n')) AS l;
    UPDATE stub_call SET lines = (SELECT count(*) FROM stub_line WHERE call = c), cursor = mx
     WHERE id = c;
    RETURN mx;
END $$;
"""


class Cluster:
    """A throwaway cluster on a Unix socket in its own directory."""

    def __init__(self, bindir):
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="ingest_tool_test.")
        self.as_pg = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_pg = ["runuser", "-u", "postgres", "--"]
        self.port = 5432
        data = os.path.join(self.dir, "data")
        self.run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        with open(os.path.join(data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = ''\nunix_socket_directories = '%s'\nport = %d\n"
                    "fsync = off\n" % (self.dir, self.port))
        self.run("pg_ctl", "-D", data, "-l", os.path.join(self.dir, "server.log"), "-w",
                 "-t", "60", "start")
        self.dsn = "host=%s port=%d user=postgres dbname=postgres" % (self.dir, self.port)

    def run(self, prog, *args):
        subprocess.run(self.as_pg + [os.path.join(self.bindir, prog), *args], check=True,
                       stdout=subprocess.DEVNULL)

    def stop(self):
        try:
            self.run("pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "immediate", "-w",
                     "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def make_lines(n):
    """n Jetstream-like lines with blank lines, escapes and UTF-8 among them."""
    out = []
    for i in range(n):
        if i % 500 == 250:
            out.append("")
            continue
        if i % 700 == 3:
            out.append('{"did":"did:plc:broken",,}')  # malformed, no time_us
            continue
        coll = ("app.bsky.feed.like", "app.bsky.feed.post", "app.bsky.graph.follow")[i % 3]
        out.append('{"did":"did:plc:%024d","time_us":%d,"kind":"commit","commit":{"rev":"3l3qo2vutsw2b",'
                   '"operation":"create","collection":"%s","rkey":"3l3qo2vuowo2b","record":'
                   '{"text":"it\'s \\"%d\\" \\\\ déjà 🦋"},"cid":"bafyreid"}}'
                   % (i, 1725494400000000 + i * 7, coll, i))
    return out


def tool(*args, stdin=None, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([sys.executable, TOOL, *args], input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=e)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def main():
    bindir = pg_bindir()
    if not bindir or not os.path.exists(os.path.join(bindir, "initdb")):
        print("SKIP: PostgreSQL 15's programs are missing (set PG_CONFIG)")
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="ingest_tool_files.")
    os.chmod(work, 0o755)
    cluster = Cluster(bindir)
    try:
        conn = psycopg2.connect(cluster.dsn)
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute(STUB)

        def reset(fail=()):
            cur.execute("TRUNCATE stub_line, stub_call, stub_fail RESTART IDENTITY;"
                        "ALTER SEQUENCE stub_attempt RESTART")
            for attempt, state in fail:
                cur.execute("INSERT INTO stub_fail VALUES (%s, %s)", (attempt, state))

        def received():
            cur.execute("SELECT line FROM stub_line ORDER BY seq")
            return [r[0] for r in cur.fetchall()]

        def calls():
            cur.execute("SELECT lines, cursor FROM stub_call ORDER BY id")
            return cur.fetchall()

        lines = make_lines(2537)
        want = [l for l in lines if l.strip()]
        max_t = max(int(m.group(1)) for l in lines for m in [re.search(r'"time_us":(\d+)', l)] if m)
        plain = os.path.join(work, "events.jsonl")
        with open(plain, "w") as f:
            f.write("\n".join(lines))  # no newline after the last line
        zst = plain + ".zst"
        subprocess.run(["zstd", "-q", "-f", plain, "-o", zst], check=True)

        # A directory whose modules hide others: psycopg (to test the
        # psycopg2 path), zstandard (to test the zstd command).
        hide = {}
        for module in ("psycopg", "zstandard"):
            d = os.path.join(work, "hide_" + module)
            os.mkdir(d)
            with open(os.path.join(d, module + ".py"), "w") as f:
                f.write("raise ImportError('hidden by the test')\n")
            hide[module] = {"PYTHONPATH": d}
        drivers = [("psycopg2", hide["psycopg"])]
        try:
            import psycopg  # noqa: F401
            drivers.insert(0, ("psycopg 3", None))
        except ImportError:
            print("note: python3-psycopg is missing; only the psycopg2 path is tested")

        for driver, env in drivers:
            # Every line once, in order, in batches of 100.
            reset()
            rc, err = tool(plain, "--db", cluster.dsn, "--batch", "100", env=env)
            check(rc == 0, "%s: exit 0 (%d): %s" % (driver, rc, err))
            check(received() == want, "%s: every line once, in order" % driver)
            c = calls()
            check(len(c) == 26 and all(n <= 100 for n, _ in c),
                  "%s: 26 batches of at most 100 lines" % driver)
            check(c and c[-1][1] == max_t, "%s: the last batch returns the last time_us" % driver)
            check("done in" in err and "2,537 lines" in err and "cursor %d" % max_t in err,
                  "%s: summary: lines and cursor: %s" % (driver, err))

            # Deadlock, serialization failure and a lost connection are retried.
            reset([(3, "40P01"), (4, "40001"), (8, "kill")])
            rc, err = tool(plain, "--db", cluster.dsn, "--batch", "100", env=env)
            check(rc == 0, "%s: retries: exit 0: %s" % (driver, err))
            check(received() == want, "%s: retries: every line exactly once, in order" % driver)
            check("3 retries" in err, "%s: retries: three counted: %s" % (driver, err))
            check("40P01" in err and "40001" in err and "connection lost" in err,
                  "%s: retries: each logged: %s" % (driver, err))

            # A COMMIT that fails is retried, in order.
            reset([(2, "commit"), (9, "commit"), (10, "kill")])
            rc, err = tool(plain, "--db", cluster.dsn, "--batch", "100", env=env)
            check(rc == 0 and received() == want,
                  "%s: failed commits: every line exactly once, in order: %s" % (driver, err))
            check(len(calls()) == 26, "%s: failed commits: 26 batches committed" % driver)

            # Bytes that are not UTF-8, and NUL bytes (libpq would cut a text
            # parameter at the first NUL): replaced by U+FFFD.
            odd = os.path.join(work, "odd.jsonl")
            with open(odd, "wb") as f:
                f.write(b'{"time_us":7,"x":"\xff\xfe"}\n{"time_us":6}\n'
                        b'{"did":"did:plc:x\x00y","time_us":5}\n')
            reset()
            rc, err = tool(odd, "--db", cluster.dsn, "--batch", "2", env=env)
            check(rc == 0 and received() == ['{"time_us":7,"x":"\ufffd\ufffd"}', '{"time_us":6}',
                                             '{"did":"did:plc:x\ufffdy","time_us":5}'],
                  "%s: bad bytes replaced: %s %r" % (driver, err, received()))
            check(calls() == [(2, 7), (1, 5)], "%s: two batches, cursors 7 and 5" % driver)
            if env is None:
                check("1 batches cleaned of bad bytes" in err,
                      "psycopg 3: the batch the server refused went again, cleaned: " + err)

        # .zst through python3-zstandard, then through the zstd command.
        for how, env in (("zstandard", None), ("zstd command", hide["zstandard"])):
            reset()
            rc, err = tool(zst, "--db", cluster.dsn, "--batch", "1000", env=env)
            check(rc == 0 and received() == want, ".zst via %s: every line once (%s)" % (how, err))
            check(len(calls()) == 3, ".zst via %s: 3 batches" % how)

        # Standard input.
        reset()
        rc, err = tool("-", "--db", cluster.dsn, "--batch", "999",
                       stdin=("\n".join(lines) + "\n").encode())
        check(rc == 0 and received() == want, "standard input: every line once")

        # Another error stops the run; --skip resumes it.
        reset([(5, "22023")])
        rc, err = tool(plain, "--db", cluster.dsn, "--batch", "100")
        check(rc == 1, "a non-retryable error: exit 1")
        check("SQLSTATE 22023" in err and "resume with --skip 400" in err,
              "the error and how to resume: " + err)
        check(received() == [l for l in lines[:400] if l.strip()],
              "the 400 lines before the error committed")
        cur.execute("TRUNCATE stub_fail")
        rc, err = tool(plain, "--db", cluster.dsn, "--batch", "100", "--skip", "400")
        check(rc == 0 and received() == want, "resumed with --skip: every line once, in order")

        # Progress lines, and --records.
        reset()
        rc, err = tool(plain, "--db", cluster.dsn, "--batch", "200", "--interval", "0.05",
                       "--records", env={"PGOPTIONS": "-c stub.sleep=0.03"})
        progress = [l for l in err.splitlines() if l.startswith("ingest: ") and "lines/s" in l
                    and "done" not in l]
        check(rc == 0 and len(progress) >= 3, "progress lines (%d)" % len(progress))
        pat = re.compile(r"^ingest: [\d,]+ lines \(\d+\.\d %\), [\d,]+ lines/s, [\d.]+ MB "
                         r"\([\d.]+ MB/s\), [\d,]+ records \([\d,]+/s overall\), cursor \d+ "
                         r"\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\), \d+ batches, \d+ retries$")
        check(progress and all(pat.match(l) for l in progress), "progress format: %r" % progress[:2])
        indexed = sum(1 for l in want if "app.bsky.feed.post" in l or "app.bsky.graph.follow" in l)
        check("%s records" % format(indexed, ",") in err.splitlines()[-1],
              "--records counts posts and follows (%d): %s" % (indexed, err.splitlines()[-1]))

        # An empty file.
        empty = os.path.join(work, "empty.jsonl")
        open(empty, "w").close()
        reset()
        rc, err = tool(empty, "--db", cluster.dsn)
        check(rc == 0 and calls() == [] and "cursor none" in err, "an empty file: " + err)

        # Bad arguments and a missing file.
        rc, err = tool(plain, "--batch", "0")
        check(rc == 2, "--batch 0 is refused")
        rc, err = tool(os.path.join(work, "missing.jsonl"), "--db", cluster.dsn)
        check(rc == 2 and "No such file" in err, "a missing file: " + err)
        conn.close()
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
