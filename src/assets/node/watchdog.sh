#!/usr/bin/env bash
# Casper node health watchdog, run every minute by casper-watchdog.timer.
#
# While the node's REST /status does not answer, it restarts the node once
# (after RESTART_AFTER_SECONDS of outage) and, if that does not help, reports
# the instance unhealthy (after UNHEALTHY_AFTER_SECONDS) so that the Auto
# Scaling group replaces it; the data volume follows the new instance.
# Settings come from /etc/casper-watchdog.env, written by the bootstrap.
set -euo pipefail

ROOT="${CASPER_ROOT:-}"
ENV_FILE="$ROOT/etc/casper-watchdog.env"
STATE_DIR="$ROOT/var/lib/casper-watchdog"
DONE_FILE="$ROOT/var/lib/casper-bootstrap/done"
IMDS="http://169.254.169.254/latest"

log() { printf 'casper-watchdog: %s\n' "$*"; }

# Reads only the known keys; the file is parsed, never sourced.
load_env() {
  REST_PORT="" RESTART_AFTER_SECONDS="" UNHEALTHY_AFTER_SECONDS="" REGION=""
  local key value
  while IFS='=' read -r key value; do
    case $key in
      REST_PORT | RESTART_AFTER_SECONDS | UNHEALTHY_AFTER_SECONDS | REGION) printf -v "$key" '%s' "$value" ;;
    esac
  done <"$ENV_FILE"
  for key in REST_PORT RESTART_AFTER_SECONDS UNHEALTHY_AFTER_SECONDS; do
    if [[ ! ${!key} =~ ^[0-9]+$ ]]; then
      log "ERROR: $ENV_FILE: $key must be a number, got '${!key}'"
      exit 1
    fi
  done
  if [[ -z $REGION ]]; then
    log "ERROR: $ENV_FILE: REGION is missing"
    exit 1
  fi
}

report_unhealthy() {
  local down=$1 token instance_id asg
  token=$(curl -fsS --max-time 5 -X PUT "$IMDS/api/token" \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300') || {
    log "ERROR: cannot get an IMDSv2 token; will retry"
    exit 1
  }
  instance_id=$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" \
    "$IMDS/meta-data/instance-id") || {
    log "ERROR: cannot read the instance id; will retry"
    exit 1
  }
  asg=$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" \
    "$IMDS/meta-data/tags/instance/aws:autoscaling:groupName" 2>/dev/null) || asg=""
  if [[ -z $asg ]]; then
    log "ERROR: node down for ${down}s but instance $instance_id has no aws:autoscaling:groupName tag; nothing can replace it"
    exit 1
  fi
  log "node has not answered /status for ${down}s (>= ${UNHEALTHY_AFTER_SECONDS}s): reporting instance $instance_id unhealthy to Auto Scaling group $asg"
  # The grace period covers the bootstrap, which has already finished here.
  if ! aws autoscaling set-instance-health --instance-id "$instance_id" --health-status Unhealthy \
    --no-should-respect-grace-period --region "$REGION"; then
    log "ERROR: set-instance-health failed; will retry"
    exit 1
  fi
  date +%s >"$STATE_DIR/unhealthy_reported"
}

main() {
  # The bootstrap waits for the node itself; until it is done, stay out.
  if [[ ! -e $DONE_FILE ]]; then
    log "bootstrap not finished, nothing to do"
    exit 0
  fi
  load_env
  local now since down
  now=${CASPER_NOW:-$(date +%s)}

  if curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$REST_PORT/status" 2>/dev/null; then
    if [[ -e $STATE_DIR/down_since ]]; then
      log "node answers /status again; outage state cleared"
    fi
    rm -f "$STATE_DIR/down_since" "$STATE_DIR/restarted_at" "$STATE_DIR/unhealthy_reported"
    exit 0
  fi

  mkdir -p "$STATE_DIR"
  since=""
  if [[ -f $STATE_DIR/down_since ]]; then since=$(<"$STATE_DIR/down_since"); fi
  if [[ ! $since =~ ^[0-9]+$ ]]; then
    since=$now
    printf '%s\n' "$since" >"$STATE_DIR/down_since"
    log "node does not answer http://127.0.0.1:$REST_PORT/status; outage started"
  fi
  down=$((now - since))

  if ((down >= UNHEALTHY_AFTER_SECONDS)); then
    if [[ -e $STATE_DIR/unhealthy_reported ]]; then
      log "node down for ${down}s; instance already reported unhealthy, waiting for its replacement"
      exit 0
    fi
    report_unhealthy "$down"
  elif ((down >= RESTART_AFTER_SECONDS)); then
    if [[ -e $STATE_DIR/restarted_at ]]; then
      log "node down for ${down}s after a restart; reporting unhealthy at ${UNHEALTHY_AFTER_SECONDS}s"
      exit 0
    fi
    log "node has not answered /status for ${down}s (>= ${RESTART_AFTER_SECONDS}s): restarting casper-node-launcher.service"
    # Recorded even when the restart fails: one attempt per outage, then the
    # unhealthy report takes over.
    if ! systemctl restart casper-node-launcher.service; then
      log "ERROR: restarting casper-node-launcher.service failed"
    fi
    printf '%s\n' "$now" >"$STATE_DIR/restarted_at"
  else
    log "node down for ${down}s; restart at ${RESTART_AFTER_SECONDS}s, unhealthy at ${UNHEALTHY_AFTER_SECONDS}s"
  fi
}

main "$@"
