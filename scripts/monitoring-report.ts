/**
 * `npx projen report:monitoring`: synthesizes the example testnet node and
 * prints, from the synthesized template, (1) the worst-case minutes from each
 * failure to its alarm and (2) the monthly monitoring cost at defaults.
 * The README's tables are this output.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../examples/testnet-node';
import { worstCaseDetectionSeconds } from '../src/private/detection';

/** us-east-1 list prices (USD), as published by AWS in 2025; checked for this report on 2026-11-25 only against that list. */
export const PRICES = {
  date: '2025 us-east-1 list prices',
  customMetricMonth: 0.30,
  /** Per metric an alarm reads (a metric math alarm is billed for each of its metrics). */
  standardAlarmMonth: 0.10,
  highResolutionAlarmMonth: 0.30,
  compositeAlarmMonth: 0.50,
  dashboardMonth: 3.00,
  canaryRun: 0.0012,
  lambdaGbSecond: 0.0000166667,
  logsIngestedGb: 0.50,
  logsStoredGbMonth: 0.03,
  putMetricDataPer1000: 0.01,
};

/** What one synthesized alarm says about timing. */
export interface AlarmTiming {
  readonly name: string;
  /** The metric, or for metric math the expression over its metrics. */
  readonly metricName: string;
  readonly periodSeconds: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  /** How many metrics the alarm reads (what it is billed for). */
  readonly metricCount: number;
}

/** Reads name, metric, period and datapoints of every alarm in a template. */
export function alarmTimings(template: Record<string, any>): AlarmTiming[] {
  return Object.values(template.Resources as Record<string, any>)
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .map((r) => {
      const p = r.Properties;
      const stats = ((p.Metrics ?? []) as any[]).filter((q) => q.MetricStat);
      const expression = ((p.Metrics ?? []) as any[]).find((q) => q.Expression);
      const metricName = p.MetricName ?? `${expression.Expression} (${stats.map((q) => `${q.Id} = ${q.MetricStat.Metric.MetricName} ${q.MetricStat.Stat}`).join(', ')})`;
      return {
        name: String(p.AlarmName),
        metricName,
        periodSeconds: p.Period ?? Math.max(...stats.map((q) => q.MetricStat.Period)),
        datapointsToAlarm: p.DatapointsToAlarm ?? p.EvaluationPeriods,
        threshold: p.Threshold,
        metricCount: p.MetricName ? 1 : stats.length,
      };
    });
}

/** A failure mode, the alarm that catches it, and what the timing depends on. */
export interface FailureMode {
  readonly failure: string;
  readonly alarmSuffix: string;
  /** Seconds between samples of the metric. */
  readonly sampleIntervalSeconds: number;
  /**
   * Another alarm the same failure also trips, with its sample interval: the
   * failure is detected by whichever fires first.
   */
  readonly alsoCaughtBy?: { readonly alarmSuffix: string; readonly sampleIntervalSeconds: number };
  /** When the metric crosses the threshold only after a delay (block age), that delay; `threshold` uses the alarm's threshold. */
  readonly thresholdDelay?: 'threshold';
  readonly target?: number;
}

/** The failure modes of a node, with the sampling of the metric behind each alarm. */
export const FAILURE_MODES: FailureMode[] = [
  { failure: 'node down (process dead or hung, instance gone, agent dead)', alarmSuffix: 'node-down', sampleIntervalSeconds: 30, target: 3 },
  // An impaired instance also stops delivering the collector's NodeUp samples.
  { failure: 'instance impaired (EC2 status check)', alarmSuffix: 'status-check-failed', sampleIntervalSeconds: 60, target: 3, alsoCaughtBy: { alarmSuffix: 'node-down', sampleIntervalSeconds: 30 } },
  { failure: 'chain stalled (node answers, no new block)', alarmSuffix: 'chain-stalled', sampleIntervalSeconds: 30, thresholdDelay: 'threshold', target: 12 },
  // From the instance's launch: every 5-minute period of the timeout + 15 minutes lacks a completed bootstrap.
  { failure: 'bootstrap never completes (from launch)', alarmSuffix: 'bootstrap-overdue', sampleIntervalSeconds: 30 },
  { failure: 'initial sync stuck (height still while catching up)', alarmSuffix: 'sync-not-progressing', sampleIntervalSeconds: 30 },
  { failure: 'wrong network (chainspec name)', alarmSuffix: 'wrong-chainspec', sampleIntervalSeconds: 30 },
  { failure: 'announced upgrade not staged (from the announcement)', alarmSuffix: 'upgrade-not-staged', sampleIntervalSeconds: 30 },
  { failure: 'protocol staging failed', alarmSuffix: 'stage-protocols-failed', sampleIntervalSeconds: 30 },
  { failure: 'JSON-RPC down (sidecar)', alarmSuffix: 'rpc-down', sampleIntervalSeconds: 30 },
  { failure: 'JSON-RPC slow (p90 above threshold)', alarmSuffix: 'rpc-slow', sampleIntervalSeconds: 30 },
  { failure: 'too few peers', alarmSuffix: 'low-peers', sampleIntervalSeconds: 30 },
  { failure: 'CPU above threshold', alarmSuffix: 'high-cpu', sampleIntervalSeconds: 30 },
  { failure: 'memory above threshold', alarmSuffix: 'high-memory', sampleIntervalSeconds: 30 },
  { failure: 'data disk above threshold', alarmSuffix: 'data-disk-full', sampleIntervalSeconds: 30 },
  { failure: 'root disk above threshold', alarmSuffix: 'root-disk-full', sampleIntervalSeconds: 30 },
  { failure: 'unreachable from the internet (canary)', alarmSuffix: 'canary-failing', sampleIntervalSeconds: 300 },
  { failure: 'data-volume lifecycle failed', alarmSuffix: 'lifecycle-failures', sampleIntervalSeconds: 0 },
  { failure: 'backups stale (no successful rotation)', alarmSuffix: 'backups-stale', sampleIntervalSeconds: 86400 },
];

/** What an alarm does in each phase of the node's life: bootstrap, initial sync, after sync. */
export const ALARM_PHASES: Record<string, [string, string, string]> = {
  'node-down': ['quiet (BootstrapComplete 0); a replacement counts as down until its collector reports', 'fires if /status stops answering or no data arrives', 'fires if /status stops answering or no data arrives'],
  'bootstrap-overdue': ['fires when no bootstrap completes for the timeout + 15 min', 'quiet', 'quiet (fires if no data for that long)'],
  'chain-stalled': ['quiet (no block, or catching up)', 'quiet (CatchingUp 1)', 'fires when the last block is older than maxBlockAge'],
  'sync-not-progressing': ['quiet (no height yet)', 'fires when the height stands still for maxSyncStall', 'quiet (not catching up)'],
  'wrong-chainspec': ['fires once the node answers with another chainspec', 'fires', 'fires'],
  'upgrade-not-staged': ['fires if an announced upgrade stays unstaged', 'same', 'same'],
  'stage-protocols-failed': ['fires on a failed staging run', 'same', 'same'],
  'rpc-down': ['quiet (RPC checked only once bootstrapped)', 'fires', 'fires'],
  'rpc-slow': ['quiet (RPC checked only once bootstrapped)', 'fires', 'fires'],
  'status-check-failed': ['fires', 'fires', 'fires'],
  'low-peers': ['quiet until the node answers', 'fires', 'fires'],
  'high-cpu': ['fires', 'fires', 'fires'],
  'high-memory': ['fires', 'fires', 'fires'],
  'data-disk-full': ['fires', 'fires', 'fires'],
  'root-disk-full': ['fires', 'fires', 'fires'],
  'canary-failing': ['quiet (Synced 0)', 'quiet (Synced 0)', 'fires when the node is synced but unreachable from outside'],
  'backups-stale': ['quiet (a day never synced is excused)', 'quiet (same)', 'fires after backupMaxAge without a rotation'],
  'lifecycle-failures': ['fires', 'fires', 'fires'],
};

/** One row of the alarm table. */
export interface AlarmRow {
  readonly name: string;
  readonly metric: string;
  readonly periodSeconds: number;
  readonly datapointsToAlarm: number;
  readonly usdPerMonth: number;
  readonly phases?: [string, string, string];
}

/** Every alarm with its metric, period x datapoints, cost and phase behaviour. */
export function alarmTable(timings: AlarmTiming[], prefix: string, prices = PRICES): AlarmRow[] {
  return timings.map((a) => ({
    name: a.name.replace(prefix, ''),
    metric: a.metricName,
    periodSeconds: a.periodSeconds,
    datapointsToAlarm: a.datapointsToAlarm,
    usdPerMonth: a.metricCount * (a.periodSeconds < 60 ? prices.highResolutionAlarmMonth : prices.standardAlarmMonth),
    phases: ALARM_PHASES[a.name.replace(prefix, '')],
  }));
}

/** One row of the detection table. */
export interface DetectionRow {
  readonly failure: string;
  /** The alarm(s), first the one that fires first. */
  readonly alarms: string[];
  readonly worstCaseSeconds: number;
  readonly targetMinutes?: number;
}

/** Worst-case detection per failure mode, from the synthesized alarms. */
export function detectionTable(timings: AlarmTiming[], modes: FailureMode[] = FAILURE_MODES): DetectionRow[] {
  return modes.flatMap((mode) => {
    const find = (suffix: string) => timings.find((t) => t.name.endsWith(`-${suffix}`));
    const alarm = find(mode.alarmSuffix);
    if (!alarm) return [];
    const worst = (a: AlarmTiming, sampleIntervalSeconds: number) => worstCaseDetectionSeconds({
      thresholdDelaySeconds: mode.thresholdDelay === 'threshold' ? a.threshold : 0,
      sampleIntervalSeconds,
      periodSeconds: a.periodSeconds,
      datapointsToAlarm: a.datapointsToAlarm,
    });
    const candidates = [{ name: alarm.name, seconds: worst(alarm, mode.sampleIntervalSeconds) }];
    const other = mode.alsoCaughtBy && find(mode.alsoCaughtBy.alarmSuffix);
    if (mode.alsoCaughtBy && other) candidates.push({ name: other.name, seconds: worst(other, mode.alsoCaughtBy.sampleIntervalSeconds) });
    candidates.sort((a, b) => a.seconds - b.seconds);
    return [{
      failure: mode.failure,
      alarms: candidates.map((c) => c.name),
      worstCaseSeconds: candidates[0].seconds,
      targetMinutes: mode.target,
    }];
  });
}

/** What the monthly monitoring bill is made of. */
export interface CostInput {
  readonly customMetrics: number;
  /** Metrics read by standard-resolution alarms (a metric math alarm counts each of its metrics). */
  readonly standardAlarms: number;
  /** Metrics read by high-resolution alarms. */
  readonly highResolutionAlarms: number;
  readonly compositeAlarms: number;
  readonly dashboards: number;
  readonly canaryRunsPerMonth: number;
  /** GB-seconds of the canary's Lambda per run. */
  readonly canaryGbSecondsPerRun: number;
  readonly logsGbPerMonth: number;
  readonly putMetricDataCallsPerMonth: number;
}

/** One line of the cost table. */
export interface CostLine {
  readonly item: string;
  readonly usd: number;
}

/** The monthly cost, line by line, at the given prices. */
export function monitoringCost(input: CostInput, prices = PRICES): CostLine[] {
  return [
    { item: `${input.customMetrics} custom metrics`, usd: input.customMetrics * prices.customMetricMonth },
    { item: `${input.standardAlarms} standard alarm metrics`, usd: input.standardAlarms * prices.standardAlarmMonth },
    { item: `${input.highResolutionAlarms} high-resolution alarm metrics (30 s)`, usd: input.highResolutionAlarms * prices.highResolutionAlarmMonth },
    { item: `${input.compositeAlarms} composite alarms`, usd: input.compositeAlarms * prices.compositeAlarmMonth },
    { item: `${input.dashboards} dashboard`, usd: input.dashboards * prices.dashboardMonth },
    { item: `${input.canaryRunsPerMonth} canary runs`, usd: input.canaryRunsPerMonth * prices.canaryRun },
    { item: 'canary Lambda compute', usd: input.canaryRunsPerMonth * input.canaryGbSecondsPerRun * prices.lambdaGbSecond },
    { item: `${input.logsGbPerMonth} GB logs ingested and kept a month`, usd: input.logsGbPerMonth * (prices.logsIngestedGb + prices.logsStoredGbMonth) },
    { item: `${input.putMetricDataCallsPerMonth} agent PutMetricData calls`, usd: input.putMetricDataCallsPerMonth / 1000 * prices.putMetricDataPer1000 },
  ];
}

const MINUTES_PER_MONTH = 730 * 60;

/** Counts what is billed from a synthesized node template. */
export function costInputFromTemplate(template: Record<string, any>, assumptions: { logsGbPerMonth: number }): CostInput {
  const resources = Object.values(template.Resources as Record<string, any>);
  const alarms = resources.filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
  const parameter = resources.find((r) => r.Type === 'AWS::SSM::Parameter');
  const agent = JSON.parse(joinToText(parameter.Properties.Value));
  const collected = agent.metrics.metrics_collected;
  const agentMetrics = collected.cpu.measurement.length
    + collected.mem.measurement.length
    + collected.disk.measurement.length * collected.disk.resources.length;
  // What the collector publishes; the RPC metrics only where an alarm reads them (the sidecar runs).
  const readsRpc = alarms.some((a) => JSON.stringify(a.Properties).includes('"RpcUp"'));
  const collectorMetrics = collectorMetricNames().filter((n) => readsRpc || !n.startsWith('Rpc')).length;
  const canaries = resources.filter((r) => r.Type === 'AWS::Synthetics::Canary');
  const runsPerMonth = canaries.reduce((sum, c) => {
    const m = /^rate\((\d+) minutes?\)$/.exec(c.Properties.Schedule.Expression);
    return sum + (m ? Math.round(MINUTES_PER_MONTH / Number(m[1])) : 0);
  }, 0);
  const timings = alarmTimings(template);
  return {
    customMetrics: agentMetrics + collectorMetrics,
    standardAlarms: timings.filter((a) => a.periodSeconds >= 60).reduce((n, a) => n + a.metricCount, 0),
    highResolutionAlarms: timings.filter((a) => a.periodSeconds < 60).reduce((n, a) => n + a.metricCount, 0),
    compositeAlarms: resources.filter((r) => r.Type === 'AWS::CloudWatch::CompositeAlarm').length,
    dashboards: resources.filter((r) => r.Type === 'AWS::CloudWatch::Dashboard').length,
    canaryRunsPerMonth: runsPerMonth,
    // A status GET takes about 1-3 s; Synthetics runs it with 1,000 MB.
    canaryGbSecondsPerRun: 3 * 1000 / 1024,
    logsGbPerMonth: assumptions.logsGbPerMonth,
    // The agent flushes metrics once a minute.
    putMetricDataCallsPerMonth: MINUTES_PER_MONTH,
  };
}

/** The metric names of the collector's METRICS table (src/assets/node/casper-metrics.py). */
export function collectorMetricNames(): string[] {
  const source = fs.readFileSync(path.join(__dirname, '..', 'src', 'assets', 'node', 'casper-metrics.py'), 'utf8');
  const table = /^METRICS = \(\n([\s\S]*?)^\)/m.exec(source);
  if (!table) throw new Error('casper-metrics.py: no METRICS table');
  return [...table[1].matchAll(/\("(\w+)", "\w+"\)/g)].map((m) => m[1]);
}

/** An `Fn::Join` of strings and tokens, as text with tokens shown as `<token>`. */
function joinToText(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as any)['Fn::Join'];
  return (join[1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(join[0]);
}

function main(): void {
  const app = buildApp(new App());
  const stack = app.node.findChild('CasperTestnetNode') as Stack;
  const prefix = `casper-${(stack.node.findChild('Node') as any).nodeName}-`;
  const template = Template.fromStack(stack).toJSON();
  console.log('Worst-case detection (failure -> alarm in ALARM), from the synthesized alarms:\n');
  console.log('| failure | alarm | worst case | target |');
  console.log('|---|---|---|---|');
  for (const row of detectionTable(alarmTimings(template))) {
    const minutes = row.worstCaseSeconds / 60;
    const shown = minutes >= 120 ? `${(minutes / 60).toFixed(1)} h` : `${minutes.toFixed(2)} min`;
    const target = row.targetMinutes === undefined ? '' : `<= ${row.targetMinutes} min ${minutes <= row.targetMinutes ? 'met' : 'MISSED'}`;
    console.log(`| ${row.failure} | ${row.alarms.map((a) => a.replace(prefix, '')).join(' (then ') + (row.alarms.length > 1 ? ')' : '')} | ${shown} | ${target} |`);
  }
  const detection = new Map(detectionTable(alarmTimings(template)).map((r) => [r.alarms[0], r.worstCaseSeconds]));
  console.log('\nThe alarms: metric, period x breaching periods, worst-case detection, cost, and what each does in each phase:\n');
  console.log('| alarm | metric | period x periods | worst case | USD/month | bootstrap | initial sync | after sync |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of alarmTable(alarmTimings(template), prefix)) {
    // EC2 status checks run every minute; the status check's own row is shadowed by node-down.
    const worst = detection.get(prefix + row.name) ?? worstCaseDetectionSeconds({
      thresholdDelaySeconds: 0, sampleIntervalSeconds: 60, periodSeconds: row.periodSeconds, datapointsToAlarm: row.datapointsToAlarm,
    });
    const shown = worst === undefined ? '' : worst >= 7200 ? `${(worst / 3600).toFixed(1)} h` : `${(worst / 60).toFixed(2)} min`;
    const period = row.periodSeconds >= 3600 ? `${row.periodSeconds / 3600} h` : row.periodSeconds >= 60 ? `${row.periodSeconds / 60} min` : `${row.periodSeconds} s`;
    const [boot, sync, after] = row.phases ?? ['', '', ''];
    console.log(`| ${row.name} | ${row.metric.replace(/\|/g, '\\|')} | ${period} x ${row.datapointsToAlarm} | ${shown} | ${row.usdPerMonth.toFixed(2)} | ${boot} | ${sync} | ${after} |`);
  }
  const input = costInputFromTemplate(template, { logsGbPerMonth: 1 });
  const lines = monitoringCost(input);
  const total = lines.reduce((s, l) => s + l.usd, 0);
  console.log(`\nMonthly monitoring cost at defaults (${PRICES.date}; 1 GB/month of node logs assumed):\n`);
  console.log('| item | USD/month |');
  console.log('|---|---|');
  for (const l of lines) console.log(`| ${l.item} | ${l.usd.toFixed(2)} |`);
  console.log(`| **total** | **${total.toFixed(2)}** |`);
}

if (require.main === module) {
  main();
}
