/**
 * Shared pieces of the integration tests in integ/ (not a test itself: integ-runner
 * only runs files named `integ.*.ts`).
 *
 * Two limits of a real run shape these helpers:
 *
 * - A CloudFormation custom resource answers in at most 4,096 bytes. integ-tests-alpha
 *   returns the whole API response to CloudFormation, so a large response (a Casper
 *   `/status` with its peer list, eleven alarms, a dashboard body) fails the assertion
 *   with "Response object is too long". Every check here therefore either asserts one
 *   leaf with `assertAtPath` (which returns only that path) or calls a small probe
 *   function that returns a few fields.
 * - CloudFormation waits at most one hour for a custom resource, whatever the
 *   `waitForAssertions` timeout. A long wait is split into several assertions chained
 *   with `next()`, each waiting less than an hour.
 */
import { ExpectedResult, IApiCall, IDeployAssert, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CasperAlarms, CasperCanary } from '../../src';

/** For a check that should pass at once and gets a few retries (transient errors). */
export const SHORT_WAIT = { totalTimeout: Duration.minutes(15), interval: Duration.minutes(1) };

/**
 * For a check that waits on the node (sync, first canary runs): just under the one hour
 * CloudFormation gives a custom resource. The interval matches the canary schedule.
 */
export const LONG_WAIT = { totalTimeout: Duration.minutes(55), interval: Duration.minutes(5) };

/** The alarm names of a `CasperAlarms`, as literal strings (`casper-<node>-<alarm>`). */
export function alarmNames(alarms: CasperAlarms): string[] {
  return alarms.alarms.map((alarm) => {
    const name = (alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName;
    if (name === undefined || Token.isUnresolved(name)) {
      throw new Error(`alarm ${alarm.node.path} has no literal name`);
    }
    return name;
  });
}

/**
 * One `describeAlarms` per alarm, each asserting that the alarm with that exact name
 * exists (one name per call keeps each answer small and independent of result order).
 */
export function assertAlarmsExist(assertions: IDeployAssert, alarms: CasperAlarms): IApiCall[] {
  return alarmNames(alarms).map((name) => assertions
    .awsApiCall('CloudWatch', 'describeAlarms', { AlarmNames: [name] })
    .assertAtPath('MetricAlarms.0.AlarmName', ExpectedResult.exact(name)));
}

/** The canary exists (`getCanary`). */
export function assertCanaryExists(assertions: IDeployAssert, canary: CasperCanary): IApiCall {
  return assertions
    .awsApiCall('Synthetics', 'getCanary', { Name: canary.canary.canaryName })
    .assertAtPath('Canary.Name', ExpectedResult.exact(canary.canary.canaryName));
}

/**
 * The canary's most recent run PASSED, waiting for it (`describeCanariesLastRun`, which
 * is documented to return the latest run; `getCanaryRuns` documents no order).
 */
export function assertCanaryPassed(assertions: IDeployAssert, canary: CasperCanary,
  wait = LONG_WAIT): IApiCall {
  return assertions
    .awsApiCall('Synthetics', 'describeCanariesLastRun', { Names: [canary.canary.canaryName] })
    .assertAtPath('CanariesLastRun.0.LastRun.Status.State', ExpectedResult.exact('PASSED'))
    .waitForAssertions(wait);
}

/** A log group for a probe function that goes away with the assertion stack. */
function probeLogGroup(scope: Construct, id: string): logs.LogGroup {
  return new logs.LogGroup(scope, `${id}Logs`, {
    retention: logs.RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/** Node.js source of the status probe: GET the URL, return only a few fields. */
const STATUS_PROBE_SOURCE = `
exports.handler = async () => {
  try {
    const res = await fetch(process.env.STATUS_URL, { signal: AbortSignal.timeout(10000) });
    let body = {};
    try { body = JSON.parse(await res.text()); } catch (e) { body = {}; }
    const block = body.last_added_block_info || {};
    return {
      httpStatus: res.status,
      chainspecName: body.chainspec_name ?? null,
      reactorState: body.reactor_state ?? null,
      height: block.height ?? null,
    };
  } catch (e) {
    return { httpStatus: 0, error: String(e && e.name) };
  }
};
`;

/**
 * A function that GETs a Casper node's status URL and returns only the HTTP status, the
 * chainspec name, the reactor state and the height. `httpApiCall` would hand the whole
 * `/status` (with its list of peers, several KB on a live network) to CloudFormation,
 * over its 4 KB limit for a custom resource's answer.
 */
export function statusProbe(scope: Construct, id: string, statusUrl: string): lambda.Function {
  return new lambda.Function(scope, id, {
    description: 'Integ test: GET a Casper node status URL, return a summary',
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(STATUS_PROBE_SOURCE),
    timeout: Duration.seconds(30),
    environment: { STATUS_URL: statusUrl },
    logGroup: probeLogGroup(scope, id),
  });
}

/** Invokes the status probe until the node answers 200 with this chainspec name. */
export function assertStatusAnswers(assertions: IDeployAssert, probe: lambda.IFunction,
  chainspecName: string, wait = SHORT_WAIT): IApiCall {
  return assertions
    .invokeFunction({ functionName: probe.functionName })
    .expect(ExpectedResult.objectLike({
      Payload: Match.serializedJson(Match.objectLike({ httpStatus: 200, chainspecName })),
    }))
    .waitForAssertions(wait);
}

/** Node.js source of the profile probe: read each secret, return only which are profiles. */
const PROFILE_PROBE_SOURCE = `
const { SecretsManagerClient, GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager');
const sm = new SecretsManagerClient({});
const PARTS = ['<ca>', '</ca>', '<cert>', '</cert>', '<key>', '</key>', '<tls-crypt>'];
exports.handler = async () => {
  const profiles = [];
  const missing = [];
  for (const { name, arn } of JSON.parse(process.env.PROFILE_SECRETS)) {
    let text = '';
    try {
      text = (await sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString || '';
    } catch (e) {
      console.log('cannot read the profile of ' + name + ': ' + (e && e.name));
    }
    // Never return or log the value: it holds the client's private key.
    const ok = text.startsWith('# Casper VPN profile for ' + name + '\\n')
      && /^client$/m.test(text) && PARTS.every((part) => text.includes(part));
    (ok ? profiles : missing).push(name);
  }
  return { profiles, missing };
};
`;

/**
 * A function that reads the VPN client profile secrets and returns only the names of
 * those that hold a complete `.ovpn` profile. Asserting on `getSecretValue` directly
 * would put each client's private key into the assertion function's log and into
 * CloudFormation's custom-resource response (and exceed its 4 KB).
 */
export function profileProbe(scope: Construct, id: string, names: string[],
  secrets: secretsmanager.ISecret[]): lambda.Function {
  const probe = new lambda.Function(scope, id, {
    description: 'Integ test: check that the OpenVPN client profile secrets hold profiles',
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(PROFILE_PROBE_SOURCE),
    timeout: Duration.seconds(60),
    environment: {
      PROFILE_SECRETS: JSON.stringify(names.map((name, i) => ({ name, arn: secrets[i].secretArn }))),
    },
    logGroup: probeLogGroup(scope, id),
  });
  for (const secret of secrets) secret.grantRead(probe);
  return probe;
}

/**
 * Post-destroy hook of the node tests: deletes the data volume and the snapshots the
 * node leaves behind (the lifecycle handler and the rotation create them outside
 * CloudFormation). Runs in integ/, in the region of AWS_REGION / AWS_PROFILE.
 */
export function cleanupHook(nodeName: string): string {
  return `node -r ts-node/register support/cleanup-node.ts ${nodeName}`;
}

/**
 * The integ test of a node stack: asset hashes normalized (they change with every
 * src change), no "deploy the committed snapshot, then update" pass (it would double
 * a 1.5-hour deployment, and the snapshot then needs no asset folders), a forced
 * destroy, and the cleanup hook for what CloudFormation does not own.
 */
export function nodeIntegTest(app: App, id: string, testCase: Stack, assertionStack: Stack, nodeName: string): IntegTest {
  return new IntegTest(app, id, {
    testCases: [testCase],
    assertionStack,
    diffAssets: false,
    stackUpdateWorkflow: false,
    cdkCommandOptions: {
      destroy: { args: { force: true } },
    },
    hooks: {
      postDestroy: [cleanupHook(nodeName)],
    },
  });
}
