import { checkInstanceType } from '../../src/private/instance-type';

describe('checkInstanceType', () => {
  test.each(['m6a.2xlarge', 'm6i.2xlarge', 'r6a.xlarge', 'm7a.2xlarge', 'c6a.4xlarge', 'g4dn.2xlarge', 'mac1.metal', 't3a.2xlarge',
    // AMD EPYC (Zen) families of the 5th generation have the SHA extensions.
    'm5a.2xlarge', 'm5ad.2xlarge', 'r5a.xlarge', 'r5ad.xlarge', 'c5a.4xlarge', 'c5ad.4xlarge'])(
    '%s is fine', (t) => {
      expect(checkInstanceType(t)).toEqual({});
    });

  test.each(['t2.2xlarge', 't3.2xlarge', 'm4.2xlarge', 'm5.2xlarge', 'm5d.2xlarge', 'm5zn.2xlarge', 'm5n.2xlarge', 'm5dn.2xlarge',
    'r4.xlarge', 'r5.xlarge', 'r5b.xlarge', 'r5d.xlarge', 'r5n.xlarge', 'r5dn.xlarge', 'c4.4xlarge', 'c5.4xlarge', 'c5d.4xlarge', 'c5n.4xlarge'])(
    '%s warns about SHA extensions', (t) => {
      const r = checkInstanceType(t);
      expect(r.error).toBeUndefined();
      expect(r.warning).toContain(`instance type ${t}: the ${t.split('.')[0]} family's CPUs may lack the SHA extensions`);
    });

  test.each(['m6g.2xlarge', 'm7gd.2xlarge', 'c7gn.4xlarge', 'r8g.xlarge', 't4g.2xlarge', 'x2gd.xlarge', 'im4gn.large', 'g5g.2xlarge', 'a1.4xlarge', 'mac2.metal'])(
    '%s is rejected as ARM', (t) => {
      expect(checkInstanceType(t).error).toBe(`"${t}" is an ARM (Graviton) type; Casper publishes x86-64 (amd64) binaries only`);
    });

  test('a malformed name is rejected', () => {
    expect(checkInstanceType('m6a').error).toContain('is not an EC2 instance type name');
  });
});
