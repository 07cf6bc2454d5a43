import { countResourceTypes, renderSummary } from '../../scripts/synth-summary';

const template = {
  Description: 'example',
  Resources: {
    A: { Type: 'AWS::EC2::Subnet' },
    B: { Type: 'AWS::EC2::Subnet' },
    C: { Type: 'AWS::EC2::VPC' },
    D: { Type: 'AWS::EC2::EIP' },
  },
  Outputs: { NodePublicIp: {}, VpcId: {} },
  Parameters: { BootstrapVersion: {} },
};

describe('synth summary', () => {
  test('counts resources per type, most frequent first', () => {
    expect(countResourceTypes(template)).toEqual([['AWS::EC2::Subnet', 2], ['AWS::EC2::EIP', 1], ['AWS::EC2::VPC', 1]]);
  });

  test('renders stack, counts, outputs and a clean nag line', () => {
    const text = renderSummary([{ stackName: 'S', templateFile: 'cdk.out/S.template.json', template, nagFindings: [] }]);
    expect(text.split('\n')).toEqual([
      'Stack S  ->  cdk.out/S.template.json',
      '  example',
      '  4 resources of 3 types:',
      '      2  AWS::EC2::Subnet',
      '      1  AWS::EC2::EIP',
      '      1  AWS::EC2::VPC',
      '  outputs: NodePublicIp, VpcId',
      '  cdk-nag AwsSolutions: no unacknowledged findings',
    ]);
  });

  test('lists unacknowledged nag findings', () => {
    const text = renderSummary([{ stackName: 'S', templateFile: 'f', template: {}, nagFindings: ['AwsSolutions-EC23 at S/Sg'] }]);
    expect(text).toContain('cdk-nag AwsSolutions: 1 unacknowledged finding(s):\n    AwsSolutions-EC23 at S/Sg');
  });
});
