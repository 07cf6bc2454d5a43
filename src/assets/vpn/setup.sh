#!/usr/bin/env bash
# Sets up the OpenVPN server (community edition) that gives administrators
# access to the VPC, on Ubuntu 22.04 (EC2).
#
#   setup.sh <config.env>
#
# Run as root by the user data at first boot ('bash setup.sh config.env',
# from any directory: it needs only lib.sh beside itself, which the user data
# downloads with it, and logs to /var/log/casper-vpn-setup.log). Every step
# checks the machine first and changes only what is missing, so a rerun
# stores nothing, adds no rule and rewrites no file.
#
# Nothing the clients need lives only on the instance, so a replacement
# instance serves the same clients:
# - the PKI secret holds the CA, the server certificate and key and the
#   tls-crypt key (JSON, format 2, a few KB): the first instance builds and
#   stores it, a replacement restores it;
# - each client's secret holds its inline .ovpn profile, with the client's
#   certificate and key, the only copy of that key. A pair found there is
#   kept while it fits the CA; otherwise the client gets a new one. On the
#   instance a client key exists only while its profile is handled, in a
#   0700 scratch dir next to the PKI (pki/private keeps the CA and server
#   keys only; pki/issued the client certificates).
# A PKI secret in any other format, or holding client material, is refused
# and left as it is.
#
# All paths are prefixed by $CASPER_ROOT and all system commands are called
# through PATH, so tests run it in a temp dir with stubs (the test hooks: see
# lib.sh).
#
# config.env: one NAME=value per line (value optionally in "" or '', taken
# literally, no expansion); blank lines and # comments allowed:
#   REGION              AWS region of the secrets, e.g. us-east-1
#   VPN_PORT            UDP port (optional, default 1194)
#   VPN_NETWORK         tunnel network, IPv4 CIDR, e.g. 10.8.0.0/24
#   VPC_CIDR            VPC network pushed to clients and NATed, e.g. 10.0.0.0/16
#   PUBLIC_ADDRESS      address clients connect to (the Elastic IP)
#   PKI_SECRET_ARN      secret holding the PKI as JSON (or a placeholder)
#                       (CA, server, tls-crypt; no client material)
#   CLIENT_NAMES        space-separated client names, e.g. "admin1 admin2"
#   CLIENT_SECRET_ARNS  space-separated secrets, same order, each holding
#                       its client's inline .ovpn profile (certificate and key)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh
source "$HERE/lib.sh"

# Ubuntu's easy-rsa package does not put easyrsa on PATH.
EASYRSA_DIR="${CASPER_EASYRSA_DIR:-/usr/share/easy-rsa}"

LOG_FILE="$ROOT/var/log/casper-vpn-setup.log"
SERVER_DIR="$ROOT/etc/openvpn/server"
PKI_DIR="$SERVER_DIR/pki"
SYSCTL_FILE="$ROOT/etc/sysctl.d/99-casper-vpn.conf"
NAT_UNIT=casper-vpn-nat.service
SERVICE=openvpn-server@server.service
PACKAGES=(openvpn easy-rsa iptables)
CURVE=secp384r1
CERT_DAYS=3650
CIPHERS=AES-256-GCM:AES-128-GCM
PKI_FORMAT=2        # of the PKI secret's JSON, the only one read

SERVER_CHANGED=0    # server.conf or a file it reads changed: restart openvpn
WORK=""             # scratch in $TMPDIR: no key material
SCRATCH=""          # scratch for key material, next to the PKI (ensure_pki)
PROBLEM=""          # set by client_pair_ok
CA_PEM="" TA_PEM="" # for the client profiles
CLIENTS=()
CLIENT_SECRETS=()

# Private by default: the PKI and the profiles are key material. Files that
# must be readable get an explicit mode.
umask 077

# ---------------------------------------------------------------- config ----

ip_to_int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  printf '%s' $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ip() {
  printf '%s.%s.%s.%s' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255))
}

prefix_to_mask() {
  int_to_ip $(((0xffffffff << (32 - $1)) & 0xffffffff))
}

# check_cidr <name> <value> <min prefix> <max prefix>: an aligned IPv4 CIDR.
check_cidr() {
  local name=$1 value=$2 octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])' net
  [[ $value =~ ^($octet\.){3}$octet/([0-9]+)$ ]] || die "$name must be an IPv4 CIDR, got '$value'"
  local prefix=$((10#${value#*/}))
  ((prefix >= $3 && prefix <= $4)) || die "$name must have a prefix from /$3 to /$4, got '$value'"
  net=$(ip_to_int "${value%/*}")
  (((net & ((0xffffffff << (32 - prefix)) & 0xffffffff)) == net)) ||
    die "$name has host bits set: '$value'"
}

check_arn() {
  [[ $2 =~ ^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$ ]] ||
    die "$1 holds '$2', not a Secrets Manager secret ARN"
}

load_config() {
  STEP="config"
  local file=$1 line n=0 name value
  [[ -f $file ]] || die "config file $file not found"
  CFG_REGION="" CFG_VPN_PORT=1194 CFG_VPN_NETWORK="" CFG_VPC_CIDR="" CFG_PUBLIC_ADDRESS=""
  CFG_PKI_SECRET_ARN="" CFG_CLIENT_NAMES="" CFG_CLIENT_SECRET_ARNS=""
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    line=${line%$'\r'}
    if [[ $line =~ ^[[:space:]]*(#.*)?$ ]]; then continue; fi
    [[ $line =~ ^(export[[:space:]]+)?([A-Z_][A-Z0-9_]*)=(.*)$ ]] || die "$file line $n is not NAME=value"
    name=${BASH_REMATCH[2]} value=${BASH_REMATCH[3]}
    if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
    case $name in
      REGION | VPN_PORT | VPN_NETWORK | VPC_CIDR | PUBLIC_ADDRESS | PKI_SECRET_ARN | CLIENT_NAMES | CLIENT_SECRET_ARNS)
        printf -v "CFG_$name" '%s' "$value" ;;
      *) log "config: ignoring unknown variable $name" ;;
    esac
  done <"$file"

  [[ $CFG_REGION =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || die "REGION must be an AWS region, got '$CFG_REGION'"
  CFG_VPN_PORT=${CFG_VPN_PORT:-1194}
  if ! [[ $CFG_VPN_PORT =~ ^[1-9][0-9]{0,4}$ ]] || ((CFG_VPN_PORT > 65535)); then
    die "VPN_PORT must be a UDP port, got '$CFG_VPN_PORT'"
  fi
  check_cidr VPN_NETWORK "$CFG_VPN_NETWORK" 16 29
  check_cidr VPC_CIDR "$CFG_VPC_CIDR" 8 28
  local a b pa pb
  a=$(ip_to_int "${CFG_VPN_NETWORK%/*}") pa=${CFG_VPN_NETWORK#*/}
  b=$(ip_to_int "${CFG_VPC_CIDR%/*}") pb=${CFG_VPC_CIDR#*/}
  local p=$((pa < pb ? pa : pb))
  local m=$(((0xffffffff << (32 - p)) & 0xffffffff))
  (((a & m) != (b & m))) || die "VPN_NETWORK $CFG_VPN_NETWORK overlaps VPC_CIDR $CFG_VPC_CIDR"
  [[ $CFG_PUBLIC_ADDRESS =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
    die "PUBLIC_ADDRESS must be an IPv4 address or a DNS name, got '$CFG_PUBLIC_ADDRESS'"
  check_arn PKI_SECRET_ARN "$CFG_PKI_SECRET_ARN"

  read -r -a CLIENTS <<<"$CFG_CLIENT_NAMES"
  read -r -a CLIENT_SECRETS <<<"$CFG_CLIENT_SECRET_ARNS"
  ((${#CLIENTS[@]})) || die "CLIENT_NAMES is empty"
  ((${#CLIENTS[@]} == ${#CLIENT_SECRETS[@]})) ||
    die "CLIENT_NAMES has ${#CLIENTS[@]} names but CLIENT_SECRET_ARNS ${#CLIENT_SECRETS[@]} ARNs"
  local i j
  for i in "${!CLIENTS[@]}"; do
    [[ ${CLIENTS[i]} =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] ||
      die "client name '${CLIENTS[i]}' must be letters, digits, '.', '_' or '-' (at most 64)"
    # "server" and "ca" name the server's own files in the PKI.
    [[ ${CLIENTS[i]} != server && ${CLIENTS[i]} != ca ]] || die "'${CLIENTS[i]}' cannot be a client name"
    check_arn "CLIENT_SECRET_ARNS[$i]" "${CLIENT_SECRETS[i]}"
    for ((j = 0; j < i; j++)); do
      [[ ${CLIENTS[j]} != "${CLIENTS[i]}" ]] || die "client name '${CLIENTS[i]}' appears twice"
    done
  done
  log "config: port $CFG_VPN_PORT/udp, tunnel $CFG_VPN_NETWORK, VPC $CFG_VPC_CIDR, public address $CFG_PUBLIC_ADDRESS, clients ${CLIENTS[*]}"
}

# -------------------------------------------------------------- packages ----

require_tool() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: apt-get install -y $2"
}

install_packages() {
  STEP="packages"
  local p missing=()
  for p in "${PACKAGES[@]}"; do is_installed "$p" || missing+=("$p"); done
  # The AWS CLI is not on Ubuntu's AMIs; 22.04 packages version 1. python3
  # (reads and writes the PKI secret's JSON) is, but a minimal image may lack it.
  if ! command -v python3 >/dev/null 2>&1; then missing+=(python3); fi
  if ! command -v aws >/dev/null 2>&1; then missing+=(awscli); fi
  if ((${#missing[@]})); then
    retry 3 apt_get update || die "apt-get update failed"
    retry 3 apt_get install -y "${missing[@]}" ||
      die "apt-get install ${missing[*]} failed"
    log "packages: installed ${missing[*]}"
  else
    log "packages: ${PACKAGES[*]} and the AWS CLI already installed"
  fi
  require_tool openvpn openvpn
  require_tool openssl openssl
  require_tool iptables iptables
  require_tool python3 python3
  require_tool aws awscli
  [[ -x $EASYRSA_DIR/easyrsa ]] || die "easyrsa not found in $EASYRSA_DIR: apt-get install -y easy-rsa"
}

# ------------------------------------------------------------------- pki ----

# get_secret <arn> <file>: the secret's current value into the file (empty
# when the secret has no value yet). Returns 1 on any other error.
get_secret() {
  local err="$WORK/get-secret.err"
  if aws secretsmanager get-secret-value --secret-id "$1" --region "$CFG_REGION" \
    --query SecretString --output text >"$2" 2>"$err"; then
    return 0
  fi
  if grep -q ResourceNotFoundException "$err" && grep -q AWSCURRENT "$err"; then
    : >"$2"
    return 0
  fi
  cat "$err" >&2
  return 1
}

# put_secret <arn> <file>: the file becomes the secret's value.
put_secret() {
  aws secretsmanager put-secret-value --secret-id "$1" --region "$CFG_REGION" \
    --secret-string "file://$2" >/dev/null
}

# Unpacks the PKI secret (file argv[1], format 2) into the layout of an
# easy-rsa PKI below argv[2]. Exit 3: no PKI stored (any value without a "ca"
# key, e.g. the construct's placeholder). Any other format (a value without
# "format" counts as 1) or a "clients" key (client material) fails: the
# caller refuses the value and leaves it as it is.
IFS= read -r -d '' PY_UNPACK <<'PY' || true
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
try:
    with open(src, encoding="utf-8") as f:
        data = json.load(f)
except ValueError:
    sys.exit(3)
if not isinstance(data, dict) or "ca" not in data:
    sys.exit(3)
fmt = data.get("format", 1)
wrong_format = f"the PKI secret has format {fmt!r}; this script reads format 2"
if fmt not in (1, 2) or isinstance(fmt, bool):
    sys.exit(wrong_format)
def pem(value, what, kind):
    if not isinstance(value, str) or f"-----BEGIN {kind}" not in value:
        sys.exit(f"the PKI secret holds a ca but {what} is missing or not a PEM {kind.lower()}")
    return value
def write(path, text):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
files = {
    "ca.crt": pem(data.get("ca"), "ca", "CERTIFICATE"),
    "private/ca.key": pem(data.get("caKey"), "caKey", "PRIVATE KEY"),
    "issued/server.crt": pem(data.get("serverCert"), "serverCert", "CERTIFICATE"),
    "private/server.key": pem(data.get("serverKey"), "serverKey", "PRIVATE KEY"),
    "ta.key": pem(data.get("tlsCrypt"), "tlsCrypt", "OpenVPN Static key"),
}
# Format 1 (or no "format" key) is refused only after the parts are checked:
# a value missing parts reports them, as a format 2 value does.
if fmt != 2:
    sys.exit(wrong_format)
if "clients" in data:
    sys.exit("the PKI secret holds client material (clients); this script reads format 2, without it")
for rel, text in files.items():
    write(os.path.join(out, rel), text)
PY

# Packs the CA, server and tls-crypt parts of the PKI below argv[1] into the
# secret JSON file argv[2], format argv[3] (2: no client material, a few KB
# whatever the number of clients).
IFS= read -r -d '' PY_PACK <<'PY' || true
import json, os, sys
pki, out, fmt = sys.argv[1], sys.argv[2], int(sys.argv[3])
def read(rel):
    with open(os.path.join(pki, rel), encoding="utf-8") as f:
        return f.read()
data = {
    "format": fmt,
    "ca": read("ca.crt"), "caKey": read("private/ca.key"),
    "serverCert": read("issued/server.crt"), "serverKey": read("private/server.key"),
    "tlsCrypt": read("ta.key"),
}
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with os.fdopen(fd, "w", encoding="utf-8") as f:
    json.dump(data, f, sort_keys=True)
PY

# easyrsa_run <pki dir> <easyrsa args...>: batch mode, EC keys, no passphrase.
# Its output goes to a scratch file, shown only when it fails.
easyrsa_run() {
  local pki=$1 out="$WORK/easyrsa.out"
  shift
  if ! (cd "$WORK" && EASYRSA="$EASYRSA_DIR" EASYRSA_PKI="$pki" EASYRSA_BATCH=1 \
    EASYRSA_ALGO=ec EASYRSA_CURVE=$CURVE EASYRSA_DIGEST=sha256 \
    EASYRSA_CA_EXPIRE=$CERT_DAYS EASYRSA_CERT_EXPIRE=$CERT_DAYS \
    "$EASYRSA_DIR/easyrsa" "$@") >"$out" 2>&1 </dev/null; then
    tail -n 20 "$out" >&2
    die "easyrsa $* failed"
  fi
}

# A new easy-rsa PKI dir with the CA database easyrsa expects, but no CA:
# the CA comes from make_ca (first boot) or from the secret (restore).
init_pki() {
  local pki=$1 d
  easyrsa_run "$pki" init-pki
  for d in issued certs_by_serial revoked/certs_by_serial revoked/private_by_serial \
    revoked/reqs_by_serial renewed/certs_by_serial renewed/private_by_serial renewed/reqs_by_serial; do
    mkdir -p "$pki/$d"
  done
  : >"$pki/index.txt"
  printf 'unique_subject = no\n' >"$pki/index.txt.attr"
  printf '01\n' >"$pki/serial"
}

# The CA is made with openssl rather than 'easyrsa build-ca': easy-rsa 3.0.8
# (Ubuntu 22.04) with OpenSSL 3 asks for a PEM pass phrase in build-ca even
# with nopass. Same extensions as easy-rsa's CA.
make_ca() {
  local pki=$1 cnf="$WORK/ca.cnf"
  cat >"$cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext
[dn]
CN = Casper VPN CA
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always, issuer:always
EOF
  openssl req -x509 -new -config "$cnf" -newkey ec -pkeyopt "ec_paramgen_curve:$CURVE" -nodes \
    -sha256 -days "$CERT_DAYS" -keyout "$pki/private/ca.key" -out "$pki/ca.crt" 2>"$WORK/openssl.err" </dev/null ||
    { cat "$WORK/openssl.err" >&2; die "openssl could not create the CA"; }
}

# openssl x509 (3.0) loads the system's CA bundle first, for nothing here:
# without it, a call takes 5 ms instead of 25 (which counts for 50 clients).
x509() { SSL_CERT_FILE=/dev/null openssl x509 "$@" </dev/null; }

# Public key of a certificate or of a private key, for a match check.
pubkey_of_cert() { x509 -noout -pubkey -in "$1"; }
pubkey_of_key() { openssl pkey -pubout -passin pass: -in "$1" </dev/null; }

# verify_pki <pki dir>: the server certificate is signed by the CA and
# matches its key, so a broken secret is never installed.
verify_pki() {
  local pki=$1
  openssl verify -CAfile "$pki/ca.crt" "$pki/issued/server.crt" >/dev/null 2>&1 </dev/null ||
    die "the certificate of server is not signed by the CA of the PKI"
  [[ $(pubkey_of_cert "$pki/issued/server.crt") == "$(pubkey_of_key "$pki/private/server.key")" ]] ||
    die "the key of server does not match its certificate"
  grep -q 'BEGIN OpenVPN Static key V1' "$pki/ta.key" || die "the tls-crypt key is not an OpenVPN static key"
}

# store_pki <pki dir> <what>: the CA, server and tls-crypt parts as one JSON
# value in the PKI secret. A PKI that could not be stored is never
# installed: a replacement instance would otherwise make a different CA and
# lock every client out.
store_pki() {
  local pki=$1 what=$2 payload="$SCRATCH/pki-payload.json"
  rm -f "$payload"
  python3 -c "$PY_PACK" "$pki" "$payload" "$PKI_FORMAT"
  retry 3 put_secret "$CFG_PKI_SECRET_ARN" "$payload" ||
    die "cannot store the PKI in $CFG_PKI_SECRET_ARN; $what"
  rm -f "$payload"
  log "pki: stored in $CFG_PKI_SECRET_ARN (CA, server certificate, tls-crypt key; format $PKI_FORMAT)"
}

# Copies the files below <from> into <to>, each only if it differs; keys
# stay 0600. Sets SERVER_CHANGED when a file the server reads changed.
sync_tree() {
  local from=$1 to=$2 rel mode
  while IFS= read -r rel; do
    mode=$(stat -c %a "$from/$rel")
    case $rel in private/* | *.key) mode=600 ;; esac
    write_if_changed "$to/$rel" "$mode" <"$from/$rel"
    if ((CHANGED)); then
      case $rel in ca.crt | issued/server.crt | private/server.key | ta.key) SERVER_CHANGED=1 ;; esac
    fi
  done < <(cd "$from" && find . -type f -printf '%P\n' | sort)
}

build_pki() {
  [[ ! -e $PKI_DIR/ca.crt ]] ||
    die "$CFG_PKI_SECRET_ARN holds no PKI but $PKI_DIR exists; refusing to make a second CA (store that PKI in the secret or remove $PKI_DIR)"
  log "pki: no PKI in $CFG_PKI_SECRET_ARN, building one (EC $CURVE, $CERT_DAYS days)"
  local stage="$SCRATCH/stage"
  init_pki "$stage"
  make_ca "$stage"
  easyrsa_run "$stage" build-server-full server nopass
  openvpn --genkey secret "$stage/ta.key" || die "openvpn --genkey secret failed"
  verify_pki "$stage"
  store_pki "$stage" "nothing was installed and openvpn was not started"
  mv "$stage" "$PKI_DIR"
  SERVER_CHANGED=1
  log "pki: installed in $PKI_DIR"
}

restore_pki() {
  local unpacked=$1
  verify_pki "$unpacked"
  if [[ -d $PKI_DIR ]]; then
    sync_tree "$unpacked" "$PKI_DIR"
    log "pki: $PKI_DIR matches $CFG_PKI_SECRET_ARN"
  else
    local stage="$SCRATCH/stage"
    init_pki "$stage"
    sync_tree "$unpacked" "$stage"
    mv "$stage" "$PKI_DIR"
    SERVER_CHANGED=1
    log "pki: restored from $CFG_PKI_SECRET_ARN into $PKI_DIR"
  fi
}

# Client keys live in their own secrets only; the server does not need them.
# Removes those an earlier version kept in the PKI dir.
remove_client_keys() {
  local f removed=()
  for f in "$PKI_DIR"/private/*.key; do
    [[ -f $f ]] || continue
    case ${f##*/} in ca.key | server.key) continue ;; esac
    rm -f -- "$f"
    removed+=("${f##*/}")
  done
  if ((${#removed[@]})); then log "pki: removed client keys from $PKI_DIR/private: ${removed[*]}"; fi
}

ensure_pki() {
  STEP="pki"
  mkdir -p "$SERVER_DIR"
  # Key material of a run that was killed (an EXIT trap cannot run on SIGKILL).
  local stale
  for stale in "$SERVER_DIR"/.pki.*; do
    [[ -d $stale ]] || continue
    rm -rf -- "$stale"
    log "pki: removed $stale, left by an interrupted run"
  done
  # Key material is handled in this private dir next to the PKI, never in
  # /tmp: the fetched secrets, the staged PKI, client keys.
  SCRATCH=$(mktemp -d "$SERVER_DIR/.pki.XXXXXX")
  TEMP_PATHS+=("$SCRATCH")
  local secret="$SCRATCH/pki-secret.json" unpacked="$SCRATCH/stored" rc=0
  retry 3 get_secret "$CFG_PKI_SECRET_ARN" "$secret" || die "cannot read $CFG_PKI_SECRET_ARN"
  mkdir -p "$unpacked"
  python3 -c "$PY_UNPACK" "$secret" "$unpacked" || rc=$?
  rm -f "$secret"
  case $rc in
    0)
      log "pki: $CFG_PKI_SECRET_ARN holds a PKI"
      restore_pki "$unpacked"
      ;;
    3) build_pki ;;
    *) die "$CFG_PKI_SECRET_ARN holds a PKI that cannot be read (see above); not replacing it" ;;
  esac
  rm -rf "$unpacked"
  chmod 0700 "$PKI_DIR"
  remove_client_keys
}

# --------------------------------------------------------- server config ----

# cidr_net_mask <cidr>: "network netmask".
cidr_net_mask() {
  printf '%s %s' "${1%/*}" "$(prefix_to_mask "${1#*/}")"
}

# Paths are relative to /etc/openvpn/server, the working directory that
# openvpn-server@.service gives the server. The log goes to the journal: the
# unit runs openvpn with --suppress-timestamps, so a log file would have none.
render_server_conf() {
  cat <<EOF
# Written by the Casper VPN setup; changes are overwritten.
port $CFG_VPN_PORT
proto udp
dev tun
topology subnet
server $(cidr_net_mask "$CFG_VPN_NETWORK")
push "route $(cidr_net_mask "$CFG_VPC_CIDR")"
ca pki/ca.crt
cert pki/issued/server.crt
key pki/private/server.key
dh none
tls-crypt pki/ta.key
tls-server
tls-version-min 1.2
data-ciphers $CIPHERS
auth SHA256
verify-client-cert require
remote-cert-tls client
keepalive 10 60
explicit-exit-notify 1
user nobody
group nogroup
persist-key
persist-tun
# Connected clients; the log: journalctl -u $SERVICE
status /var/log/openvpn/casper-vpn-status.log 30
verb 3
EOF
}

write_server_conf() {
  STEP="server config"
  write_if_changed "$SERVER_DIR/server.conf" 0644 < <(render_server_conf)
  if ((CHANGED)); then
    SERVER_CHANGED=1
    log "server config: $SERVER_DIR/server.conf written"
  else
    log "server config: $SERVER_DIR/server.conf up to date"
  fi
  mkdir -p "$ROOT/var/log/openvpn"
}

# --------------------------------------------------------------- routing ----

configure_routing() {
  STEP="routing"
  write_if_changed "$SYSCTL_FILE" 0644 <<<"net.ipv4.ip_forward = 1"
  if ((CHANGED)) || [[ $(sysctl -n net.ipv4.ip_forward) != 1 ]]; then
    sysctl --system >/dev/null || die "sysctl --system failed"
    log "routing: IPv4 forwarding enabled"
  else
    log "routing: IPv4 forwarding already enabled"
  fi
  local rule=(-s "$CFG_VPN_NETWORK" -d "$CFG_VPC_CIDR" -j MASQUERADE)
  if iptables -w -t nat -C POSTROUTING "${rule[@]}" 2>/dev/null; then
    log "routing: NAT $CFG_VPN_NETWORK -> $CFG_VPC_CIDR already present"
  else
    iptables -w -t nat -A POSTROUTING "${rule[@]}" || die "cannot add the NAT rule"
    log "routing: NAT $CFG_VPN_NETWORK -> $CFG_VPC_CIDR added"
  fi
  # The rule is lost on reboot (the user data runs once): a unit re-adds it.
  local check="/usr/sbin/iptables -w -t nat -C POSTROUTING ${rule[*]}"
  local add="/usr/sbin/iptables -w -t nat -A POSTROUTING ${rule[*]}"
  write_if_changed "$ROOT/etc/systemd/system/$NAT_UNIT" 0644 <<EOF
[Unit]
Description=Casper VPN: NAT from the tunnel network to the VPC
Before=$SERVICE

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c '$check 2>/dev/null || $add'

[Install]
WantedBy=multi-user.target
EOF
  if ((CHANGED)); then systemctl daemon-reload; fi
  if systemctl is-enabled --quiet "$NAT_UNIT"; then
    log "routing: $NAT_UNIT already enabled"
  else
    systemctl enable "$NAT_UNIT" || die "cannot enable $NAT_UNIT"
    log "routing: $NAT_UNIT enabled (restores the rule at boot)"
  fi
}

# --------------------------------------------------------------- clients ----

# extract_pair <profile> <cert file> <key file>: the first certificate in
# the <cert> block and the first private key in the <key> block of an inline
# .ovpn profile, each PEM block as is (empty files when missing).
extract_pair() {
  : >"$2"
  : >"$3"
  awk -v crt="$2" -v key="$3" '
    { sub(/\r$/, "") }
    tag == "" && /^<(cert|key)>$/ { tag = substr($0, 2, length($0) - 2); end = ""; next }
    tag != "" && $0 == "</" tag ">" { done[tag] = 1; tag = ""; next }
    tag == "" || done[tag] { next }
    end == "" && (tag == "cert" ? $0 == "-----BEGIN CERTIFICATE-----" : $0 ~ /^-----BEGIN [A-Z ]*PRIVATE KEY-----$/) {
      end = $0
      sub(/BEGIN/, "END", end)
    }
    end != "" {
      print > (tag == "cert" ? crt : key)
      if ($0 == end) { done[tag] = 1; end = "" }
    }
  ' "$1"
}

# client_pair_ok <name> <cert> <key>: the certificate is a valid client
# certificate of the current CA, for CN=<name>, and the key is its key.
# Otherwise sets PROBLEM and returns 1. (Called as a condition: checks its
# own errors.)
client_pair_ok() {
  local name=$1 crt=$2 key=$3 out key_pub cert_pub reason_re=$'error [0-9]+ at [0-9]+ depth lookup: ([^\n]+)'
  if [[ ! -s $crt ]]; then PROBLEM="holds no certificate"; return 1; fi
  if [[ ! -s $key ]]; then PROBLEM="holds no private key"; return 1; fi
  if ! out=$(openssl verify -purpose sslclient -CAfile "$PKI_DIR/ca.crt" "$crt" 2>&1 </dev/null) ||
    [[ $out != *": OK" ]]; then
    PROBLEM="holds a certificate that the current CA does not verify"
    if [[ $out =~ $reason_re ]]; then
      PROBLEM+=" (${BASH_REMATCH[1]})"
    fi
    return 1
  fi
  # One call: the subject line, then the public key.
  if ! out=$(x509 -noout -subject -nameopt RFC2253 -pubkey -in "$crt" 2>/dev/null) ||
    [[ ${out%%$'\n'*} != "subject=CN=$name" ]]; then
    PROBLEM="holds a certificate not issued to CN=$name"
    return 1
  fi
  cert_pub=${out#*$'\n'}
  if ! key_pub=$(pubkey_of_key "$key" 2>/dev/null) || [[ $cert_pub != "$key_pub" ]]; then
    PROBLEM="holds a private key that does not match its certificate"
    return 1
  fi
}

# Signs client certificates with the CA, as easy-rsa's client type (same
# extensions) but in two openssl calls rather than one easyrsa run, which
# matters for 50 clients. Random serials: certificates issued by earlier
# instances of the same CA are not in this instance's index.txt.
write_client_ca_cnf() {
  cat >"$1" <<EOF
[ca]
default_ca = casper_ca
[casper_ca]
database = $PKI_DIR/index.txt
new_certs_dir = $PKI_DIR/certs_by_serial
certificate = $PKI_DIR/ca.crt
private_key = $PKI_DIR/private/ca.key
serial = $PKI_DIR/serial
default_days = $CERT_DAYS
default_md = sha256
policy = cn_only
unique_subject = no
email_in_dn = no
copy_extensions = none
x509_extensions = client_ext
[cn_only]
commonName = supplied
[client_ext]
basicConstraints = CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer:always
extendedKeyUsage = clientAuth
keyUsage = digitalSignature
EOF
}

# issue_client_cert <name> <dir>: a new key and certificate, <dir>/<name>.key
# and <dir>/<name>.crt, recorded in the CA database.
issue_client_cert() {
  local name=$1 dir=$2 cnf="$WORK/client-ca.cnf" err="$WORK/openssl.err"
  [[ -f $cnf ]] || write_client_ca_cnf "$cnf"
  rm -f "$dir/$name.key" "$dir/$name.crt" "$dir/$name.req"
  openssl req -new -newkey ec -pkeyopt "ec_paramgen_curve:$CURVE" -nodes -subj "/CN=$name" \
    -keyout "$dir/$name.key" -out "$dir/$name.req" 2>"$err" </dev/null ||
    { cat "$err" >&2; die "openssl could not create a key for $name"; }
  openssl ca -batch -notext -rand_serial -config "$cnf" -in "$dir/$name.req" -out "$dir/$name.crt" \
    2>"$err" </dev/null || { cat "$err" >&2; die "openssl could not sign a certificate for $name"; }
  rm -f "$dir/$name.req"
}

# pem_block <file>: the PEM part only (easy-rsa puts a text dump before it).
pem_block() {
  sed -n '/^-----BEGIN /,/^-----END /p' "$1"
}

# render_client_profile <name> <cert> <key>: the profile, with the PEM
# blocks of the files (and of the CA and tls-crypt key: CA_PEM, TA_PEM).
render_client_profile() {
  local name=$1 crt=$2 key=$3
  cat <<EOF
# Casper VPN profile for $name
client
dev tun
proto udp
remote $CFG_PUBLIC_ADDRESS $CFG_VPN_PORT
resolv-retry infinite
nobind
persist-key
persist-tun
remote-cert-tls server
verify-x509-name server name
tls-version-min 1.2
data-ciphers $CIPHERS
auth SHA256
verb 3
<ca>
$CA_PEM
</ca>
<cert>
$(<"$crt")
</cert>
<key>
$(<"$key")
</key>
<tls-crypt>
$TA_PEM
</tls-crypt>
EOF
}

# Each client's secret holds its inline profile, the only copy of its key.
# A certificate and key found there are kept when they still fit this PKI
# (so a replacement instance issues nothing and clients keep their
# profiles); otherwise the client gets a new pair. The profile is written
# only when it differs. Client keys exist on the instance only in the
# scratch dir, for one client at a time. Clients removed from the config
# keep a valid certificate: revoking them (a CRL) is out of scope.
publish_profiles() {
  STEP="client profiles"
  local i name arn dir="$SCRATCH/client" how
  CA_PEM=$(pem_block "$PKI_DIR/ca.crt")
  TA_PEM=$(pem_block "$PKI_DIR/ta.key")
  mkdir -p "$dir"
  for i in "${!CLIENTS[@]}"; do
    name=${CLIENTS[i]} arn=${CLIENT_SECRETS[i]}
    retry 3 get_secret "$arn" "$dir/current.ovpn" || die "cannot read $arn"
    extract_pair "$dir/current.ovpn" "$dir/$name.crt" "$dir/$name.key"
    if client_pair_ok "$name" "$dir/$name.crt" "$dir/$name.key"; then
      how="keeps the certificate in its profile"
    else
      how="gets a new certificate (its profile $PROBLEM)"
      issue_client_cert "$name" "$dir"
    fi
    render_client_profile "$name" "$dir/$name.crt" "$dir/$name.key" >"$dir/profile.ovpn"
    # The CLI adds a newline to the value: compare without trailing newlines.
    if [[ $(<"$dir/current.ovpn") == "$(<"$dir/profile.ovpn")" ]]; then
      log "client profiles: $name $how; up to date in $arn"
    else
      retry 3 put_secret "$arn" "$dir/profile.ovpn" || die "cannot store the profile of $name in $arn"
      log "client profiles: $name $how; written to $arn"
    fi
    # The certificate (public) stays in the PKI, for revocation with easyrsa.
    if ! cmp -s "$dir/$name.crt" "$PKI_DIR/issued/$name.crt"; then
      write_if_changed "$PKI_DIR/issued/$name.crt" 0644 <"$dir/$name.crt"
    fi
    # This client's key leaves the instance's disk now.
    rm -f "$dir"/*
  done
  rmdir "$dir"
}

# --------------------------------------------------------------- service ----

start_server() {
  STEP="service"
  if ! systemctl is-enabled --quiet "$SERVICE" || ! systemctl is-active --quiet "$SERVICE"; then
    systemctl enable --now "$SERVICE" || die "$SERVICE did not start (journalctl -u $SERVICE)"
    log "service: $SERVICE enabled and started"
  elif ((SERVER_CHANGED)); then
    systemctl restart "$SERVICE" || die "$SERVICE did not restart (journalctl -u $SERVICE)"
    log "service: $SERVICE restarted for the new configuration"
  else
    log "service: $SERVICE already running"
  fi
}

# ------------------------------------------------------------------ main ----

main() {
  if (($# != 1)); then
    echo "usage: $0 <config.env>" >&2
    exit 2
  fi
  # Everything the script prints goes, timestamped, to the log and stderr.
  setup_logging "$LOG_FILE" 2
  log "casper vpn setup: starting with $1"
  load_config "$1"
  WORK=$(mktemp -d)
  TEMP_PATHS+=("$WORK")
  install_packages
  ensure_pki
  write_server_conf
  configure_routing
  publish_profiles
  start_server
  log "casper vpn setup: finished"
}

main "$@"
