import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CasperElasticIp } from '../../src';
import { agnosticStack, expectRejected } from '../support/stacks';

describe('CasperElasticIp', () => {
  test('a VPC address, tagged, retained by default', () => {
    const stack = agnosticStack();
    const eip = new CasperElasticIp(stack, 'Ip', { nodeName: 'testnet-reader' });
    const t = Template.fromStack(stack);
    t.hasResource('AWS::EC2::EIP', {
      Properties: {
        Domain: 'vpc',
        Tags: [
          { Key: 'casper:node', Value: 'testnet-reader' },
          { Key: 'Name', Value: 'testnet-reader-eip' },
        ],
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    const logicalId = stack.getLogicalId(eip.resource);
    expect(stack.resolve(eip.allocationId)).toEqual({ 'Fn::GetAtt': [logicalId, 'AllocationId'] });
    expect(stack.resolve(eip.publicIp)).toEqual({ 'Fn::GetAtt': [logicalId, 'PublicIp'] });
  });

  test('default node name and a DESTROY removal policy', () => {
    const stack = agnosticStack();
    new CasperElasticIp(stack, 'Ip', { removalPolicy: RemovalPolicy.DESTROY });
    const t = Template.fromStack(stack);
    t.hasResource('AWS::EC2::EIP', { DeletionPolicy: 'Delete' });
    t.hasResourceProperties('AWS::EC2::EIP', { Tags: [{ Key: 'casper:node', Value: 'casper-node' }, { Key: 'Name', Value: 'casper-node-eip' }] });
  });

  test.each(['', 'my node', '-lead', 'trail-', 'x'.repeat(64)])('rejects node name %p', (nodeName) => {
    const stack = agnosticStack();
    expectRejected(stack, () => new CasperElasticIp(stack, 'Ip', { nodeName }),
      `CasperElasticIp: invalid nodeName ${JSON.stringify(nodeName)}: must be 1 to 63 letters, digits or "-"`);
  });
});
