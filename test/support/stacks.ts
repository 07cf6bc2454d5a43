import * as fs from 'fs';
import * as path from 'path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** Account and region used by tests that need a concrete environment. */
export const TEST_ENV = { account: '123456789012', region: 'us-east-1' };

/** The context key CDK uses to cache the AZ lookup for TEST_ENV. */
export const AZ_CONTEXT_KEY = `availability-zones:account=${TEST_ENV.account}:region=${TEST_ENV.region}`;

/** A new environment-agnostic stack in its own app. */
export function agnosticStack(id = 'Test'): Stack {
  return new Stack(new App(), id);
}

/** A new stack with a concrete account/region whose AZ lookup is answered from context. */
export function concreteStack(azs: string[] = ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d'], id = 'Test'): Stack {
  const app = new App({ context: { [AZ_CONTEXT_KEY]: azs } });
  return new Stack(app, id, { env: TEST_ENV });
}

/** A plain VPC for constructs that only need one. */
export function plainVpc(stack: Stack): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(stack, 'ImportedVpc', {
    vpcId: 'vpc-0123456789abcdef0',
    vpcCidrBlock: '10.0.0.0/16',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    publicSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
  });
}

/** CloudFormation resources in a stack (constructs, not the synthesized template). */
export function cfnResources(stack: Stack): CfnResource[] {
  return stack.node.findAll().filter(CfnResource.isCfnResource);
}

/**
 * Asserts that `build` throws exactly `message` and leaves no CloudFormation
 * resource behind in the stack: a bad input never yields a half-built template.
 */
export function expectRejected(stack: Stack, build: () => unknown, message: string | RegExp): void {
  const before = cfnResources(stack).length;
  expect(build).toThrow(message);
  expect(cfnResources(stack)).toHaveLength(before);
}

/**
 * Synthesizes the stack's app and returns the parsed contents of every file
 * with this name among its file assets (for example a `config.json` that a
 * BucketDeployment uploads). Deploy-time values (BucketDeployment markers,
 * written without quotes) are read as the strings `<<marker:N>>`.
 */
export function assetFiles(stack: Stack, fileName: string): unknown[] {
  const assembly = (stack.node.root as App).synth();
  return fs.readdirSync(assembly.directory)
    .filter((d) => d.startsWith('asset.') && fs.existsSync(path.join(assembly.directory, d, fileName)))
    .map((d) => JSON.parse(fs.readFileSync(path.join(assembly.directory, d, fileName), 'utf8')
      .replace(/<<marker:0xbaba:(\d+)>>/g, '"<<marker:$1>>"')));
}
