#!/usr/bin/env python3
"""Casper node metrics collector.

Each run reads the node's REST status once (and, with --rpc-url, calls the
sidecar's JSON-RPC info_get_status once) and sends one CloudWatch Embedded
Metric Format (EMF) document to the CloudWatch agent's EMF listener, which
turns it into metrics and ships the event to a log group. It needs no AWS SDK
and no credentials. Run every 30 s by casper-metrics.timer.

Python 3.10 standard library only (Ubuntu 22.04): no tomllib, and RFC 3339
timestamps are parsed here because datetime.fromisoformat in 3.10 rejects
"Z" and fractions that are not 3 or 6 digits.

Exit codes: 0 when the document was sent (also when the node is down: that is
data), 1 when the agent's endpoint could not be reached, 2 on bad options.
"""

import argparse
import http.client
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request

# Nothing is written beside the script (no __pycache__ in /usr/local/sbin, nor in
# the source tree when the tests run it).
sys.dont_write_bytecode = True
# Shipped beside this script (the first place Python looks).
from casper_status import MAX_BODY_BYTES, RPC_STATUS_REQUEST, SYNCED_STATES, add_status_url, describe_error, env_parser, parse_now, parse_rfc3339

DEFAULT_ENDPOINT = "tcp://127.0.0.1:25888"
DEFAULT_TIMEOUT_SECONDS = 5.0
# Written by stage-protocols.sh after each run: {"failed": bool, "message": str, "time": int}.
DEFAULT_STAGE_RESULT_FILE = "/var/lib/casper-stage-protocols/result.json"
# Written by bootstrap.sh once the node answers steadily (it survives reboots).
DEFAULT_BOOTSTRAP_DONE_FILE = "/var/lib/casper-bootstrap/done"
# Where casper-node-util stages a protocol version m.n.p: <config root>/m_n_p/config.toml
# and <bin root>/m_n_p/casper-node (the launcher needs both).
DEFAULT_CONFIG_ROOT = "/etc/casper"
DEFAULT_BIN_ROOT = "/var/lib/casper/bin"

# Metric name and unit, in the order they appear in the document.
METRICS = (
    ("NodeUp", "None"),
    ("Synced", "None"),
    ("PeerCount", "Count"),
    ("BlockHeight", "Count"),
    ("EraId", "Count"),
    ("LastBlockAgeSeconds", "Seconds"),
    ("StageProtocolsFailed", "None"),
    ("BootstrapComplete", "None"),
    ("CatchingUp", "None"),
    ("WrongChainspec", "None"),
    ("UpgradeStaged", "None"),
    ("RpcUp", "None"),
    ("RpcLatencyMilliseconds", "Milliseconds"),
)
# The reactor states of a node that is still getting to the chain tip. In them
# last_added_block_info (the highest complete block) lags the tip by hours, so
# block age means nothing; whether the height moves does.
CATCHING_UP_STATES = ("Initialize", "CatchUp")
PROTOCOL_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
# Status fields passed on as properties of the log event.
PROPERTIES = (("ReactorState", "reactor_state"), ("ChainspecName", "chainspec_name"), ("BuildVersion", "build_version"))

JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def read_block(info, now):
    """BlockHeight, EraId and LastBlockAgeSeconds from last_added_block_info (ValueError if malformed)."""
    if not isinstance(info, dict):
        raise ValueError(f"expected an object, got {JSON_TYPES.get(type(info), type(info).__name__)}")
    height, era = info.get("height"), info.get("era_id")
    if not is_int(height) or not is_int(era):
        raise ValueError(f"height {height!r} and era_id {era!r} must be integers")
    age = round(max(0.0, now - parse_rfc3339(info.get("timestamp"))), 3)
    return {"BlockHeight": height, "EraId": era, "LastBlockAgeSeconds": age}


def node_values(status_code, body, now, **status_options):
    """(metric values, properties) for one answer of the node."""
    down = {"NodeUp": 0, "Synced": 0}
    if status_code is None:  # body is why the request failed
        return down, {"Error": body}
    if status_code != 200:
        return down, {"Error": f"HTTP {status_code}"}
    try:
        status = json.loads(body)
    except ValueError as e:  # also UnicodeDecodeError
        return down, {"Error": f"invalid JSON: {e}"}
    if not isinstance(status, dict):
        kind = JSON_TYPES.get(type(status), type(status).__name__)
        return down, {"Error": f"unexpected body: JSON {kind}, not an object"}
    return status_values(status, now, **status_options)


def status_values(status, now, expected_chainspec=None, roots=(DEFAULT_CONFIG_ROOT, DEFAULT_BIN_ROOT)):
    """(metric values, properties) of a node that answered with its status object."""
    peers = status.get("peers")
    values = {"NodeUp": 1, "Synced": 0, "PeerCount": len(peers) if isinstance(peers, (list, dict)) else 0}
    props = {name: status[key] for name, key in PROPERTIES if isinstance(status.get(key), str)}
    state = status.get("reactor_state")
    if isinstance(state, str):
        values["CatchingUp"] = 1 if state in CATCHING_UP_STATES else 0
    if expected_chainspec:
        # A missing name is not the expected one either.
        values["WrongChainspec"] = 0 if status.get("chainspec_name") == expected_chainspec else 1
        if values["WrongChainspec"]:
            props["ExpectedChainspec"] = expected_chainspec
    upgrade_values, upgrade_props = upgrade_status(status.get("next_upgrade"), roots)
    values.update(upgrade_values)
    props.update(upgrade_props)
    info = status.get("last_added_block_info")
    block = {}
    if info is not None:
        try:
            block = read_block(info, now)
        except ValueError as e:
            props["Error"] = f"bad last_added_block_info: {e}"
    # A node without a block is not synced, whatever its reactor state.
    values["Synced"] = 1 if block and status.get("reactor_state") in SYNCED_STATES else 0
    values.update(block)
    return values, props


def upgrade_status(upgrade, roots):
    """UpgradeStaged (only while an upgrade is announced) and the upgrade's properties.

    next_upgrade is {activation_point: era (int) or timestamp (str), protocol_version} or null.
    A version counts as staged when both its config.toml and its casper-node binary exist.
    """
    if upgrade is None:
        return {}, {"UpgradeAnnounced": False}
    if not isinstance(upgrade, dict):
        return {}, {"UpgradeAnnounced": False, "UpgradeError": "next_upgrade is not an object"}
    version = upgrade.get("protocol_version")
    props = {"UpgradeAnnounced": True}
    activation = upgrade.get("activation_point")
    if is_int(activation):
        props["UpgradeActivationEra"] = activation
    elif isinstance(activation, str):
        props["UpgradeActivationTime"] = activation
    m = PROTOCOL_VERSION.fullmatch(version) if isinstance(version, str) else None
    if m is None:
        # An announced version that cannot be located is not staged.
        props["UpgradeError"] = f"unexpected protocol_version {version!r}"
        return {"UpgradeStaged": 0}, props
    props["UpgradeVersion"] = version
    directory = "_".join(m.groups())
    config_root, bin_root = roots
    staged = (os.path.isfile(os.path.join(config_root, directory, "config.toml"))
              and os.path.isfile(os.path.join(bin_root, directory, "casper-node")))
    return {"UpgradeStaged": 1 if staged else 0}, props


def bootstrap_values(path):
    """BootstrapComplete: 1 once the bootstrap's done stamp exists, else 0."""
    return {"BootstrapComplete": 1 if os.path.exists(path) else 0}, {}


def rpc_values(url, timeout):
    """RpcUp and, when the RPC answered, RpcLatencyMilliseconds, from one info_get_status call.

    Up means: HTTP 200 within the timeout, a JSON-RPC response with a "result"
    object and no "error". The latency counts from the connection to the last
    byte of the answer, whether or not the answer is good.
    """
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=RPC_STATUS_REQUEST, method="POST",
                                     headers={"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with opener.open(request, timeout=timeout) as resp:
            body = resp.read(MAX_BODY_BYTES)
            status_code = resp.status
    except urllib.error.HTTPError as e:
        return {"RpcUp": 0}, {"RpcError": f"HTTP {e.code}"}
    except (OSError, http.client.HTTPException, ValueError) as e:
        return {"RpcUp": 0}, {"RpcError": describe_error(e, timeout)}
    latency = {"RpcLatencyMilliseconds": round((time.monotonic() - started) * 1000, 1)}
    if status_code != 200:
        return {"RpcUp": 0, **latency}, {"RpcError": f"HTTP {status_code}"}
    try:
        answer = json.loads(body)
    except ValueError as e:
        return {"RpcUp": 0, **latency}, {"RpcError": f"invalid JSON: {e}"}
    if not isinstance(answer, dict):
        return {"RpcUp": 0, **latency}, {"RpcError": "the answer is not a JSON object"}
    if answer.get("error") is not None:
        error = answer["error"]
        message = error.get("message") if isinstance(error, dict) else error
        return {"RpcUp": 0, **latency}, {"RpcError": f"JSON-RPC error: {message}"}
    if not isinstance(answer.get("result"), dict):
        return {"RpcUp": 0, **latency}, {"RpcError": "no result in the answer"}
    return {"RpcUp": 1, **latency}, {}


def build_document(status_code, body, now, namespace, node_name, log_group, extra=({}, {}), **status_options):
    """The EMF document for one answer of the node.

    status_code is the HTTP status and body the raw body (bytes), or, when the
    node did not answer, status_code is None and body is the reason (str).
    extra holds more (values, properties), such as the stager's outcome.
    """
    values, props = node_values(status_code, body, now, **status_options)
    values.update(extra[0])
    props.update(extra[1])
    metrics = [(name, unit) for name, unit in METRICS if name in values]
    doc = {
        "_aws": {
            "Timestamp": int(round(now * 1000)),
            "LogGroupName": log_group,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["NodeName"]],
                "Metrics": [{"Name": name, "Unit": unit, "StorageResolution": 1} for name, unit in metrics],
            }],
        },
        "NodeName": node_name,
    }
    doc.update((name, values[name]) for name, _ in metrics)
    doc.update(props)
    return doc


def stage_values(path):
    """StageProtocolsFailed (1 or 0) from the stager's result file; nothing before its first run."""
    try:
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
    except FileNotFoundError:
        return {}, {}
    except (OSError, ValueError) as e:
        return {"StageProtocolsFailed": 1}, {"StageProtocolsError": f"unreadable {path}: {e}"}
    if not isinstance(result, dict) or not isinstance(result.get("failed"), bool):
        return {"StageProtocolsFailed": 1}, {"StageProtocolsError": f"unexpected content in {path}"}
    props = {"StageProtocolsError": str(result.get("message", ""))} if result["failed"] else {}
    return {"StageProtocolsFailed": 1 if result["failed"] else 0}, props


def fetch_status(url, timeout):
    """(HTTP status, body bytes), or (None, reason) when the node did not answer."""
    # The status URL is local: never send it through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status, resp.read(MAX_BODY_BYTES)
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (OSError, http.client.HTTPException, ValueError) as e:
        return None, describe_error(e, timeout)


def parse_endpoint(text):
    """(socket type, host, port) of tcp://host:port or udp://host:port."""
    m = re.fullmatch(r"(tcp|udp)://(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):(\d{1,5})", text)
    if m is None or not 0 < int(m.group(3)) < 65536:
        raise ValueError(f"expected tcp://host:port or udp://host:port, got {text!r}")
    kind = socket.SOCK_STREAM if m.group(1) == "tcp" else socket.SOCK_DGRAM
    return kind, m.group(2).strip("[]"), int(m.group(3))


def send(endpoint, payload, timeout):
    """Sends the payload to the agent: a TCP stream or one UDP datagram."""
    kind, host, port = endpoint
    if kind == socket.SOCK_STREAM:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(payload)
        return
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(payload, address)


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def parse_args(argv):
    env = os.environ.get
    p = env_parser("casper-metrics", "Send the Casper node's status to CloudWatch as one EMF document.", "CASPER_METRICS")
    add_status_url(p, "CASPER_METRICS")
    p.add_argument("--namespace", default=env("CASPER_METRICS_NAMESPACE"),
                   help="CloudWatch metric namespace (CASPER_METRICS_NAMESPACE, required)")
    p.add_argument("--node-name", default=env("CASPER_METRICS_NODE_NAME"),
                   help="value of the NodeName dimension (CASPER_METRICS_NODE_NAME, required)")
    p.add_argument("--log-group", default=env("CASPER_METRICS_LOG_GROUP"),
                   help="log group the agent ships the event to (CASPER_METRICS_LOG_GROUP, required)")
    p.add_argument("--endpoint", default=env("CASPER_METRICS_ENDPOINT") or DEFAULT_ENDPOINT,
                   help=f"the agent's EMF listener (CASPER_METRICS_ENDPOINT, default {DEFAULT_ENDPOINT})")
    p.add_argument("--timeout-seconds", type=positive_float,
                   default=env("CASPER_METRICS_TIMEOUT_SECONDS") or str(DEFAULT_TIMEOUT_SECONDS),
                   help="HTTP and send timeout (CASPER_METRICS_TIMEOUT_SECONDS, default 5)")
    p.add_argument("--stage-result-file",
                   default=env("CASPER_METRICS_STAGE_RESULT_FILE") or DEFAULT_STAGE_RESULT_FILE,
                   help="the protocol stager's result (CASPER_METRICS_STAGE_RESULT_FILE, "
                   f"default {DEFAULT_STAGE_RESULT_FILE}); StageProtocolsFailed once it exists")
    p.add_argument("--bootstrap-done-file",
                   default=env("CASPER_METRICS_BOOTSTRAP_DONE_FILE") or DEFAULT_BOOTSTRAP_DONE_FILE,
                   help="the bootstrap's done stamp (CASPER_METRICS_BOOTSTRAP_DONE_FILE, "
                   f"default {DEFAULT_BOOTSTRAP_DONE_FILE}); BootstrapComplete is 1 once it exists")
    p.add_argument("--expected-chainspec", default=env("CASPER_METRICS_EXPECTED_CHAINSPEC") or None,
                   help="the network's chainspec name (CASPER_METRICS_EXPECTED_CHAINSPEC); "
                   "WrongChainspec is 1 when the node runs another one (default: not checked)")
    p.add_argument("--config-root", default=env("CASPER_METRICS_CONFIG_ROOT") or DEFAULT_CONFIG_ROOT,
                   help="where protocol versions' configs are staged (CASPER_METRICS_CONFIG_ROOT, "
                   f"default {DEFAULT_CONFIG_ROOT})")
    p.add_argument("--bin-root", default=env("CASPER_METRICS_BIN_ROOT") or DEFAULT_BIN_ROOT,
                   help="where protocol versions' binaries are staged (CASPER_METRICS_BIN_ROOT, "
                   f"default {DEFAULT_BIN_ROOT})")
    p.add_argument("--rpc-url", default=env("CASPER_METRICS_RPC_URL") or None,
                   help="the sidecar's JSON-RPC URL, e.g. http://127.0.0.1:7777/rpc (CASPER_METRICS_RPC_URL); "
                   "RpcUp and RpcLatencyMilliseconds once the bootstrap is complete (default: no RPC check)")
    p.add_argument("--now", type=parse_now, help="the current time, RFC 3339 or epoch seconds (default: the clock)")
    p.add_argument("--print", action="store_true", help="also print the document to stdout")
    args = p.parse_args(argv)
    for option, var in (("namespace", "CASPER_METRICS_NAMESPACE"), ("node_name", "CASPER_METRICS_NODE_NAME"),
                        ("log_group", "CASPER_METRICS_LOG_GROUP")):
        if not getattr(args, option):
            p.error(f"--{option.replace('_', '-')} is required (or set {var})")
    try:
        args.target = parse_endpoint(args.endpoint)
    except ValueError as e:
        p.error(f"--endpoint: {e}")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    status_code, body = fetch_status(args.status_url, args.timeout_seconds)
    now = time.time() if args.now is None else args.now
    extra_values, extra_props = stage_values(args.stage_result_file)
    boot_values, _ = bootstrap_values(args.bootstrap_done_file)
    extra_values.update(boot_values)
    # The sidecar starts with the node, late in the bootstrap: RPC health only
    # counts once the bootstrap is complete, so no alarm needs to mask it.
    if args.rpc_url and boot_values["BootstrapComplete"]:
        rpc_v, rpc_p = rpc_values(args.rpc_url, args.timeout_seconds)
        extra_values.update(rpc_v)
        extra_props.update(rpc_p)
    doc = build_document(status_code, body, now, args.namespace, args.node_name, args.log_group,
                         (extra_values, extra_props), expected_chainspec=args.expected_chainspec,
                         roots=(args.config_root, args.bin_root))
    text = json.dumps(doc, separators=(",", ":"))
    if args.print:
        print(text, flush=True)
    try:
        send(args.target, (text + "\n").encode("utf-8"), args.timeout_seconds)
    except OSError as e:
        print(f"casper-metrics: cannot send to {args.endpoint}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
