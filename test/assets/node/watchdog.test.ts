import * as fs from 'fs';
import * as path from 'path';
import {
  ASG_NAME, IMDS, IMDS_TOKEN, INSTANCE_ID, NODE_ASSETS, RunResult, STATUS_FIXTURE, STATUS_URL, ShellHarness, watchdogEnv,
} from '../../support/shell-harness';

/**
 * Behaviour of src/assets/node/watchdog.sh (run every minute by
 * casper-watchdog.timer) against stubbed commands; time comes from CASPER_NOW.
 */

const WATCHDOG = path.join(NODE_ASSETS, 'watchdog.sh');
const RESTART_AFTER = 900;
const UNHEALTHY_AFTER = 1500;
const T0 = 1_750_000_000;
const RESTART = 'systemctl restart casper-node-launcher.service';
const SET_UNHEALTHY = `aws autoscaling set-instance-health --instance-id ${INSTANCE_ID} --health-status Unhealthy `
  + '--no-should-respect-grace-period --region us-east-1';

const harnesses: ShellHarness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) h.cleanup();
});

/** A bootstrapped instance in an Auto Scaling group, node up. */
function instance(options: { bootstrapDone?: boolean } = {}): ShellHarness {
  const h = new ShellHarness();
  harnesses.push(h);
  h.http(`${IMDS}/api/token`, { body: IMDS_TOKEN });
  h.imds('instance-id', INSTANCE_ID);
  h.imds('tags/instance/aws:autoscaling:groupName', ASG_NAME);
  h.http(STATUS_URL, { body: fs.readFileSync(STATUS_FIXTURE, 'utf8') });
  h.writeRootFile('etc/casper-watchdog.env', watchdogEnv(8888, RESTART_AFTER, UNHEALTHY_AFTER, 'us-east-1'));
  if (options.bootstrapDone ?? true) h.writeRootFile('var/lib/casper-bootstrap/done', '2025-06-15T10:00:00+0000\n');
  return h;
}

function nodeDown(h: ShellHarness): void {
  h.removeHttp(STATUS_URL);
}

function tick(h: ShellHarness, now: number): RunResult {
  return h.run(WATCHDOG, [], { CASPER_NOW: String(now) });
}

/** Calls that act on the node or the instance. */
function actions(r: RunResult): string[] {
  return r.calls.filter((c) => /^(systemctl|aws) /.test(c));
}

function state(h: ShellHarness): string[] {
  return h.list('var/lib/casper-watchdog');
}

describe('watchdog.sh', () => {
  test('does nothing before the bootstrap is done', () => {
    const h = instance({ bootstrapDone: false });
    nodeDown(h);
    const r = tick(h, T0 + UNHEALTHY_AFTER * 2);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
    expect(state(h)).toEqual([]);
    expect(r.stdout).toBe('casper-watchdog: bootstrap not finished, nothing to do\n');
  });

  test('a healthy node: one /status request, no action, no state', () => {
    const h = instance();
    const r = tick(h, T0);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([`curl -fsS --max-time 5 -o /dev/null ${STATUS_URL}`]);
    expect(state(h)).toEqual([]);
  });

  test('the first failure records when the outage started, and does nothing else', () => {
    const h = instance();
    nodeDown(h);
    const r = tick(h, T0);
    expect(r.status).toBe(0);
    expect(actions(r)).toEqual([]);
    expect(h.read('var/lib/casper-watchdog/down_since')).toBe(`${T0}\n`);
    expect(r.stdout).toContain(`node does not answer ${STATUS_URL}; outage started`);
  });

  test('down for less than restartAfterSeconds: no action', () => {
    const h = instance();
    nodeDown(h);
    tick(h, T0);
    const r = tick(h, T0 + RESTART_AFTER - 1);
    expect(r.status).toBe(0);
    expect(actions(r)).toEqual([]);
    expect(h.read('var/lib/casper-watchdog/down_since')).toBe(`${T0}\n`);
    expect(r.stdout).toContain(`node down for ${RESTART_AFTER - 1}s; restart at ${RESTART_AFTER}s, unhealthy at ${UNHEALTHY_AFTER}s`);
  });

  test('down for restartAfterSeconds: restarts the node once, not again on the next runs', () => {
    const h = instance();
    nodeDown(h);
    tick(h, T0);
    const first = tick(h, T0 + RESTART_AFTER);
    expect(first.status).toBe(0);
    expect(actions(first)).toEqual([RESTART]);
    expect(first.stdout).toContain(
      `node has not answered /status for ${RESTART_AFTER}s (>= ${RESTART_AFTER}s): restarting casper-node-launcher.service`);
    expect(h.read('var/lib/casper-watchdog/restarted_at')).toBe(`${T0 + RESTART_AFTER}\n`);
    for (const later of [T0 + RESTART_AFTER + 60, T0 + UNHEALTHY_AFTER - 1]) {
      const r = tick(h, later);
      expect(r.status).toBe(0);
      expect(actions(r)).toEqual([]);
    }
  });

  test('a failed restart is logged and not retried', () => {
    const h = instance();
    h.rule('systemctl', '^restart', { exit: 1 });
    nodeDown(h);
    tick(h, T0);
    const r = tick(h, T0 + RESTART_AFTER);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('casper-watchdog: ERROR: restarting casper-node-launcher.service failed');
    expect(actions(tick(h, T0 + RESTART_AFTER + 60))).toEqual([]);
  });

  test('down for unhealthyAfterSeconds: reports the instance unhealthy to its Auto Scaling group, once', () => {
    const h = instance();
    nodeDown(h);
    tick(h, T0);
    tick(h, T0 + RESTART_AFTER);
    const r = tick(h, T0 + UNHEALTHY_AFTER);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      `curl -fsS --max-time 5 -o /dev/null ${STATUS_URL}`,
      `curl -fsS --max-time 5 -X PUT ${IMDS}/api/token -H X-aws-ec2-metadata-token-ttl-seconds: 300`,
      `curl -fsS --max-time 5 -H X-aws-ec2-metadata-token: ${IMDS_TOKEN} ${IMDS}/meta-data/instance-id`,
      `curl -fsS --max-time 5 -H X-aws-ec2-metadata-token: ${IMDS_TOKEN} ${IMDS}/meta-data/tags/instance/aws:autoscaling:groupName`,
      SET_UNHEALTHY,
    ]);
    expect(r.stdout).toContain(`node has not answered /status for ${UNHEALTHY_AFTER}s (>= ${UNHEALTHY_AFTER}s): `
      + `reporting instance ${INSTANCE_ID} unhealthy to Auto Scaling group ${ASG_NAME}`);
    const again = tick(h, T0 + UNHEALTHY_AFTER + 60);
    expect(again.status).toBe(0);
    expect(actions(again)).toEqual([]);
    expect(again.stdout).toContain('instance already reported unhealthy, waiting for its replacement');
  });

  test('a failed unhealthy report is retried on the next run', () => {
    const h = instance();
    h.rule('aws', '^autoscaling set-instance-health', { exit: 254, times: 1 });
    nodeDown(h);
    tick(h, T0);
    const failed = tick(h, T0 + UNHEALTHY_AFTER);
    expect(failed.status).not.toBe(0);
    expect(failed.stdout).toContain('casper-watchdog: ERROR: set-instance-health failed; will retry');
    const retried = tick(h, T0 + UNHEALTHY_AFTER + 60);
    expect(retried.status).toBe(0);
    expect(actions(retried)).toEqual([SET_UNHEALTHY]);
  });

  test('without an Auto Scaling group tag nothing is reported, and the failure is visible', () => {
    const h = instance();
    h.removeHttp(`${IMDS}/meta-data/tags/instance/aws:autoscaling:groupName`);
    nodeDown(h);
    tick(h, T0);
    const r = tick(h, T0 + UNHEALTHY_AFTER);
    expect(r.status).not.toBe(0);
    expect(actions(r)).toEqual([]);
    expect(r.stdout).toContain(`ERROR: node down for ${UNHEALTHY_AFTER}s but instance ${INSTANCE_ID} has no aws:autoscaling:groupName tag`);
  });

  test('a node that recovers clears the outage state, so a later outage starts over', () => {
    const h = instance();
    nodeDown(h);
    tick(h, T0);
    tick(h, T0 + RESTART_AFTER);
    expect(state(h)).toEqual(['down_since', 'restarted_at']);
    h.http(STATUS_URL, { body: fs.readFileSync(STATUS_FIXTURE, 'utf8') });
    const recovered = tick(h, T0 + RESTART_AFTER + 60);
    expect(recovered.status).toBe(0);
    expect(actions(recovered)).toEqual([]);
    expect(state(h)).toEqual([]);
    expect(recovered.stdout).toContain('node answers /status again; outage state cleared');
    // A new outage gets its own restart.
    nodeDown(h);
    const later = T0 + 10_000;
    tick(h, later);
    expect(actions(tick(h, later + RESTART_AFTER))).toEqual([RESTART]);
  });

  test('a broken settings file is an error, not a silent pass', () => {
    const h = instance();
    h.writeRootFile('etc/casper-watchdog.env', 'REST_PORT=\nREGION=us-east-1\n');
    const r = tick(h, T0);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain(`casper-watchdog: ERROR: ${h.path('etc/casper-watchdog.env')}: REST_PORT must be a number, got ''`);
    expect(r.calls).toEqual([]);
  });
});

describe('casper-watchdog units', () => {
  const service = fs.readFileSync(path.join(NODE_ASSETS, 'casper-watchdog.service'), 'utf8');
  const timer = fs.readFileSync(path.join(NODE_ASSETS, 'casper-watchdog.timer'), 'utf8');

  test('the service runs the script where the bootstrap installs it, once per trigger', () => {
    expect(service).toMatch(/^\[Service\]$/m);
    expect(service).toMatch(/^Type=oneshot$/m);
    expect(service).toMatch(/^ExecStart=\/usr\/local\/sbin\/casper-watchdog\.sh$/m);
    expect(service).not.toMatch(/^\[Install\]/m);
  });

  test('the timer fires every minute and is enabled through timers.target', () => {
    expect(timer).toMatch(/^\[Timer\]$/m);
    expect(timer).toMatch(/^OnCalendar=minutely$/m);
    expect(timer).toMatch(/^\[Install\]\nWantedBy=timers\.target$/m);
  });
});
