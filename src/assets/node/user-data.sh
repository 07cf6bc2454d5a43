#!/usr/bin/env bash
# EC2 user data for a Casper node: arm the bootstrap deadline, copy the
# bootstrap from the config bucket and hand over to it. The construct fills in
# its placeholders (config bucket, key prefix ending in /, region, bootstrap
# timeout in seconds) before use.
#
#   user-data.sh              at first boot (cloud-init)
#   user-data.sh --deadline   run by the deadline timer it arms
set -euo pipefail

root="${CASPER_ROOT:-}"
dir="$root/opt/casper-bootstrap"
log="$root/var/log/casper-bootstrap.log"
# Written by bootstrap.sh when the node answers steadily.
done_stamp="$root/var/lib/casper-bootstrap/done"
# Present while bootstrap.sh waits for a data volume the lifecycle is moving.
pending_stamp="$root/var/lib/casper-bootstrap/volume-pending"
deadline_script="$root/usr/local/sbin/casper-bootstrap-deadline"
timeout_seconds=__BOOTSTRAP_TIMEOUT_SECONDS__
region="__REGION__"
imds="http://169.254.169.254/latest"
instance_id=""

# The network and apt may still be settling at first boot.
retry() {
  local n
  for n in 1 2 3 4 5; do
    "$@" && return 0
    echo "user data: '$*' failed (attempt $n of 5)" >&2
    sleep $((${CASPER_POLL_SECONDS:-5} * n))
  done
  return 1
}

imds_get() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT "$imds/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300') || return 1
  curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"
}

# Tells the group's creation policy at once that this instance failed (on a
# replacement nothing waits for it, and the call fails harmlessly).
signal_failure() {
  local stack="" logical=""
  command -v aws >/dev/null 2>&1 || return 0
  [[ -n $instance_id ]] || instance_id=$(retry imds_get instance-id) || return 0
  stack=$(imds_get "tags/instance/aws:cloudformation:stack-name") || stack=""
  logical=$(imds_get "tags/instance/aws:cloudformation:logical-id") || logical=""
  [[ -n $stack && -n $logical ]] || return 0
  aws cloudformation signal-resource --stack-name "$stack" --logical-resource-id "$logical" \
    --unique-id "$instance_id" --status FAILURE --region "$region" ||
    echo "user data: signal-resource FAILURE failed (nothing may be waiting for this instance)"
}

# arm_deadline <unit>: run this script in deadline mode after the timeout.
arm_deadline() {
  systemd-run --unit="$1" --on-active="${timeout_seconds}s" \
    --description="Report the instance unhealthy if the Casper bootstrap has not finished" \
    /bin/bash "${deadline_script#"$root"}" --deadline ||
    echo "ERROR: user data: cannot arm the bootstrap deadline"
}

# The bootstrap did not finish within the timeout, whether it died or hangs:
# tell CloudFormation (first deploy) and Auto Scaling (any instance), so that
# a broken instance never looks healthy. When Auto Scaling cannot be told,
# power off: a stopped instance fails the group's EC2 health check.
deadline() {
  exec >>"$log" 2>&1
  if [[ -e $done_stamp ]]; then
    echo "bootstrap deadline: the bootstrap finished in time"
    return 0
  fi
  # The instance is still in its launch hook while its data moves: the hook
  # (and the workflow behind it) bounds that wait, and the bootstrap's own
  # time starts once the volume is there. Look again after another timeout.
  if [[ -e $pending_stamp ]]; then
    echo "bootstrap deadline: the data volume is still being moved or restored; checking again in $timeout_seconds s"
    arm_deadline "casper-bootstrap-deadline-$(date +%s)"
    return 0
  fi
  echo "ERROR: bootstrap deadline: the bootstrap has not finished after $timeout_seconds s; reporting this instance unhealthy"
  local asg=""
  instance_id=$(retry imds_get instance-id) || instance_id=""
  asg=$(imds_get "tags/instance/aws:autoscaling:groupName") || asg=""
  signal_failure
  # The group's grace period is the bootstrap timeout: do not let it swallow this report.
  if [[ -n $instance_id && -n $asg ]] && command -v aws >/dev/null 2>&1 &&
    retry aws autoscaling set-instance-health --instance-id "$instance_id" --health-status Unhealthy \
      --no-should-respect-grace-period --region "$region"; then
    echo "bootstrap deadline: reported instance $instance_id unhealthy to Auto Scaling group $asg"
    return 0
  fi
  echo "ERROR: bootstrap deadline: cannot report to Auto Scaling (instance '$instance_id', group '$asg'); powering off so that the group replaces this instance"
  systemctl poweroff
}

if [[ ${1:-} == --deadline ]]; then
  deadline
  exit 0
fi

mkdir -p "$dir" "${log%/*}"
# Copy output to the bootstrap log; fds 3 and 4 keep the console so that
# bootstrap.sh, which logs by itself, is not logged twice.
exec 3>&1 4>&2 > >(tee -a "$log") 2>&1

# Armed before anything can fail, by a transient systemd timer that runs this
# same script (a copy of it, placeholders filled in) in deadline mode.
if [[ ! -e $done_stamp ]]; then
  mkdir -p "${deadline_script%/*}"
  cp -- "${BASH_SOURCE[0]}" "$deadline_script"
  chmod 0755 "$deadline_script"
  arm_deadline casper-bootstrap-deadline
fi

if ! command -v aws >/dev/null 2>&1; then
  echo "user data: installing the AWS CLI"
  export DEBIAN_FRONTEND=noninteractive
  retry apt-get update || { echo "ERROR: user data: apt-get update failed"; exit 1; }
  retry apt-get install -y -o DPkg::Lock::Timeout=300 awscli ||
    { echo "ERROR: user data: cannot install awscli"; exit 1; }
fi
if ! retry aws s3 cp --recursive "s3://__CONFIG_BUCKET__/__CONFIG_PREFIX__" "$dir/" --region "$region"; then
  echo "ERROR: user data: cannot copy s3://__CONFIG_BUCKET__/__CONFIG_PREFIX__"
  signal_failure
  exit 1
fi

exec 1>&3 2>&4 3>&- 4>&-
exec bash "$dir/bootstrap.sh" "$dir/config.json"
