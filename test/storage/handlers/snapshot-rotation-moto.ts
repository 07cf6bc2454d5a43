/**
 * Helpers for the snapshot rotation tests and benchmark: AWS SDK v3 clients
 * pointed at a moto server, seeding of volumes and snapshots, and sinks that
 * capture the handler's log and Embedded Metric Format lines.
 *
 * moto 5.2.5 ignores MaxResults and NextToken on DescribeSnapshots and
 * DescribeVolumes (it always answers with every match in one page). AWS does
 * page them, so `ec2Client()` adds an SDK middleware that pages moto's answer
 * the way AWS does (MaxResults within AWS's bounds, an opaque NextToken): the
 * first page is a real request to moto, whose full answer is kept and served
 * page by page for the following NextTokens. The handler's paging loop is what
 * is under test; its call count is the one it would make against AWS.
 * (Serving later pages from the kept answer also spares moto, whose tag filters
 * cost grows with snapshots × tags: about 5 s for one 1,000-snapshot listing.)
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  Snapshot,
  Tag,
} from '@aws-sdk/client-ec2';
import { TAG_CREATED_BY } from '../../../src/private/contract';
import { ROTATION_TAG, CREATED_BY, SnapshotRotationConfig } from '../../../src/storage/handlers/snapshot-rotation';

export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
export const NODE = 'testnet-reader';
export const ROTATION = 'CasperNodeSnapshotRotation-1A2B3C4D';

/** AWS's MaxResults bounds for the operations whose paging is emulated. */
const PAGED: Record<string, { key: string; min: number; max: number }> = {
  DescribeSnapshotsCommand: { key: 'Snapshots', min: 5, max: 1000 },
  DescribeVolumesCommand: { key: 'Volumes', min: 5, max: 500 },
};

/** Options of `ec2Client`. */
export interface Ec2ClientOptions {
  /** Emulate AWS paging over moto's single page (see the file comment). @default true */
  readonly emulatePaging?: boolean;
  /** Counts every command the client sends, by operation name (as the SDK sees it). */
  readonly sdkCalls?: Record<string, number>;
}

/** An EC2 client for the moto server at `endpoint`. */
export function ec2Client(endpoint: string, options: Ec2ClientOptions = {}): EC2Client {
  const client = new EC2Client({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  if (options.sdkCalls) {
    const calls = options.sdkCalls;
    client.middlewareStack.add((next, context) => async (args) => {
      const op = String(context.commandName).replace(/Command$/, '');
      calls[op] = (calls[op] ?? 0) + 1;
      return next(args);
    }, { step: 'initialize', name: 'testSdkCallCounter', priority: 'high' });
  }
  if (options.emulatePaging ?? true) {
    // Listings being paged: moto's full answer to the first request, by token id.
    const listings = new Map<string, unknown[]>();
    let nextListing = 0;
    client.middlewareStack.add((next, context) => async (args) => {
      const paged = PAGED[String(context.commandName)];
      const input = args.input as { MaxResults?: number; NextToken?: string };
      if (!paged || input.MaxResults === undefined) return next(args);
      const { MaxResults: max, NextToken: token, ...rest } = input;
      if (max < paged.min || max > paged.max) {
        throw Object.assign(new Error(`MaxResults must be from ${paged.min} to ${paged.max}, got ${max}`), { name: 'InvalidParameterValue' });
      }
      let listingId: string;
      let offset = 0;
      let all: unknown[];
      let result: Awaited<ReturnType<typeof next>> | undefined;
      if (token) {
        const m = /^(\d+):(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
        const cached = m ? listings.get(m[1]) : undefined;
        if (!m || !cached) throw Object.assign(new Error(`invalid NextToken ${token}`), { name: 'InvalidParameterValue' });
        [listingId, offset, all] = [m[1], Number(m[2]), cached];
      } else {
        result = await next({ ...args, input: rest });
        listingId = String(nextListing++);
        all = ((result.output as unknown as Record<string, unknown>)[paged.key] as unknown[] | undefined) ?? [];
      }
      const end = offset + max;
      if (end < all.length) listings.set(listingId, all);
      else listings.delete(listingId);
      const output = {
        $metadata: { httpStatusCode: 200 },
        ...(result?.output ?? {}),
        [paged.key]: all.slice(offset, end),
        NextToken: end < all.length ? Buffer.from(`${listingId}:${end}`).toString('base64') : undefined,
      };
      return { response: result?.response, output: output as unknown as Awaited<ReturnType<typeof next>>['output'] };
    }, { step: 'initialize', name: 'motoPagingEmulation' });
  }
  return client;
}

/** A CloudWatch client for the moto server at `endpoint`. */
export function cloudwatchClient(endpoint: string): CloudWatchClient {
  return new CloudWatchClient({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
}

export function tags(record: Record<string, string>): Tag[] {
  return Object.entries(record).map(([Key, Value]) => ({ Key, Value }));
}

export function tagRecord(list: readonly Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((t) => [t.Key as string, t.Value as string]));
}

/** The tags of a node's data volume. */
export function nodeVolumeTags(node = NODE): Record<string, string> {
  return { 'casper:node': node, 'casper:role': 'data' };
}

/** The tags the rotation writes on its snapshots (without Name). */
export function rotationTags(node = NODE, rotation = ROTATION): Record<string, string> {
  return { ...nodeVolumeTags(node), [ROTATION_TAG]: rotation, [TAG_CREATED_BY]: CREATED_BY };
}

export async function createVolume(ec2: EC2Client, volumeTags: Record<string, string> = nodeVolumeTags()): Promise<string> {
  const out = await ec2.send(new CreateVolumeCommand({
    AvailabilityZone: `${REGION}a`,
    Size: 100,
    VolumeType: 'gp3',
    TagSpecifications: Object.keys(volumeTags).length ? [{ ResourceType: 'volume', Tags: tags(volumeTags) }] : undefined,
  }));
  return out.VolumeId as string;
}

export async function createSnapshot(ec2: EC2Client, volumeId: string, snapshotTags: Record<string, string>): Promise<string> {
  const out = await ec2.send(new CreateSnapshotCommand({
    VolumeId: volumeId,
    Description: 'seeded by test',
    TagSpecifications: Object.keys(snapshotTags).length ? [{ ResourceType: 'snapshot', Tags: tags(snapshotTags) }] : undefined,
  }));
  return out.SnapshotId as string;
}

/** Creates `count` snapshots, `batch` requests at a time; ids in creation order. */
export async function seedSnapshots(
  ec2: EC2Client, volumeId: string, count: number, snapshotTags: Record<string, string>, batch = 20,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    ids.push(...await Promise.all(Array.from({ length: n }, () => createSnapshot(ec2, volumeId, snapshotTags))));
  }
  return ids;
}

/**
 * Creates snapshots one at a time with their start times in distinct seconds
 * (moto reports StartTime to the second), oldest first.
 */
export async function seedSpacedSnapshots(ec2: EC2Client, volumeId: string, count: number, snapshotTags: Record<string, string>): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await nextSecond();
    ids.push(await createSnapshot(ec2, volumeId, snapshotTags));
  }
  return ids;
}

/** Waits until the wall clock is in a later second than now (moto's StartTime resolution). */
export async function nextSecond(): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + 50);
}

/** A function whose promise resolves once it has been called `parties` times. */
export function createBarrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let release: () => void = () => undefined;
  const open = new Promise<void>((res) => { release = res; });
  return async () => {
    arrived++;
    if (arrived >= parties) release();
    await open;
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/** moto's default account: the owner of every snapshot a test creates. */
export const ACCOUNT = '123456789012';

/**
 * Every snapshot of the account in moto (one unpaged request). moto ignores
 * OwnerIds and also lists the snapshots behind its public AMIs (other owners).
 */
export async function allSnapshots(endpoint: string): Promise<Snapshot[]> {
  const out = await ec2Client(endpoint, { emulatePaging: false }).send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
  return (out.Snapshots ?? []).filter((s) => s.OwnerId === ACCOUNT);
}

export async function allSnapshotIds(endpoint: string): Promise<string[]> {
  return (await allSnapshots(endpoint)).map((s) => s.SnapshotId as string).sort();
}

/** Puts datapoints of the node's Synced metric, `minutesAgo` each. */
export async function putSynced(endpoint: string, points: { minutesAgo: number; value: number; node?: string }[], namespace = 'casper-testnet'): Promise<void> {
  const now = Date.now();
  await cloudwatchClient(endpoint).send(new PutMetricDataCommand({
    Namespace: namespace,
    MetricData: points.map((p) => ({
      MetricName: 'Synced',
      Dimensions: [{ Name: 'NodeName', Value: p.node ?? NODE }],
      Value: p.value,
      Timestamp: new Date(now - p.minutesAgo * 60_000),
    })),
  }));
}

/** The rotation config of the tests: node volume tag, role tag, no sync check. */
export function testConfig(overrides: Partial<SnapshotRotationConfig> = {}): SnapshotRotationConfig {
  return {
    volumeTagKey: 'casper:node',
    volumeTagValue: NODE,
    volumeRoleTag: { key: 'casper:role', value: 'data' },
    retainCount: 7,
    rotationId: ROTATION,
    metricNamespace: 'casper-node',
    ...overrides,
  };
}

/** Log and EMF lines captured from one or more runs. */
export interface Capture {
  readonly logs: string[];
  readonly emf: Record<string, any>[];
  readonly log: (line: string) => void;
  readonly emit: (line: string) => void;
}

export function capture(): Capture {
  const logs: string[] = [];
  const emf: Record<string, any>[] = [];
  return {
    logs,
    emf,
    log: (line) => { logs.push(line); },
    emit: (line) => {
      if (line.includes('\n')) throw new Error(`an EMF line must be one line: ${line}`);
      emf.push(JSON.parse(line));
    },
  };
}

/** A clock `minutes` ahead of the wall clock (moto stamps snapshots with the wall clock). */
export function clockAhead(minutes: number): () => Date {
  return () => new Date(Date.now() + minutes * 60_000);
}
