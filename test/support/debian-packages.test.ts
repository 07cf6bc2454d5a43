import { TOOL_PACKAGES, findTool, installCommand, missingPackages, provisionPlan } from './debian-packages';

describe('Debian packages the tests need', () => {
  test('nothing is missing on this machine after the global setup ran', () => {
    expect(missingPackages()).toEqual([]);
    for (const tool of Object.keys(TOOL_PACKAGES)) expect(findTool(tool)).toBeDefined();
  });

  test('missing tools map to their packages, each package once', () => {
    const present = new Set(['python3', 'sysctl', 'ip']);
    expect(missingPackages((t) => (present.has(t) ? `/usr/bin/${t}` : undefined)))
      .toEqual(['easy-rsa', 'openssl', 'openvpn', 'iputils-ping', 'iptables']);
  });

  test('nothing missing: nothing to do', () => {
    expect(provisionPlan([], false, false)).toEqual({ action: 'none' });
  });

  test('as root with apt-get: installs exactly the missing packages', () => {
    expect(provisionPlan(['openvpn', 'easy-rsa'], true, true)).toEqual({ action: 'install', packages: ['openvpn', 'easy-rsa'] });
  });

  test('not root: fails with one message naming the command', () => {
    const plan = provisionPlan(['openvpn', 'easy-rsa'], false, true);
    expect(plan).toEqual({
      action: 'fail',
      message: 'The tests need Debian packages that are missing: openvpn, easy-rsa. They are installed automatically ' +
        'only as root with apt-get (the tests are not running as root). Install them with: ' +
        "sudo sh -c 'apt-get update && apt-get install -y openvpn easy-rsa'",
    });
  });

  test('no apt-get: fails and says why', () => {
    const plan = provisionPlan(['openvpn'], true, false);
    expect(plan.action).toBe('fail');
    expect(plan.action === 'fail' && plan.message).toContain('(apt-get is not available here)');
    expect(plan.action === 'fail' && plan.message).toContain('apt-get install -y openvpn');
  });

  test('the install command as root has no sudo', () => {
    expect(installCommand(['openvpn'], true)).toBe('apt-get update && apt-get install -y openvpn');
  });
});
