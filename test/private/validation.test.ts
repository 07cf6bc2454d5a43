import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { SshAccess } from '../../src';
import { describeSshAccess } from '../../src/private/ssh';
import { CasperValidationError, parseCidr, parseIpv4Cidr, parseIpv6Cidr, showValue } from '../../src/private/validation';

describe('CIDR parsing', () => {
  test.each([
    ['10.0.0.0/16', 16], ['192.168.1.0/24', 24], ['0.0.0.0/0', 0], ['203.0.113.7/32', 32],
  ])('IPv4 %s is valid with prefix %d', (cidr, prefix) => {
    expect(parseIpv4Cidr(cidr)).toEqual({ version: 4, prefixLength: prefix });
  });

  test.each([
    '10.0.0.0', '10.0.0/16', '256.0.0.0/16', '10.0.0.0/33', '10.0.0.1/16', '010.0.0.0/16', 'ten/8', '10.0.0.0/16 ',
  ])('IPv4 %p is rejected', (cidr) => {
    expect(parseIpv4Cidr(cidr)).toBeUndefined();
  });

  test.each([
    ['2001:db8::/32', 32], ['::/0', 0], ['fe80::1/128', 128], ['2001:db8:0:0:0:0:0:1/64', 64],
  ])('IPv6 %s is valid with prefix %d', (cidr, prefix) => {
    expect(parseIpv6Cidr(cidr)).toEqual({ version: 6, prefixLength: prefix });
  });

  test.each(['2001:db8::/129', '2001::db8::/32', '2001:db8:/32x', 'g::/8', '1:2:3:4:5:6:7:8:9/64', '2001:db8::'])(
    'IPv6 %p is rejected', (cidr) => {
      expect(parseIpv6Cidr(cidr)).toBeUndefined();
    });

  test('parseCidr accepts both families', () => {
    expect(parseCidr('10.1.0.0/16')?.version).toBe(4);
    expect(parseCidr('2001:db8::/48')?.version).toBe(6);
    expect(parseCidr('nope')).toBeUndefined();
  });
});

describe('error messages show the value the user passed', () => {
  test('plain data as JSON', () => {
    expect(showValue('10.0.0.0/8')).toBe('"10.0.0.0/8"');
    expect(showValue(70000)).toBe('70000');
    expect(showValue({ clientCount: 3 })).toBe('{"clientCount":3}');
    expect(new CasperValidationError('X', 'cidr', '10.0.0.0/8', 'no').message).toBe('X: invalid cidr "10.0.0.0/8": no');
  });

  test('an object JSON cannot show, by its keys', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(showValue(cyclic)).toBe('{ a, self }');
  });

  test('an SshAccess as it is written, never its kind', () => {
    const stack = new Stack();
    const sg = new ec2.SecurityGroup(stack, 'Vpn', { vpc: new ec2.Vpc(stack, 'Vpc', { natGateways: 0 }) });
    expect(showValue(describeSshAccess(SshAccess.fromCidrs(['203.0.113.0/24', '2001:db8::/48']))))
      .toBe('SshAccess.fromCidrs(["203.0.113.0/24","2001:db8::/48"])');
    expect(showValue(describeSshAccess(SshAccess.fromSecurityGroup(sg)))).toBe('SshAccess.fromSecurityGroup(Default/Vpn)');
    expect(showValue(describeSshAccess(SshAccess.none()))).toBe('SshAccess.none()');
  });
});
