"""What casper-metrics.py and casper-health.py both read a Casper node's status
with, and the options they both take.

Installed beside them (/usr/local/sbin), where Python finds it first: the
directory of the script it runs. Python 3.10 standard library only (Ubuntu
22.04): datetime.fromisoformat in 3.10 rejects "Z" and fractions that are not
3 or 6 digits, so RFC 3339 timestamps are parsed here.
"""

import argparse
import datetime
import os
import re
import socket
import urllib.error

DEFAULT_STATUS_URL = "http://127.0.0.1:8888/status"
RPC_STATUS_REQUEST = b'{"jsonrpc":"2.0","id":1,"method":"info_get_status","params":[]}'
MAX_BODY_BYTES = 1 << 20

# The reactor states of a node that follows the chain tip. casper-node 2.x
# (types/src/reactor_state.rs) defines Initialize, CatchUp, Upgrading, KeepUp,
# Validate and ShutdownForUpgrade. Validate is "caught up and an active
# validator": the reactor enters it from KeepUp only when its own key is in
# the era's validator set (main_reactor/keep_up.rs); a read-only node's key is
# not bonded, so it stays in KeepUp, and would be in sync in Validate too.
SYNCED_STATES = ("KeepUp", "Validate")

RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_rfc3339(text):
    """Epoch seconds (float) of an RFC 3339 timestamp; ValueError if it is not one."""
    m = RFC3339.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, offset = m.group(7) or "", m.group(8)
    whole = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)
    seconds = whole.timestamp() + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)
    if offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        seconds -= sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return seconds


def parse_now(text):
    """--now: epoch seconds or an RFC 3339 timestamp."""
    try:
        return float(text) if re.fullmatch(r"\d+(\.\d+)?", text) else parse_rfc3339(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not epoch seconds nor an RFC 3339 timestamp: {text!r}") from None


def describe_error(exc, timeout):
    """A short reason for a failed request."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"timeout after {timeout:g} s"
    return f"unreachable: {reason}"


def env_parser(prog, summary, prefix):
    """The argument parser of a script whose every option defaults to a <prefix>_* environment variable."""
    return argparse.ArgumentParser(
        prog=prog,
        description=f"{summary} Every option defaults to the {prefix}_* environment variable named in its help.",
    )


def add_status_url(parser, prefix):
    """--status-url: the node's REST status URL, defaulting to <prefix>_STATUS_URL, then DEFAULT_STATUS_URL."""
    var = f"{prefix}_STATUS_URL"
    parser.add_argument("--status-url", default=os.environ.get(var) or DEFAULT_STATUS_URL,
                        help=f"the node's status URL ({var}, default {DEFAULT_STATUS_URL})")
