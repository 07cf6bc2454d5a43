/**
 * The data-volume lifecycle workflow: its synthesized state machine, run by
 * aws-local-stepfunctions, with its steps on moto (EC2 and Auto Scaling on
 * 127.0.0.1).
 *
 * moto serves EC2 (instances, volumes, snapshots, attach/detach, tags, Elastic
 * IP, volume modifications), the node's Auto Scaling group (subnets, suspended
 * processes) and Step Functions executions (for the starter). It does not serve
 * CompleteLifecycleAction or RecordLifecycleActionHeartbeat (see the first
 * test), which go to the recording `LifecycleDouble`. Where moto cannot model
 * a state (a snapshot pending for hours, an impaired AZ, an instance still
 * holding its volume while terminated, something not visible yet just after
 * it was created), the test rewrites that field of moto's answer or fails
 * that call; every other call reaches moto.
 *
 * Every scenario ends with the invariant: a copy of the newest data exists.
 */
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  AttachVolumeCommand, CreateTagsCommand, DeleteVolumeCommand, DescribeAddressesCommand, DescribeSnapshotsCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateStateMachineCommand, ListExecutionsCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import {
  AZ_A, AZ_B, Ec2Tap, FakeClock, GROUP, lifecycleEvent, LifecycleDouble, NODE, NODE_TAGS, serviceError, tagMap, testConfig, World,
} from './lifecycle-harness';
import { Execution, synthesizedDefinition, WorkflowRunner } from './lifecycle-workflow';
import { handler as starterHandler } from '../../../src/storage/data-volume-lifecycle-starter.lambda';
import { handler as stepHandler } from '../../../src/storage/data-volume-lifecycle.lambda';
import { configFromEnv, executionName, startLifecycle } from '../../../src/storage/handlers/data-volume-lifecycle';
import { motoEnv, MotoServer, startMoto } from '../../support/moto';

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const HOURS = 3600;

/** moto keeps CreateTime/StartTime to the second: space out what must sort by age. */
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1_100));

let moto: MotoServer;
let definition: any;
let world: World;
let tap: Ec2Tap;
let lifecycle: LifecycleDouble;
let clock: FakeClock;
let runner: WorkflowRunner;

beforeAll(async () => {
  moto = await startMoto();
  definition = synthesizedDefinition();
});
afterAll(async () => { await moto?.stop(); });
beforeEach(async () => {
  await moto.reset();
  world = await World.create(moto.endpoint);
  tap = new Ec2Tap(moto.endpoint);
  lifecycle = new LifecycleDouble(moto.endpoint);
  clock = new FakeClock();
  runner = new WorkflowRunner(definition, { tap, lifecycle, clock, config: testConfig(world) });
});

async function expectLaunched(instanceId: string, volumeId: string) {
  const volume = await world.volume(volumeId);
  expect(volume?.Attachments).toEqual([expect.objectContaining({ InstanceId: instanceId, Device: '/dev/sdf', State: 'attached' })]);
  expect((await world.instanceTags(instanceId))['casper:data-volume']).toBe(volumeId);
  expect(tagMap(volume?.Tags)).toMatchObject({ 'casper:instance': instanceId, 'casper:attached-at': expect.stringMatching(/^2026-12-01T/) });
  const address = await world.ec2.send(new DescribeAddressesCommand({ AllocationIds: [world.allocationId] }));
  expect(address.Addresses?.[0]?.InstanceId).toBe(instanceId);
}

function metricNames(e: Execution): string[] {
  return e.out.metrics.flatMap((m) => m._aws.CloudWatchMetrics[0].Metrics.map((x: any) => x.Name));
}

function expectDone(e: Execution, action: string) {
  expect(e.out.errors).toEqual([]);
  expect(e.failed).toBe(false);
  expect(e.state).toMatchObject({ status: 'done', action });
  expect(metricNames(e)).toContain(action === 'relaunch-home' ? 'LifecycleRelaunchHome' : 'LifecycleSuccesses');
}

function expectAbandoned(e: Execution, instanceId: string, message: RegExp) {
  expect(e.failed).toBe(true);
  expect(e.state.status).toBe('abandoned');
  expect(e.out.errors).toHaveLength(1);
  expect(e.out.errors[0]).toMatch(new RegExp(`^ERROR lifecycle (LAUNCHING|TERMINATING) instance ${instanceId}: `));
  expect(e.out.errors[0]).toMatch(message);
  expect(metricNames(e)).toContain('LifecycleFailures');
  expect(lifecycle.completions()).toEqual(['ABANDON']);
}

async function attach(volumeId: string, instanceId: string) {
  await world.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
}

/** A volume in AZ B the group has left, a move snapshot a previous try left after `tries` tries, a new instance in AZ A. */
async function moveTriedBefore(tries: number) {
  const volumeId = await world.createVolume(AZ_B);
  await pinGroup(AZ_A);
  const previous = await world.snapshot(volumeId, {
    ...NODE_TAGS, 'casper:created-by': 'lifecycle', 'casper:reason': 'move', 'casper:source-volume': volumeId, 'casper:move-attempts': String(tries),
  });
  return { volumeId, previous, instanceId: await world.runInstance(AZ_A) };
}

/** The node's volume in AZ A, attached to (and named by a tag of) an old instance, and a new instance in AZ A. */
async function heldByOldInstance() {
  const volumeId = await world.createVolume(AZ_A);
  const oldId = await world.runInstance(AZ_A);
  await attach(volumeId, oldId);
  await world.tagInstance(oldId, { 'casper:data-volume': volumeId });
  return { volumeId, oldId, instanceId: await world.runInstance(AZ_A) };
}

async function pinGroup(...azs: string[]) {
  await world.autoScaling.send(new UpdateAutoScalingGroupCommand({
    AutoScalingGroupName: GROUP, VPCZoneIdentifier: azs.map((az) => world.subnets[az]).join(','),
  }));
}

test('moto 5.2.5 serves no CompleteLifecycleAction or RecordLifecycleActionHeartbeat (hence LifecycleDouble)', async () => {
  const client = new AutoScalingClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  const input = { AutoScalingGroupName: 'g', LifecycleHookName: 'h', LifecycleActionToken: 't', InstanceId: 'i-0123456789abcdef0' };
  await expect(client.send(new CompleteLifecycleActionCommand({ ...input, LifecycleActionResult: 'CONTINUE' }))).rejects.toThrow();
  await expect(client.send(new RecordLifecycleActionHeartbeatCommand(input))).rejects.toThrow();
});

test('the workflow: Advance, then Wait and Heartbeat until done; Abandon catches what Advance cannot handle', () => {
  const states = definition.States;
  expect(definition.StartAt).toBe('Advance');
  expect(definition.TimeoutSeconds).toBe(24 * HOURS);
  expect(states.Wait).toMatchObject({ Type: 'Wait', SecondsPath: '$.waitSeconds', Next: 'Heartbeat' });
  expect(states.Heartbeat).toMatchObject({
    Type: 'Task',
    Resource: 'arn:aws:states:::aws-sdk:autoscaling:recordLifecycleActionHeartbeat',
    Parameters: {
      'AutoScalingGroupName.$': '$.detail.AutoScalingGroupName',
      'LifecycleHookName.$': '$.detail.LifecycleHookName',
      'LifecycleActionToken.$': '$.detail.LifecycleActionToken',
      'InstanceId.$': '$.detail.EC2InstanceId',
    },
    ResultPath: null,
    Next: 'Advance',
  });
  expect(states.Advance).toMatchObject({ Type: 'Task', Parameters: { 'op': 'advance', 'state.$': '$' }, Next: 'Done?' });
  expect(states.Advance.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Abandon' }]);
  expect(states['Done?'].Default).toBe('Wait');
  expect(states.Abandon.Next).toBe('Abandoned');
  expect(states.Abandoned.Type).toBe('Fail');
});

describe('LAUNCHING', () => {
  test('same-AZ reattach: the volume is attached in place (no snapshot, no copy), the group pinned to its AZ', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const oldId = await world.runInstance(AZ_A);
    await attach(volumeId, oldId);
    await world.ec2.send(new TerminateInstancesCommand({ InstanceIds: [oldId] }));
    const instanceId = await world.runInstance(AZ_A);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'attached');
    expect(e.state).toMatchObject({ volumeId, pinnedTo: AZ_A });
    await expectLaunched(instanceId, volumeId);
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
    for (const command of ['CreateVolume', 'CreateSnapshot', 'DeleteVolume', 'DetachVolume', 'ModifyVolume']) expect(tap.callsOf(command)).toEqual([]);
    expect(await world.groupAzs()).toEqual([AZ_A]);
    await world.expectNewestDataKept({ volumeId });
  });

  test('the old instance ends its termination after a few polls: reattached, never detached from a running instance, heartbeats sent', async () => {
    const { volumeId, oldId, instanceId } = await heldByOldInstance();
    runner.onStep(async (_state, n) => {
      if (n === 5) await world.ec2.send(new TerminateInstancesCommand({ InstanceIds: [oldId] }));
    });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'released-and-attached');
    expect(tap.callsOf('DetachVolume')).toEqual([]);
    expect(lifecycle.heartbeats().length).toBeGreaterThanOrEqual(3);
    expect(lifecycle.heartbeats()[0].input).toEqual({
      AutoScalingGroupName: GROUP, LifecycleHookName: `${NODE}-data-volume-launch`, LifecycleActionToken: `token-LAUNCHING-${instanceId}`, InstanceId: instanceId,
    });
    await expectLaunched(instanceId, volumeId);
    await world.expectNewestDataKept({ volumeId });
  });

  test('the old instance is terminated but still shows the attachment: forced detach, then attached', async () => {
    const { volumeId, oldId, instanceId } = await heldByOldInstance();
    // moto detaches on TerminateInstances; report the old instance terminated while moto keeps it attached.
    tap.rewrite('DescribeInstances', (output) => {
      for (const i of output.Reservations.flatMap((r: any) => r.Instances)) if (i.InstanceId === oldId) i.State = { Name: 'terminated' };
    });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'released-and-attached');
    expect(tap.callsOf('DetachVolume').map((c) => c.input)).toEqual([{ VolumeId: volumeId, InstanceId: oldId, Device: '/dev/sdf', Force: true }]);
    await expectLaunched(instanceId, volumeId);
    await world.expectNewestDataKept({ volumeId });
  });

  test('an old instance that never lets go: detach forced only after HOLDER_WAIT_SECONDS', async () => {
    const { volumeId, oldId, instanceId } = await heldByOldInstance();
    let forcedAt: number | undefined;
    const start = clock.now();
    tap.rewrite('DetachVolume', () => { forcedAt ??= clock.now() - start; });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'released-and-attached');
    expect(forcedAt! / 1000).toBeGreaterThan(1200);
    expect(forcedAt! / 1000).toBeLessThan(1200 + 60);
    expect(e.out.logs.some((l) => new RegExp(`WARN instance ${oldId} is still running after \\d+ s: forcing the detach`).test(l))).toBe(true);
    await expectLaunched(instanceId, volumeId);
  });

  test('a move whose snapshot stays pending for 5 hours completes: heartbeats throughout, no step ever waits', async () => {
    const tags = { ...NODE_TAGS, Name: 'testnet-reader-data' };
    const oldVolumeId = await world.createVolume(AZ_B, { size: 40, iops: 6000, throughput: 400, kmsKeyId: KMS_KEY, tags });
    await pinGroup(AZ_A); // a deliberate move: the group no longer launches into AZ B
    const instanceId = await world.runInstance(AZ_A);
    const start = clock.now();
    let sawPendingTag = false;
    tap.rewrite('DescribeSnapshots', (output) => {
      if (clock.now() - start < 5 * HOURS * 1000) {
        for (const s of output.Snapshots ?? []) if (s.VolumeId === oldVolumeId) Object.assign(s, { State: 'pending', Progress: '42%' });
      }
    });
    runner.onStep(async (state) => {
      if (state.phase === 'wait-snapshot') sawPendingTag ||= (await world.instanceTags(instanceId))['casper:data-volume'] === 'pending';
    });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'moved');
    expect(e.waitedSeconds).toBeGreaterThanOrEqual(5 * HOURS);
    expect(e.waitedSeconds).toBeLessThan(5 * HOURS + 600);
    // One heartbeat after every wait; the hook's heartbeat timeout is 900 s, waits are at most 300 s.
    expect(lifecycle.heartbeats().length).toBe(e.steps - 1);
    expect(lifecycle.heartbeats().length).toBeGreaterThan(60);
    expect(sawPendingTag).toBe(true);
    const snapshots = await world.nodeSnapshots();
    expect(snapshots).toHaveLength(1);
    expect(tagMap(snapshots[0].Tags)).toEqual({
      ...tags, 'casper:created-by': 'lifecycle', 'casper:reason': 'move', 'casper:source-volume': oldVolumeId, 'casper:move-attempts': '1',
    });
    const volume = await world.volume(e.state.volumeId!);
    expect(volume).toMatchObject({
      AvailabilityZone: AZ_A, Size: 40, VolumeType: 'gp3', Iops: 6000, Throughput: 400, Encrypted: true, KmsKeyId: KMS_KEY, SnapshotId: snapshots[0].SnapshotId,
    });
    expect(tagMap(volume?.Tags)).toMatchObject({ ...tags, 'casper:source-snapshot': snapshots[0].SnapshotId });
    await expectLaunched(instanceId, e.state.volumeId!);
    // The old volume goes only after the copy is attached.
    expect(await world.volume(oldVolumeId)).toBeUndefined();
    const order = tap.calls.map((c) => c.command);
    expect(order.indexOf('DeleteVolume')).toBeGreaterThan(order.indexOf('AttachVolume'));
    expect(e.state.oldVolumesDeleted).toEqual([oldVolumeId]);
    await world.expectNewestDataKept({ volumeId: oldVolumeId });
  });

  test('a move with KEEP_OLD_VOLUME keeps the source', async () => {
    const oldVolumeId = await world.createVolume(AZ_B);
    await pinGroup(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    runner.configure({ keepOldVolume: true });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'moved');
    expect(tap.callsOf('DeleteVolume')).toEqual([]);
    expect(await world.volume(oldVolumeId)).toBeDefined();
    await world.expectNewestDataKept({ volumeId: oldVolumeId });
  });

  test('landing outside a usable home AZ: the group is pinned home and the launch abandoned, with no snapshot or copy', async () => {
    const volumeId = await world.createVolume(AZ_B);
    const instanceId = await world.runInstance(AZ_A);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'relaunch-home');
    expect(e.state.pinnedTo).toBe(AZ_B);
    expect(await world.groupAzs()).toEqual([AZ_B]);
    expect(lifecycle.completions()).toEqual(['ABANDON']);
    for (const command of ['CreateSnapshot', 'CreateVolume', 'AttachVolume', 'DeleteVolume']) expect(tap.callsOf(command)).toEqual([]);
    // The relaunch in AZ B reattaches in place.
    const relaunched = await world.runInstance(AZ_B);
    expectDone(await runner.run(lifecycleEvent('LAUNCHING', relaunched)), 'attached');
    await expectLaunched(relaunched, volumeId);
    await world.expectNewestDataKept({ volumeId });
  });

  test('landing outside the home AZ when the group cannot be pinned: the data moves instead (no relaunch loop)', async () => {
    const volumeId = await world.createVolume(AZ_B);
    const instanceId = await world.runInstance(AZ_A);
    lifecycle.client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'UpdateAutoScalingGroupCommand') throw serviceError('AccessDenied', 'not authorized', 'client');
      return next(args);
    }, { step: 'initialize', name: 'denyUpdate' });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'moved');
    expect(e.out.logs.some((l) => l.includes(`WARN cannot pin group ${GROUP} to ${AZ_B} (AccessDenied: not authorized): moving the volume instead`))).toBe(true);
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
    await expectLaunched(instanceId, e.state.volumeId!);
    await world.expectNewestDataKept({ volumeId });
  });

  test('an impaired home AZ: the newest completed snapshot is restored in the instance AZ', async () => {
    const volumeId = await world.createVolume(AZ_B, { size: 30 });
    const snapshotId = await world.snapshot(volumeId);
    const instanceId = await world.runInstance(AZ_A);
    tap.rewrite('DescribeAvailabilityZones', (output) => {
      for (const z of output.AvailabilityZones ?? []) if (z.ZoneName === AZ_B) z.State = 'impaired';
    });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'restored');
    expect(e.state.snapshotId).toBe(snapshotId);
    expect(e.out.logs.some((l) => l.includes(`WARN volume ${volumeId} is in ${AZ_B}, whose state is impaired`))).toBe(true);
    expect(tap.callsOf('CreateSnapshot')).toEqual([]);
    expect((await world.volume(e.state.volumeId!))).toMatchObject({ AvailabilityZone: AZ_A, SnapshotId: snapshotId, Size: 30 });
    await expectLaunched(instanceId, e.state.volumeId!);
    await world.expectNewestDataKept({ snapshotId });
  });

  test('failed launches into the home AZ: the starter moves the group out, and the next launch moves the data', async () => {
    const volumeId = await world.createVolume(AZ_B);
    await pinGroup(AZ_B);
    // moto records no launch activities: report three failed launches in a row.
    const autoScaling = new AutoScalingClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
    autoScaling.middlewareStack.add((next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'DescribeScalingActivitiesCommand') {
        (result.output as any).Activities = [1, 2, 3].map((n) => ({
          ActivityId: `a-${n}`,
          AutoScalingGroupName: GROUP,
          Description: 'Launching a new EC2 instance.  Status Reason: Insufficient capacity.',
          StatusCode: 'Failed',
          Cause: 'InsufficientInstanceCapacity',
          StartTime: new Date(),
        }));
      }
      return result;
    }, { step: 'initialize', name: 'activities' });
    const failed = {
      'source': 'aws.autoscaling',
      'detail-type': 'EC2 Instance Launch Unsuccessful',
      'detail': { AutoScalingGroupName: GROUP, StatusCode: 'Failed', StatusMessage: 'Insufficient capacity' },
    };
    const metrics: string[] = [];
    const options = { config: testConfig(world), autoScaling, ec2: tap.client, log: () => undefined, emitMetric: (l: string) => metrics.push(l) };

    expect(await startLifecycle(failed, { ...options, config: testConfig(world, { launchFailuresBeforeUnpin: 4 }) }))
      .toMatchObject({ outcome: 'launch-failure-noted' });
    expect(await world.groupAzs()).toEqual([AZ_B]);
    expect(await startLifecycle(failed, options)).toEqual({ outcome: 'unpinned', detail: AZ_B });
    expect(await world.groupAzs()).toEqual([AZ_A]);
    expect(metrics.map((l) => Object.keys(JSON.parse(l)))).toEqual([expect.arrayContaining(['LifecycleHomeAzLeft'])]);

    const instanceId = await world.runInstance(AZ_A);
    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'moved');
    await expectLaunched(instanceId, e.state.volumeId!);
    expect(await world.groupAzs()).toEqual([AZ_A]);
    await world.expectNewestDataKept({ volumeId });
  });

  test('NotFound just after launch and after CreateVolume is waited out, not fatal', async () => {
    const instanceId = await world.runInstance(AZ_A);
    tap.failOn('DescribeInstances', serviceError('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`, 'client'), 2);
    let hidden = 0;
    tap.rewrite('DescribeVolumes', (output) => {
      // The first two looks at the new volume by id find nothing.
      const calls = tap.callsOf('DescribeVolumes');
      if (calls[calls.length - 1].input.VolumeIds && hidden < 2) {
        hidden++;
        output.Volumes = [];
      }
    });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'created');
    expect(hidden).toBe(2);
    expect(e.out.logs.filter((l) => l.includes('EC2 is eventually consistent'))).toHaveLength(4);
    await expectLaunched(instanceId, e.state.volumeId!);
    await world.expectNewestDataKept({ volumeId: e.state.volumeId });
  });

  test('an instance that never appears is abandoned after a bounded number of looks', async () => {
    const volumeId = await world.createVolume(AZ_A);
    tap.failOn('DescribeInstances', serviceError('InvalidInstanceID.NotFound', 'does not exist', 'client'));

    const e = await runner.run(lifecycleEvent('LAUNCHING', 'i-0123456789abcdef0'));

    expectAbandoned(e, 'i-0123456789abcdef0', /instance i-0123456789abcdef0 not found after 10 tries/);
    expect(tap.callsOf('DescribeInstances')).toHaveLength(11);
    await world.expectNewestDataKept({ volumeId });
  });

  test('size growth: a volume smaller than VOLUME_SIZE_GIB is grown before it is attached', async () => {
    const volumeId = await world.createVolume(AZ_A, { size: 10 });
    const instanceId = await world.runInstance(AZ_A);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'attached');
    expect(tap.callsOf('ModifyVolume').map((c) => c.input)).toEqual([{ VolumeId: volumeId, Size: 20 }]);
    const order = tap.calls.map((c) => c.command);
    expect(order.indexOf('DescribeVolumesModifications')).toBeLessThan(order.indexOf('AttachVolume'));
    expect((await world.volume(volumeId))?.Size).toBe(20);
    await expectLaunched(instanceId, volumeId);
    await world.expectNewestDataKept({ volumeId });
  });

  test('size growth refused (one modification per 6 hours): the node starts on the volume as it is', async () => {
    const volumeId = await world.createVolume(AZ_A, { size: 10 });
    const instanceId = await world.runInstance(AZ_A);
    tap.failOn('ModifyVolume', serviceError('VolumeModificationRateExceeded', 'You\'ve reached the maximum modification rate per volume limit.', 'client'));

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'attached');
    expect(e.out.logs.some((l) => l.includes(`WARN cannot grow volume ${volumeId} from 10 to 20 GiB now`))).toBe(true);
    await expectLaunched(instanceId, volumeId);
  });

  test('a retried lifecycle action finds the volume attached: re-tags and completes harmlessly; still one volume', async () => {
    const instanceId = await world.runInstance(AZ_A);
    const event = lifecycleEvent('LAUNCHING', instanceId);

    const first = await runner.run(event);
    const second = await runner.run(event);

    expectDone(first, 'created');
    expectDone(second, 'already-attached');
    expect(second.state.volumeId).toBe(first.state.volumeId);
    expect(second.out.logs.some((l) => l.includes('lifecycle action already completed'))).toBe(true);
    expect((await world.nodeVolumes()).map((v) => v.VolumeId)).toEqual([first.state.volumeId]);
    expect(tap.callsOf('CreateVolume')).toHaveLength(1);
    expect(tap.callsOf('AttachVolume')).toHaveLength(1);
    await world.expectNewestDataKept({ volumeId: first.state.volumeId });
  });

  test('the old instance\'s termination arrives after the new instance\'s launch: both complete, the volume follows', async () => {
    const { volumeId, oldId, instanceId } = await heldByOldInstance();
    const terminator = new WorkflowRunner(definition, { tap, lifecycle, clock, config: testConfig(world) });
    let termination: Execution | undefined;
    runner.onStep(async (state) => {
      if (state.phase === 'release' && !termination) {
        termination = await terminator.run(lifecycleEvent('TERMINATING', oldId));
        await world.ec2.send(new TerminateInstancesCommand({ InstanceIds: [oldId] }));
      }
    });

    const launch = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(termination!, 'snapshot-started');
    expectDone(launch, 'released-and-attached');
    expect(lifecycle.completions()).toEqual(['CONTINUE', 'CONTINUE']);
    await expectLaunched(instanceId, volumeId);
    await world.expectNewestDataKept({ volumeId });
  });

  test('termination and launch at once: run concurrently, both complete', async () => {
    const { volumeId, oldId, instanceId } = await heldByOldInstance();
    const terminator = new WorkflowRunner(definition, { tap, lifecycle, clock, config: testConfig(world) });
    let terminated = false;
    const termination = terminator.run(lifecycleEvent('TERMINATING', oldId)).then(async (e) => {
      await world.ec2.send(new TerminateInstancesCommand({ InstanceIds: [oldId] }));
      terminated = true;
      return e;
    });

    const [launch, term] = await Promise.all([runner.run(lifecycleEvent('LAUNCHING', instanceId)), termination]);

    expect(terminated).toBe(true);
    expectDone(term, 'snapshot-started');
    expect(['attached', 'released-and-attached']).toContain(launch.state.action);
    expect(launch.failed).toBe(false);
    await expectLaunched(instanceId, volumeId);
    expect((await world.nodeSnapshots()).map((s) => s.SnapshotId)).toEqual([term.state.snapshotId]);
    await world.expectNewestDataKept({ volumeId });
  });

  test('a move retried by the next launch adopts the snapshot the previous try left, counting tries', async () => {
    const { volumeId, previous, instanceId } = await moveTriedBefore(1);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'moved');
    expect(tap.callsOf('CreateSnapshot')).toEqual([]);
    expect(e.state.snapshotId).toBe(previous);
    const [snapshot] = (await world.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [previous] }))).Snapshots!;
    expect(tagMap(snapshot.Tags)['casper:move-attempts']).toBe('2');
    await world.expectNewestDataKept({ volumeId });
  });

  test('a move that keeps failing ends after MAX_MOVE_ATTEMPTS: Launch suspended, failure metric, the data kept', async () => {
    const { volumeId, previous, instanceId } = await moveTriedBefore(3);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectAbandoned(e, instanceId, new RegExp(`moving volume ${volumeId} failed 3 times \\(MAX_MOVE_ATTEMPTS 3\\): suspended the group's Launch process; snapshot ${previous}`));
    expect(metricNames(e)).toContain('LifecycleMoveGaveUp');
    const group = await world.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }));
    expect(group.AutoScalingGroups![0].SuspendedProcesses?.map((p) => p.ProcessName)).toEqual(['Launch']);
    expect(await world.volume(volumeId)).toBeDefined();
    await world.expectNewestDataKept({ volumeId });
  });

  test('CreateVolume fails: abandoned, the old volume intact', async () => {
    const oldVolumeId = await world.createVolume(AZ_B);
    await pinGroup(AZ_A);
    const before = await world.volume(oldVolumeId);
    const instanceId = await world.runInstance(AZ_A);
    tap.failOn('CreateVolume', serviceError('InsufficientVolumeCapacity', 'There is not enough capacity to fulfill your request.'));

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectAbandoned(e, instanceId, /InsufficientVolumeCapacity: There is not enough capacity/);
    expect(await world.volume(oldVolumeId)).toEqual(before);
    for (const command of ['DeleteVolume', 'DetachVolume', 'AttachVolume', 'AssociateAddress']) expect(tap.callsOf(command)).toEqual([]);
    await world.expectNewestDataKept({ volumeId: oldVolumeId });
  });

  test('no volume, three snapshots, the newest pending: restores the newest completed one', async () => {
    const scratch = await world.createVolume(AZ_B, { size: 50, tags: { Name: 'scratch' } });
    await world.snapshot(scratch);
    await nextSecond();
    const newestCompleted = await world.snapshot(scratch);
    await nextSecond();
    const pending = await world.snapshot(scratch);
    await world.ec2.send(new DeleteVolumeCommand({ VolumeId: scratch }));
    tap.rewrite('DescribeSnapshots', (output) => {
      for (const s of output.Snapshots ?? []) if (s.SnapshotId === pending) Object.assign(s, { State: 'pending', Progress: '10%' });
    });
    const instanceId = await world.runInstance(AZ_A);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'restored');
    expect(e.state.snapshotId).toBe(newestCompleted);
    const volume = await world.volume(e.state.volumeId!);
    expect(volume).toMatchObject({ AvailabilityZone: AZ_A, SnapshotId: newestCompleted, Size: 50, VolumeType: 'gp3', Iops: 4000, Throughput: 250, Encrypted: true });
    expect(tagMap(volume?.Tags)).toMatchObject({ ...NODE_TAGS, 'casper:created-by': 'lifecycle', 'casper:source-snapshot': newestCompleted });
    await expectLaunched(instanceId, e.state.volumeId!);
    await world.expectNewestDataKept({ snapshotId: newestCompleted });
  });

  test('only a pending snapshot: waits for it, restores it at least VOLUME_SIZE_GIB large', async () => {
    const scratch = await world.createVolume(AZ_B, { size: 8, tags: { Name: 'scratch' } });
    const only = await world.snapshot(scratch);
    await world.ec2.send(new DeleteVolumeCommand({ VolumeId: scratch }));
    const start = clock.now();
    tap.rewrite('DescribeSnapshots', (output) => {
      if (clock.now() - start < 600_000) for (const s of output.Snapshots ?? []) Object.assign(s, { State: 'pending' });
    });
    const instanceId = await world.runInstance(AZ_A);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'restored');
    expect(e.state.snapshotId).toBe(only);
    expect(e.waitedSeconds).toBeGreaterThanOrEqual(600);
    expect((await world.volume(e.state.volumeId!))?.Size).toBe(20);
  });

  test('nothing exists: an empty encrypted gp3 volume with the configured size, IOPS, throughput and key', async () => {
    const instanceId = await world.runInstance(AZ_A);
    runner.configure({ volumeKmsKeyId: KMS_KEY });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'created');
    const volume = await world.volume(e.state.volumeId!);
    expect(volume).toMatchObject({ AvailabilityZone: AZ_A, Size: 20, VolumeType: 'gp3', Iops: 4000, Throughput: 250, Encrypted: true, KmsKeyId: KMS_KEY });
    expect(tap.callsOf('CreateVolume')[0].input.ClientToken).toMatch(/^[0-9a-f]{64}$/);
    await expectLaunched(instanceId, e.state.volumeId!);
  });

  test('an instance that is no longer launching is abandoned without touching any volume', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    await world.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectAbandoned(e, instanceId, /is terminated, not launching/);
    expect(tap.callsOf('AttachVolume')).toEqual([]);
    await world.expectNewestDataKept({ volumeId });
  });

  test('a step that fails outright (Lambda error) is retried by the workflow', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    let thrown = 0;
    runner.onStep(() => {
      if (thrown < 2) {
        thrown++;
        throw Object.assign(new Error('Rate exceeded'), { name: 'Lambda.TooManyRequestsException' });
      }
    });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'attached');
    expect(thrown).toBe(2);
    await expectLaunched(instanceId, volumeId);
  });
});

describe('seed snapshot (SEED_SNAPSHOT_ID)', () => {
  /** A snapshot that carries no tag of the node, like one shared from another account or stack. */
  async function seedSnapshot(size: number): Promise<string> {
    const scratch = await world.createVolume(AZ_B, { size, tags: { Name: 'synced-elsewhere' } });
    const seed = await world.snapshot(scratch, { Name: 'casper-testnet-seed' });
    await world.ec2.send(new DeleteVolumeCommand({ VolumeId: scratch }));
    return seed;
  }

  test('nothing of the node exists: the volume is created from the seed (its size or more, gp3, configured key, source tag)', async () => {
    const seed = await seedSnapshot(50);
    const instanceId = await world.runInstance(AZ_A);
    runner.configure({ seedSnapshotId: seed, volumeKmsKeyId: KMS_KEY });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'seeded');
    expect(e.state.snapshotId).toBe(seed);
    const volume = await world.volume(e.state.volumeId!);
    expect(volume).toMatchObject({
      AvailabilityZone: AZ_A, SnapshotId: seed, Size: 50, VolumeType: 'gp3', Iops: 4000, Throughput: 250, Encrypted: true, KmsKeyId: KMS_KEY,
    });
    // Created with the tags of every volume it creates, and its source.
    expect(tagMap(tap.callsOf('CreateVolume')[0].input.TagSpecifications[0].Tags))
      .toEqual({ ...NODE_TAGS, 'casper:created-by': 'lifecycle', 'casper:source-snapshot': seed });
    // The seed is looked up by id, whoever owns it (not only this account's snapshots).
    expect(tap.callsOf('DescribeSnapshots').filter((c) => c.input.SnapshotIds)).toEqual(
      expect.arrayContaining([{ command: 'DescribeSnapshots', input: { SnapshotIds: [seed] } }]));
    // The seed itself is left alone.
    expect((await world.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [seed] }))).Snapshots).toHaveLength(1);
    await expectLaunched(instanceId, e.state.volumeId!);
    await world.expectNewestDataKept({ volumeId: e.state.volumeId });
  });

  test('a seed smaller than VOLUME_SIZE_GIB: the volume gets VOLUME_SIZE_GIB', async () => {
    const seed = await seedSnapshot(8);
    const instanceId = await world.runInstance(AZ_A);
    runner.configure({ seedSnapshotId: seed });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'seeded');
    expect((await world.volume(e.state.volumeId!))).toMatchObject({ SnapshotId: seed, Size: 20 });
  });

  test('the node\'s own completed snapshot wins over the seed', async () => {
    const seed = await seedSnapshot(50);
    const own = await world.createVolume(AZ_B, { size: 30, tags: { Name: 'old-data' } });
    const ownSnapshot = await world.snapshot(own);
    await world.ec2.send(new DeleteVolumeCommand({ VolumeId: own }));
    const instanceId = await world.runInstance(AZ_A);
    runner.configure({ seedSnapshotId: seed });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'restored');
    expect(e.state.snapshotId).toBe(ownSnapshot);
    expect((await world.volume(e.state.volumeId!))).toMatchObject({ SnapshotId: ownSnapshot, Size: 30 });
    expect(tap.callsOf('DescribeSnapshots').filter((c) => c.input.SnapshotIds)).toEqual([]);
    await world.expectNewestDataKept({ snapshotId: ownSnapshot });
  });

  test('the node\'s own volume wins over the seed: reattached in place', async () => {
    const seed = await seedSnapshot(50);
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    runner.configure({ seedSnapshotId: seed });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'attached');
    expect(tap.callsOf('CreateVolume')).toEqual([]);
    await expectLaunched(instanceId, volumeId);
  });

  test.each([
    ['not found', 'snap-0123456789abcdef0', 'not found (or not shared with this account)'],
    ['still pending', undefined, 'pending'],
  ])('a seed that is %s: logged, and the launch goes on with an empty volume', async (_case, missingId, said) => {
    const seed = missingId ?? await seedSnapshot(50);
    if (!missingId) {
      tap.rewrite('DescribeSnapshots', (output) => {
        for (const sn of output.Snapshots ?? []) if (sn.SnapshotId === seed) Object.assign(sn, { State: 'pending', Progress: '3%' });
      });
    }
    const instanceId = await world.runInstance(AZ_A);
    runner.configure({ seedSnapshotId: seed });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'created');
    expect(e.out.logs.some((l) => l.includes(`WARN no data volume and no snapshot, and seed snapshot ${seed} is ${said}: creating an empty volume instead`)))
      .toBe(true);
    const volume = await world.volume(e.state.volumeId!);
    expect(volume?.SnapshotId ?? '').toBe('');
    expect(volume?.Size).toBe(20);
    await expectLaunched(instanceId, e.state.volumeId!);
  });
});

describe('pool mode (MEMBER_SLOTS: fleet members)', () => {
  /** What DataVolumeLifecycle gives a fleet: slots, and no Elastic IP or group subnets. */
  const fleet = (memberSlots: number, changes: Partial<ReturnType<typeof testConfig>> = {}) =>
    runner.configure({ memberSlots, elasticIpAllocationId: undefined, groupSubnets: [], ...changes });
  const slotTags = (slot: number) => ({ ...NODE_TAGS, 'casper:member': String(slot) });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeEach(() => {
    // The claim's settle time is a Wait state (no time here): give concurrent executions
    // the moment to interleave that the 5 seconds give them in AWS.
    runner.onStep(async (state) => {
      if (state.phase === 'confirm-claim') await sleep(300);
    });
  });

  /** The instance runs as member `slot` on `volumeId`: attached, tagged, no Elastic IP. */
  async function expectMember(instanceId: string, volumeId: string, slot: number) {
    const volume = await world.volume(volumeId);
    expect(volume?.Attachments).toEqual([expect.objectContaining({ InstanceId: instanceId, Device: '/dev/sdf', State: 'attached' })]);
    expect(tagMap(volume?.Tags)).toMatchObject({ ...slotTags(slot), 'casper:instance': instanceId });
    expect(await world.instanceTags(instanceId)).toMatchObject({
      'casper:member': String(slot), 'casper:member-claim': String(slot), 'casper:data-volume': volumeId,
    });
    // casper:member is on the instance before casper:data-volume (the bootstrap reads it then).
    const tagged = tap.callsOf('CreateTags').filter((c) => c.input.Resources[0] === instanceId).map((c) => c.input.Tags[0]);
    const member = tagged.findIndex((t) => t.Key === 'casper:member');
    expect(member).toBeGreaterThanOrEqual(0);
    expect(member).toBeLessThan(tagged.findIndex((t) => t.Key === 'casper:data-volume' && t.Value === volumeId));
  }

  /** A fleet leaves the group and the Elastic IPs alone. */
  async function expectGroupUntouched() {
    expect(tap.callsOf('AssociateAddress')).toEqual([]);
    expect(lifecycle.commands.filter((c) => ['UpdateAutoScalingGroup', 'SuspendProcesses'].includes(c))).toEqual([]);
    expect(await world.groupAzs()).toEqual([AZ_A, AZ_B]);
    const address = await world.ec2.send(new DescribeAddressesCommand({ AllocationIds: [world.allocationId] }));
    expect(address.Addresses?.[0]?.InstanceId ?? '').toBe('');
  }

  const heartbeatsOf = (instanceId: string) => lifecycle.heartbeats().filter((h) => h.input.InstanceId === instanceId).length;

  test('3 members launching at once: slots 0, 1 and 2, each on a new volume of its own; the claims converge', async () => {
    fleet(3);
    const instances = [await world.runInstance(AZ_A), await world.runInstance(AZ_A), await world.runInstance(AZ_B)];

    const runs = await Promise.all(instances.map((id) => runner.run(lifecycleEvent('LAUNCHING', id))));

    for (const e of runs) expectDone(e, 'created');
    expect(runs.map((e) => e.state.slot).sort()).toEqual([0, 1, 2]);
    expect(new Set(runs.map((e) => e.state.volumeId)).size).toBe(3);
    for (const [i, e] of runs.entries()) {
      await expectMember(instances[i], e.state.volumeId!, e.state.slot!);
      expect((await world.volume(e.state.volumeId!))?.AvailabilityZone).toBe(i === 2 ? AZ_B : AZ_A);
      expect(heartbeatsOf(instances[i])).toBe(e.steps - 1);
    }
    expect((await world.nodeVolumes()).map((v) => tagMap(v.Tags)['casper:member']).sort()).toEqual(['0', '1', '2']);
    expect(tap.callsOf('CreateVolume')).toHaveLength(3);
    expect(lifecycle.completions()).toEqual(['CONTINUE', 'CONTINUE', 'CONTINUE']);
    await expectGroupUntouched();
  });

  test('a replacement in the same AZ reattaches its slot\'s volume: no snapshot, no copy', async () => {
    fleet(2);
    const v0 = await world.createVolume(AZ_A, { tags: slotTags(0) });
    const m1 = await world.runInstance(AZ_B, { 'casper:member': '1', 'casper:member-claim': '1' });
    const v1 = await world.createVolume(AZ_B, { tags: slotTags(1) });
    await attach(v1, m1);
    const instanceId = await world.runInstance(AZ_A);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'attached');
    expect(e.state).toMatchObject({ slot: 0, volumeId: v0 });
    await expectMember(instanceId, v0, 0);
    for (const command of ['CreateVolume', 'CreateSnapshot', 'DeleteVolume', 'DetachVolume', 'ModifyVolume']) expect(tap.callsOf(command)).toEqual([]);
    expect((await world.volume(v1))?.Attachments?.[0]?.InstanceId).toBe(m1);
    await expectGroupUntouched();
    await world.expectNewestDataKept({ volumeId: v0 });
  });

  test('a replacement in another AZ: a new volume from the fleet\'s newest snapshot (any slot); the slot\'s old volume deleted after the attach', async () => {
    fleet(2);
    const v0 = await world.createVolume(AZ_B, { size: 30, tags: { ...slotTags(0), 'casper:attached-at': '2026-11-01T00:00:00.000Z' } });
    const s0 = await world.snapshot(v0, { ...slotTags(0), 'casper:created-by': 'lifecycle', 'casper:reason': 'termination' });
    await nextSecond();
    const m1 = await world.runInstance(AZ_A, { 'casper:member': '1', 'casper:member-claim': '1' });
    const v1 = await world.createVolume(AZ_A, { size: 40, tags: slotTags(1) });
    await attach(v1, m1);
    const newest = await world.snapshot(v1, { ...slotTags(1), 'casper:created-by': 'snapshot-rotation' });
    const instanceId = await world.runInstance(AZ_A);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'restored');
    expect(e.state).toMatchObject({ slot: 0, snapshotId: newest, oldVolumesDeleted: [v0] });
    const volume = await world.volume(e.state.volumeId!);
    expect(volume).toMatchObject({ AvailabilityZone: AZ_A, SnapshotId: newest, Size: 40, VolumeType: 'gp3', Iops: 4000, Throughput: 250 });
    expect(tagMap(volume?.Tags)).toMatchObject({ ...slotTags(0), 'casper:created-by': 'lifecycle', 'casper:source-snapshot': newest });
    await expectMember(instanceId, e.state.volumeId!, 0);
    expect(await world.volume(v0)).toBeUndefined();
    const order = tap.calls.map((c) => c.command);
    expect(order.indexOf('DeleteVolume')).toBeGreaterThan(order.indexOf('AttachVolume'));
    expect(tap.callsOf('DeleteVolume').map((c) => c.input.VolumeId)).toEqual([v0]);
    expect(tap.callsOf('CreateSnapshot')).toEqual([]);
    await expectGroupUntouched();
    await world.expectNewestDataKept({ volumeId: v0 });
    await world.expectNewestDataKept({ snapshotId: s0 });
  });

  test('another AZ, but no completed snapshot holds the old volume\'s data: the old volume is kept', async () => {
    fleet(1);
    const v0 = await world.createVolume(AZ_B, { tags: { ...slotTags(0), 'casper:attached-at': '2026-11-01T00:00:00.000Z' } });
    const instanceId = await world.runInstance(AZ_A);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'created');
    expect(e.state.oldVolumesDeleted).toEqual([]);
    expect(await world.volume(v0)).toBeDefined();
    expect(e.out.logs.some((l) => l.includes(`keeping volume ${v0} for now (member 0 runs on volume ${e.state.volumeId} in ${AZ_A})`))).toBe(true);
    await expectMember(instanceId, e.state.volumeId!, 0);
    await world.expectNewestDataKept({ volumeId: v0 });
  });

  test('a member launching while others run never takes a running member\'s slot or volume (by tag or by attachment)', async () => {
    fleet(3);
    // Member 0 runs on its volume; its tags are not visible (only the attachment tells).
    const m0 = await world.runInstance(AZ_A);
    const v0 = await world.createVolume(AZ_A, { tags: slotTags(0) });
    await attach(v0, m0);
    // Member 1 is still launching: only its tags tell.
    await world.runInstance(AZ_A, { 'casper:member': '1', 'casper:member-claim': '1' });
    const instanceId = await world.runInstance(AZ_A);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'created');
    expect(e.state.slot).toBe(2);
    await expectMember(instanceId, e.state.volumeId!, 2);
    expect((await world.volume(v0))?.Attachments).toEqual([expect.objectContaining({ InstanceId: m0, State: 'attached' })]);
    expect(tap.callsOf('DetachVolume')).toEqual([]);
    await world.expectNewestDataKept({ volumeId: v0 });
  });

  test('a slot whose volume in this AZ is held by an instance the group is terminating: waits for it to go, then reattaches', async () => {
    fleet(2);
    const old = await world.runInstance(AZ_A, { 'casper:member': '0', 'casper:member-claim': '0' });
    const v0 = await world.createVolume(AZ_A, { tags: slotTags(0) });
    await attach(v0, old);
    // Auto Scaling is terminating the old member (its terminate hook runs); EC2 still says running.
    lifecycle.client.middlewareStack.add((next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'DescribeAutoScalingGroupsCommand') {
        for (const g of (result.output as any).AutoScalingGroups ?? []) {
          g.Instances = [{ InstanceId: old, LifecycleState: 'Terminating:Wait', AvailabilityZone: AZ_A, HealthStatus: 'Unhealthy' }];
        }
      }
      return result;
    }, { step: 'initialize', name: 'terminating' });
    const instanceId = await world.runInstance(AZ_A);
    let polls = 0;
    runner.onStep(async (state) => {
      if (state.phase === 'release' && ++polls === 3) await world.ec2.send(new TerminateInstancesCommand({ InstanceIds: [old] }));
    });

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'released-and-attached');
    expect(e.state).toMatchObject({ slot: 0, volumeId: v0 });
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(heartbeatsOf(instanceId)).toBe(e.steps - 1);
    expect(tap.callsOf('DetachVolume')).toEqual([]);
    expect(tap.callsOf('CreateVolume')).toEqual([]);
    await expectMember(instanceId, v0, 0);
    await world.expectNewestDataKept({ volumeId: v0 });
  });

  test('pruning: an available volume of a slot beyond MEMBER_SLOTS goes once a snapshot holds its data; one without stays', async () => {
    fleet(2);
    const v2 = await world.createVolume(AZ_A, { tags: slotTags(2) });
    const s2 = await world.snapshot(v2, { ...slotTags(2), 'casper:created-by': 'lifecycle', 'casper:reason': 'termination' });
    const v3 = await world.createVolume(AZ_A, { tags: { ...slotTags(3), 'casper:attached-at': '2026-11-01T00:00:00.000Z' } });
    const instanceId = await world.runInstance(AZ_B);

    const e = await runner.run(lifecycleEvent('LAUNCHING', instanceId));

    expectDone(e, 'restored');
    expect(e.state).toMatchObject({ slot: 0, snapshotId: s2, oldVolumesDeleted: [v2] });
    expect(await world.volume(v2)).toBeUndefined();
    expect(await world.volume(v3)).toBeDefined();
    expect(e.out.logs.some((l) => l.includes(`deleted volume ${v2}: slot 2 is beyond the fleet's 2 members; snapshot ${s2} holds its data`))).toBe(true);
    expect(e.out.logs.some((l) => l.includes(`keeping volume ${v3} for now (slot 3 is beyond the fleet's 2 members)`))).toBe(true);
    await expectMember(instanceId, e.state.volumeId!, 0);
    await world.expectNewestDataKept({ volumeId: v2 });
    await world.expectNewestDataKept({ volumeId: v3 });
  });

  test('the seed when the fleet has no snapshot yet; a later member starts from the fleet\'s snapshot instead', async () => {
    const scratch = await world.createVolume(AZ_B, { size: 50, tags: { Name: 'synced-elsewhere' } });
    const seed = await world.snapshot(scratch, { Name: 'casper-testnet-seed' });
    await world.ec2.send(new DeleteVolumeCommand({ VolumeId: scratch }));
    fleet(2, { seedSnapshotId: seed });
    const first = await world.runInstance(AZ_A);

    const e = await runner.run(lifecycleEvent('LAUNCHING', first));

    expectDone(e, 'seeded');
    expect(await world.volume(e.state.volumeId!)).toMatchObject({ SnapshotId: seed, Size: 50 });
    await expectMember(first, e.state.volumeId!, 0);
    const fleetSnapshot = await world.snapshot(e.state.volumeId!, { ...slotTags(0), 'casper:created-by': 'snapshot-rotation' });
    const second = await world.runInstance(AZ_B);
    const e2 = await runner.run(lifecycleEvent('LAUNCHING', second));
    expectDone(e2, 'restored');
    expect(e2.state).toMatchObject({ slot: 1, snapshotId: fleetSnapshot });
    await expectMember(second, e2.state.volumeId!, 1);
  });

  test('termination: the member\'s snapshot names its slot; its volume stays for the slot\'s next member', async () => {
    fleet(2);
    const instanceId = await world.runInstance(AZ_A, { 'casper:member': '1', 'casper:member-claim': '1' });
    const v1 = await world.createVolume(AZ_A, { tags: slotTags(1) });
    await attach(v1, instanceId);
    await world.tagInstance(instanceId, { 'casper:data-volume': v1 });

    const e = await runner.run(lifecycleEvent('TERMINATING', instanceId));

    expectDone(e, 'snapshot-started');
    const [snapshot] = await world.nodeSnapshots();
    expect(tagMap(snapshot.Tags)).toEqual({
      ...slotTags(1), 'casper:created-by': 'lifecycle', 'casper:reason': 'termination', 'casper:source-volume': v1, 'casper:instance': instanceId,
    });
    expect(tap.callsOf('DeleteVolume')).toEqual([]);
    expect(await world.volume(v1)).toBeDefined();
  });

  test('a termination\'s sweep leaves a slot\'s volume alone while another member\'s launch claims that slot', async () => {
    fleet(1);
    const stale = await world.createVolume(AZ_A, { tags: slotTags(0) });
    await world.snapshot(stale, { ...slotTags(0), 'casper:created-by': 'lifecycle', 'casper:reason': 'termination' });
    const leaving = await world.runInstance(AZ_B, { 'casper:member': '0', 'casper:member-claim': '0' });
    const current = await world.createVolume(AZ_B, { tags: slotTags(0) });
    await attach(current, leaving);
    await world.tagInstance(leaving, { 'casper:data-volume': current });
    // A replacement in AZ A has claimed slot 0 and may be about to take the volume there.
    await world.runInstance(AZ_A, { 'casper:member-claim': '0' });

    const e = await runner.run(lifecycleEvent('TERMINATING', leaving));

    expectDone(e, 'snapshot-started');
    expect(e.state.oldVolumesDeleted).toEqual([]);
    expect(await world.volume(stale)).toBeDefined();
  });

  test('a failed launch of a fleet changes nothing (the starter unpins nothing)', async () => {
    const options = { config: testConfig(world, { memberSlots: 2, groupSubnets: [] }), log: () => undefined, autoScaling: lifecycle.client };
    const failed = { 'detail-type': 'EC2 Instance Launch Unsuccessful', 'detail': { AutoScalingGroupName: GROUP } };
    expect(await startLifecycle(failed, options)).toEqual({ outcome: 'launch-failure-noted', detail: 'fleet' });
    expect(lifecycle.commands).toEqual([]);
  });
});

describe('TERMINATING', () => {
  test('snapshots the volume named by the instance tag without waiting; CONTINUE', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    await attach(volumeId, instanceId);
    await world.tagInstance(instanceId, { 'casper:data-volume': volumeId });

    const e = await runner.run(lifecycleEvent('TERMINATING', instanceId));

    expectDone(e, 'snapshot-started');
    const snapshots = await world.nodeSnapshots();
    expect(snapshots.map((s) => s.SnapshotId)).toEqual([e.state.snapshotId]);
    expect(tagMap(snapshots[0].Tags)).toEqual({
      ...NODE_TAGS, 'casper:created-by': 'lifecycle', 'casper:reason': 'termination', 'casper:source-volume': volumeId, 'casper:instance': instanceId,
    });
    expect(e.waitedSeconds).toBe(0);
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
    expect(lifecycle.calls[0].input.LifecycleHookName).toBe(`${NODE}-data-volume-terminate`);
    await world.expectNewestDataKept({ volumeId });
  });

  test('without the instance tag, finds the volume by node tags and attachment', async () => {
    const volumeId = await world.createVolume(AZ_B);
    await world.createVolume(AZ_A); // another node volume, not attached to the instance
    const instanceId = await world.runInstance(AZ_B);
    await attach(volumeId, instanceId);

    const e = await runner.run(lifecycleEvent('TERMINATING', instanceId));

    expectDone(e, 'snapshot-started');
    expect(tap.callsOf('CreateSnapshot').map((c) => c.input.VolumeId)).toEqual([volumeId]);
  });

  test('no data volume: CONTINUE', async () => {
    const instanceId = await world.runInstance(AZ_A);
    const e = await runner.run(lifecycleEvent('TERMINATING', instanceId));
    expectDone(e, 'no-volume');
    expect(tap.callsOf('CreateSnapshot')).toEqual([]);
    expect(lifecycle.completions()).toEqual(['CONTINUE']);
  });

  test('CreateSnapshot fails: abandoned, the volume intact, attached and still tagged', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    await attach(volumeId, instanceId);
    await world.tagInstance(instanceId, { 'casper:data-volume': volumeId });
    tap.failOn('CreateSnapshot', serviceError('InternalError', 'An internal error has occurred.'));

    const e = await runner.run(lifecycleEvent('TERMINATING', instanceId));

    expectAbandoned(e, instanceId, /InternalError: An internal error has occurred\./);
    expect((await world.volume(volumeId))?.Attachments?.[0]?.InstanceId).toBe(instanceId);
    await world.expectNewestDataKept({ volumeId });
  });

  test('prunes lifecycle snapshots beyond the newest three; never SnapshotRotation\'s, never the newest', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    await attach(volumeId, instanceId);
    const lifecycleTags = { ...NODE_TAGS, 'casper:created-by': 'lifecycle', 'casper:reason': 'termination' };
    const old: string[] = [];
    for (let i = 0; i < 4; i++) {
      old.push(await world.snapshot(volumeId, lifecycleTags));
      await nextSecond();
    }
    const rotation = await world.snapshot(volumeId, { ...NODE_TAGS, 'casper:created-by': 'snapshot-rotation' });
    await nextSecond();

    const e = await runner.run(lifecycleEvent('TERMINATING', instanceId));

    expectDone(e, 'snapshot-started');
    // 5 lifecycle snapshots (4 old + this one): the 2 oldest go.
    expect(e.state.snapshotsPruned?.sort()).toEqual([old[0], old[1]].sort());
    const left = (await world.nodeSnapshots()).map((s) => s.SnapshotId).sort();
    expect(left).toEqual([old[2], old[3], rotation, e.state.snapshotId].sort());
    for (const call of tap.callsOf('DeleteSnapshot')) expect(old.slice(0, 2)).toContain(call.input.SnapshotId);
    await world.expectNewestDataKept({ volumeId });
  });
});

describe('starter', () => {
  async function stateMachine(): Promise<{ sfn: SFNClient; arn: string }> {
    const sfn = new SFNClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
    const created = await sfn.send(new CreateStateMachineCommand({
      name: 'lifecycle', definition: JSON.stringify(definition), roleArn: 'arn:aws:iam::123456789012:role/lifecycle',
    }));
    return { sfn, arn: created.stateMachineArn! };
  }

  test('one execution per lifecycle action: a duplicate event starts nothing', async () => {
    const { sfn, arn } = await stateMachine();
    const event = lifecycleEvent('LAUNCHING', 'i-0123456789abcdef0');
    const options = { config: testConfig(world, { stateMachineArn: arn }), sfn, log: () => undefined };

    const first = await startLifecycle(event, options);
    const second = await startLifecycle({ ...event, id: 'another-delivery' }, options);

    expect(first).toMatchObject({ outcome: 'started', executionName: executionName(event.detail as any) });
    expect(first.executionName).toMatch(/^launch-i-0123456789abcdef0-[0-9a-f]{40}$/);
    // While it runs, the same name and input give back the same execution.
    expect(second.executionArn).toBe(first.executionArn);
    let executions = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }))).executions ?? [];
    expect(executions.map((x) => x.name)).toEqual([first.executionName]);
    // Once it has finished, a late duplicate is refused by name.
    await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
    expect(await startLifecycle(event, options)).toMatchObject({ outcome: 'duplicate', executionName: first.executionName });
    executions = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }))).executions ?? [];
    expect(executions).toHaveLength(1);
    // Another action for the same instance (a new token) is another execution.
    expect((await startLifecycle(lifecycleEvent('LAUNCHING', 'i-0123456789abcdef0', 'token-2'), options)).outcome).toBe('started');
  });

  test('events that are neither a lifecycle action nor a failed launch are ignored', async () => {
    const options = { config: testConfig(world, { stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:x' }), log: () => undefined };
    expect(await startLifecycle({ 'detail-type': 'EC2 Instance Launch Successful', 'detail': { EC2InstanceId: 'i-1' } }, options)).toEqual({ outcome: 'ignored' });
    const test = lifecycleEvent('LAUNCHING', 'i-1');
    expect(await startLifecycle({ ...test, detail: { ...test.detail, LifecycleTransition: 'autoscaling:TEST_NOTIFICATION' } }, options)).toEqual({ outcome: 'ignored' });
  });

  test('a failed launch of a group that is not pinned to one AZ changes nothing', async () => {
    const options = { config: testConfig(world), log: () => undefined, autoScaling: world.autoScaling };
    const failed = { 'detail-type': 'EC2 Instance Launch Unsuccessful', 'detail': { AutoScalingGroupName: GROUP } };
    expect(await startLifecycle(failed, options)).toEqual({ outcome: 'launch-failure-noted' });
    expect(await world.groupAzs()).toEqual([AZ_A, AZ_B]);
  });
});

describe('configuration and entry points', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    jest.restoreAllMocks();
  });

  test('configFromEnv: defaults, parsing and errors', () => {
    const base = { NODE_NAME: NODE, VOLUME_SIZE_GIB: '500' };
    expect(configFromEnv({ ...base, GROUP_SUBNETS: 'subnet-0a1=us-east-1a, subnet-0b2=us-east-1b' })).toEqual({
      nodeName: NODE,
      volumeSizeGiB: 500,
      volumeIops: 3000,
      volumeThroughputMiBps: 125,
      volumeKmsKeyId: undefined,
      deviceName: '/dev/sdf',
      instanceTagKey: 'casper:data-volume',
      elasticIpAllocationId: undefined,
      keepOldVolume: false,
      groupSubnets: [{ subnetId: 'subnet-0a1', az: 'us-east-1a' }, { subnetId: 'subnet-0b2', az: 'us-east-1b' }],
      moveTimeoutSeconds: 82_800,
      maxMoveAttempts: 3,
      holderWaitSeconds: 1200,
      keepLifecycleSnapshots: 3,
      launchFailuresBeforeUnpin: 3,
      stateMachineArn: undefined,
      metricNamespace: 'casper-node',
      seedSnapshotId: undefined,
      memberSlots: 0,
    });
    expect(configFromEnv({ ...base, MEMBER_SLOTS: '20' }).memberSlots).toBe(20);
    expect(() => configFromEnv({ ...base, MEMBER_SLOTS: '21' })).toThrow(/MEMBER_SLOTS must be an integer from 0 to 20, got "21"/);
    expect(configFromEnv({ ...base, SEED_SNAPSHOT_ID: 'snap-0123456789abcdef0' }).seedSnapshotId).toBe('snap-0123456789abcdef0');
    expect(configFromEnv({ ...base, SEED_SNAPSHOT_ID: 'snap-01234567' }).seedSnapshotId).toBe('snap-01234567');
    expect(() => configFromEnv({ ...base, SEED_SNAPSHOT_ID: 'snapshot-1' }))
      .toThrow(/SEED_SNAPSHOT_ID must be snap- and 8 or 17 hexadecimal digits, got "snapshot-1"/);
    expect(() => configFromEnv({ VOLUME_SIZE_GIB: '10' })).toThrow(/NODE_NAME is required/);
    expect(() => configFromEnv({ NODE_NAME: NODE })).toThrow(/VOLUME_SIZE_GIB is required/);
    expect(() => configFromEnv({ ...base, KEEP_OLD_VOLUME: 'yes' })).toThrow(/KEEP_OLD_VOLUME must be true or false/);
    expect(() => configFromEnv({ ...base, GROUP_SUBNETS: 'subnet-0a1' })).toThrow(/GROUP_SUBNETS entries must be subnet-<id>=<availability zone>, got "subnet-0a1"/);
    expect(() => configFromEnv({ ...base, MAX_MOVE_ATTEMPTS: '0' })).toThrow(/MAX_MOVE_ATTEMPTS must be an integer from 1 to 10, got "0"/);
  });

  test('a bad configuration abandons with one error line and a failure metric', async () => {
    const instanceId = await world.runInstance(AZ_A);
    const bad = new WorkflowRunner(definition, { tap, lifecycle, clock, config: undefined as any });
    process.env.NODE_NAME = NODE; // VOLUME_SIZE_GIB missing
    delete process.env.VOLUME_SIZE_GIB;

    const e = await bad.run(lifecycleEvent('LAUNCHING', instanceId));

    expectAbandoned(e, instanceId, /VOLUME_SIZE_GIB is required/);
    expect(tap.calls).toEqual([]);
  });

  test('the Lambda entry points read their configuration from the environment (AWS on moto)', async () => {
    const volumeId = await world.createVolume(AZ_A);
    const instanceId = await world.runInstance(AZ_A);
    await attach(volumeId, instanceId);
    Object.assign(process.env, motoEnv(moto.endpoint), { NODE_NAME: NODE, VOLUME_SIZE_GIB: '20', METRIC_NAMESPACE: 'casper-casper-test' });
    const completions: any[] = [];
    // moto has no CompleteLifecycleAction: record it on the real client class.
    jest.spyOn(AutoScalingClient.prototype, 'send').mockImplementation(async (command: any) => {
      completions.push(command.input);
      return { $metadata: {} };
    });
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);

    const state = await stepHandler({ op: 'advance', state: { detail: lifecycleEvent('TERMINATING', instanceId).detail as any } });

    expect(state).toMatchObject({ status: 'done', action: 'snapshot-started', volumeId });
    expect(completions).toEqual([expect.objectContaining({ InstanceId: instanceId, LifecycleActionResult: 'CONTINUE' })]);
    const emf = stdout.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"_aws"'));
    expect(JSON.parse(emf[0])).toMatchObject({ NodeName: NODE, LifecycleSuccesses: 1 });

    const sfn = new SFNClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
    const machine = await sfn.send(new CreateStateMachineCommand({ name: 'm', definition: JSON.stringify(definition), roleArn: 'arn:aws:iam::123456789012:role/r' }));
    process.env.STATE_MACHINE_ARN = machine.stateMachineArn;
    expect(await starterHandler(lifecycleEvent('LAUNCHING', instanceId))).toMatchObject({ outcome: 'started' });
  });
});

test('the world helpers tag what the tests expect', async () => {
  const volumeId = await world.createVolume(AZ_A);
  await world.ec2.send(new CreateTagsCommand({ Resources: [volumeId], Tags: [{ Key: 'x', Value: 'y' }] }));
  expect(tagMap((await world.volume(volumeId))?.Tags)).toEqual({ ...NODE_TAGS, x: 'y' });
});
