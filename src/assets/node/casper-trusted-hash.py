#!/usr/bin/env python3
"""Trusted block hash for a Casper node that starts with empty storage.

A node without blocks in its storage cannot join the network unless
trusted_hash is set under [node] in its config.toml (casper-node,
node/src/reactor/main_reactor/catch_up.rs). Upstream casper-node-util's
get_trusted_hash asks a single node. This script asks every peer listed in
known_addresses under [network] of the node's config.toml for its REST
/status and accepts a block hash only when at least --min-agree peers report
it, for the chainspec given. When several hashes are agreed on, the one with
the highest block height wins. It retries up to --attempts times,
--interval-seconds apart.

The agreed hash (lowercase) is the only thing printed on stdout; progress and
the reasons peers were not counted go to stderr.

Python 3.10 standard library only (Ubuntu 22.04): no tomllib, so the few
TOML constructs needed to find known_addresses are read here.

Exit codes: 0 when a hash was agreed (printed on stdout), 1 when no hash was
agreed after the last attempt, 2 on bad options or a config.toml without a
usable known_addresses in [network].
"""

import argparse
import http.client
import json
import re
import socket
import sys
import threading
import time

PROG = "casper-trusted-hash"
MAX_BODY_BYTES = 1 << 20
# Extra time given to the request threads beyond --timeout-seconds before a
# peer that is still sending is reported as timed out.
JOIN_GRACE_SECONDS = 0.5
BLOCK_HASH = re.compile(r"[0-9A-Fa-f]{64}")
HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")
SECTION_HEADER = re.compile(r"\[\[?([^\[\]\n]*)\]\]?")
BARE_VALUE = re.compile(r"[^,\]}#\n]*")
JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class ConfigError(Exception):
    """The config cannot give the peers to ask."""


class Bare(str):
    """Source text of a TOML value that is not a string nor an array."""


# --- config.toml ------------------------------------------------------------


def skip_space(text, i, newlines=True):
    """Index of the next character that is not blank nor in a # comment."""
    while i < len(text):
        c = text[i]
        if c in " \t\r" or (newlines and c == "\n"):
            i += 1
        elif c == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        else:
            break
    return i


def line_of(text, i):
    return text.count("\n", 0, i) + 1


def read_string(text, i):
    """(value, index after it) of the TOML string starting at text[i]."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = text.find(quote * 3, i + 3)
        if end < 0:
            raise ValueError(f"line {line_of(text, i)}: unterminated multi-line string")
        return text[i + 3:end], end + 3
    out, j = [], i + 1
    while j < len(text) and text[j] not in (quote, "\n"):
        if quote == '"' and text[j] == "\\":
            code = text[j + 1:j + 2]
            if code in ESCAPES:
                out.append(ESCAPES[code])
                j += 2
                continue
            width = {"u": 4, "U": 8}.get(code)
            digits = text[j + 2:j + 2 + width] if width else ""
            if not width or not re.fullmatch(r"[0-9A-Fa-f]+", digits) or len(digits) != width:
                raise ValueError(f"line {line_of(text, j)}: bad escape in string")
            out.append(chr(int(digits, 16)))
            j += 2 + width
            continue
        out.append(text[j])
        j += 1
    if j >= len(text) or text[j] != quote:
        raise ValueError(f"line {line_of(text, i)}: unterminated string")
    return "".join(out), j + 1


def read_value(text, i):
    """(value, index after it) of the TOML value starting at text[i].

    Arrays give lists and strings give str; inline tables and every other
    value (numbers, booleans, dates) give their source text as a Bare.
    """
    c = text[i:i + 1]
    if c in ("'", '"'):
        return read_string(text, i)
    if c in ("[", "{"):
        close = "]" if c == "[" else "}"
        items, j = [], i + 1
        while True:
            j = skip_space(text, j)
            if j >= len(text):
                raise ValueError(f"line {line_of(text, i)}: unterminated {'array' if c == '[' else 'inline table'}")
            if text[j] == close:
                return (items if c == "[" else Bare(text[i:j + 1])), j + 1
            if c == "{":  # key = value: skip to the value
                eq = text.find("=", j)
                if eq < 0:
                    raise ValueError(f"line {line_of(text, j)}: bad inline table")
                j = skip_space(text, eq + 1, newlines=False)
            value, j = read_value(text, j)
            items.append(value)
            j = skip_space(text, j)
            if text[j:j + 1] == ",":
                j += 1
            elif text[j:j + 1] != close:
                raise ValueError(f"line {line_of(text, j)}: expected ',' or '{close}'")
    m = BARE_VALUE.match(text, i)
    value = m.group(0).strip()
    if not value:
        raise ValueError(f"line {line_of(text, i)}: missing value")
    return Bare(value), m.end()


def known_addresses(text):
    """The known_addresses of [network] (a list of str), or None when there is none.

    Recognises comments, section headers, quoted keys, every string form,
    arrays over several lines and inline tables, so that text inside them is
    never mistaken for a header or a key. A key elsewhere that cannot be read
    is skipped to the end of its line; known_addresses itself must be read.
    """
    section, found, i = "", None, 0
    while True:
        i = skip_space(text, i)
        if i >= len(text):
            return found
        end = text.find("\n", i)
        end = len(text) if end < 0 else end
        if text[i] == "[":
            m = SECTION_HEADER.match(text, i)
            section = ".".join(p.strip().strip("\"'") for p in m.group(1).split(".")) if m else ""
            i = end
            continue
        eq = text.find("=", i, end)
        if eq < 0:
            i = end
            continue
        key = ".".join(p.strip().strip("\"'") for p in text[i:eq].split("."))
        start = skip_space(text, eq + 1, newlines=False)
        wanted = (section == "network" and key == "known_addresses") or (section == "" and key == "network.known_addresses")
        try:
            value, i = read_value(text, start)
        except ValueError as e:
            if wanted:
                raise ConfigError(f"cannot read known_addresses: {e}") from None
            i = end
            continue
        if wanted:
            if not isinstance(value, list) or not all(type(v) is str for v in value):
                raise ConfigError(f"line {line_of(text, start)}: known_addresses is not an array of strings")
            if found is not None:
                raise ConfigError(f"line {line_of(text, start)}: known_addresses is set twice in [network]")
            found = value


def peer_hosts(addresses):
    """Hosts of host:port entries, without duplicates, in order."""
    hosts = []
    for entry in addresses:
        host, sep, port = entry.strip().rpartition(":")
        if not sep or not HOST.fullmatch(host) or not port.isdigit():
            raise ConfigError(f"known_addresses entry {entry!r} is not host:port")
        host = host.strip("[]")
        if host not in hosts:
            hosts.append(host)
    return hosts


def read_peers(config_path):
    try:
        with open(config_path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    addresses = known_addresses(text)
    if addresses is None:
        raise ConfigError("no known_addresses in [network]")
    hosts = peer_hosts(addresses)
    if not hosts:
        raise ConfigError("known_addresses in [network] is empty")
    return hosts


# --- peers ------------------------------------------------------------------


class Answer:
    """What one peer said: a block (hash and height) or why it does not count."""

    def __init__(self, problem=None, detail=None, block_hash=None, height=None):
        self.problem, self.detail, self.hash, self.height = problem, detail, block_hash, height

    def progress(self):
        """For the per-attempt log line."""
        if self.hash:
            return f"block {'?' if self.height is None else self.height} {self.hash}"
        return f"{self.problem} ({self.detail})" if self.detail else self.problem

    def summary(self):
        """For the final line."""
        if self.hash:
            return f"hash {self.hash}, height {'?' if self.height is None else self.height}"
        return f"{self.problem}: {self.detail}" if self.detail else self.problem


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def judge(status_code, content_type, body, chainspec):
    """The Answer for one HTTP answer of a peer."""
    if status_code != 200:
        return Answer(f"HTTP {status_code}")
    if len(body) > MAX_BODY_BYTES:
        return Answer("body over 1 MiB")
    try:
        status = json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        return Answer("not JSON", f"HTTP {status_code} {content_type}" if content_type else f"HTTP {status_code}, no content type")
    if not isinstance(status, dict):
        return Answer("not a JSON object", JSON_TYPES.get(type(status), type(status).__name__))
    name = status.get("chainspec_name")
    if name is None:
        return Answer("no chainspec_name")
    if name != chainspec:
        return Answer(f"wrong chainspec {shorten(name)}")
    info = status.get("last_added_block_info")
    if info is None:
        return Answer("no last_added_block_info")
    if not isinstance(info, dict):
        return Answer("bad last_added_block_info", JSON_TYPES.get(type(info), type(info).__name__))
    block_hash = info.get("hash")
    if not isinstance(block_hash, str) or not BLOCK_HASH.fullmatch(block_hash):
        return Answer("bad block hash", shorten(block_hash))
    height = info.get("height")
    return Answer(block_hash=block_hash.lower(), height=height if is_int(height) and height >= 0 else None)


def shorten(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def describe_error(exc, timeout):
    """Answer for a request that failed."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return Answer(f"timeout after {timeout:g} s")
    if isinstance(exc, ConnectionRefusedError):
        return Answer("unreachable", "connection refused")
    if isinstance(exc, http.client.RemoteDisconnected):  # also a ConnectionResetError
        return Answer("unreachable", "closed without answering")
    if isinstance(exc, ConnectionResetError):
        return Answer("unreachable", "connection reset")
    if isinstance(exc, socket.gaierror):
        return Answer("unreachable", f"cannot resolve: {exc.strerror or exc}")
    if isinstance(exc, http.client.HTTPException):
        return Answer("bad HTTP answer", type(exc).__name__)
    if isinstance(exc, OSError) and exc.strerror:
        return Answer("unreachable", exc.strerror.lower())
    return Answer("unreachable", str(exc) or type(exc).__name__)


def ask(host, port, chainspec, timeout):
    """The Answer of one peer's /status."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/status", headers={"Accept": "application/json"})
        resp = conn.getresponse()
        content_type = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        body = resp.read(MAX_BODY_BYTES + 1) if resp.status == 200 else b""
        return judge(resp.status, content_type, body, chainspec)
    except (OSError, http.client.HTTPException) as e:
        return describe_error(e, timeout)
    finally:
        conn.close()


def ask_all(hosts, port, chainspec, timeout):
    """Answers of every peer, asked at once; a peer still busy after the timeout has timed out."""
    answers = {}

    def worker(host):
        try:
            answers[host] = ask(host, port, chainspec, timeout)
        except Exception as e:  # never lose a peer to an unexpected error
            answers[host] = Answer("error", f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(h,), daemon=True) for h in hosts]
    deadline = time.monotonic() + timeout + JOIN_GRACE_SECONDS
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    late = Answer(f"timeout after {timeout:g} s")
    return [(h, answers.get(h, late)) for h in hosts]


def agreed(answers, min_agree):
    """(hash, height, voters) agreed by at least min_agree peers, the highest block first; None if none."""
    votes = {}
    for host, a in answers:
        if a.hash:
            vote = votes.setdefault(a.hash, {"hosts": [], "height": None})
            vote["hosts"].append(host)
            if a.height is not None and (vote["height"] is None or a.height > vote["height"]):
                vote["height"] = a.height
    ranked = [
        (-1 if v["height"] is None else v["height"], len(v["hosts"]), -order, h)
        for order, (h, v) in enumerate(votes.items()) if len(v["hosts"]) >= min_agree
    ]
    if not ranked:
        return None
    block_hash = max(ranked)[3]
    return block_hash, votes[block_hash]["height"], votes[block_hash]["hosts"]


def plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- main -------------------------------------------------------------------


def bounded_int(low, high=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"expected an integer {bounds}, got {text!r}")
        return value
    return parse


def seconds(allow_zero):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value >= 0 if allow_zero else value > 0) or value == float("inf"):
            kind = "non-negative" if allow_zero else "positive"
            raise argparse.ArgumentTypeError(f"expected a {kind} number of seconds, got {text!r}")
        return value
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Print the block hash that at least --min-agree of the node's known peers report "
        "as their last added block, for a trusted_hash in the node's config.toml.",
    )
    p.add_argument("--config", required=True, help="the node's config.toml, whose [network] known_addresses are asked")
    p.add_argument("--rest-port", required=True, type=bounded_int(1, 65535), help="the peers' REST port (8888 upstream)")
    p.add_argument("--chainspec", required=True, help="the chainspec_name the peers must report (casper, casper-test)")
    p.add_argument("--min-agree", type=bounded_int(1), default=2, help="peers that must report the same hash (default 2)")
    p.add_argument("--attempts", type=bounded_int(1), default=5, help="rounds of asking every peer (default 5)")
    p.add_argument("--interval-seconds", type=seconds(allow_zero=True), default=10.0,
                   help="pause between attempts (default 10)")
    p.add_argument("--timeout-seconds", type=seconds(allow_zero=False), default=5.0,
                   help="bound of each request (default 5)")
    args = p.parse_args(argv)
    if not args.chainspec.strip():
        p.error("--chainspec must not be empty")
    return args


def log(line):
    print(line, file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        hosts = read_peers(args.config)
    except ConfigError as e:
        log(f"{PROG}: {args.config}: {e}")
        return 2
    if len(hosts) < args.min_agree:
        log(f"{PROG}: {args.config}: --min-agree {args.min_agree} but known_addresses has only {plural(len(hosts), 'host')}")
        return 2

    answers = []
    for attempt in range(1, args.attempts + 1):
        answers = ask_all(hosts, args.rest_port, args.chainspec, args.timeout_seconds)
        log(f"trusted hash: attempt {attempt} of {args.attempts}: " + "; ".join(f"{h} {a.progress()}" for h, a in answers))
        result = agreed(answers, args.min_agree)
        if result is not None:
            block_hash, height, voters = result
            log(f"trusted hash: {block_hash} (block {'?' if height is None else height}) "
                f"agreed by {len(voters)} of {plural(len(hosts), 'peer')}: {', '.join(voters)}")
            print(block_hash, flush=True)
            return 0
        if attempt < args.attempts:
            log(f"trusted hash: no hash agreed by at least {plural(args.min_agree, 'peer')} yet; "
                f"next attempt in {args.interval_seconds:g} s")
            time.sleep(args.interval_seconds)

    log(f"no trusted hash agreed by at least {plural(args.min_agree, 'peer')} after {plural(args.attempts, 'attempt')}; "
        "peers tried: " + ", ".join(f"{h} ({a.summary()})" for h, a in answers))
    return 1


if __name__ == "__main__":
    sys.exit(main())
