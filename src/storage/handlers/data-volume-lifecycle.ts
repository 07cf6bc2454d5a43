/**
 * Data-volume lifecycle: the steps of the `DataVolumeLifecycle` workflow.
 *
 * Auto Scaling lifecycle hooks reach `startLifecycle` (the starter function)
 * through EventBridge. It starts one Step Functions execution per lifecycle
 * action, named after the action's token, so a duplicate event finds the
 * execution already there and starts nothing. The workflow calls
 * `advanceLifecycle` with the state below until it is done or abandoned; when
 * a step must wait (an instance still launching, an old instance letting go,
 * a snapshot that takes hours), it returns `status: 'wait'` with the seconds
 * to wait, and the workflow waits in a Wait state, records a lifecycle
 * heartbeat and calls it again. No Lambda invocation ever waits: each one
 * does a few API calls and returns.
 *
 * LAUNCHING (instance I in Availability Zone Z), in phases:
 *  - `instance`: wait for I to be running (NotFound just after launch is
 *    retried, not fatal);
 *  - `choose` the node's data volume: already attached to I (a retried
 *    action) → `finish`; otherwise the newest not-superseded volume (one no
 *    other node volume was created from a snapshot of):
 *      in Z and available → `prepare`;
 *      attached to another instance → `release` (wait for that instance to
 *      terminate; detach forced only when it is terminated with the volume
 *      still attached, or after HOLDER_WAIT_SECONDS);
 *      in another AZ that is usable (its zone state is `available` and the
 *      group still has a subnet there) → the group is pinned to that AZ and
 *      the launch abandoned: the group relaunches in the volume's home AZ and
 *      the volume is reattached in place, with no snapshot and no copy;
 *      in an AZ the group no longer uses (a deliberate move, or an AZ the
 *      group left after failed launches) → `move`;
 *      in an AZ that is not `available` → restore the newest completed
 *      snapshot (the volume cannot be read);
 *    no volume → restore the newest completed snapshot (waiting for a pending
 *    one when none is completed), else create the volume from SEED_SNAPSHOT_ID
 *    (when it is given, found and completed; otherwise logged), else create an
 *    empty volume: the node's own data always wins over the seed;
 *  - `move`: snapshot the volume (or adopt the move snapshot a previous try
 *    left, counting tries in `casper:move-attempts`; after MAX_MOVE_ATTEMPTS
 *    the group's Launch process is suspended and the action abandoned), then
 *    `wait-snapshot` for as long as it takes (up to MOVE_TIMEOUT_SECONDS),
 *    tagging I `casper:data-volume=pending` so its bootstrap keeps waiting;
 *  - `create-volume` in Z from the snapshot (or empty), `wait-volume`;
 *  - `prepare`: grow a volume smaller than VOLUME_SIZE_GIB (ModifyVolume, wait
 *    for `optimizing`; the bootstrap grows the filesystem);
 *  - `attach`, `wait-attached`, `finish`: tag I `casper:data-volume=<id>`,
 *    tag the volume `casper:attached-at`, associate the Elastic IP, complete
 *    with CONTINUE; then tidy up (never failing the launch): delete the
 *    volumes the attached one supersedes (unless KEEP_OLD_VOLUME), pin the
 *    group to Z, prune lifecycle snapshots.
 *
 * TERMINATING: start a snapshot of the instance's volume (tagged
 * `casper:created-by=lifecycle`, `casper:reason=termination`), CONTINUE, prune.
 *
 * Pruning keeps the newest KEEP_LIFECYCLE_SNAPSHOTS completed lifecycle
 * snapshots and never deletes a pending snapshot, the newest completed node
 * snapshot of any creator, or a snapshot a volume is being created from.
 *
 * Any error abandons: one `ERROR lifecycle ...` line, a `LifecycleFailures`
 * EMF metric, CompleteLifecycleAction ABANDON. Nothing is deleted before its
 * replacement is attached, so a copy of the newest data always remains.
 *
 * `handleLaunchFailure` (the starter, for "EC2 Instance Launch Unsuccessful"
 * events): after LAUNCH_FAILURES_BEFORE_UNPIN failed launches in a row into
 * the pinned home AZ, the group is given every other subnet of the node; the
 * next launch lands elsewhere and moves the data.
 *
 * POOL MODE (MEMBER_SLOTS = N > 0, a fleet): one group of up to N members;
 * every fleet volume carries `casper:member=<slot 0..N-1>`. A launch:
 *  - `claim`: picks a slot nobody else holds (a live member, pending or
 *    running and not being terminated by the group, holds the slots of its
 *    `casper:member` and `casper:member-claim` tags and of the volumes attached
 *    to it), preferring (a) a slot with an `available` volume in Z, (b) one
 *    whose volume in Z is attached to an instance on its way out, (c) the
 *    lowest slot without a volume, (d) one whose volumes are all in other
 *    AZs; tags the instance `casper:member-claim=<slot>` and waits
 *    CLAIM_SETTLE_SECONDS (a Wait state);
 *  - `confirm-claim`: reads the live members' tags again; if one has taken
 *    the slot (`casper:member`) or claims it with a lower instance id, back to
 *    `claim`; otherwise tags the instance `casper:member=<slot>` (before any
 *    `casper:data-volume`);
 *  - `choose`: the slot's `available` volume in Z → `prepare`; its volume in Z
 *    held by an instance on its way out → `release`; never a volume attached
 *    to a live member; otherwise `restore`: a new volume in Z from the newest
 *    completed snapshot of any fleet volume (no waiting for a pending one),
 *    else the seed, else empty, tagged with the slot;
 *  - `finish`: as above, without an Elastic IP, and tidying up without
 *    pinning: delete `available` fleet volumes of a slot >= N, or older than
 *    an attached volume of their slot (the slot's volume in the AZ it left),
 *    unless KEEP_OLD_VOLUME, and only when a completed snapshot holds their
 *    data (taken after their last attachment); prune lifecycle snapshots
 *    across the fleet. No group subnet changes, no moves, no suspended processes.
 * TERMINATING is the same in both modes (the snapshot also carries the slot).
 */
import { createHash } from 'crypto';
// The AWS SDK comes with the Lambda Node.js runtime (left external by the bundler).
import {
  AutoScalingClient,
  AutoScalingGroup,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeScalingActivitiesCommand,
  SuspendProcessesCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  AssociateAddressCommand,
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeAvailabilityZonesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  DetachVolumeCommand,
  EC2Client,
  Filter,
  Instance,
  ModifyVolumeCommand,
  Snapshot,
  Tag,
  Volume,
} from '@aws-sdk/client-ec2';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { emfLine, errorName, isNotFound, oneLine, tagValue } from './common';
import {
  CREATED_BY_LIFECYCLE,
  DATA_VOLUME_PENDING,
  MAX_MEMBER_SLOTS,
  ROLE_DATA,
  TAG_ATTACHED_AT,
  TAG_CREATED_BY,
  TAG_INSTANCE,
  TAG_MEMBER,
  TAG_MEMBER_CLAIM,
  TAG_MOVE_ATTEMPTS,
  TAG_NODE,
  TAG_REASON,
  TAG_ROLE,
  TAG_SOURCE_SNAPSHOT,
  TAG_SOURCE_VOLUME,
} from '../../private/contract';

export const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING';
export const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';

/** How many NotFound or empty answers for something that should exist are waited out. */
export const MAX_MISSING = 10;
/** How long an instance may stay `pending`. */
export const INSTANCE_WAIT_SECONDS = 600;
/** How long a new volume may stay `creating`, an attachment `attaching`, a resize `modifying`. */
export const VOLUME_WAIT_SECONDS = 900;
/** Pool mode: how long a member-slot claim settles before the other instances' claims are read again. */
export const CLAIM_SETTLE_SECONDS = 5;
/** Pool mode: how many times a launch may lose a contested slot before it gives up. */
export const MAX_CLAIM_TRIES = 10;

/** Handler configuration, read from the environment by `configFromEnv`. */
export interface LifecycleConfig {
  /** NODE_NAME: value of the `casper:node` tag on the node's volumes and snapshots. */
  readonly nodeName: string;
  /** VOLUME_SIZE_GIB: size of an empty volume, and the least size of the node's volume (smaller ones are grown). */
  readonly volumeSizeGiB: number;
  /** VOLUME_IOPS: gp3 IOPS of an empty or restored volume (default 3000). */
  readonly volumeIops: number;
  /** VOLUME_THROUGHPUT_MIBPS: gp3 throughput of an empty or restored volume (default 125). */
  readonly volumeThroughputMiBps: number;
  /** VOLUME_KMS_KEY_ID: key for new volumes whose source is not encrypted (default: the account's EBS default key). */
  readonly volumeKmsKeyId?: string;
  /** DEVICE_NAME: device the volume is attached as (default `/dev/sdf`). */
  readonly deviceName: string;
  /** INSTANCE_TAG_KEY: instance tag naming the attached volume (default `casper:data-volume`). */
  readonly instanceTagKey: string;
  /** ELASTIC_IP_ALLOCATION_ID: Elastic IP associated with each launched instance (none when empty). */
  readonly elasticIpAllocationId?: string;
  /** KEEP_OLD_VOLUME: keep volumes superseded by a move (default false). */
  readonly keepOldVolume: boolean;
  /** GROUP_SUBNETS: the group's subnets as `subnet-id=availability-zone`, comma-separated (empty: never pin). */
  readonly groupSubnets: ReadonlyArray<{ readonly subnetId: string; readonly az: string }>;
  /** MOVE_TIMEOUT_SECONDS: how long a move's or restore's snapshot may stay pending (default 82800, 23 h). */
  readonly moveTimeoutSeconds: number;
  /** MAX_MOVE_ATTEMPTS: launches that may try to move the same volume (default 3). */
  readonly maxMoveAttempts: number;
  /** HOLDER_WAIT_SECONDS: how long the previous instance may hold the volume before a forced detach (default 1200). */
  readonly holderWaitSeconds: number;
  /** KEEP_LIFECYCLE_SNAPSHOTS: completed lifecycle snapshots kept per node (default 3). */
  readonly keepLifecycleSnapshots: number;
  /** LAUNCH_FAILURES_BEFORE_UNPIN: failed launches in a row into the home AZ before the group leaves it (default 3). */
  readonly launchFailuresBeforeUnpin: number;
  /** STATE_MACHINE_ARN: the workflow the starter starts (the starter only). */
  readonly stateMachineArn?: string;
  /** METRIC_NAMESPACE: CloudWatch namespace of the EMF metrics (default `casper-node`). */
  readonly metricNamespace: string;
  /**
   * SEED_SNAPSHOT_ID: a snapshot (of this account, or shared with it) a new
   * volume starts from when the node has neither a volume nor a completed
   * snapshot of its own (none when empty).
   */
  readonly seedSnapshotId?: string;
  /**
   * MEMBER_SLOTS: 0 (default) for a single node; 1 to 20 for a fleet (pool
   * mode): the number of member slots, `casper:member=<0..N-1>`.
   */
  readonly memberSlots: number;
}

/** Thrown for a missing or malformed environment variable. */
export class LifecycleConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LifecycleConfigError';
  }
}

type Env = Record<string, string | undefined>;

function envText(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function envInt(env: Env, name: string, fallback: number | undefined, min: number, max: number): number {
  const text = envText(env, name);
  if (text === undefined) {
    if (fallback === undefined) throw new LifecycleConfigError(`${name} is required`);
    return fallback;
  }
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new LifecycleConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** `snap-` and 8 or 17 hexadecimal digits. */
export const SNAPSHOT_ID_PATTERN = /^snap-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

function parseSubnets(text: string | undefined): Array<{ subnetId: string; az: string }> {
  if (!text) return [];
  return text.split(',').map((entry) => {
    const m = /^\s*(subnet-[0-9a-f]+)=([a-z0-9-]+)\s*$/.exec(entry);
    if (!m) throw new LifecycleConfigError(`GROUP_SUBNETS entries must be subnet-<id>=<availability zone>, got ${JSON.stringify(entry)}`);
    return { subnetId: m[1], az: m[2] };
  });
}

/** Reads and validates the configuration from environment variables. */
export function configFromEnv(env: Env): LifecycleConfig {
  const nodeName = envText(env, 'NODE_NAME');
  if (!nodeName) throw new LifecycleConfigError('NODE_NAME is required');
  const keep = (envText(env, 'KEEP_OLD_VOLUME') ?? 'false').toLowerCase();
  if (keep !== 'true' && keep !== 'false') {
    throw new LifecycleConfigError(`KEEP_OLD_VOLUME must be true or false, got ${JSON.stringify(env.KEEP_OLD_VOLUME)}`);
  }
  const seedSnapshotId = envText(env, 'SEED_SNAPSHOT_ID');
  if (seedSnapshotId !== undefined && !SNAPSHOT_ID_PATTERN.test(seedSnapshotId)) {
    throw new LifecycleConfigError(`SEED_SNAPSHOT_ID must be snap- and 8 or 17 hexadecimal digits, got ${JSON.stringify(seedSnapshotId)}`);
  }
  return {
    nodeName,
    volumeSizeGiB: envInt(env, 'VOLUME_SIZE_GIB', undefined, 1, 65536),
    volumeIops: envInt(env, 'VOLUME_IOPS', 3000, 3000, 80000),
    volumeThroughputMiBps: envInt(env, 'VOLUME_THROUGHPUT_MIBPS', 125, 125, 2000),
    volumeKmsKeyId: envText(env, 'VOLUME_KMS_KEY_ID'),
    deviceName: envText(env, 'DEVICE_NAME') ?? '/dev/sdf',
    instanceTagKey: envText(env, 'INSTANCE_TAG_KEY') ?? 'casper:data-volume',
    elasticIpAllocationId: envText(env, 'ELASTIC_IP_ALLOCATION_ID'),
    keepOldVolume: keep === 'true',
    groupSubnets: parseSubnets(envText(env, 'GROUP_SUBNETS')),
    moveTimeoutSeconds: envInt(env, 'MOVE_TIMEOUT_SECONDS', 82_800, 60, 165_600),
    maxMoveAttempts: envInt(env, 'MAX_MOVE_ATTEMPTS', 3, 1, 10),
    holderWaitSeconds: envInt(env, 'HOLDER_WAIT_SECONDS', 1200, 60, 7200),
    keepLifecycleSnapshots: envInt(env, 'KEEP_LIFECYCLE_SNAPSHOTS', 3, 1, 100),
    launchFailuresBeforeUnpin: envInt(env, 'LAUNCH_FAILURES_BEFORE_UNPIN', 3, 1, 20),
    stateMachineArn: envText(env, 'STATE_MACHINE_ARN'),
    metricNamespace: envText(env, 'METRIC_NAMESPACE') ?? 'casper-node',
    seedSnapshotId,
    memberSlots: envInt(env, 'MEMBER_SLOTS', 0, 0, MAX_MEMBER_SLOTS),
  };
}

/** `detail` of an EventBridge Auto Scaling lifecycle action event. */
export interface LifecycleActionDetail {
  readonly LifecycleActionToken: string;
  readonly AutoScalingGroupName: string;
  readonly LifecycleHookName: string;
  readonly EC2InstanceId: string;
  readonly LifecycleTransition: string;
}

/** EventBridge event from `aws.autoscaling`: a lifecycle action or a failed launch. */
export interface AutoScalingEvent {
  readonly 'id'?: string;
  readonly 'source'?: string;
  readonly 'detail-type'?: string;
  readonly 'time'?: string;
  readonly 'detail'?: Partial<LifecycleActionDetail> & {
    readonly StatusCode?: string;
    readonly StatusMessage?: string;
    readonly Details?: Record<string, string>;
  };
}

/** What the workflow did. */
export type LifecycleAction =
  | 'already-attached' // a retried action: the volume was attached to the instance already
  | 'attached' // a volume in the instance's AZ, reattached in place
  | 'released-and-attached' // waited for the previous instance to let go
  | 'moved' // snapshot + new volume in the instance's AZ
  | 'restored' // from the newest completed snapshot
  | 'created' // empty volume
  | 'seeded' // from SEED_SNAPSHOT_ID (the node had no volume and no completed snapshot)
  | 'relaunch-home' // the instance landed outside the volume's usable home AZ: group pinned there, launch abandoned
  | 'snapshot-started' // termination snapshot
  | 'no-volume'; // termination without a data volume

export type Phase =
  | 'instance' | 'claim' | 'confirm-claim' | 'choose' | 'release' | 'move' | 'restore' | 'wait-snapshot' | 'create-volume' | 'wait-volume'
  | 'prepare' | 'wait-grow' | 'attach' | 'wait-attached' | 'finish' | 'terminate';

/** The workflow's state: the input and output of every step. */
export interface LifecycleState {
  readonly detail: LifecycleActionDetail;
  readonly transition: 'LAUNCHING' | 'TERMINATING';
  /** When the workflow started (epoch ms). */
  readonly startedAt: number;
  readonly phase: Phase;
  /** When the current phase started (epoch ms). */
  readonly phaseSince: number;
  /** `wait`: wait `waitSeconds` and call again; `done` or `abandoned`: the action is completed. */
  readonly status: 'wait' | 'done' | 'abandoned';
  readonly waitSeconds: number;
  /** NotFound or empty answers for the current phase's resource so far. */
  readonly missing: number;
  readonly steps: number;
  readonly az?: string;
  readonly volumeId?: string;
  readonly snapshotId?: string;
  /** The volume a move copies. */
  readonly sourceVolumeId?: string;
  /** The instance that holds the volume (`release`). */
  readonly holderId?: string;
  readonly detachForced?: boolean;
  readonly action?: LifecycleAction;
  readonly oldVolumesDeleted?: string[];
  readonly snapshotsPruned?: string[];
  readonly pinnedTo?: string;
  /** Pool mode: the member slot claimed (`confirm-claim`) or taken (from `choose` on). */
  readonly slot?: number;
  /** Pool mode: slots claimed so far. */
  readonly claimTries?: number;
  readonly error?: string;
}

/** Injection points, for tests and the Lambda entry points. */
export interface LifecycleOptions {
  /** @default configFromEnv(env) */
  readonly config?: LifecycleConfig;
  /** @default process.env */
  readonly env?: Env;
  readonly ec2?: EC2Client;
  readonly autoScaling?: AutoScalingClient;
  readonly sfn?: SFNClient;
  /** Clock in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** @default console.log */
  readonly log?: (line: string) => void;
  /** @default console.error */
  readonly logError?: (line: string) => void;
  /** EMF lines. @default process.stdout.write */
  readonly emitMetric?: (line: string) => void;
}

const TRANSITIONS = new Map<string, 'LAUNCHING' | 'TERMINATING'>([[LAUNCHING, 'LAUNCHING'], [TERMINATING, 'TERMINATING']]);
const GONE_VOLUME_STATES = new Set(['deleting', 'deleted', 'error']);

function resolveOptions(options: LifecycleOptions) {
  let config = options.config;
  return {
    // Read on first use, so that a bad value fails inside a step (which then abandons).
    get config(): LifecycleConfig {
      config ??= configFromEnv(options.env ?? process.env);
      return config;
    },
    /** What the failure metric needs, even when the configuration cannot be read. */
    metricTarget(): { namespace: string; nodeName: string } {
      try {
        return { namespace: this.config.metricNamespace, nodeName: this.config.nodeName };
      } catch {
        const env = options.env ?? process.env;
        return { namespace: envText(env, 'METRIC_NAMESPACE') ?? 'casper-node', nodeName: envText(env, 'NODE_NAME') ?? 'unknown' };
      }
    },
    ec2: options.ec2 ?? new EC2Client({}),
    autoScaling: options.autoScaling ?? new AutoScalingClient({}),
    now: options.now ?? Date.now,
    log: options.log ?? ((line: string) => console.log(line)),
    logError: options.logError ?? ((line: string) => console.error(line)),
    emitMetric: options.emitMetric ?? ((line: string) => { process.stdout.write(line + '\n'); }),
  };
}

// ------------------------------------------------------------------ starter

/** The execution name of a lifecycle action: the same for every duplicate of its event. */
export function executionName(detail: LifecycleActionDetail): string {
  const kind = detail.LifecycleTransition === LAUNCHING ? 'launch' : 'terminate';
  const digest = createHash('sha256').update(detail.LifecycleActionToken).digest('hex').slice(0, 40);
  return `${kind}-${detail.EC2InstanceId}-${digest}`.slice(0, 80);
}

/** What the starter did with one event. */
export interface StartResult {
  readonly outcome: 'started' | 'duplicate' | 'ignored' | 'launch-failure-noted' | 'unpinned';
  readonly executionName?: string;
  /** The execution: for a duplicate event while it runs, Step Functions returns the same one. */
  readonly executionArn?: string;
  readonly detail?: string;
}

/**
 * The starter: one workflow execution per lifecycle action (duplicates of the
 * event are dropped by the execution name), and the home-AZ check after a
 * failed launch. Throws on AWS errors so that EventBridge retries.
 */
export async function startLifecycle(event: AutoScalingEvent, options: LifecycleOptions = {}): Promise<StartResult> {
  const o = resolveOptions(options);
  const detail = event?.detail;
  if (event?.['detail-type'] === 'EC2 Instance Launch Unsuccessful' && detail?.AutoScalingGroupName) {
    return handleLaunchFailure(detail.AutoScalingGroupName, o);
  }
  const transition = TRANSITIONS.get(detail?.LifecycleTransition ?? '');
  const required = [detail?.LifecycleActionToken, detail?.EC2InstanceId, detail?.AutoScalingGroupName, detail?.LifecycleHookName];
  if (!detail || !transition || required.some((v) => !v)) {
    o.log(`lifecycle: ignoring event ${JSON.stringify(event?.['detail-type'] ?? null)}: not a lifecycle action or failed launch`);
    return { outcome: 'ignored' };
  }
  if (!o.config.stateMachineArn) throw new LifecycleConfigError('STATE_MACHINE_ARN is required');
  const action: LifecycleActionDetail = {
    LifecycleActionToken: detail.LifecycleActionToken!,
    AutoScalingGroupName: detail.AutoScalingGroupName!,
    LifecycleHookName: detail.LifecycleHookName!,
    EC2InstanceId: detail.EC2InstanceId!,
    LifecycleTransition: detail.LifecycleTransition!,
  };
  const name = executionName(action);
  const sfn = options.sfn ?? new SFNClient({});
  let executionArn: string | undefined;
  try {
    // Same name and input as a running execution: Step Functions returns that execution.
    executionArn = (await sfn.send(new StartExecutionCommand({
      stateMachineArn: o.config.stateMachineArn, name, input: JSON.stringify({ detail: action }),
    }))).executionArn;
  } catch (err) {
    // ...and a finished one answers ExecutionAlreadyExists.
    if (errorName(err) === 'ExecutionAlreadyExists') {
      o.log(`lifecycle ${transition} instance ${action.EC2InstanceId}: execution ${name} exists already (duplicate event)`);
      return { outcome: 'duplicate', executionName: name };
    }
    throw err;
  }
  o.log(`lifecycle ${transition} instance ${action.EC2InstanceId}: execution ${name} (${executionArn})`);
  return { outcome: 'started', executionName: name, executionArn };
}

async function describeGroup(groupName: string, o: ReturnType<typeof resolveOptions>): Promise<AutoScalingGroup | undefined> {
  const out = await o.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }));
  return out.AutoScalingGroups?.[0];
}

async function groupSubnetIds(groupName: string, o: ReturnType<typeof resolveOptions>): Promise<string[] | undefined> {
  const group = await describeGroup(groupName, o);
  if (!group) return undefined;
  return (group.VPCZoneIdentifier ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

async function setGroupSubnets(groupName: string, subnetIds: string[], o: ReturnType<typeof resolveOptions>): Promise<void> {
  await o.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, VPCZoneIdentifier: subnetIds.join(',') }));
}

async function handleLaunchFailure(groupName: string, o: ReturnType<typeof resolveOptions>): Promise<StartResult> {
  const { config } = o;
  if (config.memberSlots > 0) {
    o.log(`lifecycle: failed launch in fleet group ${groupName}: members land in any AZ, nothing to unpin`);
    return { outcome: 'launch-failure-noted', detail: 'fleet' };
  }
  const current = await groupSubnetIds(groupName, o);
  const azs = new Set((current ?? []).map((id) => config.groupSubnets.find((s) => s.subnetId === id)?.az));
  const [home] = [...azs];
  if (!current || azs.size !== 1 || !home) {
    o.log(`lifecycle: failed launch in group ${groupName}, which is not pinned to one AZ: Auto Scaling tries the others`);
    return { outcome: 'launch-failure-noted' };
  }
  const activities = (await o.autoScaling.send(new DescribeScalingActivitiesCommand({
    AutoScalingGroupName: groupName, MaxRecords: 20,
  }))).Activities ?? [];
  // Newest first: count the failed launches before the last successful one.
  let failures = 0;
  for (const a of activities) {
    if (!/^Launching/i.test(a.Description ?? '')) continue;
    if (a.StatusCode === 'Failed' || a.StatusCode === 'Cancelled') failures++;
    else if (a.StatusCode === 'Successful') break;
  }
  if (failures < config.launchFailuresBeforeUnpin) {
    o.log(`lifecycle: ${failures} failed launch(es) in a row into home AZ ${home} of group ${groupName}; leaving it after ${config.launchFailuresBeforeUnpin}`);
    return { outcome: 'launch-failure-noted', detail: `${failures} failures` };
  }
  const others = config.groupSubnets.filter((s) => s.az !== home).map((s) => s.subnetId);
  if (others.length === 0) {
    o.log(`lifecycle: home AZ ${home} keeps failing but the group has no other subnet`);
    return { outcome: 'launch-failure-noted', detail: 'no other subnet' };
  }
  await setGroupSubnets(groupName, others, o);
  o.emitMetric(emfLine(config.metricNamespace, config.nodeName, [{ name: 'LifecycleHomeAzLeft', value: 1, unit: 'Count' }], { home, failures }));
  o.log(`lifecycle: ${failures} failed launches in a row into ${home}: group ${groupName} now launches into ${others.join(', ')} (the data moves)`);
  return { outcome: 'unpinned', detail: home };
}

// ----------------------------------------------------------------- workflow

/** The workflow's first step: the state of a new execution. */
export function initialState(input: { detail: LifecycleActionDetail }, now: number): LifecycleState {
  const transition = TRANSITIONS.get(input?.detail?.LifecycleTransition ?? '');
  if (!transition) throw new Error(`not a lifecycle action: ${JSON.stringify(input?.detail?.LifecycleTransition ?? null)}`);
  return {
    detail: input.detail,
    transition,
    startedAt: now,
    phase: transition === 'LAUNCHING' ? 'instance' : 'terminate',
    phaseSince: now,
    status: 'wait',
    waitSeconds: 0,
    missing: 0,
    steps: 0,
  };
}

/** Thrown for a state the workflow cannot go on from: the action is abandoned. */
export class LifecycleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LifecycleError';
  }
}

/**
 * One step of the workflow: advances through phases until one must wait or
 * the action is completed. Errors abandon the action (never thrown), except
 * when even ABANDON cannot be sent: then the workflow's retry and catch take over.
 */
export async function advanceLifecycle(
  input: LifecycleState | { detail: LifecycleActionDetail }, options: LifecycleOptions = {},
): Promise<LifecycleState> {
  const o = resolveOptions(options);
  let state: LifecycleState = 'phase' in input ? input : initialState(input, o.now());
  try {
    const run = new Step(o, state);
    for (let i = 0; i < 20; i++) {
      state = await run.step(state);
      if (state.status !== 'wait' || state.waitSeconds > 0) return state;
    }
    return { ...state, status: 'wait', waitSeconds: 1 };
  } catch (err) {
    return abandonLifecycle({ ...state, error: oneLine(err) }, options);
  }
}

/** Abandons the action: ERROR line, `LifecycleFailures`, ABANDON. Also the workflow's catch-all step. */
export async function abandonLifecycle(
  state: LifecycleState, options: LifecycleOptions = {},
): Promise<LifecycleState> {
  const o = resolveOptions(options);
  const message = state.error ?? 'unknown error';
  const d = state.detail;
  o.logError(`ERROR lifecycle ${state.transition} instance ${d.EC2InstanceId}: ${message}`);
  const target = o.metricTarget();
  o.emitMetric(emfLine(target.namespace, target.nodeName, [{ name: 'LifecycleFailures', value: 1, unit: 'Count' }],
    { transition: state.transition, instanceId: d.EC2InstanceId, phase: state.phase, error: message }));
  await complete(o, d, 'ABANDON');
  return { ...state, status: 'abandoned', waitSeconds: 0, error: message };
}

async function complete(o: ReturnType<typeof resolveOptions>, d: LifecycleActionDetail, result: 'CONTINUE' | 'ABANDON'): Promise<boolean> {
  try {
    await o.autoScaling.send(new CompleteLifecycleActionCommand({
      AutoScalingGroupName: d.AutoScalingGroupName,
      LifecycleHookName: d.LifecycleHookName,
      LifecycleActionToken: d.LifecycleActionToken,
      InstanceId: d.EC2InstanceId,
      LifecycleActionResult: result,
    }));
    o.log(`lifecycle instance ${d.EC2InstanceId}: completed ${result}`);
    return true;
  } catch (err) {
    if (errorName(err) === 'ValidationError' && /no active lifecycle action/i.test(String((err as Error).message))) {
      o.log(`lifecycle instance ${d.EC2InstanceId}: lifecycle action already completed (${oneLine(err)})`);
      return false;
    }
    throw err;
  }
}

/** What the workflow sends its step function. */
export interface StepInput {
  readonly op: 'advance' | 'abandon';
  /** The state, or the execution's input `{ detail }` on the first step. */
  readonly state: LifecycleState | { readonly detail: LifecycleActionDetail };
  /** `abandon`: the error the workflow caught (`{ Error, Cause }`). */
  readonly error?: { readonly Error?: string; readonly Cause?: string };
}

/** The step function: `advance`, or `abandon` from the workflow's catch-all. */
export async function dispatchStep(input: StepInput, options: LifecycleOptions = {}): Promise<LifecycleState> {
  if (input.op === 'abandon') {
    const error = [input.error?.Error, input.error?.Cause].filter(Boolean).join(': ') || 'the workflow failed';
    const state = 'phase' in input.state ? input.state : initialState(input.state, (options.now ?? Date.now)());
    return abandonLifecycle({ ...state, error }, options);
  }
  if (input.op !== 'advance') throw new LifecycleError(`unknown op ${JSON.stringify(input.op)}`);
  return advanceLifecycle(input.state, options);
}

function time(value: Date | string | undefined): number {
  return value ? new Date(value).getTime() : 0;
}

/** Newest first by CreateTime; equal times by the smaller volume id. */
function byNewestVolume(a: Volume, b: Volume): number {
  return time(b.CreateTime) - time(a.CreateTime) || (a.VolumeId ?? '').localeCompare(b.VolumeId ?? '');
}

/** Newest first by StartTime; equal times by the smaller snapshot id. */
function byNewestSnapshot(a: Snapshot, b: Snapshot): number {
  return time(b.StartTime) - time(a.StartTime) || (a.SnapshotId ?? '').localeCompare(b.SnapshotId ?? '');
}

/** A member slot written in a tag (`casper:member`, `casper:member-claim`). */
function parseSlot(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,2}$/.test(text) ? Number(text) : undefined;
}

function slotOf(volume: Volume): number | undefined {
  return parseSlot(tagValue(volume.Tags, TAG_MEMBER));
}

/** The instance a volume is attached to (or attaching to, or detaching from). */
function holderOf(volume: Volume): string | undefined {
  return volume.Attachments?.find((a) => a.State !== 'detached')?.InstanceId;
}

function attachmentTo(volume: Volume, instanceId: string) {
  return volume.Attachments?.find((a) => a.InstanceId === instanceId && a.State !== 'detached');
}

/** A volume's tags without those that describe its attachment (they would be wrong on a copy). */
function withoutAttachmentTags(tags: Tag[] | undefined): Tag[] {
  return (tags ?? []).filter((t) => t.Key !== TAG_ATTACHED_AT && t.Key !== TAG_INSTANCE);
}

function mergeTags(...sets: Array<Tag[] | Record<string, string>>): Tag[] {
  const merged = new Map<string, string>();
  for (const set of sets) {
    const entries = Array.isArray(set) ? set.map((t) => [t.Key ?? '', t.Value ?? ''] as const) : Object.entries(set);
    for (const [key, value] of entries) {
      // aws:* tags are reserved; they cannot be copied.
      if (key && !key.startsWith('aws:')) merged.set(key, value);
    }
  }
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
}

/** Pool mode: what the fleet looks like to a launching or terminating instance. */
interface Fleet {
  /** The fleet's volumes (`casper:node`, `casper:role=data`) that are not being deleted. */
  readonly volumes: Volume[];
  /** The other live members: pending or running, and not being terminated by the group. */
  readonly members: Instance[];
}

/** The phases' logic, for one invocation. */
class Step {
  private readonly config: LifecycleConfig;
  private readonly ec2: EC2Client;
  private readonly instanceId: string;

  constructor(private readonly o: ReturnType<typeof resolveOptions>, state: LifecycleState) {
    this.config = o.config;
    this.ec2 = o.ec2;
    this.instanceId = state.detail.EC2InstanceId;
  }

  /** A fleet: MEMBER_SLOTS > 0. */
  private get pool(): boolean {
    return this.config.memberSlots > 0;
  }

  public async step(s: LifecycleState): Promise<LifecycleState> {
    const next = { ...s, steps: s.steps + 1 };
    switch (s.phase) {
      case 'instance': return this.instance(next);
      case 'claim': return this.claim(next);
      case 'confirm-claim': return this.confirmClaim(next);
      case 'choose': return this.pool ? this.chooseMemberVolume(next) : this.choose(next);
      case 'release': return this.release(next);
      case 'move': return this.move(next);
      case 'restore': return this.restore(next);
      case 'wait-snapshot': return this.waitSnapshot(next);
      case 'create-volume': return this.createVolume(next);
      case 'wait-volume': return this.waitVolume(next);
      case 'prepare': return this.prepare(next);
      case 'wait-grow': return this.waitGrow(next);
      case 'attach': return this.attach(next);
      case 'wait-attached': return this.waitAttached(next);
      case 'finish': return this.finish(next);
      case 'terminate': return this.terminate(next);
      default: throw new LifecycleError(`unknown phase ${JSON.stringify(s.phase)}`);
    }
  }

  // ------------------------------------------------------------ transitions

  private go(s: LifecycleState, phase: Phase, changes: Partial<LifecycleState> = {}): LifecycleState {
    return { ...s, ...changes, phase, phaseSince: this.o.now(), status: 'wait', waitSeconds: 0, missing: 0 };
  }

  /** Waits `seconds`, unless the phase has lasted longer than `limitSeconds`. */
  private wait(s: LifecycleState, seconds: number, limitSeconds: number, what: string): LifecycleState {
    const elapsed = (this.o.now() - s.phaseSince) / 1000;
    if (elapsed > limitSeconds) throw new LifecycleError(`gave up waiting for ${what} after ${Math.round(elapsed)} s (limit ${limitSeconds} s)`);
    return { ...s, status: 'wait', waitSeconds: seconds };
  }

  /** Something just created or launched is not visible yet: EC2 is eventually consistent. */
  private missing(s: LifecycleState, what: string): LifecycleState {
    if (s.missing + 1 > MAX_MISSING) throw new LifecycleError(`${what} not found after ${MAX_MISSING} tries`);
    this.log(`${what} not found yet (try ${s.missing + 1} of ${MAX_MISSING}): waiting, EC2 is eventually consistent`);
    return { ...s, status: 'wait', waitSeconds: Math.min(60, 5 * 2 ** s.missing), missing: s.missing + 1 };
  }

  // ---------------------------------------------------------------- launch

  private async instance(s: LifecycleState): Promise<LifecycleState> {
    const instance = await this.describeInstance(this.instanceId);
    if (!instance) return this.missing(s, `instance ${this.instanceId}`);
    const state = instance.State?.Name;
    if (state === 'pending') return this.wait({ ...s, missing: 0 }, 5, INSTANCE_WAIT_SECONDS, `instance ${this.instanceId} to run`);
    if (state !== 'running') throw new LifecycleError(`instance ${this.instanceId} is ${state}, not launching`);
    const az = instance.Placement?.AvailabilityZone;
    if (!az) throw new LifecycleError(`instance ${this.instanceId} has no Availability Zone`);
    return this.go(s, this.pool ? 'claim' : 'choose', { az });
  }

  // ------------------------------------------------------- pool mode: slots

  /** Picks a member slot and claims it; the claim is checked after CLAIM_SETTLE_SECONDS. */
  private async claim(s: LifecycleState): Promise<LifecycleState> {
    const self = await this.describeInstance(this.instanceId);
    const taken = parseSlot(tagValue(self?.Tags, TAG_MEMBER));
    if (taken !== undefined && taken < this.config.memberSlots) {
      this.log(`the instance is member ${taken} already (a retried action)`);
      return this.go(s, 'choose', { slot: taken });
    }
    const tries = (s.claimTries ?? 0) + 1;
    if (tries > MAX_CLAIM_TRIES) throw new LifecycleError(`lost a contested member slot ${MAX_CLAIM_TRIES} times`);
    const fleet = await this.fleet(s);
    const pick = this.pickSlot(s.az!, fleet);
    if (!pick) {
      this.log(`all ${this.config.memberSlots} member slots are held by live members: waiting for one to leave`);
      return this.wait(s, 30, this.config.holderWaitSeconds + 600, `a free member slot (all ${this.config.memberSlots} are held)`);
    }
    await this.ec2.send(new CreateTagsCommand({ Resources: [this.instanceId], Tags: [{ Key: TAG_MEMBER_CLAIM, Value: String(pick.slot) }] }));
    this.log(`claiming member slot ${pick.slot} (${pick.why}); checking the other instances' claims in ${CLAIM_SETTLE_SECONDS} s`);
    return { ...this.go(s, 'confirm-claim', { slot: pick.slot, claimTries: tries }), waitSeconds: CLAIM_SETTLE_SECONDS };
  }

  /** Keeps the claimed slot unless another live instance has taken it or claims it with a lower instance id. */
  private async confirmClaim(s: LifecycleState): Promise<LifecycleState> {
    const slot = s.slot!;
    const fleet = await this.fleet(s);
    const rival = fleet.members.find((i) => parseSlot(tagValue(i.Tags, TAG_MEMBER)) === slot
      || (parseSlot(tagValue(i.Tags, TAG_MEMBER_CLAIM)) === slot && (i.InstanceId ?? '') < this.instanceId));
    const members = new Set(fleet.members.map((i) => i.InstanceId));
    const held = fleet.volumes.find((v) => slotOf(v) === slot && members.has(holderOf(v)));
    if (rival || held) {
      this.log(`member slot ${slot} is ${rival ? `claimed by instance ${rival.InstanceId}` : `held by instance ${holderOf(held!)}`}: picking again`);
      return this.go(s, 'claim', { slot: undefined });
    }
    // The bootstrap reads this tag once casper:data-volume appears: it is written first.
    await this.ec2.send(new CreateTagsCommand({ Resources: [this.instanceId], Tags: [{ Key: TAG_MEMBER, Value: String(slot) }] }));
    this.log(`member slot ${slot} is this instance's`);
    return this.go(s, 'choose', { slot });
  }

  /**
   * The slot to claim: none a live member holds; then (a) an `available`
   * volume in the AZ, (b) a volume in the AZ held by an instance on its way
   * out, (c) no volume (lowest first), (d) volumes in other AZs only.
   */
  private pickSlot(az: string, fleet: Fleet): { slot: number; why: string } | undefined {
    const held = new Set<number>();
    for (const i of fleet.members) {
      for (const key of [TAG_MEMBER, TAG_MEMBER_CLAIM]) {
        const slot = parseSlot(tagValue(i.Tags, key));
        if (slot !== undefined) held.add(slot);
      }
    }
    const members = new Set(fleet.members.map((i) => i.InstanceId));
    for (const v of fleet.volumes) if (slotOf(v) !== undefined && members.has(holderOf(v))) held.add(slotOf(v)!);
    const ranked = [...Array(this.config.memberSlots).keys()].filter((slot) => !held.has(slot)).map((slot) => {
      const volumes = fleet.volumes.filter((v) => slotOf(v) === slot);
      const here = volumes.filter((v) => v.AvailabilityZone === az);
      if (here.some((v) => v.State === 'available' || v.State === 'creating')) return { slot, rank: 0, why: `its volume in ${az} is free` };
      if (here.length > 0) return { slot, rank: 1, why: `its volume in ${az} is held by instance ${holderOf(here[0])}, which is leaving` };
      if (volumes.length === 0) return { slot, rank: 2, why: 'it has no volume yet' };
      return { slot, rank: 3, why: `its volume is in ${[...new Set(volumes.map((v) => v.AvailabilityZone))].join(', ')}` };
    }).sort((a, b) => a.rank - b.rank || a.slot - b.slot);
    return ranked[0];
  }

  /** Pool mode: the claimed slot's volume in the AZ, or a new one. */
  private async chooseMemberVolume(s: LifecycleState): Promise<LifecycleState> {
    const az = s.az!;
    const slot = s.slot!;
    const fleet = await this.fleet(s);
    const mine = fleet.volumes.filter((v) => attachmentTo(v, this.instanceId)).sort(byNewestVolume);
    if (mine.length > 0) {
      this.log(`volume ${mine[0].VolumeId} is attached to the instance already (a retried action)`);
      return this.go(s, 'wait-attached', { volumeId: mine[0].VolumeId, action: s.action ?? 'already-attached' });
    }
    const members = new Set(fleet.members.map((i) => i.InstanceId));
    const volumes = fleet.volumes.filter((v) => slotOf(v) === slot).sort(byNewestVolume);
    const busy = volumes.find((v) => members.has(holderOf(v)));
    if (busy) throw new LifecycleError(`member slot ${slot}'s volume ${busy.VolumeId} is attached to live member ${holderOf(busy)}: not taking it`);
    const here = volumes.filter((v) => v.AvailabilityZone === az);
    const free = here.find((v) => v.State === 'available');
    if (free) {
      this.log(`member ${slot}'s volume ${free.VolumeId} is available in ${az}: reattaching it in place`);
      return this.go(s, 'prepare', { volumeId: free.VolumeId, action: s.action ?? 'attached' });
    }
    const creating = here.find((v) => v.State === 'creating');
    if (creating) return this.wait(s, 10, VOLUME_WAIT_SECONDS, `volume ${creating.VolumeId} to be created`);
    const leaving = here.find((v) => holderOf(v));
    if (leaving) return this.enterRelease(s, leaving.VolumeId!, holderOf(leaving)!);
    if (volumes.length > 0) {
      this.log(`member ${slot}'s volume ${volumes.map((v) => `${v.VolumeId} (${v.AvailabilityZone})`).join(', ')} is in another AZ: `
        + `a new volume in ${az} from the fleet's newest snapshot; the old one goes once its data is in a snapshot`);
    }
    return this.go(s, 'restore');
  }

  /** The fleet's volumes, and its other live members (pending or running, not being terminated by the group). */
  private async fleet(s: LifecycleState): Promise<Fleet> {
    const volumes = (await this.nodeVolumes()).filter((v) => !GONE_VOLUME_STATES.has(v.State ?? ''));
    const instances = await this.describeInstances([
      { Name: `tag:${TAG_NODE}`, Values: [this.config.nodeName] },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
    ]);
    const group = await describeGroup(s.detail.AutoScalingGroupName, this.o);
    const leaving = new Set((group?.Instances ?? []).filter((i) => /^Terminating/.test(i.LifecycleState ?? '')).map((i) => i.InstanceId));
    return { volumes, members: instances.filter((i) => i.InstanceId !== this.instanceId && !leaving.has(i.InstanceId)) };
  }

  private async choose(s: LifecycleState): Promise<LifecycleState> {
    const az = s.az!;
    const volumes = await this.nodeVolumes();
    const mine = volumes.filter((v) => attachmentTo(v, this.instanceId)).sort(byNewestVolume);
    if (mine.length > 0) {
      this.log(`volume ${mine[0].VolumeId} is attached to the instance already (a retried action)`);
      return this.go(s, 'wait-attached', { volumeId: mine[0].VolumeId, action: s.action ?? 'already-attached' });
    }
    const live = volumes.filter((v) => !GONE_VOLUME_STATES.has(v.State ?? ''));
    if (live.length === 0) return this.go(s, 'restore');
    const [newest] = await this.withoutSuperseded(live);
    const volumeId = newest.VolumeId!;
    if (newest.State === 'creating') return this.wait(s, 10, VOLUME_WAIT_SECONDS, `volume ${volumeId} to be created`);
    const holder = newest.Attachments?.find((a) => a.State !== 'detached')?.InstanceId;
    if (newest.AvailabilityZone === az) {
      if (holder) return this.enterRelease(s, volumeId, holder);
      this.log(`volume ${volumeId} is available in ${az}: reattaching it in place`);
      return this.go(s, 'prepare', { volumeId, action: s.action ?? 'attached' });
    }
    const home = newest.AvailabilityZone!;
    const zoneState = await this.zoneState(home);
    if (zoneState !== 'available') {
      this.log(`WARN volume ${volumeId} is in ${home}, whose state is ${zoneState}: restoring the newest completed snapshot into ${az}`);
      return this.go(s, 'restore', { sourceVolumeId: volumeId });
    }
    const groupSubnets = await groupSubnetIds(s.detail.AutoScalingGroupName, this.o);
    const homeSubnets = this.config.groupSubnets.filter((sn) => sn.az === home).map((sn) => sn.subnetId);
    let pinned = false;
    if (homeSubnets.length > 0 && (groupSubnets ?? []).some((id) => homeSubnets.includes(id))) {
      try {
        await setGroupSubnets(s.detail.AutoScalingGroupName, homeSubnets, this.o);
        pinned = true;
      } catch (err) {
        // Without the pin a relaunch could land here again: move the data instead.
        this.log(`WARN cannot pin group ${s.detail.AutoScalingGroupName} to ${home} (${oneLine(err)}): moving the volume instead`);
      }
    }
    if (pinned) {
      // The home AZ is usable: relaunch there and reattach in place rather than copy the data.
      this.log(`instance is in ${az} but the data volume ${volumeId} is in ${home}, which is usable: group pinned to ${home}, `
        + 'launch abandoned so that the group relaunches there');
      await complete(this.o, s.detail, 'ABANDON');
      this.metric('LifecycleRelaunchHome', { home, az });
      return { ...s, status: 'done', waitSeconds: 0, action: 'relaunch-home', volumeId, pinnedTo: home };
    }
    // A move copies the volume once its old instance has let go of it.
    if (holder) return this.enterRelease(s, volumeId, holder);
    this.log(`volume ${volumeId} is in ${home}, which the group no longer launches into: moving it to ${az}`);
    return this.go(s, 'move', { sourceVolumeId: volumeId });
  }

  /** Enters `release`: the old instance may take longer than the bootstrap's ordinary wait to let go. */
  private async enterRelease(s: LifecycleState, volumeId: string, holder: string): Promise<LifecycleState> {
    await this.tagPending();
    return this.go(s, 'release', { volumeId, holderId: holder });
  }

  private async release(s: LifecycleState): Promise<LifecycleState> {
    const volume = await this.volume(s.volumeId!);
    if (!volume) return this.missing(s, `volume ${s.volumeId}`);
    const attachment = volume.Attachments?.find((a) => a.State !== 'detached');
    if (volume.State === 'available' || !attachment) {
      this.log(`volume ${s.volumeId} is free`);
      return this.go(s, 'choose', { action: 'released-and-attached', holderId: undefined });
    }
    if (attachment.InstanceId === this.instanceId) return this.go(s, 'wait-attached', { action: 'already-attached' });
    const holderState = (await this.describeInstance(attachment.InstanceId!))?.State?.Name ?? 'terminated';
    const waited = (this.o.now() - s.phaseSince) / 1000;
    const force = holderState === 'terminated' || waited > this.config.holderWaitSeconds;
    if (force && !s.detachForced) {
      this.log(`${holderState === 'terminated' ? `instance ${attachment.InstanceId} is terminated` : `WARN instance ${attachment.InstanceId} `
        + `is still ${holderState} after ${Math.round(waited)} s`}: forcing the detach of ${s.volumeId}`);
      try {
        await this.ec2.send(new DetachVolumeCommand({
          VolumeId: s.volumeId, InstanceId: attachment.InstanceId, Device: attachment.Device, Force: true,
        }));
      } catch (err) {
        // Detaching already, or detached meanwhile: the next look tells.
        if (!['IncorrectState', 'InvalidAttachment.NotFound'].includes(errorName(err) ?? '')) throw err;
      }
      return { ...s, status: 'wait', waitSeconds: 5, detachForced: true };
    }
    if (!force) this.log(`volume ${s.volumeId} is held by instance ${attachment.InstanceId} (${holderState}): waiting for it to terminate`);
    return this.wait(s, 15, this.config.holderWaitSeconds + 600, `volume ${s.volumeId} to leave instance ${attachment.InstanceId}`);
  }

  private async move(s: LifecycleState): Promise<LifecycleState> {
    const source = await this.volume(s.sourceVolumeId!);
    if (!source) return this.missing(s, `volume ${s.sourceVolumeId}`);
    const attachedAt = time(tagValue(source.Tags, TAG_ATTACHED_AT));
    // A move snapshot a previous try left (taken after the volume's last attachment: it holds its newest data).
    const previous = (await this.describeSnapshots([
      ...this.nodeFilters(),
      { Name: `tag:${TAG_REASON}`, Values: ['move'] },
      { Name: `tag:${TAG_SOURCE_VOLUME}`, Values: [source.VolumeId!] },
    ])).filter((sn) => ['pending', 'completed'].includes(sn.State ?? '') && time(sn.StartTime) >= attachedAt).sort(byNewestSnapshot)[0];
    await this.tagPending();
    if (previous) {
      const attempts = Number(tagValue(previous.Tags, TAG_MOVE_ATTEMPTS) ?? '1') + 1;
      if (attempts > this.config.maxMoveAttempts) {
        await this.o.autoScaling.send(new SuspendProcessesCommand({ AutoScalingGroupName: s.detail.AutoScalingGroupName, ScalingProcesses: ['Launch'] }));
        this.metric('LifecycleMoveGaveUp', { snapshotId: previous.SnapshotId, attempts });
        throw new LifecycleError(`moving volume ${source.VolumeId} failed ${attempts - 1} times (MAX_MOVE_ATTEMPTS ${this.config.maxMoveAttempts}): `
          + `suspended the group's Launch process; snapshot ${previous.SnapshotId} holds the data`);
      }
      await this.ec2.send(new CreateTagsCommand({ Resources: [previous.SnapshotId!], Tags: [{ Key: TAG_MOVE_ATTEMPTS, Value: String(attempts) }] }));
      this.log(`adopting move snapshot ${previous.SnapshotId} of ${source.VolumeId} (${previous.State}, try ${attempts} of ${this.config.maxMoveAttempts})`);
      return this.go(s, 'wait-snapshot', { snapshotId: previous.SnapshotId, action: 'moved' });
    }
    const snapshot = await this.ec2.send(new CreateSnapshotCommand({
      VolumeId: source.VolumeId,
      Description: `casper node ${this.config.nodeName}: moving ${source.VolumeId} from ${source.AvailabilityZone} to ${s.az}`,
      TagSpecifications: [{
        ResourceType: 'snapshot',
        // The operator's tags (cost allocation, names) come along; the attachment's do not.
        Tags: mergeTags(withoutAttachmentTags(source.Tags), this.nodeTags(), {
          [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, [TAG_REASON]: 'move', [TAG_SOURCE_VOLUME]: source.VolumeId!, [TAG_MOVE_ATTEMPTS]: '1',
        }),
      }],
    }));
    this.log(`started move snapshot ${snapshot.SnapshotId} of ${source.VolumeId}`);
    return this.go(s, 'wait-snapshot', { snapshotId: snapshot.SnapshotId, action: 'moved' });
  }

  private async restore(s: LifecycleState): Promise<LifecycleState> {
    const snapshots = (await this.describeSnapshots(this.nodeFilters())).sort(byNewestSnapshot);
    const completed = snapshots.find((sn) => sn.State === 'completed');
    if (completed) {
      this.log(`restoring the newest completed snapshot ${completed.SnapshotId} (${completed.VolumeSize} GiB) into ${s.az}`);
      return this.go(s, 'create-volume', { snapshotId: completed.SnapshotId, action: 'restored' });
    }
    const pending = this.pool ? undefined : snapshots.find((sn) => sn.State === 'pending');
    if (pending) {
      this.log(`no completed snapshot: waiting for pending snapshot ${pending.SnapshotId}`);
      await this.tagPending();
      return this.go(s, 'wait-snapshot', { snapshotId: pending.SnapshotId, action: 'restored' });
    }
    if (s.sourceVolumeId) throw new LifecycleError(`volume ${s.sourceVolumeId} is unreachable and the node has no snapshot to restore`);
    return this.seedOrEmpty(s, this.pool ? 'no completed fleet snapshot' : 'no data volume and no snapshot');
  }

  /** A new volume without data of the node's own: from the seed snapshot when it is usable, else empty. */
  private async seedOrEmpty(s: LifecycleState, why: string): Promise<LifecycleState> {
    const seedId = this.config.seedSnapshotId;
    if (seedId) {
      const seed = await this.snapshotById(seedId);
      if (seed?.State === 'completed') {
        this.log(`${why}: creating the volume in ${s.az} from seed snapshot ${seedId} (${seed.VolumeSize} GiB)`);
        return this.go(s, 'create-volume', { snapshotId: seedId, action: 'seeded' });
      }
      this.log(`WARN ${why}, and seed snapshot ${seedId} is ${seed ? seed.State : 'not found (or not shared with this account)'}: `
        + 'creating an empty volume instead');
    }
    this.log(`${why}: creating an empty ${this.config.volumeSizeGiB} GiB gp3 volume in ${s.az}`);
    return this.go(s, 'create-volume', { snapshotId: undefined, action: 'created' });
  }

  private async waitSnapshot(s: LifecycleState): Promise<LifecycleState> {
    const [snapshot] = await this.describeSnapshots([{ Name: 'snapshot-id', Values: [s.snapshotId!] }]);
    if (!snapshot) return this.missing(s, `snapshot ${s.snapshotId}`);
    if (snapshot.State === 'completed') return this.go(s, 'create-volume');
    if (snapshot.State === 'error') throw new LifecycleError(`snapshot ${s.snapshotId} failed: ${snapshot.StateMessage ?? 'state error'}`);
    const elapsed = (this.o.now() - s.phaseSince) / 1000;
    this.log(`snapshot ${s.snapshotId} is ${snapshot.State} (${snapshot.Progress || 'no progress yet'}) after ${Math.round(elapsed)} s`);
    // Poll often at first (incremental snapshots are quick), then every 5 minutes.
    const interval = elapsed < 300 ? 30 : 300;
    return this.wait({ ...s, missing: 0 }, interval, this.config.moveTimeoutSeconds, `snapshot ${s.snapshotId} to complete`);
  }

  private async createVolume(s: LifecycleState): Promise<LifecycleState> {
    const az = s.az!;
    let size = this.config.volumeSizeGiB;
    let type = 'gp3';
    let iops: number | undefined = this.config.volumeIops;
    let throughput: number | undefined = this.config.volumeThroughputMiBps;
    let kmsKeyId = this.config.volumeKmsKeyId;
    let tags: Tag[] = mergeTags(this.nodeTags(), { [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE });
    if (s.snapshotId && s.action === 'seeded') {
      // Not the node's snapshot (maybe another account's): its size, the configured type, performance and key.
      const seed = await this.snapshotById(s.snapshotId);
      if (!seed) return this.missing(s, `seed snapshot ${s.snapshotId}`);
      size = Math.max(size, seed.VolumeSize ?? 0);
      tags = mergeTags(tags, { [TAG_SOURCE_SNAPSHOT]: s.snapshotId });
    } else if (s.snapshotId) {
      const [snapshot] = await this.describeSnapshots([{ Name: 'snapshot-id', Values: [s.snapshotId] }]);
      if (!snapshot) return this.missing(s, `snapshot ${s.snapshotId}`);
      size = Math.max(size, snapshot.VolumeSize ?? 0);
      kmsKeyId = (snapshot.Encrypted ? snapshot.KmsKeyId : undefined) ?? kmsKeyId;
      tags = mergeTags(tags, { [TAG_SOURCE_SNAPSHOT]: s.snapshotId });
      if (s.action === 'moved' && s.sourceVolumeId) {
        // A move keeps what the operator gave the volume: type, performance, tags.
        const source = await this.volume(s.sourceVolumeId);
        if (source) {
          type = source.VolumeType ?? 'gp3';
          iops = ['gp3', 'io1', 'io2'].includes(type) ? source.Iops : undefined;
          throughput = type === 'gp3' ? source.Throughput : undefined;
          size = Math.max(size, source.Size ?? 0);
          kmsKeyId = (source.Encrypted ? source.KmsKeyId : undefined) ?? kmsKeyId;
          tags = mergeTags(source.Tags ?? [], tags);
        }
      }
    }
    // A fleet's volumes belong to a member slot.
    if (s.slot !== undefined) tags = mergeTags(tags, { [TAG_MEMBER]: String(s.slot) });
    const created = await this.ec2.send(new CreateVolumeCommand({
      AvailabilityZone: az,
      SnapshotId: s.snapshotId,
      Size: size,
      VolumeType: type as any,
      Iops: iops,
      Throughput: throughput,
      Encrypted: true,
      KmsKeyId: kmsKeyId,
      TagSpecifications: [{ ResourceType: 'volume', Tags: withoutAttachmentTags(tags) }],
      // The same token for a retried step: no second volume.
      ClientToken: createHash('sha256').update(`${s.detail.LifecycleActionToken}:${s.snapshotId ?? 'empty'}:${az}`).digest('hex').slice(0, 64),
    }));
    this.log(`creating volume ${created.VolumeId} in ${az}${s.snapshotId ? ` from ${s.snapshotId}` : ' (empty)'}`);
    return this.go(s, 'wait-volume', { volumeId: created.VolumeId });
  }

  private async waitVolume(s: LifecycleState): Promise<LifecycleState> {
    const volume = await this.volume(s.volumeId!);
    if (!volume) return this.missing(s, `volume ${s.volumeId}`);
    if (volume.State === 'available') return this.go(s, 'prepare');
    if (volume.State !== 'creating') throw new LifecycleError(`volume ${s.volumeId} is ${volume.State}`);
    return this.wait({ ...s, missing: 0 }, 5, VOLUME_WAIT_SECONDS, `volume ${s.volumeId} to be created`);
  }

  /** Grows a volume smaller than VOLUME_SIZE_GIB before it is attached. */
  private async prepare(s: LifecycleState): Promise<LifecycleState> {
    const volume = await this.volume(s.volumeId!);
    if (!volume) return this.missing(s, `volume ${s.volumeId}`);
    if ((volume.Size ?? 0) >= this.config.volumeSizeGiB) return this.go(s, 'attach');
    try {
      await this.ec2.send(new ModifyVolumeCommand({ VolumeId: s.volumeId, Size: this.config.volumeSizeGiB }));
    } catch (err) {
      // One modification per volume every 6 hours: start the node anyway, the next launch grows it.
      this.log(`WARN cannot grow volume ${s.volumeId} from ${volume.Size} to ${this.config.volumeSizeGiB} GiB now: ${oneLine(err)}`);
      return this.go(s, 'attach');
    }
    this.log(`growing volume ${s.volumeId} from ${volume.Size} to ${this.config.volumeSizeGiB} GiB`);
    return this.go(s, 'wait-grow');
  }

  private async waitGrow(s: LifecycleState): Promise<LifecycleState> {
    const out = await this.ec2.send(new DescribeVolumesModificationsCommand({ VolumeIds: [s.volumeId!] }));
    const modification = out.VolumesModifications?.[0];
    if (!modification) return this.missing(s, `modification of volume ${s.volumeId}`);
    const state = modification.ModificationState;
    // From `optimizing` on, the instance sees the new size.
    if (state === 'optimizing' || state === 'completed') return this.go(s, 'attach');
    if (state === 'failed') {
      this.log(`WARN growing volume ${s.volumeId} failed (${modification.StatusMessage ?? 'no message'}): attaching it as it is`);
      return this.go(s, 'attach');
    }
    return this.wait({ ...s, missing: 0 }, 10, VOLUME_WAIT_SECONDS, `volume ${s.volumeId} to grow`);
  }

  private async attach(s: LifecycleState): Promise<LifecycleState> {
    try {
      await this.ec2.send(new AttachVolumeCommand({ VolumeId: s.volumeId, InstanceId: this.instanceId, Device: this.config.deviceName }));
    } catch (err) {
      // Just created and not visible yet, or attached by a retried step: look again.
      if (isNotFound(err)) return this.missing(s, `volume ${s.volumeId} or instance ${this.instanceId}`);
      if (errorName(err) !== 'VolumeInUse' && errorName(err) !== 'IncorrectState') throw err;
      this.log(`attach of ${s.volumeId}: ${oneLine(err)}; checking`);
      return this.go(s, 'choose');
    }
    this.log(`attaching ${s.volumeId} as ${this.config.deviceName}`);
    return this.go(s, 'wait-attached');
  }

  private async waitAttached(s: LifecycleState): Promise<LifecycleState> {
    const volume = await this.volume(s.volumeId!);
    if (!volume) return this.missing(s, `volume ${s.volumeId}`);
    const attachment = attachmentTo(volume, this.instanceId);
    if (!attachment) throw new LifecycleError(`volume ${s.volumeId} is not attached to instance ${this.instanceId} (state ${volume.State})`);
    if (attachment.State === 'attached') return this.go(s, 'finish');
    return this.wait(s, 3, VOLUME_WAIT_SECONDS, `volume ${s.volumeId} to attach`);
  }

  private async finish(s: LifecycleState): Promise<LifecycleState> {
    const volumeId = s.volumeId!;
    if (s.slot !== undefined) {
      // The bootstrap reads the slot once the volume tag appears: the slot first.
      await this.ec2.send(new CreateTagsCommand({ Resources: [this.instanceId], Tags: [{ Key: TAG_MEMBER, Value: String(s.slot) }] }));
    }
    await this.ec2.send(new CreateTagsCommand({ Resources: [this.instanceId], Tags: [{ Key: this.config.instanceTagKey, Value: volumeId }] }));
    await this.ec2.send(new CreateTagsCommand({
      Resources: [volumeId],
      Tags: [{ Key: TAG_ATTACHED_AT, Value: new Date(this.o.now()).toISOString() }, { Key: TAG_INSTANCE, Value: this.instanceId }],
    }));
    this.log(`tagged the instance ${this.config.instanceTagKey}=${volumeId}`);
    if (this.config.elasticIpAllocationId) {
      await this.ec2.send(new AssociateAddressCommand({
        AllocationId: this.config.elasticIpAllocationId, InstanceId: this.instanceId, AllowReassociation: true,
      }));
      this.log(`associated Elastic IP ${this.config.elasticIpAllocationId}`);
    }
    await complete(this.o, s.detail, 'CONTINUE');
    const tidy = await this.tidyUp(s, volumeId);
    const done: LifecycleState = { ...s, ...tidy, status: 'done', waitSeconds: 0 };
    this.metric('LifecycleSuccesses', { action: s.action, volumeId, snapshotId: s.snapshotId, seconds: Math.round((this.o.now() - s.startedAt) / 1000) });
    this.log(`done: ${s.action} ${volumeId} in ${Math.round((this.o.now() - s.startedAt) / 1000)} s`);
    return done;
  }

  /** After a launch: best effort, the node runs whatever happens here. */
  private async tidyUp(s: LifecycleState, volumeId: string): Promise<Partial<LifecycleState>> {
    const result: { oldVolumesDeleted?: string[]; pinnedTo?: string; snapshotsPruned?: string[] } = {};
    if (this.pool) {
      // A fleet: no pinning (members land in any AZ), no superseded chain (members restore each other's snapshots).
      result.oldVolumesDeleted = await this.sweepFleetVolumes(s);
      result.snapshotsPruned = await this.prune();
      return result;
    }
    await this.bestEffort('delete superseded volumes', async () => {
      if (this.config.keepOldVolume) return;
      const live = (await this.nodeVolumes()).filter((v) => !GONE_VOLUME_STATES.has(v.State ?? ''));
      const current = new Set((await this.withoutSuperseded(live)).map((v) => v.VolumeId));
      const deleted: string[] = [];
      for (const v of live) {
        if (current.has(v.VolumeId) || v.State !== 'available') continue;
        await this.ec2.send(new DeleteVolumeCommand({ VolumeId: v.VolumeId }));
        this.log(`deleted superseded volume ${v.VolumeId} (its data lives on in ${volumeId})`);
        deleted.push(v.VolumeId!);
      }
      result.oldVolumesDeleted = deleted;
    });
    await this.bestEffort('pin the group to the volume\'s AZ', async () => {
      const home = this.config.groupSubnets.filter((sn) => sn.az === s.az).map((sn) => sn.subnetId);
      if (home.length === 0) return;
      const current = await groupSubnetIds(s.detail.AutoScalingGroupName, this.o);
      if (current && current.length === home.length && current.every((id) => home.includes(id))) return;
      await setGroupSubnets(s.detail.AutoScalingGroupName, home, this.o);
      this.log(`group ${s.detail.AutoScalingGroupName} pinned to ${s.az}, the data volume's home AZ`);
      result.pinnedTo = s.az;
    });
    result.snapshotsPruned = await this.prune();
    return result;
  }

  // ------------------------------------------------------------- terminate

  private async terminate(s: LifecycleState): Promise<LifecycleState> {
    const instance = await this.describeInstance(this.instanceId);
    const tagged = tagValue(instance?.Tags, this.config.instanceTagKey);
    let volume: Volume | undefined;
    if (tagged && /^vol-/.test(tagged)) {
      const found = await this.volume(tagged);
      if (found && (attachmentTo(found, this.instanceId) || found.State === 'available')) volume = found;
    }
    volume ??= (await this.describeVolumes({ Filters: [...this.nodeFilters(), { Name: 'attachment.instance-id', Values: [this.instanceId] }] }))
      .sort(byNewestVolume)[0];
    if (!volume) {
      this.log('no data volume attached to the instance: nothing to snapshot');
      await complete(this.o, s.detail, 'CONTINUE');
      this.metric('LifecycleSuccesses', { action: 'no-volume' });
      return { ...s, status: 'done', waitSeconds: 0, action: 'no-volume' };
    }
    const volumeId = volume.VolumeId!;
    // A fleet member's snapshot names its slot (the volume's, else the instance's).
    const slot = slotOf(volume) ?? parseSlot(tagValue(instance?.Tags, TAG_MEMBER));
    const slotTag: Record<string, string> = this.pool && slot !== undefined ? { [TAG_MEMBER]: String(slot) } : {};
    const snapshot = await this.ec2.send(new CreateSnapshotCommand({
      VolumeId: volumeId,
      Description: `casper node ${this.config.nodeName}: final snapshot of ${volumeId} from terminating instance ${this.instanceId}`,
      TagSpecifications: [{
        ResourceType: 'snapshot',
        Tags: mergeTags(this.nodeTags(), {
          [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, [TAG_REASON]: 'termination', [TAG_SOURCE_VOLUME]: volumeId, [TAG_INSTANCE]: this.instanceId,
        }, slotTag),
      }],
    }));
    this.log(`started termination snapshot ${snapshot.SnapshotId} of ${volumeId} (not waiting for it)`);
    await complete(this.o, s.detail, 'CONTINUE');
    const oldVolumesDeleted = this.pool ? await this.sweepFleetVolumes(s) : undefined;
    const snapshotsPruned = await this.prune();
    this.metric('LifecycleSuccesses', { action: 'snapshot-started', volumeId, snapshotId: snapshot.SnapshotId });
    const done: LifecycleState = { ...s, status: 'done', waitSeconds: 0, action: 'snapshot-started', volumeId, snapshotId: snapshot.SnapshotId, snapshotsPruned };
    return oldVolumesDeleted ? { ...done, oldVolumesDeleted } : done;
  }

  // ----------------------------------------------------------------- prune

  /**
   * Deletes completed lifecycle snapshots beyond the newest KEEP_LIFECYCLE_SNAPSHOTS,
   * never the newest completed node snapshot nor one a volume is being created from.
   */
  private async prune(): Promise<string[]> {
    const deleted: string[] = [];
    await this.bestEffort('prune lifecycle snapshots', async () => {
      const all = (await this.describeSnapshots(this.nodeFilters())).sort(byNewestSnapshot);
      const newestCompleted = all.find((sn) => sn.State === 'completed')?.SnapshotId;
      const creating = new Set((await this.nodeVolumes()).filter((v) => v.State === 'creating').map((v) => v.SnapshotId));
      const lifecycle = all.filter((sn) => sn.State === 'completed' && tagValue(sn.Tags, TAG_CREATED_BY) === CREATED_BY_LIFECYCLE);
      for (const sn of lifecycle.slice(this.config.keepLifecycleSnapshots)) {
        if (sn.SnapshotId === newestCompleted || creating.has(sn.SnapshotId)) continue;
        await this.ec2.send(new DeleteSnapshotCommand({ SnapshotId: sn.SnapshotId }));
        deleted.push(sn.SnapshotId!);
      }
      if (deleted.length > 0) this.log(`pruned ${deleted.length} lifecycle snapshot(s): ${deleted.join(', ')}`);
    });
    return deleted;
  }

  /**
   * Pool mode: deletes `available` fleet volumes no member will take, unless
   * KEEP_OLD_VOLUME: those of a slot >= MEMBER_SLOTS (after the fleet shrank)
   * and those of a slot whose member is attached to another volume (the
   * slot's volume in an AZ its member left), but not while another member's
   * launch claims that slot and may be about to take it. Only when a
   * completed snapshot taken after their last attachment holds their data
   * (or, never attached, their source snapshot is a completed fleet
   * snapshot): never the last copy of the data.
   */
  private async sweepFleetVolumes(s: LifecycleState): Promise<string[]> {
    const deleted: string[] = [];
    if (this.config.keepOldVolume) return deleted;
    await this.bestEffort('delete fleet volumes no member takes', async () => {
      const { volumes, members } = await this.fleet(s);
      const snapshots = (await this.describeSnapshots(this.nodeFilters())).filter((sn) => sn.State === 'completed');
      // Slots another member is launching into (claimed, but no volume of the slot attached to it yet).
      const launching = new Set(members.flatMap((i) => [TAG_MEMBER, TAG_MEMBER_CLAIM]
        .map((key) => parseSlot(tagValue(i.Tags, key)))
        .filter((slot) => slot !== undefined && !volumes.some((v) => slotOf(v) === slot && holderOf(v) === i.InstanceId))));
      for (const v of volumes) {
        const slot = slotOf(v);
        if (v.State !== 'available' || slot === undefined || launching.has(slot)) continue;
        const beyond = slot >= this.config.memberSlots;
        const newer = volumes.find((w) => w !== v && slotOf(w) === slot && holderOf(w));
        if (!beyond && !newer) continue;
        const attachedAt = time(tagValue(v.Tags, TAG_ATTACHED_AT));
        const kept = snapshots.find((sn) => sn.VolumeId === v.VolumeId && time(sn.StartTime) >= (attachedAt || time(v.CreateTime)))
          ?? (!attachedAt && v.SnapshotId ? snapshots.find((sn) => sn.SnapshotId === v.SnapshotId) : undefined);
        const why = beyond ? `slot ${slot} is beyond the fleet's ${this.config.memberSlots} members`
          : `member ${slot} runs on volume ${newer!.VolumeId} in ${newer!.AvailabilityZone}`;
        if (!kept) {
          this.log(`keeping volume ${v.VolumeId} for now (${why}): no completed snapshot holds its data yet`);
          continue;
        }
        await this.ec2.send(new DeleteVolumeCommand({ VolumeId: v.VolumeId }));
        this.log(`deleted volume ${v.VolumeId}: ${why}; snapshot ${kept.SnapshotId} holds its data`);
        deleted.push(v.VolumeId!);
      }
    });
    return deleted;
  }

  // --------------------------------------------------------------- helpers

  private async bestEffort(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log(`WARN could not ${what}: ${oneLine(err)}`);
    }
  }

  /** Tells the bootstrap that the volume is on its way but may take long. */
  private async tagPending(): Promise<void> {
    await this.ec2.send(new CreateTagsCommand({
      Resources: [this.instanceId], Tags: [{ Key: this.config.instanceTagKey, Value: DATA_VOLUME_PENDING }],
    }));
  }

  /**
   * Drops the volumes another node volume was created from (through a snapshot):
   * they hold older data than their successor. Sorted newest first.
   */
  private async withoutSuperseded(volumes: Volume[]): Promise<Volume[]> {
    const sorted = [...volumes].sort(byNewestVolume);
    const sourceSnapshots = [...new Set(sorted.map((v) => v.SnapshotId).filter((id): id is string => !!id))];
    if (sorted.length < 2 || sourceSnapshots.length === 0) return sorted;
    const snapshots = await this.describeSnapshots([{ Name: 'snapshot-id', Values: sourceSnapshots }]);
    const sourceOf = new Map(snapshots.map((sn) => [sn.SnapshotId, sn.VolumeId]));
    const superseded = new Set(sorted.filter((v) => v.SnapshotId && sourceOf.get(v.SnapshotId)).map((v) => sourceOf.get(v.SnapshotId!)!));
    const current = sorted.filter((v) => !superseded.has(v.VolumeId!));
    return current.length > 0 ? current : sorted;
  }

  private async zoneState(az: string): Promise<string> {
    const out = await this.ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: [az] }));
    return out.AvailabilityZones?.[0]?.State ?? 'unknown';
  }

  private metric(name: string, properties: Record<string, unknown>): void {
    this.o.emitMetric(emfLine(this.config.metricNamespace, this.config.nodeName, [{ name, value: 1, unit: 'Count' }],
      { instanceId: this.instanceId, ...properties }));
  }

  private nodeTags(): Record<string, string> {
    return { [TAG_NODE]: this.config.nodeName, [TAG_ROLE]: ROLE_DATA };
  }

  private nodeFilters(): Filter[] {
    return [
      { Name: `tag:${TAG_NODE}`, Values: [this.config.nodeName] },
      { Name: `tag:${TAG_ROLE}`, Values: [ROLE_DATA] },
    ];
  }

  private async nodeVolumes(): Promise<Volume[]> {
    return this.describeVolumes({ Filters: this.nodeFilters() });
  }

  /** The volume, or undefined while EC2 does not show it (yet). */
  private async volume(volumeId: string): Promise<Volume | undefined> {
    try {
      const [volume] = await this.describeVolumes({ VolumeIds: [volumeId] });
      return volume;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async describeVolumes(input: { VolumeIds?: string[]; Filters?: Filter[] }): Promise<Volume[]> {
    const volumes: Volume[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.ec2.send(new DescribeVolumesCommand({ ...input, NextToken }));
      volumes.push(...page.Volumes ?? []);
      NextToken = page.NextToken;
    } while (NextToken);
    return volumes;
  }

  private async describeSnapshots(filters: Filter[]): Promise<Snapshot[]> {
    const snapshots: Snapshot[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: filters, NextToken }));
      snapshots.push(...page.Snapshots ?? []);
      NextToken = page.NextToken;
    } while (NextToken);
    return snapshots;
  }

  /**
   * One snapshot by id, whoever owns it (the seed may be shared from another
   * account); undefined when EC2 does not know it or this account may not see it.
   */
  private async snapshotById(snapshotId: string): Promise<Snapshot | undefined> {
    try {
      return (await this.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0];
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async describeInstances(filters: Filter[]): Promise<Instance[]> {
    const instances: Instance[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken }));
      instances.push(...(page.Reservations ?? []).flatMap((r) => r.Instances ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    return instances;
  }

  private async describeInstance(instanceId: string): Promise<Instance | undefined> {
    try {
      const result = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      return result.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private log(message: string): void {
    this.o.log(`lifecycle instance ${this.instanceId}: ${message}`);
  }
}
