#!/usr/bin/env bash
# EC2 user data for a Casper node: copy the bootstrap from the config bucket
# and hand over to it. The construct replaces __CONFIG_BUCKET__,
# __CONFIG_PREFIX__ (ends in /) and __REGION__ before use.
set -euo pipefail

root="${CASPER_ROOT:-}"
dir="$root/opt/casper-bootstrap"
log="$root/var/log/casper-bootstrap.log"
mkdir -p "$dir" "${log%/*}"
# Copy output to the bootstrap log; fds 3 and 4 keep the console so that
# bootstrap.sh, which logs by itself, is not logged twice.
exec 3>&1 4>&2 > >(tee -a "$log") 2>&1

# The network and apt may still be settling at first boot.
retry() {
  local n
  for n in 1 2 3 4 5; do
    "$@" && return 0
    echo "user data: '$*' failed (attempt $n of 5)"
    sleep $((${CASPER_POLL_SECONDS:-5} * n))
  done
  return 1
}

if ! command -v aws >/dev/null 2>&1; then
  echo "user data: installing the AWS CLI"
  export DEBIAN_FRONTEND=noninteractive
  retry apt-get update || { echo "ERROR: user data: apt-get update failed"; exit 1; }
  retry apt-get install -y -o DPkg::Lock::Timeout=300 awscli ||
    { echo "ERROR: user data: cannot install awscli"; exit 1; }
fi
retry aws s3 cp --recursive "s3://__CONFIG_BUCKET__/__CONFIG_PREFIX__" "$dir/" --region "__REGION__" ||
  { echo "ERROR: user data: cannot copy s3://__CONFIG_BUCKET__/__CONFIG_PREFIX__"; exit 1; }

exec 1>&3 2>&4 3>&- 4>&-
exec bash "$dir/bootstrap.sh" "$dir/config.json"
