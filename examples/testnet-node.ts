/**
 * Example app: a testnet node's network layer, built from the constructs that
 * exist so far. `npm run synth` synthesizes it offline (no AWS account needed:
 * the stack is environment-agnostic) into cdk.out/ and prints a summary.
 *
 * Deploy it with the AWS CDK CLI: `npx cdk deploy --app "npx ts-node examples/testnet-node.ts"`.
 */
import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { CasperElasticIp, CasperNetwork, CasperNodeSecurityGroup, CasperVpc, SshAccess } from '../src';

/** The example testnet node stack. */
export class TestnetNodeStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const network = CasperNetwork.TESTNET;
    const net = new CasperVpc(this, 'Network');
    const nodeSg = new CasperNodeSecurityGroup(this, 'NodeSecurityGroup', {
      vpc: net.vpc,
      network,
      // SSH stays closed; SSM Session Manager gives a shell.
      sshAccess: SshAccess.none(),
    });
    const ip = new CasperElasticIp(this, 'NodeIp', { nodeName: 'testnet-reader' });

    new CfnOutput(this, 'NodePublicIp', { value: ip.publicIp, description: 'Public IPv4 address of the node' });
    new CfnOutput(this, 'StatusUrl', {
      value: `http://${ip.publicIp}:${network.restPort}/status`,
      description: 'The node status endpoint',
    });
    new CfnOutput(this, 'VpcId', { value: net.vpc.vpcId });
    new CfnOutput(this, 'NodeSecurityGroupId', { value: nodeSg.securityGroup.securityGroupId });
  }
}

/** Adds the example stack to an app. */
export function buildApp(app: App = new App()): App {
  new TestnetNodeStack(app, 'CasperTestnetNode', {
    description: 'cdk-casper-node example: a read-only Casper testnet node',
  });
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
