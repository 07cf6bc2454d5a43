/**
 * Example app: a read-only Casper testnet node with the library's defaults.
 * `npm run synth` synthesizes it offline (no AWS account needed: the stack is
 * environment-agnostic) into cdk.out/ and prints a summary.
 *
 * Deploy it with the AWS CDK CLI:
 *   npx aws-cdk@2 deploy --app "npx ts-node --project test/tsconfig.json examples/testnet-node.ts"
 */
import { App, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { CasperNetwork, CasperReadOnlyNode } from '../src';

/** The example testnet node stack. */
export class TestnetNodeStack extends Stack {
  /** The node. */
  public readonly casperNode: CasperReadOnlyNode;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.casperNode = new CasperReadOnlyNode(this, 'Node', {
      network: CasperNetwork.TESTNET,
      nodeName: 'testnet-reader',
      // alertEmails: ['ops@example.com'],
      // trustedHash: '<64 hex characters from a node you trust>',
    });
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
