/**
 * Integration test: a `CasperNodeFleet` of two members on Casper testnet.
 *
 * Deploys (stack `IntegFleet`): the fleet with its defaults except for three props — a
 * new CasperVpc (public subnets, no NAT), an internal Network Load Balancer serving
 * JSON-RPC on 7777 to the members in sync (target health: each member's GET
 * :8889/healthz), an Auto Scaling group of two m6a.2xlarge members across AZs with ELB
 * health (3-hour grace, the default bootstrapTimeout), a 500 GiB gp3 data volume and a
 * signing key per member slot, the data-volume workflow in pool mode, the daily snapshot
 * rotation, and the fleet's alarms on its alert topic. The props that differ:
 * `fleetName: 'integ-fleet'` (its volumes and snapshots are tagged `casper:node=integ-fleet`,
 * so the test never takes a real fleet's snapshot as its starting point, and the cleanup
 * hook may delete them), `removalPolicy: DESTROY` and no `alertEmails`.
 *
 * Asserts (stack `IntegFleetAssertions`, deployed once both members signalled):
 *  1. `describeTargetHealth` of the RPC target group lists at least one `healthy` target
 *     (waits up to 55 minutes), then
 *  2. `describeTargetHealth` lists exactly two targets, both `healthy` (up to 55 more
 *     minutes), then
 *  3. JSON-RPC `info_get_status` through the load balancer: 8 calls, each on a new
 *     connection, all answer with `chainspec_name` `casper-test`, and both members (two
 *     distinct signing keys) answered among them (up to 15 minutes, retried each minute).
 *
 * Why these waits. The fleet name is new, so no fleet snapshot exists and no seed is
 * given: both members start on empty volumes and sync from a trusted hash. With empty
 * storage a member signals CloudFormation once it answers steadily, not once in sync
 * (see `wait_until_ready` in bootstrap.sh), so the sync happens during the assertions.
 * A custom resource gets at most one hour from CloudFormation, whatever the
 * `waitForAssertions` timeout, so the wait is split: the first member in sync within 55
 * minutes of the deployment, the second within 55 minutes after that (it may have
 * launched later: a slot claim retried, a launch in a slower AZ). That is at most
 * 110 minutes after the deployment, which itself ends roughly 15-40 minutes after the
 * launches: about 2-2.5 hours after launch, inside the 3-hour ELB health grace period
 * after which the group would replace a member still out of sync (a longer wait would
 * then measure the replacement). Testnet's time to KeepUp from a trusted hash has not
 * been measured here (no AWS account); if it is longer, run with `--no-clean` and again
 * (integ/README.md). Once both targets are healthy the RPC answers at once; its 15
 * minutes absorb transient errors and the 1-in-128 chance that 8 new connections all
 * land on one member (each retry draws again).
 *
 * The load balancer stays internal (the default this test proves): the RPC probe is a
 * function in the fleet's VPC (support/assertions.ts `rpcProbe`); the assertion provider
 * outside the VPC only invokes it and reads its summary. An internet-facing load
 * balancer would have to admit the provider's unknown public addresses (0.0.0.0/0).
 *
 * After `cdk destroy`, a post-destroy hook deletes the members' data volumes and the
 * snapshots, which CloudFormation does not own (support/cleanup-node.ts; set AWS_REGION).
 *
 * Time: deploy 20-60 min (each member signals once it answers, within bootstrapTimeout,
 * 3 hours), assertions 5-125 min (depends on how fast the members sync), destroy and
 * cleanup 20-40 min (two members' termination snapshots; the probe's VPC network
 * interface may hold up its security group for a while): typically 1.5-3 hours, at most
 * about 4 hours.
 * Cost per run (us-east-1, 2025 list prices): two instances 2 x 0.3456 USD/h x 1.5-4 h =
 * 1.04-2.76 USD; two 500 GiB gp3 volumes for those hours 0.16-0.44 USD; the load
 * balancer 0.0225 USD/h plus LCUs, under 0.15 USD; two public IPv4 addresses 0.005 USD/h
 * each; snapshots, Lambda, Step Functions, secrets and alarms prorated: cents. Data
 * transfer out for gossip: a few GB per member at 0.09 USD/GB beyond the free 100 GB.
 * Total about 1.5-3.5 USD.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CasperNetwork, CasperNodeFleet } from '../src';
import { SHORT_WAIT, assertRpcAnswers, assertTargetsHealthy, nodeIntegTest, rpcProbe } from './support/assertions';
import { withoutScannerMetadata } from './support/snapshot';

const FLEET_NAME = 'integ-fleet';
const MEMBERS = 2;
/** JSON-RPC calls per probe invocation; all must answer, from both members. */
const RPC_CALLS = 8;
/** A member's sync: under the one hour of a custom resource; target health changes within 20 s (2 checks, 10 s apart). */
const IN_SYNC_WAIT = { totalTimeout: Duration.minutes(55), interval: Duration.minutes(2) };

const app = new App();
const stack = withoutScannerMetadata(new Stack(app, 'IntegFleet'));
const fleet = new CasperNodeFleet(stack, 'Fleet', {
  network: CasperNetwork.TESTNET,
  nodeCount: MEMBERS,
  fleetName: FLEET_NAME,
  removalPolicy: RemovalPolicy.DESTROY,
});

const assertionStack = new Stack(app, 'IntegFleetAssertions');
const integ = nodeIntegTest(app, 'Fleet', stack, assertionStack, FLEET_NAME);
const assertions = integ.assertions;

const probe = rpcProbe(assertionStack, 'RpcProbe', {
  rpcUrl: fleet.rpcUrl,
  port: CasperNetwork.TESTNET.rpcPort,
  vpc: fleet.vpc,
  calls: RPC_CALLS,
});

// 1.-2. The members come into sync: one healthy target, then both.
assertTargetsHealthy(assertions, fleet.rpcTargetGroup, 'any', IN_SYNC_WAIT)
  .next(assertTargetsHealthy(assertions, fleet.rpcTargetGroup, MEMBERS, IN_SYNC_WAIT))
  // 3. JSON-RPC through the load balancer answers with the testnet chainspec, from both members.
  .next(assertRpcAnswers(assertions, probe, {
    chainspecName: CasperNetwork.TESTNET.chainspecName,
    calls: RPC_CALLS,
    members: MEMBERS,
  }, SHORT_WAIT));
