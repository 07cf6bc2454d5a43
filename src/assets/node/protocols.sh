#!/usr/bin/env bash
# Protocol-version helpers of the node scripts (bootstrap.sh and
# stage-protocols.sh), on top of lib.sh, which must be sourced first. Sourced,
# not run.
set -euo pipefail

# Where casper-node-launcher finds each protocol version: its config under
# CASPER_ETC/<version>/ and its binary under CASPER_BIN/<version>/.
CASPER_ETC="$ROOT/etc/casper"
CASPER_BIN="$ROOT/var/lib/casper/bin"

# protocol_versions <dir>: the version directories (names like 2_0_0) in dir, oldest first.
protocol_versions() {
  local d
  shopt -s nullglob
  for d in "$1"/[0-9]*_[0-9]*_[0-9]*/; do
    d=${d%/}
    printf '%s\n' "${d##*/}"
  done | sort -t_ -k1,1n -k2,2n -k3,3n
  shopt -u nullglob
}

# is_staged <version>: its config.toml and its binary are both present.
is_staged() {
  [[ -f $CASPER_ETC/$1/config.toml && -f $CASPER_BIN/$1/casper-node ]]
}

# staged_configs: the config.toml of every fully staged version, oldest first.
staged_configs() {
  local v
  for v in $(protocol_versions "$CASPER_ETC"); do
    if is_staged "$v"; then printf '%s\n' "$CASPER_ETC/$v/config.toml"; fi
  done
}
