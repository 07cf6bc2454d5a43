import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CasperNetwork } from '../../src/casper-network';
import { NodeConfigDocument, renderNodeConfig } from '../../src/private/node-config';

/**
 * Harness for behaviour tests of the node shell scripts.
 *
 * Each harness owns a temp dir holding:
 * - `root/`: the scripts' CASPER_ROOT (their whole view of the filesystem);
 * - `shims/`: one wrapper per stubbed command calling test/fixtures/shims/shim.sh,
 *   which logs each call to `state/calls.log` and behaves as `state/` says;
 * - `tools/`: symlinks to the few real tools the scripts may use (coreutils,
 *   awk, python3, ...). PATH is `shims:tools` only, so a command that is
 *   neither stubbed nor allowed fails loudly instead of reaching the network.
 */

/** Repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The node bootstrap assets under test (as in the source tree: without lib.sh). */
export const NODE_ASSETS = path.join(REPO_ROOT, 'src', 'assets', 'node');
/** The shell library the scripts source from their own folder. */
export const SHELL_LIB = path.join(REPO_ROOT, 'src', 'assets', 'lib', 'lib.sh');
/** The command test double. */
export const SHIM_DISPATCH = path.join(REPO_ROOT, 'test', 'fixtures', 'shims', 'shim.sh');
/** A realistic `/status` body (casper-node 2.0, chainspec casper-test). */
export const STATUS_FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'casper', 'status-2.0.json');

/** Every system command the scripts call, all stubbed. */
export const STUBBED_COMMANDS = [
  'curl', 'aws', 'apt-get', 'dpkg', 'dpkg-query', 'gpg', 'blkid', 'mkfs.ext4', 'mount', 'mountpoint',
  'resize2fs', 'blockdev', 'dumpe2fs', 'systemctl', 'casper-client', 'runuser', 'chown', 'udevadm',
  'amazon-cloudwatch-agent-ctl', 'sleep', 'apt-cache', 'ldd', 'systemd-run',
];

/** Real, local-only tools the scripts may use. */
const REAL_TOOLS = [
  'bash', 'env', 'python3', 'cat', 'cp', 'mv', 'rm', 'mkdir', 'rmdir', 'mktemp', 'chmod', 'cmp',
  'dirname', 'basename', 'tee', 'date', 'awk', 'grep', 'sed', 'tr', 'touch', 'ln', 'readlink', 'head',
  'tail', 'cut', 'sort', 'wc', 'install', 'stat', 'ls', 'timeout', 'flock', 'sha256sum',
];

export const IMDS = 'http://169.254.169.254/latest';
export const IMDS_TOKEN = 'AQAEAFakeImdsV2SessionToken==';
export const INSTANCE_ID = 'i-0123456789abcdef0';
export const VOLUME_ID = 'vol-0abc1234def567890';
/** The data volume's device, relative to CASPER_ROOT. */
export const DEVICE = 'dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc1234def567890';
/** Where the data volume is mounted (as the config says, without CASPER_ROOT). */
export const MOUNT_POINT = '/var/lib/casper/casper-node';
/** UUID the mkfs.ext4 stub gives a new filesystem. */
export const MKFS_UUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
export const STACK_NAME = 'CasperTestnetNode';
export const LOGICAL_ID = 'NodeGroupASG1E4F2B7C';
export const ASG_NAME = 'CasperTestnetNode-NodeGroupASG1E4F2B7C-1A2B3C4D5E6F';
export const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:casper-key-AbCdEf';
export const TRUSTED_HASH = '3f7a9c2e5b1d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a';
export const REPO_KEY_URL = 'https://repo.casper.network/casper-repo-pubkey.gpg';
export const LIBSSL_URL = 'http://security.ubuntu.com/ubuntu/pool/main/o/openssl/libssl1.1_1.1.1f-1ubuntu2.24_amd64.deb';
/** What the libssl1.1 URL serves in the tests (the stubs read a .deb's package name from its text), and its sha256. */
export const LIBSSL_DEB = 'Package: libssl1.1\nVersion: 1.1.1f-1ubuntu2.24\n';
export const LIBSSL_DEB_SHA256 = createHash('sha256').update(LIBSSL_DEB).digest('hex');
/** The node's Elastic IP, as config.json gives it. */
export const PUBLIC_IP = '203.0.113.10';
export const STATUS_URL = 'http://127.0.0.1:8888/status';
export const GIB = 1024 ** 3;
/** The fstab of a fresh Ubuntu cloud image. */
export const BASE_FSTAB = 'LABEL=cloudimg-rootfs\t/\t ext4\tdiscard,errors=remount-ro\t0 1\nLABEL=UEFI\t/boot/efi\tvfat\tumask=0077\t0 1\n';
/** What the armoured repository key looks like on the wire. */
export const ARMOURED_KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBFakeCasperRepoKey\n-----END PGP PUBLIC KEY BLOCK-----\n';

/** A mutable copy of a readonly document type, for tests that edit the config. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** The bootstrap config: the construct's own renderer's document, so a renamed key breaks compilation. */
export type NodeConfig = Mutable<NodeConfigDocument>;

/** The document renderNodeConfig gives the test node, with small bounds for tests. */
export function defaultConfig(): NodeConfig {
  const doc = renderNodeConfig({
    network: CasperNetwork.TESTNET,
    nodeName: 'testnet-reader',
    region: 'us-east-1',
    publicIp: PUBLIC_IP,
    trustedHash: TRUSTED_HASH,
    signingKeySecretArn: SECRET_ARN,
    readyWaitSeconds: 4,
    restartAfterSeconds: 900,
    unhealthyAfterSeconds: 1500,
  });
  const c = JSON.parse(JSON.stringify(doc)) as NodeConfig;
  c.dataVolume.tagWaitSeconds = 5;
  c.dataVolume.deviceWaitSeconds = 5;
  c.health.readyStableSeconds = 0;
  c.trustedHashFromPeers.attempts = 2;
  c.trustedHashFromPeers.intervalSeconds = 0;
  // The stubbed download serves LIBSSL_DEB, whose checksum differs from the real package's.
  c.libssl11Deb.sha256 = LIBSSL_DEB_SHA256;
  return c;
}

/** Result of one script run. */
export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Calls to stubbed commands during this run, one `name args...` line each. */
  readonly calls: string[];
}

/** Options of a stubbed HTTP answer. */
export interface HttpAnswer {
  /** Response body. */
  readonly body?: string;
  /** Make curl fail with this exit code (6: cannot resolve, 7: cannot connect, 22: HTTP error). */
  readonly exit?: number;
  /** Fail this many requests first (404 for IMDS, connection refused otherwise). */
  readonly failFirst?: number;
}

/** Options of a rule that overrides a stubbed command. */
export interface RuleOptions {
  readonly exit: number;
  readonly stdout?: string;
  readonly stderr?: string;
  /** Apply to the first N matching calls only. */
  readonly times?: number;
}

function findTool(name: string): string {
  // System tools first: the node runs Ubuntu's /usr/bin/python3, not a dev install.
  for (const dir of ['/usr/bin', '/bin', '/usr/local/bin']) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`the shell tests need '${name}' in /usr/bin or /bin`);
}

/** Puts a stub for `name` into the shim directory (a wrapper, so the dispatcher's file mode does not matter). */
export function writeShim(shimDir: string, name: string): void {
  fs.writeFileSync(path.join(shimDir, name), `#!/usr/bin/env bash\nSHIM_NAME=${name} exec bash '${SHIM_DISPATCH}' "$@"\n`, { mode: 0o755 });
}

/** A sandbox in which the node scripts run against stubbed commands. */
export class ShellHarness {
  /** A machine as EC2 launches it: IMDS with tags, network reachable, blank data volume attached. */
  static freshMachine(options: { omitShims?: string[] } = {}): ShellHarness {
    const h = new ShellHarness(options);
    h.http(`${IMDS}/api/token`, { body: IMDS_TOKEN });
    h.imds('instance-id', INSTANCE_ID);
    h.imds('placement/region', 'us-east-1');
    h.imds('tags/instance/casper:data-volume', VOLUME_ID);
    h.imds('tags/instance/aws:cloudformation:stack-name', STACK_NAME);
    h.imds('tags/instance/aws:cloudformation:logical-id', LOGICAL_ID);
    h.imds('tags/instance/aws:autoscaling:groupName', ASG_NAME);
    h.http(REPO_KEY_URL, { body: ARMOURED_KEY });
    h.http(LIBSSL_URL, { body: LIBSSL_DEB });
    h.http(STATUS_URL, { body: fs.readFileSync(STATUS_FIXTURE, 'utf8') });
    h.setState('blockdev-size', String(100 * GIB));
    h.setState('mkfs-uuid', MKFS_UUID);
    h.device(0);
    h.writeRootFile('etc/fstab', BASE_FSTAB);
    h.writeConfig();
    return h;
  }

  readonly base: string;
  readonly root: string;
  readonly state: string;
  readonly shimDir: string;
  readonly toolDir: string;
  /** TMPDIR of the scripts: must be empty again after every run. */
  readonly tmpDir: string;
  private rules = 0;
  private callsSeen = 0;

  constructor(options: { omitShims?: string[] } = {}) {
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), 'casper-shell-'));
    this.root = path.join(this.base, 'root');
    this.state = path.join(this.base, 'state');
    this.shimDir = path.join(this.base, 'shims');
    this.toolDir = path.join(this.base, 'tools');
    this.tmpDir = path.join(this.base, 'tmp');
    for (const d of [this.root, this.state, this.shimDir, this.toolDir, this.tmpDir, path.join(this.base, 'home')]) {
      fs.mkdirSync(d, { recursive: true });
    }
    fs.writeFileSync(path.join(this.state, 'calls.log'), '');
    for (const cmd of STUBBED_COMMANDS) {
      if (!(options.omitShims ?? []).includes(cmd)) writeShim(this.shimDir, cmd);
    }
    for (const tool of REAL_TOOLS) fs.symlinkSync(findTool(tool), path.join(this.toolDir, tool));
  }

  /** The node assets as the config bucket holds them (node/ with lib.sh beside it): what the scripts run from. */
  get assets(): string {
    const dir = path.join(this.base, 'node-assets');
    if (!fs.existsSync(dir)) {
      fs.cpSync(NODE_ASSETS, dir, { recursive: true });
      fs.copyFileSync(SHELL_LIB, path.join(dir, 'lib.sh'));
    }
    return dir;
  }

  /** Path of a file below CASPER_ROOT. */
  path(rel: string): string {
    return path.join(this.root, rel);
  }

  get configPath(): string {
    return path.join(this.base, 'config.json');
  }

  /** Writes config.json, optionally changed by `edit`. */
  writeConfig(edit?: (c: NodeConfig) => void): NodeConfig {
    const c = defaultConfig();
    edit?.(c);
    fs.writeFileSync(this.configPath, JSON.stringify(c, undefined, 2));
    return c;
  }

  /** Answers requests to a URL (curl stub). */
  http(url: string, answer: HttpAnswer): void {
    const d = path.join(this.state, 'http', url.replace(/[^A-Za-z0-9]/g, '_'));
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'body'), answer.body ?? '');
    if (answer.exit !== undefined) fs.writeFileSync(path.join(d, 'exit'), String(answer.exit));
    if (answer.failFirst !== undefined) fs.writeFileSync(path.join(d, 'after'), String(answer.failFirst));
  }

  /** Makes a URL unreachable (404 for IMDS paths, connection refused otherwise). */
  removeHttp(url: string): void {
    fs.rmSync(path.join(this.state, 'http', url.replace(/[^A-Za-z0-9]/g, '_')), { recursive: true, force: true });
  }

  /** An IMDS meta-data value (`tags/instance/<key>` for instance tags). */
  imds(metaDataPath: string, value: string, failFirst?: number): void {
    this.http(`${IMDS}/meta-data/${metaDataPath}`, { body: value, failFirst });
  }

  /** Overrides a stubbed command when its arguments match a bash ERE (first rule wins). */
  rule(cmd: string, argsRegex: string, options: RuleOptions): void {
    const d = path.join(this.state, 'rules', String(this.rules++).padStart(3, '0'));
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'cmd'), cmd);
    fs.writeFileSync(path.join(d, 'regex'), argsRegex);
    fs.writeFileSync(path.join(d, 'exit'), String(options.exit));
    if (options.stdout !== undefined) fs.writeFileSync(path.join(d, 'stdout'), options.stdout);
    if (options.stderr !== undefined) fs.writeFileSync(path.join(d, 'stderr'), options.stderr);
    if (options.times !== undefined) fs.writeFileSync(path.join(d, 'times'), String(options.times));
  }

  /** A file of the stubs' state (see shim.sh). */
  setState(rel: string, content: string): void {
    const p = path.join(this.state, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }

  readState(rel: string): string | undefined {
    const p = path.join(this.state, rel);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
  }

  /** The data volume's device: present now (0), after N `udevadm settle` calls, or never. */
  device(appearsAfterPolls: number | 'never'): void {
    const dev = this.path(DEVICE);
    fs.rmSync(dev, { force: true });
    this.setState('device/path', dev);
    this.setState('device/after', String(appearsAfterPolls));
    this.setState('device/count', '0');
    if (appearsAfterPolls === 0) this.writeRootFile(DEVICE, '');
  }

  /** An existing filesystem on the data volume (as blkid and dumpe2fs see it). */
  filesystem(type: string, uuid: string, sizeBytes: number): void {
    this.setState('blkid/TYPE', type);
    this.setState('blkid/UUID', uuid);
    this.setState('fs-blocks', String(Math.floor(sizeBytes / 4096)));
  }

  /** Marks packages installed, with their files, as if apt had installed them earlier. */
  preinstall(...packages: string[]): void {
    this.exec(SHIM_DISPATCH, ['install', '-y', ...packages], { SHIM_NAME: 'apt-get' });
    this.takeCalls();
  }

  writeRootFile(rel: string, content: string, mode?: number): void {
    const p = this.path(rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
    if (mode !== undefined) fs.chmodSync(p, mode);
  }

  read(rel: string): string {
    return fs.readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return fs.existsSync(this.path(rel));
  }

  /** Permission bits of a file below CASPER_ROOT, e.g. '600'. */
  mode(rel: string): string {
    return (fs.statSync(this.path(rel)).mode % 0o10000).toString(8);
  }

  /** Inode of a file below CASPER_ROOT (changes when a file is replaced). */
  inode(rel: string): number {
    return fs.statSync(this.path(rel)).ino;
  }

  /** Entries of a directory below CASPER_ROOT ([] when missing). */
  list(rel: string): string[] {
    const p = this.path(rel);
    return fs.existsSync(p) ? fs.readdirSync(p).sort() : [];
  }

  /** The bootstrap log. */
  bootstrapLog(): string {
    return this.exists('var/log/casper-bootstrap.log') ? this.read('var/log/casper-bootstrap.log') : '';
  }

  /** Runs the bootstrap (from `assets`) with the harness's config. */
  runBootstrap(env: Record<string, string> = {}): RunResult {
    return this.run(path.join(this.assets, 'bootstrap.sh'), [this.configPath], env);
  }

  /** Runs a bash script inside the sandbox. */
  run(script: string, args: string[] = [], env: Record<string, string> = {}): RunResult {
    const r = this.exec(this.toolPath('bash'), [script, ...args], env);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls: this.takeCalls() };
  }

  cleanup(): void {
    fs.rmSync(this.base, { recursive: true, force: true });
  }

  private toolPath(name: string): string {
    return path.join(this.toolDir, name);
  }

  private exec(file: string, args: string[], env: Record<string, string>) {
    const r = spawnSync(file, args, {
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        PATH: `${this.shimDir}:${this.toolDir}`,
        HOME: path.join(this.base, 'home'),
        LANG: 'C.UTF-8',
        TMPDIR: this.tmpDir,
        CASPER_ROOT: this.root,
        CASPER_POLL_SECONDS: '0',
        SHIM_STATE: this.state,
        SHIM_DISPATCH,
        SHIM_DIR: this.shimDir,
        ...env,
      },
    });
    if (r.error) throw r.error;
    return r;
  }

  /** Calls logged since the last take. */
  private takeCalls(): string[] {
    const all = fs.readFileSync(path.join(this.state, 'calls.log'), 'utf8').split('\n').filter((l) => l !== '');
    const fresh = all.slice(this.callsSeen);
    this.callsSeen = all.length;
    return fresh;
  }
}

/** Asserts that calls matching the patterns happened, in this order; returns the matched lines. */
export function expectCallsInOrder(calls: string[], patterns: RegExp[]): string[] {
  const matched: string[] = [];
  let from = 0;
  for (const p of patterns) {
    const i = calls.slice(from).findIndex((c) => p.test(c));
    if (i < 0) {
      throw new Error(`no call matching ${p} after position ${from}; calls were:\n${calls.map((c, n) => `${n}: ${c}`).join('\n')}`);
    }
    matched.push(calls[from + i]);
    from += i + 1;
  }
  return matched;
}

/** Escapes text for use in a RegExp. */
export function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The watchdog settings file the bootstrap writes. */
export function watchdogEnv(restPort: number, restartAfter: number, unhealthyAfter: number, region: string): string {
  return `REST_PORT=${restPort}\nRESTART_AFTER_SECONDS=${restartAfter}\nUNHEALTHY_AFTER_SECONDS=${unhealthyAfter}\nREGION=${region}\n`;
}
