import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CasperNetwork, CasperNodeFleet, CasperNodeFleetProps } from '../src';
import { expectNagAndCfnLintClean } from './support/checks';
import { agnosticStack, assetFiles, expectRejected } from './support/stacks';

function fleetStack(props: Partial<CasperNodeFleetProps> = {}): { stack: Stack; fleet: CasperNodeFleet; t: Template } {
  const stack = agnosticStack();
  const fleet = new CasperNodeFleet(stack, 'Fleet', { network: CasperNetwork.TESTNET, ...props });
  return { stack, fleet, t: Template.fromStack(stack) };
}

/** Ingress rules of a security group, inline or as separate resources, as "source port". */
function ingressOf(t: Template, stack: Stack, group: ec2.ISecurityGroup): string[] {
  const id = stack.getLogicalId(group.node.defaultChild as any);
  const sg = t.toJSON().Resources[id];
  const inline = (sg.Properties.SecurityGroupIngress ?? []) as any[];
  const separate = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))
    .map((r) => r.Properties)
    .filter((p) => JSON.stringify(p.GroupId).includes(id));
  const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
  return [...inline, ...separate].map((r) => `${show(r.CidrIp ?? r.CidrIpv6 ?? r.SourceSecurityGroupId)} ${r.FromPort}`);
}

describe('CasperNodeFleet defaults (testnet)', () => {
  const { stack, fleet, t } = fleetStack();

  test('two members in one group across the VPC\'s AZs, ELB health after the bootstrap grace, rolling one at a time', () => {
    const asgs = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(asgs).toHaveLength(1);
    expect(asgs[0].Properties).toMatchObject({ MinSize: '2', MaxSize: '2', HealthCheckType: 'ELB', HealthCheckGracePeriod: 10800 });
    expect(asgs[0].Properties.VPCZoneIdentifier).toHaveLength(3);
    expect(asgs[0].UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ MaxBatchSize: 1, MinInstancesInService: 1, WaitOnResourceSignals: true });
    expect(asgs[0].CreationPolicy).toEqual({ ResourceSignal: { Count: 2, Timeout: 'PT3H' } });
    expect(asgs[0].Properties.TargetGroupARNs).toHaveLength(1);
  });

  test('an internal Network Load Balancer serving JSON-RPC (7777), health checked on GET :8889/healthz', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Type: 'network', Scheme: 'internal' });
    const listeners = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::Listener')).map((l) => l.Properties);
    expect(listeners.map((l) => `${l.Protocol} ${l.Port}`)).toEqual(['TCP 7777']);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 7777,
      Protocol: 'TCP',
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: '8889',
      HealthCheckPath: '/healthz',
      Matcher: { HttpCode: '200' },
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 5,
    });
    expect(fleet.rpcUrl).toMatch(/^http:\/\/\$\{Token\[.*\]\}:7777\/rpc$/);
  });

  test('the load balancer admits the VPC (and the RPC probe) only; the members admit the load balancer on 7777 and 8889', () => {
    const lbGroup = fleet.connections.securityGroups[0];
    expect(ingressOf(t, stack, lbGroup)).toEqual([expect.stringMatching(/NetworkVpc.*CidrBlock.* 7777$/), expect.stringMatching(/RpcProbeSecurityGroup.* 7777$/)]);
    const lbId = stack.getLogicalId(lbGroup.node.defaultChild as any);
    const fromLb = ingressOf(t, stack, fleet.memberSecurityGroup.securityGroup).filter((r) => r.includes(lbId));
    expect(fromLb.map((r) => r.split(' ').pop()).sort()).toEqual(['7777', '8889']);
  });

  test('one signing key per member, granted to the members\' role; config.json names them and turns the health endpoint on', () => {
    t.resourceCountIs('AWS::SecretsManager::Secret', 2);
    expect(fleet.memberNames).toEqual(['casper-test-fleet-0', 'casper-test-fleet-1']);
    const [config] = assetFiles(stack, 'config.json') as any[];
    expect(config.publicIp).toBe('');
    expect(config.fleet.nodeNames).toEqual(['casper-test-fleet-0', 'casper-test-fleet-1']);
    expect(config.fleet.signingKeySecretArns).toHaveLength(2);
    expect(config.healthEndpoint).toEqual({ port: 8889, maxBlockAgeSeconds: 600, minPeers: 3 });
    expect(config.health.signalWhenInSync).toBe(true);
  });

  test('the lifecycle runs in pool mode with two member slots and no Elastic IP', () => {
    t.resourceCountIs('AWS::EC2::EIP', 0);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MEMBER_SLOTS: '2', NODE_NAME: 'casper-test-fleet' }) },
    });
  });

  test('alarms: fewer healthy members than nodeCount, and none', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 2, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 5, MetricName: 'HealthyHostCount' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 1, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 2, MetricName: 'HealthyHostCount' });
    expect(fleet.metricHealthyMembers().metricName).toBe('HealthyHostCount');
    expect(fleet.memberMetrics[1].metricSynced().dimensions).toEqual({ NodeName: 'casper-test-fleet-1' });
  });

  test('each member has a single node\'s alarms, named after it; the lifecycle\'s failures are alarmed once', () => {
    const names = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => String(a.Properties.AlarmName));
    for (const member of ['casper-test-fleet-0', 'casper-test-fleet-1']) {
      expect(names).toEqual(expect.arrayContaining([`casper-${member}-node-down`, `casper-${member}-chain-stalled`, `casper-${member}-low-peers`]));
    }
    expect(fleet.memberAlarms).toHaveLength(2);
    expect(fleet.memberAlarms[0].maxBlockAgeSeconds).toBe(600);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'LifecycleFailures', Threshold: 1 });
    // Every alarm notifies the topic and waits for the members on the first deploy.
    const asgId = stack.getLogicalId(fleet.members.autoScalingGroup.node.defaultChild as any);
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.DependsOn).toContain(asgId);
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('FleetAlertsTopic');
    }
  });

  test('the RPC probe calls the load balancer from inside the VPC, allowed on 7777 only', () => {
    expect(fleet.rpcProbe).toBeDefined();
    t.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: Match.anyValue(),
      Environment: { Variables: Match.objectLike({ EXPECTED_CHAINSPEC: 'casper-test', MAX_BLOCK_AGE_SECONDS: '600' }) },
    });
    const lbGroup = fleet.connections.securityGroups[0];
    const probeGroupId = stack.getLogicalId(fleet.rpcProbe!.connections.securityGroups[0].node.defaultChild as any);
    expect(ingressOf(t, stack, lbGroup).filter((r) => r.includes(probeGroupId))).toEqual([expect.stringMatching(/ 7777$/)]);
  });

  test('a fleet dashboard with one line per member', () => {
    const dash = Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0];
    expect(dash.Properties.DashboardName).toBe('casper-test-fleet');
    const body = JSON.stringify(dash.Properties.DashboardBody);
    expect(body).toContain('casper-test-fleet-0');
    expect(body).toContain('casper-test-fleet-1');
    expect(body).toContain('HealthyHostCount');
  });

  test('cdk-nag and cfn-lint are clean', () => {
    expectNagAndCfnLintClean(stack);
  });
});

describe('CasperNodeFleet options', () => {
  test('internet-facing with allowed CIDRs, SSE and TLS: each listener admits exactly those CIDRs', () => {
    const stack = agnosticStack();
    const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111111111111:certificate/0b7a1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d');
    const fleet = new CasperNodeFleet(stack, 'Fleet', {
      network: CasperNetwork.TESTNET,
      nodeCount: 3,
      internetFacing: true,
      allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'],
      enableSse: true,
      enableTls: true,
      tlsCertificate: certificate,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
    const listeners = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::Listener')).map((l) => l.Properties);
    expect(listeners.map((l) => `${l.Protocol} ${l.Port}`).sort()).toEqual(['TCP 7777', 'TCP 9999', 'TLS 443']);
    expect(listeners.find((l) => l.Port === 443).Certificates).toEqual([{ CertificateArn: certificate.certificateArn }]);
    expect(ingressOf(t, stack, fleet.connections.securityGroups[0]).sort()).toEqual([
      '2001:db8::/32 443', '2001:db8::/32 7777', '2001:db8::/32 9999', '203.0.113.0/24 443', '203.0.113.0/24 7777', '203.0.113.0/24 9999',
    ]);
    const asg = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(asg.Properties.TargetGroupARNs).toHaveLength(3);
    // The VPC cannot reach an internet-facing load balancer's public addresses: no probe.
    expect(fleet.rpcProbe).toBeUndefined();
    expect(asg.UpdatePolicy.AutoScalingRollingUpdate.MinInstancesInService).toBe(2);
  });

  test('Spot and a seed snapshot', () => {
    const { t } = fleetStack({ spot: true, seedSnapshotId: 'snap-0123456789abcdef0' });
    const asg = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(asg.Properties.MixedInstancesPolicy.InstancesDistribution.OnDemandPercentageAboveBaseCapacity).toBe(0);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SEED_SNAPSHOT_ID: 'snap-0123456789abcdef0' }) },
    });
  });

  test('one member in a one-AZ VPC is accepted', () => {
    const stack = agnosticStack();
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'OneAz', {
      vpcId: 'vpc-0123456789abcdef0', vpcCidrBlock: '10.0.0.0/16', availabilityZones: ['us-east-1a'], publicSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1'],
    });
    const fleet = new CasperNodeFleet(stack, 'Fleet', { network: CasperNetwork.TESTNET, vpc, nodeCount: 1 });
    expect(fleet.memberNames).toEqual(['casper-test-fleet-0']);
  });
});

describe('CasperNodeFleet bad input is rejected at synth with a clear message and no resources', () => {
  const oneAzVpc = (stack: Stack): ec2.IVpc => ec2.Vpc.fromVpcAttributes(stack, 'OneAz', {
    vpcId: 'vpc-0123456789abcdef0', vpcCidrBlock: '10.0.0.0/16', availabilityZones: ['us-east-1a'], publicSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1'],
  });
  const cases: Array<[string, (stack: Stack) => Partial<CasperNodeFleetProps>, string]> = [
    ['nodeCount 0', () => ({ nodeCount: 0 }), 'CasperNodeFleet: invalid nodeCount 0: must be a whole number from 1 to 20 (construct Test/Fleet)'],
    ['nodeCount 21', () => ({ nodeCount: 21 }), 'CasperNodeFleet: invalid nodeCount 21: must be a whole number from 1 to 20 (construct Test/Fleet)'],
    ['TLS without a certificate', () => ({ enableTls: true }),
      'CasperNodeFleet: invalid tlsCertificate undefined: is required with enableTls: true'],
    ['internet-facing without CIDRs', () => ({ internetFacing: true }),
      'CasperNodeFleet: invalid allowedCidrs undefined: is required with internetFacing: true'],
    ['a VPC with one AZ for two members', (stack) => ({ vpc: oneAzVpc(stack) }),
      'CasperNodeFleet: invalid vpc ["us-east-1a"]: needs public subnets in at least 2 Availability Zones for 2 members'],
    ['a bad CIDR', () => ({ allowedCidrs: ['203.0.113.1/24'] }), 'CasperNodeFleet: invalid allowedCidrs "203.0.113.1/24": each entry must be an IPv4 CIDR'],
    ['a bad seed snapshot', () => ({ seedSnapshotId: 'vol-0123456789abcdef0' }), 'CasperNodeFleet: invalid seedSnapshotId "vol-0123456789abcdef0": must be an EBS snapshot id'],
    ['the health port on the RPC port', () => ({ healthCheckPort: 7777 }), 'CasperNodeFleet: invalid healthCheckPort 7777: must differ from the node\'s ports'],
    ['a fleet name too long for its members', () => ({ fleetName: 'f'.repeat(61) }), 'CasperNodeFleet: invalid fleetName'],
    ['a block age of 30 seconds', () => ({ maxBlockAge: Duration.seconds(30) }),
      'CasperNodeFleet: invalid maxBlockAge "30 seconds": must be from 1 minute to 2 hours'],
  ];
  test.each(cases)('%s', (_name, props, message) => {
    const stack = agnosticStack();
    const given = props(stack);
    expectRejected(stack, () => new CasperNodeFleet(stack, 'Fleet', { network: CasperNetwork.TESTNET, ...given }), message);
  });

  test('two fleets of one app are told apart by their paths', () => {
    const app = new App();
    const messages = ['A', 'B'].map((id) => {
      try {
        new CasperNodeFleet(new Stack(app, id), 'Fleet', { network: CasperNetwork.TESTNET, nodeCount: 0 });
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(messages[0]).toMatch(/\(construct A\/Fleet\)$/);
    expect(messages[1]).toMatch(/\(construct B\/Fleet\)$/);
  });
});
