/**
 * Every AWS API call the library's templates make at deploy time (AwsCustomResource,
 * `Custom::AWS`; and the integ tests' assertion calls) checked against the AWS API model
 * in botocore (pinned in test/requirements.txt): the service and operation exist, the
 * parameters are members of the request (required ones present, types right), and every
 * path read from the response (outputPaths, physicalResourceId.fromResponse, GetAtt,
 * actualPath) exists in the response shape.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
import * as cr from 'aws-cdk-lib/custom-resources';
import { buildApp } from '../examples/testnet-node';
import { CasperCanary } from '../src';
import {
  botocoreDataDir, botocoreServiceId, checkCall, operationName, sdkCalls, serviceModel, SdkCall, v3ServiceName,
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

/** The calls of the committed integ snapshots (verified against their apps by test/integ.test.ts). */
function integCalls(): SdkCall[] {
  return fs.readdirSync(INTEG).filter((d) => d.endsWith('.snapshot')).flatMap((d) =>
    fs.readdirSync(path.join(INTEG, d)).filter((f) => f.endsWith('.template.json')).flatMap((f) =>
      sdkCalls(JSON.parse(fs.readFileSync(path.join(INTEG, d, f), 'utf8')), `${d}/${f}`)));
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
      'EC2.describeSecurityGroups', 'EC2.describeSnapshots', 'Lambda.invoke',
      'Synthetics.describeCanariesLastRun', 'Synthetics.getCanary', 'autoscaling.recordLifecycleActionHeartbeat',
    ]);
    expect(calls.flatMap(checkCall)).toEqual([]);
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
