import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { VpnConfigEnv, renderVpnConfigEnv } from '../../../src/private/contract';
import { EASYRSA_DIR, TOOL_PACKAGES, findTool } from '../../support/debian-packages';
import {
  FileState, REPO_ROOT, RunHow, RunResult, SHELL_LIB, SandboxOptions, SandboxSpec, ShellSandbox, toolPath,
} from '../../support/shell-sandbox';

export { EASYRSA_DIR, TOOL_PACKAGES, findTool };
export { SHELL_LIB, expectCallsInOrder, re } from '../../support/shell-sandbox';
export type { FileState, RunResult } from '../../support/shell-sandbox';

/**
 * Harness for behaviour tests of src/assets/vpn/setup.sh: a ShellSandbox
 * (test/support/shell-sandbox.ts) with the VPN's machine, config and helpers.
 * The stubs keep the secrets, packages, units, sysctls and iptables rules in
 * `state/`; the PKI tools are REAL: easyrsa (through /usr/share/easy-rsa),
 * openssl and openvpn.
 */

export const SETUP_SCRIPT = path.join(REPO_ROOT, 'src', 'assets', 'vpn', 'setup.sh');

/** Every system command the script changes the machine with, all stubbed. */
export const STUBBED_COMMANDS = ['aws', 'apt-get', 'dpkg-query', 'systemctl', 'sysctl', 'iptables', 'sleep'];

/** Real tools: the script's helpers, python3, and the PKI tools (used for real). */
const REAL_TOOLS = [
  'bash', 'env', 'python3', 'cat', 'cp', 'mv', 'rm', 'mkdir', 'rmdir', 'mktemp', 'chmod', 'cmp', 'dirname',
  'basename', 'tee', 'date', 'awk', 'grep', 'sed', 'tr', 'touch', 'ln', 'readlink', 'head', 'tail', 'cut', 'sort',
  'wc', 'install', 'stat', 'ls', 'find', 'openssl', 'openvpn',
];

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const PKI_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:casper-vpn-pki-AbCdEf`;
export const CLIENT_NAMES = ['admin1', 'admin2', 'admin3', 'admin4', 'admin5'];
export function clientSecretArn(name: string): string {
  return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:casper-vpn-profile-${name}-Xy12Zw`;
}
/** What the construct puts into the PKI secret at creation. */
export const PLACEHOLDER = '{"placeholder": "Nq3vX0pL7sRkZ2tYb8WmC4dE"}';
const SETUP_LOG = 'var/log/casper-vpn-setup.log';

/** A config.env (the contract's type, which the construct writes too) for `clients`. */
export function defaultConfig(clients: string[] = CLIENT_NAMES): VpnConfigEnv {
  return {
    REGION,
    VPN_PORT: 1194,
    VPN_NETWORK: '10.8.0.0/24',
    VPC_CIDR: '10.99.0.0/16',
    PUBLIC_ADDRESS: '203.0.113.10',
    PKI_SECRET_ARN,
    CLIENT_NAMES: clients,
    CLIENT_SECRET_ARNS: clients.map(clientSecretArn),
  };
}

/** The VPN's sandbox: easyrsa (not on PATH) must be installed too. */
function vpnSandbox(): SandboxSpec {
  toolPath('easyrsa');
  return {
    prefix: 'casper-vpn-',
    stubbed: STUBBED_COMMANDS,
    tools: REAL_TOOLS,
    // The PKI is stored before it is installed.
    putWitness: 'etc/openvpn/server/pki/ca.crt',
    timeoutMs: 60_000,
  };
}

export class VpnHarness extends ShellSandbox {
  /**
   * A machine as EC2 launches it, with the secrets as the construct creates them
   * (`clients`, default CLIENT_NAMES: the client secrets and the config's clients).
   */
  static freshMachine(options: SandboxOptions & { config?: VpnConfigEnv; clients?: string[] } = {}): VpnHarness {
    const h = new VpnHarness(options);
    const clients = options.clients ?? CLIENT_NAMES;
    h.setSecret(PKI_SECRET_ARN, PLACEHOLDER);
    for (const name of clients) h.setSecret(clientSecretArn(name), `{"placeholder": "${name}"}`);
    h.writeConfig(options.config ?? defaultConfig(clients));
    return h;
  }

  private readonly options: SandboxOptions;

  constructor(options: SandboxOptions = {}) {
    super(vpnSandbox(), options);
    this.options = options;
  }

  /** A copy of this machine: its fake root, stub state (secrets, units, rules...) and config, no calls yet. */
  clone(): VpnHarness {
    const h = this.copyMachineTo(new VpnHarness(this.options));
    fs.copyFileSync(this.configPath, h.configPath);
    return h;
  }

  /** setup.sh as the user data leaves it, with lib.sh beside it: what runSetup runs. */
  get scriptDir(): string {
    return this.stage('etc-casper-vpn', [SETUP_SCRIPT, SHELL_LIB]);
  }

  get configPath(): string {
    return path.join(this.base, 'config.env');
  }

  /** Writes config.env as the construct's user data does (the contract's renderer). */
  writeConfig(c: VpnConfigEnv): void {
    fs.writeFileSync(this.configPath, renderVpnConfigEnv(c).join('\n') + '\n');
  }

  writeRawConfig(text: string): void {
    fs.writeFileSync(this.configPath, text);
  }

  /** Rules of the iptables stub's table, one `CHAIN args` line each. */
  iptables(table = 'nat'): string[] {
    return this.stateLines(`iptables/${table}`);
  }

  setupLog(): string {
    return this.exists(SETUP_LOG) ? this.read(SETUP_LOG) : '';
  }

  /** Every file below CASPER_ROOT but the setup log, with its inode, mtime, mode and hash. */
  snapshot(): Map<string, FileState> {
    return super.snapshot([SETUP_LOG]);
  }

  /**
   * Runs setup.sh with the harness's config.env. `script` and `cwd` run it as
   * `cd <cwd> && bash <script> <config.env>` (default: `scriptDir`'s setup.sh,
   * from the current directory); `noHome` leaves HOME unset, as cloud-init may.
   */
  runSetup(env: Record<string, string> = {}, how: RunHow & { script?: string } = {}): RunResult {
    return this.run(how.script ?? path.join(this.scriptDir, 'setup.sh'), [this.configPath], env, how);
  }
}

/** The PKI secret's JSON value (format 2): no client material. */
export interface StoredPki {
  format: number;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  tlsCrypt: string;
}

/** The PEM block(s) of a text (easy-rsa puts a text dump before a certificate's PEM). */
export function pemOnly(text: string): string {
  const m = text.match(/-----BEGIN [^-]+-----[\s\S]*?-----END [^-]+-----\n?/g);
  return (m ?? []).join('');
}

/** Runs openssl with PEM inputs written to a temp dir; returns its stdout or throws. */
export function openssl(args: (string | { pem: string })[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'casper-vpn-ossl-'));
  try {
    const argv = args.map((a, i) => {
      if (typeof a === 'string') return a;
      const f = path.join(dir, `in${i}.pem`);
      fs.writeFileSync(f, a.pem);
      return f;
    });
    // SSL_CERT_FILE: openssl x509 (3.0) would parse the system's CA bundle first, 20 ms a call.
    const r = spawnSync(toolPath('openssl'), argv, { encoding: 'utf8', env: { ...process.env, SSL_CERT_FILE: '/dev/null' } });
    if (r.status !== 0) throw new Error(`openssl ${args.filter((a) => typeof a === 'string').join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Extracts the body of an inline block (`<ca>...</ca>`) of an .ovpn profile. */
export function inlineBlock(profile: string, tag: string): string {
  const m = profile.match(new RegExp(`<${tag}>\\n([\\s\\S]*?)</${tag}>`));
  if (!m) throw new Error(`profile has no <${tag}> block`);
  return m[1];
}
