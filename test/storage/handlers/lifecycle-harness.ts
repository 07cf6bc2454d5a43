/**
 * Test harness for the data-volume lifecycle handler: a moto-backed world
 * (VPC, subnets in two AZs, instances, volumes, snapshots, an Elastic IP), an
 * EC2 client "tap" that records the handler's calls and can inject faults or
 * rewrite what moto reports, a recording Auto Scaling double for the two
 * lifecycle-action APIs moto 5.2.5 does not serve, and a fake clock.
 */
import { AutoScalingClient, CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  AllocateAddressCommand,
  CreateSnapshotCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  RunInstancesCommand,
  Snapshot,
  Tag,
  Volume,
} from '@aws-sdk/client-ec2';
import { AutoScalingEvent, LifecycleConfig, LAUNCHING, TERMINATING } from '../../../src/storage/handlers/data-volume-lifecycle';

export const NODE = 'testnet-reader';
export const REGION = 'us-east-1';
export const AZ_A = 'us-east-1a';
export const AZ_B = 'us-east-1b';
export const GROUP = 'casper-node-asg';
export const NODE_TAGS: Record<string, string> = { 'casper:node': NODE, 'casper:role': 'data' };
export const NODE_FILTERS = [
  { Name: 'tag:casper:node', Values: [NODE] },
  { Name: 'tag:casper:role', Values: ['data'] },
];
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** A plain EC2 client on moto, for setting up and checking the world. */
export function plainEc2(endpoint: string): EC2Client {
  return new EC2Client({ endpoint, region: REGION, credentials: CREDENTIALS });
}

export function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key!, t.Value!]));
}

export function toTags(map: Record<string, string>): Tag[] {
  return Object.entries(map).map(([Key, Value]) => ({ Key, Value }));
}

/** A call the handler made. */
export interface RecordedCall {
  readonly command: string;
  readonly input: any;
}

/** An error shaped like an AWS SDK service exception. */
export function serviceError(name: string, message: string, fault: 'client' | 'server' = 'server'): Error {
  return Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode: fault === 'server' ? 500 : 400 } });
}

/**
 * An EC2 client on moto for the handler. Records every call (name without
 * `Command`, input), throws injected faults before the request leaves, and
 * lets a test rewrite a response where moto cannot model a state (a pending
 * snapshot, an instance that is shutting down while its volume is still attached).
 */
export class Ec2Tap {
  public readonly client: EC2Client;
  public readonly calls: RecordedCall[] = [];
  private readonly faults = new Map<string, { error: Error; times: number }>();
  private readonly rewrites: Array<{ command: string; fn: (output: any) => void }> = [];

  constructor(endpoint: string) {
    this.client = plainEc2(endpoint);
    this.client.middlewareStack.add((next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, '');
      this.calls.push({ command, input: JSON.parse(JSON.stringify(args.input)) });
      const fault = this.faults.get(command);
      if (fault && fault.times > 0) {
        fault.times--;
        throw fault.error;
      }
      const result = await next(args);
      for (const r of this.rewrites) if (r.command === command) r.fn(result.output);
      return result;
    }, { step: 'initialize', name: 'lifecycleTestTap' });
  }

  /** Makes the next `times` calls of `command` (every call by default) fail with `error`. */
  public failOn(command: string, error: Error, times = Infinity): void {
    this.faults.set(command, { error, times });
  }

  /** Edits the deserialized output of every `command` response. */
  public rewrite(command: string, fn: (output: any) => void): void {
    this.rewrites.push({ command, fn });
  }

  public callsOf(command: string): RecordedCall[] {
    return this.calls.filter((c) => c.command === command);
  }
}

/**
 * Double for the Auto Scaling lifecycle-action APIs. moto 5.2.5 serves
 * Put/Describe/DeleteLifecycleHook but not CompleteLifecycleAction or
 * RecordLifecycleActionHeartbeat (they answer with a 404 page), so this real
 * SDK client answers those two itself and records them. Like AWS, a second
 * CompleteLifecycleAction for the same token fails with ValidationError.
 */
export class LifecycleDouble {
  public readonly client: AutoScalingClient;
  public readonly calls: RecordedCall[] = [];
  /** Every Auto Scaling command the handler sent (name without `Command`), the ones moto serves too. */
  public readonly commands: string[] = [];
  private readonly completedTokens = new Set<string>();

  constructor(endpoint: string) {
    this.client = new AutoScalingClient({ endpoint, region: REGION, credentials: CREDENTIALS });
    this.client.middlewareStack.add((next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, '');
      const input = args.input as any;
      this.commands.push(command);
      if (command !== 'CompleteLifecycleAction' && command !== 'RecordLifecycleActionHeartbeat') return next(args);
      this.calls.push({ command, input: { ...input } });
      if (this.completedTokens.has(input.LifecycleActionToken)) {
        throw serviceError('ValidationError', `No active Lifecycle Action found with token ${input.LifecycleActionToken}`, 'client');
      }
      if (command === 'CompleteLifecycleAction') this.completedTokens.add(input.LifecycleActionToken);
      return { output: { $metadata: { httpStatusCode: 200 } }, response: {} } as any;
    }, { step: 'initialize', name: 'lifecycleActionDouble' });
  }

  public completions(): string[] {
    return this.calls.filter((c) => c.command === 'CompleteLifecycleAction').map((c) => c.input.LifecycleActionResult);
  }

  public heartbeats(): RecordedCall[] {
    return this.calls.filter((c) => c.command === 'RecordLifecycleActionHeartbeat');
  }
}

/** A clock that moves only when the workflow waits (the Wait states run in no time). */
export class FakeClock {
  public t = Date.UTC(2026, 11, 1, 12, 0, 0);
  public readonly now = (): number => this.t;

  public advance(ms: number): void {
    this.t += ms;
  }
}

/** Config used by the tests. */
export function testConfig(world: World, overrides: Partial<LifecycleConfig> = {}): LifecycleConfig {
  return {
    nodeName: NODE,
    volumeSizeGiB: 20,
    volumeIops: 4000,
    volumeThroughputMiBps: 250,
    deviceName: '/dev/sdf',
    instanceTagKey: 'casper:data-volume',
    elasticIpAllocationId: world.allocationId,
    keepOldVolume: false,
    groupSubnets: Object.entries(world.subnets).map(([az, subnetId]) => ({ subnetId, az })),
    moveTimeoutSeconds: 82_800,
    maxMoveAttempts: 3,
    holderWaitSeconds: 1200,
    keepLifecycleSnapshots: 3,
    launchFailuresBeforeUnpin: 3,
    metricNamespace: 'casper-casper-test',
    memberSlots: 0,
    ...overrides,
  };
}

export function lifecycleEvent(transition: 'LAUNCHING' | 'TERMINATING', instanceId: string, token = `token-${transition}-${instanceId}`): AutoScalingEvent {
  const launching = transition === 'LAUNCHING';
  return {
    'id': `event-${token}`,
    'source': 'aws.autoscaling',
    'detail-type': launching ? 'EC2 Instance-launch Lifecycle Action' : 'EC2 Instance-terminate Lifecycle Action',
    'detail': {
      LifecycleActionToken: token,
      AutoScalingGroupName: GROUP,
      LifecycleHookName: launching ? `${NODE}-data-volume-launch` : `${NODE}-data-volume-terminate`,
      EC2InstanceId: instanceId,
      LifecycleTransition: launching ? LAUNCHING : TERMINATING,
    },
  };
}

/** The moto world of one test: network, Elastic IP and helpers to populate it. */
export class World {
  public static async create(endpoint: string): Promise<World> {
    const ec2 = plainEc2(endpoint);
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const subnet = async (cidr: string, az: string) =>
      (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId, CidrBlock: cidr, AvailabilityZone: az }))).Subnet!.SubnetId!;
    const subnets = { [AZ_A]: await subnet('10.0.1.0/24', AZ_A), [AZ_B]: await subnet('10.0.2.0/24', AZ_B) };
    const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    // The node's group (no instances: the tests launch them), in both AZs.
    const autoScaling = new AutoScalingClient({ endpoint, region: REGION, credentials: CREDENTIALS });
    await autoScaling.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'lc', ImageId: 'ami-12c6146b', InstanceType: 'm6a.2xlarge' }));
    await autoScaling.send(new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: GROUP,
      LaunchConfigurationName: 'lc',
      MinSize: 0,
      MaxSize: 1,
      DesiredCapacity: 0,
      VPCZoneIdentifier: Object.values(subnets).join(','),
      Tags: [{ Key: 'casper:node', Value: NODE, PropagateAtLaunch: true }],
    }));
    return new World(endpoint, ec2, autoScaling, subnets, eip.AllocationId!);
  }

  private constructor(
    public readonly endpoint: string,
    public readonly ec2: EC2Client,
    public readonly autoScaling: AutoScalingClient,
    public readonly subnets: Record<string, string>,
    public readonly allocationId: string,
  ) {}

  /** The AZs the group launches into now. */
  public async groupAzs(): Promise<string[]> {
    const out = await this.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }));
    const ids = (out.AutoScalingGroups?.[0]?.VPCZoneIdentifier ?? '').split(',').filter(Boolean);
    return Object.entries(this.subnets).filter(([, id]) => ids.includes(id)).map(([az]) => az).sort();
  }

  public async runInstance(az: string, tags: Record<string, string> = {}): Promise<string> {
    const result = await this.ec2.send(new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      InstanceType: 'm6a.2xlarge',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: this.subnets[az],
      TagSpecifications: [{ ResourceType: 'instance', Tags: toTags({ 'casper:node': NODE, ...tags }) }],
    }));
    return result.Instances![0].InstanceId!;
  }

  public async createVolume(az: string, props: {
    size?: number; iops?: number; throughput?: number; kmsKeyId?: string; tags?: Record<string, string>; snapshotId?: string;
  } = {}): Promise<string> {
    const result = await this.ec2.send(new CreateVolumeCommand({
      AvailabilityZone: az,
      Size: props.size ?? 30,
      VolumeType: 'gp3',
      Iops: props.iops ?? 5000,
      Throughput: props.throughput ?? 300,
      Encrypted: true,
      KmsKeyId: props.kmsKeyId,
      SnapshotId: props.snapshotId,
      TagSpecifications: [{ ResourceType: 'volume', Tags: toTags(props.tags ?? NODE_TAGS) }],
    }));
    return result.VolumeId!;
  }

  public async snapshot(volumeId: string, tags: Record<string, string> = NODE_TAGS): Promise<string> {
    const result = await this.ec2.send(new CreateSnapshotCommand({
      VolumeId: volumeId,
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: toTags(tags) }],
    }));
    return result.SnapshotId!;
  }

  public async tagInstance(instanceId: string, tags: Record<string, string>): Promise<void> {
    await this.ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: toTags(tags) }));
  }

  public async volume(volumeId: string): Promise<Volume | undefined> {
    return (await this.ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [volumeId] }] }))).Volumes?.[0];
  }

  public async nodeVolumes(): Promise<Volume[]> {
    return (await this.ec2.send(new DescribeVolumesCommand({ Filters: NODE_FILTERS }))).Volumes ?? [];
  }

  public async nodeSnapshots(): Promise<Snapshot[]> {
    return (await this.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: NODE_FILTERS }))).Snapshots ?? [];
  }

  public async instanceTags(instanceId: string): Promise<Record<string, string>> {
    const result = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return tagMap(result.Reservations?.[0]?.Instances?.[0]?.Tags);
  }

  /**
   * The invariant of every test: at least one copy of the newest data exists,
   * as the volume itself, a node volume restored from a snapshot of it, or a
   * completed node snapshot of it (for a snapshot source: the snapshot or a
   * volume restored from it). Returns what holds the data.
   */
  public async expectNewestDataKept(source: { volumeId?: string; snapshotId?: string }): Promise<string[]> {
    const volumes = await this.nodeVolumes();
    const snapshots = await this.nodeSnapshots();
    const copies: string[] = [];
    if (source.volumeId) {
      const fromVolume = snapshots.filter((s) => s.VolumeId === source.volumeId && s.State === 'completed');
      copies.push(
        ...volumes.filter((v) => v.VolumeId === source.volumeId).map((v) => v.VolumeId!),
        ...fromVolume.map((s) => s.SnapshotId!),
        ...volumes.filter((v) => fromVolume.some((s) => s.SnapshotId === v.SnapshotId)).map((v) => v.VolumeId!),
      );
    }
    if (source.snapshotId) {
      copies.push(
        ...snapshots.filter((s) => s.SnapshotId === source.snapshotId && s.State === 'completed').map((s) => s.SnapshotId!),
        ...volumes.filter((v) => v.SnapshotId === source.snapshotId).map((v) => v.VolumeId!),
      );
    }
    if (copies.length === 0) throw new Error(`no copy of the newest data (${JSON.stringify(source)}) is left`);
    return copies;
  }
}

