/**
 * The data-volume lifecycle handler against moto (EC2 on 127.0.0.1).
 *
 * EC2 (instances, volumes, attach/detach, snapshots, tags, Elastic IP) is
 * served by moto. CompleteLifecycleAction and RecordLifecycleActionHeartbeat
 * are not implemented by moto 5.2.5 (see the first test), so they go to the
 * recording `LifecycleDouble`. Where moto cannot model a state (a snapshot
 * still pending, an instance shutting down or terminated while its volume is
 * still attached: moto detaches everything on TerminateInstances), the test
 * rewrites that one field of moto's answer; every call still reaches moto.
 *
 * Every scenario ends with the invariant: at least one copy of the newest
 * data is left (a node volume or a completed node snapshot).
 */
import { AutoScalingClient, CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { AttachVolumeCommand, DeleteVolumeCommand, DescribeAddressesCommand, StopInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  AZ_A, AZ_B, Ec2Tap, FakeClock, handlerOptions, lifecycleEvent, LifecycleDouble, NODE, NODE_TAGS, Output, serviceError, tagMap, testConfig, World,
} from './lifecycle-harness';
import { handler } from '../../../src/storage/data-volume-lifecycle.lambda';
import {
  configFromEnv,
  handleLifecycleEvent,
  LifecycleConfig,
  LifecycleResult,
} from '../../../src/storage/handlers/data-volume-lifecycle';
import { motoEnv, MotoServer, startMoto } from '../../support/moto';

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';

/** moto keeps CreateTime/StartTime to the second: space out what must sort by age. */
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1_100));

let moto: MotoServer;
let world: World;
let tap: Ec2Tap;
let lifecycle: LifecycleDouble;
let clock: FakeClock;

beforeAll(async () => { moto = await startMoto(); });
afterAll(async () => { await moto?.stop(); });
beforeEach(async () => {
  await moto.reset();
  world = await World.create(moto.endpoint);
  tap = new Ec2Tap(moto.endpoint);
  lifecycle = new LifecycleDouble(moto.endpoint);
  clock = new FakeClock();
});

async function run(event: ReturnType<typeof lifecycleEvent>, overrides: Partial<LifecycleConfig> = {}): Promise<LifecycleResult & { out: Output }> {
  const { options, output } = handlerOptions(tap, lifecycle, clock, testConfig(world.allocationId, overrides));
  const result = await handleLifecycleEvent(event, options);
  return { ...result, out: output };
}

async function expectLaunched(instanceId: string, volumeId: string) {
  const volume = await world.volume(volumeId);
  expect(volume?.Attachments).toEqual([expect.objectContaining({ InstanceId: instanceId, Device: '/dev/sdf', State: 'attached' })]);
  expect((await world.instanceTags(instanceId))['casper:data-volume']).toBe(volumeId);
  const address = await world.ec2.send(new DescribeAddressesCommand({ AllocationIds: [world.allocationId] }));
  expect(address.Addresses?.[0]?.InstanceId).toBe(instanceId);
  expect(tap.callsOf('AssociateAddress')).toEqual([{
    command: 'AssociateAddress',
    input: {
      AllocationId: world.allocationId, InstanceId: instanceId, AllowReassociation: true,
    },
  }]);
}

function expectSuccessMetric(out: Output) {
  expect(out.errors).toEqual([]);
  expect(out.metrics).toEqual([expect.objectContaining({
    _aws: expect.objectContaining({
      CloudWatchMetrics: [{ Namespace: 'casper-casper-test', Dimensions: [['NodeName']], Metrics: [{ Name: 'LifecycleSuccesses', Unit: 'Count' }] }],
    }),
    NodeName: NODE,
    LifecycleSuccesses: 1,
  })]);
}

function expectFailure(result: LifecycleResult & { out: Output }, instanceId: string, message: RegExp) {
  expect(result.result).toBe('ABANDON');
  expect(result.out.errors).toHaveLength(1);
  expect(result.out.errors[0]).toMatch(new RegExp(`^ERROR lifecycle (LAUNCHING|TERMINATING) instance ${instanceId}: `));
  expect(result.out.errors[0]).toMatch(message);
  expect(result.out.errors[0]).not.toContain('\n');
  expect(result.out.metrics).toEqual([expect.objectContaining({
    _aws: expect.objectContaining({
      CloudWatchMetrics: [{ Namespace: 'casper-casper-test', Dimensions: [['NodeName']], Metrics: [{ Name: 'LifecycleFailures', Unit: 'Count' }] }],
    }),
    NodeName: NODE,
    LifecycleFailures: 1,
  })]);
  expect(lifecycle.completions()).toEqual(['ABANDON']);
}

test('moto 5.2.5 serves no CompleteLifecycleAction or RecordLifecycleActionHeartbeat (hence LifecycleDouble)', async () => {
  const client = new AutoScalingClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const input = { AutoScalingGroupName: 'g', LifecycleHookName: 'h', LifecycleActionToken: 't', InstanceId: 'i-0123456789abcdef0' };
  await expect(client.send(new CompleteLifecycleActionCommand({ ...input, LifecycleActionResult: 'CONTINUE' }))).rejects.toThrow();
  await expect(client.send(new RecordLifecycleActionHeartbeatCommand(input))).rejects.toThrow();
});

describe('LAUNCHING', () => {
  test('a: an available volume in the instance AZ is attached, the instance tagged, the EIP associated, CONTINUE', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'attached', volumeId });
    await expectLaunched(instanceId, volumeId);
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
    expect(lifecycle.calls.find((c) => c.command === 'CompleteLifecycleAction')?.input).toEqual({
      AutoScalingGroupName: 'casper-node-asg',
      LifecycleHookName: `${NODE}-data-volume-launch`,
      LifecycleActionToken: `token-LAUNCHING-${instanceId}`,
      InstanceId: instanceId,
      LifecycleActionResult: 'CONTINUE',
    });
    for (const command of ['CreateVolume', 'CreateSnapshot', 'DeleteVolume', 'DetachVolume']) expect(tap.callsOf(command)).toEqual([]);
    expectSuccessMetric(result.out);
    await world.expectNewestDataKept({ volumeId });
  });

  test.each([
    ['shutting-down', false],
    ['stopping', false],
    ['terminated', true],
  ])('b: the volume is in use on an old instance that is %s: detached (Force=%s), then attached', async (state, force) => {
    const volumeId = await world.createVolume(AZ_A);
    const oldId = await world.runInstance(AZ_A);
    await world.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: oldId, Device: '/dev/sdf' }));
    const instanceId = await world.runInstance(AZ_A);
    // moto detaches every volume on TerminateInstances and has no shutting-down or
    // stopping state: report the old instance in that state while moto keeps it attached.
    tap.rewrite('DescribeInstances', (output) => {
      for (const i of output.Reservations.flatMap((r: any) => r.Instances)) if (i.InstanceId === oldId) i.State = { Name: state };
    });

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'detached-and-attached', volumeId });
    expect(tap.callsOf('DetachVolume').map((c) => c.input)).toEqual([{ VolumeId: volumeId, InstanceId: oldId, Device: '/dev/sdf', Force: force }]);
    await expectLaunched(instanceId, volumeId);
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
    expectSuccessMetric(result.out);
    await world.expectNewestDataKept({ volumeId });
  });

  test('b: the volume is in use on an old instance that moto really stopped: detached without force, then attached', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const oldId = await world.runInstance(AZ_A);
    await world.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: oldId, Device: '/dev/sdf' }));
    await world.ec2.send(new StopInstancesCommand({ InstanceIds: [oldId] }));
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'detached-and-attached', volumeId });
    expect(tap.callsOf('DetachVolume').map((c) => c.input.Force)).toEqual([false]);
    await expectLaunched(instanceId, volumeId);
    await world.expectNewestDataKept({ volumeId });
  });

  test('b: the volume detaches by itself after a few polls (old instance ends its termination): attached, heartbeats recorded', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const oldId = await world.runInstance(AZ_A);
    await world.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: oldId, Device: '/dev/sdf' }));
    const instanceId = await world.runInstance(AZ_A);
    // The old instance is running (in Terminating:Wait); after the 4th poll it goes away.
    clock.onSleep(async (n) => {
      if (n === 4) await world.ec2.send(new TerminateInstancesCommand({ InstanceIds: [oldId] }));
    });

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'detached-and-attached', volumeId });
    expect(clock.sleeps).toEqual([5000, 5000, 5000, 5000]);
    expect(tap.callsOf('DetachVolume')).toEqual([]); // never detached from a running instance
    expect(lifecycle.heartbeats().length).toBeGreaterThanOrEqual(1);
    await expectLaunched(instanceId, volumeId);
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
    await world.expectNewestDataKept({ volumeId });
  });

  test('heartbeats are recorded every minute while waiting (snapshot pending for 150 s during a move)', async () => {
    const volumeId = await world.createVolume(AZ_B);
    const instanceId = await world.runInstance(AZ_A);
    tap.rewrite('DescribeSnapshots', (output) => {
      if (clock.sleeps.length < 30) for (const s of output.Snapshots) if (s.VolumeId === volumeId) Object.assign(s, { State: 'pending', Progress: '42%' });
    });

    const result = await run(lifecycleEvent('LAUNCHING', instanceId), { waitBudgetSeconds: 600 });

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'moved' });
    expect(clock.sleeps).toHaveLength(30);
    const heartbeat = {
      AutoScalingGroupName: 'casper-node-asg',
      LifecycleHookName: `${NODE}-data-volume-launch`,
      LifecycleActionToken: `token-LAUNCHING-${instanceId}`,
      InstanceId: instanceId,
    };
    // at 0 s, 60 s and 120 s of waiting
    expect(lifecycle.heartbeats().map((c) => c.input)).toEqual([heartbeat, heartbeat, heartbeat]);
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
    await world.expectNewestDataKept({ volumeId });
  });

  test('c: the newest volume is in another AZ: snapshot, identical volume in the new AZ, attached, old volume deleted', async () => {
    const tags = { ...NODE_TAGS, Name: 'testnet-reader-data' };
    const oldVolumeId = await world.createVolume(AZ_B, { size: 40, iops: 6000, throughput: 400, kmsKeyId: KMS_KEY, tags });
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'moved', oldVolumeId, oldVolumeDeleted: true });
    const snapshots = await world.nodeSnapshots();
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({ SnapshotId: result.snapshotId, VolumeId: oldVolumeId, State: 'completed' });
    expect(tagMap(snapshots[0].Tags)).toEqual({
      ...tags, 'casper:created-by': 'lifecycle', 'casper:reason': 'az-move', 'casper:source-volume': oldVolumeId,
    });
    const volume = await world.volume(result.volumeId!);
    expect(volume).toMatchObject({
      AvailabilityZone: AZ_A, Size: 40, VolumeType: 'gp3', Iops: 6000, Throughput: 400, Encrypted: true, KmsKeyId: KMS_KEY, SnapshotId: result.snapshotId,
    });
    expect(tagMap(volume?.Tags)).toEqual(tags);
    await expectLaunched(instanceId, result.volumeId!);
    expect(await world.volume(oldVolumeId)).toBeUndefined();
    // deleted only after the new volume was attached
    const order = tap.calls.map((c) => c.command);
    expect(order.indexOf('DeleteVolume')).toBeGreaterThan(order.indexOf('AttachVolume'));
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
    expectSuccessMetric(result.out);
    await world.expectNewestDataKept({ volumeId: oldVolumeId });
  });

  test('c: with KEEP_OLD_VOLUME=true the old volume is kept, untouched', async () => {
    const oldVolumeId = await world.createVolume(AZ_B);
    const before = await world.volume(oldVolumeId);
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('LAUNCHING', instanceId), { keepOldVolume: true });

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'moved', oldVolumeId, oldVolumeDeleted: false });
    expect(tap.callsOf('DeleteVolume')).toEqual([]);
    expect(await world.volume(oldVolumeId)).toEqual(before);
    await expectLaunched(instanceId, result.volumeId!);
    await world.expectNewestDataKept({ volumeId: oldVolumeId });
  });

  test('c: a failed DeleteVolume after the move only warns: the launch continues', async () => {
    const oldVolumeId = await world.createVolume(AZ_B);
    const instanceId = await world.runInstance(AZ_A);
    tap.failOn('DeleteVolume', serviceError('UnauthorizedOperation', 'not allowed', 'client'));

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'moved', oldVolumeDeleted: false });
    expect(result.out.logs.some((l) => l.includes(`WARN could not delete old volume ${oldVolumeId}`))).toBe(true);
    expect(await world.volume(oldVolumeId)).toBeDefined();
    await expectLaunched(instanceId, result.volumeId!);
  });

  test('c fault: CreateVolume fails: ABANDON, the old volume intact and still tagged', async () => {
    const oldVolumeId = await world.createVolume(AZ_B);
    const before = await world.volume(oldVolumeId);
    const instanceId = await world.runInstance(AZ_A);
    tap.failOn('CreateVolume', serviceError('InsufficientVolumeCapacity', 'There is not enough capacity to fulfill your request.'));

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expectFailure(result, instanceId, /InsufficientVolumeCapacity: There is not enough capacity/);
    expect(await world.volume(oldVolumeId)).toEqual(before);
    expect(tagMap(before?.Tags)).toEqual(NODE_TAGS);
    for (const command of ['DeleteVolume', 'DetachVolume', 'AttachVolume', 'CreateTags', 'AssociateAddress']) expect(tap.callsOf(command)).toEqual([]);
    await world.expectNewestDataKept({ volumeId: oldVolumeId });
  });

  test('c fault: CreateSnapshot fails: ABANDON, the old volume intact and still tagged, nothing created', async () => {
    const oldVolumeId = await world.createVolume(AZ_B);
    const before = await world.volume(oldVolumeId);
    const instanceId = await world.runInstance(AZ_A);
    tap.failOn('CreateSnapshot', serviceError('SnapshotCreationPerVolumeRateExceeded', 'The maximum per volume CreateSnapshot request rate has been exceeded.', 'client'));

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expectFailure(result, instanceId, /SnapshotCreationPerVolumeRateExceeded/);
    expect(await world.volume(oldVolumeId)).toEqual(before);
    for (const command of ['CreateVolume', 'DeleteVolume', 'AttachVolume']) expect(tap.callsOf(command)).toEqual([]);
    await world.expectNewestDataKept({ volumeId: oldVolumeId });
  });

  test('d: no volume, three snapshots, the newest pending: restores the newest completed one', async () => {
    const scratch = await world.createVolume(AZ_B, { size: 50, tags: { Name: 'scratch' } });
    const oldest = await world.snapshot(scratch);
    await nextSecond();
    const newestCompleted = await world.snapshot(scratch);
    await nextSecond();
    const pending = await world.snapshot(scratch);
    await world.ec2.send(new DeleteVolumeCommand({ VolumeId: scratch }));
    tap.rewrite('DescribeSnapshots', (output) => {
      for (const s of output.Snapshots) if (s.SnapshotId === pending) Object.assign(s, { State: 'pending', Progress: '10%' });
    });
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'restored', snapshotId: newestCompleted });
    expect(result.snapshotId).not.toBe(oldest);
    const volume = await world.volume(result.volumeId!);
    expect(volume).toMatchObject({ AvailabilityZone: AZ_A, SnapshotId: newestCompleted, Size: 50, VolumeType: 'gp3', Iops: 4000, Throughput: 250, Encrypted: true });
    expect(tagMap(volume?.Tags)).toEqual({ ...NODE_TAGS, 'casper:created-by': 'lifecycle', 'casper:source-snapshot': newestCompleted });
    expect(tap.callsOf('CreateVolume')).toHaveLength(1);
    await expectLaunched(instanceId, result.volumeId!);
    expectSuccessMetric(result.out);
    await world.expectNewestDataKept({ snapshotId: newestCompleted });
  });

  test('d: a restored volume is never smaller than VOLUME_SIZE_GIB; with only a pending snapshot it waits for it', async () => {
    const scratch = await world.createVolume(AZ_B, { size: 8, tags: { Name: 'scratch' } });
    const only = await world.snapshot(scratch);
    await world.ec2.send(new DeleteVolumeCommand({ VolumeId: scratch }));
    tap.rewrite('DescribeSnapshots', (output) => {
      if (clock.sleeps.length < 2) for (const s of output.Snapshots) Object.assign(s, { State: 'pending' });
    });
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'restored', snapshotId: only });
    expect(clock.sleeps).toHaveLength(2);
    expect((await world.volume(result.volumeId!))?.Size).toBe(20);
  });

  test('e: nothing exists: an empty encrypted gp3 volume with the configured size, IOPS, throughput and key, tagged', async () => {
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('LAUNCHING', instanceId), { volumeKmsKeyId: KMS_KEY });

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'created' });
    const volume = await world.volume(result.volumeId!);
    expect(volume).toMatchObject({ AvailabilityZone: AZ_A, Size: 20, VolumeType: 'gp3', Iops: 4000, Throughput: 250, Encrypted: true, KmsKeyId: KMS_KEY });
    expect(volume?.SnapshotId ?? '').toBe('');
    expect(tagMap(volume?.Tags)).toEqual({ ...NODE_TAGS, 'casper:created-by': 'lifecycle' });
    expect(tap.callsOf('CreateVolume')[0].input.ClientToken).toMatch(/^[0-9a-f]{64}$/);
    await expectLaunched(instanceId, result.volumeId!);
    expectSuccessMetric(result.out);
    await world.expectNewestDataKept({ volumeId: result.volumeId });
  });

  test('duplicate event: the second run re-tags, re-associates and completes harmlessly; still one volume', async () => {
    const instanceId = await world.runInstance(AZ_A);
    const event = lifecycleEvent('LAUNCHING', instanceId);

    const first = await run(event);
    const second = await run(event);

    expect(first).toMatchObject({ result: 'CONTINUE', action: 'created', alreadyCompleted: false });
    expect(second).toMatchObject({ result: 'CONTINUE', action: 'already-attached', volumeId: first.volumeId, alreadyCompleted: true });
    expect(second.out.errors).toEqual([]);
    expect(second.out.logs.some((l) => l.includes('lifecycle action already completed'))).toBe(true);
    const volumes = await world.nodeVolumes();
    expect(volumes.map((v) => v.VolumeId)).toEqual([first.volumeId]);
    expect(tap.callsOf('CreateVolume')).toHaveLength(1);
    expect(tap.callsOf('AttachVolume')).toHaveLength(1);
    expect(tap.callsOf('CreateTags')).toHaveLength(2);
    expect(tap.callsOf('AssociateAddress')).toHaveLength(2);
    expect(lifecycle.completions()).toEqual(['CONTINUE', 'CONTINUE']);
    expect((await world.volume(first.volumeId!))?.Attachments?.[0]).toMatchObject({ InstanceId: instanceId, State: 'attached' });
    expect((await world.instanceTags(instanceId))['casper:data-volume']).toBe(first.volumeId);
    await world.expectNewestDataKept({ volumeId: first.volumeId });
  });

  test('a volume stuck in use on a running old instance past the wait budget: ABANDON, failure metric, old volume untouched', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const oldId = await world.runInstance(AZ_A);
    await world.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: oldId, Device: '/dev/sdf' }));
    const before = await world.volume(volumeId);
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('LAUNCHING', instanceId), { waitBudgetSeconds: 30 });

    expectFailure(result, instanceId, new RegExp(`gave up waiting for volume ${volumeId} to detach from instance ${oldId}: wait budget of 30 s .*instance ${oldId} is running`));
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(30_000);
    expect(lifecycle.heartbeats().length).toBeGreaterThanOrEqual(1);
    expect(await world.volume(volumeId)).toEqual(before);
    for (const command of ['DetachVolume', 'DeleteVolume', 'CreateVolume', 'CreateSnapshot', 'AttachVolume']) expect(tap.callsOf(command)).toEqual([]);
    await world.expectNewestDataKept({ volumeId });
  });

  test('rule: an available volume in the instance AZ is preferred to a newer one elsewhere', async () => {
    const here = await world.createVolume(AZ_A);
    await nextSecond();
    await world.createVolume(AZ_B);
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'attached', volumeId: here });
    expect(tap.callsOf('CreateSnapshot')).toEqual([]);
  });

  test('rule: a volume another node volume was restored from (kept by an earlier move) is never preferred', async () => {
    const stale = await world.createVolume(AZ_A, { size: 30 });
    const moveSnapshot = await world.snapshot(stale);
    const current = await world.createVolume(AZ_B, { size: 30, snapshotId: moveSnapshot });
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('LAUNCHING', instanceId), { keepOldVolume: true });

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'moved', oldVolumeId: current });
    expect(result.volumeId).not.toBe(stale);
    expect(tap.callsOf('CreateSnapshot').map((c) => c.input.VolumeId)).toEqual([current]);
    await world.expectNewestDataKept({ volumeId: current });
  });

  test('an instance that is no longer launching is abandoned without touching any volume', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    await world.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));

    const result = await run(lifecycleEvent('LAUNCHING', instanceId));

    expectFailure(result, instanceId, /is terminated, not launching/);
    expect(tap.callsOf('AttachVolume')).toEqual([]);
    await world.expectNewestDataKept({ volumeId });
  });
});

describe('TERMINATING', () => {
  test('snapshots the volume named by the instance tag, tagged, without waiting; CONTINUE', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    await world.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
    await world.tagInstance(instanceId, { 'casper:data-volume': volumeId });

    const result = await run(lifecycleEvent('TERMINATING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'snapshot-started', volumeId });
    const snapshots = await world.nodeSnapshots();
    expect(snapshots.map((s) => s.SnapshotId)).toEqual([result.snapshotId]);
    expect(snapshots[0].VolumeId).toBe(volumeId);
    expect(tagMap(snapshots[0].Tags)).toEqual({
      ...NODE_TAGS,
      'casper:created-by': 'lifecycle',
      'casper:reason': 'termination',
      'casper:source-volume': volumeId,
      'casper:instance': instanceId,
    });
    expect(clock.sleeps).toEqual([]);
    expect(tap.callsOf('DescribeSnapshots')).toEqual([]);
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
    expect(lifecycle.calls[0].input.LifecycleHookName).toBe(`${NODE}-data-volume-terminate`);
    expectSuccessMetric(result.out);
    await world.expectNewestDataKept({ volumeId });
  });

  test('without the instance tag, finds the volume by node tags and attachment', async () => {
    const volumeId = await world.createVolume(AZ_B);
    await world.createVolume(AZ_A); // another node volume, not attached to the instance
    const instanceId = await world.runInstance(AZ_B);
    await world.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));

    const result = await run(lifecycleEvent('TERMINATING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'snapshot-started', volumeId });
    expect(tap.callsOf('CreateSnapshot').map((c) => c.input.VolumeId)).toEqual([volumeId]);
  });

  test('no data volume: logs and CONTINUE', async () => {
    const instanceId = await world.runInstance(AZ_A);

    const result = await run(lifecycleEvent('TERMINATING', instanceId));

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'no-volume' });
    expect(result.out.logs.some((l) => l.includes('no data volume attached to the instance'))).toBe(true);
    expect(tap.callsOf('CreateSnapshot')).toEqual([]);
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
  });

  test('fault: CreateSnapshot fails: ABANDON, the volume intact, attached and still tagged', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    await world.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
    await world.tagInstance(instanceId, { 'casper:data-volume': volumeId });
    const before = await world.volume(volumeId);
    tap.failOn('CreateSnapshot', serviceError('InternalError', 'An internal error has occurred.'));

    const result = await run(lifecycleEvent('TERMINATING', instanceId));

    expectFailure(result, instanceId, /InternalError: An internal error has occurred\./);
    expect(await world.volume(volumeId)).toEqual(before);
    expect((await world.instanceTags(instanceId))['casper:data-volume']).toBe(volumeId);
    await world.expectNewestDataKept({ volumeId });
  });
});

describe('events and configuration', () => {
  test('events that are no lifecycle action are ignored without any call', async () => {
    const result = await run({ 'detail-type': 'EC2 Instance Launch Successful', 'detail': { EC2InstanceId: 'i-0123456789abcdef0' } });
    expect(result.result).toBe('IGNORED');
    const testNotification = await run({ detail: { ...lifecycleEvent('LAUNCHING', 'i-1').detail, LifecycleTransition: 'autoscaling:TEST_NOTIFICATION' } });
    expect(testNotification.result).toBe('IGNORED');
    expect(tap.calls).toEqual([]);
    expect(lifecycle.calls).toEqual([]);
  });

  test('configFromEnv: defaults, parsing and errors', () => {
    const base = { NODE_NAME: NODE, VOLUME_SIZE_GIB: '500', METRIC_NAMESPACE: 'casper-casper-test' };
    expect(configFromEnv({ ...base, VOLUME_KMS_KEY_ID: '', ELASTIC_IP_ALLOCATION_ID: 'eipalloc-1' })).toEqual({
      nodeName: NODE,
      volumeSizeGiB: 500,
      volumeIops: 3000,
      volumeThroughputMiBps: 125,
      volumeKmsKeyId: undefined,
      deviceName: '/dev/sdf',
      instanceTagKey: 'casper:data-volume',
      elasticIpAllocationId: 'eipalloc-1',
      keepOldVolume: false,
      waitBudgetSeconds: 600,
      metricNamespace: 'casper-casper-test',
    });
    expect(configFromEnv({ ...base, KEEP_OLD_VOLUME: 'TRUE', WAIT_BUDGET_SECONDS: '720', VOLUME_IOPS: '6000' }))
      .toMatchObject({ keepOldVolume: true, waitBudgetSeconds: 720, volumeIops: 6000 });
    expect(() => configFromEnv({ VOLUME_SIZE_GIB: '10' })).toThrow(/NODE_NAME is required/);
    expect(() => configFromEnv({ NODE_NAME: NODE })).toThrow(/VOLUME_SIZE_GIB is required/);
    expect(() => configFromEnv({ ...base, VOLUME_SIZE_GIB: '10GiB' })).toThrow(/VOLUME_SIZE_GIB must be an integer/);
    expect(() => configFromEnv({ ...base, KEEP_OLD_VOLUME: 'yes' })).toThrow(/KEEP_OLD_VOLUME must be true or false/);
    // the budget must stay below the 15-minute Lambda timeout
    expect(() => configFromEnv({ ...base, WAIT_BUDGET_SECONDS: '900' })).toThrow(/WAIT_BUDGET_SECONDS must be an integer from 1 to 840/);
  });

  test('a bad configuration abandons with one error line and a failure metric', async () => {
    const instanceId = await world.runInstance(AZ_A);
    const { options, output } = handlerOptions(tap, lifecycle, clock, testConfig(world.allocationId));
    const result = await handleLifecycleEvent(lifecycleEvent('LAUNCHING', instanceId), {
      ...options, config: undefined, env: { NODE_NAME: NODE, METRIC_NAMESPACE: 'casper-casper-test' },
    });
    expectFailure({ ...result, out: output }, instanceId, /VOLUME_SIZE_GIB is required/);
    expect(tap.calls).toEqual([]);
  });

  test('the wait budget is cut to leave a minute of the Lambda time', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const oldId = await world.runInstance(AZ_A);
    await world.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: oldId, Device: '/dev/sdf' }));
    const instanceId = await world.runInstance(AZ_A);
    const { options, output } = handlerOptions(tap, lifecycle, clock, testConfig(world.allocationId, { waitBudgetSeconds: 600 }));

    const result = await handleLifecycleEvent(lifecycleEvent('LAUNCHING', instanceId), { ...options, remainingTimeMs: 80_000 });

    expectFailure({ ...result, out: output }, instanceId, /wait budget of 20 s/);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(20_000);
  });
});

describe('Lambda entry point', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    jest.restoreAllMocks();
  });

  test('reads the configuration from the environment and uses SDK clients from it (EC2 on moto)', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    await world.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
    Object.assign(process.env, motoEnv(moto.endpoint), {
      NODE_NAME: NODE,
      VOLUME_SIZE_GIB: '20',
      METRIC_NAMESPACE: 'casper-casper-test',
      ELASTIC_IP_ALLOCATION_ID: world.allocationId,
      WAIT_BUDGET_SECONDS: '60',
    });
    const completions: any[] = [];
    // moto has no CompleteLifecycleAction: record it on the real client class.
    jest.spyOn(AutoScalingClient.prototype, 'send').mockImplementation(async (command: any) => {
      completions.push(command.input);
      return { $metadata: {} };
    });
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);

    const result = await handler(lifecycleEvent('TERMINATING', instanceId), { getRemainingTimeInMillis: () => 900_000 });

    expect(result).toMatchObject({ result: 'CONTINUE', action: 'snapshot-started', volumeId });
    expect((await world.nodeSnapshots()).map((s) => s.SnapshotId)).toEqual([result.snapshotId]);
    expect(completions).toEqual([expect.objectContaining({ InstanceId: instanceId, LifecycleActionResult: 'CONTINUE' })]);
    const emf = stdout.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"_aws"'));
    expect(emf).toHaveLength(1);
    expect(emf[0].endsWith('\n')).toBe(true);
    expect(JSON.parse(emf[0])).toMatchObject({ NodeName: NODE, LifecycleSuccesses: 1 });
  });
});
