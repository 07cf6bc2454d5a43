import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../examples/testnet-node';
import { ALARM_PHASES, alarmTable, alarmTimings, collectorMetricNames, costInputFromTemplate, detectionTable, monitoringCost, PRICES } from '../../scripts/monitoring-report';

const template = Template.fromStack(buildApp(new App()).node.findChild('CasperTestnetNode') as Stack).toJSON();

describe('monitoring report of the example node', () => {
  const rows = detectionTable(alarmTimings(template));
  const row = (failure: string) => rows.find((r) => r.failure.startsWith(failure))!;

  test('detection targets: node down <= 3, instance impaired <= 3, chain stalled <= 12 minutes', () => {
    expect(row('node down').worstCaseSeconds).toBe(165);
    expect(row('instance impaired').worstCaseSeconds).toBe(165);
    expect(row('instance impaired').alarms).toEqual(['casper-testnet-reader-node-down', 'casper-testnet-reader-status-check-failed']);
    expect(row('chain stalled').worstCaseSeconds).toBe(705);
    for (const r of rows.filter((x) => x.targetMinutes !== undefined)) {
      expect(r.worstCaseSeconds / 60).toBeLessThanOrEqual(r.targetMinutes!);
    }
  });

  test('every failure mode has an alarm in the default node', () => {
    expect(rows.map((r) => r.alarms[0].replace('casper-testnet-reader-', ''))).toEqual([
      'node-down', 'node-down', 'chain-stalled', 'bootstrap-overdue', 'sync-not-progressing', 'wrong-chainspec',
      'upgrade-not-staged', 'stage-protocols-failed', 'rpc-down', 'rpc-slow', 'low-peers', 'high-cpu', 'high-memory', 'data-disk-full',
      'root-disk-full', 'canary-failing', 'lifecycle-failures', 'backups-stale',
    ]);
  });

  test('bootstrap overdue: timeout 90 min + 15 min in 5-minute periods; sync stuck: 1 hour; upgrade: 8 hours', () => {
    expect(row('bootstrap never completes').worstCaseSeconds).toBe(30 + 21 * 300 + 60 + 15);
    expect(row('initial sync stuck').worstCaseSeconds).toBe(30 + 4 * 900 + 60 + 15);
    expect(row('announced upgrade not staged').worstCaseSeconds).toBe(30 + 32 * 900 + 60 + 15);
  });

  test('the alarm table: every alarm has its phases written down, and its cost is metrics x price', () => {
    const table = alarmTable(alarmTimings(template), 'casper-testnet-reader-');
    expect(table).toHaveLength(18);
    for (const r of table) expect({ name: r.name, phases: r.phases?.length }).toEqual({ name: r.name, phases: 3 });
    expect(Object.keys(ALARM_PHASES).sort()).toEqual(table.map((r) => r.name).sort());
    const nodeDown = table.find((r) => r.name === 'node-down')!;
    expect(nodeDown).toMatchObject({ periodSeconds: 30, datapointsToAlarm: 3, usdPerMonth: 2 * PRICES.highResolutionAlarmMonth });
    expect(nodeDown.metric).toContain('BootstrapComplete');
    expect(table.find((r) => r.name === 'sync-not-progressing')!.usdPerMonth).toBeCloseTo(3 * PRICES.standardAlarmMonth, 10);
  });

  test('the collector metrics counted are the collector\'s METRICS table', () => {
    expect(collectorMetricNames()).toEqual(['NodeUp', 'Synced', 'PeerCount', 'BlockHeight', 'EraId', 'LastBlockAgeSeconds',
      'StageProtocolsFailed', 'BootstrapComplete', 'CatchingUp', 'WrongChainspec', 'UpgradeStaged', 'RpcUp', 'RpcLatencyMilliseconds']);
  });

  test('what is billed, counted from the template', () => {
    expect(costInputFromTemplate(template, { logsGbPerMonth: 1 })).toEqual({
      // 9 agent metrics and the collector's 13.
      customMetrics: 22,
      // Metrics read by alarms: 13 single-metric alarms, sync-not-progressing 3, canary and backups 2 each.
      standardAlarms: 13 + 3 + 2 + 2,
      // node-down and chain-stalled, 2 metrics each.
      highResolutionAlarms: 4,
      compositeAlarms: 0,
      dashboards: 1,
      canaryRunsPerMonth: 8760,
      canaryGbSecondsPerRun: 3 * 1000 / 1024,
      logsGbPerMonth: 1,
      putMetricDataCallsPerMonth: 43800,
    });
  });

  test('monthly monitoring cost at defaults stays under 25 USD', () => {
    const lines = monitoringCost(costInputFromTemplate(template, { logsGbPerMonth: 1 }));
    const total = lines.reduce((s, l) => s + l.usd, 0);
    expect(total).toBeCloseTo(24.71, 2);
    expect(total).toBeLessThanOrEqual(25);
    // Each line is count x list price.
    expect(lines[0]).toEqual({ item: '22 custom metrics', usd: 22 * PRICES.customMetricMonth });
  });
});
