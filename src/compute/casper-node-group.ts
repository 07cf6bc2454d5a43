import * as fs from 'fs';
import * as path from 'path';
import { Annotations, ArnFormat, Aws, Duration, Stack, Tags, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CasperNodeKeys } from '../data/casper-node-keys';
import { CasperAgentConfig } from '../monitoring/casper-agent-config';
import { skipCheckov } from '../private/checkov';
import { validateInstanceOptions } from '../private/instance-options';
import { checkInstanceType } from '../private/instance-type';
import { acknowledgeNagRules, nagFindingName } from '../private/nag';
import { allowSessionManager } from '../private/session-manager';
import { CasperValidationError, ownerOf, ValidationOwner, validateInteger, validateNodeName } from '../private/validation';
import { ConfigBucket } from '../storage/config-bucket';

/**
 * Properties of a `CasperNodeGroup`.
 */
export interface CasperNodeGroupProps {
  /** The VPC to launch in. */
  readonly vpc: ec2.IVpc;

  /**
   * Where the instances run. Casper nodes gossip with the internet, so these
   * are public subnets: the instances get a public address.
   *
   * @default - the VPC's public subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The bucket the instances boot from: the user data downloads the
   * bootstrap and `config.json` under its key prefix. The group boots only
   * once its deployment is done.
   */
  readonly configBucket: ConfigBucket;

  /**
   * The node's signing key (and SSH key pair): the bootstrap reads the key,
   * or creates and stores it on the first boot, so the role may read and
   * write it. Its key pair, when there is one, is the instances' key pair.
   *
   * @default - no key is granted and no key pair is set: grant the signing
   * keys yourself (`CasperNodeKeys.grantReadWrite(group)`), as a fleet does
   * for its members' keys
   */
  readonly keys?: CasperNodeKeys;

  /**
   * The CloudWatch agent configuration the bootstrap loads, and the log groups
   * and metrics namespace the agent writes to.
   *
   * @default - no agent: no metrics or logs are shipped
   */
  readonly agentConfig?: CasperAgentConfig;

  /** The instances' security group (a `CasperNodeSecurityGroup`'s, for example). */
  readonly securityGroup: ec2.ISecurityGroup;

  /**
   * The node's name, in the role's description and the errors. Letters,
   * digits and `-`, 1 to 63 characters.
   */
  readonly nodeName: string;

  /**
   * The instance type: x86-64 with AVX2 and the SHA extensions.
   *
   * @default m6a.2xlarge
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * Size of the encrypted gp3 root volume, from 20 to 1024.
   *
   * @default 30
   */
  readonly rootVolumeSizeGiB?: number;

  /**
   * How long a new instance may take until its node answers steadily: the
   * health check grace period, the creation policy's timeout and the
   * bootstrap's deadline. From 30 minutes to 12 hours.
   *
   * @default Duration.minutes(90)
   */
  readonly bootstrapTimeout?: Duration;

  /**
   * The topic for the group's launch, termination and failure notifications
   * (an `AlertTopic`'s, for example): a failing launch reaches someone.
   */
  readonly notificationTopic: sns.ITopic;

  /**
   * How many instances the group keeps running, from 1 to 20. Each instance
   * is a node of its own.
   *
   * @default 1
   */
  readonly capacity?: number;

  /**
   * Also replace instances that the load balancer's target groups report
   * unhealthy (attach them with `autoScalingGroup.attachToNetworkTargetGroup`),
   * after the `bootstrapTimeout` grace period: a node stuck out of sync is
   * replaced.
   *
   * @default false - EC2 status checks and the node's own watchdog only
   */
  readonly elbHealthCheck?: boolean;

  /**
   * A launch template change replaces the instances one at a time: the
   * update terminates one (its data volume is released and snapshotted),
   * launches its replacement and waits for its success signal before the
   * next; at least `capacity - 1` stay in service.
   *
   * @default false - a change applies to instances launched later
   */
  readonly rollingUpdate?: boolean;

  /**
   * Run on Spot capacity: capacity-optimized allocation over `spotInstanceTypes`,
   * with capacity rebalancing. An interruption is a termination like any
   * other: the lifecycle snapshots and releases the data volume, and the
   * replacement takes it over.
   *
   * @default false - On-Demand
   */
  readonly spot?: boolean;

  /**
   * The instance types Spot may use, in order of preference. Each must run
   * the node: x86-64 with AVX2 and the SHA extensions (checked as
   * `instanceType` is), about 8 vCPU and 32 GiB.
   *
   * @default - `instanceType` first, then m6a, m7a, m6i, m7i, m5a and r6a 2xlarge, c6a and c6i 4xlarge
   */
  readonly spotInstanceTypes?: ec2.InstanceType[];
}

const OWNER = 'CasperNodeGroup';
/**
 * Spot alternatives to the default type: x86-64 with AVX2 and SHA, 8 vCPU
 * (4 cores) or more and 32 GiB or more: AMD EPYC (Zen 1 to 4) and Intel Ice
 * Lake or newer. Several families give the capacity-optimized strategy pools to choose from.
 */
export const SPOT_INSTANCE_TYPES = ['m6a.2xlarge', 'm7a.2xlarge', 'm6i.2xlarge', 'm7i.2xlarge', 'm5a.2xlarge', 'r6a.2xlarge', 'c6a.4xlarge', 'c6i.4xlarge'];
const UBUNTU_2204_AMI_PARAMETER = '/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id';

/**
 * The compute core of a Casper node: an instance role, the user data that
 * boots an instance from a `ConfigBucket` into a running node, a launch
 * template (Ubuntu 22.04, IMDSv2, encrypted gp3 root) and an Auto Scaling
 * group that waits for each instance's success signal and replaces an
 * instance that reports itself unhealthy (self-healing: the node's watchdog
 * and bootstrap deadline call `SetInstanceHealth` on this group only).
 *
 * `CasperReadOnlyNode` builds one; use it alone to run the bootstrap with
 * your own network, storage and monitoring around it.
 */
export class CasperNodeGroup extends Construct implements ec2.IConnectable, iam.IGrantable {
  /** The instances' role. */
  public readonly role: iam.IRole;

  /** The principal of the instances: grant it what the node needs. */
  public readonly grantPrincipal: iam.IPrincipal;

  /** The instances' security group. */
  public readonly connections: ec2.Connections;

  /** The launch template. */
  public readonly launchTemplate: ec2.LaunchTemplate;

  /** The Auto Scaling group. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;

  /** The subnets the group launches into. */
  public readonly subnets: ec2.ISubnet[];

  /** The bootstrap time budget: grace period, creation policy timeout and deadline. */
  public readonly bootstrapTimeout: Duration;

  constructor(scope: Construct, id: string, props: CasperNodeGroupProps) {
    super(scope, id);
    const owner = ownerOf(this, OWNER);
    validateNodeName(owner, 'nodeName', props.nodeName);
    const v = validateInstanceOptions(owner, props);
    const capacity = validateInteger(owner, 'capacity', props.capacity ?? 1, 1, 20);
    const spotTypes = props.spot ? spotInstanceTypes(owner, v.instanceType, props.spotInstanceTypes) : undefined;
    if (props.spotInstanceTypes && !props.spot) {
      throw new CasperValidationError(owner, 'spotInstanceTypes', props.spotInstanceTypes.map(String), 'only applies with spot: true');
    }
    if (!props.configBucket) throw new CasperValidationError(owner, 'configBucket', props.configBucket, 'is required: the bucket the instances boot from');
    if (!props.notificationTopic) throw new CasperValidationError(owner, 'notificationTopic', props.notificationTopic, 'is required: where launch failures are reported');
    if (v.instanceTypeWarning) {
      Annotations.of(this).addWarningV2('cdk-casper-node:instanceTypeWithoutSha', v.instanceTypeWarning);
    }
    this.bootstrapTimeout = v.bootstrapTimeout;
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PUBLIC };
    this.subnets = props.vpc.selectSubnets(vpcSubnets).subnets;

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Casper node ${props.nodeName}`,
    });
    this.role = role;
    this.grantPrincipal = role;
    // A shell without an open port; not AmazonSSMManagedInstanceCore, which reads every parameter.
    allowSessionManager(role);
    // What the bootstrap reads: its scripts and config, the signing key, the agent's config.
    props.configBucket.grantRead(role);
    props.keys?.grantReadWrite(role);
    props.agentConfig?.grantAgent(role);

    const userData = ec2.UserData.custom(renderUserData(
      props.configBucket.bucket.bucketName, props.configBucket.keyPrefix, Aws.REGION, v.bootstrapTimeout.toSeconds()));

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ec2.MachineImage.fromSsmParameter(UBUNTU_2204_AMI_PARAMETER, { os: ec2.OperatingSystemType.LINUX }),
      instanceType: v.instanceType,
      role,
      securityGroup: props.securityGroup,
      userData,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      instanceMetadataTags: true,
      associatePublicIpAddress: true,
      keyPair: props.keys?.keyPair,
      blockDevices: [{
        deviceName: '/dev/sda1',
        volume: ec2.BlockDeviceVolume.ebs(v.rootVolumeSizeGiB, {
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          encrypted: true,
          deleteOnTermination: true,
        }),
      }],
    });
    // The Name of the instances and their volumes: the path as the logical IDs
    // read it (a `Default` id, which CDK leaves out of them, is left out here too).
    Tags.of(this.launchTemplate).add('Name', visiblePath(this.launchTemplate));
    this.connections = new ec2.Connections({ securityGroups: [props.securityGroup] });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Asg', {
      vpc: props.vpc,
      vpcSubnets,
      ...(spotTypes ? {
        mixedInstancesPolicy: {
          launchTemplate: this.launchTemplate,
          launchTemplateOverrides: spotTypes.map((instanceType) => ({ instanceType })),
          instancesDistribution: {
            onDemandBaseCapacity: 0,
            onDemandPercentageAboveBaseCapacity: 0,
            spotAllocationStrategy: autoscaling.SpotAllocationStrategy.CAPACITY_OPTIMIZED_PRIORITIZED,
          },
        },
        capacityRebalance: true,
      } : { launchTemplate: this.launchTemplate }),
      minCapacity: capacity,
      maxCapacity: capacity,
      healthChecks: props.elbHealthCheck
        ? autoscaling.HealthChecks.withAdditionalChecks({
          gracePeriod: v.bootstrapTimeout,
          additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        })
        : autoscaling.HealthChecks.ec2({ gracePeriod: v.bootstrapTimeout }),
      updatePolicy: props.rollingUpdate ? autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: capacity - 1,
        waitOnResourceSignals: true,
        pauseTime: v.bootstrapTimeout,
      }) : undefined,
      // The bootstrap signals once /status answers; CDK grants the role
      // cloudformation:SignalResource on this stack for it.
      signals: autoscaling.Signals.waitForMinCapacity({ timeout: v.bootstrapTimeout }),
      notifications: [{ topic: props.notificationTopic }],
    });
    // Boot only once the scripts and config are in the bucket.
    this.autoScalingGroup.node.addDependency(props.configBucket.deployment);

    // The watchdog and the bootstrap deadline mark their own instance
    // unhealthy: this group only. A separate policy, so the group does not
    // wait for it (the group name is only known once the group exists).
    const groupArn = Stack.of(this).formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `*:autoScalingGroupName/${this.autoScalingGroup.autoScalingGroupName}`,
    });
    const selfHealing = new iam.Policy(this, 'SelfHealingPolicy', {
      roles: [role],
      statements: [new iam.PolicyStatement({ actions: ['autoscaling:SetInstanceHealth'], resources: [groupArn] })],
    });

    acknowledgeNagRules(role, [{
      id: 'AwsSolutions-IAM5',
      reason: 'The only wildcard is the object keys under the node\'s own config prefix in its config bucket.',
      appliesTo: [`Resource::${nagFindingName(this, props.configBucket.objectsArn)}`],
    }]);
    acknowledgeNagRules(selfHealing, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Auto Scaling group ARNs carry a generated id; the policy names the node\'s own group by name.',
      appliesTo: [`Resource::${nagFindingName(this, groupArn)}`],
    }]);
    skipCheckov(this.launchTemplate.node.defaultChild!, [{
      id: 'CKV_AWS_88',
      comment: 'A Casper node must be reachable by its peers (gossip) and runs in a public subnet without NAT (CasperVpc has none), '
        + 'so it needs a public address (a single node\'s Elastic IP follows it across replacements; a fleet member has its own and serves '
        + 'clients through the load balancer). Its security group opens only the Casper ports, and SSH only when asked.',
    }]);
  }
}

/** The Spot types: `instanceType` first, each checked like it; ARM or SHA-less types are refused. */
function spotInstanceTypes(owner: ValidationOwner, first: ec2.InstanceType, given?: ec2.InstanceType[]): ec2.InstanceType[] {
  const names = given ? given.map(String) : [first.toString(), ...SPOT_INSTANCE_TYPES];
  const unique = [...new Set(names)];
  if (unique.length < 1 || unique.length > 20) {
    throw new CasperValidationError(owner, 'spotInstanceTypes', names, 'must name from 1 to 20 instance types');
  }
  for (const name of unique) {
    if (Token.isUnresolved(name)) continue;
    const check = checkInstanceType(name);
    const problem = check.error ?? check.warning;
    if (problem) throw new CasperValidationError(owner, 'spotInstanceTypes', name, `each type must run the node: ${problem}`);
  }
  return unique.map((name) => new ec2.InstanceType(name));
}

/** A construct's path without `Default` ids, as CDK's logical IDs read it. */
function visiblePath(construct: Construct): string {
  return construct.node.path.split('/').filter((id) => id !== 'Default').join('/');
}

/**
 * The user data: the shipped template with the bucket, prefix, region and
 * bootstrap deadline (seconds) filled in.
 */
function renderUserData(bucketName: string, keyPrefix: string, region: string, bootstrapTimeoutSeconds: number): string {
  const template = fs.readFileSync(path.join(__dirname, '..', 'assets', 'node', 'user-data.sh'), 'utf8');
  return template
    .split('__CONFIG_BUCKET__').join(bucketName)
    .split('__CONFIG_PREFIX__').join(keyPrefix)
    .split('__REGION__').join(region)
    .split('__BOOTSTRAP_TIMEOUT_SECONDS__').join(String(bootstrapTimeoutSeconds));
}
