import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { IMDS, REPO_ROOT, RunResult, SHELL_LIB, SandboxOptions, ShellSandbox } from './shell-sandbox';
import { CasperNetwork } from '../../src/casper-network';
import { NodeConfigDocument, NodeConfigInput, renderNodeConfig } from '../../src/private/node-config';

export { IMDS, REPO_ROOT, SHELL_LIB, expectCallsInOrder, re } from './shell-sandbox';
export type { RunResult } from './shell-sandbox';

/**
 * Harness for behaviour tests of the node shell scripts: a ShellSandbox
 * (shell-sandbox.ts) with the node's machine, config and helpers.
 */

/** The node bootstrap assets under test (as in the source tree: without lib.sh). */
export const NODE_ASSETS = path.join(REPO_ROOT, 'src', 'assets', 'node');
/** A realistic `/status` body (casper-node 2.0, chainspec casper-test). */
export const STATUS_FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'casper', 'status-2.0.json');

/** Every system command the node scripts call, all stubbed. */
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

/** A fleet of three member slots: each slot's signing-key secret and node name. */
export const FLEET_SECRET_ARNS = [0, 1, 2].map((i) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:casper-fleet-key-${i}-AbCdEf`);
export const FLEET_NODE_NAMES = ['testnet-fleet-0', 'testnet-fleet-1', 'testnet-fleet-2'];
/** A fleet member's own public IPv4 (no Elastic IP), as instance metadata gives it. */
export const MEMBER_PUBLIC_IP = '198.51.100.21';
/** The health endpoint the fleet config enables, as the bootstrap asks it. */
export const HEALTH_URL = 'http://127.0.0.1:8889/healthz';

/** A mutable copy of a readonly document type, for tests that edit the config. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** The bootstrap config: the construct's own renderer's document, so a renamed key breaks compilation. */
export type NodeConfig = Mutable<NodeConfigDocument>;

/** What renderNodeConfig is given for a fleet member (with `defaultConfig`'s): three slots, no Elastic IP, the health endpoint, signalling when in sync. */
export const FLEET_INPUT: Partial<NodeConfigInput> = {
  nodeName: 'testnet-fleet',
  publicIp: '',
  fleet: { signingKeySecretArns: FLEET_SECRET_ARNS, nodeNames: FLEET_NODE_NAMES },
  healthEndpoint: { port: 8889, maxBlockAgeSeconds: 600, minPeers: 3 },
  signalWhenInSync: true,
};

/** The document renderNodeConfig gives the test node (or, with `input`, another), with small bounds for tests. */
export function defaultConfig(input: Partial<NodeConfigInput> = {}): NodeConfig {
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
    ...input,
  });
  const c = JSON.parse(JSON.stringify(doc)) as NodeConfig;
  c.dataVolume.tagWaitSeconds = 5;
  c.fleet.memberTagWaitSeconds = 3;
  c.dataVolume.deviceWaitSeconds = 5;
  c.health.readyStableSeconds = 0;
  c.trustedHashFromPeers.attempts = 2;
  c.trustedHashFromPeers.intervalSeconds = 0;
  // The stubbed download serves LIBSSL_DEB, whose checksum differs from the real package's.
  c.libssl11Deb.sha256 = LIBSSL_DEB_SHA256;
  return c;
}

/** A sandbox in which the node scripts run against stubbed commands. */
export class ShellHarness extends ShellSandbox {
  /** A machine as EC2 launches it: IMDS with tags, network reachable, blank data volume attached. */
  static freshMachine(options: SandboxOptions = {}): ShellHarness {
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

  /**
   * A member of a three-slot fleet (FLEET_INPUT) as the fleet launches it: the
   * lifecycle has tagged the instance with its slot, it has its own public
   * IPv4 and no Elastic IP, and its health endpoint is enabled.
   */
  static fleetMember(slot: string, options: SandboxOptions = {}): ShellHarness {
    const h = ShellHarness.freshMachine(options);
    h.configInput = FLEET_INPUT;
    h.imds('tags/instance/casper:member', slot);
    h.imds('public-ipv4', MEMBER_PUBLIC_IP);
    h.writeConfig();
    return h;
  }

  /** What `writeConfig` renders the config from, besides `defaultConfig`'s input. */
  configInput: Partial<NodeConfigInput> = {};

  constructor(options: SandboxOptions = {}) {
    super({
      prefix: 'casper-shell-',
      stubbed: STUBBED_COMMANDS,
      tools: REAL_TOOLS,
      // The signing key's secret is stored before the key is installed.
      putWitness: 'etc/casper/validator_keys/secret_key.pem',
      timeoutMs: 30_000,
    }, options);
  }

  /** The node assets as the config bucket holds them (node/ with lib.sh beside it): what the scripts run from. */
  get assets(): string {
    return this.stage('node-assets', [NODE_ASSETS, SHELL_LIB]);
  }

  get configPath(): string {
    return path.join(this.base, 'config.json');
  }

  /** Writes config.json (rendered from `configInput`), optionally changed by `edit`. */
  writeConfig(edit?: (c: NodeConfig) => void): NodeConfig {
    const c = defaultConfig(this.configInput);
    edit?.(c);
    fs.writeFileSync(this.configPath, JSON.stringify(c, undefined, 2));
    return c;
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
    this.run(path.join(this.shimDir, 'apt-get'), ['install', '-y', ...packages]);
  }

  /** The bootstrap log. */
  bootstrapLog(): string {
    return this.exists('var/log/casper-bootstrap.log') ? this.read('var/log/casper-bootstrap.log') : '';
  }

  /** Runs the bootstrap (from `assets`) with the harness's config. */
  runBootstrap(env: Record<string, string> = {}): RunResult {
    return this.run(path.join(this.assets, 'bootstrap.sh'), [this.configPath], env);
  }
}

/** The watchdog settings file the bootstrap writes. */
export function watchdogEnv(restPort: number, restartAfter: number, unhealthyAfter: number, region: string): string {
  return `REST_PORT=${restPort}\nRESTART_AFTER_SECONDS=${restartAfter}\nUNHEALTHY_AFTER_SECONDS=${unhealthyAfter}\nREGION=${region}\n`;
}
