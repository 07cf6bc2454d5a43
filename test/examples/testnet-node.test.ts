import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../examples/testnet-node';
import { cfnLint, nagFindings, unexplainedWarnings } from '../support/checks';

describe('example testnet node app (npm run synth)', () => {
  const app = buildApp(new App());
  const stack = app.node.findChild('CasperTestnetNode') as Stack;
  const template = Template.fromStack(stack);

  test('holds the network layer and the node outputs', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 3);
    template.resourceCountIs('AWS::EC2::EIP', 1);
    template.hasOutput('NodePublicIp', {});
    template.hasOutput('StatusUrl', {});
  });

  test('is cdk-nag and cfn-lint clean', () => {
    expect(nagFindings(stack)).toEqual([]);
    const lint = cfnLint(stack);
    expect(lint.errors).toEqual([]);
    expect(unexplainedWarnings(lint)).toEqual([]);
  });
});
