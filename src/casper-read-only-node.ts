import { Aws, CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CasperNetwork } from './casper-network';
import { CasperReadOnlyNodeProps } from './casper-read-only-node-props';
import { CasperNodeGroup } from './compute';
import { CasperNodeKeys } from './data';
import { AlertTopic, CasperAgentConfig, CasperAlarms, CasperCanary, CasperDashboard, CasperNodeMetrics } from './monitoring';
import { CasperElasticIp, CasperNodeSecurityGroup, CasperVpc, OpenVpnServer, SshAccess } from './network';
import { dataVolumesOf } from './private/contract';
import { bootstrapTimings, lifecycleProps } from './private/instance-options';
import { renderNodeConfig } from './private/node-config';
import { validateNodeProps } from './private/node-props';
import { slackChannel } from './private/slack';
import { ownerOf } from './private/validation';
import { ConfigBucket, DataVolumeLifecycle, SnapshotRotation } from './storage';

/**
 * A read-only Casper node: a `CasperNodeGroup` of exactly one instance across
 * the VPC's public subnets, which bootstraps itself from a `ConfigBucket` into
 * a running node (Ubuntu 22.04, casper-node-launcher, the 2.x sidecar), keeps
 * its signing key in Secrets Manager across replacements, owns a stable
 * Elastic IP, signals CloudFormation only once `/status` answers, and
 * replaces itself when the node stops answering.
 *
 * Around it: the data-volume lifecycle and scheduled snapshots, the CloudWatch
 * agent and a metrics collector (node up, synced, peers, height, era, block
 * age), alarms to an alert topic, an external canary, a dashboard, and
 * optionally an OpenVPN server for administrators' SSH.
 */
export class CasperReadOnlyNode extends Construct implements ec2.IConnectable, iam.IGrantable {
  /** The network the node joins. */
  public readonly network: CasperNetwork;
  /** The node's name (tags, metric dimension). */
  public readonly nodeName: string;
  /** The VPC. */
  public readonly vpc: ec2.IVpc;
  /** The VPC construct when this node created it. */
  public readonly casperVpc?: CasperVpc;
  /** The node's security group; `connections` opens more. */
  public readonly securityGroup: CasperNodeSecurityGroup;
  /** The node's security group, for `connections.allowFrom(...)`. */
  public readonly connections: ec2.Connections;
  /** The instance role, to grant the node more. */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The node's stable public address. */
  public readonly elasticIp: CasperElasticIp;
  /** Signing key secret and optional SSH key pair. */
  public readonly keys: CasperNodeKeys;
  /** The bucket the node boots from. */
  public readonly configBucket: ConfigBucket;
  /** The compute core: role, launch template and Auto Scaling group of one. */
  public readonly nodeGroup: CasperNodeGroup;
  /** The instance role. */
  public readonly role: iam.IRole;
  /** The Auto Scaling group of one. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** Where every alarm and the group's notifications go: the given topic, or one the node created. */
  public readonly alertTopic: sns.ITopic;
  /** The AWS Chatbot Slack channel, with `alertSlackWorkspaceId` and `alertSlackChannelId`. */
  public readonly alertSlackChannel?: chatbot.SlackChannelConfiguration;
  /** The workflow that attaches the data volume to each new instance and snapshots it on termination. */
  public readonly dataVolumeLifecycle: DataVolumeLifecycle;
  /** Scheduled snapshots of the data volume; undefined when `enableBackups` is false. */
  public readonly snapshotRotation?: SnapshotRotation;
  /** The CloudWatch agent configuration (SSM parameter) and the node's log groups. */
  public readonly agentConfig: CasperAgentConfig;
  /** The node's metrics (collector, agent, EC2 status checks); the `metric*()` methods give the main ones. */
  public readonly metrics: CasperNodeMetrics;
  /** The node's alarms; they notify `alertTopic`. */
  public readonly alarms: CasperAlarms;
  /** The external check of the status endpoint; undefined when `enableCanary` is false. */
  public readonly canary?: CasperCanary;
  /** The node's dashboard; undefined when `enableDashboard` is false. */
  public readonly dashboard?: CasperDashboard;
  /** The administrators' VPN; undefined unless `enableVpn` is true. */
  public readonly vpnServer?: OpenVpnServer;

  constructor(scope: Construct, id: string, props: CasperReadOnlyNodeProps) {
    super(scope, id);
    const v = validateNodeProps(ownerOf(this, 'CasperReadOnlyNode'), props);
    this.network = props.network;
    this.nodeName = v.nodeName;

    if (props.vpc) {
      this.vpc = props.vpc;
    } else {
      this.casperVpc = new CasperVpc(this, 'Network', { flowLogRemovalPolicy: v.removalPolicy });
      this.vpc = this.casperVpc.vpc;
    }
    if (v.vpn) {
      this.vpnServer = new OpenVpnServer(this, 'Vpn', { removalPolicy: v.removalPolicy, ...props.vpnOptions, vpc: this.vpc });
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
    this.elasticIp = new CasperElasticIp(this, 'ElasticIp', { nodeName: v.nodeName, removalPolicy: v.removalPolicy });
    this.keys = new CasperNodeKeys(this, 'Keys', { createSshKeyPair: v.sshOpen, removalPolicy: v.removalPolicy });

    // Every alarm reaches someone: a topic always exists.
    if (props.alertTopic) {
      this.alertTopic = props.alertTopic;
      if (props.alertSlackWorkspaceId && props.alertSlackChannelId) {
        this.alertSlackChannel = slackChannel(this, 'AlertSlack', props.alertTopic, props.alertSlackWorkspaceId, props.alertSlackChannelId);
      }
    } else {
      const alerts = new AlertTopic(this, 'Alerts', {
        emails: props.alertEmails,
        removalPolicy: v.removalPolicy,
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
      removalPolicy: v.removalPolicy,
    });

    this.configBucket = new ConfigBucket(this, 'Config', {
      removalPolicy: v.removalPolicy,
      autoDeleteObjects: v.removalPolicy === RemovalPolicy.DESTROY,
      nodeConfig: renderNodeConfig({
        network: props.network,
        nodeName: v.nodeName,
        region: Aws.REGION,
        publicIp: this.elasticIp.publicIp,
        trustedHash: v.trustedHash,
        signingKeySecretArn: this.keys.signingKeySecret.secretArn,
        cloudWatchAgentConfigParameterName: this.agentConfig.parameter.parameterName,
        metricsNamespace: v.metricsNamespace,
        metricsLogGroupName: this.agentConfig.metricsLogGroup.logGroupName,
        ...bootstrapTimings(v),
        healthEndpoint: v.healthEndpoint,
      }),
    });

    // The id `Default` keeps the group's resources at the logical IDs they had
    // when the node created them itself: an upgrade replaces none of them.
    this.nodeGroup = new CasperNodeGroup(this, 'Default', {
      vpc: this.vpc,
      configBucket: this.configBucket,
      securityGroup: this.securityGroup.securityGroup,
      nodeName: v.nodeName,
      instanceType: v.instanceType,
      rootVolumeSizeGiB: v.rootVolumeSizeGiB,
      bootstrapTimeout: v.bootstrapTimeout,
      keys: this.keys,
      agentConfig: this.agentConfig,
      notificationTopic: this.alertTopic,
      spot: v.spot,
    });
    this.connections = this.nodeGroup.connections;
    this.role = this.nodeGroup.role;
    this.grantPrincipal = this.nodeGroup.grantPrincipal;
    this.autoScalingGroup = this.nodeGroup.autoScalingGroup;
    if (v.healthEndpoint) {
      this.connections.allowFrom(ec2.Peer.ipv4(this.vpc.vpcCidrBlock), ec2.Port.tcp(v.healthEndpoint.port), 'in-sync health endpoint from the VPC');
    }

    // Attaches (or moves, restores, creates) the data volume for every new
    // instance; the group depends on it, so it serves the very first launch.
    this.dataVolumeLifecycle = new DataVolumeLifecycle(this, 'DataVolume', {
      autoScalingGroup: this.autoScalingGroup,
      nodeName: v.nodeName,
      elasticIpAllocationId: this.elasticIp.allocationId,
      // The lifecycle keeps the group in the data volume's AZ while it is usable.
      groupSubnets: this.nodeGroup.subnets,
      ...lifecycleProps(v),
    });
    if (v.backups) {
      this.snapshotRotation = new SnapshotRotation(this, 'Backups', {
        ...dataVolumesOf(v.nodeName),
        syncMetricNamespace: v.metricsNamespace,
        syncMetricName: 'Synced',
        syncMetricDimensions: { NodeName: v.nodeName },
        // The collector publishes Synced every 30 s: no datapoint means no
        // healthy node, and a snapshot of it would not be a good one.
        snapshotWhenSyncMetricMissing: false,
        metricsNamespace: v.metricsNamespace,
      });
    }

    const statusUrl = `http://${this.elasticIp.publicIp}:${props.network.restPort}/status`;
    new CfnOutput(this, 'NodePublicIp', { value: this.elasticIp.publicIp, description: `Public IPv4 of Casper node ${v.nodeName}` });
    new CfnOutput(this, 'StatusUrl', { value: statusUrl });
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
    if (v.canary) {
      this.canary = new CasperCanary(this, 'Canary', {
        elasticIp: this.elasticIp,
        network: props.network,
        maxBlockAge: props.alarmThresholds?.maxBlockAge,
        interval: props.canaryInterval,
        logRetention: props.logRetention,
        removalPolicy: v.removalPolicy,
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
    if (v.dashboard) {
      this.dashboard = new CasperDashboard(this, 'Dashboard', {
        metrics: this.metrics,
        publicIp: this.elasticIp.publicIp,
        statusUrl,
        alarms: this.alarms,
        canary: this.canary,
        snapshotRotation: this.snapshotRotation,
        agentConfig: this.agentConfig,
      });
      new CfnOutput(this, 'DashboardUrl', {
        value: `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboard.dashboardName}`,
      });
    }
  }

  /** `NodeUp`: 1 while the node answers `/status`, else 0 (minimum per minute). */
  public metricNodeUp(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricNodeUp(props);
  }

  /** `Synced`: 1 while the node follows the chain tip, else 0 (minimum per minute). */
  public metricSynced(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricSynced(props);
  }

  /** `PeerCount`: the node's connected peers (minimum per minute). */
  public metricPeerCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricPeerCount(props);
  }

  /** `BlockHeight`: height of the node's newest block (maximum per minute). */
  public metricBlockHeight(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricBlockHeight(props);
  }

  /** `LastBlockAgeSeconds`: age of the node's newest block (maximum per minute). */
  public metricLastBlockAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricLastBlockAge(props);
  }

  /** `RpcUp`: 1 while the sidecar's JSON-RPC answers (2.x networks), else 0 (minimum per minute). */
  public metricRpcUp(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricRpcUp(props);
  }
}
