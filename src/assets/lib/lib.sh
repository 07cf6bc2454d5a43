#!/usr/bin/env bash
# Shell helpers shared by the node scripts (node/bootstrap.sh,
# node/stage-protocols.sh) and the VPN setup (vpn/setup.sh): logging, error
# reporting, bounded retries and polls, idempotent file writes, dpkg/apt and
# IMDSv2 access. Sourced, not run. It ships beside each script that sources it
# (the config bucket deploys it with node/, the VPN user data downloads it next
# to setup.sh), so a script sources "$HERE/lib.sh", HERE being its own directory.
#
# Test hooks: environment variables named CASPER_<NAME>. They are unset on an
# instance, where the defaults below hold; tests set them to run the scripts
# in a temp dir against stubbed commands (every system command is called
# through PATH). The same names are read by the scripts that do not source
# this file (node/user-data.sh fetches it, node/watchdog.sh runs alone).
#   CASPER_ROOT          prefix of every path the scripts read or write
#                        (default: empty, the real filesystem)
#   CASPER_POLL_SECONDS  base wait of retry, poll_until and the scripts' own
#                        polls, in seconds (default 5; tests use 0)
#   CASPER_NOW           the current time, epoch seconds (node/watchdog.sh;
#                        default: the clock)
#   CASPER_EASYRSA_DIR   where easyrsa is (vpn/setup.sh; default
#                        /usr/share/easy-rsa, Ubuntu's easy-rsa package)
set -euo pipefail

# shellcheck disable=SC2034 # used by the scripts that source this file
ROOT="${CASPER_ROOT:-}"
POLL_SECONDS="${CASPER_POLL_SECONDS:-5}"
IMDS="http://169.254.169.254/latest"
IMDS_TOKEN=""
# Allow a dpkg lock held by unattended-upgrades at first boot to be released.
APT_LOCK_WAIT=(-o DPkg::Lock::Timeout=300)

STEP="startup"       # named in every ERROR line
CHANGED=0            # set by write_if_changed
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

# setup_logging <file> [<console fd>]: stdout and stderr, timestamped, to the
# file and to the console: stdout (fd 1, the default) or stderr (fd 2).
setup_logging() {
  local file=$1 console=${2:-1}
  mkdir -p "${file%/*}"
  touch "$file"
  chmod 0640 "$file"
  exec > >(timestamp_lines | tee -a "$file" >&"$console") 2>&1
}

# retry <attempts> <command...>: runs a command until it succeeds, waiting a
# little longer after each failure. Returns 1 when all attempts fail.
# (The command runs as a condition, so a function passed in must check its
# own errors: errexit does not apply inside it.)
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
# shellcheck disable=SC2034 # CHANGED is read by the scripts that source this file
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

# apt_get <args...>: apt-get without questions. Every call waits for the dpkg
# lock, which unattended-upgrades holds for minutes at first boot, instead of
# failing at once; local .deb files go through it too (dpkg -i does not wait
# for the lock).
apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_LOCK_WAIT[@]}" "$@"
}

# imds_token: a new IMDSv2 session token in IMDS_TOKEN.
imds_token() {
  IMDS_TOKEN=$(curl -fsS --max-time 5 -X PUT "$IMDS/api/token" \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600')
  [[ -n $IMDS_TOKEN ]]
}

# imds_get <path below meta-data/>: prints the value; fails on 404.
imds_get() {
  curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/meta-data/$1"
}
