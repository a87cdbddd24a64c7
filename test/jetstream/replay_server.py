#!/usr/bin/python3
"""A local Jetstream-compatible WebSocket server that replays a file.

    replay_server.py FILE [--host 127.0.0.1] [--port 0] [--rate N]
                          [--close-after N] [--close-random P] [--abort]
                          [--close-at-end] [--fragment BYTES] [--seed S]
                          [--cert PEM --key PEM]

FILE holds Jetstream events, one JSON object per line (.zst files are read
through the zstd command). A client connects to ws://HOST:PORT/subscribe
with Jetstream's query parameters:

  wantedCollections  repeated; commit events of other collections are not
                     sent (NSID prefixes like app.bsky.graph.* work);
                     account and identity events always are, as Jetstream
                     does; lines whose collection cannot be read are sent
  cursor             time_us to start from: the replay starts at the first
                     line whose time_us is >= cursor and goes on in file
                     order from there; without a cursor, from the start
  compress, wantedDids, maxMessageSizeBytes, requireHello: not supported
                     (logged and ignored)

Each event is one text message. --rate sends N events per second (0, the
default, as fast as the client takes them). To exercise reconnects, a
connection can be closed after --close-after events or, event by event,
with probability --close-random; --abort drops the TCP connection without
a WebSocket close frame instead of closing with 1001 "going away". At the
end of the file the connection stays open and idle, as a live tail with
nothing new would, unless --close-at-end. --fragment splits every message
into frames of at most BYTES bytes (to test a client's reassembly).
With --cert and --key the server speaks TLS (wss://).

The first line on stdout is "READY port=PORT" once the server listens (use
--port 0 for a free port); everything else is logged to stderr, one line
per connection event. The server runs until SIGINT or SIGTERM.

Needs python3-websockets (Debian's 10.4); nothing else beyond the standard
library.
"""

import argparse
import asyncio
import logging
import random
import re
import signal
import ssl
import subprocess
import sys
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import websockets

log = logging.getLogger("replay")

# Fields are read with regular expressions rather than a JSON parser: the
# server must also replay malformed lines, and it is faster.
TIME_US = re.compile(rb'"time_us":\s*(\d+)')
KIND = re.compile(rb'"kind":\s*"([a-z]+)"')
COLLECTION = re.compile(rb'"collection":\s*"([^"]+)"')


def load_lines(path):
    """All non-blank lines of the file, as bytes without their newline."""
    if path.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", path], check=True, stdout=subprocess.PIPE).stdout
    else:
        with open(path, "rb") as f:
            data = f.read()
    return [line for line in data.split(b"\n") if line.strip()]


def time_us_of(line):
    m = TIME_US.search(line)
    return int(m.group(1)) if m else None


def wanted(line, collections):
    """Would Jetstream send this line to a client that wants `collections`?"""
    if not collections:
        return True
    kind = KIND.search(line)
    if kind and kind.group(1) != b"commit":
        return True  # account and identity events go to everyone
    m = COLLECTION.search(line)
    if not m:
        return True  # unreadable: let the client see it
    name = m.group(1).decode("utf-8", "replace")
    for c in collections:
        if c == name or (c.endswith(".*") and name.startswith(c[:-1])):
            return True
    return False


def start_index(lines, cursor):
    """Index of the first line with time_us >= cursor (0 without a cursor)."""
    if cursor is None:
        return 0
    for i, line in enumerate(lines):
        t = time_us_of(line)
        if t is not None and t >= cursor:
            return i
    return len(lines)


class Replayer:
    def __init__(self, args, lines):
        self.args = args
        self.lines = lines
        self.rng = random.Random(args.seed)
        self.connections = 0

    async def check_path(self, path, headers):
        """Refuse anything but /subscribe with 404, as Jetstream does."""
        if urlsplit(path).path != "/subscribe":
            log.info("refused %s: not /subscribe", path)
            return HTTPStatus.NOT_FOUND, [], b"not found\n"
        return None

    async def handler(self, ws, path=None):
        self.connections += 1
        conn = self.connections
        query = parse_qs(urlsplit(ws.path).query)
        collections = query.get("wantedCollections", [])
        cursor = None
        if "cursor" in query:
            try:
                cursor = int(query["cursor"][0])
            except ValueError:
                await ws.close(1008, "bad cursor")
                log.info("conn %d: bad cursor %r, closed", conn, query["cursor"][0])
                return
        for ignored in ("compress", "wantedDids", "maxMessageSizeBytes", "requireHello"):
            if ignored in query:
                log.info("conn %d: %s not supported, ignored", conn, ignored)
        first = start_index(self.lines, cursor)
        log.info("conn %d from %s: cursor=%s collections=%s -> starting at line %d of %d",
                 conn, ws.remote_address, cursor, collections, first + 1, len(self.lines))
        reader = asyncio.ensure_future(self.drain(ws, conn))
        sent = [0]  # events sent so far, kept when the client goes mid-way
        why = "end of file"
        try:
            why = await self.send_from(ws, first, collections, sent)
            if why == "end of file" and not self.args.close_at_end:
                log.info("conn %d: end of file after %d events; idle", conn, sent[0])
                await ws.wait_closed()
                why = "client closed (%s)" % (ws.close_code,)
            elif why == "abort":
                ws.transport.abort()
            else:
                await ws.close(1001, why)
        except websockets.ConnectionClosed as e:
            why = "client closed (%s)" % (e.code,)
        finally:
            reader.cancel()
        log.info("conn %d: done, %d events sent, %s", conn, sent[0], why)

    async def send_from(self, ws, first, collections, sent):
        """Sends lines from `first` on, counting them in sent[0]; returns why
        it stopped."""
        args = self.args
        interval = 1.0 / args.rate if args.rate > 0 else 0.0
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        for line in self.lines[first:]:
            if not wanted(line, collections):
                continue
            text = line.decode("utf-8", "replace")
            if args.fragment > 0 and len(text) > args.fragment:
                await ws.send([text[i:i + args.fragment] for i in range(0, len(text), args.fragment)])
            else:
                await ws.send(text)
            sent[0] += 1
            if args.close_after and sent[0] >= args.close_after:
                return "abort" if args.abort else "close after %d events" % sent[0]
            if args.close_random and self.rng.random() < args.close_random:
                return "abort" if args.abort else "random close"
            if interval:
                next_at += interval
                delay = next_at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
        return "end of file"

    async def drain(self, ws, conn):
        """Reads (and logs) what the client sends: options updates, heartbeats."""
        try:
            async for msg in ws:
                log.info("conn %d: client sent %r (ignored)", conn, msg[:200])
        except websockets.ConnectionClosed:
            pass


async def serve(args):
    lines = load_lines(args.file)
    replayer = Replayer(args, lines)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
    async with websockets.serve(replayer.handler, args.host, args.port, ssl=tls,
                                process_request=replayer.check_path, compression=None,
                                max_size=2 ** 20, ping_interval=None,
                                close_timeout=1) as server:
        port = server.sockets[0].getsockname()[1]
        log.info("serving %d lines of %s on %s://%s:%d/subscribe", len(lines), args.file,
                 "wss" if tls else "ws", args.host, port)
        print("READY port=%d" % port, flush=True)
        await stop
    log.info("stopped after %d connections", replayer.connections)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--rate", type=float, default=0, help="events per second (0: no limit)")
    p.add_argument("--close-after", type=int, default=0, help="close each connection after N events")
    p.add_argument("--close-random", type=float, default=0.0,
                   help="probability, per event sent, of closing the connection")
    p.add_argument("--abort", action="store_true", help="drop TCP instead of a close frame")
    p.add_argument("--close-at-end", action="store_true", help="close at the end of the file")
    p.add_argument("--fragment", type=int, default=0, help="split messages into frames of BYTES")
    p.add_argument("--seed", type=int, default=1, help="seed of --close-random")
    p.add_argument("--cert", help="PEM certificate: serve wss://")
    p.add_argument("--key", help="PEM private key of --cert")
    args = p.parse_args()
    if bool(args.cert) != bool(args.key):
        p.error("--cert and --key go together")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s replay_server: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
