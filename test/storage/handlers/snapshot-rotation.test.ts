import { DeleteSnapshotCommand, DeleteVolumeCommand, DescribeVolumesCommand, EC2Client, Snapshot } from '@aws-sdk/client-ec2';
import {
  allSnapshotIds,
  allSnapshots,
  capture,
  clockAhead,
  cloudwatchClient,
  createBarrier,
  createSnapshot,
  createVolume,
  ec2Client,
  nextSecond,
  NODE,
  nodeVolumeTags,
  putSynced,
  ROTATION,
  rotationTags,
  seedSnapshots,
  seedSpacedSnapshots,
  tagRecord,
  testConfig,
} from './snapshot-rotation-moto';
import {
  chooseSnapshotsToDelete,
  configFromEnv,
  rotateSnapshots,
  RotateOptions,
  RotationSummary,
  SnapshotRotationConfig,
  SnapshotRotationConfigError,
} from '../../../src/storage/handlers/snapshot-rotation';
import { MotoServer, startMoto } from '../../support/moto';

// ---------------------------------------------------------------------------
// Retention choice (pure)
// ---------------------------------------------------------------------------

const T0 = Date.parse('2026-01-10T00:00:00.000Z');
const OWN = { 'casper:node': NODE, 'casper:rotation': ROTATION };
const OWNER = { rotationId: ROTATION, volumeTagKey: 'casper:node', volumeTagValue: NODE };

/** A snapshot started `daysAgo` days before T0. */
function snap(id: string, daysAgo: number, state = 'completed', tagMap: Record<string, string> = OWN): Snapshot {
  return {
    SnapshotId: id,
    StartTime: new Date(T0 - daysAgo * 86_400_000),
    State: state as Snapshot['State'],
    Tags: Object.entries(tagMap).map(([Key, Value]) => ({ Key, Value })),
  };
}

/** d0 (newest) ... d{n-1} (oldest), all completed and owned. */
function daily(n: number): Snapshot[] {
  return Array.from({ length: n }, (_, i) => snap(`snap-d${i}`, i));
}

const ids = (list: Snapshot[]) => list.map((s) => s.SnapshotId);

describe('chooseSnapshotsToDelete', () => {
  test('retain 1 keeps only the newest and returns the rest oldest first', () => {
    expect(ids(chooseSnapshotsToDelete(daily(5), 1, OWNER))).toEqual(['snap-d4', 'snap-d3', 'snap-d2', 'snap-d1']);
  });

  test('retain 3', () => {
    expect(ids(chooseSnapshotsToDelete(daily(5), 3, OWNER))).toEqual(['snap-d4', 'snap-d3']);
  });

  test('retain 7 with 10 snapshots deletes the 3 oldest; with 7 or fewer deletes nothing', () => {
    expect(ids(chooseSnapshotsToDelete(daily(10), 7, OWNER))).toEqual(['snap-d9', 'snap-d8', 'snap-d7']);
    expect(chooseSnapshotsToDelete(daily(7), 7, OWNER)).toEqual([]);
    expect(chooseSnapshotsToDelete(daily(3), 7, OWNER)).toEqual([]);
    expect(chooseSnapshotsToDelete([], 7, OWNER)).toEqual([]);
  });

  test('orders by StartTime, not by input order or id', () => {
    const shuffled = [snap('snap-a', 3), snap('snap-z', 0), snap('snap-m', 5), snap('snap-b', 1), snap('snap-y', 4), snap('snap-c', 2)];
    expect(ids(chooseSnapshotsToDelete(shuffled, 2, OWNER))).toEqual(['snap-m', 'snap-y', 'snap-a', 'snap-c']);
  });

  test('equal start times are ordered by id, the same way every time', () => {
    const tied = [snap('snap-2', 1), snap('snap-3', 1), snap('snap-1', 1)];
    expect(ids(chooseSnapshotsToDelete(tied, 1, OWNER))).toEqual(['snap-1', 'snap-2']);
    expect(ids(chooseSnapshotsToDelete([...tied].reverse(), 1, OWNER))).toEqual(['snap-1', 'snap-2']);
  });

  test('pending snapshots are never chosen and do not count toward the retained ones', () => {
    const list = [snap('snap-p0', 0, 'pending'), ...daily(4).map((s, i) => snap(s.SnapshotId as string, i + 1)), snap('snap-p9', 9, 'pending')];
    // Completed: d0 (1 day) .. d3 (4 days). Retain 2: d3, d2 go; both pending stay.
    expect(ids(chooseSnapshotsToDelete(list, 2, OWNER))).toEqual(['snap-d3', 'snap-d2']);
  });

  test('snapshots in error state or without a StartTime are never chosen', () => {
    const list = [...daily(2), snap('snap-err', 9, 'error'), { ...snap('snap-notime', 9), StartTime: undefined }];
    expect(ids(chooseSnapshotsToDelete(list, 1, OWNER))).toEqual(['snap-d1']);
  });

  test('foreign snapshots are never chosen: no rotation tag, another rotation, another node', () => {
    const foreign = [
      snap('snap-manual', 30, 'completed', { 'casper:node': NODE }),
      snap('snap-lifecycle', 31, 'completed', { 'casper:node': NODE, 'casper:created-by': 'data-volume-lifecycle' }),
      snap('snap-other-rotation', 32, 'completed', { 'casper:node': NODE, 'casper:rotation': 'OtherRotation' }),
      snap('snap-other-node', 33, 'completed', { 'casper:node': 'mainnet-reader', 'casper:rotation': ROTATION }),
      snap('snap-untagged', 34, 'completed', {}),
    ];
    expect(ids(chooseSnapshotsToDelete([...daily(3), ...foreign], 1, OWNER))).toEqual(['snap-d2', 'snap-d1']);
    // Foreign ones are not counted either: with only foreign ones, nothing is chosen.
    expect(chooseSnapshotsToDelete(foreign, 1, OWNER)).toEqual([]);
    // Without an owner, snapshots lacking a rotation tag are still never chosen.
    expect(ids(chooseSnapshotsToDelete([...daily(2), foreign[0], foreign[1], foreign[4]], 1))).toEqual(['snap-d1']);
  });

  test('the newest completed snapshot is never chosen, whatever the retain count', () => {
    for (const retain of [0, -1, 0.5, Number.NaN]) {
      expect(ids(chooseSnapshotsToDelete(daily(3), retain, OWNER))).toEqual(['snap-d2', 'snap-d1']);
    }
    // Newest completed kept even when newer pending ones exist.
    expect(ids(chooseSnapshotsToDelete([snap('snap-p', 0, 'pending'), snap('snap-c1', 1), snap('snap-c2', 2)], 0, OWNER))).toEqual(['snap-c2']);
  });

  test('a snapshot listed twice (paging overlap) is chosen once', () => {
    const list = daily(3);
    expect(ids(chooseSnapshotsToDelete([...list, list[2], list[1]], 1, OWNER))).toEqual(['snap-d2', 'snap-d1']);
  });
});

// ---------------------------------------------------------------------------
// Configuration from the environment
// ---------------------------------------------------------------------------

describe('configFromEnv', () => {
  const env = {
    VOLUME_TAG_KEY: 'casper:node',
    VOLUME_TAG_VALUE: NODE,
    VOLUME_ROLE_TAG: 'casper:role=data',
    RETAIN_COUNT: '5',
    ROTATION_ID: ROTATION,
    SYNC_METRIC_NAMESPACE: 'casper-testnet',
    SYNC_METRIC_NAME: 'Synced',
    SYNC_METRIC_DIMENSIONS: '{"NodeName":"testnet-reader"}',
    SYNC_WINDOW_MINUTES: '15',
    MISSING_SYNC_METRIC: 'snapshot',
    METRIC_NAMESPACE: 'casper-node',
  };

  test('reads every variable', () => {
    expect(configFromEnv(env)).toEqual({
      volumeTagKey: 'casper:node',
      volumeTagValue: NODE,
      volumeRoleTag: { key: 'casper:role', value: 'data' },
      retainCount: 5,
      rotationId: ROTATION,
      sync: { namespace: 'casper-testnet', metricName: 'Synced', dimensions: { NodeName: NODE }, windowMinutes: 15, onMissing: 'snapshot' },
      metricNamespace: 'casper-node',
    });
  });

  test('defaults: retain 7, no role tag, sync off when the namespace is empty; window 10 and skip when on', () => {
    const minimal = { VOLUME_TAG_KEY: 'k', VOLUME_TAG_VALUE: 'v', ROTATION_ID: 'r', METRIC_NAMESPACE: 'ns', VOLUME_ROLE_TAG: '', SYNC_METRIC_NAMESPACE: '' };
    expect(configFromEnv(minimal)).toEqual({
      volumeTagKey: 'k', volumeTagValue: 'v', volumeRoleTag: undefined, retainCount: 7, rotationId: 'r', sync: undefined, metricNamespace: 'ns',
    });
    expect(configFromEnv({ ...minimal, SYNC_METRIC_NAMESPACE: 'casper-testnet' }).sync).toEqual({
      namespace: 'casper-testnet', metricName: 'Synced', dimensions: {}, windowMinutes: 10, onMissing: 'skip',
    });
  });

  test.each([
    [{ RETAIN_COUNT: '0' }, /RETAIN_COUNT must be a whole number of at least 1, got "0"/],
    [{ RETAIN_COUNT: '-3' }, /RETAIN_COUNT/],
    [{ RETAIN_COUNT: 'seven' }, /RETAIN_COUNT/],
    [{ ROTATION_ID: '' }, /ROTATION_ID is required/],
    [{ VOLUME_TAG_VALUE: ' ' }, /VOLUME_TAG_VALUE is required/],
    [{ VOLUME_ROLE_TAG: 'casper:role' }, /VOLUME_ROLE_TAG must look like "key=value"/],
    [{ SYNC_METRIC_DIMENSIONS: '["NodeName"]' }, /SYNC_METRIC_DIMENSIONS must be a JSON object/],
    [{ SYNC_METRIC_DIMENSIONS: '{nope' }, /SYNC_METRIC_DIMENSIONS must be a JSON object/],
    [{ MISSING_SYNC_METRIC: 'maybe' }, /MISSING_SYNC_METRIC must be "skip" or "snapshot"/],
    [{ SYNC_WINDOW_MINUTES: '0' }, /SYNC_WINDOW_MINUTES/],
  ])('rejects %j', (override, message) => {
    expect(() => configFromEnv({ ...env, ...override })).toThrow(SnapshotRotationConfigError);
    expect(() => configFromEnv({ ...env, ...override })).toThrow(message);
  });

  test('rotateSnapshots rejects a retain count below 1 before any AWS call', async () => {
    const calls: string[] = [];
    await expect(rotateSnapshots(testConfig({ retainCount: 0 }), { countCall: (op) => calls.push(op) })).rejects.toThrow(/RETAIN_COUNT/);
    expect(calls).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Against moto
// ---------------------------------------------------------------------------

describe('rotateSnapshots against moto', () => {
  let moto: MotoServer;
  let ec2: EC2Client;

  beforeAll(async () => {
    moto = await startMoto();
    ec2 = ec2Client(moto.endpoint);
  });
  beforeEach(async () => { await moto.reset(); });
  afterAll(async () => { await moto.stop(); });

  /** Per volume id: whether the volume exists, and the start time of its newest completed snapshot. */
  async function dataCopies(): Promise<Map<string, { volume: boolean; newestSnapshot: number }>> {
    const copies = new Map<string, { volume: boolean; newestSnapshot: number }>();
    for (const v of (await ec2.send(new DescribeVolumesCommand({}))).Volumes ?? []) {
      copies.set(v.VolumeId!, { volume: true, newestSnapshot: -1 });
    }
    for (const s of await allSnapshots(moto.endpoint)) {
      if (s.State !== 'completed' || !s.VolumeId) continue;
      const c = copies.get(s.VolumeId) ?? { volume: false, newestSnapshot: -1 };
      copies.set(s.VolumeId, { ...c, newestSnapshot: Math.max(c.newestSnapshot, s.StartTime?.getTime() ?? 0) });
    }
    return copies;
  }

  /**
   * Runs the rotation against moto with captured sinks and a short settle
   * pause, and asserts the invariant whether it succeeds or fails: every copy
   * of the newest data that existed before still exists after.
   */
  function rotate(config: SnapshotRotationConfig, extra: RotateOptions & { sdkCalls?: Record<string, number> } = {}) {
    const out = capture();
    const { sdkCalls, ...options } = extra;
    const promise = (async () => {
      const before = await dataCopies();
      try {
        return await rotateSnapshots(config, {
          ec2: options.ec2 ?? ec2Client(moto.endpoint, { sdkCalls }),
          cloudwatch: cloudwatchClient(moto.endpoint),
          log: out.log,
          emit: out.emit,
          settleMs: 300,
          ...options,
        });
      } finally {
        // The invariant: each volume's newest data still exists afterwards, as
        // the volume itself or as a completed snapshot at least as new.
        const after = await dataCopies();
        const lost = [...before].filter(([id, b]) => {
          const a = after.get(id);
          return !(a?.volume || (a && a.newestSnapshot >= b.newestSnapshot && a.newestSnapshot >= 0));
        }).map(([id]) => id);
        expect(lost).toEqual([]);
      }
    })();
    return { out, promise };
  }

  /** A summary's snapshot lists besides `created`, all empty: a run that found no snapshot to keep back, delete or leave. */
  const NOTHING_DELETED = { recent: [], duplicatesRemoved: [], deleted: [], alreadyDeleted: [], inUse: [], deferred: [] };

  /** Asserts what a run that skipped at `at` for `reason` left: one log line, one EMF record (SnapshotSkipped and the reason), no snapshot. */
  async function expectSkipped(out: ReturnType<typeof rotate>['out'], at: Date, reason: string) {
    expect(out.logs).toEqual([`snapshot rotation: skipped: ${reason}`]);
    expect(out.emf).toEqual([{
      _aws: {
        Timestamp: at.getTime(),
        CloudWatchMetrics: [{ Namespace: 'casper-node', Dimensions: [['NodeName']], Metrics: [{ Name: 'SnapshotSkipped', Unit: 'Count' }] }],
      },
      NodeName: NODE,
      RotationId: ROTATION,
      SkipReason: reason,
      SnapshotSkipped: 1,
    }]);
    expect(await allSnapshots(moto.endpoint)).toEqual([]);
  }

  test('creates one tagged snapshot of the tagged volume, with its summary and metrics', async () => {
    const volumeId = await createVolume(ec2);
    const at = new Date();
    const sdkCalls: Record<string, number> = {};
    const counted: string[] = [];
    const { out, promise } = rotate(testConfig(), { now: () => at, sdkCalls, countCall: (op) => counted.push(op) });
    const summary = await promise;

    const snapshots = await allSnapshots(moto.endpoint);
    expect(snapshots).toHaveLength(1);
    const [s] = snapshots;
    expect(s.VolumeId).toBe(volumeId);
    expect(s.State).toBe('completed');
    expect(tagRecord(s.Tags)).toEqual({ ...rotationTags(), Name: `${NODE}-${at.toISOString()}` });
    expect(s.Description).toBe(`Snapshot rotation ${ROTATION} of ${volumeId} (casper:node=${NODE}) at ${at.toISOString()}`);

    const age = summary.newestCompletedSnapshotAgeSeconds as number;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThanOrEqual(1);
    expect(summary).toEqual({
      rotationId: ROTATION,
      volumeIds: [volumeId],
      created: [s.SnapshotId],
      ...NOTHING_DELETED,
      newestCompletedSnapshotAgeSeconds: age,
      apiCalls: { DescribeVolumes: 1, DescribeSnapshots: 2, CreateSnapshot: 1 },
    });
    // The counter saw what the SDK sent, call for call.
    expect(sdkCalls).toEqual(summary.apiCalls);
    expect(counted).toEqual(['DescribeVolumes', 'DescribeSnapshots', 'CreateSnapshot', 'DescribeSnapshots']);

    expect(out.emf).toEqual([{
      _aws: {
        Timestamp: at.getTime(),
        CloudWatchMetrics: [{
          Namespace: 'casper-node',
          Dimensions: [['NodeName']],
          Metrics: [
            { Name: 'SnapshotCreated', Unit: 'Count' },
            { Name: 'SnapshotsDeleted', Unit: 'Count' },
            { Name: 'SnapshotSkipped', Unit: 'Count' },
            { Name: 'NewestCompletedSnapshotAgeSeconds', Unit: 'Seconds' },
            { Name: 'SnapshotRotationSucceeded', Unit: 'Count' },
          ],
        }],
      },
      NodeName: NODE,
      RotationId: ROTATION,
      SnapshotCreated: 1,
      SnapshotsDeleted: 0,
      SnapshotSkipped: 0,
      NewestCompletedSnapshotAgeSeconds: age,
      SnapshotRotationSucceeded: 1,
    }]);
    expect(out.logs).toContain(`snapshot rotation: created snapshot ${s.SnapshotId} of volume ${volumeId}`);
  });

  test('ignores volumes without the tag, without the role tag, or of another node', async () => {
    const wanted = await createVolume(ec2);
    await createVolume(ec2, {});
    await createVolume(ec2, { 'casper:node': NODE });
    await createVolume(ec2, { 'casper:node': 'mainnet-reader', 'casper:role': 'data' });
    await createVolume(ec2, { 'casper:node': NODE, 'casper:role': 'logs' });
    const { promise } = rotate(testConfig());
    const summary = await promise;
    const snapshots = await allSnapshots(moto.endpoint);
    expect(snapshots.map((s) => s.VolumeId)).toEqual([wanted]);
    expect(summary.volumeIds).toEqual([wanted]);
    expect(summary.created).toEqual([snapshots[0].SnapshotId]);
  });

  test('without a role tag configured, snapshots every volume with the volume tag', async () => {
    const a = await createVolume(ec2, { 'casper:node': NODE });
    const b = await createVolume(ec2, { 'casper:node': NODE, 'casper:role': 'data' });
    await createVolume(ec2, { 'casper:node': 'mainnet-reader' });
    const { promise } = rotate(testConfig({ volumeRoleTag: undefined }));
    const summary = await promise;
    expect(summary.volumeIds).toEqual([a, b].sort());
    expect(summary.created).toHaveLength(2);
    expect((await allSnapshots(moto.endpoint)).map((s) => s.VolumeId).sort()).toEqual([a, b].sort());
    for (const s of await allSnapshots(moto.endpoint)) {
      expect(tagRecord(s.Tags)).toEqual({ 'casper:node': NODE, 'casper:rotation': ROTATION, 'casper:created-by': 'snapshot-rotation', 'Name': expect.any(String) });
    }
  });

  test('no tagged volume: skips with a reason and SnapshotSkipped, creates nothing', async () => {
    await createVolume(ec2, { 'casper:node': 'mainnet-reader', 'casper:role': 'data' });
    const at = new Date();
    const { out, promise } = rotate(testConfig(), { now: () => at });
    const summary = await promise;
    expect(summary).toEqual({
      rotationId: ROTATION,
      volumeIds: [],
      created: [],
      ...NOTHING_DELETED,
      skipped: 'no-volume',
      skippedMessage: `no volume tagged casper:node=${NODE} and casper:role=data`,
      apiCalls: { DescribeVolumes: 1 },
    });
    await expectSkipped(out, at, `no volume tagged casper:node=${NODE} and casper:role=data`);
  });

  test('retention keeps the newest RETAIN_COUNT and deletes the rest, oldest first', async () => {
    const volumeId = await createVolume(ec2);
    const seeded = await seedSpacedSnapshots(ec2, volumeId, 5, rotationTags());
    await nextSecond();
    // 15 minutes ahead: the seeded snapshots are not "started within 10 minutes".
    const { out, promise } = rotate(testConfig({ retainCount: 3 }), { now: clockAhead(15) });
    const summary = await promise;
    expect(summary.created).toHaveLength(1);
    expect(summary.deleted).toEqual([seeded[0], seeded[1], seeded[2]]);
    expect(summary.alreadyDeleted).toEqual([]);
    expect(await allSnapshotIds(moto.endpoint)).toEqual([summary.created[0], seeded[3], seeded[4]].sort());
    expect(summary.apiCalls).toEqual({ DescribeVolumes: 1, DescribeSnapshots: 2, CreateSnapshot: 1, DeleteSnapshot: 3 });
    expect(out.emf).toHaveLength(1);
    expect(out.emf[0]).toMatchObject({ SnapshotCreated: 1, SnapshotsDeleted: 3, SnapshotSkipped: 0, SnapshotRotationSucceeded: 1 });
    // The newest completed is the new one, 15 minutes "old" by the clock given.
    expect(out.emf[0].NewestCompletedSnapshotAgeSeconds).toBeGreaterThanOrEqual(899);
    expect(out.emf[0].NewestCompletedSnapshotAgeSeconds).toBeLessThanOrEqual(901);
  });

  test('with RETAIN_COUNT 1 only the new snapshot remains', async () => {
    const volumeId = await createVolume(ec2);
    const seeded = await seedSnapshots(ec2, volumeId, 4, rotationTags());
    await nextSecond();
    const { promise } = rotate(testConfig({ retainCount: 1 }), { now: clockAhead(15) });
    const summary = await promise;
    expect([...summary.deleted].sort()).toEqual([...seeded].sort());
    expect(await allSnapshotIds(moto.endpoint)).toEqual(summary.created);
  });

  test('foreign snapshots are never deleted: no rotation tag, another rotation id, another node', async () => {
    const volumeId = await createVolume(ec2);
    const otherVolume = await createVolume(ec2, { 'casper:node': 'mainnet-reader', 'casper:role': 'data' });
    const own = await seedSnapshots(ec2, volumeId, 2, rotationTags());
    const foreign = [
      await createSnapshot(ec2, volumeId, {}),
      await createSnapshot(ec2, volumeId, nodeVolumeTags()),
      await createSnapshot(ec2, volumeId, { ...nodeVolumeTags(), 'casper:created-by': 'data-volume-lifecycle' }),
      await createSnapshot(ec2, volumeId, rotationTags(NODE, 'AnotherRotation')),
      await createSnapshot(ec2, otherVolume, rotationTags('mainnet-reader')),
      await createSnapshot(ec2, volumeId, rotationTags('mainnet-reader')),
    ];
    await nextSecond();
    const { promise } = rotate(testConfig({ retainCount: 1 }), { now: clockAhead(15) });
    const summary = await promise;
    expect([...summary.deleted].sort()).toEqual([...own].sort());
    expect(await allSnapshotIds(moto.endpoint)).toEqual([...foreign, ...summary.created].sort());
  });

  test('a second run within 10 minutes creates nothing and keeps the set', async () => {
    const volumeId = await createVolume(ec2);
    const first = await rotate(testConfig()).promise;
    const { out, promise } = rotate(testConfig());
    const second = await promise;
    expect(second.created).toEqual([]);
    expect(second.recent).toEqual([{ volumeId, snapshotId: first.created[0] }]);
    expect(second.deleted).toEqual([]);
    expect(second.apiCalls).toEqual({ DescribeVolumes: 1, DescribeSnapshots: 1 });
    expect(out.logs[0]).toMatch(new RegExp(`^snapshot rotation: volume ${volumeId} already has snapshot ${first.created[0]} \\(completed\\) ` +
      'of this rotation started at .*, within 10 minutes: not creating another$'));
    expect(out.emf[0]).toMatchObject({ SnapshotCreated: 0, SnapshotsDeleted: 0, SnapshotRotationSucceeded: 1 });
    expect(await allSnapshotIds(moto.endpoint)).toEqual(first.created);
  });

  test('paging: more than 1,000 snapshots are all seen and the old ones all deleted', async () => {
    const volumeId = await createVolume(ec2);
    const old = await seedSnapshots(ec2, volumeId, 1000, rotationTags(), 25);
    await nextSecond();
    const recent = await seedSpacedSnapshots(ec2, volumeId, 6, rotationTags());
    await nextSecond();
    const { promise } = rotate(testConfig({ retainCount: 7 }), { now: clockAhead(15) });
    const summary = await promise;
    expect(summary.created).toHaveLength(1);
    expect(summary.deleted).toHaveLength(1000);
    expect([...summary.deleted].sort()).toEqual([...old].sort());
    expect(await allSnapshotIds(moto.endpoint)).toEqual([...recent, ...summary.created].sort());
    // 1,006 then 1,007 snapshots at 1,000 a page: two pages before and two after creating.
    expect(summary.apiCalls).toEqual({ DescribeVolumes: 1, DescribeSnapshots: 4, CreateSnapshot: 1, DeleteSnapshot: 1000 });
  }, 300_000); // 1,007 snapshots through moto: about a minute alone, several on a busy machine

  /**
   * A node whose data moved to a new volume: three rotation snapshots of the
   * old volume (gone now), a second apart, and the new volume.
   */
  async function movedNode(): Promise<{ volumeId: string; seeded: string[] }> {
    const oldVolume = await createVolume(ec2);
    const seeded = await seedSpacedSnapshots(ec2, oldVolume, 3, rotationTags());
    await ec2.send(new DeleteVolumeCommand({ VolumeId: oldVolume }));
    const volumeId = await createVolume(ec2);
    await nextSecond();
    return { volumeId, seeded };
  }

  /** Checks the outcome of two runs at once: one new snapshot, one deletion of the oldest, same set. */
  async function expectOneOutcome(volumeId: string, seeded: string[], runs: ReturnType<typeof rotate>[], summaries: RotationSummary[]) {
    const created = summaries.flatMap((r) => r.created);
    expect(created).toHaveLength(1);
    const winner = created[0];
    // Between them they deleted the oldest seeded snapshot, once; the other run,
    // if it also chose it, found it already gone.
    expect(summaries.flatMap((r) => r.deleted)).toEqual([seeded[0]]);
    expect([[seeded[0]], []]).toContainEqual(summaries.flatMap((r) => r.alreadyDeleted));
    expect(await allSnapshotIds(moto.endpoint)).toEqual([winner, seeded[1], seeded[2]].sort());
    const emf = runs.flatMap((r) => r.out.emf);
    expect(emf.map((e) => e.SnapshotCreated).sort()).toEqual([0, 1]);
    expect(emf.map((e) => e.SnapshotRotationSucceeded)).toEqual([1, 1]);

    // A third run sees the same set and changes nothing.
    const third = await rotate(testConfig({ retainCount: 3 })).promise;
    expect(third).toMatchObject({ created: [], deleted: [], recent: [{ volumeId, snapshotId: winner }] });
    expect(await allSnapshotIds(moto.endpoint)).toEqual([winner, seeded[1], seeded[2]].sort());
    return winner;
  }

  test('two runs at once: exactly one new snapshot, the same final set, no error', async () => {
    const { volumeId, seeded } = await movedNode();
    const runs = [rotate(testConfig({ retainCount: 3 })), rotate(testConfig({ retainCount: 3 }))];
    const summaries = await Promise.all(runs.map((r) => r.promise));
    await expectOneOutcome(volumeId, seeded, runs, summaries);
  });

  test('two runs that both pass the recent-snapshot check: the later snapshot is deleted by its run', async () => {
    const { volumeId, seeded } = await movedNode();
    // Hold each run's CreateSnapshot until both runs have reached it.
    const barrier = createBarrier(2);
    const runs = [0, 1].map(() => {
      const client = ec2Client(moto.endpoint);
      client.middlewareStack.add((next, context) => async (args) => {
        if (context.commandName === 'CreateSnapshotCommand') await barrier();
        return next(args);
      }, { step: 'initialize', name: 'createBarrier' });
      return rotate(testConfig({ retainCount: 3 }), { ec2: client });
    });
    const summaries = await Promise.all(runs.map((r) => r.promise));
    const winner = await expectOneOutcome(volumeId, seeded, runs, summaries);

    const removed = summaries.flatMap((r) => r.duplicatesRemoved);
    expect(removed).toHaveLength(1);
    expect(removed[0]).not.toBe(winner);
    const loser = runs[summaries[0].duplicatesRemoved.length ? 0 : 1];
    expect(loser.out.logs).toContain(`snapshot rotation: a concurrent run also snapshotted volume ${volumeId}: ` +
      `keeping its ${winner}, deleting this run's ${removed[0]}`);
    for (const r of summaries) expect(r.apiCalls.CreateSnapshot).toBe(1);
  });

  test('a snapshot deleted by someone else between listing and deleting is fine', async () => {
    const volumeId = await createVolume(ec2);
    const seeded = await seedSnapshots(ec2, volumeId, 3, rotationTags());
    await nextSecond();
    // An EC2 client whose first DeleteSnapshot finds its snapshot already deleted.
    const racing = ec2Client(moto.endpoint);
    let raced = false;
    racing.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'DeleteSnapshotCommand' && !raced) {
        raced = true;
        await ec2.send(new DeleteSnapshotCommand({ SnapshotId: (args.input as { SnapshotId: string }).SnapshotId }));
      }
      return next(args);
    }, { step: 'initialize', name: 'concurrentDelete' });
    const { out, promise } = rotate(testConfig({ retainCount: 1 }), { now: clockAhead(15), ec2: racing });
    const summary = await promise;
    expect(summary.alreadyDeleted).toHaveLength(1);
    expect(summary.deleted).toHaveLength(2);
    expect([...summary.deleted, ...summary.alreadyDeleted].sort()).toEqual([...seeded].sort());
    expect(out.emf[0]).toMatchObject({ SnapshotsDeleted: 2, SnapshotRotationSucceeded: 1 });
    expect(await allSnapshotIds(moto.endpoint)).toEqual(summary.created);
  });

  test('a deletion failing otherwise fails the run after the others, without SnapshotRotationSucceeded', async () => {
    const volumeId = await createVolume(ec2);
    const seeded = await seedSpacedSnapshots(ec2, volumeId, 3, rotationTags());
    await nextSecond();
    const failing = ec2Client(moto.endpoint);
    failing.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'DeleteSnapshotCommand' && (args.input as { SnapshotId: string }).SnapshotId === seeded[0]) {
        throw Object.assign(new Error('You are not authorized to perform this operation.'), { name: 'UnauthorizedOperation' });
      }
      return next(args);
    }, { step: 'initialize', name: 'failDelete' });
    const { out, promise } = rotate(testConfig({ retainCount: 1 }), { now: clockAhead(15), ec2: failing });
    await expect(promise).rejects.toThrow(/1 snapshot deletion\(s\) failed \(first: snap-\w+: UnauthorizedOperation\)/);
    expect(out.emf).toHaveLength(1);
    expect(out.emf[0]).toMatchObject({ SnapshotCreated: 1, SnapshotsDeleted: 2 });
    expect(out.emf[0]).not.toHaveProperty('SnapshotRotationSucceeded');
    expect((await allSnapshotIds(moto.endpoint))).toContain(seeded[0]);
    expect(await allSnapshotIds(moto.endpoint)).toHaveLength(2);
  });

  describe('sync check (GetMetricData served by moto)', () => {
    const synced = (overrides: Partial<SnapshotRotationConfig['sync']> = {}) => testConfig({
      sync: { namespace: 'casper-testnet', metricName: 'Synced', dimensions: { NodeName: NODE }, windowMinutes: 10, onMissing: 'skip', ...overrides },
    });

    test('a Synced datapoint of 1 within the window: snapshot', async () => {
      await createVolume(ec2);
      await putSynced(moto.endpoint, [{ minutesAgo: 8, value: 0 }, { minutesAgo: 3, value: 1 }, { minutesAgo: 1, value: 0 }]);
      const summary = await rotate(synced()).promise;
      expect(summary.skipped).toBeUndefined();
      expect(summary.created).toHaveLength(1);
      expect(summary.apiCalls).toEqual({ GetMetricData: 1, DescribeVolumes: 1, DescribeSnapshots: 2, CreateSnapshot: 1 });
      expect(await allSnapshotIds(moto.endpoint)).toEqual(summary.created);
    });

    test('only 0 within the window (a 1 before it does not count): skip with metric and no snapshot', async () => {
      await createVolume(ec2);
      await putSynced(moto.endpoint, [{ minutesAgo: 30, value: 1 }, { minutesAgo: 6, value: 0 }, { minutesAgo: 2, value: 0 }]);
      const at = new Date();
      const { out, promise } = rotate(synced(), { now: () => at });
      const summary = await promise;
      expect(summary).toMatchObject({
        skipped: 'not-synced',
        skippedMessage: 'node not synced in the last 10 minutes',
        created: [],
        deleted: [],
        apiCalls: { GetMetricData: 1 },
      });
      await expectSkipped(out, at, 'node not synced in the last 10 minutes');
    });

    test('no datapoints (only another node\'s): skip by default', async () => {
      await createVolume(ec2);
      await putSynced(moto.endpoint, [{ minutesAgo: 2, value: 1, node: 'mainnet-reader' }]);
      const at = new Date();
      const { out, promise } = rotate(synced(), { now: () => at });
      const summary = await promise;
      expect(summary).toMatchObject({ skipped: 'no-sync-datapoints', created: [], apiCalls: { GetMetricData: 1 } });
      await expectSkipped(out, at, 'no Synced datapoints in the last 10 minutes');
    });

    test('no datapoints with MISSING_SYNC_METRIC=snapshot: snapshot', async () => {
      await createVolume(ec2);
      const { out, promise } = rotate(synced({ onMissing: 'snapshot' }));
      const summary = await promise;
      expect(summary.skipped).toBeUndefined();
      expect(summary.created).toHaveLength(1);
      expect(out.logs[0]).toBe('snapshot rotation: no Synced datapoints in the last 10 minutes; MISSING_SYNC_METRIC=snapshot, snapshotting anyway');
      expect(out.emf[0]).toMatchObject({ SnapshotCreated: 1, SnapshotSkipped: 0, SnapshotRotationSucceeded: 1 });
      expect(await allSnapshotIds(moto.endpoint)).toEqual(summary.created);
    });

    test('datapoints of 0 with MISSING_SYNC_METRIC=snapshot still skip', async () => {
      await createVolume(ec2);
      await putSynced(moto.endpoint, [{ minutesAgo: 2, value: 0 }]);
      const summary = await rotate(synced({ onMissing: 'snapshot' })).promise;
      expect(summary.skipped).toBe('not-synced');
      expect(await allSnapshots(moto.endpoint)).toEqual([]);
    });
  });
});
