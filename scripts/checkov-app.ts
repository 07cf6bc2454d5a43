/**
 * The templates `npx projen checkov` scans (scripts/checkov.sh), synthesized
 * offline into the directory given as the first argument:
 *
 * - CasperTestnetNode: the example app (examples/testnet-node.ts), as `npm run synth` builds it;
 * - CasperVpnNode: a node with the OpenVPN server, an alert topic and RemovalPolicy.DESTROY;
 * - CasperMonitoring: the monitoring constructs alone, watching any node's status URL;
 * - CasperFleet: a 2-member CasperNodeFleet, internet-facing for given CIDRs, with the SSE and TLS listeners;
 * - CasperInternalFleet: a fleet at defaults (internal load balancer, so with its RPC probe in the VPC).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { buildApp } from '../examples/testnet-node';
import {
  AlertTopic, CasperAgentConfig, CasperAlarms, CasperCanary, CasperDashboard, CasperNetwork, CasperNodeFleet, CasperReadOnlyNode,
} from '../src';

/** Adds the stacks checkov scans to an app. */
export function buildCheckovApp(app: App): App {
  buildApp(app);

  new CasperReadOnlyNode(new Stack(app, 'CasperVpnNode'), 'Node', {
    network: CasperNetwork.TESTNET,
    nodeName: 'vpn-reader',
    enableVpn: true,
    alertEmails: ['ops@example.com'],
    // DESTROY also brings the buckets' auto-delete custom resources into the scan.
    removalPolicy: RemovalPolicy.DESTROY,
  });

  const monitoring = new Stack(app, 'CasperMonitoring');
  const topic = new AlertTopic(monitoring, 'Alerts', { emails: ['ops@example.com'] });
  const agent = new CasperAgentConfig(monitoring, 'Agent', { network: CasperNetwork.TESTNET, nodeName: 'watched-node' });
  const canary = new CasperCanary(monitoring, 'Canary', {
    statusUrl: 'http://203.0.113.10:8888/status',
    network: CasperNetwork.TESTNET,
  });
  const alarms = new CasperAlarms(monitoring, 'Alarms', { metrics: agent.metrics, topic: topic.topic, canary });
  new CasperDashboard(monitoring, 'Dashboard', { metrics: agent.metrics, alarms, canary, agentConfig: agent });

  // Every listener on: the TLS listener with an imported certificate (an ACM certificate of the account).
  const fleet = new Stack(app, 'CasperFleet');
  new CasperNodeFleet(fleet, 'Fleet', {
    network: CasperNetwork.TESTNET,
    nodeCount: 2,
    internetFacing: true,
    allowedCidrs: ['203.0.113.0/24'],
    enableSse: true,
    enableTls: true,
    tlsCertificate: acm.Certificate.fromCertificateArn(fleet, 'Certificate',
      'arn:aws:acm:us-east-1:111122223333:certificate/0b7a1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d'),
    alertEmails: ['ops@example.com'],
  });
  new CasperNodeFleet(new Stack(app, 'CasperInternalFleet'), 'Fleet', { network: CasperNetwork.TESTNET, alertEmails: ['ops@example.com'] });
  return app;
}

if (require.main === module) {
  const outdir = path.resolve(process.argv[2] ?? 'cdk.out.checkov');
  fs.rmSync(outdir, { recursive: true, force: true });
  const assembly = buildCheckovApp(new App({ outdir })).synth();
  for (const stack of assembly.stacks) {
    console.log(path.join(outdir, stack.templateFile));
  }
}
