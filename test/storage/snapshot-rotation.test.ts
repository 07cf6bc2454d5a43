import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { SnapshotRotation, SnapshotRotationProps } from '../../src';
import { expectNagAndCfnLintClean } from '../support/checks';
import { agnosticStack, expectRejected } from '../support/stacks';

function setup(props: Partial<SnapshotRotationProps> = {}) {
  const stack = agnosticStack();
  const rotation = new SnapshotRotation(stack, 'Backups', { volumeTagValue: 'reader-1', ...props });
  return { stack, rotation, t: Template.fromStack(stack) };
}

describe('SnapshotRotation', () => {
  test('daily at 00:00 UTC by default (the seed was weekly, Friday 00:00)', () => {
    const { t } = setup();
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 0 * * ? *)' });
  });

  test('a custom schedule', () => {
    const { t } = setup({ schedule: events.Schedule.cron({ weekDay: 'FRI', hour: '0', minute: '0' }) });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 0 ? * FRI *)' });
  });

  test('handler configuration', () => {
    const { t, rotation } = setup({
      retainCount: 14,
      volumeRoleTag: 'casper:role=data',
      syncMetricNamespace: 'casper-casper-test',
      syncMetricDimensions: { NodeName: 'reader-1' },
      syncWindow: Duration.minutes(15),
      metricsNamespace: 'ns',
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Timeout: 900,
      Environment: {
        Variables: {
          VOLUME_TAG_KEY: 'casper:node',
          VOLUME_TAG_VALUE: 'reader-1',
          VOLUME_ROLE_TAG: 'casper:role=data',
          RETAIN_COUNT: '14',
          ROTATION_ID: rotation.rotationId,
          SYNC_METRIC_NAMESPACE: 'casper-casper-test',
          SYNC_METRIC_NAME: 'Synced',
          SYNC_METRIC_DIMENSIONS: '{"NodeName":"reader-1"}',
          SYNC_WINDOW_MINUTES: '15',
          MISSING_SYNC_METRIC: 'skip',
          METRIC_NAMESPACE: 'ns',
        },
      },
    });
    expect(rotation.rotationId).toMatch(/^[A-Za-z0-9-]{1,64}$/);
  });

  test('deletes only its own snapshots; snapshots only the tagged volume', () => {
    const { t, rotation } = setup();
    const statements = Object.values(t.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement) as any[];
    const del = statements.filter((s) => [].concat(s.Action).includes('ec2:DeleteSnapshot' as never));
    expect(del.map((s) => s.Condition)).toEqual([{ StringEquals: { 'aws:ResourceTag/casper:rotation': rotation.rotationId } }]);
    const create = statements.filter((s) => s.Action === 'ec2:CreateSnapshot').map((s) => s.Condition);
    expect(create).toEqual([
      { StringEquals: { 'aws:ResourceTag/casper:node': 'reader-1' } },
      { StringEquals: { 'aws:RequestTag/casper:rotation': rotation.rotationId } },
    ]);
  });

  test('reads CloudWatch metrics only for the sync check', () => {
    const actions = (props: Partial<SnapshotRotationProps>) => Object.values(setup(props).t.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as any[])
      .flatMap((s) => [].concat(s.Action) as string[]);
    expect(actions({})).not.toContain('cloudwatch:GetMetricData');
    expect(actions({ syncMetricNamespace: 'casper-casper-test', syncMetricDimensions: { NodeName: 'reader-1' } })).toContain('cloudwatch:GetMetricData');
  });

  test('metrics for stale-backup alarms', () => {
    const { rotation } = setup({ metricsNamespace: 'ns' });
    expect(rotation.metricSucceeded()).toMatchObject({ namespace: 'ns', metricName: 'SnapshotRotationSucceeded', statistic: 'Sum', dimensions: { NodeName: 'reader-1' } });
    expect(rotation.metricSkipped().metricName).toBe('SnapshotSkipped');
    expect(rotation.metricNewestSnapshotAge().metricName).toBe('NewestCompletedSnapshotAgeSeconds');
  });

  test('cdk-nag and cfn-lint clean', () => {
    const { stack } = setup({ syncMetricNamespace: 'x' });
    expectNagAndCfnLintClean(stack);
  });

  describe('bad input', () => {
    test.each([0, -1, 1001, 2.5])('retainCount %p', (retainCount) => {
      const stack = agnosticStack();
      expectRejected(stack, () => new SnapshotRotation(stack, 'B', { volumeTagValue: 'n', retainCount }),
        `SnapshotRotation: invalid retainCount ${retainCount}: must be a whole number from 1 to 1000`);
    });
    test('a reserved tag key', () => {
      const stack = agnosticStack();
      expectRejected(stack, () => new SnapshotRotation(stack, 'B', { volumeTagValue: 'n', volumeTagKey: 'aws:foo' }), /invalid volumeTagKey "aws:foo"/);
    });
    test('an empty tag value', () => {
      const stack = agnosticStack();
      expectRejected(stack, () => new SnapshotRotation(stack, 'B', { volumeTagValue: '' }), /invalid volumeTagValue "": must be 1 to 255 characters/);
    });
    test('a role tag without "="', () => {
      const stack = agnosticStack();
      expectRejected(stack, () => new SnapshotRotation(stack, 'B', { volumeTagValue: 'n', volumeRoleTag: 'casper:role' }), /invalid volumeRoleTag "casper:role"/);
    });
    test('a sync window of one minute', () => {
      const stack = agnosticStack();
      expectRejected(stack, () => new SnapshotRotation(stack, 'B', { volumeTagValue: 'n', syncWindow: Duration.minutes(1) }), /invalid syncWindow "1 minute": must be from 2 minutes to 1 day/);
    });
    test('a sync window is printed exactly, fractions included', () => {
      const stack = agnosticStack();
      expectRejected(stack, () => new SnapshotRotation(stack, 'B', { volumeTagValue: 'n', syncWindow: Duration.seconds(119.5) }),
        'SnapshotRotation: invalid syncWindow "119500 milliseconds": must be from 2 minutes to 1 day');
    });
    test('a sync window in whole minutes only (the handler counts in minutes)', () => {
      const stack = agnosticStack();
      expectRejected(stack, () => new SnapshotRotation(stack, 'B', { volumeTagValue: 'n', syncWindow: Duration.seconds(150) }),
        'SnapshotRotation: invalid syncWindow "2 minutes 30 seconds": must be whole minutes');
    });
  });
});
