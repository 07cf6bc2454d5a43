import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EASYRSA_DIR, TOOL_PACKAGES, findTool } from '../../support/debian-packages';

export { EASYRSA_DIR, TOOL_PACKAGES, findTool };

/**
 * Harness for behaviour tests of src/assets/vpn/setup.sh, in the style of
 * test/support/shell-harness.ts (of which it is a VPN-specific copy).
 *
 * Each harness owns a temp dir holding:
 * - `root/`: the script's CASPER_ROOT (its whole view of the filesystem);
 * - `shims/`: one wrapper per stubbed command calling test/fixtures/vpn/shim.sh,
 *   which logs each call to `state/calls.log` and keeps the secrets, packages,
 *   units, sysctls and iptables rules in `state/`;
 * - `tools/`: symlinks to the real local tools the script may use, including
 *   the REAL easyrsa (through /usr/share/easy-rsa), openssl and openvpn. PATH is
 *   `shims:tools` only, so a command that is neither stubbed nor allowed fails.
 */

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const SETUP_SCRIPT = path.join(REPO_ROOT, 'src', 'assets', 'vpn', 'setup.sh');
/** The shell library setup.sh sources from its own folder. */
export const SHELL_LIB = path.join(REPO_ROOT, 'src', 'assets', 'lib', 'lib.sh');
export const VPN_SHIM = path.join(REPO_ROOT, 'test', 'fixtures', 'vpn', 'shim.sh');

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

/** The config.env contract of setup.sh. */
export interface VpnConfig {
  REGION: string;
  VPN_PORT?: string;
  VPN_NETWORK: string;
  VPC_CIDR: string;
  PUBLIC_ADDRESS: string;
  PKI_SECRET_ARN: string;
  CLIENT_NAMES: string;
  CLIENT_SECRET_ARNS: string;
}

export function defaultConfig(clients: string[] = CLIENT_NAMES): VpnConfig {
  return {
    REGION,
    VPN_PORT: '1194',
    VPN_NETWORK: '10.8.0.0/24',
    VPC_CIDR: '10.99.0.0/16',
    PUBLIC_ADDRESS: '203.0.113.10',
    PKI_SECRET_ARN,
    CLIENT_NAMES: clients.join(' '),
    CLIENT_SECRET_ARNS: clients.map(clientSecretArn).join(' '),
  };
}

/** config.env as the construct's user data writes it. */
export function renderConfig(c: VpnConfig): string {
  return Object.entries(c)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}="${v}"`)
    .join('\n') + '\n';
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Calls to stubbed commands during this run, one `name args...` line each. */
  readonly calls: string[];
}

export interface RuleOptions {
  readonly exit: number;
  readonly stdout?: string;
  readonly stderr?: string;
  /** Apply to the first N matching calls only. */
  readonly times?: number;
}


/** Throws, naming the apt package, when a tool the tests need is missing. */
export function requireTools(...names: string[]): void {
  const missing = names.filter((n) => findTool(n) === undefined);
  if (missing.length > 0) {
    throw new Error(missing.map((n) => `${n} not found: apt-get install -y ${TOOL_PACKAGES[n] ?? n}`).join('; '));
  }
}

function toolPath(name: string): string {
  const p = findTool(name);
  if (p === undefined) throw new Error(`${name} not found: apt-get install -y ${TOOL_PACKAGES[name] ?? name}`);
  return p;
}

/** A file's identity and content, to prove a rerun rewrote nothing. */
export interface FileState {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly mode: string;
  readonly sha256: string;
}

export class VpnHarness {
  /**
   * A machine as EC2 launches it, with the secrets as the construct creates them
   * (`clients`, default CLIENT_NAMES: the client secrets and the config's clients).
   */
  static freshMachine(options: { omitTools?: string[]; omitShims?: string[]; config?: VpnConfig; clients?: string[] } = {}): VpnHarness {
    const h = new VpnHarness(options);
    const clients = options.clients ?? CLIENT_NAMES;
    h.setSecret(PKI_SECRET_ARN, PLACEHOLDER);
    for (const name of clients) h.setSecret(clientSecretArn(name), `{"placeholder": "${name}"}`);
    h.writeConfig(options.config ?? defaultConfig(clients));
    return h;
  }

  readonly base: string;
  readonly root: string;
  readonly state: string;
  readonly shimDir: string;
  readonly toolDir: string;
  /** TMPDIR of the script: must be empty again after every run. */
  readonly tmpDir: string;
  private rules = 0;
  private callsSeen = 0;

  constructor(private readonly options: { omitTools?: string[]; omitShims?: string[] } = {}) {
    requireTools('easyrsa', 'openssl', 'openvpn', 'python3');
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), 'casper-vpn-'));
    this.root = path.join(this.base, 'root');
    this.state = path.join(this.base, 'state');
    this.shimDir = path.join(this.base, 'shims');
    this.toolDir = path.join(this.base, 'tools');
    this.tmpDir = path.join(this.base, 'tmp');
    for (const d of [this.root, this.state, this.shimDir, this.toolDir, this.tmpDir, path.join(this.base, 'home')]) {
      fs.mkdirSync(d, { recursive: true });
    }
    fs.writeFileSync(path.join(this.state, 'calls.log'), '');
    for (const cmd of STUBBED_COMMANDS.filter((c) => !(options.omitShims ?? []).includes(c))) {
      fs.writeFileSync(path.join(this.shimDir, cmd), `#!/usr/bin/env bash\nSHIM_NAME=${cmd} exec bash '${VPN_SHIM}' "$@"\n`, { mode: 0o755 });
    }
    for (const tool of REAL_TOOLS) {
      if (!(options.omitTools ?? []).includes(tool)) fs.symlinkSync(toolPath(tool), path.join(this.toolDir, tool));
    }
  }

  /** A copy of this machine: its fake root, stub state (secrets, units, rules...) and config, no calls yet. */
  clone(): VpnHarness {
    const h = new VpnHarness(this.options);
    fs.cpSync(this.root, h.root, { recursive: true });
    fs.rmSync(h.state, { recursive: true, force: true });
    fs.cpSync(this.state, h.state, { recursive: true });
    fs.writeFileSync(path.join(h.state, 'calls.log'), '');
    fs.copyFileSync(this.configPath, h.configPath);
    h.rules = this.rules;
    return h;
  }

  /** setup.sh as the user data leaves it, with lib.sh beside it: what runSetup runs. */
  get scriptDir(): string {
    const dir = path.join(this.base, 'etc-casper-vpn');
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir);
      fs.copyFileSync(SETUP_SCRIPT, path.join(dir, 'setup.sh'));
      fs.copyFileSync(SHELL_LIB, path.join(dir, 'lib.sh'));
    }
    return dir;
  }

  get configPath(): string {
    return path.join(this.base, 'config.env');
  }

  writeConfig(c: VpnConfig): void {
    fs.writeFileSync(this.configPath, renderConfig(c));
  }

  writeRawConfig(text: string): void {
    fs.writeFileSync(this.configPath, text);
  }

  private secretFile(arn: string): string {
    return path.join(this.state, 'secrets', arn.replace(/[^A-Za-z0-9]/g, '_'));
  }

  setSecret(arn: string, value: string): void {
    fs.mkdirSync(path.join(this.state, 'secrets'), { recursive: true });
    fs.writeFileSync(this.secretFile(arn), value);
  }

  secret(arn: string): string | undefined {
    const f = this.secretFile(arn);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined;
  }

  /** `<arn> <PKI installed at that moment: yes|no>` per put-secret-value, all runs. */
  puts(): string[] {
    const f = path.join(this.state, 'puts.log');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter((l) => l !== '') : [];
  }

  /** Rules of the iptables stub's table, one `CHAIN args` line each. */
  iptables(table = 'nat'): string[] {
    const f = path.join(this.state, 'iptables', table);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter((l) => l !== '') : [];
  }

  readState(rel: string): string | undefined {
    const p = path.join(this.state, rel);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
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

  path(rel: string): string {
    return path.join(this.root, rel);
  }

  read(rel: string): string {
    return fs.readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return fs.existsSync(this.path(rel));
  }

  mode(rel: string): string {
    return (fs.statSync(this.path(rel)).mode % 0o10000).toString(8);
  }

  list(rel: string): string[] {
    const p = this.path(rel);
    return fs.existsSync(p) ? fs.readdirSync(p).sort() : [];
  }

  setupLog(): string {
    return this.exists('var/log/casper-vpn-setup.log') ? this.read('var/log/casper-vpn-setup.log') : '';
  }

  /** Every file below CASPER_ROOT (but the setup log) with its inode, mtime, mode and hash. */
  snapshot(): Map<string, FileState> {
    const out = new Map<string, FileState>();
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          walk(p);
        } else {
          const rel = path.relative(this.root, p);
          if (rel === 'var/log/casper-vpn-setup.log') continue;
          const st = fs.statSync(p);
          out.set(rel, {
            ino: st.ino,
            mtimeMs: st.mtimeMs,
            mode: (st.mode % 0o10000).toString(8),
            sha256: crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'),
          });
        }
      }
    };
    walk(this.root);
    return out;
  }

  /**
   * Runs setup.sh with the harness's config.env. `script` and `cwd` run it as
   * `cd <cwd> && bash <script> <config.env>` (default: `scriptDir`'s
   * setup.sh, from the current directory); `noHome` leaves HOME unset, as
   * cloud-init may.
   */
  runSetup(env: Record<string, string> = {}, how: { script?: string; cwd?: string; noHome?: boolean } = {}): RunResult {
    const r = spawnSync(path.join(this.toolDir, 'bash'), [how.script ?? path.join(this.scriptDir, 'setup.sh'), this.configPath], {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: how.cwd,
      env: {
        PATH: `${this.shimDir}:${this.toolDir}`,
        ...(how.noHome ? {} : { HOME: path.join(this.base, 'home') }),
        LANG: 'C.UTF-8',
        TMPDIR: this.tmpDir,
        CASPER_ROOT: this.root,
        CASPER_POLL_SECONDS: '0',
        SHIM_STATE: this.state,
        SHIM_DISPATCH: VPN_SHIM,
        SHIM_DIR: this.shimDir,
        SHIM_PYTHON3: toolPath('python3'),
        ...env,
      },
    });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls: this.takeCalls() };
  }

  cleanup(): void {
    fs.rmSync(this.base, { recursive: true, force: true });
  }

  private takeCalls(): string[] {
    const all = fs.readFileSync(path.join(this.state, 'calls.log'), 'utf8').split('\n').filter((l) => l !== '');
    const fresh = all.slice(this.callsSeen);
    this.callsSeen = all.length;
    return fresh;
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

/** Escapes text for use in a RegExp. */
export function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Asserts that calls matching the patterns happened in this order. */
export function expectCallsInOrder(calls: string[], patterns: RegExp[]): void {
  let from = 0;
  for (const p of patterns) {
    const i = calls.slice(from).findIndex((c) => p.test(c));
    if (i < 0) {
      throw new Error(`no call matching ${p} after position ${from}; calls were:\n${calls.map((c, n) => `${n}: ${c}`).join('\n')}`);
    }
    from += i + 1;
  }
}
