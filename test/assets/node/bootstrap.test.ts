import * as fs from 'fs';
import * as path from 'path';
import {
  ARMOURED_KEY, BASE_FSTAB, DEVICE, GIB, IMDS, IMDS_TOKEN, INSTANCE_ID, LIBSSL_URL, LOGICAL_ID, MKFS_UUID,
  MOUNT_POINT, NODE_ASSETS, REPO_KEY_URL, RunResult, SECRET_ARN, STACK_NAME, STATUS_FIXTURE, STATUS_URL, ShellHarness,
  TRUSTED_HASH, VOLUME_ID, expectCallsInOrder, re, watchdogEnv,
} from '../../support/shell-harness';

/**
 * Behaviour of src/assets/node/bootstrap.sh, run by bash against stubbed
 * system commands (see test/support/shell-harness.ts).
 */

const FSTAB_LINE = `UUID=${MKFS_UUID} ${MOUNT_POINT} ext4 defaults,nofail 0 2`;
const KEY_FILES = ['public_key.pem', 'public_key_hex', 'secret_key.pem'];
const STAGED = ['etc/casper/2_0_0/config.toml', 'etc/casper/2_1_0/config.toml'];
/** config.toml as the node_util.py stub stages it. */
const STAGED_CONFIG = "[node]\n# Hash of a recent block.\n#trusted_hash = 'HEX-FORMATTED BLOCK HASH'\nsync_handling = 'ttl'\n\n[network]\npublic_address = '203.0.113.10:35000'\n";
const STORED_KEY = {
  secret_key_pem: '-----BEGIN PRIVATE KEY-----\nRESTORED-SECRET-KEY\n-----END PRIVATE KEY-----\n',
  public_key_pem: '-----BEGIN PUBLIC KEY-----\nRESTORED-PUBLIC-KEY\n-----END PUBLIC KEY-----\n',
  public_key_hex: '0203b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3',
};

/** Commands that must never run on an already-bootstrapped machine. */
const ONE_TIME_ACTIONS: RegExp[] = [
  /^mkfs/, /^casper-client keygen/, /^runuser .* keygen/, /^aws secretsmanager put-secret-value/,
  /^aws secretsmanager get-secret-value/, /stage_protocols/, /^apt-get install/, /^apt-get update/, /^dpkg -i/,
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

function matching(calls: string[], pattern: RegExp): string[] {
  return calls.filter((c) => pattern.test(c));
}

/** The bootstrap log without its timestamps. */
function logLines(h: ShellHarness): string[] {
  return h.bootstrapLog().split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ /, ''));
}

function expectFailure(h: ShellHarness, r: RunResult, error: string): void {
  expect(r.status).not.toBe(0);
  expect(logLines(h)).toContain(error);
  expect(r.stdout).toContain(error);
}

/** No key material, no key staging dir and no scratch files left behind. */
function expectNoKeyLeftBehind(h: ShellHarness): void {
  expect(h.exists('etc/casper/validator_keys/secret_key.pem')).toBe(false);
  expect(h.list('etc/casper').filter((f) => f.startsWith('.validator_keys.'))).toEqual([]);
  expect(fs.readdirSync(h.tmpDir)).toEqual([]);
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
      new RegExp(`^curl -fsSL --max-time \\d+ -o \\S+/libssl1\\.1\\.deb ${re(LIBSSL_URL)}$`),
      /^dpkg -i \S+\/libssl1\.1\.deb$/,
      /^apt-get update -o DPkg::Lock::Timeout=300$/,
      /^apt-get install -y -o DPkg::Lock::Timeout=300 casper-node-launcher casper-client casper-sidecar$/,
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
      new RegExp(`^runuser -u casper -- ${re(h.path('etc/casper/node_util.py'))} stage_protocols casper-test\\.conf$`),
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
    expect(count(/^node_util\.py stage_protocols /)).toBe(1);
    expect(count(/^apt-get install /)).toBe(1);
    expect(count(/^dpkg -i /)).toBe(1);
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
    expect(h.readState('put-secret-value.key-installed')).toBe('no\n');
    expect(h.list('etc/casper/validator_keys')).toEqual(KEY_FILES);
    expect(h.mode('etc/casper/validator_keys')).toBe('700');
    const stored = JSON.parse(h.readState('secret')!);
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
    for (const f of STAGED) expect({ f, text: h.read(f) }).toEqual({ f, text: expected });
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

  test('installs the protocol stager timer so the node follows network upgrades', () => {
    for (const unit of ['casper-stage-protocols.service', 'casper-stage-protocols.timer']) {
      expect(h.read(`etc/systemd/system/${unit}`)).toBe(fs.readFileSync(path.join(NODE_ASSETS, unit), 'utf8'));
      expect(h.mode(`etc/systemd/system/${unit}`)).toBe('644');
    }
    expect(h.read('etc/casper-stage-protocols.env')).toBe('NETWORK_CONFIG=casper-test.conf\n');
    expect(h.read('etc/systemd/system/casper-stage-protocols.service'))
      .toContain('ExecStart=/etc/casper/node_util.py stage_protocols ${NETWORK_CONFIG}');
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
    expect(fs.readdirSync(h.tmpDir)).toEqual([]);
    expect(h.list('etc/casper').filter((f) => f.startsWith('.'))).toEqual([]);
    expect(h.list('etc').filter((f) => f.startsWith('.'))).toEqual([]);
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
    h.writeConfig((c) => { c.dataVolume.deviceWaitSeconds = 4; });
    const r = h.runBootstrap();
    expectFailure(h, r, 'ERROR: instance metadata: tag casper:data-volume did not appear within 4 s '
      + '(it is set by the data-volume lifecycle handler; are instance metadata tags enabled?)');
    expect(matching(r.calls, /meta-data\/tags\/instance\/casper:data-volume$/)).toHaveLength(4);
    expect(matching(r.calls, /^(apt-get|dpkg|blkid|aws)/)).toEqual([]);
  });

  test('a tag that is not a volume id is rejected', () => {
    const h = machine();
    h.imds('tags/instance/casper:data-volume', 'pending');
    const r = h.runBootstrap();
    expectFailure(h, r, "ERROR: instance metadata: tag casper:data-volume holds 'pending', not a volume id");
  });
});

describe('packages', () => {
  test('an apt-get install failure stops the bootstrap before the volume and the key', () => {
    const h = machine();
    h.rule('apt-get', '^install', { exit: 100, stderr: 'E: Unable to locate package casper-sidecar\n' });
    const r = h.runBootstrap();
    expectFailure(h, r, 'ERROR: packages: apt-get install casper-node-launcher casper-client casper-sidecar failed');
    expect(matching(r.calls, /^apt-get install/)).toHaveLength(3);
    expect(matching(r.calls, /^(blkid|mkfs|mount|aws|runuser|systemctl)/)).toEqual([]);
    expect(h.read('etc/fstab')).toBe(BASE_FSTAB);
    expect(h.exists('etc/casper/validator_keys')).toBe(false);
  });

  test('a network failure fetching the repository key stops the bootstrap before apt, the volume and the key', () => {
    const h = machine();
    h.http(REPO_KEY_URL, { exit: 6 });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: packages: cannot download the Casper repository key from ${REPO_KEY_URL}`);
    expect(matching(r.calls, new RegExp(re(REPO_KEY_URL)))).toHaveLength(3);
    expect(matching(r.calls, /^(apt-get|dpkg -i|blkid|mkfs|mount|aws|runuser)/)).toEqual([]);
    expect(h.exists('etc/apt/sources.list.d/casper.list')).toBe(false);
    expect(h.read('etc/fstab')).toBe(BASE_FSTAB);
    expect(h.exists('etc/casper/validator_keys')).toBe(false);
  });

  test('a transient apt-get update failure is retried', () => {
    const h = machine();
    h.rule('apt-get', '^update', { exit: 100, times: 1 });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^apt-get update/)).toHaveLength(2);
    expect(logLines(h)).toContain("packages: 'apt-get' failed (attempt 1 of 3), retrying");
  });

  test('a libssl1.1 download failure names the step', () => {
    const h = machine();
    h.http(LIBSSL_URL, { exit: 22 });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: packages: cannot download libssl1.1 from ${LIBSSL_URL}`);
    expect(matching(r.calls, /^apt-get install/)).toEqual([]);
  });

  test('libssl1.1 is not downloaded when it is installed', () => {
    const h = machine();
    h.preinstall('libssl1.1');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /libssl1\.1\.deb/)).toEqual([]);
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
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^apt-get install/)).toEqual(['apt-get install -y -o DPkg::Lock::Timeout=300 casper-node-launcher casper-client']);
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
    h.setState('secret', JSON.stringify(STORED_KEY));
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /keygen|put-secret-value/)).toEqual([]);
    expect(h.read('etc/casper/validator_keys/secret_key.pem')).toBe(STORED_KEY.secret_key_pem);
    expect(h.read('etc/casper/validator_keys/public_key.pem')).toBe(STORED_KEY.public_key_pem);
    expect(h.read('etc/casper/validator_keys/public_key_hex')).toBe(STORED_KEY.public_key_hex);
    for (const f of KEY_FILES) expect({ f, mode: h.mode(`etc/casper/validator_keys/${f}`) }).toEqual({ f, mode: '600' });
    expect(h.mode('etc/casper/validator_keys')).toBe('700');
    expect(h.readState('secret')).toBe(JSON.stringify(STORED_KEY));
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
    h.setState('secret', 'placeholder-generated-by-cloudformation');
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /^casper-client keygen/)).toHaveLength(1);
    expect(JSON.parse(h.readState('secret')!).secret_key_pem).toBe(h.read('etc/casper/validator_keys/secret_key.pem'));
  });

  test('a secret with a private key but no public key is an error, not a new key', () => {
    const h = machine();
    h.setState('secret', JSON.stringify({ secret_key_pem: STORED_KEY.secret_key_pem }));
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: signing key: cannot restore the key from ${SECRET_ARN}`);
    expect(matching(r.calls, /keygen|put-secret-value/)).toEqual([]);
    expectNoKeyLeftBehind(h);
  });
});

describe('protocols and trusted hash', () => {
  test('with no trusted hash, config.toml stays as staged', () => {
    const h = machine();
    h.writeConfig((c) => { c.trustedHash = ''; });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    for (const f of STAGED) expect({ f, text: h.read(f) }).toEqual({ f, text: STAGED_CONFIG });
    expect(logLines(h)).toContain('trusted hash: none configured, config.toml left as staged');
  });

  test('already-staged protocols are not staged again, and still get the trusted hash', () => {
    const h = machine();
    h.preinstall('casper-node-launcher', 'casper-client', 'casper-sidecar');
    h.writeRootFile('etc/casper/1_5_8/config.toml', "[node]\ntrusted_hash = 'old'\n", 0o640);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /stage_protocols/)).toEqual([]);
    expect(h.read('etc/casper/1_5_8/config.toml')).toBe(`[node]\ntrusted_hash = '${TRUSTED_HASH}'\n`);
    expect(h.mode('etc/casper/1_5_8/config.toml')).toBe('640');
  });

  test('a failing stage_protocols is retried, then fails the bootstrap', () => {
    const h = machine();
    h.rule('node_util.py', '^stage_protocols', { exit: 1 });
    const r = h.runBootstrap();
    expectFailure(h, r, 'ERROR: stage protocols: node_util.py stage_protocols casper-test.conf failed');
    expect(matching(r.calls, /^node_util\.py stage_protocols/)).toHaveLength(3);
    expect(matching(r.calls, /^systemctl enable/)).toEqual([]);
  });
});

describe('readiness and the CloudFormation signal', () => {
  test('a node that never answers /status fails after readyWaitSeconds without signalling', () => {
    const h = machine();
    h.removeHttp(STATUS_URL);
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: readiness: the node did not answer ${STATUS_URL} within 4 s; not signalling CloudFormation`);
    expect(matching(r.calls, new RegExp(`^curl .*${re(STATUS_URL)}$`))).toHaveLength(4);
    expect(matching(r.calls, /signal-resource/)).toEqual([]);
    expect(h.exists('var/lib/casper-bootstrap/done')).toBe(false);
  });

  test('a node that answers after a while is signalled once', () => {
    const h = machine();
    h.http(STATUS_URL, { body: fs.readFileSync(STATUS_FIXTURE, 'utf8'), failFirst: 2 });
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, new RegExp(`^curl .*${re(STATUS_URL)}$`))).toHaveLength(3);
    expect(matching(r.calls, /signal-resource/)).toHaveLength(1);
    expect(logLines(h)).toContain('readiness: node answers (chainspec casper-test, reactor state KeepUp, height 5102733)');
  });

  test('an answer that is not the status JSON does not count as ready', () => {
    const h = machine();
    h.http(STATUS_URL, { body: '<html>starting</html>' });
    const r = h.runBootstrap();
    expect(r.status).not.toBe(0);
    expect(matching(r.calls, /signal-resource/)).toEqual([]);
  });

  test('without CloudFormation tags nothing is signalled and the bootstrap succeeds', () => {
    const h = machine();
    h.removeHttp(`${IMDS}/meta-data/tags/instance/aws:cloudformation:stack-name`);
    h.removeHttp(`${IMDS}/meta-data/tags/instance/aws:cloudformation:logical-id`);
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    expect(matching(r.calls, /signal-resource/)).toEqual([]);
    expect(logLines(h)).toContain('readiness: no aws:cloudformation tags on this instance, nothing to signal');
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
    expect(logLines(h)).toContain(`readiness: signal-resource for ${LOGICAL_ID} in stack ${STACK_NAME} failed; continuing`);
    expect(h.exists('var/lib/casper-bootstrap/done')).toBe(true);
  });

  test('a node on another chain is an error, not a success', () => {
    const h = machine();
    h.preinstall('casper-node-launcher', 'casper-client', 'casper-sidecar');
    h.writeConfig((c) => { c.network.chainspecName = 'casper'; c.network.networkConfigFileName = 'casper.conf'; });
    const r = h.runBootstrap();
    expectFailure(h, r, "ERROR: readiness: the node runs chainspec 'casper-test', expected 'casper'");
    expect(matching(r.calls, /signal-resource/)).toEqual([]);
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
      /^dpkg -i \S+\/amazon-cloudwatch-agent\.deb$/,
      new RegExp(`^amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c ssm:${re(PARAM)}$`),
      /^systemctl enable --now casper-node-launcher\.service$/,
    ]);
    expect(h.read('var/lib/casper-bootstrap/cwagent.config')).toBe(`${PARAM}\n`);

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
    const h = machine();
    h.preinstall('amazon-cloudwatch-agent');
    h.writeConfig((c) => {
      c.cloudWatchAgent.configParameterName = PARAM;
      c.metrics = { namespace: NAMESPACE, logGroupName: LOG_GROUP };
      edit?.(c);
    });
    return h;
  }

  test('with the agent and a namespace, installs the collector, its units and settings, and starts the timer', () => {
    const h = metricsMachine();
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    for (const [f, { asset, mode }] of Object.entries(INSTALLED)) {
      expect({ f, text: h.read(f), mode: h.mode(f) })
        .toEqual({ f, text: fs.readFileSync(path.join(NODE_ASSETS, asset), 'utf8'), mode });
    }
    expect(h.read(ENV_FILE)).toBe([
      'CASPER_METRICS_STATUS_URL="http://127.0.0.1:8888/status"',
      `CASPER_METRICS_NAMESPACE="${NAMESPACE}"`,
      'CASPER_METRICS_NODE_NAME="testnet-reader"',
      `CASPER_METRICS_LOG_GROUP="${LOG_GROUP}"`,
      '',
    ].join('\n'));
    expect(h.mode(ENV_FILE)).toBe('644');
    // After the agent is configured, and before the node starts (it then reports NodeUp 0).
    expectCallsInOrder(r.calls, [
      new RegExp(`^amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c ssm:${re(PARAM)}$`),
      /^systemctl daemon-reload$/,
      /^systemctl is-active --quiet casper-metrics\.timer$/,
      /^systemctl enable --now casper-metrics\.timer$/,
      /^systemctl enable --now casper-node-launcher\.service$/,
    ]);
    expect(matching(r.calls, /casper-metrics/)).toEqual([
      'systemctl is-active --quiet casper-metrics.timer', 'systemctl enable --now casper-metrics.timer',
    ]);
    expect(logLines(h)).toContain('metrics: starting casper-metrics.timer');
    expect(fs.readdirSync(h.tmpDir)).toEqual([]);
    expect(h.list('etc').filter((f) => f.startsWith('.'))).toEqual([]);
  });

  test('a second run rewrites nothing and starts nothing', () => {
    const h = metricsMachine();
    expect(h.runBootstrap().status).toBe(0);
    const before = Object.fromEntries(FILES.map((f) => [f, { ino: h.inode(f), text: h.read(f) }]));
    const r = h.runBootstrap();
    expect(r.status).toBe(0);
    for (const f of FILES) expect({ f, ino: h.inode(f), text: h.read(f) }).toEqual({ f, ...before[f] });
    expect(matching(r.calls, /^systemctl (daemon-reload|enable)/)).toEqual([]);
    expect(matching(r.calls, /casper-metrics/)).toEqual(['systemctl is-active --quiet casper-metrics.timer']);
    expect(logLines(h)).toContain('metrics: casper-metrics.timer already running');
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
    for (const f of FILES) expect({ f, exists: h.exists(f) }).toEqual({ f, exists: false });
  });

  test.each(['casper-metrics.py', 'casper-metrics.service', 'casper-metrics.timer'])(
    'a missing %s fails the config check before anything happens', (missing) => {
      const h = metricsMachine();
      const assets = path.join(h.base, 'node-assets');
      fs.cpSync(NODE_ASSETS, assets, { recursive: true });
      fs.rmSync(path.join(assets, missing));
      const r = h.run(path.join(assets, 'bootstrap.sh'), [h.configPath]);
      expectFailure(h, r, `ERROR: config: ${path.join(assets, missing)} is missing (upload the whole node/ asset folder)`);
      expect(r.calls).toEqual([]);
    });

  test('a namespace without a log group is rejected before anything happens', () => {
    const h = metricsMachine((c) => { c.metrics.logGroupName = ''; });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: config: invalid config ${h.configPath} (see the message above)`);
    expect(r.stdout).toContain(`${h.configPath}: metrics.namespace is set but metrics.logGroupName is empty`);
    expect(r.calls).toEqual([]);
  });

  test('a namespace that could break the settings file is rejected', () => {
    const h = metricsMachine((c) => { c.metrics.namespace = 'Casper"\nX=$(reboot)'; });
    const r = h.runBootstrap();
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain(`${h.configPath}: metrics.namespace has an invalid value`);
    expect(r.calls).toEqual([]);
  });
});

describe('config', () => {
  test('an invalid trusted hash is rejected before anything happens', () => {
    const h = machine();
    h.writeConfig((c) => { c.trustedHash = 'not-a-hash'; });
    const r = h.runBootstrap();
    expectFailure(h, r, `ERROR: config: invalid config ${h.configPath} (see the message above)`);
    expect(r.stdout).toContain(`${h.configPath}: trustedHash has an invalid value 'not-a-hash'`);
    expect(r.calls).toEqual([]);
  });

  test('an unknown schema version is rejected', () => {
    const h = machine();
    h.writeConfig((c) => { c.schemaVersion = 2; });
    const r = h.runBootstrap();
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain('unsupported schemaVersion 2 (this bootstrap reads 1)');
    expect(r.calls).toEqual([]);
  });

  test('a missing config file is reported', () => {
    const h = machine();
    const r = h.run(path.join(NODE_ASSETS, 'bootstrap.sh'), [path.join(h.base, 'nope.json')]);
    expectFailure(h, r, `ERROR: config: config file ${path.join(h.base, 'nope.json')} not found`);
  });
});
