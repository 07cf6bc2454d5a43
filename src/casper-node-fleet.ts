import { Aws, CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CasperNetwork } from './casper-network';
import { CasperNodeGroup, CasperNodeInstanceOptions } from './compute';
import { CasperNodeKeys } from './data';
import { AlertTopic, CasperAgentConfig, CasperAlarms, CasperFleetDashboard, CasperNodeMetrics, CasperRpcProbe } from './monitoring';
import { CasperNodeSecurityGroup, CasperVpc } from './network';
import { skipCheckov } from './private/checkov';
import { dataVolumesOf } from './private/contract';
import { validateFleetProps } from './private/fleet-props';
import { bootstrapTimings, lifecycleProps } from './private/instance-options';
import { acknowledgeNagRules } from './private/nag';
import { renderNodeConfig } from './private/node-config';
import { ownerOf } from './private/validation';
import { ConfigBucket, DataVolumeLifecycle, SnapshotRotation } from './storage';

/**
 * Properties of a `CasperNodeFleet`. The instance options are the node's,
 * except that `bootstrapTimeout` defaults to 3 hours: a member signals only
 * once in sync, after catching up from its snapshot.
 */
export interface CasperNodeFleetProps extends CasperNodeInstanceOptions {
  /** The Casper network the members join. */
  readonly network: CasperNetwork;

  /**
   * How many members serve the endpoint, from 1 to 20. Two or more need a
   * VPC with public subnets in at least two Availability Zones.
   *
   * @default 2
   */
  readonly nodeCount?: number;

  /**
   * The fleet's name: tags its data volumes and snapshots; member `i`'s
   * metrics carry `NodeName=<fleetName>-<i>`. Letters, digits and `-`, 1 to 60 characters.
   *
   * @default '<chainspec name>-fleet'
   */
  readonly fleetName?: string;

  /**
   * The VPC; members run in its public subnets (they gossip with the network).
   *
   * @default - a new `CasperVpc` (three public subnets, no NAT)
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Make the load balancer internet-facing. Needs `allowedCidrs`: only they
   * reach its listeners (the load balancer's security group enforces it).
   *
   * @default false - internal: reachable from the VPC (and peered networks in `allowedCidrs`)
   */
  readonly internetFacing?: boolean;

  /**
   * Who may call the load balancer's listeners: IPv4 or IPv6 CIDRs.
   *
   * @default - the VPC's CIDR (internal load balancer only)
   */
  readonly allowedCidrs?: string[];

  /**
   * Also serve the members' SSE event stream (9999) through the load balancer.
   *
   * @default false
   */
  readonly enableSse?: boolean;

  /**
   * Also serve JSON-RPC over TLS on port 443, with `tlsCertificate`.
   *
   * @default false
   */
  readonly enableTls?: boolean;

  /**
   * The ACM certificate of the TLS listener (required with `enableTls`).
   *
   * @default - none
   */
  readonly tlsCertificate?: acm.ICertificate;

  /**
   * The port of each member's health endpoint (`GET /healthz`: 200 only in sync).
   *
   * @default 8889
   */
  readonly healthCheckPort?: number;

  /**
   * A member whose newest block is this old or older is out of sync (its
   * health check fails), from 1 minute to 2 hours.
   *
   * @default Duration.minutes(10)
   */
  readonly maxBlockAge?: Duration;

  /**
   * A member with fewer peers is out of sync, from 0 to 100.
   *
   * @default 3
   */
  readonly minPeers?: number;

  /**
   * Email addresses that receive the fleet's alerts.
   *
   * @default - none (subscribe to the `AlertTopicArn` output)
   */
  readonly alertEmails?: string[];

  /**
   * An existing topic for the fleet's alerts, instead of the `AlertTopic` it creates.
   *
   * @default - an `AlertTopic` with `alertEmails`
   */
  readonly alertTopic?: sns.ITopic;

  /**
   * CloudWatch namespace of the members' metrics.
   *
   * @default 'casper-<chainspec name>'
   */
  readonly metricsNamespace?: string;

  /**
   * How long the members' log groups keep events.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to stateful resources (signing keys, bucket, log groups)
   * when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Daily snapshots of the members' data volumes, which also keep the
   * starting point of new members recent.
   *
   * @default true
   */
  readonly enableBackups?: boolean;
}

/** The members' health endpoint. */
const HEALTH_PATH = '/healthz';

/**
 * Several read-only Casper nodes behind one Network Load Balancer: one
 * JSON-RPC endpoint (optionally SSE and TLS) that survives the loss of a
 * member, an upgrade and a slow sync.
 *
 * The members are one `CasperNodeGroup` across the VPC's Availability Zones.
 * Each is healthy only while in sync: its health endpoint answers 200 only in
 * KeepUp, with a recent block, enough peers and a working sidecar, and the
 * load balancer and the group's ELB health check use it. Each member has its
 * own data volume and signing key (a member slot); a new member takes its
 * slot's volume in its AZ, or starts from the fleet's newest snapshot (or
 * `seedSnapshotId`) near the tip. A launch template change replaces one
 * member at a time, each back in sync before the next.
 */
export class CasperNodeFleet extends Construct implements ec2.IConnectable {
  /** The fleet's name. */
  public readonly fleetName: string;
  /** CloudWatch namespace of the members' metrics. */
  public readonly metricsNamespace: string;
  /** The VPC. */
  public readonly vpc: ec2.IVpc;
  /** The load balancer. */
  public readonly loadBalancer: elbv2.NetworkLoadBalancer;
  /** JSON-RPC through the load balancer: `http://<dns name>:7777/rpc`. */
  public readonly rpcUrl: string;
  /** The load balancer's security group, for `connections.allowFrom(...)`. */
  public readonly connections: ec2.Connections;
  /** The RPC target group. */
  public readonly rpcTargetGroup: elbv2.NetworkTargetGroup;
  /** The members: their role, launch template and Auto Scaling group. */
  public readonly members: CasperNodeGroup;
  /** The members' security group. */
  public readonly memberSecurityGroup: CasperNodeSecurityGroup;
  /** One signing key per member slot. */
  public readonly memberKeys: CasperNodeKeys[];
  /** Member `i`'s node name (its metrics' `NodeName`). */
  public readonly memberNames: string[];
  /** The workflow that gives each member its slot's data volume. */
  public readonly dataVolumeLifecycle: DataVolumeLifecycle;
  /** Daily snapshots of the members' volumes; undefined when `enableBackups` is false. */
  public readonly snapshotRotation?: SnapshotRotation;
  /** Where the fleet's alarms go. */
  public readonly alertTopic: sns.ITopic;
  /** Member `i`'s metrics (collector and agent, `NodeName=<fleet>-<i>`). */
  public readonly memberMetrics: CasperNodeMetrics[];
  /** Member `i`'s alarms (node down, stalled, peers, disks, RPC, ...), as a single node's. */
  public readonly memberAlarms: CasperAlarms[];
  /** The lifecycle abandoned a member's launch or termination. */
  public readonly lifecycleFailures: cloudwatch.Alarm;
  /**
   * JSON-RPC through the load balancer from inside the VPC, every minute;
   * undefined for an internet-facing load balancer, whose address the VPC
   * (without NAT) cannot reach.
   */
  public readonly rpcProbe?: CasperRpcProbe;
  /** The fleet's dashboard. */
  public readonly dashboard: CasperFleetDashboard;
  /** Fewer healthy (in sync) members than `nodeCount` for 5 minutes. */
  public readonly membersDegraded: cloudwatch.Alarm;
  /** No healthy member for 2 minutes: the endpoint is down. */
  public readonly noHealthyMember: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: CasperNodeFleetProps) {
    super(scope, id);
    const v = validateFleetProps(ownerOf(this, 'CasperNodeFleet'), props);
    this.fleetName = v.fleetName;
    this.metricsNamespace = v.metricsNamespace;
    this.vpc = props.vpc ?? new CasperVpc(this, 'Network', { flowLogRemovalPolicy: v.removalPolicy }).vpc;
    v.checkVpc(this.vpc);

    if (props.alertTopic) {
      this.alertTopic = props.alertTopic;
    } else {
      this.alertTopic = new AlertTopic(this, 'Alerts', { emails: props.alertEmails, removalPolicy: v.removalPolicy }).topic;
    }
    const agentConfig = new CasperAgentConfig(this, 'Agent', {
      network: props.network,
      nodeName: v.fleetName,
      metricsNamespace: v.metricsNamespace,
      logRetention: props.logRetention,
      removalPolicy: v.removalPolicy,
    });
    this.memberNames = Array.from({ length: v.nodeCount }, (_, i) => `${v.fleetName}-${i}`);
    this.memberKeys = this.memberNames.map((_, i) => new CasperNodeKeys(this, `Member${i}Keys`, { removalPolicy: v.removalPolicy }));

    const configBucket = new ConfigBucket(this, 'Config', {
      removalPolicy: v.removalPolicy,
      autoDeleteObjects: v.removalPolicy === RemovalPolicy.DESTROY,
      nodeConfig: renderNodeConfig({
        network: props.network,
        nodeName: v.fleetName,
        region: Aws.REGION,
        // Members have no Elastic IP: each takes its own public IPv4.
        publicIp: '',
        trustedHash: v.trustedHash,
        signingKeySecretArn: this.memberKeys[0].signingKeySecret.secretArn,
        cloudWatchAgentConfigParameterName: agentConfig.parameter.parameterName,
        metricsNamespace: v.metricsNamespace,
        metricsLogGroupName: agentConfig.metricsLogGroup.logGroupName,
        ...bootstrapTimings(v),
        healthEndpoint: { port: v.healthCheckPort, maxBlockAgeSeconds: v.maxBlockAge.toSeconds(), minPeers: v.minPeers },
        signalWhenInSync: true,
        fleet: {
          signingKeySecretArns: this.memberKeys.map((k) => k.signingKeySecret.secretArn),
          nodeNames: this.memberNames,
        },
      }),
    });

    // The load balancer: its security group admits `allowedCidrs` on its listeners only.
    const lbSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: this.vpc,
      description: `Casper fleet ${v.fleetName}: load balancer listeners`,
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({ securityGroups: [lbSecurityGroup] });
    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: v.internetFacing,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [lbSecurityGroup],
      crossZoneEnabled: true,
    });

    this.memberSecurityGroup = new CasperNodeSecurityGroup(this, 'MemberSecurityGroup', {
      vpc: this.vpc,
      network: props.network,
      // The status port is not published: the members are reached through the load balancer.
      publicStatusPort: false,
      description: `Casper fleet ${v.fleetName}: members`,
    });
    this.members = new CasperNodeGroup(this, 'Members', {
      vpc: this.vpc,
      configBucket,
      securityGroup: this.memberSecurityGroup.securityGroup,
      agentConfig,
      nodeName: v.fleetName,
      instanceType: v.instanceType,
      rootVolumeSizeGiB: v.rootVolumeSizeGiB,
      bootstrapTimeout: v.bootstrapTimeout,
      notificationTopic: this.alertTopic,
      capacity: v.nodeCount,
      elbHealthCheck: true,
      rollingUpdate: true,
      spot: v.spot,
    });
    for (const keys of this.memberKeys) keys.grantReadWrite(this.members);

    const healthCheck: elbv2.HealthCheck = {
      protocol: elbv2.Protocol.HTTP,
      port: String(v.healthCheckPort),
      path: HEALTH_PATH,
      healthyHttpCodes: '200',
      interval: Duration.seconds(10),
      // Above the endpoint's own 3.5-second deadline.
      timeout: Duration.seconds(5),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 2,
    };
    const listen = (port: number, targetPort: number, name: string, certificate?: acm.ICertificate): elbv2.NetworkTargetGroup => {
      const targetGroup = new elbv2.NetworkTargetGroup(this, `${name}Targets`, {
        vpc: this.vpc,
        port: targetPort,
        protocol: elbv2.Protocol.TCP,
        targetType: elbv2.TargetType.INSTANCE,
        healthCheck,
        // A member leaving (replacement, scale-in) finishes its requests quickly.
        deregistrationDelay: Duration.seconds(30),
      });
      this.members.autoScalingGroup.attachToNetworkTargetGroup(targetGroup);
      this.loadBalancer.addListener(`${name}Listener`, {
        port,
        protocol: certificate ? elbv2.Protocol.TLS : elbv2.Protocol.TCP,
        certificates: certificate ? [elbv2.ListenerCertificate.fromCertificateManager(certificate)] : undefined,
        sslPolicy: certificate ? elbv2.SslPolicy.RECOMMENDED_TLS : undefined,
        defaultTargetGroups: [targetGroup],
      });
      for (const cidr of v.allowedCidrs(this.vpc)) {
        lbSecurityGroup.addIngressRule(cidr.includes(':') ? ec2.Peer.ipv6(cidr) : ec2.Peer.ipv4(cidr), ec2.Port.tcp(port), `${name} from ${cidr}`);
      }
      // The load balancer forwards to the members and checks their health endpoint.
      this.members.connections.allowFrom(lbSecurityGroup, ec2.Port.tcp(targetPort), `${name} from the load balancer`);
      return targetGroup;
    };
    const rpcPort = props.network.rpcPort;
    this.rpcTargetGroup = listen(rpcPort, rpcPort, 'Rpc');
    if (v.enableSse) listen(props.network.ssePort, props.network.ssePort, 'Sse');
    if (v.tlsCertificate) listen(443, rpcPort, 'Tls', v.tlsCertificate);
    this.members.connections.allowFrom(lbSecurityGroup, ec2.Port.tcp(v.healthCheckPort), 'health checks from the load balancer');
    this.rpcUrl = `http://${this.loadBalancer.loadBalancerDnsName}:${rpcPort}/rpc`;

    this.dataVolumeLifecycle = new DataVolumeLifecycle(this, 'DataVolumes', {
      autoScalingGroup: this.members.autoScalingGroup,
      nodeName: v.fleetName,
      memberSlots: v.nodeCount,
      ...lifecycleProps(v),
    });
    if (v.enableBackups) {
      this.snapshotRotation = new SnapshotRotation(this, 'Backups', {
        ...dataVolumesOf(v.fleetName),
        metricsNamespace: v.metricsNamespace,
      });
    }

    const healthy = this.rpcTargetGroup.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1) });
    this.membersDegraded = new cloudwatch.Alarm(this, 'MembersDegraded', {
      alarmDescription: `Casper fleet ${v.fleetName}: fewer than ${v.nodeCount} members in sync for 5 minutes (a member is replaced, syncing or stuck). See the target group's health and the members' Synced metrics.`,
      metric: healthy,
      threshold: v.nodeCount,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.noHealthyMember = new cloudwatch.Alarm(this, 'NoHealthyMember', {
      alarmDescription: `Casper fleet ${v.fleetName}: no member in sync for 2 minutes: ${this.rpcUrl} serves nothing.`,
      metric: healthy,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.lifecycleFailures = new cloudwatch.Alarm(this, 'LifecycleFailures', {
      alarmDescription: `Casper fleet ${v.fleetName}: the data-volume lifecycle abandoned a member's launch or termination (see the lifecycle `
        + 'workflow\'s executions and its step function\'s log group); nothing was deleted.',
      metric: this.dataVolumeLifecycle.metricFailures({ statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Each member is watched as a single node is (its metrics carry its own name).
    this.memberMetrics = this.memberNames.map((nodeName) => new CasperNodeMetrics({ namespace: v.metricsNamespace, nodeName }));
    this.memberAlarms = this.memberMetrics.map((metrics, i) => new CasperAlarms(this, `Member${i}Alarms`, {
      metrics,
      topic: this.alertTopic,
      maxBlockAge: v.maxBlockAge,
      minPeerCount: v.minPeers,
      bootstrapTimeout: v.bootstrapTimeout,
      monitorRpc: props.network.runsSidecar,
    }));
    // The endpoint checked from outside the members: JSON-RPC through the load balancer.
    if (!v.internetFacing) {
      this.rpcProbe = new CasperRpcProbe(this, 'RpcProbe', {
        vpc: this.vpc,
        rpcUrl: this.rpcUrl,
        network: props.network,
        maxBlockAge: v.maxBlockAge,
        topic: this.alertTopic,
        logRetention: props.logRetention,
        removalPolicy: v.removalPolicy,
      });
      this.connections.allowFrom(this.rpcProbe, ec2.Port.tcp(rpcPort), 'the RPC probe');
      // It checks once the members signalled, as the alarms do.
      this.rpcProbe.rule.node.addDependency(this.members.autoScalingGroup);
      this.rpcProbe.alarm.node.addDependency(this.members.autoScalingGroup);
    }
    // (CasperAlarms notifies the topic itself.)
    for (const alarm of [this.membersDegraded, this.noHealthyMember, this.lifecycleFailures]) {
      alarm.addAlarmAction(new cw_actions.SnsAction(this.alertTopic));
      alarm.addOkAction(new cw_actions.SnsAction(this.alertTopic));
    }
    // On the first deploy, alarms come once the members signalled: a member's first minutes never count as down.
    for (const alarm of [this.membersDegraded, this.noHealthyMember, this.lifecycleFailures, ...this.memberAlarms.flatMap((a) => a.alarms)]) {
      alarm.node.addDependency(this.members.autoScalingGroup);
    }
    this.dashboard = new CasperFleetDashboard(this, 'Dashboard', {
      fleetName: v.fleetName,
      healthyMembers: this.metricHealthyMembers(),
      unhealthyMembers: this.metricUnhealthyMembers(),
      nodeCount: v.nodeCount,
      memberMetrics: this.memberMetrics,
      loadBalancer: this.loadBalancer,
      alarms: [this.noHealthyMember, this.membersDegraded, ...(this.rpcProbe ? [this.rpcProbe.alarm] : []), this.lifecycleFailures,
        ...this.memberAlarms.flatMap((a) => a.criticalAlarms)],
    });

    new CfnOutput(this, 'RpcUrl', { value: this.rpcUrl, description: `JSON-RPC of Casper fleet ${v.fleetName}` });
    new CfnOutput(this, 'AutoScalingGroupName', { value: this.members.autoScalingGroup.autoScalingGroupName });
    new CfnOutput(this, 'AlertTopicArn', { value: this.alertTopic.topicArn });

    acknowledgeNagRules(lbSecurityGroup, [{
      id: 'AwsSolutions-EC23',
      reason: 'The listeners admit only allowedCidrs, or the VPC\'s own CIDR when none are given (the rule cannot resolve that token); '
        + 'an internet-facing load balancer requires the CIDRs to be named, and "0.0.0.0/0" only when the user writes it.',
    }]);
    acknowledgeNagRules(this.loadBalancer, [{
      id: 'AwsSolutions-ELB2',
      reason: 'A Network Load Balancer writes access logs only for TLS listeners, and then only about TLS handshakes (no JSON-RPC method); '
        + 'what matters for the endpoint, its members\' health and answers, is alarmed (target health and the RPC probe).',
    }]);

    // ---- checkov (npx projen checkov): the fleet's own resources' skips, each with its reason ----
    const tcpListeners = [`RPC on ${props.network.rpcPort}`, ...(v.enableSse ? [`SSE on ${props.network.ssePort}`] : [])].join(' and ');
    skipCheckov(this.loadBalancer.node.defaultChild!, [{
      id: 'CKV_AWS_91',
      comment: 'A Network Load Balancer writes access logs only for TLS listeners, and only about TLS connections (client address, '
        + `handshake, cipher, bytes: no JSON-RPC method or result); its plain TCP listeners (${tcpListeners}) are never logged. `
        + (v.tlsCertificate
          ? 'Only the TLS listener (443) would be; to keep its records, pass the account\'s log bucket to '
            + '`loadBalancer.logAccessLogs(bucket)`: a bucket of the fleet\'s own would need its own policy, retention and access logs.'
          : 'This one has no TLS listener (enableTls is off): there is nothing to log.'),
    }]);
    // ---- end of checkov ----
  }

  /** Members in sync (healthy targets of the RPC target group), minimum per minute. */
  public metricHealthyMembers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.rpcTargetGroup.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1), ...props });
  }

  /** Members out of sync or down (unhealthy targets), maximum per minute. */
  public metricUnhealthyMembers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.rpcTargetGroup.metrics.unHealthyHostCount({ statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }
}
