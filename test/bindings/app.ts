/**
 * The binding smoke app in TypeScript. test/bindings/python/app.py and
 * test/bindings/go/main.go build the same stack through the generated Python
 * and Go bindings; compare.ts checks that all three templates match.
 * Keep the three in step.
 */
import { App, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import {
  CasperElasticIp, CasperNetwork, CasperNodeFleet, CasperNodeSecurityGroup, CasperReadOnlyNode, CasperVpc, SshAccess,
} from '../../src';

// A validation error must cross the language boundary with its message.
try {
  new CasperVpc(new Stack(new App({ autoSynth: false }), 'Bad'), 'Net', { cidr: '10.0.0.0/8' });
  throw new Error('expected CasperVpc to reject cidr 10.0.0.0/8');
} catch (e) {
  if (!String(e).includes('invalid cidr "10.0.0.0/8"')) throw e;
}
try {
  new CasperNodeFleet(new Stack(new App({ autoSynth: false }), 'BadFleet'), 'Fleet', { network: CasperNetwork.TESTNET, internetFacing: true });
  throw new Error('expected CasperNodeFleet to reject internetFacing without allowedCidrs');
} catch (e) {
  if (!String(e).includes('is required with internetFacing: true')) throw e;
}

const app = new App();
const stack = new Stack(app, 'CasperSmoke');
const net = new CasperVpc(stack, 'Net', { cidr: '10.42.0.0/16' });
const network = CasperNetwork.custom({ chainspecName: 'casper-smoke', runsSidecar: true, rpcPort: 17777 });
new CasperNodeSecurityGroup(stack, 'NodeSg', {
  vpc: net.vpc,
  network,
  sshAccess: SshAccess.fromCidrs(['203.0.113.0/24']),
  rpcPeers: [ec2.Peer.ipv4('198.51.100.0/24')],
  publicStatusPort: true,
});
new CasperElasticIp(stack, 'Ip', { nodeName: 'smoke-node', removalPolicy: RemovalPolicy.DESTROY });
new CfnOutput(stack, 'Chainspec', { value: network.chainspecName });
new CfnOutput(stack, 'Testnet', { value: CasperNetwork.TESTNET.networkConfigFileName });

// The whole node, which reads its shipped user data template at synth time.
const nodeStack = new Stack(app, 'CasperSmokeNode');
new CasperReadOnlyNode(nodeStack, 'Node', {
  network: CasperNetwork.TESTNET,
  nodeName: 'smoke-reader',
  alertEmails: ['ops@example.com'],
  sshAccess: SshAccess.fromCidrs(['203.0.113.0/24']),
});

// The default node: only the required prop, as a new user writes it first.
new CasperReadOnlyNode(new Stack(app, 'CasperDefaultNode'), 'Node', { network: CasperNetwork.TESTNET });

// A fleet of two behind an internet-facing load balancer open to two ranges, with SSE.
const fleetStack = new Stack(app, 'CasperSmokeFleet');
const fleet = new CasperNodeFleet(fleetStack, 'Fleet', {
  network: CasperNetwork.TESTNET,
  nodeCount: 2,
  fleetName: 'smoke-fleet',
  internetFacing: true,
  allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'],
  enableSse: true,
  maxBlockAge: Duration.minutes(15),
  alertEmails: ['ops@example.com'],
});
new CfnOutput(fleetStack, 'Members', { value: fleet.memberNames.join(',') });
app.synth();
