import * as fs from 'fs';
import * as path from 'path';
import { FLEET_PRICES, fleetCost, fleetCostTable } from '../../scripts/fleet-costs';

describe('fleet costs', () => {
  const rows = [1, 2, 3].map(fleetCost);

  test('the README\'s table is the report\'s output', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain(fleetCostTable(rows));
  });

  test('each member adds an instance, its volumes, address, key and monitoring; the load balancer is paid once', () => {
    const hours = FLEET_PRICES.hoursPerMonth;
    const step = rows[1].onDemand - rows[0].onDemand;
    expect(rows[2].onDemand - rows[1].onDemand).toBeCloseTo(step, 1);
    const instance = FLEET_PRICES.instanceHour * hours;
    const volumes = 530 * FLEET_PRICES.gp3GbMonth;
    const ip = FLEET_PRICES.publicIpv4Hour * hours;
    expect(step).toBeGreaterThan(instance + volumes + ip + FLEET_PRICES.secretMonth);
    for (const r of rows) {
      expect(r.parts['load balancer (NLB hour + 1 NLCU)']).toBeCloseTo((FLEET_PRICES.nlbHour + FLEET_PRICES.nlcuHour) * hours, 2);
      expect(r.parts['signing-key secrets']).toBeCloseTo(r.members * FLEET_PRICES.secretMonth, 2);
      expect(r.spot).toBeLessThan(r.onDemand);
    }
  });
});
