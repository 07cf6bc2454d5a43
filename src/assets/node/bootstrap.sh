#!/usr/bin/env bash
# Bootstraps a read-only Casper node on Ubuntu 22.04 (EC2).
#
#   bootstrap.sh <config.json>
#
# Run by the user data after it has copied this folder (with lib.sh, which the
# config bucket deploys beside it) from the config bucket. Every step checks
# the machine first and changes only what is missing, so a rerun on a
# bootstrapped machine formats nothing, generates no key, installs nothing and
# rewrites no file. All paths are prefixed by $CASPER_ROOT and all system
# commands are called through PATH, so tests run it with stubs (the test
# hooks: see lib.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh
source "$HERE/lib.sh"
# shellcheck source-path=SCRIPTDIR source=protocols.sh
source "$HERE/protocols.sh"

# The CloudWatch agent installs its control script outside PATH; appended so
# that a stub earlier in PATH still wins in tests.
PATH="$PATH:/opt/aws/amazon-cloudwatch-agent/bin"

LOG_FILE="$ROOT/var/log/casper-bootstrap.log"
STATE_DIR="$ROOT/var/lib/casper-bootstrap"
KEYS_DIR="$CASPER_ETC/validator_keys"
LAUNCHER_DROPIN_DIR="$ROOT/etc/systemd/system/casper-node-launcher.service.d"
APT_KEYRING="/etc/apt/keyrings/casper-repo-pubkey.gpg"   # as apt sees it

# Scripts the node keeps using after the bootstrap (the protocol stager and
# what it runs), installed side by side in TOOLS_DIR.
NODE_TOOLS="lib.sh protocols.sh stage-protocols.sh casper-node-config.py casper-trusted-hash.py"
TOOLS_DIR="$ROOT/usr/local/lib/casper-node"
STAGE_SETTINGS="$ROOT/etc/casper-stage-protocols.env"
SIDECAR_CONFIG="$ROOT/etc/casper-sidecar/config.toml"

# The member slot of a fleet member, kept for reruns (see resolve_member_slot).
MEMBER_STATE="$STATE_DIR/member-slot"

INSTANCE_ID=""
VOLUME_ID=""
MEMBER_SLOT=""
CHAIN_STORAGE_AT_START=0   # see note_chain_storage
WORK=""
NEED_RELOAD=0        # a unit file or drop-in changed: daemon-reload before use

# ---------------------------------------------------------------- config ----

# Reads and validates the JSON config (python3 standard library: jq is not on
# the AMI) and defines the CFG_* variables from it.
load_config() {
  STEP="config"
  local file=$1 assignments
  [[ -f $file ]] || die "config file $file not found"
  assignments=$(python3 - "$file" <<'PY'
import json, re, shlex, sys

path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as f:
        cfg = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f"cannot read {path}: {e}")

out = {}

def get(dotted, kind, zero_ok=False):
    value = cfg
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            sys.exit(f"{path}: missing {dotted}")
        value = value[key]
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (value == 0 and not zero_ok):
            sys.exit(f"{path}: {dotted} must be a {'non-negative' if zero_ok else 'positive'} integer, got {value!r}")
    elif not isinstance(value, kind):
        sys.exit(f"{path}: {dotted} must be a {kind.__name__}, got {value!r}")
    return value

def put(name, dotted, kind=str, pattern=None, zero_ok=False):
    value = get(dotted, kind, zero_ok)
    if pattern is not None and not re.fullmatch(pattern, value):
        sys.exit(f"{path}: {dotted} has an invalid value {value!r}")
    if kind is bool:
        value = "true" if value else "false"
    out[name] = str(value)

if cfg.get("schemaVersion") != 2:
    sys.exit(f"{path}: unsupported schemaVersion {cfg.get('schemaVersion')!r} (this bootstrap reads 2)")
NODE_NAME_PATTERN = r"[A-Za-z0-9._-]+"
SECRET_ARN_PATTERN = r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+"
TAG_KEY_PATTERN = r"[A-Za-z0-9:._@+-]+"
put("NODE_NAME", "nodeName", pattern=NODE_NAME_PATTERN)
put("REGION", "region", pattern=r"[a-z]{2}(-[a-z]+)+-[0-9]+")
put("CHAINSPEC_NAME", "network.chainspecName", pattern=r"[A-Za-z0-9._-]+")
put("NETWORK_CONFIG", "network.networkConfigFileName", pattern=r"[A-Za-z0-9._-]+")
put("RUNS_SIDECAR", "network.runsSidecar", bool)
put("REST_PORT", "network.restPort", int)
put("GOSSIP_PORT", "network.gossipPort", int)
put("SSE_PORT", "network.ssePort", int)
put("RPC_PORT", "network.rpcPort", int)
# Empty: this instance's own public IPv4, from instance metadata (fleet members).
put("PUBLIC_IP", "publicIp", pattern=r"([0-9]{1,3}(\.[0-9]{1,3}){3})?")
put("TRUSTED_HASH", "trustedHash", pattern=r"([0-9a-fA-F]{64})?")
put("PEERS_MIN_AGREE", "trustedHashFromPeers.minAgreeingPeers", int)
put("PEERS_ATTEMPTS", "trustedHashFromPeers.attempts", int)
put("PEERS_INTERVAL", "trustedHashFromPeers.intervalSeconds", int, zero_ok=True)
put("SECRET_ARN", "signingKeySecretArn", pattern=SECRET_ARN_PATTERN)
put("VOLUME_TAG_KEY", "dataVolume.instanceTagKey", pattern=TAG_KEY_PATTERN)
put("MOUNT_POINT", "dataVolume.mountPoint", pattern=r"/[A-Za-z0-9._/-]+")
put("TAG_WAIT", "dataVolume.tagWaitSeconds", int)
put("PENDING_WAIT", "dataVolume.pendingWaitSeconds", int)
put("DEVICE_WAIT", "dataVolume.deviceWaitSeconds", int)
put("FILESYSTEM", "dataVolume.filesystem", pattern=r"ext4")
put("CW_PARAMETER", "cloudWatchAgent.configParameterName", pattern=r"[A-Za-z0-9_./-]*")
put("METRICS_NAMESPACE", "metrics.namespace", pattern=r"[A-Za-z0-9.\-_/#: ]*")
put("METRICS_LOG_GROUP", "metrics.logGroupName", pattern=r"[A-Za-z0-9_./#-]*")
put("OPEN_FILES", "openFilesLimit", int)
put("APT_URL", "aptRepository.url", pattern=r"https?://[^\s]+")
put("APT_KEY_URL", "aptRepository.keyUrl", pattern=r"https?://[^\s]+")
put("APT_SUITE", "aptRepository.suite", pattern=r"[a-z0-9-]+")
put("LIBSSL_URL", "libssl11Deb.url", pattern=r"https?://[^\s]+")
put("LIBSSL_SHA256", "libssl11Deb.sha256", pattern=r"[0-9a-f]{64}")
put("STAGE_TIMEOUT", "protocolStaging.timeoutSeconds", int)
put("READY_WAIT", "health.readyWaitSeconds", int)
put("READY_STABLE", "health.readyStableSeconds", int, zero_ok=True)
put("RESTART_AFTER", "health.restartAfterSeconds", int)
put("UNHEALTHY_AFTER", "health.unhealthyAfterSeconds", int)
put("HEALTH_PORT", "healthEndpoint.port", int, zero_ok=True)
put("HEALTH_MAX_BLOCK_AGE", "healthEndpoint.maxBlockAgeSeconds", int)
put("HEALTH_MIN_PEERS", "healthEndpoint.minPeers", int, zero_ok=True)
put("SIGNAL_WHEN_IN_SYNC", "health.signalWhenInSync", bool)
put("MEMBER_TAG_KEY", "fleet.memberTagKey", pattern=TAG_KEY_PATTERN)
put("MEMBER_TAG_WAIT", "fleet.memberTagWaitSeconds", int)

# Arrays become bash arrays: CFG_<name>=(...).
arrays = {}
def put_list(name, dotted, pattern):
    values = get(dotted, list)
    for i, value in enumerate(values):
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            sys.exit(f"{path}: {dotted}[{i}] has an invalid value {value!r}")
    if len(set(values)) != len(values):
        sys.exit(f"{path}: {dotted} names the same value for two member slots")
    arrays[name] = values

put_list("FLEET_SECRET_ARNS", "fleet.signingKeySecretArns", SECRET_ARN_PATTERN)
put_list("FLEET_NODE_NAMES", "fleet.nodeNames", NODE_NAME_PATTERN)
if len(arrays["FLEET_SECRET_ARNS"]) != len(arrays["FLEET_NODE_NAMES"]):
    sys.exit(f"{path}: fleet.signingKeySecretArns has {len(arrays['FLEET_SECRET_ARNS'])} entries but fleet.nodeNames "
             f"{len(arrays['FLEET_NODE_NAMES'])} (one of each per member slot)")
for port in ("REST_PORT", "GOSSIP_PORT", "SSE_PORT", "RPC_PORT"):
    if int(out[port]) > 65535:
        sys.exit(f"{path}: a port in network is not a TCP port: {out[port]}")
if int(out["HEALTH_PORT"]) > 65535:
    sys.exit(f"{path}: healthEndpoint.port is not a TCP port: {out['HEALTH_PORT']}")
if out["HEALTH_PORT"] != "0" and out["HEALTH_PORT"] in (out["REST_PORT"], out["GOSSIP_PORT"], out["SSE_PORT"], out["RPC_PORT"]):
    sys.exit(f"{path}: healthEndpoint.port {out['HEALTH_PORT']} is also a port in network")
if out["METRICS_NAMESPACE"] and not out["METRICS_LOG_GROUP"]:
    sys.exit(f"{path}: metrics.namespace is set but metrics.logGroupName is empty")
if out["SIGNAL_WHEN_IN_SYNC"] == "true" and out["HEALTH_PORT"] == "0":
    sys.exit(f"{path}: health.signalWhenInSync needs the health endpoint, but healthEndpoint.port is 0")
for name, value in out.items():
    print(f"CFG_{name}={shlex.quote(value)}")
for name, values in arrays.items():
    print(f"CFG_{name}=({' '.join(shlex.quote(v) for v in values)})")
PY
) || die "invalid config $file (see the message above)"
  eval "$assignments"
  # Mixed-case hex is read as checksummed by casper-types: always lowercase.
  CFG_TRUSTED_HASH=${CFG_TRUSTED_HASH,,}
  if ((${#CFG_FLEET_SECRET_ARNS[@]})); then
    log "config: fleet member (${#CFG_FLEET_SECRET_ARNS[@]} slots; node name and signing key by slot), network $CFG_CHAINSPEC_NAME, region $CFG_REGION"
  else
    log "config: node $CFG_NODE_NAME, network $CFG_CHAINSPEC_NAME, region $CFG_REGION"
  fi
}

# The files this script installs must have come along from the bucket.
check_assets() {
  STEP="config"
  local f
  for f in $NODE_TOOLS watchdog.sh casper-watchdog.service casper-watchdog.timer \
    casper-stage-protocols.service casper-stage-protocols.timer \
    casper_status.py casper-metrics.py casper-metrics.service casper-metrics.timer \
    casper-health.py casper-health.service; do
    [[ -f $HERE/$f ]] || die "$HERE/$f is missing (upload the whole node/ asset folder)"
  done
}

# ------------------------------------------------------ instance metadata ----

# The tag names the volume once it is attached; "pending" while the lifecycle
# moves or restores the data, which may take hours (the launch hook bounds it).
read_volume_tag() {
  local value
  value=$(imds_get "tags/instance/$CFG_VOLUME_TAG_KEY" 2>/dev/null) && [[ -n $value ]] || return 1
  if [[ $value == pending ]]; then
    VOLUME_PENDING=1
    return 1
  fi
  VOLUME_ID=$value
}

read_instance_metadata() {
  STEP="instance metadata"
  retry 5 imds_token || die "cannot get an IMDSv2 token"
  INSTANCE_ID=$(retry 5 imds_get instance-id) || die "cannot read the instance id"
  log "instance metadata: instance $INSTANCE_ID"
  # The lifecycle workflow tags the instance once it has attached the volume.
  log "instance metadata: waiting up to $CFG_TAG_WAIT s for tag $CFG_VOLUME_TAG_KEY"
  VOLUME_PENDING=0
  if ! poll_until "$CFG_TAG_WAIT" read_volume_tag; then
    ((VOLUME_PENDING)) ||
      die "tag $CFG_VOLUME_TAG_KEY did not appear within $CFG_TAG_WAIT s (it is set by the data-volume lifecycle workflow; are instance metadata tags enabled?)"
    # A long move: the deadline timer re-arms itself while this stamp exists.
    mkdir -p "$STATE_DIR"
    : >"$STATE_DIR/volume-pending"
    log "instance metadata: the data volume is being moved or restored; waiting up to $CFG_PENDING_WAIT s more"
    if ! poll_until "$CFG_PENDING_WAIT" read_volume_tag; then
      rm -f "$STATE_DIR/volume-pending"
      die "tag $CFG_VOLUME_TAG_KEY still not a volume after $CFG_PENDING_WAIT s more (the move or restore did not finish)"
    fi
    rm -f "$STATE_DIR/volume-pending"
  fi
  [[ $VOLUME_ID =~ ^vol-[0-9a-f]+$ ]] || die "tag $CFG_VOLUME_TAG_KEY holds '$VOLUME_ID', not a volume id"
  log "instance metadata: data volume $VOLUME_ID"
}

# Fleet members have no Elastic IP (publicIp empty in the config): the
# instance's own public IPv4 goes into config.toml instead.
resolve_public_ip() {
  STEP="public ip"
  if [[ -n $CFG_PUBLIC_IP ]]; then return 0; fi
  local ip
  ip=$(retry 5 imds_get public-ipv4) && [[ -n $ip ]] ||
    die "publicIp is empty in the config (use this instance's own) but this instance has no public IPv4 (no public-ipv4 in its instance metadata; launch it in a subnet that assigns public IPv4 addresses)"
  [[ $ip =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "instance metadata public-ipv4 holds '$ip', not an IPv4 address"
  CFG_PUBLIC_IP=$ip
  log "public ip: $ip, this instance's own (from instance metadata)"
}

# ---------------------------------------------------------- fleet member ----

# A whole number naming one of the fleet's slots (no sign, no leading zero).
valid_slot() {
  [[ $1 =~ ^(0|[1-9][0-9]{0,8})$ ]] && (($1 < ${#CFG_FLEET_SECRET_ARNS[@]}))
}

MEMBER_TAG=""
read_member_tag() {
  MEMBER_TAG=$(imds_get "tags/instance/$CFG_MEMBER_TAG_KEY" 2>/dev/null) && [[ -n $MEMBER_TAG ]]
}

# A fleet member runs with its slot's node name and signing key. The
# data-volume lifecycle writes the attached volume's slot onto the instance
# (tag casper:member) before casper:data-volume, so the tag is normally there
# by now; it is waited for a little, for instance metadata to catch up. The
# slot is recorded: a rerun (after a reboot) keeps it, as it keeps the key
# installed from that slot's secret.
resolve_member_slot() {
  STEP="fleet member"
  local count=${#CFG_FLEET_SECRET_ARNS[@]}
  if ((count == 0)); then return 0; fi
  if [[ -f $MEMBER_STATE ]]; then
    MEMBER_SLOT=$(<"$MEMBER_STATE")
    valid_slot "$MEMBER_SLOT" ||
      die "${MEMBER_STATE#"$ROOT"} holds '$MEMBER_SLOT', not a member slot of this fleet of $count (0 to $((count - 1)))"
    log "fleet member: slot $MEMBER_SLOT, recorded by an earlier run"
    if read_member_tag && [[ $MEMBER_TAG != "$MEMBER_SLOT" ]]; then
      log "fleet member: tag $CFG_MEMBER_TAG_KEY now holds '$MEMBER_TAG'; keeping slot $MEMBER_SLOT, whose key is installed"
    fi
  else
    log "fleet member: waiting up to $CFG_MEMBER_TAG_WAIT s for tag $CFG_MEMBER_TAG_KEY"
    poll_until "$CFG_MEMBER_TAG_WAIT" read_member_tag ||
      die "tag $CFG_MEMBER_TAG_KEY did not appear within $CFG_MEMBER_TAG_WAIT s (the data-volume lifecycle writes the volume's member slot before $CFG_VOLUME_TAG_KEY)"
    valid_slot "$MEMBER_TAG" ||
      die "tag $CFG_MEMBER_TAG_KEY holds '$MEMBER_TAG', not a member slot of this fleet of $count (a whole number from 0 to $((count - 1)))"
    MEMBER_SLOT=$MEMBER_TAG
    write_if_changed "$MEMBER_STATE" 0644 <<<"$MEMBER_SLOT"
  fi
  CFG_NODE_NAME=${CFG_FLEET_NODE_NAMES[MEMBER_SLOT]}
  CFG_SECRET_ARN=${CFG_FLEET_SECRET_ARNS[MEMBER_SLOT]}
  log "fleet member: slot $MEMBER_SLOT of $count: node $CFG_NODE_NAME, signing key secret $CFG_SECRET_ARN"
}

# -------------------------------------------------------------- packages ----

all_installed() {
  local p
  for p in "$@"; do is_installed "$p" || return 1; done
}

add_casper_repository() {
  local raw="$WORK/casper-repo-key" key="$WORK/casper-repo-key.gpg"
  retry 3 curl -fsSL --max-time 60 -o "$raw" "$CFG_APT_KEY_URL" ||
    die "cannot download the Casper repository key from $CFG_APT_KEY_URL"
  [[ -s $raw ]] || die "the Casper repository key from $CFG_APT_KEY_URL is empty"
  # signed-by needs a binary keyring for a .gpg path (apt takes armoured keys
  # only as .asc), so an armoured key is dearmoured and a binary one kept as is.
  if grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$raw"; then
    gpg --batch --yes --dearmor -o "$key" "$raw" || die "cannot dearmor the Casper repository key"
  else
    cp "$raw" "$key"
  fi
  write_if_changed "$ROOT$APT_KEYRING" 0644 <"$key"
  write_if_changed "$ROOT/etc/apt/sources.list.d/casper.list" 0644 \
    <<<"deb [arch=amd64 signed-by=$APT_KEYRING] $CFG_APT_URL $CFG_APT_SUITE main"
  log "packages: Casper repository $CFG_APT_URL $CFG_APT_SUITE configured"
}

# Installs libssl1.1 from the pinned .deb, verified by its sha256. Ubuntu 22.04
# no longer ships it; older Casper builds link against it, current jammy
# builds do not, so this runs only when a check says it is needed.
install_libssl11() {
  local why=$1
  if is_installed libssl1.1; then
    log "packages: libssl1.1 already installed"
    return 0
  fi
  log "packages: $why; installing libssl1.1"
  local deb="$WORK/libssl1.1_amd64.deb" sum
  retry 3 curl -fsSL --max-time 300 -o "$deb" "$CFG_LIBSSL_URL" ||
    die "cannot download libssl1.1 from $CFG_LIBSSL_URL"
  sum=$(sha256sum "$deb")
  sum=${sum%% *}
  [[ $sum == "$CFG_LIBSSL_SHA256" ]] ||
    die "libssl1.1 from $CFG_LIBSSL_URL has sha256 $sum, expected $CFG_LIBSSL_SHA256; not installing it"
  retry 3 apt_get install -y "$deb" || die "apt-get install libssl1.1 failed"
  is_installed libssl1.1 || die "libssl1.1 not installed after apt-get install"
}

# Whether the packages about to be installed declare a dependency on libssl1.1.
packages_depend_on_libssl11() {
  local deps
  deps=$(apt-cache depends "$@" 2>/dev/null) || return 1
  grep -Eq '^[[:space:]]*Depends: libssl1\.1$' <<<"$deps"
}

# The Casper binaries on this machine: the client (and sidecar) from their
# packages, and every staged casper-node.
casper_binaries() {
  local b
  for b in casper-client casper-sidecar; do
    command -v "$b" 2>/dev/null || true
  done
  shopt -s nullglob
  for b in "$ROOT"/var/lib/casper/bin/*/casper-node; do printf '%s\n' "$b"; done
  shopt -u nullglob
}

# Installs libssl1.1 only when a Casper binary links against OpenSSL 1.1 and
# the loader cannot find it.
ensure_openssl11_when_linked() {
  STEP="packages"
  local b out
  while IFS= read -r b; do
    [[ -n $b ]] || continue
    out=$(ldd "$b" 2>&1) || true
    if grep -Eq 'lib(ssl|crypto)\.so\.1\.1 => not found' <<<"$out"; then
      install_libssl11 "${b#"$ROOT"} links against OpenSSL 1.1"
      return 0
    fi
  done < <(casper_binaries)
  log "packages: no Casper binary needs libssl1.1"
}

install_packages() {
  STEP="packages"
  local wanted=(casper-node-launcher casper-client)
  if [[ $CFG_RUNS_SIDECAR == true ]]; then wanted+=(casper-sidecar); fi
  if all_installed "${wanted[@]}"; then
    log "packages: ${wanted[*]} already installed, skipped"
    return 0
  fi
  add_casper_repository
  retry 3 apt_get update || die "apt-get update failed"
  if packages_depend_on_libssl11 "${wanted[@]}"; then
    install_libssl11 "${wanted[*]} declare a dependency on libssl1.1"
  fi
  retry 3 apt_get install -y "${wanted[@]}" ||
    die "apt-get install ${wanted[*]} failed"
  all_installed "${wanted[@]}" || die "${wanted[*]} not all installed after apt-get install"
  log "packages: installed ${wanted[*]}"
}

# ----------------------------------------------------------- data volume ----

device_present() {
  udevadm settle --timeout=10 >/dev/null 2>&1 || true
  [[ -e $1 ]]
}

# Formats the device only when blkid finds nothing on it at all.
ensure_filesystem() {
  local dev=$1 fstype rc=0
  fstype=$(blkid -o value -s TYPE "$dev") || rc=$?
  if ((rc == 2)) && [[ -z $fstype ]]; then
    log "data volume: $dev is blank, creating an ext4 filesystem"
    # No blocks reserved for root: the volume holds only chain data.
    mkfs.ext4 -m 0 -L casper-data "$dev"
    udevadm settle --timeout=10 >/dev/null 2>&1 || true
  elif ((rc != 0)); then
    die "blkid failed on $dev (exit $rc); not formatting a device that may hold data"
  elif [[ $fstype != "$CFG_FILESYSTEM" ]]; then
    die "$dev holds '${fstype:-an unknown signature}', expected $CFG_FILESYSTEM; refusing to format it"
  else
    log "data volume: $dev already holds an $fstype filesystem, kept"
  fi
}

read_uuid() {
  FS_UUID=$(blkid -o value -s UUID "$1") && [[ -n $FS_UUID ]]
}

# Exactly one fstab entry for the mount point, written only when it differs.
ensure_fstab_entry() {
  local uuid=$1 fstab="$ROOT/etc/fstab" mp=$CFG_MOUNT_POINT counts line
  line="UUID=$uuid $mp $CFG_FILESYSTEM defaults,nofail 0 2"
  [[ -e $fstab ]] || : >"$fstab"
  counts=$(awk -v mp="$mp" -v uuid="UUID=$uuid" -v want="$line" '
    /^[[:space:]]*#/ { next }
    $2 == mp || $1 == uuid { n++; if (NF == 6 && $1" "$2" "$3" "$4" "$5" "$6 == want) ok++ }
    END { print n + 0, ok + 0 }' "$fstab")
  if [[ $counts == "1 1" ]]; then
    log "data volume: fstab already mounts UUID=$uuid at $mp"
    return 0
  fi
  # Drop stale entries for this mount point or filesystem, then add ours.
  write_if_changed "$fstab" 0644 < <(
    awk -v mp="$mp" -v uuid="UUID=$uuid" '/^[[:space:]]*#/ || !($2 == mp || $1 == uuid)' "$fstab"
    printf '%s\n' "$line"
  )
  NEED_RELOAD=1   # systemd generates mount units from fstab
  log "data volume: fstab entry written: $line"
}

# Grows the filesystem when the volume was enlarged (by at least one block).
grow_filesystem() {
  local dev=$1 dev_bytes header blocks block_size
  dev_bytes=$(blockdev --getsize64 "$dev")
  header=$(dumpe2fs -h "$dev" 2>/dev/null)
  blocks=$(awk -F: '/^Block count:/ { gsub(/[[:space:]]/, "", $2); print $2 }' <<<"$header")
  block_size=$(awk -F: '/^Block size:/ { gsub(/[[:space:]]/, "", $2); print $2 }' <<<"$header")
  [[ $dev_bytes =~ ^[0-9]+$ && $blocks =~ ^[0-9]+$ && $block_size =~ ^[0-9]+$ ]] ||
    die "cannot compare the sizes of $dev and its filesystem"
  if ((dev_bytes - blocks * block_size >= block_size)); then
    log "data volume: volume is $dev_bytes bytes, filesystem $((blocks * block_size)); growing it"
    resize2fs "$dev"
  else
    log "data volume: filesystem fills the volume ($dev_bytes bytes)"
  fi
}

prepare_data_volume() {
  STEP="data volume"
  local dev="$ROOT/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${VOLUME_ID/-/}"
  local mp="$ROOT$CFG_MOUNT_POINT"
  log "data volume: waiting up to $CFG_DEVICE_WAIT s for $dev"
  poll_until "$CFG_DEVICE_WAIT" device_present "$dev" ||
    die "device $dev did not appear within $CFG_DEVICE_WAIT s"
  ensure_filesystem "$dev"
  FS_UUID=""
  retry 3 read_uuid "$dev" || die "cannot read the filesystem UUID of $dev"
  ensure_fstab_entry "$FS_UUID"
  mkdir -p "$mp"
  if mountpoint -q "$mp"; then
    log "data volume: $mp already mounted"
  else
    log "data volume: mounting $mp"
    mount "$mp"
  fi
  grow_filesystem "$dev"
  chown casper:casper "$mp"
  # Keep the node from starting on the root volume when the data volume is
  # missing after a reboot (the fstab entry is nofail).
  write_if_changed "$LAUNCHER_DROPIN_DIR/data-volume.conf" 0644 <<EOF
[Unit]
RequiresMountsFor=$CFG_MOUNT_POINT
EOF
  if ((CHANGED)); then NEED_RELOAD=1; fi
}

# ----------------------------------------------------------- signing key ----

# Writes the key files from a secret JSON on stdin into the directory.
# Exit 0: restored; 3: the secret holds no key; other: error.
IFS= read -r -d '' PY_RESTORE_KEY <<'PY' || true
import json, os, sys
stage = sys.argv[1]
try:
    data = json.loads(sys.stdin.read())
except ValueError:
    sys.exit(3)
if not isinstance(data, dict) or not data.get("secret_key_pem"):
    sys.exit(3)
files = {"secret_key.pem": "secret_key_pem", "public_key.pem": "public_key_pem", "public_key_hex": "public_key_hex"}
missing = [k for k in files.values() if not isinstance(data.get(k), str) or not data[k]]
if missing:
    sys.exit("the secret holds secret_key_pem but lacks " + ", ".join(missing))
if "PRIVATE KEY" not in data["secret_key_pem"]:
    sys.exit("secret_key_pem in the secret is not a PEM private key")
for name, key in files.items():
    fd = os.open(os.path.join(stage, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(data[key])
PY

# Packs the key files of a directory into the secret JSON (mode 0600).
IFS= read -r -d '' PY_PACK_KEY <<'PY' || true
import json, os, sys
stage, out = sys.argv[1], sys.argv[2]
data = {}
for name, key in (("secret_key.pem", "secret_key_pem"), ("public_key.pem", "public_key_pem"), ("public_key_hex", "public_key_hex")):
    with open(os.path.join(stage, name), encoding="utf-8") as f:
        data[key] = f.read()
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(data, f)
PY

# The key is prepared in a temp dir next to its final place and moved in only
# when complete (and, when new, stored in Secrets Manager first), so no
# half-written or unsaved key is ever installed. Key material is never logged.
ensure_signing_key() {
  STEP="signing key"
  if [[ -f $KEYS_DIR/secret_key.pem ]]; then
    log "signing key: $KEYS_DIR/secret_key.pem exists, kept"
    return 0
  fi
  mkdir -p "$CASPER_ETC"
  local stage secret rc=0 err="$WORK/get-secret-value.err"
  stage=$(mktemp -d "$CASPER_ETC/.validator_keys.XXXXXX")
  TEMP_PATHS+=("$stage")
  secret=$(aws secretsmanager get-secret-value --secret-id "$CFG_SECRET_ARN" \
    --query SecretString --output text --region "$CFG_REGION" 2>"$err") || rc=$?
  if ((rc != 0)); then
    # A secret created without a value has no AWSCURRENT version yet; any
    # other error must not lead to a new key replacing a stored one.
    if grep -q 'ResourceNotFoundException' "$err" && grep -q 'AWSCURRENT' "$err"; then
      log "signing key: secret $CFG_SECRET_ARN has no value yet"
      secret=""
    else
      cat "$err" >&2
      die "cannot read secret $CFG_SECRET_ARN (aws exit code $rc)"
    fi
  fi
  rc=0
  printf '%s' "$secret" | python3 -c "$PY_RESTORE_KEY" "$stage" || rc=$?
  secret=""
  if ((rc == 0)); then
    log "signing key: restored from $CFG_SECRET_ARN"
  elif ((rc == 3)); then
    log "signing key: no key stored in $CFG_SECRET_ARN, generating a new one"
    chown casper:casper "$stage"
    runuser -u casper -- casper-client keygen "$stage" >/dev/null ||
      die "casper-client keygen failed"
    local f
    for f in secret_key.pem public_key.pem public_key_hex; do
      [[ -s $stage/$f ]] || die "casper-client keygen did not write $f"
    done
    local payload="$WORK/signing-key.json"
    python3 -c "$PY_PACK_KEY" "$stage" "$payload"
    aws secretsmanager put-secret-value --secret-id "$CFG_SECRET_ARN" \
      --secret-string "file://$payload" --region "$CFG_REGION" >/dev/null ||
      die "cannot store the new key in $CFG_SECRET_ARN; no key was installed"
    rm -f "$payload"
    log "signing key: new key stored in $CFG_SECRET_ARN"
  else
    die "cannot restore the key from $CFG_SECRET_ARN"
  fi
  chmod 0600 "$stage"/secret_key.pem "$stage"/public_key.pem "$stage"/public_key_hex
  chown casper:casper "$stage"/secret_key.pem "$stage"/public_key.pem "$stage"/public_key_hex
  mkdir -p "$KEYS_DIR"
  chmod 0700 "$KEYS_DIR"
  chown casper:casper "$KEYS_DIR"
  # secret_key.pem last: its presence means the set is complete.
  mv -f "$stage/public_key.pem" "$stage/public_key_hex" "$KEYS_DIR/"
  mv -f "$stage/secret_key.pem" "$KEYS_DIR/"
  rmdir "$stage"
  log "signing key: installed in $KEYS_DIR"
}

# ------------------------------------------------------- stage protocols ----

# The stager and the config editor stay on the machine: the timer runs them
# every six hours (see install_protocol_stager), the bootstrap runs them now.
install_node_tools() {
  STEP="node tools"
  local f mode
  for f in $NODE_TOOLS; do
    mode=0755
    if [[ $f == lib.sh || $f == protocols.sh ]]; then mode=0644; fi   # sourced, not run
    write_if_changed "$TOOLS_DIR/$f" "$mode" <"$HERE/$f"
  done
  # Settings of stage-protocols.sh: the node's Elastic IP for config.toml
  # (without it casper-node-util asks public IP services) and its ports.
  local rpc_port=""
  if [[ $CFG_RUNS_SIDECAR != true ]]; then rpc_port=$CFG_RPC_PORT; fi
  write_if_changed "$STAGE_SETTINGS" 0644 <<EOF
NETWORK_CONFIG=$CFG_NETWORK_CONFIG
PUBLIC_IP=$CFG_PUBLIC_IP
GOSSIP_PORT=$CFG_GOSSIP_PORT
REST_PORT=$CFG_REST_PORT
SSE_PORT=$CFG_SSE_PORT
RPC_PORT=$rpc_port
TIMEOUT_SECONDS=$CFG_STAGE_TIMEOUT
EOF
  log "node tools: installed in ${TOOLS_DIR#"$ROOT"}"
}

stage_protocols() {
  STEP="stage protocols"
  # stage-protocols.sh stages what is missing, removes half-staged versions
  # and writes the ports; on a machine where all is staged it changes nothing.
  retry 3 "$TOOLS_DIR/stage-protocols.sh" --if-missing "$STAGE_SETTINGS" ||
    die "stage-protocols.sh failed 3 times (see its ERROR lines above)"
  [[ -n $(staged_configs) ]] || die "no protocol version is staged"
  log "stage protocols: $(staged_configs | wc -l) protocol version(s) staged"
}

# The sidecar serves JSON-RPC on 2.x networks; its port is in its own config.
configure_sidecar_port() {
  STEP="sidecar"
  if [[ $CFG_RUNS_SIDECAR != true ]]; then return 0; fi
  [[ -f $SIDECAR_CONFIG ]] || die "${SIDECAR_CONFIG#"$ROOT"} not found (it comes with casper-sidecar)"
  python3 "$TOOLS_DIR/casper-node-config.py" sidecar-port --rpc "$CFG_RPC_PORT" "$SIDECAR_CONFIG" ||
    die "cannot set the JSON-RPC port in ${SIDECAR_CONFIG#"$ROOT"}"
}

# ---------------------------------------------------------- trusted hash ----

# Whether the data volume holds the node's chain storage: casper-node keeps it
# in <storage path>/<chainspec name>/ (older releases in <storage path>/).
has_chain_storage() {
  local mp="$ROOT$CFG_MOUNT_POINT"
  [[ -s $mp/$CFG_CHAINSPEC_NAME/storage.lmdb || -s $mp/storage.lmdb ]]
}

# Looked at once, right after the volume is mounted and before this run
# starts the node: whether the node resumes from its own data decides the
# trusted hash and whether the success signal waits for the node to be in sync.
note_chain_storage() {
  CHAIN_STORAGE_AT_START=0
  if has_chain_storage; then CHAIN_STORAGE_AT_START=1; fi
}

# A node with empty storage exits in CatchUp without a trusted hash (casper-node
# catch_up.rs); a node with storage resumes from its own data. The configured
# hash wins; otherwise one that at least two of the network's known peers
# report identically is taken.
apply_trusted_hash() {
  STEP="trusted hash"
  local configs=() hash=$CFG_TRUSTED_HASH
  mapfile -t configs < <(staged_configs)
  ((${#configs[@]})) || die "no staged config.toml to update"
  if [[ -z $hash ]] && ((CHAIN_STORAGE_AT_START)); then
    log "trusted hash: the data volume holds chain storage; the node resumes from its own data"
    return 0
  fi
  if [[ -z $hash ]]; then
    local newest=${configs[-1]}
    log "trusted hash: none configured and no chain storage; asking the known peers of ${newest#"$ROOT"}"
    hash=$(python3 "$TOOLS_DIR/casper-trusted-hash.py" --config "$newest" --rest-port "$CFG_REST_PORT" \
      --chainspec "$CFG_CHAINSPEC_NAME" --min-agree "$CFG_PEERS_MIN_AGREE" --attempts "$CFG_PEERS_ATTEMPTS" \
      --interval-seconds "$CFG_PEERS_INTERVAL") ||
      die "no trusted hash: the known peers did not agree on one (see the peers tried above); set trustedHash to a block hash you trust"
    log "trusted hash: $hash agreed by the known peers"
  fi
  python3 "$TOOLS_DIR/casper-node-config.py" trusted-hash "$hash" "${configs[@]}" ||
    die "cannot write trusted_hash into ${configs[*]}"
}

# ------------------------------------------------------------ open files ----

configure_open_files() {
  STEP="open files"
  # limits.d covers login sessions; systemd services need the drop-in.
  write_if_changed "$ROOT/etc/security/limits.d/casper.conf" 0644 <<EOF
casper soft nofile $CFG_OPEN_FILES
casper hard nofile $CFG_OPEN_FILES
EOF
  write_if_changed "$LAUNCHER_DROPIN_DIR/limits.conf" 0644 <<EOF
[Service]
LimitNOFILE=$CFG_OPEN_FILES
EOF
  if ((CHANGED)); then NEED_RELOAD=1; fi
  log "open files: limit $CFG_OPEN_FILES"
}

# ------------------------------------------------------ cloudwatch agent ----

# A fleet member's copy of the fleet's agent config, with its own NodeName.
MEMBER_AGENT_CONFIG="$ROOT/opt/aws/amazon-cloudwatch-agent/etc/casper-member-agent.json"

# Sets NodeName in every append_dimensions of the agent config JSON on stdin
# to argv[1] and prints the result. Exit 0: done; 3: no append_dimensions
# names NodeName; other: not a JSON object.
IFS= read -r -d '' PY_MEMBER_AGENT_CONFIG <<'PY' || true
import json, sys
name = sys.argv[1]
try:
    cfg = json.loads(sys.stdin.read())
except ValueError as e:
    sys.exit(f"the agent config is not JSON: {e}")
if not isinstance(cfg, dict):
    sys.exit("the agent config is not a JSON object")
found = 0
def visit(value):
    global found
    if isinstance(value, dict):
        dims = value.get("append_dimensions")
        if isinstance(dims, dict) and "NodeName" in dims:
            dims["NodeName"] = name
            found += 1
        for child in value.values():
            visit(child)
    elif isinstance(value, list):
        for child in value:
            visit(child)
visit(cfg)
if not found:
    sys.exit(3)
json.dump(cfg, sys.stdout, indent=2)
sys.stdout.write("\n")
PY

# Seam for the CloudWatch agent: its config is an SSM parameter written by the
# construct; until one is wired the step is skipped.
configure_cloudwatch_agent() {
  STEP="cloudwatch agent"
  if [[ -z $CFG_CW_PARAMETER ]]; then
    log "cloudwatch agent: no config parameter yet, skipped"
    return 0
  fi
  if ! is_installed amazon-cloudwatch-agent; then
    local url="https://amazoncloudwatch-agent-$CFG_REGION.s3.$CFG_REGION.amazonaws.com/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb"
    local deb="$WORK/amazon-cloudwatch-agent.deb"
    retry 3 curl -fsSL --max-time 300 -o "$deb" "$url" || die "cannot download the agent from $url"
    retry 3 apt_get install -y "$deb" || die "apt-get install amazon-cloudwatch-agent failed"
    log "cloudwatch agent: installed"
  fi
  local stamp="$STATE_DIR/cwagent.config"
  if [[ -n $MEMBER_SLOT ]]; then
    configure_member_agent "$stamp"
    return 0
  fi
  if [[ -f $stamp && $(<"$stamp") == "$CFG_CW_PARAMETER" ]]; then
    log "cloudwatch agent: already configured from ssm:$CFG_CW_PARAMETER"
    return 0
  fi
  retry 3 amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "ssm:$CFG_CW_PARAMETER" ||
    die "cannot load the agent config from ssm:$CFG_CW_PARAMETER"
  write_if_changed "$stamp" 0644 <<<"$CFG_CW_PARAMETER"
  log "cloudwatch agent: configured from ssm:$CFG_CW_PARAMETER"
}

# The fleet's one agent config names the fleet in NodeName. A member loads a
# copy naming itself instead (a root-only file in the agent's etc dir), so its
# CPU, memory and disk metrics carry its own NodeName, as the collector's do.
# The stamp names the parameter and the member: a rerun loads nothing.
configure_member_agent() {
  local stamp=$1 want="$CFG_CW_PARAMETER NodeName=$CFG_NODE_NAME" value rc=0
  if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then
    log "cloudwatch agent: already configured from ssm:$CFG_CW_PARAMETER with NodeName=$CFG_NODE_NAME"
    return 0
  fi
  value=$(retry 3 aws ssm get-parameter --name "$CFG_CW_PARAMETER" \
    --query Parameter.Value --output text --region "$CFG_REGION") ||
    die "cannot read the agent config parameter $CFG_CW_PARAMETER (see the aws error above)"
  local config="$WORK/member-agent.json"
  printf '%s' "$value" | python3 -c "$PY_MEMBER_AGENT_CONFIG" "$CFG_NODE_NAME" >"$config" || rc=$?
  if ((rc == 3)); then
    die "the agent config in $CFG_CW_PARAMETER has no NodeName in any append_dimensions; cannot name this member's metrics $CFG_NODE_NAME"
  elif ((rc != 0)); then
    die "cannot read the agent config in $CFG_CW_PARAMETER (see the message above)"
  fi
  write_if_changed "$MEMBER_AGENT_CONFIG" 0600 <"$config"
  retry 3 amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "file:$MEMBER_AGENT_CONFIG" ||
    die "cannot load the agent config from ${MEMBER_AGENT_CONFIG#"$ROOT"}"
  write_if_changed "$stamp" 0644 <<<"$want"
  log "cloudwatch agent: configured from ssm:$CFG_CW_PARAMETER with NodeName=$CFG_NODE_NAME (${MEMBER_AGENT_CONFIG#"$ROOT"})"
}

# ------------------------------------------------- installed node tools ----

# install_status_script <script>: a Python script of this folder into
# /usr/local/sbin (0755) with the casper_status.py module it imports (0644)
# beside it. CHANGED=1 when either changed, else 0.
install_status_script() {
  local changed
  write_if_changed "$ROOT/usr/local/sbin/casper_status.py" 0644 <"$HERE/casper_status.py"
  changed=$CHANGED
  write_if_changed "$ROOT/usr/local/sbin/$1" 0755 <"$HERE/$1"
  if ((changed)); then CHANGED=1; fi
}

# install_units <unit...>: systemd unit files of this folder into
# /etc/systemd/system. CHANGED=1 and NEED_RELOAD=1 when any changed, else
# CHANGED=0.
install_units() {
  local unit changed=0
  for unit in "$@"; do
    write_if_changed "$ROOT/etc/systemd/system/$unit" 0644 <"$HERE/$unit"
    if ((CHANGED)); then NEED_RELOAD=1 changed=1; fi
  done
  CHANGED=$changed
}

# sidecar_rpc_url: the sidecar's JSON-RPC URL on this node; nothing on
# networks without the sidecar.
sidecar_rpc_url() {
  if [[ $CFG_RUNS_SIDECAR == true ]]; then printf 'http://127.0.0.1:%s/rpc\n' "$CFG_RPC_PORT"; fi
}

# ----------------------------------------------------- metrics collector ----

# Node metrics: a timer runs casper-metrics.py every 30 s, which reads /status
# and sends an EMF document to the CloudWatch agent's EMF listener (so it needs
# the agent, configured above, and no credentials of its own). It also reads
# the done stamp (BootstrapComplete), checks the chainspec name and, on
# networks with the sidecar, its JSON-RPC once the bootstrap is complete.
install_metrics_collector() {
  STEP="metrics"
  if [[ -z $CFG_CW_PARAMETER || -z $CFG_METRICS_NAMESPACE ]]; then
    log "metrics: no CloudWatch agent or metrics namespace configured, collector skipped"
    return 0
  fi
  install_status_script casper-metrics.py
  install_units casper-metrics.service casper-metrics.timer
  # Double quotes keep a namespace with spaces in one value; the config
  # patterns allow no quote, backslash, dollar sign or newline.
  write_if_changed "$ROOT/etc/casper-metrics.env" 0644 <<EOF
CASPER_METRICS_STATUS_URL="http://127.0.0.1:$CFG_REST_PORT/status"
CASPER_METRICS_NAMESPACE="$CFG_METRICS_NAMESPACE"
CASPER_METRICS_NODE_NAME="$CFG_NODE_NAME"
CASPER_METRICS_LOG_GROUP="$CFG_METRICS_LOG_GROUP"
CASPER_METRICS_EXPECTED_CHAINSPEC="$CFG_CHAINSPEC_NAME"
CASPER_METRICS_BOOTSTRAP_DONE_FILE="${STATE_DIR#"$ROOT"}/done"
CASPER_METRICS_RPC_URL="$(sidecar_rpc_url)"
EOF
  reload_systemd_if_needed
  start_unit casper-metrics.timer
}

# ------------------------------------------------------- health endpoint ----

# The in-sync health endpoint for a load balancer: casper-health.py serves
# GET /healthz on CFG_HEALTH_PORT (every address, so the load balancer reaches
# it), 200 only while the node is in sync (reactor state, newest block, peers
# and, on networks with the sidecar, its JSON-RPC), else 503 with the reason.
# Started early: during the bootstrap it answers 503 and says why.
install_health_endpoint() {
  STEP="health endpoint"
  if ((CFG_HEALTH_PORT == 0)); then
    log "health endpoint: not enabled (port 0), skipped"
    return 0
  fi
  # A running service: restart it when its code changes (the shared module included).
  install_status_script casper-health.py
  local restart=$CHANGED
  install_units casper-health.service
  if ((CHANGED)); then restart=1; fi
  write_if_changed "$ROOT/etc/casper-health.env" 0644 <<EOF
CASPER_HEALTH_PORT="$CFG_HEALTH_PORT"
CASPER_HEALTH_STATUS_URL="http://127.0.0.1:$CFG_REST_PORT/status"
CASPER_HEALTH_RPC_URL="$(sidecar_rpc_url)"
CASPER_HEALTH_MAX_BLOCK_AGE_SECONDS="$CFG_HEALTH_MAX_BLOCK_AGE"
CASPER_HEALTH_MIN_PEERS="$CFG_HEALTH_MIN_PEERS"
EOF
  if ((CHANGED)); then restart=1; fi
  reload_systemd_if_needed
  # Unlike the timers' oneshot services, the endpoint keeps running: it reads
  # its script and settings only when it starts.
  if ! systemctl is-active --quiet casper-health.service; then
    log "$STEP: starting casper-health.service"
    systemctl enable --now casper-health.service
  elif ((restart)); then
    log "$STEP: script, unit or settings changed; restarting casper-health.service"
    systemctl restart casper-health.service
  else
    log "$STEP: casper-health.service already running"
  fi
}

# -------------------------------------------------------------- services ----

reload_systemd_if_needed() {
  if ((NEED_RELOAD)); then
    systemctl daemon-reload
    NEED_RELOAD=0
  fi
}

start_unit() {
  if systemctl is-active --quiet "$1"; then
    log "$STEP: $1 already running"
  else
    log "$STEP: starting $1"
    systemctl enable --now "$1"
  fi
}

start_services() {
  STEP="start"
  reload_systemd_if_needed
  start_unit casper-node-launcher.service
  if [[ $CFG_RUNS_SIDECAR == true ]]; then start_unit casper-sidecar.service; fi
}

install_watchdog() {
  STEP="watchdog"
  write_if_changed "$ROOT/usr/local/sbin/casper-watchdog.sh" 0755 <"$HERE/watchdog.sh"
  install_units casper-watchdog.service casper-watchdog.timer
  write_if_changed "$ROOT/etc/casper-watchdog.env" 0644 <<EOF
REST_PORT=$CFG_REST_PORT
RESTART_AFTER_SECONDS=$CFG_RESTART_AFTER
UNHEALTHY_AFTER_SECONDS=$CFG_UNHEALTHY_AFTER
REGION=$CFG_REGION
EOF
  reload_systemd_if_needed
  start_unit casper-watchdog.timer
}

# Protocol upgrades: the launcher only upgrades to versions that are staged.
# The timer runs the same stage-protocols.sh as the bootstrap every six hours,
# so the node follows upgrades by itself (settings from install_node_tools).
install_protocol_stager() {
  STEP="protocol upgrades"
  install_units casper-stage-protocols.service casper-stage-protocols.timer
  reload_systemd_if_needed
  start_unit casper-stage-protocols.timer
}

# ------------------------------------------------------------- readiness ----

STATUS_SUMMARY=""
node_answers() {
  local body
  body=$(curl -fsS --max-time 5 "$1" 2>/dev/null) || return 1
  # A body that is not the node's status JSON counts as not ready yet.
  STATUS_SUMMARY=$(printf '%s' "$body" | python3 -c '
import json, sys
s = json.load(sys.stdin)
block = s.get("last_added_block_info") or {}
print(s["chainspec_name"], s.get("reactor_state"), block.get("height"))
' 2>/dev/null)
}

# signal_cloudformation SUCCESS|FAILURE: answers the group's creation (or
# update) policy. A replacement instance has nothing waiting for it: the call
# then fails, which is only logged.
signal_cloudformation() {
  local status=$1 stack logical
  stack=$(imds_get "tags/instance/aws:cloudformation:stack-name" 2>/dev/null) || stack=""
  logical=$(imds_get "tags/instance/aws:cloudformation:logical-id" 2>/dev/null) || logical=""
  if [[ -z $stack || -z $logical ]]; then
    log "signal: no aws:cloudformation tags on this instance, nothing to signal"
    return 0
  fi
  if aws cloudformation signal-resource --stack-name "$stack" --logical-resource-id "$logical" \
    --unique-id "$INSTANCE_ID" --status "$status" --region "$CFG_REGION"; then
    log "signal: signalled $status for $logical in stack $stack"
  else
    log "signal: signal-resource $status for $logical in stack $stack failed; continuing"
  fi
}

# Run once on any fatal error (lib.sh's FATAL_HOOK): tell CloudFormation at
# once instead of letting it wait for the whole bootstrap timeout. The
# instance id and region come from IMDS when the failure came before they
# were read.
signal_failure() {
  if [[ -z $IMDS_TOKEN ]] && ! imds_token 2>/dev/null; then
    log "signal: no IMDS token; cannot signal FAILURE"
    return 0
  fi
  if [[ -z $INSTANCE_ID ]]; then INSTANCE_ID=$(imds_get instance-id 2>/dev/null) || return 0; fi
  if [[ -z ${CFG_REGION:-} ]]; then CFG_REGION=$(imds_get placement/region 2>/dev/null) || return 0; fi
  signal_cloudformation FAILURE
}

launcher_active() {
  systemctl is-active --quiet casper-node-launcher.service
}

# node_in_sync <url>: the health endpoint answers 200 (in sync); otherwise
# HEALTH_REASON says why not (the reason of its 503 JSON body).
HEALTH_REASON=""
node_in_sync() {
  local code body="$WORK/healthz.json" reason=""
  rm -f "$body"
  code=$(curl -sS --max-time 5 -o "$body" -w '%{http_code}' "$1" 2>/dev/null) || code=""
  if [[ $code == 200 ]]; then return 0; fi
  if [[ -z $code || $code == 000 ]]; then
    HEALTH_REASON="no answer (connection failed or timed out)"
    return 1
  fi
  reason=$(python3 -c '
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    r = json.load(f).get("reason")
print(" ".join(r.split()) if isinstance(r, str) else "")
' "$body" 2>/dev/null) || reason=""
  HEALTH_REASON="HTTP $code${reason:+: $reason}"
  return 1
}

# Ready means: /status answers with the expected chainspec, and keeps
# answering (launcher still active) for CFG_READY_STABLE seconds and at least
# two polls. A node that exits soon after its REST server starts (for example
# in CatchUp without a trusted hash) is therefore never reported ready.
#
# With health.signalWhenInSync (fleets: a rolling update replaces the next
# member only once this one is healthy), a node that resumes from chain
# storage must also be in sync, /healthz answering 200, within the same
# budget. A node that starts from empty storage is signalled as before: a
# full sync can outlast any timeout.
wait_until_ready() {
  STEP="readiness"
  local url="http://127.0.0.1:$CFG_REST_PORT/status" chainspec state height
  local since=-1 steady=0 n=0 max interval=$POLL_SECONDS
  local health_url="" last_reason=""
  if ((interval < 1)); then interval=1; fi
  max=$(((CFG_READY_WAIT + interval - 1) / interval))
  if [[ $CFG_SIGNAL_WHEN_IN_SYNC == true ]]; then
    if ((CHAIN_STORAGE_AT_START)); then
      health_url="http://127.0.0.1:$CFG_HEALTH_PORT/healthz"
      log "readiness: the data volume held chain storage: success is signalled only once $health_url answers 200 (in sync)"
    else
      log "readiness: the data volume held no chain storage: a full sync can outlast any timeout, so success is signalled once the node answers steadily, without waiting for it to be in sync"
    fi
  fi
  log "readiness: waiting up to $CFG_READY_WAIT s for $url to answer steadily for $CFG_READY_STABLE s"
  local start=$SECONDS
  while :; do
    n=$((n + 1))
    if node_answers "$url" && launcher_active; then
      read -r chainspec state height <<<"$STATUS_SUMMARY"
      [[ $chainspec == "$CFG_CHAINSPEC_NAME" ]] ||
        die "the node runs chainspec '$chainspec', expected '$CFG_CHAINSPEC_NAME'"
      if ((since < 0)); then
        since=$SECONDS steady=0
        log "readiness: node answers (chainspec $chainspec, reactor state $state, height $height); watching that it stays up"
      fi
      steady=$((steady + 1))
      if ((steady >= 2 && SECONDS - since >= CFG_READY_STABLE)); then
        if [[ -z $health_url ]]; then break; fi
        if node_in_sync "$health_url"; then break; fi
        if [[ $HEALTH_REASON != "$last_reason" ]]; then
          log "readiness: node answers steadily, not in sync yet ($health_url: $HEALTH_REASON)"
          last_reason=$HEALTH_REASON
        fi
      fi
    elif ((since >= 0)); then
      log "readiness: the node stopped answering after $((SECONDS - since)) s (it exited or restarted); waiting again"
      since=-1
    fi
    if ((n >= max || SECONDS - start >= CFG_READY_WAIT)); then
      if [[ -n $last_reason ]]; then
        die "the node answered $url but was not in sync within $CFG_READY_WAIT s (last from $health_url: $last_reason); not signalling success"
      fi
      die "the node did not answer $url steadily for $CFG_READY_STABLE s within $CFG_READY_WAIT s; not signalling success (see /var/log/casper/casper-node.log)"
    fi
    sleep "$POLL_SECONDS"
  done
  log "readiness: node answered steadily for $((SECONDS - since)) s (chainspec $chainspec, reactor state $state, height $height)"
  if [[ -n $health_url ]]; then log "readiness: $health_url answers 200: the node is in sync"; fi
  signal_cloudformation SUCCESS
  mkdir -p "$STATE_DIR"
  printf '%(%Y-%m-%dT%H:%M:%S%z)T\n' -1 >"$STATE_DIR/done"
}

# ------------------------------------------------------------------ main ----

main() {
  if (($# != 1)); then
    echo "usage: $0 <config.json>" >&2
    exit 2
  fi
  setup_logging "$LOG_FILE"
  FATAL_HOOK=signal_failure
  log "casper bootstrap: starting with $1"
  load_config "$1"
  check_assets
  WORK=$(mktemp -d)
  TEMP_PATHS+=("$WORK")
  read_instance_metadata
  resolve_member_slot
  resolve_public_ip
  # The agent and the collector come first: from here on the node reports
  # BootstrapComplete 0 (and NodeUp 0), which the node-down alarm reads as
  # "bootstrapping", not as "down" (see CasperAlarms).
  configure_cloudwatch_agent
  install_metrics_collector
  install_health_endpoint
  install_packages
  prepare_data_volume
  note_chain_storage
  ensure_signing_key
  install_node_tools
  stage_protocols
  ensure_openssl11_when_linked
  configure_sidecar_port
  apply_trusted_hash
  configure_open_files
  start_services
  install_watchdog
  install_protocol_stager
  wait_until_ready
  log "casper bootstrap: finished"
}

main "$@"
