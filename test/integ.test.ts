/**
 * The integration tests' committed snapshots (integ/*.snapshot/) are verified offline:
 * integ-runner synthesizes each integ/integ.*.ts app and compares its test stack
 * templates with the snapshot (asset hashes normalized). Nothing is deployed and no AWS
 * credentials are used. How to update the snapshots and run the tests for real:
 * integ/README.md.
 */
import { spawn, SpawnSyncReturns, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CreateSnapshotCommand, CreateVolumeCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client, ResourceType,
} from '@aws-sdk/client-ec2';
import { MotoServer, motoEnv, startMoto } from './support/moto';

const ROOT = path.join(__dirname, '..');
const INTEG_RUNNER = path.join(ROOT, 'node_modules', '@aws-cdk', 'integ-runner', 'bin', 'integ-runner');
const TESTS = ['integ.fleet', 'integ.monitoring-alone', 'integ.node-defaults', 'integ.node-vpn'];
/** Four apps synthesized twice each, in parallel: under two minutes on a shared 2-core machine. */
const TIMEOUT_MS = 600_000;

/**
 * The environment of a verification: no AWS credentials or profile (and no shared
 * config or credentials file to find one in), no instance metadata lookups. The
 * TypeScript apps are transpiled without type checking, which `tsc` and eslint do in
 * the build (three times faster).
 */
function offlineEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|DEFAULT_PROFILE|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE)$/.test(name)
      || name.startsWith('AWS_CONTAINER_') || name === 'CASPER_STATUS_URL') {
      delete env[name];
    }
  }
  env.AWS_EC2_METADATA_DISABLED = 'true';
  env.AWS_CONFIG_FILE = path.join(home, 'no-aws-config');
  env.AWS_SHARED_CREDENTIALS_FILE = path.join(home, 'no-aws-credentials');
  env.TS_NODE_TRANSPILE_ONLY = 'true';
  return env;
}

/** `integ-runner --directory integ --language typescript` in `cwd`: verification only. */
function verify(cwd: string, home: string): SpawnSyncReturns<string> & { output: string; seconds: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [INTEG_RUNNER, '--directory', 'integ', '--language', 'typescript'], {
    cwd,
    env: offlineEnv(home),
    encoding: 'utf8',
    timeout: TIMEOUT_MS - 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (Date.now() - started) / 1000;
  return Object.assign(r, { output: `${r.stdout ?? ''}${r.stderr ?? ''}`, seconds });
}

/** What a fresh clone holds under integ/: the tracked and untracked files git does not ignore. */
function gitVisibleIntegFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z', '--', 'integ'],
    { cwd: ROOT, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`git ls-files failed (${r.error?.message ?? r.stderr}); this test needs a git work tree`);
  }
  return r.stdout.split('\0').filter((f) => f && fs.existsSync(path.join(ROOT, f)));
}

/** A project copy with integ/ as a fresh clone would have it, and src/, assets/ and the tsconfigs next to it. */
function freshCopy(dir: string): void {
  for (const file of gitVisibleIntegFiles()) {
    fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
  }
  for (const tree of ['src', 'assets']) fs.cpSync(path.join(ROOT, tree), path.join(dir, tree), { recursive: true });
  fs.mkdirSync(path.join(dir, 'test'));
  fs.copyFileSync(path.join(ROOT, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
  fs.copyFileSync(path.join(ROOT, 'test', 'tsconfig.json'), path.join(dir, 'test', 'tsconfig.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

function editJson(file: string, edit: (value: any) => void): void {
  const value = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(value);
  fs.writeFileSync(file, JSON.stringify(value, undefined, 1));
}

const status = (test: string, word: 'UNCHANGED' | 'CHANGED') => new RegExp(`^\\s*${word}\\s+${test.replace(/\./g, '\\.')}\\s`, 'm');

let home: string;
beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'integ-home-'));
});
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
});

describe('integ-runner snapshot verification', () => {
  test('every committed snapshot matches its integ test, with no AWS credentials', () => {
    const r = verify(ROOT, home);
    if (r.status !== 0) process.stderr.write(r.output);
    expect(r.error).toBeUndefined();
    for (const test of TESTS) expect(r.output).toMatch(status(test, 'UNCHANGED'));
    expect(r.output).toMatch(new RegExp(`Tests:\\s+${TESTS.length} passed, ${TESTS.length} total`));
    expect(r.status).toBe(0);
    process.stdout.write(`integ-runner verified ${TESTS.length} snapshots in ${r.seconds.toFixed(1)} s\n`);
  }, TIMEOUT_MS);

  describe('in a copy holding only what git would commit', () => {
    let dir: string;
    let r: ReturnType<typeof verify>;

    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'integ-verify-'));
      freshCopy(dir);
      // A template change: the committed snapshot of the VPN test now says SSH is on 2222.
      editJson(path.join(dir, 'integ', 'integ.node-vpn.ts.snapshot', 'IntegNodeVpn.template.json'), (template) => {
        const ssh = Object.values<any>(template.Resources)
          .filter((res) => res.Type === 'AWS::EC2::SecurityGroupIngress' && res.Properties.FromPort === 22);
        expect(ssh).toHaveLength(1);
        ssh[0].Properties.FromPort = 2222;
        ssh[0].Properties.ToPort = 2222;
      });
      // An asset change only: the bundled canary script (its hash is in all three templates).
      fs.appendFileSync(path.join(dir, 'assets', 'canary', 'nodejs', 'node_modules', 'casper-canary.js'), '\n// changed\n');
      r = verify(dir, home);
      process.stdout.write(`integ-runner verified the altered copy in ${r.seconds.toFixed(1)} s\n`);
    }, TIMEOUT_MS);

    afterAll(() => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('holds no snapshot asset folders (verification does not need them)', () => {
      const snapshots = fs.readdirSync(path.join(dir, 'integ')).filter((f) => f.endsWith('.snapshot'));
      expect(snapshots.sort()).toEqual(TESTS.map((t) => `${t}.ts.snapshot`));
      for (const snapshot of snapshots) {
        expect(fs.readdirSync(path.join(dir, 'integ', snapshot)).filter((f) => f.startsWith('asset.'))).toEqual([]);
      }
    });

    test('fails on the altered template and names the changed property', () => {
      expect(r.error).toBeUndefined();
      expect(r.output).toMatch(status('integ.node-vpn', 'CHANGED'));
      expect(r.output).toMatch(/FromPort/);
      expect(r.output).toMatch(new RegExp(`Tests:\\s+1 failed, ${TESTS.length} total`));
      expect(r.status).not.toBe(0);
    });

    test('passes the unaltered tests although the canary asset changed (asset hashes are normalized)', () => {
      for (const test of TESTS.filter((t) => t !== 'integ.node-vpn')) expect(r.output).toMatch(status(test, 'UNCHANGED'));
    });
  });
});

describe('integ/support/cleanup-node.ts (post-destroy hook of the node tests), against moto', () => {
  let moto: MotoServer;
  let ec2: EC2Client;

  beforeAll(async () => {
    moto = await startMoto();
    ec2 = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  }, 60_000);
  afterAll(async () => {
    ec2?.destroy();
    await moto?.stop();
  });

  /** A volume and a snapshot of it, both tagged `casper:node=<node>`. */
  async function nodeData(node: string): Promise<{ volumeId: string; snapshotId: string }> {
    const tags = (type: ResourceType) => [{ ResourceType: type, Tags: [{ Key: 'casper:node', Value: node }, { Key: 'casper:role', Value: 'data' }] }];
    const volume = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 500, VolumeType: 'gp3', TagSpecifications: tags('volume') }));
    const snapshot = await ec2.send(new CreateSnapshotCommand({ VolumeId: volume.VolumeId, TagSpecifications: tags('snapshot') }));
    return { volumeId: volume.VolumeId!, snapshotId: snapshot.SnapshotId! };
  }

  async function exists(ids: { volumeId: string; snapshotId: string }): Promise<[boolean, boolean]> {
    const volumes = (await ec2.send(new DescribeVolumesCommand({}))).Volumes ?? [];
    const snapshots = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [];
    return [volumes.some((v) => v.VolumeId === ids.volumeId), snapshots.some((x) => x.SnapshotId === ids.snapshotId)];
  }

  /** Runs the hook the way integ-runner does (in integ/), against moto. */
  function cleanup(node: string): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', 'ts-node/register', 'support/cleanup-node.ts', node], {
        cwd: path.join(ROOT, 'integ'),
        env: { ...process.env, ...motoEnv(moto.endpoint), TS_NODE_TRANSPILE_ONLY: 'true' },
      });
      let output = '';
      child.stdout.on('data', (d) => { output += String(d); });
      child.stderr.on('data', (d) => { output += String(d); });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
  }

  test('deletes the test node\'s volume and snapshot and nothing of another node', async () => {
    const test = await nodeData('integ-node-defaults');
    const other = await nodeData('integ-node-other');
    const r = await cleanup('integ-node-defaults');
    expect(r.output).toContain(`deleted volume ${test.volumeId}`);
    expect(r.output).toContain(`deleted snapshot ${test.snapshotId}`);
    expect(r.code).toBe(0);
    expect(await exists(test)).toEqual([false, false]);
    expect(await exists(other)).toEqual([true, true]);
  }, 120_000);

  test('refuses a node name that is not an integ-* test node', async () => {
    const real = await nodeData('casper-test-node');
    const r = await cleanup('casper-test-node');
    expect(r.output).toContain('refusing node name');
    expect(r.code).toBe(2);
    expect(await exists(real)).toEqual([true, true]);
  }, 120_000);
});
