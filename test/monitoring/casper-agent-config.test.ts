import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { CasperAgentConfig, CasperAgentConfigProps, CasperNetwork } from '../../src';
import { renderAgentConfig } from '../../src/private/agent-config';
import { expectCfnLintClean, nagFindings } from '../support/checks';
import { agnosticStack, expectRejected } from '../support/stacks';

function setup(props: Partial<CasperAgentConfigProps> = {}) {
  const stack = agnosticStack();
  const agent = new CasperAgentConfig(stack, 'Agent', { network: CasperNetwork.TESTNET, nodeName: 'reader-1', ...props });
  // The template is synthesized on first use, so the tree can still grow before that.
  let template: Template | undefined;
  return { stack, agent, get t() { return template ??= Template.fromStack(stack); } };
}

/** Logical id of an L2 construct's CloudFormation resource. */
function logicalId(construct: { node: { defaultChild?: unknown } }): string {
  return Stack.of(construct as any).getLogicalId(construct.node.defaultChild as any);
}

/**
 * The agent configuration as stored in the parameter: the `Fn::Join` is put
 * back together with each `{ Ref: X }` read as the string `<ref:X>`.
 */
function storedConfig(t: Template): any {
  const params = Object.values(t.findResources('AWS::SSM::Parameter'));
  expect(params).toHaveLength(1);
  const value = params[0].Properties.Value;
  const text = typeof value === 'string' ? value : (value['Fn::Join'][1] as any[]).map((part) => {
    if (typeof part === 'string') return part;
    if (part && typeof part === 'object' && 'Ref' in part) return `<ref:${part.Ref}>`;
    throw new Error(`unexpected token in the agent config: ${JSON.stringify(part)}`);
  }).join(value['Fn::Join'][0]);
  return JSON.parse(text);
}

/** The statements of every IAM policy in the template. */
function statements(t: Template): any[] {
  return Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** The actions CDK's own `StringParameter.grantRead` gives, so the test follows aws-cdk-lib. */
function cdkParameterReadActions(): string[] {
  const stack = agnosticStack('Reference');
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  new ssm.StringParameter(stack, 'P', { stringValue: 'x' }).grantRead(role);
  return [].concat(statements(Template.fromStack(stack))[0].Action);
}

describe('CasperAgentConfig', () => {
  test('the parameter holds renderAgentConfig with the log group names filled in', () => {
    const { t, agent } = setup();
    expect(storedConfig(t)).toEqual(renderAgentConfig({
      namespace: 'casper-casper-test',
      nodeName: 'reader-1',
      intervalSeconds: 30,
      dataMountPoint: '/var/lib/casper/casper-node',
      nodeLogGroupName: `<ref:${logicalId(agent.nodeLogGroup)}>`,
      nodeStderrLogGroupName: `<ref:${logicalId(agent.nodeStderrLogGroup)}>`,
      bootstrapLogGroupName: `<ref:${logicalId(agent.bootstrapLogGroup)}>`,
    }));
    t.hasResourceProperties('AWS::SSM::Parameter', {
      Type: 'String',
      Description: 'CloudWatch agent configuration of Casper node reader-1',
    });
  });

  test('each log file goes to its own log group; the metrics log group only receives EMF events', () => {
    const { t, agent } = setup();
    const groups = (storedConfig(t).logs.logs_collected.files.collect_list as any[]).map((f) => f.log_group_name);
    expect(groups).toEqual([agent.nodeLogGroup, agent.nodeStderrLogGroup, agent.bootstrapLogGroup].map((g) => `<ref:${logicalId(g)}>`));
    expect(groups).not.toContain(`<ref:${logicalId(agent.metricsLogGroup)}>`);
  });

  test('the parameter fits the standard tier (4 KB) even with long log group names', () => {
    const long = 'x'.repeat(200);
    const config = renderAgentConfig({
      namespace: 'n'.repeat(255),
      nodeName: 'n'.repeat(63),
      intervalSeconds: 300,
      dataMountPoint: '/var/lib/casper/casper-node',
      nodeLogGroupName: long,
      nodeStderrLogGroupName: long,
      bootstrapLogGroupName: long,
    });
    expect(JSON.stringify(config).length).toBeLessThan(4096);
  });

  test('interval and data mount point props', () => {
    const { t } = setup({ metricsInterval: Duration.minutes(1), dataMountPoint: '/data/casper' });
    const config = storedConfig(t);
    expect(config.agent.metrics_collection_interval).toBe(60);
    expect(config.metrics.metrics_collected.cpu.metrics_collection_interval).toBe(60);
    expect(config.metrics.metrics_collected.disk.resources).toEqual(['/', '/data/casper']);
  });

  test('four log groups, 30 days, retained by default', () => {
    const { t } = setup();
    t.resourceCountIs('AWS::Logs::LogGroup', 4);
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup'));
    for (const g of groups) {
      expect(g.Properties.RetentionInDays).toBe(30);
      expect(g.DeletionPolicy).toBe('Retain');
      expect(g.UpdateReplacePolicy).toBe('Retain');
    }
  });

  test('log retention and removal policy props', () => {
    const { t } = setup({ logRetention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY });
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(4);
    for (const g of groups) {
      expect(g.Properties.RetentionInDays).toBe(7);
      expect(g.DeletionPolicy).toBe('Delete');
    }
  });

  test('namespace: casper-<chainspec> by default, or the given one', () => {
    expect(setup().agent.metrics.namespace).toBe('casper-casper-test');
    expect(setup({ network: CasperNetwork.MAINNET }).agent.metrics.namespace).toBe('casper-casper');
    const { agent, t } = setup({ metricsNamespace: 'My/Casper #1: nodes_x.y-z' });
    expect(agent.metrics.namespace).toBe('My/Casper #1: nodes_x.y-z');
    expect(storedConfig(t).metrics.namespace).toBe('My/Casper #1: nodes_x.y-z');
    expect(agent.metrics.namespace).toBe('My/Casper #1: nodes_x.y-z');
  });

  describe('grantAgent', () => {
    function granted(props: Partial<CasperAgentConfigProps> = {}) {
      const { stack, agent } = setup(props);
      const role = new iam.Role(stack, 'NodeRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
      agent.grantAgent(role);
      return { stack, agent, role, t: Template.fromStack(stack) };
    }
    /** The grant to put metrics into `namespace` (and no other). */
    const putMetricData = (namespace: string) => ({
      Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': namespace } },
    });

    test('reads the parameter, writes to the four log groups, puts metrics into the namespace; nothing else', () => {
      const { t, agent } = granted();
      const groupArn = (g: logs.LogGroup) => ({ 'Fn::GetAtt': [logicalId(g), 'Arn'] });
      const logActions = ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'];
      expect(statements(t)).toEqual([
        {
          Effect: 'Allow',
          Action: cdkParameterReadActions(),
          Resource: {
            'Fn::Join': ['', [
              'arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' },
              ':parameter/', { Ref: logicalId(agent.parameter) },
            ]],
          },
        },
        { Effect: 'Allow', Action: logActions, Resource: groupArn(agent.nodeLogGroup) },
        { Effect: 'Allow', Action: logActions, Resource: groupArn(agent.nodeStderrLogGroup) },
        { Effect: 'Allow', Action: logActions, Resource: groupArn(agent.bootstrapLogGroup) },
        { Effect: 'Allow', Action: logActions, Resource: groupArn(agent.metricsLogGroup) },
        putMetricData('casper-casper-test'),
      ]);
    });

    test('only parameter reads, never writes', () => {
      const { t } = granted();
      const actions = statements(t).flatMap((s) => [].concat(s.Action)) as string[];
      expect(actions.filter((a) => a.startsWith('ssm:'))).toEqual(expect.arrayContaining(['ssm:GetParameter']));
      expect(actions.filter((a) => /^ssm:(Put|Delete|Label|Add|Remove)/.test(a))).toEqual([]);
      // The agent creates log streams only; its log groups are created by the stack with a retention.
      expect(actions).not.toContain('logs:CreateLogGroup');
      expect(actions).not.toContain('logs:PutRetentionPolicy');
    });

    test('the metric grant follows a custom namespace', () => {
      const { t } = granted({ metricsNamespace: 'my-ns' });
      t.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: Match.arrayWith([putMetricData('my-ns')]) } });
    });

    test('cdk-nag clean', () => {
      const { stack } = granted();
      expect(nagFindings(stack)).toEqual([]);
    });

    test('cfn-lint: no error and no unexplained warning', () => {
      const { stack } = granted();
      expectCfnLintClean(stack);
    });
  });

  describe('metrics match what the agent publishes', () => {
    let agent: CasperAgentConfig;
    let config: any;
    let collected: any;
    let agentDims: { [k: string]: string };
    beforeAll(() => {
      const built = setup({ dataMountPoint: '/data' });
      agent = built.agent;
      config = storedConfig(built.t);
      collected = config.metrics.metrics_collected;
      agentDims = collected.cpu.append_dimensions;
    });

    const check = (metric: cloudwatch.Metric, plugin: 'cpu' | 'mem' | 'disk', extraDims: { [k: string]: string }) => {
      // The agent names a metric <plugin>_<measurement>, in the configured namespace.
      expect(metric.namespace).toBe(config.metrics.namespace);
      expect(collected[plugin].measurement).toContain(metric.metricName.slice(plugin.length + 1));
      expect(metric.metricName.startsWith(`${plugin}_`)).toBe(true);
      expect(metric.dimensions).toEqual({ ...extraDims, ...agentDims });
    };

    test('append_dimensions is exactly the NodeName of the metrics', () => {
      expect(agentDims).toEqual({ NodeName: 'reader-1' });
      expect(agent.metrics.nodeName).toBe('reader-1');
      expect(agent.metrics.namespace).toBe('casper-casper-test');
    });

    test('CPU: the total over all cores carries cpu=cpu-total', () => {
      expect(collected.cpu.totalcpu).toBe(true);
      check(agent.metrics.metricCpuUtilization(), 'cpu', { cpu: 'cpu-total' });
    });

    test('memory', () => {
      check(agent.metrics.metricMemoryUsedPercent(), 'mem', {});
      check(agent.metrics.metricMemoryUsed(), 'mem', {});
    });

    test('disks: path (one of the configured resources) and fstype, no device', () => {
      expect(collected.disk.drop_device).toBe(true);
      expect(agent.metrics.dataMountPoint).toBe('/data');
      for (const [metric, mount] of [
        [agent.metrics.metricDataDiskUsedPercent(), '/data'],
        [agent.metrics.metricDataDiskUsed(), '/data'],
        [agent.metrics.metricDataDiskTotal(), '/data'],
        [agent.metrics.metricRootDiskUsedPercent(), '/'],
        [agent.metrics.metricRootDiskUsed(), '/'],
        [agent.metrics.metricRootDiskTotal(), '/'],
      ] as Array<[cloudwatch.Metric, string]>) {
        expect(collected.disk.resources).toContain(mount);
        check(metric, 'disk', { path: mount, fstype: 'ext4' });
      }
    });
  });

  describe('bad input', () => {
    const reject = (props: Partial<CasperAgentConfigProps>, message: string) => {
      const stack = agnosticStack();
      expectRejected(stack, () => new CasperAgentConfig(stack, 'Agent', { network: CasperNetwork.TESTNET, nodeName: 'reader-1', ...props }), message);
    };

    test.each([
      ['with "_"', 'reader_1'],
      ['of 64 characters', 'a'.repeat(64)],
      ['empty', ''],
      ['starting with "-"', '-reader'],
      ['ending with "-"', 'reader-'],
    ])('nodeName %s', (_, nodeName) => {
      reject({ nodeName }, `CasperAgentConfig: invalid nodeName ${JSON.stringify(nodeName)}: must be 1 to 63 letters, digits or "-", starting and ending with a letter or digit`);
    });

    test('nodeName of 63 characters is fine', () => {
      expect(setup({ nodeName: 'a'.repeat(63) }).agent.metrics.nodeName).toHaveLength(63);
    });

    test.each([
      ['in the AWS/ space', 'AWS/EC2'],
      ['starting with ":"', ':x'],
      ['with "$"', 'with$dollar'],
      ['empty', ''],
      ['of 256 characters', 'n'.repeat(256)],
    ])('metricsNamespace %s', (_, metricsNamespace) => {
      reject({ metricsNamespace }, `CasperAgentConfig: invalid metricsNamespace ${JSON.stringify(metricsNamespace)}: must be 1 to 255 characters of letters, digits and . - _ / # : or space, not starting with ":" or "AWS/"`);
    });

    test.each([
      ['5 seconds', Duration.seconds(5)],
      ['5 minutes 1 second', Duration.seconds(301)],
      ['30500 milliseconds', Duration.seconds(30.5)],
    ])('metricsInterval %s', (human, metricsInterval) => {
      reject({ metricsInterval }, `CasperAgentConfig: invalid metricsInterval "${human}": must be whole seconds from 10 to 300`);
    });

    test.each([10, 300])('metricsInterval of %d seconds is fine', (seconds) => {
      const metricsInterval = Duration.seconds(seconds);
      expect(storedConfig(setup({ metricsInterval }).t).agent.metrics_collection_interval).toBe(metricsInterval.toSeconds());
    });

    test.each(['/', 'relative/path', '/with space', '', '/data/', '//x', '/a/../b', '/a/./b'])('dataMountPoint %j', (dataMountPoint) => {
      reject({ dataMountPoint }, `CasperAgentConfig: invalid dataMountPoint ${JSON.stringify(dataMountPoint)}: must be an absolute path other than "/", without a trailing "/", "." or ".." segments`);
    });
  });
});
