#!/usr/bin/env bash
# Helpers for bootstrap.sh: logging, error reporting, bounded retries and
# polls, idempotent file writes and IMDSv2 access. Sourced, not run.
set -euo pipefail

# Every path is prefixed so tests can run the scripts in a temp dir.
# shellcheck disable=SC2034 # used by bootstrap.sh, which sources this file
ROOT="${CASPER_ROOT:-}"
POLL_SECONDS="${CASPER_POLL_SECONDS:-5}"
IMDS="http://169.254.169.254/latest"
IMDS_TOKEN=""

STEP="startup"       # named in every ERROR line
CHANGED=0            # set by write_if_changed
# shellcheck disable=SC2034 # used by bootstrap.sh
NEED_RELOAD=0        # a unit file or drop-in changed: daemon-reload before use
TEMP_PATHS=()        # removed on exit, so no half-written file survives a failure
FATAL_HOOK=""        # a function run once, in the main shell, on a fatal error

# Log lines go to stderr so that functions returning values on stdout can log;
# setup_logging sends both streams to the log.
log() { printf '%s\n' "$*" >&2; }

# Runs FATAL_HOOK once, and only in the main shell: a failing $(...) makes
# its caller fail next, which then reports.
run_fatal_hook() {
  local hook=$FATAL_HOOK
  FATAL_HOOK=""
  if [[ -n $hook && $BASHPID == "$$" ]]; then "$hook" || true; fi
}

die() {
  log "ERROR: $STEP: $*"
  run_fatal_hook
  exit 1
}

on_err() {
  local rc=$1 line=$2 cmd=$3
  # A failing $(...) exits quietly; its caller fails next and reports once.
  if [[ $BASHPID != "$$" ]]; then exit "$rc"; fi
  log "ERROR: $STEP: '$cmd' failed with exit code $rc (line $line)"
  run_fatal_hook
  exit "$rc"
}

cleanup() {
  local p
  for p in "${TEMP_PATHS[@]}"; do rm -rf -- "$p"; done
}

set -o errtrace
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
trap cleanup EXIT

# Timestamp every line (date is not forked per line: printf %()T is a builtin).
timestamp_lines() {
  local line
  while IFS= read -r line || [[ -n $line ]]; do
    printf '%(%Y-%m-%dT%H:%M:%S%z)T %s\n' -1 "$line"
  done
}

# setup_logging <file>: stdout and stderr, timestamped, to the file and stdout.
setup_logging() {
  local file=$1
  mkdir -p "${file%/*}"
  touch "$file"
  chmod 0640 "$file"
  exec > >(timestamp_lines | tee -a "$file") 2>&1
}

# retry <attempts> <command...>: runs an external command until it succeeds,
# waiting a little longer after each failure. Returns 1 when all attempts fail.
retry() {
  local attempts=$1 n=1
  shift
  until "$@"; do
    if ((n >= attempts)); then return 1; fi
    log "$STEP: '$1' failed (attempt $n of $attempts), retrying"
    sleep $((POLL_SECONDS * n))
    n=$((n + 1))
  done
}

# poll_until <bound seconds> <command...>: true as soon as the command
# succeeds, false once the bound has passed. The attempts are also capped at
# bound / interval, so the bound holds even when sleep returns at once (tests).
poll_until() {
  local bound=$1 interval=$POLL_SECONDS start=$SECONDS n=1 max
  shift
  if ((interval < 1)); then interval=1; fi
  max=$(((bound + interval - 1) / interval))
  if ((max < 1)); then max=1; fi
  until "$@"; do
    if ((n >= max || SECONDS - start >= bound)); then return 1; fi
    sleep "$POLL_SECONDS"
    n=$((n + 1))
  done
}

# write_if_changed <dest> <mode>: stdin becomes the content of dest, written
# to a temp file in the same directory and renamed over dest, so a failure
# never leaves a partial file. Sets CHANGED=1 if the content differed, else 0.
# (It reports through CHANGED, not its exit code, so that it is never called
# as a condition, where bash would ignore errors inside it.)
# shellcheck disable=SC2034 # CHANGED is read by bootstrap.sh
write_if_changed() {
  local dest=$1 mode=$2 tmp
  mkdir -p "${dest%/*}"
  tmp=$(mktemp "${dest%/*}/.${dest##*/}.XXXXXX")
  TEMP_PATHS+=("$tmp")
  cat >"$tmp"
  if [[ -f $dest ]] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
    CHANGED=0
    return 0
  fi
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$dest"
  CHANGED=1
}

# is_installed <package>: dpkg knows the package as fully installed.
is_installed() {
  local status
  # shellcheck disable=SC2016 # ${Status} is a dpkg-query format field, not a shell expansion
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ $status == "install ok installed" ]]
}

imds_token() {
  IMDS_TOKEN=$(curl -fsS --max-time 5 -X PUT "$IMDS/api/token" \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600')
  [[ -n $IMDS_TOKEN ]]
}

# imds_get <path below meta-data/>: prints the value; fails on 404.
imds_get() {
  curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/meta-data/$1"
}

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
