import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from './support/python-tools';

/** Files below a folder, relative to it, sorted. */
function filesBelow(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? (e as any).path, e.name)))
    .sort();
}

const shipped = filesBelow(path.join(ROOT, 'src', 'assets')).filter((f) => !f.endsWith('.ts'));

describe('shipped assets', () => {
  test('src/assets holds at least one shipped file', () => {
    expect(shipped.length).toBeGreaterThan(0);
  });

  // `npm test` compiles first, and compile runs copy-assets.
  test('every file under src/assets/ is in lib/assets/ after compile, byte for byte', () => {
    const copied = filesBelow(path.join(ROOT, 'lib', 'assets'));
    expect(copied).toEqual(shipped);
    for (const f of shipped) {
      const a = fs.readFileSync(path.join(ROOT, 'src', 'assets', f));
      const b = fs.readFileSync(path.join(ROOT, 'lib', 'assets', f));
      expect({ file: f, same: a.equals(b) }).toEqual({ file: f, same: true });
      const mode = (root: string) => fs.statSync(path.join(ROOT, root, 'assets', f)).mode.toString(8);
      expect({ file: f, mode: mode('lib') }).toEqual({ file: f, mode: mode('src') });
    }
  });

  test('the compile task runs the asset copy', () => {
    const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;
    expect(tasks.compile.steps).toContainEqual({ spawn: 'copy-assets' });
  });

  test('the npm tarball ships lib/assets/ and no sources or tests', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
    for (const f of shipped) expect(files).toContain(`lib/assets/${f}`);
    expect(files).toContain('lib/index.js');
    // Handlers bundled at build time, so no language needs esbuild at synth.
    expect(files).toContain('assets/storage/data-volume-lifecycle.lambda/index.js');
    expect(files).toContain('assets/storage/snapshot-rotation.lambda/index.js');
    // The Synthetics layout (nodejs/node_modules/) survives npm pack: the canary needs it.
    expect(files).toContain('assets/canary/nodejs/node_modules/casper-canary.js');
    expect(files).toContain('.jsii');
    expect(files.filter((f) => /^(src|test|examples|scripts|\.ci|integ)\//.test(f))).toEqual([]);
  });
});
