/**
 * Data-volume lifecycle: the logic behind `data-volume-lifecycle.lambda.ts`.
 *
 * Auto Scaling lifecycle hooks reach this handler through EventBridge.
 *
 * LAUNCHING (instance I in Availability Zone Z): give I the node's data volume
 * as `DEVICE_NAME`, tag I `INSTANCE_TAG_KEY=<volume id>` (the bootstrap reads
 * that tag), associate the Elastic IP and complete the action with CONTINUE.
 * The volume is chosen by this rule (deterministic, "newest" = latest
 * CreateTime, ties broken by the smaller volume id):
 *
 *  1. a node volume already attached to I (a duplicate or retried event):
 *     only re-tag, re-associate and complete;
 *  2. candidates are the node's volumes (tags `casper:node=<NODE_NAME>` and
 *     `casper:role=data`) that are not superseded: a volume is superseded when
 *     another node volume was created from a snapshot of it (an earlier move
 *     to another AZ that kept the old volume, or one that failed after the
 *     new volume was created), so a stale copy is never preferred;
 *  3. the newest `available` candidate in Z: attach it;
 *  4. otherwise the newest candidate: if it is attached to another instance,
 *     wait for it to detach (detaching it when that instance is stopping,
 *     stopped, shutting down or terminated, forced only when terminated);
 *     then attach it if it is in Z, or move it to Z: snapshot it, create a
 *     volume from the snapshot in Z with the same size, type, IOPS,
 *     throughput, encryption key and tags, attach that, and only then delete
 *     the old volume (kept when KEEP_OLD_VOLUME=true);
 *  5. no volume: restore the newest `completed` node snapshot into Z (waiting
 *     for a pending one only when none is completed);
 *  6. nothing at all: create an empty encrypted gp3 volume.
 * Volumes created here are always encrypted and never smaller than
 * VOLUME_SIZE_GIB.
 *
 * TERMINATING: start a snapshot of the volume attached to the instance (found
 * by the instance tag, else by node tags and attachment) tagged
 * `casper:created-by=lifecycle`, `casper:reason=termination`, and CONTINUE
 * without waiting for it to complete.
 *
 * Every wait (instance running, detach, snapshot, new volume, attachment)
 * polls and records a lifecycle heartbeat while it waits; all waits of one
 * invocation share WAIT_BUDGET_SECONDS. Any error or an exhausted budget
 * logs one `ERROR lifecycle <transition> instance <id>: <message>` line,
 * prints a `LifecycleFailures` CloudWatch EMF line, completes the action with
 * ABANDON and returns (no rethrow: a retry would start from a half state).
 * Nothing is deleted before its replacement is attached, so at least one copy
 * of the newest data (a volume or a completed snapshot) always remains.
 */
import { createHash } from 'crypto';
// The AWS SDK comes with the Lambda Node.js runtime (left external by the bundler).
import { AutoScalingClient, CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import {
  AssociateAddressCommand,
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
  Filter,
  Instance,
  Snapshot,
  Tag,
  Volume,
  VolumeType,
} from '@aws-sdk/client-ec2';
import { emfLine, TAG_CREATED_BY } from './common';

/** Tag keys and values shared with the bootstrap and SnapshotRotation. */
export const TAG_NODE = 'casper:node';
export const TAG_ROLE = 'casper:role';
export const ROLE_DATA = 'data';
export const CREATED_BY_LIFECYCLE = 'lifecycle';
export const TAG_REASON = 'casper:reason';
export const TAG_SOURCE_VOLUME = 'casper:source-volume';
export const TAG_SOURCE_SNAPSHOT = 'casper:source-snapshot';
export const TAG_INSTANCE = 'casper:instance';

export const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING';
export const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';

/** Largest WAIT_BUDGET_SECONDS: leaves a minute of the 15-minute Lambda timeout for the calls after the last wait. */
export const MAX_WAIT_BUDGET_SECONDS = 840;

/** Handler configuration, read from the environment by `configFromEnv`. */
export interface LifecycleConfig {
  /** NODE_NAME: value of the `casper:node` tag on the node's volumes and snapshots. */
  readonly nodeName: string;
  /** VOLUME_SIZE_GIB: size of an empty volume, and the minimum size of a restored one. */
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
  /** KEEP_OLD_VOLUME: keep the source volume after moving the data to another AZ (default false). */
  readonly keepOldVolume: boolean;
  /** WAIT_BUDGET_SECONDS: total time all waits of one invocation may take (default 600). */
  readonly waitBudgetSeconds: number;
  /** METRIC_NAMESPACE: CloudWatch namespace of the EMF metrics (default `casper-node`). */
  readonly metricNamespace: string;
}

/** Thrown for a missing or malformed environment variable. */
export class LifecycleConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LifecycleConfigError';
  }
}

/** Thrown when a wait exceeds the invocation's wait budget. */
export class WaitBudgetExceededError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitBudgetExceededError';
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

/** Reads and validates the handler's configuration from environment variables. */
export function configFromEnv(env: Env): LifecycleConfig {
  const nodeName = envText(env, 'NODE_NAME');
  if (!nodeName) throw new LifecycleConfigError('NODE_NAME is required');
  const keep = (envText(env, 'KEEP_OLD_VOLUME') ?? 'false').toLowerCase();
  if (keep !== 'true' && keep !== 'false') {
    throw new LifecycleConfigError(`KEEP_OLD_VOLUME must be true or false, got ${JSON.stringify(env.KEEP_OLD_VOLUME)}`);
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
    waitBudgetSeconds: envInt(env, 'WAIT_BUDGET_SECONDS', 600, 1, MAX_WAIT_BUDGET_SECONDS),
    metricNamespace: envText(env, 'METRIC_NAMESPACE') ?? 'casper-node',
  };
}

/** `detail` of an EventBridge Auto Scaling lifecycle action event. */
export interface LifecycleActionDetail {
  readonly LifecycleActionToken: string;
  readonly AutoScalingGroupName: string;
  readonly LifecycleHookName: string;
  readonly EC2InstanceId: string;
  readonly LifecycleTransition: string;
  readonly NotificationMetadata?: string;
  readonly Origin?: string;
  readonly Destination?: string;
}

/** EventBridge event (source `aws.autoscaling`), detail-type `EC2 Instance-launch|terminate Lifecycle Action`. */
export interface LifecycleEvent {
  readonly 'id'?: string;
  readonly 'source'?: string;
  readonly 'detail-type'?: string;
  readonly 'time'?: string;
  readonly 'region'?: string;
  readonly 'detail'?: Partial<LifecycleActionDetail>;
}

/** What the handler did. */
export type LifecycleAction =
  | 'already-attached' // duplicate/retried launch: the volume was attached to the instance already
  | 'attached' // an available volume in the instance's AZ
  | 'detached-and-attached' // waited for (or forced) the old instance to let go
  | 'moved' // snapshot + new volume in the instance's AZ
  | 'restored' // from the newest completed snapshot
  | 'created' // empty volume
  | 'snapshot-started' // termination snapshot
  | 'no-volume'; // termination without a data volume

/** The handler's result (also logged). */
export interface LifecycleResult {
  /** The lifecycle action result sent, or IGNORED for events that are no lifecycle action. */
  readonly result: 'CONTINUE' | 'ABANDON' | 'IGNORED';
  readonly transition?: string;
  readonly instanceId?: string;
  readonly action?: LifecycleAction;
  /** The data volume attached (launch) or snapshotted (termination). */
  readonly volumeId?: string;
  /** The snapshot created (termination or move) or restored from. */
  readonly snapshotId?: string;
  /** The source volume of a move, deleted unless KEEP_OLD_VOLUME. */
  readonly oldVolumeId?: string;
  /** Whether the source volume of a move was deleted. */
  readonly oldVolumeDeleted?: boolean;
  /** CompleteLifecycleAction reported that the action was completed already (duplicate event). */
  readonly alreadyCompleted?: boolean;
  /** The error that made the handler abandon. */
  readonly error?: string;
}

/** Injection points, for tests and the Lambda entry point. */
export interface LifecycleOptions {
  /** @default configFromEnv(env) */
  readonly config?: LifecycleConfig;
  /** Environment to read the configuration from when `config` is not given. @default process.env */
  readonly env?: Env;
  /** @default new EC2Client({}) */
  readonly ec2?: EC2Client;
  /** @default new AutoScalingClient({}) */
  readonly autoScaling?: AutoScalingClient;
  /** Monotonic clock in milliseconds, for the wait budget and heartbeats. @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Delay between polls of a wait. @default 5000 */
  readonly pollIntervalMs?: number;
  /** Least time between two lifecycle heartbeats while waiting. @default 60000 */
  readonly heartbeatIntervalMs?: number;
  /** Time the Lambda invocation has left; the wait budget is cut to leave a minute of it. */
  readonly remainingTimeMs?: number;
  /** Informational log lines. @default console.log */
  readonly log?: (line: string) => void;
  /** The error line. @default console.error */
  readonly logError?: (line: string) => void;
  /** EMF lines, written raw to stdout so CloudWatch extracts the metric. @default process.stdout.write */
  readonly emitMetric?: (line: string) => void;
}

type Transition = 'LAUNCHING' | 'TERMINATING';

interface Outcome {
  readonly action: LifecycleAction;
  readonly volumeId?: string;
  readonly snapshotId?: string;
  readonly oldVolumeId?: string;
  readonly oldVolumeDeleted?: boolean;
}

const TRANSITIONS = new Map<string, Transition>([[LAUNCHING, 'LAUNCHING'], [TERMINATING, 'TERMINATING']]);
const DETACHABLE_STATES = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);
const GONE_VOLUME_STATES = new Set(['deleting', 'deleted', 'error']);
const SAFETY_MARGIN_MS = 60_000;

/** Handles one Auto Scaling lifecycle action event. Never throws. */
export async function handleLifecycleEvent(event: LifecycleEvent, options: LifecycleOptions = {}): Promise<LifecycleResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const logError = options.logError ?? ((line: string) => console.error(line));
  const emitMetric = options.emitMetric ?? ((line: string) => { process.stdout.write(line + '\n'); });
  const detail = event?.detail;
  const transition = TRANSITIONS.get(detail?.LifecycleTransition ?? '');
  const required = [detail?.LifecycleActionToken, detail?.EC2InstanceId, detail?.AutoScalingGroupName, detail?.LifecycleHookName];
  if (!detail || !transition || required.some((value) => !value)) {
    log(`lifecycle: ignoring event ${JSON.stringify(event?.['detail-type'] ?? null)} `
      + `(transition ${JSON.stringify(detail?.LifecycleTransition ?? null)}): not a launch or terminate lifecycle action`);
    return { result: 'IGNORED', transition: detail?.LifecycleTransition, instanceId: detail?.EC2InstanceId };
  }
  const action = detail as LifecycleActionDetail;
  const instanceId = action.EC2InstanceId;
  const autoScaling = options.autoScaling ?? new AutoScalingClient({});
  const complete = async (result: 'CONTINUE' | 'ABANDON'): Promise<boolean> => {
    try {
      await autoScaling.send(new CompleteLifecycleActionCommand({
        AutoScalingGroupName: action.AutoScalingGroupName,
        LifecycleHookName: action.LifecycleHookName,
        LifecycleActionToken: action.LifecycleActionToken,
        InstanceId: instanceId,
        LifecycleActionResult: result,
      }));
      log(`lifecycle ${transition} instance ${instanceId}: completed ${result}`);
      return false;
    } catch (err) {
      if (isAlreadyCompleted(err)) {
        log(`lifecycle ${transition} instance ${instanceId}: lifecycle action already completed (${oneLine(err)}), nothing more to do`);
        return true;
      }
      throw err;
    }
  };

  let config: LifecycleConfig | undefined;
  try {
    config = options.config ?? configFromEnv(options.env ?? process.env);
    const run = new LifecycleRun(config, action, transition, { ...options, autoScaling }, log);
    log(`lifecycle ${transition} instance ${instanceId}: start (group ${action.AutoScalingGroupName}, hook ${action.LifecycleHookName}, `
      + `node ${config.nodeName}, wait budget ${Math.round(run.budgetMs / 1000)} s)`);
    const outcome = transition === 'LAUNCHING' ? await run.launch() : await run.terminate();
    const alreadyCompleted = await complete('CONTINUE');
    emitMetric(countLine(config.metricNamespace, config.nodeName, 'LifecycleSuccesses', { transition, instanceId, ...outcome }));
    const result: LifecycleResult = { result: 'CONTINUE', transition: action.LifecycleTransition, instanceId, ...outcome, alreadyCompleted };
    log(`lifecycle ${transition} instance ${instanceId}: done ${JSON.stringify(result)}`);
    return result;
  } catch (err) {
    const message = oneLine(err);
    logError(`ERROR lifecycle ${transition} instance ${instanceId}: ${message}`);
    const env = options.env ?? process.env;
    emitMetric(countLine(
      config?.metricNamespace ?? envText(env, 'METRIC_NAMESPACE') ?? 'casper-node',
      config?.nodeName ?? envText(env, 'NODE_NAME') ?? 'unknown',
      'LifecycleFailures',
      { transition, instanceId, error: message },
    ));
    let alreadyCompleted: boolean | undefined;
    try {
      alreadyCompleted = await complete('ABANDON');
    } catch (completeErr) {
      logError(`ERROR lifecycle ${transition} instance ${instanceId}: could not complete the lifecycle action with ABANDON: ${oneLine(completeErr)}`);
    }
    return { result: 'ABANDON', transition: action.LifecycleTransition, instanceId, error: message, alreadyCompleted };
  }
}

/** One EMF line counting `metric` once for the node. */
function countLine(namespace: string, nodeName: string, metric: string, properties: Record<string, unknown>): string {
  return emfLine(namespace, nodeName, [{ name: metric, value: 1, unit: 'Count' }], properties);
}

function oneLine(err: unknown): string {
  const e = err as { name?: string; message?: string } | undefined;
  const text = e && typeof e === 'object' && e.message
    ? (e.name && e.name !== 'Error' && !e.message.startsWith(e.name) ? `${e.name}: ${e.message}` : e.message)
    : String(err);
  return text.replace(/\s+/g, ' ').trim();
}

function errorName(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string } | undefined;
  return e?.name ?? e?.Code;
}

function isAlreadyCompleted(err: unknown): boolean {
  return errorName(err) === 'ValidationError' && /no active lifecycle action/i.test(String((err as Error).message));
}

function isNotFound(err: unknown): boolean {
  return /NotFound$/.test(errorName(err) ?? '');
}

function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
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

function time(value: Date | undefined): number {
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

function attachmentTo(volume: Volume, instanceId: string) {
  return volume.Attachments?.find((a) => a.InstanceId === instanceId && a.State !== 'detached');
}

/** One invocation: the event, the clients and the shared wait budget. */
class LifecycleRun {
  public readonly budgetMs: number;
  private readonly ec2: EC2Client;
  private readonly autoScaling: AutoScalingClient;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly pollMs: number;
  private readonly heartbeatMs: number;
  private readonly deadline: number;
  private readonly instanceId: string;
  private lastHeartbeat: number | undefined;

  constructor(
    private readonly config: LifecycleConfig,
    private readonly action: LifecycleActionDetail,
    private readonly transition: Transition,
    options: LifecycleOptions,
    private readonly logLine: (line: string) => void,
  ) {
    this.ec2 = options.ec2 ?? new EC2Client({});
    this.autoScaling = options.autoScaling ?? new AutoScalingClient({});
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.pollMs = Math.max(1, options.pollIntervalMs ?? 5_000);
    this.heartbeatMs = options.heartbeatIntervalMs ?? 60_000;
    let budget = config.waitBudgetSeconds * 1000;
    if (options.remainingTimeMs !== undefined) budget = Math.max(0, Math.min(budget, options.remainingTimeMs - SAFETY_MARGIN_MS));
    this.budgetMs = budget;
    this.deadline = this.now() + budget;
    this.instanceId = action.EC2InstanceId;
  }

  // ---------------------------------------------------------------- launch

  public async launch(): Promise<Outcome> {
    const instance = await this.waitInstanceRunning();
    const az = instance.Placement?.AvailabilityZone;
    if (!az) throw new Error(`instance ${this.instanceId} has no Availability Zone`);
    const volumes = await this.nodeVolumes();

    // 1. Duplicate or retried event: the volume is attached to this instance already.
    const mine = volumes.filter((v) => attachmentTo(v, this.instanceId)).sort(byNewestVolume);
    if (mine.length > 0) {
      const volumeId = mine[0].VolumeId!;
      this.log(`volume ${volumeId} is attached to the instance already (duplicate or retried event)`);
      await this.finishLaunch(volumeId);
      return { action: 'already-attached', volumeId };
    }

    const outcome = await this.provision(az, instance, volumes);
    await this.finishLaunch(outcome.volumeId!);
    if (outcome.oldVolumeId) {
      return { ...outcome, oldVolumeDeleted: await this.retireOldVolume(outcome.oldVolumeId, outcome.volumeId!) };
    }
    return outcome;
  }

  /** Chooses, creates or moves the data volume and attaches it to the instance (steps 2-6 of the rule). */
  private async provision(az: string, instance: Instance, volumes: Volume[]): Promise<Outcome> {
    const live = volumes.filter((v) => !GONE_VOLUME_STATES.has(v.State ?? ''));
    if (live.length === 0) return this.restoreOrCreate(az);
    const candidates = await this.withoutSuperseded(live);

    // 3. An available volume in the instance's AZ (the one the instance tag names first, then the newest).
    const available = candidates.filter((v) => v.AvailabilityZone === az && v.State === 'available');
    const tagged = tagValue(instance.Tags, this.config.instanceTagKey);
    const here = available.find((v) => v.VolumeId === tagged) ?? available[0];
    if (here) {
      this.log(`attaching volume ${here.VolumeId}, available in ${az}`);
      await this.attach(here.VolumeId!);
      return { action: 'attached', volumeId: here.VolumeId };
    }

    // 4. The newest volume: wait for it to be free, then attach or move it.
    let newest = candidates[0];
    let waited = false;
    if (newest.State === 'creating') {
      newest = await this.waitVolumeAvailable(newest.VolumeId!);
    }
    const holder = newest.Attachments?.find((a) => a.State !== 'detached')?.InstanceId;
    if (newest.State === 'in-use' && holder) {
      newest = await this.waitDetached(newest.VolumeId!, holder);
      waited = true;
    }
    if (newest.AvailabilityZone === az) {
      this.log(`attaching volume ${newest.VolumeId} in ${az}`);
      await this.attach(newest.VolumeId!);
      return { action: waited ? 'detached-and-attached' : 'attached', volumeId: newest.VolumeId };
    }
    return this.move(newest, az);
  }

  /**
   * Drops the volumes another node volume was created from (through a snapshot):
   * they hold older data than their successor. Sorted newest first.
   */
  private async withoutSuperseded(volumes: Volume[]): Promise<Volume[]> {
    const sorted = [...volumes].sort(byNewestVolume);
    const sourceSnapshots = [...new Set(sorted.map((v) => v.SnapshotId).filter((s): s is string => !!s))];
    if (sorted.length < 2 || sourceSnapshots.length === 0) return sorted;
    const snapshots = await this.describeSnapshots([{ Name: 'snapshot-id', Values: sourceSnapshots }]);
    const sourceOf = new Map(snapshots.map((s) => [s.SnapshotId, s.VolumeId]));
    const superseded = new Set(sorted
      .filter((v) => v.SnapshotId && sourceOf.get(v.SnapshotId))
      .map((v) => sourceOf.get(v.SnapshotId!)!));
    const current = sorted.filter((v) => !superseded.has(v.VolumeId!));
    const ignored = sorted.filter((v) => superseded.has(v.VolumeId!)).map((v) => v.VolumeId);
    if (ignored.length > 0) this.log(`ignoring superseded volume(s) ${ignored.join(', ')}: a newer node volume was created from a snapshot of each`);
    return current.length > 0 ? current : sorted;
  }

  /** Copies a volume into `az` through a snapshot; the source stays untouched until the copy is attached. */
  private async move(source: Volume, az: string): Promise<Outcome> {
    const sourceId = source.VolumeId!;
    this.log(`moving volume ${sourceId} from ${source.AvailabilityZone} to ${az} through a snapshot`);
    const volumeTags = mergeTags(source.Tags ?? [], this.nodeTags());
    const snapshot = await this.ec2.send(new CreateSnapshotCommand({
      VolumeId: sourceId,
      Description: `casper node ${this.config.nodeName}: data of ${sourceId} moving from ${source.AvailabilityZone} to ${az}`,
      TagSpecifications: [{
        ResourceType: 'snapshot',
        Tags: mergeTags(volumeTags, {
          [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE,
          [TAG_REASON]: 'az-move',
          [TAG_SOURCE_VOLUME]: sourceId,
        }),
      }],
    }));
    const snapshotId = snapshot.SnapshotId!;
    this.log(`snapshot ${snapshotId} of ${sourceId} started`);
    await this.waitSnapshotCompleted(snapshotId);

    const type: VolumeType = source.VolumeType ?? 'gp3';
    const created = await this.ec2.send(new CreateVolumeCommand({
      AvailabilityZone: az,
      SnapshotId: snapshotId,
      Size: Math.max(source.Size ?? 0, this.config.volumeSizeGiB),
      VolumeType: type,
      Iops: ['gp3', 'io1', 'io2'].includes(type) ? source.Iops : undefined,
      Throughput: type === 'gp3' ? source.Throughput : undefined,
      Encrypted: true,
      KmsKeyId: (source.Encrypted ? source.KmsKeyId : undefined) ?? this.config.volumeKmsKeyId,
      TagSpecifications: [{ ResourceType: 'volume', Tags: volumeTags }],
      ClientToken: this.clientToken(`move:${snapshotId}:${az}`),
    }));
    const volumeId = created.VolumeId!;
    this.log(`volume ${volumeId} created in ${az} from ${snapshotId}`);
    await this.waitVolumeAvailable(volumeId);
    await this.attach(volumeId);
    return { action: 'moved', volumeId, snapshotId, oldVolumeId: sourceId };
  }

  /** Step 5 and 6: no volume exists. */
  private async restoreOrCreate(az: string): Promise<Outcome> {
    const snapshots = (await this.describeSnapshots(this.nodeFilters())).sort(byNewestSnapshot);
    let source = snapshots.find((s) => s.State === 'completed');
    if (!source) {
      const pending = snapshots.find((s) => s.State === 'pending');
      if (pending) {
        this.log(`no volume and no completed snapshot: waiting for pending snapshot ${pending.SnapshotId}`);
        source = await this.waitSnapshotCompleted(pending.SnapshotId!);
      }
    }
    if (source) {
      const snapshotId = source.SnapshotId!;
      this.log(`no data volume: restoring the newest completed snapshot ${snapshotId} (${source.VolumeSize} GiB) into ${az}`);
      const created = await this.ec2.send(new CreateVolumeCommand({
        AvailabilityZone: az,
        SnapshotId: snapshotId,
        Size: Math.max(source.VolumeSize ?? 0, this.config.volumeSizeGiB),
        VolumeType: 'gp3',
        Iops: this.config.volumeIops,
        Throughput: this.config.volumeThroughputMiBps,
        Encrypted: true,
        KmsKeyId: (source.Encrypted ? source.KmsKeyId : undefined) ?? this.config.volumeKmsKeyId,
        TagSpecifications: [{
          ResourceType: 'volume',
          Tags: mergeTags(this.nodeTags(), { [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE, [TAG_SOURCE_SNAPSHOT]: snapshotId }),
        }],
        ClientToken: this.clientToken(`restore:${snapshotId}:${az}`),
      }));
      await this.waitVolumeAvailable(created.VolumeId!);
      await this.attach(created.VolumeId!);
      return { action: 'restored', volumeId: created.VolumeId, snapshotId };
    }

    this.log(`no data volume and no snapshot: creating an empty ${this.config.volumeSizeGiB} GiB gp3 volume in ${az}`);
    const created = await this.ec2.send(new CreateVolumeCommand({
      AvailabilityZone: az,
      Size: this.config.volumeSizeGiB,
      VolumeType: 'gp3',
      Iops: this.config.volumeIops,
      Throughput: this.config.volumeThroughputMiBps,
      Encrypted: true,
      KmsKeyId: this.config.volumeKmsKeyId,
      TagSpecifications: [{ ResourceType: 'volume', Tags: mergeTags(this.nodeTags(), { [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE }) }],
      ClientToken: this.clientToken(`empty:${az}`),
    }));
    await this.waitVolumeAvailable(created.VolumeId!);
    await this.attach(created.VolumeId!);
    return { action: 'created', volumeId: created.VolumeId };
  }

  /** Waits for the attachment, tags the instance and associates the Elastic IP. */
  private async finishLaunch(volumeId: string): Promise<void> {
    await this.waitAttached(volumeId);
    await this.ec2.send(new CreateTagsCommand({
      Resources: [this.instanceId],
      Tags: [{ Key: this.config.instanceTagKey, Value: volumeId }],
    }));
    this.log(`tagged the instance ${this.config.instanceTagKey}=${volumeId}`);
    if (this.config.elasticIpAllocationId) {
      await this.ec2.send(new AssociateAddressCommand({
        AllocationId: this.config.elasticIpAllocationId,
        InstanceId: this.instanceId,
        AllowReassociation: true,
      }));
      this.log(`associated Elastic IP ${this.config.elasticIpAllocationId}`);
    } else {
      this.log('no ELASTIC_IP_ALLOCATION_ID: Elastic IP left alone');
    }
  }

  /** After a move: the copy is attached, so the source may go. Failures here only warn. */
  private async retireOldVolume(oldVolumeId: string, newVolumeId: string): Promise<boolean> {
    if (this.config.keepOldVolume) {
      this.log(`KEEP_OLD_VOLUME: keeping ${oldVolumeId} (superseded by ${newVolumeId})`);
      return false;
    }
    try {
      await this.ec2.send(new DeleteVolumeCommand({ VolumeId: oldVolumeId }));
      this.log(`deleted old volume ${oldVolumeId}, its data lives on in ${newVolumeId}`);
      return true;
    } catch (err) {
      this.log(`WARN could not delete old volume ${oldVolumeId} (its data lives on in ${newVolumeId}): ${oneLine(err)}`);
      return false;
    }
  }

  // ------------------------------------------------------------- terminate

  public async terminate(): Promise<Outcome> {
    const instance = await this.describeInstance(this.instanceId);
    const tagged = tagValue(instance?.Tags, this.config.instanceTagKey);
    let volume: Volume | undefined;
    if (tagged) {
      const found = await this.describeVolumes({ VolumeIds: [tagged] }, true);
      // The tagged volume, unless it has meanwhile been given to another instance.
      volume = found.find((v) => attachmentTo(v, this.instanceId) || v.State === 'available');
    }
    if (!volume) {
      const attached = (await this.describeVolumes({
        Filters: [...this.nodeFilters(), { Name: 'attachment.instance-id', Values: [this.instanceId] }],
      }, false)).sort(byNewestVolume);
      volume = attached[0];
    }
    if (!volume) {
      this.log('no data volume attached to the instance: nothing to snapshot');
      return { action: 'no-volume' };
    }
    const volumeId = volume.VolumeId!;
    const snapshot = await this.ec2.send(new CreateSnapshotCommand({
      VolumeId: volumeId,
      Description: `casper node ${this.config.nodeName}: final snapshot of ${volumeId} from terminating instance ${this.instanceId}`,
      TagSpecifications: [{
        ResourceType: 'snapshot',
        Tags: mergeTags(this.nodeTags(), {
          [TAG_CREATED_BY]: CREATED_BY_LIFECYCLE,
          [TAG_REASON]: 'termination',
          [TAG_SOURCE_VOLUME]: volumeId,
          [TAG_INSTANCE]: this.instanceId,
        }),
      }],
    }));
    this.log(`started termination snapshot ${snapshot.SnapshotId} of ${volumeId} (not waiting for it to complete)`);
    return { action: 'snapshot-started', volumeId, snapshotId: snapshot.SnapshotId };
  }

  // ----------------------------------------------------------------- waits

  private async waitInstanceRunning(): Promise<Instance> {
    return this.waitFor(`instance ${this.instanceId} to be running`, async () => {
      const instance = await this.describeInstance(this.instanceId);
      if (!instance) throw new Error(`instance ${this.instanceId} not found`);
      const state = instance.State?.Name;
      if (state === 'running') return instance;
      if (state !== 'pending') throw new Error(`instance ${this.instanceId} is ${state}, not launching`);
      return undefined;
    });
  }

  /**
   * Waits for a volume to leave `holder`. A holder that is stopping, stopped or
   * shutting down gets a normal DetachVolume; a terminated one a forced one.
   */
  private async waitDetached(volumeId: string, holder: string): Promise<Volume> {
    let requested: 'none' | 'normal' | 'force' = 'none';
    let holderState = 'unknown';
    this.log(`volume ${volumeId} is attached to instance ${holder}: waiting for it to detach`);
    return this.waitFor(`volume ${volumeId} to detach from instance ${holder}`, async () => {
      const volume = await this.volume(volumeId);
      if (volume.State === 'available') return volume;
      const attachment = volume.Attachments?.find((a) => a.State !== 'detached');
      if (!attachment) return undefined;
      if (attachment.InstanceId === this.instanceId) throw new Error(`volume ${volumeId} was attached to this instance meanwhile (concurrent event)`);
      holderState = (await this.describeInstance(attachment.InstanceId!))?.State?.Name ?? 'terminated';
      const force = holderState === 'terminated';
      if ((force && requested !== 'force') || (DETACHABLE_STATES.has(holderState) && requested === 'none')) {
        requested = force ? 'force' : 'normal';
        this.log(`instance ${attachment.InstanceId} is ${holderState}: detaching ${volumeId}${force ? ' (forced)' : ''}`);
        try {
          await this.ec2.send(new DetachVolumeCommand({
            VolumeId: volumeId,
            InstanceId: attachment.InstanceId,
            Device: attachment.Device,
            Force: force,
          }));
        } catch (err) {
          // Detaching already, or detached in the meantime: the next poll tells.
          if (!['IncorrectState', 'InvalidAttachment.NotFound'].includes(errorName(err) ?? '')) throw err;
        }
      }
      return undefined;
    }, () => `instance ${holder} is ${holderState}`);
  }

  private async waitSnapshotCompleted(snapshotId: string): Promise<Snapshot> {
    let progress = '';
    return this.waitFor(`snapshot ${snapshotId} to complete`, async () => {
      const [snapshot] = await this.describeSnapshots([{ Name: 'snapshot-id', Values: [snapshotId] }]);
      if (!snapshot) throw new Error(`snapshot ${snapshotId} not found`);
      progress = snapshot.Progress ?? '';
      if (snapshot.State === 'completed') return snapshot;
      if (snapshot.State === 'error') throw new Error(`snapshot ${snapshotId} failed: ${snapshot.StateMessage ?? 'state error'}`);
      return undefined;
    }, () => `progress ${progress || 'unknown'}`);
  }

  private async waitVolumeAvailable(volumeId: string): Promise<Volume> {
    return this.waitFor(`volume ${volumeId} to be available`, async () => {
      const volume = await this.volume(volumeId);
      if (volume.State === 'available' || volume.State === 'in-use') return volume;
      if (volume.State !== 'creating') throw new Error(`volume ${volumeId} is ${volume.State}`);
      return undefined;
    });
  }

  private async waitAttached(volumeId: string): Promise<Volume> {
    return this.waitFor(`volume ${volumeId} to be attached to instance ${this.instanceId}`, async () => {
      const volume = await this.volume(volumeId);
      const attachment = attachmentTo(volume, this.instanceId);
      if (!attachment) throw new Error(`volume ${volumeId} is not attached to instance ${this.instanceId} (state ${volume.State})`);
      return attachment.State === 'attached' ? volume : undefined;
    });
  }

  /**
   * Polls `check` until it returns a value, recording lifecycle heartbeats while
   * it waits. Throws WaitBudgetExceededError once the invocation's budget is spent.
   */
  private async waitFor<T>(what: string, check: () => Promise<T | undefined>, status?: () => string): Promise<T> {
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      const remaining = this.deadline - this.now();
      if (remaining <= 0) {
        throw new WaitBudgetExceededError(`gave up waiting for ${what}: wait budget of ${Math.round(this.budgetMs / 1000)} s `
          + `(WAIT_BUDGET_SECONDS) exhausted${status ? ` (${status()})` : ''}`);
      }
      await this.heartbeat();
      await this.sleep(Math.min(this.pollMs, remaining));
    }
  }

  private async heartbeat(): Promise<void> {
    const now = this.now();
    if (this.lastHeartbeat !== undefined && now - this.lastHeartbeat < this.heartbeatMs) return;
    this.lastHeartbeat = now;
    try {
      await this.autoScaling.send(new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: this.action.AutoScalingGroupName,
        LifecycleHookName: this.action.LifecycleHookName,
        LifecycleActionToken: this.action.LifecycleActionToken,
        InstanceId: this.instanceId,
      }));
    } catch (err) {
      // The wait goes on; the budget still bounds it.
      this.log(`WARN lifecycle heartbeat failed: ${oneLine(err)}`);
    }
  }

  // --------------------------------------------------------------- helpers

  private async attach(volumeId: string): Promise<void> {
    await this.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: this.instanceId, Device: this.config.deviceName }));
    this.log(`attaching ${volumeId} as ${this.config.deviceName}`);
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
    return this.describeVolumes({ Filters: this.nodeFilters() }, false);
  }

  private async volume(volumeId: string): Promise<Volume> {
    const [volume] = await this.describeVolumes({ VolumeIds: [volumeId] }, false);
    if (!volume) throw new Error(`volume ${volumeId} not found`);
    return volume;
  }

  private async describeVolumes(input: { VolumeIds?: string[]; Filters?: Filter[] }, missingOk: boolean): Promise<Volume[]> {
    const volumes: Volume[] = [];
    let NextToken: string | undefined;
    try {
      do {
        const page = await this.ec2.send(new DescribeVolumesCommand({ ...input, NextToken }));
        volumes.push(...page.Volumes ?? []);
        NextToken = page.NextToken;
      } while (NextToken);
    } catch (err) {
      if (missingOk && isNotFound(err)) return [];
      throw err;
    }
    return volumes;
  }

  private async describeSnapshots(filters: Filter[]): Promise<Snapshot[]> {
    const snapshots: Snapshot[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.ec2.send(new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: filters,
        NextToken,
      }));
      snapshots.push(...page.Snapshots ?? []);
      NextToken = page.NextToken;
    } while (NextToken);
    return snapshots;
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

  /** Idempotency token of a CreateVolume: the same for a duplicate of this event. */
  private clientToken(purpose: string): string {
    return createHash('sha256').update(`${this.action.LifecycleActionToken}:${purpose}`).digest('hex');
  }

  private log(message: string): void {
    this.logLine(`lifecycle ${this.transition} instance ${this.instanceId}: ${message}`);
  }
}
