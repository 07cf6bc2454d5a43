import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';

/**
 * What the tests of the node's Python scripts share: which python3 runs them
 * and the realistic node answers they are fed.
 */

/**
 * The system python3 first: the node runs Ubuntu's /usr/bin/python3.
 * CASPER_TEST_PYTHON picks another one, e.g. a Python 3.10 to match Ubuntu 22.04.
 */
export const PYTHON = process.env.CASPER_TEST_PYTHON ?? ['/usr/bin/python3', '/bin/python3'].find((p) => fs.existsSync(p)) ?? 'python3';

/** The realistic node answers (test/fixtures/casper/) the scripts are fed. */
export { CASPER_FIXTURES, STATUS_15, STATUS_20 } from './status-fixtures';

/** What a run of a script gave; ms is how long it took. */
export interface PythonRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Runs a script with PYTHON, asynchronously (so that servers in this process
 * can answer it), with only PATH, LANG=C.UTF-8 and `env` in its environment;
 * killed after timeoutMs.
 */
export function runPython(script: string, args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(PYTHON, [script, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * The modules a Python script imports (sorted, unique), parsed as Python 3.10
 * as on Ubuntu 22.04; Python 3.11+ syntax (match, except*) shows as
 * `syntax:<node>`. Throws when the script does not parse.
 */
export function pythonImports(script: string): string[] {
  const r = spawnSync(PYTHON, ['-c', `
import ast, sys
tree = ast.parse(open(sys.argv[1], encoding="utf-8").read(), feature_version=(3, 10))
for n in ast.walk(tree):
    if isinstance(n, ast.Import):
        for a in n.names:
            print(a.name)
    elif isinstance(n, ast.ImportFrom):
        print("." * n.level + (n.module or ""))
    elif type(n).__name__ in ("Match", "TryStar"):
        print("syntax:" + type(n).__name__)
`, script], { encoding: 'utf8' });
  if (r.status !== 0 || r.stderr !== '') throw new Error(`${script} does not parse as Python 3.10: ${r.stderr}`);
  return [...new Set(r.stdout.split('\n').filter((l) => l !== ''))].sort();
}

/**
 * A shipped script imports some modules, all of them in `allowed` (parsed as
 * Python 3.10), and its source matches none of `forbidden` (dynamic imports,
 * what Python 3.10 lacks or rejects).
 */
export function expectImportsOnly(script: string, allowed: string[], forbidden: RegExp[]): void {
  const imported = pythonImports(script);
  expect(imported.length).toBeGreaterThan(0);
  expect(imported.filter((m) => !allowed.includes(m))).toEqual([]);
  const source = fs.readFileSync(script, 'utf8');
  for (const pattern of forbidden) expect(source).not.toMatch(pattern);
}

/** The script starts with a python3 shebang and is executable (mode 755). */
export function expectExecutablePython(script: string): void {
  expect(fs.readFileSync(script, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env python3');
  expect((fs.statSync(script).mode % 0o1000).toString(8)).toBe('755');
}

/** Python 3.10's datetime.fromisoformat rejects "Z" and most fraction lengths: RFC 3339 is parsed by casper_status.py. */
export const FROMISOFORMAT = /\.fromisoformat\(/;

/**
 * The tests every shipped Python script gets, in the describe block that
 * calls this: its imports (see expectImportsOnly) and its shebang and mode.
 */
export function shippedPythonScriptTests(script: string, allowed: string[], forbidden: RegExp[],
  importsTitle = 'imports only allowed standard-library modules'): void {
  test(importsTitle, () => expectImportsOnly(script, allowed, forbidden));
  test('is an executable python3 script', () => expectExecutablePython(script));
}
