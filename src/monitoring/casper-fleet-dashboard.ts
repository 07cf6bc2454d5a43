import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { CasperNodeMetrics } from './casper-node-metrics';
import { DASHBOARD_WIDTH } from '../private/dashboard-grid';
import { CasperValidationError, ownerOf, validateNodeName } from '../private/validation';

/**
 * Properties of a `CasperFleetDashboard`.
 */
export interface CasperFleetDashboardProps {
  /** The fleet's name (the dashboard's title). */
  readonly fleetName: string;

  /** How many members the fleet runs. */
  readonly nodeCount: number;

  /** Healthy (in sync) members, such as the RPC target group's `HealthyHostCount`. */
  readonly healthyMembers: cloudwatch.IMetric;

  /** Unhealthy members, such as the RPC target group's `UnHealthyHostCount`. */
  readonly unhealthyMembers: cloudwatch.IMetric;

  /** Each member's metrics, in member order. */
  readonly memberMetrics: CasperNodeMetrics[];

  /**
   * The load balancer whose traffic to graph.
   *
   * @default - no traffic graph
   */
  readonly loadBalancer?: elbv2.INetworkLoadBalancer;

  /**
   * Alarms whose state the dashboard shows.
   *
   * @default - none
   */
  readonly alarms?: cloudwatch.IAlarm[];

  /**
   * The dashboard's name.
   *
   * @default - the fleet's name
   */
  readonly dashboardName?: string;
}

/**
 * One CloudWatch dashboard for a fleet: members in sync against the target,
 * each member's sync state, block height, block age and peers on shared
 * graphs (one line a member), host load, the load balancer's traffic and the
 * alarms' states.
 */
export class CasperFleetDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CasperFleetDashboardProps) {
    super(scope, id);
    const owner = ownerOf(this, 'CasperFleetDashboard');
    validateNodeName(owner, 'fleetName', props.fleetName);
    if (props.memberMetrics.length < 1 || props.memberMetrics.length > 20) {
      throw new CasperValidationError(owner, 'memberMetrics', props.memberMetrics.length, 'must hold from 1 to 20 members\' metrics');
    }
    const dashboardName = props.dashboardName ?? props.fleetName;
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(dashboardName)) {
      throw new CasperValidationError(owner, 'dashboardName', dashboardName, 'must be 1 to 255 letters, digits, "-" or "_"');
    }
    const members = props.memberMetrics;
    const perMember = (title: string, metric: (m: CasperNodeMetrics) => cloudwatch.IMetric, width = DASHBOARD_WIDTH / 2): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, width, height: 6, left: members.map(metric) });
    const labelled = (m: CasperNodeMetrics, metric: cloudwatch.Metric): cloudwatch.Metric => metric.with({ label: m.nodeName });

    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(new cloudwatch.TextWidget({
      markdown: `# Casper fleet ${props.fleetName}\n${props.nodeCount} member(s) behind one RPC endpoint; a member counts as healthy only while in sync.`,
      width: DASHBOARD_WIDTH,
      height: 2,
    }));
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Members in sync (target ${props.nodeCount})`,
        width: DASHBOARD_WIDTH / 2,
        height: 6,
        left: [props.healthyMembers, props.unhealthyMembers],
        leftAnnotations: [{ value: props.nodeCount, label: 'nodeCount', color: cloudwatch.Color.GREEN }],
        leftYAxis: { min: 0 },
      }),
      perMember('Synced (1 = following the tip)', (m) => labelled(m, m.metricSynced()), DASHBOARD_WIDTH / 2),
    );
    this.dashboard.addWidgets(
      perMember('Block height', (m) => labelled(m, m.metricBlockHeight()), DASHBOARD_WIDTH / 3),
      perMember('Newest block age (s)', (m) => labelled(m, m.metricLastBlockAge()), DASHBOARD_WIDTH / 3),
      perMember('Peers', (m) => labelled(m, m.metricPeerCount()), DASHBOARD_WIDTH / 3),
    );
    this.dashboard.addWidgets(
      perMember('CPU %', (m) => labelled(m, m.metricCpuUtilization()), DASHBOARD_WIDTH / 3),
      perMember('Data disk used %', (m) => labelled(m, m.metricDataDiskUsedPercent()), DASHBOARD_WIDTH / 3),
      perMember('RPC latency p90 (ms)', (m) => labelled(m, m.metricRpcLatency()), DASHBOARD_WIDTH / 3),
    );
    const lb = props.loadBalancer;
    if (lb) {
      this.dashboard.addWidgets(new cloudwatch.GraphWidget({
        title: 'Load balancer: new flows and bytes',
        width: DASHBOARD_WIDTH,
        height: 6,
        left: [lb.metrics.newFlowCount({ statistic: 'Sum', period: Duration.minutes(1) })],
        right: [lb.metrics.processedBytes({ statistic: 'Sum', period: Duration.minutes(1) })],
      }));
    }
    if (props.alarms && props.alarms.length > 0) {
      this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: DASHBOARD_WIDTH, height: 6 }));
    }
  }
}
