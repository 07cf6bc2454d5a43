// Test helper: runs the BUNDLED canary script the way the Synthetics runtime does,
// `require('<dir>/nodejs/node_modules/casper-canary.js').handler()`, in a child `node`
// process whose NODE_PATH holds small doubles of the runtime's `Synthetics` and
// `SyntheticsLogger` modules. The doubles record the executed steps and the log lines.
import { execFile, execFileSync } from 'child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const BUNDLE = path.join(ROOT, 'assets', 'canary', 'nodejs', 'node_modules', 'casper-canary.js');
const SOURCES = path.join(ROOT, 'src', 'monitoring', 'canary');

/** Build the bundle with `npx projen bundle:canary` when it is missing or older than a source file. */
export function ensureBundle(): void {
  const newestSource = Math.max(...readdirSync(SOURCES).filter((f) => f.endsWith('.ts')).map((f) => statSync(path.join(SOURCES, f)).mtimeMs));
  if (existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs >= newestSource) return;
  execFileSync('npx', ['projen', 'bundle:canary'], { cwd: ROOT, stdio: 'pipe' });
}

const SYNTHETICS_DOUBLE = `'use strict';
// Double of the runtime's Synthetics module: records each step, runs it, rethrows its error.
module.exports = {
  async executeStep(stepName, functionToExecute) {
    const step = { name: stepName, status: 'running' };
    globalThis.__syntheticsDouble.steps.push(step);
    try {
      const result = await functionToExecute();
      step.status = 'passed';
      return result;
    } catch (err) {
      step.status = 'failed';
      step.error = err && err.message;
      throw err;
    }
  },
};
`;

const LOGGER_DOUBLE = `'use strict';
// Double of the runtime's SyntheticsLogger module: records each line with its level.
const record = (level) => (...message) => globalThis.__syntheticsDouble.logs.push({ level, message: message.map(String).join(' ') });
module.exports = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), log: record('log') };
`;

const DRIVER = `'use strict';
// Loads the canary file the way the runtime does and calls its handler once.
globalThis.__syntheticsDouble = { steps: [], logs: [] };
const started = Date.now();
const finish = (outcome) => process.stdout.write(JSON.stringify({ ...outcome, ...globalThis.__syntheticsDouble, elapsedMs: Date.now() - started }));
Promise.resolve()
  .then(() => require(process.argv[2]).handler())
  .then((result) => finish({ threw: false, result }), (err) => finish({ threw: true, error: err instanceof Error ? err.message : String(err) }));
`;

export interface Step { readonly name: string; readonly status: 'running' | 'passed' | 'failed'; readonly error?: string }
export interface LogLine { readonly level: string; readonly message: string }
export interface CanaryRun {
  readonly threw: boolean;
  /** The thrown error's message, when `threw`. */
  readonly error?: string;
  /** The handler's return value (the verdict), when it did not throw. */
  readonly result?: { readonly passed: boolean; readonly message: string; readonly [field: string]: unknown };
  readonly steps: Step[];
  readonly logs: LogLine[];
  readonly elapsedMs: number;
}

/** A temp directory with the runtime doubles and the driver; `dispose()` removes it. */
export class SyntheticsRuntime {
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'casper-canary-'));
  private readonly nodePath = path.join(this.dir, 'runtime', 'node_modules');
  private readonly driver = path.join(this.dir, 'driver.js');

  constructor() {
    for (const [name, source] of [['Synthetics', SYNTHETICS_DOUBLE], ['SyntheticsLogger', LOGGER_DOUBLE]]) {
      mkdirSync(path.join(this.nodePath, name), { recursive: true });
      writeFileSync(path.join(this.nodePath, name, 'index.js'), source);
    }
    writeFileSync(this.driver, DRIVER);
  }

  /** Call `handler()` of `bundle` in a fresh `node` with only `env` (plus PATH and NODE_PATH) set. Async: the test's server keeps serving. */
  run(env: Record<string, string>, bundle: string = BUNDLE): Promise<CanaryRun> {
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [this.driver, bundle], {
        env: { PATH: process.env.PATH ?? '', NODE_PATH: this.nodePath, ...env },
        timeout: 30_000,
      }, (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`canary child failed: ${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout) as CanaryRun);
        } catch {
          reject(new Error(`canary child printed no result\nstdout: ${stdout}\nstderr: ${stderr}`));
        }
      });
    });
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
