import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  CLIENT_NAMES, PKI_SECRET_ARN, PLACEHOLDER, RunResult, SETUP_SCRIPT, SHELL_LIB, StoredPki, VpnHarness, clientSecretArn,
  defaultConfig, expectCallsInOrder, inlineBlock, openssl, pemOnly, re,
} from './vpn-harness';

/**
 * Behaviour of src/assets/vpn/setup.sh, run by bash in a fake root against
 * stubbed aws, apt-get, systemctl, sysctl and iptables, with the REAL easyrsa,
 * openssl and openvpn --genkey (see vpn-harness.ts).
 */

const SERVER_CONF = `# Written by the Casper VPN setup; changes are overwritten.
port 1194
proto udp
dev tun
topology subnet
server 10.8.0.0 255.255.255.0
push "route 10.99.0.0 255.255.0.0"
ca pki/ca.crt
cert pki/issued/server.crt
key pki/private/server.key
dh none
tls-crypt pki/ta.key
tls-server
tls-version-min 1.2
data-ciphers AES-256-GCM:AES-128-GCM
auth SHA256
verify-client-cert require
remote-cert-tls client
keepalive 10 60
explicit-exit-notify 1
user nobody
group nogroup
persist-key
persist-tun
# Connected clients; the log: journalctl -u openvpn-server@server.service
status /var/log/openvpn/casper-vpn-status.log 30
verb 3
`;

const NAT_ARGS = '-s 10.8.0.0/24 -d 10.99.0.0/16 -j MASQUERADE';
const SERVICE = 'openvpn-server@server.service';
const PKI = 'etc/openvpn/server/pki';

/** Calls that must never happen on a machine that is already set up. */
const CHANGING_CALLS: RegExp[] = [
  /^aws secretsmanager put-secret-value/, /^apt-get /, /^iptables .*-A /, /^sysctl --system/,
  /^systemctl (enable|restart|start|daemon-reload)/,
];

const harnesses: VpnHarness[] = [];
function machine(options?: Parameters<typeof VpnHarness.freshMachine>[0]): VpnHarness {
  const h = VpnHarness.freshMachine(options);
  harnesses.push(h);
  return h;
}
afterAll(() => {
  for (const h of harnesses.splice(0)) h.cleanup();
});

/** A copy of one machine set up by a first boot (built once: easyrsa takes about a second). */
let reference: VpnHarness | undefined;
function setUpMachine(): VpnHarness {
  if (reference === undefined) {
    reference = machine();
    expectSuccess(reference, reference.runSetup());
  }
  const h = reference.clone();
  harnesses.push(h);
  return h;
}

/** A machine set up by a first boot of its own: another CA (built once). */
let foreign: VpnHarness | undefined;
function foreignMachine(): VpnHarness {
  if (foreign === undefined) {
    foreign = machine();
    expectSuccess(foreign, foreign.runSetup());
  }
  return foreign;
}

function storedPki(h: VpnHarness): StoredPki {
  return JSON.parse(h.secret(PKI_SECRET_ARN)!);
}

function matching(calls: string[], pattern: RegExp): string[] {
  return calls.filter((c) => pattern.test(c));
}

function putsIn(r: RunResult): string[] {
  return matching(r.calls, /^aws secretsmanager put-secret-value /).map((c) => c.match(/--secret-id (\S+)/)![1]);
}

/** The setup log without its timestamps. */
function logLines(h: VpnHarness): string[] {
  return h.setupLog().split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ /, ''));
}

/** No scratch left: nothing in TMPDIR, no dot entry (staged PKI, key scratch) next to the PKI. */
function expectNoScratch(h: VpnHarness): void {
  expect(fs.readdirSync(h.tmpDir)).toEqual([]);
  expect(h.list('etc/openvpn/server').filter((f) => f.startsWith('.'))).toEqual([]);
  expect(h.list(`${PKI}/private`).filter((f) => f.startsWith('.'))).toEqual([]);
}

function expectSuccess(h: VpnHarness, r: RunResult): void {
  if (r.status !== 0) throw new Error(`setup.sh exited ${r.status}:\n${r.stderr}`);
  expectNoScratch(h);
}

function expectFailure(h: VpnHarness, r: RunResult, error: string): void {
  expect(r.status).not.toBe(0);
  expect(logLines(h)).toContain(error);
  expect(r.stderr).toContain(error);
  expectNoScratch(h);
}

function subject(certPem: string): string {
  return openssl(['x509', '-noout', '-subject', '-in', { pem: certPem }]).trim();
}

function verifiedBy(caPem: string, certPem: string): string {
  return openssl(['verify', '-CAfile', { pem: caPem }, { pem: certPem }]).trim();
}

function publicKeyOfCert(certPem: string): string {
  return openssl(['x509', '-noout', '-pubkey', '-in', { pem: certPem }]);
}

function publicKeyOfKey(keyPem: string): string {
  return openssl(['pkey', '-pubout', '-in', { pem: keyPem }]);
}

function snapshotObject(h: VpnHarness): Record<string, unknown> {
  return Object.fromEntries(h.snapshot());
}

interface Pair { cert: string; key: string }

/** The certificate and key inside a client's stored profile. */
function pairOf(h: VpnHarness, name: string): Pair {
  const profile = h.secret(clientSecretArn(name))!;
  return { cert: inlineBlock(profile, 'cert'), key: inlineBlock(profile, 'key') };
}

/** Asserts a valid client pair of that CA for CN=name. */
function expectClientPair(caPem: string, name: string, pair: Pair): void {
  expect({ name, verify: verifiedBy(caPem, pair.cert) }).toEqual({ name, verify: expect.stringMatching(/: OK$/) });
  expect(subject(pair.cert)).toBe(`subject=CN = ${name}`);
  expect(publicKeyOfKey(pair.key)).toBe(publicKeyOfCert(pair.cert));
}

/** Files below CASPER_ROOT holding the text (e.g. a line of a key). */
function filesContaining(h: VpnHarness, text: string): string[] {
  return [...h.snapshot().keys(), 'var/log/casper-vpn-setup.log'].filter((rel) => h.exists(rel) && h.read(rel).includes(text));
}

/** A line from the middle of a PEM key, to look for copies of it. */
function keyLine(keyPem: string): string {
  return keyPem.split('\n')[1];
}

const PKI_KEYS = ['ca', 'caKey', 'format', 'serverCert', 'serverKey', 'tlsCrypt'];

function clientLog(name: string, how: string, done: 'written to' | 'up to date in'): string {
  return `client profiles: ${name} ${how}; ${done} ${clientSecretArn(name)}`;
}
const NEW_CERT = 'gets a new certificate (its profile holds no certificate)';
const KEPT = 'keeps the certificate in its profile';

/** A new machine whose secrets hold these values (a replacement instance: empty disk). */
function replacementOf(first: VpnHarness, overrides: Record<string, string> = {}): VpnHarness {
  const h = machine();
  h.setSecret(PKI_SECRET_ARN, first.secret(PKI_SECRET_ARN)!);
  for (const n of CLIENT_NAMES) h.setSecret(clientSecretArn(n), first.secret(clientSecretArn(n))!);
  for (const [arn, value] of Object.entries(overrides)) h.setSecret(arn, value);
  return h;
}

describe('first boot with the placeholder secret', () => {
  let h: VpnHarness;
  let r: RunResult;
  let pki: StoredPki;
  let pairs: Record<string, Pair>;
  beforeAll(() => {
    h = machine();
    r = h.runSetup();
    expectSuccess(h, r);
    pki = storedPki(h);
    pairs = Object.fromEntries(CLIENT_NAMES.map((n) => [n, pairOf(h, n)]));
  });

  test('runs every step in order and exits 0', () => {
    const arn = re(PKI_SECRET_ARN);
    const profileCalls = CLIENT_NAMES.flatMap((n) => [
      new RegExp(`^aws secretsmanager get-secret-value --secret-id ${re(clientSecretArn(n))} --region us-east-1 --query SecretString --output text$`),
      new RegExp(`^aws secretsmanager put-secret-value --secret-id ${re(clientSecretArn(n))} --region us-east-1 --secret-string file://\\S+$`),
    ]);
    expectCallsInOrder(r.calls, [
      /^apt-get -o DPkg::Lock::Timeout=300 update$/,
      /^apt-get -o DPkg::Lock::Timeout=300 install -y openvpn easy-rsa iptables$/,
      new RegExp(`^aws secretsmanager get-secret-value --secret-id ${arn} --region us-east-1 --query SecretString --output text$`),
      new RegExp(`^aws secretsmanager put-secret-value --secret-id ${arn} --region us-east-1 --secret-string file://\\S+$`),
      /^sysctl --system$/,
      new RegExp(`^iptables -w -t nat -C POSTROUTING ${re(NAT_ARGS)}$`),
      new RegExp(`^iptables -w -t nat -A POSTROUTING ${re(NAT_ARGS)}$`),
      /^systemctl daemon-reload$/,
      /^systemctl enable casper-vpn-nat\.service$/,
      ...profileCalls,
      new RegExp(`^systemctl enable --now ${re(SERVICE)}$`),
    ]);
    expect(matching(r.calls, /^apt-get .*install/)).toHaveLength(1);
    expect(matching(r.calls, new RegExp(`^systemctl enable --now ${re(SERVICE)}$`))).toHaveLength(1);
  });

  test('stores the CA, server and tls-crypt parts only in the PKI secret, once, before installing them', () => {
    expect(putsIn(r).filter((a) => a === PKI_SECRET_ARN)).toHaveLength(1);
    expect(h.puts()[0]).toBe(`${PKI_SECRET_ARN} no`);
    expect(Object.keys(pki).sort()).toEqual(PKI_KEYS);
    expect(pki.format).toBe(2);
    expect(pki.tlsCrypt).toMatch(/^(#.*\n)*-----BEGIN OpenVPN Static key V1-----\n([0-9a-f]{32}\n){16}-----END OpenVPN Static key V1-----\n$/);
    const value = h.secret(PKI_SECRET_ARN)!;
    expect(value.match(/BEGIN PRIVATE KEY/g)).toHaveLength(2); // the CA's and the server's
    for (const name of CLIENT_NAMES) {
      expect(value).not.toContain(keyLine(pairs[name].key));
      expect(value).not.toContain(keyLine(pemOnly(pairs[name].cert)));
    }
  });

  test('builds an EC CA valid for about ten years', () => {
    const text = openssl(['x509', '-noout', '-text', '-in', { pem: pki.ca }]);
    expect(text).toMatch(/CA:TRUE/);
    expect(text).toMatch(/Certificate Sign, CRL Sign/);
    expect(text).toMatch(/ASN1 OID: secp384r1/);
    expect(subject(pki.ca)).toBe('subject=CN = Casper VPN CA');
    // Valid for more than 9.8 years from now.
    expect(openssl(['x509', '-noout', '-checkend', String(3580 * 86400), '-in', { pem: pki.ca }])).toMatch(/will not expire/);
    expect(openssl(['pkey', '-noout', '-text', '-in', { pem: pki.caKey }])).toMatch(/ASN1 OID: secp384r1/);
    expect(publicKeyOfKey(pki.caKey)).toBe(publicKeyOfCert(pki.ca));
  });

  test('signs a server certificate and one distinct EC client certificate per client with the CA', () => {
    expect(verifiedBy(pki.ca, pki.serverCert)).toMatch(/: OK$/);
    expect(subject(pki.serverCert)).toBe('subject=CN = server');
    expect(openssl(['x509', '-noout', '-ext', 'extendedKeyUsage', '-in', { pem: pki.serverCert }])).toMatch(/TLS Web Server Authentication/);
    expect(publicKeyOfKey(pki.serverKey)).toBe(publicKeyOfCert(pki.serverCert));
    for (const name of CLIENT_NAMES) {
      const c = pairs[name];
      expectClientPair(pki.ca, name, c);
      const text = openssl(['x509', '-noout', '-text', '-in', { pem: c.cert }]);
      expect(text).toMatch(/TLS Web Client Authentication/);
      expect(text).toMatch(/X509v3 Key Usage: \n\s+Digital Signature\n/);
      expect(text).toMatch(/CA:FALSE/);
      expect(text).toMatch(/ASN1 OID: secp384r1/);
      expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
      expect(openssl(['x509', '-noout', '-checkend', String(3580 * 86400), '-in', { pem: c.cert }])).toMatch(/will not expire/);
      expect(c.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/); // no passphrase
    }
    const serials = CLIENT_NAMES.map((n) => openssl(['x509', '-noout', '-serial', '-in', { pem: pairs[n].cert }]));
    expect(new Set(serials).size).toBe(CLIENT_NAMES.length);
    expect(new Set(CLIENT_NAMES.map((n) => pairs[n].cert)).size).toBe(CLIENT_NAMES.length);
    expect(new Set([...CLIENT_NAMES.map((n) => pairs[n].key), pki.serverKey, pki.caKey]).size).toBe(CLIENT_NAMES.length + 2);
  });

  test('installs exactly the stored PKI, keys private; client certificates but no client key', () => {
    expect(h.read(`${PKI}/ca.crt`)).toBe(pki.ca);
    expect(h.read(`${PKI}/private/ca.key`)).toBe(pki.caKey);
    expect(h.read(`${PKI}/issued/server.crt`)).toBe(pki.serverCert);
    expect(h.read(`${PKI}/private/server.key`)).toBe(pki.serverKey);
    expect(h.read(`${PKI}/ta.key`)).toBe(pki.tlsCrypt);
    expect(h.list(`${PKI}/private`)).toEqual(['ca.key', 'server.key']);
    for (const name of CLIENT_NAMES) {
      expect(h.read(`${PKI}/issued/${name}.crt`)).toBe(pairs[name].cert);
      expect(h.read(`${PKI}/index.txt`)).toMatch(new RegExp(`^V\\t\\d{12}Z\\t\\t[0-9A-F]+\\tunknown\\t/CN=${name}$`, 'm'));
      expect({ name, files: filesContaining(h, keyLine(pairs[name].key)) }).toEqual({ name, files: [] });
    }
    expect(h.mode(PKI)).toBe('700');
    expect(h.mode(`${PKI}/private`)).toBe('700');
    for (const f of h.list(`${PKI}/private`)) expect({ f, mode: h.mode(`${PKI}/private/${f}`) }).toEqual({ f, mode: '600' });
    expect(h.mode(`${PKI}/ta.key`)).toBe('600');
  });

  test('writes server.conf: UDP port, subnet topology, pushed VPC route, tls-crypt, AEAD ciphers', () => {
    expect(h.read('etc/openvpn/server/server.conf')).toBe(SERVER_CONF);
    expect(h.mode('etc/openvpn/server/server.conf')).toBe('644');
  });

  test('enables forwarding and adds the NAT rule once, persisted by a unit', () => {
    expect(h.read('etc/sysctl.d/99-casper-vpn.conf')).toBe('net.ipv4.ip_forward = 1\n');
    expect(h.readState('sysctl/net.ipv4.ip_forward')).toBe('1');
    expect(h.iptables('nat')).toEqual([`POSTROUTING ${NAT_ARGS}`]);
    expect(matching(r.calls, /^iptables .*-A /)).toHaveLength(1);
    const unit = h.read('etc/systemd/system/casper-vpn-nat.service');
    expect(unit).toContain(`ExecStart=/bin/sh -c '/usr/sbin/iptables -w -t nat -C POSTROUTING ${NAT_ARGS} 2>/dev/null || /usr/sbin/iptables -w -t nat -A POSTROUTING ${NAT_ARGS}'`);
    expect(unit).toContain('Type=oneshot\nRemainAfterExit=yes');
    expect(unit).toContain('WantedBy=multi-user.target');
    expect(h.readState('enabled/casper-vpn-nat.service')).toBe('');
  });

  test('stores one inline profile per client, each with its own certificate and key', () => {
    for (const name of CLIENT_NAMES) {
      const profile = h.secret(clientSecretArn(name))!;
      const lines = profile.split('\n');
      for (const l of ['client', 'dev tun', 'proto udp', 'remote 203.0.113.10 1194', 'nobind', 'remote-cert-tls server',
        'verify-x509-name server name', 'tls-version-min 1.2', 'data-ciphers AES-256-GCM:AES-128-GCM', 'auth SHA256', 'verb 3']) {
        expect({ name, has: lines.includes(l) ? l : undefined }).toEqual({ name, has: l });
      }
      expect(profile).toMatch(new RegExp(`^# Casper VPN profile for ${name}\nclient\n`));
      expect(inlineBlock(profile, 'ca')).toBe(pemOnly(pki.ca));
      expect(inlineBlock(profile, 'cert')).toBe(pemOnly(pairs[name].cert));
      expect(inlineBlock(profile, 'key')).toBe(pemOnly(pairs[name].key));
      expect(inlineBlock(profile, 'tls-crypt')).toBe(pemOnly(pki.tlsCrypt));
    }
    expect(putsIn(r).filter((a) => a !== PKI_SECRET_ARN)).toEqual(CLIENT_NAMES.map(clientSecretArn));
  });

  test('starts the server last and logs each step, timestamped, without key material', () => {
    expect(r.calls[r.calls.length - 1]).toBe(`systemctl enable --now ${SERVICE}`);
    const log = h.setupLog();
    for (const line of log.split('\n').filter((l) => l !== '')) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} /);
    const lines = logLines(h);
    expect(lines[0]).toMatch(/^casper vpn setup: starting with /);
    expect(lines).toContain(`pki: stored in ${PKI_SECRET_ARN} (CA, server certificate, tls-crypt key; format 2)`);
    for (const name of CLIENT_NAMES) expect(lines).toContain(clientLog(name, NEW_CERT, 'written to'));
    expect(lines[lines.length - 1]).toBe('casper vpn setup: finished');
    const keyLines = [pki.caKey, pki.serverKey, ...CLIENT_NAMES.map((n) => pairs[n].key)].map(keyLine);
    for (const out of [log, r.stdout, r.stderr]) {
      expect(out).not.toContain('PRIVATE KEY');
      expect(out).not.toContain('Static key');
      for (const k of keyLines) expect(out).not.toContain(k);
    }
  });

  describe('second run on the same machine', () => {
    let r2: RunResult;
    let before: Record<string, unknown>;
    let secretsBefore: (string | undefined)[];
    beforeAll(() => {
      before = snapshotObject(h);
      secretsBefore = [PKI_SECRET_ARN, ...CLIENT_NAMES.map(clientSecretArn)].map((a) => h.secret(a));
      r2 = h.runSetup();
      expectSuccess(h, r2);
    });

    test('stores nothing, installs nothing, adds no rule, starts nothing', () => {
      for (const p of CHANGING_CALLS) expect({ p: String(p), calls: matching(r2.calls, p) }).toEqual({ p: String(p), calls: [] });
      expect(h.iptables('nat')).toEqual([`POSTROUTING ${NAT_ARGS}`]);
      expect([PKI_SECRET_ARN, ...CLIENT_NAMES.map(clientSecretArn)].map((a) => h.secret(a))).toEqual(secretsBefore);
    });

    test('rewrites no file and issues no certificate', () => {
      expect(snapshotObject(h)).toEqual(before);
    });

    test('still reads the secrets, checks the rule and keeps every client certificate', () => {
      expect(matching(r2.calls, /^aws secretsmanager get-secret-value /)).toHaveLength(1 + CLIENT_NAMES.length);
      expect(matching(r2.calls, /^iptables -w -t nat -C /)).toHaveLength(1);
      const lines = logLines(h);
      for (const name of CLIENT_NAMES) expect(lines).toContain(clientLog(name, KEPT, 'up to date in'));
      expect(lines).toContain(`service: ${SERVICE} already running`);
    });
  });
});

describe('replacement instance: the secrets hold the PKI and the profiles of an earlier instance', () => {
  let first: VpnHarness;
  let h: VpnHarness;
  let r: RunResult;
  let pkiValue: string;
  let profiles: string[];
  beforeAll(() => {
    first = setUpMachine();
    pkiValue = first.secret(PKI_SECRET_ARN)!;
    profiles = CLIENT_NAMES.map((n) => first.secret(clientSecretArn(n))!);
    h = replacementOf(first);
    r = h.runSetup();
    expectSuccess(h, r);
  });

  test('restores the same CA, server certificate and keys; builds no new PKI', () => {
    expect(putsIn(r)).toEqual([]);
    expect(h.secret(PKI_SECRET_ARN)).toBe(pkiValue);
    const pki: StoredPki = JSON.parse(pkiValue);
    expect(h.read(`${PKI}/ca.crt`)).toBe(pki.ca);
    expect(h.read(`${PKI}/private/ca.key`)).toBe(pki.caKey);
    expect(h.read(`${PKI}/issued/server.crt`)).toBe(pki.serverCert);
    expect(h.read(`${PKI}/private/server.key`)).toBe(pki.serverKey);
    expect(h.read(`${PKI}/ta.key`)).toBe(pki.tlsCrypt);
    for (const f of ['ca.crt', 'private/ca.key', 'issued/server.crt', 'private/server.key', 'ta.key']) {
      expect(h.read(`${PKI}/${f}`)).toBe(first.read(`${PKI}/${f}`));
    }
    expect(h.list(`${PKI}/private`)).toEqual(['ca.key', 'server.key']);
    expect(h.mode(`${PKI}/private/ca.key`)).toBe('600');
    expect(h.mode(`${PKI}/private/server.key`)).toBe('600');
    expect(logLines(h)).toContain(`pki: restored from ${PKI_SECRET_ARN} into ${h.path(PKI)}`);
  });

  test('keeps every client certificate of the profiles: no new certificate, no profile written', () => {
    expect(CLIENT_NAMES.map((n) => h.secret(clientSecretArn(n)))).toEqual(profiles);
    expect(matching(r.calls, /^aws secretsmanager get-secret-value /)).toHaveLength(1 + CLIENT_NAMES.length);
    expect(h.read(`${PKI}/index.txt`)).toBe(''); // nothing signed here
    for (const name of CLIENT_NAMES) {
      expect(h.read(`${PKI}/issued/${name}.crt`)).toBe(pairOf(first, name).cert);
      expect(logLines(h)).toContain(clientLog(name, KEPT, 'up to date in'));
    }
  });

  test('writes the same server.conf, sets up routing and starts the server', () => {
    expect(h.read('etc/openvpn/server/server.conf')).toBe(first.read('etc/openvpn/server/server.conf'));
    expect(h.iptables('nat')).toEqual([`POSTROUTING ${NAT_ARGS}`]);
    expect(matching(r.calls, new RegExp(`^systemctl enable --now ${re(SERVICE)}$`))).toHaveLength(1);
  });

  test('a rerun there changes nothing either', () => {
    const before = snapshotObject(h);
    const r2 = h.runSetup();
    expectSuccess(h, r2);
    for (const p of CHANGING_CALLS) expect({ p: String(p), calls: matching(r2.calls, p) }).toEqual({ p: String(p), calls: [] });
    expect(snapshotObject(h)).toEqual(before);
  });
});

describe('storing a new PKI fails', () => {
  let h: VpnHarness;
  let r: RunResult;
  const error = `ERROR: pki: cannot store the PKI in ${PKI_SECRET_ARN}; nothing was installed and openvpn was not started`;
  beforeAll(() => {
    h = machine();
    h.rule('aws', `^secretsmanager put-secret-value --secret-id ${re(PKI_SECRET_ARN)} `, {
      exit: 254,
      stderr: 'An error occurred (AccessDeniedException) when calling the PutSecretValue operation: not authorized\n',
      times: 3,
    });
    r = h.runSetup();
  });

  test('exits non-zero with an ERROR line after three attempts', () => {
    expectFailure(h, r, error);
    expect(matching(r.calls, new RegExp(`^aws secretsmanager put-secret-value --secret-id ${re(PKI_SECRET_ARN)} `))).toHaveLength(3);
    expect(r.stderr).toContain('AccessDeniedException');
  });

  test('installs no PKI, issues no client certificate, writes no config or profile and does not start openvpn', () => {
    expect(h.exists(PKI)).toBe(false);
    expect(h.exists('etc/openvpn/server/server.conf')).toBe(false);
    expect(h.secret(PKI_SECRET_ARN)).toBe(PLACEHOLDER);
    for (const name of CLIENT_NAMES) expect(h.secret(clientSecretArn(name))).toBe(`{"placeholder": "${name}"}`);
    expect(matching(r.calls, /^aws secretsmanager get-secret-value --secret-id \S+profile/)).toEqual([]);
    expect(matching(r.calls, /^systemctl /)).toEqual([]);
    expect(matching(r.calls, /^iptables /)).toEqual([]);
    expect(putsIn(r).filter((a) => a !== PKI_SECRET_ARN)).toEqual([]);
  });

  test('a later run, with the secret writable again, builds and stores a PKI and the profiles', () => {
    const r2 = h.runSetup();
    expectSuccess(h, r2);
    const pki = storedPki(h);
    expect(Object.keys(pki).sort()).toEqual(PKI_KEYS);
    expect(h.read(`${PKI}/ca.crt`)).toBe(pki.ca);
    for (const name of CLIENT_NAMES) expectClientPair(pki.ca, name, pairOf(h, name));
    expect(matching(r2.calls, new RegExp(`^systemctl enable --now ${re(SERVICE)}$`))).toHaveLength(1);
  });
});

describe('a sixth client is added to the config', () => {
  const SIX = [...CLIENT_NAMES, 'admin6'];

  function addSixth(h: VpnHarness): void {
    h.writeConfig(defaultConfig(SIX));
    h.setSecret(clientSecretArn('admin6'), '{"placeholder": "admin6"}');
  }

  describe('on the instance that built the PKI', () => {
    let h: VpnHarness;
    let r: RunResult;
    let pkiValue: string;
    let files: Map<string, { sha256: string; ino: number }>;
    let profiles: string[];
    beforeAll(() => {
      h = setUpMachine();
      pkiValue = h.secret(PKI_SECRET_ARN)!;
      files = h.snapshot();
      profiles = CLIENT_NAMES.map((n) => h.secret(clientSecretArn(n))!);
      addSixth(h);
      r = h.runSetup();
      expectSuccess(h, r);
    });

    test('writes only its profile, with a new certificate from the same CA; the PKI secret is unchanged', () => {
      expect(putsIn(r)).toEqual([clientSecretArn('admin6')]);
      expect(h.secret(PKI_SECRET_ARN)).toBe(pkiValue);
      expect(CLIENT_NAMES.map((n) => h.secret(clientSecretArn(n)))).toEqual(profiles);
      const six = pairOf(h, 'admin6');
      expectClientPair(storedPki(h).ca, 'admin6', six);
      for (const name of CLIENT_NAMES) expect(six.key).not.toBe(pairOf(h, name).key);
      expect(logLines(h)).toContain(clientLog('admin6', NEW_CERT, 'written to'));
    });

    test('records its certificate in the PKI, changing no other PKI file and not restarting openvpn', () => {
      expect(h.read(`${PKI}/issued/admin6.crt`)).toBe(pairOf(h, 'admin6').cert);
      expect(h.list(`${PKI}/private`)).toEqual(['ca.key', 'server.key']);
      const now = h.snapshot();
      const kept = ['ca.crt', 'private/ca.key', 'issued/server.crt', 'private/server.key', 'ta.key',
        ...CLIENT_NAMES.map((n) => `issued/${n}.crt`)].map((f) => `${PKI}/${f}`);
      for (const f of [...kept, 'etc/openvpn/server/server.conf']) {
        expect({ f, sha: now.get(f)?.sha256, ino: now.get(f)?.ino }).toEqual({ f, sha: files.get(f)!.sha256, ino: files.get(f)!.ino });
      }
      expect(h.read(`${PKI}/index.txt`)).toMatch(/\/CN=admin6\n$/);
      expect(matching(r.calls, /^systemctl (enable|restart|start)/)).toEqual([]);
    });
  });

  test('on a replacement instance (restored PKI), the same: one new certificate from the stored CA', () => {
    const first = setUpMachine();
    const h = replacementOf(first);
    addSixth(h);
    const r = h.runSetup();
    expectSuccess(h, r);
    expect(putsIn(r)).toEqual([clientSecretArn('admin6')]);
    expect(h.secret(PKI_SECRET_ARN)).toBe(first.secret(PKI_SECRET_ARN));
    for (const name of CLIENT_NAMES) expect(h.secret(clientSecretArn(name))).toBe(first.secret(clientSecretArn(name)));
    expectClientPair(storedPki(first).ca, 'admin6', pairOf(h, 'admin6'));
    expect(h.read(`${PKI}/issued/admin6.crt`)).toBe(pairOf(h, 'admin6').cert);
    expect(h.read(`${PKI}/index.txt`).trim().split('\n')).toHaveLength(1);
  });
});

describe('client secrets', () => {
  /** What a client secret holds before the run; undefined: no value yet. */
  interface Case {
    readonly what: string;
    readonly client: string;
    readonly value: (h: VpnHarness) => string | undefined;
    /** 'kept': the pair stays; otherwise the problem logged before a new pair is issued. */
    readonly expected: 'kept' | string;
  }
  const profileOf = (h: VpnHarness, name: string) => h.secret(clientSecretArn(name))!;
  // Two machines of five clients, one case per client: two runs each rather than two per case.
  const groups: Case[][] = [[
    {
      what: 'a profile edited by hand but still holding its pair is rewritten with the same pair',
      client: 'admin1',
      value: (h) => profileOf(h, 'admin1').replace('remote 203.0.113.10 1194', 'remote 198.51.100.7 443').replace('verb 3\n', 'verb 5\n'),
      expected: 'kept',
    },
    {
      what: 'a profile with Windows line ends keeps its pair',
      client: 'admin2',
      value: (h) => profileOf(h, 'admin2').replace(/\n/g, '\r\n'),
      expected: 'kept',
    },
    {
      what: 'a profile signed by another CA gets a new pair from the current CA',
      client: 'admin3',
      value: () => profileOf(foreignMachine(), 'admin3'),
      expected: 'holds a certificate that the current CA does not verify (unable to get local issuer certificate)',
    },
    {
      what: 'a profile whose certificate has another CN (another client\'s profile) gets a new pair',
      client: 'admin4',
      value: (h) => profileOf(h, 'admin2'),
      expected: 'holds a certificate not issued to CN=admin4',
    },
    {
      what: 'a profile whose key does not match its certificate (tampered) gets a new pair',
      client: 'admin5',
      value: (h) => profileOf(h, 'admin5').replace(pairOf(h, 'admin5').key, pairOf(h, 'admin1').key),
      expected: 'holds a private key that does not match its certificate',
    },
  ], [
    {
      what: 'a profile without its key gets a new pair',
      client: 'admin1',
      value: (h) => profileOf(h, 'admin1').replace(/<key>[\s\S]*<\/key>\n/, ''),
      expected: 'holds no private key',
    },
    {
      what: 'the server\'s certificate and key pasted into a profile get a new pair',
      client: 'admin2',
      value: (h) => profileOf(h, 'admin2').replace(pairOf(h, 'admin2').cert, pemOnly(storedPki(h).serverCert))
        .replace(pairOf(h, 'admin2').key, storedPki(h).serverKey),
      expected: 'holds a certificate that the current CA does not verify (unsuitable certificate purpose)',
    },
    {
      what: 'a secret overwritten by hand gets a new pair',
      client: 'admin3',
      value: () => 'edited by hand',
      expected: 'holds no certificate',
    },
    {
      what: 'a secret without a value yet gets a profile with a new pair',
      client: 'admin4',
      value: () => undefined,
      expected: 'holds no certificate',
    },
    {
      what: 'an untouched profile is neither rewritten nor given a new pair',
      client: 'admin5',
      value: (h) => profileOf(h, 'admin5'),
      expected: 'kept',
    },
  ]];

  interface Outcome { h: VpnHarness; r: RunResult; r2: RunResult; original: string; old: Pair; stored: string | undefined }
  const outcomes = new Map<Case, Outcome>();
  beforeAll(() => {
    for (const group of groups) {
      const h = setUpMachine();
      const before = group.map((c) => ({ c, original: profileOf(h, c.client), old: pairOf(h, c.client), stored: c.value(h) }));
      for (const { c, stored } of before) {
        if (stored === undefined) fs.rmSync(`${h.state}/secrets/${clientSecretArn(c.client).replace(/[^A-Za-z0-9]/g, '_')}`);
        else h.setSecret(clientSecretArn(c.client), stored);
      }
      const r = h.runSetup();
      expectSuccess(h, r);
      const r2 = h.runSetup();
      expectSuccess(h, r2);
      for (const { c, original, old, stored } of before) outcomes.set(c, { h, r, r2, original, old, stored });
    }
  }, 30_000);

  test.each(groups.flat().map((c) => [c.what, c] as const))('%s', (_what, c) => {
    const { h, r, original, old, stored } = outcomes.get(c)!;
    const arn = clientSecretArn(c.client);
    const now = pairOf(h, c.client);
    expectClientPair(storedPki(h).ca, c.client, now);
    expect(h.read(`${PKI}/issued/${c.client}.crt`)).toBe(now.cert);
    if (c.expected === 'kept') {
      expect(h.secret(arn)).toBe(original);
      expect(now).toEqual(old);
      const changed = stored !== original;
      expect(putsIn(r).includes(arn)).toBe(changed);
      expect(logLines(h)).toContain(clientLog(c.client, KEPT, changed ? 'written to' : 'up to date in'));
    } else {
      expect(putsIn(r)).toContain(arn);
      expect(now.cert).not.toBe(old.cert);
      expect(now.key).not.toBe(old.key);
      if (stored !== undefined && stored.includes('<cert>')) expect(now.cert).not.toBe(inlineBlock(stored.replace(/\r/g, ''), 'cert'));
      expect(logLines(h)).toContain(clientLog(c.client, `gets a new certificate (its profile ${c.expected})`, 'written to'));
    }
  });

  test('a profile that cannot be stored stops the setup; its new certificate is not recorded, the next run issues another', () => {
    const h = setUpMachine();
    const before = h.read(`${PKI}/issued/admin3.crt`);
    h.setSecret(clientSecretArn('admin3'), 'lost');
    h.rule('aws', `^secretsmanager put-secret-value --secret-id ${re(clientSecretArn('admin3'))} `, {
      exit: 254, stderr: 'An error occurred (AccessDeniedException) when calling the PutSecretValue operation: not authorized\n', times: 3,
    });
    const r = h.runSetup();
    expectFailure(h, r, `ERROR: client profiles: cannot store the profile of admin3 in ${clientSecretArn('admin3')}`);
    expect(matching(r.calls, new RegExp(`^aws secretsmanager put-secret-value --secret-id ${re(clientSecretArn('admin3'))} `))).toHaveLength(3);
    expect(h.secret(clientSecretArn('admin3'))).toBe('lost');
    expect(h.read(`${PKI}/issued/admin3.crt`)).toBe(before);
    expect(h.list(`${PKI}/private`)).toEqual(['ca.key', 'server.key']);
    expect(matching(r.calls, /^aws secretsmanager get-secret-value --secret-id \S+admin[45]/)).toEqual([]);
    const r2 = h.runSetup();
    expectSuccess(h, r2);
    expect(putsIn(r2)).toEqual([clientSecretArn('admin3')]);
    expectClientPair(storedPki(h).ca, 'admin3', pairOf(h, 'admin3'));
    expect(h.read(`${PKI}/issued/admin3.crt`)).toBe(pairOf(h, 'admin3').cert);
  });

  test('key material left by a killed run is removed by the next run', () => {
    const h = setUpMachine();
    const stale = 'etc/openvpn/server/.pki.AbC123';
    fs.mkdirSync(h.path(`${stale}/client`), { recursive: true, mode: 0o700 });
    fs.writeFileSync(h.path(`${stale}/client/admin1.key`), pairOf(h, 'admin1').key, { mode: 0o600 });
    const r = h.runSetup();
    expectSuccess(h, r);
    expect(h.exists(stale)).toBe(false);
    expect(putsIn(r)).toEqual([]);
    expect(logLines(h)).toContain(`pki: removed ${h.path(stale)}, left by an interrupted run`);
  });

  test('client keys kept in the PKI dir by an earlier version are removed from the disk', () => {
    const h = setUpMachine();
    for (const name of CLIENT_NAMES) fs.writeFileSync(h.path(`${PKI}/private/${name}.key`), pairOf(h, name).key, { mode: 0o600 });
    const r = h.runSetup();
    expectSuccess(h, r);
    expect(h.list(`${PKI}/private`)).toEqual(['ca.key', 'server.key']);
    expect(putsIn(r)).toEqual([]);
    expect(logLines(h)).toContain(`pki: removed client keys from ${h.path(`${PKI}/private`)}: ${CLIENT_NAMES.map((n) => `${n}.key`).join(' ')}`);
    expect(matching(r.calls, /^systemctl (enable|restart|start)/)).toEqual([]);
  });

  test('no client key on disk, no restart, and a rerun writes nothing', () => {
    for (const group of groups) {
      const { h, r, r2 } = outcomes.get(group[0])!;
      expect(h.list(`${PKI}/private`)).toEqual(['ca.key', 'server.key']);
      expect(matching(r.calls, /^systemctl (enable|restart|start)/)).toEqual([]);
      for (const p of CHANGING_CALLS) expect({ p: String(p), calls: matching(r2.calls, p) }).toEqual({ p: String(p), calls: [] });
    }
  });
});

describe('50 clients', () => {
  const NAMES = Array.from({ length: 50 }, (_, i) => `admin${String(i + 1).padStart(2, '0')}`);
  let h: VpnHarness;
  let r: RunResult;
  let ms: number;
  beforeAll(() => {
    h = machine({ clients: NAMES });
    const start = Date.now();
    r = h.runSetup();
    ms = Date.now() - start;
    expectSuccess(h, r);
  }, 60_000);

  test('the PKI secret stays small: no client material', () => {
    const value = h.secret(PKI_SECRET_ARN)!;
    process.stdout.write(`\n50 clients: first run ${ms} ms, PKI secret ${Buffer.byteLength(value)} bytes, ` +
      `profiles ${Math.min(...NAMES.map((n) => Buffer.byteLength(h.secret(clientSecretArn(n))!)))}-` +
      `${Math.max(...NAMES.map((n) => Buffer.byteLength(h.secret(clientSecretArn(n))!)))} bytes\n`);
    expect(Buffer.byteLength(value)).toBeLessThan(8 * 1024);
    expect(Object.keys(JSON.parse(value)).sort()).toEqual(PKI_KEYS);
  });

  test('each profile secret is small and holds its own certificate, verified by the CA', () => {
    const ca = storedPki(h).ca;
    for (const name of NAMES) expect(Buffer.byteLength(h.secret(clientSecretArn(name))!)).toBeLessThan(16 * 1024);
    const pairs = NAMES.map((n) => pairOf(h, n));
    expect(new Set(pairs.map((p) => p.cert)).size).toBe(NAMES.length);
    expect(new Set(pairs.map((p) => p.key)).size).toBe(NAMES.length);
    // One openssl verify for all of them; the rest in process (150 openssl runs would take seconds).
    const verified = openssl(['verify', '-purpose', 'sslclient', '-CAfile', { pem: ca }, ...pairs.map((p) => ({ pem: p.cert }))]);
    expect(verified.trim().split('\n').filter((l) => l.endsWith(': OK'))).toHaveLength(NAMES.length);
    const caCert = new crypto.X509Certificate(ca);
    NAMES.forEach((name, i) => {
      const cert = new crypto.X509Certificate(pairs[i].cert);
      expect({ name, subject: cert.subject, signed: cert.verify(caCert.publicKey), own: cert.checkPrivateKey(crypto.createPrivateKey(pairs[i].key)) })
        .toEqual({ name, subject: `CN=${name}`, signed: true, own: true });
    });
    expect(putsIn(r)).toEqual([PKI_SECRET_ARN, ...NAMES.map(clientSecretArn)]);
  });

  test('a rerun writes nothing', () => {
    const before = snapshotObject(h);
    const secrets = [PKI_SECRET_ARN, ...NAMES.map(clientSecretArn)].map((a) => h.secret(a));
    const start = Date.now();
    const r2 = h.runSetup();
    process.stdout.write(`\n50 clients: rerun ${Date.now() - start} ms\n`);
    expectSuccess(h, r2);
    for (const p of CHANGING_CALLS) expect({ p: String(p), calls: matching(r2.calls, p) }).toEqual({ p: String(p), calls: [] });
    expect([PKI_SECRET_ARN, ...NAMES.map(clientSecretArn)].map((a) => h.secret(a))).toEqual(secrets);
    expect(snapshotObject(h)).toEqual(before);
  }, 60_000);
});

describe('run as the user data runs it', () => {
  test('bash setup.sh <config.env> from the script\'s own directory, without HOME: needs nothing beside the script but lib.sh', () => {
    const h = machine();
    // What the user data downloads into /etc/casper-vpn.
    const dir = path.join(h.base, 'etc-casper-vpn-by-hand');
    fs.mkdirSync(dir);
    fs.copyFileSync(SETUP_SCRIPT, path.join(dir, 'setup.sh'));
    fs.copyFileSync(SHELL_LIB, path.join(dir, 'lib.sh'));
    const r = h.runSetup({}, { script: 'setup.sh', cwd: dir, noHome: true });
    expectSuccess(h, r);
    expect(fs.readdirSync(dir).sort()).toEqual(['lib.sh', 'setup.sh']);
    expect(logLines(h)[0]).toBe(`casper vpn setup: starting with ${h.configPath}`);
    expect(logLines(h)).toContain('casper vpn setup: finished');
    expect(h.mode('var/log/casper-vpn-setup.log')).toBe('640');
    for (const name of CLIENT_NAMES) expectClientPair(storedPki(h).ca, name, pairOf(h, name));
  });
});

describe('the PKI secret cannot be trusted', () => {
  test('a value with a ca but missing parts is not replaced', () => {
    const h = machine();
    h.setSecret(PKI_SECRET_ARN, '{"ca": "not a certificate"}');
    const r = h.runSetup();
    expectFailure(h, r, `ERROR: pki: ${PKI_SECRET_ARN} holds a PKI that cannot be read (see above); not replacing it`);
    expect(r.stderr).toContain('the PKI secret holds a ca but ca is missing or not a PEM certificate');
    expect(putsIn(r)).toEqual([]);
    expect(h.secret(PKI_SECRET_ARN)).toBe('{"ca": "not a certificate"}');
    expect(h.exists(PKI)).toBe(false);
  });

  test('a value of an unknown (newer) format is not replaced', () => {
    const a = setUpMachine();
    const value = JSON.stringify({ ...storedPki(a), format: 3 });
    const h = machine();
    h.setSecret(PKI_SECRET_ARN, value);
    const r = h.runSetup();
    expectFailure(h, r, `ERROR: pki: ${PKI_SECRET_ARN} holds a PKI that cannot be read (see above); not replacing it`);
    expect(r.stderr).toContain('the PKI secret has format 3; this script reads format 2');
    expect(putsIn(r)).toEqual([]);
    expect(h.secret(PKI_SECRET_ARN)).toBe(value);
    expect(h.exists(PKI)).toBe(false);
  });

  test.each([
    ['a format-1 value (no format, every client\'s pair under clients)', undefined, 'the PKI secret has format 1; this script reads format 2'],
    ['a format-2 value with a clients key', 2, 'the PKI secret holds client material (clients); this script reads format 2, without it'],
  ])('%s is not replaced and starts nothing', (_what, format, message) => {
    const a = setUpMachine();
    const { ca, caKey, serverCert, serverKey, tlsCrypt } = storedPki(a);
    const clients = Object.fromEntries(CLIENT_NAMES.map((n) => [n, pairOf(a, n)]));
    const value = JSON.stringify({ ...(format === undefined ? {} : { format }), ca, caKey, serverCert, serverKey, tlsCrypt, clients });
    const h = replacementOf(a, { [PKI_SECRET_ARN]: value });
    const r = h.runSetup();
    expectFailure(h, r, `ERROR: pki: ${PKI_SECRET_ARN} holds a PKI that cannot be read (see above); not replacing it`);
    expect(r.stderr).toContain(message);
    expect(putsIn(r)).toEqual([]);
    expect(h.puts()).toEqual([]);
    expect(h.secret(PKI_SECRET_ARN)).toBe(value);
    for (const name of CLIENT_NAMES) expect(h.secret(clientSecretArn(name))).toBe(a.secret(clientSecretArn(name)));
    expect(h.exists(PKI)).toBe(false);
    expect(matching(r.calls, /^systemctl /)).toEqual([]);
  });

  test('a server certificate from another CA is refused', () => {
    const a = setUpMachine();
    const b = machine();
    expectSuccess(b, b.runSetup());
    const value = JSON.stringify({ ...storedPki(a), serverCert: storedPki(b).serverCert });
    const h = machine();
    h.setSecret(PKI_SECRET_ARN, value);
    const r = h.runSetup();
    expectFailure(h, r, 'ERROR: pki: the certificate of server is not signed by the CA of the PKI');
    expect(putsIn(r)).toEqual([]);
    expect(h.secret(PKI_SECRET_ARN)).toBe(value);
    expect(h.exists(PKI)).toBe(false);
  });

  test('a PKI on disk while the secret holds none is not replaced by a second CA', () => {
    const h = setUpMachine();
    const ca = h.read(`${PKI}/ca.crt`);
    h.setSecret(PKI_SECRET_ARN, PLACEHOLDER);
    const r = h.runSetup();
    expectFailure(h, r, `ERROR: pki: ${PKI_SECRET_ARN} holds no PKI but ${h.path(PKI)} exists; refusing to make a second CA (store that PKI in the secret or remove ${h.path(PKI)})`);
    expect(putsIn(r)).toEqual([]);
    expect(h.read(`${PKI}/ca.crt`)).toBe(ca);
  });

  test('a secret that cannot be read stops the setup after three attempts', () => {
    const h = machine();
    h.rule('aws', `^secretsmanager get-secret-value --secret-id ${re(PKI_SECRET_ARN)} `, {
      exit: 254,
      stderr: 'An error occurred (AccessDeniedException) when calling the GetSecretValue operation: not authorized\n',
    });
    const r = h.runSetup();
    expectFailure(h, r, `ERROR: pki: cannot read ${PKI_SECRET_ARN}`);
    expect(matching(r.calls, /^aws secretsmanager get-secret-value /)).toHaveLength(3);
    expect(putsIn(r)).toEqual([]);
    expect(h.exists(PKI)).toBe(false);
  });
});

test.each<[string, string, Parameters<typeof machine>[0], string]>([
  ['the AWS CLI', 'no aws command', { omitShims: ['aws'] }, 'awscli'],
  ['python3', 'none', { omitTools: ['python3'] }, 'python3'],
])('installs %s with the other packages when there is %s', (_tool, _missing, options, pkg) => {
  const h = machine(options);
  const r = h.runSetup();
  expectSuccess(h, r);
  expect(matching(r.calls, /^apt-get .*install /)).toEqual([`apt-get -o DPkg::Lock::Timeout=300 install -y openvpn easy-rsa iptables ${pkg}`]);
  expect(storedPki(h).ca).toBe(h.read(`${PKI}/ca.crt`));
});

describe('missing tools fail with the package to install', () => {
  test('easyrsa', () => {
    const h = machine();
    const r = h.runSetup({ CASPER_EASYRSA_DIR: '/nonexistent/easy-rsa' });
    expectFailure(h, r, 'ERROR: packages: easyrsa not found in /nonexistent/easy-rsa: apt-get install -y easy-rsa');
    expect(putsIn(r)).toEqual([]);
  });

  test('openvpn', () => {
    const h = machine({ omitTools: ['openvpn'] });
    const r = h.runSetup();
    expectFailure(h, r, 'ERROR: packages: openvpn not found: apt-get install -y openvpn');
    expect(matching(r.calls, /^aws /)).toEqual([]);
  });
});

describe('config.env', () => {
  test('VPN_PORT defaults to 1194; quotes are optional; comments and unknown names are ignored', () => {
    const h = machine();
    const c = defaultConfig();
    h.writeRawConfig([
      '# written by the construct',
      `REGION=${c.REGION}`,
      `VPN_NETWORK=${c.VPN_NETWORK}`,
      `VPC_CIDR='${c.VPC_CIDR}'`,
      'PUBLIC_ADDRESS=vpn.example.com',
      `PKI_SECRET_ARN=${c.PKI_SECRET_ARN}`,
      `CLIENT_NAMES="${c.CLIENT_NAMES.join(' ')}"`,
      `CLIENT_SECRET_ARNS="${c.CLIENT_SECRET_ARNS.join(' ')}"`,
      'FUTURE_OPTION=1',
      '',
    ].join('\n'));
    const r = h.runSetup();
    expectSuccess(h, r);
    expect(h.read('etc/openvpn/server/server.conf')).toBe(SERVER_CONF);
    expect(h.secret(clientSecretArn('admin1'))).toContain('\nremote vpn.example.com 1194\n');
    expect(logLines(h)).toContain('config: ignoring unknown variable FUTURE_OPTION');
  });

  test('another port, tunnel network and VPC CIDR reach server.conf and the profiles', () => {
    const h = machine();
    h.writeConfig({ ...defaultConfig(), VPN_PORT: 51194, VPN_NETWORK: '172.27.224.0/20', VPC_CIDR: '10.0.0.0/8' });
    expectSuccess(h, h.runSetup());
    const conf = h.read('etc/openvpn/server/server.conf');
    expect(conf).toContain('\nport 51194\n');
    expect(conf).toContain('\nserver 172.27.224.0 255.255.240.0\n');
    expect(conf).toContain('\npush "route 10.0.0.0 255.0.0.0"\n');
    expect(h.iptables('nat')).toEqual(['POSTROUTING -s 172.27.224.0/20 -d 10.0.0.0/8 -j MASQUERADE']);
    expect(h.secret(clientSecretArn('admin1'))).toContain('\nremote 203.0.113.10 51194\n');
  });

  const c = defaultConfig();
  test.each([
    ['VPN_NETWORK has host bits set', { VPN_NETWORK: '10.8.0.1/24' }, "VPN_NETWORK has host bits set: '10.8.0.1/24'"],
    ['VPC_CIDR is not a CIDR', { VPC_CIDR: '10.99.0.0' }, "VPC_CIDR must be an IPv4 CIDR, got '10.99.0.0'"],
    ['the networks overlap', { VPN_NETWORK: '10.99.8.0/24' }, 'VPN_NETWORK 10.99.8.0/24 overlaps VPC_CIDR 10.99.0.0/16'],
    ['the port is out of range', { VPN_PORT: 70000 }, "VPN_PORT must be a UDP port, got '70000'"],
    ['a secret ARN is missing', { CLIENT_SECRET_ARNS: c.CLIENT_SECRET_ARNS.slice(1) },
      'CLIENT_NAMES has 5 names but CLIENT_SECRET_ARNS 4 ARNs'],
    ['a name appears twice', { CLIENT_NAMES: ['admin1', 'admin2', 'admin3', 'admin4', 'admin1'] }, "client name 'admin1' appears twice"],
    ['a client is called server', { CLIENT_NAMES: ['admin1', 'admin2', 'server', 'admin4', 'admin5'] }, "'server' cannot be a client name"],
    ['a name has a slash', { CLIENT_NAMES: ['admin1', 'admin2', '../x', 'admin4', 'admin5'] },
      "client name '../x' must be letters, digits, '.', '_' or '-' (at most 64)"],
    ['the PKI secret is not an ARN', { PKI_SECRET_ARN: 'casper-vpn-pki' }, "PKI_SECRET_ARN holds 'casper-vpn-pki', not a Secrets Manager secret ARN"],
    ['the region is missing', { REGION: '' }, "REGION must be an AWS region, got ''"],
  ])('is refused when %s, before touching anything', (_what, change, message) => {
    const h = machine();
    h.writeConfig({ ...defaultConfig(), ...change });
    const r = h.runSetup();
    expectFailure(h, r, `ERROR: config: ${message}`);
    expect(r.calls).toEqual([]);
  });
});
