import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PYTHON } from '../../support/node-python';

const MODULE = path.join(__dirname, '..', '..', '..', 'src', 'assets', 'node', 'casper_status.py');

/** Runs Python with the module's directory on the path (as beside the scripts on an instance). */
function py(code: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.dirname(MODULE), PYTHONDONTWRITEBYTECODE: '1' } });
}

describe('casper_status.py, shared by the collector and the health endpoint', () => {
  test('imports only the standard library, and never fromisoformat (Python 3.10 rejects "Z")', () => {
    const source = fs.readFileSync(MODULE, 'utf8');
    const imports = [...source.matchAll(/^import (\S+)$/gm)].map((m) => m[1]).sort();
    expect(imports).toEqual(['argparse', 'datetime', 'os', 're', 'socket', 'urllib.error']);
    expect(source).not.toMatch(/^from /m);
    expect(source).not.toMatch(/\.fromisoformat\(/);
  });

  test.each([
    ['2024-05-01T12:00:00Z', 1714564800],
    ['2024-05-01T12:00:00.5Z', 1714564800.5],
    ['2024-05-01T12:00:00.123456789Z', 1714564800.123456789],
    ['2024-05-01T14:00:00+02:00', 1714564800],
    ['2024-05-01 12:00:00z', 1714564800],
  ])('parse_rfc3339(%s) = %d', (text, epoch) => {
    const r = py(`import casper_status; print(repr(casper_status.parse_rfc3339(${JSON.stringify(text)})))`);
    expect(r.stderr).toBe('');
    expect(Number(r.stdout)).toBeCloseTo(epoch, 6);
  });

  test.each(['yesterday', '2024-05-01T12:00:00', '', '2024-05-01T12:00:00.1234567890Z'])('parse_rfc3339(%j) is a ValueError', (text) => {
    const r = py(`import casper_status\ntry:\n  casper_status.parse_rfc3339(${JSON.stringify(text)})\nexcept ValueError as e:\n  print("ValueError:", e)`);
    expect(r.stdout).toMatch(/^ValueError: not an RFC 3339 timestamp/);
  });

  test('describe_error names refused connections and timeouts', () => {
    const r = py([
      'import casper_status, socket, urllib.error',
      'print(casper_status.describe_error(urllib.error.URLError(ConnectionRefusedError()), 1.5))',
      'print(casper_status.describe_error(socket.timeout(), 1.5))',
      'print(casper_status.describe_error(OSError("no route"), 1.5))',
    ].join('\n'));
    expect(r.stdout.split('\n')).toEqual(['connection refused', 'timeout after 1.5 s', 'unreachable: no route', '']);
  });
});
