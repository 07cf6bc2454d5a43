#!/usr/bin/env python3
"""Edits the Casper node's and sidecar's TOML configs in place.

    casper-node-config.py trusted-hash HASH CONFIG.toml...
    casper-node-config.py node-ports --gossip N --rest N --sse N [--rpc N] CONFIG.toml...
    casper-node-config.py sidecar-port --rpc N SIDECAR.toml

trusted-hash sets `trusted_hash` under [node] (written lowercase: mixed-case
hex is read as checksummed by casper-types). node-ports sets the port of
[network] bind_address, [rest_server] address, [event_stream_server] address
and, with --rpc (1.x nodes serve JSON-RPC themselves), [rpc_server] address.
sidecar-port sets [rpc_server.main_server] port of casper-sidecar's config.

Python 3.10 standard library only (Ubuntu 22.04 has no tomllib): the files are
edited line by line within their sections, as upstream ships them, so comments
and layout stay. A file is rewritten (atomically, keeping its mode and owner)
only when a value really changes. casper-node-util's own `--replace` is not
used: in 1.0.8 it corrupts every line it does not replace.

Exit codes: 0 done (changed or already right), 1 a file lacks a section or key
this tool must set (an unknown layout is an error, not a silent no-op), 2 bad
arguments.
"""

import argparse
import os
import re
import sys
import tempfile

HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
ADDRESS = re.compile(r"^'([^':]*|\[[0-9A-Fa-f:]+\]):(\d+)'$")
HASH = re.compile(r"^[0-9A-Fa-f]{64}$")


class ConfigError(Exception):
    """The file does not have the layout this tool edits."""


def key_pattern(key, commented=False):
    prefix = r"^\s*#\s*" if commented else r"^\s*"
    return re.compile(prefix + re.escape(key) + r"\s*=\s*(.*?)\s*(#.*)?$")


def section_lines(lines, section):
    """Indexes of the lines inside [section], and the index of its header."""
    current, header, inside = None, None, []
    for i, line in enumerate(lines):
        m = HEADER.match(line)
        if m:
            current = m.group(1).strip()
            if current == section:
                header = i
            continue
        if current == section:
            inside.append(i)
    return header, inside


def ending(line):
    return "\n" if line.endswith("\n") else ""


def find_key(lines, section, key, path):
    """(index, current TOML value) of `key = ...` inside [section]."""
    header, inside = section_lines(lines, section)
    if header is None:
        raise ConfigError(f"{path}: no [{section}] section")
    pattern = key_pattern(key)
    for i in inside:
        m = pattern.match(lines[i])
        if m:
            return i, m.group(1)
    raise ConfigError(f"{path}: [{section}] has no {key}")


def set_value(lines, section, key, value, path):
    """Sets `key = value` (value already TOML-rendered) inside [section]."""
    i, current = find_key(lines, section, key, path)
    if current == value:
        return lines
    new = list(lines)
    new[i] = f"{key} = {value}{ending(lines[i])}"
    return new


def set_port(lines, section, key, port, path):
    """Changes only the port of an 'host:port' address value."""
    _, current = find_key(lines, section, key, path)
    m = ADDRESS.match(current)
    if m is None:
        raise ConfigError(f"{path}: [{section}] {key} = {current} is not a 'host:port' string")
    return set_value(lines, section, key, f"'{m.group(1)}:{port}'", path)


def set_trusted_hash(lines, block_hash, path):
    """One active `trusted_hash` line under [node], replacing the commented default."""
    header, inside = section_lines(lines, "node")
    if header is None:
        raise ConfigError(f"{path}: no [node] section")
    want = f"trusted_hash = '{block_hash}'"
    active = key_pattern("trusted_hash")
    commented = key_pattern("trusted_hash", commented=True)
    hits = [i for i in inside if active.match(lines[i])] or [i for i in inside if commented.match(lines[i])]
    new = list(lines)
    if hits:
        new[hits[0]] = want + ending(lines[hits[0]])
        for i in reversed(hits[1:]):  # one key only: TOML rejects duplicates
            if active.match(lines[i]):
                del new[i]
    else:
        new.insert(header + 1, want + "\n")
    return new


def rewrite(path, edit):
    """Applies edit(lines, path) to the file; writes it only when it changed."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines(keepends=True)
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from e
    new = edit(lines, path)
    if new == lines:
        print(f"casper-node-config: {path}: already set")
        return
    st = os.stat(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".casper-config.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(new))
        os.chmod(tmp, st.st_mode & 0o7777)
        if os.geteuid() == 0:
            os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    print(f"casper-node-config: {path}: updated")


def port(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port (1-65535): {value}")
    return value


def block_hash(text):
    if not HASH.match(text):
        raise argparse.ArgumentTypeError(f"not a 64-hex-digit block hash: {text!r}")
    return text.lower()


def main(argv):
    parser = argparse.ArgumentParser(description="Edit the Casper node's and sidecar's config files.")
    sub = parser.add_subparsers(dest="command", required=True)
    th = sub.add_parser("trusted-hash", help="set [node] trusted_hash")
    th.add_argument("hash", type=block_hash)
    th.add_argument("files", nargs="+")
    np_ = sub.add_parser("node-ports", help="set the node's gossip, REST, SSE (and 1.x RPC) ports")
    np_.add_argument("--gossip", type=port, required=True)
    np_.add_argument("--rest", type=port, required=True)
    np_.add_argument("--sse", type=port, required=True)
    np_.add_argument("--rpc", type=port)
    np_.add_argument("files", nargs="+")
    sp = sub.add_parser("sidecar-port", help="set the sidecar's JSON-RPC port")
    sp.add_argument("--rpc", type=port, required=True)
    sp.add_argument("file")
    args = parser.parse_args(argv)

    if args.command == "trusted-hash":
        edits = [(f, lambda lines, p: set_trusted_hash(lines, args.hash, p)) for f in args.files]
    elif args.command == "node-ports":
        def node_ports(lines, p):
            lines = set_port(lines, "network", "bind_address", args.gossip, p)
            lines = set_port(lines, "rest_server", "address", args.rest, p)
            lines = set_port(lines, "event_stream_server", "address", args.sse, p)
            if args.rpc is not None:
                lines = set_port(lines, "rpc_server", "address", args.rpc, p)
            return lines
        edits = [(f, node_ports) for f in args.files]
    else:
        edits = [(args.file, lambda lines, p: set_value(lines, "rpc_server.main_server", "port", str(args.rpc), p))]

    try:
        for path, edit in edits:
            rewrite(path, edit)
    except ConfigError as e:
        print(f"casper-node-config: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
