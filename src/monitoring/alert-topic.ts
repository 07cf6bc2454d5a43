import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { CasperValidationError, isValidEmail } from '../private/validation';

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
}

/**
 * The SNS topic alarms notify: encrypted with its own KMS key (whose policy
 * lets CloudWatch alarms publish), TLS-only, with email subscriptions.
 */
export class AlertTopic extends Construct {
  /** The topic. */
  public readonly topic: sns.ITopic;

  /** The topic's encryption key. */
  public readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    const emails = props.emails ?? [];
    for (const email of emails) {
      if (typeof email !== 'string' || !isValidEmail(email)) {
        throw new CasperValidationError('AlertTopic', 'emails', email,
          'each entry must be an email address such as "ops@example.com"');
      }
    }
    if (new Set(emails.map((e) => e.toLowerCase())).size !== emails.length) {
      throw new CasperValidationError('AlertTopic', 'emails', emails, 'must not list an address twice');
    }

    const key = new kms.Key(this, 'Key', {
      description: 'Encrypts the Casper node alert topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to an encrypted topic only if they may use its key.
    key.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }));
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
  }
}
