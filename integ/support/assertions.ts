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
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
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

/**
 * `describeTargetHealth` of a target group until its targets are healthy: `count`
 * targets, all `healthy` (the answer must hold exactly that many: a draining or unused
 * extra target fails it too), or with `count: 'any'` at least one healthy target.
 * The whole answer is small (a few hundred bytes per target) and returned as it is.
 */
export function assertTargetsHealthy(assertions: IDeployAssert, targetGroup: elbv2.ITargetGroup,
  count: number | 'any', wait = SHORT_WAIT): IApiCall {
  const healthy = { TargetHealth: { State: 'healthy' } };
  const descriptions = count === 'any'
    ? Match.arrayWith([Match.objectLike(healthy)])
    : Array.from({ length: count }, () => healthy);
  return assertions
    .awsApiCall('ELBv2', 'describeTargetHealth', { TargetGroupArn: targetGroup.targetGroupArn })
    .expect(ExpectedResult.objectLike({ TargetHealthDescriptions: descriptions }))
    .waitForAssertions(wait);
}

/** Node.js source of the RPC probe: CALLS JSON-RPC info_get_status calls, each on a new connection. */
const RPC_PROBE_SOURCE = `
const http = require('http');
const BODY = '{"jsonrpc":"2.0","id":1,"method":"info_get_status","params":[]}';
function call(url) {
  return new Promise((resolve) => {
    // agent: false opens a new TCP connection per call, so the load balancer may send
    // each one to another member.
    const req = http.request(url, {
      method: 'POST', agent: false, timeout: 10000,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let result = {};
        try { result = JSON.parse(text).result || {}; } catch (e) { result = {}; }
        resolve({ httpStatus: res.statusCode, chainspecName: result.chainspec_name, key: result.our_public_signing_key });
      });
      res.on('error', (e) => resolve({ httpStatus: 0, error: String(e && (e.code || e.name)) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ httpStatus: 0, error: String(e && (e.code || e.message || e.name)) }));
    req.end(BODY);
  });
}
exports.handler = async () => {
  const calls = Number(process.env.CALLS);
  const answers = [];
  for (let i = 0; i < calls; i++) answers.push(await call(process.env.RPC_URL));
  const ok = answers.filter((a) => a.httpStatus === 200 && typeof a.chainspecName === 'string');
  return {
    calls,
    answered: ok.length,
    chainspecNames: [...new Set(ok.map((a) => a.chainspecName))].sort(),
    members: new Set(ok.map((a) => a.key).filter(Boolean)).size,
    errors: [...new Set(answers.filter((a) => !ok.includes(a)).map((a) => a.error || 'HTTP ' + a.httpStatus))].slice(0, 3),
  };
};
`;

/** What `rpcProbe` needs: where to call, and the VPC to call from. */
export interface RpcProbeProps {
  /** The JSON-RPC URL (`http://<host>:<port>/rpc`). */
  readonly rpcUrl: string;
  /** The port of `rpcUrl`, the only one the probe may connect to. */
  readonly port: number;
  /**
   * The VPC the probe runs in, in its public subnets (the only ones a `CasperVpc` has):
   * without NAT it reaches no AWS API and no internet, only private addresses of the
   * VPC, which is all an internal load balancer needs.
   */
  readonly vpc: ec2.IVpc;
  /** Calls per invocation, each on a new connection. */
  readonly calls: number;
}

/**
 * A function in the VPC that makes `calls` JSON-RPC `info_get_status` calls to
 * `rpcUrl` and returns only a summary: how many answered, the distinct chainspec names,
 * how many distinct members (signing keys) answered, and up to three errors. An
 * internal load balancer is reachable only from inside its VPC, where the assertion
 * provider does not run; and the whole `info_get_status` (with its peer list) would
 * exceed the 4 KB of a custom resource's answer. Its security group may only open TCP
 * connections to the RPC port inside the VPC's CIDR (DNS to the VPC resolver is not
 * filtered by security groups).
 */
export function rpcProbe(scope: Construct, id: string, props: RpcProbeProps): lambda.Function {
  const securityGroup = new ec2.SecurityGroup(scope, `${id}SecurityGroup`, {
    vpc: props.vpc,
    description: 'Integ test: the RPC probe calls the load balancer inside the VPC',
    allowAllOutbound: false,
  });
  securityGroup.addEgressRule(ec2.Peer.ipv4(props.vpc.vpcCidrBlock), ec2.Port.tcp(props.port), 'JSON-RPC to the load balancer');
  return new lambda.Function(scope, id, {
    description: 'Integ test: JSON-RPC info_get_status through the load balancer, return a summary',
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(RPC_PROBE_SOURCE),
    timeout: Duration.seconds(20 + 12 * props.calls),
    environment: { RPC_URL: props.rpcUrl, CALLS: String(props.calls) },
    vpc: props.vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    // Public subnets: the function gets no public address and needs none.
    allowPublicSubnet: true,
    securityGroups: [securityGroup],
    logGroup: probeLogGroup(scope, id),
  });
}

/**
 * Invokes the RPC probe until every call answered with this chainspec name and
 * `members` distinct members answered among them.
 */
export function assertRpcAnswers(assertions: IDeployAssert, probe: lambda.IFunction, expected: {
  chainspecName: string; calls: number; members: number;
}, wait = SHORT_WAIT): IApiCall {
  return assertions
    .invokeFunction({ functionName: probe.functionName })
    .expect(ExpectedResult.objectLike({
      Payload: Match.serializedJson(Match.objectLike({
        answered: expected.calls,
        chainspecNames: [expected.chainspecName],
        members: expected.members,
      })),
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
