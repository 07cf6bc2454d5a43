import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, TestnetNodeStack } from '../../examples/testnet-node';
import { expectNagAndCfnLintClean } from '../support/checks';

describe('example testnet node app (npm run synth)', () => {
  const app = buildApp(new App());
  const stack = app.node.findChild('CasperTestnetNode') as TestnetNodeStack;
  const template = Template.fromStack(stack);

  test('holds a complete testnet node with its outputs', () => {
    expect(stack.casperNode.network.chainspecName).toBe('casper-test');
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 3);
    template.resourceCountIs('AWS::EC2::EIP', 1);
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const outputs = Object.keys(template.toJSON().Outputs);
    expect(outputs.some((o) => o.includes('NodePublicIp'))).toBe(true);
    expect(outputs.some((o) => o.includes('StatusUrl'))).toBe(true);
  });

  test('is cdk-nag and cfn-lint clean', () => {
    expectNagAndCfnLintClean(stack);
  });
});
