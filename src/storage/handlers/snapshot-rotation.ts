/**
 * Snapshot rotation: sync-aware EBS snapshots of tagged volumes with retention.
 *
 * One run:
 *  1. unless the sync check is off, asks CloudWatch whether the node reported
 *     `Synced`=1 within the window, and skips (creating and deleting nothing)
 *     when it did not;
 *  2. finds the volume(s) by tag;
 *  3. snapshots each volume, unless this rotation already started a snapshot of
 *     it within the last 10 minutes; when runs raced past that check, all but
 *     the one with the earliest snapshot delete their own, so one remains;
 *  4. deletes this rotation's oldest completed snapshots beyond the retain count,
 *     never the newest completed one, never a pending one, never one without
 *     this rotation's tag and the volume tag;
 *  5. prints its metrics as CloudWatch Embedded Metric Format lines on stdout.
 *
 * Everything AWS is injected (clients, clock, sinks) so tests run it against a
 * local EC2/CloudWatch emulator; `chooseSnapshotsToDelete` is pure.
 */
// The Lambda Node.js runtime provides the AWS SDK v3 (the bundler keeps it
// external); the package lists it as a devDependency for the tests only.
import { CloudWatchClient, GetMetricDataCommand, GetMetricDataCommandOutput } from '@aws-sdk/client-cloudwatch';
import {
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  DescribeSnapshotsCommandOutput,
  DescribeVolumesCommand,
  DescribeVolumesCommandOutput,
  EC2Client,
  Filter,
  Snapshot,
  Tag,
  Volume,
} from '@aws-sdk/client-ec2';
import { EmfMetric, emfLine, errorName, tagValue } from './common';
import { TAG_CREATED_BY } from '../../private/contract';

/** Tag written on every snapshot a rotation creates: its rotation id. */
export const ROTATION_TAG = 'casper:rotation';
/** Value of `casper:created-by` on the snapshots of a rotation. */
export const CREATED_BY = 'snapshot-rotation';
/** A snapshot of this rotation started within this window blocks another one. */
export const RECENT_SNAPSHOT_WINDOW_MINUTES = 10;

/** Largest page DescribeSnapshots accepts with MaxResults. */
const SNAPSHOT_PAGE_SIZE = 1000;
/** Largest page DescribeVolumes accepts with MaxResults. */
const VOLUME_PAGE_SIZE = 500;
/** Stops a paging loop whose NextToken never ends (a broken API or emulator). */
const MAX_PAGES = 10_000;
const LOG_PREFIX = 'snapshot rotation:';

/** What to do when the sync metric has no datapoints at all in the window. */
export type MissingSyncMetric = 'skip' | 'snapshot';

/** The sync check: the node's `Synced` metric must have been 1 within the window. */
export interface SyncCheckConfig {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly windowMinutes: number;
  readonly onMissing: MissingSyncMetric;
}

/** A tag that must be present with this value. */
export interface TagCondition {
  readonly key: string;
  readonly value: string;
}

/** Typed configuration of one rotation (see `configFromEnv`). */
export interface SnapshotRotationConfig {
  /** Key of the tag that marks the volume(s) to back up, e.g. `casper:node`. */
  readonly volumeTagKey: string;
  /** Value of that tag, e.g. the node name; also the `NodeName` metric dimension. */
  readonly volumeTagValue: string;
  /** Another tag the volumes must carry too, e.g. `casper:role=data`. */
  readonly volumeRoleTag?: TagCondition;
  /** How many completed snapshots of this rotation to keep (at least 1). */
  readonly retainCount: number;
  /** Written as `casper:rotation` on every snapshot this rotation creates. */
  readonly rotationId: string;
  /** The sync check; undefined turns it off. */
  readonly sync?: SyncCheckConfig;
  /** Namespace of the handler's own metrics. */
  readonly metricNamespace: string;
}

/** Thrown for an invalid configuration, before any AWS call. */
export class SnapshotRotationConfigError extends Error {
  constructor(message: string) {
    super(`${LOG_PREFIX} invalid configuration: ${message}`);
    this.name = 'SnapshotRotationConfigError';
  }
}

function required(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = (env[name] ?? '').trim();
  if (!value) throw new SnapshotRotationConfigError(`${name} is required`);
  return value;
}

function wholeNumber(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, min: number): number {
  const text = (env[name] ?? '').trim();
  if (text === '') return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new SnapshotRotationConfigError(`${name} must be a whole number of at least ${min}, got ${JSON.stringify(env[name])}`);
  }
  return Number(text);
}

/** Parses `key=value` (the value may be empty; the key may not). */
export function parseTagCondition(text: string, name = 'VOLUME_ROLE_TAG'): TagCondition {
  const at = text.indexOf('=');
  if (at < 1) throw new SnapshotRotationConfigError(`${name} must look like "key=value", got ${JSON.stringify(text)}`);
  return { key: text.slice(0, at), value: text.slice(at + 1) };
}

/**
 * Reads the configuration from the Lambda's environment variables:
 * VOLUME_TAG_KEY, VOLUME_TAG_VALUE, VOLUME_ROLE_TAG (optional `key=value`),
 * RETAIN_COUNT (default 7, at least 1), ROTATION_ID, SYNC_METRIC_NAMESPACE
 * (empty: no sync check), SYNC_METRIC_NAME (default `Synced`),
 * SYNC_METRIC_DIMENSIONS (JSON object), SYNC_WINDOW_MINUTES (default 10),
 * MISSING_SYNC_METRIC (`skip` | `snapshot`, default `skip`), METRIC_NAMESPACE.
 */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): SnapshotRotationConfig {
  const roleText = (env.VOLUME_ROLE_TAG ?? '').trim();
  const syncNamespace = (env.SYNC_METRIC_NAMESPACE ?? '').trim();
  let sync: SyncCheckConfig | undefined;
  if (syncNamespace) {
    const dimensionsText = (env.SYNC_METRIC_DIMENSIONS ?? '').trim() || '{}';
    let dimensions: unknown;
    try {
      dimensions = JSON.parse(dimensionsText);
    } catch {
      throw new SnapshotRotationConfigError(`SYNC_METRIC_DIMENSIONS must be a JSON object, got ${JSON.stringify(dimensionsText)}`);
    }
    if (typeof dimensions !== 'object' || dimensions === null || Array.isArray(dimensions) ||
      Object.values(dimensions).some((v) => typeof v !== 'string')) {
      throw new SnapshotRotationConfigError(`SYNC_METRIC_DIMENSIONS must be a JSON object of strings, got ${JSON.stringify(dimensionsText)}`);
    }
    const onMissing = (env.MISSING_SYNC_METRIC ?? '').trim() || 'skip';
    if (onMissing !== 'skip' && onMissing !== 'snapshot') {
      throw new SnapshotRotationConfigError(`MISSING_SYNC_METRIC must be "skip" or "snapshot", got ${JSON.stringify(onMissing)}`);
    }
    sync = {
      namespace: syncNamespace,
      metricName: (env.SYNC_METRIC_NAME ?? '').trim() || 'Synced',
      dimensions: dimensions as Record<string, string>,
      windowMinutes: wholeNumber(env, 'SYNC_WINDOW_MINUTES', 10, 1),
      onMissing,
    };
  }
  const config: SnapshotRotationConfig = {
    volumeTagKey: required(env, 'VOLUME_TAG_KEY'),
    volumeTagValue: required(env, 'VOLUME_TAG_VALUE'),
    volumeRoleTag: roleText ? parseTagCondition(roleText) : undefined,
    retainCount: wholeNumber(env, 'RETAIN_COUNT', 7, 1),
    rotationId: required(env, 'ROTATION_ID'),
    sync,
    metricNamespace: required(env, 'METRIC_NAMESPACE'),
  };
  validateConfig(config);
  return config;
}

/** Rejects a configuration that could delete the wrong snapshots or all of them. */
export function validateConfig(config: SnapshotRotationConfig): void {
  if (!Number.isInteger(config.retainCount) || config.retainCount < 1) {
    throw new SnapshotRotationConfigError(`RETAIN_COUNT must be a whole number of at least 1, got ${config.retainCount}`);
  }
  if (!config.rotationId) throw new SnapshotRotationConfigError('ROTATION_ID is required');
  if (!config.volumeTagKey || !config.volumeTagValue) {
    throw new SnapshotRotationConfigError('VOLUME_TAG_KEY and VOLUME_TAG_VALUE are required');
  }
  if (!config.metricNamespace) throw new SnapshotRotationConfigError('METRIC_NAMESPACE is required');
  if (config.sync && (!Number.isInteger(config.sync.windowMinutes) || config.sync.windowMinutes < 1)) {
    throw new SnapshotRotationConfigError(`SYNC_WINDOW_MINUTES must be a whole number of at least 1, got ${config.sync.windowMinutes}`);
  }
}

/** Which snapshots belong to a rotation: its id and, when given, the volume tag. */
export interface SnapshotOwner {
  readonly rotationId: string;
  readonly volumeTagKey?: string;
  readonly volumeTagValue?: string;
}

function isOwned(snapshot: Snapshot, owner: SnapshotOwner | undefined): boolean {
  const rotation = tagValue(snapshot.Tags, ROTATION_TAG);
  if (!rotation) return false;
  if (owner) {
    if (rotation !== owner.rotationId) return false;
    if (owner.volumeTagKey !== undefined && tagValue(snapshot.Tags, owner.volumeTagKey) !== owner.volumeTagValue) return false;
  }
  return true;
}

function startMs(snapshot: Snapshot): number {
  const t = snapshot.StartTime;
  return t instanceof Date ? t.getTime() : NaN;
}

/** Newest first; equal start times by snapshot id, so every run orders alike. */
function newestFirst(a: Snapshot, b: Snapshot): number {
  const d = startMs(b) - startMs(a);
  if (d !== 0) return d;
  return (b.SnapshotId ?? '').localeCompare(a.SnapshotId ?? '');
}

/**
 * The snapshots to delete, oldest first: every completed snapshot of the
 * rotation except the newest `retainCount` ones (by StartTime).
 *
 * Never chosen: pending (or any not completed) snapshots; snapshots without a
 * `casper:rotation` tag, or, when `owner` is given, with another rotation id or
 * another volume tag value; snapshots without a StartTime; and the newest
 * completed snapshot, whatever `retainCount` says (below 1 counts as 1).
 */
export function chooseSnapshotsToDelete(snapshots: readonly Snapshot[], retainCount: number, owner?: SnapshotOwner): Snapshot[] {
  const keep = Number.isNaN(retainCount) ? 1 : Math.max(1, Math.floor(retainCount));
  const seen = new Set<string>();
  const completed = snapshots.filter((s) => {
    if (!s.SnapshotId || seen.has(s.SnapshotId)) return false;
    seen.add(s.SnapshotId);
    return s.State === 'completed' && isOwned(s, owner) && !Number.isNaN(startMs(s));
  });
  completed.sort(newestFirst);
  return completed.slice(keep).reverse();
}

/** Why a run created and deleted nothing. */
export type SkipReason = 'not-synced' | 'no-sync-datapoints' | 'no-volume';

/** What one run did. */
export interface RotationSummary {
  readonly rotationId: string;
  /** The volumes found by tag. */
  readonly volumeIds: string[];
  /** Snapshots this run created and kept. */
  readonly created: string[];
  /** Volumes not snapshotted because this rotation started one within 10 minutes, with that snapshot. */
  readonly recent: { volumeId: string; snapshotId: string }[];
  /** Snapshots this run created and then deleted because a concurrent run created one first. */
  readonly duplicatesRemoved: string[];
  /** Snapshots this run deleted for retention, oldest first. */
  readonly deleted: string[];
  /** Chosen for deletion but already gone (a concurrent run deleted them). */
  readonly alreadyDeleted: string[];
  /** Chosen for deletion but kept because they are in use (an AMI was registered from them). */
  readonly inUse: string[];
  /** Chosen for deletion but left for the next run because the time budget ran out. */
  readonly deferred: string[];
  /** Set when the run was skipped. */
  readonly skipped?: SkipReason;
  /** Human-readable skip reason, as logged. */
  readonly skippedMessage?: string;
  /** Age of the newest completed snapshot of the rotation after the run. */
  readonly newestCompletedSnapshotAgeSeconds?: number;
  /** AWS API calls made, by operation name. */
  readonly apiCalls: Record<string, number>;
}

/** Injection points of `rotateSnapshots`. */
export interface RotateOptions {
  /** @default - a new EC2Client from the environment */
  readonly ec2?: EC2Client;
  /** @default - a new CloudWatchClient from the environment */
  readonly cloudwatch?: CloudWatchClient;
  /** The clock. @default () => new Date() */
  readonly now?: () => Date;
  /** Told the operation name of every AWS API call. */
  readonly countCall?: (operation: string) => void;
  /** Log lines. @default console.log */
  readonly log?: (line: string) => void;
  /** Embedded Metric Format lines. @default a line on process.stdout */
  readonly emit?: (line: string) => void;
  /**
   * Wait after creating before looking for a concurrent run's snapshot, so that
   * two runs racing past the recent-snapshot check both see both snapshots.
   * Must exceed the CreateSnapshot latency. @default 5000
   */
  readonly settleMs?: number;
  /** Parallel DeleteSnapshot calls. @default 4 */
  readonly deleteConcurrency?: number;
  /** Epoch ms after which no more deletions start (the rest wait for the next run). @default - none */
  readonly deadlineMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

function isNotFound(err: unknown): boolean {
  return errorName(err) === 'InvalidSnapshot.NotFound';
}

/** Snapshots, pages and sinks of one run. */
class Run {
  public readonly apiCalls: Record<string, number> = {};
  private readonly ec2: EC2Client;
  private readonly cloudwatch: CloudWatchClient;

  constructor(private readonly config: SnapshotRotationConfig, private readonly options: RotateOptions) {
    this.ec2 = options.ec2 ?? new EC2Client({});
    this.cloudwatch = options.cloudwatch ?? new CloudWatchClient({});
  }

  public now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }

  public log(message: string): void {
    (this.options.log ?? console.log)(`${LOG_PREFIX} ${message}`);
  }

  public count(operation: string): void {
    this.apiCalls[operation] = (this.apiCalls[operation] ?? 0) + 1;
    this.options.countCall?.(operation);
  }

  public async sleep(ms: number): Promise<void> {
    if (ms <= 0) return;
    await (this.options.sleep ?? ((t: number) => new Promise<void>((res) => setTimeout(res, t))))(ms);
  }

  /** The values of the sync metric in the window (Maximum per minute). */
  public async syncValues(sync: SyncCheckConfig): Promise<number[]> {
    const end = this.now();
    const start = new Date(end.getTime() - sync.windowMinutes * 60_000);
    const values: number[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      this.count('GetMetricData');
      const out: GetMetricDataCommandOutput = await this.cloudwatch.send(new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        ScanBy: 'TimestampDescending',
        MetricDataQueries: [{
          Id: 'synced',
          ReturnData: true,
          MetricStat: {
            Metric: {
              Namespace: sync.namespace,
              MetricName: sync.metricName,
              Dimensions: Object.entries(sync.dimensions).map(([Name, Value]) => ({ Name, Value })),
            },
            Period: 60,
            Stat: 'Maximum',
          },
        }],
        NextToken: nextToken,
      }));
      for (const result of out.MetricDataResults ?? []) values.push(...(result.Values ?? []));
      nextToken = out.NextToken;
      if (!nextToken) break;
    }
    return values;
  }

  /** Volumes with the volume tag (and the role tag), attached or not, by id. */
  public async volumes(): Promise<Volume[]> {
    const filters: Filter[] = [
      { Name: `tag:${this.config.volumeTagKey}`, Values: [this.config.volumeTagValue] },
      { Name: 'status', Values: ['in-use', 'available'] },
    ];
    if (this.config.volumeRoleTag) filters.push({ Name: `tag:${this.config.volumeRoleTag.key}`, Values: [this.config.volumeRoleTag.value] });
    const volumes: Volume[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      this.count('DescribeVolumes');
      const out: DescribeVolumesCommandOutput = await this.ec2.send(new DescribeVolumesCommand({
        Filters: filters, MaxResults: VOLUME_PAGE_SIZE, NextToken: nextToken,
      }));
      volumes.push(...(out.Volumes ?? []));
      nextToken = out.NextToken;
      if (!nextToken) break;
    }
    return dedupe(volumes, (v) => v.VolumeId).sort((a, b) => (a.VolumeId ?? '').localeCompare(b.VolumeId ?? ''));
  }

  /** Every snapshot of this rotation with the volume tag, all pages. */
  public async rotationSnapshots(): Promise<Snapshot[]> {
    const filters: Filter[] = [
      { Name: `tag:${ROTATION_TAG}`, Values: [this.config.rotationId] },
      { Name: `tag:${this.config.volumeTagKey}`, Values: [this.config.volumeTagValue] },
    ];
    const snapshots: Snapshot[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      this.count('DescribeSnapshots');
      const out: DescribeSnapshotsCommandOutput = await this.ec2.send(new DescribeSnapshotsCommand({
        OwnerIds: ['self'], Filters: filters, MaxResults: SNAPSHOT_PAGE_SIZE, NextToken: nextToken,
      }));
      snapshots.push(...(out.Snapshots ?? []));
      nextToken = out.NextToken;
      if (!nextToken) break;
    }
    return dedupe(snapshots, (s) => s.SnapshotId);
  }

  public async createSnapshot(volumeId: string, at: Date): Promise<Snapshot> {
    const tags: Tag[] = [{ Key: this.config.volumeTagKey, Value: this.config.volumeTagValue }];
    if (this.config.volumeRoleTag) tags.push({ Key: this.config.volumeRoleTag.key, Value: this.config.volumeRoleTag.value });
    tags.push(
      { Key: ROTATION_TAG, Value: this.config.rotationId },
      { Key: TAG_CREATED_BY, Value: CREATED_BY },
      { Key: 'Name', Value: `${this.config.volumeTagValue}-${at.toISOString()}` },
    );
    this.count('CreateSnapshot');
    const out = await this.ec2.send(new CreateSnapshotCommand({
      VolumeId: volumeId,
      Description: `Snapshot rotation ${this.config.rotationId} of ${volumeId} ` +
        `(${this.config.volumeTagKey}=${this.config.volumeTagValue}) at ${at.toISOString()}`,
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags }],
    }));
    if (!out.SnapshotId) throw new Error(`${LOG_PREFIX} CreateSnapshot of ${volumeId} returned no snapshot id`);
    return { ...out, Tags: out.Tags ?? tags, VolumeId: out.VolumeId ?? volumeId, StartTime: out.StartTime ?? at };
  }

  /** Deletes a snapshot; false when it was already gone. */
  public async deleteSnapshot(snapshotId: string): Promise<boolean> {
    this.count('DeleteSnapshot');
    try {
      await this.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** One Embedded Metric Format line on stdout. */
  public emitMetrics(metrics: EmfMetric[], properties: Record<string, unknown>): void {
    const text = emfLine(this.config.metricNamespace, this.config.volumeTagValue, metrics, properties, this.now().getTime());
    if (this.options.emit) this.options.emit(text);
    else process.stdout.write(text + '\n');
  }
}

function dedupe<T>(items: T[], key: (item: T) => string | undefined): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (!k || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Runs `fn` over `items` with at most `limit` at once, stopping new ones after `stop()` says so. */
async function forEachLimited<T>(items: readonly T[], limit: number, stop: () => boolean, fn: (item: T) => Promise<void>): Promise<T[]> {
  let next = 0;
  const notStarted: T[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (stop()) {
        notStarted.push(item);
        continue;
      }
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return notStarted;
}

/**
 * One rotation run; see the file comment. Throws on a configuration error or
 * an AWS error other than a snapshot already deleted by a concurrent run.
 */
export async function rotateSnapshots(config: SnapshotRotationConfig, options: RotateOptions = {}): Promise<RotationSummary> {
  validateConfig(config);
  const run = new Run(config, options);
  const startedAt = run.now();
  const owner: SnapshotOwner = { rotationId: config.rotationId, volumeTagKey: config.volumeTagKey, volumeTagValue: config.volumeTagValue };
  const base = { rotationId: config.rotationId, apiCalls: run.apiCalls };
  const properties = { RotationId: config.rotationId };

  const skip = (reason: SkipReason, message: string): RotationSummary => {
    run.log(`skipped: ${message}`);
    run.emitMetrics([{ name: 'SnapshotSkipped', value: 1, unit: 'Count' }], { ...properties, SkipReason: message });
    return {
      ...base,
      volumeIds: [],
      created: [],
      recent: [],
      duplicatesRemoved: [],
      deleted: [],
      alreadyDeleted: [],
      inUse: [],
      deferred: [],
      skipped: reason,
      skippedMessage: message,
    };
  };

  // 1. Sync check.
  if (config.sync) {
    const values = await run.syncValues(config.sync);
    const minutes = config.sync.windowMinutes;
    if (values.length === 0) {
      const message = `no ${config.sync.metricName} datapoints in the last ${minutes} minutes`;
      if (config.sync.onMissing === 'skip') return skip('no-sync-datapoints', message);
      run.log(`${message}; MISSING_SYNC_METRIC=snapshot, snapshotting anyway`);
    } else if (!values.some((v) => v === 1)) {
      return skip('not-synced', `node not synced in the last ${minutes} minutes`);
    }
  }

  // 2. Volumes.
  const volumes = await run.volumes();
  const volumeIds = volumes.map((v) => v.VolumeId as string);
  if (volumes.length === 0) {
    const role = config.volumeRoleTag ? ` and ${config.volumeRoleTag.key}=${config.volumeRoleTag.value}` : '';
    return skip('no-volume', `no volume tagged ${config.volumeTagKey}=${config.volumeTagValue}${role}`);
  }

  // 3. Snapshots, at most one per volume per 10 minutes.
  let snapshots = await run.rotationSnapshots();
  const recentCutoff = startedAt.getTime() - RECENT_SNAPSHOT_WINDOW_MINUTES * 60_000;
  const recent: { volumeId: string; snapshotId: string }[] = [];
  const mine: Snapshot[] = [];
  for (const volumeId of volumeIds) {
    const existing = snapshots
      .filter((s) => s.VolumeId === volumeId && (s.State === 'pending' || s.State === 'completed') && startMs(s) >= recentCutoff)
      .sort(newestFirst)[0];
    if (existing) {
      run.log(`volume ${volumeId} already has snapshot ${existing.SnapshotId} (${existing.State}) of this rotation ` +
        `started at ${existing.StartTime?.toISOString()}, within ${RECENT_SNAPSHOT_WINDOW_MINUTES} minutes: not creating another`);
      recent.push({ volumeId, snapshotId: existing.SnapshotId as string });
      continue;
    }
    const snapshot = await run.createSnapshot(volumeId, startedAt);
    run.log(`created snapshot ${snapshot.SnapshotId} of volume ${volumeId}`);
    mine.push(snapshot);
  }

  // A concurrent run may have passed the check at the same time. After a pause
  // long enough for both snapshots to be listed, each run looks at the recent
  // snapshots of the volume it did not see before creating (its own and the
  // concurrent runs'); all agree on the earliest (start time, then id) as the one
  // to keep. The others are deleted by their creators and left out of the
  // retention count by everyone, so every run reaches the same final set.
  const duplicatesRemoved: string[] = [];
  const duplicates = new Set<string>();
  if (mine.length > 0) {
    const seenBefore = new Set(snapshots.map((s) => s.SnapshotId as string));
    await run.sleep(options.settleMs ?? 5000);
    snapshots = await run.rotationSnapshots();
    for (const own of mine) {
      const windowStart = startMs(own) - RECENT_SNAPSHOT_WINDOW_MINUTES * 60_000;
      const peers = dedupe([own, ...snapshots.filter((s) =>
        s.VolumeId === own.VolumeId && !seenBefore.has(s.SnapshotId as string) &&
        (s.State === 'pending' || s.State === 'completed') && startMs(s) >= windowStart)], (s) => s.SnapshotId);
      const keep = [...peers].sort(newestFirst).reverse()[0];
      for (const p of peers) if (p.SnapshotId !== keep.SnapshotId) duplicates.add(p.SnapshotId as string);
      if (keep.SnapshotId !== own.SnapshotId) {
        run.log(`a concurrent run also snapshotted volume ${own.VolumeId}: keeping its ${keep.SnapshotId}, deleting this run's ${own.SnapshotId}`);
        await run.deleteSnapshot(own.SnapshotId as string);
        duplicatesRemoved.push(own.SnapshotId as string);
      }
    }
  }
  const created = mine.map((s) => s.SnapshotId as string).filter((id) => !duplicates.has(id));

  // 4. Retention, over this rotation's snapshots less the concurrent duplicates.
  const counted = dedupe([...snapshots, ...mine], (s) => s.SnapshotId).filter((s) => !duplicates.has(s.SnapshotId as string));
  const toDelete = chooseSnapshotsToDelete(counted, config.retainCount, owner);
  const deleted: string[] = [];
  const alreadyDeleted: string[] = [];
  const inUse: string[] = [];
  const failures: { snapshotId: string; error: unknown }[] = [];
  const deadline = options.deadlineMs;
  const pastDeadline = () => deadline !== undefined && Date.now() >= deadline;
  const notStarted = await forEachLimited(toDelete, options.deleteConcurrency ?? 4, pastDeadline, async (s) => {
    const id = s.SnapshotId as string;
    try {
      if (await run.deleteSnapshot(id)) deleted.push(id);
      else alreadyDeleted.push(id);
    } catch (error) {
      // A rotation snapshot someone registered an AMI from: keep it, do not fail every run for it.
      if (errorName(error) === 'InvalidSnapshot.InUse') inUse.push(id);
      else failures.push({ snapshotId: id, error });
    }
  });
  const order = new Map(toDelete.map((s, i) => [s.SnapshotId as string, i]));
  const byAge = (a: string, b: string) => (order.get(a) ?? 0) - (order.get(b) ?? 0);
  deleted.sort(byAge);
  alreadyDeleted.sort(byAge);
  const deferred = notStarted.map((s) => s.SnapshotId as string);
  if (alreadyDeleted.length) run.log(`${alreadyDeleted.length} snapshot(s) already deleted by a concurrent run: ${alreadyDeleted.join(', ')}`);
  if (inUse.length) run.log(`kept ${inUse.length} snapshot(s) in use (registered as an AMI): ${inUse.join(', ')}`);
  if (deferred.length) run.log(`time budget reached: ${deferred.length} deletion(s) left for the next run`);

  // 5. Metrics and summary.
  const gone = new Set([...deleted, ...alreadyDeleted]);
  const kept = counted.filter((s) => s.State === 'completed' && !gone.has(s.SnapshotId as string) && isOwned(s, owner) && !Number.isNaN(startMs(s)));
  const newest = kept.sort(newestFirst)[0];
  const ageSeconds = newest ? Math.max(0, Math.round((run.now().getTime() - startMs(newest)) / 1000)) : undefined;
  const metrics: { name: string; value: number; unit: 'Count' | 'Seconds' }[] = [
    { name: 'SnapshotCreated', value: created.length, unit: 'Count' },
    { name: 'SnapshotsDeleted', value: deleted.length, unit: 'Count' },
    { name: 'SnapshotSkipped', value: 0, unit: 'Count' },
  ];
  if (ageSeconds !== undefined) metrics.push({ name: 'NewestCompletedSnapshotAgeSeconds', value: ageSeconds, unit: 'Seconds' });
  if (failures.length) {
    // What was done is still reported; the missing SnapshotRotationSucceeded tells the alarm.
    run.emitMetrics(metrics, properties);
    for (const f of failures) run.log(`could not delete ${f.snapshotId}: ${errorName(f.error)}: ${(f.error as Error)?.message ?? String(f.error)}`);
    throw new Error(`${LOG_PREFIX} ${failures.length} snapshot deletion(s) failed (first: ${failures[0].snapshotId}: ` +
      `${errorName(failures[0].error)}); created ${created.join(', ') || 'none'}, deleted ${deleted.length}`);
  }
  metrics.push({ name: 'SnapshotRotationSucceeded', value: 1, unit: 'Count' });
  run.emitMetrics(metrics, properties);
  run.log(`done: created ${created.length} (${created.join(', ') || 'none'}), deleted ${deleted.length}, kept ${kept.length} completed, ` +
    `newest completed ${newest ? `${newest.SnapshotId}, ${ageSeconds} s old` : 'none yet'}`);
  return {
    ...base,
    volumeIds,
    created,
    recent,
    duplicatesRemoved,
    deleted,
    alreadyDeleted,
    inUse,
    deferred,
    newestCompletedSnapshotAgeSeconds: ageSeconds,
  };
}
