import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TOOL_PACKAGES, findTool } from './debian-packages';

/**
 * The sandbox in which behaviour tests run the shell scripts of src/assets/
 * (the node scripts and the VPN setup) against stubbed system commands. The
 * domain harnesses (shell-harness.ts for the node, vpn-harness.ts for the VPN)
 * extend it with their machines, configs and helpers only.
 *
 * Each sandbox owns a temp dir holding:
 * - `root/`: the scripts' CASPER_ROOT (their whole view of the filesystem);
 * - `shims/`: one wrapper per stubbed command calling test/fixtures/shims/shim.sh,
 *   which logs each call to `state/calls.log` and behaves as `state/` says
 *   (its header lists the state files; `rule()` overrides any command);
 * - `tools/`: symlinks to the few real tools the scripts may use. PATH is
 *   `shims:tools` only, so a command that is neither stubbed nor allowed fails
 *   loudly instead of reaching the network or changing this machine;
 * - `tmp/` (TMPDIR) and `home/` (HOME).
 *
 * Scripts run with the test hooks that src/assets/lib/lib.sh documents
 * (CASPER_ROOT, CASPER_POLL_SECONDS=0), and from a copy laid out as on the
 * instance (`stage()`), with lib.sh beside them.
 */

/** Repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The command test double shared by every sandbox. */
export const SHIM_DISPATCH = path.join(REPO_ROOT, 'test', 'fixtures', 'shims', 'shim.sh');
/** The shell library the scripts source from their own folder. */
export const SHELL_LIB = path.join(REPO_ROOT, 'src', 'assets', 'lib', 'lib.sh');
/** The instance metadata service, as the scripts and the curl stub know it. */
export const IMDS = 'http://169.254.169.254/latest';

/** Result of one script run. */
export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Calls to stubbed commands during this run, one `name args...` line each. */
  readonly calls: string[];
}

/** Options of a rule that overrides a stubbed command. */
export interface RuleOptions {
  readonly exit: number;
  readonly stdout?: string;
  readonly stderr?: string;
  /** Apply to the first N matching calls only. */
  readonly times?: number;
}

/** One stubbed HTTP answer (curl). */
export interface HttpResponse {
  /** Response body. */
  readonly body?: string;
  /** HTTP status (default 200): with -f, 400 or more makes curl exit 22 without the body; -w '%{http_code}' prints it. */
  readonly status?: number;
  /** Make curl fail with this exit code (6: cannot resolve, 7: cannot connect, 22: HTTP error). */
  readonly exit?: number;
}

/** An answer served before a URL's own (`HttpAnswer.first`). */
export interface HttpEarlierResponse extends HttpResponse {
  /** How many requests get it (default 1). */
  readonly times?: number;
}

/** Options of a stubbed HTTP answer (curl). */
export interface HttpAnswer extends HttpResponse {
  /** Fail this many requests first (404 for IMDS, connection refused otherwise). */
  readonly failFirst?: number;
  /** Answers served first, in order (after failFirst), before this one answers every later request. */
  readonly first?: HttpEarlierResponse[];
}

/** A file's identity and content, to prove a rerun rewrote nothing. */
export interface FileState {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly mode: string;
  readonly sha256: string;
}

/** What a domain harness gives its sandbox. */
export interface SandboxSpec {
  /** Prefix of the temp dir's name. */
  readonly prefix: string;
  /** The system commands the scripts call, all stubbed. */
  readonly stubbed: readonly string[];
  /** Real, local-only tools the scripts may use. */
  readonly tools: readonly string[];
  /**
   * A path below the root whose presence each put-secret-value records
   * (`puts()`), to show that a secret is stored before what it protects is installed.
   */
  readonly putWitness?: string;
  /** Bound of one script run. */
  readonly timeoutMs: number;
}

/** Per-test changes to a sandbox. */
export interface SandboxOptions {
  /** Stubbed commands to leave out (the scripts then find them missing, or install them). */
  readonly omitShims?: string[];
  /** Real tools to leave out. */
  readonly omitTools?: string[];
}

/** How to run a script. */
export interface RunHow {
  /** Working directory (default: the test's). */
  readonly cwd?: string;
  /** Leave HOME unset, as cloud-init may. */
  readonly noHome?: boolean;
}

/** A real tool's path, or an error naming its Debian package. */
export function toolPath(name: string): string {
  const p = findTool(name);
  if (p === undefined) throw new Error(`${name} not found: apt-get install -y ${TOOL_PACKAGES[name] ?? name}`);
  return p;
}

/** Puts a stub for `name` into the shim directory (a wrapper, so the dispatcher's file mode does not matter). */
export function writeShim(shimDir: string, name: string): void {
  fs.writeFileSync(path.join(shimDir, name), `#!/usr/bin/env bash\nSHIM_NAME=${name} exec bash '${SHIM_DISPATCH}' "$@"\n`, { mode: 0o755 });
}

/** Key of a URL or ARN in the stubs' state (non-alphanumerics as `_`). */
function stateKey(text: string): string {
  return text.replace(/[^A-Za-z0-9]/g, '_');
}

export class ShellSandbox {
  readonly base: string;
  readonly root: string;
  readonly state: string;
  readonly shimDir: string;
  readonly toolDir: string;
  /** TMPDIR of the scripts: must be empty again after every run. */
  readonly tmpDir: string;
  private rules = 0;
  private callsSeen = 0;

  constructor(private readonly spec: SandboxSpec, options: SandboxOptions = {}) {
    const tools = spec.tools.filter((t) => !(options.omitTools ?? []).includes(t)).map((t) => [t, toolPath(t)]);
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), spec.prefix));
    this.root = path.join(this.base, 'root');
    this.state = path.join(this.base, 'state');
    this.shimDir = path.join(this.base, 'shims');
    this.toolDir = path.join(this.base, 'tools');
    this.tmpDir = path.join(this.base, 'tmp');
    for (const d of [this.root, this.state, this.shimDir, this.toolDir, this.tmpDir, path.join(this.base, 'home')]) {
      fs.mkdirSync(d, { recursive: true });
    }
    fs.writeFileSync(path.join(this.state, 'calls.log'), '');
    if (spec.putWitness !== undefined) this.setState('put-witness', spec.putWitness);
    for (const cmd of spec.stubbed) {
      if (!(options.omitShims ?? []).includes(cmd)) writeShim(this.shimDir, cmd);
    }
    for (const [tool, p] of tools) fs.symlinkSync(p, path.join(this.toolDir, tool));
  }

  // ---- the fake root ----

  /** Path of a file below CASPER_ROOT. */
  path(rel: string): string {
    return path.join(this.root, rel);
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

  /** Every file below CASPER_ROOT (but `exclude`) with its inode, mtime, mode and hash. */
  snapshot(exclude: string[] = []): Map<string, FileState> {
    const out = new Map<string, FileState>();
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          walk(p);
          continue;
        }
        const rel = path.relative(this.root, p);
        if (exclude.includes(rel)) continue;
        const st = fs.statSync(p);
        out.set(rel, {
          ino: st.ino,
          mtimeMs: st.mtimeMs,
          mode: (st.mode % 0o10000).toString(8),
          sha256: crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'),
        });
      }
    };
    walk(this.root);
    return out;
  }

  // ---- the stubs' state (see shim.sh) ----

  setState(rel: string, content: string): void {
    const p = path.join(this.state, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }

  readState(rel: string): string | undefined {
    const p = path.join(this.state, rel);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
  }

  /** The non-empty lines of a state file ([] when missing). */
  stateLines(rel: string): string[] {
    return (this.readState(rel) ?? '').split('\n').filter((l) => l !== '');
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

  /** Answers requests to a URL (curl stub). */
  http(url: string, answer: HttpAnswer): void {
    const d = path.join(this.state, 'http', stateKey(url));
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(d, { recursive: true });
    const write = (dir: string, r: HttpResponse) => {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'body'), r.body ?? '');
      if (r.status !== undefined) fs.writeFileSync(path.join(dir, 'status'), String(r.status));
      if (r.exit !== undefined) fs.writeFileSync(path.join(dir, 'exit'), String(r.exit));
    };
    write(d, answer);
    if (answer.failFirst !== undefined) fs.writeFileSync(path.join(d, 'after'), String(answer.failFirst));
    (answer.first ?? []).forEach((r, i) => {
      const f = path.join(d, 'first', String(i).padStart(3, '0'));
      write(f, r);
      if (r.times !== undefined) fs.writeFileSync(path.join(f, 'times'), String(r.times));
    });
  }

  /** Makes a URL unreachable (404 for IMDS paths, connection refused otherwise). */
  removeHttp(url: string): void {
    fs.rmSync(path.join(this.state, 'http', stateKey(url)), { recursive: true, force: true });
  }

  /** An IMDS meta-data value (`tags/instance/<key>` for instance tags). */
  imds(metaDataPath: string, value: string, failFirst?: number): void {
    this.http(`${IMDS}/meta-data/${metaDataPath}`, { body: value, failFirst });
  }

  /** The value of a secret (aws secretsmanager stub). */
  setSecret(arn: string, value: string): void {
    this.setState(`secrets/${stateKey(arn)}`, value);
  }

  secret(arn: string): string | undefined {
    return this.readState(`secrets/${stateKey(arn)}`);
  }

  /** The value of an SSM parameter (aws ssm get-parameter stub; unset: ParameterNotFound). */
  setParameter(name: string, value: string): void {
    this.setState(`parameters/${stateKey(name)}`, value);
  }

  /** `<arn> <put witness present then: yes|no>` per put-secret-value, all runs. */
  puts(): string[] {
    return this.stateLines('puts.log');
  }

  // ---- running ----

  /**
   * Copies files, and the files of folders, side by side into `<base>/<name>/`
   * (as the constructs deploy a script with lib.sh beside it); returns that folder.
   * Done once per sandbox and name.
   */
  stage(name: string, sources: string[]): string {
    const dir = path.join(this.base, name);
    if (fs.existsSync(dir)) return dir;
    fs.mkdirSync(dir);
    for (const src of sources) {
      if (fs.statSync(src).isDirectory()) {
        fs.cpSync(src, dir, { recursive: true });
      } else {
        fs.copyFileSync(src, path.join(dir, path.basename(src)));
      }
    }
    return dir;
  }

  /** Runs a bash script inside the sandbox. */
  run(script: string, args: string[] = [], env: Record<string, string> = {}, how: RunHow = {}): RunResult {
    const r = spawnSync(path.join(this.toolDir, 'bash'), [script, ...args], {
      encoding: 'utf8',
      timeout: this.spec.timeoutMs,
      cwd: how.cwd,
      env: {
        PATH: `${this.shimDir}:${this.toolDir}`,
        ...(how.noHome ? {} : { HOME: path.join(this.base, 'home') }),
        LANG: 'C.UTF-8',
        TMPDIR: this.tmpDir,
        // The test hooks (src/assets/lib/lib.sh).
        CASPER_ROOT: this.root,
        CASPER_POLL_SECONDS: '0',
        SHIM_STATE: this.state,
        SHIM_DISPATCH,
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

  /** Makes `copy` (a new sandbox) the same machine: fake root and stub state (rules included), no calls yet. */
  protected copyMachineTo<T extends ShellSandbox>(copy: T): T {
    fs.cpSync(this.root, copy.root, { recursive: true });
    fs.rmSync(copy.state, { recursive: true, force: true });
    fs.cpSync(this.state, copy.state, { recursive: true });
    fs.writeFileSync(path.join(copy.state, 'calls.log'), '');
    copy.rules = this.rules;
    return copy;
  }

  /** Calls logged since the last take. */
  protected takeCalls(): string[] {
    const all = this.stateLines('calls.log');
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
