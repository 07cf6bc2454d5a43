import * as fs from 'fs';
import * as path from 'path';
import { NODE_ASSETS, PUBLIC_IP, RunResult, ShellHarness } from '../../support/shell-harness';

/**
 * Behaviour of src/assets/node/stage-protocols.sh as casper-stage-protocols.service
 * runs it every six hours (the bootstrap's own run is covered in
 * bootstrap.test.ts): against the casper-node-util stub of the shell harness.
 */

const SETTINGS = 'etc/casper-stage-protocols.env';
const RESULT = 'var/lib/casper-stage-protocols/result.json';

const harnesses: ShellHarness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) h.cleanup();
});

/** A node after its bootstrap: launcher installed, 2_0_0 staged, the settings the bootstrap writes. */
function bootstrappedNode(settings: Record<string, string> = {}): ShellHarness {
  const h = ShellHarness.freshMachine();
  harnesses.push(h);
  h.preinstall('casper-node-launcher');
  h.setState('protocols', '2_0_0');
  const all = {
    NETWORK_CONFIG: 'casper-test.conf',
    PUBLIC_IP,
    GOSSIP_PORT: '35000',
    REST_PORT: '8888',
    SSE_PORT: '9999',
    RPC_PORT: '',
    TIMEOUT_SECONDS: '1800',
    ...settings,
  };
  h.writeRootFile(SETTINGS, Object.entries(all).map(([k, v]) => `${k}=${v}\n`).join(''));
  expect(stage(h).status).toBe(0);
  return h;
}

function stage(h: ShellHarness, ...args: string[]): RunResult {
  // As installed: lib.sh and protocols.sh beside it.
  return h.run(path.join(h.assets, 'stage-protocols.sh'), [...args, h.path(SETTINGS)]);
}

function result(h: ShellHarness): { failed: boolean; message: string; time: number } {
  return JSON.parse(h.read(RESULT));
}

/** A run that failed with this ERROR message, and recorded it for the metrics collector. */
function expectRecordedFailure(h: ShellHarness, r: RunResult, message: string): void {
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`ERROR: stage protocols: ${message}`);
  expect(result(h)).toMatchObject({ failed: true, message });
}

/** What it logs when it removes a version staged half-way. */
function halfStagedLine(version: string, config: 'yes' | 'no', binary: 'yes' | 'no'): string {
  return `stage protocols: version ${version} is staged half-way (config.toml: ${config}, binary: ${binary}); removing it so that it is staged again`;
}

test('stages a version the network published since, with the Elastic IP, and records success', () => {
  const h = bootstrappedNode();
  h.setState('protocols', '2_0_0 2_1_0');
  const r = stage(h);
  expect(r.status).toBe(0);
  expect(r.calls.filter((c) => c.includes('stage_protocols'))).toEqual([
    expect.stringMatching(/^runuser -u casper -- timeout --kill-after=30 1800 \S+\/casper-node-util stage_protocols casper-test\.conf --ip 203\.0\.113\.10$/),
    'casper-node-util stage_protocols casper-test.conf --ip 203.0.113.10',
  ]);
  expect(h.read('etc/casper/2_1_0/config.toml')).toContain(`public_address = '${PUBLIC_IP}:0'`);
  expect(result(h)).toEqual({ failed: false, message: 'staged: 2_0_0 2_1_0', time: expect.any(Number) });
});

test('the timer always asks the network (no --if-missing), even when everything is staged', () => {
  const h = bootstrappedNode();
  const r = stage(h);
  expect(r.status).toBe(0);
  expect(r.calls.filter((c) => c.startsWith('casper-node-util stage_protocols'))).toHaveLength(1);
});

test('--if-missing after a successful run asks nothing', () => {
  const h = bootstrappedNode();
  const r = stage(h, '--if-missing');
  expect(r.status).toBe(0);
  expect(r.calls.filter((c) => c.includes('stage_protocols'))).toEqual([]);
  expect(r.stderr).toContain('stage protocols: protocols already staged, skipped');
});

test('a failed download between config and binary: the half-staged version is removed, the failure recorded, and the next run stages it', () => {
  const h = bootstrappedNode();
  h.setState('protocols', '2_0_0 2_1_0');
  h.setState('stage-fail-before-binary', '2_1_0');
  const failed = stage(h);
  expectRecordedFailure(h, failed, 'casper-node-util stage_protocols casper-test.conf failed with exit code 1');
  expect(failed.stderr).toContain(halfStagedLine('2_1_0', 'yes', 'no'));
  expect(h.exists('etc/casper/2_1_0')).toBe(false);
  expect(h.exists('var/lib/casper/bin/2_1_0')).toBe(false);
  expect(h.exists('etc/casper/2_0_0/config.toml')).toBe(true);

  const again = stage(h);
  expect(again.status).toBe(0);
  expect(h.exists('var/lib/casper/bin/2_1_0/casper-node')).toBe(true);
  expect(result(h)).toMatchObject({ failed: false, message: 'staged: 2_0_0 2_1_0' });
});

test('a half-staged version left by an earlier crash is removed before staging (upstream refuses to touch it)', () => {
  const h = bootstrappedNode();
  h.writeRootFile('etc/casper/2_1_0/config.toml', 'partial');
  h.setState('protocols', '2_0_0 2_1_0');
  const r = stage(h);
  expect(r.status).toBe(0);
  expect(h.read('etc/casper/2_1_0/config.toml')).toContain('[network]');
});

test('a binary without its config (the other half-staged form) is removed too, before the launcher sees it', () => {
  const h = bootstrappedNode();
  h.writeRootFile('var/lib/casper/bin/2_1_0/casper-node', '');
  const r = stage(h);
  expect(r.status).toBe(0);
  expect(r.stderr).toContain(halfStagedLine('2_1_0', 'no', 'yes'));
  expect(h.exists('var/lib/casper/bin/2_1_0')).toBe(false);
});

test('a run cut off by its time bound is recorded as failed', () => {
  const h = bootstrappedNode({ TIMEOUT_SECONDS: '60' });
  h.rule('casper-node-util', '^stage_protocols', { exit: 124 });
  expectRecordedFailure(h, stage(h), 'casper-node-util stage_protocols did not finish within 60 s');
});

test('writes the node ports into newly staged versions too', () => {
  const h = bootstrappedNode({ GOSSIP_PORT: '35001', REST_PORT: '18888', SSE_PORT: '19999' });
  h.setState('protocols', '2_0_0 2_1_0');
  expect(stage(h).status).toBe(0);
  for (const v of ['2_0_0', '2_1_0']) {
    const text = h.read(`etc/casper/${v}/config.toml`);
    expect(text).toContain("bind_address = '0.0.0.0:35001'");
    expect(text).toContain("address = '0.0.0.0:18888'");
    expect(text).toContain("address = '0.0.0.0:19999'");
  }
});

test.each([
  ['PUBLIC_IP', 'PUBLIC_IP=', "PUBLIC_IP '' is not an IPv4 address"],
  ['NETWORK_CONFIG', 'NETWORK_CONFIG=../x', "NETWORK_CONFIG '../x' is not a .conf file name"],
  ['TIMEOUT_SECONDS', 'TIMEOUT_SECONDS=0', "TIMEOUT_SECONDS '0' is not a positive integer"],
  ['an unknown key', 'EXTRA=1', 'unknown setting EXTRA'],
])('bad settings (%s) stop it before the network is asked', (_name, line, message) => {
  const h = bootstrappedNode();
  const key = line.split('=')[0];
  const text = h.read(SETTINGS).split('\n').filter((l) => l !== '' && !l.startsWith(`${key}=`)).join('\n');
  h.writeRootFile(SETTINGS, `${text}\n${line}\n`);
  const r = stage(h);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`ERROR: stage protocols: ${h.path(SETTINGS)}: ${message}`);
  expect(r.calls.filter((c) => c.includes('stage_protocols'))).toEqual([]);
});

test('the unit runs this script with the bootstrap\'s settings, bounded above the script\'s own bound', () => {
  const unit = fs.readFileSync(path.join(NODE_ASSETS, 'casper-stage-protocols.service'), 'utf8');
  expect(unit).toMatch(/^ExecStart=\/usr\/local\/lib\/casper-node\/stage-protocols\.sh \/etc\/casper-stage-protocols\.env$/m);
  const minutes = Number(/^TimeoutStartSec=(\d+)min$/m.exec(unit)![1]);
  // The script's default bound (config) plus timeout's 30 s kill grace fit inside.
  expect(minutes * 60).toBeGreaterThan(1800 + 30);
});
