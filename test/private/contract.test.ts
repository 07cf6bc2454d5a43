import { VpnConfigEnv, renderVpnConfigEnv } from '../../src/private/contract';

describe('the VPN config.env', () => {
  const config: VpnConfigEnv = {
    REGION: 'us-east-1',
    VPN_PORT: 1194,
    VPN_NETWORK: '10.8.0.0/24',
    VPC_CIDR: '10.0.0.0/16',
    PUBLIC_ADDRESS: '203.0.113.10',
    PKI_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pki-AbCdEf',
    CLIENT_NAMES: ['admin1', 'admin2'],
    CLIENT_SECRET_ARNS: ['arn:a', 'arn:b'],
  };

  test('scalars as KEY=value and lists as KEY="a b", in the order setup.sh documents', () => {
    expect(renderVpnConfigEnv(config)).toEqual([
      'REGION=us-east-1',
      'VPN_PORT=1194',
      'VPN_NETWORK=10.8.0.0/24',
      'VPC_CIDR=10.0.0.0/16',
      'PUBLIC_ADDRESS=203.0.113.10',
      'PKI_SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:pki-AbCdEf',
      'CLIENT_NAMES="admin1 admin2"',
      'CLIENT_SECRET_ARNS="arn:a arn:b"',
    ]);
  });

  test('the order does not depend on the order of the keys given', () => {
    const reversed = Object.fromEntries(Object.entries(config).reverse()) as unknown as VpnConfigEnv;
    expect(renderVpnConfigEnv(reversed)).toEqual(renderVpnConfigEnv(config));
  });

  test('an absent VPN_PORT leaves its line out (setup.sh then uses 1194)', () => {
    const { VPN_PORT: _port, ...rest } = config;
    expect(renderVpnConfigEnv(rest).some((l) => l.startsWith('VPN_PORT'))).toBe(false);
    expect(renderVpnConfigEnv(rest)).toHaveLength(7);
  });

  test('tokens pass through as they are', () => {
    expect(renderVpnConfigEnv({ ...config, REGION: '${Token[AWS.Region.9]}', CLIENT_SECRET_ARNS: ['${Token[TOKEN.1]}', '${Token[TOKEN.2]}'] }))
      .toEqual(expect.arrayContaining(['REGION=${Token[AWS.Region.9]}', 'CLIENT_SECRET_ARNS="${Token[TOKEN.1]} ${Token[TOKEN.2]}"']));
  });

  test.each<[string, Partial<VpnConfigEnv>, string]>([
    ['a line break in a scalar', { PUBLIC_ADDRESS: '203.0.113.10\nREGION=evil' }, 'config.env: PUBLIC_ADDRESS must be one line'],
    ['a space in a list entry', { CLIENT_NAMES: ['admin 1'] }, 'config.env: each CLIENT_NAMES entry must be non-empty without whitespace'],
    ['a quote in a list entry', { CLIENT_SECRET_ARNS: ['arn"x'] }, 'config.env: each CLIENT_SECRET_ARNS entry must be'],
    ['an empty list entry', { CLIENT_NAMES: [''] }, 'config.env: each CLIENT_NAMES entry must be'],
  ])('refuses %s, which would break the file', (_what, change, message) => {
    expect(() => renderVpnConfigEnv({ ...config, ...change })).toThrow(message);
  });
});
