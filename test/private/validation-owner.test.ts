import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import {
  AlertTopic, CasperAgentConfig, CasperAlarms, CasperCanary, CasperElasticIp, CasperFleetDashboard, CasperNetwork, CasperNodeFleet, CasperNodeGroup,
  CasperNodeMetrics, CasperNodeSecurityGroup, CasperRpcProbe, CasperVpc, ConfigBucket, DataVolumeLifecycle, OpenVpnServer, SnapshotRotation,
  SshAccess,
} from '../../src';
import { CasperValidationError } from '../../src/private/validation';
import { cfnResources } from '../support/stacks';

/** An imported VPC with public subnets, for constructs that need one. */
function importedVpc(scope: Construct): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(scope, 'ImportedVpc', {
    vpcId: 'vpc-0123456789abcdef0',
    vpcCidrBlock: '10.0.0.0/16',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    publicSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
  });
}

/**
 * Every construct that validates its props names its path in the error, so two
 * instances of one app with the same bad input give errors that tell them apart.
 * Each case prepares what the construct needs in `scope`, then returns a
 * function that builds the construct under `id` with one bad prop.
 */
const cases: Array<[string, (scope: Construct) => (id: string) => unknown]> = [
  ['AlertTopic', (s) => (id) => new AlertTopic(s, id, { emails: ['ops@example'] })],
  ['CasperAgentConfig', (s) => (id) => new CasperAgentConfig(s, id, { network: CasperNetwork.TESTNET, nodeName: '-bad-' })],
  ['CasperAlarms', (s) => (id) => new CasperAlarms(s, id, {
    metrics: new CasperNodeMetrics({ namespace: 'ns', nodeName: 'n' }),
    maxRpcLatency: Duration.millis(4000.5),
  })],
  ['CasperCanary', (s) => (id) => new CasperCanary(s, id, { statusUrl: 'http://203.0.113.10:8888/status', requestTimeout: Duration.millis(999) })],
  ['CasperElasticIp', (s) => (id) => new CasperElasticIp(s, id, { nodeName: 'no spaces' })],
  ['CasperNodeGroup', (s) => {
    const vpc = importedVpc(s);
    const parts = {
      vpc,
      configBucket: new ConfigBucket(s, 'Config'),
      securityGroup: new ec2.SecurityGroup(s, 'Sg', { vpc }),
      notificationTopic: new AlertTopic(s, 'Alerts').topic,
      nodeName: 'n',
    };
    return (id) => new CasperNodeGroup(s, id, { ...parts, capacity: 21 });
  }],
  ['CasperFleetDashboard', (s) => (id) => new CasperFleetDashboard(s, id, {
    fleetName: 'f',
    nodeCount: 1,
    healthyMembers: new CasperNodeMetrics({ namespace: 'ns', nodeName: 'n' }).metricNodeUp(),
    unhealthyMembers: new CasperNodeMetrics({ namespace: 'ns', nodeName: 'n' }).metricNodeUp(),
    memberMetrics: [],
  })],
  ['CasperNodeFleet', (s) => (id) => new CasperNodeFleet(s, id, { network: CasperNetwork.TESTNET, nodeCount: 21 })],
  ['CasperNodeSecurityGroup', (s) => {
    const vpc = importedVpc(s);
    return (id) => new CasperNodeSecurityGroup(s, id, { vpc, sshAccess: SshAccess.fromCidrs(['0.0.0.0/0']) });
  }],
  ['CasperRpcProbe', (s) => {
    const vpc = importedVpc(s);
    return (id) => new CasperRpcProbe(s, id, { vpc, rpcUrl: 'http://10.0.0.10:7777/rpc', network: CasperNetwork.TESTNET, interval: Duration.seconds(90) });
  }],
  ['CasperVpc', (s) => (id) => new CasperVpc(s, id, { cidr: '10.0.0.0/8' })],
  ['ConfigBucket', (s) => (id) => new ConfigBucket(s, id, { keyPrefix: 'node' })],
  ['DataVolumeLifecycle', (s) => {
    const autoScalingGroup = new autoscaling.AutoScalingGroup(s, 'Group', {
      vpc: importedVpc(s),
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      instanceType: new ec2.InstanceType('m6a.2xlarge'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
    });
    return (id) => new DataVolumeLifecycle(s, id, {
      autoScalingGroup, nodeName: 'n', elasticIpAllocationId: 'eipalloc-0123456789abcdef0', maxMoveAttempts: 0,
    });
  }],
  ['OpenVpnServer', (s) => {
    const vpc = importedVpc(s);
    return (id) => new OpenVpnServer(s, id, { vpc, clientCount: 0 });
  }],
  ['SnapshotRotation', (s) => (id) => new SnapshotRotation(s, id, { volumeTagValue: 'n', syncWindow: Duration.seconds(150) })],
];

describe.each(cases)('%s errors name the construct path', (className, prepare) => {
  /** Builds the construct with its bad input in `scope` under `id` and returns the error, checking nothing was left behind. */
  const errorOf = (scope: Construct, id: string): CasperValidationError => {
    const build = prepare(scope);
    const stack = Stack.of(scope);
    const before = cfnResources(stack).length;
    let error: unknown;
    try {
      build(id);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CasperValidationError);
    expect(cfnResources(stack)).toHaveLength(before);
    return error as CasperValidationError;
  };

  test('two instances in one app give two errors, each ending with its own path', () => {
    const app = new App();
    const first = errorOf(new Stack(app, 'First'), 'Node');
    const second = errorOf(new Stack(app, 'Second'), 'Other');
    expect(first.message).toMatch(new RegExp(`^${className}: invalid `));
    expect(first.message.endsWith(' (construct First/Node)')).toBe(true);
    expect(second.message.endsWith(' (construct Second/Other)')).toBe(true);
    expect(first.message).not.toEqual(second.message);
    // Only the path differs: the same input is described the same way.
    expect(first.message.replace(' (construct First/Node)', '')).toEqual(second.message.replace(' (construct Second/Other)', ''));
  });

  test('the path is the whole construct path, however deep', () => {
    const group = new Construct(new Stack(new App(), 'Outer'), 'Group');
    expect(errorOf(group, 'Inner').message.endsWith(' (construct Outer/Group/Inner)')).toBe(true);
  });
});

test('every construct that names its path in errors has a case here', () => {
  // A construct that starts validating its props (ownerOf(this, ...)) joins the cases above.
  const src = path.join(__dirname, '..', '..', 'src');
  const files = fs.readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const owners = files.flatMap((f) => {
    const text = fs.readFileSync(path.join(src, f), 'utf8');
    if (!text.includes('ownerOf(this')) return [];
    return [...text.matchAll(/export class (\w+) extends Construct/g)].map((m) => m[1]);
  });
  // The node is validated in its own tests.
  const covered = cases.map(([name]) => name);
  expect(owners.filter((o) => o !== 'CasperReadOnlyNode' && !covered.includes(o))).toEqual([]);
  expect(owners.length).toBeGreaterThanOrEqual(covered.length);
});
