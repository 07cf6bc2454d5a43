import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CasperElasticIp, CasperNetwork, CasperNodeSecurityGroup, CasperVpc, SshAccess } from '../src';
import { cfnLint, expectCfnLintClean, nagFindings } from './support/checks';
import { agnosticStack, concreteStack } from './support/stacks';

/** Every construct of the network layer in one stack. */
function networkStack(stack: Stack): Stack {
  const net = new CasperVpc(stack, 'Net');
  const admin = new ec2.SecurityGroup(stack, 'AdminSg', { vpc: net.vpc, description: 'stand-in for a VPN server' });
  new CasperNodeSecurityGroup(stack, 'NodeSg', {
    vpc: net.vpc,
    network: CasperNetwork.TESTNET,
    sshAccess: SshAccess.fromSecurityGroup(admin),
    rpcPeers: [ec2.Peer.ipv4('198.51.100.0/24')],
  });
  new CasperElasticIp(stack, 'Ip', { nodeName: 'testnet-reader' });
  return stack;
}

describe.each([
  ['environment-agnostic', () => networkStack(agnosticStack('Agnostic'))],
  ['us-east-1', () => networkStack(concreteStack(undefined, 'Concrete'))],
])('network constructs in a %s stack', (_name, build) => {
  test('cdk-nag AwsSolutions: no unacknowledged finding', () => {
    expect(nagFindings(build())).toEqual([]);
  });

  test('cfn-lint: no error, and no warning beyond the accepted ones', () => {
    expectCfnLintClean(build());
  });
});

describe('the checks can fail', () => {
  test('cdk-nag reports an open security group nobody acknowledged', () => {
    const stack = agnosticStack();
    const vpc = new CasperVpc(stack, 'Net');
    const sg = new ec2.SecurityGroup(stack, 'Open', { vpc: vpc.vpc });
    sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(3306));
    expect(nagFindings(stack).map((f) => f.rule)).toContain('AwsSolutions-EC23');
  });

  test('cfn-lint reports an invalid template', () => {
    const stack = agnosticStack();
    new ec2.CfnSecurityGroup(stack, 'Broken', { groupDescription: 'x', vpcId: 'not-a-vpc-id' })
      .addPropertyOverride('SecurityGroupIngress', [{ IpProtocol: 'tcp', FromPort: 'eighty' }]);
    expect(cfnLint(stack).errors.length).toBeGreaterThan(0);
  });
});
