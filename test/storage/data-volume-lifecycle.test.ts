import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { DataVolumeLifecycle, DataVolumeLifecycleProps } from '../../src';
import { expectCfnLintClean, nagFindings } from '../support/checks';
import { lifecycleGroup } from '../support/lifecycle-group';
import { agnosticStack, expectRejected } from '../support/stacks';

function setup(props: Partial<DataVolumeLifecycleProps> = {}) {
  const stack = agnosticStack();
  const { vpc, asg } = lifecycleGroup(stack);
  const eip = new ec2.CfnEIP(stack, 'Eip');
  const lifecycle = new DataVolumeLifecycle(stack, 'Lifecycle', {
    autoScalingGroup: asg, nodeName: 'reader-1', elasticIpAllocationId: eip.attrAllocationId, groupSubnets: vpc.publicSubnets, ...props,
  });
  return { stack, asg, lifecycle, t: Template.fromStack(stack) };
}

function statements(stack: Stack, lifecycle: DataVolumeLifecycle) {
  const policy = Template.fromStack(stack).findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: stack.getLogicalId(lifecycle.role.node.defaultChild as any) }], PolicyName: Match.stringLikeRegexp('Lifecycle') },
  });
  return Object.values(policy).flatMap((p) => p.Properties.PolicyDocument.Statement) as any[];
}

describe('DataVolumeLifecycle', () => {
  test('hooks live inside the group, so the first instance is served', () => {
    const { t, asg, stack } = setup();
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      LifecycleHookSpecificationList: [
        { LifecycleHookName: 'reader-1-data-volume-launch', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', DefaultResult: 'ABANDON', HeartbeatTimeout: 900 },
        { LifecycleHookName: 'reader-1-data-volume-terminate', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', DefaultResult: 'CONTINUE', HeartbeatTimeout: 600 },
      ],
      Tags: Match.arrayWith([{ Key: 'casper:node', PropagateAtLaunch: true, Value: 'reader-1' }]),
    });
    t.resourceCountIs('AWS::AutoScaling::LifecycleHook', 0);
    const group = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    // The group waits for everything its first launch needs.
    for (const prefix of ['LifecycleHandler', 'LifecyclePolicy', 'LifecycleRule', 'LifecycleWorkflow', 'LifecycleStarter', 'LifecycleStarterPolicy']) {
      expect(group.DependsOn.some((d: string) => d.startsWith(prefix))).toBe(true);
    }
    // ...and nothing it waits for references the group (that would be a cycle): only
    // the failed-launch rule does, which the group does not wait for.
    const groupId = stack.getLogicalId(asg.node.defaultChild as any);
    const referencing = Object.entries(t.toJSON().Resources).filter(([id, r]) => id.startsWith('Lifecycle') && JSON.stringify(r).includes(groupId));
    expect(referencing.map(([id]) => id)).toEqual([expect.stringMatching(/^LifecycleLaunchFailures/)]);
    expect(group.DependsOn.some((d: string) => d.startsWith('LifecycleLaunchFailures'))).toBe(false);
  });

  test('the rules route both hooks and failed launches to the starter', () => {
    const { t, stack, lifecycle, asg } = setup();
    const starter = { 'Fn::GetAtt': [stack.getLogicalId(lifecycle.starter.node.defaultChild as any), 'Arn'] };
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.autoscaling'],
        'detail-type': ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance-terminate Lifecycle Action'],
        'detail': { LifecycleHookName: ['reader-1-data-volume-launch', 'reader-1-data-volume-terminate'] },
      },
      Targets: [Match.objectLike({ Arn: starter, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 } })],
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.autoscaling'],
        'detail-type': ['EC2 Instance Launch Unsuccessful'],
        'detail': { AutoScalingGroupName: [{ Ref: stack.getLogicalId(asg.node.defaultChild as any) }] },
      },
      Targets: [Match.objectLike({ Arn: starter })],
    });
  });

  test('the workflow: a standard state machine bounded by the launch hook\'s global timeout, logged and traced', () => {
    const { t, stack, lifecycle } = setup({ moveTimeout: Duration.hours(6) });
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
    const [machine] = Object.values(t.findResources('AWS::StepFunctions::StateMachine'));
    expect(JSON.stringify(machine.Properties.DefinitionString)).toContain('\\"TimeoutSeconds\\":25200');
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ STATE_MACHINE_ARN: { Ref: stack.getLogicalId(lifecycle.stateMachine.node.defaultChild as any) } }),
      },
    });
    // Heartbeats come from the workflow's own role, on this stack's groups.
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'autoscaling:RecordLifecycleActionHeartbeat' })]) },
    });
  });

  test('steps: Node.js 22, 2 minutes (a step never waits), configuration in the environment', () => {
    const { t } = setup({
      volumeSizeGiB: 800,
      volumeIops: 4000,
      volumeThroughputMibps: 250,
      keepOldVolume: true,
      metricsNamespace: 'casper-casper-test',
      moveTimeout: Duration.hours(10),
      maxMoveAttempts: 2,
      lifecycleSnapshotsToKeep: 5,
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Timeout: 120,
      Environment: {
        Variables: Match.objectLike({
          NODE_NAME: 'reader-1',
          VOLUME_SIZE_GIB: '800',
          VOLUME_IOPS: '4000',
          VOLUME_THROUGHPUT_MIBPS: '250',
          DEVICE_NAME: '/dev/sdf',
          INSTANCE_TAG_KEY: 'casper:data-volume',
          KEEP_OLD_VOLUME: 'true',
          MOVE_TIMEOUT_SECONDS: '36000',
          MAX_MOVE_ATTEMPTS: '2',
          KEEP_LIFECYCLE_SNAPSHOTS: '5',
          METRIC_NAMESPACE: 'casper-casper-test',
          VOLUME_KMS_KEY_ID: '',
          GROUP_SUBNETS: { 'Fn::Join': [',', Match.arrayWith([Match.objectLike({ 'Fn::Join': Match.anyValue() })])] },
        }),
      },
    });
  });

  test.each([
    [{ moveTimeout: Duration.minutes(5) }, 'DataVolumeLifecycle: invalid moveTimeout "5 minutes": must be from 10 minutes to 23 hours'],
    [{ moveTimeout: Duration.hours(24) }, 'DataVolumeLifecycle: invalid moveTimeout "1 day": must be from 10 minutes to 23 hours (the launch hook\'s global timeout is 25 hours)'],
    [{ moveTimeout: Duration.millis(600500) }, 'DataVolumeLifecycle: invalid moveTimeout "600500 milliseconds": must be whole seconds'],
    [{ maxMoveAttempts: 0 }, 'DataVolumeLifecycle: invalid maxMoveAttempts 0: must be a whole number from 1 to 10'],
    [{ lifecycleSnapshotsToKeep: 1.5 }, 'DataVolumeLifecycle: invalid lifecycleSnapshotsToKeep 1.5: must be a whole number from 1 to 100'],
  ])('rejects %j', (props, message) => {
    const stack = agnosticStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
    const asg = new autoscaling.AutoScalingGroup(stack, 'Asg', { vpc, instanceType: new ec2.InstanceType('m6a.2xlarge'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
    expectRejected(stack, () => new DataVolumeLifecycle(stack, 'L', { autoScalingGroup: asg, nodeName: 'n', elasticIpAllocationId: 'x', ...props }), message);
  });

  test('least privilege: every mutating EC2 action is scoped by a tag condition or an exact ARN', () => {
    const { stack, lifecycle } = setup();
    const mutating = statements(stack, lifecycle).filter((s) => [].concat(s.Action)
      .some((a: string) => a.startsWith('ec2:') && !a.startsWith('ec2:Describe')));
    expect(mutating.length).toBeGreaterThan(5);
    for (const s of mutating) {
      const exact = JSON.stringify(s.Resource).includes('elastic-ip');
      expect({ action: s.Action, scoped: exact || s.Condition !== undefined }).toEqual({ action: s.Action, scoped: true });
    }
    const describe = statements(stack, lifecycle).find((s) => [].concat(s.Action).includes('ec2:DescribeVolumes' as never));
    expect(describe.Resource).toBe('*');
    const create = statements(stack, lifecycle).filter((s) => s.Action === 'ec2:CreateVolume');
    expect(create.map((s) => s.Condition)).toEqual([
      { StringEquals: { 'aws:RequestTag/casper:node': 'reader-1' } },
      { StringEquals: { 'aws:ResourceTag/casper:node': 'reader-1' } },
    ]);
    const instanceTag = statements(stack, lifecycle).find((s) => s.Action === 'ec2:CreateTags' && JSON.stringify(s.Resource).includes(':instance/'));
    expect(instanceTag.Condition).toEqual({
      'StringEquals': { 'aws:ResourceTag/casper:node': 'reader-1' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['casper:data-volume'] },
    });
    // Pruning deletes the node's lifecycle snapshots only, never SnapshotRotation's.
    const prune = statements(stack, lifecycle).find((s) => s.Action === 'ec2:DeleteSnapshot');
    expect(prune.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/casper:node': 'reader-1', 'aws:ResourceTag/casper:created-by': 'lifecycle' } });
    const grow = statements(stack, lifecycle).find((s) => [].concat(s.Action).includes('ec2:ModifyVolume' as never));
    expect(grow.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/casper:node': 'reader-1' } });
    // Auto Scaling: this stack's groups tagged with the node.
    const group = statements(stack, lifecycle).find((s) => [].concat(s.Action).includes('autoscaling:CompleteLifecycleAction' as never));
    expect(JSON.stringify(group.Resource)).toContain(`:autoScalingGroup:*:autoScalingGroupName/${stack.stackName}-*`);
    expect(group.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/casper:node': 'reader-1' } });
  });

  test('lifecycle actions: this stack\'s groups by their generated name prefix, and the node tag', () => {
    const { stack, lifecycle } = setup();
    const lifecycleActions = statements(stack, lifecycle).filter((s) => JSON.stringify(s.Action).includes('autoscaling:') && s.Resource !== '*');
    expect(lifecycleActions).toEqual([{
      Effect: 'Allow',
      Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:UpdateAutoScalingGroup', 'autoscaling:SuspendProcesses'],
      // Not the group's name: its first instance launches before the group resource completes.
      Resource: {
        'Fn::Join': ['', [
          'arn:', { Ref: 'AWS::Partition' }, ':autoscaling:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' },
          `:autoScalingGroup:*:autoScalingGroupName/${stack.stackName}-*`,
        ]],
      },
      Condition: { StringEquals: { 'aws:ResourceTag/casper:node': 'reader-1' } },
    }]);
  });

  test('lifecycle actions: a group given a name is named exactly', () => {
    const stack = agnosticStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
    const asg = new autoscaling.AutoScalingGroup(stack, 'Asg', {
      vpc,
      autoScalingGroupName: 'my-node-group',
      instanceType: new ec2.InstanceType('m6a.2xlarge'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    });
    const lifecycle = new DataVolumeLifecycle(stack, 'Lifecycle', { autoScalingGroup: asg, nodeName: 'n', elasticIpAllocationId: 'eipalloc-1' });
    const st = statements(stack, lifecycle).find((s) => JSON.stringify(s.Action).includes('autoscaling:CompleteLifecycleAction'));
    expect(JSON.stringify(st.Resource)).toContain(':autoScalingGroup:*:autoScalingGroupName/my-node-group"');
    expect(st.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/casper:node': 'n' } });
  });

  test('a customer KMS key is granted to the handler; CreateGrant only for AWS resources (EBS)', () => {
    const stack = agnosticStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
    const asg = new autoscaling.AutoScalingGroup(stack, 'Asg', { vpc, instanceType: new ec2.InstanceType('m6a.2xlarge'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
    new DataVolumeLifecycle(stack, 'Lifecycle', { autoScalingGroup: asg, nodeName: 'n', elasticIpAllocationId: 'eipalloc-1', encryptionKey: key });
    const t = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as any), 'Arn'] };
    const kmsStatements = Object.values(t.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as any[])
      .filter((s) => JSON.stringify(s.Action).includes('kms:'));
    expect(kmsStatements).toEqual([
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncrypt*'], Resource: keyArn },
      { Effect: 'Allow', Action: 'kms:CreateGrant', Resource: keyArn, Condition: { Bool: { 'kms:GrantIsForAWSResource': true } } },
    ]);
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ VOLUME_KMS_KEY_ID: Match.anyValue() }) } });
  });

  test('metrics', () => {
    const { lifecycle } = setup({ metricsNamespace: 'ns' });
    expect(lifecycle.metricFailures().namespace).toBe('ns');
    expect(lifecycle.metricFailures().metricName).toBe('LifecycleFailures');
    expect(lifecycle.metricFailures().dimensions).toEqual({ NodeName: 'reader-1' });
    expect(lifecycle.metricSuccesses().metricName).toBe('LifecycleSuccesses');
  });

  test('cdk-nag and cfn-lint clean', () => {
    const { stack } = setup();
    expect(nagFindings(stack).filter((f) => f.path.includes('Lifecycle'))).toEqual([]);
    expectCfnLintClean(stack);
  });

  test('imported subnets that do not know their AZ: no pinning, a warning, and the template still synthesizes', () => {
    const other = agnosticStack('Other');
    const vpc = new ec2.Vpc(other, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
    const asg = new autoscaling.AutoScalingGroup(other, 'Asg', { vpc, instanceType: new ec2.InstanceType('m6a.2xlarge'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
    const lifecycle = new DataVolumeLifecycle(other, 'L', {
      autoScalingGroup: asg, nodeName: 'n', elasticIpAllocationId: 'x', groupSubnets: [ec2.Subnet.fromSubnetId(other, 'S', 'subnet-0123456789abcdef0')],
    });
    Template.fromStack(other).hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ GROUP_SUBNETS: '' }) } });
    const warnings = Annotations.fromStack(other).findWarning(`/${lifecycle.node.path}`, Match.stringLikeRegexp('do not say their Availability Zones'));
    expect(warnings).toHaveLength(1);
  });

  test('seedSnapshotId: in the environment, and CreateVolume from exactly that snapshot (it carries no tag of ours)', () => {
    const { t, stack, lifecycle } = setup({ seedSnapshotId: 'snap-0123456789abcdef0' });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SEED_SNAPSHOT_ID: 'snap-0123456789abcdef0' }) },
    });
    const create = statements(stack, lifecycle).filter((s) => s.Action === 'ec2:CreateVolume');
    expect(create).toEqual([
      expect.objectContaining({ Condition: { StringEquals: { 'aws:RequestTag/casper:node': 'reader-1' } } }),
      expect.objectContaining({ Condition: { StringEquals: { 'aws:ResourceTag/casper:node': 'reader-1' } } }),
      {
        Effect: 'Allow',
        Action: 'ec2:CreateVolume',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, '::snapshot/snap-0123456789abcdef0']] },
      },
    ]);
    // Without the prop: no variable, no statement.
    const plain = setup();
    expect(JSON.stringify(plain.t.toJSON())).not.toContain('SEED_SNAPSHOT_ID');
    expect(statements(plain.stack, plain.lifecycle).filter((s) => s.Action === 'ec2:CreateVolume')).toHaveLength(2);
  });

  test.each([
    ['snap-123', 'too short'],
    ['snap-0123456789ABCDEF0', 'upper case'],
    ['vol-0123456789abcdef0', 'a volume id'],
    ['', 'empty'],
  ])('rejects seedSnapshotId %j (%s), naming the construct', (seedSnapshotId) => {
    const stack = agnosticStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
    const asg = new autoscaling.AutoScalingGroup(stack, 'Asg', { vpc, instanceType: new ec2.InstanceType('m6a.2xlarge'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
    expectRejected(stack, () => new DataVolumeLifecycle(stack, 'L', { autoScalingGroup: asg, nodeName: 'n', elasticIpAllocationId: 'x', seedSnapshotId }),
      `DataVolumeLifecycle: invalid seedSnapshotId ${JSON.stringify(seedSnapshotId)}: must be an EBS snapshot id: "snap-" and 8 or 17 lowercase `
      + 'hexadecimal digits, such as "snap-0123456789abcdef0" (construct Test/L)');
  });

  describe('memberSlots (pool mode, for a fleet)', () => {
    /** A fleet's group: up to 3 members, no Elastic IP, no group subnets. */
    function fleetSetup(props: Partial<DataVolumeLifecycleProps> = {}) {
      const stack = agnosticStack();
      const { asg } = lifecycleGroup(stack, 3);
      const lifecycle = new DataVolumeLifecycle(stack, 'Lifecycle', { autoScalingGroup: asg, nodeName: 'fleet-1', memberSlots: 3, ...props });
      return { stack, asg, lifecycle, t: Template.fromStack(stack) };
    }
    const starterStatements = (stack: Stack, lifecycle: DataVolumeLifecycle) => Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: stack.getLogicalId(lifecycle.node.findChild('StarterRole').node.defaultChild as any) }] },
    })).flatMap((p) => p.Properties.PolicyDocument.Statement) as any[];

    test('the steps get MEMBER_SLOTS, and no Elastic IP or group subnets; the starter knows the mode too', () => {
      const { t } = fleetSetup({ seedSnapshotId: 'snap-0123456789abcdef0' });
      const functions = Object.values(t.findResources('AWS::Lambda::Function'));
      const steps = functions.find((f) => f.Properties.Environment.Variables.VOLUME_SIZE_GIB)!;
      expect(steps.Properties.Environment.Variables).toMatchObject({
        NODE_NAME: 'fleet-1', MEMBER_SLOTS: '3', ELASTIC_IP_ALLOCATION_ID: '', GROUP_SUBNETS: '', SEED_SNAPSHOT_ID: 'snap-0123456789abcdef0',
      });
      const starter = functions.find((f) => f.Properties.Environment.Variables.STATE_MACHINE_ARN)!;
      expect(starter.Properties.Environment.Variables).toMatchObject({ MEMBER_SLOTS: '3', GROUP_SUBNETS: '' });
    });

    test('the same hooks and workflow; no failed-launch rule (a fleet is never pinned)', () => {
      const { t } = fleetSetup();
      t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        LifecycleHookSpecificationList: [
          Match.objectLike({ LifecycleHookName: 'fleet-1-data-volume-launch', DefaultResult: 'ABANDON', HeartbeatTimeout: 900 }),
          Match.objectLike({ LifecycleHookName: 'fleet-1-data-volume-terminate', DefaultResult: 'CONTINUE', HeartbeatTimeout: 600 }),
        ],
      });
      t.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
      t.resourceCountIs('AWS::Events::Rule', 1);
      expect(Object.keys(t.toJSON().Resources).filter((id) => id.startsWith('LifecycleLaunchFailures'))).toEqual([]);
    });

    test('IAM: only what a fleet needs: its slot tags on its instances, no Elastic IP, no group changes, no move tries', () => {
      const { stack, lifecycle } = fleetSetup();
      const all = statements(stack, lifecycle);
      const actions = all.flatMap((s) => [].concat(s.Action) as string[]);
      for (const gone of ['ec2:AssociateAddress', 'ec2:DescribeAvailabilityZones', 'autoscaling:UpdateAutoScalingGroup', 'autoscaling:SuspendProcesses']) {
        expect(actions).not.toContain(gone);
      }
      const instanceTag = all.find((s) => s.Action === 'ec2:CreateTags' && JSON.stringify(s.Resource).includes(':instance/'));
      expect(instanceTag.Condition).toEqual({
        'StringEquals': { 'aws:ResourceTag/casper:node': 'fleet-1' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['casper:data-volume', 'casper:member', 'casper:member-claim'] },
      });
      const tagKeys = all.filter((s) => s.Action === 'ec2:CreateTags').map((s) => s.Condition?.['ForAllValues:StringEquals']?.['aws:TagKeys']);
      expect(tagKeys).not.toContainEqual(['casper:move-attempts']);
      const group = all.find((s) => JSON.stringify(s.Action).includes('autoscaling:CompleteLifecycleAction'));
      expect(group).toMatchObject({ Action: 'autoscaling:CompleteLifecycleAction', Condition: { StringEquals: { 'aws:ResourceTag/casper:node': 'fleet-1' } } });
      expect(starterStatements(stack, lifecycle).map((s) => s.Action)).toEqual([['logs:CreateLogStream', 'logs:PutLogEvents'], 'states:StartExecution']);
    });

    test('cdk-nag and cfn-lint clean', () => {
      const { stack } = fleetSetup({ seedSnapshotId: 'snap-0123456789abcdef0' });
      expect(nagFindings(stack).filter((f) => f.path.includes('Lifecycle'))).toEqual([]);
      expectCfnLintClean(stack);
    });

    test('the single node\'s resources keep their logical ids; a fleet has the same ones but the failed-launch rule', () => {
      const single = Object.keys(setup().t.toJSON().Resources).filter((id) => id.startsWith('Lifecycle'));
      const pooled = Object.keys(fleetSetup().t.toJSON().Resources).filter((id) => id.startsWith('Lifecycle'));
      expect(single.filter((id) => !pooled.includes(id))).toEqual([expect.stringMatching(/^LifecycleLaunchFailures/), expect.stringMatching(/^LifecycleLaunchFailures/)]);
      expect(pooled.filter((id) => !single.includes(id))).toEqual([]);
    });

    test.each([
      [{ memberSlots: 21 }, 'invalid memberSlots 21: must be a whole number from 0 to 20'],
      [{ memberSlots: -1 }, 'invalid memberSlots -1: must be a whole number from 0 to 20'],
      [{ memberSlots: 2.5 }, 'invalid memberSlots 2.5: must be a whole number from 0 to 20'],
      [{ memberSlots: 2, elasticIpAllocationId: 'eipalloc-1' }, 'invalid elasticIpAllocationId "eipalloc-1": must be left out with memberSlots (2): a fleet\'s members have no Elastic IP'],
      [{ memberSlots: 2, groupSubnets: [] }, 'invalid groupSubnets [0 subnet(s)]: must be left out with memberSlots (2): a fleet\'s members land in whatever AZ'],
    ])('rejects %j, naming the construct', (props, message) => {
      const stack = agnosticStack();
      const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
      const asg = new autoscaling.AutoScalingGroup(stack, 'Asg', { vpc, instanceType: new ec2.InstanceType('m6a.2xlarge'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
      expectRejected(stack, () => new DataVolumeLifecycle(stack, 'L', { autoScalingGroup: asg, nodeName: 'n', ...props }), `DataVolumeLifecycle: ${message}`);
      expect(() => new DataVolumeLifecycle(agnosticStack(), 'L', { autoScalingGroup: asg, nodeName: 'n', ...props })).toThrow(/\(construct Test\/L\)$/);
    });
  });

  test('a single node without an Elastic IP: no AssociateAddress grant, an empty ELASTIC_IP_ALLOCATION_ID', () => {
    const stack = agnosticStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
    const asg = new autoscaling.AutoScalingGroup(stack, 'Asg', { vpc, instanceType: new ec2.InstanceType('m6a.2xlarge'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
    const lifecycle = new DataVolumeLifecycle(stack, 'Lifecycle', { autoScalingGroup: asg, nodeName: 'n' });
    expect(statements(stack, lifecycle).flatMap((s) => [].concat(s.Action))).not.toContain('ec2:AssociateAddress');
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ ELASTIC_IP_ALLOCATION_ID: '' }) } });
  });

  test('rejects an invalid node name', () => {
    const stack = agnosticStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
    const asg = new autoscaling.AutoScalingGroup(stack, 'Asg', { vpc, instanceType: new ec2.InstanceType('m6a.2xlarge'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
    expectRejected(stack, () => new DataVolumeLifecycle(stack, 'L', { autoScalingGroup: asg, nodeName: 'bad name', elasticIpAllocationId: 'x' }),
      'DataVolumeLifecycle: invalid nodeName "bad name": must be 1 to 63 letters');
  });
});
