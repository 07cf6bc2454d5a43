import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CasperNetwork, CasperNodeSecurityGroup, SshAccess } from '../../src';
import { agnosticStack, expectRejected, plainVpc } from '../support/stacks';

interface Ingress {
  readonly CidrIp?: string;
  readonly CidrIpv6?: string;
  readonly SourceSecurityGroupId?: unknown;
  readonly FromPort: number;
  readonly ToPort: number;
  readonly IpProtocol: string;
}

/** All ingress rules of the node's security group, inline or separate. */
function ingressRules(t: Template): Ingress[] {
  const groups = Object.values(t.findResources('AWS::EC2::SecurityGroup'));
  const inline = groups.flatMap((g) => (g.Properties.SecurityGroupIngress ?? []) as Ingress[]);
  const separate = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties as Ingress);
  return [...inline, ...separate];
}

function sources(rules: Ingress[], port: number): unknown[] {
  return rules.filter((r) => r.FromPort === port && r.ToPort === port)
    .map((r) => r.CidrIp ?? r.CidrIpv6 ?? r.SourceSecurityGroupId);
}

describe('CasperNodeSecurityGroup', () => {
  test('defaults: gossip and status public (IPv4+IPv6), RPC and SSE only from the VPC, no SSH', () => {
    const stack = agnosticStack();
    new CasperNodeSecurityGroup(stack, 'Sg', { vpc: plainVpc(stack) });
    const rules = ingressRules(Template.fromStack(stack));

    expect(sources(rules, 35000).sort()).toEqual(['0.0.0.0/0', '::/0']);
    expect(sources(rules, 8888).sort()).toEqual(['0.0.0.0/0', '::/0']);
    expect(sources(rules, 7777)).toEqual(['10.0.0.0/16']);
    expect(sources(rules, 9999)).toEqual(['10.0.0.0/16']);
    expect(sources(rules, 22)).toEqual([]);
    expect(rules.every((r) => r.IpProtocol === 'tcp')).toBe(true);
    // Nothing beyond the five Casper/SSH ports is open.
    expect(new Set(rules.map((r) => r.FromPort))).toEqual(new Set([35000, 8888, 7777, 9999]));
  });

  test('egress allowed for IPv4 and IPv6', () => {
    const stack = agnosticStack();
    new CasperNodeSecurityGroup(stack, 'Sg', { vpc: plainVpc(stack) });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.arrayWith([
        Match.objectLike({ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }),
        Match.objectLike({ CidrIpv6: '::/0', IpProtocol: '-1' }),
      ]),
    });
  });

  test('status port closed to the internet when publicStatusPort is false', () => {
    const stack = agnosticStack();
    new CasperNodeSecurityGroup(stack, 'Sg', { vpc: plainVpc(stack), publicStatusPort: false });
    expect(sources(ingressRules(Template.fromStack(stack)), 8888)).toEqual(['10.0.0.0/16']);
  });

  test('RPC and SSE peers are added to the VPC', () => {
    const stack = agnosticStack();
    new CasperNodeSecurityGroup(stack, 'Sg', {
      vpc: plainVpc(stack),
      rpcPeers: [ec2.Peer.ipv4('198.51.100.0/24')],
      ssePeers: [ec2.Peer.ipv6('2001:db8::/48')],
    });
    const rules = ingressRules(Template.fromStack(stack));
    expect(sources(rules, 7777).sort()).toEqual(['10.0.0.0/16', '198.51.100.0/24']);
    expect(sources(rules, 9999).sort()).toEqual(['10.0.0.0/16', '2001:db8::/48']);
  });

  test('ports follow the network', () => {
    const stack = agnosticStack();
    new CasperNodeSecurityGroup(stack, 'Sg', {
      vpc: plainVpc(stack),
      network: CasperNetwork.custom({ chainspecName: 'dev', gossipPort: 36000, restPort: 18888, rpcPort: 17777, ssePort: 19999 }),
    });
    const ports = new Set(ingressRules(Template.fromStack(stack)).map((r) => r.FromPort));
    expect(ports).toEqual(new Set([36000, 18888, 17777, 19999]));
  });

  test('SSH from listed IPv4 and IPv6 CIDRs', () => {
    const stack = agnosticStack();
    new CasperNodeSecurityGroup(stack, 'Sg', {
      vpc: plainVpc(stack),
      sshAccess: SshAccess.fromCidrs(['203.0.113.0/24', '2001:db8:1::/48']),
    });
    expect(sources(ingressRules(Template.fromStack(stack)), 22).sort()).toEqual(['2001:db8:1::/48', '203.0.113.0/24']);
  });

  test('SSH only from a security group (the VPN)', () => {
    const stack = agnosticStack();
    const vpc = plainVpc(stack);
    const vpn = new ec2.SecurityGroup(stack, 'Vpn', { vpc });
    new CasperNodeSecurityGroup(stack, 'Sg', { vpc, sshAccess: SshAccess.fromSecurityGroup(vpn) });
    const ssh = sources(ingressRules(Template.fromStack(stack)), 22);
    expect(ssh).toEqual([{ 'Fn::GetAtt': [stack.getLogicalId(vpn.node.defaultChild as ec2.CfnSecurityGroup), 'GroupId'] }]);
  });

  test('allowSshFrom adds a source later', () => {
    const stack = agnosticStack();
    const sg = new CasperNodeSecurityGroup(stack, 'Sg', { vpc: plainVpc(stack) });
    sg.allowSshFrom(ec2.Peer.ipv4('192.0.2.10/32'));
    expect(sources(ingressRules(Template.fromStack(stack)), 22)).toEqual(['192.0.2.10/32']);
  });

  test('SSH from anywhere with the explicit opt-in', () => {
    const stack = agnosticStack();
    new CasperNodeSecurityGroup(stack, 'Sg', {
      vpc: plainVpc(stack),
      sshAccess: SshAccess.fromCidrs(['0.0.0.0/0']),
      allowSshFromAnywhere: true,
    });
    expect(sources(ingressRules(Template.fromStack(stack)), 22)).toEqual(['0.0.0.0/0']);
  });

  test('is connectable and acknowledges EC23 with a reason', () => {
    const stack = agnosticStack();
    const sg = new CasperNodeSecurityGroup(stack, 'Sg', { vpc: plainVpc(stack) });
    expect(sg.connections.securityGroups).toEqual([sg.securityGroup]);
    const meta = Template.fromStack(stack).findResources('AWS::EC2::SecurityGroup');
    const suppressions = Object.values(meta)[0].Metadata.cdk_nag.rules_to_suppress;
    expect(suppressions).toEqual([{ id: 'AwsSolutions-EC23', reason: expect.stringContaining('gossip') }]);
  });

  describe('bad input', () => {
    test('malformed SSH CIDR', () => {
      const stack = agnosticStack();
      const vpc = plainVpc(stack);
      expectRejected(stack, () => new CasperNodeSecurityGroup(stack, 'Sg', { vpc, sshAccess: SshAccess.fromCidrs(['203.0.113.0/33']) }),
        'CasperNodeSecurityGroup: invalid sshAccess "203.0.113.0/33": each SSH source must be an IPv4 CIDR');
    });

    test('SSH CIDR that is a bare address', () => {
      const stack = agnosticStack();
      const vpc = plainVpc(stack);
      expectRejected(stack, () => new CasperNodeSecurityGroup(stack, 'Sg', { vpc, sshAccess: SshAccess.fromCidrs(['203.0.113.7']) }),
        /invalid sshAccess "203.0.113.7"/);
    });

    test.each(['0.0.0.0/0', '::/0'])('SSH from anywhere (%s) without the opt-in', (cidr) => {
      const stack = agnosticStack();
      const vpc = plainVpc(stack);
      expectRejected(stack, () => new CasperNodeSecurityGroup(stack, 'Sg', { vpc, sshAccess: SshAccess.fromCidrs([cidr]) }),
        `CasperNodeSecurityGroup: invalid sshAccess "${cidr}": SSH from the whole internet is refused unless allowSshFromAnywhere is true`);
    });

    test('an empty SSH CIDR list', () => {
      const stack = agnosticStack();
      const vpc = plainVpc(stack);
      expectRejected(stack, () => new CasperNodeSecurityGroup(stack, 'Sg', { vpc, sshAccess: SshAccess.fromCidrs([]) }),
        'CasperNodeSecurityGroup: invalid sshAccess []: SshAccess.fromCidrs needs at least one CIDR block');
    });

    test('a port out of range in the network', () => {
      expect(() => CasperNetwork.custom({ chainspecName: 'dev', gossipPort: 70000 })).toThrow(
        'CasperNetwork.custom: invalid gossipPort 70000: a port must be an integer from 1 to 65535');
    });
  });
});
