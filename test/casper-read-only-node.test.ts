import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CasperNetwork, CasperReadOnlyNode, CasperReadOnlyNodeProps, SshAccess } from '../src';
import { expectCfnLintClean, nagFindings } from './support/checks';
import { NODE_LAUNCH_TEMPLATE_DATA, TESTNET_CONFIG_NETWORK } from './support/node-expectations';
import { agnosticStack, assetFiles, expectRejected } from './support/stacks';
import { LIFECYCLE_LAUNCH_WORST_CASE_SECONDS } from '../src/private/node-config';

function nodeStack(props: Partial<CasperReadOnlyNodeProps> = {}): { stack: Stack; node: CasperReadOnlyNode; t: Template } {
  const stack = agnosticStack();
  const node = new CasperReadOnlyNode(stack, 'Node', { network: CasperNetwork.TESTNET, ...props });
  return { stack, node, t: Template.fromStack(stack) };
}

/** Every IAM action granted to the node's role, across its policies. */
function roleActions(stack: Stack, node: CasperReadOnlyNode): string[] {
  const roleRef = { Ref: stack.getLogicalId(node.role.node.defaultChild as any) };
  const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(JSON.stringify(roleRef)));
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => s.Action));
}

describe('CasperReadOnlyNode', () => {
  describe('defaults (testnet)', () => {
    const { stack, node, t } = nodeStack();

    test('an Auto Scaling group of exactly one across the three public subnets', () => {
      t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        MinSize: '1',
        MaxSize: '1',
        HealthCheckType: 'EC2',
        HealthCheckGracePeriod: 5400,
      });
      const asg = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
      expect(asg.Properties.VPCZoneIdentifier).toHaveLength(3);
      expect(asg.CreationPolicy).toEqual({ ResourceSignal: { Count: 1, Timeout: 'PT1H30M' } });
      expect(asg.DependsOn.some((d: string) => d.startsWith('NodeConfigDeploy'))).toBe(true);
    });

    test('launch template: Ubuntu 22.04 from SSM, IMDSv2, metadata tags, encrypted gp3 root, m6a.2xlarge, public IP', () => {
      t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
        LaunchTemplateData: Match.objectLike({
          ...NODE_LAUNCH_TEMPLATE_DATA,
          NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: true, DeviceIndex: 0 })],
        }),
      });
      const params = t.toJSON().Parameters;
      expect(Object.values(params).map((p: any) => p.Default)).toContain('/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id');
      expect(node.nodeGroup.launchTemplate.instanceType?.toString()).toBe('m6a.2xlarge');
    });

    test('user data fetches the bootstrap from the config bucket', () => {
      const lt = Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0];
      const userData = JSON.stringify(lt.Properties.LaunchTemplateData.UserData);
      expect(userData).toContain(stack.getLogicalId(node.configBucket.bucket.node.defaultChild as any));
      expect(userData).toContain('node/');
      expect(userData).not.toContain('__CONFIG_BUCKET__');
      expect(userData).not.toContain('__REGION__');
    });

    test('instance role: Session Manager, its config prefix, its secret, its agent config and logs, its metrics, signal its stack, mark its own group unhealthy — nothing else', () => {
      const role = t.toJSON().Resources[stack.getLogicalId(node.role.node.defaultChild as any)];
      // No managed policy: AmazonSSMManagedInstanceCore would read every SSM parameter of the account.
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      const actions = roleActions(stack, node);
      expect([...new Set(actions)].sort()).toEqual([
        'autoscaling:SetInstanceHealth',
        'cloudformation:SignalResource',
        'cloudwatch:PutMetricData',
        'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents',
        's3:GetObject', 's3:ListBucket',
        'ssm:DescribeParameters', 'ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:GetParameters',
        'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue',
        'ssm:UpdateInstanceInformation',
        'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel',
      ].sort());
      // The only statement on every resource besides PutMetricData (namespace condition): Session Manager's.
      const roleRef = JSON.stringify({ Ref: stack.getLogicalId(node.role.node.defaultChild as any) });
      const statements = Object.values(t.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleRef))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Resource: unknown; Condition?: unknown }>);
      expect(statements.filter((st) => st.Resource === '*' && !st.Condition)).toEqual([{
        Sid: 'SessionManager',
        Effect: 'Allow',
        Action: ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
        Resource: '*',
      }]);
      // In a policy of its own, the only one whose checkov CKV_AWS_111 (write without constraints) is skipped.
      const sessionPolicies = Object.values(t.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes('ssmmessages:'));
      expect(sessionPolicies.map((p) => p.Properties.PolicyDocument.Statement.length)).toEqual([1]);
      expect(sessionPolicies[0].Metadata.checkov.skip.map((x: { id: string }) => x.id)).toEqual(['CKV_AWS_111']);
      // No volume or snapshot permissions for the node (they belong to the handlers).
      expect(actions.filter((a) => a.startsWith('ec2:'))).toEqual([]);
    });

    test('SetInstanceHealth is scoped to this group, SignalResource to this stack', () => {
      const asgRef = { Ref: stack.getLogicalId(node.autoScalingGroup.node.defaultChild as any) };
      const statements = Object.values(t.findResources('AWS::IAM::Policy'))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string; Resource: unknown }>);
      const resourceOf = (action: string) => statements.filter((s) => s.Action === action).map((s) => s.Resource);
      expect(resourceOf('autoscaling:SetInstanceHealth')).toEqual([{
        'Fn::Join': ['', [
          'arn:', { Ref: 'AWS::Partition' }, ':autoscaling:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' },
          ':autoScalingGroup:*:autoScalingGroupName/', asgRef,
        ]],
      }]);
      expect(resourceOf('cloudformation:SignalResource')).toEqual([{ Ref: 'AWS::StackId' }]);
    });

    test('metrics, logs and the agent config: only the node\'s own', () => {
      const roleRef = JSON.stringify({ Ref: stack.getLogicalId(node.role.node.defaultChild as any) });
      const statements = Object.values(t.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleRef))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }>);
      const put = statements.filter((s) => s.Action === 'cloudwatch:PutMetricData');
      expect(put).toEqual([expect.objectContaining({ Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'casper-casper-test' } } })]);
      const agent = node.agentConfig;
      const logGroups = [agent.nodeLogGroup, agent.nodeStderrLogGroup, agent.bootstrapLogGroup, agent.metricsLogGroup]
        .map((g) => ({ 'Fn::GetAtt': [stack.getLogicalId(g.node.defaultChild as any), 'Arn'] }));
      const logResources = statements.filter((s) => JSON.stringify(s.Action).includes('logs:PutLogEvents')).map((s) => s.Resource);
      expect(logResources).toEqual(logGroups);
      const ssmResources = statements.filter((s) => JSON.stringify(s.Action).includes('ssm:GetParameter')).map((s) => JSON.stringify(s.Resource));
      expect(ssmResources).toHaveLength(1);
      expect(ssmResources[0]).toContain(stack.getLogicalId(node.agentConfig.parameter.node.defaultChild as any));
    });

    test('monitoring on by default: agent config, 18 alarms (RPC ones: testnet runs the sidecar), canary, dashboard', () => {
      t.resourceCountIs('AWS::SSM::Parameter', 1);
      t.resourceCountIs('AWS::CloudWatch::Alarm', 18);
      t.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 0);
      t.resourceCountIs('AWS::Synthetics::Canary', 1);
      t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      expect(node.alarms.alarms).toHaveLength(18);
      expect(node.alarms.rpcDown).toBeDefined();
      expect(node.canary).toBeDefined();
      expect(node.dashboard).toBeDefined();
      expect(node.metrics.autoScalingGroupName).toBe(node.autoScalingGroup.autoScalingGroupName);
      // The canary checks the node's Elastic IP on the REST port, on testnet.
      const canary = Object.values(t.findResources('AWS::Synthetics::Canary'))[0];
      const env = canary.Properties.RunConfig.EnvironmentVariables;
      expect(env.CASPER_EXPECTED_CHAINSPEC).toBe('casper-test');
      expect(JSON.stringify(env.CASPER_STATUS_URL)).toContain(stack.getLogicalId(node.elasticIp.resource));
      expect(Object.keys(t.toJSON().Outputs).some((k) => k.startsWith('NodeDashboardUrl'))).toBe(true);
    });

    test('without alert props an alert topic still exists: every alarm and the group notify it; its ARN is an output', () => {
      const topicRef = { Ref: stack.getLogicalId(node.alertTopic.node.defaultChild as any) };
      for (const a of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
        expect(a.Properties.AlarmActions).toEqual([topicRef]);
        expect(a.Properties.OKActions).toEqual([topicRef]);
      }
      t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { NotificationConfigurations: [Match.objectLike({ TopicARN: topicRef })] });
      const outputs = Object.entries(t.toJSON().Outputs as Record<string, any>).filter(([k]) => k.startsWith('NodeAlertTopicArn'));
      expect(outputs.map(([, o]) => o.Value)).toEqual([topicRef]);
      // KMS-encrypted and TLS-only, with no subscription yet.
      t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      t.hasResourceProperties('AWS::SNS::TopicPolicy', Match.objectLike({
        PolicyDocument: Match.objectLike({ Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) }),
      }));
      t.resourceCountIs('AWS::SNS::Subscription', 0);
      Annotations.fromStack(stack).hasNoWarning('/Test/Node', Match.stringLikeRegexp('notify no one'));
    });

    test('the alarms come after the group (its creation waits for the bootstrap), so a first boot never counts as node-down', () => {
      const asgId = stack.getLogicalId(node.autoScalingGroup.node.defaultChild as any);
      const nodeDown = t.toJSON().Resources[stack.getLogicalId(node.alarms.nodeDown.node.defaultChild as any)];
      expect(nodeDown.DependsOn).toContain(asgId);
    });

    test('backups snapshot only when the collector reported the node synced', () => {
      const fn = Object.values(t.findResources('AWS::Lambda::Function'))
        .find((f) => f.Properties.Environment?.Variables?.SYNC_METRIC_NAME === 'Synced');
      expect(fn).toBeDefined();
      expect(fn!.Properties.Environment.Variables.MISSING_SYNC_METRIC).toBe('skip');
    });

    test('stateful parts are retained; no SSH key pair; one alert topic, no Slack channel', () => {
      t.hasResource('AWS::EC2::EIP', { DeletionPolicy: 'Retain' });
      t.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain' });
      t.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
      t.resourceCountIs('AWS::EC2::KeyPair', 0);
      t.resourceCountIs('AWS::SNS::Topic', 1);
      t.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
      expect(node.alertSlackChannel).toBeUndefined();
    });

    test('security group: no SSH', () => {
      const sg = Object.values(t.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('Casper node') } }))[0];
      expect(JSON.stringify(sg.Properties.SecurityGroupIngress)).not.toContain('"FromPort":22');
    });

    test('outputs: public IP, status URL, group name, secret', () => {
      const outputs = Object.keys(t.toJSON().Outputs);
      for (const o of ['NodePublicIp', 'StatusUrl', 'AutoScalingGroupName', 'SigningKeySecretArn']) {
        expect(outputs.some((k) => k.startsWith(`Node${o}`))).toBe(true);
      }
    });

    test('IConnectable, IGrantable and metric methods', () => {
      expect(node.connections.securityGroups).toEqual([node.securityGroup.securityGroup]);
      expect(node.grantPrincipal).toBe(node.role);
      const metrics = [node.metricNodeUp(), node.metricSynced(), node.metricPeerCount(), node.metricBlockHeight(),
        node.metricLastBlockAge(), node.metricRpcUp()];
      expect(metrics.map((m) => `${m.namespace} ${m.metricName} ${m.statistic} ${JSON.stringify(m.dimensions)}`)).toEqual([
        'casper-casper-test NodeUp Minimum {"NodeName":"casper-test-node"}',
        'casper-casper-test Synced Minimum {"NodeName":"casper-test-node"}',
        'casper-casper-test PeerCount Minimum {"NodeName":"casper-test-node"}',
        'casper-casper-test BlockHeight Maximum {"NodeName":"casper-test-node"}',
        'casper-casper-test LastBlockAgeSeconds Maximum {"NodeName":"casper-test-node"}',
        'casper-casper-test RpcUp Minimum {"NodeName":"casper-test-node"}',
      ]);
      expect(node.metricSynced({ period: Duration.minutes(5) }).period.toMinutes()).toBe(5);
    });

    test('names and data volume defaults', () => {
      expect(node.nodeName).toBe('casper-test-node');
      expect(node.metrics.namespace).toBe('casper-casper-test');
      expect(node.snapshotRotation).toBeDefined();
      expect(node.canary).toBeDefined();
      expect(node.dashboard).toBeDefined();
      expect(node.vpnServer).toBeUndefined();
    });

    test('cdk-nag: no unacknowledged finding', () => {
      expect(nagFindings(stack)).toEqual([]);
    });

    test('cfn-lint: no error and no unexplained warning', () => {
      expectCfnLintClean(stack);
    });
  });

  test('the rendered config.json carries what the bootstrap needs', () => {
    const { stack } = nodeStack({ nodeName: 'reader-1', trustedHash: 'ab'.repeat(32), unresponsiveThreshold: Duration.minutes(20) });
    const [config] = assetFiles(stack, 'config.json') as any[];
    expect(config).toMatchObject({
      nodeName: 'reader-1',
      network: TESTNET_CONFIG_NETWORK,
      trustedHash: 'ab'.repeat(32),
      // The tag wait covers the lifecycle's worst case (its 900 s launch hook) with a margin.
      dataVolume: { instanceTagKey: 'casper:data-volume', mountPoint: '/var/lib/casper/casper-node', tagWaitSeconds: 1020, deviceWaitSeconds: 300 },
      health: { readyWaitSeconds: 1380, readyStableSeconds: 180, restartAfterSeconds: 1200, unhealthyAfterSeconds: 1800 },
    });
    // Deploy-time values are CDK markers filled in by the upload handler.
    expect(config.region).toMatch(/^<<marker:\d+>>$/);
    // The Elastic IP, passed to casper-node-util as --ip.
    expect(config.publicIp).toMatch(/^<<marker:\d+>>$/);
    expect(config.signingKeySecretArn).toMatch(/^<<marker:\d+>>$/);
    // The monitoring seam: the agent's SSM parameter and where the collector's EMF goes.
    expect(config.cloudWatchAgent.configParameterName).toMatch(/^<<marker:\d+>>$/);
    expect(config.metrics).toEqual({ namespace: 'casper-casper-test', logGroupName: expect.stringMatching(/^<<marker:\d+>>$/) });
  });

  test('the lifecycle\'s launch hook timeout is the worst case the bootstrap\'s tag wait is derived from', () => {
    const { t } = nodeStack({});
    const group = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    const launch = group.Properties.LifecycleHookSpecificationList
      .find((h: any) => h.LifecycleTransition === 'autoscaling:EC2_INSTANCE_LAUNCHING');
    expect(launch.HeartbeatTimeout).toBe(LIFECYCLE_LAUNCH_WORST_CASE_SECONDS);
    const fn = Object.values(t.findResources('AWS::Lambda::Function'))
      .find((f: any) => f.Properties.Environment?.Variables?.INSTANCE_TAG_KEY === 'casper:data-volume');
    expect(fn!.Properties.Timeout).toBeLessThanOrEqual(LIFECYCLE_LAUNCH_WORST_CASE_SECONDS);
  });

  test('the user data arms the bootstrap deadline at bootstrapTimeout', () => {
    const { t } = nodeStack({ bootstrapTimeout: Duration.minutes(75) });
    const lt = Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0];
    const text = JSON.stringify(lt.Properties.LaunchTemplateData.UserData);
    expect(text).toContain('timeout_seconds=4500');
    expect(text).not.toMatch(/__[A-Z_]+__/);
  });

  test('with enableVpn, SSH on the node is open only to the VPN server, with a key pair', () => {
    const { stack, node, t } = nodeStack({ enableVpn: true, vpnOptions: { clientCount: 2 } });
    expect(node.vpnServer).toBeDefined();
    expect(node.vpnServer!.clientNames).toEqual(['admin1', 'admin2']);
    t.resourceCountIs('AWS::EC2::KeyPair', 1);
    const nodeSg = stack.resolve(node.securityGroup.securityGroup.securityGroupId);
    const vpnSg = stack.resolve(node.vpnServer!.securityGroup.securityGroupId);
    const sshRules = [
      ...Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties),
      ...Object.values(t.findResources('AWS::EC2::SecurityGroup')).flatMap((r) =>
        (r.Properties.SecurityGroupIngress ?? []).map((i: any) => ({ ...i, GroupId: { 'Fn::GetAtt': ['inline', 'GroupId'] } }))),
    ].filter((r) => r.FromPort === 22);
    expect(sshRules).toEqual([expect.objectContaining({ IpProtocol: 'tcp', ToPort: 22, GroupId: nodeSg, SourceSecurityGroupId: vpnSg })]);
    // The VPN lives in the node's VPC and routes to it.
    expect(JSON.stringify(Object.values(t.findResources('AWS::EC2::Instance'))[0].Properties.UserData))
      .toContain(stack.getLogicalId(node.casperVpc!.vpc.node.defaultChild as any));
    expect(nagFindings(stack)).toEqual([]);
  });

  test('alarms notify the alert topic; canary and dashboard can be switched off', () => {
    const { node, t } = nodeStack({ alertEmails: ['ops@example.com'], enableCanary: false, enableDashboard: false });
    t.resourceCountIs('AWS::Synthetics::Canary', 0);
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 17);
    expect(node.canary).toBeUndefined();
    expect(node.alarms.canaryFailing).toBeUndefined();
    for (const a of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^NodeAlertsTopic/) }]);
      expect(a.Properties.OKActions).toEqual(a.Properties.AlarmActions);
    }
  });

  test('alarm thresholds and log retention are props', () => {
    const { t } = nodeStack({
      alarmThresholds: { cpuThresholdPercent: 90, maxBlockAge: Duration.minutes(5) },
      logRetention: logs.RetentionDays.ONE_WEEK,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'casper-casper-test-node-high-cpu', Threshold: 90 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'casper-casper-test-node-chain-stalled', Threshold: 300 });
    t.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 7 }, 4);
  });

  test('SSH from CIDRs opens 22 and creates a key pair with its parameter output', () => {
    const { t } = nodeStack({ sshAccess: SshAccess.fromCidrs(['203.0.113.0/24']) });
    t.resourceCountIs('AWS::EC2::KeyPair', 1);
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ KeyName: Match.anyValue() }) });
    expect(Object.keys(t.toJSON().Outputs).some((k) => k.startsWith('NodeSshPrivateKeyParameter'))).toBe(true);
  });

  test('alert emails create an encrypted topic that also gets scaling events', () => {
    const { t } = nodeStack({ alertEmails: ['ops@example.com'] });
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'ops@example.com' });
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { NotificationConfigurations: [Match.objectLike({ TopicARN: Match.anyValue() })] });
  });

  test('a Slack channel: AWS Chatbot posts the alert topic, notifications only; cdk-nag clean', () => {
    const { stack, node, t } = nodeStack({ alertSlackWorkspaceId: 'T0123ABCDEF', alertSlackChannelId: 'C0123ABCDEF', nodeUnhealthyAlarm: true });
    const topicRef = { Ref: stack.getLogicalId(node.alertTopic.node.defaultChild as any) };
    const slack = Object.values(t.findResources('AWS::Chatbot::SlackChannelConfiguration'));
    expect(slack).toHaveLength(1);
    const p = slack[0].Properties;
    expect(p).toMatchObject({ SlackWorkspaceId: 'T0123ABCDEF', SlackChannelId: 'C0123ABCDEF', SnsTopicArns: [topicRef], UserRoleRequired: false });
    // The guardrail denies every action: no AWS commands from Slack.
    const guardrail = t.toJSON().Resources[(p.GuardrailPolicies[0] as any).Ref];
    expect(guardrail.Properties.PolicyDocument.Statement).toEqual([{ Sid: 'NotificationsOnly', Effect: 'Deny', Action: '*', Resource: '*' }]);
    // Its role has no permissions.
    const roleId = (p.IamRoleArn as any)['Fn::GetAtt'][0];
    const role = t.toJSON().Resources[roleId];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    expect(Object.values(t.findResources('AWS::IAM::Policy')).filter((x) => JSON.stringify(x.Properties.Roles).includes(roleId))).toEqual([]);
    // One page: the composite alarm notifies.
    t.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmName: 'casper-casper-test-node-node-unhealthy', AlarmActions: [topicRef] });
    expect(node.alertSlackChannel).toBeDefined();
    expect(nagFindings(stack)).toEqual([]);
  });

  test('a Slack channel on a topic of your own', () => {
    const stack = agnosticStack();
    const topic = new sns.Topic(stack, 'MyTopic');
    new CasperReadOnlyNode(stack, 'Node', {
      network: CasperNetwork.TESTNET, alertTopic: topic, alertSlackWorkspaceId: 'T0123ABCDEF', alertSlackChannelId: 'C0123ABCDEF',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SnsTopicArns: [{ Ref: stack.getLogicalId(topic.node.defaultChild as any) }],
    });
  });

  test.each([
    ['a workspace without a channel', { alertSlackWorkspaceId: 'T0123ABCDEF' },
      'CasperReadOnlyNode: invalid slackChannelId undefined: is required with the other Slack prop: give slackWorkspaceId and slackChannelId together'],
    ['a channel name instead of its ID', { alertSlackWorkspaceId: 'T0123ABCDEF', alertSlackChannelId: '#alerts' },
      'CasperReadOnlyNode: invalid slackChannelId "#alerts": must be a Slack channel ID such as "C0123ABCDEF" (letters and digits), not its name'],
    ['a lowercase workspace ID', { alertSlackWorkspaceId: 't0123', alertSlackChannelId: 'C0123ABCDEF' },
      'CasperReadOnlyNode: invalid slackWorkspaceId "t0123": must be a Slack workspace ID such as "T0123ABCDEF" (capital letters and digits)'],
  ])('rejects %s', (_name, extra, message) => {
    const stack = agnosticStack();
    expectRejected(stack, () => new CasperReadOnlyNode(stack, 'Node', { network: CasperNetwork.TESTNET, ...extra }), message);
  });

  test('an existing VPC, topic and DESTROY removal policy', () => {
    const stack = agnosticStack();
    const vpc = new ec2.Vpc(stack, 'MyVpc', { natGateways: 0, subnetConfiguration: [{ name: 'pub', subnetType: ec2.SubnetType.PUBLIC }] });
    const topic = new sns.Topic(stack, 'MyTopic');
    const node = new CasperReadOnlyNode(stack, 'Node', {
      network: CasperNetwork.MAINNET,
      vpc,
      alertTopic: topic,
      removalPolicy: RemovalPolicy.DESTROY,
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.R6I, ec2.InstanceSize.XLARGE),
      dataVolumeSizeGiB: 1000,
      dataVolumeIops: 6000,
      dataVolumeThroughputMibps: 500,
      bootstrapTimeout: Duration.hours(2),
      unresponsiveThreshold: Duration.minutes(30),
    });
    const t = Template.fromStack(stack);
    expect(node.casperVpc).toBeUndefined();
    expect(node.alertTopic).toBe(topic);
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.hasResource('AWS::EC2::EIP', { DeletionPolicy: 'Delete' });
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { HealthCheckGracePeriod: 7200 });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ VOLUME_SIZE_GIB: '1000', VOLUME_IOPS: '6000', VOLUME_THROUGHPUT_MIBPS: '500' }) },
    });
    expect(node.nodeName).toBe('casper-node');
  });

  test('healthCheckPort serves the in-sync health endpoint to the VPC, with the alarm thresholds', () => {
    const { stack, node, t } = nodeStack({ healthCheckPort: 8889, alarmThresholds: { maxBlockAge: Duration.minutes(5), minPeerCount: 4 } });
    const [config] = assetFiles(stack, 'config.json') as any[];
    expect(config.healthEndpoint).toEqual({ port: 8889, maxBlockAgeSeconds: 300, minPeers: 4 });
    const sgId = stack.getLogicalId(node.securityGroup.securityGroup.node.defaultChild as any);
    const rules = (t.toJSON().Resources[sgId].Properties.SecurityGroupIngress as any[]).filter((r) => r.FromPort === 8889);
    expect(rules).toHaveLength(1);
    expect(JSON.stringify(rules[0].CidrIp)).toContain('NodeNetworkVpc');
  });

  test('without healthCheckPort the endpoint is off and its port closed', () => {
    const { stack, t } = nodeStack();
    const [config] = assetFiles(stack, 'config.json') as any[];
    expect(config.healthEndpoint.port).toBe(0);
    expect(JSON.stringify(t.toJSON())).not.toContain('"FromPort":8889');
  });

  test('spot and a seed snapshot', () => {
    const { t } = nodeStack({ spot: true, seedSnapshotId: 'snap-0123456789abcdef0' });
    const asg = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(asg.Properties.MixedInstancesPolicy.LaunchTemplate.Overrides[0]).toEqual({ InstanceType: 'm6a.2xlarge' });
    expect(asg.Properties.CapacityRebalance).toBe(true);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SEED_SNAPSHOT_ID: 'snap-0123456789abcdef0' }) },
    });
  });

  test('a family without SHA extensions warns at synth', () => {
    const stack = agnosticStack();
    new CasperReadOnlyNode(stack, 'Node', { network: CasperNetwork.TESTNET, instanceType: new ec2.InstanceType('t3.2xlarge') });
    // The compute core (id Default) warns.
    Annotations.fromStack(stack).hasWarning('/Test/Node/Default', Match.stringLikeRegexp('t3 family\'s CPUs may lack the SHA extensions'));
  });

  describe('bad input is rejected at synth with a clear message and no resources', () => {
    const cases: Array<[string, Partial<CasperReadOnlyNodeProps>, string | RegExp]> = [
      ['ARM instance type', { instanceType: new ec2.InstanceType('m7g.2xlarge') },
        'CasperReadOnlyNode: invalid instanceType "m7g.2xlarge": "m7g.2xlarge" is an ARM (Graviton) type; Casper publishes x86-64 (amd64) binaries only'],
      ['Graviton burstable type', { instanceType: new ec2.InstanceType('t4g.2xlarge') }, /invalid instanceType "t4g.2xlarge"/],
      ['data volume under 100 GiB', { dataVolumeSizeGiB: 99 }, 'CasperReadOnlyNode: invalid dataVolumeSizeGiB 99: must be a whole number of GiB from 100 to 16384'],
      ['data volume over 16 TiB', { dataVolumeSizeGiB: 16385 }, 'CasperReadOnlyNode: invalid dataVolumeSizeGiB 16385: must be a whole number of GiB from 100 to 16384'],
      ['fractional data volume size', { dataVolumeSizeGiB: 500.5 }, /invalid dataVolumeSizeGiB 500.5/],
      ['IOPS below gp3 minimum', { dataVolumeIops: 2999 }, 'CasperReadOnlyNode: invalid dataVolumeIops 2999: must be a whole number of IOPS from 3000 to 16000'],
      ['IOPS above gp3 maximum', { dataVolumeIops: 16001 }, /invalid dataVolumeIops 16001/],
      ['throughput below gp3 minimum', { dataVolumeThroughputMibps: 124 }, 'CasperReadOnlyNode: invalid dataVolumeThroughputMibps 124: must be a whole number of MiB/s from 125 to 1000'],
      ['throughput above gp3 maximum', { dataVolumeThroughputMibps: 1001 }, /invalid dataVolumeThroughputMibps 1001/],
      ['throughput above 0.25 MiB/s per IOPS', { dataVolumeIops: 3000, dataVolumeThroughputMibps: 1000 },
        'CasperReadOnlyNode: invalid dataVolumeThroughputMibps 1000: gp3 allows at most 0.25 MiB/s per provisioned IOPS: 750 for 3000 IOPS'],
      ['root volume too small', { rootVolumeSizeGiB: 8 }, 'CasperReadOnlyNode: invalid rootVolumeSizeGiB 8: must be a whole number of GiB from 20 to 1024'],
      ['trusted hash of 63 characters', { trustedHash: 'a'.repeat(63) },
        `CasperReadOnlyNode: invalid trustedHash "${'a'.repeat(63)}": must be a block hash of exactly 64 hexadecimal characters`],
      ['trusted hash with non-hex characters', { trustedHash: 'z'.repeat(64) }, /invalid trustedHash "z{64}"/],
      ['malformed alert email', { alertEmails: ['ops@example'] },
        'CasperReadOnlyNode: invalid alertEmails "ops@example": each entry must be an email address such as "ops@example.com"'],
      ['node name with illegal characters', { nodeName: 'my_node!' },
        'CasperReadOnlyNode: invalid nodeName "my_node!": must be 1 to 63 letters, digits or "-"'],
      ['node name too long', { nodeName: 'n'.repeat(64) }, /invalid nodeName "n{64}"/],
      ['namespace reserved for AWS', { metricsNamespace: 'AWS/EC2' }, 'CasperReadOnlyNode: invalid metricsNamespace "AWS/EC2": must be 1 to 255 characters'],
      ['namespace with illegal characters', { metricsNamespace: 'casper$metrics' }, /invalid metricsNamespace "casper\$metrics"/],
      ['bootstrap timeout too short', { bootstrapTimeout: Duration.minutes(20) },
        'CasperReadOnlyNode: invalid bootstrapTimeout "20 minutes": must be from 30 minutes to 12 hours'],
      ['unresponsive threshold too short', { unresponsiveThreshold: Duration.minutes(1) }, /invalid unresponsiveThreshold "1 minute": must be from 5 minutes to 6 hours/],
      ['SSH from anywhere without the opt-in', { sshAccess: SshAccess.fromCidrs(['0.0.0.0/0']) },
        /CasperReadOnlyNode: invalid sshAccess "0.0.0.0\/0": SSH from the whole internet is refused/],
      ['the VPN together with sshAccess', { enableVpn: true, sshAccess: SshAccess.fromCidrs(['203.0.113.0/24']) },
        /CasperReadOnlyNode: invalid sshAccess SshAccess\.fromCidrs\(\["203\.0\.113\.0\/24"\]\): with enableVpn, SSH is open only to the VPN server; leave sshAccess unset/],
      ['vpnOptions without the VPN', { vpnOptions: { clientCount: 3 } }, /CasperReadOnlyNode: invalid vpnOptions \{"clientCount":3\}: only applies with enableVpn: true/],
      ['51 VPN clients', { enableVpn: true, vpnOptions: { clientCount: 51 } }, /OpenVpnServer: invalid clientCount 51: must be a whole number from 1 to 50/],
      ['a VPN tunnel inside the default VPC', { enableVpn: true, vpnOptions: { tunnelCidr: '10.0.8.0/24' } },
        /OpenVpnServer: invalid tunnelCidr "10.0.8.0\/24": must not overlap the VPC \(10.0.0.0\/16\)/],
      ['a VPN port out of range', { enableVpn: true, vpnOptions: { port: 70000 } }, /OpenVpnServer: invalid port 70000: a port must be an integer from 1 to 65535/],
      ['a health port on the RPC port', { healthCheckPort: 7777 }, 'CasperReadOnlyNode: invalid healthCheckPort 7777: must differ from the node\'s ports and SSH (35000, 8888, 7777, 9999, 22)'],
      ['a seed that is not a snapshot id', { seedSnapshotId: 'snap-XYZ' }, 'CasperReadOnlyNode: invalid seedSnapshotId "snap-XYZ": must be an EBS snapshot id'],
      ['no network (JavaScript callers)', { network: undefined }, /invalid network undefined: is required/],
    ];

    test.each(cases)('%s', (_name, props, message) => {
      const stack = agnosticStack();
      expectRejected(stack, () => new CasperReadOnlyNode(stack, 'Node', { network: CasperNetwork.TESTNET, ...props } as CasperReadOnlyNodeProps), message);
    });

    test('two nodes of one app with the same bad input are told apart by their paths', () => {
      const stack = agnosticStack();
      const messages = ['Reader1', 'Reader2'].map((id) => {
        try {
          new CasperReadOnlyNode(stack, id, { network: CasperNetwork.TESTNET, bootstrapTimeout: Duration.seconds(1799.5) });
          return 'no error';
        } catch (e) {
          return (e as Error).message;
        }
      });
      // Durations print exactly: 1799.5 s is not "29 minutes".
      expect(messages).toEqual(['Reader1', 'Reader2'].map((id) =>
        `CasperReadOnlyNode: invalid bootstrapTimeout "1799500 milliseconds": must be from 30 minutes to 12 hours (construct Test/${id})`));
    });

    test('a closed status port with the canary on (the default, or enableCanary: true)', () => {
      const message = 'CasperReadOnlyNode: invalid publicStatusPort false: with the canary on (enableCanary, default true), '
        + 'which checks http://<node IP>:8888/status from the internet and could never pass with the port closed: '
        + 'set enableCanary: false, or leave publicStatusPort true';
      for (const props of [{ publicStatusPort: false }, { publicStatusPort: false, enableCanary: true }]) {
        const stack = agnosticStack();
        expectRejected(stack, () => new CasperReadOnlyNode(stack, 'Node', { network: CasperNetwork.TESTNET, ...props }), message);
      }
    });

    test('a closed status port without the canary is accepted: 8888 open to the VPC only, no canary', () => {
      const stack = agnosticStack();
      const node = new CasperReadOnlyNode(stack, 'Node', { network: CasperNetwork.TESTNET, publicStatusPort: false, enableCanary: false });
      expect(node.canary).toBeUndefined();
      const t = Template.fromStack(stack);
      t.resourceCountIs('AWS::Synthetics::Canary', 0);
      const ingress8888 = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))
        .map((r) => r.Properties)
        .concat(Object.values(t.findResources('AWS::EC2::SecurityGroup')).flatMap((r) => r.Properties.SecurityGroupIngress ?? []))
        .filter((i: any) => i.FromPort === 8888);
      expect(ingress8888.length).toBeGreaterThan(0);
      for (const i of ingress8888) {
        expect(i.CidrIp).not.toBe('0.0.0.0/0');
        expect(i.CidrIpv6).not.toBe('::/0');
      }
    });

    test('alert emails and an alert topic together', () => {
      const stack = agnosticStack();
      const topic = new sns.Topic(stack, 'T');
      expectRejected(stack, () => new CasperReadOnlyNode(stack, 'Node', { network: CasperNetwork.TESTNET, alertEmails: ['a@example.com'], alertTopic: topic }),
        /invalid alertEmails \["a@example.com"\]: give either alertEmails or alertTopic, not both/);
    });
  });
});
