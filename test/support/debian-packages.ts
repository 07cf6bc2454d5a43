import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Debian packages the test suite runs for real, by the tool that is looked
 * for: the VPN tests use the real easy-rsa, openssl and openvpn, and the tunnel
 * test needs ip (network namespaces), ping, iptables and sysctl.
 */
export const TOOL_PACKAGES: Record<string, string> = {
  easyrsa: 'easy-rsa',
  openssl: 'openssl',
  openvpn: 'openvpn',
  python3: 'python3',
  ip: 'iproute2',
  ping: 'iputils-ping',
  iptables: 'iptables',
  sysctl: 'procps',
};

/** Where Debian's easy-rsa package puts the easyrsa script (it is not on PATH). */
export const EASYRSA_DIR = process.env.CASPER_TEST_EASYRSA_DIR ?? '/usr/share/easy-rsa';

/** Where a tool is, or undefined. System dirs only: the instances run the distribution's packages. */
export function findTool(name: string): string | undefined {
  if (name === 'easyrsa') {
    const p = path.join(EASYRSA_DIR, 'easyrsa');
    return fs.existsSync(p) ? p : undefined;
  }
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The packages whose tools are missing, each once, in a stable order. */
export function missingPackages(find: (tool: string) => string | undefined = findTool): string[] {
  const missing = Object.entries(TOOL_PACKAGES).filter(([tool]) => find(tool) === undefined).map(([, pkg]) => pkg);
  return [...new Set(missing)];
}

/** The one command that installs the packages, as a user would type it. */
export function installCommand(packages: string[], asRoot: boolean): string {
  const apt = `apt-get update && apt-get install -y ${packages.join(' ')}`;
  return asRoot ? apt : `sudo sh -c '${apt}'`;
}

/** What the setup does about missing packages. */
export type ProvisionPlan =
  | { readonly action: 'none' }
  | { readonly action: 'install'; readonly packages: string[] }
  | { readonly action: 'fail'; readonly message: string };

/**
 * Decides how to get the missing packages: nothing to do, install them (only
 * as root on a machine with apt-get), or fail with one message that names the
 * command to run. Pure, so each branch is tested without touching the machine.
 */
export function provisionPlan(missing: string[], isRoot: boolean, hasApt: boolean): ProvisionPlan {
  if (missing.length === 0) return { action: 'none' };
  if (isRoot && hasApt) return { action: 'install', packages: missing };
  const why = hasApt ? 'the tests are not running as root' : 'apt-get is not available here';
  return {
    action: 'fail',
    message: `The tests need Debian packages that are missing: ${missing.join(', ')}. ` +
      `They are installed automatically only as root with apt-get (${why}). ` +
      `Install them with: ${installCommand(missing, isRoot)}`,
  };
}

/**
 * Installs the Debian packages the tests need when they are missing and the
 * suite runs as root with apt-get; otherwise throws one message naming the
 * command. Called from the jest global setup.
 */
export function ensureDebianPackages(): void {
  const missing = missingPackages();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = fs.existsSync('/usr/bin/apt-get');
  const plan = provisionPlan(missing, isRoot, hasApt);
  if (plan.action === 'none') return;
  if (plan.action === 'fail') throw new Error(plan.message);
  process.stderr.write(`\nInstalling Debian packages the tests need: ${plan.packages.join(' ')} ...\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=300', ...plan.packages]]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.error || r.status !== 0) {
      throw new Error(`'apt-get ${args.join(' ')}' failed (${r.error?.message ?? `exit ${r.status}`}). ` +
        `Install the packages by hand with: ${installCommand(plan.packages, true)}`);
    }
  }
  const still = missingPackages();
  if (still.length > 0) {
    throw new Error(`After apt-get install, still missing: ${still.join(', ')}. Install them with: ${installCommand(still, true)}`);
  }
}
