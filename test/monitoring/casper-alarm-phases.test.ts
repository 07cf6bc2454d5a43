import { Template } from 'aws-cdk-lib/assertions';
import { CasperAlarms, CasperCanary, CasperNodeMetrics, SnapshotRotation } from '../../src';
import { AlarmProperties, Sample, alarmingAt, evaluateExpression, every, firstAlarm } from '../support/alarm-sim';
import { agnosticStack } from '../support/stacks';

/**
 * What each alarm does in each phase of a node's life (bootstrap, initial
 * sync, after sync), from the synthesized alarms run through a CloudWatch
 * alarm simulator (test/support/alarm-sim.ts) on scenarios of what the
 * collector, the canary and the snapshot rotation publish.
 */

const NS = 'casper-casper-test';
const NODE = 'phases-node';
const MIN = 60;
const HOUR = 3600;
const DAY = 86400;

const stack = agnosticStack();
new CasperAlarms(stack, 'Alarms', {
  metrics: new CasperNodeMetrics({ namespace: NS, nodeName: NODE, autoScalingGroupName: 'asg' }),
  canary: new CasperCanary(stack, 'Canary', { statusUrl: 'http://203.0.113.10:8888/status' }),
  snapshotRotation: new SnapshotRotation(stack, 'Rotation', { volumeTagValue: NODE, metricsNamespace: NS }),
  monitorRpc: true,
});
const template = Template.fromStack(stack);

/** The synthesized alarm with this name suffix. */
function alarm(suffix: string): AlarmProperties {
  const found = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: `casper-${NODE}-${suffix}` } }));
  expect(found).toHaveLength(1);
  return found[0].Properties;
}

/** The alarms that must stay quiet while a healthy node bootstraps and syncs. */
const SYNC_AWARE = ['node-down', 'bootstrap-overdue', 'chain-stalled', 'sync-not-progressing', 'canary-failing', 'backups-stale',
  'wrong-chainspec', 'upgrade-not-staged', 'stage-protocols-failed', 'rpc-down', 'rpc-slow'];

/** A synced node's collector sample at time t (30 s apart), block height growing a block a minute. */
function synced(t: number): Record<string, number> {
  return {
    NodeUp: 1,
    Synced: 1,
    CatchingUp: 0,
    BootstrapComplete: 1,
    PeerCount: 8,
    BlockHeight: 5_000_000 + Math.floor(t / MIN),
    LastBlockAgeSeconds: t % MIN,
    WrongChainspec: 0,
    StageProtocolsFailed: 0,
    RpcUp: 1,
    RpcLatencyMilliseconds: 40,
  };
}

/** The canary every 5 minutes and the rotation at 03:00 each day, from whether the node is synced at the time. */
function outsideChecks(until: number, isSynced: (t: number) => boolean): Sample[] {
  return [
    ...every(5 * MIN, 0, until, (t) => ({ SuccessPercent: isSynced(t) ? 100 : 0 })),
    // A rotation that finds the node not synced skips and publishes no success.
    ...every(DAY, 3 * HOUR, until, (t) => (isSynced(t) ? { SnapshotRotationSucceeded: 1 } : undefined)),
  ];
}

describe('a healthy first boot: bootstrap 60 min, initial sync until 30 h, then synced', () => {
  const BOOT_DONE = 60 * MIN;
  const NODE_ANSWERS = 50 * MIN;
  const FIRST_BLOCK = 2 * HOUR; // the trusted block's global state takes a while
  const SYNCED = 30 * HOUR; // longer than a day: backups must not go stale meanwhile
  const END = 3 * DAY;
  const collector = every(30, 0, END, (t) => {
    if (t < NODE_ANSWERS) return { NodeUp: 0, Synced: 0, BootstrapComplete: 0, StageProtocolsFailed: 0 };
    if (t < SYNCED) {
      return {
        NodeUp: 1,
        Synced: 0,
        CatchingUp: 1,
        BootstrapComplete: t >= BOOT_DONE ? 1 : 0,
        PeerCount: 8,
        WrongChainspec: 0,
        StageProtocolsFailed: 0,
        ...(t >= FIRST_BLOCK ? { BlockHeight: 4_000_000 + Math.floor((t - FIRST_BLOCK) / 10), LastBlockAgeSeconds: 5 * HOUR } : {}),
        ...(t >= BOOT_DONE ? { RpcUp: 1, RpcLatencyMilliseconds: 80 } : {}),
      };
    }
    return synced(t);
  });
  const samples = [...collector, ...outsideChecks(END, (t) => t >= SYNCED)];

  test.each(SYNC_AWARE)('%s stays quiet', (name) => {
    expect(alarmingAt(alarm(name), samples, END)).toEqual([]);
  });

  test('without the sync awareness, the raw signals would have alarmed (the scenario can fail)', () => {
    // Block age above 10 minutes while catching up, and failing canary runs.
    expect(samples.some((s) => (s.values.LastBlockAgeSeconds ?? 0) > 600)).toBe(true);
    expect(samples.filter((s) => s.values.SuccessPercent === 0).length).toBeGreaterThan(2);
    // NodeUp 0 for 50 minutes.
    expect(samples.filter((s) => s.values.NodeUp === 0).length).toBeGreaterThan(3);
  });
});

describe('a bootstrap that never completes (the deadline replaces the instance every 90 minutes)', () => {
  const END = 4 * HOUR;
  // Each instance: 2 minutes before its collector's first sample, then bootstrapping until the deadline.
  const samples = every(30, 0, END, (t) => ((t % (92 * MIN)) < 2 * MIN ? undefined : { NodeUp: 0, Synced: 0, BootstrapComplete: 0 }));

  test('bootstrap-overdue fires after the timeout plus 15 minutes (in 5-minute periods)', () => {
    const after = firstAlarm(alarm('bootstrap-overdue'), samples, 0, END);
    expect(after).toBeDefined();
    expect(after!).toBeGreaterThanOrEqual(105 * MIN);
    expect(after!).toBeLessThanOrEqual(110 * MIN);
  });

  test('node-down stays quiet while the first instance bootstraps (its collector reports)', () => {
    const alarming = alarmingAt(alarm('node-down'), samples, END);
    expect(alarming.filter((t) => t > 2 * MIN && t <= 92 * MIN)).toEqual([]);
  });
});

describe('an initial sync that stops progressing', () => {
  const STUCK = 3 * HOUR;
  const END = 8 * HOUR;
  const samples = [
    ...every(30, 0, END, (t) => ({
      NodeUp: 1,
      Synced: 0,
      CatchingUp: 1,
      BootstrapComplete: 1,
      PeerCount: 8,
      WrongChainspec: 0,
      BlockHeight: 4_000_000 + Math.floor(Math.min(t, STUCK) / 10),
      LastBlockAgeSeconds: 6 * HOUR,
    })),
    ...outsideChecks(END, () => false),
  ];

  test('sync-not-progressing fires within the default hour (plus one 15-minute period of alignment)', () => {
    const after = firstAlarm(alarm('sync-not-progressing'), samples, STUCK, END);
    expect(after).toBeDefined();
    expect(after!).toBeGreaterThanOrEqual(60 * MIN);
    expect(after!).toBeLessThanOrEqual(75 * MIN);
  });

  test('and nothing fires while it progressed', () => {
    expect(alarmingAt(alarm('sync-not-progressing'), samples, STUCK)).toEqual([]);
  });

  test.each(['chain-stalled', 'canary-failing', 'node-down'])('%s stays quiet (catching up)', (name) => {
    expect(alarmingAt(alarm(name), samples, END)).toEqual([]);
  });
});

describe('after sync: the failures are detected as fast as before', () => {
  const FAULT = 1 * HOUR;
  const END = FAULT + 10 * HOUR;
  /** A synced node until FAULT, then `fault(t)` (undefined: no sample at all). */
  const scenario = (fault: (t: number) => Record<string, number> | undefined): Sample[] =>
    every(30, 0, END, (t) => (t < FAULT ? synced(t) : fault(t)));

  test('node process dead (NodeUp 0): node-down within 2 minutes of periods (3 min with delivery and evaluation)', () => {
    const after = firstAlarm(alarm('node-down'), scenario(() => ({ NodeUp: 0, Synced: 0, BootstrapComplete: 1 })), FAULT, END);
    expect(after).toBeLessThanOrEqual(2 * MIN);
  });

  test('instance, agent or collector gone (no data at all): node-down within 2 minutes', () => {
    const after = firstAlarm(alarm('node-down'), scenario(() => undefined), FAULT, END);
    expect(after).toBeLessThanOrEqual(2 * MIN);
  });

  test('chain stalled (the last block ages): chain-stalled within 11 minutes (threshold, one sample, one period)', () => {
    const after = firstAlarm(alarm('chain-stalled'),
      scenario((t) => ({ ...synced(FAULT), LastBlockAgeSeconds: t - FAULT })), FAULT, END);
    expect(after).toBeLessThanOrEqual(11 * MIN);
  });

  test('a node that falls back to CatchUp with a still height: chain-stalled quiet, sync-not-progressing fires', () => {
    const samples = scenario((t) => ({ ...synced(FAULT), CatchingUp: 1, Synced: 0, LastBlockAgeSeconds: t - FAULT }));
    expect(firstAlarm(alarm('chain-stalled'), samples, FAULT, END)).toBeUndefined();
    expect(firstAlarm(alarm('sync-not-progressing'), samples, FAULT, END)).toBeLessThanOrEqual(75 * MIN);
  });

  test('wrong chainspec: wrong-chainspec within 2 minutes', () => {
    expect(firstAlarm(alarm('wrong-chainspec'), scenario((t) => ({ ...synced(t), WrongChainspec: 1 })), FAULT, END))
      .toBeLessThanOrEqual(2 * MIN);
  });

  test('an upgrade announced and never staged: upgrade-not-staged after 8 hours; staged in time: quiet', () => {
    const never = scenario((t) => ({ ...synced(t), UpgradeStaged: 0 }));
    const after = firstAlarm(alarm('upgrade-not-staged'), never, FAULT, END);
    expect(after).toBeGreaterThanOrEqual(8 * HOUR);
    expect(after).toBeLessThanOrEqual(8 * HOUR + 15 * MIN);
    const inTime = scenario((t) => ({ ...synced(t), UpgradeStaged: t < FAULT + 6 * HOUR ? 0 : 1 }));
    expect(firstAlarm(alarm('upgrade-not-staged'), inTime, FAULT, END)).toBeUndefined();
  });

  test('protocol staging failed: stage-protocols-failed within 5 minutes', () => {
    expect(firstAlarm(alarm('stage-protocols-failed'), scenario((t) => ({ ...synced(t), StageProtocolsFailed: 1 })), FAULT, END))
      .toBeLessThanOrEqual(5 * MIN);
  });

  test('RPC refuses: rpc-down within 3 minutes; slow RPC (1.5 s): rpc-slow within 5 minutes; 0.9 s: quiet', () => {
    expect(firstAlarm(alarm('rpc-down'), scenario((t) => {
      const { RpcLatencyMilliseconds: _, ...rest } = synced(t);
      return { ...rest, RpcUp: 0 };
    }), FAULT, END)).toBeLessThanOrEqual(3 * MIN);
    expect(firstAlarm(alarm('rpc-slow'), scenario((t) => ({ ...synced(t), RpcLatencyMilliseconds: 1_500 })), FAULT, END))
      .toBeLessThanOrEqual(5 * MIN);
    expect(firstAlarm(alarm('rpc-slow'), scenario((t) => ({ ...synced(t), RpcLatencyMilliseconds: 900 })), FAULT, END)).toBeUndefined();
  });

  test('canary fails on a synced node: canary-failing within 2 canary periods', () => {
    const samples = [...scenario(synced), ...outsideChecks(END, (t) => t < FAULT)];
    expect(firstAlarm(alarm('canary-failing'), samples, FAULT, END)).toBeLessThanOrEqual(10 * MIN);
  });

  test('rotations stop on a synced node: backups-stale after 2 days', () => {
    const long = 5 * DAY;
    const samples = [...every(60, 0, long, synced), ...outsideChecks(long, (t) => t < DAY)];
    const after = firstAlarm(alarm('backups-stale'), samples, DAY, long);
    expect(after).toBeDefined();
    expect(after!).toBeLessThanOrEqual(3 * DAY);
  });
});

describe('the simulator', () => {
  test('evaluates IF, FILL, AND, OR, comparisons and arithmetic; missing where CloudWatch has no value', () => {
    expect(evaluateExpression('IF(FILL(a, 1) == 1, FILL(b, 0), 1)', { a: undefined, b: undefined })).toBe(0);
    expect(evaluateExpression('IF(FILL(a, 1) == 1, FILL(b, 0), 1)', { a: 0, b: undefined })).toBe(1);
    expect(evaluateExpression('IF(a < 1 OR b >= 1, 100, c)', { a: 1, b: 0, c: 50 })).toBe(50);
    expect(evaluateExpression('IF(a < 1 AND b >= 1, 1, c)', { a: 0, b: 1, c: 0 })).toBe(1);
    expect(evaluateExpression('IF(a == 1, b - c, 1)', { a: 1, b: 7, c: 7 })).toBe(0);
    expect(evaluateExpression('IF(a == 1, b - c, 1)', { a: 1, b: undefined, c: 7 })).toBeUndefined();
  });
});
