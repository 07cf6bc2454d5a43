/**
 * Integration test: a `CasperReadOnlyNode` with its defaults on Casper testnet.
 *
 * Deploys (stack `IntegNodeDefaults`): the full default node — a new CasperVpc (public
 * subnets, flow logs), an m6a.2xlarge Auto Scaling group of one with a 500 GiB gp3 data
 * volume (created by the lifecycle handler), Elastic IP, signing-key secret, config
 * bucket, CloudWatch agent config and log groups, 18 alarms and their alert topic, a Synthetics canary every
 * 5 minutes, the daily snapshot rotation and a dashboard. Only three props differ from
 * the defaults: `nodeName: 'integ-node-defaults'` (so the test can never pick up or
 * clean up the volume of a real `casper-test-node` in the same account),
 * `removalPolicy: DESTROY` (so the run leaves no Elastic IP, secret, bucket or log
 * groups behind) and no `alertEmails` (nobody to confirm a subscription; the node's own
 * alert topic still receives every alarm).
 *
 * Asserts (stack `IntegNodeDefaultsAssertions`, deployed after the node signalled ready):
 *  1. every alarm of the node exists (`describeAlarms`, one per name);
 *  2. an HTTP GET of the node's status URL answers 200 with chainspec `casper-test`
 *     (a probe function: see `statusProbe` for why not `httpApiCall`), then
 *  3. the canary's latest run PASSED (waits up to 55 minutes for the node to sync), then
 *  4. invoking the snapshot rotation creates a snapshot (it skips while the node is not
 *     synced, so this retries for up to 55 more minutes), then
 *  5. `describeSnapshots` finds a snapshot tagged `casper:node=integ-node-defaults` and
 *     with this rotation's `casper:rotation` id.
 * After `cdk destroy`, a post-destroy hook deletes the data volume and the snapshots,
 * which CloudFormation does not own (support/cleanup-node.ts; set AWS_REGION).
 *
 * Time: deploy 30-90 min (the group waits until /status answers, bootstrapTimeout 90
 * min), assertions 5-120 min (depends on how fast the node syncs), destroy and cleanup
 * about 15 min: typically 1.5-2.5 hours, at most about 4 hours.
 * Cost per run (us-east-1, 2025 list prices): instance 0.3456 USD/h x 1.5-4 h =
 * 0.52-1.38 USD; 500 GiB gp3 for those hours 0.08-0.22 USD; snapshots a few cents
 * (deleted by the hook); canary runs 0.0012 each, about 0.02-0.06 USD; Elastic IP,
 * Lambda, Step Functions, Secrets Manager, dashboard and alarms prorated: cents. Data
 * transfer out for gossip: a few GB at 0.09 USD/GB beyond the free 100 GB. Total about
 * 1-2 USD.
 */
import { ExpectedResult, Match } from '@aws-cdk/integ-tests-alpha';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CasperNetwork, CasperReadOnlyNode } from '../src';
import {
  LONG_WAIT, SHORT_WAIT, assertAlarmsExist, assertCanaryPassed, assertStatusAnswers, nodeIntegTest, statusProbe,
} from './support/assertions';
import { withoutScannerMetadata } from './support/snapshot';

const NODE_NAME = 'integ-node-defaults';

const app = new App();
const stack = withoutScannerMetadata(new Stack(app, 'IntegNodeDefaults'));
const node = new CasperReadOnlyNode(stack, 'Node', {
  network: CasperNetwork.TESTNET,
  nodeName: NODE_NAME,
  removalPolicy: RemovalPolicy.DESTROY,
});

const assertionStack = new Stack(app, 'IntegNodeDefaultsAssertions');
const integ = nodeIntegTest(app, 'NodeDefaults', stack, assertionStack, NODE_NAME);
const assertions = integ.assertions;

// 1. Every alarm exists.
assertAlarmsExist(assertions, node.alarms);

// 2.-5. The node answers, the canary passes, the rotation snapshots it.
const statusUrl = `http://${node.elasticIp.publicIp}:${node.network.restPort}/status`;
const probe = statusProbe(assertionStack, 'StatusProbe', statusUrl);
const rotation = node.snapshotRotation!;
assertStatusAnswers(assertions, probe, node.network.chainspecName, SHORT_WAIT)
  .next(assertCanaryPassed(assertions, node.canary!, LONG_WAIT))
  .next(assertions
    .invokeFunction({ functionName: rotation.handler.functionName })
    .expect(ExpectedResult.objectLike({
      Payload: Match.serializedJson(Match.objectLike({ created: Match.arrayWith([Match.stringLikeRegexp('^snap-')]) })),
    }))
    .waitForAssertions(LONG_WAIT))
  .next(assertions
    .awsApiCall('EC2', 'describeSnapshots', {
      OwnerIds: ['self'],
      Filters: [
        { Name: 'tag:casper:node', Values: [NODE_NAME] },
        { Name: 'tag:casper:rotation', Values: [rotation.rotationId] },
      ],
    })
    .assertAtPath('Snapshots.0.SnapshotId', ExpectedResult.stringLikeRegexp('^snap-'))
    .waitForAssertions(SHORT_WAIT));
