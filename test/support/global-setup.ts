import { spawnSync } from 'child_process';
import { ensureDebianPackages } from './debian-packages';
import { PATHS, VENV, markVenvCurrent, venvBin, venvIsCurrent } from './python-tools';

/**
 * Jest global setup: make sure the project-local .venv holds the Python tools
 * the tests call (cfn-lint, ...), installing them from PyPI when missing or
 * when test/requirements.txt changed (cfn-lint, moto, ShellCheck), and that
 * the Debian packages the VPN tests run are installed (as root with apt-get;
 * otherwise one message names the command). Fails loudly rather than skip a check.
 */
export default function globalSetup(): void {
  ensureDebianPackages();
  ensurePythonTools();
}

function ensurePythonTools(): void {
  if (venvIsCurrent()) return;
  const python = process.env.PYTHON ?? 'python3';
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { stdio: 'inherit' });
    if (r.error || r.status !== 0) {
      throw new Error(`Setting up the test tools failed: '${cmd} ${args.join(' ')}' ` +
        `${r.error ? `could not run (${r.error.message})` : `exited ${r.status}`}. ` +
        'Install Python 3 with venv and pip (Debian: apt-get install -y python3 python3-venv python3-pip), ' +
        'then run: python3 -m venv .venv && .venv/bin/pip install -r test/requirements.txt');
    }
  };
  process.stderr.write(`\nInstalling Python test tools into ${VENV} from ${PATHS.REQUIREMENTS} ...\n`);
  run(python, ['-m', 'venv', VENV]);
  run(venvBin('pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', PATHS.REQUIREMENTS]);
  markVenvCurrent();
}
