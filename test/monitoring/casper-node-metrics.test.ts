import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { CasperNodeMetrics } from '../../src';

const NS = 'casper-casper-test';
const NODE = 'reader-1';
const DATA = '/var/lib/casper/casper-node';

function metrics(props: Partial<ConstructorParameters<typeof CasperNodeMetrics>[0]> = {}): CasperNodeMetrics {
  return new CasperNodeMetrics({ namespace: NS, nodeName: NODE, ...props });
}

/** What a metric looks like to CloudWatch. */
function shape(m: cloudwatch.Metric) {
  return { namespace: m.namespace, metricName: m.metricName, dimensions: m.dimensions, statistic: m.statistic, period: m.period.toSeconds() };
}

/** The names of the metricXxx() methods. */
type MetricMethod = Exclude<{
  [K in keyof CasperNodeMetrics]: CasperNodeMetrics[K] extends (p?: cloudwatch.MetricOptions) => cloudwatch.Metric ? K : never
}[keyof CasperNodeMetrics], undefined>;

const NODE_DIMS = { NodeName: NODE };
/** The collector's metrics (casper-metrics.py, dimension NodeName only): metric method and metric name, by the statistic each defaults to. */
const COLLECTOR_METRICS: { [statistic: string]: Array<[MetricMethod, string]> } = {
  Minimum: [['metricNodeUp', 'NodeUp'], ['metricSynced', 'Synced'], ['metricPeerCount', 'PeerCount'], ['metricUpgradeStaged', 'UpgradeStaged'], ['metricRpcUp', 'RpcUp']],
  Maximum: [
    ['metricBlockHeight', 'BlockHeight'], ['metricEraId', 'EraId'], ['metricLastBlockAge', 'LastBlockAgeSeconds'],
    ['metricStageProtocolsFailed', 'StageProtocolsFailed'], ['metricBootstrapComplete', 'BootstrapComplete'], ['metricCatchingUp', 'CatchingUp'],
    ['metricWrongChainspec', 'WrongChainspec'],
  ],
  p90: [['metricRpcLatency', 'RpcLatencyMilliseconds']],
};
/** The dimensions of the CloudWatch agent's disk metrics for the disk mounted at `mountPoint`. */
const disk = (mountPoint: string) => ({ path: mountPoint, fstype: 'ext4', NodeName: NODE });
const EXPECTED: Array<[MetricMethod, string, { [k: string]: string }, string]> = [
  ...Object.entries(COLLECTOR_METRICS).flatMap(([statistic, methods]) =>
    methods.map(([method, metricName]): [MetricMethod, string, typeof NODE_DIMS, string] => [method, metricName, NODE_DIMS, statistic])),
  // The CloudWatch agent's.
  ['metricMemoryUsedPercent', 'mem_used_percent', NODE_DIMS, 'Average'],
  ['metricMemoryUsed', 'mem_used', NODE_DIMS, 'Average'],
  ['metricCpuUtilization', 'cpu_usage_active', { cpu: 'cpu-total', NodeName: NODE }, 'Average'],
  ['metricDataDiskUsedPercent', 'disk_used_percent', disk(DATA), 'Maximum'],
  ['metricDataDiskUsed', 'disk_used', disk(DATA), 'Maximum'],
  ['metricDataDiskTotal', 'disk_total', disk(DATA), 'Maximum'],
  ['metricRootDiskUsedPercent', 'disk_used_percent', disk('/'), 'Maximum'],
  ['metricRootDiskUsed', 'disk_used', disk('/'), 'Maximum'],
  ['metricRootDiskTotal', 'disk_total', disk('/'), 'Maximum'],
];

describe('CasperNodeMetrics', () => {
  test.each(EXPECTED)('%s: %s', (method, metricName, dimensions, statistic) => {
    expect(shape(metrics()[method]())).toEqual({ namespace: NS, metricName, dimensions, statistic, period: 60 });
  });

  test('every metric method is covered above', () => {
    const proto = CasperNodeMetrics.prototype as any;
    const methods = Object.getOwnPropertyNames(proto).filter((n) => n.startsWith('metric') && typeof proto[n] === 'function');
    expect(methods.sort()).toEqual([...EXPECTED.map(([m]) => m), 'metricStatusCheckFailed'].sort());
  });

  test.each(EXPECTED.map(([m]) => m))('%s: options override statistic, period and label', (method) => {
    const m = metrics()[method]({ statistic: 'p90', period: Duration.seconds(30), label: 'L' });
    expect(m.statistic).toBe('p90');
    expect(m.period.toSeconds()).toBe(30);
    expect(m.label).toBe('L');
    expect(m.dimensions).toMatchObject({ NodeName: NODE });
  });

  test('the data mount point sets the path dimension of data disk metrics only', () => {
    const m = metrics({ dataMountPoint: '/data' });
    expect(m.dataMountPoint).toBe('/data');
    expect(m.metricDataDiskUsedPercent().dimensions).toEqual({ path: '/data', fstype: 'ext4', NodeName: NODE });
    expect(m.metricDataDiskUsed().dimensions).toMatchObject({ path: '/data' });
    expect(m.metricDataDiskTotal().dimensions).toMatchObject({ path: '/data' });
    expect(m.metricRootDiskUsedPercent().dimensions).toMatchObject({ path: '/' });
  });

  test('defaults the data mount point to the node config one', () => {
    expect(metrics().dataMountPoint).toBe(DATA);
    expect(metrics().autoScalingGroupName).toBeUndefined();
  });

  test('no metric carries an instance id', () => {
    const m = metrics({ autoScalingGroupName: 'asg' });
    for (const [method] of EXPECTED) expect(Object.keys(m[method]().dimensions ?? {})).not.toContain('InstanceId');
    expect(Object.keys(m.metricStatusCheckFailed().dimensions ?? {})).not.toContain('InstanceId');
  });

  describe('metricStatusCheckFailed', () => {
    test('AWS/EC2 StatusCheckFailed of the Auto Scaling group', () => {
      expect(shape(metrics({ autoScalingGroupName: 'my-asg' }).metricStatusCheckFailed())).toEqual({
        namespace: 'AWS/EC2',
        metricName: 'StatusCheckFailed',
        dimensions: { AutoScalingGroupName: 'my-asg' },
        statistic: 'Maximum',
        period: 60,
      });
    });

    test('options override', () => {
      const m = metrics({ autoScalingGroupName: 'my-asg' }).metricStatusCheckFailed({ statistic: 'Sum', period: Duration.minutes(5) });
      expect(m.statistic).toBe('Sum');
      expect(m.period.toMinutes()).toBe(5);
    });

    test('throws a clear error without autoScalingGroupName', () => {
      expect(() => metrics().metricStatusCheckFailed()).toThrow('CasperNodeMetrics: metricStatusCheckFailed needs autoScalingGroupName');
    });
  });

  test('the collector publishes every node metric the construct reads (they cannot drift apart)', () => {
    const collector = fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'assets', 'node', 'casper-metrics.py'), 'utf8');
    const names = ['NodeUp', 'Synced', 'PeerCount', 'BlockHeight', 'EraId', 'LastBlockAgeSeconds', 'StageProtocolsFailed',
      'BootstrapComplete', 'CatchingUp', 'WrongChainspec', 'UpgradeStaged', 'RpcUp', 'RpcLatencyMilliseconds'];
    expect(Object.values(COLLECTOR_METRICS).flat().map(([, name]) => name).sort()).toEqual([...names].sort());
    // The collector's METRICS table lists exactly these, in this order.
    const table = /^METRICS = \(\n([\s\S]*?)^\)/m.exec(collector)![1];
    expect([...table.matchAll(/\("(\w+)", "\w+"\)/g)].map((m) => m[1])).toEqual(names);
  });
});
