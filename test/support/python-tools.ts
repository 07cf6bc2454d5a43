import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** Repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** The project-local virtual environment holding the Python test tools. */
export const VENV = path.join(ROOT, '.venv');

const REQUIREMENTS = path.join(ROOT, 'test', 'requirements.txt');
const STAMP = path.join(VENV, '.requirements.sha256');

/** Path of a console script installed in the project venv. */
export function venvBin(name: string): string {
  return path.join(VENV, 'bin', name);
}

/** Hash of test/requirements.txt, recorded in the venv once it is installed. */
export function requirementsHash(): string {
  return createHash('sha256').update(fs.readFileSync(REQUIREMENTS)).digest('hex');
}

/** Whether the venv holds exactly what test/requirements.txt asks for. */
export function venvIsCurrent(): boolean {
  return fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8').trim() === requirementsHash();
}

/** Records that the venv matches test/requirements.txt. */
export function markVenvCurrent(): void {
  fs.writeFileSync(STAMP, requirementsHash() + '\n');
}

/** Paths used by the venv setup, exported for the error messages. */
export const PATHS = { REQUIREMENTS, STAMP };

/**
 * Returns the path of a venv tool, or throws a message that says how to get
 * it. A check whose tool is missing must fail, never pass silently.
 */
export function requireVenvTool(name: string): string {
  const bin = venvBin(name);
  if (!fs.existsSync(bin)) {
    throw new Error(`${name} is missing from ${VENV}. Install the test tools with: ` +
      'python3 -m venv .venv && .venv/bin/pip install -r test/requirements.txt');
  }
  return bin;
}
