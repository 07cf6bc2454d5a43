/**
 * `npx projen report:fleet-costs`: the monthly cost of a `CasperNodeFleet` at
 * defaults for 1, 2 and 3 members, On-Demand and Spot, counted from each
 * fleet's synthesized template (instances, secrets, keys, alarms, load
 * balancer) and priced with the list prices below. The README's table is
 * this output.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { costInputFromTemplate, monitoringCost } from './monitoring-report';
import { CasperNetwork, CasperNodeFleet } from '../src';

/** us-east-1 list prices (USD) as published by AWS in 2025, 730 hours a month. */
export const FLEET_PRICES = {
  hoursPerMonth: 730,
  /** m6a.2xlarge On-Demand. */
  instanceHour: 0.3456,
  /**
   * Spot is an assumption, not a list price: Spot prices move with demand.
   * m6a.2xlarge in us-east-1 traded at roughly 30–40 % of On-Demand through
   * 2025; 35 % is used here. Check the Spot price history of your region.
   */
  spotFractionOfOnDemand: 0.35,
  gp3GbMonth: 0.08,
  publicIpv4Hour: 0.005,
  secretMonth: 0.40,
  kmsKeyMonth: 1.00,
  nlbHour: 0.0225,
  /** One NLCU-hour; a read-only RPC endpoint at light load uses about one. */
  nlcuHour: 0.006,
  /** Incremental EBS snapshots: one member's data (200 GB stored) plus daily changes, shared by the fleet. */
  snapshotsMonth: 11,
};

/** One row of the cost table. */
export interface FleetCost {
  readonly members: number;
  readonly onDemand: number;
  readonly spot: number;
  /** What the row is made of, USD a month. */
  readonly parts: Record<string, number>;
}

/** Counts what a fleet of `members` synthesizes and prices it. */
export function fleetCost(members: number): FleetCost {
  const stack = new Stack(new App(), `Fleet${members}`);
  new CasperNodeFleet(stack, 'Fleet', { network: CasperNetwork.TESTNET, nodeCount: members });
  const template = Template.fromStack(stack).toJSON();
  const t = template.Resources as Record<string, { Type: string; Properties: any }>;
  const count = (type: string): number => Object.values(t).filter((r) => r.Type === type).length;
  const p = FLEET_PRICES;
  const month = (hourly: number): number => hourly * p.hoursPerMonth;
  const asg = Object.values(t).find((r) => r.Type === 'AWS::AutoScaling::AutoScalingGroup')!;
  const instances = Number(asg.Properties.MaxSize);
  // The node's monitoring report counts the template's alarms, dashboard and metrics; each member
  // publishes the collector's and the agent's metrics under its own name, and about 1 GB of logs.
  const monitoring = costInputFromTemplate(template, { logsGbPerMonth: instances });
  const monitoringUsd = monitoringCost({
    ...monitoring,
    customMetrics: monitoring.customMetrics * instances,
    putMetricDataCallsPerMonth: monitoring.putMetricDataCallsPerMonth * instances,
  }).reduce((sum, line) => sum + line.usd, 0);
  const parts: Record<string, number> = {
    'load balancer (NLB hour + 1 NLCU)': month(p.nlbHour + p.nlcuHour) * count('AWS::ElasticLoadBalancingV2::LoadBalancer'),
    'data volumes (gp3 500 GiB) and root volumes (30 GiB)': instances * (500 + 30) * p.gp3GbMonth,
    'public IPv4 addresses': instances * month(p.publicIpv4Hour),
    'signing-key secrets': count('AWS::SecretsManager::Secret') * p.secretMonth,
    'KMS keys (alert topic)': count('AWS::KMS::Key') * p.kmsKeyMonth,
    'snapshots': p.snapshotsMonth,
    'monitoring (metrics, alarms, dashboard, logs)': monitoringUsd,
  };
  const shared = Object.values(parts).reduce((a, b) => a + b, 0);
  return {
    members,
    onDemand: shared + instances * month(p.instanceHour),
    spot: shared + instances * month(p.instanceHour * p.spotFractionOfOnDemand),
    parts,
  };
}

/** The README's table. */
export function fleetCostTable(rows: FleetCost[]): string {
  const usd = (n: number): string => n.toFixed(2);
  const lines = [
    '| members | instances On-Demand | instances Spot (assumed 35 %) | everything else | **total On-Demand** | **total Spot** |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const rest = Object.values(r.parts).reduce((a, b) => a + b, 0);
    lines.push(`| ${r.members} | ${usd(r.onDemand - rest)} | ${usd(r.spot - rest)} | ${usd(rest)} | **${usd(r.onDemand)}** | **${usd(r.spot)}** |`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const rows = [1, 2, 3].map(fleetCost);
  console.log(fleetCostTable(rows));
  console.log('');
  for (const r of rows) {
    console.log(`${r.members} member(s): ${Object.entries(r.parts).map(([k, v]) => `${k} ${v.toFixed(2)}`).join('; ')}`);
  }
}
