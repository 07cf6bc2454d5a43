import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { handlerFunction } from '../private/handler-function';
import { acknowledgeNagRules, nagFindingName } from '../private/nag';
import { CasperValidationError, describeDuration, ownerOf, validateDuration, validateInteger } from '../private/validation';

/**
 * Properties of a `SnapshotRotation`.
 */
export interface SnapshotRotationProps {
  /** Value of the tag that marks the volume(s) to back up, such as the node name. */
  readonly volumeTagValue: string;

  /**
   * Key of the tag that marks the volume(s) to back up.
   *
   * @default 'casper:node'
   */
  readonly volumeTagKey?: string;

  /**
   * An extra tag (`key=value`) the volumes must carry, such as `casper:role=data`.
   *
   * @default - none
   */
  readonly volumeRoleTag?: string;

  /**
   * When to take a snapshot. The seed system took one a week (Fridays 00:00 UTC).
   *
   * @default - daily at 00:00 UTC
   */
  readonly schedule?: events.Schedule;

  /**
   * How many of its completed snapshots the rotation keeps (1 to 1000). It
   * never deletes the newest completed one, nor snapshots it did not create.
   *
   * @default 7
   */
  readonly retainCount?: number;

  /**
   * Namespace of the node's `Synced` metric (1 when the node is caught up).
   * Without it the rotation snapshots whatever the node's state.
   *
   * @default - no sync check
   */
  readonly syncMetricNamespace?: string;

  /**
   * Name of the sync metric.
   *
   * @default 'Synced'
   */
  readonly syncMetricName?: string;

  /**
   * Dimensions of the sync metric.
   *
   * @default - none
   */
  readonly syncMetricDimensions?: { [name: string]: string };

  /**
   * The node must have reported synced within this window for a snapshot to be taken.
   *
   * @default Duration.minutes(10)
   */
  readonly syncWindow?: Duration;

  /**
   * Take the snapshot anyway when the sync metric has no datapoints at all
   * (for example before the metrics collector runs). Otherwise skip it.
   *
   * @default false
   */
  readonly snapshotWhenSyncMetricMissing?: boolean;

  /**
   * Namespace of the rotation's own metrics.
   *
   * @default 'casper-node'
   */
  readonly metricsNamespace?: string;

  /**
   * How long the handler's log group keeps logs.
   *
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

const OWNER = 'SnapshotRotation';
const TAG_KEY = /^[A-Za-z0-9 +\-=._:/@]{1,127}$/;

/**
 * Scheduled, sync-aware EBS snapshots of a tagged volume with retention.
 *
 * On its schedule (daily at 00:00 UTC by default) the handler checks that the
 * node reported synced recently, snapshots each volume with the tag, tags the
 * snapshot with this rotation's id, and deletes this rotation's oldest
 * completed snapshots beyond `retainCount` — never the newest completed one,
 * never one it did not create. Two runs at once create one snapshot. It
 * publishes `SnapshotRotationSucceeded` (alarm on its absence for stale
 * backups), `SnapshotSkipped` and `NewestCompletedSnapshotAgeSeconds`.
 */
export class SnapshotRotation extends Construct {
  /** The handler. */
  public readonly handler: lambda.IFunction;

  /** The schedule rule. */
  public readonly rule: events.Rule;

  /** The id written as `casper:rotation` on every snapshot this rotation creates. */
  public readonly rotationId: string;

  /** Namespace of the rotation's metrics. */
  public readonly metricsNamespace: string;

  private readonly volumeTagValue: string;

  constructor(scope: Construct, id: string, props: SnapshotRotationProps) {
    super(scope, id);
    // Validated before any child exists, so a bad input leaves nothing behind.
    const owner = ownerOf(this, OWNER);
    const retainCount = validateInteger(owner, 'retainCount', props.retainCount ?? 7, 1, 1000);
    const tagKey = props.volumeTagKey ?? 'casper:node';
    if (!TAG_KEY.test(tagKey) || tagKey.startsWith('aws:')) {
      throw new CasperValidationError(owner, 'volumeTagKey', tagKey, 'must be a valid EC2 tag key (1 to 127 characters, not starting with "aws:")');
    }
    if (!props.volumeTagValue || props.volumeTagValue.length > 255) {
      throw new CasperValidationError(owner, 'volumeTagValue', props.volumeTagValue, 'must be 1 to 255 characters');
    }
    if (props.volumeRoleTag !== undefined && !/^[^=]{1,127}=.{0,255}$/.test(props.volumeRoleTag)) {
      throw new CasperValidationError(owner, 'volumeRoleTag', props.volumeRoleTag, 'must look like "key=value", for example "casper:role=data"');
    }
    const syncWindow = validateDuration(owner, 'syncWindow', props.syncWindow ?? Duration.minutes(10), Duration.minutes(2), Duration.hours(24));
    const syncWindowMinutes = syncWindow.toMinutes({ integral: false });
    if (!Number.isInteger(syncWindowMinutes)) {
      throw new CasperValidationError(owner, 'syncWindow', describeDuration(syncWindow), 'must be whole minutes (the handler counts in minutes)');
    }
    this.volumeTagValue = props.volumeTagValue;
    this.metricsNamespace = props.metricsNamespace ?? 'casper-node';
    this.rotationId = Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    const stack = Stack.of(this);

    const volumes = stack.formatArn({ service: 'ec2', resource: 'volume', resourceName: '*' });
    const snapshots = stack.formatArn({ service: 'ec2', resource: 'snapshot', resourceName: '*', account: '' });
    const { logGroup, fn } = handlerFunction(this, {
      idPrefix: '',
      functionId: 'Handler',
      bundle: 'storage/snapshot-rotation.lambda',
      description: `Snapshot rotation of volumes tagged ${tagKey}=${props.volumeTagValue}`,
      roleDescription: `Snapshot rotation ${this.rotationId}`,
      statements: [
        // Describe and GetMetricData support no resource-level permissions;
        // GetMetricData only for the sync check (without one it is never called).
        new iam.PolicyStatement({
          actions: ['ec2:DescribeVolumes', 'ec2:DescribeSnapshots', ...(props.syncMetricNamespace ? ['cloudwatch:GetMetricData'] : [])],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          actions: ['ec2:CreateSnapshot'],
          resources: [volumes],
          conditions: { StringEquals: { [`aws:ResourceTag/${tagKey}`]: props.volumeTagValue } },
        }),
        new iam.PolicyStatement({
          actions: ['ec2:CreateSnapshot'],
          resources: [snapshots],
          conditions: { StringEquals: { 'aws:RequestTag/casper:rotation': this.rotationId } },
        }),
        new iam.PolicyStatement({
          actions: ['ec2:CreateTags'],
          resources: [snapshots],
          conditions: { StringEquals: { 'ec2:CreateAction': 'CreateSnapshot' } },
        }),
        // Only snapshots this rotation created.
        new iam.PolicyStatement({
          actions: ['ec2:DeleteSnapshot'],
          resources: [snapshots],
          conditions: { StringEquals: { 'aws:ResourceTag/casper:rotation': this.rotationId } },
        }),
      ],
      timeout: Duration.minutes(15),
      environment: {
        VOLUME_TAG_KEY: tagKey,
        VOLUME_TAG_VALUE: props.volumeTagValue,
        VOLUME_ROLE_TAG: props.volumeRoleTag ?? '',
        RETAIN_COUNT: String(retainCount),
        ROTATION_ID: this.rotationId,
        SYNC_METRIC_NAMESPACE: props.syncMetricNamespace ?? '',
        SYNC_METRIC_NAME: props.syncMetricName ?? 'Synced',
        SYNC_METRIC_DIMENSIONS: JSON.stringify(props.syncMetricDimensions ?? {}),
        SYNC_WINDOW_MINUTES: String(syncWindowMinutes),
        MISSING_SYNC_METRIC: props.snapshotWhenSyncMetricMissing ? 'snapshot' : 'skip',
        METRIC_NAMESPACE: this.metricsNamespace,
      },
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      logContents: 'The rotation\'s decisions with volume and snapshot ids, no secrets',
      invokedBy: 'its schedule rule (daily by default)',
      failureHandling: 'A failed run (2 retries) publishes no SnapshotRotationSucceeded, which the backup-age alarm catches, and the next '
        + 'scheduled run takes a fresh snapshot; replaying a stale schedule event from a DLQ would add nothing.',
      services: 'EC2, CloudWatch',
      environmentContents: 'tag keys and values, the retention count, the rotation id and metric names',
    });
    this.handler = fn;

    this.rule = new events.Rule(this, 'Schedule', {
      description: `Snapshot rotation of volumes tagged ${tagKey}=${props.volumeTagValue}`,
      schedule: props.schedule ?? events.Schedule.cron({ minute: '0', hour: '0' }),
      targets: [new targets.LambdaFunction(this.handler, { retryAttempts: 2 })],
    });

    acknowledgeNagRules(this, [{
      id: 'AwsSolutions-IAM5',
      reason: 'EC2 Describe* and GetMetricData have no resource-level permissions; volume and snapshot ARNs are narrowed by tag conditions (the volume tag, this rotation id), the log stream by its own log group.',
      appliesTo: [
        'Resource::*',
        `Resource::${nagFindingName(this, volumes)}`,
        `Resource::${nagFindingName(this, snapshots)}`,
        `Resource::${nagFindingName(this, `${logGroup.logGroupArn}:*`)}`,
      ],
    }]);
  }

  /** 1 per successful run; alarm when its Sum over a day and a bit is below 1 (stale backups). */
  public metricSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SnapshotRotationSucceeded', { statistic: 'Sum', period: Duration.hours(1), ...props });
  }

  /** 1 per run skipped (node not synced, no volume). */
  public metricSkipped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SnapshotSkipped', { statistic: 'Sum', period: Duration.hours(1), ...props });
  }

  /** Age of the newest completed snapshot at the last run, in seconds. */
  public metricNewestSnapshotAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('NewestCompletedSnapshotAgeSeconds', { statistic: 'Maximum', period: Duration.hours(1), ...props });
  }

  private metric(metricName: string, props: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName,
      dimensionsMap: { NodeName: this.volumeTagValue },
      ...props,
    });
  }
}
