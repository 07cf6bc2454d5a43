import { Annotations, ArnFormat, Duration, Fn, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, IDependable } from 'constructs';
import { serviceEncryptedLogGroup, skipCheckov } from '../private/checkov';
import {
  CREATED_BY_LIFECYCLE, DATA_VOLUME_DEVICE, DATA_VOLUME_INSTANCE_TAG, MAX_MEMBER_SLOTS, TAG_ATTACHED_AT, TAG_CREATED_BY, TAG_INSTANCE,
  TAG_MEMBER, TAG_MEMBER_CLAIM, TAG_MOVE_ATTEMPTS, TAG_NODE,
} from '../private/contract';
import { handlerFunction } from '../private/handler-function';
import { acknowledgeNagRules, nagFindingName } from '../private/nag';
import { LIFECYCLE_LAUNCH_WORST_CASE_SECONDS } from '../private/node-config';
import {
  CasperValidationError, describeDuration, ownerOf, ShownAs, validateDuration, validateInteger, validateNodeName, validateSnapshotId,
} from '../private/validation';

const OWNER = 'DataVolumeLifecycle';

/**
 * Properties of a `DataVolumeLifecycle`.
 */
export interface DataVolumeLifecycleProps {
  /**
   * The node's Auto Scaling group (of one instance; of up to `memberSlots`
   * members for a fleet). The lifecycle hooks are written into the group
   * itself, so they exist before its first instance launches; make the group
   * depend on this construct.
   */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;

  /**
   * The node's name (a fleet's name): its volumes and snapshots carry
   * `casper:node=<nodeName>`.
   */
  readonly nodeName: string;

  /**
   * Allocation id of the Elastic IP to associate with each new instance. Not
   * with `memberSlots` (a fleet's members have no Elastic IP).
   *
   * @default - no Elastic IP is associated
   */
  readonly elasticIpAllocationId?: string;

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
   * The group's subnets. With them the lifecycle keeps the group in the data
   * volume's Availability Zone (its home AZ), so an ordinary replacement
   * reattaches the volume in place; after failed launches into the home AZ
   * it gives the group the other subnets and the data moves. Not with
   * `memberSlots` (a fleet's members land in whatever AZ the group picks).
   *
   * @default - the group is left alone; a launch in another AZ moves the data
   */
  readonly groupSubnets?: ec2.ISubnet[];

  /**
   * How long a move may wait for its snapshot (a first full snapshot of a
   * large volume takes hours). At most 23 hours: the launch hook's global
   * timeout is 25 hours.
   *
   * @default Duration.hours(23)
   */
  readonly moveTimeout?: Duration;

  /**
   * How many launches may try to move the same volume before the lifecycle
   * suspends the group's Launch process and alarms.
   *
   * @default 3
   */
  readonly maxMoveAttempts?: number;

  /**
   * Completed lifecycle snapshots (termination, move) kept per node; older
   * ones are deleted. The newest completed snapshot of the node is never deleted.
   *
   * @default 3
   */
  readonly lifecycleSnapshotsToKeep?: number;

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

  /**
   * A snapshot of a synced node's data volume (of this account, or shared with
   * it) that a new volume starts from when the node has neither a volume nor a
   * completed snapshot of its own, so that the node starts near the tip
   * instead of syncing from genesis or a trusted hash. The node's own data
   * always wins. A seed that is not found or not `completed` is logged and the
   * volume is created empty. It is not tagged by this library: the workflow
   * may create volumes from exactly this snapshot.
   *
   * @default - no seed: a node without data of its own starts on an empty volume
   */
  readonly seedSnapshotId?: string;

  /**
   * Pool mode, for a fleet: the group holds up to this many members, and
   * every data volume belongs to one member slot (`casper:member=<0..N-1>`).
   * A launching member claims a free slot (its instance is tagged
   * `casper:member-claim`, then `casper:member` before `casper:data-volume`)
   * and takes the slot's volume in its AZ, or gets a new one there from the
   * newest completed snapshot of any fleet volume (else the seed, else
   * empty). No Elastic IP, no home-AZ pinning, no moves: members land in any
   * AZ. Volumes of slots no member takes (a slot beyond N, or the slot's
   * volume in an AZ its member left) are deleted once a completed snapshot
   * holds their data, unless `keepOldVolume`.
   *
   * @default 0 - a single node
   */
  readonly memberSlots?: number;
}

/** The launch hook's heartbeat timeout: the workflow records a heartbeat at least every 5 minutes. */
const LAUNCH_HEARTBEAT = Duration.seconds(LIFECYCLE_LAUNCH_WORST_CASE_SECONDS);
/** A hook's global timeout: 100 heartbeat timeouts, at most 48 hours. */
const HOOK_GLOBAL_TIMEOUT = Duration.seconds(Math.min(100 * LIFECYCLE_LAUNCH_WORST_CASE_SECONDS, 172_800));
const MAX_MOVE_TIMEOUT = HOOK_GLOBAL_TIMEOUT.minus(Duration.hours(2));

/**
 * Keeps the node's data on its own EBS volume across instance replacements.
 *
 * Lifecycle hooks on the Auto Scaling group send launch and terminate events
 * through EventBridge to a starter function, which starts one execution of a
 * Step Functions standard workflow per lifecycle action (named after the
 * action, so a duplicate event starts nothing). The workflow calls a step
 * function until the action is done; every wait (an instance launching, the
 * old instance letting go, a snapshot that takes hours) is a Wait state
 * followed by a lifecycle heartbeat, never a Lambda run.
 *
 * On launch it reattaches the node's volume in place when the instance is in
 * the volume's AZ; relaunches the instance there when it landed elsewhere and
 * that AZ is usable; otherwise moves the data through a snapshot, restores the
 * newest snapshot or creates an empty volume. It grows a volume smaller than
 * `volumeSizeGiB`, tags the instance `casper:data-volume=<volume id>` for the
 * bootstrap, associates the Elastic IP and lets the launch continue. On
 * termination it snapshots the volume. Old lifecycle snapshots are pruned.
 * Failures abandon the launch and count in `LifecycleFailures`.
 *
 * With `seedSnapshotId`, a node without a volume or snapshot of its own starts
 * from that snapshot. With `memberSlots` (pool mode, for a fleet), each
 * launching member claims a free member slot and takes the slot's volume in
 * its AZ or a new one from the fleet's newest snapshot; no Elastic IP, no
 * pinning, no moves.
 *
 * The roles may touch only volumes and snapshots tagged with this node's name
 * and Auto Scaling groups of this stack tagged with it.
 */
export class DataVolumeLifecycle extends Construct {
  /** The workflow's step function. */
  public readonly handler: lambda.IFunction;

  /** The step function's role. */
  public readonly role: iam.Role;

  /** The function EventBridge invokes: starts the workflow, handles failed launches. */
  public readonly starter: lambda.IFunction;

  /** The workflow. */
  public readonly stateMachine: sfn.StateMachine;

  /** Name of the launch lifecycle hook (`<node name>-data-volume-launch`). */
  public readonly launchHookName: string;

  /** Name of the termination lifecycle hook (`<node name>-data-volume-terminate`). */
  public readonly terminateHookName: string;

  /** The EventBridge rule that routes the hooks' events to the starter. */
  public readonly rule: events.Rule;

  /** Namespace of the workflow's metrics. */
  public readonly metricsNamespace: string;

  private readonly nodeName: string;

  constructor(scope: Construct, id: string, props: DataVolumeLifecycleProps) {
    super(scope, id);
    // Validated before any child exists, so a bad input leaves nothing behind.
    const owner = ownerOf(this, OWNER);
    validateNodeName(owner, 'nodeName', props.nodeName);
    const moveTimeout = validateDuration(owner, 'moveTimeout', props.moveTimeout ?? Duration.hours(23), Duration.minutes(10), MAX_MOVE_TIMEOUT,
      `the launch hook's global timeout is ${HOOK_GLOBAL_TIMEOUT.toHours()} hours`);
    const moveTimeoutSeconds = moveTimeout.toSeconds({ integral: false });
    if (!Number.isInteger(moveTimeoutSeconds)) {
      throw new CasperValidationError(owner, 'moveTimeout', describeDuration(moveTimeout), 'must be whole seconds');
    }
    const maxMoveAttempts = validateInteger(owner, 'maxMoveAttempts', props.maxMoveAttempts ?? 3, 1, 10);
    const keepSnapshots = validateInteger(owner, 'lifecycleSnapshotsToKeep', props.lifecycleSnapshotsToKeep ?? 3, 1, 100);
    const seedSnapshotId = props.seedSnapshotId;
    if (seedSnapshotId !== undefined && !Token.isUnresolved(seedSnapshotId)) validateSnapshotId(owner, 'seedSnapshotId', seedSnapshotId);
    const memberSlots = validateInteger(owner, 'memberSlots', props.memberSlots ?? 0, 0, MAX_MEMBER_SLOTS);
    const pool = memberSlots > 0;
    if (pool && props.elasticIpAllocationId !== undefined) {
      throw new CasperValidationError(owner, 'elasticIpAllocationId', props.elasticIpAllocationId,
        `must be left out with memberSlots (${memberSlots}): a fleet's members have no Elastic IP`);
    }
    if (pool && props.groupSubnets !== undefined) {
      throw new CasperValidationError(owner, 'groupSubnets', new ShownAs(`[${props.groupSubnets.length} subnet(s)]`),
        `must be left out with memberSlots (${memberSlots}): a fleet's members land in whatever AZ the group picks, and the group is never pinned`);
    }
    this.nodeName = props.nodeName;
    this.metricsNamespace = props.metricsNamespace ?? 'casper-node';
    const stack = Stack.of(this);
    const launchHookName = `${props.nodeName}-data-volume-launch`;
    const terminateHookName = `${props.nodeName}-data-volume-terminate`;
    const retention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    // Everything the group's first launch needs: the group depends on these.
    const beforeGroup: IDependable[] = [];

    const arn = (resource: string, name: string) => stack.formatArn({ service: 'ec2', resource, resourceName: name });
    const volumes = arn('volume', '*');
    const snapshots = stack.formatArn({ service: 'ec2', resource: 'snapshot', resourceName: '*', account: '' });
    const instances = arn('instance', '*');
    const nodeTag = { [`aws:ResourceTag/${TAG_NODE}`]: props.nodeName };
    Tags.of(props.autoScalingGroup).add(TAG_NODE, props.nodeName, { applyToLaunchedInstances: true });
    // Nothing here may reference the group's generated name: the group's first
    // instance launches before the group resource completes, and the workflow
    // must already be able to serve it. The group and its instances carry the
    // node tag. The group's name as far as it is known before the group exists:
    // the one it was given, or CloudFormation's `<stack name>-<logical id>-<suffix>`.
    const cfnGroupName = (props.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup).autoScalingGroupName;
    const groupName = cfnGroupName && !Token.isUnresolved(cfnGroupName) ? cfnGroupName : `${Stack.of(props.autoScalingGroup).stackName}-*`;
    const groupArn = stack.formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `*:autoScalingGroupName/${groupName}`,
    });
    const createTagKeys = (keys: string[]) => ({ 'ForAllValues:StringEquals': { 'aws:TagKeys': keys } });

    const statements = [
      // Describe calls support no resource-level permissions. (A fleet never asks for zone states.)
      new iam.PolicyStatement({
        actions: ['ec2:DescribeVolumes', 'ec2:DescribeSnapshots', 'ec2:DescribeInstances', ...(pool ? [] : ['ec2:DescribeAvailabilityZones']),
          'ec2:DescribeVolumesModifications', 'autoscaling:DescribeAutoScalingGroups'],
        resources: ['*'],
      }),
      // The node's volumes: attach to and detach from the node's instances, grow, snapshot, delete.
      new iam.PolicyStatement({
        actions: ['ec2:AttachVolume', 'ec2:DetachVolume', 'ec2:DeleteVolume', 'ec2:CreateSnapshot', 'ec2:ModifyVolume'],
        resources: [volumes],
        conditions: { StringEquals: nodeTag },
      }),
      new iam.PolicyStatement({
        actions: ['ec2:AttachVolume', 'ec2:DetachVolume'],
        resources: [instances],
        conditions: { StringEquals: nodeTag },
      }),
      // New volumes and snapshots must be created with the node's tag...
      new iam.PolicyStatement({
        actions: ['ec2:CreateVolume'],
        resources: [volumes],
        conditions: { StringEquals: { [`aws:RequestTag/${TAG_NODE}`]: props.nodeName } },
      }),
      new iam.PolicyStatement({
        actions: ['ec2:CreateSnapshot'],
        resources: [snapshots],
        conditions: { StringEquals: { [`aws:RequestTag/${TAG_NODE}`]: props.nodeName } },
      }),
      // ...and a volume may only be restored from the node's own snapshots.
      new iam.PolicyStatement({
        actions: ['ec2:CreateVolume'],
        resources: [snapshots],
        conditions: { StringEquals: nodeTag },
      }),
      // ...or from exactly the seed snapshot, which carries no tag of ours.
      ...(seedSnapshotId === undefined ? [] : [new iam.PolicyStatement({
        actions: ['ec2:CreateVolume'],
        resources: [stack.formatArn({ service: 'ec2', resource: 'snapshot', resourceName: seedSnapshotId, account: '' })],
      })]),
      new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: [volumes, snapshots],
        conditions: { StringEquals: { 'ec2:CreateAction': ['CreateVolume', 'CreateSnapshot'] } },
      }),
      // Tags on existing resources: these keys only, on the node's resources only
      // (a fleet's members also get their slot claim and slot).
      new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: [instances],
        conditions: { StringEquals: nodeTag, ...createTagKeys([DATA_VOLUME_INSTANCE_TAG, ...(pool ? [TAG_MEMBER, TAG_MEMBER_CLAIM] : [])]) },
      }),
      new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: [volumes],
        conditions: { StringEquals: nodeTag, ...createTagKeys([TAG_ATTACHED_AT, TAG_INSTANCE]) },
      }),
      // Moves count their tries (a fleet never moves a volume).
      ...(pool ? [] : [new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: [snapshots],
        conditions: { StringEquals: nodeTag, ...createTagKeys([TAG_MOVE_ATTEMPTS]) },
      })]),
      // Pruning: the node's lifecycle snapshots only (never SnapshotRotation's).
      new iam.PolicyStatement({
        actions: ['ec2:DeleteSnapshot'],
        resources: [snapshots],
        conditions: { StringEquals: { ...nodeTag, [`aws:ResourceTag/${TAG_CREATED_BY}`]: CREATED_BY_LIFECYCLE } },
      }),
      ...(props.elasticIpAllocationId === undefined ? [] : [
        new iam.PolicyStatement({
          actions: ['ec2:AssociateAddress'],
          resources: [arn('elastic-ip', props.elasticIpAllocationId)],
        }),
        new iam.PolicyStatement({
          actions: ['ec2:AssociateAddress'],
          resources: [instances],
          conditions: { StringEquals: nodeTag },
        }),
      ]),
      // This stack's groups (by name) carrying the node tag: the node's group.
      // A fleet only completes lifecycle actions: no pinning, no suspended launches.
      new iam.PolicyStatement({
        actions: pool ? ['autoscaling:CompleteLifecycleAction']
          : ['autoscaling:CompleteLifecycleAction', 'autoscaling:UpdateAutoScalingGroup', 'autoscaling:SuspendProcesses'],
        resources: [groupArn],
        conditions: { StringEquals: nodeTag },
      }),
    ];
    const subnets = subnetEntries(this, props.groupSubnets ?? []);
    const common = {
      NODE_NAME: props.nodeName,
      GROUP_SUBNETS: subnets.length > 0 ? Fn.join(',', subnets) : '',
      METRIC_NAMESPACE: this.metricsNamespace,
      ...(pool ? { MEMBER_SLOTS: String(memberSlots) } : {}),
    };
    const lifecycleNotes = {
      logRetention: retention,
      failureHandling: 'A failed launch is abandoned (the group replaces the instance) and every failure counts in LifecycleFailures, '
        + 'which CasperAlarms alarms on; by the time an event reached a DLQ its lifecycle action would have timed out, so there would '
        + 'be nothing left to replay it against.',
      services: 'EC2, Auto Scaling, Step Functions',
      environmentContents: 'the node name, volume size, IOPS and throughput, device and tag names, subnet ids, the Elastic IP '
        + `allocation id, the workflow ARN${seedSnapshotId === undefined ? ' and' : ','} an optional KMS key ARN`
        + `${seedSnapshotId === undefined ? '' : ' and a seed snapshot id'}`,
    };
    const steps = handlerFunction(this, {
      ...lifecycleNotes,
      idPrefix: '',
      functionId: 'Handler',
      bundle: 'storage/data-volume-lifecycle.lambda',
      description: `Casper node ${props.nodeName}: data-volume lifecycle steps (attach, move, restore, snapshot)`,
      roleDescription: `Casper node ${props.nodeName}: data-volume lifecycle steps`,
      statements,
      // Each step makes a few API calls and returns; waits are the workflow's.
      timeout: Duration.minutes(2),
      environment: {
        ...common,
        VOLUME_SIZE_GIB: String(props.volumeSizeGiB ?? 500),
        VOLUME_IOPS: String(props.volumeIops ?? 3000),
        VOLUME_THROUGHPUT_MIBPS: String(props.volumeThroughputMibps ?? 125),
        VOLUME_KMS_KEY_ID: props.encryptionKey?.keyArn ?? '',
        DEVICE_NAME: DATA_VOLUME_DEVICE,
        INSTANCE_TAG_KEY: DATA_VOLUME_INSTANCE_TAG,
        ELASTIC_IP_ALLOCATION_ID: props.elasticIpAllocationId ?? '',
        KEEP_OLD_VOLUME: String(props.keepOldVolume ?? false),
        MOVE_TIMEOUT_SECONDS: String(moveTimeoutSeconds),
        MAX_MOVE_ATTEMPTS: String(maxMoveAttempts),
        KEEP_LIFECYCLE_SNAPSHOTS: String(keepSnapshots),
        ...(seedSnapshotId === undefined ? {} : { SEED_SNAPSHOT_ID: seedSnapshotId }),
      },
      logContents: 'The workflow steps\' decisions with volume, snapshot, instance and address ids, no secrets',
      invokedBy: 'its Step Functions workflow (which retries it and abandons the lifecycle action when it keeps failing)',
    });
    const handler = steps.fn;
    this.handler = handler;
    this.role = steps.role;
    const logGroup = steps.logGroup;
    beforeGroup.push(steps.policy, handler);
    if (props.encryptionKey) {
      // EC2 uses the key on the workflow's behalf for encrypted volumes and snapshots.
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

    // The workflow: Advance until done; every wait is a Wait state and a heartbeat.
    const workflowLogs = new logs.LogGroup(this, 'WorkflowLogs', { retention, removalPolicy: RemovalPolicy.RETAIN });
    const advance = new tasks.LambdaInvoke(this, 'Advance', {
      lambdaFunction: handler,
      payload: sfn.TaskInput.fromObject({ op: 'advance', state: sfn.JsonPath.entirePayload }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    });
    // Throttling, Lambda service errors, a step that could not even ABANDON: retry, then give up.
    advance.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), backoffRate: 2, maxAttempts: 6 });
    const failed = new sfn.Fail(this, 'Abandoned', { error: 'LifecycleAbandoned', cause: 'The lifecycle action was abandoned; see the step function\'s log.' });
    const abandon = new tasks.LambdaInvoke(this, 'Abandon', {
      lambdaFunction: handler,
      payload: sfn.TaskInput.fromObject({ op: 'abandon', state: sfn.JsonPath.entirePayload, error: sfn.JsonPath.objectAt('$.error') }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    });
    abandon.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(10), backoffRate: 2, maxAttempts: 4 });
    abandon.next(failed);
    advance.addCatch(abandon, { errors: ['States.ALL'], resultPath: '$.error' });
    const wait = new sfn.Wait(this, 'Wait', { time: sfn.WaitTime.secondsPath('$.waitSeconds') });
    const heartbeat = new tasks.CallAwsService(this, 'Heartbeat', {
      service: 'autoscaling',
      action: 'recordLifecycleActionHeartbeat',
      iamAction: 'autoscaling:RecordLifecycleActionHeartbeat',
      iamResources: [groupArn],
      parameters: {
        AutoScalingGroupName: sfn.JsonPath.stringAt('$.detail.AutoScalingGroupName'),
        LifecycleHookName: sfn.JsonPath.stringAt('$.detail.LifecycleHookName'),
        LifecycleActionToken: sfn.JsonPath.stringAt('$.detail.LifecycleActionToken'),
        InstanceId: sfn.JsonPath.stringAt('$.detail.EC2InstanceId'),
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    // A missed heartbeat is not fatal: the next one comes within 5 minutes.
    heartbeat.addCatch(advance, { errors: ['States.ALL'], resultPath: sfn.JsonPath.DISCARD });
    const next = new sfn.Choice(this, 'Done?')
      .when(sfn.Condition.stringEquals('$.status', 'done'), new sfn.Succeed(this, 'Done'))
      .when(sfn.Condition.stringEquals('$.status', 'abandoned'), failed)
      .otherwise(wait.next(heartbeat).next(advance));
    advance.next(next);
    this.stateMachine = new sfn.StateMachine(this, 'Workflow', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: `Casper node ${props.nodeName}: data-volume lifecycle`,
      definitionBody: sfn.DefinitionBody.fromChainable(advance),
      // Within the launch hook's global timeout, after the longest move.
      timeout: moveTimeout.plus(Duration.minutes(60)),
      tracingEnabled: true,
      logs: { destination: workflowLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    beforeGroup.push(this.stateMachine);

    // The starter: one execution per lifecycle action; the home-AZ check after failed launches.
    const starterParts = handlerFunction(this, {
      ...lifecycleNotes,
      idPrefix: 'Starter',
      functionId: 'Starter',
      bundle: 'storage/data-volume-lifecycle-starter.lambda',
      description: `Casper node ${props.nodeName}: starts the data-volume lifecycle workflow`,
      roleDescription: `Casper node ${props.nodeName}: data-volume lifecycle starter`,
      statements: [
        new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachine.stateMachineArn] }),
        // Failed launches into the home AZ: a fleet has none (no LaunchFailures rule).
        ...(pool ? [] : [
          new iam.PolicyStatement({
            actions: ['autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeScalingActivities'],
            resources: ['*'],
          }),
          new iam.PolicyStatement({
            actions: ['autoscaling:UpdateAutoScalingGroup'],
            resources: [groupArn],
            conditions: { StringEquals: nodeTag },
          }),
        ]),
      ],
      timeout: Duration.seconds(30),
      environment: {
        ...common,
        STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
        LAUNCH_FAILURES_BEFORE_UNPIN: '3',
      },
      logContents: 'The starter\'s decisions with instance ids and execution names, no secrets',
      invokedBy: 'its EventBridge rules (8 retries, events expire after an hour)',
    });
    const starter = starterParts.fn;
    const starterLogs = starterParts.logGroup;
    this.starter = starter;
    beforeGroup.push(starter, starterParts.policy);

    // Hooks inside the group: a separate hook resource would only exist after the
    // group (and its first instance) had been created. Launch: without the volume
    // the node cannot start, so an unhandled launch is abandoned.
    const cfnGroup = props.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    const hooks: autoscaling.CfnAutoScalingGroup.LifecycleHookSpecificationProperty[] = [
      {
        lifecycleHookName: launchHookName,
        lifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
        defaultResult: 'ABANDON',
        heartbeatTimeout: LAUNCH_HEARTBEAT.toSeconds(),
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

    const delivery = { retryAttempts: 8, maxEventAge: Duration.hours(1) };
    this.rule = new events.Rule(this, 'Rule', {
      description: `Casper node ${props.nodeName}: lifecycle actions of its Auto Scaling group`,
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: ['EC2 Instance-launch Lifecycle Action', 'EC2 Instance-terminate Lifecycle Action'],
        detail: { LifecycleHookName: [launchHookName, terminateHookName] },
      },
      targets: [new targets.LambdaFunction(starter, delivery)],
    });
    beforeGroup.push(this.rule);
    // Failed launches name the group, which exists by then: this rule may wait for it.
    // A fleet is never pinned to an AZ: nothing to do after a failed launch.
    if (!pool) {
      new events.Rule(this, 'LaunchFailures', {
        description: `Casper node ${props.nodeName}: failed launches of its Auto Scaling group`,
        eventPattern: {
          source: ['aws.autoscaling'],
          detailType: ['EC2 Instance Launch Unsuccessful'],
          detail: { AutoScalingGroupName: [props.autoScalingGroup.autoScalingGroupName] },
        },
        targets: [new targets.LambdaFunction(starter, delivery)],
      });
    }
    for (const d of beforeGroup) props.autoScalingGroup.node.addDependency(d);

    acknowledgeNagRules(this, [{
      id: 'AwsSolutions-IAM5',
      reason: 'EC2 and Auto Scaling Describe* calls have no resource-level permissions; volume, snapshot, instance and Auto Scaling group ARNs '
        + 'are wildcards narrowed by tag conditions (casper:node resource and request tags) and, for groups, by the stack-name prefix; '
        + 'log streams by their own log group; the workflow\'s log delivery and X-Ray calls support no resource-level permissions.',
      appliesTo: [
        'Resource::*',
        `Resource::${nagFindingName(this, volumes)}`,
        `Resource::${nagFindingName(this, snapshots)}`,
        `Resource::${nagFindingName(this, instances)}`,
        `Resource::${nagFindingName(this, `${logGroup.logGroupArn}:*`)}`,
        `Resource::${nagFindingName(this, `${starterLogs.logGroupArn}:*`)}`,
        `Resource::${nagFindingName(this, groupArn)}`,
        `Resource::<${stack.getLogicalId(handler.node.defaultChild as lambda.CfnFunction)}.Arn>:*`,
        ...(props.encryptionKey ? ['Action::kms:ReEncrypt*'] : []),
      ],
    }]);
    skipCheckov(workflowLogs.node.defaultChild!, [serviceEncryptedLogGroup('The workflow\'s state transitions with volume, snapshot, '
      + 'instance and address ids, no secrets')]);
  }

  /** Failed launches or terminations (the workflow abandoned the lifecycle action). */
  public metricFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricCount('LifecycleFailures', props);
  }

  /** Lifecycle actions the workflow completed. */
  public metricSuccesses(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricCount('LifecycleSuccesses', props);
  }

  private metricCount(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName,
      dimensionsMap: { NodeName: this.nodeName },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }
}

/**
 * `subnet-id=availability-zone` of each subnet. An imported subnet may not know
 * its AZ (`Subnet.fromSubnetId`): then the group is left alone, with a warning.
 */
function subnetEntries(scope: Construct, subnets: ec2.ISubnet[]): string[] {
  try {
    return subnets.map((subnet) => `${subnet.subnetId}=${subnet.availabilityZone}`);
  } catch {
    Annotations.of(scope).addWarningV2('cdk-casper-node:groupSubnetsWithoutAz',
      'The group\'s subnets do not say their Availability Zones (import them with Subnet.fromSubnetAttributes): the data-volume '
      + 'lifecycle will not keep the group in the data volume\'s AZ, and a replacement in another AZ moves the data.');
    return [];
  }
}
