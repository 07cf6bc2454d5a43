#!/usr/bin/env bash
# Stages the protocol versions the Casper network publishes, so that
# casper-node-launcher can start the current one and move to the next at its
# activation point. Run by the bootstrap once and by casper-stage-protocols.timer
# every six hours; the same code path both times.
#
#   stage-protocols.sh [--if-missing] <settings file>
#
# --if-missing (the bootstrap's rerun after a reboot): when the last run
# succeeded and every version found is fully staged, do not ask the network;
# the timer stages new ones.
#
# The settings file (written by the bootstrap) holds NETWORK_CONFIG, PUBLIC_IP,
# GOSSIP_PORT, REST_PORT, SSE_PORT, RPC_PORT (empty where the sidecar serves
# JSON-RPC) and TIMEOUT_SECONDS, one KEY=value a line.
#
# Besides staging it:
# - passes the node's public IP (its Elastic IP): without --ip, casper-node-util
#   asks three public IP services with no timeout;
# - bounds the run (timeout here, TimeoutStartSec in the unit);
# - removes versions staged half-way (a config without its binary, left when a
#   download fails between config.tar.gz and bin.tar.gz), which would keep the
#   launcher from starting and which stage_protocols never retries;
# - writes the node's ports into every staged config.toml;
# - records the outcome for the metrics collector (StageProtocolsFailed).
set -euo pipefail

# Installed with lib.sh and protocols.sh beside it (the bootstrap's NODE_TOOLS).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh
source "$HERE/lib.sh"
# shellcheck source-path=SCRIPTDIR source=protocols.sh
source "$HERE/protocols.sh"

# Read by casper-metrics.py; the directory is world-readable.
RESULT_FILE="$ROOT/var/lib/casper-stage-protocols/result.json"
STEP="stage protocols"

# Reads KEY=value lines; only the expected keys, each checked.
load_settings() {
  local file=$1 key value
  [[ -f $file ]] || die "settings file $file not found"
  NETWORK_CONFIG="" PUBLIC_IP="" GOSSIP_PORT="" REST_PORT="" SSE_PORT="" RPC_PORT="" TIMEOUT_SECONDS=""
  while IFS='=' read -r key value || [[ -n $key ]]; do
    case $key in
      NETWORK_CONFIG | PUBLIC_IP | GOSSIP_PORT | REST_PORT | SSE_PORT | RPC_PORT | TIMEOUT_SECONDS) printf -v "$key" '%s' "$value" ;;
      '' | '#'*) ;;
      *) die "$file: unknown setting $key" ;;
    esac
  done <"$file"
  [[ $NETWORK_CONFIG =~ ^[A-Za-z0-9._-]+\.conf$ ]] || die "$file: NETWORK_CONFIG '$NETWORK_CONFIG' is not a .conf file name"
  [[ $PUBLIC_IP =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "$file: PUBLIC_IP '$PUBLIC_IP' is not an IPv4 address"
  local p
  for p in GOSSIP_PORT REST_PORT SSE_PORT TIMEOUT_SECONDS; do
    [[ ${!p} =~ ^[1-9][0-9]*$ ]] || die "$file: $p '${!p}' is not a positive integer"
  done
  [[ -z $RPC_PORT || $RPC_PORT =~ ^[1-9][0-9]*$ ]] || die "$file: RPC_PORT '$RPC_PORT' is not a positive integer"
}

# casper-node-util (package casper-node-util, a dependency of the launcher)
# is what current upgrade notes use; older launchers ship node_util.py only.
staging_tool() {
  if command -v casper-node-util >/dev/null 2>&1; then
    command -v casper-node-util
  elif [[ -x $CASPER_ETC/node_util.py ]]; then
    printf '%s\n' "$CASPER_ETC/node_util.py"
  else
    return 1
  fi
}

# A version is staged when its config.toml and its binary are both present;
# casper-node-launcher refuses to start when the versions of the two differ.
remove_half_staged() {
  local v removed=0
  for v in $( { protocol_versions "$CASPER_ETC"; protocol_versions "$CASPER_BIN"; } | sort -u); do
    if is_staged "$v"; then continue; fi
    log "$STEP: version $v is staged half-way (config.toml: $([[ -f $CASPER_ETC/$v/config.toml ]] && echo yes || echo no), binary: $([[ -f $CASPER_BIN/$v/casper-node ]] && echo yes || echo no)); removing it so that it is staged again"
    rm -rf -- "${CASPER_ETC:?}/$v" "${CASPER_BIN:?}/$v"
    removed=$((removed + 1))
  done
  if ((removed)); then log "$STEP: removed $removed half-staged version(s)"; fi
}

record_result() {
  local outcome=$1 message=$2
  mkdir -p "${RESULT_FILE%/*}"
  chmod 0755 "${RESULT_FILE%/*}"
  python3 -c '
import json, sys, time
print(json.dumps({"failed": sys.argv[1] == "failed", "message": sys.argv[2], "time": int(time.time())}))
' "$outcome" "$message" | write_if_changed "$RESULT_FILE" 0644
}

fail() {
  record_result failed "$1"
  die "$1"
}

# Whether at least one version is staged and none is staged half-way.
all_staged() {
  local v n=0
  for v in $(protocol_versions "$CASPER_ETC"); do
    is_staged "$v" || return 1
    n=$((n + 1))
  done
  ((n > 0))
}

last_run_succeeded() {
  [[ -f $RESULT_FILE ]] && grep -q '"failed": false' "$RESULT_FILE"
}

# The node's ports in every staged config.toml (rewritten only where they differ).
write_ports() {
  local configs=()
  mapfile -t configs < <(staged_configs)
  ((${#configs[@]})) || fail "stage_protocols staged no protocol version"
  local ports=(--gossip "$GOSSIP_PORT" --rest "$REST_PORT" --sse "$SSE_PORT")
  if [[ -n $RPC_PORT ]]; then ports+=(--rpc "$RPC_PORT"); fi
  python3 "$HERE/casper-node-config.py" node-ports "${ports[@]}" "${configs[@]}" >&2 ||
    fail "cannot write the node's ports into ${configs[*]}"
}

main() {
  local if_missing=0
  if [[ ${1:-} == --if-missing ]]; then
    if_missing=1
    shift
  fi
  if (($# != 1)); then
    echo "usage: $0 [--if-missing] <settings file>" >&2
    exit 2
  fi
  load_settings "$1"
  if ((if_missing)) && all_staged && last_run_succeeded; then
    log "$STEP: protocols already staged, skipped"
    write_ports
    return 0
  fi
  local tool rc=0
  tool=$(staging_tool) || fail "neither casper-node-util nor $CASPER_ETC/node_util.py is installed"
  [[ -f $CASPER_ETC/network_configs/$NETWORK_CONFIG ]] ||
    fail "$CASPER_ETC/network_configs/$NETWORK_CONFIG not found (it comes with casper-node-launcher)"

  remove_half_staged
  log "$STEP: ${tool##*/} stage_protocols $NETWORK_CONFIG --ip $PUBLIC_IP (at most $TIMEOUT_SECONDS s)"
  runuser -u casper -- timeout --kill-after=30 "$TIMEOUT_SECONDS" \
    "$tool" stage_protocols "$NETWORK_CONFIG" --ip "$PUBLIC_IP" || rc=$?
  remove_half_staged
  if ((rc == 124 || rc == 137)); then
    fail "${tool##*/} stage_protocols did not finish within $TIMEOUT_SECONDS s"
  elif ((rc != 0)); then
    fail "${tool##*/} stage_protocols $NETWORK_CONFIG failed with exit code $rc"
  fi

  write_ports
  local versions
  versions=$(protocol_versions "$CASPER_ETC" | tr '\n' ' ')
  record_result ok "staged: ${versions% }"
  log "$STEP: staged: ${versions% }"
}

main "$@"
