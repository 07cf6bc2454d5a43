import { spawnSync } from 'child_process';
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
