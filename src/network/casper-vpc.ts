import { Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { serviceEncryptedLogGroup, skipCheckov, skipStackProvider } from '../private/checkov';
import { CasperValidationError, ValidationOwner, ownerOf, parseIpv4Cidr } from '../private/validation';

/**
 * Properties of a `CasperVpc`.
 */
export interface CasperVpcProps {
  /**
   * An existing VPC to use instead of creating one. It must have at least one
   * public subnet. When given, every other prop is ignored and nothing is created.
   *
   * @default - a new VPC is created
   */
  readonly vpc?: ec2.IVpc;

  /**
   * IPv4 CIDR block of the new VPC, with a prefix length from /16 to /24.
   * Each of the three public subnets gets a quarter of it.
   *
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;

  /**
   * Exactly three Availability Zones for the public subnets.
   *
   * @default - in a stack with a concrete region, the first three AZs the CDK
   * context lookup reports; in an environment-agnostic stack, the first three
   * AZs `Fn::GetAZs` returns at deploy time
   */
  readonly availabilityZones?: string[];

  /**
   * How long VPC flow logs are kept in CloudWatch Logs.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;

  /**
   * Which traffic the flow logs record.
   *
   * @default ec2.FlowLogTrafficType.REJECT
   */
  readonly flowLogTrafficType?: ec2.FlowLogTrafficType;

  /**
   * What happens to the flow log group when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly flowLogRemovalPolicy?: RemovalPolicy;
}

const OWNER = 'CasperVpc';
const AZ_COUNT = 3;

/**
 * The network a Casper node runs in: a VPC with public subnets in exactly three
 * Availability Zones, no NAT gateway (the node has a public IP), an S3 gateway
 * endpoint (bootstrap downloads and snapshots stay off the internet), and VPC
 * flow logs to CloudWatch Logs. Or a wrapper around an existing VPC.
 *
 * Three AZs in every kind of stack: in an environment-agnostic stack CDK would
 * only ever pick two AZs, so the VPC names `Fn::Select` 0, 1 and 2 of
 * `Fn::GetAZs` instead and CloudFormation resolves them in the target region.
 * In a stack with an explicit region the AZs come from the CDK context lookup
 * (stored in `cdk.context.json`), so they are visible at synth time.
 */
export class CasperVpc extends Construct {
  /** The VPC, created or imported. */
  public readonly vpc: ec2.IVpc;

  /** The public subnets the node may be placed in. */
  public readonly publicSubnets: ec2.ISubnet[];

  /** The flow log; undefined when an existing VPC was given. */
  public readonly flowLog?: ec2.FlowLog;

  /** The flow log's log group; undefined when an existing VPC was given. */
  public readonly flowLogGroup?: logs.ILogGroup;

  /** The S3 gateway endpoint; undefined when an existing VPC was given. */
  public readonly s3Endpoint?: ec2.GatewayVpcEndpoint;

  constructor(scope: Construct, id: string, props: CasperVpcProps = {}) {
    super(scope, id);
    // Validated before any child exists, so a bad input leaves nothing behind.
    const owner = ownerOf(this, OWNER);

    if (props.vpc) {
      if (props.vpc.publicSubnets.length === 0) {
        throw new CasperValidationError(owner, 'vpc', props.vpc.vpcId,
          'the VPC has no public subnets; the node needs a public subnet for its Elastic IP (give a VPC with at least one PUBLIC subnet)');
      }
      this.vpc = props.vpc;
      this.publicSubnets = props.vpc.publicSubnets;
      return;
    }

    const cidr = props.cidr ?? '10.0.0.0/16';
    const parsed = parseIpv4Cidr(cidr);
    if (!parsed) {
      throw new CasperValidationError(owner, 'cidr', cidr,
        'must be an IPv4 CIDR block with zero host bits, such as "10.0.0.0/16"');
    }
    if (parsed.prefixLength < 16 || parsed.prefixLength > 24) {
      throw new CasperValidationError(owner, 'cidr', cidr,
        'the prefix length must be from /16 to /24 (AWS allows /16 to /28; /24 is the smallest that leaves room for three public subnets)');
    }
    const availabilityZones = this.chooseAvailabilityZones(owner, props.availabilityZones);

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.flowLogRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      availabilityZones,
      natGateways: 0,
      subnetConfiguration: [{
        name: 'Public',
        subnetType: ec2.SubnetType.PUBLIC,
        cidrMask: parsed.prefixLength + 2,
        mapPublicIpOnLaunch: false,
      }],
      // Nothing uses the default security group: strip its rules (CIS 5.4).
      restrictDefaultSecurityGroup: true,
    });
    this.vpc = vpc;
    this.publicSubnets = vpc.publicSubnets;

    this.flowLog = vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: props.flowLogTrafficType ?? ec2.FlowLogTrafficType.REJECT,
    });
    this.s3Endpoint = vpc.addGatewayEndpoint('S3Endpoint', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
    });
    this.skipCheckovFindings();
  }

  private skipCheckovFindings(): void {
    skipCheckov(this.flowLogGroup!.node.defaultChild!, [serviceEncryptedLogGroup('VPC flow log records: addresses, ports and accept/reject decisions, never packet payloads')]);
    // The stack-wide provider behind restrictDefaultSecurityGroup, owned by aws-cdk-lib.
    skipStackProvider(this, 'Custom::VpcRestrictDefaultSGCustomResourceProvider', 'CDK\'s provider for restrictDefaultSecurityGroup '
      + 'calls only the regional EC2 API, at deploy time, to revoke the default security group\'s rules; this VPC has no NAT gateway '
      + 'and no EC2 endpoint, so from inside it the function could not reach that API at all.');
  }

  private chooseAvailabilityZones(owner: ValidationOwner, given?: string[]): string[] {
    if (given) {
      if (given.length !== AZ_COUNT || new Set(given).size !== AZ_COUNT) {
        throw new CasperValidationError(owner, 'availabilityZones', given,
          `must name exactly ${AZ_COUNT} distinct Availability Zones`);
      }
      return given;
    }
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.region)) {
      return [0, 1, 2].map((i) => Fn.select(i, Fn.getAzs()));
    }
    const fromContext = stack.availabilityZones;
    if (fromContext.length < AZ_COUNT) {
      throw new CasperValidationError(owner, 'availabilityZones', fromContext,
        `region ${stack.region} reports fewer than ${AZ_COUNT} Availability Zones; choose a region with at least three or pass availabilityZones`);
    }
    return fromContext.slice(0, AZ_COUNT);
  }
}
