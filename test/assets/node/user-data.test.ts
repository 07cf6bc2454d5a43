import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ASG_NAME, INSTANCE_ID, LOGICAL_ID, NODE_ASSETS, RunResult, STACK_NAME, ShellHarness } from '../../support/shell-harness';

/**
 * Behaviour of src/assets/node/user-data.sh, with its placeholders
 * substituted as the construct does. The aws stub's `s3 cp` copies the
 * harness's state/s3/ folder, which holds a stub bootstrap.sh that records
 * how it was called (or, in the last test, the real node assets and lib.sh).
 */

const TEMPLATE = path.join(NODE_ASSETS, 'user-data.sh');
const BUCKET = 'casper-config-bucket-1a2b3c';
const PREFIX = 'testnet-reader/node/';
const REGION = 'eu-west-1';
const TIMEOUT_SECONDS = 5400;
const S3_COPY = `aws s3 cp --recursive s3://${BUCKET}/${PREFIX}`;
const STUB_BOOTSTRAP = '#!/usr/bin/env bash\nprintf \'bootstrap.sh %s\\n\' "$*" >>"$SHIM_STATE/calls.log"\nexit "${STUB_EXIT:-0}"\n';

/** The transient timer the user data arms before anything can fail. */
const ARM_DEADLINE = `systemd-run --unit=casper-bootstrap-deadline --on-active=${TIMEOUT_SECONDS}s `
  + '--description=Report the instance unhealthy if the Casper bootstrap has not finished '
  + '/bin/bash /usr/local/sbin/casper-bootstrap-deadline --deadline';
const FAILURE_SIGNAL = `aws cloudformation signal-resource --stack-name ${STACK_NAME} --logical-resource-id ${LOGICAL_ID} `
  + `--unique-id ${INSTANCE_ID} --status FAILURE --region ${REGION}`;
const UNHEALTHY = `aws autoscaling set-instance-health --instance-id ${INSTANCE_ID} --health-status Unhealthy `
  + `--no-should-respect-grace-period --region ${REGION}`;

const harnesses: ShellHarness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) h.cleanup();
});

function userDataHost(options: { omitShims?: string[] } = {}): ShellHarness {
  const h = ShellHarness.freshMachine(options);
  harnesses.push(h);
  h.setState('s3/bootstrap.sh', STUB_BOOTSTRAP);
  h.setState('s3/config.json', '{"schemaVersion": 1}\n');
  return h;
}

/** The template with its placeholders replaced by sed, as the construct's substitution would. */
function renderedUserData(h: ShellHarness): string {
  const out = path.join(h.base, 'user-data.sh');
  const r = spawnSync('sed', [
    '-e', `s|__CONFIG_BUCKET__|${BUCKET}|g`, '-e', `s|__CONFIG_PREFIX__|${PREFIX}|g`, '-e', `s|__REGION__|${REGION}|g`,
    '-e', `s|__BOOTSTRAP_TIMEOUT_SECONDS__|${TIMEOUT_SECONDS}|g`, TEMPLATE,
  ], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  fs.writeFileSync(out, r.stdout);
  return out;
}

function runUserData(h: ShellHarness, env: Record<string, string> = {}): RunResult {
  return h.run(renderedUserData(h), [], env);
}

describe('user-data.sh', () => {
  test('the template holds the four placeholders the construct replaces', () => {
    const text = fs.readFileSync(TEMPLATE, 'utf8');
    expect(text).toContain('s3://__CONFIG_BUCKET__/__CONFIG_PREFIX__');
    expect(text).toContain('region="__REGION__"');
    expect(text).toContain('timeout_seconds=__BOOTSTRAP_TIMEOUT_SECONDS__');
    expect(text.match(/__[A-Z_]+__/g)?.filter((p, i, all) => all.indexOf(p) === i).sort())
      .toEqual(['__BOOTSTRAP_TIMEOUT_SECONDS__', '__CONFIG_BUCKET__', '__CONFIG_PREFIX__', '__REGION__']);
    expect(renderedUserData(userDataHost())).not.toMatch(/__[A-Z_]+__/);
  });

  test('with the AWS CLI present: copies the bootstrap from the bucket and execs it with the config', () => {
    const h = userDataHost();
    const r = runUserData(h);
    expect(r.status).toBe(0);
    const dir = h.path('opt/casper-bootstrap');
    expect(r.calls).toEqual([
      ARM_DEADLINE,
      `${S3_COPY} ${dir}/ --region ${REGION}`,
      `bootstrap.sh ${dir}/config.json`,
    ]);
    expect(h.read('opt/casper-bootstrap/config.json')).toBe('{"schemaVersion": 1}\n');
  });

  test('the bootstrap exit code is the user data exit code', () => {
    const h = userDataHost();
    const r = runUserData(h, { STUB_EXIT: '7' });
    expect(r.status).toBe(7);
  });

  test('without the AWS CLI: installs awscli with apt first', () => {
    const h = userDataHost({ omitShims: ['aws'] });
    const r = runUserData(h);
    expect(r.status).toBe(0);
    const dir = h.path('opt/casper-bootstrap');
    expect(r.calls).toEqual([
      ARM_DEADLINE,
      'apt-get update',
      'apt-get install -y -o DPkg::Lock::Timeout=300 awscli',
      `${S3_COPY} ${dir}/ --region ${REGION}`,
      `bootstrap.sh ${dir}/config.json`,
    ]);
    expect(h.bootstrapLog()).toContain('user data: installing the AWS CLI\n');
  });

  test('a failing awscli install is retried, then fails before any download', () => {
    const h = userDataHost({ omitShims: ['aws'] });
    h.rule('apt-get', '^install', { exit: 100 });
    const r = runUserData(h);
    expect(r.status).not.toBe(0);
    expect(r.calls.filter((c) => c.startsWith('apt-get install'))).toHaveLength(5);
    expect(r.calls.filter((c) => /^(aws|bootstrap\.sh)/.test(c))).toEqual([]);
    expect(h.bootstrapLog()).toContain('ERROR: user data: cannot install awscli\n');
  });

  test('a transient S3 failure is retried', () => {
    const h = userDataHost();
    h.rule('aws', '^s3 cp', { exit: 1, times: 2, stderr: 'fatal error: Could not connect to the endpoint URL\n' });
    const r = runUserData(h);
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => c.startsWith(S3_COPY))).toHaveLength(3);
    expect(r.calls[r.calls.length - 1]).toBe(`bootstrap.sh ${h.path('opt/casper-bootstrap')}/config.json`);
  });

  test('an S3 copy that keeps failing stops with an error and never runs the bootstrap', () => {
    const h = userDataHost();
    h.rule('aws', '^s3 cp', { exit: 1, stderr: 'An error occurred (AccessDenied) when calling the ListObjectsV2 operation\n' });
    const r = runUserData(h);
    expect(r.status).not.toBe(0);
    expect(r.calls.filter((c) => c.startsWith(S3_COPY))).toHaveLength(5);
    expect(r.calls.filter((c) => c.startsWith('bootstrap.sh'))).toEqual([]);
    expect(h.bootstrapLog()).toContain(`ERROR: user data: cannot copy s3://${BUCKET}/${PREFIX}\n`);
    expect(h.bootstrapLog()).toContain('An error occurred (AccessDenied)');
    // CloudFormation hears of it at once, not after the whole bootstrap timeout.
    expect(r.calls.filter((c) => c.startsWith('aws cloudformation'))).toEqual([FAILURE_SIGNAL]);
  });

  test('end to end with the real bootstrap: the node comes up and every log line is written once', () => {
    const h = ShellHarness.freshMachine();
    harnesses.push(h);
    // What the config bucket holds: node/ with lib.sh beside it.
    for (const f of fs.readdirSync(h.assets)) h.setState(`s3/${f}`, fs.readFileSync(path.join(h.assets, f), 'utf8'));
    h.setState('s3/config.json', fs.readFileSync(h.configPath, 'utf8'));
    const r = runUserData(h);
    expect(r.status).toBe(0);
    expect(h.exists('var/lib/casper-bootstrap/done')).toBe(true);
    expect(r.calls.filter((c) => c.startsWith('aws cloudformation signal-resource'))).toHaveLength(1);
    const lines = h.bootstrapLog().split('\n').filter((l) => l !== '');
    expect(lines.filter((l) => l.endsWith('casper bootstrap: finished'))).toHaveLength(1);
    expect(lines.filter((l) => l.endsWith(`casper bootstrap: starting with ${h.path('opt/casper-bootstrap/config.json')}`))).toHaveLength(1);
  });

  describe('the bootstrap deadline', () => {
    /** The deadline copy the user data installed, run as the timer would. */
    function runDeadline(h: ShellHarness): RunResult {
      return h.run(h.path('usr/local/sbin/casper-bootstrap-deadline'), ['--deadline']);
    }

    test('is armed for bootstrapTimeout with a copy of the rendered user data', () => {
      const h = userDataHost();
      expect(runUserData(h).calls[0]).toBe(ARM_DEADLINE);
      expect(h.read('usr/local/sbin/casper-bootstrap-deadline')).toBe(fs.readFileSync(path.join(h.base, 'user-data.sh'), 'utf8'));
      expect(h.mode('usr/local/sbin/casper-bootstrap-deadline')).toBe('755');
    });

    test('a bootstrap that finished: the deadline does nothing', () => {
      const h = userDataHost();
      runUserData(h);
      h.writeRootFile('var/lib/casper-bootstrap/done', '2026-12-01T00:00:00+0000\n');
      const r = runDeadline(h);
      expect(r.status).toBe(0);
      expect(r.calls).toEqual([]);
      expect(h.bootstrapLog()).toContain('bootstrap deadline: the bootstrap finished in time\n');
    });

    test('while the data volume is being moved (the launch hook bounds that), the deadline re-arms itself and reports nothing', () => {
      const h = userDataHost();
      runUserData(h, { STUB_EXIT: '1' });
      h.writeRootFile('var/lib/casper-bootstrap/volume-pending', '');
      const r = runDeadline(h);
      expect(r.status).toBe(0);
      expect(r.calls.filter((c) => c.startsWith('aws '))).toEqual([]);
      expect(r.calls).toEqual([expect.stringMatching(new RegExp(`^systemd-run --unit=casper-bootstrap-deadline-\\d+ --on-active=${TIMEOUT_SECONDS}s `
        + '--description=Report the instance unhealthy if the Casper bootstrap has not finished /bin/bash /usr/local/sbin/casper-bootstrap-deadline --deadline$'))]);
      expect(h.bootstrapLog()).toContain(`bootstrap deadline: the data volume is still being moved or restored; checking again in ${TIMEOUT_SECONDS} s\n`);
    });

    test('a bootstrap that died or hangs: FAILURE to CloudFormation and Unhealthy to Auto Scaling, past the grace period', () => {
      const h = userDataHost();
      runUserData(h, { STUB_EXIT: '1' });
      const r = runDeadline(h);
      expect(r.status).toBe(0);
      expect(r.calls.filter((c) => c.startsWith('aws '))).toEqual([FAILURE_SIGNAL, UNHEALTHY]);
      expect(h.bootstrapLog()).toContain(`ERROR: bootstrap deadline: the bootstrap has not finished after ${TIMEOUT_SECONDS} s; reporting this instance unhealthy\n`);
      expect(h.bootstrapLog()).toContain(`bootstrap deadline: reported instance ${INSTANCE_ID} unhealthy to Auto Scaling group ${ASG_NAME}\n`);
      expect(r.calls.filter((c) => c.includes('poweroff'))).toEqual([]);
    });

    test('on a replacement instance (nothing waits for a signal) it still reports Unhealthy', () => {
      const h = userDataHost();
      runUserData(h, { STUB_EXIT: '1' });
      h.rule('aws', '^cloudformation signal-resource', { exit: 254, stderr: 'ValidationError: Resource is in CREATE_COMPLETE state and cannot be signaled\n' });
      const r = runDeadline(h);
      expect(r.calls.filter((c) => c.startsWith('aws '))).toEqual([FAILURE_SIGNAL, UNHEALTHY]);
      expect(h.bootstrapLog()).toContain(`reported instance ${INSTANCE_ID} unhealthy`);
    });

    test('when Auto Scaling cannot be told, it powers off: a stopped instance fails the group\'s EC2 health check', () => {
      const h = userDataHost();
      runUserData(h, { STUB_EXIT: '1' });
      h.rule('aws', '^autoscaling set-instance-health', { exit: 254, stderr: 'AccessDenied\n' });
      const r = runDeadline(h);
      expect(r.calls.filter((c) => c.startsWith('aws autoscaling'))).toHaveLength(5);
      expect(r.calls[r.calls.length - 1]).toBe('systemctl poweroff');
      expect(h.bootstrapLog()).toContain('ERROR: bootstrap deadline: cannot report to Auto Scaling');
    });

    test('is not armed again when the bootstrap already finished (user data rerun)', () => {
      const h = userDataHost();
      h.writeRootFile('var/lib/casper-bootstrap/done', 'x\n');
      const r = runUserData(h);
      expect(r.calls.filter((c) => c.startsWith('systemd-run'))).toEqual([]);
    });
  });
});
