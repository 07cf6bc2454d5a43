import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CasperAlarms, CasperCanary, CasperNodeMetrics, DataVolumeLifecycle, SnapshotRotation } from '../../src';
import { worstCaseDetectionSeconds } from '../../src/private/detection';
import { alarmPeriod } from '../support/alarm-sim';
import { expectNagAndCfnLintClean, nagFindings } from '../support/checks';
import { agnosticStack, expectRejected, plainVpc } from '../support/stacks';

const NS = 'casper-casper-test';
const NODE = 'casper-test-node';
const ASG = 'casper-test-asg';

function metrics(withAsg = true): CasperNodeMetrics {
  return new CasperNodeMetrics({ namespace: NS, nodeName: NODE, autoScalingGroupName: withAsg ? ASG : undefined });
}

function topicIn(stack: Stack): sns.ITopic {
  return sns.Topic.fromTopicArn(stack, 'Topic', 'arn:aws:sns:us-east-1:123456789012:alerts');
}

/** The synthesized properties of the alarm with this name. */
function alarm(t: Template, name: string): Record<string, any> {
  const found = Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } }));
  expect(found).toHaveLength(1);
  return found[0].Properties;
}

const TOPIC = ['arn:aws:sns:us-east-1:123456789012:alerts'];

describe('CasperAlarms with every input', () => {
  const stack = agnosticStack();
  const topic = topicIn(stack);
  const canary = new CasperCanary(stack, 'Canary', { statusUrl: 'http://203.0.113.10:8888/status' });
  const rotation = new SnapshotRotation(stack, 'Rotation', { volumeTagValue: NODE, metricsNamespace: NS });
  const alarms = new CasperAlarms(stack, 'Alarms', {
    metrics: metrics(),
    topic,
    canary,
    snapshotRotation: rotation,
    dataVolumeLifecycle: lifecycle(stack),
    monitorRpc: true,
  });
  const t = Template.fromStack(stack);

  // Each row: alarm name, namespace, metric, dimensions, statistic, period, threshold,
  // operator, evaluation periods, datapoints to alarm, missing data.
  const rows: Array<[string, string, string, Record<string, string>, string, number, number, string, number, number, string]> = [
    ['bootstrap-overdue', NS, 'BootstrapComplete', { NodeName: NODE }, 'Maximum', 300, 1, 'LessThanThreshold', 21, 21, 'breaching'],
    ['wrong-chainspec', NS, 'WrongChainspec', { NodeName: NODE }, 'Maximum', 60, 1, 'GreaterThanOrEqualToThreshold', 2, 2, 'notBreaching'],
    ['upgrade-not-staged', NS, 'UpgradeStaged', { NodeName: NODE }, 'Maximum', 900, 1, 'LessThanThreshold', 32, 32, 'notBreaching'],
    ['stage-protocols-failed', NS, 'StageProtocolsFailed', { NodeName: NODE }, 'Maximum', 300, 1, 'GreaterThanOrEqualToThreshold', 1, 1, 'notBreaching'],
    ['rpc-down', NS, 'RpcUp', { NodeName: NODE }, 'Maximum', 60, 1, 'LessThanThreshold', 3, 3, 'notBreaching'],
    ['low-peers', NS, 'PeerCount', { NodeName: NODE }, 'Maximum', 60, 3, 'LessThanThreshold', 5, 5, 'notBreaching'],
    ['high-cpu', NS, 'cpu_usage_active', { NodeName: NODE, cpu: 'cpu-total' }, 'Average', 60, 70, 'GreaterThanThreshold', 5, 5, 'notBreaching'],
    ['high-memory', NS, 'mem_used_percent', { NodeName: NODE }, 'Average', 60, 80, 'GreaterThanThreshold', 5, 5, 'notBreaching'],
    ['data-disk-full', NS, 'disk_used_percent', { NodeName: NODE, path: '/var/lib/casper/casper-node', fstype: 'ext4' }, 'Maximum', 60, 90, 'GreaterThanThreshold', 2, 2, 'notBreaching'],
    ['root-disk-full', NS, 'disk_used_percent', { NodeName: NODE, path: '/', fstype: 'ext4' }, 'Maximum', 60, 90, 'GreaterThanThreshold', 2, 2, 'notBreaching'],
    ['status-check-failed', 'AWS/EC2', 'StatusCheckFailed', { AutoScalingGroupName: ASG }, 'Maximum', 60, 1, 'GreaterThanOrEqualToThreshold', 1, 1, 'notBreaching'],
    ['lifecycle-failures', NS, 'LifecycleFailures', { NodeName: NODE }, 'Sum', 300, 1, 'GreaterThanOrEqualToThreshold', 1, 1, 'notBreaching'],
  ];

  test.each(rows)('%s: metric, statistic, threshold, period, evaluation, missing data, actions', (
    name, namespace, metricName, dims, statistic, period, threshold, operator, evaluationPeriods, datapoints, missing) => {
    const p = alarm(t, `casper-${NODE}-${name}`);
    expect(p).toMatchObject({
      Namespace: namespace,
      MetricName: metricName,
      Statistic: statistic,
      Period: period,
      Threshold: threshold,
      ComparisonOperator: operator,
      EvaluationPeriods: evaluationPeriods,
      DatapointsToAlarm: datapoints,
      TreatMissingData: missing,
      AlarmActions: TOPIC,
      OKActions: TOPIC,
    });
    expect(Object.fromEntries((p.Dimensions as Array<{ Name: string; Value: string }>).map((d) => [d.Name, d.Value]))).toEqual(dims);
    expect(p.AlarmDescription).toMatch(new RegExp(`^Casper node ${NODE}: `));
  });

  test('rpc-slow: the 90th percentile latency above 1 s for 5 minutes', () => {
    const p = alarm(t, `casper-${NODE}-rpc-slow`);
    expect(p).toMatchObject({
      Namespace: NS,
      MetricName: 'RpcLatencyMilliseconds',
      ExtendedStatistic: 'p90',
      Period: 60,
      Threshold: 1000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'notBreaching',
      AlarmActions: TOPIC,
      OKActions: TOPIC,
    });
  });

  /** The metric queries of a metric math alarm, by id: [namespace, metric, statistic, period]. */
  const queries = (name: string) => {
    const p = alarm(t, `casper-${NODE}-${name}`);
    const stats = Object.fromEntries((p.Metrics as any[]).filter((q) => q.MetricStat).map((q) => [q.Id, [
      q.MetricStat.Metric.Namespace, q.MetricStat.Metric.MetricName, q.MetricStat.Stat, q.MetricStat.Period,
    ]]));
    const expression = (p.Metrics as any[]).find((q) => q.Expression);
    return { p, stats, expression: expression?.Expression };
  };

  const math: Array<[string, string, Record<string, [string, string, string, number]>, number, string, number, string]> = [
    ['node-down', 'IF(FILL(complete, 1) == 1, FILL(up, 0), 1)',
      { up: [NS, 'NodeUp', 'Maximum', 30], complete: [NS, 'BootstrapComplete', 'Maximum', 30] }, 1, 'LessThanThreshold', 3, 'breaching'],
    ['chain-stalled', 'IF(FILL(catchingUp, 0) == 1, 0, age)',
      { age: [NS, 'LastBlockAgeSeconds', 'Maximum', 30], catchingUp: [NS, 'CatchingUp', 'Maximum', 30] }, 600, 'GreaterThanThreshold', 1, 'notBreaching'],
    ['sync-not-progressing', 'IF(FILL(catchingUp, 0) == 1, heightMax - heightMin, 1)', {
      catchingUp: [NS, 'CatchingUp', 'Minimum', 900], heightMax: [NS, 'BlockHeight', 'Maximum', 900], heightMin: [NS, 'BlockHeight', 'Minimum', 900],
    }, 0, 'LessThanOrEqualToThreshold', 4, 'notBreaching'],
    ['canary-failing', 'IF(FILL(synced, 1) < 1, 100, success)', {
      success: ['CloudWatchSynthetics', 'SuccessPercent', 'Average', 300], synced: [NS, 'Synced', 'Maximum', 300],
    }, 100, 'LessThanThreshold', 2, 'notBreaching'],
    ['backups-stale', 'IF(FILL(synced, 0) < 1, 1, FILL(succeeded, 0))', {
      succeeded: [NS, 'SnapshotRotationSucceeded', 'Sum', 86400], synced: [NS, 'Synced', 'Maximum', 86400],
    }, 1, 'LessThanThreshold', 2, 'breaching'],
  ];
  test.each(math)('%s: metric math %s', (name, expression, stats, threshold, operator, evaluationPeriods, missing) => {
    const q = queries(name);
    expect(q.expression).toBe(expression);
    expect(q.stats).toEqual(stats);
    expect(q.p).toMatchObject({
      Threshold: threshold,
      ComparisonOperator: operator,
      EvaluationPeriods: evaluationPeriods,
      DatapointsToAlarm: evaluationPeriods,
      TreatMissingData: missing,
      AlarmActions: TOPIC,
      OKActions: TOPIC,
    });
    expect(q.p.AlarmDescription).toMatch(new RegExp(`^Casper node ${NODE}: `));
  });

  test('canary-failing reads this canary', () => {
    const { p } = queries('canary-failing');
    const success = (p.Metrics as any[]).find((q) => q.Id === 'success');
    expect(success.MetricStat.Metric.Dimensions).toEqual([{ Name: 'CanaryName', Value: stack.resolve(canary.canary.canaryName) }]);
  });

  test('exposes every alarm as a property and in `alarms`; the critical ones in `criticalAlarms`', () => {
    expect(alarms.alarms).toEqual([
      alarms.nodeDown, alarms.chainStalled, alarms.lowPeers, alarms.highCpu, alarms.highMemory,
      alarms.dataDiskFull, alarms.rootDiskFull, alarms.bootstrapOverdue, alarms.syncNotProgressing, alarms.wrongChainspec,
      alarms.upgradeNotStaged, alarms.stageProtocolsFailed, alarms.statusCheckFailed, alarms.rpcDown, alarms.rpcSlow,
      alarms.canaryFailing, alarms.backupsStale, alarms.lifecycleFailures,
    ]);
    expect(alarms.criticalAlarms).toEqual([
      alarms.nodeDown, alarms.chainStalled, alarms.bootstrapOverdue, alarms.syncNotProgressing, alarms.wrongChainspec,
      alarms.upgradeNotStaged, alarms.stageProtocolsFailed, alarms.statusCheckFailed, alarms.rpcDown,
    ]);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 18);
    t.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 0);
    expect(alarms.nodeUnhealthy).toBeUndefined();
  });

});

test('CasperAlarms with a canary and backups: cdk-nag and cfn-lint clean', () => {
  const stack = agnosticStack();
  new CasperAlarms(stack, 'Alarms', {
    metrics: metrics(),
    topic: topicIn(stack),
    canary: new CasperCanary(stack, 'Canary', { statusUrl: 'http://203.0.113.10:8888/status' }),
    snapshotRotation: new SnapshotRotation(stack, 'Rotation', { volumeTagValue: NODE, metricsNamespace: NS }),
  });
  expectNagAndCfnLintClean(stack);
});

describe('CasperAlarms alone', () => {
  test('without a topic the alarms have no actions; without optional inputs only the node alarms exist', () => {
    const stack = agnosticStack();
    const alarms = new CasperAlarms(stack, 'Alarms', { metrics: metrics(false) });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 12);
    for (const a of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      expect(a.Properties.AlarmActions).toBeUndefined();
      expect(a.Properties.OKActions).toBeUndefined();
    }
    expect(alarms.statusCheckFailed).toBeUndefined();
    expect(alarms.canaryFailing).toBeUndefined();
    expect(alarms.backupsStale).toBeUndefined();
    expect(alarms.lifecycleFailures).toBeUndefined();
    expect(alarms.rpcDown).toBeUndefined();
    expect(alarms.rpcSlow).toBeUndefined();
  });

  test('nodeUnhealthyAlarm: one composite over the critical alarms notifies; they no longer do, the others still do', () => {
    const stack = agnosticStack();
    const alarms = new CasperAlarms(stack, 'Alarms', { metrics: metrics(), topic: topicIn(stack), monitorRpc: true, nodeUnhealthyAlarm: true });
    const t = Template.fromStack(stack);
    const composites = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm'));
    expect(composites).toHaveLength(1);
    const c = composites[0].Properties;
    expect(c).toMatchObject({ AlarmName: `casper-${NODE}-node-unhealthy`, AlarmActions: TOPIC, OKActions: TOPIC });
    const rule = JSON.stringify(stack.resolve(c.AlarmRule));
    const critical = ['node-down', 'chain-stalled', 'bootstrap-overdue', 'sync-not-progressing', 'wrong-chainspec',
      'upgrade-not-staged', 'stage-protocols-failed', 'status-check-failed', 'rpc-down'];
    expect(alarms.criticalAlarms).toHaveLength(critical.length);
    for (const a of alarms.criticalAlarms) expect(rule).toContain(JSON.stringify(stack.resolve(a.alarmArn)).slice(1, -1));
    for (const name of critical) {
      const p = alarm(t, `casper-${NODE}-${name}`);
      expect({ name, actions: p.AlarmActions, ok: p.OKActions }).toEqual({ name, actions: undefined, ok: undefined });
    }
    for (const name of ['low-peers', 'high-cpu', 'high-memory', 'data-disk-full', 'root-disk-full', 'rpc-slow']) {
      expect({ name, actions: alarm(t, `casper-${NODE}-${name}`).AlarmActions }).toEqual({ name, actions: TOPIC });
    }
    expect(alarms.nodeUnhealthy).toBeDefined();
    expect(nagFindings(stack)).toEqual([]);
  });

  test('thresholds and the name prefix are props', () => {
    const stack = agnosticStack();
    new CasperAlarms(stack, 'Alarms', {
      metrics: metrics(),
      topic: topicIn(stack),
      alarmNamePrefix: 'mainnet-a',
      cpuThresholdPercent: 85,
      memoryThresholdPercent: 90,
      diskThresholdPercent: 75,
      maxBlockAge: Duration.minutes(20),
      minPeerCount: 8,
      snapshotRotation: new SnapshotRotation(stack, 'Rotation', { volumeTagValue: NODE }),
      backupMaxAge: Duration.days(7),
      bootstrapTimeout: Duration.hours(3),
      maxSyncStall: Duration.hours(2),
      upgradeStagingGracePeriod: Duration.hours(12),
      monitorRpc: true,
      rpcDownFor: Duration.minutes(10),
      maxRpcLatency: Duration.millis(500),
    });
    const t = Template.fromStack(stack);
    expect(alarm(t, 'mainnet-a-high-cpu').Threshold).toBe(85);
    expect(alarm(t, 'mainnet-a-high-memory').Threshold).toBe(90);
    expect(alarm(t, 'mainnet-a-data-disk-full').Threshold).toBe(75);
    expect(alarm(t, 'mainnet-a-root-disk-full').Threshold).toBe(75);
    expect(alarm(t, 'mainnet-a-chain-stalled').Threshold).toBe(1200);
    expect(alarm(t, 'mainnet-a-low-peers').Threshold).toBe(8);
    expect(alarm(t, 'mainnet-a-backups-stale')).toMatchObject({ EvaluationPeriods: 7, DatapointsToAlarm: 7 });
    // 3 h + 15 min in 5-minute periods.
    expect(alarm(t, 'mainnet-a-bootstrap-overdue')).toMatchObject({ EvaluationPeriods: 39, DatapointsToAlarm: 39, Period: 300 });
    expect(alarm(t, 'mainnet-a-sync-not-progressing')).toMatchObject({ EvaluationPeriods: 8, DatapointsToAlarm: 8 });
    expect(alarm(t, 'mainnet-a-upgrade-not-staged')).toMatchObject({ EvaluationPeriods: 48, DatapointsToAlarm: 48, Period: 900 });
    expect(alarm(t, 'mainnet-a-rpc-down')).toMatchObject({ EvaluationPeriods: 10, DatapointsToAlarm: 10, Period: 60 });
    expect(alarm(t, 'mainnet-a-rpc-slow').Threshold).toBe(500);
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['cpuThresholdPercent', { cpuThresholdPercent: 0 }, 'CasperAlarms: invalid cpuThresholdPercent 0: must be a percentage above 0 and below 100'],
    ['memoryThresholdPercent', { memoryThresholdPercent: 100 }, 'CasperAlarms: invalid memoryThresholdPercent 100: must be a percentage above 0 and below 100'],
    ['diskThresholdPercent', { diskThresholdPercent: -5 }, 'CasperAlarms: invalid diskThresholdPercent -5: must be a percentage above 0 and below 100'],
    ['maxBlockAge short', { maxBlockAge: Duration.seconds(60) }, 'CasperAlarms: invalid maxBlockAge "1 minute": must be from 2 minutes to 2 hours'],
    ['maxBlockAge long', { maxBlockAge: Duration.hours(3) }, 'CasperAlarms: invalid maxBlockAge "3 hours": must be from 2 minutes to 2 hours'],
    ['minPeerCount 0', { minPeerCount: 0 }, 'CasperAlarms: invalid minPeerCount 0: must be a whole number from 1 to 1000'],
    ['minPeerCount 2.5', { minPeerCount: 2.5 }, 'CasperAlarms: invalid minPeerCount 2.5: must be a whole number from 1 to 1000'],
    ['backupMaxAge 8 days', { backupMaxAge: Duration.days(8) }, 'CasperAlarms: invalid backupMaxAge "8 days": must be whole days from 1 to 7 (CloudWatch evaluates at most 7 days)'],
    ['backupMaxAge 36 hours', { backupMaxAge: Duration.hours(36) }, 'CasperAlarms: invalid backupMaxAge "1 day 12 hours": must be whole days from 1 to 7 (CloudWatch evaluates at most 7 days)'],
    ['bootstrapTimeout short', { bootstrapTimeout: Duration.minutes(20) }, 'CasperAlarms: invalid bootstrapTimeout "20 minutes": must be from 30 minutes to 12 hours'],
    ['bootstrapTimeout long', { bootstrapTimeout: Duration.hours(13) }, 'CasperAlarms: invalid bootstrapTimeout "13 hours": must be from 30 minutes to 12 hours'],
    ['maxSyncStall short', { maxSyncStall: Duration.minutes(15) }, 'CasperAlarms: invalid maxSyncStall "15 minutes": must be 30 minutes to 12 hours in whole quarter hours'],
    ['maxSyncStall uneven', { maxSyncStall: Duration.minutes(50) }, 'CasperAlarms: invalid maxSyncStall "50 minutes": must be 30 minutes to 12 hours in whole quarter hours'],
    ['upgradeStagingGracePeriod', { upgradeStagingGracePeriod: Duration.hours(25) }, 'CasperAlarms: invalid upgradeStagingGracePeriod "1 day 1 hour": must be 1 to 24 hours in whole quarter hours'],
    ['rpcDownFor', { rpcDownFor: Duration.seconds(90) }, 'CasperAlarms: invalid rpcDownFor "1 minute 30 seconds": must be 1 to 60 whole minutes'],
    ['maxRpcLatency', { maxRpcLatency: Duration.seconds(5) }, 'CasperAlarms: invalid maxRpcLatency "5 seconds": must be from 50 milliseconds to 4 seconds (the collector gives up after 5 seconds)'],
    ['alarmNamePrefix', { alarmNamePrefix: 'has space' }, 'CasperAlarms: invalid alarmNamePrefix "has space": must be 1 to 200 letters, digits, ".", "_" or "-"'],
  ];
  test.each(bad)('rejects %s', (_name, extra, message) => {
    const stack = agnosticStack();
    expectRejected(stack, () => new CasperAlarms(stack, 'Alarms', { metrics: metrics(), ...extra }), message);
  });

  test('rejects missing metrics (JavaScript callers)', () => {
    const stack = agnosticStack();
    expectRejected(stack, () => new CasperAlarms(stack, 'Alarms', {} as any),
      'CasperAlarms: invalid metrics undefined: is required: new CasperNodeMetrics({ namespace, nodeName })');
  });
});

describe('worst-case detection from the synthesized alarms', () => {
  const stack = agnosticStack();
  new CasperAlarms(stack, 'Alarms', { metrics: metrics() });
  const t = Template.fromStack(stack);
  const timing = (name: string, sampleIntervalSeconds: number, thresholdDelaySeconds = 0) => {
    const p = alarm(t, `casper-${NODE}-${name}`);
    return worstCaseDetectionSeconds({
      thresholdDelaySeconds,
      sampleIntervalSeconds,
      periodSeconds: alarmPeriod(p),
      datapointsToAlarm: p.DatapointsToAlarm,
    });
  };

  test('node down <= 3 minutes', () => {
    // 30 s to the first failed sample, 3 x 30 s periods, 30 s evaluation, 15 s delivery.
    expect(timing('node-down', 30)).toBe(165);
    expect(timing('node-down', 30)).toBeLessThanOrEqual(180);
  });

  test('chain stalled <= 12 minutes', () => {
    const threshold = alarm(t, `casper-${NODE}-chain-stalled`).Threshold;
    expect(threshold).toBe(600);
    expect(timing('chain-stalled', 30, threshold)).toBe(705);
    expect(timing('chain-stalled', 30, threshold)).toBeLessThanOrEqual(720);
  });

  test('instance impaired: the status check alarm, and node down which also fires', () => {
    // EC2 runs status checks every minute.
    expect(timing('status-check-failed', 60)).toBe(195);
    expect(Math.min(timing('status-check-failed', 60), timing('node-down', 30))).toBeLessThanOrEqual(180);
  });

  test('the formula adds its parts', () => {
    expect(worstCaseDetectionSeconds({ thresholdDelaySeconds: 10, sampleIntervalSeconds: 30, periodSeconds: 60, datapointsToAlarm: 2 }))
      .toBe(10 + 30 + 120 + 60 + 15);
    expect(worstCaseDetectionSeconds({ thresholdDelaySeconds: 0, sampleIntervalSeconds: 10, periodSeconds: 10, datapointsToAlarm: 1 }))
      .toBe(0 + 10 + 10 + 10 + 15);
  });
});

/** A real lifecycle handler on a throwaway group; the alarm only reads its failure metric. */
function lifecycle(stack: Stack): DataVolumeLifecycle {
  const asg = new autoscaling.AutoScalingGroup(stack, 'Asg', {
    vpc: plainVpc(stack),
    instanceType: new ec2.InstanceType('m6a.2xlarge'),
    machineImage: ec2.MachineImage.latestAmazonLinux2023(),
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
  });
  return new DataVolumeLifecycle(stack, 'Lifecycle', {
    autoScalingGroup: asg, nodeName: NODE, elasticIpAllocationId: 'eipalloc-1', metricsNamespace: NS,
  });
}
