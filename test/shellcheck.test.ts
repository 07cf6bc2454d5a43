import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from './support/python-tools';

/** Shell scripts of the project: everything under src/assets and scripts/ ending in .sh, plus CI and test drivers. */
function shellScripts(): string[] {
  const assets = path.join(ROOT, 'src', 'assets');
  const shipped = (fs.readdirSync(assets, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.sh'))
    .map((f) => path.join('src', 'assets', f));
  const scripts = fs.readdirSync(path.join(ROOT, 'scripts')).filter((f) => f.endsWith('.sh')).map((f) => path.join('scripts', f));
  return ['.ci/run', 'test/bindings/run-bindings.sh', ...scripts, ...shipped];
}

describe('shell scripts', () => {
  const version = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });

  test('shellcheck is installed', () => {
    if (version.error) {
      throw new Error('shellcheck is not installed; install it with: apt-get install -y shellcheck');
    }
    expect(version.status).toBe(0);
  });

  test.each(shellScripts())('%s passes shellcheck', (script) => {
    if (version.error) throw new Error('shellcheck is not installed; install it with: apt-get install -y shellcheck');
    const r = spawnSync('shellcheck', ['--external-sources', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test.each(shellScripts())('%s runs under bash with set -euo pipefail', (script) => {
    const text = fs.readFileSync(path.join(ROOT, script), 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toMatch(/^set -euo pipefail$/m);
  });
});
