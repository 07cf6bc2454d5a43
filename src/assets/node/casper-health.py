#!/usr/bin/env python3
"""Casper node health endpoint: healthy means in sync.

Serves GET /healthz (port 8889 by default) for a load balancer's health
check. The answer is 200 only when all of these hold:

- the node's REST status answers, with a reactor state of KeepUp (or
  Validate, see SYNCED_STATES);
- its newest block is younger than --max-block-age-seconds;
- it has at least --min-peers peers;
- with --rpc-url (networks that run the sidecar), the sidecar's JSON-RPC
  answers info_get_status with a result.

Otherwise 503. Either way the body is one line of JSON: on 200
{"healthy":true,"reactor_state":...,"block_age_seconds":...,"peers":...},
on 503 {"healthy":false,"reason":"..."}. Any other path is 404, any other
method 405. Each verdict is kept for --cache-seconds, so the health checks of
several load balancer nodes arriving together cost the node one /status
request; requests that arrive while a verdict is being made wait for it.

Python 3.10 standard library only (Ubuntu 22.04): RFC 3339 timestamps are
parsed here because datetime.fromisoformat in 3.10 rejects "Z" and fractions
that are not 3 or 6 digits. Every option defaults to a CASPER_HEALTH_*
environment variable (set by /etc/casper-health.env).

Exit codes: runs until stopped; 2 on bad options, 1 when the port cannot be bound.
"""

import argparse
import http.client
import http.server
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# Nothing is written beside the script (no __pycache__ in /usr/local/sbin, nor in
# the source tree when the tests run it).
sys.dont_write_bytecode = True
# Shipped beside this script (the first place Python looks). SYNCED_STATES is
# the collector's too, so Synced = 1 and healthy agree.
from casper_status import MAX_BODY_BYTES, RPC_STATUS_REQUEST, SYNCED_STATES, add_status_url, describe_error, env_parser, parse_now, parse_rfc3339

DEFAULT_BIND = "0.0.0.0"  # the load balancer reaches the instance from its subnets
DEFAULT_PORT = 8889
DEFAULT_MAX_BLOCK_AGE_SECONDS = 600
DEFAULT_MIN_PEERS = 3
# The time budget. A load balancer gives a health check a few seconds before
# it counts it as failed, so the whole answer must come well before that:
# each request (status, then RPC) may take TIMEOUT, and whatever happens the
# answer leaves within DEADLINE (about 4 s at most), with a 503 saying the
# checks took too long when they did.
DEFAULT_TIMEOUT_SECONDS = 1.5
DEFAULT_DEADLINE_SECONDS = 3.5
DEFAULT_CACHE_SECONDS = 2.0
HEALTH_PATH = "/healthz"




def unhealthy(reason):
    return False, {"healthy": False, "reason": reason}


def verdict(status, rpc_problem, now, max_block_age_seconds, min_peers):
    """(healthy, body) for one look at the node. Pure: no I/O, no clock.

    status is the node's /status object (a dict), or a str saying why it
    could not be read. rpc_problem is None when the sidecar's RPC answered or
    is not checked, else why it did not. now is epoch seconds.
    """
    if isinstance(status, str):
        return unhealthy(status)
    if not isinstance(status, dict):
        return unhealthy("status: not a JSON object")
    state = status.get("reactor_state")
    if not isinstance(state, str):
        return unhealthy("status: no reactor_state")
    if state not in SYNCED_STATES:
        return unhealthy(f"reactor state is {state}, not KeepUp or Validate")
    block = status.get("last_added_block_info")
    if block is None:
        return unhealthy("no block yet (last_added_block_info is null)")
    if not isinstance(block, dict):
        return unhealthy("bad last_added_block_info: not an object")
    try:
        # Whole seconds (of the age in ms, so float noise cannot take one off);
        # a block from the future (clock skew) is new.
        age = max(0, int(round(now - parse_rfc3339(block.get("timestamp")), 3)))
    except ValueError as e:
        return unhealthy(f"bad last_added_block_info: {e}")
    if age >= max_block_age_seconds:
        return unhealthy(f"newest block is {age} s old, not younger than {max_block_age_seconds} s")
    peers = status.get("peers")
    if not isinstance(peers, (list, dict)):
        return unhealthy("status: no peers list")
    if len(peers) < min_peers:
        return unhealthy(f"{len(peers)} peers, fewer than {min_peers}")
    if rpc_problem is not None:
        return unhealthy(f"sidecar RPC: {rpc_problem}")
    return True, {"healthy": True, "reactor_state": state, "block_age_seconds": age, "peers": len(peers)}


def request(url, timeout, data=None):
    """(JSON value, None) of an answer, or (None, why not)."""
    # Local URLs: never through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = {"Content-Type": "application/json"} if data is not None else {}
    try:
        with opener.open(urllib.request.Request(url, data=data, headers=headers), timeout=timeout) as resp:
            body = resp.read(MAX_BODY_BYTES)
    except urllib.error.HTTPError as e:
        return None, f"HTTP {e.code}"
    except (OSError, http.client.HTTPException, ValueError) as e:
        return None, describe_error(e, timeout)
    try:
        return json.loads(body), None
    except ValueError as e:  # also UnicodeDecodeError
        return None, f"invalid JSON: {e}"


def read_status(url, timeout):
    """The node's status object, or a str saying why there is none."""
    status, problem = request(url, timeout)
    if problem:
        return f"status: {problem}"
    return status if isinstance(status, dict) else "status: not a JSON object"


def check_rpc(url, timeout):
    """None when info_get_status gets a JSON-RPC result, else why not."""
    answer, problem = request(url, timeout, RPC_STATUS_REQUEST)
    if problem:
        return problem
    if not isinstance(answer, dict):
        return "the answer is not a JSON object"
    error = answer.get("error")
    if error is not None:
        if isinstance(error, dict):
            return f"JSON-RPC error {error.get('code')}: {error.get('message')}"
        return f"JSON-RPC error: {error}"
    if not isinstance(answer.get("result"), dict):
        return "no result in the answer"
    return None


class Checker:
    """Makes verdicts; shares one between concurrent requests and keeps it for a while."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.cached = None  # (expires, healthy, body)
        self.pending = None  # threading.Event of the verdict being made
        self.last_healthy = None

    def look(self):
        """(healthy, body): one look at the node (the status, then the RPC when it matters)."""
        a = self.args
        status = read_status(a.status_url, a.timeout_seconds)
        now = time.time() if a.now is None else a.now
        healthy, body = verdict(status, None, now, a.max_block_age_seconds, a.min_peers)
        if healthy and a.rpc_url:
            healthy, body = verdict(status, check_rpc(a.rpc_url, a.timeout_seconds), now,
                                    a.max_block_age_seconds, a.min_peers)
        return healthy, body

    def make(self, done):
        try:
            healthy, body = self.look()
        except Exception as e:  # a bug answers 503 with its name; the server keeps serving
            healthy, body = unhealthy(f"internal error: {e!r}")
        with self.lock:
            self.cached = (time.monotonic() + self.args.cache_seconds, healthy, body)
            self.pending = None
            if healthy != self.last_healthy:  # the journal gets changes, not every check
                print(f"casper-health: {json.dumps(body, separators=(',', ':'))}", file=sys.stderr, flush=True)
                self.last_healthy = healthy
        done.result = (healthy, body)
        done.set()

    def current(self):
        with self.lock:
            if self.cached is not None and time.monotonic() < self.cached[0]:
                return self.cached[1:]
            done = self.pending
            if done is None:
                done = self.pending = threading.Event()
                threading.Thread(target=self.make, args=(done,), daemon=True).start()
        if not done.wait(self.args.deadline_seconds):
            return unhealthy(f"the checks took longer than {self.args.deadline_seconds:g} s")
        return done.result


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "casper-health"
    checker = None  # set by main

    def answer(self, code, body, headers=()):
        data = (json.dumps(body, separators=(",", ":")) + "\n").encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        if urllib.parse.urlsplit(self.path).path != HEALTH_PATH:
            self.answer(404, {"error": f"not found; the health check is GET {HEALTH_PATH}"})
            return
        healthy, body = self.checker.current()
        self.answer(200 if healthy else 503, body)

    def refuse_method(self):
        self.answer(405, {"error": f"method {self.command} not allowed; use GET"}, [("Allow", "GET")])

    def __getattr__(self, name):
        # Every other method (the server looks up do_<METHOD>) is 405, not 501.
        if name.startswith("do_"):
            return self.refuse_method
        raise AttributeError(name)

    def log_message(self, format, *args):
        pass  # health checks every few seconds would flood the journal; make() logs changes


def number(kind, low, high=None, what="number"):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low <= value or (high is not None and not value <= high):
            bounds = f"{low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"expected a {what} ({bounds}), got {text!r}")
        return value
    return parse


def parse_args(argv):
    env = os.environ.get
    p = env_parser("casper-health", "Serve GET /healthz: 200 when the Casper node is in sync, else 503.", "CASPER_HEALTH")
    p.add_argument("--bind", default=env("CASPER_HEALTH_BIND") or DEFAULT_BIND,
                   help=f"address to listen on (CASPER_HEALTH_BIND, default {DEFAULT_BIND})")
    p.add_argument("--port", type=number(int, 1, 65535, "port"), default=env("CASPER_HEALTH_PORT") or str(DEFAULT_PORT),
                   help=f"port to listen on (CASPER_HEALTH_PORT, default {DEFAULT_PORT})")
    add_status_url(p, "CASPER_HEALTH")
    p.add_argument("--rpc-url", default=env("CASPER_HEALTH_RPC_URL") or None,
                   help="the sidecar's JSON-RPC URL, e.g. http://127.0.0.1:7777/rpc (CASPER_HEALTH_RPC_URL; "
                   "default: no RPC check, for networks without the sidecar)")
    p.add_argument("--max-block-age-seconds", type=number(int, 1, what="whole number of seconds"),
                   default=env("CASPER_HEALTH_MAX_BLOCK_AGE_SECONDS") or str(DEFAULT_MAX_BLOCK_AGE_SECONDS),
                   help="healthy only while the newest block is younger than this "
                   f"(CASPER_HEALTH_MAX_BLOCK_AGE_SECONDS, default {DEFAULT_MAX_BLOCK_AGE_SECONDS})")
    p.add_argument("--min-peers", type=number(int, 0, what="whole number"),
                   default=env("CASPER_HEALTH_MIN_PEERS") or str(DEFAULT_MIN_PEERS),
                   help=f"healthy only with at least this many peers (CASPER_HEALTH_MIN_PEERS, default {DEFAULT_MIN_PEERS})")
    p.add_argument("--timeout-seconds", type=number(float, 0.1, 30, "number of seconds"),
                   default=env("CASPER_HEALTH_TIMEOUT_SECONDS") or str(DEFAULT_TIMEOUT_SECONDS),
                   help=f"timeout of each request (CASPER_HEALTH_TIMEOUT_SECONDS, default {DEFAULT_TIMEOUT_SECONDS:g})")
    p.add_argument("--deadline-seconds", type=number(float, 0.1, 30, "number of seconds"),
                   default=env("CASPER_HEALTH_DEADLINE_SECONDS") or str(DEFAULT_DEADLINE_SECONDS),
                   help="the longest an answer waits for the checks (CASPER_HEALTH_DEADLINE_SECONDS, "
                   f"default {DEFAULT_DEADLINE_SECONDS:g})")
    p.add_argument("--cache-seconds", type=number(float, 0, 60, "number of seconds"),
                   default=env("CASPER_HEALTH_CACHE_SECONDS") or str(DEFAULT_CACHE_SECONDS),
                   help=f"how long a verdict is reused (CASPER_HEALTH_CACHE_SECONDS, default {DEFAULT_CACHE_SECONDS:g}; 0: never)")
    p.add_argument("--now", type=parse_now,
                   help="for tests: a fixed current time, RFC 3339 or epoch seconds (default: the clock)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    Handler.checker = Checker(args)
    try:
        server = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
    except OSError as e:
        print(f"casper-health: cannot listen on {args.bind}:{args.port}: {e}", file=sys.stderr)
        return 1
    print(f"casper-health: serving GET {HEALTH_PATH} on {args.bind}:{args.port} "
          f"(status {args.status_url}, RPC {args.rpc_url or 'not checked'})", file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
