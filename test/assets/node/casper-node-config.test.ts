import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CASPER_FIXTURES as FIXTURES, PYTHON } from '../../support/node-python';
import { NODE_ASSETS } from '../../support/shell-harness';

/**
 * src/assets/node/casper-node-config.py against config files with the
 * structure upstream ships (test/fixtures/casper/config-*.toml, sidecar-config.toml).
 */

const SCRIPT = path.join(NODE_ASSETS, 'casper-node-config.py');
const HASH = '9f'.repeat(32);

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'casper-config-')); });
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function copy(fixture: string, mode = 0o640): string {
  const p = path.join(dir, fixture);
  fs.copyFileSync(path.join(FIXTURES, fixture), p);
  fs.chmodSync(p, mode);
  return p;
}

function run(...args: string[]) {
  return spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8' });
}

/** The lines that differ, as [before, after] pairs. */
function changedLines(before: string, after: string): Array<[string, string]> {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b).toHaveLength(a.length);
  return a.map((l, i) => [l, b[i]] as [string, string]).filter(([x, y]) => x !== y);
}

describe.each(['config-2.x.toml', 'config-1.5.toml'])('%s', (fixture) => {
  test('trusted-hash replaces the commented default under [node], lowercase, and nothing else', () => {
    const p = copy(fixture);
    const before = fs.readFileSync(p, 'utf8');
    const r = run('trusted-hash', HASH.toUpperCase(), p);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`casper-node-config: ${p}: updated\n`);
    expect(changedLines(before, fs.readFileSync(p, 'utf8'))).toEqual([["#trusted_hash = 'HEX-FORMATTED BLOCK HASH'", `trusted_hash = '${HASH}'`]]);
    expect((fs.statSync(p).mode % 0o1000).toString(8)).toBe('640');
  });

  test('trusted-hash a second time changes nothing (same inode)', () => {
    const p = copy(fixture);
    expect(run('trusted-hash', HASH, p).status).toBe(0);
    const ino = fs.statSync(p).ino;
    const r = run('trusted-hash', HASH, p);
    expect(r.stdout).toBe(`casper-node-config: ${p}: already set\n`);
    expect(fs.statSync(p).ino).toBe(ino);
  });

  test('a new hash replaces an active one, leaving one key', () => {
    const p = copy(fixture);
    run('trusted-hash', HASH, p);
    run('trusted-hash', 'ab'.repeat(32), p);
    const text = fs.readFileSync(p, 'utf8');
    expect(text.match(/^trusted_hash = /gm)).toHaveLength(1);
    expect(text).toContain(`trusted_hash = '${'ab'.repeat(32)}'`);
  });

  test('node-ports with the defaults changes nothing', () => {
    const p = copy(fixture);
    const ino = fs.statSync(p).ino;
    const rpc = fixture === 'config-1.5.toml' ? ['--rpc', '7777'] : [];
    const r = run('node-ports', '--gossip', '35000', '--rest', '8888', '--sse', '9999', ...rpc, p);
    expect(r.status).toBe(0);
    expect(fs.statSync(p).ino).toBe(ino);
  });

  test('node-ports changes exactly the port of each address, keeping the host', () => {
    const p = copy(fixture);
    const before = fs.readFileSync(p, 'utf8');
    const rpc = fixture === 'config-1.5.toml' ? ['--rpc', '17777'] : [];
    expect(run('node-ports', '--gossip', '35001', '--rest', '18888', '--sse', '19999', ...rpc, p).status).toBe(0);
    const expected: Array<[string, string]> = [
      ["bind_address = '0.0.0.0:35000'", "bind_address = '0.0.0.0:35001'"],
      ...(fixture === 'config-1.5.toml' ? [["address = '0.0.0.0:7777'", "address = '0.0.0.0:17777'"] as [string, string]] : []),
      ["address = '0.0.0.0:8888'", "address = '0.0.0.0:18888'"],
      ["address = '0.0.0.0:9999'", "address = '0.0.0.0:19999'"],
    ];
    expect(changedLines(before, fs.readFileSync(p, 'utf8'))).toEqual(expected);
  });
});

test('sidecar-port changes [rpc_server.main_server] port only (upstream writes "port= 7777")', () => {
  const p = copy('sidecar-config.toml', 0o644);
  const before = fs.readFileSync(p, 'utf8');
  expect(run('sidecar-port', '--rpc', '17777', p).status).toBe(0);
  expect(changedLines(before, fs.readFileSync(p, 'utf8'))).toEqual([['port= 7777', 'port = 17777']]);
  expect(run('sidecar-port', '--rpc', '7777', copy('sidecar-config.toml')).stdout).toContain('already set');
});

test('--rpc on a 2.x config (no [rpc_server]) is an error naming the section, and the file is untouched', () => {
  const p = copy('config-2.x.toml');
  const before = fs.readFileSync(p, 'utf8');
  const r = run('node-ports', '--gossip', '1', '--rest', '2', '--sse', '3', '--rpc', '4', p);
  expect(r.status).toBe(1);
  expect(r.stderr).toBe(`casper-node-config: ${p}: no [rpc_server] section\n`);
  expect(fs.readFileSync(p, 'utf8')).toBe(before);
});

test('a config without [node] cannot take a trusted hash', () => {
  const p = path.join(dir, 'config.toml');
  fs.writeFileSync(p, "[network]\nbind_address = '0.0.0.0:35000'\n");
  const r = run('trusted-hash', HASH, p);
  expect(r.status).toBe(1);
  expect(r.stderr).toBe(`casper-node-config: ${p}: no [node] section\n`);
});

test('a [node] section without the commented default gets the key right after its header', () => {
  const p = path.join(dir, 'config.toml');
  fs.writeFileSync(p, "[node]\nsync_handling = 'ttl'\n");
  expect(run('trusted-hash', HASH, p).status).toBe(0);
  expect(fs.readFileSync(p, 'utf8')).toBe(`[node]\ntrusted_hash = '${HASH}'\nsync_handling = 'ttl'\n`);
});

test.each([
  [['trusted-hash', 'xyz', 'f'], 'not a 64-hex-digit block hash'],
  [['node-ports', '--gossip', '0', '--rest', '1', '--sse', '2', 'f'], 'not a port (1-65535): 0'],
  [['sidecar-port', '--rpc', '65536', 'f'], 'not a port (1-65535): 65536'],
])('bad arguments exit 2: %j', (args, message) => {
  const r = run(...args);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(message);
});
