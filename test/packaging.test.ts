import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT } from './support/python-tools';

/*
 * No package without its assets, and no jsii banner: what the projen tasks
 * promise (issue 17). The packages themselves are built and used by
 * `npx projen test:bindings` (test/bindings/run-bindings.sh).
 */

interface Step { readonly spawn?: string; readonly exec?: string; readonly execArgs?: string[] }
interface Task { readonly steps?: Step[] }
const tasksFile = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')) as {
  env: Record<string, string>;
  tasks: Record<string, Task>;
};
const CHECK = path.join(ROOT, 'scripts', 'check-package-assets.js');

describe.each(['js', 'python', 'go'])('package:%s', (target) => {
  const steps = tasksFile.tasks[`package:${target}`].steps ?? [];
  const at = (pred: (s: Step) => boolean) => steps.findIndex(pred);
  const pacmak = at((s) => s.execArgs?.[0] === 'jsii-pacmak');

  test('bundles the handlers and the canary, and copies src/assets, before jsii-pacmak', () => {
    expect(pacmak).toBeGreaterThan(0);
    expect(at((s) => s.spawn === 'pre-compile')).toBeGreaterThanOrEqual(0);
    expect(at((s) => s.spawn === 'pre-compile')).toBeLessThan(pacmak);
    expect(at((s) => s.spawn === 'copy-assets')).toBeLessThan(pacmak);
    expect(tasksFile.tasks['pre-compile'].steps).toEqual(expect.arrayContaining([{ spawn: 'bundle' }, { spawn: 'bundle:canary' }]));
  });

  test('checks the files before jsii-pacmak and inside the package after it', () => {
    const before = at((s) => s.exec === 'node scripts/check-package-assets.js');
    const after = at((s) => s.exec === `node scripts/check-package-assets.js ${target}`);
    expect(before).toBeGreaterThanOrEqual(0);
    expect(before).toBeLessThan(pacmak);
    expect(after).toBeGreaterThan(pacmak);
  });
});

describe('check-package-assets.js', () => {
  let dir: string;
  const run = (...args: string[]) => spawnSync('node', [CHECK, ...args], {
    encoding: 'utf8', env: { ...process.env, CHECK_PACKAGE_ROOT: dir },
  });
  const write = (file: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), '');
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-assets-'));
    for (const f of ['src/storage/a.lambda.ts', 'src/assets/node/bootstrap.sh', 'src/assets/node/types.ts']) write(f);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('fails, naming each missing file and the command, when assets/ was never bundled', () => {
    for (const f of ['lib/index.js', '.jsii', 'lib/assets/node/bootstrap.sh']) write(f);
    const r = run();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('missing: assets/storage/a.lambda/index.js');
    expect(r.stderr).toContain('missing: assets/canary/nodejs/node_modules/casper-canary.js');
    expect(r.stderr).toContain('npx projen pre-compile && npx projen compile');
  });

  test('passes when every file is there (TypeScript sources under src/assets are not shipped)', () => {
    for (const f of ['lib/index.js', '.jsii', 'lib/assets/node/bootstrap.sh', 'assets/storage/a.lambda/index.js',
      'assets/canary/nodejs/node_modules/casper-canary.js']) write(f);
    const r = run();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('fails on a built package without assets/', () => {
    const stage = path.join(dir, 'stage', 'package');
    for (const f of ['lib/index.js', '.jsii', 'lib/assets/node/bootstrap.sh']) {
      fs.mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
      fs.writeFileSync(path.join(stage, f), '');
    }
    fs.mkdirSync(path.join(dir, 'dist', 'go', 'cdkcaspernode', 'jsii'), { recursive: true });
    spawnSync('tar', ['-czf', path.join(dir, 'dist', 'go', 'cdkcaspernode', 'jsii', 'pkg.tgz'), '-C', path.dirname(stage), 'package']);
    const r = run('go');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the Go module lacks 2 of 5 file(s)');
    expect(r.stderr).toContain('missing: assets/storage/a.lambda/index.js');
  });
});

describe('the jsii Node.js version banner is silenced', () => {
  // The variable names @jsii/check-node reads (the code that prints the banner).
  const checkNode = fs.readFileSync(path.join(ROOT, 'node_modules', '@jsii', 'check-node', 'lib', 'index.js'), 'utf8');
  const read = [...checkNode.matchAll(/\$\{envPrefix\}_(SILENCE_WARNING_[A-Z_]+)`/g)].map((m) => `JSII_${m[1]}`);

  test('with the variables jsii reads', () => {
    expect(read).toEqual(expect.arrayContaining([
      'JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION', 'JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION',
    ]));
    for (const name of Object.keys(tasksFile.env).filter((k) => k.startsWith('JSII_SILENCE_'))) expect(read).toContain(name);
  });

  test('for Node.js 20 once it is past end of life (a comma-separated list of major versions)', () => {
    expect(tasksFile.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION.split(',')).toContain('20');
    expect(tasksFile.env.JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION).toBeTruthy();
  });

  test('.ci/run sets the same variables', () => {
    const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20$/m);
    expect(ci).toMatch(/^export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1$/m);
  });
});
