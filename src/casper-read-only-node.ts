import * as fs from 'fs';
import * as path from 'path';
import { Annotations, ArnFormat, Aws, CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CasperNetwork } from './casper-network';
import { CasperNodeKeys } from './data';
import { AlertTopic, CasperAgentConfig, CasperAlarms, CasperAlarmThresholds, CasperCanary, CasperDashboard, CasperNodeMetrics } from './monitoring';
import { CasperElasticIp, CasperNodeSecurityGroup, CasperVpc, OpenVpnServer, OpenVpnServerOptions, SshAccess } from './network';
import { skipCheckov } from './private/checkov';
import { checkInstanceType } from './private/instance-type';
import { acknowledgeNagRules, nagFindingName } from './private/nag';
import { readyWaitSeconds, renderNodeConfig } from './private/node-config';
import { allowSessionManager } from './private/session-manager';
import { slackChannel, validateSlack } from './private/slack';
import { describeSshAccess, resolveSshPeers } from './private/ssh';
import { CasperValidationError, isValidEmail, isValidMetricsNamespace, validateNodeName } from './private/validation';
import { knownVpcCidr, validateOpenVpnOptions } from './private/vpn-options';
import { ConfigBucket, DataVolumeLifecycle, SnapshotRotation } from './storage';

/**
 * Properties of a `CasperReadOnlyNode`.
 */
export interface CasperReadOnlyNodeProps {
  /** The Casper network the node joins: `CasperNetwork.MAINNET`, `TESTNET` or `custom(...)`. */
  readonly network: CasperNetwork;

  /**
   * The VPC to run in; the node is placed in its public subnets.
   *
   * @default - a new `CasperVpc` (three public subnets, no NAT, S3 endpoint, flow logs)
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The instance type: x86-64 with AVX2 and the SHA extensions, 32 GiB RAM and
   * four physical cores is what Casper asks for.
   *
   * @default m6a.2xlarge (AMD EPYC 3rd gen: 8 vCPU = 4 cores, 32 GiB)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * The node's name: tags its data volume, snapshots and Elastic IP, and is
   * the dimension of its metrics. Unique per account and region.
   * Letters, digits and `-`, 1 to 63 characters.
   *
   * @default '<chainspec name>-node'
   */
  readonly nodeName?: string;

  /**
   * Size of the gp3 data volume holding the chain (`/var/lib/casper/casper-node`).
   * Casper's docs: about 500 GB serves a non-archival node for at least a year.
   * From 100 to 16384.
   *
   * @default 500
   */
  readonly dataVolumeSizeGiB?: number;

  /**
   * Provisioned IOPS of the gp3 data volume, from 3000 to 16000.
   *
   * @default 3000 (gp3 baseline, no extra charge)
   */
  readonly dataVolumeIops?: number;

  /**
   * Throughput of the gp3 data volume in MiB/s, from 125 to 1000 (and at most 0.25 per IOPS).
   *
   * @default 125 (gp3 baseline, no extra charge)
   */
  readonly dataVolumeThroughputMibps?: number;

  /**
   * Size of the encrypted gp3 root volume (OS, packages, logs).
   *
   * @default 30
   */
  readonly rootVolumeSizeGiB?: number;

  /**
   * A recent block hash (64 hex characters) the node trusts when it starts with
   * empty storage: it syncs from that block. Take it from a node you trust:
   * `curl -s http://<node>:8888/status | jq -r .last_added_block_info.hash`.
   * Written lowercase. Ignored once the data volume holds chain storage (the
   * node resumes from its own data).
   *
   * @default - with empty storage, the bootstrap takes the newest block hash that
   * at least two of the network's known peers (from the staged config.toml) report
   * identically, and fails if they never agree
   */
  readonly trustedHash?: string;

  /**
   * Who may reach the node on SSH. An EC2 key pair is created only when SSH is open.
   *
   * @default SshAccess.none() - SSH closed; SSM Session Manager gives a shell
   */
  readonly sshAccess?: SshAccess;

  /**
   * Allow `sshAccess` to name `0.0.0.0/0` or `::/0`.
   *
   * @default false
   */
  readonly allowSshFromAnywhere?: boolean;

  /**
   * Who may call JSON-RPC (7777) besides the VPC.
   *
   * @default - only the VPC
   */
  readonly rpcPeers?: ec2.IPeer[];

  /**
   * Who may subscribe to SSE events (9999) besides the VPC.
   *
   * @default - only the VPC
   */
  readonly ssePeers?: ec2.IPeer[];

  /**
   * Whether the REST status port (8888) is open to the internet. `false` needs
   * `enableCanary: false`: the canary checks the port from the internet.
   *
   * @default true
   */
  readonly publicStatusPort?: boolean;

  /**
   * Email addresses that receive alerts and Auto Scaling events. Each must
   * confirm the subscription email from AWS.
   *
   * @default - no email subscriptions (subscribe to the `AlertTopicArn` output)
   */
  readonly alertEmails?: string[];

  /**
   * An existing topic for alerts and Auto Scaling events, instead of the
   * `AlertTopic` the node creates. Its KMS key, if any, must let CloudWatch
   * and Auto Scaling publish.
   *
   * @default - an `AlertTopic` (KMS-encrypted, TLS-only), with `alertEmails` subscribed
   */
  readonly alertTopic?: sns.ITopic;

  /**
   * ID of the Slack workspace (such as `T0123ABCDEF`) whose `alertSlackChannelId`
   * receives the alerts through AWS Chatbot (notifications only). Authorize the
   * workspace once in the AWS Chatbot console first. Give both or neither.
   *
   * @default - no Slack channel
   */
  readonly alertSlackWorkspaceId?: string;

  /**
   * ID of the Slack channel (such as `C0123ABCDEF`) that receives the alerts.
   *
   * @default - no Slack channel
   */
  readonly alertSlackChannelId?: string;

  /**
   * One page instead of many: a composite "node unhealthy" alarm over the
   * critical alarms notifies, and they no longer notify by themselves (see
   * `CasperAlarmsProps.nodeUnhealthyAlarm`).
   *
   * @default false
   */
  readonly nodeUnhealthyAlarm?: boolean;

  /**
   * CloudWatch namespace of the node's metrics.
   *
   * @default 'casper-<chainspec name>'
   */
  readonly metricsNamespace?: string;

  /**
   * How long the node, bootstrap and metrics log groups keep events.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Alarm thresholds (CPU, memory, disk, block age, peers, backup age).
   *
   * @default - CPU 70 %, memory 80 %, disk 90 %, block age 10 minutes, 3 peers, backups 2 days
   */
  readonly alarmThresholds?: CasperAlarmThresholds;

  /**
   * Time between two canary checks, whole minutes from 1 to 60.
   *
   * @default Duration.minutes(5)
   */
  readonly canaryInterval?: Duration;

  /**
   * What happens to stateful resources (Elastic IP, signing-key secret,
   * config bucket, log groups) when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * How long a new instance may take from launch until `/status` answers
   * steadily (data volume, install, staging protocols, node start). Also the
   * Auto Scaling health check grace period, the creation policy's timeout, and
   * the bootstrap deadline after which an instance that has not finished is
   * reported unhealthy. From 30 minutes to 12 hours.
   *
   * @default Duration.minutes(90)
   */
  readonly bootstrapTimeout?: Duration;

  /**
   * How long `/status` may stay unanswered, after the bootstrap finished,
   * before the node restarts the service; if it still does not answer 10
   * minutes later, the instance marks itself unhealthy and is replaced.
   * From 5 minutes to 6 hours.
   *
   * @default Duration.minutes(15)
   */
  readonly unresponsiveThreshold?: Duration;

  /**
   * Scheduled, sync-aware EBS snapshots of the data volume (SnapshotRotation).
   *
   * @default true
   */
  readonly enableBackups?: boolean;

  /**
   * An external Synthetics canary on the status endpoint (CasperCanary).
   *
   * @default true
   */
  readonly enableCanary?: boolean;

  /**
   * A CloudWatch dashboard for the node (CasperDashboard).
   *
   * @default true
   */
  readonly enableDashboard?: boolean;

  /**
   * A self-hosted OpenVPN server (`OpenVpnServer`) in the node's VPC; the
   * node's SSH is then open only to it (seed rule: "SSH is available when
   * connected to the VPN Server") and an EC2 key pair is created for it.
   * Not together with `sshAccess`.
   *
   * @default false
   */
  readonly enableVpn?: boolean;

  /**
   * Settings of the VPN server when `enableVpn` is true (client count, port,
   * allowed client CIDRs, instance type, tunnel network).
   *
   * @default - the `OpenVpnServer` defaults: 5 profiles, UDP 1194 from anywhere, t4g.nano
   */
  readonly vpnOptions?: OpenVpnServerOptions;
}

/** The gp3 data volume the lifecycle handler creates, attaches and snapshots. */
export interface DataVolumeSpec {
  /** Size in GiB. */
  readonly sizeGiB: number;
  /** Provisioned IOPS. */
  readonly iops: number;
  /** Throughput in MiB/s. */
  readonly throughputMibps: number;
  /** Tags that identify the node's volumes and snapshots. */
  readonly tags: { [key: string]: string };
}

/** Which optional parts of a `CasperReadOnlyNode` are switched on. */
export interface CasperNodeFeatures {
  /** Scheduled, sync-aware snapshots of the data volume. */
  readonly backups: boolean;
  /** External Synthetics canary on the status endpoint. */
  readonly canary: boolean;
  /** CloudWatch dashboard. */
  readonly dashboard: boolean;
  /** Self-hosted OpenVPN server for SSH. */
  readonly vpn: boolean;
}

const OWNER = 'CasperReadOnlyNode';
/** CasperVpc's default CIDR, for checks made before the VPC exists. */
const DEFAULT_VPC_CIDR = '10.0.0.0/16';
const UBUNTU_2204_AMI_PARAMETER = '/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id';

/**
 * A read-only Casper node: an Auto Scaling group of exactly one instance
 * across the VPC's public subnets, which bootstraps itself from a
 * `ConfigBucket` into a running node (Ubuntu 22.04, casper-node-launcher, the
 * 2.x sidecar), keeps its signing key in Secrets Manager across replacements,
 * owns a stable Elastic IP, signals CloudFormation only once `/status` answers,
 * and replaces itself when the node stops answering.
 *
 * Around it: the data-volume lifecycle and scheduled snapshots, the CloudWatch
 * agent and a metrics collector (node up, synced, peers, height, era, block
 * age), alarms to an alert topic, an external canary, a dashboard, and
 * optionally an OpenVPN server for administrators' SSH.
 */
export class CasperReadOnlyNode extends Construct {
  /** The network the node joins. */
  public readonly network: CasperNetwork;

  /** The node's name (tags, metric dimension). */
  public readonly nodeName: string;

  /** CloudWatch namespace of the node's metrics. */
  public readonly metricsNamespace: string;

  /** The VPC. */
  public readonly vpc: ec2.IVpc;

  /** The VPC construct when this node created it. */
  public readonly casperVpc?: CasperVpc;

  /** The node's security group. */
  public readonly securityGroup: CasperNodeSecurityGroup;

  /** The node's stable public address. */
  public readonly elasticIp: CasperElasticIp;

  /** Signing key secret and optional SSH key pair. */
  public readonly keys: CasperNodeKeys;

  /** The bucket the node boots from. */
  public readonly configBucket: ConfigBucket;

  /** The instance role. */
  public readonly role: iam.IRole;

  /** The launch template. */
  public readonly launchTemplate: ec2.LaunchTemplate;

  /** The Auto Scaling group of one. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;

  /** The data volume the lifecycle handler manages. */
  public readonly dataVolume: DataVolumeSpec;

  /** Where every alarm and the group's notifications go: the given topic, or one the node created. */
  public readonly alertTopic: sns.ITopic;

  /** The AWS Chatbot Slack channel, with `alertSlackWorkspaceId` and `alertSlackChannelId`. */
  public readonly alertSlackChannel?: chatbot.SlackChannelConfiguration;

  /** The handler that attaches the data volume to each new instance and snapshots it on termination. */
  public readonly dataVolumeLifecycle: DataVolumeLifecycle;

  /** Scheduled snapshots of the data volume; undefined when `enableBackups` is false. */
  public readonly snapshotRotation?: SnapshotRotation;

  /** Which optional parts are switched on. */
  public readonly features: CasperNodeFeatures;

  /** The CloudWatch agent configuration (SSM parameter) and the node's log groups. */
  public readonly agentConfig: CasperAgentConfig;

  /** The node's metrics (collector, agent, EC2 status checks). */
  public readonly metrics: CasperNodeMetrics;

  /** The node's alarms; they notify `alertTopic` when there is one. */
  public readonly alarms: CasperAlarms;

  /** The external check of the status endpoint; undefined when `enableCanary` is false. */
  public readonly canary?: CasperCanary;

  /** The node's dashboard; undefined when `enableDashboard` is false. */
  public readonly dashboard?: CasperDashboard;

  /** The administrators' VPN; undefined unless `enableVpn` is true. */
  public readonly vpnServer?: OpenVpnServer;

  constructor(scope: Construct, id: string, props: CasperReadOnlyNodeProps) {
    super(scope, id);
    const v = validateProps(props);
    this.network = props.network;
    this.nodeName = v.nodeName;
    this.metricsNamespace = v.metricsNamespace;
    this.features = v.features;
    this.dataVolume = {
      sizeGiB: v.dataVolumeSizeGiB,
      iops: v.dataVolumeIops,
      throughputMibps: v.dataVolumeThroughputMibps,
      tags: { 'casper:node': v.nodeName, 'casper:role': 'data' },
    };
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (v.instanceTypeWarning) {
      Annotations.of(this).addWarningV2('cdk-casper-node:instanceTypeWithoutSha', v.instanceTypeWarning);
    }

    if (props.vpc) {
      this.vpc = props.vpc;
    } else {
      this.casperVpc = new CasperVpc(this, 'Network', { flowLogRemovalPolicy: removalPolicy });
      this.vpc = this.casperVpc.vpc;
    }

    if (v.features.vpn) {
      this.vpnServer = new OpenVpnServer(this, 'Vpn', { removalPolicy, ...props.vpnOptions, vpc: this.vpc });
    }
    this.securityGroup = new CasperNodeSecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      network: props.network,
      rpcPeers: props.rpcPeers,
      ssePeers: props.ssePeers,
      publicStatusPort: props.publicStatusPort,
      // With the VPN, SSH comes only from the VPN server (it NATs its clients).
      sshAccess: this.vpnServer ? SshAccess.fromSecurityGroup(this.vpnServer.securityGroup) : props.sshAccess,
      allowSshFromAnywhere: props.allowSshFromAnywhere,
    });
    this.elasticIp = new CasperElasticIp(this, 'ElasticIp', { nodeName: v.nodeName, removalPolicy });
    this.keys = new CasperNodeKeys(this, 'Keys', { createSshKeyPair: v.sshOpen, removalPolicy });

    // Every alarm reaches someone: a topic always exists.
    if (props.alertTopic) {
      this.alertTopic = props.alertTopic;
      if (props.alertSlackWorkspaceId && props.alertSlackChannelId) {
        this.alertSlackChannel = slackChannel(this, 'AlertSlack', props.alertTopic, props.alertSlackWorkspaceId, props.alertSlackChannelId);
      }
    } else {
      const alerts = new AlertTopic(this, 'Alerts', {
        emails: props.alertEmails,
        removalPolicy,
        slackWorkspaceId: props.alertSlackWorkspaceId,
        slackChannelId: props.alertSlackChannelId,
      });
      this.alertTopic = alerts.topic;
      this.alertSlackChannel = alerts.slackChannel;
    }

    // What the CloudWatch agent collects and ships; the bootstrap loads it
    // from SSM and the metrics collector sends through its EMF listener.
    this.agentConfig = new CasperAgentConfig(this, 'Agent', {
      network: props.network,
      nodeName: v.nodeName,
      metricsNamespace: v.metricsNamespace,
      logRetention: props.logRetention,
      removalPolicy,
    });

    this.configBucket = new ConfigBucket(this, 'Config', {
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
      nodeConfig: renderNodeConfig({
        network: props.network,
        nodeName: v.nodeName,
        region: Aws.REGION,
        publicIp: this.elasticIp.publicIp,
        trustedHash: props.trustedHash,
        signingKeySecretArn: this.keys.signingKeySecret.secretArn,
        cloudWatchAgentConfigParameterName: this.agentConfig.parameter.parameterName,
        metricsNamespace: v.metricsNamespace,
        metricsLogGroupName: this.agentConfig.metricsLogGroup.logGroupName,
        readyWaitSeconds: readyWaitSeconds(v.bootstrapTimeout.toSeconds()),
        restartAfterSeconds: v.unresponsiveThreshold.toSeconds(),
        unhealthyAfterSeconds: v.unresponsiveThreshold.toSeconds() + 600,
      }),
    });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Casper node ${v.nodeName}`,
    });
    this.role = role;
    // A shell without an open port; not AmazonSSMManagedInstanceCore, which reads every parameter.
    allowSessionManager(role);
    this.configBucket.grantRead(role);
    this.keys.grantReadWrite(role);
    this.agentConfig.grantAgent(role);

    const userData = ec2.UserData.custom(renderUserData(
      this.configBucket.bucket.bucketName, this.configBucket.keyPrefix, Aws.REGION, v.bootstrapTimeout.toSeconds()));

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ec2.MachineImage.fromSsmParameter(UBUNTU_2204_AMI_PARAMETER, { os: ec2.OperatingSystemType.LINUX }),
      instanceType: v.instanceType,
      role,
      securityGroup: this.securityGroup.securityGroup,
      userData,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      instanceMetadataTags: true,
      associatePublicIpAddress: true,
      keyPair: this.keys.keyPair,
      blockDevices: [{
        deviceName: '/dev/sda1',
        volume: ec2.BlockDeviceVolume.ebs(v.rootVolumeSizeGiB, {
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          encrypted: true,
          deleteOnTermination: true,
        }),
      }],
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Asg', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate: this.launchTemplate,
      minCapacity: 1,
      maxCapacity: 1,
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: v.bootstrapTimeout }),
      // The bootstrap signals once /status answers; CDK grants the role
      // cloudformation:SignalResource on this stack for it.
      signals: autoscaling.Signals.waitForMinCapacity({ timeout: v.bootstrapTimeout }),
      notifications: [{ topic: this.alertTopic }],
    });
    // Boot only once the scripts and config are in the bucket.
    this.autoScalingGroup.node.addDependency(this.configBucket.deployment);

    // Attaches (or moves, restores, creates) the data volume for every new
    // instance; the group depends on it, so it serves the very first launch.
    this.dataVolumeLifecycle = new DataVolumeLifecycle(this, 'DataVolume', {
      autoScalingGroup: this.autoScalingGroup,
      nodeName: v.nodeName,
      elasticIpAllocationId: this.elasticIp.allocationId,
      // The lifecycle keeps the group in the data volume's AZ while it is usable.
      groupSubnets: this.vpc.selectSubnets({ subnetType: ec2.SubnetType.PUBLIC }).subnets,
      volumeSizeGiB: v.dataVolumeSizeGiB,
      volumeIops: v.dataVolumeIops,
      volumeThroughputMibps: v.dataVolumeThroughputMibps,
      metricsNamespace: v.metricsNamespace,
    });

    if (v.features.backups) {
      this.snapshotRotation = new SnapshotRotation(this, 'Backups', {
        volumeTagKey: 'casper:node',
        volumeTagValue: v.nodeName,
        volumeRoleTag: 'casper:role=data',
        syncMetricNamespace: v.metricsNamespace,
        syncMetricName: 'Synced',
        syncMetricDimensions: { NodeName: v.nodeName },
        // The collector publishes Synced every 30 s: no datapoint means no
        // healthy node, and a snapshot of it would not be a good one.
        snapshotWhenSyncMetricMissing: false,
        metricsNamespace: v.metricsNamespace,
      });
    }

    // The watchdog marks its own instance unhealthy: this group only. A separate
    // policy, so the group does not wait for it (the group name is only known
    // once the group exists).
    const asgArn = Stack.of(this).formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `*:autoScalingGroupName/${this.autoScalingGroup.autoScalingGroupName}`,
    });
    const selfHealing = new iam.Policy(this, 'SelfHealingPolicy', {
      roles: [role],
      statements: [new iam.PolicyStatement({ actions: ['autoscaling:SetInstanceHealth'], resources: [asgArn] })],
    });

    new CfnOutput(this, 'NodePublicIp', { value: this.elasticIp.publicIp, description: `Public IPv4 of Casper node ${v.nodeName}` });
    new CfnOutput(this, 'StatusUrl', { value: `http://${this.elasticIp.publicIp}:${props.network.restPort}/status` });
    new CfnOutput(this, 'AutoScalingGroupName', { value: this.autoScalingGroup.autoScalingGroupName });
    new CfnOutput(this, 'SigningKeySecretArn', { value: this.keys.signingKeySecret.secretArn });
    if (this.keys.keyPair) {
      new CfnOutput(this, 'SshPrivateKeyParameter', { value: `/ec2/keypair/${this.keys.keyPair.keyPairId}` });
    }
    new CfnOutput(this, 'AlertTopicArn', {
      value: this.alertTopic.topicArn,
      description: `Alerts of Casper node ${v.nodeName}: subscribe email, SMS or chat (see the README)`,
    });

    this.metrics = new CasperNodeMetrics({
      namespace: v.metricsNamespace,
      nodeName: v.nodeName,
      autoScalingGroupName: this.autoScalingGroup.autoScalingGroupName,
    });
    if (v.features.canary) {
      this.canary = new CasperCanary(this, 'Canary', {
        elasticIp: this.elasticIp,
        network: props.network,
        maxBlockAge: props.alarmThresholds?.maxBlockAge,
        interval: props.canaryInterval,
        logRetention: props.logRetention,
        removalPolicy,
      });
    }
    this.alarms = new CasperAlarms(this, 'Alarms', {
      ...props.alarmThresholds,
      metrics: this.metrics,
      topic: this.alertTopic,
      canary: this.canary,
      snapshotRotation: this.snapshotRotation,
      dataVolumeLifecycle: this.dataVolumeLifecycle,
      bootstrapTimeout: v.bootstrapTimeout,
      // The collector checks the sidecar's JSON-RPC where it runs (2.x networks).
      monitorRpc: props.network.runsSidecar,
      nodeUnhealthyAlarm: props.nodeUnhealthyAlarm,
    });
    // On the first deploy the alarms come after the group, whose creation waits for the
    // bootstrap's success signal: the instance's first minutes, before its collector
    // reports, never count as node-down.
    for (const alarm of this.alarms.alarms) {
      // (status-check-failed already depends on it through the group name.)
      if (alarm !== this.alarms.statusCheckFailed) alarm.node.addDependency(this.autoScalingGroup);
    }
    if (v.features.dashboard) {
      this.dashboard = new CasperDashboard(this, 'Dashboard', {
        metrics: this.metrics,
        publicIp: this.elasticIp.publicIp,
        statusUrl: `http://${this.elasticIp.publicIp}:${props.network.restPort}/status`,
        alarms: this.alarms,
        canary: this.canary,
        snapshotRotation: this.snapshotRotation,
        agentConfig: this.agentConfig,
      });
      new CfnOutput(this, 'DashboardUrl', {
        value: `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboard.dashboardName}`,
      });
    }

    acknowledgeNagRules(role, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The only wildcard is the object keys under the node\'s own config prefix in its config bucket.',
        appliesTo: [`Resource::${nagFindingName(this, this.configBucket.objectsArn)}`],
      },
    ]);
    acknowledgeNagRules(selfHealing, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Auto Scaling group ARNs carry a generated id; the policy names the node\'s own group by name.',
      appliesTo: [`Resource::${nagFindingName(this, asgArn)}`],
    }]);
    this.acknowledgeNagFindings();
  }

  private acknowledgeNagFindings(): void {
    skipCheckov(this.launchTemplate.node.defaultChild!, [{
      id: 'CKV_AWS_88',
      comment: 'A Casper node must be reachable by its peers (gossip) and runs in a public subnet without NAT (CasperVpc has none), '
        + 'so it needs a public address; its Elastic IP follows it across replacements. Its security group opens only the Casper ports, and SSH only when asked.',
    }]);
  }
}

interface ValidatedProps {
  readonly nodeName: string;
  readonly metricsNamespace: string;
  readonly instanceType: ec2.InstanceType;
  readonly dataVolumeSizeGiB: number;
  readonly dataVolumeIops: number;
  readonly dataVolumeThroughputMibps: number;
  readonly rootVolumeSizeGiB: number;
  readonly bootstrapTimeout: Duration;
  readonly unresponsiveThreshold: Duration;
  readonly sshOpen: boolean;
  readonly instanceTypeWarning?: string;
  readonly features: CasperNodeFeatures;
}

function fail(prop: string, value: unknown, allowed: string): never {
  throw new CasperValidationError(OWNER, prop, value, allowed);
}

function integerInRange(prop: string, value: number, min: number, max: number, unit: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(prop, value, `must be a whole number of ${unit} from ${min} to ${max}`);
  }
  return value;
}

function durationInRange(prop: string, value: Duration, min: Duration, max: Duration): Duration {
  const s = value.toSeconds();
  if (s < min.toSeconds() || s > max.toSeconds()) {
    fail(prop, value.toHumanString(), `must be from ${min.toHumanString()} to ${max.toHumanString()}`);
  }
  return value;
}

/** Validates every prop before anything is created; throws the first problem found. */
function validateProps(props: CasperReadOnlyNodeProps): ValidatedProps {
  if (!props.network) fail('network', props.network, 'is required: CasperNetwork.MAINNET, CasperNetwork.TESTNET or CasperNetwork.custom(...)');
  const nodeName = props.nodeName ?? `${props.network.chainspecName.toLowerCase().replace(/_/g, '-')}-node`;
  validateNodeName(OWNER, 'nodeName', nodeName);
  const metricsNamespace = props.metricsNamespace ?? `casper-${props.network.chainspecName}`;
  if (!isValidMetricsNamespace(metricsNamespace)) {
    fail('metricsNamespace', metricsNamespace,
      'must be 1 to 255 characters of letters, digits and . - _ / # : or space, not starting with ":" or "AWS/"');
  }

  const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.M6A, ec2.InstanceSize.XLARGE2);
  const typeName = instanceType.toString();
  const check = Token.isUnresolved(typeName) ? {} : checkInstanceType(typeName);
  if (check.error) fail('instanceType', typeName, check.error);

  const dataVolumeSizeGiB = integerInRange('dataVolumeSizeGiB', props.dataVolumeSizeGiB ?? 500, 100, 16384, 'GiB');
  const dataVolumeIops = integerInRange('dataVolumeIops', props.dataVolumeIops ?? 3000, 3000, 16000, 'IOPS');
  const dataVolumeThroughputMibps = integerInRange('dataVolumeThroughputMibps', props.dataVolumeThroughputMibps ?? 125, 125, 1000, 'MiB/s');
  if (dataVolumeThroughputMibps > dataVolumeIops / 4) {
    fail('dataVolumeThroughputMibps', dataVolumeThroughputMibps,
      `gp3 allows at most 0.25 MiB/s per provisioned IOPS: ${Math.floor(dataVolumeIops / 4)} for ${dataVolumeIops} IOPS`);
  }
  const rootVolumeSizeGiB = integerInRange('rootVolumeSizeGiB', props.rootVolumeSizeGiB ?? 30, 20, 1024, 'GiB');

  if (props.trustedHash !== undefined && !/^[0-9a-fA-F]{64}$/.test(props.trustedHash)) {
    fail('trustedHash', props.trustedHash, 'must be a block hash of exactly 64 hexadecimal characters');
  }
  for (const email of props.alertEmails ?? []) {
    if (typeof email !== 'string' || !isValidEmail(email)) {
      fail('alertEmails', email, 'each entry must be an email address such as "ops@example.com"');
    }
  }
  if (props.alertEmails && props.alertEmails.length > 0 && props.alertTopic) {
    fail('alertEmails', props.alertEmails, 'give either alertEmails or alertTopic, not both (subscribe the addresses to your topic)');
  }
  validateSlack(OWNER, props.alertSlackWorkspaceId, props.alertSlackChannelId);

  const bootstrapTimeout = durationInRange('bootstrapTimeout', props.bootstrapTimeout ?? Duration.minutes(90), Duration.minutes(30), Duration.hours(12));
  const unresponsiveThreshold = durationInRange('unresponsiveThreshold', props.unresponsiveThreshold ?? Duration.minutes(15), Duration.minutes(5), Duration.hours(6));

  // Checked here too, so a bad SSH source fails before any resource exists.
  const sshPeers = resolveSshPeers(OWNER, props.sshAccess ?? SshAccess.none(), props.allowSshFromAnywhere ?? false);
  const vpn = props.enableVpn ?? false;
  if (vpn) {
    if (sshPeers.length > 0) {
      fail('sshAccess', describeSshAccess(props.sshAccess!), 'with enableVpn, SSH is open only to the VPN server; leave sshAccess unset');
    }
    // Checked here too, so bad VPN options fail before the VPC exists.
    validateOpenVpnOptions(props.vpnOptions ?? {}, props.vpc ? knownVpcCidr(props.vpc) : DEFAULT_VPC_CIDR);
  } else if (props.vpnOptions) {
    fail('vpnOptions', props.vpnOptions, 'only applies with enableVpn: true');
  }
  // The canary checks the status port from the internet: with the port closed it could never pass.
  if (props.publicStatusPort === false && (props.enableCanary ?? true)) {
    fail('publicStatusPort', false, 'with the canary on (enableCanary, default true), which checks '
      + 'http://<node IP>:8888/status from the internet and could never pass with the port closed: '
      + 'set enableCanary: false, or leave publicStatusPort true');
  }
  const sshOpen = sshPeers.length > 0 || vpn;
  return {
    nodeName,
    metricsNamespace,
    instanceType,
    dataVolumeSizeGiB,
    dataVolumeIops,
    dataVolumeThroughputMibps,
    rootVolumeSizeGiB,
    bootstrapTimeout,
    unresponsiveThreshold,
    sshOpen,
    instanceTypeWarning: check.warning,
    features: {
      backups: props.enableBackups ?? true,
      canary: props.enableCanary ?? true,
      dashboard: props.enableDashboard ?? true,
      vpn,
    },
  };
}

/**
 * The user data: the shipped template with the bucket, prefix, region and
 * bootstrap deadline (seconds) filled in.
 */
function renderUserData(bucketName: string, keyPrefix: string, region: string, bootstrapTimeoutSeconds: number): string {
  const template = fs.readFileSync(path.join(__dirname, 'assets', 'node', 'user-data.sh'), 'utf8');
  return template
    .split('__CONFIG_BUCKET__').join(bucketName)
    .split('__CONFIG_PREFIX__').join(keyPrefix)
    .split('__REGION__').join(region)
    .split('__BOOTSTRAP_TIMEOUT_SECONDS__').join(String(bootstrapTimeoutSeconds));
}
