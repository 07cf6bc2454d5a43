import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../examples/testnet-node';
import { alarmTimings, costInputFromTemplate, detectionTable, monitoringCost, PRICES } from '../../scripts/monitoring-report';

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
      'node-down', 'node-down', 'chain-stalled', 'low-peers', 'high-cpu', 'high-memory', 'data-disk-full',
      'root-disk-full', 'canary-failing', 'lifecycle-failures', 'backups-stale',
    ]);
  });

  test('what is billed, counted from the template', () => {
    expect(costInputFromTemplate(template, { logsGbPerMonth: 1 })).toEqual({
      customMetrics: 15,
      standardAlarms: 9,
      highResolutionAlarms: 2,
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
    expect(total).toBeCloseTo(20.91, 2);
    expect(total).toBeLessThanOrEqual(25);
    // Each line is count x list price.
    expect(lines[0]).toEqual({ item: '15 custom metrics', usd: 15 * PRICES.customMetricMonth });
  });
});
