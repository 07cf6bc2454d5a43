import { CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AlertTopic, CasperNetwork, CasperReadOnlyNode } from '../../src';
import { expectNagAndCfnLintClean, nagFindings } from '../support/checks';
import { agnosticStack, concreteStack, expectRejected } from '../support/stacks';

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
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    expect(nagFindings(stack)).toEqual([]);
  });

  describe('key policy: every publisher the library wires to the topic may use the key', () => {
    const keyPolicy = (stack = agnosticStack()) => {
      new AlertTopic(stack, 'Alerts');
      const keys = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
      expect(keys).toHaveLength(1);
      return keys[0].Properties.KeyPolicy.Statement as any[];
    };
    const slr = (partition: unknown, account: unknown) => ({
      'Fn::Join': ['', ['arn:', partition, ':iam::', account,
        ':role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling']],
    });

    test('the account (CDK default), CloudWatch alarms, and Auto Scaling notifications through SNS: nothing else', () => {
      const statements = keyPolicy();
      expect(statements).toHaveLength(3);
      expect(statements[0]).toMatchObject({ Action: 'kms:*', Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } } });
      expect(statements.slice(1)).toEqual([
        {
          Sid: 'CloudWatchAlarmsPublish',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
        },
        {
          Sid: 'AutoScalingNotificationsPublish',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
          Condition: {
            ArnEquals: { 'aws:PrincipalArn': slr({ Ref: 'AWS::Partition' }, { Ref: 'AWS::AccountId' }) },
            StringEquals: {
              'kms:CallerAccount': { Ref: 'AWS::AccountId' },
              'kms:ViaService': { 'Fn::Join': ['', ['sns.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
            },
          },
        },
      ]);
    });

    test('in a concrete environment the conditions name its account and region', () => {
      const stack = concreteStack();
      const asg = keyPolicy(stack).find((s) => s.Sid === 'AutoScalingNotificationsPublish');
      expect(asg.Condition).toEqual({
        ArnEquals: {
          'aws:PrincipalArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling']] },
        },
        StringEquals: { 'kms:CallerAccount': '123456789012', 'kms:ViaService': 'sns.us-east-1.amazonaws.com' },
      });
    });

    test('the publishers wired in the node: alarm actions and group notifications, both to this topic', () => {
      const stack = concreteStack();
      const node = new CasperReadOnlyNode(stack, 'Node', { network: CasperNetwork.TESTNET, alertEmails: ['ops@example.com'] });
      const t = Template.fromStack(stack);
      const topicRef = { Ref: stack.getLogicalId(node.alertTopic!.node.defaultChild as CfnResource) };
      // Who publishes to a topic: alarm actions, Auto Scaling notifications, EventBridge targets, code granted sns:Publish.
      const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
      expect(alarms.length).toBeGreaterThan(0);
      for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([topicRef]);
      t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        NotificationConfigurations: [Match.objectLike({ TopicARN: topicRef })],
      });
      expect(t.findResources('AWS::Events::Rule', { Properties: { Targets: Match.arrayWith([Match.objectLike({ Arn: topicRef })]) } })).toEqual({});
      const publishGrants = Object.values(t.findResources('AWS::IAM::Policy'))
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((st: any) => [].concat(st.Action).some((a: string) => a.startsWith('sns:')));
      expect(publishGrants).toEqual([]);
    });
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

describe('AlertTopic with a Slack channel', () => {
  test('AWS Chatbot posts the topic to the channel; notifications only; cdk-nag and cfn-lint clean', () => {
    const stack = agnosticStack();
    const alerts = new AlertTopic(stack, 'Alerts', { slackWorkspaceId: 'T0123ABCDEF', slackChannelId: 'C0123ABCDEF' });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123ABCDEF',
      SlackChannelId: 'C0123ABCDEF',
      SnsTopicArns: [{ Ref: stack.getLogicalId(alerts.topic.node.defaultChild as CfnResource) }],
      GuardrailPolicies: [Match.anyValue()],
      UserRoleRequired: false,
    });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: [{ Sid: 'NotificationsOnly', Effect: 'Deny', Action: '*', Resource: '*' }] },
    });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'chatbot.amazonaws.com' } })] },
    });
    t.resourceCountIs('AWS::IAM::Policy', 0);
    expect(alerts.slackChannel).toBeDefined();
    expectNagAndCfnLintClean(stack);
  });

  test('no Slack props: no channel', () => {
    const stack = agnosticStack();
    expect(new AlertTopic(stack, 'Alerts').slackChannel).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
  });

  test.each([
    [{ slackChannelId: 'C0123ABCDEF' }, 'AlertTopic: invalid slackWorkspaceId undefined: is required with the other Slack prop: give slackWorkspaceId and slackChannelId together'],
    [{ slackWorkspaceId: 'T0123ABCDEF', slackChannelId: 'alerts channel' }, 'AlertTopic: invalid slackChannelId "alerts channel": must be a Slack channel ID such as "C0123ABCDEF" (letters and digits), not its name'],
  ])('rejects %j', (props, message) => {
    const stack = agnosticStack();
    expectRejected(stack, () => new AlertTopic(stack, 'Alerts', props), message);
  });
});
