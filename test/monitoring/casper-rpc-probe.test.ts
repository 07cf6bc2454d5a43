import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CasperNetwork, CasperNodeFleet, CasperRpcProbe, CasperRpcProbeProps, CasperVpc } from '../../src';
import { AlarmProperties, every, firstAlarm } from '../support/alarm-sim';
import { expectNagAndCfnLintClean, nagFindings } from '../support/checks';
import { agnosticStack, expectRejected } from '../support/stacks';

const URL = 'http://10.0.0.10:7777/rpc';

function setup(props: Partial<CasperRpcProbeProps> = {}) {
  const stack = agnosticStack();
  const vpc = new CasperVpc(stack, 'Network').vpc;
  const probe = new CasperRpcProbe(stack, 'Probe', { vpc, rpcUrl: URL, network: CasperNetwork.TESTNET, ...props });
  return { stack, vpc, probe, t: Template.fromStack(stack) };
}

const id = (stack: Stack, c: { node: { defaultChild?: unknown } } | unknown) =>
  stack.getLogicalId(((c as any).node?.defaultChild ?? c) as any);

describe('CasperRpcProbe', () => {
  const { stack, vpc, probe, t } = setup();
  const resource = (c: unknown) => t.toJSON().Resources[id(stack, c)];
  const fn = () => resource(probe.handler).Properties;

  test('one function, in the VPC\'s public subnets with its own security group', () => {
    expect(resource(probe.handler).Type).toBe('AWS::Lambda::Function');
    const sgId = id(stack, probe.connections.securityGroups[0]);
    expect(fn().VpcConfig).toEqual({
      SubnetIds: vpc.publicSubnets.map((s) => stack.resolve(s.subnetId)),
      SecurityGroupIds: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }],
    });
    expect(vpc.publicSubnets.length).toBeGreaterThan(0);
  });

  test('the function: Node.js 22, 30 s, the settings in its environment', () => {
    expect(fn()).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Timeout: 30,
      Environment: {
        Variables: {
          RPC_URL: URL,
          EXPECTED_CHAINSPEC: 'casper-test',
          MAX_BLOCK_AGE_SECONDS: '600',
          REQUEST_TIMEOUT_MS: '5000',
        },
      },
    });
  });

  test('its security group lets nothing out until it is allowed to the endpoint (default port from the URL)', () => {
    const sg = t.toJSON().Resources[id(stack, probe.connections.securityGroups[0])].Properties;
    // aws-cdk-lib's placeholder for "no egress": a rule matching no traffic.
    expect(sg.SecurityGroupEgress).toEqual([{ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', FromPort: 252, IpProtocol: 'icmp', ToPort: 86 }]);
    expect(sg.SecurityGroupIngress).toBeUndefined();
    expect(probe.connections.defaultPort?.toString()).toBe('7777');
  });

  test('run every minute by its schedule, one check per run (no retry of a failed check)', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [id(stack, probe.handler), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 } }],
    });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60, Qualifier: '$LATEST' });
    t.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' });
  });

  test('the alarm: a failed or missing check in 3 periods of 3, no action without a topic', () => {
    const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm'))[0].Properties;
    expect(alarm).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
    });
    expect(alarm.AlarmActions).toBeUndefined();
    const fnRef = { Ref: id(stack, probe.handler) };
    expect(alarm.Metrics).toEqual([
      { Id: 'expr_1', Expression: 'IF(FILL(invocations, 0) < 1 OR FILL(errors, 0) >= 1, 1, 0)', Label: 'RPC check failed or did not run', ReturnData: true },
      { Id: 'invocations', ReturnData: false, MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: [{ Name: 'FunctionName', Value: fnRef }] }, Period: 60, Stat: 'Sum' } },
      { Id: 'errors', ReturnData: false, MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: fnRef }] }, Period: 60, Stat: 'Sum' } },
    ]);
    expect(stack.resolve(probe.alarm.alarmArn)).toEqual({ 'Fn::GetAtt': [id(stack, probe.alarm), 'Arn'] });
  });

  describe('when the alarm fires (CloudWatch semantics simulated, test/support/alarm-sim.ts)', () => {
    const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm'))[0].Properties as AlarmProperties;
    const HOUR = 3600;
    /** One run a minute, 20 s into it; `failing(at)` says whether that run failed; `skipped(at)` that it did not run. */
    const runs = (failing: (at: number) => boolean, skipped: (at: number) => boolean = () => false) =>
      every(60, 20, HOUR, (at) => (skipped(at) ? undefined : { Invocations: 1, Errors: failing(at) ? 1 : 0 }));

    test.each([
      ['every check passes', runs(() => false), undefined],
      ['2 failed checks in a row', runs((at) => at >= 600 && at < 720), undefined],
      ['every other check fails', runs((at) => Math.floor(at / 60) % 2 === 0), undefined],
      ['3 failed checks in a row: after the third', runs((at) => at >= 600 && at < 780), 180],
      ['the load balancer down from minute 10', runs((at) => at >= 600), 180],
      ['the schedule stops at minute 10 (no invocation, no metric)', runs(() => false, (at) => at >= 600), 180],
      ['2 minutes without a run', runs(() => false, (at) => at >= 600 && at < 720), undefined],
    ] as const)('%s', (_name, samples, seconds) => {
      expect(firstAlarm(alarm, [...samples], 600, HOUR)).toBe(seconds);
    });
  });

  test('metrics of the function, per interval', () => {
    expect(stack.resolve(probe.metricFailures().toMetricConfig().metricStat)).toMatchObject({
      namespace: 'AWS/Lambda', metricName: 'Errors', statistic: 'Sum', period: { amount: 1, unit: { label: 'minutes' } },
    });
    expect(probe.metricInvocations().metricName).toBe('Invocations');
    expect(probe.metricDuration()).toMatchObject({ metricName: 'Duration', statistic: 'Maximum' });
    expect(probe.metricFailures({ period: Duration.minutes(5) }).period.toMinutes()).toBe(5);
  });

  test('the role: Lambda\'s network interface calls, narrowed; its own log group; no managed policy', () => {
    expect(resource(probe.handler.role).Properties.ManagedPolicyArns).toBeUndefined();
    // Every policy attached to the role: the probe's own, and the one aws-cdk-lib makes for its grants.
    const roleId = id(stack, probe.handler.role);
    const statements = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement) as any[];
    const arn = (name: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${name}`]] });
    const eni = arn('network-interface/*');
    const subnetArns = vpc.publicSubnets.map((s) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':subnet/', stack.resolve(s.subnetId)]],
    }));
    const sgArn = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':security-group/',
        { 'Fn::GetAtt': [id(stack, probe.connections.securityGroups[0]), 'GroupId'] }]],
    };
    expect(statements).toEqual(expect.arrayContaining([
      { Effect: 'Allow', Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], Resource: '*' },
      { Effect: 'Allow', Action: 'ec2:CreateNetworkInterface', Resource: [eni, ...subnetArns, sgArn] },
      { Effect: 'Allow', Action: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'], Resource: eni },
    ]));
    // The rest: writing to its own log group.
    const others = statements.filter((s) => ![].concat(s.Action).some((a: string) => a.startsWith('ec2:')));
    expect(others.flatMap((s) => [].concat(s.Action)).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    // The function waits for its policy (and, on delete, goes before it: Lambda still needs it to delete the interfaces).
    expect(resource(probe.handler).DependsOn).toEqual(expect.arrayContaining([id(stack, probe.node.findChild('Policy'))]));
  });

  test('its log group: one month, retained', () => {
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Retain' });
  });

  test('checkov: in a VPC, so no CKV_AWS_117 skip; the others explained', () => {
    const skips = resource(probe.handler).Metadata.checkov.skip as Array<{ id: string }>;
    expect(skips.map((s) => s.id).sort()).toEqual(['CKV_AWS_115', 'CKV_AWS_116', 'CKV_AWS_173']);
  });

  test('cdk-nag and cfn-lint clean', () => {
    expectNagAndCfnLintClean(stack);
  });
});

describe('CasperRpcProbe options', () => {
  test('a topic gets the alarm and the return to OK', () => {
    const stack = agnosticStack();
    const vpc = new CasperVpc(stack, 'Network').vpc;
    const topic = new sns.Topic(stack, 'Topic');
    new CasperRpcProbe(stack, 'Probe', { vpc, rpcUrl: URL, network: CasperNetwork.MAINNET, topic });
    const alarm = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))[0].Properties;
    expect(alarm.AlarmActions).toEqual([{ Ref: stack.getLogicalId(topic.node.defaultChild as any) }]);
    expect(alarm.OKActions).toEqual(alarm.AlarmActions);
  });

  test('interval, block age, network, retention and removal policy', () => {
    const { t, probe } = setup({
      interval: Duration.minutes(5),
      maxBlockAge: Duration.minutes(3),
      network: CasperNetwork.MAINNET,
      logRetention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { EXPECTED_CHAINSPEC: 'casper', MAX_BLOCK_AGE_SECONDS: '180' } } });
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 7 }, DeletionPolicy: 'Delete' });
    const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm'))[0].Properties;
    expect(alarm.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Period)).toEqual([300, 300]);
    expect(probe.interval.toMinutes()).toBe(5);
  });

  test('other subnets', () => {
    const stack = agnosticStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC }, { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    const probe = new CasperRpcProbe(stack, 'Probe', { vpc, rpcUrl: URL, network: CasperNetwork.TESTNET, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
    const fnProps = Template.fromStack(stack).toJSON().Resources[id(stack, probe.handler)].Properties;
    expect(fnProps.VpcConfig.SubnetIds).toEqual(vpc.isolatedSubnets.map((s) => stack.resolve(s.subnetId)));
  });

  test.each([
    ['http://internal-fleet.elb.us-east-1.amazonaws.com:7777/rpc', 7777],
    ['http://10.0.0.10/rpc', 80],
    ['https://rpc.example.com/rpc', 443],
    ['https://rpc.example.com:8443', 8443],
  ])('the default port of %s is %p', (rpcUrl, port) => {
    expect(setup({ rpcUrl }).probe.connections.defaultPort?.toString()).toBe(String(port));
  });

  test('with a fleet: allowed to the load balancer on 7777 only, nag clean', () => {
    const stack = agnosticStack();
    const fleet = new CasperNodeFleet(stack, 'Fleet', { network: CasperNetwork.TESTNET });
    const probe = new CasperRpcProbe(stack, 'Probe', { vpc: fleet.vpc, rpcUrl: fleet.rpcUrl, network: CasperNetwork.TESTNET, topic: fleet.alertTopic });
    fleet.connections.allowFrom(probe, ec2.Port.tcp(7777), 'RPC probe');
    const t = Template.fromStack(stack);
    const probeSg = stack.getLogicalId(probe.connections.securityGroups[0].node.defaultChild as any);
    const lbSg = stack.getLogicalId(fleet.connections.securityGroups[0].node.defaultChild as any);
    const egress = Object.values(t.findResources('AWS::EC2::SecurityGroupEgress')).map((r) => r.Properties)
      .filter((p) => JSON.stringify(p.GroupId).includes(probeSg));
    expect(egress).toEqual([{
      GroupId: { 'Fn::GetAtt': [probeSg, 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 7777,
      ToPort: 7777,
      DestinationSecurityGroupId: { 'Fn::GetAtt': [lbSg, 'GroupId'] },
      Description: 'RPC probe',
    }]);
    expect(t.toJSON().Resources[probeSg].Properties.SecurityGroupEgress).toBeUndefined();
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [lbSg, 'GroupId'] }, SourceSecurityGroupId: { 'Fn::GetAtt': [probeSg, 'GroupId'] }, FromPort: 7777, ToPort: 7777,
    });
    expect(stack.resolve(Object.values(t.findResources('AWS::Lambda::Function'))
      .find((f) => f.Properties.Environment?.Variables?.RPC_URL)!.Properties.Environment.Variables.RPC_URL))
      .toEqual({ 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [expect.stringMatching(/^FleetLoadBalancer/), 'DNSName'] }, ':7777/rpc']] });
    expect(nagFindings(stack)).toEqual([]);
  });

  describe('bad input', () => {
    const build = (props: Partial<CasperRpcProbeProps>) => {
      const stack = agnosticStack();
      const vpc = new CasperVpc(stack, 'Network').vpc;
      return { stack, make: () => new CasperRpcProbe(stack, 'Probe', { vpc, rpcUrl: URL, network: CasperNetwork.TESTNET, ...props }) };
    };

    test.each(['ftp://10.0.0.10/rpc', 'http://', '10.0.0.10:7777/rpc', 'not a url', 'http://10.0.0.10:7777 /rpc', ''])('rpcUrl %p', (rpcUrl) => {
      const { stack, make } = build({ rpcUrl });
      expectRejected(stack, make, `CasperRpcProbe: invalid rpcUrl ${JSON.stringify(rpcUrl)}: must be an http:// or https:// URL such as "http://10.0.0.10:7777/rpc" or a load balancer's rpcUrl (construct Test/Probe)`);
    });

    test.each(['http://10.0.0.10:0/rpc', 'http://10.0.0.10:70000/rpc'])('a port out of range: %p', (rpcUrl) => {
      const { stack, make } = build({ rpcUrl });
      expectRejected(stack, make, `CasperRpcProbe: invalid rpcUrl ${JSON.stringify(rpcUrl)}: its port must be from 1 to 65535 (construct Test/Probe)`);
    });

    test.each([
      [Duration.seconds(30), '30 seconds'], [Duration.seconds(90), '1 minute 30 seconds'], [Duration.minutes(61), '1 hour 1 minute'], [Duration.minutes(0), '0 minutes'],
    ])('interval %s', (interval, shown) => {
      const { stack, make } = build({ interval });
      expectRejected(stack, make, `CasperRpcProbe: invalid interval "${shown}": must be whole minutes from 1 to 60 (construct Test/Probe)`);
    });

    test.each([[Duration.seconds(59), '59 seconds'], [Duration.days(2), '2 days']])('maxBlockAge %s', (maxBlockAge, shown) => {
      const { stack, make } = build({ maxBlockAge });
      expectRejected(stack, make, `CasperRpcProbe: invalid maxBlockAge "${shown}": must be from 1 minute to 1 day (construct Test/Probe)`);
    });
  });
});
