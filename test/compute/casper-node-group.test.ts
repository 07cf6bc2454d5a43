import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AlertTopic, CasperAgentConfig, CasperNetwork, CasperNodeGroup, CasperNodeGroupProps, CasperNodeKeys, ConfigBucket } from '../../src';
import { expectNagAndCfnLintClean } from '../support/checks';
import { NODE_LAUNCH_TEMPLATE_DATA } from '../support/node-expectations';
import { agnosticStack, cfnResources, plainVpc } from '../support/stacks';

/** The parts a group boots from, built in `stack`. */
function parts(stack: Stack): Pick<CasperNodeGroupProps, 'vpc' | 'configBucket' | 'securityGroup' | 'keys' | 'nodeName' | 'notificationTopic'> {
  const vpc = plainVpc(stack);
  return {
    notificationTopic: new AlertTopic(stack, 'Alerts').topic,
    vpc,
    configBucket: new ConfigBucket(stack, 'Config'),
    securityGroup: new ec2.SecurityGroup(stack, 'Sg', { vpc }),
    keys: new CasperNodeKeys(stack, 'Keys'),
    nodeName: 'solo',
  };
}

describe('CasperNodeGroup on its own', () => {
  const stack = agnosticStack();
  const agent = new CasperAgentConfig(stack, 'Agent', { network: CasperNetwork.TESTNET, nodeName: 'solo' });
  const group = new CasperNodeGroup(stack, 'Group', { ...parts(stack), agentConfig: agent });
  const t = Template.fromStack(stack);

  test('a group of one that waits for the success signal, in the public subnets, after the config upload', () => {
    const asgs = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(asgs).toHaveLength(1);
    expect(asgs[0].Properties).toMatchObject({ MinSize: '1', MaxSize: '1', HealthCheckType: 'EC2', HealthCheckGracePeriod: 5400 });
    expect(asgs[0].Properties.VPCZoneIdentifier).toEqual(['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2']);
    expect(asgs[0].CreationPolicy).toEqual({ ResourceSignal: { Count: 1, Timeout: 'PT1H30M' } });
    expect(asgs[0].DependsOn.some((d: string) => d.startsWith('ConfigDeploy'))).toBe(true);
    expect(group.subnets.map((s) => s.subnetId)).toEqual(['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2']);
  });

  test('IMDSv2, encrypted gp3 root, Ubuntu 22.04 amd64, the user data of the shipped template', () => {
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike(NODE_LAUNCH_TEMPLATE_DATA),
    });
    const lt = Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0];
    const userData = JSON.stringify(lt.Properties.LaunchTemplateData.UserData);
    expect(userData).not.toMatch(/__[A-Z_]+__/);
    expect(userData).toContain('5400');
  });

  test('connections and grantPrincipal are the security group and the role', () => {
    const other = agnosticStack();
    const g = new CasperNodeGroup(other, 'Group', parts(other));
    expect(g.grantPrincipal).toBe(g.role);
    g.connections.allowFrom(ec2.Peer.ipv4('198.51.100.0/24'), ec2.Port.tcp(8889), 'health checks');
    g.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: ['arn:aws:s3:::example'] }));
    const t2 = Template.fromStack(other);
    t2.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: '198.51.100.0/24', FromPort: 8889 })]),
    });
    t2.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: other.getLogicalId(g.role.node.defaultChild as any) }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 's3:ListBucket' })]) },
    });
  });

  test('self-healing: SetInstanceHealth on its own group only', () => {
    const policies = Object.values(t.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: { Action: unknown }) => s.Action === 'autoscaling:SetInstanceHealth');
    expect(policies).toHaveLength(1);
    expect(JSON.stringify(policies[0].Resource)).toContain('autoScalingGroupName/');
    expect(JSON.stringify(policies[0].Resource)).toContain(stack.getLogicalId(group.autoScalingGroup.node.defaultChild as any));
  });

  test('cdk-nag and cfn-lint are clean', () => {
    expectNagAndCfnLintClean(stack);
  });
});

describe('CasperNodeGroup sizes and errors', () => {
  test('capacity 3 keeps three instances and waits for three signals', () => {
    const stack = agnosticStack();
    new CasperNodeGroup(stack, 'Group', { ...parts(stack), capacity: 3, bootstrapTimeout: Duration.hours(2) });
    const asg = Object.values(Template.fromStack(stack).findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(asg.Properties).toMatchObject({ MinSize: '3', MaxSize: '3', HealthCheckGracePeriod: 7200 });
    expect(asg.CreationPolicy).toEqual({ ResourceSignal: { Count: 3, Timeout: 'PT2H' } });
  });

  test('a family without SHA extensions warns on the group', () => {
    const stack = agnosticStack();
    new CasperNodeGroup(stack, 'Group', { ...parts(stack), instanceType: new ec2.InstanceType('c5.2xlarge') });
    Annotations.fromStack(stack).hasWarning('/Test/Group', Match.stringLikeRegexp('c5 family'));
  });

  const cases: Array<[string, Partial<CasperNodeGroupProps>, string]> = [
    ['capacity 0', { capacity: 0 }, 'CasperNodeGroup: invalid capacity 0: must be a whole number from 1 to 20 (construct Test/Group)'],
    ['capacity 21', { capacity: 21 }, 'CasperNodeGroup: invalid capacity 21: must be a whole number from 1 to 20 (construct Test/Group)'],
    ['a bad node name', { nodeName: 'no spaces' }, 'CasperNodeGroup: invalid nodeName "no spaces": must be 1 to 63 letters'],
    ['a small root volume', { rootVolumeSizeGiB: 8 }, 'CasperNodeGroup: invalid rootVolumeSizeGiB 8: must be a whole number of GiB from 20 to 1024'],
    ['a short bootstrap', { bootstrapTimeout: Duration.seconds(1799.5) },
      'CasperNodeGroup: invalid bootstrapTimeout "1799500 milliseconds": must be from 30 minutes to 12 hours (construct Test/Group)'],
    ['an ARM type', { instanceType: new ec2.InstanceType('c7g.2xlarge') }, 'is an ARM (Graviton) type'],
  ];
  test.each(cases)('%s is rejected before anything is built', (_name, props, message) => {
    const stack = agnosticStack();
    const given = parts(stack);
    const before = cfnResources(stack).length;
    expect(() => new CasperNodeGroup(stack, 'Group', { ...given, ...props })).toThrow(message);
    expect(cfnResources(stack)).toHaveLength(before);
  });

  test('two groups with the same bad input are told apart by their paths', () => {
    const app = new App();
    const messages = ['One', 'Two'].map((id) => {
      const stack = new Stack(app, id);
      try {
        new CasperNodeGroup(stack, 'Group', { ...parts(stack), capacity: 0 });
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    });
    expect(messages).toEqual([
      'CasperNodeGroup: invalid capacity 0: must be a whole number from 1 to 20 (construct One/Group)',
      'CasperNodeGroup: invalid capacity 0: must be a whole number from 1 to 20 (construct Two/Group)',
    ]);
  });
});

describe('CasperNodeGroup for fleets', () => {
  test('ELB health checks after the bootstrap grace period, and rolling updates one at a time', () => {
    const stack = agnosticStack();
    new CasperNodeGroup(stack, 'Group', { ...parts(stack), capacity: 3, elbHealthCheck: true, rollingUpdate: true });
    const asg = Object.values(Template.fromStack(stack).findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(asg.Properties).toMatchObject({ HealthCheckType: 'ELB', HealthCheckGracePeriod: 5400 });
    expect(asg.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({
      MaxBatchSize: 1, MinInstancesInService: 2, WaitOnResourceSignals: true, PauseTime: 'PT1H30M',
    });
  });

  test('Spot: capacity-optimized over the checked types, instanceType first, capacity rebalancing', () => {
    const stack = agnosticStack();
    new CasperNodeGroup(stack, 'Group', { ...parts(stack), spot: true, instanceType: new ec2.InstanceType('r6i.2xlarge') });
    const asg = Object.values(Template.fromStack(stack).findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(asg.Properties.LaunchTemplate).toBeUndefined();
    expect(asg.Properties.CapacityRebalance).toBe(true);
    const policy = asg.Properties.MixedInstancesPolicy;
    expect(policy.InstancesDistribution).toEqual({
      OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0, SpotAllocationStrategy: 'capacity-optimized-prioritized',
    });
    expect(policy.LaunchTemplate.Overrides.map((o: { InstanceType: string }) => o.InstanceType)).toEqual([
      'r6i.2xlarge', 'm6a.2xlarge', 'm7a.2xlarge', 'm6i.2xlarge', 'm7i.2xlarge', 'm5a.2xlarge', 'r6a.2xlarge', 'c6a.4xlarge', 'c6i.4xlarge',
    ]);
  });

  test.each([
    ['a Graviton Spot type', { spot: true, spotInstanceTypes: [new ec2.InstanceType('m7g.2xlarge')] },
      'CasperNodeGroup: invalid spotInstanceTypes "m7g.2xlarge": each type must run the node: "m7g.2xlarge" is an ARM (Graviton) type'],
    ['a Spot type without SHA', { spot: true, spotInstanceTypes: [new ec2.InstanceType('m5.2xlarge')] },
      'CasperNodeGroup: invalid spotInstanceTypes "m5.2xlarge": each type must run the node: instance type m5.2xlarge: the m5 family\'s CPUs may lack'],
    ['Spot types without spot', { spotInstanceTypes: [new ec2.InstanceType('m6a.2xlarge')] },
      'CasperNodeGroup: invalid spotInstanceTypes ["m6a.2xlarge"]: only applies with spot: true'],
  ] as Array<[string, Partial<CasperNodeGroupProps>, string]>)('%s is rejected', (_name, props, message) => {
    const stack = agnosticStack();
    const given = parts(stack);
    expect(() => new CasperNodeGroup(stack, 'Group', { ...given, ...props })).toThrow(message);
  });
});
