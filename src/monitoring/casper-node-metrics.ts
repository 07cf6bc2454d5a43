import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { DATA_MOUNT_POINT } from '../private/node-config';

/**
 * Where a Casper node's metrics are published.
 */
export interface CasperNodeMetricsProps {
  /** CloudWatch namespace of the node's metrics, such as `casper-casper-test`. */
  readonly namespace: string;

  /** The node's name: the `NodeName` dimension of every metric (it survives instance replacement). */
  readonly nodeName: string;

  /**
   * Mount point of the data volume (the `path` dimension of its disk metrics).
   *
   * @default '/var/lib/casper/casper-node'
   */
  readonly dataMountPoint?: string;

  /**
   * Name of the node's Auto Scaling group, for the EC2 metrics aggregated by group
   * (status checks). They survive instance replacement, unlike per-instance metrics.
   *
   * @default - no EC2 metrics
   */
  readonly autoScalingGroupName?: string;
}

/**
 * The metrics of one Casper node: what the in-instance collector sends from
 * `/status` (node up, synced, peers, height, era, block age), what the
 * CloudWatch agent sends (CPU, memory, disks) and the EC2 status checks.
 * Every metric carries the dimension `NodeName`, never an instance id, so
 * graphs and alarms follow the node across instance replacements.
 */
export class CasperNodeMetrics {
  /** CloudWatch namespace. */
  public readonly namespace: string;

  /** The `NodeName` dimension. */
  public readonly nodeName: string;

  /** Mount point of the data volume. */
  public readonly dataMountPoint: string;

  /** The Auto Scaling group name, when given. */
  public readonly autoScalingGroupName?: string;

  constructor(props: CasperNodeMetricsProps) {
    this.namespace = props.namespace;
    this.nodeName = props.nodeName;
    this.dataMountPoint = props.dataMountPoint ?? DATA_MOUNT_POINT;
    this.autoScalingGroupName = props.autoScalingGroupName;
  }

  /** 1 when `/status` answered with a JSON object, 0 when it did not; absent when the instance or agent is down. */
  public metricNodeUp(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('NodeUp', 'Minimum', props);
  }

  /** 1 when the node's reactor state is KeepUp or Validate, else 0. */
  public metricSynced(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('Synced', 'Minimum', props);
  }

  /** Number of connected peers. */
  public metricPeerCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('PeerCount', 'Minimum', props);
  }

  /** Height of the node's last added block. */
  public metricBlockHeight(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('BlockHeight', 'Maximum', props);
  }

  /** Era of the node's last added block. */
  public metricEraId(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('EraId', 'Maximum', props);
  }

  /** Seconds since the timestamp of the node's last added block. */
  public metricLastBlockAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('LastBlockAgeSeconds', 'Maximum', props);
  }

  /**
   * 1 when the node's last protocol staging run failed, 0 when it succeeded
   * (from the stager's result; no data before its first run). A node that
   * cannot stage the next protocol version halts at its activation point.
   */
  public metricStageProtocolsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('StageProtocolsFailed', 'Maximum', props);
  }

  /**
   * 1 once the node's bootstrap has finished (its done stamp exists), 0
   * while it runs. The collector starts early in the bootstrap, so this is 0
   * for the whole bootstrap; the stamp survives reboots.
   */
  public metricBootstrapComplete(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('BootstrapComplete', 'Maximum', props);
  }

  /**
   * 1 while the node's reactor state is Initialize or CatchUp (still getting
   * to the chain tip: its last block lags by hours), 0 in any other state;
   * absent while the node does not answer.
   */
  public metricCatchingUp(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('CatchingUp', 'Maximum', props);
  }

  /** 1 when the node runs another chainspec than the configured network's, else 0. */
  public metricWrongChainspec(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('WrongChainspec', 'Maximum', props);
  }

  /**
   * While an upgrade is announced (`next_upgrade` in /status): 1 when its
   * protocol version is staged on the node (config and binary), else 0. No
   * data while no upgrade is announced.
   */
  public metricUpgradeStaged(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('UpgradeStaged', 'Minimum', props);
  }

  /**
   * 1 when the sidecar's JSON-RPC answered `info_get_status` with a result,
   * else 0. Only on networks with the sidecar, once the bootstrap is complete.
   */
  public metricRpcUp(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('RpcUp', 'Minimum', props);
  }

  /** Milliseconds the sidecar took to answer `info_get_status` (when it answered). */
  public metricRpcLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.node('RpcLatencyMilliseconds', 'p90', props);
  }

  /** CPU busy percentage of the whole instance (agent `cpu_usage_active`, all cores). */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.agent('cpu_usage_active', { cpu: 'cpu-total' }, 'Average', props);
  }

  /** Memory in use, in percent (agent `mem_used_percent`). */
  public metricMemoryUsedPercent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.agent('mem_used_percent', {}, 'Average', props);
  }

  /** Memory in use, in bytes (agent `mem_used`). */
  public metricMemoryUsed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.agent('mem_used', {}, 'Average', props);
  }

  /** Used space of the data volume, in percent. */
  public metricDataDiskUsedPercent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.disk('disk_used_percent', this.dataMountPoint, props);
  }

  /** Used space of the data volume, in bytes. */
  public metricDataDiskUsed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.disk('disk_used', this.dataMountPoint, props);
  }

  /** Size of the data volume's filesystem, in bytes. */
  public metricDataDiskTotal(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.disk('disk_total', this.dataMountPoint, props);
  }

  /** Used space of the root volume, in percent. */
  public metricRootDiskUsedPercent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.disk('disk_used_percent', '/', props);
  }

  /** Used space of the root volume, in bytes. */
  public metricRootDiskUsed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.disk('disk_used', '/', props);
  }

  /** Size of the root filesystem, in bytes. */
  public metricRootDiskTotal(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.disk('disk_total', '/', props);
  }

  /**
   * EC2 status checks of the group's instance (1 when the instance or the
   * system check fails). Needs `autoScalingGroupName`.
   */
  public metricStatusCheckFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (this.autoScalingGroupName === undefined) {
      throw new Error('CasperNodeMetrics: metricStatusCheckFailed needs autoScalingGroupName');
    }
    return new cloudwatch.Metric({
      namespace: 'AWS/EC2',
      metricName: 'StatusCheckFailed',
      dimensionsMap: { AutoScalingGroupName: this.autoScalingGroupName },
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...props,
    });
  }

  private node(metricName: string, statistic: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      dimensionsMap: { NodeName: this.nodeName },
      statistic,
      period: Duration.minutes(1),
      ...props,
    });
  }

  private agent(metricName: string, dims: { [k: string]: string }, statistic: string,
    props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      dimensionsMap: { ...dims, NodeName: this.nodeName },
      statistic,
      period: Duration.minutes(1),
      ...props,
    });
  }

  private disk(metricName: string, mountPath: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.agent(metricName, { path: mountPath, fstype: 'ext4' }, 'Maximum', props);
  }
}
