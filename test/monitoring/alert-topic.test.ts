import { Match, Template } from 'aws-cdk-lib/assertions';
import { AlertTopic } from '../../src';
import { nagFindings } from '../support/checks';
import { agnosticStack, expectRejected } from '../support/stacks';

describe('AlertTopic', () => {
  test('KMS-encrypted, TLS-only topic with email subscriptions', () => {
    const stack = agnosticStack();
    new AlertTopic(stack, 'Alerts', { emails: ['ops@example.com', 'oncall@example.org'] });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.resourceCountIs('AWS::SNS::Subscription', 2);
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        })]),
      },
    });
    expect(nagFindings(stack)).toEqual([]);
  });

  test.each(['not-an-email', 'a@b', 'a b@example.com', 'ops@example..com', ''])('rejects email %p', (email) => {
    const stack = agnosticStack();
    expectRejected(stack, () => new AlertTopic(stack, 'Alerts', { emails: [email] }),
      `AlertTopic: invalid emails ${JSON.stringify(email)}: each entry must be an email address`);
  });

  test('rejects a duplicate address', () => {
    const stack = agnosticStack();
    expectRejected(stack, () => new AlertTopic(stack, 'Alerts', { emails: ['a@example.com', 'A@example.com'] }),
      /AlertTopic: invalid emails .*: must not list an address twice/);
  });
});
