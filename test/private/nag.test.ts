import { Aws, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { acknowledgeNagRules, nagFindingName, render } from '../../src/private/nag';
import { agnosticStack } from '../support/stacks';

describe('nag helpers', () => {
  test('render names CloudFormation values the way cdk-nag findings do', () => {
    expect(render('arn:aws:s3:::b/*')).toBe('arn:aws:s3:::b/*');
    expect(render({ Ref: 'AWS::Region' })).toBe('<AWS::Region>');
    expect(render({ 'Fn::GetAtt': ['Bucket1', 'Arn'] })).toBe('<Bucket1.Arn>');
    expect(render({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket1', 'Arn'] }, '/node/*']] })).toBe('<Bucket1.Arn>/node/*');
    expect(render({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::cdk-x-${AWS::AccountId}/*' })).toBe('arn:<AWS::Partition>:s3:::cdk-x-<AWS::AccountId>/*');
  });

  test('nagFindingName resolves tokens first', () => {
    const stack = agnosticStack();
    const bucket = new s3.Bucket(stack, 'B');
    const id = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    expect(nagFindingName(stack, bucket.arnForObjects('node/*'))).toBe(`<${id}.Arn>/node/*`);
    expect(nagFindingName(stack, `x-${Aws.STACK_NAME}`)).toBe('x-<AWS::StackName>');
  });

  test('acknowledgments reach cdk-nag 3 (Validations metadata) and cdk-nag 2 (resource metadata)', () => {
    const stack: Stack = agnosticStack();
    const bucket = new s3.Bucket(stack, 'B');
    acknowledgeNagRules(bucket, [
      { id: 'AwsSolutions-S1', reason: 'r1' },
      { id: 'AwsSolutions-IAM5', reason: 'r2', appliesTo: ['Action::s3:GetObject*'] },
    ]);
    const entries = bucket.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => m.data);
    expect(Object.assign({}, ...entries)).toEqual({
      'annotation::AwsSolutions-S1': 'r1',
      'annotation::AwsSolutions-IAM5[Action::s3:GetObject*]': 'r2',
    });
    const cfn = bucket.node.defaultChild as CfnResource;
    expect(cfn.getMetadata('cdk_nag')).toEqual({
      rules_to_suppress: [
        { id: 'AwsSolutions-S1', reason: 'r1' },
        { id: 'AwsSolutions-IAM5', reason: 'r2', applies_to: ['Action::s3:GetObject*'] },
      ],
    });
  });
});
