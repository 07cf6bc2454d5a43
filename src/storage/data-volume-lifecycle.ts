import { ArnFormat, Duration, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DataVolumeLifecycleFunction } from './data-volume-lifecycle-function';
import { noReservedConcurrency, plainEnvironment, serviceEncryptedLogGroup, skipCheckov } from '../private/checkov';
import { acknowledgeNagRules, nagFindingName, PINNED_NODE_RUNTIME } from '../private/nag';
import { DATA_VOLUME_INSTANCE_TAG, LIFECYCLE_LAUNCH_WORST_CASE_SECONDS } from '../private/node-config';
import { CasperValidationError, NODE_NAME_PATTERN } from '../private/validation';

/**
 * Properties of a `DataVolumeLifecycle`.
 */
export interface DataVolumeLifecycleProps {
  /**
   * The node's Auto Scaling group (of one instance). The lifecycle hooks are
   * written into the group itself, so they exist before its first instance
   * launches; make the group depend on this construct.
   */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;

  /** The node's name: its volumes and snapshots carry `casper:node=<nodeName>`. */
  readonly nodeName: string;

  /** Allocation id of the Elastic IP to associate with each new instance. */
  readonly elasticIpAllocationId: string;

  /**
   * Size of an empty data volume, when neither a volume nor a snapshot exists.
   *
   * @default 500
   */
  readonly volumeSizeGiB?: number;

  /**
   * gp3 IOPS of a new data volume.
   *
   * @default 3000
   */
  readonly volumeIops?: number;

  /**
   * gp3 throughput of a new data volume, in MiB/s.
   *
   * @default 125
   */
  readonly volumeThroughputMibps?: number;

  /**
   * KMS key for new data volumes (they are always encrypted).
   *
   * @default - the account's default EBS encryption key
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Keep the old volume after moving the data to a new Availability Zone.
   *
   * @default false - it is deleted once the new volume is attached
   */
  readonly keepOldVolume?: boolean;

  /**
   * CloudWatch namespace of the handler's metrics (LifecycleFailures, LifecycleSuccesses).
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

/** The instance tag that names the attached data volume (the bootstrap reads it). */
const INSTANCE_TAG_KEY = DATA_VOLUME_INSTANCE_TAG;
/** The launch hook's heartbeat timeout and the handler's timeout: the bootstrap's tag wait is derived from it. */
const HANDLER_TIMEOUT = Duration.seconds(LIFECYCLE_LAUNCH_WORST_CASE_SECONDS);
/** Every wait of the handler fits in this, well below the Lambda timeout. */
const WAIT_BUDGET = Duration.minutes(12);

/**
 * Keeps the node's data on its own EBS volume across instance replacements.
 *
 * Lifecycle hooks on the Auto Scaling group send launch and terminate events
 * through EventBridge to a handler that, on launch, attaches the node's data
 * volume to the new instance (waiting for the old instance to let go, moving
 * the data through a snapshot when the instance landed in another
 * Availability Zone, restoring from the newest snapshot, or creating an empty
 * volume), tags the instance `casper:data-volume=<volume id>` for the
 * bootstrap, associates the Elastic IP and lets the launch continue; on
 * termination it snapshots the volume. Failures abandon the launch and count
 * in the `LifecycleFailures` metric.
 *
 * The handler's role may touch only volumes and snapshots tagged with this
 * node's name and instances of this group.
 */
export class DataVolumeLifecycle extends Construct {
  /** The handler. */
  public readonly handler: lambda.IFunction;

  /** The handler's role. */
  public readonly role: iam.Role;

  /** Name of the launch lifecycle hook (`<node name>-data-volume-launch`). */
  public readonly launchHookName: string;

  /** Name of the termination lifecycle hook (`<node name>-data-volume-terminate`). */
  public readonly terminateHookName: string;

  /** The EventBridge rule that routes the hooks' events to the handler. */
  public readonly rule: events.Rule;

  /** Namespace of the handler's metrics. */
  public readonly metricsNamespace: string;

  private readonly nodeName: string;

  constructor(scope: Construct, id: string, props: DataVolumeLifecycleProps) {
    super(scope, id);
    if (!NODE_NAME_PATTERN.test(props.nodeName)) {
      throw new CasperValidationError('DataVolumeLifecycle', 'nodeName', props.nodeName,
        'must be 1 to 63 letters, digits or "-", starting and ending with a letter or digit');
    }
    this.nodeName = props.nodeName;
    this.metricsNamespace = props.metricsNamespace ?? 'casper-node';
    const stack = Stack.of(this);
    const launchHookName = `${props.nodeName}-data-volume-launch`;
    const terminateHookName = `${props.nodeName}-data-volume-terminate`;

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Casper node ${props.nodeName}: data-volume lifecycle handler`,
    });
    logGroup.grantWrite(this.role);

    const arn = (resource: string, name: string) => stack.formatArn({ service: 'ec2', resource, resourceName: name });
    const volumes = arn('volume', '*');
    const snapshots = stack.formatArn({ service: 'ec2', resource: 'snapshot', resourceName: '*', account: '' });
    const instances = arn('instance', '*');
    const nodeTag = { 'aws:ResourceTag/casper:node': props.nodeName };
    Tags.of(props.autoScalingGroup).add('casper:node', props.nodeName, { applyToLaunchedInstances: true });
    // Nothing here may reference the group's generated name: the group's first
    // instance launches before the group resource completes, and the handler
    // must already be able to serve it. The group and its instances carry the
    // node tag instead, and the rule matches the hook names.
    const nodeInstance = { 'aws:ResourceTag/casper:node': props.nodeName };
    // The group's name as far as it is known before the group exists: the one
    // it was given, or CloudFormation's `<stack name>-<logical id>-<suffix>`.
    const cfnGroupName = (props.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup).autoScalingGroupName;
    const groupName = cfnGroupName && !Token.isUnresolved(cfnGroupName) ? cfnGroupName : `${Stack.of(props.autoScalingGroup).stackName}-*`;
    const groupArn = stack.formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `*:autoScalingGroupName/${groupName}`,
    });

    const statements = [
      // Describe calls support no resource-level permissions.
      new iam.PolicyStatement({
        actions: ['ec2:DescribeVolumes', 'ec2:DescribeSnapshots', 'ec2:DescribeInstances', 'ec2:DescribeAddresses'],
        resources: ['*'],
      }),
      // Attach/detach: the node's volumes, to and from this group's instances.
      new iam.PolicyStatement({
        actions: ['ec2:AttachVolume', 'ec2:DetachVolume', 'ec2:DeleteVolume', 'ec2:CreateSnapshot'],
        resources: [volumes],
        conditions: { StringEquals: nodeTag },
      }),
      new iam.PolicyStatement({
        actions: ['ec2:AttachVolume', 'ec2:DetachVolume'],
        resources: [instances],
        conditions: { StringEquals: nodeInstance },
      }),
      // New volumes and snapshots must be created with the node's tag...
      new iam.PolicyStatement({
        actions: ['ec2:CreateVolume'],
        resources: [volumes],
        conditions: { StringEquals: { 'aws:RequestTag/casper:node': props.nodeName } },
      }),
      new iam.PolicyStatement({
        actions: ['ec2:CreateSnapshot'],
        resources: [snapshots],
        conditions: { StringEquals: { 'aws:RequestTag/casper:node': props.nodeName } },
      }),
      // ...and a volume may only be restored from the node's own snapshots.
      new iam.PolicyStatement({
        actions: ['ec2:CreateVolume'],
        resources: [snapshots],
        conditions: { StringEquals: nodeTag },
      }),
      new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: [volumes, snapshots],
        conditions: { StringEquals: { 'ec2:CreateAction': ['CreateVolume', 'CreateSnapshot'] } },
      }),
      // The instance tag the bootstrap waits for: this group's instances, this key only.
      new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: [instances],
        conditions: {
          'StringEquals': nodeInstance,
          'ForAllValues:StringEquals': { 'aws:TagKeys': [INSTANCE_TAG_KEY] },
        },
      }),
      new iam.PolicyStatement({
        actions: ['ec2:AssociateAddress'],
        resources: [arn('elastic-ip', props.elasticIpAllocationId)],
      }),
      new iam.PolicyStatement({
        actions: ['ec2:AssociateAddress'],
        resources: [instances],
        conditions: { StringEquals: nodeInstance },
      }),
      // This stack's groups (by name) carrying the node tag: the node's group.
      new iam.PolicyStatement({
        actions: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
        resources: [groupArn],
        conditions: { StringEquals: nodeTag },
      }),
    ];
    const policy = new iam.Policy(this, 'Policy', { roles: [this.role], statements });
    if (props.encryptionKey) {
      // EC2 uses the key on the handler's behalf for encrypted volumes and snapshots.
      props.encryptionKey.grant(this.role, 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncrypt*');
      // EBS grants itself the key for each volume; no other grant.
      iam.Grant.addToPrincipalOrResource({
        grantee: this.role,
        actions: ['kms:CreateGrant'],
        resourceArns: [props.encryptionKey.keyArn],
        resource: props.encryptionKey,
        conditions: { Bool: { 'kms:GrantIsForAWSResource': true } },
      });
    }

    this.handler = new DataVolumeLifecycleFunction(this, 'Handler', {
      description: `Casper node ${props.nodeName}: attaches its data volume to new instances, snapshots on termination`,
      role: this.role,
      logGroup,
      timeout: HANDLER_TIMEOUT,
      memorySize: 256,
      environment: {
        NODE_NAME: props.nodeName,
        VOLUME_SIZE_GIB: String(props.volumeSizeGiB ?? 500),
        VOLUME_IOPS: String(props.volumeIops ?? 3000),
        VOLUME_THROUGHPUT_MIBPS: String(props.volumeThroughputMibps ?? 125),
        VOLUME_KMS_KEY_ID: props.encryptionKey?.keyArn ?? '',
        DEVICE_NAME: '/dev/sdf',
        INSTANCE_TAG_KEY,
        ELASTIC_IP_ALLOCATION_ID: props.elasticIpAllocationId,
        KEEP_OLD_VOLUME: String(props.keepOldVolume ?? false),
        WAIT_BUDGET_SECONDS: String(WAIT_BUDGET.toSeconds()),
        METRIC_NAMESPACE: this.metricsNamespace,
      },
    });
    this.handler.node.addDependency(policy);

    // Hooks inside the group: a separate hook resource would only exist after the
    // group (and its first instance) had been created. Launch: without the volume
    // the node cannot start, so an unhandled launch is abandoned.
    const cfnGroup = props.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    const hooks: autoscaling.CfnAutoScalingGroup.LifecycleHookSpecificationProperty[] = [
      {
        lifecycleHookName: launchHookName,
        lifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
        defaultResult: 'ABANDON',
        heartbeatTimeout: HANDLER_TIMEOUT.toSeconds(),
      },
      {
        lifecycleHookName: terminateHookName,
        lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        defaultResult: 'CONTINUE',
        heartbeatTimeout: Duration.minutes(10).toSeconds(),
      },
    ];
    const existing = (cfnGroup.lifecycleHookSpecificationList ?? []) as autoscaling.CfnAutoScalingGroup.LifecycleHookSpecificationProperty[];
    cfnGroup.lifecycleHookSpecificationList = [...existing, ...hooks];
    this.launchHookName = launchHookName;
    this.terminateHookName = terminateHookName;
    props.autoScalingGroup.node.addDependency(this);

    this.rule = new events.Rule(this, 'Rule', {
      description: `Casper node ${props.nodeName}: lifecycle actions of its Auto Scaling group`,
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance-terminate Lifecycle Action'],
        detail: { LifecycleHookName: [launchHookName, terminateHookName] },
      },
      targets: [new targets.LambdaFunction(this.handler, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });

    acknowledgeNagRules(this, [{
      id: 'AwsSolutions-IAM5',
      reason: 'EC2 Describe* calls have no resource-level permissions; volume, snapshot, instance and Auto Scaling group ARNs are wildcards narrowed by tag conditions (casper:node resource and request tags), the log stream by its own log group.',
      appliesTo: [
        'Resource::*',
        `Resource::${nagFindingName(this, volumes)}`,
        `Resource::${nagFindingName(this, snapshots)}`,
        `Resource::${nagFindingName(this, instances)}`,
        `Resource::${nagFindingName(this, `${logGroup.logGroupArn}:*`)}`,
        `Resource::${nagFindingName(this, groupArn)}`,
        ...(props.encryptionKey ? ['Action::kms:ReEncrypt*'] : []),
      ],
    }]);
    acknowledgeNagRules(this.handler, [PINNED_NODE_RUNTIME]);

    skipCheckov(logGroup.node.defaultChild!, [serviceEncryptedLogGroup('The handler\'s decisions with volume, snapshot, instance and address ids, no secrets')]);
    skipCheckov(this.handler.node.defaultChild!, [
      {
        id: 'CKV_AWS_117',
        comment: 'The handler calls only regional AWS APIs (EC2, Auto Scaling, CloudWatch) and reaches nothing inside a VPC. In the '
          + 'node\'s VPC (CasperVpc: no NAT gateway) it would need an interface endpoint for each of the three, each billed per hour '
          + 'and Availability Zone, without reducing exposure.',
      },
      {
        id: 'CKV_AWS_116',
        comment: 'Invoked by its EventBridge rule (2 retries, events expire after an hour). A failed launch is abandoned (the group '
          + 'replaces the instance) and every failure counts in LifecycleFailures, which CasperAlarms alarms on; by the time an event '
          + 'reached a DLQ its lifecycle action would have timed out, so there would be nothing left to replay it against.',
      },
      noReservedConcurrency('the lifecycle hooks of the node\'s Auto Scaling group of one, once per instance launch or termination'),
      plainEnvironment('the node name, volume size, IOPS and throughput, device and tag names, the Elastic IP allocation id and an optional KMS key ARN'),
    ]);
  }

  /** Failed launches or terminations (the handler abandoned the lifecycle action). */
  public metricFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName: 'LifecycleFailures',
      dimensionsMap: { NodeName: this.nodeName },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Lifecycle actions the handler completed. */
  public metricSuccesses(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName: 'LifecycleSuccesses',
      dimensionsMap: { NodeName: this.nodeName },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }
}
