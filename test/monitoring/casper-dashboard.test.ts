import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  CasperAgentConfig, CasperAlarms, CasperCanary, CasperDashboard, CasperDashboardProps, CasperNetwork, CasperNodeMetrics, SnapshotRotation,
} from '../../src';
import { nagFindings } from '../support/checks';
import { agnosticStack } from '../support/stacks';

const NS = 'casper-casper-test';
const NODE = 'reader-1';
const IP = '203.0.113.10';
const STATUS_URL = `http://${IP}:8888/status`;

/** A metric of a dashboard widget, from CloudWatch's `[namespace, name, dim, value, ..., {options}]`. */
interface WidgetMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: { [name: string]: string };
  readonly options: { [key: string]: unknown };
}

/** A CloudFormation value as text: `{ Ref: X }` reads `${X}`, `{ Fn::GetAtt: [X, A] }` `${X.A}`. */
function render(v: any): string {
  if (typeof v === 'string') return v;
  if ('Ref' in v) return `\${${v.Ref}}`;
  if ('Fn::GetAtt' in v) return `\${${v['Fn::GetAtt'].join('.')}}`;
  if ('Fn::Join' in v) return (v['Fn::Join'][1] as any[]).map(render).join(v['Fn::Join'][0]);
  throw new Error(`unexpected value ${JSON.stringify(v)}`);
}

/** The parsed dashboard body; the tokens inside it read as `${LogicalId}` / `${LogicalId.Attr}`. */
function dashboardBody(stack: Stack): any {
  const dashboards = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  return JSON.parse(render(dashboards[0].Properties.DashboardBody));
}

function widgetMetrics(widget: any): WidgetMetric[] {
  return ((widget.properties?.metrics ?? []) as any[][]).map((row) => {
    const options = typeof row[row.length - 1] === 'object' ? row[row.length - 1] : {};
    const fields = typeof row[row.length - 1] === 'object' ? row.slice(0, -1) : row;
    const [namespace, metricName, ...dims] = fields as string[];
    const dimensions: { [name: string]: string } = {};
    for (let i = 0; i < dims.length; i += 2) dimensions[dims[i]] = dims[i + 1];
    return { namespace, metricName, dimensions, options };
  });
}

function allMetrics(body: any): WidgetMetric[] {
  return (body.widgets as any[]).flatMap(widgetMetrics);
}

function tokenOf(stack: Stack, value: string): string {
  return render(stack.resolve(value));
}

function logicalId(construct: { node: { defaultChild?: unknown } }): string {
  return Stack.of(construct as any).getLogicalId(construct.node.defaultChild as any);
}

/** Everything the dashboard can show, built from the real constructs. */
function full(props: Partial<CasperDashboardProps> = {}) {
  const stack = agnosticStack();
  const agentConfig = new CasperAgentConfig(stack, 'Agent', { network: CasperNetwork.TESTNET, nodeName: NODE });
  const metrics = new CasperNodeMetrics({ namespace: NS, nodeName: NODE, autoScalingGroupName: 'reader-1-asg' });
  const canary = new CasperCanary(stack, 'Canary', { statusUrl: STATUS_URL, network: CasperNetwork.TESTNET });
  const snapshotRotation = new SnapshotRotation(stack, 'Backups', { volumeTagValue: NODE });
  const alarms = new CasperAlarms(stack, 'Alarms', { metrics, canary, snapshotRotation, maxBlockAge: Duration.minutes(20) });
  const dashboard = new CasperDashboard(stack, 'Dashboard', {
    metrics, alarms, canary, snapshotRotation, agentConfig, publicIp: IP, statusUrl: STATUS_URL, ...props,
  });
  return { stack, agentConfig, metrics, canary, snapshotRotation, alarms, dashboard };
}

/** Only the required input. */
function minimal() {
  const stack = agnosticStack();
  const metrics = new CasperNodeMetrics({ namespace: NS, nodeName: NODE });
  new CasperDashboard(stack, 'Dashboard', { metrics });
  return { stack, metrics, body: dashboardBody(stack) };
}

/** Whether a widget shows this metric, with exactly these dimensions. */
function has(metrics: WidgetMetric[], namespace: string, metricName: string, dimensions: { [name: string]: string }): boolean {
  return metrics.some((m) => m.namespace === namespace && m.metricName === metricName && sameDimensions(m.dimensions, dimensions));
}

function sameDimensions(a: { [k: string]: string }, b: { [k: string]: string }): boolean {
  return Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);
}

describe('CasperDashboard', () => {
  describe('with every optional input', () => {
    let built: ReturnType<typeof full>;
    let stack: Stack;
    let body: any;
    let metrics: WidgetMetric[];
    beforeAll(() => {
      built = full();
      stack = built.stack;
      body = dashboardBody(stack);
      metrics = allMetrics(body);
    });

    test('a text widget with the node name, public IP and status URL', () => {
      const texts = (body.widgets as any[]).filter((w) => w.type === 'text');
      expect(texts).toHaveLength(1);
      const markdown: string = texts[0].properties.markdown;
      expect(markdown).toContain(`# Casper node ${NODE}`);
      expect(markdown).toContain(`Public IP: **${IP}**`);
      expect(markdown).toContain(`[${STATUS_URL}](${STATUS_URL})`);
      expect(markdown).toContain(`namespace \`${NS}\``);
      // The Auto Scaling group link is in the dashboard's own region.
      expect(markdown).toContain('region=${AWS::Region}#AutoScalingGroupDetails:id=reader-1-asg');
    });

    test('an alarm widget lists every alarm of the CasperAlarms, in order', () => {
      const widgets = (body.widgets as any[]).filter((w) => w.type === 'alarm');
      expect(widgets).toHaveLength(1);
      expect(built.alarms.alarms).toHaveLength(15);
      expect(widgets[0].properties.alarms).toEqual(built.alarms.alarms.map((a) => tokenOf(stack, a.alarmArn)));
      expect(widgets[0].properties.alarms).toContain(`\${${logicalId(built.alarms.chainStalled)}.Arn}`);
    });

    test.each(['NodeUp', 'Synced', 'BlockHeight', 'LastBlockAgeSeconds', 'EraId', 'PeerCount'])('graphs %s of the node', (metricName) => {
      expect(has(metrics, NS, metricName, { NodeName: NODE })).toBe(true);
      // And as a current value in the single-value widget.
      const now = (body.widgets as any[]).find((w) => w.properties?.view === 'singleValue');
      expect(has(widgetMetrics(now), NS, metricName, { NodeName: NODE })).toBe(true);
    });

    test('CPU, memory and both disks, as the agent publishes them', () => {
      expect(has(metrics, NS, 'cpu_usage_active', { NodeName: NODE, cpu: 'cpu-total' })).toBe(true);
      expect(has(metrics, NS, 'mem_used_percent', { NodeName: NODE })).toBe(true);
      expect(has(metrics, NS, 'disk_used_percent', { NodeName: NODE, fstype: 'ext4', path: '/var/lib/casper/casper-node' })).toBe(true);
      expect(has(metrics, NS, 'disk_used_percent', { NodeName: NODE, fstype: 'ext4', path: '/' })).toBe(true);
    });

    test('every node metric carries NodeName and never an instance id', () => {
      const nodeMetrics = metrics.filter((m) => m.namespace === NS);
      expect(nodeMetrics.length).toBeGreaterThan(10);
      for (const m of nodeMetrics) {
        expect(m.dimensions.NodeName).toBe(NODE);
        expect(m.dimensions).not.toHaveProperty('InstanceId');
      }
    });

    test('the canary\'s success percentage', () => {
      const canaryName = tokenOf(stack, built.canary.canary.canaryName);
      expect(canaryName).toBe(`\${${logicalId(built.canary.canary)}}`);
      expect(has(metrics, 'CloudWatchSynthetics', 'SuccessPercent', { CanaryName: canaryName })).toBe(true);
      expect(has(metrics, 'CloudWatchSynthetics', 'Duration', { CanaryName: canaryName })).toBe(true);
    });

    test('the snapshot rotation\'s runs', () => {
      const ns = built.snapshotRotation.metricsNamespace;
      expect(has(metrics, ns, 'SnapshotRotationSucceeded', { NodeName: NODE })).toBe(true);
      expect(has(metrics, ns, 'SnapshotSkipped', { NodeName: NODE })).toBe(true);
      expect(has(metrics, ns, 'NewestCompletedSnapshotAgeSeconds', { NodeName: NODE })).toBe(true);
    });

    test('log ingestion of the four log groups', () => {
      const a = built.agentConfig;
      const ingested = metrics.filter((m) => m.namespace === 'AWS/Logs');
      expect(ingested.map((m) => m.metricName)).toEqual(['IncomingBytes', 'IncomingBytes', 'IncomingBytes', 'IncomingBytes']);
      expect(ingested.map((m) => m.dimensions)).toEqual([a.nodeLogGroup, a.nodeStderrLogGroup, a.bootstrapLogGroup, a.metricsLogGroup]
        .map((g) => ({ LogGroupName: `\${${logicalId(g)}}` })));
      for (const m of ingested) expect(m.options).toMatchObject({ stat: 'Sum', period: 3600 });
    });

    test('the block age graph marks the chain-stalled threshold of the alarms', () => {
      const graph = (body.widgets as any[]).find((w) => w.properties?.title === 'Last block age (s)');
      expect(built.alarms.maxBlockAgeSeconds).toBe(1200);
      expect(graph.properties.annotations.horizontal).toEqual([
        expect.objectContaining({ value: built.alarms.maxBlockAgeSeconds, label: 'chain-stalled alarm' }),
      ]);
    });

    test('widgets fit the 24-column grid without overlapping', () => {
      const cells = new Set<string>();
      for (const w of body.widgets as any[]) {
        expect(w.x + w.width).toBeLessThanOrEqual(24);
        for (let x = w.x; x < w.x + w.width; x++) {
          for (let y = w.y; y < w.y + w.height; y++) {
            expect(cells.has(`${x},${y}`)).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
      }
    });

    test('the canary, backup and log widgets share the last row', () => {
      const titles = ['External canary', 'Backups', 'Log ingestion (bytes/hour)'];
      const extras = titles.map((title) => (body.widgets as any[]).find((w) => w.properties?.title === title));
      expect(extras.map((w) => [w.x, w.width])).toEqual([[0, 8], [8, 8], [16, 8]]);
      expect(new Set(extras.map((w) => w.y)).size).toBe(1);
      expect(Math.max(...(body.widgets as any[]).map((w) => w.y))).toBe(extras[0].y);
    });

    test('opens on the last 6 hours', () => {
      expect(body.start).toBe('-PT6H');
    });

    test('cdk-nag clean', () => {
      expect(nagFindings(stack)).toEqual([]);
    });
  });

  describe('with the metrics only', () => {
    let body: any;
    let metrics: WidgetMetric[];
    beforeAll(() => {
      body = minimal().body;
      metrics = allMetrics(body);
    });

    test('the text widget spans the row and names the node, without address or status URL', () => {
      const text = (body.widgets as any[]).find((w) => w.type === 'text');
      expect(text.width).toBe(24);
      expect(text.properties.markdown).toContain(`# Casper node ${NODE}`);
      expect(text.properties.markdown).not.toContain('Public IP');
      expect(text.properties.markdown).not.toContain('Status:');
      expect(text.properties.markdown).not.toContain('Auto Scaling group');
    });

    test('no alarm widget and no chain-stalled annotation', () => {
      expect((body.widgets as any[]).filter((w) => w.type === 'alarm')).toEqual([]);
      expect((body.widgets as any[]).filter((w) => w.properties?.annotations)).toEqual([]);
    });

    test('no canary, backup or log widgets', () => {
      expect(metrics.filter((m) => m.namespace === 'CloudWatchSynthetics')).toEqual([]);
      expect(metrics.filter((m) => m.metricName === 'SnapshotRotationSucceeded')).toEqual([]);
      expect(metrics.filter((m) => m.namespace === 'AWS/Logs')).toEqual([]);
      expect(new Set(metrics.map((m) => m.namespace))).toEqual(new Set([NS]));
    });

    test('still every node, CPU, memory and disk metric', () => {
      for (const name of ['NodeUp', 'Synced', 'BlockHeight', 'LastBlockAgeSeconds', 'EraId', 'PeerCount', 'mem_used_percent',
        'BootstrapComplete', 'CatchingUp', 'WrongChainspec', 'UpgradeStaged', 'StageProtocolsFailed', 'RpcUp', 'RpcLatencyMilliseconds']) {
        expect(metrics.some((m) => m.metricName === name)).toBe(true);
      }
      expect(has(metrics, NS, 'cpu_usage_active', { NodeName: NODE, cpu: 'cpu-total' })).toBe(true);
      expect(metrics.filter((m) => m.metricName === 'disk_used_percent').map((m) => m.dimensions.path).sort())
        .toEqual(['/', '/var/lib/casper/casper-node']);
    });

    test('cdk-nag clean', () => {
      expect(nagFindings(minimal().stack)).toEqual([]);
    });
  });

  test('one optional input: its widget spans the last row, and the others are absent', () => {
    const stack = agnosticStack();
    const metrics = new CasperNodeMetrics({ namespace: NS, nodeName: NODE });
    const canary = new CasperCanary(stack, 'Canary', { statusUrl: STATUS_URL });
    new CasperDashboard(stack, 'Dashboard', { metrics, canary });
    const body = dashboardBody(stack);
    const canaryWidget = (body.widgets as any[]).find((w) => w.properties?.title === 'External canary');
    expect(canaryWidget.width).toBe(24);
    const ns = new Set(allMetrics(body).map((m) => m.namespace));
    expect(ns).toEqual(new Set([NS, 'CloudWatchSynthetics']));
  });

  test('the annotation follows the alarms\' default maxBlockAge', () => {
    const stack = agnosticStack();
    const metrics = new CasperNodeMetrics({ namespace: NS, nodeName: NODE });
    const alarms = new CasperAlarms(stack, 'Alarms', { metrics });
    new CasperDashboard(stack, 'Dashboard', { metrics, alarms });
    const graph = (dashboardBody(stack).widgets as any[]).find((w) => w.properties?.title === 'Last block age (s)');
    expect(graph.properties.annotations.horizontal.map((a: any) => a.value)).toEqual([alarms.maxBlockAgeSeconds]);
    expect(alarms.maxBlockAgeSeconds).toBe(600);
  });

  test('dashboardName and defaultInterval', () => {
    const stack = agnosticStack();
    new CasperDashboard(stack, 'Dashboard', {
      metrics: new CasperNodeMetrics({ namespace: NS, nodeName: NODE }),
      dashboardName: 'casper-reader-1',
      defaultInterval: Duration.days(1),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'casper-reader-1' });
    expect(dashboardBody(stack).start).toBe('-P1D');
  });
});
