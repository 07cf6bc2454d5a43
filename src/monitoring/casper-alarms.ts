import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CasperCanary } from './casper-canary';
import { CasperNodeMetrics } from './casper-node-metrics';
import { CasperValidationError, describeDuration } from '../private/validation';
import { DataVolumeLifecycle, SnapshotRotation } from '../storage';

/**
 * Thresholds of the node alarms (the seed system's defaults where it had one).
 */
export interface CasperAlarmThresholds {
  /**
   * CPU busy percentage that, held for 5 minutes, alarms (seed: 70).
   *
   * @default 70
   */
  readonly cpuThresholdPercent?: number;

  /**
   * Memory use percentage that, held for 5 minutes, alarms (seed: 80).
   *
   * @default 80
   */
  readonly memoryThresholdPercent?: number;

  /**
   * Disk use percentage of the data or root volume that alarms (seed: 90).
   *
   * @default 90
   */
  readonly diskThresholdPercent?: number;

  /**
   * Age of the node's last block above which the chain counts as stalled,
   * from 2 minutes to 2 hours.
   *
   * @default Duration.minutes(10)
   */
  readonly maxBlockAge?: Duration;

  /**
   * Fewest connected peers before the low-peers alarm (held for 5 minutes).
   *
   * @default 3
   */
  readonly minPeerCount?: number;

  /**
   * How long without a successful snapshot rotation before the backups count
   * as stale: whole days from 1 to 7 (match a weekly schedule with 7).
   *
   * @default Duration.days(2)
   */
  readonly backupMaxAge?: Duration;
}

/**
 * Properties of `CasperAlarms`.
 */
export interface CasperAlarmsProps extends CasperAlarmThresholds {
  /** The node's metrics (namespace, node name, and the Auto Scaling group for status checks). */
  readonly metrics: CasperNodeMetrics;

  /**
   * Where every alarm sends its ALARM and OK notifications.
   *
   * @default - no actions: the alarms only change state
   */
  readonly topic?: sns.ITopic;

  /**
   * Prefix of the alarm names (a readable name is what an alert email shows).
   *
   * @default 'casper-<node name>'
   */
  readonly alarmNamePrefix?: string;

  /**
   * The external canary whose failures alarm.
   *
   * @default - no canary alarm
   */
  readonly canary?: CasperCanary;

  /**
   * The snapshot rotation whose lack of success alarms.
   *
   * @default - no backup alarm
   */
  readonly snapshotRotation?: SnapshotRotation;

  /**
   * The data-volume lifecycle handler whose failures alarm.
   *
   * @default - no lifecycle alarm
   */
  readonly dataVolumeLifecycle?: DataVolumeLifecycle;
}

const OWNER = 'CasperAlarms';

/**
 * The alarms of a Casper node. Each sends ALARM and OK to the topic.
 *
 * Seed thresholds (CPU > 70 %, memory > 80 %, disk > 90 %) plus what the seed
 * missed: node down (the status endpoint stops answering, or no data arrives
 * at all), chain stalled (the last block is too old although the node
 * answers), too few peers, EC2 status checks, the external canary, stale
 * backups and data-volume lifecycle failures. Usable alone with any topic and
 * any node that publishes the `CasperNodeMetrics`.
 */
export class CasperAlarms extends Construct {
  /** NodeUp below 1, or no data, for 3 consecutive 30-second periods. */
  public readonly nodeDown: cloudwatch.Alarm;

  /** LastBlockAgeSeconds above `maxBlockAge` in a 30-second period. */
  public readonly chainStalled: cloudwatch.Alarm;

  /** PeerCount below `minPeerCount` for 5 consecutive minutes. */
  public readonly lowPeers: cloudwatch.Alarm;

  /** CPU above the threshold for 5 consecutive minutes. */
  public readonly highCpu: cloudwatch.Alarm;

  /** Memory above the threshold for 5 consecutive minutes. */
  public readonly highMemory: cloudwatch.Alarm;

  /** Data volume fuller than the threshold. */
  public readonly dataDiskFull: cloudwatch.Alarm;

  /** Root volume fuller than the threshold. */
  public readonly rootDiskFull: cloudwatch.Alarm;

  /** EC2 instance or system status check failed; only when the metrics name an Auto Scaling group. */
  public readonly statusCheckFailed?: cloudwatch.Alarm;

  /** Two consecutive canary runs failed; only with `canary`. */
  public readonly canaryFailing?: cloudwatch.Alarm;

  /** No successful snapshot rotation within `backupMaxAge`; only with `snapshotRotation`. */
  public readonly backupsStale?: cloudwatch.Alarm;

  /** The data-volume lifecycle handler failed; only with `dataVolumeLifecycle`. */
  public readonly lifecycleFailures?: cloudwatch.Alarm;

  /** The chain-stalled threshold, in seconds. */
  public readonly maxBlockAgeSeconds: number;

  /** Every alarm above that exists, in that order. */
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: CasperAlarmsProps) {
    const v = validate(props);
    super(scope, id);
    this.alarms = [];
    this.maxBlockAgeSeconds = v.maxBlockAgeSeconds;
    const m = props.metrics;
    const prefix = v.prefix;

    const add = (logicalId: string, name: string, description: string,
      options: Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription'>): cloudwatch.Alarm => {
      const alarm = new cloudwatch.Alarm(this, logicalId, {
        alarmName: `${prefix}-${name}`,
        alarmDescription: `Casper node ${m.nodeName}: ${description}`,
        ...options,
      });
      if (props.topic) {
        alarm.addAlarmAction(new actions.SnsAction(props.topic));
        alarm.addOkAction(new actions.SnsAction(props.topic));
      }
      this.alarms.push(alarm);
      return alarm;
    };

    this.nodeDown = add('NodeDown', 'node-down',
      'the status endpoint did not answer (or no metrics arrived) for 90 seconds. Check the instance in the EC2 console and `journalctl -u casper-node-launcher`; the watchdog restarts the node and, if that fails, the Auto Scaling group replaces the instance.', {
        metric: m.metricNodeUp({ statistic: 'Maximum', period: Duration.seconds(30) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        // No data means the instance, the agent or the collector is gone.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });

    this.chainStalled = add('ChainStalled', 'chain-stalled',
      `the last block is more than ${v.maxBlockAgeSeconds} s old although the node answers: it is stuck or lost its peers. See LastBlockAgeSeconds, PeerCount and casper-node.log.`, {
        metric: m.metricLastBlockAge({ statistic: 'Maximum', period: Duration.seconds(30) }),
        threshold: v.maxBlockAgeSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // Block age only exists while the node answers; node-down covers the rest.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    this.lowPeers = add('LowPeers', 'low-peers',
      `fewer than ${v.minPeerCount} peers for 5 minutes: check that UDP/TCP 35000 is reachable and the network is healthy.`, {
        metric: m.metricPeerCount({ statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: v.minPeerCount,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    this.highCpu = add('HighCpu', 'high-cpu', `CPU above ${v.cpu} % for 5 minutes.`, {
      metric: m.metricCpuUtilization({ statistic: 'Average', period: Duration.minutes(1) }),
      threshold: v.cpu,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.highMemory = add('HighMemory', 'high-memory', `memory use above ${v.memory} % for 5 minutes.`, {
      metric: m.metricMemoryUsedPercent({ statistic: 'Average', period: Duration.minutes(1) }),
      threshold: v.memory,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const disk = (metric: cloudwatch.Metric) => ({
      metric,
      threshold: v.disk,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.dataDiskFull = add('DataDiskFull', 'data-disk-full',
      `the data volume (${m.dataMountPoint}) is more than ${v.disk} % full: raise dataVolumeSizeGiB (the filesystem grows at the next boot).`,
      disk(m.metricDataDiskUsedPercent({ statistic: 'Maximum', period: Duration.minutes(1) })));
    this.rootDiskFull = add('RootDiskFull', 'root-disk-full',
      `the root volume is more than ${v.disk} % full: check /var/log and raise rootVolumeSizeGiB.`,
      disk(m.metricRootDiskUsedPercent({ statistic: 'Maximum', period: Duration.minutes(1) })));

    if (m.autoScalingGroupName !== undefined) {
      this.statusCheckFailed = add('StatusCheckFailed', 'status-check-failed',
        'an EC2 instance or system status check failed; the Auto Scaling group replaces an impaired instance.', {
          metric: m.metricStatusCheckFailed({ statistic: 'Maximum', period: Duration.minutes(1) }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
    }

    if (props.canary) {
      const period = props.canary.schedulePeriod;
      this.canaryFailing = add('CanaryFailing', 'canary-failing',
        `two consecutive external checks of ${props.canary.targetDescription} failed (see the canary's runs in CloudWatch Synthetics).`, {
          metric: props.canary.metricSuccessPercent({ statistic: 'Average', period }),
          threshold: 100,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 2,
          datapointsToAlarm: 2,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
    }

    if (props.snapshotRotation) {
      this.backupsStale = add('BackupsStale', 'backups-stale',
        `no successful snapshot rotation for ${v.backupDays} day(s): the node was not synced at rotation time, or the rotation failed (see its log group).`, {
          metric: props.snapshotRotation.metricSucceeded({ statistic: 'Sum', period: Duration.days(1) }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: v.backupDays,
          datapointsToAlarm: v.backupDays,
          // A rotation that stops running publishes nothing: that is stale too.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        });
    }

    if (props.dataVolumeLifecycle) {
      this.lifecycleFailures = add('LifecycleFailures', 'lifecycle-failures',
        'the data-volume lifecycle handler failed to attach or snapshot the data volume (see its log group); the old volume is kept.', {
          metric: props.dataVolumeLifecycle.metricFailures({ statistic: 'Sum', period: Duration.minutes(5) }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
    }
  }
}

interface Validated {
  readonly prefix: string;
  readonly cpu: number;
  readonly memory: number;
  readonly disk: number;
  readonly maxBlockAgeSeconds: number;
  readonly minPeerCount: number;
  readonly backupDays: number;
}

function validate(props: CasperAlarmsProps): Validated {
  const fail = (prop: string, value: unknown, allowed: string): never => {
    throw new CasperValidationError(OWNER, prop, value, allowed);
  };
  if (!props.metrics) fail('metrics', props.metrics, 'is required: new CasperNodeMetrics({ namespace, nodeName })');
  const percent = (prop: string, value: number): number => {
    if (typeof value !== 'number' || !(value > 0 && value < 100)) fail(prop, value, 'must be a percentage above 0 and below 100');
    return value;
  };
  const prefix = props.alarmNamePrefix ?? `casper-${props.metrics.nodeName}`;
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(prefix)) {
    fail('alarmNamePrefix', prefix, 'must be 1 to 200 letters, digits, ".", "_" or "-"');
  }
  const maxBlockAge = props.maxBlockAge ?? Duration.minutes(10);
  const maxBlockAgeSeconds = maxBlockAge.toSeconds({ integral: false });
  if (maxBlockAgeSeconds < 120 || maxBlockAgeSeconds > 7200) {
    fail('maxBlockAge', describeDuration(maxBlockAge), 'must be from 2 minutes to 2 hours');
  }
  const minPeerCount = props.minPeerCount ?? 3;
  if (!Number.isInteger(minPeerCount) || minPeerCount < 1 || minPeerCount > 1000) {
    fail('minPeerCount', minPeerCount, 'must be a whole number from 1 to 1000');
  }
  const backupMaxAge = props.backupMaxAge ?? Duration.days(2);
  const backupDays = backupMaxAge.toSeconds({ integral: false }) / 86400;
  if (!Number.isInteger(backupDays) || backupDays < 1 || backupDays > 7) {
    fail('backupMaxAge', describeDuration(backupMaxAge), 'must be whole days from 1 to 7 (CloudWatch evaluates at most 7 days)');
  }
  return {
    prefix,
    cpu: percent('cpuThresholdPercent', props.cpuThresholdPercent ?? 70),
    memory: percent('memoryThresholdPercent', props.memoryThresholdPercent ?? 80),
    disk: percent('diskThresholdPercent', props.diskThresholdPercent ?? 90),
    maxBlockAgeSeconds,
    minPeerCount,
    backupDays,
  };
}
