/**
 * cdk-nag (AwsSolutions) and cfn-lint over the stacks checkov scans
 * (scripts/checkov-app.ts: the example testnet node, a node with the VPN and
 * DESTROY, the monitoring constructs alone, a fleet with every listener) plus
 * the network constructs, with the same verdicts as the unit tests
 * (test/support/checks.ts). One process instead of the jest suites, for
 * `npx projen test:newest-cdk`, which runs it against the newest aws-cdk-lib. Exits 1 on an unacknowledged finding, a cfn-lint error
 * or an unexplained cfn-lint warning.
 */
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { buildCheckovApp } from './checkov-app';
import { CasperElasticIp, CasperNetwork, CasperNodeSecurityGroup, CasperVpc, SshAccess } from '../src';
import { cfnLint, nagFindings, unexplainedWarnings } from '../test/support/checks';

// Usage: compliance-check.ts [outdir]: the templates stay there (for checkov).
const app = buildCheckovApp(new App({ outdir: path.resolve(process.argv[2] ?? path.join(os.tmpdir(), `compliance-${process.pid}`)) }));
const network = new Stack(app, 'CasperNetworkLayer');
const net = new CasperVpc(network, 'Net');
new CasperNodeSecurityGroup(network, 'NodeSg', {
  vpc: net.vpc,
  network: CasperNetwork.TESTNET,
  sshAccess: SshAccess.fromCidrs(['203.0.113.0/24']),
  rpcPeers: [ec2.Peer.ipv4('198.51.100.0/24')],
});
new CasperElasticIp(network, 'Ip', { nodeName: 'testnet-reader' });

let failed = false;
for (const stack of app.node.children.filter((c): c is Stack => c instanceof Stack)) {
  const nag = nagFindings(stack);
  const lint = cfnLint(stack);
  const warnings = unexplainedWarnings(lint);
  const resources = Object.keys((app.synth().getStackByName(stack.stackName).template.Resources ?? {})).length;
  const ok = nag.length === 0 && lint.errors.length === 0 && warnings.length === 0;
  failed ||= !ok;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${stack.stackName}: ${resources} resources, cdk-nag ${nag.length} unacknowledged finding(s), ` +
    `cfn-lint ${lint.errors.length} error(s), ${warnings.length} unexplained warning(s)`);
  for (const f of nag) console.log(`  cdk-nag ${f.rule} at ${f.path}`);
  for (const m of [...lint.errors, ...warnings]) console.log(`  cfn-lint ${JSON.stringify(m)}`);
}
app.synth();
process.exitCode = failed ? 1 : 0;
