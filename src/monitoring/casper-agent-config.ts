import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { CasperNodeMetrics } from './casper-node-metrics';
import { CasperNetwork } from '../casper-network';
import { renderAgentConfig } from '../private/agent-config';
import { serviceEncryptedLogGroup, skipCheckov } from '../private/checkov';
import { acknowledgeNagRules } from '../private/nag';
import { DATA_MOUNT_POINT } from '../private/node-config';
import { describeDuration, failFor, isValidMetricsNamespace, ownerOf, validateNodeName } from '../private/validation';

/**
 * Properties of a `CasperAgentConfig`.
 */
export interface CasperAgentConfigProps {
  /** The network the node runs on (names the default namespace). */
  readonly network: CasperNetwork;

  /** The node's name: the `NodeName` dimension of every metric. */
  readonly nodeName: string;

  /**
   * CloudWatch namespace of the node's metrics.
   *
   * @default 'casper-<chainspec name>'
   */
  readonly metricsNamespace?: string;

  /**
   * How often the agent samples CPU, memory and disks: 10 to 300 seconds,
   * whole seconds. Below 60 seconds the metrics are high resolution.
   *
   * @default Duration.seconds(30)
   */
  readonly metricsInterval?: Duration;

  /**
   * Mount point of the data volume, whose disk use is measured next to `/`.
   *
   * @default '/var/lib/casper/casper-node'
   */
  readonly dataMountPoint?: string;

  /**
   * How long the node, bootstrap and metrics log groups keep events.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the log groups when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const OWNER = 'CasperAgentConfig';

/**
 * The CloudWatch agent configuration of a Casper node, stored in SSM Parameter
 * Store for `amazon-cloudwatch-agent-ctl -a fetch-config -c ssm:<name>`.
 *
 * The agent samples CPU, memory (`mem_used`, `mem_used_percent`) and both
 * disks (`disk_total`, `disk_used`, `disk_used_percent` of `/` and the data
 * mount) every 30 seconds with the dimension `NodeName`, ships
 * `casper-node.log`, `casper-node.stderr.log` and the bootstrap log to their
 * own log groups, and listens on 127.0.0.1:25888 for the metrics collector's
 * Embedded Metric Format events, which land in the metrics log group.
 */
export class CasperAgentConfig extends Construct {
  /** The parameter holding the agent's JSON configuration. */
  public readonly parameter: ssm.StringParameter;

  /** `casper-node.log` (JSON lines). */
  public readonly nodeLogGroup: logs.LogGroup;

  /** `casper-node.stderr.log` (crash output). */
  public readonly nodeStderrLogGroup: logs.LogGroup;

  /** The bootstrap log. */
  public readonly bootstrapLogGroup: logs.LogGroup;

  /** Embedded Metric Format events of the metrics collector. */
  public readonly metricsLogGroup: logs.LogGroup;

  /** The metrics this configuration produces (their namespace is `metrics.namespace`). */
  public readonly metrics: CasperNodeMetrics;

  constructor(scope: Construct, id: string, props: CasperAgentConfigProps) {
    super(scope, id);
    // Validated before any child exists, so a bad input leaves nothing behind.
    const owner = ownerOf(this, OWNER);
    const fail = failFor(owner);
    validateNodeName(owner, 'nodeName', props.nodeName);
    const namespace = props.metricsNamespace ?? `casper-${props.network.chainspecName}`;
    if (!isValidMetricsNamespace(namespace)) {
      fail('metricsNamespace', namespace,
        'must be 1 to 255 characters of letters, digits and . - _ / # : or space, not starting with ":" or "AWS/"');
    }
    const interval = props.metricsInterval ?? Duration.seconds(30);
    const intervalSeconds = interval.toSeconds({ integral: false });
    if (!Number.isInteger(intervalSeconds) || intervalSeconds < 10 || intervalSeconds > 300) {
      fail('metricsInterval', describeDuration(interval), 'must be whole seconds from 10 to 300');
    }
    const dataMountPoint = props.dataMountPoint ?? DATA_MOUNT_POINT;
    // The agent reports mount points without a trailing slash: anything else would never match.
    if (!/^(\/[A-Za-z0-9._-]+)+$/.test(dataMountPoint) || /\/\.{1,2}(\/|$)/.test(dataMountPoint)) {
      fail('dataMountPoint', dataMountPoint, 'must be an absolute path other than "/", without a trailing "/", "." or ".." segments');
    }

    const logGroup = (name: string) => new logs.LogGroup(this, name, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.nodeLogGroup = logGroup('NodeLog');
    this.nodeStderrLogGroup = logGroup('NodeStderrLog');
    this.bootstrapLogGroup = logGroup('BootstrapLog');
    this.metricsLogGroup = logGroup('MetricsLog');
    skipCheckov(this.nodeLogGroup.node.defaultChild!, [serviceEncryptedLogGroup('The casper-node log (JSON lines: chain progress, peers, errors), no key material')]);
    skipCheckov(this.nodeStderrLogGroup.node.defaultChild!, [serviceEncryptedLogGroup('The casper-node standard error output (crash output), no key material')]);
    skipCheckov(this.bootstrapLogGroup.node.defaultChild!, [serviceEncryptedLogGroup('The bootstrap log (steps, volume and package details); the bootstrap never logs key material')]);
    skipCheckov(this.metricsLogGroup.node.defaultChild!, [serviceEncryptedLogGroup('The metrics collector\'s embedded-metric-format records (numbers about the node), no key material')]);

    const config = renderAgentConfig({
      namespace,
      nodeName: props.nodeName,
      intervalSeconds,
      dataMountPoint,
      nodeLogGroupName: this.nodeLogGroup.logGroupName,
      nodeStderrLogGroupName: this.nodeStderrLogGroup.logGroupName,
      bootstrapLogGroupName: this.bootstrapLogGroup.logGroupName,
    });
    this.parameter = new ssm.StringParameter(this, 'Parameter', {
      description: `CloudWatch agent configuration of Casper node ${props.nodeName}`,
      stringValue: Stack.of(this).toJsonString(config),
    });
    this.metrics = new CasperNodeMetrics({ namespace, nodeName: props.nodeName, dataMountPoint });
  }

  /**
   * Lets the node's instance role run the agent: read this configuration,
   * write to these log groups, and put metrics into this namespace only.
   */
  public grantAgent(grantee: iam.IGrantable): void {
    this.parameter.grantRead(grantee);
    for (const group of [this.nodeLogGroup, this.nodeStderrLogGroup, this.bootstrapLogGroup, this.metricsLogGroup]) {
      group.grant(grantee, 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams');
    }
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['cloudwatch:PutMetricData'],
      resourceArns: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': this.metrics.namespace } },
    });
    if (grantee.grantPrincipal instanceof iam.Role) {
      acknowledgeNagRules(grantee.grantPrincipal, [{
        id: 'AwsSolutions-IAM5',
        reason: 'cloudwatch:PutMetricData has no resource type; the grant is limited to the node\'s namespace by the cloudwatch:namespace condition.',
        appliesTo: ['Resource::*'],
      }]);
    }
  }
}
