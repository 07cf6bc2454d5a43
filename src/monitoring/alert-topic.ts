import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { skipCheckov } from '../private/checkov';
import { slackChannel, validateSlack } from '../private/slack';
import { CasperValidationError, isValidEmail, ownerOf } from '../private/validation';

/**
 * Properties of an `AlertTopic`.
 */
export interface AlertTopicProps {
  /**
   * Email addresses that receive the alerts. Each gets a confirmation email
   * from AWS and must confirm before alerts arrive.
   *
   * @default - no subscriptions
   */
  readonly emails?: string[];

  /**
   * What happens to the topic's KMS key when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * ID of the Slack workspace (such as `T0123ABCDEF`) that receives the alerts
   * in `slackChannelId`, through AWS Chatbot. Authorize the workspace once in
   * the AWS Chatbot console first. Give both Slack props or neither.
   *
   * @default - no Slack channel
   */
  readonly slackWorkspaceId?: string;

  /**
   * ID of the Slack channel (such as `C0123ABCDEF`) that receives the alerts;
   * invite the AWS Chatbot app (`/invite @aws`) to a private channel.
   *
   * @default - no Slack channel
   */
  readonly slackChannelId?: string;
}

/**
 * The SNS topic alarms notify: encrypted with its own KMS key, TLS-only, with
 * email subscriptions. The key policy lets the publishers the library wires to
 * the topic use the key through SNS: CloudWatch alarms and the Auto Scaling
 * group's notifications (sent by the account's Auto Scaling service-linked role).
 */
export class AlertTopic extends Construct {
  /** The topic. */
  public readonly topic: sns.ITopic;

  /** The topic's encryption key. */
  public readonly key: kms.IKey;

  /** The AWS Chatbot Slack channel, with `slackWorkspaceId` and `slackChannelId`. */
  public readonly slackChannel?: chatbot.SlackChannelConfiguration;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    // Validated before any child exists, so a bad input leaves nothing behind.
    const owner = ownerOf(this, 'AlertTopic');
    validateSlack(owner, props.slackWorkspaceId, props.slackChannelId);
    const emails = props.emails ?? [];
    for (const email of emails) {
      if (typeof email !== 'string' || !isValidEmail(email)) {
        throw new CasperValidationError(owner, 'emails', email,
          'each entry must be an email address such as "ops@example.com"');
      }
    }
    if (new Set(emails.map((e) => e.toLowerCase())).size !== emails.length) {
      throw new CasperValidationError(owner, 'emails', emails, 'must not list an address twice');
    }

    const key = new kms.Key(this, 'Key', {
      description: 'Encrypts the Casper node alert topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // A publisher reaches an encrypted topic only if it may use the key: SNS asks KMS for
    // a data key on the publisher's behalf.
    // CloudWatch alarms publish as the CloudWatch service principal (the key policy AWS
    // documents for alarms on an encrypted topic; no account-scoping condition is documented
    // for it, and kms:CallerAccount is known to break it).
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }));
    // Auto Scaling sends the group's notifications as its service-linked role in this
    // account. The role is named by condition, not as the principal: KMS refuses a key
    // policy naming a role that does not exist yet, and Auto Scaling creates this one
    // only with the account's first group. Only through SNS, only from this account.
    const stack = Stack.of(this);
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AutoScalingNotificationsPublish',
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: {
        ArnEquals: { 'aws:PrincipalArn': autoScalingServiceLinkedRoleArn(stack) },
        StringEquals: {
          'kms:CallerAccount': stack.account,
          'kms:ViaService': `sns.${stack.region}.amazonaws.com`,
        },
      },
    }));
    skipCheckov(key, [{
      id: 'CKV_AWS_33',
      comment: 'The one "*" principal is Auto Scaling\'s service-linked role, named by an aws:PrincipalArn condition '
        + '(KMS refuses a policy naming a role that does not exist yet) and limited to this account and to SNS (kms:ViaService)',
    }]);
    this.key = key;

    const topic = new sns.Topic(this, 'Topic', {
      displayName: 'Casper node alerts',
      masterKey: key,
      enforceSSL: true,
    });
    for (const email of emails) {
      topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    this.topic = topic;
    if (props.slackWorkspaceId && props.slackChannelId) {
      this.slackChannel = slackChannel(this, 'Slack', topic, props.slackWorkspaceId, props.slackChannelId);
    }
  }
}

/** The account's default Auto Scaling service-linked role, which sends group notifications. */
function autoScalingServiceLinkedRoleArn(stack: Stack): string {
  return `arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
}
