import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CasperVpc } from '../../src';
import { agnosticStack, concreteStack, expectRejected } from '../support/stacks';

describe('CasperVpc', () => {
  test('env-agnostic stack: three public subnets in AZs 0, 1 and 2 of Fn::GetAZs', () => {
    const stack = agnosticStack();
    const vpc = new CasperVpc(stack, 'Net');
    const t = Template.fromStack(stack);

    expect(vpc.publicSubnets).toHaveLength(3);
    t.resourceCountIs('AWS::EC2::Subnet', 3);
    for (const i of [0, 1, 2]) {
      t.hasResourceProperties('AWS::EC2::Subnet', {
        AvailabilityZone: { 'Fn::Select': [i, { 'Fn::GetAZs': '' }] },
        MapPublicIpOnLaunch: false,
      });
    }
  });

  test('concrete region: the first three AZs of the context lookup', () => {
    const stack = concreteStack(['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d']);
    new CasperVpc(stack, 'Net');
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::EC2::Subnet', 3);
    for (const az of ['us-east-1a', 'us-east-1b', 'us-east-1c']) {
      t.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: az });
    }
  });

  test('explicit AZs are used as given', () => {
    const stack = agnosticStack();
    new CasperVpc(stack, 'Net', { availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: 'eu-west-1c' });
  });

  test('default CIDR 10.0.0.0/16 split into /18 public subnets, no NAT, no private subnets', () => {
    const stack = agnosticStack();
    new CasperVpc(stack, 'Net');
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    for (const cidr of ['10.0.0.0/18', '10.0.64.0/18', '10.0.128.0/18']) {
      t.hasResourceProperties('AWS::EC2::Subnet', { CidrBlock: cidr });
    }
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.resourceCountIs('AWS::EC2::InternetGateway', 1);
    t.hasResourceProperties('AWS::EC2::Route', { DestinationCidrBlock: '0.0.0.0/0', GatewayId: Match.anyValue() });
  });

  test('a /24 VPC gets three /26 subnets', () => {
    const stack = agnosticStack();
    new CasperVpc(stack, 'Net', { cidr: '172.16.5.0/24' });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EC2::Subnet', { CidrBlock: '172.16.5.128/26' });
  });

  test('S3 gateway endpoint on the public route tables', () => {
    const stack = agnosticStack();
    const vpc = new CasperVpc(stack, 'Net');
    expect(vpc.s3Endpoint).toBeDefined();
    const t = Template.fromStack(stack);
    const routeTables = Object.keys(t.findResources('AWS::EC2::RouteTable')).map((id) => ({ Ref: id }));
    expect(routeTables).toHaveLength(3);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
      RouteTableIds: routeTables,
    });
  });

  test('flow logs go to a retained CloudWatch log group, 30 days by default', () => {
    const stack = agnosticStack();
    new CasperVpc(stack, 'Net');
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'REJECT',
      LogDestinationType: 'cloud-watch-logs',
    });
    t.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('flow log retention, traffic type and removal policy are props', () => {
    const stack = agnosticStack();
    new CasperVpc(stack, 'Net', {
      flowLogRetention: logs.RetentionDays.ONE_YEAR,
      flowLogTrafficType: ec2.FlowLogTrafficType.ALL,
      flowLogRemovalPolicy: RemovalPolicy.DESTROY,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 }, DeletionPolicy: 'Delete' });
  });

  test('the default security group is stripped of its rules', () => {
    const stack = agnosticStack();
    new CasperVpc(stack, 'Net');
    Template.fromStack(stack).resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('wraps an existing VPC without creating anything', () => {
    const stack = agnosticStack();
    const existing = ec2.Vpc.fromVpcAttributes(stack, 'Existing', {
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['us-east-1a', 'us-east-1b'],
      publicSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
    });
    const vpc = new CasperVpc(stack, 'Net', { vpc: existing });
    expect(vpc.vpc).toBe(existing);
    expect(vpc.publicSubnets.map((s) => s.subnetId)).toEqual(['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2']);
    expect(vpc.flowLog).toBeUndefined();
    expect(Object.keys(Template.fromStack(stack).toJSON().Resources ?? {})).toHaveLength(0);
  });

  describe('bad input', () => {
    test('an imported VPC without public subnets', () => {
      const stack = agnosticStack();
      const privateOnly = ec2.Vpc.fromVpcAttributes(stack, 'Existing', {
        vpcId: 'vpc-0123456789abcdef0',
        availabilityZones: ['us-east-1a'],
        privateSubnetIds: ['subnet-0bbbbbbbbbbbbbbb1'],
      });
      expectRejected(stack, () => new CasperVpc(stack, 'Net', { vpc: privateOnly }),
        'CasperVpc: invalid vpc "vpc-0123456789abcdef0": the VPC has no public subnets');
    });

    test('a malformed CIDR', () => {
      const stack = agnosticStack();
      expectRejected(stack, () => new CasperVpc(stack, 'Net', { cidr: '10.0.0/16' }),
        'CasperVpc: invalid cidr "10.0.0/16": must be an IPv4 CIDR block with zero host bits, such as "10.0.0.0/16"');
    });

    test('a CIDR with host bits set', () => {
      const stack = agnosticStack();
      expectRejected(stack, () => new CasperVpc(stack, 'Net', { cidr: '10.0.0.1/16' }),
        /CasperVpc: invalid cidr "10.0.0.1\/16": must be an IPv4 CIDR block with zero host bits/);
    });

    test.each(['10.0.0.0/8', '10.0.0.0/15', '10.0.0.0/25', '10.0.0.0/28'])('VPC prefix outside /16../24: %s', (cidr) => {
      const stack = agnosticStack();
      expectRejected(stack, () => new CasperVpc(stack, 'Net', { cidr }),
        `CasperVpc: invalid cidr "${cidr}": the prefix length must be from /16 to /24`);
    });

    test('not exactly three AZs', () => {
      const stack = agnosticStack();
      expectRejected(stack, () => new CasperVpc(stack, 'Net', { availabilityZones: ['us-east-1a', 'us-east-1b'] }),
        'CasperVpc: invalid availabilityZones ["us-east-1a","us-east-1b"]: must name exactly 3 distinct Availability Zones');
      expectRejected(stack, () => new CasperVpc(stack, 'Net2', { availabilityZones: ['a', 'a', 'b'] }),
        /must name exactly 3 distinct/);
    });

    test('a region with fewer than three AZs', () => {
      const stack = concreteStack(['us-east-1a', 'us-east-1b']);
      expectRejected(stack, () => new CasperVpc(stack, 'Net'),
        'CasperVpc: invalid availabilityZones ["us-east-1a","us-east-1b"]: region us-east-1 reports fewer than 3 Availability Zones');
    });
  });
});
