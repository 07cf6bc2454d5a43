/**
 * Integration test: the monitoring constructs used alone, against an existing node.
 *
 * Deploys (stack `IntegMonitoringAlone`, no instance): `CasperNodeMetrics` for node
 * `integ-monitoring-alone` in namespace `casper-casper-test`, a `CasperCanary` on the
 * status URL below, `CasperAlarms` (13: the twelve node alarms and the canary alarm) that
 * notify an `AlertTopic` (KMS-encrypted SNS topic, no subscriptions), and a
 * `CasperDashboard` named `integ-monitoring-alone`.
 *
 * The status URL comes from the CDK context value `statusUrl`; without it the template
 * uses the placeholder `http://203.0.113.10:8888/status` (TEST-NET-3, never reachable),
 * which is also what the committed snapshot holds. integ-runner has no `-c` option: set
 * the environment variable CASPER_STATUS_URL and this file passes it as the context of
 * the deployment (`cdkCommandOptions.deploy.args.context`), so the snapshot stays the
 * same whatever URL a run used. A real run without CASPER_STATUS_URL stops at synth
 * with an error instead of waiting for a canary that cannot pass. Any public Casper
 * testnet node works, e.g. the `StatusUrl` output of a CasperReadOnlyNode.
 *
 * Asserts (stack `IntegMonitoringAloneAssertions`):
 *  1. the canary exists (`getCanary`) and its latest run PASSED (waits up to 30 minutes:
 *     the first run starts within minutes of creation);
 *  2. every alarm exists (`describeAlarms`, one per name);
 *  3. the dashboard exists (`getDashboard`).
 * None of the alarms' metrics exist for this node name, so the node alarms sit in
 * INSUFFICIENT_DATA (node-down and bootstrap-overdue in ALARM, as missing data breaches):
 * that is expected.
 *
 * Time: deploy about 5 min, assertions 5-15 min, destroy about 5 min: about 15-25 min.
 * Cost per run (us-east-1, 2025 list prices): canary runs 0.0012 USD each, about 5 runs;
 * KMS key 1 USD/month prorated (then 7-30 days pending deletion); alarms, dashboard,
 * Lambda (custom resources, assertions) and Step Functions: cents. Total under 0.10 USD.
 */
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AlertTopic, CasperAlarms, CasperCanary, CasperDashboard, CasperNetwork, CasperNodeMetrics,
} from '../src';
import { assertAlarmsExist, assertCanaryExists, assertCanaryPassed } from './support/assertions';
import { withoutScannerMetadata } from './support/snapshot';

/** Placeholder status URL (RFC 5737 TEST-NET-3): a real run needs CASPER_STATUS_URL. */
const DEFAULT_STATUS_URL = 'http://203.0.113.10:8888/status';
/** Set only in the context integ-runner deploys with (see below). */
const DEPLOY_MARKER = 'cdk-casper-node:integDeploy';
const NODE_NAME = 'integ-monitoring-alone';

const app = new App();
const statusUrl: string = app.node.tryGetContext('statusUrl') ?? DEFAULT_STATUS_URL;
if (app.node.tryGetContext(DEPLOY_MARKER) && statusUrl === DEFAULT_STATUS_URL) {
  throw new Error('integ.monitoring-alone: set CASPER_STATUS_URL to the status URL of a live Casper testnet node, '
    + 'e.g. CASPER_STATUS_URL=http://<node address>:8888/status npx integ-runner ...');
}

const stack = withoutScannerMetadata(new Stack(app, 'IntegMonitoringAlone'));
const metrics = new CasperNodeMetrics({ namespace: 'casper-casper-test', nodeName: NODE_NAME });
const alerts = new AlertTopic(stack, 'Alerts', { removalPolicy: RemovalPolicy.DESTROY });
const canary = new CasperCanary(stack, 'Canary', {
  statusUrl,
  network: CasperNetwork.TESTNET,
  removalPolicy: RemovalPolicy.DESTROY,
});
const alarms = new CasperAlarms(stack, 'Alarms', { metrics, topic: alerts.topic, canary });
new CasperDashboard(stack, 'Dashboard', {
  metrics,
  statusUrl,
  alarms,
  canary,
  dashboardName: NODE_NAME,
  defaultInterval: Duration.hours(3),
});

// integ-runner deploys with this context (and synthesizes snapshots without it).
const deployContext: { [key: string]: string } = { [DEPLOY_MARKER]: 'true' };
if (process.env.CASPER_STATUS_URL) deployContext.statusUrl = process.env.CASPER_STATUS_URL;

const assertionStack = new Stack(app, 'IntegMonitoringAloneAssertions');
const integ = new IntegTest(app, 'MonitoringAlone', {
  testCases: [stack],
  assertionStack,
  diffAssets: false,
  stackUpdateWorkflow: false,
  cdkCommandOptions: {
    deploy: { args: { context: deployContext } },
    destroy: { args: { force: true } },
  },
});
const assertions = integ.assertions;

// 1. The canary exists and its latest run passed.
assertCanaryExists(assertions, canary)
  .next(assertCanaryPassed(assertions, canary, { totalTimeout: Duration.minutes(30), interval: Duration.minutes(5) }));

// 2. Every alarm exists.
assertAlarmsExist(assertions, alarms);

// 3. The dashboard exists.
assertions
  .awsApiCall('CloudWatch', 'getDashboard', { DashboardName: NODE_NAME })
  .assertAtPath('DashboardName', ExpectedResult.exact(NODE_NAME));
