import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { SshAccess } from '../../src';
import { describeSshAccess } from '../../src/private/ssh';
import {
  CasperValidationError, describeDuration, ownerOf, parseCidr, parseIpv4Cidr, parseIpv6Cidr, showValue, validateCidr, validateDuration,
  validateInteger,
} from '../../src/private/validation';

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

describe('owners name the construct path', () => {
  test('ownerOf gives the class and the construct path', () => {
    const stack = new Stack(new App(), 'MyStack');
    const node = new Construct(stack, 'Node');
    expect(ownerOf(node, 'CasperReadOnlyNode')).toEqual({ name: 'CasperReadOnlyNode', path: 'MyStack/Node' });
    expect(ownerOf(new Construct(node, 'Vpn'), 'OpenVpnServer')).toEqual({ name: 'OpenVpnServer', path: 'MyStack/Node/Vpn' });
  });

  test('the message ends with the path when the owner has one', () => {
    expect(new CasperValidationError({ name: 'X', path: 'S/N' }, 'port', 0, 'no').message).toBe('X: invalid port 0: no (construct S/N)');
  });

  test('a string owner, or one without a path, gives no path', () => {
    expect(new CasperValidationError('CasperNetwork.custom', 'restPort', 22, 'no').message).toBe('CasperNetwork.custom: invalid restPort 22: no');
    expect(new CasperValidationError({ name: 'X' }, 'port', 0, 'no').message).toBe('X: invalid port 0: no');
  });

  test('two constructs of one class give different messages for the same input', () => {
    const app = new App();
    const a = ownerOf(new Construct(new Stack(app, 'A'), 'Node'), 'C');
    const b = ownerOf(new Construct(new Stack(app, 'B'), 'Node'), 'C');
    const message = (owner: typeof a) => new CasperValidationError(owner, 'p', 1, 'no').message;
    expect(message(a)).not.toBe(message(b));
  });

  test('the error is a CasperValidationError by name', () => {
    expect(new CasperValidationError('X', 'p', 1, 'no').name).toBe('CasperValidationError');
  });
});

describe('validateInteger', () => {
  const owner = { name: 'X', path: 'S/X' };

  test.each([1, 5, 10])('returns %p when in range, bounds included', (value) => {
    expect(validateInteger(owner, 'n', value, 1, 10)).toBe(value);
  });

  test.each([0, 11, 2.5, NaN, Infinity, -1])('rejects %p', (value) => {
    expect(() => validateInteger(owner, 'n', value, 1, 10))
      .toThrow(`X: invalid n ${showValue(value)}: must be a whole number from 1 to 10 (construct S/X)`);
  });

  test('names the unit when given', () => {
    expect(() => validateInteger('X', 'size', 7, 8, 100, 'GiB')).toThrow('X: invalid size 7: must be a whole number of GiB from 8 to 100');
  });
});

describe('validateDuration', () => {
  const owner = { name: 'X', path: 'S/X' };

  test.each([Duration.minutes(2), Duration.minutes(30), Duration.hours(2)])('returns %s when in range, bounds included', (value) => {
    expect(validateDuration(owner, 'd', value, Duration.minutes(2), Duration.hours(2))).toBe(value);
  });

  test.each([
    [Duration.seconds(119), '"1 minute 59 seconds"'],
    [Duration.seconds(119.5), '"119500 milliseconds"'],
    [Duration.millis(7200001), '"7200001 milliseconds"'],
    [Duration.hours(3), '"3 hours"'],
    [Duration.seconds(NaN), '"NaN milliseconds"'],
  ])('rejects %s, printed exactly as %s', (value, shown) => {
    expect(() => validateDuration(owner, 'd', value, Duration.minutes(2), Duration.hours(2)))
      .toThrow(`X: invalid d ${shown}: must be from 2 minutes to 2 hours (construct S/X)`);
  });

  test('prints fractional bounds exactly', () => {
    expect(() => validateDuration('X', 'latency', Duration.seconds(5), Duration.millis(50), Duration.millis(4500)))
      .toThrow('X: invalid latency "5 seconds": must be from 50 milliseconds to 4500 milliseconds');
  });

  test('adds the reason for the bounds when given', () => {
    expect(() => validateDuration('X', 'd', Duration.days(2), Duration.minutes(1), Duration.days(1), 'the API allows at most a day'))
      .toThrow('X: invalid d "2 days": must be from 1 minute to 1 day (the API allows at most a day)');
  });

  test('describeDuration keeps what toHumanString drops', () => {
    expect(Duration.seconds(90.5).toHumanString()).toBe('1 minute 30 seconds');
    expect(describeDuration(Duration.seconds(90.5))).toBe('90500 milliseconds');
    expect(describeDuration(Duration.seconds(90))).toBe('1 minute 30 seconds');
  });
});

describe('validateCidr', () => {
  test.each(['203.0.113.0/24', '0.0.0.0/0', '2001:db8::/32', '::/0'])('accepts %s', (cidr) => {
    expect(() => validateCidr('X', 'cidr', cidr)).not.toThrow();
  });

  test.each(['203.0.113.7/24', '203.0.113.0/33', '2001:db8::/129', 'anywhere', ''])('rejects %p', (cidr) => {
    expect(() => validateCidr({ name: 'X', path: 'S/X' }, 'cidr', cidr)).toThrow(
      `X: invalid cidr ${JSON.stringify(cidr)}: must be an IPv4 CIDR such as "203.0.113.0/24" (host bits zero) or an IPv6 CIDR such as "2001:db8::/32" (construct S/X)`);
  });
});
