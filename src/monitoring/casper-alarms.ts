import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CasperCanary } from './casper-canary';
import { CasperNodeMetrics } from './casper-node-metrics';
import { describeDuration, failFor, Owner, ownerOf, validateDuration, validateInteger } from '../private/validation';
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

  /**
   * How long the block height may stay still while the node catches up
   * (reactor state Initialize or CatchUp) before the sync-not-progressing
   * alarm: 30 minutes to 12 hours, in whole quarter hours.
   *
   * @default Duration.hours(1)
   */
  readonly maxSyncStall?: Duration;

  /**
   * How long an announced protocol upgrade may stay unstaged on the node
   * before the upgrade-not-staged alarm: 1 to 24 hours, in whole quarter
   * hours. The stager runs every 6 hours, so keep it above that.
   *
   * @default Duration.hours(8)
   */
  readonly upgradeStagingGracePeriod?: Duration;

  /**
   * How long the sidecar's JSON-RPC may fail before the rpc-down alarm:
   * 1 to 60 whole minutes.
   *
   * @default Duration.minutes(3)
   */
  readonly rpcDownFor?: Duration;

  /**
   * The 90th-percentile JSON-RPC latency above which, held for 5 minutes,
   * the rpc-slow alarm fires: 50 milliseconds to 4 seconds (the collector
   * gives up after 5 seconds).
   *
   * @default Duration.seconds(1)
   */
  readonly maxRpcLatency?: Duration;
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

  /**
   * The node's bootstrap timeout: node down stays quiet while the bootstrap
   * runs, and bootstrap-overdue fires when no bootstrap has completed for this
   * long plus 15 minutes. 30 minutes to 12 hours.
   *
   * @default Duration.minutes(90)
   */
  readonly bootstrapTimeout?: Duration;

  /**
   * Whether the node runs the sidecar and its collector checks the JSON-RPC
   * (`RpcUp`, `RpcLatencyMilliseconds`): adds the rpc-down and rpc-slow alarms.
   *
   * @default false
   */
  readonly monitorRpc?: boolean;

  /**
   * One page instead of many: a composite "node unhealthy" alarm over the
   * critical alarms (node down, bootstrap overdue, chain stalled, sync not
   * progressing, wrong chainspec, upgrade not staged, protocol staging failed,
   * EC2 status check, RPC down) notifies the topic, and those alarms no longer
   * notify by themselves. The other alarms (CPU, memory, disks, peers, canary,
   * backups, lifecycle, RPC latency) still do.
   *
   * @default false
   */
  readonly nodeUnhealthyAlarm?: boolean;
}

const OWNER = 'CasperAlarms';

/** The margin bootstrap-overdue adds to the bootstrap timeout, in seconds. */
const BOOTSTRAP_OVERDUE_MARGIN_SECONDS = 15 * 60;
/** Period of the bootstrap-overdue alarm. */
const BOOTSTRAP_OVERDUE_PERIOD = Duration.minutes(5);
/** Period of the sync-not-progressing and upgrade-not-staged alarms. */
const QUARTER_HOUR = Duration.minutes(15);

/**
 * The alarms of a Casper node. Each sends ALARM and OK to the topic (with
 * `nodeUnhealthyAlarm`, the critical ones go through one composite alarm).
 *
 * Seed thresholds (CPU > 70 %, memory > 80 %, disk > 90 %) plus what the seed
 * missed: node down (the status endpoint stops answering, or no data arrives
 * at all), bootstrap overdue, chain stalled (the last block is too old although
 * the node answers), sync not progressing, too few peers, wrong network,
 * upgrade not staged, protocol staging failed, EC2 status checks, the sidecar's
 * JSON-RPC, the external canary, stale backups and data-volume lifecycle
 * failures. Usable alone with any topic and any node that publishes the
 * `CasperNodeMetrics`.
 *
 * Three phases of a node's life shape them (each alarm's doc says what it does
 * in each): the **bootstrap** (instance launch until the done stamp, at most
 * `bootstrapTimeout`; `BootstrapComplete` is 0), the **initial sync** (reactor
 * state Initialize or CatchUp; `CatchingUp` is 1; the last block lags the tip
 * by hours, so its age means nothing) and **after sync** (KeepUp or Validate).
 */
export class CasperAlarms extends Construct {
  /**
   * The node is down: `IF(BootstrapComplete == 1, NodeUp, 1)` below 1, with no
   * data counting as down, for 3 consecutive 30-second periods.
   * Bootstrap: quiet (BootstrapComplete is 0; a bootstrap that never
   * completes is bootstrap-overdue's). Before the collector's first sample
   * of a new instance (a minute or two) there is no data, which counts as
   * down: on a replacement that is true, and the first instance is launched
   * before the alarms exist. Initial sync and after sync: the status endpoint
   * stops answering, or no data arrives (instance, agent or collector gone).
   */
  public readonly nodeDown: cloudwatch.Alarm;

  /**
   * No bootstrap has completed for `bootstrapTimeout` + 15 minutes:
   * `BootstrapComplete` below 1 (no data counts) in every 5-minute period of
   * that window. Bootstrap: fires only when it never completes (the deadline
   * then replaces the instance, again and again). Initial sync and after
   * sync: quiet (the stamp stays); also fires if no data arrives for that long.
   */
  public readonly bootstrapOverdue: cloudwatch.Alarm;

  /**
   * The chain stalled: `IF(CatchingUp == 1, 0, LastBlockAgeSeconds)` above
   * `maxBlockAge` in a 30-second period. Bootstrap and initial sync: quiet
   * (catching up, or no block age at all). After sync (also in Upgrading and
   * ShutdownForUpgrade): the last block is older than `maxBlockAge`.
   */
  public readonly chainStalled: cloudwatch.Alarm;

  /**
   * A stuck sync: while the node catches up for a whole 15-minute period,
   * the block height did not increase in it (`Maximum - Minimum` of
   * BlockHeight is 0), for every period of `maxSyncStall`. Bootstrap and after
   * sync: quiet (not catching up, or no height yet). Initial sync: fires when
   * the height stands still that long.
   */
  public readonly syncNotProgressing: cloudwatch.Alarm;

  /**
   * The node runs another network: `WrongChainspec` 1 in 2 consecutive
   * minutes. Any phase once the node answers.
   */
  public readonly wrongChainspec: cloudwatch.Alarm;

  /**
   * An announced upgrade is not staged: `UpgradeStaged` below 1 in every
   * 15-minute period of `upgradeStagingGracePeriod` (no data while no upgrade
   * is announced). Any phase once the node answers.
   */
  public readonly upgradeNotStaged: cloudwatch.Alarm;

  /**
   * The protocol stager's last run failed: `StageProtocolsFailed` 1 in a
   * 5-minute period. Any phase (the bootstrap stages too, and dies on failure).
   */
  public readonly stageProtocolsFailed: cloudwatch.Alarm;

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

  /**
   * The sidecar's JSON-RPC failed (`RpcUp` below 1) every minute of
   * `rpcDownFor`; only with `monitorRpc`. Bootstrap: quiet (the collector
   * checks the RPC only once the bootstrap is complete). Initial sync and
   * after sync: fires.
   */
  public readonly rpcDown?: cloudwatch.Alarm;

  /**
   * The 90th percentile of the JSON-RPC latency above `maxRpcLatency` for 5
   * consecutive minutes; only with `monitorRpc`. Same phases as `rpcDown`.
   */
  public readonly rpcSlow?: cloudwatch.Alarm;

  /**
   * Two consecutive canary periods failed while the collector saw the node
   * synced at least once in each: `IF(max Synced < 1, 100, SuccessPercent)`
   * below 100 (no collector data counts as synced: the canary is then the
   * outside witness). Only with `canary`. Bootstrap and initial sync: quiet
   * (Synced is 0; the canary fails on them by design). After sync: fires when
   * the node is synced but unreachable from outside (a node that stops
   * answering is node-down's).
   */
  public readonly canaryFailing?: cloudwatch.Alarm;

  /**
   * No successful snapshot rotation within `backupMaxAge`, counting only days
   * on which the node was synced at some point:
   * `IF(max Synced < 1, 1, Succeeded)` below 1 every day (no rotation data
   * counts). Only with `snapshotRotation`. Bootstrap and initial sync: quiet
   * (the rotation only snapshots a synced node). After sync: fires.
   */
  public readonly backupsStale?: cloudwatch.Alarm;

  /** The data-volume lifecycle handler failed; only with `dataVolumeLifecycle`. */
  public readonly lifecycleFailures?: cloudwatch.Alarm;

  /** The chain-stalled threshold, in seconds. */
  public readonly maxBlockAgeSeconds: number;

  /** Every alarm above that exists, in that order. */
  public readonly alarms: cloudwatch.Alarm[];

  /** The critical alarms among `alarms` (what `nodeUnhealthy` combines). */
  public readonly criticalAlarms: cloudwatch.Alarm[];

  /**
   * Any critical alarm in ALARM; only with `nodeUnhealthyAlarm`. It then
   * notifies the topic instead of the critical alarms.
   */
  public readonly nodeUnhealthy?: cloudwatch.CompositeAlarm;

  constructor(scope: Construct, id: string, props: CasperAlarmsProps) {
    super(scope, id);
    // Validated before any child exists, so a bad input leaves nothing behind.
    const v = validate(ownerOf(this, OWNER), props);
    this.alarms = [];
    this.criticalAlarms = [];
    this.maxBlockAgeSeconds = v.maxBlockAgeSeconds;
    const m = props.metrics;
    const prefix = v.prefix;

    const add = (logicalId: string, name: string, description: string, options: AlarmOptions, critical = false): cloudwatch.Alarm => {
      const { periods, ...rest } = options;
      const alarm = new cloudwatch.Alarm(this, logicalId, {
        alarmName: `${prefix}-${name}`,
        alarmDescription: `Casper node ${m.nodeName}: ${description}`,
        // Missing data is another alarm's business unless an alarm says otherwise.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...rest,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
      });
      this.alarms.push(alarm);
      if (critical) this.criticalAlarms.push(alarm);
      return alarm;
    };
    const halfMinute = Duration.seconds(30);

    this.nodeDown = add('NodeDown', 'node-down',
      'the status endpoint did not answer (or no metrics arrived) for 90 seconds after the bootstrap completed. Check the instance in the EC2 console and `journalctl -u casper-node-launcher`; the watchdog restarts the node and, if that fails, the Auto Scaling group replaces the instance.', {
        metric: new cloudwatch.MathExpression({
          // While the bootstrap runs (BootstrapComplete 0) the node is not expected to answer.
          // No data at all (instance, agent or collector gone) fills to "complete, not up".
          expression: 'IF(FILL(complete, 1) == 1, FILL(up, 0), 1)',
          usingMetrics: {
            up: m.metricNodeUp({ statistic: 'Maximum', period: halfMinute }),
            complete: m.metricBootstrapComplete({ statistic: 'Maximum', period: halfMinute }),
          },
          label: 'NodeUp once bootstrapped',
          period: halfMinute,
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        periods: 3,
        // No data means the instance, the agent or the collector is gone.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }, true);

    this.chainStalled = add('ChainStalled', 'chain-stalled',
      `the last block is more than ${v.maxBlockAgeSeconds} s old although the node answers and is not catching up: it is stuck or lost its peers. See LastBlockAgeSeconds, PeerCount and casper-node.log.`, {
        metric: new cloudwatch.MathExpression({
          // While catching up, the last added block is the highest complete one and lags by hours.
          expression: 'IF(FILL(catchingUp, 0) == 1, 0, age)',
          usingMetrics: {
            age: m.metricLastBlockAge({ statistic: 'Maximum', period: halfMinute }),
            catchingUp: m.metricCatchingUp({ statistic: 'Maximum', period: halfMinute }),
          },
          label: 'LastBlockAgeSeconds unless catching up',
          period: halfMinute,
        }),
        threshold: v.maxBlockAgeSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        periods: 1,
        // Block age only exists while the node answers; node-down covers the rest.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }, true);

    this.lowPeers = add('LowPeers', 'low-peers',
      `fewer than ${v.minPeerCount} peers for 5 minutes: check that UDP/TCP 35000 is reachable and the network is healthy.`, {
        metric: m.metricPeerCount({ statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: v.minPeerCount,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        periods: 5,
      });

    this.highCpu = add('HighCpu', 'high-cpu', `CPU above ${v.cpu} % for 5 minutes.`, {
      metric: m.metricCpuUtilization({ statistic: 'Average', period: Duration.minutes(1) }),
      threshold: v.cpu,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      periods: 5,
    });

    this.highMemory = add('HighMemory', 'high-memory', `memory use above ${v.memory} % for 5 minutes.`, {
      metric: m.metricMemoryUsedPercent({ statistic: 'Average', period: Duration.minutes(1) }),
      threshold: v.memory,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      periods: 5,
    });

    const disk = (metric: cloudwatch.Metric) => ({
      metric,
      threshold: v.disk,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      periods: 2,
    });
    this.dataDiskFull = add('DataDiskFull', 'data-disk-full',
      `the data volume (${m.dataMountPoint}) is more than ${v.disk} % full: raise dataVolumeSizeGiB (the filesystem grows at the next boot).`,
      disk(m.metricDataDiskUsedPercent({ statistic: 'Maximum', period: Duration.minutes(1) })));
    this.rootDiskFull = add('RootDiskFull', 'root-disk-full',
      `the root volume is more than ${v.disk} % full: check /var/log and raise rootVolumeSizeGiB.`,
      disk(m.metricRootDiskUsedPercent({ statistic: 'Maximum', period: Duration.minutes(1) })));

    this.bootstrapOverdue = add('BootstrapOverdue', 'bootstrap-overdue',
      `no bootstrap completed for ${describeDuration(Duration.seconds(v.overdueSeconds))} (the bootstrap timeout plus 15 minutes): every attempt fails or hangs and the deadline replaces the instance. See /var/log/casper-bootstrap.log (its log group) and the Auto Scaling activity.`, {
        metric: m.metricBootstrapComplete({ statistic: 'Maximum', period: BOOTSTRAP_OVERDUE_PERIOD }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        periods: v.overduePeriods,
        // No data for that long: nothing ever reported a completed bootstrap.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }, true);

    this.syncNotProgressing = add('SyncNotProgressing', 'sync-not-progressing',
      `the node has been catching up for ${describeDuration(Duration.seconds(v.syncStallPeriods * QUARTER_HOUR.toSeconds()))} without its block height increasing: the sync is stuck (peers, trusted hash, disk). See BlockHeight, PeerCount and casper-node.log.`, {
        metric: new cloudwatch.MathExpression({
          // Only periods spent catching up throughout count; in them the height must move.
          expression: 'IF(FILL(catchingUp, 0) == 1, heightMax - heightMin, 1)',
          usingMetrics: {
            catchingUp: m.metricCatchingUp({ statistic: 'Minimum', period: QUARTER_HOUR }),
            heightMax: m.metricBlockHeight({ statistic: 'Maximum', period: QUARTER_HOUR }),
            heightMin: m.metricBlockHeight({ statistic: 'Minimum', period: QUARTER_HOUR }),
          },
          label: 'height gained while catching up',
          period: QUARTER_HOUR,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
        periods: v.syncStallPeriods,
        // No height (no block yet) or no data: node-down and bootstrap-overdue cover that.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }, true);

    this.wrongChainspec = add('WrongChainspec', 'wrong-chainspec',
      'the node runs another network than configured (its chainspec_name differs): check the network config and the staged protocol versions under /etc/casper.', {
        metric: m.metricWrongChainspec({ statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        periods: 2,
      }, true);

    this.upgradeNotStaged = add('UpgradeNotStaged', 'upgrade-not-staged',
      `an announced protocol upgrade has not been staged on the node for ${describeDuration(Duration.seconds(v.upgradePeriods * QUARTER_HOUR.toSeconds()))}: the node halts at its activation point. Run casper-stage-protocols.service and see its journal.`, {
        metric: m.metricUpgradeStaged({ statistic: 'Maximum', period: QUARTER_HOUR }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        periods: v.upgradePeriods,
        // No data: no upgrade announced (or the node is down, which other alarms cover).
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }, true);

    this.stageProtocolsFailed = add('StageProtocolsFailed', 'stage-protocols-failed',
      'the last protocol staging run failed (see StageProtocolsError in the metrics log group and `journalctl -u casper-stage-protocols`); the timer retries every 6 hours.', {
        metric: m.metricStageProtocolsFailed({ statistic: 'Maximum', period: Duration.minutes(5) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        periods: 1,
      }, true);

    if (m.autoScalingGroupName !== undefined) {
      this.statusCheckFailed = add('StatusCheckFailed', 'status-check-failed',
        'an EC2 instance or system status check failed; the Auto Scaling group replaces an impaired instance.', {
          metric: m.metricStatusCheckFailed({ statistic: 'Maximum', period: Duration.minutes(1) }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          periods: 1,
        }, true);
    }

    if (props.monitorRpc) {
      this.rpcDown = add('RpcDown', 'rpc-down',
        `the sidecar's JSON-RPC (info_get_status) failed for ${v.rpcDownMinutes} minute(s): see RpcError in the metrics log group and \`journalctl -u casper-sidecar\`.`, {
          metric: m.metricRpcUp({ statistic: 'Maximum', period: Duration.minutes(1) }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          periods: v.rpcDownMinutes,
          // Not checked before the bootstrap completes; node-down covers missing data.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }, true);
      this.rpcSlow = add('RpcSlow', 'rpc-slow',
        `the sidecar's JSON-RPC took more than ${v.maxRpcLatencyMs} ms (90th percentile) for 5 minutes.`, {
          metric: m.metricRpcLatency({ statistic: 'p90', period: Duration.minutes(1) }),
          threshold: v.maxRpcLatencyMs,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          periods: 5,
        });
    }

    if (props.canary) {
      const period = props.canary.schedulePeriod;
      this.canaryFailing = add('CanaryFailing', 'canary-failing',
        `two consecutive external checks of ${props.canary.targetDescription} failed while the node reported itself synced: it is unreachable from outside (security group, Elastic IP, network). See the canary's runs in CloudWatch Synthetics.`, {
          metric: new cloudwatch.MathExpression({
            // The canary fails by design on a node that bootstraps or catches up (no answer, stale block):
            // only periods in which the collector saw the node synced count. Without collector data,
            // the canary is the outside witness.
            expression: 'IF(FILL(synced, 1) < 1, 100, success)',
            usingMetrics: {
              success: props.canary.metricSuccessPercent({ statistic: 'Average', period }),
              synced: m.metricSynced({ statistic: 'Maximum', period }),
            },
            label: 'canary success while synced',
            period,
          }),
          threshold: 100,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          periods: 2,
        });
    }

    if (props.snapshotRotation) {
      this.backupsStale = add('BackupsStale', 'backups-stale',
        `no successful snapshot rotation for ${v.backupDays} day(s): the node was not synced at rotation time, or the rotation failed (see its log group).`, {
          metric: new cloudwatch.MathExpression({
            // The rotation only snapshots a synced node: a day on which it never was synced
            // (bootstrap, initial sync) is excused; node-down covers a node that reports nothing.
            expression: 'IF(FILL(synced, 0) < 1, 1, FILL(succeeded, 0))',
            usingMetrics: {
              succeeded: props.snapshotRotation.metricSucceeded({ statistic: 'Sum', period: Duration.days(1) }),
              synced: m.metricSynced({ statistic: 'Maximum', period: Duration.days(1) }),
            },
            label: 'successful rotations, days never synced excused',
            period: Duration.days(1),
          }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          periods: v.backupDays,
          // A rotation that stops running publishes nothing: that is stale too.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        });
    }

    if (props.dataVolumeLifecycle) {
      this.lifecycleFailures = add('LifecycleFailures', 'lifecycle-failures',
        'the data-volume lifecycle abandoned a launch or termination (see the lifecycle step function\'s log group and the workflow\'s '
        + 'executions); nothing was deleted. After 3 failed moves the group\'s Launch process is suspended: resume it once fixed.', {
          metric: props.dataVolumeLifecycle.metricFailures({ statistic: 'Sum', period: Duration.minutes(5) }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          periods: 1,
        });
    }

    if (props.nodeUnhealthyAlarm) {
      this.nodeUnhealthy = new cloudwatch.CompositeAlarm(this, 'NodeUnhealthy', {
        compositeAlarmName: `${prefix}-node-unhealthy`,
        alarmDescription: `Casper node ${m.nodeName}: one of its critical alarms is in ALARM (${this.criticalAlarms.map((a) => a.node.id).join(', ')}); see which in the CloudWatch console.`,
        alarmRule: cloudwatch.AlarmRule.anyOf(...this.criticalAlarms.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
      });
    }

    if (props.topic) {
      const action = new actions.SnsAction(props.topic);
      const notifying: cloudwatch.AlarmBase[] = this.nodeUnhealthy
        ? [this.nodeUnhealthy, ...this.alarms.filter((a) => !this.criticalAlarms.includes(a))]
        : this.alarms;
      for (const alarm of notifying) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }
}

/** An alarm's metric and threshold; it fires after `periods` breaching periods in a row. */
type AlarmOptions = Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription' | 'evaluationPeriods' | 'datapointsToAlarm'> & {
  readonly periods: number;
};

interface Validated {
  readonly prefix: string;
  readonly cpu: number;
  readonly memory: number;
  readonly disk: number;
  readonly maxBlockAgeSeconds: number;
  readonly minPeerCount: number;
  readonly backupDays: number;
  readonly overdueSeconds: number;
  readonly overduePeriods: number;
  readonly syncStallPeriods: number;
  readonly upgradePeriods: number;
  readonly rpcDownMinutes: number;
  readonly maxRpcLatencyMs: number;
}

function validate(owner: Owner, props: CasperAlarmsProps): Validated {
  const fail = failFor(owner);
  if (!props.metrics) fail('metrics', props.metrics, 'is required: new CasperNodeMetrics({ namespace, nodeName })');
  const percent = (prop: string, value: number): number => {
    if (typeof value !== 'number' || !(value > 0 && value < 100)) fail(prop, value, 'must be a percentage above 0 and below 100');
    return value;
  };
  const prefix = props.alarmNamePrefix ?? `casper-${props.metrics.nodeName}`;
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(prefix)) {
    fail('alarmNamePrefix', prefix, 'must be 1 to 200 letters, digits, ".", "_" or "-"');
  }
  const maxBlockAge = validateDuration(owner, 'maxBlockAge', props.maxBlockAge ?? Duration.minutes(10), Duration.minutes(2), Duration.hours(2));
  const maxBlockAgeSeconds = maxBlockAge.toSeconds({ integral: false });
  const minPeerCount = validateInteger(owner, 'minPeerCount', props.minPeerCount ?? 3, 1, 1000);
  const backupMaxAge = props.backupMaxAge ?? Duration.days(2);
  const backupDays = backupMaxAge.toSeconds({ integral: false }) / 86400;
  if (!Number.isInteger(backupDays) || backupDays < 1 || backupDays > 7) {
    fail('backupMaxAge', describeDuration(backupMaxAge), 'must be whole days from 1 to 7 (CloudWatch evaluates at most 7 days)');
  }
  const bootstrapTimeout = validateDuration(owner, 'bootstrapTimeout', props.bootstrapTimeout ?? Duration.minutes(90),
    Duration.minutes(30), Duration.hours(12));
  const bootstrapSeconds = bootstrapTimeout.toSeconds({ integral: false });
  const overduePeriods = Math.ceil((bootstrapSeconds + BOOTSTRAP_OVERDUE_MARGIN_SECONDS) / BOOTSTRAP_OVERDUE_PERIOD.toSeconds());
  const quarters = (prop: string, value: Duration, min: number, max: number, allowed: string): number => {
    const n = value.toSeconds({ integral: false }) / QUARTER_HOUR.toSeconds();
    if (!Number.isInteger(n) || n < min || n > max) fail(prop, describeDuration(value), allowed);
    return n;
  };
  const syncStallPeriods = quarters('maxSyncStall', props.maxSyncStall ?? Duration.hours(1), 2, 48,
    'must be 30 minutes to 12 hours in whole quarter hours');
  const upgradePeriods = quarters('upgradeStagingGracePeriod', props.upgradeStagingGracePeriod ?? Duration.hours(8), 4, 96,
    'must be 1 to 24 hours in whole quarter hours');
  const rpcDownFor = props.rpcDownFor ?? Duration.minutes(3);
  const rpcDownMinutes = rpcDownFor.toSeconds({ integral: false }) / 60;
  if (!Number.isInteger(rpcDownMinutes) || rpcDownMinutes < 1 || rpcDownMinutes > 60) {
    fail('rpcDownFor', describeDuration(rpcDownFor), 'must be 1 to 60 whole minutes');
  }
  const maxRpcLatency = validateDuration(owner, 'maxRpcLatency', props.maxRpcLatency ?? Duration.seconds(1),
    Duration.millis(50), Duration.seconds(4), 'the collector gives up after 5 seconds');
  const maxRpcLatencyMs = maxRpcLatency.toMilliseconds({ integral: false });
  return {
    overdueSeconds: overduePeriods * BOOTSTRAP_OVERDUE_PERIOD.toSeconds(),
    overduePeriods,
    syncStallPeriods,
    upgradePeriods,
    rpcDownMinutes,
    maxRpcLatencyMs,
    prefix,
    cpu: percent('cpuThresholdPercent', props.cpuThresholdPercent ?? 70),
    memory: percent('memoryThresholdPercent', props.memoryThresholdPercent ?? 80),
    disk: percent('diskThresholdPercent', props.diskThresholdPercent ?? 90),
    maxBlockAgeSeconds,
    minPeerCount,
    backupDays,
  };
}
