import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { renderAgentConfig } from '../../../src/private/agent-config';
import { FakePeers } from '../../support/fake-peers';
import {
  ARMOURED_KEY, BASE_FSTAB, DEVICE, FLEET_NODE_NAMES, FLEET_SECRET_ARNS, GIB, HEALTH_URL, IMDS, IMDS_TOKEN, INSTANCE_ID, LIBSSL_URL,
  LOGICAL_ID, MEMBER_PUBLIC_IP, MKFS_UUID, MOUNT_POINT, NODE_ASSETS, NodeConfig, PUBLIC_IP, REPO_KEY_URL, RunResult, SECRET_ARN, SHELL_LIB,
  STACK_NAME, STATUS_FIXTURE, STATUS_URL, ShellHarness, TRUSTED_HASH, VOLUME_ID, defaultConfig, expectCallsInOrder, re, watchdogEnv,
} from '../../support/shell-harness';

/**
 * Behaviour of src/assets/node/bootstrap.sh, run by bash against stubbed
 * system commands (see test/support/shell-harness.ts).
 */

const FSTAB_LINE = `UUID=${MKFS_UUID} ${MOUNT_POINT} ext4 defaults,nofail 0 2`;
const KEY_FILES = ['public_key.pem', 'public_key_hex', 'secret_key.pem'];
const STAGED = ['etc/casper/2_0_0/config.toml', 'etc/casper/2_1_0/config.toml'];
/** config.toml as the casper-node-util stub stages it: upstream's 2.x layout with the node's Elastic IP. */
const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'casper');
const STAGED_CONFIG = fs.readFileSync(path.join(FIXTURES, 'config-2.x.toml'), 'utf8')
  .split('<IP ADDRESS>').join(PUBLIC_IP)
  .replace(/^known_addresses = .*$/m, "known_addresses = ['127.0.0.9:35000', '127.0.0.10:35000']");
/** How the bootstrap (and the timer) call the staging tool. */
const STAGE_CALL = /^runuser -u casper -- timeout --kill-after=30 1800 \S+\/casper-node-util stage_protocols casper-test\.conf --ip 203\.0\.113\.10$/;
const APT = 'apt-get -o DPkg::Lock::Timeout=300';
const STORED_KEY = {
  secret_key_pem: '-----BEGIN PRIVATE KEY-----\nRESTORED-SECRET-KEY\n-----END PRIVATE KEY-----\n',
  public_key_pem: '-----BEGIN PUBLIC KEY-----\nRESTORED-PUBLIC-KEY\n-----END PUBLIC KEY-----\n',
  public_key_hex: '0203b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3',
};

/** Commands that must never run on an already-bootstrapped machine. */
const ONE_TIME_ACTIONS: RegExp[] = [
  /^mkfs/, /^casper-client keygen/, /^runuser .* keygen/, /^aws secretsmanager put-secret-value/,
  /^aws secretsmanager get-secret-value/, /stage_protocols/, /^apt-get .*install/, /^apt-get .*update/, /^dpkg -i/,
  /^gpg /, /^resize2fs/, /^mount /, /^systemctl daemon-reload/, /^systemctl enable/, /^curl .*repo\.casper\.network/,
];

const harnesses: ShellHarness[] = [];
function machine(options?: { omitShims?: string[] }): ShellHarness {
  const h = ShellHarness.freshMachine(options);
  harnesses.push(h);
  return h;
}
afterEach(() => {
  for (const h of harnesses.splice(0)) h.cleanup();
});

/** A fresh machine whose config has the edits applied, in order (an undefined one is skipped). */
function configuredMachine(...edits: (((c: NodeConfig) => void) | undefined)[]): ShellHarness {
  const h = machine();
  h.writeConfig((c) => { for (const edit of edits) edit?.(c); });
  return h;
}

function matching(calls: string[], pattern: RegExp): string[] {
  return calls.filter((c) => pattern.test(c));
}

/** The bootstrap log without its timestamps. */
function logLines(h: ShellHarness): string[] {
  return h.bootstrapLog().split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ /, ''));
}

const FAILURE_SIGNAL = `aws cloudformation signal-resource --stack-name ${STACK_NAME} --logical-resource-id ${LOGICAL_ID} `
  + `--unique-id ${INSTANCE_ID} --status FAILURE --region us-east-1`;

/** A failed bootstrap: exit code, the ERROR line, and FAILURE signalled to CloudFormation at once, exactly once. */
function expectFailure(h: ShellHarness, r: RunResult, error: string): void {
  expect(r.status).not.toBe(0);
  expect(logLines(h)).toContain(error);
  expect(r.stdout).toContain(error);
  expect(matching(r.calls, /^aws cloudformation signal-resource/)).toEqual([FAILURE_SIGNAL]);
  expect(h.exists('var/lib/casper-bootstrap/done')).toBe(false);
}

/** Calls other than the FAILURE signal. */
function withoutSignal(calls: string[]): string[] {
  return calls.filter((c) => c !== FAILURE_SIGNAL);
}

/** Calls other than the FAILURE signal and the instance-metadata reads it needs. */
function withoutSignalling(calls: string[]): string[] {
  return withoutSignal(calls).filter((c) => !c.startsWith(`curl -fsS --max-time 5 -X PUT ${IMDS}/api/token `)
    && !/^curl -fsS --max-time 5 -H X-aws-ec2-metadata-token: \S+ \S+\/meta-data\/(instance-id|placement\/region|tags\/instance\/aws:cloudformation:(stack-name|logical-id))$/.test(c));
}

/** No key material, no key staging dir and no scratch files left behind. */
function expectNoKeyLeftBehind(h: ShellHarness): void {
  expect(h.exists('etc/casper/validator_keys/secret_key.pem')).toBe(false);
  expect(h.list('etc/casper').filter((f) => f.startsWith('.validator_keys.'))).toEqual([]);
  expect(fs.readdirSync(h.tmpDir)).toEqual([]);
}

/** A config the bootstrap rejects: the config ERROR line, the reason on stdout, nothing done but the FAILURE signal. */
function expectConfigRejected(h: ShellHarness, r: RunResult, message: string): void {
  expectFailure(h, r, `ERROR: config: invalid config ${h.configPath} (see the message above)`);
  expect(r.stdout).toContain(`${h.configPath}: ${message}`);
  expect(withoutSignalling(r.calls)).toEqual([]);
}

/** Runs the bootstrap from a copy of the node assets without one file: the config check fails before anything happens. */
function expectMissingAssetRejected(h: ShellHarness, missing: string): void {
  const assets = path.join(h.base, 'partial-assets');
  fs.cpSync(h.assets, assets, { recursive: true });
  fs.rmSync(path.join(assets, missing));
  const r = h.run(path.join(assets, 'bootstrap.sh'), [h.configPath]);
  expectFailure(h, r, `ERROR: config: ${path.join(assets, missing)} is missing (upload the whole node/ asset folder)`);
  expect(withoutSignalling(r.calls)).toEqual([]);
}

/** Bootstraps twice; the second run rewrites none of files (same inode, same text). Returns the second run. */
function rerunRewritesNothing(h: ShellHarness, files: string[]): RunResult {
  expect(h.runBootstrap().status).toBe(0);
  const before = Object.fromEntries(files.map((f) => [f, { ino: h.inode(f), text: h.read(f) }]));
  const r = h.runBootstrap();
  expect(r.status).toBe(0);
  for (const f of files) expect({ f, ino: h.inode(f), text: h.read(f) }).toEqual({ f, ...before[f] });
  return r;
}

/** None of files exists. */
function expectNotWritten(h: ShellHarness, files: string[]): void {
  for (const f of files) expect({ f, exists: h.exists(f) }).toEqual({ f, exists: false });
}

/** No scratch file left in the temp dir, nor a hidden temp file beside the files written under etc/. */
function expectNoScratchFiles(h: ShellHarness): void {
  expect(fs.readdirSync(h.tmpDir)).toEqual([]);
  expect(h.list('etc').filter((f) => f.startsWith('.'))).toEqual([]);
}

/** The run found the unit stopped and started it, and only that touched the unit's service family (e.g. casper-health for casper-health.service). */
function expectStarted(h: ShellHarness, r: RunResult, step: string, unit: string): void {
  expect(matching(r.calls, new RegExp(re(unit.replace(/\.[a-z]+$/, ''))))).toEqual([
    `systemctl is-active --quiet ${unit}`, `systemctl enable --now ${unit}`,
  ]);
  expect(logLines(h)).toContain(`${step}: starting ${unit}`);
}

/** Each installed file holds its shipped asset's text, with its mode. */
function expectInstalled(h: ShellHarness, installed: Record<string, { asset: string; mode: string }>): void {
  for (const [f, { asset, mode }] of Object.entries(installed)) {
    expect({ f, text: h.read(f), mode: h.mode(f) })
      .toEqual({ f, text: fs.readFileSync(path.join(NODE_ASSETS, asset), 'utf8'), mode });
  }
}

describe('fresh boot on a blank device', () => {
  let h: ShellHarness;
  let r: RunResult;
  beforeAll(() => {
    h = ShellHarness.freshMachine();
    r = h.runBootstrap();
  });
  afterAll(() => h.cleanup());

  test('exits 0 after running every step in order', () => {
    expect(r.status).toBe(0);
    const dev = re(h.path(DEVICE));
    const mp = re(h.path(MOUNT_POINT));
    const imds = (p: string) => new RegExp(`^curl -fsS --max-time 5 -H X-aws-ec2-metadata-token: ${re(IMDS_TOKEN)} ${re(`${IMDS}/meta-data/${p}`)}$`);
    expectCallsInOrder(r.calls, [
      new RegExp(`^curl -fsS --max-time 5 -X PUT ${re(IMDS)}/api/token -H X-aws-ec2-metadata-token-ttl-seconds: 21600$`),
      imds('instance-id'),
      imds('tags/instance/casper:data-volume'),
      new RegExp(`^curl -fsSL --max-time \\d+ -o \\S+ ${re(REPO_KEY_URL)}$`),
      /^gpg --batch --yes --dearmor -o \S+ \S+$/,
      /^apt-get -o DPkg::Lock::Timeout=300 update$/,
      /^apt-cache depends casper-node-launcher casper-client casper-sidecar$/,
      /^apt-get -o DPkg::Lock::Timeout=300 install -y casper-node-launcher casper-client casper-sidecar$/,
      /^udevadm settle/,
      new RegExp(`^blkid -o value -s TYPE ${dev}$`),
      new RegExp(`^mkfs\\.ext4 -m 0 -L casper-data ${dev}$`),
      new RegExp(`^blkid -o value -s UUID ${dev}$`),
      new RegExp(`^mountpoint -q ${mp}$`),
      new RegExp(`^mount ${mp}$`),
      new RegExp(`^blockdev --getsize64 ${dev}$`),
      new RegExp(`^dumpe2fs -h ${dev}$`),
      new RegExp(`^chown casper:casper ${mp}$`),
      new RegExp(`^aws secretsmanager get-secret-value --secret-id ${re(SECRET_ARN)} --query SecretString --output text --region us-east-1$`),
      new RegExp(`^runuser -u casper -- casper-client keygen ${re(h.path('etc/casper/.validator_keys.'))}\\w+$`),
      new RegExp(`^aws secretsmanager put-secret-value --secret-id ${re(SECRET_ARN)} --secret-string file://\\S+ --region us-east-1$`),
      STAGE_CALL,
      /^casper-node-util stage_protocols casper-test\.conf --ip 203\.0\.113\.10$/,
      /^ldd \S+\/casper-client$/,
      /^ldd \S+\/casper-sidecar$/,
      new RegExp(`^ldd ${re(h.path('var/lib/casper/bin/2_0_0/casper-node'))}$`),
      new RegExp(`^ldd ${re(h.path('var/lib/casper/bin/2_1_0/casper-node'))}$`),
      /^systemctl daemon-reload$/,
      /^systemctl enable --now casper-node-launcher\.service$/,
      /^systemctl enable --now casper-sidecar\.service$/,
      /^systemctl daemon-reload$/,
      /^systemctl enable --now casper-watchdog\.timer$/,
      /^systemctl daemon-reload$/,
      /^systemctl enable --now casper-stage-protocols\.timer$/,
      new RegExp(`^curl -fsS --max-time 5 ${re(STATUS_URL)}$`),
      imds('tags/instance/aws:cloudformation:stack-name'),
      imds('tags/instance/aws:cloudformation:logical-id'),
      new RegExp(`^aws cloudformation signal-resource --stack-name ${STACK_NAME} --logical-resource-id ${LOGICAL_ID} --unique-id ${INSTANCE_ID} --status SUCCESS --region us-east-1$`),
    ]);
  });

  test('runs each one-time action exactly once and nothing that is not needed', () => {
    const count = (p: RegExp) => matching(r.calls, p).length;
    expect(count(/^mkfs\.ext4 /)).toBe(1);
    expect(count(/^casper-client keygen /)).toBe(1);
    expect(count(/^aws secretsmanager put-secret-value /)).toBe(1);
    expect(count(/^casper-node-util stage_protocols /)).toBe(1);
    expect(count(/^node_util\.py/)).toBe(0);
    expect(count(/^apt-get .*install /)).toBe(1);
    // Current jammy builds need no libssl1.1: not downloaded, not installed.
    expect(count(/libssl1\.1/)).toBe(0);
    expect(count(/^dpkg /)).toBe(0);
    // Every apt-get call waits for the dpkg lock.
    for (const c of matching(r.calls, /^apt-get /)) expect(c.startsWith(`${APT} `)).toBe(true);
    expect(count(/^aws cloudformation signal-resource /)).toBe(1);
    expect(count(/^resize2fs/)).toBe(0);
    expect(count(/^amazon-cloudwatch-agent-ctl/)).toBe(0);
    // Every IMDS request after the token is an IMDSv2 request.
    const imdsCalls = matching(r.calls, /169\.254\.169\.254/).filter((c) => !c.includes('/api/token'));
    expect(imdsCalls.length).toBeGreaterThan(0);
    for (const c of imdsCalls) expect(c).toContain(`-H X-aws-ec2-metadata-token: ${IMDS_TOKEN} `);
  });

  test('configures the Casper apt repository with a dearmoured key', () => {
    expect(h.read('etc/apt/sources.list.d/casper.list')).toBe(
      'deb [arch=amd64 signed-by=/etc/apt/keyrings/casper-repo-pubkey.gpg] https://repo.casper.network/releases jammy main\n');
    // The gpg stub marks what it dearmoured.
    expect(h.read('etc/apt/keyrings/casper-repo-pubkey.gpg')).toBe(`DEARMORED-KEYRING\n${ARMOURED_KEY}`);
    expect(h.mode('etc/apt/keyrings/casper-repo-pubkey.gpg')).toBe('644');
  });

  test('adds exactly one fstab entry, by UUID and with nofail, keeping the existing ones', () => {
    expect(h.read('etc/fstab')).toBe(`${BASE_FSTAB}${FSTAB_LINE}\n`);
    expect(h.readState('mounts')).toBe(`${h.path(MOUNT_POINT)}\n`);
    expect(h.read('etc/systemd/system/casper-node-launcher.service.d/data-volume.conf'))
      .toBe(`[Unit]\nRequiresMountsFor=${MOUNT_POINT}\n`);
  });

  test('stores the new key in Secrets Manager before installing it, with private modes', () => {
    expect(h.puts()).toEqual([`${SECRET_ARN} no`]);
    expect(h.list('etc/casper/validator_keys')).toEqual(KEY_FILES);
    expect(h.mode('etc/casper/validator_keys')).toBe('700');
    const stored = JSON.parse(h.secret(SECRET_ARN)!);
    expect(Object.keys(stored).sort()).toEqual(['public_key_hex', 'public_key_pem', 'secret_key_pem']);
    expect(stored.secret_key_pem).toBe(h.read('etc/casper/validator_keys/secret_key.pem'));
    expect(stored.public_key_pem).toBe(h.read('etc/casper/validator_keys/public_key.pem'));
    expect(stored.public_key_hex).toBe(h.read('etc/casper/validator_keys/public_key_hex'));
    for (const f of KEY_FILES) expect({ f, mode: h.mode(`etc/casper/validator_keys/${f}`) }).toEqual({ f, mode: '600' });
    expect(matching(r.calls, /^chown casper:casper .*validator_keys/)).not.toEqual([]);
    expect(h.list('etc/casper').filter((f) => f.startsWith('.validator_keys.'))).toEqual([]);
    expect(fs.readdirSync(h.tmpDir)).toEqual([]);
  });

  test('never writes key material to the log', () => {
    expect(h.bootstrapLog()).not.toContain('FAKE-SECRET-KEY-MATERIAL');
    expect(r.stdout).not.toContain('FAKE-SECRET-KEY-MATERIAL');
    expect(r.stderr).not.toContain('FAKE-SECRET-KEY-MATERIAL');
  });

  test('sets the trusted hash in every staged config.toml, changing only that line', () => {
    const expected = STAGED_CONFIG.replace("#trusted_hash = 'HEX-FORMATTED BLOCK HASH'", `trusted_hash = '${TRUSTED_HASH}'`);
    expect(expected).not.toBe(STAGED_CONFIG);
    for (const f of STAGED) expect({ f, text: h.read(f) }).toEqual({ f, text: expected });
  });

  test('stages with the Elastic IP, so config.toml carries it and no public IP service is asked', () => {
    for (const f of STAGED) expect(h.read(f)).toContain(`public_address = '${PUBLIC_IP}:0'`);
    expect(h.read('var/lib/casper-stage-protocols/result.json')).toMatch(/^\{"failed": false, "message": "staged: 2_0_0 2_1_0", "time": \d+\}\n$/);
    expect(h.mode('var/lib/casper-stage-protocols/result.json')).toBe('644');
  });

  test('leaves the default ports and the sidecar config as upstream ships them', () => {
    expect(h.read('etc/casper-sidecar/config.toml'))
      .toBe(fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'casper', 'sidecar-config.toml'), 'utf8'));
    for (const f of STAGED) {
      expect(h.read(f)).toContain("bind_address = '0.0.0.0:35000'");
      expect(h.read(f)).toContain("address = '0.0.0.0:8888'");
    }
  });

  test('raises the open files limit for sessions and for the launcher service', () => {
    expect(h.read('etc/security/limits.d/casper.conf')).toBe('casper soft nofile 64000\ncasper hard nofile 64000\n');
    expect(h.read('etc/systemd/system/casper-node-launcher.service.d/limits.conf')).toBe('[Service]\nLimitNOFILE=64000\n');
  });

  test('installs the watchdog, its units and its settings', () => {
    expect(h.read('usr/local/sbin/casper-watchdog.sh')).toBe(fs.readFileSync(path.join(NODE_ASSETS, 'watchdog.sh'), 'utf8'));
    expect(h.mode('usr/local/sbin/casper-watchdog.sh')).toBe('755');
    for (const unit of ['casper-watchdog.service', 'casper-watchdog.timer']) {
      expect(h.read(`etc/systemd/system/${unit}`)).toBe(fs.readFileSync(path.join(NODE_ASSETS, unit), 'utf8'));
      expect(h.mode(`etc/systemd/system/${unit}`)).toBe('644');
    }
    expect(h.read('etc/casper-watchdog.env')).toBe(watchdogEnv(8888, 900, 1500, 'us-east-1'));
  });

  test('installs the protocol stager timer so the node follows network upgrades, with the bootstrap\'s own stager', () => {
    for (const unit of ['casper-stage-protocols.service', 'casper-stage-protocols.timer']) {
      expect(h.read(`etc/systemd/system/${unit}`)).toBe(fs.readFileSync(path.join(NODE_ASSETS, unit), 'utf8'));
      expect(h.mode(`etc/systemd/system/${unit}`)).toBe('644');
    }
    expect(h.read('etc/casper-stage-protocols.env')).toBe('NETWORK_CONFIG=casper-test.conf\nPUBLIC_IP=203.0.113.10\n'
      + 'GOSSIP_PORT=35000\nREST_PORT=8888\nSSE_PORT=9999\nRPC_PORT=\nTIMEOUT_SECONDS=1800\n');
    const unit = h.read('etc/systemd/system/casper-stage-protocols.service');
    expect(unit).toContain('ExecStart=/usr/local/lib/casper-node/stage-protocols.sh /etc/casper-stage-protocols.env\n');
    // The unit's bound is above the script's own (1800 s plus 30 s to stop).
    expect(unit).toMatch(/^TimeoutStartSec=40min$/m);
    for (const f of ['lib.sh', 'protocols.sh', 'stage-protocols.sh', 'casper-node-config.py', 'casper-trusted-hash.py']) {
      const source = f === 'lib.sh' ? SHELL_LIB : path.join(NODE_ASSETS, f);
      expect(h.read(`usr/local/lib/casper-node/${f}`)).toBe(fs.readFileSync(source, 'utf8'));
    }
    expect(h.mode('usr/local/lib/casper-node/stage-protocols.sh')).toBe('755');
    expect(h.mode('usr/local/lib/casper-node/lib.sh')).toBe('644');
    expect(h.mode('usr/local/lib/casper-node/protocols.sh')).toBe('644');
  });

  test('records completion and logs timestamped lines to the log file and stdout', () => {
    expect(h.exists('var/lib/casper-bootstrap/done')).toBe(true);
    const log = h.bootstrapLog().split('\n').filter((l) => l !== '');
    expect(log.length).toBeGreaterThan(10);
    for (const line of log) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} /);
    expect(r.stdout).toBe(h.bootstrapLog());
    expect(logLines(h)).toContain('cloudwatch agent: no config parameter yet, skipped');
    expect(logLines(h)).toContain('metrics: no CloudWatch agent or metrics namespace configured, collector skipped');
    expect(logLines(h)).toContain('casper bootstrap: finished');
    expect(h.bootstrapLog()).not.toContain('ERROR');
  });

  test('leaves no temp files behind', () => {
    expectNoScratchFiles(h);
    expect(h.list('etc/casper').filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

describe('second run on an already-bootstrapped machine', () => {
  let h: ShellHarness;
  let r: RunResult;
  const watched = [
    'etc/fstab', 'etc/apt/sources.list.d/casper.list', 'etc/apt/keyrings/casper-repo-pubkey.gpg',
    'etc/security/limits.d/casper.conf', 'etc/systemd/system/casper-node-launcher.service.d/limits.conf',
    'etc/systemd/system/casper-node-launcher.service.d/data-volume.conf', 'usr/local/sbin/casper-watchdog.sh',
    'etc/systemd/system/casper-watchdog.service', 'etc/systemd/system/casper-watchdog.timer', 'etc/casper-watchdog.env',
    'etc/systemd/system/casper-stage-protocols.service', 'etc/systemd/system/casper-stage-protocols.timer',
    'etc/casper-stage-protocols.env',
    ...STAGED, ...KEY_FILES.map((f) => `etc/casper/validator_keys/${f}`),
  ];
  let before: Record<string, { ino: number; text: string }>;
  beforeAll(() => {
    h = ShellHarness.freshMachine();
    expect(h.runBootstrap().status).toBe(0);
    before = Object.fromEntries(watched.map((f) => [f, { ino: h.inode(f), text: h.read(f) }]));
    r = h.runBootstrap();
  });
  afterAll(() => h.cleanup());

  test('exits 0 without any one-time action', () => {
    expect(r.status).toBe(0);
    for (const p of ONE_TIME_ACTIONS) expect({ pattern: String(p), calls: matching(r.calls, p) }).toEqual({ pattern: String(p), calls: [] });
  });

  test('rewrites no file', () => {
    for (const f of watched) expect({ f, ino: h.inode(f), text: h.read(f) }).toEqual({ f, ...before[f] });
  });

  test('logs that each step found its work done', () => {
    const lines = logLines(h).slice(-30);
    expect(lines).toEqual(expect.arrayContaining([
      'packages: casper-node-launcher casper-client casper-sidecar already installed, skipped',
      `data volume: ${h.path(DEVICE)} already holds an ext4 filesystem, kept`,
      `data volume: fstab already mounts UUID=${MKFS_UUID} at ${MOUNT_POINT}`,
      `data volume: ${h.path(MOUNT_POINT)} already mounted`,
      `signing key: ${h.path('etc/casper/validator_keys/secret_key.pem')} exists, kept`,
      'stage protocols: protocols already staged, skipped',
      'start: casper-node-launcher.service already running',
      'start: casper-sidecar.service already running',
      'watchdog: casper-watchdog.timer already running',
      'protocol upgrades: casper-stage-protocols.timer already running',
    ]));
  });
});

describe('data volume', () => {
  test('an already-formatted device is not formatted; fstab gets its UUID', () => {
    const h = machine();
    h.filesystem('ext4', '9a8b7c6d-1111-2222-3333-444455556666', 100 * GIB);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^mkfs/)).toEqual([]);
    expect(h.read('etc/fstab')).toBe(`${BASE_FSTAB}UUID=9a8b7c6d-1111-2222-3333-444455556666 ${MOUNT_POINT} ext4 defaults,nofail 0 2\n`);
    expect(logLines(h)).toContain(`data volume: ${h.path(DEVICE)} already holds an ext4 filesystem, kept`);
  });

  test('a blank device is formatted once, with the casper-data label', () => {
    const h = machine();
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^mkfs/)).toEqual([`mkfs.ext4 -m 0 -L casper-data ${h.path(DEVICE)}`]);
    expect(logLines(h)).toContain(`data volume: ${h.path(DEVICE)} is blank, creating an ext4 filesystem`);
  });

  test('a device holding another filesystem is never formatted', () => {
    const h = machine();
    h.filesystem('xfs', '11111111-2222-3333-4444-555555555555', 100 * GIB);
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: data volume: ${h.path(DEVICE)} holds 'xfs', expected ext4; refusing to format it`);
    expect(matching(r.calls, /^mkfs/)).toEqual([]);
    expect(h.read('etc/fstab')).toBe(BASE_FSTAB);
  });

  test('a blkid error is never taken for a blank device', () => {
    const h = machine();
    h.rule('blkid', '-s TYPE', { exit: 4, stderr: 'blkid: error: cannot open device\n' });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: data volume: blkid failed on ${h.path(DEVICE)} (exit 4); not formatting a device that may hold data`);
    expect(matching(r.calls, /^mkfs/)).toEqual([]);
    expect(h.read('etc/fstab')).toBe(BASE_FSTAB);
  });

  test('a stale fstab entry for the mount point is replaced, never duplicated', () => {
    const h = machine();
    h.writeRootFile('etc/fstab', `${BASE_FSTAB}UUID=deadbeef-0000-0000-0000-000000000000 ${MOUNT_POINT} ext4 defaults 0 2\n# a comment about ${MOUNT_POINT}\n`);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(h.read('etc/fstab')).toBe(`${BASE_FSTAB}# a comment about ${MOUNT_POINT}\n${FSTAB_LINE}\n`);
  });

  test('waits for a device that appears late', () => {
    const h = machine();
    h.device(3);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    const firstBlkid = r.calls.findIndex((c) => c.startsWith('blkid '));
    expect(matching(r.calls.slice(0, firstBlkid), /^udevadm settle/)).toHaveLength(3);
    expect(matching(r.calls, /^mkfs\.ext4/)).toHaveLength(1);
  });

  test('a device that never appears fails after the bounded wait, leaving fstab untouched', () => {
    const h = machine();
    h.device('never');
    h.writeConfig((c) => { c.dataVolume.deviceWaitSeconds = 3; });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: data volume: device ${h.path(DEVICE)} did not appear within 3 s`);
    expect(matching(r.calls, /^udevadm settle/)).toHaveLength(3);
    expect(matching(r.calls, /^(blkid|mkfs|mount|aws secretsmanager)/)).toEqual([]);
    expect(h.read('etc/fstab')).toBe(BASE_FSTAB);
    expect(h.exists('var/lib/casper-bootstrap/done')).toBe(false);
  });

  test('a volume that grew gets its filesystem resized after mounting', () => {
    const h = machine();
    h.filesystem('ext4', MKFS_UUID, 100 * GIB);
    h.setState('blockdev-size', String(200 * GIB));
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expectCallsInOrder(r.calls, [/^mount /, new RegExp(`^resize2fs ${re(h.path(DEVICE))}$`)]);
    expect(matching(r.calls, /^resize2fs/)).toHaveLength(1);
    expect(logLines(h)).toContain(`data volume: volume is ${200 * GIB} bytes, filesystem ${100 * GIB}; growing it`);
  });

  test('a filesystem that fills its volume is not resized', () => {
    const h = machine();
    h.filesystem('ext4', MKFS_UUID, 100 * GIB);
    // Less than one 4 KiB block of slack is not growth.
    h.setState('blockdev-size', String(100 * GIB + 4095));
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^resize2fs/)).toEqual([]);
  });

  test('an already-mounted volume is not mounted again', () => {
    const h = machine();
    h.filesystem('ext4', MKFS_UUID, 100 * GIB);
    h.setState('mounts', `${h.path(MOUNT_POINT)}\n`);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^mount /)).toEqual([]);
  });
});

describe('instance metadata', () => {
  test('waits for the data-volume tag set by the lifecycle handler', () => {
    const h = machine();
    h.imds('tags/instance/casper:data-volume', VOLUME_ID, 2);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /meta-data\/tags\/instance\/casper:data-volume$/)).toHaveLength(3);
    expect(logLines(h)).toContain(`instance metadata: data volume ${VOLUME_ID}`);
  });

  test('a tag that never appears fails after the bounded wait, before any package or volume work', () => {
    const h = machine();
    h.removeHttp(`${IMDS}/meta-data/tags/instance/casper:data-volume`);
    h.writeConfig((c) => { c.dataVolume.tagWaitSeconds = 4; });
    const r = h.runBootstrap();
    expectFailure(h, r, 'ERROR: instance metadata: tag casper:data-volume did not appear within 4 s '
      + '(it is set by the data-volume lifecycle workflow; are instance metadata tags enabled?)');
    expect(matching(r.calls, /meta-data\/tags\/instance\/casper:data-volume$/)).toHaveLength(4);
    expect(matching(withoutSignal(r.calls), /^(apt-get|dpkg|blkid|aws)/)).toEqual([]);
  });

  test('a tag that is neither "pending" nor a volume id is rejected', () => {
    const h = machine();
    h.imds('tags/instance/casper:data-volume', 'vol-XYZ');
    const r = h.runBootstrap();
    expectFailure(h, r, "ERROR: instance metadata: tag casper:data-volume holds 'vol-XYZ', not a volume id");
  });

  test('"pending" (a move under way) extends the wait beyond the ordinary bound, with a stamp for the deadline timer', () => {
    const h = machine();
    h.writeConfig((c) => { c.dataVolume.tagWaitSeconds = 2; });
    h.rule('curl', 'meta-data/tags/instance/casper:data-volume$', { exit: 0, stdout: 'pending', times: 4 });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(logLines(h)).toContain('instance metadata: the data volume is being moved or restored; waiting up to 90000 s more');
    expect(matching(r.calls, /meta-data\/tags\/instance\/casper:data-volume$/)).toHaveLength(5);
    expect(logLines(h)).toContain(`instance metadata: data volume ${VOLUME_ID}`);
    expect(h.exists('var/lib/casper-bootstrap/volume-pending')).toBe(false);
  });

  test('"pending" for longer than the launch hook allows fails clearly and leaves no stamp behind', () => {
    const h = machine();
    h.writeConfig((c) => { c.dataVolume.tagWaitSeconds = 2; c.dataVolume.pendingWaitSeconds = 3; });
    h.imds('tags/instance/casper:data-volume', 'pending');
    const r = h.runBootstrap();
    expectFailure(h, r, 'ERROR: instance metadata: tag casper:data-volume still not a volume after 3 s more (the move or restore did not finish)');
    expect(h.exists('var/lib/casper-bootstrap/volume-pending')).toBe(false);
    expect(matching(withoutSignal(r.calls), /^(apt-get|dpkg|blkid)/)).toEqual([]);
  });
});

describe('packages', () => {
  test('an apt-get install failure stops the bootstrap before the volume and the key', () => {
    const h = machine();
    h.rule('apt-get', ' install ', { exit: 100, stderr: 'E: Unable to locate package casper-sidecar\n' });
    const r = h.runBootstrap();
    expectFailure(h, r, 'ERROR: packages: apt-get install casper-node-launcher casper-client casper-sidecar failed');
    expect(matching(r.calls, /^apt-get .*install/)).toHaveLength(3);
    expect(matching(withoutSignal(r.calls), /^(blkid|mkfs|mount|aws|runuser|systemctl)/)).toEqual([]);
    expect(h.read('etc/fstab')).toBe(BASE_FSTAB);
    expect(h.exists('etc/casper/validator_keys')).toBe(false);
  });

  test('a network failure fetching the repository key stops the bootstrap before apt, the volume and the key', () => {
    const h = machine();
    h.http(REPO_KEY_URL, { exit: 6 });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: packages: cannot download the Casper repository key from ${REPO_KEY_URL}`);
    expect(matching(r.calls, new RegExp(re(REPO_KEY_URL)))).toHaveLength(3);
    expect(matching(withoutSignal(r.calls), /^(apt-get|dpkg -i|blkid|mkfs|mount|aws|runuser)/)).toEqual([]);
    expect(h.exists('etc/apt/sources.list.d/casper.list')).toBe(false);
    expect(h.read('etc/fstab')).toBe(BASE_FSTAB);
    expect(h.exists('etc/casper/validator_keys')).toBe(false);
  });

  test('a transient apt-get update failure is retried', () => {
    const h = machine();
    h.rule('apt-get', ' update$', { exit: 100, times: 1 });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^apt-get .*update$/)).toHaveLength(2);
    expect(logLines(h)).toContain("packages: 'apt_get' failed (attempt 1 of 3), retrying");
  });

  test('a staged casper-node linked against OpenSSL 1.1 gets libssl1.1, verified by sha256, through apt-get', () => {
    const h = machine();
    h.setState('links-openssl11', 'casper-node\n');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expectCallsInOrder(r.calls, [
      /^casper-node-util stage_protocols /,
      new RegExp(`^ldd ${re(h.path('var/lib/casper/bin/2_0_0/casper-node'))}$`),
      new RegExp(`^curl -fsSL --max-time \\d+ -o \\S+/libssl1\\.1_amd64\\.deb ${re(LIBSSL_URL)}$`),
      new RegExp(`^${re(APT)} install -y \\S+/libssl1\\.1_amd64\\.deb$`),
      /^systemctl enable --now casper-node-launcher\.service$/,
    ]);
    expect(logLines(h)).toContain('packages: /var/lib/casper/bin/2_0_0/casper-node links against OpenSSL 1.1; installing libssl1.1');
    expect(matching(r.calls, /^dpkg /)).toEqual([]);
    expect(h.readState('dpkg/libssl1.1')).toBe('');
  });

  test('packages that declare a dependency on libssl1.1 get it before they are installed', () => {
    const h = machine();
    h.setState('apt-cache-depends', 'casper-client\n  Depends: libc6\n  Depends: libssl1.1\n');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expectCallsInOrder(r.calls, [
      /^apt-cache depends casper-node-launcher casper-client casper-sidecar$/,
      new RegExp(`^${re(APT)} install -y \\S+/libssl1\\.1_amd64\\.deb$`),
      new RegExp(`^${re(APT)} install -y casper-node-launcher casper-client casper-sidecar$`),
    ]);
    expect(matching(r.calls, /libssl1\.1_amd64\.deb/)).toHaveLength(2);
  });

  test('a libssl1.1 package whose sha256 differs is never installed', () => {
    const h = machine();
    h.setState('links-openssl11', 'casper-client\n');
    h.http(LIBSSL_URL, { body: 'Package: libssl1.1\nVersion: 1.1.1f-1ubuntu2.24\nTAMPERED\n' });
    const r = h.runBootstrap();
    expect(r.status).not.toBe(0);
    const error = logLines(h).find((l) => l.startsWith('ERROR: packages: libssl1.1 from '));
    expect(error).toMatch(new RegExp(`^ERROR: packages: libssl1\\.1 from ${re(LIBSSL_URL)} has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}; not installing it$`));
    expect(matching(r.calls, /install -y \S+libssl/)).toEqual([]);
    expect(h.readState('dpkg/libssl1.1')).toBeUndefined();
    expect(matching(r.calls, /^systemctl enable --now casper-node-launcher/)).toEqual([]);
  });

  test('a libssl1.1 download failure names the step and starts nothing', () => {
    const h = machine();
    h.setState('links-openssl11', 'casper-node\n');
    h.http(LIBSSL_URL, { exit: 22 });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: packages: cannot download libssl1.1 from ${LIBSSL_URL}`);
    expect(matching(r.calls, /^systemctl enable/)).toEqual([]);
  });

  test('libssl1.1 is not downloaded when it is installed', () => {
    const h = machine();
    h.setState('links-openssl11', 'casper-node\n');
    h.preinstall('libssl1.1');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /libssl1\.1/)).toEqual([]);
  });

  test('every package install waits for the dpkg lock that unattended-upgrades holds at first boot', async () => {
    const h = machine();
    h.setState('links-openssl11', 'casper-node\n');
    h.writeRootFile('var/lib/dpkg/lock-frontend', '');
    // unattended-upgrades holds the lock for the first 3 seconds of the bootstrap.
    const holder = spawn('flock', [h.path('var/lib/dpkg/lock-frontend'), 'sleep', '3'], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const r = h.runBootstrap();
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    await exited;
    expect(r.status).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(logLines(h).filter((l) => l.includes('Could not get lock'))).toEqual([]);
    const installs = matching(r.calls, /^apt-get .*(install|update)/);
    expect(installs.length).toBe(3);
    for (const c of installs) expect(c.startsWith(`${APT} `)).toBe(true);
  });

  test('dpkg -i, which does not wait for the lock, would have failed on the same held lock', async () => {
    const h = machine();
    h.writeRootFile('var/lib/dpkg/lock-frontend', '');
    h.writeRootFile('tmp/libssl1.1.deb', 'Package: libssl1.1\n');
    const holder = spawn('flock', [h.path('var/lib/dpkg/lock-frontend'), 'sleep', '3'], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const r = h.run(path.join(h.shimDir, 'dpkg'), ['-i', h.path('tmp/libssl1.1.deb')]);
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(r.status).toBe(100);
    expect(r.stderr).toContain('E: Could not get lock /var/lib/dpkg/lock-frontend');
  });

  test('a binary repository key is stored as it is', () => {
    const h = machine();
    h.http(REPO_KEY_URL, { body: '\x99\x01\x0dBINARYKEY' });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^gpg/)).toEqual([]);
    expect(h.read('etc/apt/keyrings/casper-repo-pubkey.gpg')).toBe('\x99\x01\x0dBINARYKEY');
  });

  test('without the sidecar (runsSidecar false) casper-sidecar is neither installed nor started', () => {
    const h = machine();
    h.writeConfig((c) => { c.network.runsSidecar = false; });
    // A 1.x network: the node serves JSON-RPC itself ([rpc_server] in its config).
    h.setState('config-flavour', '1.5');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^apt-get .*install/)).toEqual([`${APT} install -y casper-node-launcher casper-client`]);
    expect(matching(r.calls, /casper-sidecar/)).toEqual([]);
    expect(matching(r.calls, /^systemctl enable/)).toEqual([
      'systemctl enable --now casper-node-launcher.service', 'systemctl enable --now casper-watchdog.timer',
      'systemctl enable --now casper-stage-protocols.timer',
    ]);
  });

  test('installed packages are not installed again, and the repository is left alone', () => {
    const h = machine();
    h.preinstall('casper-node-launcher', 'casper-client', 'casper-sidecar');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^(apt-get|dpkg -i|gpg)|repo\.casper\.network/)).toEqual([]);
    expect(h.exists('etc/apt/sources.list.d/casper.list')).toBe(false);
  });
});

describe('signing key', () => {
  test('a key stored in Secrets Manager is restored: no keygen, no secret write, private modes', () => {
    const h = machine();
    h.setSecret(SECRET_ARN, JSON.stringify(STORED_KEY));
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /keygen|put-secret-value/)).toEqual([]);
    expect(h.read('etc/casper/validator_keys/secret_key.pem')).toBe(STORED_KEY.secret_key_pem);
    expect(h.read('etc/casper/validator_keys/public_key.pem')).toBe(STORED_KEY.public_key_pem);
    expect(h.read('etc/casper/validator_keys/public_key_hex')).toBe(STORED_KEY.public_key_hex);
    for (const f of KEY_FILES) expect({ f, mode: h.mode(`etc/casper/validator_keys/${f}`) }).toEqual({ f, mode: '600' });
    expect(h.mode('etc/casper/validator_keys')).toBe('700');
    expect(h.secret(SECRET_ARN)).toBe(JSON.stringify(STORED_KEY));
    expect(logLines(h)).toContain(`signing key: restored from ${SECRET_ARN}`);
    expect(h.bootstrapLog()).not.toContain('RESTORED-SECRET-KEY');
    expect(h.list('etc/casper').filter((f) => f.startsWith('.validator_keys.'))).toEqual([]);
  });

  test('a failure storing a new key fails the bootstrap and leaves no key and no temp dir', () => {
    const h = machine();
    h.rule('aws', '^secretsmanager put-secret-value', {
      exit: 254,
      stderr: 'An error occurred (AccessDeniedException) when calling the PutSecretValue operation: denied\n',
    });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: signing key: cannot store the new key in ${SECRET_ARN}; no key was installed`);
    expect(matching(r.calls, /keygen/)).toHaveLength(2); // runuser, then casper-client
    expectNoKeyLeftBehind(h);
    expect(h.list('etc/casper/validator_keys')).toEqual([]);
    expect(matching(r.calls, /stage_protocols|^systemctl/)).toEqual([]);
    expect(h.bootstrapLog()).not.toContain('FAKE-SECRET-KEY-MATERIAL');
  });

  test('a keygen failure leaves no key and no temp dir', () => {
    const h = machine();
    h.rule('casper-client', '^keygen', { exit: 1 });
    const r = h.runBootstrap();
    expectFailure(h, r, 'ERROR: signing key: casper-client keygen failed');
    expect(matching(r.calls, /put-secret-value/)).toEqual([]);
    expectNoKeyLeftBehind(h);
  });

  test('an error reading the secret never leads to a new key', () => {
    const h = machine();
    h.rule('aws', '^secretsmanager get-secret-value', {
      exit: 254,
      stderr: 'An error occurred (AccessDeniedException) when calling the GetSecretValue operation: denied\n',
    });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: signing key: cannot read secret ${SECRET_ARN} (aws exit code 254)`);
    expect(matching(r.calls, /keygen|put-secret-value/)).toEqual([]);
    expectNoKeyLeftBehind(h);
  });

  test('a secret holding no key (a placeholder value) gets a new key', () => {
    const h = machine();
    h.setSecret(SECRET_ARN, 'placeholder-generated-by-cloudformation');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^casper-client keygen/)).toHaveLength(1);
    expect(JSON.parse(h.secret(SECRET_ARN)!).secret_key_pem).toBe(h.read('etc/casper/validator_keys/secret_key.pem'));
  });

  test('a secret with a private key but no public key is an error, not a new key', () => {
    const h = machine();
    h.setSecret(SECRET_ARN, JSON.stringify({ secret_key_pem: STORED_KEY.secret_key_pem }));
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: signing key: cannot restore the key from ${SECRET_ARN}`);
    expect(matching(r.calls, /keygen|put-secret-value/)).toEqual([]);
    expectNoKeyLeftBehind(h);
  });
});

describe('protocols and trusted hash', () => {
  const HASH_UPPER = 'AB12'.repeat(16);
  const peerStatus = (hash: string, chainspec = 'casper-test'): string => {
    const s = JSON.parse(fs.readFileSync(STATUS_FIXTURE, 'utf8'));
    s.chainspec_name = chainspec;
    s.last_added_block_info.hash = hash;
    return JSON.stringify(s);
  };
  /** A fresh machine whose network publishes the fake peers as known addresses, and the node on their REST port. */
  function peerMachine(peers: FakePeers, hosts: string[]): ShellHarness {
    const h = machine();
    h.setState('known-addresses', hosts.map((a) => `'${a}:35000'`).join(', '));
    h.writeConfig((c) => { c.trustedHash = ''; c.network.restPort = peers.port; });
    h.http(`http://127.0.0.1:${peers.port}/status`, { body: fs.readFileSync(STATUS_FIXTURE, 'utf8') });
    return h;
  }
  let peers: FakePeers | undefined;
  afterEach(async () => {
    await peers?.stop();
    peers = undefined;
  });

  test('without trustedHash and with empty storage, takes the hash two known peers agree on, lowercase', async () => {
    peers = await FakePeers.start({
      '127.0.0.2': { body: peerStatus(HASH_UPPER) },
      '127.0.0.3': { body: peerStatus(HASH_UPPER.toLowerCase()) },
      '127.0.0.4': { body: '<html>maintenance</html>', contentType: 'text/html' },
    });
    const h = peerMachine(peers, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    const expected = STAGED_CONFIG.replace(/^known_addresses = .*$/m, "known_addresses = ['127.0.0.2:35000', '127.0.0.3:35000', '127.0.0.4:35000']")
      .replace("#trusted_hash = 'HEX-FORMATTED BLOCK HASH'", `trusted_hash = '${HASH_UPPER.toLowerCase()}'`)
      .split("'0.0.0.0:8888'").join(`'0.0.0.0:${peers.port}'`);
    for (const f of STAGED) expect({ f, text: h.read(f) }).toEqual({ f, text: expected });
    expect(logLines(h)).toContain(`trusted hash: ${HASH_UPPER.toLowerCase()} agreed by the known peers`);
    expect(peers.requests().map((l) => l.split(' ')[0]).sort()).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    expect(matching(r.calls, /signal-resource .*--status SUCCESS/)).toHaveLength(1);
  });

  test('with chain storage on the data volume, writes no hash and asks no peer: the node resumes from its own data', async () => {
    peers = await FakePeers.start({ '127.0.0.2': { body: peerStatus(HASH_UPPER) }, '127.0.0.3': { body: peerStatus(HASH_UPPER) } });
    const h = peerMachine(peers, ['127.0.0.2', '127.0.0.3']);
    h.writeRootFile(`${MOUNT_POINT.slice(1)}/casper-test/storage.lmdb`, 'LMDB');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    for (const f of STAGED) expect(h.read(f)).toContain("#trusted_hash = 'HEX-FORMATTED BLOCK HASH'\n");
    expect(peers.requests()).toEqual([]);
    expect(logLines(h)).toContain('trusted hash: the data volume holds chain storage; the node resumes from its own data');
  });

  test('when the peers do not agree, fails naming the step and the peers, signals FAILURE and starts nothing', async () => {
    peers = await FakePeers.start({
      '127.0.0.2': { body: peerStatus('a1'.repeat(32)) },
      '127.0.0.3': { body: peerStatus('b2'.repeat(32)) },
      '127.0.0.4': { body: peerStatus('a1'.repeat(32), 'casper') },
    });
    const h = peerMachine(peers, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const r = h.runBootstrap();
    expectFailure(h, r, 'ERROR: trusted hash: no trusted hash: the known peers did not agree on one (see the peers tried above); '
      + 'set trustedHash to a block hash you trust');
    const tried = logLines(h).find((l) => l.startsWith('no trusted hash agreed by at least 2 peers after 2 attempts; peers tried: '));
    expect(tried).toContain('127.0.0.2 (hash ' + 'a1'.repeat(32));
    expect(tried).toContain('127.0.0.3 (hash ' + 'b2'.repeat(32));
    expect(tried).toContain("127.0.0.4 (wrong chainspec 'casper')");
    expect(matching(r.calls, /signal-resource .*SUCCESS/)).toEqual([]);
    expect(matching(r.calls, /^systemctl enable/)).toEqual([]);
    for (const f of STAGED) expect(h.read(f)).not.toMatch(/^trusted_hash/m);
  });

  test('a configured trusted hash wins, written lowercase, and no peer is asked', () => {
    const h = machine();
    h.writeConfig((c) => { c.trustedHash = HASH_UPPER; });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    for (const f of STAGED) expect(h.read(f)).toContain(`\ntrusted_hash = '${HASH_UPPER.toLowerCase()}'\n`);
    expect(logLines(h).filter((l) => l.includes('asking the known peers'))).toEqual([]);
  });

  test('already-staged protocols are not staged again, and still get the trusted hash and the ports', () => {
    const h = machine();
    h.preinstall('casper-node-launcher', 'casper-client', 'casper-sidecar');
    const staged = fs.readFileSync(path.join(FIXTURES, 'config-2.x.toml'), 'utf8');
    h.writeRootFile('etc/casper/1_5_8/config.toml', staged, 0o640);
    h.writeRootFile('var/lib/casper/bin/1_5_8/casper-node', '');
    h.writeRootFile('var/lib/casper-stage-protocols/result.json', '{"failed": false, "message": "staged: 1_5_8", "time": 1}\n');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /stage_protocols/)).toEqual([]);
    expect(h.read('etc/casper/1_5_8/config.toml'))
      .toBe(staged.replace("#trusted_hash = 'HEX-FORMATTED BLOCK HASH'", `trusted_hash = '${TRUSTED_HASH}'`));
    expect(h.mode('etc/casper/1_5_8/config.toml')).toBe('640');
    expect(logLines(h)).toContain('stage protocols: protocols already staged, skipped');
  });

  test('a failing staging run is retried, then fails the bootstrap with the tool\'s exit code', () => {
    const h = machine();
    h.rule('casper-node-util', '^stage_protocols', { exit: 1 });
    const r = h.runBootstrap();
    expectFailure(h, r, 'ERROR: stage protocols: stage-protocols.sh failed 3 times (see its ERROR lines above)');
    expect(logLines(h)).toContain('ERROR: stage protocols: casper-node-util stage_protocols casper-test.conf failed with exit code 1');
    expect(matching(r.calls, /^casper-node-util stage_protocols/)).toHaveLength(3);
    expect(matching(r.calls, /^systemctl enable/)).toEqual([]);
    expect(JSON.parse(h.read('var/lib/casper-stage-protocols/result.json'))).toMatchObject({
      failed: true, message: 'casper-node-util stage_protocols casper-test.conf failed with exit code 1',
    });
  });

  test('a version staged half-way (config, no binary) is removed and staged again, so the launcher can start', () => {
    const h = machine();
    h.setState('stage-fail-before-binary', '2_1_0');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(logLines(h)).toContain('stage protocols: version 2_1_0 is staged half-way (config.toml: yes, binary: no); '
      + 'removing it so that it is staged again');
    expect(matching(r.calls, /^casper-node-util stage_protocols/)).toHaveLength(2);
    for (const v of ['2_0_0', '2_1_0']) {
      expect(h.exists(`etc/casper/${v}/config.toml`)).toBe(true);
      expect(h.exists(`var/lib/casper/bin/${v}/casper-node`)).toBe(true);
    }
  });

  test('a staging run that hits its time bound is reported as such', () => {
    const h = machine();
    // What timeout(1) returns when it stops the tool.
    h.rule('casper-node-util', '^stage_protocols', { exit: 124 });
    const r = h.runBootstrap();
    expect(r.status).not.toBe(0);
    expect(logLines(h)).toContain('ERROR: stage protocols: casper-node-util stage_protocols did not finish within 1800 s');
  });

  test('falls back to /etc/casper/node_util.py where casper-node-util is not installed', () => {
    const h = machine();
    h.setState('no-casper-node-util', '');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /stage_protocols/)).toEqual([
      `runuser -u casper -- timeout --kill-after=30 1800 ${h.path('etc/casper/node_util.py')} stage_protocols casper-test.conf --ip 203.0.113.10`,
      'node_util.py stage_protocols casper-test.conf --ip 203.0.113.10',
    ]);
  });

  test('custom ports reach the node\'s config.toml (gossip, REST, SSE) and the sidecar\'s config (RPC)', () => {
    const h = machine();
    h.writeConfig((c) => { Object.assign(c.network, { gossipPort: 35001, restPort: 18888, ssePort: 19999, rpcPort: 17777 }); });
    h.http('http://127.0.0.1:18888/status', { body: fs.readFileSync(STATUS_FIXTURE, 'utf8') });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    for (const f of STAGED) {
      const text = h.read(f);
      expect(text).toContain("\nbind_address = '0.0.0.0:35001'\n");
      expect(text).toMatch(/\[rest_server\]\nenable_server = true\n# Listening address for REST HTTP server\.\naddress = '0\.0\.0\.0:18888'\n/);
      expect(text).toMatch(/\[event_stream_server\]\nenable_server = true\naddress = '0\.0\.0\.0:19999'\n/);
      expect(text).toContain("address = '0.0.0.0:7779'"); // the binary port stays
    }
    expect(h.read('etc/casper-sidecar/config.toml')).toContain("[rpc_server.main_server]\nenable_server = true\nip_address = '0.0.0.0'\nport = 17777\n");
    expect(h.read('etc/casper-sidecar/config.toml')).toContain("[rpc_server.node_client]\nip_address = '127.0.0.1'\nport = 7779\n");
    expect(matching(r.calls, /^curl .*127\.0\.0\.1:18888\/status$/).length).toBeGreaterThan(0);
  });

  test('on a 1.x network the RPC port goes into the node\'s own [rpc_server]', () => {
    const h = machine();
    h.setState('config-flavour', '1.5');
    h.writeConfig((c) => { c.network.runsSidecar = false; c.network.rpcPort = 17777; });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    for (const f of STAGED) expect(h.read(f)).toMatch(/\[rpc_server\]\nenable_server = true\n# Listening address for JSON-RPC HTTP server\.\naddress = '0\.0\.0\.0:17777'\n/);
    expect(h.exists('etc/casper-sidecar/config.toml')).toBe(false);
  });
});

describe('readiness and the CloudFormation signal', () => {
  test('a node that never answers /status fails after readyWaitSeconds and signals FAILURE', () => {
    const h = machine();
    h.removeHttp(STATUS_URL);
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: readiness: the node did not answer ${STATUS_URL} steadily for 0 s within 4 s; `
      + 'not signalling success (see /var/log/casper/casper-node.log)');
    expect(matching(r.calls, new RegExp(`^curl .*${re(STATUS_URL)}$`))).toHaveLength(4);
    expect(matching(r.calls, /signal-resource .*SUCCESS/)).toEqual([]);
  });

  test('a node that answers after a while, then steadily, is signalled once', () => {
    const h = machine();
    h.http(STATUS_URL, { body: fs.readFileSync(STATUS_FIXTURE, 'utf8'), failFirst: 1 });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, new RegExp(`^curl .*${re(STATUS_URL)}$`))).toHaveLength(3);
    expect(matching(r.calls, /signal-resource/)).toEqual([expect.stringContaining('--status SUCCESS')]);
    expect(logLines(h)).toContain('readiness: node answers (chainspec casper-test, reactor state KeepUp, height 5102733); watching that it stays up');
  });

  test('a node that answers once and then exits (CatchUp without a trusted hash) is never reported ready', () => {
    const h = machine();
    const status = `^-fsS --max-time 5 ${re(STATUS_URL)}$`;
    h.rule('curl', status, { exit: 0, stdout: fs.readFileSync(STATUS_FIXTURE, 'utf8').replace('KeepUp', 'CatchUp'), times: 1 });
    h.rule('curl', status, { exit: 7, stderr: 'curl: (7) Failed to connect\n' });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: readiness: the node did not answer ${STATUS_URL} steadily for 0 s within 4 s; `
      + 'not signalling success (see /var/log/casper/casper-node.log)');
    // (The seconds depend on the clock crossing a second boundary on a busy machine.)
    expect(logLines(h)).toContainEqual(expect.stringMatching(/^readiness: the node stopped answering after \d+ s \(it exited or restarted\); waiting again$/));
    expect(matching(r.calls, /signal-resource .*SUCCESS/)).toEqual([]);
  });

  test('a node that answers but whose launcher is no longer active does not count', () => {
    const h = machine();
    h.rule('systemctl', '^is-active --quiet casper-node-launcher\\.service$', { exit: 3 });
    const r = h.runBootstrap();
    expect(r.status).not.toBe(0);
    expect(matching(r.calls, /signal-resource .*SUCCESS/)).toEqual([]);
  });

  test('an answer that is not the status JSON does not count as ready', () => {
    const h = machine();
    h.http(STATUS_URL, { body: '<html>starting</html>' });
    const r = h.runBootstrap();
    expect(r.status).not.toBe(0);
    expect(matching(r.calls, /signal-resource .*SUCCESS/)).toEqual([]);
  });

  test('without CloudFormation tags nothing is signalled and the bootstrap succeeds', () => {
    const h = machine();
    h.removeHttp(`${IMDS}/meta-data/tags/instance/aws:cloudformation:stack-name`);
    h.removeHttp(`${IMDS}/meta-data/tags/instance/aws:cloudformation:logical-id`);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /signal-resource/)).toEqual([]);
    expect(logLines(h)).toContain('signal: no aws:cloudformation tags on this instance, nothing to signal');
    expect(h.exists('var/lib/casper-bootstrap/done')).toBe(true);
  });

  test('a failed signal is logged, not fatal', () => {
    const h = machine();
    h.rule('aws', '^cloudformation signal-resource', {
      exit: 254,
      stderr: 'An error occurred (ValidationError) when calling the SignalResource operation: Resource NodeGroup is in CREATE_COMPLETE state and cannot be signaled\n',
    });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(logLines(h)).toContain(`signal: signal-resource SUCCESS for ${LOGICAL_ID} in stack ${STACK_NAME} failed; continuing`);
    expect(h.exists('var/lib/casper-bootstrap/done')).toBe(true);
  });

  test('a node on another chain is an error, not a success', () => {
    const h = machine();
    h.preinstall('casper-node-launcher', 'casper-client', 'casper-sidecar');
    h.writeConfig((c) => { c.network.chainspecName = 'casper'; c.network.networkConfigFileName = 'casper.conf'; });
    const r = h.runBootstrap();
    expectFailure(h, r, "ERROR: readiness: the node runs chainspec 'casper-test', expected 'casper'");
  });

  test('a fatal error before the instance id was read still signals FAILURE (the id and region come from IMDS)', () => {
    const h = machine();
    h.imds('tags/instance/casper:data-volume', 'snap-0123');
    const r = h.runBootstrap();
    expectFailure(h, r, "ERROR: instance metadata: tag casper:data-volume holds 'snap-0123', not a volume id");
  });

  test('an invalid config still signals FAILURE, with the region from IMDS', () => {
    const h = machine();
    h.writeConfig((c) => { c.trustedHash = 'xyz'; });
    const r = h.runBootstrap();
    expect(r.status).not.toBe(0);
    expect(matching(r.calls, /^aws cloudformation signal-resource/)).toEqual([FAILURE_SIGNAL]);
    expect(matching(r.calls, /meta-data\/placement\/region$/)).toHaveLength(1);
  });
});

describe('CloudWatch agent seam', () => {
  const PARAM = '/casper/testnet-reader/cloudwatch-agent';
  const AGENT_URL = 'https://amazoncloudwatch-agent-us-east-1.s3.us-east-1.amazonaws.com/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb';

  test('with a config parameter, installs the agent and loads its config once', () => {
    const h = machine();
    h.http(AGENT_URL, { body: 'Package: amazon-cloudwatch-agent\n' });
    h.writeConfig((c) => { c.cloudWatchAgent.configParameterName = PARAM; });
    const first = h.runBootstrap();
    expect(first.status).toBe(0);
    expectCallsInOrder(first.calls, [
      /^dpkg-query -W -f=\$\{Status\} amazon-cloudwatch-agent$/,
      new RegExp(`^curl -fsSL --max-time \\d+ -o (\\S+) ${re(AGENT_URL)}$`),
      new RegExp(`^${re(APT)} install -y \\S+/amazon-cloudwatch-agent\\.deb$`),
      new RegExp(`^amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c ssm:${re(PARAM)}$`),
      /^systemctl enable --now casper-node-launcher\.service$/,
    ]);
    expect(h.read('var/lib/casper-bootstrap/cwagent.config')).toBe(`${PARAM}\n`);
    // A single node's agent reads its parameter itself: the bootstrap neither reads nor copies it.
    expect(matching(first.calls, /^aws ssm /)).toEqual([]);
    expect(h.exists('opt/aws/amazon-cloudwatch-agent/etc/casper-member-agent.json')).toBe(false);

    const second = h.runBootstrap();
    expect(second.status).toBe(0);
    expect(matching(second.calls, /amazon-cloudwatch-agent/)).toEqual(['dpkg-query -W -f=${Status} amazon-cloudwatch-agent']);
    expect(logLines(h)).toContain(`cloudwatch agent: already configured from ssm:${PARAM}`);
  });

  test('a changed parameter name is loaded again', () => {
    const h = machine();
    h.preinstall('amazon-cloudwatch-agent');
    h.writeRootFile('var/lib/casper-bootstrap/cwagent.config', '/casper/old\n');
    h.writeConfig((c) => { c.cloudWatchAgent.configParameterName = PARAM; });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^amazon-cloudwatch-agent-ctl/)).toEqual([`amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c ssm:${PARAM}`]);
    expect(matching(r.calls, /amazon-cloudwatch-agent\.deb/)).toEqual([]);
  });

  test('without a parameter the agent is not touched', () => {
    const h = machine();
    const r = h.runBootstrap();
    expect(matching(r.calls, /cloudwatch/)).toEqual([]);
    expect(logLines(h)).toContain('cloudwatch agent: no config parameter yet, skipped');
  });
});

describe('metrics collector', () => {
  const PARAM = '/casper/testnet-reader/cloudwatch-agent';
  const NAMESPACE = 'Casper Nodes/casper-test';
  const LOG_GROUP = '/casper/testnet-reader/metrics';
  const INSTALLED = {
    'usr/local/sbin/casper-metrics.py': { asset: 'casper-metrics.py', mode: '755' },
    'etc/systemd/system/casper-metrics.service': { asset: 'casper-metrics.service', mode: '644' },
    'etc/systemd/system/casper-metrics.timer': { asset: 'casper-metrics.timer', mode: '644' },
  };
  const ENV_FILE = 'etc/casper-metrics.env';
  const FILES = [...Object.keys(INSTALLED), ENV_FILE];

  /** A machine whose config wires the agent and names a metrics namespace. */
  function metricsMachine(edit?: (c: ReturnType<ShellHarness['writeConfig']>) => void): ShellHarness {
    const h = configuredMachine((c) => {
      c.cloudWatchAgent.configParameterName = PARAM;
      c.metrics = { namespace: NAMESPACE, logGroupName: LOG_GROUP };
    }, edit);
    h.preinstall('amazon-cloudwatch-agent');
    return h;
  }

  test('with the agent and a namespace, installs the collector, its units and settings, and starts the timer', () => {
    const h = metricsMachine();
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expectInstalled(h, INSTALLED);
    expect(h.read(ENV_FILE)).toBe([
      'CASPER_METRICS_STATUS_URL="http://127.0.0.1:8888/status"',
      `CASPER_METRICS_NAMESPACE="${NAMESPACE}"`,
      'CASPER_METRICS_NODE_NAME="testnet-reader"',
      `CASPER_METRICS_LOG_GROUP="${LOG_GROUP}"`,
      'CASPER_METRICS_EXPECTED_CHAINSPEC="casper-test"',
      'CASPER_METRICS_BOOTSTRAP_DONE_FILE="/var/lib/casper-bootstrap/done"',
      'CASPER_METRICS_RPC_URL="http://127.0.0.1:7777/rpc"',
      '',
    ].join('\n'));
    expect(h.mode(ENV_FILE)).toBe('644');
    // After the agent is configured, before the packages and the node: the
    // whole bootstrap reports BootstrapComplete 0 (and NodeUp 0).
    expectCallsInOrder(r.calls, [
      new RegExp(`^amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c ssm:${re(PARAM)}$`),
      /^systemctl daemon-reload$/,
      /^systemctl is-active --quiet casper-metrics\.timer$/,
      /^systemctl enable --now casper-metrics\.timer$/,
      /^apt-get -o DPkg::Lock::Timeout=300 install -y casper-node-launcher/,
      /^casper-node-util stage_protocols /,
      /^systemctl enable --now casper-node-launcher\.service$/,
    ]);
    expectStarted(h, r, 'metrics', 'casper-metrics.timer');
    expectNoScratchFiles(h);
  });

  test('a second run rewrites nothing and starts nothing', () => {
    const h = metricsMachine();
    const r = rerunRewritesNothing(h, FILES);
    expect(matching(r.calls, /^systemctl (daemon-reload|enable)/)).toEqual([]);
    expect(matching(r.calls, /casper-metrics/)).toEqual(['systemctl is-active --quiet casper-metrics.timer']);
    expect(logLines(h)).toContain('metrics: casper-metrics.timer already running');
  });

  test('without the sidecar: no RPC URL, so the collector checks no RPC', () => {
    const h = metricsMachine((c) => { c.network.runsSidecar = false; });
    h.setState('config-flavour', '1.5');
    expect(h.runBootstrap().status).toBe(0);
    const env = h.read(ENV_FILE).split('\n');
    expect(env).toContain('CASPER_METRICS_RPC_URL=""');
    expect(env).toContain('CASPER_METRICS_EXPECTED_CHAINSPEC="casper-test"');
  });

  test('a changed unit is rewritten and systemd reloaded, without starting the running timer again', () => {
    const h = metricsMachine();
    expect(h.runBootstrap().status).toBe(0);
    h.writeRootFile('etc/systemd/system/casper-metrics.service', '[Service]\nExecStart=/bin/false\n');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(h.read('etc/systemd/system/casper-metrics.service'))
      .toBe(fs.readFileSync(path.join(NODE_ASSETS, 'casper-metrics.service'), 'utf8'));
    expect(matching(r.calls, /^systemctl (daemon-reload|enable)/)).toEqual(['systemctl daemon-reload']);
  });

  test.each([
    ['no agent parameter', (c: ReturnType<ShellHarness['writeConfig']>) => { c.cloudWatchAgent.configParameterName = ''; }],
    ['no namespace', (c: ReturnType<ShellHarness['writeConfig']>) => { c.metrics = { namespace: '', logGroupName: '' }; }],
  ])('with %s the collector is skipped and nothing is written', (_, edit) => {
    const h = metricsMachine(edit);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(logLines(h)).toContain('metrics: no CloudWatch agent or metrics namespace configured, collector skipped');
    expect(matching(r.calls, /casper-metrics/)).toEqual([]);
    expectNotWritten(h, FILES);
  });

  test.each(['casper-metrics.py', 'casper-metrics.service', 'casper-metrics.timer'])(
    'a missing %s fails the config check before anything happens', (missing) => {
      const h = metricsMachine();
      expectMissingAssetRejected(h, missing);
    });

  test('a namespace without a log group is rejected before anything happens', () => {
    const h = metricsMachine((c) => { c.metrics.logGroupName = ''; });
    const r = h.runBootstrap();
    expectConfigRejected(h, r, 'metrics.namespace is set but metrics.logGroupName is empty');
  });

  test('a namespace that could break the settings file is rejected', () => {
    const h = metricsMachine((c) => { c.metrics.namespace = 'Casper"\nX=$(reboot)'; });
    const r = h.runBootstrap();
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain(`${h.configPath}: metrics.namespace has an invalid value`);
    expect(withoutSignalling(r.calls)).toEqual([]);
  });
});

describe('health endpoint', () => {
  const INSTALLED = {
    'usr/local/sbin/casper-health.py': { asset: 'casper-health.py', mode: '755' },
    'etc/systemd/system/casper-health.service': { asset: 'casper-health.service', mode: '644' },
  };
  const ENV_FILE = 'etc/casper-health.env';
  const FILES = [...Object.keys(INSTALLED), ENV_FILE];
  const SETTINGS = [
    'CASPER_HEALTH_PORT="8889"',
    'CASPER_HEALTH_STATUS_URL="http://127.0.0.1:8888/status"',
    'CASPER_HEALTH_RPC_URL="http://127.0.0.1:7777/rpc"',
    'CASPER_HEALTH_MAX_BLOCK_AGE_SECONDS="600"',
    'CASPER_HEALTH_MIN_PEERS="3"',
    '',
  ];

  /** A machine whose config enables the endpoint, through the construct's renderer. */
  function healthMachine(edit?: (c: ReturnType<ShellHarness['writeConfig']>) => void): ShellHarness {
    return configuredMachine((c) => { c.healthEndpoint = { port: 8889, maxBlockAgeSeconds: 600, minPeers: 3 }; }, edit);
  }

  test('with a port, installs the endpoint, its unit and settings, and starts it before the packages', () => {
    const h = healthMachine();
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expectInstalled(h, INSTALLED);
    expect(h.read(ENV_FILE)).toBe(SETTINGS.join('\n'));
    expect(h.mode(ENV_FILE)).toBe('644');
    expectCallsInOrder(r.calls, [
      /^systemctl daemon-reload$/,
      /^systemctl is-active --quiet casper-health\.service$/,
      /^systemctl enable --now casper-health\.service$/,
      /^apt-get -o DPkg::Lock::Timeout=300 install -y casper-node-launcher/,
      /^systemctl enable --now casper-node-launcher\.service$/,
    ]);
    expectStarted(h, r, 'health endpoint', 'casper-health.service');
    expectNoScratchFiles(h);
  });

  test('port 0 (what the renderer gives without healthEndpoint): nothing installed, nothing started', () => {
    const h = machine();
    expect(defaultConfig().healthEndpoint).toEqual({ port: 0, maxBlockAgeSeconds: 600, minPeers: 3 });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(logLines(h)).toContain('health endpoint: not enabled (port 0), skipped');
    expect(matching(r.calls, /casper-health/)).toEqual([]);
    expectNotWritten(h, FILES);
  });

  test('a second run rewrites nothing and restarts nothing', () => {
    const h = healthMachine();
    const r = rerunRewritesNothing(h, FILES);
    expect(matching(r.calls, /casper-health/)).toEqual(['systemctl is-active --quiet casper-health.service']);
    expect(logLines(h)).toContain('health endpoint: casper-health.service already running');
  });

  test.each([
    ['the settings', (h: ShellHarness) => h.writeConfig((c) => {
      c.healthEndpoint = { port: 8889, maxBlockAgeSeconds: 300, minPeers: 5 };
    }), false],
    ['the unit', (h: ShellHarness) => h.writeRootFile('etc/systemd/system/casper-health.service', '[Service]\nExecStart=/bin/false\n'), true],
    ['the script', (h: ShellHarness) => h.writeRootFile('usr/local/sbin/casper-health.py', '# old\n'), false],
  ])('a change of %s restarts the running endpoint', (_, change, reload) => {
    const h = healthMachine();
    expect(h.runBootstrap().status).toBe(0);
    change(h);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^systemctl (daemon-reload|enable|restart)/))
      .toEqual([...(reload ? ['systemctl daemon-reload'] : []), 'systemctl restart casper-health.service']);
    expect(logLines(h)).toContain('health endpoint: script, unit or settings changed; restarting casper-health.service');
    for (const [f, { asset }] of Object.entries(INSTALLED)) expect({ f, text: h.read(f) }).toEqual({ f, text: fs.readFileSync(path.join(NODE_ASSETS, asset), 'utf8') });
  });

  test('changed settings are written to the settings file', () => {
    const h = healthMachine();
    expect(h.runBootstrap().status).toBe(0);
    h.writeConfig((c) => { c.healthEndpoint = { port: 18889, maxBlockAgeSeconds: 300, minPeers: 0 }; });
    expect(h.runBootstrap().status).toBe(0);
    expect(h.read(ENV_FILE).split('\n')).toEqual(expect.arrayContaining([
      'CASPER_HEALTH_PORT="18889"', 'CASPER_HEALTH_MAX_BLOCK_AGE_SECONDS="300"', 'CASPER_HEALTH_MIN_PEERS="0"',
    ]));
  });

  test('an endpoint that is not running is started, not restarted', () => {
    const h = healthMachine();
    expect(h.runBootstrap().status).toBe(0);
    h.rule('systemctl', '^is-active --quiet casper-health\\.service$', { exit: 3 });
    h.writeRootFile('usr/local/sbin/casper-health.py', '# old\n');
    const r = h.runBootstrap();
    expectStarted(h, r, 'health endpoint', 'casper-health.service');
  });

  test('without the sidecar: no RPC URL, so the endpoint checks no RPC', () => {
    const h = healthMachine((c) => { c.network.runsSidecar = false; });
    h.setState('config-flavour', '1.5');
    expect(h.runBootstrap().status).toBe(0);
    expect(h.read(ENV_FILE).split('\n')).toContain('CASPER_HEALTH_RPC_URL=""');
  });

  test('the REST port of the network is the status the endpoint reads', () => {
    const h = healthMachine((c) => { c.network.restPort = 18888; });
    h.http('http://127.0.0.1:18888/status', { body: fs.readFileSync(STATUS_FIXTURE, 'utf8') });
    expect(h.runBootstrap().status).toBe(0);
    expect(h.read(ENV_FILE).split('\n')).toContain('CASPER_HEALTH_STATUS_URL="http://127.0.0.1:18888/status"');
  });

  test.each([
    ['a port above 65535', (c: NodeConfig) => { c.healthEndpoint.port = 65536; }, 'healthEndpoint.port is not a TCP port: 65536'],
    ['the REST port', (c: NodeConfig) => { c.healthEndpoint.port = 8888; }, 'healthEndpoint.port 8888 is also a port in network'],
    ['the RPC port', (c: NodeConfig) => { c.healthEndpoint.port = 7777; }, 'healthEndpoint.port 7777 is also a port in network'],
    ['the gossip port', (c: NodeConfig) => { c.healthEndpoint.port = 35000; }, 'healthEndpoint.port 35000 is also a port in network'],
    ['a negative port', (c: NodeConfig) => { c.healthEndpoint.port = -1; }, 'healthEndpoint.port must be a non-negative integer, got -1'],
    ['a block age of 0', (c: NodeConfig) => { c.healthEndpoint.maxBlockAgeSeconds = 0; }, 'healthEndpoint.maxBlockAgeSeconds must be a positive integer, got 0'],
    ['a fractional minimum of peers', (c: NodeConfig) => { c.healthEndpoint.minPeers = 2.5; }, 'healthEndpoint.minPeers must be a non-negative integer, got 2.5'],
    ['a port as a string', (c: NodeConfig) => { (c.healthEndpoint as any).port = '8889'; }, "healthEndpoint.port must be a non-negative integer, got '8889'"],
    ['no healthEndpoint section', (c: NodeConfig) => { delete (c as any).healthEndpoint; }, 'missing healthEndpoint.port'],
  ])('%s is rejected before anything happens', (_, edit, message) => {
    const h = healthMachine(edit);
    const r = h.runBootstrap();
    expectConfigRejected(h, r, message);
  });

  test('a minimum of 0 peers is accepted', () => {
    const h = healthMachine((c) => { c.healthEndpoint.minPeers = 0; });
    expect(h.runBootstrap().status).toBe(0);
    expect(h.read(ENV_FILE).split('\n')).toContain('CASPER_HEALTH_MIN_PEERS="0"');
  });

  test.each(['casper-health.py', 'casper-health.service'])(
    'a missing %s fails the config check before anything happens', (missing) => {
      const h = machine();
      expectMissingAssetRejected(h, missing);
    });
});

describe('config', () => {
  test('an invalid trusted hash is rejected before anything happens', () => {
    const h = machine();
    h.writeConfig((c) => { c.trustedHash = 'not-a-hash'; });
    const r = h.runBootstrap();
    expectConfigRejected(h, r, "trustedHash has an invalid value 'not-a-hash'");
  });

  test('an unknown schema version is rejected', () => {
    const h = machine();
    h.writeConfig((c) => { (c as { schemaVersion: number }).schemaVersion = 1; });
    const r = h.runBootstrap();
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain('unsupported schemaVersion 1 (this bootstrap reads 2)');
    expect(withoutSignalling(r.calls)).toEqual([]);
  });

  test('a missing config file is reported', () => {
    const h = machine();
    const r = h.run(path.join(h.assets, 'bootstrap.sh'), [path.join(h.base, 'nope.json')]);
    expectFailure(h, r, `ERROR: config: config file ${path.join(h.base, 'nope.json')} not found`);
  });
});

describe('fleet member', () => {
  const PARAM = '/casper/testnet-fleet/cloudwatch-agent';
  const MEMBER_TAG_READ = /meta-data\/tags\/instance\/casper:member$/;
  /** The fleet's one agent config (CasperAgentConfig's parameter), naming the fleet, or with `nodeName`, a member. */
  const fleetAgentConfig = (nodeName = 'testnet-fleet') => renderAgentConfig({
    namespace: 'Casper Nodes/casper-test',
    nodeName,
    intervalSeconds: 30,
    dataMountPoint: MOUNT_POINT,
    nodeLogGroupName: '/casper/testnet-fleet/node',
    nodeStderrLogGroupName: '/casper/testnet-fleet/node-stderr',
    bootstrapLogGroupName: '/casper/testnet-fleet/bootstrap',
  });
  const AGENT_FILE = 'opt/aws/amazon-cloudwatch-agent/etc/casper-member-agent.json';
  const AGENT_STAMP = 'var/lib/casper-bootstrap/cwagent.config';
  const GET_PARAMETER = `aws ssm get-parameter --name ${PARAM} --query Parameter.Value --output text --region us-east-1`;
  /** A member of the three-slot fleet, with the agent and metrics wired so the node name shows in the metrics settings. */
  function member(slot: string, edit?: (c: NodeConfig) => void): ShellHarness {
    const h = ShellHarness.fleetMember(slot);
    harnesses.push(h);
    h.preinstall('amazon-cloudwatch-agent');
    h.setParameter(PARAM, JSON.stringify(fleetAgentConfig()));
    h.writeConfig((c) => {
      c.cloudWatchAgent.configParameterName = PARAM;
      c.metrics = { namespace: 'Casper Nodes/casper-test', logGroupName: '/casper/testnet-fleet/metrics' };
      edit?.(c);
    });
    return h;
  }
  const metricsNodeName = (h: ShellHarness) => h.read('etc/casper-metrics.env').split('\n').find((l) => l.startsWith('CASPER_METRICS_NODE_NAME='));

  test('slot 1 of 3 runs with secret 1 and node name 1 everywhere', () => {
    const h = member('1');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    // The slot is read once the volume tag is there, before anything uses the name or the key.
    expectCallsInOrder(r.calls, [
      /meta-data\/tags\/instance\/casper:data-volume$/,
      MEMBER_TAG_READ,
      /^amazon-cloudwatch-agent-ctl /,
      new RegExp(`^aws secretsmanager get-secret-value --secret-id ${re(FLEET_SECRET_ARNS[1])} --query SecretString --output text --region us-east-1$`),
      new RegExp(`^aws secretsmanager put-secret-value --secret-id ${re(FLEET_SECRET_ARNS[1])} --secret-string file://\\S+ --region us-east-1$`),
    ]);
    expect(matching(r.calls, MEMBER_TAG_READ)).toHaveLength(1);
    // No other slot's secret, nor the fleet-level one, is touched.
    expect(matching(r.calls, /^aws secretsmanager /).filter((c) => !c.includes(FLEET_SECRET_ARNS[1]))).toEqual([]);
    expect(h.puts()).toEqual([`${FLEET_SECRET_ARNS[1]} no`]);
    expect(JSON.parse(h.secret(FLEET_SECRET_ARNS[1])!).secret_key_pem).toBe(h.read('etc/casper/validator_keys/secret_key.pem'));
    expect(metricsNodeName(h)).toBe(`CASPER_METRICS_NODE_NAME="${FLEET_NODE_NAMES[1]}"`);
    expect(h.read('var/lib/casper-bootstrap/member-slot')).toBe('1\n');
    expect(logLines(h)).toEqual(expect.arrayContaining([
      'config: fleet member (3 slots; node name and signing key by slot), network casper-test, region us-east-1',
      'fleet member: waiting up to 3 s for tag casper:member',
      `fleet member: slot 1 of 3: node ${FLEET_NODE_NAMES[1]}, signing key secret ${FLEET_SECRET_ARNS[1]}`,
      `signing key: new key stored in ${FLEET_SECRET_ARNS[1]}`,
    ]));
    for (const other of [FLEET_NODE_NAMES[0], FLEET_NODE_NAMES[2], 'testnet-fleet,', SECRET_ARN]) expect(h.bootstrapLog()).not.toContain(other);
  });

  test('a key stored in the slot\'s secret is restored from it', () => {
    const h = member('2');
    h.setSecret(FLEET_SECRET_ARNS[2], JSON.stringify({
      secret_key_pem: '-----BEGIN PRIVATE KEY-----\nSLOT-2-KEY\n-----END PRIVATE KEY-----\n',
      public_key_pem: '-----BEGIN PUBLIC KEY-----\nSLOT-2\n-----END PUBLIC KEY-----\n',
      public_key_hex: '02aa',
    }));
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /keygen|put-secret-value/)).toEqual([]);
    expect(h.read('etc/casper/validator_keys/public_key_hex')).toBe('02aa');
    expect(metricsNodeName(h)).toBe(`CASPER_METRICS_NODE_NAME="${FLEET_NODE_NAMES[2]}"`);
  });

  test('a member tag that shows up late in instance metadata is waited for', () => {
    const h = member('0');
    h.imds('tags/instance/casper:member', '0', 2);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, MEMBER_TAG_READ)).toHaveLength(3);
    expect(metricsNodeName(h)).toBe(`CASPER_METRICS_NODE_NAME="${FLEET_NODE_NAMES[0]}"`);
  });

  test('a member tag still missing after the wait fails clearly, before the agent, the packages and the key', () => {
    const h = member('1');
    h.removeHttp(`${IMDS}/meta-data/tags/instance/casper:member`);
    const r = h.runBootstrap();
    expectFailure(h, r, 'ERROR: fleet member: tag casper:member did not appear within 3 s '
      + '(the data-volume lifecycle writes the volume\'s member slot before casper:data-volume)');
    expect(matching(r.calls, MEMBER_TAG_READ)).toHaveLength(3);
    expect(matching(withoutSignal(r.calls), /^(amazon-cloudwatch-agent-ctl|apt-get|blkid|aws|systemctl)/)).toEqual([]);
    expect(h.exists('var/lib/casper-bootstrap/member-slot')).toBe(false);
  });

  test.each(['3', '17', '-1', '01', '1.0', 'one', ' 1'])('a member tag of %j is not a slot of the fleet: a clear failure', (slot) => {
    const h = member(slot);
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: fleet member: tag casper:member holds '${slot}', not a member slot of this fleet of 3 (a whole number from 0 to 2)`);
    expect(matching(withoutSignal(r.calls), /^(amazon-cloudwatch-agent-ctl|apt-get|blkid|aws|systemctl)/)).toEqual([]);
    expect(h.exists('var/lib/casper-bootstrap/member-slot')).toBe(false);
  });

  test('a rerun keeps the recorded slot, even when the tag says otherwise or is gone', () => {
    const h = member('1');
    expect(h.runBootstrap().status).toBe(0);
    const envBefore = h.read('etc/casper-metrics.env');

    h.imds('tags/instance/casper:member', '2');
    const again = h.runBootstrap();
    expect(again.status).toBe(0);
    expect(matching(again.calls, /^aws secretsmanager /)).toEqual([]);
    expect(h.read('etc/casper-metrics.env')).toBe(envBefore);
    expect(metricsNodeName(h)).toBe(`CASPER_METRICS_NODE_NAME="${FLEET_NODE_NAMES[1]}"`);
    expect(logLines(h)).toEqual(expect.arrayContaining([
      'fleet member: slot 1, recorded by an earlier run',
      "fleet member: tag casper:member now holds '2'; keeping slot 1, whose key is installed",
      `fleet member: slot 1 of 3: node ${FLEET_NODE_NAMES[1]}, signing key secret ${FLEET_SECRET_ARNS[1]}`,
    ]));

    h.removeHttp(`${IMDS}/meta-data/tags/instance/casper:member`);
    const third = h.runBootstrap();
    expect(third.status).toBe(0);
    expect(matching(third.calls, MEMBER_TAG_READ)).toHaveLength(1); // looked at once, not waited for
    expect(h.read('etc/casper-metrics.env')).toBe(envBefore);
    expect(h.read('var/lib/casper-bootstrap/member-slot')).toBe('1\n');
  });

  test('a recorded slot that is not a slot of the fleet (the fleet shrank) fails clearly', () => {
    const h = member('1');
    h.writeRootFile('var/lib/casper-bootstrap/member-slot', '5\n');
    const r = h.runBootstrap();
    expectFailure(h, r, "ERROR: fleet member: /var/lib/casper-bootstrap/member-slot holds '5', not a member slot of this fleet of 3 (0 to 2)");
  });

  test('the agent loads the fleet\'s config from a root-only file naming the member: NodeName=<fleet>-<slot>', () => {
    const h = member('1');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    const agentCtl = `amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${h.path(AGENT_FILE)}`;
    expectCallsInOrder(r.calls, [
      MEMBER_TAG_READ,
      new RegExp(`^${re(GET_PARAMETER)}$`),
      new RegExp(`^${re(agentCtl)}$`),
      /^systemctl enable --now casper-metrics\.timer$/,
    ]);
    expect(matching(r.calls, /^aws ssm /)).toEqual([GET_PARAMETER]);
    expect(matching(r.calls, /^amazon-cloudwatch-agent-ctl /)).toEqual([agentCtl]);
    // The fleet's config with only NodeName changed, in every metric's dimensions.
    const loaded = JSON.parse(h.read(AGENT_FILE));
    expect(loaded).toEqual(fleetAgentConfig(FLEET_NODE_NAMES[1]));
    for (const m of ['cpu', 'mem', 'disk']) {
      expect({ m, dims: loaded.metrics.metrics_collected[m].append_dimensions }).toEqual({ m, dims: { NodeName: 'testnet-fleet-1' } });
    }
    expect(h.mode(AGENT_FILE)).toBe('600');
    expect(h.read(AGENT_STAMP)).toBe(`${PARAM} NodeName=${FLEET_NODE_NAMES[1]}\n`);
    expect(logLines(h)).toContain(`cloudwatch agent: configured from ssm:${PARAM} with NodeName=${FLEET_NODE_NAMES[1]} (/${AGENT_FILE})`);

    const again = h.runBootstrap();
    expect(again.status).toBe(0);
    expect(matching(again.calls, /^aws ssm |^amazon-cloudwatch-agent-ctl /)).toEqual([]);
    expect(JSON.parse(h.read(AGENT_FILE))).toEqual(fleetAgentConfig(FLEET_NODE_NAMES[1]));
    expect(logLines(h)).toContain(`cloudwatch agent: already configured from ssm:${PARAM} with NodeName=${FLEET_NODE_NAMES[1]}`);
  });

  test('an agent stamped with the fleet\'s parameter alone (as a single node\'s) is loaded again, named', () => {
    const h = member('2');
    h.writeRootFile(AGENT_STAMP, `${PARAM}\n`);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^amazon-cloudwatch-agent-ctl /)).toEqual([`amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${h.path(AGENT_FILE)}`]);
    expect(JSON.parse(h.read(AGENT_FILE))).toEqual(fleetAgentConfig(FLEET_NODE_NAMES[2]));
    expect(h.read(AGENT_STAMP)).toBe(`${PARAM} NodeName=${FLEET_NODE_NAMES[2]}\n`);
  });

  test.each([
    ['access denied', { exit: 254, stderr: 'An error occurred (AccessDeniedException) when calling the GetParameter operation: denied\n' }],
    ['no such parameter', undefined],
  ])('an agent config parameter that cannot be read (%s) fails clearly, before the packages', (_, answer) => {
    const h = member('1');
    if (answer) h.rule('aws', '^ssm get-parameter', answer);
    else fs.rmSync(path.join(h.state, 'parameters'), { recursive: true, force: true });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: cloudwatch agent: cannot read the agent config parameter ${PARAM} (see the aws error above)`);
    expect(r.stdout).toContain(answer ? 'AccessDeniedException' : 'ParameterNotFound');
    expect(matching(r.calls, /^aws ssm get-parameter /)).toHaveLength(3);
    expect(matching(r.calls, /^amazon-cloudwatch-agent-ctl |^apt-get .*install|^aws secretsmanager /)).toEqual([]);
    expect(h.exists(AGENT_FILE)).toBe(false);
    expect(h.exists(AGENT_STAMP)).toBe(false);
  });

  test.each([
    ['no NodeName dimension', JSON.stringify({ ...fleetAgentConfig(), metrics: { metrics_collected: { cpu: { append_dimensions: { Fleet: 'testnet-fleet' } } } } }),
      `the agent config in ${PARAM} has no NodeName in any append_dimensions; cannot name this member's metrics ${FLEET_NODE_NAMES[0]}`],
    ['not JSON', 'None', `cannot read the agent config in ${PARAM} (see the message above)`],
  ])('an agent config with %s fails clearly, loading nothing', (_, value, message) => {
    const h = member('0');
    h.setParameter(PARAM, value);
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: cloudwatch agent: ${message}`);
    expect(matching(r.calls, /^amazon-cloudwatch-agent-ctl /)).toEqual([]);
    expect(h.exists(AGENT_FILE)).toBe(false);
    expect(h.exists(AGENT_STAMP)).toBe(false);
  });

  test('a single node reads no member tag and keeps its own name and secret', () => {
    const h = machine();
    h.imds('tags/instance/casper:member', '1');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /casper:member|public-ipv4/)).toEqual([]);
    expect(matching(r.calls, /^aws secretsmanager get-secret-value/)).toEqual([expect.stringContaining(`--secret-id ${SECRET_ARN} `)]);
    expect(logLines(h)).toContain('config: node testnet-reader, network casper-test, region us-east-1');
    expect(h.exists('var/lib/casper-bootstrap/member-slot')).toBe(false);
  });

  test.each([
    ['fewer node names than secrets', (c: NodeConfig) => { c.fleet.nodeNames.pop(); },
      'fleet.signingKeySecretArns has 3 entries but fleet.nodeNames 2 (one of each per member slot)'],
    ['a secret that is not a Secrets Manager ARN', (c: NodeConfig) => { c.fleet.signingKeySecretArns[2] = 'arn:aws:s3:::bucket'; },
      "fleet.signingKeySecretArns[2] has an invalid value 'arn:aws:s3:::bucket'"],
    ['a node name with a quote', (c: NodeConfig) => { c.fleet.nodeNames[0] = 'fleet"0'; }, "fleet.nodeNames[0] has an invalid value 'fleet\"0'"],
    ['two slots with one node name', (c: NodeConfig) => { c.fleet.nodeNames[2] = c.fleet.nodeNames[0]; },
      'fleet.nodeNames names the same value for two member slots'],
    ['two slots with one secret', (c: NodeConfig) => { c.fleet.signingKeySecretArns[1] = c.fleet.signingKeySecretArns[0]; },
      'fleet.signingKeySecretArns names the same value for two member slots'],
    ['node names that are not a list', (c: NodeConfig) => { (c.fleet as any).nodeNames = 'testnet-fleet-0'; },
      "fleet.nodeNames must be a list, got 'testnet-fleet-0'"],
    ['a member tag wait of 0', (c: NodeConfig) => { c.fleet.memberTagWaitSeconds = 0; }, 'fleet.memberTagWaitSeconds must be a positive integer, got 0'],
    ['a member tag key with a space', (c: NodeConfig) => { c.fleet.memberTagKey = 'casper member'; }, "fleet.memberTagKey has an invalid value 'casper member'"],
    ['no fleet section', (c: NodeConfig) => { delete (c as any).fleet; }, 'missing fleet.memberTagKey'],
    ['a public IP that is not an address', (c: NodeConfig) => { c.publicIp = 'auto'; }, "publicIp has an invalid value 'auto'"],
  ])('%s is rejected before anything happens', (_, edit, message) => {
    const h = member('1', edit);
    const r = h.runBootstrap();
    expectConfigRejected(h, r, message);
  });
});

describe('public IP from instance metadata (publicIp empty: no Elastic IP)', () => {
  const STAGE_SETTINGS = 'etc/casper-stage-protocols.env';

  test('the instance\'s own public IPv4 goes into the stager settings and config.toml', () => {
    const h = machine();
    h.writeConfig((c) => { c.publicIp = ''; });
    h.imds('public-ipv4', MEMBER_PUBLIC_IP);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(h.read(STAGE_SETTINGS).split('\n')).toContain(`PUBLIC_IP=${MEMBER_PUBLIC_IP}`);
    expect(matching(r.calls, /stage_protocols/)).toEqual([
      expect.stringMatching(new RegExp(` --ip ${re(MEMBER_PUBLIC_IP)}$`)), `casper-node-util stage_protocols casper-test.conf --ip ${MEMBER_PUBLIC_IP}`,
    ]);
    for (const f of STAGED) {
      expect(h.read(f)).toContain(`public_address = '${MEMBER_PUBLIC_IP}:0'`);
      expect(h.read(f)).not.toContain(PUBLIC_IP);
    }
    expect(matching(r.calls, /meta-data\/public-ipv4$/)).toEqual([
      `curl -fsS --max-time 5 -H X-aws-ec2-metadata-token: ${IMDS_TOKEN} ${IMDS}/meta-data/public-ipv4`,
    ]);
    expect(logLines(h)).toContain(`public ip: ${MEMBER_PUBLIC_IP}, this instance's own (from instance metadata)`);
  });

  test('a fleet member stages with its own public IPv4', () => {
    const h = ShellHarness.fleetMember('0');
    harnesses.push(h);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(h.read(STAGE_SETTINGS).split('\n')).toContain(`PUBLIC_IP=${MEMBER_PUBLIC_IP}`);
    for (const f of STAGED) expect(h.read(f)).toContain(`public_address = '${MEMBER_PUBLIC_IP}:0'`);
  });

  test('a public-ipv4 that instance metadata answers late is retried', () => {
    const h = machine();
    h.writeConfig((c) => { c.publicIp = ''; });
    h.imds('public-ipv4', MEMBER_PUBLIC_IP, 2);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /meta-data\/public-ipv4$/)).toHaveLength(3);
    expect(h.read(STAGE_SETTINGS).split('\n')).toContain(`PUBLIC_IP=${MEMBER_PUBLIC_IP}`);
  });

  test('an instance without a public IPv4 fails clearly, before anything is installed or staged', () => {
    const h = machine();
    h.writeConfig((c) => { c.publicIp = ''; });
    const r = h.runBootstrap();
    expectFailure(h, r, "ERROR: public ip: publicIp is empty in the config (use this instance's own) but this instance has no public IPv4 "
      + '(no public-ipv4 in its instance metadata; launch it in a subnet that assigns public IPv4 addresses)');
    expect(matching(r.calls, /meta-data\/public-ipv4$/)).toHaveLength(5);
    expect(matching(withoutSignal(r.calls), /^(apt-get|blkid|aws|systemctl|runuser)|stage_protocols/)).toEqual([]);
    expect(h.exists(STAGE_SETTINGS)).toBe(false);
  });

  test('a configured public IP (the Elastic IP) is used as it is: no instance metadata read', () => {
    const h = machine();
    h.imds('public-ipv4', MEMBER_PUBLIC_IP);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /public-ipv4/)).toEqual([]);
    expect(h.read(STAGE_SETTINGS).split('\n')).toContain(`PUBLIC_IP=${PUBLIC_IP}`);
  });
});

describe('signal when in sync (health.signalWhenInSync)', () => {
  const IN_SYNC = JSON.stringify({ healthy: true, reactor_state: 'KeepUp', block_age_seconds: 12, peers: 8 });
  const CATCH_UP = JSON.stringify({ healthy: false, reason: 'reactor state is CatchUp, not KeepUp or Validate' });
  const BEHIND = JSON.stringify({ healthy: false, reason: 'newest block is 4210 s old (limit 600 s)' });
  const HEALTH_CALL = new RegExp(`^curl -sS --max-time 5 -o \\S+ -w %\\{http_code\\} ${re(HEALTH_URL)}$`);
  const SUCCESS = /^aws cloudformation signal-resource .*--status SUCCESS/;

  /** A fleet member whose data volume already holds chain storage (a snapshot or its own earlier data). */
  function withStorage(): ShellHarness {
    const h = ShellHarness.fleetMember('1');
    harnesses.push(h);
    h.writeRootFile(`${MOUNT_POINT.slice(1)}/casper-test/storage.lmdb`, 'LMDB');
    return h;
  }

  test('with chain storage: a 503 and then a 200 signal success only after the 200', () => {
    const h = withStorage();
    h.http(HEALTH_URL, { status: 200, body: IN_SYNC, first: [{ status: 503, body: CATCH_UP }] });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expectCallsInOrder(r.calls, [
      /^systemctl enable --now casper-health\.service$/,
      /^systemctl enable --now casper-node-launcher\.service$/,
      new RegExp(`^curl -fsS --max-time 5 ${re(STATUS_URL)}$`),
      HEALTH_CALL,
      HEALTH_CALL,
      SUCCESS,
    ]);
    expect(matching(r.calls, HEALTH_CALL)).toHaveLength(2);
    expect(matching(r.calls, /signal-resource/)).toEqual([expect.stringContaining('--status SUCCESS')]);
    expect(r.calls.findIndex((c) => SUCCESS.test(c))).toBeGreaterThan(r.calls.map((c) => HEALTH_CALL.test(c)).lastIndexOf(true));
    expect(logLines(h)).toEqual(expect.arrayContaining([
      `readiness: the data volume held chain storage: success is signalled only once ${HEALTH_URL} answers 200 (in sync)`,
      `readiness: node answers steadily, not in sync yet (${HEALTH_URL}: HTTP 503: reactor state is CatchUp, not KeepUp or Validate)`,
      `readiness: ${HEALTH_URL} answers 200: the node is in sync`,
    ]));
    expect(h.exists('var/lib/casper-bootstrap/done')).toBe(true);
    expect(fs.readdirSync(h.tmpDir)).toEqual([]);
  });

  test('with chain storage: a node that stays out of sync fails within readyWaitSeconds, naming the last reason', () => {
    const h = withStorage();
    h.http(HEALTH_URL, { status: 503, body: BEHIND, first: [{ status: 503, body: CATCH_UP }] });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: readiness: the node answered ${STATUS_URL} but was not in sync within 4 s `
      + `(last from ${HEALTH_URL}: HTTP 503: newest block is 4210 s old (limit 600 s)); not signalling success`);
    // Four polls in all (readyWaitSeconds 4): two to see the node steady, each from the second on also asks /healthz.
    expect(matching(r.calls, new RegExp(`^curl -fsS --max-time 5 ${re(STATUS_URL)}$`))).toHaveLength(4);
    expect(matching(r.calls, HEALTH_CALL)).toHaveLength(3);
    expect(logLines(h)).toContain(`readiness: node answers steadily, not in sync yet (${HEALTH_URL}: HTTP 503: reactor state is CatchUp, not KeepUp or Validate)`);
    expect(matching(r.calls, SUCCESS)).toEqual([]);
  });

  test('with chain storage: an endpoint that does not answer at all never counts as in sync', () => {
    const h = withStorage();
    h.removeHttp(HEALTH_URL);
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: readiness: the node answered ${STATUS_URL} but was not in sync within 4 s `
      + `(last from ${HEALTH_URL}: no answer (connection failed or timed out)); not signalling success`);
  });

  test('with empty storage: signals once the node answers, as without the option, and says why', () => {
    const h = ShellHarness.fleetMember('1');
    harnesses.push(h);
    h.http(HEALTH_URL, { status: 503, body: CATCH_UP });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /healthz/)).toEqual([]);
    expect(matching(r.calls, /signal-resource/)).toEqual([expect.stringContaining('--status SUCCESS')]);
    expect(logLines(h)).toContain('readiness: the data volume held no chain storage: a full sync can outlast any timeout, '
      + 'so success is signalled once the node answers steadily, without waiting for it to be in sync');
  });

  test('storage is judged before this run starts the node: a rerun after a full sync waits for the endpoint', () => {
    const h = ShellHarness.fleetMember('1');
    harnesses.push(h);
    expect(h.runBootstrap().status).toBe(0);
    // The node synced meanwhile; a reboot runs the bootstrap again.
    h.writeRootFile(`${MOUNT_POINT.slice(1)}/casper-test/storage.lmdb`, 'LMDB');
    h.http(HEALTH_URL, { status: 200, body: IN_SYNC });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, HEALTH_CALL)).toHaveLength(1);
  });

  test('off (the default): a node with storage and a health endpoint is signalled without asking it', () => {
    const h = withStorage();
    h.writeConfig((c) => { c.health.signalWhenInSync = false; });
    h.http(HEALTH_URL, { status: 503, body: CATCH_UP });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /healthz/)).toEqual([]);
    expect(logLines(h).filter((l) => l.includes('chain storage: success') || l.includes('in sync'))).toEqual([]);
    expect(defaultConfig().health.signalWhenInSync).toBe(false);
  });

  test.each([
    ['without a health endpoint port', (c: NodeConfig) => { c.healthEndpoint.port = 0; },
      'health.signalWhenInSync needs the health endpoint, but healthEndpoint.port is 0'],
    ['as a string', (c: NodeConfig) => { (c.health as any).signalWhenInSync = 'true'; }, "health.signalWhenInSync must be a bool, got 'true'"],
    ['missing', (c: NodeConfig) => { delete (c.health as any).signalWhenInSync; }, 'missing health.signalWhenInSync'],
  ])('signalWhenInSync %s is rejected before anything happens', (_, edit, message) => {
    const h = ShellHarness.fleetMember('1');
    harnesses.push(h);
    h.writeConfig(edit);
    const r = h.runBootstrap();
    expectConfigRejected(h, r, message);
  });
});
